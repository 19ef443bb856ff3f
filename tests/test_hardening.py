"""Hostile and broken inputs, exact arithmetic at the extremes, determinism, atomic output.

Every file in tests/broken/ is named for the mistake it shows. ``BROKEN`` says, for
each, the line the error must point at and a fragment of its message. Each one must
make ``rfgraph analyze`` exit 2 with exactly one line ``FILE:LINE: message`` on
stderr, quickly, and run nothing (the ``!!python`` payloads would create MARKER).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

import rfgraph
from rfgraph import Layer, RFGraphError, analyze, load, loads, make_network, spec
from rfgraph.cli import main, write_atomically

HERE = Path(__file__).parent
BROKEN_DIR = HERE / "broken"
MODELS = HERE.parent / "models"
MARKER = "rfgraph-was-run"  # what the !!python payloads in tests/broken/ would create
MISSING = "does_not_exist.yaml"

# either guard against deep nesting will do: libyaml's own (PyYAML 6.0.4) or rfgraph's
NESTING = ("nested deeper than 64 levels", "exceeded maximum nesting depth")

# file -> (line of the error, or None where the file has no lines; fragment(s) of the message)
BROKEN: dict[str, tuple[int | None, str | tuple[str, ...]]] = {
    # the file itself
    MISSING: (None, "no such file"),
    "is_a_directory.yaml": (None, "is a directory"),
    "invalid_utf8_latin1_name.yaml": (3, "not UTF-8 text (byte 0xe9)"),
    "binary_junk_png_header.yaml": (1, "not UTF-8 text (byte 0x89)"),
    "utf16_with_bom.yaml": (1, "not UTF-8"),
    "nul_byte_in_name.yaml": (3, "not YAML text: control characters are not allowed #x0000"),
    # YAML syntax and structure
    "empty_file.yaml": (1, "empty document"),
    "comments_only.yaml": (1, "empty document"),
    "document_marker_only.yaml": (1, "empty document"),
    "list_at_top_level.yaml": (1, "the document must be a mapping, got a list"),
    "scalar_at_top_level.yaml": (1, "the document must be a mapping, got 'conv 3x3"),
    "tab_indentation.yaml": (2, "a tab (YAML indents with spaces only)"),
    "several_yaml_documents.yaml": (3, "expected a single document in the stream, but found another"),
    "unclosed_flow_mapping.yaml": (3, "YAML syntax error"),
    "undefined_alias.yaml": (3, "found undefined alias"),
    # 100,000 levels: PyYAML 6.0.4's libyaml stops these itself, earlier releases meet rfgraph's guard
    "deeply_nested_brackets.yaml": (1, NESTING),
    "deeply_nested_block_lists.yaml": (2, NESTING),
    "deeply_nested_complex_keys.yaml": (1, NESTING),
    "nested_100_levels.yaml": (1, "nested deeper than 64 levels"),  # below libyaml's own limit
    "alias_bomb_merge_keys.yaml": (2, "document expands too much"),
    "alias_bomb_billion_laughs.yaml": (2, "input name must be a single value, got a list"),
    "recursive_anchor.yaml": (1, "layer must be a mapping, got a list"),
    "recursive_merge_key.yaml": (2, "merge keys ('<<') nested too deeply"),
    "merge_key_of_scalars.yaml": (2, "layer ('<<') must be a mapping"),
    "key_is_a_list.yaml": (2, "keys must be names, got a list"),
    # tags that would run code, and other tags
    "python_tag_os_system.yaml": (
        2,
        "YAML tags are not allowed here (found !!python/object/apply:os.system)",
    ),
    "python_tag_subprocess.yaml": (2, "found !!python/object/apply:subprocess.check_call"),
    "python_name_tag.yaml": (2, "found !!python/name:os.system"),
    "local_tag.yaml": (3, "found !layer"),
    # keys
    "duplicate_yaml_key.yaml": (2, "duplicate key 'kernel'"),
    "duplicate_top_level_key.yaml": (3, "duplicate key 'layers'"),
    "misspelled_key_kernal.yaml": (3, "unknown key 'kernal' (did you mean 'kernel'?"),
    "unknown_top_level_key.yaml": (2, "unknown key 'layer' (did you mean 'layers'?"),
    "param_the_op_does_not_take.yaml": (2, "op 'relu' does not take 'stride'"),
    "missing_layers_key.yaml": (1, "missing key 'layers'"),
    "empty_layers_list.yaml": (2, "'layers' must be a non-empty list, got an empty list"),
    "layer_without_name.yaml": (3, "missing key 'name'"),
    "layer_without_op.yaml": (2, "node 'c1': missing key 'op'"),
    "layer_is_a_string.yaml": (2, "layer must be a mapping, got 'conv'"),
    "name_is_a_mapping.yaml": (2, "name must be a single value, got a mapping"),
    "empty_layer_name.yaml": (2, "name must not be empty"),
    "unknown_op.yaml": (3, "unknown op 'conv3d' (did you mean 'conv'?"),
    # names and the graph
    "duplicate_layer_name.yaml": (4, "duplicate layer name 'c1' (first on line 2)"),
    "layer_named_like_the_input.yaml": (3, "layer name 'images' is the input's name"),
    "unknown_input_name.yaml": (3, "node 'c2': unknown input 'c9'"),
    "cycle_of_three_layers.yaml": (3, "cycle: b -> d -> b"),
    "self_loop.yaml": (3, "cycle: b -> b"),
    "unreachable_layer_behind_a_cycle.yaml": (4, "cycle: x -> y -> x"),
    "layer_with_no_inputs.yaml": (2, "op 'relu' takes exactly 1 input(s), got 0"),
    "merge_with_one_input.yaml": (3, "op 'add' takes at least 2 input(s), got 1"),
    "conv_with_two_inputs.yaml": (3, "op 'conv' takes exactly 1 input(s), got 2"),
    # numbers
    "zero_kernel.yaml": (2, "kernel must be at least 1, got 0"),
    "negative_stride.yaml": (2, "stride must be at least 1, got -2"),
    "float_kernel.yaml": (2, "kernel must be an integer, got '2.5'"),
    "infinite_kernel.yaml": (2, "kernel must be an integer, got '.inf'"),
    "string_dilation.yaml": (2, "dilation must be an integer, got 'two'"),
    "date_as_kernel.yaml": (2, "kernel must be an integer, got '2024-01-31'"),
    "huge_integer_literal.yaml": (2, "kernel: cannot read '9999"),
    "boolean_kernel.yaml": (2, "kernel must be an integer, got the boolean 'true'"),
    "boolean_yes_in_per_axis_stride.yaml": (2, "stride[1] must be an integer, got the boolean 'yes'"),
    "boolean_padding.yaml": (
        2,
        "padding must be same, same_lower, valid, an integer or [before, after], got 'false'",
    ),
    "boolean_input_size.yaml": (1, "input size[0] must be an integer, got the boolean 'true'"),
    "per_axis_list_too_long.yaml": (2, "kernel: expected one value or 2 (one per axis), got 3"),
    "per_axis_list_too_short_3d.yaml": (3, "stride: expected one value or 3 (one per axis), got 2"),
    "per_axis_list_for_1d.yaml": (3, "kernel: expected one value or 1 (one per axis), got 2"),
    "padding_pair_of_three.yaml": (2, "padding[0]: expected [before, after], got 3 values"),
    "negative_padding_on_conv.yaml": (2, "padding must be at least 0, got -1"),
    "same_padding_on_pad_op.yaml": (2, "padding must be an integer or [before, after], got 'same'"),
    "dims_zero.yaml": (1, "dims must be at least 1, got 0"),
    "dims_a_billion.yaml": (1, "dims must be at most 16, got 1000000000"),
    "input_size_zero.yaml": (1, "input size must be at least 1, got 0"),
    "input_size_wrong_length.yaml": (1, "input size: expected one value or 2 (one per axis), got 3"),
    # found by the analysis, with an input size
    "input_too_small_for_valid_conv.yaml": (
        4,
        "node 'c2': axis h: feature map becomes empty: input size 3",
    ),
    "crop_empties_the_map.yaml": (4, "axis x: feature map becomes empty: input size 4"),
    "merge_of_maps_of_different_sizes.yaml": (5, "different sizes: down 16x16, same 32x32"),
    # CRLF line endings: still broken, still located
    "crlf_misspelled_key.yaml": (4, "unknown key 'strid' (did you mean 'stride'?"),
    "crlf_cycle.yaml": (3, "cycle: b -> c -> b"),
}

ON_DISK = sorted(BROKEN.keys() - {MISSING})
REGULAR = [name for name in ON_DISK if (BROKEN_DIR / name).is_file()]


def has_message(name: str, text: str) -> bool:
    fragment = BROKEN[name][1]
    return any(f in text for f in ((fragment,) if isinstance(fragment, str) else fragment))


def expected_line(name: str) -> str:
    line, _ = BROKEN[name]
    where = str(BROKEN_DIR / name) + ("" if line is None else f":{line}")
    return f"{where}: "


def test_the_catalogue_is_complete():
    assert not (BROKEN_DIR / MISSING).exists()
    assert sorted(p.name for p in BROKEN_DIR.iterdir() if not p.name.startswith(".")) == ON_DISK
    assert len(BROKEN) >= 40


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_exits_2_with_one_located_line(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # a payload that ran would leave MARKER here
    path = str(BROKEN_DIR / name)
    code = main(["analyze", path])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith(expected_line(name)), err
    assert has_message(name, err), err
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_file_raises_the_one_error_type_with_its_line(name):
    with pytest.raises(RFGraphError) as info:
        analyze(BROKEN_DIR / name)
    assert isinstance(info.value, ValueError)
    assert info.value.line == BROKEN[name][0]
    assert has_message(name, str(info.value))


def _run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rfgraph", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent), **env},
    )


def test_check_in_a_subprocess_reports_every_broken_file_on_one_line(tmp_path):
    names = [*REGULAR, MISSING]
    run = _run(["check", *(str(BROKEN_DIR / n) for n in names)], tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == len(names)
    for name, line in zip(names, lines, strict=True):
        assert line.startswith(expected_line(name)) and has_message(name, line), line
    assert not (tmp_path / MARKER).exists()


@pytest.mark.parametrize("name", [n for n, (_, message) in BROKEN.items() if message == NESTING])
def test_deep_nesting_stops_after_a_bounded_number_of_events(name, monkeypatch):
    """Bounded work, counted: tens of thousands of levels, and the guard stops within its depth."""
    read = []

    class Counting(spec._Loader):  # type: ignore[misc,name-defined]
        def get_event(self):
            read.append(None)
            return super().get_event()

    monkeypatch.setattr(spec, "_Loader", Counting)
    with pytest.raises(RFGraphError) as info:
        load(BROKEN_DIR / name)
    assert has_message(name, str(info.value))
    assert (BROKEN_DIR / name).stat().st_size > 100_000 and len(read) <= 100


# The ones that crashed or could have: a C stack overflow, payloads, bytes, no file at all.
@pytest.mark.parametrize(
    "name",
    [
        "deeply_nested_block_lists.yaml",
        "deeply_nested_complex_keys.yaml",
        "python_tag_os_system.yaml",
        "python_tag_subprocess.yaml",
        "alias_bomb_merge_keys.yaml",
        "binary_junk_png_header.yaml",
        "nul_byte_in_name.yaml",
        "is_a_directory.yaml",
        MISSING,
    ],
)
def test_analyze_in_a_subprocess_prints_one_line_and_no_traceback(name, tmp_path):
    run = _run(["analyze", str(BROKEN_DIR / name)], tmp_path)
    assert (run.returncode, run.stdout) == (2, "")
    assert run.stderr.count("\n") == 1 and run.stderr.startswith(expected_line(name)), run.stderr
    assert not (tmp_path / MARKER).exists()


@pytest.mark.skipif(shutil.which("touch") is None, reason="needs touch(1)")
@pytest.mark.parametrize("name", ["python_tag_os_system.yaml", "python_tag_subprocess.yaml"])
def test_the_payloads_are_live(name, tmp_path, monkeypatch):
    # Proof that the tests above can fail: an unsafe YAML loader does run the payload.
    monkeypatch.chdir(tmp_path)
    yaml.load((BROKEN_DIR / name).read_text(), Loader=yaml.UnsafeLoader)
    assert (tmp_path / MARKER).exists()


def test_a_file_too_large_to_be_a_network_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "MAX_BYTES", 1000)
    path = tmp_path / "big.yaml"
    path.write_text("layers:\n" + "  - {name: c, op: relu}\n" * 100)
    with pytest.raises(RFGraphError, match="larger than"):
        load(path)
    if Path("/dev/zero").exists():  # endless: only the cap stops the read
        with pytest.raises(RFGraphError, match="larger than"):
            load("/dev/zero")


def test_an_alias_expansion_budget_grows_with_the_file():
    # Many small merges are fine; only expansion far beyond the text is refused.
    text = (
        "layers:\n  - &base {name: c0, op: conv, kernel: [3, 3], stride: [1, 1], padding: [[1, 1], [1, 1]]}\n"
    )
    text += "".join(f"  - {{<<: *base, name: c{i}}}\n" for i in range(1, 3000))
    assert loads(text).layers["c2999"].params["kernel"] == (3, 3)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("layers:\n  - {name: 2024-01-31, op: relu}\n", "2024-01-31"),  # YAML 1.1 would read a date
        ("layers:\n  - {name: <<, op: relu}\n", "<<"),
        ("layers:\n  - {name: =, op: relu}\n", "="),
    ],
)
def test_words_yaml_would_read_as_dates_or_merges_are_plain_names(text, name):
    assert list(loads(text).layers) == [name]


# --- extremes ---------------------------------------------------------------------------------


def _chain(n: int, kernel: int = 3, stride: int = 1, dims: int = 2) -> list[Layer]:
    conv = {
        "kernel": (kernel,) * dims,
        "stride": (stride,) * dims,
        "dilation": (1,) * dims,
        "padding": ((0, 0),) * dims,
    }
    return [Layer(f"c{i}", "conv", (f"c{i - 1}" if i else "input",), conv) for i in range(n)]


def test_a_chain_of_100000_layers_needs_no_recursion():
    # benchmarks/scaling.py times the 10**6-layer chain (through load and analyze).
    n = 100_000
    limit = sys.getrecursionlimit()
    a = analyze(make_network(_chain(n), dims=1))
    assert a[f"c{n - 1}"].r == (2 * n + 1,) and a[f"c{n - 1}"].r_min == (2 * n + 1,)
    assert a.outputs == (f"c{n - 1}",) and sys.getrecursionlimit() == limit


def test_a_deep_chain_from_yaml_through_the_cli(tmp_path, capsys):
    n = 5000  # five times the recursion limit, through the loader, the pass and the renderer
    text = "dims: 1\nlayers:\n" + "".join(f"  - {{name: c{i}, op: conv, kernel: 2}}\n" for i in range(n))
    path = tmp_path / "deep.yaml"
    path.write_text(text)
    assert main(["analyze", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"][f"c{n - 1}"]["r"] == [n + 1]


def test_strides_whose_product_is_2_to_the_200_stay_exact(tmp_path, capsys):
    text = "dims: 1\nlayers:\n" + "  - {name: c0, op: conv, kernel: 2, stride: 2}\n"
    text += "".join(f"  - {{name: c{i}, op: conv, kernel: 2, stride: 2}}\n" for i in range(1, 200))
    a = analyze(loads(text), 2**200)
    last = a["c199"].axes[0]
    assert (last.r, last.S, last.P, last.size) == (2**200, 2**200, 0, 1)
    assert type(last.S) is int
    path = tmp_path / "s200.yaml"
    path.write_text(text)
    assert main(["analyze", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["nodes"]["c199"]["S"] == [2**200]


def test_two_strides_of_2_to_the_100_and_a_centre_that_is_a_fraction():
    text = "dims: 1\nlayers:\n  - {name: a, op: conv, kernel: 2, stride: 1267650600228229401496703205376}\n  - {name: b, op: conv, kernel: 2, stride: 1267650600228229401496703205376}\n"
    rf = analyze(loads(text))["b"].axes[0]
    assert (rf.S, rf.r) == (2**200, 2 + 2**100)
    assert rf.centre == Fraction(1 + 2**100, 2)


def test_kernels_of_a_billion():
    text = "input: {size: [1000000000, 999999999]}\ndims: 2\nlayers:\n  - {name: big, op: conv, kernel: 1000000000, dilation: [1, 1]}\n"
    with pytest.raises(RFGraphError, match="axis w: feature map becomes empty: input size 999999999"):
        analyze(loads(text))
    a = analyze(loads(text), 10**9)
    assert (a["big"].r, a["big"].size) == ((10**9, 10**9), (1, 1))
    dilated = analyze(loads("layers: [{name: d, op: conv, kernel: 1000000000, dilation: 1000000000}]"))
    assert dilated["d"].r == ((10**9 - 1) * 10**9 + 1,) * 2


def test_names_with_unicode_and_spaces(tmp_path, capsys):
    text = 'input: "image in"\nlayers:\n  - {name: "conv 1 ✓", op: conv, kernel: 3}\n  - {name: 层二, op: conv, kernel: 3, inputs: ["image in"]}\n  - {name: "naïve sum", op: add, inputs: ["conv 1 ✓", 层二]}\n'
    path = tmp_path / "ünï côdé.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["analyze", str(path), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert list(doc["nodes"]) == ["image in", "conv 1 ✓", "层二", "naïve sum"]
    assert doc["nodes"]["naïve sum"]["r"] == [3, 3]
    assert main(["analyze", str(path)]) == 0
    assert "naïve sum" in capsys.readouterr().out
    path.write_text(text.replace('inputs: ["conv 1 ✓"', 'inputs: ["conv 1 ✗"'), encoding="utf-8")
    assert main(["analyze", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}:5: node 'naïve sum': unknown input 'conv 1 ✗'\n"


def test_one_and_three_dimensional_nets():
    one = analyze(
        loads("dims: 1\ninput: {size: 100}\nlayers: [{name: c, op: conv, kernel: 5, stride: 2, padding: 2}]")
    )
    assert (one["c"].r, one["c"].S, one["c"].P, one["c"].size) == ((5,), (2,), (2,), (50,))
    assert one.network.axis_names == ("x",)
    three = analyze(
        loads(
            "dims: 3\ninput: {size: [16, 32, 32]}\nlayers:\n"
            "  - {name: c, op: conv, kernel: [3, 5, 7], stride: [1, 2, 2], padding: same}\n"
            "  - {name: p, op: pool, kernel: 2, stride: 2}\n"
        )
    )
    assert three["p"].r == (4, 7, 9) and three["p"].S == (2, 4, 4) and three["p"].size == (8, 8, 8)
    assert len(three.to_dict()["nodes"]["p"]["P"]) == 3


@pytest.mark.parametrize("model", sorted(MODELS.glob("*.yaml")), ids=lambda p: p.stem)
@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_files_give_the_same_result_as_lf(model, newline, tmp_path):
    text = model.read_text(encoding="utf-8")
    other = tmp_path / model.name
    other.write_bytes(text.replace("\n", newline).encode("utf-8"))
    assert analyze(other).to_dict() == analyze(model).to_dict()
    lf, cr = load(model), load(other)
    assert [cr.line(v) for v in cr.nodes] == [lf.line(v) for v in lf.nodes]


# --- determinism ------------------------------------------------------------------------------

MISALIGNED = """
layers:
  - {name: a, op: conv, kernel: 2, inputs: [input]}
  - {name: b, op: conv, kernel: 3, stride: 2, inputs: [input]}
  - {name: c, op: relu, inputs: [input]}
  - {name: m, op: concat, inputs: [c, b, a]}
  - {name: n, op: add, inputs: [a, c]}
