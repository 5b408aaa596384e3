r"""Heterogeneous knowledge distillation through information-flow modelling (Passalis et al. 2020).

Two stages:

1. **aux** — an auxiliary teacher with the student's topology but more capacity learns the
   teacher's representation layer with PKT (combined cosine + Student-t kernels, Jeffreys
   divergence). The auxiliary network bridges the architecture gap: its layers can be matched one
   to one with the student's.
2. **transfer** — the (now frozen) auxiliary teacher teaches the student on several layers at once:
   PKT on every matched intermediate layer with weight :math:`\mathrm{init}\cdot\gamma^k` at epoch
   :math:`k` (defaults 100 and 0.7, strong during the "critical period" of the first ≈ 10 epochs
   and below 0.01 from epoch 26 on), and PKT with weight 1 on the representation layer.

As in the authors' code, the auxiliary teacher is first trained on its own with the labels
(stage ``aux_warmup``; skipped with ``aux_warmup_epochs=0`` for an auxiliary teacher trained
beforehand) and only then adapted to the teacher, and the transfer stage builds a new Adam
optimizer every epoch (``reset_optimizer=True``), so that the large early gradients of the
intermediate layers do not leave Adam's second moments inflated once their weight has decayed.

This module also holds the pieces InDistill reuses (:func:`resolve_tap`, :func:`aux_stage`,
:func:`aux_warmup_stage`).
"""

from __future__ import annotations

import torch
from torch import nn

from hyperlearn.utils._validation import check_int, check_real

from ..features import FeatureExtractor, flatten_features
from ..losses import check_pkt_options, pkt_loss
from ..models import representation_layer
from ..schedules import Constant, ExponentialDecay
from .base import Batch, Distiller, Stage, class_cross_entropy

__all__ = [
    "InformationFlowKD",
    "aux_stage",
    "aux_warmup_stage",
    "default_layer_pairs",
    "resolve_tap",
]


def resolve_tap(model: nn.Module, layer, name: str = "layer") -> tuple[str, str]:
    """``(module_path, "output"|"input")`` of a tapped layer; ``None`` is the representation."""
    if layer is None:
        return representation_layer(model)
    if isinstance(layer, str):
        return layer, "output"
    if isinstance(layer, (tuple, list)) and len(layer) == 2 and layer[1] in ("output", "input"):
        return str(layer[0]), str(layer[1])
    raise ValueError(
        f"{name} must be None, a module path, or (module_path, 'output'|'input'), got {layer!r}"
    )


def default_layer_pairs(source: nn.Module, student: nn.Module, name: str = "layers"):
    """Pair the intermediate ``feature_layers`` of two models (all but the representation)."""
    src = getattr(source, "feature_layers", None)
    dst = getattr(student, "feature_layers", None)
    if src is None or dst is None:
        raise ValueError(
            f"{name}=None needs models with a feature_layers attribute (e.g. kd.models.PaperCNN);"
            f" got {type(source).__name__} and {type(student).__name__}: pass {name} explicitly "
            "as [(source_path, student_path), ...]"
        )
    src_rep = getattr(source, "representation_layer", None)
    dst_rep = getattr(student, "representation_layer", None)
    src = [p for p in src if p != src_rep]
    dst = [p for p in dst if p != dst_rep]
    if len(src) != len(dst):
        raise ValueError(
            f"{name}=None: the models tap different numbers of intermediate layers "
            f"({src} vs {dst}); pass {name} explicitly"
        )
    return list(zip(src, dst, strict=True))


def check_aux(aux) -> None:
    if aux is not None and not isinstance(aux, nn.Module):
        raise TypeError(f"aux must be a torch.nn.Module or None, got {type(aux).__name__}")


def checked_layer_pairs(source, student, layers, *, non_empty: bool = False):
    """``layers`` (default :func:`default_layer_pairs`) as a list of ``(str, str)`` pairs."""
    pairs = default_layer_pairs(source, student) if layers is None else list(layers)
    if (non_empty and not pairs) or not all(
        isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs
    ):
        what = "a non-empty sequence" if non_empty else "a sequence"
        raise ValueError(f"layers must be {what} of (source_path, student_path), got {layers!r}")
    return [(str(a), str(b)) for a, b in pairs]


def aux_warmup_stage(aux: nn.Module, *, epochs: int, name: str = "aux_warmup") -> Stage:
    """A stage training the auxiliary teacher alone on the labels (cross-entropy of its logits).

    This is the authors' first step for the auxiliary (proxy) teacher: it is trained as a
    classifier before the PKT adaptation to the teacher (:func:`aux_stage`).

    Parameters
    ----------
    aux : torch.nn.Module
        The auxiliary network; ``aux(inputs)`` must return class logits.
    epochs : int
        Length of the stage (>= 1).
    name : str, default="aux_warmup"
        Stage name.

    Returns
    -------
    Stage
        Loss ``"ce_aux"`` (weight 1), parameters of ``aux`` only, no student evaluation.
    """
    check_int(epochs, "aux_warmup_epochs", low=1)

    def losses(batch: Batch, epoch: int):
        return {"ce_aux": class_cross_entropy(aux(batch.inputs), batch, "the aux_warmup stage")}

    return Stage(
        name,
        losses=losses,
        weights=Constant({"ce_aux": 1.0}),
        parameters=aux.parameters,
        epochs=epochs,
        evaluate=False,
    )


