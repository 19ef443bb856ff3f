"""YAML text or file -> validated Network.

The format, one line per key (defaults are applied after validation)::

    name: tiny            # optional
    input: images         # or {name: images, size: 224 | [H, W]}; default "input"
    dims: 2               # number of spatial axes; default 2
    align: centre         # how merges must align: centre | start | end | none; default centre
    layers:               # in any order
      - {name: c1, op: conv, kernel: 3, stride: 2, padding: same, inputs: [images]}

Each op's parameters come from its entry in :data:`rfgraph.ops.OPS`; how each
kind of value is read, and how the JSON Schema describes it, is :data:`TYPES`.
The YAML is composed, never constructed, so no tag can run code, and every
value keeps its line for error messages.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import RFGraphError
from .network import ALIGN_RULES, Layer, Network, make_network
from .ops import OPS, RESHAPING, Op, Param

TOP_KEYS = ("name", "input", "dims", "align", "layers")
INPUT_KEYS = ("name", "size")
#: Keys every layer may have, before its op's own parameters.
COMMON_KEYS = ("name", "op", "inputs", "channels")
#: Every key a layer may have, in the order the schema lists them.
LAYER_KEYS = tuple(dict.fromkeys([*COMMON_KEYS, *(p.name for op in OPS.values() for p in op.params)]))
MAX_DIMS = 16

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SCALARS = yaml.SafeLoader("")  # only ever given scalar nodes of the tags below
_TAG = "tag:yaml.org,2002:"
# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .ops import ValueType

    #: PyYAML's events (and their marks), typed loosely: libyaml's and PyYAML's classes differ.
    Event = Any
_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}
# plain words YAML 1.1 reads as dates, '=' or '<<': to us they are just text
_AS_TEXT = {_TAG + t for t in ("timestamp", "value", "merge")}
_MAX_NESTING = 64
MAX_BYTES = 256 * 2**20  # refuse /dev/zero and friends before reading them whole
# An alias may stand for a whole subtree, so a small file can expand exponentially
# ("billion laughs"): a document may visit at most this many nodes per character of text.
_EXPANSION = 20


def load(path: str | os.PathLike[str]) -> Network:
    """Read and validate a network file.

    Raises
    ------
    RFGraphError
        The file is missing, not UTF-8, not YAML, or not a valid network.
    """
    name = str(path)
    try:
        # open() and os.path, not pathlib: `rfgraph check` starts faster without importing it
        with open(path, "rb") as f:  # noqa: PTH123
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
    >>> list(net.nodes), net.layers["c2"].inputs, net.layers["c2"].params["kernel"]
    (['input', 'c1', 'c2'], ('c1',), (3, 3))
    """
    budget = 100_000 + _EXPANSION * len(text)
    with paused_collector():
        try:
            try:
                return _Reader(path, budget).network(_Document(text))
            except _LayersFirst:  # dims or the input come after the layers: read again, all at once
                return _Reader(path, budget).network(_Document(text, stream=False))
        except RFGraphError as e:
            raise e.located(path) from None
        except yaml.MarkedYAMLError as e:
            raise _syntax_error(e, text).located(path) from None
        except yaml.reader.ReaderError as e:
            # libyaml gives the character as an int, PyYAML as a str
            code = e.character if isinstance(e.character, int) else ord(e.character)
            msg = f"not YAML text: {e.reason} #x{code:04x}"
            raise RFGraphError(msg, path=path, line=text.count("\n", 0, e.position) + 1) from None
        except yaml.YAMLError as e:
            msg = f"YAML error: {e}"
            raise RFGraphError(msg, path=path, line=1) from None


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic garbage collector: loading and the pass make millions of objects and no
    cycles, and full collections would walk them again and again (the time would grow faster
    than the file)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _LayersFirst(Exception):  # noqa: N818 (a signal, not an error)
    """The layers were read before a dims or input key that changes how to read them."""


