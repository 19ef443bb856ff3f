"""The modern zoo: models/torchvision/<name>.yaml imported from torchvision constructors, and README.md.

    python models/torchvision/generate.py                 # (re)write every file, then README.md
    python models/torchvision/generate.py resnet18 r3d_18  # only these files
    python models/torchvision/generate.py --check         # exit 1 if a file or README.md is stale,
                                                          # missing or does not load; write nothing

Every file is what ``rfgraph import SOURCE --input-size ... --model-arg ...`` writes (its first line
says which command): weights=None everywhere, nothing is downloaded. Importing needs torch and
torchvision (``pip install ".[torchvision]"``: torch 2.14.1 and torchvision 0.29.1 on these machines);
README.md is made from the YAML files alone (:func:`readme`), so it can be checked without torch.
"""

from __future__ import annotations

import sys
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from rfgraph import Analysis, RFGraphError, analyze, load  # noqa: E402
from rfgraph.importers.sources import command_line, import_source, parse_model_args  # noqa: E402
from rfgraph.importers.writer import to_yaml  # noqa: E402
from rfgraph.network import Layer, Network  # noqa: E402
from rfgraph.ops import Why  # noqa: E402
from rfgraph.report import describe, number, shape  # noqa: E402
from rfgraph.sizes import valid_sizes  # noqa: E402


@dataclass(frozen=True)
class Model:
    """A torchvision constructor, what to trace it at, and which modules end its stages.

    ``stages`` are names as torchvision's ``create_feature_extractor`` takes them: a module's
    name stands for the last node inside it (``layer1`` is ``layer1.1.relu_1`` in resnet18).
    """

    source: str
    stages: tuple[str, ...]
    size: tuple[int, ...] = (224,)
    args: tuple[str, ...] = ()
    care: str = ""  # what to know when reading the file

    def command(self) -> str:
        return command_line(self.source, self.size, self.args)

    @property
    def input_size(self) -> tuple[int, ...]:
        return self.size * 2 if len(self.size) == 1 else self.size


TV = "torchvision.models"
RESNET = ("relu", "layer1", "layer2", "layer3", "layer4")
SEGMENTATION_ARGS = ("weights_backbone=None",)
MODELS: dict[str, Model] = {
    "resnet18": Model(f"{TV}:resnet18", RESNET),
    "resnet50": Model(f"{TV}:resnet50", RESNET),
    "vgg16": Model(
        f"{TV}:vgg16",
        tuple(f"features.{i}" for i in (4, 9, 16, 23, 30)),
        care="the adaptive average pool to 7x7 is exact at 224 (a 7x7 map: each window one feature); at "
        "other sizes its windows change with the size, so which sizes fit is not periodic",
    ),
    "mobilenet_v2": Model(f"{TV}:mobilenet_v2", tuple(f"features.{i}" for i in (1, 3, 6, 13, 18))),
    "mobilenet_v3_large": Model(
        f"{TV}:mobilenet_v3_large", tuple(f"features.{i}" for i in (1, 3, 6, 12, 16))
    ),
    "efficientnet_b0": Model(f"{TV}:efficientnet_b0", tuple(f"features.{i}" for i in (1, 2, 3, 5, 8))),
    "densenet121": Model(
        f"{TV}:densenet121",
        ("features.relu0", *(f"features.denseblock{i}" for i in range(1, 5))),
    ),
    "convnext_tiny": Model(f"{TV}:convnext_tiny", tuple(f"features.{i}" for i in (1, 3, 5, 7))),
    "regnet_y_400mf": Model(
        f"{TV}:regnet_y_400mf", ("stem", *(f"trunk_output.block{i}" for i in range(1, 5)))
    ),
    "googlenet": Model(
        f"{TV}:googlenet",
        ("conv1", "conv3", "inception3b", "inception4e", "inception5b"),
        args=("init_weights=False",),
        care="eval graph: the aux classifiers run only in training; transform_input is False without "
        "weights (when True it is a per-channel affine map, pointwise)",
    ),
    "squeezenet1_1": Model(f"{TV}:squeezenet1_1", tuple(f"features.{i}" for i in (1, 4, 7, 12))),
    "shufflenet_v2_x1_0": Model(
        f"{TV}:shufflenet_v2_x1_0",
        ("conv1", "maxpool", "stage2", "stage3", "conv5"),
        care="channel split and shuffle are views of the channels: identities",
    ),
    "inception_v3": Model(
        f"{TV}:inception_v3",
        ("Conv2d_2b_3x3", "Conv2d_4a_3x3", "Mixed_5d", "Mixed_6e", "Mixed_7c"),
        (299,),
        ("init_weights=False",),
        care="eval graph: AuxLogits runs only in training; traced at 299",
    ),
    "fcn_resnet50": Model(
        f"{TV}.segmentation:fcn_resnet50",
        ("backbone.layer1", "backbone.layer2", "backbone.layer4", "classifier", "interpolate"),
        args=SEGMENTATION_ARGS,
        care="a dilated ResNet-50 (output stride 8); the logits are resized to the input's size "
        "(size_of); the aux head runs only with aux_loss",
    ),
    "deeplabv3_resnet50": Model(
        f"{TV}.segmentation:deeplabv3_resnet50",
        ("backbone.layer1", "backbone.layer2", "backbone.layer4", "classifier", "interpolate"),
        args=SEGMENTATION_ARGS,
        care="ASPP's pooling branch is global, resized back to the map's size: purely global, it takes no "
        "part in the alignment check",
    ),
    "lraspp_mobilenet_v3_large": Model(
        f"{TV}.segmentation:lraspp_mobilenet_v3_large",
        ("backbone.3", "backbone.6", "backbone.16", "classifier", "interpolate"),
        args=SEGMENTATION_ARGS,
        care="the high branch (stride 16) is resized bilinearly to the low branch's map (stride 8) "
        "before they are added",
    ),
    "resnet50_fpn": Model(
        f"{TV}.detection.backbone_utils:resnet_fpn_backbone",
        (
            "body.relu",
            "fpn.layer_blocks.0",
            "fpn.layer_blocks.1",
            "fpn.layer_blocks.2",
            "fpn.layer_blocks.3",
            "fpn.extra_blocks",
        ),
        args=("backbone_name='resnet50'", "weights=None"),
        care="five outputs (FPN levels '0'..'3' and 'pool'); each top-down add meets a nearest "
        "upsampling of the level above",
    ),
    "r3d_18": Model(
        f"{TV}.video:r3d_18",
        ("stem", "layer1", "layer2", "layer3", "layer4"),
        (16, 112, 112),
        care="3-D: axes d, h, w; traced at 16x112x112",
    ),
    "vit_b_16": Model(
        f"{TV}:vit_b_16",
        ("conv_proj", "encoder"),
        care="torchvision's ViT takes 224x224 only (its forward checks the size, and the position "
        "embedding has 14x14 + 1 tokens): the sizes below are what the geometry alone allows. The "
        "class token joins the sequence (an identity of the patch map, not a spatial merge); attention "
        "is global; the head reads the class token (a global_pool)",
    ),
}


