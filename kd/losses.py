r"""Distillation losses: small functions of tensors, plus thin ``nn.Module`` wrappers.

Every function takes tensors and keyword arguments only (no model paths, no option bags); the
modules only store those keyword arguments (and, for :class:`HintLoss`, the learned regressor;
for :class:`SparseRepresentationMatching`, the fixed dictionary).

================================  ===============================================================
``kd_loss`` / KDLoss              Hinton et al. (2015): temperature-softened KL + cross-entropy
``pkt_loss`` / PKTLoss            Passalis & Tefas (2018, 2020): probabilistic knowledge transfer
``hint_loss`` / HintLoss          Romero et al. (2015, FitNets): MSE after a learned regressor
``mse_feature_loss``              plain feature MSE (InDistill's intermediate-layer loss)
``attention_transfer_loss``       Zagoruyko & Komodakis (2017): spatial attention maps
``SparseRepresentationMatching``  Tran et al. (2021): labels from a teacher's sparse codes
================================  ===============================================================
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hyperlearn.utils._validation import check_int, check_real

__all__ = [
    "AttentionTransferLoss",
    "HintLoss",
    "KDLoss",
    "MSEFeatureLoss",
    "PKTLoss",
    "SparseRepresentationMatching",
    "attention_map",
    "attention_transfer_loss",
    "hint_loss",
    "kd_loss",
    "keep_top",
    "mse_feature_loss",
    "pairwise_kernel",
    "pkt_loss",
    "sparse_codes",
    "srm_labels",
    "srm_losses",
]

PKT_KERNELS = ("cosine", "student_t", "combined", "rbf", "adaptive_rbf", "cauchy")
PKT_DIVERGENCES = ("kl", "jeffreys")


def check_pkt_options(kernel: str, divergence: str) -> None:
    """Raise ``ValueError`` unless ``kernel`` and ``divergence`` are PKT options."""
    if kernel not in PKT_KERNELS:
        raise ValueError(f"kernel must be one of {list(PKT_KERNELS)}, got {kernel!r}")
    if divergence not in PKT_DIVERGENCES:
        raise ValueError(f"divergence must be one of {list(PKT_DIVERGENCES)}, got {divergence!r}")


def _check_tensor(x, name: str, *, min_dim: int = 1) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions, got {tuple(x.shape)}")
    return x


def _check_pair(student, teacher, *, min_dim: int = 2) -> None:
    _check_tensor(student, "student", min_dim=min_dim)
    _check_tensor(teacher, "teacher", min_dim=min_dim)
    if student.shape[0] != teacher.shape[0]:
        raise ValueError(
            f"student and teacher must have the same batch size, got {student.shape[0]} "
            f"and {teacher.shape[0]}"
        )
    if student.dtype != teacher.dtype:
        raise TypeError(
            f"student and teacher must have the same dtype, got {student.dtype} and {teacher.dtype}"
        )


# --------------------------------------------------------------------------------------------
# Hinton KD
# --------------------------------------------------------------------------------------------
def kd_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    T: float = 4.0,
    alpha: float = 0.9,
) -> torch.Tensor:
    r"""Hinton knowledge-distillation loss.

    Parameters
    ----------
    student_logits, teacher_logits : torch.Tensor of shape (batch, classes)
    target : torch.Tensor of shape (batch,), int64, optional
        Class labels. When omitted, the cross-entropy term is dropped.
    T : float, default=4.0
        Temperature (> 0).
    alpha : float, default=0.9
        Weight of the soft term, in [0, 1].

    Returns
    -------
    torch.Tensor
        Scalar :math:`\alpha T^2\,\mathrm{KL}(p_T \,\|\, q_T) + (1-\alpha)\,\mathrm{CE}(z_s, y)`
        with :math:`p_T = \mathrm{softmax}(z_t/T)`, :math:`q_T = \mathrm{softmax}(z_s/T)`, the KL
        summed over classes and averaged over the batch (``batchmean``), the CE averaged over
        the batch. Without ``target`` it is :math:`\alpha T^2\,\mathrm{KL}`.

    Notes
    -----
    The factor :math:`T^2` keeps the gradient magnitude of the soft term roughly independent of
    ``T`` (Hinton et al., 2015, §2). The soft term is zero when the two logit vectors are equal
    up to a per-row constant.

    References
    ----------
    G. Hinton, O. Vinyals, J. Dean, "Distilling the knowledge in a neural network", 2015.

    Examples
    --------
    >>> import torch
    >>> z = torch.tensor([[1.0, 2.0, 3.0]])
    >>> float(kd_loss(z, z + 5.0))
    0.0
    """
    _check_pair(student_logits, teacher_logits)
    if student_logits.dim() != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(
            "student_logits and teacher_logits must both have shape (batch, classes), got "
            f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}"
        )
    check_real(T, "T", low=0, low_open=True)
    check_real(alpha, "alpha", low=0, high=1)
    log_q = F.log_softmax(student_logits / T, dim=1)
    log_p = F.log_softmax(teacher_logits / T, dim=1)
    soft = F.kl_div(log_q, log_p, reduction="batchmean", log_target=True) * (T * T)
    if target is None:
        return alpha * soft
    if target.shape != (student_logits.shape[0],):
        raise ValueError(
            f"target must have shape ({student_logits.shape[0]},), got {tuple(target.shape)}"
        )
    return alpha * soft + (1.0 - alpha) * F.cross_entropy(student_logits, target)


class KDLoss(nn.Module):
    """Module form of :func:`kd_loss` (stores ``T`` and ``alpha``)."""

    def __init__(self, *, T: float = 4.0, alpha: float = 0.9) -> None:
        super().__init__()
        self.T = T
        self.alpha = alpha

    def forward(self, student_logits, teacher_logits, target=None):
        return kd_loss(student_logits, teacher_logits, target, T=self.T, alpha=self.alpha)

    def extra_repr(self) -> str:
        return f"T={self.T}, alpha={self.alpha}"


# --------------------------------------------------------------------------------------------
# Probabilistic knowledge transfer
# --------------------------------------------------------------------------------------------
def _pairwise_distances(X: torch.Tensor, eps: float) -> torch.Tensor:
    # Gram form: one matmul, O(N²) memory instead of the O(N²·D) broadcast difference.
    sq = (X * X).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    # The diagonal is 0 by definition; rounding can make it ±tiny, and a value below zero would
    # be clamped with a zero derivative while the true derivative of ‖x−x‖² is 0 anyway — set it
    # exactly so the gradient is right and deterministic.
    eye = torch.eye(X.shape[0], dtype=torch.bool, device=X.device)
    d2 = d2.clamp_min(0.0).masked_fill(eye, 0.0)
    return torch.sqrt(d2 + eps)


def pairwise_kernel(
    X: torch.Tensor,
    kernel: str = "cosine",
    *,
    eps: float = 1e-7,
    sigma: float = 1.0,
    degree: float = 1.0,
) -> torch.Tensor:
    r"""Kernel matrix :math:`K_{ij} = k(x_i, x_j)` of the rows of ``X`` (N×N).

    Kernels (with :math:`d_{ij} = \sqrt{\max(\|x_i-x_j\|^2, 0) + \varepsilon}`, the diagonal
    distance being :math:`\sqrt{\varepsilon}`):

    - ``cosine``: :math:`(1 + \hat x_i^\top \hat x_j)/2`, :math:`\hat x = x/(\|x\|+\varepsilon)`;
    - ``student_t``: :math:`1/(1 + d_{ij}^{\,degree})`;
    - ``rbf``: :math:`\exp(-d_{ij}/\sigma)`; ``adaptive_rbf``: the same with
      :math:`\sigma = \mathrm{mean}(d)` treated as a constant (detached);
    - ``cauchy``: :math:`1/(1 + d_{ij}^2/\sigma^2)`.

    ``combined`` is not a single kernel; see :func:`pkt_loss`.
    """
    if kernel == "cosine":
        X_hat = X / (torch.linalg.vector_norm(X, dim=1, keepdim=True) + eps)
        return (X_hat @ X_hat.T + 1.0) / 2.0
    D = _pairwise_distances(X, eps)
    if kernel == "student_t":
        return 1.0 / (1.0 + D**degree)
    if kernel == "rbf":
        return torch.exp(-D / sigma)
    if kernel == "adaptive_rbf":
        return torch.exp(-D / D.mean().detach())
    if kernel == "cauchy":
        return 1.0 / (1.0 + D**2 / sigma**2)
    raise ValueError(
        f"kernel must be one of {[k for k in PKT_KERNELS if k != 'combined']}, got {kernel!r}"
    )


def _conditional(K: torch.Tensor) -> torch.Tensor:
    return K / K.sum(dim=1, keepdim=True)


def _divergence(P: torch.Tensor, Q: torch.Tensor, divergence: str, eps: float) -> torch.Tensor:
    log_ratio = torch.log(P + eps) - torch.log(Q + eps)
    if divergence == "kl":
        return (P * log_ratio).mean()
    return ((P - Q) * log_ratio).mean()  # jeffreys = KL(P‖Q) + KL(Q‖P)


def pkt_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    *,
    kernel: str = "cosine",
    divergence: str = "kl",
    eps: float = 1e-7,
    sigma: float = 1.0,
    degree: float = 1.0,
) -> torch.Tensor:
    r"""Probabilistic knowledge transfer: match the pairwise-similarity distributions of a batch.

    Parameters
    ----------
    student : torch.Tensor of shape (batch, d_s) or (batch, ...)
    teacher : torch.Tensor of shape (batch, d_t) or (batch, ...)
        Features of the same samples; trailing dimensions are flattened, and ``d_s`` and
        ``d_t`` may differ. Pass the teacher features detached (or computed under
        ``torch.no_grad``) unless both sides should learn.
    kernel : {"cosine", "student_t", "combined", "rbf", "adaptive_rbf", "cauchy"}, \
