"""Thread limits and shared validation helpers."""

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_info

from hyperlearn.utils import thread_limits
from hyperlearn.utils._numba import configure_openmp, effective_n_jobs, serial_below
from hyperlearn.utils._validation import (
    check_float_dtype,
    check_int,
    check_matrix,
    check_nonnegative_vector,
    float_dtype_of,
)


def _blas_threads():
    return [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]


def test_thread_limits_sets_and_restores():
    before = numba.get_num_threads()
    blas_before = _blas_threads()
    with thread_limits(1) as n:
        assert n == 1
        assert numba.get_num_threads() == 1
        assert all(t == 1 for t in _blas_threads())
    assert numba.get_num_threads() == before
    assert _blas_threads() == blas_before


def test_thread_limits_restores_on_error():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError), thread_limits(1):
        raise RuntimeError("boom")
    assert numba.get_num_threads() == before


def test_thread_limits_none_changes_nothing():
    before = numba.get_num_threads()
    with thread_limits(None) as n:
        assert n == before == numba.get_num_threads()


def test_effective_n_jobs():
    import os

    n_cpus = os.cpu_count()
    assert effective_n_jobs(1) == 1
    assert effective_n_jobs(-1) == n_cpus
    assert effective_n_jobs(10_000) == n_cpus
    with pytest.raises(ValueError, match="n_jobs=0"):
        effective_n_jobs(0)
    with pytest.raises(TypeError, match=r"n_jobs=1\.5 is not valid: expected an integer"):
        effective_n_jobs(1.5)


def test_float_dtype_policy():
    assert float_dtype_of(np.float32) is np.float32
    assert float_dtype_of(np.float16) is np.float32
    assert float_dtype_of(np.int64) is np.float64
    assert float_dtype_of(bool) is np.float64
    for bad in (np.complex128, object, "U3"):
        with pytest.raises(TypeError, match="not supported"):
            float_dtype_of(bad)
    assert check_float_dtype("float32") is np.float32
    with pytest.raises(TypeError, match="dtype=int64"):
        check_float_dtype(np.int64)


def test_check_matrix():
    X = check_matrix([[1, 2], [3, 4]], "X")
    assert X.dtype == np.float64 and X.flags.c_contiguous
    assert check_matrix(np.ones((2, 2), np.float32), "X").dtype == np.float32
    S = check_matrix(sp.coo_matrix(np.eye(2)), "H", accept_sparse=True)
    assert sp.isspmatrix_csr(S)
    with pytest.raises(TypeError, match="X is a sparse matrix"):
        check_matrix(sp.eye(2), "X")
    with pytest.raises(ValueError, match="X must be 2-D"):
        check_matrix(np.ones(3), "X")
    with pytest.raises(ValueError, match=r"X has shape \(0, 3\)"):
        check_matrix(np.ones((0, 3)), "X")
    with pytest.raises(ValueError, match="X contains 1 NaN"):
        check_matrix([[1.0, np.nan]], "X")
    with pytest.raises(ValueError, match="H has negative"):
        check_matrix([[1.0, -1.0]], "H", nonnegative=True)
    with pytest.raises(TypeError, match="X has dtype object"):
        check_matrix(np.array([[1, "a"]], dtype=object), "X")


def test_check_vector_and_int():
    w = check_nonnegative_vector([1, 2], 2, dtype=np.float32)
    assert w.dtype == np.float32
    with pytest.raises(ValueError, match="weights has length 3: expected 2"):
        check_nonnegative_vector([1, 2, 3], 2)
    with pytest.raises(ValueError, match="weights has negative"):
        check_nonnegative_vector([1, -2], 2)
    with pytest.raises(ValueError, match="weights contains 1 NaN"):
        check_nonnegative_vector([1, np.inf], 2)
    with pytest.raises(ValueError, match="weights must be 1-D"):
        check_nonnegative_vector([[1, 2]], 2)
    assert check_int(np.int32(3), "k", low=1) == 3
    with pytest.raises(TypeError, match=r"k=3\.0 is not valid: expected an integer"):
        check_int(3.0, "k")
    with pytest.raises(TypeError, match="k=True is not valid: expected an integer"):
        check_int(True, "k")
    with pytest.raises(ValueError, match=r"k=0 is out of range: expected an integer in \[1, 5\]"):
        check_int(0, "k", low=1, high=5)


def test_serial_below_threshold():
    with thread_limits(2) as n:
        with serial_below(10, threshold=11):
            assert numba.get_num_threads() == 1
        assert numba.get_num_threads() == n
        with serial_below(11, threshold=11):
            assert numba.get_num_threads() == n


def test_configure_openmp_respects_user_setting(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    configure_openmp()
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    configure_openmp()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_warm_up_prepares_kernels():
    from hyperlearn import warm_up
    from hyperlearn.hypergraph import _kernels

    assert warm_up(["float32"]) >= 0
    # the Θ kernels now hold float32 specialisations
    assert any("float32" in str(sig) for sig in _kernels.gather_vec_pattern.signatures)


def test_warm_up_calls_every_registered_package(monkeypatch):
    import hyperlearn.hypergraph
    import hyperlearn.linalg
    from hyperlearn._warmup import WARM_UP_PACKAGES, warm_up

    assert WARM_UP_PACKAGES == ("hyperlearn.hypergraph", "hyperlearn.linalg")
    calls = []
    for module in (hyperlearn.hypergraph, hyperlearn.linalg):
        monkeypatch.setattr(module, "_warm_up", lambda d, m=module: calls.append((m.__name__, d)))
    warm_up("float32")
    assert calls == [(name, (np.float32,)) for name in WARM_UP_PACKAGES]
    with pytest.raises(TypeError, match="dtypes=int64 is not supported"):
        warm_up(["float64", "int64"])


def test_utils_has_no_warm_up():
    # the bottom layer must not reach up into the packages it serves
    import hyperlearn.utils

    assert not hasattr(hyperlearn.utils, "warm_up")
