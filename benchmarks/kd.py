"""Suite ``kd``: the cost of one distillation step against one plain student step.

A training step of the :class:`kd.Trainer` (its ``_train_step``: teacher outputs, student
forward, losses, backward, optimizer step) is timed for, in one process on the same batch:

- ``student``: the student alone (cross-entropy) — the anchor of every ratio;
- ``kd``: Hinton KD (teacher forward under ``no_grad`` + student step);
- ``pkt``: PKT on the representation layers (+ CE);
- ``kd cached`` / ``pkt cached``: the same with the teacher outputs read from the trainer's
  per-sample cache (``cache_teacher=True``), filled before timing.

Cases: the papers' CNN pair (teacher-side CNN 16/32/64 → student CNN 8/16/32) and
PreAct ResNet-18 → student CNN, on 32×32 RGB inputs; the size is the batch size.

Targets (issue 6): a distillation step ≤ ``TARGET_RATIO`` × the plain step, and with cached
teacher outputs ≤ ``TARGET_RATIO_CACHED`` ×. Each record carries its ratio to the plain step
and whether it meets its target. Accuracy beside each time: the step's loss (finite), and for
cached variants the largest difference between cached and freshly computed teacher outputs.

Timing: the implementations of a case are timed in interleaved rounds (each round runs every
implementation once, ``number`` calls each, calibrated to last ``MIN_ROUND_SECONDS``), so that
load changes on a shared machine hit all of them alike; the time is the median over rounds.

Threads: torch intra-op threads are set to ``TORCH_THREADS`` for the suite (and restored); the
harness CLI limits the BLAS pools.
"""

from __future__ import annotations

import copy
import math
import statistics
import time

import torch

from ._harness import Record

SUITE = "kd"
SIZES = [128]
QUICK_SIZES = [32]
TARGET_RATIO = 1.5
TARGET_RATIO_CACHED = 1.1
TORCH_THREADS = 1
MIN_ROUND_SECONDS = 0.05
PAIRS = {
    "paper CNN 16/32/64 -> 8/16/32": ("cnn32", "cnn32_small"),
    "PreAct ResNet-18 -> CNN 8/16/32": ("preact_resnet18", "cnn32_small"),
}


def _stepper(distiller, batch, *, cached: bool):
    """A zero-argument callable running one real trainer step on ``batch``."""
    from kd.trainer import Trainer, _TeacherCache

    trainer = Trainer(distiller, [batch], epochs=1, progress=False)
    stage = distiller.stages()[0]
    params = trainer._set_trainable(stage)
    trainer.optimizer = trainer._make_optimizer(stage, params)
    distiller.train()
    weights = stage.weights(0)
    cache = None
    if cached and stage.teacher_outputs is not None:
        cache = _TeacherCache(batch[0].shape[0])
        trainer._train_step(stage, batch, 0, weights, cache)  # fills the cache

    def step():
        loss, _ = trainer._train_step(stage, batch, 0, weights, cache)
        return loss

    return step, stage, cache


def _cache_error(stage, cache, batch) -> float:
    if cache is None:
        return 0.0
    fresh = stage.teacher_outputs(batch[0])
    stored = cache.get(batch[2])
    return max(float((fresh[k] - stored[k]).abs().max()) for k in fresh)


def _interleaved(fns: dict, *, max_rounds: int, budget_s: float, min_rounds: int = 3) -> dict:
    """Median/min seconds per call of each callable, timed in interleaved rounds.

    Every implementation takes part in the first ``min_rounds`` rounds; after that only those
    that have used less than ``budget_s`` of timed seconds, up to ``max_rounds`` (so cheap
    steps get many rounds and their ratios are stable, expensive ones a few).
    """
    numbers = {}
    for name, fn in fns.items():
        fn()  # warm-up: allocator, first-touch, lazy initialisation
        t0 = time.perf_counter()
        fn()
        numbers[name] = max(1, math.ceil(MIN_ROUND_SECONDS / (time.perf_counter() - t0)))
    times = {name: [] for name in fns}
    spent = dict.fromkeys(fns, 0.0)
    results = {}
    for r in range(max_rounds):
        for name, fn in fns.items():
            if r >= min_rounds and spent[name] >= budget_s:
                continue
            t0 = time.perf_counter()
            for _ in range(numbers[name]):
                results[name] = fn()
            elapsed = time.perf_counter() - t0
            spent[name] += elapsed
            times[name].append(elapsed / numbers[name])
    return {
        name: {
            "median_s": statistics.median(ts),
            "min_s": min(ts),
            "number": numbers[name],
            "rounds": len(ts),
            "result": results[name],
        }
        for name, ts in times.items()
    }


def run(sizes, *, quick=False) -> list[Record]:
    from kd.methods import KD, PKT, Baseline
    from kd.models import create_model

    old_threads = torch.get_num_threads()
    torch.set_num_threads(TORCH_THREADS)
    records = []
    try:
        for batch_size in sizes:
            batch_size = int(batch_size)
            g = torch.Generator().manual_seed(0)
            x = torch.randn(batch_size, 3, 32, 32, generator=g)
            y = torch.randint(0, 10, (batch_size,), generator=g)
            batch = (x, y, torch.arange(batch_size))
            for case_name, (teacher_name, student_name) in PAIRS.items():
                with torch.random.fork_rng():
                    torch.manual_seed(0)
                    teacher = create_model(teacher_name).eval()
                    student0 = create_model(student_name)
                impls = {
                    "student": (lambda s: Baseline(s), False),
                    "kd": (lambda s, t=teacher: KD(s, t), False),
                    "pkt": (lambda s, t=teacher: PKT(s, t), False),
                    "kd cached": (lambda s, t=teacher: KD(s, t), True),
                    "pkt cached": (lambda s, t=teacher: PKT(s, t), True),
                }
                case = f"{case_name}, batch {batch_size}"
                params = {
                    "batch_size": batch_size,
                    "teacher": teacher_name,
                    "student": student_name,
                }
                steps, cache_errors = {}, {}
                for impl, (make, cached) in impls.items():
                    distiller = make(copy.deepcopy(student0))
                    steps[impl], stage, cache = _stepper(distiller, batch, cached=cached)
                    if cached:
                        with torch.no_grad():
                            cache_errors[impl] = _cache_error(stage, cache, batch)
                timed = _interleaved(
                    steps, max_rounds=15 if quick else 41, budget_s=1.0 if quick else 4.0
                )
                plain = timed["student"]["median_s"]
                case_records = {}
                for impl, m in timed.items():
                    accuracy = {"loss": float(m["result"])}
                    if impl in cache_errors:
                        accuracy["cache_max_abs_diff"] = cache_errors[impl]
                    extra = {
                        "min_s": m["min_s"],
                        "number": m["number"],
                        "rounds": m["rounds"],
                        "torch_threads": TORCH_THREADS,
                    }
                    if impl != "student":
                        target = TARGET_RATIO_CACHED if impl.endswith("cached") else TARGET_RATIO
                        extra["ratio_to_student"] = m["median_s"] / plain
                        extra["target"] = target
                        extra["meets_target"] = bool(m["median_s"] / plain <= target)
                    case_records[impl] = Record(
                        SUITE, case, params, impl, m["median_s"], accuracy, extra
                    )
                records.extend(case_records.values())
    finally:
        torch.set_num_threads(old_threads)
    return records


__all__ = ["QUICK_SIZES", "SIZES", "Record", "run"]
