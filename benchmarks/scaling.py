"""Issue 12's "Done when" measurements, as ratios in one run, each with PASS or FAIL.

    python benchmarks/scaling.py [--quick] [--max-seconds 300] [--max-memory 10] [--update-readme]

On residual chains written as `rfgraph import` writes them (nets.py), through the public API and
the `rfgraph` command of this environment, each measurement in a fresh process that loads and
analyses once, as users do (5, 3, 2 and 1 processes at 10**3 to 10**6 layers; the fastest counts):

1. load and analyze growth per 10x layers, 10**3 to 10**6, the collector on: at most x12;
2. analyze / a bare Kahn traversal of the same edges at 10**5 and 10**6 layers: at most 5x (aim 3x);
3. ``rfgraph check big.yaml`` at 10**6 layers: under 30 s and 2 GiB peak memory, and an error
   on the last line of such a file reported as FILE:LINE;
4. start-up: ``rfgraph check models/resnet_v1_50.yaml`` against ``python -c "import yaml"``,
   medians of 15 runs taken in turns: at most 2x;
5. every command linear: time at 10**4 and 10**5 layers (two runs each, in turns), less the time
   on a 13-layer file (start-up and imports), grows at most x12 (x10 is linear).

A process that passes a threshold by enough to decide the verdict is stopped (``--max-seconds``,
``--max-memory``): the line then gives a bound ("> 15x") instead of a number. With ``--quick`` the
largest size is 10**5 (10**4 for the commands) and the 10**6 items are only reported at 10**5;
its linearity verdicts, on 10**3 and 10**4 layers where start-up weighs most, are indicative only.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import measure
import nets

GROWTH = 12.0  # per 10x layers
FLOOR_RATIO, FLOOR_AIM = 5.0, 3.0
CHECK_SECONDS, CHECK_BYTES = 30.0, 2 * measure.GiB
STARTUP_RATIO, STARTUP_RUNS = 2.0, 15
# processes per size (item 1 and 2); each loads and analyses once, the fastest counts
PROCESSES = {10**3: 5, 10**4: 3, 10**5: 2, 10**6: 1}
MODEL = measure.HERE.parent / "models" / "resnet_v1_50.yaml"
COMMANDS: dict[str, list[str]] = {
    "analyze --format json": ["analyze", "{file}", "--format", "json"],
    "analyze --format csv": ["analyze", "{file}", "--format", "csv"],
    "analyze --format table": ["analyze", "{file}", "--format", "table"],
    "analyze --endpoints": ["analyze", "{file}", "--endpoints"],
    "analyze --only 'b1*'": ["analyze", "{file}", "--only", "b1*"],
    "check": ["check", "{file}"],
    "locate LAST 0 0": ["locate", "{file}", "{last}", "0", "0"],
    "draw -o net.svg": ["draw", "{file}", "-o", "{svg}"],
    "sizes": ["sizes", "{file}"],
}


@dataclass
class Verdict:
    item: str
    passed: bool | None  # None: not decided (skipped, or a bound that does not decide)
    text: str
    info: bool = False  # a measurement for comparison, not a threshold

    def line(self) -> str:
        mark = "info" if self.info else {True: "PASS", False: "FAIL", None: "----"}[self.passed]
        return f"{mark}  {self.item}: {self.text}"


class Chains:
    """Residual chains of about ``layers`` layers, each written once into a temporary directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.last: dict[int, str] = {}  # the name of each chain's last layer

    def path(self, layers: int) -> Path:
        path = self.directory / f"chain_{layers}.yaml"
        if layers not in self.last:
            net = nets.residual_layers(layers)
            net.write(path)
            self.last[layers] = net.layers[-1].name
        return path


def power(n: int) -> str:
    """10**k as 10^k."""
    k = len(str(n)) - 1
    return f"10^{k}" if n == 10**k else f"{n:,}"


def ratio_text(value: float, bound: bool) -> str:
    return f"> {value:.1f}x" if bound else f"{value:.1f}x"


