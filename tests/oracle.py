"""The empirical receptive field of a torch module, measured by backpropagation.

Independent of every rfgraph formula: the module is made linear with positive
coefficients (conv and linear weights 1/fan_in, biases 0, other parameters and
floating-point buffers 1 whatever they held, activations and normalisations the
identity, max pools average pools of the same geometry) and run in float64 on an
input of ones. The input gradient of one output feature (summed over channels) is
then positive exactly on the input pixels that feature depends on, with no
cancellation possible; its bounding box per axis is the feature's true field,
clipped to the image. Bicubic interpolation is the one op with negative taps
(Keys' kernel): the box is that of the nonzero gradient.

Global branches (a squeeze-excitation gate, attention) read the whole image; with
``detach_global`` the output of every op that reduces a map with more than one
position to a single position, and of every attention, is replaced by ones, which
measures the local field instead. (Ones, not the detached value: a gate that
multiplies the map by its own mean squares the values at every block, and 16 such
blocks overflow float64.)
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

Box = tuple[tuple[int, int] | None, ...]

# torch.nn modules that only rescale values position by position: the identity here
_IDENTITY_MODULES = (
    "torch.nn.modules.activation",
    "torch.nn.modules.batchnorm",
    "torch.nn.modules.instancenorm",
    "torch.nn.modules.normalization",
    "torch.nn.modules.dropout",
)
_ATTENTION = nn.MultiheadAttention
_KEEP_MODULES = (_ATTENTION,)
_IDENTITY_FUNCTIONS = {
    F.relu,
    F.relu6,
    F.gelu,
    F.silu,
    F.hardswish,
    F.hardsigmoid,
    F.leaky_relu,
    F.elu,
    F.hardtanh,
    F.mish,
    F.softplus,
    F.batch_norm,
    F.layer_norm,
    F.group_norm,
    F.instance_norm,
    F.dropout,
    F.softmax,
    torch.relu,
    torch.sigmoid,
    torch.tanh,
}
_IDENTITY_METHODS = {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softmax"}
_MAX_TO_AVG = {F.max_pool1d: F.avg_pool1d, F.max_pool2d: F.avg_pool2d, F.max_pool3d: F.avg_pool3d}
_ADAPTIVE = {
    F.adaptive_max_pool1d: F.adaptive_avg_pool1d,
    F.adaptive_max_pool2d: F.adaptive_avg_pool2d,
    F.adaptive_max_pool3d: F.adaptive_avg_pool3d,
}


def linearised(module: nn.Module, example: torch.Tensor, *, detach_global: bool = False) -> fx.GraphModule:
    """A float64 copy of ``module`` that is linear with positive coefficients."""
    # inside a container a torch.nn module is a leaf, also when it is the whole model
    model = nn.Sequential(copy.deepcopy(module)).eval().double()
    gm = fx.symbolic_trace(model)
    graph = gm.graph
    for n in list(graph.nodes):
        if n.op == "call_module" and detach_global and isinstance(gm.get_submodule(n.target), _ATTENTION):
            _set_module(gm, str(n.target), _GlobalStandIn())
        elif n.op == "call_module":
            _swap_module(gm, n)
        elif n.op == "call_function" and n.target in _IDENTITY_FUNCTIONS:
            _bypass(graph, n)
        elif n.op == "call_method" and n.target in _IDENTITY_METHODS:
            _bypass(graph, n)
        elif n.op == "call_function" and n.target in _MAX_TO_AVG:
            _max_to_avg(n)
        elif n.op == "call_function" and n.target in _ADAPTIVE:
            n.target = _ADAPTIVE[n.target]
            n.kwargs = {k: v for k, v in n.kwargs.items() if k != "return_indices"}
    gm.recompile()
    for m in gm.modules():
        for name, p in m.named_parameters(recurse=False):
            with torch.no_grad():
                if isinstance(m, nn.modules.conv._ConvNd | nn.Linear) and name == "weight":
                    p.fill_(1.0 / p[0].numel())
                elif name.endswith("weight") and isinstance(m, nn.MultiheadAttention):
                    p.fill_(1.0 / p.shape[-1])
                elif "bias" in name:
                    p.zero_()
                else:
                    p.fill_(1.0)
        for b in m.buffers(recurse=False):  # FrozenBatchNorm2d keeps its weight and statistics here
            if b.is_floating_point():
                with torch.no_grad():
                    b.fill_(1.0)
    if detach_global:
        _detach_global(gm, example)
    return gm


class _GlobalStandIn(nn.Module):
    """Attention, detached: ones in the query's shape (a residual around it carries the local field)."""

    def forward(self, query: torch.Tensor, *args: object, **kwargs: object) -> tuple[torch.Tensor, None]:
        return torch.ones_like(query), None


