"""Intermediate features through forward hooks, without editing the model.

A :class:`FeatureExtractor` taps named sub-modules (their output, or their input on request)
for the duration of a ``with`` block.  The model's parameters, buffers, ``forward`` and output
are untouched; the hooks are removed on exit, also when the forward pass raises.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

__all__ = ["FeatureExtractor", "flatten_features", "pixel_vectors"]

_CAPTURE_KINDS = ("output", "input")


class FeatureExtractor:
    """Capture intermediate activations of ``model`` with forward hooks.

    Parameters
    ----------
    model : torch.nn.Module
        The network to tap. It is not modified (no wrapper, no attribute, no changed forward).
    layers : mapping of str to str
        ``{feature_name: module_path}``. ``module_path`` is a dotted path as in
        ``model.named_modules()`` (e.g. ``"layer3.1.conv2"``, ``"block2"``); the empty string
        denotes ``model`` itself (its output is the logits).
    capture : {"output", "input"} or mapping of str to {"output", "input"}, default="output"
        What to record per feature: the module's output, or its first positional input (for
        example the input of the classifier, i.e. the pooled representation). A mapping gives
        the choice per feature name; names not in it capture the output.
    detach : bool, default=False
        Store ``tensor.detach()`` instead of the tensor itself. Keep ``False`` when the feature
        enters a loss that must back-propagate into the model.

    Attributes
    ----------
    features : dict of str to torch.Tensor
        The tensors of the most recent forward pass, keyed by feature name. Cleared when the
        context is entered. If a module runs several times in one forward pass, the last call
        wins.

    Raises
    ------
    ValueError
        If ``layers`` is empty, names a module path that does not exist in ``model``, or
        ``capture`` holds something other than ``"output"``/``"input"``.

    Notes
    -----
    Hooks are registered in ``__enter__`` and removed in ``__exit__`` (also after an
    exception), so an extractor that is never entered leaves no trace on the model. For a
    one-off call, :meth:`extract` wraps a single forward pass.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> net = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> with FeatureExtractor(net, {"hidden": "1", "logits": ""}) as fe:
    ...     out = net(torch.ones(5, 4))
    >>> fe.features["hidden"].shape, torch.equal(fe.features["logits"], out)
    (torch.Size([5, 3]), True)
    >>> len(net[1]._forward_hooks)
    0
    """

    def __init__(
        self,
        model: nn.Module,
        layers: Mapping[str, str],
        *,
        capture: str | Mapping[str, str] = "output",
        detach: bool = False,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(layers, Mapping) or len(layers) == 0:
            raise ValueError(
                f"layers must be a non-empty mapping {{feature_name: module_path}}, got {layers!r}"
            )
        modules = dict(model.named_modules())
        self._targets: dict[str, tuple[nn.Module, str]] = {}
        for name, path in layers.items():
            if not isinstance(path, str) or path not in modules:
                available = [p for p in modules if p][:20]
                raise ValueError(
                    f"layers[{name!r}] = {path!r} is not a module path of "
                    f"{type(model).__name__}; expected one of {available}"
                    + (" ..." if len(modules) > 21 else "")
                    + " or '' for the model itself"
                )
            kind = capture.get(name, "output") if isinstance(capture, Mapping) else capture
            if kind not in _CAPTURE_KINDS:
                raise ValueError(
                    f"capture for feature {name!r} is {kind!r}; expected 'output' or 'input'"
                )
            self._targets[name] = (modules[path], kind)
        if isinstance(capture, Mapping):
            unknown = set(capture) - set(layers)
            if unknown:
                raise ValueError(f"capture names features {sorted(unknown)} not in layers")
        self.model = model
        self.detach = bool(detach)
        self.features: dict[str, torch.Tensor] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def _make_hook(self, name: str, kind: str):
        detach = self.detach

        def hook(module, args, output):
            value = output if kind == "output" else args[0]
            self.features[name] = value.detach() if detach else value

        return hook

    def __enter__(self) -> FeatureExtractor:
        if self._handles:
            raise RuntimeError("this FeatureExtractor is already active (nested 'with')")
        self.features = {}
        try:
            for name, (module, kind) in self._targets.items():
                self._handles.append(module.register_forward_hook(self._make_hook(name, kind)))
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.remove()

    def remove(self) -> None:
        """Remove every hook this extractor registered (idempotent)."""
        while self._handles:
            self._handles.pop().remove()

    def extract(self, *args, **kwargs) -> tuple[object, dict[str, torch.Tensor]]:
        """Run one forward pass with the hooks active.

        Returns
        -------
        output : object
            ``model(*args, **kwargs)``.
        features : dict of str to torch.Tensor
            The captured features of that pass.
        """
        with self:
            output = self.model(*args, **kwargs)
        return output, dict(self.features)


def flatten_features(x: torch.Tensor) -> torch.Tensor:
    """Reshape ``(batch, ...)`` to ``(batch, features)`` (a view when possible)."""
    if x.dim() < 1:
        raise ValueError(f"expected a tensor with a batch dimension, got shape {tuple(x.shape)}")
    return x.reshape(x.shape[0], -1)


def pixel_vectors(x: torch.Tensor) -> torch.Tensor:
    """Reshape a feature map ``(N, C, H, W)`` to per-pixel vectors ``(N·H·W, C)``.

    Sparse representation matching and other per-pixel losses compare the channel vector at
    each spatial position.
    """
    if x.dim() != 4:
        raise ValueError(f"expected a feature map of shape (N, C, H, W), got {tuple(x.shape)}")
    return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
