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

Cost. A walk (:func:`erf`) visits the node's ancestors once, at the size of the feature's
footprint on each one's map (bounded by the map with an input size): a few times r in nets that
downsample, about r squared over 4 in a deep stride-1 chain. :func:`erfs` computes every node's
weights bottom-up instead, in one pass per axis: about the sum over the nodes of r times their
taps (times the period where strides are fractions), and, with an input size, a row as wide as
the input for each feature the walks from features that lose weight at a border would visit.
Axes that are alike are computed once; the pass itself (:func:`rfgraph.analyze`) does none of this.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from .analysis import Analysis, AxisRF, NodeRF
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

    One pass per axis computes them all bottom-up, each node's weights from its inputs' (a layer
    spreads them over its taps, a merge adds them up by shares): about the sum over the nodes of r
    times their taps (times the period where strides are fractions), where a walk from each node
    costs about r squared in a deep chain.

    Why it is exact. Without a size nothing is lost, and every feature's weights are those of its
    phase, translated: the walk's sums, added in another order. With sizes, a feature that reads
    only inside every map on its way down (decided exactly: a boolean per feature of each map, from
    its inputs' and the taps) loses nothing either, so the same holds. Any other feature adds up its
    inputs' features over the taps that land inside their maps, as the walk does, bottom-up over the
    features those walks would visit. The weights agree with :func:`erf` to rounding (about 1e-16
    of the largest).

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads("layers: [{name: c, op: conv, kernel: 3}, {name: g, op: global_pool}]"), 8)
    >>> found = erfs(a)
    >>> found["c"].feature, round(found["c"].axes[0].std ** 2, 12), found["g"].axes
    ((2, 2), 0.666666666667, (None, None))
    """
    walker = _Walker(analysis)
    wanted = list(dict.fromkeys(analysis.nodes if nodes is None else nodes))
    features = {v: _default_feature(_node(analysis, v)) for v in wanted}
    net, needed = analysis.network, set(wanted)
    for v in reversed(net.order):  # their ancestors
        if v in needed and v in net.layers and v != analysis.source:
            needed.update(u for u in net.layers[v].inputs if u in analysis.nodes)
    order = [v for v in net.order if v in needed]
    swept = {i: _sweep(walker, order, features, i) for i in range(net.dims) if walker.twin(i) == i}

    def marginal(v: str, i: int) -> _Marginal | None:
        return swept[i][v] if i in swept else walker.walk_axis(v, features[v], i)

    return {v: walker.assemble(v, features[v], functools.partial(marginal, v)) for v in wanted}


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
    leftmost, also among those within rounding of the most) is taken.

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
    a = int(shortest[np.flatnonzero(held >= held.max() - _ROUNDING)[0]])  # ties by rounding: leftmost
    interval = (first + a, first + int(ends[a]) - 1)
    return AxisERF(first, values, mean, math.sqrt(max(variance, 0.0)), interval)


# A block of weights: the coordinate of its first position on each walked axis, and the array.
_Block = tuple[tuple[int, ...], np.ndarray]
# One feature's unnormalised weights along one axis: the first input coordinate, the weights, and
# the concats on the way that weighed their inputs equally.
_Marginal = tuple[int, np.ndarray, Iterable[str]]


def _default_feature(rf: NodeRF) -> tuple[int, ...]:
    """The centre feature with an input size, else feature 0."""
    return (0,) * len(rf.axes) if rf.size is None else tuple((n - 1) // 2 for n in rf.size)


class _Walker:
    """Walks from one feature down to the source, one layer at a time; caches the layers' taps."""

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.net = analysis.network
        self.cache: dict[tuple[Any, ...], Geometry] = {}
        self.channels: dict[str, int | None] | None = None
        self.twins: list[int] | None = None
        self.rank: dict[str, int] | None = None

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
        rf = _node(self.analysis, node)
        if index is None:
            feature = _default_feature(rf)
        else:
            feature = _coordinates(self.analysis, node, index, "feature index", rf.size, "feature map")
        return self.assemble(node, feature, lambda i: self.walk_axis(node, feature, i))

    def walk_axis(self, node: str, feature: tuple[int, ...], i: int) -> _Marginal | None:
        """The weights of one feature along axis ``i``, walked down."""
        walked = self.walk(node, feature, (i,))
        if walked is None:
            return None
        (first,), weights, by_count = walked
        return first, weights, by_count

    def assemble(
        self, node: str, feature: tuple[int, ...], marginal: Callable[[int], _Marginal | None]
    ) -> ERF:
        """The ERF of one feature, from its unnormalised weights along each axis that has some."""
        analysis = self.analysis
        rf = analysis[node]
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
            found = marginal(i)
            if found is None:
                axes.append(None)
                notes.append(_WHY[Why.SIZE])
                continue
            first, weights, by_count = found
            equal.update(dict.fromkeys(by_count))
            nonzero = np.flatnonzero(weights)
            if not len(nonzero):
                axes.append(None)
                notes.append(_nothing_read(axis, feature[i], analysis.input_size is not None))
                continue
            weights = weights[nonzero[0] : nonzero[-1] + 1]
            axes.append(summary(weights / weights.sum(), first + int(nonzero[0])))
            notes.append(None)
        if self.rank is None:
            self.rank = {v: k for k, v in enumerate(self.net.order)}
        concats = tuple(sorted(equal, key=self.rank.__getitem__))
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


