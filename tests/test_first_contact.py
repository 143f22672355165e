"""What a newcomer meets first: help texts, phases by number or name, demo warnings, template mistakes, the try row."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bundler.bundles.build import build
from bundler.cli import _parser, main
from bundler.config.competition import COMPETITIONS, ConfigError, load_competition
from tests.fake_datasets import make
from tests.helpers import REPO

SUBCOMMANDS = sorted(_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def action_bundle(tmp_path_factory) -> Path:
    return build(load_competition("action"), tmp_path_factory.mktemp("bundle") / "action.zip").path


def sample_of(bundle: Path, folder: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive, zipfile.ZipFile(io.BytesIO(archive.read("starting_kit.zip"))) as kit:
        (folder / "sample.zip").write_bytes(kit.read("sample_submission.zip"))
    return folder / "sample.zip"


@pytest.mark.parametrize("words", [["--help"], ["-h"], *([name, "--help"] for name in SUBCOMMANDS)])
def test_the_help_of_the_program_and_of_every_subcommand_prints_and_exits_zero(words, capsys):
    with pytest.raises(SystemExit) as exit:
        main(words)
    assert exit.value.code == 0 and "usage:" in capsys.readouterr().out


def test_the_scoring_programs_help_prints_and_exits_zero():
    done = subprocess.run([sys.executable, str(REPO / "scoring" / "score.py"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "platform mode" in done.stdout and not done.stderr


def test_try_takes_a_phase_by_number_or_name_and_an_unknown_one_is_one_error_line(action_bundle, tmp_path, capsys):
    sample = sample_of(action_bundle, tmp_path)
    assert main(["try", str(action_bundle), str(sample), "--phase", "3"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: {action_bundle}: no phase '3': the phases are 1 (Development), 2 (Test); "
                                        "give a number or a name"]
    assert main(["try", str(action_bundle), str(sample), "--phase", "test"]) == 0
    by_name = capsys.readouterr().out
    assert main(["try", str(action_bundle), str(sample), "--phase", "2"]) == 0
    assert capsys.readouterr().out == by_name


def test_try_prints_the_leaderboard_row_once(action_bundle, tmp_path, capsys):
    assert main(["try", str(action_bundle), str(sample_of(action_bundle, tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.count("Mean class accuracy top-1") == 1 and "leaderboard row (Codabench worker):" in out


def test_results_takes_a_phase_by_name_and_refuses_an_unknown_one_naming_the_phases(tmp_path, capsys):
    _, data = make("action", tmp_path)
    (tmp_path / "subs").mkdir()
    shutil.copy(data / "reference" / "test" / "labels.txt", tmp_path / "labels.txt")
    with zipfile.ZipFile(tmp_path / "subs" / "perfect.zip", "w") as archive:
        archive.write(tmp_path / "labels.txt", "p.txt")
    common = ["results", "action", "--submissions", str(tmp_path / "subs"), "--data", str(data), "--bootstrap", "10",
              "--workers", "1", "--output", str(tmp_path / "out")]
    assert main(common + ["--phase", "Test"]) == 0 and "phase 2 (Test)" in capsys.readouterr().out
    assert main(common + ["--phase", "Final"]) == 1
    assert "action: no phase 'Final': the phases are 1 (Development), 2 (Test)" in capsys.readouterr().err


def test_check_passes_a_demo_bundle_with_a_warning_naming_data(action_bundle, capsys):
    assert main(["check", str(action_bundle)]) == 0
    out = capsys.readouterr().out
    assert "warning: reference_data_1.zip holds DEMO data" in out and "--data DIR" in out and "no problems found" in out


def test_the_demo_warning_and_banner_name_data_beside_reference(tmp_path, capsys):
    assert main(["build", "action", "--output", str(tmp_path / "b.zip")]) == 0
    assert "--data DIR" in capsys.readouterr().err
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        overview = archive.read("overview.html").decode()
    assert "<code>--data</code>" in overview and "<code>--reference</code>" in overview


def test_preview_takes_data_and_reference_as_build_does(tmp_path, capsys):
    _, data = make("action", tmp_path)
    assert main(["preview", "action", "--data", str(data), "--output", str(tmp_path / "p")]) == 0
    index = (tmp_path / "p" / "index.html").read_text()
    assert "demo data" not in index and str(data / "reference" / "test") in index
    clips = json.loads((data / "manifest.json").read_text())["counts"]["test"]["total"]
    assert f"without labels ({clips} clips" in (tmp_path / "p" / "data.html").read_text()
    assert main(["preview", "action", "--reference", f"Test={data / 'reference' / 'test'}", "--output",
                 str(tmp_path / "q")]) == 0
    index = (tmp_path / "q" / "index.html").read_text()
    assert index.count("demo data") == 1 and str(data / "reference" / "test") in index
    assert main(["preview", "action", "--reference", f"3={data}", "--output", str(tmp_path / "r")]) == 1
    assert "no phase '3'" in capsys.readouterr().err


def copy_competitions(tmp_path: Path) -> Path:
    folder = tmp_path / "competitions" / COMPETITIONS.name
    shutil.copytree(COMPETITIONS / "action", folder / "action")
    shutil.copytree(COMPETITIONS.parent / "_shared", folder.parent / "_shared")
    return folder


def test_the_data_command_reads_the_split_lists_of_the_competitions_folder_it_is_given(tmp_path, capsys):
    folder = tmp_path / "competitions"
    shutil.copytree(COMPETITIONS, folder, ignore=shutil.ignore_patterns("splits"))
    (tmp_path / "source").mkdir()
    assert main(["--competitions", str(folder), "data", "classification", "--source", str(tmp_path / "source"),
                 "--out", str(tmp_path / "out"), "--splits", "vipriors-2020"]) == 1
    assert f"{folder / 'classification' / 'splits' / 'vipriors-2020'}" in capsys.readouterr().err


@pytest.mark.parametrize("page, old, new, expected", [
    ("pages/overview.html", "{% block overview %}", "{% block overview %}\n<p>{{ config.titel }}</p>",
     "template error: the config has no 'titel'; did you mean 'title'?"),
    ("pages/overview.html", "{% block overview %}", "{% block overview %}\n<p>{{ challeng.title }}</p>",
     "template error: 'challeng' is undefined; did you mean 'challenge'?"),
    ("pages/overview.html", "{% block overview %}", "{% block overview %}\n<p>{{ config.title }</p>",
     "template error: unexpected '}'"),
])
def test_a_mistake_in_a_page_template_is_reported_at_its_file_and_line(tmp_path, page, old, new, expected):
    folder = copy_competitions(tmp_path) / "action"
    path = folder / page
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    line = path.read_text().splitlines().index(new.splitlines()[1]) + 1
    with pytest.raises(ConfigError) as error:
        build(load_competition("action", folder), tmp_path / "b.zip")
    assert error.value.problems == [f"{path}:{line}: {expected}"]
    assert not (tmp_path / "b.zip").exists()
