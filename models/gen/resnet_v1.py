"""ResNet v1 (50/101/152/200) from TF-Slim, one builder for the four depths.

Mirrors resnet_v1.resnet_v1 + resnet_utils.stack_blocks_dense with
output_stride=None, global_pool=False, num_classes=None, under resnet_arg_scope
(max_pool2d padding SAME; conv2d keeps slim's default SAME). Slim puts each
block's stride in its *last* unit, not in the first as the ResNet paper does.
relu and batch_norm change no geometry and are left out.
"""

from __future__ import annotations

from models.gen.net import Net

SLIM = "https://github.com/tensorflow/models/blob/master/research/slim/nets"

# Units per block, as resnet_v1_50/101/152/200 pass them to resnet_v1_block.
UNITS = {
    "resnet_v1_50": (3, 4, 6, 3),
    "resnet_v1_101": (3, 4, 23, 3),
    "resnet_v1_152": (3, 8, 36, 3),
    "resnet_v1_200": (3, 24, 36, 3),
}
# (scope, base_depth, stride) of the four resnet_v1_block calls, the same in every depth.
BLOCKS = (("block1", 64, 2), ("block2", 128, 2), ("block3", 256, 2), ("block4", 512, 1))


def conv2d_same(net: Net, scope: str, kernel: int, stride: int, prefix: str) -> str:
    """resnet_utils.conv2d_same with rate 1: SAME conv, or tf.pad + VALID conv if strided."""
    if stride == 1:
        return net.layer(f"{prefix}{scope}", "conv", kernel=kernel, padding="same")
    pad_total = kernel - 1
    pad_beg = pad_total // 2
    pad = [pad_beg, pad_total - pad_beg]
    net.layer(f"{prefix}Pad", "pad", padding=[pad, pad])
    return net.layer(f"{prefix}{scope}", "conv", kernel=kernel, stride=stride, padding="valid")


def bottleneck(net: Net, inputs: str, scope: str, depth_in: int, depth: int, stride: int) -> str:
    """resnet_v1.bottleneck (rate 1); returns the name of the unit's output."""
    prefix = f"{scope}/bottleneck_v1/"
    if depth == depth_in:
        # resnet_utils.subsample: identity, or max_pool2d [1, 1] with the stride.
        if stride == 1:
            shortcut = inputs
        else:
            shortcut = net.layer(
                f"{prefix}shortcut",
                "pool",
                kernel=1,
                stride=stride,
                padding="same",
                inputs=[inputs],
            )
    else:
        shortcut = net.layer(
            f"{prefix}shortcut", "conv", kernel=1, stride=stride, padding="same", inputs=[inputs]
        )
    net.layer(f"{prefix}conv1", "conv", kernel=1, padding="same", inputs=[inputs])
    conv2d_same(net, "conv2", kernel=3, stride=stride, prefix=prefix)
    residual = net.layer(f"{prefix}conv3", "conv", kernel=1, padding="same")
    # output = relu(shortcut + residual), collected under the unit's scope name.
    return net.layer(f"{scope}/bottleneck_v1", "add", inputs=[shortcut, residual])


def resnet_v1(name: str, units: tuple[int, int, int, int]) -> Net:
    net = Net(
        name,
        f"""{name} (units per block: {", ".join(map(str, units))}), as defined by TF-Slim:
{SLIM}/resnet_v1.py  ({name}, resnet_v1, resnet_v1_block, bottleneck)
{SLIM}/resnet_utils.py  (conv2d_same, subsample, stack_blocks_dense, resnet_arg_scope)
Root: conv1 = conv2d_same(7, stride 2) = tf.pad [3, 3] then a VALID 7x7/2 conv;
pool1 = max_pool2d 3x3/2, SAME from resnet_arg_scope.
Each block's stride sits in its last unit (conv2 = tf.pad [1, 1] + VALID 3x3/2,
shortcut = subsample = max_pool2d 1x1/2). A unit whose input depth differs from
its output depth (the first of each block) has a 1x1 conv shortcut.
blockN (identity) is the end-point stack_blocks_dense collects after the last unit
(store_non_strided_activations=False, so no extra subsampling). Ends at block4.""",
    )
    x = conv2d_same(net, "conv1", kernel=7, stride=2, prefix="")
    x = net.layer("pool1", "pool", kernel=3, stride=2, padding="same")
    depth_in = 64
    for (block, base_depth, block_stride), num_units in zip(BLOCKS, units, strict=True):
        net.comment(f"{block}: {num_units} units, depth {base_depth * 4}, stride {block_stride}")
        for i in range(1, num_units + 1):
            stride = block_stride if i == num_units else 1
            x = bottleneck(net, x, f"{block}/unit_{i}", depth_in, base_depth * 4, stride)
            depth_in = base_depth * 4
        x = net.layer(block, "identity", inputs=[x])
    return net


def networks() -> dict[str, str]:
    return {name: resnet_v1(name, units).yaml() for name, units in UNITS.items()}
