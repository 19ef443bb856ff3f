"""Large CNN graphs for the benchmarks, written as YAML the way `rfgraph import` writes it.

    python benchmarks/nets.py FAMILY SIZE [-o FILE] [--upsample]
    python benchmarks/nets.py residual --layers 1000000 -o big.yaml

One line per layer, a flow mapping of scalar values, parameters left out where they are the
default: ``  - {name: b7a, op: conv, kernel: 3, padding: 1, inputs: [b6]}``. Every family is one
function of one size parameter, listed in FAMILIES:

- ``residual``: a stem conv, then SIZE blocks of conv-conv-add with identity shortcuts; three
  blocks spread along the chain have stride 2 and a 1x1 projection shortcut (ResNet's stages).
- ``inception``: SIZE Inception modules (1x1 | 1x1-3x3 | 1x1-3x3-3x3 | pool-1x1, concat), with
  two grid reductions (3x3 stride 2 | 1x1-3x3-3x3 stride 2 | pool stride 2, concat).
- ``densenet``: four dense blocks of SIZE layers (concat of every earlier output of the block,
  1x1, 3x3): |E| grows as SIZE**2 inside a block; 1x1 conv and 2x2 pool transitions.
- ``dilated``: a 1-D WaveNet-like stack of SIZE residual layers (3-tap conv, add), the dilation
  doubling from 1 (repeating every 18 layers): 2**SIZE distinct paths.
- ``hrnet``: streams at strides 1, 2, 4, 8 (HRNet's stages 2 to 4, SIZE modules each), two
  residual blocks per stream and module, then every stream fuses every other: from a finer
  stream through 3x3 stride-2 convs; from a coarser one through a 1x1 conv and an ``upsample``
  by 2**k (with ``upsample=True``), or, while rfgraph has no upsample op, through a 1x1 conv of
  the stream at the matching resolution, so the fan-in and edge count stay HRNet's.

Every merge is aligned (centred windows, stride-2 windows with padding 1): these graphs measure
speed, not findings. The layers come in topological order.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

PARAMETERS = ("kernel", "stride", "dilation", "padding", "factor")
DEFAULTS = {"kernel": 1, "stride": 1, "dilation": 1, "padding": 0}
DILATION_CYCLE = 18


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    op: str
    inputs: tuple[str, ...]
    kernel: int = 1
    stride: int = 1
    dilation: int = 1
    padding: int = 0
    factor: int | None = None  # upsample only

    def to_yaml(self) -> str:
        fields = [f"name: {self.name}", f"op: {self.op}"]
        for key in PARAMETERS:
            value = getattr(self, key)
            if value is not None and value != DEFAULTS.get(key):
                fields.append(f"{key}: {value}")
        fields.append(f"inputs: [{', '.join(self.inputs)}]")
        return "  - {" + ", ".join(fields) + "}\n"

    @property
    def span(self) -> int:
        """Input positions one output reads along an axis (what rfa-toolbox calls a kernel)."""
        return self.dilation * (self.kernel - 1) + 1


@dataclass(frozen=True)
class Net:
    name: str
    dims: int
    input: str
    layers: list[Layer]

    @property
    def edges(self) -> int:
        return sum(len(layer.inputs) for layer in self.layers)

    @property
    def size(self) -> int:
        """Nodes plus edges, what a linear-time pass is linear in."""
        return len(self.layers) + 1 + self.edges

    def inputs(self) -> dict[str, list[str]]:
        """Each node's inputs, the input node included (with none)."""
        graph: dict[str, list[str]] = {self.input: []}
        for layer in self.layers:
            graph[layer.name] = list(layer.inputs)
        return graph

    def lines(self) -> Iterator[str]:
        yield f"name: {self.name}\n"
        if self.dims != 2:
            yield f"dims: {self.dims}\n"
        yield f"input: {self.input}\n"
        yield "layers:\n"
        for layer in self.layers:
            yield layer.to_yaml()

    def to_yaml(self) -> str:
        return "".join(self.lines())

    def write(self, path: str | Path) -> None:
        with Path(path).open("w", encoding="utf-8") as f:
            f.writelines(self.lines())


