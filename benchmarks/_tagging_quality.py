"""Tagging quality cases of suite ``tagging``: tag completion and refinement against baselines.

Cases (``SIZES`` strings):

- ``completion-<data>[<n>]``: the tags of a random ``HIDDEN_FRACTION`` of the images are all
  hidden (``DRAWS`` draws); every method sees the features of all images and the remaining
  tags, and scores the hidden images, which are compared with their true tags.
- ``defaults-<data>[<n>]``: the completion protocol for the default tagger and one variant per
  default it departs from (``alpha=0.9``, ``incidence="binary"``, ``standardize=False``,
  ``n_neighbors=10``, ``mu=1`` forced, four kNN scales, scores not normalised): the evidence
  for the defaults (benchmarks/TUNING.md).
- ``refinement-<data>[<n>]``: no image is hidden; the observed tags are noisy and incomplete,
  and every image's scores are compared with its true tags (only for data with a noise model:
  shapes and digits).

``<data>`` is ``shapes`` (:func:`hyperlearn.datasets.make_tagged_shapes`, ``<n>`` images),
``digits`` (:func:`hyperlearn.datasets.load_digits_tags`, 1797 images), ``yeast`` (the real
Yeast multi-label set, 2417 genes, 103 features, 14 functional classes, read from the file that
the ``river`` package ships: no download; skipped when river is not installed), ``tabular``
(``<n>`` items of scikit-learn's ``make_multilabel_classification``, 60 features whose scales
are spread over several orders of magnitude, 14 tags, no tag noise), one of ``MULTILABEL``
(other settings of the same generator, ``<n>`` items, default 2000: few features and tags with
the raw counts as features, many features and tags, and standardised features), or the name of
an ``.npz`` file (arrays ``X`` and ``Y``) in the directory ``$HYPERLEARN_TAGGING_DATA``, such as
the MULAN sets that ``python -m benchmarks.mulan_to_npz`` writes (scene, Corel5k, emotions, ...).
For real data the observed tags are the truth; ``<n>`` draws that many items.

Methods, all in the same run on the same data: ``HypergraphTagger()`` with its defaults
(``tagger``), the same with fixed weights (``tagger fixed``, ``adaptive_weights=False``) and
without the linear-feature prior (``tagger no prior``, ``feature_prior=0``) and without the
tag-frequency correction (``tagger no frequency correction``, ``frequency_correction=0``), kNN tag
voting with ``k`` chosen by the same held-out selection (``knn_voting auto``), one-vs-rest
logistic regression on standardised features (``logistic_ovr``), scikit-learn's
``LabelSpreading`` (kNN kernel) per tag (``label_spreading``) and ML-kNN (``ml_knn``, ``k`` by
the held-out selection).  Accuracy: F1@k and P@k (``average="samples"``) for ``k`` in
``TOP_KS`` up to half the tag count, MAP over tags (``map``) and over images
(``map_samples``).  Each record is one draw; its ``extra`` has the paired bootstrap interval of
the tagger's F1@k gain over every method (images resampled, ``BOOTSTRAP_LEVEL``), and a
``mean`` record per method averages the draws.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ._harness import Record, skipped

HIDDEN_FRACTION = 0.3
DRAWS = 3
TOP_KS = (1, 3, 5)
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_LEVEL = 0.95
#: ``make_multilabel_classification`` settings (``standardize``: z-score the features).
MULTILABEL = {
    "mlcsmall": {"n_features": 20, "n_classes": 8, "n_labels": 2, "standardize": False},
    "mlcwide": {"n_features": 200, "n_classes": 20, "n_labels": 3, "standardize": False},
    "mlcstd": {"n_features": 50, "n_classes": 12, "n_labels": 3, "standardize": True},
}
#: Real multi-label data sets read from the files of an installed package (never downloaded):
#: name -> (package, file inside it, number of tag columns at the end).
REAL = {"yeast": ("river", "datasets/yeast.csv.gz", 14)}
DATA = ("shapes", "digits", "tabular", *MULTILABEL, *REAL)
TASKS = ("completion", "refinement", "defaults")
#: ``defaults-<data>``: each variant changes one default of ``HypergraphTagger``.
VARIANTS = {
    "alpha=0.9": {"alpha": 0.9},
    "binary incidence": {"incidence": "binary"},
    "raw features": {"standardize": False},
    "n_neighbors=10": {"n_neighbors": 10},
    "mu=1": {"mu": 1.0},
    "scales 5-40": {"scales": (5, 10, 20, 40)},
    "not normalised": {"normalize_scores": False},
    "no prior": {"feature_prior": 0.0},
    "no frequency correction": {"frequency_correction": 0.0},
}


#: A directory of a user's own data sets: ``<name>.npz`` there is the data ``<name>`` (arrays
#: ``X`` and ``Y``, as ``hyperlearn tag --dataset`` reads them; the observed tags are the truth).
DATA_DIR_VARIABLE = "HYPERLEARN_TAGGING_DATA"


def user_data():
    """Names of the ``.npz`` data sets in the directory ``$HYPERLEARN_TAGGING_DATA`` (sorted)."""
    import os
    from pathlib import Path

    folder = os.environ.get(DATA_DIR_VARIABLE)
    if not folder:
        return ()
    return tuple(sorted(p.stem for p in Path(folder).glob("*.npz")))


def load(data, n, seed=0):
    """``(X, Y_observed, Y_true)`` of a quality case."""
    if data not in DATA and data in user_data():
        import os
        from pathlib import Path

        from hyperlearn.datasets import load_tags_npz

        d = load_tags_npz(Path(os.environ[DATA_DIR_VARIABLE]) / f"{data}.npz")
        X, Y = d.features, d.tags_observed
        Y_true = Y if d.tags_true is None else d.tags_true
        if n is not None and n < X.shape[0]:
            keep = np.sort(np.random.default_rng(seed).choice(X.shape[0], n, replace=False))
            X, Y, Y_true = X[keep], Y[keep], Y_true[keep]
        return X, Y, Y_true
    if data == "shapes":
        from hyperlearn.datasets import make_tagged_shapes

        d = make_tagged_shapes(n or 3000, random_state=seed)
        return d.features, d.tags_observed, d.tags_true
    if data == "digits":
        from hyperlearn.datasets import load_digits_tags

        d = load_digits_tags(random_state=seed)
        return d.features, d.tags_observed, d.tags_true
    if data in REAL:
        X, Y = load_real(data)
        if n is not None and n < X.shape[0]:
            keep = np.sort(np.random.default_rng(seed).choice(X.shape[0], n, replace=False))
            X, Y = X[keep], Y[keep]
        return X, Y, Y
    from sklearn.datasets import make_multilabel_classification

    if data in MULTILABEL:
        setting = dict(MULTILABEL[data])
        standardize = setting.pop("standardize")
        X, Y = make_multilabel_classification(
            n or 2000, allow_unlabeled=False, random_state=seed, **setting
        )
        if standardize:
            X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        return X.astype(np.float32), Y.astype(np.uint8), Y.astype(np.uint8)
    if data != "tabular":
        raise ValueError(
            f"unknown quality data {data!r}: expected one of {DATA} or a data set in "
            f"${DATA_DIR_VARIABLE} ({', '.join(user_data()) or 'not set or empty'})"
        )
    X, Y = make_multilabel_classification(
        n or 2000,
        n_features=60,
        n_classes=14,
        n_labels=4,
        allow_unlabeled=False,
        random_state=seed,
    )
    scales = np.random.default_rng(seed).lognormal(0.0, 1.5, X.shape[1])
    return (X * scales).astype(np.float32), Y.astype(np.uint8), Y.astype(np.uint8)


class MissingDataError(RuntimeError):
    """A real data set's package is not installed."""


