"""The one training loop of every baseline, in the manner of torchvision's reference scripts.

Train on ``train``, predict ``val`` after every epoch and score it with the challenge's own scoring
program (the numbers the leaderboard shows, every column), keep ``last.pt`` and ``best.pt`` (by the
primary column), and log each epoch to ``log.csv``. Under ``torchrun`` each process trains on its
share of the data (DistributedDataParallel); the validation predictions of all processes are
gathered, so the logged scores are those of the whole validation set, and one process writes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
import torchvision
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from baselines.runtime import Runtime, save_atomically, seed_everything, seed_worker, start
from baselines.task import Baseline, BaselineError, Meta, Record
from bundler.ground.zips import zip_bytes
from scoring.cli import main as score_main
from scoring.cli import score_submission
from scoring.files import write_atomically
from scoring.report import number

CHECKPOINT_FORMAT = 1
EPOCH, LOSS, LR, SECONDS = "epoch", "train_loss", "lr", "seconds"
WARMUP_START = 0.001  # the warm-up's first factor of the rate, as in torchvision's references


def versions() -> Dict[str, str]:
    """The versions a run was made with, for config.json."""
    found = {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
             "numpy": np.__version__}
    try:
        import av

        found["av"] = av.__version__
    except ImportError:
        pass
    return found


def _loader(baseline: Baseline, dataset: Dataset, args: argparse.Namespace, sampler: Any = None,
            shuffle: bool = False) -> DataLoader:
    generator = torch.Generator()
    generator.manual_seed(args.seed)
    return DataLoader(dataset, batch_size=args.batch_size, shuffle=shuffle, sampler=sampler, num_workers=args.workers,
                      collate_fn=baseline.collate(), worker_init_fn=seed_worker, generator=generator,
                      persistent_workers=False, pin_memory=torch.cuda.is_available())


def _optimizer(args: argparse.Namespace, model: nn.Module, rate: float) -> torch.optim.Optimizer:
    parameters = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=rate, weight_decay=args.weight_decay)
    return torch.optim.SGD(parameters, lr=rate, momentum=args.momentum, weight_decay=args.weight_decay)


def _schedule(args: argparse.Namespace, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning rate per epoch: cosine to zero, times 0.1 after each of --lr-steps, or constant."""
    def factor(epoch: int) -> float:
        if args.lr_schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * epoch / max(1, args.epochs)))
        if args.lr_schedule == "step":
            return 0.1 ** sum(epoch >= step for step in args.lr_steps)
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def load_checkpoint(path: Path, baseline: Baseline) -> Dict[str, Any]:
    """A checkpoint of this challenge's baseline, or one error line saying why not."""
    if not path.is_file():
        raise BaselineError(f"{path}: no such checkpoint")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        raise BaselineError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise BaselineError(f"{path}: not a checkpoint of 'python -m baselines train'")
    if checkpoint.get("challenge") != baseline.name:
        raise BaselineError(f"{path}: a checkpoint of the {checkpoint.get('challenge')} baseline, not of {baseline.name}")
    return checkpoint


def plain_arguments(args: argparse.Namespace) -> Dict[str, Any]:
    """The arguments as plain values (paths as text), for config.json and for checkpoints loaded weights-only."""
    return {key: str(value) if isinstance(value, Path) else value for key, value in vars(args).items()}