# --- every node at once, bottom-up (erfs) ------------------------------------------------------

# A weight vector along one axis: the input coordinate of its first weight, and the weights.
_Vector = tuple[int, np.ndarray]
_EMPTY: _Vector = (0, np.zeros(0))


@dataclass(frozen=True, slots=True)
class _Periodic:
    """The weights of every feature of a map along one axis, up to a translation: feature
    ``period*m + phase`` weighs input coordinate ``first + step*m + j`` by ``weights[j]``, where
    ``(first, weights) = vectors[phase]``. A vector is None where no feature that could take it
    from here needs it (the feature does not exist, or reads padding: ``_rows`` computes those)."""

    period: int
    step: int
    vectors: tuple[_Vector | None, ...]

    def at(self, x: int) -> _Vector | None:
        m, phase = divmod(x, self.period)
        vector = self.vectors[phase] if phase < len(self.vectors) else None
        return None if vector is None else (vector[0] + self.step * m, vector[1])


# A node's weights along one axis: a sum of periodic parts, one per effective stride (a merge of
# different strides keeps one each; a one-feature map broadcast over a larger one has stride 0).
_Parts = tuple[_Periodic, ...]


def _sweep(
    walker: _Walker, order: list[str], features: Mapping[str, tuple[int, ...]], i: int
) -> dict[str, _Marginal | None]:
    """Along axis ``i``, the marginal of the feature ``features[v]`` of each node v that has one
    there, computed in one pass over ``order`` (a topological order of those nodes' ancestors)."""
    analysis, net = walker.analysis, walker.net
    width = walker.size(analysis.source, i)
    # without sizes no feature loses weight: a node's state is dropped once its readers are done
    layers = [net.layers[v] for v in order if v != analysis.source]
    readers = None if width is not None else Counter(u for layer in layers for u in set(layer.inputs))
    state: dict[str, _State] = {}
    found: dict[str, _Marginal | None] = {}
    lost: dict[str, int] = {}  # the features the walk would lose weight for
    for v in order:
        if v == analysis.source:
            safe = None if width is None else np.ones(width, bool)
            state[v] = (_Periodic(1, 1, ((0, np.ones(1)),)),), safe, _NONE
        elif net.layers[v].spec.merge is None:
            state[v] = _layer_state(walker, v, i, state[net.layers[v].inputs[0]], width)
        else:
            inputs, shares, by_count = _local_inputs(walker, v, i)
            parts, safe, equal = _merge_state(walker, v, i, inputs, shares, [state[u] for u in inputs], width)
            state[v] = parts, safe, equal | {v} if by_count else equal
        if v in features and analysis[v].axes[i].why not in (Why.GLOBAL, Why.SIZE):
            parts, safe, concats = state[v]
            x = features[v][i]
            if parts is not None and not _is_safe(safe, np.array([x]))[0]:
                lost[v] = x
            else:
                value = None if parts is None else _value(parts, x)
                assert parts is None or value is not None, (
                    "a feature that reads inside every map has its weights"
                )
                found[v] = None if value is None else (*value, concats)
        if readers is not None and v != analysis.source:
            for u in set(net.layers[v].inputs):
                readers[u] -= 1
                if not readers[u]:
                    state.pop(u, None)
    rows = _rows(walker, order, state, lost, i) if lost else {}
    for v in lost:
        found[v] = walker.walk_axis(v, features[v], i) if rows is None else (0, rows[v], state[v][2])
    return found


