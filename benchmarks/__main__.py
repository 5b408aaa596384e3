"""Command line: ``python -m benchmarks <suite>|all [options]``.

Suites are discovered as the modules of this package (names not starting with ``_``) that
expose ``run``.  Thread settings are applied before a suite runs and recorded in the report:
``--threads N`` limits the BLAS pools through threadpoolctl (default 1: on a small shared
machine multi-threaded BLAS is often slower and always noisier), ``--numba-threads N`` sets
Numba's thread count (default: Numba's own default, all CPUs).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path

from ._harness import report, thread_info


def discover() -> list[str]:
    """Names of the suites: modules of this package with a ``run`` attribute (sorted)."""
    names = []
    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("_") or info.ispkg:
            continue
        # Read, not imported (imports are slow): tools such as mulan_to_npz have no run().
        source = (Path(__file__).parent / f"{info.name}.py").read_text(encoding="utf-8")
        if "\ndef run(" in source:
            names.append(info.name)
    return sorted(names)


def parse_size(text: str):
    """``"50000"`` -> 50000, ``"1e4"`` -> 10000, ``"2000x500"`` -> (2000, 500), else the string."""
    if "x" in text and all(p.strip().isdigit() for p in text.split("x")):
        return tuple(int(p) for p in text.split("x"))
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run hyperlearn benchmark suites (ours and anchors, same process and data).",
    )
    p.add_argument("suite", help=f"suite name or 'all' (found: {', '.join(discover()) or 'none'})")
    p.add_argument("--sizes", nargs="+", default=None, help="sizes (default: the suite's SIZES)")
    p.add_argument("--quick", action="store_true", help="the suite's QUICK_SIZES (< 1 minute)")
    p.add_argument("--json", dest="json_path", default=None, help="write all results as JSON")
    p.add_argument("--plot", dest="plot_path", default=None, help="write a plot (needs matplotlib)")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (threadpoolctl), default 1")
    p.add_argument("--numba-threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--baseline", default=None, help="show ratios to this implementation only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    available = discover()
    if args.threads < 1:
        print(f"--threads must be >= 1, got {args.threads}", file=sys.stderr)
        return 2
    if args.suite == "all":
        names = available
    elif args.suite in available:
        names = [args.suite]
    else:
        print(
            f"unknown suite {args.suite!r}; expected 'all' or one of {available}",
            file=sys.stderr,
        )
        return 2

    # NumPy and SciPy each bundle an OpenBLAS, and SciPy loads its copy lazily; load both now so
    # that the limits below reach them whatever a suite imports late.
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits

    if args.numba_threads is not None:
        import numba

        if not 1 <= args.numba_threads <= numba.config.NUMBA_NUM_THREADS:
            print(
                f"--numba-threads must be in [1, {numba.config.NUMBA_NUM_THREADS}], "
                f"got {args.numba_threads}",
                file=sys.stderr,
            )
            return 2
        numba.set_num_threads(args.numba_threads)

    sizes = [parse_size(s) for s in args.sizes] if args.sizes else None
    records, failures, suite_threads = [], [], {}
    for name in names:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except Exception:  # one broken suite must not hide the others
            failures.append((name, traceback.format_exc()))
            continue
        if not callable(getattr(module, "run", None)):
            continue
        run_sizes = sizes
        if run_sizes is None:
            run_sizes = getattr(module, "QUICK_SIZES" if args.quick else "SIZES", None)
        # Limits are applied after the suite's imports so that pools its imports loaded are
        # limited too (threadpoolctl only sees libraries already loaded).
        t0 = time.perf_counter()
        try:
            with threadpool_limits(limits=args.threads, user_api="blas"):
                suite_threads[name] = thread_info()
                records.extend(module.run(run_sizes, quick=args.quick))
        except Exception:
            failures.append((name, traceback.format_exc()))
            continue
        print(f"# suite {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)

    meta = {
        "argv": sys.argv[1:] if argv is None else list(argv),
        "suites": names,
        "blas_threads_requested": args.threads,
        "numba_threads_requested": args.numba_threads,
        "thread_info_per_suite": suite_threads,
        "failures": {n: tb for n, tb in failures},
    }
    with threadpool_limits(limits=args.threads, user_api="blas"):
        report(
            records,
            baseline_impl=args.baseline,
            json_path=args.json_path,
            plot_path=args.plot_path,
            meta=meta,
        )
    for name, tb in failures:
        print(f"\n# suite {name} FAILED:\n{tb}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
