"""Object detection: Faster R-CNN ResNet-50-FPN from scratch (torchvision), COCO category ids mapped both ways."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import torch
import torchvision
from torch import nn
from torch.utils.data import Dataset
from torchvision.transforms import functional as TF

from baselines.images import read_image
from baselines.task import Baseline, BaselineError, Meta, Record
from scoring.challenges.detection import CHALLENGE

FAMILIES = ("fasterrcnn", "retinanet", "fcos")  # torchvision's box detectors that train from scratch at any size


def read_coco(path: Path) -> Dict[str, Any]:
    """A COCO file of the public data; one error line if it is missing or not COCO."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not all(isinstance(document.get(key), list) for key in ("images", "categories")):
            raise ValueError("images and categories must be lists")
        return document
    except OSError as exc:
        raise BaselineError(f"{path}: cannot be read ({exc.strerror})") from None
    except (ValueError, AttributeError) as exc:
        raise BaselineError(f"{path}: not a COCO annotations file ({exc})") from None


def build_model(arch: str, num_classes: int, image_size: int) -> nn.Module:
    """``arch`` from scratch, backbone included, resizing images so that their short side is ``image_size``."""
    known = [name for name in torchvision.models.list_models(module=torchvision.models.detection) if name.startswith(FAMILIES)]
    if arch not in known:
        raise BaselineError(f"--arch {arch}: not a box detector; use one of {', '.join(known)}")
    return torchvision.models.get_model(arch, weights=None, weights_backbone=None, num_classes=num_classes,
                                        min_size=image_size, max_size=image_size * 1333 // 800)


Objects = Dict[int, List[Tuple[Any, int]]]  # image id -> (object, contiguous label) per object of the image


class Pictures(Dataset):
    """(image, target) with boxes as [x1, y1, x2, y2] and contiguous labels, or (image, COCO image id); a training
    image is mirrored half of the time. The objects are boxes [x, y, w, h] here (``target`` turns them to tensors)."""

    def __init__(self, folder: Path, images: List[Dict[str, Any]], objects: Objects, train: bool) -> None:
        self.folder, self.images, self.objects, self.train = folder, images, objects, train

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, Any]:
        image = self.images[index]
        tensor = TF.to_tensor(read_image(self.folder / image["file_name"]))
        if not self.train:
            return tensor, image["id"]
        found = self.objects.get(image["id"], [])
        labels = torch.tensor([label for _, label in found], dtype=torch.int64)
        flip = torch.rand(1).item() < 0.5
        height, width = tensor.shape[-2:]
        target = self.target([thing for thing, _ in found], height, width, flip)
        return (tensor.flip(-1) if flip else tensor), {**target, "labels": labels}

    def target(self, objects: List[Any], height: int, width: int, flip: bool) -> Dict[str, torch.Tensor]:
        """The boxes [x1, y1, x2, y2] of an image's ``objects``, mirrored if ``flip``."""
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in objects], dtype=torch.float32).reshape(-1, 4)
        if flip:
            boxes = torch.stack([width - boxes[:, 2], boxes[:, 1], width - boxes[:, 0], boxes[:, 3]], 1)
        return {"boxes": boxes}


def as_lists(batch: List[Tuple[torch.Tensor, Any]]) -> Tuple[Tuple[Any, ...], ...]:
    """A batch of images of any sizes: (images, targets or ids), as the detectors take them."""
    return tuple(zip(*batch))


class Detection(Baseline):
    challenge = CHALLENGE
    summary = "Faster R-CNN ResNet-50-FPN from scratch (torchvision, no pretrained backbone)"
    defaults = {"arch": "fasterrcnn_resnet50_fpn", "archs": "a torchvision box detector such as "
                "fasterrcnn_mobilenet_v3_large_fpn, retinanet_resnet50_fpn or fcos_resnet50_fpn",
                "epochs": 26, "batch_size": 2, "lr": 0.02, "reference_batch": 16, "lr_schedule": "step", "lr_steps": (16, 22),
                "warmup_iters": 1000, "image_size": 800,
                "image_size_help": "short side the detector resizes images to (default 800, as for COCO)"}
    #: DelftBikes: the 2021-2023 toolkit's Faster R-CNN (test AP 0.258): 16 epochs, SGD 0.01 for a batch of 4, x0.1
    #: after epoch 15, images at their own size (DelftBikes photos are about 800 pixels on the short side)
    recipes = {"delftbikes": {"epochs": 16, "batch_size": 4, "lr": 0.01, "reference_batch": 4, "lr_schedule": "step",
                              "lr_steps": (15,), "warmup_iters": 1000}}
    smoke_arguments = ("--arch", "fasterrcnn_mobilenet_v3_large_fpn", "--image-size", "64", "--lr", "0.08",
                       "--batch-size", "2")

    def metadata(self, data: Path) -> Meta:
        categories = sorted(c["id"] for c in read_coco(data / self.challenge.layout.annotation_file("train"))["categories"])
        return {"categories": categories}  # label i + 1 is category categories[i]; 0 is the background

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        document = read_coco(data / self.challenge.layout.annotation_file(split))
        label = {category: i + 1 for i, category in enumerate(meta["categories"])}
        boxes: Objects = {}
        for annotation in document.get("annotations", []) if train else []:
            x, y, w, h = annotation["bbox"]
            if annotation.get("iscrowd") or w < 1 or h < 1 or annotation["category_id"] not in label:
                continue
            boxes.setdefault(annotation["image_id"], []).append(([x, y, w, h], label[annotation["category_id"]]))
        images = sorted(document["images"], key=lambda i: i["id"])
        return Pictures(data / self.challenge.layout.input_folder(split), images, boxes, train)

    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        return build_model(args.arch, len(meta["categories"]) + 1, args.image_size)

    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        return sum(model(list(inputs), list(targets)).values())

    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        records = []
        for image_id, found in zip(ids, model(list(inputs))):
            for (x1, y1, x2, y2), label, score in zip(found["boxes"].tolist(), found["labels"].tolist(),
                                                      found["scores"].tolist()):
                records.append({"image_id": int(image_id), "category_id": meta["categories"][label - 1],
                                "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
        return records

    def collate(self) -> Any:
        return as_lists

    def predictions(self, records: List[Record]) -> List[Record]:
        """The records are the detections themselves."""
        return records


BASELINE = Detection()
