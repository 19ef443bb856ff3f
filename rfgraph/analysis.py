"""analyze(network) -> Analysis: one topological pass, then the merge checks' findings.

Along one axis, feature ``x`` of a node depends on the input coordinates
``[x*S - P, x*S - P + r - 1]`` (Araujo, Norris & Sim, Distill 2019). A window of
span ``k`` (dilation included), stride ``s`` and padding-before ``p`` maps
``(r, S, P)`` to ``(r + (k-1)*S, S*s, P + p*S)``. A merge is aligned when its
inputs agree on ``S`` and on the centre ``(r-1)/2 - P``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import networkx as nx

from .network import Layer, Network
from .ops import Window, is_size_dependent
from .spec import load

#: An exact number: strides and paddings become fractions once upsampling exists.
Number = int | Fraction


@dataclass(frozen=True, slots=True)
class AxisRF:
    """Receptive field of one node along one axis; r, S, P are None where undefined.

    >>> rf = AxisRF(r=7, S=4, P=3, r_min=7)
    >>> rf.centre, rf.interval(1)
    (Fraction(0, 1), (1, 7))
    """

    r: Number | None
    S: Number | None
    P: Number | None
    r_min: Number
    size: int | None = None

    @property
    def is_defined(self) -> bool:
        return self.r is not None

    @property
    def centre(self) -> Fraction | None:
        """Input coordinate of the centre of feature 0's field."""
        if self.r is None or self.P is None:
            return None
        return Fraction(self.r - 1, 2) - self.P

    def interval(self, x: Number) -> tuple[Number, Number]:
        """First and last input coordinate that feature ``x`` depends on."""
        if self.r is None or self.S is None or self.P is None:
            msg = "the receptive field is undefined on this axis (misaligned strides upstream)"
            raise ValueError(msg)
        first = x * self.S - self.P
        return first, first + self.r - 1


@dataclass(frozen=True, slots=True)
class NodeRF:
    """Receptive field of one node on every axis.

    ``aligned`` is False exactly when the node is a misaligned merge;
    ``size_dependent`` when P assumed "same" layers' input sizes divisible by
    their strides because no input size was given.
    """

    node: str
    axes: tuple[AxisRF, ...]
    aligned: bool = True
    size_dependent: bool = False

    @property
    def r(self) -> tuple[Number | None, ...]:
        return tuple(a.r for a in self.axes)

    @property
    def S(self) -> tuple[Number | None, ...]:
        return tuple(a.S for a in self.axes)

    @property
    def P(self) -> tuple[Number | None, ...]:
        return tuple(a.P for a in self.axes)

    @property
    def r_min(self) -> tuple[Number, ...]:
        return tuple(a.r_min for a in self.axes)

    @property
    def size(self) -> tuple[int, ...] | None:
        sizes = tuple(a.size for a in self.axes)
        return None if None in sizes else sizes  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Misalignment:
    """A merge whose inputs disagree on one axis: each input's name and field."""

    node: str
    axis: int
    inputs: tuple[tuple[str, AxisRF], ...]

    @property
    def reason(self) -> str:
        fields = [rf for _, rf in self.inputs]
        if not all(rf.is_defined for rf in fields):
            return "an input's receptive field is undefined"
        if len({rf.S for rf in fields}) > 1:
            return "effective strides differ"
        return "centres differ"