def load_real(data):
    """``(X float32, Y uint8)`` of the real data set ``data`` (a key of ``REAL``), read from the
    CSV file shipped inside its package; the package is located, not imported."""
    import gzip
    import importlib.util
    from pathlib import Path

    package, relative, n_tags = REAL[data]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError(
            f"the {data} data set is read from the package {package!r}, which is not installed "
            f"(pip install {package}, or the bench extra)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    with gzip.open(path, "rt") as handle:
        values = np.loadtxt(handle, delimiter=",", skiprows=1)
    return values[:, :-n_tags].astype(np.float32), values[:, -n_tags:].astype(np.uint8)


def _logistic(X, Y, train):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=500)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a tag absent from the training rows: constant column
        model.fit(X[train], Y[train])
    return model.predict_proba(X)


def _label_spreading(X, Y, train, n_neighbors=10):
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import LabelSpreading

    Xs = StandardScaler().fit_transform(X)
    scores = np.zeros(Y.shape)
    for t in range(Y.shape[1]):
        labels = np.where(train, Y[:, t], -1)
        if np.unique(labels[train]).size < 2:
            scores[:, t] = labels[train].mean() if train.any() else 0.0
            continue
        model = LabelSpreading(kernel="knn", n_neighbors=n_neighbors, max_iter=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(Xs, labels)
        scores[:, t] = model.label_distributions_[:, list(model.classes_).index(1)]
    return scores


def _variants(seed):
    """``defaults-<data>``: the default tagger and one variant per default."""
    from hyperlearn import HypergraphTagger

    def fit(**params):
        return lambda X, Y: HypergraphTagger(random_state=seed, **params).fit(X, Y).scores_

    return {"tagger": fit(), **{f"tagger {name}": fit(**p) for name, p in VARIANTS.items()}}


def _methods(X, Y, seed):
    """Name -> function of ``(X, Y_shown)`` returning scores for every image."""
    from hyperlearn import HypergraphTagger
    from hyperlearn.tagging import knn_tag_voting, ml_knn_scores, select_knn_k

    def tagger(X, Y):
        return HypergraphTagger(random_state=seed).fit(X, Y).scores_

    def fixed(X, Y):
        return HypergraphTagger(random_state=seed, adaptive_weights=False).fit(X, Y).scores_

    def no_prior(X, Y):
        return HypergraphTagger(random_state=seed, feature_prior=0.0).fit(X, Y).scores_

    def no_frequency(X, Y):
        model = HypergraphTagger(random_state=seed, frequency_correction=0.0)
        return model.fit(X, Y).scores_

    def voting(X, Y):
        k, _ = select_knn_k(X, Y, random_state=seed)
        return knn_tag_voting(X, Y, k)

    def mlknn(X, Y):
        k, _ = select_knn_k(X, Y, random_state=seed)
        return ml_knn_scores(X, Y, k)

    def tagged(Y):
        return np.asarray(Y).any(axis=1)

    return {
        "tagger": tagger,
        "tagger fixed": fixed,
        "tagger no prior": no_prior,
        "tagger no frequency correction": no_frequency,
        "knn_voting auto": voting,
        "logistic_ovr": lambda X, Y: _logistic(X, Y, tagged(Y)),
        "label_spreading": lambda X, Y: _label_spreading(X, Y, tagged(Y)),
        "ml_knn": mlknn,
    }


def _metrics(Y_true, scores, ks):
    from hyperlearn.metrics import f1_at_k, mean_average_precision, precision_at_k

    out = {}
    for k in ks:
        out[f"f1@{k}"] = f1_at_k(Y_true, scores, k)
        out[f"p@{k}"] = precision_at_k(Y_true, scores, k)
    out["map"] = mean_average_precision(Y_true, scores)
    out["map_samples"] = mean_average_precision(Y_true, scores, average="samples")
    return out


def per_image_f1(Y_true, scores, k):
    """F1@k of every image (their mean is ``f1_at_k(average="samples")``)."""
    from hyperlearn.metrics import top_k_indicator

    hits = (top_k_indicator(scores, k) & Y_true.astype(bool)).sum(axis=1)
    return 2.0 * hits / (Y_true.sum(axis=1) + k)


def paired_interval(ours, base, seed=0):
    """Mean of ``ours − base`` and its percentile bootstrap interval (images resampled)."""
    diff = np.asarray(ours, dtype=float) - np.asarray(base, dtype=float)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (BOOTSTRAP_RESAMPLES, diff.size))].mean(axis=1)
    tail = 50.0 * (1.0 - BOOTSTRAP_LEVEL)
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(diff.mean()), float(low), float(high)


