"""Command line: ``hyperlearn tag | info | bench`` (also ``python -m hyperlearn ...``).

* ``hyperlearn tag`` — the main job: tag images by adaptive hypergraph learning on the embedded
  shapes data, scikit-learn's digits, or a user's own ``.npz`` (features ``X``, observed tags
  ``Y``), and report F1@k, P@k and MAP per solver (``--compare``: every solver and two baselines).
* ``hyperlearn info`` — versions, thread settings, and a kNN hypergraph on the digits with its
  size, degrees, build time and the top eigenvalues of Θ through the matrix-free operator.
* ``hyperlearn bench ...`` — the benchmark suites (``python -m benchmarks``), from a checkout.

Only :mod:`argparse` and the standard library are imported at start-up, so ``hyperlearn --help``
is instant; NumPy, SciPy, Numba and the estimator are imported inside the commands.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

__all__ = ["build_parser", "main"]

#: Solvers of :class:`hyperlearn.HypergraphTagger` run by ``--compare``, in table order.
COMPARE_SOLVERS = ("block_cg", "cg", "tessellated", "exact")
#: All values accepted by ``--solver``.
SOLVERS = (*COMPARE_SOLVERS, "auto")
#: Above this many images ``--compare`` skips the ``exact`` solver: it factorises the dense
#: n × n matrix I − αΘ (the tag hyperedges hold thousands of images, so Θ is dense), O(n³) time
#: and 8n² bytes (5000 images: 200 MB and about 10 s on one core).
EXACT_MAX_N = 5000
#: Default number of shapes images: ``tag --compare`` (four solvers, two baselines, features,
#: Numba compilation) takes about a minute on the 2-core reference machine.
DEFAULT_SHAPES_IMAGES = 3000
#: Images of the warm-up fit that compiles (or loads) every solver's kernels before timing.
WARMUP_IMAGES = 120
#: ``--alpha auto``: fraction of the tagged images whose observed tags are hidden to choose
#: alpha (and, with ``--compare``, kNN voting's k) — the estimator's default.
VALIDATION_FRACTION = 0.2
#: Untagged images listed by name when no ground truth is available.
SHOW_UNTAGGED = 10

BASELINES = {
    "knn_voting": "kNN tag voting: mean observed tags of the k nearest images (itself excluded)",
    "user_tags": "the observed user tags as given (untagged images: no information)",
}


class CLIError(Exception):
    """A user error reported as one line on stderr with exit code 2."""


# --------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------
def _checked(text, convert, valid, expected):
    """``convert(text)`` if it parses and is ``valid``, else an argparse error ``expected …``."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if not valid(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
    return value


def _positive_int(text):
    return _checked(text, int, lambda v: v >= 1, "a positive integer")


