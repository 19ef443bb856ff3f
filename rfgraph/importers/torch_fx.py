"""PyTorch module -> Network, by torch.fx tracing and one run at the input size.

Names are torchvision's (``torchvision.models.feature_extraction``): a node is
named by the path of the module it runs in, then its op (``layer1.0.add``), a
module call by the module's path (``features.3``), and a repeat in the same
scope gets ``_1``, ``_2``... The input keeps the traced argument's name (``x``).
torchvision keeps ``torchvision.ops`` modules (``Conv2dNormActivation``,
``SqueezeExcitation``...) whole; rfgraph traces through them, names what is
inside ``<leaf>.<path>`` and gives the leaf's output the leaf's name.

One run on a zero input at ``input_size`` gives every tensor's shape, from which
:mod:`.torch_ops` tells what each op is.
"""

from __future__ import annotations

import copy
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import RFGraphError
from ..network import Network
from .torch_ops import Tensor, describe_graph, leaf_output
from .writer import NetworkSpec, to_network

if TYPE_CHECKING:
    import torch
    from torch import fx

_BATCH = 2  # not 1: a batch dim of size 1 could not be told from others when reshaping


def from_torch(
    module: torch.nn.Module,
    input_size: int | Sequence[int],
    *,
    assume_pointwise: Iterable[str] = (),
    in_channels: int | None = None,
    name: str | None = None,
) -> Network:
    """Trace ``module`` with torch.fx and describe it as a Network.

    Parameters
    ----------
    module
        Any ``torch.nn.Module`` that torch.fx can trace, with one tensor input.
        It runs once at ``input_size`` for the shapes; built on the meta device
        (``with torch.device("meta"): ...``) it computes nothing and needs no
        memory for weights (an op without a meta kernel runs on the CPU then).
    input_size
        The spatial size to trace at: one int for every axis, or one per axis.
        The file records it; ops that depend on it (adaptive pools, resizes to a
        fixed size) are exact at this size.
    assume_pointwise
        Op names (module class, function or method names, as the error for an
        unknown op shows them) to treat as keeping the geometry.
    in_channels
        Channels of the input; by default those of the first conv or linear
        module the forward calls (3 when it calls none).
    name
        The network's name; by default the module's class name.

    Returns
    -------
    Network
        The network :func:`rfgraph.loads` reads from :func:`import_torch`'s text.

    Raises
    ------
    RFGraphError
        The module does not trace or run, or has ops the importer does not know
        (one error listing all of them, with their node names).
    """
    spec = import_torch(
        module, input_size, assume_pointwise=assume_pointwise, in_channels=in_channels, name=name
    )
    return to_network(spec)


def import_torch(
    module: torch.nn.Module,
    input_size: int | Sequence[int],
    *,
    assume_pointwise: Iterable[str] = (),
    in_channels: int | None = None,
    name: str | None = None,
) -> NetworkSpec:
    """The layers of ``module`` as plain dicts, ready for :func:`~rfgraph.importers.to_yaml`.

    The parameters are :func:`from_torch`'s; errors are located at ``name`` (the class name).
    """
    name = name or type(module).__name__
    try:
        return _import_torch(module, input_size, frozenset(assume_pointwise), in_channels, name)
    except RFGraphError as e:
        raise e.located(name) from None


def _import_torch(
    module: torch.nn.Module,
    input_size: int | Sequence[int],
    assume_pointwise: frozenset[str],
    in_channels: int | None,
    name: str,
) -> NetworkSpec:
    import torch

    was_training = module.training
    module.eval()
    try:
        gm, names = _trace(module)
        inputs = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            msg = f"the module must take exactly one tensor input, its forward takes {len(inputs)}"
            raise RFGraphError(msg)
        called = [gm.get_submodule(str(n.target)) for n in gm.graph.nodes if n.op == "call_module"]
        if type(module).__module__.startswith("torch.nn."):  # a bare nn.Conv2d is traced through
            called.insert(0, module)
        dims, size = _input_size(called, input_size)
        channels = in_channels or _in_channels(called)
        x = torch.zeros(_BATCH, channels or 3, *size, dtype=_dtype(module), device=_device(module))
        try:
            values = _run(gm, x, names)
        except RFGraphError as e:
            if channels:
                raise
            msg = (
                f"{e.message} (no conv or linear module tells the input's channels and 3 were tried: "
                "give them, from_torch(..., in_channels=N))"
            )
            raise RFGraphError(msg) from None
    finally:
        module.train(was_training)
    input_name, layers = describe_graph(gm, names, values, dims, assume_pointwise)
    return NetworkSpec(name, input_name, dims, layers, size)


