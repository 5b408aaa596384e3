"""Benchmark harness: timing, machine/thread facts, records and the report.

Every suite runs our implementation and its anchors in the same process on the same data, and
reports a time with an accuracy figure beside it.  Absolute seconds on a shared machine are noisy;
the ratios between implementations measured in one run are what the report is about.

Public names (the contract other suites are written against):

- :func:`measure` -- median and minimum wall-clock time of a callable (warm-up calls excluded, so
  Numba compilation is never timed), optionally the peak memory of one extra call.
- :func:`thread_info` -- BLAS library/version/threads (threadpoolctl), Numba threads and threading
  layer, the OpenMP/BLAS environment variables and the CPU count.
- :func:`copy_bandwidth_gbs` -- memory bandwidth measured now by a large NumPy copy.
- :class:`Record` -- one measured (or skipped, or modelled) implementation of one case.
- :func:`report` -- a readable table per case with ratios to every other implementation of the
  same case, plus optional JSON (with machine info, thread settings, versions, timestamp) and plot.

Helpers for suites: :func:`bench` (measure + accuracy + skip handling in one call),
:class:`SkipBenchmark`, :func:`skipped`, :func:`bound`, :func:`optional_import`, :func:`load_json`.
"""

from __future__ import annotations

import datetime as _dt
import gc
import importlib
import json
import math
import os
import platform
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "Record",
    "SkipBenchmark",
    "bench",
    "bound",
    "copy_bandwidth_gbs",
    "load_json",
    "machine_info",
    "measure",
    "optional_import",
    "report",
    "skipped",
    "thread_info",
    "versions",
]

# Environment variables that decide how many threads native libraries start.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
    "NUMBA_THREADING_LAYER",
)

# When ``number=None`` each repeat loops the callable until it has run at least this long, so
# that sub-millisecond calls are not dominated by timer resolution and scheduling jitter.
AUTO_REPEAT_MIN_SECONDS = 0.05

# RSS sampling period of ``memory="rss"``; allocations that live shorter than this can be missed.
RSS_SAMPLE_SECONDS = 0.002

# Packages whose versions go into the JSON when installed (anchors included).
VERSIONED_PACKAGES = (
    "numpy",
    "scipy",
    "sklearn",
    "numba",
    "threadpoolctl",
    "networkx",
    "matplotlib",
    "dask",
    "torch",
    "pyamg",
    "xgi",
    "hypernetx",
    "hyperlearn",
)
# import name -> distribution name, where they differ
DISTRIBUTION_NAMES = {"sklearn": "scikit-learn"}


