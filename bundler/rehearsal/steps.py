"""Steps of a rehearsal: each runs once what it needs has finished; lanes run side by side, ``jobs`` steps at once.

A step is a command (``python -m bundler ...``, ``python -m baselines ...``) started as its own
process, exactly as typed on the command line, with its output in a log file; or a small function.
A step whose ``needs`` did not succeed is skipped, naming the one it needed; a step's ``after`` only
orders it. A lane (by default, the step's competition) runs its steps in order; a step that takes no
slot (the baselines, the longest lane) runs besides the ``jobs``. The outcome is the step's status, its
seconds and, when it failed, its last ``error:`` line.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

OK, FAILED, SKIPPED = "ok", "FAILED", "skipped"
Action = Callable[[Path], None]  # does a step's work, given its log file; raises StepFailed
#: the folder holding our packages, put first on the path of every command, so that it runs this copy
PACKAGES = Path(__file__).resolve().parents[2]


class StepFailed(Exception):
    """A step did not do its work; the message says why, in one line."""


@dataclass(eq=False)
class Step:
    """One thing the rehearsal does, and its outcome once run."""

    competition: str  # "" for the whole edition
    name: str
    output: Path  # what it writes
    action: Action
    needs: Tuple[Step, ...] = ()  # steps that must have succeeded
    after: Tuple[Step, ...] = ()  # steps that must have finished, whatever their outcome
    lane: str = ""  # default: the competition's lane
    slot: bool = True  # False: runs besides the ``jobs`` others
    skip: str = ""  # why it is not run at all
    status: str = ""
    seconds: float = 0.0
    note: str = ""
    started: Optional[float] = None  # time.monotonic() when its work began
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def label(self) -> str:
        return f"{self.competition} {self.name}".strip()

    @property
    def slug(self) -> str:
        """The step's name as a file name: its log is ``logs/<slug>.log``."""
        return "-".join(re.sub(r"[^A-Za-z0-9_.]+", " ", self.label).split())


def last_error(log: Path) -> str:
    """The last ``error:`` line of a log, else its last line."""
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["no output"])[-1]


def command(module: str, *arguments: object) -> Action:
    """A step's action that runs ``python -m MODULE ARGUMENTS`` with this interpreter; its output goes to the log."""
    argv = [sys.executable, "-m", module, *map(str, arguments)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(PACKAGES), os.environ.get("PYTHONPATH"))))}

    def run(log: Path) -> None:
        with log.open("w", encoding="utf-8") as stream:
            stream.write(f"$ python -m {module} {shlex.join(map(str, arguments))}\n")
            stream.flush()
            code = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT,
                                  env=environment, check=False).returncode
        if code:
            raise StepFailed(f"exit {code}: {last_error(log)}")

    return run


def _act(step: Step, log: Path) -> None:
    """Do the step's work, timed; a failure becomes its status and note."""
    start = step.started = time.monotonic()
    try:
        step.action(log)
        step.status = OK
    except StepFailed as exc:
        step.status, step.note = FAILED, str(exc)
    except Exception as exc:  # a bug of ours: the rehearsal reports it, keeps its traceback in the log, goes on
        with log.open("a", encoding="utf-8") as stream:
            stream.write(traceback.format_exc())
        step.status, step.note = FAILED, f"{type(exc).__name__}: {exc} (traceback in {log.name})"
    step.seconds = time.monotonic() - start


def _run(step: Step, logs: Path, report: Callable[[Step], None], slots: threading.Semaphore) -> None:
    for other in step.needs + step.after:
        other.finished.wait()
    failed = next((other for other in step.needs if other.status != OK), None)
    if step.skip or failed is not None:
        step.status = SKIPPED
        step.note = step.skip or f"needs {failed.label}, which {'failed' if failed.status == FAILED else 'was skipped'}"
    else:
        with slots if step.slot else contextlib.nullcontext():
            _act(step, logs / f"{step.slug}.log")
    report(step)
    step.finished.set()


def run_all(steps: Sequence[Step], logs: Path, report: Callable[[Step], None], jobs: int,
            waiting: Callable[[List[Step]], None], every: float = 30.0) -> None:
    """Run every step, each lane in its own thread and in its order, ``jobs`` steps at once (besides those that take
    no slot); ``report`` is called as each one finishes, and ``waiting`` with the steps under way every ``every``
    seconds in which none finished."""
    logs.mkdir(parents=True, exist_ok=True)
    lanes: Dict[str, List[Step]] = {}
    for step in steps:
        lanes.setdefault(step.lane or step.competition, []).append(step)
    lock, slots = threading.Lock(), threading.Semaphore(jobs)

    last = [time.monotonic()]

    def reported(step: Step) -> None:
        with lock:
            report(step)
            last[0] = time.monotonic()

    def lane(members: List[Step]) -> None:
        for step in members:
            _run(step, logs, reported, slots)

    threads = [threading.Thread(target=lane, args=(members,), daemon=True) for members in lanes.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # a short wait, so that Ctrl-C reaches the main thread
            with lock:
                running = [step for step in steps if step.started is not None and not step.finished.is_set()]
                if running and time.monotonic() - last[0] >= every:
                    waiting(running)
                    last[0] = time.monotonic()


def table(rows: Sequence[Sequence[str]], header: Sequence[str], right: Optional[Sequence[int]] = None) -> List[str]:
    """An aligned text table: the header, a rule and the rows; columns ``right`` aligned right."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [str(cell).rjust(w) if i in (right or ()) else str(cell).ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]
