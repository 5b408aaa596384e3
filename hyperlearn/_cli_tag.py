"""The ``hyperlearn tag`` command: load the data, compare the methods, print, write outputs.

The fits, metrics and table rows come from :mod:`hyperlearn.tagging._compare`; this module turns
options into data and settings, user errors into one-line :class:`CLIError` messages, and
results into text, JSON and a plot.  Like :mod:`hyperlearn.cli` it imports only the standard
library at start-up.
"""

from __future__ import annotations

import os
import time

__all__ = ["CLIError", "cmd_tag"]

#: ``--alpha auto``: fraction of the tagged images whose observed tags are hidden to choose
#: alpha (and, with ``--compare``, kNN voting's k); the estimator's default (a test holds it).
VALIDATION_FRACTION = 0.2
#: Default number of shapes images of ``hyperlearn tag`` (``make demo``).
DEFAULT_SHAPES_IMAGES = 3000
#: Tags predicted per image unless ``--k`` is given (fewer when the data have fewer tags).
DEFAULT_K = 5
#: Untagged images listed by name when no ground truth is available.
SHOW_UNTAGGED = 10


class CLIError(Exception):
    """A user error reported as one line on stderr with exit code 2."""


def _load_generated(args, noise):
    """The shapes or digits data with the noise options; ``description`` set."""
    from .datasets import load_digits_tags, make_tagged_shapes

    kwargs = {
        "tag_noise": noise,
        "random_state": args.random_state,
        "untagged_fraction": args.untagged_fraction,
    }
    if args.dataset == "shapes":
        n = args.n_images or DEFAULT_SHAPES_IMAGES
        data = make_tagged_shapes(n, **kwargs)
        data.description = (
            f"shapes: {n} generated 32x32 RGB images of coloured shapes on plain, striped or "
            f"cluttered backgrounds; {data.features.shape[1]} features per image (colour "
            "histogram, gradient-orientation histograms, thumbnail)"
        )
        return data
    try:
        data = load_digits_tags(args.n_images, **kwargs)
    except ValueError as exc:
        raise CLIError(f"--n-images: {exc}") from None
    data.description = (
        f"digits: {data.features.shape[0]} of scikit-learn's bundled 8x8 hand-written "
        "digits, 64 pixel features; tags = the digit and attributes derived from it "
        "(even, prime, has_loop, ...)"
    )
    return data


def _read_npz(name):
    """``load_tags_npz(name)`` with every failure turned into a one-line :class:`CLIError`."""
    import zipfile

    from .datasets import load_tags_npz

    if not name.endswith(".npz") and not os.path.exists(name):
        raise CLIError(
            f"--dataset must be 'shapes', 'digits' or an existing .npz file; got {name!r}"
        )
    if os.path.isfile(name) and not zipfile.is_zipfile(name):
        # np.load would return a plain array (.npy) or complain about pickles (text)
        raise CLIError(
            f"--dataset {name!r} is not an .npz archive (write one with numpy.savez(path, "
            "X=..., Y=...))"
        )
    try:
        return load_tags_npz(name)
    except FileNotFoundError:
        raise CLIError(f"--dataset: no such file: {name!r}") from None
    except (ValueError, OSError) as exc:
        raise CLIError(f"--dataset {name!r}: {exc}") from None


def _load_npz(args):
    """A user's ``.npz`` (the first ``--n-images`` rows); ``description`` set."""
    name = args.dataset
    data = _read_npz(name)
    m = args.n_images
    if m is not None:
        if m > data.features.shape[0]:
            raise CLIError(f"--n-images {m} exceeds the {data.features.shape[0]} rows of {name!r}")
        data.features = data.features[:m]
        data.tags_observed = data.tags_observed[:m]
        data.untagged = data.untagged[:m]
        if data.tags_true is not None:
            data.tags_true = data.tags_true[:m]
    data.description = (
        f"{os.path.basename(name)}: {data.features.shape[0]} images, "
        f"{data.features.shape[1]} features per image (your data)"
    )
    return data


def _load_dataset(args):
    """Bunch with features, tags_observed, tags_true (or None), untagged, tag_names, noise and
    description; the options checked against the data."""
    import numpy as np

    if args.dataset in ("shapes", "digits"):
        noise = (args.missing_rate, args.spurious_rate)
        data = _load_generated(args, noise)
    else:
        noise = None
        data = _load_npz(args)
    n, _ = data.tags_observed.shape
    if not data.tags_observed.any():
        raise CLIError("the observed tags Y contain no tag at all: nothing to propagate")
    if data.untagged.all():
        raise CLIError("every image is untagged: at least one image needs an observed tag")
    if args.n_neighbors >= n:
        raise CLIError(f"--n-neighbors must be < the number of images {n}; got {args.n_neighbors}")
    data.noise = noise
    data.features = np.ascontiguousarray(data.features)
    return data


