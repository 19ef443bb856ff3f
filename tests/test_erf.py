"""The effective receptive field, against an empirical gradient oracle and against closed forms.

The oracle builds each test network again in PyTorch as a linear model with uniform weights
(every conv and pool averages its window and its input channels, float64, identity
activations, global ops detached so that they are left out), feeds it an input of ones,
and takes the gradient of one feature (summed over its channels) with respect to the input.
It reads only the parsed layers' parameters, none of rfgraph's geometry.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nets import TINY_RESNET
from randomnets import random_networks

from rfgraph import RFGraphError, analyze, effective, erf, loads
from rfgraph.analysis import Analysis
from rfgraph.cli import main
from rfgraph.effective import ERF, channel_counts, erfs, summary
from rfgraph.locate import locate
from rfgraph.network import Network
from rfgraph.ops import Why

MODELS = Path(__file__).resolve().parent.parent / "models"

# --- the oracle ---------------------------------------------------------------------------------


def _pads(padding: tuple[tuple[int, int], ...]) -> list[int]:
    """(before, after) per axis as F.pad wants them: last axis first."""
    return [p for pair in reversed(padding) for p in pair]


def _forward(net: Network, x, torch):  # type: ignore[no-untyped-def]
    functional = torch.nn.functional
    dims = net.dims
    conv = {1: functional.conv1d, 2: functional.conv2d}[dims]
    transposed = {1: functional.conv_transpose1d, 2: functional.conv_transpose2d}[dims]
    values = {net.input: x}
    for v in net.order:
        if v == net.input:
            continue
        layer = net.layers[v]
        a, p, op = values[layer.inputs[0]], layer.params, layer.op
        c_in = a.shape[1]
        if op == "add":
            out = sum(values[u] for u in layer.inputs)
        elif op == "mul":
            out = math.prod(values[u] for u in layer.inputs)
        elif op == "concat":
            out = torch.cat([values[u] for u in layer.inputs], dim=1)
        elif op in ("conv", "pool", "max_pool", "avg_pool"):
            k = p["kernel"]
            a = functional.pad(a, _pads(p["padding"]))
            if op == "conv":
                c_out = layer.channels or 1
                weight = torch.full((c_out, c_in, *k), 1 / (math.prod(k) * c_in), dtype=torch.float64)
                out = conv(a, weight, stride=p["stride"], dilation=p["dilation"])
            else:  # a pool averages each channel's window
                weight = torch.full((c_in, 1, *k), 1 / math.prod(k), dtype=torch.float64)
                out = conv(a, weight, stride=p["stride"], dilation=p["dilation"], groups=c_in)
        elif op == "transposed_conv":
            k, c_out = p["kernel"], layer.channels or 1
            assert all(b == e for b, e in p["padding"]), "PyTorch pads a transposed conv symmetrically"
            weight = torch.full((c_in, c_out, *k), 1 / (math.prod(k) * c_in), dtype=torch.float64)
            out = transposed(
                a,
                weight,
                stride=p["stride"],
                padding=[b for b, _ in p["padding"]],
                output_padding=p["output_padding"],
                dilation=p["dilation"],
            )
        elif op == "upsample":
            linear = {1: "linear", 2: "bilinear"}[dims]
            mode = linear if p["mode"] == "bilinear" else "nearest"
            corners = False if mode == linear else None
            out = functional.interpolate(a, scale_factor=p["factor"], mode=mode, align_corners=corners)
        elif op == "pad":
            out = functional.pad(a, _pads(p["padding"]))
        elif op == "global_pool":  # global: left out of the effective receptive field
            out = a.mean(dim=tuple(range(2, 2 + dims)), keepdim=True).detach()
        elif op in ("relu", "identity", "bn"):
            out = a
        else:
            raise AssertionError(f"the oracle has no op {op!r}")
        values[v] = out
    return values


def oracle(net: Network, size: tuple[int, ...], node: str, feature: tuple[int, ...]) -> np.ndarray:
    """The normalised gradient of ``feature`` of ``node`` (summed over channels) on the input."""
    torch = pytest.importorskip("torch")
    x = torch.ones((1, 1, *size), dtype=torch.float64, requires_grad=True)
    out = _forward(net, x, torch)[node]
    out[(0, slice(None), *feature)].sum().backward()
    grad = x.grad[0, 0].numpy()
    return grad if grad.sum() == 0 else grad / grad.sum()


def on_input(weights: np.ndarray, first: int, n: int) -> np.ndarray:
    """Weights placed on the input's coordinates 0..n-1 (every weight must lie there)."""
    out = np.zeros(n)
    assert first >= 0 and first + len(weights) <= n
    out[first : first + len(weights)] = weights
    return out


def map_on_input(found, size: tuple[int, ...]) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros(size)
    weights = found.map()
    at = tuple(slice(a.first, a.first + n) for a, n in zip(found.axes, weights.shape, strict=True))
    out[at] = weights
    return out


