"""A brute-force receptive-field evaluator, independent of rfgraph's ops, fields and analysis.

It uses no closed form and no phases: to know which input coordinates feature
``x`` of a node reads, it applies each op's definition (which input positions
output x reads, written here again from PyTorch's and TensorFlow's own words),
position by position, down to the input, and takes the set. r, S, P are read off
those sets over many features; feature-map sizes are counted window by window.
With an input size it also walks the finite maps, where a position below 0 or
at/after a map's size is padding and reads nothing. Only the parsed layers
(their ``params``) are shared with rfgraph.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import networkx as nx

from rfgraph.network import Layer, Network

FEATURES = 96  # features sampled per axis at least: several full periods of most random nets
# periods are looked for up to this, on 3 periods of features (align_corners: (n - 1)/(out - 1))
MAX_PERIOD = 1024


class SizeError(Exception):
    """The brute force found a merge of different sizes or an empty map."""


GLOBAL_OPS = {"global_pool", "global_avg_pool", "global_max_pool", "flatten", "fc", "linear", "global"}
MERGES = {"add", "sub", "mul", "div", "max", "min", "concat"}


def tf_same(n: int, span: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding, as TensorFlow writes it (out = ceil(n / s))."""
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return total // 2, total - total // 2


@dataclass
class Field:
    r: int | None
    S: Fraction | None
    P: int | None
    r_min: int | None
    is_global: bool


