"""The one-pass analysis: worked examples, and a cross-check against the brute force."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from brute import FEATURES, Brute, SizeError
from hypothesis import HealthCheck, given, settings
from randomnets import random_networks

import rfgraph
from rfgraph import Layer, RFGraphError, analyze, loads, make_network
from rfgraph.ops import Why

MODELS = Path(__file__).resolve().parent.parent / "models"

TWO_CONVS = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: c2, op: conv, kernel: K, stride: 2, padding: 1}
"""

# google-research/receptive_field's test networks, described in rfgraph YAML.
ALIGNED_PAD_BRANCH = """
input: input_image
layers:
  - {name: L1, op: conv, kernel: 1, stride: 4, padding: valid, inputs: [input_image]}
  - {name: L2_pad, op: pad, padding: [[1, 0], [1, 0]], inputs: [input_image]}
  - {name: L2, op: conv, kernel: 3, stride: 2, padding: valid}
  - {name: L3, op: conv, kernel: 1, stride: 2, padding: valid}
  - {name: output, op: add, inputs: [L1, L3]}
"""

MISALIGNED_STRIDES = """
input: input_image
layers:
  - {name: L1_pad, op: pad, padding: [[2, 1], [2, 1]], inputs: [input_image]}
  - {name: L1, op: conv, kernel: 5, stride: 2, padding: valid}
  - {name: L2, op: conv, kernel: 3, stride: 1, padding: valid, inputs: [input_image]}
  - {name: L3, op: conv, kernel: 3, stride: 1, padding: valid}
  - {name: output, op: add, inputs: [L1, L3]}
"""

SAME_BRANCH = """
input: input_image
layers:
  - {name: L1, op: conv, kernel: 1, stride: 4, padding: valid, inputs: [input_image]}
  - {name: L2, op: conv, kernel: 3, stride: 2, padding: same, inputs: [input_image]}
  - {name: L3, op: conv, kernel: 1, stride: 2, padding: valid}
  - {name: output, op: add, inputs: [L1, L3]}
"""

NON_SQUARE = """
input: input_image
layers:
  - {name: L1, op: conv, kernel: [3, 5], stride: 2, padding: valid}
  - {name: L2, op: conv, kernel: [3, 1], stride: 2, padding: valid}
  - {name: output, op: relu}
"""

TWO_ADDS = (
    ALIGNED_PAD_BRANCH.replace("name: output", "name: L4")
    + """  - {name: L5, op: conv, kernel: 1, stride: 2, padding: valid, inputs: [L4]}
  - {name: L6_pad, op: pad, padding: [[1, 0], [1, 0]], inputs: [L4]}
  - {name: L6, op: conv, kernel: 3, stride: 2, padding: valid}
  - {name: output, op: add, inputs: [L5, L6]}
"""
)


@pytest.mark.parametrize(
    ("text", "size", "node", "r", "S", "P", "aligned"),
    [
        (TWO_CONVS.replace("K", "3"), None, "c2", (7, 7), (4, 4), (3, 3), True),
        (TWO_CONVS.replace("K", "4"), None, "c2", (9, 9), (4, 4), (3, 3), True),
        (ALIGNED_PAD_BRANCH, None, "output", (3, 3), (4, 4), (1, 1), True),
        (ALIGNED_PAD_BRANCH.replace("op: conv", "op: pool"), None, "output", (3, 3), (4, 4), (1, 1), True),
        (MISALIGNED_STRIDES, None, "output", (None, None), (None, None), (None, None), False),
        (SAME_BRANCH, 9, "output", (3, 3), (4, 4), (1, 1), True),
        (SAME_BRANCH, 8, "output", (3, 3), (4, 4), (0, 0), False),
        (NON_SQUARE, None, "output", (7, 5), (4, 4), (0, 0), True),
        (TWO_ADDS, None, "output", (11, 11), (8, 8), (5, 5), True),
    ],
    ids=[
        "two_3x3_s2",
        "3x3_then_4x4",
        "aligned_pad_branch",
        "aligned_pad_branch_pools",
        "misaligned_strides",
        "same_branch_aligned_at_9",
        "same_branch_misaligned_at_8",
        "non_square",
        "two_adds",
    ],
)
def test_worked_examples(text, size, node, r, S, P, aligned):
    a = analyze(loads(text), size)
    assert (a[node].r, a[node].S, a[node].P) == (r, S, P)
    assert a.aligned is aligned
    assert a[node].aligned is aligned


def test_first_feature_of_two_convs_is_centred_on_input_zero():
    a = analyze(loads(TWO_CONVS.replace("K", "3")))
    assert a["c2"].axes[0].centre == 0
    assert a["c2"].axes[0].box(0) == (-3, 3)


