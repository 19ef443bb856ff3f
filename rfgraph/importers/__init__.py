"""Framework models -> Network: PyTorch (torch.fx) and ONNX.

A leaf of the package: the core never imports it, and torch / onnx are only
imported inside the functions that need them. Both doors build the layers as
plain dicts and write them through :func:`to_yaml`, so the Network they return
is the one the YAML text describes.
"""

from .onnx import from_onnx, import_onnx
from .torch_fx import from_torch, import_torch
from .writer import NetworkSpec, to_network, to_yaml

__all__ = ["NetworkSpec", "from_onnx", "from_torch", "import_onnx", "import_torch", "to_network", "to_yaml"]
