"""Command line: ``hyperlearn tag | info | bench`` (also ``python -m hyperlearn ...``).

* ``hyperlearn tag`` — the main job: tag images by adaptive hypergraph learning on the embedded
  shapes data, scikit-learn's digits, or a user's own ``.npz`` (features ``X``, observed tags
  ``Y``), and report F1@k, P@k and MAP per solver (``--compare``: every solver and two baselines).
* ``hyperlearn info`` — versions, thread settings, and a kNN hypergraph on the digits with its
  size, degrees, build time and the top eigenvalues of Θ through the matrix-free operator.
* ``hyperlearn bench ...`` — the benchmark suites (``python -m benchmarks``), run as a
  subprocess from a checkout of the repository (see :func:`find_checkout`).

Only :mod:`argparse` and the standard library are imported at start-up, so ``hyperlearn --help``
is instant; NumPy, SciPy, Numba and the estimator are imported inside the commands.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from ._cli_tag import DEFAULT_K, DEFAULT_SHAPES_IMAGES, VALIDATION_FRACTION, CLIError

__all__ = ["build_parser", "main"]

#: Values of ``--solver``: the tagger's solvers and "auto" (kept here so that the parser imports
#: nothing heavy; a test holds them equal to the tagger's).
SOLVERS = ("block_cg", "cg", "tessellated", "exact", "auto")


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


def _add_data_options(tag):
    """``hyperlearn tag`` options that choose and generate the data."""
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
    for option, default, text in (
        ("--missing-rate", 0.3, "probability that a true tag is missing from the observed tags"),
        ("--spurious-rate", 0.05, "probability that an absent tag is added to the observed tags"),
        ("--untagged-fraction", 0.2, "fraction of images stripped of every observed tag"),
    ):
        tag.add_argument(option, type=_rate, default=default, help=f"shapes/digits: {text}")
    tag.add_argument("--random-state", type=int, default=0, help="seed of data and solvers")


def _add_method_options(tag):
    """``hyperlearn tag`` options of the tagger and of the comparison."""
    tag.add_argument("--solver", choices=SOLVERS, default="block_cg", help="f-step solver")
    tag.add_argument(
        "--compare",
        action="store_true",
        help="run every solver (block_cg, cg, tessellated, exact) and two baselines (kNN tag "
        "voting, user tags as given)",
    )
    tag.add_argument(
        "--k",
        type=_positive_int,
        default=None,
        help=f"tags predicted per image; None = min({DEFAULT_K}, number of tags)",
    )
    tag.add_argument("--n-neighbors", type=_positive_int, default=20, help="kNN hyperedge size")
    tag.add_argument(
        "--alpha",
        type=_alpha,
        default="auto",
        metavar="{auto,FLOAT}",
        help="propagation weight in (0, 1), or 'auto': chosen from the observed tags by hiding "
        f"those of {VALIDATION_FRACTION * 100:g}%% of the tagged images (with --compare, kNN "
        "voting then chooses its k the same way)",
    )
    tag.add_argument("--max-iter", type=_positive_int, default=10, help="max alternations")
    tag.add_argument(
        "--n-jobs", type=_n_jobs, default=None, help="threads (Numba and BLAS); -1 = all CPUs"
    )


def _add_output_options(tag):
    """``hyperlearn tag`` options of what is written and printed."""
    tag.add_argument("--json", dest="json_path", default=None, help="write the results as JSON")
    tag.add_argument("--plot", dest="plot_path", default=None, help="PNG: F1@k vs time")
    tag.add_argument("--quiet", action="store_true", help="print only the table")


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
    _add_data_options(tag)
    _add_method_options(tag)
    _add_output_options(tag)
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
        help="run the benchmark suites of a repository checkout (python -m benchmarks)",
        description="Run the benchmark suites; see hyperlearn bench --help.",
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
            from ._cli_tag import cmd_tag

            return cmd_tag(args)
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
# info
# --------------------------------------------------------------------------------------------
def _version_of(distribution):
    # Installed metadata, not an import: importing torch alone takes seconds.
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _print_versions():
    import platform

    from . import __version__

    print(f"hyperlearn {__version__}  (Python {platform.python_version()}, {platform.machine()})")
    for name in ("numpy", "scipy", "numba", "scikit-learn", "threadpoolctl", "torch"):
        print(f"  {name:<14}{_version_of(name) or 'not installed'}")


def _print_threads():
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


def _print_top_eigenvalues(hg, n_eig=6):
    import numpy as np
    from scipy.sparse.linalg import eigsh

    theta = hg.normalized_adjacency()
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


def _print_digits_hypergraph():
    import numpy as np
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
    _print_top_eigenvalues(hg)


def _cmd_info():
    _print_versions()
    _print_threads()
    _print_digits_hypergraph()
    return 0


# --------------------------------------------------------------------------------------------
# bench
# --------------------------------------------------------------------------------------------
#: Environment variable naming a checkout of the hyperlearn repository (holds ``benchmarks/``).
SOURCE_ENV = "HYPERLEARN_SOURCE"

#: Run ``python -m benchmarks`` from ``root`` against the *installed* hyperlearn: the current
#: directory is taken off ``sys.path`` and hyperlearn imported before the checkout is appended
#: to the path, so only what the installation lacks (``benchmarks``) comes from the checkout.
_BENCH_RUNNER = """\
import os, runpy, sys
root = sys.argv[1]
sys.path[:] = [p for p in sys.path if p not in ("", os.getcwd())]
import hyperlearn
sys.path.append(root)
sys.argv = ["python -m benchmarks", *sys.argv[2:]]
runpy.run_module("benchmarks", run_name="__main__", alter_sys=True)
"""

_BENCH_HELP = f"""\
usage: hyperlearn bench SUITE|all [options]

