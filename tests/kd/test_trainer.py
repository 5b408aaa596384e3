"""Trainer: stages, exact resume, NaN guard, atomic checkpoints, optimizer reset, cache."""

import dataclasses
import functools
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from kd.data import TensorImageDataset, WithIndex, _augmentation
from kd.losses import kd_loss
from kd.methods import KD, Baseline, Distiller, Stage
from kd.schedules import Constant, ExponentialDecay
from kd.trainer import (
    CHECKPOINT_NAME,
    CheckpointError,
    NonFiniteLossError,
    Trainer,
    load_checkpoint,
    save_checkpoint,
)

torch.set_num_threads(1)
N_SAMPLES, BATCH = 48, 16  # 3 batches per epoch


class TinyNet(nn.Module):
    def __init__(self, width=4):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.drop = nn.Dropout(0.2)  # exercises the RNG state in checkpoints
        self.fc = nn.Linear(4 * width, 3)

    def forward(self, x):
        h = self.pool(torch.relu(self.bn(self.conv(x)))).flatten(1)
        return self.fc(self.drop(h))


def _dataset(augment="crop_flip"):
    g = torch.Generator().manual_seed(123)
    X = torch.rand(N_SAMPLES, 3, 8, 8, generator=g)
    y = (X[:, 0].mean((1, 2)) * 3).long().clamp(0, 2)
    return WithIndex(TensorImageDataset(X, y, [0.5] * 3, [0.3] * 3, _augmentation(augment, 8)))


def _loader(augment="crop_flip", with_index=True):
    ds = _dataset(augment)
    if not with_index:
        ds = ds.dataset
    return DataLoader(
        ds, batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(7)
    )


def _nets(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return TinyNet(), TinyNet(width=6)


def _kd(seed=0):
    student, teacher = _nets(seed)
    return KD(student, teacher, T=2.0, alpha=0.5)


class CrashingLoader:
    """Delegates to a DataLoader but raises at (epoch, batch), simulating a killed run."""

    def __init__(self, loader, epoch, batch):
        self.loader, self.crash, self.epoch = loader, (epoch, batch), -1

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        self.epoch += 1
        for b, item in enumerate(self.loader):
            if (self.epoch, b) == self.crash:
                raise KeyboardInterrupt("simulated crash")
            yield item


def _trainer(distiller, loader, tmp, epochs, **kw):
    kw.setdefault("optimizer", functools.partial(torch.optim.Adam, lr=1e-2))
    return Trainer(
        distiller, loader, epochs=epochs, checkpoint_dir=tmp, progress=False, seed=3, **kw
    )


def _assert_same_state(a: nn.Module, b: nn.Module):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def _losses(history):
    return [(r["epoch"], r["stage"], r["losses"], r["val_accuracy"]) for r in history]


@pytest.mark.parametrize("crash", [(1, 2), (2, 0)])
def test_resume_reproduces_uninterrupted_run(tmp_path, crash):
    reference = _kd()
    ref_history = _trainer(reference, _loader(), tmp_path / "a", 3, val_loader=_loader()).fit()

    interrupted = _kd()
    with pytest.raises(KeyboardInterrupt):
        _trainer(
            interrupted, CrashingLoader(_loader(), *crash), tmp_path / "b", 3, val_loader=_loader()
        ).fit()
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)["epoch"] == crash[0]

    resumed = _kd()  # a fresh process would rebuild everything the same way
    history = _trainer(resumed, _loader(), tmp_path / "b", 3, val_loader=_loader()).fit(resume=True)
    _assert_same_state(resumed, reference)
    assert _losses(history) == _losses(ref_history)
    log = json.loads((tmp_path / "b" / "log.json").read_text())
    assert [r["epoch"] for r in log["history"]] == [1, 2, 3]
    assert log["method"] == "KD"


