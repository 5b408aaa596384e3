"""Hyperedge-weight updates of adaptive hypergraph learning (Gao et al. 2013).

With the tag scores ``F`` fixed, the joint objective

    J(F, w) = tr(Fᵀ (I − Θ(w)) F) + λ ‖F − Y‖²_F + μ ‖w‖²,     1ᵀw = 1,

is minimised over ``w`` with the vertex degrees ``Dv`` held at their current value.  Then
``tr(Fᵀ Θ F) = Σ_e w_e c_e`` with ``c_e = ‖γ_eᵀ F‖² / δ(e)``, ``γ_e = Dv^{-1/2} H[:, e]``, and the
w-step is the quadratic programme ``min_w  μ‖w‖² − cᵀw`` subject to ``1ᵀw = 1`` (and ``w ≥ 0``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "closed_form_weights",
    "degree_term",
    "objective",
    "project_simplex",
    "simplex_weights",
]


def project_simplex(v, total=1.0):
    """Euclidean projection of ``v`` onto the simplex ``{w : w ≥ 0, Σ w = total}``.

    The sort-based algorithm of Duchi et al. (2008): with ``u`` sorted in decreasing order,
    ``ρ = max{j : u_j − (Σ_{i≤j} u_i − total)/j > 0}``, ``τ = (Σ_{i≤ρ} u_i − total)/ρ`` and
    ``w = max(v − τ, 0)``.  ``O(m log m)``.

    Parameters
    ----------
    v : ndarray of shape (m,)
        Finite values.
    total : float, default=1.0
        Positive sum of the result.

    Returns
    -------
    ndarray of shape (m,)
        The projection (float64).

    References
    ----------
    J. Duchi, S. Shalev-Shwartz, Y. Singer, T. Chandra, "Efficient projections onto the
    l1-ball for learning in high dimensions", ICML 2008.

    Examples
    --------
    >>> import numpy as np
    >>> project_simplex(np.array([0.5, 0.2, -1.0])).round(12).tolist()
    [0.65, 0.35, 0.0]
    """
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"v must be a non-empty 1-D array; got shape {v.shape}.")
    if not np.all(np.isfinite(v)):
        raise ValueError("v must be finite; got NaN or inf.")
    if not total > 0:
        raise ValueError(f"total must be > 0; got {total!r}.")
    u = np.sort(v)[::-1]
    cumulative = np.cumsum(u) - total
    j = np.arange(1, v.size + 1)
    rho = np.flatnonzero(u - cumulative / j > 0)[-1]
    tau = cumulative[rho] / (rho + 1)
    return np.maximum(v - tau, 0.0)


def closed_form_weights(c, mu):
    """Gao's closed-form update with only the constraint ``Σ w = 1`` (``w`` may go negative).

    ``w_e = 1/m + (c_e − c̄)/(2μ)``: the stationary point of ``μ‖w‖² − cᵀw`` on ``1ᵀw = 1``.
    Negative weights make Θ indefinite (and ``I − αΘ`` possibly not positive definite), so the
    estimator uses :func:`simplex_weights` unless asked otherwise.
    """
    c = np.asarray(c, dtype=np.float64)
    return 1.0 / c.size + (c - c.mean()) / (2.0 * mu)


def simplex_weights(c, mu):
    """The w-step with ``w ≥ 0``: ``argmin_{w ∈ simplex} μ‖w‖² − cᵀw = Π_simplex(c / (2μ))``.

    Completing the square, ``μ‖w‖² − cᵀw = μ‖w − c/(2μ)‖² + const``, so the constrained
    minimiser is the Euclidean projection of ``c/(2μ)`` onto the simplex.  Where that
    projection is interior (all weights positive) it equals :func:`closed_form_weights`.
    """
    return project_simplex(np.asarray(c, dtype=np.float64) / (2.0 * mu))


def degree_term(hypergraph, F):
    """The part of ``∂ tr(Fᵀ Θ(w) F) / ∂w`` that comes from the vertex degrees.

    Gao's w-step holds ``Dv`` fixed, so its model of ``tr(Fᵀ Θ(w) F)`` is ``cᵀw``.  With the
    degrees ``d(v) = Σ_e w_e h(v, e)`` recomputed, the exact gradient is ``c − b`` with

        b_e = Σ_v h(v, e) ⟨F_v, (Θ F)_v⟩ / d(v)

    (differentiate ``d(v)^{-1/2}`` in ``c``).  Since Θ does not change when ``w`` is scaled,
    ``wᵀ(c − b) = 0`` (Euler's theorem for a function homogeneous of degree 0): the fixed-degree
    model overstates the gain of every weight by ``b_e`` on average, and a step along it can raise
    the true objective.

    Parameters
    ----------
    hypergraph : Hypergraph
        With the weights at which the gradient is taken.
    F : ndarray of shape (n_vertices, n_columns)

    Returns
    -------
    ndarray of shape (n_edges,), float64
    """
    F64 = np.asarray(F, dtype=np.float64)
    smoothed = np.asarray(hypergraph.normalized_adjacency() @ F, dtype=np.float64)
    d = np.asarray(hypergraph.vertex_degrees, dtype=np.float64)
    s = np.divide(np.einsum("ij,ij->i", F64, smoothed), d, out=np.zeros_like(d), where=d > 0)
    return np.asarray(hypergraph.incidence_csc.T @ s, dtype=np.float64).ravel()


def objective(F, Y, c, w, *, alpha, mu):
    """``J(F, w) = ‖F‖² − Σ_e w_e c_e + λ‖F − Y‖² + μ‖w‖²`` with ``λ = (1 − α)/α``.

    ``c`` must be computed with the degrees of ``w`` (``Σ_e w_e c_e = tr(Fᵀ Θ(w) F)``).  The
    f-step ``(I − αΘ) F = (1 − α) Y`` is the exact minimiser of ``J`` over ``F`` for this λ.
    """
    lam = (1.0 - alpha) / alpha
    F64 = np.asarray(F, dtype=np.float64)
    smooth = float(np.vdot(F64, F64)) - float(np.dot(w, c))
    fit = float(np.sum((F64 - Y) ** 2))
    return smooth + lam * fit + mu * float(np.dot(w, w))
