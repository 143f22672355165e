"""What a data builder declares, how it draws a new edition's subsets, and how builders are found.

A builder is one module in ``bundler/data/`` defining ``BUILDER``, an instance of a
:class:`DatasetBuilder` subclass: the competition it prepares and its challenge, the canonical source
layout, the default sizes of drawn subsets, the plan of every output file, and a generated example
source in that layout (the fixture of the tests and of ``bundler rehearse``).

Every draw and shuffle is keyed by the build's seed, including those that hide the test labels (test
names and order): the seed is a secret. Without ``--seed`` a build takes the one its --out recorded,
or draws a new one with :mod:`secrets`, and records it in ``private/seed.txt``.
"""

from __future__ import annotations

import abc
import hashlib
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from bundler.config.competition import COMPETITIONS
from bundler.data.engine import (
    REFERENCES,
    DataError,
    Outcome,
    Plan,
    finish,
    materialise,
    prepare_output,
    recorded_seed,
    shipped_list,
)
from scoring.challenge import Challenge, load_reference, module_instances

T = TypeVar("T")
SEED_FILE = "private/seed.txt"  # the secret key of the build's draws and shuffles, for the organiser


@dataclass(frozen=True)
class Selection:
    """Which subsets to build: the lists of an edition (``splits``) or new ones drawn; ``seed`` keys every shuffle."""

    splits: Optional[str] = None
    seed: Optional[int] = None
    sizes: Dict[str, int] = field(default_factory=dict)
    #: the competitions folder whose ``<competition>/splits/<splits>/`` ship the edition's lists (``--competitions``)
    competitions: Path = COMPETITIONS

    def key(self, *parts: object) -> bytes:
        """A sort key that orders items by a hash of the seed and ``parts``: stable across versions."""
        assert self.seed is not None, "build() gives every plan a seed: without it the key is public"
        return hashlib.sha256(":".join(map(str, (self.seed, *parts))).encode()).digest()

    def shuffled(self, items: Sequence[T], salt: str) -> List[T]:
        """``items`` in the seed's order for ``salt`` (the same seed always gives the same order)."""
        return sorted(items, key=lambda item: self.key(salt, item))


class DatasetBuilder(abc.ABC):
    """The data preparation of one challenge, and the generated example source it is tested and rehearsed on."""

    #: the competition folder (of an edition's folder) whose data this builds
    competition: str
    #: the challenge of that competition: its layout says where each public file goes
    challenge: Challenge
    #: the canonical source layout, one line
    source_layout: str
    #: sizes of drawn subsets (per class where ``per_class``), e.g. {"train": 50, "val": 50, "test": 50}
    sizes: Dict[str, int] = {}
    per_class: bool = False
    #: editions whose official lists ship in <edition's folder>/<competition>/splits/
    editions: Tuple[str, ...] = ()
    #: the --size values that fit the example source at scale 1 (times the scale); {} where the source's lists decide
    example_size: Dict[str, int] = {}

    @abc.abstractmethod
    def plan(self, source: Path, selection: Selection) -> Plan:
        """Every output file; raise DataError listing every missing or corrupt source file."""

    @abc.abstractmethod
    def example_source(self, root: Path, scale: int = 1) -> Path:
        """Write a small generated source in the layout :meth:`plan` reads, its labels a simple function of the
        pixels, ``scale`` times the smallest (a few dozen items, seconds to train on); return ``root``."""

    def example_sizes(self, scale: int = 1) -> Dict[str, int]:
        """The ``--size SPLIT=N`` values that fit the example source written at ``scale``."""
        return {split: n * scale for split, n in self.example_size.items()}

    def shipped(self, selection: Selection, name: str) -> bytes:
        """The list ``name`` of the edition ``selection.splits``, shipped in the selection's competitions folder."""
        assert selection.splits is not None, "only a build with --splits reads the shipped lists"
        return shipped_list(self.competition, selection.splits, name, selection.competitions)

    def take(self, pools: Dict[str, List[T]], selection: Selection, split_order: Sequence[str]) -> Dict[str, List[T]]:
        """Split each pool (a class, or everything) into consecutive draws of ``selection.sizes`` per split."""
        chosen: Dict[str, List[T]] = {split: [] for split in split_order}
        short = []
        for name, pool in sorted(pools.items()):
            ordered = selection.shuffled(pool, f"draw:{name}")
            wanted = sum(selection.sizes[split] for split in split_order)
            if len(ordered) < wanted:
                short.append(f"{name}: {len(ordered)} item(s), {wanted} needed")
                continue
            start = 0
            for split in split_order:
                chosen[split] += ordered[start:start + selection.sizes[split]]
                start += selection.sizes[split]
        if short:
            sizes = ", ".join(f"{split}={selection.sizes[split]}" for split in split_order)
            raise DataError([f"not enough source items for {sizes} (change them with --size SPLIT=N): " + "; ".join(short)])
        return chosen


