"""Mode B solvers against exact oracles: CG solutions, orthonormal bases, eigenpairs, SVD."""

import numpy as np
import pytest
import scipy.linalg

from hyperlearn import Hypergraph
from hyperlearn.distributed import (
    DistributedHypergraph,
    RowBlocks,
    distributed_cg,
    distributed_eigh,
    distributed_svd,
    orthonormalize,
)
from hyperlearn.distributed._rowblocks import even_layout

from .conftest import knn_hypergraph, tag_matrix

EPS = np.finfo(np.float64).eps


def dense_system(hg, alpha):
    n = hg.n_vertices
    return np.eye(n) - alpha * (hg.normalized_adjacency() @ np.eye(n))


def clustered_hypergraph(n_clusters=4, size=60, seed=0):
    """Dense random hyperedges inside clusters plus a few across: a clear spectral gap."""
    rng = np.random.default_rng(seed)
    edges = []
    for c in range(n_clusters):
        members = np.arange(c * size, (c + 1) * size)
        edges += [rng.choice(members, 8, replace=False) for _ in range(3 * size)]
    n = n_clusters * size
    edges += [rng.choice(n, 3, replace=False) for _ in range(n_clusters)]
    return Hypergraph.from_edges(edges, n_vertices=n)


@pytest.mark.parametrize("check_every", [1, 4])
@pytest.mark.parametrize("alpha", [0.5, 0.9])
def test_cg_meets_true_residual_and_exact_solution(client, alpha, check_every):
    hg = knn_hypergraph(700)
    B = tag_matrix(700, 6)
    B[:, 2] = 0.0
    dhg = DistributedHypergraph(hg, client, n_blocks=3)
    rtol = 1e-9
    X, info = distributed_cg(dhg, B, alpha, rtol=rtol, check_every=check_every)
    A = dense_system(hg, alpha)
    assert info == 0
    # the contract: every TRUE residual meets its tolerance (checked here in dense float64;
    # the two evaluations of A X differ by rounding, far below rtol)
    assert np.all(
        np.linalg.norm(B - A @ X, axis=0) <= rtol * np.linalg.norm(B, axis=0) * (1 + 1e-6)
    )
    assert np.all(X[:, 2] == 0)
    exact = scipy.linalg.solve(A, B, assume_a="pos")
    # ‖x − x*‖ ≤ ‖A⁻¹‖ ‖r‖ ≤ rtol ‖b‖ / (1 − α): spectrum of I − αΘ in [1 − α, 1]
    bound = rtol * np.linalg.norm(B, axis=0) / (1 - alpha) * (1 + 1e-6)
    assert np.all(np.linalg.norm(X - exact, axis=0) <= bound)


def test_cg_warm_start_row_blocks_and_budget(client):
    hg = knn_hypergraph(500)
    B = tag_matrix(500, 3)
    dhg = DistributedHypergraph(hg, client)
    X_short, info_short = distributed_cg(dhg, B, 0.9, rtol=1e-12, maxiter=2, check_every=1)
    assert info_short > 0
    Bb = dhg.to_blocks(B)
    Xb, info = distributed_cg(dhg, Bb, 0.9, dhg.to_blocks(X_short), rtol=1e-10)
    assert isinstance(Xb, RowBlocks) and info == 0
    X = dhg.from_blocks(Xb)
    A = dense_system(hg, 0.9)
    assert np.all(
        np.linalg.norm(B - A @ X, axis=0) <= 1e-10 * np.linalg.norm(B, axis=0) * (1 + 1e-6)
    )


def test_cg_bad_inputs(client):
    hg = knn_hypergraph(300)
    dhg = DistributedHypergraph(hg, client, n_blocks=2)
    other = DistributedHypergraph(hg, client, n_blocks=3)
    with pytest.raises(ValueError, match="partitioned as"):
        distributed_cg(dhg, other.to_blocks(np.ones((300, 1))), 0.5)
    with pytest.raises(ValueError, match="B has 5 rows"):
        distributed_cg(dhg, np.ones((5, 1)), 0.5)
    with pytest.raises(ValueError, match="X0 has 2 columns"):
        distributed_cg(dhg, np.ones((300, 1)), 0.5, np.ones((300, 2)))
    with pytest.raises(ValueError, match="alpha"):
        distributed_cg(dhg, np.ones((300, 1)), 1.5)
    with pytest.raises(ValueError, match="check_every"):
        distributed_cg(dhg, np.ones((300, 1)), 0.5, check_every=0)


