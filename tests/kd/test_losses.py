"""Distillation losses against float64 NumPy transcriptions of their formulas."""

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from kd.losses import (
    PKT_DIVERGENCES,
    PKT_KERNELS,
    AttentionTransferLoss,
    HintLoss,
    KDLoss,
    MSEFeatureLoss,
    PKTLoss,
    attention_transfer_loss,
    hint_loss,
    kd_loss,
    mse_feature_loss,
    pairwise_kernel,
    pkt_loss,
)

torch.set_num_threads(1)

EPS64 = np.finfo(np.float64).eps
# Relative error of Gram-form squared distances ‖a‖²+‖b‖²−2aᵀb: each of d products and sums
# carries u = eps/2, so |Δd²| ≤ GRAM_SLACK·d·u·(‖a‖²+‖b‖²); the loss is a smooth function of
# the kernel with O(1) condition on these well-separated O(1) inputs (CONDITION_SLACK).
GRAM_SLACK = 4
CONDITION_SLACK = 100


def _np_kernel(X, kernel, eps, sigma=1.0, degree=1.0):
    if kernel == "cosine":
        Xh = X / (np.linalg.norm(X, axis=1, keepdims=True) + eps)
        return (Xh @ Xh.T + 1.0) / 2.0
    # exact differences (not the Gram trick the implementation uses)
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1) + eps)
    if kernel == "student_t":
        return 1.0 / (1.0 + D**degree)
    if kernel == "rbf":
        return np.exp(-D / sigma)
    if kernel == "adaptive_rbf":
        return np.exp(-D / D.mean())
    if kernel == "cauchy":
        return 1.0 / (1.0 + D**2 / sigma**2)
    raise AssertionError(kernel)


def _np_pkt(S, T, kernel, divergence, eps=1e-7, sigma=1.0, degree=1.0):
    kernels = ["cosine", "student_t"] if kernel == "combined" else [kernel]
    total = 0.0
    for k in kernels:
        Kt = _np_kernel(T, k, eps, sigma, degree)
        Ks = _np_kernel(S, k, eps, sigma, degree)
        Pt = Kt / Kt.sum(1, keepdims=True)
        Ps = Ks / Ks.sum(1, keepdims=True)
        log_ratio = np.log(Pt + eps) - np.log(Ps + eps)
        if divergence == "kl":
            total += np.mean(Pt * log_ratio)
        else:
            total += np.mean((Pt - Ps) * log_ratio)
    return total


def _rtol(*Xs):
    bound = 0.0
    for X in Xs:
        sq = (X**2).sum(1)
        d2 = ((X[:, None] - X[None]) ** 2).sum(-1)
        off = d2[~np.eye(len(X), dtype=bool)].min()
        # u·(‖a‖²+‖b‖²) ≤ (eps/2)·2·max‖x‖², relative to the smallest true d²
        bound = max(bound, GRAM_SLACK * X.shape[1] * EPS64 * sq.max() / off)
    return CONDITION_SLACK * max(bound, EPS64)


@pytest.mark.parametrize(
    ("kernel", "divergence"), list(itertools.product(PKT_KERNELS, PKT_DIVERGENCES))
)
def test_pkt_matches_numpy_transcription(kernel, divergence):
    rng = np.random.default_rng(0)
    S = rng.standard_normal((12, 5))
    T = rng.standard_normal((12, 9)) * 2.0  # different widths and scales
    expected = _np_pkt(S, T, kernel, divergence)
    got = pkt_loss(torch.from_numpy(S), torch.from_numpy(T), kernel=kernel, divergence=divergence)
    assert got.dtype == torch.float64
    assert float(got) == pytest.approx(expected, rel=_rtol(S, T), abs=1e-300)
    assert expected > 0


