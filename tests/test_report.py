"""The human table: notes for border layers and outputs, --only and --endpoints."""

from __future__ import annotations

import json

import pytest

from rfgraph import analyze, loads
from rfgraph.cli import main
from rfgraph.report import is_endpoint, markdown, select, table

INCEPTION_LIKE = """
name: inception_like
layers:
  - {name: Conv2d_1a_3x3, op: conv, kernel: 3, stride: 2, padding: 1}
  - {name: Mixed_5b/Branch_0/Conv2d_0a_1x1, op: conv, kernel: 1, inputs: [Conv2d_1a_3x3]}
  - {name: Mixed_5b/Branch_1/Conv2d_0b_5x5, op: conv, kernel: 5, padding: 2, inputs: [Conv2d_1a_3x3]}
  - {name: Mixed_5b, op: concat, inputs: [Mixed_5b/Branch_0/Conv2d_0a_1x1, Mixed_5b/Branch_1/Conv2d_0b_5x5]}
  - {name: Logits/Conv2d_1c_1x1, op: conv, kernel: 1}
"""

CHAIN = """
name: chain
dims: 1
layers:
  - {name: c1, op: conv, kernel: 5, padding: 2}
  - {name: c2, op: conv, kernel: 5, padding: 2}
  - {name: c3, op: conv, kernel: 5, padding: 2}
"""


def _row(text: str, node: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.split()[:1] == [node])


def test_endpoints_are_outputs_merges_and_names_without_a_slash():
    a = analyze(loads(INCEPTION_LIKE))
    assert [v for v in a if is_endpoint(a, v)] == [
        "input",
        "Conv2d_1a_3x3",
        "Mixed_5b",
        "Logits/Conv2d_1c_1x1",
    ]
    assert select(a, endpoints=True) == [v for v in a if is_endpoint(a, v)]


@pytest.mark.parametrize(
    ("only", "endpoints", "shown"),
    [
        (["Mixed_5b/*"], False, ["Mixed_5b/Branch_0/Conv2d_0a_1x1", "Mixed_5b/Branch_1/Conv2d_0b_5x5"]),
        (["Mixed_5b*"], True, ["Mixed_5b"]),
        (["*5x5", "Conv2d_1?_3x3"], False, ["Conv2d_1a_3x3", "Mixed_5b/Branch_1/Conv2d_0b_5x5"]),
        (["mixed_5b"], False, []),  # case-sensitive
        ([], False, None),
    ],
    ids=["prefix", "with_endpoints", "two_patterns", "case_sensitive", "none"],
)
def test_select(only, endpoints, shown):
    a = analyze(loads(INCEPTION_LIKE))
    assert select(a, only, endpoints=endpoints) == (list(a) if shown is None else shown)


def test_table_of_selected_nodes_says_how_many_are_hidden():
    a = analyze(loads(INCEPTION_LIKE))
    text = table(a, ["Mixed_5b"])
    assert [line.split()[0] for line in text.splitlines()[2:4]] == ["node", "Mixed_5b"]
    assert "Conv2d_1a_3x3" not in text and text.endswith("showing 1 of 6 nodes\n")
    assert "| Mixed_5b | concat |" in markdown(a, ["Mixed_5b"])
    assert table(a) == table(a, None) and "showing" not in table(a)


def test_table_marks_border_layers_and_says_what_the_output_sees():
    text = table(analyze(loads(CHAIN), 8))
    assert _row(text, "c2")[-1] == "8"  # the size column: no note on c2
    assert _row(text, "c3")[-1] == "border"
    assert (
        "border: 1 layer, from 'c3', whose every input's r_min already covers the 8 input: "
        "predicted unproductive (rfa-toolbox's border layers)." in text
    )
    assert "output 'c3': features that see the whole 8 input: x 6 of 8." in text
    small = table(analyze(loads(CHAIN), 5))
    assert "output 'c3': every feature sees the whole 5 input." in small
    assert _row(small, "c2")[-1] == "border"


def test_table_names_the_axes_of_a_one_axis_border():
    text = "layers: [{name: c1, op: conv, kernel: [7, 1], padding: [[3, 3], 0]}, {name: c2, op: conv, kernel: 1}]"
    out = table(analyze(loads(text), 6))
    assert _row(out, "c2")[-2:] == ["border", "h"]


def test_table_without_size_has_no_border_notes():
    text = table(analyze(loads(CHAIN)))
    assert "border" not in text and "output" not in text


def test_misaligned_and_border_notes_combine():
    text = """
dims: 1
layers:
  - {name: a, op: conv, kernel: 9, padding: 4, inputs: [input]}
  - {name: b, op: conv, kernel: 9, padding: [[3, 5]], inputs: [input]}
  - {name: a2, op: conv, kernel: 3, padding: 1, inputs: [a]}
  - {name: b2, op: conv, kernel: 3, padding: 1, inputs: [b]}
  - {name: m, op: add, inputs: [a2, b2]}
"""
    out = table(analyze(loads(text), 8))
    assert _row(out, "m")[-2:] == ["MISALIGNED,", "border"]


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(INCEPTION_LIKE)
    return str(path)


def test_cli_only_is_repeatable(spec, capsys):
    assert main(["analyze", spec, "--only", "Mixed_5b", "--only", "Logits/*"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()[3:] if line and not line.startswith("showing")]
    assert names == ["Mixed_5b", "Logits/Conv2d_1c_1x1"]
    assert out.endswith("showing 2 of 6 nodes\n")


def test_cli_endpoints_markdown(spec, capsys):
    assert main(["analyze", spec, "--endpoints", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "Branch" not in out and "| Mixed_5b |" in out and "- showing 4 of 6 nodes" in out


def test_cli_filter_without_a_match_exits_2(spec, capsys):
    assert main(["analyze", spec, "--only", "nothing*"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(spec + ": ") and "no node matches --only nothing*\n" in err


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_cli_filters_every_format(spec, capsys, fmt):
    assert main(["analyze", spec, "--endpoints", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "Mixed_5b" in out and "Branch" not in out
    assert main(["analyze", spec, "--only", "Mixed_5b/*", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "Branch_1" in out and "Conv2d_1a_3x3" not in out
    if fmt == "json":
        doc = json.loads(out)
        assert list(doc["nodes"]) == ["Mixed_5b/Branch_0/Conv2d_0a_1x1", "Mixed_5b/Branch_1/Conv2d_0b_5x5"]


@pytest.mark.parametrize(
    ("name", "first_line"),
    [
        ("out.json", "{"),
        ("out.csv", "node,op,axis"),
        ("out.md", "**inception_like"),
        ("out.txt", "inception_like"),
    ],
)
def test_output_format_follows_the_extension_unless_given(spec, tmp_path, name, first_line):
    out = tmp_path / name
    assert main(["analyze", spec, "-o", str(out)]) == 0
    assert out.read_text().startswith(first_line)
    assert main(["analyze", spec, "-o", str(out), "--format", "table"]) == 0
    assert out.read_text().startswith("inception_like")


def test_cli_help_documents_the_endpoint_rule(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "outputs, merges and nodes whose name has no '/'" in out
