"""Analysis -> one self-contained HTML report: the graph, every node's numbers, and per feature its
box and effective receptive field over an input image (a leaf: nothing in the core imports it).

The page needs no network: its style, script, data and image are inline. What it embeds, per node:

- r, S, P, r_min, size, flags and the ERF summary of the centre feature (computed here);
- for the nodes one can click, the exact :class:`~rfgraph.fields.Field` (period, step, a box per
  phase) and the clipped boxes of every feature (:func:`rfgraph.boxes.every_clipped_box`): per axis
  two integers per index when every feature's box is the product of those (the common case), else
  two per feature and axis; a click reads :func:`rfgraph.locate.locate`'s box off them, exactly;
- for every layer, the taps it uses along each axis at the analysed sizes, and for every merge its
  inputs, their channel counts and the axes on which they are global: the browser walks them from
  the clicked feature down to the input, as :mod:`rfgraph.effective` does, and gets that feature's
  ERF (the exact map, and the per-axis weights) for any feature, not only the centre one. That costs
  about the sum of the ancestors' map areas per click, and the page stays small (a few bytes per
  layer), where embedding every feature's ERF would not.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Sequence
from functools import reduce
from importlib import resources
from typing import Any

from .analysis import Analysis
from .boxes import Boxes, every_clipped_box
from .draw import to_svg
from .effective import ERF, MASS, channel_counts, erfs, layer_taps
from .errors import RFGraphError
from .fields import Field
from .fit import check_input_size
from .ops import Taps, Why
from .plot import longest_path
from .report import describe, number, summary

#: The input size a report uses when neither the file nor the command gives one.
DEFAULT_SIZE = 224

#: Image types the page can show, by their first bytes.
_IMAGE_TYPES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


def image_uri(data: bytes) -> str:
    """A data URI for a PNG, JPEG or GIF file (the browser decodes it; nothing here does).

    >>> image_uri(b"GIF89a...")[:24]
    'data:image/gif;base64,R0'

    Raises
    ------
    RFGraphError
        The bytes are not one of those formats.
    """
    for magic, kind in _IMAGE_TYPES.items():
        if data.startswith(magic):
            return f"data:{kind};base64," + base64.b64encode(data).decode("ascii")
    msg = "the image must be a PNG, JPEG or GIF file"
    raise RFGraphError(msg)


def to_html(
    analysis: Analysis,
    nodes: Sequence[str] | None = None,
    *,
    image: str | None = None,
    sizes: str | None = None,
) -> str:
    """The report as one HTML document.

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze`, with an input size (the page draws feature maps).
    nodes
        The nodes to draw, list and make clickable (:func:`rfgraph.report.select`); default all.
    image
        A data URI (:func:`image_uri`) to show under the boxes, scaled to the input size;
        default a checkerboard.
    sizes
        The answer of ``rfgraph sizes`` (which input sizes keep every merge aligned), shown as
        text; None says it is not available.

    Returns
    -------
    str
        The page, with no reference to anything outside it.

    Raises
    ------
    RFGraphError
        No input size, or a network that is not 2-D.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> page = to_html(analyze(loads("layers: [{name: c, op: conv, kernel: 3, stride: 2}]"), 16))
    >>> page.startswith("<!DOCTYPE html>") and 'data-node="c"' in page and "https://" not in page
    True
    """
    net = analysis.network
    if analysis.input_size is None:
        msg = "the report needs an input size: give --input-size"
        raise net.error(msg)
    if net.dims != 2:
        msg = f"the report draws 2-D networks; this one has {net.dims} axes"
        raise net.error(msg)
    shown = list(analysis.nodes) if nodes is None else list(nodes)
    path = longest_path(analysis)
    found = erfs(analysis, dict.fromkeys([*shown, *path]))
    data = _data(analysis, shown, found, image)
    graph = to_svg(analysis, shown).split("?>", 1)[1]  # the XML declaration has no place in HTML
    page = _TEMPLATE.format(
        title=_escape(net.name),
        source=_escape(analysis.source),
        summary=_escape(summary(analysis)),
        graph=graph,
        table=_table(analysis, shown, found),
        misalignments=_misalignments(analysis),
        plots=depth_plots(analysis, path, found),
        sizes=_sizes(sizes),
        style=_asset("report.css"),
        script=_asset("report.js"),
        data=json.dumps(data, separators=(",", ":")).replace("</", "<\\/"),
    )
    return page


def _asset(name: str) -> str:
    return resources.files("rfgraph").joinpath("assets", name).read_text(encoding="utf-8")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _data(analysis: Analysis, shown: list[str], found: dict[str, ERF], image: str | None) -> dict[str, Any]:
    net = analysis.network
    dims = range(net.dims)
    keep = set(shown)
    boxes = every_clipped_box(analysis, shown)
    counts = channel_counts(net)
    fit = check_input_size(analysis)
    out = []
    for v in [u for u in net.order if u in analysis.nodes]:
        rf = analysis[v]
        layer = net.layers.get(v)
        entry: dict[str, Any] = {
            "name": v,
            "op": "input" if layer is None else layer.op,
            "size": list(rf.size or ()),
            "shown": v in keep,
        }
        if v == analysis.source or layer is None:
            entry["walk"] = {"source": True}
        elif layer.spec.merge is not None:
            entry["walk"] = {
                "concat": layer.spec.merge == "concat",
                "inputs": [
                    [u, counts.get(u), [analysis[u].axes[i].why is Why.GLOBAL for i in dims]]
                    for u in layer.inputs
                    if u in analysis.nodes
                ],
            }
        else:
            entry["walk"] = {
                "input": layer.inputs[0],
                "taps": [_taps(layer_taps(analysis, v, i)) for i in dims],
            }
        if v in keep:
            entry |= {
                "r": [number(x) for x in rf.r],
                "S": [number(x) for x in rf.S],
                "P": [number(x) for x in rf.P],
                "r_min": [number(x) for x in rf.r_min],
                "global": rf.is_global,
                "aligned": rf.aligned,
                "border": list(fit.border_axes(v)),
                "fields": [_field(a.field) for a in rf.axes],
                "why": [None if a.why is None else a.why.value for a in rf.axes],
                "clipped": _clipped(boxes.get(v), net.dims),
                "erf": found[v].to_dict(),
            }
        out.append(entry)
    return {
        "name": net.name,
        "axes": list(net.axis_names),
        "input_size": list(analysis[analysis.source].size or ()),  # the source's map: the "input" here
        "source": analysis.source,
        "outputs": list(analysis.outputs),
        "image": image,
        "mass": MASS,
        "nodes": out,
    }


def _taps(taps: Taps | None) -> dict[str, Any] | None:
    if taps is None:
        return None
    phases = []
    for phase, offsets in enumerate(taps.offsets):
        shown: Any = (
            {"start": offsets.start, "stop": offsets.stop, "step": offsets.step}
            if isinstance(offsets, range)
            else list(offsets)
        )
        weights = taps.weights[phase]
        phases.append(
            {
                "offsets": shown,
                "weights": float(weights) if not isinstance(weights, tuple) else [float(w) for w in weights],
            }
        )
    return {"period": taps.period, "step": taps.step, "phases": phases}


def _field(field: Field | None) -> dict[str, Any] | None:
    if field is None:
        return None
    return {
        "period": field.period,
        "step": field.step,
        "boxes": [None if b is None else list(b) for b in field.boxes],
    }


def _clipped(found: Boxes | None, dims: int) -> dict[str, Any] | None:
    """Per axis (first, last) lists when they give every feature's box (the common case; null on an
    axis the boxes are not on), else whole maps."""
    if found is None:
        return None
    import numpy as np

    lines = [(lo.ravel(), hi.ravel()) for lo, hi in zip(found.first, found.last, strict=True)]
    axes: list[tuple[Any, Any]] | None = lines if found.separable else _separable(found)
    if axes is None:
        return {"map": [np.stack(found.first).ravel().tolist(), np.stack(found.last).ravel().tolist()]}
    per_axis: list[list[Any] | None] = [None] * dims
    for i, (first, last) in zip(found.axes, axes, strict=True):
        per_axis[i] = [first.tolist(), last.tolist()]
    return {"axes": per_axis}


def _separable(found: Boxes) -> list[tuple[Any, Any]] | None:
    """Per axis, the first and last pixel of each index's features, if every feature's box is the
    product of those (and it reads exactly where all of them are non-empty)."""
    import numpy as np

    dims = len(found.first)
    axes = []
    for i in range(dims):
        others = tuple(j for j in range(dims) if j != i)
        axes.append((found.first[i].min(axis=others), found.last[i].max(axis=others)))
    grid = np.ix_(*(np.arange(len(first)) for first, _ in axes))
    reads = reduce(
        np.logical_and, [(first <= last)[at] for (first, last), at in zip(axes, grid, strict=True)]
    )
    if not np.array_equal(reads, found.reads):
        return None
    for i, ((first, last), at) in enumerate(zip(axes, grid, strict=True)):
        shape = found.first[i].shape
        if not (
            np.array_equal(np.broadcast_to(first[at], shape)[reads], found.first[i][reads])
            and np.array_equal(np.broadcast_to(last[at], shape)[reads], found.last[i][reads])
        ):
            return None
    return axes


def _table(analysis: Analysis, shown: list[str], found: dict[str, ERF]) -> str:
    def cell(values: Sequence[str]) -> str:
        return _escape(values[0] if len(set(values)) == 1 else "[" + ", ".join(values) + "]")

    rows = []
    for v in shown:
        rf, e = analysis[v], found[v]
        layer = analysis.network.layers.get(v)
        flags = []
        if rf.aligned is False:
            flags.append("misaligned")
        if rf.is_global:
            flags.append("global")
        std = [f"{a.std:.1f}" if a is not None else "-" for a in e.axes]
        width = [str(a.width) if a is not None else "-" for a in e.axes]
        ratio = [f"{x:.2f}" if (x := e.ratio(i)) is not None else "-" for i in range(len(e.axes))]
        cells = [
            f'<td class="name">{_escape(v)}</td>',
            f"<td>{_escape('input' if layer is None else layer.op)}</td>",
            *(f"<td>{cell([number(x) for x in values])}</td>" for values in (rf.r, rf.S, rf.P, rf.r_min)),
            f"<td>{'x'.join(map(str, rf.size or ())) or '-'}</td>",
            f"<td>{cell(std)}</td><td>{cell(width)}</td><td>{cell(ratio)}</td>",
            f"<td>{', '.join(flags)}</td>",
        ]
        rows.append(f'<tr data-node="{_escape(v)}">{"".join(cells)}</tr>')
    return "\n".join(rows)


def _misalignments(analysis: Analysis) -> str:
    if not analysis.misalignments:
        return "<p>Every merge is aligned.</p>"
    items = [
        f'<li data-node="{_escape(m.node)}">{_escape(describe(analysis, m))}</li>'
        for m in analysis.misalignments
    ]
    return "<ul>" + "".join(items) + "</ul>"


def _sizes(sizes: str | None) -> str:
    if sizes is None:
        return (
            '<p class="missing">Not available in this version: <code>rfgraph sizes</code> will say here '
            "which input sizes keep every merge aligned.</p>"
        )
    return f"<pre>{_escape(sizes)}</pre>"


# --- the plots against depth: inline SVG, no matplotlib --------------------------------------------

_PLOT_W, _PLOT_H, _LEFT, _RIGHT, _TOP, _BOTTOM = 680, 220, 56, 150, 16, 34
_COLOURS = {"r": "#3f6aa8", "erf": "#e07b00", "S": "#2e7d32"}


def depth_plots(analysis: Analysis, path: list[str], found: dict[str, ERF]) -> str:
    """r and the 95% ERF width, then S, against depth along ``path`` (log scale), as inline SVG.

    A point's tooltip names its node, a click on it selects the node; misaligned merges on the
    path are marked by a dotted red line. One line per axis where the axes differ (dashed: w).
    """
    names = analysis.network.axis_names
    rfs = [analysis[v] for v in path]
    axes = [0] if all(len(set(rf.r)) == 1 and len(set(rf.S)) == 1 for rf in rfs) else list(range(len(names)))
    series_r, series_s = [], []
    for i in axes:
        suffix = "" if len(axes) == 1 else f" ({names[i]})"
        dash = i > 0
        series_r.append(("r" + suffix, "r", dash, [_float(rf.axes[i].r) for rf in rfs]))
        widths = [found[v].axes[i] for v in path]
        series_r.append(
            ("95% ERF width" + suffix, "erf", dash, [None if a is None else a.width for a in widths])
        )
        series_s.append(("S" + suffix, "S", dash, [_float(rf.axes[i].S) for rf in rfs]))
    bad = [d for d, rf in enumerate(rfs) if rf.aligned is False]
    return _plot("receptive field r and 95% ERF width", path, series_r, bad) + _plot(
        "effective stride S", path, series_s, bad
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


#: One line of a plot: its label, its colour's name, whether dashed, a value per depth.
_Series = tuple[str, str, bool, list[float | None]]


def _plot(title: str, path: list[str], series: list[_Series], bad: list[int]) -> str:
    values = [y for *_, ys in series for y in ys if y is not None and y > 0]
    low = 2 ** math.floor(math.log2(min(values, default=1)))
    high = 2 ** math.ceil(math.log2(max(values, default=2)))
    high = max(high, low * 2)
    inner_w, inner_h = _PLOT_W - _LEFT - _RIGHT, _PLOT_H - _TOP - _BOTTOM
    last = max(len(path) - 1, 1)

    def x(depth: int) -> float:
        return _LEFT + inner_w * depth / last

    def y(value: float) -> float:
        return _TOP + inner_h * (1 - math.log2(value / low) / math.log2(high / low))

    out = [
        f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_PLOT_W} {_PLOT_H}" '
        f'width="{_PLOT_W}" height="{_PLOT_H}" role="img"><title>{_escape(title)} against depth</title>',
        f'<text class="plot-title" x="{_LEFT}" y="11">{_escape(title)} (log scale) against depth</text>',
        f'<rect class="frame" x="{_LEFT}" y="{_TOP}" width="{inner_w}" height="{inner_h}"/>',
    ]
    tick = low
    while tick <= high:
        ty = y(tick)
        out.append(f'<line class="grid" x1="{_LEFT}" x2="{_LEFT + inner_w}" y1="{ty:.1f}" y2="{ty:.1f}"/>')
        out.append(f'<text class="tick" x="{_LEFT - 4}" y="{ty + 4:.1f}" text-anchor="end">{tick:g}</text>')
        tick *= 2 if high / low <= 2**10 else 4
    for depth in range(0, len(path), max(1, len(path) // 8)):
        out.append(
            f'<text class="tick" x="{x(depth):.1f}" y="{_TOP + inner_h + 14:.0f}" text-anchor="middle">'
            f"{depth}</text>"
        )
    out.append(
        f'<text class="tick" x="{_LEFT + inner_w / 2}" y="{_PLOT_H - 4}" text-anchor="middle">'
        "depth: nodes along the longest path from the input</text>"
    )
    for depth in bad:
        out.append(
            f'<line class="misaligned" x1="{x(depth):.1f}" x2="{x(depth):.1f}" '
            f'y1="{_TOP}" y2="{_TOP + inner_h}"/>'
        )
    for k, (label, kind, dash, ys) in enumerate(series):
        colour = _COLOURS[kind]
        points = [(x(d), y(v)) for d, v in enumerate(ys) if v is not None and v > 0]
        style = f'stroke="{colour}"' + (' stroke-dasharray="5 3"' if dash else "")
        if points:
            line = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(f'<polyline class="series" {style} points="{line}"/>')
        for d, v in enumerate(ys):
            if v is None or v <= 0:
                continue
            shown = f"{v:g}"
            name = _escape(path[d])
            out.append(
                f'<circle class="point" data-node="{name}" cx="{x(d):.1f}" cy="{y(v):.1f}" r="2.5" '
                f'fill="{colour}"><title>{name}: {_escape(label)} {shown}</title></circle>'
            )
        ly = _TOP + 12 + 16 * k
        lx = _LEFT + inner_w + 10
        out.append(f'<line class="series" {style} x1="{lx}" x2="{lx + 18}" y1="{ly - 4}" y2="{ly - 4}"/>')
        out.append(f'<text class="legend" x="{lx + 22}" y="{ly}">{_escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: receptive fields</title>
<style>
{style}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p id="summary">{summary}</p>
<p class="help">Click a node in the graph (or a row of the table), then a feature of its map: the page
draws the input box that feature reads and its effective receptive field over the input. Scroll to zoom
the graph, drag to move it.</p>
</header>
<main>
<section id="graph-pane">
<div class="tools"><button type="button" id="zoom-in">+</button><button type="button"
id="zoom-out">&minus;</button><button type="button" id="zoom-fit">fit</button></div>
<div id="graph">{graph}</div>
</section>
<aside id="panel">
<h2 id="node-title">No node selected</h2>
<table id="node-facts"></table>
<h3>Its feature map <span id="feature-label"></span></h3>
<div id="feature-row">
<div id="feature-map-box"><canvas id="feature-map" width="1" height="1"></canvas></div>
<table id="feature-facts"></table>
</div>
<h3>The input, <code>{source}</code></h3>
<svg id="input-view" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1" preserveAspectRatio="xMidYMid meet">
<rect id="padding" x="0" y="0" width="0" height="0"/>
<image id="picture" x="0" y="0" width="0" height="0" preserveAspectRatio="none"/>
<image id="heat" x="0" y="0" width="0" height="0" preserveAspectRatio="none"/>
<rect id="image-outline" class="outline" x="0" y="0" width="0" height="0"/>
<rect id="box-field" class="box field" x="0" y="0" width="0" height="0" visibility="hidden"/>
<rect id="box-read" class="box read" x="0" y="0" width="0" height="0" visibility="hidden"/>
<rect id="box-erf" class="box erf" x="0" y="0" width="0" height="0" visibility="hidden"/>
</svg>
<p class="legend-line"><span class="key read"></span>pixels read <span class="key field"></span>field r,
padding included <span class="key erf"></span>95% of the ERF's weight, per axis</p>
</aside>
</main>
<section>
<h2>Misalignments</h2>
{misalignments}
</section>
<section>
<h2>Against depth</h2>
<div id="plots">
{plots}
</div>
</section>
<section>
<h2>Input sizes that keep every merge aligned</h2>
<!-- rfgraph sizes: its answer goes here (html.to_html's sizes argument) -->
<div id="sizes">{sizes}</div>
</section>
<section>
<h2>Every node</h2>
<p class="help">erf: the effective receptive field of the centre feature: every kernel averages its window,
activations are the identity, the inputs of a merge count equally (a concat's by channels where every input
has a <code>channels</code> count), global inputs are left out, weight that lands in padding is lost. std: its
standard deviation; 95%: the shortest interval holding 95% of its weight; 95%/r: that width over r.</p>
<table id="nodes">
<thead><tr><th>node</th><th>op</th><th>r</th><th>S</th><th>P</th><th>r_min</th><th>size</th><th>erf std</th>
<th>erf 95%</th><th>95%/r</th><th>note</th></tr></thead>
<tbody>
{table}
</tbody>
</table>
</section>
<script type="application/json" id="rfgraph-data">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""

__all__ = ["DEFAULT_SIZE", "depth_plots", "image_uri", "to_html"]