def _conv(
    name: str, inputs: str | tuple[str, ...], kernel: int = 1, stride: int = 1, dilation: int = 1
) -> Layer:
    """A centred window: padding dilation*(kernel-1)/2 keeps every merge aligned."""
    return Layer(
        name,
        "conv",
        (inputs,) if isinstance(inputs, str) else inputs,
        kernel,
        stride,
        dilation,
        dilation * (kernel - 1) // 2,
    )


def _spread(count: int, among: int) -> set[int]:
    """``count`` indices spread evenly over 1..among (where a net changes resolution)."""
    return {among * j // (count + 1) for j in range(1, count + 1)} - {0}


def residual(blocks: int, downsample: int = 3) -> Net:
    layers, prev = [_conv("b0", "input", 3)], "b0"
    strided = _spread(downsample, blocks)
    for i in range(1, blocks + 1):
        stride = 2 if i in strided else 1
        layers += [_conv(f"b{i}a", prev, 3, stride), _conv(f"b{i}b", f"b{i}a", 3)]
        shortcut = prev
        if stride != 1:
            shortcut = f"b{i}s"
            layers.append(_conv(shortcut, prev, 1, stride))
        layers.append(Layer(f"b{i}", "add", (shortcut, f"b{i}b")))
        prev = f"b{i}"
    return Net(f"residual_{blocks}", 2, "input", layers)


def chain_blocks(layers: int) -> int:
    """The blocks of the residual chain closest to ``layers`` layers (10**6 layers: 333,332 blocks)."""
    return max((layers - 4) // 3, 1)


def residual_layers(n: int) -> Net:
    return residual(chain_blocks(n))


def inception(modules: int, reductions: int = 2) -> Net:
    layers, prev = [_conv("stem", "input", 3)], "stem"
    reduce_after = _spread(reductions, modules)
    for m in range(1, modules + 1):
        p = f"m{m}/"
        layers += [
            _conv(p + "b1", prev, 1),
            _conv(p + "b2a", prev, 1),
            _conv(p + "b2b", p + "b2a", 3),
            _conv(p + "b3a", prev, 1),
            _conv(p + "b3b", p + "b3a", 3),
            _conv(p + "b3c", p + "b3b", 3),
            Layer(p + "b4a", "pool", (prev,), kernel=3, padding=1),
            _conv(p + "b4b", p + "b4a", 1),
            Layer(f"m{m}", "concat", (p + "b1", p + "b2b", p + "b3c", p + "b4b")),
        ]
        prev = f"m{m}"
        if m in reduce_after:
            p = f"r{m}/"
            layers += [
                _conv(p + "b1", prev, 3, 2),
                _conv(p + "b2a", prev, 1),
                _conv(p + "b2b", p + "b2a", 3),
                _conv(p + "b2c", p + "b2b", 3, 2),
                Layer(p + "b3", "pool", (prev,), kernel=3, stride=2, padding=1),
                Layer(f"r{m}", "concat", (p + "b1", p + "b2c", p + "b3")),
            ]
            prev = f"r{m}"
    return Net(f"inception_{modules}", 2, "input", layers)


def densenet(per_block: int, blocks: int = 4) -> Net:
    layers, prev = [_conv("stem", "input", 3)], "stem"
    for k in range(1, blocks + 1):
        outputs = [prev]
        for j in range(1, per_block + 1):
            p = f"d{k}/l{j}"
            source = outputs[0]
            if len(outputs) > 1:
                source = p + "c"
                layers.append(Layer(source, "concat", tuple(outputs)))
            layers += [_conv(p + "a", source, 1), _conv(p, p + "a", 3)]
            outputs.append(p)
        layers.append(Layer(f"d{k}", "concat", tuple(outputs)))
        prev = f"d{k}"
        if k < blocks:
            layers += [_conv(f"t{k}a", prev, 1), Layer(f"t{k}", "pool", (f"t{k}a",), kernel=2, stride=2)]
            prev = f"t{k}"
    return Net(f"densenet_{per_block}", 2, "input", layers)


def dilated(depth: int, cycle: int = DILATION_CYCLE) -> Net:
    layers, prev = [_conv("stem", "input", 3)], "stem"
    for i in range(1, depth + 1):
        conv = _conv(f"c{i}", prev, 3, dilation=2 ** ((i - 1) % cycle))
        layers += [conv, Layer(f"a{i}", "add", (prev, conv.name))]
        prev = f"a{i}"
    return Net(f"dilated_{depth}", 1, "input", layers)


def hrnet(modules: int, upsample: bool = False, streams: int = 4, blocks: int = 2) -> Net:
    layers, heads = [_conv("stem", "input", 3)], ["stem"]
    for stage in range(2, streams + 1):
        # a new, coarser stream from the coarsest one so far
        heads.append(f"s{stage}/new")
        layers.append(_conv(heads[-1], heads[-2], 3, 2))
        for m in range(1, modules + 1):
            p = f"s{stage}m{m}"
            for j, head in enumerate(heads):
                for b in range(1, blocks + 1):
                    q = f"{p}/x{j}b{b}"
                    layers += [_conv(q + "a", head, 3), _conv(q + "b", q + "a", 3)]
                    layers.append(Layer(q, "add", (head, q + "b")))
                    head = q
                heads[j] = head
            layers += _fuse(p, heads, upsample)
            heads = [f"{p}/y{j}" for j in range(len(heads))]
    return Net(f"hrnet_{modules}" + "_upsample" * upsample, 2, "input", layers)


def _fuse(p: str, heads: list[str], upsample: bool) -> list[Layer]:
    layers = []
    for j in range(len(heads)):
        terms = []
        for i, head in enumerate(heads):
            q = f"{p}/f{i}to{j}"
            if i < j:  # finer to coarser: j - i strided 3x3 convs
                for step in range(j - i):
                    layers.append(_conv(f"{q}_{step}", head, 3, 2))
                    head = f"{q}_{step}"
            elif i > j and upsample:
                layers += [_conv(q + "a", head, 1), Layer(q, "upsample", (q + "a",), factor=2 ** (i - j))]
                head = q
            elif i > j:  # no upsample op yet: a 1x1 conv of the stream at j's resolution
                layers.append(_conv(q, heads[j], 1))
                head = q
            terms.append(head)
        layers.append(
            Layer(f"{p}/y{j}", "add", tuple(terms)) if len(terms) > 1 else _conv(f"{p}/y{j}", terms[0])
        )
    return layers


FAMILIES: dict[str, Callable[[int], Net]] = {
    "residual": residual,
    "inception": inception,
    "densenet": densenet,
    "dilated": dilated,
    "hrnet": hrnet,
}


def build(family: str, size: int, upsample: bool = False) -> Net:
    if family == "hrnet":
        return hrnet(size, upsample=upsample)
    return FAMILIES[family](size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("family", choices=sorted(FAMILIES))
    parser.add_argument("size", type=int, nargs="?", help="the family's size parameter (see the docstring)")
    parser.add_argument("--layers", type=int, help="residual only: about this many layers instead of SIZE")
    parser.add_argument("--upsample", action="store_true", help="hrnet: fuse through upsample (factor 2**k)")
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    args = parser.parse_args(argv)
    if (args.size is None) == (args.layers is None) or (args.layers and args.family != "residual"):
        parser.error("give SIZE, or --layers with residual")
    net = residual_layers(args.layers) if args.layers else build(args.family, args.size, args.upsample)
    if args.output:
        net.write(args.output)
    else:
        sys.stdout.writelines(net.lines())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
