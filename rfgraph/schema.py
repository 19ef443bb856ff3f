"""The JSON Schema (draft 2020-12) of the YAML format, made from the loader's own tables.

Keys come from :mod:`rfgraph.spec` (``TOP_KEYS``, ``INPUT_KEYS``, ``COMMON_KEYS``),
each op's parameters from :data:`rfgraph.ops.OPS`, and each value's schema from
:data:`rfgraph.spec.TYPES`, the table the loader reads values with, so the two
cannot drift. Per-axis lists are checked against ``dims``. What the schema
cannot see is left to the loader: names and inputs that must exist, the graph,
and ``3.0`` (JSON Schema counts it as an integer; the loader does not).
"""

from __future__ import annotations

import json
from typing import Any

from .ops import OPS, Op, Param
from .spec import CHANNELS, COMMON_KEYS, INPUT_KEYS, LAYER_KEYS, MAX_DIMS, TOP_KEYS, TYPES, any_case

DIALECT = "https://json-schema.org/draft/2020-12/schema"

_NAME = {"$ref": "#/$defs/name"}


def _value(param: Param) -> dict[str, Any]:
    """One parameter: its type's value, or for a per-axis one, that or a list of them."""
    one = {"$ref": f"#/$defs/{param.type}"}
    schema: dict[str, Any] = one
    if param.per_axis:
        per_axis = {"type": "array", "minItems": 1, "maxItems": MAX_DIMS, "items": one}
        schema = {"anyOf": [one, per_axis]}
    return {**schema, "description": param.doc} if param.doc else schema


def _params() -> dict[str, Param]:
    """One Param per key over all ops (same name, same kind of value: only the exact type differs)."""
    found: dict[str, Param] = {}
    for op in OPS.values():
        for p in op.params:
            found.setdefault(p.name, p)
    return found


def _per_op(op: Op, names: list[str]) -> dict[str, Any]:
    """An op takes only its parameters (with their exact types) and its number of inputs."""
    allowed = [*COMMON_KEYS, *(p.name for p in op.params)]
    inputs: dict[str, Any] = {"type": "array", "minItems": op.min_inputs}
    if op.max_inputs is not None:
        inputs = {"anyOf": [_NAME, {**inputs, "maxItems": op.max_inputs}]}
    properties: dict[str, Any] = {"inputs": inputs, **{p.name: _value(p) for p in op.params}}
    then: dict[str, Any] = {"propertyNames": {"enum": allowed}, "properties": properties}
    required = [p.name for p in op.params if p.required]
    if op.min_inputs > 1:
        required.insert(0, "inputs")  # the default input, the previous layer, is only one
    if required:
        then["required"] = required
    if op.one_of:
        then["oneOf"] = [{"required": [k]} for k in op.one_of]
    rules = [
        {
            "if": {"properties": {p.name: {"const": True}}, "required": [p.name]},
            "then": {
                "properties": {p.requires[0]: {"type": "string", "pattern": any_case(p.requires[1])}},
                "required": [p.requires[0]],
            },
        }
        for p in op.params
        if p.requires is not None
    ]
    if rules:
        then["allOf"] = rules
    return {"if": {"properties": {"op": {"enum": names}}, "required": ["op"]}, "then": then}


def _axes(dims: int, pair: bool) -> dict[str, Any]:
    """A per-axis value at ``dims`` axes: one value or a list of ``dims`` (1-D: or [before, after])."""
    forms: list[dict[str, Any]] = [{"not": {"type": "array"}}]
    if pair and dims >= 2:
        forms.append({"type": "array", "minItems": dims, "maxItems": dims})
    elif pair:  # a list of two numbers is [before, after], a list of one is per axis
        number = {"type": "integer"}
        forms += [
            {"type": "array", "minItems": 1, "maxItems": 1},
            {"type": "array", "prefixItems": [number, number], "minItems": 2, "maxItems": 2},
        ]
    else:
        forms.append({"type": "array", "minItems": dims, "maxItems": dims})
    return {"anyOf": forms}


