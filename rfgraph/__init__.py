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
    "load",
    "loads",
    "make_network",
]

# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .effective import erf


def __getattr__(name: str) -> Any:
    # rfgraph.erf needs numpy: imported when first asked for, so that `rfgraph check` starts fast
    if name == "erf":
        from .effective import erf

        globals()["erf"] = erf
        return erf
    msg = f"module 'rfgraph' has no attribute {name!r}"
    raise AttributeError(msg)