@pytest.mark.parametrize("condition", [1e2, 1e7, 1e12])
def test_orthonormalize(client, condition):
    rng = np.random.default_rng(7)
    n, ell = 900, 12
    U, _ = np.linalg.qr(rng.standard_normal((n, ell)))
    V, _ = np.linalg.qr(rng.standard_normal((ell, ell)))
    Y = U * np.geomspace(1, 1 / condition, ell) @ V.T
    workers = sorted(client.scheduler_info()["workers"])
    Q = orthonormalize(RowBlocks.from_array(client, Y, even_layout(n, workers, 3))).gather()
    # orthogonality to rounding: ‖QᵀQ − I‖ = O(ℓ n u) for CholeskyQR2 (Yamamoto et al.)
    assert np.linalg.norm(Q.T @ Q - np.eye(Q.shape[1]), 2) <= 10 * n * ell * EPS
    # the basis spans range(Y): Y's projection onto it is Y (to the dropped directions' size)
    residual = np.linalg.norm(Y - Q @ (Q.T @ Y), 2)
    assert residual <= max(n, ell) ** 0.5 * 1e-7 * np.linalg.norm(Y, 2)
    if condition < 1e7:
        assert Q.shape[1] == ell


def test_orthonormalize_rank_deficient_and_zero(client):
    rng = np.random.default_rng(8)
    Y = rng.standard_normal((400, 3)) @ rng.standard_normal((3, 8))
    workers = sorted(client.scheduler_info()["workers"])
    layout = even_layout(400, workers)
    Q = orthonormalize(RowBlocks.from_array(client, Y, layout)).gather()
    assert Q.shape[1] == 3
    assert np.linalg.norm(Q.T @ Q - np.eye(3), 2) <= 1e-12
    with pytest.raises(np.linalg.LinAlgError, match="zero"):
        orthonormalize(RowBlocks.from_array(client, np.zeros((400, 2)), layout))


def test_eigh_ritz_pairs_against_dense(client):
    hg = clustered_hypergraph()
    dhg = DistributedHypergraph(hg, client, n_blocks=3)
    k = 4
    w, Vb = distributed_eigh(dhg, k, n_oversamples=8, n_iter=6, random_state=0)
    V = dhg.from_blocks(Vb)
    T = hg.normalized_adjacency() @ np.eye(hg.n_vertices)
    lam = np.linalg.eigvalsh(T)[::-1]
    assert np.allclose(V.T @ V, np.eye(k), atol=1e-12)
    residuals = np.linalg.norm(T @ V - V * w, axis=0)
    rounding = 100 * hg.n_vertices * EPS
    # interlacing: Ritz values never exceed the eigenvalues they approximate
    assert np.all(w <= lam[:k] + rounding)
    # Kato-Temple: λ_j − θ_j ≤ ‖r_j‖² / δ_j, δ_j the distance from θ_j to λ_{k+1}
    delta = w - lam[k]
    assert np.all(lam[:k] - w <= residuals**2 / delta + rounding)
    # convergence at the rate (λ_{ℓ+1}/λ_k)^(q+1) of subspace iteration; the Gaussian start's
    # tan(angle) is below TAN_START with overwhelming probability at 8 oversamples
    TAN_START = 1e3
    rate = (lam[k + 8] / lam[k - 1]) ** (6 + 1)
    assert np.all(residuals <= TAN_START * rate)
    # eigenvectors: sin∠(v_j, u_j) ≤ ‖r_j‖ / gap_j (Davis-Kahan)
    _, U = np.linalg.eigh(T)
    U = U[:, ::-1][:, :k]
    sines = np.sqrt(np.maximum(0, 1 - (U.T @ V) ** 2).diagonal())
    gaps = np.minimum(np.abs(w - np.r_[np.inf, lam[: k - 1]]), np.abs(w - np.r_[lam[1:k], lam[k]]))
    assert np.all(sines <= residuals / gaps + 1e-8)


