"""Plain chains from TF-Slim: alexnet_v2, vgg_16 and mobilenet_v1.

Each builder follows the slim function layer by layer, with the padding each
layer gets from its arg_scope (or slim's own default: conv2d SAME, max_pool2d
VALID) written out explicitly, and stops at the end-point used by Araujo,
Norris & Sim (2019) and google-research/receptive_field's rf_benchmark.py.
Pointwise ops (relu, batch_norm, dropout) change no geometry and are left out.
"""

from __future__ import annotations

from models.gen.net import Net

SLIM = "https://github.com/tensorflow/models/blob/master/research/slim/nets"


def alexnet_v2() -> Net:
    net = Net(
        "alexnet_v2",
        f"""AlexNet v2 ("One weird trick" variant, no LRN), as defined by TF-Slim:
{SLIM}/alexnet.py  (alexnet_v2, alexnet_v2_arg_scope)
arg_scope: conv2d padding SAME, max_pool2d padding VALID (also slim's defaults).
conv1 overrides its padding with VALID. Ends at pool5, the last feature map
before the fully-connected layers (fc6 is a 5x5 VALID conv, not described).""",
    )
    net.layer("conv1", "conv", kernel=11, stride=4, padding="valid")
    net.layer("pool1", "pool", kernel=3, stride=2, padding="valid")
    net.layer("conv2", "conv", kernel=5, padding="same")
    net.layer("pool2", "pool", kernel=3, stride=2, padding="valid")
    net.layer("conv3", "conv", kernel=3, padding="same")
    net.layer("conv4", "conv", kernel=3, padding="same")
    net.layer("conv5", "conv", kernel=3, padding="same")
    net.layer("pool5", "pool", kernel=3, stride=2, padding="valid")
    return net


# vgg_16: slim.repeat(net, n, slim.conv2d, depth, [3, 3], scope='convK') per stage.
VGG_16_STAGES = (2, 2, 3, 3, 3)


def vgg_16() -> Net:
    net = Net(
        "vgg_16",
        f"""VGG 16-layer (configuration D), as defined by TF-Slim:
{SLIM}/vgg.py  (vgg_16, vgg_arg_scope)
arg_scope: conv2d padding SAME; max_pool2d keeps slim's default VALID, with
kernel [2, 2] and slim's default stride 2. Each stage is
slim.repeat(n, conv2d 3x3, scope='convK') -> convK/convK_1 ... convK/convK_n.
Ends at pool5, before fc6 (a 7x7 VALID conv, not described).""",
    )
    for stage, repeats in enumerate(VGG_16_STAGES, start=1):
        for i in range(1, repeats + 1):
            net.layer(f"conv{stage}/conv{stage}_{i}", "conv", kernel=3, padding="same")
        net.layer(f"pool{stage}", "pool", kernel=2, stride=2, padding="valid")
    return net


# mobilenet_v1's _CONV_DEFS: Conv(3x3, stride 2) then 13 DepthSepConv(3x3, stride).
MOBILENET_V1_DEPTHSEP_STRIDES = (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)


def mobilenet_v1() -> Net:
    net = Net(
        "mobilenet_v1",
        f"""MobileNet v1 (depth_multiplier 1.0), as defined by TF-Slim:
{SLIM}/mobilenet_v1.py  (mobilenet_v1_base, _CONV_DEFS)
mobilenet_v1_base sets padding SAME for conv2d and separable_conv2d
(use_explicit_padding=False, output_stride=None: no atrous rates).
Conv2d_i_depthwise is a depthwise 3x3 (separable_conv2d with num_outputs=None);
for the receptive field it is an ordinary 3x3 window. Ends at Conv2d_13_pointwise,
the last end-point before Logits/AvgPool_1a.""",
    )
    net.layer("Conv2d_0", "conv", kernel=3, stride=2, padding="same")
    for i, stride in enumerate(MOBILENET_V1_DEPTHSEP_STRIDES, start=1):
        net.layer(f"Conv2d_{i}_depthwise", "conv", kernel=3, stride=stride, padding="same")
        net.layer(f"Conv2d_{i}_pointwise", "conv", kernel=1, padding="same")
    return net


def networks() -> dict[str, str]:
    return {build.__name__: build().yaml() for build in (alexnet_v2, vgg_16, mobilenet_v1)}
