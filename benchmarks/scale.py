"""Suite ``scale``: tagging a million images on one machine (approximate kNN, the whole fit).

Sizes are strings ``20k``, ``200k``, ``1m`` (or plain integers).  Per size n, the data are
:func:`hyperlearn.datasets.make_clustered_tags` (n images, ``N_FEATURES`` = 128 float32
features, ``N_TAGS`` = 100 tags, seed ``SEED``) and the rows of one case are:

``pynndescent kNN graph``
    The anchor: ``pynndescent.NNDescent(X, n_neighbors=k + 1)`` alone, the kNN graph that the
    fit needs (k = the tagger's default ``n_neighbors``), compilation excluded.
``ours kneighbors approximate``
    ``hyperlearn.hypergraph.kneighbors(X, k, method="approximate", random_state=0)``: NN-descent
    with more candidates, re-ranked exactly.
``ours kneighbors exact``
    The exact (screened, certified) search, up to ``EXACT_MAX_N`` images.
``HypergraphTagger fit``
    The full default ``HypergraphTagger(verbose=True, random_state=0)`` fit, once, after a
    warm-up fit on ``WARMUP_N`` images (compilation is not timed).  ``extra`` holds the time of
    each stage: ``knn_s`` (the neighbour search of all images for the hypergraph), ``build_s``
    (the rest of the build), ``selection_s`` (held-out choice of standardisation, α, μ and the
    prior's weight, with its own searches: of a random subset of ``SELECTION_MAX_IMAGES``
    images beyond that many), ``f_steps_s``, ``w_steps_s``; the peak resident memory of the
    process (``peak_rss_gb``, ``resource.getrusage``: it includes the data and everything
    before, so it bounds the fit's own peak from above); the number of alternations.

Accuracy beside each time: ``recall@10`` and ``recall@k`` of the neighbour lists against an exact
search of ``RECALL_QUERIES`` random images (the tagger's graph is the one its build computed);
``F1@5 untagged`` of the fit (the images stripped of their tags, against the true tags).

Targets (printed under the table, from the scale issue): the whole fit at most
``TARGET_FIT_OVER_ANN`` = 5x the anchor's time, recall@10 >= 0.95, peak memory < 8 GB, and the
fit under 10 minutes.  Thread settings come from ``python -m benchmarks``; compilation times of
pynndescent and of our kernels are reported in a note (they are paid once per process).
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np

from ._harness import Record, skipped

SUITE = "scale"
SIZES = ["20k", "200k"]
QUICK_SIZES = ["20k"]
SEED = 0
N_FEATURES = 128
N_TAGS = 100
RECALL_QUERIES = 1000
#: The exact search is timed up to this size (it grows as n²: at 10⁶ it would take hours).
EXACT_MAX_N = 200_000
WARMUP_N = 3000
TARGET_FIT_OVER_ANN = 5.0
TARGET_RECALL = 0.95
TARGET_PEAK_GB = 8.0
TARGET_FIT_S = 600.0


def parse_n(size):
    """``"20k"`` -> 20 000, ``"1m"`` -> 1 000 000, ``200000`` -> 200 000."""
    if isinstance(size, (int, np.integer)):
        return int(size)
    text = str(size).strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _peak_rss_gb():
    # ru_maxrss is in KiB on Linux, in bytes on macOS
    unit = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * unit / 1e9


def _recall(found, exact, k):
    """Mean fraction of the exact ``k`` nearest neighbours present among ``found[:, :k]``."""
    hits = [np.intersect1d(a[:k], b[:k]).size for a, b in zip(found, exact, strict=True)]
    return float(np.mean(hits)) / k


class _SearchRecorder:
    """Wraps ``hyperlearn.hypergraph.kneighbors`` to time every call and keep the neighbours of
    each self-search by its size (the tagger imports it from the package at call time)."""

    def __init__(self):
        import hyperlearn.hypergraph as package

        self.package = package
        self.original = package.kneighbors
        self.calls = []  # (seconds, database is None, rows searched)
        self.self_searches = {}  # rows searched -> neighbours of the last such self-search

    def __enter__(self):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = self.original(*args, **kwargs)
            self_search = kwargs.get("database") is None
            self.calls.append((time.perf_counter() - t0, self_search, len(args[0])))
            if self_search:
                self.self_searches[len(args[0])] = out[1]
            return out

        self.package.kneighbors = timed
        return self

    def __exit__(self, *exc):
        self.package.kneighbors = self.original


def _warm_up(X, Y, k):
    """Compile pynndescent, our approximate search and the tagger's kernels on small inputs;
    returns the seconds each took."""
    import pynndescent

    from hyperlearn import HypergraphTagger
    from hyperlearn.hypergraph import kneighbors

    t0 = time.perf_counter()
    pynndescent.NNDescent(X[:WARMUP_N], n_neighbors=k + 1, random_state=SEED)
    t1 = time.perf_counter()
    kneighbors(X[:WARMUP_N], k, method="approximate", random_state=SEED)
    t2 = time.perf_counter()
    HypergraphTagger(random_state=SEED).fit(X[:WARMUP_N], Y[:WARMUP_N])
    t3 = time.perf_counter()
    return {"pynndescent_s": t1 - t0, "ours_approximate_s": t2 - t1, "tagger_s": t3 - t2}


def _searches(X, k, queries, exact_neighbours, params, case):
    """Records of the anchor, our approximate search and (small n) our exact search."""
    import pynndescent

    from hyperlearn.hypergraph import kneighbors

    def timed(impl, search, *, lists_self=False):
        t0 = time.perf_counter()
        neighbours = search()
        seconds = time.perf_counter() - t0
        found = neighbours[queries]
        if lists_self:  # pynndescent lists each point first: drop it (or the last entry)
            found = np.array([row[row != q][:k] for q, row in zip(queries, found, strict=True)])
        return Record(SUITE, case, params, impl, seconds, _recall_dict(found, exact_neighbours, k))

    def anchor():
        return pynndescent.NNDescent(X, n_neighbors=k + 1, random_state=SEED).neighbor_graph[0]

    records = [
        timed("pynndescent kNN graph", anchor, lists_self=True),
        timed(
            "ours kneighbors approximate",
            lambda: kneighbors(X, k, method="approximate", random_state=SEED)[1],
        ),
    ]
    if X.shape[0] <= EXACT_MAX_N:
        records.append(timed("ours kneighbors exact", lambda: kneighbors(X, k, method="exact")[1]))
    else:
        note = f"n > EXACT_MAX_N = {EXACT_MAX_N}: hours"
        records.append(skipped(SUITE, case, "ours kneighbors exact", note, params))
    return records, records[0].time_s


def _exact_neighbours(X, queries, k):
    """Exact ``k`` nearest neighbours of the rows ``queries`` of ``X`` among all rows of ``X``
    (each query itself excluded)."""
    from hyperlearn.hypergraph import kneighbors

    _, found = kneighbors(X[queries], k + 1, database=X, method="exact")
    return np.array([row[row != q][:k] for q, row in zip(queries, found, strict=True)])


def _recall_dict(found, exact, k):
    return {"recall@10": _recall(found, exact, 10), f"recall@{k}": _recall(found, exact, k)}


def _fit(data, k, queries, exact_neighbours, params, case):
    """The record of the full default fit, with its stages, memory and accuracy."""
    from hyperlearn import HypergraphTagger
    from hyperlearn.metrics import f1_at_k

    model = HypergraphTagger(verbose=True, random_state=SEED)
    with _SearchRecorder() as searches:
        t0 = time.perf_counter()
        model.fit(data.features, data.tags_observed)
        fit_s = time.perf_counter() - t0
    timings = model.timings_
    n = data.features.shape[0]
    # the hypergraph's own search of all images; the held-out selection's search of its
    # subset of images is part of selection_s
    knn_s = sum(s for s, self_search, rows in searches.calls if self_search and rows == n)
    untagged = data.untagged
    scores = np.asarray(model.scores_)
    f1 = f1_at_k(data.tags_true[untagged], scores[untagged], k=5)
    accuracy = {"F1@5 untagged": float(f1)}
    full_search = searches.self_searches.get(n)
    if full_search is not None:
        # against an exact search of the features the tagger searched (standardised or not)
        truth = _exact_neighbours(model._X_fit, queries, k)
        accuracy.update(_recall_dict(full_search[queries], truth, k))
    extra = {
        "knn_s": knn_s,
        "build_s": timings["build"] - knn_s,
        "selection_s": timings["selection"],
        "f_steps_s": float(np.sum(timings["f_step"])),
        "w_steps_s": float(np.sum(timings["w_step"])),
        "n_iter": model.n_iter_,
        "peak_rss_gb": _peak_rss_gb(),
    }
    return Record(SUITE, case, params, "HypergraphTagger fit", fit_s, accuracy, extra), fit_s


def _case(n):
    from hyperlearn import HypergraphTagger
    from hyperlearn.datasets import make_clustered_tags

    case = f"scale n={n}"
    params = {"n": n, "d": N_FEATURES, "tags": N_TAGS}
    try:
        import pynndescent  # noqa: F401
    except ImportError:
        return [skipped(SUITE, case, "all", "pynndescent is not installed (the ann extra)", params)]
    k = HypergraphTagger().n_neighbors
    t0 = time.perf_counter()
    data = make_clustered_tags(n, N_FEATURES, N_TAGS, random_state=SEED)
    data_s = time.perf_counter() - t0
    X = data.features
    compile_s = _warm_up(X, data.tags_observed, k)
    queries = np.random.default_rng(SEED).choice(n, size=min(RECALL_QUERIES, n), replace=False)
    exact_neighbours = _exact_neighbours(X, queries, k)
    records, anchor_s = _searches(X, k, queries, exact_neighbours, params, case)
    fit_record, fit_s = _fit(data, k, queries, exact_neighbours, params, case)
    records.append(fit_record)
    recall = fit_record.accuracy.get("recall@10", float("nan"))
    peak = fit_record.extra["peak_rss_gb"]
    fit_record["note"] = (
        f"fit / pynndescent = {fit_s / anchor_s:.2f}x (target <= {TARGET_FIT_OVER_ANN:g}x: "
        f"{'met' if fit_s <= TARGET_FIT_OVER_ANN * anchor_s else 'MISSED'}); recall@10 "
        f"{recall:.3f} (target >= {TARGET_RECALL}: {'met' if recall >= TARGET_RECALL else 'MISSED'}"
        f"); peak RSS {peak:.2f} GB (target < {TARGET_PEAK_GB:g}: "
        f"{'met' if peak < TARGET_PEAK_GB else 'MISSED'}); fit {fit_s:.0f} s (target < "
        f"{TARGET_FIT_S:.0f} s: {'met' if fit_s < TARGET_FIT_S else 'MISSED'}); data generation "
        f"{data_s:.1f} s; compilation (warm-up, not timed above): "
        + ", ".join(f"{key} {value:.1f} s" for key, value in compile_s.items())
    )
    return records


def run(sizes, *, quick=False):
    """Run the suite on ``sizes`` (see the module docstring); list of records."""
    records = []
    for size in sizes:
        n = parse_n(size)
        print(f"# scale: n = {n}", file=sys.stderr, flush=True)
        records += _case(n)
    return records
