"""InDistill: side branches, curriculum, warm-up mode, end-to-end training."""

import pytest
import torch
from torch import nn

from kd.features import FeatureExtractor
from kd.methods import KD
from kd.methods.indistill import InDistill, build_side_branch, curriculum_schedule
from kd.models import PreActResNet18, paper_student, paper_teacher

from ._method_helpers import fit_recording_stage_losses, tiny_data

torch.set_num_threads(1)

# A side branch runs the same filters on the same input as the original block; only the
# backend's summation order over the fan-in (C_in·3·3 <= 288 products) can differ.
SUM_ORDER_ATOL = 1e-5


def _randomise_bn(model, seed):
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.num_features, generator=gen))
                m.bias.copy_(torch.randn(m.num_features, generator=gen))
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen))
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    return model


def _models(seed=0, n_classes=4):
    torch.manual_seed(seed)
    return paper_student(n_classes), _randomise_bn(paper_teacher(n_classes), seed)


@pytest.mark.parametrize("use_aux", [False, True])
def test_side_branches_read_unpruned_inputs_and_match_student_shapes(use_aux):
    student, teacher = _models()
    aux = _randomise_bn(paper_teacher(4), 1) if use_aux else None
    source = aux if use_aux else teacher
    d = InDistill(student, teacher, aux)
    source.eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        out = d.teacher_outputs(x)
        _, unpruned = FeatureExtractor(
            source, {"b1": "block1", "b2": "block2", "b3": "block3"}
        ).extract(x)
        _, s_feats = FeatureExtractor(
            student, {"b1": "block1", "b2": "block2", "b3": "block3"}
        ).extract(x)
    blocks = [source.block1, source.block2, source.block3]
    inputs = [x, unpruned["b1"], unpruned["b2"]]  # unpruned activation of layer l-1
    for i in range(3):
        kept = getattr(d, f"kept_channels_{i}")
        # the branch's convolution reads ALL channels of the previous (unpruned) activation
        assert d.side_branches[i].conv.in_channels == blocks[i].conv.in_channels
        with torch.no_grad():
            ref = blocks[i](inputs[i])[:, kept]
        torch.testing.assert_close(out[f"feat_{i}"], ref, rtol=0, atol=SUM_ORDER_ATOL)
        assert out[f"feat_{i}"].shape == s_feats[f"b{i + 1}"].shape
        # kept = the student's width worth of filters with the largest L1 norms
        norms = blocks[i].conv.weight.detach().abs().flatten(1).sum(1)
        width = student.widths[i]
        assert torch.equal(kept, torch.sort(torch.topk(norms, width).indices).values)
    with torch.no_grad():
        torch.testing.assert_close(out["final"], source.fc1(source.flatten(unpruned["b3"])))


def test_side_branch_is_frozen_copy_with_bias_and_bn_statistics():
    _, teacher = _models()
    teacher.eval()
    block = teacher.block2
    branch, idx = build_side_branch(block, keep=16)
    assert not branch.training
    assert all(not p.requires_grad for p in branch.parameters())
    torch.testing.assert_close(branch.conv.bias, block.conv.bias[idx])
    torch.testing.assert_close(branch.bn.running_mean, block.bn.running_mean[idx])
    torch.testing.assert_close(branch.bn.running_var, block.bn.running_var[idx])
    torch.testing.assert_close(branch.bn.bias, block.bn.bias[idx])
    assert block.conv.out_channels == 32  # the original is untouched
    with pytest.raises(ValueError, match="exactly one convolution"):
        build_side_branch(PreActResNet18(4, width=4).layer1, keep=2, path="layer1")


