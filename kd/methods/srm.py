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

Choices that differ from the released code, on purpose:

- one bias per atom (the code has a single scalar);
- the pixel-label cross-entropy takes the head's *logits* (the code feeds sigmoid outputs to
  ``CrossEntropyLoss``, which caps the logits in (0, 1) and flattens the gradient);
- the dictionary starts from the :math:`k`-means centres of a sample of teacher pixel vectors
  (``init="kmeans"``, :mod:`kd.methods.srm_dictionary`), so that the pixel labels spread over
  many atoms; the code uses Kaiming-uniform atoms (``init="random"``);
- the top-:math:`\lambda` selection and the pixel labels are taken on the pre-activations
  :math:`C^	op t + b` (the same order as the sigmoid's, without ties where it saturates);
- by default each student layer is paired with the teacher layer of nearest spatial size
  (:func:`nearest_size_layers`), and ``spatial="pool"`` average-pools a teacher map to the
  student's size when they still differ (the paper requires equal sizes; ``spatial="error"``
  enforces it).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hyperlearn.utils._validation import check_choice, check_int, check_real

from ..features import FeatureExtractor, pixel_vectors
from ..losses import keep_top, srm_losses
from ..schedules import Constant
from .base import Batch, Distiller, Stage
from .kd import hinton_terms
from .srm_dictionary import DICTIONARY_INITS, initial_atoms, label_entropy, svd_atoms

