"""README's set-up commands: the ones a newcomer pastes, and the one CI runs."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
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
