"""The leak guard of ``bundler check`` sees content, not bytes: the hidden test labels written again by another tool,
in another layout, as a page's table or as a ready-made submission under any name, in the kit, the public data or a
page, are flagged with the numbers; the public val labels and label-free references are not; and the phase that
ranks the competition never scores labels participants hold."""

from __future__ import annotations

import io
import math
import random
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bundler.bundles.build import build
from bundler.bundles.check import check_bundle
from bundler.bundles.fingerprints import chance_level
from bundler.bundles.order import ALPHA, name_order, order_leak, tail_threshold
from bundler.bundles.references import LABEL_FREE, PUBLIC_INFO, publicly_labelled
from bundler.cli import main
from bundler.config.competition import COMPETITIONS, ConfigError, competition_names, load_competition
from bundler.ground.zips import folder_files, zip_bytes
from scoring.challenge import challenges, load_reference
from scoring.facts import HiddenFacts, ItemLabels
from tests.challenge_fixtures import challenge_fixture
from tests.fake_datasets import make
from tests.helpers import found_in, leaked, write_zip

Files = Dict[str, bytes]


@pytest.fixture(scope="module", params=competition_names())
def edition(request, tmp_path_factory):
    """(name, the data folder, the bundle built from it, a scratch folder)."""
    root = tmp_path_factory.mktemp(f"leak-{request.param}")
    _, data = make(request.param, root)
    return request.param, data, build(load_competition(request.param), root / "bundle.zip", data=data).path, root


