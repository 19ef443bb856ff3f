"""Which input sizes give non-empty maps and aligned merges, per axis, in closed form.

Map sizes change with the input size n through floor divisions at strided
layers, and TensorFlow's "same" padding depends on each map's size modulo its
stride. Alignment and merges' sizes depend on n only through the maps that
feed a merge or a size-dependent layer (and the maps below them), and these
repeat once n grows by the lcm L of those maps' scales (the input size per
feature of each map, the effective stride where fields are defined): each of
them then grows by a whole number of features and keeps its remainders.
Only emptiness is not periodic, and it is monotone: maps never shrink as n
grows. So from the size T where no map is empty any more (and every map that
grows has two features, past broadcasting from one), validity and alignment
repeat every L; below T they are read off one by one. The answer is
then simplified to its smallest period and earliest start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from .analysis import analyze
from .errors import RFGraphError
from .network import Layer, Network
from .ops import Why

#: Sizes up to which the smallest valid size is looked for before saying there is none.
LARGEST = 2**62


@dataclass(frozen=True, slots=True)
class AxisSizes:
    """The input sizes n that give non-empty maps and aligned merges on one axis.

    n is valid and aligned iff ``(n >= start and n % period in residues) or n in below``.

    >>> s = AxisSizes("h", period=32, start=33, residues=(1,), below=(1,))
    >>> [n for n in range(1, 70) if n in s], s.describe()
    ([1, 33, 65], 'h: aligned iff H = 1 (mod 32) and H >= 33, or H = 1')
    """

    axis: str
    period: int
    start: int
    residues: tuple[int, ...]
    below: tuple[int, ...]

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int):
            return False
        return (n >= self.start and n % self.period in self.residues) or n in self.below

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "from": self.start,
            "residues": list(self.residues),
            "below": list(self.below),
        }

    def describe(self) -> str:
        """The rule in words: ``h: aligned iff H = 1 (mod 32) and H >= 33``."""
        n = self.axis.upper()
        parts = []
        if self.residues:
            if self.period == 1:
                rule = f"{n} >= {self.start}"
            else:
                which = (
                    f"{n} = {self.residues[0]} (mod {self.period})"
                    if len(self.residues) == 1
                    else f"{n} mod {self.period} in {{{', '.join(map(str, self.residues))}}}"
                )
                rule = which + (f" and {n} >= {self.start}" if self.start > 1 else "")
            parts.append(rule)
        if self.below:
            listed = ", ".join(map(str, self.below))
            parts.append(f"{n} = {listed}" if len(self.below) == 1 else f"{n} in {{{listed}}}")
        if not parts:
            return f"{self.axis}: no input size gives non-empty maps and aligned merges"
        return f"{self.axis}: aligned iff " + ", or ".join(parts)


@dataclass(frozen=True, slots=True)
class Sizes:
    """Per axis, the input sizes that give non-empty maps and aligned merges."""

    network: str
    axes: tuple[AxisSizes, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.network, "axes": {a.axis: a.to_dict() for a in self.axes}}

    def text(self) -> str:
        return "\n".join([f"{self.network}:", *(f"  {a.describe()}" for a in self.axes)]) + "\n"


def valid_sizes(network: Network) -> Sizes:
    """Exactly which input sizes give non-empty maps and aligned merges, per axis.

    Raises
    ------
    RFGraphError
        The answer is not periodic: a layer's geometry depends on the input size
        otherwise than through remainders (a resize to a fixed or another map's
        size, align_corners, adaptive pooling to more than one feature).

    Examples
    --------
    >>> from rfgraph import loads
    >>> net = loads('''
    ... dims: 1
    ... layers:
    ...   - {name: c, op: conv, kernel: 3, stride: 2, padding: 1}
    ...   - {name: a, op: conv, kernel: 3, stride: 2, padding: same}
    ...   - {name: b, op: conv, kernel: 1, stride: 2, inputs: [c]}
    ...   - {name: m, op: add, inputs: [a, b]}
    ... ''')
    >>> valid_sizes(net).axes[0].describe()
    'x: aligned iff X mod 4 in {1, 2}'
    """
    names = network.axis_names
    found: dict[tuple[int, ...], AxisSizes] = {}  # axes whose layers all agree have the same answer
    axes = []
    for i in range(network.dims):
        key = tuple(layer.key(i) for layer in network.layers.values())
        if key not in found:
            found[key] = _axis(network, i, names[i])
        axes.append(replace(found[key], axis=names[i]))
    return Sizes(network.name, tuple(axes))


def _axis(network: Network, i: int, name: str) -> AxisSizes:
    shaping = _shaping(network, i)
    scales = _scales(network, i, shaping)
    period = math.lcm(1, *(s.numerator for v, s in scales.items() if s is not None and v in shaping))
    # below `first` some map is empty; from `start` on, every map below a merge has two features
    first = _first_regular(network, i, dict.fromkeys(scales, 1))
    start = _first_regular(
        network, i, {v: 1 if s is None or v not in shaping else 2 for v, s in scales.items()}
    )
    if first is None or start is None:
        return AxisSizes(name, 1, 1, (), ())
    cutoff = _divergence(network, i, scales, start, period)
    if cutoff is not None:  # a merge of maps that grow apart: only sizes below the cutoff can fit
        return AxisSizes(name, 1, 1, (), tuple(n for n in range(1, cutoff) if _valid(network, i, n)))
    ok = {n: n >= first and _valid(network, i, n) for n in range(1, start + period)}
    residues = sorted({n % period for n in range(start, start + period) if ok[n]})
    period, residues = _shortest(period, residues)
    while start > 1 and ok[start - 1] == ((start - 1) % period in residues):
        start -= 1  # the rule already holds one size earlier
    below = tuple(n for n in range(1, start) if ok[n])
    if not residues:
        start = 1
    return AxisSizes(name, period, start, tuple(residues), below)


def _divergence(
    network: Network, i: int, scales: dict[str, Fraction | None], start: int, period: int
) -> int | None:
    """The input size from which some merge joins maps of different sizes for good, or None.

    Two maps of scales a < b grow apart. At multiples of the period every floor is exact, so a
    map's size there is ``n / scale + c``; between them sizes only grow. Hence from
    ``n > (L/a + L/b + c_b - c_a) / (1/a - 1/b)`` the faster map is the larger for good; and
    a map that grows outgrows one of a fixed size C > 1 (which no broadcast joins) from
    ``n > a*(C - c_a) + L``.
    """
    n1 = period * -(-start // period)
    sizes = _sizes(network, i, n1)
    cutoff = None
    for v in network.order[1:]:
        layer = network.layers[v]
        if layer.spec.merge is None:
            continue
        growing = sorted({scale for u in layer.inputs if (scale := scales[u]) is not None})
        if not growing:
            continue
        fast = growing[0]
        c_fast = next(sizes[u] - n1 / fast for u in layer.inputs if scales[u] == fast)
        bounds = []
        if len(growing) > 1:
            slow = growing[-1]
            c_slow = next(sizes[u] - n1 / slow for u in layer.inputs if scales[u] == slow)
            bounds.append((period / fast + period / slow + c_slow - c_fast) / (1 / fast - 1 / slow))
        fixed = [sizes[u] for u in layer.inputs if scales[u] is None and sizes[u] > 1]
        if fixed:
            bounds.append(fast * (max(fixed) - c_fast) + period)
        for bound in bounds:
            here = max(start, math.floor(bound) + 1)
            cutoff = here if cutoff is None else min(cutoff, here)
    return cutoff


def _shortest(period: int, residues: list[int]) -> tuple[int, list[int]]:
    """The smallest divisor of ``period`` with which the residues repeat."""
    chosen = set(residues)
    for p in sorted(d for d in range(1, period + 1) if period % d == 0):
        if all((r % p in {x % p for x in chosen}) == (r in chosen) for r in range(period)):
            return p, sorted({r % p for r in chosen})
    return period, residues


def _valid(network: Network, i: int, n: int) -> bool:
    size: list[int | None] = [None] * network.dims
    size[i] = n
    try:
        a = analyze(network, size)
    except RFGraphError:
        return False
    return not any(m.axis == i for m in a.misalignments)


def _shaping(network: Network, i: int) -> set[str]:
    """The maps whose sizes decide alignment or validity otherwise than monotonically: the maps
    below a merge or a layer that fits only some remainders (pixel_unshuffle, a crop to another
    map's size), through data and ``size_of`` edges."""
    todo: list[str] = []
    for v, layer in network.layers.items():
        if layer.spec.merge is not None:
            todo += layer.inputs
        elif (layer.size_of is not None and layer.spec.size_of_periodic) or _fits_by_remainder(layer, i):
            todo.append(v)
    found: set[str] = set()
    while todo:
        v = todo.pop()
        if v not in found:
            found.add(v)
            below = network.layers.get(v)
            if below is not None:
                todo += [*below.inputs, *([below.size_of] if below.size_of else [])]
    return found


def _fits_by_remainder(layer: Layer, i: int) -> bool:
    """Whether a size fits the layer on axis i depends on more than a least size."""
    taps = layer.geometry(i, None, None).taps
    if taps is None or layer.size_of is not None:
        return False
    m = math.ceil(taps.stride)

    def fits(n: int) -> bool:
        return layer.geometry(i, n, None).problem is None

    # a multiple of the stride and the next size, at two scales: a window that only needs a least size
    # fits both of one pair at least (pixel_unshuffle fits neither next size)
    return all(fits(n) != fits(n + 1) for n in (1000 * m, 7919 * m))


def _scales(network: Network, i: int, shaping: set[str]) -> dict[str, Fraction | None]:
    """Each map's scale on axis i (None: its size does not grow with the input's, or it does not
    matter: no merge and no size-dependent layer is below it)."""
    scales: dict[str, Fraction | None] = {network.input: Fraction(1)}
    ones: set[str] | None = None
    for v in network.order[1:]:
        layer = network.layers[v]
        below = [scales[u] for u in layer.inputs]
        if layer.spec.merge is not None:
            scales[v] = next((s for s in below if s is not None), None)
            continue
        geo = layer.geometry(i, None, None)
        if geo.problem is not None:  # wrong at any size (an output_padding, a factor too long to keep)
            msg = f"axis {network.axis_names[i]}: {geo.problem}"
            raise network.error(msg, v)
        if layer.size_of is not None:
            if layer.spec.size_of_periodic and scales[layer.size_of] == below[0]:
                scales[v] = below[0]  # a crop to a map of the same scale: a constant amount
                continue
        elif geo.taps is not None:
            scales[v] = None if below[0] is None else below[0] * geo.taps.stride
            continue
        elif geo.why is Why.GLOBAL:  # attention keeps its input's size, pools and heads give 1
            scales[v] = below[0] if layer.geometry(i, 2, None).size == 2 else None
            continue
        if v not in shaping:  # no merge and no size-dependent layer below: only its emptiness counts
            scales[v] = None
            continue
        if layer.size_of is not None and below[0] is None:
            if ones is None:  # the maps of one feature whatever the input size
                a, b = _sizes(network, i, 4096), _sizes(network, i, 4099)
                ones = {u for u, n in a.items() if n == 1 == b[u]}
            if layer.inputs[0] in ones:  # one feature spread over another map: the same at any size
                scales[v] = scales[layer.size_of]
                continue
        msg = (
            f"the input sizes that fit are not periodic on axis {network.axis_names[i]}: "
            f"{v!r} ({layer.op}) depends on the input size otherwise than through remainders"
        )
        raise network.error(msg, v)
    return scales


def _regular(network: Network, i: int, n: int, need: dict[str, int], memo: _Memo) -> bool:
    """Whether at input size n every map on axis i has at least the features it needs: one, or two
    for a map that grows with n and feeds a merge (broadcasting from one feature is not periodic)."""
    sizes = _sizes(network, i, n, memo)
    return all(size >= need[v] for v, size in sizes.items())


#: Output sizes by (layer's parameters on the axis, input size, the size_of node's size).
_Memo = dict[tuple[int, int, int | None], int | None]


def _sizes(network: Network, i: int, n: int, memo: _Memo | None = None) -> dict[str, int]:
    """Every map's size on axis i at input size n (computed, not checked)."""
    memo = {} if memo is None else memo
    sizes: dict[str, int] = {network.input: n}
    for v in network.order[1:]:
        layer = network.layers[v]
        below = [sizes[u] for u in layer.inputs]
        if layer.spec.merge is not None:  # empty if an input is, else the largest (broadcast)
            sizes[v] = min(below) if min(below) < 1 else max(below)
            continue
        other = None if layer.size_of is None else sizes[layer.size_of]
        smallest = below[0] if other is None else min(below[0], other)
        if smallest < 1:  # an empty map (or one sized by an empty map) stays empty
            sizes[v] = smallest
            continue
        key = (layer.key(i), below[0], other)
        size = memo[key] if key in memo else memo.setdefault(key, layer.geometry(i, below[0], other).size)
        sizes[v] = below[0] if size is None else size
    return sizes


def _first_regular(network: Network, i: int, need: dict[str, int]) -> int | None:
    """The smallest n from which every map has the features it needs (maps never shrink as n grows)."""
    memo: _Memo = {}
    high = 1
    while not _regular(network, i, high, need, memo):
        high *= 2
        if high > LARGEST:
            return None
    low = high // 2 + 1 if high > 1 else 1
    while low < high:
        mid = (low + high) // 2
        if _regular(network, i, mid, need, memo):
            high = mid
        else:
            low = mid + 1
    return high


__all__ = ["AxisSizes", "Sizes", "valid_sizes"]
