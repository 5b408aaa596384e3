"""Shared input checks.

Every public function validates its inputs here, once, and passes contiguous arrays of a fixed
dtype to the kernels, which validate nothing.  Each error names the parameter, shows the value
(or a summary of it) and says what was expected.

Dtype policy
------------
Floating inputs keep their precision: ``float32`` stays ``float32`` and ``float64`` stays
``float64``.  Booleans and integers are converted to ``float64`` (documented in each caller);
``float16`` is widened to ``float32`` (everywhere: this is the one float16 rule); complex, object,
string and other dtypes are refused.

Exception types
---------------
``TypeError`` when a value has the wrong type (a float where an integer is expected, a string
where a number is expected, a complex array), ``ValueError`` when it has the right type and a
wrong value (out of range, not one of the choices, NaN).
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

__all__ = [
    "check_choice",
    "check_float_dtype",
    "check_int",
    "check_matrix",
    "check_nonnegative_vector",
    "check_real",
    "describe",
    "float_dtype_of",
]

FLOAT_DTYPES = (np.float32, np.float64)


def describe(value, limit=60):
    """Short printable form of a value for error messages.

    Arrays, sparse matrices, LinearOperators and tensors (anything with ``shape`` and ``dtype``)
    are shown by type, shape and dtype, never by content; other values by a ``repr`` cut to
    ``limit`` characters.

    Examples
    --------
    >>> import numpy as np
    >>> describe(np.zeros((2, 3)))
    'ndarray(shape=(2, 3), dtype=float64)'
    >>> describe("x" * 100, limit=10)
    "'xxxxxx..."
    """
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype") and not isinstance(value, np.generic):
        return f"{type(value).__name__}(shape={tuple(shape)}, dtype={value.dtype})"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_float_dtype(dtype, name="dtype"):
    """Return ``np.float32`` or ``np.float64`` for ``dtype``; refuse anything else.

    Raises
    ------
    TypeError
        If ``dtype`` is not float32 or float64.
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{name}={dtype!r} is not a dtype: expected float32 or float64.") from exc
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name}={resolved} is not supported: expected float32 or float64.")
    return resolved.type


