"""``bundler rehearse``: a whole edition on generated data, every command an organiser runs, in a folder of its own.

For every competition of the edition (``competitions:`` of event.yaml): its data builder's generated
example source (``DatasetBuilder.example_source``), ``bundler data``, a bundle per platform built with ``--data``,
``check``, ``try`` with the starting kit's sample submission, a baseline trained for one epoch at its
smallest settings that predicts val and test, made-up entrants (perfect, noisy, empty, broken) and
``bundler results`` on the last phase; then the event page with those results, marked as a rehearsal.
Each command runs as its own process, as typed on the command line, its output in ``logs/``; the
baselines, most of the time, run beside the rest. A failed step is reported and what does not need it
goes on; the summary table lists every step.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bundler.bundles.build import PLATFORMS, default_output
from bundler.config.competition import Competition
from bundler.data.builder import builders
from bundler.ground.layout import STARTING_KIT
from bundler.ground.zips import zip_bytes
from bundler.rehearsal.steps import FAILED, OK, SKIPPED, Action, Step, StepFailed, command, run_all, table
from scoring.challenge import load_reference
from scoring.files import write_atomically

#: --size: the scale of the example sources, how many times the smallest (4: the largest every one of them allows)
SIZES = {"small": 1, "medium": 2, "large": 4}
DEFAULT_SIZE = "small"
SEED = 2027  # of `bundler data --seed`
MARKER = "rehearsal.json"  # in a folder this command made (and may replace)
#: the made-up entrants: a share of the test labels replaced at random, or a submission that cannot be scored
NOISE = {"perfect": 0.0, "noisy": 0.25}
BROKEN = ("empty", "broken")
ON_CPU = ("--device", "cpu", "--workers", "0")  # data loaded in the process: the other steps need the other cores
BASELINE_MODULES = ("torch", "torchvision", "av")


class RehearsalError(Exception):
    """The rehearsal cannot start (its folder is taken); one line."""


def missing_baseline_modules() -> List[str]:
    """The modules of the baselines extra that are not installed."""
    return [name for name in BASELINE_MODULES if importlib.util.find_spec(name) is None]


def made_up_entrants(reference: Path, folder: Path, seed: int = 0) -> List[Path]:
    """Write the made-up entrants' submission zips, named after them, from a labelled reference."""
    challenge, loaded = load_reference(reference)
    zips = {entrant: zip_bytes(challenge.labelled_submission(loaded, noise, seed)) for entrant, noise in NOISE.items()}
    zips.update(zip(BROKEN, (zip_bytes({}), zips["perfect"][: len(zips["perfect"]) // 2])))  # no file; a zip cut in half
    for entrant, data in zips.items():
        write_atomically(folder / f"{entrant}.zip", data)
    return [folder / f"{entrant}.zip" for entrant in zips]


def sample_submission(bundle: Path, target: Path) -> None:
    """Copy the sample submission of a bundle's starting kit to ``target``."""
    with zipfile.ZipFile(bundle) as outer, zipfile.ZipFile(io.BytesIO(outer.read(STARTING_KIT))) as kit:
        write_atomically(target, kit.read("sample_submission.zip"))


@dataclass
class Rehearsal:
    """The plan of one rehearsal: which competitions, where, how large, with or without the baselines."""

    competitions: List[Competition]
    out: Path
    size: str = DEFAULT_SIZE
    why_no_baselines: str = ""  # "" : the baselines run

    @property
    def baselines(self) -> bool:
        """Whether the baselines train and predict."""
        return not self.why_no_baselines

    def bundler(self, *arguments: object) -> Action:
        """``python -m bundler --competitions <the edition's folder> ARGUMENTS``."""
        return command("bundler", "--competitions", self.competitions[0].folder.parent, *arguments)

    def steps(self) -> List[Step]:
        """Every step, in the order of the summary."""
        steps: List[Step] = []
        results: List[Tuple[str, Step]] = []
        for competition in self.competitions:
            mine = self.competition_steps(competition)
            steps += mine
            results.append((competition.name, mine[-1]))
        steps.append(Step("", "site --rehearsal", self.out / "site" / "index.html", self.site_action(results),
                          after=tuple(step for _, step in results)))
        return steps

    def competition_steps(self, competition: Competition) -> List[Step]:
        """One competition's steps, from its generated source to its results."""
        name, out = competition.name, self.out
        source, data, entrants = out / "source" / name, out / "data" / name, out / "submissions" / name
        builder = builders().get(name)
        scale = SIZES[self.size]

        def generate(log: Path) -> None:
            if builder is None:
                raise StepFailed(f"no generated data for {name}: it has no data builder (bundler/data/)")
            builder.example_source(source, scale)

        steps = [Step(name, "generated source", source, generate)]
        sizes = [f"--size={split}={n}" for split, n in (builder.example_sizes(scale) if builder else {}).items()]
        steps.append(Step(name, "data", data, self.bundler("data", name, "--source", source, "--out", data, "--seed", SEED,
                                                           *sizes), needs=(steps[0],)))
        made = steps[-1]
        for platform in PLATFORMS:
            bundle = out / "bundles" / default_output(name, platform).name
            built = Step(name, f"build {platform}", bundle,
                         self.bundler("build", name, "--platform", platform, "--data", data, "--output", bundle), needs=(made,))
            checked = Step(name, f"check {platform}", bundle, self.bundler("check", bundle), needs=(built,))
            sample = out / "bundles" / f"{bundle.stem}_sample_submission.zip"
            steps += [built, checked, Step(name, f"try {platform}", sample, self.try_action(bundle, sample), needs=(built,))]
        test = data / "reference" / "test"
        made_up = Step(name, "made-up entrants", entrants, lambda log: log.write_text(
            "".join(f"{path}\n" for path in made_up_entrants(test, entrants))), needs=(made,))
        baseline = self.baseline_steps(competition, made)
        ranked = Step(name, "results", out / "results" / name / "results.html",
                      self.bundler("results", name, "--submissions", entrants, "--data", data, "--output",
                                   out / "results" / name), needs=(made_up,), after=tuple(baseline))
        return [*steps, made_up, *baseline, ranked]

    def baseline_steps(self, competition: Competition, made: Step) -> List[Step]:
        """Train for one epoch on the public data ``made`` wrote, then predict val and test (the entrant "baseline")."""
        name, task, public = competition.name, competition.challenge.task, self.out / "data" / competition.name / "public"
        run = self.out / "runs" / name
        skip = self.why_no_baselines
        train = Step(name, "baseline train", run, command(
            "baselines", "train", task, "--data", public, "--out", run, "--epochs", 1, "--smoke", *ON_CPU, "--seed", 0),
            needs=(made,), lane="baselines", slot=False, skip=skip)
        predictions = [Step(name, f"baseline predict {split}", target, command(
            "baselines", "predict", task, "--data", public, "--run", run, "--split", split, "--output", target, *ON_CPU),
            needs=(train,), lane="baselines", slot=False, skip=skip)
            for split, target in (("val", run / "val.zip"), ("test", self.out / "submissions" / name / "baseline.zip"))]
        return [train, *predictions]

    def try_action(self, bundle: Path, sample: Path) -> Action:
        """Take the sample submission out of the bundle's starting kit and ``try`` it on the first phase."""
        trial = self.bundler("try", bundle, sample, "--phase", 1)

        def run(log: Path) -> None:
            sample_submission(bundle, sample)
            trial(log)

        return run

    def site_action(self, results: List[Tuple[str, Step]]) -> Action:
        """``site --rehearsal``, publishing the results of every competition whose results step succeeded."""
        def run(log: Path) -> None:
            published = [f"--publish={name}={step.output.parent}" for name, step in results if step.status == OK]
            self.bundler("site", "--output", self.out / "site", "--rehearsal", *published)(log)

        return run


def prepare(out: Path) -> None:
    """Claim ``out``: a new or empty folder, or one a rehearsal made (replaced whole); else RehearsalError."""
    if out.exists() and not out.is_dir():
        raise RehearsalError(f"--out {out}: not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise RehearsalError(f"--out {out}: not empty, and not made by a rehearsal; choose another folder")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def rehearse(competitions: List[Competition], out: Path, size: str = DEFAULT_SIZE, baselines: bool = True,
             jobs: int = 2) -> List[Step]:
    """Run the rehearsal into ``out``, ``jobs`` steps at once, printing each step as it finishes and the summary."""
    start = time.monotonic()
    missing = missing_baseline_modules() if baselines else []
    why = "--no-baselines" if not baselines else (
        f"{', '.join(missing)} not installed: 'make baselines' installs the baselines extra" if missing else "")
    plan = Rehearsal(competitions, out.resolve(), size, why)
    prepare(plan.out)
    (plan.out / MARKER).write_text(json.dumps({"competitions": [c.name for c in competitions], "size": size,
                                               "baselines": plan.baselines}) + "\n")
    steps = plan.steps()
    print(f"rehearsing {len(competitions)} competition(s) ({', '.join(c.name for c in competitions)}) at size {size} "
          f"in {plan.out}; {len(steps)} steps")
    if why:
        print(f"note: the baselines are skipped ({why}); the made-up entrants are still scored")
    else:
        print("the baselines train beside the other steps (most of the time); each command's output is in logs/")
    done = [0]

    def report(step: Step) -> None:
        done[0] += 1
        seconds = f"{step.seconds:6.1f} s" if step.status != SKIPPED else " " * 8
        note = f"  {step.note}" if step.note else ""
        print(f"[{done[0]:>{len(str(len(steps)))}}/{len(steps)}] {step.status:<7} {seconds}  {step.label}{note}",
              flush=True)

    def waiting(running: List[Step]) -> None:
        now = time.monotonic()
        print(f"        under way: {', '.join(f'{step.label} ({now - (step.started or now):.0f} s)' for step in running)}",
              flush=True)

    run_all(steps, plan.out / "logs", report, jobs, waiting)
    lines = summary(steps, plan.out, time.monotonic() - start)
    (plan.out / "summary.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n" + "\n".join(lines))
    return steps


def _shown(path: Path, out: Path) -> str:
    try:
        return path.relative_to(out).as_posix() + ("/" if path.is_dir() else "")
    except ValueError:
        return str(path)


def summary(steps: List[Step], out: Path, seconds: float) -> List[str]:
    """The summary: one row per step (step, status, seconds, output), then why any step failed or was skipped."""
    rows = [(step.label, step.status, f"{step.seconds:.1f}" if step.status != SKIPPED else "-",
             _shown(out / "logs" / f"{step.slug}.log" if step.status == FAILED else step.output, out)) for step in steps]
    counts = {status: sum(step.status == status for step in steps) for status in (OK, FAILED, SKIPPED)}
    lines = [f"rehearsal in {out}: {counts[OK]} ok, {counts[FAILED]} failed, {counts[SKIPPED]} skipped; "
             f"{seconds:.0f} s ({sum(step.seconds for step in steps):.0f} s of steps, side by side)", ""]
    lines += table(rows, ("step", "status", "seconds", "output"), right=(2,))
    why: Dict[str, List[str]] = {}
    for step in steps:
        if step.status != OK and step.note:
            why.setdefault(step.note, []).append(step.label)
    if why:
        lines += ["", "why:"]
        lines += [f"  {', '.join(labels) if len(labels) < 3 else f'{labels[0]} and {len(labels) - 1} more steps'}: {note}"
                  for note, labels in why.items()]
    site = out / "site" / "index.html"
    if site.is_file():
        lines += ["", f"open {site} to see the event page with the rehearsal's results"]
    return lines


def exit_code(steps: List[Step]) -> int:
    """0 if no step failed, else 1."""
    return 1 if any(step.status == FAILED for step in steps) else 0


def chosen(names: Optional[List[str]], listed: List[Competition]) -> List[Competition]:
    """The competitions of the edition to rehearse (all of them by default)."""
    if not names:
        return listed
    by_name = {competition.name: competition for competition in listed}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise RehearsalError(f"--only {unknown[0]}: not a competition of the edition ({', '.join(by_name)})")
    return [by_name[name] for name in dict.fromkeys(names)]
