"""A generic, resumable training loop for :class:`kd.methods.Distiller` objects.

The loop knows nothing about methods: it runs the distiller's :class:`~kd.methods.Stage`\\ s
(epochs, parameters, losses, weights) in order. Each epoch it evaluates the student, appends a
record to a JSON log and atomically writes a checkpoint (model, optimizer, stage position, RNG
states) from which ``fit(resume=True)`` continues exactly.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

# tqdm.auto (asyncio variant) calls iter() on the loader eagerly, creating a second DataLoader
# iterator per epoch (an extra draw from its generator, and extra workers): use the plain one.
from tqdm import tqdm

from hyperlearn.utils._validation import check_int, check_real

from .evaluate import accuracy
from .methods.base import Batch, Distiller, Stage

__all__ = ["CheckpointError", "NonFiniteLossError", "Trainer", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_NAME = "checkpoint.pt"
LOG_NAME = "log.json"
_MAGIC = b"KDCKPT01"
_HEADER = struct.Struct(">8s32sQ")  # magic, sha256 of the payload, payload length


class CheckpointError(RuntimeError):
    """A checkpoint file is truncated, corrupted, or does not match the run."""


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stopped before the bad update."""


# --------------------------------------------------------------------------------------------
# Checkpoint files: header (magic, digest, length) + torch.save payload, written atomically.
# --------------------------------------------------------------------------------------------
def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see old or new, never half
    finally:
        if tmp.exists():
            tmp.unlink()


def save_checkpoint(path, state: dict) -> None:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) atomically to ``path``.

    The file holds a SHA-256 digest and the length of the payload, so that
    :func:`load_checkpoint` detects a truncated or corrupted file instead of loading it.
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    header = _HEADER.pack(_MAGIC, hashlib.sha256(payload).digest(), len(payload))
    _atomic_write(Path(path), header + payload)


