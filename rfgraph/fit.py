"""What an input size does to a network: its border layers and what its outputs see."""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import Analysis
from .boxes import clipped_boxes
from .errors import RFGraphError


@dataclass(frozen=True, slots=True)
class Border:
    """A border (unproductive) layer: on ``axes`` every input's r_min already covers the input."""

    node: str
    axes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """How much of the input one output's features see, per axis.

    ``whole[i]`` counts the indices along axis ``i`` all of whose features read
    the first and the last input pixel on that axis (exact boxes on the finite
    maps, :mod:`rfgraph.boxes`), out of ``size[i]``; so every feature sees the
    whole input exactly when ``whole == size``. None where the output has no
    local field (or maps too large to walk, see :data:`rfgraph.boxes.MAX_FEATURES`).
    """

    node: str
    whole: tuple[int | None, ...]
    size: tuple[int, ...]

    @property
    def sees_whole_input(self) -> bool | None:
        """Whether every feature sees the whole input; None if some axis has no local field."""
        if None in self.whole:
            return None
        return self.whole == self.size


@dataclass(frozen=True, slots=True)
class InputFit:
    """What an input size does to a network: its border layers and its outputs' coverage."""

    input_size: tuple[int, ...]
    borders: tuple[Border, ...]
    outputs: tuple[Coverage, ...]

    def border_axes(self, node: str) -> tuple[int, ...]:
        """The axes on which ``node`` is a border layer (empty if it is not one)."""
        return next((b.axes for b in self.borders if b.node == node), ())


def check_input_size(analysis: Analysis) -> InputFit:
    """Flag the layers an input size leaves without work, and say what the outputs see.

    A *border layer* is rfa-toolbox's (Richter et al., "Should you go deeper?",
    arXiv:2106.12307, ``EnrichedNetworkNode.is_border``): a layer all of whose
    inputs have a smallest receptive field r_min at least the input size, so
    that even along its shortest path the layer reads context that already
    spans the whole input, and is predicted not to improve the result. rfgraph
    applies it per axis and flags a layer when it holds on some axis; inputs
    with no local field (global ones) are left out, and a layer none of whose
    inputs has one is not judged. (rfa-toolbox's looser *critical* layers, own
    r_min strictly greater than the input size, are not reported.)

    Parameters
    ----------
    analysis
        The result of :func:`rfgraph.analyze` with an input size (of the
        source, when analysed ``relative_to`` a node).

    Returns
    -------
    InputFit
        The border layers in network order, and for each output how many of its
        features see the whole input on each axis.

    Raises
    ------
    RFGraphError
        The analysis has no input size.

    Examples
    --------
    >>> from rfgraph import analyze, loads
    >>> a = analyze(loads('''
    ... dims: 1
    ... layers:
    ...   - {name: c1, op: conv, kernel: 5, padding: 2}
    ...   - {name: c2, op: conv, kernel: 5, padding: 2}
    ...   - {name: c3, op: conv, kernel: 5, padding: 2}
    ... '''), 8)
    >>> fit = check_input_size(a)
    >>> [b.node for b in fit.borders]
    ['c3']
    >>> (out,) = fit.outputs
    >>> out.node, out.whole, out.size, out.sees_whole_input
    ('c3', (6,), (8,), False)
    """
    n = analysis[analysis.source].size
    if n is None:
        msg = "checking an input size needs one: give input_size (or --input-size)"
        raise analysis.network.error(msg)
    layers = analysis.network.layers
    borders = []
    for v in analysis.nodes:
        if v == analysis.source:
            continue
        inputs = [analysis[u] for u in layers[v].inputs if u in analysis.nodes]
        axes = []
        for i in range(len(n)):
            r_mins = [r for r in (rf.axes[i].r_min for rf in inputs) if r is not None]
            if r_mins and all(r >= n[i] for r in r_mins):
                axes.append(i)
        if axes:
            borders.append(Border(v, tuple(axes)))
    outputs = tuple(_coverage(analysis, v, n) for v in analysis.outputs)
    return InputFit(n, tuple(borders), outputs)


def _coverage(analysis: Analysis, node: str, n: tuple[int, ...]) -> Coverage:
    size = analysis[node].size
    assert size is not None
    whole: list[int | None] = [None] * len(n)
    try:
        found = clipped_boxes(analysis, node)
    except RFGraphError:  # maps too large to walk
        found = None
    for k, i in enumerate(() if found is None else found.axes):
        assert found is not None
        if found.separable:  # per-axis lines: an index counts if no feature along the others is empty
            ends = (found.first[k] == 0) & (found.last[k] == n[i] - 1)
            bounds = enumerate(zip(found.first, found.last, strict=True))
            empty = any((lo > hi).any() for j, (lo, hi) in bounds if j != k)
            whole[i] = 0 if empty else int(ends.sum())
            continue
        ends = (found.first[k] == 0) & (found.last[k] == n[i] - 1) & found.reads
        whole[i] = int(ends.all(axis=tuple(j for j in range(ends.ndim) if j != k)).sum())
    return Coverage(node, tuple(whole), size)


__all__ = ["Border", "Coverage", "InputFit", "check_input_size"]