# Above this many weights held at once (128 MB; the zoo at its sizes needs at most 3e6), erfs walks
# down from each feature that loses weight at a border instead of computing the rows of every
# feature such walks would visit (a node's rows are dropped once the nodes that read them are done).
_ROWS_LIMIT = 1 << 24

_NONE: frozenset[str] = frozenset()
# A node's state along one axis: its parts (None: a layer on the way needs a size), which of its
# features the walk would lose no weight for (None: all, without sizes), the concats that weighed
# their inputs equally.
_State = tuple[_Parts | None, np.ndarray | None, frozenset[str]]


def _layer_state(walker: _Walker, v: str, i: int, below: _State, width: int | None) -> _State:
    parts, safe, equal = below
    taps = walker.taps(v, i)
    if taps is None or parts is None:
        return None, None, equal
    n_in, n = walker.size(walker.net.layers[v].inputs[0], i), walker.size(v, i)
    through = tuple(_through(part, taps, n_in, n, width) for part in parts)
    return through, None if safe is None else _safe_through(safe, taps, n), equal


def _local_inputs(walker: _Walker, v: str, i: int) -> tuple[list[str], list[float], bool]:
    """A merge's inputs that are not global on axis ``i``, their shares, and whether those are equal
    for lack of channel counts (as the walk has them)."""
    inputs = [u for u in walker.net.layers[v].inputs if u in walker.analysis.nodes]
    inputs = [u for u in inputs if not walker.is_global(u, (i,))]
    shares = walker.shares(v, inputs) if inputs else []
    if shares is None:
        return inputs, [1 / len(inputs)] * len(inputs), True
    return inputs, shares, False


def _merge_state(
    walker: _Walker,
    v: str,
    i: int,
    inputs: list[str],
    shares: list[float],
    below: list[_State],
    width: int | None,
) -> _State:
    n = walker.size(v, i)
    equal = _NONE.union(*(e for _, _, e in below))
    terms: list[tuple[float, _Parts]] = []
    safes: list[np.ndarray | bool | None] = []
    for u, share, (parts, safe, _) in zip(inputs, shares, below, strict=True):
        if parts is None:
            return None, None, equal
        if walker.size(u, i) == 1 and n != 1:  # broadcast: the walk sums the weight onto u's feature 0
            terms.append((share, (_Periodic(1, 0, (_value(parts, 0),)),)))
            safes.append(safe is None or bool(_is_safe(safe, np.zeros(1, int))[0]))
        else:
            terms.append((share, parts))
            safes.append(safe)
    return _merge(terms, n, width), None if width is None else _safe_merge(safes, n), equal


def _is_safe(safe: np.ndarray | None, xs: np.ndarray) -> np.ndarray:
    """Whether the walk loses no weight for each feature of ``xs`` (None: no map is finite)."""
    if safe is None:
        return np.ones(len(xs), bool)
    inside = (xs >= 0) & (xs < len(safe))
    return inside & safe[np.clip(xs, 0, max(len(safe) - 1, 0))] if len(safe) else inside


