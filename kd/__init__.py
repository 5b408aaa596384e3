"""kd: knowledge distillation in PyTorch (InDistill, information-flow KD, sparse representation
matching, and the classic KD/PKT baselines), with a resumable trainer and offline datasets.
"""

from . import losses, schedules
from .features import FeatureExtractor
from .methods import KD, PKT, SRM, Baseline, Batch, Distiller, InDistill, InformationFlowKD, Stage
from .trainer import CheckpointError, NonFiniteLossError, Trainer

__all__ = [
    "KD",
    "PKT",
    "SRM",
    "Baseline",
    "Batch",
    "CheckpointError",
    "Distiller",
    "FeatureExtractor",
    "InDistill",
    "InformationFlowKD",
    "NonFiniteLossError",
    "Stage",
    "Trainer",
    "losses",
    "schedules",
]
