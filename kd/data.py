"""Offline image datasets for distillation experiments (nothing is ever downloaded).

- ``"shapes"``: coloured-shape images from :func:`hyperlearn.datasets.make_tagged_shapes`
  (32×32 RGB, class = the main shape's kind), generated deterministically;
- ``"digits"``: scikit-learn's bundled 8×8 digits (1797 images), upsampled to 32×32;
- ``"cifar10"`` / ``"cifar100"``: read through torchvision from a local folder;
- ``"imagefolder"``: any ``root/train/<class>/*`` and ``root/test/<class>/*`` tree.

:func:`load_dataset` returns an :class:`ImageData` with train/test/database datasets (the
train split with and without augmentation) and builds the loaders.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from hyperlearn.utils._validation import check_int, check_real

__all__ = [
    "DATASETS",
    "ImageData",
    "TensorImageDataset",
    "WithIndex",
    "load_dataset",
]

DATASETS = ("shapes", "digits", "cifar10", "cifar100", "imagefolder")
AUGMENTATIONS = (None, "crop", "crop_flip")
# CIFAR-10 statistics used by the information-flow KD and InDistill code.
CIFAR_MEAN = (125.3 / 255, 123.0 / 255, 113.9 / 255)
CIFAR_STD = (63.0 / 255, 62.1 / 255, 66.7 / 255)


class WithIndex(Dataset):
    """Wrap a dataset of ``(x, y)`` to yield ``(x, y, index)`` (for cached teacher outputs)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index][:2]
        return x, y, index


def _augmentation(augment: str | None, image_size: int):
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment must be one of {list(AUGMENTATIONS)}, got {augment!r}")
    if augment is None:
        return None
    from torchvision.transforms import v2

    ops = [v2.RandomCrop(image_size, padding=4)]
    if augment == "crop_flip":
        ops.append(v2.RandomHorizontalFlip())
    return v2.Compose(ops)


class TensorImageDataset(Dataset):
    """Images held in memory as one float32 tensor (N, C, H, W), normalised per channel.

    Parameters
    ----------
    images : torch.Tensor of shape (N, C, H, W)
    targets : torch.Tensor of shape (N,), int64
    mean, std : sequence of float, one per channel
        Normalisation applied after the transform.
    transform : callable, optional
        Applied to each (C, H, W) image before normalisation (random crop/flip). It draws from
        torch's RNG, which :class:`kd.Trainer` seeds.
    """

    def __init__(self, images, targets, mean, std, transform=None) -> None:
        if images.dim() != 4 or images.shape[0] != targets.shape[0]:
            raise ValueError(
                f"images must be (N, C, H, W) with N = len(targets), got {tuple(images.shape)} "
                f"and {tuple(targets.shape)}"
            )
        self.images = images.float().contiguous()
        self.targets = targets.long()
        self.mean = torch.as_tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.transform = transform

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def random_augmentation(self) -> bool:
        """True when a (random) transform changes the images from one epoch to the next."""
        return self.transform is not None

    def __getitem__(self, index):
        x = self.images[index]
        if self.transform is not None:
            x = self.transform(x)
        return (x - self.mean) / self.std, self.targets[index]


