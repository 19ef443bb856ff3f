"""Coordinate look-ups over an :class:`~rfgraph.analysis.Analysis`.

Along one axis, feature ``x = period*m + phase`` of a node depends on the input
box ``[step*m + first, step*m + last]`` of its :class:`~rfgraph.fields.Field`;
with an integer stride that is ``[x*S - P, x*S - P + r - 1]``. :func:`locate`
reads that box off, and, with an input size, the pixels the feature really
reads (:mod:`rfgraph.boxes`); :func:`locate_pixel` inverts it. "Input" means
the analysis' source: the network input, or the node given as ``relative_to``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .analysis import Analysis, AxisRF, NodeRF, Reason, to_json_number
from .boxes import clipped_boxes
from .fields import Field, Number, exact
from .ops import Why


@dataclass(frozen=True, slots=True)
class AxisBox:
    """The input box one feature reads along one axis.

    ``first``/``last``/``centre`` are unclipped input coordinates (negative or
    past the end where they lie in padding). ``clipped`` is this axis' side of
    the bounding box of the input pixels the feature really reads on the finite
    maps of the given input size (:mod:`rfgraph.boxes`); None without a size,
    when it reads no pixel, or on an axis where the node has no local field.
    ``padding_before``/``padding_after`` count the unclipped box's positions
    outside the image (after: None without a size). Where the feature has no
    box (no local field, or a hole that reads nothing) ``note`` says why.
    """

    axis: str
    first: int | None
    last: int | None
    centre: Number | None
    clipped: tuple[int, int] | None
    padding_before: int | None
    padding_after: int | None
    note: str | None = None

    @property
    def is_defined(self) -> bool:
        return self.first is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "first": self.first,
            "last": self.last,
            "centre": to_json_number(self.centre),
            "clipped": None if self.clipped is None else list(self.clipped),
            "padding": [self.padding_before, self.padding_after],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class InputBox:
    """The input box feature ``feature`` of ``node`` reads, one :class:`AxisBox` per axis;
    ``is_global``: a path from the input crosses a global op, so the feature also reads the whole
    input (the boxes are its local field's)."""

    node: str
    feature: tuple[int, ...]
    axes: tuple[AxisBox, ...]
    input_size: tuple[int, ...] | None
    size_dependent: bool = False
    is_global: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "feature": list(self.feature),
            "input_size": None if self.input_size is None else list(self.input_size),
            "size_dependent": self.size_dependent,
            "global": self.is_global,
            "axes": [a.to_dict() for a in self.axes],
        }


@dataclass(frozen=True, slots=True)
class AxisRange:
    """Along one axis, the indices ``first..last`` of the features whose box contains an input
    pixel; ``count`` distinct indices are some such feature's.

    With an integer stride the indices in between all are; with upsampling or
    dilation some may not be. None (and count 0) when no feature's box contains
    the pixel, or when the node has no local field (then ``note`` says why);
    along a global axis with a known size every feature reads the whole axis, so
    every index counts (and ``note`` says so).
    """

    axis: str
    first: int | None
    last: int | None
    count: int = 0
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "first": self.first,
            "last": self.last,
            "count": self.count,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class FeatureRange:
    """The features of ``node`` whose box contains input pixel ``pixel``: ``count`` of them.

    Per axis, ``axes`` gives the first and last index of such a feature and how
    many distinct indices there are (the projection of the set on that axis).
    Without an input size the set is the product of the axes' ranges; with one,
    a feature's box is its exact clipped box, and the set need not be a product
    (then ``count`` is less than the product of the axes' counts).
    """

    node: str
    pixel: tuple[int, ...]
    axes: tuple[AxisRange, ...]
    count: int
    size: tuple[int, ...] | None
    size_dependent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "pixel": list(self.pixel),
            "size": None if self.size is None else list(self.size),
            "size_dependent": self.size_dependent,
            "count": self.count,
            "axes": [a.to_dict() for a in self.axes],
        }


