"""`analyze --erf`'s cost: every node's effective receptive field, walked from each node (before) or
computed bottom-up in one pass per axis (after, `rfgraph.effective.erfs`).

    python benchmarks/bench_erf.py [--rounds 3] [--quick]

"before" is what `erfs` did until issue 13's bottom-up pass: one `_Walker`, then a walk down from
the default feature of each node (the walker's geometry cache shared, as it was). Both run in this
process on the same Analysis, in turns within each round; the table gives the median CPU seconds
(`time.process_time`) of each over the rounds and their ratio, so that a busy shared machine moves
both alike. Every row also checks that both give the same JSON numbers for every node.

Networks: a chain of d 3x3 stride-1 convs with padding 1 (d = 100, 300, 1000), without an input
size and at 64x64 (where every centre feature from layer 32 on reads padding on its way down);
resnet_v1_50 and inception_v3 of models/, without a size and at 224 / 299; torchvision's
densenet121 (its file's 224: imported models carry their input size).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rfgraph import Analysis, analyze, load, loads
from rfgraph.effective import ERF, _Walker, erfs

MODELS = Path(__file__).resolve().parent.parent / "models"


def chain(depth: int) -> str:
    layers = "".join(f"  - {{name: c{d}, op: conv, kernel: 3, padding: 1}}\n" for d in range(depth))
    return f"name: chain_{depth}\nlayers:\n{layers}"


def walked(analysis: Analysis) -> dict[str, ERF]:
    """The walk from each node's default feature: `erfs` before the bottom-up pass."""
    walker = _Walker(analysis)
    return {v: walker.erf(v, None) for v in analysis.nodes}


def timed(run: Callable[[Analysis], dict[str, ERF]], analysis: Analysis) -> tuple[float, dict[str, ERF]]:
    start = time.process_time()
    found = run(analysis)
    return time.process_time() - start, found


def cases(quick: bool) -> list[tuple[str, Callable[[], Analysis]]]:
    depths = (100, 300) if quick else (100, 300, 1000)
    out: list[tuple[str, Callable[[], Analysis]]] = []
    for d in depths:
        out.append((f"chain {d}", lambda d=d: analyze(loads(chain(d)))))
        out.append((f"chain {d} @64", lambda d=d: analyze(loads(chain(d)), 64)))
    for name, size in [("resnet_v1_50", 224), ("inception_v3", 299)]:
        out.append((name, lambda name=name: analyze(load(MODELS / f"{name}.yaml"))))
        out.append(
            (f"{name} @{size}", lambda name=name, size=size: analyze(load(MODELS / f"{name}.yaml"), size))
        )
    out.append(("tv densenet121 @224", lambda: analyze(load(MODELS / "torchvision" / "densenet121.yaml"))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="turns of before/after per network")
    parser.add_argument("--quick", action="store_true", help="chains of 100 and 300 layers only")
    args = parser.parse_args()
    print(f"{'network':22} {'nodes':>6} {'before s':>10} {'after s':>10} {'ratio':>8}  same")
    for name, make in cases(args.quick):
        analysis = make()
        before: list[float] = []
        after: list[float] = []
        for _ in range(args.rounds):
            t, old = timed(walked, analysis)
            before.append(t)
            t, new = timed(erfs, analysis)
            after.append(t)
        same = all(old[v].to_dict() == new[v].to_dict() for v in analysis.nodes)
        b, a = statistics.median(before), statistics.median(after)
        ratio = f"{b / a:7.1f}x" if a > 0 else "      -"
        print(
            f"{name:22} {len(analysis.nodes):6} {b:10.3f} {a:10.3f} {ratio}  {'yes' if same else 'NO'}",
            flush=True,
        )


if __name__ == "__main__":
    main()