def _rate(text):
    return _checked(text, float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")


def _open_unit(text):
    return _checked(text, float, lambda v: 0.0 < v < 1.0, "a number in (0, 1)")


def _alpha(text):
    """``auto`` (held-out selection from the observed tags) or a number in (0, 1)."""
    if text == "auto":
        return text
    return _checked(text, float, lambda v: 0.0 < v < 1.0, "'auto' or a number in (0, 1)")


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-zero integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive integer or -1 (all CPUs), got 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``hyperlearn`` argument parser (sub-commands ``tag``, ``info``, ``bench``)."""
    parser = argparse.ArgumentParser(
        prog="hyperlearn",
        description="Image tagging by adaptive hypergraph learning, and its linear algebra.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="{tag,info,bench}")

    tag = sub.add_parser(
        "tag",
        help="tag images (the main job)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description=(
            "Tag images with HypergraphTagger: kNN visual hyperedges plus one hyperedge per "
            "observed tag; alternate a linear solve for the tag scores with a hyperedge-weight "
            "update. Prints F1@k, P@k and MAP against the true tags."
        ),
    )
    tag.add_argument(
        "--dataset",
        default="shapes",
        metavar="{shapes,digits,PATH.npz}",
        help="'shapes' (generated coloured shapes), 'digits' (scikit-learn's bundled digits) or "
        "PATH.npz holding X (n x d features) and Y (n x T observed 0/1 tags; rows without a tag "
        "get tagged), optionally Y_true (n x T, used for evaluation) and tag_names",
    )
    tag.add_argument(
        "--n-images",
        type=_positive_int,
        metavar="N",
        default=None,
        help=f"number of images (npz: the first N rows); None = shapes {DEFAULT_SHAPES_IMAGES}, "
        "digits all 1797, npz all rows",
    )
    tag.add_argument("--solver", choices=SOLVERS, default="block_cg", help="f-step solver")
    tag.add_argument(
        "--compare",
        action="store_true",
        help="run every solver (block_cg, cg, tessellated, exact) and two baselines (kNN tag "
        "voting, user tags as given)",
    )
    tag.add_argument("--k", type=_positive_int, default=5, help="tags predicted per image")
    tag.add_argument("--n-neighbors", type=_positive_int, default=10, help="kNN hyperedge size")
    tag.add_argument(
        "--alpha",
        type=_alpha,
        default=0.9,
        metavar="{auto,FLOAT}",
        help="propagation weight in (0, 1), or 'auto': chosen from the observed tags by hiding "
        f"those of {VALIDATION_FRACTION * 100:g}%% of the tagged images (with --compare, kNN "
        "voting then chooses its k the same way)",
    )
    tag.add_argument("--max-iter", type=_positive_int, default=10, help="max alternations")
    tag.add_argument(
        "--missing-rate",
        type=_rate,
        default=0.3,
        help="shapes/digits: probability that a true tag is missing from the observed tags",
    )
    tag.add_argument(
        "--spurious-rate",
        type=_rate,
        default=0.05,
        help="shapes/digits: probability that an absent tag is added to the observed tags",
    )
    tag.add_argument(
        "--untagged-fraction",
        type=_rate,
        default=0.2,
        help="shapes/digits: fraction of images stripped of every observed tag (to be tagged)",
    )
    tag.add_argument("--json", dest="json_path", default=None, help="write the results as JSON")
    tag.add_argument("--plot", dest="plot_path", default=None, help="PNG: F1@k vs time")
    tag.add_argument("--random-state", type=int, default=0, help="seed of data and solvers")
    tag.add_argument(
        "--n-jobs", type=_n_jobs, default=None, help="threads (Numba and BLAS); -1 = all CPUs"
    )
    tag.add_argument("--quiet", action="store_true", help="print only the table")

    sub.add_parser(
        "info",
        help="versions, thread settings and a digits hypergraph",
        description=(
            "Print versions and thread settings, then build a kNN hypergraph (k = 10) on "
            "scikit-learn's digits and print its size, degree statistics, build time and the "
            "top eigenvalues of the normalized adjacency computed matrix-free."
        ),
    )

    bench = sub.add_parser(
        "bench",
        help="run benchmark suites (python -m benchmarks)",
        description="Run the benchmark suites; arguments are passed to python -m benchmarks.",
        add_help=False,
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    return parser


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage error).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # ``bench`` passes everything after it through, including --help.
    if argv and argv[0] == "bench":
        return _cmd_bench(argv[1:])
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse prints its message; return its code
        return int(exc.code or 0)
    if args.version:
        from . import __version__

        print(f"hyperlearn {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "tag":
            return _cmd_tag(args)
        if args.command == "info":
            return _cmd_info()
    except CLIError as exc:
        print(f"hyperlearn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hyperlearn {args.command}: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2  # pragma: no cover


# --------------------------------------------------------------------------------------------
# tag
# --------------------------------------------------------------------------------------------
def _load_dataset(args):
    """Bunch with features, tags_observed, tags_true (or None), untagged, tag_names, and text."""
    import numpy as np

    from .datasets import load_digits_tags, load_tags_npz, make_tagged_shapes

    noise = (args.missing_rate, args.spurious_rate)
    name = args.dataset
    if name == "shapes":
        n = args.n_images or DEFAULT_SHAPES_IMAGES
        data = make_tagged_shapes(
            n,
            tag_noise=noise,
            random_state=args.random_state,
            untagged_fraction=args.untagged_fraction,
        )
        data.description = (
            f"shapes: {n} generated 32x32 RGB images of coloured shapes on plain, striped or "
            f"cluttered backgrounds; {data.features.shape[1]} features per image (colour "
            "histogram, gradient-orientation histograms, thumbnail)"
        )
    elif name == "digits":
        try:
            data = load_digits_tags(
                args.n_images,
                tag_noise=noise,
                random_state=args.random_state,
                untagged_fraction=args.untagged_fraction,
            )
        except ValueError as exc:
            raise CLIError(f"--n-images: {exc}") from None
        data.description = (
            f"digits: {data.features.shape[0]} of scikit-learn's bundled 8x8 hand-written "
            "digits, 64 pixel features; tags = the digit and attributes derived from it "
            "(even, prime, has_loop, ...)"
        )
    else:
        if not name.endswith(".npz") and not os.path.exists(name):
            raise CLIError(
                f"--dataset must be 'shapes', 'digits' or an existing .npz file; got {name!r}"
            )
        import zipfile

        if os.path.isfile(name) and not zipfile.is_zipfile(name):
            # np.load would return a plain array (.npy) or complain about pickles (text)
            raise CLIError(
                f"--dataset {name!r} is not an .npz archive (write one with numpy.savez(path, "
                "X=..., Y=...))"
            )
        try:
            data = load_tags_npz(name)
        except FileNotFoundError:
            raise CLIError(f"--dataset: no such file: {name!r}") from None
        except (ValueError, OSError) as exc:
            raise CLIError(f"--dataset {name!r}: {exc}") from None
        if args.n_images is not None:
            if args.n_images > data.features.shape[0]:
                raise CLIError(
                    f"--n-images {args.n_images} exceeds the {data.features.shape[0]} rows "
                    f"of {name!r}"
                )
            m = args.n_images
            data.features = data.features[:m]
            data.tags_observed = data.tags_observed[:m]
            data.untagged = data.untagged[:m]
            if data.tags_true is not None:
                data.tags_true = data.tags_true[:m]
        data.description = (
            f"{os.path.basename(name)}: {data.features.shape[0]} images, "
            f"{data.features.shape[1]} features per image (your data)"
        )
        noise = None
    n, T = data.tags_observed.shape
    if not data.tags_observed.any():
        raise CLIError("the observed tags Y contain no tag at all: nothing to propagate")
    if data.untagged.all():
        raise CLIError("every image is untagged: at least one image needs an observed tag")
    if args.n_neighbors >= n:
        raise CLIError(f"--n-neighbors must be < the number of images {n}; got {args.n_neighbors}")
    if args.k > T:
        raise CLIError(f"--k must be <= the number of tags {T}; got {args.k}")
    data.noise = noise
    data.features = np.ascontiguousarray(data.features)
    return data


def _describe(data, args):
    """Text above the table: what the data are and what each column means."""
    import numpy as np

    n, T = data.tags_observed.shape
    n_untagged = int(data.untagged.sum())
    lines = [f"Data: {data.description}.", f"  {n} images, T = {T} tags."]
    if data.noise is not None:
        lines.append(
            f"  Observed (user) tags = true tags with each one missing with probability "
            f"{data.noise[0]:g} and each absent tag added with probability {data.noise[1]:g};"
        )
        lines.append(
            f"  {n_untagged} images ({n_untagged / n:.0%}) have no observed tag at all (to be "
            "tagged)."
        )
    else:
        lines.append(f"  {n_untagged} images have no observed tag (to be tagged).")
    obs = data.tags_observed.sum(axis=1)
    if data.tags_true is not None:
        true = data.tags_true.sum(axis=1)
        tagged = ~data.untagged
        lines.append(
            f"  Tags per image: true {np.mean(true):.2f}, observed {np.mean(obs[tagged]):.2f} "
            "(on tagged images)."
        )
    else:
        lines.append(
            f"  Observed tags per tagged image: {np.mean(obs[~data.untagged]):.2f}; no ground "
            "truth (Y_true) in the file, so only the tags produced are reported."
        )
    return lines


def _legend(k, has_truth, has_untagged, selection=False):
    items = []
    if has_truth:
        items.append(
            (
                f"F1@{k} all",
                f"top-{k} tags of EVERY image vs its true tags, F1 per "
                "image averaged over images (tag refinement)",
            )
        )
        if has_untagged:
            items.append(
                (
                    f"F1@{k} untagged",
                    "the same on the images that had no observed tag (tag completion)",
                )
            )
        items += [
            (f"P@{k}", f"fraction of the top-{k} tags that are true, averaged over all images"),
            (
                "MAP",
                "mean over tags of the average precision of all images ranked by that tag's score",
            ),
        ]
    items += [
        (
            "time (s)",
            "wall-clock seconds of the fit (hypergraph build + alternations"
            + (" + the held-out choice of alpha, or of k for knn_voting" if selection else "")
            + "; kernels compiled beforehand)",
        ),
        ("alt", "alternations (f-step solve + hyperedge-weight update) performed"),
        ("solver its", "f-step solver iterations summed over the alternations (0 = direct)"),
    ]
    width = max(len(name) for name, _ in items) + 2
    return ["Columns:", *(f"  {name.ljust(width)}{text}" for name, text in items)]


def _run_methods(data, args):
    """Fit every requested method; list of dicts with scores, time and iteration counts."""
    import numpy as np

    from .tagging import HypergraphTagger, knn_tag_voting, select_knn_k, user_tag_scores
    from .utils import warm_up

    X, Y = data.features, data.tags_observed
    n = X.shape[0]
    solvers = list(COMPARE_SOLVERS) if args.compare else [args.solver]
    notes = []
    if args.compare and n > EXACT_MAX_N:
        solvers.remove("exact")
        notes.append(
            f"exact skipped: n = {n} > {EXACT_MAX_N} (dense O(n^3) factorisation); use "
            f"--n-images {EXACT_MAX_N} or fewer to include it"
        )

    def tagger(solver):
        return HypergraphTagger(
            n_neighbors=args.n_neighbors,
            alpha=args.alpha,
            max_iter=args.max_iter,
            validation_fraction=VALIDATION_FRACTION,
            solver=solver,
            random_state=args.random_state,
            n_jobs=args.n_jobs,
            verbose=False,
        )

    # Compile (or load from Numba's cache) every kernel on a small subset first, so that the
    # times below measure the methods, not the compiler.
    t0 = time.perf_counter()
    m = min(n, WARMUP_IMAGES)
    idx = np.flatnonzero(~data.untagged)[:m]
    k_warm = min(args.n_neighbors, len(idx) - 1)
    if k_warm >= 1 and Y[idx].any():
        for solver in solvers:
            # a fixed alpha: the held-out selection runs the same kernels
            model = tagger(solver).set_params(n_neighbors=k_warm, max_iter=2, alpha=0.9)
            model.fit(X[idx], Y[idx])
        knn_tag_voting(X[idx], Y[idx], n_neighbors=k_warm)
    # block_cg picks its lockstep method only on systems larger than this subset: its kernels too
    warm_up()
    warmup_s = time.perf_counter() - t0

    results = []
    for solver in solvers:
        model = tagger(solver)
        t0 = time.perf_counter()
        model.fit(X, Y)
        elapsed = time.perf_counter() - t0
        its = [int(i) for i in getattr(model, "solver_iterations_", [])]
        results.append(
            {
                "method": solver,
                "kind": "solver",
                "scores": np.asarray(model.scores_),
                "time_s": elapsed,
                "alpha": float(model.alpha_),
                "alpha_scores": getattr(model, "alpha_scores_", None),
                "alternations": int(model.n_iter_),
                "solver_iterations": its,
                "objective": [float(v) for v in getattr(model, "objective_", [])],
            }
        )
    if args.compare:
        knn_selection = {}

        def knn_voting():
            k = args.n_neighbors
            if args.alpha == "auto":  # the same held-out protocol as the tagger's alpha
                k, knn_selection["scores"] = select_knn_k(
                    X,
                    Y,
                    validation_fraction=VALIDATION_FRACTION,
                    random_state=args.random_state,
                    n_jobs=args.n_jobs,
                )
            knn_selection["k"] = k
            return knn_tag_voting(X, Y, n_neighbors=k)

        for name, fn in (
            ("knn_voting", knn_voting),
            ("user_tags", lambda: user_tag_scores(Y)),
        ):
            t0 = time.perf_counter()
            scores = fn()
            elapsed = time.perf_counter() - t0  # includes the selection of k, if any
            results.append(
                {
                    "method": name,
                    "kind": "baseline",
                    "scores": np.asarray(scores, dtype=float),
                    "time_s": elapsed,
                    "alternations": None,
                    "solver_iterations": None,
                }
            )
            if name == "knn_voting":
                results[-1]["n_neighbors"] = knn_selection["k"]
                results[-1]["k_scores"] = knn_selection.get("scores")
    return results, notes, warmup_s


def _evaluate(results, data, k):
    from .metrics import f1_at_k, mean_average_precision, precision_at_k

    truth = data.tags_true
    untagged = data.untagged
    for r in results:
        r["metrics"] = {}
        if truth is None:
            continue
        S = r["scores"]
        r["metrics"] = {
            f"f1@{k}_all": f1_at_k(truth, S, k),
            f"f1@{k}_untagged": f1_at_k(truth[untagged], S[untagged], k)
            if untagged.any()
            else None,
            f"p@{k}": precision_at_k(truth, S, k),
            "map": mean_average_precision(truth, S),
        }


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def _table(results, k, has_truth, has_untagged):
    headers = ["method"]
    if has_truth:
        headers += [f"F1@{k} all"] + ([f"F1@{k} untagged"] if has_untagged else [])
        headers += [f"P@{k}", "MAP"]
    headers += ["time (s)", "alt", "solver its"]
    rows = []
    for r in results:
        m = r["metrics"]
        row = [r["method"]]
        if has_truth:
            row.append(_fmt(m[f"f1@{k}_all"], ".4f"))
            if has_untagged:
                row.append(_fmt(m[f"f1@{k}_untagged"], ".4f"))
            row += [_fmt(m[f"p@{k}"], ".4f"), _fmt(m["map"], ".4f")]
        its = r["solver_iterations"]
        row += [
            f"{r['time_s']:.3f}",
            _fmt(r["alternations"], "d"),
            "-" if its is None else str(sum(its)),
        ]
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    # method left-aligned, numbers right-aligned
    def line(cells):
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _top_tags(scores, names, k):
    from .metrics import top_k_indicator

    mask = top_k_indicator(scores, k)
    order = (-scores).argsort(axis=1, kind="stable")
    out = []
    for i in range(scores.shape[0]):
        out.append([names[t] for t in order[i] if mask[i, t]][:k])
    return out


def _write_plot(path, results, k, title):
    try:
        import matplotlib
    except ImportError:
        raise CLIError("--plot needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    key = f"f1@{k}_all"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        f1 = r["metrics"].get(key)
        if f1 is None:
            continue
        marker = "o" if r["kind"] == "solver" else "s"
        # log axis: times below 0.1 ms are drawn at 0.1 ms (the label keeps the true time)
        t = max(r["time_s"], 1e-4)
        label = f"{r['method']}: F1 {f1:.4f}, {r['time_s']:.3g} s"
        ax.scatter([t], [f1], marker=marker, s=60, label=label, alpha=0.8)
    ax.legend(fontsize=8, loc="best")
    ax.set_xscale("log")
    ax.set_xlabel("time (s, log scale)")
    ax.set_ylabel(f"F1@{k} (samples, all images)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(path, format="png", dpi=120)
    except OSError as exc:
        raise CLIError(f"--plot: cannot write {path!r}: {exc}") from None
    finally:
        plt.close(fig)


def _write_json(path, payload):
    import json

    try:
        with open(path, "w") as f:
            json.dump(payload, f, indent=2)
    except OSError as exc:
        raise CLIError(f"--json: cannot write {path!r}: {exc}") from None


def _check_writable(path, option):
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CLIError(f"{option}: directory {parent!r} does not exist")


def _scores_text(scores):
    return ", ".join(f"{key:g}: {value:.4f}" for key, value in scores.items())


def _method_lines(results, args, n_threads):
    """Header lines naming the method and, with ``--alpha auto``, the chosen alpha (and k)."""
    alphas = sorted({r["alpha"] for r in results if r["kind"] == "solver"})
    alpha_text = "/".join(f"{a:g}" for a in alphas)
    if args.alpha == "auto":
        alpha_text = f"auto -> {alpha_text}"
    lines = [
        f"Method: HypergraphTagger (kNN hyperedges k = {args.n_neighbors} + one hyperedge per "
        f"tag, alpha = {alpha_text}, at most {args.max_iter} alternations, adaptive weights); "
        f"{n_threads} thread(s)."
    ]
    if args.alpha == "auto":
        # every solver validates the same alphas on the same images: one line per distinct grid
        grids = {}
        for r in results:
            if r["kind"] == "solver":
                grids.setdefault(_scores_text(r["alpha_scores"]), []).append(r["method"])
        lines.append(
            f"  alpha chosen on the observed tags only: those of {VALIDATION_FRACTION:.0%} of the "
            "tagged images hidden, F1@5 of their scores (one solve per alpha, initial weights) "
            "against them; the best replaces 0.9 only if its per-image gain exceeds one "
            "standard error:"
        )
        for text, methods in grids.items():
            lines.append(f"    {'/'.join(methods)}: {text}")
        for r in results:
            if r["method"] == "knn_voting" and r.get("k_scores") is not None:
                lines.append(
                    f"  kNN voting k chosen the same way (same hidden images, default 10): k = "
                    f"{r['n_neighbors']} ({_scores_text(r['k_scores'])})"
                )
    return lines


def _cmd_tag(args):
    for path, option in ((args.json_path, "--json"), (args.plot_path, "--plot")):
        if path is not None:
            _check_writable(path, option)
    start = time.perf_counter()
    say = (lambda *a: None) if args.quiet else print
    from .utils import thread_limits

    data = _load_dataset(args)
    n, T = data.tags_observed.shape
    k = args.k
    has_truth = data.tags_true is not None
    has_untagged = bool(data.untagged.any())
    for text in _describe(data, args):
        say(text)
    with thread_limits(args.n_jobs) as n_threads:
        try:
            results, notes, warmup_s = _run_methods(data, args)
        except ValueError as exc:  # the estimator's input validation (e.g. a user's npz)
            raise CLIError(str(exc)) from None
    _evaluate(results, data, k)
    for text in _method_lines(results, args, n_threads):
        say(text)
    say(f"Kernels compiled/loaded in a warm-up fit on a small subset: {warmup_s:.1f} s.")
    say("")
    for text in _legend(k, has_truth, has_untagged, selection=args.alpha == "auto"):
        say(text)
    if args.compare:
        for name, text in BASELINES.items():
            say(f"  baseline {name}: {text}")
    say("")
    for text in _table(results, k, has_truth, has_untagged):
        print(text)
    for note in notes:
        say(f"note: {note}")
    if not has_truth and has_untagged:
        main_result = results[0]
        idx = [int(i) for i in data.untagged.nonzero()[0]]
        tags = _top_tags(main_result["scores"][idx], data.tag_names, k)
        say("")
        say(
            f"Tags produced by {main_result['method']} for untagged images (first "
            f"{min(SHOW_UNTAGGED, len(idx))} of {len(idx)}):"
        )
        for i, t in list(zip(idx, tags, strict=True))[:SHOW_UNTAGGED]:
            say(f"  image {i}: {', '.join(t)}")
    total = time.perf_counter() - start
    say(f"\nTotal wall time: {total:.1f} s.")

    if args.plot_path is not None:
        if not has_truth:
            raise CLIError("--plot needs ground truth (Y_true) to compute F1")
        title = f"hyperlearn tag on {os.path.basename(args.dataset)}: {n} images, {T} tags"
        _write_plot(args.plot_path, results, k, title)
        say(f"Plot written to {args.plot_path}")
    if args.json_path is not None:
        from . import __version__

        untagged_idx = [int(i) for i in data.untagged.nonzero()[0]]
        payload = {
            "hyperlearn_version": __version__,
            "dataset": args.dataset,
            "description": data.description,
            "n_images": int(n),
            "n_tags": int(T),
            "n_untagged": len(untagged_idx),
            "noise": None if data.noise is None else list(data.noise),
            "k": k,
            "params": {
                "n_neighbors": args.n_neighbors,
                "alpha": args.alpha,
                "alpha_chosen": sorted({r["alpha"] for r in results if r["kind"] == "solver"}),
                "max_iter": args.max_iter,
                "random_state": args.random_state,
                "n_jobs": args.n_jobs,
                "threads": n_threads,
            },
            "warmup_s": warmup_s,
            "total_s": total,
            "notes": notes,
            "results": [
                {
                    key: r[key]
                    for key in (
                        "method",
                        "kind",
                        "time_s",
                        "alternations",
                        "solver_iterations",
                        "metrics",
                    )
                }
                | {
                    key: r[key]
                    for key in ("alpha", "alpha_scores", "n_neighbors", "k_scores")
                    if r.get(key) is not None
                }
                | ({"objective": r["objective"]} if "objective" in r else {})
                for r in results
            ],
            "tag_names": list(data.tag_names),
            "untagged_tags": {
                str(i): t
                for i, t in zip(
                    untagged_idx,
                    _top_tags(results[0]["scores"][untagged_idx], data.tag_names, k),
                    strict=True,
                )
            },
        }
        _write_json(args.json_path, payload)
        say(f"JSON written to {args.json_path}")
    return 0


# --------------------------------------------------------------------------------------------
# info
# --------------------------------------------------------------------------------------------
def _version_of(distribution):
    # Installed metadata, not an import: importing torch alone takes seconds.
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cmd_info():
    import platform

    import numpy as np

    from . import __version__

    print(f"hyperlearn {__version__}  (Python {platform.python_version()}, {platform.machine()})")
    for name in ("numpy", "scipy", "numba", "scikit-learn", "threadpoolctl", "torch"):
        print(f"  {name:<14}{_version_of(name) or 'not installed'}")

    import numba
    from threadpoolctl import threadpool_info

    print("Threads:")
    print(f"  CPUs: {os.cpu_count()} (this process may use {len(os.sched_getaffinity(0))})")
    print(
        f"  numba: {numba.get_num_threads()} threads (NUMBA_NUM_THREADS="
        f"{numba.config.NUMBA_NUM_THREADS})"
    )
    for pool in threadpool_info():
        print(
            f"  {pool.get('user_api')}: {pool.get('internal_api')} {pool.get('version')}, "
            f"{pool.get('num_threads')} threads ({os.path.basename(pool.get('filepath') or '')})"
        )
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    env = " ".join(f"{k}={os.environ[k]}" for k in names if k in os.environ)
    print(f"  environment: {env or 'no thread variables set'}")

    from sklearn.datasets import load_digits

    from .hypergraph import Hypergraph

    X = load_digits().data / 16.0
    t0 = time.perf_counter()
    hg = Hypergraph.from_knn(X, n_neighbors=10)
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    hg = Hypergraph.from_knn(X, n_neighbors=10)
    build_s = time.perf_counter() - t0
    deg = np.asarray(hg.vertex_degrees)
    sizes = np.asarray(hg.edge_degrees)
    print(
        f"Digits hypergraph (scikit-learn's 8x8 digits, {X.shape[0]} images, {X.shape[1]} "
        "features; one hyperedge per image = itself and its 10 nearest neighbours):"
    )
    print(f"  {hg.n_vertices} vertices, {hg.n_edges} hyperedges, {hg.incidence.nnz} incidences")
    print(f"  hyperedge sizes: {int(sizes.min())}..{int(sizes.max())}")
    print(
        f"  vertex degrees (number of hyperedges containing the vertex, unit weights): "
        f"min {deg.min():g}, median {np.median(deg):g}, mean {deg.mean():.2f}, "
        f"max {deg.max():g}"
    )
    print(
        f"  build time: {build_s * 1e3:.1f} ms (first call, incl. kernel compile/load: "
        f"{first_s:.2f} s)"
    )
    theta = hg.normalized_adjacency()
    n_eig = 6
    from scipy.sparse.linalg import eigsh

    theta.matmat(np.ones((hg.n_vertices, 1)))  # compile/load the product kernel before timing
    t0 = time.perf_counter()
    v0 = np.random.default_rng(0).standard_normal(hg.n_vertices)  # deterministic start
    w = eigsh(theta, k=n_eig, which="LA", v0=v0, return_eigenvectors=False)[::-1]
    eig_s = time.perf_counter() - t0
    print(
        f"  top {n_eig} eigenvalues of Theta = Dv^-1/2 H W De^-1 H^T Dv^-1/2 (ARPACK eigsh on "
        f"the matrix-free operator, {eig_s:.2f} s):"
    )
    print("    " + "  ".join(f"{v:.6f}" for v in w))
    print(
        "  (the largest is 1 for every connected component; several eigenvalues near 1 mean "
        "well-separated clusters)"
    )
    return 0


# --------------------------------------------------------------------------------------------
# bench
# --------------------------------------------------------------------------------------------
def _cmd_bench(argv):
    try:
        import benchmarks.__main__ as bench_main
    except ImportError:
        # An editable install of a checkout: benchmarks/ sits beside the package.
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if os.path.isfile(os.path.join(root, "benchmarks", "__main__.py")):
            sys.path.insert(0, root)
            try:
                import benchmarks.__main__ as bench_main
            except ImportError as exc:
                print(
                    f"hyperlearn bench: error: cannot import the benchmarks: {exc}", file=sys.stderr
                )
                return 2
        else:
            print(
                "hyperlearn bench: error: the benchmark suites are not installed with the "
                "package; run this from a checkout of the hyperlearn repository "
                "(python -m benchmarks ...)",
                file=sys.stderr,
            )
            return 2
    try:
        return int(bench_main.main(argv) or 0)
    except SystemExit as exc:  # argparse of the benchmarks (e.g. --help)
        return int(exc.code or 0)