@pytest.mark.parametrize("kernel", ["rbf", "cauchy", "student_t"])
def test_pkt_kernel_parameters_match_numpy(kernel):
    rng = np.random.default_rng(1)
    S, T = rng.standard_normal((8, 3)), rng.standard_normal((8, 4))
    expected = _np_pkt(S, T, kernel, "jeffreys", sigma=2.5, degree=2.0)
    got = pkt_loss(
        torch.from_numpy(S),
        torch.from_numpy(T),
        kernel=kernel,
        divergence="jeffreys",
        sigma=2.5,
        degree=2.0,
    )
    assert float(got) == pytest.approx(expected, rel=_rtol(S, T))


def test_pkt_float32_in_float32_out():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(6, 3, generator=g), torch.randn(6, 7, generator=g)
    assert pkt_loss(s, t, kernel="combined", divergence="jeffreys").dtype == torch.float32


# KL with ε-smoothing is ≥ −ε·log(1 + 1/ε) (log-sum inequality on P+ε; see pkt_loss Notes);
# float64 rounding of the O(1) log terms adds at most ROUNDING_SLACK·u per term.
ROUNDING_SLACK = 64


@given(
    n=st.integers(2, 10),
    ds=st.integers(1, 6),
    dt=st.integers(1, 6),
    seed=st.integers(0, 2**31 - 1),
    scale=st.floats(1e-3, 1e3),
)
def test_pkt_is_nonnegative(n, ds, dt, seed, scale):
    rng = np.random.default_rng(seed)
    S = torch.from_numpy(rng.standard_normal((n, ds)) * scale)
    T = torch.from_numpy(rng.standard_normal((n, dt)))
    eps = 1e-7
    kl_floor = -eps * math.log1p(1 / eps) - ROUNDING_SLACK * EPS64
    for kernel in PKT_KERNELS:
        assert (
            float(pkt_loss(S, T, kernel=kernel, divergence="jeffreys")) >= -ROUNDING_SLACK * EPS64
        )
        assert float(pkt_loss(S, T, kernel=kernel, divergence="kl")) >= kl_floor


@pytest.mark.parametrize(
    ("kernel", "divergence"), list(itertools.product(PKT_KERNELS, PKT_DIVERGENCES))
)
def test_pkt_vanishes_for_rotated_copy(kernel, divergence):
    # An orthogonal map preserves norms, inner products and distances, so every kernel matrix,
    # hence P, is the same up to rounding: the loss is ~0 (exactly 0 for identical inputs).
    rng = np.random.default_rng(2)
    T = rng.standard_normal((10, 6))
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    Tt = torch.from_numpy(T)
    assert float(pkt_loss(Tt, Tt, kernel=kernel, divergence=divergence)) == 0.0
    rotated = float(pkt_loss(torch.from_numpy(T @ Q), Tt, kernel=kernel, divergence=divergence))
    # P differs by O(cond·u); the divergence is quadratic (jeffreys) or O(ΔP) (kl)
    assert abs(rotated) <= CONDITION_SLACK * 6 * EPS64 * (T**2).sum(1).max()


def test_pkt_positive_for_different_structure():
    rng = np.random.default_rng(3)
    T = torch.from_numpy(rng.standard_normal((10, 6)))
    S = torch.from_numpy(rng.standard_normal((10, 6)))
    for kernel, div in itertools.product(PKT_KERNELS, PKT_DIVERGENCES):
        assert float(pkt_loss(S, T, kernel=kernel, divergence=div)) > 1e-6


