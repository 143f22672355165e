"""``bundler results``: intervals equal a slow reference bootstrap, ties, CodaLab's export, hostile names,
the cache, determinism."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import html
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
from bundler.config.competition import ConfigError, load_competition
from bundler.results.command import publish
from bundler.results.entries import EntriesError, read_entries, read_leaderboard
from bundler.results.ranking import interval
from scoring.resampling import resample_draws
from tests.coco_cases import generate, pycocotools_stats
from tests.helpers import BEFORE, write_reference, write_zip

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
    records = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["entries"]
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
    page = (tmp_path / "out" / "results.html").read_text(encoding="utf-8")
    assert "differs" in page and "Platform scores (CodaLab) that differ" in page and "Invalid submissions" in page
    assert json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["platform"] == "CodaLab"


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
        page = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert "<script>" not in page and "alert(1)" in page, name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (tmp_path / "out" / "results.html").read_text(encoding="utf-8")
    assert "<script>" not in (tmp_path / "out" / "results.md").read_text(encoding="utf-8")
    table = (tmp_path / "out" / "results.csv").read_text(encoding="utf-8")
    cells = [cell for row in csv.reader(io.StringIO(table)) for cell in row]
    assert "'=HYPERLINK(\"x\")" in cells and not any(cell.startswith(("=", "+", "@")) for cell in cells)
    records = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["entries"]
    assert {"line break", "../../escaped", "/abs/x"} <= {r["entrant"] for r in records}
    assert next(r for r in records if r["entrant"] == "big")["error"] == "error: submission larger than 19.5 KiB"


def test_a_second_run_reads_the_cache_and_a_changed_submission_is_scored_again(cls_case, tmp_path, monkeypatch):
    labels, reference, folder, predictions = cls_case
    first = (run("classification", folder, reference, tmp_path / "out").files[0]).read_text(encoding="utf-8")
    monkeypatch.setattr("bundler.results.rescore._score", lambda *args: pytest.fail("scored again despite the cache"))
    assert run("classification", folder, reference, tmp_path / "out").files[0].read_text(encoding="utf-8") == first
    csv_submission(folder / "weak.zip", labels)  # now perfect
    monkeypatch.undo()
    again = json.loads(run("classification", folder, reference, tmp_path / "out").files[0].read_text(encoding="utf-8"))
    assert again["entries"][0]["entrant"] == "weak" and again["entries"][0]["scores"]["top1_accuracy"] == 1.0


def test_the_same_seed_gives_the_same_results_with_any_number_of_workers(cls_case, tmp_path):
    _, reference, folder, _ = cls_case
    one = run("classification", folder, reference, tmp_path / "a", workers=1).files[0].read_text(encoding="utf-8")
    two = run("classification", folder, reference, tmp_path / "b", workers=2).files[0].read_text(encoding="utf-8")
    assert one == two
    other = publish(load_competition("classification"), folder, reference, "Test", tmp_path / "c", B, 1, 1)
    assert json.loads(other.files[0].read_text(encoding="utf-8"))["entries"][0]["ci"] != json.loads(one)["entries"][0]["ci"]


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
    label_free = data / "public" / "references" / "test"
    assert main(["results", "action", "--submissions", str(folder), "--reference", str(label_free), "--output",
                 str(tmp_path / "o3")]) == 1
    assert f"meant: {data / 'reference' / 'test'}" in capsys.readouterr().err


def test_entries_of_a_folder_are_its_zips(tmp_path):
    (tmp_path / "b.zip").write_bytes(b"x")
    (tmp_path / "a.zip").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert [e.entrant for e in read_entries(tmp_path, tmp_path / "work", 100)] == ["a", "b"]


AFTER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)


def test_the_event_page_shows_a_final_ranking_only_where_published(cls_case, tmp_path):
    from bundler.config.event import load_event
    from bundler.pages.site import write_site

    _, reference, folder, _ = cls_case
    csv_submission(folder / "<b>bold | pipe.zip", [0] * 200)
    event = load_event()
    results = tmp_path / "build" / "classification_results"
    run("classification", folder, reference, results)
    index, markdown = write_site(event, tmp_path / "unpublished", now=AFTER)  # results lying in build/ are not shown
    assert not any("Final ranking" in page.read_text(encoding="utf-8") for page in (index, markdown))
    index, markdown = write_site(event, tmp_path / "after", {"classification": results}, now=AFTER)
    page, text = index.read_text(encoding="utf-8"), markdown.read_text(encoding="utf-8")
    assert page.count("Final ranking") == 1 and "strong" in page and "&lt;b&gt;bold" in page and "<b>bold" not in page
    assert "rehearsal" not in page.lower() and "rehearsal" not in text.lower()
    records = json.loads((results / "results.json").read_text(encoding="utf-8"))["entries"]
    first = records[0]
    assert f"| {first['rank']} | strong |  | {first['scores']['top1_accuracy']:.4f} | {first['ci'][0]:.4f} – " in text
    assert "&lt;b&gt;bold \\| pipe" in text


def test_results_are_refused_before_the_close_unless_a_rehearsal_which_every_page_says(cls_case, tmp_path, capsys,
                                                                                         monkeypatch):
    from bundler.config.competition import ConfigError
    from bundler.config.event import load_event
    from bundler.pages.site import write_site

    _, reference, folder, _ = cls_case
    results = tmp_path / "classification_results"
    run("classification", folder, reference, results)
    event = load_event()
    with pytest.raises(ConfigError) as exc:
        write_site(event, tmp_path / "early", {"classification": results, "detection": results}, now=BEFORE)
    assert exc.value.problems == [
        "--publish classification: its last phase (Test) ends 2027-06-15 23:59:59 UTC; results are published once it "
        "has ended (--rehearsal shows them, marked as a rehearsal)",
        "--publish detection: its last phase (Test) ends 2027-06-15 23:59:59 UTC; results are published once it has "
        "ended (--rehearsal shows them, marked as a rehearsal)"]
    assert not (tmp_path / "early").exists()
    with pytest.raises(ConfigError) as exc:
        write_site(event, tmp_path / "wrong", {"detection": results}, now=AFTER)
    assert exc.value.problems == [f"{results / 'results.json'}: the results of classification, phase Test, not of "
                                  "detection's last phase (Test), which ranks it"]
    index, markdown = write_site(event, tmp_path / "rehearsal", {"classification": results}, now=BEFORE, rehearsal=True)
    page, text = index.read_text(encoding="utf-8"), markdown.read_text(encoding="utf-8")
    assert "Final ranking (rehearsal, not real results)" in page and "Final ranking (rehearsal, not real results)" in text
    assert "<strong>Rehearsal.</strong>" in page and "> **Rehearsal.**" in text and "rehearsal: true" in text
    assert "closed on" not in page  # a rehearsal closes nothing
    monkeypatch.setattr("bundler.pages.site.utc_now", lambda: BEFORE)
    code = main(["site", "--publish", f"classification={results}", "--output", str(tmp_path / "cli")])
    assert code == 1 and "--publish classification: its last phase (Test) ends" in capsys.readouterr().err


def test_a_challenge_without_a_resampler_is_ranked_without_intervals_and_the_command_says_so(cls_case, tmp_path,
                                                                                                monkeypatch, capsys):
    from scoring.challenges.classification import CHALLENGE

    _, reference, folder, _ = cls_case
    monkeypatch.setattr(CHALLENGE, "resampled", False, raising=False)
    code = main(["results", "classification", "--submissions", str(folder), "--reference", str(reference), "--output",
                 str(tmp_path / "out"), "--bootstrap", "20", "--workers", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "the classification challenge declares no resampler" in out and "[" not in out.split("\n", 2)[2]
    entries = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["entries"]
    assert [entry["ci"] for entry in entries] == [None, None, None] and entries[0]["rank"] == 1


def test_published_results_name_the_reference_and_its_digest_never_its_private_path(cls_case, tmp_path):
    _, reference, folder, _ = cls_case
    published = run("classification", folder, reference, tmp_path / "out")
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert document["reference"]["name"] == reference.name and len(document["reference"]["sha256"]) == 64
    for path in published.files:
        assert str(reference.parent) not in path.read_text(encoding="utf-8"), path.name


def test_after_the_close_the_event_page_says_so_and_links_the_finished_competition_where_known(tmp_path):
    from bundler.config.event import load_event
    from bundler.pages.site import write_site

    event = load_event()

    def section(page: str, name: str) -> str:
        return page.split(f'id="{name}"', 1)[1].split("</section>", 1)[0]

    index, _ = write_site(event, tmp_path / "open", now=BEFORE)
    assert "link available when the competition opens" in section(index.read_text(encoding="utf-8"), "classification")
    event.competitions[0].config.platform_id = 1234
    index, markdown = write_site(event, tmp_path / "closed", now=AFTER)
    text = section(index.read_text(encoding="utf-8"), "classification")
    assert "The competition closed on" in text and "2027-06-15 23:59:59 UTC" in text and "register" not in text
    assert "See the finished" in text and 'href="https://www.codabench.org/competitions/1234/"' in text
    assert "The competition closed on" in section(index.read_text(encoding="utf-8"), "detection")
    assert "See the finished" in markdown.read_text(encoding="utf-8")


def test_undefined_averages_read_n_a_in_every_view_which_says_why_once(tmp_path):
    from bundler.config.event import load_event
    from bundler.pages.site import write_site
    from scoring.report import WHY_UNDEFINED

    images = [{"id": i, "width": 100, "height": 100, "file_name": f"{i}.jpg"} for i in range(1, 7)]
    boxes = [{"id": i, "image_id": i, "category_id": 1, "bbox": [10.0, 10.0, 10.0 + i, 10.0], "area": 10.0 * (10 + i),
              "iscrowd": 0} for i in range(1, 7)]  # small objects only: medium and large averages are undefined (-1)
    truth = {"images": images, "annotations": boxes, "categories": [{"id": 1, "name": "thing"}]}
    reference = write_reference(tmp_path / "ref", {"task": "detection"}, {"annotations.json": json.dumps(truth)})
    folder = tmp_path / "subs"
    folder.mkdir()
    found = [{"image_id": b["image_id"], "category_id": 1, "bbox": b["bbox"], "score": 0.9} for b in boxes]
    write_zip(folder / "exact.zip", {"d.json": json.dumps(found)})
    run("detection", folder, reference, tmp_path / "out", bootstrap=5)
    document = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert document["entries"][0]["scores"]["APm"] == -1  # the data keeps the platform's number
    for name in ("results.html", "results.md", "results.tex"):
        text = html.unescape((tmp_path / "out" / name).read_text(encoding="utf-8"))
        assert "-1.0000" not in text and "n/a" in text, name
        assert text.count(WHY_UNDEFINED.replace("n/a: ", "")) == 1, name
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "results.csv").read_text(encoding="utf-8"))))
    assert rows[0]["APm"] == rows[0]["ARl"] == "n/a" and rows[0]["AP50"] == "1.0"
    event = load_event()
    published = {"detection": tmp_path / "out"}
    index, markdown = write_site(event, tmp_path / "site", published, now=AFTER)  # AP itself is defined
    assert "n/a" not in index.read_text(encoding="utf-8") and "1.0000" in index.read_text(encoding="utf-8")


def codabench_leaderboard(rows: Dict[str, Dict[str, object]], task: str = "VIPriors: Test(11)") -> str:
    """A phase's leaderboard CSV as Codabench's results download writes it (Username = owner-submission id)."""
    labels = [column.label for column in load_competition("classification").challenge.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Username", "fact_sheet_answers"] + [f"{task}-{label}" for label in labels])
    for username, scores in rows.items():
        writer.writerow([username, ""] + [scores.get(label, "") for label in labels])
    return buffer.getvalue()


def test_a_codabench_download_ranks_the_submissions_its_leaderboard_names_and_checks_their_stored_scores(cls_case,
                                                                                                         tmp_path, capsys):
    labels, reference, folder, predictions = cls_case
    strong, middle = (folder / "strong.zip").read_bytes(), (folder / "middle.zip").read_bytes()
    bulk = codalab_export(tmp_path / "bulk_submissions.zip", {  # as Codabench's submission manager zips them
        "101_alice_PhaseId7_2027-06-10_31-07_strong.zip": strong,
        "102_alice_PhaseId7_2027-06-11_01-02_other.zip": middle,  # not the one on the leaderboard
        "103_bob_PhaseId7_2027-06-12_05-09_sub.zip": middle,
        "90_carl_PhaseId6_2027-04-01_00-00_dev.zip": strong,  # the development phase
        "failed.txt": "The following submissions failed to download:\n\n105_dora_PhaseId7_2027-06-14:10-11_x.zip (HTTP 404)",
    })
    right = float(accuracy_score(labels, predictions["strong"]))
    test = codabench_leaderboard({"alice-101": {"Top-1 accuracy": f"{right:.10f}"},
                                  "bob-103": {"Top-1 accuracy": "0.9900000000"}, "dora-105": {}, "eve-106": {}})
    board = codalab_export(tmp_path / "All results.zip", {
        "Results - Test(7).csv": test, "Results - Development(6).csv": codabench_leaderboard({"carl-90": {}})})
    competition = load_competition("classification")
    assert [c.label for c in competition.challenge.columns][0] == "Top-1 accuracy"
    for leaderboard in (board, codalab_export(tmp_path / "one.zip", {"Results - Test(7).csv": test})):
        publish(competition, bulk, reference, "Test", tmp_path / "out", B, 0, 1, leaderboard)
        records = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["entries"]
        by = {r["entrant"]: r for r in records}
        assert [r["entrant"] for r in records] == ["alice", "bob", "dora", "eve"]
        assert by["alice"]["submission"] == "alice - 101" and by["alice"]["platform_agrees"] is True
        assert by["alice"]["scores"]["top1_accuracy"] == right
        assert by["bob"]["platform_agrees"] is False and by["bob"]["platform_mismatches"][0]["platform"] == 0.99
        assert by["dora"]["error"] == "error: Codabench could not download it (HTTP 404)"
        assert by["eve"]["error"].startswith("error: on the leaderboard") and by["eve"]["rank"] is None
        assert "downloaded from Codabench" in (tmp_path / "out" / "results.html").read_text(encoding="utf-8")
        assert "downloaded from Codabench" in (tmp_path / "out" / "results.md").read_text(encoding="utf-8")
    (tmp_path / "Results - Test(7).csv").write_text(test)  # the single CSV of 'This CSV'
    publish(competition, bulk, reference, "Test", tmp_path / "csv", B, 0, 1, tmp_path / "Results - Test(7).csv")
    again = json.loads((tmp_path / "csv" / "results.json").read_text(encoding="utf-8"))["entries"]
    assert [(r["entrant"], r["scores"], r["platform_agrees"]) for r in again] == [
        (r["entrant"], r["scores"], r["platform_agrees"]) for r in records]
    with pytest.raises(ConfigError) as exc:
        publish(competition, bulk, reference, "Final", tmp_path / "x", B, 0, 1, board)
    assert exc.value.problems == ["All results.zip: no leaderboard of phase 'Final' (it holds the phases Development, Test)"]
    code = main(["results", "classification", "--submissions", str(bulk), "--leaderboard", str(board), "--reference",
                 str(reference), "--output", str(tmp_path / "cli"), "--bootstrap", "20", "--workers", "1"])
    assert code == 0 and "platform disagrees: bob, top1_accuracy: platform 0.99" in capsys.readouterr().out


def test_a_codabench_download_without_leaderboard_must_hold_one_final_submission_each(cls_case, tmp_path):
    _, reference, folder, _ = cls_case
    strong, weak = (folder / "strong.zip").read_bytes(), (folder / "weak.zip").read_bytes()
    members = {"101_alice_PhaseId7_2027-06-10_31-07_a.zip": strong, "102_alice_PhaseId7_2027-06-11_01-02_b.zip": weak,
               "103_bob_PhaseId7_2027-06-12_05-09_c.zip": weak}
    competition = load_competition("classification")
    with pytest.raises(ConfigError) as exc:
        publish(competition, codalab_export(tmp_path / "twice.zip", members), reference, "Test", tmp_path / "o", B, 0, 1)
    assert "several submissions of one participant (alice: 101, 102)" in exc.value.problems[0]
    members["90_carl_PhaseId6_2027-04-01_00-00_dev.zip"] = members.pop("102_alice_PhaseId7_2027-06-11_01-02_b.zip")
    with pytest.raises(ConfigError) as exc:
        publish(competition, codalab_export(tmp_path / "phases.zip", members), reference, "Test", tmp_path / "o", B, 0, 1)
    assert "submissions of 2 phases (PhaseId 6, 7)" in exc.value.problems[0]
    del members["90_carl_PhaseId6_2027-04-01_00-00_dev.zip"]
    members["7_../../<b>x_PhaseId7_2027-06-12_05-09_d.zip"] = strong  # a hostile name stays a name
    export = codalab_export(tmp_path / "final.zip", members)
    before = set(os.listdir(tmp_path))
    publish(competition, export, reference, "Test", tmp_path / "out", B, 0, 1)
    assert set(os.listdir(tmp_path)) == before | {"out"}
    records = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))["entries"]
    assert [(r["entrant"], r["platform_agrees"]) for r in records] == [("../../<b>x", None), ("alice", None), ("bob", None)]
    assert "<b>x" not in (tmp_path / "out" / "results.html").read_text(encoding="utf-8")


def test_a_damaged_or_foreign_leaderboard_is_one_error_naming_the_file(cls_case, tmp_path):
    _, reference, folder, _ = cls_case
    weak = (folder / "weak.zip").read_bytes()
    bulk = codalab_export(tmp_path / "bulk.zip", {"101_alice_PhaseId7_2027-06-10_31-07_a.zip": weak})
    competition = load_competition("classification")
    cases = {"huge.csv": "Username,x\n" + '"' + "9" * 200_000 + '"\n', "other.csv": "Team,score\nalice,1\n",
             "nul.zip": "PK\0\0 not a zip"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError) as exc:
            publish(competition, bulk, reference, "Test", tmp_path / "out", B, 0, 1, tmp_path / name)
        (problem,) = exc.value.problems
        assert problem.startswith(str(tmp_path / name) if name != "nul.zip" else "nul.zip: not a readable zip"), problem
    (tmp_path / "Results - Test(7).csv").write_text(codabench_leaderboard({"alice-101": {}}))
    with pytest.raises(ConfigError) as exc:
        publish(competition, folder, reference, "Test", tmp_path / "out", B, 0, 1, tmp_path / "Results - Test(7).csv")
    assert "--leaderboard goes with Codabench's bulk_submissions.zip" in exc.value.problems[0]


def test_a_participant_cannot_pose_as_another_entrant_through_the_file_name_of_a_submission(tmp_path):
    posing = "12_alice_PhaseId7_2026-05-01_10-20_x_PhaseId7_2026-05-01_10-20_sub.zip"  # alice's own file name x_PhaseId7...
    bulk = codalab_export(tmp_path / "bulk.zip", {posing: b"a", "13_alice_PhaseId7_2026-05-02_10-20_b.zip": b"b"})
    with pytest.raises(EntriesError, match=r"several submissions of one participant \(alice: 12, 13\)"):
        read_entries(bulk, tmp_path / "work", 1 << 20)


def test_a_single_leaderboard_csv_of_another_phase_is_refused_and_a_phase_name_may_hold_a_dash(tmp_path):
    columns = load_competition("classification").challenge.columns
    other = tmp_path / "Results - Development(6).csv"
    other.write_text(codabench_leaderboard({"alice-101": {}}))
    with pytest.raises(EntriesError, match=r"the leaderboard of phase 'Development', not of phase 'Test'"):
        read_leaderboard(other, "Test", columns)
    dashed = tmp_path / "Results - Final - test(7).csv"
    dashed.write_text(codabench_leaderboard({"alice-101": {}}))
    assert read_leaderboard(dashed, "Final - test", columns).phase_id == "7"
    both = codalab_export(tmp_path / "all.zip", {dashed.name: dashed.read_bytes(), other.name: other.read_bytes()})
    assert read_leaderboard(both, "Final - test", columns).phase_id == "7"
    again = tmp_path / "Results - Test(7) (1).csv"  # a browser's name for a second download of the same file
    again.write_text(codabench_leaderboard({"alice-101": {}}))
    assert read_leaderboard(again, "Test", columns).phase_id == "7"


def test_a_leaderboard_naming_one_submission_twice_is_refused_naming_the_row(tmp_path):
    board = tmp_path / "Results - Test(7).csv"
    board.write_text(codabench_leaderboard({"alice-101": {"Top-1 accuracy": "0.5"}, "bob-102": {},
                                            "mallory-101": {"Top-1 accuracy": "0.9"}}))
    with pytest.raises(EntriesError, match=r"row 4 \(mallory-101\) repeats submission 101"):
        read_leaderboard(board, "Test", load_competition("classification").challenge.columns)
