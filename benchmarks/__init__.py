"""Benchmark suites for hyperlearn.

Run ``python -m benchmarks <suite>|all [--sizes ...] [--quick] [--json out.json] [--plot out.png]
[--threads N]`` from the repository root.  Each suite is a module ``benchmarks/<suite>.py`` that
exposes ``SIZES`` (default sizes), ``QUICK_SIZES`` (a run well under a minute) and
``run(sizes, *, quick=False) -> list[Record]``; the harness (timing, thread facts, bandwidth,
records, report) is in :mod:`benchmarks._harness`.
"""

from ._harness import (
    Record,
    SkipBenchmark,
    bench,
    bound,
    copy_bandwidth_gbs,
    load_json,
    measure,
    optional_import,
    report,
    skipped,
    thread_info,
)

__all__ = [
    "Record",
    "SkipBenchmark",
    "bench",
    "bound",
    "copy_bandwidth_gbs",
    "load_json",
    "measure",
    "optional_import",
    "report",
    "skipped",
    "thread_info",
]
