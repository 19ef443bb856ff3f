"""Coordinate look-ups and input-size checks over an :class:`~rfgraph.analysis.Analysis`.

Along one axis, feature ``x`` of a node depends on the input box
``[x*S - P, x*S - P + r - 1]``. :func:`locate` reads that box off (clipped to
the image, with the part that lies in padding); :func:`locate_pixel` inverts
it; :func:`check_input_size` flags layers an input size leaves without work.
"Input" means the analysis' source: the network input, or the node given as
``relative_to``. A field is its box: with dilation or a misaligned merge some
positions inside the box are not read, as in the paper's definition of r.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import networkx as nx

from .analysis import Analysis, AxisRF, NodeRF, Number, exact


@dataclass(frozen=True, slots=True)
class AxisBox:
    """The input box one feature reads along one axis.

    ``first``/``last``/``centre`` are unclipped input coordinates (negative or
    past the end where they lie in padding). ``clipped`` is the part inside the
    image, ``[0, size - 1]`` (only ``>= 0`` when the size is unknown), None when
    the box lies wholly in padding. ``padding_before``/``padding_after`` count the
    positions outside the image on each side (after: None when the size is
    unknown). When the field is undefined every number is None and ``note`` says why.
    """

    axis: str
    first: Number | None
    last: Number | None
    centre: Fraction | None
    clipped: tuple[Number, Number] | None
    padding_before: Number | None
    padding_after: Number | None
    note: str | None = None

    @property
    def is_defined(self) -> bool:
        return self.first is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "axis": self.axis,
            "first": exact(self.first),
            "last": exact(self.last),
            "centre": exact(self.centre),
            "clipped": None if self.clipped is None else [exact(v) for v in self.clipped],
            "padding": [exact(self.padding_before), exact(self.padding_after)],
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class InputBox:
    """The input box feature ``feature`` of ``node`` reads, one :class:`AxisBox` per axis."""

    node: str
    feature: tuple[int, ...]
    axes: tuple[AxisBox, ...]
    input_size: tuple[int, ...] | None
    size_dependent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "feature": list(self.feature),
            "input_size": None if self.input_size is None else list(self.input_size),
            "size_dependent": self.size_dependent,
            "axes": [a.to_dict() for a in self.axes],
        }


@dataclass(frozen=True, slots=True)
class AxisRange:
    """The features ``first..last`` (inclusive) whose field contains one input coordinate.

    Both are None when no feature's field contains it, or when the field is
    undefined (then ``note`` says why). Fields are finite, so the range is
    bounded even when the feature-map size is unknown.
    """

    axis: str
    first: int | None
    last: int | None
    note: str | None = None

    @property
    def count(self) -> int:
        return 0 if self.first is None or self.last is None else self.last - self.first + 1

    def to_dict(self) -> dict[str, Any]:
        return {"axis": self.axis, "first": self.first, "last": self.last, "note": self.note}


@dataclass(frozen=True, slots=True)
class FeatureRange:
    """The features of ``node`` whose field contains input pixel ``pixel``, per axis."""

    node: str
    pixel: tuple[int, ...]
    axes: tuple[AxisRange, ...]
    size: tuple[int, ...] | None
    size_dependent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "pixel": list(self.pixel),
            "size": None if self.size is None else list(self.size),
            "size_dependent": self.size_dependent,
            "axes": [a.to_dict() for a in self.axes],
        }


def locate(analysis: Analysis, node: str, feature: Sequence[int]) -> InputBox:
    """The input box that feature ``feature`` of ``node`` depends on.

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`; give it an input size to clip
        boxes to the image.
    node
        A node of the analysis.
    feature
        One index per axis, each ``>= 0`` (and inside the feature map when its
        size is known).

    Returns
    -------
    InputBox
        Per axis: first, last and centre input coordinate, the clipped part and
        the part in padding. An axis whose field is undefined (a merge of
        different effective strides upstream) carries a ``note`` instead.

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
    (-3, 3, Fraction(0, 1), (0, 3), 3, 0)
    >>> w.first, w.last, w.clipped, w.padding_before
    (1, 7, (1, 7), 0)
    """
    rf = _node(analysis, node)
    index = _coordinates(analysis, node, feature, "feature index", rf.size, "feature map")
    n = _source_size(analysis)
    names = analysis.network.axis_names
    axes = tuple(
        _box(names[i], axis, x, None if n is None else n[i], _why_undefined(analysis, node, i))
        for i, (axis, x) in enumerate(zip(rf.axes, index, strict=True))
    )
    return InputBox(node, index, axes, n, rf.size_dependent)


def locate_pixel(analysis: Analysis, node: str, pixel: Sequence[int]) -> FeatureRange:
    """The features of ``node`` whose field contains input pixel ``pixel``.

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`; give it an input size to clip
        ranges to the feature map.
    node
        A node of the analysis.
    pixel
        One input coordinate per axis, each ``>= 0`` (and inside the input when
        its size is known).

    Returns
    -------
    FeatureRange
        Per axis the first and last such feature, ``x`` with
        ``x*S - P <= u <= x*S - P + r - 1``; both None when no feature sees the
        pixel, with a ``note`` when the field is undefined.

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
    axes = tuple(
        _range(names[i], axis, u, _why_undefined(analysis, node, i))
        for i, (axis, u) in enumerate(zip(rf.axes, where, strict=True))
    )
    return FeatureRange(node, where, axes, rf.size, rf.size_dependent)


