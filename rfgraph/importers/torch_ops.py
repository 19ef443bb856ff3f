"""A traced torch.fx graph, with the shapes of one run -> layer dicts.

One walk in graph order. Every tensor computed from the input is a feature map
and becomes one layer named after its node; sizes, shapes and tensors made
from parameters alone are not maps. torch.nn modules are looked up by class
(``_MODULE_OPS`` and :meth:`_Walk.module_handlers`), functions and methods by
name (``_POINTWISE``, ``_MERGES``, :meth:`_Walk.function_handlers`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

from . import maps
from .maps import NEW_DIM, Builder, Layout, Map, UnsupportedError

if TYPE_CHECKING:
    from torch import fx


@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor value seen in the run: only its shape is kept."""

    shape: tuple[int, ...]


def leaf_output(x: Any) -> Any:
    """Stands in for a torchvision leaf that returns its input, so that the leaf has a node."""
    return x


# torch.nn module class -> pointwise op
_MODULE_OPS = {
    "Identity": "identity",
    "ReLU": "relu",
    "ReLU6": "relu6",
    "LeakyReLU": "leaky_relu",
    "RReLU": "leaky_relu",
    "PReLU": "prelu",
    "ELU": "elu",
    "SELU": "selu",
    "CELU": "celu",
    "GELU": "gelu",
    "SiLU": "silu",
    "Mish": "mish",
    "Sigmoid": "sigmoid",
    "LogSigmoid": "sigmoid",
    "Hardsigmoid": "hardsigmoid",
    "Hardswish": "hardswish",
    "Hardtanh": "hardtanh",
    "Tanh": "tanh",
    "Softplus": "softplus",
    **dict.fromkeys(("Threshold", "Softsign", "Tanhshrink", "Hardshrink", "Softshrink", "GLU"), "identity"),
    **dict.fromkeys(("BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm"), "batch_norm"),
    **dict.fromkeys(("LayerNorm", "RMSNorm"), "layer_norm"),
    "GroupNorm": "group_norm",
    **dict.fromkeys(("InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"), "instance_norm"),
    **dict.fromkeys(("LocalResponseNorm", "CrossMapLRN2d"), "local_response_norm"),
    **dict.fromkeys(("Dropout", "Dropout1d", "Dropout2d", "Dropout3d"), "dropout"),
    **dict.fromkeys(("AlphaDropout", "FeatureAlphaDropout"), "dropout"),
    "ChannelShuffle": "channel_shuffle",
}

# function or method name -> pointwise op
_POINTWISE = {
    **{f: f for f in ("relu", "relu6", "gelu", "silu", "mish", "sigmoid", "hardsigmoid", "hardswish")},
    **{f: f for f in ("hardtanh", "tanh", "softplus", "elu", "selu", "celu", "prelu", "leaky_relu")},
    "rrelu": "leaky_relu",
    "logsigmoid": "sigmoid",
    "batch_norm": "batch_norm",
    **dict.fromkeys(("layer_norm", "rms_norm"), "layer_norm"),
    "group_norm": "group_norm",
    "instance_norm": "instance_norm",
    "local_response_norm": "local_response_norm",
    "normalize": "scale",
    **dict.fromkeys(("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout"), "dropout"),
    **dict.fromkeys(("feature_alpha_dropout", "stochastic_depth"), "dropout"),
    **dict.fromkeys(("channel_shuffle", "native_channel_shuffle"), "channel_shuffle"),
    # elementwise maths of one tensor and copies: the geometry is unchanged
    **dict.fromkeys(
        ("abs", "neg", "exp", "log", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "erf", "pow"),
        "identity",
    ),
    **dict.fromkeys(
        ("floor", "ceil", "round", "sign", "clamp", "clip", "clamp_min", "clamp_max"), "identity"
    ),
    **dict.fromkeys(("threshold", "softsign", "tanhshrink", "hardshrink", "softshrink", "glu"), "identity"),
    **dict.fromkeys(
        ("contiguous", "clone", "detach", "to", "float", "double", "half", "type_as"), "identity"
    ),
    **dict.fromkeys(("type", "bfloat16", "cpu", "cuda", "leaf_output"), "identity"),
}

# elementwise ops of two or more maps; with one map and constants they are pointwise
_MERGES = {
    **dict.fromkeys(("add", "iadd", "radd"), "add"),
    **dict.fromkeys(("sub", "isub", "rsub"), "sub"),
    **dict.fromkeys(("mul", "imul", "rmul"), "mul"),
    **dict.fromkeys(("truediv", "div", "itruediv", "true_divide"), "div"),
    **dict.fromkeys(("maximum", "fmax"), "max"),
    **dict.fromkeys(("minimum", "fmin"), "min"),
}

