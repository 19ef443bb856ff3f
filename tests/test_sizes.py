"""`rfgraph sizes`: which input sizes give non-empty maps and aligned merges, checked against the brute force."""

from __future__ import annotations

import json

import pytest
from brute import Brute, SizeError
from hypothesis import HealthCheck, given, settings
from randomnets import random_networks
from test_analysis import SAME_BRANCH

from rfgraph import RFGraphError, analyze, loads
from rfgraph.cli import main
from rfgraph.sizes import AxisSizes, valid_sizes

# google-research/receptive_field's N9: two strided "same" branches of different depths
TWO_SAME_BRANCHES = """
dims: 1
layers:
  - {name: c, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: a, op: conv, kernel: 3, stride: 2, padding: same}
  - {name: b, op: conv, kernel: 1, stride: 2, inputs: [c]}
  - {name: m, op: add, inputs: [a, b]}
"""


def brute_ok(net, n: int) -> bool:
    """A 1-D net valid and aligned at input size n, by the brute force."""
    try:
        brute = Brute(net, (n,))
    except SizeError:
        return False
    return all(brute.is_aligned(v) is not False for v in net.layers)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (TWO_SAME_BRANCHES, "x: aligned iff X mod 4 in {1, 2}"),
        (SAME_BRANCH, "h: aligned iff H = 1 (mod 2)"),
        ("dims: 1\nlayers: [{name: c, op: conv, kernel: 5}]", "x: aligned iff X >= 5"),
        (  # strides differ, so no size aligns them (not even 1, where each map has one feature)
            "dims: 1\nlayers:\n  - {name: a, op: conv, kernel: 1, stride: 2, inputs: [input]}\n"
            "  - {name: b, op: relu, inputs: [input]}\n  - {name: m, op: add, inputs: [a, b]}\n",
            "x: no input size gives non-empty maps and aligned merges",
        ),
        (
            "dims: 1\nlayers:\n  - {name: a, op: conv, kernel: 3, padding: 1, inputs: [input]}\n"
            "  - {name: b, op: conv, kernel: 3, stride: 3, inputs: [input]}\n"
            "  - {name: p, op: pool, kernel: 3, stride: 3, padding: same, inputs: [a]}\n"
            "  - {name: m, op: add, inputs: [p, b]}\n",
            "x: aligned iff X = 0 (mod 3)",
        ),
        (
            "dims: 1\nlayers:\n  - {name: a, op: conv, kernel: 2, inputs: [input]}\n"
            "  - {name: b, op: relu, inputs: [input]}\n  - {name: m, op: add, inputs: [a, b]}\n",
            "x: no input size gives non-empty maps and aligned merges",
        ),
        (  # attention keeps n, the pool halves it: equal sizes only while n is small
            "dims: 1\nlayers:\n  - {name: g, op: global, inputs: [input]}\n"
            "  - {name: p, op: pool, kernel: 1, stride: 2, padding: 1, inputs: [input]}\n"
            "  - {name: m, op: add, inputs: [g, p]}\n",
            "x: aligned iff X in {1, 2, 3}",
        ),
        (  # a global map upsampled to a fixed size 2, added to the input: only at 2
            "dims: 1\nlayers:\n  - {name: g, op: global_pool, inputs: [input]}\n"
            "  - {name: u, op: upsample, factor: 2, inputs: [g]}\n  - {name: m, op: add, inputs: [input, u]}\n",
            "x: aligned iff X = 2",
        ),
    ],
    ids=[
        "n9",
        "n4",
        "valid_conv",
        "strides_differ",
        "same_stride_3",
        "never",
        "maps_that_grow_apart",
        "fixed_size",
    ],
)
def test_worked_examples(text, expected):
    assert valid_sizes(loads(text)).axes[0].describe() == expected


def test_n4_is_aligned_at_9_and_not_at_8():
    (h, w) = valid_sizes(loads(SAME_BRANCH)).axes
    assert 9 in h and 8 not in h and h.to_dict() == w.to_dict()


