"""Network and Layer: a validated DAG of layers, with its networkx view."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import networkx as nx

from .errors import RFGraphError
from .ops import OPS, Op, Padding, Window, window


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer: an op, its per-axis parameters and the names of its inputs."""

    name: str
    op: str
    inputs: tuple[str, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[Padding, ...]
    line: int | None = field(default=None, compare=False)

    @property
    def spec(self) -> Op:
        return OPS[self.op]

    def window(self, axis: int, size: int | None = None) -> Window:
        """This layer's window along ``axis`` (the input size resolves "same")."""
        return window(self.kernel[axis], self.stride[axis], self.dilation[axis], self.padding[axis], size)


@dataclass(frozen=True, slots=True)
class Network:
    """A validated network: layers in file order and the DAG they form.

    Build one with :func:`rfgraph.load` / :func:`rfgraph.loads`, or with
    :func:`make_network` from :class:`Layer` objects.
    """

    name: str
    input: str
    dims: int
    input_size: tuple[int, ...] | None
    layers: dict[str, Layer]
    graph: nx.DiGraph = field(compare=False, repr=False)
    path: str | None = field(default=None, compare=False)
    input_line: int | None = field(default=None, compare=False)

    @property
    def nodes(self) -> Iterator[str]:
        """Node names in file order, the input first."""
        yield self.input
        yield from self.layers

    @property
    def axis_names(self) -> tuple[str, ...]:
        """("h", "w") for 2-D nets, ("d", "h", "w") for 3-D, ("x",) for 1-D."""
        names = {1: ("x",), 2: ("h", "w"), 3: ("d", "h", "w")}
        return names.get(self.dims, tuple(f"axis{i}" for i in range(self.dims)))

    def line(self, node: str) -> int | None:
        return self.input_line if node == self.input else self.layers[node].line

    def error(self, message: str, node: str | None = None) -> RFGraphError:
        """An error located at ``node``'s line in this network's file."""
        line = None if node is None else self.line(node)
        return RFGraphError(message, path=self.path, line=line, node=node)


def make_network(
    layers: Sequence[Layer],
    *,
    name: str = "network",
    input: str = "input",
    dims: int = 2,
    input_size: tuple[int, ...] | None = None,
    path: str | None = None,
    input_line: int | None = None,
) -> Network:
    """Check that ``layers`` form a DAG fed by ``input`` and build the Network.

    Raises
    ------
    RFGraphError
        Duplicate or unknown names, wrong input counts, a cycle, a layer the
        input does not reach.
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
    net = Network(name, input, dims, input_size, by_name, nx.DiGraph(), path, input_line)
    graph = net.graph
    graph.add_nodes_from(net.nodes)
    for layer in layers:
        _check_inputs(net, layer)
        graph.add_edges_from((u, layer.name) for u in layer.inputs)
    _check_acyclic(net)
    reached = nx.descendants(graph, input)
    for layer in layers:
        if layer.name not in reached:
            msg = f"not reachable from the input {input!r}"
            raise net.error(msg, layer.name)
    return net


def _check_inputs(net: Network, layer: Layer) -> None:
    spec = layer.spec
    for u in layer.inputs:
        if u not in net.graph:
            msg = f"unknown input {u!r}"
            raise net.error(msg, layer.name)
    n = len(layer.inputs)
    if n < spec.min_inputs or (spec.max_inputs is not None and n > spec.max_inputs):
        want = f"at least {spec.min_inputs}" if spec.max_inputs is None else "exactly 1"
        msg = f"op {layer.op!r} takes {want} input(s), got {n}"
        raise net.error(msg, layer.name)


def _check_acyclic(net: Network) -> None:
    # find_cycle walks edge views node by node, ten times slower than a topological sort
    if nx.is_directed_acyclic_graph(net.graph):
        return
    names = [u for u, _ in nx.find_cycle(net.graph)]
    order = {name: i for i, name in enumerate(net.layers)}
    first = min(names, key=order.__getitem__)
    start = names.index(first)
    loop = [*names[start:], *names[:start], first]
    msg = "cycle: " + " -> ".join(loop)
    raise net.error(msg, first)
