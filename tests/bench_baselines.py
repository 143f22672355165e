"""Training throughput of each baseline on the CPU at the test size, with data loading alone beside it.

Run by ``make bench`` (``python tests/bench.py baselines``): a slow loader shows as a loading rate
close to the training rate.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

import torch
from torch.utils.data import DataLoader

from baselines.cli import baselines
from tests.fake_datasets import public

EPOCHS = 3  # passes measured after one warm-up pass


def arguments(name: str, data: Path) -> argparse.Namespace:
    """The baseline's smoke arguments (the tests' tiny settings), as the command line would give them."""
    baseline = baselines()[name]
    values = {**baseline.defaults, **{flag[2:]: options["default"] for flag, options in baseline.arguments}}
    words = iter(baseline.smoke_arguments)
    for flag, value in zip(words, words):
        key = flag[2:].replace("-", "_")
        values[key] = type(values[key])(value) if key in values and values[key] is not None else value
    return argparse.Namespace(**values, data=data, workers=0, seed=0)


def rates(name: str, data: Path) -> Tuple[int, float, float]:
    """(items, items per second loaded alone, items per second trained)."""
    baseline, args = baselines()[name], arguments(name, data)
    meta = baseline.metadata(data)
    dataset = baseline.dataset(data, "train", args, meta, train=True)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, collate_fn=baseline.collate())
    model = baseline.model(args, meta)
    rate = baseline.learning_rate(args.lr, args.batch_size, baseline.defaults["reference_batch"])
    optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=0.9)
    timings = {"loading": 0.0, "training": 0.0}
    for epoch in range(EPOCHS + 1):
        began = time.perf_counter()
        batches = list(loader)
        loaded = time.perf_counter()
        model.train()
        for inputs, targets in batches:
            loss = baseline.loss(model, inputs, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch:  # the first pass warms up
            timings["loading"] += loaded - began
            timings["training"] += time.perf_counter() - began
    items = len(dataset) * EPOCHS
    return len(dataset), items / timings["loading"], items / timings["training"]


def table() -> List[str]:
    """One row per baseline."""
    lines = [f"{'baseline':<15} {'train items':>11} {'loading alone (items/s)':>24} {'training (items/s)':>19}  settings"]
    with tempfile.TemporaryDirectory(prefix="bench-baselines-") as folder:
        for name in sorted(baselines()):
            data = public(name, Path(folder) / name)
            count, loading, training = rates(name, data)
            settings = " ".join(baselines()[name].smoke_arguments)
            lines.append(f"{name:<15} {count:>11} {loading:>24.1f} {training:>19.1f}  {settings}")
    return lines


if __name__ == "__main__":
    print("\n".join(table()))
