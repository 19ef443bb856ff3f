"""Draw the README's pictures into docs/: run `python docs/make_pictures.py` from anywhere.

- resnet_v1_50_block1.svg: the first block of models/resnet_v1_50.yaml (root and block1, as TF-Slim
  defines them), at 224x224: every merge aligned.
- resnet_v1_50_block1_same.svg: the same excerpt with the usual porting slip in its strided unit:
  `padding: same` on the 3x3/2 conv instead of slim's explicit [1, 1] pad and a valid conv. TensorFlow's
  "same" puts the odd pixel after, so the branch's field shifts and the unit's add is misaligned.
- rf_depth.png: r and S against depth for resnet_v1_50 and inception_v3 (needs matplotlib).
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

from rfgraph import Network, analyze, load, make_network  # noqa: E402
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


def pictures() -> dict[str, str]:
    """The SVG pictures by file name."""
    return {
        "resnet_v1_50_block1.svg": to_svg(analyze(block1())),
        "resnet_v1_50_block1_same.svg": to_svg(analyze(block1(same_padding=True))),
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
