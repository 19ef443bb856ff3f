"""Worked examples of modern ops: U-Net, an FPN on ResNet-50, an SE block, WaveNet, a 3-D video stem.

Each is written from its paper (or torchvision's code, for the ResNet-50 under the FPN and the video
stem); ``models/examples/README.md`` says what rfgraph finds in each.
"""

from __future__ import annotations

from models.gen.net import Net

FOLDER = "examples"


def unet() -> Net:
    """Ronneberger et al., "U-Net" (MICCAI 2015), Fig. 1: valid 3x3 convs, 2x2 max pools,
    2x2 up-convolutions halving the channels, the encoder's map cropped to the decoder's
    and concatenated, a final 1x1 conv; 572x572 in, 388x388 out."""
    net = Net("unet", unet.__doc__ or "", input_name="image", input_size=572)
    x, skips = "image", []
    for level, channels in enumerate([64, 128, 256, 512], start=1):
        x = net.layer(f"down{level}/conv1", "conv", [x], kernel=3, channels=channels)
        x = net.layer(f"down{level}/conv2", "conv", kernel=3, channels=channels)
        skips.append(x)
        x = net.layer(f"down{level}/pool", "max_pool", kernel=2, stride=2, channels=channels)
    x = net.layer("bottom/conv1", "conv", [x], kernel=3, channels=1024)
    x = net.layer("bottom/conv2", "conv", kernel=3, channels=1024)
    for level, channels in reversed(list(enumerate([64, 128, 256, 512], start=1))):
        up = net.layer(f"up{level}/upconv", "transposed_conv", [x], kernel=2, stride=2, channels=channels)
        crop = net.layer(f"up{level}/crop", "crop", [skips[level - 1]], size_of=up, channels=channels)
        x = net.layer(f"up{level}/concat", "concat", [crop, up], channels=2 * channels)
        x = net.layer(f"up{level}/conv1", "conv", kernel=3, channels=channels)
        x = net.layer(f"up{level}/conv2", "conv", kernel=3, channels=channels)
    net.layer("output", "conv", [x], kernel=1, channels=2)
    return net


def _bottleneck(net: Net, x: str, scope: str, width: int, stride: int, project: bool) -> str:
    """torchvision's Bottleneck (ResNet v1.5: the stride on the 3x3 conv)."""
    y = net.layer(f"{scope}.conv1", "conv", [x], kernel=1, channels=width)
    y = net.layer(f"{scope}.relu1", "relu")
    y = net.layer(f"{scope}.conv2", "conv", kernel=3, stride=stride, padding=1, channels=width)
    y = net.layer(f"{scope}.relu2", "relu")
    y = net.layer(f"{scope}.conv3", "conv", kernel=1, channels=4 * width)
    if project:
        x = net.layer(f"{scope}.downsample", "conv", [x], kernel=1, stride=stride, channels=4 * width)
    y = net.layer(f"{scope}.add", "add", [y, x], channels=4 * width)
    return net.layer(f"{scope}.relu", "relu", channels=4 * width)


def fpn() -> Net:
    """Lin et al., "Feature Pyramid Networks for Object Detection" (CVPR 2017), on torchvision's
    ResNet-50: 1x1 lateral convs on C2..C5, a top-down path that upsamples by 2 (nearest) and adds,
    and a 3x3 conv on each merged map (P2..P5)."""
    net = Net("fpn_resnet50", fpn.__doc__ or "", input_name="x")
    x = net.layer("conv1", "conv", ["x"], kernel=7, stride=2, padding=3, channels=64)
    x = net.layer("relu", "relu")
    x = net.layer("maxpool", "max_pool", kernel=3, stride=2, padding=1, channels=64)
    stages = []
    for stage, (blocks, width, stride) in enumerate([(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)], 1):
        for block in range(blocks):
            first = block == 0
            x = _bottleneck(net, x, f"layer{stage}.{block}", width, stride if first else 1, first)
        stages.append(x)
    laterals = [
        net.layer(f"fpn.inner{level}", "conv", [c], kernel=1, channels=256)
        for level, c in enumerate(stages, start=2)
    ]
    top = laterals[-1]
    merged = {5: top}
    for level in (4, 3, 2):
        up = net.layer(f"fpn.up{level + 1}", "upsample", [top], factor=2, channels=256)
        top = net.layer(f"fpn.add{level}", "add", [laterals[level - 2], up], channels=256)
        merged[level] = top
    for level in (2, 3, 4, 5):
        net.layer(f"fpn.P{level}", "conv", [merged[level]], kernel=3, padding=1, channels=256)
    return net


