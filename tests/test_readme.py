"""README: the set-up commands, the ones CI runs, and every example runs as written."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from rfgraph import analyze, loads
from rfgraph.cli import main
from rfgraph.ops import OPS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def setup_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block, "README.md opens with a sh block of set-up commands"
    return block.group(1).strip().splitlines()


def test_readme_opens_with_an_install_and_run_and_an_install_and_test_command():
    run, test = setup_commands()
    assert run.startswith("pip install . && rfgraph analyze models/")
    assert (ROOT / run.split()[-1]).is_file()
    assert test.startswith("pip install ") and test.endswith("python -m pytest -q")


def test_ci_runs_the_readme_test_command():
    _, test = setup_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert "python3 -m venv" in ci and "--system-site-packages" not in ci


@pytest.mark.parametrize("code", blocks("python"), ids=lambda c: c.splitlines()[0][:40])
def test_python_examples_run_and_print_what_their_comments_say(code, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    promised = [
        line.split("# ", 1)[1] for line in code.splitlines() if line.startswith("print(") and "# " in line
    ]
    assert printed == promised


COMMANDS = [block for block in blocks("text") if block.startswith("$ rfgraph ")]


@pytest.mark.parametrize("block", COMMANDS, ids=lambda b: b.splitlines()[0][2:60])
def test_command_examples_print_what_the_readme_shows(block, monkeypatch):
    monkeypatch.chdir(ROOT)
    command, *shown = block.rstrip("\n").splitlines()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(shlex.split(command)[2:]) in (0, 1)
    lines = out.getvalue().splitlines()
    # every line the README shows comes out, in order; "..." stands for lines left out
    at = 0
    for line in shown:
        if line == "...":
            continue
        assert line in lines[at:], line
        at = lines.index(line, at) + 1


def test_there_are_examples_to_run():
    assert len(blocks("python")) >= 1 and len(COMMANDS) >= 3


def test_the_op_table_names_every_op_and_parameter():
    table = README.split("| ops | parameters |", 1)[1].split("\n\n", 1)[0]
    for name, op in OPS.items():
        assert f"`{name}`" in table, name
        row = next(line for line in table.splitlines() if f"`{name}`" in line)
        for p in op.params:
            assert p.name in row, (name, p.name)


NETWORKS = [block for block in blocks("yaml") if "layers:" in block]


@pytest.mark.parametrize("text", NETWORKS, ids=lambda t: t.split("\n", 1)[0][:40])
def test_yaml_examples_load_and_check(text):
    analysis = analyze(loads(text))
    if "name: wavenet" in text:  # the causal stack: aligned by ends, as the README says
        assert analysis.aligned and analysis.network.align == "end"
        assert not analyze(loads(text.replace("align: end", "align: centre"))).aligned


def test_there_are_networks_in_yaml_to_load():
    assert len(NETWORKS) == 2
