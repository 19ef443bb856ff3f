"""``rfgraph check`` over many files: which files, one result per file, and its renderers.

A pattern names a file, a directory (its ``*.yaml`` / ``*.yml`` files, sorted) or a
glob (expanded here, so it works where the shell does not expand it, as on Windows).
Each file gets a :class:`FileCheck`; the renderers turn them into text lines,
GitHub Actions annotations or one JSON document (pure functions, no printing).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from .analysis import Analysis, analyze
from .errors import RFGraphError
from .report import describe, plural

# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal

    from .network import Network

    Status = Literal["ok", "misaligned", "invalid"]
EXIT_CODES: dict[Status, int] = {"ok": 0, "misaligned": 1, "invalid": 2}
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class FileCheck:
    """One checked file: its analysis, or the error that stopped it."""

    path: str
    analysis: Analysis | None = None
    error: RFGraphError | None = None

    @property
    def status(self) -> Status:
        if self.analysis is None:
            return "invalid"
        return "ok" if self.analysis.aligned else "misaligned"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def check_file(path: str, input_size: int | Sequence[int] | None = None) -> FileCheck:
    """Analyze one file and keep the outcome, whatever it is.

    Examples
    --------
    >>> check_file("no/such/net.yaml").status, check_file("no/such/net.yaml").exit_code
    ('invalid', 2)
    """
    try:
        return FileCheck(path, analysis=analyze(path, input_size))
    except RFGraphError as e:
        return FileCheck(path, error=e.located(path))


def check_paths(
    patterns: Iterable[str],
    input_size: int | Sequence[int] | None = None,
    *,
    imported: Callable[[str], Network | None] | None = None,
) -> Iterator[FileCheck]:
    """Check every file the patterns name, in order, each file once.

    A directory or glob that names no file is itself an invalid entry, so a CI
    job pointed at the wrong place fails instead of checking nothing.
    ``imported`` gives the network a pattern names when it is a model to import
    (the command line's ``model.onnx``, ``package.module:callable``), else None.

    Notes
    -----
    Files are read, and errors found, during iteration.
    """
    seen: set[str] = set()
    for pattern in patterns:
        if imported is not None:
            try:
                network = imported(pattern)
                if network is not None:
                    yield FileCheck(pattern, analysis=analyze(network, input_size))
                    continue
            except RFGraphError as e:
                yield FileCheck(pattern, error=e.located(pattern))
                continue
        paths = expand(pattern)
        if not paths:
            what = (
                "no *.yaml or *.yml files in this directory" if os.path.isdir(pattern) else "no files match"  # noqa: PTH112
            )
            yield FileCheck(pattern, error=RFGraphError(what, path=pattern))
        for path in paths:
            key = os.path.normcase(os.path.normpath(path))
            if key not in seen:
                seen.add(key)
                yield check_file(path, input_size)


def expand(pattern: str) -> list[str]:
    """The files one pattern names: itself, a directory's YAML files, or a glob's files, sorted.

    A pattern that names nothing and has no wildcard is kept, so that loading it
    reports "no such file".
    """
    # os.path for a plain file, pathlib and glob imported only for the rest: `rfgraph check x.yaml`
    # starts faster
    if os.path.isfile(pattern):  # noqa: PTH113
        return [pattern]
    import glob
    from pathlib import Path

    path = Path(pattern)
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if path.exists() or not glob.has_magic(pattern):
        return [pattern]
    # glob.glob, not Path.glob: the pattern may be absolute or start with a drive
    return sorted(p for p in glob.glob(pattern, recursive=True) if Path(p).is_file())  # noqa: PTH207


def _summary(check: FileCheck) -> str:
    a = check.analysis
    if a is None:
        return str(check.error)
    merges, unchecked = len(a.merges), len(a.unchecked)
    skipped = f", {unchecked} not checked" if unchecked else ""
    if a.aligned:
        return f"{check.path}: aligned ({plural(len(a.nodes), 'node')}, {plural(merges, 'merge')}{skipped})"
    misaligned = len({m.node for m in a.misalignments})
    return f"{check.path}: MISALIGNED: {misaligned} of {plural(merges, 'merge')} on some axis{skipped}"


def text(check: FileCheck) -> str:
    """One summary line, then one ``FILE:LINE: ...`` line per misalignment.

    An invalid file's line is its error, ``FILE:LINE: message``.
    """
    lines = [_summary(check)]
    a = check.analysis
    if a is not None:
        lines += [f"{check.path}:{a.network.line(m.node)}: {describe(a, m)}" for m in a.misalignments]
    return "\n".join(lines)


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def annotation(path: str, line: int | None, title: str, message: str) -> str:
    """A GitHub Actions ``::error`` workflow command, escaped as GitHub requires.

    >>> print(annotation("a,b.yaml", 3, "invalid spec", "50% off\\nnext"))
    ::error file=a%2Cb.yaml,line=3,title=invalid spec::50%25 off%0Anext
    """
    props = {"file": path.replace(os.sep, "/"), "line": None if line is None else str(line), "title": title}
    shown = ",".join(f"{k}={_escape_property(v)}" for k, v in props.items() if v is not None)
    return f"::error {shown}::{_escape_data(message)}"


def github(check: FileCheck) -> str:
    """The text summary line, then one ``::error`` annotation per problem at its YAML line."""
    a, e = check.analysis, check.error
    if a is None:
        assert e is not None
        message = e.message if e.node is None else f"node {e.node!r}: {e.message}"
        return annotation(check.path, e.line, "rfgraph: invalid network spec", message)
    lines = [_summary(check)]
    for m in a.misalignments:
        lines.append(
            annotation(check.path, a.network.line(m.node), "rfgraph: misaligned merge", describe(a, m))
        )
    return "\n".join(lines)


def _file_dict(check: FileCheck) -> dict[str, Any]:
    a, e = check.analysis, check.error
    error = None if e is None else {"message": e.message, "line": e.line, "node": e.node, "text": str(e)}
    misalignments = []
    if a is not None:
        lines = [a.network.line(m.node) for m in a.misalignments]
        misalignments = [
            {**m, "line": line} for m, line in zip(a.to_dict()["misalignments"], lines, strict=True)
        ]
    return {"path": check.path, "status": check.status, "error": error, "misalignments": misalignments}


def to_json(checks: Sequence[FileCheck]) -> str:
    """One JSON document for all files: the overall status and each file's outcome.

    Each misalignment has the shape of :meth:`Analysis.to_dict`'s, plus the merge's ``line``.
    """
    worst = max(checks, key=lambda c: c.exit_code).status if checks else "ok"
    doc = {"status": worst, "files": [_file_dict(c) for c in checks]}
    import json

    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


#: Per-file renderers: each file's lines are printed as soon as it is checked.
LINE_RENDERERS: dict[str, Callable[[FileCheck], str]] = {"text": text, "github": github}
FORMATS = ("text", "github", "json")

__all__ = [
    "FORMATS",
    "LINE_RENDERERS",
    "FileCheck",
    "annotation",
    "check_file",
    "check_paths",
    "expand",
    "to_json",
]
