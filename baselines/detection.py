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

ANNOTATIONS = {"train": "annotations/instances_train.json", "val": "annotations/instances_val.json",
               "test": "annotations/test_images.json"}
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


class Pictures(Dataset):
    """(image, target) with boxes as [x1, y1, x2, y2] and contiguous labels, or (image, COCO image id)."""

    def __init__(self, folder: Path, images: List[Dict[str, Any]], boxes: Dict[int, List[Tuple[List[float], int]]],
                 train: bool) -> None:
        self.folder, self.images, self.boxes, self.train = folder, images, boxes, train

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, Any]:
        image = self.images[index]
        tensor = TF.to_tensor(read_image(self.folder / image["file_name"]))
        if not self.train:
            return tensor, image["id"]
        found = self.boxes.get(image["id"], [])
        boxes = torch.tensor([[x, y, x + w, y + h] for (x, y, w, h), _ in found], dtype=torch.float32).reshape(-1, 4)
        labels = torch.tensor([label for _, label in found], dtype=torch.int64)
        if torch.rand(1).item() < 0.5:
            tensor = tensor.flip(-1)
            boxes = torch.stack([tensor.shape[-1] - boxes[:, 2], boxes[:, 1], tensor.shape[-1] - boxes[:, 0], boxes[:, 3]], 1)
        return tensor, {"boxes": boxes, "labels": labels}


def as_lists(batch: List[Tuple[torch.Tensor, Any]]) -> Tuple[Tuple[Any, ...], ...]:
    """A batch of images of any sizes: (images, targets or ids), as the detectors take them."""
    return tuple(zip(*batch))


class Detection(Baseline):
    name = "detection"
    summary = "Faster R-CNN ResNet-50-FPN from scratch (torchvision, no pretrained backbone)"
    defaults = {"arch": "fasterrcnn_resnet50_fpn", "archs": "a torchvision box detector such as "
                "fasterrcnn_mobilenet_v3_large_fpn, retinanet_resnet50_fpn or fcos_resnet50_fpn",
                "epochs": 26, "batch_size": 2, "lr": 0.02, "reference_batch": 16, "lr_schedule": "step", "lr_steps": (16, 22),
                "warmup_iters": 1000, "image_size": 800,
                "image_size_help": "short side the detector resizes images to (default 800, as for COCO)"}
    split_folders = {"train": "train", "val": "val", "test": "test"}

    def metadata(self, data: Path) -> Meta:
        categories = sorted(c["id"] for c in read_coco(data / ANNOTATIONS["train"])["categories"])
        return {"categories": categories}  # label i + 1 is category categories[i]; 0 is the background

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        document = read_coco(data / ANNOTATIONS[split])
        label = {category: i + 1 for i, category in enumerate(meta["categories"])}
        boxes: Dict[int, List[Tuple[List[float], int]]] = {}
        for annotation in document.get("annotations", []) if train else []:
            x, y, w, h = annotation["bbox"]
            if annotation.get("iscrowd") or w < 1 or h < 1 or annotation["category_id"] not in label:
                continue
            boxes.setdefault(annotation["image_id"], []).append(([x, y, w, h], label[annotation["category_id"]]))
        return Pictures(data / self.split_folders[split], sorted(document["images"], key=lambda i: i["id"]), boxes, train)

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
                                "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
                                "score": round(score, 5)})
        return records

    def collate(self) -> Any:
        return as_lists

    def submission(self, records: List[Record], meta: Meta) -> Dict[str, bytes]:
        ordered = sorted(records, key=lambda r: (r["image_id"], -r["score"], r["category_id"], r["bbox"]))
        return {"detections.json": json.dumps(ordered).encode()}


BASELINE = Detection()