def _input_size(
    called: Sequence[torch.nn.Module], input_size: int | Sequence[int]
) -> tuple[int, tuple[int, ...]]:
    if isinstance(input_size, int):
        dims = _spatial_dims(called)
        size = (input_size,) * dims
    else:
        size = tuple(input_size)
        dims = len(size)
    if not size or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in size):
        msg = f"input size must be positive integers, got {input_size!r}"
        raise RFGraphError(msg)
    return dims, size


def _spatial_dims(called: Sequence[torch.nn.Module]) -> int:
    """The number of spatial axes of the first conv, pool or norm run that says (``Conv3d``: 3)."""
    for m in called:
        found = _DIMS_IN_NAME.fullmatch(type(m).__name__)
        if found:
            return int(found[1])
    return 2


_DIMS_IN_NAME = re.compile(r"(?:Conv|ConvTranspose|MaxPool|AvgPool|BatchNorm|InstanceNorm)([123])d")


def _in_channels(called: Sequence[torch.nn.Module]) -> int | None:
    """The input channels of the first conv or linear run (in the traced graph's order)."""
    for m in called:
        for key in ("in_channels", "in_features"):
            if isinstance(getattr(m, key, None), int):
                return int(getattr(m, key))
    return None


def _device(module: torch.nn.Module) -> torch.device:
    import torch

    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device("cpu")


def _dtype(module: torch.nn.Module) -> torch.dtype:
    import torch

    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


# ----------------------------------------------------------------------------- names


_COUNTER = re.compile(r".+_[0-9]+")
_SUFFIXED = re.compile(r"(.*)_([0-9]+)")


class _Names:
    """Hands out torchvision's node names.

    torchvision drops fx's global ``_N`` from a name and counts repeats among the
    names it gave before: ``add`` then ``add_1`` in one block, ``add`` again in the
    next. Names of what is inside a torchvision leaf are not in torchvision's list:
    they are counted among all names, and never change the count of the others.
    """

    def __init__(self) -> None:
        self._tv: tuple[dict[str, int], dict[str, tuple[int, int]]] = ({}, {})
        self._all: tuple[dict[str, int], dict[str, tuple[int, int]]] = ({}, {})
        self._position = 0

    def give(self, base: str, inside_leaf: bool) -> str:
        if _COUNTER.fullmatch(base):
            base = base.rsplit("_", 1)[0]
        exact, suffixed = self._all if inside_leaf else self._tv
        last = exact.get(base, -1)
        position, count = suffixed.get(base, (-1, 0))
        if last < 0 and position < 0:
            name = base
        else:
            name = f"{base}_{count + 1 if position > last else 1}"
        for registry in (self._all,) if inside_leaf else (self._all, self._tv):
            self._add(registry, name)
        self._position += 1
        return name

    def _add(self, registry: tuple[dict[str, int], dict[str, tuple[int, int]]], name: str) -> None:
        exact, suffixed = registry
        exact[name] = self._position
        m = _SUFFIXED.fullmatch(name)
        if m:
            suffixed[m[1]] = (self._position, int(m[2]))


