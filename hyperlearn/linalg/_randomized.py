"""Randomized range finders, truncated SVD and symmetric eigendecompositions (public functions).

The functions here follow Halko, Martinsson & Tropp (2011).  ``randomized_range_finder`` and
``randomized_svd`` keep the argument names, defaults and result contract of
``sklearn.utils.extmath`` (same Gaussian test matrix for the same ``random_state``, same sign
convention, dtype preserved), so that code written for scikit-learn switches by changing one import.
What differs is *how* the default call spends its passes over the matrix (see ``randomized_svd``).

Each public function validates its inputs, then calls a private body: the products and small
factorisations live in ``_sketch``, the adaptive block Krylov SVD in ``_krylov_svd``, the
fixed-accuracy mode in ``_fixed_accuracy`` and block Lanczos in ``_lanczos``.

Inputs may be NumPy arrays, SciPy sparse matrices/arrays, or
:class:`scipy.sparse.linalg.LinearOperator` objects; operators are only ever applied to blocks of
vectors (``A @ X`` and ``A.T @ X``), never materialised.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg as sla

from ..utils._validation import check_choice, check_int, check_real
from ._fixed_accuracy import _fixed_accuracy_svd
from ._krylov_svd import _auto_krylov_svd
from ._lanczos import (
    EIGH_KRYLOV_OVERSAMPLES,
    RITZ_RTOL_F32,
    RITZ_RTOL_F64,
    _block_lanczos_eigh,
)
from ._sketch import (
    NORMALIZERS,
    _as_operand,
    _check_symmetric,
    _gaussian,
    _Products,
    _qr,
    _resolve_normalizer,
    _sign_flip_columns,
    _stage_b,
    _subspace_range,
)

__all__ = [
    "nystrom",
    "randomized_eigh",
    "randomized_range_finder",
    "randomized_svd",
]

# n_iter="auto": scikit-learn's rule (7 power iterations for few components, otherwise 4); the
# adaptive paths use it as a cap, so they never make more passes than scikit-learn's default.
_SKLEARN_AUTO_ITER_SMALL_K = 7
_SKLEARN_AUTO_ITER_LARGE_K = 4
_SKLEARN_SMALL_K_FRACTION = 0.1


def _sklearn_auto_n_iter(n_components, min_dim):
    """scikit-learn's ``n_iter='auto'``: 7 if ``n_components < 0.1 * min_dim`` else 4."""
    if n_components < _SKLEARN_SMALL_K_FRACTION * min_dim:
        return _SKLEARN_AUTO_ITER_SMALL_K
    return _SKLEARN_AUTO_ITER_LARGE_K


# --- range finder ----------------------------------------------------------------------------


def randomized_range_finder(
    A, *, size, n_iter, power_iteration_normalizer="auto", random_state=None
):
    """Orthonormal matrix whose range approximates the range of ``A``.

    Same contract as ``sklearn.utils.extmath.randomized_range_finder``: ``n_iter`` normalized power
    iterations on an ``(A.shape[1], size)`` Gaussian test matrix, then a QR factorisation; the same
    ``random_state`` draws the same test matrix as scikit-learn.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (m, n)
        Input matrix.  Operators are applied to blocks (``A @ X``, ``A.T @ X``) only.
    size : int
        Number of columns of the returned basis (capped at ``min(m, n)``).
    n_iter : int
        Number of power iterations (each costs two passes over ``A``).
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        Factorisation applied after every product: 'auto' is 'LU' (scikit-learn: 'none' when
        ``n_iter <= 2``; LU spans the same subspace but keeps exactly low-rank input accurate to
        rounding).  'none' overflows or loses small directions for large ``n_iter``.
    random_state : int, RandomState, Generator or None, default=None
        Source of the Gaussian test matrix.

    Returns
    -------
    Q : ndarray of shape (m, size)
        Orthonormal columns; float32 when ``A`` is float32, float64 otherwise.

    Raises
    ------
    ValueError, TypeError
        For a non-2-D, empty, complex or non-finite ``A`` and invalid parameters.

    Notes
    -----
    The power scheme samples :math:`Y = (AA^T)^q A\\Omega`; HMT (2011, Thm. 9.2) bound the error by
    :math:`\\|(I-P_Y)A\\| \\le \\|(I-P_Y)(AA^T)^qA\\|^{1/(2q+1)}`.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review
    53(2), 2011, Algorithms 4.3 and 4.4.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import randomized_range_finder
    >>> A = np.outer(np.arange(1.0, 6.0), np.ones(4))
    >>> Q = randomized_range_finder(A, size=1, n_iter=2, random_state=0)
    >>> bool(np.allclose(Q @ (Q.T @ A), A))
    True
    """
    A, dtype = _as_operand(A, "A")
    size = check_int(size, "size", low=1)
    n_iter = check_int(n_iter, "n_iter", low=0)
    normalizer = _resolve_normalizer(power_iteration_normalizer, n_iter)
    Omega = _gaussian(random_state, (A.shape[1], size), dtype)
    return _subspace_range(_Products(A, dtype), Omega, n_iter, normalizer)


