r"""Initialisations of SRM's dictionaries, and how informative the labels they give are.

SRM turns the teacher's pixel features into labels through a sparse coder
:math:`s = \sigma(C^\top t + b)` (:class:`kd.methods.srm.SparseCoder`): the pixel label is the
atom of largest code. Those labels only carry information when the pixels spread over many
atoms. The initial dictionary decides much of that, and this module gives four starts:

``"kmeans"``
    Atoms :math:`c_j/\lambda` at the :math:`k`-means centres :math:`c_j` of the pixel vectors,
    with biases :math:`b_j = -\|c_j\|^2/(2\lambda)`, so that
    :math:`C^\top t + b = \tfrac{1}{2\lambda}(\|t\|^2 - \|t - c_j\|^2)`: the pixel label is
    the nearest centre (every cluster is a label from the start), and where the codes of the
    :math:`\lambda` kept atoms saturate at 1 the reconstruction :math:`C\hat s` is the mean of
    the :math:`\lambda` nearest centres (vector quantisation).
``"centred_svd"``
    Pairs :math:`\pm\rho_j v_j` from the top right singular vectors of the *centred* pixel
    vectors (:func:`hyperlearn.linalg.randomized_svd`), with biases :math:`-\rho_j v_j^\top\mu`
    so that atoms see :math:`t - \mu`.
``"svd"``
    The same pairs from the uncentred pixel vectors, zero biases. Post-ReLU features are
    non-negative, so the first singular vector is close to the mean and its positive atom wins
    at nearly every pixel: the labels collapse onto one or a few atoms.
``"random"``
    Kept as drawn (Kaiming-uniform, zero bias), as in the authors' code.

:func:`label_entropy` measures the spread of the pixel labels (in bits). The default start,
``"kmeans"``, gave the most informative labels and the best SRM students; see
benchmarks/TUNING.md.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from hyperlearn.utils._validation import check_choice, check_int

__all__ = ["DICTIONARY_INITS", "centred_svd_atoms", "kmeans_atoms", "label_entropy", "svd_atoms"]

DICTIONARY_INITS = ("kmeans", "centred_svd", "svd", "random")


def svd_atoms(X, n_atoms: int, *, random_state=None) -> np.ndarray:
    r"""Dictionary atoms from the top right singular vectors of pixel features.

    Parameters
    ----------
    X : array of shape (n_samples, D)
        Teacher pixel vectors (centre them first for ``"centred_svd"``).
    n_atoms : int
        Number of atoms wanted (``K``).
    random_state : int, numpy Generator or None
        Passed to :func:`hyperlearn.linalg.randomized_svd`.

    Returns
    -------
    atoms : ndarray of shape (D, m), m = min(n_atoms, 2·r)
        Pairs :math:`\pm\rho_j v_j` for the top ``r = min(D, n_atoms // 2, n_samples - 1)``
        right singular vectors :math:`v_j`, scaled by the RMS projection
        :math:`\rho_j = s_j/\sqrt{n}`. Codes are non-negative (sigmoid), so both signs of a
        direction are needed to reconstruct along it.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> svd_atoms(X, 4, random_state=0).shape
    (6, 4)
    """
    from hyperlearn.linalg import randomized_svd

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    r = min(d, n_atoms // 2, n - 1)
    if r < 1:
        return np.zeros((d, 0))
    _, s, Vt = randomized_svd(X, r, random_state=random_state)
    scaled = Vt.T * (s / math.sqrt(n))
    atoms = np.empty((d, 2 * r))
    atoms[:, 0::2], atoms[:, 1::2] = scaled, -scaled
    return atoms[:, :n_atoms]


def centred_svd_atoms(X, n_atoms: int, *, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    r"""``(atoms, biases)`` of the centred SVD start: :func:`svd_atoms` of :math:`X - \mu`.

    The biases :math:`b_j = -a_j^\top\mu` make each atom :math:`a_j` respond to
    :math:`t - \mu`.
    """
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(axis=0)
    atoms = svd_atoms(X - mu, n_atoms, random_state=random_state)
    return atoms, -(atoms.T @ mu)


def kmeans_atoms(
    X, n_atoms: int, *, n_nonzero: int = 1, random_state=None
) -> tuple[np.ndarray, np.ndarray]:
    r"""``(atoms, biases)`` of the :math:`k`-means start (see the module notes).

    Parameters
    ----------
    X : array of shape (n_samples, D)
        Teacher pixel vectors.
    n_atoms : int
        ``K``; at most ``n_samples`` centres are fitted (the other atoms are left as they are).
    n_nonzero : int, default=1
        :math:`\lambda`, the codes kept per pixel: atoms and biases are divided by it.
    random_state : int or None
        Seed of :class:`sklearn.cluster.KMeans`.

    Returns
    -------
    atoms : ndarray of shape (D, m)
        The centres :math:`c_j/\lambda` as columns, ``m = min(n_atoms, n_samples)``.
    biases : ndarray of shape (m,)
        :math:`-\|c_j\|^2/(2\lambda)`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2))])
    >>> atoms, b = kmeans_atoms(X, 2, random_state=0)
    >>> labels = (X @ atoms + b).argmax(axis=1)
    >>> sorted(np.bincount(labels).tolist())
    [50, 50]
    """
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    X = np.asarray(X, dtype=np.float64)
    m = min(check_int(n_atoms, "n_atoms", low=1), X.shape[0])
    lam = check_int(n_nonzero, "n_nonzero", low=1)
    with warnings.catch_warnings():
        # fewer distinct pixel vectors than atoms (e.g. many all-zero ReLU pixels)
        warnings.simplefilter("ignore", ConvergenceWarning)
        centres = KMeans(m, n_init=1, random_state=random_state).fit(X).cluster_centers_
    return centres.T / lam, -0.5 * (centres**2).sum(axis=1) / lam


def initial_atoms(init: str, X, n_atoms: int, *, n_nonzero: int = 1, random_state=None):
    """``(atoms, biases)`` for ``init`` in :data:`DICTIONARY_INITS` (``None`` for "random")."""
    check_choice(init, "init", DICTIONARY_INITS)
    if init == "random":
        return None
    if init == "svd":
        atoms = svd_atoms(X, n_atoms, random_state=random_state)
        return atoms, np.zeros(atoms.shape[1])
    if init == "centred_svd":
        return centred_svd_atoms(X, n_atoms, random_state=random_state)
    return kmeans_atoms(X, n_atoms, n_nonzero=n_nonzero, random_state=random_state)


def label_entropy(labels, n_labels: int) -> tuple[float, int]:
    r"""Entropy (bits) and number of distinct values of integer labels in ``[0, n_labels)``.

    :math:`H = -\sum_k p_k\log_2 p_k` over the label frequencies :math:`p_k`; at most
    :math:`\log_2 K`. ``0`` means every pixel got the same label.

    Examples
    --------
    >>> label_entropy([0, 1, 2, 3], 8)
    (2.0, 4)
    >>> label_entropy([5, 5, 5], 8)
    (0.0, 1)
    """
    counts = np.bincount(np.asarray(labels, dtype=np.int64).ravel(), minlength=n_labels)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum() + 0.0), int((counts > 0).sum())
