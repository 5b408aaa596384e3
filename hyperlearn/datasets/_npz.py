"""Users' own tagging data from an ``.npz`` file."""

from __future__ import annotations

import os

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_tags_npz"]


def load_tags_npz(path):
    """Load a user's tagging problem: features ``X`` and observed 0/1 tags ``Y``.

    Parameters
    ----------
    path : str or path-like
        An ``.npz`` file (``numpy.savez``) holding ``X`` (n × d, real) and ``Y`` (n × T, 0/1).
        Optional arrays: ``Y_true`` (n × T, 0/1, the ground truth used for evaluation) and
        ``tag_names`` (T strings). Rows of ``Y`` without any tag are the images to tag.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``features`` float (n, d) (float32 kept, any other real dtype as float64),
        ``tags_observed`` uint8 (n, T), ``tags_true`` (uint8 or None), ``untagged`` bool (n,)
        (rows of ``Y`` without a tag), ``tag_names`` (list of T str).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not an ``.npz`` archive of plain arrays, ``X`` or ``Y`` is missing or
        empty, their shapes disagree, ``X`` is not real and finite, ``Y`` (or ``Y_true``) holds
        values other than 0 and 1, or ``tag_names`` does not have one name per column of ``Y``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "mine.npz")
    >>> np.savez(path, X=np.eye(3), Y=np.array([[1, 0], [0, 1], [0, 0]]))
    >>> load_tags_npz(path).untagged.tolist()
    [False, False, True]
    """
    path = os.fspath(path)
    X, Y, Y_true, names = _read_arrays(path)
    _check_features(X, Y)
    for name, arr in (("Y", Y), ("Y_true", Y_true)):
        if arr is not None:
            _check_binary(arr, name)
    if Y_true is not None and Y_true.shape != Y.shape:
        raise ValueError(f"Y_true must have the shape of Y {Y.shape}; got {Y_true.shape}.")
    if names is not None and names.shape != (Y.shape[1],):
        raise ValueError(
            f"tag_names must be {Y.shape[1]} names (one per column of Y); got shape {names.shape}."
        )
    if names is None:
        names = [f"tag_{t}" for t in range(Y.shape[1])]
    else:
        names = names.tolist()
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    Y = Y.astype(np.uint8)
    return Bunch(
        features=X,
        tags_observed=Y,
        tags_true=None if Y_true is None else Y_true.astype(np.uint8),
        untagged=~Y.any(axis=1),
        tag_names=[str(v) for v in names],
    )


def _read_arrays(path):
    """``(X, Y, Y_true or None, tag_names or None)`` from the archive, pickles never enabled."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such .npz file: {path!r}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"cannot read {path!r} as an .npz archive of numeric arrays (numpy.savez): {exc}"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{path!r} holds a single array, not an .npz archive with 'X' and 'Y' (numpy.savez)."
        )
    with archive:
        missing = [key for key in ("X", "Y") if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path!r} must hold arrays 'X' (features) and 'Y' (observed 0/1 tags); missing "
                f"{missing}, found {archive.files}."
            )
        arrays = {}
        for key in ("X", "Y", "Y_true", "tag_names"):
            if key not in archive.files:
                arrays[key] = None
                continue
            try:
                arrays[key] = np.asarray(archive[key])
            except ValueError:  # object arrays need pickle, which is never enabled
                raise ValueError(
                    f"cannot load the arrays of {path!r}: {key!r} is an object array (a "
                    "scipy.sparse matrix or a ragged list passed to numpy.savez is stored as one); "
                    f"save it as a dense numeric array, e.g. {key}=matrix.toarray()."
                ) from None
        return arrays["X"], arrays["Y"], arrays["Y_true"], arrays["tag_names"]


def _check_features(X, Y):
    """X real, finite, (n, d) with the n of Y (n, T); nothing empty."""
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X must be (n, d) and Y (n, T) with the same n; got X {X.shape} and Y {Y.shape}."
        )
    if X.shape[0] == 0 or X.shape[1] == 0 or Y.shape[1] == 0:
        raise ValueError(
            f"X and Y must have at least one row and one column; got X {X.shape} and Y {Y.shape}."
        )
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)):
        raise ValueError(f"X must hold real numbers; got dtype {X.dtype}.")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"X must be finite; it has {int(np.sum(~np.isfinite(X)))} NaN or inf.")


def _check_binary(arr, name):
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must hold 0/1 numbers; got dtype {arr.dtype}.")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise ValueError(
            f"{name} must contain only 0 and 1; got {int(bad.sum())} other values, e.g. "
            f"{arr[bad][0]!r}."
        )