default="cosine"
        Similarity kernel (see :func:`pairwise_kernel`). ``"combined"`` sums the divergences
        obtained with the cosine and the Student-t kernels, as in the information-flow KD and
        InDistill code.
    divergence : {"kl", "jeffreys"}, default="kl"
        ``kl`` is :math:`\mathrm{KL}(P^t\|P^s)`; ``jeffreys`` the symmetric
        :math:`\mathrm{KL}(P^t\|P^s) + \mathrm{KL}(P^s\|P^t)`.
    eps : float, default=1e-7
        Small constant in the row norms, the distances and the logarithms.
    sigma : float, default=1.0
        Width of the ``rbf`` and ``cauchy`` kernels.
    degree : float, default=1.0
        Exponent of the distance in the ``student_t`` kernel.

    Returns
    -------
    torch.Tensor
        Scalar loss, in the dtype of the inputs.

    Raises
    ------
    ValueError
        Unknown ``kernel``/``divergence``, different batch sizes, non-positive ``eps``,
        ``sigma`` or ``degree``.
    TypeError
        Non-floating or different dtypes.

    Notes
    -----
    With :math:`K` the kernel matrix of a batch (diagonal included), the conditional
    probabilities are :math:`P_{ij} = K_{ij} / \sum_{k} K_{ik}`, for teacher (:math:`P^t`) and
    student (:math:`P^s`). The divergences, averaged over all :math:`N^2` entries as in the
    authors' code (so the loss is :math:`1/N` of a per-row KL; paper loss weights such as
    RepDistiller's 30000 assume this scale):

    .. math::

        L_{kl} = \frac{1}{N^2}\sum_{ij} P^t_{ij}
                 \log\frac{P^t_{ij}+\varepsilon}{P^s_{ij}+\varepsilon}, \qquad
        L_{jeffreys} = \frac{1}{N^2}\sum_{ij} (P^t_{ij}-P^s_{ij})
                 \left(\log(P^t_{ij}+\varepsilon) - \log(P^s_{ij}+\varepsilon)\right).

    Every Jeffreys term is non-negative. The KL form is non-negative up to the smoothing:
    :math:`L_{kl} \ge -\varepsilon\log(1 + 1/\varepsilon)` (log-sum inequality on
    :math:`P+\varepsilon`). Both vanish when :math:`P^s = P^t`. A zero feature row gives
    finite values (its cosine kernel row is 1/2, its distances are finite).

    References
    ----------
    N. Passalis, A. Tefas, "Learning deep representations with probabilistic knowledge
    transfer", ECCV 2018. N. Passalis, M. Tzelepi, A. Tefas, "Heterogeneous knowledge
    distillation using information flow modeling", CVPR 2020.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> t = torch.randn(16, 32, generator=g)
    >>> float(pkt_loss(t, t, kernel="combined", divergence="jeffreys"))
    0.0
    >>> bool(pkt_loss(torch.randn(16, 5, generator=g), t) > 0)
    True
    """
    _check_pair(student, teacher)
    check_pkt_options(kernel, divergence)
    for name, value in (("eps", eps), ("sigma", sigma), ("degree", degree)):
        check_real(value, name, low=0, low_open=True)
    X_s = student.reshape(student.shape[0], -1)
    X_t = teacher.reshape(teacher.shape[0], -1)
    kernels = ("cosine", "student_t") if kernel == "combined" else (kernel,)
    loss = None
    for k in kernels:
        p_teacher = _conditional(pairwise_kernel(X_t, k, eps=eps, sigma=sigma, degree=degree))
        p_student = _conditional(pairwise_kernel(X_s, k, eps=eps, sigma=sigma, degree=degree))
        term = _divergence(p_teacher, p_student, divergence, eps)
        loss = term if loss is None else loss + term
    return loss


class PKTLoss(nn.Module):
    """Module form of :func:`pkt_loss` (stores the keyword arguments)."""

    def __init__(
        self,
        *,
        kernel: str = "cosine",
        divergence: str = "kl",
        eps: float = 1e-7,
        sigma: float = 1.0,
        degree: float = 1.0,
    ) -> None:
        super().__init__()
        check_pkt_options(kernel, divergence)
        self.kernel, self.divergence = kernel, divergence
        self.eps, self.sigma, self.degree = eps, sigma, degree

    def forward(self, student, teacher):
        return pkt_loss(
            student,
            teacher,
            kernel=self.kernel,
            divergence=self.divergence,
            eps=self.eps,
            sigma=self.sigma,
            degree=self.degree,
        )

    def extra_repr(self) -> str:
        return f"kernel={self.kernel!r}, divergence={self.divergence!r}, eps={self.eps}"


# --------------------------------------------------------------------------------------------
# Feature regression losses
# --------------------------------------------------------------------------------------------
def mse_feature_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error between features of identical shape.

    :math:`L = \frac{1}{N D}\sum_{n,d} (s_{nd} - t_{nd})^2` over the flattened features. This
    is InDistill's intermediate-layer loss, where pruning makes the shapes equal.

    Raises
    ------
    ValueError
        If the shapes differ (use :func:`hint_loss` with a regressor, or :func:`pkt_loss`, for
        features of different widths).
    """
    _check_pair(student, teacher, min_dim=1)
    if student.shape != teacher.shape:
        raise ValueError(
            f"student and teacher features must have the same shape, got "
            f"{tuple(student.shape)} and {tuple(teacher.shape)}; use hint_loss with a "
            "regressor or pkt_loss for different widths"
        )
    return F.mse_loss(student, teacher)