# --- randomized SVD --------------------------------------------------------------------------


def randomized_svd(
    M,
    n_components,
    *,
    n_oversamples=10,
    n_iter="auto",
    power_iteration_normalizer="auto",
    transpose="auto",
    flip_sign=True,
    random_state=None,
    svd_lapack_driver="gesdd",
    tol=None,
):
    """Truncated randomized SVD, a drop-in for ``sklearn.utils.extmath.randomized_svd``.

    Parameters
    ----------
    M : {ndarray, sparse matrix, LinearOperator} of shape (n_samples, n_features)
        Matrix to decompose.  Integer/bool input is converted to float64; float32 stays float32
        and float16 becomes float32.
        Sparse LIL/DOK input warns (``SparseEfficiencyWarning``) and is converted to CSR.
    n_components : int
        Number of singular triplets, ``1 <= n_components <= min(M.shape)``.  In fixed-accuracy
        mode (``tol`` given) it is the largest rank allowed.
    n_oversamples : int, default=10
        Extra random vectors: the block width is ``n_components + n_oversamples`` (capped at
        ``min(M.shape)``).  The adaptive block Krylov path of ``n_iter='auto'`` uses blocks of
        ``min(n_components + min(n_oversamples, 2), max(12, n_components // 2 + 2))`` columns
        and at most scikit-learn's cost (see Notes).
    n_iter : int or 'auto', default='auto'
        Integer: exactly that many normalized power iterations of subspace iteration (HMT Alg.
        4.4), as scikit-learn does, ``2 * n_iter + 2`` passes over ``M``.  'auto' (with
        ``power_iteration_normalizer='auto'``): adaptive randomized block Krylov iteration,
        stopped once its estimated accuracy reaches that predicted for scikit-learn's default
        call (see Notes), never more iterations than
        scikit-learn's 'auto' (7 if ``n_components < 0.1 * min(M.shape)`` else 4).
    power_iteration_normalizer : {'auto', 'QR', 'LU', 'none'}, default='auto'
        Normalizer of subspace iteration ('auto': 'LU'; scikit-learn uses 'none' if
        ``n_iter <= 2``, which spans the same subspace but loses accuracy to rounding).  Setting
        it explicitly with ``n_iter='auto'`` selects scikit-learn's fixed-iteration scheme.
    transpose : bool or 'auto', default='auto'
        Work on ``M.T`` ('auto': when ``n_samples < n_features``).  Results are transposed back.
    flip_sign : bool, default=True
        Make the largest-magnitude entry of each column of ``U`` positive (scikit-learn's
        ``svd_flip`` convention, also when transposed).
    random_state : int, RandomState, Generator or None, default=None
        Source of the Gaussian test matrix; an int or RandomState draws the same test matrix as
        scikit-learn.  Same value, same output.
    svd_lapack_driver : {'gesdd', 'gesvd'}, default='gesdd'
        LAPACK driver of the small SVD.
    tol : float or None, default=None
        Fixed-accuracy mode: grow the basis block by block until the a-posteriori estimate of
        ``||M - Q Q^T M||_2`` is at most ``tol * ||M||_2`` (see Notes), then return the fewest
        components that keep the estimated error within the tolerance.  The rank chosen is
        ``len(s)``.  ``n_iter`` is then the number of power iterations per block ('auto' = 2).

    Returns
    -------
    U : ndarray of shape (n_samples, r)
        Left singular vectors (orthonormal columns), ``r = n_components`` (``r = len(s)`` in
        fixed-accuracy mode).
    s : ndarray of shape (r,)
        Singular values, non-increasing.
    Vt : ndarray of shape (r, n_features)
        Right singular vectors as rows.

    Raises
    ------
    ValueError, TypeError
        Invalid ``M`` (not 2-D, empty, complex, NaN/inf) or parameters (naming the parameter).

    Warns
    -----
    sparse.SparseEfficiencyWarning
        For LIL and DOK input.
    RuntimeWarning
        In fixed-accuracy mode when ``n_components`` is reached before ``tol``.

    Notes
    -----
    *Default path.*  Randomized block Krylov iteration (Musco & Musco 2015) builds the basis
    :math:`[A\\Omega, (AA^T)A\\Omega, \\dots, (AA^T)^{s-1}A\\Omega]` by block Lanczos
    bidiagonalisation with full re-orthogonalisation.  It makes the same number of passes over
    ``M`` per iteration as subspace iteration but keeps every block, so the approximation after
    ``q`` iterations is at least as good as subspace iteration's after ``q`` (its space contains
    :math:`(AA^T)^qA\\Omega`) and converges like a Chebyshev polynomial, i.e. in
    :math:`\\tilde O(1/\\sqrt\\varepsilon)` instead of :math:`\\tilde O(1/\\varepsilon)` iterations.
    The iteration stops as soon as it is (estimated to be) at least as accurate as
    scikit-learn's default call, not far beyond: after each block, the product that starts the
    next block gives the exact residual norms of the current Ritz triplets, hence an error
    estimate :math:`\\mathrm{res}_j^2 / (2(\\theta_j^2 - \\theta_{b+1}^2))` (Kato-Temple,
    ``b = n_components + 2``) of each top singular value; it is compared with the largest error
    that scikit-learn's subspace iteration with ``q`` iterations and ``l = n_components +
    n_oversamples`` columns is predicted to leave, :math:`c\\,(1 - r_j^2)\\,r_j^{4q+2}`,
    :math:`r_j = \\theta_{l+1}/\\theta_j`, with ``c = 0.3`` (a low quantile of the constant
    observed for scikit-learn; our estimate is an upper bound of the error), plus a rounding floor
    :math:`10\\,\\varepsilon` (relative).  The test also runs half a block earlier, on the
    Ritz triplets of :math:`U^TMV` before the newest ``V`` block (see ``_block_krylov_svd``),
    which saves a pass when it already passes.  Blocks have
    ``max(12, n_components // 2 + 2)`` columns (at most ``n_components + 2``): block Lanczos
    gains one polynomial degree per block whatever its width, so narrower blocks reach a given
    accuracy with fewer columns in all; but a block of ``b`` columns finds at most ``b`` copies
    of a repeated singular value, and the copies it misses leave no trace in the residuals.
    So as soon as ``b`` of the top ``n_components`` Ritz values lie within a relative spread of
    1e-2 (``CLUSTER_RTOL``), the iteration restarts with ``n_components + 2`` columns.  Inside
    a cluster the error estimate uses the gap below the cluster (Kato-Temple for the group,
    with a converged Ritz value as its edge).  On dense input the run may cost at most what
    scikit-learn's call costs (its products counted with their fixed part of streaming the
    matrix, plus re-orthogonalisation and the stopping tests; see
    ``DENSE_PASS_FIXED_COLUMNS``); on
    sparse and operator input it multiplies at most as many columns as scikit-learn's call.
    When that budget leaves fewer than ``max(2, (q + 1) // 2 + 1)`` blocks, scikit-learn's scheme
    is used.  The output is the Rayleigh-Ritz approximation :math:`U U^T M` on the
    final basis (HMT stage B), which the block recurrence provides without an extra
    pass.  Full re-orthogonalisation costs :math:`O((m+n)\\,w\\,b)` per iteration for a basis
    of width ``w``; when a deterministic cost model says it would exceed half the cost of the
    products (wide blocks, or cheap sparse/operator products) scikit-learn's scheme is used
    instead (LU-normalised subspace iteration, same iteration count, same results up to
    rounding).

    *Fixed-accuracy mode.*  The basis grows by blocks (sizes doubling).  Each round draws ``b``
    Gaussian vectors and runs ``q`` QR-normalised power steps on the residual
    :math:`E = (I - QQ^T)M`; the triangular factors give the exact column norms of the
    unnormalised :math:`(EE^T)^qE\\Omega`, and HMT Lemma 4.1 applied to :math:`(EE^T)^qE`
    gives :math:`\\|E\\| \\le (a\\sqrt{2/\\pi}\\max_i\\|(EE^T)^qE\\omega_i\\|)^{1/(2q+1)}` with
    probability at least :math:`1 - a^{-b}`; :math:`a = 10^{6/b}` (failure probability
    :math:`10^{-6}`).
    If the estimate certifies the current basis the loop stops, otherwise the normalised block
    joins the basis (it is a power-scheme sample of the residual), so the estimate costs no
    extra pass.  :math:`\\|M\\|` is estimated by :math:`\\sigma_1(Q_1^TM) \\le \\|M\\|`.  With
    ``est`` the final estimate, the smallest ``r`` with ``est + s[r] <= tol * ||M||`` is
    returned, so :math:`\\|M - U\\Sigma V^T\\| \\le` ``tol * ||M||`` with probability at least
    :math:`1 - 10^{-6}`.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with randomness", SIAM Review 53(2),
    2011.  C. Musco, C. Musco, "Randomized block Krylov methods for stronger and faster approximate
    singular value decomposition", NeurIPS 2015.  W. Yu, Y. Gu, Y. Li, "Efficient randomized
    algorithms for the fixed-precision low-rank matrix approximation", SIMAX 39(3), 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import randomized_svd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 5)) @ rng.standard_normal((5, 40))
    >>> U, s, Vt = randomized_svd(A, 5, random_state=0)
    >>> bool(np.allclose(U * s @ Vt, A))
    True
    >>> U, s, Vt = randomized_svd(A, 40, tol=1e-8, random_state=0)  # rank found from tol
    >>> len(s)
    5
    """
    A, dtype = _as_operand(M, "M")
    m, n = A.shape
    n_components = check_int(n_components, "n_components", low=1, high=min(m, n))
    n_oversamples = check_int(n_oversamples, "n_oversamples", low=0)
    n_iter = check_int(n_iter, "n_iter", low=0, allow=("auto",))
    check_choice(power_iteration_normalizer, "power_iteration_normalizer", NORMALIZERS)
    if not (isinstance(transpose, (bool, np.bool_)) or transpose == "auto"):
        raise ValueError(f"transpose={transpose!r} is invalid: expected True, False or 'auto'.")
    if not isinstance(flip_sign, (bool, np.bool_)):
        raise TypeError(f"flip_sign={flip_sign!r} is invalid: expected True or False.")
    check_choice(svd_lapack_driver, "svd_lapack_driver", ("gesdd", "gesvd"))
    tol = check_real(tol, "tol", low=0.0, high=1.0, low_open=True, high_open=True, allow=(None,))
    return _randomized_svd(
        A,
        dtype,
        n_components,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        normalizer=power_iteration_normalizer,
        transpose=m < n if transpose == "auto" else bool(transpose),
        flip_sign=bool(flip_sign),
        random_state=random_state,
        driver=svd_lapack_driver,
        tol=tol,
    )