@dataclass
class Growth:
    """Item 1's measurements: seconds per size, each with whether it is only a lower bound."""

    loads: dict[int, tuple[float, bool]] = field(default_factory=dict)
    analyses: dict[int, tuple[float, bool]] = field(default_factory=dict)
    peak_rss: dict[int, int] = field(default_factory=dict)
    wall: dict[int, float] = field(default_factory=dict)  # the fastest process, for the next limit
    notes: list[str] = field(default_factory=list)

    def verdicts(self, sizes: list[int]) -> list[Verdict]:
        return [
            _growth_verdict("load growth per 10x layers", self.loads, sizes, self.notes),
            _growth_verdict("analyze growth per 10x layers", self.analyses, sizes, []),
        ]

    def exact_analyses(self) -> dict[int, float]:
        return {n: t for n, (t, bound) in self.analyses.items() if not bound}


def growth(args: argparse.Namespace, chains: Chains, sizes: list[int]) -> Growth:
    found = Growth()
    for n in sizes:
        previous = sizes[sizes.index(n) - 1] if n != sizes[0] else None
        limit = args.max_seconds
        if previous in found.wall:  # the limit is on the wall clock, whatever clock is reported
            limit = min(max(60.0, 1.1 * GROWTH * found.wall[previous]), limit)
        runs = []
        for _ in range(PROCESSES[n]):
            runs.append(
                measure.run(
                    measure.task("rfgraph", chains.path(n)),
                    timeout=limit,
                    max_rss=int(args.max_memory * measure.GiB),
                )
            )
            print(f"  {n:>9,} layers: {_steps(runs[-1])}", flush=True)
            if not runs[-1].ok:
                break
        _record(found, n, runs)
        if n not in found.analyses and runs[-1].status in ("timeout", "memory"):
            # reach the pass with the collector paused during the load
            paused = measure.run(
                measure.task("rfgraph", chains.path(n), "--gc-off-load"),
                timeout=args.max_seconds,
                max_rss=int(args.max_memory * measure.GiB),
            )
            print(f"  {n:>9,} layers, collector paused while loading: {_steps(paused)}", flush=True)
            if (analyze := paused.step("analyze")) is not None:
                found.analyses[n] = (analyze, False)
            if (load := paused.step("load_gc_off")) is not None:
                seconds = measure.seconds(load)
                found.notes.append(f"with the collector paused the load of {power(n)} layers takes {seconds}")
    return found


def _record(found: Growth, n: int, runs: list[measure.Run]) -> None:
    """The fastest finished steps of the runs; a bound where none finished."""
    loads = [t for run in runs if (t := run.step("load")) is not None]
    analyses = [t for run in runs if (t := run.step("analyze")) is not None]
    stopped = [run for run in runs if run.status in ("timeout", "memory")]
    if loads:
        found.loads[n] = (min(loads), False)
    elif stopped:
        found.loads[n] = (stopped[0].elapsed, True)
    if analyses:
        found.analyses[n] = (min(analyses), False)
    elif loads and stopped:
        found.analyses[n] = (stopped[0].elapsed - min(loads), True)
    found.peak_rss[n] = min(run.peak_rss for run in runs)
    found.wall[n] = min(run.seconds for run in runs)
    found.notes += [f"{power(n)} layers: {run.why()}" for run in runs if run.status == "error"]


def _steps(run: measure.Run) -> str:
    names = [key for key in run.results if key != "r" and not key.endswith("_cpu")]
    steps = [f"{name} {measure.seconds(run.step(name))}" for name in names]
    if not run.ok:
        steps.append(f"{run.status} after {measure.seconds(run.elapsed)}")
    return ", ".join(steps) + f"; peak RSS {measure.mib(run.peak_rss)}"


