"""ONNX model -> Network, with the ``onnx`` package only (no runtime).

``onnx.shape_inference`` gives every tensor's shape; constant inputs (pads,
slice bounds, resize scales) are read from initializers and Constant nodes, and
sizes read off other tensors' shapes (``Shape`` -> ``Gather``/``Slice`` ->
``Concat``) are followed symbolically, so that ``Resize`` to another map's size
becomes ``size_of``. The input is taken to be (batch, channels, spatial axes).

A layer is named after its node, or after its output where that is a graph
output (graph outputs keep their names) or the node has no unique name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RFGraphError
from ..network import Network
from . import maps
from .maps import Builder, Layout, Map, UnsupportedError
from .writer import NetworkSpec, to_network

if TYPE_CHECKING:
    import onnx


def from_onnx(
    source: str | os.PathLike[str] | onnx.ModelProto,
    *,
    input_size: int | Sequence[int] | None = None,
    assume_pointwise: Iterable[str] = (),
) -> Network:
    """Describe an ONNX model as a Network.

    Parameters
    ----------
    source
        A ``.onnx`` file or a loaded ``onnx.ModelProto``, with one tensor input
        laid out (batch, channels, spatial axes).
    input_size
        The spatial size, where the model's input leaves it open (or to
        override it): one int for every axis, or one per axis.
    assume_pointwise
        ONNX op types (``MyCustomOp``) to treat as keeping the geometry.

    Returns
    -------
    Network
        The network :func:`rfgraph.loads` reads from :func:`import_onnx`'s text.

    Raises
    ------
    RFGraphError
        An unreadable file, an input with no size, or ops the importer does not
        know (one error listing all of them, with their node names).
    """
    return to_network(import_onnx(source, input_size=input_size, assume_pointwise=assume_pointwise))


def import_onnx(
    source: str | os.PathLike[str] | onnx.ModelProto,
    *,
    input_size: int | Sequence[int] | None = None,
    assume_pointwise: Iterable[str] = (),
    name: str | None = None,
) -> NetworkSpec:
    """The layers of an ONNX model as plain dicts; the parameters are :func:`from_onnx`'s.

    Errors are located at the file, or for a loaded model at its graph's name.
    """
    try:
        return _import_onnx(source, input_size, frozenset(assume_pointwise), name)
    except RFGraphError as e:
        raise e.located(_where(source)) from None


def _import_onnx(
    source: str | os.PathLike[str] | onnx.ModelProto,
    input_size: int | Sequence[int] | None,
    assume_pointwise: frozenset[str],
    name: str | None,
) -> NetworkSpec:
    model, default_name = _load(source)
    graph = model.graph
    constants = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        msg = f"the model must have exactly one input, it has {len(inputs)}: {[i.name for i in inputs]}"
        raise RFGraphError(msg)
    size = _set_input_size(inputs[0], input_size)
    walk = _Walk(model, _Values(model, assume_pointwise), assume_pointwise)
    layers = walk.run()
    return NetworkSpec(name or default_name, walk.input_name, len(size), layers, size)


def _load(source: str | os.PathLike[str] | onnx.ModelProto) -> tuple[onnx.ModelProto, str]:
    import onnx

    if isinstance(source, onnx.ModelProto):
        copy = onnx.ModelProto()
        copy.CopyFrom(source)  # the input size is set on the copy
        return copy, source.graph.name or "model"
    path = Path(source)
    try:
        return onnx.load(str(path)), path.stem
    except FileNotFoundError:
        msg = "no such file"
    except IsADirectoryError:
        msg = "is a directory, not an ONNX file"
    except Exception as e:  # protobuf's DecodeError and friends
        msg = f"not an ONNX model: {_first_line(e) or type(e).__name__}"
    raise RFGraphError(msg, path=str(source))


def _where(source: str | os.PathLike[str] | onnx.ModelProto) -> str:
    import onnx

    if isinstance(source, onnx.ModelProto):
        return f"ONNX graph {source.graph.name!r}" if source.graph.name else "ONNX model"
    return str(source)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else ""


def _set_input_size(value: onnx.ValueInfoProto, input_size: int | Sequence[int] | None) -> tuple[int, ...]:
    """Fill in the input's spatial size (and a batch of 1 where it is open); return the spatial size."""
    dims = value.type.tensor_type.shape.dim
    if len(dims) < 3:
        msg = f"input {value.name!r} has {len(dims)} dims; expected (batch, channels, spatial axes)"
        raise RFGraphError(msg)
    spatial = len(dims) - 2
    if not dims[1].HasField("dim_value"):
        msg = f"input {value.name!r} has an open number of channels ({dims[1].dim_param or '?'})"
        raise RFGraphError(msg)
    if input_size is None:
        if any(not d.HasField("dim_value") for d in dims[2:]):
            shape = [d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims]
            msg = f"input {value.name!r} has no fixed size {shape}: give one (--input-size)"
            raise RFGraphError(msg)
        size = tuple(d.dim_value for d in dims[2:])
    else:
        size = (input_size,) * spatial if isinstance(input_size, int) else tuple(input_size)
        if len(size) != spatial or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in size):
            msg = f"input size must be {spatial} positive integer(s) for {value.name!r}, got {input_size!r}"
            raise RFGraphError(msg)
        for d, n in zip(dims[2:], size, strict=True):
            d.dim_value = n
    if not dims[0].HasField("dim_value"):
        dims[0].dim_value = 1
    return size


