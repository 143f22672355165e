"""Codabench (version 2) bundles: the same source YAML, Codabench's rules, its worker's layout."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import yaml

from bundler.bundles.build import build, default_output
from bundler.config.competition import load_competition
from bundler.platforms.check import check_bundle
from bundler.platforms.worker import run_phase
from tests.helpers import write_zip
from tests.test_bundler import copy_competition, edit, problems_of


def bundle_config(bundle: Path) -> dict:
    with zipfile.ZipFile(bundle) as archive:
        return yaml.safe_load(archive.read("competition.yaml"))


def test_a_codabench_bundle_is_version_2_with_one_task_per_phase_and_sequential_dates(tmp_path):
    competition = load_competition("detection")
    config = bundle_config(build(competition, tmp_path / "b.zip", platform="codabench").path)
    assert config["version"] == 2
    assert config["image"] == "logo.png" and config["terms"] == "terms.html"
    assert config["docker_image"] == competition.docker_image
    assert [page["title"] for page in config["pages"]] == ["Overview", "Evaluation", "Terms", "Data"]
    assert [(t["index"], t["reference_data"]) for t in config["tasks"]] == [(0, "reference_data_1.zip"),
                                                                            (1, "reference_data_2.zip")]
    development, test = config["phases"]
    assert development["tasks"] == [0] and test["tasks"] == [1]
    assert str(development["start"]) == "2027-03-01 00:00:00" and str(development["end"]) == "2027-05-14 23:59:59"
    assert test["start"] > development["end"] and str(test["end"]) == "2027-06-15 00:00:00"
    columns = config["leaderboards"][0]["columns"]
    assert [c["key"] for c in columns] == [c.key for c in competition.challenge.columns]
    assert columns[0] == {"title": "AP", "key": "AP", "index": 0, "sorting": "desc", "precision": 4}


def test_an_explicit_end_and_a_time_zone_are_written_in_utc(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "    start: 2027-03-01\n", "    start: 2027-03-01T10:00:00+02:00\n    end: 2027-04-30T23:00:00Z\n")
    config = bundle_config(build(load_competition("action", folder), tmp_path / "b.zip", platform="codabench").path)
    assert str(config["phases"][0]["start"]) == "2027-03-01 08:00:00"
    assert str(config["phases"][0]["end"]) == "2027-04-30 23:00:00"


def test_a_phase_ending_when_the_next_starts_is_refused_because_codabench_needs_a_gap(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "    start: 2027-03-01\n", "    start: 2027-03-01\n    end: 2027-05-15\n")
    assert any("phases[1].end (2027-05-15) must be before the next phase's start" in p for p in problems_of(folder))


def test_the_default_output_names_the_platform():
    assert default_output("detection", "codalab").name == "detection_bundle.zip"
    assert default_output("detection", "codabench").name == "detection_codabench_bundle.zip"


def test_check_applies_codabench_rules_to_a_version_2_bundle(tmp_path):
    config = {
        "version": 2, "title": "t", "image": "missing.png", "terms": "terms.html", "colour": "red",
        "pages": [{"title": "Overview", "file": "overview.html"}],
        "tasks": [{"index": 0, "scoring_program": "program.zip"}, {"index": 0, "scoring_program": "gone.zip"}],
        "phases": [{"index": 0, "name": "A", "start": "2027-01-01", "tasks": [0]},
                   {"index": 1, "name": "B", "start": "2027-01-01", "end": "2026-12-01", "tasks": [7]}],
        "leaderboards": [{"index": 0, "title": "R", "key": "R",
                          "columns": [{"title": "x", "key": "x", "index": 0, "sorting": "up"},
                                      {"title": "y", "key": "x", "index": 1, "precision": "four"}]}],
    }
    program = write_zip(tmp_path / "program.zip", {"metadata.yaml": "description: no command\\n"}).read_bytes()
    bundle = write_zip(tmp_path / "b.zip", {"competition.yaml": yaml.safe_dump(config), "terms.html": "  ",
                                            "overview.html": "<p>hi</p>", "program.zip": program})
    problems = "\n".join(check_bundle(bundle))
    for fragment in ["unknown top-level key 'colour'", "image: required, a logo file in the bundle",
                     "terms: 'terms.html' is empty", "tasks[1].index: required, a number unique",
                     "tasks[1].scoring_program: 'gone.zip' is not in the bundle", "has no 'command:'",
                     "phases[0].end: required on every phase but the last", "phases[1].end: must be after its start",
                     "phases[1].tasks: required, a list of task indexes", "columns[0].sorting: asc or desc",
                     "columns[1].key: 'x' is used twice", "columns[1].precision: a whole number of digits"]:
        assert fragment in problems, fragment
    assert "exactly one .yaml member" not in problems  # a CodaLab rule


def test_try_runs_a_version_2_bundle_in_the_codabench_layout_and_reads_scores_json(tmp_path):
    script = (
        "import json, os, sys\n"
        "program, inp, out = sys.argv[1:4]\n"
        "assert program.endswith('app/program') and inp.endswith('app/input') and out.endswith('app/output')\n"
        "assert os.listdir(os.path.join(inp, 'ref')) == ['truth.txt'] and os.listdir(os.path.join(inp, 'res'))\n"
        "open(os.path.join(out, 'scores.json'), 'w').write(json.dumps({'acc': 0.5, 'extra': 3}))\n"
    )
    program = write_zip(tmp_path / "p.zip", {"metadata.yaml": "command: python3 $program/run.py $program $input $output\n",
                                             "run.py": script}).read_bytes()
    reference = write_zip(tmp_path / "r.zip", {"truth.txt": "1"}).read_bytes()
    config = {"version": 2, "title": "t", "image": "logo.png", "terms": "terms.html",
              "tasks": [{"index": 0, "scoring_program": "p.zip", "reference_data": "r.zip"}],
              "phases": [{"index": 0, "name": "A", "start": "2027-01-01", "tasks": [0]}],
              "leaderboards": [{"index": 0, "title": "R", "key": "R",
                                "columns": [{"title": "Accuracy", "key": "acc", "index": 0}]}]}
    bundle = write_zip(tmp_path / "b.zip", {"competition.yaml": yaml.safe_dump(config), "p.zip": program,
                                            "r.zip": reference, "logo.png": b"png", "terms.html": "terms"})
    assert check_bundle(bundle) == []
    trial = run_phase(bundle, write_zip(tmp_path / "s.zip", {"answer.txt": "1"}))
    assert trial.failure == "" and trial.returncode == 0, trial.stderr
    assert trial.platform == "Codabench" and trial.row == {"Accuracy": 0.5}


@pytest.mark.parametrize("phase", [0, 3])
def test_try_refuses_a_phase_the_bundle_does_not_have(tmp_path, phase):
    bundle = build(load_competition("action"), tmp_path / "b.zip", platform="codabench").path
    with pytest.raises(ValueError, match="no phase .*: the phases are 1 \\(Development\\), 2 \\(Test\\)"):
        run_phase(bundle, tmp_path / "unused.zip", phase=phase)
