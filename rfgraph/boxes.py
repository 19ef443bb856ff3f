"""Exact boxes on finite maps: the input pixels each feature of a node really reads.

A field's box extends every map to infinity. At a given input size, an index
below 0 or at/after an inner map's size is padding there: a strided layer that
drops its input's last rows, followed by a padded layer, reads padding where
the infinite picture would put input pixels, and a dilated tap that lands in
padding reads nothing. :func:`clipped_boxes` walks the node's ancestors once,
map by map (numpy, linear in their sizes), and gives every feature the bounding
box of the source pixels it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from .analysis import Analysis

#: Maps larger than this many features are not walked (the arrays would not fit).
MAX_FEATURES = 2**24


def clipped_boxes(analysis: Analysis, node: str, axis: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Per feature of ``node`` along ``axis``: the first and last source pixel it reads.

    Returns ``(first, last)`` integer arrays as long as the node's map; a
    feature that reads no source pixel has ``first > last``. None where the
    node has no local field on this axis, or the analysis has no input size.

    Raises
    ------
    RFGraphError
        A map on the way is larger than :data:`MAX_FEATURES`.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads("dims: 1\\nlayers: [{name: c, op: conv, kernel: 3, dilation: 2, padding: 2}]"), 8)
    >>> first, last = clipped_boxes(a, "c", 0)
    >>> first.tolist(), last.tolist()
    ([0, 1, 0, 1, 2, 3, 4, 5], [2, 3, 4, 5, 6, 7, 6, 7])
    """
    rf = analysis[node].axes[axis]
    if rf.field is None or rf.size is None:
        return None
    return every_clipped_box(analysis, [node], axis).get(node)


def every_clipped_box(
    analysis: Analysis, nodes: Iterable[str], axis: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """:func:`clipped_boxes` of each of ``nodes`` that has them, in one walk over their ancestors.

    >>> from rfgraph import analyze, loads
    >>> net = loads("dims: 1\\nlayers: [{name: c, op: conv, kernel: 2}, {name: g, op: global_pool}]")
    >>> found = every_clipped_box(analyze(net, 3), ["input", "c", "g"], 0)
    >>> {v: (first.tolist(), last.tolist()) for v, (first, last) in found.items()}
    {'input': ([0, 1, 2], [0, 1, 2]), 'c': ([0, 1], [1, 2])}
    """
    import numpy as np

    wanted = [
        v
        for v in nodes
        if analysis[v].axes[axis].field is not None and analysis[v].axes[axis].size is not None
    ]
    net = analysis.network
    needed = {v for node in wanted for v in net.ancestors(node, stop=analysis.source) if v in analysis.nodes}
    for v in needed:
        size = analysis[v].axes[axis].size
        if size is not None and size > MAX_FEATURES:
            msg = f"exact boxes are not computed on maps over {MAX_FEATURES} features ({v!r} has {size})"
            raise net.error(msg, wanted[0] if len(wanted) == 1 else None)
    keep = set(wanted)
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
        here = analysis[v].axes[axis]
        n = here.size
        assert n is not None
        if v == analysis.source:
            boxes[v] = (np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64))
            continue
        layer = net.layers[v]
        inputs = [u for u in dict.fromkeys(layer.inputs) if u in boxes]
        if here.field is not None and inputs:
            if layer.spec.merge is None:
                boxes[v] = _through(analysis, v, axis, boxes[inputs[0]], n)
            else:
                firsts = [boxes[u][0] for u in inputs if analysis[u].axes[axis].field is not None]
                lasts = [boxes[u][1] for u in inputs if analysis[u].axes[axis].field is not None]
                boxes[v] = (np.minimum.reduce(firsts), np.maximum.reduce(lasts))
        for u in inputs:  # free what no other ancestor reads
            readers[u] -= 1
            if readers[u] == 0 and u not in keep:
                del boxes[u]
    return {v: boxes[v] for v in wanted if v in boxes}


def _through(
    analysis: Analysis, v: str, axis: int, below: tuple[np.ndarray, np.ndarray], n: int
) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    layer = analysis.network.layers[v]
    u = layer.inputs[0]
    n_in = analysis[u].axes[axis].size
    other = None if layer.size_of is None else analysis.sizes[layer.size_of][axis]
    taps = layer.geometry(axis, n_in, other).taps
    assert taps is not None and n_in is not None
    first_in, last_in = below
    big = np.iinfo(np.int64).max
    first = np.full(n, big, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    for phase, offsets in enumerate(taps.offsets):
        xs = np.arange(phase, n, taps.period)
        m = (xs - phase) // taps.period
        # only offsets that land inside the input for some feature matter (kernels may be huge)
        lowest = -taps.step * (len(xs) - 1)
        for o in offsets if not isinstance(offsets, range) else _within(offsets, lowest, n_in - 1):
            y = taps.step * m + o
            inside = (y >= 0) & (y < n_in)  # positions past either end are padding: nothing read
            at = np.clip(y, 0, n_in - 1)
            first[xs] = np.minimum(first[xs], np.where(inside, first_in[at], big))
            last[xs] = np.maximum(last[xs], np.where(inside, last_in[at], -1))
    return first, last


def _within(offsets: range, lo: int, hi: int) -> range:
    """The part of an ascending range that lies in [lo, hi]."""
    start = max(0, -(-(lo - offsets.start) // offsets.step))
    stop = min(len(offsets), (hi - offsets.start) // offsets.step + 1)
    return offsets[start:stop] if start < stop else range(0)


__all__ = ["MAX_FEATURES", "clipped_boxes", "every_clipped_box"]