@dataclass(frozen=True, slots=True)
class _Dim:
    """One entry of a shape read at run time: dim ``index`` of tensor ``tensor``."""

    tensor: str
    index: int


class _Values:
    """What is known of a model's tensors without running it.

    Shapes come from ``onnx.shape_inference``. A tensor that does not depend on
    the input's values (weights, constants, sizes read off shapes) has a value,
    computed node by node with onnx's reference evaluator. Exporters compute
    slice bounds and expand shapes from sizes, which leaves shape inference blind
    downstream, so such values are put in as constants and shapes inferred again,
    until nothing new is learnt. Likewise an op in ``assume_pointwise`` that shape
    inference does not know gives its input's shape.
    """

    def __init__(self, model: onnx.ModelProto, assume_pointwise: frozenset[str] = frozenset()) -> None:
        import onnx.numpy_helper

        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.producer = {out: node for node in graph.node for out in node.output}
        self.constants: dict[str, Any] = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = _constant_attribute(node)
        self.shapes: dict[str, tuple[int, ...]] = {t.name: tuple(t.dims) for t in graph.initializer}
        self.shapes.update((k, tuple(v.shape)) for k, v in self.constants.items())
        source = next(i.name for i in graph.input if i.name not in self.constants)
        self.valued = _valued(graph, source)
        self.folded: dict[str, tuple[Any, bool] | None] = {}
        self.assume = assume_pointwise
        self._infer(model)

    def _infer(self, model: onnx.ModelProto) -> None:
        import onnx
        import onnx.numpy_helper

        work = onnx.ModelProto()
        work.CopyFrom(model)
        done: set[str] = set()
        while True:
            try:
                inferred = onnx.shape_inference.infer_shapes(work, strict_mode=False, data_prop=True)
            except Exception as e:  # onnx raises its own kinds; all mean the model is inconsistent
                msg = f"ONNX shape inference failed: {_first_line(e)}"
                raise RFGraphError(msg) from None
            g = inferred.graph
            known: dict[str, onnx.ValueInfoProto] = {}
            for v in [*g.input, *g.value_info, *g.output]:
                shape = _shape(v)
                if shape is not None:
                    self.shapes[v.name] = shape
                    known[v.name] = v
            kept = [
                (node.output[0], known[i])
                for node in work.graph.node
                if _op_name(node) in self.assume and node.output[0] not in known
                for i in node.input[:1]
                if i in known
            ]
            for output, value in kept:  # an assumed-pointwise op keeps its input's shape
                info = work.graph.value_info.add()
                info.CopyFrom(value)
                info.name = output
            self.folded = {k: v for k, v in self.folded.items() if v is not None}
            wanted = {
                i
                for node in work.graph.node
                if any(t in self.valued for t in node.input)
                for i in node.input
                if i and i not in self.valued and i not in self.constants and i not in done
            }
            learnt = {t: found[0] for t in wanted if (found := self.fold(t)) is not None}
            if not learnt and not kept:
                return
            done.update(learnt)
            for tensor, value in learnt.items():
                self.shapes[tensor] = tuple(value.shape)
                work.graph.initializer.append(onnx.numpy_helper.from_array(value, f"{tensor}:folded"))
            for node in work.graph.node:
                for k, i in enumerate(node.input):
                    if i in learnt:
                        node.input[k] = f"{i}:folded"

    def fold(self, tensor: str) -> tuple[Any, bool] | None:
        """The value of a tensor that does not depend on the input's values, and whether it
        was read off a shape (then it holds at this input size only); None if unknown."""
        if tensor in self.constants:
            return self.constants[tensor], False
        if tensor in self.folded:
            return self.folded[tensor]
        node = self.producer.get(tensor)
        found: tuple[Any, bool] | None = None
        if node is None or tensor in self.valued:
            found = None
        elif node.op_type in _METADATA:
            shape = self.shapes.get(node.input[0])
            found = None if shape is None else (_metadata(node, shape), True)
        else:
            inputs = {i: self.fold(i) for i in node.input if i}
            if all(v is not None for v in inputs.values()):
                found = self._evaluate(node, tensor, inputs)
        self.folded[tensor] = found
        return found

    def _evaluate(self, node: onnx.NodeProto, tensor: str, inputs: dict[str, Any]) -> tuple[Any, bool] | None:
        from onnx.reference import ReferenceEvaluator

        try:
            evaluator = ReferenceEvaluator(node, opsets={"": self.opset})
            outputs: list[Any] = list(evaluator.run(None, {k: v[0] for k, v in inputs.items()}))
        except Exception:  # an op the reference evaluator lacks: the value stays unknown
            return None
        return outputs[list(node.output).index(tensor)], any(v[1] for v in inputs.values())


