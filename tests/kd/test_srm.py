"""SRM: sparse codes, SVD atoms, labels, spatial matching, end-to-end training."""

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st

from kd.methods.srm import SRM, SparseCoder, svd_atoms
from kd.models import paper_student, paper_teacher

from ._method_helpers import fit_recording_stage_losses, tiny_data

torch.set_num_threads(1)


def _models(seed=0, n_classes=4):
    torch.manual_seed(seed)
    return paper_student(n_classes), paper_teacher(n_classes)


@given(
    d=st.integers(1, 12),
    k=st.integers(1, 24),
    frac=st.floats(0.0, 1.0),
    n=st.integers(1, 20),
    seed=st.integers(0, 2**31 - 1),
)
def test_codes_have_exactly_lambda_nonzeros_per_pixel(d, k, frac, n, seed):
    lam = max(1, min(k, round(frac * k)))
    gen = torch.Generator().manual_seed(seed)
    coder = SparseCoder(d, k, lam, generator=gen)
    x = torch.randn(n, d, generator=gen, dtype=torch.float32)
    codes, recon = coder(x)
    assert torch.equal((codes != 0).sum(dim=1), torch.full((n,), lam))
    dense = coder.dense_codes(x)
    # the kept entries are the λ largest of the dense sigmoid codes, unchanged
    kth = dense.topk(lam, dim=1).values[:, -1:]
    assert torch.all(dense[codes != 0] > 0)
    assert torch.all(codes[codes != 0] >= kth.expand_as(codes)[codes != 0])
    torch.testing.assert_close(codes[codes != 0], dense[codes != 0], rtol=0, atol=0)
    torch.testing.assert_close(recon, codes @ coder.C.T)
    assert recon.dtype == torch.float32


# randomized_svd of an exactly rank-r matrix recovers its singular triplets to rounding;
# c·eps·‖X‖ with c generous for the power iterations (float64).
SVD_SLACK = 1e4


def test_svd_atoms_are_scaled_signed_singular_vectors():
    rng = np.random.default_rng(0)
    n, d, r = 300, 10, 4
    X = (
        rng.standard_normal((n, r))
        @ rng.standard_normal((r, d))
        * np.array([5, 3, 2, 1] * 2 + [1, 1])
    )
    atoms = svd_atoms(X, 6, random_state=0)
    assert atoms.shape == (d, 6)
    _, s, Vt = scipy.linalg.svd(X, full_matrices=False)
    expected = Vt[:3].T * (s[:3] / np.sqrt(n))
    tol = SVD_SLACK * np.finfo(float).eps * s[0]
    for j in range(3):
        pos, neg = atoms[:, 2 * j], atoms[:, 2 * j + 1]
        np.testing.assert_allclose(pos, -neg)
        sign = np.sign(pos @ expected[:, j])
        np.testing.assert_allclose(sign * pos, expected[:, j], atol=tol)
    # more atoms than 2·D directions: only 2·min(D, ...) are set
    assert svd_atoms(X[:, :2], 10, random_state=0).shape == (2, 4)


def test_reconstruction_loss_decreases_and_svd_init_applied():
    X, y, loader = tiny_data()
    student, teacher = _models()
    d = SRM(student, teacher, dict_epochs=2, init_epochs=1, init="svd")
    C_random = [c.C.detach().clone() for c in d.coders]
    record, history = fit_recording_stage_losses(d, loader, X, y, cache_teacher=True)
    assert int(d.dictionary_initialised) == 1
    assert all(not torch.equal(a, c.C) for a, c in zip(C_random, d.coders, strict=True))
    recon = [r["loss"] for r in history if r["stage"] == "dictionary"]
    assert len(recon) == 2 and recon[1] < recon[0]
    assert [r["stage"] for r in history] == ["dictionary"] * 2 + ["srm_init", "kd"]
    for stage, (before, after) in record.items():
        assert after < before, (stage, before, after)


def test_random_init_reconstruction_decreases():
    X, y, loader = tiny_data()
    student, teacher = _models()
    d = SRM(student, teacher, dict_epochs=1, init_epochs=1, init="random")
    C_before = [c.C.detach().clone() for c in d.coders]
    record, _ = fit_recording_stage_losses(d, loader, X, y, cache_teacher=True)
    assert int(d.dictionary_initialised) == 0
    assert record["dictionary"][1] < record["dictionary"][0]
    assert all(not torch.equal(a, c.C) for a, c in zip(C_before, d.coders, strict=True))


def test_labels_and_spatial_matching():
    student, teacher = _models()
    # teacher block1 (16×15×15) against student block2 (16×6×6): different spatial sizes
    kwargs = {"teacher_layers": ["block1"], "student_layers": ["block2"]}
    x = torch.randn(3, 3, 32, 32)
    d = SRM(student, teacher, spatial="pool", **kwargs)
    with torch.no_grad():
        labels = d._srm_teacher(x)
    coder = d.coders[0]
    assert labels["pixel_0"].shape == (3, 6, 6)
    assert labels["pixel_0"].dtype == torch.long
    assert int(labels["pixel_0"].min()) >= 0 and int(labels["pixel_0"].max()) < coder.n_atoms
    image = labels["image_0"]
    assert image.shape == (3, coder.n_atoms)
    assert torch.all((image >= 0) & (image <= 1))
    # each pixel contributes λ codes in (0, 1): the image label sums to at most λ
    assert torch.all(image.sum(dim=1) <= coder.n_nonzero + 1e-6)
    from kd.methods import Batch

    losses = d._srm_losses(Batch(x, teacher=labels), 0)
    assert set(losses) == {"pixel_0", "image_0"}
    d_err = SRM(student, teacher, spatial="error", **kwargs)
    with pytest.raises(ValueError, match=r"spatial size \(15, 15\).*\(6, 6\)"):
        d_err._srm_teacher(x)
    d_global = SRM(student, teacher, target="global")
    with torch.no_grad():
        t = d_global._srm_teacher(x)
    assert set(d_global._srm_losses(Batch(x, teacher=t), 0)) == {"image_0", "image_1", "image_2"}


def test_sizes_from_multiplier_and_sparsity():
    student, teacher = _models()
    d = SRM(student, teacher, multiplier=3.0, sparsity=0.05)
    assert [(c.in_dim, c.n_atoms, c.n_nonzero) for c in d.coders] == [
        (16, 48, 2),
        (32, 96, 4),
        (64, 192, 9),
    ]
    assert [h.in_channels for h in d.heads] == [8, 16, 32]


def test_bad_arguments():
    student, teacher = _models()
    with pytest.raises(ValueError, match="init must be"):
        SRM(student, teacher, init="kmeans")
    with pytest.raises(ValueError, match="target must be"):
        SRM(student, teacher, target="both")
    with pytest.raises(ValueError, match="spatial must be"):
        SRM(student, teacher, spatial="resize")
    with pytest.raises(ValueError, match="multiplier must be a positive number"):
        SRM(student, teacher, multiplier=0)
    with pytest.raises(ValueError, match="equal length"):
        SRM(student, teacher, teacher_layers=["block1"], student_layers=["block1", "block2"])
    with pytest.raises(ValueError, match="n_nonzero must be in"):
        SparseCoder(4, 3, 5)
    with pytest.raises(ValueError, match="not a module path"):
        SRM(student, teacher, teacher_layers=["nope"], student_layers=["block1"])
