"""assert_normalized_laplacian: the defining properties of Zhou's normalized Laplacian."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..utils._validation import describe
from . import _linalg
from ._assert_psd import measure_symmetric
from ._bounds import SPECTRUM_ROUNDING_SLACK
from ._inputs import check_operator, check_safety, check_tolerance

__all__ = ["assert_normalized_laplacian"]

# assert_normalized_laplacian(hypergraph) also checks the explicit sparse Laplacian up to this
# many vertices (one more dense eigenvalue problem).
EXPLICIT_CHECK_MAX_N = 300


def assert_normalized_laplacian(
    hypergraph, laplacian=None, *, tol=None, safety=1.0, random_state=0
):
    r"""Assert the defining properties of Zhou's normalized hypergraph Laplacian.

    With incidence H (n×m), hyperedge weights w, weighted vertex degrees d = H w and
    :math:`u = D_v^{1/2}\mathbf 1`, the Laplacian
    :math:`\Delta = I - D_v^{-1/2} H W D_e^{-1} H^T D_v^{-1/2}` satisfies

    - symmetry: :math:`\|\Delta - \Delta^T\|_2 \le \text{tol}`;
    - spectrum in [0, 1]: :math:`\lambda_{\min} \ge -\text{tol}` and
      :math:`\lambda_{\max} \le 1 + \text{tol}` (Θ = I − Δ = BBᵀ ⪰ 0 with λ_max(Θ) = 1);
    - the stationary vector: :math:`\|\Delta u\|_2 \le \text{tol}\cdot\|u\|_2`, i.e.
      Θ·Dv^{1/2}1 = Dv^{1/2}1 on non-isolated vertices (isolated vertices have u_i = 0).

    with :math:`\text{tol} = \text{safety}\cdot c\sqrt{\max(n, m)}\,\varepsilon` (``c =
    SPECTRUM_ROUNDING_SLACK``, ε of the Laplacian's dtype, ‖Δ‖₂ ≤ 1).  The degrees d and u are
    recomputed here from ``hypergraph.incidence`` and ``hypergraph.weights`` in float64, so a
    Laplacian built with *unweighted* vertex degrees and non-uniform weights (the XGI pitfall)
    fails the stationary-vector check.

    Parameters
    ----------
    hypergraph : Hypergraph
        Anything with ``incidence`` (n×m, sparse or dense, values in [0, 1]) and ``weights``
        (m,).
    laplacian : ndarray, sparse matrix or LinearOperator of shape (n, n), optional
        The Laplacian under test.  Default: ``hypergraph.laplacian("normalized")`` (matrix-free)
        and, when n <= 300, also ``hypergraph.laplacian("normalized", explicit=True)``.
    tol : float, optional
        Absolute tolerance replacing the rounding bound.
    safety : float, default=1
        Factor ≥ 1 on the tolerance.
    random_state : int or numpy Generator, default=0
        Seed of the probe vectors for n > 1000 (see :func:`assert_symmetric_psd`).

    Returns
    -------
    report : dict
        ``asymmetry``, ``lambda_min``, ``lambda_max``, ``stationary_residual`` (‖Δu‖/‖u‖),
        ``tol``, ``mode``.

    Raises
    ------
    AssertionError
        If a property fails; the message gives each bound, observed value and constant.

    References
    ----------
    D. Zhou, J. Huang, B. Schölkopf, "Learning with hypergraphs: clustering, classification,
    and embedding", NIPS 2006.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from types import SimpleNamespace
    >>> from hyperlearn.testing import assert_normalized_laplacian
    >>> H = sp.csr_matrix(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]))
    >>> w = np.array([1.0, 3.0])
    >>> d = H @ w
    >>> theta = (H.multiply(w / np.asarray(H.sum(axis=0)).ravel()) @ H.T).toarray()
    >>> L = np.eye(3) - theta / np.sqrt(np.outer(d, d))
    >>> report = assert_normalized_laplacian(SimpleNamespace(incidence=H, weights=w), L)
    >>> bool(report["stationary_residual"] < 1e-12)
    True
    """
    if not hasattr(hypergraph, "incidence") or not hasattr(hypergraph, "weights"):
        raise TypeError(
            f"hypergraph={describe(hypergraph)} is not supported: expected an object "
            "with 'incidence' (n×m) and 'weights' (m,) attributes, such as a Hypergraph."
        )
    H = hypergraph.incidence
    H = H.astype(np.float64) if sp.issparse(H) else np.asarray(H, dtype=np.float64)
    w = np.asarray(hypergraph.weights, dtype=np.float64).ravel()
    n, m = H.shape
    if w.shape != (m,):
        raise ValueError(f"weights have shape {w.shape}: expected ({m},) for incidence {H.shape}.")
    safety = check_safety(safety)
    if laplacian is None:
        if not hasattr(hypergraph, "laplacian"):
            raise TypeError("laplacian=None requires hypergraph.laplacian(kind) to exist.")
        report = _check_laplacian(
            hypergraph.laplacian("normalized"), H, w, tol, safety, random_state
        )
        if n <= EXPLICIT_CHECK_MAX_N:
            _check_laplacian(
                hypergraph.laplacian("normalized", explicit=True), H, w, tol, safety, random_state
            )
        return report
    laplacian = check_operator(laplacian, "laplacian")
    if laplacian.shape != (n, n):
        raise ValueError(
            f"laplacian has shape {laplacian.shape}: expected ({n}, {n}) for {n} vertices."
        )
    return _check_laplacian(laplacian, H, w, tol, safety, random_state)


def _check_laplacian(L, H, w, tol, safety, random_state):
    n, m = H.shape
    degrees = np.asarray(H @ w).ravel()
    u = np.sqrt(np.maximum(degrees, 0.0))
    eps = _linalg.machine_eps(_linalg.operator_dtype(L))
    if tol is None:
        tol = SPECTRUM_ROUNDING_SLACK * math.sqrt(max(n, m, 1)) * eps
        tol_text = (
            f"c·√max(n,m)·eps with c = {SPECTRUM_ROUNDING_SLACK:g}, n = {n}, m = {m}, "
            f"eps = {eps:.3e}"
        )
    else:
        tol = check_tolerance(tol, "tol")
        tol_text = "given"
    allowed = safety * tol
    summary = measure_symmetric(L, "The Laplacian", random_state, lambda _: allowed)
    u_norm = float(np.linalg.norm(u))
    if u_norm > 0:
        stationary = float(np.linalg.norm(_linalg.apply(L, u[:, None]))) / u_norm
    else:
        stationary = 0.0  # no edge with positive weight: every vertex is isolated
    report = {**summary, "stationary_residual": stationary, "tol": tol}
    failures = []
    if not summary["asymmetry"] <= allowed:
        failures.append(f"  not symmetric: ‖Δ − Δᵀ‖₂ = {summary['asymmetry']:.6e} > {allowed:.6e}")
    if not summary["lambda_min"] >= -allowed:
        failures.append(f"  λ_min(Δ) = {summary['lambda_min']:.6e} < −{allowed:.6e}")
    if not summary["lambda_max"] <= 1.0 + allowed:
        failures.append(f"  λ_max(Δ) = {summary['lambda_max']:.6e} > 1 + {allowed:.6e}")
    if not stationary <= allowed:
        failures.append(
            f"  Dv^(1/2)·1 (weighted degrees d = H w) is not in the kernel: ‖Δu‖₂/‖u‖₂ = "
            f"{stationary:.6e} > {allowed:.6e}"
        )
    if failures:
        how = "exact (dense)" if summary["mode"] == "dense" else "probed (Ritz values: certain)"
        raise AssertionError(
            "Not Zhou's normalized hypergraph Laplacian Δ = I − Dv^(-1/2) H W De^(-1) Hᵀ "
            "Dv^(-1/2) (spectrum in [0, 1], Δ·Dv^(1/2)1 = 0):\n"
            + "\n".join(failures)
            + f"\n  allowed = safety·tol = {safety:g}·{tol:.6e}, tol = {tol_text}\n"
            f"  spectrum measurement: {how}"
        )
    return report