def hint_loss(
    student: torch.Tensor, teacher: torch.Tensor, regressor: nn.Module | None = None
) -> torch.Tensor:
    r"""FitNets hint loss: :math:`\mathrm{MSE}(r(s), t)` with a learned regressor :math:`r`.

    Parameters
    ----------
    student, teacher : torch.Tensor
        Student ("guided") and teacher ("hint") features of the same batch.
    regressor : torch.nn.Module, optional
        Maps the student features to the teacher's shape (e.g. a 1×1 convolution). ``None``
        means the identity.

    References
    ----------
    A. Romero et al., "FitNets: hints for thin deep nets", ICLR 2015.
    """
    mapped = student if regressor is None else regressor(student)
    return mse_feature_loss(mapped, teacher)


class HintLoss(nn.Module):
    """FitNets hint loss with its own learned regressor.

    Parameters
    ----------
    student_channels, teacher_channels : int
        Channel (or feature) widths of the student and teacher features.
    spatial : bool, default=True
        ``True``: features are maps (N, C, H, W) and the regressor is a 1×1 convolution (the
        spatial sizes must already agree). ``False``: vectors (N, D) and a linear map.

    Notes
    -----
    The regressor's parameters belong to this module; a :class:`kd.methods.Distiller` that
    holds a ``HintLoss`` as a sub-module trains them with the student.
    """

    def __init__(self, student_channels: int, teacher_channels: int, *, spatial: bool = True):
        super().__init__()
        for name, value in (
            ("student_channels", student_channels),
            ("teacher_channels", teacher_channels),
        ):
            check_int(value, name, low=1)
        self.regressor = (
            nn.Conv2d(student_channels, teacher_channels, kernel_size=1)
            if spatial
            else nn.Linear(student_channels, teacher_channels)
        )

    def forward(self, student, teacher):
        return hint_loss(student, teacher, self.regressor)