_POINTWISE = {
    **{
        op: op.lower()
        for op in ("Relu", "Elu", "Selu", "Celu", "Gelu", "Sigmoid", "Tanh", "Softplus", "Mish")
    },
    "LeakyRelu": "leaky_relu",
    "PRelu": "prelu",
    "HardSigmoid": "hardsigmoid",
    "HardSwish": "hardswish",
    "BatchNormalization": "batch_norm",
    "InstanceNormalization": "instance_norm",
    "MeanVarianceNormalization": "instance_norm",
    "LayerNormalization": "layer_norm",
    "GroupNormalization": "group_norm",
    "LRN": "local_response_norm",
    "LpNormalization": "scale",
    "Dropout": "dropout",
    **dict.fromkeys(
        ("Identity", "Cast", "CastLike", "Abs", "Neg", "Exp", "Log", "Sqrt", "Reciprocal"), "identity"
    ),
    **dict.fromkeys(
        ("Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Erf", "Softsign", "Shrink"), "identity"
    ),
    **dict.fromkeys(("ThresholdedRelu", "Pow"), "identity"),
}
_MERGES = {"Add": "add", "Sum": "add", "Mean": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}
_MERGES |= {"Max": "max", "Min": "min"}
_REDUCE = tuple(
    f"Reduce{kind}"
    for kind in ("Mean", "Max", "Min", "Sum", "L1", "L2", "LogSumExp", "Prod", "SumSquare", "LogSum")
)
_METADATA = ("Shape", "Size")  # they read a map's size, not its values


