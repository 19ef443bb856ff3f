"""analyze(network) -> Analysis: one topological pass, then the merge checks' findings.

Along one axis, each node's :class:`~rfgraph.fields.Field` says which input
coordinates each of its features depends on (Araujo, Norris & Sim, Distill
2019: r, S, P, generalised to fractional strides by phases). A layer maps its
input's field through its op's taps; a merge unites its inputs' fields and, by
its alignment rule, checks that they agree feature by feature.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .fields import IDENTITY, Field, Number, anchors, common_period, exact, smallest, through, union
from .network import Layer, Network
from .ops import Geometry, Why
from .spec import load

__all__ = ["Analysis", "AxisRF", "Misalignment", "NodeRF", "Reason", "analyze", "to_json_number"]


@dataclass(frozen=True, slots=True)
class AxisRF:
    """The receptive field of one node along one axis.

    ``field`` is None where the node has no local field, and ``why`` says why:
    it reads the whole input (global), a merge upstream joins different
    strides, or the geometry needs an input size. ``is_global`` is True when
    some path from the input reaches the node through a global op.

    >>> rf = AxisRF(Field(1, 4, ((-3, 3),)), r_min=7)
    >>> rf.r, rf.S, rf.P, rf.centre, rf.box(1)
    (7, 4, 3, Fraction(0, 1), (1, 7))
    """

    field: Field | None
    why: Why | None = None
    r_min: int | None = None
    size: int | None = None
    is_global: bool = False

    @property
    def is_defined(self) -> bool:
        return self.field is not None

    @property
    def r(self) -> int | None:
        return None if self.field is None else self.field.r

    @property
    def S(self) -> Number | None:
        return None if self.field is None else self.field.S

    @property
    def P(self) -> int | None:
        return None if self.field is None else self.field.P

    @property
    def centre(self) -> Fraction | None:
        """Input coordinate of the centre of feature 0's field."""
        return None if self.field is None else self.field.centre(0)

    def box(self, x: int) -> tuple[int, int] | None:
        """First and last input coordinate feature ``x`` depends on (None: none)."""
        if self.field is None:
            msg = f"the receptive field is undefined on this axis ({self.why.value if self.why else '?'})"
            raise ValueError(msg)
        return self.field.box(x)


@dataclass(frozen=True, slots=True)
class NodeRF:
    """Receptive field of one node on every axis.

    ``aligned`` is False for a misaligned merge, None for a merge that was not
    checked (its rule is ``none``, or its fields need an input size), True
    otherwise; ``size_dependent`` when a field assumed sizes divisible by
    strides because no input size was given.
    """

    node: str
    axes: tuple[AxisRF, ...]
    aligned: bool | None = True
    size_dependent: bool = False

    def __repr__(self) -> str:
        return f"NodeRF({self.node!r}, r={self.r}, S={self.S}, P={self.P})"

    @property
    def r(self) -> tuple[int | None, ...]:
        return tuple(a.r for a in self.axes)

    @property
    def S(self) -> tuple[Number | None, ...]:
        return tuple(a.S for a in self.axes)

    @property
    def P(self) -> tuple[int | None, ...]:
        return tuple(a.P for a in self.axes)

    @property
    def r_min(self) -> tuple[int | None, ...]:
        return tuple(a.r_min for a in self.axes)

    @property
    def size(self) -> tuple[int, ...] | None:
        sizes = tuple(a.size for a in self.axes)
        return None if None in sizes else sizes  # type: ignore[return-value]

    @property
    def is_global(self) -> bool:
        """Whether some path from the input reaches this node through a global op."""
        return any(a.is_global for a in self.axes)

    def to_dict(self) -> dict[str, Any]:
        """This node's entry of the JSON document: exact numbers as ints or "p/q" strings."""
        return {
            "r": _numbers(self.r),
            "S": _numbers(self.S),
            "P": _numbers(self.P),
            "r_min": _numbers(self.r_min),
            "aligned": self.aligned,
            "global": self.is_global,
            "size": None if self.size is None else list(self.size),
        }