class _Document:
    """The YAML document composed from libyaml's events in one pass, the layers one at a time.

    Composing, never constructing: no tag can run code, and every node keeps its line. With
    ``stream``, the ``layers`` list is composed item by item as the reader asks for it, so the
    whole document tree is never held. Nesting is counted on the way: the composer recurses once
    per level, and libyaml's own composer overflows the C stack on ``- - - - ...``.
    """

    def __init__(self, text: str, stream: bool = True) -> None:
        self.events = _Loader(text)
        self.stream = stream
        self.anchors: dict[str, Node] = {}
        self.depth = 0
        self.resolved_first = frozenset(self.events.yaml_implicit_resolvers) | {""}

    def entries(self) -> Iterator[tuple[Node, Node | Iterator[Node | Flat]]]:
        """The top mapping's (key, value) pairs; ``layers`` as an iterator of its items.

        Raises RFGraphError for an empty document; the root must be a mapping (else one pair,
        ``(None, root)``).
        """
        events = self.events
        try:
            events.get_event()  # StreamStart
            if events.check_event(yaml.StreamEndEvent):
                raise _empty()
            events.get_event()  # DocumentStart
            if not events.check_event(yaml.MappingStartEvent) or events.peek_event().anchor is not None:
                root = self.compose()
                if isinstance(root, ScalarNode) and root.tag == _TAG + "null":
                    raise _empty()
                yield ScalarNode(_TAG + "null", "", root.start_mark, root.end_mark), root
            else:
                start = events.get_event()
                self.opened(start)
                while not events.check_event(yaml.MappingEndEvent):
                    key = self.compose()
                    if self.stream and _is_layers(key) and self.streamable():
                        yield key, self.items()
                    else:
                        yield key, self.compose()
                events.get_event()
                self.depth -= 1
            events.get_event()  # DocumentEnd
            if not events.check_event(yaml.StreamEndEvent):
                extra: Event = events.get_event()
                context, problem = "expected a single document in the stream", "but found another document"
                raise yaml.composer.ComposerError(context, None, problem, extra.start_mark)
        finally:
            events.dispose()

    def streamable(self) -> bool:
        event = self.events.peek_event()
        return isinstance(event, yaml.SequenceStartEvent) and event.anchor is None and event.tag is None

    def items(self) -> Iterator[Node | Flat]:
        start = self.events.get_event()
        self.opened(start)
        events = self.events
        while not events.check_event(yaml.SequenceEndEvent):
            event = events.peek_event()
            if isinstance(event, yaml.MappingStartEvent) and event.anchor is None and event.tag is None:
                yield self.flat()
            else:
                yield self.compose()
        events.get_event()
        self.depth -= 1

    def flat(self) -> Node | Flat:
        """The next layer, read straight off the events when it is a mapping of plain keys to scalars
        and lists of scalars (as ``rfgraph import`` writes them); else composed as a node.

        On the way it collects the layer's signature (every key and value but the name and the
        inputs), so that layers alike are validated once.
        """
        events = self.events
        get, check = events.get_event, events.check_event
        start = get()
        taken: list[Event] = [start]
        signature: list[Any] = []
        name = inputs = None
        repeated = False
        while not check(yaml.MappingEndEvent):
            key = get()
            value = get()
            taken += (key, value)
            if (
                type(key) is not yaml.ScalarEvent
                or key.anchor is not None
                or key.tag is not None
                or value.anchor is not None
                or value.tag is not None
            ):
                return self.composed(taken)
            if type(value) is yaml.SequenceStartEvent:
                value = self.flat_list(value, taken, 1)
                if value is None:
                    return self.composed(taken)
            elif type(value) is not yaml.ScalarEvent:
                return self.composed(taken)
            word = key.value
            if word == "name":
                repeated = repeated or name is not None
                name = value
            elif word == "inputs":
                repeated = repeated or inputs is not None
                inputs = value
            else:
                signature += (
                    (word, value.value, value.implicit[0])
                    if type(value) is yaml.ScalarEvent
                    else (
                        word,
                        value.signature,
                    )
                )
        taken.append(get())
        return Flat(taken, tuple(signature), name, inputs, repeated)

    def flat_list(self, start: Event, taken: list[Event], depth: int) -> _Seq | None:
        """A list of scalar events, or of such lists (two levels deep at most); None for anything else."""
        get, check = self.events.get_event, self.events.check_event
        items: list[Any] = []
        while not check(yaml.SequenceEndEvent):
            event = get()
            taken.append(event)
            if event.anchor is not None or event.tag is not None:
                return None
            if type(event) is yaml.ScalarEvent:
                items.append(event)
            elif type(event) is yaml.SequenceStartEvent and depth == 1:
                inner = self.flat_list(event, taken, 2)
                if inner is None:
                    return None
                items.append(inner)
            else:
                return None
        taken.append(get())
        return _Seq(items)

    def composed(self, taken: list[Event]) -> Node:
        """Compose the mapping the first event taken opened, from the events taken and the rest."""
        events = self.events
        self.events = _Replay(taken, events)
        try:
            return self.compose()
        finally:
            self.events = events

    def opened(self, event: Event) -> None:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            msg = f"lists or mappings nested deeper than {_MAX_NESTING} levels"
            raise RFGraphError(msg, line=event.start_mark.line + 1)

    def compose(self) -> Node:
        """The next node, composed as PyYAML's composer does."""
        events = self.events
        event: Event = events.get_event()
        mark: Any = event.start_mark  # libyaml's marks, which the node classes take too
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}", mark)
            return self.anchors[event.anchor]
        node: Node
        if isinstance(event, yaml.ScalarEvent):
            tag = event.tag
            if tag is None or tag == "!":
                tag = events.resolve(ScalarNode, event.value, event.implicit)
            end: Any = event.end_mark
            node = ScalarNode(tag, event.value, mark, end, style=event.style)
        elif isinstance(event, yaml.SequenceStartEvent):
            self.opened(event)
            tag = (
                event.tag
                if event.tag not in (None, "!")
                else events.resolve(SequenceNode, None, event.implicit)
            )
            node = SequenceNode(tag, [], mark, None, flow_style=event.flow_style)
            if event.anchor is not None:
                self.anchors[event.anchor] = node
            while not events.check_event(yaml.SequenceEndEvent):
                node.value.append(self.compose())
            node.end_mark = events.get_event().end_mark
            self.depth -= 1
            return node
        else:
            self.opened(event)
            return self.compose_mapping(event)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node

    def compose_mapping(self, event: Event) -> Node:
        """The mapping that ``event`` opened (its depth already counted)."""
        events = self.events
        tag = event.tag if event.tag not in (None, "!") else events.resolve(MappingNode, None, event.implicit)
        node = MappingNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        while not events.check_event(yaml.MappingEndEvent):
            key = self.compose()
            node.value.append((key, self.compose()))
        node.end_mark = events.get_event().end_mark
        self.depth -= 1
        return node


