"""Analysis -> the graph as an SVG picture (pure Python; the layout is :mod:`rfgraph.layout`).

A leaf: nothing in the core imports it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

from .analysis import Analysis
from .fields import Number
from .layout import MARGIN, Vertex, layered
from .report import counts, describe, number

_FONT = 11  # px, monospace, so a label's width is its length times _CHAR
_CHAR = 6.9
_LINE = 14
_BOX_H = 3 * _LINE + 8
_GAP_Y = 36
_MARGIN = MARGIN
_MAX_NAME = 48  # longer names are shortened in the box; the tooltip has them whole

_RED, _GREEN, _BLUE, _GREY = "#c62828", "#2e7d32", "#3f6aa8", "#8a8a8a"
_STYLE = f"""
text {{ font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: {_FONT}px; fill: #222; }}
text.name {{ font-weight: bold; }}
text.title {{ font-size: {_FONT + 3}px; font-weight: bold; }}
rect {{ fill: #fff; stroke: {_GREY}; stroke-width: 1; }}
g.input rect {{ fill: #e6edf7; stroke: {_BLUE}; }}
g.aligned rect {{ fill: #e3f3e3; stroke: {_GREEN}; stroke-width: 1.5; }}
g.misaligned rect {{ fill: #fbe0de; stroke: {_RED}; stroke-width: 2.5; }}
g.unchecked rect {{ fill: #f4f4f4; stroke: {_GREY}; stroke-width: 1.5; stroke-dasharray: 2 2; }}
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
    shown = [number(v) for v in values]
    return shown[0] if len(set(shown)) == 1 else "[" + ",".join(shown) + "]"


def _short(name: str) -> str:
    if len(name) <= _MAX_NAME:
        return name
    half = (_MAX_NAME - 1) // 2
    return name[:half] + "…" + name[-half:]


def _labels(analysis: Analysis, node: str) -> list[str]:
    rf = analysis[node]
    layer = analysis.network.layers.get(node)
    what = "input" if layer is None else layer.op
    if rf.size is not None:
        what += "  " + "x".join(map(str, rf.size))
    if rf.aligned is False:
        what += "  MISALIGNED " + ",".join(m.axis_name for m in analysis.misalignments if m.node == node)
    return [_short(node), what, f"r {_axes(rf.r)}  S {_axes(rf.S)}  P {_axes(rf.P)}"]


def _legend(analysis: Analysis, top: float) -> tuple[list[str], float, float]:
    """The legend's SVG elements, its width and where it ends."""
    title = analysis.network.name
    summary = counts(analysis)
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
        *([("merge unchecked", "merge not checked")] if analysis.unchecked else []),
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


def to_svg(analysis: Analysis, nodes: Sequence[str] | None = None) -> str:
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
    nodes
        Draw only these (:func:`rfgraph.report.select`); an edge joins two of
        them where data flows between them through hidden nodes only.

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
    shown = list(analysis.nodes) if nodes is None else list(nodes)
    labels = {v: _labels(analysis, v) for v in shown}
    widths = {v: 12 + _CHAR * max(len(line) for line in lines) for v, lines in labels.items()}
    verts, layers, chains = layered(_in_order(analysis, shown), _edges(analysis, shown), widths)
    legend, legend_w, top = _legend(analysis, _MARGIN)
    top += 12

    def y(layer: int) -> float:
        return top + layer * (_BOX_H + _GAP_Y)

    bad_edges = {(u, m.node) for m in analysis.misalignments for u, _ in m.inputs}
    bad_inputs = {u for u, _ in bad_edges}
    slots = _ports(verts, chains)
    body = []
    for (u, w), chain in chains.items():
        ax, bx = slots[u, w]
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
        if (u, w) in bad_edges:
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
        elif layers_of[v].spec.merge is not None:
            aligned = analysis[v].aligned
            cls += ["merge", {True: "aligned", False: "misaligned", None: "unchecked"}[aligned]]
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
            f'<g class="{" ".join(cls)}" data-node="{_xml(v)}"><title>{_xml(tip)}</title>'
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


def _in_order(analysis: Analysis, shown: list[str]) -> list[str]:
    keep = set(shown)
    return [v for v in analysis.network.order if v in keep]


def _edges(analysis: Analysis, shown: list[str]) -> list[tuple[str, str]]:
    """(u, v) for shown nodes where u feeds v directly or through hidden nodes only, in network order."""
    keep = set(shown)
    layers = analysis.network.layers
    reaches: dict[str, dict[str, None]] = {}  # hidden node -> the nearest shown nodes above it
    edges = []
    for v in analysis.network.order:
        if v not in analysis.nodes or v == analysis.source or v not in layers:
            continue
        above: dict[str, None] = {}
        for u in layers[v].inputs:
            if u in keep:
                above[u] = None
            elif u in reaches:
                above.update(reaches[u])
        if v in keep:
            edges += [(u, v) for u in above]
        else:
            reaches[v] = above
    rank = {v: i for i, v in enumerate(analysis.nodes)}
    return sorted(edges, key=lambda e: (rank[e[1]], rank[e[0]]))


def _marker(name: str, colour: str) -> str:
    return (
        f'<marker id="{name}" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" '
        f'markerUnits="userSpaceOnUse" orient="auto">'
        f'<path d="M0 0L8 4L0 8z" style="fill:{colour};stroke:none"/></marker>'
    )


def _ports(verts: list[Vertex], chains: dict[tuple[str, str], list[int]]) -> dict[tuple[str, str], tuple]:
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
