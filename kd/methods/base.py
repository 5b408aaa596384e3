r"""The ``Distiller`` interface: what a distillation method gives the :class:`kd.Trainer`.

A method is a :class:`Distiller` — an ``nn.Module`` that owns every network and learned
component of the method (student, frozen teacher, regressors, auxiliary teachers, pruned side
branches, dictionaries, heads) — and describes its training as a list of :class:`Stage`\ s.
The trainer is generic: it never looks at the method's name, only at the stages.

How the trainer uses a Distiller
--------------------------------
For each stage ``s`` in ``distiller.stages()``, in order, for each of its epochs
(``e`` = epoch counted from the start of the stage, ``g`` = global epoch)::

    if first epoch of the stage (and not resuming inside it):
        s.on_start(); s.initialise(teacher outputs of the training batches)   # if given
    params = list(s.parameters())            # requires_grad=True on these, False on all other
                                             # parameters of the distiller, for this stage
    optimizer = (s.optimizer or trainer factory)(params)    # new at each stage start, and at
                                             # each epoch if s.reset_optimizer_each_epoch (or
                                             # the trainer's reset_optimizer_each_epoch)
    lr = base lr, divided by 10 in the last round(lr_drop * n) epochs of the stage
    s.on_epoch_start(e)
    distiller.train(); modules in s.eval_modules -> eval()  (the teacher is always in eval)
    for inputs, targets[, index] in train_loader:
        batch = Batch(inputs, targets, index)
        with torch.no_grad(): batch.teacher = s.teacher_outputs(inputs)   # or from the cache
        losses  = s.losses(batch, e)          # {name: scalar tensor}
        weights = s.weights(e)                # {name: float}; every loss name must be present
        total = sum(weights[k] * losses[k] for k in losses if weights[k] != 0)
        total.backward(); optimizer.step()    # a NaN/inf loss stops training (last good
                                             # checkpoint kept)
    if s.evaluate and val_loader: accuracy of distiller.student on val_loader
    checkpoint: distiller.state_dict(), optimizer state, (stage, e, g), RNG states

Rules for implementers (InDistill, information-flow KD, SRM, ...)
----------------------------------------------------------------
1. **Create every sub-module in** ``__init__``. The checkpoint is ``distiller.state_dict()``
   and resuming builds a fresh distiller the same way and loads it strictly, so the set of
   parameters and buffers must not depend on how far training got. Work that derives weights
   from an earlier stage (pruning the trained auxiliary teacher into side branches, SVD
   initialisation of a dictionary) goes in ``Stage.on_start`` and writes into existing
   tensors in place (``param.data.copy_(...)``, or ``module.load_state_dict``). Non-tensor
   state belongs in buffers too.
2. **Frozen computations go in** ``teacher_outputs(inputs) -> dict[str, Tensor]``: everything
   computed only from frozen modules (the teacher's logits and tapped features; in a later
   stage, a now-frozen auxiliary teacher's). The trainer runs it under ``torch.no_grad`` and,
   with ``cache_teacher=True``, computes it once per sample per stage and reuses it. Then
   ``losses`` reads ``batch.teacher[...]`` and never runs the frozen networks itself.
3. ``losses(batch, epoch)`` returns **unweighted** scalar losses by name; the stage's
   ``weights(epoch)`` (a :mod:`kd.schedules` schedule) gives their weights. A loss whose
   current weight is 0 may be left out of the dict (not computed); every returned name must
   have a weight. Build the terms from the small functions of :mod:`kd.losses`.
4. Intermediate features come from :class:`kd.features.FeatureExtractor` (forward hooks on
   module paths such as ``"block2"``), never from models edited to return features.
5. ``epoch`` passed to every stage callable is counted **from the start of that stage**.
6. Schedules and hooks must be pure functions of the epoch and the state in the state dict, so
   that a resumed run is identical to an uninterrupted one.

Examples
--------
A Hinton-KD method written against this interface (the real one is :class:`kd.methods.KD`):

>>> import torch, torch.nn.functional as F
>>> from torch import nn
>>> from kd.losses import kd_loss
>>> from kd.schedules import Constant
>>> class TinyKD(Distiller):
...     def __init__(self, student, teacher):
...         super().__init__(student, teacher)
...         self.schedule = Constant({"soft": 0.9, "ce": 0.1})
...     def teacher_outputs(self, inputs):
...         return {"logits": self.teacher(inputs)}
...     def losses(self, batch, epoch):
...         z = self.student(batch.inputs)
...         return {"soft": kd_loss(z, batch.teacher["logits"], T=4.0, alpha=1.0),
...                 "ce": F.cross_entropy(z, batch.targets)}
>>> d = TinyKD(nn.Linear(4, 3), nn.Linear(4, 3))
>>> [s.name for s in d.stages()], d.teacher.training, d.teacher.weight.requires_grad
(['train'], False, False)

A two-stage method (for example: train an auxiliary teacher, then distil from it) returns two
stages from ``stages()``::

    def stages(self):
        return [
            Stage("aux", epochs=self.aux_epochs, parameters=self.aux.parameters,
                  teacher_outputs=self._teacher_repr, losses=self._aux_losses,
                  weights=Constant({"pkt": 1.0}), evaluate=False),
            Stage("transfer", epochs=None, parameters=self.student.parameters,
                  teacher_outputs=self._aux_features, losses=self._transfer_losses,
                  weights=Constant({"final": 1.0}) | ExponentialDecay(100, 0.7, names=[...]),
                  eval_modules=(self.aux,)),
        ]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from hyperlearn.utils._validation import check_int

from ..schedules import Schedule, as_schedule

__all__ = ["Batch", "Distiller", "Stage", "freeze"]


def freeze(module: nn.Module) -> nn.Module:
    """Put ``module`` in eval mode and turn off ``requires_grad`` of its parameters."""
    module.eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def class_cross_entropy(logits: torch.Tensor, batch: Batch, who: str) -> torch.Tensor:
    """Cross-entropy of ``logits`` on ``batch.targets``; ``who`` names the caller if none."""
    if batch.targets is None:
        raise ValueError(f"{who} needs class targets; the batch has none")
    return F.cross_entropy(logits, batch.targets)


@dataclass
class Batch:
    """One training batch as seen by :meth:`Distiller.losses`.

    Attributes
    ----------
    inputs : torch.Tensor
        Input images, already on the trainer's device.
    targets : torch.Tensor or None
        Class labels (int64), or ``None`` for unlabelled data.
    index : torch.Tensor or None
        Dataset indices of the samples, when the loader yields ``(inputs, targets, index)``
        (needed for ``cache_teacher=True``; :func:`kd.data.WithIndex` adds them).
    teacher : dict of str to torch.Tensor
        The stage's ``teacher_outputs(inputs)``, computed without gradient or read from the
        cache.
    """

    inputs: torch.Tensor
    targets: torch.Tensor | None = None
    index: torch.Tensor | None = None
    teacher: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class Stage:
    """One phase of training, with its own epochs, parameters, losses and weights.

    Attributes
    ----------
    name : str
        Shown in the progress bar and the log; stored in checkpoints (a resumed run checks that
        the stage names match).
    losses : callable (Batch, int) -> dict of str to torch.Tensor
        Unweighted scalar losses for a batch at the stage-local epoch.
    weights : Schedule, mapping or callable int -> dict of str to float
        Loss weights per stage-local epoch (coerced with :func:`kd.schedules.as_schedule`).
    parameters : callable () -> iterable of torch.nn.Parameter
        The parameters this stage optimises (evaluated at the stage start). All other
        parameters of the distiller get ``requires_grad=False`` during the stage, so no
        gradient is computed for them.
    epochs : int or None, default=None
        Length of the stage. ``None`` (only allowed for the last stage): all the epochs the
        trainer has left.
    teacher_outputs : callable (torch.Tensor) -> dict of str to torch.Tensor, optional
        Frozen-side computations for a batch of inputs, run under ``torch.no_grad`` and
        cacheable per sample (see the module notes). ``None``: ``batch.teacher`` is empty.
    optimizer : callable (list of Parameter) -> torch.optim.Optimizer, optional
        Optimizer factory for this stage (e.g. ``functools.partial(torch.optim.Adam,
        lr=1e-4)``); ``None`` uses the trainer's.
    eval_modules : tuple of torch.nn.Module, default=()
        Modules kept in eval mode while this stage trains (in addition to the teacher), e.g. an
        auxiliary teacher that a previous stage trained.
    on_start : callable () -> None, optional
        Run once when the stage begins (not when resuming inside it), after the previous stage
        ended: e.g. prune the trained auxiliary teacher into side branches.
    on_epoch_start : callable (int) -> None, optional
        Run at the start of every epoch of the stage with the stage-local epoch.
    evaluate : bool, default=True
        Whether to measure the student's validation accuracy after each epoch of this stage
        (``False`` for stages that do not train the student).
    initialise : callable (iterable of dict) -> None, optional
        Data-dependent initialisation, run once when the stage begins (after ``on_start``):
        it receives an iterable over the training batches' ``teacher_outputs`` (computed
        without gradient) and may stop reading early; e.g. SRM starts its dictionaries from
        teacher pixel vectors.
    reset_optimizer_each_epoch : bool, default=False
        Build a new optimizer (fresh Adam moments) at every epoch of this stage, as the
        information-flow KD and InDistill code do; otherwise one optimizer per stage.
    min_epochs : int, default=1
        Fewest epochs an open-ended (``epochs=None``) last stage accepts, e.g. InDistill's
        curriculum, which reaches its final phase only after the intermediate layers.
    """

    name: str
    losses: Callable[[Batch, int], dict[str, torch.Tensor]]
    weights: Schedule | Callable[[int], dict[str, float]]
    parameters: Callable[[], Iterable[nn.Parameter]]
    epochs: int | None = None
    teacher_outputs: Callable[[torch.Tensor], dict[str, torch.Tensor]] | None = None
    optimizer: Callable[[list[nn.Parameter]], torch.optim.Optimizer] | None = None
    eval_modules: tuple[nn.Module, ...] = ()
    on_start: Callable[[], None] | None = None
    on_epoch_start: Callable[[int], None] | None = None
    evaluate: bool = True
    initialise: Callable[[Iterable[dict[str, torch.Tensor]]], None] | None = None
    reset_optimizer_each_epoch: bool = False
    min_epochs: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Stage name must be a non-empty str, got {self.name!r}")
        check_int(self.epochs, f"Stage {self.name!r}: epochs", low=1, allow=(None,))
        check_int(self.min_epochs, f"Stage {self.name!r}: min_epochs", low=1)
        for attr in ("losses", "parameters"):
            if not callable(getattr(self, attr)):
                raise TypeError(f"Stage {self.name!r}: {attr} must be callable")
        self.weights = as_schedule(self.weights)
        self.eval_modules = tuple(self.eval_modules)


class Distiller(nn.Module):
    """Base class of distillation methods (see the module docstring for the full contract).

    Parameters
    ----------
    student : torch.nn.Module
        The network being trained; ``distiller(inputs)`` returns ``student(inputs)``.
    teacher : torch.nn.Module, optional
        A trained network. It is frozen here (``requires_grad=False``) and stays in eval mode
        whatever ``train()`` is called with.

    Attributes
    ----------
    schedule : Schedule
        Loss weights of the default single stage; subclasses set it in ``__init__``.

    Notes
    -----
    A single-stage method overrides :meth:`losses` (and usually :meth:`teacher_outputs`) and
    sets :attr:`schedule`; the default :meth:`stages` wraps them in one :class:`Stage`. A
    multi-stage method overrides :meth:`stages`.
    """

    schedule: Schedule

    def __init__(self, student: nn.Module, teacher: nn.Module | None = None) -> None:
        super().__init__()
        if not isinstance(student, nn.Module):
            raise TypeError(f"student must be a torch.nn.Module, got {type(student).__name__}")
        if teacher is not None and not isinstance(teacher, nn.Module):
            raise TypeError(f"teacher must be a torch.nn.Module, got {type(teacher).__name__}")
        self.student = student
        self.teacher = freeze(teacher) if teacher is not None else None

    # -- single-stage API ---------------------------------------------------------------------
    def teacher_outputs(self, inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        """Frozen-side outputs for a batch (run by the trainer under ``torch.no_grad``)."""
        return {}

    def losses(self, batch: Batch, epoch: int) -> dict[str, torch.Tensor]:
        """Unweighted scalar losses of a batch at ``epoch`` (override)."""
        raise NotImplementedError(f"{type(self).__name__} must implement losses(batch, epoch)")

    def weights(self, epoch: int) -> dict[str, float]:
        """Loss weights at ``epoch``: ``self.schedule(epoch)``."""
        schedule = getattr(self, "schedule", None)
        if schedule is None:
            raise NotImplementedError(
                f"{type(self).__name__} must set self.schedule or override weights(epoch)"
            )
        return as_schedule(schedule)(epoch)

    def trainable_parameters(self) -> Iterator[nn.Parameter]:
        """Every parameter of the distiller except the teacher's (each once)."""
        frozen = {id(p) for p in self.teacher.parameters()} if self.teacher is not None else set()
        seen: set[int] = set()
        for p in self.parameters():
            if id(p) not in frozen and id(p) not in seen:
                seen.add(id(p))
                yield p

    def on_epoch_start(self, epoch: int) -> None:
        """Hook run at the start of every epoch (no-op by default)."""

    def stages(self) -> list[Stage]:
        """The training stages; by default one stage built from the single-stage API."""
        return [
            Stage(
                "train",
                losses=self.losses,
                weights=self.weights,
                parameters=self.trainable_parameters,
                epochs=None,
                teacher_outputs=self.teacher_outputs,
                on_epoch_start=self.on_epoch_start,
            )
        ]

    # -- nn.Module ----------------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """The student's output."""
        return self.student(inputs)

    def train(self, mode: bool = True) -> Distiller:
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self
