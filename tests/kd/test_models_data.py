"""Models (paper CNNs, PreAct ResNet-18, torchvision by name) and offline datasets."""

import numpy as np
import pytest
import torch

from kd.data import DATASETS, WithIndex, load_dataset
from kd.models import (
    PaperCNN,
    PreActResNet18,
    available_models,
    create_model,
    paper_student,
    paper_teacher,
    representation_layer,
)

torch.set_num_threads(1)


def test_paper_cnns_match_the_papers_layout():
    teacher, student = paper_teacher(), paper_student()
    assert [teacher.get_submodule(f"block{i}.conv").out_channels for i in (1, 2, 3)] == [16, 32, 64]
    assert [student.get_submodule(f"block{i}.conv").out_channels for i in (1, 2, 3)] == [8, 16, 32]
    # fc 256→128→10 (teacher side) and 128→64→10 (student), as in the authors' code
    assert (teacher.fc1.linear.in_features, teacher.fc1.linear.out_features) == (256, 128)
    assert (student.fc1.linear.in_features, student.fc1.linear.out_features) == (128, 64)
    assert teacher.fc2.out_features == student.fc2.out_features == 10
    for m in (teacher, student):
        assert isinstance(m.block1.bn, torch.nn.BatchNorm2d)
        assert isinstance(m.block1.pool, torch.nn.MaxPool2d)
    x = torch.zeros(2, 3, 32, 32)
    assert teacher(x).shape == student(x).shape == (2, 10)
    assert representation_layer(student) == ("fc1", "output")
    gray = PaperCNN((4, 4, 4), 8, 5, in_channels=1, image_size=28)
    assert gray(torch.zeros(1, 1, 28, 28)).shape == (1, 5)
    with pytest.raises(ValueError, match="image_size"):
        PaperCNN(image_size=16)
    with pytest.raises(ValueError, match="widths"):
        PaperCNN(widths=(8, 16))


def test_preact_resnet18_and_torchvision_by_name():
    net = PreActResNet18(num_classes=7)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 7)
    n_params = sum(p.numel() for p in net.parameters())
    assert 11_000_000 < n_params < 11_300_000  # ResNet-18 size for 32×32 (CIFAR) inputs
    assert representation_layer(net) == ("pool", "output")
    tv = create_model("resnet18", num_classes=4)
    assert tv.fc.out_features == 4
    assert representation_layer(tv) == ("fc", "input")
    assert representation_layer(create_model("mobilenet_v3_small")) == ("classifier", "input")
    assert create_model("cnn32_small", num_classes=3).fc2.out_features == 3
    assert isinstance(create_model("preact_resnet18"), PreActResNet18)
    names = available_models()
    assert names[:3] == ["cnn32", "cnn32_small", "preact_resnet18"] and "resnet18" in names
    with pytest.raises(ValueError, match="unknown model"):
        create_model("resnet1800")
    with pytest.raises(ValueError, match="in_channels=3"):
        create_model("resnet18", in_channels=1)
    with pytest.raises(ValueError, match="representation"):
        representation_layer(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def test_digits_dataset():
    data = load_dataset("digits", random_state=0)
    assert (len(data.train), len(data.test)) == (1437, 360)
    assert (data.num_classes, data.in_channels, data.image_size) == (10, 3, 32)
    x, _, i = data.train[5]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and i == 5
    # normalised with the training split's statistics
    db = data.database
    X = (db.images - db.mean) / db.std  # what __getitem__ returns, for all items at once
    assert torch.equal(X[7], db[7][0])
    assert X.mean().abs() < 1e-4 and (X.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-3
    # stratified split: every class in both parts
    ys = {int(data.test[j][1]) for j in range(len(data.test))}
    assert ys == set(range(10))
    again = load_dataset("digits", random_state=0)
    assert torch.equal(again.test[0][0], data.test[0][0])


def test_shapes_dataset_and_augmentation():
    data = load_dataset("shapes", n_images=100, augment="crop_flip", random_state=1)
    assert len(data.train) + len(data.test) == 100 and data.num_classes <= 10
    x = data.train[0][0]
    assert x.shape == (3, 32, 32)
    # augmentation draws from torch's RNG: two reads differ, the database copy is plain
    torch.manual_seed(0)
    views = {tuple(data.train[0][0].flatten()[:50].tolist()) for _ in range(6)}
    assert len(views) > 1
    assert torch.equal(data.database[0][0], data.database[0][0])
    train_loader = data.loaders(batch_size=16, seed=0)[0]
    xb, _, ib = next(iter(train_loader))
    assert xb.shape == (16, 3, 32, 32) and ib.dtype == torch.int64
    with pytest.raises(ValueError, match="augment"):
        load_dataset("digits", augment="rotate")


def test_on_disk_datasets_never_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        load_dataset("cifar10", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar-100-python"):
        load_dataset("cifar100", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="ROOT/train/<class_name>"):
        load_dataset("imagefolder", root=tmp_path)
    with pytest.raises(ValueError, match="root="):
        load_dataset("cifar10")
    assert not any(tmp_path.iterdir())  # nothing was fetched
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_dataset("mnist")
    assert "shapes" in DATASETS


def test_image_folder_reads_local_tree(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            folder = tmp_path / split / cls
            folder.mkdir(parents=True)
            for k in range(3):
                arr = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(arr).save(folder / f"{k}.png")
    data = load_dataset("imagefolder", root=tmp_path)
    assert (len(data.train), len(data.test), data.num_classes, data.image_size) == (6, 6, 2, 32)
    assert isinstance(data.train, WithIndex)
    assert data.train[4][0].shape == (3, 32, 32)