@given(
    seed=st.integers(0, 2**31 - 1), log_scales=st.lists(st.floats(-3, 3), min_size=8, max_size=8)
)
def test_cosine_invariant_to_positive_row_scaling(seed, log_scales):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8, 5)) + 0.1
    c = np.exp(np.asarray(log_scales))[:, None]
    eps = 1e-7
    K1 = pairwise_kernel(torch.from_numpy(X), "cosine", eps=eps).numpy()
    K2 = pairwise_kernel(torch.from_numpy(X * c), "cosine", eps=eps).numpy()
    # x/(‖x‖+ε) = (x/‖x‖)(1 − ε/(‖x‖+ε)): each unit vector shrinks by at most ε/‖x‖, so the
    # kernel (an inner product halved) moves by at most ε/min‖x‖, plus rounding.
    norms = np.minimum(np.linalg.norm(X, axis=1), np.linalg.norm(X * c, axis=1))
    bound = eps / norms.min() + ROUNDING_SLACK * EPS64
    assert np.abs(K1 - K2).max() <= bound
    T = torch.from_numpy(rng.standard_normal((8, 3)))
    l1 = float(pkt_loss(torch.from_numpy(X), T))
    l2 = float(pkt_loss(torch.from_numpy(X * c), T))
    # |∂L/∂K| ≤ |log P| + 1 ≲ log(1/ε) per entry, averaged: the loss moves by ≤ that × bound
    assert abs(l1 - l2) <= (math.log(1 / eps) + 1) * bound * 8


@pytest.mark.parametrize(
    ("kernel", "divergence"), list(itertools.product(PKT_KERNELS, PKT_DIVERGENCES))
)
def test_pkt_finite_with_zero_rows(kernel, divergence):
    g = torch.Generator().manual_seed(0)
    S = torch.randn(6, 4, generator=g, dtype=torch.float64)
    T = torch.randn(6, 5, generator=g, dtype=torch.float64)
    S[2] = 0.0
    T[2] = 0.0
    T[4] = 0.0
    S.requires_grad_(True)
    loss = pkt_loss(S, T, kernel=kernel, divergence=divergence)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(S.grad).all()
    zeros = torch.zeros(5, 3, dtype=torch.float64)
    assert torch.isfinite(pkt_loss(zeros, zeros, kernel=kernel, divergence=divergence))


@pytest.mark.parametrize(
    ("kernel", "divergence"),
    list(itertools.product([k for k in PKT_KERNELS if k != "adaptive_rbf"], PKT_DIVERGENCES)),
)
def test_pkt_gradcheck(kernel, divergence):
    # adaptive_rbf is excluded on purpose: its width is detached (not differentiated), as in
    # the reference code, so its analytic gradient deliberately differs from finite differences.
    g = torch.Generator().manual_seed(0)
    S = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    T = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda s, t: pkt_loss(s, t, kernel=kernel, divergence=divergence), (S, T)
    )


def test_pkt_module_and_errors():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(4, 3, generator=g), torch.randn(4, 2, generator=g)
    m = PKTLoss(kernel="combined", divergence="jeffreys")
    assert torch.equal(m(s, t), pkt_loss(s, t, kernel="combined", divergence="jeffreys"))
    with pytest.raises(ValueError, match="kernel"):
        pkt_loss(s, t, kernel="gaussian")
    with pytest.raises(ValueError, match="divergence"):
        PKTLoss(divergence="js")
    with pytest.raises(ValueError, match="batch size"):
        pkt_loss(s, t[:3])
    with pytest.raises(TypeError, match="dtype"):
        pkt_loss(s, t.double())
    with pytest.raises(ValueError, match="eps"):
        pkt_loss(s, t, eps=0.0)


# --------------------------------------------------------------------------------------------
# Hinton KD
# --------------------------------------------------------------------------------------------
def _np_kd(zs, zt, y, T, alpha):
    def log_softmax(z):
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    lp, lq = log_softmax(zt / T), log_softmax(zs / T)
    soft = (np.exp(lp) * (lp - lq)).sum(1).mean() * T * T
    ce = -log_softmax(zs)[np.arange(len(y)), y].mean()
    return alpha * soft + (1 - alpha) * ce, soft