def _randomized_svd(
    A, dtype, n_components, *, n_oversamples, n_iter, normalizer, transpose, flip_sign,
    random_state, driver, tol,
):  # fmt: skip
    """Body of :func:`randomized_svd` on validated inputs: fixed accuracy or fixed rank, then
    the finishing step (dtype, layout, signs, transposing back)."""
    A = _Products(A, dtype, name="M")
    if transpose:
        A = A.T
    if tol is not None:
        U, s, Vt = _fixed_accuracy_svd(
            A, tol, n_components, n_oversamples, n_iter, random_state, driver, dtype
        )
    else:
        U, s, Vt = _fixed_rank_svd(
            A, dtype, n_components, n_oversamples, n_iter, normalizer, random_state, driver
        )
    return _finish_svd(U, s, Vt, dtype, transpose, flip_sign)


def _fixed_rank_svd(
    A, dtype, n_components, n_oversamples, n_iter, normalizer, random_state, driver
):
    """``n_components`` triplets: the adaptive block Krylov path when ``n_iter`` and the
    normalizer are 'auto' and it pays off, scikit-learn's subspace iteration otherwise."""
    m, n = A.shape
    size = min(n_components + n_oversamples, m, n)
    Omega = _gaussian(random_state, (n, size), dtype)
    adaptive = n_iter == "auto" and normalizer == "auto"
    if n_iter == "auto":
        n_iter = _sklearn_auto_n_iter(n_components, min(m, n))
    factors = None
    if adaptive:
        factors = _auto_krylov_svd(A, Omega, n_components, n_iter, size, dtype)
    if factors is None:
        Q = _subspace_range(A, Omega, n_iter, _resolve_normalizer(normalizer, n_iter))
        factors = _stage_b(Q, A.rmm(Q), driver)
    U, s, Vt = factors
    return U[:, :n_components], s[:n_components], Vt[:n_components]