def float_dtype_of(dtype, name="X"):
    """Floating dtype used to store data of input dtype ``dtype``.

    float32 -> float32, float16 -> float32, float64 -> float64, bool/int/uint -> float64.

    Raises
    ------
    TypeError
        For complex, object, string, datetime and other non-real dtypes.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float32 or dtype == np.float16:
        return np.float32
    if dtype == np.float64:
        return np.float64
    if dtype.kind in "biu":
        return np.float64
    raise TypeError(
        f"{name} has dtype {dtype}, which is not supported: expected real numbers "
        "(float32, float64, or bool/int converted to float64)."
    )


def _check_finite(values, name):
    if not np.all(np.isfinite(values)):
        n_bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise ValueError(
            f"{name} contains {n_bad} NaN or infinite value(s): expected finite values."
        )


def check_matrix(
    X,
    name="X",
    *,
    dtype=None,
    accept_sparse=False,
    nonnegative=False,
    min_rows=1,
    min_cols=1,
):
    """Validate a 2-D real matrix and convert it to a floating dtype.

    Parameters
    ----------
    X : array-like or sparse matrix
        The input.
    name : str
        Parameter name used in error messages.
    dtype : {None, float32, float64}
        Target dtype; ``None`` follows the input (see the module docstring).
    accept_sparse : bool
        If true, a SciPy sparse matrix/array is accepted and returned as CSR
        (duplicates summed, explicit zeros removed).  Otherwise it is refused.
    nonnegative : bool
        Refuse negative entries.
    min_rows, min_cols : int
        Minimum shape.

    Returns
    -------
    ndarray (C-contiguous) or scipy.sparse.csr_matrix

    Raises
    ------
    TypeError
        Sparse input where not accepted; unsupported dtype.
    ValueError
        Not 2-D, too small, NaN/inf, negative entries when ``nonnegative``.
    """
    if sp.issparse(X):
        if not accept_sparse:
            raise TypeError(
                f"{name} is a sparse matrix ({describe(X)}): expected a dense array-like."
            )
        target = float_dtype_of(X.dtype, name) if dtype is None else check_float_dtype(dtype)
        X = sp.csr_matrix(X, dtype=target, copy=True)
        X.sum_duplicates()
        X.eliminate_zeros()
        values = X.data
    else:
        try:
            arr = np.asarray(X)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
        target = float_dtype_of(arr.dtype, name) if dtype is None else check_float_dtype(dtype)
        if arr.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} has dtype {arr.dtype}, which is not supported: expected real numbers."
            )
        X = np.ascontiguousarray(arr, dtype=target)
        values = X
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D: got an array with {X.ndim} dimension(s).")
    if X.shape[0] < min_rows or X.shape[1] < min_cols:
        raise ValueError(
            f"{name} has shape {X.shape}: expected at least {min_rows} row(s) and "
            f"{min_cols} column(s)."
        )
    _check_finite(values, name)
    if nonnegative and values.size and values.min() < 0:
        raise ValueError(f"{name} has negative entries (min {float(values.min())}): expected >= 0.")
    return X


def check_nonnegative_vector(w, length, name="weights", *, dtype=np.float64):
    """Validate a 1-D vector of finite non-negative reals of a given length.

    Returns
    -------
    ndarray of shape (length,), C-contiguous, of ``dtype`` (a fresh copy).

    Raises
    ------
    TypeError
        Unsupported dtype (complex, object, string).
    ValueError
        Wrong shape or length, NaN/inf, negative entries.
    """
    try:
        arr = np.asarray(w)
    except Exception as exc:
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} has dtype {arr.dtype}: expected real numbers.")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D: got shape {arr.shape}.")
    if arr.shape[0] != length:
        raise ValueError(
            f"{name} has length {arr.shape[0]}: expected {length} (one per hyperedge)."
        )
    arr = np.array(arr, dtype=dtype, copy=True, order="C")
    _check_finite(arr, name)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} has negative entries (min {float(arr.min())}): expected >= 0.")
    return arr


def _allowed(value, allow):
    """True if ``value`` is one of the special values in ``allow`` (compared by type and value)."""
    return any(type(value) is type(a) and value == a for a in allow if a is not None) or (
        value is None and None in allow
    )


def _expected_text(kind, low, high, allow, *, low_open=False, high_open=False):
    if low is None and high is None:
        text = kind
    elif high is None:
        text = f"{kind} {'>' if low_open else '>='} {low}"
    elif low is None:
        text = f"{kind} {'<' if high_open else '<='} {high}"
    else:
        text = f"{kind} in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    return " or ".join([repr(a) for a in allow] + [text])


def check_int(value, name, *, low=None, high=None, allow=()):
    """Validate an integer in the closed range ``[low, high]`` (either bound optional).

    Parameters
    ----------
    value : object
        The input.
    name : str
        Parameter name used in error messages.
    low, high : int or None
        Inclusive bounds.
    allow : tuple
        Special values accepted as they are (e.g. ``("auto",)`` or ``(None,)``).

    Returns
    -------
    int or one of ``allow``

    Raises
    ------
    TypeError
        Not an integer (booleans and floats are refused, also 3.0) nor one of ``allow``.
    ValueError
        Out of range.

    Examples
    --------
    >>> check_int(3, "k", low=1)
    3
    >>> check_int("auto", "n_iter", low=0, allow=("auto",))
    'auto'
    """
    if _allowed(value, allow):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        expected = _expected_text("an integer", low, high, allow)
        raise TypeError(f"{name}={describe(value)} is not valid: expected {expected}.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        expected = _expected_text("an integer", low, high, allow)
        raise ValueError(f"{name}={value} is out of range: expected {expected}.")
    return value


def check_real(value, name, *, low=None, high=None, low_open=False, high_open=False, allow=()):
    """Validate a finite real number in a range (bounds optional, open or closed).

    Integers are accepted and returned as ``float``; booleans are refused.

    Parameters
    ----------
    value : object
        The input.
    name : str
        Parameter name used in error messages.
    low, high : float or None
        Bounds; closed unless ``low_open`` / ``high_open``.
    allow : tuple
        Special values accepted as they are (e.g. ``("auto",)`` or ``(None,)``).

    Returns
    -------
    float or one of ``allow``

    Raises
    ------
    TypeError
        Not a real number nor one of ``allow``.
    ValueError
        NaN, infinite or out of range.

    Examples
    --------
    >>> check_real(0.5, "alpha", low=0, high=1, low_open=True, high_open=True)
    0.5
    """
    if _allowed(value, allow):
        return value
    expected = _expected_text(
        "a finite real number", low, high, allow, low_open=low_open, high_open=high_open
    )
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}={describe(value)} is not valid: expected {expected}.")
    value = float(value)
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if not np.isfinite(value) or below or above:
        raise ValueError(f"{name}={value!r} is out of range: expected {expected}.")
    return value


def check_choice(value, name, choices):
    """Validate that ``value`` is one of ``choices`` (strings or other hashables).

    Raises
    ------
    ValueError
        Not one of the choices (also for a value of another type: the message lists them).

    Examples
    --------
    >>> check_choice("cg", "solver", ("cg", "block_cg"))
    'cg'
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a set
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name}={describe(value)} is not valid: expected one of {listed}.")
    return value
