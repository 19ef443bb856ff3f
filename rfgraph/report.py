"""Analysis -> text: table, JSON, CSV and Markdown renderers (pure functions)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

from .analysis import Analysis, Misalignment, NodeRF, Reason, to_json_number
from .fields import Number, exact
from .ops import Why

# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:  # and the table's footer and the look-ups' tables import these when they run
    from .effective import ERF
    from .fit import InputFit
    from .locate import FeatureRange, InputBox

#: Effective receptive fields by node, shown as extra columns when given (``analyze --erf``).
ERFs = Mapping[str, "ERF"] | None


def number(value: Number | Fraction | None) -> str:
    """An exact number as text: ``3``, ``-1/2``; ``-`` where undefined."""
    shown = to_json_number(None if value is None else exact(value))
    return "-" if shown is None else str(shown)


def shape(size: Sequence[int] | None) -> str:
    """A feature-map size as text: ``224x224``, ``?`` when unknown."""
    return "?" if size is None else "x".join(map(str, size))


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 merge``, ``2 merges``.

    >>> plural(1, "merge"), plural(3, "merge"), plural(2, "misalignment"), plural(0, "layer")
    ('1 merge', '3 merges', '2 misalignments', '0 layers')
    """
    return f"{count} {word if count == 1 else (words or word + 's')}"