def test_kd_loss_matches_numpy():
    rng = np.random.default_rng(0)
    zs, zt = rng.standard_normal((7, 5)) * 3, rng.standard_normal((7, 5)) * 3
    y = rng.integers(0, 5, 7)
    expected, soft = _np_kd(zs, zt, y, 3.0, 0.7)
    args = torch.from_numpy(zs), torch.from_numpy(zt)
    got = kd_loss(*args, torch.from_numpy(y), T=3.0, alpha=0.7)
    # log-softmax of O(1) logits: a few ulps per class, summed over 5 classes
    assert float(got) == pytest.approx(expected, rel=CONDITION_SLACK * EPS64)
    assert float(kd_loss(*args, T=3.0, alpha=0.7)) == pytest.approx(0.7 * soft, rel=1e-13)
    assert float(KDLoss(T=3.0, alpha=0.7)(*args, torch.from_numpy(y))) == float(got)


def test_kd_soft_part_zero_for_equal_logits():
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    # soft part only: exactly zero for equal logits and for a per-row constant shift (softmax
    # invariance) up to rounding
    assert float(kd_loss(z, z, T=4.0, alpha=1.0)) == 0.0
    shifted = float(kd_loss(z, z + torch.arange(6.0, dtype=torch.float64)[:, None], alpha=1.0))
    assert abs(shifted) <= CONDITION_SLACK * EPS64 * 16
    # with labels, what remains is (1 − α)·CE
    expected = 0.1 * float(F.cross_entropy(z, y))
    assert float(kd_loss(z, z, y, T=4.0, alpha=0.9)) == pytest.approx(expected, rel=1e-14)


def test_kd_loss_gradcheck_and_errors():
    g = torch.Generator().manual_seed(1)
    zs = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    zt = torch.randn(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 1])
    assert torch.autograd.gradcheck(lambda a, b: kd_loss(a, b, y, T=2.0, alpha=0.6), (zs, zt))
    with pytest.raises(
        ValueError, match=r"T=0.0 is out of range: expected a finite real number > 0"
    ):
        kd_loss(zs, zt, T=0.0)
    with pytest.raises(TypeError, match=r"T='4' is not valid"):
        kd_loss(zs, zt, T="4")
    with pytest.raises(ValueError, match="alpha"):
        kd_loss(zs, zt, alpha=1.5)
    with pytest.raises(ValueError, match="shape"):
        kd_loss(zs, zt[:, :2])
    with pytest.raises(ValueError, match="target"):
        kd_loss(zs, zt, y[:3])


# --------------------------------------------------------------------------------------------
# Feature losses
# --------------------------------------------------------------------------------------------
def test_mse_and_hint_losses():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(3, 4, 5, 5, generator=g, dtype=torch.float64)
    t = torch.randn(3, 6, 5, 5, generator=g, dtype=torch.float64)
    with pytest.raises(ValueError, match="same shape"):
        mse_feature_loss(s, t)
    expected = ((s.detach().numpy()[:, :4] - t.numpy()[:, :4]) ** 2).mean()
    assert float(mse_feature_loss(s, t[:, :4])) == pytest.approx(expected, rel=1e-14)
    assert float(MSEFeatureLoss()(s, t[:, :4])) == pytest.approx(expected, rel=1e-14)
    hint = HintLoss(4, 6).double()
    W = hint.regressor.weight.detach().numpy()[:, :, 0, 0]
    b = hint.regressor.bias.detach().numpy()
    mapped = np.einsum("oc,nchw->nohw", W, s.detach().numpy()) + b[None, :, None, None]
    assert float(hint(s, t).detach()) == pytest.approx(
        ((mapped - t.numpy()) ** 2).mean(), rel=1e-12
    )
    s.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: hint_loss(a, t, hint.regressor), (s,))
    assert torch.autograd.gradcheck(lambda a: mse_feature_loss(a, t[:, :4]), (s,))
    vec = HintLoss(4, 2, spatial=False).double()
    assert vec(torch.ones(3, 4, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64)) >= 0
    with pytest.raises(ValueError, match="student_channels"):
        HintLoss(0, 3)