def _growth_verdict(
    item: str, times: dict[int, tuple[float, bool]], sizes: list[int], notes: list[str]
) -> Verdict:
    parts, worst, decided = [], 0.0, True
    for small, large in itertools.pairwise(sizes):
        if small not in times or large not in times or times[small][1]:
            parts.append(f"{power(small)}->{power(large)} not measured")
            decided = False
            continue
        (t0, _), (t1, bound) = times[small], times[large]
        parts.append(f"{power(small)}->{power(large)} {ratio_text(t1 / t0, bound)}")
        worst = max(worst, t1 / t0)
        decided = decided and (not bound or t1 / t0 > GROWTH)
    seconds = ", ".join(
        f"{power(n)} {'> ' if times[n][1] else ''}{measure.seconds(times[n][0])}" for n in sizes if n in times
    )
    passed = worst <= GROWTH if decided else (False if worst > GROWTH else None)
    text = f"{'; '.join(parts)} (threshold x{GROWTH:.0f}); times {seconds}"
    return Verdict(item, passed, text + "".join(f"; {note}" for note in notes))


def floor_ratio(analyses: dict[int, float], sizes: list[int]) -> list[Verdict]:
    """analyze against the floor at the two largest sizes; the floor's own growth, for comparison."""
    parts: list[str] = []
    passed: bool | None = True
    floor: dict[int, tuple[float, bool]] = {}
    for n in sizes:
        runs = [
            measure.run(measure.task("floor", "residual", nets.chain_blocks(n))) for _ in range(PROCESSES[n])
        ]
        floors = [t for run in runs if (t := run.step("floor")) is not None]
        if floors:
            floor[n] = (min(floors), False)
        if n not in sizes[-2:]:
            continue
        if not floors or n not in analyses:
            why = runs[-1].why() if not floors else "no analyze time"
            parts.append(f"{power(n)}: not measured ({why})")
            passed = False if passed is False else None
            continue
        ratio = analyses[n] / min(floors)
        times = f"analyze {measure.seconds(analyses[n])}, floor {measure.seconds(min(floors))}"
        parts.append(f"{power(n)}: {ratio:.1f}x ({times})")
        if ratio > FLOOR_RATIO:
            passed = False
    text = "; ".join(parts) + f" (threshold {FLOOR_RATIO:.0f}x, aim {FLOOR_AIM:.0f}x)"
    grows = _growth_verdict("the bare Kahn traversal's own growth per 10x", floor, sizes, [])
    # context, not a verdict: the memory of a shared machine makes even the floor grow faster at size
    return [Verdict("analyze / bare Kahn traversal", passed, text), replace(grows, passed=None, info=True)]


def check_big(chains: Chains, n: int, decide: bool, found: Growth) -> list[Verdict]:
    path = chains.path(n)
    big = path.with_name("big.yaml")
    big.write_bytes(path.read_bytes())
    bad = path.with_name("big_error.yaml")
    text = big.read_text()
    cut = text.rindex("op: add,")
    bad.write_text(text[:cut] + "strid: 1, " + text[cut:])
    bad_line = text.count("\n")  # the last line of the file
    limits: dict[str, Any] = {"timeout": 2 * CHECK_SECONDS, "max_rss": 2 * CHECK_BYTES}
    size = f"{power(n)} layers" + ("" if decide else " (--quick: not the issue's 10^6, no verdict)")
    verdicts = []
    run = measure.run([*measure.rfgraph_command(), "check", str(big)], **limits)
    if run.ok:
        good = run.seconds < CHECK_SECONDS and run.peak_rss < CHECK_BYTES
        verdict = f"{measure.seconds(run.seconds)}, peak RSS {measure.mib(run.peak_rss)}"
    else:
        good = False
        verdict = run.why()
        if n in found.loads and n in found.analyses:  # what the API took on the same file in item 1
            seconds = found.loads[n][0] + found.analyses[n][0]
            bound = "> " if found.loads[n][1] or found.analyses[n][1] else ""
            verdict += f"; load + analyze of it in item 1: {bound}{measure.seconds(seconds)}, "
            verdict += f"peak RSS {measure.mib(found.peak_rss[n])}"
    limit_text = f"(threshold {CHECK_SECONDS:.0f} s wall clock and {CHECK_BYTES / measure.GiB:.0f} GiB)"
    verdicts.append(
        Verdict(f"rfgraph check big.yaml, {size}", good if decide else None, f"{verdict} {limit_text}")
    )
    run = measure.run([*measure.rfgraph_command(), "check", str(bad)], **limits)
    expected = f"{bad}:{bad_line}:"
    if run.status in ("timeout", "memory"):
        good, verdict = False, run.why()
    else:
        said = (run.stderr.strip().splitlines() or [""])[0]
        good = run.returncode == 2 and said.startswith(expected)
        said = said.replace(str(bad), bad.name)[:100]
        verdict = f"exit {run.returncode} in {measure.seconds(run.seconds)}: {said}"
    item = f"error on line {bad_line:,} of a file of {size} reported as FILE:LINE"
    verdicts.append(Verdict(item, good if decide else None, verdict))
    return verdicts