def _node(analysis: Analysis, node: str) -> NodeRF:
    if node in analysis.nodes:
        return analysis[node]
    net = analysis.network
    if node in net.graph:
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
    if len(values) != net.dims:
        names = ", ".join(net.axis_names)
        msg = f"{what} needs {net.dims} coordinate(s) ({names}), got {len(values)}: {list(values)}"
        raise net.error(msg, node if node in net.layers else None)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int):
            msg = f"{what} must be integers, got {v!r}"
            raise net.error(msg, node if node in net.layers else None)
        limit = None if size is None else size[i]
        if v < 0 or (limit is not None and v >= limit):
            bound = "0 or more" if limit is None else f"in 0..{limit - 1}"
            shape = "" if size is None else f" of the {'x'.join(map(str, size))} {space}"
            msg = f"{what} {v} on axis {net.axis_names[i]} is outside{shape}: expected {bound}"
            raise net.error(msg, node if node in net.layers else None)
    return values


def _why_undefined(analysis: Analysis, node: str, axis: int) -> str:
    """Name the merge upstream (or at ``node``) that leaves this axis without one stride."""
    upstream = nx.ancestors(analysis.network.graph, node) | {node}
    for m in analysis.misalignments:
        if m.axis == axis and m.node in upstream and m.reason == "effective strides differ":
            strides = ", ".join(f"{u} S={exact(rf.S)}" for u, rf in m.inputs)
            return f"undefined: merge {m.node!r} joins different effective strides ({strides})"
    return "undefined: a merge upstream joins different effective strides"


def _box(name: str, rf: AxisRF, x: int, n: int | None, why: str) -> AxisBox:
    if rf.r is None or rf.S is None or rf.P is None:
        return AxisBox(name, None, None, None, None, None, None, why)
    first, last = rf.interval(x)
    before = max(0, min(last, -1) - first + 1)
    after = None if n is None else max(0, last - max(first, n) + 1)
    lo, hi = max(first, 0), last if n is None else min(last, n - 1)
    clipped = (lo, hi) if lo <= hi else None
    return AxisBox(name, first, last, Fraction(first + last, 2), clipped, before, after)


def _range(name: str, rf: AxisRF, u: int, why: str) -> AxisRange:
    if rf.r is None or rf.S is None or rf.P is None:
        return AxisRange(name, None, None, why)
    # x*S - P <= u <= x*S - P + r - 1, solved for x
    first = max(0, math.ceil(Fraction(u + rf.P - rf.r + 1) / rf.S))
    last = math.floor(Fraction(u + rf.P) / rf.S)
    if rf.size is not None:
        last = min(last, rf.size - 1)
    if first > last:
        return AxisRange(name, None, None)
    return AxisRange(name, first, last)


