"""``python -m baselines``: train a challenge's baseline on the public data, and predict a split as a submission zip."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from pathlib import Path
from typing import Dict, List, Optional

from baselines.task import Baseline, BaselineError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Baseline models of the challenges, trained from scratch on the public/ folder that participants download.

  train NAME     train on train, score val with the scoring program after every epoch,
                 keep RUN/last.pt and RUN/best.pt, log every epoch to RUN/log.csv
  predict NAME   write the submission zip of a split from a checkpoint, and check it

More than one GPU (or CPU processes): torchrun --nproc_per_node N -m baselines train NAME ...
exit codes: 0 done, 1 invalid input (one 'error:' line), 2 usage
"""


def baselines() -> Dict[str, Baseline]:
    """Every baseline module of this package, keyed by challenge."""
    from baselines import task

    found: Dict[str, Baseline] = {}
    for module in sorted(pkgutil.iter_modules([os.path.dirname(task.__file__)]), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        value = getattr(importlib.import_module(f"baselines.{module.name}"), "BASELINE", None)
        if isinstance(value, Baseline):
            found[value.name] = value
    return found


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, metavar="DIR",
                        help="the public/ folder that 'bundler data' writes (what participants download)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: cuda if available")
    parser.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), metavar="W",
                        help="data-loading processes (default: the cores, at most 8; 0 loads in this process)")


def _parser(found: Dict[str, Baseline], competitions: Optional[Dict[str, str]] = None) -> argparse.ArgumentParser:
    """The command line; ``competitions`` names, per baseline, the competition whose recipe gives the defaults."""
    parser = argparse.ArgumentParser(prog="python -m baselines", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train = commands.add_parser("train", help="train a baseline").add_subparsers(dest="name", required=True,
                                                                                   metavar="NAME")
    predict = commands.add_parser("predict", help="predict a split and write the submission zip").add_subparsers(
        dest="name", required=True, metavar="NAME")
    for name, baseline in sorted(found.items()):
        recipe = (competitions or {}).get(name)
        d = baseline.recipe(recipe)
        own = "".join(f" On the data of {other}, its own published recipe gives the defaults." for other in baseline.recipes)
        one = train.add_parser(name, help=baseline.summary, description=f"{baseline.summary}. Defaults are the recipe "
                               "(a full GPU run), its learning rate scaled to this run's total batch; --arch, "
                               f"--image-size and --epochs make it small. A NaN or infinite loss stops the run.{own}")
        one.set_defaults(recipe=recipe or "default", reference_batch=int(d["reference_batch"]))
        _common(one)
        one.add_argument("--out", type=Path, required=True, metavar="RUN", help="the run folder to write")
        one.add_argument("--arch", default=d["arch"], help=f"the network (default {d['arch']}); {d['archs']}")
        one.add_argument("--epochs", type=int, default=d["epochs"], help=f"default {d['epochs']}")
        one.add_argument("--batch-size", type=int, default=d["batch_size"], metavar="B",
                         help=f"items per batch and process (default {d['batch_size']})")
        one.add_argument("--lr", type=float, default=d["lr"],
                         help=f"learning rate for a total batch of {d['reference_batch']}, the recipe's (default "
                         f"{d['lr']}); the run scales it linearly to its own total batch, processes x --batch-size")
        one.add_argument("--optimizer", choices=("sgd", "adamw"), default=d.get("optimizer", "sgd"),
                         help=f"default {d.get('optimizer', 'sgd')}")
        one.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
        one.add_argument("--weight-decay", type=float, default=d.get("weight_decay", 1e-4),
                         help=f"default {d.get('weight_decay', 1e-4)}")
        one.add_argument("--lr-schedule", choices=("cosine", "step", "constant"), default=d.get("lr_schedule", "cosine"),
                         help=f"per epoch (default {d.get('lr_schedule', 'cosine')})")
        steps = d.get("lr_steps", (30, 60))
        one.add_argument("--lr-steps", type=int, nargs="+", default=list(steps), metavar="E",
                         help=f"with --lr-schedule step: the epochs after which the rate is multiplied by 0.1 "
                         f"(default {' '.join(map(str, steps))})")
        one.add_argument("--warmup-iters", type=int, default=d.get("warmup_iters", 0), metavar="N",
                         help="linear warm-up from 1/1000 of the rate over the first N steps of the first epoch, at most "
                         f"all but its last, as torchvision's detection reference (default {d.get('warmup_iters', 0)})")
        one.add_argument("--image-size", type=int, default=d["image_size"], metavar="S", help=d["image_size_help"])
        one.add_argument("--seed", type=int, default=0, help="seeds every generator: a CPU run repeats exactly (default 0)")
        one.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
        one.add_argument("--smoke", action="store_true", help="a tiny CPU run (what the tests and 'bundler rehearse' "
                         f"train): {' '.join(baseline.smoke_arguments)} before the arguments given, which win")
        for flag, options in baseline.arguments:
            one.add_argument(flag, **options)
        two = predict.add_parser(name, help=f"predict with a {name} checkpoint")
        _common(two)
        two.add_argument("--run", type=Path, required=True, metavar="RUN", help="the run folder of 'train'")
        two.add_argument("--split", choices=("val", "test"), required=True, help="the split to predict")
        two.add_argument("--output", type=Path, required=True, metavar="FILE.zip", help="the submission zip to write")
        two.add_argument("--checkpoint", choices=("best", "last"), default="best", help="default best")
        two.add_argument("--batch-size", type=int, metavar="B", help="default: the training batch size")
    return parser


def one_line(exc: BaseException) -> str:
    """The user's error on one line (an error raised in a data-loading process arrives with its traceback)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else type(exc).__name__
    return last.split("BaselineError: ", 1)[-1]


def main(argv: Optional[List[str]] = None) -> int:
    """Run a subcommand; a problem with the input is one 'error:' line and exit 1, never a traceback."""
    found = baselines()
    args = _parser(found).parse_args(argv)
    if args.command == "train":
        argv = list(sys.argv[1:] if argv is None else argv)
        if args.smoke:  # the baseline's tiny settings right after its name: an argument given later wins
            at = argv.index(args.name) + 1
            argv[at:at] = found[args.name].smoke_arguments
        competition = found[args.name].competition(args.data.expanduser())
        args = _parser(found, {args.name: competition} if competition in found[args.name].recipes else {}).parse_args(argv)
    from baselines import loop

    try:
        args.data = args.data.expanduser().resolve()
        if args.command == "train":
            args.out = args.out.expanduser().resolve()
            return loop.train(found[args.name], args)
        args.run, args.output = args.run.expanduser().resolve(), args.output.expanduser().resolve()
        return loop.predict(found[args.name], args)
    except BaselineError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("error: interrupted; continue with --resume", file=sys.stderr)
        return EXIT_USAGE
