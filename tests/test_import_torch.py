"""The PyTorch door: layers written for small modules, torchvision's names, the oracle, the CLI."""

from __future__ import annotations

import re
import shlex
import sys

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from importing import check_against_oracle, layer_lines, torchvision_feature_maps  # noqa: E402
from nets import OPPOSITE_CORNERS  # noqa: E402
from torch import nn  # noqa: E402

import rfgraph  # noqa: E402
from rfgraph import RFGraphError, analyze  # noqa: E402
from rfgraph.cli import main  # noqa: E402
from rfgraph.importers import import_torch  # noqa: E402
from rfgraph.importers.writer import to_yaml  # noqa: E402


def lines(module: nn.Module, size=16, **kw) -> list[str]:
    return layer_lines(import_torch(module, size, **kw))


class Fn(nn.Module):
    """A module that applies ``f`` to its input (and its own parameters)."""

    def __init__(self, f, **modules: nn.Module) -> None:
        super().__init__()
        self.f = f
        for k, v in modules.items():
            setattr(self, k, v)

    def forward(self, x):
        return self.f(self, x)


# ----------------------------------------------------------------------------- windows


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
def test_convs_with_groups_dilation_same_and_reflect_padding():
    net = nn.Sequential()
    net.add_module("a", nn.Conv2d(3, 8, 3, stride=2, padding=1))
    # PyTorch's padding="same" is the format's same (stride 1: the smaller half before)
    net.add_module("b", nn.Conv2d(8, 8, (3, 5), padding="same", dilation=2, groups=8))
    net.add_module("c", nn.Conv2d(8, 4, 2, padding="same"))
    net.add_module("d", nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"))  # reads like padding
    net.add_module("e", nn.Conv2d(4, 6, 3, groups=2, padding="valid"))
    assert lines(net) == [
        "{name: a, op: conv, kernel: 3, stride: 2, padding: 1, channels: 8, inputs: [input]}",
        "{name: b, op: depthwise_conv, kernel: [3, 5], dilation: 2, padding: same, channels: 8, inputs: [a]}",
        "{name: c, op: conv, kernel: 2, padding: same, channels: 4, inputs: [b]}",
        "{name: d, op: conv, kernel: 3, padding: 1, channels: 4, inputs: [c]}",
        "{name: e, op: conv, kernel: 3, channels: 6, inputs: [d]}",
    ]


def test_1d_and_3d_convs_write_dims():
    one = import_torch(nn.Sequential(nn.Conv1d(2, 4, 5, stride=2)), 32)
    three = import_torch(nn.Sequential(nn.Conv3d(3, 4, (1, 3, 3), padding=(0, 1, 1))), [4, 8, 8])
    assert (one.dims, one.input_size, layer_lines(one)) == (
        1,
        (32,),
        ['{name: "0", op: conv, kernel: 5, stride: 2, channels: 4, inputs: [input]}'],
    )
    assert (three.dims, layer_lines(three)) == (
        3,
        ['{name: "0", op: conv, kernel: [1, 3, 3], padding: [0, 1, 1], channels: 4, inputs: [input]}'],
    )
    assert to_yaml(three).splitlines()[:3] == [
        "name: Sequential",
        "input: {name: input, size: [4, 8, 8]}",
        "dims: 3",
    ]


def test_circular_padding_is_an_error_naming_the_node():
    net = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, padding_mode="circular"))
    with pytest.raises(RFGraphError, match=r"'0' \(Conv2d\): circular padding reads the far side"):
        import_torch(net, 8)


def test_transposed_convs_with_output_padding_and_output_size():
    class Up(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)
            self.sized = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1)

        def forward(self, x):
            # (n-1)*2 - 2 + 3 = 2n - 1; output_size asks for 2n (n = 16 -> 32 -> 64)
            return self.sized(self.up(x), output_size=[64, 64])

    assert lines(Up()) == [
        "{name: up, op: transposed_conv, kernel: 3, stride: 2, padding: 1, output_padding: 1, channels: 4, "
        "inputs: [x]}",
        "{name: sized, op: transposed_conv, kernel: 3, stride: 2, padding: 1, output_padding: 1, channels: 4, "
        "inputs: [up]}",
    ]


def test_pools_with_ceil_mode_default_stride_and_dilation():
    net = nn.Sequential(
        nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.AvgPool2d(2),  # stride = kernel
        nn.MaxPool2d(3, 1, 1, dilation=2),
        Fn(lambda s, x: F.avg_pool2d(x, 2, ceil_mode=True)),
    )
    assert lines(net, 33) == [
        '{name: "0", op: max_pool, kernel: 3, stride: 2, ceil_mode: true, channels: 3, inputs: [input]}',
        '{name: "1", op: avg_pool, kernel: 2, stride: 2, channels: 3, inputs: ["0"]}',
        '{name: "2", op: max_pool, kernel: 3, dilation: 2, padding: 1, channels: 3, inputs: ["1"]}',
        '{name: "3.avg_pool2d", op: avg_pool, kernel: 2, stride: 2, ceil_mode: true, channels: 3, inputs: ["2"]}',
    ]


