"""A real edition end to end, for each challenge: fake canonical data -> ``bundler data --seed`` ->
``bundler build --data`` -> ``bundler check`` clean -> a perfect val submission made from the public
data scores 1.0 on phase 1 -> a perfect test submission passes the starting kit's label-free check
and scores 1.0 on phase 2. And the kit never carries the hidden reference: the guard in
``bundler check`` catches a kit that does."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict

import pytest

from bundler.bundles.build import build
from bundler.bundles.check import check_bundle
from bundler.cli import main
from bundler.config.competition import competition_names, load_competition
from bundler.platforms.worker import run_phase
from scoring.challenge import load_reference
from tests.fake_datasets import make
from tests.helpers import write_zip

NAMES = competition_names()
Files = Dict[str, bytes]


def perfect(reference: Path) -> Files:
    """A perfect submission: the challenge's own writer given the labels of the reference folder ``reference``."""
    challenge, labelled = load_reference(reference)
    return challenge.labelled_submission(labelled, 0.0, 0)


def public_val(data: Path) -> Path:
    """The val reference participants download, where the challenge's public layout puts it."""
    challenge, _ = load_reference(data / "reference" / "val")
    return data / "public" / challenge.layout.reference_folder("val")


def perfect_val(data: Path) -> Files:
    """A perfect val submission made from the public data alone (the val labels are public)."""
    return perfect(public_val(data))


def perfect_test(data: Path) -> Files:
    return perfect(data / "reference" / "test")


@pytest.fixture(scope="module", params=NAMES)
def edition(request, tmp_path_factory):
    """(name, the data folder, the bundle built from it with --data, a scratch folder)."""
    root = tmp_path_factory.mktemp(request.param)
    _, data = make(request.param, root)
    bundle = build(load_competition(request.param), root / "bundle.zip", data=data).path
    return request.param, data, bundle, root


def kit_of(bundle: Path, folder: Path) -> Path:
    """The starting kit, extracted."""
    with zipfile.ZipFile(bundle) as archive, zipfile.ZipFile(io.BytesIO(archive.read("starting_kit.zip"))) as kit:
        kit.extractall(folder)
    return folder


def primary(trial) -> float:
    assert trial.returncode == 0 and not trial.failure, trial.stderr
    return next(iter(trial.row.values()))


def test_a_bundle_built_from_the_data_checks_clean_and_uses_no_demo_data(edition):
    name, _, bundle, _ = edition
    assert check_bundle(bundle) == []
    with zipfile.ZipFile(bundle) as archive:
        assert "Demo data." not in archive.read("overview.html").decode()


def test_the_data_page_states_the_counts_of_the_data_built_and_a_demo_bundle_states_none(edition, tmp_path):
    name, data, bundle, _ = edition
    counts = json.loads((data / "manifest.json").read_text())["counts"]
    with zipfile.ZipFile(bundle) as archive:
        page = archive.read("data.html").decode()
    for split, count in counts.items():
        assert re.search(rf"\({count['total']} [a-z]+s\b", page), (split, page)
    with zipfile.ZipFile(build(load_competition(name), tmp_path / "demo.zip").path) as archive:
        demo_page = archive.read("data.html").decode()
    assert not re.search(r"\(\d[\d ]* [a-z]+s\b", demo_page)


def test_a_perfect_val_submission_made_from_the_public_data_scores_one_on_phase_1(edition):
    name, data, bundle, root = edition
    submission = write_zip(root / "val.zip", perfect_val(data))
    assert primary(run_phase(bundle, submission, phase=1)) == 1.0
    local = subprocess.run([sys.executable, "scoring/score.py", "--reference", str(public_val(data)),
                            str(submission)], cwd=kit_of(bundle, root / "kit-val"), capture_output=True, text=True)
    assert local.returncode == 0 and "1.0000" in local.stdout, local.stderr


