"""rfgraph: exact receptive fields of convolutional networks described as graphs."""

from __future__ import annotations

from .analysis import Analysis, AxisRF, Misalignment, NodeRF, analyze
from .errors import RFGraphError
from .fields import Field
from .network import Layer, Network, make_network
from .spec import load, loads

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
    "erf",
    "from_onnx",
    "from_torch",
    "load",
    "loads",
    "make_network",
]

# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .effective import erf
    from .importers import from_onnx, from_torch

# Imported when first asked for, so that `rfgraph check` starts fast: rfgraph.erf needs numpy; the
# importers need nothing until a model is imported (then torch or onnx).
_LAZY = {"erf": "effective", "from_onnx": "importers", "from_torch": "importers"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    msg = f"module 'rfgraph' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
