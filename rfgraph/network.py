"""Network and Layer: a validated DAG of layers, its topological order and its networkx view."""

from __future__ import annotations

from collections.abc import KeysView, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from .errors import RFGraphError
from .ops import OPS, Geometry, Op

# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    import networkx as nx

AXIS_NAMES = {1: ("x",), 2: ("h", "w"), 3: ("d", "h", "w")}
ALIGN_RULES = ("centre", "start", "end", "none")


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer: an op, its parameters and the names of its inputs.

    ``params`` holds every parameter of the op (defaults applied); a per-axis
    parameter is a tuple with one value per axis. :meth:`axis` picks one axis.

    >>> c = Layer("c1", "conv", ("input",), {"kernel": (3, 5), "stride": (1, 1), "dilation": (1, 1),
    ...           "padding": ((1, 1), (2, 2))})
    >>> c.axis(1)["kernel"], c.axis(1)["padding"]
    (5, (2, 2))
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    channels: int | None = None
    line: int | None = field(default=None, compare=False)
    _axes: tuple[dict[str, Any], ...] = field(init=False, repr=False, compare=False)
    _keys: tuple[int, ...] = field(init=False, repr=False, compare=False)
    #: every axis has the same parameters
    symmetric: bool = field(init=False, repr=False, compare=False)
    #: the node whose size this layer takes (``size_of``), if any
    size_of: str | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        per_axis = {p.name for p in self.spec.params if p.per_axis}
        dims = max((len(v) for k, v in self.params.items() if k in per_axis), default=1)
        axes = tuple({k: (v[i] if k in per_axis else v) for k, v in self.params.items()} for i in range(dims))
        object.__setattr__(self, "_axes", axes)
        keys = tuple(_intern((self.op, *sorted(a.items()))) for a in axes)
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "symmetric", len(set(keys)) == 1)
        object.__setattr__(self, "size_of", self.params.get("size_of"))

    @property
    def spec(self) -> Op:
        return OPS[self.op]

    @property
    def align(self) -> str | None:
        """This merge's alignment rule, None to use the network's."""
        return self.params.get("align")

    def renamed(self, name: str, inputs: tuple[str, ...], line: int | None) -> Layer:
        """The same op and parameters under another name, reading other inputs (nothing recomputed)."""
        layer = object.__new__(Layer)
        for attribute in ("op", "params", "channels", "_axes", "_keys", "symmetric", "size_of"):
            object.__setattr__(layer, attribute, getattr(self, attribute))
        object.__setattr__(layer, "name", name)
        object.__setattr__(layer, "inputs", inputs)
        object.__setattr__(layer, "line", line)
        return layer

    def axis(self, i: int) -> Mapping[str, Any]:
        """This layer's parameters along axis ``i``."""
        return self._axes[min(i, len(self._axes) - 1)]

    def geometry(self, i: int, n: int | None, other: int | Fraction | None = None) -> Geometry:
        """What this layer does along axis ``i`` to an input of size ``n``; ``other`` is the size of
        the ``size_of`` node (or, without sizes, the ratio of the two maps' strides).
        ``Geometry.problem`` says when this size does not fit (an empty output).
        """
        geometer = self.spec.geometry
        assert geometer is not None, "merges have no geometry of their own"
        return geometer(self.axis(i), n, other)

    def key(self, i: int) -> int:
        """A number that two layers' axes share exactly when their ops and parameters are equal."""
        return self._keys[min(i, len(self._keys) - 1)]


_KEYS: dict[tuple[Any, ...], int] = {}


def _intern(params: tuple[Any, ...]) -> int:
    return _KEYS.setdefault(params, len(_KEYS))