def locate(analysis: Analysis, node: str, feature: Sequence[int]) -> InputBox:
    """The input box that feature ``feature`` of ``node`` depends on.

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`; with an input size, ``clipped``
        gives the input pixels the feature really reads.
    node
        A node of the analysis.
    feature
        One index per axis, each ``>= 0`` (and inside the feature map when its
        size is known).

    Returns
    -------
    InputBox
        Per axis: first, last and centre input coordinate, the pixels really
        read and the part in padding; a ``note`` instead where there is no box.

    Raises
    ------
    RFGraphError
        An unknown node, a wrong number of indices, or an index outside the map.

    See also
    --------
    locate_pixel : the inverse look-up.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... layers:
    ...   - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
    ... '''), 8)
    >>> h, w = locate(a, "c2", (0, 1)).axes
    >>> h.first, h.last, h.centre, h.clipped, h.padding_before, h.padding_after
    (-3, 3, 0, (0, 3), 3, 0)
    >>> w.first, w.last, w.clipped, w.padding_before
    (1, 7, (1, 7), 0)
    """
    rf = _node(analysis, node)
    index = _coordinates(analysis, node, feature, "feature index", rf.size, "feature map")
    n = _source_size(analysis)
    names = analysis.network.axis_names
    found = None if n is None else clipped_boxes(analysis, node)
    read = None if found is None else found.box(index)
    axes = []
    for i, (axis, x) in enumerate(zip(rf.axes, index, strict=True)):
        box = None if axis.field is None else axis.field.box(x)
        if box is None:
            axes.append(AxisBox(names[i], None, None, None, None, None, None, _why(analysis, node, i, axis)))
            continue
        first, last = box
        before = max(0, min(last, -1) - first + 1)
        after = None if n is None else max(0, last - max(first, n[i]) + 1)
        clipped = None if read is None else read[i]
        axes.append(AxisBox(names[i], first, last, exact(Fraction(first + last, 2)), clipped, before, after))
    return InputBox(node, index, tuple(axes), n, rf.size_dependent, rf.is_global)


def locate_pixel(analysis: Analysis, node: str, pixel: Sequence[int]) -> FeatureRange:
    """The features of ``node`` whose box contains input pixel ``pixel``.

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`; with an input size, boxes are the
        exact ones of :func:`locate` (``clipped``) and ranges stay in the map.
    node
        A node of the analysis.
    pixel
        One input coordinate per axis, each ``>= 0`` (and inside the input when
        its size is known).

    Returns
    -------
    FeatureRange
        How many features see the pixel, and per axis the first and last index
        of one and how many indices are some one's; None when no feature sees
        it, with a ``note`` where there is no field.

    Raises
    ------
    RFGraphError
        An unknown node, a wrong number of coordinates, or one outside the input.

    See also
    --------
    locate : the forward look-up.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... dims: 1
    ... layers:
    ...   - {name: c1, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: c2, op: conv, kernel: 3, stride: 2, padding: 1}
    ... '''), 16)
    >>> (x,) = locate_pixel(a, "c2", [5]).axes
    >>> x.first, x.last, x.count
    (1, 2, 2)
    """
    rf = _node(analysis, node)
    n = _source_size(analysis)
    where = _coordinates(analysis, node, pixel, "input pixel", n, "input")
    names = analysis.network.axis_names
    import numpy as np

    found = None if n is None else clipped_boxes(analysis, node)
    seen = None if found is None else found.holding(where)
    axes = []
    for i, (axis, u) in enumerate(zip(rf.axes, where, strict=True)):
        size = None if rf.size is None else rf.size[i]
        if axis.field is None and axis.why is Why.GLOBAL and size is not None:  # all of it, everywhere
            axes.append(AxisRange(names[i], 0, size - 1, size, _why(analysis, node, i, axis)))
        elif axis.field is None:
            axes.append(AxisRange(names[i], None, None, 0, _why(analysis, node, i, axis)))
        elif found is None or seen is None:
            axes.append(_unclipped_range(names[i], axis.field, u))
        else:  # the features whose box holds the pixel on every axis, projected on this one
            k = found.axes.index(i)
            hits = np.flatnonzero(
                np.logical_or.reduce(seen, axis=tuple(j for j in range(seen.ndim) if j != k))
            )
            count = len(hits)
            axes.append(
                AxisRange(names[i], int(hits[0]), int(hits[-1]), count)
                if count
                else AxisRange(names[i], None, None)
            )
    # the features seen on the local axes, times every feature along the global ones (0 along an
    # axis whose field is undefined)
    local = [a.count for a, rfa in zip(axes, rf.axes, strict=True) if rfa.field is not None]
    elsewhere = math.prod(a.count for a, rfa in zip(axes, rf.axes, strict=True) if rfa.field is None)
    total = (int(seen.sum()) if seen is not None else math.prod(local)) * elsewhere
    return FeatureRange(node, where, tuple(axes), total, rf.size, rf.size_dependent)