def _swap_module(gm: fx.GraphModule, n: fx.Node) -> None:
    m = gm.get_submodule(str(n.target))
    if isinstance(m, _KEEP_MODULES):
        return
    kind = type(m).__name__
    if type(m).__module__ in _IDENTITY_MODULES:
        _set_module(gm, str(n.target), nn.Identity())
    elif kind.startswith("MaxPool"):
        if any(d != 1 for d in (m.dilation if isinstance(m.dilation, tuple) else (m.dilation,))):
            msg = "the oracle has no average pool with dilation"
            raise ValueError(msg)
        avg = getattr(nn, kind.replace("Max", "Avg"))(
            m.kernel_size, m.stride, m.padding, ceil_mode=m.ceil_mode
        )
        _set_module(gm, str(n.target), avg)
    elif kind.startswith("AdaptiveMaxPool"):
        _set_module(gm, str(n.target), getattr(nn, kind.replace("Max", "Avg"))(m.output_size))


def _set_module(gm: fx.GraphModule, path: str, module: nn.Module) -> None:
    parent, _, name = path.rpartition(".")
    setattr(gm.get_submodule(parent) if parent else gm, name, module)


def _bypass(graph: fx.Graph, n: fx.Node) -> None:
    n.replace_all_uses_with(n.args[0])
    graph.erase_node(n)


def _max_to_avg(n: fx.Node) -> None:
    args = list(n.args) + [None] * (6 - len(n.args))
    x, kernel, stride, padding, dilation, ceil = args[:6]
    stride = n.kwargs.get("stride", stride)
    padding = n.kwargs.get("padding", padding) or 0
    dilation = n.kwargs.get("dilation", dilation) or 1
    ceil = n.kwargs.get("ceil_mode", ceil) or False
    if dilation not in (1, (1, 1), (1,), (1, 1, 1)):
        msg = "the oracle has no average pool with dilation"
        raise ValueError(msg)
    n.target = _MAX_TO_AVG[n.target]
    n.args = (x, n.kwargs.get("kernel_size", kernel))
    n.kwargs = {"stride": stride, "padding": padding, "ceil_mode": ceil}


def _detach_global(gm: fx.GraphModule, example: torch.Tensor) -> None:
    """Replace the output of every op that turns a map of several positions into one position by ones."""
    ShapeProp(gm).propagate(example)
    rank = example.dim()
    for n in list(gm.graph.nodes):
        out = n.meta.get("tensor_meta")
        ins = [u.meta.get("tensor_meta") for u in n.all_input_nodes]
        if not hasattr(out, "shape") or not ins or not hasattr(ins[0], "shape"):
            continue
        before, after = ins[0].shape, out.shape
        if len(before) == rank and any(s > 1 for s in before[2:]):
            if len(after) == 2 or (len(after) == rank and all(s == 1 for s in after[2:])):
                with gm.graph.inserting_after(n):
                    cut = gm.graph.call_function(torch.ones_like, (n,))
                n.replace_all_uses_with(cut, delete_user_cb=lambda user, cut=cut: user is not cut)
    gm.recompile()


class Oracle:
    """One linearised run of ``module`` on an input of ones; :meth:`box` measures one feature.

    The model is linearised and run once; each feature then costs one backward
    pass (parameters need no gradient). ``output`` picks one tensor of a tuple or
    dict output (a dict by key or position).
    """

    def __init__(
        self,
        module: nn.Module,
        input_size: Sequence[int],
        *,
        channels: int = 3,
        detach_global: bool = False,
        output: int | str | None = None,
    ) -> None:
        self.input_size = tuple(input_size)
        x = torch.ones(1, channels, *input_size, dtype=torch.float64)
        gm = linearised(module, x, detach_global=detach_global)
        gm.requires_grad_(False)
        x.requires_grad_(True)
        with _one_thread():
            y = gm(x)
        if isinstance(y, dict):
            y = y[output] if isinstance(output, str) else list(y.values())[output or 0]
        elif isinstance(y, tuple | list):
            y = y[output or 0]
        self.x, self.y = x, y

    @property
    def shape(self) -> tuple[int, ...]:
        """The output's spatial shape."""
        return tuple(self.y.shape[2:])

    def box(self, feature: Sequence[int]) -> Box:
        """The input box ``feature`` (one index per spatial axis of the output) depends on, per axis.

        An axis gives None when no pixel is read.
        """
        index = (0, slice(None), *feature) if self.y.dim() > 1 + len(feature) else (0, *feature)
        with _one_thread():
            (grad,) = torch.autograd.grad(self.y[index].sum(), self.x, retain_graph=True)
        seen = (grad[0] != 0).any(dim=0)
        box = []
        for axis in range(len(self.input_size)):
            other = tuple(d for d in range(len(self.input_size)) if d != axis)
            hits = seen.any(dim=other) if other else seen
            where = torch.nonzero(hits).flatten().tolist()
            box.append((where[0], where[-1]) if where else None)
        return tuple(box)


def measured_box(
    module: nn.Module,
    input_size: Sequence[int],
    feature: Sequence[int],
    *,
    channels: int = 3,
    detach_global: bool = False,
    output: int | str | None = None,
) -> Box:
    """The input box one feature of the module's output depends on, per axis (see :class:`Oracle`)."""
    oracle = Oracle(module, input_size, channels=channels, detach_global=detach_global, output=output)
    return oracle.box(feature)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread: a backward pass per feature is small, and handing each op to a
    second thread cost more than it saved (50 ms per pass on a busy 2-core machine, 0.1 ms alone)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
