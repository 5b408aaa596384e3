"""Tests of the benchmark harness and the command line (tiny sizes; no timing assertions
beyond what sleeping guarantees)."""

import io
import json
import math
import time

import numpy as np
import pytest

from benchmarks import (
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
from benchmarks.__main__ import discover, main, parse_size

#: A deliberately slow first call (standing in for Numba compilation) and the bound that the
#: timed calls must stay under if the warm-up really is excluded.
FIRST_CALL_SECONDS = 0.3
#: The CLI test checks plumbing (ours and the anchor compute the same Θx), not kernel accuracy,
#: which tests/hyperlearn checks against dense references with derived bounds: a wrong operator
#: gives a relative difference of order 1, float64 rounding about 1e-15.
PLUMBING_TOL = 1e-8


class Counter:
    def __init__(self, first_sleep=0.0, sleep=0.0):
        self.calls = 0
        self.first_sleep = first_sleep
        self.sleep = sleep

    def __call__(self):
        self.calls += 1
        time.sleep(self.first_sleep if self.calls == 1 else self.sleep)
        return self.calls


def test_measure_counts_calls_and_returns_last_result():
    fn = Counter()
    m = measure(fn, repeats=3, warmup=2)
    assert fn.calls == 5
    assert m["result"] == 5
    assert len(m["times_s"]) == 3
    assert m["min_s"] <= m["median_s"] <= m["max_s"]
    assert (m["repeats"], m["warmup"], m["number"]) == (3, 2, 1)


def test_measure_excludes_warmup_and_times_what_runs():
    fn = Counter(first_sleep=FIRST_CALL_SECONDS, sleep=0.01)
    m = measure(fn, repeats=3, warmup=1)
    assert m["median_s"] >= 0.01  # sleep sleeps at least this long
    assert m["max_s"] < FIRST_CALL_SECONDS


def test_measure_auto_number_reports_per_call_time():
    m = measure(lambda: None, repeats=2, warmup=0, number=None)
    assert m["number"] > 1
    assert m["median_s"] * m["number"] < 1.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"repeats": 0}, "repeats"),
        ({"warmup": -1}, "warmup"),
        ({"number": 0}, "number"),
        ({"memory": "heap"}, "memory"),
    ],
)
def test_measure_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        measure(lambda: None, **kwargs)


