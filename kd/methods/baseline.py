"""The student trained alone on the labels (the reference every method must beat)."""

from __future__ import annotations

from torch import nn

from ..schedules import Constant
from .base import Batch, Distiller, class_cross_entropy

__all__ = ["Baseline"]


class Baseline(Distiller):
    """Cross-entropy training of the student, no teacher.

    Parameters
    ----------
    student : torch.nn.Module
        Classifier returning logits.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> d = Baseline(nn.Linear(4, 3))
    >>> sorted(d.losses(Batch(torch.ones(2, 4), torch.tensor([0, 2])), epoch=0))
    ['ce']
    """

    def __init__(self, student: nn.Module) -> None:
        super().__init__(student, None)
        self.schedule = Constant({"ce": 1.0})

    def losses(self, batch: Batch, epoch: int) -> dict:
        return {"ce": class_cross_entropy(self.student(batch.inputs), batch, "Baseline")}
