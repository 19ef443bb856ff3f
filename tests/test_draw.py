"""Pictures: the SVG drawing of the graph and the r/S-against-depth plot."""

from __future__ import annotations

import importlib.util
import os
import xml.etree.ElementTree as ET
from itertools import pairwise
from pathlib import Path

import pytest
from nets import TINY_RESNET

from rfgraph import analyze, loads
from rfgraph.cli import main
from rfgraph.draw import _edges, to_svg
from rfgraph.report import select

MODELS = Path(__file__).resolve().parent.parent / "models"
SVG = "{http://www.w3.org/2000/svg}"

ALIGNED = TINY_RESNET

# the strided branch loses its padding: centres differ at block1; 'head' then differs on h only;
# 'tail' adds 'head' to itself, which is aligned whatever head's field
MISALIGNED_TWICE = (
    ALIGNED.replace("padding: 1, inputs: [pool1]", "padding: 0, inputs: [pool1]")
    + """  - {name: tall, op: conv, kernel: [3, 1], stride: [2, 1], inputs: [block1]}
  - {name: flat, op: conv, kernel: 1, stride: [2, 1], inputs: [block1]}
  - {name: head, op: concat, inputs: [tall, flat]}
  - {name: tail, op: add, inputs: [head, head]}
"""
)

NASTY_NAMES = """name: "<tiny> & \\"quoted\\""
input: "in<put>"
layers:
  - {name: "a&b", op: conv, kernel: 3, inputs: ["in<put>"]}
  - {name: "c<d>'e'", op: conv, kernel: 3, inputs: ["in<put>"]}
  - {name: "\\"sum\\" ∑ ünï ☃", op: add, inputs: ["a&b", "c<d>'e'"]}
  - {name: "]]> <!-- -->", op: relu}
"""


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return root


def boxes(root: ET.Element) -> dict[str, ET.Element]:
    """Node name (the first line of each box's tooltip) -> its <g>."""
    found = {}
    for g in root.iter(f"{SVG}g"):
        if "node" in g.get("class", "").split():
            name = g.find(f"{SVG}title").text.split("\n")[0]
            assert name not in found
            found[name] = g
    return found


def classes(g: ET.Element) -> set[str]:
    return set(g.get("class", "").split())


@pytest.mark.parametrize(
    "source",
    [MODELS / "resnet_v1_50.yaml", MODELS / "inception_v3.yaml", MISALIGNED_TWICE, NASTY_NAMES],
    ids=["resnet_v1_50", "inception_v3", "misaligned_twice", "nasty_names"],
)
def test_svg_is_xml_with_one_box_per_node(source):
    analysis = analyze(source if isinstance(source, Path) else loads(source))
    root = parse(to_svg(analysis))
    assert set(boxes(root)) == set(analysis.nodes)
    assert root.find(f"{SVG}title").text == analysis.network.name


def test_names_are_escaped_and_shown_verbatim():
    svg = to_svg(analyze(loads(NASTY_NAMES)))
    texts = {t.text for t in parse(svg).iter(f"{SVG}text")}
    assert {"a&b", "c<d>'e'", '"sum" ∑ ünï ☃', "]]> <!-- -->", "in<put>"} <= texts
    assert "<tiny>" not in svg and "a&b" not in svg  # only escaped forms in the markup


def test_misaligned_merges_and_their_input_edges_are_marked():
    analysis = analyze(loads(MISALIGNED_TWICE))
    root = parse(to_svg(analysis))
    found = boxes(root)
    bad = {m.node for m in analysis.misalignments}
    assert bad == {"block1", "head"}
    assert "aligned" in classes(found["tail"])
    for name, g in found.items():
        layer = analysis.network.layers.get(name)
        is_merge = layer is not None and layer.spec.merge is not None
        assert ("misaligned" in classes(g)) == (name in bad)
        assert ("merge" in classes(g)) == is_merge
    bad_inputs = {u for m in analysis.misalignments for u, _ in m.inputs}
    assert {v for v, g in found.items() if "misaligned-input" in classes(g)} == bad_inputs
    red_edges = [p for p in root.iter(f"{SVG}path") if p.get("class") == "misaligned" and p.get("d")]
    # shortcut, branch -> block1; tall, flat -> head
    assert len(red_edges) - 1 == 4  # one more in the legend
    tooltip = found["head"].find(f"{SVG}title").text
    assert "axis h: centres differ" in tooltip and "axis w" not in tooltip


def test_aligned_merges_are_green_and_labels_collapse_equal_axes():
    analysis = analyze(MODELS / "resnet_v1_50.yaml", 224)
    found = boxes(parse(to_svg(analysis)))
    assert "aligned" in classes(found["block1/unit_1/bottleneck_v1"])
    rf = analysis["block4"]
    label = [t.text for t in found["block4"].iter(f"{SVG}text")]
    assert label == ["block4", "identity  7x7", f"r {rf.r[0]}  S {rf.S[0]}  P {rf.P[0]}"]
    tall = [t.text for t in boxes(parse(to_svg(analyze(loads(MISALIGNED_TWICE)))))["tall"].iter(f"{SVG}text")]
    assert tall[2].startswith("r [") and "S [" in tall[2]


