"""SRM: sparse codes, SVD atoms, labels, spatial matching, end-to-end training."""

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given
from hypothesis import strategies as st

from kd.methods.srm import SRM, SparseCoder, svd_atoms
from kd.methods.srm_dictionary import kmeans_atoms, label_entropy
from kd.models import PreActResNet18, paper_student, paper_teacher

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
    with pytest.raises(ValueError, match="init='pca' is not valid"):
        SRM(student, teacher, init="pca")
    with pytest.raises(ValueError, match="target='both' is not valid"):
        SRM(student, teacher, target="both")
    with pytest.raises(ValueError, match="spatial='resize' is not valid"):
        SRM(student, teacher, spatial="resize")
    with pytest.raises(ValueError, match=r"multiplier=0.0 is out of range: expected a finite"):
        SRM(student, teacher, multiplier=0)
    with pytest.raises(TypeError, match=r"dict_epochs=1.5 is not valid"):
        SRM(student, teacher, dict_epochs=1.5)
    with pytest.raises(ValueError, match="equal length"):
        SRM(student, teacher, teacher_layers=["block1"], student_layers=["block1", "block2"])
    with pytest.raises(
        ValueError, match=r"n_nonzero=5 is out of range: expected an integer in \[1, 3\]"
    ):
        SparseCoder(4, 3, 5)
    with pytest.raises(ValueError, match="not a module path"):
        SRM(student, teacher, teacher_layers=["nope"], student_layers=["block1"])


@given(
    n=st.integers(2, 40),
    d=st.integers(1, 6),
    k=st.integers(1, 8),
    lam=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_kmeans_start_labels_each_pixel_with_its_nearest_centre(n, d, k, lam, seed):
    # oracle: (c_j·t − ‖c_j‖²/2)/λ = (‖t‖² − ‖t − c_j‖²)/(2λ), so the largest pre-activation is
    # the nearest centre; compare with the distances computed directly
    X = np.random.default_rng(seed).normal(size=(n, d)) * 3.0
    atoms, biases = kmeans_atoms(X, k, n_nonzero=lam, random_state=0)
    assert atoms.shape == (d, min(k, n)) and biases.shape == (min(k, n),)
    centres = atoms * lam
    dist = ((X[:, None, :] - centres.T[None, :, :]) ** 2).sum(axis=2)
    pre = (X @ atoms + biases) * lam
    # equal up to rounding of the two formulas (a few ulps of ‖t‖² + ‖c‖²)
    tol = 64 * np.finfo(float).eps * (1 + (X**2).sum(1, keepdims=True) + (centres**2).sum(0))
    np.testing.assert_allclose(pre, 0.5 * ((X**2).sum(1, keepdims=True) - dist), atol=tol.max())
    chosen = dist[np.arange(n), pre.argmax(axis=1)]
    np.testing.assert_allclose(chosen, dist.min(axis=1), atol=2 * tol.max())


def test_label_entropy_matches_scipy():
    from scipy.stats import entropy

    labels = np.array([0, 0, 1, 3, 3, 3, 7])
    bits, used = label_entropy(labels, 8)
    assert used == 4
    assert bits == pytest.approx(entropy(np.bincount(labels), base=2), rel=1e-12)
    assert label_entropy(np.zeros(5, dtype=int), 4) == (0.0, 1)


def test_pixel_labels_from_pre_activations_do_not_tie_when_the_sigmoid_saturates():
    coder = SparseCoder(2, 3, 1)
    with torch.no_grad():
        coder.C.copy_(torch.tensor([[100.0, 200.0, 0.0], [0.0, 0.0, 300.0]]))
        coder.bias.zero_()
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    codes, labels = coder.encode(x)
    # sigmoid(100) == sigmoid(200) == 1 in float32: argmax of the codes would say atom 0
    assert labels.tolist() == [1, 2]
    assert [int(c.nonzero()[0]) for c in codes] == [1, 2]


def test_srm_labels_use_more_than_one_atom():
    # with the default (k-means) start, after the dictionary and SRM stages have trained
    X, y, loader = tiny_data()
    student, teacher = _models()
    d = SRM(student, teacher, dict_epochs=1, init_epochs=1)
    assert d.init == "kmeans"
    fit_recording_stage_losses(d, loader, X, y, cache_teacher=True)
    stats = d.label_statistics(loader)
    assert [s["atoms"] for s in stats] == [c.n_atoms for c in d.coders]
    for s in stats:
        assert s["labels"] > 1 and s["bits"] > 1.0, s


def test_uncentred_svd_start_collapses_the_labels_kmeans_does_not():
    # the failure the k-means default fixes, on a fixture with non-negative (post-ReLU) pixels
    _, _, loader = tiny_data()
    student, teacher = _models()
    stats = {}
    for init in ("svd", "kmeans"):
        d = SRM(student, teacher, init=init)
        d.stages()[0].initialise(d._dict_teacher(xb) for xb, *_ in loader)
        stats[init] = d.label_statistics(loader)
    for svd, km in zip(stats["svd"], stats["kmeans"], strict=True):
        assert km["labels"] > svd["labels"] and km["bits"] > svd["bits"] + 1.0, (svd, km)


def test_default_teacher_layers_have_the_nearest_spatial_size():
    student = paper_student(4)  # maps 15, 6, 2
    d = SRM(student, PreActResNet18(4, width=4))  # maps 32, 16, 8, 4
    assert d.teacher_layers == ["layer2", "layer3", "layer4"]
    same = SRM(student, paper_teacher(4))
    assert same.teacher_layers == ["block1", "block2", "block3"]