def _unclipped_range(name: str, field: Field, u: int) -> AxisRange:
    """Features x >= 0 of an unbounded map whose box contains u, phase by phase."""
    first = last = None
    count = 0
    for phase, box in enumerate(field.boxes):
        if box is None:
            continue
        # step*m + box[0] <= u <= step*m + box[1], m >= 0
        lo = max(0, -((box[1] - u) // field.step))
        hi = (u - box[0]) // field.step
        if lo > hi:
            continue
        count += hi - lo + 1
        a, b = field.period * lo + phase, field.period * hi + phase
        first = a if first is None else min(first, a)
        last = b if last is None else max(last, b)
    return AxisRange(name, first, last, count)


def _node(analysis: Analysis, node: str) -> NodeRF:
    if node in analysis.nodes:
        return analysis[node]
    net = analysis.network
    if node in net.nodes:
        msg = f"fields are relative to {analysis.source!r}, which does not feed {node!r}"
        raise net.error(msg, node)
    close = difflib.get_close_matches(node, list(analysis.nodes), n=1, cutoff=0.5)
    msg = f"unknown node {node!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
    raise net.error(msg)


def _source_size(analysis: Analysis) -> tuple[int, ...] | None:
    return analysis[analysis.source].size


def _coordinates(
    analysis: Analysis,
    node: str,
    given: Sequence[int],
    what: str,
    size: tuple[int, ...] | None,
    space: str,
) -> tuple[int, ...]:
    net = analysis.network
    values = tuple(given)
    at = node if node in net.layers else None
    if len(values) != net.dims:
        names = ", ".join(net.axis_names)
        msg = f"{what} needs {net.dims} coordinate(s) ({names}), got {len(values)}: {list(values)}"
        raise net.error(msg, at)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int):
            msg = f"{what} must be integers, got {v!r}"
            raise net.error(msg, at)
        limit = None if size is None else size[i]
        if v < 0 or (limit is not None and v >= limit):
            bound = "0 or more" if limit is None else f"in 0..{limit - 1}"
            shape = "" if size is None else f" of the {'x'.join(map(str, size))} {space}"
            msg = f"{what} {v} on axis {net.axis_names[i]} is outside{shape}: expected {bound}"
            raise net.error(msg, at)
    return values


def _why(analysis: Analysis, node: str, axis: int, rf: AxisRF) -> str:
    """Why a feature has no box on this axis, naming the layer or merge responsible."""
    if rf.field is not None:
        return "reads nothing: a hole between the taps of a transposed conv or stride upstream"
    if rf.why is Why.GLOBAL:
        return "global: every feature reads the whole input"
    if rf.why is Why.EMPTY:
        return "reads nothing: every tap lands in a hole of a transposed conv or stride upstream"
    upstream = analysis.network.ancestors(node)
    if rf.why is Why.STRIDES:
        for m in analysis.misalignments:
            if m.axis == axis and m.node in upstream and m.reason in (Reason.STRIDES, Reason.BROADCAST):
                strides = ", ".join(f"{u} S={_number(r.S)}" for u, r in m.inputs)
                return f"undefined: merge {m.node!r} joins different effective strides ({strides})"
        return "undefined: a merge upstream joins different effective strides"
    layers = analysis.network.layers
    for v in analysis.nodes:
        if v in upstream and v in layers and layers[v].spec.merge is None:
            rf_v = analysis[v].axes[axis]
            inputs = [analysis.nodes.get(u) for u in layers[v].inputs]
            if rf_v.why is Why.SIZE and all(
                r is not None and r.axes[axis].why is not Why.SIZE for r in inputs
            ):
                return f"unknown: {v!r} ({layers[v].op}) needs an input size (give --input-size)"
    return "unknown: needs an input size (give --input-size)"


def _number(value: Number | None) -> str:
    shown = to_json_number(value)
    return "-" if shown is None else str(shown)


__all__ = ["AxisBox", "AxisRange", "FeatureRange", "InputBox", "locate", "locate_pixel"]
