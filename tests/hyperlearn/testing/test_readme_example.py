"""The example of the README section "Property-testing your own code", verbatim.

Keep this file and the code block of that README section identical below this docstring
(test_readme_sync.py checks it): the README promises that the example runs as a test.
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperlearn.linalg import cg, randomized_svd
from hyperlearn.testing import (
    assert_low_rank_accuracy,
    assert_normalized_laplacian,
    assert_solution_accuracy,
    assert_symmetric_psd,
)
from hyperlearn.testing.strategies import hypergraphs, matrices_with_spectrum


def propagation_system(hg, alpha):
    """My pipeline's linear operator: I − αΘ (label propagation on a hypergraph)."""
    identity = spla.aslinearoperator(sp.identity(hg.n_vertices, dtype=hg.dtype))
    return identity - alpha * hg.normalized_adjacency()


@settings(deadline=None, max_examples=25)  # the first call compiles Numba kernels
@given(
    hg=hypergraphs(n_vertices=(2, 40), n_edges=(1, 25), edge_size=(1, 6)),
    alpha=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**32 - 1),
)
def test_label_propagation_solve(hg, alpha, seed):
    # Θ = I − Δ has its spectrum in [0, 1] ...
    assert_normalized_laplacian(hg)
    A = propagation_system(hg, alpha)
    assert_symmetric_psd(A)
    # ... so κ₂(I − αΘ) ≤ 1/(1 − α): the forward error is bounded by κ·relres.
    x_true = np.random.default_rng(seed).standard_normal(hg.n_vertices)
    b = A @ x_true
    x, info = cg(A, b, rtol=1e-8)
    assert info == 0
    assert_solution_accuracy(
        A, x, b, rtol=1e-8, condition_number=1.0 / (1.0 - alpha), x_true=x_true
    )


@settings(deadline=None, max_examples=25)
@given(
    matrix=matrices_with_spectrum(((20, 60), (20, 60)), spectrum="fast_decay", rank=(1, 6)),
    seed=st.integers(0, 2**32 - 1),
)
def test_truncated_svd_meets_hmt_bound(matrix, seed):
    A, _, s, _ = matrix  # the exact singular values come with A: no oracle SVD needed
    U, sk, Vt = randomized_svd(A, 5, n_oversamples=10, n_iter=4, random_state=seed)
    assert_low_rank_accuracy(A, U, sk, Vt, k=5, n_oversamples=10, n_iter=4, sigma=s)
