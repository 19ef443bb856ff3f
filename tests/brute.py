"""A brute-force receptive-field evaluator, independent of rfgraph.analysis.

It uses no closed form: to know which input coordinates feature ``x`` of a node
reads, it walks every tap of every window, position by position, down to the
input, and takes the set. r, S and P are then read off those sets; feature-map
sizes are counted window by window. Only the parsed layers are shared with
rfgraph.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import networkx as nx

from rfgraph.network import Layer, Network


class SizeError(Exception):
    """The brute force found a merge of different sizes or an empty map."""


def tf_same(n: int, taps: list[int], stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding, as TensorFlow writes it (out = ceil(n / s))."""
    out = -(-n // stride)
    total = max((out - 1) * stride + taps[-1] + 1 - n, 0)
    return total // 2, total - total // 2


@dataclass
class Field:
    r: int | None
    S: int | None
    P: int | None
    r_min: int


class Brute:
    def __init__(self, net: Network, input_size: tuple[int, ...] | None = None) -> None:
        self.net = net
        self.input_size = input_size
        self.sizes: dict[str, tuple[int, ...] | None] = {}
        self.deps = lru_cache(maxsize=None)(self._deps)
        order = list(nx.topological_sort(net.graph))
        for v in order:
            self.sizes[v] = input_size if v == net.input else self._size(net.layers[v])
        self.undefined: set[tuple[str, int]] = set()
        for v in order:
            if v == net.input:
                continue
            layer = net.layers[v]
            for a in range(net.dims):
                if any((u, a) in self.undefined for u in layer.inputs):
                    self.undefined.add((v, a))
                elif self.is_merge(layer) and len({self.field(u, a).S for u in layer.inputs}) > 1:
                    self.undefined.add((v, a))

    @staticmethod
    def is_merge(layer: Layer) -> bool:
        return layer.spec.kind == "merge"

    def taps(self, layer: Layer, a: int) -> list[int]:
        return [j * layer.dilation[a] for j in range(layer.kernel[a])]

    def pads(self, layer: Layer, a: int) -> tuple[int, int]:
        pad = layer.padding[a]
        if pad == "valid":
            return 0, 0
        if pad == "same":
            in_size = self.sizes[layer.inputs[0]]
            # without a size, the convention is a size divisible by the stride
            n = 1000 * layer.stride[a] if in_size is None else in_size[a]
            return tf_same(n, self.taps(layer, a), layer.stride[a])
        return pad

    def _size(self, layer: Layer) -> tuple[int, ...] | None:
        sizes = [self.sizes[u] for u in layer.inputs]
        if sizes[0] is None:
            return None
        if self.is_merge(layer):
            if len(set(sizes)) > 1:
                raise SizeError(layer.name)
            return sizes[0]
        out = []
        for a, n in enumerate(sizes[0]):
            before, after = self.pads(layer, a)
            last_tap = self.taps(layer, a)[-1]
            count = 0
            while count * layer.stride[a] - before + last_tap <= n - 1 + after:
                count += 1
            if count == 0:
                raise SizeError(layer.name)
            out.append(count)
        return tuple(out)

    def _deps(self, v: str, a: int, x: int) -> frozenset[int]:
        if v == self.net.input:
            return frozenset([x])
        layer = self.net.layers[v]
        if self.is_merge(layer):
            return frozenset().union(*(self.deps(u, a, x) for u in layer.inputs))
        before, _ = self.pads(layer, a)
        u = layer.inputs[0]
        return frozenset().union(
            *(self.deps(u, a, x * layer.stride[a] - before + t) for t in self.taps(layer, a))
        )

    def interval(self, v: str, a: int, x: int) -> tuple[int, int]:
        d = self.deps(v, a, x)
        return min(d), max(d)

    def centre(self, v: str, a: int) -> Fraction:
        lo, hi = self.interval(v, a, 0)
        return Fraction(lo + hi, 2)

    def field(self, v: str, a: int) -> Field:
        r_min = self.r_min(v, a)
        if (v, a) in self.undefined:
            return Field(None, None, None, r_min)
        lo0, hi0 = self.interval(v, a, 0)
        lo1, _ = self.interval(v, a, 1)
        return Field(hi0 - lo0 + 1, lo1 - lo0, -lo0, r_min)

    def is_aligned(self, v: str) -> bool:
        layer = self.net.layers.get(v)
        if layer is None or not self.is_merge(layer):
            return True
        for a in range(self.net.dims):
            if (v, a) in self.undefined:
                return False
            if len({self.centre(u, a) for u in layer.inputs}) > 1:
                return False
        return True

    def r_min(self, v: str, a: int) -> int:
        """Smallest field over every single input-to-v path, each walked on its own."""
        if v == self.net.input:
            return 1
        best = None
        for path in nx.all_simple_paths(self.net.graph, self.net.input, v):
            d = self._path_deps(tuple(path), a, 0)
            r = max(d) - min(d) + 1
            best = r if best is None else min(best, r)
        assert best is not None
        return best

    def _path_deps(self, path: tuple[str, ...], a: int, x: int) -> frozenset[int]:
        if len(path) == 1:
            return frozenset([x])
        layer = self.net.layers[path[-1]]
        if self.is_merge(layer):
            return self._path_deps(path[:-1], a, x)
        before, _ = self.pads(layer, a)
        return frozenset().union(
            *(self._path_deps(path[:-1], a, x * layer.stride[a] - before + t) for t in self.taps(layer, a))
        )
