"""Exact boxes on finite maps: the input pixels each feature of a node really reads.

A field's box extends every map to infinity. At a given input size, an index
below 0 or at/after an inner map's size is padding there: a strided layer that
drops its input's last rows, followed by a padded layer, reads padding where
the infinite picture would put input pixels, and a dilated tap that lands in
padding reads nothing. :func:`clipped_boxes` walks the node's ancestors once,
map by map over whole n-D maps (numpy, linear in their areas), and gives every
feature the bounding box of the source pixels it reads.

A layer's taps are a product of per-axis taps, and the least (greatest) index
over a product of taps is reduced one axis after the other, so that is exact.
A feature that reads nothing holds ``first = BIG``, ``last = -1`` on every axis,
which minimum and maximum keep, so a merge input that reads nothing at a
feature adds nothing there on any axis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from .analysis import Analysis
    from .ops import Taps

#: Maps larger than this many features are not walked (the arrays would not fit).
MAX_FEATURES = 2**24

_BIG = 2**63 - 1  # the first pixel of a feature that reads none


@dataclass(frozen=True, slots=True, eq=False)
class Boxes:
    """Per feature of one map, the box of the source pixels it reads along ``axes``.

    ``first[k]`` and ``last[k]`` are the first and last pixel along axis
    ``axes[k]``: integer arrays of the map's shape on those axes, so of shape
    ``(len(axes), *size)`` when every axis is one (the node has a local field on
    every axis). Where a feature reads no pixel, ``first > last`` on every axis.
    """

    axes: tuple[int, ...]
    first: np.ndarray
    last: np.ndarray

    @property
    def reads(self) -> np.ndarray:
        """Whether each feature reads some source pixel (a boolean map)."""
        return self.first[0] <= self.last[0]

    def box(self, index: tuple[int, ...]) -> dict[int, tuple[int, int]] | None:
        """``{axis: (first, last)}`` on ``axes`` for the feature at ``index`` (one entry per axis of
        the map); None if it reads nothing."""
        at: tuple[Any, ...] = (slice(None), *(index[a] for a in self.axes))
        first, last = self.first[at], self.last[at]
        if first[0] > last[0]:
            return None
        return {a: (int(lo), int(hi)) for a, lo, hi in zip(self.axes, first, last, strict=True)}

    def holding(self, pixel: tuple[int, ...]) -> np.ndarray:
        """Which features' boxes hold ``pixel`` (one coordinate per axis of the map) on all ``axes``."""
        import numpy as np

        at = np.array([pixel[a] for a in self.axes], dtype=np.int64).reshape((-1,) + (1,) * len(self.axes))
        return np.logical_and.reduce((self.first <= at) & (at <= self.last), axis=0)


def clipped_boxes(analysis: Analysis, node: str) -> Boxes | None:
    """Per feature of ``node``: the box of the source pixels it reads on the finite maps.

    The box is on the axes where the node has a local field (all of them, but
    for a global or undefined axis). On those axes, a merge's inputs that have
    no local field on one of them are left out, as they are of its field, and
    the maps are walked on those axes only. None where the node has no local
    field on any axis, or the analysis has no input size.

    Raises
    ------
    RFGraphError
        A map on the way has more than :data:`MAX_FEATURES` features.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads("dims: 1\\nlayers: [{name: c, op: conv, kernel: 3, dilation: 2, padding: 2}]"), 8)
    >>> found = clipped_boxes(a, "c")
    >>> found.first[0].tolist(), found.last[0].tolist()
    ([0, 1, 0, 1, 2, 3, 4, 5], [2, 3, 4, 5, 6, 7, 6, 7])

    Two branches padded on opposite corners: feature (2, 0) of their sum reads
    pixel (0, 0) through one branch and only padding through the other.

    >>> a = analyze(loads('''
    ... align: none
    ... layers:
    ...   - {name: a, op: pad, padding: [[0, 2], [2, 0]]}
    ...   - {name: b, op: pad, padding: [[2, 0], [0, 2]], inputs: [input]}
    ...   - {name: add, op: add, inputs: [a, b]}
    ... '''), 6)
    >>> clipped_boxes(a, "add").box((2, 0))
    {0: (0, 0), 1: (0, 0)}
    """
    return every_clipped_box(analysis, [node]).get(node)


def every_clipped_box(analysis: Analysis, nodes: Iterable[str]) -> dict[str, Boxes]:
    """:func:`clipped_boxes` of each of ``nodes`` that has them, in one walk over their ancestors
    (one per set of local axes).

    >>> from rfgraph import analyze, loads
    >>> net = loads("dims: 1\\nlayers: [{name: c, op: conv, kernel: 2}, {name: g, op: global_pool}]")
    >>> found = every_clipped_box(analyze(net, 3), ["input", "c", "g"])
    >>> {v: (b.first.tolist(), b.last.tolist()) for v, b in found.items()}
    {'input': ([[0, 1, 2]], [[0, 1, 2]]), 'c': ([[0, 1]], [[1, 2]])}
    """
    groups: dict[tuple[int, ...], list[str]] = {}
    for v in nodes:
        rf = analysis[v]
        axes = tuple(i for i, a in enumerate(rf.axes) if a.field is not None)
        if rf.size is not None and axes:
            groups.setdefault(axes, []).append(v)
    found: dict[str, Boxes] = {}
    for axes, wanted in groups.items():
        found |= _walk(analysis, wanted, axes)
    return {v: found[v] for v in nodes if v in found}