def test_attention_transfer_matches_numpy_and_gradcheck():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64)
    t = torch.randn(2, 5, 4, 4, generator=g, dtype=torch.float64)

    def att(x):
        q = (np.abs(x) ** 2).mean(1).reshape(len(x), -1)
        return q / np.linalg.norm(q, axis=1, keepdims=True)

    expected = ((att(s.detach().numpy()) - att(t.numpy())) ** 2).mean()
    assert float(attention_transfer_loss(s, t)) == pytest.approx(expected, rel=1e-13)
    assert float(AttentionTransferLoss()(s, t)) == pytest.approx(expected, rel=1e-13)
    assert torch.autograd.gradcheck(
        lambda a: attention_transfer_loss(a, t), (s.requires_grad_(True),)
    )
    with pytest.raises(ValueError, match="spatial"):
        attention_transfer_loss(s, t[:, :, :3, :3])


# --------------------------------------------------------------------------------------------
# Sparse representation matching
# --------------------------------------------------------------------------------------------
def _np_srm(C, b, lam, teacher, logits):
    """float64 NumPy transcription: codes, labels and the two terms."""
    n, d, h, w = teacher.shape
    x = teacher.transpose(0, 2, 3, 1).reshape(-1, d)
    s = 1.0 / (1.0 + np.exp(-(x @ C + b)))
    codes = np.zeros_like(s)
    top = np.argsort(-s, axis=1, kind="stable")[:, :lam]
    np.put_along_axis(codes, top, np.take_along_axis(s, top, axis=1), axis=1)
    codes = codes.reshape(n, h, w, -1)
    pixel, image = codes.argmax(axis=-1), codes.mean(axis=(1, 2))
    z = logits.transpose(0, 2, 3, 1).reshape(-1, logits.shape[1])  # (N·H·W, K)
    log_softmax = z - z.max(axis=1, keepdims=True)
    log_softmax -= np.log(np.exp(log_softmax).sum(axis=1, keepdims=True))
    ce = -np.mean(log_softmax[np.arange(z.shape[0]), pixel.reshape(-1)])
    q = np.clip((1.0 / (1.0 + np.exp(-logits))).mean(axis=(2, 3)), 1e-6, 1 - 1e-6)
    bce = -np.mean(image * np.log(q) + (1 - image) * np.log(1 - q))
    return codes, pixel, image, ce, bce


@pytest.mark.parametrize("lam", [1, 3])
def test_srm_matches_numpy_transcription(lam):
    from kd.losses import SparseRepresentationMatching, srm_losses

    g = torch.Generator().manual_seed(1)
    C = torch.randn(6, 12, generator=g, dtype=torch.float64)
    b = torch.randn(12, generator=g, dtype=torch.float64)
    teacher = torch.randn(3, 6, 4, 5, generator=g, dtype=torch.float64)
    logits = torch.randn(3, 12, 4, 5, generator=g, dtype=torch.float64)
    srm = SparseRepresentationMatching(C, b, n_nonzero=lam)
    codes, pixel, image, ce, bce = _np_srm(
        C.numpy(), b.numpy(), lam, teacher.numpy(), logits.numpy()
    )
    # a few O(1) operations per entry: a small multiple of the unit roundoff
    np.testing.assert_allclose(srm.codes(teacher).numpy(), codes, rtol=0, atol=64 * EPS64)
    got_pixel, got_image = srm.labels(teacher)
    np.testing.assert_array_equal(got_pixel.numpy(), pixel)
    np.testing.assert_allclose(got_image.numpy(), image, rtol=0, atol=64 * EPS64)
    terms = srm_losses(logits, got_pixel, got_image)
    np.testing.assert_allclose(terms["pixel"].item(), ce, rtol=CONDITION_SLACK * EPS64)
    np.testing.assert_allclose(terms["image"].item(), bce, rtol=CONDITION_SLACK * EPS64)
    np.testing.assert_allclose(srm(logits, teacher).item(), ce + bce, rtol=CONDITION_SLACK * EPS64)
    for target, keys in (("local", {"pixel"}), ("global", {"image"})):
        assert set(srm_losses(logits, got_pixel, got_image, target=target)) == keys
        only = SparseRepresentationMatching(C, b, n_nonzero=lam, target=target)(logits, teacher)
        expected = ce if target == "local" else bce
        np.testing.assert_allclose(only.item(), expected, rtol=CONDITION_SLACK * EPS64)


