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
        ``features`` float (n, d), ``tags_observed`` uint8 (n, T), ``tags_true`` (uint8 or None),
        ``untagged`` bool (n,) (rows of ``Y`` without a tag), ``tag_names``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``X`` or ``Y`` is missing, their shapes disagree, ``X`` is not finite or ``Y`` not 0/1.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "mine.npz")
    >>> np.savez(path, X=np.eye(3), Y=np.array([[1, 0], [0, 1], [0, 0]]))
    >>> load_tags_npz(path).untagged.tolist()
    [False, False, True]
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such .npz file: {path!r}")
    with np.load(path, allow_pickle=False) as archive:
        missing = [key for key in ("X", "Y") if key not in archive.files]
        if missing:
            raise ValueError(
                f"{path!r} must hold arrays 'X' (features) and 'Y' (observed 0/1 tags); missing "
                f"{missing}, found {archive.files}."
            )
        X = np.asarray(archive["X"])
        Y = np.asarray(archive["Y"])
        Y_true = np.asarray(archive["Y_true"]) if "Y_true" in archive.files else None
        names = archive["tag_names"].tolist() if "tag_names" in archive.files else None
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X must be (n, d) and Y (n, T) with the same n; got X {X.shape} and Y {Y.shape}."
        )
    if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
        raise ValueError("X must be real and finite (no NaN or inf).")
    for name, arr in (("Y", Y), ("Y_true", Y_true)):
        if arr is not None and not np.all(np.isin(arr, (0, 1))):
            raise ValueError(f"{name} must contain only 0 and 1.")
    if Y_true is not None and Y_true.shape != Y.shape:
        raise ValueError(f"Y_true must have the shape of Y {Y.shape}; got {Y_true.shape}.")
    if names is None:
        names = [f"tag_{t}" for t in range(Y.shape[1])]
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
