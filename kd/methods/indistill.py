r"""InDistill: knowledge transfer from pruned intermediate layers (Sarridis et al., WACV 2025).

Each tapped layer :math:`l` of the (auxiliary) teacher is pruned to the student's width (the
filters of largest L1 norm are kept), giving a *side branch* that reads the **unpruned** teacher
activation of layer :math:`l-1`:

.. math:: \tilde F^T_l = \mathrm{pool}(\mathrm{ReLU}(\mathrm{BN}_l[\mathrm{keep}]
          (\mathrm{Conv}(F^T_{l-1}; W_l[\mathrm{keep}])))).

The information-flow path of the teacher is preserved (no pruned layer feeds another one) and
:math:`\tilde F^T_l` has exactly the shape of the student's layer :math:`l`, so the two can be
compared directly (MSE). A curriculum trains one layer at a time, layer :math:`l` for
:math:`a + 1 + l` epochs, then transfers the representation layer with PKT.

As in the authors' code, an auxiliary teacher is first trained on the labels, then adapted to
the teacher with PKT, and the curriculum stage builds a new Adam optimizer every epoch.
Deliberate differences from the released code: the side branches copy the conv bias and the
batch-norm bias and running statistics and run in eval mode (the released code keeps a freshly
initialised conv bias and runs the pruned layers with batch statistics).
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from hyperlearn.utils._validation import check_choice, check_int, check_real

from ..features import FeatureExtractor, flatten_features
from ..losses import check_pkt_options, mse_feature_loss, pkt_loss
from ..pruning import prune_channels, select_channels
from ..schedules import Constant, Curriculum
from .base import Batch, Distiller, Stage, class_cross_entropy, freeze
from .infoflow import aux_stages, check_aux, checked_layer_pairs, resolve_tap

__all__ = ["InDistill", "build_side_branch", "curriculum_schedule"]

_PRUNABLE = (nn.modules.conv._ConvNd, nn.Linear)
_NORMS = nn.modules.batchnorm._BatchNorm


def _block_parts(block: nn.Module, path: str):
    """The single conv/linear of a block and the batch norm that follows it (if any)."""
    convs = [(n, m) for n, m in block.named_modules() if isinstance(m, _PRUNABLE)]
    norms = [(n, m) for n, m in block.named_modules() if isinstance(m, _NORMS)]
    if isinstance(block, _PRUNABLE):
        return ("", block), None
    if len(convs) != 1 or len(norms) > 1:
        raise ValueError(
            f"layer {path!r} has {len(convs)} convolution/linear layers and {len(norms)} batch "
            "norms; an InDistill side branch needs a block with exactly one convolution "
            "(optionally followed by one batch norm and channel-wise ops such as ReLU and "
            "pooling), e.g. the blocks of kd.models.PaperCNN"
        )
    others = [
        n
        for n, m in block.named_modules()
        if n and not isinstance(m, (*_PRUNABLE, _NORMS)) and any(True for _ in m.parameters(False))
    ]
    if others:
        raise ValueError(
            f"layer {path!r} has parameterised modules {others} besides its convolution and "
            "batch norm; they cannot be pruned channel-wise for a side branch"
        )
    return convs[0], (norms[0] if norms else None)


def _set_submodule(root: nn.Module, name: str, module: nn.Module) -> nn.Module:
    if name == "":
        return module
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)
    return root


def build_side_branch(block: nn.Module, keep: int, *, path: str = "block"):
    """Pruned copy of a teacher block: its convolution keeps ``keep`` filters (largest L1 norm).

    Parameters
    ----------
    block : torch.nn.Module
        A block with exactly one ``groups=1`` convolution (or linear layer), optionally one batch
        norm after it, and parameter-free channel-wise ops (ReLU, pooling, dropout), e.g.
        ``PaperCNN.block2``. A bare convolution or linear layer is accepted too.
    keep : int
        Output channels kept (the student's width at this layer).
    path : str
        Name used in error messages.

    Returns
    -------
    branch : torch.nn.Module
        A frozen copy of ``block`` (eval mode, ``requires_grad=False``) whose convolution and
        batch norm keep the selected channels; its input channels are NOT pruned, so it reads the
        unpruned activation the original block reads.
    indices : torch.LongTensor
        The kept output channels, in increasing order.

    Examples
    --------
    >>> import torch
    >>> from kd.models import paper_teacher
    >>> teacher = paper_teacher().eval()
    >>> branch, idx = build_side_branch(teacher.block2, keep=16)
    >>> x = torch.randn(2, 16, 15, 15)        # unpruned activation of block1
    >>> y = branch(x)
    >>> y.shape
    torch.Size([2, 16, 6, 6])
    >>> torch.allclose(y, teacher.block2(x)[:, idx], atol=1e-6)
    True
    """
    (conv_name, conv), norm = _block_parts(block, path)
    idx = select_channels(conv, keep=keep)
    bn = norm[1] if norm is not None else None
    if bn is not None and bn.num_features != conv.weight.shape[0]:
        raise ValueError(
            f"layer {path!r}: batch norm has {bn.num_features} features but the convolution has "
            f"{conv.weight.shape[0]} output channels"
        )
    thin_conv, thin_bn = prune_channels(conv, bn, indices=idx)
    branch = copy.deepcopy(block)
    branch = _set_submodule(branch, conv_name, thin_conv)
    if norm is not None:
        branch = _set_submodule(branch, norm[0], thin_bn)
    return freeze(branch), idx


def _student_width(student: nn.Module, path: str) -> int:
    block = student.get_submodule(path)
    if isinstance(block, _PRUNABLE):
        return block.weight.shape[0]
    for m in block.modules():
        if isinstance(m, _PRUNABLE):
            return m.weight.shape[0]
    raise ValueError(
        f"student layer {path!r} has no convolution or linear layer to read its width from"
    )


def curriculum_schedule(n_layers: int, *, a: int = 2, order=None, final_weight=None):
    r"""InDistill's curriculum: one intermediate layer at a time, then the final layer.

    Parameters
    ----------
    n_layers : int
        Number of intermediate layers (loss names ``"feat_0"``, …, ``"feat_{n-1}"``).
    a : int, default=2
        Layer ``l`` (0-based depth) is trained for ``a + 1 + l`` epochs.
    order : sequence of int, optional
        Order in which the layers are visited (a permutation of ``range(n_layers)``); default
        shallow to deep. Each layer keeps its ``a + 1 + l`` epochs whatever its position.
    final_weight : float, optional
        Weight of ``"final"`` in the last, open-ended phase. ``None``: no final phase (warm-up
        use); the last layer's weights then continue.

    Returns
    -------
    Curriculum
        ``schedule(epoch) -> {loss_name: weight}``, one-hot until the intermediate layers are
        done.

    Examples
    --------
    >>> s = curriculum_schedule(3, a=2, final_weight=1.0)
    >>> [next(iter(s(e))) for e in range(13)]  # doctest: +NORMALIZE_WHITESPACE
    ['feat_0', 'feat_0', 'feat_0', 'feat_1', 'feat_1', 'feat_1', 'feat_1',
     'feat_2', 'feat_2', 'feat_2', 'feat_2', 'feat_2', 'final']
    """
    check_int(n_layers, "n_layers", low=0)
    check_int(a, "a", low=0)
    order = list(range(n_layers)) if order is None else [int(i) for i in order]
    if sorted(order) != list(range(n_layers)):
        raise ValueError(f"order must be a permutation of range({n_layers}), got {order!r}")
    phases = [(a + 1 + layer, {f"feat_{layer}": 1.0}) for layer in order]
    if final_weight is not None:
        phases.append((None, {"final": float(final_weight)}))
    if not phases:
        raise ValueError("the curriculum is empty: no intermediate layer and no final phase")
    return Curriculum(phases)


class InDistill(Distiller):
    r"""InDistill: curriculum transfer from pruned (side-branch) teacher layers, then PKT.

    Parameters
    ----------
    student : torch.nn.Module
        The network trained.
    teacher : torch.nn.Module
        The trained teacher (frozen). Without ``aux`` its tapped blocks are pruned directly.
    aux : torch.nn.Module, optional
        Auxiliary teacher (student topology, wider): trained on the labels for
        ``aux_warmup_epochs`` epochs, adapted to the teacher's representation with PKT for
        ``aux_epochs`` epochs, then pruned into the side branches (InDistill v1 and the
        information-flow KD setting). ``None``: prune the teacher.
    aux_epochs : int, default=10
        Length of the PKT adaptation of the auxiliary teacher.
    aux_warmup_epochs : int, default=10
        Length of its labelled warm-up; 0 for an auxiliary teacher trained beforehand.
    layers : sequence of (str, str), optional
        Intermediate pairs ``(source_block_path, student_block_path)``; each source block holds
        one convolution (+ batch norm, ReLU, pooling). ``None``: the models' ``feature_layers``
        without the representation.
    source_layer, student_layer, teacher_layer : optional
        Representation taps (see :func:`kd.methods.infoflow.resolve_tap`).
    a : int, default=2
        Curriculum constant: layer ``l`` is trained for ``a + 1 + l`` epochs.
    order : sequence of int, optional
        Order of the intermediate layers (default shallow to deep).
    feature_loss : {"mse", "pkt"}, default="mse"
        Loss between a side branch and the student layer (flattened maps of equal shape).
    final_weight : float, default=1.0
        Weight of the representation-layer PKT after the curriculum.
    kernel, divergence : str, default="combined", "jeffreys"
        PKT options (final layer, ``feature_loss="pkt"`` and the auxiliary stage).
    ce_weight : float, default=0.0
        Cross-entropy on the labels during the curriculum stage; the authors use none.
    then : Distiller, optional
        Warm-up mode (InDistill v4): the curriculum stage runs the intermediate layers only
        (``Σ_l (a+1+l)`` epochs) and is followed by the stages of ``then`` (e.g.
        ``kd.methods.KD(student, teacher)``), which must train the same ``student`` object.
        Their stage names get the prefix ``"then."``.
    reset_optimizer : bool, default=True
        New optimizer (fresh Adam moments) at every epoch of the curriculum stage, as the
        authors' code does; ``False`` keeps one optimizer for the stage.

    Notes
    -----
    Stages: ``aux_warmup`` and ``aux`` (only with ``aux``; the first only with
    ``aux_warmup_epochs > 0``), ``curriculum`` (loss names ``"feat_<l>"``,
    ``"final"``, ``"ce"``), then the stages of ``then``. The side branches are frozen sub-modules
    of the method (built in ``__init__`` and rebuilt from the trained source when the curriculum
    stage starts), computed in :meth:`teacher_outputs`, so ``Trainer(cache_teacher=True)`` caches
    them.

    References
    ----------
    I. Sarridis, C. Koutlis, G. Kordopatis-Zilos, I. Kompatsiaris, S. Papadopoulos,
    "InDistill: Information flow-preserving knowledge distillation for model compression",
    WACV 2025 (arXiv:2205.10003).

    Examples
    --------
    >>> import torch
    >>> from kd.models import paper_student, paper_teacher
    >>> d = InDistill(paper_student(), paper_teacher())
    >>> t = d.teacher_outputs(torch.randn(2, 3, 32, 32))
    >>> [tuple(t[f"feat_{i}"].shape) for i in range(3)]
    [(2, 8, 15, 15), (2, 16, 6, 6), (2, 32, 2, 2)]
    >>> [sorted(d.curriculum(e)) for e in (0, 3, 7, 12)]
    [['feat_0'], ['feat_1'], ['feat_2'], ['final']]
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
        a: int = 2,
        order=None,
        feature_loss: str = "mse",
        final_weight: float = 1.0,
        kernel: str = "combined",
        divergence: str = "jeffreys",
        ce_weight: float = 0.0,
        then: Distiller | None = None,
        reset_optimizer: bool = True,
    ) -> None:
        if teacher is None:
            raise ValueError("InDistill needs a teacher, got None")
        super().__init__(student, teacher)
        check_aux(aux)
        check_choice(feature_loss, "feature_loss", ("mse", "pkt"))
        check_pkt_options(kernel, divergence)
        if then is not None:
            if not isinstance(then, Distiller):
                raise TypeError(f"then must be a Distiller or None, got {type(then).__name__}")
            if then.student is not student:
                raise ValueError("then must train the same student object as InDistill")
        self.aux = aux
        self.then = then
        self.aux_epochs = check_int(aux_epochs, "aux_epochs", low=1)
        self.aux_warmup_epochs = check_int(aux_warmup_epochs, "aux_warmup_epochs", low=0)
        self.reset_optimizer = bool(reset_optimizer)
        self.feature_loss, self.kernel, self.divergence = feature_loss, kernel, divergence
        self.final_weight = check_real(final_weight, "final_weight", low=0)
        self.ce_weight = check_real(ce_weight, "ce_weight", low=0)
        self.teacher_layer, self.source_layer = teacher_layer, source_layer
        source = aux if aux is not None else teacher
        self.layer_pairs = checked_layer_pairs(source, student, layers, non_empty=True)
        self.feature_names = [f"feat_{i}" for i in range(len(self.layer_pairs))]
        self.curriculum = curriculum_schedule(
            len(self.layer_pairs),
            a=a,
            order=order,
            final_weight=None if then is not None else self.final_weight,
        )
        self.curriculum_epochs = sum(a + 1 + i for i in range(len(self.layer_pairs)))
        schedule = self.curriculum
        if self.ce_weight:
            schedule = schedule | Constant({"ce": self.ce_weight})
        self.schedule = schedule

        self._widths = [_student_width(student, s) for _, s in self.layer_pairs]
        branches = []
        for i, (path, _) in enumerate(self.layer_pairs):
            branch, idx = build_side_branch(source.get_submodule(path), self._widths[i], path=path)
            branches.append(branch)
            self.register_buffer(f"kept_channels_{i}", idx.clone())
        self.side_branches = nn.ModuleList(branches)

        s_path, s_kind = resolve_tap(source, source_layer, "source_layer")
        st_path, st_kind = resolve_tap(student, student_layer, "student_layer")
        # The side branch of layer l reads the INPUT of the source's block l (the unpruned
        # activation of layer l-1).
        src_paths = {n: p for n, (p, _) in zip(self.feature_names, self.layer_pairs, strict=True)}
        stu_paths = {n: p for n, (_, p) in zip(self.feature_names, self.layer_pairs, strict=True)}
        self._source_fe = FeatureExtractor(
            source,
            {**src_paths, "final": s_path},
            capture={**dict.fromkeys(self.feature_names, "input"), "final": s_kind},
        )
        self._student_fe = FeatureExtractor(
            student,
            {**stu_paths, "final": st_path},
            capture={"final": st_kind},
        )

    # -- side branches --------------------------------------------------------------------
    def rebuild_side_branches(self) -> None:
        """Prune the (possibly retrained) source again and copy into the side branches in place."""
        source = self.aux if self.aux is not None else self.teacher
        for i, (path, _) in enumerate(self.layer_pairs):
            branch, idx = build_side_branch(source.get_submodule(path), self._widths[i], path=path)
            self.side_branches[i].load_state_dict(branch.state_dict())
            getattr(self, f"kept_channels_{i}").copy_(idx)
        freeze(self.side_branches)

    # -- Distiller API --------------------------------------------------------------------
    def teacher_outputs(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Side-branch features (student-shaped) and the source's flattened representation."""
        self.side_branches.eval()
        _, feats = self._source_fe.extract(inputs)
        out = {
            name: branch(feats[name])
            for name, branch in zip(self.feature_names, self.side_branches, strict=True)
        }
        out["final"] = flatten_features(feats["final"])
        return out

    def losses(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        weights = self.schedule(epoch)
        logits, feats = self._student_fe.extract(batch.inputs)
        out = {}
        for i, name in enumerate(self.feature_names):
            if weights.get(name, 0.0) == 0.0:
                continue
            s, t = feats[name], batch.teacher[name]
            if s.shape != t.shape:
                raise ValueError(
                    f"student layer {self.layer_pairs[i][1]!r} gives features of shape "
                    f"{tuple(s.shape)} but the pruned side branch of {self.layer_pairs[i][0]!r} "
                    f"gives {tuple(t.shape)}; they must match (same width and spatial size)"
                )
            if self.feature_loss == "mse":
                out[name] = mse_feature_loss(flatten_features(s), flatten_features(t))
            else:
                out[name] = pkt_loss(
                    flatten_features(s), t, kernel=self.kernel, divergence=self.divergence
                )
        if weights.get("final", 0.0) != 0.0:
            out["final"] = pkt_loss(
                flatten_features(feats["final"]),
                batch.teacher["final"],
                kernel=self.kernel,
                divergence=self.divergence,
            )
        if self.ce_weight:
            out["ce"] = class_cross_entropy(logits, batch, "ce_weight > 0")
        return out

    def stages(self) -> list[Stage]:
        stages = []
        if self.aux is not None:
            stages += aux_stages(self, self.aux_epochs, self.aux_warmup_epochs)
        eval_modules = (self.side_branches,) + ((self.aux,) if self.aux is not None else ())
        stages.append(
            Stage(
                "curriculum",
                losses=self.losses,
                weights=self.schedule,
                parameters=self.student.parameters,
                epochs=self.curriculum_epochs if self.then is not None else None,
                teacher_outputs=self.teacher_outputs,
                eval_modules=eval_modules,
                on_start=self.rebuild_side_branches,
                reset_optimizer_each_epoch=self.reset_optimizer,
                # without `then`, the curriculum must reach its final (representation) phase
                min_epochs=self.curriculum_epochs + 1,
            )
        )
        if self.then is not None:
            for stage in self.then.stages():
                stages.append(dataclasses.replace(stage, name=f"then.{stage.name}"))
        return stages
