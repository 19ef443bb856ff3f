"""models/torchvision/*.yaml: current with the importer, and stage strides as torchvision states them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rfgraph import analyze

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "models" / "torchvision"


@pytest.mark.parametrize(
    ("model", "nodes", "strides"),
    [
        # ResNet's conv2_x..conv5_x outputs, the strides torchvision's FPN backbones take (4, 8, 16, 32)
        (
            "resnet50",
            ["layer1.2.relu_2", "layer2.3.relu_2", "layer3.5.relu_2", "layer4.2.relu_2"],
            [4, 8, 16, 32],
        ),
        # ViT-B/16: 16x16 patches
        ("vit_b_16", ["conv_proj"], [16]),
    ],
)
def test_stage_strides_are_the_stated_ones(model, nodes, strides):
    analysis = analyze(ZOO / f"{model}.yaml")
    assert [analysis[node].S for node in nodes] == [(s, s) for s in strides]


def test_the_resnet18_file_is_what_the_importer_writes():
    pytest.importorskip("torchvision")
    run = subprocess.run(
        [sys.executable, str(ZOO / "generate.py"), "--check", "resnet18"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr
