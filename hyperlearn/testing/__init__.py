"""Tools for property-testing numerical code built on hyperlearn.

Assertions (need only NumPy and SciPy) derive their tolerances from theory, state the bound in
their failure message, and accept a ``safety`` factor:

- :func:`assert_low_rank_accuracy` — Halko–Martinsson–Tropp power-scheme deviation bound for
  randomized SVDs at a stated failure probability, the rounding bound for exact-rank inputs,
  orthonormal factors and interlacing of the computed singular values;
- :func:`assert_solution_accuracy` — residual stopping criterion and κ·relres forward error;
- :func:`assert_symmetric_psd` — symmetry and λ_min ≥ −tol for arrays, sparse matrices and
  LinearOperators;
- :func:`assert_normalized_laplacian` — Zhou's normalized hypergraph Laplacian: symmetric,
  spectrum in [0, 1], Δ·Dv^(1/2)1 = 0.

:func:`hmt_power_bound` evaluates the Halko–Martinsson–Tropp expectation bound itself (for
tests that average the error over seeds), :func:`hmt_deviation_bound` the bound that fails with a
given probability.

Hypothesis strategies live in :mod:`hyperlearn.testing.strategies` (requires ``hypothesis``;
``pip install hypothesis`` or the ``dev`` extra): ``hypergraphs``, ``matrices_with_spectrum``,
``spd_matrices``, ``spd_systems``.
"""

from __future__ import annotations

import importlib

from ._assert_laplacian import assert_normalized_laplacian
from ._assert_lowrank import assert_low_rank_accuracy
from ._assert_psd import assert_symmetric_psd
from ._assert_solve import assert_solution_accuracy
from ._bounds import (
    DEFAULT_FAILURE_PROBABILITY,
    LOW_RANK_ROUNDING_SLACK,
    SOLVE_ROUNDING_SLACK,
    SPECTRUM_ROUNDING_SLACK,
    hmt_deviation_bound,
    hmt_power_bound,
)

__all__ = [
    "DEFAULT_FAILURE_PROBABILITY",
    "LOW_RANK_ROUNDING_SLACK",
    "SOLVE_ROUNDING_SLACK",
    "SPECTRUM_ROUNDING_SLACK",
    "assert_low_rank_accuracy",
    "assert_normalized_laplacian",
    "assert_solution_accuracy",
    "assert_symmetric_psd",
    "hmt_deviation_bound",
    "hmt_power_bound",
    "strategies",
]


def __getattr__(name):
    # imported on first use so that the assertions work without hypothesis installed
    if name == "strategies":
        module = importlib.import_module(f"{__name__}.strategies")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
