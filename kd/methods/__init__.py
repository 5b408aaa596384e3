"""Distillation methods, each a :class:`Distiller` describing its training stages."""

from .base import Batch, Distiller, Stage, freeze
from .baseline import Baseline
from .indistill import InDistill
from .infoflow import InformationFlowKD
from .kd import KD
from .pkt import PKT
from .srm import SRM

__all__ = [
    "KD",
    "PKT",
    "SRM",
    "Baseline",
    "Batch",
    "Distiller",
    "InDistill",
    "InformationFlowKD",
    "Stage",
    "freeze",
]
