"""What ``rfgraph import SOURCE`` reads: a ``.onnx`` file or ``package.module:callable``.

A callable is called with the ``--model-arg`` keywords (Python literals) and must
return a ``torch.nn.Module``. Nothing is downloaded: an argument whose default
would fetch weights must be given as None, one given pretrained weights is refused
before the call, and a download attempted anyway is an error.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import RFGraphError
from .writer import NetworkSpec

#: Torch input size when none is given (the ONNX door reads the model's).
DEFAULT_SIZE = 224

# Constructor arguments that choose pretrained weights (torchvision, timm, segmentation backbones).
_WEIGHT_ARGS = ("weights", "weights_backbone", "pretrained", "pretrained_backbone")


def is_onnx(source: str) -> bool:
    return source.lower().endswith(".onnx")


def import_source(
    source: str,
    *,
    input_size: Sequence[int] | None = None,
    model_args: Mapping[str, Any] | None = None,
    assume_pointwise: Iterable[str] = (),
) -> NetworkSpec:
    """Import ``source`` (a ``.onnx`` path or ``package.module:callable``) as layer dicts.

    Raises
    ------
    RFGraphError
        A source that cannot be found, imported or called, a constructor that would
        download weights, the importer's own errors. ``path`` is the source.
    """
    size = None if input_size is None else (input_size[0] if len(input_size) == 1 else tuple(input_size))
    try:
        if is_onnx(source):
            if model_args:
                msg = "--model-arg is for package.module:callable sources, not .onnx files"
                raise RFGraphError(msg)
            from .onnx import import_onnx

            _require("onnx")
            return import_onnx(source, input_size=size, assume_pointwise=assume_pointwise)
        from .torch_fx import import_torch

        _require("torch")
        module = build_module(source, model_args or {})
        name = source.rpartition(":")[2].rpartition(".")[2]
        spec = import_torch(module, size or DEFAULT_SIZE, assume_pointwise=assume_pointwise, name=name)
    except RFGraphError as e:
        e.path = source  # the importers locate errors at the class or file: here the user named the source
        raise e from None
    return spec


def command_line(
    source: str,
    input_size: Sequence[int] | None = None,
    model_args: Iterable[str] = (),
    assume_pointwise: Sequence[str] = (),
) -> str:
    """The ``rfgraph import`` command that makes a file, for its first line.

    >>> command_line("torchvision.models:resnet50", [224], ["num_classes=10"])
    'rfgraph import torchvision.models:resnet50 --input-size 224 --model-arg num_classes=10'
    >>> command_line("torchvision.models.video:r3d_18", [16, 112, 112])
    'rfgraph import torchvision.models.video:r3d_18 --input-size 16x112x112'
    """
    words = ["rfgraph import", source]
    words += [f"--input-size {'x'.join(map(str, input_size))}"] if input_size else []
    words += [f"--model-arg {item}" for item in model_args]
    words += [f"--assume-pointwise {','.join(assume_pointwise)}"] if assume_pointwise else []
    return " ".join(words)


def parse_model_args(items: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings as keywords, each VALUE a Python literal (``None``, ``21``, ``'x'``).

    >>> parse_model_args(["weights=None", "num_classes=21", "name='b'"])
    {'weights': None, 'num_classes': 21, 'name': 'b'}
    """
    found: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            msg = f"--model-arg {item!r}: expected KEY=VALUE"
            raise RFGraphError(msg)
        try:
            found[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            msg = f"--model-arg {item!r}: VALUE must be a Python literal (None, 21, 'text', (1, 2))"
            raise RFGraphError(msg) from None
    return found


def build_module(source: str, model_args: Mapping[str, Any]) -> Any:
    """Import and call ``package.module:callable`` with ``model_args``, downloading nothing."""
    import torch

    constructor = _resolve(source)
    _refuse_downloads(constructor, model_args)
    with _no_downloads():
        try:
            with torch.device("meta"):  # no memory, no weight initialisation
                module = constructor(**model_args)
        except RFGraphError:
            raise
        except Exception:  # a constructor that needs real tensors (reads a value, say)
            module = _call(constructor, model_args)
    if not isinstance(module, torch.nn.Module):
        msg = f"the constructor returned {type(module).__name__}, not a torch.nn.Module"
        raise RFGraphError(msg)
    return module.to("meta")  # the import reads shapes only: on the meta device it computes nothing


def _call(constructor: Callable[..., Any], model_args: Mapping[str, Any]) -> Any:
    try:
        return constructor(**model_args)
    except RFGraphError:
        raise
    except Exception as e:  # whatever the user's constructor raises
        msg = f"calling the constructor failed: {type(e).__name__}: {_first_line(e)}"
        raise RFGraphError(msg) from None


def _resolve(source: str) -> Callable[..., Any]:
    path, sep, attribute = source.partition(":")
    if not sep or not path or not attribute:
        msg = "expected a .onnx file or package.module:callable (e.g. torchvision.models:resnet50)"
        raise RFGraphError(msg)
    try:
        target: Any = importlib.import_module(path)
    except ImportError as e:
        msg = f"cannot import {path!r}: {e}"
        raise RFGraphError(msg) from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            msg = f"{path!r} has no attribute {attribute!r}"
            raise RFGraphError(msg)
        target = getattr(target, part)
    if not callable(target):
        msg = f"{attribute!r} in {path!r} is not callable"
        raise RFGraphError(msg)
    return target  # type: ignore[no-any-return]


def _refuse_downloads(constructor: Callable[..., Any], given: Mapping[str, Any]) -> None:
    """Stop before calling a constructor that is given, or defaults to, pretrained weights."""
    for name, value in given.items():
        if name in _WEIGHT_ARGS and value not in (None, False):
            msg = (
                f"--model-arg {name}={value!r} chooses pretrained weights, which would be downloaded; "
                f"rfgraph never downloads (the geometry does not depend on weights): pass {name}=None"
            )
            raise RFGraphError(msg)
    try:
        parameters = inspect.signature(constructor).parameters
    except (TypeError, ValueError):  # builtins and some C extensions have no signature
        return
    for name, p in parameters.items():
        if name in given or name not in _WEIGHT_ARGS or p.default is inspect.Parameter.empty:
            continue
        if p.default not in (None, False):
            msg = (
                f"the constructor downloads pretrained weights by default ({name}={p.default!r}); "
                f"rfgraph never downloads: pass --model-arg {name}=None"
            )
            raise RFGraphError(msg)


@contextmanager
def _no_downloads() -> Iterator[None]:
    """Make torch.hub's downloads raise while the constructor runs."""
    import torch.hub

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        msg = f"the constructor tried to download {url}; rfgraph never downloads: set its weights to None"
        raise RFGraphError(msg)

    # torchvision has its own name for torch.hub's loader (which prints and makes a folder before it fetches)
    modules = [torch.hub, sys.modules.get("torchvision.models._api")]
    names = ("download_url_to_file", "load_state_dict_from_url")
    saved = [(m, name, getattr(m, name)) for m in modules for name in names if hasattr(m, name)]
    for m, name, _ in saved:
        setattr(m, name, refuse)
    try:
        yield
    finally:
        for m, name, function in saved:
            setattr(m, name, function)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else ""


def _require(package: str) -> None:
    try:
        importlib.import_module(package)
    except ImportError:
        msg = f"importing this source needs {package}: pip install 'rfgraph[{package}]'"
        raise RFGraphError(msg) from None
