"""The HTML report: a self-contained page, tested in a real headless browser.

The browser is Debian's chromium (/usr/bin/chromium) driven by playwright (the ``browser``
extra); without either, the browser tests skip. A page must match the Python side exactly:
the box drawn for a clicked feature is :func:`rfgraph.locate.locate`'s, and the effective
receptive field computed in the page is :func:`rfgraph.erf`'s.
"""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from nets import OPPOSITE_CORNERS, TINY_RESNET

from rfgraph import RFGraphError, analyze, erf, loads
from rfgraph.cli import main
from rfgraph.html import DEFAULT_SIZE, image_uri, to_html
from rfgraph.locate import locate

MODELS = Path(__file__).resolve().parent.parent / "models"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG, written by hand."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes([200, 40, 40]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# --- the page, without a browser ---------------------------------------------------------------------


def test_the_page_refers_to_nothing_outside_itself(tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", str(MODELS / "resnet_v1_50.yaml"), "-o", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    # the only URL is SVG's namespace, which names and does not fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<link\b|\bsrc=|@import|url\((?!#)", page)  # url(#arrow): inside the page
    assert "<script src" not in page and page.count("<script") == 2
    assert '"input_size":[224,224]' in page  # no size given: the default, 224


def test_the_page_embeds_the_image_given_and_escapes_names(tmp_path):
    png = tmp_path / "photo.png"
    png.write_bytes(tiny_png())
    net = tmp_path / "net.yaml"
    net.write_text(
        'layers:\n  - {name: "</script><b>c", op: conv, kernel: 3}\n  - {name: d, op: conv, kernel: 3}\n'
    )
    out = tmp_path / "report.html"
    assert main(["report", str(net), "--image", str(png), "--input-size", "64", "-o", str(out)]) == 0
    page = out.read_text()
    assert image_uri(tiny_png()) in page
    assert "</script><b>" not in page and "&lt;/script&gt;&lt;b&gt;c" in page


