"""The op table: what each op accepts and the window it slides along one axis.

Every op that is not a merge is a window: feature ``x`` of its output reads the
input positions ``x*stride - before + dilation*j`` for ``j`` in ``range(kernel)``.
Pointwise ops are the 1x1 window, ``pad`` is a 1x1 window with padding.
Adding an op means adding one entry to ``OPS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: One axis' padding: TensorFlow's "same", "valid" (none), or explicit (before, after).
Padding = Literal["same", "valid"] | tuple[int, int]


@dataclass(frozen=True, slots=True)
class Op:
    """What an op is: its kind and the parameters it accepts."""

    kind: Literal["window", "merge"]
    params: tuple[str, ...] = ()
    crops: bool = False  # negative padding allowed (cropping)

    @property
    def min_inputs(self) -> int:
        return 2 if self.kind == "merge" else 1

    @property
    def max_inputs(self) -> int | None:
        return None if self.kind == "merge" else 1


WINDOW = Op("window", ("kernel", "stride", "dilation", "padding"))
PAD = Op("window", ("padding",), crops=True)
POINTWISE = Op("window")
MERGE = Op("merge")

# Pass-through ops are named explicitly, never assumed: an unknown op is an error.
OPS: dict[str, Op] = {
    "conv": WINDOW,
    "depthwise_conv": WINDOW,
    "separable_conv": WINDOW,
    "pool": WINDOW,
    "max_pool": WINDOW,
    "avg_pool": WINDOW,
    "pad": PAD,
    **dict.fromkeys(
        ["identity", "relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax"],
        POINTWISE,
    ),
    **dict.fromkeys(["bn", "batch_norm", "layer_norm", "dropout", "scale", "bias"], POINTWISE),
    "add": MERGE,
    "concat": MERGE,
    "mul": MERGE,
}


@dataclass(frozen=True, slots=True)
class Window:
    """A layer's sliding window along one axis, with its padding resolved.

    >>> w = Window(kernel=3, stride=2, before=1, after=1)
    >>> w.span, w.out_size(5)
    (3, 3)
    >>> Window(kernel=3, dilation=2).span
    5
    """

    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    before: int = 0
    after: int = 0

    @property
    def span(self) -> int:
        """Input positions from the first to the last one a feature reads."""
        return self.dilation * (self.kernel - 1) + 1

    def out_size(self, size: int) -> int:
        return (size + self.before + self.after - self.span) // self.stride + 1


def window(kernel: int, stride: int, dilation: int, padding: Padding, size: int | None = None) -> Window:
    """Resolve one axis' padding into a :class:`Window`.

    ``"same"`` follows TensorFlow; without a ``size`` it assumes the size is a
    multiple of the stride.

    >>> window(3, 2, 1, "same")
    Window(kernel=3, stride=2, dilation=1, before=0, after=1)
    >>> window(3, 2, 1, "same", size=7)
    Window(kernel=3, stride=2, dilation=1, before=1, after=1)
    """
    if padding == "valid":
        before, after = 0, 0
    elif padding == "same":
        span = dilation * (kernel - 1) + 1
        rest = 0 if size is None else size % stride
        total = max(span - (rest or stride), 0)
        before, after = total // 2, total - total // 2
    else:
        before, after = padding
    return Window(kernel, stride, dilation, before, after)


def is_size_dependent(stride: int, padding: Padding) -> bool:
    """Whether "same" padding of this axis changes with the input size."""
    return padding == "same" and stride > 1
