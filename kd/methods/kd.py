"""Hinton knowledge distillation (soft teacher logits + labels)."""

from __future__ import annotations

from torch import nn

from hyperlearn.utils._validation import check_real

from ..losses import kd_loss
from ..schedules import Constant
from .base import Batch, Distiller, class_cross_entropy

__all__ = ["KD"]


def hinton_terms(logits, batch: Batch, *, T: float, alpha: float, who: str = "KD") -> dict:
    """Hinton KD terms: ``"soft"`` (T² KL to the teacher logits), ``"ce"`` if ``alpha < 1``."""
    out = {"soft": kd_loss(logits, batch.teacher["logits"], T=T, alpha=1.0)}
    if alpha < 1.0:
        out["ce"] = class_cross_entropy(logits, batch, f"{who} with alpha < 1")
    return out


class KD(Distiller):
    r"""Hinton KD: :math:`\alpha T^2 \mathrm{KL}(p_T\|q_T) + (1-\alpha)\mathrm{CE}`.

    Parameters
    ----------
    student, teacher : torch.nn.Module
        Classifiers with the same number of classes; the teacher is frozen.
    T : float, default=4.0
        Temperature.
    alpha : float, default=0.9
        Weight of the soft term (RepDistiller's CIFAR setting; SRM's stage 3 uses 0.25–0.75).

    Notes
    -----
    The two terms are reported separately as ``"soft"`` (:math:`T^2\,\mathrm{KL}`) and
    ``"ce"``, weighted ``alpha`` and ``1 - alpha``, so their sum is :func:`kd.losses.kd_loss`.
    """

    def __init__(
        self, student: nn.Module, teacher: nn.Module, *, T: float = 4.0, alpha: float = 0.9
    ) -> None:
        if teacher is None:
            raise ValueError("KD needs a teacher, got None")
        super().__init__(student, teacher)
        # validated here rather than at the first batch
        self.T = check_real(T, "T", low=0, low_open=True)
        self.alpha = check_real(alpha, "alpha", low=0, high=1)
        self.schedule = Constant({"soft": self.alpha, "ce": 1.0 - self.alpha})

    def teacher_outputs(self, inputs):
        return {"logits": self.teacher(inputs)}

    def losses(self, batch: Batch, epoch: int) -> dict:
        return hinton_terms(self.student(batch.inputs), batch, T=self.T, alpha=self.alpha)