def every(*steps: Callable[[], Any]) -> List[Any]:
    """The results of all ``steps`` (e.g. one per split); DataError with the problems of every step that failed."""
    results, problems = [], []
    for step in steps:
        try:
            results.append(step())
        except DataError as exc:
            problems += exc.problems
    if problems:
        raise DataError(problems)
    return results


def shipped_editions() -> List[str]:
    """Every edition some builder ships official split lists of (``--splits``)."""
    return sorted({edition for builder in builders().values() for edition in builder.editions})


def builders() -> Dict[str, DatasetBuilder]:
    """Every builder module in bundler/data/, keyed by competition name."""
    from bundler import data as package

    return {builder.competition: builder for builder in module_instances(package, "BUILDER", DatasetBuilder)}


def text_lines(data: bytes) -> List[List[str]]:
    """Non-empty lines of a list file, split on white space."""
    return [line.split() for line in data.decode("utf-8").splitlines() if line.strip()]


def csv_text(header: str, rows: Sequence[Sequence[object]]) -> bytes:
    """A small CSV (no quoting needed: names without commas)."""
    return (header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)).encode()


def build(builder: DatasetBuilder, source: Path, out: Path, selection: Selection) -> Outcome:
    """Plan (checking every source file) with the seed given, else the one --out recorded, else a new secret one;
    claim --out, place the files and write the manifest."""
    if not source.is_dir():
        raise DataError([f"--source {source}: not a folder; expected {builder.source_layout}"])
    if selection.splits and selection.splits not in builder.editions:
        known = ", ".join(builder.editions) or "none"
        raise DataError([f"--splits {selection.splits}: no official lists for {builder.competition} "
                         f"(editions with lists: {known}); leave --splits out to draw new subsets"])
    unknown = sorted(set(selection.sizes) - set(builder.sizes))
    if unknown:
        raise DataError([f"--size {unknown[0]}=...: {builder.competition} has no such split "
                         f"(sizes: {', '.join(builder.sizes) or 'none, its subsets follow the source lists'})"])
    sizes = {} if selection.splits else {**builder.sizes, **selection.sizes}
    identity = {"competition": builder.competition, "source": str(source.resolve()), "splits": selection.splits,
                "sizes": sizes}
    seed = selection.seed if selection.seed is not None else recorded_seed(out, identity)
    outcome = Outcome()
    if seed is None:
        seed = secrets.randbits(64)
        outcome.notes.append(f"no --seed: a secret one was drawn and recorded in {SEED_FILE} (never publish it: it "
                             "keys the draws and shuffles that hide the test labels); a second run into this --out uses it again")
    selection = replace(selection, seed=seed, sizes=sizes)
    plan = builder.plan(source, selection)
    plan.publish_references(builder.challenge.layout.reference_folder)
    plan.write(SEED_FILE, f"{seed}\n".encode())
    prepare_output(out, source, {**identity, "seed": seed})
    materialise(plan, out, outcome)
    checks = label_free_references(out)
    materialise(checks, out, outcome)
    plan.items += checks.items
    finish(plan, out, outcome)
    outcome.notes += plan.notes
    return outcome


def label_free_references(out: Path) -> Plan:
    """The public reference folder (its challenge's layout) of each hidden reference: its items, names and sizes,
    never a label."""
    plan = Plan()
    for split, about in REFERENCES.items():
        if not about["public"]:
            challenge, reference = load_reference(out / str(about["path"]))
            for name, data in challenge.label_free_files(reference).items():
                plan.write(f"public/{challenge.layout.reference_folder(split)}/{name}", data)
    return plan
