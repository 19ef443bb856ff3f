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

from .fields import Field, Number, anchors, common_period, exact, smallest, through, union
from .network import Layer, Network
from .ops import Geometry, Why
from .spec import load, paused_collector

TYPE_CHECKING = False  # typing is imported for the type checker only: `rfgraph check` starts faster
if TYPE_CHECKING:
    from typing import Any

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
    (7, 4, 3, 0, (1, 7))
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
    def centre(self) -> Number | None:
        """Input coordinate of the centre of feature 0's field (an int where whole, as r, S, P)."""
        centre = None if self.field is None else self.field.centre(0)
        return None if centre is None else exact(centre)

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
    """A merge whose inputs disagree on one axis (its index, its name): the rule, why, each input's field."""

    node: str
    axis: int
    axis_name: str
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
    unless every axis has one. ``not_checked`` holds the merges whose alignment was
    not checked.
    """

    network: Network
    nodes: Mapping[str, NodeRF]
    misalignments: tuple[Misalignment, ...]
    input_size: tuple[int, ...] | None
    source: str
    outputs: tuple[str, ...]
    sizes: Mapping[str, Size]
    not_checked: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        n = len(self.misalignments)
        state = "aligned" if self.aligned else f"{n} misalignment{'' if n == 1 else 's'}"
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
        return [v for v in self.merges if v in self.not_checked]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: exact values as ints or "p/q" strings, undefined as None."""
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
                    "axis_name": m.axis_name,
                    "rule": m.rule,
                    "reason": m.what,
                    "period": m.period,
                    "inputs": [
                        {
                            "node": name,
                            "r": to_json_number(rf.r),
                            "S": to_json_number(rf.S),
                            "P": to_json_number(rf.P),
                            "centre": to_json_number(rf.centre),
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
    with paused_collector():
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
        want = "one positive integer" if network.dims == 1 else f"1 or {network.dims} positive integers"
        msg = f"input size must be {want}, got {list(values)}"
        raise network.error(msg)
    return values


# The pass keeps, per node and axis, its field as
#   (S, first, last) for a field of period 1 that reads something (the fast, common case),
#   a Field otherwise, or a Why where the node has no local field;
# the fields of its single paths that no other one contains (for r_min) as
#   a tuple of (S, r) pairs when all have period 1, else a list of Fields, None when a path needs a size;
# and whether a global op feeds it. Nodes whose axes all share one state are computed once.
Simple = tuple[int, int, int]
State = Simple | Field | Why
Paths = tuple[tuple[int, int], ...] | list[Field] | None


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
        dims = network.dims
        self.sizes: dict[str, Size] = {}
        self.fields: dict[str, tuple[State, ...]] = {}
        self.paths: dict[str, tuple[Paths, ...]] = {}
        self.local = (False,) * dims
        self.square = len(set(size)) == 1  # every axis the same input size, or none
        self.glob: dict[str, tuple[bool, ...]] = {}
        self.same: set[str] = set()  # nodes whose axes share one state
        self.assumed: set[str] = set()
        self.aligned: dict[str, bool | None] = {}
        self.found: list[Misalignment] = []
        self.geometry_cache: dict[tuple[Any, ...], Geometry] = {}

    def run(self) -> Analysis:
        net, dims, start = self.net, self.net.dims, self.start
        layers, fields, paths, same = net.layers, self.fields, self.paths, self.same
        sized = any(n is not None for n in self.size)
        unsized = (None,) * dims
        whole = start == net.input  # every node is fed by the source
        self.sizes[net.input] = self.size
        for v in self.order:
            layer = layers.get(v)
            geometries = None
            if layer is not None:
                if sized or layer.size_of is not None:
                    geometries = self.geometries(layer)
                else:
                    self.sizes[v] = unsized
            if v == start:
                fields[v] = ((1, 0, 0),) * dims
                paths[v] = (((1, 1),),) * dims
                self.glob[v] = self.local
                same.add(v)
                continue
            if layer is None:
                continue
            inputs = layer.inputs if whole else [u for u in layer.inputs if u in fields]
            if not inputs:
                continue
            u = inputs[0]
            if (
                not sized
                and layer.size_of is None
                and layer.symmetric
                and u in same
                and u not in self.assumed
            ):
                # the common case, inlined: no sizes, every axis alike, fields of period 1
                if layer.spec.merge is None:
                    geo = self.nominal_one(layer)
                    w, f, p = geo.window, fields[u][0], paths[u][0]
                    if w is not None and type(f) is tuple and type(p) is tuple and not geo.assumed:
                        s, lo, hi = w
                        S, first, last = f
                        fields[v] = ((S * s, first + lo * S, last + hi * S),) * dims
                        paths[v] = (tuple((T * s, r + (hi - lo) * T) for T, r in p),) * dims
                        self.glob[v] = self.glob[u]
                        same.add(v)
                        continue
                elif len(inputs) == 2 and self.fast_merge(layer, inputs):
                    continue
            if layer.spec.merge is not None and len(inputs) > 1:
                self.merge(layer, list(inputs))
            else:  # a single-input layer, or a merge only one of whose inputs the source feeds
                self.window(layer, u, geometries)
        if whole:  # every node has a field
            names = list(net.nodes)
            fed: set[str] = set()
            for layer in layers.values():
                fed.update(layer.inputs)
        else:
            names = [start, *(v for v in net.nodes if v in fields and v != start)]
            fed = {u for v in names if v in layers for u in layers[v].inputs}
        nodes = _Nodes(self, names)
        if self.found:
            rank = {v: i for i, v in enumerate(names)}
            self.found.sort(key=lambda m: (rank[m.node], m.axis))
        outputs = tuple(v for v in names if v not in fed)
        given = self.sizes[net.input]
        input_size = None if None in given else tuple(n for n in given if n is not None)
        not_checked = frozenset(v for v, ok in self.aligned.items() if ok is None)
        return Analysis(net, nodes, tuple(self.found), input_size, start, outputs, self.sizes, not_checked)

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
        key = (layer.key(i), n, other)
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
        mine, theirs = self.fields.get(layer.inputs[0]), self.fields.get(str(layer.size_of))
        if mine is None or theirs is None:
            return None
        a, b = _field(mine[i]), _field(theirs[i])
        if a is None or b is None:
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
        v = layer.name
        if geometries is None:
            geometries = self.nominal(layer)
        if geometries is None:  # a merge with one fed input: its field passes through
            self.fields[v], self.paths[v], self.glob[v] = self.fields[u], self.paths[u], self.glob[u]
            if u in self.same:
                self.same.add(v)
        elif u in self.same and all(g is geometries[0] for g in geometries):
            f, p, g = _through(self.fields[u][0], self.paths[u][0], self.glob[u][0], geometries[0])
            dims = self.net.dims
            self.fields[v], self.paths[v] = (f,) * dims, (p,) * dims
            self.glob[v] = self.local if not g else (g,) * dims
            self.same.add(v)
        else:
            states = [
                _through(f, p, g, geo)
                for f, p, g, geo in zip(self.fields[u], self.paths[u], self.glob[u], geometries, strict=True)
            ]
            self.fields[v] = tuple(s[0] for s in states)
            self.paths[v] = tuple(s[1] for s in states)
            self.glob[v] = tuple(s[2] for s in states)
        if u in self.assumed or (geometries is not None and any(g.assumed for g in geometries)):
            self.assumed.add(v)

    def nominal_one(self, layer: Layer) -> Geometry:
        """The geometry of a layer whose axes are alike, without an input size."""
        geo = self.geometry_cache.get(layer._keys)
        if geo is None:
            geo = self.geometry_cache[layer._keys] = self.geometry(layer, 0, None, None)
        return geo

    def fast_merge(self, layer: Layer, inputs: tuple[str, ...] | list[str]) -> bool:
        """A merge of two fields of period 1 with axes alike and equal strides, inlined; False if not."""
        a, b = inputs
        if (
            b not in self.same
            or b in self.assumed
            or self.glob[a] is not self.local
            or self.glob[b] is not self.local
        ):
            return False
        fa, fb = self.fields[a][0], self.fields[b][0]
        if type(fa) is not tuple or type(fb) is not tuple or fa[0] != fb[0]:
            return False
        pa, pb = self.paths[a][0], self.paths[b][0]
        if type(pa) is not tuple or type(pb) is not tuple:
            return False
        rule = layer.align or self.net.align
        S, first_a, last_a = fa
        _, first_b, last_b = fb
        if rule == "centre":
            agree = first_a + last_a == first_b + last_b
        elif rule == "start":
            agree = first_a == first_b
        else:
            agree = rule == "none" or last_a == last_b
        if not agree:
            return False  # the general merge says how they differ
        v, dims = layer.name, self.net.dims
        self.fields[v] = ((S, min(first_a, first_b), max(last_a, last_b)),) * dims
        self.paths[v] = (_union_paths([pa, pb]),) * dims
        self.glob[v] = self.local
        self.same.add(v)
        self.aligned[v] = rule != "none" or None
        return True

    def nominal(self, layer: Layer) -> tuple[Geometry, ...] | None:
        """The geometry without an input size, from the cache (layers share parameters)."""
        if layer.spec.merge is not None:
            return None
        if layer.symmetric:
            return (self.geometry(layer, 0, None, None),) * self.net.dims
        return tuple(self.geometry(layer, i, None, None) for i in range(self.net.dims))

    def merge(self, layer: Layer, inputs: list[str]) -> None:
        net = self.net
        rule = layer.align or net.align
        v = layer.name
        dims = net.dims
        same = self.square and all(u in self.same for u in inputs)
        axes = range(1) if same else range(dims)
        fields, paths, globs = [], [], []
        misaligned, unknown = False, False
        for i in axes:
            states = [self.fields[u][i] for u in inputs]
            every = [self.paths[u][i] for u in inputs]
            globs.append(any(self.glob[u][i] for u in inputs))
            paths.append(_union_paths(every))
            field, reason, why_unknown = self.merged_field(inputs, states, rule, i)
            unknown = unknown or why_unknown
            if reason is not None and rule != "none":
                misaligned = True
                for axis in range(dims) if same else (i,):
                    shown = tuple((u, self._axis(u, axis)) for u in inputs)
                    name = net.axis_names[axis]
                    self.found.append(Misalignment(v, axis, name, rule, reason, shown))
            fields.append(field)
        if same:
            self.fields[v], self.paths[v] = (fields[0],) * dims, (paths[0],) * dims
            self.glob[v] = self.local if not globs[0] else (True,) * dims
            self.same.add(v)
        else:
            self.fields[v], self.paths[v], self.glob[v] = tuple(fields), tuple(paths), tuple(globs)
        if any(u in self.assumed for u in inputs):
            self.assumed.add(v)
        checked = rule != "none" and not unknown
        self.aligned[v] = False if misaligned else (True if checked else None)

    def merged_field(
        self, inputs: list[str], states: list[State], rule: str, i: int
    ) -> tuple[State, Reason | None, bool]:
        """(the merge's field, why it is misaligned or None, whether it needs a size) on one axis."""
        if all(type(f) is tuple for f in states):  # the fast case: integer strides
            S = states[0][0]  # type: ignore[index]
            if self.broadcast(inputs, states, i):
                return Why.STRIDES, Reason.BROADCAST, False
            if any(f[0] != S for f in states):  # type: ignore[index]
                return Why.STRIDES, Reason.STRIDES, False
            first = min(f[1] for f in states)  # type: ignore[index]
            last = max(f[2] for f in states)  # type: ignore[index]
            at = {"centre": lambda f: f[1] + f[2], "start": lambda f: f[1], "end": lambda f: f[2]}.get(rule)
            agree = at is None or len({at(f) for f in states}) == 1
            return (S, first, last), None if agree else Reason.ANCHORS, False
        whys = {f for f in states if isinstance(f, Why)}
        local = [f for f in (_field(f) for f in states) if f is not None]
        if Why.STRIDES in whys:
            return Why.STRIDES, Reason.UNDEFINED, False
        if Why.SIZE in whys:
            return Why.SIZE, None, True
        if not local:
            return (Why.GLOBAL if Why.GLOBAL in whys else Why.EMPTY), None, False
        if self.broadcast(inputs, states, i):
            return Why.STRIDES, Reason.BROADCAST, False
        if len({f.S for f in local}) > 1:
            return Why.STRIDES, Reason.STRIDES, False
        field = _local(union(local))
        if rule != "none" and len(local) > 1:
            period = common_period(local)
            if not _agree([anchors(f, rule, period) for f in local]):
                return field, Reason.ANCHORS, False
        return field, None, False

    def broadcast(self, inputs: list[str], states: list[State], i: int) -> bool:
        """Whether a local one-feature map is broadcast over a larger one on axis i."""
        sizes = [self.sizes[u][i] for u in inputs]
        if None in sizes:
            return False
        local = [n for n, f in zip(sizes, states, strict=True) if not isinstance(f, Why)]
        return max(n for n in sizes if n is not None) > 1 and 1 in local

    def _axis(self, v: str, i: int) -> AxisRF:
        field, paths, is_global = self.fields[v][i], self.paths[v][i], self.glob[v][i]
        size = self.sizes[v][i]
        if paths is None:
            r_min = None
        elif isinstance(paths, tuple):
            r_min = min((r for _, r in paths), default=None)
        else:  # the paths' fields read something (see _through)
            r_min = min((p.r for p in paths), default=None)
        if isinstance(field, Why):
            return AxisRF(None, field, r_min, size, is_global)
        return AxisRF(_field(field), None, r_min, size, is_global)

    def _node(self, v: str) -> NodeRF:
        axes = tuple(self._axis(v, i) for i in range(self.net.dims))
        return NodeRF(v, axes, self.aligned.get(v, True), v in self.assumed)


class _Nodes(Mapping[str, NodeRF]):
    """The analysis' nodes in network order; each NodeRF is made when first asked for."""

    def __init__(self, run: _Pass, names: list[str]) -> None:
        self._run = run
        self._names = names
        self._index = run.fields  # the nodes that have a field, the names
        self._made: dict[str, NodeRF] = {}

    def __getitem__(self, v: str) -> NodeRF:
        rf = self._made.get(v)
        if rf is None:
            if v not in self._index:
                raise KeyError(v)
            rf = self._made[v] = self._run._node(v)
        return rf

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"<{len(self._names)} nodes: {', '.join(self._names[:3])}{', ...' if len(self) > 3 else ''}>"

    def __contains__(self, v: object) -> bool:
        return v in self._index


def _field(state: State) -> Field | None:
    """A state as a Field (None for a Why)."""
    if type(state) is tuple:
        S, first, last = state
        return Field(1, S, ((first, last),))
    return state if isinstance(state, Field) else None


def _simple(field: Field) -> State:
    """A field, in the fast form where it has one."""
    if field.period == 1 and field.boxes[0] is not None:
        (first, last) = field.boxes[0]
        return (field.step, first, last)
    return field


def _through(state: State, paths: Paths, is_global: bool, geo: Geometry) -> tuple[State, Paths, bool]:
    """One axis of a single-input layer: its field, its paths' fields, and whether it is global."""
    if geo.why is Why.GLOBAL:
        return Why.GLOBAL, (), True
    taps = geo.taps
    if taps is None:  # a geometry that needs an input size
        return (state if isinstance(state, Why) else Why.SIZE), None, is_global
    w = geo.window
    if w is not None and type(state) is tuple:
        s, lo, hi = w
        S, first, last = state
        field: State = (S * s, first + lo * S, last + hi * S)
    elif isinstance(state, Why):
        field = state
    else:
        local = _local(through(_field(state), taps))  # type: ignore[arg-type]
        field = local if isinstance(local, Why) else _simple(local)
    if paths is None:
        return field, None, is_global
    if w is not None and type(paths) is tuple:
        s, lo, hi = w
        return field, tuple((S * s, r + (hi - lo) * S) for S, r in paths), is_global
    # a path whose taps all land in holes reads nothing: it has no field, and no part in r_min
    general = [f for f in (through(p, taps) for p in _general(paths)) if any(f.boxes)]
    return field, general, is_global


def _general(paths: Paths) -> list[Field]:
    if type(paths) is tuple:
        return [Field(1, S, ((0, r - 1),)) for S, r in paths]
    return paths  # type: ignore[return-value]


def _union_paths(every: list[Paths]) -> Paths:
    """The paths of a merge: every input's, less those another one contains."""
    if any(p is None for p in every):
        return None
    if all(type(p) is tuple for p in every):
        if len(every) == 2 and every[0] == every[1]:
            return every[0]
        best: dict[int, int] = {}
        for p in every:
            for S, r in p:  # type: ignore[misc,union-attr]
                if r < best.get(S, r + 1):
                    best[S] = r
        return tuple(best.items())
    return smallest([f for p in every for f in _general(p)])


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
