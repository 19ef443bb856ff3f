"""What both importers share: tensor dims labelled with what they are, and the layers they become.

A framework graph is made of tensors; rfgraph's is made of feature maps. Each
dim of a tensor gets a :data:`Label`: ``"N"`` the batch, ``"C"`` channels, an
int for a spatial axis, ``"L"`` every spatial axis flattened into one sequence
(a ViT's tokens), ``"X"`` channels and positions flattened together (a
classifier head's input). Labels move with permutes and reshapes, and they
decide what an op is: a linear layer on channels-last channels is a 1x1 conv,
on a flattened map it is the head; a concat on channels merges, on a spatial
axis it is not a merge rfgraph knows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RFGraphError

Label = int | str

_NAMES = {"N": "the batch", "C": "channels", "L": "the sequence of positions", "X": "a flattened map"}

#: One dim of an index: keep it whole, take a slice (start, stop, step) of it,
#: take one position (the dim goes), or insert a new dim of size 1.
Whole = None
NEW_DIM = "new"


class UnsupportedError(Exception):
    """An op the importer cannot describe; the message says why."""


def label_name(label: Label) -> str:
    """What a dim is, in words.

    >>> label_name("C"), label_name(1)
    ('channels', 'spatial axis 1')
    """
    return _NAMES[label] if isinstance(label, str) else f"spatial axis {label}"


@dataclass(frozen=True, slots=True)
class Layout:
    """What each dim of a tensor is.

    ``seq`` lists the spatial axes flattened into the ``"L"`` dim with their sizes, in
    order; ``tokens`` counts the non-spatial tokens in front of them (a class token).
    """

    labels: tuple[Label, ...]
    seq: tuple[tuple[int, int], ...] = ()
    tokens: int = 0

    @property
    def axes(self) -> tuple[int, ...]:
        """The spatial axes that still have a dim (the others have size 1)."""
        found = [a for a in self.labels if isinstance(a, int)]
        if "L" in self.labels:
            found.extend(a for a, _ in self.seq)
        return tuple(sorted(found))

    def describe(self) -> str:
        return "(" + ", ".join(label_name(lb) for lb in self.labels) + ")"

    def relabel(self, labels: Sequence[Label], tokens: int | None = None) -> Layout:
        """The same sequence (if ``labels`` keep it) under new labels."""
        if "L" not in labels:
            return Layout(tuple(labels))
        return Layout(tuple(labels), self.seq, self.tokens if tokens is None else tokens)


def nchw(dims: int) -> Layout:
    """The layout of a network input: batch, channels, then the spatial axes in order."""
    return Layout(("N", "C", *range(dims)))


@dataclass(frozen=True, slots=True)
class Map:
    """A tensor that is a feature map: the YAML node it is, its layout and shape."""

    source: str
    layout: Layout
    shape: tuple[int, ...]

    def check_nchw(self, dims: int, what: str) -> None:
        """Convs, pools and resizes read (batch, channels, axes in order)."""
        if self.layout.labels != nchw(dims).labels:
            msg = f"{what} expects (batch, channels, spatial axes), got {self.layout.describe()}"
            raise UnsupportedError(msg)

    def spatial(self) -> tuple[int, ...]:
        return tuple(s for s, lb in zip(self.shape, self.layout.labels, strict=True) if isinstance(lb, int))


def channels(layout: Layout, shape: Sequence[int]) -> int:
    """The product of the channel dims (1 when there is none).

    >>> channels(Layout(("N", "C", "C", 0, 1)), (2, 2, 58, 28, 28))
    116
    """
    return math.prod(s for s, lb in zip(shape, layout.labels, strict=True) if lb in ("C", "X"))


# ----------------------------------------------------------------------------- moving dims


def permute(x: Map, order: Sequence[int]) -> tuple[str, Layout]:
    """A permute: ``channel_shuffle`` when it reorders channel dims among themselves, else identity.

    >>> permute(Map("a", Layout(("N", "C", "C", 0, 1)), (2, 2, 58, 7, 7)), [0, 2, 1, 3, 4])[0]
    'channel_shuffle'
    >>> permute(Map("a", Layout(("N", "C", 0, 1)), (2, 8, 7, 7)), [0, 2, 3, 1])
    ('identity', Layout(labels=('N', 0, 1, 'C'), seq=(), tokens=0))
    """
    labels = [x.layout.labels[i] for i in order]
    before = [i for i, lb in enumerate(x.layout.labels) if lb == "C" and x.shape[i] > 1]
    after = [i for i in order if x.layout.labels[i] == "C" and x.shape[i] > 1]
    return ("channel_shuffle" if before != after else "identity"), x.layout.relabel(labels)


def reshape(x: Map, new: Sequence[int]) -> tuple[str, Layout]:
    """A view/reshape/flatten/squeeze: the op it is and the labels of the result.

    Dims of size 1 are set aside; the others group where the running products of
    sizes meet (a reshape of a contiguous tensor only merges or splits neighbours).
    Size-1 dims of the result take the labels of size-1 dims at the same boundary.
    A group of channel dims stays channels; all spatial axes together become the
    sequence "L" (and back); spatial axes with channels become "X", a flatten.

    >>> reshape(Map("a", Layout(("N", "C", 0, 1)), (2, 8, 1, 1)), (2, 8))
    ('flatten', Layout(labels=('N', 'C'), seq=(), tokens=0))
    >>> reshape(Map("a", Layout(("N", "C", 0, 1)), (2, 8, 14, 14)), (2, 8, 196))
    ('identity', Layout(labels=('N', 'C', 'L'), seq=((0, 14), (1, 14)), tokens=0))
    """
    old, layout = x.shape, x.layout
    new = tuple(new)
    if old == new:
        return "identity", layout
    ins = [(s, lb) for s, lb in zip(old, layout.labels, strict=True) if s != 1]
    outs = [j for j, s in enumerate(new) if s != 1]
    labels: list[Label | None] = [None] * len(new)
    seq = layout.seq
    boundaries = {0: 0}  # dims of size > 1 before a boundary, in the old and the new shape
    i = j = 0
    while i < len(ins) and j < len(outs):
        gi, gj = [i], [j]
        pi, pj = ins[i][0], new[outs[j]]
        while pi != pj:
            if pi < pj:
                i += 1
                gi.append(i)
                pi *= ins[i][0]
            else:
                j += 1
                gj.append(j)
                pj *= new[outs[j]]
        i, j = i + 1, j + 1
        boundaries[i] = j
        made, seq = _group([ins[k] for k in gi], [new[outs[k]] for k in gj], layout, seq)
        for k, label in zip(gj, made, strict=True):
            labels[outs[k]] = label
    ones_old = _ones_at_boundaries(old, layout.labels)
    ones_new = _ones_at_boundaries(new, range(len(new)))
    for b_old, b_new in boundaries.items():
        spare = list(ones_old.get(b_old, []))
        for k in ones_new.get(b_new, []):
            labels[int(k)] = spare.pop(0) if spare else "C"
    final = tuple(lb if lb is not None else "C" for lb in labels)
    result = Layout(final, seq, layout.tokens) if "L" in final else Layout(final)
    return _reshape_op(x, result), result


def _ones_at_boundaries(shape: Sequence[int], labels: Sequence[Any]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {}
    seen = 0
    for s, lb in zip(shape, labels, strict=True):
        if s == 1:
            found.setdefault(seen, []).append(lb)
        else:
            seen += 1
    return found


def _group(
    group: list[tuple[int, Label]], sizes: list[int], layout: Layout, seq: tuple[tuple[int, int], ...]
) -> tuple[list[Label], tuple[tuple[int, int], ...]]:
    labels = [lb for _, lb in group]
    if len(labels) == 1 and len(sizes) == 1:
        return labels, seq
    if all(lb in ("C", "X") for lb in labels):
        return ["X" if "X" in labels else "C"] * len(sizes), seq
    spatial = [lb for lb in labels if isinstance(lb, int)]
    if len(spatial) == len(labels) and len(sizes) == 1 and spatial == sorted(spatial):
        return ["L"], tuple((int(lb), s) for s, lb in group)
    if labels == ["L"] and layout.tokens == 0 and [s for _, s in seq] == sizes:
        return [a for a, _ in seq], ()
    if len(sizes) == 1 and "N" not in labels and "L" not in labels:
        return ["X"], seq
    names = ", ".join(label_name(lb) for lb in labels)
    msg = f"a reshape of ({names}) into {len(sizes)} dim(s) of sizes {sizes} is not supported"
    raise UnsupportedError(msg)


def _reshape_op(x: Map, after: Layout) -> str:
    before = x.layout
    gone = set(before.axes) - set(after.axes)
    if not gone:
        return "identity"
    if not after.axes:
        return "flatten"
    if "L" in before.labels or any(x.shape[before.labels.index(a)] > 1 for a in gone):
        msg = f"a reshape that merges {', '.join(map(label_name, sorted(gone)))} but keeps other axes"
        raise UnsupportedError(msg + " is not supported")
    return "identity"  # it only dropped axes of size 1


#: The op of an elementwise op whose other operand is a constant (a parameter, a number).
WITH_CONSTANT = {
    "add": "bias",
    "sub": "bias",
    "mul": "scale",
    "div": "scale",
    "max": "identity",
    "min": "identity",
}


def elementwise(op: str, operands: Sequence[Map], shape: Sequence[int]) -> tuple[str, Layout]:
    """The layer an elementwise op makes and its layout: a merge of its maps, or, with one map and
    constants, the pointwise op that keeps it (a constant that broadcasts the map is unsupported)."""
    if len(operands) > 1:
        return op, broadcast(operands, shape)
    (x,) = operands
    if shape != x.shape:
        msg = f"a constant operand broadcasts the map from {list(x.shape)} to {list(shape)}"
        raise UnsupportedError(msg)
    return WITH_CONSTANT[op], x.layout


def broadcast(operands: Sequence[Map], shape: Sequence[int]) -> Layout:
    """The layout of an elementwise op's result; a size-1 dim broadcasts (a squeeze-excitation gate)."""
    rank = len(shape)
    labels: list[Label | None] = [None] * rank
    with_sequence: Map | None = None
    for m in operands:
        offset = rank - len(m.shape)
        for i, (size, label) in enumerate(zip(m.shape, m.layout.labels, strict=True)):
            j = i + offset
            if size == 1 and shape[j] != 1:
                continue
            seen = labels[j]
            if seen is None or seen == label:
                labels[j] = label
            elif size != 1:
                msg = f"operands disagree on what dim {j} is: {label_name(label)} and {label_name(seen)}"
                raise UnsupportedError(msg)
        if "L" in m.layout.labels and shape[m.layout.labels.index("L") + offset] > 1:
            with_sequence = m
    final = tuple(lb if lb is not None else "C" for lb in labels)
    base = (with_sequence or operands[0]).layout
    return base.relabel(final)


