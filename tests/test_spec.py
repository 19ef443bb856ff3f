"""Loading specs: the format's defaults and forms, and one located error per mistake."""

from __future__ import annotations

from fractions import Fraction

import pytest

from rfgraph import RFGraphError, load, loads
from rfgraph.ops import OPS


def test_defaults():
    net = loads("layers: [{name: c, op: conv}]")
    layer = net.layers["c"]
    assert (net.name, net.input, net.dims, net.input_size) == ("network", "input", 2, None)
    assert layer.params == {
        "kernel": (1, 1),
        "stride": (1, 1),
        "dilation": (1, 1),
        "padding": ((0, 0), (0, 0)),
    }
    assert layer.inputs == ("input",)


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        ("same", ("same", "same")),
        ("VALID", ("valid", "valid")),
        ("2", ((2, 2), (2, 2))),
        ("[1, 2]", ((1, 1), (2, 2))),
        ("[[0, 1], 3]", ((0, 1), (3, 3))),
        ("[same, [1, 0]]", ("same", (1, 0))),
    ],
)
def test_padding_forms(padding, expected):
    net = loads(f"layers: [{{name: c, op: conv, kernel: 3, padding: {padding}}}]")
    assert net.layers["c"].params["padding"] == expected


def test_per_axis_values_and_input_forms():
    net = loads("""
name: n
input: {name: img, size: [32, 24]}
dims: 2
layers:
  - {name: c, op: conv, kernel: [1, 7], stride: [2, 1], dilation: [1, 2]}
""")
    c = net.layers["c"]
    assert (c.params["kernel"], c.params["stride"], c.params["dilation"]) == ((1, 7), (2, 1), (1, 2))
    assert (net.input, net.input_size) == ("img", (32, 24))
    assert loads("input: {size: 9}\nlayers: [{name: c, op: relu}]").input_size == (9, 9)


def test_layers_in_any_order_and_default_inputs():
    net = loads("""
layers:
  - {name: out, op: add, inputs: [a, b]}
  - {name: a, op: conv, kernel: 3, inputs: [input]}
  - {name: b, op: relu}
""")
    assert net.layers["b"].inputs == ("a",)
    assert list(net.nodes) == ["input", "out", "a", "b"]


def test_yaml_merge_keys_share_parameters():
    net = loads("""
layers:
  - &conv3 {name: a, op: conv, kernel: 3, padding: same}
  - {<<: *conv3, name: b}
""")
    assert net.layers["b"].params["kernel"] == (3, 3) and net.layers["b"].inputs == ("a",)


def test_one_dimensional_and_three_dimensional_nets():
    assert loads("dims: 1\nlayers: [{name: c, op: conv, kernel: 3}]").layers["c"].params["kernel"] == (3,)
    three = loads("dims: 3\nlayers: [{name: c, op: conv, kernel: [1, 3, 3]}]")
    assert three.layers["c"].params["kernel"] == (1, 3, 3)