def marginal(grad: np.ndarray, axis: int) -> np.ndarray:
    return grad.sum(axis=tuple(i for i in range(grad.ndim) if i != axis))


# --- networks, named for what they show -------------------------------------------------------------

STRIDE_DILATION_PADDING = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: c2, op: conv, kernel: [5, 3], dilation: [2, 1], padding: [4, 1]}
  - {name: c3, op: conv, kernel: 3, stride: [1, 2], padding: [[0, 2], [1, 0]]}
"""
POOLS = """
layers:
  - {name: c1, op: conv, kernel: 3, padding: 1}
  - {name: p1, op: max_pool, kernel: 3, stride: 2, padding: 1}
  - {name: p2, op: avg_pool, kernel: 2, stride: 2}
  - {name: p3, op: pool, kernel: 3, dilation: 2, padding: 2}
"""
TRANSPOSED = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: t1, op: transposed_conv, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - {name: t2, op: transposed_conv, kernel: 4, stride: 2, padding: 1}
  - {name: t3, op: transposed_conv, kernel: 3, stride: 3, dilation: 2}
"""
NEAREST = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: up2, op: upsample, factor: 2}
  - {name: up3, op: upsample, factor: [3, 2]}
  - {name: c3, op: conv, kernel: 3, padding: 1}
"""
BILINEAR = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: up2, op: upsample, factor: 2, mode: bilinear}
  - {name: up3, op: upsample, factor: 3, mode: bilinear}
  - {name: c2, op: conv, kernel: 3, padding: 1}
"""
RESIDUAL = """
layers:
  - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1, channels: 4}
  - {name: a, op: conv, kernel: 3, padding: 1, channels: 4}
  - {name: b, op: conv, kernel: 3, padding: 1, channels: 4}
  - {name: add1, op: add, inputs: [c1, b]}
  - {name: relu, op: relu}
  - {name: short, op: conv, kernel: 1, stride: 2, channels: 8}
  - {name: d, op: conv, kernel: 3, stride: 2, padding: 1, channels: 8, inputs: [relu]}
  - {name: e, op: conv, kernel: 3, padding: 1, channels: 8}
  - {name: add2, op: add, inputs: [short, e]}
"""
CONCAT_BY_CHANNELS = """
layers:
  - {name: stem, op: conv, kernel: 3, padding: 1, channels: 4}
  - {name: narrow, op: conv, kernel: 1, channels: 8, inputs: [stem]}
  - {name: wide, op: conv, kernel: 5, padding: 2, channels: 24, inputs: [stem]}
  - {name: pooled, op: max_pool, kernel: 3, padding: 1, inputs: [stem]}
  - {name: cat, op: concat, inputs: [narrow, wide, pooled]}
  - {name: mix, op: conv, kernel: 3, padding: 1}
"""
CROSS = """
layers:
  - {name: row, op: conv, kernel: [1, 7], padding: [0, 3], channels: 2, inputs: [input]}
  - {name: column, op: conv, kernel: [7, 1], padding: [3, 0], channels: 6, inputs: [input]}
  - {name: cross, op: concat, inputs: [row, column]}
  - {name: row1, op: conv, kernel: 1, inputs: [row]}
  - {name: column1, op: conv, kernel: 1, inputs: [column]}
  - {name: sum, op: add, inputs: [row1, column1]}
"""
PRODUCT = """
layers:
  - {name: a, op: conv, kernel: 3, padding: 1}
  - {name: b, op: conv, kernel: 5, stride: 1, padding: 2, inputs: [input]}
  - {name: prod, op: mul, inputs: [a, b]}
  - {name: c, op: conv, kernel: 3, stride: 2, padding: 1}
"""
GATED = """
layers:
  - {name: c1, op: conv, kernel: 3, padding: 1, channels: 4}
  - {name: squeeze, op: global_pool}
  - {name: excite, op: conv, kernel: 1, channels: 4}
  - {name: gated, op: mul, inputs: [c1, excite]}
  - {name: c2, op: conv, kernel: 3, padding: 1}
"""
PADDED = """
layers:
  - {name: pad, op: pad, padding: [[2, 1], [0, 3]]}
  - {name: c1, op: conv, kernel: 3, stride: 2}
  - {name: crop, op: pad, padding: -1}
"""
ONE_D = """
dims: 1
layers:
  - {name: c1, op: conv, kernel: 4, stride: 2, padding: 1}
  - {name: t1, op: transposed_conv, kernel: 5, stride: 2, padding: 2, output_padding: 1}
  - {name: up, op: upsample, factor: 2, mode: bilinear}
  - {name: c2, op: conv, kernel: 3, dilation: 3, padding: 3, channels: 2}
  - {name: p, op: avg_pool, kernel: 2, stride: 2, channels: 2}
  - {name: skip, op: add, inputs: [p, input]}
"""

