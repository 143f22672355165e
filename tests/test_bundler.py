"""The bundler: four competitions build, check clean and score; validation; determinism; safety."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from bundler.bundles.build import build
from bundler.bundles.check import check_bundle
from bundler.cli import main
from bundler.config.competition import COMPETITIONS, ConfigError, competition_names, load_competition
from bundler.platforms.worker import run_phase
from scoring.challenge import challenges, load_reference
from scoring.cli import score_submission
from tests.helpers import write_zip

NAMES = competition_names()


def sample_submission(bundle: Path, folder: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        kit = zipfile.ZipFile(io.BytesIO(archive.read("starting_kit.zip")))
    target = folder / "sample_submission.zip"
    target.write_bytes(kit.read("sample_submission.zip"))
    return target


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bundles")
    return {name: build(load_competition(name), folder / f"{name}.zip", platform="codalab").path for name in NAMES}


@pytest.fixture(scope="module")
def codabench_bundles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("codabench")
    return {name: build(load_competition(name), folder / f"{name}.zip", platform="codabench").path for name in NAMES}


@pytest.mark.parametrize("platform", ["codalab", "codabench"])
@pytest.mark.parametrize("name", NAMES)
def test_each_competition_builds_checks_clean_and_scores_its_sample_in_every_column(request, platform, name, tmp_path):
    bundle = request.getfixturevalue("bundles" if platform == "codalab" else "codabench_bundles")[name]
    assert check_bundle(bundle) == []
    trial = run_phase(bundle, sample_submission(bundle, tmp_path), phase=1)
    assert trial.returncode == 0 and not trial.failure, trial.stderr
    columns = challenges()[load_competition(name).config.challenge].columns
    assert list(trial.row) == [c.label for c in columns]
    assert all(isinstance(value, float) for value in trial.row.values())
    assert trial.dropped == []


def test_the_bundle_has_one_yaml_and_columns_from_the_scoring_module_primary_first(bundles):
    with zipfile.ZipFile(bundles["detection"]) as archive:
        assert [n for n in archive.namelist() if ".yaml" in n] == ["competition.yaml"]
        config = yaml.full_load(archive.read("competition.yaml"))
        program = zipfile.ZipFile(io.BytesIO(archive.read("scoring_program.zip")))
        assert yaml.safe_load(program.read("metadata"))["command"] == "python3 $program/scoring/score.py $input $output"
        assert "scoring/metrics/cocoeval.py" in program.namelist()
    columns = config["leaderboard"]["columns"]
    assert list(columns)[0] == "AP" and columns["AP"]["rank"] == 1
    assert columns["AP"]["leaderboard"] is config["leaderboard"]["leaderboards"]["RESULTS"]


def test_two_builds_are_byte_identical(tmp_path):
    competition = load_competition("action")
    first = build(competition, tmp_path / "a.zip").path.read_bytes()
    second = build(load_competition("action"), tmp_path / "b.zip").path.read_bytes()
    assert first == second


def test_demo_data_is_announced_on_the_overview_page_and_real_reference_data_is_not(tmp_path, capsys):
    competition = load_competition("action")
    demo = build(competition, tmp_path / "demo.zip")
    assert demo.demo_phases == ["Development", "Test"]
    assert "DEMO data" in capsys.readouterr().err
    with zipfile.ZipFile(demo.path) as archive:
        assert "Demo data." in archive.read("overview.html").decode()
    reference = tmp_path / "private_ref"
    competition.challenge.write_demo_reference(reference, 1)
    real = build(competition, tmp_path / "real.zip", {"1": reference, "Test": reference})
    assert real.demo_phases == []
    with zipfile.ZipFile(real.path) as archive:
        assert "Demo data." not in archive.read("overview.html").decode()
        inner = zipfile.ZipFile(io.BytesIO(archive.read("reference_data_2.zip")))
        assert inner.read("labels.txt") == (reference / "labels.txt").read_bytes()


def copy_competition(tmp_path: Path, name: str = "action") -> Path:
    folder = tmp_path / name
    shutil.copytree(COMPETITIONS / name, folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "competition.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def problems_of(folder: Path):
    with pytest.raises(ConfigError) as exc:
        load_competition(folder.name, folder)
    return exc.value.problems


def test_every_error_is_reported_at_once_with_file_and_line(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "allow_teams: true", "alow_teams: true")
    edit(folder, "logo: logo.png", "logo: missing.png")
    edit(folder, "max_submissions: 100", "max_submissions: 0")
    edit(folder, "start: 2027-05-15", "start: 2027-02-01")
    edit(folder, "end_date: 2027-06-15", "end_date: 2027-01-15")
    problems = problems_of(folder)
    text = "\n".join(problems)
    path = str(folder / "competition.yaml")
    lines = folder.joinpath("competition.yaml").read_text().splitlines()

    def line_of(fragment):
        return next(i for i, line in enumerate(lines, 1) if fragment in line)

    assert f"{path}:{line_of('alow_teams')}: unknown key 'alow_teams'; did you mean 'allow_teams'?" in text
    assert f"{path}:{line_of('logo:')}: logo: file 'missing.png' not found" in text
    assert f"{path}:{line_of('max_submissions: 0')}: phases[1].max_submissions: must be at least 1, found 0" in text
    expected = "phases[2].start (2027-02-01) must be after phases[1].start (2027-03-01)"
    assert f"{path}:{line_of('start: 2027-02-01')}: {expected}" in text
    assert f"{path}:{line_of('end_date')}: end_date (2027-01-15 23:59:59 UTC) must be after the last phase's start" in text
    assert len(problems) == 5


def test_end_dates_titles_pages_and_challenge_names_are_checked(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "    start: 2027-03-01\n", "    start: 2027-03-01\n    end: 2027-02-01\n")
    edit(folder, "title: VIPriors Action Recognition Challenge", "title: " + "x" * 101)
    edit(folder, "  data: pages/data.html\n", "")
    edit(folder, "challenge: action", "challenge: actoin")
    text = "\n".join(problems_of(folder))
    assert "phases[1].end (2027-02-01 23:59:59 UTC) must be after its start (2027-03-01)" in text
    assert "title: 101 characters, the platform accepts at most 100" in text
    assert "pages.data is required" in text
    assert "'actoin' is not one of" in text and "did you mean 'action'?" in text


def test_reference_data_inside_the_repository_is_refused(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "    # reference: /path/outside/the/repo/action-test-reference",
         f"    reference: {COMPETITIONS}")
    assert any("inside the repository" in p for p in problems_of(folder))


def test_phase_dates_reach_the_bundle_and_the_pages_as_utc_instants(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "start: 2027-05-15", "start: 2027-05-15T11:30:00+02:00")
    built = build(load_competition("action", folder), tmp_path / "b.zip", platform="codalab")
    with zipfile.ZipFile(built.path) as archive:
        text = archive.read("competition.yaml").decode()
        overview = archive.read("overview.html").decode()
    assert '    start_date: "2027-03-01 00:00:00"\n' in text and '    start_date: "2027-05-15 09:30:00"\n' in text
    assert 'end_date: "2027-06-15 23:59:59"\n' in text
    assert "2027-05-15 09:30 UTC" in overview and "11:30" not in overview
    assert "2027-05-15 09:29:59 UTC" in overview and "2027-06-15 23:59:59 UTC" in overview  # the ends, as stored


def test_a_time_without_a_zone_is_an_error_at_its_line(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "start: 2027-05-15", "start: 2027-05-15 12:00")
    line = (folder / "competition.yaml").read_text().splitlines().index("    start: 2027-05-15 12:00") + 1
    assert problems_of(folder) == [f"{folder / 'competition.yaml'}:{line}: phases[2].start: '2027-05-15 12:00' has a time "
                                   "but no time zone: write 2027-05-15T12:00Z for UTC, or an offset such as +02:00 (a date "
                                   "alone means 00:00 UTC)"]


def test_an_invalid_config_writes_nothing_and_leaves_an_existing_bundle_untouched(tmp_path, capsys):
    folder = copy_competition(tmp_path)
    output = tmp_path / "out.zip"
    output.write_bytes(b"previous bundle")
    edit(folder, "max_submissions: 100", "max_submissions: -3")
    assert main(["--competitions", str(tmp_path), "build", "action", "--output", str(output)]) == 1
    assert output.read_bytes() == b"previous bundle"
    err = capsys.readouterr().err
    assert "competition.yaml:" in err and "must be at least 1" in err and "nothing was written" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build", "action", "--reference", "no-equals-sign"])
    assert exc.value.code == 2


def test_check_reports_what_codalab_would_refuse(tmp_path):
    config = {
        "title": "t", "unknown_thing": 1, "html": {"overview": "o.html"},
        "phases": {1: {"phasenumber": 1, "start_date": "soon", "scoring_program": "p.zip", "colour": "red"}},
        "leaderboard": {"leaderboards": {"R": {"label": "R"}}, "columns": {"x" * 51: {"leaderboard": {"label": "other"}}}},
    }
    bundle = write_zip(tmp_path / "b.zip", {"competition.yaml": yaml.safe_dump(config), "extra.yaml": "a: 1"})
    problems = "\n".join(check_bundle(bundle))
    for fragment in ["exactly one .yaml member", "unknown top-level key 'unknown_thing'", "html.terms: required",
                     "html.overview: 'o.html' is not in the bundle", "reference_data is required",
                     "unknown key 'colour'", "start_date: expected a date", "'p.zip' is not in the bundle",
                     "keys are at most 50 characters", "its leaderboard is not one of"]:
        assert fragment in problems, fragment


def test_try_names_the_columns_that_would_stay_empty(bundles, tmp_path, capsys):
    bundle = tmp_path / "renamed.zip"
    with zipfile.ZipFile(bundles["action"]) as source, zipfile.ZipFile(bundle, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "competition.yaml":
                data = data.replace(b"    mca_top3:", b"    mca_top_3:")
            target.writestr(item, data)
    code = main(["try", str(bundle), str(sample_submission(bundles["action"], tmp_path))])
    out = capsys.readouterr().out
    assert code == 1
    assert "columns that would stay empty: Mean class accuracy top-3" in out
    assert "dropped by CodaLab): mca_top3" in out


def test_try_reports_a_rejected_submission(bundles, tmp_path, capsys):
    bad = write_zip(tmp_path / "bad.zip", {"predictions.txt": "video_test_9999999.avi 1\n"})
    assert main(["try", str(bundles["action"]), str(bad)]) == 1
    captured = capsys.readouterr()
    assert "error: predictions.txt, line 1: unknown clip id" in captured.err
    assert "no scores file" in captured.out


def test_try_with_a_file_that_is_not_a_zip_says_the_platform_cannot_unpack_it(bundles, tmp_path, capsys):
    text = tmp_path / "predictions.txt"
    text.write_text("video_test_0000001.avi 1\n")
    assert main(["try", str(bundles["action"]), str(text)]) == 1
    out = capsys.readouterr().out
    assert "the platform cannot unpack predictions.txt" in out and "upload a zip" in out


@pytest.mark.parametrize("task", sorted(challenges()))
def test_every_challenge_declares_whether_it_gives_a_resampler_and_keeps_its_word(task, tmp_path):
    challenge = challenges()[task]
    assert isinstance(challenge.resampled, bool)
    challenge.write_demo_reference(tmp_path / "ref", 1)
    _, reference = load_reference(tmp_path / "ref")
    sample = write_zip(tmp_path / "sample.zip", challenge.sample_submission(reference, 2))
    _, result = score_submission(tmp_path / "ref", sample)
    assert (result.resampler is not None) == challenge.resampled