@dataclass(frozen=True, slots=True)
class Border:
    """A border (unproductive) layer: on ``axes`` every input's r_min already covers the input."""

    node: str
    axes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the input one output's features see, per axis.

    ``whole[i]`` counts the features along axis ``i`` whose box covers the
    whole input on that axis (None when the field is undefined there), out of
    ``size[i]``.
    """

    node: str
    whole: tuple[int | None, ...]
    size: tuple[int, ...]

    @property
    def sees_whole_input(self) -> bool | None:
        """Whether every feature sees the whole input; None if some axis is undefined."""
        if None in self.whole:
            return None
        return self.whole == self.size


@dataclass(frozen=True, slots=True)
class InputFit:
    """What an input size does to a network: its border layers and its outputs' coverage."""

    input_size: tuple[int, ...]
    borders: tuple[Border, ...]
    outputs: tuple[Coverage, ...]

    def border_axes(self, node: str) -> tuple[int, ...]:
        """The axes on which ``node`` is a border layer (empty if it is not one)."""
        return next((b.axes for b in self.borders if b.node == node), ())


def check_input_size(analysis: Analysis) -> InputFit:
    """Flag the layers an input size leaves without work, and say what the outputs see.

    A *border layer* is rfa-toolbox's (Richter et al., "Should you go deeper?",
    arXiv:2106.12307, ``EnrichedNetworkNode.is_border``): a layer all of whose
    inputs have a smallest receptive field r_min at least the input size, so
    that even along its shortest path the layer reads context that already
    spans the whole input, and is predicted not to improve the result. Its own
    r_min then covers the input too. rfgraph applies it per axis and flags a
    layer when it holds on some axis. (rfa-toolbox's looser *critical* layers,
    own r_min strictly greater than the input size, are not reported.)

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze` with an input size (of the
        source, when analysed ``relative_to`` a node).

    Returns
    -------
    InputFit
        The border layers in network order, and for each output how many of its
        features see the whole input on each axis.

    Raises
    ------
    RFGraphError
        The analysis has no input size.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... dims: 1
    ... layers:
    ...   - {name: c1, op: conv, kernel: 5, padding: 2}
    ...   - {name: c2, op: conv, kernel: 5, padding: 2}
    ...   - {name: c3, op: conv, kernel: 5, padding: 2}
    ... '''), 8)
    >>> fit = check_input_size(a)
    >>> [b.node for b in fit.borders]
    ['c3']
    >>> (out,) = fit.outputs
    >>> out.node, out.whole, out.size, out.sees_whole_input
    ('c3', (6,), (8,), False)
    """
    n = _source_size(analysis)
    if n is None:
        msg = "checking an input size needs one: give input_size (or --input-size)"
        raise analysis.network.error(msg)
    graph = analysis.network.graph
    borders = []
    for v in analysis.nodes:
        inputs = [u for u in graph.predecessors(v) if u in analysis.nodes]
        if v == analysis.source or not inputs:
            continue
        axes = tuple(i for i in range(len(n)) if all(analysis[u].axes[i].r_min >= n[i] for u in inputs))
        if axes:
            borders.append(Border(v, axes))
    outputs = tuple(
        Coverage(v, tuple(_whole(a, m) for a, m in zip(rf.axes, n, strict=True)), rf.size or ())
        for v, rf in ((v, analysis[v]) for v in analysis.outputs)
    )
    return InputFit(n, tuple(borders), outputs)


def _whole(rf: AxisRF, n: int) -> int | None:
    """How many features x in [0, size) have x*S - P <= 0 and x*S - P + r - 1 >= n - 1."""
    if rf.r is None or rf.S is None or rf.P is None or rf.size is None:
        return None
    first = max(0, math.ceil(Fraction(n - rf.r + rf.P) / rf.S))
    last = min(rf.size - 1, math.floor(Fraction(rf.P) / rf.S))
    return max(0, last - first + 1)