def _tags_per_image(args, n_tags):
    """``(k, note)``: ``--k`` if given (at most ``n_tags``), else ``min(DEFAULT_K, n_tags)``.

    ``note`` says so when the default was lowered to the number of tags, else it is None.
    """
    if args.k is not None:
        if args.k > n_tags:
            raise CLIError(f"--k must be <= the number of tags {n_tags}; got {args.k}")
        return args.k, None
    if n_tags < DEFAULT_K:
        return n_tags, (
            f"  k = {n_tags} tags predicted per image: the default {DEFAULT_K} lowered to the "
            f"number of tags (set --k to choose)."
        )
    return DEFAULT_K, None


def _data_summary(data, args):
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


def _settings(args):
    from .tagging._compare import CompareSettings

    return CompareSettings(
        validation_fraction=VALIDATION_FRACTION,
        n_neighbors=args.n_neighbors,
        alpha=args.alpha,
        max_iter=args.max_iter,
        random_state=args.random_state,
        n_jobs=args.n_jobs,
        verbose=not args.quiet,
    )


def _run_methods(data, args):
    """Warm up, then fit every method: ``(results, notes, warm-up seconds)``."""
    from ._warmup import warm_up
    from .tagging._compare import fit_baselines, fit_solver, methods_to_run, warm_up_fits

    X, Y = data.features, data.tags_observed
    settings = _settings(args)
    solvers, notes = methods_to_run(X.shape[0], compare=args.compare, solver=args.solver)
    # compile (or load from Numba's cache) every kernel first, so that the times below measure
    # the methods, not the compiler; block_cg's lockstep kernels run only on larger systems
    t0 = time.perf_counter()
    warm_up_fits(X, Y, data.untagged, solvers, settings, baselines=args.compare)
    warm_up()
    warmup_s = time.perf_counter() - t0
    results = [fit_solver(X, Y, solver, settings) for solver in solvers]
    if args.compare:
        results += fit_baselines(X, Y, settings)
    return results, notes, warmup_s


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


def _selection_lines(results):
    """With ``--alpha auto``: the held-out scores of each alpha (and of each k of kNN voting)."""
    from .tagging._compare import KNN_DEFAULT_K
    from .tagging._selection import DEFAULT_ALPHA, VALIDATION_K

    # every solver validates the same alphas on the same images: one line per distinct grid
    grids = {}
    for r in results:
        if r["kind"] == "solver":
            grids.setdefault(_scores_text(r["alpha_scores"]), []).append(r["method"])
    lines = [
        f"  alpha chosen on the observed tags only: those of {VALIDATION_FRACTION:.0%} of the "
        f"tagged images hidden, F1@{VALIDATION_K} of their scores against them; the best "
        f"replaces the default {DEFAULT_ALPHA:g} only if its per-image gain exceeds one "
        "standard error:"
    ]
    lines += [f"    {'/'.join(methods)}: {text}" for text, methods in grids.items()]
    for r in results:
        if r["method"] == "knn_voting" and r.get("k_scores") is not None:
            lines.append(
                f"  kNN voting k chosen the same way (same hidden images, default "
                f"{KNN_DEFAULT_K}): k = {r['n_neighbors']} ({_scores_text(r['k_scores'])})"
            )
    return lines


def _method_lines(results, args, n_threads):
    """Header lines naming the method and, with ``--alpha auto``, the chosen alpha (and k)."""
    alphas = sorted({r["alpha"] for r in results if r["kind"] == "solver"})
    alpha_text = "/".join(f"{a:g}" for a in alphas)
    if args.alpha == "auto":
        alpha_text = f"auto -> {alpha_text}"
    solvers = [r for r in results if r["kind"] == "solver"]
    mus = {r["mu"] for r in solvers}
    weights = "fixed weights (mu = inf)" if mus == {float("inf")} else "adaptive weights"
    priors = "/".join(sorted({f"{r['feature_prior']:g}" for r in solvers}))
    fractions = "/".join(sorted({f"{r['frequency_correction']:g}" for r in solvers}))
    lines = [
        f"Method: HypergraphTagger (kNN hyperedges k = {args.n_neighbors} + one hyperedge per "
        f"tag, alpha = {alpha_text}, at most {args.max_iter} alternations, {weights}, "
        f"linear-feature prior weight {priors}, tag-frequency correction {fractions}); "
        f"{n_threads} thread(s)."
    ]
    if args.alpha == "auto":
        lines += _selection_lines(results)
    return lines


