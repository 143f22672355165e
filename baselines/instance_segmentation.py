"""Instance segmentation: Mask R-CNN ResNet-50-FPN from scratch (torchvision), masks written as compressed RLE.

The data and category handling are the detection baseline's; the targets add each object's mask (RLE or
polygons, read with the scoring program's codec), and a prediction's mask is the network's mask
probability thresholded at 0.5, encoded at once (a full-size bitmap per mask is never kept).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List, Sequence

import numpy as np
import torch
import torchvision
from torch import nn
from torch.utils.data import Dataset

from baselines.detection import Detection, Objects, Pictures, read_coco
from baselines.task import BaselineError, Meta, Record
from scoring.challenges.instance_segmentation import CHALLENGE, rle_of
from scoring.metrics import rle

FAMILY = "maskrcnn"  # torchvision's instance segmentation models
MASK_THRESHOLD = 0.5


class MaskPictures(Pictures):
    """Pictures whose objects are RLE objects: targets with masks, their boxes and contiguous labels."""

    def target(self, objects: List[Any], height: int, width: int, flip: bool) -> Dict[str, torch.Tensor]:
        """The masks of an image's ``objects`` and their boxes [x1, y1, x2, y2], mirrored if ``flip``."""
        masks = torch.from_numpy(np.stack([rle.decode(mask) for mask in objects]) if objects
                                 else np.zeros((0, height, width), np.uint8))
        if flip:
            masks = masks.flip(-1)
        return {"boxes": torchvision.ops.masks_to_boxes(masks) + torch.tensor([0.0, 0.0, 1.0, 1.0]), "masks": masks}


class InstanceSegmentation(Detection):
    challenge = CHALLENGE
    summary = "Mask R-CNN ResNet-50-FPN from scratch (torchvision, no pretrained backbone)"
    defaults = {**Detection.defaults, "arch": "maskrcnn_resnet50_fpn",
                "archs": "a torchvision Mask R-CNN: maskrcnn_resnet50_fpn or maskrcnn_resnet50_fpn_v2"}
    recipes: Dict[str, Dict[str, Any]] = {}
    smoke_arguments = ("--image-size", "48", "--optimizer", "adamw", "--lr", "0.0008", "--batch-size", "2")

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        document = read_coco(data / CHALLENGE.layout.annotation_file(split))
        images = sorted(document["images"], key=lambda i: i["id"])
        label = {category: i + 1 for i, category in enumerate(meta["categories"])}
        size = {image["id"]: (image["height"], image["width"]) for image in images}
        objects: Objects = {}
        for annotation in document.get("annotations", []) if train else []:
            if annotation.get("iscrowd") or annotation.get("category_id") not in label:
                continue
            try:
                mask = rle_of(annotation, *size[annotation["image_id"]])
                empty = not rle.read([mask]).area[0]
            except (KeyError, ValueError, TypeError, rle.RleError) as exc:
                raise BaselineError(f"{data / CHALLENGE.layout.annotation_file(split)}: annotation "
                                    f"{annotation.get('id')}: not a mask of its image ({exc})") from None
            if not empty:
                objects.setdefault(annotation["image_id"], []).append((mask, label[annotation["category_id"]]))
        return MaskPictures(data / CHALLENGE.layout.input_folder(split), images, objects, train)

    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        known = [name for name in torchvision.models.list_models(module=torchvision.models.detection)
                 if name.startswith(FAMILY)]
        if args.arch not in known:
            raise BaselineError(f"--arch {args.arch}: not an instance segmentation model; use one of {', '.join(known)}")
        return torchvision.models.get_model(args.arch, weights=None, weights_backbone=None,
                                            num_classes=len(meta["categories"]) + 1, min_size=args.image_size,
                                            max_size=args.image_size * 1333 // 800)

    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        records = []
        for image_id, found in zip(ids, model(list(inputs))):
            masks = (found["masks"][:, 0] >= MASK_THRESHOLD).cpu().numpy()
            for mask, label, score in zip(masks, found["labels"].tolist(), found["scores"].tolist()):
                records.append({"image_id": int(image_id), "category_id": meta["categories"][label - 1],
                                "mask": rle.encode(mask), "score": score})
        return records


BASELINE = InstanceSegmentation()
