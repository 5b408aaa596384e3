"""Block Lanczos with full re-orthogonalisation: the body of ``randomized_eigh(method='subspace')``.

Rayleigh-Ritz on the whole Krylov basis; with ``adaptive`` the iteration stops on a
residual-based error estimate of the top Ritz values (see :func:`_block_lanczos_eigh`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from ._sketch import _orth_block, _qr

# relative accuracy asked of the top Ritz values with n_iter='auto' (float64, float32)
RITZ_RTOL_F64 = 1e-6
RITZ_RTOL_F32 = 1e-4
# c in the rounding floor c * eps * |theta_1| of a Ritz value
RITZ_ATOL_FACTOR = 100.0
# 'auto' block n_components + this: one polynomial degree per product whatever the block width,
# so a narrow block needs fewer columns in all.  See benchmarks/TUNING.md
EIGH_KRYLOV_OVERSAMPLES = 2
# the residual test runs only once the top Ritz values moved by at most this times rtol in the
# last step (skipping costs at most one step, never accuracy).  See benchmarks/TUNING.md
EIGH_CHECK_FACTOR = 1e3


def _lanczos_step(A, Q_j, Q_buf, T, lo, hi, b, max_width, eps):
    """Multiply the newest block ``Q_j`` (columns lo:hi of the basis) by ``A``, store its
    coefficients in ``T`` and orthonormalise the rest; returns ``(Q_next, R_next)`` (None, None
    once the basis is full).  ``A Q_j = Q_{1..j} T[:, lo:hi] + Q_next R_next``."""
    AQ = A.sym_mm(Q_j)
    width = hi
    nb = min(b, max_width - width)
    Q_next = R_next = None
    if width < max_width and nb == hi - lo:
        # the coefficients Q^T (A Q_j) of the re-orthogonalisation are T's new columns: one GEMM
        # with the whole basis instead of two.  The large Lanczos coefficients (on Q_{j-1}, Q_j)
        # go first, so the full pass removes only small components and rarely needs a second
        local = max(0, lo - b)
        c_local = Q_buf[:, local:hi].T @ AQ
        AQ -= Q_buf[:, local:hi] @ c_local
        Q_next, R_next, C = _orth_block(AQ, Q_buf[:, :width], eps)
        C[local:hi] += c_local
        T[:hi, lo:hi] = C
    else:
        T[:hi, lo:hi] = Q_buf[:, :hi].T @ AQ
        if width < max_width:
            Q_next, R_next, _ = _orth_block(AQ[:, :nb].copy(), Q_buf[:, :width], eps)
    T[lo:hi, :lo] = T[:lo, lo:hi].T
    return Q_next, R_next


def _converged_pairs(t_j, R_next, lo, hi, b, k, rtol, eps):
    """Eigenpairs of the projected ``t_j`` if every top-k pair passes the residual test, else None.

    A Ritz pair ``(theta, Q s)`` has the exact residual norm ``rho = ||R_next s[last block]||``;
    its relative eigenvalue error is estimated by ``min(rho, rho^2 / gap) / |theta|`` (Weyl's and
    the Kato-Temple bound, ``gap`` = |theta| minus the first Ritz magnitude past the block width)
    and must be at most ``rtol`` plus the rounding floor RITZ_ATOL_FACTOR eps |theta_1| / |theta|.
    """
    w, S = sla.eigh(t_j, check_finite=False)
    order = np.argsort(-np.abs(w), kind="stable")
    top = order[:k]
    rho = np.linalg.norm(R_next.astype(np.float64) @ S[lo:hi, top], axis=0)
    mag = np.maximum(np.abs(w[top]).astype(np.float64), np.finfo(np.float64).tiny)
    est = rho
    if order.shape[0] > b:
        gap = mag - abs(float(w[order[b]]))
        quad = np.where(gap > 0, rho * rho / np.maximum(gap, 1e-300), np.inf)
        est = np.minimum(est, quad)
    floor = RITZ_ATOL_FACTOR * eps * mag[0] / mag
    return (w, S) if np.all(est / mag <= rtol + floor) else None


def _block_lanczos_eigh(A, Omega, k, max_steps, rtol, adaptive, dtype):
    """Block Lanczos with full re-orthogonalisation; Rayleigh-Ritz on the whole Krylov basis.

    Each step is one product with A.  Returns (w, V) of the top-k eigenpairs by magnitude,
    eigenvalues descending.  With ``adaptive``, the eigenvalues of the projected matrix are
    computed after every step, and the residual test of :func:`_converged_pairs` (which needs
    the eigenvectors) runs once the top values changed by at most EIGH_CHECK_FACTOR * rtol.
    """
    n = A.shape[0]
    b = Omega.shape[1]
    # the last block may be narrower, so that a basis of all n columns (exact) is reachable
    max_width = min((max_steps + 1) * b, n)
    Q_buf = np.empty((n, max_width), dtype=dtype, order="F")
    T = np.zeros((max_width, max_width), dtype=dtype)
    eps = np.finfo(dtype).eps
    Q_j = _qr(Omega)
    width = 0
    pairs = None
    prev_ritz = None
    while True:
        lo, hi = width, width + Q_j.shape[1]
        Q_buf[:, lo:hi] = Q_j
        Q_j, R_next = _lanczos_step(A, Q_j, Q_buf, T, lo, hi, b, max_width, eps)
        width = hi
        if width >= max_width:
            break
        if not adaptive or Q_j.shape[1] != hi - lo:
            continue
        t_j = 0.5 * (T[:width, :width] + T[:width, :width].T)
        ritz = np.sort(np.abs(sla.eigvalsh(t_j, check_finite=False)))[::-1][:k]
        settling = prev_ritz is not None and np.all(
            np.abs(ritz - prev_ritz) <= EIGH_CHECK_FACTOR * rtol * np.abs(ritz)
        )
        prev_ritz = ritz
        if settling:
            pairs = _converged_pairs(t_j, R_next, lo, hi, b, k, rtol, eps)
            if pairs is not None:
                break
    if pairs is None:
        pairs = sla.eigh(0.5 * (T[:width, :width] + T[:width, :width].T), check_finite=False)
    w, S = pairs
    order = np.argsort(-np.abs(w), kind="stable")[:k]
    w, S = w[order], S[:, order]
    V = Q_buf[:, :width] @ S
    desc = np.argsort(-w, kind="stable")
    return w[desc], V[:, desc]