def _finish_svd(U, s, Vt, dtype, transpose, flip_sign):
    """C-ordered factors of ``dtype``, scikit-learn's signs (decided on the returned ``U``), and
    the factors of a transposed run swapped back."""
    U = np.ascontiguousarray(U, dtype=dtype)
    Vt = np.ascontiguousarray(Vt, dtype=dtype)
    s = s.astype(dtype, copy=False)
    if flip_sign:
        if transpose:
            # the decision is on the columns of the returned U, i.e. the rows of this Vt
            V_tt, U_tt = _sign_flip_columns(Vt.T.copy(), U.T.copy())
            return np.ascontiguousarray(V_tt), s, np.ascontiguousarray(U_tt)
        U, Vt = _sign_flip_columns(U, Vt)
        return U, s, Vt
    if transpose:
        return np.ascontiguousarray(Vt.T), s, np.ascontiguousarray(U.T)
    return U, s, Vt


# --- symmetric eigendecompositions -----------------------------------------------------------


def _check_symmetric_sketch(A, n_components, n_oversamples, check_symmetric):
    """Checked ``(A as _Products, dtype, n_components, n_oversamples)`` of nystrom/eigh; the
    symmetry test (the only one that costs a pass) runs last."""
    A, dtype = _as_operand(A, "A")
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (symmetric); got shape {A.shape}.")
    n_components = check_int(n_components, "n_components", low=1, high=A.shape[0])
    n_oversamples = check_int(n_oversamples, "n_oversamples", low=0)
    if not isinstance(check_symmetric, (bool, np.bool_)):
        raise TypeError(f"check_symmetric={check_symmetric!r} is invalid: expected True or False.")
    if check_symmetric:
        _check_symmetric(A, dtype)
    return _Products(A, dtype), dtype, n_components, n_oversamples


