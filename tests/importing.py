"""What the importer tests share: YAML lines and the oracle check."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from rfgraph import analyze
from rfgraph.importers.writer import NetworkSpec, to_network, to_yaml
from rfgraph.locate import locate
from rfgraph.network import Network


def layer_lines(spec: NetworkSpec) -> list[str]:
    """The layers as written, one flow mapping each, without the leading '  - '."""
    lines = to_yaml(spec).splitlines()
    return [line.removeprefix("  - ") for line in lines[lines.index("layers:") + 1 :]]


def border_and_middle(shape: Sequence[int]) -> list[tuple[int, ...]]:
    """Features at both borders, next to them and in the middle of every axis, on the diagonal and
    the anti-diagonal: every axis meets each of those positions, with the other axes at either end.

    >>> border_and_middle((3, 8))
    [(0, 0), (1, 1), (2, 4), (2, 6), (2, 7), (0, 7), (1, 6), (2, 1), (2, 0)]
    """
    picks = [sorted({0, 1, n // 2, n - 2, n - 1} & set(range(n))) for n in shape]
    steps = range(max(len(p) for p in picks))
    diagonal = [tuple(p[min(k, len(p) - 1)] for p in picks) for k in steps]
    anti = [
        (d[0], *(p[len(p) - 1 - p.index(x)] for p, x in zip(picks[1:], d[1:], strict=True))) for d in diagonal
    ]
    return list(dict.fromkeys(diagonal + anti))


def check_against_oracle(
    module,
    spec: NetworkSpec | Network,
    size: Sequence[int],
    *,
    node: str | None = None,
    features: Iterable[Sequence[int]] | None = None,
    channels: int = 3,
    detach_global: bool = False,
    output: int | str | None = None,
) -> int:
    """Compare the input pixels ``locate`` says features of ``node`` read with the measured ones.

    ``node`` defaults to the last layer; ``module`` must compute it as its output
    (``output`` picks it from a tuple or dict). Every axis of every feature must
    be equal, at the border too (``clipped``: the pixels really read on the
    finite maps). Returns how many features were compared.
    """
    from oracle import Oracle

    network = spec if isinstance(spec, Network) else to_network(spec)
    analysis = analyze(network, list(size))
    node = node or network.order[-1]
    shape = analysis[node].size
    oracle = Oracle(module, size, channels=channels, detach_global=detach_global, output=output)
    assert shape is not None and oracle.shape == shape, (shape, oracle.shape)
    todo = features if features is not None else itertools.product(*(range(n) for n in shape))
    count = 0
    for feature in todo:
        box = locate(analysis, node, feature)
        measured = oracle.box(feature)
        assert tuple(axis.clipped for axis in box.axes) == measured, f"{node} feature {tuple(feature)}"
        count += 1
    return count


def torchvision_feature_maps(model, size: Sequence[int]) -> list[str]:
    """The eval-graph names get_graph_node_names lists that hold a tensor computed from the input
    (run on the model's device: on the meta device nothing is computed)."""
    import torch
    from torch import fx
    from torchvision.models import feature_extraction as fe

    _, names = fe.get_graph_node_names(model, suppress_diff_warning=True)
    tracer = fe.NodePathTracer(**fe._set_default_tracer_kwargs(None))
    graph = tracer.trace(model.eval())
    assert list(tracer.node_to_qualname.values()) == names  # the same trace as get_graph_node_names
    tensors: dict = {}

    class Record(fx.Interpreter):
        def run_node(self, n):
            out = super().run_node(n)
            tensors[n] = isinstance(out, torch.Tensor)
            return out

    with torch.no_grad():
        device = next(model.parameters()).device
        Record(fx.GraphModule(tracer.root, graph)).run(torch.zeros(2, 3, *size, device=device))
    maps = {n for n in graph.nodes if n.op == "placeholder"}
    for n in graph.nodes:
        if n.op != "output" and tensors.get(n) and any(u in maps for u in n.all_input_nodes):
            maps.add(n)
    return [tracer.node_to_qualname[n] for n in graph.nodes if n in maps]
