"""Plain layer dicts -> YAML text, one flow mapping per layer, -> Network.

Both importers describe a network as a :class:`NetworkSpec` of plain dicts in the
YAML format, then go through :func:`to_yaml`; :func:`to_network` loads that very
text, so ``rfgraph import -o`` writes exactly what the API returns.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..network import Network
from ..spec import loads

#: Values a key takes when it is left out: the writer never writes them.
DEFAULTS: dict[str, Any] = {
    "kernel": 1,
    "stride": 1,
    "dilation": 1,
    "padding": 0,
    "output_padding": 0,
    "ceil_mode": False,
    "mode": "nearest",
    "align_corners": False,
}

# A name YAML reads back as the same string without quotes, also inside [..] and {..}.
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_.\-/]*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null"}  # what YAML 1.1 reads as not a string


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A network as the importers build it: the YAML document, still as data.

    Each layer is a dict ``{"name", "op", <params>, "channels", "inputs"}`` whose
    values are ints, bools, strings, Fractions, or one value per axis as a list
    (padding: an int or ``[before, after]`` per axis).
    """

    name: str
    input: str
    dims: int
    layers: list[dict[str, Any]]
    input_size: tuple[int, ...] | None = None
    comment: str | None = None


def to_yaml(spec: NetworkSpec) -> str:
    """The YAML text of ``spec``: a header, then one flow mapping per layer.

    Examples
    --------
    >>> spec = NetworkSpec("tiny", "x", 2, [
    ...     {"name": "conv1", "op": "conv", "kernel": [3, 3], "padding": [(1, 1), (1, 1)],
    ...      "channels": 8, "inputs": ["x"]},
    ...     {"name": "up", "op": "resize", "factor": [Fraction(3, 2)] * 2, "channels": 8,
    ...      "inputs": ["conv1"]},
    ... ], input_size=(32, 32))
    >>> print(to_yaml(spec), end="")
    name: tiny
    input: {name: x, size: 32}
    layers:
      - {name: conv1, op: conv, kernel: 3, padding: 1, channels: 8, inputs: [x]}
      - {name: up, op: resize, factor: 3/2, channels: 8, inputs: [conv1]}
    """
    lines = [f"# {line}".rstrip() for line in (spec.comment or "").splitlines()]
    lines.append(f"name: {_scalar(spec.name)}")
    if spec.input_size is None:
        lines.append(f"input: {_scalar(spec.input)}")
    else:
        lines.append(f"input: {{name: {_scalar(spec.input)}, size: {_value(_simplify(spec.input_size))}}}")
    if spec.dims != 2:
        lines.append(f"dims: {spec.dims}")
    lines.append("layers:")
    lines.extend(f"  - {_layer(layer)}" for layer in spec.layers)
    return "\n".join(lines) + "\n"


def to_network(spec: NetworkSpec) -> Network:
    """Load the text :func:`to_yaml` writes for ``spec``."""
    return loads(to_yaml(spec))


def _layer(layer: dict[str, Any]) -> str:
    items = []
    for key, value in layer.items():
        simple = value if key == "inputs" else _simplify(value)
        if key in DEFAULTS and simple == DEFAULTS[key]:
            continue
        items.append(f"{key}: {_value(simple)}")
    return "{" + ", ".join(items) + "}"


def _simplify(value: Any) -> Any:
    """One value for all axes when they agree; a ``[p, p]`` padding pair as ``p``.

    An uneven pair stays a list per axis even when every axis has it: a bare
    ``[before, after]`` would read as one value per axis.
    """
    if not isinstance(value, list | tuple):
        return value
    axes = [_pair(v) for v in value]
    if all(a == axes[0] for a in axes) and not isinstance(axes[0], list):
        return axes[0]
    return axes


def _pair(value: Any) -> Any:
    if isinstance(value, list | tuple):
        before, after = value
        return before if before == after else [before, after]
    return value


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return _scalar(value)
    msg = f"cannot write {value!r} ({type(value).__name__}) in a layer"
    raise TypeError(msg)


def _scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain where that reads back the same, else double-quoted."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS and not _is_number(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