def nystrom(
    A, n_components, *, n_oversamples=10, n_iter=0, random_state=None, check_symmetric=True
):
    """Randomized Nyström approximation of a symmetric positive semidefinite matrix.

    Returns ``(w, U)`` with ``A ~ U diag(w) U^T``, ``w >= 0`` descending, ``U`` orthonormal.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (n, n)
        Symmetric positive semidefinite.
    n_components : int
        Rank of the approximation, ``1 <= n_components <= n``.
    n_oversamples : int, default=10
        The sketch has ``n_components + n_oversamples`` columns (capped at ``n``).
    n_iter : int, default=0
        Power steps applied to the test matrix before the Nyström product (each one more pass);
        0 gives the one-pass method.
    random_state : int, RandomState, Generator or None, default=None
        Source of the test matrix.
    check_symmetric : bool, default=True
        Refuse an ``A`` that is not symmetric to rounding,
        :math:`\\|A - A^T\\|_F > c\\sqrt{n}\\,\\varepsilon\\,\\|A\\|_F` with ``c = 10`` (exact for
        arrays and sparse matrices, one pass; for a LinearOperator estimated from one product
        with four Gaussian vectors).  ``False`` skips the check.

    Returns
    -------
    w : ndarray of shape (n_components,)
        Eigenvalue estimates, non-negative, descending.
    U : ndarray of shape (n, n_components)
        Orthonormal eigenvector estimates (largest-|.| entry of each column positive).

    Raises
    ------
    ValueError
        If ``A`` is not square or not symmetric (see ``check_symmetric``), or the sketch shows
        that ``A`` is not positive semidefinite (the shifted core matrix has no Cholesky factor).

    Notes
    -----
    HMT Alg. 5.5 in the numerically stable form of Tropp, Yurtsever, Udell & Cevher (2017):
    with an orthonormal test matrix :math:`\\Omega` and :math:`Y = A\\Omega`, shift
    :math:`\\nu = \\sqrt{n}\\,\\varepsilon\\,\\|Y\\|_F`, :math:`Y_\\nu = Y + \\nu\\Omega`,
    :math:`C^TC = \\Omega^TY_\\nu`, :math:`B = Y_\\nu C^{-1} = U\\Sigma W^T`, and
    :math:`\\hat A = U\\max(\\Sigma^2 - \\nu I, 0)U^T`.  The result is PSD by construction and
    :math:`\\hat A \\preceq A` up to rounding, so :math:`I + \\hat A` never overshoots.

    References
    ----------
    J. A. Tropp, A. Yurtsever, M. Udell, V. Cevher, "Fixed-rank approximation of a positive-
    semidefinite matrix from streaming data", NeurIPS 2017.  Z. Frangella, J. A. Tropp, M. Udell,
    "Randomized Nyström preconditioning", SIMAX 44(2), 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import nystrom
    >>> G = np.random.default_rng(0).standard_normal((50, 4))
    >>> w, U = nystrom(G @ G.T, 4, random_state=0)
    >>> bool(np.allclose(U * w @ U.T, G @ G.T))
    True
    """
    n_iter = check_int(n_iter, "n_iter", low=0)
    A, dtype, n_components, n_oversamples = _check_symmetric_sketch(
        A, n_components, n_oversamples, check_symmetric
    )
    return _nystrom(A, dtype, n_components, n_oversamples, n_iter, random_state)


