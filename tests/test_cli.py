"""The command line, called in-process: output, JSON contract and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from nets import MISALIGNED_BY_PADDING, TINY_RESNET

from rfgraph.cli import main

ALIGNED = TINY_RESNET

MISALIGNED = MISALIGNED_BY_PADDING


@pytest.fixture
def spec(tmp_path):
    def write(text: str, name: str = "net.yaml") -> str:
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    return write


def test_analyze_json_is_the_documented_document(spec, capsys):
    assert main(["analyze", spec(ALIGNED), "--format", "json", "--input-size", "224"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["name", "input", "input_size", "outputs", "aligned", "nodes", "misalignments"]
    assert (doc["name"], doc["input"], doc["input_size"], doc["outputs"]) == (
        "tiny_resnet",
        "images",
        [224, 224],
        ["block1"],
    )
    assert list(doc["nodes"]) == ["images", "conv1", "pool1", "shortcut", "branch", "block1"]
    assert doc["nodes"]["block1"] == {
        "r": [19, 19],
        "S": [8, 8],
        "P": [7, 7],
        "r_min": [11, 11],
        "aligned": True,
        "global": False,
        "size": [28, 28],
    }
    assert doc["aligned"] is True and doc["misalignments"] == []


def test_analyze_json_reports_misalignments_with_exact_centres(spec, capsys):
    assert main(["analyze", spec(MISALIGNED), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["aligned"] is False and doc["nodes"]["block1"]["aligned"] is False
    first = doc["misalignments"][0]
    assert (first["node"], first["axis"], first["axis_name"]) == ("block1", 0, "h")
    assert (first["rule"], first["reason"], first["period"]) == ("centre", "centres differ", 1)
    assert first["inputs"] == [
        {"node": "shortcut", "r": 11, "S": 8, "P": 3, "centre": 2, "anchors": [2]},
        {"node": "branch", "r": 19, "S": 8, "P": 3, "centre": 6, "anchors": [6]},
    ]


def test_fractions_are_strings(spec, capsys):
    text = "layers:\n  - {name: a, op: conv, kernel: 2, inputs: [input]}\n  - {name: b, op: relu, inputs: [input]}\n  - {name: m, op: add, inputs: [a, b]}\n"
    main(["analyze", spec(text), "--format", "json"])
    centres = [i["centre"] for i in json.loads(capsys.readouterr().out)["misalignments"][0]["inputs"]]
    assert centres == ["1/2", 0]


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_other_formats_name_every_node(spec, capsys, fmt):
    assert main(["analyze", spec(ALIGNED), "--format", fmt]) == 0
    out = capsys.readouterr().out
    for node in ["images", "conv1", "pool1", "shortcut", "branch", "block1"]:
        assert node in out


def test_table_collapses_equal_axes_and_flags_assumed_padding(spec, capsys):
    main(["analyze", spec(ALIGNED)])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("block1"))
    assert row.split()[:6] == ["block1", "add", "19", "8", "7", "11"]
    assert "P*" in row and "give --input-size" in out


def test_relative_to(spec, capsys):
    assert main(["analyze", spec(ALIGNED), "--relative-to", "pool1", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["input"] == "pool1" and list(doc["nodes"]) == ["pool1", "shortcut", "branch", "block1"]
    assert doc["nodes"]["block1"]["r"] == [3, 3]


def test_output_file(spec, tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["analyze", spec(ALIGNED), "--format", "json", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    assert json.loads(out.read_text())["name"] == "tiny_resnet"


def test_check_exit_codes(spec, capsys):
    good, bad = spec(ALIGNED, "good.yaml"), spec(MISALIGNED, "bad.yaml")
    broken = spec("layers: [{name: c, op: conv, kernal: 3}]", "broken.yaml")
    assert main(["check", good]) == 0
    assert main(["check", good, bad]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:8: node 'block1' axis h: centres differ: shortcut (r=11, S=8, P=3, centre=2)" in out
    assert main(["check", good, bad, broken]) == 2
    assert f"{broken}:1: node 'c': layer: unknown key 'kernal'" in capsys.readouterr().err


def test_invalid_input_is_one_line_on_stderr(spec, capsys):
    assert main(["analyze", spec("layers:\n  - {name: c, op: conv, stride: 0}\n")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().endswith("net.yaml:2: node 'c': stride must be at least 1, got 0")
    assert len(captured.err.strip().splitlines()) == 1


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["analyze"])
    assert info.value.code == 2


def test_python_dash_m(spec):
    run = subprocess.run(
        [sys.executable, "-m", "rfgraph", "check", spec(MISALIGNED)], capture_output=True, text=True
    )
    assert run.returncode == 1 and "centres differ" in run.stdout and run.stderr == ""


@pytest.mark.parametrize("command", ["check", "analyze", "draw", "sizes"])
def test_a_yaml_file_never_loads_torch_onnx_or_the_importers(spec, command):
    """Every command that also takes a model to import starts without what importing needs."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "rfgraph", command, spec(ALIGNED)],
        capture_output=True,
        text=True,
    )
    assert run.returncode in (0, 1), run.stderr
    loaded = [
        line.rpartition("|")[2].strip() for line in run.stderr.splitlines() if line.startswith("import time:")
    ]
    assert "rfgraph.cli" in loaded and "rfgraph.analysis" in loaded  # what -X importtime shows
    assert [
        m for m in loaded if m.split(".")[0] in ("torch", "onnx") or m.startswith("rfgraph.importers")
    ] == []


