"""FeatureExtractor: hooks capture features and leave no trace on the model."""

import pytest
import torch
from torch import nn

from kd.features import FeatureExtractor, flatten_features, pixel_vectors
from kd.models import create_model, paper_student

torch.set_num_threads(1)


def _all_hooks(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def _snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_features_captured_and_model_untouched():
    torch.manual_seed(0)
    model = paper_student().eval()
    x = torch.randn(4, 3, 32, 32)
    before = _snapshot(model)
    reference = model(x)
    layers = {"c1": "block1", "c2": "block2", "c3": "block3", "emb": "fc1", "logits": ""}
    with FeatureExtractor(model, layers, capture={"emb": "output"}) as fe:
        out = model(x)
        assert _all_hooks(model) == len(layers)
    assert torch.equal(out, reference)
    assert _all_hooks(model) == 0
    # the paper's student feature shapes: 8×15×15 (1800-d), 16×6×6, 32×2×2, fc1 64
    assert fe.features["c1"].shape == (4, 8, 15, 15)
    assert fe.features["c2"].shape == (4, 16, 6, 6)
    assert fe.features["c3"].shape == (4, 32, 2, 2)
    assert fe.features["emb"].shape == (4, 64)
    assert torch.equal(fe.features["logits"], out)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    # gradients flow through captured features (not detached by default)
    assert fe.features["emb"].requires_grad


def test_capture_input_gives_classifier_input_of_torchvision_model():
    torch.manual_seed(0)
    model = create_model("shufflenet_v2_x0_5", num_classes=3).eval()  # small torchvision net
    x = torch.randn(2, 3, 32, 32)
    out, feats = FeatureExtractor(
        model, {"pooled": "fc", "s2": "stage2"}, capture={"pooled": "input"}, detach=True
    ).extract(x)
    assert feats["pooled"].shape == (2, 1024)
    assert not feats["pooled"].requires_grad
    assert torch.allclose(model.fc(feats["pooled"]), out)
    assert feats["s2"].shape == (2, 48, 4, 4)
    assert _all_hooks(model) == 0


def test_hooks_removed_after_exception():
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    with pytest.raises(RuntimeError, match="shape"):
        with FeatureExtractor(model, {"h": "0"}):
            assert _all_hooks(model) == 1
            model(torch.ones(2, 4))  # wrong width: the forward raises inside the block
    assert _all_hooks(model) == 0
    fe = FeatureExtractor(model, {"h": "0"})
    with pytest.raises(RuntimeError):
        fe.extract(torch.ones(2, 4))
    assert _all_hooks(model) == 0
    # an extractor that is never entered registers nothing
    assert _all_hooks(model) == 0


def test_bad_arguments():
    model = nn.Sequential(nn.Linear(3, 3))
    with pytest.raises(ValueError, match="not a module path"):
        FeatureExtractor(model, {"h": "block9"})
    with pytest.raises(ValueError, match="non-empty"):
        FeatureExtractor(model, {})
    with pytest.raises(ValueError, match="'output' or 'input'"):
        FeatureExtractor(model, {"h": "0"}, capture="grad")
    with pytest.raises(ValueError, match="not in layers"):
        FeatureExtractor(model, {"h": "0"}, capture={"x": "input"})
    with pytest.raises(TypeError):
        FeatureExtractor("model", {"h": "0"})
    fe = FeatureExtractor(model, {"h": "0"})
    with fe, pytest.raises(RuntimeError, match="already active"), fe:
        pass
    assert _all_hooks(model) == 0


def test_reshaping_helpers():
    x = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2)
    assert flatten_features(x).shape == (2, 12)
    pv = pixel_vectors(x)
    assert pv.shape == (8, 3)
    assert torch.equal(pv[1], x[0, :, 0, 1])
    with pytest.raises(ValueError):
        pixel_vectors(x[0])