@dataclass
class ImageData:
    """A dataset split for distillation.

    Attributes
    ----------
    name : str
    train : Dataset
        Training split, with augmentation if requested, yielding ``(x, y, index)``.
    test : Dataset
        Test split ``(x, y)``.
    database : Dataset
        Training split without augmentation ``(x, y)`` (the retrieval database).
    num_classes, in_channels, image_size : int
    """

    name: str
    train: Dataset
    test: Dataset
    database: Dataset
    num_classes: int
    in_channels: int
    image_size: int

    def split_validation(self, fraction: float, *, random_state: int = 0) -> ImageData:
        """A copy whose training split loses a stratified ``fraction`` to a validation split.

        Returns an :class:`ImageData` with ``train`` (augmented as before, with indices) and
        ``database`` restricted to the remaining images, ``test`` unchanged, and a new
        attribute ``val`` (the held-out images, never augmented). Per-epoch learning curves
        are measured on ``val``, so the test split stays unseen until the end.
        """
        from torch.utils.data import Subset

        check_real(fraction, "val_fraction", low=0, high=0.5, low_open=True, high_open=True)
        base = self.train.dataset if isinstance(self.train, WithIndex) else self.train
        targets = getattr(base, "targets", None)
        if targets is None:
            targets = [int(base[i][1]) for i in range(len(base))]
        targets = np.asarray(targets)
        keep, held = _split(len(targets), targets, fraction, random_state)
        split = ImageData(
            self.name,
            WithIndex(Subset(base, keep.tolist())),
            self.test,
            Subset(self.database, keep.tolist()),
            self.num_classes,
            self.in_channels,
            self.image_size,
        )
        split.val = Subset(self.database, held.tolist())
        return split

    def loaders(self, batch_size: int = 128, *, seed: int = 0, num_workers: int = 0):
        """``(train_loader, test_loader, database_loader)``.

        The training loader shuffles with its own ``torch.Generator`` seeded by ``seed`` (saved
        and restored by the trainer's checkpoints); the others keep the dataset order.
        """
        check_int(batch_size, "batch_size", low=1)
        gen = torch.Generator().manual_seed(seed)
        train = DataLoader(
            self.train, batch_size=batch_size, shuffle=True, generator=gen, num_workers=num_workers
        )
        test = DataLoader(self.test, batch_size=max(batch_size, 256), num_workers=num_workers)
        database = DataLoader(
            self.database, batch_size=max(batch_size, 256), num_workers=num_workers
        )
        return train, test, database


def _split(n: int, targets: np.ndarray, test_fraction: float, random_state: int):
    from sklearn.model_selection import train_test_split

    if not (0.0 < test_fraction < 1.0):
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    return train_test_split(
        np.arange(n), test_size=test_fraction, stratify=targets, random_state=random_state
    )


def _from_arrays(name, images, targets, *, test_fraction, augment, random_state) -> ImageData:
    train_idx, test_idx = _split(len(targets), targets, test_fraction, random_state)
    X = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    y = torch.from_numpy(np.asarray(targets, dtype=np.int64))
    X_train = X[train_idx]
    # statistics of the training split only, so the test set stays unseen
    mean = X_train.mean(dim=(0, 2, 3)).tolist()
    std = X_train.std(dim=(0, 2, 3)).clamp_min(1e-6).tolist()
    size = X.shape[-1]
    return ImageData(
        name=name,
        train=WithIndex(
            TensorImageDataset(X_train, y[train_idx], mean, std, _augmentation(augment, size))
        ),
        test=TensorImageDataset(X[test_idx], y[test_idx], mean, std),
        database=TensorImageDataset(X_train, y[train_idx], mean, std),
        num_classes=int(y.max()) + 1,
        in_channels=X.shape[1],
        image_size=size,
    )


def _shapes(n_images, n_classes, image_size, random_state):
    from hyperlearn.datasets import make_tagged_shapes

    kwargs = {}
    if "features" in inspect.signature(make_tagged_shapes).parameters:
        kwargs["features"] = False  # only the images are needed here
    bunch = make_tagged_shapes(
        n_images=n_images,
        image_size=image_size,
        n_classes=n_classes,
        random_state=random_state,
        **kwargs,
    )
    return np.transpose(bunch.images, (0, 3, 1, 2)), np.asarray(bunch.target)


def _digits(image_size, channels):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = torch.from_numpy(digits.images.astype(np.float32) / 16.0)[:, None]
    X = F.interpolate(X, size=(image_size, image_size), mode="bilinear", align_corners=False)
    X = X.clamp(0.0, 1.0).repeat(1, channels, 1, 1)
    return X.numpy(), digits.target


_LAYOUTS = {
    "cifar10": "ROOT/cifar-10-batches-py/{data_batch_1..data_batch_5, test_batch, batches.meta} "
    "(the extracted 'CIFAR-10 python version' archive)",
    "cifar100": "ROOT/cifar-100-python/{train, test, meta} (the extracted 'CIFAR-100 python "
    "version' archive)",
    "imagefolder": "ROOT/train/<class_name>/<image files> and ROOT/test/<class_name>/<image "
    "files> (ROOT/val/ is accepted instead of ROOT/test/)",
}


