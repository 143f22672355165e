"""Action recognition: R(2+1)D-18 from scratch (torchvision) on clips decoded with PyAV.

Training takes one clip of ``--frames`` frames per video, one frame drawn from each of as many equal
segments of the video; prediction averages ``--clips`` such clips spread over the video and writes
the five best classes, best first.
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

from baselines.task import Baseline, BaselineError, Meta, Record
from scoring.challenges.action import CHALLENGE, KS

MEAN, STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)  # per-channel statistics of video frames


def decode(path: Path) -> np.ndarray:
    """Every frame of the video at ``path`` as (frames, height, width, 3) uint8 RGB; one error line if it cannot be."""
    import av

    try:
        with av.open(str(path)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise BaselineError(f"{path}: not a readable video ({exc})") from None
    if not frames:
        raise BaselineError(f"{path}: a video without frames")
    return np.stack(frames)


def frame_indices(length: int, frames: int, offset: float) -> np.ndarray:
    """``frames`` indices, one in each of as many equal segments of ``length`` frames, at ``offset`` (0..1) within it."""
    segment = length / frames
    return np.minimum((np.arange(frames) * segment + offset * segment).astype(int), length - 1)


def read_list(path: Path) -> List[List[str]]:
    try:
        return [line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise BaselineError(f"{path}: cannot be read ({exc.strerror})") from None


def clip_file(data: Path, split: str, clip: str) -> Path:
    """The video of a listed clip: the first of the layout's places for it that holds a file (else the first place)."""
    places = [data / place for place in CHALLENGE.layout.clip_files(split, clip)]
    return next((path for path in places if path.is_file()), places[0])


def build_model(arch: str, num_classes: int) -> nn.Module:
    known = torchvision.models.list_models(module=torchvision.models.video)
    if arch not in known:
        raise BaselineError(f"--arch {arch}: not a video model; use one of {', '.join(known)}")
    return torchvision.models.get_model(arch, weights=None, num_classes=num_classes)


class Clips(Dataset):
    """(clip (3, T, S, S), class index) for training, or (clips (C, 3, T, S, S), clip name) for prediction."""

    def __init__(self, items: List[Tuple[Path, Any]], frames: int, size: int, clips: int, train: bool) -> None:
        self.items, self.frames, self.size, self.clips, self.train = items, frames, size, clips, train

    def __len__(self) -> int:
        return len(self.items)

    def _clip(self, video: np.ndarray, offset: float) -> torch.Tensor:
        chosen = torch.from_numpy(video[frame_indices(len(video), self.frames, offset)]).permute(0, 3, 1, 2).float() / 255
        chosen = TF.resize(chosen, self.size * 8 // 7, antialias=True)
        chosen = TF.center_crop(chosen, self.size) if not self.train else self._random_crop(chosen)
        chosen = TF.normalize(chosen, MEAN, STD)
        return chosen.permute(1, 0, 2, 3)  # (3, T, S, S)

    def _random_crop(self, frames: torch.Tensor) -> torch.Tensor:
        top = int(torch.randint(0, frames.shape[-2] - self.size + 1, (1,)))
        left = int(torch.randint(0, frames.shape[-1] - self.size + 1, (1,)))
        frames = frames[..., top:top + self.size, left:left + self.size]
        return frames.flip(-1) if torch.rand(1).item() < 0.5 else frames

    def __getitem__(self, index: int) -> Tuple[torch.Tensor, Any]:
        path, target = self.items[index]
        video = decode(path)
        if self.train:
            return self._clip(video, torch.rand(1).item()), target
        return torch.stack([self._clip(video, (c + 0.5) / self.clips) for c in range(self.clips)]), target


class Action(Baseline):
    challenge = CHALLENGE
    summary = "R(2+1)D-18 from scratch (torchvision) on clips decoded with PyAV"
    defaults = {"arch": "r2plus1d_18", "archs": "a torchvision video model such as r3d_18 or mc3_18", "epochs": 45,
                "batch_size": 8, "lr": 0.01, "reference_batch": 8, "image_size": 112,
                "image_size_help": "frames are resized to 8/7 of it and cropped to it (default 112)"}
    smoke_arguments = ("--image-size", "32", "--frames", "4", "--clips", "2", "--lr", "0.01", "--batch-size", "8")

    arguments = (("--frames", {"type": int, "default": 16, "help": "frames per clip, spread over the video (default 16)"}),
                 ("--clips", {"type": int, "default": 3, "help": "clips averaged per video when predicting (default 3)"}))

    def metadata(self, data: Path) -> Meta:
        path = data / CHALLENGE.layout.classes
        numbers = sorted(int(row[0]) for row in read_list(path))
        if numbers != list(range(1, len(numbers) + 1)):
            raise BaselineError(f"{path}: classes must be numbered 1..N")
        return {"classes": len(numbers)}

    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        listed = data / CHALLENGE.layout.list_file(split)
        rows = read_list(listed)
        if train:
            bad = [row for row in rows if len(row) < 2 or not row[1].isdigit() or not 1 <= int(row[1]) <= meta["classes"]]
            if bad:
                raise BaselineError(f"{listed}: {' '.join(bad[0])!r} is not '<clip> <class 1..{meta['classes']}>'")
            items = [(clip_file(data, split, row[0]), int(row[1]) - 1) for row in rows]
        else:
            items = [(clip_file(data, split, row[0]), row[0]) for row in rows]
        return Clips(items, args.frames, args.image_size, args.clips, train)

    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        return build_model(args.arch, meta["classes"])

    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        return F.cross_entropy(model(inputs), targets)

    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        batch, clips = inputs.shape[:2]
        scores = F.softmax(model(inputs.flatten(0, 1)).float(), dim=1).reshape(batch, clips, -1).mean(dim=1)
        best = scores.topk(min(max(KS), scores.shape[1]), dim=1).indices + 1
        return list(zip(ids, best.tolist()))


BASELINE = Action()