# ----------------------------------------------------------------------------- importing


def imported(name: str) -> str:
    """The YAML text ``rfgraph import`` writes for ``name`` (raises RFGraphError)."""
    model = MODELS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's init-weights notices
        spec = import_source(model.source, input_size=model.size, model_args=parse_model_args(model.args))
    return to_yaml(replace(spec, name=name, comment=f"generated by: {model.command()}"))


def loads_back(path: Path) -> str | None:
    try:
        load(path)
    except RFGraphError as e:
        return str(e)
    return None


# ----------------------------------------------------------------------------- README.md


def stage_node(network: Network, query: str) -> str:
    """The node ``query`` stands for in ``create_feature_extractor``: the last one (in graph order)
    whose name is ``query`` or starts with ``query.``."""
    found = [v for v in network.nodes if v == query or v.startswith(f"{query}.")]
    if not found:
        msg = f"{network.name}: no node is or is inside {query!r}"
        raise KeyError(msg)
    return found[-1]


def readme() -> str:
    """README.md, from the YAML files alone."""
    rows, sections = [], []
    for name, model in MODELS.items():
        analysis = analyze(HERE / f"{name}.yaml", list(model.input_size))
        row, section = _model(name, model, analysis)
        rows.append(row)
        sections.append(section)
    return README.format(table="\n".join(rows), sections="\n\n".join(sections))


def _model(name: str, model: Model, analysis: Analysis) -> tuple[str, str]:
    net = analysis.network
    size = shape(model.input_size)
    stages = [(query, stage_node(net, query)) for query in model.stages]
    table = ["| stage | node | S | r | map | global |", "|---|---|---|---|---|---|"]
    for query, node in stages:
        rf = analysis[node]
        is_global = "yes" if rf.is_global else "no"
        table.append(
            f"| `{query}` | `{node}` | {_axes(rf.S)} | {_axes(rf.r)} | {shape(rf.size)} | {is_global} |"
        )
    global_ops = Counter(
        layer.op for layer in net.layers.values() if not layer.spec.merge and _is_global(layer, net.dims)
    )
    is_global = ", ".join(f"{op} x{count}" for op, count in sorted(global_ops.items()))
    misaligned = sorted({m.node for m in analysis.misalignments}, key=list(net.nodes).index)
    sizes = _sizes(net)
    facts = [
        f"- global: {'yes (' + is_global + ')' if global_ops else 'no'}",
        f"- aligned at {size}: "
        + ("yes" if analysis.aligned else f"no, {len(misaligned)} merge(s):" + _why(analysis)),
        f"- input sizes that fit and align: {sizes}",
        *([f"- {model.care}"] if model.care else []),
    ]
    head = f"### {name}\n\n`{model.command()}` ([{name}.yaml]({name}.yaml), {len(net.layers)} layers)"
    section = "\n\n".join([head, "\n".join(table), "\n".join(facts)])
    last = analysis[stages[-1][1]]
    aligned = "yes" if analysis.aligned else "**no**"
    cells = [
        f"[{name}](#{name})",
        size,
        " / ".join(_axes(analysis[node].S) for _, node in stages),
        _axes(last.r),
        "yes" if global_ops else "no",
        aligned,
        "not periodic" if sizes.startswith("not periodic") else sizes,
    ]
    return "| " + " | ".join(cells) + " |", section


