"""rfgraph: exact receptive fields of convolutional networks described as graphs."""

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
    "load",
    "loads",
    "make_network",
]