@dataclass(frozen=True, slots=True)
class Analysis:
    """Per-node receptive fields of a network, relative to ``source``.

    ``analysis["conv1"]`` is a :class:`NodeRF`; iteration yields node names in
    network order, the source first.
    """

    network: Network
    nodes: Mapping[str, NodeRF]
    misalignments: tuple[Misalignment, ...]
    input_size: tuple[int, ...] | None
    source: str

    def __getitem__(self, node: str) -> NodeRF:
        return self.nodes[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def aligned(self) -> bool:
        return not self.misalignments

    @property
    def outputs(self) -> list[str]:
        """Nodes that feed no other node, in network order."""
        graph = self.network.graph
        return [v for v in self.nodes if not any(w in self.nodes for w in graph.successors(v))]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: exact values as ints or "p/q" strings, undefined as None."""
        return {
            "name": self.network.name,
            "input": self.source,
            "input_size": None if self.input_size is None else list(self.input_size),
            "outputs": self.outputs,
            "aligned": self.aligned,
            "nodes": {
                name: {
                    "r": _exact(rf.r),
                    "S": _exact(rf.S),
                    "P": _exact(rf.P),
                    "r_min": _exact(rf.r_min),
                    "aligned": rf.aligned,
                    "size": None if rf.size is None else list(rf.size),
                }
                for name, rf in self.nodes.items()
            },
            "misalignments": [
                {
                    "node": m.node,
                    "axis": m.axis,
                    "inputs": [
                        {
                            "node": name,
                            "r": exact(rf.r),
                            "S": exact(rf.S),
                            "P": exact(rf.P),
                            "centre": exact(rf.centre),
                        }
                        for name, rf in m.inputs
                    ],
                }
                for m in self.misalignments
            ],
        }


def exact(value: Number | None) -> int | str | None:
    """An exact number as JSON has it: an int, a "p/q" string, or None.

    >>> exact(4), exact(Fraction(3, 2)), exact(Fraction(4, 2)), exact(None)
    (4, '3/2', 2, None)
    """
    if value is None or isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _exact(values: Sequence[Number | None]) -> list[int | str | None]:
    return [exact(v) for v in values]


def analyze(
    source: Network | str | os.PathLike[str],
    input_size: int | Sequence[int] | None = None,
    *,
    relative_to: str | None = None,
    order: Iterable[str] | None = None,
) -> Analysis:
    """Compute r, S, P and r_min of every node, and check every merge.

    Parameters
    ----------
    source
        A :class:`Network` or the path of a YAML file.
    input_size
        Input size (one int, or one per axis); overrides the file's. With it,
        feature-map sizes and exact "same" paddings are computed.
    relative_to
        Compute fields relative to this node instead of the input (the paper's
        r_l, S_l, P_l); only the nodes it feeds are reported.
    order
        A topological order of the network's nodes (default: networkx's).

    Returns
    -------
    Analysis

    Raises
    ------
    RFGraphError
        An invalid file, an unknown ``relative_to``, maps of different sizes
        meeting at a merge, or a feature map that becomes empty.

    Examples
    --------
    >>> from rfgraph import loads
    >>> a = analyze(loads('''
    ... layers:
    ...   - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
    ... '''))
    >>> a["c2"].r, a["c2"].S, a["c2"].P, a.aligned
    ((7, 7), (4, 4), (3, 3), True)
    """
    network = source if isinstance(source, Network) else load(source)
    size = _input_size(network, input_size)
    start = network.input if relative_to is None else relative_to
    if start not in network.graph:
        msg = f"unknown node {start!r} to measure fields relative to"
        raise network.error(msg)
    scope = network.graph.nodes if relative_to is None else {start} | nx.descendants(network.graph, start)
    sizes: dict[str, tuple[int, ...] | None] = {network.input: size}
    fields: dict[str, NodeRF] = {}
    paths: dict[str, tuple[dict[Number, Number], ...]] = {}
    found: list[Misalignment] = []
    for v in nx.topological_sort(network.graph) if order is None else order:
        if v != network.input:
            sizes[v] = _size(network, network.layers[v], sizes)
        if v == start:
            fields[v] = NodeRF(v, tuple(AxisRF(1, 1, 0, 1, _at(sizes[v], i)) for i in range(network.dims)))
            paths[v] = tuple({1: 1} for _ in range(network.dims))
        elif v in scope:
            layer = network.layers[v]
            inputs = [u for u in layer.inputs if u in scope]
            fields[v], paths[v], misaligned = _step(network, layer, inputs, fields, paths, sizes)
            found += misaligned
    ordered = {start: fields[start]}
    ordered.update((v, fields[v]) for v in network.nodes if v in fields)
    rank = {v: i for i, v in enumerate(ordered)}
    found.sort(key=lambda m: (rank[m.node], m.axis))
    return Analysis(network, ordered, tuple(found), size, start)


def _at(size: tuple[int, ...] | None, axis: int) -> int | None:
    return None if size is None else size[axis]


def _input_size(network: Network, given: int | Sequence[int] | None) -> tuple[int, ...] | None:
    if given is None:
        return network.input_size
    values = (given,) if isinstance(given, int) else tuple(given)
    if len(values) == 1:
        values *= network.dims
    if len(values) != network.dims or any(
        isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in values
    ):
        msg = f"input size must be 1 or {network.dims} positive integers, got {list(values)}"
        raise network.error(msg)
    return values


def _size(
    network: Network, layer: Layer, sizes: Mapping[str, tuple[int, ...] | None]
) -> tuple[int, ...] | None:
    """The layer's feature-map size, checking merges and empty maps."""
    size = sizes[layer.inputs[0]]
    if size is None:
        return None
    names = network.axis_names
    if layer.spec.kind == "merge":
        if len({sizes[u] for u in layer.inputs}) > 1:
            shapes = ", ".join(f"{u} {_shape(sizes[u])}" for u in layer.inputs)
            msg = f"merge joins feature maps of different sizes: {shapes}"
            raise network.error(msg, layer.name)
        return size
    out = tuple(layer.window(i, n).out_size(n) for i, n in enumerate(size))
    if min(out) < 1:
        i = min(range(len(out)), key=out.__getitem__)
        w = layer.window(i, size[i])
        msg = (
            f"feature map becomes empty on axis {names[i]}: input size {size[i]}, "
            f"window {w.span} with padding {w.before}+{w.after}"
        )
        raise network.error(msg, layer.name)
    return out