class Reason(enum.Enum):
    """Why a merge is misaligned on one axis."""

    UNDEFINED = "an input's field is undefined"
    STRIDES = "effective strides differ"
    ANCHORS = "anchors differ"  # centres, starts or ends, by the merge's rule
    BROADCAST = "a one-feature local map is broadcast over a larger one"


@dataclass(frozen=True, slots=True)
class Misalignment:
    """A merge whose inputs disagree on one axis: its rule, why, and each input's field."""

    node: str
    axis: int
    rule: str
    reason: Reason
    inputs: tuple[tuple[str, AxisRF], ...]

    @property
    def what(self) -> str:
        """The reason in words: "centres differ", "effective strides differ", ..."""
        if self.reason is Reason.ANCHORS:
            return {"centre": "centres", "start": "starts", "end": "ends"}[self.rule] + " differ"
        return self.reason.value

    @property
    def period(self) -> int:
        """Features after which the comparison repeats (1 with integer strides)."""
        fields = [rf.field for _, rf in self.inputs if rf.field is not None]
        return common_period(fields) if fields else 1

    def anchors(self) -> dict[str, tuple[Fraction | None, ...]]:
        """Each input's anchor (centre, start or end by the rule) at features 0..period-1."""
        period = self.period
        return {u: anchors(rf.field, self.rule, period) for u, rf in self.inputs if rf.field is not None}


def to_json_number(value: Number | None) -> int | str | None:
    """An exact number as JSON has it: an int, a "p/q" string, or None.

    >>> [to_json_number(v) for v in (4, Fraction(3, 2), Fraction(4, 2), None)]
    [4, '3/2', 2, None]
    """
    if value is None or isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def _numbers(values: Sequence[Number | None]) -> list[int | str | None]:
    return [to_json_number(v) for v in values]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Per-node receptive fields of a network, relative to ``source``.

    ``analysis["conv1"]`` is a :class:`NodeRF`; ``nodes`` maps names to them in
    network order, the source first; ``sizes`` gives every node's feature-map size per
    axis (None where not known), fed by the source or not. ``input_size`` is None
    unless every axis has one.
    """

    network: Network
    nodes: Mapping[str, NodeRF]
    misalignments: tuple[Misalignment, ...]
    input_size: tuple[int, ...] | None
    source: str
    outputs: tuple[str, ...]
    sizes: Mapping[str, Size]

    def __repr__(self) -> str:
        state = "aligned" if self.aligned else f"{len(self.misalignments)} misalignment(s)"
        return f"Analysis({self.network.name!r}, {len(self.nodes)} nodes, {state})"

    def __getitem__(self, node: str) -> NodeRF:
        return self.nodes[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def aligned(self) -> bool:
        """No checked merge is misaligned (merges that were not checked do not count)."""
        return not self.misalignments

    @property
    def merges(self) -> list[str]:
        """The merges among the nodes, in network order."""
        layers = self.network.layers
        return [v for v in self.nodes if v in layers and layers[v].spec.merge is not None]

    @property
    def unchecked(self) -> list[str]:
        """Merges whose alignment was not checked (rule ``none``, or fields that need a size)."""
        return [v for v in self.merges if self.nodes[v].aligned is None]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: exact values as ints or "p/q" strings, undefined as None."""
        names = self.network.axis_names
        return {
            "name": self.network.name,
            "input": self.source,
            "input_size": None if self.input_size is None else list(self.input_size),
            "outputs": list(self.outputs),
            "aligned": self.aligned,
            "nodes": {name: rf.to_dict() for name, rf in self.nodes.items()},
            "misalignments": [
                {
                    "node": m.node,
                    "axis": m.axis,
                    "axis_name": names[m.axis],
                    "rule": m.rule,
                    "reason": m.what,
                    "period": m.period,
                    "inputs": [
                        {
                            "node": name,
                            "r": to_json_number(rf.r),
                            "S": to_json_number(rf.S),
                            "P": to_json_number(rf.P),
                            "centre": to_json_number(exact(rf.centre) if rf.centre is not None else None),
                            "anchors": [
                                to_json_number(None if a is None else exact(a))
                                for a in m.anchors().get(name, ())
                            ],
                        }
                        for name, rf in m.inputs
                    ],
                }
                for m in self.misalignments
            ],
        }