def concat(x: Map, dim: int, before: int, after: int, others: int) -> tuple[str, Layout]:
    """A concatenation of ``x`` with ``others`` more maps and constants of ``before``/``after`` positions.

    Along channels it merges (``concat``), or with only constants is an identity
    that adds channels. Along the sequence, constants in front are extra tokens (a
    class token); anything else along a spatial axis or the sequence is not a merge.
    """
    label = x.layout.labels[dim]
    if label in ("C", "X"):
        return ("concat" if others else "identity"), x.layout
    if label == "L" and not others and not after:
        return "identity", Layout(x.layout.labels, x.layout.seq, x.layout.tokens + before)
    if label == "L" and not others:
        msg = "tokens appended after the sequence are not supported"
        raise UnsupportedError(msg)
    msg = f"a concatenation along {label_name(label)} is not a channel concatenation"
    raise UnsupportedError(msg)


# ----------------------------------------------------------------------------- reading and reducing


@dataclass(frozen=True, slots=True)
class Selection:
    """What an index or slice makes of a map: its layout and the layer it is."""

    op: str
    layout: Layout
    params: dict[str, Any] = field(default_factory=dict)


def select(x: Map, items: Sequence[Any], dims: int) -> Selection:
    """``x[items]``, one item per dim (missing trailing items keep their dims).

    An item is :data:`Whole`, an int (one position: the dim goes), a ``slice``, or
    :data:`NEW_DIM`. A slice of spatial axes is a ``crop`` (a step with no start
    is a strided 1x1 ``pool``); dropping the leading tokens of a sequence is an
    identity; taking one leading token (a class token) is a ``global_pool``.
    """
    labels: list[Label] = []
    crop = [(0, 0)] * dims
    stride = [1] * dims
    tokens, takes_token = x.layout.tokens, False
    at = 0
    for item in items:
        if item == NEW_DIM:
            labels.append("C")
            continue
        label, size = x.layout.labels[at], x.shape[at]
        at += 1
        if isinstance(item, int):
            i = item % size
            if isinstance(label, int):
                crop[label] = (i, size - i - 1)
            elif label == "L" and i < tokens:
                takes_token = True
            elif label == "L":
                msg = "taking one position of the sequence is not supported"
                raise UnsupportedError(msg)
            continue
        labels.append(label)
        start, stop, step = (0, size, 1) if item is Whole else item.indices(size)
        if (start, stop, step) == (0, size, 1) or label in ("C", "N", "X"):
            continue
        if label == "L" and (start, stop, step) == (tokens, size, 1):
            tokens = 0
        elif isinstance(label, int) and step == 1:
            crop[label] = (start, size - stop)
        elif isinstance(label, int) and start == 0 and -(-stop // step) == -(-size // step):
            stride[label] = step
        else:
            msg = f"the slice {start}:{stop}:{step} of {label_name(label)} is not supported"
            raise UnsupportedError(msg)
    labels.extend(x.layout.labels[at:])
    layout = x.layout.relabel(labels, tokens)
    if takes_token:
        return Selection("global_pool", layout)
    if any(s != 1 for s in stride):
        if any(c != (0, 0) for c in crop):
            msg = "a slice with both a start and a step is not supported"
            raise UnsupportedError(msg)
        return Selection("pool", layout, {"stride": stride})
    if any(c != (0, 0) for c in crop):
        return Selection("crop", layout, {"crop": crop})
    return Selection("identity", layout)


def covers_all_axes(x: Map, dims: Sequence[int]) -> bool:
    """Whether ``dims`` of ``x`` hold every spatial axis it has (and at least one)."""
    reached: set[int] = set()
    for d in dims:
        label = x.layout.labels[d]
        if label == "L":
            reached.update(a for a, _ in x.layout.seq)
        elif isinstance(label, int):
            reached.add(label)
    return bool(reached) and reached == set(x.layout.axes)


def reduce(x: Map, dims: Sequence[int], keep: bool) -> tuple[str, Layout]:
    """A mean/sum/max over ``dims``: over channels an identity, over every position a ``global_pool``."""
    if any(x.layout.labels[d] == "N" for d in dims):
        msg = "a reduction over the batch is not supported"
        raise UnsupportedError(msg)
    layout = x.layout.relabel([lb for i, lb in enumerate(x.layout.labels) if keep or i not in dims])
    touched = [d for d in dims if x.layout.labels[d] not in ("C", "X")]
    if not touched:
        return "identity", layout
    if covers_all_axes(x, touched):
        return "global_pool", layout
    msg = "a reduction over some spatial axes but not all is not supported"
    raise UnsupportedError(msg)


def softmax(x: Map, dim: int) -> str:
    """Over channels ``softmax``; over every position ``global``."""
    label = x.layout.labels[dim]
    if label in ("C", "X"):
        return "softmax"
    if covers_all_axes(x, [dim]):
        return "global"
    msg = f"a softmax over {label_name(label)} alone is not supported"
    raise UnsupportedError(msg)


def linear(x: Map) -> str:
    """A matrix product over the last dim: channels-last a 1x1 ``conv``; with no position left, the head."""
    label = x.layout.labels[-1]
    if label == "C" and x.layout.axes:
        return "conv"
    if label in ("C", "X"):
        return "fc"
    msg = f"a linear layer over {label_name(label)} mixes positions"
    raise UnsupportedError(msg)


def attention(x: Map, dim: int) -> str:
    """Self-attention over ``dim``: ``global`` when that dim holds every position."""
    if not covers_all_axes(x, [dim]):
        msg = f"attention over {label_name(x.layout.labels[dim])} is not over every position"
        raise UnsupportedError(msg)
    return "global"


# ----------------------------------------------------------------------------- the layers


class Builder:
    """Collects one layer dict per feature map, in graph order, and the ops it cannot describe."""

    def __init__(self) -> None:
        self.layers: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self._ops: dict[str, str] = {}
        self._inputs: dict[str, list[str]] = {}

    def add(
        self, name: str, op: str, inputs: Sequence[Map], layout: Layout, shape: Sequence[int], **params: Any
    ) -> Map:
        sources = [m.source for m in inputs]
        layer = {"name": name, "op": op, **params, "channels": channels(layout, shape), "inputs": sources}
        self.layers.append(layer)
        self._ops[name] = op
        self._inputs[name] = sources
        return Map(name, layout, tuple(shape))

    def has_global_upstream(self, source: str) -> bool:
        """Whether a ``global`` layer (attention) feeds ``source``."""
        seen, todo = {source}, [source]
        while todo:
            name = todo.pop()
            if self._ops.get(name) == "global":
                return True
            for u in self._inputs.get(name, ()):
                if u not in seen:
                    seen.add(u)
                    todo.append(u)
        return False

    def unsupported(self, name: str, op: str, why: str) -> None:
        self.problems.append(f"{name!r} ({op}): {why}")

    def check(self, flag: str) -> None:
        """Raise one error that lists every op that could not be described."""
        if not self.problems:
            return
        msg = f"{len(self.problems)} op(s) the importer does not support: " + "; ".join(self.problems)
        msg += f" (an op that keeps the geometry can be named with {flag})"
        raise RFGraphError(msg)
