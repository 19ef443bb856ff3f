"""The command line: the only place that prints and picks exit codes.

Exit codes: 0 ok, 1 ``check`` found a misaligned merge, 2 invalid input or usage.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .analysis import Analysis, analyze
from .errors import RFGraphError
from .report import RENDERERS, describe


def write_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees half of it."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except OSError as e:
        raise RFGraphError(f"cannot write: {e.strerror}", path=output) from None


def _analyze(args: argparse.Namespace) -> int:
    analysis = analyze(args.file, args.input_size, relative_to=args.relative_to)
    _emit(RENDERERS[args.format](analysis), args.output)
    return 0


def _check_one(path: str, input_size: Sequence[int] | None) -> tuple[int, list[str]]:
    try:
        analysis: Analysis = analyze(path, input_size)
    except RFGraphError as e:
        return 2, [str(e)]
    net = analysis.network
    merges = sum(1 for layer in net.layers.values() if layer.spec.kind == "merge")
    if analysis.aligned:
        return 0, [f"{path}: aligned ({len(analysis.nodes)} nodes, {merges} merges)"]
    lines = [f"{path}: MISALIGNED: {len(analysis.misalignments)} of {merges} merges on some axis"]
    for m in analysis.misalignments:
        line = net.line(m.node)
        lines.append(f"{path}:{line}: {describe(analysis, m)}")
    return 1, lines


def _check(args: argparse.Namespace) -> int:
    worst = 0
    for path in args.files:
        code, lines = _check_one(path, args.input_size)
        print("\n".join(lines), file=sys.stderr if code == 2 else sys.stdout)
        worst = max(worst, code)
    return worst


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfgraph", description="Exact receptive fields of convolutional networks described as graphs."
    )
    parser.add_argument("--version", action="version", version=f"rfgraph {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    size = argparse.ArgumentParser(add_help=False)
    size.add_argument(
        "--input-size",
        nargs="+",
        type=int,
        metavar="N",
        help="input size: one number for every axis, or one per axis (H W); overrides the file's",
    )

    a = commands.add_parser("analyze", parents=[size], help="r, S, P of every node of one network")
    a.add_argument("file", help="network YAML file")
    a.add_argument("--relative-to", metavar="NODE", help="fields relative to NODE instead of the input")
    a.add_argument("--format", choices=sorted(RENDERERS), default="table")
    a.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    a.set_defaults(run=_analyze)

    c = commands.add_parser(
        "check", parents=[size], help="exit 1 if a merge of any file is misaligned, 2 if a file is invalid"
    )
    c.add_argument("files", nargs="+", metavar="FILE")
    c.set_defaults(run=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except RFGraphError as e:
        print(e, file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`rfgraph ... | head`): stop quietly, as the Python docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
