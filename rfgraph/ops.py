"""The op table: each op's parameters, output size and geometry along one axis.

An op's geometry along one axis is a :class:`Taps`: output feature
``period*m + phase`` reads the input positions ``step*m + offset`` for each
offset of ``offsets[phase]``. A convolution has period 1 and step ``stride``;
upsampling by ``f`` has period ``f`` and step 1, so its effective stride is
the fraction ``step / period``. Positions outside the input map are padding.

Each entry of :data:`OPS` declares its parameters (the loader and the JSON
Schema read them) and answers, for one axis, "which input positions does
output ``x`` read, and how big is the output" (the pass, ``locate``, ``sizes``,
the effective receptive field and the tests' brute force ask it). Adding an op
is one entry here, one doctest, one rule in ``tests/brute.py`` and one test row.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

#: One axis' resolved padding: (before, after).
Pair = tuple[int, int]
TYPE_CHECKING = False  # typing is imported for the type checker only: `rfgraph check` starts faster
if TYPE_CHECKING:
    from typing import Any, Literal

    #: One axis' padding as written: TensorFlow's "same", ONNX's "same_lower", "valid", or (before, after).
    Padding = Literal["same", "same_lower", "valid"] | Pair
    #: A parameter's value type: the loader reads it and the JSON Schema describes it (spec.TYPES).
    ValueType = Literal[
        "positive", "count", "padding", "pair", "pad", "factor", "mode", "bool", "node", "align"
    ]


class Why(enum.Enum):
    """Why an axis has no local field."""

    GLOBAL = "global"  # every feature reads the whole input
    STRIDES = "strides"  # a merge upstream joins different effective strides
    SIZE = "size"  # the geometry depends on an input size that was not given
    EMPTY = "empty"  # no feature reads any input position (taps that all land in holes)


#: The input offsets one phase reads, ascending: a range for windows (kernels may be huge).
Offsets = range | tuple[int, ...]
#: Their weights when every kernel averages its window: one for each, or one shared by all.
Weights = tuple[Fraction, ...] | Fraction


@dataclass(frozen=True, slots=True)
class Taps:
    """Along one axis, feature ``period*m + phase`` reads inputs ``step*m + o``, o in ``offsets[phase]``.

    Offsets are ascending. ``weights`` are the taps' weights when every kernel
    averages its window (the effective receptive field uses them).

    >>> t = Taps.window(3, stride=2, before=1)
    >>> t.offsets, t.stride, t.reads(5)
    ((range(-1, 2),), Fraction(2, 1), [9, 10, 11])
    >>> Taps(period=2, step=1, offsets=((0,), (0,)), weights=(Fraction(1),) * 2).reads(5)
    [2]
    """

    period: int
    step: int
    offsets: tuple[Offsets, ...]
    weights: tuple[Weights, ...]

    @staticmethod
    def window(kernel: int, stride: int = 1, dilation: int = 1, before: int = 0) -> Taps:
        """A sliding window: feature x reads ``x*stride - before + dilation*j``, j < kernel."""
        return Taps(
            1, stride, (range(-before, dilation * kernel - before, dilation),), (Fraction(1, kernel),)
        )

    @property
    def stride(self) -> Fraction:
        return Fraction(self.step, self.period)

    def reads(self, x: int) -> list[int]:
        """The input positions output feature ``x`` reads."""
        m, phase = divmod(x, self.period)
        return [self.step * m + o for o in self.offsets[phase]]

    def weight_list(self, phase: int) -> list[Fraction]:
        """One weight per offset of ``phase``."""
        w = self.weights[phase]
        return [w] * len(self.offsets[phase]) if isinstance(w, Fraction) else list(w)


POINTWISE_TAPS = Taps.window(1)


@dataclass(frozen=True, slots=True)
class Geometry:
    """What one layer does along one axis, at one input size.

    ``taps`` is None when the axis has no local geometry (``why`` says whether the
    op reads the whole input, or needs an input size); ``size`` is the output
    size, None when the input size is unknown; ``assumed`` when the taps assume a
    size (TensorFlow's "same" padding with a stride, without an input size).
    ``problem`` says why this input size does not fit (the output would be
    empty, or is not divisible): the pass reports it, ``sizes`` only counts it.
    """

    taps: Taps | None
    size: int | None
    assumed: bool = False
    why: Why | None = None
    problem: str | None = None
    #: (stride, first offset, last offset) of taps with period 1 that read something: the fast case
    window: tuple[int, int, int] | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.size is not None and self.size < 1 and self.problem is None:
            object.__setattr__(self, "problem", f"feature map becomes empty: gives size {self.size}")
        taps = self.taps
        if taps is not None and taps.period == 1 and taps.offsets[0]:
            offsets = taps.offsets[0]
            object.__setattr__(self, "window", (taps.step, offsets[0], offsets[-1]))


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter an op takes: its name, value type, default, and whether it is given per axis."""

    name: str
    type: ValueType
    default: Any = None  # None: no default (see required)
    per_axis: bool = True
    doc: str = ""
    required: bool = False
    #: (other parameter, the values it must have) when this one is given as true
    requires: tuple[str, tuple[str, ...]] | None = None


if TYPE_CHECKING:
    #: One axis of a layer: its parameters picked for the axis, the input size, and the size_of node's
    #: size (or, without sizes, the ratio of the two maps' strides, which ``size_of`` then assumes).
    Geometer = Callable[[Mapping[str, Any], int | None, "int | Fraction | None"], Geometry]


@dataclass(frozen=True, slots=True)
class Op:
    """An op: its parameters, its number of inputs, and its geometry along one axis.

    ``merge`` is None for single-input ops, else how inputs combine: "elementwise"
    (equal sizes, or broadcast from a size-1 map) or "concat" (equal sizes).
    """

    doc: str
    geometry: Geometer | None = None
    params: tuple[Param, ...] = ()
    merge: Literal["elementwise", "concat"] | None = None
    one_of: tuple[str, ...] = ()  # exactly one of these parameters must be given
    #: with ``size_of``, the geometry depends only on the two sizes' difference (a crop)
    size_of_periodic: bool = False

    @property
    def min_inputs(self) -> int:
        return 1 if self.merge is None else 2

    @property
    def max_inputs(self) -> int | None:
        return 1 if self.merge is None else None


def _span(kernel: int, dilation: int) -> int:
    return dilation * (kernel - 1) + 1


def resolve_padding(padding: Padding, span: int, stride: int, n: int | None) -> tuple[Pair, bool]:
    """(before, after) of one axis, and whether it assumed a size divisible by the stride.

    "same" is TensorFlow's (ONNX SAME_UPPER): total ``max(span - (n % stride or stride), 0)``,
    the smaller half before; "same_lower" puts the larger half before.

    >>> resolve_padding("same", 3, 2, None), resolve_padding("same", 3, 2, 7)
    (((0, 1), True), ((1, 1), False))
    >>> resolve_padding("same_lower", 4, 1, 9), resolve_padding((2, 0), 3, 1, None)
    (((2, 1), False), ((2, 0), False))
    """
    if padding == "valid":
        return (0, 0), False
    if isinstance(padding, tuple):
        return padding, False
    assumed = n is None and stride > 1
    rest = 0 if n is None else n % stride
    total = max(span - (rest or stride), 0)
    small = total // 2
    return ((small, total - small) if padding == "same" else (total - small, small)), assumed


def _window(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Conv and pool: kernel, stride, dilation, padding; pools also ceil_mode.

    >>> g = _window({"kernel": 3, "stride": 2, "dilation": 1, "padding": "same"}, 8, None)
    >>> g.taps.offsets, g.size
    ((range(0, 3),), 4)
    >>> ceil = {"kernel": 3, "stride": 2, "dilation": 1, "padding": (0, 0), "ceil_mode": True}
    >>> _window(ceil, 8, None).size, _window({**ceil, "kernel": 2, "padding": (1, 1)}, 5, None).size
    (4, 3)
    """
    k, s, d = a["kernel"], a["stride"], a["dilation"]
    span = _span(k, d)
    (before, after), assumed = resolve_padding(a["padding"], span, s, n)
    taps = Taps.window(k, s, d, before)
    if n is None:
        return Geometry(taps, None, assumed)
    room = n + before + after - span
    if a.get("ceil_mode"):
        out = -(-room // s) + 1
        if (out - 1) * s >= n + before:  # PyTorch: the last window must start inside the input
            out -= 1
    else:
        out = room // s + 1
    problem = f"feature map becomes empty: input size {n}, window {span} with padding {before}+{after}"
    return Geometry(taps, out, assumed, problem=problem if out < 1 else None)


def _pad(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Pad (negative values crop) or crop by explicit amounts: output x reads input x - before.

    >>> g = _pad({"padding": (2, 1)}, 5, None)
    >>> g.taps.reads(0), g.size
    ([-2], 8)
    """
    before, after = a["padding"] if "padding" in a else (-a["crop"][0], -a["crop"][1])
    out = None if n is None else n + before + after
    empty = out is not None and out < 1
    problem = f"feature map becomes empty: input size {n} padded by {before}+{after}" if empty else None
    return Geometry(Taps(1, 1, ((-before,),), (Fraction(1),)), out, problem=problem)


def _crop(a: Mapping[str, Any], n: int | None, other: int | Fraction | None) -> Geometry:
    """Crop by ``crop`` amounts, or centred to the size of ``size_of`` (U-Net's crop-and-concat).

    >>> _crop({"size_of": "enc"}, 64, 56).taps.offsets, _crop({"size_of": "enc"}, 64, 56).size
    (((4,),), 56)
    >>> _crop({"size_of": "enc"}, None, None).why
    <Why.SIZE: 'size'>
    """
    if "crop" in a:
        return _pad(a, n, other)
    if n is None or not isinstance(other, int):
        return Geometry(None, None, why=Why.SIZE)
    problem = f"cannot crop a map of size {n} to the larger size {other}" if other > n else None
    return Geometry(Taps(1, 1, (((n - other) // 2,),), (Fraction(1),)), other, problem=problem)


def _transposed(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Transposed conv: output x receives input y where x = y*stride - before + t*dilation.

    >>> t = {"kernel": 3, "stride": 2, "dilation": 1, "padding": (1, 1), "output_padding": 1}
    >>> g = _transposed(t, 4, None)
    >>> g.taps.period, g.taps.step, [list(o) for o in g.taps.offsets], g.size
    (2, 1, [[0], [0, 1]], 8)
    >>> [list(o) for o in _transposed({"kernel": 1, "stride": 2, "dilation": 1, "padding": (0, 0),
    ...                                 "output_padding": 0}, 3, None).taps.offsets]
    [[0], []]
    """
    k, s, d = a["kernel"], a["stride"], a["dilation"]
    before, after = a["padding"]
    if _too_long(s) is not None:
        return Geometry(None, None, problem=_too_long(s))
    if a["output_padding"] >= max(s, d):  # PyTorch's rule: it only picks among the sizes a stride allows
        problem = f"output_padding {a['output_padding']} must be smaller than the stride or the dilation"
        return Geometry(None, None, problem=problem)
    g = math.gcd(d, s)
    offsets: list[Offsets] = []
    for phase in range(s):
        # taps t < k with (phase + before - t*d) divisible by s: t = t0, t0 + s/g, ...
        target = phase + before
        if target % g:
            offsets.append(())
            continue
        t0 = (target // g) * pow(d // g, -1, s // g) % (s // g)
        count = max(0, -(-(k - t0) // (s // g)))
        first = (target - t0 * d) // s  # the input the first tap reads; later taps read lower ones
        offsets.append(range(first - (count - 1) * (d // g), first + 1, d // g) if count else ())
    weights = (Fraction(1, k),) * s
    taps = Taps(s, 1, tuple(offsets), weights)
    if n is None:
        return Geometry(taps, None)
    return Geometry(taps, (n - 1) * s - before - after + _span(k, d) + a["output_padding"])


def _interpolation(mode: str, scale: Fraction, half_pixel: bool, period: int, step: int) -> Taps:
    """Taps of output features 0..period-1 when output x samples input coordinate ``src(x)``.

    ``src(x) = x*scale`` (``half_pixel``: ``(x + 1/2)*scale - 1/2``); nearest reads
    ``floor(src)`` (``nearest_exact``: ``floor(src)`` of the half-pixel coordinate),
    (bi)linear its two neighbours, bicubic four (PyTorch's A = -3/4); neighbours
    whose weight is exactly 0 are not read.
    """
    offsets, weights = [], []
    for x in range(period):
        src = (x + Fraction(1, 2)) * scale - Fraction(1, 2) if half_pixel else x * scale
        base = math.floor(src)
        if mode == "nearest":
            pairs = [(base, Fraction(1))]
        elif mode == "nearest_exact":
            pairs = [(math.floor(src + Fraction(1, 2)), Fraction(1))]
        elif mode == "bilinear":
            t = src - base
            pairs = [(base, 1 - t), (base + 1, t)]
        else:
            t = src - base
            pairs = [(base - 1 + j, _cubic(j - 1 - t)) for j in range(4)]
        kept = [(o, w) for o, w in pairs if w != 0]
        offsets.append(tuple(o for o, _ in kept))
        weights.append(tuple(w for _, w in kept))
    return Taps(period, step, tuple(offsets), tuple(weights))  # type: ignore[arg-type]


def _cubic(t: Fraction) -> Fraction:
    """Keys' cubic convolution kernel with A = -3/4, as PyTorch's bicubic uses it."""
    a, t = Fraction(-3, 4), abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    if t < 2:
        return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return Fraction(0)


def _resample(a: Mapping[str, Any], n: int | None, out: int | None, factor: Fraction | None) -> Geometry:
    """Upsample or resize: by ``factor`` (coordinates scale by 1/factor, as PyTorch's scale_factor)
    or to an output size ``out`` (scale n/out); ``align_corners`` maps corner to corner."""
    mode = a.get("mode", "nearest")
    if factor is not None and n is not None:
        out = math.floor(n * factor)
    if out is not None and out < 1:
        return Geometry(None, out)  # an empty map (Geometry says so)
    if a.get("align_corners"):
        if n is None or out is None:
            return Geometry(None, out, why=Why.SIZE)
        scale = Fraction(n - 1, out - 1) if out > 1 else Fraction(0)
        return _periodic(mode, scale, False, out)
    if factor is None:
        if n is None or out is None:
            return Geometry(None, out, why=Why.SIZE)
        scale = Fraction(n, out)
    else:
        scale = 1 / factor
        if _too_long(scale.denominator) is not None:  # the file's factor, whatever the size
            return Geometry(None, out, problem=_too_long(scale.denominator))
    return _periodic(mode, scale, mode != "nearest", out)


def _periodic(mode: str, scale: Fraction, half_pixel: bool, out: int | None) -> Geometry:
    # x -> x + q moves the source coordinate by q*scale: an integer once q is scale's denominator
    # (at most the output's size when the scale comes from sizes)
    if scale == 0:  # a one-feature output: only feature 0 exists
        return Geometry(POINTWISE_TAPS, out)
    return Geometry(_interpolation(mode, scale, half_pixel, scale.denominator, scale.numerator), out)


#: Fields that would repeat only after more features than this because of a factor, a stride or a
#: pixel shuffle's factor given in the file are not computed (each phase is kept).
MAX_PERIOD = 2**16


def _too_long(period: int) -> str | None:
    """Why a geometry whose taps repeat every ``period`` features is refused, or None.

    >>> _too_long(10**7)
    'its fields would repeat only every 10000000 features (at most 65536 are kept)'
    """
    if period <= MAX_PERIOD:
        return None
    return f"its fields would repeat only every {period} features (at most {MAX_PERIOD} are kept)"


def _upsample(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Upsample by an integer factor.

    >>> _upsample({"factor": 2}, 5, None).taps.offsets, _upsample({"factor": 2}, 5, None).size
    (((0,), (0,)), 10)
    >>> _upsample({"factor": 2, "mode": "bilinear"}, None, None).taps.offsets
    ((-1, 0), (0, 1))
    >>> _upsample({"factor": 3, "mode": "bilinear"}, None, None).taps.offsets
    ((-1, 0), (0,), (0, 1))
    """
    f = a["factor"]
    return _resample(a, n, None if n is None else n * f, Fraction(f))


def _resize(a: Mapping[str, Any], n: int | None, other: int | Fraction | None) -> Geometry:
    """Resize by a rational ``factor``, to a ``size``, or to the size of ``size_of``.

    >>> g = _resize({"factor": Fraction(3, 2)}, 4, None)
    >>> g.taps.offsets, g.size
    (((0,), (0,), (1,)), 6)
    >>> _resize({"size": 7}, None, None).why
    <Why.SIZE: 'size'>
    """
    if "factor" in a:
        return _resample(a, n, None, a["factor"])
    if isinstance(other, Fraction) and n is None:  # sizes assumed to divide evenly: resize by their ratio
        geometry = _resample(a, n, None, other)
        return Geometry(geometry.taps, None, True, geometry.why)
    out = a["size"] if "size" in a else other
    return _resample(a, n, out if isinstance(out, int) else None, None)


def _pixel_shuffle(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Depth to space: output x reads input x // factor (of another channel).

    >>> g = _pixel_shuffle({"factor": 3}, 4, None)
    >>> g.taps.reads(4), g.taps.reads(5), g.size
    ([1], [1], 12)
    """
    f = a["factor"]
    if _too_long(f) is not None:
        return Geometry(None, None, problem=_too_long(f))
    return Geometry(Taps(f, 1, ((0,),) * f, (Fraction(1),) * f), None if n is None else n * f)


def _pixel_unshuffle(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Space to depth: output x reads inputs x*factor .. x*factor + factor - 1.

    >>> g = _pixel_unshuffle({"factor": 2}, 5, None)
    >>> g.taps.reads(1), g.problem
    ([2, 3], 'pixel_unshuffle by 2 needs a size divisible by 2, got 5')
    """
    f = a["factor"]
    taps = Taps(1, f, (range(f),), (Fraction(1, f),))
    odd = n is not None and n % f != 0
    problem = f"pixel_unshuffle by {f} needs a size divisible by {f}, got {n}" if odd else None
    return Geometry(taps, None if n is None else n // f, problem=problem)


def _adaptive(a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """PyTorch's adaptive pool: output i reads floor(i*n/k) .. ceil((i+1)*n/k) - 1.

    >>> _adaptive({"output_size": 3}, 8, None).taps.offsets
    (range(0, 3), range(2, 6), range(5, 8))
    >>> _adaptive({"output_size": 1}, None, None).why
    <Why.GLOBAL: 'global'>
    """
    k = a["output_size"]
    if k == 1:
        return Geometry(None, 1, why=Why.GLOBAL)
    if n is None:
        return Geometry(None, k, why=Why.SIZE)
    g = math.gcd(n, k)
    offsets = tuple(range(i * n // k, -(-(i + 1) * n // k)) for i in range(k // g))
    return Geometry(Taps(k // g, n // g, offsets, tuple(Fraction(1, len(o)) for o in offsets)), k)


def _pointwise(_a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Activations, norms, channel reshapes: output x reads input x.

    >>> _pointwise({}, 7, None).taps.reads(3), _pointwise({}, 7, None).size
    ([3], 7)
    """
    return Geometry(POINTWISE_TAPS, n)


def _to_one(_a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Global pool, flatten, fully connected: every output reads every input; one output.

    >>> g = _to_one({}, 7, None)
    >>> g.why, g.size, g.taps
    (<Why.GLOBAL: 'global'>, 1, None)
    """
    return Geometry(None, 1, why=Why.GLOBAL)


def _global(_a: Mapping[str, Any], n: int | None, _: object) -> Geometry:
    """Self-attention and the like: every output reads every input; the size is kept.

    >>> _global({}, 7, None).why, _global({}, 7, None).size
    (<Why.GLOBAL: 'global'>, 7)
    """
    return Geometry(None, n, why=Why.GLOBAL)


_KERNEL = Param("kernel", "positive", 1, doc="window size")
_STRIDE = Param("stride", "positive", 1, doc="step between windows")
_DILATION = Param("dilation", "positive", 1, doc="spacing of the window's taps")
_PADDING = Param("padding", "padding", (0, 0), doc="int | same | same_lower | valid, or [before, after]")
_FACTOR = Param("factor", "positive", doc="integer factor", required=True)
_MODE = Param("mode", "mode", "nearest", per_axis=False, doc="nearest | nearest_exact | bilinear | bicubic")
_CORNERS = Param(
    "align_corners",
    "bool",
    False,
    per_axis=False,
    doc="map corner pixels onto corner pixels (bilinear, bicubic)",
    requires=("mode", ("bilinear", "bicubic")),
)
_SIZE_OF = Param("size_of", "node", per_axis=False, doc="take the size of this node")
_ALIGN = Param("align", "align", per_axis=False, doc="centre | start | end | none (default: the file's)")

WINDOW = Op("sliding window", _window, (_KERNEL, _STRIDE, _DILATION, _PADDING))
POOL = Op(
    "sliding window",
    _window,
    (*WINDOW.params, Param("ceil_mode", "bool", False, per_axis=False, doc="PyTorch's ceil_mode")),
)
POINTWISE = Op("unchanged", _pointwise)
UPSAMPLE = Op("upsample", _upsample, (_FACTOR, _MODE, _CORNERS))
PIXEL_SHUFFLE = Op("depth to space", _pixel_shuffle, (_FACTOR,))
PIXEL_UNSHUFFLE = Op("space to depth", _pixel_unshuffle, (_FACTOR,))
ADAPTIVE = Op(
    "adaptive pool", _adaptive, (Param("output_size", "positive", doc="output size", required=True),)
)
TO_ONE = Op("global, output size 1", _to_one)
ELEMENTWISE = Op("merge, equal sizes or broadcast from size 1", merge="elementwise", params=(_ALIGN,))

# Pass-through ops are named explicitly, never assumed: an unknown op is an error.
_POINTWISE_NAMES = """identity relu relu6 leaky_relu prelu elu selu celu gelu silu swish mish sigmoid
hardsigmoid hardswish hardtanh tanh softplus softmax bn batch_norm layer_norm group_norm instance_norm
local_response_norm dropout scale bias channel_shuffle""".split()

OPS: dict[str, Op] = {
    **dict.fromkeys(["conv", "depthwise_conv", "separable_conv"], WINDOW),
    **dict.fromkeys(["pool", "max_pool", "avg_pool"], POOL),
    "pad": Op(
        "pad (negative values crop)", _pad, (Param("padding", "pad", (0, 0), doc="int or [before, after]"),)
    ),
    "crop": Op(
        "crop",
        _crop,
        (Param("crop", "pair", doc="int or [before, after], cropped off"), _SIZE_OF),
        one_of=("crop", "size_of"),
        size_of_periodic=True,
    ),
    "transposed_conv": Op(
        "transposed convolution",
        _transposed,
        (
            _KERNEL,
            _STRIDE,
            _DILATION,
            Param("padding", "pair", (0, 0), doc="int or [before, after] (PyTorch's meaning)"),
            Param("output_padding", "count", 0, doc="extra size after the end"),
        ),
    ),
    "upsample": UPSAMPLE,
    "resize": Op(
        "resize",
        _resize,
        (
            Param("factor", "factor", doc="rational factor: 2, 1.5 or 3/2"),
            Param("size", "positive", doc="output size"),
            _SIZE_OF,
            _MODE,
            _CORNERS,
        ),
        one_of=("factor", "size", "size_of"),
    ),
    **dict.fromkeys(["pixel_shuffle", "depth_to_space"], PIXEL_SHUFFLE),
    **dict.fromkeys(["pixel_unshuffle", "space_to_depth"], PIXEL_UNSHUFFLE),
    **dict.fromkeys(["adaptive_pool", "adaptive_avg_pool", "adaptive_max_pool"], ADAPTIVE),
    **dict.fromkeys(["global_pool", "global_avg_pool", "global_max_pool", "flatten", "fc", "linear"], TO_ONE),
    "global": Op("global, size kept", _global),
    **dict.fromkeys(_POINTWISE_NAMES, POINTWISE),
    **dict.fromkeys(["add", "sub", "mul", "div", "max", "min"], ELEMENTWISE),
    "concat": Op("merge, equal sizes", merge="concat", params=(_ALIGN,)),
}

#: Ops whose geometry changes the stride or the size: "did you mean" suggests only these for an
#: unknown name that suggests resampling, never a pointwise op that would silently keep the stride.
RESHAPING = frozenset(
    name for name, op in OPS.items() if op not in (POINTWISE, ELEMENTWISE) and op.merge is None
)

#: Ops whose output has as many channels as their input: a channel count (the ``channels`` key,
#: which a concat's effective receptive field weighs its inputs by) carries through them.
KEEPS_CHANNELS = frozenset(
    [name for name, op in OPS.items() if op in (POINTWISE, POOL, ADAPTIVE, UPSAMPLE)]
    + ["pad", "crop", "resize", "global_pool", "global_avg_pool", "global_max_pool"]
)