@dataclass(frozen=True, slots=True)
class Network:
    """A validated network: layers in file order, a topological order, and their DAG.

    Build one with :func:`rfgraph.load` / :func:`rfgraph.loads`, or with
    :func:`make_network` from :class:`Layer` objects. ``nodes`` are the node
    names in file order, the input first; ``order`` a topological order.
    """

    name: str
    input: str
    dims: int
    input_size: tuple[int, ...] | None
    layers: dict[str, Layer] = field(repr=False)
    order: tuple[str, ...] = field(repr=False, compare=False)
    path: str | None = field(default=None, compare=False)
    input_line: int | None = field(default=None, compare=False)
    align: str = "centre"
    _graph: Any = field(default=None, init=False, repr=False, compare=False)
    _nodes: KeysView[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_nodes", {self.input: None, **dict.fromkeys(self.layers)}.keys())

    def __repr__(self) -> str:
        size = "" if self.input_size is None else f", input_size={self.input_size}"
        return f"Network({self.name!r}, {len(self.layers)} layers, dims={self.dims}{size})"

    @property
    def nodes(self) -> KeysView[str]:
        """Node names in file order, the input first (supports ``len`` and ``in``)."""
        return self._nodes

    @property
    def axis_names(self) -> tuple[str, ...]:
        """("h", "w") for 2-D nets, ("d", "h", "w") for 3-D, ("x",) for 1-D."""
        return AXIS_NAMES.get(self.dims, tuple(f"axis{i}" for i in range(self.dims)))

    @property
    def graph(self) -> nx.DiGraph:
        """The networkx view (built when first asked for): data edges, and ``size_of`` edges
        with the attribute ``size_of=True``."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            graph.add_nodes_from(self.nodes)
            for layer in self.layers.values():
                graph.add_edges_from((u, layer.name) for u in layer.inputs)
                if layer.size_of is not None and not graph.has_edge(layer.size_of, layer.name):
                    graph.add_edge(layer.size_of, layer.name, size_of=True)
            object.__setattr__(self, "_graph", graph)
        return self._graph

    def line(self, node: str) -> int | None:
        return self.input_line if node == self.input else self.layers[node].line

    def error(self, message: str, node: str | None = None) -> RFGraphError:
        """An error located at ``node``'s line in this network's file."""
        line = None if node is None else self.line(node)
        return RFGraphError(message, path=self.path, line=line, node=node)

    def ancestors(self, node: str, stop: str | None = None) -> set[str]:
        """``node`` and every node that feeds it through data edges (not past ``stop``)."""
        seen, todo = {node}, [node]
        while todo:
            layer = self.layers.get(todo.pop())
            if layer is None or layer.name == stop:
                continue
            for u in layer.inputs:
                if u not in seen:
                    seen.add(u)
                    todo.append(u)
        return seen

    def consumers(self) -> dict[str, list[str]]:
        """For every node, the layers that read it, in file order."""
        out: dict[str, list[str]] = {v: [] for v in self.nodes}
        for layer in self.layers.values():
            for u in dict.fromkeys(layer.inputs):
                out[u].append(layer.name)
        return out


def make_network(
    layers: Sequence[Layer],
    *,
    name: str = "network",
    input: str = "input",
    dims: int = 2,
    input_size: tuple[int, ...] | None = None,
    path: str | None = None,
    input_line: int | None = None,
    align: str = "centre",
) -> Network:
    """Check that ``layers`` form a DAG fed by ``input`` and build the Network.

    Raises
    ------
    RFGraphError
        Duplicate or unknown names, wrong input counts, a cycle, a layer the
        input does not reach.

    Examples
    --------
    >>> net = make_network([Layer("r", "relu", ("input",))], dims=1)
    >>> net, list(net.nodes), net.order
    (Network('network', 1 layers, dims=1), ['input', 'r'], ('input', 'r'))
    """
    by_name: dict[str, Layer] = {}
    for layer in layers:
        if layer.name == input:
            msg = f"layer name {layer.name!r} is the input's name"
            raise RFGraphError(msg, path=path, line=layer.line)
        if layer.name in by_name:
            first = by_name[layer.name].line
            msg = f"duplicate layer name {layer.name!r}" + (f" (first on line {first})" if first else "")
            raise RFGraphError(msg, path=path, line=layer.line)
        by_name[layer.name] = layer
    net = Network(name, input, dims, input_size, by_name, (), path, input_line, align)
    for layer in layers:
        _check_inputs(net, layer)
    object.__setattr__(net, "order", _topological_order(net))
    return net


def _check_inputs(net: Network, layer: Layer) -> None:
    spec = layer.spec
    known = net.layers
    for u in (*layer.inputs, *([layer.size_of] if layer.size_of is not None else [])):
        if u not in known and u != net.input:
            msg = f"unknown input {u!r}" if u in layer.inputs else f"size_of: unknown node {u!r}"
            raise net.error(msg, layer.name)
    n = len(layer.inputs)
    if n < spec.min_inputs or (spec.max_inputs is not None and n > spec.max_inputs):
        want = f"at least {spec.min_inputs}" if spec.max_inputs is None else "exactly 1"
        msg = f"op {layer.op!r} takes {want} input(s), got {n}"
        raise net.error(msg, layer.name)


def _predecessors(layer: Layer) -> tuple[str, ...]:
    return layer.inputs if layer.size_of is None else (*layer.inputs, layer.size_of)


def _topological_order(net: Network) -> tuple[str, ...]:
    """Kahn's algorithm over data and ``size_of`` edges, from the input; a cycle is an error naming it.

    Every layer has an input, so a layer the input does not reach waits on a cycle.
    """
    waiting = {v: len(set(_predecessors(layer))) for v, layer in net.layers.items()}
    readers: dict[str, list[str]] = {v: [] for v in net.nodes}
    for v, layer in net.layers.items():
        for u in set(_predecessors(layer)):
            readers[u].append(v)
    order = [net.input, *(v for v, count in waiting.items() if count == 0)]
    for v in order:  # grows while it is read
        for w in readers[v]:
            waiting[w] -= 1
            if waiting[w] == 0:
                order.append(w)
    if len(order) <= len(net.layers):
        _raise_cycle(net, set(order))
    return tuple(order)


def _raise_cycle(net: Network, done: set[str]) -> None:
    # every layer left waits on another one left: walking back from one must come round
    rank = {v: i for i, v in enumerate(net.layers)}
    v = next(v for v in net.layers if v not in done)
    seen: dict[str, int] = {}
    walk: list[str] = []
    while v not in seen:
        seen[v] = len(walk)
        walk.append(v)
        v = next(u for u in _predecessors(net.layers[v]) if u not in done)
    loop = walk[seen[v] :][::-1]  # in the direction data flows
    start = loop.index(min(loop, key=rank.__getitem__))
    loop = loop[start:] + loop[:start]
    msg = "cycle: " + " -> ".join([*loop, loop[0]])
    raise net.error(msg, loop[0])