def _nystrom(A, dtype, n_components, n_oversamples, n_iter, random_state):
    """Body of :func:`nystrom` on validated inputs (``A`` as ``_Products``)."""
    n = A.shape[0]
    size = min(n_components + n_oversamples, n)
    Omega = _qr(_gaussian(random_state, (n, size), dtype))
    for _ in range(n_iter):
        Omega = _qr(A.sym_mm(Omega))
    Y = A.sym_mm(Omega)
    eps = np.finfo(dtype).eps
    nu = math.sqrt(n) * eps * float(np.linalg.norm(Y))
    if nu == 0.0:  # A Omega == 0: the approximation is zero
        U = np.zeros((n, n_components), dtype=dtype)
        U[np.arange(n_components), np.arange(n_components)] = 1
        return np.zeros(n_components, dtype=dtype), U
    Y += nu * Omega
    core = Omega.T @ Y
    core = 0.5 * (core + core.T)
    try:
        C = sla.cholesky(core, lower=False, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "nystrom: A does not look symmetric positive semidefinite (Omega^T A Omega + nu I has "
            "no Cholesky factor); use randomized_eigh(A, method='subspace') for indefinite A."
        ) from exc
    B = sla.solve_triangular(C, Y.T, trans="T", lower=False, check_finite=False).T
    U, sig, _ = sla.svd(B, full_matrices=False, check_finite=False)
    w = np.maximum(sig[:n_components] ** 2 - nu, 0.0).astype(dtype, copy=False)
    U = np.ascontiguousarray(U[:, :n_components], dtype=dtype)
    _sign_flip_columns(U)
    return w, U