def _unwrapped(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def predictions(baseline: Baseline, model: nn.Module, dataset: Dataset, args: argparse.Namespace, meta: Meta,
                runtime: Runtime, what: str) -> List[Record]:
    """Every item's record, this process's share predicted here and all shares gathered."""
    share = Subset(dataset, range(runtime.rank, len(dataset), runtime.world))  # type: ignore[arg-type]
    model = _unwrapped(model)
    model.eval()
    records: List[Record] = []
    with torch.no_grad():
        for inputs, ids in tqdm(_loader(baseline, share, args), desc=what, disable=not runtime.main or None, leave=False):
            with runtime.autocast():
                records += baseline.predict(model, baseline.to_device(inputs, runtime.device, runtime.cuda), ids, args, meta)
    return runtime.gather(records)


def score_records(baseline: Baseline, records: List[Record], reference: Path) -> Dict[str, float]:
    """Every leaderboard column of these predictions, computed by the scoring program against ``reference``."""
    with tempfile.TemporaryDirectory(prefix="baseline-val-") as folder:
        for name, data in baseline.submission(records).items():
            (Path(folder) / name).write_bytes(data)
        _, result = score_submission(reference, Path(folder))
    return {key: float(value) for key, value in result.scores.items()}


class Log:
    """RUN/log.csv: one row per epoch (losses, every val column, learning rate, seconds), rewritten on resume."""

    def __init__(self, path: Path, columns: List[str]) -> None:
        self.path = path
        self.fields = [EPOCH, LOSS, *columns, LR, SECONDS]

    def rows(self) -> List[Dict[str, str]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="", encoding="utf-8") as stream:
            return list(csv.DictReader(stream))

    def keep_until(self, epoch: int) -> None:
        """Drop the rows of epochs after ``epoch`` (a run killed after logging but before its checkpoint)."""
        self._write([row for row in self.rows() if int(row[EPOCH]) <= epoch])

    def add(self, row: Dict[str, Any]) -> None:
        self._write(self.rows() + [{key: row[key] for key in self.fields}])

    def _write(self, rows: List[Dict[str, Any]]) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        write_atomically(self.path, buffer.getvalue().encode())


def _better(score: float, best: Optional[float], sort: str) -> bool:
    return best is None or (score > best if sort == "desc" else score < best)


def _warm_up(optimizer: torch.optim.Optimizer, rates: List[float], step: int, steps: int) -> None:
    """The rate of ``step`` (0 first) of a linear warm-up from WARMUP_START of ``rates`` to them over ``steps``."""
    factor = WARMUP_START + (1 - WARMUP_START) * min(step, steps) / steps
    for group, rate in zip(optimizer.param_groups, rates):
        group["lr"] = rate * factor


def _train_epoch(baseline: Baseline, model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                 scaler: torch.amp.GradScaler, runtime: Runtime, epoch: int, warmup: int, kept: str) -> float:
    """One pass over the training data, warming up over its first ``warmup`` steps; the mean loss over every
    process's batches. A NaN or infinite loss (in any process) stops the run, saying that ``kept`` is kept."""
    model.train()
    total, batches = 0.0, 0
    rates = [group["lr"] for group in optimizer.param_groups]
    bar = tqdm(loader, desc=f"epoch {epoch}", disable=not runtime.main or None, leave=False)
    for step, (inputs, targets) in enumerate(bar):
        if warmup and step <= warmup:
            _warm_up(optimizer, rates, step, warmup)
        inputs = baseline.to_device(inputs, runtime.device, runtime.cuda)
        targets = baseline.to_device(targets, runtime.device, False)
        with runtime.autocast():
            loss = baseline.loss(model, inputs, targets)
        finite = bool(torch.isfinite(loss))
        if runtime.total(float(not finite))[0]:
            value = "not finite in another process" if finite else f"became {loss.item()}"
            raise BaselineError(f"the training loss {value} at epoch {epoch}, step {step + 1}: stopped, {kept}; "
                                "lower --lr")
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        total += loss.item()
        batches += 1
        bar.set_postfix(loss=f"{total / batches:.4f}")
    total, batches = runtime.total(total, batches)
    return total / max(1.0, batches)


def _state(baseline: Baseline, model: nn.Module, optimizer: torch.optim.Optimizer, schedule: Any, scaler: Any,
           args: argparse.Namespace, meta: Meta, epoch: int, best: Optional[Tuple[int, float]]) -> Dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "challenge": baseline.name, "epoch": epoch, "args": plain_arguments(args), "meta": meta,
            "model": _unwrapped(model).state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
            "scaler": scaler.state_dict(), "best": list(best) if best else None, "rng": torch.get_rng_state()}


def train(baseline: Baseline, args: argparse.Namespace) -> int:
    """``python -m baselines train NAME``: train, validate with the scoring program each epoch, keep checkpoints."""
    data, run = args.data, args.out
    baseline.check_public(data, ("train", "val"))
    runtime = start(args.device)
    try:
        return _train(baseline, args, data, run, runtime)
    finally:
        runtime.close()


