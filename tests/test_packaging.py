"""Packaging as users meet it: the wheel installed outside the checkout, the Makefile's installs, the README quick start."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from bundler.ground.editions import DEFAULT_EDITION
from tests.helpers import REPO

SOURCES = ("scoring", "bundler", "baselines", "setup.cfg", "pyproject.toml", "README.md")


def run(command, cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the project's wheel installed (its dependencies seen from ours, offline)."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    for name in SOURCES:
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if copy is shutil.copytree
                                            else {}))
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "-w",
         str(root / "dist"), str(source)], root)
    wheel = next((root / "dist").glob("vipriors_bench-*.whl"))
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)], root)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], root)
    # numpy, Pillow, PyYAML and Jinja2 from this environment, as plain folders: its .pth files (our editable
    # install) are not read, so the project can only come from the wheel.
    site = run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_the_wheel_holds_the_templates_and_no_declared_file_is_missing(installed):
    python = installed / "bin" / "python"
    code = ("import bundler, scoring, pathlib; "
            "print(bundler.__file__); print(sorted(p.name for p in (pathlib.Path(bundler.__file__).parent / 'pages' / "
            "'templates').iterdir()))")
    out = run([str(python), "-c", code], installed).stdout
    assert str(installed) in out.splitlines()[0] and "kit_readme.md" in out and "results.html" in out


def test_the_console_command_builds_checks_and_previews_from_a_copy_of_the_competitions_outside_the_checkout(
        installed, tmp_path):
    work = tmp_path / "organiser"
    shutil.copytree(REPO / "competitions", work / "competitions")
    command = str(installed / "bin" / "vipriors-bench")
    environment = {**os.environ, "PATH": f"{installed / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    assert "usage: vipriors-bench" in run([command, "--help"], work, env=environment).stdout
    run([command, "build", "action"], work, env=environment)
    built = work / "build" / DEFAULT_EDITION
    assert "no problems found" in run([command, "check", str(built / "action_codabench.zip")], work, env=environment).stdout
    run([command, "preview", "action"], work, env=environment)
    assert (built / "action_preview" / "index.html").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    edition = work / "competitions" / DEFAULT_EDITION
    run([command, "build", "detection", "--competitions", str(edition)], elsewhere, env=environment)
    assert (built / "detection_codabench.zip").is_file() and not (elsewhere / "build").exists()


def test_make_bundle_installs_only_what_the_bundler_needs_and_make_test_adds_the_extras(tmp_path):
    venv = tmp_path / "never-made"
    bundle = run(["make", "-n", "bundle-detection", f"VENV={venv}"], REPO).stdout
    installs = [line for line in bundle.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs == [f"{venv}/bin/python -m pip install --quiet -e ."]
    test = run(["make", "-n", "test", f"VENV={venv}"], REPO).stdout
    assert "-e '.[dev,baselines]'" in test


def quick_start() -> list:
    """The commands of the README's quick start, in order, with what each comment says it writes."""
    text = (REPO / "README.md").read_text()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                commands.append((command.strip(), re.findall(r"writes ([^\s,;:]+)", comment)))
    return commands


def test_the_readme_quick_start_runs_word_for_word_and_writes_what_it_says(tmp_path):
    commands = quick_start()
    assert commands[0][0] == "make test" and len(commands) >= 4
    checkout = tmp_path / "checkout"
    for name in ("competitions", "Makefile", *SOURCES):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, checkout / name)
    (checkout / ".venv").symlink_to(REPO / ".venv")
    for command, written in commands[1:]:  # `make test` is this very run
        words = command.split()
        if words[0] == "make":  # the environment exists: make must not reinstall it (no network in tests)
            words[1:1] = ["-o", ".venv/.bundler", "-o", ".venv/.installed"]
        done = run(["bash", "-c", " ".join(words)], checkout)
        for path in written:
            assert (checkout / path).exists(), (command, path)
    assert done.stdout.startswith("valid: 12 of 12 items; this reference holds no labels, so no score")