def analyze(
    source: Network | str | os.PathLike[str],
    input_size: int | Sequence[int | None] | None = None,
    *,
    relative_to: str | None = None,
    order: Iterable[str] | None = None,
) -> Analysis:
    """Compute every node's field (r, S, P, r_min) on every axis, and check every merge.

    Parameters
    ----------
    source
        A :class:`Network` or the path of a YAML file.
    input_size
        Input size (one int, or one per axis; None leaves an axis unsized);
        overrides the file's. With it, feature-map sizes, exact "same" paddings
        and size-dependent ops are computed.
    relative_to
        Compute fields relative to this node instead of the input (the paper's
        r_l, S_l, P_l); only the nodes it feeds are reported.
    order
        A topological order of all the network's nodes (default: the network's own).

    Returns
    -------
    Analysis

    Raises
    ------
    RFGraphError
        An invalid file, an unknown ``relative_to``, an ``order`` that is not a
        topological order, maps of different sizes meeting at a merge, or a
        feature map that becomes empty.

    Examples
    --------
    >>> from rfgraph import loads
    >>> a = analyze(loads('''
    ... layers:
    ...   - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: up, op: upsample, factor: 2}
    ... '''))
    >>> a["c2"].r, a["c2"].S, a["c2"].P, a.aligned
    ((7, 7), (4, 4), (3, 3), True)
    >>> a["up"].S
    (2, 2)
    """
    network = source if isinstance(source, Network) else load(source)
    return _Pass(network, _input_size(network, input_size), relative_to, order).run()


#: A map's size per axis; None on an axis whose input size is not given.
Size = tuple[int | None, ...]


def _input_size(network: Network, given: int | Sequence[int | None] | None) -> Size:
    if given is None:
        return network.input_size or (None,) * network.dims
    values = (given,) if isinstance(given, int) else tuple(given)
    if len(values) == 1:
        values *= network.dims
    if len(values) != network.dims or any(
        n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1) for n in values
    ):
        msg = f"input size must be 1 or {network.dims} positive integers, got {list(values)}"
        raise network.error(msg)
    return values


# One axis of one node during the pass: its field (or why it has none), the fields of its
# single paths that no other one contains (for r_min; None when some path needs a size),
# and whether a global op feeds it.
_Axis = tuple[Field | Why, list[Field] | None, bool]


