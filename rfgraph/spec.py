"""YAML text or file -> validated Network.

The format, one line per key (defaults are applied after validation)::

    name: tiny            # optional
    input: images         # or {name: images, size: 224 | [H, W]}; default "input"
    dims: 2               # number of spatial axes; default 2
    layers:               # in any order
      - {name: c1, op: conv, kernel: 3, stride: 2, dilation: 1, padding: same, inputs: [images]}

The YAML is composed, never constructed, so no tag can run code, and every
value keeps its line for error messages.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import RFGraphError
from .network import Layer, Network, make_network
from .ops import OPS, Padding

TOP_KEYS = ("name", "input", "dims", "layers")
INPUT_KEYS = ("name", "size")
LAYER_KEYS = ("name", "op", "inputs", "kernel", "stride", "dilation", "padding")
DEFAULTS = {"kernel": 1, "stride": 1, "dilation": 1}  # padding: 0

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.SafeLoader("")  # only ever given scalar nodes of the tags below
_TAG = "tag:yaml.org,2002:"
_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}
# plain words YAML 1.1 reads as dates, '=' or '<<': to us they are just text
_AS_TEXT = {_TAG + t for t in ("timestamp", "value", "merge")}
_MAX_NESTING = 64
MAX_DIMS = 16
MAX_BYTES = 256 * 2**20  # refuse /dev/zero and friends before reading them whole
# An alias may stand for a whole subtree, so a small file can expand exponentially
# ("billion laughs"): a document may visit at most this many nodes per character of text.
_EXPANSION = 20
_T = TypeVar("_T")


def load(path: str | os.PathLike[str]) -> Network:
    """Read and validate a network file.

    Raises
    ------
    RFGraphError
        The file is missing, not UTF-8, not YAML, or not a valid network.
    """
    name = str(path)
    try:
        with Path(path).open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        msg = "no such file"
        raise RFGraphError(msg, path=name) from None
    except IsADirectoryError:
        msg = "is a directory, not a network file"
        raise RFGraphError(msg, path=name) from None
    except OSError as e:
        msg = f"cannot read: {e.strerror}"
        raise RFGraphError(msg, path=name) from None
    if len(data) > MAX_BYTES:
        msg = f"larger than {MAX_BYTES // 2**20} MiB: not a network file"
        raise RFGraphError(msg, path=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        msg = f"not UTF-8 text (byte 0x{data[e.start]:02x})"
        raise RFGraphError(msg, path=name, line=line) from None
    return loads(text, path=name)


def loads(text: str, path: str | None = None) -> Network:
    """Validate a network given as YAML text.

    Examples
    --------
    >>> net = loads('''
    ... layers:
    ...   - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
    ... ''')
    >>> list(net.nodes), net.layers["c2"].inputs
    (['input', 'c1', 'c2'], ('c1',))
    """
    try:
        return _Reader(path, budget=100_000 + _EXPANSION * len(text)).network(_compose(text))
    except RFGraphError as e:
        raise e.located(path) from None


def _compose(text: str) -> Node:
    try:
        _check_nesting(text)
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        raise _syntax_error(e, text) from None
    except yaml.reader.ReaderError as e:
        # libyaml gives the character as an int, PyYAML as a str
        code = e.character if isinstance(e.character, int) else ord(e.character)
        msg = f"not YAML text: {e.reason} #x{code:04x}"
        raise RFGraphError(msg, line=text.count("\n", 0, e.position) + 1) from None
    except yaml.YAMLError as e:
        msg = f"YAML error: {e}"
        raise RFGraphError(msg, line=1) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == _TAG + "null"):
        msg = "empty document: expected a mapping with a 'layers' list"
        raise RFGraphError(msg, line=1)
    return root


def _syntax_error(e: yaml.MarkedYAMLError, text: str) -> RFGraphError:
    mark = e.problem_mark or e.context_mark
    problem = e.problem or e.context or "invalid YAML"
    if e.context and problem.startswith("but "):  # "expected a single document..., but found another"
        problem = f"{e.context}, {problem}"
    if mark is None:
        return RFGraphError(f"YAML syntax error: {problem}")
    lines = text.splitlines()
    # at the end of the file the mark can stand on the line after the last one
    line = min(mark.line + 1, max(len(lines), 1))
    if mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
        problem += ": a tab (YAML indents with spaces only)"
    msg = f"YAML syntax error: {problem} (column {mark.column + 1})"
    return RFGraphError(msg, line=line)


_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_nesting(text: str) -> None:
    # The composer recurses once per level of nesting, and libyaml's overflows the C stack
    # (a crash, not an exception) on `- - - - ...`; the event stream needs no recursion.
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > _MAX_NESTING:
                msg = f"lists or mappings nested deeper than {_MAX_NESTING} levels"
                mark = event.start_mark
                raise RFGraphError(msg, line=None if mark is None else mark.line + 1)
        elif isinstance(event, _CLOSE):
            depth -= 1


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return repr(node.value)


def _did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


class _Reader:
    """Turns composed YAML nodes into a Network, one schema level at a time."""

    def __init__(self, path: str | None, budget: int) -> None:
        self.path = path
        self.budget = budget

    def fail(self, node: Node, message: str, name: str | None = None) -> RFGraphError:
        return RFGraphError(message, path=self.path, line=_line(node), node=name)

    def visit(self, node: Node) -> None:
        # Aliases can make a small file expand exponentially: bound the work.
        self.budget -= 1
        if self.budget < 0:
            raise self.fail(node, "document expands too much (aliases nested in aliases?)")
        if node.tag in _AS_TEXT and isinstance(node, ScalarNode) and not node.style:
            node.tag = _TAG + "str"
        if node.tag not in _TAGS:
            tag = node.tag.replace(_TAG, "!!")
            raise self.fail(node, f"YAML tags are not allowed here (found {tag})")

    def mapping(self, node: Node, what: str, keys: tuple[str, ...], depth: int = 0) -> dict[str, Node]:
        self.visit(node)
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping, got {_kind(node)}")
        fields: dict[str, Node] = {}
        merged: dict[str, Node] = {}
        for key, value in node.value:
            if key.tag == _TAG + "merge":
                if depth > 8:
                    raise self.fail(key, "merge keys ('<<') nested too deeply")
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in reversed(sources):
                    merged.update(self.mapping(source, f"{what} ('<<')", keys, depth + 1))
                continue
            self.visit(key)
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"{what}: keys must be names, got {_kind(key)}")
            if key.value in fields:
                raise self.fail(key, f"{what}: duplicate key {key.value!r}")
            if key.value not in keys:
                hint = _did_you_mean(key.value, keys)
                msg = f"{what}: unknown key {key.value!r} ({hint}expected one of: {', '.join(keys)})"
                raise self.fail(key, msg)
            fields[key.value] = value
        return {**merged, **fields}

    def scalar(self, node: Node, what: str) -> object:
        self.visit(node)
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be a single value, got {_kind(node)}")
        try:
            return _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
        except ValueError:
            raise self.fail(node, f"{what}: cannot read {node.value[:40]!r}") from None

    def name(self, node: Node, what: str) -> str:
        self.scalar(node, what)
        if not node.value:
            raise self.fail(node, f"{what} must not be empty")
        return str(node.value)

    def integer(self, node: Node, what: str, minimum: int | None = None) -> int:
        value = self.scalar(node, what)
        if isinstance(value, bool):
            raise self.fail(node, f"{what} must be an integer, got the boolean {node.value!r}")
        if not isinstance(value, int):
            raise self.fail(node, f"{what} must be an integer, got {node.value!r}")
        if minimum is not None and value < minimum:
            raise self.fail(node, f"{what} must be at least {minimum}, got {value}")
        return value

    def per_axis(self, node: Node, what: str, dims: int, one: Callable[[Node, str], _T]) -> tuple[_T, ...]:
        self.visit(node)
        if not isinstance(node, SequenceNode):
            return (one(node, what),) * dims
        if len(node.value) != dims:
            msg = f"{what}: expected one value or {dims} (one per axis), got {len(node.value)}"
            raise self.fail(node, msg)
        return tuple(one(item, f"{what}[{i}]") for i, item in enumerate(node.value))

    def network(self, root: Node) -> Network:
        top = self.mapping(root, "the document", TOP_KEYS)
        if "layers" not in top:
            raise self.fail(root, "missing key 'layers' (the list of layers)")
        dims = self.integer(top["dims"], "dims", minimum=1) if "dims" in top else 2
        if dims > MAX_DIMS:
            raise self.fail(top["dims"], f"dims must be at most {MAX_DIMS}, got {dims}")
        name = self.name(top["name"], "name") if "name" in top else _stem(self.path)
        input_name, input_size, input_line = "input", None, None
        if "input" in top:
            input_name, input_size = self.input(top["input"], dims)
            input_line = _line(top["input"])
        items = top["layers"]
        self.visit(items)
        if not isinstance(items, SequenceNode) or not items.value:
            got = "an empty list" if isinstance(items, SequenceNode) else _kind(items)
            raise self.fail(items, f"'layers' must be a non-empty list, got {got}")
        layers, previous = [], input_name
        for item in items.value:
            layer = self.layer(item, dims, previous)
            layers.append(layer)
            previous = layer.name
        return make_network(
            layers,
            name=name,
            input=input_name,
            dims=dims,
            input_size=input_size,
            path=self.path,
            input_line=input_line,
        )

    def input(self, node: Node, dims: int) -> tuple[str, tuple[int, ...] | None]:
        if not isinstance(node, MappingNode):
            return self.name(node, "input"), None
        fields = self.mapping(node, "input", INPUT_KEYS)
        name = self.name(fields["name"], "input name") if "name" in fields else "input"
        if "size" not in fields:
            return name, None
        size = self.per_axis(fields["size"], "input size", dims, lambda n, w: self.integer(n, w, 1))
        return name, size

    def layer(self, node: Node, dims: int, previous: str) -> Layer:
        fields = self.mapping(node, "layer", LAYER_KEYS)
        if "name" not in fields:
            raise self.fail(node, "layer: missing key 'name'")
        name = self.name(fields["name"], "name")
        try:
            return self._layer(node, fields, name, dims, previous)
        except RFGraphError as e:
            e.node = e.node or name
            raise

    def _layer(self, node: Node, fields: dict[str, Node], name: str, dims: int, previous: str) -> Layer:
        if "op" not in fields:
            raise self.fail(node, "missing key 'op'")
        op = self.name(fields["op"], "op")
        if op not in OPS:
            known = ", ".join(sorted(OPS))
            msg = f"unknown op {op!r} ({_did_you_mean(op, list(OPS))}known ops: {known})"
            raise self.fail(fields["op"], msg)
        spec = OPS[op]
        for key, value in fields.items():
            if key not in ("name", "op", "inputs") and key not in spec.params:
                takes = ", ".join(spec.params) or "no parameters"
                raise self.fail(value, f"op {op!r} does not take {key!r} (it takes: {takes})")
        inputs: tuple[str, ...] = (previous,)
        if "inputs" in fields:
            value = fields["inputs"]
            self.visit(value)
            items = value.value if isinstance(value, SequenceNode) else [value]
            inputs = tuple(self.name(item, "input name") for item in items)

        def positive(key: str) -> tuple[int, ...]:
            if key not in fields:
                return (DEFAULTS[key],) * dims
            return self.per_axis(fields[key], key, dims, lambda n, w: self.integer(n, w, 1))

        padding: tuple[Padding, ...] = ((0, 0),) * dims
        if "padding" in fields:
            padding = self.per_axis(fields["padding"], "padding", dims, self._padding(spec.crops))
        return Layer(
            name,
            op,
            inputs,
            positive("kernel"),
            positive("stride"),
            positive("dilation"),
            padding,
            line=_line(node),
        )

    def _padding(self, crops: bool) -> Callable[[Node, str], Padding]:
        minimum = None if crops else 0

        def one(node: Node, what: str) -> Padding:
            self.visit(node)
            if isinstance(node, SequenceNode):
                if len(node.value) != 2:
                    msg = f"{what}: expected [before, after], got {len(node.value)} values"
                    raise self.fail(node, msg)
                before, after = (self.integer(n, what, minimum) for n in node.value)
                return (before, after)
            value = self.scalar(node, what)
            if isinstance(value, str) and value.lower() in ("same", "valid") and not crops:
                return value.lower()  # type: ignore[return-value]
            if not isinstance(value, int) or isinstance(value, bool):
                forms = (
                    "an integer or [before, after]" if crops else "same, valid, an integer or [before, after]"
                )
                raise self.fail(node, f"{what} must be {forms}, got {node.value!r}")
            amount = self.integer(node, what, minimum)
            return (amount, amount)

        return one


def _stem(path: str | None) -> str:
    return Path(path).stem if path else "network"
