"""The baselines, on the CPU at a tiny size: from the participants' public/ folder to a submission the checker accepts.

Every baseline runs with its ``smoke_arguments`` on the generated example source of each competition of its
challenge (the builder's own, its labels a simple function of the pixels), built with ``bundler data`` like
the real datasets, so the baselines read exactly what participants download.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

torch = pytest.importorskip("torch", reason="the baselines extra (torch, torchvision, av) is not installed")

from baselines.cli import baselines, main  # noqa: E402
from bundler.data.builder import builders  # noqa: E402
from scoring.challenge import PublicLayout  # noqa: E402
from scoring.report import number  # noqa: E402
from tests.fake_datasets import public as public_folder  # noqa: E402
from tests.helpers import REPO, scores_of  # noqa: E402

HERE = ["--workers", "0", "--device", "cpu", "--seed", "0"]


def rate_and_batch(name: str, rate: float, batch: int) -> List[str]:
    """The --lr and --batch-size with which one process uses ``rate`` (--lr is for the recipe's reference batch)."""
    return ["--lr", f"{rate * baselines()[name].defaults['reference_batch'] / batch:g}", "--batch-size", str(batch)]


def smoke(name: str) -> List[str]:
    return list(baselines()[name].smoke_arguments)


def smoke_rate_and_batch(name: str, competition: Optional[str] = None) -> Tuple[float, int]:
    """The rate one process of a smoke run uses (its --lr scaled from the batch of the recipe for ``competition``'s
    data to its own), and its batch."""
    arguments = smoke(name)
    lr, batch = (arguments[arguments.index(flag) + 1] for flag in ("--lr", "--batch-size"))
    baseline = baselines()[name]
    return baseline.learning_rate(float(lr), int(batch), baseline.recipe(competition)["reference_batch"]), int(batch)


def train(name: str, public: Path, run: Path, epochs: int, *extra: str) -> None:
    assert main(["train", name, "--data", str(public), "--out", str(run), "--epochs", str(epochs), *smoke(name), *HERE,
                 *extra]) == 0


def log_of(run: Path) -> List[Dict[str, str]]:
    with (run / "log.csv").open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def config_of(run: Path) -> Dict[str, object]:
    return json.loads((run / "config.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def public(tmp_path_factory):
    """Each competition's public/ folder, built once."""
    made: Dict[str, Path] = {}

    def get(competition: str) -> Path:
        if competition not in made:
            made[competition] = public_folder(competition, tmp_path_factory.mktemp(competition))
        return made[competition]

    return get


def test_every_challenge_with_data_has_a_baseline():
    assert {builder.challenge.task for builder in builders().values()} <= set(baselines())


@pytest.mark.parametrize("competition", sorted(builders()))
def test_a_baseline_trains_on_the_public_folder_and_its_val_and_test_predictions_pass_the_scoring_program(
        competition, public, tmp_path, capsys):
    challenge = builders()[competition].challenge
    name = challenge.task
    data = public(competition)
    run = tmp_path / "run"
    train(name, data, run, 1)
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.json", "last.pt", "log.csv"]
    for split in ("val", "test"):
        code = main(["predict", name, "--data", str(data), "--run", str(run), "--split", split, "--output",
                     str(tmp_path / f"{split}.zip"), "--workers", "0", "--device", "cpu"])
        out = capsys.readouterr().out
        assert code == 0, out
        if split == "test":  # items without a prediction may be valid (an image without detections): not counted here
            assert out.startswith("valid: ") and "holds no labels" in out
    logged = log_of(run)[0]
    rescored = scores_of(tmp_path, data / challenge.layout.reference_folder("val"), tmp_path / "val.zip")
    for column in challenge.columns:  # as the leaderboard shows them
        assert logged[column.key] == number(rescored[column.key], column.digits), column.key
    rate, batch = smoke_rate_and_batch(name, competition)
    config = config_of(run)
    assert (config["total_batch"], config["learning_rate"]) == (batch, pytest.approx(rate)), config
    assert float(logged["lr"]) == pytest.approx(rate, rel=1e-5)


@pytest.mark.parametrize("name, recipe_lr, reference_batch, default_batch", [("classification", 0.1, 256, 32),
                                                                            ("detection", 0.02, 16, 2)])
def test_a_default_run_uses_the_recipes_rate_scaled_from_its_reference_batch_to_its_own(
        name, recipe_lr, reference_batch, default_batch, public, tmp_path, capsys):
    for batch in (default_batch, 4 * default_batch):
        run = tmp_path / f"run{batch}"
        changed = ["--batch-size", str(batch)] if batch != default_batch else []
        assert main(["train", name, "--data", str(public(name)), "--out", str(run), "--epochs", "0", *changed, *HERE]) == 0
        expected = recipe_lr * batch / reference_batch
        config = config_of(run)
        assert (config["reference_batch"], config["total_batch"]) == (reference_batch, batch)
        assert config["learning_rate"] == pytest.approx(expected) and config["args"]["lr"] == recipe_lr
        assert f"learning rate {expected:.6g}: --lr {recipe_lr:g} for a total batch of {reference_batch}" in \
            capsys.readouterr().err
    two_processes = baselines()[name].learning_rate(recipe_lr, 2 * batch, reference_batch)
    assert two_processes == pytest.approx(2 * expected)


def test_the_classification_baseline_learns_a_colour_per_class(public, tmp_path):
    train("classification", public("classification"), tmp_path / "run", 10)
    assert max(float(row["top1_accuracy"]) for row in log_of(tmp_path / "run")) >= 0.9


def test_the_segmentation_baseline_learns_a_colour_per_class(public, tmp_path):
    train("segmentation", public("segmentation"), tmp_path / "run", 15)
    assert max(float(row["iou_class"]) for row in log_of(tmp_path / "run")) >= 0.5


def test_the_detection_baseline_overfits_a_handful_of_images(public, tmp_path):
    data = public("detection")
    assert main(["train", "detection", "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "4",
                 *smoke("detection"), *rate_and_batch("detection", 0.01, 1), "--lr-schedule", "constant", *HERE]) == 0
    losses = [float(row["train_loss"]) for row in log_of(tmp_path / "run")]
    assert min(losses[1:]) < losses[0] * 0.7, losses  # the best later epoch, with a margin (seen: 0.50 to 0.52)


def test_the_action_baselines_loss_falls(public, tmp_path):
    train("action", public("action"), tmp_path / "run", 5)
    losses = [float(row["train_loss"]) for row in log_of(tmp_path / "run")]
    assert min(losses[2:]) < losses[0] * 0.8, losses  # the best of the later epochs, with a margin (seen: 0.55)


def test_a_loss_that_is_not_finite_stops_the_run_in_one_line_keeping_the_last_checkpoint(public, tmp_path, monkeypatch,
                                                                                         capsys):
    data, run = public("classification"), tmp_path / "run"
    train("classification", data, run, 1)
    saved = {name: (run / name).read_bytes() for name in ("last.pt", "best.pt", "log.csv")}
    baseline = baselines()["classification"]
    calls = []

    def loss_turning_nan(model, inputs, targets):
        calls.append(1)
        loss = type(baseline).loss(baseline, model, inputs, targets)
        return loss * float("nan") if len(calls) == 2 else loss

    monkeypatch.setattr(baseline, "loss", loss_turning_nan)
    capsys.readouterr()
    code = main(["train", "classification", "--data", str(data), "--out", str(run), "--epochs", "3", "--resume",
                 *smoke("classification"), *HERE])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 1 and "Traceback" not in err, err
    assert "the training loss became nan at epoch 2, step 2: stopped" in errors[0], errors
    assert f"{run / 'last.pt'} keeps epoch 1" in errors[0], errors
    assert {name: (run / name).read_bytes() for name in saved} == saved
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.json", "last.pt", "log.csv"]


def test_a_resumed_run_continues_the_same_run_and_a_seed_repeats_it_exactly(public, tmp_path):
    data = public("classification")
    constant = ("--lr-schedule", "constant")  # a cosine schedule would follow --epochs, which differs here
    train("classification", data, tmp_path / "straight", 2, *constant)
    train("classification", data, tmp_path / "resumed", 1, *constant)
    train("classification", data, tmp_path / "resumed", 2, *constant, "--resume")
    straight, resumed = log_of(tmp_path / "straight"), log_of(tmp_path / "resumed")
    assert [row["epoch"] for row in resumed] == ["1", "2"]
    for row in straight + resumed:
        row.pop("seconds")
    assert straight == resumed
    one = torch.load(tmp_path / "straight" / "last.pt", weights_only=True)
    two = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    assert one["epoch"] == two["epoch"] == 2
    assert all(torch.equal(one["model"][key], two["model"][key]) for key in one["model"])
    assert one["optimizer"]["state"].keys() == two["optimizer"]["state"].keys()
    assert main(["train", "classification", "--data", str(data), "--out", str(tmp_path / "straight"), *HERE]) == 1


def test_a_killed_run_loses_at_most_one_epoch_and_resumes(public, tmp_path):
    data, run = public("classification"), tmp_path / "run"
    command = [sys.executable, "-m", "baselines", "train", "classification", "--data", str(data), "--out", str(run),
               "--epochs", "30", *smoke("classification"), *HERE]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 900  # a limit for a hung run only: a slow machine just takes longer
    while process.poll() is None and time.monotonic() < deadline:
        if (run / "log.csv").is_file() and len(log_of(run)) >= 2:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    logged = len(log_of(run))
    saved = torch.load(run / "last.pt", weights_only=True)["epoch"]
    assert logged >= 2 and saved in (logged - 1, logged)  # at most the epoch under way is lost
    train("classification", data, run, saved + 1, "--resume")
    assert [int(row["epoch"]) for row in log_of(run)] == list(range(1, saved + 2))


def test_torchrun_trains_on_two_cpu_processes_with_one_writer_and_whole_val_scores(public, tmp_path):
    data, run = public("classification"), tmp_path / "run"
    torchrun = Path(sys.executable).parent / "torchrun"
    done = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "baselines", "train",
                           "classification", "--data", str(data), "--out", str(run), "--epochs", "1",
                           *smoke("classification"), *HERE], cwd=REPO, capture_output=True, encoding="utf-8",
                          errors="replace", timeout=900, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in run.iterdir()) == ["best.pt", "config.json", "last.pt", "log.csv"]
    config = config_of(run)
    rate, batch = smoke_rate_and_batch("classification")
    assert (config["processes"], config["total_batch"]) == (2, 2 * batch) and len(log_of(run)) == 1
    assert config["learning_rate"] == pytest.approx(2 * rate)  # twice the batch of one process: twice the rate
    assert main(["predict", "classification", "--data", str(data), "--run", str(run), "--split", "val", "--output",
                 str(tmp_path / "val.zip"), *HERE[:4]]) == 0
    rescored = scores_of(tmp_path, data / baselines()["classification"].challenge.layout.reference_folder("val"),
                         tmp_path / "val.zip")
    assert float(log_of(run)[0]["top1_accuracy"]) == rescored["top1_accuracy"]


def layout(name: str) -> PublicLayout:
    return baselines()[name].challenge.layout


def corrupt_first_training_file(data: Path, name: str) -> Path:
    """``data`` with the first file of the training inputs cut short."""
    first = min(path for path in (data / layout(name).input_folder("train")).rglob("*") if path.is_file())
    first.write_bytes(first.read_bytes()[:40])
    return data


@pytest.mark.parametrize("name, damage, expected", [
    ("classification", lambda data: data / layout("classification").reference_folder("val"),
     "not the public/ folder of a 'bundler data' build"),
    ("classification", lambda data: data.parent / "reference" / "val", "not the public/ folder"),
    ("segmentation", lambda data: shutil.rmtree(data / layout("segmentation").input_folder("val")) or data,
     f"{layout('segmentation').input_folder('val')}: not found"),
    ("classification", lambda data: corrupt_first_training_file(data, "classification"), "not a readable image"),
    ("action", lambda data: corrupt_first_training_file(data, "action"), "not a readable video"),
])
def test_bad_input_is_one_error_line(name, damage, expected, public, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(public(name).parent, copy)
    data = damage(copy / "public")
    code = main(["train", name, "--data", str(data), "--out", str(tmp_path / "run"), "--epochs", "1", *smoke(name), *HERE])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert code == 1 and len(errors) == 1 and expected in errors[0] and "Traceback" not in err, err


def test_a_data_folder_of_another_challenge_and_a_checkpoint_of_another_baseline_are_refused(public, tmp_path, capsys):
    assert main(["train", "segmentation", "--data", str(public("classification")), "--out", str(tmp_path / "r"),
                 *HERE]) == 1
    assert "the public/ folder of the classification challenge, not of segmentation" in capsys.readouterr().err
    train("classification", public("classification"), tmp_path / "cls", 1)
    capsys.readouterr()
    (tmp_path / "seg").mkdir()
    shutil.copy(tmp_path / "cls" / "best.pt", tmp_path / "seg" / "best.pt")
    assert main(["predict", "segmentation", "--data", str(public("segmentation")), "--run", str(tmp_path / "seg"),
                 "--split", "test", "--output", str(tmp_path / "s.zip"), *HERE[:4]]) == 1
    err = capsys.readouterr().err
    assert err.endswith("a checkpoint of the classification baseline, not of segmentation\n") and len(err.splitlines()) == 1


def test_training_and_prediction_touch_no_network_and_no_weights_cache(public, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a baseline reached for the network or for downloaded weights")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    import argparse

    for name, baseline in baselines().items():  # the real default networks, built as a full run builds them
        own = {flag[2:].replace("-", "_"): options["default"] for flag, options in baseline.arguments}
        defaults = argparse.Namespace(**baseline.defaults, **own)
        baseline.model(defaults, baseline.metadata(public(name)))
    data = public("detection")
    train("detection", data, tmp_path / "run", 1)
    assert main(["predict", "detection", "--data", str(data), "--run", str(tmp_path / "run"), "--split", "test",
                 "--output", str(tmp_path / "t.zip"), *HERE[:4]]) == 0
    assert not (tmp_path / "torch-home").exists()