def test_curriculum_weights_per_epoch():
    s = curriculum_schedule(3, a=2, final_weight=0.5)
    expected = ["feat_0"] * 3 + ["feat_1"] * 4 + ["feat_2"] * 5 + ["final"] * 20
    for epoch, name in enumerate(expected):
        assert s(epoch) == {name: 0.5 if name == "final" else 1.0}, epoch
    # a configurable order keeps each layer's a+1+l epochs
    s = curriculum_schedule(3, a=1, order=[2, 0, 1], final_weight=1.0)
    expected = ["feat_2"] * 4 + ["feat_0"] * 2 + ["feat_1"] * 3 + ["final"] * 3
    assert [next(iter(s(e))) for e in range(len(expected))] == expected
    # warm-up mode: no final phase, the stage has a fixed length
    student, teacher = _models()
    d = InDistill(student, teacher, then=KD(student, teacher), a=0, ce_weight=0.25)
    stages = d.stages()
    assert [st.name for st in stages] == ["curriculum", "then.train"]
    assert stages[0].epochs == 1 + 2 + 3
    assert [stages[0].weights(e) for e in (0, 1, 3)] == [
        {"feat_0": 1.0, "ce": 0.25},
        {"feat_1": 1.0, "ce": 0.25},
        {"feat_2": 1.0, "ce": 0.25},
    ]
    assert stages[1].weights(0) == {"soft": 0.9, "ce": pytest.approx(0.1)}
    with pytest.raises(ValueError, match="permutation"):
        curriculum_schedule(3, order=[0, 0, 1])


def test_losses_follow_the_curriculum():
    student, teacher = _models()
    d = InDistill(student, teacher, feature_loss="pkt")
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        t = d.teacher_outputs(x)
    from kd.methods import Batch

    assert set(d.losses(Batch(x, teacher=t), 0)) == {"feat_0"}
    assert set(d.losses(Batch(x, teacher=t), 8)) == {"feat_2"}
    assert set(d.losses(Batch(x, teacher=t), 12)) == {"final"}


def test_rebuild_after_aux_changes():
    student, teacher = _models()
    aux = paper_teacher(4)
    d = InDistill(student, teacher, aux)
    with torch.no_grad():
        for p in aux.parameters():
            p.mul_(-2.0).add_(0.1)
    d.rebuild_side_branches()
    _, idx = build_side_branch(aux.block3, keep=32)
    assert torch.equal(d.kept_channels_2, idx)
    torch.testing.assert_close(d.side_branches[2].conv.weight, aux.block3.conv.weight[idx])
    assert all(not p.requires_grad for p in d.side_branches.parameters())


def test_end_to_end_each_stage_improves_its_loss():
    X, y, loader = tiny_data()
    student, teacher = _models()
    d = InDistill(student, teacher, paper_teacher(4), aux_epochs=1, aux_warmup_epochs=1)
    stages = d.stages()
    assert [s.name for s in stages] == ["aux_warmup", "aux", "curriculum"]
    # a fresh Adam every curriculum epoch, as the authors' code does (on by default)
    assert stages[2].reset_optimizer_each_epoch and not stages[1].reset_optimizer_each_epoch
    assert (
        not InDistill(student, teacher, reset_optimizer=False)
        .stages()[0]
        .reset_optimizer_each_epoch
    )
    record, history = fit_recording_stage_losses(d, loader, X, y, cache_teacher=True)
    # the auxiliary teacher is trained on the labels, then adapted, then pruned and used
    assert [r["stage"] for r in history] == ["aux_warmup", "aux"] + ["curriculum"] * 13
    for stage, (before, after) in record.items():
        assert after < before, (stage, before, after)


def test_bad_arguments():
    student, teacher = _models()
    with pytest.raises(ValueError, match="feature_loss='l1' is not valid"):
        InDistill(student, teacher, feature_loss="l1")
    with pytest.raises(ValueError, match="same student"):
        InDistill(student, teacher, then=KD(paper_student(4), teacher))
    with pytest.raises(TypeError, match="then must be a Distiller"):
        InDistill(student, teacher, then="kd")
    with pytest.raises(ValueError, match=r"a=-1 is out of range: expected an integer >= 0"):
        InDistill(student, teacher, a=-1)
    with pytest.raises(TypeError, match=r"a=1.5 is not valid"):
        InDistill(student, teacher, a=1.5)
    with pytest.raises(ValueError, match=r"aux_warmup_epochs=-1 is out of range"):
        InDistill(student, teacher, paper_teacher(4), aux_warmup_epochs=-1)
    with pytest.raises(ValueError, match="exactly one convolution"):
        InDistill(student, PreActResNet18(4, width=4))
    # widths that do not fit a pruned teacher layer
    wide = paper_student(4)
    wide.block1.conv = nn.Conv2d(3, 32, 3)
    with pytest.raises(ValueError, match=r"keep must be in \[1, 16\]"):
        InDistill(wide, teacher)
