"""Analysis -> text: table, JSON, CSV and Markdown renderers (pure functions)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence

from .analysis import Analysis, Misalignment, Number, NodeRF, exact


def _number(value: Number | None) -> str:
    shown = exact(value)
    return "-" if shown is None else str(shown)


def _axes(values: Sequence[Number | None] | None) -> str:
    """One value when every axis agrees, else them all: ``483`` or ``[7, 5]``."""
    if values is None:
        return "-"
    shown = [_number(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "[" + ", ".join(shown) + "]"


def _op(analysis: Analysis, node: str) -> str:
    layers = analysis.network.layers
    return "input" if node not in layers else layers[node].op


def describe(analysis: Analysis, m: Misalignment) -> str:
    """One line for a misaligned merge: what differs, and each input's S and centre.

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... layers:
    ...   - {name: a, op: conv, kernel: 3, inputs: [input]}
    ...   - {name: b, op: conv, kernel: 2, inputs: [input]}
    ...   - {name: sum, op: add, inputs: [a, b]}
    ... '''))
    >>> describe(a, a.misalignments[0])
    "node 'sum' axis h: centres differ: a (r=3, S=1, P=0, centre=1), b (r=2, S=1, P=0, centre=1/2)"
    """
    axis = analysis.network.axis_names[m.axis]
    inputs = ", ".join(
        f"{name} (r={_number(rf.r)}, S={_number(rf.S)}, P={_number(rf.P)}, centre={_number(rf.centre)})"
        for name, rf in m.inputs
    )
    return f"node {m.node!r} axis {axis}: {m.reason}: {inputs}"


def _rows(analysis: Analysis) -> list[list[str]]:
    rows = []
    for name, rf in analysis.nodes.items():
        note = "MISALIGNED" if not rf.aligned else ("P*" if rf.size_dependent else "")
        rows.append(
            [
                name,
                _op(analysis, name),
                _axes(rf.r),
                _axes(rf.S),
                _axes(rf.P),
                _axes(rf.r_min),
                "-" if rf.size is None else "x".join(map(str, rf.size)),
                note,
            ]
        )
    return rows


_HEADER = ["node", "op", "r", "S", "P", "r_min", "size", "note"]


def _footer(analysis: Analysis) -> list[str]:
    lines = [describe(analysis, m) for m in analysis.misalignments]
    if any(rf.size_dependent for rf in analysis.nodes.values()):
        lines.append(
            "P*: P assumes every 'same' layer with stride > 1 gets an input size divisible by "
            "its stride; give --input-size for exact values."
        )
    return lines


def _summary(analysis: Analysis) -> str:
    net = analysis.network
    size = "" if analysis.input_size is None else f" at {'x'.join(map(str, analysis.input_size))}"
    merges = sum(1 for n in analysis.nodes if n in net.layers and net.layers[n].spec.kind == "merge")
    state = "aligned" if analysis.aligned else f"{len(analysis.misalignments)} misalignment(s)"
    return f"{net.name}: {len(analysis.nodes)} nodes, {merges} merges, fields relative to {analysis.source}{size}: {state}"


def table(analysis: Analysis) -> str:
    """A terminal table, one row per node; axes collapse when they agree."""
    rows = [_HEADER, *_rows(analysis)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = [_summary(analysis), ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    footer = _footer(analysis)
    return "\n".join(lines + ([""] + footer if footer else [])) + "\n"


def markdown(analysis: Analysis) -> str:
    """A Markdown table, one row per node."""
    lines = [f"**{_summary(analysis)}**", "", "| " + " | ".join(_HEADER) + " |"]
    lines.append("|" + "---|" * len(_HEADER))
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in _rows(analysis)]
    footer = _footer(analysis)
    return "\n".join(lines + ([""] + [f"- {f}" for f in footer] if footer else [])) + "\n"


def to_json(analysis: Analysis) -> str:
    """The JSON document of :meth:`Analysis.to_dict`, byte-identical across runs."""
    return json.dumps(analysis.to_dict(), indent=2, ensure_ascii=False) + "\n"


def to_csv(analysis: Analysis) -> str:
    """CSV with one row per node and axis."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["node", "op", "axis", "r", "S", "P", "r_min", "size", "aligned"])
    names = analysis.network.axis_names
    for name, rf in analysis.nodes.items():
        for i, a in enumerate(rf.axes):
            size = "" if a.size is None else a.size
            r, S, P = (_number(v) if v is not None else "" for v in (a.r, a.S, a.P))
            writer.writerow([name, _op(analysis, name), names[i], r, S, P, _number(a.r_min), size, rf.aligned])
    return out.getvalue()


RENDERERS: dict[str, Callable[[Analysis], str]] = {
    "table": table,
    "json": to_json,
    "csv": to_csv,
    "markdown": markdown,
}

__all__ = ["RENDERERS", "NodeRF", "describe", "markdown", "table", "to_csv", "to_json"]
