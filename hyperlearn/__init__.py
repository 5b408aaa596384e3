"""hyperlearn: numerical linear algebra for hypergraph learning.

Matrix-free hypergraph Laplacians with Numba kernels, randomized SVD/eigendecompositions,
block-tessellated low-rank inverses, conjugate-gradient solvers, and adaptive hyperedge-weight
learning for image tagging.

Subpackages are imported lazily, so ``import hyperlearn`` stays fast and compiles no kernel.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY_ATTRS = {
    "Hypergraph": "hyperlearn.hypergraph",
    "HypergraphOperator": "hyperlearn.hypergraph",
    "HypergraphTagger": "hyperlearn.tagging",
    "warm_up": "hyperlearn._warmup",
}
_SUBMODULES = {"datasets", "hypergraph", "linalg", "metrics", "tagging", "testing", "utils"}

__all__ = sorted([*_LAZY_ATTRS, *_SUBMODULES, "__version__"])

if TYPE_CHECKING:  # pragma: no cover - for static analysers only
    from . import datasets, hypergraph, linalg, metrics, tagging, utils  # noqa: F401
    from ._warmup import warm_up  # noqa: F401
    from .hypergraph import Hypergraph, HypergraphOperator  # noqa: F401
    from .tagging import HypergraphTagger  # noqa: F401


def __getattr__(name: str):
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'hyperlearn' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