class MSEFeatureLoss(nn.Module):
    """Module form of :func:`mse_feature_loss`."""

    def forward(self, student, teacher):
        return mse_feature_loss(student, teacher)


# --------------------------------------------------------------------------------------------
# Attention transfer
# --------------------------------------------------------------------------------------------
def attention_map(features: torch.Tensor, *, p: float = 2.0) -> torch.Tensor:
    r"""Spatial attention :math:`a = Q/\|Q\|_2`, :math:`Q_{hw} = \frac{1}{C}\sum_c |f_{chw}|^p`.

    Returns a tensor of shape (N, H·W).
    """
    _check_tensor(features, "features", min_dim=4)
    if features.dim() != 4:
        raise ValueError(f"features must have shape (N, C, H, W), got {tuple(features.shape)}")
    Q = features.abs().pow(p).mean(dim=1).reshape(features.shape[0], -1)
    return F.normalize(Q, dim=1)


def attention_transfer_loss(
    student: torch.Tensor, teacher: torch.Tensor, *, p: float = 2.0
) -> torch.Tensor:
    r"""Attention transfer: :math:`\frac{1}{N\,HW}\sum_n \|a(s_n) - a(t_n)\|_2^2`.

    Parameters
    ----------
    student, teacher : torch.Tensor of shape (N, C_s, H, W) and (N, C_t, H, W)
        Channel counts may differ; spatial sizes must agree.
    p : float, default=2.0
        Exponent of the activation magnitudes (see :func:`attention_map`).

    References
    ----------
    S. Zagoruyko, N. Komodakis, "Paying more attention to attention", ICLR 2017.
    """
    _check_pair(student, teacher, min_dim=4)
    if student.shape[2:] != teacher.shape[2:]:
        raise ValueError(
            f"student and teacher spatial sizes must agree, got {tuple(student.shape[2:])} "
            f"and {tuple(teacher.shape[2:])}"
        )
    check_real(p, "p", low=0, low_open=True)
    return (attention_map(student, p=p) - attention_map(teacher, p=p)).pow(2).mean()


