"""Solvers that know nothing about hypergraphs.

Randomized SVD / eigendecompositions (``_randomized``), block tessellation with Woodbury
inverses (``_tessellation``), conjugate-gradient solvers (``_cg``) and the label-propagation
operator ``I − αΘ`` (``shifted``).  Every routine accepts a NumPy array, a SciPy sparse matrix
or a :class:`scipy.sparse.linalg.LinearOperator`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> private module that defines it (imported on first use)
_LAZY_ATTRS = {
    "randomized_range_finder": "_randomized",
    "randomized_svd": "_randomized",
    "randomized_eigh": "_randomized",
    "nystrom": "_randomized",
    "tessellate": "_tessellation",
    "BlockLowRank": "_tessellation",
    "cg": "_cg",
    "block_cg": "_cg",
    "jacobi_preconditioner": "_cg",
    "shifted": "_shifted",
}

__all__ = sorted(_LAZY_ATTRS)

if TYPE_CHECKING:  # pragma: no cover
    from ._cg import block_cg, cg, jacobi_preconditioner  # noqa: F401
    from ._randomized import (  # noqa: F401
        nystrom,
        randomized_eigh,
        randomized_range_finder,
        randomized_svd,
    )
    from ._shifted import shifted  # noqa: F401
    from ._tessellation import BlockLowRank, tessellate  # noqa: F401


def __getattr__(name: str):
    if name not in _LAZY_ATTRS:
        raise AttributeError(f"module 'hyperlearn.linalg' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY_ATTRS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__


def _warm_up(dtypes):
    """Run each kernel of this package once on a tiny input (see :func:`hyperlearn.warm_up`)."""
    import numpy as np

    from ._cg import block_cg

    for dtype in dtypes:  # the fused updates of block_cg's lockstep method
        block_cg(np.eye(12, dtype=dtype), np.ones((12, 2), dtype=dtype), method="batched")
