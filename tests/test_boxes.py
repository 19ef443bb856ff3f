"""Exact boxes at the border: a position past the end of an inner map is padding there, not input.

Each case is a small net of the shape of a torchvision model where the input gradient of one output
feature (PyTorch's own answer) showed input pixels that the infinite-map picture wrongly claims.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from brute import Brute, SizeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nets import OPPOSITE_CORNERS, TINY_RESNET
from randomnets import random_networks

from rfgraph import analyze, loads
from rfgraph.boxes import clipped_boxes, every_clipped_box
from rfgraph.fit import check_input_size
from rfgraph.locate import locate, locate_pixel
from rfgraph.ops import Why

# convnext_tiny: a 4x4 stride-4 stem, then 7x7 depthwise convs padded by 3
CONVNEXT_STEM = """
dims: 1
layers:
  - {name: stem, op: conv, kernel: 4, stride: 4}
  - {name: dwconv, op: depthwise_conv, kernel: 7, padding: 3}
  - {name: down, op: conv, kernel: 2, stride: 2}
  - {name: dwconv2, op: depthwise_conv, kernel: 7, padding: 3}
"""
# inception_v3: Conv2d_1a_3x3 (3x3, stride 2, no padding), then padded 3x3 convs
INCEPTION_STEM = """
dims: 1
layers:
  - {name: Conv2d_1a_3x3, op: conv, kernel: 3, stride: 2}
  - {name: Conv2d_2a_3x3, op: conv, kernel: 3}
  - {name: Conv2d_2b_3x3, op: conv, kernel: 3, padding: 1}
"""
# squeezenet1_1: a 3x3 stride-2 conv without padding, a ceil-mode max pool, a fire module's padded 3x3
SQUEEZENET_STEM = """
dims: 1
layers:
  - {name: conv, op: conv, kernel: 3, stride: 2}
  - {name: pool, op: max_pool, kernel: 3, stride: 2, ceil_mode: true}
  - {name: squeeze, op: conv, kernel: 1}
  - {name: expand1x1, op: conv, kernel: 1}
  - {name: expand3x3, op: conv, kernel: 3, padding: 1, inputs: [squeeze]}
  - {name: fire, op: concat, inputs: [expand1x1, expand3x3]}
"""
# a crop (negative padding) followed by a padded conv: padding on both sides where the infinite
# picture puts cropped-away pixels
CROP_THEN_PAD = """
dims: 1
layers:
  - {name: crop, op: pad, padding: [[-2, -3]]}
  - {name: conv, op: conv, kernel: 5, padding: 2}