class TwoStage(Distiller):
    """Stage 1 trains an auxiliary head on the teacher; stage 2 distils from it."""

    def __init__(self, student, teacher):
        super().__init__(student, teacher)
        self.aux = nn.Linear(3, 3)
        self.started = []

    def _aux_losses(self, batch, epoch):
        return {"fit": F.mse_loss(self.aux(batch.teacher["logits"]), batch.teacher["logits"] * 2)}

    def _transfer_losses(self, batch, epoch):
        z = self.student(batch.inputs)
        return {
            "soft": kd_loss(z, batch.teacher["aux"], T=2.0, alpha=1.0),
            "ce": F.cross_entropy(z, batch.targets),
        }

    def stages(self):
        return [
            Stage(
                "aux",
                epochs=2,
                parameters=self.aux.parameters,
                teacher_outputs=lambda x: {"logits": self.teacher(x)},
                losses=self._aux_losses,
                weights={"fit": 1.0},
                evaluate=False,
                on_start=lambda: self.started.append("aux"),
            ),
            Stage(
                "transfer",
                parameters=self.student.parameters,
                teacher_outputs=lambda x: {"aux": self.aux(self.teacher(x))},
                losses=self._transfer_losses,
                weights=ExponentialDecay(4.0, 0.5, names=["soft"]) | Constant({"ce": 1.0}),
                eval_modules=(self.aux,),
                on_start=lambda: self.started.append("transfer"),
                optimizer=functools.partial(torch.optim.SGD, lr=0.05),
            ),
        ]


def _two_stage(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return TwoStage(TinyNet(), TinyNet(width=6))


def test_stage_plan_and_parameters(tmp_path):
    with pytest.raises(ValueError, match="leaves 0 epoch"):
        _trainer(_two_stage(), _loader(), None, 2).fit()
    d = _two_stage()
    student0 = {k: v.clone() for k, v in d.student.state_dict().items()}
    teacher0 = {k: v.clone() for k, v in d.teacher.state_dict().items()}
    aux0 = {k: v.clone() for k, v in d.aux.state_dict().items()}
    # stop after stage 1 by crashing at the first batch of epoch 3
    with pytest.raises(KeyboardInterrupt):
        _trainer(d, CrashingLoader(_loader(), 2, 0), tmp_path, 4).fit()
    assert d.started == ["aux", "transfer"]
    ckpt = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert ckpt["epoch"] == 2 and ckpt["stages"] == ["aux", "transfer"]
    state = ckpt["distiller"]
    # stage 1 changed the auxiliary head only: student (incl. BN statistics) and teacher intact
    for k, v in student0.items():
        assert torch.equal(state[f"student.{k}"], v), k
    for k, v in teacher0.items():
        assert torch.equal(state[f"teacher.{k}"], v), k
    assert not torch.equal(state["aux.weight"], aux0["weight"])
    # stage 2: aux frozen (and in eval mode), student trained; weights follow the schedule
    history = _trainer(d, _loader(), tmp_path, 4, val_loader=_loader()).fit(resume=True)
    assert torch.equal(d.aux.weight, state["aux.weight"])
    assert [r["stage"] for r in history] == ["aux", "aux", "transfer", "transfer"]
    assert [r["weights"].get("soft") for r in history] == [None, None, 4.0, 2.0]
    assert history[0]["val_accuracy"] is None and history[-1]["val_accuracy"] is not None
    assert [r["lr"] for r in history] == [1e-2, 1e-2, 0.05, 0.05]
    # the caller's requires_grad flags are restored; the teacher stays frozen
    assert all(p.requires_grad for p in d.student.parameters())
    assert all(p.requires_grad for p in d.aux.parameters())
    assert not any(p.requires_grad for p in d.teacher.parameters())


@pytest.mark.parametrize("crash", [(2, 0), (3, 1)])
def test_multistage_resume_is_exact(tmp_path, crash):
    reference = _two_stage()
    _trainer(reference, _loader(), tmp_path / "a", 5).fit()
    interrupted = _two_stage()
    with pytest.raises(KeyboardInterrupt):
        _trainer(interrupted, CrashingLoader(_loader(), *crash), tmp_path / "b", 5).fit()
    resumed = _two_stage()
    _trainer(resumed, _loader(), tmp_path / "b", 5).fit(resume=True)
    _assert_same_state(resumed, reference)
    # on_start runs once per stage over the interrupted + resumed pair: not again when
    # resuming inside a stage
    expected = ["transfer"] if crash[0] == 2 else []
    assert resumed.started == expected


class NanAtEpoch(Baseline):
    def __init__(self, student, epoch, batch):
        super().__init__(student)
        self.bad, self.count = (epoch, batch), 0

    def losses(self, batch, epoch):
        out = super().losses(batch, epoch)
        if epoch == self.bad[0]:
            self.count += 1
            if self.count - 1 == self.bad[1]:
                out["ce"] = out["ce"] * float("nan")
        return out


def test_nan_guard_keeps_last_good_checkpoint(tmp_path):
    student, _ = _nets()
    d = NanAtEpoch(student, 1, 1)
    with pytest.raises(NonFiniteLossError, match=r"epoch 2 .*batch 1.*kept"):
        _trainer(d, _loader(), tmp_path / "nan", 3).fit()
    assert all(torch.isfinite(p).all() for p in d.parameters())
    ckpt = load_checkpoint(tmp_path / "nan" / CHECKPOINT_NAME)
    assert ckpt["epoch"] == 1
    # the kept checkpoint is exactly the state after the first epoch
    one_epoch = Baseline(_nets()[0])
    _trainer(one_epoch, _loader(), tmp_path / "one", 1).fit()
    for k, v in one_epoch.state_dict().items():
        assert torch.equal(ckpt["distiller"][k], v), k
    # without a checkpoint folder the error still stops training
    with pytest.raises(NonFiniteLossError, match="non-finite"):
        _trainer(NanAtEpoch(_nets()[0], 0, 0), _loader(), None, 1).fit()


def test_checkpoint_detects_truncation_and_corruption(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"w": torch.arange(1000.0), "epoch": 4})
    assert load_checkpoint(path)["epoch"] == 4
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)
    path.write_bytes(data[:20])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)
    corrupted = bytearray(data)
    corrupted[-100] ^= 0xFF
    path.write_bytes(bytes(corrupted))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path)
    path.write_bytes(b"PK" + data[2:])
    with pytest.raises(CheckpointError, match="not a kd checkpoint"):
        load_checkpoint(path)


