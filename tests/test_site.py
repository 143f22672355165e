"""The event page: every challenge with the competitions' own dates, no empty link, well-formed HTML."""

from __future__ import annotations

import html.parser
import re
import shutil
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import yaml

from bundler.cli import main
from bundler.config.competition import COMPETITIONS, ConfigError
from bundler.config.event import EVENT_FILE, load_event
from bundler.pages.site import write_site
from tests.helpers import BEFORE

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class StrictHtml(html.parser.HTMLParser):
    """Collects tags, links and <time> texts per challenge section; fails on unbalanced tags."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: List[str] = []
        self.errors: List[str] = []
        self.ids: List[str] = []
        self.links: List[Tuple[str, str]] = []  # (attribute, value) of every href and src
        self.times: Dict[str, List[str]] = {}  # section id ("" outside) -> <time> texts
        self.section = ""
        self._in_time = False

    def handle_starttag(self, tag: str, attrs: List[Tuple[str, str]]) -> None:
        values = dict(attrs)
        if "id" in values:
            self.ids.append(values["id"])
        if tag == "section":
            self.section = values.get("id", "")
        self.links += [(name, value or "") for name, value in attrs if name in ("href", "src")]
        self._in_time = tag == "time"
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}> at {self.getpos()}")
            return
        self.stack.pop()
        if tag == "section":
            self.section = ""
        self._in_time = False

    def handle_data(self, data: str) -> None:
        if self._in_time:
            self.times.setdefault(self.section, []).append(data)


def parse(text: str) -> StrictHtml:
    parser = StrictHtml()
    parser.feed(text)
    parser.close()
    return parser


@pytest.fixture
def competitions(tmp_path, monkeypatch):
    """A copy of competitions/ that a test may edit; the event and competitions load from it."""
    folder = tmp_path / "competitions"
    shutil.copytree(COMPETITIONS, folder)
    monkeypatch.setattr("bundler.config.competition.COMPETITIONS", folder)
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def expected_dates(event) -> Dict[str, List[str]]:
    """Each challenge's phases as the page shows them: start and end, every end with its time and zone."""
    return {c.name: [m.text for p in c.config.phases for m in (p.start, p.end)] for c in event.competitions}


def test_the_page_lists_every_challenge_with_the_dates_of_its_yaml_and_is_well_formed(tmp_path):
    event = load_event()
    index, markdown = write_site(event, tmp_path / "site", now=BEFORE)
    page = parse(index.read_text())
    assert page.errors == [] and page.stack == []
    assert len(page.ids) == len(set(page.ids))
    assert [name for name in page.times if name] == [competition.name for competition in event.competitions]
    for name, dates in expected_dates(event).items():
        assert page.times[name] == dates and dates[-1].endswith(" 23:59:59 UTC")  # the instant the platform stores
    starts = [p.start for c in event.competitions for p in c.config.phases]
    assert page.times[""][0] == min(starts, key=lambda m: m.when).text == "2027-03-01"
    assert page.times[""][1] == max((c.config.end_date for c in event.competitions), key=lambda m: m.when).text
    assert page.times[""][2:] == [m.date.text for m in event.config.milestones]
    for competition in event.competitions:
        assert (tmp_path / "site" / f"{competition.name}.png").read_bytes() == competition.config.logo.read_bytes()


def test_the_markdown_twin_carries_the_same_dates_in_its_front_matter_and_text(tmp_path):
    event = load_event()
    _, markdown = write_site(event, tmp_path / "site", now=BEFORE)
    text = markdown.read_text()
    _, front, body = text.split("---\n", 2)
    matter = yaml.safe_load(front)
    assert (matter["opens"], matter["closes"]) == (event.opens.text, event.closes.text)
    assert matter["challenges"] == [competition.name for competition in event.competitions]
    for moment, what in event.dates:
        assert f"| {moment.text} | {what} |" in body
    for competition in event.competitions:
        section = body.split(f"### {competition.config.title}\n", 1)[1].split("### ", 1)[0]
        phases = "; ".join(f"{p.name}: {p.start.text} to {p.end.text}" for p in competition.config.phases)
        assert f"- **Phases:** {phases}" in section and phases.endswith(" 23:59:59 UTC")
    assert "<name>" not in text  # free text is escaped for Markdown renderers that accept HTML


def test_without_a_platform_id_there_is_no_link_and_codabench_gets_only_what_it_serves(competitions, tmp_path):
    edit(competitions / "detection" / "competition.yaml", "# platform_id: 12345", "platform_id: 23713")
    event = load_event(competitions / "event.yaml")
    index, markdown = write_site(event, tmp_path / "site", now=BEFORE)
    text = index.read_text()
    page = parse(text)
    assert all(value.strip() not in ("", "#") for _, value in page.links), page.links
    assert text.count("It runs on Codabench: link available when the competition opens") == len(event.competitions) - 1
    assert 'href="https://www.codabench.org/competitions/23713/"' in text
    assert 'href="https://www.codabench.org/competitions/23713/#/results-tab"' in text
    assert "<iframe" not in text and "CodaLab" not in text  # Codabench refuses to be framed
    assert "](https://www.codabench.org/competitions/23713/)" in markdown.read_text()
    assert yaml.safe_load(markdown.read_text().split("---")[1])["platform"] == "Codabench"
    assert all(re.search(r"\]\(\s*\)", line) is None for line in markdown.read_text().splitlines())