class _Seq(tuple):  # type: ignore[type-arg]
    """A flat list's scalar events (or lists of them)."""

    @property
    def signature(self) -> tuple[Any, ...]:
        """What its items say: (text, plain or not), or such tuples for inner lists."""
        return tuple(
            (item.value, item.implicit[0]) if type(item) is yaml.ScalarEvent else item.signature
            for item in self
        )


class _Replay:
    """Events taken already, then the rest of the stream."""

    def __init__(self, taken: list[Event], rest: Any) -> None:
        self.taken = taken
        self.rest = rest

    def get_event(self) -> Event:
        return self.taken.pop(0) if self.taken else self.rest.get_event()

    def peek_event(self) -> Event:
        return self.taken[0] if self.taken else self.rest.peek_event()

    def check_event(self, *kinds: type) -> bool:
        return isinstance(self.peek_event(), kinds)

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        return str(self.rest.resolve(kind, value, implicit))


class Flat:
    """A layer read straight off the events: the events, the signature, the name and inputs."""

    __slots__ = ("events", "inputs", "name", "repeated", "signature")

    def __init__(
        self, events: list[Event], signature: tuple[Any, ...], name: Any, inputs: Any, repeated: bool
    ):
        self.events = events
        self.signature = signature
        self.name = name
        self.inputs = inputs
        self.repeated = repeated

    @property
    def line(self) -> int:
        return int(self.events[0].start_mark.line) + 1


def _is_layers(key: Node) -> bool:
    return isinstance(key, ScalarNode) and key.value == "layers" and key.tag == _TAG + "str"


