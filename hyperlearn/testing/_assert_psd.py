"""assert_symmetric_psd: symmetry and the sign of the spectrum, measured or certified."""

from __future__ import annotations

from . import _linalg
from ._bounds import SPECTRUM_ROUNDING_SLACK, spectrum_tolerance
from ._inputs import check_operator, check_safety, check_tolerance

__all__ = ["assert_symmetric_psd", "measure_symmetric"]


def measure_symmetric(op, name, random_state, tolerance):
    """:func:`_linalg.symmetric_summary`, with NaN or inf in ``op`` reported as a failed check."""
    import numpy as np

    try:
        # NaN or inf in op make its products NaN: reported below, not as numpy's warning
        with np.errstate(invalid="ignore", over="ignore"):
            return _linalg.symmetric_summary(op, random_state=random_state, tolerance=tolerance)
    except _linalg.NonFiniteError as exc:
        raise AssertionError(
            f"{name} is not a finite symmetric operator: {exc} (a symmetric matrix has a finite, "
            "real spectrum)."
        ) from None


def assert_symmetric_psd(op, *, tol=None, scale=None, safety=1.0, random_state=0):
    r"""Assert that a matrix or operator is symmetric positive semi-definite.

    Checks, with :math:`S = (A + A^T)/2`,

    .. math::

        \|A - A^T\|_2 \le \text{safety}\cdot\text{tol}, \qquad
        \lambda_{\min}(S) \ge -\,\text{safety}\cdot\text{tol},

    where by default :math:`\text{tol} = c\sqrt{n}\,\varepsilon\,\sigma` with
    ``c = SPECTRUM_ROUNDING_SLACK``, ε the unit roundoff of the operator's dtype and σ = ``scale``
    (default ‖S‖₂): the rounding error of a symmetric matrix assembled in floating point, e.g.
    ``B @ B.T``, under the probabilistic model of Higham & Mary (2019).

    Parameters
    ----------
    op : ndarray, sparse matrix or LinearOperator of shape (n, n)
    tol : float, optional
        Absolute tolerance; defaults to the rounding bound above.
    scale : float, optional
        Magnitude of the quantities ``op`` was computed from, when it is a difference of larger
        terms (e.g. ``I − Θ`` with ‖Θ‖ = 1 can be ≈ 0 after cancellation while its rounding error
        is ε-relative to 1).  Default ‖S‖₂, which is right for products such as ``B @ B.T``.
    safety : float, default=1
        Factor ≥ 1 on ``tol``.
    random_state : int or numpy Generator, default=0
        Seed of the probe vectors (large operators only); fixed by default so that an assertion
        is reproducible.

    Returns
    -------
    report : dict
        ``asymmetry``, ``lambda_min``, ``lambda_max``, ``tol`` and ``mode``.

    Raises
    ------
    AssertionError
        If a check fails; the message gives the bound, the observed value and the constants.

    Notes
    -----
    For ``n <= 1000`` the operator is formed densely (a LinearOperator is applied to the
    identity) and measured exactly in float64 (LAPACK ``syevd``).  Larger operators are probed:
    a block Krylov basis Q of span{X, AX, …, A⁶X} with 8 Gaussian start vectors gives
    ‖Qᵀ(A − Aᵀ)Q‖₂ ≤ ‖A − Aᵀ‖₂ and Ritz values of S inside [λ_min(S), λ_max(S)].  A failure
    found by probing is therefore certain; a pass is strong evidence, not a proof.

    References
    ----------
    N. J. Higham, T. Mary, SIAM J. Sci. Comput. 41(5):A2815–A2835, 2019.
    Y. Saad, *Numerical Methods for Large Eigenvalue Problems*, 2nd ed., SIAM 2011, §6.6
    (convergence of extreme Ritz values).

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.testing import assert_symmetric_psd
    >>> B = np.arange(6.0).reshape(3, 2)
    >>> report = assert_symmetric_psd(B @ B.T)
    >>> report["mode"]
    'dense'
    """
    op = check_operator(op, "op")
    n = op.shape[0]
    if op.shape[1] != n:
        raise ValueError(f"op has shape {op.shape}: expected a square matrix or operator.")
    safety = check_safety(safety)
    eps = _linalg.machine_eps(_linalg.operator_dtype(op))
    if tol is not None:
        tol = check_tolerance(tol, "tol")
    if scale is not None:
        scale = check_tolerance(scale, "scale")
    given_tol = tol

    def allowed_for(norm):
        if given_tol is not None:
            return safety * given_tol
        return safety * spectrum_tolerance(n, eps, norm if scale is None else scale)

    summary = measure_symmetric(op, "op", random_state, allowed_for)
    if tol is None:
        sigma = summary["norm"] if scale is None else scale
        tol = spectrum_tolerance(n, eps, sigma)
        tol_text = (
            f"c·√n·eps·scale with c = {SPECTRUM_ROUNDING_SLACK:g}, n = {n}, eps = {eps:.3e}, "
            f"scale = {'‖S‖₂ = ' if scale is None else ''}{sigma:.6e}"
        )
    else:
        tol_text = "given"
    allowed = safety * tol
    report = {**summary, "tol": tol}
    mode = summary["mode"]
    how = (
        "exact (dense)"
        if mode == "dense"
        else "probed (a certificate: the true violation is at least as large)"
    )
    failures = []
    if not summary["asymmetry"] <= allowed:
        failures.append(f"  not symmetric: ‖A − Aᵀ‖₂ = {summary['asymmetry']:.6e} > {allowed:.6e}")
    if not summary["lambda_min"] >= -allowed:
        failures.append(
            f"  not positive semi-definite: λ_min((A+Aᵀ)/2) = {summary['lambda_min']:.6e} < "
            f"−{allowed:.6e}"
        )
    if failures:
        raise AssertionError(
            "Operator is not symmetric positive semi-definite:\n"
            + "\n".join(failures)
            + f"\n  allowed = safety·tol = {safety:g}·{tol:.6e}, tol = {tol_text}\n"
            f"  measurement: {how}"
        )
    return report