class AttentionTransferLoss(nn.Module):
    """Module form of :func:`attention_transfer_loss`."""

    def __init__(self, *, p: float = 2.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, student, teacher):
        return attention_transfer_loss(student, teacher, p=self.p)


# --------------------------------------------------------------------------------------------
# Sparse representation matching
# --------------------------------------------------------------------------------------------
SRM_TARGETS = ("global-local", "global", "local")


def sparse_codes(
    x: torch.Tensor, C: torch.Tensor, bias: torch.Tensor | None, n_nonzero: int
) -> torch.Tensor:
    r"""Top-λ sigmoid codes :math:`\hat s = \sigma(C^\top t + b)\odot m` of the rows ``t`` of x.

    ``x`` is (M, D), ``C`` the (D, K) dictionary, ``bias`` (K,) or None; :math:`m` marks the
    ``n_nonzero`` largest entries of each code (ties to the lower index, as :func:`torch.topk`).
    Returns (M, K).
    """
    return keep_top(torch.sigmoid(x @ C if bias is None else x @ C + bias), n_nonzero)


def keep_top(s: torch.Tensor, k: int) -> torch.Tensor:
    """``s`` with all but the ``k`` largest entries of each row (last axis) set to 0."""
    idx = s.topk(k, dim=-1).indices
    return s * torch.zeros_like(s).scatter_(-1, idx, 1.0)


