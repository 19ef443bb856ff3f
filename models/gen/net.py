"""A tiny builder that writes rfgraph YAML, one flow-style line per layer."""

from __future__ import annotations


def _value(v: object) -> str:
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


class Net:
    """Collects layers in order and renders them as rfgraph YAML.

    ``layer`` returns the layer's name, so branches read as data flow:
    ``x = net.layer("Conv2d_1a_3x3", "conv", kernel=3, stride=2)``.
    A layer without ``inputs`` takes the previous layer, as in the YAML format.
    """

    def __init__(
        self,
        name: str,
        header: str,
        input_name: str = "input",
        *,
        input_size: int | None = None,
        dims: int | None = None,
        align: str | None = None,
    ) -> None:
        self.name = name
        self.header = header
        self.input_name = input_name
        self.input_size = input_size
        self.dims = dims
        self.align = align
        self.lines: list[str] = []

    def layer(self, name: str, op: str, inputs: list[str] | None = None, **params: object) -> str:
        fields = [f"name: {name}", f"op: {op}"]
        fields += [f"{key}: {_value(v)}" for key, v in params.items() if v is not None]
        if inputs is not None:
            fields.append(f"inputs: {_value(inputs)}")
        self.lines.append("  - {" + ", ".join(fields) + "}")
        return name

    def comment(self, text: str) -> None:
        self.lines.append(f"  # {text}")

    def yaml(self) -> str:
        lines = [line.strip() for line in self.header.strip().splitlines()]
        head = "".join(f"# {line}\n".replace("# \n", "#\n") for line in lines)
        top = f"name: {self.name}\n"
        if self.input_size is None:
            top += f"input: {self.input_name}\n"
        else:
            top += f"input: {{name: {self.input_name}, size: {self.input_size}}}\n"
        top += "" if self.dims is None else f"dims: {self.dims}\n"
        top += "" if self.align is None else f"align: {self.align}\n"
        return f"{head}{top}layers:\n" + "\n".join(self.lines) + "\n"


class Slim:
    """The few TF-Slim calls the Inception nets use, each writing one layer into a Net.

    Defaults are those of the arg_scope that wraps their sections: stride 1, SAME.
    """

    def __init__(self, net: Net) -> None:
        self.net = net

    def _window(self, op: str, x: str, kernel: object, scope: str, stride: int, padding: str) -> str:
        stride_ = stride if stride != 1 else None
        return self.net.layer(scope, op, [x], kernel=kernel, stride=stride_, padding=padding)

    def conv2d(self, x: str, kernel: object, scope: str, stride: int = 1, padding: str = "same") -> str:
        return self._window("conv", x, kernel, scope, stride, padding)

    def max_pool2d(self, x: str, kernel: object, scope: str, stride: int = 1, padding: str = "same") -> str:
        return self._window("pool", x, kernel, scope, stride, padding)

    def avg_pool2d(self, x: str, kernel: object, scope: str, stride: int = 1, padding: str = "same") -> str:
        return self._window("pool", x, kernel, scope, stride, padding)

    def concat(self, scope: str, values: list[str]) -> str:
        return self.net.layer(scope, "concat", values)

    def add(self, scope: str, values: list[str]) -> str:
        return self.net.layer(scope, "add", values)
