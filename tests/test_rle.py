"""Our COCO RLE codec equals pycocotools.mask (encode, decode, area, iou, frPyObjects) and names what is malformed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pycocotools import mask as coco

from scoring.metrics import rle

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # pycocotools on numpy 2
sizes = st.tuples(st.integers(1, 24), st.integers(1, 24))


@st.composite
def masks(draw, size=None, count=1):
    """Masks of one size drawn as runs of random lengths, so runs cross column boundaries; empty and full included."""
    height, width = size or draw(sizes)
    out = []
    for _ in range(count):
        kind = draw(st.sampled_from(["runs", "runs", "runs", "empty", "full", "noise"]))
        if kind == "noise":
            flat = np.array(draw(st.lists(st.booleans(), min_size=height * width, max_size=height * width)))
        else:
            lengths = draw(st.lists(st.integers(1, max(1, height * width // 3)), max_size=12)) if kind == "runs" else []
            flat = np.repeat(np.arange(len(lengths)) % 2 == 1, lengths)[: height * width]
            flat = np.pad(flat, (0, height * width - len(flat)), constant_values=kind == "full")
            if draw(st.booleans()):
                flat = ~flat
        out.append(flat.reshape(width, height).T.astype(np.uint8))
    return out


def fortran(items):
    return np.asfortranarray(np.stack(items, axis=2))


@given(masks(count=3))
@example([np.ones((1, 1), np.uint8)] * 3)
@example([np.zeros((1, 1), np.uint8)] * 3)
def test_encode_decode_and_area_equal_pycocotools(items):
    expected = coco.encode(fortran(items))
    ours = [rle.encode(m) for m in items]
    assert [o["counts"] for o in ours] == [e["counts"].decode() for e in expected]
    assert [o["size"] for o in ours] == [list(e["size"]) for e in expected]
    assert rle.area(ours).tolist() == coco.area(expected).tolist()
    for m, o, e in zip(items, ours, expected):
        assert np.array_equal(rle.decode(o), coco.decode(e)) and np.array_equal(rle.decode(o), m)


@given(sizes.flatmap(lambda size: st.tuples(masks(size, 3), masks(size, 4), st.lists(st.booleans(), min_size=4, max_size=4))))
def test_iou_and_crowd_iou_equal_pycocotools(case):
    dt, gt, crowd = case
    expected = coco.iou(coco.encode(fortran(dt)), coco.encode(fortran(gt)), [int(c) for c in crowd])
    got = rle.iou([rle.encode(m) for m in dt], [rle.encode(m) for m in gt], crowd)
    assert np.array_equal(got, expected)


def test_masks_of_different_sizes_have_iou_minus_one_as_in_pycocotools():
    small, large = np.ones((2, 3), np.uint8), np.ones((3, 2), np.uint8)
    expected = coco.iou([coco.encode(np.asfortranarray(small))], [coco.encode(np.asfortranarray(large))], [0])
    assert rle.iou([rle.encode(small)], [rle.encode(large)], [False]).tolist() == expected.tolist() == [[-1.0]]


@given(st.lists(st.integers(1, (1 << 24) - 1), min_size=1, max_size=30), st.booleans())
@example([1], True)
@example([(1 << 24) - 1, 1, 1 << 20, 3], False)
def test_uncompressed_counts_compress_as_frpyobjects_does_and_read_back(tail, starts_set):
    # zero first count: the first pixel is set; large counts need up to 5 characters (with 6 for every number,
    # pycocotools' rleToString writes its terminating zero past its buffer)
    counts = [0] * starts_set + tail
    size = [1, sum(counts)]
    expected = coco.frPyObjects({"size": size, "counts": counts}, *size)
    ours = rle.compress({"size": size, "counts": counts})
    assert ours == {"size": size, "counts": expected["counts"].decode()}
    runs = rle.read([ours])
    bounds = np.cumsum(counts)
    assert runs.start.tolist() == bounds[0::2][: len(runs.start)].tolist()
    assert runs.end.tolist() == bounds[1::2].tolist()
    assert rle.area([ours]).tolist() == coco.area([expected]).tolist()


def test_compressed_and_uncompressed_objects_read_together_in_their_order():
    items = [np.eye(4, dtype=np.uint8), np.ones((4, 4), np.uint8), np.zeros((4, 4), np.uint8)]
    mixed = [rle.encode(items[0]), {"size": [4, 4], "counts": [0, 16]}, rle.encode(items[2])]
    assert rle.read(mixed).area.tolist() == [4, 16, 0]


def test_runs_of_a_mask_are_its_pixel_intervals_and_extent_its_box():
    mask = np.zeros((4, 5), np.uint8)
    mask[2:, 1] = mask[:2, 2] = 1  # one run across the column boundary
    mask[1, 4] = 1
    runs = rle.read([rle.encode(mask)])
    assert (runs.start.tolist(), runs.end.tolist()) == ([6, 17], [10, 18])
    assert runs.extent.tolist() == [[1, 4, 0, 3]]
    assert coco.toBbox(coco.encode(np.asfortranarray(mask))).tolist() == [1, 0, 4, 4]


@pytest.mark.parametrize("item, message", [
    ({"size": [2, 2], "counts": "0z"}, "'z' at character 1, not a character from '0' to 'o'"),
    ({"size": [2, 2], "counts": "0é"}, "'é', not a character from '0' to 'o'"),
    ({"size": [2, 2], "counts": "0a"}, "counts end inside a number"),
    ({"size": [2, 2], "counts": "3"}, "counts sum to 3, not 2 x 2 = 4 pixels"),
    ({"size": [2, 2], "counts": "019"}, "a number larger than any mask's pixels at character 2"),
    ({"size": [2, 2], "counts": "0" + "`" * 12 + "0"}, "more than 12 characters at character 1"),
    ({"size": [2, 2], "counts": [1, -1, 4]}, "count 1 (-1) is negative"),
    ({"size": [2, 2], "counts": [1, 9]}, "count 1 (9) is out of range for the mask's size"),
    ({"size": [2, 2], "counts": [1, 1 << 70]}, "count 1 (1180591620717411303424) is out of range"),
    ({"size": [2, 2], "counts": [1.0, 3]}, "counts must be a string or a list of integers"),
    ({"size": [2, 2]}, "counts must be a string or a list of integers"),
    ({"size": [2, -2], "counts": "4"}, "size must be [height, width], two integers from 0 to 2**31 - 1, not [2, -2]"),
    ({"size": [1 << 30, 1 << 30], "counts": [0, 1 << 60]}, "is 1152921504606846976 pixels; a mask has fewer than 2**59"),
    ({"size": "2x2", "counts": "4"}, "size must be [height, width]"),
    ("4", "size must be [height, width]"),
])
def test_a_malformed_rle_names_its_position_and_what_is_wrong(item, message):
    good = rle.encode(np.ones((2, 2), np.uint8))
    with pytest.raises(rle.RleError) as raised:
        rle.read([good, good, item, good])
    assert raised.value.index == 2
    assert message in str(raised.value)


def test_the_first_mask_too_large_is_named_even_when_a_larger_one_follows():
    first, larger = ({"size": [1 << 30, 1 << 29], "counts": [0, 1 << 59]}, {"size": [1 << 30, 1 << 30], "counts": [0, 1 << 60]})
    with pytest.raises(rle.RleError) as raised:
        rle.read([rle.encode(np.ones((2, 2), np.uint8)), first, larger])
    assert raised.value.index == 1


def test_the_largest_counts_a_mask_may_hold_compress_to_twelve_characters_and_read_back():
    size = [1 << 29, (1 << 30) - 1]  # the most pixels below 2**59 for this height: some count takes 12 characters
    pixels = size[0] * size[1]
    for counts in ([0, pixels], [pixels], [pixels - 1, 1], [1, pixels - 3, 1, 1]):  # the last: a difference of -2**59 + 5
        ours = rle.compress({"size": size, "counts": counts})
        assert len(ours["counts"]) >= rle.MAX_CHARACTERS
        assert rle._compressed([ours["counts"]], pixels)[0].tolist() == counts
        assert rle.area([ours]).tolist() == [sum(counts[1::2])]


def test_so_many_huge_masks_that_their_runs_cannot_be_indexed_are_refused_at_the_largest():
    huge = {"size": [1 << 29, 1 << 29], "counts": [1 << 58]}
    small = rle.encode(np.ones((2, 2), np.uint8))
    assert rle.area([small, huge, huge]).tolist() == [4, 0, 0]
    with pytest.raises(rle.RleError) as raised:
        rle.iou([small] * 3 + [huge] * 16, [huge], [False])
    assert raised.value.index == 3
    assert "is 288230376151711744 pixels; 19 masks of this size are too many for one batch" in str(raised.value)


def test_an_already_compressed_rle_compresses_to_itself_as_text():
    ours = rle.encode(np.eye(5, dtype=np.uint8))
    assert rle.compress(ours) == ours
    assert rle.compress({**ours, "counts": ours["counts"].encode()}) == ours
    with pytest.raises(rle.RleError, match="counts sum to"):
        rle.compress({**ours, "size": [5, 6]})


@given(st.lists(st.integers(1, 1 << 40), min_size=1, max_size=30))
def test_counts_of_up_to_nine_characters_read_back(counts):
    text = rle.string(counts)
    assert rle._compressed([text], sum(counts))[0].tolist() == counts


@given(st.lists(st.integers(0, 6), min_size=1, max_size=30).filter(lambda counts: sum(counts) > 0))
def test_counts_with_empty_runs_read_as_pycocotools_reads_them(counts):
    size = [1, sum(counts)]
    expected = coco.frPyObjects({"size": size, "counts": counts}, *size)
    ours = rle.compress({"size": size, "counts": counts})
    assert ours["counts"] == expected["counts"].decode()
    assert np.array_equal(rle.decode(ours), coco.decode(expected))
    assert rle.area([ours]).tolist() == coco.area([expected]).tolist()


def test_decoding_and_overlaps_in_small_chunks_give_the_same_runs_and_iou(monkeypatch):
    rng = np.random.default_rng(0)
    items = [(rng.random((9, 7)) < rng.random()).astype(np.uint8) for _ in range(40)]
    objects = [rle.encode(m) for m in items]
    whole = rle.read(objects)
    expected = rle.iou(objects[:20], objects[20:], [k % 3 == 0 for k in range(20)])
    monkeypatch.setattr(rle, "CHARACTERS_PER_CHUNK", 8)
    monkeypatch.setattr(rle, "RUNS_PER_CHUNK", 5)
    pieces = rle.read(objects)
    assert all(np.array_equal(getattr(whole, f), getattr(pieces, f)) for f in ("height", "width", "offset", "start", "end"))
    assert np.array_equal(rle.iou(objects[:20], objects[20:], [k % 3 == 0 for k in range(20)]), expected)
    with pytest.raises(rle.RleError) as raised:
        rle.read(objects[:33] + [{"size": [9, 7], "counts": "0z"}])
    assert raised.value.index == 33


anything = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8),
                     st.lists(st.integers(-(1 << 70), 1 << 70), max_size=5))


@given(st.lists(st.one_of(
    st.fixed_dictionaries({"size": st.one_of(st.lists(st.integers(-3, 6), max_size=3), anything),
                           "counts": st.one_of(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=130), max_size=12),
                                               st.lists(st.integers(-9, 40), max_size=6), anything)}),
    anything), max_size=5))
def test_any_input_reads_or_raises_one_rle_error_naming_its_position(objects):
    try:
        runs = rle.read(objects)
    except rle.RleError as error:
        assert 0 <= error.index < len(objects)
    else:
        assert len(runs) == len(objects)
        assert (runs.area == [int(np.prod(o["size"])) - sum(_counts(o)[0::2]) for o in objects]).all()


def _counts(rle_object):
    counts = rle_object["counts"]
    return counts if isinstance(counts, list) else rle._compressed([counts], 1 << 40)[0].tolist()