def load_checkpoint(path, *, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is not a kd checkpoint, is truncated, or its digest does not match.
    """
    path = Path(path)
    data = path.read_bytes()
    if len(data) < _HEADER.size:
        raise CheckpointError(f"checkpoint {path} is truncated ({len(data)} bytes)")
    magic, digest, length = _HEADER.unpack_from(data)
    if magic != _MAGIC:
        raise CheckpointError(f"{path} is not a kd checkpoint (bad magic {magic!r})")
    payload = data[_HEADER.size :]
    if len(payload) != length:
        raise CheckpointError(
            f"checkpoint {path} is truncated: {len(payload)} of {length} payload bytes"
        )
    if hashlib.sha256(payload).digest() != digest:
        raise CheckpointError(f"checkpoint {path} is corrupted (SHA-256 mismatch)")
    return torch.load(io.BytesIO(payload), map_location=map_location, weights_only=True)


# --------------------------------------------------------------------------------------------
# Teacher-output cache
# --------------------------------------------------------------------------------------------
class _TeacherCache:
    """Per-sample storage of a stage's ``teacher_outputs``, filled on first sight."""

    def __init__(self, n_samples: int) -> None:
        self.n_samples = n_samples
        self.store: dict[str, torch.Tensor] | None = None
        self.filled: torch.Tensor | None = None

    def get(self, index: torch.Tensor) -> dict[str, torch.Tensor] | None:
        if self.store is None or not bool(self.filled[index].all()):
            return None
        return {k: v[index] for k, v in self.store.items()}

    def put(self, index: torch.Tensor, outputs: dict[str, torch.Tensor]) -> None:
        if self.store is None:
            self.store = {
                k: torch.empty((self.n_samples, *v.shape[1:]), dtype=v.dtype, device=v.device)
                for k, v in outputs.items()
            }
            self.filled = torch.zeros(self.n_samples, dtype=torch.bool, device=index.device)
        for k, v in outputs.items():
            self.store[k][index] = v
        self.filled[index] = True


# --------------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------------
def _optimizer_factory(optimizer) -> Callable[[list], torch.optim.Optimizer]:
    if optimizer is None:
        return functools.partial(torch.optim.Adam, lr=1e-3)
    if isinstance(optimizer, torch.optim.Optimizer):
        # Re-created for each stage (and epoch, on request) with the same hyper-parameters.
        return functools.partial(type(optimizer), **optimizer.defaults)
    if callable(optimizer):
        return optimizer
    raise TypeError(
        "optimizer must be None, a torch.optim.Optimizer, or a callable params -> Optimizer "
        f"(e.g. functools.partial(torch.optim.Adam, lr=1e-3)), got {type(optimizer).__name__}"
    )


def _random_augmentation(loader) -> bool:
    """True when the loader's dataset (or a dataset it wraps) declares random augmentation."""
    dataset = getattr(loader, "dataset", None)
    for _ in range(8):  # WithIndex / Subset wrappers
        if dataset is None:
            return False
        if getattr(dataset, "random_augmentation", False):
            return True
        dataset = getattr(dataset, "dataset", None)
    return False


def _lr_factor(local: int, n: int, lr_drop: float) -> float:
    """Learning-rate factor at stage-local epoch ``local`` of ``n``: 0.1 in the final drop."""
    return 0.1 if local >= n - round(lr_drop * n) else 1.0


class Trainer:
    """Train a :class:`~kd.methods.Distiller` stage by stage, with checkpoints and resume.

    Parameters
    ----------
    distiller : Distiller
        The method (student, teacher and every learned component).
    train_loader : iterable
        Yields ``(inputs, targets)`` or ``(inputs, targets, index)``; a
        ``torch.utils.data.DataLoader`` whose ``generator`` (if any) is saved in checkpoints.
    epochs : int, optional
        Total epochs over all stages. A last stage with ``epochs=None`` gets what the others
        leave (at least 1). ``None``: the sum of the stages' epochs (all must be fixed).
    optimizer : callable or torch.optim.Optimizer, optional
        Optimizer factory ``params -> Optimizer``, e.g. ``functools.partial(torch.optim.SGD,
        lr=0.05, momentum=0.9)``. An optimizer instance is used as a template (its class and
        ``defaults``). ``None``: Adam with lr 1e-3 (the papers' setting). A new optimizer is made
        at each stage start (stages may bring their own factory).
    val_loader : iterable, optional
        Evaluated after each epoch (student accuracy) of stages with ``evaluate=True``.
    checkpoint_dir : str or path, optional
        Where ``checkpoint.pt`` (after every epoch) and ``log.json`` go. ``None``: no files.
    device : str or torch.device, default="cpu"
    seed : int, default=0
        Seeds torch's RNG for the run (inside ``torch.random.fork_rng``, so the caller's global
        RNG state is left as it was), which drives shuffling without an explicit loader
        generator, dropout and random augmentation.
    progress : bool, default=True
        Show a tqdm bar per epoch.
    reset_optimizer_each_epoch : bool, default=False
        Re-create the optimizer at every epoch of every stage (resetting Adam's moments). A
        stage can ask for this itself (``Stage.reset_optimizer_each_epoch``): information-flow
        KD and InDistill do, as the authors' code does.
    lr_drop : float, default=0.0
        Fraction of each stage's epochs, at its end, run with the learning rate divided by 10
        (the papers' final drop, e.g. 1e-3 then 1e-4): the last ``round(lr_drop * n)`` of the
        ``n`` epochs of a stage. Must be in [0, 1).
    cache_teacher : bool, default=False
        Compute each stage's ``teacher_outputs`` once per sample and reuse it in later epochs.
        Needs batches with indices (:class:`kd.data.WithIndex`) and inputs that do not change
        between epochs: a training set with random augmentation (one whose dataset has a true
        ``random_augmentation`` attribute, as :func:`kd.data.load_dataset` gives with
        ``augment``) is refused, since cached targets would belong to another view.
    max_grad_norm : float, optional
        Clip the total gradient norm before each step.

    Attributes
    ----------
    history : list of dict
        One record per finished epoch: ``epoch``, ``stage``, ``stage_epoch``, ``losses``
        (unweighted batch means), ``weights``, ``loss`` (weighted total), ``val_accuracy``,
        ``lr``, ``time_s`` (training), ``eval_time_s``.

    Raises
    ------
    NonFiniteLossError
        From :meth:`fit`, when a loss is NaN/inf (before the optimizer step; the checkpoint of
        the last finished epoch is kept).
    CheckpointError
        From ``fit(resume=True)``, for a corrupted checkpoint or one of different stages.

    Examples
    --------
    >>> import functools, torch
    >>> from torch.utils.data import DataLoader, TensorDataset
    >>> from kd.methods import Baseline
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 5, generator=g); y = (X[:, 0] > 0).long()
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=16)
    >>> _ = torch.manual_seed(0)
    >>> trainer = Trainer(Baseline(torch.nn.Linear(5, 2)), loader, epochs=30,
    ...                   optimizer=functools.partial(torch.optim.Adam, lr=0.05),
    ...                   val_loader=loader, progress=False)
    >>> history = trainer.fit()
    >>> history[-1]["val_accuracy"] > 0.9
    True
    """

    def __init__(
        self,
        distiller: Distiller,
        train_loader,
        *,
        epochs: int | None = None,
        optimizer=None,
        val_loader=None,
        checkpoint_dir=None,
        device="cpu",
        seed: int = 0,
        progress: bool = True,
        reset_optimizer_each_epoch: bool = False,
        cache_teacher: bool = False,
        max_grad_norm: float | None = None,
        lr_drop: float = 0.0,
    ) -> None:
        if not isinstance(distiller, Distiller):
            raise TypeError(
                f"distiller must be a kd.methods.Distiller, got {type(distiller).__name__}"
            )
        check_int(epochs, "epochs", low=1, allow=(None,))
        check_int(seed, "seed")
        check_real(max_grad_norm, "max_grad_norm", low=0, low_open=True, allow=(None,))
        self.lr_drop = check_real(lr_drop, "lr_drop", low=0, high=1, high_open=True)
        if cache_teacher and _random_augmentation(train_loader):
            raise ValueError(
                "cache_teacher=True with a randomly augmented training set: the cache would "
                "keep the teacher's outputs for one augmented view of each image and reuse them "
                "for other views (stale targets); turn augmentation off or cache_teacher off"
            )
        self.distiller = distiller
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.epochs = epochs
        self.optimizer_factory = _optimizer_factory(optimizer)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.device = torch.device(device)
        self.seed = seed
        self.progress = bool(progress)
        self.reset_optimizer_each_epoch = bool(reset_optimizer_each_epoch)
        self.cache_teacher = bool(cache_teacher)
        self.max_grad_norm = max_grad_norm
        self.history: list[dict] = []
        self.optimizer: torch.optim.Optimizer | None = None

    # -- planning -----------------------------------------------------------------------------
    def _plan(self, stages: list[Stage]) -> list[int]:
        if not stages:
            raise ValueError(f"{type(self.distiller).__name__}.stages() returned no stage")
        names = [s.name for s in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique, got {names}")
        for s in stages[:-1]:
            if s.epochs is None:
                raise ValueError(f"only the last stage may have epochs=None; stage {s.name!r} has")
        fixed = sum(s.epochs for s in stages if s.epochs is not None)
        if stages[-1].epochs is None:
            if self.epochs is None:
                raise ValueError(
                    f"the last stage {stages[-1].name!r} has epochs=None: pass epochs= to Trainer"
                )
            rest = self.epochs - fixed
            need = stages[-1].min_epochs
            if rest < need:
                raise ValueError(
                    f"epochs={self.epochs} leaves {max(rest, 0)} epoch(s) for the last stage "
                    f"{stages[-1].name!r}, which needs at least {need}: the stages before it "
                    f"take {fixed} epochs"
                )
            return [*(s.epochs for s in stages[:-1]), rest]
        if self.epochs is not None and self.epochs != fixed:
            detail = " + ".join(f"{s.name}={s.epochs}" for s in stages)
            raise ValueError(f"epochs={self.epochs} but the stages last {detail} = {fixed} epochs")
        return [s.epochs for s in stages]

    # -- RNG state ----------------------------------------------------------------------------
    def _generators(self) -> dict[str, torch.Generator]:
        gens = {}
        for key, owner in (
            ("loader", self.train_loader),
            ("sampler", getattr(self.train_loader, "sampler", None)),
        ):
            gen = getattr(owner, "generator", None)
            if isinstance(gen, torch.Generator) and all(gen is not g for g in gens.values()):
                gens[key] = gen
        return gens

    def _rng_state(self) -> dict:
        state = {"torch": torch.get_rng_state()}
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        for key, gen in self._generators().items():
            state[key] = gen.get_state()
        return state

    def _set_rng_state(self, state: dict) -> None:
        torch.set_rng_state(state["torch"])
        if "cuda" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda"], self.device)
        for key, gen in self._generators().items():
            if key in state:
                gen.set_state(state[key])

    # -- helpers ------------------------------------------------------------------------------
    def _set_trainable(self, stage: Stage) -> list[nn.Parameter]:
        params, seen = [], set()
        for p in stage.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
        if not params:
            raise ValueError(f"stage {stage.name!r} has no parameter to train")
        for p in self.distiller.parameters():
            p.requires_grad_(id(p) in seen)
        return params

    def _make_optimizer(self, stage: Stage, params) -> torch.optim.Optimizer:
        factory = stage.optimizer if stage.optimizer is not None else self.optimizer_factory
        return factory(params)

    def _split(self, raw) -> Batch:
        if isinstance(raw, Batch):
            inputs, targets, index = raw.inputs, raw.targets, raw.index
        elif isinstance(raw, (tuple, list)) and len(raw) in (2, 3):
            inputs, targets = raw[0], raw[1]
            index = raw[2] if len(raw) == 3 else None
        else:
            raise ValueError(
                "train_loader must yield (inputs, targets) or (inputs, targets, index); got "
                f"{type(raw).__name__}"
                + (f" of length {len(raw)}" if hasattr(raw, "__len__") else "")
            )
        dev = self.device
        return Batch(
            inputs.to(dev),
            targets.to(dev) if targets is not None else None,
            index.to(dev) if index is not None else None,
        )

    def _teacher(self, stage: Stage, batch: Batch, cache: _TeacherCache | None) -> dict:
        if stage.teacher_outputs is None:
            return {}
        if cache is not None:
            if batch.index is None:
                raise ValueError(
                    "cache_teacher=True needs the sample index in every batch: make the "
                    "dataset yield (inputs, targets, index), e.g. with kd.data.WithIndex"
                )
            hit = cache.get(batch.index)
            if hit is not None:
                return hit
        with torch.no_grad():
            outputs = stage.teacher_outputs(batch.inputs)
        outputs = {k: v.detach() for k, v in outputs.items()}
        if cache is not None:
            cache.put(batch.index, outputs)
        return outputs

    def _teacher_batches(self, stage: Stage):
        """The stage's teacher outputs for the training batches, in loader order (no grad)."""
        self.distiller.eval()
        for raw in self.train_loader:
            batch = self._split(raw)
            yield self._teacher(stage, batch, None)

    def _checkpoint_path(self) -> Path | None:
        return self.checkpoint_dir / CHECKPOINT_NAME if self.checkpoint_dir else None

    def _write_log(self, stage_names) -> None:
        if self.checkpoint_dir is None:
            return
        record = {
            "method": type(self.distiller).__name__,
            "stages": stage_names,
            "seed": self.seed,
            "device": str(self.device),
            "history": self.history,
        }
        _atomic_write(self.checkpoint_dir / LOG_NAME, json.dumps(record, indent=1).encode())

    # -- main loop ----------------------------------------------------------------------------
    def fit(self, *, resume: bool = False) -> list[dict]:
        """Train all stages; return :attr:`history`.

        Parameters
        ----------
        resume : bool, default=False
            Continue from ``checkpoint_dir/checkpoint.pt`` if it exists (else start afresh).
            The distiller and loaders must be built as for the interrupted run; ``epochs`` may
            be larger (to train longer).
        """
        stages = self.distiller.stages()
        plan = self._plan(stages)
        names = [s.name for s in stages]
        total = sum(plan)
        ckpt_path = self._checkpoint_path()
        if ckpt_path is not None:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        devices = [self.device] if self.device.type == "cuda" else []
        # Stages switch requires_grad on and off; the caller's flags come back at the end.
        flags = [(p, p.requires_grad) for p in self.distiller.parameters()]
        try:
            with torch.random.fork_rng(devices=devices):
                self.distiller.to(self.device)
                state = None
                if resume:
                    if ckpt_path is None:
                        raise ValueError("resume=True needs checkpoint_dir")
                    if ckpt_path.exists():
                        state = load_checkpoint(ckpt_path, map_location=self.device)
                if state is None:
                    torch.manual_seed(self.seed)
                    for gen in self._generators().values():
                        gen.manual_seed(self.seed)
                    self.history = []
                    start, optimizer_state = 0, None
                else:
                    start, optimizer_state = self._restore(state, names)
                self._run(stages, plan, names, start, total, optimizer_state)
        finally:
            for p, flag in flags:
                p.requires_grad_(flag)
        return self.history

    def _restore(self, state: dict, names: list[str]) -> tuple[int, dict | None]:
        if state.get("stages") != names:
            raise CheckpointError(
                f"checkpoint stages {state.get('stages')} differ from this distiller's {names}"
            )
        self.distiller.load_state_dict(state["distiller"])
        self.history = list(state["history"])
        self._set_rng_state(state["rng"])
        return int(state["epoch"]), state.get("optimizer")

    def _run(self, stages, plan, names, start, total, resume_opt) -> None:
        bounds = [sum(plan[:i]) for i in range(len(plan))]
        for si, stage in enumerate(stages):
            first, n = bounds[si], plan[si]
            if start >= first + n:
                continue
            if start <= first:
                if stage.on_start is not None:
                    stage.on_start()
                if stage.initialise is not None:
                    self.distiller.to(self.device)
                    stage.initialise(self._teacher_batches(stage))
            self.distiller.to(self.device)
            params = self._set_trainable(stage)
            reset = self.reset_optimizer_each_epoch or stage.reset_optimizer_each_epoch
            self.optimizer = self._make_optimizer(stage, params)
            base_lr = [group["lr"] for group in self.optimizer.param_groups]
            if resume_opt is not None and start > first and not reset:
                self.optimizer.load_state_dict(resume_opt)
            resume_opt = None
            cache = None
            if self.cache_teacher and stage.teacher_outputs is not None:
                dataset = getattr(self.train_loader, "dataset", None)
                if dataset is None:
                    raise ValueError(
                        "cache_teacher=True needs a train_loader with a .dataset (a "
                        "torch DataLoader): the cache holds one entry per sample"
                    )
                cache = _TeacherCache(len(dataset))
            for local in range(max(0, start - first), n):
                g = first + local
                if reset and local > 0:
                    self.optimizer = self._make_optimizer(stage, params)
                factor = _lr_factor(local, n, self.lr_drop)
                for group, lr in zip(self.optimizer.param_groups, base_lr, strict=True):
                    group["lr"] = lr * factor
                record = self._epoch(stage, local, g, total, cache)
                self.history.append(record)
                self._save(names, g + 1)
                self._write_log(names)

    def _train_step(self, stage, raw, local, weights, cache=None, where="", done=0):
        """One optimisation step on one raw batch; returns the detached total and terms.

        (Also what benchmarks/kd.py times, so that the benchmark measures this very code.)
        """
        batch = self._split(raw)
        batch.teacher = self._teacher(stage, batch, cache)
        losses = stage.losses(batch, local)
        missing = set(losses) - set(weights)
        if missing:
            raise KeyError(
                f"stage {stage.name!r} returned losses {sorted(missing)} that have no weight "
                f"at epoch {local}; its weights are {weights}"
            )
        loss = None
        for name, value in losses.items():
            if value.dim() != 0:
                raise ValueError(
                    f"loss {name!r} must be a scalar tensor, got shape {tuple(value.shape)}"
                )
            if weights[name] != 0.0:
                term = weights[name] * value
                loss = term if loss is None else loss + term
        if loss is None:
            raise ValueError(
                f"stage {stage.name!r}, epoch {local}: no loss with a non-zero weight "
                f"(losses {sorted(losses)}, weights {weights})"
            )
        if not torch.isfinite(loss):
            bad = [k for k, v in losses.items() if not torch.isfinite(v)]
            kept = self._checkpoint_path()
            note = (
                f"; the last good checkpoint {kept} (after epoch {done}) is kept"
                if kept is not None and kept.exists()
                else ""
            )
            raise NonFiniteLossError(
                f"non-finite loss {float(loss.detach())} (terms {bad or sorted(losses)}) at "
                f"{where}; training stopped before the update{note}"
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.max_grad_norm is not None:
            nn.utils.clip_grad_norm_(
                [p for group in self.optimizer.param_groups for p in group["params"]],
                self.max_grad_norm,
            )
        self.optimizer.step()
        return loss.detach(), {k: v.detach() for k, v in losses.items()}

    def _epoch(self, stage: Stage, local: int, g: int, total: int, cache) -> dict:
        if stage.on_epoch_start is not None:
            stage.on_epoch_start(local)
        self.distiller.train()
        for module in stage.eval_modules:
            module.eval()
        weights = stage.weights(local)
        sums: dict[str, float] = {}
        total_sum, n_batches = 0.0, 0
        t0 = time.perf_counter()
        bar = tqdm(
            self.train_loader,
            desc=f"epoch {g + 1}/{total} [{stage.name}]",
            disable=not self.progress,
            leave=False,
            dynamic_ncols=True,
        )
        for b, raw in enumerate(bar):
            where = f"epoch {g + 1} (stage {stage.name!r}, stage epoch {local}), batch {b}"
            loss, losses = self._train_step(stage, raw, local, weights, cache, where, g)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + float(value)
            total_sum += float(loss)
            n_batches += 1
            if self.progress:
                bar.set_postfix(loss=f"{total_sum / n_batches:.4g}")
        bar.close()
        if n_batches == 0:
            raise ValueError("train_loader yielded no batch")
        train_time = time.perf_counter() - t0
        t1 = time.perf_counter()
        val = None
        if stage.evaluate and self.val_loader is not None:
            val = accuracy(self.distiller.student, self.val_loader, device=self.device)
        record = {
            "epoch": g + 1,
            "stage": stage.name,
            "stage_epoch": local,
            "losses": {k: v / n_batches for k, v in sums.items()},
            "weights": weights,
            "loss": total_sum / n_batches,
            "val_accuracy": val,
            "lr": self.optimizer.param_groups[0].get("lr"),
            "time_s": train_time,
            "eval_time_s": time.perf_counter() - t1,
        }
        if self.progress:
            acc = "" if val is None else f", val acc {val:.4f}"
            tqdm.write(
                f"epoch {g + 1}/{total} [{stage.name}] loss {record['loss']:.4g}{acc} "
                f"({train_time:.1f}s)",
                file=sys.stderr,  # progress beside the bar; stdout stays for results
            )
        if not math.isfinite(record["loss"]):  # pragma: no cover - guarded per batch above
            raise NonFiniteLossError(f"non-finite mean loss at epoch {g + 1}")
        return record

    def _save(self, names, epochs_done: int) -> None:
        path = self._checkpoint_path()
        if path is None:
            return
        save_checkpoint(
            path,
            {
                "format": 1,
                "stages": names,
                "epoch": epochs_done,
                "distiller": self.distiller.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "rng": self._rng_state(),
                "history": self.history,
            },
        )