def test_same_padding_without_size_is_flagged_and_assumes_divisible():
    a = analyze(loads(SAME_BRANCH))
    assert a["L2"].P == (0, 0)
    assert a["L2"].size_dependent and a["output"].size_dependent
    assert not a["L1"].size_dependent
    assert not analyze(loads(SAME_BRANCH), 9)["output"].size_dependent


def test_misaligned_same_stride_merge_takes_the_bounding_box():
    a = analyze(
        loads("""
layers:
  - {name: a, op: conv, kernel: 5, padding: 0, inputs: [input]}
  - {name: b, op: conv, kernel: 3, padding: 2, inputs: [input]}
  - {name: m, op: concat, inputs: [a, b]}
""")
    )
    # a reads [0, 4], b reads [-2, 0]: the union's box is [-2, 4]
    assert (a["m"].r, a["m"].P, a["m"].aligned) == ((7, 7), (2, 2), False)
    (m, _) = a.misalignments
    assert m.what == "centres differ" and [n for n, _ in m.inputs] == ["a", "b"]
    assert [rf.centre for _, rf in m.inputs] == [2, -1]


def test_undefined_propagates_downstream_on_that_axis_only():
    a = analyze(
        loads("""
layers:
  - {name: a, op: conv, kernel: 1, stride: [2, 1], inputs: [input]}
  - {name: b, op: conv, kernel: 1, stride: 1, inputs: [input]}
  - {name: m, op: add, inputs: [a, b]}
  - {name: c, op: conv, kernel: 3, padding: 1}
  - {name: m2, op: add, inputs: [c, m]}
""")
    )
    assert a["c"].r == (None, 3) and a["c"].S == (None, 1)
    assert a["c"].aligned and not a["m"].aligned and not a["m2"].aligned
    assert [(m.node, m.axis) for m in a.misalignments] == [("m", 0), ("m2", 0)]
    assert a.to_dict()["nodes"]["c"]["r"] == [None, 3]


def test_r_min_is_exact_when_strides_differ_between_paths():
    # path via s (stride 4) gives r 1 + 2*4 = 9 at the 3x3; path via the plain 5x5 conv, 5 + 2 = 7.
    a = analyze(
        loads("""
dims: 1
layers:
  - {name: s, op: pool, kernel: 1, stride: 4, inputs: [input]}
  - {name: big, op: conv, kernel: 5, inputs: [input]}
  - {name: m, op: concat, inputs: [s, big]}
  - {name: c, op: conv, kernel: 3}
""")
    )
    assert a["c"].r == (None,)
    assert a["c"].r_min == (7,)


def test_relative_to_gives_the_field_on_an_inner_feature_map():
    text = TWO_CONVS.replace("K", "3") + "  - {name: c3, op: conv, kernel: 3, stride: 2, padding: 1}\n"
    a = analyze(loads(text), relative_to="c1")
    assert list(a) == ["c1", "c2", "c3"] and a.source == "c1"
    assert (a["c3"].r, a["c3"].S, a["c3"].P) == ((7, 7), (4, 4), (3, 3))


def test_relative_to_ignores_merge_inputs_it_does_not_feed():
    a = analyze(loads(ALIGNED_PAD_BRANCH), relative_to="L2")
    assert list(a) == ["L2", "L3", "output"]
    assert a["output"].r == (1, 1) and a["output"].S == (2, 2) and a.aligned


def test_relative_to_unknown_node():
    with pytest.raises(RFGraphError, match="unknown node 'nope'"):
        analyze(loads(TWO_CONVS.replace("K", "3")), relative_to="nope")


def test_sizes_and_exact_same_padding():
    a = analyze(loads(SAME_BRANCH), (9, 8))
    assert a["L2"].size == (5, 4) and a["output"].size == (3, 2)
    assert a["L2"].P == (1, 0)


@pytest.mark.parametrize(
    ("text", "size", "message"),
    [
        (
            SAME_BRANCH.replace("kernel: 1, stride: 4", "kernel: 1, stride: 3"),
            12,
            "different sizes: L1 4x4, L3 3x3",
        ),
        (
            "layers: [{name: c, op: conv, kernel: 5, padding: valid}]",
            4,
            "axis h: feature map becomes empty",
        ),
        ("layers: [{name: c, op: pad, padding: -2}]", 4, "feature map becomes empty"),
    ],
    ids=["merge_of_different_sizes", "valid_conv_too_big", "crop_too_much"],
)
def test_size_errors(text, size, message):
    with pytest.raises(RFGraphError, match=message):
        analyze(loads(text, path="net.yaml"), size)


def test_input_size_from_the_file_and_its_override():
    text = "input: {name: img, size: [9, 8]}\n" + SAME_BRANCH.replace("input_image", "img").split("\n", 2)[2]
    assert analyze(loads(text)).input_size == (9, 8)
    assert analyze(loads(text), 12).input_size == (12, 12)
    with pytest.raises(RFGraphError, match="input size must be"):
        analyze(loads(text), (1, 2, 3))