def test_failed_write_leaves_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"epoch": 1})

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr("kd.trainer.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]  # no temporary file left


def test_resume_refuses_truncated_or_foreign_checkpoint(tmp_path):
    _trainer(_kd(), _loader(), tmp_path, 1).fit()
    path = tmp_path / CHECKPOINT_NAME
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(CheckpointError, match="truncated"):
        _trainer(_kd(), _loader(), tmp_path, 2).fit(resume=True)
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match="stages"):
        _trainer(_two_stage(), _loader(), tmp_path, 3).fit(resume=True)
    # resume without a checkpoint starts afresh; a finished run resumed trains nothing more
    h = _trainer(_kd(), _loader(), tmp_path / "new", 1).fit(resume=True)
    assert len(h) == 1
    again = _trainer(_kd(), _loader(), tmp_path / "new", 1)
    assert again.fit(resume=True) == h


def test_reset_optimizer_each_epoch(tmp_path):
    kept = _trainer(_kd(), _loader(), None, 2)
    kept.fit()
    reset = _trainer(_kd(), _loader(), None, 2, reset_optimizer_each_epoch=True)
    reset.fit()
    steps = [float(next(iter(t.optimizer.state.values()))["step"]) for t in (kept, reset)]
    assert steps == [6.0, 3.0]  # 3 batches per epoch: Adam's moments restart each epoch


class CountingKD(KD):
    calls = 0

    def teacher_outputs(self, inputs):
        CountingKD.calls += inputs.shape[0]
        return super().teacher_outputs(inputs)


def test_cached_teacher_outputs(tmp_path):
    student, teacher = _nets()
    CountingKD.calls = 0
    cached = CountingKD(student, teacher, T=2.0, alpha=0.5)
    h_cached = _trainer(cached, _loader(None), None, 3, cache_teacher=True).fit()
    assert CountingKD.calls == N_SAMPLES  # each sample's teacher output computed once
    CountingKD.calls = 0
    plain = CountingKD(*_nets(), T=2.0, alpha=0.5)
    h_plain = _trainer(plain, _loader(None), None, 3).fit()
    assert CountingKD.calls == 3 * N_SAMPLES
    # no augmentation: the cached values are the teacher's outputs for the same images; only
    # batch composition (BLAS blocking) can change the last bits
    for a, b in zip(h_cached, h_plain, strict=True):
        for k in a["losses"]:
            assert a["losses"][k] == pytest.approx(b["losses"][k], rel=1e-5)
    with pytest.raises(ValueError, match="index"):
        _trainer(_kd(), _loader(None, with_index=False), None, 1, cache_teacher=True).fit()


