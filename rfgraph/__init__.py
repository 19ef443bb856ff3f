"""rfgraph: exact receptive fields of convolutional networks described as graphs."""

from .analysis import Analysis, AxisRF, Misalignment, NodeRF, analyze
from .errors import RFGraphError
from .network import Layer, Network, make_network
from .spec import load, loads

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "AxisRF",
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
