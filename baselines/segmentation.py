"""Semantic segmentation: U-Net with batch normalisation (the 2020 baseline), on the 19 Cityscapes training classes.

Predictions are written back as labelIds PNGs of each image's original size.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List, Sequence, Tuple

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torch.utils.data import Dataset
from torchvision.transforms import functional as TF

from baselines.images import MEAN, STD, files, read_image
from baselines.task import Baseline, BaselineError, Meta, Record
from scoring.challenges.segmentation import CHALLENGE
from scoring.metrics.cityscapes import EVALUATED

IGNORE = 255  # the training target of every label that is not one of the 19 evaluated classes
TO_TRAIN = np.full(256, IGNORE, np.uint8)
TO_TRAIN[EVALUATED] = np.arange(len(EVALUATED))
TO_LABEL = np.array(EVALUATED, np.uint8)


def double_conv(channels_in: int, channels_out: int) -> nn.Sequential:
    """(3x3 convolution, batch norm, ReLU) twice."""
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, padding=1, bias=False), nn.BatchNorm2d(channels_out),
                         nn.ReLU(inplace=True), nn.Conv2d(channels_out, channels_out, 3, padding=1, bias=False),
                         nn.BatchNorm2d(channels_out), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """U-Net (Ronneberger et al. 2015) with batch normalisation and bilinear upsampling, as in the 2020 baseline."""

    def __init__(self, num_classes: int, width: int = 64) -> None:
        super().__init__()
        w = width
        self.encoder = nn.ModuleList([double_conv(3, w), double_conv(w, 2 * w), double_conv(2 * w, 4 * w),
                                      double_conv(4 * w, 8 * w), double_conv(8 * w, 8 * w)])
        self.decoder = nn.ModuleList([double_conv(16 * w, 4 * w), double_conv(8 * w, 2 * w), double_conv(4 * w, w),
                                      double_conv(2 * w, w)])
        self.head = nn.Conv2d(w, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.decoder, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=True)
            x = block(torch.cat([skip, x], dim=1))
        return self.head(x)


def build_model(arch: str, num_classes: int, width: int) -> nn.Module:
    """``arch`` from scratch: our U-Net, or a torchvision segmentation model (its backbone from scratch too)."""
    if arch == "unet":
        return UNet(num_classes, width)
    known = torchvision.models.list_models(module=torchvision.models.segmentation)
    if arch not in known:
        raise BaselineError(f"--arch {arch}: not a segmentation model; use unet or one of {', '.join(known)}")
    return torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=num_classes)


class Scenes(Dataset):
    """(image, trainIds) of training scenes, or (image, (prediction name, original size)) of scenes to predict."""

    def __init__(self, items: List[Tuple[Path, Any]], width: int, train: bool) -> None:
        self.items, self.width, self.train = items, width, train

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, Any]:
        path, target = self.items[index]
        image = read_image(path)
        size = [round(self.width * image.height / image.width), self.width]
        tensor = TF.normalize(TF.to_tensor(TF.resize(image, size, antialias=True)), MEAN, STD)
        if not self.train:
            return tensor, (target, (image.height, image.width))
        labels = read_image(target, "L")
        if labels.size != image.size:
            raise BaselineError(f"{target}: {labels.size[0]}x{labels.size[1]}, but its image is "
                                f"{image.size[0]}x{image.size[1]}")
        trains = torch.from_numpy(TO_TRAIN[np.asarray(TF.resize(labels, size, TF.InterpolationMode.NEAREST))].astype(np.int64))
        if torch.rand(1).item() < 0.5:
            tensor, trains = tensor.flip(-1), trains.flip(-1)
        return tensor, trains


def stacked(batch: List[Tuple[torch.Tensor, Any]]) -> Tuple[torch.Tensor, Any]:
    """Images stacked; label maps stacked, or the items' (name, size) as a list."""
    inputs = torch.stack([item[0] for item in batch])
    targets = [item[1] for item in batch]
    return inputs, torch.stack(targets) if isinstance(targets[0], torch.Tensor) else targets


class Segmentation(Baseline):
    challenge = CHALLENGE
    summary = "U-Net with batch normalisation from scratch, on the 19 Cityscapes training classes"
    defaults = {"arch": "unet", "archs": "unet, or a torchvision segmentation model such as deeplabv3_resnet50",
                "epochs": 200, "batch_size": 5, "lr": 0.01, "reference_batch": 5, "image_size": 1024,
                "image_size_help": "width the images are resized to, keeping their aspect (default 1024: 1024x512)"}
    smoke_arguments = ("--image-size", "64", "--width", "8", "--lr", "0.0625", "--batch-size", "4")

    arguments = (("--width", {"type": int, "default": 64, "help": "U-Net: channels of its first block (default 64)"}),)

    def metadata(self, data: Path) -> Meta:
        return {"classes": len(EVALUATED)}

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        layout = CHALLENGE.layout
        folder = data / layout.input_folder(split)
        if split == "test":
            return Scenes([(path, path.stem) for path in files(folder, (".png",))], args.image_size, train)
        images = [path for city in sorted(p for p in folder.iterdir() if p.is_dir())
                  for path in files(city, (layout.image_suffix,))]
        if not train:
            return Scenes([(path, path.stem) for path in images], args.image_size, train)
        items = [(path, data / layout.truth_file(split, path.relative_to(folder).as_posix())) for path in images]
        missing = [labels for _, labels in items if not labels.is_file()]
        if missing:
            raise BaselineError(f"{missing[0]}: not found; every training image needs its gtFine labelIds")
        return Scenes(items, args.image_size, train)

    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        return build_model(args.arch, meta["classes"], getattr(args, "width", 64))

    @staticmethod
    def _logits(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
        out = model(inputs)
        return out["out"] if isinstance(out, dict) else out

    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        return F.cross_entropy(self._logits(model, inputs), targets, ignore_index=IGNORE)

    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        logits = self._logits(model, inputs).float()
        records = []
        for item, (name, (height, width)) in enumerate(ids):
            full = F.interpolate(logits[item:item + 1], size=(int(height), int(width)), mode="bilinear", align_corners=False)
            records.append((name, TO_LABEL[full[0].argmax(dim=0).cpu().numpy()]))
        return records

    def collate(self) -> Any:
        return stacked


BASELINE = Segmentation()