def _report_lines(results, data, args, k, n_threads, warmup_s):
    """Everything printed above the table: method, warm-up time, column legend, baselines."""
    has_truth = data.tags_true is not None
    lines = _method_lines(results, args, n_threads)
    lines.append(f"Kernels compiled/loaded in a warm-up fit on a small subset: {warmup_s:.1f} s.")
    lines.append("")
    lines += _legend(k, has_truth, bool(data.untagged.any()), selection=args.alpha == "auto")
    if args.compare:
        from .tagging._compare import BASELINES

        lines += [f"  baseline {name}: {text}" for name, text in BASELINES.items()]
    lines.append("")
    return lines


def _untagged_lines(results, data, k):
    """Without ground truth: the tags produced for the first untagged images."""
    from .tagging._compare import top_tags

    main_result = results[0]
    idx = [int(i) for i in data.untagged.nonzero()[0]]
    tags = top_tags(main_result["scores"][idx], data.tag_names, k)
    lines = [
        "",
        f"Tags produced by {main_result['method']} for untagged images (first "
        f"{min(SHOW_UNTAGGED, len(idx))} of {len(idx)}):",
    ]
    for i, t in list(zip(idx, tags, strict=True))[:SHOW_UNTAGGED]:
        lines.append(f"  image {i}: {', '.join(t)}")
    return lines


def _json_payload(results, data, args, k, run):
    """The ``--json`` document: data, parameters, times, every method's results and tags."""
    from . import __version__
    from .tagging._compare import top_tags

    n, T = data.tags_observed.shape
    untagged_idx = [int(i) for i in data.untagged.nonzero()[0]]
    keys = ("method", "kind", "time_s", "alternations", "solver_iterations", "metrics")
    optional = ("alpha", "alpha_scores", "n_neighbors", "k_scores")
    untagged_tags = top_tags(results[0]["scores"][untagged_idx], data.tag_names, k)
    return {
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
            "threads": run["threads"],
        },
        "warmup_s": run["warmup_s"],
        "total_s": run["total_s"],
        "notes": run["notes"],
        "results": [
            {key: r[key] for key in keys}
            | {key: r[key] for key in optional if r.get(key) is not None}
            | ({"objective": r["objective"]} if "objective" in r else {})
            for r in results
        ],
        "tag_names": list(data.tag_names),
        "untagged_tags": {str(i): t for i, t in zip(untagged_idx, untagged_tags, strict=True)},
    }


def _write_outputs(results, data, args, k, run, say):
    """``--plot`` and ``--json``."""
    if args.plot_path is not None:
        if data.tags_true is None:
            raise CLIError("--plot needs ground truth (Y_true) to compute F1")
        n, T = data.tags_observed.shape
        title = f"hyperlearn tag on {os.path.basename(args.dataset)}: {n} images, {T} tags"
        _write_plot(args.plot_path, results, k, title)
        say(f"Plot written to {args.plot_path}")
    if args.json_path is not None:
        _write_json(args.json_path, _json_payload(results, data, args, k, run))
        say(f"JSON written to {args.json_path}")


def cmd_tag(args):
    """Run ``hyperlearn tag`` with parsed ``args``; returns the exit status (0).

    Raises
    ------
    CLIError
        A user error (bad data file, options that do not fit the data, unwritable output).
    """
    from .tagging._compare import evaluate, table_rows
    from .utils import thread_limits

    for path, option in ((args.json_path, "--json"), (args.plot_path, "--plot")):
        if path is not None:
            _check_writable(path, option)
    start = time.perf_counter()
    say = (lambda *a: None) if args.quiet else print
    data = _load_dataset(args)
    k, k_note = _tags_per_image(args, data.tags_observed.shape[1])
    has_truth = data.tags_true is not None
    has_untagged = bool(data.untagged.any())
    for text in _data_summary(data, args):
        say(text)
    if k_note is not None:
        say(k_note)
    with thread_limits(args.n_jobs) as n_threads:
        try:
            results, notes, warmup_s = _run_methods(data, args)
        except ValueError as exc:  # the estimator's input validation (e.g. a user's npz)
            raise CLIError(str(exc)) from None
    evaluate(results, data.tags_true, data.untagged, k)
    for text in _report_lines(results, data, args, k, n_threads, warmup_s):
        say(text)
    for text in table_rows(results, k, has_truth, has_untagged):
        print(text)
    for note in notes:
        say(f"note: {note}")
    if not has_truth and has_untagged:
        for text in _untagged_lines(results, data, k):
            say(text)
    total = time.perf_counter() - start
    say(f"\nTotal wall time: {total:.1f} s.")
    run = {"threads": n_threads, "warmup_s": warmup_s, "total_s": total, "notes": notes}
    _write_outputs(results, data, args, k, run, say)
    return 0