def _empty() -> RFGraphError:
    return RFGraphError("empty document: expected a mapping with a 'layers' list", line=1)


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


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return repr(node.value)


def _did_you_mean(word: str, options: list[str] | tuple[str, ...], cutoff: float = 0.6) -> str:
    import difflib  # only for messages

    close = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}? " if close else ""


# Words from other frameworks for ops rfgraph names otherwise.
_FOREIGN_NAMES = {
    "convtranspose": "transposed_conv",
    "conv_transpose": "transposed_conv",
    "deconv": "transposed_conv",
    "deconvolution": "transposed_conv",
    "upsampling": "upsample",
    "upscale": "upsample",
    "bilinear": "upsample",
    "bicubic": "upsample",
    "nearest": "upsample",
    "rescale": "resize",
    "interpolate": "resize",
    "interpolation": "resize",
    "maxpool": "max_pool",
    "avgpool": "avg_pool",
    "averagepool": "avg_pool",
    "globalaveragepool": "global_avg_pool",
    "adaptiveavgpool": "adaptive_avg_pool",
    "batchnorm": "batch_norm",
    "gemm": "fc",
    "dense": "fc",
    "attention": "global",
    "zeropad": "pad",
}
# An unknown name with one of these in it meant an op that changes strides or sizes: suggesting
# a pointwise op ('upsample' -> 'scale') would silently keep the stride.
_RESAMPLING_HINTS = re.compile(
    r"up|down|sub|sampl|rescal|resiz|interp|bilinear|trilinear|cubic|nearest|transp|deconv|shuffle|pool"
    r"|stride|crop|pad|space|\dx$"
)
_GLOBAL_HINTS = re.compile(r"global|gap|fc|dense|flatten|^linear\d*$")
# ... and of those, none that goes the other way, or reads the whole input
_UP, _DOWN = re.compile("up|unpool|transp|deconv|depth_to"), re.compile("down|sub|unshuffle|space_to")
_UP_OPS = frozenset(["upsample", "transposed_conv", "pixel_shuffle", "depth_to_space"])
_DOWN_OPS = frozenset(["pool", "max_pool", "avg_pool", "pixel_unshuffle", "space_to_depth"])


def _suggest_op(word: str) -> str:
    plain = re.sub(r"[\d_]*d$|[_\s-]", "", word.lower())  # conv2d, Conv_Transpose, max-pool
    for candidate in (word.lower(), plain):
        if candidate in OPS:
            return f"did you mean {candidate!r}? "
        if candidate in _FOREIGN_NAMES:
            return f"did you mean {_FOREIGN_NAMES[candidate]!r}? "
    lower = word.lower()
    if not _RESAMPLING_HINTS.search(lower):
        return _did_you_mean(word, list(OPS), cutoff=0.75)
    options = set(RESHAPING)
    if not _GLOBAL_HINTS.search(lower):
        options = {v for v in options if OPS[v] is not OPS["global_pool"] and OPS[v] is not OPS["global"]}
    options -= (_UP_OPS if _DOWN.search(lower) else frozenset()) | (
        _DOWN_OPS if _UP.search(lower) else frozenset()
    )
    return _did_you_mean(word, sorted(options), cutoff=0.75)


@dataclass(frozen=True, slots=True)
class Type:
    """A kind of parameter value: how the loader reads one axis' value, and its JSON Schema.

    ``pair``: an axis' value may be a list ``[before, after]``.
    """

    schema: dict[str, Any]
    read: Callable[[_Reader, Node, str], Any]
    pair: bool = False


def _integer_schema(minimum: int | None) -> dict[str, Any]:
    return {"type": "integer"} if minimum is None else {"type": "integer", "minimum": minimum}


def _pair_schema(minimum: int | None, words: tuple[str, ...] = ()) -> dict[str, Any]:
    amount = _integer_schema(minimum)
    forms: list[dict[str, Any]] = [
        amount,
        {"type": "array", "prefixItems": [amount, amount], "minItems": 2, "items": False},
    ]
    if words:
        forms.insert(1, {"type": "string", "pattern": any_case(words)})
    return {"anyOf": forms}


def any_case(words: tuple[str, ...]) -> str:
    letters = [
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in w) for w in words
    ]
    return "^(" + "|".join(letters) + ")$"


