"""`rfgraph check` in CI: many files, text / GitHub / JSON output, exit codes, the pre-commit hook."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml
from nets import MISALIGNED_BY_PADDING, TINY_RESNET

from rfgraph import analyze
from rfgraph.checks import annotation, expand
from rfgraph.cli import main

ROOT = Path(__file__).resolve().parent.parent

ALIGNED = TINY_RESNET
MISALIGNED_ON_ONE_AXIS = ALIGNED.replace("padding: 1, inputs: [pool1]", "padding: [1, 0], inputs: [pool1]")
UNKNOWN_KEY = "layers:\n  - {name: c, op: conv, kernel: 3}\n  - {name: d, op: conv, kernal: 3}\n"
KERNAL = (
    "node 'd': layer: unknown key 'kernal' (did you mean 'kernel'? "
    "expected one of: name, op, inputs, channels, kernel, stride, dilation, padding)"
)
SPECS = {
    "aligned": ALIGNED,
    "misaligned": MISALIGNED_BY_PADDING,
    "invalid": UNKNOWN_KEY,
}


@pytest.fixture
def specs(tmp_path, monkeypatch):
    """Write aligned.yaml, misaligned.yaml, invalid.yaml in tmp_path and work from there."""
    for name, text in SPECS.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "code"),
    [
        (["aligned.yaml"], 0),
        (["aligned.yaml", "misaligned.yaml"], 1),
        (["misaligned.yaml", "aligned.yaml"], 1),
        (["invalid.yaml", "misaligned.yaml"], 2),
        (["misaligned.yaml", "invalid.yaml", "aligned.yaml"], 2),
        (["missing.yaml"], 2),
    ],
)
@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_exit_code_is_the_worst_file(specs, capsys, files, code, fmt):
    assert main(["check", "--format", fmt, *files]) == code


def test_text_one_summary_line_per_file(specs, capsys):
    assert main(["check", "aligned.yaml", "misaligned.yaml", "invalid.yaml"]) == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "aligned.yaml: aligned (6 nodes, 1 merge)",
        "misaligned.yaml: MISALIGNED: 1 of 1 merge on some axis",
        "misaligned.yaml:8: node 'block1' axis h: centres differ: shortcut (r=11, S=8, P=3, centre=2), "
        "branch (r=19, S=8, P=3, centre=6)",
        "misaligned.yaml:8: node 'block1' axis w: centres differ: shortcut (r=11, S=8, P=3, centre=2), "
        "branch (r=19, S=8, P=3, centre=6)",
    ]
    assert err.splitlines() == ["invalid.yaml:3: " + KERNAL]


def test_a_merge_misaligned_on_one_axis_is_one_merge(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text(MISALIGNED_ON_ONE_AXIS)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{path}: MISALIGNED: 1 of 1 merge on some axis"
    assert len(out) == 2 and "axis w: centres differ" in out[1]


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """specs/ with YAML files of both suffixes, a non-YAML file and a nested directory."""
    for name in ["specs/b.yaml", "specs/a.yml", "specs/nested/d.yaml", "other/e.yaml"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(ALIGNED)
    (tmp_path / "specs/notes.txt").write_text("not a spec")
    (tmp_path / "specs/backup.yaml.bak").write_text("not a spec")
    (tmp_path / "specs/empty").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def checked(out: str) -> list[str]:
    return [line.split(": aligned")[0] for line in out.splitlines()]


@pytest.mark.parametrize(
    ("patterns", "files"),
    [
        (["specs"], ["specs/a.yml", "specs/b.yaml"]),
        (["specs/"], ["specs/a.yml", "specs/b.yaml"]),
        (["specs/*.yaml"], ["specs/b.yaml"]),
        (["specs/*.y*ml"], ["specs/a.yml", "specs/b.yaml"]),
        (["specs/**/*.yaml"], ["specs/b.yaml", "specs/nested/d.yaml"]),
        (["*/e.yaml", "specs/b.yaml"], ["other/e.yaml", "specs/b.yaml"]),
        (["specs/b.yaml", "specs", "./specs/b.yaml"], ["specs/b.yaml", "specs/a.yml"]),
    ],
)
def test_directories_and_globs_expand_to_sorted_files_each_once(tree, capsys, patterns, files):
    assert main(["check", *patterns]) == 0
    found = checked(capsys.readouterr().out)
    assert [os.path.normpath(f) for f in found] == [os.path.normpath(f) for f in files]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("specs/empty", "specs/empty: no *.yaml or *.yml files in this directory"),
        ("specs/*.json", "specs/*.json: no files match"),
        ("specs/missing.yaml", "specs/missing.yaml: no such file"),
    ],
)
def test_naming_nothing_is_an_error(tree, capsys, pattern, message):
    assert main(["check", "specs/b.yaml", pattern]) == 2
    out, err = capsys.readouterr()
    assert [os.path.normpath(f) for f in checked(out)] == [os.path.normpath("specs/b.yaml")]
    assert err.strip() == message


def test_an_existing_file_with_glob_characters_is_itself(tmp_path):
    odd = tmp_path / "net[1].yaml"
    odd.write_text(ALIGNED)
    assert expand(str(odd)) == [str(odd)]


def test_github_annotations_point_at_the_merge_and_the_error(specs, capsys):
    assert main(["check", "--format", "github", "aligned.yaml", "misaligned.yaml", "invalid.yaml"]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines() == [
        "aligned.yaml: aligned (6 nodes, 1 merge)",
        "misaligned.yaml: MISALIGNED: 1 of 1 merge on some axis",
        "::error file=misaligned.yaml,line=8,title=rfgraph%3A misaligned merge::node 'block1' axis h: "
        "centres differ: shortcut (r=11, S=8, P=3, centre=2), branch (r=19, S=8, P=3, centre=6)",
        "::error file=misaligned.yaml,line=8,title=rfgraph%3A misaligned merge::node 'block1' axis w: "
        "centres differ: shortcut (r=11, S=8, P=3, centre=2), branch (r=19, S=8, P=3, centre=6)",
        "::error file=invalid.yaml,line=3,title=rfgraph%3A invalid network spec::" + KERNAL,
    ]


def test_github_annotation_names_the_node_and_leaves_out_an_unknown_line(specs, capsys):
    (specs / "bad_stride.yaml").write_text("layers:\n  - {name: c, op: conv, stride: 0}\n")
    assert main(["check", "--format", "github", "bad_stride.yaml", "missing.yaml"]) == 2
    assert capsys.readouterr().out.splitlines() == [
        "::error file=bad_stride.yaml,line=2,title=rfgraph%3A invalid network spec::"
        "node 'c': stride must be at least 1, got 0",
        "::error file=missing.yaml,title=rfgraph%3A invalid network spec::no such file",
    ]


@pytest.mark.parametrize(
    ("path", "message", "expected"),
    [
        ("a.yaml", "plain", "::error file=a.yaml,line=3,title=T::plain"),
        ("a.yaml", "100% sure", "::error file=a.yaml,line=3,title=T::100%25 sure"),
        ("a.yaml", "one\ntwo\r\n", "::error file=a.yaml,line=3,title=T::one%0Atwo%0D%0A"),
        ("a.yaml", "%0A is not a newline", "::error file=a.yaml,line=3,title=T::%250A is not a newline"),
        ("x,y:z%.yaml", "m", "::error file=x%2Cy%3Az%25.yaml,line=3,title=T::m"),
    ],
)
def test_github_escaping(path, message, expected):
    assert annotation(path, 3, "T", message) == expected


def test_github_escapes_what_comes_from_the_file(tmp_path, capsys):
    path = tmp_path / "50%,v2.yaml"
    path.write_text(MISALIGNED_BY_PADDING.replace("block1", "block%0A1"))
    assert main(["check", "--format", "github", str(path)]) == 1
    annotations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert len(annotations) == 2
    for line in annotations:
        shown = str(path).replace(os.sep, "/").replace("%", "%25").replace(":", "%3A").replace(",", "%2C")
        assert line.startswith(f"::error file={shown},line=8,")
        assert "node 'block%250A1' axis" in line


def test_json_is_one_document_for_all_files(specs, capsys):
    assert main(["check", "--format", "json", "aligned.yaml", "misaligned.yaml", "invalid.yaml"]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    doc = json.loads(out)
    assert doc["status"] == "invalid"
    assert [(f["path"], f["status"]) for f in doc["files"]] == [
        ("aligned.yaml", "ok"),
        ("misaligned.yaml", "misaligned"),
        ("invalid.yaml", "invalid"),
    ]
    ok, misaligned, invalid = doc["files"]
    assert ok["error"] is None and ok["misalignments"] == []
    assert misaligned["error"] is None
    assert invalid["misalignments"] == []
    assert invalid["error"] == {
        "message": KERNAL.removeprefix("node 'd': "),
        "line": 3,
        "node": "d",
        "text": "invalid.yaml:3: " + KERNAL,
    }


def test_json_misalignments_have_the_analysis_shape_plus_the_line(specs, capsys):
    main(["check", "--format", "json", "misaligned.yaml"])
    found = json.loads(capsys.readouterr().out)["files"][0]["misalignments"]
    assert [m.pop("line") for m in found] == [8, 8]
    assert found == analyze("misaligned.yaml").to_dict()["misalignments"]


@pytest.mark.parametrize(("files", "status"), [(["aligned.yaml"], "ok"), (["misaligned.yaml"], "misaligned")])
def test_json_overall_status(specs, capsys, files, status):
    main(["check", "--format", "json", *files])
    assert json.loads(capsys.readouterr().out)["status"] == status


def test_input_size_applies_to_every_file(tmp_path, capsys):
    files = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    for path in files:
        path.write_text("layers: [{name: c, op: conv, kernel: 7}]\n")
    assert main(["check", *map(str, files)]) == 0
    capsys.readouterr()
    assert main(["check", "--input-size", "5", "--", *map(str, files)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith(f"{path}:") for line, path in zip(err, files, strict=True))


# The hook, run the way pre-commit runs it ----------------------------------------------------------


def hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (found,) = [h for h in hooks if h["id"] == "rfgraph-check"]
    return found


def test_hook_manifest():
    h = hook()
    assert {"id", "name", "entry", "language"} <= set(h)
    assert h["language"] == "python" and shlex.split(h["entry"]) == ["rfgraph", "check"]
    chosen = [
        f for f in ["a.yaml", "specs/b.yml", "c.yaml.txt", "d.json", "yaml"] if re.search(h["files"], f)
    ]
    assert chosen == ["a.yaml", "specs/b.yml"]


def test_hook_manifest_is_valid_for_pre_commit():
    clientlib = pytest.importorskip("pre_commit.clientlib")
    (loaded,) = clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert loaded["id"] == "rfgraph-check" and loaded["pass_filenames"]


def hook_command(runner: str) -> tuple[list[str], dict[str, str]]:
    h = hook()
    argv = [*shlex.split(h["entry"]), *h.get("args", [])]
    env = dict(os.environ)
    if runner == "console script":
        script = shutil.which(argv[0], path=sysconfig.get_path("scripts"))
        if script is None:
            pytest.skip("the rfgraph console script is not installed")
        return [script, *argv[1:]], env
    assert argv[0] == "rfgraph"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return [sys.executable, "-m", "rfgraph", *argv[1:]], env


@pytest.mark.parametrize("runner", ["console script", "python -m"])
@pytest.mark.parametrize(
    ("staged", "code"),
    [
        (["aligned.yaml", "README.md"], 0),
        (["aligned.yaml", "misaligned.yaml"], 1),
        (["aligned.yaml", "misaligned.yaml", "invalid.yaml"], 2),
    ],
)
def test_hook_entry_runs_like_pre_commit(specs, runner, staged, code):
    (specs / "README.md").write_text("# not a spec\n")
    h = hook()
    command, env = hook_command(runner)
    files = [f for f in staged if re.search(h["files"], f)]  # pre-commit filters by `files`
    run = subprocess.run([*command, *files], cwd=specs, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "README.md" not in run.stdout + run.stderr
    assert "aligned.yaml: aligned (6 nodes, 1 merge)" in run.stdout


def test_hook_with_args_as_the_readme_writes_them(specs):
    command, env = hook_command("python -m")
    run = subprocess.run(
        [*command, "--input-size=224", "aligned.yaml", "misaligned.yaml"],
        cwd=specs,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    # the size reached the analysis (at 224 the misaligned branch's map is a pixel short) and no file was lost
    assert run.returncode == 2, run.stderr
    assert run.stdout == "aligned.yaml: aligned (6 nodes, 1 merge)\n"
    assert "merge joins feature maps of different sizes: shortcut 28x28, branch 27x27" in run.stderr


def readme_blocks() -> list[dict]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Use in CI", 1)[1].split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)]


def test_readme_pre_commit_snippet_selects_specs_only():
    (config,) = [b for b in readme_blocks() if "repos" in b]
    (used,) = config["repos"][0]["hooks"]
    assert used["id"] == hook()["id"]
    chosen = [
        f for f in ["models/a.yaml", "models/b.yml", ".pre-commit-config.yaml"] if re.search(used["files"], f)
    ]
    assert chosen == ["models/a.yaml", "models/b.yml"]


def test_readme_workflow_runs_a_valid_check(capsys):
    (workflow,) = [b for b in readme_blocks() if "jobs" in b]
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    (check,) = [shlex.split(run) for run in runs if run.startswith("rfgraph ")]
    assert check[:2] == ["rfgraph", "check"] and "--format" in check
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)  # the workflow runs at the top of a checkout
        assert main(check[1:]) == 0
    assert "::error" not in capsys.readouterr().out


def test_unchecked_merges_are_counted_apart_and_do_not_fail_check(tmp_path, capsys):
    path = tmp_path / "causal.yaml"
    path.write_text(
        "dims: 1\nlayers:\n  - {name: a, op: conv, kernel: 2, padding: [1, 0], inputs: [input]}\n"
        "  - {name: m, op: add, inputs: [a, input], align: none}\n"
    )
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: aligned (3 nodes, 1 merge, 1 not checked)\n"
    assert main(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(1 merge not checked)" in out.splitlines()[0]
    assert next(line for line in out.splitlines() if line.startswith("m ")).endswith("not checked")
