"""The empirical oracle against fields computed by hand, tap by tap."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402
from oracle import measured_box  # noqa: E402
from torch import nn  # noqa: E402


class Lambda(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


class SqueezeExcite(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc(F.adaptive_avg_pool2d(x, 1)))


def conv1d(**kw):
    return nn.Conv1d(3, 3, **kw)


# (module, input size, feature, the box by hand)
CASES = {
    # a 3-tap window: feature 0 reads -1..1, of which 0..1 is in the image
    "conv_k3_p1_first": (conv1d(kernel_size=3, padding=1), [8], [0], ((0, 1),)),
    "conv_k3_p1_middle": (conv1d(kernel_size=3, padding=1), [8], [3], ((2, 4),)),
    # taps -1, 1, 3: the box starts at the first tap inside the image
    "conv_k3_d2_p2": (conv1d(kernel_size=3, dilation=2, padding=2), [8], [1], ((1, 3),)),
    # c2 feature 1 reads c1 features 1..3, which read 1..3, 3..5 and 5..7
    "two_strided_convs": (
        nn.Sequential(conv1d(kernel_size=3, stride=2, padding=1), conv1d(kernel_size=3, stride=2, padding=1)),
        [16],
        [1],
        ((1, 7),),
    ),
    # a max pool is measured as the average pool of the same windows
    "max_pool_k2_s2": (nn.MaxPool1d(2, 2), [8], [2], ((4, 5),)),
    "max_pool_functional": (Lambda(lambda x: F.max_pool1d(x, 3, 2, 1)), [8], [2], ((3, 5),)),
    # output x = 2*y - 1 + t: x = 3 from y = 2 (t = 0) and y = 1 (t = 2); x = 4 only from y = 2
    "transposed_k3_s2_p1_odd": (nn.ConvTranspose1d(3, 3, 3, stride=2, padding=1), [8], [3], ((1, 2),)),
    "transposed_k3_s2_p1_even": (nn.ConvTranspose1d(3, 3, 3, stride=2, padding=1), [8], [4], ((2, 2),)),
    "nearest_x2": (nn.Upsample(scale_factor=2), [8], [5], ((2, 2),)),
    # half-pixel centres: (5 + 0.5) / 2 - 0.5 = 2.25 reads 2 and 3; at 0 the source -0.25 clamps to 0
    "bilinear_x2": (nn.Upsample(scale_factor=2, mode="linear"), [8], [5], ((2, 3),)),
    "bilinear_x2_border": (nn.Upsample(scale_factor=2, mode="linear"), [8], [0], ((0, 0),)),
    "crop_by_slice": (Lambda(lambda x: x[:, :, 2:6]), [8], [0], ((2, 2),)),
    "pad_then_conv": (
        nn.Sequential(nn.ConstantPad1d((2, 0), 0.0), conv1d(kernel_size=3)),
        [8],
        [0],
        ((0, 0),),
    ),
    "relu_and_batch_norm_are_pointwise": (nn.Sequential(nn.ReLU(), nn.BatchNorm1d(3)), [8], [4], ((4, 4),)),
    "two_axes": (nn.Conv2d(3, 3, (3, 1), padding=(1, 0)), [6, 6], [2, 4], ((1, 3), (4, 4))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_oracle_measures_the_field_computed_by_hand(name):
    module, size, feature, box = CASES[name]
    assert measured_box(module, size, feature) == box


def test_a_global_branch_reads_the_whole_image_unless_detached():
    assert measured_box(SqueezeExcite(), [8, 8], [3, 4]) == ((0, 7), (0, 7))
    assert measured_box(SqueezeExcite(), [8, 8], [3, 4], detach_global=True) == ((3, 3), (4, 4))


class GatedResidual(nn.Module):
    """x + conv(x) * gate(x): linearised, each block squares the values unless the gate is a constant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.gate = SqueezeExcite()

    def forward(self, x):
        return x + self.gate(self.conv(x))


def test_many_detached_gates_do_not_overflow():
    deep = nn.Sequential(*(GatedResidual() for _ in range(16)))  # 1, 2, 6, 42, 1806... with the gate's value
    assert measured_box(deep, [40, 40], [20, 21], detach_global=True) == ((4, 36), (5, 37))


def test_the_oracle_can_tell_a_wrong_box():
    """A box one pixel too wide or too narrow is not what it measures."""
    box = measured_box(conv1d(kernel_size=3, padding=1), [8], [3])
    assert box != ((1, 4),) and box != ((2, 5),) and box != ((3, 4),)