__all__ = ["SRM", "SparseCoder", "nearest_size_layers", "svd_atoms"]


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
        check_int(in_dim, "in_dim", low=1)
        check_int(n_atoms, "n_atoms", low=1)
        check_int(n_nonzero, "n_nonzero", low=1, high=n_atoms)
        self.in_dim, self.n_atoms, self.n_nonzero = in_dim, n_atoms, n_nonzero
        bound = 1.0 / math.sqrt(in_dim)
        C = (torch.rand(in_dim, n_atoms, generator=generator) * 2 - 1) * bound
        self.C = nn.Parameter(C)
        self.bias = nn.Parameter(torch.zeros(n_atoms))

    def pre_activations(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`C^\\top t + b` for each row ``t`` of ``x``."""
        return x @ self.C + self.bias

    def dense_codes(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`\\sigma(C^\\top t + b)` for each row ``t`` of ``x``."""
        return torch.sigmoid(self.pre_activations(x))

    def sparsify(self, s: torch.Tensor) -> torch.Tensor:
        """Keep the ``n_nonzero`` largest entries of each row of ``s`` (others set to 0)."""
        return keep_top(s, self.n_nonzero)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse codes ``(M, K)`` and pixel labels ``(M,)`` (atom of largest code)."""
        pre = self.pre_activations(x)
        # the order of the pre-activations is the sigmoid's, without its float ties at 1
        keep = torch.zeros_like(pre).scatter_(-1, pre.topk(self.n_nonzero, dim=-1).indices, 1.0)
        return torch.sigmoid(pre) * keep, pre.argmax(dim=-1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse codes ``(M, K)`` and reconstruction ``(M, D)`` of rows ``x`` ``(M, D)``."""
        codes, _ = self.encode(x)
        return codes, codes @ self.C.T

    def reset_from_atoms(self, atoms: torch.Tensor, biases: torch.Tensor | None = None) -> None:
        """Overwrite the first ``atoms.shape[1]`` atoms and their biases (default 0), in place."""
        m = atoms.shape[1]
        with torch.no_grad():
            self.C[:, :m].copy_(atoms.to(self.C))
            if biases is None:
                self.bias[:m].zero_()
            else:
                self.bias[:m].copy_(biases.to(self.bias))


def _default_taps(model: nn.Module, name: str):
    layers = getattr(model, "feature_layers", None)
    rep = getattr(model, "representation_layer", None)
    if layers is None:
        raise ValueError(
            f"{name}=None needs a model with a feature_layers attribute (e.g. kd.models.PaperCNN); "
            f"pass {name} explicitly as a list of module paths of 4-D feature maps"
        )
    return [p for p in layers if p != rep]


def _map_sizes(model: nn.Module, paths, probe: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Spatial sizes of the 4-D outputs of ``paths`` for one probe input (eval mode)."""
    fe = FeatureExtractor(model, {p: p for p in paths})
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            _, feats = fe.extract(probe)
    finally:
        model.train(was)
    return {p: tuple(v.shape[2:]) for p, v in feats.items() if v.dim() == 4}


def nearest_size_layers(teacher: nn.Module, student_sizes, candidates, probe) -> list[str]:
    """For each student map size, the teacher layer whose map size is nearest.

    Parameters
    ----------
    teacher : torch.nn.Module
    student_sizes : sequence of (int, int)
        Spatial sizes of the student's tapped maps, shallow to deep.
    candidates : sequence of str
        Teacher module paths to choose from (those with 4-D outputs count).
    probe : torch.Tensor
        One input batch (its first sample is used) to read the teacher's map sizes.

    Returns
    -------
    list of str
        One teacher path per student size: the one minimising ``|log(h_t / h_s)|`` (ties to
        the larger map), never earlier than the previous choice, so the depth order is kept.

    Examples
    --------
    >>> import torch
    >>> from kd.models import PreActResNet18
    >>> t = PreActResNet18(width=4)
    >>> nearest_size_layers(t, [(15, 15), (6, 6), (2, 2)],
    ...                     ["layer1", "layer2", "layer3", "layer4"], torch.zeros(1, 3, 32, 32))
    ['layer2', 'layer3', 'layer4']
    """
    sizes = _map_sizes(teacher, candidates, probe[:1])
    order = [p for p in candidates if p in sizes]
    if not order:
        raise ValueError(f"none of the teacher layers {list(candidates)} gives a 4-D feature map")
    chosen, start = [], 0
    for size in student_sizes:
        costs = [abs(math.log(sizes[p][0] / size[0])) for p in order[start:]] or [0.0]
        best = start + min(range(len(costs)), key=lambda i: (costs[i], i))
        best = min(best, len(order) - 1)
        chosen.append(order[best])
        start = best
    return chosen


class SRM(Distiller):
    r"""Sparse representation matching: dictionary, SRM initialisation, then Hinton KD.

    Parameters
    ----------
    student, teacher : torch.nn.Module
        Classifiers with the same number of classes; the teacher is trained and frozen.
    teacher_layers, student_layers : sequence of str, optional
        Matched module paths giving 4-D feature maps ``(N, C, H, W)``. ``student_layers=None``:
        the student's ``feature_layers`` without the representation layer (the conv blocks of
        the paper CNNs). ``teacher_layers=None``: for each student layer, the teacher's
        top-level block (a child module holding a convolution) of nearest spatial size
        (:func:`nearest_size_layers`; read with one probe input when the student has an
        ``image_size`` attribute, as :class:`kd.models.PaperCNN`), else the teacher's
        ``feature_layers`` without the representation.
    multiplier : float, default=2.0
        ``K = max(1, int(multiplier·D))`` atoms for a teacher layer of ``D`` channels.
    sparsity : float, default=0.02
        ``λ = max(1, int(sparsity·K))`` non-zeros per code (the CIFAR settings of the paper;
        the floor at 1 matters for narrow layers).
    dict_epochs, init_epochs : int, default=5, 10
        Lengths of the dictionary and SRM-initialisation stages; the KD stage takes the rest.
    init : {"kmeans", "centred_svd", "svd", "random"}, default="kmeans"
        Dictionary initialisation (:mod:`kd.methods.srm_dictionary`), when the dictionary
        stage begins, from ``svd_samples`` pixel vectors of each tapped layer taken from the
        first training batches (all of them if fewer).
    svd_samples : int, default=4096
        Pixel vectors per layer for the initialisation.
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
        init: str = "kmeans",
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
        check_choice(init, "init", DICTIONARY_INITS)
        check_choice(target, "target", ("global-local", "global", "local"))
        check_choice(spatial, "spatial", ("pool", "error"))
        multiplier = check_real(multiplier, "multiplier", low=0, low_open=True)
        sparsity = check_real(sparsity, "sparsity", low=0, low_open=True)
        T = check_real(T, "T", low=0, low_open=True)
        alpha = check_real(alpha, "alpha", low=0, high=1)
        self.dict_epochs = check_int(dict_epochs, "dict_epochs", low=1)
        self.init_epochs = check_int(init_epochs, "init_epochs", low=1)
        self.svd_samples = check_int(svd_samples, "svd_samples", low=1)
        check_int(random_state, "random_state", low=0)
        s_layers = (
            _default_taps(student, "student_layers")
            if student_layers is None
            else list(student_layers)
        )
        t_layers = (
            self._default_teacher_layers(teacher, student, s_layers)
            if teacher_layers is None
            else list(teacher_layers)
        )
        if len(t_layers) != len(s_layers) or not t_layers:
            raise ValueError(
                "teacher_layers and student_layers must be non-empty and of equal length, got "
                f"{t_layers} and {s_layers}"
            )
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
        # 1 once the dictionaries were initialised; a buffer so that resume knows.
        self.register_buffer("dictionary_initialised", torch.zeros((), dtype=torch.long))
        self._teacher_fe = FeatureExtractor(
            teacher, {**dict(zip(self.names, t_layers, strict=True)), "logits": ""}
        )
        self._student_fe = FeatureExtractor(student, dict(zip(self.names, s_layers, strict=True)))
        self._student_sizes: list[tuple[int, int]] | None = None

    @staticmethod
    def _default_teacher_layers(teacher, student, s_layers) -> list[str]:
        size = getattr(student, "image_size", None)
        convs = [m for m in student.modules() if isinstance(m, nn.modules.conv._ConvNd)]
        if not isinstance(size, int) or not convs:
            return _default_taps(teacher, "teacher_layers")
        probe = torch.zeros(1, convs[0].in_channels, size, size)
        s_sizes = _map_sizes(student, s_layers, probe)
        candidates = [
            name
            for name, child in teacher.named_children()
            if any(isinstance(m, nn.modules.conv._ConvNd) for m in child.modules())
        ]
        return nearest_size_layers(teacher, [s_sizes[p] for p in s_layers], candidates, probe)

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
        """Initialise every dictionary (``init``) from teacher maps or pixel-vector samples.

        ``maps[name]`` is a 4-D teacher map ``(N, D, H, W)`` or already a matrix of pixel
        vectors ``(M, D)``; at most ``svd_samples`` rows are used. Nothing to do for
        ``init="random"`` but to mark the dictionaries initialised.
        """
        rng = np.random.default_rng(self.random_state)
        for name, coder in zip(self.names, self.coders, strict=True):
            t = maps[name]
            X = (pixel_vectors(t) if t.dim() == 4 else t).detach().cpu().double().numpy()
            if X.shape[0] > self.svd_samples:
                X = X[rng.choice(X.shape[0], self.svd_samples, replace=False)]
            start = initial_atoms(
                self.init,
                X,
                coder.n_atoms,
                n_nonzero=coder.n_nonzero,
                random_state=self.random_state,
            )
            if start is not None:
                atoms, biases = (torch.from_numpy(np.asarray(a)) for a in start)
                coder.reset_from_atoms(atoms, biases)
        self.dictionary_initialised.fill_(1)

    def _initialise_from(self, batches) -> None:
        """Initialise from the pixel vectors of the first batches (``svd_samples`` per layer)."""
        if int(self.dictionary_initialised):
            return
        pool: dict[str, list[torch.Tensor]] = {n: [] for n in self.names}
        count = dict.fromkeys(self.names, 0)
        for maps in batches:
            for name in self.names:
                pool[name].append(pixel_vectors(maps[name]).cpu())
                count[name] += pool[name][-1].shape[0]
            if min(count.values()) >= self.svd_samples:
                break
        if all(pool.values()):
            self.initialise_dictionaries({n: torch.cat(v) for n, v in pool.items()})

    def label_statistics(self, loader) -> list[dict]:
        """Entropy (bits) and number of distinct pixel labels per layer over ``loader``.

        The labels the SRM stage would train on (see
        :func:`kd.methods.srm_dictionary.label_entropy`); ``loader`` yields ``(inputs, ...)``.
        """
        labels = {n: [] for n in self.names}
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                for raw in loader:
                    out = self._srm_teacher(raw[0])
                    for n in self.names:
                        labels[n].append(out[f"pixel_{n}"].reshape(-1))
        finally:
            self.train(was)
        stats = []
        for n, coder in zip(self.names, self.coders, strict=True):
            bits, distinct = label_entropy(torch.cat(labels[n]).numpy(), coder.n_atoms)
            stats.append({"layer": n, "atoms": coder.n_atoms, "bits": bits, "labels": distinct})
        return stats

    # -- stage 1: dictionary --------------------------------------------------------------
    def _dict_teacher(self, inputs):
        maps, _ = self._teacher_maps(inputs)
        return maps

    def _dict_losses(self, batch: Batch, epoch: int):
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
            codes, pixel = coder.encode(pixel_vectors(t))
            out[f"pixel_{name}"] = pixel.reshape(n, h, w)
            out[f"image_{name}"] = codes.reshape(n, h, w, -1).mean(dim=(1, 2))
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
                initialise=self._initialise_from,
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