# where a called function may come from for its name to be trusted (a user's fx.wrap'd
# `relu` is not torch's)
_KNOWN_MODULES = ("torch", "_operator", "operator", "builtins", "math", "torchvision.ops", __name__)

_PAD_MODULES = tuple(
    f"{kind}Pad{d}d" for kind in ("Zero", "Constant", "Reflection", "Replication") for d in "123"
)
_CIRCULAR = "circular padding reads the far side of the input"


def describe_graph(
    gm: fx.GraphModule,
    names: dict[fx.Node, str],
    values: dict[fx.Node, Any],
    dims: int,
    assume_pointwise: frozenset[str],
) -> tuple[str, list[dict[str, Any]]]:
    """The input's name and the layer dicts of a traced module.

    Raises
    ------
    RFGraphError
        Ops that cannot be described (all of them in one error).
    """
    return _Walk(gm, names, values, dims, assume_pointwise).run()


class _Walk(Builder):
    def __init__(
        self,
        gm: fx.GraphModule,
        names: dict[fx.Node, str],
        values: dict[fx.Node, Any],
        dims: int,
        assume_pointwise: frozenset[str],
    ) -> None:
        super().__init__()
        self.gm = gm
        self.names = names
        self.values = values
        self.dims = dims
        self.assume = assume_pointwise
        self.maps: dict[fx.Node, Map] = {}
        self.parts: dict[fx.Node, list[Map | None]] = {}  # a tuple of maps (chunk, attention)
        self.broken: set[fx.Node] = set()

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        graph = self.gm.graph
        x = next(n for n in graph.nodes if n.op == "placeholder")  # the only one: import_torch checks
        self.maps[x] = Map(self.names[x], maps.nchw(self.dims), self.values[x].shape)
        needed = _ancestors(next(n for n in graph.nodes if n.op == "output"))
        for n in graph.nodes:
            if n not in needed or n.op in ("placeholder", "output"):
                continue
            if any(u in self.broken for u in n.all_input_nodes):
                self.broken.add(n)  # its geometry is unknown, but is its op known at all?
                if _has_tensor(self.values.get(n)) and self.handler(n) is None:
                    self.unsupported(self.names[n], _key(self.gm, n), "unknown op")
                continue
            if not _has_tensor(self.values.get(n)) or not any(
                u in self.maps or u in self.parts for u in n.all_input_nodes
            ):
                continue  # sizes, shapes, and tensors made without the input (a class token)
            try:
                self.visit(n)
            except UnsupportedError as e:
                self.broken.add(n)
                self.unsupported(self.names[n], _key(self.gm, n), str(e))
        self.check("assume_pointwise / --assume-pointwise")
        return self.maps[x].source, self.layers

    def visit(self, n: fx.Node) -> None:
        handler = self.handler(n)
        if handler is None:
            msg = "unknown op"
            raise UnsupportedError(msg)
        handler(n)

    def handler(self, n: fx.Node) -> Callable[[fx.Node], None] | None:
        key = _key(self.gm, n)
        found: Callable[[fx.Node], None] | None = None
        if n.op == "call_module":
            found = self.module_handler(self.gm.get_submodule(str(n.target)))
        elif n.op == "call_method" or (n.op == "call_function" and _is_known_function(n.target)):
            found = self.function_handler(key)
        if found is None and key in self.assume:
            return self.pointwise("identity")
        return found

    # -- building blocks

    def shape(self, n: Any) -> tuple[int, ...]:
        value = self.values[n]
        if not isinstance(value, Tensor):
            msg = f"expected a tensor, got {type(value).__name__}"
            raise UnsupportedError(msg)
        return value.shape

    def live_maps(self, args: Any) -> list[Map]:
        """The maps among ``args`` (lists searched), in order, each once."""
        found: list[Map] = []
        for a in _flatten(args):
            m = self.maps.get(a) if _is_node(a) else None
            if m is not None and m not in found:
                found.append(m)
        return found

    def one_map(self, n: fx.Node) -> Map:
        found = self.live_maps(n.args) or self.live_maps(list(n.kwargs.values()))
        if not found:
            msg = "no input feature map"
            raise UnsupportedError(msg)
        return found[0]

    def emit(
        self,
        n: fx.Node,
        op: str,
        inputs: Sequence[Map],
        layout: Layout,
        shape: Sequence[int] | None = None,
        **params: Any,
    ) -> Map:
        made = self.add(self.names[n], op, inputs, layout, shape or self.shape(n), **params)
        if isinstance(self.values[n], Tensor):
            self.maps[n] = made
        return made

    def same_geometry(self, n: fx.Node, op: str, x: Map, **params: Any) -> None:
        """An op that keeps the layout and every spatial size (channels may change)."""
        shape = self.shape(n)
        kept = len(shape) == len(x.shape) and all(
            shape[i] == x.shape[i] for i, lb in enumerate(x.layout.labels) if lb not in ("N", "C", "X")
        )
        if not kept:
            msg = f"expected the spatial size {list(x.shape)} to stay, got {list(shape)}"
            raise UnsupportedError(msg)
        self.emit(n, op, [x], x.layout, **params)

    def pointwise(self, op: str) -> Callable[[fx.Node], None]:
        return lambda n: self.same_geometry(n, op, self.one_map(n))

    # -- look-up

    def module_handler(self, m: Any) -> Callable[[fx.Node], None] | None:
        handlers = self.module_handlers()
        for cls in type(m).__mro__:
            if not cls.__module__.startswith("torch.nn"):
                continue
            if cls.__name__ in _MODULE_OPS:
                return self.pointwise(_MODULE_OPS[cls.__name__])
            if cls.__name__ in handlers:
                return _bind(handlers[cls.__name__], m)
        return None

    def module_handlers(self) -> dict[str, Callable[[fx.Node, Any], None]]:
        def kinds(*names: str) -> list[str]:
            return [f"{name}{d}d" for name in names for d in "123"]

        return {
            **dict.fromkeys(kinds("Conv"), self.conv_module),
            **dict.fromkeys(kinds("ConvTranspose"), self.transposed_module),
            **dict.fromkeys(kinds("MaxPool", "AvgPool", "LPPool"), self.pool_module),
            **dict.fromkeys(kinds("AdaptiveAvgPool", "AdaptiveMaxPool"), lambda n, m: self.adaptive_pool(n)),
            **dict.fromkeys(
                ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"), self.upsample_module
            ),
            "PixelShuffle": lambda n, m: self.shuffle(n, "pixel_shuffle", m.upscale_factor),
            "PixelUnshuffle": lambda n, m: self.shuffle(n, "pixel_unshuffle", m.downscale_factor),
            "Linear": lambda n, m: self.linear(n),
            **dict.fromkeys(("Flatten", "Unflatten"), lambda n, m: self.reshape(n)),
            "MultiheadAttention": self.attention,
            **dict.fromkeys(("TransformerEncoderLayer", "TransformerEncoder"), self.encoder),
            **dict.fromkeys(_PAD_MODULES, lambda n, m: self.pad(n, list(m.padding))),
            **dict.fromkeys(kinds("CircularPad"), lambda n, m: _fail(_CIRCULAR)),
            **dict.fromkeys(("Softmax", "LogSoftmax", "Softmin"), lambda n, m: self.softmax(n, m.dim)),
            "Softmax2d": lambda n, m: self.softmax(n, -3),
        }

    def function_handler(self, key: str) -> Callable[[fx.Node], None] | None:
        name = key.strip("_") if key.startswith("__") else key.removesuffix("_")
        if name in _MERGES:
            return lambda n: self.arithmetic(n, _MERGES[name])
        if name in _POINTWISE:
            return self.pointwise(_POINTWISE[name])
        return self.function_handlers().get(name)

    def function_handlers(self) -> dict[str, Callable[[fx.Node], None]]:
        def kinds(*names: str) -> list[str]:
            return [f"{name}{d}d" for name in names for d in "123"]

        return {
            "getitem": self.getitem,
            **dict.fromkeys(("cat", "concat", "concatenate"), self.cat),
            "stack": self.stack,
            **dict.fromkeys(
                ("view", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze"), self.reshape
            ),
            **dict.fromkeys(("view_as", "reshape_as"), self.reshape),
            **dict.fromkeys(("permute", "transpose", "swapaxes", "swapdims", "t"), self.permute),
            **dict.fromkeys(kinds("conv"), self.conv_function),
            **dict.fromkeys(kinds("conv_transpose"), self.transposed_function),
            **dict.fromkeys(kinds("max_pool", "avg_pool", "lp_pool"), self.pool_function),
            **dict.fromkeys(kinds("adaptive_avg_pool", "adaptive_max_pool"), self.adaptive_pool),
            **dict.fromkeys(
                ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"), self.interpolate
            ),
            "pixel_shuffle": lambda n: self.shuffle(n, "pixel_shuffle", _arg(n, 1, "upscale_factor")),
            "pixel_unshuffle": lambda n: self.shuffle(n, "pixel_unshuffle", _arg(n, 1, "downscale_factor")),
            "pad": self.pad_function,
            "linear": self.linear,
            "matmul": self.matmul,
            **dict.fromkeys(
                ("softmax", "log_softmax", "softmin"), lambda n: self.softmax(n, _arg(n, 1, "dim"))
            ),
            **dict.fromkeys(
                ("mean", "sum", "nansum", "amax", "amin", "max", "min", "logsumexp"), self.reduce
            ),
            **dict.fromkeys(("chunk", "split", "tensor_split", "unbind"), self.split),
            **dict.fromkeys(("expand", "expand_as"), self.expand),
        }

    # -- windows

    def conv_module(self, n: fx.Node, m: Any) -> None:
        if m.padding_mode == "circular":
            raise UnsupportedError(_CIRCULAR)
        groups = m.groups
        self.window(n, _conv_op(groups, m.in_channels), m.kernel_size, m.stride, m.dilation, m.padding)

    def conv_function(self, n: fx.Node) -> None:
        weight = _arg(n, 1, "weight")
        if weight in self.maps:
            msg = "the weight is computed from the input"
            raise UnsupportedError(msg)
        x = self.one_map(n)
        kernel = self.values[weight].shape[2:]
        stride, padding = _arg(n, 3, "stride", 1), _arg(n, 4, "padding", 0)
        dilation, groups = _arg(n, 5, "dilation", 1), _arg(n, 6, "groups", 1)
        self.window(n, _conv_op(groups, x.shape[1]), kernel, stride, dilation, padding)

    def window(
        self, n: fx.Node, op: str, kernel: Any, stride: Any, dilation: Any, padding: Any, **extra: Any
    ) -> None:
        x = self.one_map(n)
        x.check_nchw(self.dims, op)
        kernel, stride, dilation = (_per_axis(v, self.dims) for v in (kernel, stride, dilation))
        pairs: Any = "same"  # PyTorch's padding="same" (stride 1 only) is the format's: smaller half before
        if padding != "same":
            pairs = [(p, p) for p in _per_axis(0 if padding == "valid" else padding, self.dims)]
        self.emit(
            n, op, [x], x.layout, kernel=kernel, stride=stride, dilation=dilation, padding=pairs, **extra
        )

    def transposed_module(self, n: fx.Node, m: Any) -> None:
        self.transposed(n, m.kernel_size, m.stride, m.dilation, m.padding)

    def transposed_function(self, n: fx.Node) -> None:
        kernel = self.values[_arg(n, 1, "weight")].shape[2:]
        stride, padding, dilation = (
            _arg(n, 3, "stride", 1),
            _arg(n, 4, "padding", 0),
            _arg(n, 7, "dilation", 1),
        )
        self.transposed(n, kernel, stride, dilation, padding)

    def transposed(self, n: fx.Node, kernel: Any, stride: Any, dilation: Any, padding: Any) -> None:
        x = self.one_map(n)
        x.check_nchw(self.dims, "transposed_conv")
        kernel, stride, dilation, padding = (
            _per_axis(v, self.dims) for v in (kernel, stride, dilation, padding)
        )
        # output_padding, or an output_size given to forward: read off the size it made
        made = zip(self.shape(n)[2:], x.spatial(), stride, padding, dilation, kernel, strict=True)
        extra = [o - ((i - 1) * s - 2 * p + d * (k - 1) + 1) for o, i, s, p, d, k in made]
        pairs = [(p, p) for p in padding]
        params = {
            "kernel": kernel,
            "stride": stride,
            "dilation": dilation,
            "padding": pairs,
            "output_padding": extra,
        }
        self.emit(n, "transposed_conv", [x], x.layout, **params)

    def pool_module(self, n: fx.Node, m: Any) -> None:
        kind = type(m).__name__
        op = "max_pool" if kind.startswith("Max") else "avg_pool" if kind.startswith("Avg") else "pool"
        stride = m.stride or m.kernel_size
        padding, dilation = getattr(m, "padding", 0), getattr(m, "dilation", 1)
        self.window(n, op, m.kernel_size, stride, dilation, padding, **_ceil(m.ceil_mode))

    def pool_function(self, n: fx.Node) -> None:
        key = _key(self.gm, n)
        if key.startswith("lp_pool"):  # lp_pool2d(input, norm_type, kernel_size, stride, ceil_mode)
            kernel = _arg(n, 2, "kernel_size")
            stride = _arg(n, 3, "stride") or kernel
            self.window(n, "pool", kernel, stride, 1, 0, **_ceil(_arg(n, 4, "ceil_mode")))
            return
        kernel = _arg(n, 1, "kernel_size")
        stride, padding = _arg(n, 2, "stride") or kernel, _arg(n, 3, "padding", 0)
        if key.startswith("max"):
            dilation, ceil = _arg(n, 4, "dilation", 1), _arg(n, 5, "ceil_mode")
            self.window(n, "max_pool", kernel, stride, dilation, padding, **_ceil(ceil))
        else:
            self.window(n, "avg_pool", kernel, stride, 1, padding, **_ceil(_arg(n, 4, "ceil_mode")))

    def adaptive_pool(self, n: fx.Node) -> None:
        x = self.one_map(n)
        x.check_nchw(self.dims, "adaptive pool")
        size = list(self.shape(n)[2:])  # a None in output_size keeps that axis: read the size made
        if all(s == 1 for s in size):
            self.emit(n, "global_pool", [x], x.layout)
        else:
            self.emit(n, "adaptive_pool", [x], x.layout, output_size=size)

    # -- resampling

    def upsample_module(self, n: fx.Node, m: Any) -> None:
        self.resample(n, m.size, m.scale_factor, m.mode, m.align_corners, m.recompute_scale_factor, False)

    def interpolate(self, n: fx.Node) -> None:
        key = _key(self.gm, n)
        mode = "bilinear" if key == "upsample_bilinear" else "nearest"
        corners = True if key == "upsample_bilinear" else None
        size, scale, mode = _arg(n, 1, "size"), _arg(n, 2, "scale_factor"), _arg(n, 3, "mode", mode)
        corners, recompute = _arg(n, 4, "align_corners", corners), _arg(n, 5, "recompute_scale_factor")
        self.resample(n, size, scale, mode, corners, recompute, bool(_arg(n, 6, "antialias", False)))

    def resample(
        self, n: fx.Node, size: Any, scale: Any, mode: str, corners: Any, recompute: Any, antialias: bool
    ) -> None:
        x = self.one_map(n)
        x.check_nchw(self.dims, "interpolate")
        kinds = {"nearest": "nearest", "nearest-exact": "nearest_exact", "bicubic": "bicubic", "area": "area"}
        kinds |= dict.fromkeys(("linear", "bilinear", "trilinear"), "bilinear")
        if mode not in kinds:
            msg = f"interpolation mode {mode!r} is not supported"
            raise UnsupportedError(msg)
        params: dict[str, Any] = {"mode": kinds[mode], "align_corners": bool(corners)}
        if scale is not None:
            factors = [_rational(f) for f in _per_axis(scale, self.dims)]
            whole = all(f.denominator == 1 for f in factors)
            problem = (
                (mode == "area" and "mode 'area' with a scale_factor")
                or (recompute and not whole and "recompute_scale_factor with a fractional scale")
                or (antialias and any(f < 1 for f in factors) and "antialias when downsampling")
            )
            if problem:
                msg = f"{problem} is not supported"
                raise UnsupportedError(msg)
            if whole:
                self.emit(n, "upsample", [x], x.layout, factor=[int(f) for f in factors], **params)
            else:
                self.emit(n, "resize", [x], x.layout, factor=factors, **params)
            return
        if antialias:
            msg = "antialias with a size is not supported"
            raise UnsupportedError(msg)
        other = self.size_source(size)
        if other is not None and mode != "area":
            self.emit(n, "resize", [x], x.layout, size_of=other.source, **params)
            return
        fixed = None if size is None or other is not None else _per_axis(size, self.dims)
        if fixed is None or not all(isinstance(s, int) for s in fixed):
            msg = "a size computed from shapes other than another map's spatial size is not supported"
            raise UnsupportedError(msg + (" (mode 'area')" if mode == "area" else ""))
        if mode == "area":
            self.emit(n, "adaptive_pool", [x], x.layout, output_size=fixed)
        else:
            self.emit(n, "resize", [x], x.layout, size=fixed, **params)

    def size_source(self, size: Any) -> Map | None:
        """The map whose spatial size ``size`` is (``other.shape[-2:]``), if it is one."""
        found = self.shape_dims(size)
        if found is None or found[0] not in self.maps:
            return None
        other = self.maps[found[0]]
        spatial = [i for i, lb in enumerate(other.layout.labels) if isinstance(lb, int)]
        axes = [other.layout.labels[i] for i in spatial]
        return other if found[1] == spatial and axes == list(range(self.dims)) else None

    def shape_dims(self, size: Any) -> tuple[fx.Node, list[int]] | None:
        """``(node, dims)`` when ``size`` is ``node.shape[dims]``, or a list of single dims of one node."""
        if isinstance(size, list | tuple) and size:
            parts = [self.shape_dims(s) for s in size]
            nodes = {p[0] for p in parts if p is not None}
            if None in parts or len(nodes) != 1:
                return None
            return nodes.pop(), [d for p in parts if p is not None for d in p[1]]
        if not _is_node(size):
            return None
        args = cast("tuple[Any, ...]", size.args)
        if (size.op == "call_function" and size.target is getattr and args[1] == "shape") or (
            size.op == "call_method" and size.target == "size"
        ):
            rank = len(self.values[args[0]].shape)
            whole = list(range(rank))
            return args[0], whole if len(args) == 1 or size.target is getattr else [args[1] % rank]
        if size.op == "call_function" and size.target is operator.getitem:
            inner = self.shape_dims(args[0])
            if inner is None:
                return None
            picked = inner[1][args[1]]
            return inner[0], picked if isinstance(picked, list) else [picked]
        return None

    def shuffle(self, n: fx.Node, op: str, factor: int) -> None:
        x = self.one_map(n)
        x.check_nchw(self.dims, op)
        self.emit(n, op, [x], x.layout, factor=factor)

    # -- padding

    def pad_function(self, n: fx.Node) -> None:
        mode = _arg(n, 2, "mode", "constant")
        if mode == "circular":
            raise UnsupportedError(_CIRCULAR)
        if mode not in ("constant", "reflect", "replicate"):
            msg = f"padding mode {mode!r} is not supported"
            raise UnsupportedError(msg)
        self.pad(n, list(_arg(n, 1, "pad")))

    def pad(self, n: fx.Node, amounts: list[int]) -> None:
        """F.pad's amounts: (before, after) pairs from the last dim backwards."""
        x = self.one_map(n)
        padding = [(0, 0)] * self.dims
        for k in range(len(amounts) // 2):
            label = x.layout.labels[-1 - k]
            pair = (amounts[2 * k], amounts[2 * k + 1])
            if isinstance(label, int):
                padding[label] = pair
            elif label != "C" and pair != (0, 0):
                msg = f"padding {maps.label_name(label)} is not supported"
                raise UnsupportedError(msg)
        if any(p != (0, 0) for p in padding):
            self.emit(n, "pad", [x], x.layout, padding=padding)
        else:
            self.emit(n, "identity", [x], x.layout)

    # -- merges

    def arithmetic(self, n: fx.Node, op: str) -> None:
        operands = self.live_maps(n.args[:2] if n.args else list(n.kwargs.values()))
        kind, layout = maps.elementwise(op, operands, self.shape(n))
        self.emit(n, kind, operands, layout)

    def cat(self, n: fx.Node) -> None:
        given = _arg(n, 0, "tensors")
        if _is_node(given):  # torch.cat(x.chunk(2)): the tuple of another op
            msg = "a concatenation of the outputs of one op (not a list) is not supported"
            raise UnsupportedError(msg)
        tensors = list(given)
        live = [t for t in tensors if t in self.maps]
        first = self.maps[live[0]]
        dim = _arg(n, 1, "dim", 0) % len(first.shape)
        at = tensors.index(live[0])
        before = sum(self.shape(t)[dim] for t in tensors[:at] if t not in self.maps)
        after = sum(self.shape(t)[dim] for t in tensors[at + 1 :] if t not in self.maps)
        op, layout = maps.concat(first, dim, before, after, len(live) - 1)
        inputs = [self.maps[t] for t in live]
        if op == "concat":
            layout = maps.broadcast(inputs, self.shape(n))
        self.emit(n, op, inputs if op == "concat" else [first], layout)

    def stack(self, n: fx.Node) -> None:
        inputs = self.live_maps(_arg(n, 0, "tensors"))
        dim = _arg(n, 1, "dim", 0) % len(self.shape(n))
        if dim == 0:
            msg = "stacking in front of the batch is not supported"
            raise UnsupportedError(msg)
        labels = list(inputs[0].layout.labels)
        labels.insert(dim, "C")
        self.emit(n, "concat" if len(inputs) > 1 else "identity", inputs, inputs[0].layout.relabel(labels))

    # -- reshapes, permutes, indexing

    def reshape(self, n: fx.Node) -> None:
        x = self.one_map(n)
        op, layout = maps.reshape(x, self.shape(n))
        self.emit(n, op, [x], layout)

    def permute(self, n: fx.Node) -> None:
        x = self.one_map(n)
        rank = len(x.shape)
        key = _key(self.gm, n)
        order = list(range(rank))
        if key == "t":
            order.reverse()
        elif key == "permute":
            given: Any = n.args[1:] if len(n.args) > 2 else _arg(n, 1, "dims")
            order = [int(d) % rank for d in (given if isinstance(given, Sequence) else [given])]
        else:
            a, b = _arg(n, 1, "dim0") % rank, _arg(n, 2, "dim1") % rank
            order[a], order[b] = order[b], order[a]
        op, layout = maps.permute(x, order)
        self.emit(n, op, [x], layout)

    def expand(self, n: fx.Node) -> None:
        x = self.one_map(n)
        shape = self.shape(n)
        grown = [lb for s, old, lb in zip(shape, x.shape, x.layout.labels, strict=False) if s != old]
        if len(shape) != len(x.shape) or any(lb != "C" for lb in grown):
            msg = "an expand of anything but channels is not supported"
            raise UnsupportedError(msg)
        self.emit(n, "identity", [x], x.layout)

    def getitem(self, n: fx.Node) -> None:
        source, index = n.args[0], n.args[1]
        if source in self.parts:
            if not isinstance(index, int):
                owner = self.names[cast("fx.Node", source)]
                msg = f"taking {index!r} of the outputs of {owner!r} is not supported"
                raise UnsupportedError(msg)
            part = self.parts[cast("fx.Node", source)][index]
            if part is None:
                msg = f"output {index} of {self.names[cast('fx.Node', source)]!r} is not a feature map"
                raise UnsupportedError(msg)
            self.emit(n, "identity", [part], part.layout)
            return
        x = self.maps[cast("fx.Node", source)]
        found = maps.select(x, _index_items(index, len(x.shape)), self.dims)
        if found.op == "global_pool" and not self.has_global_upstream(x.source):
            msg = "selects a token that is no position of the input, and no attention has mixed it"
            raise UnsupportedError(msg)
        self.emit(n, found.op, [x], found.layout, **found.params)

    def split(self, n: fx.Node) -> None:
        x = self.one_map(n)
        unbind = _key(self.gm, n) == "unbind"
        dim = _arg(n, 1, "dim", 0) if unbind else _arg(n, 2, "dim", 0)
        dim = dim % len(x.shape) if isinstance(dim, int) else 0
        label = x.layout.labels[dim]
        if label != "C":
            msg = f"splitting {maps.label_name(label)} is not supported"
            raise UnsupportedError(msg)
        layout = x.layout
        if unbind:
            layout = layout.relabel([lb for i, lb in enumerate(layout.labels) if i != dim])
        self.parts[n] = [Map(x.source, layout, piece.shape) for piece in self.values[n]]

    # -- heads, attention, reductions

    def linear(self, n: fx.Node) -> None:
        if len(self.live_maps(n.args[:2])) > 1:
            msg = "the weight is computed from the input"
            raise UnsupportedError(msg)
        x = self.one_map(n)
        self.emit(n, maps.linear(x), [x], x.layout)

    def matmul(self, n: fx.Node) -> None:
        left, right = _arg(n, 0, "input"), _arg(n, 1, "other")
        if left in self.maps and right not in self.maps and len(self.values[right].shape) == 2:
            x = self.maps[left]
            self.emit(n, maps.linear(x), [x], x.layout)
            return
        msg = (
            "a product of two feature maps (attention written out) is not supported; nn.MultiheadAttention is"
        )
        raise UnsupportedError(msg)

    def attention(self, n: fx.Node, m: Any) -> None:
        found = self.live_maps([_arg(n, i, k) for i, k in enumerate(("query", "key", "value"))])
        if len(found) != 1:
            msg = "cross-attention (query, key and value from different maps) is not supported"
            raise UnsupportedError(msg)
        (x,) = found
        op = maps.attention(x, 1 if m.batch_first else 0)
        made = self.emit(n, op, [x], x.layout, (*x.shape[:-1], m.embed_dim))
        self.parts[n] = [made, None]  # (output, attention weights)

    def encoder(self, n: fx.Node, m: Any) -> None:
        x = self.one_map(n)
        layer = m.layers[0] if hasattr(m, "layers") else m
        self.emit(n, maps.attention(x, 1 if layer.self_attn.batch_first else 0), [x], x.layout)

    def softmax(self, n: fx.Node, dim: int | None) -> None:
        x = self.one_map(n)
        self.emit(n, maps.softmax(x, 1 if dim is None else dim), [x], x.layout)

    def reduce(self, n: fx.Node) -> None:
        key = _key(self.gm, n).removesuffix("_")
        dim = _arg(n, 1, "dim")
        if key in ("max", "min") and (len(self.live_maps(n.args[:2])) > 1 or _is_node(dim)):
            self.arithmetic(n, key)  # elementwise max(x, y)
            return
        x = self.one_map(n)
        rank = len(x.shape)
        dims = list(range(rank)) if dim is None else [d % rank for d in _per_axis(dim, 1)]
        op, layout = maps.reduce(x, dims, bool(_arg(n, 2, "keepdim", False)))
        value = self.values[n]
        shape = value.shape if isinstance(value, Tensor) else value[0].shape
        made = self.emit(n, op, [x], layout, shape)
        if not isinstance(value, Tensor):
            self.parts[n] = [made, None]  # (values, indices)


# ----------------------------------------------------------------------------- helpers


def _bind(handler: Callable[[fx.Node, Any], None], module: Any) -> Callable[[fx.Node], None]:
    return lambda n: handler(n, module)


def _fail(message: str) -> None:
    raise UnsupportedError(message)


def _conv_op(groups: int, in_channels: int) -> str:
    return "depthwise_conv" if groups > 1 and groups == in_channels else "conv"


def _ceil(ceil_mode: Any) -> dict[str, bool]:
    return {"ceil_mode": True} if ceil_mode else {}


def _is_node(value: Any) -> bool:
    from torch import fx

    return isinstance(value, fx.Node)


def _ancestors(output: fx.Node) -> set[fx.Node]:
    found, todo = {output}, [output]
    while todo:
        for u in todo.pop().all_input_nodes:
            if u not in found:
                found.add(u)
                todo.append(u)
    return found


def _has_tensor(value: Any) -> bool:
    if isinstance(value, Tensor):
        return True
    return isinstance(value, tuple) and any(_has_tensor(v) for v in value)


def _is_known_function(target: Any) -> bool:
    module = getattr(target, "__module__", None) or ""
    return module.startswith(_KNOWN_MODULES)


def _key(gm: fx.GraphModule, n: fx.Node) -> str:
    """The op's name as errors show it and ``assume_pointwise`` takes it."""
    if n.op == "call_module":
        return type(gm.get_submodule(str(n.target))).__name__
    if n.op == "call_method":
        return str(n.target)
    return str(getattr(n.target, "__name__", n.target))


def _arg(n: fx.Node, index: int, key: str, default: Any = None) -> Any:
    if len(n.args) > index:
        return n.args[index]
    return n.kwargs.get(key, default)


def _flatten(args: Any) -> Iterable[Any]:
    for a in args:
        if isinstance(a, list | tuple):
            yield from _flatten(a)
        else:
            yield a


def _per_axis(value: Any, dims: int) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value) * dims if len(value) == 1 else list(value)
    return [value] * dims


def _rational(value: Any) -> Fraction:
    """A scale factor as the fraction it was written as (1.5 -> 3/2, 1/3 -> 1/3)."""
    exact = Fraction(value)
    near = exact.limit_denominator(10**6)
    return near if float(near) == float(value) else exact


def _index_items(index: Any, rank: int) -> list[Any]:
    """A tensor index as one item per dim for :func:`maps.select`."""
    items = list(index) if isinstance(index, tuple) else [index]
    if any(_is_node(item) for item in items):
        msg = "an index computed at run time is not supported"
        raise UnsupportedError(msg)
    odd = [i for i in items if not isinstance(i, int | slice) and i is not None and i is not Ellipsis]
    if odd:
        msg = f"indexing with {type(odd[0]).__name__} is not supported"
        raise UnsupportedError(msg)
    used = sum(item is not None and item is not Ellipsis for item in items)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (rank - used)
    return [NEW_DIM if item is None else item for item in items]
