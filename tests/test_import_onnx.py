"""The ONNX door: graphs built with onnx.helper for every op, torch exports against the torch door."""

from __future__ import annotations

import io
import re
import warnings

import pytest

onnx = pytest.importorskip("onnx")

import numpy as np  # noqa: E402
from importing import layer_lines  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import rfgraph  # noqa: E402
from rfgraph import RFGraphError  # noqa: E402
from rfgraph.cli import main  # noqa: E402
from rfgraph.importers import import_onnx  # noqa: E402
from rfgraph.importers.writer import NetworkSpec  # noqa: E402

INT_MAX = 2**63 - 1


def tensor(name: str, value) -> onnx.TensorProto:
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return numpy_helper.from_array(array, name)


def weight(name: str, *shape: int) -> onnx.TensorProto:
    return tensor(name, np.ones(shape, dtype=np.float32))


def model(nodes, size=(8, 8), channels=3, outputs=("y",), constants=(), opset=17, batch=1) -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, channels, *size])
    ys = [helper.make_tensor_value_info(y, TensorProto.FLOAT, None) for y in outputs]
    graph = helper.make_graph(list(nodes), "g", [x], ys, initializer=list(constants))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def node(op: str, inputs, output: str, name: str = "", **attributes) -> onnx.NodeProto:
    return helper.make_node(op, list(inputs), [output], name=name or output, **attributes)


def lines(m: onnx.ModelProto, **kw) -> list[str]:
    return layer_lines(import_onnx(m, **kw))


# ----------------------------------------------------------------------------- windows


def test_conv_with_groups_dilations_and_explicit_pads():
    m = model(
        [
            node("Conv", ["x", "w1"], "a", strides=[2, 2], pads=[1, 1, 1, 1]),
            node("Conv", ["a", "w2"], "b", group=8, dilations=[2, 2], pads=[2, 4, 2, 4]),
            node("Conv", ["b", "w3"], "y", pads=[0, 1, 2, 3]),  # begins (h, w), then ends (h, w)
        ],
        size=(16, 16),
        constants=[weight("w1", 8, 3, 3, 3), weight("w2", 8, 1, 3, 5), weight("w3", 4, 8, 1, 1)],
    )
    assert lines(m) == [
        "{name: a, op: conv, kernel: 3, stride: 2, padding: 1, channels: 8, inputs: [x]}",
        "{name: b, op: depthwise_conv, kernel: [3, 5], dilation: 2, padding: [2, 4], channels: 8, inputs: [a]}",
        "{name: y, op: conv, padding: [[0, 2], [1, 3]], channels: 4, inputs: [b]}",
    ]


@pytest.mark.parametrize(("auto_pad", "padding"), [("SAME_UPPER", "same"), ("SAME_LOWER", "same_lower")])
def test_conv_auto_pad_same_is_same_or_same_lower(auto_pad, padding):
    m = model(
        [node("Conv", ["x", "w"], "y", strides=[2, 2], auto_pad=auto_pad)],
        constants=[weight("w", 4, 3, 2, 2)],
    )
    assert lines(m) == [
        f"{{name: y, op: conv, kernel: 2, stride: 2, padding: {padding}, channels: 4, inputs: [x]}}"
    ]


def test_conv_auto_pad_valid_has_no_padding():
    m = model([node("Conv", ["x", "w"], "y", auto_pad="VALID")], constants=[weight("w", 4, 3, 3, 3)])
    assert lines(m) == ["{name: y, op: conv, kernel: 3, channels: 4, inputs: [x]}"]