def test_exact_numbers_at_two_to_the_two_hundred():
    conv = {"kernel": (3,), "stride": (2,), "dilation": (1,), "padding": ((1, 1),)}
    layers = [Layer(f"c{i}", "conv", (f"c{i - 1}" if i else "input",), conv) for i in range(200)]
    a = analyze(make_network(layers, dims=1))
    assert a["c199"].S == (2**200,)
    assert a["c199"].r == (2**201 - 1,)
    assert a.to_dict()["nodes"]["c199"]["S"] == [2**200]


def test_deep_chain_needs_no_recursion():
    layers = [Layer(f"c{i}", "relu", (f"c{i - 1}" if i else "input",)) for i in range(30_000)]
    assert analyze(make_network(layers, dims=1))["c29999"].r == (1,)


def test_public_names():
    assert set(rfgraph.__all__) >= {"load", "loads", "analyze", "RFGraphError", "Analysis"}


# --- cross-check against the brute force on random DAGs --------------------------------------------

STATES = {
    None: "local",
    Why.GLOBAL: "global",
    Why.STRIDES: "undefined",
    Why.SIZE: "unknown",
    Why.EMPTY: "empty",
}


def check_against_brute(net, a, brute):
    for v in net.nodes:
        rf = a[v]
        assert rf.size == brute.sizes[v], v
        assert rf.aligned == brute.is_aligned(v), v
        for i, axis in enumerate(rf.axes):
            state = brute.state[v, i]
            assert STATES[axis.why] == state, (v, i)
            want = brute.field(v, i)
            assert (axis.r, axis.S, axis.P, axis.r_min) == (want.r, want.S, want.P, want.r_min), (v, i)
            if state in ("local", "global"):
                assert axis.is_global == want.is_global, (v, i)
            if state == "local":
                for x in range(FEATURES):
                    assert axis.box(x) == brute.interval(v, i, x), (v, i, x)
    assert {m.node for m in a.misalignments} == {v for v in net.nodes if brute.is_aligned(v) is False}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks())
def test_one_pass_agrees_with_brute_force(case):
    text, size = case
    net = loads(text)
    sizes = None if size is None else (size,) * net.dims
    try:
        brute = Brute(net, sizes)
    except SizeError:
        with pytest.raises(RFGraphError):
            analyze(net, size)
        return
    a = analyze(net, size)
    check_against_brute(net, a, brute)
    assert all(isinstance(n, int) for rf in a.nodes.values() for n in rf.r if n is not None)


# resizes and crops that take another node's size: size_of gives a size and carries no data
RESIZE_TO_THE_INPUTS_SIZE = """
dims: 1
layers:
  - {name: a, op: conv, kernel: 2}
  - {name: r, op: resize, size_of: input, inputs: [a]}
"""
CORNERS_TO_THE_INPUTS_SIZE = """
dims: 1
layers:
  - {name: c, op: conv, kernel: 3, stride: 2}
  - {name: r, op: resize, size_of: input, mode: bilinear, align_corners: true, inputs: [c]}
"""
CORNERS_BY_A_FACTOR = """
dims: 1
layers: [{name: r, op: resize, factor: 2, mode: bilinear, align_corners: true}]
"""
CROP_TO_A_LARGER_MAP = """
dims: 1
layers:
  - {name: p, op: pool, kernel: 2, stride: 2}
  - {name: c, op: crop, size_of: input, inputs: [p]}
"""


@pytest.mark.parametrize(
    ("text", "size", "node", "r", "r_min"),
    [
        (RESIZE_TO_THE_INPUTS_SIZE, None, "r", 2, 2),  # not 1: the size_of edge is no path
        (RESIZE_TO_THE_INPUTS_SIZE, 10, "r", 2, 2),
        (CORNERS_TO_THE_INPUTS_SIZE, None, "r", None, None),  # align_corners needs a size, size_of or not
        (CORNERS_TO_THE_INPUTS_SIZE, 9, "r", 5, 5),
        (CORNERS_BY_A_FACTOR, None, "r", None, None),
        (CORNERS_BY_A_FACTOR, 6, "r", 2, 2),  # size 12: the scale is 5/11
    ],
)
def test_resizes_agree_with_the_brute_force(text, size, node, r, r_min):
    net = loads(text)
    brute = Brute(net, None if size is None else (size,))
    assert (brute.field(node, 0).r, brute.field(node, 0).r_min) == (r, r_min)
    if size is not None:
        assert brute.sizes[node] == analyze(net, size)[node].size
    check_against_brute(net, analyze(net, size), brute)


def test_a_crop_to_a_larger_map_is_an_error_in_both():
    net = loads(CROP_TO_A_LARGER_MAP)
    with pytest.raises(SizeError):
        Brute(net, (10,))
    with pytest.raises(RFGraphError, match="cannot crop a map of size 5 to the larger size 10"):
        analyze(net, 10)


