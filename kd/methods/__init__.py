"""Distillation methods, each a :class:`Distiller` describing its training stages.

:data:`METHODS` is the one registry of methods that ``python -m kd run`` and
``python -m kd compare`` share: how to build each method from a student, a teacher and an
auxiliary teacher for a budget of student epochs, which stages come on top of that budget, and
whether the method trains a classifier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hyperlearn.utils._validation import check_int

from .base import Batch, Distiller, Stage, freeze
from .baseline import Baseline
from .indistill import InDistill
from .infoflow import InformationFlowKD
from .kd import KD
from .pkt import PKT
from .srm import SRM

__all__ = [
    "KD",
    "METHODS",
    "PKT",
    "SRM",
    "Baseline",
    "Batch",
    "Distiller",
    "InDistill",
    "InformationFlowKD",
    "MethodSpec",
    "Stage",
    "build_method",
    "freeze",
    "stage_plan",
]

#: Stages that prepare a method (auxiliary teacher, dictionary, SRM initialisation): they come
#: on top of the student-epoch budget, so that e.g. SRM's KD stage lasts as long as KD alone.
PREPARATION_STAGES = ("aux_warmup", "aux", "dictionary", "srm_init")


@dataclass(frozen=True)
class MethodSpec:
    """How to build one method.

    Attributes
    ----------
    name : str
        Registry key (``--method`` / ``--methods``).
    title : str
        Row label in tables.
    build : callable (student, teacher, aux, options) -> Distiller
        ``options`` is a mapping of the method's settings (see :func:`build_method`).
    needs_teacher, needs_aux : bool
        Whether the method uses a teacher / an auxiliary teacher.
    label_free : bool
        The method trains no classifier (its head accuracy is reported as "–").
    """

    name: str
    title: str
    build: Callable = field(repr=False)
    needs_teacher: bool = True
    needs_aux: bool = False
    label_free: bool = False


def _stage_epochs(options: Mapping, stage: str, default: int) -> int:
    value = dict(options.get("stage_epochs") or {}).get(stage, default)
    return check_int(value, f"stage_epochs[{stage!r}]", low=1)


def _kd(student, teacher, options):
    return KD(student, teacher, T=options.get("T", 4.0), alpha=options.get("alpha", 0.9))


def _pkt(student, teacher, options):
    keys = ("kernel", "divergence", "weight")
    return PKT(student, teacher, **{k: options[f"pkt_{k}"] for k in keys if f"pkt_{k}" in options})


def _aux_kwargs(options) -> dict:
    epochs = options["epochs"]
    kw = {
        "aux_epochs": _stage_epochs(options, "aux", epochs),
        "aux_warmup_epochs": options.get("aux_warmup_epochs", 0),
        "reset_optimizer": options.get("reset_optimizer", True),
    }
    if kw["aux_warmup_epochs"]:
        kw["aux_warmup_epochs"] = _stage_epochs(options, "aux_warmup", kw["aux_warmup_epochs"])
    return kw


def _infoflow(student, teacher, aux, options):
    return InformationFlowKD(student, teacher, aux, **_aux_kwargs(options))


def _indistill(student, teacher, aux, options, *, then=None):
    return InDistill(student, teacher, aux, then=then, **_aux_kwargs(options))


def _srm(student, teacher, options):
    epochs = options["epochs"]
    # Stage lengths scaled from the authors' schedules; see benchmarks/TUNING.md.
    kw = {
        "dict_epochs": _stage_epochs(options, "dictionary", max(1, epochs // 2)),
        "init_epochs": _stage_epochs(options, "srm_init", max(1, epochs // 2)),
        "T": options.get("T", 4.0),
        "alpha": options.get("alpha", 0.9),
        "random_state": options.get("seed", 0),
    }
    for key in ("init", "teacher_layers", "student_layers"):
        if options.get(f"srm_{key}") is not None:
            kw[key] = options[f"srm_{key}"]
    return SRM(student, teacher, **kw)


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("baseline", "student alone", lambda s, t, a, o: Baseline(s), False),
        MethodSpec("kd", "KD (Hinton)", lambda s, t, a, o: _kd(s, t, o)),
        MethodSpec("pkt", "PKT", lambda s, t, a, o: _pkt(s, t, o)),
        MethodSpec("infoflow", "information-flow KD (label-free)", _infoflow, True, True, True),
        MethodSpec("indistill", "InDistill (label-free)", _indistill, True, True, True),
        MethodSpec(
            "indistill_kd",
            "InDistill warm-up → KD",
            lambda s, t, a, o: _indistill(s, t, a, o, then=_kd(s, t, o)),
            True,
            True,
        ),
        MethodSpec("srm", "SRM", lambda s, t, a, o: _srm(s, t, o)),
    )
}


def build_method(name: str, student, teacher=None, aux=None, **options) -> Distiller:
    """Build the registered method ``name`` for ``options["epochs"]`` student epochs.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`.
    student, teacher, aux : torch.nn.Module
        ``teacher`` for every method but ``"baseline"``; ``aux`` (auxiliary teacher) for
        information-flow KD and InDistill.
    **options
        ``epochs`` (required, student epochs), ``stage_epochs`` (``{stage: epochs}`` for
        ``aux_warmup``, ``aux``, ``dictionary``, ``srm_init``; defaults: the PKT adaptation of
        the auxiliary teacher ``epochs``, the SRM dictionary and initialisation ``epochs // 2``
        each), ``aux_warmup_epochs`` (0: the auxiliary teacher is already trained on the
        labels), ``reset_optimizer``, ``T``, ``alpha``, ``pkt_kernel``, ``pkt_divergence``,
        ``pkt_weight``, ``srm_init``, ``srm_teacher_layers``, ``srm_student_layers``, ``seed``.

    Returns
    -------
    Distiller

    Raises
    ------
    ValueError
        Unknown ``name``, or a missing teacher / auxiliary teacher.

    Examples
    --------
    >>> from kd.models import paper_student, paper_teacher
    >>> d = build_method("srm", paper_student(), paper_teacher(), epochs=6)
    >>> [(s.name, s.epochs) for s in d.stages()]
    [('dictionary', 3), ('srm_init', 3), ('kd', None)]
    >>> stage_plan(d, 6)
    [('dictionary', 3), ('srm_init', 3), ('kd', 6)]
    """
    if name not in METHODS:
        raise ValueError(f"method={name!r} is not valid: expected one of {sorted(METHODS)}.")
    spec = METHODS[name]
    check_int(options.get("epochs"), "epochs", low=1)
    if spec.needs_teacher and teacher is None:
        raise ValueError(f"method {name!r} needs a teacher, got None")
    if spec.needs_aux and aux is None:
        raise ValueError(f"method {name!r} needs an auxiliary teacher (aux), got None")
    return spec.build(student, teacher, aux, options)


def stage_plan(distiller: Distiller, epochs: int) -> list[tuple[str, int]]:
    """``[(stage, epochs), ...]`` giving the student ``epochs`` epochs after the preparation.

    Preparation stages (:data:`PREPARATION_STAGES`) keep their lengths; the student's own
    stages share ``epochs``, the open-ended last one taking what the fixed ones leave.

    Raises
    ------
    ValueError
        When ``epochs`` does not leave the last stage at least one epoch (e.g. InDistill's
        curriculum needs more); the message names the minimum.
    """
    check_int(epochs, "epochs", low=1)
    stages = distiller.stages()
    fixed = sum(s.epochs for s in stages if s.epochs and s.name not in PREPARATION_STAGES)
    need = fixed + (stages[-1].min_epochs if stages[-1].epochs is None else 1)
    if epochs < need:
        detail = ", ".join(f"{s.name}={s.epochs}" for s in stages if s.epochs)
        raise ValueError(
            f"epochs={epochs} is too small for {type(distiller).__name__}: its student stages "
            f"before the last take {fixed} epochs ({detail or 'none'}) and its last stage "
            f"needs at least {need - fixed}; expected epochs >= {need}."
        )
    return [(s.name, s.epochs if s.epochs else epochs - fixed) for s in stages]