def _trace(module: torch.nn.Module) -> tuple[fx.GraphModule, dict[fx.Node, str]]:
    import torch
    from torch import fx

    ops = sys.modules.get("torchvision.ops")  # loaded whenever the model uses torchvision
    leaves: tuple[type, ...] = ()
    autowrap: tuple[Any, ...] = (math,)
    if ops is not None:
        leaves = tuple(
            v for v in vars(ops).values() if isinstance(v, type) and issubclass(v, torch.nn.Module)
        )
        autowrap = (math, ops)

    class Tracer(fx.Tracer):
        def __init__(self) -> None:
            super().__init__(autowrap_modules=autowrap)
            self.where = ""
            self.depth = 0  # how many torchvision leaves we are inside
            self.names: dict[fx.Node, str] = {}
            self.order: dict[fx.Node, int] = {}
            self.namer = _Names()

        def call_module(
            self,
            m: torch.nn.Module,
            forward: Callable[..., Any],
            args: tuple[Any, ...],
            kwargs: dict[str, Any],
        ) -> Any:
            outer = self.where
            path = self.path_of_module(m)
            self.where = path
            try:
                if isinstance(m, leaves):
                    return self.through_leaf(path, forward, args, kwargs)
                if not self.is_leaf_module(m, path):
                    return forward(*args, **kwargs)
                return self.create_proxy("call_module", path, args, kwargs)
            finally:
                self.where = outer

        def through_leaf(
            self, path: str, forward: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any:
            name = self.namer.give(path, self.depth > 0)
            start = len(self.order)
            self.depth += 1
            try:
                out = forward(*args, **kwargs)
                if isinstance(out, fx.Proxy) and self.order.get(out.node, -1) < start:
                    out = self.create_proxy("call_function", leaf_output, (out,), {})
            finally:
                self.depth -= 1
            if isinstance(out, fx.Proxy):
                self.names[out.node] = name
            return out

        def create_proxy(
            self, kind: str, target: Any, args: Any, kwargs: Any, *rest: Any, **options: Any
        ) -> fx.Proxy:
            proxy = super().create_proxy(kind, target, args, kwargs, *rest, **options)
            base = self.where
            if kind != "call_module":
                base = f"{self.where}.{proxy.node.name}" if self.where else proxy.node.name
            self.names[proxy.node] = self.namer.give(base, self.depth > 0)
            self.order[proxy.node] = len(self.order)
            return proxy

    tracer = Tracer()
    try:
        graph = tracer.trace(module)
    except RFGraphError:
        raise
    except Exception as e:  # torch.fx raises many kinds; all mean "does not trace"
        msg = f"torch.fx cannot trace {type(module).__name__}: {type(e).__name__}: {_first_line(e)}"
        raise RFGraphError(msg) from None
    return fx.GraphModule(tracer.root, graph, type(module).__name__), tracer.names


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else ""


class _NodeError(Exception):
    """A node of the run raised ``error``."""

    def __init__(self, node: fx.Node, error: Exception) -> None:
        super().__init__(node, error)
        self.node, self.error = node, error


def _run(gm: fx.GraphModule, x: torch.Tensor, names: dict[fx.Node, str]) -> dict[fx.Node, Any]:
    """What every node gives in one run on ``x`` (shapes only); on the meta device nothing is computed."""
    import torch

    try:
        return _record(gm, x)
    except _NodeError as failed:
        error = failed
        if x.device.type == "meta":  # an op without a meta kernel: run a copy on the CPU instead
            cpu = copy.deepcopy(gm).to_empty(device="cpu")  # only shapes are read: values do not matter
            original = dict(zip(cpu.graph.nodes, gm.graph.nodes, strict=True))
            try:
                found = _record(cpu, torch.zeros(x.shape, dtype=x.dtype))
            except _NodeError as again:
                error = _NodeError(original[again.node], again.error)
            else:
                return {original[c]: value for c, value in found.items()}
    where = names.get(error.node, error.node.name)
    msg = f"running {gm.__class__.__name__} on a {tuple(x.shape)} input failed at {where!r}: "
    raise RFGraphError(msg + _first_line(error.error)) from None


def _record(gm: fx.GraphModule, x: torch.Tensor) -> dict[fx.Node, Any]:
    import torch
    from torch import fx

    seen: dict[fx.Node, Any] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            try:
                result = super().run_node(n)
            except Exception as e:  # whatever the model's ops raise (a map too small for a kernel...)
                raise _NodeError(n, e) from None
            seen[n] = _summary(result)
            return result

    with torch.no_grad():
        Recorder(gm).run(x)
    return seen


def _summary(value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return Tensor(tuple(int(n) for n in value.shape))
    if isinstance(value, torch.Size):
        return tuple(int(n) for n in value)
    if isinstance(value, list | tuple):
        return tuple(_summary(v) for v in value)
    if isinstance(value, dict):
        return {k: _summary(v) for k, v in value.items()}
    return value
