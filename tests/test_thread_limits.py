"""The suite runs every BLAS on one thread (tests/conftest.py), including SciPy's own copy."""

import threadpoolctl


def test_every_loaded_blas_runs_on_one_thread():
    import scipy.linalg  # noqa: F401  (SciPy's bundled OpenBLAS loads lazily)

    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas, "no BLAS library loaded"
    assert {i["filepath"]: i["num_threads"] for i in blas} == {i["filepath"]: 1 for i in blas}
