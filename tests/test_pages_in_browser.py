"""The pages people see, opened in a real headless Chromium: previews, results pages, the event page.

Playwright drives the system's Chromium; every page is also saved as a screenshot in the test's
temporary folder, so a failure can be looked at.

Skipped, with the reason printed, where no Chromium is installed; on CI (``CI`` set) a missing
Chromium is a failure, since ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
import pytest

from bundler.config.competition import EDITIONS_FOLDER, competition_names, load_competition
from bundler.config.event import EVENT, edition_names, load_event
from bundler.pages.preview import axis, span_of, write_preview
from bundler.pages.site import write_site
from scoring.challenge import challenges, load_reference
from tests.browser import Browser, chromium, serve
from tests.helpers import BEFORE, scores_of, write_reference, write_zip

NAMES = competition_names()


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        message = "Chromium is not installed (apt install chromium, or set CHROMIUM=/path/to/chrome)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; .ci/run should have installed it")
        pytest.skip(message)
    session = Browser(executable)
    yield session
    session.close()


@pytest.mark.parametrize("name", NAMES)
def test_every_preview_page_renders_with_no_broken_link_or_image_and_shows_the_yaml_dates(browser, name, tmp_path):
    competition = load_competition(name)
    folder = tmp_path / "preview"
    files = write_preview(competition, folder)
    assert sorted(f.name for f in files) == ["data.html", "evaluation.html", "index.html", "overview.html", "terms.html"]
    config = competition.config
    dates = [phase.start.text for phase in config.phases] + [config.end_date.text]
    assert config.end_date.text.endswith(" UTC")  # an end shows its time and zone
    with serve(folder) as url:
        for path in files:
            visit = browser.visit(url + path.name, tmp_path / f"{name}-{path.stem}.png")
            assert visit.problems == [], (path.name, visit.problems)
            assert config.title in visit.title and len(visit.text) > 200, path.name
            assert {link["href"] for link in visit.links} >= {f.name for f in files}  # every page one click away
            if path.name in ("index.html", "overview.html"):
                for date in dates:
                    assert date in visit.text, (path.name, date)
        index = browser.visit(url + "index.html", tmp_path / f"{name}-index-again.png")
    assert index.wrapped == [] and index.cut == []  # no date or option broken over two lines, nothing hidden
    ticks = [tick.label for tick in axis(*span_of(competition))]
    assert len(ticks) >= 2 and all(tick in index.text for tick in ticks)  # the timeline has its dated axis
    for column in competition.challenge.columns:
        assert column.label in index.text and column.key in index.text
    assert "demo data" in index.text  # no --reference: the organiser is told


@pytest.mark.parametrize("task", sorted(challenges()))
def test_every_detailed_results_page_renders_with_its_scores_and_charts(browser, task, tmp_path):
    challenge = challenges()[task]
    reference = tmp_path / "reference"
    challenge.write_demo_reference(reference, 3)
    submission = write_zip(tmp_path / "s.zip", challenge.sample_submission(load_reference(reference)[1], 5))
    scores = scores_of(tmp_path, reference, submission)
    with serve(tmp_path / "out") as url:
        visit = browser.visit(url + "detailed_results.html", tmp_path / f"{task}-detailed_results.png")
    assert visit.problems == []
    assert challenge.title in visit.title
    for column in challenge.columns:
        assert column.label in visit.text
        assert f"{scores[column.key]:.{column.digits}f}" in visit.text
    if task in ("detection", "segmentation"):
        assert visit.svg == 1  # the precision-recall chart, the confusion matrix
    assert visit.cut == [] and visit.overlaps == []  # at 1280 px: every table whole, no text over text or data


@pytest.mark.parametrize("edition", edition_names(EDITIONS_FOLDER))
def test_the_event_page_of_every_edition_renders_with_every_logo_and_the_dates(browser, edition, tmp_path):
    event = load_event(EDITIONS_FOLDER / edition / EVENT, EDITIONS_FOLDER / edition)
    index, _ = write_site(event, tmp_path / "site", now=BEFORE)
    with serve(index.parent) as url:
        visit = browser.visit(url + "index.html", tmp_path / "event.png")
    assert visit.problems == [] and len(visit.images) == len(event.competitions) and visit.wrapped == []
    for moment, what in event.dates:
        assert f"{moment.text}\t{what}" in visit.text


LABELS = [i % 10 for i in range(100)]


def classification_results(tmp_path: Path, entrants: Dict[str, Optional[List[int]]], output: Path, resamples: int):
    """``bundler results`` of the classification Test phase on a 100-image reference of LABELS, into ``output``;
    ``entrants`` maps a name to its predicted labels (None: a file that is no submission)."""
    from bundler.results.command import publish
    from tests.test_results import classification_reference, csv_submission

    reference = classification_reference(tmp_path / "ref", LABELS)
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, predicted in entrants.items():
        if predicted is None:
            write_zip(folder / f"{name}.zip", {"p.csv": "nonsense"})
        else:
            csv_submission(folder / f"{name}.zip", predicted)
    return publish(load_competition("classification"), folder, reference, "Test", output, resamples, 0, 1)


def test_the_results_page_renders_every_entry_with_its_interval_and_the_invalid_ones(browser, tmp_path):
    published = classification_results(tmp_path, {"first": LABELS, "second": [0] * 100,
                                                  "<img src=x onerror=alert(1)>": None}, tmp_path / "out", 50)
    with serve(tmp_path / "out") as url:
        visit = browser.visit(url + "results.html", tmp_path / "results.png")
    # an interval per ranked entry, the shared axis, the blob plot and the significance map
    assert visit.problems == [] and visit.svg == 2 + 3
    for ranked in published.ranked:
        assert ranked.entry.entrant in visit.text
    assert "1.0000 – 1.0000" in visit.text and "Invalid submissions" in visit.text and "<img src=x" in visit.text


def test_the_results_page_of_a_twelve_column_challenge_fits_1280_px_with_its_figures(browser, tmp_path):
    import json

    from bundler.results.command import publish
    from tests.coco_cases import generate

    truth, _ = generate(0, images=40, categories=4, per_image=3, detections=10, empty_rate=0.0, crowd_rate=0.0, size=200)
    reference = write_reference(tmp_path / "ref", {"task": "detection"}, {"annotations.json": json.dumps(truth)})
    folder = tmp_path / "subs"
    folder.mkdir()
    names = ["alpha", "a team whose name runs on and on without any end in sight", "gamma", "delta"]
    rng = np.random.default_rng(1)
    for blur, name in zip((0.5, 3.0, 3.5, 12.0), names):  # the truth, blurred more and more
        found = [{"image_id": a["image_id"], "category_id": a["category_id"], "score": float(rng.random()),
                  "bbox": [max(0.0, v + float(rng.normal(0, blur))) for v in a["bbox"]]} for a in truth["annotations"]]
        write_zip(folder / f"{name}.zip", {"d.json": json.dumps(found)})
    publish(load_competition("detection"), folder, reference, "Test", tmp_path / "out", 200, 0, 1)
    with serve(tmp_path / "out") as url:
        visit = browser.visit(url + "results.html", tmp_path / "detection-results.png")
    assert visit.problems == [] and visit.cut == [] and visit.overlaps == [], (visit.cut, visit.overlaps)
    assert visit.hidden_headers == [] and visit.empty_figures == [] and visit.svg == len(names) + 3
    for label in ("AP50", "AR100", "AR large"):
        assert label in visit.text
    assert "How stable is the ranking?" in visit.text and "Kendall" in visit.text


def test_the_event_page_of_a_rehearsal_says_so_above_its_rankings_and_links_codabench(browser, tmp_path):
    classification_results(tmp_path, {"perfect": LABELS, "constant": [0] * 100}, tmp_path / "results", 20)
    event = load_event()
    event.competitions[0].config.platform_id = 4242
    index, _ = write_site(event, tmp_path / "site", {"classification": tmp_path / "results"}, rehearsal=True)
    with serve(index.parent) as url:
        visit = browser.visit(url + "index.html", tmp_path / "event-rehearsal.png")
    assert visit.problems == [] and visit.cut == [] and visit.wrapped == []
    assert visit.text.index("Rehearsal.") < visit.text.index("Final ranking (rehearsal, not real results)")
    assert "perfect" in visit.text and "on Codabench" in visit.text
    assert {link["href"] for link in visit.links} >= {"https://www.codabench.org/competitions/4242/",
                                                     "https://www.codabench.org/competitions/4242/#/results-tab"}


def test_the_timeline_axis_marks_months_at_most_six_times_and_a_short_span_by_its_ends():
    import datetime as dt

    def day(month: int, date: int, year: int = 2027) -> dt.datetime:
        return dt.datetime(year, month, date, tzinfo=dt.timezone.utc)

    ticks = axis(day(3, 1), day(6, 15, 2027) + dt.timedelta(hours=23, minutes=59, seconds=59))
    assert [t.label for t in ticks] == ["2027-03-01", "2027-04-01", "2027-05-01", "2027-06-01"]
    assert ticks[0].left == 0 and all(a.left < b.left for a, b in zip(ticks, ticks[1:])) and ticks[-1].anchor == "end"
    year = axis(day(1, 15), day(1, 10, 2029))
    assert 2 <= len(year) <= 6 and year[0].label == "2027-02-01"
    assert [t.label for t in axis(day(3, 2), day(3, 20))] == ["2027-03-02", "2027-03-20"]
