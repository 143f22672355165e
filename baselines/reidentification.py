"""Person re-identification: a ResNet-50 from scratch (torchvision) with an embedding head, as the 2021 toolkit's.

Training classifies the training identities (cross-entropy on the embedding, after ReLU and dropout), with an
optional batch-hard triplet term on the L2-normalised embeddings (``--triplet-weight``); prediction embeds every
query and gallery image and writes the euclidean distances between the L2-normalised embeddings.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn import functional as F
from torch.utils.data import ConcatDataset, Dataset
from torchvision import transforms

from baselines.classification import Images
from baselines.images import MEAN, STD, files
from baselines.task import Baseline, BaselineError, Meta, Record
from scoring.challenges.reidentification import CHALLENGE

SIDES = ("query", "gallery")
TRIPLET_MARGIN = 0.3  # of the batch-hard triplet term, on L2-normalised embeddings


class Embedder(nn.Module):
    """A torchvision backbone without its classifier, a linear embedding with batch norm, and an identity classifier
    for training: ``forward`` gives the training loss of images and their identity indices in training mode (as
    torchvision's detection models do, so that DistributedDataParallel sees every parameter used), the embeddings in
    eval mode."""

    def __init__(self, arch: str, features: int, identities: int, dropout: float, triplet_weight: float) -> None:
        super().__init__()
        known = torchvision.models.list_models(module=torchvision.models)
        if arch not in known or not arch.startswith("resnet"):
            raise BaselineError(f"--arch {arch}: not a torchvision ResNet; use resnet50, resnet18, ...")
        self.backbone = torchvision.models.get_model(arch, weights=None)
        width = self.backbone.fc.in_features
        self.backbone.fc = nn.Identity()
        self.embedding = nn.Sequential(nn.Linear(width, features), nn.BatchNorm1d(features))
        self.classifier = nn.Sequential(nn.ReLU(), nn.Dropout(dropout), nn.Linear(features, identities))
        self.triplet_weight = triplet_weight

    def forward(self, images: torch.Tensor, identities: Optional[torch.Tensor] = None) -> torch.Tensor:
        embedding = self.embedding(self.backbone(images))
        if not self.training:
            return embedding
        if identities is None:
            raise ValueError("training needs the images' identities")
        loss = F.cross_entropy(self.classifier(embedding), identities)
        return loss + self.triplet_weight * batch_hard_triplet(embedding, identities) if self.triplet_weight else loss


def batch_hard_triplet(embeddings: torch.Tensor, labels: torch.Tensor, margin: float = TRIPLET_MARGIN) -> torch.Tensor:
    """The batch-hard triplet loss: per anchor with a positive in the batch, its farthest positive against its nearest
    negative (0 if no anchor has both)."""
    normalised = F.normalize(embeddings.float(), dim=1)
    distances = torch.cdist(normalised, normalised)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    valid = positive.any(dim=1) & (~same).any(dim=1)
    if not valid.any():
        return distances.sum() * 0
    hardest_positive = distances.masked_fill(~positive, float("-inf")).max(dim=1).values
    hardest_negative = distances.masked_fill(same, float("inf")).min(dim=1).values
    return F.relu(hardest_positive - hardest_negative + margin)[valid].mean()


def distance_matrix(records: List[Record]) -> Tuple[List[int], List[int], np.ndarray]:
    """Query ids, gallery ids (sorted) and the euclidean distances between their L2-normalised embeddings."""
    found = {side: sorted(((int(key.split("/")[1]), vector) for key, vector in records if key.startswith(f"{side}/")),
                          key=lambda record: record[0]) for side in SIDES}
    (query_ids, queries), (gallery_ids, gallery) = ((list(ids), np.stack(vectors).astype(np.float64))
                                                    for ids, vectors in (zip(*found[side]) for side in SIDES))
    similarity = queries @ gallery.T
    return query_ids, gallery_ids, np.sqrt(np.clip(2 - 2 * similarity, 0, None))


class Reidentification(Baseline):
    challenge = CHALLENGE
    summary = ("ResNet-50 from scratch (torchvision) with a 128-d embedding, cross-entropy on the training identities "
               "(optionally a triplet term), euclidean distances of L2-normalised embeddings")
    defaults = {"arch": "resnet50", "archs": "or another torchvision ResNet such as resnet18",
                "epochs": 50, "batch_size": 128, "lr": 0.1, "reference_batch": 128, "lr_schedule": "step",
                "lr_steps": (40,), "weight_decay": 5e-4, "image_size": 256,
                "image_size_help": "image height in pixels, the width half of it (default 256: 256x128)"}
    arguments = (
        ("--features", {"type": int, "default": 128, "help": "embedding size (default 128)"}),
        ("--dropout", {"type": float, "default": 0.5, "help": "dropout before the identity classifier (default 0.5)"}),
        ("--triplet-weight", {"type": float, "default": 0.0, "metavar": "W",
                              "help": f"weight of a batch-hard triplet term (margin {TRIPLET_MARGIN}) added to the "
                              "cross-entropy (default 0: cross-entropy alone, as the 2021 toolkit)"}),
    )
    smoke_arguments = ("--arch", "resnet18", "--image-size", "64", "--lr", "0.4", "--batch-size", "16", "--features", "32",
                       "--triplet-weight", "1")

    def metadata(self, data: Path) -> Meta:
        folder = data / CHALLENGE.layout.input_folder("train")
        identities = set()
        for path in files(folder, (CHALLENGE.layout.suffix,)):
            identity = CHALLENGE.layout.train_identity(path.name)
            if identity is None:
                raise BaselineError(f"{path}: not named <identity>_<sequence>_<frame>{CHALLENGE.layout.suffix}")
            identities.add(identity)
        if not identities:
            raise BaselineError(f"{folder}: no training images")
        return {"identities": sorted(identities)}

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        size = (args.image_size, args.image_size // 2)
        normalise = [transforms.ToTensor(), transforms.Normalize(MEAN, STD)]
        layout = CHALLENGE.layout
        if train:
            transform = transforms.Compose([transforms.Resize(size), transforms.RandomHorizontalFlip(), *normalise])
            index = {identity: i for i, identity in enumerate(meta["identities"])}
            folder = data / layout.input_folder(split)
            return Images([(path, index[layout.train_identity(path.name)])
                           for path in files(folder, (layout.suffix,))], transform)
        transform = transforms.Compose([transforms.Resize(size), *normalise])
        parts = []
        for side, folder in zip(SIDES, (layout.query_folder(split), layout.gallery_folder(split))):
            items = []
            for path in files(data / folder, (layout.suffix,)):
                item = layout.item_id(path.name)
                if item is None:
                    raise BaselineError(f"{path}: not named <id>{layout.suffix}")
                items.append((path, f"{side}/{item}"))
            parts.append(Images(items, transform))
        return ConcatDataset(parts)

    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        return Embedder(args.arch, args.features, len(meta["identities"]), args.dropout, args.triplet_weight)

    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        return model(inputs, targets)

    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        embeddings = F.normalize(model(inputs).float(), dim=1).cpu().numpy()
        return list(zip(ids, embeddings))

    def predictions(self, records: List[Record]) -> Tuple[List[int], List[int], np.ndarray]:
        """(query ids, gallery ids, distances): the records are ("query/<id>" or "gallery/<id>", embedding) pairs."""
        return distance_matrix(records)


BASELINE = Reidentification()
