"""Matplotlib pictures (an extra): r and S against depth along each network's longest path, and
one feature's effective receptive field.

A leaf: nothing in the core imports it, and matplotlib is imported only inside the functions.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import cycle
from typing import TYPE_CHECKING, Any

from .analysis import Analysis
from .errors import RFGraphError
from .fields import Number

if TYPE_CHECKING:
    from .effective import ERF

_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
_DASHES = ["-", "--", "-.", ":"]


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
    fig = _figure(format, (8, 6))
    from matplotlib.ticker import FuncFormatter

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


def _figure(format: str, size: tuple[float, float]) -> Any:
    """A matplotlib Figure on its own Agg canvas that can write ``format``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        msg = 'plotting needs matplotlib: pip install "rfgraph[draw]"'
        raise RFGraphError(msg) from None

    # a Figure on its own Agg canvas, not pyplot: no global backend switch, nothing left open
    fig = Figure(figsize=size, dpi=100)
    canvas = FigureCanvasAgg(fig)
    if format not in canvas.get_supported_filetypes():
        known = ", ".join(sorted(canvas.get_supported_filetypes()))
        msg = f"cannot plot to format {format!r} (expected one of: {known})"
        raise RFGraphError(msg)
    return fig


def plot_erf(found: ERF, format: str = "png") -> bytes:
    """Draw one feature's effective receptive field with its receptive-field box.

    2-D nets get the exact map (:meth:`rfgraph.effective.ERF.map`) as a heat map over input
    coordinates, r's box around it (solid), the 95% intervals' box (dashed) and, with an
    input size, the image's outline; 1-D nets get the weights as bars.

    Parameters
    ----------
    found
        The result of :func:`rfgraph.erf`.
    format
        Any format matplotlib writes: "png", "svg", "pdf"...

    Returns
    -------
    bytes
        The image.

    Raises
    ------
    RFGraphError
        matplotlib is missing or cannot write ``format``; the net is not 1-D or 2-D, or an
        axis has no ERF.
    """
    analysis = found.analysis
    names = analysis.network.axis_names
    missing = [f"{names[i]}: {found.notes[i]}" for i, a in enumerate(found.axes) if a is None]
    if missing or len(found.axes) > 2:
        why = "; ".join(missing) if missing else f"a {len(found.axes)}-D map cannot be drawn"
        msg = f"no picture of the effective receptive field of {found.node!r}: {why}"
        raise analysis.network.error(msg, found.node)
    fig = _figure(format, (7, 6) if len(found.axes) == 2 else (8, 4))
    from matplotlib.patches import Rectangle

    ax = fig.subplots()
    rfs = analysis[found.node].axes
    boxes = [None if rf.field is None else rf.box(x) for rf, x in zip(rfs, found.feature, strict=True)]
    size = analysis.input_size
    axes = [a for a in found.axes if a is not None]
    if len(axes) == 1:
        (x,) = axes
        ax.bar(x.coordinates, x.weights, width=1.0, color="#3f6aa8")
        low, high = x.interval
        ax.axvspan(low - 0.5, high + 0.5, color="#f0c040", alpha=0.3, label="95% interval")
        if boxes[0] is not None:
            first, last = boxes[0]
            ax.axvspan(first - 0.5, last + 0.5, fill=False, hatch="//", edgecolor="#c62828", label="r")
        ax.set_xlabel(f"input coordinate {names[0]}")
        ax.set_ylabel("weight")
        ax.legend(loc="upper right", fontsize="small")
    else:
        h, w = axes
        image = ax.imshow(
            found.map(),
            extent=(w.first - 0.5, w.last + 0.5, h.last + 0.5, h.first - 0.5),
            cmap="magma",
            interpolation="nearest",
        )
        fig.colorbar(image, ax=ax, shrink=0.8, label="weight")
        spans = [(h.interval, w.interval, "#f0c040", "--", "95% intervals")]
        if boxes[0] is not None and boxes[1] is not None:
            spans.append((boxes[0], boxes[1], "#4fc3f7", "-", "r"))
        if size is not None:
            spans.append(((0, size[0] - 1), (0, size[1] - 1), "#9e9e9e", ":", "image"))
        for (top, bottom), (left, right), colour, style, label in spans:
            ax.add_patch(
                Rectangle(
                    (left - 0.5, top - 0.5),
                    right - left + 1,
                    bottom - top + 1,
                    fill=False,
                    edgecolor=colour,
                    linestyle=style,
                    linewidth=1.5,
                    label=label,
                )
            )
        # show the weights and r's box whole
        (top, bottom), (left, right) = (
            (min(a.first, *(b or ())), max(a.last, *(b or ()))) for a, b in zip(axes, boxes, strict=True)
        )
        margin = 1.5 + 0.03 * max(right - left, bottom - top)
        ax.set_xlim(left - margin, right + margin)
        ax.set_ylim(bottom + margin, top - margin)
        ax.set_xlabel(f"input coordinate {names[1]}")
        ax.set_ylabel(f"input coordinate {names[0]}")
        ax.legend(loc="upper right", fontsize="small")
    where = "" if size is None else f" at {'x'.join(map(str, size))}"
    ax.set_title(f"ERF of {found.node} {found.feature}{where}", fontsize="medium")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=format)
    return out.getvalue()


def _plot_one(analysis: Analysis, ax_r: Any, ax_s: Any, colour: str) -> None:
    path = longest_path(analysis)
    fields = [analysis[v] for v in path]
    net = analysis.network
    same = all(len(set(rf.r)) == len(set(rf.S)) == 1 for rf in fields)
    name = net.name.replace("$", r"\$")  # no mathtext in names
    for axis in [0] if same else range(net.dims):
        label = name if same else f"{name} ({net.axis_names[axis]})"
        style = _DASHES[axis % len(_DASHES)]
        ax_r.plot([_float(rf.axes[axis].r) for rf in fields], color=colour, linestyle=style, label=label)
        ax_s.plot([_float(rf.axes[axis].S) for rf in fields], color=colour, linestyle=style)
    bad = [depth for depth, rf in enumerate(fields) if rf.aligned is False]
    for depth in bad:
        for ax in (ax_r, ax_s):
            ax.axvline(depth, color=colour, linestyle=":", linewidth=1.2)
    if bad:
        ax_r.plot([], [], color=colour, linestyle=":", label=f"{name}: misaligned merge")


def longest_path(analysis: Analysis) -> list[str]:
    """The longest chain of nodes from the source to an output (the first found, in network order).

    >>> from rfgraph import analyze, loads
    >>> longest_path(analyze(loads("layers: [{name: a, op: relu}, {name: b, op: relu}, "
    ...                            "{name: s, op: add, inputs: [input, b]}]")))
    ['input', 'a', 'b', 's']
    """
    net = analysis.network
    best: dict[str, tuple[int, str | None]] = {}
    for v in net.order:
        if v not in analysis.nodes:
            continue
        layer = net.layers.get(v)
        inputs = [] if layer is None or v == analysis.source else [u for u in layer.inputs if u in best]
        best[v] = max(((best[u][0] + 1, u) for u in inputs), default=(0, None), key=lambda t: t[0])
    end: str | None = max(best, key=lambda v: best[v][0])
    path = []
    while end is not None:
        path.append(end)
        end = best[end][1]
    return path[::-1]
