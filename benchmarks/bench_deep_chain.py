"""A chain of 10**6 conv layers: no recursion anywhere, and what it costs.

    python benchmarks/bench_deep_chain.py [--layers 1000000] [--dims 1]

Prints the seconds spent building the Network (make_network: graph, acyclicity,
reachability), analysing it and producing the JSON document, and the peak resident
memory. tests/test_hardening.py runs the 10**5 chain; this one is too slow and too
large for the test suite (measured on a shared 2-core machine at dims 1: 2 s to build the
Layer objects, 10 s make_network, 15 s analyze, 11 s for the 104 MB of JSON, 2.1 GiB peak).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from rfgraph import Layer, analyze, make_network


def chain(n: int, dims: int) -> list[Layer]:
    k, one, pad = (3,) * dims, (1,) * dims, ((1, 1),) * dims
    return [Layer(f"c{i}", "conv", (f"c{i - 1}" if i else "input",), k, one, one, pad) for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=10**6)
    parser.add_argument("--dims", type=int, default=1)
    args = parser.parse_args()
    n, limit = args.layers, sys.getrecursionlimit()
    t0 = time.perf_counter()
    layers = chain(n, args.dims)
    t1 = time.perf_counter()
    net = make_network(layers, dims=args.dims)
    t2 = time.perf_counter()
    a = analyze(net)
    t3 = time.perf_counter()
    text = json.dumps(a.to_dict())
    t4 = time.perf_counter()
    last = a[f"c{n - 1}"]
    assert last.r == (2 * n + 1,) * args.dims and last.P == (n,) * args.dims, last
    assert sys.getrecursionlimit() == limit
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"{n} layers, dims {args.dims}: layers {t1 - t0:.1f} s, make_network {t2 - t1:.1f} s, "
        f"analyze {t3 - t2:.1f} s, JSON {t4 - t3:.1f} s ({len(text) / 1e6:.0f} MB), "
        f"peak memory {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
