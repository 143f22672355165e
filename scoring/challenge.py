"""What every challenge declares, and how score.py finds the challenge a reference asks for.

A challenge is one module in ``scoring/challenges/``, named after its task (``-`` written ``_``), that
defines ``CHALLENGE``, an instance of a :class:`Challenge` subclass. It declares its reference format,
its submission format and its leaderboard columns in one place; the bundler reads these declarations
instead of repeating them.
"""

from __future__ import annotations

import abc
import importlib
import json
import pkgutil
import random
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Type, TypeVar

from scoring.errors import ReferenceDataError
from scoring.facts import HiddenFacts
from scoring.json_text import parse_json
from scoring.limits import LIMITS
from scoring.resampling import Resampler
from scoring.submission import Submission

REFERENCE_INFO = "reference.json"
#: task names of earlier versions, still read from the reference.json of references made with them
RENAMED_TASKS = {"action-recognition": "action"}
LABELS = "labels"  # reference.json: false in a label-free reference (ids, names and sizes only)
T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    """One leaderboard column: a key written to scores.txt and how the platform shows it."""

    key: str
    label: str
    description: str
    sort: str = "desc"  # "desc": higher is better
    digits: int = 4


@dataclass(frozen=True)
class Section:
    """A titled block of the detailed results page; ``html`` is already escaped markup."""

    title: str
    html: str


@dataclass(frozen=True)
class PublicLayout:
    """Where a challenge's files sit in public/ (what ``bundler data`` writes, ``python -m baselines`` reads).

    Paths are relative to public/, with ``{split}`` ("train", "val", "test") filled in. A challenge declares a
    subclass with the files of its own data.
    """

    inputs: str = "{split}"  # the folder of a split's images or clips
    references: str = "references/{split}"  # a split's reference folder (val labelled, test label-free)

    def input_folder(self, split: str) -> str:
        """The folder of ``split``'s images or clips."""
        return self.inputs.format(split=split)

    def reference_folder(self, split: str) -> str:
        """The reference folder participants check their ``split`` submissions with."""
        return self.references.format(split=split)


@dataclass
class Result:
    """What a challenge's scoring returns: the column values and what the page should show."""

    scores: Dict[str, float]
    coverage: Tuple[int, int]  # (items with a prediction, items in the reference)
    counts: Dict[str, int] = field(default_factory=dict)
    warnings: List[str] = field(default_factory=list)  # about the submission (e.g. missing items)
    score_warnings: List[str] = field(default_factory=list)  # about the numbers (e.g. undefined for this reference)
    sections: List[Section] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    resampler: Optional[Resampler] = None  # the primary score on resamples of the items (for intervals)


class Challenge(abc.ABC):
    """The declarations and the scoring code of one challenge."""

    #: the ``task`` value in the reference folder's reference.json
    task: str
    #: a short human name, e.g. "Image classification"
    title: str
    #: one paragraph on the files of a reference folder
    reference_format: str
    #: one paragraph on the files a participant uploads
    submission_format: str
    #: a few lines of a valid prediction file
    submission_example: str
    #: leaderboard columns; the first one is the primary (ranking) score
    columns: Tuple[Column, ...]
    #: True if ``score`` gives a Resampler (bootstrap intervals of the primary score in ``bundler results``); a
    #: challenge without one declares False, and its final ranking has no intervals or tie groups
    resampled: bool
    #: where the challenge's files sit in the public download
    layout: PublicLayout
    #: the largest submission accepted, in bytes once uncompressed
    max_submission_bytes: int = LIMITS.max_bytes

    @property
    def primary(self) -> Column:
        """The column that ranks the leaderboard."""
        return self.columns[0]

    @abc.abstractmethod
    def load_reference(self, folder: Path, info: Dict[str, Any]) -> Any:
        """Read the hidden reference data; raise ReferenceDataError if it is malformed."""

    @abc.abstractmethod
    def score(self, reference: Any, submission: Submission) -> Result:
        """Validate the submission against the reference and compute every column."""

    @abc.abstractmethod
    def write_demo_reference(self, folder: Path, seed: int) -> None:
        """Write a small, deterministic demo reference folder (for bundles built without data)."""

    @abc.abstractmethod
    def label_free_files(self, reference: Any) -> Dict[str, bytes]:
        """The files (reference.json included) of a label-free reference of the same items: ids, names, sizes only.

        Scoring against it runs every check on a submission but gives no score; it is what participants get.
        """

    @abc.abstractmethod
    def write_submission(self, predictions: Any) -> Dict[str, bytes]:
        """The files (name -> content) of a submission holding ``predictions``, in the form the challenge's
        docstring gives; every submission the project writes (samples, made-up entrants, baselines) comes from here."""

    @abc.abstractmethod
    def sample_submission(self, reference: Any, seed: int) -> Dict[str, bytes]:
        """Files (name -> content) of a valid submission with random predictions.

        Reads only what a label-free reference holds (ids, names, sizes), so that a sample built from a
        label-free reference, as the starting kit's is, cannot carry anything hidden.
        """

    @abc.abstractmethod
    def labelled_submission(self, reference: Any, noise: float, seed: int) -> Dict[str, bytes]:
        """Files of a submission that predicts a labelled reference's own labels, a share ``noise`` (0..1) of them
        replaced at random: the perfect (0) and noisy made-up entrants of ``bundler rehearse``.

        It reads the hidden labels: never publish one.
        """

    @abc.abstractmethod
    def hidden_facts(self, reference: Any) -> HiddenFacts:
        """What a labelled reference knows that its label-free view does not, as the challenge's own kind of
        :class:`~scoring.facts.HiddenFacts` (for the leak guard of ``bundler check``)."""

    def reference_info(self, labels: bool = True, **settings: Any) -> bytes:
        """The reference.json of a reference folder of this challenge."""
        info: Dict[str, Any] = {"task": self.task, **settings}
        if not labels:
            info[LABELS] = False
        return (json.dumps(info) + "\n").encode()


