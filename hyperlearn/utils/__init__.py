"""Shared utilities: input validation (``_validation``) and Numba thread control (``_numba``).

Nothing here is compiled or imports Numba at import time, and nothing here imports the rest of
the package: ``utils`` is the bottom layer (``hyperlearn.warm_up``, which calls every package,
lives at the top in ``hyperlearn._warmup``).
"""

from __future__ import annotations

from ._numba import thread_limits

__all__ = ["thread_limits"]