def _one_draw(task, data, X, Y_obs, Y_true, draw, ks):
    n = X.shape[0]
    rng = np.random.default_rng(1000 + draw)
    if task in ("completion", "defaults"):
        evaluated = np.zeros(n, dtype=bool)
        evaluated[rng.choice(n, round(HIDDEN_FRACTION * n), replace=False)] = True
        Y_shown = np.where(evaluated[:, None], 0, Y_obs).astype(np.uint8)
    else:
        evaluated = np.ones(n, dtype=bool)
        Y_shown = Y_obs
    results = {}
    methods = _variants(draw) if task == "defaults" else _methods(X, Y_shown, draw)
    for name, method in methods.items():
        t0 = time.perf_counter()
        scores = np.asarray(method(X, Y_shown), dtype=np.float64)
        results[name] = (time.perf_counter() - t0, scores[evaluated])
    target = Y_true[evaluated]
    k_main = ks[-1] if len(ks) < 3 else ks[1]
    ours = per_image_f1(target, results["tagger"][1], k_main)
    records = []
    for name, (elapsed, scores) in results.items():
        extra = {"draw": draw, "k": k_main}
        if name != "tagger":
            gain, low, high = paired_interval(ours, per_image_f1(target, scores, k_main), draw)
            extra.update(gain=gain, gain_low=low, gain_high=high)
        case = f"{task}-{data}"
        params = {"n": n, "tags": Y_obs.shape[1], "draw": draw}
        records.append(
            Record("tagging", case, params, name, elapsed, _metrics(target, scores, ks), extra)
        )
    return records


