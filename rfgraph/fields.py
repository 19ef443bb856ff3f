"""Receptive fields along one axis, as exact periodic boxes, and their algebra.

A :class:`Field` says which input coordinates each feature of a map depends
on: feature ``period*m + phase`` reads within ``[step*m + first, step*m + last]``
where ``(first, last) = boxes[phase]``. A convolution net has period 1 and
``step = S``; after upsampling by 2 the boxes repeat every 2 features and
``S = step / period`` is a fraction. Coordinates are the source map's (the
input's), padding included: a box may start below 0.

:func:`through` follows a layer's :class:`~rfgraph.ops.Taps`, :func:`union`
joins a merge's inputs, and :func:`anchors` gives what a merge's alignment rule
compares, feature by feature over one full period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .ops import Taps

#: An exact number: an int, or a Fraction where it is not whole.
Number = int | Fraction
Box = tuple[int, int]


def exact(value: Number) -> Number:
    """An int where whole, else the Fraction.

    >>> exact(Fraction(4, 2)), exact(Fraction(1, 2))
    (2, Fraction(1, 2))
    """
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


@dataclass(frozen=True, slots=True)
class Field:
    """Along one axis: feature ``period*m + phase`` reads input ``[step*m + first, step*m + last]``.

    ``(first, last) = boxes[phase]``; a phase whose box is None reads nothing
    (a transposed conv with kernel < stride leaves such holes).

    >>> f = Field(1, 4, ((-3, 3),))
    >>> f.r, f.S, f.P, f.box(2)
    (7, 4, 3, (5, 11))
    >>> up = Field(2, 4, ((-3, 3), (-3, 3)))  # nearest upsampling by 2 of f
    >>> up.r, up.S, up.P, up.box(3)
    (7, 2, 3, (1, 7))
    """

    period: int
    step: int
    boxes: tuple[Box | None, ...]

    @property
    def S(self) -> Number:
        """The effective stride: the exact average step between neighbouring features."""
        return exact(Fraction(self.step, self.period))

    @property
    def r(self) -> int:
        """The largest field over all features."""
        return max(b[1] - b[0] + 1 for b in self.boxes if b is not None)

    @property
    def P(self) -> int | None:
        """Minus the first input coordinate feature 0 reads; None when it reads nothing."""
        box = self.boxes[0]
        return None if box is None else -box[0]

    def box(self, x: int) -> Box | None:
        """First and last input coordinate feature ``x`` depends on (None: it reads nothing)."""
        m, phase = divmod(x, self.period)
        box = self.boxes[phase]
        return None if box is None else (box[0] + m * self.step, box[1] + m * self.step)

    def centre(self, x: int = 0) -> Fraction | None:
        box = self.box(x)
        return None if box is None else Fraction(box[0] + box[1], 2)


IDENTITY = Field(1, 1, ((0, 0),))


def through(field: Field, taps: Taps) -> Field:
    """The field of a layer's output: feature x unites the fields of the inputs it reads.

    >>> through(IDENTITY, Taps.window(3, stride=2, before=1))
    Field(period=1, step=2, boxes=((-1, 1),))
    >>> through(Field(1, 2, ((-1, 1),)), Taps(2, 1, ((0,), (0,)), ((1,), (1,))))  # upsample by 2
    Field(period=2, step=2, boxes=((-1, 1), (-1, 1)))
    """
    period, step = field.period, field.step
    if period == 1 and taps.period == 1:
        (box,) = field.boxes
        offsets = taps.offsets[0]
        if box is None or not offsets:
            return Field(1, step * taps.step, (None,))
        return Field(1, step * taps.step, ((box[0] + offsets[0] * step, box[1] + offsets[-1] * step),))
    g = math.gcd(taps.step, period)
    out_period = taps.period * period // g
    boxes: list[Box | None] = []
    for psi in range(out_period):
        m, phase = divmod(psi, taps.period)
        first = last = None
        for o in _ends(taps.offsets[phase], period):
            box = field.box(m * taps.step + o)
            if box is not None:
                first = box[0] if first is None else min(first, box[0])
                last = box[1] if last is None else max(last, box[1])
        boxes.append(None if first is None or last is None else (first, last))
    return _reduced(Field(out_period, step * taps.step // g, tuple(boxes)))


def _ends(offsets: Sequence[int], period: int) -> Sequence[int]:
    """The offsets that can hold the smallest first and the largest last coordinate.

    Two inputs ``period`` apart have boxes ``step`` apart, so among ascending
    offsets only the first and last ``period`` can: a huge kernel costs no more.
    """
    if not isinstance(offsets, range) or len(offsets) <= 2 * period:
        return offsets
    return [*offsets[:period], *offsets[-period:]]


def _reduced(field: Field) -> Field:
    """The same field with its smallest period."""
    n = field.period
    for d in range(1, n):
        if n % d or (field.step * d) % n:
            continue
        shift = field.step * d // n
        if all(_shifted(field.boxes[i], shift) == field.boxes[i + d] for i in range(n - d)):
            return Field(d, shift, field.boxes[:d])
    return field


def _shifted(box: Box | None, shift: int) -> Box | None:
    return None if box is None else (box[0] + shift, box[1] + shift)


def common_period(fields: Sequence[Field]) -> int:
    """The features after which every field repeats: one full period of phases."""
    return math.lcm(*(f.period for f in fields))


def union(fields: Sequence[Field]) -> Field:
    """The bounding box of the fields, feature by feature; they must share S.

    >>> union([Field(1, 2, ((-1, 1),)), Field(1, 2, ((0, 0),))])
    Field(period=1, step=2, boxes=((-1, 1),))
    """
    period = common_period(fields)
    boxes: list[Box | None] = []
    for x in range(period):
        found = [b for b in (f.box(x) for f in fields) if b is not None]
        boxes.append((min(b[0] for b in found), max(b[1] for b in found)) if found else None)
    step = fields[0].step * period // fields[0].period
    return _reduced(Field(period, step, tuple(boxes)))


def anchors(field: Field, rule: str, period: int) -> tuple[Fraction | None, ...]:
    """What the alignment ``rule`` compares, for features 0..period-1.

    centre: ``(first + last) / 2``; start: ``first``; end: ``last``.
    """
    out: list[Fraction | None] = []
    for x in range(period):
        box = field.box(x)
        if box is None:
            out.append(None)
        elif rule == "centre":
            out.append(Fraction(box[0] + box[1], 2))
        else:
            out.append(Fraction(box[0] if rule == "start" else box[1]))
    return tuple(out)


def contains(big: Field, small: Field) -> bool:
    """Whether ``small``, shifted by some offset, lies inside ``big`` feature by feature.

    Then every layer downstream keeps it inside, so ``small`` alone decides r_min.
    """
    if big.period != small.period or big.step != small.step:
        return False
    low, high = -math.inf, math.inf
    for b, s in zip(big.boxes, small.boxes, strict=True):
        if s is None:
            continue
        if b is None:
            return False
        low, high = max(low, b[0] - s[0]), min(high, b[1] - s[1])
    return low <= high


def smallest(fields: Sequence[Field]) -> list[Field]:
    """The fields no other one contains (one of each group of equal ones)."""
    kept: list[Field] = []
    for f in fields:
        if any(contains(f, k) for k in kept):
            continue
        kept = [k for k in kept if not contains(k, f)]
        kept.append(f)
    return kept
