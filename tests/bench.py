"""Benchmarks: ours beside the reference implementation, measured in the same run (``make bench``).

Each implementation runs in its own process on the same generated data; the table shows wall time
and peak resident memory of that process. ``python tests/bench.py [CASE ...]`` runs some cases only.
A challenge's case is ``tests/bench_<task, '-' written '_'>.py``, found by its task name (see tests/bench_cases.py).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.challenge import challenges  # noqa: E402
from tests import bench_cases  # noqa: E402
from tests.bench_cases import Case, Command  # noqa: E402

LEAK_GUARD = "leak-guard"
BASELINES = "baselines"  # the baselines' throughput: a table of its own (tests/bench_baselines.py)


def challenge_cases() -> Dict[str, ModuleType]:
    """Each challenge's case module, ``tests/bench_<task, '-' written '_'>.py``, by task; one without it has no case."""
    modules = {task: f"tests.bench_{task.replace('-', '_')}" for task in challenges()}
    return {task: importlib.import_module(name) for task, name in modules.items() if importlib.util.find_spec(name)}


def measure(command: Command, cwd: Path) -> Tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command run as its own process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    error = process.stderr.read().decode() if process.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(command)}\n{error}")
    return seconds, usage.ru_maxrss / 1024


def prepare(name: str, folder: Path) -> List[Tuple[str, Command]]:
    """Generate a case's data in a process of its own, so that this one stays small.

    A child's peak memory counts its parent's at the moment it was started (the high-water mark
    survives exec): generating gigabytes here would show up in every measurement after it.
    """
    done = subprocess.run([sys.executable, __file__, "--prepare", name, str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"generating {name} failed:\n{done.stderr}")
    sys.stderr.write(done.stderr)
    return [(label, command) for label, command in json.loads(done.stdout)]


def main() -> None:
    modules = challenge_cases()
    cases: Dict[str, Case] = {**{task: module.case for task, module in modules.items()}, LEAK_GUARD: bench_cases.leak_guard}
    if sys.argv[1:2] == ["--prepare"]:
        print(json.dumps(cases[sys.argv[2]](Path(sys.argv[3]))))
        return
    known = [*cases, BASELINES]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", metavar="CASE", help=f"cases to run (default: all of {', '.join(known)})")
    chosen = parser.parse_args().cases or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    rows = []
    for name in [case for case in chosen if case in cases]:
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
            print(f"{name}: generating data ...", file=sys.stderr, flush=True)
            for label, command in prepare(name, Path(folder)):
                print(f"{name}: running {label} ...", file=sys.stderr, flush=True)
                seconds, mib = measure(command, Path(folder))
                rows.append((name, label, seconds, mib))
    if rows:
        width = max(len(r[1]) for r in rows)
        cases = max(15, *(len(r[0]) for r in rows))
        print(f"\n{'case':<{cases}} {'implementation':<{width}} {'time (s)':>9} {'peak (MiB)':>11}")
        for name, label, seconds, mib in rows:
            print(f"{name:<{cases}} {label:<{width}} {seconds:>9.2f} {mib:>11.0f}")
        print_results_costs(rows, {task: module.RESULTS_TARGET for task, module in modules.items()
                                   if hasattr(module, "RESULTS_TARGET")})
    if BASELINES in chosen:
        print("\nbaselines: training throughput on the CPU at the tests' size, data loading alone beside it", flush=True)
        subprocess.run([sys.executable, "-m", "tests.bench_baselines"], cwd=Path(__file__).resolve().parent.parent,
                       check=True)


def print_results_costs(rows: List[Tuple[str, str, float, float]], targets: Dict[str, float]) -> None:
    """For ``bundler results``: its time as a multiple of one score.py run (``targets``: at most, by case), and the
    naive cost beside it."""
    one_run = {name: seconds for name, label, seconds, _ in rows if label == "vipriors-bench"}
    lines = []
    for name, label, seconds, _ in rows:
        if label == bench_cases.RESULTS_LABEL and name in one_run:
            if name not in targets:
                raise SystemExit(f"{name}: its case times `bundler results` but sets no RESULTS_TARGET")
            ratio, target = seconds / one_run[name], targets[name]
            naive = bench_cases.RESAMPLES * one_run[name]
            verdict = "within" if ratio <= target else "OVER"
            lines.append(f"{name:<15} {seconds:>9.2f} s = {ratio:5.2f} x one score.py run ({verdict} the target of "
                         f"{target} x); naive, {bench_cases.RESAMPLES} full evaluations: {naive:,.0f} s")
    ranks = {name: seconds for name, label, seconds, _ in rows if label == bench_cases.RANK_LABEL}
    for name, seconds in ranks.items():
        results = next((s for n, label, s, _ in rows if n == name and label == bench_cases.RESULTS_LABEL), None)
        if results:
            share = seconds / results
            lines.append(f"{name:<15} the {bench_cases.RANK_LABEL} with B={bench_cases.RESAMPLES} takes {seconds:.2f} s "
                         f"(interpreter and imports included) = {share:.1%} of that results run (target: at most 10%)")
    if lines:
        print("\nbundler results (rescoring, then the bootstrap intervals):")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