def test_argument_and_loss_errors(tmp_path):
    with pytest.raises(TypeError, match="Distiller"):
        Trainer(nn.Linear(2, 2), _loader(), epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        Trainer(_kd(), _loader(), epochs=0)
    with pytest.raises(TypeError, match="optimizer"):
        Trainer(_kd(), _loader(), epochs=1, optimizer="adam")
    with pytest.raises(ValueError, match="pass epochs"):
        Trainer(_kd(), _loader(), progress=False).fit()

    class Unweighted(Baseline):
        def losses(self, batch, epoch):
            return {**super().losses(batch, epoch), "extra": torch.tensor(0.0)}

    with pytest.raises(KeyError, match="extra"):
        _trainer(Unweighted(_nets()[0]), _loader(), None, 1).fit()
    fixed = _two_stage()
    fixed.stages = lambda: [
        Stage("a", losses=lambda b, e: {}, weights={}, parameters=fixed.aux.parameters, epochs=2)
    ]
    with pytest.raises(ValueError, match="a=2 = 2 epochs"):
        _trainer(fixed, _loader(), None, 3).fit()
    with pytest.raises(ValueError, match="no loss with a non-zero weight"):
        _trainer(fixed, _loader(), None, 2).fit()


def test_plain_tuple_loader_and_optimizer_instance():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(32, 4, generator=g)
    y = (X[:, 0] > 0).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = nn.Linear(4, 2)
    template = torch.optim.SGD(model.parameters(), lr=0.5)
    history = Trainer(
        Baseline(model), loader, epochs=5, optimizer=template, val_loader=loader, progress=False
    ).fit()
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["lr"] == 0.5


class StageResetKD(KD):
    """KD whose single stage asks for a new optimizer every epoch (as InDistill's does)."""

    def stages(self):
        (stage,) = super().stages()
        return [dataclasses.replace(stage, reset_optimizer_each_epoch=True)]


def test_stage_asks_for_a_fresh_optimizer_each_epoch():
    student, teacher = _nets()
    trainer = _trainer(StageResetKD(student, teacher, T=2.0, alpha=0.5), _loader(), None, 2)
    trainer.fit()
    assert float(next(iter(trainer.optimizer.state.values()))["step"]) == 3.0


@pytest.mark.parametrize("reset", [False, True])
def test_lr_drop_divides_the_final_epochs_of_each_stage_by_ten(reset):
    kw = {"reset_optimizer_each_epoch": reset, "lr_drop": 0.4}
    history = _trainer(_kd(), _loader(), None, 5, **kw).fit()
    assert [r["lr"] for r in history] == pytest.approx([1e-2] * 3 + [1e-3] * 2, rel=1e-12)
    two = _two_stage()  # stages of 2 and 3 epochs: the last round(0.4·n) of each dropped
    history = _trainer(two, _loader(), None, 5, lr_drop=0.4).fit()
    # (the second stage brings its own optimizer, lr 0.05)
    assert [r["lr"] for r in history] == pytest.approx([1e-2, 1e-3, 5e-2, 5e-2, 5e-3])
    flat = _trainer(_kd(), _loader(), None, 3).fit()
    assert {r["lr"] for r in flat} == {1e-2}
    with pytest.raises(ValueError, match=r"lr_drop=1.0 is out of range"):
        _trainer(_kd(), _loader(), None, 3, lr_drop=1.0)


def test_cache_with_random_augmentation_is_refused():
    # the cache would hold the teacher's view of one random crop and reuse it for others
    with pytest.raises(ValueError, match="stale targets"):
        _trainer(_kd(), _loader("crop"), None, 2, cache_teacher=True)
    _trainer(_kd(), _loader(None), None, 1, cache_teacher=True)  # no augmentation: accepted


def test_initialise_hook_gets_teacher_outputs_once(tmp_path):
    student, teacher = _nets()
    d = KD(student, teacher, T=2.0, alpha=0.5)
    hook_calls = []

    def stages():
        (stage,) = KD.stages(d)

        def initialise(batches):
            hook_calls.append([b["logits"].shape for b in batches])

        return [dataclasses.replace(stage, initialise=initialise)]

    d.stages = stages
    _trainer(d, _loader(None), tmp_path, 2).fit()
    assert hook_calls == [[torch.Size([BATCH, 3])] * (N_SAMPLES // BATCH)]
    # resuming inside the stage does not initialise again
    _trainer(d, _loader(None), tmp_path, 3).fit(resume=True)
    assert len(hook_calls) == 1
