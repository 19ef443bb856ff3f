"""rfgraph side by side with rfa-toolbox 1.7.0 and a bare traversal of the same edges.

    python benchmarks/compare.py [--quick] [--repeat 3] [--rfa-timeout 60] [--rfa-memory 4]
                                 [--families residual ...] [--upsample] [--update-readme]

For each family of nets.py at several sizes: rfgraph end to end (``rfgraph.load`` of the YAML
file + ``rfgraph.analyze``) and the pass alone, a bare dict-based Kahn traversal of the same edges
(the floor), and rfa-toolbox building the same graph with its node API, each in a fresh process.
The table gives the fastest of ``--repeat`` rounds (the tools take turns in every round, so a
busy machine slows them alike), ratios, the peak resident memory of each process, the scaling
exponent of each tool (least-squares slope of log time against log(nodes + edges)), and whether
both tools give the same r at every node where both finish.

rfa-toolbox runs under a time and a memory limit (its node sets grow exponentially on some
graphs); once it does not finish at one size, the larger sizes of that family are not run. It
is skipped when absent; its core runs with
``pip install --no-deps --ignore-requires-python rfa-toolbox==1.7.0 attrs graphviz`` (numpy is
rfgraph's). ``--upsample`` builds HRNet's fusion with ``upsample`` ops, for a core that has them.
``--update-readme`` writes the tables into benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import measure
import nets

# family: (what the size counts, default sizes, --quick sizes)
SIZES: dict[str, tuple[str, list[int], list[int]]] = {
    "residual": ("blocks", [128, 256, 512, 1024], [128, 256]),
    "inception": ("modules", [16, 32, 64, 128], [16, 32]),
    "densenet": ("layers per block", [8, 16, 32, 64], [8, 16]),
    "dilated": ("layers", [10, 12, 14, 16, 18, 180, 1800], [10, 12, 14]),
    "hrnet": ("modules per stage", [1, 2, 4, 8], [1, 2]),
}
RFGRAPH_TIMEOUT, RFGRAPH_MEMORY = 600.0, 8 * measure.GiB
MIN_TIME = 0.2  # each process repeats a fast operation until it spent this long on it


@dataclass
class Row:
    family: str
    size: int
    net: nets.Net
    e2e: list[float] = field(default_factory=list)
    analyze: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    rfa: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    rfa_rss: list[int] = field(default_factory=list)
    rfgraph_note: str = ""
    rfa_note: str = ""
    agreement: str = "-"
    max_r: int | None = None


def has_rfa() -> bool:
    return measure.version("rfa-toolbox") == "1.7.0"


def measure_size(row: Row, path: Path, args: argparse.Namespace, rfa_on: bool) -> None:
    extra = ["--upsample"] if args.upsample else []
    for round_ in range(args.repeat):
        done = measure.run(
            measure.task("rfgraph", path, "--min-time", MIN_TIME),
            timeout=RFGRAPH_TIMEOUT,
            max_rss=RFGRAPH_MEMORY,
        )
        if not done.ok:
            row.rfgraph_note = done.why().replace(str(path), path.name).replace("|", "/")
            return
        load, analyze = done.step("load"), done.step("analyze")
        assert load is not None and analyze is not None
        row.e2e.append(load + analyze)
        row.analyze.append(analyze)
        row.rss.append(done.peak_rss)
        floor = measure.run(measure.task("floor", row.family, row.size, "--min-time", MIN_TIME, *extra))
        row.floor.append(floor.step("floor") or float("nan"))
        if rfa_on and (round_ == 0 or (row.rfa and min(row.rfa) < args.rfa_repeat_below)):
            theirs = measure.run(
                measure.task("rfa", row.family, row.size, "--min-time", MIN_TIME, *extra),
                timeout=args.rfa_timeout,
                max_rss=int(args.rfa_memory * measure.GiB),
            )
            if not theirs.ok:
                row.rfa_note = theirs.why()
                break
            row.rfa.append(theirs.step("rfa") or float("nan"))
            row.rfa_rss.append(theirs.peak_rss)
            rfa_r = theirs.results["r"]
    verify = measure.run(
        measure.task("rfgraph", path, "--r"), timeout=RFGRAPH_TIMEOUT, max_rss=RFGRAPH_MEMORY
    )
    ours = verify.results.get("r", {})
    row.max_r = max((max(r) for r in ours.values() if all(isinstance(x, int) for x in r)), default=None)
    if row.rfa:
        row.agreement = _agreement(ours, rfa_r)


def _agreement(ours: dict[str, list[int]], theirs: dict[str, list[int]]) -> str:
    if ours.keys() != theirs.keys():
        return f"different nodes ({len(ours)} vs {len(theirs)})"
    differ = [name for name in ours if ours[name] != theirs[name]]
    if not differ:
        return f"same r at all {len(ours)} nodes"
    first = differ[0]
    return f"r differs at {len(differ)} of {len(ours)} nodes, e.g. {first}: {ours[first]} vs {theirs[first]}"


def best(values: list[float]) -> float | None:
    return min(values) if values else None


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.1f}x"


def rows_table(rows: list[Row], rfa_on: bool) -> list[str]:
    lines = [
        "| family | size | layers | edges | rfgraph load+analyze | analyze | floor (Kahn) | analyze / floor "
        "| rfa-toolbox | rfa / rfgraph | peak RSS rfgraph | peak RSS rfa | max r | r of both tools |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        e2e, analyze, floor, rfa = best(row.e2e), best(row.analyze), best(row.floor), best(row.rfa)
        theirs = measure.seconds(rfa) if rfa is not None else (row.rfa_note or "-")
        if not rfa_on:
            theirs = "not installed"
        ours = measure.seconds(e2e) if row.e2e else row.rfgraph_note
        rss = measure.mib(statistics.median(row.rss)) if row.rss else "-"
        rfa_rss = measure.mib(statistics.median(row.rfa_rss)) if row.rfa_rss else "-"
        lines.append(
            f"| {row.family} | {row.size} {SIZES[row.family][0]} "
            f"| {len(row.net.layers):,} | {row.net.edges:,} "
            f"| {ours} | {measure.seconds(analyze)} | {measure.seconds(floor)} | {ratio(analyze, floor)} "
            f"| {theirs} | {ratio(rfa, e2e)} | {rss} | {rfa_rss} | {row.max_r or '-'} | {row.agreement} |"
        )
    return lines


def exponents_table(rows: list[Row]) -> list[str]:
    lines = [
        "| family | nodes + edges | rfgraph load+analyze | analyze | floor | rfa-toolbox |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for family in dict.fromkeys(row.family for row in rows):
        mine = [row for row in rows if row.family == family]
        cells = []
        for attribute in ("e2e", "analyze", "floor", "rfa"):
            points = [(row.net.size, min(getattr(row, attribute))) for row in mine if getattr(row, attribute)]
            slope = measure.exponent(*zip(*points, strict=True)) if len(points) > 1 else None
            cells.append(
                "-"
                if slope is None
                else f"{slope:.2f}" + f" ({len(points)} sizes)" * (len(points) < len(mine))
            )
        span = f"{mine[0].net.size:,} to {mine[-1].net.size:,}"
        lines.append(f"| {family} | {span} | " + " | ".join(cells) + " |")
    return lines


def per_layer_growth(rows: list[Row]) -> list[str]:
    """rfa-toolbox on the dilated stack grows per added layer, not as a power of the size."""
    cycle = nets.DILATION_CYCLE  # past it the dilations repeat
    points = [
        (row.size, min(row.rfa)) for row in rows if row.family == "dilated" and row.rfa and row.size <= cycle
    ]
    if len(points) < 2:
        return []
    (n0, t0), (n1, t1) = points[0], points[-1]
    return [
        "",
        f"On the dilated stack rfa-toolbox's time grows x{(t1 / t0) ** (1 / (n1 - n0)):.2f} per added layer "
        f"({n0} to {n1} layers): it keeps one entry per distinct path, 2**layers of them (the dilations "
        f"double up to layer {cycle}, then start again at 1).",
    ]


def baselines(rfa_on: bool) -> str:
    """The memory of a process that only imports the tool, included in every peak RSS."""
    tools = ["rfgraph", "rfa"] if rfa_on else ["rfgraph"]
    sizes = [measure.mib(measure.run(measure.task("baseline", tool)).peak_rss) for tool in tools]
    names = {"rfgraph": "rfgraph", "rfa": "rfa-toolbox"}
    return "peak RSS of a process that only imports " + ", ".join(
        f"{names[tool]}: {size}" for tool, size in zip(tools, sizes, strict=True)
    )


def report(rows: list[Row], args: argparse.Namespace, rfa_on: bool, machine: list[str]) -> str:
    command = "python benchmarks/compare.py " + " ".join(sys.argv[1:])
    lines = [
        f"Measured on commit {measure.rfgraph_commit()} with `{command.strip()}` "
        f"in {measure.clock()} (fastest of {args.repeat} rounds; "
        f"rfa-toolbox limited to {args.rfa_timeout:.0f} s and {args.rfa_memory:g} GiB):",
        "",
        *[f"- {line}" for line in machine],
        "",
        *rows_table(rows, rfa_on),
        "",
        "Scaling exponents (slope of log time against log(nodes + edges); 1 is linear):",
        "",
        *exponents_table(rows),
        *per_layer_growth(rows),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two or three small sizes per family, one round")
    parser.add_argument("--repeat", type=int, help="rounds per size (default 3, 1 with --quick)")
    parser.add_argument("--families", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--rfa-timeout", type=float, help="seconds (default 60, 20 with --quick)")
    parser.add_argument("--rfa-memory", type=float, default=4.0, help="GiB (default 4)")
    parser.add_argument(
        "--rfa-repeat-below", type=float, default=10.0, help="repeat rfa only under this many s"
    )
    parser.add_argument("--upsample", action="store_true", help="HRNet fuses through upsample ops")
    parser.add_argument("--cpu", action="store_true", help="time by CPU seconds instead of the wall clock")
    parser.add_argument(
        "--update-readme", action="store_true", help="write the tables into benchmarks/README.md"
    )
    args = parser.parse_args()
    measure.use_cpu_time(args.cpu)
    args.repeat = args.repeat or (1 if args.quick else 3)
    args.rfa_timeout = args.rfa_timeout or (20.0 if args.quick else 60.0)
    rfa_on = has_rfa()
    machine = [*measure.machine(), baselines(rfa_on)]
    print("\n".join(machine), flush=True)
    if not rfa_on:
        print("rfa-toolbox 1.7.0 is not installed: its columns are skipped", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="rfgraph-compare-") as tmp:
        for family in args.families:
            rfa_family = rfa_on and not (family == "hrnet" and args.upsample)
            _, sizes, quick = SIZES[family]
            for size in quick if args.quick else sizes:
                net = nets.build(family, size, upsample=args.upsample)
                path = Path(tmp) / f"{net.name}.yaml"
                net.write(path)
                row = Row(family, size, net)
                if rfa_on and not rfa_family:
                    row.rfa_note = "no upsample op"
                elif rfa_on and rows and rows[-1].family == family and rows[-1].rfa_note:
                    row.rfa_note = "not run (did not finish at a smaller size)"
                measure_size(row, path, args, rfa_family and not row.rfa_note)
                rows.append(row)
                print(rows_table([row], rfa_on)[-1], flush=True)
    text = report(rows, args, rfa_on, machine)
    print()
    print(text)
    if args.update_readme:
        marker = "compare.py --cpu" if args.cpu else "compare.py"  # one section per clock
        measure.replace_section(measure.HERE / "README.md", marker, text)


if __name__ == "__main__":
    main()