def test_adaptive_pools_to_one_are_global_and_to_k_keep_their_output_size():
    class Pools(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.to_one = nn.AdaptiveAvgPool2d(1)
            self.to_k = nn.AdaptiveMaxPool2d((3, None))  # None keeps the axis: 16

        def forward(self, x):
            return self.to_one(x), self.to_k(x)

    assert lines(Pools()) == [
        "{name: to_one, op: global_pool, channels: 3, inputs: [x]}",
        "{name: to_k, op: adaptive_pool, output_size: [3, 16], channels: 3, inputs: [x]}",
    ]


# ----------------------------------------------------------------------------- resampling


def test_upsampling_by_integer_and_fractional_factors_and_to_a_size():
    class Resample(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.up = nn.Upsample(scale_factor=2)
            self.smooth = nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=True)

        def forward(self, x):
            a = self.up(x)
            b = self.smooth(a)
            c = F.interpolate(b, scale_factor=1.5, mode="bicubic")
            d = F.interpolate(c, size=(7, 9))
            e = F.interpolate(d, size=(4, 3), mode="area")
            return F.interpolate(e, size=x.shape[-2:], mode="bilinear")

    assert lines(Resample(), 8) == [
        "{name: up, op: upsample, factor: 2, channels: 3, inputs: [x]}",
        "{name: smooth, op: upsample, factor: [2, 3], mode: bilinear, align_corners: true, channels: 3, "
        "inputs: [up]}",
        "{name: interpolate, op: resize, factor: 3/2, mode: bicubic, channels: 3, inputs: [smooth]}",
        "{name: interpolate_1, op: resize, size: [7, 9], channels: 3, inputs: [interpolate]}",
        "{name: interpolate_2, op: adaptive_pool, output_size: [4, 3], channels: 3, inputs: [interpolate_1]}",
        "{name: interpolate_3, op: resize, size_of: x, mode: bilinear, channels: 3, inputs: [interpolate_2]}",
    ]


def test_size_of_another_map_by_size_and_by_single_dims():
    class Skip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.down = nn.Conv2d(3, 3, 3, stride=2, padding=1)

        def forward(self, x):
            y = self.down(x)
            a = F.interpolate(y, size=x.size()[2:])
            b = F.interpolate(y, size=[x.shape[2], x.shape[3]])
            return a + b

    assert lines(Skip())[1:3] == [
        "{name: interpolate, op: resize, size_of: x, channels: 3, inputs: [down]}",
        "{name: interpolate_1, op: resize, size_of: x, channels: 3, inputs: [down]}",
    ]


def test_sizes_and_modes_without_an_exact_meaning_are_errors():
    computed = Fn(lambda s, x: F.interpolate(x, size=(x.shape[2] * 2, x.shape[3] * 2)))
    with pytest.raises(RFGraphError, match="a size computed from shapes"):
        import_torch(computed, 8)
    smoothed = Fn(lambda s, x: F.interpolate(x, scale_factor=0.5, mode="bilinear", antialias=True))
    with pytest.raises(RFGraphError, match="antialias when downsampling is not supported"):
        import_torch(smoothed, 8)


def test_nearest_exact_by_any_factor_and_to_a_size():
    exact = Fn(
        lambda s, x: F.interpolate(
            F.interpolate(x, scale_factor=1.5, mode="nearest-exact"), size=(5, 7), mode="nearest-exact"
        )
    )
    assert lines(exact, 8) == [
        "{name: interpolate, op: resize, factor: 3/2, mode: nearest_exact, channels: 3, inputs: [x]}",
        "{name: interpolate_1, op: resize, size: [5, 7], mode: nearest_exact, channels: 3, inputs: [interpolate]}",
    ]


def test_pixel_shuffle_and_unshuffle():
    net = nn.Sequential(nn.PixelUnshuffle(2), nn.PixelShuffle(2))
    assert lines(net) == [
        '{name: "0", op: pixel_unshuffle, factor: 2, channels: 12, inputs: [input]}',
        '{name: "1", op: pixel_shuffle, factor: 2, channels: 3, inputs: ["0"]}',
    ]


# ----------------------------------------------------------------------------- merges and reshapes


def test_add_mul_sub_cat_in_every_spelling():
    class Merges(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.b = nn.Conv2d(3, 4, 1)

        def forward(self, x):
            a, b = self.a(x), self.b(x)
            a += b
            c = torch.add(a, b)
            d = c * b - a
            return torch.cat([d, a], dim=1)

    assert lines(Merges())[2:] == [
        "{name: add, op: add, channels: 4, inputs: [a, b]}",
        "{name: add_1, op: add, channels: 4, inputs: [add, b]}",
        "{name: mul, op: mul, channels: 4, inputs: [add_1, b]}",
        "{name: sub, op: sub, channels: 4, inputs: [mul, add]}",
        "{name: cat, op: concat, channels: 8, inputs: [sub, add]}",
    ]


def test_a_constant_or_parameter_operand_is_pointwise():
    class Embedded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(1, 3, 8, 8))  # a position embedding
            self.gain = nn.Parameter(torch.ones(3, 1, 1))

        def forward(self, x):
            return (x + self.pos) * self.gain / 2.0

    assert lines(Embedded(), 8) == [
        "{name: add, op: bias, channels: 3, inputs: [x]}",
        "{name: mul, op: scale, channels: 3, inputs: [add]}",
        "{name: truediv, op: scale, channels: 3, inputs: [mul]}",
    ]


def test_channel_shuffle_is_pointwise():
    def shuffle(s, x):
        n, c, h, w = x.size()
        return x.view(n, 3, c // 3, h, w).transpose(1, 2).contiguous().view(n, c, h, w)

    assert lines(nn.Sequential(nn.Conv2d(3, 6, 1), Fn(shuffle), nn.ChannelShuffle(2))) == [
        '{name: "0", op: conv, channels: 6, inputs: [input]}',
        '{name: "1.view", op: identity, channels: 6, inputs: ["0"]}',
        '{name: "1.transpose", op: channel_shuffle, channels: 6, inputs: ["1.view"]}',
        '{name: "1.contiguous", op: identity, channels: 6, inputs: ["1.transpose"]}',
        '{name: "1.view_1", op: identity, channels: 6, inputs: ["1.contiguous"]}',
        '{name: "2", op: channel_shuffle, channels: 6, inputs: ["1.view_1"]}',
    ]


class ConvNeXtBlock(nn.Module):
    """Depthwise conv, then channels-last LayerNorm, Linear, GELU, Linear, layer scale."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c)
        self.up = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.down = nn.Linear(4 * c, c)
        self.scale = nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.scale * self.down(self.act(self.up(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


def test_channels_last_linear_is_a_1x1_conv_and_permutes_are_identities():
    assert lines(ConvNeXtBlock(), 8) == [
        "{name: dw, op: depthwise_conv, kernel: 7, padding: 3, channels: 4, inputs: [x]}",
        "{name: permute, op: identity, channels: 4, inputs: [dw]}",
        "{name: norm, op: layer_norm, channels: 4, inputs: [permute]}",
        "{name: up, op: conv, channels: 16, inputs: [norm]}",
        "{name: act, op: gelu, channels: 16, inputs: [up]}",
        "{name: down, op: conv, channels: 4, inputs: [act]}",
        "{name: mul, op: scale, channels: 4, inputs: [down]}",
        "{name: permute_1, op: identity, channels: 4, inputs: [mul]}",
        "{name: add, op: add, channels: 4, inputs: [x, permute_1]}",
    ]


class SqueezeExcitation(nn.Module):
    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, c, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, 2, 1)
        self.fc2 = nn.Conv2d(2, c, 1)

    def forward(self, x):
        y = self.conv(x)
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(y)))))
        return y * gate


def test_squeeze_excitation_is_a_mul_with_the_global_branch():
    assert lines(SqueezeExcitation(), 8) == [
        "{name: conv, op: conv, kernel: 3, padding: 1, channels: 4, inputs: [x]}",
        "{name: pool, op: global_pool, channels: 4, inputs: [conv]}",
        "{name: fc1, op: conv, channels: 2, inputs: [pool]}",
        "{name: relu, op: relu, channels: 2, inputs: [fc1]}",
        "{name: fc2, op: conv, channels: 4, inputs: [relu]}",
        "{name: sigmoid, op: sigmoid, channels: 4, inputs: [fc2]}",
        "{name: mul, op: mul, channels: 4, inputs: [conv, sigmoid]}",
    ]


def test_classifier_heads_flatten_then_fc():
    class Head(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(3, 10)
            self.vgg_fc = nn.Linear(3 * 8 * 8, 10)

        def forward(self, x):
            a = self.fc(torch.flatten(self.pool(x), 1))
            b = self.vgg_fc(x.view(x.size(0), -1))  # merges channels and positions
            return a, b

    assert lines(Head(), 8) == [
        "{name: pool, op: global_pool, channels: 3, inputs: [x]}",
        "{name: flatten, op: flatten, channels: 3, inputs: [pool]}",
        "{name: fc, op: fc, channels: 10, inputs: [flatten]}",
        "{name: view, op: flatten, channels: 192, inputs: [x]}",
        "{name: vgg_fc, op: fc, channels: 10, inputs: [view]}",
    ]


def test_padding_slicing_and_strided_slicing():
    class Cut(nn.Module):
        def forward(self, x):
            a = F.pad(x, (1, 2, 3, 4))  # w: 1, 2; h: 3, 4
            b = F.pad(a, (1, 1, 1, 1), mode="reflect")
            c = b[:, :, 1:-1, 2:]
            d = c[:, :2]  # channels only
            return d[..., ::2, ::2]

    assert lines(Cut(), 8) == [
        "{name: pad, op: pad, padding: [[3, 4], [1, 2]], channels: 3, inputs: [x]}",
        "{name: pad_1, op: pad, padding: 1, channels: 3, inputs: [pad]}",
        "{name: getitem, op: crop, crop: [1, [2, 0]], channels: 3, inputs: [pad_1]}",
        "{name: getitem_1, op: identity, channels: 2, inputs: [getitem]}",
        "{name: getitem_2, op: pool, stride: 2, channels: 2, inputs: [getitem_1]}",
    ]


@pytest.mark.parametrize(
    ("module", "op"),
    [
        (nn.ReLU6(), "relu6"),
        (nn.LeakyReLU(), "leaky_relu"),
        (nn.PReLU(), "prelu"),
        (nn.ELU(), "elu"),
        (nn.SELU(), "selu"),
        (nn.GELU(), "gelu"),
        (nn.SiLU(), "silu"),
        (nn.Mish(), "mish"),
        (nn.Sigmoid(), "sigmoid"),
        (nn.Hardsigmoid(), "hardsigmoid"),
        (nn.Hardswish(), "hardswish"),
        (nn.Hardtanh(), "hardtanh"),
        (nn.Tanh(), "tanh"),
        (nn.Softplus(), "softplus"),
        (nn.Softmax(dim=1), "softmax"),
        (nn.BatchNorm2d(3), "batch_norm"),
        (nn.GroupNorm(3, 3), "group_norm"),
        (nn.InstanceNorm2d(3), "instance_norm"),
        (nn.LocalResponseNorm(2), "local_response_norm"),
        (nn.Dropout2d(), "dropout"),
        (nn.Identity(), "identity"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else v,
)
def test_activations_and_norms_are_pointwise(module, op):
    assert lines(nn.Sequential(module), 8) == [f'{{name: "0", op: {op}, channels: 3, inputs: [input]}}']


def test_pointwise_functions_and_methods():
    net = Fn(lambda s, x: torch.clamp(F.hardswish(x.relu()).sigmoid(), 0, 1).contiguous())
    assert [line.split(", op: ")[1].split(",")[0] for line in lines(net, 8)] == [
        "relu",
        "hardswish",
        "sigmoid",
        "identity",
        "identity",
    ]


def test_a_vit_patchify_class_token_and_attention():
    class TinyViT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, 8, 4, stride=4)
            self.token = nn.Parameter(torch.zeros(1, 1, 8))
            self.pos = nn.Parameter(torch.zeros(1, 17, 8))
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 5)

        def forward(self, x):
            y = self.patch(x).flatten(2).transpose(1, 2)
            y = torch.cat([self.token.expand(x.shape[0], -1, -1), y], dim=1) + self.pos
            y, _ = self.attention(y, y, y, need_weights=False)
            return self.head(y[:, 0])

    assert lines(TinyViT()) == [
        "{name: patch, op: conv, kernel: 4, stride: 4, channels: 8, inputs: [x]}",
        "{name: flatten, op: identity, channels: 8, inputs: [patch]}",
        "{name: transpose, op: identity, channels: 8, inputs: [flatten]}",
        # the class token joins the sequence: no spatial merge, an identity of the map
        "{name: cat, op: identity, channels: 8, inputs: [transpose]}",
        "{name: add, op: bias, channels: 8, inputs: [cat]}",
        "{name: attention, op: global, channels: 8, inputs: [add]}",
        # getitem is x.shape[0]; getitem_2 the attention weights, unused
        "{name: getitem_1, op: identity, channels: 8, inputs: [attention]}",
        "{name: getitem_3, op: global_pool, channels: 8, inputs: [getitem_1]}",
        "{name: head, op: fc, channels: 5, inputs: [getitem_3]}",
    ]


def test_taking_the_class_token_before_any_attention_is_an_error():
    class Early(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token = nn.Parameter(torch.zeros(1, 1, 3))

        def forward(self, x):
            y = torch.cat([self.token.expand(x.shape[0], -1, -1), x.flatten(2).transpose(1, 2)], dim=1)
            return y[:, 0]

    with pytest.raises(RFGraphError, match="selects a token that is no position of the input"):
        import_torch(Early(), 4)


# ----------------------------------------------------------------------------- errors and names


def test_unknown_ops_are_one_error_listing_each_with_its_node():
    net = Fn(lambda s, x: torch.flip(torch.relu(torch.roll(s.conv(x), 1, 2)), [3]), conv=nn.Conv2d(3, 3, 1))
    with pytest.raises(RFGraphError) as caught:
        import_torch(net, 8)
    # the flip follows the roll: it is reported too, the relu between them is known
    assert str(caught.value) == (
        "Fn: 2 op(s) the importer does not support: 'roll' (roll): unknown op; 'flip' (flip): unknown op "
        "(an op that keeps the geometry can be named with assume_pointwise / --assume-pointwise)"
    )
    assert lines(net, 8, assume_pointwise=["roll", "flip"])[1:] == [
        "{name: roll, op: identity, channels: 3, inputs: [conv]}",
        "{name: relu, op: relu, channels: 3, inputs: [roll]}",
        "{name: flip, op: identity, channels: 3, inputs: [relu]}",
    ]
    both = Fn(lambda s, x: torch.roll(x, 1, 2) + torch.flip(x, [3]))
    with pytest.raises(RFGraphError, match=r"2 op\(s\).*'roll' \(roll\): unknown op; 'flip' \(flip\)"):
        import_torch(both, 8)
    assert lines(both, 8, assume_pointwise=["roll", "flip"]) == [
        "{name: roll, op: identity, channels: 3, inputs: [x]}",
        "{name: flip, op: identity, channels: 3, inputs: [x]}",
        "{name: add, op: add, channels: 3, inputs: [roll, flip]}",
    ]


def test_a_module_that_does_not_trace_is_an_error():
    class Branchy(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    with pytest.raises(RFGraphError, match=r"torch\.fx cannot trace Branchy"):
        import_torch(Branchy(), 8)


def test_a_forward_with_two_tensor_inputs_is_refused_before_running():
    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3)

        def forward(self, x, y):
            return self.conv(x) + y

    with pytest.raises(RFGraphError) as caught:
        rfgraph.from_torch(TwoInputs(), 8)
    assert (
        str(caught.value) == "TwoInputs: the module must take exactly one tensor input, its forward takes 2"
    )


def test_api_errors_are_located_at_the_class_or_the_given_name():
    net = nn.Sequential(nn.Conv2d(3, 3, 5))
    with pytest.raises(RFGraphError, match=r"^Sequential: running Sequential on a \(2, 3, 4, 4\) input"):
        rfgraph.from_torch(net, 4)
    with pytest.raises(RFGraphError, match=r"^tiny: running Sequential"):
        import_torch(net, 4, name="tiny")


class HeadRegisteredFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(16, 10)  # registered first, runs last
        self.stem = nn.Conv2d(3, 16, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.head(self.pool(self.stem(x)).flatten(1))


def test_input_channels_are_the_first_conv_or_linear_that_runs():
    assert (
        lines(HeadRegisteredFirst(), 8)[0] == "{name: stem, op: conv, kernel: 3, channels: 16, inputs: [x]}"
    )


def test_input_channels_that_no_module_tells_are_asked_for():
    net = Fn(lambda s, x: F.conv2d(x, s.weight), weight=nn.Parameter(torch.ones(4, 5, 3, 3)))
    with pytest.raises(RFGraphError, match=r"3 were tried: give them, from_torch\(\.\.\., in_channels=N\)"):
        import_torch(net, 8)
    assert lines(net, 8, in_channels=5) == ["{name: conv2d, op: conv, kernel: 3, channels: 4, inputs: [x]}"]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_an_input_too_small_names_the_layer_that_fails(device):
    net = nn.Sequential(nn.Conv2d(3, 3, 3, stride=2), nn.Conv2d(3, 3, 5)).to(device)
    message = "running Sequential on a (2, 3, 9, 9) input failed at '1': Calculated padded input size"
    with pytest.raises(RFGraphError, match=re.escape(message)):
        import_torch(net, 9)


def test_repeats_in_a_scope_count_from_one_and_modules_are_named_by_path():
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return F.relu(F.relu(self.conv(x)) + x)

    net = nn.Sequential()
    net.add_module("stage", nn.Sequential(Block(), Block()))
    assert [line.split(",")[0] for line in lines(net, 4)] == [
        "{name: stage.0.conv",
        "{name: stage.0.relu",
        "{name: stage.0.add",
        "{name: stage.0.relu_1",
        "{name: stage.1.conv",
        "{name: stage.1.relu",
        "{name: stage.1.add",
        "{name: stage.1.relu_1",
    ]


def test_the_input_keeps_the_forward_arguments_name():
    class Named(nn.Module):
        def forward(self, images):
            return F.relu(images)

    spec = import_torch(Named(), 4)
    assert spec.input == "images" and to_yaml(spec).splitlines()[1] == "input: {name: images, size: 4}"


def test_torchvision_leaves_are_traced_through_and_their_output_takes_their_name():
    ops = pytest.importorskip("torchvision.ops")
    net = nn.Sequential()
    net.add_module("stem", ops.Conv2dNormActivation(3, 8, 3, stride=2))
    net.add_module("se", ops.SqueezeExcitation(8, 2))
    assert [line.split(", channels")[0] for line in lines(net, 8)] == [
        "{name: stem.0, op: conv, kernel: 3, stride: 2, padding: 1",
        "{name: stem.1, op: batch_norm",
        "{name: stem, op: relu",
        "{name: se.avgpool, op: global_pool",
        "{name: se.fc1, op: conv",
        "{name: se.activation, op: relu",
        "{name: se.fc2, op: conv",
        "{name: se.scale_activation, op: sigmoid",
        "{name: se, op: mul",
    ]


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small"])
def test_every_torchvision_feature_map_is_a_node_of_that_name(name):
    models = pytest.importorskip("torchvision.models")
    with torch.device("meta"):
        model = getattr(models, name)(weights=None)
    wanted = torchvision_feature_maps(model, (64, 64))
    spec = import_torch(model, 64)
    got = {spec.input} | {layer["name"] for layer in spec.layers}
    assert len(wanted) > 50
    assert [w for w in wanted if w not in got] == []


# ----------------------------------------------------------------------------- against the oracle


class ResidualStage(nn.Module):
    """Old ops only: strided conv and shortcut, dilation, same padding, pools, pad, concat, channels last."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 5, stride=2, padding=2)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.branch = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.shortcut = nn.Conv2d(8, 8, 1, stride=2)
        self.dilated = nn.Conv2d(8, 8, 3, dilation=2, padding="same")
        self.left = nn.Conv2d(8, 4, 1)
        self.right = nn.Conv2d(8, 4, 3, padding=1)
        self.mix = nn.Linear(8, 8)

    def forward(self, x):
        y = self.pool(F.relu(self.stem(x)))
        y = F.relu(self.branch(y) + self.shortcut(y))
        y = self.dilated(F.pad(y, (1, 0, 0, 1)))
        y = torch.cat([self.left(y), self.right(y)], 1)
        return self.mix(y.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


@pytest.mark.parametrize(("size", "features"), [((32, 32), 5 * 5), ((37, 30), 6 * 5)])
def test_fields_of_old_op_modules_match_the_oracle(size, features):
    module = ResidualStage()
    assert check_against_oracle(module, import_torch(module, list(size)), size) == features


def test_asymmetric_padding_matches_the_oracle():
    module = Fn(lambda s, x: s.conv(F.pad(x, (2, 1, 0, 3))), conv=nn.Conv2d(3, 3, 3, stride=2))
    assert check_against_oracle(module, import_torch(module, 9), (9, 9)) == 25


def strided(kernel: int = 3, stride: int = 2, **kw) -> nn.Conv2d:
    return nn.Conv2d(3, 3, kernel, stride=stride, **kw)


def resized(**kw) -> Fn:
    """A stride-2 conv, then F.interpolate: resampling a map whose features are 2 pixels apart."""
    return Fn(lambda s, x: F.interpolate(s.conv(x), **kw), conv=strided())


class PatchAttention(nn.Module):
    """ViT in small: 3x3 patches, a class token, a position embedding, attention and an MLP with
    residuals, the patch tokens back to a map."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 3, stride=3)
        self.token = nn.Parameter(torch.zeros(1, 1, 8))
        self.position = nn.Parameter(torch.zeros(1, 17, 8))
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.mlp = nn.Linear(8, 8)

    def forward(self, x):
        y = self.patch(x).flatten(2).transpose(1, 2)
        y = torch.cat([self.token.expand(x.shape[0], -1, -1), y], dim=1) + self.position
        y = y + self.attention(y, y, y, need_weights=False)[0]
        y = y + self.mlp(y)
        return y[:, 1:].transpose(1, 2).reshape(x.shape[0], 8, 4, 4)


# Every op the importer writes, traced from a small module, against PyTorch's gradients: every feature
# of the output, at a size that is not a multiple of the strides (the last rows are dropped, windows
# hang over the end). (module, input size)
EVERY_OP = {
    "transposed": (nn.Sequential(strided(), nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1)), (11, 11)),
    "transposed_dilated_output_padding": (
        nn.Sequential(
            strided(), nn.ConvTranspose2d(3, 3, 3, stride=2, padding=1, dilation=2, output_padding=1)
        ),
        (13, 13),
    ),
    # kernel 2 < stride 3: every third feature reads nothing, on either axis, so no pixel at all
    "transposed_with_holes": (nn.Sequential(strided(), nn.ConvTranspose2d(3, 3, 2, stride=3)), (13, 13)),
    "max_pool_ceil_mode_nearest": (
        nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), nn.Upsample(scale_factor=2)),
        (11, 11),
    ),
    "max_pool_past_the_end": (
        nn.Sequential(nn.MaxPool2d(2, 3, ceil_mode=True), strided(3, 1, padding=1)),
        (13, 13),
    ),
    "avg_pool_ceil_mode_padded": (nn.AvgPool2d(3, 2, 1, ceil_mode=True), (13, 13)),
    "lp_pool": (nn.LPPool2d(2, 3, stride=2, ceil_mode=True), (13, 13)),
    "depthwise_dilated": (
        nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=2, dilation=2, groups=3), nn.Conv2d(6, 6, 3, stride=2, groups=6)
        ),
        (13, 13),
    ),
    "same_even_kernel": (nn.Conv2d(3, 3, 4, padding="same"), (13, 13)),
    "nearest_x2": (resized(scale_factor=2), (11, 11)),
    "nearest_x1.5": (resized(scale_factor=1.5), (13, 13)),
    "nearest_to_a_smaller_size": (Fn(lambda s, x: F.interpolate(x, size=(5, 4))), (13, 13)),
    "nearest_exact_x1.5": (resized(scale_factor=1.5, mode="nearest-exact"), (13, 13)),
    "nearest_exact_to_a_size": (resized(size=(9, 16), mode="nearest-exact"), (13, 13)),
    # half-pixel bilinear: a neighbour outside the map is padding here, PyTorch clamps the coordinate
    # to the edge instead; either way only the edge pixel is read
    "bilinear_x2": (resized(scale_factor=2, mode="bilinear"), (11, 11)),
    "bilinear_x3": (resized(scale_factor=3, mode="bilinear"), (13, 13)),  # neighbours of weight 0
    "bilinear_x1.5": (resized(scale_factor=1.5, mode="bilinear"), (13, 13)),
    "bilinear_to_a_size": (resized(size=(17, 20), mode="bilinear"), (13, 13)),
    "bilinear_to_a_smaller_size": (Fn(lambda s, x: F.interpolate(x, size=(5, 4), mode="bilinear")), (13, 13)),
    "bilinear_align_corners": (resized(scale_factor=2, mode="bilinear", align_corners=True), (13, 13)),
    # four taps, negative ones among them, coordinates clamped to the edge
    "bicubic_x2": (resized(scale_factor=2, mode="bicubic"), (13, 13)),
    "bicubic_x1.5": (resized(scale_factor=1.5, mode="bicubic"), (13, 13)),
    "size_of_another_map": (
        Fn(
            lambda s, x: x + F.interpolate(s.conv(x), size=x.shape[-2:], mode="bilinear"),
            conv=strided(padding=1),
        ),
        (12, 12),
    ),
    "pixel_shuffle": (
        nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2), nn.PixelUnshuffle(2)),
        (11, 11),
    ),
    "adaptive_avg": (nn.Sequential(strided(), nn.AdaptiveAvgPool2d(3)), (11, 11)),
    "adaptive_max": (Fn(lambda s, x: F.adaptive_max_pool2d(s.conv(x), (2, 3)), conv=strided()), (13, 13)),
    "crop": (Fn(lambda s, x: s.conv(x)[:, :, 1:-2, 2:], conv=strided()), (11, 11)),
    "strided_slice": (Fn(lambda s, x: s.conv(x)[:, :, ::2, ::3], conv=strided(3, 1, padding=1)), (13, 13)),
    # reflect and replicate padding read pixels where zero padding reads zeros: exact here because
    # every window that reaches into the padding reaches as far into the map (see README)
    "reflect_pad": (
        Fn(lambda s, x: s.conv(F.pad(x, (1, 1, 1, 1), mode="reflect")), conv=strided(3, 1)),
        (13, 13),
    ),
    "replicate_pad": (
        Fn(lambda s, x: s.conv(F.pad(x, (2, 2, 2, 2), mode="replicate")), conv=strided(5)),
        (13, 13),
    ),
    "convnext_block": (ConvNeXtBlock(3), (11, 11)),
    "squeeze_excitation": (SqueezeExcitation(), (8, 8)),
    "vit_block": (PatchAttention(), (13, 13)),
    "conv1d_pool_linear_upsample": (
        nn.Sequential(
            nn.Conv1d(3, 3, 5, stride=2, dilation=2),
            nn.MaxPool1d(2),
            nn.Upsample(scale_factor=3, mode="linear"),
        ),
        (29,),
    ),
    "conv3d_transposed3d": (
        nn.Sequential(
            nn.Conv3d(3, 3, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            nn.ConvTranspose3d(3, 3, 2, stride=2),
        ),
        (3, 7, 9),
    ),
}


@pytest.mark.parametrize("name", list(EVERY_OP))
def test_every_op_reads_what_pytorch_reads(name):
    """Global branches (squeeze-excitation, attention) are detached: the oracle measures the local field."""
    module, size = EVERY_OP[name]
    spec = import_torch(module, list(size))
    assert check_against_oracle(module, spec, size, detach_global=True) > 0


def test_reflect_padding_that_reaches_further_out_than_in_is_not_exact():
    """Reflect padding reads the mirror image of the map where rfgraph's pad reads padding: a 2-tap
    window at -3..-2 reads pixels 3 and 2, which rfgraph calls padding (clipped None)."""
    from oracle import measured_box

    from rfgraph.importers import from_torch
    from rfgraph.locate import locate

    module = Fn(lambda s, x: s.conv(F.pad(x, (3, 0, 3, 0), mode="reflect")), conv=strided(2, 1))
    analysis = analyze(from_torch(module, 8), [8, 8])
    assert [a.clipped for a in locate(analysis, "conv", (0, 0)).axes] == [None, None]
    assert measured_box(module, (8, 8), (0, 0)) == ((2, 3), (2, 3))


class HolesAndDense(nn.Module):
    """Two branches added: a transposed conv whose w taps leave holes (kernel 2, stride 3) and reads 3
    rows, and a 1x1 conv upsampled by 3 on w that reads 1 row."""

    def __init__(self) -> None:
        super().__init__()
        self.holes = nn.ConvTranspose2d(3, 3, (3, 2), stride=(1, 3), padding=(1, 0))
        self.dense = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return self.holes(x) + F.interpolate(self.dense(x), scale_factor=(1, 3))[:, :, :, :-1]


def test_boxes_are_exact_at_a_merge_whose_input_reads_nothing_along_the_other_axis():
    """Feature (2, 2) of the sum: the transposed branch reads nothing along w there (a hole), so in 2-D
    it reads nothing at all and only the dense branch's row 2 is read. At (2, 3) both branches read."""
    from oracle import measured_box

    from rfgraph.importers import from_torch
    from rfgraph.locate import locate

    module = HolesAndDense()
    analysis = analyze(from_torch(module, 6), [6, 6])
    for feature in [(2, 2), (2, 3), (0, 0), (5, 5)]:
        got = tuple(a.clipped for a in locate(analysis, "add", feature).axes)
        assert got == measured_box(module, (6, 6), feature), feature
    assert measured_box(module, (6, 6), (2, 2)) == ((2, 2), (0, 0))


class OppositeCorners(nn.Module):
    """Issue 10's repro: the input padded on opposite corners, twice, and added."""

    def forward(self, x):
        return F.pad(x, (2, 0, 0, 2)) + F.pad(x, (0, 2, 2, 0))


def test_opposite_corner_pads_read_what_pytorch_reads():
    from oracle import measured_box

    from rfgraph import loads
    from rfgraph.locate import locate

    analysis = analyze(loads(OPPOSITE_CORNERS), 6)
    for feature in [(2, 0), (0, 2), (2, 2), (4, 6), (7, 7), (0, 0)]:
        got = tuple(a.clipped for a in locate(analysis, "add", feature).axes)
        want = measured_box(OppositeCorners(), (6, 6), feature)
        assert got == want, feature
    assert measured_box(OppositeCorners(), (6, 6), (2, 0)) == ((0, 0), (0, 0))


def test_from_torch_loads_the_text_it_writes():
    from rfgraph.importers import from_torch, to_network

    spec = import_torch(SqueezeExcitation(), 8)
    assert from_torch(SqueezeExcitation(), 8) == to_network(spec)


class ReadsAValue(nn.Module):
    """A forward that reads a value: no meta kernel can give it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.gain = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.conv(x) * self.gain.item()


def test_a_module_on_the_meta_device_is_traced_without_computing():
    on_cpu = lines(SqueezeExcitation(), 8)
    assert lines(SqueezeExcitation().to("meta"), 8) == on_cpu
    # an op that needs values runs on the CPU instead, with uninitialised weights
    meta = ReadsAValue().to("meta")
    expected = [
        "{name: conv, op: conv, kernel: 3, stride: 2, channels: 4, inputs: [x]}",
        "{name: mul, op: scale, channels: 4, inputs: [conv]}",
    ]
    assert lines(meta, 9) == lines(ReadsAValue(), 9) == expected
    assert meta.conv.weight.device.type == "meta"  # the caller's module is left as it was


# ----------------------------------------------------------------------------- the command line


@pytest.fixture
def models_module(tmp_path, monkeypatch):
    (tmp_path / "tiny_models.py").write_text(
        "import torch\n"
        "def stem(channels=8, weights=None):\n"
        "    return torch.nn.Sequential(torch.nn.Conv2d(3, channels, 3, stride=2, padding=1), torch.nn.ReLU())\n"
        "def pretrained(weights='IMAGENET1K_V1'):\n"
        "    return stem()\n"
        "def hub(weights=None):\n"
        "    torch.hub.load_state_dict_from_url('https://example.invalid/w.pth')\n"
        "def not_a_module():\n"
        "    return 3\n"
        "class Pair(torch.nn.Module):  # two stride-2 branches whose centres differ by half a pixel\n"
        "    def __init__(self, channels):\n"
        "        super().__init__()\n"
        "        self.even = torch.nn.Conv2d(3, channels, 2, stride=2)\n"
        "        self.odd = torch.nn.Conv2d(3, channels, 1, stride=2)\n"
        "    def forward(self, x):\n"
        "        return self.even(x) + self.odd(x)\n"
        "def pair(channels=8):\n"
        "    return Pair(channels)\n"
        "def reads_values():\n"
        "    width = int(torch.tensor([4.0]).item())  # no meta tensor has a value\n"
        "    return torch.nn.Conv2d(3, width, 3)\n"
        "def cube(channels=4):\n"
        "    return torch.nn.Conv3d(3, channels, (1, 3, 3), stride=2)\n"
        "from torch.hub import load_state_dict_from_url  # a name of its own, as torchvision has\n"
        "def bound(weights=None):\n"
        "    if weights is not None:\n"
        "        load_state_dict_from_url('https://example.invalid/w.pth')\n"
        "    return stem()\n"
        "def lenet():  # runs at 32 only: the head reads a 5x5 map\n"
        "    nn = torch.nn\n"
        "    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2),\n"
        "                         nn.Flatten(), nn.Linear(16 * 5 * 5, 10))\n"
        "def rolled():\n"
        "    class R(torch.nn.Module):\n"
        "        def forward(self, x):\n"
        "            return torch.roll(x, 1, 2)\n"
        "    return R()\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "tiny_models"
    sys.modules.pop("tiny_models", None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["tiny_models:pretrained"],
            "tiny_models:pretrained: the constructor downloads pretrained weights by default "
            "(weights='IMAGENET1K_V1'); rfgraph never downloads: pass --model-arg weights=None",
        ),
        (
            ["tiny_models:hub"],
            "tiny_models:hub: the constructor tried to download https://example.invalid/w.pth; "
            "rfgraph never downloads: set its weights to None",
        ),
        (["tiny_models:missing"], "tiny_models:missing: 'tiny_models' has no attribute 'missing'"),
        (["no_such_package.models:f"], "no_such_package.models:f: cannot import 'no_such_package.models'"),
        (["resnet50"], "resnet50: expected a .onnx file or package.module:callable"),
        (["tiny_models:not_a_module"], "tiny_models:not_a_module: the constructor returned int"),
        (
            ["tiny_models:stem", "--model-arg", "channels=eight"],
            "tiny_models:stem: --model-arg 'channels=eight': VALUE must be a Python literal",
        ),
        (
            ["tiny_models:stem", "--model-arg", "size=3"],
            "tiny_models:stem: calling the constructor failed: TypeError",
        ),
        (["tiny_models:rolled"], "tiny_models:rolled: 1 op(s) the importer does not support: 'roll' (roll)"),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_import_errors_are_one_located_line_and_exit_2(models_module, capsys, args, message):
    assert main(["import", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message) and captured.err.count("\n") == 1


@pytest.mark.parametrize("value", ["'DEFAULT'", "'IMAGENET1K_V1'", "True"])
def test_weights_given_on_the_command_line_are_refused_before_anything_is_fetched(
    models_module, tmp_path, monkeypatch, capsys, value
):
    def loudly(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "download_url_to_file", loudly)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    assert main(["import", "tiny_models:bound", "--model-arg", f"weights={value}"]) == 2
    assert capsys.readouterr().err == (
        f"tiny_models:bound: --model-arg weights={value} chooses pretrained weights, which would be "
        "downloaded; rfgraph never downloads (the geometry does not depend on weights): pass weights=None\n"
    )
    assert not (tmp_path / "torch_home").exists()


def test_import_writes_yaml_that_loads_back(models_module, tmp_path, capsys):
    out = tmp_path / "stem.yaml"
    args = ["import", "tiny_models:stem", "--model-arg", "channels=4", "--input-size", "16", "-o", str(out)]
    assert main(args) == 0
    assert out.read_text().splitlines() == [
        "# generated by: rfgraph import tiny_models:stem --input-size 16 --model-arg channels=4",
        "name: stem",
        "input: {name: input, size: 16}",
        "layers:",
        '  - {name: "0", op: conv, kernel: 3, stride: 2, padding: 1, channels: 4, inputs: [input]}',
        '  - {name: "1", op: relu, channels: 4, inputs: ["0"]}',
    ]
    assert main(["analyze", str(out), "--format", "json"]) == 0


@pytest.mark.parametrize("size", ["16", "4x8x8"], ids=["one size", "one size per axis"])
def test_the_header_is_the_command_that_writes_the_file_byte_for_byte(models_module, tmp_path, size):
    first, again = tmp_path / "first.yaml", tmp_path / "again.yaml"
    assert (
        main(
            [
                "import",
                "tiny_models:cube",
                "--input-size",
                size,
                "--model-arg",
                "channels=2",
                "-o",
                str(first),
            ]
        )
        == 0
    )
    header = first.read_text().splitlines()[0]
    program, *argv = shlex.split(header.removeprefix("# generated by: "))
    assert program == "rfgraph"
    assert main([*argv, "-o", str(again)]) == 0
    assert again.read_bytes() == first.read_bytes()


@pytest.mark.parametrize(
    "command",
    [
        ["analyze"],
        ["analyze", "--format", "json"],
        ["check"],
        ["check", "--format", "json"],
        ["draw"],
        ["locate", "add", "1", "2"],
        ["sizes"],
        ["sizes", "--format", "json"],
    ],
    ids=" ".join,
)
def test_every_command_takes_a_source_as_import_writes_it(models_module, tmp_path, capsys, command):
    written = tmp_path / "pair.yaml"
    model_args = ["--model-arg", "channels=4"]
    size = [] if command[0] == "sizes" else ["--input-size", "16"]
    assert main(["import", "tiny_models:pair", *model_args, "--input-size", "16", "-o", str(written)]) == 0
    name, *options = command
    from_file = main([name, str(written), *options, *size])
    expected = capsys.readouterr().out.replace(str(written), "tiny_models:pair")
    assert main([name, "tiny_models:pair", *options, *size, *model_args]) == from_file
    assert capsys.readouterr().out == expected
    assert from_file == (1 if name == "check" else 0)  # the branches are misaligned


def test_sizes_traces_a_source_at_the_input_size(models_module, capsys):
    assert main(["sizes", "tiny_models:lenet"]) == 2
    assert "running Sequential on a (2, 1, 224, 224) input failed at '5'" in capsys.readouterr().err
    assert main(["sizes", "tiny_models:lenet", "--input-size", "32"]) == 0
    assert capsys.readouterr().out.startswith("lenet:\n")


def test_check_takes_sources_among_files_and_reports_each(models_module, tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text("layers: [{name: c, op: conv, kernel: 3}]\n")
    assert main(["check", str(good), "tiny_models:stem", "tiny_models:rolled", "--input-size", "8"]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines()[:2] == [
        f"{good}: aligned (2 nodes, 0 merges)",
        "tiny_models:stem: aligned (3 nodes, 0 merges)",
    ]
    assert captured.err.startswith("tiny_models:rolled: 1 op(s) the importer does not support: 'roll' (roll)")
    assert main(["check", "tiny_models:rolled", "--assume-pointwise", "roll", "--input-size", "8"]) == 0


def test_a_constructor_that_reads_values_is_called_on_the_cpu(models_module, capsys):
    assert main(["import", "tiny_models:reads_values", "--input-size", "8"]) == 0
    assert "{name: conv2d, op: conv, kernel: 3, channels: 4, inputs: [input]}" in capsys.readouterr().out


def test_assume_pointwise_on_the_command_line(models_module, capsys):
    code = main(["import", "tiny_models:rolled", "--assume-pointwise", "roll", "--input-size", "8"])
    assert code == 0 and "{name: roll, op: identity, channels: 3, inputs: [x]}" in capsys.readouterr().out