_MODES = ("nearest", "nearest_exact", "bilinear", "bicubic")
_ALIGN_WORDS = (*ALIGN_RULES, "center")
_PADDING_WORDS = ("same", "same_lower", "valid")

#: How each kind of value is read and described; ops.Param.type names one of these.
TYPES: dict[ValueType, Type] = {
    "positive": Type(_integer_schema(1), lambda r, n, w: r.integer(n, w, 1)),
    "count": Type(_integer_schema(0), lambda r, n, w: r.integer(n, w, 0)),
    "padding": Type(
        _pair_schema(0, _PADDING_WORDS), lambda r, n, w: r.pair(n, w, 0, _PADDING_WORDS), pair=True
    ),
    "pair": Type(_pair_schema(0), lambda r, n, w: r.pair(n, w, 0), pair=True),
    "pad": Type(_pair_schema(None), lambda r, n, w: r.pair(n, w, None), pair=True),
    "factor": Type(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": sys.float_info.max},  # not .inf
                {"type": "string", "pattern": r"^0*[1-9]\d*/0*[1-9]\d*$"},
            ]
        },
        lambda r, n, w: r.factor(n, w),
    ),
    "mode": Type({"type": "string", "pattern": any_case(_MODES)}, lambda r, n, w: r.word(n, w, _MODES)),
    "bool": Type({"type": "boolean"}, lambda r, n, w: r.boolean(n, w)),
    "node": Type({"$ref": "#/$defs/name"}, lambda r, n, w: r.name(n, w)),
    "align": Type(
        {"type": "string", "pattern": any_case(_ALIGN_WORDS)},
        lambda r, n, w: r.word(n, w, _ALIGN_WORDS).replace("center", "centre"),
    ),
}
CHANNELS = Param(
    "channels", "positive", per_axis=False, doc="output channels (a concat weighs its inputs by them)"
)


