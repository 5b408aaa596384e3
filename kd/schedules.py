r"""Per-epoch loss-weight schedules: ``schedule(epoch) -> {loss_name: weight}``.

A schedule is a pure function of the (0-based) epoch: it has no state, so a checkpoint only
needs the epoch to restore it. Schedules compose with ``|`` (disjoint loss names).

Examples
--------
The information-flow KD weights — 1 on the final layer, :math:`100\cdot 0.7^k` on three
intermediate layers:

>>> s = Constant({"final": 1.0}) | ExponentialDecay(100.0, 0.7, names=["l0", "l1", "l2"])
>>> w = s(2)
>>> w["final"], round(w["l0"], 6)
(1.0, 49.0)

InDistill's curriculum, one layer at a time for ``a + 1 + l`` epochs (a = 2), then the final
layer:

>>> c = Curriculum([(3, {"l0": 1.0}), (4, {"l1": 1.0}), (5, {"l2": 1.0}), (None, {"final": 1.0})])
>>> [sorted(c(e)) for e in (0, 3, 11, 12, 99)]
[['l0'], ['l1'], ['l2'], ['final'], ['final']]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

from hyperlearn.utils._validation import check_int

__all__ = ["Combined", "Constant", "Curriculum", "ExponentialDecay", "Schedule", "as_schedule"]


def _check_epoch(epoch) -> int:
    return check_int(epoch, "epoch", low=0)


def _check_weights(weights, name: str = "weights") -> dict[str, float]:
    if not isinstance(weights, Mapping):
        raise TypeError(f"{name} must be a mapping {{loss_name: weight}}, got {weights!r}")
    out = {}
    for key, value in weights.items():
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be loss names (str), got {key!r}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name}[{key!r}] must be a finite weight >= 0, got {value!r}")
        out[key] = value
    return out


class Schedule:
    """Base class: ``schedule(epoch)`` returns a fresh dict ``{loss_name: weight}``.

    Subclasses implement :meth:`weights`. ``a | b`` combines two schedules over disjoint loss
    names (:class:`Combined`).
    """

    def weights(self, epoch: int) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, epoch: int) -> dict[str, float]:
        return self.weights(_check_epoch(epoch))

    def __or__(self, other) -> Combined:
        return Combined(self, as_schedule(other))

    def __ror__(self, other) -> Combined:
        return Combined(as_schedule(other), self)


class Constant(Schedule):
    """The same weights every epoch.

    Parameters
    ----------
    weights : mapping of str to float
        ``{loss_name: weight}``, weights finite and ``>= 0``.
    """

    def __init__(self, weights: Mapping[str, float]) -> None:
        self._weights = _check_weights(weights)

    def weights(self, epoch: int) -> dict[str, float]:
        return dict(self._weights)

    def __repr__(self) -> str:
        return f"Constant({self._weights!r})"


class ExponentialDecay(Schedule):
    r"""Weight :math:`w_k = \mathrm{init}\cdot\gamma^k` at epoch :math:`k` for each named loss.

    Parameters
    ----------
    init : float
        Weight at epoch 0 (>= 0).
    gamma : float
        Decay factor per epoch, in (0, 1] (1 gives a constant).
    names : iterable of str
        Losses that receive this weight.
    minimum : float, default=0.0
        Floor: the weight is ``max(init·gamma^k, minimum)``.

    Notes
    -----
    The information-flow KD defaults (init 100, gamma 0.7) give weights ≥ 2 up to epoch 10
    ("critical connections") and below 0.01 from epoch 26 on.
    """

    def __init__(
        self, init: float, gamma: float, *, names: Iterable[str], minimum: float = 0.0
    ) -> None:
        init, gamma, minimum = float(init), float(gamma), float(minimum)
        if not (math.isfinite(init) and init >= 0):
            raise ValueError(f"init must be a finite number >= 0, got {init!r}")
        if not (0.0 < gamma <= 1.0):
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if not (math.isfinite(minimum) and minimum >= 0):
            raise ValueError(f"minimum must be a finite number >= 0, got {minimum!r}")
        names = [names] if isinstance(names, str) else list(names)
        if not names or not all(isinstance(n, str) for n in names):
            raise ValueError(f"names must be a non-empty list of loss names, got {names!r}")
        self.init, self.gamma, self.minimum, self.names = init, gamma, minimum, tuple(names)

    def weights(self, epoch: int) -> dict[str, float]:
        w = max(self.init * self.gamma**epoch, self.minimum)
        return dict.fromkeys(self.names, w)

    def __repr__(self) -> str:
        return (
            f"ExponentialDecay(init={self.init}, gamma={self.gamma}, names={list(self.names)}"
            + (f", minimum={self.minimum})" if self.minimum else ")")
        )


class Curriculum(Schedule):
    """Piecewise schedule: a sequence of ``(n_epochs, weights_or_schedule)`` phases.

    Parameters
    ----------
    stages : sequence of (int or None, mapping or Schedule)
        Phase ``i`` lasts ``n_epochs`` epochs (> 0); the last phase may have ``None`` (it lasts
        forever); otherwise the last phase's weights continue after the curriculum ends. A
        Schedule inside a phase is evaluated at the epoch counted from the phase start.

    Attributes
    ----------
    boundaries : tuple of int
        First epoch of each phase.

    Notes
    -----
    Losses absent from a phase's dict have weight 0 in that phase (a method may skip computing
    them); :meth:`names` lists every loss any phase uses.
    """

    def __init__(self, stages: Sequence[tuple[int | None, Mapping[str, float] | Schedule]]):
        stages = list(stages)
        if not stages:
            raise ValueError("stages must be a non-empty sequence of (n_epochs, weights)")
        self._phases: list[tuple[int | None, Schedule]] = []
        starts, start = [], 0
        for i, item in enumerate(stages):
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise ValueError(f"stages[{i}] must be a pair (n_epochs, weights), got {item!r}")
            n_epochs, weights = item
            last = i == len(stages) - 1
            if n_epochs is None:
                if not last:
                    raise ValueError(f"stages[{i}] has n_epochs=None but is not the last phase")
            else:
                check_int(n_epochs, f"stages[{i}] n_epochs", low=1)
            self._phases.append((n_epochs, as_schedule(weights)))
            starts.append(start)
            start += n_epochs or 0
        self.boundaries = tuple(starts)

    def phase(self, epoch: int) -> int:
        """Index of the phase that contains ``epoch``."""
        epoch = _check_epoch(epoch)
        index = 0
        for i, start in enumerate(self.boundaries):
            if epoch >= start:
                index = i
        return index

    def weights(self, epoch: int) -> dict[str, float]:
        index = self.phase(epoch)
        return self._phases[index][1](epoch - self.boundaries[index])

    def __repr__(self) -> str:
        return f"Curriculum({[(n, s) for n, s in self._phases]!r})"


class Combined(Schedule):
    """Union of schedules over disjoint loss names (also written ``a | b``)."""

    def __init__(self, *schedules: Schedule | Mapping[str, float]) -> None:
        if not schedules:
            raise ValueError("Combined needs at least one schedule")
        self.schedules = tuple(as_schedule(s) for s in schedules)

    def weights(self, epoch: int) -> dict[str, float]:
        out: dict[str, float] = {}
        for s in self.schedules:
            w = s(epoch)
            clash = set(w) & set(out)
            if clash:
                raise ValueError(f"schedules {self!r} both weight the losses {sorted(clash)}")
            out.update(w)
        return out

    def __repr__(self) -> str:
        return " | ".join(repr(s) for s in self.schedules)


class _Function(Schedule):
    def __init__(self, fn: Callable[[int], Mapping[str, float]]) -> None:
        self.fn = fn

    def weights(self, epoch: int) -> dict[str, float]:
        return _check_weights(self.fn(epoch), f"weights returned by {self.fn!r}")

    def __repr__(self) -> str:
        return f"as_schedule({self.fn!r})"


def as_schedule(obj) -> Schedule:
    """Coerce a :class:`Schedule`, a mapping (constant weights) or a callable to a Schedule."""
    if isinstance(obj, Schedule):
        return obj
    if isinstance(obj, Mapping):
        return Constant(obj)
    if callable(obj):
        return _Function(obj)
    raise TypeError(
        f"expected a Schedule, a mapping {{loss_name: weight}} or a callable epoch -> mapping, "
        f"got {type(obj).__name__}"
    )
