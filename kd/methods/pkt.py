"""Probabilistic knowledge transfer on the representation layer (final-layer PKT)."""

from __future__ import annotations

import torch
from torch import nn

from ..features import FeatureExtractor, flatten_features
from ..losses import check_pkt_options, pkt_loss
from ..schedules import Constant
from .base import Batch, Distiller, class_cross_entropy
from .infoflow import resolve_tap

__all__ = ["PKT"]


class PKT(Distiller):
    r"""PKT between the teacher's and the student's representation layers, plus labels.

    Parameters
    ----------
    student, teacher : torch.nn.Module
        The widths of the two representations may differ.
    student_layer, teacher_layer : str or (str, {"output", "input"}), optional
        Module paths of the representations; ``None`` uses
        :func:`kd.models.representation_layer` (``fc1`` of the paper CNNs, the pooled vector of
        ResNets).
    kernel, divergence : str, default="cosine", "kl"
        See :func:`kd.losses.pkt_loss`. The ECCV-18 PKT is cosine + KL; the information-flow
        KD and InDistill code use ``"combined"`` + ``"jeffreys"``.
    weight : float, default=30000.0
        Weight of the PKT term (RepDistiller's CIFAR-100 value for this loss scale).
    ce_weight : float, default=1.0
        Weight of the cross-entropy on the labels; 0 gives the authors' label-free transfer
        (then the classifier layer is not trained, so judge the student by retrieval).

    Examples
    --------
    >>> import torch
    >>> from kd.models import paper_student, paper_teacher
    >>> from kd.methods import Batch
    >>> d = PKT(paper_student(), paper_teacher(), kernel="combined", divergence="jeffreys")
    >>> x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    >>> with torch.no_grad():
    ...     t = d.teacher_outputs(x)
    >>> t["repr"].shape, sorted(d.losses(Batch(x, y, teacher=t), epoch=0))
    (torch.Size([4, 128]), ['ce', 'pkt'])
    """

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module,
        *,
        student_layer=None,
        teacher_layer=None,
        kernel: str = "cosine",
        divergence: str = "kl",
        weight: float = 30000.0,
        ce_weight: float = 1.0,
    ) -> None:
        if teacher is None:
            raise ValueError("PKT needs a teacher, got None")
        super().__init__(student, teacher)
        check_pkt_options(kernel, divergence)
        self.kernel, self.divergence = kernel, divergence
        self.student_tap = resolve_tap(student, student_layer, "student_layer")
        self.teacher_tap = resolve_tap(teacher, teacher_layer, "teacher_layer")
        # FeatureExtractor validates the paths now, not at the first batch.
        self._student_fe = FeatureExtractor(
            student, {"repr": self.student_tap[0]}, capture={"repr": self.student_tap[1]}
        )
        self._teacher_fe = FeatureExtractor(
            teacher, {"repr": self.teacher_tap[0]}, capture={"repr": self.teacher_tap[1]}
        )
        weights = {"pkt": float(weight)}
        if ce_weight:
            weights["ce"] = float(ce_weight)
        self.schedule = Constant(weights)

    def teacher_outputs(self, inputs: torch.Tensor) -> dict:
        _, feats = self._teacher_fe.extract(inputs)
        return {"repr": flatten_features(feats["repr"])}

    def losses(self, batch: Batch, epoch: int) -> dict:
        logits, feats = self._student_fe.extract(batch.inputs)
        out = {
            "pkt": pkt_loss(
                flatten_features(feats["repr"]),
                batch.teacher["repr"],
                kernel=self.kernel,
                divergence=self.divergence,
            )
        }
        if "ce" in self.schedule(0):
            out["ce"] = class_cross_entropy(logits, batch, "PKT with ce_weight > 0")
        return out
