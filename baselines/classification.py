"""Image classification: ResNet-50 from scratch (torchvision), or the 2020 full-convolution variant."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset
from torchvision import transforms
from torchvision.models.resnet import Bottleneck, ResNet

from baselines.images import MEAN, STD, files, read_image
from baselines.task import Baseline, BaselineError, Meta, Record
from scoring.challenges.classification import CHALLENGE

FULL_CONV = "resnet50-fconv"
SUFFIXES = (".jpeg", ".jpg", ".png")


class FullConvBottleneck(Bottleneck):
    """A bottleneck whose 3x3 convolution pads fully (2 pixels), its identity padded to match.

    Kayhan and van Gemert (CVPR 2020): with full padding every pixel is seen by every filter position,
    so the network can exploit absolute position at the borders; the 2020 "full conv" baseline.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conv2.padding = (2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        padded = F.pad(x, (1, 1, 1, 1))
        identity = self.downsample(padded) if self.downsample is not None else padded
        return self.relu(out + identity)


def resnet50_full_conv(num_classes: int) -> nn.Module:
    """ResNet-50 with full convolutions: stem 7x7 padded by 6, a 2x2 max pool, full-padding bottlenecks."""
    model = ResNet(FullConvBottleneck, [3, 4, 6, 3], num_classes=num_classes)
    model.conv1.padding = (6, 6)
    model.maxpool = nn.MaxPool2d(kernel_size=2, stride=2)
    return model


def build_model(arch: str, num_classes: int) -> nn.Module:
    """``arch`` from scratch: the full-convolution ResNet-50, or a torchvision classification model."""
    if arch == FULL_CONV:
        return resnet50_full_conv(num_classes)
    known = torchvision.models.list_models(module=torchvision.models)
    if arch not in known:
        raise BaselineError(f"--arch {arch}: not a classification model; use {FULL_CONV} or a torchvision one "
                            f"({', '.join(known[:8])}, ...)")
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)


class Images(Dataset):
    """(transformed image, target) for each (path, target)."""

    def __init__(self, items: List[Tuple[Path, Any]], transform: Any) -> None:
        self.items = items
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, Any]:
        path, target = self.items[index]
        return self.transform(read_image(path)), target


class Classification(Baseline):
    challenge = CHALLENGE
    summary = "ResNet-50 from scratch (torchvision), or the 2020 full-convolution ResNet-50 (--arch resnet50-fconv)"
    defaults = {"arch": "resnet50", "archs": f"{FULL_CONV}, or a torchvision classification model such as resnet18",
                "epochs": 90, "batch_size": 32, "lr": 0.1, "reference_batch": 256, "lr_schedule": "step", "lr_steps": (30, 60),
                "image_size": 224,
                "image_size_help": "crop size in pixels (default 224; images are resized to 8/7 of it first)"}
    smoke_arguments = ("--arch", "resnet18", "--image-size", "32", "--lr-schedule", "cosine", "--lr", "1.6",
                       "--batch-size", "8")

    def metadata(self, data: Path) -> Meta:
        path = data / CHALLENGE.layout.classes
        try:
            classes = path.read_text(encoding="utf-8").split()
        except OSError as exc:
            raise BaselineError(f"{path}: cannot be read ({exc.strerror}); it lists the classes") from None
        return {"classes": classes}

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        folder = data / CHALLENGE.layout.input_folder(split)
        size = args.image_size
        if train:
            transform = transforms.Compose([transforms.RandomResizedCrop(size), transforms.RandomHorizontalFlip(),
                                            transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        else:
            transform = transforms.Compose([transforms.Resize(size * 8 // 7), transforms.CenterCrop(size),
                                            transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
        classes: List[str] = meta["classes"]
        if split == "test":
            return Images([(path, path.name) for path in files(folder, SUFFIXES)], transform)
        unknown = sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name not in classes)
        if unknown:
            raise BaselineError(f"{folder / unknown[0]}: a class not in {CHALLENGE.layout.classes}")
        items = [(path, index if train else path.name) for index, name in enumerate(classes)
                 if (folder / name).is_dir() for path in files(folder / name, SUFFIXES)]
        return Images(items, transform)

    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        return build_model(args.arch, len(meta["classes"]))

    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        return F.cross_entropy(model(inputs), targets)

    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        return list(zip(ids, model(inputs).argmax(dim=1).tolist()))


BASELINE = Classification()