def test_input_size_is_one_token_and_never_swallows_positionals(spec, capsys):
    good, other = spec(ALIGNED, "good.yaml"), spec(ALIGNED, "other.yaml")
    assert main(["check", "--input-size", "224", good, other]) == 0
    assert f"{other}: aligned" in capsys.readouterr().out
    for argv in (
        ["analyze", "--input-size", "224x320", good, "--format", "json"],
        ["analyze", "--input-size", "224X320", "--format", "json", good],
        ["analyze", good, "--input-size=224x320", "--format", "json"],
    ):
        assert main(argv) == 0
        assert json.loads(capsys.readouterr().out)["input_size"] == [224, 320]
    # feature indices after the size stay feature indices
    assert main(["locate", good, "block1", "--input-size", "224", "0", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["feature"] == [0, 1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "expected a size such as 224, or one per axis such as 224x160, got 'abc'"),
        ("0", "sizes must be at least 1, got '0'"),
        ("224x0", "sizes must be at least 1, got '224x0'"),
        ("1.5", "expected a size such as 224"),
        ("224,160", "expected a size such as 224"),
    ],
)
def test_bad_input_sizes_are_usage_errors(spec, capsys, value, message):
    with pytest.raises(SystemExit) as info:
        main(["analyze", spec(ALIGNED), "--input-size", value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"argument --input-size: {message}" in err and "Traceback" not in err


def test_input_size_of_the_wrong_length_is_one_located_line(spec, tmp_path, capsys):
    assert main(["analyze", spec(ALIGNED), "--input-size", "8x8x8"]) == 2
    assert capsys.readouterr().err.endswith("input size must be 1 or 2 positive integers, got [8, 8, 8]\n")
    one = tmp_path / "one.yaml"
    one.write_text("dims: 1\nlayers: [{name: c, op: conv, kernel: 3}]\n")
    assert main(["analyze", str(one), "--input-size", "8x8"]) == 2
    assert capsys.readouterr().err.endswith("input size must be one positive integer, got [8, 8]\n")


def test_names_the_terminal_cannot_encode_are_escaped(spec):
    path = spec('layers: [{name: "café →", op: relu}]\n')
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    run = subprocess.run([sys.executable, "-m", "rfgraph", "analyze", path], capture_output=True, env=env)
    assert run.returncode == 0 and b"caf\\xe9 \\u2192" in run.stdout and run.stderr == b""
