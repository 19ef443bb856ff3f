"""Draw the README's pictures into docs/: run `python docs/make_pictures.py` from anywhere.

- resnet_v1_50_block1.svg: the first block of models/resnet_v1_50.yaml (root and block1, as TF-Slim
  defines them), at 224x224: every merge aligned.
- resnet_v1_50_block1_same.svg: the same excerpt with the usual porting slip in its strided unit:
  `padding: same` on the 3x3/2 conv instead of slim's explicit [1, 1] pad and a valid conv. TensorFlow's
  "same" puts the odd pixel after, so the branch's field shifts and the unit's add is misaligned.
- rf_depth.png: r and S against depth for resnet_v1_50 and inception_v3 (needs matplotlib).
- phases.svg: what a fractional stride and a phase are: a stride-3 conv, then nearest upsampling by 2.
- report_resnet_v1_50.png: `rfgraph report`'s page for resnet_v1_50's end-points at 224x224, one feature
  of block2 clicked, in headless chromium (needs playwright and Debian's chromium, else it says so).

tests/test_draw.py checks that the two SVG files are what this script draws now.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rfgraph import Network, analyze, load, loads, make_network  # noqa: E402
from rfgraph.cli import main as rfgraph  # noqa: E402
from rfgraph.cli import write_atomically  # noqa: E402
from rfgraph.draw import to_svg  # noqa: E402
from rfgraph.plot import plot_depth  # noqa: E402

MODELS = ROOT / "models"
DOCS = ROOT / "docs"
SIZE = 224
STRIDED = "block1/unit_3/bottleneck_v1"


def block1(*, same_padding: bool = False) -> Network:
    """resnet_v1_50 up to its end-point block1; with ``same_padding``, the strided conv pads itself."""
    net = load(MODELS / "resnet_v1_50.yaml")
    names = list(net.layers)
    layers = [net.layers[name] for name in names[: names.index("block1") + 1]]
    name = "resnet_v1_50, root and block1"
    if same_padding:
        conv2 = net.layers[f"{STRIDED}/conv2"]
        params = {**conv2.params, "padding": ("same",) * net.dims}
        same = dataclasses.replace(conv2, inputs=(f"{STRIDED}/conv1",), params=params)
        layers = [
            same if layer.name == conv2.name else layer for layer in layers if layer.name != f"{STRIDED}/Pad"
        ]
        name += ", unit_3/conv2 with padding: same"
    return make_network(layers, name=name, input=net.input, input_size=(SIZE, SIZE), path=net.path)


PHASES = """
dims: 1
layers:
  - {name: conv, op: conv, kernel: 3, stride: 3}
  - {name: up, op: upsample, factor: 2}