def _walk(analysis: Analysis, wanted: list[str], axes: tuple[int, ...]) -> dict[str, Boxes]:
    import numpy as np

    net = analysis.network
    needed = {v for node in wanted for v in net.ancestors(node, stop=analysis.source) if v in analysis.nodes}
    for v in needed:
        size = analysis[v].size
        if size is not None and (count := math.prod(size[a] for a in axes)) > MAX_FEATURES:
            msg = f"exact boxes are not computed on maps over {MAX_FEATURES} features ({v!r} has {count})"
            raise net.error(msg, wanted[0] if len(wanted) == 1 else None)
    keep = set(wanted)
    readers: dict[str, int] = dict.fromkeys(needed, 0)
    for v in needed:
        layer = net.layers.get(v)
        for u in () if layer is None or v == analysis.source else set(layer.inputs):
            if u in readers:
                readers[u] += 1
    boxes: dict[str, Boxes] = {}
    for v in net.order:
        if v not in needed:
            continue
        rf = analysis[v]
        assert rf.size is not None
        size = tuple(rf.size[a] for a in axes)
        if v == analysis.source:
            at = np.indices(size, dtype=np.int64)
            boxes[v] = Boxes(axes, at, at)
            continue
        layer = net.layers[v]
        inputs = [u for u in dict.fromkeys(layer.inputs) if u in boxes]
        if all(rf.axes[a].field is not None for a in axes) and inputs:
            if layer.spec.merge is None:
                boxes[v] = _through(analysis, v, boxes[inputs[0]])
            else:
                # an input of one feature along an axis is broadcast over the others
                shape = (len(axes), *size)
                first = reduce(np.minimum, [boxes[u].first for u in inputs])
                last = reduce(np.maximum, [boxes[u].last for u in inputs])
                boxes[v] = Boxes(axes, np.broadcast_to(first, shape), np.broadcast_to(last, shape))
        for u in inputs:  # free what no other ancestor reads
            readers[u] -= 1
            if readers[u] == 0 and u not in keep:
                del boxes[u]
    return {v: boxes[v] for v in wanted if v in boxes}


def _through(analysis: Analysis, v: str, below: Boxes) -> Boxes:
    layer = analysis.network.layers[v]
    u = layer.inputs[0]
    size = analysis[v].size
    assert size is not None
    first, last = below.first, below.last
    for k, axis in enumerate(below.axes):
        n_in = analysis[u].axes[axis].size
        other = None if layer.size_of is None else analysis.sizes[layer.size_of][axis]
        taps = layer.geometry(axis, n_in, other).taps
        assert taps is not None and n_in is not None
        first = _reduce(first, taps, k + 1, size[axis], n_in, _BIG)
        last = _reduce(last, taps, k + 1, size[axis], n_in, -1)
    return Boxes(below.axes, first, last)


def _reduce(values: np.ndarray, taps: Taps, k: int, n: int, n_in: int, empty: int) -> np.ndarray:
    """Along array axis ``k``: per output feature, the least (``empty`` = BIG) or greatest
    (``empty`` = -1) of ``values`` over its taps; a tap outside [0, n_in) is padding and reads nothing."""
    import numpy as np

    if taps.period == taps.step == 1 and taps.offsets == ((0,),) and n == n_in:
        return values  # pointwise: the same map
    pick = np.minimum if empty == _BIG else np.maximum
    shape = list(values.shape)
    shape[k] = n
    out = np.full(shape, empty, dtype=np.int64)
    before = (slice(None),) * k
    for phase, offsets in enumerate(taps.offsets):
        count = len(range(phase, n, taps.period))  # features m = 0..count-1 of this phase
        # only offsets that land inside the input for some feature matter (kernels may be huge)
        lowest = -taps.step * (count - 1)
        for o in offsets if not isinstance(offsets, range) else _within(offsets, lowest, n_in - 1):
            lo = max(0, -(o // taps.step))  # feature m reads step*m + o, inside when in [0, n_in)
            hi = min(count - 1, (n_in - 1 - o) // taps.step)
            if lo > hi:
                continue
            to = out[(*before, slice(phase + taps.period * lo, phase + taps.period * hi + 1, taps.period))]
            pick(to, values[(*before, slice(taps.step * lo + o, taps.step * hi + o + 1, taps.step))], out=to)
    return out


def _within(offsets: range, lo: int, hi: int) -> range:
    """The part of an ascending range that lies in [lo, hi]."""
    start = max(0, -(-(lo - offsets.start) // offsets.step))
    stop = min(len(offsets), (hi - offsets.start) // offsets.step + 1)
    return offsets[start:stop] if start < stop else range(0)


__all__ = ["MAX_FEATURES", "Boxes", "clipped_boxes", "every_clipped_box"]