def startup() -> Verdict:
    rfgraph = [*measure.rfgraph_command(), "check", str(MODEL)]
    yaml = [sys.executable, "-c", "import yaml"]
    ours, base = [], []
    for _ in range(STARTUP_RUNS):  # in turns, so that a busy moment slows both
        base.append(measure.run(yaml).elapsed)
        run = measure.run(rfgraph)
        if not run.ok:
            return Verdict("start-up", False, f"rfgraph check {MODEL.name} {run.why()}")
        ours.append(run.elapsed)
    r, y = statistics.median(ours), statistics.median(base)
    text = (
        f"rfgraph check {MODEL.name} {measure.seconds(r)}, python -c 'import yaml' {measure.seconds(y)}: "
        f"{r / y:.1f}x (medians of {STARTUP_RUNS}; threshold {STARTUP_RATIO:.0f}x)"
    )
    return Verdict("start-up", r / y <= STARTUP_RATIO, text)


def commands(args: argparse.Namespace, chains: Chains, small: int, large: int, tiny: Path) -> list[Verdict]:
    available = measure.run([*measure.rfgraph_command(), "sizes", "--help"], keep_stdout=False).ok
    verdicts = []
    for label, template in COMMANDS.items():
        if template[0] == "sizes" and not available:
            verdicts.append(Verdict(f"linear: {label}", None, "no such command yet"))
            continue
        verdicts.append(_linear(args, label, template, chains, small, large, tiny))
        print("  " + verdicts[-1].line(), flush=True)
    return verdicts


def _linear(
    args: argparse.Namespace,
    label: str,
    template: list[str],
    chains: Chains,
    small: int,
    large: int,
    tiny: Path,
) -> Verdict:
    item = f"linear: {label}"

    def run(path: Path, last: str, timeout: float | None = None) -> measure.Run:
        fill = {"{file}": str(path), "{last}": last, "{svg}": str(path.with_suffix(".svg"))}
        argv = [*measure.rfgraph_command(), *(fill.get(word, word) for word in template)]
        memory = int(args.max_memory * measure.GiB)
        return measure.run(argv, timeout=timeout, max_rss=memory, keep_stdout=False)

    base = min(run(tiny, "b3").elapsed for _ in range(3))  # start-up and imports
    at_small: list[measure.Run] = []
    at_large: list[measure.Run] = []
    for _ in range(2):  # in turns, so that a busy moment slows both sizes
        at_small.append(run(chains.path(small), chains.last[small]))
        if not at_small[-1].ok:
            return Verdict(item, False, f"{power(small)} layers: {at_small[-1].why()}")
        # the limit is on the wall clock, whatever clock is reported
        limit = min(max(60.0, 40 * min(r.seconds for r in at_small)), args.max_seconds)
        at_large.append(run(chains.path(large), chains.last[large], limit))
        if not at_large[-1].ok:
            break
    small_seconds = min(r.elapsed for r in at_small)
    if small_seconds - base < 0.2 * base:  # the work at the smaller size is lost in start-up's noise
        times = f"13 layers {measure.seconds(base)}, {power(small)} layers {measure.seconds(small_seconds)}"
        return Verdict(item, None, f"not measurable: {times} (a busy machine, or start-up is all)")
    finished = [r.elapsed for r in at_large if r.ok]
    large_seconds = min(finished) if finished else at_large[-1].elapsed
    growth = (large_seconds - base) / (small_seconds - base)
    times = " / ".join(measure.seconds(t) for t in (base, small_seconds))
    sizes = f"13 / {power(small)} / {power(large)} layers"
    if finished:
        passed: bool | None = growth <= GROWTH
        text = f"x{growth:.1f}"
        times += f" / {measure.seconds(large_seconds)}"
    elif at_large[-1].status in ("timeout", "memory"):
        passed = False if growth > GROWTH else None
        text = f"> x{growth:.1f} ({at_large[-1].why()})"
        times += f" / > {measure.seconds(large_seconds)}"
    else:
        return Verdict(item, False, f"{power(large)} layers: {at_large[-1].why()}")
    return Verdict(item, passed, f"{text} (threshold x{GROWTH:.0f}); {sizes}: {times}")