@pytest.mark.parametrize(
    ("layer", "op"),
    [
        ("{name: r, op: resize, size: 7}", "resize"),
        ("{name: r, op: upsample, factor: 2, mode: bilinear, align_corners: true}", "upsample"),
        ("{name: r, op: adaptive_pool, output_size: 3}", "adaptive_pool"),
        ("{name: r, op: resize, size_of: input, mode: bilinear}", "resize"),
    ],
)
def test_geometry_that_is_not_periodic_is_one_located_error(layer, op, tmp_path, capsys):
    path = tmp_path / "net.yaml"
    text = f"dims: 1\nlayers:\n  - {{name: c, op: conv, kernel: 3, stride: 2}}\n  - {layer}\n"
    # without a merge below it, only whether the maps are empty counts: that is periodic
    assert valid_sizes(loads(text)).axes[0].describe() == "x: aligned iff X >= 3"
    path.write_text(text + "  - {name: m, op: add, inputs: [r, c], align: none}\n")
    with pytest.raises(
        RFGraphError, match=f"not periodic on axis x: 'r' \\({op}\\) depends on the input size"
    ):
        valid_sizes(loads(path.read_text()))
    assert main(["sizes", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:4: node 'r': ") and err.count("\n") == 1


def test_a_crop_to_a_map_of_the_same_scale_is_periodic():
    text = """
dims: 1
layers:
  - {name: e, op: conv, kernel: 3}
  - {name: d, op: conv, kernel: 3}
  - {name: c, op: crop, size_of: d, inputs: [e]}
  - {name: m, op: concat, inputs: [c, d]}
"""
    assert valid_sizes(loads(text)).axes[0].describe() == "x: aligned iff X >= 5"


def test_cli_text_and_json(tmp_path, capsys):
    path = tmp_path / "n9.yaml"
    path.write_text(TWO_SAME_BRANCHES)
    assert main(["sizes", str(path)]) == 0
    assert capsys.readouterr().out == "n9:\n  x: aligned iff X mod 4 in {1, 2}\n"
    assert main(["sizes", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"name": "n9", "axes": {"x": {"period": 4, "from": 1, "residues": [1, 2], "below": []}}}


def test_the_json_rule_is_the_contract():
    s = AxisSizes("h", period=4, start=9, residues=(1, 2), below=(3,))
    d = s.to_dict()
    for n in range(1, 40):
        assert (n in s) == ((n >= d["from"] and n % d["period"] in d["residues"]) or n in d["below"])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(max_layers=5, dims=(1,), without=("adaptive_pool", "resize")))
def test_sizes_agree_with_the_brute_force_over_a_full_range(case):
    text, _ = case
    net = loads(text)
    try:
        (axis,) = valid_sizes(net).axes
    except RFGraphError:
        return  # a geometry that is not periodic (none here but crops to other maps)
    top = max(axis.start, *(axis.below or (1,))) + 3 * axis.period + 4
    for n in range(1, top + 1):
        assert (n in axis) == brute_ok(net, n), (n, axis)


def test_a_yaml_file_takes_no_input_size(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text("layers: [{name: c, op: conv, kernel: 3}]\n")
    assert main(["sizes", str(path), "--input-size", "32"]) == 2
    assert capsys.readouterr().err == (
        f"{path}: --input-size is the size to trace a SOURCE at; for a YAML file `sizes` answers for every size\n"
    )


def test_the_period_comes_from_the_maps_below_merges_and_remainder_layers_only():
    # strides 7, 11, 13, 17, 19 on branches that meet nowhere: only emptiness counts, period 1
    branches = "".join(
        f"  - {{name: b{s}, op: conv, kernel: 3, stride: {s}, inputs: [input]}}\n"
        for s in (7, 11, 13, 17, 19)
    )
    (x,) = valid_sizes(loads("dims: 1\nlayers:\n" + branches)).axes
    assert x.to_dict() == {"period": 1, "from": 3, "residues": [0], "below": []}
    # a pixel_unshuffle fits even sizes only, merge or not
    (x,) = valid_sizes(loads("dims: 1\nlayers: [{name: u, op: pixel_unshuffle, factor: 2}]")).axes
    assert x.describe() == "x: aligned iff X = 0 (mod 2)"


def test_a_one_feature_map_resized_to_another_map_is_periodic():
    # DeepLabv3's image pooling: a global branch spread back over the map it is concatenated with
    net = loads("""
dims: 1
layers:
  - {name: c, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: g, op: global_pool}
  - {name: up, op: resize, size_of: c, mode: bilinear}
  - {name: cat, op: concat, inputs: [c, up]}
""")
    assert valid_sizes(net).axes[0].describe() == "x: aligned iff X >= 1"


@pytest.mark.parametrize("text", [TWO_SAME_BRANCHES, SAME_BRANCH], ids=["n9", "n4"])
def test_n4_and_n9_agree_with_the_brute_force_at_every_size_to_130(text):
    net = loads(text)
    answers = valid_sizes(net).axes
    top = max(130, *(a.start + 3 * a.period for a in answers))
    for n in range(1, top + 1):  # the axes are alike: a square input checks each of them
        want = all(n in a for a in answers)
        try:
            brute = Brute(net, (n,) * net.dims)
            got = all(brute.is_aligned(v) is not False for v in net.layers)
        except SizeError:
            got = False
        assert got == want, (n, [a.to_dict() for a in answers])


def test_an_empty_size_of_map_and_a_file_error_are_located_not_tracebacks(tmp_path, capsys):
    cropped = "dims: 1\nlayers:\n  - {name: c, op: crop, crop: [1, 0]}\n  - {name: r, op: resize, size_of: c, inputs: [input]}\n"
    assert valid_sizes(loads(cropped)).axes[0].describe() == "x: aligned iff X >= 2"
    path = tmp_path / "net.yaml"
    path.write_text(
        "dims: 1\nlayers:\n  - {name: t, op: transposed_conv, kernel: 3, stride: 2, output_padding: 2}\n"
        "  - {name: c, op: conv, kernel: 1, inputs: [input]}\n"
    )
    assert main(["sizes", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}:3: node 't': axis x: output_padding 2 must be smaller than the stride or the dilation\n"
    )


def test_a_resize_to_another_map_is_exact_at_sizes_past_the_longest_file_period():
    # the period of a resize to a size is at most that size: no limit applies (only to a file's factor)
    net = loads(
        "dims: 1\nlayers:\n  - {name: c, op: conv, kernel: 3, stride: 2, padding: 1}\n"
        "  - {name: r, op: resize, size_of: input}\n"
    )
    assert valid_sizes(net).axes[0].describe() == "x: aligned iff X >= 1"
    assert analyze(net, 70001)["r"].size == (70001,)