def srm_labels(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """SRM labels from sparse codes of shape (N, H, W, K).

    Returns the pixel labels (N, H, W) -- the index of the largest code at each position -- and
    the image labels (N, K) -- the spatial mean of the codes (each in [0, 1)).
    """
    _check_tensor(codes, "codes", min_dim=4)
    if codes.dim() != 4:
        raise ValueError(f"codes must have shape (N, H, W, K), got {tuple(codes.shape)}")
    return codes.argmax(dim=-1), codes.mean(dim=(1, 2))


def srm_losses(
    logits: torch.Tensor,
    pixel_labels: torch.Tensor,
    image_labels: torch.Tensor,
    *,
    target: str = "global-local",
) -> dict[str, torch.Tensor]:
    r"""The two SRM terms for student head logits ``z`` of shape (N, K, H, W).

    ``"pixel"``: :math:`\mathrm{CE}(z, \text{pixel labels})` over all positions (``target``
    ``"local"`` or ``"global-local"``); ``"image"``:
    :math:`\mathrm{BCE}(\mathrm{mean}_{hw}\,\sigma(z), \text{image labels})` (``"global"`` or
    ``"global-local"``).
    """
    if target not in SRM_TARGETS:
        raise ValueError(f"target must be one of {SRM_TARGETS}, got {target!r}")
    _check_tensor(logits, "logits", min_dim=4)
    if logits.dim() != 4:
        raise ValueError(f"logits must have shape (N, K, H, W), got {tuple(logits.shape)}")
    n, k, h, w = logits.shape
    if tuple(pixel_labels.shape) != (n, h, w):
        raise ValueError(
            f"pixel_labels must have shape {(n, h, w)} for logits of shape {tuple(logits.shape)}, "
            f"got {tuple(pixel_labels.shape)}"
        )
    if tuple(image_labels.shape) != (n, k):
        raise ValueError(
            f"image_labels must have shape {(n, k)} for logits of shape {tuple(logits.shape)}, "
            f"got {tuple(image_labels.shape)}"
        )
    out = {}
    if target != "global":
        out["pixel"] = F.cross_entropy(logits, pixel_labels)
    if target != "local":
        q = torch.sigmoid(logits).mean(dim=(2, 3)).clamp(1e-6, 1 - 1e-6)
        out["image"] = F.binary_cross_entropy(q, image_labels)
    return out


class SparseRepresentationMatching(nn.Module):
    r"""SRM loss (Tran, Gabbouj, Iosifidis 2021) for one matched pair of layers.

    The teacher's feature map is encoded with a fixed dictionary: per pixel vector :math:`t`,
    the top-λ codes :math:`\hat s = \sigma(C^\top t + b)\odot m` (:func:`sparse_codes`).  They
    become labels (:func:`srm_labels`): per pixel the index of the largest code, per image the
    spatial mean of the codes; the student's head logits :math:`z` (N, K, H, W) learn them
    (:func:`srm_losses`):

    .. math:: L = \mathrm{CE}(z, \arg\max_k \hat s_{hw}) + \mathrm{BCE}\big(
              \mathrm{mean}_{hw}\,\sigma(z_{hw}),\ \mathrm{mean}_{hw}\,\hat s_{hw}\big).

    Parameters
    ----------
    C : torch.Tensor of shape (D, K)
        Dictionary (atoms as columns) for a teacher layer of ``D`` channels; stored as a buffer
        (not trained by this loss: :class:`kd.methods.SRM` learns it in its dictionary stage).
    bias : torch.Tensor of shape (K,), optional
        Code biases (zeros when omitted).
    n_nonzero : int, default=1
        ``λ``, codes kept per pixel, in ``[1, K]``.
    target : {"global-local", "global", "local"}, default="global-local"
        Which terms enter the loss: both, the image-level BCE, or the pixel-level CE.

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> srm = SparseRepresentationMatching(torch.randn(8, 16, generator=g), n_nonzero=2)
    >>> teacher = torch.randn(4, 8, 5, 5, generator=g)   # (N, D, H, W)
    >>> pixel, image = srm.labels(teacher)
    >>> tuple(pixel.shape), tuple(image.shape)
    ((4, 5, 5), (4, 16))
    >>> srm(torch.randn(4, 16, 5, 5, generator=g), teacher).item() > 0
    True
    """

    def __init__(
        self,
        C: torch.Tensor,
        bias: torch.Tensor | None = None,
        *,
        n_nonzero: int = 1,
        target: str = "global-local",
    ) -> None:
        super().__init__()
        _check_tensor(C, "C", min_dim=2)
        if C.dim() != 2:
            raise ValueError(f"C must have shape (D, K), got {tuple(C.shape)}")
        d, k = C.shape
        if bias is not None:
            _check_tensor(bias, "bias")
            if tuple(bias.shape) != (k,):
                raise ValueError(f"bias must have shape ({k},) for C of shape {(d, k)}, got "
                                 f"{tuple(bias.shape)}")  # fmt: skip
        check_int(n_nonzero, "n_nonzero", low=1, high=k)
        if target not in SRM_TARGETS:
            raise ValueError(f"target must be one of {SRM_TARGETS}, got {target!r}")
        self.register_buffer("C", C.detach().clone())
        self.register_buffer(
            "bias", torch.zeros(k, dtype=C.dtype) if bias is None else bias.detach().clone()
        )
        self.n_nonzero, self.target = n_nonzero, target

    def codes(self, teacher: torch.Tensor) -> torch.Tensor:
        """Sparse codes (N, H, W, K) of a teacher map (N, D, H, W)."""
        _check_tensor(teacher, "teacher", min_dim=4)
        if teacher.dim() != 4 or teacher.shape[1] != self.C.shape[0]:
            raise ValueError(
                f"teacher must have shape (N, {self.C.shape[0]}, H, W) for C of shape "
                f"{tuple(self.C.shape)}, got {tuple(teacher.shape)}"
            )
        n, d, h, w = teacher.shape
        x = teacher.permute(0, 2, 3, 1).reshape(-1, d)
        return sparse_codes(x, self.C, self.bias, self.n_nonzero).reshape(n, h, w, -1)

    def labels(self, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixel labels (N, H, W) and image labels (N, K) of a teacher map (no gradient)."""
        with torch.no_grad():
            return srm_labels(self.codes(teacher))

    def forward(self, student_logits: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        pixel, image = self.labels(teacher)
        return sum(srm_losses(student_logits, pixel, image, target=self.target).values())