class _Walk(Builder):
    def __init__(self, model: onnx.ModelProto, values: _Values, assume_pointwise: frozenset[str]) -> None:
        super().__init__()
        self.graph = model.graph
        self.values = values
        self.opset = values.opset
        self.assume = assume_pointwise
        self.maps: dict[str, Map] = {}
        self.broken: set[str] = set()
        self.names = _layer_names(self.graph, values.constants)
        self.input_name = next(i.name for i in self.graph.input if i.name not in values.constants)
        self.dims = len(self.shape(self.input_name)) - 2

    def run(self) -> list[dict[str, Any]]:
        first = self.shape(self.input_name)
        self.maps[self.input_name] = Map(self.input_name, maps.nchw(self.dims), first)
        needed = _needed(self.graph)
        for index, node in enumerate(self.graph.node):
            if index not in needed:
                continue
            if any(i in self.broken for i in node.input):
                self.broken.update(node.output)  # its geometry is unknown, but is its op known at all?
                if not self.knows(_op_name(node)) and node.op_type not in _METADATA:
                    self.unsupported(self.names[node.output[0]], _op_name(node), "unknown op")
                continue
            if not any(i in self.maps for i in node.input) or node.op_type in _METADATA:
                continue
            try:
                self.visit(node)
            except UnsupportedError as e:
                self.broken.update(node.output)
                self.unsupported(self.names[node.output[0]], _op_name(node), str(e))
        self.check("assume_pointwise / --assume-pointwise")
        return self.layers

    def knows(self, op: str) -> bool:
        return op in (*_POINTWISE, "Clip", *_MERGES, *_REDUCE, *self.handlers(), *self.assume)

    def visit(self, node: onnx.NodeProto) -> None:
        op = _op_name(node)
        if op in _POINTWISE:
            self.pointwise(node, _POINTWISE[op])
        elif op == "Clip":
            low, high = self.value(node, 1), self.value(node, 2)
            relu6 = low is not None and high is not None and float(low) == 0 and float(high) == 6
            self.pointwise(node, "relu6" if relu6 else "hardtanh")
        elif op in _MERGES:
            self.arithmetic(node, _MERGES[op])
        elif op in _REDUCE:
            self.reduce(node)
        elif op in self.handlers():
            self.handlers()[op](node)
        elif op in self.assume:
            self.pointwise(node, "identity")
        else:
            msg = "unknown op"
            raise UnsupportedError(msg)

    def handlers(self) -> dict[str, Callable[[onnx.NodeProto], None]]:
        return {
            "Conv": self.conv,
            "ConvTranspose": self.transposed,
            **dict.fromkeys(("MaxPool", "AveragePool", "LpPool"), self.pool),
            **dict.fromkeys(("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"), self.global_pool),
            "Pad": self.pad,
            **dict.fromkeys(("Resize", "Upsample"), self.resize),
            "DepthToSpace": lambda n: self.shuffle(n, "pixel_shuffle"),
            "SpaceToDepth": lambda n: self.shuffle(n, "pixel_unshuffle"),
            "Slice": self.slice,
            "Gather": self.gather,
            "Concat": self.concat,
            **dict.fromkeys(("Flatten", "Reshape", "Squeeze", "Unsqueeze"), self.reshape),
            "Transpose": self.transpose,
            "Gemm": self.gemm,
            "MatMul": self.matmul,
            **dict.fromkeys(("Softmax", "LogSoftmax", "Hardmax"), self.softmax),
            "Split": self.split,
            "Expand": self.expand,
        }

    # -- building blocks

    def shape(self, tensor: str) -> tuple[int, ...]:
        shape = self.values.shapes.get(tensor)
        if shape is None:
            msg = f"shape inference gives no fixed shape for {tensor!r}"
            raise UnsupportedError(msg)
        return shape

    def first_map(self, node: onnx.NodeProto) -> Map:
        return self.maps[next(i for i in node.input if i in self.maps)]

    def emit(
        self, node: onnx.NodeProto, op: str, inputs: Sequence[Map], layout: Layout, **params: Any
    ) -> None:
        out = node.output[0]
        self.maps[out] = self.add(self.names[out], op, inputs, layout, self.shape(out), **params)

    def pointwise(self, node: onnx.NodeProto, op: str) -> None:
        x = self.first_map(node)
        shape = self.shape(node.output[0])
        kept = len(shape) == len(x.shape) and all(
            a == b
            for a, b, lb in zip(shape, x.shape, x.layout.labels, strict=True)
            if lb not in ("N", "C", "X")
        )
        if not kept:
            msg = f"expected the spatial size {list(x.shape)} to stay, got {list(shape)}"
            raise UnsupportedError(msg)
        self.emit(node, op, [x], x.layout)

    def value(self, node: onnx.NodeProto, index: int) -> Any:
        """The value of input ``index`` if it does not depend on the input's values (None if absent)."""
        if index >= len(node.input) or not node.input[index]:
            return None
        folded = self.values.fold(node.input[index])
        return None if folded is None else folded[0]

    def int_list(self, node: onnx.NodeProto, index: int, attribute: str) -> tuple[list[int] | None, bool]:
        """Ints given as input ``index`` (newer opsets) or as an attribute (older), and whether
        they were read off shapes."""
        if index < len(node.input) and node.input[index]:
            folded = self.values.fold(node.input[index])
            if folded is None:
                msg = f"{attribute} computed from the input's values is not supported"
                raise UnsupportedError(msg)
            return [int(v) for v in folded[0].reshape(-1)], folded[1]
        given = _attributes(node).get(attribute)
        return (None if given is None else [int(v) for v in given]), False

    # -- windows

    def conv(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        if node.input[1] in self.maps:
            msg = "the weight is computed from the input"
            raise UnsupportedError(msg)
        a = _attributes(node)
        kernel = a.get("kernel_shape") or list(self.shape(node.input[1])[2:])
        groups = a.get("group", 1)
        op = "depthwise_conv" if groups > 1 and groups == x.shape[1] else "conv"
        self.window(node, op, x, kernel, a)

    def window(self, node: onnx.NodeProto, op: str, x: Map, kernel: Sequence[int], a: dict[str, Any]) -> None:
        x.check_nchw(self.dims, op)
        d = self.dims
        params: dict[str, Any] = {
            "kernel": list(kernel),
            "stride": a.get("strides", [1] * d),
            "dilation": a.get("dilations", [1] * d),
            "padding": self.padding(a),
        }
        if a.get("ceil_mode"):
            self.check_ceil_mode(node, x, params)
            params["ceil_mode"] = True
        self.emit(node, op, [x], x.layout, **params)

    def padding(self, a: dict[str, Any]) -> Any:
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            return "same" if auto == "SAME_UPPER" else "same_lower"
        pads = a.get("pads", [0] * 2 * self.dims) if auto == "NOTSET" else [0] * 2 * self.dims
        return [(pads[i], pads[i + self.dims]) for i in range(self.dims)]

    def check_ceil_mode(self, node: onnx.NodeProto, x: Map, params: dict[str, Any]) -> None:
        """rfgraph's ceil_mode is PyTorch's size rule; a model whose sizes follow another is an error."""
        padding = params["padding"]
        if isinstance(padding, str):
            msg = "ceil_mode with auto_pad is not supported"
            raise UnsupportedError(msg)
        made = self.shape(node.output[0])[2:]
        for n, k, s, dl, (b, e), got in zip(
            x.spatial(), params["kernel"], params["stride"], params["dilation"], padding, made, strict=True
        ):
            span = dl * (k - 1) + 1
            out = -(-(n + b + e - span) // s) + 1
            if (out - 1) * s >= n + b:
                out -= 1
            if out != got:
                msg = f"ceil_mode gives {got} outputs where PyTorch's rule gives {out}"
                raise UnsupportedError(msg)

    def transposed(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        x.check_nchw(self.dims, "transposed_conv")
        a = _attributes(node)
        d = self.dims
        kernel = a.get("kernel_shape") or list(self.shape(node.input[1])[2:])
        stride, dilation = a.get("strides", [1] * d), a.get("dilations", [1] * d)
        extra = a.get("output_padding", [0] * d)
        auto = a.get("auto_pad", "NOTSET")
        target = a.get("output_shape")
        if target is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
            target = target or [n * s for n, s in zip(x.spatial(), stride, strict=True)]
            full = [
                s * (n - 1) + p + (k - 1) * dl + 1
                for n, s, p, k, dl in zip(x.spatial(), stride, extra, kernel, dilation, strict=True)
            ]
            totals = [f - t for f, t in zip(full, target[-d:], strict=True)]
            upper = auto == "SAME_UPPER"
            pads = [(t // 2, t - t // 2) if upper else (t - t // 2, t // 2) for t in totals]
        elif auto == "VALID":
            pads = [(0, 0)] * d
        else:
            given = a.get("pads", [0] * 2 * d)
            pads = [(given[i], given[i + d]) for i in range(d)]
        if any(b < 0 or e < 0 for b, e in pads):
            msg = f"output_shape {target} is larger than the transposed conv makes"
            raise UnsupportedError(msg)
        made = self.shape(node.output[0])[2:]
        out_padding = [
            o - ((n - 1) * s - b - e + dl * (k - 1) + 1)
            for o, n, s, (b, e), dl, k in zip(made, x.spatial(), stride, pads, dilation, kernel, strict=True)
        ]
        params = {"kernel": kernel, "stride": stride, "dilation": dilation, "padding": pads}
        self.emit(node, "transposed_conv", [x], x.layout, **params, output_padding=out_padding)

    def pool(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        a = _attributes(node)
        op = {"MaxPool": "max_pool", "AveragePool": "avg_pool"}.get(node.op_type, "pool")
        self.window(node, op, x, a["kernel_shape"], a)

    def global_pool(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        x.check_nchw(self.dims, node.op_type)
        self.emit(node, "global_pool", [x], x.layout)

    def shuffle(self, node: onnx.NodeProto, op: str) -> None:
        x = self.first_map(node)
        x.check_nchw(self.dims, op)
        self.emit(node, op, [x], x.layout, factor=_attributes(node)["blocksize"])

    # -- padding, resizing, slicing

    def pad(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        a = _attributes(node)
        mode = a.get("mode", "constant")
        if mode == "wrap":
            msg = "wrap (circular) padding reads the far side of the input"
            raise UnsupportedError(msg)
        if mode not in ("constant", "reflect", "edge"):
            msg = f"padding mode {mode!r} is not supported"
            raise UnsupportedError(msg)
        found, computed = self.int_list(node, 1, "pads")
        pads = found or []
        rank = len(x.shape)
        axes = self.int_list(node, 3, "axes")[0] or list(range(rank))
        padding = [(0, 0)] * self.dims
        for k, axis in enumerate(axes):
            label = x.layout.labels[axis % rank]
            pair = (pads[k], pads[k + len(axes)])
            if isinstance(label, int):
                padding[label] = pair
            elif label != "C" and pair != (0, 0):
                msg = f"padding {maps.label_name(label)} is not supported"
                raise UnsupportedError(msg)
        if computed and any(p != (0, 0) for p in padding):
            msg = "spatial pads computed from shapes are not supported"
            raise UnsupportedError(msg)
        if any(p != (0, 0) for p in padding):
            self.emit(node, "pad", [x], x.layout, padding=padding)
        else:
            self.emit(node, "identity", [x], x.layout)

    def resize(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        x.check_nchw(self.dims, node.op_type)
        a = _attributes(node)
        mode = a.get("mode", "nearest")
        if node.op_type == "Upsample":
            transform, rounding = "asymmetric", "floor"
            scales = self.value(node, 1) if len(node.input) > 1 else a.get("scales")
            sizes = None
        else:
            transform = a.get("coordinate_transformation_mode", "half_pixel")
            rounding = a.get("nearest_mode", "round_prefer_floor")
            first = 1 if self.opset < 11 else 2  # Resize-10 has no roi input
            scales, sizes = self.value(node, first), None
            if self.opset >= 11 and len(node.input) > 3 and node.input[3]:
                sizes = self.shape_value(node.input[3])
            if (
                a.get("antialias")
                or a.get("keep_aspect_ratio_policy", "stretch") != "stretch"
                or a.get("axes")
            ):
                msg = "Resize with antialias, keep_aspect_ratio_policy or axes is not supported"
                raise UnsupportedError(msg)
        if scales is not None and len(scales) == 0:
            scales = None
        if scales is None and sizes is None:
            msg = "a Resize whose scales or sizes the importer cannot follow is not supported"
            raise UnsupportedError(msg)
        out = self.shape(node.output[0])[2:]
        factors = None
        if scales is not None:
            given = [_rational(float(s)) for s in list(scales)]
            if any(f != 1 for f in given[:2]):
                msg = "a Resize of the batch or channels is not supported"
                raise UnsupportedError(msg)
            factors = given[2:]
        # input size per output size, by which ONNX's coordinates scale (at the traced size for sizes)
        sizes_in_out = zip(x.spatial(), out, strict=True)
        ratios = [1 / f for f in factors] if factors else [Fraction(i, o) for i, o in sizes_in_out]
        params: dict[str, Any] = {"mode": _resize_mode(mode, transform, rounding, ratios, out)}
        if transform == "align_corners":
            params["align_corners"] = True
        if factors is not None:
            if all(f.denominator == 1 for f in factors):
                self.emit(node, "upsample", [x], x.layout, factor=[int(f) for f in factors], **params)
            else:
                self.emit(node, "resize", [x], x.layout, factor=factors, **params)
            return
        assert sizes is not None
        spatial = sizes[2:]
        if all(isinstance(s, int) for s in spatial):
            self.emit(node, "resize", [x], x.layout, size=list(spatial), **params)
            return
        other = self.size_of(spatial)
        if other is None:
            msg = "sizes computed from shapes other than another map's spatial size are not supported"
            raise UnsupportedError(msg)
        self.emit(node, "resize", [x], x.layout, size_of=other.source, **params)

    def size_of(self, spatial: Sequence[Any]) -> Map | None:
        """The map whose spatial size ``spatial`` is, read off its shape."""
        if not all(isinstance(s, _Dim) for s in spatial) or len({s.tensor for s in spatial}) != 1:
            return None
        other = self.maps.get(spatial[0].tensor)
        if other is None:
            return None
        want = [i for i, lb in enumerate(other.layout.labels) if isinstance(lb, int)]
        axes = [other.layout.labels[i] for i in want]
        return other if [s.index for s in spatial] == want and axes == list(range(self.dims)) else None

    def shape_value(self, tensor: str) -> list[Any] | None:
        """A size's entries: ints, or :class:`_Dim` where read off a map's shape.

        Follows what exporters build ``size=other.shape[-2:]`` with (Shape, Gather,
        Slice, Concat, Unsqueeze, Cast); None for anything else.
        """
        if tensor in self.values.constants:
            return [int(v) for v in self.values.constants[tensor].reshape(-1)]
        node = self.values.producer.get(tensor)
        if node is None or not node.input:
            return None
        a = _attributes(node)
        if node.op_type == "Shape":
            rank = len(self.shape(node.input[0]))
            return [_Dim(node.input[0], i) for i in range(rank)][slice(a.get("start", 0), a.get("end"))]
        if node.op_type == "Concat":
            parts = [self.shape_value(i) for i in node.input]
            return None if any(p is None for p in parts) else [v for p in parts if p for v in p]
        inner = self.shape_value(node.input[0])
        if inner is None:
            return None
        if node.op_type in ("Cast", "Identity", "Unsqueeze", "Squeeze"):
            return inner
        if node.op_type == "Gather" and a.get("axis", 0) == 0:
            index = self.value(node, 1)
            return None if index is None else [inner[int(i)] for i in index.reshape(-1)]
        if node.op_type == "Slice":
            starts, ends, steps = (self.value(node, i) for i in (1, 2, 4))
            if starts is None or ends is None:
                return None
            return inner[slice(int(starts[0]), int(ends[0]), 1 if steps is None else int(steps[0]))]
        return None

    def slice(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        rank = len(x.shape)
        (starts, start_computed), (ends, end_computed) = (
            self.int_list(node, 1, "starts"),
            self.int_list(node, 2, "ends"),
        )
        axes, _ = self.int_list(node, 3, "axes")
        steps, _ = self.int_list(node, 4, "steps")
        starts, ends = starts or [], ends or []
        axes = axes or list(range(len(starts)))
        steps = steps or [1] * len(starts)
        items: list[Any] = [maps.Whole] * rank
        for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
            label = x.layout.labels[axis % rank]
            if (start_computed or end_computed) and label not in ("C", "N"):
                msg = f"slice bounds of {maps.label_name(label)} computed from shapes are not supported"
                raise UnsupportedError(msg)
            items[axis % rank] = slice(start, end, step)
        self.select(node, x, items)

    def gather(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        index = self.value(node, 1)
        axis = _attributes(node).get("axis", 0) % len(x.shape)
        if index is None or index.ndim > 1:
            msg = "Gather with indices that are not constant and at most 1-D is not supported"
            raise UnsupportedError(msg)
        if index.ndim == 1:
            if x.layout.labels[axis] != "C":
                what = maps.label_name(x.layout.labels[axis])
                msg = f"Gather of several positions of {what} is not supported"
                raise UnsupportedError(msg)
            self.emit(node, "identity", [x], x.layout)
            return
        items: list[Any] = [maps.Whole] * len(x.shape)
        items[axis] = int(index)
        self.select(node, x, items)

    def select(self, node: onnx.NodeProto, x: Map, items: list[Any]) -> None:
        found = maps.select(x, items, self.dims)
        if found.op == "global_pool" and not self.has_global_upstream(x.source):
            msg = "selects a token that is no position of the input, and no attention has mixed it"
            raise UnsupportedError(msg)
        self.emit(node, found.op, [x], found.layout, **found.params)

    # -- merges, reshapes, heads

    def arithmetic(self, node: onnx.NodeProto, op: str) -> None:
        operands = [self.maps[i] for i in dict.fromkeys(node.input) if i in self.maps]
        kind, layout = maps.elementwise(op, operands, self.shape(node.output[0]))
        self.emit(node, kind, operands, layout)

    def concat(self, node: onnx.NodeProto) -> None:
        live = [i for i in node.input if i in self.maps]
        first = self.maps[live[0]]
        axis = _attributes(node)["axis"] % len(first.shape)
        at = list(node.input).index(live[0])
        before = sum(self.shape(i)[axis] for i in node.input[:at] if i not in self.maps)
        after = sum(self.shape(i)[axis] for i in node.input[at + 1 :] if i not in self.maps)
        op, layout = maps.concat(first, axis, before, after, len(live) - 1)
        inputs = [self.maps[i] for i in dict.fromkeys(live)]
        if op == "concat":
            layout = maps.broadcast(inputs, self.shape(node.output[0]))
        self.emit(node, op, inputs if op == "concat" else [first], layout)

    def reshape(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        op, layout = maps.reshape(x, self.shape(node.output[0]))
        self.emit(node, op, [x], layout)

    def transpose(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        order = _attributes(node).get("perm") or list(range(len(x.shape)))[::-1]
        op, layout = maps.permute(x, order)
        self.emit(node, op, [x], layout)

    def expand(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        shape = self.shape(node.output[0])
        grown = [lb for s, old, lb in zip(shape, x.shape, x.layout.labels, strict=False) if s != old]
        if len(shape) != len(x.shape) or any(lb != "C" for lb in grown):
            msg = "an Expand of anything but channels is not supported"
            raise UnsupportedError(msg)
        self.emit(node, "identity", [x], x.layout)

    def gemm(self, node: onnx.NodeProto) -> None:
        if node.input[0] not in self.maps or node.input[1] in self.maps or _attributes(node).get("transA"):
            msg = "Gemm other than map x constant weight is not supported"
            raise UnsupportedError(msg)
        x = self.maps[node.input[0]]
        self.emit(node, maps.linear(x), [x], x.layout)

    def matmul(self, node: onnx.NodeProto) -> None:
        left, right = node.input[0], node.input[1]
        if left in self.maps and right not in self.maps and len(self.shape(right)) == 2:
            x = self.maps[left]
            self.emit(node, maps.linear(x), [x], x.layout)
            return
        msg = "a product of two feature maps (attention written out) is not supported"
        raise UnsupportedError(msg)

    def softmax(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        rank = len(x.shape)
        axis = _attributes(node).get("axis", -1 if self.opset >= 13 else 1) % rank
        if self.opset < 13 and axis != rank - 1:  # older opsets flatten every dim from axis on
            msg = f"{node.op_type} over dims {axis}.. (opset {self.opset}) is not supported"
            raise UnsupportedError(msg)
        self.emit(node, maps.softmax(x, axis), [x], x.layout)

    def reduce(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        a = _attributes(node)
        axes = self.int_list(node, 1, "axes")[0]
        rank = len(x.shape)
        if not axes:
            if a.get("noop_with_empty_axes"):
                self.emit(node, "identity", [x], x.layout)
                return
            axes = list(range(rank))
        op, layout = maps.reduce(x, [d % rank for d in axes], bool(a.get("keepdims", 1)))
        self.emit(node, op, [x], layout)

    def split(self, node: onnx.NodeProto) -> None:
        x = self.first_map(node)
        axis = _attributes(node).get("axis", 0) % len(x.shape)
        if x.layout.labels[axis] != "C":
            msg = f"a Split of {maps.label_name(x.layout.labels[axis])} is not supported"
            raise UnsupportedError(msg)
        for out in node.output:
            if out:
                self.maps[out] = self.add(self.names[out], "identity", [x], x.layout, self.shape(out))


def _resize_mode(mode: str, transform: str, rounding: str, ratios: list[Fraction], out: Any) -> str:
    """The rfgraph mode of an ONNX Resize, or an error naming what has no rfgraph meaning.

    ``ratios`` are input size / output size per axis (the scale ONNX's coordinates take).
    ``nearest`` reads floor(x * ratio) and ``nearest_exact`` floor((x + 1/2) * ratio), PyTorch's
    two; ONNX's coordinates and rounding are whichever of them reads the same input position at
    every output position (checked over two periods). ``linear``/``cubic`` follow PyTorch's
    half-pixel or align_corners coordinates.
    """
    if mode == "nearest":
        for kind in ("nearest", "nearest_exact"):
            if all(_nearest_reads(kind, ratio, transform, rounding) for ratio in ratios):
                return kind
        msg = f"nearest with coordinate_transformation_mode {transform!r} and nearest_mode {rounding!r}"
        raise UnsupportedError(
            msg + " (neither floor(x / factor) nor PyTorch's nearest-exact) is not supported"
        )
    if mode in ("linear", "cubic"):
        kind = "bilinear" if mode == "linear" else "bicubic"
        if transform in ("pytorch_half_pixel", "align_corners"):
            return kind
        if transform == "half_pixel" and all(n > 1 for n in out):
            return kind  # PyTorch's half-pixel rule, which differs only for an output of size 1
        msg = f"{mode} with coordinate_transformation_mode {transform!r} is not supported"
        raise UnsupportedError(msg)
    msg = f"Resize mode {mode!r} is not supported"
    raise UnsupportedError(msg)


def _nearest_reads(kind: str, ratio: Fraction, transform: str, rounding: str) -> bool:
    """Whether ONNX's nearest reads what rfgraph's ``kind`` reads at every output position.

    >>> _nearest_reads("nearest_exact", Fraction(2, 3), "half_pixel", "round_prefer_ceil")
    True
    >>> _nearest_reads("nearest", Fraction(1, 2), "half_pixel", "round_prefer_floor")
    True
    >>> _nearest_reads("nearest", Fraction(2, 3), "half_pixel", "ceil")
    False
    """
    half = Fraction(1, 2)
    for x in range(2 * ratio.denominator):  # both rules repeat once x * ratio moves by a whole number
        if transform == "asymmetric":
            where = x * ratio
        elif transform in ("half_pixel", "pytorch_half_pixel"):
            where = (x + half) * ratio - half
        elif transform == "tf_half_pixel_for_nn":
            where = (x + half) * ratio
        else:
            return False
        lower = math.floor(where)
        if rounding == "floor":
            src = lower
        elif rounding == "ceil":
            src = math.ceil(where)
        else:
            tie = where - lower == half
            up = where - lower > half or (tie and rounding == "round_prefer_ceil")
            src = lower + 1 if up else lower
        wanted = math.floor(x * ratio) if kind == "nearest" else math.floor((x + half) * ratio)
        if max(src, 0) != wanted:  # ONNX clamps to the first position; rfgraph never reads before it
            return False
    return True


def _rational(value: float) -> Fraction:
    exact = Fraction(value)
    near = exact.limit_denominator(10**6)
    return near if float(near) == value else exact


def _op_name(node: onnx.NodeProto) -> str:
    """The op type, with its domain when that is not ONNX's (``custom.Mystery``)."""
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"


def _attributes(node: onnx.NodeProto) -> dict[str, Any]:
    import onnx.helper

    found = {}
    for a in node.attribute:
        value = onnx.helper.get_attribute_value(a)
        found[a.name] = value.decode() if isinstance(value, bytes) else value
    return found


def _metadata(node: onnx.NodeProto, shape: tuple[int, ...]) -> Any:
    import numpy as np

    if node.op_type == "Size":
        return np.array(int(np.prod(shape)), dtype=np.int64)
    a = _attributes(node)
    return np.array(shape[slice(a.get("start", 0), a.get("end"))], dtype=np.int64)


def _constant_attribute(node: onnx.NodeProto) -> Any:
    import numpy as np
    import onnx.numpy_helper

    for a in node.attribute:
        if a.name == "value":
            return onnx.numpy_helper.to_array(a.t)
        if a.name in ("value_int", "value_float"):
            return np.array(a.i if a.name == "value_int" else a.f)
        if a.name in ("value_ints", "value_floats"):
            return np.array(list(a.ints) if a.name == "value_ints" else list(a.floats))
    return None


def _shape(value: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    t = value.type.tensor_type
    if not t.HasField("shape") or any(not d.HasField("dim_value") for d in t.shape.dim):
        return None
    return tuple(int(d.dim_value) for d in t.shape.dim)


def _valued(graph: onnx.GraphProto, source: str) -> set[str]:
    """The tensors whose values depend on the input's (a Shape's output does not)."""
    found = {source}
    for node in graph.node:
        if node.op_type not in _METADATA and any(i in found for i in node.input):
            found.update(o for o in node.output if o)
    return found


def _needed(graph: onnx.GraphProto) -> set[int]:
    """The indices of the nodes the graph outputs depend on."""
    producer = {out: k for k, node in enumerate(graph.node) for out in node.output}
    found: set[int] = set()
    todo = [o.name for o in graph.output]
    seen: set[str] = set()
    while todo:
        tensor = todo.pop()
        if tensor in seen or tensor not in producer:
            continue
        seen.add(tensor)
        found.add(producer[tensor])
        todo.extend(i for i in graph.node[producer[tensor]].input if i)
    return found


def _layer_names(graph: onnx.GraphProto, constants: Iterable[str]) -> dict[str, str]:
    """Tensor -> layer name: graph outputs keep theirs, else the node's name where unique."""
    outputs = {o.name for o in graph.output}
    counts: dict[str, int] = {}
    for node in graph.node:
        counts[node.name] = counts.get(node.name, 0) + 1
    taken = {i.name for i in graph.input} | set(constants) | outputs
    names: dict[str, str] = {out: out for out in outputs}
    for node in graph.node:
        for k, out in enumerate(node.output):
            if not out or out in outputs:
                continue
            chosen = out
            if node.name and counts[node.name] == 1:
                chosen = node.name if k == 0 else f"{node.name}:{k}"
            while chosen in taken:
                chosen = f"{chosen}_"
            taken.add(chosen)
            names[out] = chosen
    return names
