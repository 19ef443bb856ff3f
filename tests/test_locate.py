"""Coordinate look-ups and input-size checks, cross-checked against the brute force."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from brute import FEATURES, Brute, SizeError
from hypothesis import HealthCheck, given, settings
from randomnets import random_networks

from rfgraph import RFGraphError, analyze, loads
from rfgraph.cli import main
from rfgraph.fit import check_input_size
from rfgraph.locate import locate, locate_pixel
from rfgraph.ops import Why

MODELS = Path(__file__).resolve().parent.parent / "models"

TWO_CONVS = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
"""

# a stride-2 branch and a stride-1 branch on h only (both 4 high at size 8): h is undefined from the merge on
MISALIGNED_STRIDES_ON_H = """
layers:
  - {name: a, op: conv, kernel: 1, stride: [2, 1], inputs: [input]}
  - {name: b, op: conv, kernel: [5, 1], stride: 1, inputs: [input]}
  - {name: m, op: add, inputs: [a, b]}
  - {name: c, op: conv, kernel: 3, padding: 1}
"""

PAD_THEN_POINT = """
dims: 1
layers:
  - {name: p, op: pad, padding: [[5, 0]]}
  - {name: c, op: conv, kernel: 2, stride: 3}
"""


@pytest.mark.parametrize(
    ("text", "size", "node", "feature", "first", "last", "centre", "clipped", "padding"),
    [
        (TWO_CONVS, 8, "c2", (0, 0), -3, 3, 0, (0, 3), (3, 0)),
        (TWO_CONVS, 8, "c2", (1, 1), 1, 7, 4, (1, 7), (0, 0)),
        (TWO_CONVS, 6, "c2", (1, 1), 1, 7, 4, (1, 5), (0, 2)),
        (TWO_CONVS, None, "c2", (1, 1), 1, 7, 4, None, (0, None)),
        (PAD_THEN_POINT, 9, "c", (0,), -5, -4, Fraction(-9, 2), None, (2, 0)),
        (PAD_THEN_POINT, 9, "c", (2,), 1, 2, Fraction(3, 2), (1, 2), (0, 0)),
    ],
    ids=[
        "corner_in_padding",
        "inside",
        "past_the_end",
        "no_size_no_after",
        "wholly_in_padding",
        "after_padding",
    ],
)
def test_locate_worked_examples(text, size, node, feature, first, last, centre, clipped, padding):
    box = locate(analyze(loads(text), size), node, feature)
    a = box.axes[0]
    assert (a.first, a.last, a.centre, a.clipped) == (first, last, centre, clipped)
    assert (a.padding_before, a.padding_after) == padding
    assert a.note is None and box.feature == tuple(feature)


@pytest.mark.parametrize(
    ("text", "size", "node", "pixel", "first", "last"),
    [
        (TWO_CONVS, 16, "c2", 5, 1, 2),
        (TWO_CONVS, 16, "c2", 0, 0, 0),
        (TWO_CONVS, 16, "c2", 15, 3, 3),
        (TWO_CONVS, None, "c2", 15, 3, 4),
        # stride 3 > kernel 2: input 0 (padded to 5) is read by no feature
        (PAD_THEN_POINT, 9, "c", 0, None, None),
        (PAD_THEN_POINT, 9, "c", 1, 2, 2),
    ],
    ids=["middle", "first_pixel", "last_pixel_clipped", "last_pixel_no_size", "skipped", "read_once"],
)
def test_locate_pixel_worked_examples(text, size, node, pixel, first, last):
    found = locate_pixel(analyze(loads(text), size), node, [pixel] * loads(text).dims)
    a = found.axes[0]
    assert (a.first, a.last) == (first, last)
    assert a.count == (0 if first is None else last - first + 1)


def test_undefined_axis_is_a_note_naming_the_merge():
    a = analyze(loads(MISALIGNED_STRIDES_ON_H), 8)
    h, w = locate(a, "c", (1, 1)).axes
    assert (h.first, h.last, h.centre, h.clipped) == (None, None, None, None)
    assert h.note == "undefined: merge 'm' joins different effective strides (a S=2, b S=1)"
    assert (w.first, w.last, w.note) == (0, 2, None)
    ph, pw = locate_pixel(a, "c", (3, 3)).axes
    assert (ph.first, ph.last, ph.count) == (None, None, 0) and ph.note == h.note
    assert (pw.first, pw.last) == (2, 4)


