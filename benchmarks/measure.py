"""Running one measurement in a child process, with a time and a memory limit.

Every measurement of compare.py and scaling.py is a fresh process, so that one cannot warm
or fill the memory of the next, and its peak resident memory is its own (``wait4``). A
watchdog thread samples the child's resident memory and kills the child, by its pid, when it
passes the limit or the time is up; the run then says so instead of giving a number.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TASKS = HERE / "tasks.py"
MiB = 2**20
GiB = 2**30
_CPU_TIME = False  # see use_cpu_time
# rfa-toolbox imports numpy: one thread, as on a busy 2-core machine
CHILD_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass
class Run:
    """What one child process did: ``status`` is ok, error, timeout or memory."""

    status: str
    seconds: float  # wall time from start to exit, or to the kill
    cpu_seconds: float  # user + system time of the process
    peak_rss: int  # bytes
    returncode: int
    stdout: str = ""
    stderr: str = ""
    timeout: float | None = None
    max_rss: int | None = None
    results: dict[str, Any] = field(default_factory=dict)  # the JSON lines a task printed

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def elapsed(self) -> float:
        """The whole process's time on the clock in use (see use_cpu_time)."""
        return self.cpu_seconds if _CPU_TIME else self.seconds

    def step(self, name: str) -> float | None:
        """The seconds a task printed for step ``name`` on the clock in use, None if it did not."""
        value = self.results.get(f"{name}_cpu" if _CPU_TIME else name)
        return None if value is None else float(value)

    def why(self) -> str:
        """Why there is no number, in a few words."""
        if self.status == "timeout":
            return f"did not finish in {self.timeout:.0f} s ({self.peak_rss / GiB:.1f} GiB)"
        if self.status == "memory":
            return f"stopped at {(self.max_rss or 0) / GiB:.1f} GiB after {self.seconds:.0f} s"
        lines = self.stderr.strip().splitlines() or [f"exit code {self.returncode}"]
        return f"failed: {lines[-1][:120]}"


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = None,
    max_rss: int | None = None,
    keep_stdout: bool = True,
) -> Run:
    """Run ``argv``, stop it at ``timeout`` seconds or ``max_rss`` bytes, return what it did.

    With ``keep_stdout`` false its standard output goes to /dev/null (a command's big output
    is not what is measured). Lines of standard output that are JSON objects are merged into
    ``results``, so a task killed half-way still reports its finished steps.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            list(argv), stdout=out if keep_stdout else subprocess.DEVNULL, stderr=err, env=CHILD_ENV
        )
        watchdog = _Watchdog(child.pid, start, timeout, max_rss)
        if timeout is not None or max_rss is not None:
            watchdog.start()
        # wait without reaping, so that the watchdog can never signal a recycled pid
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        seconds = time.perf_counter() - start
        with watchdog.lock:
            watchdog.done = True
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = Run(
            watchdog.reason or ("ok" if child.returncode == 0 else "error"),
            seconds,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss * 1024,  # KiB on Linux
            child.returncode,
            out.read() if keep_stdout else "",
            err.read(),
            timeout,
            max_rss,
        )
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            result.results.update(json.loads(line))
    return result


class _Watchdog(threading.Thread):
    def __init__(self, pid: int, start: float, timeout: float | None, max_rss: int | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.start_time, self.timeout, self.max_rss = pid, start, timeout, max_rss
        self.lock = threading.Lock()
        self.done = False
        self.reason: str | None = None

    def run(self) -> None:
        while True:
            time.sleep(0.05)
            with self.lock:
                if self.done:
                    return
                if self.timeout is not None and time.perf_counter() - self.start_time > self.timeout:
                    self.reason = "timeout"
                elif self.max_rss is not None and _rss(self.pid) > self.max_rss:
                    self.reason = "memory"
                if self.reason:
                    os.kill(self.pid, signal.SIGKILL)
                    return


def _rss(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def use_cpu_time(on: bool) -> None:
    """Time by CPU seconds of the measured process (user + system) instead of the wall clock:
    other processes on a shared machine then disturb the numbers much less."""
    global _CPU_TIME  # one setting for a whole benchmark run
    _CPU_TIME = on


def clock() -> str:
    return "CPU seconds of each process (user + system)" if _CPU_TIME else "wall-clock seconds"


def task(*args: object) -> list[str]:
    """The argv of a measured task of tasks.py (see there)."""
    return [sys.executable, str(TASKS), *map(str, args)]


def rfgraph_command() -> list[str]:
    """The ``rfgraph`` console script of this interpreter's environment, as users run it."""
    script = Path(sys.executable).parent / "rfgraph"
    return [str(script)] if script.exists() else [sys.executable, "-m", "rfgraph"]


def exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float | None:
    """The least-squares slope of log(seconds) against log(size): 1 is linear, 2 quadratic."""
    if len(sizes) < 2:
        return None
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def seconds(t: float | None) -> str:
    """A duration to three significant digits."""
    if t is None:
        return "-"
    if t >= 100:
        return f"{t:.0f} s"
    if t >= 0.001:
        return f"{t:.3g} s"
    return f"{t * 1e6:.3g} µs"


def mib(n: float | None) -> str:
    return "-" if n is None else f"{n / MiB:,.0f} MiB"


def rfgraph_source() -> str:
    """Which rfgraph is measured: its version, directory and git commit."""
    import rfgraph

    where = Path(rfgraph.__file__).resolve().parent
    dirty = _git(where, "status", "--porcelain", "--untracked-files=no", "--", ".")
    state = f"commit {rfgraph_commit()}" + (" with uncommitted changes" if dirty else "")
    return f"rfgraph {rfgraph.__version__} from {where} ({state})"


@functools.cache  # the commit when the run started, even if one is made while it runs
def rfgraph_commit() -> str:
    """The checkout's commit, and the last one that changed the package (the code measured)."""
    import rfgraph

    where = Path(rfgraph.__file__).resolve().parent
    head = _git(where, "rev-parse", "--short=10", "HEAD")
    changed = _git(where, "log", "-1", "--format=%h", "--abbrev=10", "--", ".")
    if not head:  # an installed copy: the checkout these scripts run from, presumably installed
        here = _git(HERE, "rev-parse", "--short=10", "HEAD")
        return f"{here}, installed from the benchmarks' checkout" if here else "unknown"
    return head if changed == head else f"{head} (rfgraph/ as of {changed})"


def _git(where: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def machine() -> list[str]:
    """The machine and software the numbers were measured on, one fact per line."""
    import yaml

    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next(
        (
            int(line.split()[1]) * 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        ),
        0,
    )
    libyaml = (
        "with libyaml " + _libyaml_version() if yaml.__with_libyaml__ else "without libyaml (pure Python)"
    )
    versions = ", ".join(f"{name} {version(name)}" for name in ("networkx", "numpy", "rfa-toolbox"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores ({len(os.sched_getaffinity(0))} usable), "
        f"{memory / GiB:.0f} GiB; {platform.system()} {platform.release()}",
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"PyYAML {yaml.__version__} {libyaml}; {versions}",
        rfgraph_source(),
        f"load average at start: {load}; {time.strftime('%Y-%m-%d %H:%M %Z')}",
    ]


def _libyaml_version() -> str:
    try:
        from yaml import _yaml  # type: ignore[attr-defined]

        return str(_yaml.get_version_string())
    except (ImportError, AttributeError):
        return "(version unknown)"


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def replace_section(path: Path, marker: str, text: str) -> None:
    """Put ``text`` between the lines ``<!-- marker: start -->`` and ``<!-- marker: end -->``."""
    start, end = f"<!-- {marker}: start -->", f"<!-- {marker}: end -->"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1]
    else:
        before, after = old + ("\n" if old and not old.endswith("\n") else ""), "\n"
    path.write_text(f"{before}{start}\n{text.rstrip()}\n{end}{after}", encoding="utf-8")
