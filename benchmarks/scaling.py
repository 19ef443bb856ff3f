"""Issue 12's "Done when" measurements, as ratios in one run, each with PASS or FAIL.

    python benchmarks/scaling.py [--quick] [--max-seconds 300] [--max-memory 10] [--update-readme]

On residual chains written as `rfgraph import` writes them (nets.py), through the public API and
the `rfgraph` command of this environment, each measurement in a fresh process:

1. load and analyze growth per 10x layers, 10**3 to 10**6, the collector on: at most x12;
2. analyze / a bare Kahn traversal of the same edges at 10**5 and 10**6 layers: at most 5x (aim 3x);
3. ``rfgraph check big.yaml`` at 10**6 layers: under 30 s and 2 GiB peak memory, and an error
   on the last line of such a file reported as FILE:LINE;
4. start-up: ``rfgraph check models/resnet_v1_50.yaml`` against ``python -c "import yaml"``,
   medians of 15 runs taken in turns: at most 2x;
5. every command linear: time at 10**4 and 10**5 layers, less the time on a 13-layer file (start-up
   and imports), grows at most x12 (x10 is linear).

A process that passes a threshold by enough to decide the verdict is stopped (``--max-seconds``,
``--max-memory``): the line then gives a bound ("> 15x") instead of a number. With ``--quick`` the
largest size is 10**5 (10**4 for the commands) and the 10**6 items are only reported at 10**5.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import measure
import nets

GROWTH = 12.0  # per 10x layers
FLOOR_RATIO, FLOOR_AIM = 5.0, 3.0
CHECK_SECONDS, CHECK_BYTES = 30.0, 2 * measure.GiB
STARTUP_RATIO, STARTUP_RUNS = 2.0, 15
MIN_TIME = 2.0  # below 10**6 layers a process repeats a step until it spent this long on it
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

    def line(self) -> str:
        mark = {True: "PASS", False: "FAIL", None: "----"}[self.passed]
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


def growth(
    args: argparse.Namespace, chains: Chains, sizes: list[int]
) -> tuple[list[Verdict], dict[int, float]]:
    loads: dict[int, tuple[float, bool]] = {}  # seconds, and whether that is a lower bound
    analyses: dict[int, tuple[float, bool]] = {}
    notes = []
    for n in sizes:
        previous = sizes[sizes.index(n) - 1] if n != sizes[0] else None
        limit = args.max_seconds
        if previous is not None and previous in loads and previous in analyses:
            limit = min(max(60.0, 1.1 * GROWTH * (loads[previous][0] + analyses[previous][0])), limit)
        min_time = 0.0 if n >= 10**6 else MIN_TIME
        run = measure.run(
            measure.task("rfgraph", chains.path(n), "--min-time", min_time),
            timeout=limit,
            max_rss=int(args.max_memory * measure.GiB),
        )
        print(f"  {n:>9,} layers: {_steps(run)}", flush=True)
        if "load" in run.results:
            loads[n] = (run.results["load"], False)
        elif run.status in ("timeout", "memory"):
            loads[n] = (run.seconds, True)
        if "analyze" in run.results:
            analyses[n] = (run.results["analyze"], False)
        elif "load" in run.results:
            analyses[n] = (run.seconds - run.results["load"], True)
        elif run.status in ("timeout", "memory"):  # reach the pass with the collector paused during the load
            paused = measure.run(
                measure.task("rfgraph", chains.path(n), "--gc-off-load"),
                timeout=args.max_seconds,
                max_rss=int(args.max_memory * measure.GiB),
            )
            print(f"  {n:>9,} layers, collector paused while loading: {_steps(paused)}", flush=True)
            if "analyze" in paused.results:
                analyses[n] = (paused.results["analyze"], False)
            if "load_gc_off" in paused.results:
                notes.append(
                    f"with the collector paused the load of {n:,} layers takes "
                    f"{measure.seconds(paused.results['load_gc_off'])}"
                )
        if not run.ok and run.status not in ("timeout", "memory"):
            notes.append(f"{n:,} layers: {run.why()}")
    verdicts = [
        _growth_verdict("load growth per 10x layers", loads, sizes, notes),
        _growth_verdict("analyze growth per 10x layers", analyses, sizes, []),
    ]
    return verdicts, {n: t for n, (t, bound) in analyses.items() if not bound}


def _steps(run: measure.Run) -> str:
    steps = [f"{key} {measure.seconds(value)}" for key, value in run.results.items() if key != "r"]
    if not run.ok:
        steps.append(f"{run.status} after {measure.seconds(run.seconds)}")
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


def floor_ratio(
    args: argparse.Namespace, chains: Chains, analyses: dict[int, float], sizes: list[int]
) -> Verdict:
    parts: list[str] = []
    passed: bool | None = True
    for n in sizes:
        min_time = 0.0 if n >= 10**6 else MIN_TIME
        run = measure.run(measure.task("floor", "residual", nets.chain_blocks(n), "--min-time", min_time))
        floor = run.results.get("floor")
        if floor is None or n not in analyses:
            parts.append(
                f"{power(n)}: not measured" + (f" ({run.why()})" if floor is None else " (no analyze time)")
            )
            passed = False if passed is False else None
            continue
        ratio = analyses[n] / floor
        times = f"analyze {measure.seconds(analyses[n])}, floor {measure.seconds(floor)}"
        parts.append(f"{power(n)}: {ratio:.1f}x ({times})")
        if ratio > FLOOR_RATIO:
            passed = False
    text = "; ".join(parts) + f" (threshold {FLOOR_RATIO:.0f}x, aim {FLOOR_AIM:.0f}x)"
    return Verdict("analyze / bare Kahn traversal", passed, text)


def check_big(args: argparse.Namespace, chains: Chains, n: int, decide: bool) -> list[Verdict]:
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
    limit_text = f"(threshold {CHECK_SECONDS:.0f} s and {CHECK_BYTES / measure.GiB:.0f} GiB)"
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
        base.append(measure.run(yaml).seconds)
        run = measure.run(rfgraph)
        if not run.ok:
            return Verdict("start-up", False, f"rfgraph check {MODEL.name} {run.why()}")
        ours.append(run.seconds)
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
    def argv(path: Path, last: str) -> list[str]:
        fill = {"{file}": str(path), "{last}": last, "{svg}": str(path.with_suffix(".svg"))}
        return [*measure.rfgraph_command(), *(fill.get(word, word) for word in template)]

    def fastest(command: list[str], repeat: int, timeout: float | None = None) -> measure.Run:
        runs = [
            measure.run(
                command, timeout=timeout, max_rss=int(args.max_memory * measure.GiB), keep_stdout=False
            )
            for _ in range(repeat)
        ]
        return min(runs, key=lambda run: (not run.ok, run.seconds))

    base = fastest(argv(tiny, "b3"), 3)
    at_small = fastest(argv(chains.path(small), chains.last[small]), 3)
    if not (base.ok and at_small.ok):
        return Verdict(f"linear: {label}", False, (at_small if base.ok else base).why())
    work = max(at_small.seconds - base.seconds, 1e-3)
    limit = min(max(30.0, base.seconds + 20 * work), args.max_seconds)
    at_large = fastest(argv(chains.path(large), chains.last[large]), 1, limit)
    times = f"{measure.seconds(base.seconds)} / {measure.seconds(at_small.seconds)} / "
    if at_large.ok:
        growth = (at_large.seconds - base.seconds) / work
        times += measure.seconds(at_large.seconds)
        passed: bool | None = growth <= GROWTH
        text = f"x{growth:.1f}"
    elif at_large.status in ("timeout", "memory"):
        growth = (at_large.seconds - base.seconds) / work
        times += "> " + measure.seconds(at_large.seconds)
        passed = False if growth > GROWTH else None
        text = f"> x{growth:.1f} ({at_large.why()})"
    else:
        return Verdict(f"linear: {label}", False, at_large.why())
    sizes = f"13 / {power(small)} / {power(large)} layers"
    return Verdict(f"linear: {label}", passed, f"{text} (threshold x{GROWTH:.0f}); {sizes}: {times}")


def report(verdicts: list[Verdict], machine: list[str], command: str) -> str:
    failed = sum(v.passed is False for v in verdicts)
    lines = [
        f"Measured on commit {measure.rfgraph_commit()} with `{command}`:",
        "",
        *[f"- {line}" for line in machine],
        "",
        "```text",
        *[v.line() for v in verdicts],
        "```",
        "",
        f"{sum(v.passed is True for v in verdicts)} passed, {failed} failed, "
        f"{sum(v.passed is None for v in verdicts)} not decided.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 10**5 layers (10**4 for the commands)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop any one process after this")
    parser.add_argument("--max-memory", type=float, default=10.0, help="GiB: stop any one process above this")
    parser.add_argument(
        "--update-readme", action="store_true", help="write the results into benchmarks/README.md"
    )
    args = parser.parse_args()
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
        analyses: dict[int, float] = {}

        def grow() -> list[Verdict]:
            found, times = growth(args, chains, sizes)
            analyses.update(times)
            return found

        step("1. load and analyze growth (residual chains, collector on)", grow)
        step("2. analyze against the floor", lambda: [floor_ratio(args, chains, analyses, sizes[-2:])])
        step(
            "3. rfgraph check on the largest chain",
            lambda: check_big(args, chains, sizes[-1], not args.quick),
        )
        step("4. start-up", lambda: [startup()])
        step("5. every command linear", lambda: commands(args, chains, small, large, tiny))
    text = report(verdicts, machine, command.strip())
    print()
    print(text)
    if args.update_readme:
        measure.replace_section(measure.HERE / "README.md", "scaling.py", text)


if __name__ == "__main__":
    main()
