"""The effective receptive field (ERF): how much each input position weighs in one feature.

Definition. Let every conv and pool average its window (weight ``1/k`` on each of its ``k`` taps
per axis, and ``1/C`` on each of its ``C`` input channels), interpolation keep its real weights
(bilinear, bicubic), activations be the identity, every input of an elementwise merge (add, mul,
...) count equally, and leave out the inputs that are purely global (they see the whole input,
as a squeeze-and-excitation gate does). A concat weighs its inputs by their channel counts, as a
uniform conv after it would; where a count is unknown its inputs count equally, and the result
lists that concat. The ERF of a feature is the gradient of that feature (summed over its
channels) with respect to the input, normalised to sum 1: the map Luo et al. ("Understanding the
Effective Receptive Field in Deep Convolutional Neural Networks", NeurIPS 2016) plot at
initialisation, without the noise of random weights. A mul of two local maps is linearised
where both are 1 (an input of ones, which averaging keeps), so both count equally there; sub,
div, max and min count their inputs equally too (the size of an influence, not its sign).

Borders. With an input size maps are finite: a tap that lands outside its input map reads
padding (zeros, as PyTorch pads), and its weight is lost; what is left is normalised to sum 1.
Without an input size maps are unbounded and nothing is lost.

Marginals and the map. Every op acts on each axis separately, so the weights along one axis
are computed exactly by walking from the feature down to the input with one-dimensional weight
vectors: a layer spreads each position's weight over the taps it reads (placed a step apart,
phase by phase where the stride is a fraction), a merge shares it among its inputs, and the
shares add up where branches meet again. That is the marginal of the full map (the sum over
the other axes) wherever a merge's branches keep equal shares of their weight on the other
axes: always on unbounded maps and for features away from the borders, and for any feature of
a chain; elsewhere they are the weights of the network along that axis alone, as if the other
axes had no border (the map's own sums differ there a little). :meth:`ERF.map` runs the same
walk with N-D arrays and is exact everywhere; it is a sum of outer products over paths, not the
outer product of the marginals (a 1x7 branch added to a 7x1 branch makes a cross).

Cost. A walk visits the node's ancestors once, at the size of the feature's footprint on each
one's map (bounded by the map with an input size): a few times r in nets that downsample, about
r squared over 4 in a deep stride-1 chain. :func:`erfs` walks once per node, and once for axes
that are alike; the pass itself (:func:`rfgraph.analyze`) does none of this.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .analysis import Analysis, AxisRF
from .locate import _coordinates, _node
from .network import Network
from .ops import KEEPS_CHANNELS, Taps, Why

if TYPE_CHECKING:
    from .ops import Geometry

#: The share of the weight the reported interval holds.
MASS = 0.95
# Floating-point sums of many small weights may fall short of MASS by rounding only.
_ROUNDING = 1e-12


@dataclass(frozen=True, slots=True)
class AxisERF:
    """The ERF of one feature along one axis.

    ``weights[j]`` is the weight of input coordinate ``first + j`` (they sum to 1; the
    first and last are not 0, zeros between are kept); ``mean`` and ``std`` are the
    weights' mean coordinate and standard deviation; ``interval`` the first and last
    coordinate of the shortest interval that holds 95% of the weight (of its absolute
    value, should bicubic interpolation make some weights negative).
    """

    first: int
    weights: np.ndarray = field(repr=False)
    mean: float
    std: float
    interval: tuple[int, int]

    @property
    def last(self) -> int:
        return self.first + len(self.weights) - 1

    @property
    def width(self) -> int:
        """The length of :attr:`interval`: the 95% width."""
        return self.interval[1] - self.interval[0] + 1

    @property
    def coordinates(self) -> np.ndarray:
        """The input coordinate of each weight."""
        return np.arange(self.first, self.first + len(self.weights))


@dataclass(frozen=True, slots=True)
class ERF:
    """The ERF of feature ``feature`` of ``node``: one :class:`AxisERF` per axis.

    An axis is None where the feature has no ERF there, and ``notes`` says why (global,
    needs an input size, reads nothing, reads only padding). ``equal_concats`` are the
    concats on the way that weighed their inputs equally because a channel count was
    unknown. :meth:`map` computes the N-D map.
    """

    node: str
    feature: tuple[int, ...]
    axes: tuple[AxisERF | None, ...]
    notes: tuple[str | None, ...]
    equal_concats: tuple[str, ...]
    analysis: Analysis = field(repr=False, compare=False)

    def ratio(self, axis: int) -> float | None:
        """The 95% width over r on one axis (None where either is undefined)."""
        a, r = self.axes[axis], self.analysis[self.node].axes[axis].r
        return None if a is None or r is None else a.width / r

    def map(self) -> np.ndarray:
        """The N-D map: ``map()[j0, j1, ...]`` is the weight of input ``(first0 + j0, first1 + j1, ...)``.

        Exact (see the module's notes); it sums to 1. Its cost is the sum, over the
        node's ancestors, of the size of the feature's footprint on their maps.

        Raises
        ------
        ValueError
            An axis has no ERF.
        """
        if any(a is None for a in self.axes):
            axis = next(i for i, a in enumerate(self.axes) if a is None)
            msg = f"no ERF map: axis {self.analysis.network.axis_names[axis]} has none ({self.notes[axis]})"
            raise ValueError(msg)
        walked = _Walker(self.analysis).walk(self.node, self.feature, tuple(range(len(self.axes))))
        assert walked is not None
        origin, weights, _ = walked
        # the map's support lies inside the marginals' (both walk the same taps; the map also
        # drops paths that lose all their weight on another axis)
        out = np.zeros(tuple(len(a.weights) for a in self.axes if a is not None))
        mine, theirs = [], []
        for o, n, a in zip(origin, weights.shape, self.axes, strict=True):
            assert a is not None
            lo, hi = max(o, a.first), min(o + n, a.last + 1)
            mine.append(slice(lo - a.first, max(hi - a.first, lo - a.first)))
            theirs.append(slice(lo - o, max(hi - o, lo - o)))
        out[tuple(mine)] = weights[tuple(theirs)]
        return out / out.sum()

    def to_dict(self) -> dict[str, Any]:
        """mean, std, the 95% interval and width, and the ratio of that width to r, per axis."""
        return {
            "feature": list(self.feature),
            "mean": [None if a is None else round(a.mean, 6) for a in self.axes],
            "std": [None if a is None else round(a.std, 6) for a in self.axes],
            "interval": [None if a is None else list(a.interval) for a in self.axes],
            "width": [None if a is None else a.width for a in self.axes],
            "ratio": [_rounded(self.ratio(i)) for i in range(len(self.axes))],
            "notes": list(self.notes),
            "equal_concats": list(self.equal_concats),
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def erf(analysis: Analysis, node: str, index: Sequence[int] | None = None) -> ERF:
    """The effective receptive field of one feature of ``node`` (see the module's notes).

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`; with an input size, maps are finite and
        weight that lands in padding is lost.
    node
        A node of the analysis.
    index
        The feature, one index per axis; default the centre feature ``(size - 1) // 2``
        with an input size, else feature 0.

    Returns
    -------
    ERF
        Per axis the first input coordinate, the weights (summing to 1), their mean,
        standard deviation and shortest 95% interval.

    Raises
    ------
    RFGraphError
        An unknown node, or an index outside the feature map.

    Examples
    --------
    Two 2-tap convs give binomial weights, and a skip connection adds its input's weight:

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... dims: 1
    ... layers:
    ...   - {name: c1, op: conv, kernel: 2}
    ...   - {name: c2, op: conv, kernel: 2}
    ...   - {name: skip, op: add, inputs: [c2, input]}
    ... '''))
    >>> (x,) = erf(a, "c2").axes
    >>> x.first, x.weights.tolist(), x.mean, x.interval
    (0, [0.25, 0.5, 0.25], 1.0, (0, 2))
    >>> erf(a, "skip").axes[0].weights.tolist()
    [0.625, 0.25, 0.125]
    """
    return _Walker(analysis).erf(node, index)


def erfs(analysis: Analysis, nodes: Iterable[str] | None = None) -> dict[str, ERF]:
    """:func:`erf` of the default feature of every node (or of ``nodes``), in that order.

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads("layers: [{name: c, op: conv, kernel: 3}, {name: g, op: global_pool}]"), 8)
    >>> found = erfs(a)
    >>> found["c"].feature, round(found["c"].axes[0].std ** 2, 12), found["g"].axes
    ((2, 2), 0.666666666667, (None, None))
    """
    walker = _Walker(analysis)
    return {v: walker.erf(v, None) for v in (analysis.nodes if nodes is None else nodes)}


def layer_taps(analysis: Analysis, node: str, axis: int) -> Taps | None:
    """The taps layer ``node`` uses along ``axis`` at the analysis' sizes (None: it needs a size,
    or reads the whole input). The HTML report walks them in the browser.

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads("layers: [{name: c, op: conv, kernel: 3, stride: 2, padding: same}]"), 7)
    >>> layer_taps(a, "c", 0).offsets
    (range(-1, 2),)
    """
    return _Walker(analysis).taps(node, axis)


def channel_counts(network: Network) -> dict[str, int | None]:
    """Every node's channel count, where it is known: how a concat weighs its inputs.

    A layer's ``channels`` key gives it. Without one, an op that keeps its input's
    channels (pointwise ops, pools, pad, crop, upsample, resize:
    :data:`rfgraph.ops.KEEPS_CHANNELS`) has its input's count, a concat the sum of its
    inputs' counts, another elementwise merge the largest of its inputs' counts (they
    are equal, or 1 broadcast); any other op, and the input, have none (None).

    >>> from rfgraph import loads
    >>> channel_counts(loads('''
    ... layers:
    ...   - {name: a, op: conv, kernel: 1, channels: 64}
    ...   - {name: b, op: max_pool, kernel: 3, inputs: [a]}
    ...   - {name: c, op: conv, kernel: 3, channels: 32, inputs: [a]}
    ...   - {name: cat, op: concat, inputs: [b, c]}
    ...   - {name: d, op: conv, kernel: 1, inputs: [cat]}
    ... '''))
    {'input': None, 'a': 64, 'b': 64, 'c': 32, 'cat': 96, 'd': None}
    """
    counts: dict[str, int | None] = {network.input: None}
    for v in network.order[1:] if network.order[:1] == (network.input,) else network.order:
        layer = network.layers.get(v)
        if layer is None:
            continue
        below = [counts[u] for u in layer.inputs]
        if layer.channels is not None:
            counts[v] = layer.channels
        elif layer.spec.merge == "concat":
            counts[v] = None if None in below else sum(c for c in below if c is not None)
        elif layer.spec.merge is not None:
            known = [c for c in below if c is not None]
            counts[v] = max(known) if known else None
        else:
            counts[v] = below[0] if layer.op in KEEPS_CHANNELS else None
    return counts


def summary(values: np.ndarray, first: int) -> AxisERF:
    """Mean, standard deviation and the shortest 95% interval of weights that sum to 1.

    Among intervals of the shortest length, the one holding the most weight (then the
    leftmost) is taken.

    >>> s = summary(np.array([0.25, 0.5, 0.25]), -1)
    >>> s.mean, round(s.std ** 2, 12), s.interval, s.width
    (0.0, 0.5, (-1, 1), 3)
    >>> summary(np.array([0.01, 0.97, 0.02]), 0).interval
    (1, 1)
    """
    x = np.arange(first, first + len(values), dtype=np.float64)
    mean = float(values @ x)
    variance = float(values @ (x - mean) ** 2)
    mass = np.abs(values)
    cumulative = np.concatenate([[0.0], np.cumsum(mass / mass.sum())])
    # for each start a, the first end b (exclusive) with cumulative[b] - cumulative[a] >= MASS
    ends = np.searchsorted(cumulative, cumulative[:-1] + MASS - _ROUNDING, side="left")
    valid = ends <= len(values)
    starts = np.flatnonzero(valid)
    lengths = ends[starts] - starts
    shortest = starts[lengths == lengths.min()]
    held = cumulative[ends[shortest]] - cumulative[shortest]
    a = int(shortest[np.argmax(held)])
    interval = (first + a, first + int(ends[a]) - 1)
    return AxisERF(first, values, mean, math.sqrt(max(variance, 0.0)), interval)


# A block of weights: the coordinate of its first position on each walked axis, and the array.
_Block = tuple[tuple[int, ...], np.ndarray]


class _Walker:
    """Walks from one feature down to the source, one layer at a time; caches the layers' taps."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.net = analysis.network
        self.cache: dict[tuple[Any, ...], Geometry] = {}
        self.channels: dict[str, int | None] | None = None
        self.twins: list[int] | None = None

    def twin(self, i: int) -> int:
        """The first axis along which every layer, size and global flag is as along axis ``i``:
        a feature with the same index there has the same weights (square nets walk once)."""
        if self.twins is None:
            analysis = self.analysis
            first: dict[tuple[Any, ...], int] = {}
            self.twins = []
            for k in range(self.net.dims):
                signature = tuple(
                    (
                        v,
                        None if layer is None else layer.key(k),
                        self.size(v, k),
                        rf.axes[k].why,
                        rf.axes[k].S,  # size_of without sizes uses the strides' ratio
                    )
                    for v, rf in analysis.nodes.items()
                    for layer in [self.net.layers.get(v)]
                )
                self.twins.append(first.setdefault(signature, k))
        return self.twins[i]

    def erf(self, node: str, index: Sequence[int] | None) -> ERF:
        analysis = self.analysis
        rf = _node(analysis, node)
        if index is None:
            feature = (0,) * len(rf.axes) if rf.size is None else tuple((n - 1) // 2 for n in rf.size)
        else:
            feature = _coordinates(analysis, node, index, "feature index", rf.size, "feature map")
        axes: list[AxisERF | None] = []
        notes: list[str | None] = []
        equal: dict[str, None] = {}
        for i, axis in enumerate(rf.axes):
            twin = self.twin(i)
            if twin < i and feature[twin] == feature[i]:
                axes.append(axes[twin])
                notes.append(notes[twin])
                continue
            if axis.why in (Why.GLOBAL, Why.SIZE):
                axes.append(None)
                notes.append(_WHY[axis.why])
                continue
            walked = self.walk(node, feature, (i,))
            if walked is None:
                axes.append(None)
                notes.append(_WHY[Why.SIZE])
                continue
            (first,), weights, by_count = walked
            equal.update(dict.fromkeys(by_count))
            nonzero = np.flatnonzero(weights)
            if not len(nonzero):
                axes.append(None)
                notes.append(_nothing_read(axis, feature[i], analysis.input_size is not None))
                continue
            weights = weights[nonzero[0] : nonzero[-1] + 1]
            axes.append(summary(weights / weights.sum(), first + int(nonzero[0])))
            notes.append(None)
        rank = {v: k for k, v in enumerate(self.net.order)}
        concats = tuple(sorted(equal, key=rank.__getitem__))
        return ERF(node, feature, tuple(axes), tuple(notes), concats, analysis)

    def walk(
        self, node: str, feature: tuple[int, ...], axes: tuple[int, ...]
    ) -> tuple[tuple[int, ...], np.ndarray, list[str]] | None:
        """The unnormalised weights of the source's positions on ``axes`` (None: a layer on the
        way needs an input size), and the concats that weighed their inputs equally."""
        analysis, net = self.analysis, self.net
        source = analysis.source
        # in reverse topological order every node comes after all that read it: its weight is complete
        pending: dict[str, list[_Block]] = {
            node: [(tuple(feature[i] for i in axes), np.ones((1,) * len(axes)))]
        }
        equal: list[str] = []
        for v in reversed(net.order):
            if v not in pending:
                continue
            block = _sum(pending.pop(v))
            if v == source:
                return block[0], block[1], equal
            layer = net.layers[v]
            if layer.spec.merge is None:
                for k, i in enumerate(axes):
                    taps = self.taps(v, i)
                    if taps is None:
                        return None
                    block = _back(block, k, taps, self.size(layer.inputs[0], i))
                pending.setdefault(layer.inputs[0], []).append(block)
                continue
            inputs = [u for u in layer.inputs if u in analysis.nodes and not self.is_global(u, axes)]
            if not inputs:
                continue
            shares = self.shares(v, inputs)
            if shares is None:
                shares = [1 / len(inputs)] * len(inputs)
                equal.append(v)
            for u, share in zip(inputs, shares, strict=True):
                origin, weights = block
                for k, i in enumerate(axes):  # a one-feature map broadcast over a larger one
                    if self.size(u, i) == 1 and self.size(v, i) != 1:
                        weights = weights.sum(axis=k, keepdims=True)
                        origin = (*origin[:k], 0, *origin[k + 1 :])
                pending.setdefault(u, []).append((origin, weights * share))
        return tuple(0 for _ in axes), np.zeros((0,) * len(axes)), equal  # every weight was lost

    def taps(self, v: str, i: int) -> Taps | None:
        """The taps layer ``v`` uses along axis ``i`` in this analysis (None: needs a size)."""
        layer = self.net.layers[v]
        n = self.size(layer.inputs[0], i)
        other: Any = None
        if layer.size_of is not None:
            other = self.size(layer.size_of, i)
            if other is None:  # without sizes, size_of assumes sizes that divide evenly, as the pass
                nodes = self.analysis.nodes
                mine, theirs = nodes.get(layer.inputs[0]), nodes.get(layer.size_of)
                s_mine = None if mine is None else mine.axes[i].S
                s_theirs = None if theirs is None else theirs.axes[i].S
                other = None if s_mine is None or s_theirs is None else Fraction(s_mine) / Fraction(s_theirs)
        key = (layer.op, layer.key(i), n, other)
        geometry = self.cache.get(key)
        if geometry is None:
            geometry = self.cache[key] = layer.geometry(i, n, other)
        return geometry.taps

    def size(self, v: str, i: int) -> int | None:
        size = self.analysis.sizes.get(v)
        return None if size is None else size[i]

    def is_global(self, u: str, axes: tuple[int, ...]) -> bool:
        return any(self.analysis[u].axes[i].why is Why.GLOBAL for i in axes)

    def shares(self, v: str, inputs: list[str]) -> list[float] | None:
        """Each input's share of a merge's weight; None where a concat lacks channel counts."""
        if self.net.layers[v].spec.merge != "concat":
            return [1 / len(inputs)] * len(inputs)
        if self.channels is None:
            self.channels = channel_counts(self.net)
        counts = [self.channels.get(u) for u in inputs]
        if None in counts:
            return None
        total = sum(c for c in counts if c is not None)
        return [c / total for c in counts if c is not None]


def _sum(blocks: list[_Block]) -> _Block:
    """The blocks added on a common grid."""
    if len(blocks) == 1:
        return blocks[0]
    low = tuple(min(o[k] for o, _ in blocks) for k in range(len(blocks[0][0])))
    high = tuple(max(o[k] + w.shape[k] for o, w in blocks) for k in range(len(low)))
    out = np.zeros(tuple(h - lo for lo, h in zip(low, high, strict=True)))
    for origin, weights in blocks:
        at = tuple(slice(o - lo, o - lo + n) for o, lo, n in zip(origin, low, weights.shape, strict=True))
        out[at] += weights
    return low, out


def _back(block: _Block, k: int, taps: Taps, n: int | None) -> _Block:
    """The weights of a layer's input on array axis ``k``, given its output's: each output position
    spreads its weight over the input positions it reads; positions outside ``[0, n)`` are padding."""
    origin, weights = block
    count = weights.shape[k]
    start = origin[k]
    parts: list[tuple[int, float, np.ndarray]] = []  # (first input coordinate, weight, output slice)
    for phase in range(taps.period):
        j0 = (phase - start) % taps.period  # the first output of this phase
        if j0 >= count:
            continue
        m0 = (start + j0 - phase) // taps.period
        rows = _along(weights, k, slice(j0, None, taps.period))
        steps = rows.shape[k]
        span = taps.step * (steps - 1)
        shared = taps.weights[phase]
        for t, o in _inside(taps.offsets[phase], taps.step * m0, span, n):
            weight = shared if isinstance(shared, Fraction) else shared[t]
            parts.append((taps.step * m0 + o, float(weight), rows))
    if not parts:
        return (*origin[:k], 0, *origin[k + 1 :]), np.zeros(_with(weights.shape, k, 0))
    low = min(p[0] for p in parts)
    high = max(p[0] + taps.step * (p[2].shape[k] - 1) for p in parts)
    out = np.zeros(_with(weights.shape, k, high - low + 1))
    for first, share, rows in parts:
        stop = first - low + taps.step * (rows.shape[k] - 1) + 1
        out[_at(out.ndim, k, slice(first - low, stop, taps.step))] += share * rows
    if n is not None:  # padding: what lands outside the input map is lost
        lo, hi = max(low, 0), min(high, n - 1)
        out = _along(out, k, slice(lo - low, max(hi - low + 1, lo - low)))
        low = lo
    return (*origin[:k], low, *origin[k + 1 :]), out


def _inside(offsets: Sequence[int], base: int, span: int, n: int | None) -> Iterable[tuple[int, int]]:
    """(index, offset) of the taps that land inside ``[0, n)`` for some output: inputs ``base + o``
    to ``base + o + span``. A huge kernel on a small map costs only the taps that matter."""
    if n is None:
        return enumerate(offsets)
    if isinstance(offsets, range):  # ascending, evenly spaced
        lo = max(0, -(-(-span - base - offsets.start) // offsets.step))
        hi = min(len(offsets), (n - 1 - base - offsets.start) // offsets.step + 1)
        return ((t, offsets[t]) for t in range(lo, hi))
    return ((t, o) for t, o in enumerate(offsets) if base + o + span >= 0 and base + o <= n - 1)


def _with(shape: tuple[int, ...], k: int, length: int) -> tuple[int, ...]:
    return (*shape[:k], length, *shape[k + 1 :])


def _at(ndim: int, k: int, index: slice) -> tuple[slice, ...]:
    return (*(slice(None),) * k, index, *(slice(None),) * (ndim - k - 1))


def _along(array: np.ndarray, k: int, index: slice) -> np.ndarray:
    return array[_at(array.ndim, k, index)]


def _nothing_read(axis: AxisRF, x: int, sized: bool) -> str:
    """Why a feature's weights are all 0: every tap lands in a hole, or (on finite maps) in padding."""
    if not sized or axis.why is Why.EMPTY or (axis.field is not None and axis.field.box(x) is None):
        return _READS_NOTHING
    return _READS_PADDING if axis.field is not None else _READS_NO_PIXEL


_WHY = {
    Why.GLOBAL: "global: every feature reads the whole input",
    Why.SIZE: "unknown: needs an input size (give --input-size)",
}
_READS_PADDING = "reads only padding"
_READS_NO_PIXEL = "reads no input pixel: only padding, or holes between taps"
_READS_NOTHING = "reads nothing: a hole between the taps of a transposed conv or stride upstream"

__all__ = ["ERF", "MASS", "AxisERF", "channel_counts", "erf", "erfs", "layer_taps", "summary"]
