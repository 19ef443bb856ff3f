"""The JSON Schema (draft 2020-12) of the YAML format, derived from the loader's tables.

Keys come from :mod:`rfgraph.spec` (``TOP_KEYS``, ``INPUT_KEYS``, ``LAYER_KEYS``,
``DEFAULTS``) and ops with their parameters from :data:`rfgraph.ops.OPS`, so a new
op or key shows up here by itself. Only the type of each key is written here; a key
without one makes :func:`json_schema` raise ``KeyError``, which the tests would catch.
Editors use the schema to validate specs as people type; the loader stays the
authority (it also checks names, inputs, per-axis lengths and the graph).
"""

from __future__ import annotations

import json
from typing import Any

from .ops import OPS, Op
from .spec import DEFAULTS, INPUT_KEYS, LAYER_KEYS, TOP_KEYS

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_NAME = {"$ref": "#/$defs/name"}
_POSITIVE = {"$ref": "#/$defs/positive_per_axis"}

# What each key holds, one line per key; the key lists themselves are the loader's.
_TOP: dict[str, dict[str, Any]] = {
    "name": {**_NAME, "description": "the network's name (default: the file name)"},
    "input": {
        "description": 'the input: a name (default "input"), or {name, size}',
        "anyOf": [_NAME, {"$ref": "#/$defs/input"}],
        "default": "input",
    },
    "dims": {"type": "integer", "minimum": 1, "default": 2, "description": "number of spatial axes"},
    "layers": {
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "#/$defs/layer"},
        "description": "the layers, in any order",
    },
}
_INPUT: dict[str, dict[str, Any]] = {
    "name": _NAME,
    "size": {**_POSITIVE, "description": "input size: one for every axis, or one per axis"},
}
_LAYER: dict[str, dict[str, Any]] = {
    "name": {**_NAME, "description": "unique, not the input's name"},
    "op": {
        "enum": sorted(OPS),
        "description": "what the layer computes; each op takes only its own parameters",
    },
    "inputs": {
        "anyOf": [_NAME, {"type": "array", "minItems": 1, "items": _NAME}],
        "description": "names of the inputs (default: the previous layer)",
    },
    "kernel": {**_POSITIVE, "default": DEFAULTS["kernel"], "description": "window size, or one per axis"},
    "stride": {**_POSITIVE, "default": DEFAULTS["stride"], "description": "step, or one per axis"},
    "dilation": {**_POSITIVE, "default": DEFAULTS["dilation"], "description": "tap spacing, or one per axis"},
    # its type depends on the op (see _per_op)
    "padding": {
        "default": 0,
        "description": "int | same | valid, or one per axis: int or [before, after] (pad: ints, <0 crops)",
    },
}
_REQUIRED_LAYER_KEYS = ("name", "op")


def _padding(crops: bool) -> dict[str, Any]:
    """Padding as the loader reads it: one form for every axis, or a list of one per axis."""
    amount: dict[str, Any] = {"type": "integer"} if crops else {"type": "integer", "minimum": 0}
    forms: list[dict[str, Any]] = [amount]
    if not crops:
        forms.append({"type": "string", "pattern": "^([sS][aA][mM][eE]|[vV][aA][lL][iI][dD])$"})
    before_after = {"type": "array", "prefixItems": [amount, amount], "minItems": 2, "items": False}
    per_axis = {"type": "array", "minItems": 1, "items": {"anyOf": [*forms, before_after]}}
    return {"anyOf": [*forms, per_axis]}


def _properties(keys: tuple[str, ...], types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {key: types[key] for key in keys}


def _per_op(op: Op, names: list[str]) -> dict[str, Any]:
    """Ops of one kind take only their declared parameters, and their number of inputs."""
    allowed = [k for k in LAYER_KEYS if k in ("name", "op", "inputs") or k in op.params]
    inputs: dict[str, Any] = {"type": "array", "minItems": op.min_inputs}
    if op.max_inputs is not None:
        inputs = {"anyOf": [_NAME, {**inputs, "maxItems": op.max_inputs}]}
    properties: dict[str, Any] = {"inputs": inputs}
    if "padding" in op.params:
        properties["padding"] = {"$ref": "#/$defs/crop" if op.crops else "#/$defs/padding"}
    then: dict[str, Any] = {"propertyNames": {"enum": allowed}, "properties": properties}
    if op.min_inputs > 1:
        then["required"] = ["inputs"]  # the default input, the previous layer, is only one
    return {"if": {"properties": {"op": {"enum": names}}, "required": ["op"]}, "then": then}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a network file, as a dict.

    Examples
    --------
    >>> schema = json_schema()
    >>> schema["$schema"], schema["required"]
    ('https://json-schema.org/draft/2020-12/schema', ['layers'])
    >>> "conv" in schema["$defs"]["layer"]["properties"]["op"]["enum"]
    True
    """
    kinds: dict[Op, list[str]] = {}
    for name, op in OPS.items():
        kinds.setdefault(op, []).append(name)
    return {
        "$schema": DIALECT,
        "title": "rfgraph network",
        "description": "A convolutional network as a DAG of layers, for rfgraph (exact receptive fields).",
        "type": "object",
        "properties": _properties(TOP_KEYS, _TOP),
        "required": ["layers"],
        "additionalProperties": False,
        "$defs": {
            "name": {"type": ["string", "integer"], "minLength": 1},
            "positive_per_axis": {
                "anyOf": [
                    {"type": "integer", "minimum": 1},
                    {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}},
                ]
            },
            "padding": {
                **_padding(crops=False),
                "description": "int | same | valid, or one per axis, each an int or [before, after]",
            },
            "crop": {**_padding(crops=True), "description": "as padding; negative values crop"},
            "input": {
                "type": "object",
                "properties": _properties(INPUT_KEYS, _INPUT),
                "additionalProperties": False,
            },
            "layer": {
                "type": "object",
                "properties": _properties(LAYER_KEYS, _LAYER),
                "required": list(_REQUIRED_LAYER_KEYS),
                "additionalProperties": False,
                "allOf": [_per_op(op, sorted(names)) for op, names in kinds.items()],
            },
        },
    }


def to_json() -> str:
    """The schema as JSON text, byte-identical across runs."""
    return json.dumps(json_schema(), indent=2) + "\n"


__all__ = ["DIALECT", "json_schema", "to_json"]
