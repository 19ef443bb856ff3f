"""The measured operations; each runs in its own process (measure.run) and prints JSON lines.

    python benchmarks/tasks.py rfgraph FILE [--min-time S] [--gc-off-load] [--r]
    python benchmarks/tasks.py floor FAMILY SIZE [--min-time S]
    python benchmarks/tasks.py rfa FAMILY SIZE [--min-time S]
    python benchmarks/tasks.py baseline rfgraph|rfa

- ``rfgraph``: ``rfgraph.load(FILE)`` then ``rfgraph.analyze(network)``, through the public API
  only, with the cyclic collector on as users run them. Prints ``{"load": s}`` as soon as the
  load is done, then ``{"analyze": s}``. ``--gc-off-load`` pauses the collector during the load
  only (to reach the pass at sizes where a normal load takes too long) and reports it as
  ``load_gc_off``. ``--r`` prints every node's r (``to_dict()``, after the timing).
- ``floor``: a bare dict-based Kahn traversal of the same edges, what any one-pass analysis
  must at least do: count in-degrees, list successors, visit every node and edge once.
- ``rfa``: rfa-toolbox 1.7.0 builds the same graph with its node API (``EnrichedNetworkNode``,
  which computes the fields as each node is made); prints every node's largest r.
- ``baseline``: the imports only, for the memory a process has before it does anything.

With ``--min-time S`` an operation is repeated (in the same process, collecting in between)
until S seconds were spent on it, at most 20 times, and the fastest time is printed: small
graphs take microseconds. Each time is printed twice: wall-clock seconds (``load``) and the
process's CPU seconds (``load_cpu``), which other processes on a shared machine disturb less.
The graph generators live in nets.py; only the timed lines are timed.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from typing import Any

import nets

MAX_REPEATS = 20


def emit(**values: object) -> None:
    print(json.dumps(values), flush=True)


def emit_time(step: str, seconds: tuple[float, float]) -> None:
    """Wall-clock seconds as ``step``, this process's CPU seconds as ``step_cpu``."""
    emit(**{step: seconds[0], f"{step}_cpu": seconds[1]})


def fastest(min_time: float, operation: Callable[[], Any]) -> tuple[tuple[float, float], Any]:
    """The fastest wall-clock and CPU times of repeated runs of ``operation``, and its last result."""
    wall, cpu, spent, repeats = float("inf"), float("inf"), 0.0, 0
    while True:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = operation()
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        wall, cpu = min(wall, elapsed), min(cpu, elapsed_cpu)
        spent, repeats = spent + elapsed, repeats + 1
        if spent >= min_time or repeats >= MAX_REPEATS:
            return (wall, cpu), result
        del result
        gc.collect()


def kahn(inputs: dict[str, list[str]]) -> int:
    """Visit every node once its inputs are visited; return how many were visited."""
    indegree = {node: len(sources) for node, sources in inputs.items()}
    successors: dict[str, list[str]] = {node: [] for node in inputs}
    for node, sources in inputs.items():
        for source in sources:
            successors[source].append(node)
    ready = [node for node, degree in indegree.items() if degree == 0]
    visited = 0
    while ready:
        node = ready.pop()
        visited += 1
        for successor in successors[node]:
            indegree[successor] -= 1
            if indegree[successor] == 0:
                ready.append(successor)
    return visited


def run_rfgraph(path: str, min_time: float, gc_off_load: bool, with_r: bool) -> None:
    import rfgraph

    try:
        if gc_off_load:
            gc.disable()
            seconds, network = fastest(0, lambda: rfgraph.load(path))
            emit_time("load_gc_off", seconds)
            gc.enable()
            gc.collect()  # the loaded objects end in the oldest generation, as after a normal load
        else:
            load, network = fastest(min_time, lambda: rfgraph.load(path))
            emit_time("load", load)
        analyze, analysis = fastest(min_time, lambda: rfgraph.analyze(network))
    except rfgraph.RFGraphError as e:
        msg = f"rfgraph: {e}"
        raise SystemExit(msg) from None
    emit_time("analyze", analyze)
    if with_r:
        emit(r={name: node["r"] for name, node in analysis.to_dict()["nodes"].items()})


def run_floor(net: nets.Net, min_time: float) -> None:
    inputs = net.inputs()
    seconds, visited = fastest(min_time, lambda: kahn(inputs))
    assert visited == len(inputs), "the graph has a cycle"
    emit_time("floor", seconds)


def rfa_graph(net: nets.Net) -> dict[str, Any]:
    """rfa-toolbox's nodes for ``net``: a window is its span (it has no dilation), a merge and
    the input are 1x1, and it does not model padding (which moves no r)."""
    from rfa_toolbox.graphs import EnrichedNetworkNode, LayerDefinition

    def axes(value: int) -> int | tuple[int, ...]:
        return value if net.dims == 1 else (value,) * net.dims

    def node(name: str, kernel: int, stride: int, predecessors: list[Any]) -> Any:
        layer = LayerDefinition(name=name, kernel_size=axes(kernel), stride_size=axes(stride))
        return EnrichedNetworkNode(name=name, layer_info=layer, predecessors=predecessors)

    nodes = {net.input: node(net.input, 1, 1, [])}
    for layer in net.layers:
        if layer.op == "upsample":
            msg = "rfa-toolbox has no upsampling"
            raise SystemExit(msg)
        merge = layer.op in ("add", "concat")
        kernel, stride = (1, 1) if merge else (layer.span, layer.stride)
        nodes[layer.name] = node(layer.name, kernel, stride, [nodes[name] for name in layer.inputs])
    return nodes


def run_rfa(net: nets.Net, min_time: float) -> None:
    seconds, nodes = fastest(min_time, lambda: rfa_graph(net))
    emit_time("rfa", seconds)

    def ints(r: Any) -> list[int]:
        return [int(x) for x in r] if isinstance(r, tuple) else [int(r)]

    emit(r={name: ints(node.receptive_field_max) for name, node in nodes.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["rfgraph", "floor", "rfa", "baseline"])
    parser.add_argument("what", nargs="+", help="FILE, or FAMILY SIZE, or the baseline's tool")
    parser.add_argument("--min-time", type=float, default=0.0)
    parser.add_argument("--upsample", action="store_true", help="hrnet with upsample ops")
    parser.add_argument("--gc-off-load", action="store_true")
    parser.add_argument("--r", action="store_true")
    args = parser.parse_args()
    if args.kind == "rfgraph":
        run_rfgraph(args.what[0], args.min_time, args.gc_off_load, args.r)
    elif args.kind == "baseline":
        __import__({"rfgraph": "rfgraph", "rfa": "rfa_toolbox.graphs"}[args.what[0]])
    else:
        family, size = args.what
        net = nets.build(family, int(size), upsample=args.upsample)
        (run_floor if args.kind == "floor" else run_rfa)(net, args.min_time)


if __name__ == "__main__":
    main()