"""


def phases() -> str:
    """Three rows of features (input, a 3-tap stride-3 conv, nearest upsampling by 2) and, under the
    input, the box each upsampled feature reads: the boxes repeat every 2 features, one step apart."""
    a = analyze(loads(PHASES), 12)
    up = a["up"].axes[0]
    cell, gap, left = 34, 6, 150
    rows = {"up": 40, "conv": 130, "input": 220}
    counts = {"input": 12, "conv": 4, "up": 8}
    colours = ["#1f77b4", "#d62728"]
    out = []

    def x_of(row: str, i: int) -> float:
        pitch = (cell + gap) * 12 / counts[row]
        return left + i * pitch + pitch / 2

    taps = a.network.layers["conv"].geometry(0, 12).taps
    assert taps is not None
    for i in range(counts["conv"]):
        for j in taps.reads(i):
            if 0 <= j < 12:
                out.append(
                    _line(x_of("conv", i), rows["conv"] + 12, x_of("input", j), rows["input"] - 12, "#aaa")
                )
    for x in range(counts["up"]):
        colour = colours[x % 2]
        out.append(_line(x_of("up", x), rows["up"] + 12, x_of("conv", x // 2), rows["conv"] - 12, colour))
    for row, y in rows.items():
        out.append(f'<text x="10" y="{y + 5}">{row}</text>')
        for i in range(counts[row]):
            pitch = (cell + gap) * 12 / counts[row]
            x0 = left + i * pitch + (pitch - cell) / 2
            out.append(f'<rect x="{x0:.1f}" y="{y - 12}" width="{cell}" height="24"/>')
            out.append(f'<text x="{x_of(row, i) - 4:.1f}" y="{y + 5}">{i}</text>')
    for k, x in enumerate(range(2, 7)):
        box = up.box(x)
        assert box is not None
        first, last = max(box[0], 0), min(box[1], 11)
        y = rows["input"] + 26 + 14 * k
        x0, x1 = x_of("input", first) - cell / 2, x_of("input", last) + cell / 2
        fill = f"fill:{colours[x % 2]}"
        out.append(
            f'<rect class="box" x="{x0:.1f}" y="{y}" width="{x1 - x0:.1f}" height="9" style="{fill}"/>'
        )
        out.append(f'<text x="{x1 + 6:.1f}" y="{y + 9}">up feature {x} reads {box[0]}..{box[1]}</text>')
    caption = (
        f"up: S = {up.S}, r = {up.r}, P = {up.P}; the boxes repeat every {up.field.period} features "  # type: ignore[union-attr]
        f"(phases 0 and 1) and move {up.field.step} input pixels a period"  # type: ignore[union-attr]
    )
    out.append(f'<text x="10" y="{rows["input"] + 110}">{caption}</text>')
    width, height = left + (cell + gap) * 12 + 190, rows["input"] + 125
    style = (
        "text { font-family: 'DejaVu Sans Mono', Menlo, monospace; font-size: 12px; fill: #222; } "
        "rect { fill: #fff; stroke: #888; } rect.box { stroke: none; opacity: 0.8; } "
        "line { stroke-width: 1.4; }"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">\n<style>{style}</style>\n'
        f'<rect width="100%" height="100%" style="fill:#fff;stroke:none"/>\n' + "\n".join(out) + "\n</svg>\n"
    )


def _line(x0: float, y0: float, x1: float, y1: float, colour: str) -> str:
    return f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" style="stroke:{colour}"/>'


def pictures() -> dict[str, str]:
    """The SVG pictures by file name."""
    return {
        "resnet_v1_50_block1.svg": to_svg(analyze(block1())),
        "resnet_v1_50_block1_same.svg": to_svg(analyze(block1(same_padding=True))),
        "phases.svg": phases(),
    }


# as tests/test_report_html.py starts it: no sandbox (root), nothing fetched in the background
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


def report_screenshot(target: Path) -> None:
    """Open the report of resnet_v1_50 in headless chromium, click a feature of block2, take a picture."""
    import shutil
    import tempfile

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print(f"skipped {target.name}: needs playwright (pip install '.[browser]')")
        return
    chromium = shutil.which("chromium")
    if chromium is None:
        print(f"skipped {target.name}: needs chromium (apt-get install chromium)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        rfgraph(["report", str(MODELS / "resnet_v1_50.yaml"), "--endpoints", "-o", str(page_file)])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1040})
            page.goto(page_file.as_uri())
            page.wait_for_selector("body[data-ready=true]")
            page.click('#nodes tr[data-node="block2"]')
            cell = int(page.get_attribute("#feature-map", "data-cell"))
            page.click("#feature-map", position={"x": 2.5 * cell, "y": 11.5 * cell})
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(target))
            browser.close()


def main() -> None:
    for name, svg in pictures().items():
        write_atomically(str(DOCS / name), svg)
    nets = [analyze(MODELS / f"{name}.yaml", SIZE) for name in ["resnet_v1_50", "inception_v3"]]
    write_atomically(str(DOCS / "rf_depth.png"), plot_depth(nets))
    report_screenshot(DOCS / "report_resnet_v1_50.png")


if __name__ == "__main__":
    main()
