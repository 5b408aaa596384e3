"""Fixed-accuracy mode of ``randomized_svd`` (``tol=``): a blocked randomized QB whose rank is
found from an a-posteriori error estimate (HMT 2011, Lemma 4.1; Yu, Gu & Li 2018).

The maths is in ``randomized_svd``'s Notes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg as sla

from ._sketch import _normal, _orth_block, _orthogonalize_against, _qr_r, _rng_of, _stage_b

# failure probability a^-b of HMT Lemma 4.1 for the a-posteriori estimate of ||(I - QQ^T) A||
TOL_FAILURE_PROBABILITY = 1e-6
# columns of the first block (and the smallest block)
_TOL_MIN_BLOCK = 10
# power steps per block with n_iter='auto': they sharpen basis and estimate (the slack factor
# a sqrt(2/pi) is raised to the power 1/(2q+1)).  See benchmarks/TUNING.md
_TOL_AUTO_POWER_STEPS = 2


def _probe_residual(A, Q_all, b, n_iter, rng, dtype):
    """One round: a power-scheme sample of the residual ``E = (I - Q Q^T) A`` and the
    a-posteriori estimate of ``||E||`` from it.

    q = ``n_iter`` QR-normalised power steps on ``b`` Gaussian vectors; the triangular factors
    give the exact column norms of the unnormalised ``(E E^T)^q E Omega`` (``T``, its scale kept
    in logs), so HMT Lemma 4.1 applied to ``(E E^T)^q E`` yields
    ``||E|| <= (a sqrt(2/pi) max_i ||T[:, i]||)^(1/(2q+1))`` with probability ``>= 1 - a^-b``.
    Returns ``(Q_j, est)``, ``Q_j`` the normalised sample.
    """
    n = A.shape[1]
    Y = A.mm(_normal(rng, (n, b), dtype))
    _orthogonalize_against(Y, Q_all)
    Q_j, T = _qr_r(Y)
    T = T.astype(np.float64)
    log_scale = 0.0
    for _ in range(n_iter):
        P, S = _qr_r(A.rmm(Q_j))
        Y = A.mm(P)
        _orthogonalize_against(Y, Q_all)
        Q_j, R = _qr_r(Y)
        T = R.astype(np.float64) @ (S.astype(np.float64) @ T)
        c = float(np.max(np.abs(T)))
        if c > 0:  # keep T representable; the scale is tracked in logs
            T /= c
            log_scale += math.log(c)
    col_max = float(np.max(np.linalg.norm(T, axis=0))) if T.size else 0.0
    a = TOL_FAILURE_PROBABILITY ** (-1.0 / b)
    if col_max <= 0:
        return Q_j, 0.0
    log_est = math.log(a * math.sqrt(2.0 / math.pi) * col_max) + log_scale
    return Q_j, math.exp(log_est / (2 * n_iter + 1))


def _fixed_accuracy(A, tol, max_rank, first_block, n_iter, rng, dtype):
    """Blocked randomized QB with a-posteriori error control.

    Each round probes the residual (:func:`_probe_residual`).  If the estimate certifies the
    current basis, stop; otherwise the normalised sample joins the basis with one more pass for
    its rows of Q^T A.  Block sizes double (``first_block``, then the current rank), so the
    number of rounds grows like log(rank).

    Returns ``(Q, Z = A^T Q, est, norm_estimate, reached)``.
    """
    m, n = A.shape
    Q_all = None
    z_blocks = []
    rank = 0
    norm_est = 0.0
    b = min(first_block, max_rank)
    while True:
        Q_j, est = _probe_residual(A, Q_all, b, n_iter, rng, dtype)
        if rank > 0 and est <= tol * norm_est:
            return Q_all, np.concatenate(z_blocks, axis=1), est, norm_est, True
        if rank >= max_rank:
            return Q_all, np.concatenate(z_blocks, axis=1), est, norm_est, False
        # accept the block: re-orthogonalise (its columns may be rank deficient) and project
        Q_j, _, _ = _orth_block(Q_j, Q_all, np.finfo(dtype).eps)
        z_j = A.rmm(Q_j)
        if rank == 0:
            norm_est = float(sla.svdvals(z_j, check_finite=False)[0])
        Q_all = Q_j if Q_all is None else np.concatenate([Q_all, Q_j], axis=1)
        z_blocks.append(z_j)
        rank += Q_j.shape[1]
        if rank >= min(m, n):  # the basis spans the range: exact
            return Q_all, np.concatenate(z_blocks, axis=1), 0.0, norm_est, True
        b = min(max(first_block, rank), max_rank - rank, min(m, n) - rank) or first_block


def _fixed_accuracy_svd(A, tol, n_components, n_oversamples, n_iter, random_state, driver, dtype):
    """``randomized_svd``'s ``tol`` mode on the (possibly transposed) products ``A``.

    Returns the fewest leading triplets ``r`` with ``est + s[r] <= tol * ||A||`` (``est`` the
    final a-posteriori estimate); warns and returns ``n_components`` triplets when the rank
    limit is reached first.
    """
    rng = _rng_of(random_state)
    q = _TOL_AUTO_POWER_STEPS if n_iter == "auto" else n_iter
    first = max(_TOL_MIN_BLOCK, n_oversamples)
    Q, Z, est, norm_est, reached = _fixed_accuracy(A, tol, n_components, first, q, rng, dtype)
    U, s, Vt = _stage_b(Q, Z, driver)
    if not reached:
        warnings.warn(
            f"randomized_svd: tolerance tol={tol} not reached with n_components="
            f"{n_components} components (estimated relative error "
            f"{est / max(norm_est, 1e-300):.3g}); returning n_components components.",
            RuntimeWarning,
            stacklevel=4,
        )
        r = min(n_components, s.shape[0])
    else:
        budget = tol * norm_est - est
        # tail[j] = s[j] (the first discarded value when keeping j components), 0 at the end
        tail = np.append(s, 0.0)
        r = max(1, min(int(np.argmax(tail <= budget)), n_components))
    return U[:, :r], s[:r], Vt[:r]
