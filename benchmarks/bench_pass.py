"""Time the one-pass analysis on large generated DAGs; report ratios measured in one run.

    python benchmarks/bench_pass.py [--sizes 1000 10000 100000] [--repeat 3]

Machines here are shared and noisy, so absolute seconds mean little. Three ratios do:
- growth: time per layer at n relative to the previous size (1.00 for a linear pass);
- overhead: time(analyze) / time(a bare topological walk over every edge), the cost of
  the receptive-field arithmetic over just visiting the graph;
- load: time(loads(YAML text)) / time(analyze), what reading and validating a spec costs
  next to analysing it.
"""

from __future__ import annotations

import argparse
import time

import networkx as nx

from rfgraph import Layer, analyze, loads, make_network


def residual_net(n: int) -> list[Layer]:
    """n layers of 3x3 conv blocks with identity shortcuts and a stride-2 step every 100 layers."""
    layers, prev = [], "input"
    for i in range(0, n - 2, 3):
        stride = 2 if i % 300 == 0 and i < 3000 else 1
        a = Layer(f"b{i}/conv", "conv", (prev,), (3, 3), (stride,) * 2, (1, 1), ((1, 1),) * 2)
        short = Layer(f"b{i}/short", "conv", (prev,), (1, 1), (stride,) * 2, (1, 1), ((0, 0),) * 2)
        add = Layer(f"b{i}", "add", (a.name, short.name), (1, 1), (1, 1), (1, 1), ((0, 0),) * 2)
        layers += [a, short, add]
        prev = add.name
    return layers


def to_yaml(layers: list[Layer]) -> str:
    def axes(values: tuple) -> str:  # type: ignore[type-arg]
        return str(list(values)).replace("(", "[").replace(")", "]")

    lines = ["layers:"]
    for layer in layers:
        lines.append(
            f"  - {{name: {layer.name}, op: {layer.op}, inputs: {axes(layer.inputs)}"
            + ("" if layer.op == "add" else f", kernel: {axes(layer.kernel)}, stride: {axes(layer.stride)}")
            + ("" if layer.op == "add" else f", padding: {axes(layer.padding)}")
            + "}"
        )
    return "\n".join(lines).replace("'", "") + "\n"


def bare_walk(graph: nx.DiGraph) -> int:
    edges = 0
    for v in nx.topological_sort(graph):
        edges += sum(1 for _ in graph.predecessors(v))
    return edges


def best_of(repeat: int, fn, *args) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'layers':>8} {'analyze s':>10} {'walk s':>8} {'overhead':>9} {'growth':>7} {'load':>6}")
    previous = None
    for n in args.sizes:
        layers = residual_net(n)
        net = make_network(layers)
        t_analyze = best_of(args.repeat, analyze, net)
        t_load = best_of(1, loads, to_yaml(layers))
        t_walk = best_of(args.repeat, bare_walk, net.graph)
        growth = "" if previous is None else f"{t_analyze / previous[1] / (n / previous[0]):.2f}"
        load = f"{t_load / t_analyze:.1f}x"
        print(f"{n:>8} {t_analyze:>10.3f} {t_walk:>8.3f} {t_analyze / t_walk:>8.1f}x {growth:>7} {load:>6}")
        previous = (n, t_analyze)
    print("growth: time per layer relative to the previous size (1.00 = perfectly linear)")


if __name__ == "__main__":
    main()