def test_conv_transpose_with_pads_output_padding_and_output_shape():
    m = model(
        [
            node("ConvTranspose", ["x", "w"], "a", strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
            # full output 2*(16-1) + 3 = 33; asked for 32: total padding 1, NOTSET puts the larger half first
            node("ConvTranspose", ["a", "w2"], "b", strides=[2, 2], output_shape=[32, 32]),
            node("ConvTranspose", ["a", "w2"], "c", strides=[2, 2], auto_pad="SAME_UPPER"),
            node("Add", ["b", "c"], "y"),
        ],
        constants=[weight("w", 3, 4, 3, 3), weight("w2", 4, 4, 3, 3)],
    )
    assert lines(m) == [
        "{name: a, op: transposed_conv, kernel: 3, stride: 2, padding: 1, output_padding: 1, channels: 4, inputs: [x]}",
        "{name: b, op: transposed_conv, kernel: 3, stride: 2, padding: [[1, 0], [1, 0]], channels: 4, inputs: [a]}",
        "{name: c, op: transposed_conv, kernel: 3, stride: 2, padding: [[0, 1], [0, 1]], channels: 4, inputs: [a]}",
        "{name: y, op: add, channels: 4, inputs: [b, c]}",
    ]


def test_pools_with_ceil_mode_and_global_pools():
    m = model(
        [
            node("MaxPool", ["x"], "a", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
            node("AveragePool", ["a"], "b", kernel_shape=[2, 2], pads=[0, 0, 1, 1]),  # ONNX's stride is 1
            node("LpPool", ["b"], "c", kernel_shape=[2, 2], strides=[2, 2]),
            node("GlobalAveragePool", ["c"], "d"),
            node("GlobalMaxPool", ["c"], "e"),
            node("Sum", ["d", "e"], "y"),
        ],
        size=(16, 16),
    )
    assert lines(m) == [
        "{name: a, op: max_pool, kernel: 3, stride: 2, ceil_mode: true, channels: 3, inputs: [x]}",
        "{name: b, op: avg_pool, kernel: 2, padding: [[0, 1], [0, 1]], channels: 3, inputs: [a]}",
        "{name: c, op: pool, kernel: 2, stride: 2, channels: 3, inputs: [b]}",
        "{name: d, op: global_pool, channels: 3, inputs: [c]}",
        "{name: e, op: global_pool, channels: 3, inputs: [c]}",
        "{name: y, op: add, channels: 3, inputs: [d, e]}",
    ]


# ----------------------------------------------------------------------------- padding and slicing


def test_pad_constant_reflect_and_edge_read_like_padding():
    m = model(
        [
            node("Pad", ["x", "p1"], "a"),
            node("Pad", ["a", "p2"], "b", mode="reflect"),
            node("Pad", ["b", "p3", "", "axes"], "y", mode="edge"),
        ],
        constants=[
            tensor("p1", [0, 0, 1, 2, 0, 0, 3, 4]),  # begins of (N, C, H, W), then ends
            tensor("p2", [0, 0, 1, 1, 0, 0, 1, 1]),
            tensor("p3", [2, 0]),
            tensor("axes", [3]),
        ],
        opset=18,
    )
    assert lines(m) == [
        "{name: a, op: pad, padding: [[1, 3], [2, 4]], channels: 3, inputs: [x]}",
        "{name: b, op: pad, padding: 1, channels: 3, inputs: [a]}",
        "{name: y, op: pad, padding: [0, [2, 0]], channels: 3, inputs: [b]}",
    ]


def test_pad_as_an_attribute_in_old_opsets():
    m = model([node("Pad", ["x"], "y", pads=[0, 0, 1, 1, 0, 0, 1, 1])], opset=10)
    assert lines(m) == ["{name: y, op: pad, padding: 1, channels: 3, inputs: [x]}"]


def test_wrap_padding_is_an_error():
    m = model(
        [node("Pad", ["x", "p"], "y", mode="wrap")],
        constants=[tensor("p", [0, 0, 1, 1, 0, 0, 1, 1])],
        opset=19,
    )
    with pytest.raises(RFGraphError, match=r"'y' \(Pad\): wrap \(circular\) padding reads the far side"):
        import_onnx(m)


def test_slice_on_spatial_axes_is_a_crop_and_a_step_a_strided_pool():
    m = model(
        [
            node("Slice", ["x", "s1", "e1", "a1"], "a"),
            node("Slice", ["a", "s2", "e2", "a2", "st2"], "b"),
            node("Slice", ["b", "s3", "e3", "a3"], "y"),
        ],
        constants=[
            tensor("s1", [1, 2]),
            tensor("e1", [-1, INT_MAX]),
            tensor("a1", [2, 3]),
            tensor("s2", [0, 0]),
            tensor("e2", [INT_MAX, INT_MAX]),
            tensor("a2", [-2, -1]),
            tensor("st2", [2, 2]),
            tensor("s3", [0]),
            tensor("e3", [2]),
            tensor("a3", [1]),
        ],
    )
    assert lines(m) == [
        "{name: a, op: crop, crop: [1, [2, 0]], channels: 3, inputs: [x]}",
        "{name: b, op: pool, stride: 2, channels: 3, inputs: [a]}",
        "{name: y, op: identity, channels: 2, inputs: [b]}",
    ]


def test_slice_bounds_read_off_shapes_are_fine_on_channels_only():
    half = [
        node("Shape", ["x"], "shape"),
        node("Gather", ["shape", "one"], "c"),
        node("Div", ["c", "two"], "half"),
        node("Unsqueeze", ["half", "zero"], "end"),
    ]
    constants = [
        tensor("one", np.array(1)),
        tensor("two", np.array(2)),
        tensor("zero", [0]),
        tensor("start", [0]),
    ]
    channels = model(
        [*half, node("Slice", ["x", "start", "end", "axis"], "y")],
        channels=4,
        constants=[*constants, tensor("axis", [1])],
    )
    assert lines(channels) == ["{name: y, op: identity, channels: 2, inputs: [x]}"]
    spatial = model(
        [*half, node("Slice", ["x", "start", "end", "axis"], "y")],
        constants=[*constants, tensor("axis", [2])],
    )
    with pytest.raises(
        RFGraphError, match="slice bounds of spatial axis 0 computed from shapes are not supported"
    ):
        import_onnx(spatial)


# ----------------------------------------------------------------------------- resizing


def scales(name: str, *values: float) -> onnx.TensorProto:
    return tensor(name, np.array(values, dtype=np.float32))


@pytest.mark.parametrize(
    ("attributes", "factors", "written"),
    [
        (
            {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
            (2, 2),
            "op: upsample, factor: 2",
        ),
        # half-pixel with rounding reads floor(x / 2) too, for an integer factor: checked position by position
        ({"mode": "nearest"}, (2, 3), "op: upsample, factor: [2, 3]"),
        ({"mode": "linear"}, (2, 2), "op: upsample, factor: 2, mode: bilinear"),
        (
            {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
            (2, 2),
            "op: upsample, factor: 2, mode: bilinear, align_corners: true",
        ),
        (
            {"mode": "cubic", "coordinate_transformation_mode": "pytorch_half_pixel"},
            (1.5, 1.5),
            "op: resize, factor: 3/2, mode: bicubic",
        ),
        (
            {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"},
            (0.5, 2.5),
            "op: resize, factor: [1/2, 5/2]",
        ),
        # half-pixel rounding half up is PyTorch's nearest-exact: floor((x + 1/2) / factor)
        (
            {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
            (1.5, 0.5),
            "op: resize, factor: [3/2, 1/2], mode: nearest_exact",
        ),
        # ... and with ties rounded down, at 1.5 it is floor(x / factor) again
        ({"mode": "nearest"}, (1.5, 1.5), "op: resize, factor: 3/2"),
    ],
)
def test_resize_by_constant_scales(attributes, factors, written):
    m = model([node("Resize", ["x", "", "s"], "y", **attributes)], constants=[scales("s", 1, 1, *factors)])
    assert lines(m) == [f"{{name: y, {written}, channels: 3, inputs: [x]}}"]


def test_resize_to_constant_sizes():
    m = model(
        [node("Resize", ["x", "", "", "sizes"], "y", mode="linear")],
        constants=[tensor("sizes", [1, 3, 7, 9])],
    )
    assert lines(m) == ["{name: y, op: resize, size: [7, 9], mode: bilinear, channels: 3, inputs: [x]}"]


def test_nearest_to_a_size_is_checked_at_the_traced_sizes_ratio():
    def resize(**attributes):
        m = model(
            [node("Resize", ["x", "", "", "sizes"], "y", mode="nearest", **attributes)],
            constants=[tensor("sizes", [1, 3, 5, 12])],
        )
        return lines(m)

    # 8 -> 5 and 8 -> 12: rounding half up reads floor((x + 1/2) * 8/5) and floor((x + 1/2) * 2/3)
    assert resize(nearest_mode="round_prefer_ceil") == [
        "{name: y, op: resize, size: [5, 12], mode: nearest_exact, channels: 3, inputs: [x]}"
    ]
    assert resize(coordinate_transformation_mode="asymmetric", nearest_mode="floor") == [
        "{name: y, op: resize, size: [5, 12], channels: 3, inputs: [x]}"
    ]
    with pytest.raises(RFGraphError, match="nearest_mode 'ceil'"):
        resize(nearest_mode="ceil")


def test_resize_to_another_maps_size_is_size_of():
    m = model(
        [
            node("Conv", ["x", "w"], "down", strides=[2, 2]),
            node("Shape", ["x"], "shape"),
            node("Slice", ["shape", "from", "to"], "hw"),
            node("Shape", ["down"], "shape_down"),
            node("Slice", ["shape_down", "zero", "from"], "nc"),
            node("Concat", ["nc", "hw"], "sizes", axis=0),
            node("Resize", ["down", "", "", "sizes"], "y", mode="linear"),
        ],
        constants=[weight("w", 3, 3, 1, 1), tensor("from", [2]), tensor("to", [4]), tensor("zero", [0])],
    )
    assert lines(m)[1] == "{name: y, op: resize, size_of: x, mode: bilinear, channels: 3, inputs: [down]}"


def test_upsample_of_old_opsets_is_nearest_with_asymmetric_coordinates():
    m = model([node("Upsample", ["x", "s"], "y")], constants=[scales("s", 1, 1, 2, 2)], opset=9)
    assert lines(m) == ["{name: y, op: upsample, factor: 2, channels: 3, inputs: [x]}"]


@pytest.mark.parametrize(
    ("attributes", "factors", "message"),
    [
        (
            {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "floor"},
            (2, 2),
            "nearest with coordinate_transformation_mode 'half_pixel' and nearest_mode 'floor'",
        ),
        (
            {"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "ceil"},
            (1.5, 1.5),
            "nearest with coordinate_transformation_mode 'half_pixel' and nearest_mode 'ceil'",
        ),
        (
            {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"},
            (2, 2),
            "linear with coordinate_transformation_mode 'tf_crop_and_resize' is not supported",
        ),
        (
            {"mode": "linear", "coordinate_transformation_mode": "asymmetric"},
            (2, 2),
            "linear with coordinate_transformation_mode 'asymmetric'",
        ),
        ({"mode": "linear", "antialias": 1}, (0.5, 0.5), "Resize with antialias"),
    ],
)
def test_resize_modes_without_an_exact_meaning_are_errors_naming_the_mode(attributes, factors, message):
    roi = scales("roi", 0, 0, 0, 0, 1, 1, 1, 1)
    m = model(
        [node("Resize", ["x", "roi", "s"], "y", **attributes)],
        constants=[roi, scales("s", 1, 1, *factors)],
        opset=19,
    )
    with pytest.raises(RFGraphError, match=message):
        import_onnx(m)


def test_depth_to_space_and_space_to_depth():
    m = model(
        [
            node("SpaceToDepth", ["x"], "a", blocksize=2),
            node("DepthToSpace", ["a"], "y", blocksize=2, mode="CRD"),
        ]
    )
    assert lines(m) == [
        "{name: a, op: pixel_unshuffle, factor: 2, channels: 12, inputs: [x]}",
        "{name: y, op: pixel_shuffle, factor: 2, channels: 3, inputs: [a]}",
    ]


# ----------------------------------------------------------------------------- merges, heads, pointwise


def test_concat_add_sum_mul_with_broadcasting_and_constants():
    m = model(
        [
            node("Conv", ["x", "w"], "a"),
            node("Concat", ["x", "a"], "cat", axis=1),
            node("GlobalAveragePool", ["cat"], "pooled"),
            node("Sigmoid", ["pooled"], "gate"),
            node("Mul", ["cat", "gate"], "gated"),  # squeeze-excitation: a size-1 map broadcasts
            node("Add", ["gated", "bias"], "biased"),
            node("Mul", ["biased", "half"], "scaled"),
            node("Sum", ["scaled", "cat", "gated"], "y"),
        ],
        constants=[
            weight("w", 3, 3, 1, 1),
            tensor("bias", np.zeros((1, 6, 1, 1))),
            tensor("half", np.array(0.5)),
        ],
    )
    assert lines(m) == [
        "{name: a, op: conv, channels: 3, inputs: [x]}",
        "{name: cat, op: concat, channels: 6, inputs: [x, a]}",
        "{name: pooled, op: global_pool, channels: 6, inputs: [cat]}",
        "{name: gate, op: sigmoid, channels: 6, inputs: [pooled]}",
        "{name: gated, op: mul, channels: 6, inputs: [cat, gate]}",
        "{name: biased, op: bias, channels: 6, inputs: [gated]}",
        "{name: scaled, op: scale, channels: 6, inputs: [biased]}",
        "{name: y, op: add, channels: 6, inputs: [scaled, cat, gated]}",
    ]


def test_concat_along_a_spatial_axis_is_an_error():
    m = model([node("Concat", ["x", "x"], "y", axis=2)])
    with pytest.raises(
        RFGraphError, match="a concatenation along spatial axis 0 is not a channel concatenation"
    ):
        import_onnx(m)


def test_flatten_gemm_and_matmul_heads_and_channels_last_matmul():
    m = model(
        [
            node("Transpose", ["x"], "nhwc", perm=[0, 2, 3, 1]),
            node("MatMul", ["nhwc", "w_mix"], "mixed"),  # a linear map of each position's channels
            node("Transpose", ["mixed"], "nchw", perm=[0, 3, 1, 2]),
            node("GlobalAveragePool", ["nchw"], "pooled"),
            node("Flatten", ["pooled"], "flat", axis=1),
            node("Gemm", ["flat", "w_fc", "b_fc"], "y", transB=1),
            node("Reshape", ["nchw", "to_rows"], "rows"),  # a VGG head: channels and positions flattened
            node("MatMul", ["rows", "w_big"], "z"),
        ],
        outputs=("y", "z"),
        constants=[
            weight("w_mix", 3, 5),
            weight("w_fc", 10, 5),
            weight("b_fc", 10),
            tensor("to_rows", [1, -1]),
            weight("w_big", 5 * 8 * 8, 7),
        ],
    )
    assert lines(m) == [
        "{name: nhwc, op: identity, channels: 3, inputs: [x]}",
        "{name: mixed, op: conv, channels: 5, inputs: [nhwc]}",
        "{name: nchw, op: identity, channels: 5, inputs: [mixed]}",
        "{name: pooled, op: global_pool, channels: 5, inputs: [nchw]}",
        "{name: flat, op: flatten, channels: 5, inputs: [pooled]}",
        "{name: y, op: fc, channels: 10, inputs: [flat]}",
        "{name: rows, op: flatten, channels: 320, inputs: [nchw]}",
        "{name: z, op: fc, channels: 7, inputs: [rows]}",
    ]


@pytest.mark.parametrize(
    ("op", "inputs", "constants", "attributes", "written"),
    [
        ("Relu", [], [], {}, "relu"),
        ("LeakyRelu", [], [], {}, "leaky_relu"),
        ("Sigmoid", [], [], {}, "sigmoid"),
        ("HardSwish", [], [], {}, "hardswish"),
        ("HardSigmoid", [], [], {}, "hardsigmoid"),
        ("Tanh", [], [], {}, "tanh"),
        ("Clip", ["zero", "six"], [tensor("zero", np.float32(0)), tensor("six", np.float32(6))], {}, "relu6"),
        (
            "Clip",
            ["zero", "one"],
            [tensor("zero", np.float32(0)), tensor("one", np.float32(1))],
            {},
            "hardtanh",
        ),
        (
            "BatchNormalization",
            ["s", "b", "m", "v"],
            [weight(n, 3) for n in ("s", "b", "m", "v")],
            {},
            "batch_norm",
        ),
        ("InstanceNormalization", ["s", "b"], [weight(n, 3) for n in ("s", "b")], {}, "instance_norm"),
        ("LRN", [], [], {"size": 3}, "local_response_norm"),
        ("Dropout", [], [], {}, "dropout"),
        ("Identity", [], [], {}, "identity"),
        ("Erf", [], [], {}, "identity"),
        ("Softmax", [], [], {"axis": 1}, "softmax"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_elementwise_ops_are_pointwise(op, inputs, constants, attributes, written):
    m = model([node(op, ["x", *inputs], "y", **attributes)], constants=constants)
    assert lines(m) == [f"{{name: y, op: {written}, channels: 3, inputs: [x]}}"]


def test_split_along_channels_gives_each_part_its_channels():
    split = helper.make_node("Split", ["x", "parts"], ["p", "q"], name="split", axis=1)
    m = model(
        [split, node("Concat", ["q", "p"], "y", axis=1)], channels=5, constants=[tensor("parts", [2, 3])]
    )
    assert lines(m) == [
        "{name: split, op: identity, channels: 2, inputs: [x]}",
        '{name: "split:1", op: identity, channels: 3, inputs: [x]}',
        '{name: y, op: concat, channels: 5, inputs: ["split:1", split]}',
    ]


def test_graph_outputs_keep_their_names_and_other_layers_take_unique_node_names():
    m = model(
        [
            node("Relu", ["x"], "t1", name="act"),
            node("Relu", ["t1"], "t2", name="same"),
            node("Relu", ["t2"], "t3", name="same"),  # not unique: the output's name
            node("Relu", ["t3"], "out", name="last"),
        ],
        outputs=("out",),
    )
    assert [line.split(",")[0] for line in lines(m)] == ["{name: act", "{name: t2", "{name: t3", "{name: out"]


def test_unknown_ops_are_one_error_listing_each_and_assume_pointwise_keeps_them():
    m = model(
        [
            node("Conv", ["x", "w"], "a"),
            node("Mystery", ["a"], "b", name="mystery_a"),
            node("Mystery", ["a"], "c", name="mystery_b"),
            node("Add", ["b", "c"], "y"),
        ],
        constants=[weight("w", 3, 3, 1, 1)],
    )
    m.graph.node[1].domain = m.graph.node[2].domain = "custom"
    m.opset_import.append(helper.make_opsetid("custom", 1))
    with pytest.raises(RFGraphError) as caught:
        import_onnx(m)
    assert str(caught.value) == (
        "ONNX graph 'g': 2 op(s) the importer does not support: 'mystery_a' (custom.Mystery): unknown op; "
        "'mystery_b' (custom.Mystery): unknown op "
        "(an op that keeps the geometry can be named with assume_pointwise / --assume-pointwise)"
    )
    # shape inference cannot see through an unknown op: an assumed-pointwise one keeps its input's shape
    assert lines(m, assume_pointwise=["custom.Mystery"])[1:] == [
        "{name: mystery_a, op: identity, channels: 3, inputs: [a]}",
        "{name: mystery_b, op: identity, channels: 3, inputs: [a]}",
        "{name: y, op: add, channels: 3, inputs: [mystery_a, mystery_b]}",
    ]


def test_unknown_ops_one_after_the_other_are_all_listed():
    m = model(
        [
            node("Foo", ["x"], "a", name="foo"),
            node("Relu", ["a"], "b", name="relu"),
            node("Shape", ["b"], "s", name="shape"),
            node("Bar", ["b"], "y", name="bar"),
        ]
    )
    with pytest.raises(RFGraphError) as caught:
        import_onnx(m)
    assert str(caught.value) == (
        "ONNX graph 'g': 2 op(s) the importer does not support: "
        "'foo' (Foo): unknown op; 'y' (Bar): unknown op "
        "(an op that keeps the geometry can be named with assume_pointwise / --assume-pointwise)"
    )


def test_an_assumed_pointwise_op_gives_its_input_shape_to_what_follows():
    m = model([node("Foo", ["x"], "a", name="foo"), node("Relu", ["a"], "b"), node("Add", ["b", "x"], "y")])
    assert lines(m, assume_pointwise=["Foo"]) == [
        "{name: foo, op: identity, channels: 3, inputs: [x]}",
        "{name: b, op: relu, channels: 3, inputs: [foo]}",
        "{name: y, op: add, channels: 3, inputs: [b, x]}",
    ]


def test_api_errors_are_located_at_the_file_or_the_graph_name(tmp_path):
    m = model([node("Relu", ["x"], "y")], size=(None, None))
    path = tmp_path / "open_size.onnx"
    onnx.save(m, path)
    with pytest.raises(RFGraphError, match=f"^{re.escape(str(path))}: "):
        rfgraph.from_onnx(path)
    with pytest.raises(RFGraphError, match=r"^ONNX graph 'g': "):
        rfgraph.from_onnx(m)
    m.graph.name = ""
    with pytest.raises(RFGraphError, match=r"^ONNX model: "):
        import_onnx(m)


def test_an_open_input_size_must_be_given():
    m = model([node("Relu", ["x"], "y")])
    dims = m.graph.input[0].type.tensor_type.shape.dim
    for d, name in zip(dims, ["n", None, "h", "w"], strict=True):
        if name:
            d.dim_param = name
    with pytest.raises(RFGraphError, match=r"input 'x' has no fixed size \['n', 3, 'h', 'w'\]: give one"):
        import_onnx(m)
    spec = import_onnx(m, input_size=[5, 7])
    assert (spec.input_size, layer_lines(spec)) == ((5, 7), ["{name: y, op: relu, channels: 3, inputs: [x]}"])


def test_files_that_are_not_onnx_models_are_errors(tmp_path):
    with pytest.raises(RFGraphError, match=r"missing\.onnx: no such file"):
        import_onnx(tmp_path / "missing.onnx")
    (tmp_path / "text.onnx").write_text("not a model")
    with pytest.raises(RFGraphError, match=r"text\.onnx: not an ONNX model"):
        import_onnx(tmp_path / "text.onnx")


def test_a_file_is_named_after_its_stem(tmp_path):
    path = tmp_path / "tiny_net.onnx"
    onnx.save(model([node("Relu", ["x"], "y")]), path)
    spec = import_onnx(path)
    assert (spec.name, spec.input, spec.input_size) == ("tiny_net", "x", (8, 8))


# ----------------------------------------------------------------------------- the same network through both doors

_GEOMETRY_FREE = {
    *("identity", "relu", "relu6", "gelu", "silu", "sigmoid", "hardswish", "hardsigmoid", "hardtanh"),
    *("batch_norm", "layer_norm", "dropout", "bias", "scale", "softmax", "channel_shuffle"),
}
_NAME_AND_INPUTS = re.compile(r"^\{name: [^,]+, |, inputs: \[.*\]\}$")


def skeleton(spec: NetworkSpec) -> list[tuple[str, tuple[str, ...]]]:
    """The layers that change geometry as written (names aside), with their inputs traced back
    through the others.

    An exporter folds batch norms into convs, writes GELU as arithmetic and drops
    identities and dropouts: those leave the geometry alone, so they are left out.
    """
    stands_for = {spec.input: "input"}
    found: list[tuple[str, tuple[str, ...]]] = []
    for layer, line in zip(spec.layers, layer_lines(spec), strict=True):
        inputs = tuple(stands_for[i] for i in layer["inputs"])
        same_input = len(set(inputs)) == 1 and layer["op"] in ("add", "mul", "sub")  # x * sigmoid(x)
        if layer["op"] in _GEOMETRY_FREE or same_input:
            stands_for[layer["name"]] = inputs[0]
            continue
        written = _NAME_AND_INPUTS.sub("", line)
        if "size_of" in layer:  # names aside: the map it takes its size from, traced back too
            written = written.replace(
                f"size_of: {layer['size_of']}", f"size_of: {stands_for[layer['size_of']]}"
            )
        stands_for[layer["name"]] = f"#{len(found)}"
        found.append((written, tuple(sorted(set(inputs)))))
    return found


def _torch_module(case: str):
    pytest.importorskip("torch")
    import torch
    from test_import_torch import ConvNeXtBlock, Fn, ResidualStage, SqueezeExcitation
    from torch import nn

    class UNetish(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.pool = nn.MaxPool2d(2, ceil_mode=True)
            self.up = nn.ConvTranspose2d(8, 8, 2, stride=2)
            self.head = nn.Conv2d(16, 4, 1)

        def forward(self, x):
            d = torch.relu(self.down(x))
            u = self.up(self.pool(d))
            y = self.head(torch.cat([d, u], 1))
            return nn.functional.interpolate(y, size=x.shape[-2:], mode="bilinear")

    cases = {
        "residual": ResidualStage,
        "squeeze_excitation": SqueezeExcitation,
        "convnext_block": lambda: ConvNeXtBlock(3),
        "unet_size_of": UNetish,
        "head": lambda: nn.Sequential(
            nn.Conv2d(3, 12, 3), nn.PixelShuffle(2), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2)
        ),
        "upsample_crop": lambda: Fn(
            lambda s, x: nn.functional.interpolate(s.c(x), scale_factor=2)[:, :, 1:-1], c=nn.Conv2d(3, 3, 1)
        ),
    }
    return cases[case]().eval()


def _exported(module, size, dynamic: bool) -> onnx.ModelProto:
    import torch

    f = io.BytesIO()
    axes = {"x": {2: "h", 3: "w"}} if dynamic else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            torch.zeros(1, 3, *size),
            f,
            dynamo=False,
            opset_version=17,
            input_names=["x"],
            dynamic_axes=axes,
        )
    return onnx.load_from_string(f.getvalue())


@pytest.mark.parametrize(
    ("case", "dynamic"),
    [
        ("residual", False),
        ("squeeze_excitation", False),
        ("convnext_block", False),
        # with open sizes the exporter keeps Shape -> Slice -> Concat: the resize is size_of x
        ("unet_size_of", True),
        ("head", False),
        ("upsample_crop", False),
    ],
)
def test_a_torch_module_exported_to_onnx_gives_the_same_layers(case, dynamic):
    from rfgraph.importers import import_torch

    module = _torch_module(case)
    size = (32, 32)
    from_torch = skeleton(import_torch(module, list(size)))
    from_onnx = skeleton(import_onnx(_exported(module, size, dynamic), input_size=list(size)))
    assert len(from_torch) > 1
    assert from_onnx == from_torch


# ----------------------------------------------------------------------------- the command line


def test_import_of_an_onnx_file_on_the_command_line(tmp_path):
    path = tmp_path / "net.onnx"
    onnx.save(
        model([node("Conv", ["x", "w"], "y", pads=[1, 1, 1, 1])], constants=[weight("w", 4, 3, 3, 3)]), path
    )
    out = tmp_path / "net.yaml"
    code = main(["import", str(path), "-o", str(out)])
    assert code == 0
    assert out.read_text().splitlines() == [
        f"# generated by: rfgraph import {path}",
        "name: net",
        "input: {name: x, size: 8}",
        "layers:",
        "  - {name: y, op: conv, kernel: 3, padding: 1, channels: 4, inputs: [x]}",
    ]


def test_analyze_check_and_sizes_take_an_onnx_file(tmp_path, capsys):
    path = tmp_path / "net.onnx"
    onnx.save(
        model(
            [node("Conv", ["x", "w"], "y", pads=[1, 1, 1, 1], strides=[2, 2])],
            constants=[weight("w", 4, 3, 3, 3)],
        ),
        path,
    )
    assert main(["analyze", str(path), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "y,conv,h,3,2,1,3,4,True,False",
        "y,conv,w,3,2,1,3,4,True,False",
    ]
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: aligned (2 nodes, 0 merges)\n"
    assert main(["sizes", str(path)]) == 0
    assert capsys.readouterr().out == "net:\n  h: aligned iff H >= 1\n  w: aligned iff W >= 1\n"


def test_import_of_an_onnx_file_with_model_args_is_an_error(tmp_path, capsys):
    path = tmp_path / "net.onnx"
    onnx.save(model([node("Relu", ["x"], "y")]), path)
    assert main(["import", str(path), "--model-arg", "weights=None"]) == 2
    assert (
        capsys.readouterr().err
        == f"{path}: --model-arg is for package.module:callable sources, not .onnx files\n"
    )


def test_from_onnx_loads_the_text_it_writes():
    from rfgraph.importers import from_onnx, to_network

    m = model([node("Conv", ["x", "w"], "y", pads=[1, 1, 1, 1])], constants=[weight("w", 4, 3, 3, 3)])
    assert from_onnx(m) == to_network(import_onnx(m))