class _Pass:
    def __init__(
        self,
        network: Network,
        size: Size,
        relative_to: str | None,
        order: Iterable[str] | None,
    ) -> None:
        self.net = network
        self.size = size
        self.start = network.input if relative_to is None else relative_to
        if self.start not in network.nodes:
            msg = f"unknown node {self.start!r} to measure fields relative to"
            raise network.error(msg)
        self.order = network.order if order is None else _checked_order(network, order)
        self.sizes: dict[str, Size] = {}
        self.axes: dict[str, tuple[_Axis, ...]] = {}
        self.assumed: dict[str, bool] = {}
        self.aligned: dict[str, bool | None] = {}
        self.found: list[Misalignment] = []
        self.geometry_cache: dict[tuple[Any, ...], Geometry] = {}

    def run(self) -> Analysis:
        net, dims = self.net, self.net.dims
        start = self.start
        for v in self.order:
            if v == net.input:
                self.sizes[v] = self.size
                geometries = None
            else:
                geometries = self.geometries(net.layers[v])
            if v == start:
                self.axes[v] = tuple((IDENTITY, [IDENTITY], False) for _ in range(dims))
                self.assumed[v] = False
                continue
            layer = net.layers.get(v)
            if layer is None:
                continue
            inputs = [u for u in layer.inputs if u in self.axes]
            if not inputs:
                continue
            if layer.spec.merge is not None and len(inputs) > 1:
                self.merge(layer, inputs)
            else:  # a single-input layer, or a merge only one of whose inputs the source feeds
                self.window(layer, inputs[0], geometries)
        nodes = {start: self._node(start), **{v: self._node(v) for v in net.nodes if v in self.axes}}
        rank = {v: i for i, v in enumerate(nodes)}
        self.found.sort(key=lambda m: (rank[m.node], m.axis))
        fed = {u for v in nodes if v in net.layers for u in net.layers[v].inputs}
        outputs = tuple(v for v in nodes if v not in fed)
        given = self.sizes[net.input]
        input_size = None if None in given else tuple(n for n in given if n is not None)
        return Analysis(net, nodes, tuple(self.found), input_size, start, outputs, self.sizes)

    def geometries(self, layer: Layer) -> tuple[Geometry, ...] | None:
        """The layer's geometry on every axis, and its size (checked at merges)."""
        if layer.spec.merge is not None:
            self.sizes[layer.name] = self.merged_size(layer)
            return None
        size = self.sizes[layer.inputs[0]]
        other = None if layer.size_of is None else self.sizes[layer.size_of]
        out = []
        for i, n in enumerate(size):
            m: int | Fraction | None = None if other is None else other[i]
            if m is None and layer.size_of is not None and n is None:
                m = self.stride_ratio(layer, i)
            out.append(self.geometry(layer, i, n, m))
        # without an input size, no size is known (not even a global pool's 1)
        self.sizes[layer.name] = tuple(None if n is None else g.size for n, g in zip(size, out, strict=True))
        return tuple(out)

    def geometry(self, layer: Layer, i: int, n: int | None, other: int | Fraction | None) -> Geometry:
        key = (layer.op, layer.key(i), n, other)
        geo = self.geometry_cache.get(key)
        if geo is None:
            geo = layer.geometry(i, n, other)
            self.geometry_cache[key] = geo
        if geo.problem is not None:
            msg = f"axis {self.net.axis_names[i]}: {geo.problem}"
            raise self.net.error(msg, layer.name)
        return geo

    def stride_ratio(self, layer: Layer, i: int) -> Fraction | None:
        """Without sizes, ``size_of`` assumes the maps' sizes divide evenly: their strides' ratio."""
        mine, theirs = self.axes.get(layer.inputs[0]), self.axes.get(str(layer.size_of))
        if mine is None or theirs is None:
            return None
        a, b = mine[i][0], theirs[i][0]
        if not isinstance(a, Field) or not isinstance(b, Field):
            return None
        return Fraction(a.S) / Fraction(b.S)

    def merged_size(self, layer: Layer) -> Size:
        sizes = [self.sizes[u] for u in layer.inputs]
        out: list[int | None] = []
        for i in range(self.net.dims):
            values = {s[i] for s in sizes}
            if None in values:
                out.append(None)
                continue
            if layer.spec.merge == "elementwise" and len(values) == 2 and 1 in values:
                values.discard(1)  # broadcast from a one-feature map
            if len(values) > 1:
                shapes = ", ".join(f"{u} {_shape(self.sizes[u])}" for u in layer.inputs)
                msg = f"merge joins feature maps of different sizes: {shapes}"
                raise self.net.error(msg, layer.name)
            out.append(values.pop())
        return tuple(out)

    def window(self, layer: Layer, u: str, geometries: tuple[Geometry, ...] | None) -> None:
        """A single-input layer (or a merge only one of whose inputs the source feeds)."""
        axes = []
        assumed = self.assumed[u]
        for i, (field, paths, is_global) in enumerate(self.axes[u]):
            geo = None if geometries is None else geometries[i]
            if geo is None:
                axes.append((field, paths, is_global))
                continue
            taps = geo.taps
            assumed = assumed or geo.assumed
            if geo.why is Why.GLOBAL:
                axes.append((Why.GLOBAL, [], True))
            elif taps is None:  # a geometry that needs an input size
                axes.append((field if isinstance(field, Why) else Why.SIZE, None, is_global))
            else:
                new = field if isinstance(field, Why) else _local(through(field, taps))
                axes.append((new, None if paths is None else [through(p, taps) for p in paths], is_global))
        self.axes[layer.name] = tuple(axes)
        self.assumed[layer.name] = assumed
        self.aligned[layer.name] = True

    def merge(self, layer: Layer, inputs: list[str]) -> None:
        net = self.net
        rule = layer.align or net.align
        axes = []
        misaligned, unknown = False, False
        for i in range(net.dims):
            states = [(u, self.axes[u][i]) for u in inputs]
            is_global = any(s[2] for _, s in states)
            every = [s[1] for _, s in states]
            paths = None if None in every else smallest([p for ps in every for p in ps])  # type: ignore[union-attr]
            local = [(u, s[0]) for u, s in states if isinstance(s[0], Field)]
            whys = {s[0] for _, s in states if isinstance(s[0], Why)}
            reason = None
            field: Field | Why
            if Why.STRIDES in whys:
                field, reason = Why.STRIDES, Reason.UNDEFINED
            elif Why.SIZE in whys:
                field, unknown = Why.SIZE, True
            elif not local:
                field = Why.GLOBAL if Why.GLOBAL in whys else Why.EMPTY
            elif self.broadcast(inputs, local, i):
                field, reason = Why.STRIDES, Reason.BROADCAST
            elif len({f.S for _, f in local}) > 1:  # type: ignore[union-attr]
                field, reason = Why.STRIDES, Reason.STRIDES
            else:
                fields = [f for _, f in local]
                field = _local(union(fields))  # type: ignore[arg-type]
                if rule != "none" and len(fields) > 1:
                    period = common_period(fields)  # type: ignore[arg-type]
                    if not _agree([anchors(f, rule, period) for f in fields]):  # type: ignore[arg-type]
                        reason = Reason.ANCHORS
            if reason is not None and rule != "none":
                misaligned = True
                shown = tuple((u, self._axis(u, i)) for u in inputs)
                self.found.append(Misalignment(layer.name, i, rule, reason, shown))
            axes.append((field, paths, is_global))
        self.axes[layer.name] = tuple(axes)
        self.assumed[layer.name] = any(self.assumed[u] for u in inputs)
        checked = rule != "none" and not unknown
        self.aligned[layer.name] = False if misaligned else (True if checked else None)

    def broadcast(self, inputs: list[str], local: list[tuple[str, Any]], i: int) -> bool:
        """Whether a local one-feature map is broadcast over a larger one on axis i."""
        sizes = [n for n in (self.sizes[u][i] for u in inputs) if n is not None]
        if len(sizes) < len(inputs) or len(local) < 2:
            return False
        return max(sizes) > 1 and any(self.sizes[u][i] == 1 for u, _ in local)

    def _axis(self, v: str, i: int) -> AxisRF:
        field, paths, is_global = self.axes[v][i]
        size = self.sizes[v][i]
        r_min = None if paths is None else min((p.r for p in paths if any(p.boxes)), default=None)
        if isinstance(field, Why):
            return AxisRF(None, field, r_min, size, is_global)
        return AxisRF(field, None, r_min, size, is_global)

    def _node(self, v: str) -> NodeRF:
        axes = tuple(self._axis(v, i) for i in range(self.net.dims))
        return NodeRF(v, axes, self.aligned.get(v, True), self.assumed[v])


