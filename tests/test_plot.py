"""The r/S-against-depth plot (matplotlib, an extra)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_draw import MISALIGNED_TWICE, parse

from rfgraph import analyze, loads
from rfgraph.cli import main
from rfgraph.plot import longest_path, plot_depth

MODELS = Path(__file__).resolve().parent.parent / "models"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_longest_path_follows_the_deepest_branch():
    path = longest_path(analyze(MODELS / "inception_v3.yaml"))
    assert path[0] == "input" and path[-1] == "Mixed_7c"
    assert "Mixed_6e/Branch_2/Conv2d_0e_1x7" in path  # the 5-conv branch of Mixed_6e


def test_plot_without_matplotlib_says_what_to_install(tmp_path, capsys, monkeypatch):
    for module in ["matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.ticker"]:
        monkeypatch.setitem(sys.modules, module, None)  # makes `import` raise ImportError
    out = tmp_path / "rf.png"
    assert main(["plot", str(MODELS / "vgg_16.yaml"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == f'{out}: plotting needs matplotlib: pip install "rfgraph[draw]"\n'
    assert not out.exists()


def test_cli_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rf.png"
    models = [str(MODELS / "resnet_v1_50.yaml"), str(MODELS / "inception_v3.yaml")]
    assert main(["plot", *models, "--input-size", "224", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in tmp_path.iterdir()] == ["rf.png"]


def test_plot_labels_each_network_and_marks_misaligned_merges():
    pytest.importorskip("matplotlib")
    analyses = [analyze(MODELS / "vgg_16.yaml"), analyze(loads(MISALIGNED_TWICE))]
    svg = plot_depth(analyses, format="svg").decode("utf-8")
    parse(svg)
    for text in ["vgg_16", "tiny_resnet (h)", "tiny_resnet (w)", "tiny_resnet: misaligned merge"]:
        assert text in svg


def test_cli_plot_unknown_format_exits_2(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rf.xyz"
    assert main(["plot", str(MODELS / "vgg_16.yaml"), "-o", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"{out}: cannot plot to format 'xyz' (expected one of: ")