def _rows(
    walker: _Walker, order: list[str], state: Mapping[str, _State], lost: Mapping[str, int], i: int
) -> dict[str, np.ndarray] | None:
    """The weights of features that lose weight at a border (``lost``: one per node), as rows over the
    input map: what the walks down from them would give, each feature on the way computed once.

    First, top-down, which features of which nodes those walks visit; then, bottom-up, their rows:
    a feature the walk loses no weight for has its parts' weights, any other adds up its inputs'
    rows over the taps that land inside their maps (those outside read padding). A node's rows are
    dropped once every node that reads them is done. None where more than ``_ROWS_LIMIT`` weights
    would be held at once: walk instead.
    """
    source = walker.analysis.source
    width = walker.size(source, i) or 0
    asked: dict[str, list[np.ndarray]] = {v: [np.array([x])] for v, x in lost.items()}
    visited: dict[str, np.ndarray] = {}
    reads: dict[str, set[str]] = {}
    for v in reversed(order):
        if v not in asked:
            continue
        xs = visited[v] = np.unique(np.concatenate(asked.pop(v)))
        xs = xs[~_is_safe(state[v][1], xs)]
        reads[v] = set()
        if v != source and len(xs):
            for u, _, _, ys in _reads(walker, v, i, xs):
                asked.setdefault(u, []).append(ys)
                reads[v].add(u)
    readers = Counter(u for us in reads.values() for u in us)
    held = peak = 0
    for v in (v for v in order if v in visited):  # what the loop below holds
        held += len(visited[v])
        peak = max(peak, held)
        for u in reads[v]:
            readers[u] -= 1
            held -= 0 if readers[u] else len(visited[u])
    if peak * width > _ROWS_LIMIT:
        return None
    readers = Counter(u for us in reads.values() for u in us)
    rows: dict[str, np.ndarray] = {}
    found: dict[str, np.ndarray] = {}
    for v in order:
        if v not in visited:
            continue
        xs = visited[v]
        out = np.zeros((len(xs), width))
        safe = _is_safe(state[v][1], xs)
        parts = state[v][0]
        assert parts is not None, "a layer below a feature that has weights has its taps"
        _place(out, np.flatnonzero(safe), xs[safe], parts)
        bad = np.flatnonzero(~safe)
        if v != source and len(bad):
            for u, weight, at, ys in _reads(walker, v, i, xs[bad]):
                out[bad[at]] += weight * rows[u][np.searchsorted(visited[u], ys)]
        rows[v] = out
        if v in lost:
            found[v] = out[np.searchsorted(xs, lost[v])].copy()  # not a view keeping all of out
        if not readers[v]:  # no visited node reads its rows
            del rows[v]
        for u in reads[v]:
            readers[u] -= 1
            if not readers[u]:
                del rows[u]
    return found


def _reads(
    walker: _Walker, v: str, i: int, xs: np.ndarray
) -> Iterable[tuple[str, float, np.ndarray, np.ndarray]]:
    """(input, weight, which of ``xs``, the input's features they read) of node ``v``'s features
    ``xs``, over the taps that land inside the input's map."""
    layer = walker.net.layers[v]
    if layer.spec.merge is not None:
        inputs, shares, _ = _local_inputs(walker, v, i)
        everyone = np.arange(len(xs))
        for u, share in zip(inputs, shares, strict=True):
            broadcast = walker.size(u, i) == 1 and walker.size(v, i) != 1
            yield u, share, everyone, np.zeros_like(xs) if broadcast else xs
        return
    taps, u = walker.taps(v, i), layer.inputs[0]
    assert taps is not None
    n = walker.size(u, i)
    for phase in range(taps.period):
        at = np.flatnonzero(xs % taps.period == phase)
        if not len(at):
            continue
        m = xs[at] // taps.period
        base, span = taps.step * int(m[0]), taps.step * int(m[-1] - m[0])
        shared = taps.weights[phase]
        for t, o in _inside(taps.offsets[phase], base, span, n):
            ys = taps.step * m + o
            inside = np.ones(len(ys), bool) if n is None else (ys >= 0) & (ys < n)
            weight = shared if isinstance(shared, Fraction) else shared[t]
            yield u, float(weight), at[inside], ys[inside]


def _place(out: np.ndarray, at: np.ndarray, xs: np.ndarray, parts: _Parts) -> None:
    """Adds the weights of features ``xs`` (which read inside every map) to rows ``at`` of ``out``."""
    for part in parts:
        m, phases = np.divmod(xs, part.period)
        for phase in np.unique(phases):
            vector = part.vectors[phase]
            assert vector is not None, "a feature that reads inside every map has its weights"
            first, weights = vector
            which = np.flatnonzero(phases == phase)
            columns = (first + part.step * m[which])[:, None] + np.arange(len(weights))
            out[at[which][:, None], columns] += weights


def _value(parts: _Parts, x: int) -> _Vector | None:
    """Feature ``x``'s weights: its parts' added up (None: some part does not have them)."""
    terms = []
    for part in parts:
        vector = part.at(x)
        if vector is None:
            return None
        terms.append((vector[0], 1.0, vector[1]))
    return _combine(terms)