Run the benchmark suites of the hyperlearn repository (ours and the anchors on the same data
in one process; every time has an accuracy figure beside it).  The suites are not installed
with the package: they run from a checkout of the repository, found as

  1. the directory named by the environment variable {SOURCE_ENV}, else
  2. the current directory or the nearest of its parents that holds benchmarks/__main__.py.

The installed hyperlearn is the one measured.  Options are those of python -m benchmarks:
  --quick, --sizes S [S ...], --json PATH, --plot PATH, --threads N (BLAS, default 1),
  --numba-threads N, --baseline IMPL.
Example: hyperlearn bench tagging --quick --json tagging.json
"""


def find_checkout(start=None, environ=None):
    """The root of a hyperlearn checkout (a directory holding ``benchmarks/__main__.py``), or None.

    ``environ[SOURCE_ENV]`` wins if set (and is None if it holds no suites); otherwise ``start``
    (default: the current directory) and its parents are searched, nearest first.
    """
    from pathlib import Path

    environ = os.environ if environ is None else environ

    def holds_suites(path):
        return (path / "benchmarks" / "__main__.py").is_file()

    if environ.get(SOURCE_ENV):
        root = Path(environ[SOURCE_ENV]).expanduser().resolve()
        return root if holds_suites(root) else None
    here = Path.cwd() if start is None else Path(start)
    here = here.resolve()
    return next((p for p in (here, *here.parents) if holds_suites(p)), None)


def _no_checkout_message():
    if os.environ.get(SOURCE_ENV):
        return (
            f"{SOURCE_ENV}={os.environ[SOURCE_ENV]!r} holds no benchmarks/__main__.py: point "
            "it at a checkout of the hyperlearn repository"
        )
    return (
        "no checkout of the hyperlearn repository (benchmarks/__main__.py) in the current "
        f"directory or its parents; run from a checkout or set {SOURCE_ENV}=/path/to/checkout"
    )


def _run_benchmarks(root, argv):
    import subprocess

    sys.stdout.flush()  # what was printed comes before the suites' output
    try:
        return subprocess.run([sys.executable, "-c", _BENCH_RUNNER, str(root), *argv]).returncode
    except KeyboardInterrupt:
        return 130


def _cmd_bench(argv):
    """``hyperlearn bench``: ``python -m benchmarks`` run as a subprocess from a checkout."""
    root = find_checkout()
    if not argv or argv[0] in ("-h", "--help"):
        print(_BENCH_HELP)
        if root is None:
            print(f"Suites: none found ({_no_checkout_message()}).")
            return 0
        print(f"Suites from {root}:")
        return _run_benchmarks(root, ["--help"])
    if root is None:
        print(f"hyperlearn bench: error: {_no_checkout_message()}", file=sys.stderr)
        return 2
    return _run_benchmarks(root, argv)