class _Reader:
    """Turns composed YAML nodes into a Network, one schema level at a time."""

    def __init__(self, path: str | None, budget: int) -> None:
        self.path = path
        self.budget = budget
        # a layer's op and parameters, by what decided them: read once, shared by the layers alike
        self.templates: dict[tuple[Any, ...], Layer] = {}
        self.names: dict[str, str] = {}

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

    def entries(self, node: Node, what: str, depth: int = 0) -> dict[str, tuple[Node, Node]]:
        """A mapping's key -> (key node, value node), merge keys ('<<') resolved, keys not checked."""
        self.visit(node)
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping, got {_kind(node)}")
        fields: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key, value in node.value:
            if key.tag == _TAG + "merge":
                if depth > 8:
                    raise self.fail(key, "merge keys ('<<') nested too deeply")
                sources = value.value if isinstance(value, SequenceNode) else [value]
                for source in reversed(sources):
                    merged.update(self.entries(source, f"{what} ('<<')", depth + 1))
                continue
            self.visit(key)
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"{what}: keys must be names, got {_kind(key)}")
            if key.value in fields:
                raise self.fail(key, f"{what}: duplicate key {key.value!r}")
            fields[key.value] = (key, value)
        return {**merged, **fields}

    def mapping(self, node: Node, what: str, keys: tuple[str, ...]) -> dict[str, Node]:
        """A mapping whose keys must be among ``keys``: key -> value node."""
        found = self.entries(node, what)
        for key, (key_node, _) in found.items():
            if key not in keys:
                raise self.unknown_key(key_node, what, keys)
        return {key: value for key, (_, value) in found.items()}

    def unknown_key(self, key: Node, what: str, keys: tuple[str, ...]) -> RFGraphError:
        hint = _did_you_mean(key.value, keys)
        return self.fail(key, f"{what}: unknown key {key.value!r} ({hint}expected one of: {', '.join(keys)})")

    def scalar(self, node: Node, what: str) -> object:
        self.visit(node)
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be a single value, got {_kind(node)}")
        try:
            return _SCALARS.yaml_constructors[node.tag](_SCALARS, node)
        except ValueError:
            raise self.fail(node, f"{what}: cannot read {node.value[:40]!r}") from None

    def name(self, node: Node, what: str) -> str:
        value = self.scalar(node, what)
        if value is None or isinstance(value, bool):
            kind = "the boolean" if isinstance(value, bool) else "null"
            raise self.fail(node, f"{what} must be text or a number, got {kind} {node.value!r}")
        if not node.value:
            raise self.fail(node, f"{what} must not be empty")
        return str(node.value)

    def integer(self, node: Node, what: str, minimum: int | None = None) -> int:
        value = self.scalar(node, what)
        if isinstance(value, bool):
            raise self.fail(node, f"{what} must be an integer, got the boolean {node.value!r}")
        if not isinstance(value, int):
            whole = isinstance(value, float) and value.is_integer()
            hint = f" (write {int(value)}: a number with a point is not an integer)" if whole else ""  # type: ignore[call-overload]
            raise self.fail(node, f"{what} must be an integer, got {node.value!r}{hint}")
        if minimum is not None and value < minimum:
            raise self.fail(node, f"{what} must be at least {minimum}, got {value}")
        return value

    def boolean(self, node: Node, what: str) -> bool:
        value = self.scalar(node, what)
        if not isinstance(value, bool):
            raise self.fail(node, f"{what} must be true or false, got {node.value!r}")
        return value

    def word(self, node: Node, what: str, words: tuple[str, ...]) -> str:
        value = self.scalar(node, what)
        if not isinstance(value, str) or value.lower() not in words:
            hint = _did_you_mean(str(node.value).lower(), words)
            raise self.fail(
                node, f"{what} must be one of {', '.join(words)}, got {node.value!r} {hint}".rstrip()
            )
        return value.lower()

    def factor(self, node: Node, what: str) -> Fraction:
        value = self.scalar(node, what)
        exact: Fraction | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            exact = Fraction(value)
        elif isinstance(value, float) or (isinstance(value, str) and re.fullmatch(r"\d+/\d+", value)):
            try:  # the written decimal or p/q, never the float it rounds to
                exact = Fraction(node.value.replace("_", ""))
            except (ValueError, ZeroDivisionError):
                exact = None
        if exact is None or exact <= 0:
            raise self.fail(
                node, f"{what} must be a positive number such as 2, 1.5 or 3/2, got {node.value!r}"
            )
        return exact

    def pair(self, node: Node, what: str, minimum: int | None, words: tuple[str, ...] = ()) -> Any:
        """An amount for both sides, [before, after], or one of ``words``."""
        self.visit(node)
        if isinstance(node, SequenceNode):
            if len(node.value) != 2:
                msg = f"{what}: expected [before, after], got {len(node.value)} values"
                raise self.fail(node, msg)
            before, after = (self.integer(n, what, minimum) for n in node.value)
            return (before, after)
        value = self.scalar(node, what)
        if isinstance(value, str) and value.lower() in words:
            return value.lower()
        if not isinstance(value, int) or isinstance(value, bool):
            forms = ", ".join([*words, "an integer or [before, after]"])
            raise self.fail(node, f"{what} must be {forms}, got {node.value!r}")
        amount = self.integer(node, what, minimum)
        return (amount, amount)

    def value(self, param: Param, node: Node, dims: int) -> Any:
        """A parameter's value: one for every axis, or a tuple of one per axis."""
        kind = TYPES[param.type]
        what = param.name
        if not param.per_axis:
            return kind.read(self, node, what)
        self.visit(node)
        if not isinstance(node, SequenceNode):
            return (kind.read(self, node, what),) * dims
        items = node.value
        if kind.pair and dims == 1 and len(items) == 2 and all(isinstance(n, ScalarNode) for n in items):
            return (kind.read(self, node, what),)  # 1-D [before, after]
        if len(items) != dims:
            pair = " or [before, after]" if kind.pair and dims == 1 else ""
            msg = f"{what}: expected one value{pair} or {dims} (one per axis), got {len(items)}"
            raise self.fail(node, msg)
        return tuple(kind.read(self, item, f"{what}[{i}]") for i, item in enumerate(items))

    def network(self, doc: _Document) -> Network:
        self.document = doc
        top: dict[str, Node] = {}
        layers: list[Layer] = []
        layers_node: Node | None = None
        layers_value: Node | None = None
        read_with: tuple[Node | None, Node | None] | None = None
        for key, value in doc.entries():
            if key.tag == _TAG + "null" and not key.value:  # the document is not a mapping
                assert isinstance(value, Node)
                self.mapping(value, "the document", TOP_KEYS)
            self.visit(key)
            if not isinstance(key, ScalarNode):
                raise self.fail(key, f"the document: keys must be names, got {_kind(key)}")
            if key.value in top or (key.value == "layers" and layers_node is not None):
                raise self.fail(key, f"the document: duplicate key {key.value!r}")
            if key.value not in TOP_KEYS:
                raise self.unknown_key(key, "the document", TOP_KEYS)
            if key.value == "layers":
                layers_node = key
                if isinstance(value, Node):  # composed whole: read it once the other keys are known
                    layers_value = value
                else:  # streamed: read it now, with what the keys so far say
                    read_with = (top.get("dims"), top.get("input"))
                    dims = self.dims(top)
                    layers = self.layers(value, key, dims, self.input(top.get("input"), dims)[0])
                continue
            assert isinstance(value, Node)
            top[key.value] = value
        if layers_node is None:
            msg = "missing key 'layers' (the list of layers)"
            raise RFGraphError(msg, path=self.path, line=1)
        if read_with is not None and read_with != (top.get("dims"), top.get("input")):
            raise _LayersFirst
        dims = self.dims(top)
        if layers_value is not None:
            first = self.input(top.get("input"), dims)[0]
            layers = self.layers(self.sequence(layers_value), layers_node, dims, first)
        name = self.name(top["name"], "name") if "name" in top else _stem(self.path)
        align = TYPES["align"].read(self, top["align"], "align") if "align" in top else "centre"
        input_name, input_size = self.input(top.get("input"), dims)
        return make_network(
            layers,
            name=name,
            input=input_name,
            dims=dims,
            input_size=input_size,
            path=self.path,
            input_line=_line(top["input"]) if "input" in top else None,
            align=align,
        )

    def dims(self, top: dict[str, Node]) -> int:
        if "dims" not in top:
            return 2
        dims = self.integer(top["dims"], "dims", minimum=1)
        if dims > MAX_DIMS:
            raise self.fail(top["dims"], f"dims must be at most {MAX_DIMS}, got {dims}")
        return dims

    def sequence(self, node: Node) -> Iterator[Node]:
        self.visit(node)
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"'layers' must be a non-empty list, got {_kind(node)}")
        return iter(node.value)

    def layers(self, items: Iterator[Node | Flat], key: Node, dims: int, previous: str) -> list[Layer]:
        layers = []
        names = self.names
        names[previous] = previous
        for item in items:
            layer = self.layer(item, dims, previous)
            layers.append(layer)
            previous = names[layer.name] = layer.name
        if not layers:
            raise self.fail(key, "'layers' must be a non-empty list, got an empty list")
        return layers

    def input(self, node: Node | None, dims: int) -> tuple[str, tuple[int, ...] | None]:
        if node is None:
            return "input", None
        if not isinstance(node, MappingNode):
            return self.name(node, "input"), None
        fields = self.mapping(node, "input", INPUT_KEYS)
        name = self.name(fields["name"], "input name") if "name" in fields else "input"
        if "size" not in fields:
            return name, None
        return name, self.value(Param("input size", "positive"), fields["size"], dims)

    def layer(self, item: Node | Flat, dims: int, previous: str) -> Layer:
        if isinstance(item, Flat):
            template = None if item.repeated else self.templates.get(item.signature)
            if template is not None:
                known = self.known(item, template, previous)
                if known is not None:
                    return known
            layer = self.layer(self.document.composed(list(item.events)), dims, previous)
            if not item.repeated:
                self.templates[item.signature] = layer
            return layer
        node = item
        found = self.entries(node, "layer")
        fields = {key: value for key, (_, value) in found.items()}
        if "name" not in fields:
            unknown = next((k for k, _ in found.values() if k.value not in LAYER_KEYS), None)
            if unknown is not None:
                raise self.unknown_key(unknown, "layer", LAYER_KEYS)
            raise self.fail(node, "layer: missing key 'name'")
        name = self.name(fields["name"], "name")
        try:
            return self._layer(node, found, name, dims, previous)
        except RFGraphError as e:
            e.node = e.node or name
            raise

    def known(self, item: Flat, template: Layer, previous: str) -> Layer | None:
        """A layer whose op and parameters are those of one read before: only its name and inputs
        are new (None when they need the general reading, to say what is wrong with them)."""
        name = self.text(item.name)
        if name is None:
            return None
        inputs: tuple[str, ...] = (previous,)
        if item.inputs is not None:
            values = item.inputs if isinstance(item.inputs, tuple) else (item.inputs,)
            texts = [self.text(v) for v in values]
            if not texts or None in texts:
                return None
            names = self.names
            inputs = tuple([names.get(t, t) for t in texts if t is not None])
        return template.renamed(name, inputs, item.line)

    def text(self, event: Any) -> str | None:
        """A scalar event that is a name for sure: quoted, or plain and no resolver could read it
        otherwise (not a number, a boolean, null)."""
        if type(event) is not yaml.ScalarEvent:
            return None
        value = event.value
        if value and (not event.implicit[0] or value[0] not in self.document.resolved_first):
            return str(value)
        return None

    def _layer(
        self, node: Node, found: dict[str, tuple[Node, Node]], name: str, dims: int, previous: str
    ) -> Layer:
        fields = {key: value for key, (_, value) in found.items()}
        if "op" not in fields:
            raise self.fail(node, "missing key 'op'")
        op = self.name(fields["op"], "op")
        if op not in OPS:
            msg = f"unknown op {op!r} ({_suggest_op(op)}known ops: {', '.join(sorted(OPS))})"
            raise self.fail(fields["op"], msg)
        spec = OPS[op]
        params = {p.name: p for p in spec.params}
        for key, (key_node, value) in found.items():
            if key in COMMON_KEYS or key in params:
                continue
            if key not in LAYER_KEYS:  # no op takes it: a typo
                raise self.unknown_key(key_node, "layer", (*COMMON_KEYS, *params))
            takes = ", ".join(params) or "no parameters"
            raise self.fail(value, f"op {op!r} does not take {key!r} (it takes: {takes})")
        inputs: tuple[str, ...] = (previous,)
        if "inputs" in fields:
            value = fields["inputs"]
            self.visit(value)
            items = value.value if isinstance(value, SequenceNode) else [value]
            inputs = tuple(self.name(item, "input name") for item in items)
        given = {key: self.value(params[key], fields[key], dims) for key in fields if key in params}
        missing = [p.name for p in spec.params if p.required and p.name not in given]
        if missing:
            raise self.fail(node, f"op {op!r} needs {' and '.join(map(repr, missing))}")
        _check_one_of(self, spec, given, node)
        for p in spec.params:
            if p.requires is not None and given.get(p.name) is True:
                other, values = p.requires
                got = given.get(other, params[other].default)
                if got not in values:
                    msg = f"{p.name}: true needs {other} {' or '.join(values)}, got {got}"
                    raise self.fail(fields[p.name], msg)
        channels = self.value(CHANNELS, fields["channels"], dims) if "channels" in fields else None
        return Layer(name, op, inputs, _with_defaults(spec, given, dims), channels, line=_line(node))


def _check_one_of(reader: _Reader, spec: Op, given: dict[str, Any], node: Node) -> None:
    if not spec.one_of:
        return
    chosen = [k for k in spec.one_of if k in given]
    if len(chosen) != 1:
        what = "both " + " and ".join(chosen) if chosen else "none"
        raise reader.fail(node, f"give exactly one of {', '.join(spec.one_of)} (got {what})")


def _with_defaults(spec: Op, given: dict[str, Any], dims: int) -> dict[str, Any]:
    params = dict(given)
    for p in spec.params:
        if p.name not in params and p.default is not None:
            params[p.name] = (p.default,) * dims if p.per_axis else p.default
    return params


def _stem(path: str | None) -> str:
    return os.path.splitext(os.path.basename(path))[0] if path else "network"  # noqa: PTH119,PTH122