def check_share(noise: float) -> None:
    """A ValueError unless ``noise``, the share of a labelled submission's predictions replaced, is from 0 to 1."""
    if not 0 <= noise <= 1:
        raise ValueError(f"noise {noise}: a share, from 0 to 1")


def replaced(count: int, noise: float, rng: random.Random) -> Set[int]:
    """The indices of ``round(noise * count)`` of ``count`` predictions, drawn with ``rng``: those a labelled
    submission replaces."""
    check_share(noise)
    return set(rng.sample(range(count), round(noise * count)))


def noisy_labels(labels: Sequence[int], choices: int, noise: float, seed: int) -> List[int]:
    """``labels`` (each in ``range(choices)``) with a share ``noise`` of them replaced by another label at random."""
    rng = random.Random(seed)
    wrong = replaced(len(labels), noise, rng) if choices > 1 else set()
    return [(int(label) + rng.randrange(1, choices)) % choices if i in wrong else int(label)
            for i, label in enumerate(labels)]


def module_instances(package: ModuleType, attribute: str, kind: Type[T]) -> List[T]:
    """The ``attribute`` of every module of ``package`` that is a ``kind``, in module-name order."""
    found = []
    for module_info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        value = getattr(importlib.import_module(f"{package.__name__}.{module_info.name}"), attribute, None)
        if isinstance(value, kind):
            found.append(value)
    return found


def challenges() -> Dict[str, Challenge]:
    """Every challenge module in scoring/challenges/, keyed by task name."""
    from scoring import challenges as package

    return {challenge.task: challenge for challenge in module_instances(package, "CHALLENGE", Challenge)}


def get_challenge(task: str) -> Challenge:
    """The challenge for a task name, or ReferenceDataError listing the known ones.

    Imports only that challenge's module, ``scoring/challenges/<task, '-' written '_'>.py``: a platform image
    without Pillow still scores the challenges that do not need it.
    """
    from scoring import challenges as package

    task = RENAMED_TASKS.get(task, task)
    modules = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    module = task.replace("-", "_")
    if module not in modules:
        known = ", ".join(name.replace("_", "-") for name in modules)
        raise ReferenceDataError(f"unknown task {task!r}; known tasks: {known}")
    challenge = getattr(importlib.import_module(f"{package.__name__}.{module}"), "CHALLENGE", None)
    if not isinstance(challenge, Challenge) or challenge.task != task:
        raise ReferenceDataError(f"scoring/challenges/{module}.py does not define CHALLENGE for task {task!r}")
    return challenge


def read_reference_info(folder: Path) -> Dict[str, Any]:
    """Read ``reference.json`` of a reference folder (it must name the task)."""
    path = folder / REFERENCE_INFO
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ReferenceDataError(
            f"{path}: not found; a reference folder holds reference.json with {{\"task\": ...}}"
        ) from None
    except OSError as exc:
        raise ReferenceDataError(f"{path}: cannot be read ({exc.strerror})") from None
    info = parse_json(data, str(path), ReferenceDataError)
    if not isinstance(info, dict) or not isinstance(info.get("task"), str):
        raise ReferenceDataError(f"{path}: expected an object with a string \"task\"")
    return info


def has_labels(info: Dict[str, Any]) -> bool:
    """Whether a reference folder's reference.json says it holds the labels (the default)."""
    return info.get(LABELS, True) is not False


def load_reference(folder: Path) -> Tuple[Challenge, Any]:
    """The challenge a reference folder names, and its loaded reference data."""
    if not folder.is_dir():
        raise ReferenceDataError(f"{folder}: reference folder not found")
    info = read_reference_info(folder)
    challenge = get_challenge(info["task"])
    return challenge, challenge.load_reference(folder, info)


def optional_int(info: Dict[str, Any], key: str, default: int) -> int:
    """An integer setting of reference.json, with a clear error when it has the wrong type."""
    value: Optional[Any] = info.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ReferenceDataError(f"{REFERENCE_INFO}: {key!r} must be a positive integer, not {value!r}")
    return value
