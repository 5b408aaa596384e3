"""Distillation methods, each a :class:`Distiller` describing its training stages."""

from .base import Batch, Distiller, Stage, freeze
from .baseline import Baseline
from .kd import KD
from .pkt import PKT

__all__ = ["KD", "PKT", "Baseline", "Batch", "Distiller", "Stage", "freeze"]
