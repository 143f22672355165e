"""The organiser's YAML: impossible dates and keys written twice are file:line errors, in competition.yaml
and event.yaml alike, and any text whatever gives a valid config or file:line errors, never a traceback."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import List

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.cli import main
from bundler.config.competition import COMPETITIONS, ConfigError, load_competition
from bundler.config.event import EVENT_FILE, load_event

COMPETITION_TEXT = (COMPETITIONS / "detection" / "competition.yaml").read_text()
EVENT_TEXT = EVENT_FILE.read_text()


def problems(load, path: Path) -> List[str]:
    with pytest.raises(ConfigError) as exc:
        load(path)
    return exc.value.problems


def competition_folder(root: Path, text: str) -> Path:
    folder = root / "detection"
    shutil.copytree(COMPETITIONS / "detection", folder)
    (folder / "competition.yaml").write_text(text, encoding="utf-8")
    return folder


def load_competition_file(path: Path):
    return load_competition(path.parent.name, path.parent)


def line_of(text: str, fragment: str, occurrence: int = 1) -> int:
    found = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[occurrence - 1]


def test_an_impossible_date_is_a_file_line_error_and_the_build_writes_nothing(tmp_path, capsys):
    text = COMPETITION_TEXT.replace("start: 2027-05-15", "start: 2027-02-30")
    folder = competition_folder(tmp_path, text)
    path = folder / "competition.yaml"
    assert problems(load_competition_file, path) == [
        f"{path}:{line_of(text, '2027-02-30')}: phases[2].start: '2027-02-30' is not a valid ISO 8601 date such as "
        "2027-03-01 or 2027-03-01T12:00:00Z (day is out of range for month)"]
    assert main(["build", "detection", "--competitions", str(tmp_path), "--output", str(tmp_path / "b.zip")]) == 1
    assert "Traceback" not in capsys.readouterr().err and not (tmp_path / "b.zip").exists()


def test_a_key_written_twice_names_both_lines(tmp_path):
    text = COMPETITION_TEXT.replace("    start: 2027-05-15\n", "    start: 2027-05-15\n    start: 2027-05-20\n")
    text = text.replace("end_date: 2027-06-15", "end_date: 2027-06-30\nend_date: 2027-06-15", 1)
    path = competition_folder(tmp_path, text) / "competition.yaml"
    first, second = line_of(text, "start: 2027-05-15"), line_of(text, "start: 2027-05-20")
    end, end_again = line_of(text, "end_date: 2027-06-30"), line_of(text, "end_date: 2027-06-15")
    assert problems(load_competition_file, path) == [
        f"{path}:{end_again}: key 'end_date' is written twice (lines {end} and {end_again}); keep one",
        f"{path}:{second}: key 'start' is written twice (lines {first} and {second}); keep one",
    ]


def test_the_event_file_has_the_same_two_traps_caught(tmp_path):
    text = EVENT_TEXT.replace("    date: ", "    date: 2027-02-29\n    date: ", 1)
    path = tmp_path / "event.yaml"
    path.write_text(text)
    found = "\n".join(problems(lambda event: load_event(event, COMPETITIONS), path))
    assert f"{path}:{line_of(text, 'date: 2027-02-29')}: milestones[1].date: '2027-02-29' is not a valid" in found
    assert f"{path}:{line_of(text, '    date: ', 2)}: key 'date' is written twice" in found


def test_aliases_that_expand_without_bound_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join(['*' + previous] * 10)}]\n" for previous, name in zip("abcdef", "bcdefg"))
    path = competition_folder(tmp_path, COMPETITION_TEXT + bomb) / "competition.yaml"
    assert "aliases expanded" in problems(load_competition_file, path)[0]


def every_problem_has_file_and_line(path: Path, found: List[str]) -> None:
    pattern = re.compile(rf"^{re.escape(str(path))}:\d+: .+", re.DOTALL)
    assert found and all(pattern.match(problem) for problem in found), found


@st.composite
def edited(draw: st.DrawFn, text: str) -> str:
    """``text`` with a few lines deleted, doubled, re-indented or rewritten, or replaced by any text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    lines = text.splitlines()
    junk = st.sampled_from(["2027-02-30", "2027-13-01", "0001-01-01T00:00:00+05:00", "!!python/object:os.system x",
                            "[", "{a: 1", "*undefined", "&x 1", "? [a, b]", "~", "null", "99999999999999999999", "-1",
                            "yes", "'", '"\\x"', "\t", ": :", "\x00", "~nobody/x", "é", ""]) | st.text(max_size=12)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "double", "indent", "value", "insert"]))
        if kind == "delete":
            del lines[at]
        elif kind == "double":
            lines.insert(at, lines[at])
        elif kind == "indent":
            lines[at] = " " * draw(st.integers(0, 6)) + lines[at].lstrip()
        elif kind == "value":
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {draw(junk)}"
        else:
            lines.insert(at, draw(junk))
    return "\n".join(lines) + "\n"


@given(text=edited(COMPETITION_TEXT))
def test_any_competition_yaml_gives_a_config_or_file_line_errors(text):
    with tempfile.TemporaryDirectory() as root:
        path = competition_folder(Path(root), text) / "competition.yaml"
        try:
            load_competition_file(path)
        except ConfigError as exc:
            every_problem_has_file_and_line(path, exc.problems)


@given(text=edited(EVENT_TEXT))
def test_any_event_yaml_gives_an_event_or_file_line_errors(text):
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / "event.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_event(path, COMPETITIONS)
        except ConfigError as exc:
            every_problem_has_file_and_line(path, exc.problems)
