"""What the importers share, without torch or onnx: the YAML writer and the dim labels."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import pytest

from rfgraph.importers import maps
from rfgraph.importers.maps import Layout, Map, UnsupportedError
from rfgraph.importers.writer import NetworkSpec, to_network, to_yaml


def spec(*layers: dict, dims: int = 2, size=(16, 16)) -> NetworkSpec:
    return NetworkSpec("net", "x", dims, list(layers), size)


def written(**params) -> str:
    return (
        to_yaml(spec({"name": "a", "op": "conv", **params, "inputs": ["x"]}))
        .splitlines()[-1]
        .removeprefix("  - ")
    )


@pytest.mark.parametrize(
    ("params", "line"),
    [
        (
            {"kernel": [3, 3], "stride": [1, 1], "padding": [(1, 1), (1, 1)]},
            "{name: a, op: conv, kernel: 3, padding: 1",
        ),
        (
            {"kernel": [3, 5], "padding": [(1, 1), (2, 2)]},
            "{name: a, op: conv, kernel: [3, 5], padding: [1, 2]",
        ),
        # an uneven pair on every axis stays one pair per axis: a bare [0, 1] would be one value per axis
        (
            {"kernel": [2, 2], "padding": [(0, 1), (0, 1)]},
            "{name: a, op: conv, kernel: 2, padding: [[0, 1], [0, 1]]",
        ),
        ({"padding": [(0, 0), (2, 1)], "dilation": [1, 1]}, "{name: a, op: conv, padding: [0, [2, 1]]"),
        ({"padding": "same"}, "{name: a, op: conv, padding: same"),
        (
            {"factor": [Fraction(3, 2)] * 2, "mode": "nearest", "align_corners": False},
            "{name: a, op: conv, factor: 3/2",
        ),
        ({"ceil_mode": True, "output_padding": [0, 0]}, "{name: a, op: conv, ceil_mode: true"),
    ],
)
def test_values_are_written_once_for_every_axis_and_defaults_are_left_out(params, line):
    assert written(**params) == line + ", inputs: [x]}"


@pytest.mark.parametrize(
    ("name", "as_written"),
    [
        ("layer1.0.conv1", "layer1.0.conv1"),
        ("/backbone/Conv", "/backbone/Conv"),
        ("0", '"0"'),
        ("1e5", '"1e5"'),
        ("true", '"true"'),
        ("Null", '"Null"'),
        ("split:1", '"split:1"'),
        ("a b", '"a b"'),
        ("café", '"café"'),
    ],
)
def test_names_are_quoted_only_where_yaml_would_read_them_otherwise(name, as_written):
    text = to_yaml(spec({"name": name, "op": "relu", "inputs": ["x"]}))
    assert text.splitlines()[-1] == f"  - {{name: {as_written}, op: relu, inputs: [x]}}"
    assert list(to_network(spec({"name": name, "op": "relu", "inputs": ["x"]})).layers) == [name]


def test_the_text_loads_back_to_the_layers_it_was_written_from():
    one_d = spec(
        {"name": "c", "op": "conv", "kernel": [3], "padding": [(0, 2)], "inputs": ["x"]},
        {"name": "p", "op": "pad", "padding": [(-1, 1)], "inputs": ["c"]},
        dims=1,
        size=(9,),
    )
    text = to_yaml(one_d)
    assert text.splitlines() == [
        "name: net",
        "input: {name: x, size: 9}",
        "dims: 1",
        "layers:",
        "  - {name: c, op: conv, kernel: 3, padding: [[0, 2]], inputs: [x]}",
        "  - {name: p, op: pad, padding: [[-1, 1]], inputs: [c]}",
    ]
    net = to_network(one_d)
    padding = (net.layers["c"].params["padding"], net.layers["p"].params["padding"])
    assert (padding, net.input_size) == ((((0, 2),), ((-1, 1),)), (9,))


def test_a_comment_comes_first():
    text = to_yaml(
        NetworkSpec("n", "x", 2, [{"name": "a", "op": "relu", "inputs": ["x"]}], comment="made by: me")
    )
    assert text.splitlines()[:2] == ["# made by: me", "name: n"]


def nchw(*shape: int) -> Map:
    return Map("m", maps.nchw(len(shape) - 2), shape)


@pytest.mark.parametrize(
    ("shape", "new", "op", "labels"),
    [
        ((2, 6, 5, 7), (2, 3, 2, 5, 7), "identity", ("N", "C", "C", 0, 1)),  # a channel shuffle's view
        ((2, 8, 5, 7), (2, 8, 35), "identity", ("N", "C", "L")),  # a ViT's patches
        ((2, 8, 5, 7), (2, 280), "flatten", ("N", "X")),  # a VGG head
        ((2, 8, 1, 1), (2, 8), "flatten", ("N", "C")),  # after a global pool
        ((2, 8, 5, 1), (2, 8, 5), "identity", ("N", "C", 0)),  # only a size-1 axis goes
        ((2, 8, 5, 7), (2, 8, 5, 7, 1), "identity", ("N", "C", 0, 1, "C")),
    ],
)
def test_reshapes_keep_track_of_what_each_dim_is(shape, new, op, labels):
    made, layout = maps.reshape(nchw(*shape), new)
    assert (made, layout.labels) == (op, labels)


def test_a_sequence_unflattens_back_to_its_axes():
    _, tokens = maps.reshape(nchw(2, 8, 5, 7), (2, 8, 35))
    made, layout = maps.reshape(Map("t", tokens, (2, 8, 35)), (2, 8, 5, 7))
    assert (made, layout.labels) == ("identity", ("N", "C", 0, 1))


@pytest.mark.parametrize(
    ("shape", "new", "message"),
    [
        ((2, 8, 6, 7), (2, 8, 3, 2, 7), r"a reshape of \(spatial axis 0\) into 2 dim\(s\) of sizes \[3, 2\]"),
        ((2, 8, 5, 7), (2, 40, 7), "a reshape that merges spatial axis 0 but keeps other axes"),
        ((2, 8, 5, 7), (16, 35), r"a reshape of \(the batch, channels\)"),
    ],
)
def test_reshapes_that_move_positions_are_unsupported(shape, new, message):
    with pytest.raises(UnsupportedError, match=message):
        maps.reshape(nchw(*shape), new)


def test_a_slice_selects_crops_strides_and_class_tokens():
    x = nchw(2, 8, 10, 10)
    crop = maps.select(x, [slice(None), slice(0, 4), slice(1, 9), slice(2, None)], 2)
    assert (crop.op, crop.params, crop.layout.labels) == (
        "crop",
        {"crop": [(1, 1), (2, 0)]},
        ("N", "C", 0, 1),
    )
    strided = maps.select(x, [maps.Whole, maps.Whole, slice(None, None, 2), slice(None, None, 2)], 2)
    assert (strided.op, strided.params) == ("pool", {"stride": [2, 2]})
    tokens = Map("t", Layout(("N", "L", "C"), ((0, 4), (1, 4)), tokens=1), (2, 17, 8))
    assert maps.select(tokens, [slice(None), 0], 2).op == "global_pool"
    assert maps.select(tokens, [slice(None), slice(1, None)], 2).layout.tokens == 0


def test_importing_the_command_line_imports_neither_torch_nor_onnx():
    code = "import sys, rfgraph.cli, rfgraph.importers; print(sorted(m for m in sys.modules if m in ('torch', 'onnx')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout == "[]\n"


def test_from_torch_and_from_onnx_are_top_level_names_loaded_when_first_used():
    code = (
        "import sys, rfgraph\n"
        "before = 'rfgraph.importers' in sys.modules\n"
        "from rfgraph import from_onnx\n"
        "from rfgraph.importers import from_torch\n"
        "assert rfgraph.from_torch is from_torch and 'from_onnx' in rfgraph.__all__ and 'from_torch' in dir(rfgraph)\n"
        "print(before, 'rfgraph.importers' in sys.modules, sorted(m for m in sys.modules if m in ('torch', 'onnx')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout == "False True []\n", run.stderr


def test_other_names_are_still_attribute_errors():
    import rfgraph

    with pytest.raises(AttributeError, match="module 'rfgraph' has no attribute 'from_tensorflow'"):
        rfgraph.from_tensorflow  # noqa: B018