"""


def test_the_same_input_gives_byte_identical_json_across_hash_seeds(tmp_path):
    mis = tmp_path / "misaligned.yaml"
    mis.write_text(MISALIGNED)
    files = [str(mis), str(MODELS / "inception_resnet_v2.yaml")]
    outputs = []
    for seed in ("0", "4242"):
        runs = [_run(["analyze", f, "--format", "json"], tmp_path, PYTHONHASHSEED=seed) for f in files]
        assert all(r.returncode == 0 and r.stderr == "" for r in runs)
        outputs.append([r.stdout for r in runs])
    assert outputs[0] == outputs[1]
    assert json.loads(outputs[0][0])["misalignments"]  # the misaligned net reports its findings


def test_the_same_input_gives_byte_identical_json_in_process(capsys):
    texts = []
    for _ in range(2):
        assert (
            main(["analyze", str(MODELS / "inception_v3.yaml"), "--format", "json", "--input-size", "299"])
            == 0
        )
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1]


# --- output files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["misspelled_key_kernal.yaml", "input_too_small_for_valid_conv.yaml", MISSING]
)
def test_a_failed_analysis_leaves_the_output_file_alone(name, tmp_path, capsys):
    out = tmp_path / "out.json"
    out.write_text("previous result\n")
    assert main(["analyze", str(BROKEN_DIR / name), "--format", "json", "-o", str(out)]) == 2
    assert out.read_text() == "previous result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    assert capsys.readouterr().err.count("\n") == 1


def test_an_output_in_a_missing_directory_is_one_located_line(tmp_path, capsys):
    out = tmp_path / "no" / "such" / "dir" / "out.json"
    assert main(["analyze", str(MODELS / "vgg_16.yaml"), "-o", str(out)]) == 2
    assert re.fullmatch(rf"{re.escape(str(out))}: cannot write: .+\n", capsys.readouterr().err)


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp_file(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("previous result\n")
    with pytest.raises(UnicodeEncodeError):  # the lone surrogate fails after 10**6 characters went out
        write_atomically(str(out), "x" * 10**6 + "\ud800")
    assert out.read_text() == "previous result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_rename_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    out = tmp_path / "out.json"
    out.write_text("previous result\n")

    def refuse(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        write_atomically(str(out), "new result\n")
    monkeypatch.undo()
    assert out.read_text() == "previous result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_successful_write_replaces_the_file_whole(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("previous result, longer than the new one\n")
    write_atomically(str(out), "new\n")
    assert out.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_rfgraph_error_is_the_only_public_error():
    assert issubclass(rfgraph.RFGraphError, ValueError)
