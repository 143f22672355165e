"""Where a run executes: device, processes (``torchrun``), seeds, mixed precision, and checkpoints written atomically."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List

import numpy as np
import torch
import torch.distributed as dist

from baselines.task import BaselineError
from scoring.files import replaced_atomically


@dataclass
class Runtime:
    """One process of a run: its device, its rank among ``world`` processes, and whether it uses CUDA's speed-ups."""

    device: torch.device
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """The process that writes checkpoints and logs and scores the validation set."""
        return self.rank == 0

    @property
    def cuda(self) -> bool:
        """Mixed precision and channels_last are used on CUDA only."""
        return self.device.type == "cuda"

    def autocast(self) -> Any:
        return torch.autocast("cuda", dtype=torch.float16, enabled=self.cuda)

    def gather(self, items: List[Any]) -> List[Any]:
        """Every process's ``items``, concatenated in rank order (on every process)."""
        if self.world == 1:
            return items
        gathered: List[Any] = [None] * self.world
        dist.all_gather_object(gathered, items)
        return [item for part in gathered for item in part]

    def total(self, *values: float) -> List[float]:
        """``values`` summed over the processes."""
        if self.world == 1:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device if self.cuda else "cpu")
        dist.all_reduce(tensor)
        return tensor.tolist()

    def close(self) -> None:
        if self.world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def start(device: str) -> Runtime:
    """The runtime of this process: one process, or one of ``torchrun``'s (NCCL on GPUs, gloo on CPUs)."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BaselineError("--device cuda: no CUDA device is available here; use --device cpu")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Runtime(torch.device(device))
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device == "cuda":
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    return Runtime(torch.device(device, local) if device == "cuda" else torch.device("cpu"), rank, world)


def seed_everything(seed: int) -> None:
    """Python's, numpy's and torch's generators: a CPU run with the same seed repeats exactly."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def seed_worker(worker: int) -> None:
    """A data-loading process's generators, from the seed torch gave it."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


def save_atomically(value: Any, path: Path) -> None:
    """``torch.save`` through a temporary file and a rename: a killed run never leaves half a checkpoint."""
    with replaced_atomically(path, mode=0o600) as temporary:  # checkpoints: for the owner only
        torch.save(value, temporary)
