"""Networks for distillation: the papers' small CNNs, PreAct ResNet-18, torchvision models.

Every model here is a plain classifier (``model(x) -> logits``); intermediate features are
read with :class:`kd.features.FeatureExtractor` through the module paths listed in
``model.feature_layers`` (the papers' tapped layers) and ``representation_layer(model)``.
Nothing is ever downloaded: torchvision models are built with ``weights=None``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
from torch import nn

from hyperlearn.utils._validation import check_int

__all__ = [
    "PaperCNN",
    "PreActResNet18",
    "available_models",
    "create_model",
    "paper_student",
    "paper_teacher",
    "representation_layer",
]


class PaperCNN(nn.Module):
    """The small CNNs of the information-flow KD and InDistill experiments.

    Three blocks ``conv3×3 (no padding) → BatchNorm → ReLU → max-pool 2``, then
    ``fc1 (→ ReLU)`` and ``fc2`` (logits). With ``widths=(16, 32, 64)``, ``hidden=128`` this is
    the auxiliary/teacher-side network, with ``(8, 16, 32)``, ``hidden=64`` the student.

    Parameters
    ----------
    widths : sequence of 3 int, default=(16, 32, 64)
        Output channels of the three convolutions.
    hidden : int, default=128
        Width of ``fc1`` (the representation used for retrieval and PKT).
    num_classes : int, default=10
    in_channels : int, default=3
    image_size : int, default=32
        Side of the (square) input; it fixes the input width of ``fc1``. At least 22, so that
        the last block keeps one pixel.

    Attributes
    ----------
    feature_layers : tuple of str
        ``("block1", "block2", "block3", "fc1")``: the layers the papers tap (after ReLU and
        pooling; ``fc1`` after its ReLU).
    representation_layer : str
        ``"fc1"``.

    Notes
    -----
    Sub-module paths for pruning: ``block{i}.conv``, ``block{i}.bn``; ``fc1.linear``.

    Examples
    --------
    >>> import torch
    >>> net = PaperCNN(widths=(8, 16, 32), hidden=64)
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    >>> net.fc1.linear.in_features
    128
    """

    feature_layers = ("block1", "block2", "block3", "fc1")
    representation_layer = "fc1"

    def __init__(
        self,
        widths: Sequence[int] = (16, 32, 64),
        hidden: int = 128,
        num_classes: int = 10,
        *,
        in_channels: int = 3,
        image_size: int = 32,
    ) -> None:
        super().__init__()
        widths = tuple(widths)
        if len(widths) != 3 or not all(isinstance(w, int) and w > 0 for w in widths):
            raise ValueError(f"widths must be 3 positive ints, got {widths!r}")
        for name, value in (
            ("hidden", hidden),
            ("num_classes", num_classes),
            ("in_channels", in_channels),
        ):
            check_int(value, name, low=1)
        side = image_size
        for _ in range(3):
            side = (side - 2) // 2
        if not isinstance(image_size, int) or side < 1:
            raise ValueError(
                f"image_size must be an int >= 22 (three 3×3 valid convolutions and 2×2 "
                f"poolings), got {image_size!r}"
            )
        channels = (in_channels, *widths)
        for i in range(3):
            block = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(channels[i], channels[i + 1], kernel_size=3),
                    bn=nn.BatchNorm2d(channels[i + 1]),
                    relu=nn.ReLU(),
                    pool=nn.MaxPool2d(2),
                )
            )
            self.add_module(f"block{i + 1}", block)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Sequential(
            OrderedDict(linear=nn.Linear(widths[2] * side * side, hidden), relu=nn.ReLU())
        )
        self.fc2 = nn.Linear(hidden, num_classes)
        self.widths, self.hidden, self.image_size = widths, hidden, image_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.block1(x)))
        return self.fc2(self.fc1(self.flatten(x)))


def paper_teacher(num_classes: int = 10, *, in_channels: int = 3, image_size: int = 32):
    """The teacher-side paper CNN: widths 16/32/64, ``fc1`` of width 128."""
    return PaperCNN((16, 32, 64), 128, num_classes, in_channels=in_channels, image_size=image_size)


def paper_student(num_classes: int = 10, *, in_channels: int = 3, image_size: int = 32):
    """The student-side paper CNN: widths 8/16/32, ``fc1`` of width 64."""
    return PaperCNN((8, 16, 32), 64, num_classes, in_channels=in_channels, image_size=image_size)


class _PreActBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = (
            nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False)
            if stride != 1 or in_planes != planes
            else None
        )

    def forward(self, x):
        out = torch.relu(self.bn1(x))
        # pre-activation: the projection shortcut reads the normalised input
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    """Pre-activation ResNet-18 for 32×32 inputs (He et al., 2016, "Identity mappings").

    A 3×3 stem (no max-pool), four stages of two pre-activation basic blocks with 64, 128,
    256, 512 channels (strides 1, 2, 2, 2), a final BN–ReLU, global average pooling and a
    linear classifier.

    Attributes
    ----------
    feature_layers : tuple of str
        ``("layer1", "layer2", "layer3", "pool")``.
    representation_layer : str
        ``"pool"`` (the 512-d pooled vector).

    Examples
    --------
    >>> import torch
    >>> PreActResNet18(num_classes=5)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 5])
    """

    feature_layers = ("layer1", "layer2", "layer3", "pool")
    representation_layer = "pool"

    def __init__(self, num_classes: int = 10, *, in_channels: int = 3, width: int = 64) -> None:
        super().__init__()
        for name, value in (
            ("num_classes", num_classes),
            ("in_channels", in_channels),
            ("width", width),
        ):
            check_int(value, name, low=1)
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        planes, layers = width, []
        for i, stride in enumerate((1, 2, 2, 2)):
            out = width * 2**i
            layers.append(
                nn.Sequential(_PreActBlock(planes, out, stride), _PreActBlock(out, out, 1))
            )
            planes = out
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.bn = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(planes, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.conv1(x)))))
        return self.fc(self.pool(self.relu(self.bn(x))))


_BUILTIN = {
    "cnn32": paper_teacher,
    "cnn32_small": paper_student,
    "preact_resnet18": None,  # built below (no image_size argument)
}


def available_models() -> list[str]:
    """Names accepted by :func:`create_model`: the built-ins, then torchvision classifiers."""
    import torchvision

    return [*_BUILTIN, *torchvision.models.list_models(module=torchvision.models)]


def create_model(
    name: str, *, num_classes: int = 10, in_channels: int = 3, image_size: int = 32
) -> nn.Module:
    """Build a classifier by name, randomly initialised (nothing is downloaded).

    Parameters
    ----------
    name : str
        ``"cnn32"`` (paper teacher-side CNN), ``"cnn32_small"`` (paper student CNN),
        ``"preact_resnet18"``, or any torchvision classification model name (e.g.
        ``"resnet18"``, ``"mobilenet_v3_small"``), built with ``weights=None``.
    num_classes : int, default=10
    in_channels : int, default=3
        Torchvision models need 3.
    image_size : int, default=32
        Input side, used by the paper CNNs.

    Raises
    ------
    ValueError
        Unknown name (the message lists the built-in names), or ``in_channels != 3`` for a
        torchvision model.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    key = name.lower()
    if key == "preact_resnet18":
        return PreActResNet18(num_classes, in_channels=in_channels)
    if key in _BUILTIN:
        return _BUILTIN[key](num_classes, in_channels=in_channels, image_size=image_size)
    import torchvision

    names = torchvision.models.list_models(module=torchvision.models)
    if key not in names:
        raise ValueError(
            f"unknown model {name!r}; expected one of {list(_BUILTIN)} or a torchvision "
            f"classification model such as 'resnet18' ({len(names)} available)"
        )
    if in_channels != 3:
        raise ValueError(f"torchvision model {name!r} needs in_channels=3, got {in_channels}")
    return torchvision.models.get_model(key, weights=None, num_classes=num_classes)


def representation_layer(model: nn.Module) -> tuple[str, str]:
    """Where the model's representation (the input of its classifier) can be tapped.

    Returns
    -------
    (module_path, capture) : tuple of str
        For :class:`kd.features.FeatureExtractor`: the path and ``"output"`` or ``"input"``.
        Models with a ``representation_layer`` attribute give it (output); torchvision-style
        models with a ``fc``, ``classifier`` or ``heads`` module give that module's input.

    Raises
    ------
    ValueError
        If none of these applies (pass the layer explicitly instead).
    """
    path = getattr(model, "representation_layer", None)
    if isinstance(path, str):
        return path, "output"
    for head in ("fc", "classifier", "heads"):
        if isinstance(getattr(model, head, None), nn.Module):
            return head, "input"
    raise ValueError(
        f"cannot tell where the representation of {type(model).__name__} is; pass the layer "
        "(module path) explicitly"
    )
