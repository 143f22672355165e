"""Codabench (version 2) bundles: the same source YAML, Codabench's rules, its worker's layout; both platforms store
every moment and the ranking rule the YAML means."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bundler.bundles.build import build, default_output
from bundler.bundles.check import check_bundle
from bundler.cli import main
from bundler.config.competition import load_competition
from bundler.ground.facts import codabench_datetime, codalab_datetime
from bundler.platforms import codabench, codalab
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
    assert config["docker_image"] == competition.config.docker_image
    assert [page["title"] for page in config["pages"]] == ["Overview", "Evaluation", "Terms", "Data"]
    assert [(t["index"], t["reference_data"]) for t in config["tasks"]] == [(0, "reference_data_1.zip"),
                                                                            (1, "reference_data_2.zip")]
    development, test = config["phases"]
    assert development["tasks"] == [0] and test["tasks"] == [1]
    assert (development["start"], development["end"]) == ("2027-03-01 00:00:00", "2027-05-14 23:59:59")
    assert (test["start"], test["end"]) == ("2027-05-15 00:00:00", "2027-06-15 23:59:59")  # end_date: 2027-06-15
    assert config["docker_image"] == "codalab/codalab-legacy:py312"
    assert config["registration_auto_approve"] is False  # registration_required: true
    assert config["enable_detailed_results"] and config["show_detailed_results_in_leaderboard"]
    assert config["leaderboards"][0]["submission_rule"] == "Force_Last" and config["leaderboards"][0]["hidden"] is False
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
    assert any("phases[1].end (2027-05-15 23:59:59 UTC) must be before the next phase's start" in p
               for p in problems_of(folder))


def test_the_default_output_names_the_platform_and_codabench_is_the_default(tmp_path, monkeypatch, capsys):
    assert default_output("detection", "codalab").name == "detection_codalab.zip"
    assert default_output("detection", "codabench").name == "detection_codabench.zip"
    assert main(["build", "action", "--output", str(tmp_path / "b.zip")]) == 0
    assert "codabench bundle" in capsys.readouterr().out
    assert bundle_config(tmp_path / "b.zip")["version"] == 2


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
                     "phases[0].end: required on every phase but the last",
                     "phases[1].end: 2026-12-01 00:00:00 is not after its start 2027-01-01 00:00:00",
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


# Moments: what each platform stores, read from the competition.yaml we write as its own code reads it, equals what
# the organiser's YAML means, for dates alone, times in UTC and times with any offset.
FORMS = st.sampled_from(["date", "utc", "offset"])
OFFSETS = st.integers(-14 * 4, 14 * 4).map(lambda quarters: dt.timedelta(minutes=15 * quarters))


def written(moment: dt.datetime, form: str, offset: dt.timedelta) -> str:
    """``moment`` (UTC) as an organiser may write it; a date alone keeps only the day."""
    if form == "date":
        return moment.strftime("%Y-%m-%d")
    if form == "utc":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(dt.timezone(offset)).isoformat()


def meant(text: str, ends: bool) -> dt.datetime:
    """What the YAML means, independently of the bundler: a date alone is 00:00 UTC, or 23:59:59 UTC when it ends."""
    if len(text) == 10:
        day = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
        return day + dt.timedelta(hours=23, minutes=59, seconds=59) if ends else day
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc)


@pytest.fixture(scope="module")
def moments_folder(tmp_path_factory):
    return copy_competition(tmp_path_factory.mktemp("moments"))


@given(first=st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2030, 1, 1)).map(lambda d: d.replace(microsecond=0)),
       gaps=st.lists(st.integers(2, 90 * 86400), min_size=3, max_size=3), forms=st.lists(FORMS, min_size=4, max_size=4),
       offsets=st.lists(OFFSETS, min_size=4, max_size=4), with_end=st.booleans(), quote=st.sampled_from(["", "'"]))
def test_every_phase_is_stored_with_the_start_and_end_the_yaml_means(moments_folder, first, gaps, forms, offsets,
                                                                     with_end, quote):
    instants = [first.replace(tzinfo=dt.timezone.utc)]
    for gap in gaps:
        instants.append(instants[-1] + dt.timedelta(days=2, seconds=gap))  # a day apart even as dates alone
    texts = [written(moment, form, offset) for moment, form, offset in zip(instants, forms, offsets)]
    start_1, end_1, start_2, end_date = texts
    source = (moments_folder / "competition.yaml").read_text()
    yaml_file = moments_folder / "competition.yaml"
    lines = [line for line in source.splitlines() if not line.startswith(("end_date:", "    end:"))]
    starts = [i for i, line in enumerate(lines) if line.startswith("    start:")]
    lines[starts[1]] = f"    start: {quote}{start_2}{quote}"  # unquoted: a YAML date or timestamp
    lines[starts[0]] = f"    start: {quote}{start_1}{quote}" + (f"\n    end: {quote}{end_1}{quote}" if with_end else "")
    yaml_file.write_text("\n".join(lines) + f"\nend_date: {quote}{end_date}{quote}\n")
    try:
        competition = load_competition("action", moments_folder)
    finally:
        yaml_file.write_text(source)
    pages = {"overview": "overview.html", "evaluation": "evaluation.html", "terms": "terms.html", "data": "data.html"}
    v2 = yaml.safe_load(codabench.competition_yaml(competition, pages, "logo.png"))
    v1 = yaml.full_load(codalab.competition_yaml(competition, pages, "logo.png"))  # CodaLab's yaml.full_load
    next_start = meant(start_2, ends=False)
    want_end_1 = meant(end_1, ends=True) if with_end else next_start - dt.timedelta(seconds=1)
    stored = [(codabench_datetime(phase["start"]), codabench_datetime(phase["end"])) for phase in v2["phases"]]
    assert stored == [(meant(start_1, ends=False), want_end_1), (next_start, meant(end_date, ends=True))]
    assert [codalab_datetime(v1["phases"][n]["start_date"]) for n in (1, 2)] == [meant(start_1, False), next_start]
    assert codalab_datetime(v1["end_date"]) == meant(end_date, ends=True)
    assert [phase.end.when for phase in competition.config.phases] == [want_end_1, meant(end_date, ends=True)]


def test_a_yaml_timestamp_loses_its_time_on_codabench_and_text_keeps_it():
    assert codabench_datetime(yaml.safe_load("t: 2027-05-14 23:59:59")["t"]) == dt.datetime(2027, 5, 14,
                                                                                             tzinfo=dt.timezone.utc)
    assert codabench_datetime("2027-05-14 23:59:59") == dt.datetime(2027, 5, 14, 23, 59, 59, tzinfo=dt.timezone.utc)
    assert codabench_datetime("2027-05-14 23:59:59+02:00").hour == 23  # replaced by UTC, not converted


# The ranking rule: one fact in the YAML, the same rule in both bundles and the same sentence on every page.
RULES = {"last": ("Force_Last", True, True, False, "Your last successful submission counts"),
         "best": ("Force_Best", False, True, True, "Your best submission counts"),
         "choose": ("Add", False, False, False, "You choose which of your successful submissions counts")}


@pytest.mark.parametrize("ranking", list(RULES))
def test_the_ranking_rule_agrees_across_the_yaml_both_bundles_and_the_pages(tmp_path, ranking):
    rule, force, disallow, force_best, sentence = RULES[ranking]
    folder = copy_competition(tmp_path)
    edit(folder, "ranking: last", f"ranking: {ranking}")
    competition = load_competition("action", folder)
    v2 = bundle_config(build(competition, tmp_path / "v2.zip").path)
    v1_bundle = build(competition, tmp_path / "v1.zip", platform="codalab").path
    v1 = bundle_config(v1_bundle)
    assert v2["leaderboards"][0]["submission_rule"] == rule
    assert (v1["force_submission_to_leaderboard"], v1["disallow_leaderboard_modifying"]) == (force, disallow)
    assert [phase["force_best_submission_to_leaderboard"] for phase in v1["phases"].values()] == [force_best] * 2
    for bundle in (tmp_path / "v2.zip", v1_bundle):
        with zipfile.ZipFile(bundle) as archive:
            kit = zipfile.ZipFile(io.BytesIO(archive.read("starting_kit.zip")))
            texts = [archive.read("overview.html").decode(), archive.read("evaluation.html").decode(),
                     kit.read("README.md").decode()]
        assert all(sentence in text for text in texts)
        assert all(other[4] not in text for other in RULES.values() if other[4] != sentence for text in texts)
    assert "The last score counts" not in (folder / "competition.yaml").read_text()


def added_to_the_last_phase(folder: Path, line: str) -> int:
    """Add ``line`` (``key: value``) to the last phase of the competition in ``folder``; its line number."""
    edit(folder, "    max_submissions: 10\n", f"    max_submissions: 10\n    {line}\n")
    return (folder / "competition.yaml").read_text().splitlines().index(f"    {line}") + 1


def test_a_ranking_rule_in_a_phase_is_an_error_at_its_line(tmp_path):
    folder = copy_competition(tmp_path)
    line = added_to_the_last_phase(folder, "ranking: best")
    assert problems_of(folder) == [
        f"{folder / 'competition.yaml'}:{line}: phases[2].ranking: the ranking rule is the competition's, not a "
        "phase's: Codabench gives every phase the same leaderboard and CodaLab sets it for the whole competition; "
        "write `ranking:` once at the top of the file"]


# check: Codabench's limits and what it fails to check, on bundles made by hand from ours.
def hand_made(tmp_path: Path, change, platform: str = "codabench") -> Path:
    """Our action bundle for ``platform`` with its competition.yaml changed by ``change(config)``."""
    bundle = build(load_competition("action"), tmp_path / "ours.zip", platform=platform).path
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = yaml.safe_load(files["competition.yaml"])
    change(config)
    files["competition.yaml"] = yaml.safe_dump(config).encode()
    return write_zip(tmp_path / "hand.zip", files)


def test_a_hand_made_bundle_whose_phase_ends_before_it_starts_fails_check_with_one_line(tmp_path):
    def backwards(config):
        config["phases"][1]["end"] = "2027-05-01 00:00:00"

    assert check_bundle(hand_made(tmp_path, backwards), leaks=False) == [
        "phases[1].end: 2027-05-01 00:00:00 is not after its start 2027-05-15 00:00:00 (Codabench accepts such a "
        "phase, which can never take a submission)"]


@pytest.mark.parametrize("platform, key", [("codabench", "phases[1].end"), ("codalab", "end_date")])
@pytest.mark.parametrize("written", [dt.date(2027, 6, 15), "2027-06-15"], ids=["unquoted", "quoted"])
def test_a_hand_made_bundle_ending_on_a_date_alone_fails_check_since_that_day_would_be_lost(tmp_path, platform, key,
                                                                                            written):
    def date_alone(config):
        if platform == "codabench":
            config["phases"][1]["end"] = written
        else:
            config["end_date"] = written

    assert check_bundle(hand_made(tmp_path, date_alone, platform), leaks=False) == [
        f'{key}: a date alone: the platform stores 00:00 UTC, the start of that day; write "2027-06-15 23:59:59" to '
        f"include it"]


def test_a_hand_made_bundle_with_a_37_character_column_key_fails_check_with_one_line(tmp_path):
    def long_key(config):
        config["leaderboards"][0]["columns"][0]["key"] = "k" * 37

    assert check_bundle(hand_made(tmp_path, long_key), leaks=False) == [
        "leaderboards[0].columns[0].key: 37 characters, Codabench accepts at most 36"]


def test_check_enforces_codabench_limits_rules_and_how_it_reads_times(tmp_path):
    def many(config):
        config["title"] = "t" * 257
        config["leaderboards"][0].update(title="l" * 65, key="k" * 37, submission_rule="Force Last")
        config["leaderboards"][0]["columns"][1]["title"] = "c" * 37
        config["phases"][0]["name"] = "n" * 257
        config["phases"][0]["start"] = dt.datetime(2027, 3, 1, 8, 0)  # unquoted: Codabench keeps only the day
        config["phases"][1]["end"] = "2027-06-15 23:59:59+02:00"

    problems = check_bundle(hand_made(tmp_path, many), leaks=False)
    assert problems == [
        "title: 257 characters, Codabench accepts at most 256",
        "phases[0].start: the unquoted timestamp 2027-03-01 08:00:00 loses its time: Codabench stores 2027-03-01 "
        '00:00:00 UTC; quote it ("2027-03-01 08:00:00")',
        "phases[0].name: 257 characters, Codabench accepts at most 256",
        "phases[1].end: Codabench replaces the offset of 2027-06-15 23:59:59+02:00 by UTC instead of converting it "
        "and stores 2027-06-15 23:59:59 UTC; write the UTC time without an offset",
        "leaderboards[0].title: 65 characters, Codabench accepts at most 64",
        "leaderboards[0].key: 37 characters, Codabench accepts at most 36",
        "leaderboards[0].submission_rule: 'Force Last' is not one of Add, Add_And_Delete, Add_And_Delete_Multiple, "
        "Force_Last, Force_Latest_Multiple, Force_Best",
        "leaderboards[0].columns[1].title: 37 characters, Codabench accepts at most 36"]


def test_a_chosen_submission_on_a_hidden_codalab_leaderboard_is_said_at_build_since_codalab_ranks_the_last(tmp_path):
    folder = copy_competition(tmp_path)
    edit(folder, "hide_leaderboard: false", "hide_leaderboard: true")
    assert not [note for note in codalab.unsupported(load_competition("action", folder)) if note.startswith("ranking")]
    edit(folder, "ranking: last", "ranking: choose")
    (note,) = [note for note in codalab.unsupported(load_competition("action", folder)) if note.startswith("ranking")]
    assert "each participant's last one counts, not the one they choose" in note
    assert not [note for note in codabench.unsupported(load_competition("action", folder)) if note.startswith("ranking")]


# Codabench features from the YAML, and what a platform cannot carry said at build time.
def test_hidden_leaderboard_registration_teams_and_public_data_reach_both_bundles(tmp_path, capsys):
    folder = copy_competition(tmp_path)
    write_zip(folder / "public.zip", {"train/a.txt": "public"})
    edit(folder, "hide_leaderboard: false", "hide_leaderboard: true")
    edit(folder, "registration_required: true", "registration_required: false")
    edit(folder, "# public_data: https://example.org/vipriors-action-public.zip", "public_data: public.zip")
    competition = load_competition("action", folder)
    v2 = build(competition, tmp_path / "v2.zip").path
    warnings = capsys.readouterr().err
    v1 = build(competition, tmp_path / "v1.zip", platform="codalab").path
    assert "WARNING: allow_teams: Codabench bundles have no team setting" in warnings
    assert "WARNING: hide_leaderboard: Codabench hides the one leaderboard of every phase" in warnings
    assert "allow_teams" not in capsys.readouterr().err  # CodaLab has teams
    config, old = bundle_config(v2), bundle_config(v1)
    assert config["leaderboards"][0]["hidden"] is True and config["registration_auto_approve"] is True
    assert [phase["public_data"] for phase in config["phases"]] == ["public_data.zip"] * 2
    assert [phase.get("leaderboard_management_mode") for phase in old["phases"].values()] == [None, "hide_results"]
    assert old["has_registration"] is False and old["allow_teams"] is True
    assert [phase["public_data"] for phase in old["phases"].values()] == ["public_data.zip"] * 2
    for bundle in (v2, v1):
        with zipfile.ZipFile(bundle) as archive:
            assert archive.read("public_data.zip") == (folder / "public.zip").read_bytes()
            assert "attached to every phase" in archive.read("data.html").decode()
            assert "stays hidden from participants" in archive.read("evaluation.html").decode()
        assert check_bundle(bundle, leaks=False) == []


def test_public_data_given_as_an_address_is_linked_from_the_data_page_and_not_attached(tmp_path):
    folder = copy_competition(tmp_path)
    url = "https://example.org/vipriors-action-public.zip"
    edit(folder, f"# public_data: {url}", f"public_data: {url}")
    bundle = build(load_competition("action", folder), tmp_path / "b.zip").path
    with zipfile.ZipFile(bundle) as archive:
        assert f'<a href="{url}">' in archive.read("data.html").decode() and "public_data.zip" not in archive.namelist()
    assert all("public_data" not in phase for phase in bundle_config(bundle)["phases"])


def test_a_codalab_phase_with_a_gap_before_the_next_is_a_build_warning(tmp_path, capsys):
    folder = copy_competition(tmp_path)
    edit(folder, "    start: 2027-03-01\n", "    start: 2027-03-01\n    end: 2027-05-01\n")
    build(load_competition("action", folder), tmp_path / "b.zip", platform="codalab")
    assert ("WARNING: Development: CodaLab phases have no end: it stays open until Test starts (2027-05-15), not "
            "until 2027-05-01 23:59:59 UTC") in capsys.readouterr().err


def test_a_codabench_bundle_above_the_size_cap_is_a_warning_at_build_and_at_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("bundler.ground.facts.BUNDLE_SIZE_CAP", 2 ** 16)
    bundle = build(load_competition("action"), tmp_path / "b.zip").path
    assert "MiB: Codabench's unpacking of bundles above 0 MiB has been seen to stall" in capsys.readouterr().err
    assert main(["check", str(bundle), "--no-leak-guard"]) == 0
    assert "has been seen to stall" in capsys.readouterr().out


def test_the_last_phase_end_is_the_competition_end_on_both_platforms(tmp_path):
    folder = copy_competition(tmp_path)
    line = added_to_the_last_phase(folder, "end: 2027-06-10")
    assert problems_of(folder) == [
        f"{folder / 'competition.yaml'}:{line}: phases[2].end (2027-06-10 23:59:59 UTC) differs from end_date "
        "(2027-06-15 23:59:59 UTC): the competition closes when its last phase does; write one of them"]
    edit(folder, "end_date: 2027-06-15", "# end_date: 2027-06-15")
    competition = load_competition("action", folder)
    assert bundle_config(build(competition, tmp_path / "v1.zip", platform="codalab").path)["end_date"] == \
        "2027-06-10 23:59:59" == bundle_config(build(competition, tmp_path / "v2.zip").path)["phases"][1]["end"]