class Brute:
    def __init__(self, net: Network, input_size: tuple[int, ...] | None = None) -> None:
        self.net = net
        self.input_size = input_size
        self.order = list(nx.topological_sort(net.graph))
        # data edges only: a size_of edge gives a size and carries no data, so no field follows it
        self.data = nx.DiGraph([(u, v) for v, layer in net.layers.items() for u in layer.inputs])
        self.sizes: dict[str, tuple[int, ...] | None] = {}
        for v in self.order:
            self.sizes[v] = input_size if v == net.input else self._size(net.layers[v])
        self.deps = lru_cache(maxsize=None)(self._deps)
        self.finite = lru_cache(maxsize=None)(self._finite)
        self.finite_box = lru_cache(maxsize=None)(self._finite_box)
        self.state: dict[tuple[str, int], str] = {}  # "local", "global", "undefined", "unknown"
        self.fields: dict[tuple[str, int], tuple[int, Fraction] | None] = {}  # (period, S)
        for v in self.order:
            for a in range(net.dims):
                self.state[v, a] = self._state(v, a)

    # --- the ops, each written from its definition --------------------------------------------------

    def is_merge(self, layer: Layer) -> bool:
        return layer.op in MERGES

    def rule(self, layer: Layer) -> str:
        return layer.params.get("align") or self.net.align

    def in_size(self, layer: Layer, a: int) -> int | None:
        size = self.sizes.get(layer.inputs[0])
        return None if size is None else size[a]

    def other_size(self, layer: Layer, a: int) -> int | None:
        size = self.sizes.get(layer.params["size_of"])
        return None if size is None else size[a]

    def pads(self, layer: Layer, a: int, n: int | None) -> tuple[int, int]:
        p = layer.params["padding"][a]
        k, s, d = layer.params["kernel"][a], layer.params["stride"][a], layer.params["dilation"][a]
        span = d * (k - 1) + 1
        if p == "valid":
            return 0, 0
        if p in ("same", "same_lower"):
            # without a size, the convention is a size divisible by the stride
            before, after = tf_same(1000 * s if n is None else n, span, s)
            return (before, after) if p == "same" else (after, before)
        return p

    def scale(self, layer: Layer, a: int) -> Fraction | None:
        """Input coordinates per output coordinate; None where a size is needed and missing."""
        params, n = layer.params, self.in_size(layer, a)
        if layer.op == "upsample":
            out = None if n is None else n * params["factor"][a]
            factor = Fraction(params["factor"][a])
        elif "factor" in params:
            factor = params["factor"][a]
            out = None if n is None else math.floor(n * factor)
        else:
            out = params["size"][a] if "size" in params else self.other_size(layer, a)
            factor = None
        if params.get("align_corners"):  # corner to corner: the scale needs both sizes, size_of or not
            if n is None or out is None:
                return None
            # out = 1: PyTorch's scale is 0 and the one feature reads input 0; features past it do not
            # exist, and rfgraph's convention extends the map pointwise (S = 1), not with S = 0
            return Fraction(n - 1, out - 1) if out > 1 else Fraction(1)
        if factor is not None:
            return 1 / factor
        if out is None and n is None and "size_of" in params:
            mine, theirs = self.fields.get((layer.inputs[0], a)), self.fields.get((params["size_of"], a))
            if mine is None or theirs is None:
                return None
            return theirs[1] / mine[1]  # their S over mine: sizes that divide evenly
        return None if n is None or out is None else Fraction(n, out)

    def reads(self, layer: Layer, a: int, x: int) -> list[int] | None:
        """The input positions output x reads (padding included); None when it needs a missing size."""
        op, params, n = layer.op, layer.params, self.in_size(layer, a)
        if "kernel" in params and op != "transposed_conv":
            before, _ = self.pads(layer, a, n)
            s, d = params["stride"][a], params["dilation"][a]
            return [x * s - before + j * d for j in range(params["kernel"][a])]
        if op == "pad":
            return [x - params["padding"][a][0]]
        if op == "crop":
            if "crop" in params:
                return [x + params["crop"][a][0]]
            m = self.other_size(layer, a)
            return None if n is None or m is None else [x + (n - m) // 2]
        if op == "transposed_conv":
            s, d, k = params["stride"][a], params["dilation"][a], params["kernel"][a]
            before = params["padding"][a][0]
            return [
                y
                for y in range(x // s - k * d - 2, x // s + k * d + 2)
                for t in range(k)
                if y * s - before + t * d == x
            ]
        if op in ("upsample", "resize"):
            return self.interpolate(layer, a, x)
        if op in ("pixel_shuffle", "depth_to_space"):
            return [x // params["factor"][a]]
        if op in ("pixel_unshuffle", "space_to_depth"):
            f = params["factor"][a]
            return [x * f + j for j in range(f)]
        if op.startswith("adaptive"):
            k = params["output_size"][a]
            if n is None:
                return None
            return list(range(x * n // k, -(-(x + 1) * n // k)))
        return [x]  # pointwise

    def interpolate(self, layer: Layer, a: int, x: int) -> list[int] | None:
        scale = self.scale(layer, a)
        if scale is None:
            return None
        mode = layer.params.get("mode", "nearest")
        if layer.params.get("align_corners"):
            src = x * scale
        elif mode == "nearest":
            return [math.floor(x * scale)]
        elif mode == "nearest_exact":
            return [math.floor((x + Fraction(1, 2)) * scale)]
        else:
            src = (x + Fraction(1, 2)) * scale - Fraction(1, 2)
        i0 = math.floor(src)
        if mode == "nearest":
            return [i0]
        if src == i0:  # the other neighbours' weights are exactly 0
            return [i0]
        return [i0, i0 + 1] if mode == "bilinear" else [i0 - 1, i0, i0 + 1, i0 + 2]

    def is_global_op(self, layer: Layer, a: int) -> bool:
        return layer.op in GLOBAL_OPS or (
            layer.op.startswith("adaptive") and layer.params["output_size"][a] == 1
        )

    def _size(self, layer: Layer) -> tuple[int, ...] | None:
        sizes = [self.sizes[u] for u in layer.inputs]
        if sizes[0] is None:
            return None
        if self.is_merge(layer):
            out = []
            for a in range(self.net.dims):
                values = {s[a] for s in sizes}
                if layer.op != "concat" and len(values) == 2 and 1 in values:
                    values.discard(1)
                if len(values) > 1:
                    raise SizeError(layer.name)
                out.append(values.pop())
            return tuple(out)
        return tuple(self._axis_size(layer, a, n) for a, n in enumerate(sizes[0]))

    def _axis_size(self, layer: Layer, a: int, n: int) -> int:
        op, params = layer.op, layer.params
        if self.is_global_op(layer, a):
            count = n if op == "global" else 1
        elif op.startswith("adaptive"):
            count = params["output_size"][a]
        elif "kernel" in params and op != "transposed_conv":
            before, after = self.pads(layer, a, n)
            s, k, d = params["stride"][a], params["kernel"][a], params["dilation"][a]
            last_tap = d * (k - 1)
            ceil = params.get("ceil_mode", False)
            count = 0
            # windows that end inside the padded input (ceil_mode: within a stride past its end)
            while count * s + last_tap <= n - 1 + before + after + (s - 1 if ceil else 0):
                count += 1
            # PyTorch: "ensure that the last pooling starts inside the image"
            if ceil and (count - 1) * s >= n + before:
                count -= 1
        elif op == "transposed_conv":
            s, k, d = params["stride"][a], params["kernel"][a], params["dilation"][a]
            before, after = params["padding"][a]
            last = (n - 1) * s - before + (k - 1) * d  # where the last input's last tap lands
            count = last + 1 + params["output_padding"][a] - after
        elif op == "pad":
            count = n + sum(params["padding"][a])
        elif op == "crop":
            count = n - sum(params["crop"][a]) if "crop" in params else self.other_size(layer, a)
            if count > n:  # a crop only takes away
                raise SizeError(layer.name)
        elif op == "upsample":
            count = n * params["factor"][a]
        elif op == "resize":
            if "factor" in params:
                count = math.floor(n * params["factor"][a])
            else:
                count = params["size"][a] if "size" in params else self.other_size(layer, a)
        elif op in ("pixel_shuffle", "depth_to_space"):
            count = n * params["factor"][a]
        elif op in ("pixel_unshuffle", "space_to_depth"):
            if n % params["factor"][a]:
                raise SizeError(layer.name)
            count = n // params["factor"][a]
        else:
            count = n
        if count is None or count < 1:
            raise SizeError(layer.name)
        return count

    # --- sets of input positions ---------------------------------------------------------------------

    def _deps(self, v: str, a: int, x: int) -> tuple[frozenset[int], bool] | None:
        """(input positions feature x reads on infinite maps, whether a global op feeds it); None: unknown."""
        if v == self.net.input:
            return frozenset([x]), False
        layer = self.net.layers[v]
        if self.is_merge(layer):
            found, is_global = set(), False
            for u in layer.inputs:
                got = self.deps(u, a, 0 if self.broadcast(layer, u, a) else x)
                if got is None:
                    return None
                found |= got[0]
                is_global |= got[1]
            return frozenset(found), is_global
        u = layer.inputs[0]
        if self.is_global_op(layer, a):
            return frozenset(), True
        ys = self.reads(layer, a, x)
        if ys is None:  # a geometry that needs a size: unknown, unless the input is purely global
            below = self.deps(u, a, 0)
            return (frozenset(), True) if below == (frozenset(), True) else None
        found, is_global = set(), False
        for y in ys:
            got = self.deps(u, a, y)
            if got is None:
                return None
            found |= got[0]
            is_global |= got[1]
        if not ys:
            got = self.deps(u, a, 0)
            is_global = got is not None and got[1]
        return frozenset(found), is_global

    def broadcast(self, layer: Layer, u: str, a: int) -> bool:
        """A one-feature input of an elementwise merge whose output is larger: every x reads its feature 0."""
        if layer.op == "concat" or self.sizes[u] is None or self.sizes[layer.name] is None:
            return False
        return self.sizes[u][a] == 1 and self.sizes[layer.name][a] > 1

    def _finite(self, v: str, a: int, x: int) -> frozenset[int]:
        """The input pixels feature x really reads on the finite maps (padding reads nothing)."""
        n = self.sizes[v]
        assert n is not None
        if x < 0 or x >= n[a]:
            return frozenset()
        if v == self.net.input:
            return frozenset([x])
        layer = self.net.layers[v]
        if self.is_merge(layer):
            return frozenset().union(
                *(
                    self.finite(u, a, 0 if self.broadcast(layer, u, a) else x)
                    for u in layer.inputs
                    if self.state[u, a] == "local"
                )
            )
        if self.is_global_op(layer, a):
            return frozenset()
        return frozenset().union(*(self.finite(layer.inputs[0], a, y) for y in self.reads(layer, a, x) or ()))

    def _finite_box(
        self, v: str, axes: tuple[int, ...], x: tuple[int, ...]
    ) -> tuple[tuple[int, int], ...] | None:
        """The bounding box on ``axes`` of the input pixels feature ``x`` (one index per axis of
        ``axes``) really reads on the finite maps, walking the maps on those axes position by position:
        a layer's feature reads every combination of its per-axis taps; a merge reads its inputs that
        are local on every one of ``axes`` (the others are left out, as they are of fields)."""
        n = self.sizes[v]
        assert n is not None
        if any(c < 0 or c >= n[a] for a, c in zip(axes, x, strict=True)):
            return None
        if v == self.net.input:
            return tuple((c, c) for c in x)
        layer = self.net.layers[v]
        if self.is_merge(layer):
            found = [
                self.finite_box(
                    u,
                    axes,
                    tuple(0 if self.broadcast(layer, u, a) else c for a, c in zip(axes, x, strict=True)),
                )
                for u in layer.inputs
                if all(self.state[u, a] == "local" for a in axes)
            ]
        elif any(self.is_global_op(layer, a) for a in axes):
            return None
        else:
            taps = [self.reads(layer, a, c) or () for a, c in zip(axes, x, strict=True)]
            found = [self.finite_box(layer.inputs[0], axes, y) for y in itertools.product(*taps)]
        boxes = [b for b in found if b is not None]
        if not boxes:
            return None
        return tuple((min(b[k][0] for b in boxes), max(b[k][1] for b in boxes)) for k in range(len(axes)))

    def local_axes(self, v: str) -> tuple[int, ...]:
        return tuple(a for a in range(self.net.dims) if self.state[v, a] == "local")

    def interval(self, v: str, a: int, x: int) -> tuple[int, int] | None:
        got = self.deps(v, a, x)
        if got is None or not got[0]:
            return None
        return min(got[0]), max(got[0])

    def clipped(self, v: str, a: int, x: int) -> tuple[int, int] | None:
        got = self.finite(v, a, x)
        return (min(got), max(got)) if got else None

    # --- what the sets say ----------------------------------------------------------------------------

    def _state(self, v: str, a: int) -> str:
        if v == self.net.input:
            self.fields[v, a] = (1, Fraction(1))
            return "local"
        layer = self.net.layers[v]
        inputs = [self.state[u, a] for u in layer.inputs]
        if self.is_merge(layer):
            if "undefined" in inputs:
                return "undefined"
            if "unknown" in inputs:
                return "unknown"
            local = [u for u in layer.inputs if self.state[u, a] == "local"]
            if not local:
                return "global" if "global" in inputs else "empty"
            if any(self.broadcast(layer, u, a) for u in local):
                return "undefined"
            if len({self.fields[u, a][1] for u in local}) > 1:
                return "undefined"
        elif self.is_global_op(layer, a):
            return "global"  # reads every input position, whatever is known of them
        elif inputs[0] != "local":
            return inputs[0]
        if self.deps(v, a, 0) is None:
            return "unknown"
        if not any(self.deps(v, a, x)[0] for x in range(FEATURES)):
            return "empty"
        self.fields[v, a] = self.periodicity(v, a)
        return "local"

    def periodicity(self, v: str, a: int) -> tuple[int, Fraction]:
        """The smallest T with box(x + T) = box(x) + D for every sampled x: (T, S = D / T)."""
        boxes: list[tuple[int, int] | None] = []
        for period in range(1, MAX_PERIOD + 1):
            boxes += [self.interval(v, a, x) for x in range(len(boxes), max(FEATURES, 3 * period))]
            shifts = set()
            for p, q in zip(boxes, boxes[period:], strict=False):
                if p and q:
                    shifts.add((q[0] - p[0], q[1] - p[1]))
                elif p or q:
                    shifts.add("x")
                if len(shifts) > 1 or "x" in shifts:
                    break
            if len(shifts) == 1 and "x" not in shifts:
                (d0, d1) = shifts.pop()
                if d0 == d1:
                    return period, Fraction(d0, period)
        raise AssertionError(f"no period up to {MAX_PERIOD} for {v!r} on axis {a}")

    def field(self, v: str, a: int) -> Field:
        state = self.state[v, a]
        r_min = self.r_min(v, a)
        is_global = any(self.deps(v, a, x) is not None and self.deps(v, a, x)[1] for x in range(2))
        if state != "local":
            return Field(None, None, None, r_min, is_global or state == "global")
        period, S = self.fields[v, a]
        widths = [b[1] - b[0] + 1 for b in (self.interval(v, a, x) for x in range(period)) if b]
        box0 = self.interval(v, a, 0)
        return Field(max(widths), S, None if box0 is None else -box0[0], r_min, is_global)

    def is_aligned(self, v: str) -> bool | None:
        """None: a merge not checked (rule none, or a size is needed)."""
        layer = self.net.layers.get(v)
        if layer is None or not self.is_merge(layer):
            return True
        rule = self.rule(layer)
        if rule == "none":
            return None
        unknown = False
        for a in range(self.net.dims):
            states = [self.state[u, a] for u in layer.inputs]
            if "undefined" in states:
                return False
            if "unknown" in states:
                unknown = True
                continue
            local = [u for u in layer.inputs if self.state[u, a] == "local"]
            if any(self.broadcast(layer, u, a) for u in local):
                return False
            if len({self.fields[u, a][1] for u in local}) > 1:
                return False
            for x in range(max([FEATURES, *(self.fields[u, a][0] for u in local)])):
                anchors = set()
                for u in local:
                    box = self.interval(u, a, x)
                    if box is not None:
                        anchors.add(
                            Fraction(box[0] + box[1], 2)
                            if rule == "centre"
                            else box[0 if rule == "start" else 1]
                        )
                if len(anchors) > 1:
                    return False
        return None if unknown else True

    def r_min(self, v: str, a: int) -> int | None:
        """Smallest field over every single input-to-v path (global paths left out), each walked on its own."""
        if v == self.net.input:
            return 1
        best = None
        for path in nx.all_simple_paths(self.data, self.net.input, v):
            widths = []
            period = max(self.fields.get((u, a), (1,))[0] for u in path)
            for x in range(max(FEATURES // 2, period)):
                got = self._path_deps(tuple(path), a, x)
                if got is None:
                    return None
                if got:
                    widths.append(max(got) - min(got) + 1)
            if widths:
                best = max(widths) if best is None else min(best, max(widths))
        return best

    def _path_deps(self, path: tuple[str, ...], a: int, x: int) -> frozenset[int] | None:
        if len(path) == 1:
            return frozenset([x])
        layer = self.net.layers[path[-1]]
        if self.is_merge(layer):
            return self._path_deps(path[:-1], a, 0 if self.broadcast(layer, path[-2], a) else x)
        if self.is_global_op(layer, a):
            return frozenset()
        ys = self.reads(layer, a, x)
        if ys is None:
            return None
        found: set[int] = set()
        for y in ys:
            got = self._path_deps(path[:-1], a, y)
            if got is None:
                return None
            found |= got
        return frozenset(found)