def _is_global(layer: Layer, dims: int) -> bool:
    return any(layer.geometry(i, None, None).why is Why.GLOBAL for i in range(dims))


def _why(analysis: Analysis) -> str:
    """Each misalignment as ``rfgraph check`` words it, an axis shown once when the others say the same."""
    lines: list[str] = []
    names = analysis.network.axis_names
    by_node: dict[str, list[str]] = {}
    for m in analysis.misalignments:
        by_node.setdefault(m.node, []).append(describe(analysis, m))
    for texts in by_node.values():
        first = texts[0]
        marker = f" axis {names[0]}: "
        same = len(texts) == len(names) and all(
            t == first.replace(marker, f" axis {axis}: ") for t, axis in zip(texts, names, strict=True)
        )
        if same:
            lines.append(first.replace(marker, f" axes {', '.join(names)}: "))
        else:
            lines.extend(texts)
    return "".join(f"\n  - {line}" for line in lines)


def _sizes(net: Network) -> str:
    try:
        found = valid_sizes(net)
    except RFGraphError as e:
        return f"not periodic ({e.message})"
    first, *others = found.axes
    same = all(
        (a.period, a.start, a.residues, a.below) == (first.period, first.start, first.residues, first.below)
        for a in others
    )
    if same and others:
        return f"{first.describe()} ({', '.join(a.axis for a in others)} alike)"
    return "; ".join(a.describe() for a in found.axes)


def _axes(values: object) -> str:
    items = list(values)  # type: ignore[call-overload]
    shown = [number(v) for v in items]
    return shown[0] if len(set(shown)) == 1 else "x".join(shown)


README = """# torchvision models

Imported from torchvision 0.29 constructors with `weights=None` by `python models/torchvision/generate.py`
(each file's first line is the `rfgraph import` command that writes it; this README is generated from
the files). Node names are torchvision's feature-extraction names (`get_graph_node_names`), so
`--only 'layer4*'` works as in `create_feature_extractor`.

A **stage** is named as `create_feature_extractor` takes it: a module stands for the last node inside
it. S and r are the effective stride and the receptive field there (one number when every axis has
it), at the size the file was traced at; **global** there says that some path to that node reads the
whole input (as `rfgraph analyze` notes it: r is then the field of the local paths only). **Global**
in the summary: the net has layers that read the whole input (pools to one position, heads,
attention, squeeze-excitation gates; counted by op). **Aligned**: every
merge at the traced size, by the paper's rule (equal strides and centres, feature by feature); the
misaligned ones are listed as `rfgraph check` words them. **Input sizes**: `rfgraph sizes`, exactly
which input sizes give non-empty maps and aligned merges, or why no periodic rule exists.

| model | traced at | S at each stage | r at the last | global | aligned | input sizes that fit and align |
|---|---|---|---|---|---|---|
{table}

{sections}
"""


def main(argv: list[str]) -> int:
    check = "--check" in argv
    names = [a for a in argv if not a.startswith("-")] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(MODELS)}")
        return 2
    failed = False
    for name in names:
        path = HERE / f"{name}.yaml"
        try:
            text = imported(name)
        except RFGraphError as e:
            print(f"{name}: does not import: {e}")
            failed = True
            continue
        current = path.exists() and path.read_text() == text
        if not check and not current:
            path.write_text(text)
            print(f"wrote {path.name}")
        problem = loads_back(path) if path.exists() else None
        if check:
            print(f"{name}: {'current' if current else 'stale or missing'}")
            failed |= not current
        if problem:
            print(f"{name}: does not load: {problem}")
            failed = True
    if names == list(MODELS) and (check or not failed):  # written only from files that are all current
        failed |= not _readme(check)
    return 1 if failed else 0


def _readme(check: bool) -> bool:
    path = HERE / "README.md"
    text = readme()
    current = path.exists() and path.read_text() == text
    if check:
        print(f"README.md: {'current' if current else 'stale or missing'}")
        return current
    if not current:
        path.write_text(text)
        print("wrote README.md")
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