@pytest.mark.parametrize(
    ("call", "args", "message"),
    [
        (locate, ("c2", (1,)), "feature index needs 2 coordinate(s) (h, w), got 1: [1]"),
        (
            locate,
            ("c2", (0, 2)),
            "feature index 2 on axis w is outside of the 2x2 feature map: expected in 0..1",
        ),
        (locate, ("c2", (-1, 0)), "feature index -1 on axis h is outside of the 2x2 feature map"),
        (locate, ("c2", (0, 1.0)), "feature index must be integers, got 1.0"),
        (
            locate_pixel,
            ("c2", (8, 0)),
            "input pixel 8 on axis h is outside of the 8x8 input: expected in 0..7",
        ),
        (locate_pixel, ("c2", (1, 2, 3)), "input pixel needs 2 coordinate(s) (h, w), got 3"),
        (locate, ("c3", (0, 0)), "unknown node 'c3' (did you mean 'c2'?)"),
    ],
    ids=["count", "past_the_map", "negative", "float", "past_the_input", "pixel_count", "unknown"],
)
def test_bad_coordinates(call, args, message):
    a = analyze(loads(TWO_CONVS, path="net.yaml"), 8)
    with pytest.raises(RFGraphError) as e:
        call(a, *args)
    assert message in str(e.value) and str(e.value).startswith("net.yaml")


def test_negative_feature_without_size():
    with pytest.raises(RFGraphError, match="feature index -1 on axis h is outside: expected 0 or more"):
        locate(analyze(loads(TWO_CONVS)), "c2", (-1, 0))


def test_relative_to_locates_on_the_inner_map():
    a = analyze(loads(TWO_CONVS), 8, relative_to="c1")
    (h, _) = locate(a, "c2", (0, 0)).axes
    assert (h.first, h.last, h.clipped, h.padding_before, h.padding_after) == (-1, 1, (0, 1), 1, 0)
    with pytest.raises(RFGraphError, match="fields are relative to 'c1', which does not feed 'input'"):
        locate(a, "input", (0, 0))


# --- input size: border layers and what the outputs see -----------------------------------------

FIVE_BY_FIVE_CHAIN = """
dims: 1
layers:
  - {name: c1, op: conv, kernel: 5, padding: 2}
  - {name: c2, op: conv, kernel: 5, padding: 2}
  - {name: c3, op: conv, kernel: 5, padding: 2}
  - {name: c4, op: relu}
"""


@pytest.mark.parametrize(
    ("size", "borders"),
    [
        (4, ["c2", "c3", "c4"]),
        (5, ["c2", "c3", "c4"]),
        (6, ["c3", "c4"]),
        (9, ["c3", "c4"]),
        (10, ["c4"]),
        (14, []),
    ],
)
def test_border_layers_are_those_whose_inputs_r_min_covers_the_input(size, borders):
    # r_min: c1 5, c2 9, c3 13, c4 13; a layer is a border layer when its input's r_min >= size
    fit = check_input_size(analyze(loads(FIVE_BY_FIVE_CHAIN), size))
    assert [b.node for b in fit.borders] == borders
    assert all(b.axes == (0,) for b in fit.borders)


def test_a_shortcut_keeps_r_min_small_so_no_border():
    text = """
dims: 1
layers:
  - {name: c1, op: conv, kernel: 9, padding: 4}
  - {name: c2, op: conv, kernel: 9, padding: 4}
  - {name: sum, op: add, inputs: [c2, input]}
  - {name: c3, op: conv, kernel: 3, padding: 1}
"""
    fit = check_input_size(analyze(loads(text), 8))
    assert [b.node for b in fit.borders] == ["c2"]  # c3 reads sum, whose r_min is 1 via the shortcut


def test_border_on_one_axis_only():
    text = "layers: [{name: c1, op: conv, kernel: [7, 1], padding: [[3, 3], 0]}, {name: c2, op: conv, kernel: 1}]"
    fit = check_input_size(analyze(loads(text), (6, 6)))
    assert [(b.node, b.axes) for b in fit.borders] == [("c2", (0,))]
    assert fit.border_axes("c2") == (0,) and fit.border_axes("c1") == ()


def test_output_coverage():
    a = analyze(loads(FIVE_BY_FIVE_CHAIN), 8)
    (out,) = check_input_size(a).outputs
    # c4's feature x reads [x-6, x+6]: it covers [0, 7] for x in 1..6
    assert (out.node, out.whole, out.size, out.sees_whole_input) == ("c4", (6,), (8,), False)
    (out,) = check_input_size(analyze(loads(FIVE_BY_FIVE_CHAIN), 6)).outputs
    assert out.whole == (6,) and out.sees_whole_input
    (out,) = check_input_size(analyze(loads(FIVE_BY_FIVE_CHAIN), 20)).outputs
    assert out.whole == (0,)


def test_output_coverage_undefined_axis():
    (out,) = check_input_size(analyze(loads(MISALIGNED_STRIDES_ON_H), 8)).outputs
    assert out.whole == (None, 0) and out.sees_whole_input is None


