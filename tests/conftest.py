"""Shared pytest configuration: hypothesis profiles and thread limits."""

import os

from hypothesis import HealthCheck, settings

# deadline=None everywhere: the first call of a Numba kernel compiles (seconds).
settings.register_profile(
    "default",
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=40,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", deadline=None, max_examples=500)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)

# One BLAS thread for the whole suite: on a small shared machine a multi-threaded OpenBLAS
# waits for CPU time on every call (measured here: the randomized tests took 14 s with one
# BLAS thread and 4 minutes without a limit). Numba's threads are left alone, so the kernels'
# parallel paths are still exercised.  threadpoolctl only reaches libraries already loaded,
# and SciPy loads its own OpenBLAS lazily: so the environment variables (read by each BLAS
# when it loads) come first, then both BLAS copies are loaded and limited explicitly.
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy  # noqa: E402, F401
import scipy.linalg  # noqa: E402, F401
from threadpoolctl import threadpool_limits  # noqa: E402

_BLAS_LIMIT = threadpool_limits(limits=1, user_api="blas")
