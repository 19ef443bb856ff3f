"""models/examples/: the worked examples of modern ops, their numbers, and a cross-check against the brute force."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from brute import Brute

from rfgraph import analyze, load, loads

EXAMPLES = Path(__file__).resolve().parent.parent / "models" / "examples"


def one_dimensional(name: str) -> str:
    """The example with one spatial axis: every parameter in these files is one value for every axis."""
    text = (EXAMPLES / f"{name}.yaml").read_text()
    if name == "wavenet":  # the first stack up to dilation 16: the brute force walks sets of r positions
        return text[: text.index("  - {name: s0.d32/")]
    assert "dims:" not in text
    return text.replace("layers:\n", "dims: 1\nlayers:\n", 1)


def test_unet_maps_and_field():
    a = analyze(EXAMPLES / "unet.yaml")
    assert a.input_size == (572, 572) and a["output"].size == (388, 388)  # the paper's Fig. 1
    assert a["up4/crop"].size == a["up4/upconv"].size == (56, 56)
    assert a["output"].r == (204, 204) and a["output"].S == (1, 1)
    assert [m.node for m in a.misalignments if m.axis == 0] == [
        "up4/concat",
        "up3/concat",
        "up2/concat",
        "up1/concat",
    ]
    first = a.misalignments[0]
    assert first.period == 2
    crop, up = (first.anchors()[v] for v in ("up4/crop", "up4/upconv"))
    assert [u - c for u, c in zip(up, crop, strict=True)] == [4, -4]  # a quarter of the bottom's stride 16


def test_fpn_top_down_adds_are_misaligned_at_odd_features():
    a = analyze(EXAMPLES / "fpn_resnet50.yaml")
    assert [a[f"fpn.P{k}"].S for k in (2, 3, 4, 5)] == [(4, 4), (8, 8), (16, 16), (32, 32)]
    assert a["fpn.up5"].S == (16, 16) and a["fpn.up5"].axes[0].field.period == 2
    add4 = next(m for m in a.misalignments if m.node == "fpn.add4" and m.axis == 0)
    lateral, top = (add4.anchors()[v] for v in ("fpn.inner4", "fpn.up5"))
    assert [t - lat for t, lat in zip(top, lateral, strict=True)] == [0, -16]  # half of C5's stride 32
    assert {m.node for m in a.misalignments} == {"fpn.add4", "fpn.add3", "fpn.add2"}


def test_se_gate_is_global_and_takes_no_part_in_alignment():
    a = analyze(EXAMPLES / "mbconv_se.yaml", 32)
    assert a.aligned and a["block.se.scale"].aligned is True
    assert [v for v in a if a[v].is_global] == [
        "block.se.pool", "block.se.reduce", "block.se.act", "block.se.expand", "block.se.gate",
        "block.se.scale", "block.project", "block.add",
    ]  # fmt: skip
    assert a["block.se.gate"].r == (None, None) and a["block.se.gate"].size == (1, 1)
    assert a["block.add"].r == (7, 7) and a["block.add"].size == (16, 16)


def test_wavenet_is_aligned_by_ends_and_not_by_centres():
    net = load(EXAMPLES / "wavenet.yaml")
    a = analyze(net)
    (out,) = a.outputs
    assert a[out].r == (3071,)  # 1 + 1 (the causal conv) + 3 * 1023
    assert a.aligned and net.align == "end"
    by_centres = analyze(
        loads((EXAMPLES / "wavenet.yaml").read_text().replace("align: end", "align: centre"))
    )
    assert len(by_centres.misalignments) == 30 and not by_centres.aligned  # every residual add
    assert {m.rule for m in by_centres.misalignments} == {"centre"}


def test_video_stem_per_axis():
    a = analyze(EXAMPLES / "r2plus1d_stem.yaml", (16, 112, 112))
    rf = a["layer1.0.relu"]
    assert (rf.r, rf.S, rf.P, rf.size) == ((7, 15, 15), (1, 2, 2), (3, 7, 7), (16, 56, 56))
    assert a.network.axis_names == ("d", "h", "w")


@pytest.mark.parametrize(
    ("name", "size"), [("unet", 188), ("fpn_resnet50", 64), ("mbconv_se", 16), ("wavenet", 40)]
)
def test_one_dimensional_examples_agree_with_the_brute_force(name, size):
    net = loads(one_dimensional(name))
    a = analyze(net, size)
    brute = Brute(net, (size,))
    for v in a:
        rf = a[v].axes[0]
        assert rf.size == brute.sizes[v][0]
        if rf.field is None:
            assert brute.state[v, 0] != "local"
            continue
        assert (rf.S, rf.P) == (brute.fields[v, 0][1], -brute.interval(v, 0, 0)[0])
        for x in range(0, rf.size, max(1, rf.size // 7)):
            assert rf.box(x) == brute.interval(v, 0, x), (v, x)
            got = a[v].axes[0]
            assert got.is_global == (
                name == "mbconv_se" and v.startswith(("block.se", "block.project", "block.add"))
            )
    assert a.aligned == all(brute.is_aligned(v) is not False for v in net.layers)
    assert all(isinstance(rf.S[0], int | Fraction) for rf in a.nodes.values() if rf.S[0] is not None)