def _train(baseline: Baseline, args: argparse.Namespace, data: Path, run: Path, runtime: Runtime) -> int:
    seed_everything(args.seed + runtime.rank)
    columns = baseline.challenge.columns
    primary = columns[0]
    meta = baseline.metadata(data)
    resumed = load_checkpoint(run / "last.pt", baseline) if args.resume else None
    if resumed is None and (run / "last.pt").exists():
        raise BaselineError(f"{run} already holds a run (last.pt): add --resume to continue it, or choose another --out")
    if resumed is not None:
        meta = resumed["meta"]
    model = baseline.model(args, meta).to(runtime.device)
    if runtime.cuda:
        model = model.to(memory_format=torch.channels_last)
    total_batch = runtime.world * args.batch_size
    rate = baseline.learning_rate(args.lr, total_batch, args.reference_batch)
    optimizer = _optimizer(args, model, rate)
    schedule = _schedule(args, optimizer)
    scaler = torch.amp.GradScaler("cuda", enabled=runtime.cuda)
    first, best = 1, None
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        schedule.load_state_dict(resumed["schedule"])
        schedule.base_lrs = [rate] * len(optimizer.param_groups)  # this run's total batch, this --epochs' schedule
        for group, base, factor in zip(optimizer.param_groups, schedule.base_lrs, schedule.lr_lambdas):
            group["lr"] = base * factor(schedule.last_epoch)
        scaler.load_state_dict(resumed["scaler"])
        torch.set_rng_state(resumed["rng"])
        first, best = resumed["epoch"] + 1, tuple(resumed["best"]) if resumed["best"] else None
    if runtime.world > 1:
        model = DistributedDataParallel(model, device_ids=[runtime.device] if runtime.cuda else None)
    train_set = baseline.dataset(data, "train", args, meta, train=True)
    val_set = baseline.dataset(data, "val", args, meta, train=False)
    sampler = DistributedSampler(train_set, runtime.world, runtime.rank, shuffle=True, seed=args.seed) \
        if runtime.world > 1 else None
    loader = _loader(baseline, train_set, args, sampler=sampler, shuffle=sampler is None)
    log = Log(run / "log.csv", [c.key for c in columns])
    if runtime.main:
        run.mkdir(parents=True, exist_ok=True)
        log.keep_until(first - 1)
        config = {"challenge": baseline.name, "args": plain_arguments(args), "processes": runtime.world,
                  "total_batch": total_batch, "reference_batch": args.reference_batch, "learning_rate": rate,
                  "device": str(runtime.device), "versions": versions()}
        write_atomically(run / "config.json", (json.dumps(config, indent=1) + "\n").encode())
        recipe = "" if args.recipe == "default" else f" ({args.recipe}'s recipe)"
        print(f"{baseline.name}{recipe}: {len(train_set)} train and {len(val_set)} val items, {args.arch}, epochs {first}.."
              f"{args.epochs}, {runtime.world} process(es) on {runtime.device}; learning rate {rate:.6g}: --lr "
              f"{args.lr:g} for a total batch of {args.reference_batch}, scaled to this run's {total_batch} "
              f"({runtime.world} x {args.batch_size})", file=sys.stderr)
    for epoch in range(first, args.epochs + 1):
        began = time.monotonic()
        if sampler is not None:
            sampler.set_epoch(epoch)
        loader.generator.manual_seed(args.seed * 100_003 + epoch)  # the epoch's order: a resumed run repeats it
        lr = optimizer.param_groups[0]["lr"]
        warmup = min(args.warmup_iters, len(loader) - 1) if epoch == 1 else 0
        kept = f"{run / 'last.pt'} keeps epoch {epoch - 1}" if epoch > 1 else "no epoch was saved"
        loss = _train_epoch(baseline, model, loader, optimizer, scaler, runtime, epoch, warmup, kept)
        schedule.step()
        records = predictions(baseline, model, val_set, args, meta, runtime, "validation")
        if runtime.main:
            scores = score_records(baseline, records, data / baseline.challenge.layout.reference_folder("val"))
            shown = {c.key: number(scores[c.key], c.digits) for c in columns}  # as the leaderboard shows them
            score = round(scores[primary.key], primary.digits)
            improved = _better(score, best[1] if best else None, primary.sort)
            if improved:
                best = (epoch, score)
            # the log first, last.pt last: a run killed in between repeats this epoch and drops its row
            log.add({EPOCH: epoch, LOSS: f"{loss:.6f}", **shown, LR: f"{lr:.6g}",
                     SECONDS: f"{time.monotonic() - began:.1f}"})
            state = _state(baseline, model, optimizer, schedule, scaler, args, meta, epoch, best)
            if improved:
                save_atomically(state, run / "best.pt")
            save_atomically(state, run / "last.pt")
            print(f"epoch {epoch}/{args.epochs}: train loss {loss:.4f}, val {primary.key} {shown[primary.key]}"
                  f"{' (best)' if improved else ''}, {time.monotonic() - began:.0f} s", file=sys.stderr)
    return 0


def predict(baseline: Baseline, args: argparse.Namespace) -> int:
    """``python -m baselines predict NAME``: write the split's submission zip and check it with the scoring program."""
    data = args.data
    baseline.check_public(data, (args.split,))
    checkpoint = load_checkpoint(args.run / f"{args.checkpoint}.pt", baseline)
    trained = argparse.Namespace(**checkpoint["args"])
    trained.batch_size, trained.workers = args.batch_size or trained.batch_size, args.workers
    runtime = start(args.device)
    meta = checkpoint["meta"]
    model = baseline.model(trained, meta)
    model.load_state_dict(checkpoint["model"])
    model = model.to(runtime.device)
    dataset = baseline.dataset(data, args.split, trained, meta, train=False)
    records = predictions(baseline, model, dataset, trained, meta, runtime, args.split)
    files = baseline.submission(records)
    reference = data / baseline.challenge.layout.reference_folder(args.split)
    replaced = " (replacing the file that was there)" if args.output.exists() else ""
    write_atomically(args.output, zip_bytes(files))
    print(f"wrote {args.output}{replaced}: {len(dataset)} {args.split} items, epoch {checkpoint['epoch']} of {args.run}; "
          f"checking it against {reference}:", file=sys.stderr)
    return score_main(["--reference", str(reference), str(args.output)])