def se_block() -> Net:
    """Tan & Le, "EfficientNet" (ICML 2019): an MBConv block (MobileNetV2's inverted residual,
    Sandler et al. 2018) with squeeze-and-excitation (Hu et al. 2018): 1x1 expand, 3x3 depthwise,
    a global gate (pool, two 1x1 convs, sigmoid) multiplied into the map, 1x1 project, residual add."""
    net = Net("mbconv_se", se_block.__doc__ or "", input_name="x")
    x = net.layer("stem", "conv", ["x"], kernel=3, stride=2, padding=1, channels=16)
    net.layer("block.expand", "conv", kernel=1, channels=96)
    net.layer("block.expand_act", "silu")
    d = net.layer("block.depthwise", "depthwise_conv", kernel=3, padding=1, channels=96)
    d = net.layer("block.depthwise_act", "silu")
    s = net.layer("block.se.pool", "global_avg_pool", [d], channels=96)
    s = net.layer("block.se.reduce", "conv", kernel=1, channels=4)
    s = net.layer("block.se.act", "silu")
    s = net.layer("block.se.expand", "conv", kernel=1, channels=96)
    s = net.layer("block.se.gate", "sigmoid")
    g = net.layer("block.se.scale", "mul", [d, s], channels=96)
    p = net.layer("block.project", "conv", [g], kernel=1, channels=16)
    net.layer("block.add", "add", [p, x], channels=16)
    return net


def wavenet() -> Net:
    """van den Oord et al., "WaveNet" (2016): causal convolutions (kernel 2, padded on the left only)
    with dilations 1, 2, ..., 512, repeated three times; gated activations (tanh x sigmoid) and
    residual connections. Causal by design, so merges align their fields' ends, not their centres."""
    net = Net("wavenet", wavenet.__doc__ or "", input_name="audio", dims=1, align="end")
    x = net.layer("causal", "conv", ["audio"], kernel=2, padding=[[1, 0]], channels=64)
    for stack in range(3):
        for i in range(10):
            d = 2**i
            scope = f"s{stack}.d{d}"
            f = net.layer(f"{scope}/filter", "conv", [x], kernel=2, dilation=d, padding=[[d, 0]], channels=64)
            f = net.layer(f"{scope}/tanh", "tanh")
            g = net.layer(f"{scope}/gate", "conv", [x], kernel=2, dilation=d, padding=[[d, 0]], channels=64)
            g = net.layer(f"{scope}/sigmoid", "sigmoid")
            z = net.layer(f"{scope}/gated", "mul", [f, g], channels=64)
            z = net.layer(f"{scope}/residual", "conv", [z], kernel=1, channels=64)
            x = net.layer(f"{scope}/add", "add", [z, x], channels=64)
    return net


def video_stem() -> Net:
    """Tran et al., "A Closer Look at Spatiotemporal Convolutions" (CVPR 2018), R(2+1)D as torchvision's
    r2plus1d_18 builds it: a (1, 7, 7) spatial conv with stride (1, 2, 2), a (3, 1, 1) temporal conv,
    then the first residual block of (2+1)D convolutions. Axes are time, height, width."""
    net = Net("r2plus1d_stem", video_stem.__doc__ or "", input_name="clip", dims=3)
    net.layer("stem.0", "conv", ["clip"], kernel=[1, 7, 7], stride=[1, 2, 2], padding=[0, 3, 3], channels=45)
    net.layer("stem.2", "relu")
    net.layer("stem.3", "conv", kernel=[3, 1, 1], padding=[1, 0, 0], channels=64)
    stem = net.layer("stem.5", "relu", channels=64)
    spatial, temporal = (
        {"kernel": [1, 3, 3], "padding": [0, 1, 1]},
        {"kernel": [3, 1, 1], "padding": [1, 0, 0]},
    )
    net.layer("layer1.0.conv1.0.0", "conv", [stem], **spatial, channels=144)
    net.layer("layer1.0.conv1.0.3", "conv", **temporal, channels=64)
    net.layer("layer1.0.conv1.2", "relu")
    net.layer("layer1.0.conv2.0.0", "conv", **spatial, channels=144)
    y = net.layer("layer1.0.conv2.0.3", "conv", **temporal, channels=64)
    net.layer("layer1.0.add", "add", [y, stem], channels=64)
    net.layer("layer1.0.relu", "relu", channels=64)
    return net


def convnext_stem() -> Net:
    """Liu et al., "A ConvNet for the 2020s" (CVPR 2022), ConvNeXt's stem as torchvision's convnext_tiny
    builds it: a 4x4 stride-4 "patchify" conv, then a 7x7 depthwise conv padded by 3 (its first block).
    At 225x225 the stem never reads pixel 224: exact boxes at the border."""
    net = Net("convnext_stem", convnext_stem.__doc__ or "", input_name="x")
    net.layer("stem", "conv", ["x"], kernel=4, stride=4, channels=96)
    net.layer("dwconv", "depthwise_conv", kernel=7, padding=3, channels=96)
    return net