def aux_stages(method, aux_epochs: int, warmup_epochs: int) -> list[Stage]:
    """The auxiliary teacher's stages of ``method``: labelled warm-up (if any), PKT adaptation."""
    stages = [aux_warmup_stage(method.aux, epochs=warmup_epochs)] if warmup_epochs else []
    stages.append(
        aux_stage(
            method.aux,
            method.teacher,
            epochs=aux_epochs,
            teacher_layer=method.teacher_layer,
            aux_layer=method.source_layer,
            kernel=method.kernel,
            divergence=method.divergence,
        )
    )
    return stages


def aux_stage(
    aux: nn.Module,
    teacher: nn.Module,
    *,
    epochs: int,
    teacher_layer=None,
    aux_layer=None,
    kernel: str = "combined",
    divergence: str = "jeffreys",
    name: str = "aux",
) -> Stage:
    """A stage training ``aux`` to match the teacher's representation with PKT (no labels).

    Parameters
    ----------
    aux, teacher : torch.nn.Module
        The auxiliary network (trained) and the frozen teacher.
    epochs : int
        Length of the stage.
    teacher_layer, aux_layer : optional
        Representation taps (see :func:`resolve_tap`); ``None`` uses
        :func:`kd.models.representation_layer`.
    kernel, divergence : str
        PKT options (:func:`kd.losses.pkt_loss`).
    """
    t_path, t_kind = resolve_tap(teacher, teacher_layer, "teacher_layer")
    a_path, a_kind = resolve_tap(aux, aux_layer, "aux_layer")
    t_fe = FeatureExtractor(teacher, {"repr": t_path}, capture={"repr": t_kind})
    a_fe = FeatureExtractor(aux, {"repr": a_path}, capture={"repr": a_kind})

    def teacher_outputs(inputs):
        _, feats = t_fe.extract(inputs)
        return {"repr": flatten_features(feats["repr"])}

    def losses(batch: Batch, epoch: int):
        _, feats = a_fe.extract(batch.inputs)
        return {
            "pkt_aux": pkt_loss(
                flatten_features(feats["repr"]),
                batch.teacher["repr"],
                kernel=kernel,
                divergence=divergence,
            )
        }

    return Stage(
        name,
        losses=losses,
        weights=Constant({"pkt_aux": 1.0}),
        parameters=aux.parameters,
        epochs=epochs,
        teacher_outputs=teacher_outputs,
        evaluate=False,
    )


