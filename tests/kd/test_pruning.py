"""Exactness and input checks of kd.pruning."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from kd.pruning import (
    channel_importance,
    prune_channels,
    prune_linear,
    select_channels,
    slice_input_channels,
)

torch.set_num_threads(1)

# Output channel c of the pruned conv is computed from the same filter and input as in the
# original; only the backend's summation order over fan_in = C_in·k·k products may differ.
# Bound: |Δy| <= SUM_ORDER_SLACK · fan_in · eps · Σ|W||x| (standard dot-product error bound).
SUM_ORDER_SLACK = 2.0


def _tolerance(conv, x):
    fan_in = conv.weight[0].numel()
    eps = torch.finfo(x.dtype).eps
    # Σ|W||x| is bounded by ‖W[c]‖₁ · max|x|
    bound = conv.weight.detach().abs().flatten(1).sum(1).max() * x.abs().max()
    return float(SUM_ORDER_SLACK * fan_in * eps * bound)


def _random_bn(c, gen, dtype):
    bn = nn.BatchNorm2d(c, dtype=dtype)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(c, generator=gen, dtype=dtype))
        bn.bias.copy_(torch.randn(c, generator=gen, dtype=dtype))
        bn.running_mean.copy_(torch.randn(c, generator=gen, dtype=dtype))
        bn.running_var.copy_(torch.rand(c, generator=gen, dtype=dtype) + 0.5)
        bn.num_batches_tracked.fill_(7)
    return bn.eval()


@given(
    c_in=st.integers(1, 5),
    c_out=st.integers(1, 9),
    k=st.sampled_from([1, 3]),
    bias=st.booleans(),
    use_bn=st.booleans(),
    frac=st.floats(0.0, 1.0),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    seed=st.integers(0, 2**31 - 1),
)
def test_pruned_conv_bn_equals_kept_channels(c_in, c_out, k, bias, use_bn, frac, dtype, seed):
    gen = torch.Generator().manual_seed(seed)
    conv = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias, dtype=dtype)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen, dtype=dtype))
        if bias:
            conv.bias.copy_(torch.randn(c_out, generator=gen, dtype=dtype))
    bn = _random_bn(c_out, gen, dtype) if use_bn else None
    keep = max(1, min(c_out, round(frac * c_out)))
    x = torch.randn(2, c_in, 6, 5, generator=gen, dtype=dtype)

    thin, thin_bn = prune_channels(conv, bn, keep=keep)
    idx = select_channels(conv, keep=keep)
    assert thin.out_channels == keep and thin.in_channels == c_in
    assert thin.weight.dtype == dtype
    assert (thin.bias is None) == (not bias)
    full = conv(x)
    out = thin(x)
    if use_bn:
        assert thin_bn.num_features == keep
        assert int(thin_bn.num_batches_tracked) == 7
        assert not thin_bn.training
        full, out = bn(full), thin_bn(out)
    else:
        assert thin_bn is None
    torch.testing.assert_close(out, full[:, idx], rtol=0, atol=_tolerance(conv, x) * 4)


def test_keeps_largest_l1_filters_in_original_order():
    conv = nn.Conv2d(2, 5, 1, bias=False)
    norms = torch.tensor([3.0, 1.0, 5.0, 2.0, 4.0])
    with torch.no_grad():
        conv.weight.copy_(norms.view(5, 1, 1, 1).expand(5, 2, 1, 1) / 2)
    torch.testing.assert_close(channel_importance(conv), norms)
    assert select_channels(conv, keep=3).tolist() == [0, 2, 4]
    thin, _ = prune_channels(conv, keep=3)
    torch.testing.assert_close(thin.weight, conv.weight[[0, 2, 4]])
    # ratio 0.4 of 5 removes 2 channels
    assert select_channels(conv, ratio=0.4).tolist() == [0, 2, 4]
    # l2 and explicit scores
    assert select_channels(conv, keep=1, importance="l2").tolist() == [2]
    scores = torch.tensor([0.0, 9.0, 0.0, 8.0, 0.0])
    assert select_channels(conv, keep=2, importance=scores).tolist() == [1, 3]


def test_ties_broken_by_lower_index():
    conv = nn.Conv2d(1, 4, 1, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    assert select_channels(conv, keep=2).tolist() == [0, 1]


def test_original_not_modified_and_copies_independent():
    conv, bn = nn.Conv2d(3, 6, 3), nn.BatchNorm2d(6)
    before = {k: v.clone() for k, v in conv.state_dict().items()}
    thin, thin_bn = prune_channels(conv, bn, keep=3)
    with torch.no_grad():
        thin.weight.add_(1.0)
        thin_bn.running_mean.add_(1.0)
    for key, value in conv.state_dict().items():
        assert torch.equal(value, before[key])
    assert torch.equal(bn.running_mean, torch.zeros(6))
    assert thin_bn.training  # train/eval mode copied


def test_linear_pruning_and_input_slicing():
    gen = torch.Generator().manual_seed(0)
    fc1, fc2 = nn.Linear(7, 6, dtype=torch.float64), nn.Linear(6, 3, dtype=torch.float64)
    x = torch.randn(4, 7, generator=gen, dtype=torch.float64)
    thin = prune_linear(fc1, keep=4)
    idx = select_channels(fc1, keep=4)
    torch.testing.assert_close(thin(x), fc1(x)[:, idx], rtol=0, atol=1e-12)
    nxt = slice_input_channels(fc2, idx)
    h = fc1(x)
    h_masked = torch.zeros_like(h)
    h_masked[:, idx] = h[:, idx]
    torch.testing.assert_close(nxt(h[:, idx]), fc2(h_masked), rtol=0, atol=1e-12)


def test_slice_input_channels_conv_and_flattened_linear():
    gen = torch.Generator().manual_seed(1)
    conv = nn.Conv2d(5, 4, 3, padding=1, dtype=torch.float64)
    x = torch.randn(2, 5, 4, 4, generator=gen, dtype=torch.float64)
    idx = torch.tensor([0, 3, 4])
    x_masked = torch.zeros_like(x)
    x_masked[:, idx] = x[:, idx]
    torch.testing.assert_close(
        slice_input_channels(conv, idx)(x[:, idx]), conv(x_masked), rtol=0, atol=1e-12
    )
    fc = nn.Linear(5 * 16, 3, dtype=torch.float64)
    thin_fc = slice_input_channels(fc, idx, features_per_channel=16)
    assert thin_fc.in_features == 3 * 16
    torch.testing.assert_close(
        thin_fc(x[:, idx].flatten(1)), fc(x_masked.flatten(1)), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({}, ValueError, "exactly one of keep and ratio"),
        ({"keep": 2, "ratio": 0.5}, ValueError, "exactly one"),
        ({"keep": 0}, ValueError, r"keep must be in \[1, 4\]"),
        ({"keep": 5}, ValueError, r"keep must be in \[1, 4\]"),
        ({"keep": 2.0}, TypeError, "keep must be an int"),
        ({"keep": True}, TypeError, "keep must be an int"),
        ({"ratio": 1.0}, ValueError, r"ratio must be in \[0, 1\)"),
        ({"ratio": -0.1}, ValueError, r"ratio must be in \[0, 1\)"),
        ({"ratio": 0.9}, ValueError, "would remove all 4"),
        ({"ratio": float("nan")}, TypeError, "ratio must be a finite float"),
        ({"keep": 2, "importance": "l3"}, ValueError, "importance must be one of"),
        ({"keep": 2, "importance": torch.ones(3)}, ValueError, r"shape \(4,\)"),
        ({"indices": [0, 4]}, ValueError, r"indices in \[0, 4\)"),
        ({"indices": [1, 1]}, ValueError, "must not repeat"),
        ({"indices": [1], "keep": 1}, ValueError, "not several"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        prune_channels(nn.Conv2d(2, 4, 3), **kwargs)


def test_refuses_unsupported_layers():
    with pytest.raises(ValueError, match="groups=2"):
        prune_channels(nn.Conv2d(4, 4, 3, groups=2), keep=2)
    with pytest.raises(ValueError, match="groups=4"):
        prune_channels(nn.Conv2d(4, 4, 3, groups=4), keep=2)  # depthwise
    with pytest.raises(TypeError, match="transposed"):
        prune_channels(nn.ConvTranspose2d(4, 4, 3), keep=2)
    with pytest.raises(TypeError, match="ReLU"):
        prune_channels(nn.ReLU(), keep=2)
    with pytest.raises(ValueError, match="num_features=5"):
        prune_channels(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(5), keep=2)
    with pytest.raises(TypeError, match="bn must be"):
        prune_channels(nn.Conv2d(2, 4, 3), nn.LayerNorm(4), keep=2)
    with pytest.raises(ValueError, match="features_per_channel=3"):
        slice_input_channels(nn.Linear(8, 2), [0], features_per_channel=3)
