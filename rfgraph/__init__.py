"""rfgraph: exact receptive fields of convolutional networks described as graphs."""

from typing import TYPE_CHECKING, Any

from .analysis import Analysis, AxisRF, Misalignment, NodeRF, analyze
from .errors import RFGraphError
from .fields import Field
from .network import Layer, Network, make_network
from .spec import load, loads

if TYPE_CHECKING:
    from .importers import from_onnx, from_torch

__version__ = "0.2.0"

__all__ = [
    "Analysis",
    "AxisRF",
    "Field",
    "Layer",
    "Misalignment",
    "Network",
    "NodeRF",
    "RFGraphError",
    "analyze",
    "from_onnx",
    "from_torch",
    "load",
    "loads",
    "make_network",
]

_IMPORTERS = ("from_onnx", "from_torch")


def __getattr__(name: str) -> Any:
    # the importers load when first asked for; torch and onnx only when a model is imported
    if name in _IMPORTERS:
        from . import importers

        return getattr(importers, name)
    msg = f"module 'rfgraph' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_IMPORTERS})