@pytest.mark.parametrize("sparse_blocks", [False, True])
def test_svd_against_exact(client, sparse_blocks):
    rng = np.random.default_rng(9)
    n, N, k, p, q = 1500, 120, 8, 10, 2
    U0, _ = np.linalg.qr(rng.standard_normal((n, N)))
    V0, _ = np.linalg.qr(rng.standard_normal((N, N)))
    sigma = 1.0 / np.arange(1, N + 1) ** 1.5
    M = U0 * sigma @ V0.T
    workers = sorted(client.scheduler_info()["workers"])
    layout = even_layout(n, workers, 3)
    A = RowBlocks.from_array(client, M, layout)
    if sparse_blocks:
        import scipy.sparse as sp

        A = A.map_blocks(lambda b, f: sp.csr_matrix(b if f is None else b[f]))
    Ub, s, Vt = distributed_svd(A, k, n_oversamples=p, n_iter=q, random_state=1)
    U = Ub.gather()
    approx = U * s @ Vt
    # Halko-Martinsson-Tropp (Cor. 10.9 with the power scheme, Sec. 10.4):
    # ‖A − QQᵀA‖ ≤ (1 + 9 √(k+p) √min(n, N))^(1/(2q+1)) σ_{k+1} with probability ≥ 1 − 3 p^-p
    HMT = (1 + 9 * np.sqrt(k + p) * np.sqrt(min(n, N))) ** (1 / (2 * q + 1))
    assert np.linalg.norm(M - approx, 2) <= HMT * sigma[k] * (1 + 1e-10)
    assert np.all(s <= sigma[:k] * (1 + 1e-12)) and np.all(s >= sigma[:k] - HMT * sigma[k])
    assert np.allclose(U.T @ U, np.eye(k), atol=1e-12)
    assert np.allclose(Vt @ Vt.T, np.eye(k), atol=1e-12)


def test_svd_exact_low_rank_and_bad_inputs(client):
    rng = np.random.default_rng(10)
    M = rng.standard_normal((300, 4)) @ rng.standard_normal((4, 50))
    workers = sorted(client.scheduler_info()["workers"])
    A = RowBlocks.from_array(client, M, even_layout(300, workers))
    Ub, s, Vt = distributed_svd(A, 4, random_state=0)
    assert np.linalg.norm(M - Ub.gather() * s @ Vt) <= 1e-12 * np.linalg.norm(M)
    with pytest.raises(TypeError, match="RowBlocks"):
        distributed_svd(M, 4)
    with pytest.raises(ValueError, match="n_components=51"):
        distributed_svd(A, 51)
    with pytest.raises(TypeError, match="n_iter"):
        distributed_svd(A, 2, n_iter=1.5)


@pytest.mark.slow
def test_cg_worker_killed_mid_solve_recovered_or_reported():
    """Mode B: a worker process dies during CG; the answer is right, or a clear error."""
    import os
    import signal
    import threading

    from distributed import Client, LocalCluster

    hg = knn_hypergraph(40_000, k=10)
    B = tag_matrix(40_000, 8)
    killed = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        dhg = DistributedHypergraph(hg, client, timeout=300).wait()
        distributed_cg(dhg, B[:, :1], 0.5, rtol=1e-2)  # compile on the workers
        victim = sorted(client.scheduler_info()["workers"])[-1]
        pid = client.run(os.getpid, workers=[victim])[victim]

        def kill():
            os.kill(pid, signal.SIGKILL)
            killed.append(True)

        timer = threading.Timer(2.0, kill)
        timer.start()
        try:
            X, info = distributed_cg(dhg, B, 0.99, rtol=1e-10)
        except (RuntimeError, TimeoutError) as exc:
            assert "worker" in str(exc) or "timed out" in str(exc).lower()
            return
        finally:
            timer.cancel()
        # the timer is cancelled as soon as the solve returns: a kill recorded happened during it
        assert killed, "the solve ended before the worker was killed"
    residual = dense_free_residual(hg, 0.99, X, B)
    assert info == 0 and np.all(residual <= 1e-10 * np.linalg.norm(B, axis=0) * (1 + 1e-6))


def dense_free_residual(hg, alpha, X, B):
    """Column norms of ``B − (I − αΘ) X`` with the local operator (no dense matrix)."""
    return np.linalg.norm(B - (X - alpha * (hg.normalized_adjacency() @ X)), axis=0)