def test_boxes_of_a_layer_never_overlap():
    root = parse(to_svg(analyze(MODELS / "inception_v4.yaml")))
    rows: dict[float, list[tuple[float, float]]] = {}
    for g in boxes(root).values():
        rect = g.find(f"{SVG}rect")
        x, w = float(rect.get("x")), float(rect.get("width"))
        rows.setdefault(float(rect.get("y")), []).append((x, x + w))
    assert max(len(row) for row in rows.values()) > 1
    for row in rows.values():
        row.sort()
        assert all(right < left for (_, right), (left, _) in pairwise(row))


def test_relative_to_draws_only_the_nodes_it_feeds():
    analysis = analyze(MODELS / "resnet_v1_50.yaml", relative_to="block3")
    assert set(boxes(parse(to_svg(analysis)))) == set(analysis.nodes)


def test_the_largest_zoo_net_draws_the_same_every_time():
    analysis = analyze(MODELS / "inception_resnet_v2.yaml")
    assert to_svg(analysis) == to_svg(analysis)


def test_cli_draw(tmp_path, capsys):
    out = tmp_path / "net.svg"
    assert main(["draw", str(MODELS / "resnet_v1_50.yaml"), "--input-size", "224", "-o", str(out)]) == 0
    assert "block4" in boxes(parse(out.read_text(encoding="utf-8")))
    assert [p.name for p in tmp_path.iterdir()] == ["net.svg"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temporary file's private 0600
    assert main(["draw", str(MODELS / "vgg_16.yaml"), "--relative-to", "pool5"]) == 0
    assert set(boxes(parse(capsys.readouterr().out))) == {"pool5"}


def test_cli_draw_invalid_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("layers:\n  - {name: c, op: conv, strid: 2}\n")
    assert main(["draw", str(bad), "-o", str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{bad}:2: ") and err.count("\n") == 1
    assert not (tmp_path / "x.svg").exists()


def test_docs_pictures_are_current():
    """docs/*.svg are what docs/make_pictures.py draws now; run it after changing the drawing."""
    spec = importlib.util.spec_from_file_location(
        "make_pictures", MODELS.parent / "docs" / "make_pictures.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pictures = script.pictures()
    assert len(pictures) == 3
    for name, svg in pictures.items():
        assert (MODELS.parent / "docs" / name).read_text(encoding="utf-8") == svg, (
            f"run python docs/make_pictures.py ({name})"
        )
    same = analyze(script.block1(same_padding=True))
    assert [m.node for m in same.misalignments] == ["block1/unit_3/bottleneck_v1"] * 2
    assert analyze(script.block1()).aligned


def test_repeated_lopsided_blocks_do_not_drift_sideways():
    # inception_resnet_v2 repeats its block35/17/8 units 10, 20 and 9 times; each unit narrows to its add
    root = parse(to_svg(analyze(MODELS / "inception_resnet_v2.yaml")))
    centres = [
        float(g.find(f"{SVG}rect").get("x")) + float(g.find(f"{SVG}rect").get("width")) / 2
        for name, g in boxes(root).items()
        if name.startswith("Repeat") and name.count("/") == 1 and not name.endswith("concat")
    ]
    assert len(centres) == 39
    assert max(centres) - min(centres) < 1  # the adds stack straight


def test_only_and_endpoints_draw_a_subset_with_edges_through_hidden_nodes(tmp_path, capsys):
    path = str(MODELS / "inception_v3.yaml")
    assert main(["draw", path, "--endpoints"]) == 0
    shown = boxes(parse(capsys.readouterr().out))
    analysis = analyze(MODELS / "inception_v3.yaml")
    assert set(shown) == set(select(analysis, endpoints=True))
    assert main(["draw", path, "--only", "Mixed_6*", "--only", "Mixed_7a"]) == 0
    root = parse(capsys.readouterr().out)
    assert set(boxes(root)) == {"Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a"} | {
        v for v in analysis if v.startswith("Mixed_6")
    }
    # an edge joins two shown nodes where data flows between them through hidden ones only
    assert set(_edges(analysis, ["Mixed_6a", "Mixed_6e", "Mixed_7a"])) == {
        ("Mixed_6a", "Mixed_6e"),
        ("Mixed_6e", "Mixed_7a"),
    }


def test_the_legend_counts_as_the_summary_does_and_shows_unchecked_merges():
    net = loads(
        "dims: 1\nalign: none\nlayers:\n  - {name: a, op: conv, kernel: 3, padding: 1, inputs: [input]}\n"
        "  - {name: b, op: conv, kernel: 2, padding: [1, 0], inputs: [input]}\n  - {name: m, op: add, inputs: [a, b]}\n"
    )
    svg = to_svg(analyze(net))
    assert "4 nodes, 1 merge, fields relative to input: aligned (1 merge not checked)" in svg
    assert '<g class="merge unchecked">' in svg and "merge not checked</text>" in svg


def test_draw_refuses_a_picture_format_it_does_not_write(tmp_path, capsys):
    assert main(["draw", str(MODELS / "vgg_16.yaml"), "-o", str(tmp_path / "net.png")]) == 2
    assert (
        capsys.readouterr().err
        == f"{tmp_path / 'net.png'}: draw writes SVG: name the file .svg (rfgraph plot draws PNG and PDF)\n"
    )
    assert not (tmp_path / "net.png").exists()
