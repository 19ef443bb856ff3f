"""`rfgraph schema`: the JSON Schema of the YAML format agrees with the loader and accepts the model zoo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfgraph import RFGraphError, loads
from rfgraph.cli import main
from rfgraph.ops import OPS
from rfgraph.schema import json_schema
from rfgraph.spec import COMMON_KEYS, INPUT_KEYS, LAYER_KEYS, TOP_KEYS

jsonschema = pytest.importorskip("jsonschema")

MODELS = sorted((Path(__file__).resolve().parent.parent / "models").rglob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def is_loadable(text: str) -> bool:
    try:
        loads(text)
    except RFGraphError:
        return False
    return True


def test_the_schema_is_draft_2020_12():
    assert json_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_keys_and_ops_are_the_loaders():
    schema = json_schema()
    defs = schema["$defs"]
    assert tuple(schema["properties"]) == TOP_KEYS
    assert tuple(defs["input"]["properties"]) == INPUT_KEYS
    assert tuple(defs["layer"]["properties"]) == LAYER_KEYS
    assert defs["layer"]["properties"]["op"]["enum"] == sorted(OPS)


@pytest.mark.parametrize("path", MODELS, ids=[p.stem for p in MODELS])
def test_every_model_is_valid(validator, path):
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_there_are_models():
    assert len(MODELS) >= 10


VALID = {
    "minimal": "layers: [{name: c, op: conv}]",
    "all_top_keys": "name: n\ninput: {name: img, size: [32, 24]}\ndims: 2\nlayers: [{name: c, op: relu, inputs: img}]",
    "input_as_a_name": "input: img\nlayers: [{name: c, op: relu}]",
    "input_size_for_every_axis": "input: {size: 9}\nlayers: [{name: c, op: relu}]",
    "integer_names": "layers: [{name: 1, op: conv}, {name: 2, op: relu, inputs: [1]}]",
    "per_axis_values": "layers: [{name: c, op: conv, kernel: [1, 7], stride: [2, 1], dilation: [1, 2]}]",
    "padding_forms": "layers: [{name: c, op: conv, kernel: 3, padding: [[0, 1], same]}]",
    "padding_upper_case": "layers: [{name: c, op: conv, kernel: 3, padding: VALID}]",
    "pad_crops": "layers: [{name: c, op: pad, padding: [-1, [2, -3]]}]",
    "merge": "layers: [{name: a, op: relu}, {name: b, op: relu, inputs: [input]}, {name: s, op: concat, inputs: [a, b]}]",
    "yaml_merge_keys": "layers:\n  - &c {name: a, op: conv, kernel: 3}\n  - {<<: *c, name: b}",
    "one_dimensional": "dims: 1\nlayers: [{name: c, op: conv, kernel: 3, padding: [[1, 0]]}]",
    "one_dimensional_before_after": "dims: 1\nlayers: [{name: c, op: conv, kernel: 3, padding: [1, 0]}]",
    "three_dimensional": "dims: 3\nlayers: [{name: c, op: conv, kernel: [1, 3, 3], padding: [0, 1, [1, 0]]}]",
    "float_name": "layers: [{name: 1.5, op: relu}]",
    "modern_ops": "align: end\nlayers: [{name: u, op: upsample, factor: 2, mode: Bilinear, align_corners: true}, "
    "{name: r, op: resize, factor: 3/2}, {name: s, op: resize, size_of: u, inputs: [input]}, "
    "{name: m, op: add, inputs: [u, s], align: none}, {name: t, op: transposed_conv, kernel: 4, stride: 2, "
    "padding: [1, [0, 1]], output_padding: 1}, {name: g, op: global_pool}, {name: p, op: pool, ceil_mode: true}]",
}

INVALID = {
    "unknown_top_key": "layers: [{name: c, op: conv}]\nlayer: []",
    "unknown_layer_key": "layers: [{name: c, op: conv, strid: 2}]",
    "unknown_input_key": "input: {name: x, shape: 3}\nlayers: [{name: c, op: conv}]",
    "unknown_op": "layers: [{name: c, op: conv3d}]",
    "boolean_kernel": "layers: [{name: c, op: conv, kernel: true}]",
    "boolean_in_a_list": "layers: [{name: c, op: conv, stride: [1, false]}]",
    "float_stride": "layers: [{name: c, op: conv, stride: 1.5}]",
    "zero_stride": "layers: [{name: c, op: conv, stride: 0}]",
    "quoted_number": "layers: [{name: c, op: conv, kernel: '3'}]",
    "negative_padding": "layers: [{name: c, op: conv, padding: -1}]",
    "padding_word": "layers: [{name: c, op: conv, padding: full}]",
    "padding_triple": "layers: [{name: c, op: conv, padding: [[1, 2, 3], 0]}]",
    "pad_with_same": "layers: [{name: c, op: pad, padding: same}]",
    "relu_with_kernel": "layers: [{name: c, op: relu, kernel: 3}]",
    "pad_with_stride": "layers: [{name: c, op: pad, stride: 2}]",
    "merge_of_one": "layers: [{name: a, op: relu}, {name: s, op: add, inputs: [a]}]",
    "merge_without_inputs": "layers: [{name: a, op: relu}, {name: s, op: add}]",
    "window_with_two_inputs": "layers: [{name: a, op: relu}, {name: c, op: conv, inputs: [input, a]}]",
    "layer_without_op": "layers: [{name: c}]",
    "layer_without_name": "layers: [{op: conv}]",
    "empty_name": "layers: [{name: '', op: conv}]",
    "no_layers": "name: n",
    "empty_layers": "layers: []",
    "zero_dims": "dims: 0\nlayers: [{name: c, op: conv}]",
    "list_document": "- {name: c, op: conv}",
    "boolean_name": "layers: [{name: true, op: relu}]",
    "null_name": "layers: [{name: null, op: relu}]",
    "per_axis_longer_than_dims": "dims: 3\nlayers: [{name: c, op: conv, kernel: [1, 2]}]",
    "per_axis_shorter_than_dims": "layers: [{name: c, op: conv, stride: [1, 2, 3]}]",
    "pair_for_a_3d_net": "dims: 3\nlayers: [{name: c, op: conv, padding: [1, 0]}]",
    "one_dimensional_triple": "dims: 1\nlayers: [{name: c, op: conv, padding: [1, 0, 2]}]",
    "one_dimensional_pair_with_a_word": "dims: 1\nlayers: [{name: c, op: conv, padding: [1, same]}]",
    "input_size_longer_than_dims": "input: {size: [3, 4, 5]}\nlayers: [{name: c, op: relu}]",
    "align_corners_with_nearest": "layers: [{name: u, op: upsample, factor: 2, align_corners: true}]",
    "resize_by_two_means": "layers: [{name: r, op: resize, factor: 2, size: 8}]",
    "upsample_without_factor": "layers: [{name: u, op: upsample}]",
    "unknown_mode": "layers: [{name: u, op: upsample, factor: 2, mode: linear}]",
    "decimal_as_text": "layers: [{name: r, op: resize, factor: '1.5'}]",
    "dims_over_16": "dims: 17\nlayers: [{name: c, op: relu}]",
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID)
def test_accepts_what_the_loader_accepts(validator, text):
    assert is_loadable(text)
    assert validator.is_valid(yaml.safe_load(text))


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID)
def test_rejects_what_the_loader_rejects(validator, text):
    assert not is_loadable(text)
    assert not validator.is_valid(yaml.safe_load(text))


VALUES = {
    "channels": 8,
    "kernel": 3,
    "stride": 2,
    "dilation": 2,
    "padding": 1,
    "ceil_mode": "true",
    "crop": 1,
    "size_of": "a",
    "output_padding": 1,
    "factor": 2,
    "mode": "bilinear",
    "align_corners": "false",
    "size": 8,
    "output_size": 4,
    "align": "end",
}


def test_every_key_has_a_value_to_try():
    assert set(VALUES) == set(LAYER_KEYS) - {"name", "op", "inputs"}


@pytest.mark.parametrize("op", sorted(OPS))
def test_each_op_takes_exactly_its_parameters(validator, op):
    spec = OPS[op]
    inputs = "[a, b]" if spec.merge else "[a]"
    base = {p.name: VALUES[p.name] for p in spec.params if p.required}
    if spec.one_of:
        base[spec.one_of[0]] = VALUES[spec.one_of[0]]
    for key in (k for k in LAYER_KEYS if k not in ("name", "op", "inputs") and k not in base):
        params = ", ".join(f"{k}: {v}" for k, v in {**base, key: VALUES[key]}.items())
        text = (
            "layers:\n  - {name: a, op: relu}\n  - {name: b, op: relu, inputs: [input]}\n"
            f"  - {{name: x, op: {op}, inputs: {inputs}, {params}}}\n"
        )
        takes = (key in COMMON_KEYS or key in {p.name for p in spec.params}) and key not in spec.one_of
        assert (is_loadable(text), validator.is_valid(yaml.safe_load(text))) == (takes, takes), key


def test_cli_prints_the_schema(capsys, tmp_path):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == json_schema()
    assert main(["schema", "-o", str(tmp_path / "rfgraph.schema.json")]) == 0
    assert (tmp_path / "rfgraph.schema.json").read_text() == out


# --- the schema and the loader agree on random documents ------------------------------------------

_VALUES = st.sampled_from(
    [
        0,
        1,
        2,
        3,
        -1,
        True,
        False,
        None,
        1.5,
        "3/2",
        "2/0",
        "0/3",
        "03/2",
        float("inf"),
        "same",
        "Same",
        "same_lower",
        "valid",
        "full",
        "nearest",
        "bilinear",
        "Bicubic",
        "linear",
        "centre",
        "center",
        "end",
        "END",
        "Centre",
        "none",
        "None",
        "a",
        [1, 0],
        [1, 2, 3],
        [[1, 0]],
        [1, "same"],
        [[1, 0], 2],
        [0],
        [2, 2],
        [],
    ]
)


@st.composite
def documents(draw):
    dims = draw(st.sampled_from([None, 1, 2, 3]))
    layers = []
    for i in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(sorted(OPS)))
        layer = {"name": f"l{i}", "op": op}
        if OPS[op].merge:
            layer["inputs"] = ["input", f"l{i - 1}" if i else "input"]
        keys = draw(
            st.lists(
                st.sampled_from([k for k in LAYER_KEYS if k not in ("name", "op", "inputs")]), max_size=3
            )
        )
        for key in keys:
            layer[key] = "input" if key == "size_of" else draw(_VALUES)
        layers.append(layer)
    doc = {"layers": layers}
    if dims is not None:
        doc["dims"] = dims
    if draw(st.booleans()):
        doc["input"] = {"size": draw(st.sampled_from([4, [4, 4], [4, 4, 4], [4]]))}
    if draw(st.booleans()):
        doc["align"] = draw(_VALUES)
    return doc


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_schema_and_loader_agree(validator, doc):
    text = yaml.safe_dump(doc, default_flow_style=None)
    assert validator.is_valid(doc) == is_loadable(text), text
