"""Structured (filter) pruning of convolution, linear and batch-norm layers.

The functions here build *thinner copies* of layers: a convolution keeping only some of its output
filters, the batch normalisation that follows it restricted to the same channels, and the next
layer restricted to the matching input channels. Unlike :func:`torch.nn.utils.prune.ln_structured`
(which only masks weights with zeros and keeps the shapes), the copies really have fewer channels,
and every tensor that belongs to a kept channel is copied: the weight, the bias, and the batch-norm
weight, bias, running mean, running variance and ``num_batches_tracked``.

This is what InDistill needs to build its side branches: each teacher layer is pruned to the
student's width along its *output* channels only, and reads the unpruned activation of the layer
before it (so the next layer's input channels are left alone).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from torch import nn

__all__ = [
    "channel_importance",
    "prune_channels",
    "prune_linear",
    "select_channels",
    "slice_input_channels",
]

_IMPORTANCES = ("l1", "l2")


def _check_prunable(layer: nn.Module, name: str = "layer") -> None:
    """Refuse layers whose output channels cannot be sliced independently."""
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        raise TypeError(
            f"{name} must be a Conv1d/2d/3d or Linear layer; transposed convolutions "
            f"({type(layer).__name__}) are not supported"
        )
    if isinstance(layer, nn.modules.conv._ConvNd):
        if layer.groups != 1:
            # A grouped/depthwise filter only sees its own group of input channels, so dropping
            # output filters would also change which inputs the remaining filters read.
            raise ValueError(
                f"{name} has groups={layer.groups}; only groups=1 convolutions can be pruned "
                "(grouped and depthwise convolutions are not supported)"
            )
        return
    if isinstance(layer, nn.Linear):
        return
    raise TypeError(
        f"{name} must be an nn.Conv1d/Conv2d/Conv3d or nn.Linear, got {type(layer).__name__}"
    )


def channel_importance(layer: nn.Module, importance="l1") -> torch.Tensor:
    """Importance score of each output channel (filter) of a convolution or linear layer.

    Parameters
    ----------
    layer : nn.Conv1d, nn.Conv2d, nn.Conv3d or nn.Linear
        Layer whose output channels are scored (``groups=1`` for convolutions).
    importance : {"l1", "l2"} or tensor of shape (out_channels,)
        ``"l1"`` scores filter ``c`` by ``‖W[c]‖₁`` (the sum of absolute weights over its input
        channels and kernel), ``"l2"`` by ``‖W[c]‖₂``. A tensor is returned unchanged after a
        shape check, so that any user-defined importance can be used.

    Returns
    -------
    scores : torch.Tensor of shape (out_channels,)
        Detached scores, larger means more important.

    Raises
    ------
    TypeError
        If `layer` is not a supported layer type.
    ValueError
        If `importance` is an unknown name or a tensor of the wrong shape.
    """
    _check_prunable(layer)
    n_out = layer.weight.shape[0]
    if isinstance(importance, torch.Tensor):
        if importance.shape != (n_out,):
            raise ValueError(
                f"importance tensor must have shape ({n_out},) (one score per output channel), "
                f"got {tuple(importance.shape)}"
            )
        return importance.detach()
    if importance not in _IMPORTANCES:
        raise ValueError(
            f"importance must be one of {_IMPORTANCES} or a tensor of scores, got {importance!r}"
        )
    p = 1 if importance == "l1" else 2
    return layer.weight.detach().flatten(1).norm(p=p, dim=1)


def _resolve_keep(n_out: int, keep, ratio) -> int:
    if (keep is None) == (ratio is None):
        raise ValueError(
            f"exactly one of keep and ratio must be given, got keep={keep!r}, ratio={ratio!r}"
        )
    if keep is not None:
        if isinstance(keep, bool) or not isinstance(keep, Integral):
            raise TypeError(f"keep must be an int (a channel count), got {keep!r}")
        keep = int(keep)
        if not 1 <= keep <= n_out:
            raise ValueError(
                f"keep must be in [1, {n_out}] (the layer's output channels), got {keep}"
            )
        return keep
    if isinstance(ratio, bool) or not isinstance(ratio, Real) or not math.isfinite(ratio):
        raise TypeError(f"ratio must be a finite float in [0, 1), got {ratio!r}")
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"ratio must be in [0, 1) (the fraction of channels removed), got {ratio}")
    keep = n_out - round(ratio * n_out)
    if keep < 1:
        raise ValueError(
            f"ratio={ratio} would remove all {n_out} output channels; use a smaller ratio"
        )
    return keep


def select_channels(layer: nn.Module, *, keep=None, ratio=None, importance="l1") -> torch.Tensor:
    """Indices of the output channels kept by :func:`prune_channels`, in increasing order.

    Parameters
    ----------
    layer : nn.Conv1d, nn.Conv2d, nn.Conv3d or nn.Linear
        Layer to prune (``groups=1``).
    keep : int, optional
        Number of channels to keep, in ``[1, out_channels]``.
    ratio : float, optional
        Fraction of channels to remove, in ``[0, 1)``; ``keep = out − round(ratio·out)``.
        Exactly one of `keep` and `ratio` must be given.
    importance : {"l1", "l2"} or tensor
        See :func:`channel_importance`.

    Returns
    -------
    indices : torch.LongTensor of shape (keep,)
        The `keep` channels of largest importance, sorted increasingly (original order). Ties are
        broken in favour of the lower index, so the result is deterministic.

    Raises
    ------
    TypeError, ValueError
        On an unsupported layer or a bad `keep`, `ratio` or `importance`.
    """
    scores = channel_importance(layer, importance)
    n_keep = _resolve_keep(scores.shape[0], keep, ratio)
    order = torch.argsort(scores, descending=True, stable=True)
    return torch.sort(order[:n_keep].cpu()).values


def _check_indices(indices, n: int, name: str) -> torch.Tensor:
    idx = torch.as_tensor(indices, dtype=torch.long).flatten().cpu()
    if idx.numel() == 0:
        raise ValueError(f"{name} must select at least one channel, got an empty selection")
    if int(idx.min()) < 0 or int(idx.max()) >= n:
        raise ValueError(f"{name} must be channel indices in [0, {n}), got values outside")
    if torch.unique(idx).numel() != idx.numel():
        raise ValueError(f"{name} must not repeat a channel index")
    return idx


def _new_like(layer: nn.Module, in_features: int, out_features: int) -> nn.Module:
    factory = {"device": layer.weight.device, "dtype": layer.weight.dtype}
    if isinstance(layer, nn.Linear):
        new = nn.Linear(in_features, out_features, bias=layer.bias is not None, **factory)
    else:
        new = type(layer)(
            in_features,
            out_features,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            groups=1,
            bias=layer.bias is not None,
            padding_mode=layer.padding_mode,
            **factory,
        )
    new.train(layer.training)
    return new


def _prune_bn(bn: nn.Module, idx: torch.Tensor) -> nn.Module:
    if not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        raise TypeError(f"bn must be a BatchNorm1d/2d/3d or None, got {type(bn).__name__}")
    ref = bn.weight if bn.affine else bn.running_mean
    factory = {} if ref is None else {"device": ref.device, "dtype": ref.dtype}
    new = type(bn)(
        idx.numel(),
        eps=bn.eps,
        momentum=bn.momentum,
        affine=bn.affine,
        track_running_stats=bn.track_running_stats,
        **factory,
    )
    with torch.no_grad():
        if bn.affine:
            new.weight.copy_(bn.weight[idx.to(bn.weight.device)])
            new.bias.copy_(bn.bias[idx.to(bn.bias.device)])
        if bn.track_running_stats:
            new.running_mean.copy_(bn.running_mean[idx.to(bn.running_mean.device)])
            new.running_var.copy_(bn.running_var[idx.to(bn.running_var.device)])
            new.num_batches_tracked.copy_(bn.num_batches_tracked)
    new.train(bn.training)
    return new


def prune_channels(
    layer: nn.Module,
    bn: nn.Module | None = None,
    *,
    keep=None,
    ratio=None,
    importance="l1",
    indices=None,
):
    """Thinner copy of a convolution or linear layer (and its batch norm) keeping some filters.

    Parameters
    ----------
    layer : nn.Conv1d, nn.Conv2d, nn.Conv3d or nn.Linear
        Layer to prune along its output channels. Convolutions must have ``groups=1``.
    bn : nn.BatchNorm1d/2d/3d, optional
        Batch normalisation applied to `layer`'s output; restricted to the same channels.
    keep : int, optional
        Number of output channels to keep, in ``[1, out_channels]``.
    ratio : float, optional
        Fraction of output channels to remove, in ``[0, 1)``. Exactly one of `keep`, `ratio` and
        `indices` must be given.
    importance : {"l1", "l2"} or tensor, default "l1"
        Filter score (:func:`channel_importance`); the `keep` largest are kept.
    indices : sequence of int, optional
        Explicit channels to keep (used instead of `keep`/`ratio`), e.g. to prune several layers
        the same way. Kept in the order given.

    Returns
    -------
    layer : nn.Module
        New layer of the same type with ``out_channels = keep``; weight and bias copied.
    bn : nn.Module or None
        New batch norm restricted to the kept channels (weight, bias, running mean and variance,
        ``num_batches_tracked``), or None if `bn` was None.

    Raises
    ------
    TypeError
        If `layer` or `bn` has an unsupported type, or `keep`/`ratio` has the wrong type.
    ValueError
        If `keep`/`ratio`/`indices` are out of range or several are given, if the convolution is
        grouped, or if `bn` does not have the layer's number of output channels.

    Notes
    -----
    Output channel ``c`` of a ``groups=1`` convolution is ``y_c = b_c + Σ_i W[c, i] ⋆ x_i``,
    which depends only on filter ``c``; batch norm in eval mode acts per channel,
    ``(y_c − μ_c) γ_c / sqrt(σ²_c + ε) + β_c``. Hence the pruned conv(+BN) output equals the kept
    channels of the original output, up to the summation order the backend chooses.
    The originals are not modified; the copies keep the original's device, dtype and train/eval
    mode, and have fresh (independent) parameters.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> conv, bn = nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8).eval()
    >>> thin_conv, thin_bn = prune_channels(conv, bn, keep=4)
    >>> thin_conv.out_channels, thin_bn.num_features
    (4, 4)
    >>> idx = select_channels(conv, keep=4)
    >>> x = torch.randn(2, 3, 9, 9, dtype=torch.float32)
    >>> torch.allclose(thin_bn(thin_conv(x)), bn(conv(x))[:, idx], atol=1e-6)
    True
    """
    _check_prunable(layer)
    n_out = layer.weight.shape[0]
    if indices is not None:
        if keep is not None or ratio is not None:
            raise ValueError("give indices, or keep, or ratio, not several of them")
        idx = _check_indices(indices, n_out, "indices")
    else:
        idx = select_channels(layer, keep=keep, ratio=ratio, importance=importance)
    if bn is not None and not isinstance(bn, nn.modules.batchnorm._BatchNorm):
        raise TypeError(f"bn must be a BatchNorm1d/2d/3d or None, got {type(bn).__name__}")
    if bn is not None and bn.num_features != n_out:
        raise ValueError(
            f"bn has num_features={bn.num_features} but layer has {n_out} output channels"
        )
    new = _new_like(layer, layer.weight.shape[1], idx.numel())
    dev_idx = idx.to(layer.weight.device)
    with torch.no_grad():
        new.weight.copy_(layer.weight[dev_idx])
        if layer.bias is not None:
            new.bias.copy_(layer.bias[dev_idx])
    new_bn = None if bn is None else _prune_bn(bn, idx)
    return new, new_bn


def prune_linear(linear: nn.Linear, *, keep=None, ratio=None, importance="l1", indices=None):
    """Thinner copy of an ``nn.Linear`` keeping some output features.

    Same rules as :func:`prune_channels` (which it calls) for a linear layer without batch norm.

    Returns
    -------
    linear : nn.Linear
        New layer with ``out_features = keep``.
    """
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    new, _ = prune_channels(linear, keep=keep, ratio=ratio, importance=importance, indices=indices)
    return new


def slice_input_channels(layer: nn.Module, indices, *, features_per_channel: int = 1) -> nn.Module:
    """Copy of the layer that follows a pruned one, reading only the kept input channels.

    Parameters
    ----------
    layer : nn.Conv1d/2d/3d or nn.Linear
        The next layer (``groups=1`` for convolutions).
    indices : sequence of int
        Input channels kept (e.g. :func:`select_channels` of the previous layer).
    features_per_channel : int, default 1
        For a Linear layer that reads a flattened ``(C, H, W)`` map, the number ``H·W`` of
        consecutive input features that belong to each channel (PyTorch's ``flatten`` order).

    Returns
    -------
    layer : nn.Module
        New layer whose weight (and input size) keeps only those input channels; the bias and
        output size are unchanged. Its output on the kept channels of an input equals the original
        output on an input whose other channels are zero.

    Raises
    ------
    TypeError, ValueError
        On an unsupported layer, bad indices, or a `features_per_channel` that does not divide the
        linear layer's input size.
    """
    _check_prunable(layer)
    if isinstance(features_per_channel, bool) or not isinstance(features_per_channel, Integral):
        raise TypeError(f"features_per_channel must be an int, got {features_per_channel!r}")
    n_in = layer.weight.shape[1]
    if isinstance(layer, nn.Linear):
        if features_per_channel < 1 or n_in % features_per_channel:
            raise ValueError(
                f"features_per_channel={features_per_channel} must be a positive divisor of the "
                f"linear layer's in_features={n_in}"
            )
        idx = _check_indices(indices, n_in // features_per_channel, "indices")
        cols = (idx[:, None] * features_per_channel + torch.arange(features_per_channel)).flatten()
    else:
        if features_per_channel != 1:
            raise ValueError("features_per_channel applies to Linear layers only; use 1 for convs")
        idx = _check_indices(indices, n_in, "indices")
        cols = idx
    new = _new_like(layer, cols.numel(), layer.weight.shape[0])
    with torch.no_grad():
        new.weight.copy_(layer.weight[:, cols.to(layer.weight.device)])
        if layer.bias is not None:
            new.bias.copy_(layer.bias)
    return new
