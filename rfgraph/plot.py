"""Analyses -> r and S against depth along each network's longest path (matplotlib, an extra).

A leaf: nothing in the core imports it, and matplotlib is imported only inside
:func:`plot_depth`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from itertools import cycle
from typing import Any

from .analysis import Analysis
from .errors import RFGraphError
from .fields import Number

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