def test_a_perfect_test_submission_passes_the_kits_label_free_check_and_scores_one_on_phase_2(edition):
    name, data, bundle, root = edition
    submission = write_zip(root / "test.zip", perfect_test(data))
    kit = kit_of(bundle, root / "kit-test")
    check = subprocess.run([sys.executable, "scoring/score.py", "--reference", "references/test", str(submission),
                            "--output", str(root / "no-scores")], cwd=kit, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert re.match(r"valid: ([1-9]\d*) of \1 items; this reference holds no labels, so no score", check.stdout)
    assert not (root / "no-scores").exists()
    assert primary(run_phase(bundle, submission, phase=2)) == 1.0


def test_the_kit_check_gives_exactly_the_servers_error_line(edition):
    name, data, bundle, root = edition
    files = perfect_test(data)
    first = sorted(files)[0]
    files[first] = b"\x89PNG broken" if first.endswith(".png") else b"\xff\xfe not utf-8 \x00"
    submission = write_zip(root / "broken.zip", files)
    kit = kit_of(bundle, root / "kit-broken")
    check = subprocess.run([sys.executable, "scoring/score.py", "--reference", "references/test", str(submission)],
                           cwd=kit, capture_output=True, text=True)
    server = run_phase(bundle, submission, phase=2)
    assert check.returncode == server.returncode == 1
    assert check.stderr.strip().startswith("error: ") and check.stderr.strip() == server.stderr.strip()


def test_the_starting_kit_holds_no_reference_file_and_no_label(edition):
    name, data, bundle, root = edition
    kit = kit_of(bundle, root / "kit-leak")
    hidden = {path.read_bytes() for split in ("val", "test") for path in (data / "reference" / split).iterdir()
              if path.name != "reference.json"}
    for path in kit.rglob("*"):
        if path.is_file():
            assert path.read_bytes() not in hidden, path
    for info in kit.glob("references/*/reference.json"):
        assert json.loads(info.read_text())["labels"] is False
    challenge, reference = load_reference(data / "reference" / "test")
    labels = challenge.hidden_facts(reference).item_labels() or {}
    for path in kit.rglob("*"):
        if path.suffix in (".txt", ".csv", ".md", ".json"):
            for line in path.read_text().splitlines():
                tokens = re.findall(r"[^\s,\"\[\]{}:]+", line)
                assert not [item for item, label in zip(tokens, tokens[1:]) if labels.get(item) == label], (path, line)


def rebuilt_with_kit_member(bundle: Path, target: Path, member: str, data: bytes) -> Path:
    """A copy of ``bundle`` whose starting kit has ``member`` replaced (or added)."""
    with zipfile.ZipFile(bundle) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    with zipfile.ZipFile(io.BytesIO(files["starting_kit.zip"])) as kit:
        inner = {name: kit.read(name) for name in kit.namelist()}
    inner[member] = data
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as kit:
        for name, content in inner.items():
            kit.writestr(name, content)
    files["starting_kit.zip"] = buffer.getvalue()
    return write_zip(target, files)


def test_check_flags_a_kit_sample_made_from_the_hidden_labels(edition):
    name, data, bundle, root = edition
    leaky = rebuilt_with_kit_member(bundle, root / "leaky.zip", "sample_submission.zip",
                                    write_zip(root / "perfect.zip", perfect_test(data)).read_bytes())
    problems = check_bundle(leaky)
    assert any("starting_kit.zip/sample_submission.zip scores" in p and "far above random predictions" in p
               and "reference_data_2.zip" in p for p in problems), problems


def test_a_perfect_val_submission_in_the_kit_is_no_leak_since_participants_hold_the_val_labels(edition):
    name, data, bundle, root = edition
    kit = rebuilt_with_kit_member(bundle, root / "val-kit.zip", "val_answers.zip",
                                  write_zip(root / "perfect-val.zip", perfect_val(data)).read_bytes())
    assert check_bundle(kit) == []


def test_check_flags_a_kit_that_copies_a_reference_file(edition):
    name, data, bundle, root = edition
    hidden = max((p for p in (data / "reference" / "test").iterdir() if p.name != "reference.json"),
                 key=lambda p: p.stat().st_size)
    leaky = rebuilt_with_kit_member(bundle, root / "copy.zip", f"extra/{hidden.name}", hidden.read_bytes())
    assert f"starting_kit.zip/extra/{hidden.name} is a copy of the hidden reference_data_2.zip/{hidden.name}" in \
        check_bundle(leaky)


def test_data_for_another_challenge_or_without_a_split_is_refused_and_nothing_written(tmp_path, capsys):
    _, data = make("action", tmp_path)
    output = tmp_path / "b.zip"
    assert main(["build", "detection", "--data", str(data), "--output", str(output)]) == 1
    assert "prepared for 'action', not 'detection'" in capsys.readouterr().err and not output.exists()
    (data / "reference" / "val" / "reference.json").unlink()
    assert main(["build", "action", "--data", str(data), "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert "phase 1 (Development) scores val, but" in err and "reference.json: not found" in err and not output.exists()
    assert main(["build", "action", "--data", str(tmp_path), "--output", str(output)]) == 1
    assert "not a folder written by 'python -m bundler data'" in capsys.readouterr().err and not output.exists()


def test_reference_overrides_one_phase_of_data(tmp_path):
    _, data = make("action", tmp_path)
    other = tmp_path / "other"
    load_competition("action").challenge.write_demo_reference(other, 9)
    built = build(load_competition("action"), tmp_path / "b.zip", {"Test": other}, data=data)
    with zipfile.ZipFile(built.path) as archive:
        second = zipfile.ZipFile(io.BytesIO(archive.read("reference_data_2.zip")))
        first = zipfile.ZipFile(io.BytesIO(archive.read("reference_data_1.zip")))
        assert second.read("labels.txt") == (other / "labels.txt").read_bytes()
        assert first.read("labels.txt") == (data / "reference" / "val" / "labels.txt").read_bytes()


def test_the_codabench_bundle_from_the_same_data_checks_clean_and_scores_the_test_phase(edition):
    name, data, _, root = edition
    bundle = build(load_competition(name), root / "codabench.zip", platform="codabench", data=data).path
    assert check_bundle(bundle) == []
    submission = write_zip(root / "test-v2.zip", perfect_test(data))
    assert primary(run_phase(bundle, submission, phase=2)) == 1.0
