r"""Sparse representation matching (SRM; Tran, Gabbouj, Iosifidis 2021).

Three stages:

1. **dictionary** — for each tapped teacher layer, a tied-weight k-sparse sigmoid autoencoder on
   the teacher's pixel vectors :math:`t\in\mathbb R^D`: codes :math:`s = \sigma(C^\top t + b)`
   (:math:`C\in\mathbb R^{D\times K}`, :math:`K = \mathrm{multiplier}\cdot D`), keep the
   :math:`\lambda` largest entries (:math:`\hat s`), reconstruct :math:`C\hat s`; the teacher is
   frozen and :math:`C, b` minimise the reconstruction MSE.
2. **srm_init** — the teacher's sparse codes become labels: per pixel the index of the largest
   code (cross-entropy), per image the spatial mean of :math:`\hat s` (binary cross-entropy). Small
   student heads (1×1 convolutions to :math:`K` outputs) predict them from the student's feature
   maps, so only the spatial sizes of the matched layers must agree, not the channel counts.
3. **kd** — Hinton KD from the SRM-initialised student.

Choices that differ from the released code (``distillation.md`` §1.2), on purpose:

- one bias per atom (the code has a single scalar);
- the pixel-label cross-entropy takes the head's *logits* (the code feeds sigmoid outputs to
  ``CrossEntropyLoss``, which caps the logits in (0, 1) and flattens the gradient);
- optional initialisation of the first atoms from the top right singular vectors of a sample of
  teacher pixel features (:func:`hyperlearn.linalg.randomized_svd`) — ``init="svd"``; the code
  uses Kaiming-uniform atoms (``init="random"``);
- ``spatial="pool"`` average-pools a teacher map to the student's spatial size when they
  differ (the paper requires equal sizes; ``spatial="error"`` enforces it).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..features import FeatureExtractor, pixel_vectors
from ..losses import keep_top, srm_labels, srm_losses
from ..schedules import Constant
from .base import Batch, Distiller, Stage
from .infoflow import check_positive_int
from .kd import hinton_terms

__all__ = ["SRM", "SparseCoder", "svd_atoms"]


def svd_atoms(X, n_atoms: int, *, random_state=None) -> np.ndarray:
    r"""Dictionary atoms from the top right singular vectors of pixel features.

    Parameters
    ----------
    X : array of shape (n_samples, D)
        Teacher pixel vectors.
    n_atoms : int
        Number of atoms wanted (``K``).
    random_state : int, numpy Generator or None
        Passed to :func:`hyperlearn.linalg.randomized_svd`.

    Returns
    -------
    atoms : ndarray of shape (D, m), m = min(n_atoms, 2·r)
        Pairs :math:`\pm\rho_j v_j` for the top ``r = min(D, n_atoms // 2, n_samples - 1)``
        right singular vectors :math:`v_j`, scaled by the RMS projection
        :math:`\rho_j = s_j/\sqrt{n}`. Codes are non-negative (sigmoid), so both signs of a
        direction are needed to reconstruct along it.
    """
    from hyperlearn.linalg import randomized_svd

    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    r = min(d, n_atoms // 2, n - 1)
    if r < 1:
        return np.zeros((d, 0))
    _, s, Vt = randomized_svd(X, r, random_state=random_state)
    scaled = Vt.T * (s / math.sqrt(n))
    atoms = np.empty((d, 2 * r))
    atoms[:, 0::2], atoms[:, 1::2] = scaled, -scaled
    return atoms[:, :n_atoms]


class SparseCoder(nn.Module):
    r"""Tied-weight k-sparse sigmoid autoencoder over the last axis.

    Parameters
    ----------
    in_dim : int
        ``D``, the teacher's channels.
    n_atoms : int
        ``K``, the number of atoms.
    n_nonzero : int
        ``λ``, non-zeros kept per code, in ``[1, K]``.
    generator : torch.Generator, optional
        Source of the random initialisation (Kaiming-uniform atoms, as
        ``nn.Linear(D, K)``; zero bias).

    Notes
    -----
    For rows :math:`t` of ``x``: :math:`s = \sigma(C^\top t + b)`, :math:`\hat s = s\odot m`
    with :math:`m` the indicator of the :math:`\lambda` largest entries of :math:`s` (ties to the
    lower index, as :func:`torch.topk`), reconstruction :math:`\hat t = C\hat s`.

    Examples
    --------
    >>> import torch
    >>> coder = SparseCoder(4, 8, 2, generator=torch.Generator().manual_seed(0))
    >>> codes, recon = coder(torch.randn(5, 4))
    >>> (codes != 0).sum(dim=1).tolist(), recon.shape
    ([2, 2, 2, 2, 2], torch.Size([5, 4]))
    """

    def __init__(self, in_dim: int, n_atoms: int, n_nonzero: int, *, generator=None) -> None:
        super().__init__()
        check_positive_int(in_dim, "in_dim")
        check_positive_int(n_atoms, "n_atoms")
        check_positive_int(n_nonzero, "n_nonzero")
        if n_nonzero > n_atoms:
            raise ValueError(f"n_nonzero must be in [1, n_atoms={n_atoms}], got {n_nonzero}")
        self.in_dim, self.n_atoms, self.n_nonzero = in_dim, n_atoms, n_nonzero
        bound = 1.0 / math.sqrt(in_dim)
        C = (torch.rand(in_dim, n_atoms, generator=generator) * 2 - 1) * bound
        self.C = nn.Parameter(C)
        self.bias = nn.Parameter(torch.zeros(n_atoms))

    def dense_codes(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\sigma(C^\\top t + b)` for each row ``t`` of ``x``."""
        return torch.sigmoid(x @ self.C + self.bias)

    def sparsify(self, s: torch.Tensor) -> torch.Tensor:
        """Keep the ``n_nonzero`` largest entries of each row of ``s`` (others set to 0)."""
        return keep_top(s, self.n_nonzero)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse codes ``(M, K)`` and reconstruction ``(M, D)`` of rows ``x`` ``(M, D)``."""
        codes = self.sparsify(self.dense_codes(x))
        return codes, codes @ self.C.T

    def reset_from_atoms(self, atoms: torch.Tensor) -> None:
        """Overwrite the first ``atoms.shape[1]`` atoms (and zero their biases), in place."""
        m = atoms.shape[1]
        with torch.no_grad():
            self.C[:, :m].copy_(atoms.to(self.C))
            self.bias[:m].zero_()


def _default_taps(model: nn.Module, name: str):
    layers = getattr(model, "feature_layers", None)
    rep = getattr(model, "representation_layer", None)
    if layers is None:
        raise ValueError(
            f"{name}=None needs a model with a feature_layers attribute (e.g. kd.models.PaperCNN); "
            f"pass {name} explicitly as a list of module paths of 4-D feature maps"
        )
    return [p for p in layers if p != rep]


class SRM(Distiller):
    r"""Sparse representation matching: dictionary, SRM initialisation, then Hinton KD.

    Parameters
    ----------
    student, teacher : torch.nn.Module
        Classifiers with the same number of classes; the teacher is trained and frozen.
    teacher_layers, student_layers : sequence of str, optional
        Matched module paths giving 4-D feature maps ``(N, C, H, W)``. ``None``: the models'
        ``feature_layers`` without the representation layer (the conv blocks of the paper CNNs).
    multiplier : float, default=2.0
        ``K = max(1, int(multiplier·D))`` atoms for a teacher layer of ``D`` channels.
    sparsity : float, default=0.02
        ``λ = max(1, int(sparsity·K))`` non-zeros per code (the CIFAR settings of the paper;
        the floor at 1 matters for narrow layers).
    dict_epochs, init_epochs : int, default=5, 10
        Lengths of the dictionary and SRM-initialisation stages; the KD stage takes the rest.
    init : {"svd", "random"}, default="svd"
        Dictionary initialisation (see :func:`svd_atoms`); done on the first batch of the
        dictionary stage, from at most ``svd_samples`` pixel vectors of each tapped layer.
    svd_samples : int, default=4096
    target : {"global-local", "global", "local"}, default="global-local"
        Which SRM labels the student learns: image-level (BCE), pixel-level (CE), or both.
    spatial : {"pool", "error"}, default="pool"
        What to do when a teacher map and the matched student map have different spatial sizes:
        adaptive average pooling of the teacher map to the student's size, or an error.
    T, alpha : float, default=4.0, 0.9
        Hinton KD of the last stage.
    random_state : int, default=0
        Seeds the dictionary and head initialisation and the SVD sample.

    Notes
    -----
    Loss names: ``"recon_<i>"`` (dictionary), ``"pixel_<i>"`` and ``"image_<i>"`` (srm_init),
    ``"soft"`` and ``"ce"`` (kd). With head logits :math:`z_{ij}\in\mathbb R^K` at pixel
    :math:`(i,j)` of the student map:

    .. math:: L_{\mathrm{SRM}} = \sum_l \mathrm{CE}(z, \arg\max_k \hat s_{ij})
              + \mathrm{BCE}\big(\mathrm{mean}_{ij}\,\sigma(z_{ij}),\
              \mathrm{mean}_{ij}\,\hat s_{ij}\big).

    References
    ----------
    D. T. Tran, M. Gabbouj, A. Iosifidis, "Knowledge distillation by sparse representation
    matching", arXiv:2103.17012.

    Examples
    --------
    >>> from kd.models import paper_student, paper_teacher
    >>> d = SRM(paper_student(), paper_teacher())
    >>> [s.name for s in d.stages()]
    ['dictionary', 'srm_init', 'kd']
    >>> [(c.in_dim, c.n_atoms, c.n_nonzero) for c in d.coders]
    [(16, 32, 1), (32, 64, 1), (64, 128, 2)]
    """

    def __init__(
        self,
        student: nn.Module,
        teacher: nn.Module,
        *,
        teacher_layers=None,
        student_layers=None,
        multiplier: float = 2.0,
        sparsity: float = 0.02,
        dict_epochs: int = 5,
        init_epochs: int = 10,
        init: str = "svd",
        svd_samples: int = 4096,
        target: str = "global-local",
        spatial: str = "pool",
        T: float = 4.0,
        alpha: float = 0.9,
        random_state: int = 0,
    ) -> None:
        if teacher is None:
            raise ValueError("SRM needs a teacher, got None")
        super().__init__(student, teacher)
        t_layers = (
            _default_taps(teacher, "teacher_layers")
            if teacher_layers is None
            else list(teacher_layers)
        )
        s_layers = (
            _default_taps(student, "student_layers")
            if student_layers is None
            else list(student_layers)
        )
        if len(t_layers) != len(s_layers) or not t_layers:
            raise ValueError(
                "teacher_layers and student_layers must be non-empty and of equal length, got "
                f"{t_layers} and {s_layers}"
            )
        if init not in ("svd", "random"):
            raise ValueError(f"init must be 'svd' or 'random', got {init!r}")
        if target not in ("global-local", "global", "local"):
            raise ValueError(f"target must be 'global-local', 'global' or 'local', got {target!r}")
        if spatial not in ("pool", "error"):
            raise ValueError(f"spatial must be 'pool' or 'error', got {spatial!r}")
        for name, value in (("multiplier", multiplier), ("sparsity", sparsity)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if not (isinstance(T, (int, float)) and T > 0):
            raise ValueError(f"T must be a positive number, got {T!r}")
        if not (isinstance(alpha, (int, float)) and 0.0 <= alpha <= 1.0):
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.dict_epochs = check_positive_int(dict_epochs, "dict_epochs")
        self.init_epochs = check_positive_int(init_epochs, "init_epochs")
        self.svd_samples = check_positive_int(svd_samples, "svd_samples")
        check_positive_int(random_state, "random_state", allow_zero=True)
        self.init, self.target, self.spatial = init, target, spatial
        self.T, self.alpha = float(T), float(alpha)
        self.random_state = random_state
        self.teacher_layers, self.student_layers = t_layers, s_layers
        self.names = [str(i) for i in range(len(t_layers))]

        t_channels = [self._channels(teacher, p, "teacher_layers") for p in t_layers]
        s_channels = [self._channels(student, p, "student_layers") for p in s_layers]
        gen = torch.Generator().manual_seed(random_state)
        coders, heads = [], []
        for d_t, d_s in zip(t_channels, s_channels, strict=True):
            k = max(1, int(multiplier * d_t))
            lam = max(1, int(sparsity * k))
            coders.append(SparseCoder(d_t, k, lam, generator=gen))
            head = nn.Conv2d(d_s, k, kernel_size=1)
            bound = 1.0 / math.sqrt(d_s)
            with torch.no_grad():
                head.weight.copy_((torch.rand(head.weight.shape, generator=gen) * 2 - 1) * bound)
                head.bias.copy_((torch.rand(k, generator=gen) * 2 - 1) * bound)
            heads.append(head)
        self.coders = nn.ModuleList(coders)
        self.heads = nn.ModuleList(heads)
        # 1 once the dictionaries were initialised (SVD); a buffer so that resume knows.
        self.register_buffer("dictionary_initialised", torch.zeros((), dtype=torch.long))
        self._teacher_fe = FeatureExtractor(
            teacher, {**dict(zip(self.names, t_layers, strict=True)), "logits": ""}
        )
        self._student_fe = FeatureExtractor(student, dict(zip(self.names, s_layers, strict=True)))
        self._student_sizes: list[tuple[int, int]] | None = None
        self.init_log: list[dict] = []

    @staticmethod
    def _channels(model: nn.Module, path: str, name: str) -> int:
        try:
            module = model.get_submodule(path)
        except AttributeError as exc:
            raise ValueError(f"{name}: {path!r} is not a module path of the model") from exc
        convs = [m for m in module.modules() if isinstance(m, nn.modules.conv._ConvNd)]
        if not convs:
            raise ValueError(f"{name}: {path!r} has no convolution to read its channels from")
        return convs[-1].out_channels

    # -- helpers --------------------------------------------------------------------------
    def _student_spatial(self, inputs: torch.Tensor) -> list[tuple[int, int]]:
        """Spatial sizes of the student's tapped maps (one eval-mode forward on one sample)."""
        if self._student_sizes is None:
            was = self.student.training
            self.student.eval()
            try:
                with torch.no_grad():
                    _, feats = self._student_fe.extract(inputs[:1])
            finally:
                self.student.train(was)
            self._student_sizes = [tuple(feats[n].shape[2:]) for n in self.names]
        return self._student_sizes

    def _teacher_maps(self, inputs: torch.Tensor) -> tuple[dict, torch.Tensor]:
        logits, feats = self._teacher_fe.extract(inputs)
        sizes = self._student_spatial(inputs)
        maps = {}
        for i, name in enumerate(self.names):
            t = feats[name]
            if t.dim() != 4:
                raise ValueError(
                    f"teacher layer {self.teacher_layers[i]!r} gives shape {tuple(t.shape)}; SRM "
                    "needs 4-D feature maps (N, C, H, W)"
                )
            if tuple(t.shape[2:]) != sizes[i]:
                if self.spatial == "error":
                    raise ValueError(
                        f"teacher layer {self.teacher_layers[i]!r} has spatial size "
                        f"{tuple(t.shape[2:])} but student layer {self.student_layers[i]!r} has "
                        f"{sizes[i]}; they must match (or use spatial='pool')"
                    )
                t = F.adaptive_avg_pool2d(t, sizes[i])
            maps[name] = t
        return maps, logits

    def initialise_dictionaries(self, maps: dict[str, torch.Tensor]) -> None:
        """SVD initialisation of every dictionary from teacher maps (see :func:`svd_atoms`)."""
        rng = np.random.default_rng(self.random_state)
        for name, coder in zip(self.names, self.coders, strict=True):
            X = pixel_vectors(maps[name]).detach().cpu().double().numpy()
            if X.shape[0] > self.svd_samples:
                X = X[rng.choice(X.shape[0], self.svd_samples, replace=False)]
            atoms = svd_atoms(X, coder.n_atoms, random_state=self.random_state)
            coder.reset_from_atoms(torch.from_numpy(atoms))
        self.dictionary_initialised.fill_(1)

    # -- stage 1: dictionary --------------------------------------------------------------
    def _dict_teacher(self, inputs):
        maps, _ = self._teacher_maps(inputs)
        return maps

    def _dict_losses(self, batch: Batch, epoch: int):
        if self.init == "svd" and int(self.dictionary_initialised) == 0:
            self.initialise_dictionaries(batch.teacher)
        out = {}
        for name, coder in zip(self.names, self.coders, strict=True):
            x = pixel_vectors(batch.teacher[name])
            _, recon = coder(x)
            out[f"recon_{name}"] = F.mse_loss(recon, x)
        return out

    # -- stage 2: SRM initialisation of the student ---------------------------------------
    def _srm_teacher(self, inputs):
        maps, _ = self._teacher_maps(inputs)
        out = {}
        for name, coder in zip(self.names, self.coders, strict=True):
            t = maps[name]
            n, _, h, w = t.shape
            codes, _ = coder(pixel_vectors(t))
            out[f"pixel_{name}"], out[f"image_{name}"] = srm_labels(codes.reshape(n, h, w, -1))
        return out

    def _srm_losses(self, batch: Batch, epoch: int):
        _, feats = self._student_fe.extract(batch.inputs)
        out = {}
        for i, name in enumerate(self.names):
            z = self.heads[i](feats[name])
            pixel, image = batch.teacher[f"pixel_{name}"], batch.teacher[f"image_{name}"]
            if z.shape[2:] != pixel.shape[1:]:
                raise ValueError(
                    f"student layer {self.student_layers[i]!r} has spatial size "
                    f"{tuple(z.shape[2:])} but the teacher labels have {tuple(pixel.shape[1:])}"
                )
            for term, loss in srm_losses(z, pixel, image, target=self.target).items():
                out[f"{term}_{name}"] = loss
        return out

    def _srm_weights(self):
        w = {}
        for name in self.names:
            if self.target != "global":
                w[f"pixel_{name}"] = 1.0
            if self.target != "local":
                w[f"image_{name}"] = 1.0
        return Constant(w)

    # -- stage 3: Hinton KD ---------------------------------------------------------------
    def _kd_teacher(self, inputs):
        return {"logits": self.teacher(inputs)}

    def _kd_losses(self, batch: Batch, epoch: int):
        return hinton_terms(
            self.student(batch.inputs), batch, T=self.T, alpha=self.alpha, who="SRM's KD stage"
        )

    def stages(self) -> list[Stage]:
        kd_weights = {"soft": self.alpha}
        if self.alpha < 1.0:
            kd_weights["ce"] = 1.0 - self.alpha
        return [
            Stage(
                "dictionary",
                losses=self._dict_losses,
                weights=Constant({f"recon_{n}": 1.0 for n in self.names}),
                parameters=self.coders.parameters,
                epochs=self.dict_epochs,
                teacher_outputs=self._dict_teacher,
                evaluate=False,
            ),
            Stage(
                "srm_init",
                losses=self._srm_losses,
                weights=self._srm_weights(),
                parameters=lambda: [*self.student.parameters(), *self.heads.parameters()],
                epochs=self.init_epochs,
                teacher_outputs=self._srm_teacher,
                eval_modules=(self.coders,),
                evaluate=False,
            ),
            Stage(
                "kd",
                losses=self._kd_losses,
                weights=Constant(kd_weights),
                parameters=self.student.parameters,
                epochs=None,
                teacher_outputs=self._kd_teacher,
            ),
        ]