"""
DILATED = "dims: 1\nlayers: [{name: c, op: conv, kernel: 3, dilation: 2, padding: 2}]"


@pytest.mark.parametrize(
    ("text", "size", "node", "feature", "infinite", "exact"),
    [
        # pixel 224 of a 225-pixel input is never read: 225 = 56*4 + 1
        (CONVNEXT_STEM, 225, "dwconv", 55, (208, 224), (208, 223)),
        (CONVNEXT_STEM, 225, "dwconv2", 27, (180, 224), (180, 223)),
        (CONVNEXT_STEM, 224, "dwconv", 55, (208, 223), (208, 223)),  # at 224 both agree
        # pixel 299 of a 300-pixel input is never read by a 3x3 stride-2 valid conv: 300 = 2*148 + 4
        (INCEPTION_STEM, 300, "Conv2d_2b_3x3", 146, (290, 299), (290, 298)),
        (INCEPTION_STEM, 299, "Conv2d_2b_3x3", 146, (290, 298), (290, 298)),
        # pixel 223 of a 224-pixel input: 224 = 2*110 + 4
        (SQUEEZENET_STEM, 224, "fire", 54, (212, 223), (212, 222)),
        (SQUEEZENET_STEM, 225, "fire", 55, (216, 224), (216, 224)),  # ceil_mode reads padding
        # the crop drops pixels 0, 1 and 17..19: the padded conv reads neither side's
        (CROP_THEN_PAD, 20, "conv", 0, (0, 4), (2, 4)),
        (CROP_THEN_PAD, 20, "conv", 14, (14, 18), (14, 16)),
        # a dilated tap in padding reads nothing: taps -1, 1, 3
        (DILATED, 8, "c", 1, (0, 3), (1, 3)),
    ],
    ids=[
        "convnext_225",
        "convnext_225_deeper",
        "convnext_224",
        "inception_300",
        "inception_299",
        "squeezenet_224",
        "squeezenet_225",
        "crop_before",
        "crop_after",
        "dilated",
    ],
)
def test_torchvision_shaped_cases(text, size, node, feature, infinite, exact):
    a = analyze(loads(text), size)
    (box,) = locate(a, node, [feature]).axes
    first, last = box.first, box.last
    assert (max(first, 0), min(last, size - 1)) == infinite  # what clipping the infinite picture says
    assert box.clipped == exact
    brute = Brute(a.network, (size,))
    assert brute.clipped(node, 0, feature) == exact


def test_features_that_see_the_never_read_pixel_are_none():
    a = analyze(loads(CONVNEXT_STEM), 225)
    (never,) = locate_pixel(a, "dwconv2", [224]).axes
    assert (never.first, never.last, never.count) == (None, None, 0)
    (read,) = locate_pixel(a, "dwconv2", [223]).axes
    brute = Brute(a.network, (225,))
    seen = [x for x in range(28) if (b := brute.clipped("dwconv2", 0, x)) and b[0] <= 223 <= b[1]]
    assert (read.first, read.last, read.count) == (seen[0], seen[-1], len(seen)) == (23, 27, 5)


def test_coverage_uses_the_exact_boxes():
    # every dwconv2 feature's infinite box reaches 224; none reads it, so none sees the whole input
    fit = check_input_size(analyze(loads(CONVNEXT_STEM), 225))
    assert fit.outputs[0].whole == (0,)


def test_boxes_are_none_without_a_size_and_for_global_maps():
    a = analyze(loads(CONVNEXT_STEM))
    assert clipped_boxes(a, "dwconv") is None
    g = analyze(loads("dims: 1\nlayers: [{name: c, op: conv, kernel: 3}, {name: g, op: global_pool}]"), 8)
    assert clipped_boxes(g, "g") is None


def test_a_huge_kernel_costs_only_the_offsets_that_land_inside():
    a = analyze(loads("dims: 1\nlayers: [{name: c, op: conv, kernel: 999999999, padding: 499999999}]"), 4)
    found = clipped_boxes(a, "c")
    assert (found.first[0].tolist(), found.last[0].tolist()) == ([0, 0, 0, 0], [3, 3, 3, 3])
    assert a["c"].r == (999999999,)


def test_a_feature_that_reads_nothing_along_one_axis_reads_no_pixel():
    # w: a 2-tap transposed conv with stride 3 leaves every third output feature without an input
    a = analyze(loads("layers: [{name: t, op: transposed_conv, kernel: [1, 2], stride: [1, 3]}]"), 6)
    h, w = locate(a, "t", (2, 2)).axes
    assert (h.first, h.last, w.first, w.note is not None) == (2, 2, None, True)
    assert h.clipped is None and w.clipped is None  # h alone would say (2, 2)
    h, w = locate(a, "t", (2, 1)).axes
    assert (h.clipped, w.clipped) == ((2, 2), (0, 0))
    # only padding along h: nothing along w either
    a = analyze(loads("layers: [{name: p, op: pad, padding: [[2, 0], 0]}]"), 4)
    assert [x.clipped for x in locate(a, "p", (0, 1)).axes] == [None, None]


def test_a_merge_input_that_reads_only_padding_adds_nothing_on_any_axis():
    # feature (2, 0): branch a reads pixel (2, -2), padding; branch b reads pixel (0, 0)
    a = analyze(loads(OPPOSITE_CORNERS), 6)
    assert [x.clipped for x in locate(a, "add", (2, 0)).axes] == [(0, 0), (0, 0)]
    assert Brute(a.network, (6, 6)).finite_box("add", (0, 1), (2, 0)) == ((0, 0), (0, 0))
    # per axis, h would have said 0..2: branch a reads row 2 along h
    # pixel (2, 0) is read by (4, 0) through b only, and by (2, 2), (3, 2), (4, 2) through both
    found = locate_pixel(a, "add", (2, 0))
    assert found.count == 4
    assert [(x.first, x.last, x.count) for x in found.axes] == [(2, 4, 3), (0, 2, 2)]
    assert check_input_size(a).outputs[0].whole == (0, 0)


pair = st.lists(st.integers(-1, 3), min_size=2, max_size=2)


def _same_size_conv(k, d, s, before):
    """A stride-1 conv whose pads add up to its span less one: it keeps the size."""
    span = [d_ * (k_ - 1) for k_, d_ in zip(k, d, strict=True)]
    pads = [[min(b, t), t - min(b, t)] for b, t in zip(before, span, strict=True)]
    return {"op": "conv", "kernel": k, "dilation": d, "padding": pads}


two = st.lists(st.integers(1, 3), min_size=2, max_size=2)
# size-keeping layers (so that branches meet), shifted or dilated into the padding on either side
SAME_SIZE = st.one_of(
    st.builds(
        lambda a: {"op": "pad", "padding": [[x, -x] for x in a]},
        st.lists(st.integers(-3, 3), min_size=2, max_size=2),
    ),
    st.builds(_same_size_conv, two, two, two, st.lists(st.integers(0, 6), min_size=2, max_size=2)),
)
ANY_LAYER = st.one_of(
    st.builds(lambda p: {"op": "pad", "padding": p}, st.lists(pair, min_size=2, max_size=2)),
    st.builds(
        lambda k, s, d, p: {"op": "conv", "kernel": k, "stride": s, "dilation": d, "padding": p},
        st.lists(st.integers(1, 3), min_size=2, max_size=2),
        st.lists(st.integers(1, 3), min_size=2, max_size=2),
        st.lists(st.integers(1, 2), min_size=2, max_size=2),
        st.lists(st.lists(st.integers(0, 3), min_size=2, max_size=2), min_size=2, max_size=2),
    ),
    st.builds(
        lambda k, s, p: {"op": "transposed_conv", "kernel": k, "stride": s, "padding": p},
        st.lists(st.integers(1, 3), min_size=2, max_size=2),
        st.lists(st.integers(1, 3), min_size=2, max_size=2),
        st.lists(st.lists(st.integers(0, 1), min_size=2, max_size=2), min_size=2, max_size=2),
    ),
    st.builds(
        lambda c: {"op": "crop", "crop": c},
        st.lists(st.lists(st.integers(0, 1), min_size=2, max_size=2), min_size=2, max_size=2),
    ),
)


@st.composite
def merged_branches(draw):
    """(YAML text, size): maybe a stem, then branches shifted or dilated into the padding on either
    side, merged unchecked, then maybe one more layer: merges whose inputs read nothing at different
    features."""
    layers, ends = [], []
    stem = "input"
    if draw(st.booleans()):  # strides that leave remainders, transposed convs, crops
        layers.append({"name": "stem", **draw(ANY_LAYER), "inputs": ["input"]})
        stem = "stem"
    for b in range(draw(st.integers(2, 3))):
        below = stem
        for k in range(draw(st.integers(1, 2))):
            layers.append({"name": f"b{b}_{k}", **draw(SAME_SIZE), "inputs": [below]})
            below = f"b{b}_{k}"
        ends.append(below)
    layers.append({"name": "m", "op": draw(st.sampled_from(["add", "concat"])), "inputs": ends})
    if draw(st.booleans()):
        layers.append({"name": "after", **draw(ANY_LAYER), "inputs": ["m"]})
    return yaml.safe_dump({"align": "none", "layers": layers}, sort_keys=False), draw(st.integers(2, 9))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(random_networks(max_layers=6, sizes=(2, 9), dims=(2,)), merged_branches()))
def test_2d_boxes_are_the_brute_forces(case):
    """Every feature's box (and locate's at a few), the features a few pixels are seen by, and the
    coverage, on whole 2-D maps."""
    text, size = case
    net = loads(text)
    if size is None:
        return
    try:
        brute = Brute(net, (size, size))
    except SizeError:
        return
    a = analyze(net, size)
    found = every_clipped_box(a, list(a.nodes))
    for v in a.nodes:
        axes = brute.local_axes(v)
        if not axes:
            assert v not in found
            continue
        n = a[v].size
        for index in np.ndindex(*(n[i] for i in axes)):
            feature = [0, 0]
            for i, x in zip(axes, index, strict=True):
                feature[i] = x
            want = brute.finite_box(v, axes, index)
            got = found[v].box(tuple(feature))
            assert got == (None if want is None else dict(zip(axes, want, strict=True))), (v, feature)
            if index in (
                tuple(0 for _ in axes),
                tuple(n[i] - 1 for i in axes),
                tuple(n[i] // 2 for i in axes),
            ):
                assert [b.clipped for b in locate(a, v, feature).axes] == [
                    None if got is None else got.get(i) for i in range(2)
                ]
        every = {index: brute.finite_box(v, axes, index) for index in np.ndindex(*(n[i] for i in axes))}
        corners = {
            (0, 0),
            (0, size - 1),
            (size - 1, 0),
            (size - 1, size - 1),
            (size // 2, size // 2),
            (1, size - 2),
        }
        for pixel in sorted(p for p in corners if min(p) >= 0):
            seen = [
                index
                for index, b in every.items()
                if b and all(lo <= pixel[i] <= hi for i, (lo, hi) in zip(axes, b, strict=True))
            ]
            got = locate_pixel(a, v, pixel)
            # along a global axis every feature reads the pixel; along an undefined one none does
            others = [j for j in range(2) if j not in axes]
            rf = a[v]
            globals_ = all(rf.axes[j].why is Why.GLOBAL for j in others)
            times = math.prod(rf.size[j] for j in others) if globals_ else 0
            assert got.count == len(seen) * times
            for k, i in enumerate(axes):
                along = sorted({s[k] for s in seen})
                want_range = (along[0], along[-1], len(along)) if along else (None, None, 0)
                assert (got.axes[i].first, got.axes[i].last, got.axes[i].count) == want_range
    for out in check_input_size(a).outputs:
        axes = brute.local_axes(out.node)
        n = a[out.node].size
        boxes = {
            index: brute.finite_box(out.node, axes, index) for index in np.ndindex(*(n[i] for i in axes))
        }
        if len(axes) == 2:
            assert out.sees_whole_input == all(b == ((0, size - 1), (0, size - 1)) for b in boxes.values())
        for k, i in enumerate(axes):
            whole = [
                x
                for x in range(n[i])
                if all(b is not None and b[k] == (0, size - 1) for index, b in boxes.items() if index[k] == x)
            ]
            assert out.whole[i] == len(whole)


def test_boxes_are_kept_per_axis_unless_a_merge_input_reads_nothing_somewhere():
    """Per axis (no n-D maps) where that is exact: a 4096x4096 map costs two lines, not 2**24 boxes."""
    plain = analyze(loads(TINY_RESNET), 4096)
    found = clipped_boxes(plain, "block1")
    assert found.separable and [f.shape for f in found.first] == [(512, 1), (1, 512)]
    assert not clipped_boxes(analyze(loads(OPPOSITE_CORNERS), 6), "add").separable