def test_load_reads_files_and_names_the_network_after_them(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text("layers: [{name: c, op: relu}]\n")
    assert load(path).name == "tiny"
    assert load(str(path)).path == str(path)


# Exact messages for a few representative mistakes; `match` for the rest.
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "layers:\n  - {name: c, op: conv, kernal: 3}\n",
            "net.yaml:2: node 'c': layer: unknown key 'kernal' (did you mean 'kernel'? "
            "expected one of: name, op, inputs, channels, kernel, stride, dilation, padding)",
        ),
        ("layers:\n  - {name: c, op: conv, inputs: [x]}\n", "net.yaml:2: node 'c': unknown input 'x'"),
        (
            "layers:\n  - {name: a, op: relu, inputs: [b]}\n  - {name: b, op: relu}\n",
            "net.yaml:2: node 'a': cycle: a -> b -> a",
        ),
        (
            "layers:\n  - {name: c, op: relu}\n  - {name: c, op: relu}\n",
            "net.yaml:3: duplicate layer name 'c' (first on line 2)",
        ),
    ],
)
def test_exact_error_messages(text, message):
    with pytest.raises(RFGraphError) as info:
        loads(text, path="net.yaml")
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("text", "line", "pattern"),
    [
        ("layers: [{name: c, op: conv3}]", 1, r"unknown op 'conv3' \(did you mean 'conv'\?"),
        ("layers:\n  - {name: c, op: conv, kernel: 3, kernel: 4}", 2, "duplicate key 'kernel'"),
        ("layers:\n  - {name: c, op: conv}\n  - {name: d, op: add}", 3, "takes at least 2 input"),
        ("layers: [{name: c, op: conv, kernel: 0}]", 1, "kernel must be at least 1, got 0"),
        ("layers: [{name: c, op: conv, stride: -1}]", 1, "stride must be at least 1"),
        ("layers: [{name: c, op: conv, kernel: 2.5}]", 1, "kernel must be an integer, got '2.5'"),
        ("layers: [{name: c, op: conv, dilation: yes}]", 1, "must be an integer, got the boolean"),
        (
            "layers: [{name: c, op: conv, kernel: [1, 2, 3]}]",
            1,
            r"expected one value or 2 \(one per axis\), got 3",
        ),
        ("layers: [{name: c, op: conv, padding: -1}]", 1, "padding must be at least 0"),
        (
            "layers: [{name: c, op: pad, padding: same}]",
            1,
            r"padding must be an integer or \[before, after\]",
        ),
        ("layers: [{name: c, op: relu, kernel: 3}]", 1, "op 'relu' does not take 'kernel'"),
        ("layers: [{name: input, op: relu}]", 1, "layer name 'input' is the input's name"),
        ("layers:\n  - {name: c, op: relu}\n  - {name: d, op: relu, inputs: [d]}", 3, "cycle: d -> d"),
        (
            "layers:\n  - {name: c, op: relu}\n  - {name: d, op: add, inputs: [d2, c]}\n  - {name: d2, op: relu, inputs: [d]}",
            3,
            "cycle",
        ),
        (
            "layers: [{name: c, op: conv, kernel: !!python/object/apply:os.system [echo]}]",
            1,
            "YAML tags are not allowed",
        ),
        ("layers: [{name: c, op: relu}]\nlayer: []", 2, "unknown key 'layer'"),
        ("layers: [", 1, "YAML syntax error"),
        ("", 1, "empty document"),
        ("- 1", 1, "the document must be a mapping"),
        ("name: x", 1, "missing key 'layers'"),
        ("layers: []", 1, "'layers' must be a non-empty list"),
        ("layers: [{op: relu}]", 1, "missing key 'name'"),
        ("layers: [{name: c}]", 1, "missing key 'op'"),
        ("dims: 0\nlayers: [{name: c, op: relu}]", 1, "dims must be at least 1"),
        ("input: {name: i, size: [3, 4, 5]}\nlayers: [{name: c, op: relu}]", 1, "input size: expected"),
    ],
)
def test_errors_carry_their_line(text, line, pattern):
    with pytest.raises(RFGraphError, match=pattern) as info:
        loads(text, path="net.yaml")
    assert info.value.line == line
    assert str(info.value).startswith(f"net.yaml:{line}: ")


def test_a_layer_fed_only_by_a_cycle_is_reported_with_the_cycle():
    # Every layer needs a known input, so a layer the input cannot reach always hangs off a cycle.
    text = "layers:\n  - {name: a, op: relu}\n  - {name: b, op: relu, inputs: [c]}\n  - {name: c, op: relu, inputs: [b]}\n"
    with pytest.raises(RFGraphError, match="cycle: b -> c -> b"):
        loads(text)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(RFGraphError, match="no such file"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(RFGraphError, match="is a directory"):
        load(tmp_path)


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"layers:\n  - {name: \xff, op: relu}\n")
    with pytest.raises(RFGraphError, match="not UTF-8") as info:
        load(path)
    assert info.value.line == 2


# --- forms people write, and what the loader says about them ---------------------------------------


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        ("[1, 0]", ((1, 0),)),  # 1-D: [before, after]
        ("[[1, 0]]", ((1, 0),)),  # one per axis, the axis' [before, after]
        ("2", ((2, 2),)),
        ("same_lower", ("same_lower",)),
    ],
)
def test_one_dimensional_padding_is_before_after(padding, expected):
    net = loads(f"dims: 1\nlayers: [{{name: c, op: conv, kernel: 3, padding: {padding}}}]")
    assert net.layers["c"].params["padding"] == expected


def test_one_dimensional_padding_of_three_values_says_what_it_expects():
    with pytest.raises(
        RFGraphError, match=r"expected one value or \[before, after\] or 1 \(one per axis\), got 3"
    ):
        loads("dims: 1\nlayers: [{name: c, op: conv, padding: [1, 0, 2]}]")


def test_a_whole_number_with_a_point_is_not_an_integer_and_the_message_says_so():
    with pytest.raises(RFGraphError, match=r"kernel must be an integer, got '3\.0' \(write 3: "):
        loads("layers: [{name: c, op: conv, kernel: 3.0}]")