def zipped(files: Files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def planted(bundle: Path, target: Path, where: str, name: str, data: bytes) -> Path:
    """A copy of ``bundle`` with ``data`` added as ``name`` in the starting kit, in public data, or as a page."""
    with zipfile.ZipFile(bundle) as archive:
        files = {member: archive.read(member) for member in archive.namelist()}
    if where == "kit":
        with zipfile.ZipFile(io.BytesIO(files["starting_kit.zip"])) as kit:
            inner = {member: kit.read(member) for member in kit.namelist()}
        files["starting_kit.zip"] = zipped({**inner, name: data})
    elif where == "public data":
        files["public_data.zip"] = zipped({f"public/{name}": data})
    else:
        files["overview.html"] = files["overview.html"] + b"\n" + data
    return write_zip(target, files)


def html_table(rows: List[Tuple[str, ...]]) -> bytes:
    cells = "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows)
    return f"<h3>Answers</h3><table><tr><th>Item</th><th>Class</th></tr>{cells}</table>".encode()


def rewritten_pairs(rows: List[Tuple[str, str]]) -> bytes:
    """Labels as another tool writes them: class first, semicolons, CRLF, rows shuffled, UTF-16."""
    shuffled = random.Random(5).sample(rows, len(rows))
    return "\r\n".join(f"{label};{item}" for item, label in shuffled).encode("utf-16")


def leaks(data: Path) -> List[Tuple[str, str, bytes, str]]:
    """(where, file name, content, what the message must say) of each kind of leak: the challenge's own labelled
    submission, zipped in the kit and the public data, and unzipped if it is one file; and restatements of its
    hidden facts, as item labels and in the forms its own test module gives (``restatements``)."""
    folder = data / "reference" / "test"
    challenge, reference = load_reference(folder)
    hidden = challenge.hidden_facts(reference)
    submission = challenge.labelled_submission(reference, 0, seed=1)
    unzipped = [("kit", f"examples/{name}", content, "far above random")
                for name, content in submission.items()] if len(submission) == 1 else []
    said = f"hidden {hidden.noun}"
    restate = challenge_fixture(challenge.task, "restatements")
    own = [(where, name, content, said) for name, content in (restate(folder, hidden) if restate else [])
           for where in ("kit", "public data")]
    return [("kit", "baseline_predictions.zip", zipped(submission), "far above random"),
            ("public data", "ours.zip", zipped(submission), "far above random"),
            *unzipped, *restated_labels(hidden), *own]


def restated_labels(hidden: HiddenFacts) -> List[Tuple[str, str, bytes, str]]:
    """Item labels (where the hidden facts are one label per item) as other tools write them, and as a page's table."""
    said = f"hidden {hidden.noun}"
    labels = hidden.item_labels()
    if labels is None or len(labels) < chance_level(len(labels), hidden.chance)[1]:
        return []  # no item labels, or too few for even a full copy to be beyond chance (a tiny example source)
    rows = sorted(labels.items())
    return [("kit", "notes/labels.csv", rewritten_pairs(rows), said),
            ("public data", "extra/answers.txt", rewritten_pairs(rows), said),
            ("page", "overview.html", html_table(rows), said)]


def test_each_kind_of_leak_is_flagged_wherever_it_is_planted_naming_the_file_the_reference_and_the_share(edition):
    name, data, bundle, root = edition
    assert check_bundle(bundle) == []
    for number, (where, file_name, content, said) in enumerate(leaks(data)):
        problems = check_bundle(planted(bundle, root / f"leak{number}.zip", where, file_name, content))
        shown = {"kit": "starting_kit.zip/", "public data": "public_data.zip/public/", "page": ""}[where] + file_name
        hits = [p for p in problems if p.startswith(shown) and said in p and "reference_data_2.zip" in p]
        assert hits, (where, file_name, problems)
        if "hidden" in said:
            assert "%" in hits[0] and "chance would give about" in hits[0]


def test_the_public_val_labels_and_label_free_references_are_no_leak(edition):
    name, data, bundle, root = edition
    layout = load_competition(name).challenge.layout
    folders = [data / "public" / layout.reference_folder(split) for split in ("val", "test")]
    public = {str(p.relative_to(data / "public")): p.read_bytes()
              for folder in folders for p in folder.rglob("*") if p.is_file()}
    with zipfile.ZipFile(bundle) as archive:
        files = {member: archive.read(member) for member in archive.namelist()}
    files["public_data.zip"] = zipped({f"public/{path}": content for path, content in public.items()})
    assert check_bundle(write_zip(root / "with-public.zip", files)) == []


def test_a_ranking_phase_that_scores_the_public_val_labels_is_a_config_error_and_a_check_problem(tmp_path):
    folder = tmp_path / "action"
    import shutil

    shutil.copytree(COMPETITIONS / "action", folder)
    path = folder / "competition.yaml"
    path.write_text(path.read_text().replace("    split: test", "    split: val"))
    line = [i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("    split: val")][1]
    with pytest.raises(ConfigError) as error:
        load_competition("action", folder)
    assert error.value.problems == [f"{path}:{line}: phases[2].split: val, but the last phase ranks the competition and "
                                    "participants download the val labels: score test in the last phase (val may only be "
                                    "a development phase)"]
    _, data = make("action", tmp_path)
    bundle = build(load_competition("action"), tmp_path / "b.zip", platform="codalab", data=data).path
    with zipfile.ZipFile(bundle) as archive:  # a bundle made by hand: both phases score the val reference
        files = {member: archive.read(member) for member in archive.namelist()}
    files["reference_data_2.zip"] = files["reference_data_1.zip"]
    problems = check_bundle(write_zip(tmp_path / "hand.zip", files))
    assert f"phase 2 (Test) scores reference_data_2.zip, {publicly_labelled(PUBLIC_INFO)}; build the bundle with the " \
           "labelled reference/test of a 'bundler data' folder" in problems, problems
    config = yaml.safe_load(files["competition.yaml"])
    assert config["phases"][2]["reference_data"] == "reference_data_2.zip"


@pytest.mark.parametrize("folder, said", [
    ("public/references/test", f"would score {LABEL_FREE}"),
    ("reference/val", f"would score {publicly_labelled(PUBLIC_INFO)}"),
])
def test_build_refuses_a_ranking_phase_reference_without_hidden_labels_naming_the_phase_and_the_folder_meant(
        tmp_path, capsys, folder, said):
    _, data = make("action", tmp_path)
    output = tmp_path / "bundle.zip"
    code = main(["build", "action", "--data", str(data), "--reference", f"Test={data / folder}", "--output", str(output)])
    errors = capsys.readouterr().err.splitlines()
    assert code == 1 and not output.exists()
    assert errors[0].startswith(f"error: --reference Test={data / folder}: phase 2 (Test) {said}; meant: ")
    assert errors[0].endswith(str(data / "reference" / "test")) and len(errors) == 2, errors


@pytest.mark.parametrize("platform", ["codalab", "codabench"])
def test_check_refuses_a_phase_that_scores_a_label_free_reference_naming_the_phase_and_the_folder_meant(tmp_path, platform):
    _, data = make("action", tmp_path)
    bundle = build(load_competition("action"), tmp_path / "b.zip", platform=platform, data=data).path
    with zipfile.ZipFile(bundle) as archive:  # made by hand: the test phase scores the participants' label-free reference
        files = {member: archive.read(member) for member in archive.namelist()}
    label_free = data / "public" / load_competition("action").challenge.layout.reference_folder("test")
    files["reference_data_2.zip"] = zip_bytes(folder_files(label_free))
    hand = write_zip(tmp_path / "hand.zip", files)
    expected = [f"phase 2 (Test) scores reference_data_2.zip, {LABEL_FREE}; build the bundle with the labelled "
                "reference/test of a 'bundler data' folder"]
    assert check_bundle(hand) == expected
    assert check_bundle(hand, leaks=False) == expected  # not a leak search: it runs without the guard too


def exact_tail(trials: int, p: float, k: int) -> float:
    return sum(math.comb(trials, j) * p ** j * (1 - p) ** (trials - j) for j in range(k, trials + 1))


@pytest.mark.parametrize("trials, p", [(10, 0.3), (200, 0.01), (500, 0.5), (60, 0.9)])
def test_the_order_threshold_is_where_the_exact_binomial_tail_falls_below_alpha(trials, p):
    k = tail_threshold(trials, p)
    assert exact_tail(trials, p, k) < ALPHA <= exact_tail(trials, p, k - 1) * (1 + 1e-9)


def test_random_orders_are_no_order_leak_and_names_given_class_by_class_are():
    rng = random.Random(7)
    for _ in range(200):
        n, classes = rng.randrange(3, 2000), rng.randrange(1, 60)
        labels = [str(rng.randrange(classes)) for _ in range(n)]
        names = [f"img_{i}.JPEG" for i in rng.sample(range(n), n)]
        assert order_leak(dict(zip(names, labels))) is None
        if len(set(labels)) >= 5 and n >= 100:
            leak = order_leak(dict(zip(sorted(names, key=name_order), sorted(labels))))
            assert leak is not None and leak.same == n - len(set(labels)) > leak.threshold > leak.expected


def test_names_are_sorted_with_their_numbers_compared_as_numbers():
    names = ["img_10.JPEG", "img_2.JPEG", "img_1.JPEG", "video_test_0000003.avi", "video_test_0000001.avi"]
    assert sorted(names, key=name_order) == ["img_1.JPEG", "img_2.JPEG", "img_10.JPEG", "video_test_0000001.avi",
                                             "video_test_0000003.avi"]


# The fingerprints, as properties: a re-serialised reference is always found; an unrelated file of the same format never.
ITEMS = [f"img_{i}.JPEG" for i in range(60)]
CLASSES = 10
TRUTH = {item: str(random.Random(item).randrange(CLASSES)) for item in ITEMS}
PAIR_FACTS = ItemLabels(frozenset(TRUTH.items()), 1 / CLASSES)


def pairs_text(rows: List[Tuple[str, str]], form: Dict) -> bytes:
    """Rows written with a delimiter, column order, line ending, header, quoting and encoding of ``form``."""
    lines = [] if not form["header"] else [form["delimiter"].join(("label", "image") if form["swap"] else ("image", "label"))]
    for item, label in rows:
        number = f"{int(label):0{form['width']}d}" if not form["as_float"] else f"{int(label)}.0"
        cells = (number, item) if form["swap"] else (item, number)
        lines.append(form["delimiter"].join(f'"{c}"' if form["quote"] else c for c in cells))
    return form["ending"].join(lines).encode(form["encoding"])


FORMS = st.fixed_dictionaries({
    "delimiter": st.sampled_from([",", ";", "\t", " ", " | ", ",  "]), "swap": st.booleans(), "header": st.booleans(),
    "ending": st.sampled_from(["\n", "\r\n", "\r"]), "quote": st.booleans(), "width": st.integers(1, 3),
    "as_float": st.booleans(), "encoding": st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
})


@given(form=FORMS, order=st.randoms(use_true_random=False))
def test_any_re_serialisation_of_labels_is_found_and_random_labels_of_the_same_items_never_are(form, order):
    rows = list(TRUTH.items())
    order.shuffle(rows)
    assert leaked(found_in(pairs_text(rows, form), PAIR_FACTS), PAIR_FACTS)
    guessed = [(item, str(order.randrange(CLASSES))) for item, _ in rows]
    assert not leaked(found_in(pairs_text(guessed, form), PAIR_FACTS), PAIR_FACTS)


@pytest.fixture(scope="module")
def every_kind_of_fact(tmp_path_factory) -> List[HiddenFacts]:
    """The hidden facts of every challenge's demo reference, and the generic item labels above."""
    folder = tmp_path_factory.mktemp("demo")
    for task, challenge in sorted(challenges().items()):
        challenge.write_demo_reference(folder / task, 0)
    return [PAIR_FACTS] + [challenge.hidden_facts(load_reference(folder / task)[1])
                           for task, challenge in sorted(challenges().items())]


@given(data=st.binary(max_size=400))
def test_any_bytes_are_read_without_an_error_and_reveal_nothing(every_kind_of_fact, data):
    for hidden in every_kind_of_fact:
        assert not leaked(found_in(data, hidden), hidden)