class InformationFlowKD(Distiller):
    r"""Information-flow KD: auxiliary teacher, then multi-layer PKT with a decaying weight.

    Parameters
    ----------
    student : torch.nn.Module
        The network trained.
    teacher : torch.nn.Module
        The trained (frozen) teacher; only its representation layer is used.
    aux : torch.nn.Module, optional
        Auxiliary teacher: the student's topology, wider (e.g. :func:`kd.models.paper_teacher`
        for :func:`kd.models.paper_student`). It is trained on the labels
        (``aux_warmup_epochs`` epochs), then adapted to the teacher's representation with PKT
        (``aux_epochs`` epochs), then frozen. ``None``: no auxiliary stages; the teacher itself
        is the source of the multi-layer transfer (its layers must then match the student's one
        to one).
    aux_epochs : int, default=10
        Epochs of the PKT adaptation of the auxiliary teacher (ignored when ``aux`` is None).
    aux_warmup_epochs : int, default=10
        Epochs of the labelled warm-up of the auxiliary teacher; 0 for an auxiliary teacher
        that was trained beforehand (e.g. loaded from a cache).
    reset_optimizer : bool, default=True
        New optimizer (fresh Adam moments) at every epoch of the transfer stage, as the authors'
        code does; ``False`` keeps one optimizer for the whole stage.
    layers : sequence of (str, str), optional
        Intermediate pairs ``(source_path, student_path)`` (source = aux, or teacher). ``None``:
        the models' ``feature_layers`` without the representation (the three conv blocks of the
        paper CNNs).
    source_layer, student_layer, teacher_layer : optional
        Representation taps of the source, the student and (for the auxiliary stage) the
        teacher; ``None`` uses :func:`kd.models.representation_layer`.
    init, gamma : float, default=100.0, 0.7
        Intermediate-layer weight ``init·gamma**epoch`` (epoch counted in the transfer stage).
    kernel, divergence : str, default="combined", "jeffreys"
        PKT options, for both stages.
    ce_weight : float, default=0.0
        Weight of a cross-entropy term on the student's logits in the transfer stage. The
        authors use none (label-free transfer judged by retrieval); then the student's
        classifier layer is not trained.

    Notes
    -----
    Loss names: ``"pkt_aux"`` (stage ``aux``); ``"pkt_0"``, ``"pkt_1"``, … (intermediate pairs in
    the order given), ``"pkt_final"`` and, when ``ce_weight > 0``, ``"ce"`` (stage ``transfer``).
    At transfer epoch :math:`k` the loss is

    .. math:: L_k = \mathrm{PKT}(a_{\mathrm{repr}}, s_{\mathrm{repr}})
              + \mathrm{init}\,\gamma^k \sum_l \mathrm{PKT}(a_l, s_l),

    on flattened features (PKT compares batch similarity matrices, so widths may differ).
    Stages: ``aux_warmup`` (loss ``"ce_aux"``), ``aux`` (``"pkt_aux"``), ``transfer``; the two
    auxiliary stages only with ``aux``, the first only with ``aux_warmup_epochs > 0``.

    References
    ----------
    N. Passalis, M. Tzelepi, A. Tefas, "Heterogeneous knowledge distillation using information
    flow modeling", CVPR 2020.

    Examples
    --------
    >>> from kd.models import paper_student, paper_teacher
    >>> d = InformationFlowKD(paper_student(), paper_teacher(), aux=paper_teacher())
    >>> [s.name for s in d.stages()]
    ['aux_warmup', 'aux', 'transfer']
    >>> w = d.transfer_weights(2)
    >>> w["pkt_final"], round(w["pkt_0"], 6)
    (1.0, 49.0)
    """

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module,
        aux: nn.Module | None = None,
        *,
        aux_epochs: int = 10,
        aux_warmup_epochs: int = 10,
        layers=None,
        source_layer=None,
        student_layer=None,
        teacher_layer=None,
        init: float = 100.0,
        gamma: float = 0.7,
        kernel: str = "combined",
        divergence: str = "jeffreys",
        ce_weight: float = 0.0,
        reset_optimizer: bool = True,
    ) -> None:
        if teacher is None:
            raise ValueError("InformationFlowKD needs a teacher, got None")
        super().__init__(student, teacher)
        check_aux(aux)
        check_pkt_options(kernel, divergence)
        self.aux = aux
        self.aux_epochs = check_int(aux_epochs, "aux_epochs", low=1)
        self.aux_warmup_epochs = check_int(aux_warmup_epochs, "aux_warmup_epochs", low=0)
        self.reset_optimizer = bool(reset_optimizer)
        self.kernel, self.divergence = kernel, divergence
        self.ce_weight = check_real(ce_weight, "ce_weight", low=0)
        self.teacher_layer, self.source_layer = teacher_layer, source_layer
        source = aux if aux is not None else teacher
        self.layer_pairs = checked_layer_pairs(source, student, layers)
        self.intermediate_names = [f"pkt_{i}" for i in range(len(self.layer_pairs))]
        s_path, s_kind = resolve_tap(source, source_layer, "source_layer")
        st_path, st_kind = resolve_tap(student, student_layer, "student_layer")
        src_layers = {
            n: a for n, (a, _) in zip(self.intermediate_names, self.layer_pairs, strict=True)
        }
        stu_layers = {
            n: b for n, (_, b) in zip(self.intermediate_names, self.layer_pairs, strict=True)
        }
        self._source_fe = FeatureExtractor(
            source, {**src_layers, "pkt_final": s_path}, capture={"pkt_final": s_kind}
        )
        self._student_fe = FeatureExtractor(
            student, {**stu_layers, "pkt_final": st_path}, capture={"pkt_final": st_kind}
        )
        schedule = Constant({"pkt_final": 1.0})
        if self.intermediate_names:
            schedule = schedule | ExponentialDecay(init, gamma, names=self.intermediate_names)
        if self.ce_weight:
            schedule = schedule | Constant({"ce": self.ce_weight})
        self.schedule = schedule

    def transfer_weights(self, epoch: int) -> dict[str, float]:
        """Loss weights of the transfer stage at its (0-based) ``epoch``."""
        return self.schedule(epoch)

    def teacher_outputs(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Flattened features of the source network (auxiliary teacher, or teacher)."""
        _, feats = self._source_fe.extract(inputs)
        return {k: flatten_features(v) for k, v in feats.items()}

    def losses(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        weights = self.schedule(epoch)
        logits, feats = self._student_fe.extract(batch.inputs)
        out = {}
        for name in [*self.intermediate_names, "pkt_final"]:
            if weights[name] == 0.0:
                continue  # the decayed weight underflowed: skip the computation
            out[name] = pkt_loss(
                flatten_features(feats[name]),
                batch.teacher[name],
                kernel=self.kernel,
                divergence=self.divergence,
            )
        if self.ce_weight:
            out["ce"] = class_cross_entropy(logits, batch, "ce_weight > 0")
        return out

    def stages(self) -> list[Stage]:
        transfer = Stage(
            "transfer",
            losses=self.losses,
            weights=self.schedule,
            parameters=self.student.parameters,
            epochs=None,
            teacher_outputs=self.teacher_outputs,
            eval_modules=(self.aux,) if self.aux is not None else (),
            reset_optimizer_each_epoch=self.reset_optimizer,
        )
        if self.aux is None:
            return [transfer]
        return [*aux_stages(self, self.aux_epochs, self.aux_warmup_epochs), transfer]