def _torchvision_data(name, root, augment) -> ImageData:
    import torchvision
    from torchvision.transforms import v2

    if root is None:
        raise ValueError(
            f"dataset {name!r} is read from disk: pass root= (expected layout: {_LAYOUTS[name]})"
        )
    root = Path(root)
    base = [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]
    norm = [v2.Normalize(CIFAR_MEAN, CIFAR_STD)]
    aug = _augmentation(augment, 32)
    train_tf = v2.Compose(base + ([aug] if aug else []) + norm)
    plain_tf = v2.Compose(base + norm)
    try:
        if name in ("cifar10", "cifar100"):
            cls = (
                torchvision.datasets.CIFAR10 if name == "cifar10" else torchvision.datasets.CIFAR100
            )

            def make(train, tf):
                return cls(str(root), train=train, transform=tf, download=False)

            num_classes, image_size = (10 if name == "cifar10" else 100), 32
        else:
            dirs = {True: root / "train", False: root / "test"}
            if not dirs[False].is_dir() and (root / "val").is_dir():
                dirs[False] = root / "val"

            def make(train, tf):
                return torchvision.datasets.ImageFolder(str(dirs[train]), transform=tf)

            num_classes = image_size = None
        train, test, database = make(True, train_tf), make(False, plain_tf), make(True, plain_tf)
    except (RuntimeError, FileNotFoundError) as exc:
        raise FileNotFoundError(
            f"dataset {name!r} not found under {root} (no download is attempted). Expected "
            f"layout: {_LAYOUTS[name]}."
        ) from exc
    if num_classes is None:
        num_classes = len(train.classes)
        image_size = int(train[0][0].shape[-1])
    return ImageData(name, WithIndex(train), test, database, num_classes, 3, image_size)


def load_dataset(
    name: str,
    *,
    root=None,
    n_images: int = 2000,
    n_classes: int = 10,
    image_size: int = 32,
    test_fraction: float = 0.2,
    augment: str | None = None,
    random_state: int = 0,
) -> ImageData:
    """Load an offline image dataset for distillation.

    Parameters
    ----------
    name : {"shapes", "digits", "cifar10", "cifar100", "imagefolder"}
    root : str or path, optional
        Folder of the on-disk datasets (CIFAR, ImageFolder); see the layouts in the error
        message when it is missing.
    n_images, n_classes : int, default=2000, 10
        Size and number of classes of ``"shapes"``.
    image_size : int, default=32
        Side of ``"shapes"`` and of the upsampled ``"digits"``.
    test_fraction : float, default=0.2
        Stratified test split of ``"shapes"`` and ``"digits"`` (CIFAR and ImageFolder have
        their own).
    augment : {None, "crop", "crop_flip"}
        Training augmentation: random crop with 4-pixel padding, and horizontal flips.
    random_state : int, default=0
        Seed of the generated data and of the split.

    Returns
    -------
    ImageData

    Raises
    ------
    ValueError
        Unknown ``name``/``augment``, bad sizes.
    FileNotFoundError
        On-disk dataset absent; the message gives the expected layout.

    Examples
    --------
    >>> data = load_dataset("digits")
    >>> len(data.train) + len(data.test), data.num_classes, data.image_size
    (1797, 10, 32)
    >>> x, y, i = data.train[0]
    >>> tuple(x.shape)
    (3, 32, 32)
    """
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {list(DATASETS)}, got {name!r}")
    if name in ("cifar10", "cifar100", "imagefolder"):
        return _torchvision_data(name, root, augment)
    check_int(image_size, "image_size", low=8)
    if name == "shapes":
        images, targets = _shapes(n_images, n_classes, image_size, random_state)
    else:
        images, targets = _digits(image_size, 3)
    return _from_arrays(
        name,
        images,
        targets,
        test_fraction=test_fraction,
        augment=augment,
        random_state=random_state,
    )