def _axes(values: Sequence[Number | None] | None) -> str:
    """One value when every axis agrees, else them all: ``483`` or ``[7, 5]``."""
    if values is None:
        return "-"
    shown = [number(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "[" + ", ".join(shown) + "]"


def _op(analysis: Analysis, node: str) -> str:
    layers = analysis.network.layers
    return "input" if node not in layers else layers[node].op


_ANCHOR = {"centre": "centre", "start": "start", "end": "end"}


def describe(analysis: Analysis, m: Misalignment) -> str:
    """One line for a misaligned merge: what differs, each input's field, and by phase how much.

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
    axis = m.axis_name
    anchor = _ANCHOR.get(m.rule, "centre")
    anchors = m.anchors()
    shown = []
    for name, rf in m.inputs:
        value = anchors[name][0] if name in anchors else None
        shown.append(
            f"{name} (r={number(rf.r)}, S={number(rf.S)}, P={number(rf.P)}, {anchor}={number(value)})"
        )
    line = f"node {m.node!r} axis {axis}: {m.what}: {', '.join(shown)}"
    if m.reason is Reason.ANCHORS and m.period > 1:
        line += "; " + _by_phase(m, anchors)
    return line


def _by_phase(m: Misalignment, anchors: dict[str, tuple[Fraction | None, ...]]) -> str:
    """How far each input's anchor lies from the first input's, feature by feature over a period."""
    (first, base), *others = anchors.items()
    parts = []
    for name, values in others:
        steps = [
            "?" if a is None or b is None else f"{'+' if a - b > 0 else ''}{number(a - b)}"
            for a, b in zip(values, base, strict=True)
        ]
        parts.append(f"{name} - {first} by feature 0..{m.period - 1}: {', '.join(steps)}")
    return f"period {m.period}: " + "; ".join(parts)


def _fit(analysis: Analysis) -> InputFit | None:
    from .fit import check_input_size

    return None if analysis[analysis.source].size is None else check_input_size(analysis)


def _note(analysis: Analysis, rf: NodeRF, fit: InputFit | None) -> str:
    notes = []
    if rf.aligned is False:
        notes.append("MISALIGNED")
    elif rf.aligned is None:
        layer = analysis.network.layers[rf.node]
        rule = layer.align or analysis.network.align
        notes.append("not checked" if rule == "none" else "not checked (needs --input-size)")
    if rf.size_dependent:
        notes.append("P*")
    if any(a.why is Why.SIZE for a in rf.axes) and rf.aligned is not None:  # r, S, P are null
        notes.append("needs --input-size")
    if rf.is_global:
        notes.append("global")
    border = () if fit is None else fit.border_axes(rf.node)
    if border:
        names = analysis.network.axis_names
        where = "" if len(border) == len(names) else " " + ",".join(names[i] for i in border)
        notes.append("border" + where)
    return ", ".join(notes)


def _rows(analysis: Analysis, nodes: Sequence[str] | None = None, erfs: ERFs = None) -> list[list[str]]:
    rows = []
    fit = _fit(analysis)
    for name in analysis.nodes if nodes is None else nodes:
        rf = analysis[name]
        row = [
            name,
            _op(analysis, name),
            _axes(rf.r),
            _axes(rf.S),
            _axes(rf.P),
            _axes(rf.r_min),
            "-" if rf.size is None else shape(rf.size),
        ]
        if erfs is not None:
            row += erf_cells(erfs[name])
        rows.append([*row, _note(analysis, rf, fit)])
    return rows


def erf_cells(found: ERF) -> list[str]:
    """The ERF's standard deviation, 95% width and width over r, one value when the axes agree.

    >>> from rfgraph import analyze, erf, loads
    >>> erf_cells(erf(analyze(loads("layers: [{name: c, op: conv, kernel: [3, 5]}]")), "c"))
    ['[0.8, 1.4]', '[3, 5]', '1']
    """
    n = range(len(found.axes))
    std = [_decimal(None if a is None else a.std, 1) for a in found.axes]
    width = ["-" if a is None else str(a.width) for a in found.axes]
    ratio = [_decimal(found.ratio(i), 2) for i in n]
    return [_collapse(std), _collapse(width), _collapse(ratio)]


def _decimal(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


def _collapse(shown: list[str]) -> str:
    return shown[0] if len(set(shown)) == 1 else "[" + ", ".join(shown) + "]"


_HEADER = ["node", "op", "r", "S", "P", "r_min", "size", "note"]
_ERF_HEADER = ["erf std", "erf 95%", "95%/r"]


def _header(erfs: ERFs) -> list[str]:
    return _HEADER if erfs is None else [*_HEADER[:-1], *_ERF_HEADER, _HEADER[-1]]


_ERF_NOTE = (
    "erf: the effective receptive field of the centre feature (feature 0 without an input size): every "
    "kernel averages its window, activations are the identity; its standard deviation, the width of the "
    "shortest interval holding 95% of its weight, and that width over r."
)
_ASSUMED = (
    "P*: assumes every 'same' layer with stride > 1 gets an input size divisible by its stride "
    "(and size_of maps sizes that divide evenly); give --input-size for exact values."
)
_NULL = (
    "-: no local field: global (reads the whole input), after a merge of different strides, or needs a size."
)


def _footer(analysis: Analysis, nodes: Sequence[str] | None = None, erfs: ERFs = None) -> list[str]:
    lines = [describe(analysis, m) for m in analysis.misalignments]
    shown = [analysis[v] for v in (analysis.nodes if nodes is None else nodes)]
    if erfs is not None:
        lines.append(_ERF_NOTE)
        equal = {c: None for v in (analysis.nodes if nodes is None else nodes) for c in erfs[v].equal_concats}
        if equal:
            lines.append(
                f"erf: the inputs of {plural(len(equal), 'concat')} counted equally, for lack of channel "
                f"counts (the channels key): {', '.join(equal)}."
            )
    if any(rf.size_dependent for rf in shown):
        lines.append(_ASSUMED)
    if any(None in rf.r for rf in shown):
        lines.append(_NULL)
    if any(rf.P[i] is None and rf.r[i] is not None for rf in shown for i in range(len(rf.r))):
        lines.append("P -: feature 0 reads nothing (a hole left by a transposed conv with kernel < stride).")
    fit = _fit(analysis)
    if fit is not None:
        lines += _fit_lines(analysis, fit)
    if nodes is not None:
        lines.append(f"showing {len(nodes)} of {plural(len(analysis.nodes), 'node')}")
    return lines


def _fit_lines(analysis: Analysis, fit: InputFit) -> list[str]:
    size = shape(fit.input_size)
    names = analysis.network.axis_names
    lines = []
    if fit.borders:
        lines.append(
            f"border: {plural(len(fit.borders), 'layer')}, from {fit.borders[0].node!r}, whose every input's "
            f"r_min already covers the {size} input: predicted unproductive (rfa-toolbox's border layers)."
        )
    for out in fit.outputs:
        if out.sees_whole_input:
            lines.append(f"output {out.node!r}: every feature sees the whole {size} input.")
            continue
        parts = [
            f"{names[i]} no local field" if whole is None else f"{names[i]} {whole} of {n}"
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
    return _endpoint(analysis, node, set(analysis.outputs))


def _endpoint(analysis: Analysis, node: str, outputs: set[str]) -> bool:
    layer = analysis.network.layers.get(node)
    return "/" not in node or (layer is not None and layer.spec.merge is not None) or node in outputs


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
    outputs = set(analysis.outputs)
    return [
        v
        for v in analysis.nodes
        if (not only or any(fnmatch.fnmatchcase(v, p) for p in only))
        and (not endpoints or _endpoint(analysis, v, outputs))
    ]


def summary(analysis: Analysis) -> str:
    """The first line of a report: counts, the source and size, and the verdict.

    >>> from rfgraph import analyze, loads
    >>> print(summary(analyze(loads("layers: [{name: c, op: conv, kernel: 3}]"), 8)))
    network: 2 nodes, 0 merges, fields relative to input at 8x8: aligned
    """
    return f"{analysis.network.name}: {counts(analysis)}"


def counts(analysis: Analysis) -> str:
    """The summary without the network's name: nodes, merges, the source and size, the verdict."""
    size = "" if analysis.input_size is None else f" at {shape(analysis.input_size)}"
    merges = len({m.node for m in analysis.misalignments})
    state = (
        "aligned"
        if analysis.aligned
        else f"{plural(len(analysis.misalignments), 'misalignment')} at {plural(merges, 'merge')}"
    )
    unchecked = analysis.unchecked
    if unchecked:
        state += f" ({plural(len(unchecked), 'merge')} not checked)"
    nodes = f"{plural(len(analysis.nodes), 'node')}, {plural(len(analysis.merges), 'merge')}"
    return f"{nodes}, fields relative to {analysis.source}{size}: {state}"


def table(analysis: Analysis, nodes: Sequence[str] | None = None, erfs: ERFs = None) -> str:
    """A terminal table, one row per node (or per node of ``nodes``); axes collapse when they agree.

    The note column marks misaligned and unchecked merges, P values that assume
    sizes, global nodes and, when the input size is known, border layers
    (:func:`rfgraph.fit.check_input_size`); the footer explains them and says
    what the outputs see. With ``erfs`` (:func:`rfgraph.effective.erfs`), ERF columns too.
    """
    rows = [_header(erfs), *_rows(analysis, nodes, erfs)]
    lines = [summary(analysis), "", *_grid(rows)]
    footer = _footer(analysis, nodes, erfs)
    return "\n".join(lines + (["", *footer] if footer else [])) + "\n"


def markdown(analysis: Analysis, nodes: Sequence[str] | None = None, erfs: ERFs = None) -> str:
    """A Markdown table, one row per node (or per node of ``nodes``); ERF columns with ``erfs``."""
    header = _header(erfs)
    lines = [f"**{summary(analysis)}**", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    rows = _rows(analysis, nodes, erfs)
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    footer = _footer(analysis, nodes, erfs)
    return "\n".join(lines + ([""] + [f"- {f}" for f in footer] if footer else [])) + "\n"


def to_json(analysis: Analysis, nodes: Sequence[str] | None = None, erfs: ERFs = None) -> str:
    """The JSON of :meth:`Analysis.to_dict` (only ``nodes``, if given), byte-identical across runs.

    With ``erfs``, each node gains ``"erf"``: :meth:`rfgraph.effective.ERF.to_dict`.
    """
    doc = analysis.to_dict()
    if nodes is not None:
        doc["nodes"] = {v: doc["nodes"][v] for v in nodes}
    if erfs is not None:
        for v, entry in doc["nodes"].items():
            entry["erf"] = erfs[v].to_dict()
    import json  # each renderer imports what it needs: `rfgraph check` starts faster

    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def to_csv(analysis: Analysis, nodes: Sequence[str] | None = None, erfs: ERFs = None) -> str:
    """CSV with one row per node (or per node of ``nodes``) and axis; ERF columns with ``erfs``
    (``erf_equal_concats``: the concats whose inputs counted equally, ``;``-separated)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header = ["node", "op", "axis", "r", "S", "P", "r_min", "size", "aligned", "global"]
    erf_header = ["erf_std", "erf_width", "erf_ratio", "erf_equal_concats"]
    writer.writerow(header + (erf_header if erfs is not None else []))
    names = analysis.network.axis_names
    for name in analysis.nodes if nodes is None else nodes:
        rf = analysis[name]
        aligned = "" if rf.aligned is None else rf.aligned
        for i, a in enumerate(rf.axes):
            size = "" if a.size is None else a.size
            r, S, P, r_min = ("" if v is None else number(v) for v in (a.r, a.S, a.P, a.r_min))
            row = [name, _op(analysis, name), names[i], r, S, P, r_min, size, aligned, a.is_global]
            if erfs is not None:
                found = erfs[name]
                axis, ratio = found.axes[i], found.ratio(i)
                row += ["", ""] if axis is None else [f"{axis.std:.6g}", axis.width]
                row += ["" if ratio is None else f"{ratio:.6g}", ";".join(found.equal_concats)]
            writer.writerow(row)
    return out.getvalue()


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _span(first: int | None, last: int | None) -> str:
    return "-" if first is None or last is None else f"{first}..{last}"


def _tuple(values: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, values)) + ")"


_STARRED = "*: assumes input sizes divisible by 'same' layers' strides; give --input-size for exact values."


def box_table(box: InputBox) -> str:
    """The input box of one feature (:func:`rfgraph.locate.locate`) as a small table.

    With an input size, "in image" is the bounding box of the input pixels the
    feature really reads (padding is not read).

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
    sized = box.input_size is not None
    star = "*" if box.size_dependent else ""
    size = f" of the {shape(box.input_size)} input" if sized else ""
    spans = ", ".join(f"{a.axis} {_span(a.first, a.last)}{star if a.is_defined else ''}" for a in box.axes)
    header = ["axis", "first", "last", "centre"] + (["in image"] if sized else []) + ["padding before"]
    header += ["padding after"] if sized else []
    rows = [header]
    for a in box.axes:
        mark = star if a.is_defined else ""
        row = [a.axis, number(a.first) + mark, number(a.last) + mark, number(a.centre) + mark]
        if sized:
            row.append("none" if a.is_defined and a.clipped is None else _span(*(a.clipped or (None, None))))
        row.append(number(a.padding_before) + (mark if a.padding_before is not None else ""))
        if sized:
            row.append(number(a.padding_after))
        rows.append(row)
    notes = [f"{a.axis}: {a.note}" for a in box.axes if a.note]
    notes += [_STARRED] if star and any(a.is_defined for a in box.axes) else []
    if box.is_global and any(a.is_defined for a in box.axes):
        notes.append(
            f"{box.node!r} is global: through a global op it reads the whole input too; this is its local box"
        )
    lines = [f"feature {_tuple(box.feature)} of {box.node!r} reads input {spans}{size}", "", *_grid(rows)]
    return "\n".join(lines + (["", *notes] if notes else [])) + "\n"


def range_table(found: FeatureRange) -> str:
    """The features that see one input pixel (:func:`rfgraph.locate.locate_pixel`) as a small table.

    >>> from rfgraph import analyze, loads
    >>> from rfgraph.locate import locate_pixel
    >>> a = analyze(loads("layers: [{name: c, op: conv, kernel: 3, stride: 2, padding: 1}]"), 4)
    >>> print(range_table(locate_pixel(a, "c", [1, 2])), end="")
    input pixel (1, 2) is in the field of 2 features of 'c': h 0..1, w 1..1
    <BLANKLINE>
    axis  first  last  count
    h     0      1     2
    w     1      1     1
    """
    star = "*" if found.size_dependent else ""
    spans = ", ".join(f"{a.axis} {_span(a.first, a.last)}" for a in found.axes)
    rows = [["axis", "first", "last", "count"]]
    rows += [[a.axis, number(a.first) + star, number(a.last) + star, str(a.count)] for a in found.axes]
    notes = [f"{a.axis}: {a.note}" for a in found.axes if a.note]
    notes += [_STARRED] if star else []
    seen = plural(found.count, "feature")
    head = f"input pixel {_tuple(found.pixel)} is in the field of {seen} of {found.node!r}"
    return "\n".join([f"{head}: {spans}", "", *_grid(rows)] + (["", *notes] if notes else [])) + "\n"


def erf_table(found: ERF) -> str:
    """The ERF of one feature (:func:`rfgraph.erf`) as a small table, with what is missing and why.

    >>> from rfgraph import analyze, erf, loads
    >>> net = loads("dims: 1\\nlayers: [{name: c, op: conv, kernel: 3}, {name: d, op: pool, kernel: 3}]")
    >>> a = analyze(net, 8)
    >>> print(erf_table(erf(a, "d")), end="")
    effective receptive field of feature (1) of 'd' at 8
    <BLANKLINE>
    axis  first  last  mean  std   95% interval  95% width  r  95%/r
    x     1      5     3     1.15  1..5          5          5  1
    <BLANKLINE>
    every kernel averages its window (weights 1/k), activations are the identity, the inputs of a merge
    count equally (a concat's by channels), global inputs are left out, weight in padding is lost.
    """
    analysis = found.analysis
    names = analysis.network.axis_names
    size = analysis.input_size
    where = "" if size is None else f" at {shape(size)}"
    rows = [["axis", "first", "last", "mean", "std", "95% interval", "95% width", "r", "95%/r"]]
    for i, a in enumerate(found.axes):
        r = analysis[found.node].axes[i].r
        if a is None:
            rows.append([names[i], *["-"] * 6, number(r), "-"])
            continue
        rows.append(
            [
                names[i],
                str(a.first),
                str(a.last),
                _decimal(a.mean, 2),
                _decimal(a.std, 2),
                f"{a.interval[0]}..{a.interval[1]}",
                str(a.width),
                number(r),
                _decimal(found.ratio(i), 3),
            ]
        )
    head = f"effective receptive field of feature {_tuple(found.feature)} of {found.node!r}{where}"
    notes = [f"{names[i]}: {note}" for i, note in enumerate(found.notes) if note]
    if found.equal_concats:
        concats = plural(len(found.equal_concats), "concat")
        notes.append(
            f"the inputs of {concats} counted equally, for lack of channel counts (the channels key): "
            + ", ".join(found.equal_concats)
        )
    notes += [
        "every kernel averages its window (weights 1/k), activations are the identity, the inputs of a merge",
        "count equally (a concat's by channels), global inputs are left out, weight in padding is lost.",
    ]
    return "\n".join([head, "", *_grid(rows), "", *notes]) + "\n"


#: Renderers by format name; each shows every node, or only those given, with ERF columns if given.
RENDERERS: dict[str, Callable[[Analysis, Sequence[str] | None, ERFs], str]] = {
    "table": table,
    "json": to_json,
    "csv": to_csv,
    "markdown": markdown,
}
#: The format an output file's extension implies.
EXTENSIONS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".txt": "table"}

__all__ = [
    "EXTENSIONS",
    "RENDERERS",
    "box_table",
    "describe",
    "erf_cells",
    "erf_table",
    "is_endpoint",
    "markdown",
    "number",
    "plural",
    "range_table",
    "select",
    "shape",
    "summary",
    "table",
    "to_csv",
    "to_json",
]