# --- the API a user touches first ------------------------------------------------------------------


def test_reprs_are_short():
    a = analyze(MODELS / "inception_resnet_v2.yaml")
    assert len(repr(a)) < 100 and len(repr(a.network)) < 100 and len(repr(a["Conv2d_7b_1x1"])) < 100
    assert repr(a) == "Analysis('inception_resnet_v2', 334 nodes, aligned)"
    assert repr(a.nodes) == "<334 nodes: input, Conv2d_1a_3x3, Conv2d_2a_3x3, ...>"
    one = analyze(loads(MISALIGNED_ONCE), 9)
    assert repr(one) == "Analysis('network', 4 nodes, 1 misalignment)"
    (m,) = one.misalignments
    assert (m.axis, m.axis_name) == (0, "x") and one.to_dict()["misalignments"][0]["axis_name"] == "x"


MISALIGNED_ONCE = """
dims: 1
layers:
  - {name: a, op: conv, kernel: 3, padding: 1, inputs: [input]}
  - {name: b, op: conv, kernel: 2, padding: [1, 0], inputs: [input]}
  - {name: m, op: add, inputs: [a, b]}
"""


def test_nodes_are_collections_of_names_in_file_order_on_both_sides():
    a = analyze(loads(TWO_CONVS.replace("K", "3")))
    for nodes in (a.network.nodes, a.nodes):
        assert len(nodes) == 3 and list(nodes) == ["input", "c1", "c2"] and "c2" in nodes


def test_node_to_dict_is_its_json_entry():
    a = analyze(loads(TWO_CONVS.replace("K", "3")), 8)
    assert a["c2"].to_dict() == a.to_dict()["nodes"]["c2"]
    assert a["c2"].to_dict() == {
        "r": [7, 7], "S": [4, 4], "P": [3, 3], "r_min": [7, 7], "aligned": True, "global": False, "size": [2, 2],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (["input", "c2", "c1"], "order is not topological: 'c2' comes before its input 'c1'"),
        (["input", "c1"], "order leaves out 1 node(s), the first 'c2'"),
        (["input", "c1", "c1", "c2"], "order: 'c1' appears twice"),
        (["input", "c1", "c3"], "order: unknown node 'c3'"),
    ],
)
def test_a_given_order_is_checked(order, message):
    net = loads(TWO_CONVS.replace("K", "3"))
    with pytest.raises(RFGraphError, match=re.escape(message)):
        analyze(net, order=order)
    assert analyze(net, order=["input", "c1", "c2"])["c2"].r == (7, 7)


UNCHECKED = """
dims: 1
layers:
  - {name: a, op: conv, kernel: 2, inputs: [input]}
  - {name: m, op: add, inputs: [a, input], align: none}
  - {name: b, op: conv, kernel: 3, padding: 1, inputs: [input]}
  - {name: n, op: add, inputs: [b, input]}
"""


def test_a_merge_that_is_not_checked_is_null_and_not_counted():
    a = analyze(loads(UNCHECKED))
    assert a.aligned and a["m"].aligned is None and a["n"].aligned is True
    assert a.to_dict()["nodes"]["m"]["aligned"] is None and a.unchecked == ["m"]
    by_centres = analyze(loads(UNCHECKED.replace("align: none", "align: centre")))
    assert not by_centres.aligned and [m.node for m in by_centres.misalignments] == ["m"]


@pytest.mark.parametrize(
    "layer",
    [
        "{name: r, op: resize, factor: 10000000000000000000000/3}",
        "{name: r, op: upsample, factor: 10000000}",
        "{name: r, op: resize, factor: 1000001/1000000}",
        "{name: r, op: transposed_conv, kernel: 3, stride: 100000000}",
        "{name: r, op: pixel_shuffle, factor: 100000000}",
    ],
)
@pytest.mark.parametrize("size", [None, 16])
def test_a_period_too_long_to_keep_is_a_located_error_not_a_hang(layer, size):
    with pytest.raises(
        RFGraphError, match=r"repeat only every [0-9]+ features \(at most 65536 are kept\)"
    ) as info:
        analyze(loads(f"dims: 1\nlayers:\n  - {layer}\n"), size)
    assert info.value.line == 3


def test_output_padding_must_be_smaller_than_the_stride_or_the_dilation():
    net = "dims: 1\nlayers:\n  - {name: t, op: transposed_conv, kernel: 3, stride: 2, output_padding: P}\n"
    assert analyze(loads(net.replace("P", "1")), 5)["t"].size == (12,)
    with pytest.raises(
        RFGraphError, match="output_padding 2 must be smaller than the stride or the dilation"
    ):
        analyze(loads(net.replace("P", "2")))