def _means(records):
    by_impl = {}
    for r in records:
        by_impl.setdefault(r.impl, []).append(r)
    out = []
    for impl, recs in by_impl.items():
        acc = {key: float(np.mean([r.accuracy[key] for r in recs])) for key in recs[0].accuracy}
        extra = {"draws": len(recs)}
        if "gain" in recs[0].extra:
            extra["worst_gain_low"] = float(min(r.extra["gain_low"] for r in recs))
            extra["mean_gain"] = float(np.mean([r.extra["gain"] for r in recs]))
        t = float(np.mean([r.time_s for r in recs]))
        params = dict(recs[0].params, draw="mean")
        out.append(Record("tagging", recs[0].case + " mean", params, impl, t, acc, extra))
    return out


def run_case(task, data, n=None, draws=DRAWS):
    """Records of one quality case: every draw, then the mean over draws per method."""
    try:
        X, Y_obs, Y_true = load(data, n)
    except MissingDataError as error:
        return [skipped("tagging", f"{task}-{data}", "all", str(error), {"n": n})]
    ks = tuple(k for k in TOP_KS if k <= max(1, Y_obs.shape[1] // 2))
    draws = 1 if task == "refinement" else draws
    records = []
    for draw in range(draws):
        records += _one_draw(task, data, X, Y_obs, Y_true, draw, ks)
    return records + _means(records)


#: ``cost<n>``: repeats of each fit (the minimum is reported).
COST_REPEATS = 3
#: ``cost<n>``: an approximation of the tagger's defaults before issue 15 (alpha 0.9, 10
#: neighbours, binary incidence, raw features, learned weights at mu = 1, no prior).
PRE_ISSUE_LIKE = {
    "alpha": 0.9,
    "mu": 1.0,
    "n_neighbors": 10,
    "incidence": "binary",
    "standardize": False,
    "normalize_scores": False,
    "feature_prior": 0.0,
    "frequency_correction": 0.0,
}


def run_cost(n):
    """``cost<n>``: the whole default fit (selection included) against the same without the
    prior and against ``PRE_ISSUE_LIKE``, on shapes and tabular (``n`` items, all tags shown
    but a random ``HIDDEN_FRACTION``); the minimum of ``COST_REPEATS`` fits each."""
    from hyperlearn import HypergraphTagger

    variants = {
        "tagger": {},
        "tagger no prior": {"feature_prior": 0.0},
        "pre-issue-like": PRE_ISSUE_LIKE,
    }
    records = []
    for data in ("shapes", "tabular"):
        X, Y_obs, Y_true = load(data, n)
        rng = np.random.default_rng(1000)
        hidden = np.zeros(X.shape[0], dtype=bool)
        hidden[rng.choice(X.shape[0], round(HIDDEN_FRACTION * X.shape[0]), replace=False)] = True
        Y = np.where(hidden[:, None], 0, Y_obs).astype(np.uint8)
        HypergraphTagger(random_state=0).fit(X[:300], Y[:300])  # compile the kernels
        for name, params in variants.items():
            times = []
            for _ in range(COST_REPEATS):
                t0 = time.perf_counter()
                model = HypergraphTagger(random_state=0, **params).fit(X, Y)
                times.append(time.perf_counter() - t0)
            f1 = float(per_image_f1(Y_true[hidden], model.scores_[hidden], 3).mean())
            extra = {"times": times, "feature_prior": getattr(model, "feature_prior_", None)}
            params_ = {"n": X.shape[0], "data": data}
            records.append(
                Record("tagging", f"cost-{data}", params_, name, min(times), {"f1@3": f1}, extra)
            )
    return records