def report(verdicts: list[Verdict], machine: list[str], command: str) -> str:
    failed = sum(v.passed is False for v in verdicts)
    lines = [
        f"Measured on commit {measure.rfgraph_commit()} with `{command}`, in {measure.clock()}:",
        "",
        *[f"- {line}" for line in machine],
        "",
        "```text",
        *[v.line() for v in verdicts],
        "```",
        "",
        f"{sum(v.passed is True for v in verdicts)} passed, {failed} failed, "
        f"{sum(v.passed is None and not v.info for v in verdicts)} not decided.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 10**5 layers (10**4 for the commands)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop any one process after this")
    parser.add_argument("--max-memory", type=float, default=10.0, help="GiB: stop any one process above this")
    parser.add_argument("--cpu", action="store_true", help="time by CPU seconds (check big.yaml stays wall)")
    parser.add_argument(
        "--update-readme", action="store_true", help="write the results into benchmarks/README.md"
    )
    args = parser.parse_args()
    measure.use_cpu_time(args.cpu)
    command = "python benchmarks/scaling.py " + " ".join(sys.argv[1:])
    machine = measure.machine()
    print("\n".join(machine), flush=True)
    sizes = [10**3, 10**4, 10**5] + ([] if args.quick else [10**6])
    small, large = (10**3, 10**4) if args.quick else (10**4, 10**5)
    verdicts: list[Verdict] = []

    def step(title: str, measure_: Callable[[], list[Verdict]]) -> None:
        print(title, flush=True)
        for verdict in measure_():
            print(verdict.line(), flush=True)
            verdicts.append(verdict)

    with tempfile.TemporaryDirectory(prefix="rfgraph-scaling-") as tmp:
        chains = Chains(Path(tmp))
        tiny = Path(tmp) / "tiny.yaml"
        nets.residual(3).write(tiny)
        found = Growth()

        def grow() -> list[Verdict]:
            nonlocal found
            found = growth(args, chains, sizes)
            return found.verdicts(sizes)

        step("1. load and analyze growth (residual chains, collector on)", grow)
        step("2. analyze against the floor", lambda: floor_ratio(found.exact_analyses(), sizes))
        step(
            "3. rfgraph check on the largest chain",
            lambda: check_big(chains, sizes[-1], not args.quick, found),
        )
        step("4. start-up", lambda: [startup()])
        step("5. every command linear", lambda: commands(args, chains, small, large, tiny))
    text = report(verdicts, machine, command.strip())
    print()
    print(text)
    if args.update_readme:
        marker = "scaling.py --cpu" if args.cpu else "scaling.py"  # one section per clock
        measure.replace_section(measure.HERE / "README.md", marker, text)


if __name__ == "__main__":
    main()