def _combine(terms: list[tuple[int, float, np.ndarray]]) -> _Vector:
    """``weight * vector`` of each (first coordinate, weight, vector), added on a common grid."""
    terms = [t for t in terms if len(t[2])]
    if not terms:
        return _EMPTY
    if len(terms) == 1:
        first, weight, vector = terms[0]
        return first, (vector if weight == 1 else weight * vector)
    low = min(t[0] for t in terms)
    out = np.zeros(max(t[0] + len(t[2]) for t in terms) - low)
    for first, weight, vector in terms:
        out[first - low : first - low + len(vector)] += weight * vector
    return low, out


def _fitting(terms: list[tuple[int, float, np.ndarray]], count: int, width: int | None) -> _Vector | None:
    """The terms added up; None where one of the ``count`` is missing, or the sum is wider than the
    input map (no feature that reads only inside it has such weights)."""
    if len(terms) < count:
        return None
    vector = _combine(terms)
    return None if width is not None and len(vector[1]) > width else vector


def _through(
    part: _Periodic, taps: Taps, n_in: int | None, n_out: int | None, width: int | None
) -> _Periodic:
    """A layer's weights from its input's: a feature adds up the weights of the inputs it reads, times
    the taps' weights. With sizes, only phases whose features exist (< ``n_out``) and can read inside
    every map (their weights fit in the input's ``width``)."""
    g = math.gcd(taps.step, part.period)
    period = taps.period * (part.period // g)  # output feature x + period reads inputs a period on
    vectors: list[_Vector | None] = []
    for psi in range(period if n_out is None else min(period, n_out)):
        m, phase = divmod(psi, taps.period)
        offsets, shared = taps.offsets[phase], taps.weights[phase]
        if n_in is not None and len(offsets) and offsets[-1] - offsets[0] >= n_in:
            vectors.append(None)  # wider than the map: every feature of this phase reads padding
            continue
        weight = float(shared) if isinstance(shared, Fraction) else None
        terms = []
        for t, o in enumerate(offsets):
            vector = part.at(taps.step * m + o)
            if vector is None:
                break
            w = weight if weight is not None else float(shared[t])  # type: ignore[index]
            terms.append((vector[0], w, vector[1]))
        vectors.append(_fitting(terms, len(offsets), width))
    return _Periodic(period, taps.step // g * part.step, tuple(vectors))


def _merge(terms: list[tuple[float, _Parts]], n_out: int | None, width: int | None) -> _Parts:
    """A merge's weights: each input's times its share; parts of one stride add up over their
    common period."""
    by_stride: dict[Fraction, list[tuple[float, _Periodic]]] = {}
    for share, parts in terms:
        for part in parts:
            by_stride.setdefault(Fraction(part.step, part.period), []).append((share, part))
    out = []
    for group in by_stride.values():
        period = math.lcm(*(part.period for _, part in group))
        vectors: list[_Vector | None] = []
        for psi in range(period if n_out is None else min(period, n_out)):
            found = [(share, part.at(psi)) for share, part in group]
            whole = [(v[0], share, v[1]) for share, v in found if v is not None]
            vectors.append(_fitting(whole, len(found), width))
        _, first = group[0]
        out.append(_Periodic(period, first.step * period // first.period, tuple(vectors)))
    return tuple(out)


# Which features of a finite map read only positions inside every map on the way down, so that the
# walk loses no weight: one boolean per feature (None on an axis without sizes: all of them).
def _safe_through(safe: np.ndarray, taps: Taps, n_out: int | None) -> np.ndarray:
    n_in = len(safe)
    out = np.zeros(n_out or 0, dtype=bool)  # no size: none (_rows computes them)
    for phase in range(min(taps.period, len(out))):
        m = np.arange(len(range(phase, len(out), taps.period)))
        offsets = taps.offsets[phase]
        if len(offsets) and (n_in == 0 or offsets[-1] - offsets[0] >= n_in):
            continue
        ok = np.ones(len(m), dtype=bool)
        for o in offsets:
            y = taps.step * m + o
            ok &= (y >= 0) & (y < n_in) & safe[np.clip(y, 0, n_in - 1)]
        out[phase :: taps.period] = ok
    return out


def _safe_merge(safes: list[np.ndarray | bool | None], n_out: int | None) -> np.ndarray:
    out = np.ones(n_out or 0, dtype=bool)
    for s in safes:
        if s is None or (isinstance(s, np.ndarray) and len(s) != len(out)):
            return np.zeros(0, dtype=bool)  # sizes that do not match: _rows computes them
        out &= s
    return out


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