def test_srm_dictionary_is_fixed_and_gradient_reaches_the_student_only():
    from kd.losses import SparseRepresentationMatching

    g = torch.Generator().manual_seed(2)
    C = torch.randn(4, 8, generator=g)
    srm = SparseRepresentationMatching(C, n_nonzero=2)
    assert list(srm.parameters()) == [] and set(dict(srm.named_buffers())) == {"C", "bias"}
    teacher = torch.randn(2, 4, 3, 3, generator=g, requires_grad=True)
    logits = torch.randn(2, 8, 3, 3, generator=g, requires_grad=True)
    srm(logits, teacher).backward()
    assert logits.grad is not None and torch.isfinite(logits.grad).all()
    assert teacher.grad is None  # labels are targets, not a path for gradients
    C.add_(1.0)  # the module holds its own copy
    assert not torch.equal(srm.C, C)


def test_srm_module_agrees_with_the_srm_method_coder():
    from kd.losses import SparseRepresentationMatching
    from kd.methods.srm import SparseCoder

    g = torch.Generator().manual_seed(3)
    coder = SparseCoder(5, 10, 3, generator=g)
    with torch.no_grad():
        coder.bias.copy_(torch.randn(10, generator=g))
    teacher = torch.randn(2, 5, 4, 4, generator=g)
    codes, _ = coder(teacher.permute(0, 2, 3, 1).reshape(-1, 5))
    srm = SparseRepresentationMatching(coder.C, coder.bias, n_nonzero=coder.n_nonzero)
    torch.testing.assert_close(srm.codes(teacher), codes.reshape(2, 4, 4, 10).detach())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"C": torch.ones(4)}, "C must have at least 2 dimensions"),
        ({"C": torch.ones(4, 6, 1)}, "C must have shape"),
        ({"C": torch.ones(4, 6), "bias": torch.ones(5)}, "bias must have shape"),
        ({"C": torch.ones(4, 6), "n_nonzero": 0}, "n_nonzero"),
        ({"C": torch.ones(4, 6), "n_nonzero": 7}, "n_nonzero"),
        ({"C": torch.ones(4, 6), "n_nonzero": True}, "n_nonzero=True is not valid"),
        ({"C": torch.ones(4, 6), "target": "pixel"}, "target"),
    ],
)
def test_srm_bad_construction(kwargs, match):
    from kd.losses import SparseRepresentationMatching

    # a wrong type is a TypeError, a wrong value a ValueError (the one validation layer)
    error = TypeError if kwargs.get("n_nonzero") is True else ValueError
    with pytest.raises(error, match=match):
        SparseRepresentationMatching(**kwargs)


def test_srm_bad_shapes():
    from kd.losses import SparseRepresentationMatching, srm_labels, srm_losses

    srm = SparseRepresentationMatching(torch.ones(4, 6))
    with pytest.raises(ValueError, match=r"teacher must have shape \(N, 4, H, W\)"):
        srm.codes(torch.ones(2, 3, 5, 5))
    with pytest.raises(ValueError, match="codes must have at least 4 dimensions"):
        srm_labels(torch.ones(2, 6))
    with pytest.raises(ValueError, match="codes must have shape"):
        srm_labels(torch.ones(2, 6, 1, 1, 1))
    logits = torch.ones(2, 6, 5, 5)
    with pytest.raises(ValueError, match="pixel_labels must have shape"):
        srm_losses(logits, torch.zeros(2, 4, 4, dtype=torch.long), torch.zeros(2, 6))
    with pytest.raises(ValueError, match="image_labels must have shape"):
        srm_losses(logits, torch.zeros(2, 5, 5, dtype=torch.long), torch.zeros(2, 7))