def test_check_input_size_needs_a_size():
    with pytest.raises(RFGraphError, match="needs one: give input_size"):
        check_input_size(analyze(loads(TWO_CONVS)))


def test_vgg_16_at_64_wastes_its_last_six_layers():
    fit = check_input_size(analyze(MODELS / "vgg_16.yaml", 64))
    assert [b.node for b in fit.borders] == [
        "conv4/conv4_3",
        "pool4",
        "conv5/conv5_1",
        "conv5/conv5_2",
        "conv5/conv5_3",
        "pool5",
    ]
    assert check_input_size(analyze(MODELS / "vgg_16.yaml", 224)).borders == ()


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(TWO_CONVS)
    return str(path)


def test_cli_locate_forward(net, capsys):
    assert main(["locate", net, "c2", "0", "1", "--input-size", "8"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "feature (0, 1) of 'c2' reads input h -3..3, w 1..7 of the 8x8 input"
    assert out.splitlines()[3].split() == ["h", "-3", "3", "0", "0..3", "3", "0"]


def test_cli_locate_pixel_json(net, capsys):
    assert main(["locate", net, "c2", "--pixel", "5", "0", "--input-size", "16", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pixel"] == [5, 0] and doc["size"] == [4, 4]
    assert [(a["first"], a["last"]) for a in doc["axes"]] == [(1, 2), (0, 0)]


def test_cli_locate_undefined_axis_does_not_crash(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text(MISALIGNED_STRIDES_ON_H)
    assert main(["locate", str(path), "c", "1", "1"]) == 0
    out = capsys.readouterr().out
    assert "h: undefined: merge 'm' joins different effective strides" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["c2", "0"], "net.yaml:4: node 'c2': feature index needs 2 coordinate(s) (h, w), got 1: [0]\n"),
        (
            ["c2", "2", "0", "--input-size", "8"],
            "feature index 2 on axis h is outside of the 2x2 feature map",
        ),
        (["c2", "-1", "0"], "feature index -1 on axis h is outside: expected 0 or more"),
        (["c2", "--pixel", "0"], "input pixel needs 2 coordinate(s)"),
        (["c2", "0", "0", "--pixel", "0", "0"], "give feature indices or --pixel, not both"),
        (["c2"], "feature index needs 2 coordinate(s) (h, w), got 0"),
    ],
    ids=["count", "outside", "negative", "pixel_count", "both", "none"],
)
def test_cli_locate_bad_coordinates_exit_2(net, capsys, argv, message):
    assert main(["locate", net, *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# --- cross-check against the brute force on random chains and DAGs ---------------------------------


def _clipped(brute, v, feature):
    """Brute force: per axis of the map, the bounding box of the pixels the feature reads, on the
    axes where v is local (None elsewhere); None when it reads no pixel."""
    axes = brute.local_axes(v)
    box = brute.finite_box(v, axes, tuple(feature[a] for a in axes))
    if box is None:
        return None
    return [box[axes.index(i)] if i in axes else None for i in range(brute.net.dims)]


def _every_box(brute, v, size):
    """Brute force: each feature (on v's local axes, the others 0) with its clipped box, if any."""
    axes = brute.local_axes(v)
    found = []
    for index in itertools.product(*(range(size[a]) for a in axes)):
        feature = [0] * len(size)
        for a, c in zip(axes, index, strict=True):
            feature[a] = c
        box = _clipped(brute, v, feature)
        if box is not None:
            found.append((feature, box))
    return found


def _seeing(every, axes, pixel):
    """The features of ``_every_box`` whose box holds the pixel on ``axes``."""
    return [feature for feature, box in every if all(box[a][0] <= pixel[a] <= box[a][1] for a in axes)]


def _check_against_brute(net, a, brute, n):
    for v in a:
        rf = a[v]
        for i in range(net.dims):
            local = brute.state[v, i] == "local"
            features = range(rf.size[i]) if rf.size is not None else range(FEATURES // 3)
            for x in features:
                feature = [0] * net.dims
                feature[i] = x
                got = locate(a, v, feature).axes[i]
                box = brute.interval(v, i, x) if local else None
                if box is None:
                    assert got.first is None and got.note, (v, i, x)
                    continue
                lo, hi = box
                assert (got.first, got.last, got.centre) == (lo, hi, Fraction(lo + hi, 2)), (v, i, x)
                read = None if n is None else _clipped(brute, v, feature)
                assert got.clipped == (None if read is None else read[i]), (v, i, x)
                span = range(lo, hi + 1)
                assert got.padding_before == sum(1 for p in span if p < 0)
                assert got.padding_after == (None if n is None else sum(1 for p in span if p >= n[i]))
            if local and n is None:  # every feature whose box may hold pixels 0..9
                boxes = [brute.interval(v, i, x) for x in range(4 * FEATURES)]
            elif local:
                every = _every_box(brute, v, rf.size)
            for u in range(n[i]) if n is not None else (0, 1, 4, 9):
                pixel = [0] * net.dims
                pixel[i] = u
                found = locate_pixel(a, v, pixel)
                got = found.axes[i]
                if not local:  # a global axis: every feature reads all of it (with a size)
                    whole = rf.axes[i].why is Why.GLOBAL and rf.size is not None
                    want = (0, rf.size[i] - 1, rf.size[i]) if whole else (None, None, 0)
                    assert (got.first, got.last, got.count) == want and got.note
                    continue
                if n is None:
                    seen = [x for x, b in enumerate(boxes) if b is not None and b[0] <= u <= b[1]]
                else:
                    features = _seeing(every, brute.local_axes(v), pixel)
                    seen = sorted({f[i] for f in features})
                    others = [j for j in range(net.dims) if j not in brute.local_axes(v)]
                    globals_ = all(rf.axes[j].why is Why.GLOBAL for j in others)
                    times = math.prod(rf.size[j] for j in others) if globals_ else 0
                    assert found.count == len(features) * times, (v, pixel)
                assert (got.first, got.last, got.count) == (
                    (seen[0], seen[-1], len(seen)) if seen else (None, None, 0)
                ), (v, i, u)


def _check_fit_against_brute(net, a, brute, n):
    fit = check_input_size(a)
    want = []
    for v in a:
        if v == net.input:
            continue
        axes = []
        for i in range(net.dims):
            r_mins = [brute.r_min(u, i) for u in net.layers[v].inputs]
            r_mins = [r for r in r_mins if r is not None]
            if r_mins and all(r >= n[i] for r in r_mins):
                axes.append(i)
        if axes:
            want.append((v, tuple(axes)))
    assert [(b.node, b.axes) for b in fit.borders] == want
    for out in fit.outputs:
        size = a[out.node].size
        local = brute.local_axes(out.node)
        every = [
            _clipped(brute, out.node, f)
            for f in itertools.product(*(range(m) if j in local else [0] for j, m in enumerate(size)))
        ]
        features = list(itertools.product(*(range(m) if j in local else [0] for j, m in enumerate(size))))
        for i, whole in enumerate(out.whole):
            if i not in local:
                assert whole is None
                continue
            covering = {
                x
                for x in range(size[i])
                if all(
                    b is not None and b[i] == (0, n[i] - 1)
                    for f, b in zip(features, every, strict=True)
                    if f[i] == x
                )
            }
            assert whole == len(covering)
        if len(local) == net.dims:
            assert out.sees_whole_input == all(
                b is not None and all(b[j] == (0, n[j] - 1) for j in local) for b in every
            )


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(max_layers=6, chains=True, sizes=(2, 24)))
def test_locate_agrees_with_brute_force(case):
    text, size = case
    net = loads(text)
    n = None if size is None else (size,) * net.dims
    try:
        brute = Brute(net, n)
    except SizeError:
        return
    a = analyze(net, size)
    _check_against_brute(net, a, brute, n)
    if n is not None:
        _check_fit_against_brute(net, a, brute, n)


def test_without_a_size_there_is_no_in_image_column_and_stars_mark_what_is_assumed(tmp_path, capsys):
    path = tmp_path / "same.yaml"
    path.write_text("layers: [{name: c, op: conv, kernel: 3, stride: 2, padding: same}]\n")
    assert main(["locate", str(path), "c", "1", "1"]) == 0
    out = capsys.readouterr().out
    assert "in image" not in out and "padding after" not in out
    assert out.splitlines()[3].split() == ["h", "2*", "4*", "3*", "0*"]  # padding before follows first
    assert out.rstrip().endswith(
        "*: assumes input sizes divisible by 'same' layers' strides; give --input-size for exact values."
    )
    assert main(["locate", str(path), "c", "1", "1", "--input-size", "8"]) == 0
    out = capsys.readouterr().out
    assert "in image" in out and "*" not in out


def test_locate_says_when_a_node_also_reads_the_whole_input(capsys):
    path = str(MODELS / "examples" / "mbconv_se.yaml")
    assert main(["locate", path, "block.add", "3", "3", "--input-size", "16"]) == 0
    out = capsys.readouterr().out
    assert (
        "'block.add' is global: through a global op it reads the whole input too; this is its local box"
        in out
    )
    assert main(["locate", path, "block.add", "3", "3", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["global"] is True
    assert main(["locate", path, "block.expand", "3", "3", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["global"] is False
