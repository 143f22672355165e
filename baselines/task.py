"""What a challenge's baseline declares: its data, its model, its loss, and how a batch becomes predictions.

A baseline is one module in ``baselines/`` defining ``BASELINE``, an instance of a :class:`Baseline`
subclass. The shared loop (``baselines/loop.py``) does everything else: devices, processes,
optimisation, checkpoints, logs, and scoring with the challenge's own scoring program.
"""

from __future__ import annotations

import abc
import argparse
import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn
from torch.utils.data import Dataset

from scoring.challenge import REFERENCE_INFO, RENAMED_TASKS, Challenge

Meta = Dict[str, Any]  # what a model needs to know of the data (classes, category ids), saved in checkpoints
#: one item's prediction: by default an (item, prediction) pair of the mapping the challenge's write_submission takes
Record = Any


class BaselineError(Exception):
    """A problem with the user's input (data, checkpoint, arguments): one line saying what and where."""


class Baseline(abc.ABC):
    """The declarations and the per-challenge code of one baseline."""

    #: the challenge it is the baseline of: its layout says where the public files are, it writes the submission
    challenge: Challenge
    #: what the model is, one line, for the help text
    summary: str
    #: the recipe (a full GPU run): arch, epochs, batch_size (per process), lr (for reference_batch), image_size,
    #: optimizer, lr_schedule, lr_steps, warmup_iters, ...; reference_batch is the total batch (processes x batch)
    #: the recipe's lr was set for: a run scales lr linearly to its own total batch
    defaults: Dict[str, Any]
    #: the arguments of a tiny CPU run (small network, images and batch, a rate that learns there): what the tests and
    #: ``bundler rehearse`` train every baseline with, on its challenge's generated example data
    smoke_arguments: Tuple[str, ...]
    #: arguments of this baseline alone (frames per clip, U-Net width, ...): (flag, argparse options)
    arguments: Tuple[Tuple[str, Dict[str, Any]], ...] = ()
    #: the published recipes of other competitions of the same challenge, by competition folder: the keys of
    #: ``defaults`` each changes (DelftBikes: the toolkit's Faster R-CNN settings); training on a competition's data
    #: starts from its recipe
    recipes: Dict[str, Dict[str, Any]] = {}

    @property
    def name(self) -> str:
        """The challenge's task: ``python -m baselines train NAME`` and the task of the references it scores on."""
        return self.challenge.task

    def recipe(self, competition: Optional[str]) -> Dict[str, Any]:
        """The defaults of a run on ``competition``'s data: its published recipe where there is one."""
        return {**self.defaults, **self.recipes.get(competition or "", {})}

    def competition(self, data: Path) -> Optional[str]:
        """The competition a public/ folder is of, as its val reference.json names it (None if it does not)."""
        try:
            info = json.loads((data / self.challenge.layout.reference_folder("val") / REFERENCE_INFO).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        name = info.get("competition") if isinstance(info, dict) else None
        return name if isinstance(name, str) else None

    @staticmethod
    def learning_rate(lr: float, total_batch: int, reference_batch: int) -> float:
        """The rate for ``total_batch`` by the linear scaling rule, ``lr`` being the rate for ``reference_batch``."""
        return lr * total_batch / reference_batch

    def check_public(self, data: Path, splits: Sequence[str]) -> None:
        """Refuse, in one line, a --data that is not the public/ folder of this challenge, or lacks a split."""
        layout = self.challenge.layout
        info = data / layout.reference_folder("val") / REFERENCE_INFO
        if not data.is_dir():
            raise BaselineError(f"{data}: no such folder; give the public/ folder that 'bundler data' writes")
        try:
            task = json.loads(info.read_text(encoding="utf-8"))["task"]
        except (OSError, ValueError, KeyError, TypeError):
            raise BaselineError(f"{data}: not the public/ folder of a 'bundler data' build (no readable {info.relative_to(data)}"
                                "); give the public/ folder participants download") from None
        if RENAMED_TASKS.get(task, task) != self.name:
            raise BaselineError(f"{data}: the public/ folder of the {task} challenge, not of {self.name}")
        for split in splits:
            folder = data / layout.input_folder(split)
            if not folder.exists():
                raise BaselineError(f"{folder}: not found; the {split} split of the {self.name} data is missing")

    @abc.abstractmethod
    def metadata(self, data: Path) -> Meta:
        """What the model needs to know of the data (classes, category ids); saved with every checkpoint."""

    @abc.abstractmethod
    def dataset(self, data: Path, split: str, args: argparse.Namespace, meta: Meta, train: bool) -> Dataset:
        """The items of ``split``: (input, target) when ``train``, else (input, item id)."""

    @abc.abstractmethod
    def model(self, args: argparse.Namespace, meta: Meta) -> nn.Module:
        """The network, built from scratch (no pretrained weights, ever)."""

    @abc.abstractmethod
    def loss(self, model: nn.Module, inputs: Any, targets: Any) -> torch.Tensor:
        """The training loss of one batch (already on the device)."""

    @abc.abstractmethod
    def predict(self, model: nn.Module, inputs: Any, ids: Sequence[Any], args: argparse.Namespace, meta: Meta
                ) -> List[Record]:
        """One record per item of the batch (already on the device), in eval mode and without gradients."""

    def predictions(self, records: List[Record]) -> Any:
        """Every item's records as the predictions the challenge's ``write_submission`` takes: by default the
        records are (item, prediction) pairs and the predictions their mapping."""
        return dict(records)

    def submission(self, records: List[Record]) -> Dict[str, bytes]:
        """The files of the submission (name -> content), written by the challenge."""
        return self.challenge.write_submission(self.predictions(records))

    def collate(self) -> Optional[Callable[[List[Any]], Any]]:
        """How a batch is put together (None: PyTorch's default)."""
        return None

    def to_device(self, batch: Any, device: torch.device, channels_last: bool) -> Any:
        """A batch's inputs (or targets) on ``device``."""
        if isinstance(batch, torch.Tensor):
            batch = batch.to(device, non_blocking=True)
            if channels_last and batch.dim() in (4, 5) and batch.is_floating_point():
                batch = batch.contiguous(memory_format=torch.channels_last if batch.dim() == 4 else torch.channels_last_3d)
            return batch
        if isinstance(batch, dict):
            return {key: self.to_device(value, device, channels_last) for key, value in batch.items()}
        if isinstance(batch, (list, tuple)):
            return type(batch)(self.to_device(value, device, channels_last) for value in batch)
        return batch
