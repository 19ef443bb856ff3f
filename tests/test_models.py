"""models/*.yaml are golden tests: the paper's table and google's published end-points."""

from __future__ import annotations

import csv
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from rfgraph import Analysis, analyze

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

# Araujo, Norris & Sim (Distill 2019), table of r / S / P at the final end-point, 224x224.
PAPER = {
    "alexnet_v2": (195, 32, 64),
    "vgg_16": (212, 32, 90),
    "mobilenet_v1": (315, 32, 126),
    "resnet_v1_50": (483, 32, 239),
    "inception_v2": (699, 32, 318),
    "resnet_v1_101": (1027, 32, 511),
    "inception_v3": (1311, 32, 618),
    "resnet_v1_152": (1507, 32, 751),
    "resnet_v1_200": (1763, 32, 879),
    "inception_v4": (2071, 32, 998),
    "inception_resnet_v2": (3039, 32, 1482),
}


@cache
def analysis(model: str, size: int | None) -> Analysis:
    return analyze(MODELS / f"{model}.yaml", size)


def published_endpoints() -> list[tuple[str, int | None, str, int, int, int | None]]:
    path = Path(__file__).parent / "data" / "published_endpoints.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    rows = []
    for model, res, endpoint, r, S, P in list(csv.reader(lines))[1:]:
        size = None if res == "None" else int(res)
        rows.append((model, size, endpoint, int(r), int(S), None if P == "None" else int(P)))
    return rows


@pytest.mark.parametrize("size", [None, 224])
@pytest.mark.parametrize("model", PAPER)
def test_paper_table(model, size):
    a = analysis(model, size)
    (output,) = a.outputs
    r, S, P = PAPER[model]
    assert (a[output].r, a[output].S, a[output].P) == ((r, r), (S, S), (P, P))
    assert a.aligned


@pytest.mark.parametrize(("model", "size", "endpoint", "r", "S", "P"), published_endpoints())
def test_google_published_endpoints(model, size, endpoint, r, S, P):
    rf = analysis(model, size)[endpoint]
    assert rf.r == (r, r) and rf.S == (S, S)
    if P is not None:
        assert rf.P == (P, P)


@pytest.mark.parametrize("model", sorted(p.stem for p in MODELS.glob("*.yaml")))
@pytest.mark.parametrize("size", [None, 224, 299, 321])
def test_every_model_is_aligned(model, size):
    assert analysis(model, size).aligned


def test_every_paper_model_has_a_file():
    assert set(PAPER) <= {p.stem for p in MODELS.glob("*.yaml")}


def test_generated_files_are_current():
    run = subprocess.run(
        [sys.executable, str(MODELS / "generate.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == 0, run.stdout + run.stderr
