"""Analysis -> pictures: the graph as SVG (pure Python) and r, S against depth (matplotlib).

A leaf: nothing in the core imports it, and matplotlib is imported only inside
:func:`plot_depth`, so :func:`to_svg` needs nothing beyond the core's
dependencies.

The SVG layout is a plain layered (Sugiyama-style) drawing: longest-path layers
from the source down, a dummy point per layer that a long edge crosses (so
residual shortcuts run beside the boxes, not through them), barycentre sweeps
to reduce crossings, and x positions that sit each node under its neighbours
as far as the boxes' widths allow.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import cycle, pairwise
from typing import Any

import networkx as nx

from .analysis import Analysis, Number, exact
from .errors import RFGraphError
from .report import describe

_FONT = 11  # px, monospace, so a label's width is its length times _CHAR
_CHAR = 6.9
_LINE = 14
_BOX_H = 3 * _LINE + 8
_GAP_X = 16  # between neighbouring boxes
_DUMMY_W = 10  # the slot a long edge takes in a layer it crosses
_GAP_Y = 36
_MARGIN = 16
_MAX_NAME = 48  # longer names are shortened in the box; the tooltip has them whole
_SWEEPS = 8

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_DASHES = ["-", "--", "-.", ":"]
_RED, _GREEN, _BLUE, _GREY = "#c62828", "#2e7d32", "#3f6aa8", "#8a8a8a"
_STYLE = f"""
text {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: {_FONT}px; fill: #222; }}
text.name {{ font-weight: bold; }}
text.title {{ font-size: {_FONT + 3}px; font-weight: bold; }}
rect {{ fill: #fff; stroke: {_GREY}; stroke-width: 1; }}
g.input rect {{ fill: #e6edf7; stroke: {_BLUE}; }}
g.aligned rect {{ fill: #e3f3e3; stroke: {_GREEN}; stroke-width: 1.5; }}
g.misaligned rect {{ fill: #fbe0de; stroke: {_RED}; stroke-width: 2.5; }}
g.misaligned-input rect {{ stroke: {_RED}; stroke-width: 1.5; stroke-dasharray: 4 2; }}
path {{ fill: none; stroke: #9a9a9a; stroke-width: 1.2; }}
path.misaligned {{ stroke: {_RED}; stroke-width: 2.5; }}
"""
# XML 1.0 cannot hold these characters at all, not even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    text = _NOT_XML.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _axes(values: Sequence[Number | None]) -> str:
    shown = ["-" if v is None else str(exact(v)) for v in values]
    return shown[0] if len(set(shown)) == 1 else "[" + ",".join(shown) + "]"


def _short(name: str) -> str:
    if len(name) <= _MAX_NAME:
        return name
    half = (_MAX_NAME - 1) // 2
    return name[:half] + "…" + name[-half:]


@dataclass(slots=True)
class _Vertex:
    """A box (``node`` is its name) or a dummy point of a long edge (``node`` is None)."""

    node: str | None
    layer: int
    width: float
    ups: list[int]
    downs: list[int]
    x: float = 0.0


def _layout(analysis: Analysis, widths: dict[str, float]) -> tuple[list[_Vertex], list[list[int]], dict]:
    """Vertices with x positions, the layers' vertex orders, and each edge's chain of vertices."""
    graph = analysis.network.graph.subgraph(analysis.nodes)
    verts: list[_Vertex] = []
    for depth, generation in enumerate(nx.topological_generations(graph)):
        verts += [_Vertex(v, depth, widths[v], [], []) for v in generation]
    ids = {vert.node: i for i, vert in enumerate(verts)}
    chains: dict[tuple[str, str], list[int]] = {}
    for v in analysis.nodes:  # network order, so the drawing does not depend on the set order of networkx
        for u in analysis.network.graph.predecessors(v):
            if u not in ids:
                continue
            chain = [ids[u]]
            for depth in range(verts[ids[u]].layer + 1, verts[ids[v]].layer):
                verts.append(_Vertex(None, depth, _DUMMY_W, [], []))
                chain.append(len(verts) - 1)
            chain.append(ids[v])
            for a, b in pairwise(chain):
                verts[a].downs.append(b)
                verts[b].ups.append(a)
            chains[u, v] = chain
    layers: list[list[int]] = [[] for _ in range(1 + max(vert.layer for vert in verts))]
    for i, vert in enumerate(verts):
        layers[vert.layer].append(i)
    _order(verts, layers)
    _place(verts, layers)
    return verts, layers, chains


def _order(verts: list[_Vertex], layers: list[list[int]]) -> None:
    """Barycentre sweeps down and up; keep the order with the fewest crossings."""
    best, fewest = [list(layer) for layer in layers], _crossings(verts, layers)
    for sweep in range(_SWEEPS):
        down = sweep % 2 == 0
        rng = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for k in rng:
            fixed = layers[k - 1] if down else layers[k + 1]
            pos = {v: i for i, v in enumerate(fixed)}
            here = {v: i for i, v in enumerate(layers[k])}
            layers[k].sort(key=partial(_barycentre, verts, down=down, pos=pos, here=here))
        count = _crossings(verts, layers)
        if count < fewest:
            best, fewest = [list(layer) for layer in layers], count
    layers[:] = best


def _barycentre(verts: list[_Vertex], v: int, down: bool, pos: dict[int, int], here: dict[int, int]) -> float:
    """Mean position of ``v``'s neighbours in the fixed layer; without any, ``v`` keeps its relative place."""
    nbrs = verts[v].ups if down else verts[v].downs
    if nbrs:
        return sum(pos[w] for w in nbrs) / len(nbrs)
    return here[v] * len(pos) / len(here)


def _crossings(verts: list[_Vertex], layers: list[list[int]]) -> int:
    total = 0
    for upper, lower in pairwise(layers):
        pos = {v: i for i, v in enumerate(lower)}
        ends = sorted((i, pos[w]) for i, v in enumerate(upper) for w in verts[v].downs)
        seen: list[int] = []
        for _, p in ends:  # count earlier edges ending to the right of this one
            total += sum(1 for q in seen if q > p)
            seen.append(p)
    return total


def _place(verts: list[_Vertex], layers: list[list[int]]) -> None:
    """x of every vertex: under (or over) its neighbours' mean, boxes never overlapping."""
    for layer in layers:
        x = 0.0
        for v in layer:
            verts[v].x = x + verts[v].width / 2
            x += verts[v].width + _GAP_X
    for sweep in range(4):
        down = sweep % 2 == 0
        for layer in layers[1:] if down else layers[-2::-1]:
            wanted = []
            for v in layer:
                nbrs = verts[v].ups if down else verts[v].downs
                wanted.append(sum(verts[w].x for w in nbrs) / len(nbrs) if nbrs else verts[v].x)
            _spread(verts, layer, wanted)
    left = min(verts[v].x - verts[v].width / 2 for layer in layers for v in layer)
    for vert in verts:
        vert.x += _MARGIN - left


def _spread(verts: list[_Vertex], layer: list[int], wanted: list[float]) -> None:
    """Closest positions to ``wanted`` (least squares) keeping order and gaps: isotonic regression."""
    offsets, at = [], 0.0
    for i, v in enumerate(layer):
        if i:
            at += (verts[layer[i - 1]].width + verts[v].width) / 2 + _GAP_X
        offsets.append(at)
    blocks: list[list[float]] = []  # [mean, count] of pooled values, means increasing
    for want, off in zip(wanted, offsets, strict=True):
        blocks.append([want - off, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, n2 = blocks.pop()
            m1, n1 = blocks[-1]
            blocks[-1] = [(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2]
    i = 0
    for mean, count in blocks:
        for _ in range(int(count)):
            verts[layer[i]].x = mean + offsets[i]
            i += 1


def _labels(analysis: Analysis, node: str) -> list[str]:
    rf = analysis[node]
    layer = analysis.network.layers.get(node)
    what = "input" if layer is None else layer.op
    if rf.size is not None:
        what += "  " + "x".join(map(str, rf.size))
    if not rf.aligned:
        names = analysis.network.axis_names
        what += "  MISALIGNED " + ",".join(names[m.axis] for m in analysis.misalignments if m.node == node)
    return [_short(node), what, f"r {_axes(rf.r)}  S {_axes(rf.S)}  P {_axes(rf.P)}"]


def _merges(analysis: Analysis) -> int:
    layers = analysis.network.layers
    return sum(1 for v in analysis.nodes if v in layers and layers[v].spec.kind == "merge")


def _legend(analysis: Analysis, top: float) -> tuple[list[str], float, float]:
    """The legend's SVG elements, its width and where it ends."""
    size = "" if analysis.input_size is None else " at " + "x".join(map(str, analysis.input_size))
    bad = len({m.node for m in analysis.misalignments})
    state = "every merge aligned" if analysis.aligned else f"{bad} misaligned merge(s)"
    title = analysis.network.name
    summary = (
        f"{len(analysis.nodes)} nodes, {_merges(analysis)} merges, fields relative to "
        f"{analysis.source}{size}: {state}"
    )
    axes = ",".join(analysis.network.axis_names)
    note = f"r S P: receptive field, effective stride, effective padding; [{axes}] when the axes differ"
    out = [
        f'<text class="title" x="{_MARGIN}" y="{top + 14}">{_xml(title)}</text>',
        f'<text x="{_MARGIN}" y="{top + 32}">{_xml(summary)}</text>',
    ]
    x, y = float(_MARGIN), top + 42
    for cls, label in [
        ("input", "input"),
        ("layer", "layer"),
        ("merge aligned", "aligned merge"),
        ("merge misaligned", "misaligned merge"),
        ("misaligned-input", "input of a misaligned merge"),
    ]:
        out.append(f'<g class="{cls}"><rect x="{x}" y="{y}" width="22" height="14" rx="3"/></g>')
        out.append(f'<text x="{x + 28}" y="{y + 11}">{label}</text>')
        x += 28 + len(label) * _CHAR + 18
    out.append(f'<path class="misaligned" d="M{x} {y + 7}h28"/>')
    out.append(f'<text x="{x + 34}" y="{y + 11}">its edge</text>')
    x += 34 + 8 * _CHAR
    out.append(f'<text x="{_MARGIN}" y="{y + 32}">{_xml(note)}</text>')
    lines = [(len(title), _CHAR * 1.3), (len(summary), _CHAR), (len(note), _CHAR)]
    return out, max(x, *(_MARGIN + n * w for n, w in lines)), y + 44


def to_svg(analysis: Analysis) -> str:
    """Draw the network as an SVG image: one box per node labelled with op and r, S, P.

    Nodes run from the source at the top to the outputs at the bottom. Merges are
    green when aligned and red when misaligned; the inputs of a misaligned merge
    get a dashed red outline and a red edge. Axes collapse to one number when
    they agree. Hovering a box shows its whole name and, for a misaligned merge,
    what differs. Needs no graphviz and no matplotlib.

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`; with ``relative_to``, only the
        nodes it reports are drawn.

    Returns
    -------
    str
        A standalone SVG document (UTF-8).

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> svg = to_svg(analyze(loads('''
    ... layers:
    ...   - {name: a, op: conv, kernel: 3, inputs: [input]}
    ...   - {name: b, op: conv, kernel: 2, inputs: [input]}
    ...   - {name: "a + b", op: add, inputs: [a, b]}
    ... ''')))
    >>> svg.startswith("<?xml") and 'class="node merge misaligned"' in svg
    True
    """
    labels = {v: _labels(analysis, v) for v in analysis.nodes}
    widths = {v: 12 + _CHAR * max(len(line) for line in lines) for v, lines in labels.items()}
    verts, layers, chains = _layout(analysis, widths)
    legend, legend_w, top = _legend(analysis, _MARGIN)
    top += 12

    def y(layer: int) -> float:
        return top + layer * (_BOX_H + _GAP_Y)

    bad_edges = {(u, m.node) for m in analysis.misalignments for u, _ in m.inputs}
    bad_inputs = {u for u, _ in bad_edges}
    slots = _ports(verts, chains)
    body = []
    for (u, v), chain in chains.items():
        ax, bx = slots[u, v]
        points = [(ax, y(verts[chain[0]].layer) + _BOX_H)]
        for d in chain[1:-1]:
            points += [(verts[d].x, y(verts[d].layer)), (verts[d].x, y(verts[d].layer) + _BOX_H)]
        points.append((bx, y(verts[chain[-1]].layer) - 1))
        d_attr = f"M{points[0][0]:.1f} {points[0][1]:.1f}"
        for i, ((x0, y0), (x1, y1)) in enumerate(pairwise(points)):
            if i % 2:  # straight down through a layer the edge crosses
                d_attr += f"V{y1:.1f}"
            else:
                mid = (y0 + y1) / 2
                d_attr += f"C{x0:.1f} {mid:.1f} {x1:.1f} {mid:.1f} {x1:.1f} {y1:.1f}"
        if (u, v) in bad_edges:
            body.append(f'<path class="misaligned" d="{d_attr}" marker-end="url(#arrow-red)"/>')
        else:
            body.append(f'<path d="{d_attr}" marker-end="url(#arrow)"/>')
    bad_by_node: dict[str, list[str]] = {}
    for m in analysis.misalignments:
        bad_by_node.setdefault(m.node, []).append(describe(analysis, m))
    layers_of = analysis.network.layers
    for vert in verts:
        v = vert.node
        if v is None:
            continue
        cls = ["node"]
        if v not in layers_of:
            cls.append("input")
        elif layers_of[v].spec.kind == "merge":
            cls += ["merge", "aligned" if analysis[v].aligned else "misaligned"]
        if v in bad_inputs:
            cls.append("misaligned-input")
        x0, y0 = vert.x - vert.width / 2, y(vert.layer)
        tip = "\n".join([v, *bad_by_node.get(v, [])])
        texts = "".join(
            f'<text{" class=" + chr(34) + "name" + chr(34) if i == 0 else ""} x="{x0 + 6:.1f}" '
            f'y="{y0 + 4 + _LINE * (i + 1) - 3:.1f}">{_xml(line)}</text>'
            for i, line in enumerate(labels[v])
        )
        body.append(
            f'<g class="{" ".join(cls)}"><title>{_xml(tip)}</title>'
            f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{vert.width:.1f}" height="{_BOX_H}" rx="4"/>'
            f"{texts}</g>"
        )
    width = max(legend_w, max(vert.x + vert.width / 2 for vert in verts)) + 2 * _MARGIN
    height = y(len(layers) - 1) + _BOX_H + _MARGIN
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">\n'
        f"<title>{_xml(analysis.network.name)}</title>\n"
        f"<style>{_STYLE}</style>\n"
        f"<defs>{_marker('arrow', '#777')}{_marker('arrow-red', _RED)}</defs>\n"
        f'<rect width="100%" height="100%" style="fill:#fff;stroke:none"/>\n'
    )
    # boxes after edges, so an edge never hides a label
    return head + "\n".join(legend + body) + "\n</svg>\n"


def _marker(name: str, colour: str) -> str:
    return (
        f'<marker id="{name}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" '
        f'markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0 0L8 4L0 8z" style="fill:{colour};stroke:none"/></marker>'
    )


def _ports(verts: list[_Vertex], chains: dict[tuple[str, str], list[int]]) -> dict[tuple[str, str], tuple]:
    """Where each edge leaves and enters its boxes: spread along the edges, in the order of the far ends."""
    leaving: dict[int, list[tuple[float, tuple[str, str]]]] = {}
    entering: dict[int, list[tuple[float, tuple[str, str]]]] = {}
    for edge, chain in chains.items():
        leaving.setdefault(chain[0], []).append((verts[chain[1]].x, edge))
        entering.setdefault(chain[-1], []).append((verts[chain[-2]].x, edge))
    ends: dict[tuple[str, str], list[float]] = {edge: [0.0, 0.0] for edge in chains}
    for side, groups in enumerate([leaving, entering]):
        for v, edges in groups.items():
            edges.sort()
            step = min(14.0, verts[v].width / (len(edges) + 1))
            for i, (_, edge) in enumerate(edges):
                ends[edge][side] = verts[v].x + (i - (len(edges) - 1) / 2) * step
    return {edge: (a, b) for edge, (a, b) in ends.items()}


def _float(value: Number | None) -> float:
    return float("nan") if value is None else float(value)


def plot_depth(analyses: Sequence[Analysis], format: str = "png") -> bytes:
    """Plot r and S (log scale) against depth along each network's longest path.

    Depth counts the nodes on the longest path from the source to an output
    (every node counts: pads and identities too). One line per network and,
    where a network's axes differ, per axis (dashed for the second). Misaligned
    merges on the path are marked by a dotted vertical line of the network's colour.

    Parameters
    ----------
    analyses
        One :class:`~rfgraph.Analysis` per network to compare.
    format
        Any format matplotlib writes: "png", "svg", "pdf"...

    Returns
    -------
    bytes
        The image.

    Raises
    ------
    RFGraphError
        matplotlib is not installed (it is the optional extra ``rfgraph[draw]``),
        or cannot write ``format``.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        msg = 'plotting needs matplotlib: pip install "rfgraph[draw]"'
        raise RFGraphError(msg) from None

    # a Figure on its own Agg canvas, not pyplot: no global backend switch, nothing left open
    fig = Figure(figsize=(8, 6), dpi=100)
    canvas = FigureCanvasAgg(fig)
    if format not in canvas.get_supported_filetypes():
        known = ", ".join(sorted(canvas.get_supported_filetypes()))
        msg = f"cannot plot to format {format!r} (expected one of: {known})"
        raise RFGraphError(msg)
    ax_r, ax_s = fig.subplots(2, 1, sharex=True)
    for analysis, colour in zip(analyses, cycle(_COLOURS)):
        _plot_one(analysis, ax_r, ax_s, colour)
    for ax, what in [(ax_r, "receptive field r"), (ax_s, "effective stride S")]:
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        ax.set_ylabel(what + " (log)")
        ax.grid(True, which="major", alpha=0.3)
    ax_s.set_xlabel("depth: nodes along the longest path from the input")
    ax_r.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=format)
    return out.getvalue()


def _plot_one(analysis: Analysis, ax_r: Any, ax_s: Any, colour: str) -> None:
    path = nx.dag_longest_path(analysis.network.graph.subgraph(analysis.nodes))
    fields = [analysis[v] for v in path]
    net = analysis.network
    same = all(len(set(rf.r)) == len(set(rf.S)) == 1 for rf in fields)
    name = net.name.replace("$", r"\$")  # no mathtext in names
    for axis in [0] if same else range(net.dims):
        label = name if same else f"{name} ({net.axis_names[axis]})"
        style = _DASHES[axis % len(_DASHES)]
        ax_r.plot([_float(rf.axes[axis].r) for rf in fields], color=colour, linestyle=style, label=label)
        ax_s.plot([_float(rf.axes[axis].S) for rf in fields], color=colour, linestyle=style)
    bad = [depth for depth, rf in enumerate(fields) if not rf.aligned]
    for depth in bad:
        for ax in (ax_r, ax_s):
            ax.axvline(depth, color=colour, linestyle=":", linewidth=1.2)
    if bad:
        ax_r.plot([], [], color=colour, linestyle=":", label=f"{name}: misaligned merge")