def test_measure_tracemalloc_counts_numpy_buffers():
    nbytes = 8 * 10**6
    m = measure(lambda: np.ones(nbytes // 8).sum(), repeats=1, memory="tracemalloc")
    assert nbytes <= m["peak_bytes"] < 2 * nbytes
    assert m["memory_method"] == "tracemalloc"


def test_measure_rss_sees_a_held_allocation():
    pytest.importorskip("psutil")
    nbytes = 64 * 2**20

    def hold():
        a = np.ones(nbytes // 8)
        time.sleep(0.05)  # many RSS samples while the array is resident
        return a.size

    m = measure(hold, repeats=1, memory="rss")
    # the allocator may reuse pages already resident, so allow a margin below nbytes
    assert m["peak_bytes"] >= nbytes // 2


def test_thread_info_reports_blas_limits():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        info = thread_info()
    assert info["cpu_count"] >= 1
    assert all(t == 1 for t in info["blas_threads"])
    assert info["numba_threads"] >= 1
    assert set(info) >= {"threadpools", "env", "affinity_cpus", "numba_threading_layer"}


def test_copy_bandwidth_is_positive_and_cached():
    bw = copy_bandwidth_gbs(2**22, 2)
    assert math.isfinite(bw) and bw > 0
    assert copy_bandwidth_gbs(2**22, 2) == bw
    with pytest.raises(ValueError, match="nbytes"):
        copy_bandwidth_gbs(0)


def test_record_validation_and_access():
    r = Record("s", "c", {"n": 1}, "ours", 0.25, {"err": 1e-16}, {"it": 3})
    assert r.impl == "ours" and r["time_s"] == 0.25 and r.accuracy == {"err": 1e-16}
    assert Record.from_dict(json.loads(json.dumps(r))) == r
    with pytest.raises(ValueError, match="impl"):
        Record("s", "c", None, "", 1.0)
    with pytest.raises(ValueError, match="status"):
        Record("s", "c", None, "x", 1.0, status="done")
    with pytest.raises(ValueError, match="time_s"):
        Record("s", "c", None, "x", -1.0)
    with pytest.raises(ValueError, match="time_s"):
        Record("s", "c", None, "x", None)
    assert skipped("s", "c", "x", "why").status == "skipped"
    assert bound("s", "c", "floor", 0.1).status == "bound"


def test_bench_skips_missing_anchor_and_propagates_bugs():
    def missing():
        import a_package_that_is_not_installed  # noqa: F401

    r = bench("s", "c", "anchor", missing)
    assert r.status == "skipped" and r.time_s is None
    assert "a_package_that_is_not_installed" in r.note

    def over_budget():
        raise SkipBenchmark("over budget")

    assert bench("s", "c", "x", over_budget).note.endswith("over budget")
    assert optional_import("a_package_that_is_not_installed") is None

    def broken():
        raise ZeroDivisionError("bug")

    with pytest.raises(ZeroDivisionError):
        bench("s", "c", "x", broken)


def test_bench_accuracy_uses_the_timed_result():
    r = bench("s", "c", "x", lambda: np.arange(4.0), accuracy=lambda y: {"sum": y.sum()}, repeats=2)
    assert r.accuracy == {"sum": 6.0}
    assert r.status == "ok" and r.extra["repeats"] == 2


def _records():
    return [
        Record("s", "case A", {"n": 5}, "ours", 1.0, {"rel": 1e-15}),
        Record("s", "case A", {"n": 5}, "anchor", 4.0, {"rel": 2e-15}),
        skipped("s", "case A", "optional", "not installed", {"n": 5}),
        bound("s", "case A", "floor", 0.5, {"n": 5}, note="bytes / bandwidth"),
        Record("s", "case B", {}, "ours", 2e-3),
    ]


def test_report_table_ratios_and_skips():
    out = io.StringIO()
    text = report(_records(), file=out)
    assert out.getvalue().strip() == text.strip()
    assert "[s] case A" in text and "[s] case B" in text
    line_ours = next(ln for ln in text.splitlines() if ln.strip().startswith("ours "))
    # ratios to each timed impl of the case: ours/anchor = 0.25, ours/floor = 2
    assert "0.25x" in line_ours and "2x" in line_ours
    line_opt = next(ln for ln in text.splitlines() if ln.strip().startswith("optional"))
    assert "skipped" in line_opt and "not installed" in text
    assert "floor (bound)" in text
    assert "threads:" in text


def test_report_baseline_only():
    text = report(_records(), baseline_impl="anchor", file=io.StringIO())
    header = next(ln for ln in text.splitlines() if ln.strip().startswith("impl"))
    assert "t/t[anchor]" in header and "t/t[ours]" not in header


def test_report_json_round_trip_and_plot(tmp_path):
    recs = _records()
    jpath, ppath = tmp_path / "r.json", tmp_path / "r.png"
    report(recs, json_path=jpath, plot_path=ppath, file=io.StringIO(), meta={"argv": ["x"]})
    meta, back = load_json(jpath)
    assert back == recs
    assert all(isinstance(r, Record) for r in back)
    assert set(meta) >= {"timestamp", "machine", "threads", "versions", "copy_bandwidth_gbs"}
    assert meta["meta"] == {"argv": ["x"]}
    assert meta["versions"]["numpy"] == np.__version__
    assert ppath.stat().st_size > 1000


def test_parse_size_and_discovery():
    assert parse_size("50000") == 50000
    assert parse_size("1e4") == 10000
    assert parse_size("2000x500") == (2000, 500)
    assert parse_size("small") == "small"
    suites = discover()
    assert {"cg", "hypergraph", "randomized", "scale", "tagging"} <= set(suites)
    assert "mulan_to_npz" not in suites  # a converter, not a suite: it has no run()


def test_cli_unknown_suite(capsys):
    assert main(["no_such_suite"]) == 2
    assert "unknown suite" in capsys.readouterr().err


def test_cli_hypergraph_quick(tmp_path, monkeypatch, capsys):
    import benchmarks.hypergraph as suite

    # the skipped-anchor path: no explicit Θ may be built
    monkeypatch.setattr(suite, "EXPLICIT_NNZ_BUDGET", 0)
    monkeypatch.setattr(suite, "REPEATS", 2)
    monkeypatch.setattr(suite, "BANDWIDTH_BYTES", 2**22)
    jpath = tmp_path / "h.json"
    rc = main(["hypergraph", "--quick", "--sizes", "300", "--json", str(jpath), "--threads", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "theta x  n=300" in out and "theta X[50]  n=300" in out
    meta, recs = load_json(jpath)
    assert meta["meta"]["blas_threads_requested"] == 1
    assert all(t == 1 for t in meta["meta"]["thread_info_per_suite"]["hypergraph"]["blas_threads"])
    by = {(r.case, r.impl): r for r in recs}
    for case in ("theta x  n=300", "theta X[50]  n=300"):
        assert by[(case, "ours")].accuracy["rel_diff"] < PLUMBING_TOL
        assert by[(case, "scipy composition")].time_s > 0
        assert by[(case, "memory floor")].status == "bound"
        explicit = by[(case, "scipy explicit Θ")]
        assert explicit.status == "skipped" and "EXPLICIT_NNZ_BUDGET" in explicit.note
    knn = by[("from_knn  n=300 d=64", "ours from_knn")]
    assert knn.accuracy["same_edges"] == 1.0


def test_per_image_f1_averages_to_f1_at_k():
    from benchmarks.tagging import K, _per_image_f1
    from hyperlearn.metrics import f1_at_k

    rng = np.random.default_rng(0)
    Y = rng.random((40, 12)) < 0.3
    S = rng.random((40, 12))
    # the oracle: the library's own samples average of the same quantity
    assert _per_image_f1(Y, S).mean() == pytest.approx(f1_at_k(Y, S, K), rel=1e-12)


def test_paired_gain_interval_brackets_the_mean_and_is_exact_for_constant_gains():
    from benchmarks.tagging import paired_gain_interval

    rng = np.random.default_rng(1)
    base = rng.random(300)
    ours = base + rng.normal(0.02, 0.1, 300)
    mean, low, high = paired_gain_interval(ours, base)
    assert low < mean < high
    assert mean == pytest.approx((ours - base).mean())
    # the standard error of a mean of 300 draws with sd 0.1 is 0.0058; a 95 % interval spans
    # about 4 of them, so it is neither degenerate nor wider than 10 of them
    assert 0.01 < high - low < 0.058
    # a gain that is the same on every image leaves nothing to resample
    assert paired_gain_interval(base + 0.25, base) == pytest.approx((0.25, 0.25, 0.25))
    # pairing matters: identical noisy scores give a zero gain, not the spread of each
    assert paired_gain_interval(base, base) == (0.0, 0.0, 0.0)


def test_cg_suite_sizes_are_parsed_or_refused_clearly():
    from benchmarks.cg import N_RHS, _cases

    assert list(_cases([parse_size("20000x50"), parse_size("3000")])) == [
        (20000, (50,)),
        (3000, N_RHS),
    ]
    with pytest.raises(ValueError, match=r"unknown cg size '20000,50'.*20000x50"):
        list(_cases([parse_size("20000,50")]))


# --- real multi-label data: the MULAN converter and the user-data directory -----------------


def _mulan_archive(path, sets):
    """A tar.gz laid out like scikit-multilearn 0.0.1: bz2 pickles (protocol 2) of X and y."""
    import bz2
    import pickle
    import tarfile

    rng = np.random.default_rng(0)
    arrays = {}
    with tarfile.open(path, "w:gz") as archive:
        for name in sets:
            for part, n in (("train", 7), ("test", 5)):
                X = rng.random((n, 4))
                y = (rng.random((n, 3)) < 0.5).astype(np.int64)
                arrays[name, part] = (X, y)
                raw = bz2.compress(pickle.dumps({"X": X, "y": y}, protocol=2))
                info = tarfile.TarInfo(f"pkg/skmultilearn/data/{name}-{part}.dump.bz2")
                info.size = len(raw)
                archive.addfile(info, io.BytesIO(raw))
    return arrays


def test_mulan_converter_stacks_train_and_test_and_checks_the_digest(tmp_path):
    import hashlib

    from benchmarks.mulan_to_npz import convert

    archive = tmp_path / "skml.tar.gz"
    arrays = _mulan_archive(archive, ["scene", "Corel5k"])
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    shapes = convert(archive, tmp_path / "out", ["scene", "Corel5k"], sha256=digest)
    assert shapes == {"scene": (12, 4, 3), "corel5k": (12, 4, 3)}
    saved = np.load(tmp_path / "out" / "corel5k.npz")
    X = np.vstack([arrays["Corel5k", "train"][0], arrays["Corel5k", "test"][0]])
    np.testing.assert_array_equal(saved["X"], X.astype(np.float32))
    assert saved["Y"].dtype == np.uint8
    with pytest.raises(ValueError, match="SHA-256"):
        convert(archive, tmp_path / "out", ["scene"])  # not the real archive's digest


def test_mulan_converter_refuses_pickles_that_name_anything_but_arrays(tmp_path):
    import bz2
    import hashlib
    import pickle
    import tarfile

    from benchmarks.mulan_to_npz import convert

    class Evil:
        def __reduce__(self):
            return (print, ("side effect",))

    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for part in ("train", "test"):
            raw = bz2.compress(pickle.dumps({"X": Evil(), "y": np.zeros((1, 1))}, protocol=2))
            info = tarfile.TarInfo(f"d/scene-{part}.dump.bz2")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(pickle.UnpicklingError, match=r"refusing to load .*print"):
        convert(archive, tmp_path / "out", ["scene"], sha256=digest)


def test_quality_cases_read_user_npz_data_and_skip_missing_packages(tmp_path, monkeypatch):
    from benchmarks import _tagging_quality as quality
    from benchmarks.tagging import _parse

    rng = np.random.default_rng(1)
    X = rng.random((40, 3)).astype(np.float32)
    Y = (rng.random((40, 4)) < 0.4).astype(np.uint8)
    np.savez(tmp_path / "mine.npz", X=X, Y=Y)
    monkeypatch.setenv(quality.DATA_DIR_VARIABLE, str(tmp_path))
    assert quality.user_data() == ("mine",)
    assert _parse("completion-mine") == ("completion-mine", None)
    X2, Y_obs, Y_true = quality.load("mine", None)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(Y_obs, Y)
    np.testing.assert_array_equal(Y_true, Y)
    assert quality.load("mine", 10)[0].shape == (10, 3)
    # a name that is neither built in nor in the folder is refused, not read as other data
    monkeypatch.setenv(quality.DATA_DIR_VARIABLE, str(tmp_path / "elsewhere"))
    with pytest.raises(ValueError, match=r"unknown quality data 'mine'.*not set or empty"):
        quality.load("mine", None)
    monkeypatch.setenv(quality.DATA_DIR_VARIABLE, str(tmp_path))
    # a real data set whose package is absent is a skipped record, not a crash
    monkeypatch.setitem(quality.REAL, "nowhere", ("no_such_package_xyz", "d.csv.gz", 2))
    (record,) = quality.run_case("completion", "nowhere")
    assert record.status == "skipped" and "no_such_package_xyz" in record.note


def test_yeast_from_river_is_the_mulan_yeast_shape():
    pytest.importorskip("river")
    from benchmarks._tagging_quality import load_real

    X, Y = load_real("yeast")
    assert X.shape == (2417, 103) and Y.shape == (2417, 14)
    assert set(np.unique(Y)) == {0, 1} and np.isfinite(X).all()
