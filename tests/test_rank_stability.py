"""The rank analysis of ``bundler results``: rank distributions, median ranks and intervals, Kendall's tau, Holm's
adjustment, against independent computations (scipy); and sensible figures for a clear winner, a near tie, a
single entrant and an invalid one."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau, rankdata

from bundler.config.competition import load_competition
from bundler.results.command import publish
from bundler.results.stability import analyse, holm
from tests.test_results import classification_reference, csv_submission

B = 400


def noisy_primaries(points, spread, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(points)[:, None] + rng.normal(0, spread, (len(points), B))


def test_rank_distributions_medians_and_intervals_equal_an_independent_computation():
    points = np.array([0.8, 0.75, 0.74, 0.5, 0.5])
    primaries = noisy_primaries(points, 0.03)
    primaries[4] = primaries[3]  # two entrants always equal: they share the better rank
    result = analyse(points, primaries)
    independent = np.stack([rankdata(-primaries[:, b], method="min") for b in range(B)], axis=1)
    assert (result.rank_counts.sum(axis=1) == B).all()
    assert (result.rank_counts == np.stack([np.bincount(row - 1, minlength=5) for row in independent])).all()
    assert np.array_equal(result.median_rank, np.median(independent, axis=1))
    assert np.array_equal(result.rank_interval[:, 0], np.quantile(independent, 0.025, axis=1, method="lower"))
    assert np.array_equal(result.rank_interval[:, 1], np.quantile(independent, 0.975, axis=1, method="higher"))
    assert result.rank_counts[3].tolist() == result.rank_counts[4].tolist()


def test_kendalls_tau_equals_scipys_on_the_same_rankings():
    points = np.array([0.9, 0.6, 0.59, 0.58, 0.3, 0.3])
    primaries = noisy_primaries(points, 0.05, seed=1)
    result = analyse(points, primaries)
    full = rankdata(-points, method="min")
    for b in range(B):
        expected = kendalltau(full, rankdata(-primaries[:, b], method="min")).statistic
        assert result.tau[b] == pytest.approx(expected, abs=1e-12)


def test_lower_is_better_columns_rank_the_other_way():
    points = np.array([0.1, 0.5, 0.9])
    result = analyse(points, noisy_primaries(points, 0.01), higher_is_better=False)
    assert result.rank_interval.tolist() == [[1, 1], [2, 2], [3, 3]] and result.winner_first == 1.0


def test_holms_adjustment_equals_a_hand_computed_case():
    p = np.array([[np.nan, 0.01, 0.04], [np.nan, np.nan, 0.03], [0.005, np.nan, np.nan]])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04; kept increasing: 0.02, 0.03, 0.06, 0.06
    expected = np.array([[np.nan, 0.03, 0.06], [np.nan, np.nan, 0.06], [0.02, np.nan, np.nan]])
    assert np.allclose(holm(p), expected, equal_nan=True)
    assert np.allclose(holm(np.array([0.2, 0.9])), [0.4, 0.9])


def results_of(tmp_path: Path, labels, predictions: dict, bootstrap: int = 300):
    reference = classification_reference(tmp_path / "ref", labels)
    folder = tmp_path / "subs"
    folder.mkdir()
    for name, predicted in predictions.items():
        if predicted is None:
            (folder / f"{name}.zip").write_bytes(b"not a zip")
        else:
            csv_submission(folder / f"{name}.zip", predicted)
    published = publish(load_competition("classification"), folder, reference, "Test", tmp_path / "out", bootstrap, 0, 1)
    return json.loads(published.files[0].read_text()), published.files


LABELS = [i % 10 for i in range(200)]


def wrong(labels, every, seed=0):
    """``labels`` with about one in ``every`` of them wrong, at places drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    return [int((label + 1 + rng.integers(9)) % 10) if rng.random() < 1 / every else label for label in labels]


def test_a_clear_winner_is_first_in_every_resample_and_beats_everyone(tmp_path):
    document, files = results_of(tmp_path, LABELS, {"best": LABELS, "middle": wrong(LABELS, 2), "last": wrong(LABELS, 1)})
    stability = document["stability"]
    first = document["entries"][0]
    assert first["entrant"] == "best" and first["rank_interval"] == [1, 1] and first["rank_distribution"][0] == 300
    assert stability["winner_stays_first"] == 1.0 and stability["significant"][0] == [False, True, True]
    assert stability["kendall_tau"]["median"] == 1.0 and stability["agreement"] == []
    assert {f.name for f in files} >= {"blob_plot.svg", "significance.svg", "intervals.svg", "results.tex", "results.md"}


def test_a_three_way_near_tie_spreads_the_ranks_and_nobody_is_shown_better(tmp_path):
    near = {name: wrong(LABELS, 3, seed) for seed, name in enumerate(("ann", "bob", "cat"))}
    document, _ = results_of(tmp_path, LABELS, near)
    stability = document["stability"]
    assert not any(any(row) for row in stability["significant"])
    assert all(e["rank_interval"][1] - e["rank_interval"][0] >= 1 for e in document["entries"])
    assert stability["kendall_tau"]["interval"][0] < 0.5 and 0 < stability["winner_stays_first"] < 1
    for entry in document["entries"]:
        assert sum(entry["rank_distribution"]) == 300


def test_a_single_entrant_and_an_invalid_one_give_sensible_figures_and_no_error(tmp_path):
    document, files = results_of(tmp_path, LABELS, {"solo": wrong(LABELS, 2), "broken": None})
    stability = document["stability"]
    solo, broken = document["entries"]
    assert solo["rank_distribution"] == [300] and solo["median_rank"] == 1 and solo["rank_interval"] == [1, 1]
    assert stability["kendall_tau"] is None and stability["winner_stays_first"] == 1.0 and stability["order"] == ["solo"]
    assert stability["significant"] == [[False]] and stability["p_values"] == [[None]]
    assert broken["rank"] is None and "rank_distribution" not in broken and broken["error"]
    tex = (tmp_path / "out" / "results.tex").read_text()
    assert "\\toprule" in tex and "solo" in tex and "broken" not in tex
    markdown = (tmp_path / "out" / "results.md").read_text()
    assert "| 1 | solo |" in markdown and "broken (broken.zip)" in markdown


def test_every_number_of_the_tex_and_markdown_tables_comes_from_results_json(tmp_path):
    document, _ = results_of(tmp_path, LABELS, {"best": LABELS, "middle": wrong(LABELS, 2), "tie one": wrong(LABELS, 2)})
    tex = (tmp_path / "out" / "results.tex").read_text()
    markdown = (tmp_path / "out" / "results.md").read_text()
    for entry in document["entries"]:
        for value in [entry["scores"]["top1_accuracy"], *entry["ci"], entry["scores"]["mean_class_accuracy"]]:
            assert f"{value:.4f}" in tex and f"{value:.4f}" in markdown
    ties = [e for e in document["entries"] if e["tied_with"]]
    assert all(f"{e['rank']}$=$ &" in tex for e in ties) and all(f"| {e['rank']}= |" in markdown for e in ties)
