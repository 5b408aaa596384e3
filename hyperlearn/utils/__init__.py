"""Shared utilities: input validation (``_validation``) and Numba thread control (``_numba``).

Nothing here is compiled or imports Numba at import time.
"""

from __future__ import annotations

from ._numba import thread_limits, warm_up

__all__ = ["thread_limits", "warm_up"]