class SkipBenchmark(Exception):  # noqa: N818 - reads better at the raise site than SkipBenchmarkError
    """Raised by a suite when an implementation cannot run a case (optional package missing,
    predicted memory over budget, ...).  :func:`bench` turns it into a skipped :class:`Record`."""


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------
def measure(
    fn: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    number: int | None = 1,
    memory: str | None = None,
) -> dict:
    """Time ``fn()``: median and minimum of ``repeats`` wall-clock measurements.

    Parameters
    ----------
    fn : callable
        Called without arguments.  Its return value of the last call is returned under
        ``"result"`` so the caller can compute an accuracy figure from exactly what was timed.
    repeats : int, default=5
        Number of timed repeats (>= 1).
    warmup : int, default=1
        Untimed calls made first (>= 0).  They absorb one-off costs -- Numba compilation or
        cache loading, page faults on first touch, BLAS thread start-up -- which a benchmark of
        steady-state speed must exclude.
    number : int or None, default=1
        Calls per repeat; the reported time is per call.  ``None`` picks the smallest power of
        two such that one repeat lasts at least ``AUTO_REPEAT_MIN_SECONDS``.
    memory : {None, "tracemalloc", "rss"}, default=None
        Peak-memory measurement made in ONE extra, untimed call (so it never perturbs the
        timings):

        - ``"tracemalloc"``: peak bytes traced by :mod:`tracemalloc` during the call.  NumPy
          registers its data buffers with tracemalloc, so this counts NumPy/SciPy array
          allocations (and Python objects) exactly; memory allocated inside Numba-compiled code
          (``np.empty`` in ``@njit``) or by BLAS/C++ code that bypasses NumPy is NOT counted.
        - ``"rss"``: peak resident-set size, sampled every ``RSS_SAMPLE_SECONDS`` by a thread,
          minus the RSS before the call.  Counts every allocation of the process but is
          approximate: short-lived peaks can be missed, and memory the allocator keeps from
          earlier calls is reused without raising RSS.  Needs :mod:`psutil`.

    Returns
    -------
    dict
        ``median_s``, ``min_s``, ``max_s``, ``times_s`` (list, per call), ``cpu_median_s``
        (median process CPU time per call, all threads summed: on a loaded machine this is
        the robust figure for single-threaded code, whose wall time includes waiting for a
        core), ``repeats``,
        ``warmup``, ``number``, ``peak_bytes`` (int or None), ``memory_method`` and ``result``
        (the last return value of ``fn``; not JSON-serialised by :func:`report`).

    Raises
    ------
    ValueError
        If ``repeats < 1``, ``warmup < 0``, ``number < 1`` or ``memory`` is unknown.

    Examples
    --------
    >>> m = measure(lambda: sum(range(1000)), repeats=3, warmup=1)
    >>> m["result"], m["repeats"], m["min_s"] <= m["median_s"]
    (499500, 3, True)
    """
    if not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if not isinstance(warmup, int | np.integer) or warmup < 0:
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
    if number is not None and (not isinstance(number, int | np.integer) or number < 1):
        raise ValueError(f"number must be None or an integer >= 1, got {number!r}")
    if memory not in (None, "tracemalloc", "rss"):
        raise ValueError(f"memory must be None, 'tracemalloc' or 'rss', got {memory!r}")

    result = None
    for _ in range(warmup):
        result = fn()

    if number is None:
        number = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(number):
                result = fn()
            if time.perf_counter() - t0 >= AUTO_REPEAT_MIN_SECONDS or number >= 2**20:
                break
            number *= 2

    times = []
    # One collection before, none during: a collection triggered inside the timed region would
    # be charged to fn (and a full collection per repeat costs 0.1-0.5 s with large heaps).
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    cpu_times = []
    try:
        for _ in range(repeats):
            c0 = time.process_time()
            t0 = time.perf_counter()
            for _ in range(number):
                result = fn()
            times.append((time.perf_counter() - t0) / number)
            cpu_times.append((time.process_time() - c0) / number)
    finally:
        if gc_was_enabled:
            gc.enable()

    peak = None
    if memory == "tracemalloc":
        peak, result = _peak_tracemalloc(fn)
    elif memory == "rss":
        peak, result = _peak_rss(fn)

    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "times_s": times,
        "cpu_median_s": statistics.median(cpu_times),
        "repeats": int(repeats),
        "warmup": int(warmup),
        "number": int(number),
        "peak_bytes": peak,
        "memory_method": memory,
        "result": result,
    }


def _peak_tracemalloc(fn):
    gc.collect()
    already = tracemalloc.is_tracing()
    if not already:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already:
            tracemalloc.stop()
    return int(peak - base), result


