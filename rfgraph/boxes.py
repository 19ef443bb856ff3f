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
import operator
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING

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
    ``axes[k]``: integer arrays that broadcast to the map's shape on those axes
    (``separable``: each varies along its own axis only, the box of a feature is
    the product of per-axis ones). A feature that reads no pixel has
    ``first > last`` on some axis.
    """

    axes: tuple[int, ...]
    first: tuple[np.ndarray, ...]
    last: tuple[np.ndarray, ...]
    separable: bool = False

    @property
    def reads(self) -> np.ndarray:
        """Whether each feature reads some source pixel (a boolean map)."""
        return reduce(operator.and_, [lo <= hi for lo, hi in zip(self.first, self.last, strict=True)])

    def box(self, index: tuple[int, ...]) -> dict[int, tuple[int, int]] | None:
        """``{axis: (first, last)}`` on ``axes`` for the feature at ``index`` (one entry per axis of
        the map); None if it reads nothing."""
        at = tuple(index[a] for a in self.axes)
        found = {}
        for a, lo, hi in zip(self.axes, self.first, self.last, strict=True):
            where = tuple(i if n > 1 else 0 for i, n in zip(at, lo.shape, strict=True))
            found[a] = (int(lo[where]), int(hi[where]))
        return None if any(lo > hi for lo, hi in found.values()) else found

    def holding(self, pixel: tuple[int, ...]) -> np.ndarray:
        """Which features' boxes hold ``pixel`` (one coordinate per axis of the map) on all ``axes``."""
        bounds = zip(self.axes, self.first, self.last, strict=True)
        inside = [(lo <= pixel[a]) & (pixel[a] <= hi) for a, lo, hi in bounds]
        return reduce(operator.and_, inside) & self.reads


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
    >>> {v: (b.first[0].tolist(), b.last[0].tolist()) for v, b in found.items()}
    {'input': ([0, 1, 2], [0, 1, 2]), 'c': ([0, 1], [1, 2])}
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
    """The boxes of ``wanted``: axis by axis where that is exact, else over whole maps."""
    net = analysis.network
    needed = {v for node in wanted for v in net.ancestors(node, stop=analysis.source) if v in analysis.nodes}
    lines: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {v: [] for v in needed}
    for a in axes:
        for v, (first, last) in _walk_maps(analysis, needed, needed, (a,), axes).items():
            lines[v].append((first[0], last[0]))
    if _exact_by_axis(analysis, lines, len(axes)):
        found = {}
        for v in wanted:
            if len(lines[v]) == len(axes):
                first, last = zip(
                    *(_along(k, len(axes), line) for k, line in enumerate(lines[v])), strict=True
                )
                found[v] = Boxes(axes, first, last, separable=True)
        return found
    for v in needed:
        size = analysis[v].size
        if size is not None and (count := math.prod(size[a] for a in axes)) > MAX_FEATURES:
            msg = f"exact boxes are not computed on maps over {MAX_FEATURES} features ({v!r} has {count})"
            raise net.error(msg, wanted[0] if len(wanted) == 1 else None)
    maps = _walk_maps(analysis, set(wanted), needed, axes, axes)
    return {v: Boxes(axes, tuple(first), tuple(last)) for v, (first, last) in maps.items()}


def _exact_by_axis(
    analysis: Analysis, lines: dict[str, list[tuple[np.ndarray, np.ndarray]]], dims: int
) -> bool:
    """Whether per-axis boxes are exact: no merge has an input that reads nothing at some feature
    along some axis (an input that reads only padding along h must add nothing along w either)."""
    net = analysis.network
    for v, found in lines.items():
        layer = net.layers.get(v)
        if layer is None or layer.spec.merge is None or len(found) < dims:
            continue
        for u in layer.inputs:
            if len(lines.get(u, ())) == dims and any((first > last).any() for first, last in lines[u]):
                return False
    return True


def _along(k: int, dims: int, line: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """A per-axis array shaped to vary along array axis ``k`` of ``dims``."""
    shape = [1] * dims
    shape[k] = -1
    return line[0].reshape(shape), line[1].reshape(shape)


def _walk_maps(
    analysis: Analysis, keep: set[str], needed: set[str], axes: tuple[int, ...], local: tuple[int, ...]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """First and last pixels on ``axes`` of every feature of the maps of ``keep`` (arrays of shape
    ``(len(axes), *size)``), walking ``needed`` in order. A node gets them when it has a local field
    on all of ``local``; a merge's inputs that have none are left out."""
    import numpy as np

    net = analysis.network
    readers: dict[str, int] = dict.fromkeys(needed, 0)
    for v in needed:
        layer = net.layers.get(v)
        for u in () if layer is None or v == analysis.source else set(layer.inputs):
            if u in readers:
                readers[u] += 1
    boxes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for v in net.order:
        if v not in needed:
            continue
        rf = analysis[v]
        assert rf.size is not None
        size = tuple(rf.size[a] for a in axes)
        if v == analysis.source:
            at = np.indices(size, dtype=np.int64)
            boxes[v] = (at, at)
            continue
        layer = net.layers[v]
        inputs = [u for u in dict.fromkeys(layer.inputs) if u in boxes]
        if all(rf.axes[a].field is not None for a in local) and inputs:
            if layer.spec.merge is None:
                boxes[v] = _through(analysis, v, axes, boxes[inputs[0]])
            else:
                # an input of one feature along an axis is broadcast over the others
                shape = (len(axes), *size)
                first = reduce(np.minimum, [boxes[u][0] for u in inputs])
                last = reduce(np.maximum, [boxes[u][1] for u in inputs])
                boxes[v] = (np.broadcast_to(first, shape), np.broadcast_to(last, shape))
        for u in inputs:  # free what no other ancestor reads
            readers[u] -= 1
            if readers[u] == 0 and u not in keep:
                del boxes[u]
    return {v: boxes[v] for v in keep if v in boxes}


def _through(
    analysis: Analysis, v: str, axes: tuple[int, ...], below: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    layer = analysis.network.layers[v]
    u = layer.inputs[0]
    size = analysis[v].size
    assert size is not None
    first, last = below
    for k, axis in enumerate(axes):
        n_in = analysis[u].axes[axis].size
        other = None if layer.size_of is None else analysis.sizes[layer.size_of][axis]
        taps = layer.geometry(axis, n_in, other).taps
        assert taps is not None and n_in is not None
        first = _reduce(first, taps, k + 1, size[axis], n_in, _BIG)
        last = _reduce(last, taps, k + 1, size[axis], n_in, -1)
    return first, last


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
