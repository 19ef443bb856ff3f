"""models/torchvision/: the committed files without torch, numbers from independent sources, and with
torchvision: the files are what the importer writes, and locate agrees with PyTorch's own gradients.

Without torch: every file is valid by the JSON Schema and analyses as ``rfgraph check`` does, and
README.md is what the files give. The stage numbers are checked against what others state: the
papers' architecture tables (map sizes at their input size), timm's and torchvision's stated
strides, and google-research/receptive_field's published end-points where torchvision's network is
the same architecture as the one they describe, layer for layer.
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import io
import subprocess
import sys
import warnings
from functools import cache
from pathlib import Path

import pytest
import yaml
from importing import border_and_middle, check_against_oracle, torchvision_feature_maps

from rfgraph import Analysis, NodeRF, analyze
from rfgraph.checks import check_file

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "models" / "torchvision"
FILES = sorted(ZOO.glob("*.yaml"))


def _generate():
    spec = importlib.util.spec_from_file_location("torchvision_zoo", ZOO / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


generate = _generate()


@cache
def zoo(model: str) -> Analysis:
    return analyze(ZOO / f"{model}.yaml")


def stage(model: str, query: str) -> NodeRF:
    """The node ``create_feature_extractor`` would return for ``query`` (a module: its last node)."""
    analysis = zoo(model)
    return analysis[generate.stage_node(analysis.network, query)]


# ----------------------------------------------------------------------------- the files, without torch


def test_the_zoo_has_the_19_models_of_issue_11():
    assert [p.stem for p in FILES] == sorted(generate.MODELS) and len(FILES) == 19


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_file_is_valid_and_checks(path):
    jsonschema = pytest.importorskip("jsonschema")
    from rfgraph.schema import json_schema

    assert (
        list(jsonschema.Draft202012Validator(json_schema()).iter_errors(yaml.safe_load(path.read_text())))
        == []
    )
    check = check_file(str(path))
    assert check.error is None and check.status in ("ok", "misaligned")
    assert check.analysis is not None and check.analysis.input_size is not None


def test_the_readme_is_what_the_files_give():
    assert (ZOO / "README.md").read_text() == generate.readme()


def test_stage_rows_say_which_stages_are_global():
    text = (ZOO / "README.md").read_text()
    assert "| `conv_proj` | `conv_proj` | 16 | 16 | 14x14 | no |" in text
    assert "| `encoder` | `encoder.ln` | 16 | 16 | 14x14 | yes |" in text  # after attention
    assert "| `layer4` | `layer4.1.relu_1` | 32 | 435 | 7x7 | no |" in text  # resnet18


def test_stage_nodes_are_the_last_node_inside_the_module():
    net = zoo("resnet18").network
    assert generate.stage_node(net, "layer1") == "layer1.1.relu_1"
    assert generate.stage_node(net, "relu") == "relu"  # not layer1.0.relu: a name, not a substring
    with pytest.raises(KeyError, match="no node is or is inside 'layer9'"):
        generate.stage_node(net, "layer9")


# ----------------------------------------------------------------------------- independent sources

# Map sizes at each stage output as the papers' architecture tables give them, at the paper's input
# size (the size each file is traced at). torchvision implements these tables; a size is what the
# table lists as the next layer's input or as the stage's output.
PAPER_MAP_SIZES = {
    # He et al., "Deep Residual Learning", Table 1: conv1 112, conv2_x 56, conv3_x 28, conv4_x 14, conv5_x 7
    "resnet18": [("relu", 112), ("layer1", 56), ("layer2", 28), ("layer3", 14), ("layer4", 7)],
    "resnet50": [("relu", 112), ("layer1", 56), ("layer2", 28), ("layer3", 14), ("layer4", 7)],
    # Simonyan & Zisserman: five 2x2 stride-2 max pools
    "vgg16": [
        ("features.4", 112),
        ("features.9", 56),
        ("features.16", 28),
        ("features.23", 14),
        ("features.30", 7),
    ],
    # Sandler et al., MobileNetV2, Table 2 (the input size of the next row)
    "mobilenet_v2": [
        ("features.0", 112),
        ("features.1", 112),
        ("features.3", 56),
        ("features.6", 28),
        ("features.10", 14),
        ("features.13", 14),
        ("features.16", 7),
        ("features.18", 7),
    ],
    # Howard et al., Searching for MobileNetV3, Table 1 (Large)
    "mobilenet_v3_large": [
        ("features.0", 112),
        ("features.1", 112),
        ("features.3", 56),
        ("features.6", 28),
        ("features.12", 14),
        ("features.15", 7),
        ("features.16", 7),
    ],
    # Tan & Le, EfficientNet, Table 1 (B0): stages 1..9, each row's resolution is its input's
    "efficientnet_b0": [
        ("features.0", 112),
        ("features.1", 112),
        ("features.2", 56),
        ("features.3", 28),
        ("features.4", 14),
        ("features.5", 14),
        ("features.6", 7),
        ("features.7", 7),
        ("features.8", 7),
    ],
    # Huang et al., DenseNet, Table 1
    "densenet121": [
        ("features.relu0", 112),
        ("features.pool0", 56),
        ("features.denseblock1", 56),
        ("features.transition1", 28),
        ("features.denseblock2", 28),
        ("features.transition2", 14),
        ("features.denseblock3", 14),
        ("features.transition3", 7),
        ("features.denseblock4", 7),
    ],
    # Liu et al., A ConvNet for the 2020s: a 4x4 stride-4 stem, stages at 56, 28, 14, 7
    "convnext_tiny": [
        ("features.0", 56),
        ("features.1", 56),
        ("features.3", 28),
        ("features.5", 14),
        ("features.7", 7),
    ],
    # Radosavovic et al., Designing Network Design Spaces, Fig. 3: a stride-2 stem, four stages that halve
    "regnet_y_400mf": [
        ("stem", 112),
        ("trunk_output.block1", 56),
        ("trunk_output.block2", 28),
        ("trunk_output.block3", 14),
        ("trunk_output.block4", 7),
    ],
    # Szegedy et al., Going Deeper with Convolutions, Table 1
    "googlenet": [
        ("conv1", 112),
        ("maxpool1", 56),
        ("conv3", 56),
        ("maxpool2", 28),
        ("inception3b", 28),
        ("maxpool3", 14),
        ("inception4e", 14),
        ("maxpool4", 7),
        ("inception5b", 7),
    ],
    # Ma et al., ShuffleNet V2, Table 5
    "shufflenet_v2_x1_0": [
        ("conv1", 112),
        ("maxpool", 56),
        ("stage2", 28),
        ("stage3", 14),
        ("stage4", 7),
        ("conv5", 7),
    ],
    # Szegedy et al., Rethinking the Inception Architecture, Table 1 at 299 (input sizes of the next rows)
    "inception_v3": [
        ("Conv2d_1a_3x3", 149),
        ("Conv2d_2a_3x3", 147),
        ("Conv2d_2b_3x3", 147),
        ("maxpool1", 73),
        ("Conv2d_4a_3x3", 71),
        ("maxpool2", 35),
        ("Mixed_5d", 35),
        ("Mixed_6e", 17),
        ("Mixed_7c", 8),
    ],
    # Dosovitskiy et al., ViT-B/16: 16x16 patches, 14x14 of them at 224
    "vit_b_16": [("conv_proj", 14)],
}

# Tran et al., A Closer Look at Spatiotemporal Convolutions, Table 1 (R3D-18, L x 112 x 112 with L = 16):
# conv1 L x 56 x 56, conv2_x L x 56 x 56, conv3_x L/2 x 28 x 28, conv4_x L/4 x 14 x 14, conv5_x L/8 x 7 x 7
R3D_SIZES = [
    ("stem", (16, 56, 56)),
    ("layer1", (16, 56, 56)),
    ("layer2", (8, 28, 28)),
    ("layer3", (4, 14, 14)),
]
R3D_SIZES.append(("layer4", (2, 7, 7)))

# Effective strides as stated elsewhere
STRIDES = (2, 4, 8, 16, 32)
RESNET_STAGES = ("relu", "layer1", "layer2", "layer3", "layer4")
DENSENET_STAGES = ("features.relu0", "features.denseblock1", "features.denseblock2")
DENSENET_STAGES += ("features.denseblock3", "features.denseblock4")
REGNET_STAGES = ("stem", "trunk_output.block1", "trunk_output.block2", "trunk_output.block3")
REGNET_STAGES += ("trunk_output.block4",)
STATED_STRIDES = [
    # timm's feature_info (the `reduction` of each feature module, in timm's resnet.py, densenet.py,
    # convnext.py, regnet.py and its EfficientNet builder for the MobileNets and EfficientNet): the
    # stem's output at 2, then 4, 8, 16, 32. timm's module names differ from torchvision's only in the
    # stems and the MobileNet/EfficientNet stages; those are matched here by their channel counts
    # (timm's blocks.0..6 are torchvision's stages of 16, 24, 32|40, 64|80, 96|112, 160|192, 320 channels).
    *[(m, q, S) for m in ("resnet18", "resnet50") for q, S in zip(RESNET_STAGES, STRIDES, strict=True)],
    *[("densenet121", q, S) for q, S in zip(DENSENET_STAGES, STRIDES, strict=True)],
    *[("convnext_tiny", f"features.{i}", S) for i, S in zip((1, 3, 5, 7), STRIDES[1:], strict=True)],
    *[("regnet_y_400mf", q, S) for q, S in zip(REGNET_STAGES, STRIDES, strict=True)],
    *[("mobilenet_v2", f"features.{i}", S) for i, S in zip((1, 3, 6, 13, 17), STRIDES, strict=True)],
    *[("mobilenet_v3_large", f"features.{i}", S) for i, S in zip((1, 3, 6, 12, 15), STRIDES, strict=True)],
    *[("efficientnet_b0", f"features.{i}", S) for i, S in zip((1, 2, 3, 5, 7), STRIDES, strict=True)],
    # torchvision's segmentation models build their ResNet-50 backbone with
    # replace_stride_with_dilation=[False, True, True]: Chen et al.'s DeepLabv3 "output_stride = 8"
    # (atrous rates 2 and 4 in the last two blocks instead of their strides)
    ("fcn_resnet50", "backbone.layer2", 8),
    ("fcn_resnet50", "backbone.layer4", 8),
    ("deeplabv3_resnet50", "backbone.layer4", 8),
    # timm's inception_v3 feature_info: reductions 2, 4, 8, 16, 32 at these modules
    ("inception_v3", "Conv2d_2b_3x3", 2),
    ("inception_v3", "Conv2d_4a_3x3", 4),
    ("inception_v3", "Mixed_5d", 8),
    ("inception_v3", "Mixed_6e", 16),
    ("inception_v3", "Mixed_7c", 32),
    # torchvision's lraspp.py: "use C2 here which has output_stride = 8", "use C5 which has output_stride = 16"
    # (the backbone's blocks 4 and 16); the MobileNetV3 paper's LR-ASPP reads 1/8 and 1/16 features
    ("lraspp_mobilenet_v3_large", "backbone.4", 8),
    ("lraspp_mobilenet_v3_large", "backbone.16", 16),
    # Lin et al., Feature Pyramid Networks: P2..P5 at strides 4, 8, 16, 32 (torchvision's outputs '0'..'3'),
    # and P6, "a stride two subsampling of P5" (torchvision's 'pool', LastLevelMaxPool)
    ("resnet50_fpn", "fpn.layer_blocks.0", 4),
    ("resnet50_fpn", "fpn.layer_blocks.1", 8),
    ("resnet50_fpn", "fpn.layer_blocks.2", 16),
    ("resnet50_fpn", "fpn.layer_blocks.3", 32),
    ("resnet50_fpn", "fpn.extra_blocks", 64),
    # ViT-B/16: the patch size
    ("vit_b_16", "conv_proj", 16),
]


@pytest.mark.parametrize(
    ("model", "query", "size"),
    [(m, q, n) for m, stages in PAPER_MAP_SIZES.items() for q, n in stages],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_map_sizes_are_the_papers(model, query, size):
    assert stage(model, query).size == (size, size)


@pytest.mark.parametrize(("query", "size"), R3D_SIZES, ids=[q for q, _ in R3D_SIZES])
def test_r3d_map_sizes_are_the_papers(query, size):
    assert stage("r3d_18", query).size == size


@pytest.mark.parametrize(
    ("model", "query", "S"), STATED_STRIDES, ids=lambda v: v if isinstance(v, str) else None
)
def test_strides_are_the_stated_ones(model, query, S):
    assert stage(model, query).S == (S, S)


# google-research/receptive_field's RECEPTIVE_FIELD_TABLE.md (tests/data/published_endpoints.csv) gives
# r, S, P at TF-Slim's end-points. torchvision's vgg16 is slim's vgg_16 (configuration D: 3x3 convs
# padded by 1, 2x2 stride-2 max pools) and its inception_v3 is slim's, layer for layer (the same
# kernels, strides and paddings; torchvision ported the TensorFlow model), so the numbers carry over.
# The Distill paper's table (tests/test_models.py) states the last ones: vgg_16 212 / 32 / 90 and
# inception_v3 1311 / 32 / 618. Not ResNet-50: slim's resnet_v1_50 strides in the first 1x1 conv of
# a block and torchvision's in the 3x3 (the "v1.5" layout), a different architecture.
SLIM_TO_TORCHVISION = {
    "vgg_16": (
        "vgg16",
        {"conv1/conv1_1": "features.0", "pool1": "features.4", "conv2/conv2_1": "features.5"}
        | {"pool2": "features.9", "conv3/conv3_1": "features.10", "conv3/conv3_2": "features.12"}
        | {"pool3": "features.16", "conv4/conv4_1": "features.17", "conv4/conv4_2": "features.19"}
        | {"pool4": "features.23", "conv5/conv5_1": "features.24", "conv5/conv5_2": "features.26"}
        | {"pool5": "features.30"},
    ),
    "inception_v3": ("inception_v3", {"MaxPool_3a_3x3": "maxpool1", "MaxPool_5a_3x3": "maxpool2"}),
}


def _published() -> list[tuple[str, str, int, int, int]]:
    lines = (ROOT / "tests" / "data" / "published_endpoints.csv").read_text().splitlines()
    rows = list(csv.reader(line for line in lines if not line.startswith("#")))[1:]
    found = []
    for model, size, endpoint, r, S, P in rows:
        if model in SLIM_TO_TORCHVISION and size == "None":
            tv, names = SLIM_TO_TORCHVISION[model]
            found.append((tv, names.get(endpoint, endpoint), int(r), int(S), int(P)))
    return found


PUBLISHED = _published()


def test_the_published_end_points_are_all_there():
    assert len(PUBLISHED) == 13 + 18


@pytest.mark.parametrize(
    ("model", "query", "r", "S", "P"), PUBLISHED, ids=[f"{m}-{q}" for m, q, *_ in PUBLISHED]
)
def test_published_end_points_of_the_same_architectures(model, query, r, S, P):
    rf = stage(model, query)
    assert (rf.r, rf.S, rf.P) == ((r, r), (S, S), (P, P))


# ----------------------------------------------------------------------------- with torchvision


def test_the_files_and_readme_are_what_the_importer_writes():
    pytest.importorskip("torchvision")
    run = subprocess.run(
        [sys.executable, str(ZOO / "generate.py"), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_torchvision_weights_are_refused_before_torch_hub_prints_or_makes_a_folder(
    tmp_path, monkeypatch, capsys
):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from rfgraph.cli import main

    def loudly(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", loudly)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    (tmp_path / "wrapped.py").write_text(
        "import torchvision\ndef net():\n    return torchvision.models.resnet18(weights='DEFAULT')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["import", "torchvision.models:resnet18", "--model-arg", "weights='DEFAULT'"]) == 2
    assert capsys.readouterr().err == (
        "torchvision.models:resnet18: --model-arg weights='DEFAULT' chooses pretrained weights, which would be "
        "downloaded; rfgraph never downloads (the geometry does not depend on weights): pass weights=None\n"
    )
    assert main(["import", "wrapped:net"]) == 2  # weights chosen inside: torchvision's own loader refuses
    assert capsys.readouterr().err == (
        "wrapped:net: the constructor tried to download https://download.pytorch.org/models/resnet18-f37072fd.pth; "
        "rfgraph never downloads: set its weights to None\n"
    )
    assert not (tmp_path / "torch_home").exists()


@pytest.mark.parametrize("name", list(generate.MODELS))
def test_every_torchvision_feature_map_is_a_node_of_that_name(name):
    pytest.importorskip("torchvision")
    from rfgraph.importers.sources import build_module, parse_model_args

    model = generate.MODELS[name]
    module = build_module(model.source, parse_model_args(model.args))  # on the meta device
    wanted = torchvision_feature_maps(module, model.input_size)
    assert len(wanted) > 20
    assert [w for w in wanted if w not in zoo(name).network.nodes] == []


# Exported to ONNX by torch.onnx (TorchScript, static shapes), the same layers come in through the other
# door, names aside: squeeze-excitation gates, hardswish written as arithmetic, channel shuffles as
# Reshape and Transpose. (Static shapes fold a resize to another map's size into a fixed size, and the
# exporter flattens nested concats, so not every model compares layer for layer.)
@pytest.mark.parametrize("name", ["squeezenet1_1", "mobilenet_v3_large", "shufflenet_v2_x1_0"])
def test_the_onnx_door_gives_the_same_layers(name):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    onnx = pytest.importorskip("onnx")
    from test_import_onnx import skeleton

    from rfgraph.importers import import_onnx, import_torch
    from rfgraph.importers.sources import build_module, parse_model_args

    model = generate.MODELS[name]
    module = build_module(model.source, parse_model_args(model.args))
    through_torch = skeleton(import_torch(module, list(model.input_size)))
    exported = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        example = torch.zeros(1, 3, *model.input_size)
        torch.onnx.export(
            module.to_empty(device="cpu").eval(), example, exported, dynamo=False, opset_version=17
        )
    through_onnx = skeleton(import_onnx(onnx.load_from_string(exported.getvalue())))
    assert len(through_torch) > 30 and through_onnx == through_torch


# Real models against the oracle: PyTorch's own input gradient of sampled features (both borders,
# next to them and the middle, on every axis) must read exactly the pixels locate's clipped box
# says. convnext_tiny at 225, inception_v3 at 300 and squeezenet1_1 at 224 are issue 10's cases: the
# last input row is never read there. Global branches (squeeze-excitation, LR-ASPP's pooled
# gate) are detached: the oracle then measures the local field.
REAL_MODELS = [
    ("convnext_tiny", {}, 225, "features.1", None),
    ("inception_v3", {"aux_logits": False, "init_weights": False}, 300, "Mixed_5b", None),
    ("squeezenet1_1", {}, 224, "features.3", None),
    ("resnet18", {}, 100, "layer3", None),
    ("mobilenet_v2", {}, 99, "features.7", None),
    ("segmentation.lraspp_mobilenet_v3_large", {"weights_backbone": None}, 96, "interpolate", None),
    # the FPN's P2 (output '0'): three nearest upsamplings down from P5, fields of period 8
    (
        "detection.backbone_utils.resnet_fpn_backbone",
        {"backbone_name": "resnet50"},
        96,
        "fpn.layer_blocks.0",
        "0",
    ),
]


@pytest.mark.parametrize(
    ("model", "kwargs", "size", "query", "output"),
    REAL_MODELS,
    ids=[m[0].rpartition(".")[2] for m in REAL_MODELS],
)
def test_locate_is_what_pytorch_reads(model, kwargs, size, query, output):
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from torchvision.models.feature_extraction import create_feature_extractor

    from rfgraph.importers import from_torch

    package, _, name = model.rpartition(".")
    constructor = getattr(importlib.import_module(f"torchvision.models.{package}".rstrip(".")), name)
    with torch.device("meta"):  # no weight initialisation: the oracle sets every parameter and buffer
        module = constructor(weights=None, **kwargs).eval()
    net = from_torch(module, size)
    module.to_empty(device="cpu")
    node = generate.stage_node(net, query)
    features = border_and_middle(analyze(net, [size, size])[node].size)
    part = (
        module if output else create_feature_extractor(module, {query: "out"})
    )  # torchvision's FPN is a leaf
    count = check_against_oracle(
        part, net, (size, size), node=node, features=features, detach_global=True, output=output or "out"
    )
    assert count == len(features) == 9
