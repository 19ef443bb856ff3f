"""What the importer tests share: YAML lines and the oracle check."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from rfgraph import analyze
from rfgraph.importers.writer import NetworkSpec, to_network, to_yaml
from rfgraph.locate import locate


def layer_lines(spec: NetworkSpec) -> list[str]:
    """The layers as written, one flow mapping each, without the leading '  - '."""
    lines = to_yaml(spec).splitlines()
    return [line.removeprefix("  - ") for line in lines[lines.index("layers:") + 1 :]]


def check_against_oracle(
    module,
    spec: NetworkSpec,
    size: Sequence[int],
    *,
    channels: int = 3,
    features: Iterable[Sequence[int]] | None = None,
    detach_global: bool = False,
) -> int:
    """Compare rfgraph's box of features of the output with the measured one; return how many.

    Where rfgraph's field lies inside the image the boxes are equal; at the border
    rfgraph's clipped box contains the measured one (a layer may drop the last rows).
    """
    from oracle import measured_box

    analysis = analyze(to_network(spec), list(size))
    out = spec.layers[-1]["name"]
    shape = analysis[out].size
    assert shape is not None
    todo = features if features is not None else itertools.product(*(range(n) for n in shape))
    count = 0
    for feature in todo:
        box = locate(analysis, out, feature)
        measured = measured_box(module, size, feature, channels=channels, detach_global=detach_global)
        for axis, n, seen in zip(box.axes, size, measured, strict=True):
            assert axis.first is not None and axis.last is not None
            where = f"{out} feature {tuple(feature)} axis {axis.axis}"
            if 0 <= axis.first and axis.last <= n - 1:
                assert axis.clipped == seen, where
            else:
                assert seen is not None and axis.clipped is not None, where
                assert axis.clipped[0] <= seen[0] and seen[1] <= axis.clipped[1], where
        count += 1
    return count