def _at_dims(dims: int) -> dict[str, Any]:
    """Every per-axis list of a document with ``dims`` axes has one entry per axis."""
    keys = {name: _axes(dims, TYPES[p.type].pair) for name, p in _params().items() if p.per_axis}
    size = {"anyOf": [{"not": {"type": "object"}}, {"properties": {"size": _axes(dims, False)}}]}
    return {"properties": {"layers": {"items": {"properties": keys}}, "input": size}}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a network file, as a dict.

    Examples
    --------
    >>> schema = json_schema()
    >>> schema["$schema"], schema["required"]
    ('https://json-schema.org/draft/2020-12/schema', ['layers'])
    >>> "upsample" in schema["$defs"]["layer"]["properties"]["op"]["enum"]
    True
    """
    kinds: dict[int, tuple[Op, list[str]]] = {}
    for name, op in OPS.items():
        kinds.setdefault(id(op), (op, []))[1].append(name)
    params = _params()
    layer_properties: dict[str, Any] = {
        "name": {**_NAME, "description": "unique, not the input's name"},
        "op": {
            "enum": sorted(OPS),
            "description": "what the layer computes; each op takes only its own parameters",
        },
        "inputs": {
            "anyOf": [_NAME, {"type": "array", "minItems": 1, "items": _NAME}],
            "description": "names of the inputs (default: the previous layer)",
        },
        "channels": _value(CHANNELS),
        # a key's exact type depends on its op (pad's padding may crop): the per-op rules give it
        **{name: {"description": p.doc} for name, p in params.items()},
    }
    top = {
        "name": {**_NAME, "description": "the network's name (default: the file name)"},
        "input": {
            "description": 'the input: a name (default "input"), or {name, size}',
            "anyOf": [_NAME, {"$ref": "#/$defs/input"}],
            "default": "input",
        },
        "dims": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DIMS,
            "default": 2,
            "description": "spatial axes",
        },
        "align": {"$ref": "#/$defs/align", "description": "how merges must align (default centre)"},
        "layers": {
            "type": "array",
            "minItems": 1,
            "items": {"$ref": "#/$defs/layer"},
            "description": "the layers, in any order",
        },
    }
    by_dims = [
        {"if": {"properties": {"dims": {"const": d}}, "required": ["dims"]}, "then": _at_dims(d)}
        for d in range(1, MAX_DIMS + 1)
    ]
    by_dims.append({"if": {"not": {"required": ["dims"]}}, "then": _at_dims(2)})
    return {
        "$schema": DIALECT,
        "title": "rfgraph network",
        "description": "A convolutional network as a DAG of layers, for rfgraph (exact receptive fields).",
        "type": "object",
        "properties": {key: top[key] for key in TOP_KEYS},
        "required": ["layers"],
        "additionalProperties": False,
        "allOf": by_dims,
        "$defs": {
            "name": {"type": ["string", "integer", "number"], "minLength": 1},
            **{kind: t.schema for kind, t in TYPES.items()},
            "input": {
                "type": "object",
                "properties": {
                    key: {
                        "name": _NAME,
                        "size": _value(Param("size", "positive", doc="one for every axis, or one per axis")),
                    }[key]
                    for key in INPUT_KEYS
                },
                "additionalProperties": False,
            },
            "layer": {
                "type": "object",
                "properties": {key: layer_properties[key] for key in LAYER_KEYS},
                "required": ["name", "op"],
                "additionalProperties": False,
                "allOf": [_per_op(op, sorted(names)) for op, names in kinds.values()],
            },
        },
    }


def to_json() -> str:
    """The schema as JSON text, byte-identical across runs."""
    return json.dumps(json_schema(), indent=2) + "\n"


__all__ = ["DIALECT", "json_schema", "to_json"]