def _local(field: Field) -> Field | Why:
    """The field, or EMPTY where no feature reads anything (every tap in a hole)."""
    return field if any(field.boxes) else Why.EMPTY


def _agree(per_input: list[tuple[Fraction | None, ...]]) -> bool:
    """Whether every input that reads something at a feature has the same anchor there."""
    for column in zip(*per_input, strict=True):
        if len({a for a in column if a is not None}) > 1:
            return False
    return True


def _checked_order(network: Network, order: Iterable[str]) -> tuple[str, ...]:
    given = tuple(order)
    seen: set[str] = set()
    for v in given:
        if v not in network.nodes:
            msg = f"order: unknown node {v!r}"
            raise network.error(msg)
        if v in seen:
            msg = f"order: {v!r} appears twice"
            raise network.error(msg)
        layer = network.layers.get(v)
        if layer is not None:
            before = [
                u for u in (*layer.inputs, *([layer.size_of] if layer.size_of else [])) if u not in seen
            ]
            if before:
                msg = f"order is not topological: {v!r} comes before its input {before[0]!r}"
                raise network.error(msg, v)
        seen.add(v)
    if len(seen) != len(network.nodes):
        missing = next(v for v in network.nodes if v not in seen)
        msg = f"order leaves out {len(network.nodes) - len(seen)} node(s), the first {missing!r}"
        raise network.error(msg)
    return given


def _shape(size: Size) -> str:
    return "x".join("?" if n is None else str(n) for n in size)
