"""kd: knowledge distillation in PyTorch (InDistill, information-flow KD, sparse representation
matching, and the classic KD/PKT baselines), with a resumable trainer and offline datasets.
"""

from . import losses, schedules
from .features import FeatureExtractor
from .methods import KD, PKT, Baseline, Batch, Distiller, Stage
from .trainer import CheckpointError, NonFiniteLossError, Trainer

__all__ = [
    "KD",
    "PKT",
    "Baseline",
    "Batch",
    "CheckpointError",
    "Distiller",
    "FeatureExtractor",
    "NonFiniteLossError",
    "Stage",
    "Trainer",
    "losses",
    "schedules",
]
