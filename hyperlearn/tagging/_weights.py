"""Hyperedge-weight updates of adaptive hypergraph learning (Gao et al. 2013), centred.

With the tag scores ``F`` fixed, the joint objective

    J(F, w) = tr(Fᵀ (I − Θ(w)) F) + λ ‖F − Y‖²_F + μ Σ_e δ_e (w_e − w₀_e)²,   1ᵀw = 1, w ≥ 0,

is minimised over ``w`` with the vertex degrees ``Dv`` held at their current value.  Then
``tr(Fᵀ Θ F) = Σ_e w_e c_e`` with ``c_e = ‖γ_eᵀ F‖² / δ(e)``, ``γ_e = Dv^{-1/2} H[:, e]``, and the
w-step is the quadratic programme ``min_w  μ Σ_e δ_e (w_e − w₀_e)² − cᵀw`` on the simplex.

* The penalty is centred on the starting weights ``w₀``, so ``μ → ∞`` gives back exactly the
  fixed-weight model (Gao's ``μ‖w‖²`` pulls towards uniform weights instead).
* It is weighted by the hyperedge degrees ``δ_e``: ``c_e`` grows with the size of a hyperedge
  (it is ``δ_e`` times the squared norm of the mean of ``γ``-scaled scores over ``e``), so the
  step of ``w_e`` is driven by the size-neutral gain ``c_e / δ_e`` (see
  :func:`centred_weights`).
* :func:`natural_mu` expresses μ in scale-free units.

The uncentred updates of Gao et al. (``μ‖w‖²``: :func:`simplex_weights`,
:func:`closed_form_weights`) are kept for reference and comparison.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "centred_closed_form",
    "centred_weights",
    "closed_form_weights",
    "degree_term",
    "natural_mu",
    "objective",
    "penalty_scales",
    "project_simplex",
    "project_weighted_simplex",
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


def objective(F, Y, c, w, *, alpha, mu, w0=None, scales=None):
    """``J(F, w) = ‖F‖² − Σ_e w_e c_e + λ‖F − Y‖² + penalty`` with ``λ = (1 − α)/α``.

    The penalty is ``μ Σ_e s_e (w_e − w₀_e)²`` (``s``: :func:`penalty_scales`) when ``w0`` is
    given, Gao's ``μ‖w‖²`` otherwise.  ``c`` must be computed with the degrees of ``w``
    (``Σ_e w_e c_e = tr(Fᵀ Θ(w) F)``).  The f-step ``(I − αΘ) F = (1 − α) Y`` is the exact
    minimiser of ``J`` over ``F`` for this λ: ``J = (1/α)(tr(Fᵀ(I − αΘ)F) − 2(1 − α) tr(FᵀY)) +
    const``, the energy that (block) CG decreases at every iteration.
    """
    lam = (1.0 - alpha) / alpha
    F64 = np.asarray(F, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    smooth = float(np.vdot(F64, F64)) - float(np.dot(w, c))
    fit = float(np.sum((F64 - Y) ** 2))
    if w0 is None:
        return smooth + lam * fit + mu * float(np.dot(w, w))
    if not np.isfinite(mu):
        return smooth + lam * fit  # μ = ∞ is only reached at w = w₀, where the penalty is 0
    d = w - w0
    return smooth + lam * fit + mu * float(np.dot(scales, d * d))


def penalty_scales(edge_degrees):
    """Scales ``s_e = max(δ_e, 1)`` of the centred penalty, float64.

    ``δ_e >= 1`` for every non-empty hyperedge of a 0/1 or probabilistic incidence whose
    centre (or any member) enters with ``h = 1``, so the floor only touches empty hyperedges
    (a tag no image carries), whose ``c_e`` is 0.
    """
    return np.maximum(np.asarray(edge_degrees, dtype=np.float64), 1.0)


def natural_mu(mu, c, w0, scales):
    """The absolute μ of a scale-free ``mu``: ``mu · (w₀ᵀc) / (2 Σ_e s_e w₀_e²)``.

    ``w₀ᵀc = tr(Fᵀ Θ(w₀) F)`` is the smoothness credit the starting weights earn, so the
    penalty of moving every weight from ``w₀`` to 0 is ``mu/2`` times that credit.  For one
    family of equal hyperedges (uniform ``w₀``, equal ``δ``) the unconstrained step is
    ``w_e/w₀_e − 1 = (c_e − c̄)/(mu · c̄)``: ``mu = 1`` moves a weight by its relative gain.
    The value is invariant to scaling ``F``, ``Y`` or ``w₀``.
    """
    credit = float(np.dot(w0, c))
    return mu * max(credit, np.finfo(np.float64).tiny) / (2.0 * float(np.dot(scales, w0 * w0)))


def project_weighted_simplex(v, a, total=1.0):
    """``argmin_{w ≥ 0, Σ w = total} Σ_e a_e (w_e − v_e)²`` for positive ``a`` (float64).

    The KKT conditions give ``w_e = max(v_e − τ/(2a_e), 0)`` for one multiplier ``τ``: the sum
    is piecewise linear and decreasing in ``τ`` with breakpoints ``b_e = 2a_e v_e``.  With the
    breakpoints sorted in decreasing order, ``τ_j = (Σ_{i≤j} v_i − total) / Σ_{i≤j} 1/(2a_i)``
    is the multiplier if the first ``j`` are active, and the answer is the largest ``j`` with
    ``τ_j < b_j``.  With all ``a_e`` equal this is the projection of Duchi et al. (2008)
    (:func:`project_simplex`).  ``O(m log m)``.

    Parameters
    ----------
    v : ndarray of shape (m,)
        Finite values (the unconstrained minimiser).
    a : ndarray of shape (m,)
        Positive finite weights of the squared distance.
    total : float, default=1.0
        Positive sum of the result.

    Returns
    -------
    ndarray of shape (m,)

    Raises
    ------
    ValueError
        Shapes that differ or are not 1-D, NaN/inf, a non-positive ``a`` or ``total``.

    Examples
    --------
    >>> import numpy as np
    >>> project_weighted_simplex(np.array([0.5, 0.2, -1.0]), np.ones(3)).round(12).tolist()
    [0.65, 0.35, 0.0]
    >>> project_weighted_simplex(np.array([1.0, 1.0]), np.array([1.0, 3.0])).tolist()
    [0.25, 0.75]
    """
    v = np.asarray(v, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"v must be a non-empty 1-D array; got shape {v.shape}.")
    if a.shape != v.shape:
        raise ValueError(f"a must have the shape of v {v.shape}; got {a.shape}.")
    if not (np.all(np.isfinite(v)) and np.all(np.isfinite(a))):
        raise ValueError("v and a must be finite; got NaN or inf.")
    if not np.all(a > 0):
        raise ValueError("every entry of a must be > 0.")
    if not total > 0:
        raise ValueError(f"total must be > 0; got {total!r}.")
    inv = 0.5 / a
    breaks = v / inv
    order = np.argsort(-breaks, kind="stable")
    tau = (np.cumsum(v[order]) - total) / np.cumsum(inv[order])
    j = np.flatnonzero(tau < breaks[order])[-1]
    return np.maximum(v - tau[j] * inv, 0.0)


def centred_weights(c, w0, scales, mu):
    """The centred w-step: ``argmin_{w ∈ simplex} μ Σ_e s_e (w_e − w₀_e)² − cᵀw``.

    Completing the square, the objective is ``μ Σ_e s_e (w_e − w₀_e − c_e/(2μ s_e))² + const``,
    so the minimiser is the ``s``-weighted projection (:func:`project_weighted_simplex`) of
    ``w₀ + c/(2μ s)``: where it is interior, ``w_e = w₀_e + (c_e − τ)/(2μ s_e)``, a step driven
    by the size-neutral gain ``c_e/δ_e``.  ``mu = inf`` returns ``w₀`` (projected, so exactly
    ``w₀`` when it lies on the simplex).
    """
    w0 = np.asarray(w0, dtype=np.float64)
    scales = np.asarray(scales, dtype=np.float64)
    if not np.isfinite(mu):
        return project_weighted_simplex(w0, scales)
    return project_weighted_simplex(w0 + np.asarray(c, np.float64) / (2.0 * mu * scales), scales)


def centred_closed_form(c, w0, scales, mu):
    """The centred w-step with only ``Σ w = 1`` (weights may go negative): its stationary point.

    ``w_e = w₀_e + (c_e − τ)/(2μ s_e)`` with ``τ`` chosen so that ``Σ w = Σ w₀``.
    """
    w0 = np.asarray(w0, dtype=np.float64)
    if not np.isfinite(mu):
        return w0.copy()
    inv = 1.0 / (2.0 * mu * np.asarray(scales, dtype=np.float64))
    c = np.asarray(c, dtype=np.float64)
    tau = float(np.dot(c, inv)) / float(inv.sum())
    return w0 + (c - tau) * inv
