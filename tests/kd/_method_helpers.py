"""Shared helpers of the InDistill / information-flow KD / SRM tests: a tiny dataset and a way
to measure every stage's loss before and after it trains, through the real Trainer."""

import dataclasses
import functools

import torch
from torch.utils.data import DataLoader, TensorDataset

from kd.data import WithIndex
from kd.methods import Batch
from kd.trainer import Trainer


def tiny_data(n=96, n_classes=4, seed=0, batch_size=16):
    """Images whose class is a colour/position pattern: learnable in a few steps."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % n_classes
    X = 0.3 * torch.randn(n, 3, 32, 32, generator=gen)
    for c in range(n_classes):
        X[y == c, c % 3, 8 * c : 8 * c + 8, :] += 1.0
    loader = DataLoader(
        WithIndex(TensorDataset(X, y)),
        batch_size=batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
    return X, y, loader


def weighted_stage_loss(distiller, stage, X, y, epoch=0):
    """The stage's weighted loss on the whole tiny set as one batch (no gradient), with the
    train/eval modes the trainer uses for that stage."""
    distiller.train()
    for module in stage.eval_modules:
        module.eval()
    with torch.no_grad():
        teacher = stage.teacher_outputs(X) if stage.teacher_outputs is not None else {}
        losses = stage.losses(Batch(X, y, teacher=teacher), epoch)
        weights = stage.weights(epoch)
        return sum(weights[k] * float(v) for k, v in losses.items() if weights[k])


def fit_recording_stage_losses(distiller, loader, X, y, *, lr=1e-2, **trainer_kwargs):
    """Train with the real Trainer; return {stage: (loss before, loss after)} at stage epoch 0.

    An open-ended stage gets its minimum (usually one epoch). The "before" value is taken when
    the stage starts (after its own on_start), the "after" value when the next stage starts
    (before its on_start) or at the end.
    """
    stages = distiller.stages()
    record = {}

    def start(i, original):
        if i > 0:
            prev = stages[i - 1]
            record[prev.name] = (record[prev.name][0], weighted_stage_loss(distiller, prev, X, y))
        if original is not None:
            original()
        record[stages[i].name] = (weighted_stage_loss(distiller, stages[i], X, y), None)

    wrapped = [
        dataclasses.replace(s, on_start=functools.partial(start, i, s.on_start))
        for i, s in enumerate(stages)
    ]
    distiller.stages = lambda: wrapped
    epochs = sum(s.epochs or s.min_epochs for s in stages)
    trainer = Trainer(
        distiller,
        loader,
        epochs=epochs,
        optimizer=functools.partial(torch.optim.Adam, lr=lr),
        progress=False,
        **trainer_kwargs,
    )
    history = trainer.fit()
    last = stages[-1]
    record[last.name] = (record[last.name][0], weighted_stage_loss(distiller, last, X, y))
    return record, history
