"""Baseline, KD and PKT distillers; evaluation metrics."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from kd.evaluate import accuracy, extract_representations, retrieval_evaluation
from kd.losses import kd_loss, pkt_loss
from kd.methods import KD, PKT, Baseline, Batch
from kd.models import create_model, paper_student, paper_teacher
from kd.trainer import Trainer

torch.set_num_threads(1)


def _pair(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return paper_student(num_classes=4), paper_teacher(num_classes=4)


def _batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 4, (n,), generator=g)


def test_kd_terms_add_up_to_kd_loss():
    student, teacher = _pair()
    d = KD(student, teacher, T=3.0, alpha=0.7)
    x, y = _batch()
    with torch.no_grad():
        t = d.teacher_outputs(x)
    losses = d.losses(Batch(x, y, teacher=t), 0)
    w = d.weights(0)
    total = sum(w[k] * losses[k] for k in losses)
    expected = kd_loss(student(x), teacher(x), y, T=3.0, alpha=0.7)
    assert float(total.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    d.train()
    assert student.training and not teacher.training
    with pytest.raises(ValueError, match="teacher"):
        KD(student, None)
    with pytest.raises(ValueError, match="alpha"):
        KD(student, teacher, alpha=2.0)


def test_pkt_uses_representation_layers_of_different_widths():
    student, teacher = _pair()
    d = PKT(student, teacher, kernel="combined", divergence="jeffreys", weight=2.0)
    x, y = _batch()
    with torch.no_grad():
        t = d.teacher_outputs(x)
    assert t["repr"].shape == (8, 128)
    with torch.no_grad():
        losses = d.losses(Batch(x, y, teacher=t), 0)
        conv = student.block3(student.block2(student.block1(x)))
        s_repr = torch.relu(student.fc1.linear(student.flatten(conv)))
        expected = pkt_loss(s_repr, t["repr"], kernel="combined", divergence="jeffreys")
        ce = F.cross_entropy(student(x), y)
    assert float(losses["pkt"]) == pytest.approx(float(expected), rel=1e-5)
    assert float(losses["ce"]) == pytest.approx(float(ce), rel=1e-5)
    assert d.weights(5) == {"pkt": 2.0, "ce": 1.0}
    label_free = PKT(student, teacher, ce_weight=0.0)
    assert sorted(label_free.losses(Batch(x, None, teacher=t), 0)) == ["pkt"]
    # a torchvision teacher: its representation is the input of its fc layer
    tv = PKT(student, create_model("shufflenet_v2_x0_5", num_classes=4))
    with torch.no_grad():
        assert tv.teacher_outputs(x)["repr"].shape == (8, 1024)
    with pytest.raises(ValueError, match="not a module path"):
        PKT(student, teacher, teacher_layer="block7")


def test_baseline_kd_pkt_train_end_to_end():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, 32, 32, generator=g)
    y = (X[:, 0].mean((1, 2)) > 0).long() + 2 * (X[:, 1].mean((1, 2)) > 0).long()
    loader = DataLoader(TensorDataset(X, y), batch_size=32)
    for make in (
        lambda s, t: Baseline(s),
        lambda s, t: KD(s, t),
        lambda s, t: PKT(s, t, kernel="combined", divergence="jeffreys"),
    ):
        student, teacher = _pair()
        h = Trainer(make(student, teacher), loader, epochs=3, progress=False).fit()
        assert h[-1]["loss"] < h[0]["loss"]
    with pytest.raises(ValueError, match="targets"):
        Baseline(student).losses(Batch(X[:2], None), 0)


def test_accuracy_and_retrieval_metrics():
    # a fixed "model" whose logits are its inputs: accuracy and retrieval are known exactly
    X = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.5], [0.1, 0.2]])
    y = torch.tensor([0, 1, 0, 0])
    model = torch.nn.Sequential(torch.nn.Identity())
    loader = DataLoader(TensorDataset(X, y), batch_size=3)
    assert accuracy(model, loader) == 0.75
    feats, labels = extract_representations(model, loader, layer="0")
    assert np.array_equal(feats, X.numpy()) and np.array_equal(labels, y.numpy())
    from hyperlearn.metrics import retrieval_scores

    scores = retrieval_evaluation(model, loader, loader, layer="0", k=2)
    for metric in ("cosine", "euclidean"):
        ref = retrieval_scores(X.numpy(), X.numpy(), y.numpy(), y.numpy(), metric=metric, k=2)
        assert scores[f"map_{metric}"] == ref["map"]
        assert scores[f"precision@2_{metric}"] == ref["precision_at_k"]
    model.train()
    accuracy(model, loader)
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="no sample"):
        accuracy(model, [])