def _peak_rss(fn):
    import psutil  # optional: only this mode needs it

    proc = psutil.Process()
    gc.collect()
    base = proc.memory_info().rss
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            stop.wait(RSS_SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        stop.set()
        sampler.join()
    peak[0] = max(peak[0], proc.memory_info().rss)
    return int(peak[0] - base), result


# (nbytes, repeats) -> GB/s measured in this process
_BANDWIDTH_CACHE: dict[tuple[int, int], float] = {}


def copy_bandwidth_gbs(nbytes: int = 2**28, repeats: int = 5) -> float:
    """Memory bandwidth in GB/s (1e9 bytes/s) measured now with a large NumPy copy.

    ``np.copyto(dst, src)`` on two float64 arrays of ``nbytes`` each, far larger than any cache;
    the traffic counted is ``2 * nbytes`` (one read stream + one write stream, as in STREAM
    "Copy"; the write-allocate read of ``dst`` is not counted).  The median over ``repeats``
    timed copies after one warm-up copy (which also faults the pages in).  The result is cached
    per process and argument pair, so every suite of one run divides by the same figure, and
    :func:`report` prints (and stores in JSON) what was measured.

    A single NumPy copy runs on one thread; on a machine where one core cannot saturate the
    memory bus, a multi-threaded kernel can beat this "floor".  Report it as measured.

    Parameters
    ----------
    nbytes : int, default=2**28 (256 MiB)
        Size of each array.
    repeats : int, default=5

    Returns
    -------
    float
    """
    if nbytes < 8 or repeats < 1:
        raise ValueError(
            f"nbytes must be >= 8 and repeats >= 1, got nbytes={nbytes!r}, repeats={repeats!r}"
        )
    key = (int(nbytes), int(repeats))
    if key not in _BANDWIDTH_CACHE:
        n = key[0] // 8
        src = np.ones(n)
        dst = np.empty_like(src)
        m = measure(lambda: np.copyto(dst, src), repeats=key[1], warmup=1)
        del src, dst
        _BANDWIDTH_CACHE[key] = 2 * n * 8 / m["median_s"] / 1e9
    return _BANDWIDTH_CACHE[key]


# --------------------------------------------------------------------------------------------
# machine facts
# --------------------------------------------------------------------------------------------
def thread_info() -> dict:
    """Thread settings in force now.

    Returns
    -------
    dict
        ``threadpools``: one entry per native pool found by threadpoolctl (``user_api``,
        ``internal_api``, ``version``, ``num_threads``, ``threading_layer``, library file name);
        ``blas_threads``: the BLAS pools' thread counts; ``numba_threads`` and
        ``numba_threading_layer`` (``None`` when the layer is not yet chosen);
        ``env``: the thread environment variables that are set; ``cpu_count`` and
        ``affinity_cpus`` (CPUs this process may run on).
    """
    info: dict[str, Any] = {}
    try:
        from threadpoolctl import threadpool_info

        pools = [
            {
                "user_api": p.get("user_api"),
                "internal_api": p.get("internal_api"),
                "version": p.get("version"),
                "num_threads": p.get("num_threads"),
                "threading_layer": p.get("threading_layer"),
                "library": os.path.basename(p.get("filepath") or ""),
            }
            for p in threadpool_info()
        ]
    except ImportError:  # pragma: no cover - threadpoolctl is a core dependency
        pools = []
    info["threadpools"] = pools
    info["blas_threads"] = [p["num_threads"] for p in pools if p["user_api"] == "blas"]
    try:
        import numba

        info["numba_threads"] = int(numba.get_num_threads())
        try:
            info["numba_threading_layer"] = numba.threading_layer()
        except ValueError:  # raised until a parallel kernel has run
            info["numba_threading_layer"] = None
    except ImportError:  # pragma: no cover
        info["numba_threads"] = None
        info["numba_threading_layer"] = None
    info["env"] = {k: os.environ[k] for k in THREAD_ENV_VARS if k in os.environ}
    info["cpu_count"] = os.cpu_count()
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        info["affinity_cpus"] = None
    return info


def machine_info() -> dict:
    """Platform, processor, Python and total memory (no host name, no paths)."""
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:  # pragma: no cover - not on Linux
        pass
    try:
        import psutil

        info["memory_total_bytes"] = int(psutil.virtual_memory().total)
    except ImportError:  # pragma: no cover
        pass
    return info


def versions() -> dict:
    """Versions of the packages in ``VERSIONED_PACKAGES`` that are installed (``None`` if not).

    Read from the installed distributions' metadata: nothing is imported (importing torch or
    dask just to print a version would cost seconds)."""
    from importlib import metadata

    out = {}
    for name in VERSIONED_PACKAGES:
        dist = DISTRIBUTION_NAMES.get(name, name)
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def optional_import(name: str):
    """Import an optional anchor package; ``None`` when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------
class Record(dict):
    """One implementation on one case: a plain ``dict`` (JSON-ready) with attribute access.

    Keys: ``suite``, ``case``, ``params`` (dict), ``impl``, ``time_s`` (median seconds, or
    ``None`` when skipped), ``accuracy`` (dict of named figures), ``extra`` (dict: min time,
    peak memory, iterations, notes, ...), ``status`` and ``note``.

    ``status`` is ``"ok"`` (measured), ``"skipped"`` (could not run; ``note`` says why) or
    ``"bound"`` (a modelled lower bound such as a memory-traffic floor, not a measurement; it
    is shown in the table so that ratios to it appear beside the measured rows).

    Examples
    --------
    >>> r = Record("demo", "n=10", {"n": 10}, "ours", 0.5, accuracy={"rel_err": 1e-16})
    >>> r.impl, r["time_s"], r.status
    ('ours', 0.5, 'ok')
    """

    STATUSES = ("ok", "skipped", "bound")

    def __init__(
        self,
        suite: str,
        case: str,
        params: Mapping | None = None,
        impl: str | None = None,
        time_s: float | None = None,
        accuracy: Mapping | None = None,
        extra: Mapping | None = None,
        *,
        status: str = "ok",
        note: str = "",
    ):
        if not impl:
            raise ValueError(f"impl must be a non-empty string got {impl!r}")
        if status not in self.STATUSES:
            raise ValueError(f"status must be one of {self.STATUSES}, got {status!r}")
        if status != "skipped":
            if time_s is None or not (float(time_s) >= 0 and math.isfinite(float(time_s))):
                raise ValueError(
                    f"time_s must be a finite number >= 0 for status {status!r}, got {time_s!r}"
                )
        super().__init__(
            suite=str(suite),
            case=str(case),
            params=dict(params or {}),
            impl=str(impl),
            time_s=None if time_s is None else float(time_s),
            accuracy=dict(accuracy or {}),
            extra=dict(extra or {}),
            status=status,
            note=str(note),
        )

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_dict(cls, d: Mapping) -> Record:
        """Rebuild a record from its JSON form."""
        return cls(
            d["suite"],
            d["case"],
            d.get("params"),
            d["impl"],
            d.get("time_s"),
            d.get("accuracy"),
            d.get("extra"),
            status=d.get("status", "ok"),
            note=d.get("note", ""),
        )


def skipped(suite: str, case: str, impl: str, reason: str, params: Mapping | None = None) -> Record:
    """A record for an implementation that could not run (missing package, over budget, ...)."""
    return Record(suite, case, params, impl, None, status="skipped", note=reason)


def bound(
    suite: str,
    case: str,
    impl: str,
    time_s: float,
    params: Mapping | None = None,
    note: str = "",
    extra: Mapping | None = None,
) -> Record:
    """A modelled lower bound (e.g. bytes that must move / measured bandwidth) shown as a row."""
    return Record(suite, case, params, impl, time_s, extra=extra, status="bound", note=note)


def bench(
    suite: str,
    case: str,
    impl: str,
    fn: Callable[[], Any],
    *,
    params: Mapping | None = None,
    accuracy: Callable[[Any], Mapping] | None = None,
    extra: Mapping | None = None,
    repeats: int = 5,
    warmup: int = 1,
    number: int | None = 1,
    memory: str | None = None,
) -> Record:
    """Measure ``fn`` and return its :class:`Record`; skip cleanly when it cannot run.

    ``fn`` (and ``accuracy``) may raise :class:`SkipBenchmark` or :class:`ImportError` (an
    optional anchor not installed): the result is a ``"skipped"`` record whose note is the
    message.  Any other exception propagates -- a failing implementation is a bug to see.

    Parameters
    ----------
    accuracy : callable, optional
        ``accuracy(result) -> dict`` of named figures computed from the last timed result.
    extra : mapping, optional
        Added to the record's ``extra`` (which also receives ``min_s``, ``cpu_s``, ``repeats``,
        ``number`` and ``peak_bytes`` when measured).
    repeats, warmup, number, memory
        Passed to :func:`measure`.
    """
    try:
        m = measure(fn, repeats=repeats, warmup=warmup, number=number, memory=memory)
        acc = dict(accuracy(m["result"])) if accuracy is not None else {}
    except (SkipBenchmark, ImportError) as exc:
        return skipped(suite, case, impl, f"{type(exc).__name__}: {exc}", params)
    ext = {
        "min_s": m["min_s"],
        "cpu_s": m["cpu_median_s"],
        "repeats": m["repeats"],
        "number": m["number"],
    }
    if m["peak_bytes"] is not None:
        ext["peak_bytes"] = m["peak_bytes"]
        ext["memory_method"] = m["memory_method"]
    ext.update(extra or {})
    return Record(suite, case, params, impl, m["median_s"], acc, ext)


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------
def _fmt_time(t):
    if t is None:
        return "-"
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def _fmt_num(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if v == 0 or not math.isfinite(v):
            return str(v)
        a = abs(v)
        return f"{v:.3g}" if 1e-3 <= a < 1e5 else f"{v:.2e}"
    return str(v)


def _fmt_ratio(r):
    if r is None or not math.isfinite(r):
        return "-"
    return f"{r:.3g}x"


def _short_impl(name, width=14):
    return name if len(name) <= width else name[: width - 1] + "~"


def _table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    return out


def _groups(records):
    """(suite, case) -> records, in first-seen order."""
    groups: dict[tuple[str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r["suite"], r["case"]), []).append(r)
    return groups


def _format_case(suite, case, recs, baseline_impl):
    timed = [r for r in recs if r["time_s"] is not None and r["time_s"] > 0]
    if baseline_impl is not None and any(r["impl"] == baseline_impl for r in timed):
        anchors = [baseline_impl]
    else:
        anchors = list(dict.fromkeys(r["impl"] for r in timed))
    t_of = {r["impl"]: r["time_s"] for r in timed}
    acc_keys = list(dict.fromkeys(k for r in recs for k in r["accuracy"]))
    extra_keys = [
        k
        for k in dict.fromkeys(k for r in recs for k in r["extra"])
        if k not in ("repeats", "number", "memory_method")
    ]
    headers = ["impl", "time", *(f"t/t[{_short_impl(a)}]" for a in anchors), *acc_keys, *extra_keys]
    rows = []
    for r in recs:
        name = r["impl"] + (" (bound)" if r["status"] == "bound" else "")
        if r["status"] == "skipped":
            rows.append(
                [
                    name,
                    "skipped",
                    *("-" for _ in anchors),
                    *("-" for _ in acc_keys),
                    *("-" for _ in extra_keys),
                ]
            )
            continue
        ratios = [_fmt_ratio(r["time_s"] / t_of[a]) if r["time_s"] else "-" for a in anchors]
        accs = [_fmt_num(r["accuracy"].get(k)) for k in acc_keys]
        exts = []
        for k in extra_keys:
            v = r["extra"].get(k)
            if k in ("min_s", "cpu_s", "build_s"):
                exts.append(_fmt_time(v))
            elif k == "peak_bytes" and v is not None:
                exts.append(f"{v / 2**20:.1f} MiB")
            else:
                exts.append(_fmt_num(v))
        rows.append([name, _fmt_time(r["time_s"]), *ratios, *accs, *exts])
    params = recs[0]["params"]
    title = f"[{suite}] {case}"
    if params:
        title += "   (" + ", ".join(f"{k}={v}" for k, v in params.items()) + ")"
    lines = [title, *("  " + ln for ln in _table(headers, rows))]
    for r in recs:
        if r["note"]:
            lines.append(f"  note [{r['impl']}]: {r['note']}")
    return lines


def _format_threads(ti):
    pools = ", ".join(
        f"{p['internal_api']} {p['version']} ({p['user_api']}, {p['num_threads']} thr)"
        for p in ti.get("threadpools", [])
    )
    env = " ".join(f"{k}={v}" for k, v in ti.get("env", {}).items()) or "none set"
    return (
        f"threads: {pools or 'no native pools found'}; numba {ti.get('numba_threads')} thr "
        f"(layer {ti.get('numba_threading_layer')}); env: {env}; "
        f"cpus {ti.get('cpu_count')} (affinity {ti.get('affinity_cpus')})"
    )


def _jsonable(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def report(
    records: Iterable[Mapping],
    *,
    baseline_impl: str | None = None,
    json_path: str | os.PathLike | None = None,
    plot_path: str | os.PathLike | None = None,
    file=None,
    meta: Mapping | None = None,
) -> str:
    """Print a table per case, optionally write JSON and a plot; return the printed text.

    Each case's table has one row per implementation: median time, the ratio of its time to
    every other timed implementation of the same case (``t/t[X]`` > 1 means slower than X;
    with ``baseline_impl`` only the ratio to that one), the accuracy figures and the extras.
    Skipped implementations appear as ``skipped`` with their reason; modelled bounds are marked
    ``(bound)``.  The header gives the thread settings in force while reporting and the copy
    bandwidth when it was measured in this process.

    Parameters
    ----------
    records : iterable of Record (or dicts with the same keys)
    baseline_impl : str, optional
        Show ratios to this implementation only (when present in a case).
    json_path : path, optional
        Write ``{"timestamp", "machine", "threads", "versions", "copy_bandwidth_gbs", "meta",
        "records"}``; read it back with :func:`load_json`.
    plot_path : path, optional
        Bar chart of median times per case and implementation (log scale); needs matplotlib
        (imported only here).
    file : text stream, optional
        Where to print (default ``sys.stdout``).
    meta : mapping, optional
        Run settings to record (command line, requested thread counts, ...).

    Returns
    -------
    str
        The printed text.
    """
    records = [r if isinstance(r, Record) else Record.from_dict(r) for r in records]
    ti = thread_info()
    bw = list(_BANDWIDTH_CACHE.values())
    lines = [
        f"hyperlearn benchmarks  {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        _format_threads(ti),
    ]
    if bw:
        lines.append("copy bandwidth (this run): " + ", ".join(f"{b:.2f} GB/s" for b in bw))
    for (suite, case), recs in _groups(records).items():
        lines.append("")
        lines.extend(_format_case(suite, case, recs, baseline_impl))
    text = "\n".join(lines)
    print(text, file=file if file is not None else sys.stdout, flush=True)

    if json_path is not None:
        payload = {
            "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(),
            "machine": machine_info(),
            "threads": ti,
            "versions": versions(),
            "copy_bandwidth_gbs": bw[0] if bw else None,
            "meta": dict(meta or {}),
            "records": records,
        }
        with open(json_path, "w") as f:
            json.dump(payload, f, indent=1, default=_jsonable)
    if plot_path is not None:
        _plot(records, plot_path)
    return text


def load_json(path: str | os.PathLike) -> tuple[dict, list[Record]]:
    """Read a file written by :func:`report`: ``(metadata, records)``."""
    with open(path) as f:
        payload = json.load(f)
    records = [Record.from_dict(r) for r in payload.pop("records")]
    return payload, records


def _plot(records, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(k, [r for r in v if r["time_s"]]) for k, v in _groups(records).items()]
    groups = [(k, v) for k, v in groups if v]
    impls = list(dict.fromkeys(r["impl"] for _, v in groups for r in v))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(groups) * max(1, len(impls)) / 2 + 2), 4.5))
    width = 0.8 / max(1, len(impls))
    for j, impl in enumerate(impls):
        xs, ys = [], []
        for i, (_, recs) in enumerate(groups):
            for r in recs:
                if r["impl"] == impl:
                    xs.append(i + (j - (len(impls) - 1) / 2) * width)
                    ys.append(r["time_s"])
        ax.bar(xs, ys, width=width, label=impl)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{s}\n{c}" for (s, c), _ in groups], fontsize=7, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("median time [s]")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
