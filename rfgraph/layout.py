"""The layered (Sugiyama-style) layout of a DAG drawing: where each box and each edge goes.

Longest-path layers from the sources down, a dummy point per layer that a long
edge crosses (so residual shortcuts run beside the boxes, not through them),
barycentre sweeps to reduce crossings, and x positions that sit each node
under its neighbours as far as the boxes' widths allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise

GAP_X = 16  # between neighbouring boxes
DUMMY_WIDTH = 10  # the slot a long edge takes in a layer it crosses
MARGIN = 16
SWEEPS = 8


@dataclass(slots=True)
class Vertex:
    """A box (``node`` is its name) or a dummy point of a long edge (``node`` is None)."""

    node: str | None
    layer: int
    width: float
    ups: list[int]
    downs: list[int]
    x: float = 0.0


def layered(
    nodes: Sequence[str], edges: Sequence[tuple[str, str]], widths: Mapping[str, float]
) -> tuple[list[Vertex], list[list[int]], dict[tuple[str, str], list[int]]]:
    """Lay out a DAG: vertices with x positions, the layers' vertex orders, each edge's chain of vertices.

    ``nodes`` in a topological order; ``edges`` (u, v) between them, in the order to draw them.
    """
    ups: dict[str, list[str]] = {v: [] for v in nodes}
    for u, v in edges:
        ups[v].append(u)
    depth: dict[str, int] = {}
    for v in nodes:  # the longest path from a source: every edge points down
        depth[v] = 1 + max((depth[u] for u in ups[v]), default=-1)
    verts = [Vertex(v, depth[v], widths[v], [], []) for v in sorted(nodes, key=depth.__getitem__)]
    ids = {vert.node: i for i, vert in enumerate(verts)}
    chains: dict[tuple[str, str], list[int]] = {}
    for u, v in edges:
        chain = [ids[u]]
        for layer in range(depth[u] + 1, depth[v]):
            verts.append(Vertex(None, layer, DUMMY_WIDTH, [], []))
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


def _order(verts: list[Vertex], layers: list[list[int]]) -> None:
    """Barycentre sweeps down and up; keep the order with the fewest crossings."""
    best, fewest = [list(layer) for layer in layers], _crossings(verts, layers)
    for sweep in range(SWEEPS):
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


def _barycentre(verts: list[Vertex], v: int, down: bool, pos: dict[int, int], here: dict[int, int]) -> float:
    """Mean position of ``v``'s neighbours in the fixed layer; without any, ``v`` keeps its relative place."""
    nbrs = verts[v].ups if down else verts[v].downs
    if nbrs:
        return sum(pos[w] for w in nbrs) / len(nbrs)
    return here[v] * len(pos) / len(here)


def _crossings(verts: list[Vertex], layers: list[list[int]]) -> int:
    total = 0
    for upper, lower in pairwise(layers):
        pos = {v: i for i, v in enumerate(lower)}
        ends = sorted((i, pos[w]) for i, v in enumerate(upper) for w in verts[v].downs)
        seen: list[int] = []
        for _, p in ends:  # count earlier edges ending to the right of this one
            total += sum(1 for q in seen if q > p)
            seen.append(p)
    return total


def _place(verts: list[Vertex], layers: list[list[int]]) -> None:
    """x of every vertex: under (or over) its neighbours' mean, boxes never overlapping."""
    for layer in layers:
        x = 0.0
        for v in layer:
            verts[v].x = x + verts[v].width / 2
            x += verts[v].width + GAP_X
    for sweep in range(4):
        down = sweep % 2 == 0
        for layer in layers[1:] if down else layers[-2::-1]:
            wanted = []
            for v in layer:
                nbrs = verts[v].ups if down else verts[v].downs
                wanted.append(sum(verts[w].x for w in nbrs) / len(nbrs) if nbrs else verts[v].x)
            _spread(verts, layer, wanted)
    _straighten(verts, layers)
    left = min(verts[v].x - verts[v].width / 2 for layer in layers for v in layer)
    for vert in verts:
        vert.x += MARGIN - left


def _straighten(verts: list[Vertex], layers: list[list[int]]) -> None:
    """Undo the drift that repeated lopsided blocks build up: where the graph narrows to one box
    (a layer of one vertex), stack those boxes straight, and shift the layers between them by the
    straight line's share of the correction."""
    narrow = [k for k, layer in enumerate(layers) if len(layer) == 1]
    if len(narrow) < 2:
        return
    target = verts[layers[narrow[0]][0]].x
    shift = {k: target - verts[layers[k][0]].x for k in narrow}
    for a, b in pairwise(narrow):
        for k in range(a + 1, b):
            moved = shift[a] + (shift[b] - shift[a]) * (k - a) / (b - a)
            for v in layers[k]:
                verts[v].x += moved
    for k in narrow:
        verts[layers[k][0]].x = target
    for k in range(narrow[-1] + 1, len(layers)):
        for v in layers[k]:
            verts[v].x += shift[narrow[-1]]
    for k in range(narrow[0]):
        for v in layers[k]:
            verts[v].x += shift[narrow[0]]


def _spread(verts: list[Vertex], layer: list[int], wanted: list[float]) -> None:
    """Closest positions to ``wanted`` (least squares) keeping order and gaps: isotonic regression."""
    offsets, at = [], 0.0
    for i, v in enumerate(layer):
        if i:
            at += (verts[layer[i - 1]].width + verts[v].width) / 2 + GAP_X
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