def randomized_eigh(
    A,
    n_components,
    *,
    method="subspace",
    n_oversamples=10,
    n_iter="auto",
    random_state=None,
    check_symmetric=True,
):
    """Top eigenpairs of a symmetric matrix or operator, eigenvalues descending.

    Parameters
    ----------
    A : {ndarray, sparse matrix, LinearOperator} of shape (n, n)
        Symmetric ("subspace") or symmetric positive semidefinite ("nystrom").  Only ``A @ X`` is
        used.
    n_components : int
        Number of eigenpairs, ``1 <= n_components <= n``.
    method : {'subspace', 'nystrom'}, default='subspace'
        'subspace': randomized block Lanczos (block Krylov) with full re-orthogonalisation and
        Rayleigh-Ritz; selects the ``n_components`` eigenvalues largest in magnitude.
        'nystrom': one-pass Nyström (see :func:`nystrom`), PSD-preserving.
    n_oversamples : int, default=10
        Block width ``n_components + n_oversamples`` (capped at ``n``) with an integer
        ``n_iter``.  With ``n_iter='auto'`` the Krylov block is narrower,
        ``n_components + min(n_oversamples, 2)`` (see Notes), and ``n_oversamples`` sets the
        budget.
    n_iter : int or 'auto', default='auto'
        'subspace': number of Krylov expansion steps (one product with ``A`` each; ``n_iter + 1``
        passes).  'auto' stops when the residual-based error estimate of every top Ritz value
        is below ``1e-6`` relative (``1e-4`` float32), after at most as many matrix-vector
        products as scikit-learn's ``_randomized_eigsh`` makes (``2 * it + 2`` products of width
        ``n_components + n_oversamples``, ``it`` its 'auto' power-iteration count).
        'nystrom': power steps before the sketch ('auto' = 0, the one-pass method).
    random_state : int, RandomState, Generator or None, default=None
        Source of the test matrix.
    check_symmetric : bool, default=True
        Refuse an ``A`` that is not symmetric to rounding,
        :math:`\\|A - A^T\\|_F > c\\sqrt{n}\\,\\varepsilon\\,\\|A\\|_F` with ``c = 10`` (exact for
        arrays and sparse matrices, one pass; for a LinearOperator estimated from one product
        with four Gaussian vectors).  ``False`` skips the check.

    Returns
    -------
    w : ndarray of shape (n_components,)
        Eigenvalues, descending.
    V : ndarray of shape (n, n_components)
        Orthonormal eigenvectors (largest-|.| entry of each column positive).

    Raises
    ------
    ValueError
        For a non-square or non-symmetric ``A`` (see ``check_symmetric``), invalid parameters,
        or (nystrom) an ``A`` that is not PSD.

    Notes
    -----
    Only the symmetric part of ``A`` is seen by the method, so a non-symmetric ``A`` would
    give the eigenvalues of neither ``A`` nor :math:`(A + A^T)/2`: hence ``check_symmetric``.
    The tolerance is that of rounding: each entry of a computed matrix carries an error of
    about :math:`\\sqrt{n}\\,\\varepsilon` relative (probabilistic rounding analysis, Higham &
    Mary 2019), and ``c = 10`` covers the few operations that produced it.  For PSD ``A`` the
    eigenvalues largest in magnitude are the largest.  Rayleigh-Ritz values are lower bounds of
    the true top eigenvalues of a PSD matrix (Cauchy interlacing).

    Block Lanczos gains one polynomial degree per product whatever the block width, so 'auto'
    uses a block only two columns wider than ``n_components``: a narrow block reaches a given
    accuracy with fewer matrix-vector products in all.  For a cheap sparse operator
    and few eigenpairs ARPACK (``scipy.sparse.linalg.eigsh``, single-vector implicitly restarted
    Lanczos, one degree per matrix-vector product) remains as fast or faster: a product with a
    block of ``b`` columns costs several single products there, and our full
    re-orthogonalisation and Rayleigh-Ritz work grows with the basis (see the ``randomized``
    benchmark, case ``digits``).

    References
    ----------
    HMT 2011, Alg. 5.3 and 5.5; Musco & Musco, NeurIPS 2015.  N. J. Higham, T. Mary, "A new
    approach to probabilistic rounding error analysis", SIAM J. Sci. Comput. 41(5), 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperlearn.linalg import randomized_eigh
    >>> A = np.diag(1.0 / np.arange(1.0, 101.0))
    >>> w, V = randomized_eigh(A, 3, random_state=0)
    >>> np.round(w, 8).tolist()
    [1.0, 0.5, 0.33333333]
    """
    check_choice(method, "method", ("subspace", "nystrom"))
    if method == "nystrom":
        q = 0 if n_iter == "auto" else check_int(n_iter, "n_iter", low=0)
        return nystrom(
            A,
            n_components,
            n_oversamples=n_oversamples,
            n_iter=q,
            random_state=random_state,
            check_symmetric=check_symmetric,
        )
    A, dtype, n_components, n_oversamples = _check_symmetric_sketch(
        A, n_components, n_oversamples, check_symmetric
    )
    n_iter = check_int(n_iter, "n_iter", low=0, allow=("auto",))
    return _randomized_eigh(A, dtype, n_components, n_oversamples, n_iter, random_state)


def _randomized_eigh(A, dtype, n_components, n_oversamples, n_iter, random_state):
    """Body of :func:`randomized_eigh` (block Lanczos) on validated inputs."""
    n = A.shape[0]
    size = min(n_components + n_oversamples, n)
    Omega = _gaussian(random_state, (n, size), dtype)
    adaptive = n_iter == "auto"
    if adaptive:
        it = _sklearn_auto_n_iter(n_components, n)
        # the same column budget as scikit-learn's _randomized_eigsh (2 it + 2 products of
        # width k + p), spent on a narrower block: see EIGH_KRYLOV_OVERSAMPLES
        budget = (2 * it + 2) * size
        width = min(size, n_components + EIGH_KRYLOV_OVERSAMPLES)
        Omega = np.ascontiguousarray(Omega[:, :width])
        steps = max(1, budget // width - 1)
    else:
        steps = n_iter
    rtol = RITZ_RTOL_F32 if dtype == np.float32 else RITZ_RTOL_F64
    w, V = _block_lanczos_eigh(A, Omega, n_components, steps, rtol, adaptive, dtype)
    V = np.ascontiguousarray(V, dtype=dtype)
    _sign_flip_columns(V)
    return w.astype(dtype, copy=False), V
