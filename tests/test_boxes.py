"""Exact boxes at the border: a position past the end of an inner map is padding there, not input.

Each case is a small net of the shape of a torchvision model where the input gradient of one output
feature (PyTorch's own answer) showed input pixels that the infinite-map picture wrongly claims.
"""

from __future__ import annotations

import pytest
from brute import Brute

from rfgraph import analyze, loads
from rfgraph.boxes import clipped_boxes
from rfgraph.fit import check_input_size
from rfgraph.locate import locate, locate_pixel

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
    assert (found.first.tolist(), found.last.tolist()) == ([[0, 0, 0, 0]], [[3, 3, 3, 3]])
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