def test_a_self_hosted_codalab_server_gets_codalab_links_and_its_leaderboard_widget(competitions, tmp_path):
    edit(competitions / "event.yaml", "links:", "platform: codalab\nserver: https://codalab.example.org/\nlinks:")
    edit(competitions / "action" / "competition.yaml", "# platform_id: 12345", "platform_id: 77")
    index, markdown = write_site(load_event(competitions / "event.yaml"), tmp_path / "site", now=BEFORE)
    text = index.read_text()
    assert 'href="https://codalab.example.org/competitions/77"' in text and "Go to the" in text and "on CodaLab" in text
    assert 'src="https://codalab.example.org/competitions/leaderboard_widget/77/"' in text
    assert "Codabench" not in text and "<iframe" in markdown.read_text()


def test_the_old_codalab_keys_say_what_they_were_renamed_to_and_codalab_needs_its_server(competitions):
    edit(competitions / "event.yaml", "links:", "codalab_url: https://codalab.example.org\nplatform: codalab\nlinks:")
    edit(competitions / "classification" / "competition.yaml", "# platform_id: 12345", "codalab_id: 4")
    with pytest.raises(ConfigError) as exc:
        load_event(competitions / "event.yaml")
    lines = (competitions / "event.yaml").read_text().splitlines()
    at = {key: next(i for i, line in enumerate(lines, 1) if line.startswith(key)) for key in ("codalab_url", "platform")}
    event, competition = competitions / "event.yaml", competitions / "classification" / "competition.yaml"
    assert exc.value.problems == [
        f"{event}:{at['codalab_url']}: codalab_url: renamed to server: write 'server: https://codalab.example.org' "
        "(and platform: codalab for a CodaLab server)",
        f"{event}:{at['platform']}: platform: codalab needs server: the address of your CodaLab server (the public "
        "CodaLab servers accept no submission since 2025-12-31; codabench is the default)",
        f"{competition}:11: codalab_id: renamed to platform_id: write 'platform_id: 4'",
    ]


def test_every_event_error_is_reported_at_once_with_file_and_line(competitions):
    path = competitions / "event.yaml"
    edit(path, "title: VIPriors", "titel: VIPriors")
    edit(path, "  - detection\n", "  - detecton\n")
    edit(path, "url: https://vipriors.github.io/", "url: vipriors.github.io")
    edit(path, "# opens: 2027-03-01", "opens: 2027-03-02")
    edit(path, "    date: 2027-06-29", "    date: 2027-06-01")
    with pytest.raises(ConfigError) as exc:
        load_event(path)
    lines = path.read_text().splitlines()

    def at(fragment: str) -> str:
        return f"{path}:{next(i for i, line in enumerate(lines, 1) if fragment in line)}: "

    problems = exc.value.problems
    assert at("titel:") + "unknown key 'titel'; did you mean 'title'?" in problems
    assert at("titel:") + "title is required: the event's title, e.g. 'VIPriors 2027 challenges'" in problems
    assert any(p.startswith(at("- detecton")) and "did you mean 'detection'?" in p for p in problems)
    expected = "links[2].url: expected an address starting with https://, found 'vipriors.github.io'"
    assert at("url: vipriors") + expected in problems
    assert len(problems) == 4  # dates are checked once the challenges load


def test_a_date_contradicting_the_competitions_is_an_error(competitions):
    path = competitions / "event.yaml"
    edit(path, "# opens: 2027-03-01", "opens: 2027-03-02")
    edit(path, "# closes: 2027-06-15", "closes: 2027-06-15")
    edit(path, "    date: 2027-06-29", "    date: 2027-06-01")
    edit(competitions / "action" / "competition.yaml", "end_date: 2027-06-15", "end_date: 2027-06-20")
    with pytest.raises(ConfigError) as exc:
        load_event(path)
    text = "\n".join(exc.value.problems)
    assert "opens (2027-03-02) contradicts the competitions: their earliest phase start is 2027-03-01" in text
    assert ("closes (2027-06-15 23:59:59 UTC) contradicts the competitions: their latest end_date is 2027-06-20 23:59:59 "
            "UTC (action, end_date)") in text
    assert "milestones[2] (Winners announced, 2027-06-01) must be after the challenges close" in text
    assert all(re.match(rf"{re.escape(str(path))}:\d+: ", p) for p in exc.value.problems)


def test_a_challenge_without_end_date_or_with_an_invalid_yaml_is_named(competitions):
    edit(competitions / "action" / "competition.yaml", "end_date: 2027-06-15", "")
    edit(competitions / "detection" / "competition.yaml", "max_submissions: 100", "max_submissions: 0")
    with pytest.raises(ConfigError) as exc:
        load_event(competitions / "event.yaml")
    text = "\n".join(exc.value.problems)
    assert "action/competition.yaml has no end_date" in text
    assert "detection/competition.yaml:" in text and "must be at least 1" in text


def test_site_command_writes_both_files_and_reports_problems_without_writing(tmp_path, capsys, competitions):
    assert main(["site", "--event", str(EVENT_FILE), "--output", str(tmp_path / "site")]) == 0
    assert sorted(p.name for p in (tmp_path / "site").iterdir())[:2] == ["action.png", "challenges.md"]
    edit(competitions / "event.yaml", "rules:", "rulez:")
    assert main(["site", "--event", str(competitions / "event.yaml"), "--output", str(tmp_path / "other")]) == 1
    assert "unknown key 'rulez'" in capsys.readouterr().err and not (tmp_path / "other").exists()
