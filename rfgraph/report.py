"""Analysis -> text: table, JSON, CSV and Markdown renderers (pure functions)."""

from __future__ import annotations

import csv
import fnmatch
import io
import json
from collections.abc import Callable, Sequence

from .analysis import Analysis, Misalignment, NodeRF, Number, exact
from .locate import FeatureRange, InputBox, InputFit, check_input_size


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


def _fit(analysis: Analysis) -> InputFit | None:
    return None if analysis[analysis.source].size is None else check_input_size(analysis)


def _note(analysis: Analysis, rf: NodeRF, fit: InputFit | None) -> str:
    notes = ["MISALIGNED" if not rf.aligned else ("P*" if rf.size_dependent else "")]
    border = () if fit is None else fit.border_axes(rf.node)
    if border:
        names = analysis.network.axis_names
        where = "" if len(border) == len(names) else " " + ",".join(names[i] for i in border)
        notes.append("border" + where)
    return ", ".join(n for n in notes if n)


def _rows(analysis: Analysis, nodes: Sequence[str] | None = None) -> list[list[str]]:
    rows = []
    fit = _fit(analysis)
    for name in analysis.nodes if nodes is None else nodes:
        rf = analysis[name]
        note = _note(analysis, rf, fit)
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


def _footer(analysis: Analysis, nodes: Sequence[str] | None = None) -> list[str]:
    lines = [describe(analysis, m) for m in analysis.misalignments]
    if any(rf.size_dependent for rf in analysis.nodes.values()):
        lines.append(
            "P*: P assumes every 'same' layer with stride > 1 gets an input size divisible by "
            "its stride; give --input-size for exact values."
        )
    fit = _fit(analysis)
    if fit is not None:
        lines += _fit_lines(analysis, fit)
    if nodes is not None:
        lines.append(f"showing {len(nodes)} of {len(analysis.nodes)} nodes")
    return lines


def _fit_lines(analysis: Analysis, fit: InputFit) -> list[str]:
    size = "x".join(map(str, fit.input_size))
    names = analysis.network.axis_names
    lines = []
    if fit.borders:
        lines.append(
            f"border: {len(fit.borders)} layer(s), from {fit.borders[0].node!r}, whose every input's r_min "
            f"already covers the {size} input: predicted unproductive (rfa-toolbox's border layers)."
        )
    for out in fit.outputs:
        if out.sees_whole_input:
            lines.append(f"output {out.node!r}: every feature sees the whole {size} input.")
            continue
        parts = [
            f"{names[i]} undefined" if whole is None else f"{names[i]} {whole} of {n}"
            for i, (whole, n) in enumerate(zip(out.whole, out.size, strict=True))
            if whole != n
        ]
        lines.append(f"output {out.node!r}: features that see the whole {size} input: {', '.join(parts)}.")
    return lines


def is_endpoint(analysis: Analysis, node: str) -> bool:
    """Whether ``node`` is an end-point: an output, a merge, or a name without '/'.

    The zoo names inner layers like ``Mixed_5b/Branch_1/Conv2d_0b_5x5``; the
    end-points are what is left once those are hidden.

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... layers:
    ...   - {name: stem/conv, op: conv, kernel: 3}
    ...   - {name: block/a, op: conv, kernel: 1}
    ...   - {name: block/b, op: conv, kernel: 1, inputs: [stem/conv]}
    ...   - {name: block, op: concat, inputs: [block/a, block/b]}
    ...   - {name: head/relu, op: relu}
    ... '''))
    >>> [v for v in a if is_endpoint(a, v)]
    ['input', 'block', 'head/relu']
    """
    layer = analysis.network.layers.get(node)
    is_merge = layer is not None and layer.spec.kind == "merge"
    return "/" not in node or is_merge or node in analysis.outputs


def select(analysis: Analysis, only: Sequence[str] = (), *, endpoints: bool = False) -> list[str]:
    """The nodes to show, in network order: those matching a pattern of ``only``, end-points only if asked.

    Patterns are :mod:`fnmatch` patterns matched case-sensitively against whole
    names; with none, every node matches. ``endpoints`` keeps the nodes
    :func:`is_endpoint` accepts.

    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads("layers: [{name: b1/conv, op: conv, kernel: 3}, {name: b1/relu, op: relu}]"))
    >>> select(a, ["b1/*"]), select(a, ["*conv", "input"]), select(a, endpoints=True)
    (['b1/conv', 'b1/relu'], ['input', 'b1/conv'], ['input', 'b1/relu'])
    """
    return [
        v
        for v in analysis.nodes
        if (not only or any(fnmatch.fnmatchcase(v, p) for p in only))
        and (not endpoints or is_endpoint(analysis, v))
    ]


def _summary(analysis: Analysis) -> str:
    net = analysis.network
    size = "" if analysis.input_size is None else f" at {'x'.join(map(str, analysis.input_size))}"
    merges = sum(1 for n in analysis.nodes if n in net.layers and net.layers[n].spec.kind == "merge")
    state = "aligned" if analysis.aligned else f"{len(analysis.misalignments)} misalignment(s)"
    counts = f"{len(analysis.nodes)} nodes, {merges} merges"
    return f"{net.name}: {counts}, fields relative to {analysis.source}{size}: {state}"