# (network, input size, nodes whose centre feature is interior there)
INTERIOR = [
    (STRIDE_DILATION_PADDING, (40, 40), ["c1", "c2", "c3"]),
    (POOLS, (48, 48), ["p1", "p2", "p3"]),
    (TRANSPOSED, (16, 16), ["t1", "t2", "t3"]),
    (NEAREST, (36, 36), ["up2", "up3", "c3"]),
    (BILINEAR, (24, 24), ["up2", "up3", "c2"]),
    (RESIDUAL, (32, 32), ["add1", "relu", "add2"]),
    (CONCAT_BY_CHANNELS, (24, 24), ["cat", "mix"]),
    (CROSS, (20, 20), ["cross", "sum"]),
    (PRODUCT, (24, 24), ["prod", "c"]),
    (GATED, (20, 20), ["gated", "c2"]),
    (PADDED, (24, 24), ["c1", "crop"]),
    (ONE_D, (40,), ["t1", "up", "c2", "p", "skip"]),
]
INTERIOR_IDS = [
    "stride_dilation_padding",
    "pools",
    "transposed",
    "nearest",
    "bilinear",
    "residual",
    "concat_by_channels",
    "cross",
    "product",
    "gated",
    "padded",
    "one_d",
]


@pytest.mark.parametrize(("text", "size", "nodes"), INTERIOR, ids=INTERIOR_IDS)
def test_marginals_of_interior_features_match_the_gradient_oracle(text, size, nodes):
    net = loads(text)
    a = analyze(net, size)
    for node in nodes:
        found = erf(a, node)
        box = locate(a, node, found.feature)
        assert all(0 <= b.first and b.last < n for b, n in zip(box.axes, size, strict=True)), "interior"
        grad = oracle(net, size, node, found.feature)
        for i, axis in enumerate(found.axes):
            assert axis is not None
            np.testing.assert_allclose(
                on_input(axis.weights, axis.first, size[i]), marginal(grad, i), rtol=0, atol=1e-9
            )


# every weight of these nets is exact at the border too: no bilinear clamping (PyTorch moves a
# neighbour outside the map onto the edge; rfgraph counts it as padding), and no mul (linearised
# where both maps are 1, which zero padding breaks at the border)
EXACT_AT_BORDERS = {
    i: (t, s, n)
    for (t, s, n), i in zip(INTERIOR, INTERIOR_IDS, strict=True)
    if "bilinear" not in t and "op: mul" not in t
}