@pytest.mark.parametrize("name", ["true", "null", "~", "no"])
def test_names_are_text_or_numbers(name):
    with pytest.raises(RFGraphError, match="name must be text or a number, got"):
        loads(f"layers: [{{name: {name}, op: relu}}]")
    assert list(loads("layers: [{name: 1.5, op: relu}, {name: 7, op: relu}]").layers) == ["1.5", "7"]


@pytest.mark.parametrize(
    ("op", "suggestion"),
    [
        ("conv3", "did you mean 'conv'?"),
        ("upsampling", "did you mean 'upsample'?"),
        ("Upsample", "did you mean 'upsample'?"),
        ("conv_transpose", "did you mean 'transposed_conv'?"),
        ("ConvTranspose2d", "did you mean 'transposed_conv'?"),
        ("deconv", "did you mean 'transposed_conv'?"),
        ("MaxPool2d", "did you mean 'max_pool'?"),
        ("interpolate", "did you mean 'resize'?"),
        ("ReLU_6", "did you mean 'relu6'?"),
        ("bilinear", "did you mean 'upsample'?"),
        ("global_pooling", "did you mean 'global_pool'?"),
        ("global_avgpool2d", "did you mean 'global_avg_pool'?"),
        ("linear2", "did you mean 'linear'?"),
        ("rescale", "did you mean 'resize'?"),
    ],
)
def test_unknown_ops_suggest_an_op_of_the_same_kind(op, suggestion):
    with pytest.raises(RFGraphError, match=f"unknown op '{op}' \\({suggestion}"):
        loads(f"layers: [{{name: c, op: {op}}}]")


@pytest.mark.parametrize(
    "op", ["downsample", "upscale", "strided_scale", "sampler", "scale2x", "subsample", "unpool", "linear2x"]
)
def test_a_resampling_word_never_suggests_a_pointwise_or_global_op_or_the_other_direction(op):
    with pytest.raises(RFGraphError) as info:
        loads(f"layers: [{{name: c, op: {op}, factor: 2}}]")
    hint = info.value.message.split("(", 1)[1]
    if hint.startswith("did you mean"):
        suggested = hint.split("'")[1]
        assert OPS[suggested] is not OPS["relu"] and OPS[suggested].merge is None, suggested
        assert OPS[suggested] not in (OPS["global_pool"], OPS["global"]), suggested
        assert not ({"sub", "down"} & {op[:3], op[:4]} and suggested in ("upsample", "transposed_conv"))
        assert not (op.startswith(("up", "un")) and "pool" in suggested), suggested


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("layers: [{name: u, op: upsample}]", "op 'upsample' needs 'factor'"),
        ("layers: [{name: u, op: resize, factor: 2, size: 8}]", "give exactly one of factor, size, size_of"),
        ("layers: [{name: u, op: resize}]", "give exactly one of factor, size, size_of .got none."),
        (
            "layers: [{name: u, op: resize, factor: -2}]",
            "factor must be a positive number such as 2, 1.5 or 3/2",
        ),
        ("layers: [{name: u, op: resize, factor: '1.5'}]", "factor must be a positive number"),
        ("layers: [{name: u, op: upsample, factor: 2, mode: linear}]", "mode must be one of nearest"),
        ("layers: [{name: u, op: pool, ceil_mode: 1}]", "ceil_mode must be true or false, got '1'"),
        ("layers: [{name: u, op: crop, size_of: nowhere}]", "size_of: unknown node 'nowhere'"),
        (
            "align: middle\nlayers: [{name: u, op: relu}]",
            "align must be one of centre, start, end, none, center",
        ),
        ("layers: [{name: c, op: relu, channels: 0}]", "channels must be at least 1"),
    ],
)
def test_modern_op_parameters_are_checked(text, pattern):
    with pytest.raises(RFGraphError, match=pattern):
        loads(text)


def test_modern_op_parameters_and_their_defaults():
    net = loads(
        """
layers:
  - {name: up, op: upsample, factor: [2, 3], mode: Bilinear, channels: 8}
  - {name: rs, op: resize, factor: 1.5}
  - {name: rt, op: resize, factor: 3/2}
  - {name: t, op: transposed_conv, kernel: 4, stride: 2, padding: 1}
  - {name: m, op: add, inputs: [t, rs], align: Center}
"""
    )
    up, rs, rt, t, m = net.layers.values()
    assert up.params == {"factor": (2, 3), "mode": "bilinear", "align_corners": False} and up.channels == 8
    assert rs.params["factor"] == rt.params["factor"] == (Fraction(3, 2),) * 2
    assert t.params["padding"] == ((1, 1), (1, 1)) and t.params["output_padding"] == (0, 0)
    assert m.align == "centre" and up.align is None