def table(analysis: Analysis, nodes: Sequence[str] | None = None) -> str:
    """A terminal table, one row per node (or per node of ``nodes``); axes collapse when they agree.

    The note column marks misaligned merges, P values that assume sizes and,
    when the input size is known, border layers
    (:func:`rfgraph.locate.check_input_size`); the footer explains them and
    says what the outputs see.
    """
    rows = [_HEADER, *_rows(analysis, nodes)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER))]
    lines = [_summary(analysis), ""]
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    footer = _footer(analysis, nodes)
    return "\n".join(lines + (["", *footer] if footer else [])) + "\n"


def markdown(analysis: Analysis, nodes: Sequence[str] | None = None) -> str:
    """A Markdown table, one row per node (or per node of ``nodes``)."""
    lines = [f"**{_summary(analysis)}**", "", "| " + " | ".join(_HEADER) + " |"]
    lines.append("|" + "---|" * len(_HEADER))
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in _rows(analysis, nodes)]
    footer = _footer(analysis, nodes)
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
            writer.writerow(
                [name, _op(analysis, name), names[i], r, S, P, _number(a.r_min), size, rf.aligned]
            )
    return out.getvalue()


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _span(first: Number | None, last: Number | None) -> str:
    return "-" if first is None or last is None else f"{_number(first)}..{_number(last)}"


def _tuple(values: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, values)) + ")"


_ASSUMED = "P*: assumes input sizes divisible by 'same' layers' strides; give --input-size for exact values."


def box_table(box: InputBox) -> str:
    """The input box of one feature (:func:`rfgraph.locate.locate`) as a small table.

    >>> from rfgraph import analyze, loads
    >>> from rfgraph.locate import locate
    >>> a = analyze(loads("layers: [{name: c, op: conv, kernel: 3, stride: 2, padding: 1}]"), 4)
    >>> print(box_table(locate(a, "c", [0, 1])), end="")
    feature (0, 1) of 'c' reads input h -1..1, w 1..3 of the 4x4 input
    <BLANKLINE>
    axis  first  last  centre  in image  padding before  padding after
    h     -1     1     0       0..1      1               0
    w     1      3     2       1..3      0               0
    """
    size = "" if box.input_size is None else f" of the {'x'.join(map(str, box.input_size))} input"
    spans = ", ".join(f"{a.axis} {_span(a.first, a.last)}" for a in box.axes)
    rows = [["axis", "first", "last", "centre", "in image", "padding before", "padding after"]]
    rows += [
        [
            a.axis,
            _number(a.first),
            _number(a.last),
            _number(a.centre),
            "none" if a.is_defined and a.clipped is None else _span(*(a.clipped or (None, None))),
            _number(a.padding_before),
            "?" if a.is_defined and a.padding_after is None else _number(a.padding_after),
        ]
        for a in box.axes
    ]
    notes = [f"{a.axis}: {a.note}" for a in box.axes if a.note]
    notes += [_ASSUMED] if box.size_dependent else []
    lines = [f"feature {_tuple(box.feature)} of {box.node!r} reads input {spans}{size}", "", *_grid(rows)]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def range_table(found: FeatureRange) -> str:
    """The features that see one input pixel (:func:`rfgraph.locate.locate_pixel`) as a small table.

    >>> from rfgraph import analyze, loads
    >>> from rfgraph.locate import locate_pixel
    >>> a = analyze(loads("layers: [{name: c, op: conv, kernel: 3, stride: 2, padding: 1}]"), 4)
    >>> print(range_table(locate_pixel(a, "c", [1, 2])), end="")
    input pixel (1, 2) is in the field of 2 feature(s) of 'c': h 0..1, w 1..1
    <BLANKLINE>
    axis  first  last  count
    h     0      1     2
    w     1      1     1
    """
    total = 1
    for a in found.axes:
        total *= a.count
    spans = ", ".join(f"{a.axis} {_span(a.first, a.last)}" for a in found.axes)
    rows = [["axis", "first", "last", "count"]]
    rows += [[a.axis, _number(a.first), _number(a.last), str(a.count)] for a in found.axes]
    notes = [f"{a.axis}: {a.note}" for a in found.axes if a.note]
    notes += [_ASSUMED] if found.size_dependent else []
    head = f"input pixel {_tuple(found.pixel)} is in the field of {total} feature(s) of {found.node!r}"
    return "\n".join([f"{head}: {spans}", "", *_grid(rows)] + (["", *notes] if notes else [])) + "\n"


#: The renderers that can show a subset of the nodes (``--only``, ``--endpoints``).
TABLES: dict[str, Callable[[Analysis, Sequence[str] | None], str]] = {"table": table, "markdown": markdown}

RENDERERS: dict[str, Callable[[Analysis], str]] = {
    "table": table,
    "json": to_json,
    "csv": to_csv,
    "markdown": markdown,
}

__all__ = [
    "RENDERERS",
    "TABLES",
    "box_table",
    "describe",
    "is_endpoint",
    "markdown",
    "range_table",
    "select",
    "table",
    "to_csv",
    "to_json",
]