def _shape(size: tuple[int, ...] | None) -> str:
    return "?" if size is None else "x".join(map(str, size))


def _step(
    network: Network,
    layer: Layer,
    inputs: list[str],
    fields: Mapping[str, NodeRF],
    paths: Mapping[str, tuple[dict[Number, Number], ...]],
    sizes: Mapping[str, tuple[int, ...] | None],
) -> tuple[NodeRF, tuple[dict[Number, Number], ...], list[Misalignment]]:
    size = sizes[layer.name]
    axes: list[AxisRF] = []
    path_sets: list[dict[Number, Number]] = []
    misaligned: list[Misalignment] = []
    dependent = any(fields[u].size_dependent for u in inputs)
    for i in range(network.dims):
        if layer.spec.kind == "merge" and len(inputs) > 1:
            ins = [(u, fields[u].axes[i]) for u in inputs]
            r, S, P, ok = _merge([rf for _, rf in ins])
            if not ok:
                misaligned.append(Misalignment(layer.name, i, tuple(ins)))
            shortest: dict[Number, Number] = {}
            for u in inputs:
                for stride, r_path in paths[u][i].items():
                    shortest[stride] = min(r_path, shortest.get(stride, r_path))
        else:
            # a window, or a merge only one of whose inputs the source feeds
            rf = fields[inputs[0]].axes[i]
            in_size = _at(sizes[inputs[0]], i)
            w = layer.window(i, in_size) if layer.spec.kind == "window" else Window()
            if in_size is None and layer.spec.kind == "window":
                dependent = dependent or is_size_dependent(layer.stride[i], layer.padding[i])
            r, S, P = _through(rf, w)
            shortest = {s * w.stride: r_path + (w.span - 1) * s for s, r_path in paths[inputs[0]][i].items()}
        axes.append(AxisRF(r, S, P, min(shortest.values()), _at(size, i)))
        path_sets.append(shortest)
    node = NodeRF(layer.name, tuple(axes), aligned=not misaligned, size_dependent=dependent)
    return node, tuple(path_sets), misaligned


def _through(rf: AxisRF, w: Window) -> tuple[Number | None, Number | None, Number | None]:
    if rf.r is None or rf.S is None or rf.P is None:
        return None, None, None
    return rf.r + (w.span - 1) * rf.S, rf.S * w.stride, rf.P + w.before * rf.S


def _merge(fields: list[AxisRF]) -> tuple[Number | None, Number | None, Number | None, bool]:
    """(r, S, P, aligned) of a merge along one axis."""
    if not all(rf.is_defined for rf in fields) or len({rf.S for rf in fields}) > 1:
        return None, None, None, False
    S = fields[0].S
    if len({rf.centre for rf in fields}) > 1:
        # misaligned: describe the bounding box of the union of the fields
        P = max(rf.P for rf in fields)  # type: ignore[type-var]
        return max(rf.r - rf.P for rf in fields) + P, S, P, False  # type: ignore[operator]
    widest = max(fields, key=lambda rf: rf.r)  # type: ignore[arg-type,return-value]
    return widest.r, S, widest.P, True
