"""``bundler rehearse``: a whole edition on generated data, every step summarised; and what it is made of.

The edition test runs the real edition at its default size, small, with one baseline (segmentation,
the cheapest) where torch is installed: about 75 s of CPU (45 s without the baseline); on 2 cores
about a minute and a half on a busy machine.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Dict

import pytest

from bundler.cli import main
from bundler.config import competition as competition_config
from bundler.config.competition import COMPETITIONS, competition_names
from bundler.config.event import load_event
from bundler.data.builder import builders
from bundler.ground.zips import zip_bytes
from bundler.rehearsal import run
from scoring.challenge import load_reference
from tests.fake_datasets import make
from tests.helpers import Run, scores_of


def rehearse(*arguments: object) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["rehearse", *map(str, arguments)])
    return Run(code, out.getvalue(), err.getvalue())


def statuses(out: Path) -> Dict[str, str]:
    """Step -> status, from the table of a rehearsal's summary.txt (step, status, seconds, output)."""
    lines = (out / "summary.txt").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("step ")) + 2
    table = lines[start:lines.index("", start)]
    return {step: status for step, status, _, _ in (line.rsplit(None, 3) for line in table)}


def test_every_competition_has_a_builder_and_so_generated_data():
    assert set(competition_names()) <= set(builders())


@pytest.mark.parametrize("name", sorted(builders()))
def test_a_labelled_submission_scores_full_marks_and_its_noise_lowers_the_score(name, tmp_path):
    _, data = make(name, tmp_path)
    reference = data / "reference" / "test"
    challenge, loaded = load_reference(reference)
    primary = challenge.primary.key
    scores = []
    for noise in (0.0, 0.5):
        submission = tmp_path / f"{noise}.zip"
        submission.write_bytes(zip_bytes(challenge.labelled_submission(loaded, noise, seed=3)))
        scores.append(scores_of(tmp_path / str(noise), reference, submission)[primary])
    assert scores[0] == pytest.approx(1.0)
    assert scores[1] < 0.9
    assert challenge.labelled_submission(loaded, 0.5, seed=3) == challenge.labelled_submission(loaded, 0.5, seed=3)


def test_the_rehearsal_runs_the_whole_edition_and_summarises_every_step(tmp_path, monkeypatch):
    """Every step of every competition; one baseline (segmentation, the cheapest) where torch is installed."""
    planned = run.Rehearsal.baseline_steps

    def segmentation_only(self, competition, made):
        steps = planned(self, competition, made)
        for step in steps:
            step.skip = step.skip or ("" if competition.name == "segmentation" else "not in this test")
        return steps

    monkeypatch.setattr(run.Rehearsal, "baseline_steps", segmentation_only)
    torch = not run.missing_baseline_modules()
    out = tmp_path / "rehearsal"
    result = rehearse("--out", out)
    assert result.code == 0, result.out + result.err
    found = statuses(out)
    edition = [competition.name for competition in load_event().competitions]
    for name in edition:
        for step in ("generated source", "data", "build codabench", "check codabench", "try codabench", "build codalab",
                     "check codalab", "try codalab", "made-up entrants", "results"):
            assert found.pop(f"{name} {step}") == "ok", (name, step)
        for step in ("baseline train", "baseline predict val", "baseline predict test"):
            assert found.pop(f"{name} {step}") == ("ok" if torch and name == "segmentation" else "skipped"), (name, step)
    assert found == {"site --rehearsal": "ok"}
    assert (out / "summary.txt").read_text() in result.out
    for name in edition:
        ranked = json.loads((out / "results" / name / "results.json").read_text())["entries"]
        assert ranked[0]["entrant"] == "perfect"
        assert {entry["entrant"] for entry in ranked if entry["error"]} == {"empty", "broken"}
        assert ("baseline" in {entry["entrant"] for entry in ranked}) == (torch and name == "segmentation")
    page = (out / "site" / "index.html").read_text()
    assert "rehearsal" in page.lower() and "perfect" in page


@pytest.fixture
def extra(tmp_path):
    """A competitions folder whose event lists one more competition, ``extra``, that has no generated data."""
    folder = tmp_path / "competitions"
    shutil.copytree(COMPETITIONS, folder, ignore=shutil.ignore_patterns("splits"))
    shutil.copytree(folder / "classification", folder / "extra")
    event = folder / "event.yaml"
    event.write_text(event.read_text().replace("  - classification\n", "  - classification\n  - extra\n"))
    return folder


def test_a_failing_step_is_reported_and_the_steps_that_do_not_need_it_still_run(extra, tmp_path, monkeypatch):
    monkeypatch.setattr(run, "missing_baseline_modules", lambda: ["torch"])
    result = rehearse("--competitions", extra, "--out", tmp_path / "out", "--only", "extra")
    assert result.code == 1
    found = statuses(tmp_path / "out")
    assert found.pop("extra generated source") == "FAILED"
    assert found.pop("site --rehearsal") == "ok"
    assert set(found.values()) == {"skipped"}
    assert "extra generated source: no generated data for extra" in result.out
    assert "extra data: needs extra generated source, which failed" in result.out
    assert "note: the baselines are skipped (torch not installed" in result.out
    assert "extra baseline train and 2 more steps: torch not installed" in result.out
    assert competition_config.COMPETITIONS == COMPETITIONS  # --competitions held for the command alone


def test_a_folder_the_rehearsal_did_not_make_is_refused_and_its_own_is_replaced(extra, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    result = rehearse("--competitions", extra, "--out", tmp_path, "--only", "extra")
    assert result.code == 2
    assert result.err.startswith("error: --out ") and "not made by a rehearsal" in result.err
    assert (tmp_path / "mine.txt").read_text() == "keep me"
    out = tmp_path / "out"
    assert rehearse("--competitions", extra, "--out", out, "--only", "extra", "--no-baselines").code == 1
    (out / "left-over.txt").write_text("from the first rehearsal")
    assert rehearse("--competitions", extra, "--out", out, "--only", "extra", "--no-baselines").code == 1
    assert not (out / "left-over.txt").exists() and (out / "summary.txt").is_file()