@pytest.mark.parametrize(("text", "size", "nodes"), EXACT_AT_BORDERS.values(), ids=EXACT_AT_BORDERS.keys())
def test_the_map_matches_the_gradient_oracle_everywhere(text, size, nodes):
    net = loads(text)
    a = analyze(net, size)
    node = nodes[-1]
    n = a[node].size
    corners = [tuple(0 for _ in n), tuple(m - 1 for m in n), tuple(m // 3 for m in n)]
    for feature in corners:
        found = erf(a, node, feature)
        if any(axis is None for axis in found.axes):
            continue
        np.testing.assert_allclose(
            map_on_input(found, size), oracle(net, size, node, feature), rtol=0, atol=1e-9
        )


CHAINS = [
    (STRIDE_DILATION_PADDING, (13, 11), "c3"),
    (POOLS, (17, 16), "p3"),
    (TRANSPOSED, (5, 6), "t3"),
    (NEAREST, (9, 10), "c3"),
    (PADDED, (9, 8), "crop"),
]


@pytest.mark.parametrize(
    ("text", "size", "node"), CHAINS, ids=["stride", "pools", "transposed", "nearest", "pad"]
)
def test_marginals_of_a_chain_match_the_oracle_at_every_feature(text, size, node):
    net = loads(text)
    a = analyze(net, size)
    n = a[node].size
    # every index of each axis, beside some index of the other one
    features = {(x, x % n[1]) for x in range(n[0])} | {(y % n[0], y) for y in range(n[1])}
    for feature in sorted(features):
        found = erf(a, node, feature)
        grad = oracle(net, size, node, feature)
        if not grad.any():  # some axis reads only padding, or a hole
            assert None in found.axes
            continue
        for i, axis in enumerate(found.axes):
            np.testing.assert_allclose(
                on_input(axis.weights, axis.first, size[i]), marginal(grad, i), rtol=0, atol=1e-9
            )


BROADCAST = """
layers:
  - {name: whole, op: conv, kernel: [6, 1], inputs: [input]}
  - {name: sum, op: add, inputs: [whole, input]}
  - {name: after, op: conv, kernel: 3, padding: 1}
"""


def test_a_local_one_feature_map_broadcast_over_a_larger_one_spreads_over_it():
    net = loads(BROADCAST)
    a = analyze(net, (6, 5))
    assert a["sum"].r == (None, 1)  # h is undefined: a one-feature map added to a six-feature one
    for node, feature in [("sum", (0, 0)), ("sum", (5, 2)), ("after", (2, 2)), ("after", (5, 4))]:
        found = erf(a, node, feature)
        np.testing.assert_allclose(
            map_on_input(found, (6, 5)), oracle(net, (6, 5), node, feature), atol=1e-15
        )
    assert erf(a, "sum", (5, 2)).axes[0].weights.tolist() == pytest.approx([1 / 12] * 5 + [1 / 2 + 1 / 12])


def test_a_cross_is_not_the_outer_product_of_its_marginals():
    a = analyze(loads(CROSS), 15)
    found = erf(a, "sum")
    h, w = found.axes
    cross = found.map()
    assert cross[h.weights.argmax(), 0] > 0 and cross[0, 0] == 0  # the arms, not the corners
    assert cross.sum() == pytest.approx(1)
    np.testing.assert_allclose(cross.sum(axis=1), h.weights, atol=1e-15)
    assert not np.allclose(cross, np.outer(h.weights, w.weights))


# --- closed forms and properties ------------------------------------------------------------------


def chain(kernel: int, depth: int) -> str:
    layers = "".join(f"  - {{name: c{d}, op: conv, kernel: {kernel}}}\n" for d in range(depth))
    return f"dims: 1\nlayers:\n{layers}"


@pytest.mark.parametrize("depth", [1, 2, 5, 12])
def test_a_chain_of_two_tap_convs_gives_binomial_weights(depth):
    (x,) = erf(analyze(loads(chain(2, depth))), f"c{depth - 1}").axes
    expected = [math.comb(depth, j) / 2**depth for j in range(depth + 1)]
    assert x.first == 0 and x.weights.tolist() == pytest.approx(expected, rel=1e-15, abs=0)
    assert x.std == pytest.approx(math.sqrt(depth) / 2)


@pytest.mark.parametrize("depth", [1, 3, 8])
def test_a_chain_of_three_tap_convs_gives_trinomial_weights(depth):
    (x,) = erf(analyze(loads(chain(3, depth))), f"c{depth - 1}").axes
    coefficients = np.polynomial.polynomial.polypow([1, 1, 1], depth)
    assert x.weights.tolist() == pytest.approx((coefficients / 3**depth).tolist(), rel=1e-14, abs=0)
    assert x.std**2 == pytest.approx(depth * 2 / 3)  # the variances of the taps add up


@pytest.mark.parametrize(("text", "size"), [(t, s) for t, s, _ in INTERIOR], ids=INTERIOR_IDS)
def test_weights_sum_to_one_and_stay_on_the_field(text, size):
    a = analyze(loads(text), size)
    for node, found in erfs(a).items():
        for i, axis in enumerate(found.axes):
            if axis is None:
                continue
            assert axis.weights.sum() == pytest.approx(1, abs=1e-12)
            assert axis.weights[0] != 0 and axis.weights[-1] != 0
            box = locate(a, node, found.feature).axes[i]
            assert box.clipped is not None and box.clipped[0] <= axis.first <= axis.last <= box.clipped[1]
            assert axis.first <= axis.interval[0] <= axis.interval[1] <= axis.last


def test_a_symmetric_net_has_a_symmetric_erf_centred_on_its_field():
    a = analyze(loads(RESIDUAL.replace("kernel: 1, stride: 2", "kernel: 3, stride: 2, padding: 1")), 33)
    found = erf(a, "add2")
    for axis, box in zip(found.axes, locate(a, "add2", found.feature).axes, strict=True):
        np.testing.assert_allclose(axis.weights, axis.weights[::-1], atol=1e-15)
        assert axis.mean == pytest.approx(float(box.centre))
    h, w = found.axes
    assert h.weights.tolist() == w.weights.tolist()


def test_without_a_size_nothing_is_lost_and_every_feature_is_interior():
    unbounded = analyze(loads(RESIDUAL))
    bounded = analyze(loads(RESIDUAL), 64)
    far = erf(unbounded, "add2", (7, 7))
    assert erf(unbounded, "add2").feature == (0, 0)
    for x, y, z in zip(erf(unbounded, "add2").axes, far.axes, erf(bounded, "add2", (7, 7)).axes, strict=True):
        assert x.weights.tolist() == y.weights.tolist() == z.weights.tolist()
        assert y.first - x.first == 7 * 4 == z.first - x.first
    assert erf(unbounded, "add2").axes[0].first < 0  # feature 0 reaches into the padding, unclipped


def test_purely_global_inputs_are_left_out():
    a = analyze(loads(GATED), 20)
    gated, local = erf(a, "gated"), erf(a, "c1")
    assert a["gated"].is_global and not a["c1"].is_global
    for x, y in zip(gated.axes, local.axes, strict=True):
        assert x.weights.tolist() == y.weights.tolist()
    assert erf(a, "excite").axes == (None, None)
    assert erf(a, "excite").notes[0] == "global: every feature reads the whole input"


def test_a_concat_weighs_its_inputs_by_channels_or_else_equally():
    weighed = erf(analyze(loads(CROSS)), "cross")
    assert weighed.equal_concats == ()
    h, _ = weighed.axes
    assert h.weights[3] == pytest.approx(2 / 8 + 6 / 8 / 7)  # row: all its weight on h = 0
    equal = erf(analyze(loads(CROSS.replace("channels: 6, ", ""))), "cross")
    assert equal.equal_concats == ("cross",)
    assert equal.axes[0].weights[3] == pytest.approx(1 / 2 + 1 / 2 / 7)
    summed = erf(analyze(loads(CROSS.replace("channels: 6, ", ""))), "sum")
    assert summed.equal_concats == () and summed.axes[0].weights[3] == pytest.approx(1 / 2 + 1 / 2 / 7)


def test_every_output_format_says_which_concats_counted_their_inputs_equally(tmp_path, capsys):
    path = tmp_path / "cross.yaml"
    path.write_text(CROSS.replace("channels: 6, ", ""))
    assert main(["analyze", str(path), "--erf", "--format", "csv", "--only", "cross", "--only", "sum"]) == 0
    rows = {row[0]: row for row in csv.reader(capsys.readouterr().out.splitlines())}
    assert rows["cross"][-1] == "cross" and rows["sum"][-1] == ""
    for fmt in ("table", "markdown"):
        assert main(["analyze", str(path), "--erf", "--format", fmt]) == 0
        assert "erf: the inputs of 1 concat counted equally" in capsys.readouterr().out
    assert main(["analyze", str(path), "--erf", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"]["cross"]["erf"]["equal_concats"] == ["cross"]


def test_channel_counts_carry_through_pointwise_ops_and_pools_and_add_up_at_concats():
    counts = channel_counts(loads(CONCAT_BY_CHANNELS))
    assert counts == {
        "input": None,
        "stem": 4,
        "narrow": 8,
        "wide": 24,
        "pooled": 4,
        "cat": 36,
        "mix": None,
    }


HOLES = """
dims: 1
layers:
  - {name: t, op: transposed_conv, kernel: 1, stride: 2}
  - {name: pad, op: pad, padding: [[4, 0]]}
"""


def test_features_that_read_nothing_or_only_padding_have_no_erf():
    a = analyze(loads(HOLES), 8)
    hole = erf(a, "t", [1])
    assert hole.axes == (None,) and hole.notes[0].startswith("reads nothing")
    padding = erf(a, "pad", [2])
    assert padding.axes == (None,) and padding.notes == ("reads only padding",)
    assert erf(a, "pad", [4]).axes[0].weights.tolist() == [1]
    assert erf(a, "pad", [4]).axes[0].first == 0 and erf(a, "pad", [8]).axes[0].first == 2


def test_an_axis_that_needs_an_input_size_has_no_erf():
    found = erf(analyze(loads("layers: [{name: r, op: resize, size: [7, 7]}]")), "r")
    assert found.axes == (None, None) and found.notes[0].startswith("unknown: needs an input size")


def test_a_bad_feature_is_an_error():
    a = analyze(loads(RESIDUAL), 32)
    with pytest.raises(RFGraphError, match=r"feature index 8 on axis h is outside of the 8x8 feature map"):
        erf(a, "add2", (8, 0))
    with pytest.raises(RFGraphError, match="unknown node 'add3'"):
        erf(a, "add3")


def test_relative_to_walks_down_to_that_node_only():
    a = analyze(loads(RESIDUAL), relative_to="relu")
    h, _ = erf(a, "add2").axes
    # the 1x1 s2 shortcut reads relu's 0; the branch, a 3x3 s2 then a 3x3, reads -3..3, and 0 once
    assert (h.first, h.last) == (-3, 3) and h.weights[3] == pytest.approx(1 / 2 + 1 / 2 * (1 / 3) * (1 / 3))


# --- Luo et al.'s qualitative claim -----------------------------------------------------------------


def test_erf_width_grows_like_the_square_root_of_depth_while_r_grows_like_depth():
    """A plain stack of 3-tap stride-1 convs (no size): measured, r = 2d + 1 while the 95% width
    is 3, 5, 7, 9, 13, 19, 26 at depth 1, 2, 4, 8, 16, 32, 64 (about 3.2 sqrt(d): log-log slope
    0.51 between 8 and 64, as the central limit theorem has it, std = sqrt(2d/3)); the width over
    r falls from 1 to 0.20."""
    depths = [1, 2, 4, 8, 16, 32, 64]
    a = analyze(loads(chain(3, depths[-1])))
    found = [erf(a, f"c{d - 1}").axes[0] for d in depths]
    widths = [x.width for x in found]
    assert widths == [3, 5, 7, 9, 13, 19, 26]
    assert [a[f"c{d - 1}"].r[0] for d in depths] == [2 * d + 1 for d in depths]
    for d, x in zip(depths, found, strict=True):
        assert x.std == pytest.approx(math.sqrt(2 * d / 3))
    slope = np.polyfit(np.log(depths[3:]), np.log(widths[3:]), 1)[0]
    assert 0.45 < slope < 0.55
    ratios = [w / (2 * d + 1) for w, d in zip(widths, depths, strict=True)]
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize(
    ("model", "output", "r", "width"),
    [
        ("vgg_16", "pool5", 212, 108),
        ("resnet_v1_50", "block4", 483, 160),
        ("resnet_v1_200", "block4", 1763, 267),
        ("inception_v3", "Mixed_7c", 1311, 281),
    ],
)
def test_in_the_zoo_the_erf_is_a_shrinking_part_of_the_field(model, output, r, width):
    """Unbounded maps (no size), the output's 95% width over r: vgg_16 0.51, resnet_v1_50 0.33,
    resnet_v1_200 0.15, inception_v3 0.21 (its concats weighed equally: the zoo has no channels).
    Deeper is relatively narrower; every ratio along the longest path stays at most 1."""
    a = analyze(MODELS / f"{model}.yaml")
    found = erf(a, output)
    assert (a[output].r[0], found.axes[0].width) == (r, width)
    assert found.axes[0].width == found.axes[1].width


# --- the command line ---------------------------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_RESNET)
    return str(path)


def test_analyze_erf_adds_columns_to_the_table_and_numbers_to_json(tiny, capsys):
    assert main(["analyze", tiny, "--input-size", "64", "--erf"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.splitlines()[2:9]
    assert header.split() == "node op r S P r_min size erf std erf 95% 95%/r note".split()
    assert rows[1].split()[:10] == ["conv1", "conv", "7", "2", "3", "7", "32x32", "2", "7", "1"]
    assert "erf: the effective receptive field of the centre feature" in out
    assert main(["analyze", tiny, "--input-size", "64", "--erf", "--format", "json"]) == 0
    block = json.loads(capsys.readouterr().out)["nodes"]["block1"]
    found = erf(analyze(loads(TINY_RESNET), 64), "block1")
    assert block["erf"] == found.to_dict()
    assert block["erf"]["feature"] == [3, 3] and block["erf"]["width"] == [found.axes[0].width] * 2
    assert main(["analyze", tiny, "--format", "json"]) == 0
    assert "erf" not in json.loads(capsys.readouterr().out)["nodes"]["block1"]


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_analyze_erf_in_csv_and_markdown(tiny, capsys, fmt):
    assert main(["analyze", tiny, "--erf", "--format", fmt, "--only", "conv1"]) == 0
    out = capsys.readouterr().out
    if fmt == "csv":
        assert out.splitlines()[0].endswith("aligned,global,erf_std,erf_width,erf_ratio,erf_equal_concats")
        assert out.splitlines()[1] == "conv1,conv,h,7,2,3,7,,True,False,2,7,1,"
    else:
        assert (
            "| erf std | erf 95% | 95%/r |" in out
            and "| conv1 | conv | 7 | 2 | 3 | 7 | - | 2 | 7 | 1 |" in out
        )


def test_erf_command_prints_a_summary_or_draws_the_map(tiny, tmp_path, capsys):
    assert main(["erf", tiny, "block1", "--input-size", "64"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("effective receptive field of feature (3, 3) of 'block1' at 64x64\n")
    assert main(["erf", tiny, "pool1", "0", "0"]) == 0
    assert "feature (0, 0) of 'pool1'\n" in capsys.readouterr().out
    assert main(["erf", tiny, "block1", "9", "0", "--input-size", "64"]) == 2
    assert "feature index 9 on axis h is outside of the 8x8 feature map" in capsys.readouterr().err
    pytest.importorskip("matplotlib")
    image = tmp_path / "erf.png"
    assert main(["erf", tiny, "block1", "-o", str(image)]) == 0
    assert image.read_bytes().startswith(b"\x89PNG")
    one_d = tmp_path / "one.yaml"
    one_d.write_text(ONE_D)
    assert main(["erf", str(one_d), "skip", "--input-size", "40", "-o", str(tmp_path / "erf.svg")]) == 0
    assert (tmp_path / "erf.svg").read_text().startswith("<?xml")


def test_erf_command_says_why_there_is_no_picture(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "net.yaml"
    path.write_text(GATED)
    assert main(["erf", str(path), "squeeze", "-o", str(tmp_path / "erf.png")]) == 2
    err = capsys.readouterr().err
    assert "no picture of the effective receptive field of 'squeeze': h: global" in err
    assert not (tmp_path / "erf.png").exists()


def test_numpy_is_imported_only_when_the_erf_is_asked_for():
    code = (
        "import sys, rfgraph, rfgraph.cli; "
        f"code = rfgraph.cli.main(['check', {str(MODELS / 'resnet_v1_50.yaml')!r}]); "
        "assert 'numpy' not in sys.modules, 'numpy at start-up'; "
        "from rfgraph import erf; assert erf is rfgraph.erf and 'numpy' in sys.modules; "
        "import rfgraph.effective; assert callable(rfgraph.erf); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_an_axis_like_another_is_walked_once_and_only_then():
    square = analyze(loads(RESIDUAL), 32)
    h, w = erf(square, "add2").axes
    assert h is w  # one walk for both
    oblong = analyze(loads(RESIDUAL), (32, 40))
    h, w = erf(oblong, "add2").axes
    assert h is not w and (h.first, w.first) == (1, 5)  # features 3 and 4, a stride of 4 apart
    assert h.weights.tolist() == w.weights.tolist()  # both interior
    edge = erf(square, "add2", (0, 3)).axes
    assert edge[0].first == 0 and edge[0].weights.tolist() != edge[1].weights.tolist()


# --- erfs: every node at once, bottom-up, equal to the walk -----------------------------------------

RANDOM = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def on_grid(first: int, weights: np.ndarray, low: int, high: int) -> np.ndarray:
    out = np.zeros(high - low + 1)
    out[first - low : first - low + len(weights)] = weights
    return out


def assert_same_weights(a: tuple[int, np.ndarray], b: tuple[int, np.ndarray], atol: float) -> None:
    """Equal on a common grid (a weight that cancels to exactly 0 in one order of summation may be
    1e-17 in the other)."""
    low, high = min(a[0], b[0]), max(a[0] + len(a[1]), b[0] + len(b[1])) - 1
    np.testing.assert_allclose(on_grid(*a, low, high), on_grid(*b, low, high), rtol=0, atol=atol)


def assert_same_erf(fast: ERF, walked: ERF) -> None:
    assert (fast.feature, fast.notes, fast.equal_concats) == (
        walked.feature,
        walked.notes,
        walked.equal_concats,
    )
    for x, y in zip(fast.axes, walked.axes, strict=True):
        assert (x is None) == (y is None)
        if x is not None and y is not None:
            assert_same_weights((x.first, x.weights), (y.first, y.weights), atol=1e-12)
            assert x.interval == y.interval
            assert x.mean == pytest.approx(y.mean, abs=1e-9)
            assert x.std**2 == pytest.approx(y.std**2, abs=1e-9)  # std itself is sqrt of rounding near 0


def analysed(case: tuple[str, int | None], relative_to: int | None = None) -> Analysis | None:
    text, size = case
    net = loads(text)
    start = None if relative_to is None else sorted(net.layers)[relative_to % len(net.layers)]
    try:
        return analyze(net, size, relative_to=start)
    except RFGraphError:  # maps that become empty, or merges of different sizes
        return None


@RANDOM
@given(random_networks(max_layers=10, sizes=(4, 40)), st.none() | st.integers(0, 20))
def test_erfs_equals_the_walk_from_each_node_on_random_networks(case, relative_to):
    a = analysed(case, relative_to)
    if a is not None:
        fast = erfs(a)
        assert list(fast) == list(a.nodes)
        for v in a.nodes:
            assert_same_erf(fast[v], erf(a, v))


def assert_every_feature_as_walked(a: Analysis) -> None:
    """Not only the default features: those at the borders, which lose weight to padding, and those
    inside, whose weights are their phase's translated."""
    walker = effective._Walker(a)
    order = [v for v in a.network.order if v in a.nodes]
    sized = [v for v in order if None not in a.sizes[v]]
    for x in range(max((max(a.sizes[v]) for v in sized), default=0)):
        features = {v: tuple(min(x, n - 1) for n in a.sizes[v]) for v in sized}
        for i in range(a.network.dims):
            found = effective._sweep(walker, order, features, i)
            for v, feature in features.items():
                if a[v].axes[i].why in (Why.GLOBAL, Why.SIZE):
                    assert v not in found
                    continue
                fast, walked = found[v], walker.walk_axis(v, feature, i)
                assert (fast is None) == (walked is None), (v, feature, i)
                if fast is not None and walked is not None:
                    assert sorted(fast[2]) == sorted(walked[2])
                    assert_same_weights(fast[:2], walked[:2], atol=1e-12 * max(1.0, walked[1].max(initial=0)))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_networks(max_layers=8, sizes=(4, 16)).filter(lambda case: case[1] is not None))
def test_every_feature_of_every_node_is_as_walked(case):
    a = analysed(case)
    if a is not None:
        assert_every_feature_as_walked(a)


NAMED = {
    **dict(zip(INTERIOR_IDS, [(t, s) for t, s, _ in INTERIOR], strict=True)),
    "broadcast": (BROADCAST, (6, 5)),
    "holes": (HOLES, 8),
    "small_maps": (RESIDUAL, 7),
}


@pytest.mark.parametrize(("text", "size"), NAMED.values(), ids=NAMED.keys())
def test_erfs_equals_the_walk_on_the_networks_named_here(text, size):
    unbounded, bounded = analyze(loads(text)), analyze(loads(text), size)
    for a in (unbounded, bounded):
        fast = erfs(a)
        for v in a.nodes:
            assert_same_erf(fast[v], erf(a, v))
    assert_every_feature_as_walked(bounded)


def test_above_the_limit_features_at_the_borders_are_walked(monkeypatch):
    a = analyze(loads(chain(3, 30).replace("kernel: 3", "kernel: 3, padding: 1")), 16)
    walked = [0]
    walk = effective._Walker.walk_axis

    def counted(self, *args):  # type: ignore[no-untyped-def]
        walked[0] += 1
        return walk(self, *args)

    monkeypatch.setattr(effective._Walker, "walk_axis", counted)
    rows = erfs(a)
    assert walked[0] == 0
    monkeypatch.setattr(effective, "_ROWS_LIMIT", 0)
    walks = erfs(a)
    assert walked[0] == 23  # c7 on: their centre feature reads padding on the way down
    for v in a.nodes:
        assert_same_erf(rows[v], walks[v])
        assert_same_erf(walks[v], erf(a, v))


ZOO = [
    ("resnet_v1_50", None),
    ("resnet_v1_50", 224),
    ("inception_v3", None),
    ("inception_v3", 299),
    ("examples/unet", None),
    ("examples/fpn_resnet50", 224),
    ("examples/wavenet", None),
    ("examples/wavenet", 300),
    ("examples/mbconv_se", 224),
    ("examples/r2plus1d_stem", 112),
    ("torchvision/googlenet", None),
    ("torchvision/shufflenet_v2_x1_0", None),
]


@pytest.mark.parametrize(("model", "size"), ZOO, ids=[f"{m}@{s}" for m, s in ZOO])
def test_erfs_equals_the_walk_on_the_zoo(model, size):
    a = analyze(MODELS / f"{model}.yaml", size)
    fast = erfs(a)
    for v in a.nodes:
        assert_same_erf(fast[v], erf(a, v))


# --- erfs' work, counted --------------------------------------------------------------------------


@pytest.fixture
def touched(monkeypatch):
    """The weights erfs adds up bottom-up (each vector added counts its length), and the walks."""
    count = {"weights": 0, "walks": 0}
    combine, walk = effective._combine, effective._Walker.walk

    def counted_combine(terms):  # type: ignore[no-untyped-def]
        count["weights"] += sum(len(t[2]) for t in terms)
        return combine(terms)

    def counted_walk(self, *args):  # type: ignore[no-untyped-def]
        count["walks"] += 1
        return walk(self, *args)

    monkeypatch.setattr(effective, "_combine", counted_combine)
    monkeypatch.setattr(effective._Walker, "walk", counted_walk)
    return count


def test_a_deep_chain_costs_the_sum_of_r_times_the_taps(touched):
    """A walk from each node of a d-layer chain of 3-tap convs adds about d^3 / 3 weights; bottom-up,
    layer k adds three copies of layer k-1's 2k - 1 weights, and each node's r weights are read off."""
    depth = 200
    a = analyze(loads(chain(3, depth)))
    found = erfs(a)
    assert touched["walks"] == 0
    r = [a[v].r[0] for v in a.nodes]
    assert touched["weights"] == sum(3 * (2 * k - 1) for k in range(1, depth + 1)) + sum(r)
    assert touched["weights"] <= 4 * sum(r)
    assert found[f"c{depth - 1}"].axes[0].std == pytest.approx(math.sqrt(2 * depth / 3))


def test_nodes_asked_for_cost_only_their_ancestors(touched):
    a = analyze(loads(chain(3, 200)))
    assert list(erfs(a, ["c1", "c0"])) == ["c1", "c0"]
    assert touched["weights"] == (3 * 1 + 3) + (3 * 3 + 5)  # made, then read off


def test_with_sizes_the_features_at_the_borders_are_computed_once_each(monkeypatch, touched):
    """At 16 wide, every centre feature from c7 on reads padding on its way down: their walks would
    visit up to 16 features of each of 30 maps again and again; bottom-up, each is computed once."""
    rows = [0]
    reads = effective._reads

    def counted(walker, v, i, xs):  # type: ignore[no-untyped-def]
        rows[0] += len(xs)
        return reads(walker, v, i, xs)

    monkeypatch.setattr(effective, "_reads", counted)
    a = analyze(loads(chain(3, 30).replace("kernel: 3", "kernel: 3, padding: 1")), 16)
    erfs(a)
    assert touched["walks"] == 0
    assert rows[0] <= 2 * 16 * 30  # each feature's inputs read once to find them, once to add them up


@pytest.mark.parametrize(
    ("text", "size"), [(BROADCAST, (6, 5)), (RESIDUAL, 64)], ids=["broadcast", "residual"]
)
def test_features_that_lose_no_weight_at_the_borders_need_no_rows(monkeypatch, text, size):
    """Every centre feature here reads inside every map (a broadcast map is read at its feature 0)."""
    monkeypatch.setattr(effective, "_rows", None)  # calling it fails
    a = analyze(loads(text), size)
    for v, found in erfs(a).items():
        assert_same_erf(found, erf(a, v))


def test_a_symmetric_erf_has_its_leftmost_shortest_interval_whatever_the_rounding():
    for nudged in (np.array([0.05, 0.45, 0.45, 0.05 + 1e-15]), np.array([0.05 + 1e-15, 0.45, 0.45, 0.05])):
        assert summary(nudged / nudged.sum(), 0).interval == (0, 2)
