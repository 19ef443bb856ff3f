"""`rfgraph schema`: the JSON Schema of the YAML format agrees with the loader and accepts the model zoo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from rfgraph import RFGraphError, loads
from rfgraph.cli import main
from rfgraph.ops import OPS
from rfgraph.schema import json_schema
from rfgraph.spec import INPUT_KEYS, LAYER_KEYS, TOP_KEYS

jsonschema = pytest.importorskip("jsonschema")

MODELS = sorted((Path(__file__).resolve().parent.parent / "models").glob("*.yaml"))


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
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID)
def test_accepts_what_the_loader_accepts(validator, text):
    assert is_loadable(text)
    assert validator.is_valid(yaml.safe_load(text))


@pytest.mark.parametrize("text", INVALID.values(), ids=INVALID)
def test_rejects_what_the_loader_rejects(validator, text):
    assert not is_loadable(text)
    assert not validator.is_valid(yaml.safe_load(text))


VALUES = {"kernel": 3, "stride": 2, "dilation": 2, "padding": 1}


@pytest.mark.parametrize("op", sorted(OPS))
def test_each_op_takes_exactly_its_parameters(validator, op):
    inputs = "[a, b]" if OPS[op].kind == "merge" else "[a]"
    for key in (k for k in LAYER_KEYS if k not in ("name", "op", "inputs")):
        text = (
            "layers:\n  - {name: a, op: relu}\n  - {name: b, op: relu, inputs: [input]}\n"
            f"  - {{name: x, op: {op}, inputs: {inputs}, {key}: {VALUES[key]}}}\n"
        )
        takes = key in OPS[op].params
        assert (is_loadable(text), validator.is_valid(yaml.safe_load(text))) == (takes, takes), key


def test_cli_prints_the_schema(capsys, tmp_path):
    assert main(["schema"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out) == json_schema()
    assert main(["schema", "-o", str(tmp_path / "rfgraph.schema.json")]) == 0
    assert (tmp_path / "rfgraph.schema.json").read_text() == out