def test_a_file_that_is_no_picture_is_refused(tmp_path, capsys):
    bad = tmp_path / "photo.png"
    bad.write_text("not a picture")
    net = tmp_path / "net.yaml"
    net.write_text(TINY_RESNET)
    assert main(["report", str(net), "--image", str(bad), "-o", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err == f"{bad}: the image must be a PNG, JPEG or GIF file\n"
    assert (
        main(["report", str(net), "--image", str(tmp_path / "none.png"), "-o", str(tmp_path / "r.html")]) == 2
    )
    assert "cannot read the image: No such file or directory" in capsys.readouterr().err


def test_relative_to_makes_that_nodes_map_the_input(tmp_path):
    net = tmp_path / "net.yaml"
    net.write_text(TINY_RESNET)
    out = tmp_path / "report.html"
    assert main(["report", str(net), "--input-size", "64", "--relative-to", "conv1", "-o", str(out)]) == 0
    page = out.read_text()
    assert (
        '"input_size":[32,32],"source":"conv1"' in page and "<h3>The input, <code>conv1</code></h3>" in page
    )


def test_the_report_needs_a_size_and_two_axes():
    with pytest.raises(RFGraphError, match="the report needs an input size"):
        to_html(analyze(loads(TINY_RESNET)))
    with pytest.raises(RFGraphError, match="the report draws 2-D networks; this one has 1 axes"):
        to_html(analyze(loads("dims: 1\nlayers: [{name: c, op: conv, kernel: 3}]"), 8))


def test_the_sizes_answer_has_its_place():
    a = analyze(loads(TINY_RESNET), 64)
    assert "Not available in this version: <code>rfgraph sizes</code>" in to_html(a)
    assert "<pre>h: aligned iff H = 1 (mod 32)</pre>" in to_html(a, sizes="h: aligned iff H = 1 (mod 32)")


# --- in a browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need playwright")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("the browser tests need chromium (Debian: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        try:
            launched = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        except Exception as e:  # a browser that cannot start here is a missing browser
            pytest.skip(f"chromium does not start: {str(e).splitlines()[0]}")
        yield launched
        launched.close()


def open_page(browser, path: Path):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    errors: list[str] = []
    fetched: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def refuse(route):  # type: ignore[no-untyped-def]
        if route.request.url != path.as_uri():
            fetched.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", refuse)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready=true]")
    return page, errors, fetched


def rect(page, selector: str) -> tuple[int, int, int, int] | None:  # type: ignore[no-untyped-def]
    """(y, x, height, width) of a drawn box, in input pixels; None when hidden."""
    values = page.eval_on_selector(
        selector,
        "r => r.getAttribute('visibility') === 'hidden' ? null : "
        "['y', 'x', 'height', 'width'].map(k => Number(r.getAttribute(k)))",
    )
    return None if values is None else tuple(values)


def on_grid(found, size: int = 64) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The page's map (``last.map``) or rfgraph's (:meth:`ERF.map`) on the input's grid, 0..size-1."""
    out = np.zeros((size, size))
    if isinstance(found, dict):
        (top, left), shape = found["o"], found["n"]
        weights = np.array(found["a"]).reshape(shape)
    else:
        (top, left), weights = (found.axes[0].first, found.axes[1].first), found.map()
    out[top : top + weights.shape[0], left : left + weights.shape[1]] = weights
    return out


def click_feature(page, feature: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    cell = int(page.get_attribute("#feature-map", "data-cell"))
    i, j = feature
    page.click("#feature-map", position={"x": (j + 0.5) * cell, "y": (i + 0.5) * cell})


def spans(first: int | None, last: int | None, top: int | None, bottom: int | None):  # type: ignore[no-untyped-def]
    """A box along h and w as the page draws it: (y, x, height, width); None when undefined."""
    if None in (first, last, top, bottom):
        return None
    return (first, top, last - first + 1, bottom - top + 1)


def assert_the_page_shows(page, analysis, node: str, feature: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    """The feature the page shows is ``feature`` of ``node``, with locate's boxes and rfgraph.erf's weights."""
    last = page.evaluate("() => window.rfgraphReport.last")
    assert (last["node"], tuple(last["feature"])) == (node, feature)
    h, w = locate(analysis, node, feature).axes
    assert rect(page, "#box-field") == spans(h.first, h.last, w.first, w.last)
    read = (*(h.clipped or (None, None)), *(w.clipped or (None, None)))
    assert rect(page, "#box-read") == spans(*read)
    found = erf(analysis, node, feature)
    for mine, theirs in zip(last["axes"], found.axes, strict=True):
        assert (mine is None) == (theirs is None)
        if theirs is not None:
            assert (mine["first"], mine["last"]) == (theirs.first, theirs.last)
            assert (tuple(mine["interval"]), mine["width"]) == (theirs.interval, theirs.width)
            assert mine["std"] == pytest.approx(theirs.std, abs=1e-9)
            np.testing.assert_allclose(mine["weights"], theirs.weights, rtol=0, atol=1e-12)
    if None in found.axes:
        assert last["map"] is None and rect(page, "#box-erf") is None
        return
    size = max(*analysis[analysis.source].size, *(-a.first + a.last + 1 for a in found.axes)) * 3
    np.testing.assert_allclose(on_grid(last["map"], size), on_grid(found, size), rtol=0, atol=1e-12)
    (top, bottom), (left, right) = (a.interval for a in found.axes)
    assert rect(page, "#box-erf") == spans(top, bottom, left, right)


CASES = [
    ("resnet_v1_50", 224, "block2/unit_1/bottleneck_v1", [(0, 0), (5, 27), (14, 13)]),
    ("inception_v3", 299, "Mixed_6a", [(0, 16), (8, 8), (16, 1)]),
]


@pytest.mark.parametrize(("model", "size", "node", "features"), CASES, ids=[c[0] for c in CASES])
def test_a_clicked_feature_shows_locates_box_and_its_erf(browser, tmp_path, model, size, node, features):
    out = tmp_path / f"{model}.html"
    args = ["report", str(MODELS / f"{model}.yaml"), "--input-size", str(size), "--endpoints", "-o", str(out)]
    assert main(args) == 0
    analysis = analyze(MODELS / f"{model}.yaml", size)
    page, errors, fetched = open_page(browser, out)
    page.click("#zoom-fit")
    page.locator(f'#graph g[data-node="{node}"]').click()
    assert page.inner_text("#node-title") == node
    for feature in features:
        click_feature(page, feature)
        assert_the_page_shows(page, analysis, node, feature)
    page.screenshot(path=str(tmp_path / f"{model}.png"))
    assert errors == [] and fetched == []


# the add's second input pads before only: its centre moves by one pixel
SHIFTED = """
layers:
  - {name: conv1, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: pool1, op: pool, kernel: 3, padding: 1}
  - {name: shifted, op: conv, kernel: 3, padding: [[2, 0], [2, 0]], inputs: [conv1]}
  - {name: block1, op: add, inputs: [pool1, shifted]}
"""


def test_the_table_the_misalignments_and_the_plots_select_nodes(browser, tmp_path):
    net = tmp_path / "net.yaml"
    net.write_text(SHIFTED)
    out = tmp_path / "report.html"
    assert main(["report", str(net), "--input-size", "64", "-o", str(out)]) == 0
    page, errors, _ = open_page(browser, out)
    assert page.inner_text("#node-title") == "block1"  # the output, at first
    page.click('#nodes tr[data-node="pool1"]')
    assert page.inner_text("#node-title") == "pool1"
    assert page.get_attribute('#graph g[data-node="pool1"]', "class").endswith("selected")
    page.click("li[data-node=block1]")
    assert page.inner_text("#node-title") == "block1"
    page.click('circle[data-node="conv1"] >> nth=0', force=True)
    assert page.inner_text("#node-title") == "conv1"
    assert errors == []


# concat by channels, a global gate left out, bilinear phases, a transposed conv's holes, and a
# local one-feature map broadcast over a larger one (h undefined from there on)
EVERY_KIND = """
layers:
  - {name: stem, op: conv, kernel: 3, stride: 2, padding: 1, channels: 4}
  - {name: row, op: conv, kernel: [1, 7], padding: [0, 3], channels: 2, inputs: [stem]}
  - {name: column, op: conv, kernel: [7, 1], padding: [3, 0], channels: 6, inputs: [stem]}
  - {name: cross, op: concat, inputs: [row, column]}
  - {name: squeeze, op: global_pool}
  - {name: gate, op: conv, kernel: 1, channels: 8}
  - {name: gated, op: mul, inputs: [cross, gate]}
  - {name: up, op: upsample, factor: 2, mode: bilinear}
  - {name: t, op: transposed_conv, kernel: 3, stride: 2, padding: 1, output_padding: 1, inputs: [stem]}
  - {name: down, op: conv, kernel: 3, stride: 2, padding: 1, inputs: [t]}
  - {name: whole, op: conv, kernel: [16, 1], inputs: [down]}
  - {name: joined, op: add, inputs: [down, whole]}
"""


@pytest.fixture(scope="module")
def every_kind(browser, tmp_path_factory):
    out = tmp_path_factory.mktemp("every_kind") / "report.html"
    net = out.with_name("net.yaml")
    net.write_text(EVERY_KIND)
    assert main(["report", str(net), "--input-size", "32", "-o", str(out)]) == 0
    page, errors, _ = open_page(browser, out)
    yield analyze(loads(EVERY_KIND), 32), page
    assert errors == []


@pytest.mark.parametrize(
    ("node", "feature"),
    [
        ("cross", (0, 5)),
        ("gated", (7, 15)),
        ("squeeze", (0, 0)),
        ("up", (31, 0)),
        ("up", (10, 13)),
        ("t", (3, 4)),
        ("t", (0, 0)),
        ("joined", (2, 9)),
    ],
)
def test_the_pages_walk_is_rfgraphs_on_every_kind_of_layer(every_kind, node, feature):
    analysis, page = every_kind
    page.evaluate(f"() => window.rfgraphReport.select({node!r}, {list(feature)})")
    assert_the_page_shows(page, analysis, node, feature)


def test_the_page_breaks_ties_as_rfgraph_does(browser, tmp_path):
    # c23's weights are symmetric: two shortest 95% intervals hold the same weight up to rounding
    text = "layers:\n" + "".join(f"  - {{name: c{i}, op: conv, kernel: 3}}\n" for i in range(24))
    net, out = tmp_path / "net.yaml", tmp_path / "report.html"
    net.write_text(text)
    assert main(["report", str(net), "--input-size", "64", "-o", str(out)]) == 0
    page, errors, _ = open_page(browser, out)
    page.evaluate("() => window.rfgraphReport.select('c23', [8, 8])")
    assert_the_page_shows(page, analyze(loads(text), 64), "c23", (8, 8))
    assert errors == []


def test_relative_to_in_the_browser(browser, tmp_path):
    net = tmp_path / "net.yaml"
    net.write_text(TINY_RESNET)
    out = tmp_path / "report.html"
    assert main(["report", str(net), "--input-size", "64", "--relative-to", "pool1", "-o", str(out)]) == 0
    page, errors, _ = open_page(browser, out)
    click_feature(page, (3, 0))
    assert_the_page_shows(page, analyze(loads(TINY_RESNET), 64, relative_to="pool1"), "block1", (3, 0))
    assert errors == []


def test_the_plots_follow_the_longest_path_and_mark_misaligned_merges():
    a = analyze(loads(SHIFTED), 64)
    page = to_html(a)
    plots = page[page.index('<div id="plots">') : page.index("</div>", page.index('<div id="plots">'))]
    assert plots.count("<svg") == 2 and plots.count('class="misaligned"') == 2  # block1, in both plots
    # input, conv1, pool1 (the first of two longest paths), block1: r, the ERF's width, S, a point each
    assert plots.count('<circle class="point" data-node="pool1"') == 3 and 'data-node="shifted"' not in plots
    assert "<title>block1: r 9</title>" in plots and "<title>block1: S 2</title>" in plots


def test_the_default_size_is_the_one_the_help_gives(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert f"else the file's, else {DEFAULT_SIZE}." in " ".join(capsys.readouterr().out.split())


def test_boxes_that_are_no_product_of_per_axis_ones(browser, tmp_path):
    net, out = tmp_path / "net.yaml", tmp_path / "report.html"
    net.write_text(OPPOSITE_CORNERS)
    assert main(["report", str(net), "--input-size", "6", "-o", str(out)]) == 0
    assert '"clipped":{"map":' in out.read_text()  # whole maps, not one list per axis
    page, errors, _ = open_page(browser, out)
    analysis = analyze(loads(OPPOSITE_CORNERS), 6)
    # the boxes only: rfgraph.erf's per-axis weights at such a merge are not checked here
    for feature in [(2, 0), (0, 2), (3, 3), (7, 7), (1, 0), (4, 2)]:
        page.evaluate(f"() => window.rfgraphReport.select('add', {list(feature)})")
        h, w = locate(analysis, "add", feature).axes
        assert rect(page, "#box-field") == spans(h.first, h.last, w.first, w.last)
        read = (*(h.clipped or (None, None)), *(w.clipped or (None, None)))
        assert rect(page, "#box-read") == spans(*read)
        shown = page.evaluate("() => window.rfgraphReport.last.box.map((b) => b.clipped)")
        assert [None if c is None else tuple(c) for c in shown] == [h.clipped, w.clipped]
    assert errors == []
