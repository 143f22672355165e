"""The scoring program's command line: both modes, outputs, exit codes, and safe submission reading."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from bundler.bundles.build import build
from bundler.cli import main as bundler_main
from bundler.config.competition import load_competition
from scoring.challenge import challenges, load_reference, read_reference_info
from scoring.challenges import classification
from scoring.challenges.action import CHALLENGE
from tests.fake_datasets import make
from tests.helpers import REPO, assert_rejected, score, scores_of, write_reference, write_zip

LABELS = "image,label\n" + "".join(f"img_{i}.JPEG,{i % 7}\n" for i in range(20))
PERFECT = "Image IDs,Predictions\n" + "".join(f"img_{i}.JPEG,{i % 7}\n" for i in range(20))


@pytest.fixture
def ref(tmp_path):
    return write_reference(tmp_path / "ref", {"task": "classification", "num_classes": 10}, {"labels.csv": LABELS})


def test_local_mode_prints_a_table_and_writes_the_three_outputs(tmp_path, ref):
    sub = write_zip(tmp_path / "sub.zip", {"predictions.csv": PERFECT})
    run = score("--reference", ref, sub, "--output", tmp_path / "out")
    assert run.code == 0, run.err
    assert "Top-1 accuracy" in run.out and "1.0000" in run.out
    assert sorted(os.listdir(tmp_path / "out")) == ["detailed_results.html", "scores.json", "scores.txt"]


def test_platform_mode_reads_input_ref_and_res_and_writes_output(tmp_path, ref):
    (tmp_path / "input").mkdir()
    ref.rename(tmp_path / "input" / "ref")
    (tmp_path / "input" / "res").mkdir()
    (tmp_path / "input" / "res" / "predictions.csv").write_text(PERFECT)
    run = score(tmp_path / "input", tmp_path / "output")
    assert run.code == 0, run.err
    assert (tmp_path / "output" / "scores.txt").read_text() == "top1_accuracy: 1.0\nmean_class_accuracy: 1.0\n"


def test_scores_txt_has_one_colon_and_a_plain_float_per_line_as_codalab_reads_it(tmp_path, ref):
    rows = PERFECT.splitlines()[:4]  # 3 of 20 images
    run = score("--reference", ref, write_zip(tmp_path / "s.zip", {"p.csv": "\n".join(rows)}), "--output", tmp_path / "o")
    assert run.code == 0
    for line in (tmp_path / "o" / "scores.txt").read_text().splitlines():
        assert line.count(":") == 1
        key, value = line.split(":")
        assert "e" not in value.lower()
        float(value)
    scores = json.loads((tmp_path / "o" / "scores.json").read_text())
    assert scores["top1_accuracy"] == pytest.approx(3 / 20)
    assert scores["images_missing"] == 17 and scores["images_total"] == 20


def test_detailed_page_is_self_contained_and_reports_missing_images(tmp_path, ref):
    rows = PERFECT.splitlines()[:3]
    score("--reference", ref, write_zip(tmp_path / "s.zip", {"p.csv": "\n".join(rows)}), "--output", tmp_path / "o")
    page = (tmp_path / "o" / "detailed_results.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert "18 of 20 images have no prediction" in page
    assert "<script" not in page and "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_prediction_file_inside_one_folder_of_the_zip_is_found(tmp_path, ref):
    sub = write_zip(tmp_path / "s.zip", {"team/predictions.csv": PERFECT, "team/README.txt": "hi"})
    assert score("--reference", ref, sub).code == 0


def test_a_folder_or_the_bare_prediction_file_is_accepted_in_local_mode(tmp_path, ref):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "p.csv").write_text(PERFECT)
    assert score("--reference", ref, tmp_path / "folder").code == 0
    assert score("--reference", ref, tmp_path / "folder" / "p.csv").code == 0


def test_macosx_and_dot_files_are_ignored(tmp_path, ref):
    sub = write_zip(tmp_path / "s.zip", {"p.csv": PERFECT, "__MACOSX/._p.csv": "junk", ".hidden.csv": "junk"})
    assert score("--reference", ref, sub).code == 0


@pytest.mark.parametrize(
    "member, message",
    [("../evil.csv", "points outside the zip"), ("/abs/evil.csv", "absolute path"), ("C:/evil.csv", "absolute path")],
)
def test_members_escaping_the_zip_are_rejected(tmp_path, ref, member, message):
    sub = write_zip(tmp_path / "s.zip", {member: PERFECT})
    assert_rejected(score("--reference", ref, sub, "--output", tmp_path / "o"), tmp_path / "o", message)


def test_symbolic_links_in_a_zip_are_rejected(tmp_path, ref):
    sub = tmp_path / "s.zip"
    with zipfile.ZipFile(sub, "w") as archive:
        info = zipfile.ZipInfo("p.csv")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    assert_rejected(score("--reference", ref, sub), None, "symbolic link")


def test_symbolic_links_in_a_folder_are_rejected(tmp_path, ref):
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "p.csv").symlink_to("/etc/passwd")
    assert_rejected(score("--reference", ref, tmp_path / "res"), None, "symbolic link")


def test_a_zip_larger_than_the_limit_once_uncompressed_is_refused(tmp_path, ref, monkeypatch):
    monkeypatch.setattr(classification.CHALLENGE, "max_submission_bytes", 1000)
    sub = write_zip(tmp_path / "s.zip", {"p.csv": PERFECT + "\n" * 5000})
    assert_rejected(score("--reference", ref, sub), None, "more than the limit of 1000 bytes")


def test_a_damaged_zip_is_a_submission_error(tmp_path, ref):
    sub = tmp_path / "s.zip"
    sub.write_bytes(b"PK\x03\x04" + b"\0" * 40)
    run = score("--reference", ref, sub)
    assert run.code == 1 and run.err.startswith("error: ")


def test_no_or_several_prediction_files_are_rejected(tmp_path, ref):
    none = write_zip(tmp_path / "a.zip", {"notes.txt": "x"})
    assert_rejected(score("--reference", ref, none), None, "no .csv file found", "'notes.txt'")
    two = write_zip(tmp_path / "b.zip", {"a.csv": PERFECT, "b.csv": PERFECT})
    assert_rejected(score("--reference", ref, two), None, "2 .csv files", "submit exactly one")


def test_reference_problems_exit_2(tmp_path):
    sub = write_zip(tmp_path / "s.zip", {"p.csv": PERFECT})
    run = score("--reference", tmp_path / "nowhere", sub)
    assert run.code == 2 and "reference folder not found" in run.err
    (tmp_path / "r1").mkdir()
    assert "reference.json" in score("--reference", tmp_path / "r1", sub).err
    write_reference(tmp_path / "r2", {"task": "juggling"}, {})
    run = score("--reference", tmp_path / "r2", sub)
    assert run.code == 2 and "unknown task 'juggling'" in run.err and "classification" in run.err
    write_reference(tmp_path / "r3", {"task": "classification"}, {"labels.csv": "image,label\nimg_0.JPEG,cat\n"})
    run = score("--reference", tmp_path / "r3", sub)
    assert run.code == 2 and "line 2" in run.err


def test_usage_errors_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        score("only-one-path")
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        score("--reference", tmp_path, "a", "b")
    assert exc.value.code == 2


def test_an_unexpected_failure_prints_one_line_and_no_traceback(tmp_path, ref, monkeypatch):
    def broken(*args):
        raise KeyError("img_3.JPEG label 5")

    monkeypatch.setattr(classification.CHALLENGE, "score", broken)
    run = score("--reference", ref, write_zip(tmp_path / "s.zip", {"p.csv": PERFECT}))
    assert run.code == 2
    assert run.err.startswith("error: internal error") and "Traceback" not in run.err and "label 5" not in run.err


def test_score_py_runs_as_a_script_from_any_folder_as_the_platform_starts_it(tmp_path, ref):
    (tmp_path / "input").mkdir()
    ref.rename(tmp_path / "input" / "ref")
    (tmp_path / "input" / "res").mkdir()
    (tmp_path / "input" / "res" / "p.csv").write_text("Image IDs,Predictions\nimg_0.JPEG,12\n")
    done = subprocess.run(
        [sys.executable, str(REPO / "scoring" / "score.py"), "input", "output"],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": os.environ["PATH"]},
    )
    assert done.returncode == 1
    assert done.stderr == "error: p.csv, line 2: class 12 is outside 0..9\n"
    assert not (tmp_path / "output" / "scores.txt").exists()


def run_without(module: str, *args: str) -> subprocess.CompletedProcess:
    """score.py run by an interpreter on which ``module`` cannot be imported."""
    code = (f"import sys, runpy; sys.modules[{module!r}] = None; sys.argv = ['score.py', *{list(args)!r}]; "
            "runpy.run_path('scoring/score.py', run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)


def test_a_python_without_pillow_still_scores_the_challenges_that_do_not_need_it(tmp_path, ref):
    sub = write_zip(tmp_path / "sub.zip", {"predictions.csv": PERFECT})
    done = run_without("PIL", "--reference", str(ref), str(sub))
    assert done.returncode == 0 and "1.0000" in done.stdout, done.stderr
    segmentation = write_reference(tmp_path / "seg", {"task": "segmentation"}, {})
    done = run_without("PIL", "--reference", str(segmentation), str(sub))
    assert done.returncode == 2 and done.stderr.startswith("error: the scoring program needs Python 3.9+ with numpy and Pillow")
    assert "Traceback" not in done.stderr and "python3 -m pip install numpy pillow" in done.stderr


def test_a_python_without_numpy_is_told_what_to_install(tmp_path, ref):
    done = run_without("numpy", "--reference", str(ref), str(tmp_path / "x.zip"))
    assert done.returncode == 2 and "needs Python 3.9+ with numpy and Pillow" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_damaged_or_false_zip_scored_locally_is_refused_as_not_a_zip_as_the_platform_refuses_it(tmp_path, ref):
    for name, data in (("sub.zip", b"not a zip at all"), ("SUB.ZIP", b"PK\x03\x04 truncated")):
        (tmp_path / name).write_bytes(data)
        assert_rejected(score("--reference", ref, tmp_path / name, "--output", tmp_path / "out"), tmp_path / "out",
                        f"{name}: not a readable zip file", "zip the files again")


# The bundler's `try`: the scoring program run as the platform's worker runs it, shown as the leaderboard shows it.
@pytest.mark.parametrize("platform", ["codalab", "codabench"])
def test_try_prints_the_leaderboard_row_rounded_as_the_leaderboard_rounds_it(tmp_path, capsys, platform):
    _, data = make("action", tmp_path)
    bundle = build(load_competition("action"), tmp_path / "bundle.zip", platform=platform, data=data).path
    rows = (data / "public" / "val.txt").read_text().splitlines()
    wrong = "".join(f"{row.split()[0]} {1 + int(row.split()[1]) % 3}\n" if i % 3 else f"{row}\n" for i, row in enumerate(rows))
    assert bundler_main(["try", str(bundle), str(write_zip(tmp_path / "sub.zip", {"val.txt": wrong}))]) == 0
    printed = capsys.readouterr().out
    for column in CHALLENGE.columns:
        value = next(line for line in printed.splitlines() if line.strip().startswith(column.label)).split()[-1]
        assert re.fullmatch(rf"\d\.\d{{{column.digits}}}", value), (column.label, printed)


def test_try_help_describes_every_argument_and_offers_no_competitions_option(capsys):
    with pytest.raises(SystemExit):
        bundler_main(["try", "--help"])
    text = capsys.readouterr().out
    assert "--competitions" not in text
    for argument in ("bundle", "submission", "--phase PHASE"):
        line = next(line for line in text.splitlines() if line.strip().startswith(argument))
        assert len(line.split()) > len(argument.split()), line


@pytest.mark.parametrize("task", sorted(challenges()))
def test_a_challenges_sample_and_labelled_submissions_pass_its_scoring_program_the_labelled_one_perfectly(task, tmp_path):
    challenge = challenges()[task]
    challenge.write_demo_reference(tmp_path / "ref", seed=3)
    assert read_reference_info(tmp_path / "ref")["task"] == task
    _, reference = load_reference(tmp_path / "ref")
    (tmp_path / "label_free").mkdir()
    for name, data in challenge.label_free_files(reference).items():
        (tmp_path / "label_free" / name).write_bytes(data)
    _, label_free = load_reference(tmp_path / "label_free")
    sample = challenge.sample_submission(label_free, seed=1)
    assert sample == challenge.sample_submission(label_free, seed=1)
    submissions = {"sample": sample, "perfect": challenge.labelled_submission(reference, 0, seed=1)}
    primary = challenge.primary.key
    scores = {kind: scores_of(tmp_path, tmp_path / "ref", write_zip(tmp_path / f"{kind}.zip", files))[primary]
              for kind, files in submissions.items()}
    assert scores["perfect"] == pytest.approx(1.0) and scores["sample"] < scores["perfect"], scores