def networks() -> dict[str, str]:
    return {
        "convnext_stem": convnext_stem().yaml(),
        "unet": unet().yaml(),
        "fpn_resnet50": fpn().yaml(),
        "mbconv_se": se_block().yaml(),
        "wavenet": wavenet().yaml(),
        "r2plus1d_stem": video_stem().yaml(),
    }


NOTES = {
    "convnext_stem": "A stride-4 stem whose windows do not reach the end of a 225-pixel input drops "
    "pixel 224 for good; the padded conv after it reads padding where the infinite picture would put "
    'pixels 224 and on. `rfgraph locate` gives the pixels really read (the "in image" column).',
    "unet": "Valid convolutions shrink every map, so the encoder's map is cropped (centred, `crop` with "
    "`size_of`) to the decoder's before the concat. A 2x2 up-convolution with stride 2 gives each "
    "output feature one input feature: its fields repeat with period 2 and a fractional stride. At "
    "the deepest concat the up-convolved field is off-centre by a quarter of its input stride, one way "
    "at even features and the other way at odd ones; higher up the offsets spread over longer periods "
    "(listed below): aligned on average, misaligned feature by feature.",
    "fpn_resnet50": "Nearest upsampling by 2 gives output features 2m and 2m + 1 the field of input "
    "feature m, so the top-down map's stride is half its input's and its fields repeat every 2 "
    "features. At even features the top-down field is centred on the lateral one; at odd features it "
    "lies half an input stride to the left: the paper's condition (the same centre for every feature) "
    "fails, by the amounts listed below.",
    "mbconv_se": "The squeeze-and-excitation gate is a global branch: its pooled map reads the whole "
    "input. Multiplied into the block's map it makes every later node `global`, while r, S and P keep "
    "describing the local field; the gate takes no part in the alignment check.",
    "wavenet": "Causal convolutions pad on the left only, so each feature's field ends at its own "
    "position and the residual adds are misaligned by centres on purpose. `align: end` checks that "
    "every input's field ends at the same coordinate instead, and with it the stack is aligned.",
    "r2plus1d_stem": "Three axes (time, height, width), with strides and kernels that differ per axis: "
    "each value is given per axis, and every axis is analysed on its own.",
}


def readme(texts: dict[str, str]) -> str:
    """models/examples/README.md: what rfgraph says about each example, computed from the files."""
    from rfgraph import analyze, loads
    from rfgraph.report import describe, number
    from rfgraph.sizes import valid_sizes

    def axes(values: tuple[object, ...]) -> str:
        shown = [number(v) for v in values]  # type: ignore[arg-type]
        return shown[0] if len(set(shown)) == 1 else "[" + ", ".join(shown) + "]"

    parts = [README_HEAD]
    for stem, text in texts.items():
        net = loads(text, path=f"models/examples/{stem}.yaml")
        a = analyze(net)
        head = " ".join(line.removeprefix("# ") for line in text.splitlines() if line.startswith("# "))
        parts.append(f"## [{stem}]({stem}.yaml)\n\n{head}\n\n{NOTES[stem]}\n")
        size = "" if a.input_size is None else " at the file's input size " + "x".join(map(str, a.input_size))
        rows = ["| output | r | S | P | size | global |", "|---|---|---|---|---|---|"]
        for out in a.outputs:
            rf = a[out]
            shape = "-" if rf.size is None else "x".join(map(str, rf.size))
            flag = "yes" if rf.is_global else "no"
            rows.append(f"| `{out}` | {axes(rf.r)} | {axes(rf.S)} | {axes(rf.P)} | {shape} | {flag} |")
        merges, bad = len(a.merges), len({m.node for m in a.misalignments})
        state = "every merge aligned" if a.aligned else f"{bad} of {merges} merges misaligned"
        rule = f" (rule `{net.align}`)" if net.align != "centre" else ""
        parts.append(f"{len(a.nodes)} nodes{size}: {state}{rule}.\n\n" + "\n".join(rows) + "\n")
        if a.misalignments:
            shown = [f"- {describe(a, m)}" for m in a.misalignments if m.axis == 0][:3]
            parts.append("First misalignments (axis 0):\n\n" + "\n".join(shown) + "\n")
        try:
            found = valid_sizes(net)
            parts.append("`rfgraph sizes`: " + "; ".join(x.describe() for x in found.axes) + ".\n")
        except Exception as e:
            parts.append(f"`rfgraph sizes`: {getattr(e, 'message', e)}.\n")
    return "\n".join(parts)


README_HEAD = """# Worked examples: modern ops

Networks after 2016, written from their papers: upsampling, transposed convolutions, crops, global
context, causal 1-D stacks and 3-D video. This file is generated by `python models/generate.py` from
what rfgraph computes (a test fails when it is stale); `tests/test_examples.py` checks the numbers.
Without an input size unless the file has one (U-Net's 572).
"""
