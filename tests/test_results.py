"""``bundler results``: intervals equal a slow reference bootstrap, ties, CodaLab's export, hostile names,
the cache, determinism."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from bundler.cli import main
from bundler.config.competition import load_competition
from bundler.results.command import publish
from bundler.results.entries import read_entries
from bundler.results.ranking import interval
from scoring.resampling import resample_draws
from tests.coco_cases import generate, pycocotools_stats
from tests.helpers import write_reference, write_zip

CLASSES = 10
B = 40


def classification_reference(folder: Path, labels: List[int]) -> Path:
    rows = "".join(f"img_{i}.JPEG,{label}\n" for i, label in enumerate(labels))
    return write_reference(folder, {"task": "classification", "num_classes": CLASSES}, {"labels.csv": "image,label\n" + rows})


def csv_submission(path: Path, predictions: List[int]) -> Path:
    rows = "".join(f"img_{i}.JPEG,{p}\n" for i, p in enumerate(predictions))
    return write_zip(path, {"p.csv": "Image IDs,Predictions\n" + rows})


def guesses(labels: List[int], rate: float, seed: int) -> List[int]:
    rng = np.random.default_rng(seed)
    return [label if rng.random() < rate else int(rng.integers(CLASSES)) for label in labels]


@pytest.fixture
def cls_case(tmp_path):
    """A classification reference of 200 images and a folder of three submissions."""
    labels = np.random.default_rng(0).integers(0, CLASSES, 200).tolist()
    reference = classification_reference(tmp_path / "ref", labels)
    folder = tmp_path / "subs"
    folder.mkdir()
    predictions = {"strong": guesses(labels, 0.9, 1), "middle": guesses(labels, 0.5, 2), "weak": guesses(labels, 0.1, 3)}
    for name, predicted in predictions.items():
        csv_submission(folder / f"{name}.zip", predicted)
    return labels, reference, folder, predictions


def run(name: str, submissions: Path, reference: Path, output: Path, workers: int = 1, bootstrap: int = B):
    return publish(load_competition(name), submissions, reference, "Test", output, bootstrap, 0, workers)


def test_intervals_equal_a_full_re_evaluation_with_scikit_learn_on_the_same_resamples(cls_case, tmp_path):
    labels, reference, folder, predictions = cls_case
    published = run("classification", folder, reference, tmp_path / "out")
    truth = np.array(labels)
    for ranked in published.ranked:
        predicted = np.array(predictions[ranked.entry.entrant])
        slow = [accuracy_score(truth[d], predicted[d]) for d in (resample_draws(0, b, 200) for b in range(B))]
        assert np.abs(ranked.scored.primaries - slow).max() <= 1e-12
        assert ranked.ci == interval(np.array(slow))
        assert ranked.scored.scores["top1_accuracy"] == accuracy_score(truth, predicted)
    assert [r.entry.entrant for r in published.ranked] == ["strong", "middle", "weak"]
    assert [r.rank for r in published.ranked] == [1, 2, 3] and all(not r.tied_with for r in published.ranked)


def test_detection_intervals_equal_pycocotools_re_run_on_the_resampled_images(tmp_path):
    from tests.test_bootstrap import resampled_coco

    truth, results = generate(4, images=20)
    reference = write_reference(tmp_path / "ref", {"task": "detection"}, {"annotations.json": json.dumps(truth)})
    folder = tmp_path / "subs"
    folder.mkdir()
    write_zip(folder / "team.zip", {"d.json": json.dumps(results)})
    published = run("detection", folder, reference, tmp_path / "out", bootstrap=5)
    (ranked,) = published.ranked
    order = sorted(image["id"] for image in truth["images"])
    ordered = dict(truth, images=sorted(truth["images"], key=lambda image: image["id"]))
    for b in range(5):
        draws = resample_draws(0, b, len(order))
        expected = pycocotools_stats(*resampled_coco(copy.deepcopy(ordered), results, draws))[0][0]
        assert abs(ranked.scored.primaries[b] - expected) <= 1e-12


def test_near_equal_entries_share_a_rank_and_clearly_different_ones_do_not(tmp_path):
    labels = np.random.default_rng(5).integers(0, CLASSES, 400).tolist()
    reference = classification_reference(tmp_path / "ref", labels)
    folder = tmp_path / "subs"
    folder.mkdir()
    best = guesses(labels, 0.8, 1)
    twin = list(best)
    twin[0] = (twin[0] + 1) % CLASSES  # one image apart
    for name, predicted in {"best": best, "twin": twin, "random": guesses(labels, 0.0, 9)}.items():
        csv_submission(folder / f"{name}.zip", predicted)
    ranked = run("classification", folder, reference, tmp_path / "out", bootstrap=200).ranked
    by_name = {r.entry.entrant: r for r in ranked}
    assert by_name["best"].rank == by_name["twin"].rank == 1
    assert by_name["best"].tied_with == ["twin"] and by_name["twin"].tied_with == ["best"]
    assert by_name["random"].rank == 3 and by_name["random"].tied_with == []


def codalab_export(path: Path, members: Dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def output_zip(scores: Dict[str, float]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scores.txt", "".join(f"{key}: {value}\n" for key, value in scores.items()))
    return buffer.getvalue()


def test_a_codalab_export_gives_teams_methods_and_the_platforms_agreement(cls_case, tmp_path):
    labels, reference, folder, predictions = cls_case
    right = float(accuracy_score(labels, predictions["strong"]))
    export = codalab_export(tmp_path / "export.zip", {
        "team_names_and_members.txt": b"Team: Owls; members: ann, ben\n",
        "alice - 3 submission.zip": (folder / "strong.zip").read_bytes(),
        "alice - 3 output.zip": output_zip({"top1_accuracy": right}),
        "alice - 3 method.txt": b"method_name: ResNet-ish\nmethod_description: two\nlines\n",
        "Team Owls  - 7 submission.zip": (folder / "middle.zip").read_bytes(),
        "Team Owls  - 7 output.zip": output_zip({"top1_accuracy": 0.99, "mean_class_accuracy": 0.5}),
        "Team Owls  - 7 profile.txt": b"Team Name: Owls\nMethod Name: Feathers\nBibtex: None\n",
        "carl - 1 submission.zip": b"not a zip",
    })
    published = run("classification", export, reference, tmp_path / "out")
    records = json.loads((tmp_path / "out" / "results.json").read_text())["entries"]
    by = {r["entrant"]: r for r in records}
    assert [r["entrant"] for r in records] == ["alice", "Owls", "carl"]
    assert by["alice"]["method"] == "ResNet-ish" and by["alice"]["platform_agrees"] is True
    assert by["Owls"]["team"] == "Owls" and by["Owls"]["members"] == "ann, ben" and by["Owls"]["method"] == "Feathers"
    assert by["Owls"]["platform_agrees"] is False
    (mismatch,) = [m for m in by["Owls"]["platform_mismatches"] if m["column"] == "top1_accuracy"]
    assert mismatch["platform"] == 0.99 and mismatch["ours"] == accuracy_score(labels, predictions["middle"])
    assert by["carl"]["rank"] is None and by["carl"]["error"].startswith("error: ") and by["carl"]["ci"] is None
    assert set(by["alice"]) >= {"entrant", "submission", "rank", "scores", "ci", "tied_with", "platform_agrees", "error",
                                "method"}
    assert len(published.ranked) == 3 and not (tmp_path / "out" / ".work").exists()
    page = (tmp_path / "out" / "results.html").read_text()
    assert "differs" in page and "Platform scores that differ" in page and "Invalid submissions" in page


def test_hostile_names_stay_inside_the_output_and_are_escaped_everywhere(cls_case, tmp_path):
    labels, reference, folder, _ = cls_case
    sub = (folder / "strong.zip").read_bytes()
    export = codalab_export(tmp_path / "export.zip", {
        "../../escaped - 1 submission.zip": sub,
        "/abs/x - 2 submission.zip": sub,
        "<script>alert(1)</script> - 3 submission.zip": sub,
        "=HYPERLINK(\"x\") - 4 submission.zip": sub,
        "line\nbreak - 5 submission.zip": sub,
        "big - 6 submission.zip": b"\0" * 50_000,
    })
    before = set(os.listdir(tmp_path))
    competition = load_competition("classification")
    competition.challenge.__class__.max_submission_bytes = 20_000  # the export's big member is over it
    try:
        publish(competition, export, reference, "Test", tmp_path / "out", 5, 0, 1)
    finally:
        del competition.challenge.__class__.max_submission_bytes
    assert set(os.listdir(tmp_path)) == before | {"out"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        ".cache", "blob_plot.svg", "intervals.svg", "results.csv", "results.html", "results.json", "results.md",
        "results.tex", "significance.svg"]
    for name in ("results.html", "blob_plot.svg", "intervals.svg", "significance.svg"):
        page = (tmp_path / "out" / name).read_text()
        assert "<script>" not in page and "alert(1)" in page, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (tmp_path / "out" / "results.html").read_text()
    assert "<script>" not in (tmp_path / "out" / "results.md").read_text()
    cells = [cell for row in csv.reader(io.StringIO((tmp_path / "out" / "results.csv").read_text())) for cell in row]
    assert "'=HYPERLINK(\"x\")" in cells and not any(cell.startswith(("=", "+", "@")) for cell in cells)
    records = json.loads((tmp_path / "out" / "results.json").read_text())["entries"]
    assert {"line break", "../../escaped", "/abs/x"} <= {r["entrant"] for r in records}
    assert next(r for r in records if r["entrant"] == "big")["error"] == "error: submission larger than 19.5 KiB"


def test_a_second_run_reads_the_cache_and_a_changed_submission_is_scored_again(cls_case, tmp_path, monkeypatch):
    labels, reference, folder, predictions = cls_case
    first = (run("classification", folder, reference, tmp_path / "out").files[0]).read_text()
    monkeypatch.setattr("bundler.results.rescore._score", lambda *args: pytest.fail("scored again despite the cache"))
    assert run("classification", folder, reference, tmp_path / "out").files[0].read_text() == first
    csv_submission(folder / "weak.zip", labels)  # now perfect
    monkeypatch.undo()
    again = json.loads(run("classification", folder, reference, tmp_path / "out").files[0].read_text())
    assert again["entries"][0]["entrant"] == "weak" and again["entries"][0]["scores"]["top1_accuracy"] == 1.0


def test_the_same_seed_gives_the_same_results_with_any_number_of_workers(cls_case, tmp_path):
    _, reference, folder, _ = cls_case
    one = run("classification", folder, reference, tmp_path / "a", workers=1).files[0].read_text()
    two = run("classification", folder, reference, tmp_path / "b", workers=2).files[0].read_text()
    assert one == two
    other = publish(load_competition("classification"), folder, reference, "Test", tmp_path / "c", B, 1, 1)
    assert json.loads(other.files[0].read_text())["entries"][0]["ci"] != json.loads(one)["entries"][0]["ci"]


def test_the_command_prints_the_ranking_and_reads_the_phase_reference_from_data(tmp_path, capsys):
    from tests.fake_datasets import make

    _, data = make("action", tmp_path)
    folder = tmp_path / "subs"
    folder.mkdir()
    labels = (data / "reference" / "test" / "labels.txt").read_bytes()
    write_zip(folder / "perfect.zip", {"p.txt": labels})
    code = main(["results", "action", "--submissions", str(folder), "--data", str(data), "--output", str(tmp_path / "out"),
                 "--bootstrap", "50", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "phase 2 (Test)" in out and "perfect" in out and "1.0000  [1.0000, 1.0000]" in out
    assert main(["results", "action", "--submissions", str(tmp_path / "nope"), "--data", str(data), "--output",
                 str(tmp_path / "o2")]) == 1
    assert "not found" in capsys.readouterr().err


def test_entries_of_a_folder_are_its_zips(tmp_path):
    (tmp_path / "b.zip").write_bytes(b"x")
    (tmp_path / "a.zip").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [e.entrant for e in read_entries(tmp_path, tmp_path / "work", 100)] == ["a", "b"]


def test_the_event_page_shows_the_final_ranking_from_the_results_and_nothing_before(cls_case, tmp_path):
    from bundler.config.event import load_event
    from bundler.pages.site import write_site

    _, reference, folder, _ = cls_case
    csv_submission(folder / "<b>bold | pipe.zip", [0] * 200)
    event = load_event()
    index, markdown = write_site(event, tmp_path / "before", tmp_path / "build")
    assert "Final ranking" not in index.read_text() and "Final ranking" not in markdown.read_text()
    run("classification", folder, reference, tmp_path / "build" / "classification_results")
    index, markdown = write_site(event, tmp_path / "after", tmp_path / "build")
    page, text = index.read_text(), markdown.read_text()
    assert page.count("Final ranking") == 1 and "strong" in page and "&lt;b&gt;bold" in page and "<b>bold" not in page
    records = json.loads((tmp_path / "build" / "classification_results" / "results.json").read_text())["entries"]
    first = records[0]
    assert f"| {first['rank']} | strong |  | {first['scores']['top1_accuracy']:.4f} | {first['ci'][0]:.4f} – " in text
    assert "&lt;b&gt;bold \\| pipe" in text


def test_a_challenge_without_a_resampler_is_ranked_without_intervals_and_the_command_says_so(cls_case, tmp_path,
                                                                                                monkeypatch, capsys):
    from scoring.challenges.classification import CHALLENGE

    _, reference, folder, _ = cls_case
    monkeypatch.setattr(CHALLENGE, "resampled", False, raising=False)
    code = main(["results", "classification", "--submissions", str(folder), "--reference", str(reference), "--output",
                 str(tmp_path / "out"), "--bootstrap", "20", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "the classification challenge declares no resampler" in out and "[" not in out.split("\n", 2)[2]
    entries = json.loads((tmp_path / "out" / "results.json").read_text())["entries"]
    assert [entry["ci"] for entry in entries] == [None, None, None] and entries[0]["rank"] == 1


def test_published_results_name_the_reference_and_its_digest_never_its_private_path(cls_case, tmp_path):
    _, reference, folder, _ = cls_case
    published = run("classification", folder, reference, tmp_path / "out")
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["reference"]["name"] == reference.name and len(document["reference"]["sha256"]) == 64
    for path in published.files:
        assert str(reference.parent) not in path.read_text(), path.name


def test_after_the_close_the_event_page_says_so_and_links_the_finished_competition_where_known(cls_case, tmp_path):
    import datetime as dt

    from bundler.config.event import load_event
    from bundler.pages.site import write_site

    _, reference, folder, _ = cls_case
    event = load_event()
    before = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)

    def section(page: str, name: str) -> str:
        return page.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]

    index, _ = write_site(event, tmp_path / "open", tmp_path / "build", now=before)
    assert "Link available when the competition opens" in section(index.read_text(), "classification")
    run("classification", folder, reference, tmp_path / "build" / "classification_results")
    index, markdown = write_site(event, tmp_path / "closed", tmp_path / "build", now=before)
    text = section(index.read_text(), "classification")
    assert "The competition closed on" in text and "Link available" not in text and "register" not in text
    assert "Link available when the competition opens" in section(index.read_text(), "detection")
    event.competitions[0].config.codalab_id = 1234
    index, markdown = write_site(event, tmp_path / "linked", tmp_path / "build", now=dt.datetime(2030, 1, 1,
                                                                                                tzinfo=dt.timezone.utc))
    text = section(index.read_text(), "classification")
    assert "See the finished" in text and "/competitions/1234" in text
    assert "The competition closed on" in section(index.read_text(), "detection")
    assert "See the finished" in markdown.read_text()
