"""Editions, one folder each: the 2021 edition builds, checks and scores on both platforms and its event page links
its five challenges on CodaLab; every command and make target takes the edition, whose outputs never collide; a
copied edition with its dates edited is the next one."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from bundler.bundles.build import PLATFORMS
from bundler.bundles.check import check_bundle
from bundler.cli import main
from bundler.config.competition import EDITIONS_FOLDER, ConfigError
from bundler.config.event import EVENT, load_event
from bundler.ground.editions import DEFAULT_EDITION
from bundler.platforms.worker import run_phase
from tests.helpers import REPO

EDITION_2021 = EDITIONS_FOLDER / "2021"
CODALAB_2021 = {"classification": 33214, "delftbikes": 33222, "instance-segmentation": 33340, "kinetics": 33420,
                "reidentification": 33216}  # the 2021 challenge page's links


@pytest.fixture
def checkout(tmp_path, monkeypatch) -> Path:
    """A folder holding a copy of the checkout's competitions/, made the current folder."""
    shutil.copytree(EDITIONS_FOLDER, tmp_path / "competitions")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_2021_event_lists_its_five_challenges_with_their_codalab_ids_and_its_dates():
    event = load_event(EDITION_2021 / EVENT, EDITION_2021)
    assert {c.name: c.config.platform_id for c in event.competitions} == CODALAB_2021
    assert (event.config.platform, event.config.server) == ("codalab", "https://competitions.codalab.org")
    assert [(moment.text, name) for moment, name in event.dates] == [
        ("2021-07-05", "Challenges open"), ("2021-09-24 23:59:59 UTC", "Challenges close"),
        ("2021-10-01", "Technical reports due"), ("2021-10-08", "Winners announced")]
    starts = {c.name: c.config.phases[0].start.text for c in event.competitions}
    assert starts == {**dict.fromkeys(CODALAB_2021, "2021-07-05"), "kinetics": "2021-07-30"}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("name", sorted(CODALAB_2021))
def test_each_2021_bundle_builds_for_the_edition_checks_clean_and_scores_its_sample(name, platform, tmp_path):
    bundle = tmp_path / f"{name}.zip"
    assert main(["--edition", "2021", "build", name, "--platform", platform, "--output", str(bundle)]) == 0
    assert check_bundle(bundle) == []
    with zipfile.ZipFile(bundle) as archive, zipfile.ZipFile(io.BytesIO(archive.read("starting_kit.zip"))) as kit:
        (tmp_path / "sample.zip").write_bytes(kit.read("sample_submission.zip"))
        assert "2021-07" in archive.read("competition.yaml").decode()
    trial = run_phase(bundle, tmp_path / "sample.zip", phase=1)
    assert trial.returncode == 0 and not trial.failure, trial.stderr
    assert trial.row and all(isinstance(value, float) for value in trial.row.values())


def test_the_2021_site_shows_its_five_challenges_each_linked_on_codalab(checkout, capsys):
    assert main(["--edition", "2021", "site"]) == 0
    assert "5 challenges on CodaLab, open 2021-07-05 to 2021-09-24 23:59:59 UTC" in capsys.readouterr().out
    page = (checkout / "build" / "2021" / "site" / "index.html").read_text()
    for competition in load_event(EDITION_2021 / EVENT, EDITION_2021).competitions:
        assert competition.config.title in page
    assert set(re.findall(r'href="https://competitions\.codalab\.org/competitions/(\d+)"', page)) == {
        str(number) for number in CODALAB_2021.values()}


def test_outputs_go_to_a_folder_per_edition_so_two_editions_never_collide(checkout):
    assert main(["build", "classification"]) == 0
    assert main(["--edition", "2021", "build", "classification"]) == 0
    assert main(["build", "classification", "--competitions", str(checkout / "competitions" / "2021"),
                 "--output", str(checkout / "again.zip")]) == 0
    ours, old = (checkout / "build" / edition / "classification_codabench.zip" for edition in (DEFAULT_EDITION, "2021"))
    assert ours.read_bytes() != old.read_bytes() and old.read_bytes() == (checkout / "again.zip").read_bytes()


def test_an_edition_that_is_not_there_or_two_ways_of_naming_one_is_a_usage_error(checkout, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--edition", "2030", "site"])
    assert stop.value.code == 2
    assert f"--edition 2030: no {checkout / 'competitions' / '2030' / EVENT}; the editions of " \
           f"{checkout / 'competitions'} are 2021, {DEFAULT_EDITION}" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--edition", "2021", "site", "--competitions", str(checkout / "competitions" / "2021")])
    assert "give --edition or --competitions, not both" in capsys.readouterr().err


def make(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *arguments], cwd=REPO, capture_output=True, text=True)


def test_make_takes_the_edition_and_defaults_to_the_one_the_bundler_declares():
    assert f"-m bundler --edition {DEFAULT_EDITION} build detection " in make("-n", "bundle-detection").stdout
    assert "-m bundler --edition 2021 build kinetics " in make("-n", "bundle-kinetics", "EDITION=2021").stdout
    assert "-m bundler --edition 2021 site" in make("-n", "site", "EDITION=2021").stdout
    missing = make("bundle-segmentation", "EDITION=2021")
    assert missing.returncode != 0 and "no competition segmentation in competitions/2021/ (it has: classification " \
                                       "delftbikes instance-segmentation kinetics reidentification)" in missing.stderr


def shifted(edition: Path, old: str, new: str) -> None:
    """Every date of the edition's YAML files moved from year ``old`` to year ``new``, as an organiser edits them."""
    for path in edition.rglob("*.yaml"):
        path.write_text(path.read_text().replace(f"{old}-", f"{new}-"))


def test_a_copy_of_an_edition_with_its_dates_edited_is_the_next_edition(checkout, capsys):
    shutil.copytree(checkout / "competitions" / DEFAULT_EDITION, checkout / "competitions" / "2099")
    nextyear = checkout / "competitions" / "2099"
    milestones = load_event(nextyear / EVENT, nextyear).config.milestones
    shifted(nextyear, DEFAULT_EDITION, "2099")
    assert main(["--edition", "2099", "site"]) == 0
    assert "open 2099-03-01" in capsys.readouterr().out
    page = (checkout / "build" / "2099" / "site" / "index.html").read_text()
    assert "2099-06-15" in page and f"{DEFAULT_EDITION}-" not in page
    assert main(["--edition", "2099", "build", "detection"]) == 0
    assert (checkout / "build" / "2099" / "detection_codabench.zip").is_file()
    event = (nextyear / EVENT).read_text()
    (nextyear / EVENT).write_text(event.replace(milestones[0].date.text.replace(DEFAULT_EDITION, "2099"),
                                                milestones[0].date.text))  # a date left unedited
    with pytest.raises(ConfigError) as error:
        load_event(nextyear / EVENT, nextyear)
    assert any(problem.startswith(f"{nextyear / EVENT}:") and "milestones[1]" in problem for problem in error.value.problems)
