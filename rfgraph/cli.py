"""The command line: the only place that prints and picks exit codes.

Exit codes: 0 ok, 1 ``check`` found a misaligned merge, 2 invalid input or usage.
Each command imports what it needs when it runs, so that ``rfgraph check`` starts fast.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
from collections.abc import Callable, Sequence

from . import __version__
from .errors import RFGraphError

# typing is imported for the type checker only: `rfgraph check` starts faster without it
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .importers.writer import NetworkSpec
    from .network import Network


def write_atomically(path: str, text: str | bytes) -> None:
    """Write ``text`` (str as UTF-8, or bytes) to ``path`` so that a reader never sees half of it."""
    import tempfile  # each command imports what it needs: `rfgraph check` starts faster
    from pathlib import Path

    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8") if isinstance(text, str) else text)
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp).chmod(0o666 & ~umask)
        os.replace(tmp, target)  # noqa: PTH105 (the tests stand in for os.replace to make it fail)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _emit(text: str | bytes, output: str | None) -> None:
    if output is None:
        assert isinstance(text, str), "bytes are only ever written to a file"
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except OSError as e:
        msg = f"cannot write: {e.strerror}"
        raise RFGraphError(msg, path=output) from None


def input_size(text: str) -> tuple[int, ...]:
    """``--input-size``: one token, ``224`` for every axis or ``224x160`` one per axis.

    >>> input_size("224"), input_size("224x160"), input_size("8X8X4")
    ((224,), (224, 160), (8, 8, 4))
    """
    if not re.fullmatch(r"\d+([xX]\d+)*", text.strip()):
        msg = f"expected a size such as 224, or one per axis such as 224x160, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    values = tuple(int(v) for v in re.split("[xX]", text.strip()))
    if min(values) < 1:
        msg = f"sizes must be at least 1, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return values


def _select(args: argparse.Namespace, analysis: object) -> list[str] | None:
    from .report import select

    if not (getattr(args, "only", None) or getattr(args, "endpoints", False)):
        return None
    nodes = select(analysis, args.only or (), endpoints=args.endpoints)  # type: ignore[arg-type]
    if not nodes:
        patterns = " ".join(args.only or ())
        msg = f"no node matches --only {patterns}".rstrip() + (" among the end-points" * args.endpoints)
        raise RFGraphError(msg, path=args.file)
    return nodes


def _format(args: argparse.Namespace) -> str:
    """--format, else what the output file's extension implies, else a table."""
    from pathlib import Path

    from .report import EXTENSIONS

    if args.format is not None:
        return str(args.format)
    if args.output is not None:
        return EXTENSIONS.get(Path(args.output).suffix.lower(), "table")
    return "table"


def is_source(text: str) -> bool:
    """Whether ``text`` names a model to import (``model.onnx``, ``package.module:callable``), not YAML.

    >>> is_source("model.onnx"), is_source("torchvision.models:resnet50"), is_source("models/vgg_16.yaml")
    (True, True, False)
    """
    if text.lower().endswith(".onnx"):
        return True
    if re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", text) is None:
        return False
    from pathlib import Path  # only here: `rfgraph check x.yaml` starts without it

    return not Path(text).exists()


def _imported(args: argparse.Namespace, source: str) -> NetworkSpec:
    """Import ``source`` with the command's --input-size, --model-arg and --assume-pointwise.

    The importers, and torch or onnx behind them, load only here.
    """
    import dataclasses

    from .importers.sources import command_line, import_source, parse_model_args
    from .importers.writer import to_network

    size = getattr(args, "input_size", None)
    pointwise = [op for item in args.assume_pointwise or () for op in item.split(",") if op]
    try:
        model_args = parse_model_args(args.model_arg or ())
    except RFGraphError as e:
        raise e.located(source) from None
    spec = import_source(source, input_size=size, model_args=model_args, assume_pointwise=pointwise)
    # the first line of the file `rfgraph import` writes, so that line numbers are that file's
    command = command_line(source, size, args.model_arg or (), pointwise)
    spec = dataclasses.replace(spec, comment=f"generated by: {command}")
    try:
        to_network(spec)  # never write or analyse a file that does not load back
    except RFGraphError as e:
        msg = f"the YAML written for it does not load back (its line {e.line}: {e.message})"
        raise RFGraphError(msg, path=source) from None
    return spec


def _network(args: argparse.Namespace, source: str) -> Network | str:
    """A YAML path as it is; a ``.onnx`` file or ``package.module:callable`` imported."""
    if not is_source(source):
        return source
    from .importers.writer import to_network

    return to_network(_imported(args, source))


def _analyze(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .report import RENDERERS

    analysis = analyze(_network(args, args.file), args.input_size, relative_to=args.relative_to)
    nodes = _select(args, analysis)
    found = None
    if args.erf:
        from .effective import erfs

        found = erfs(analysis, nodes)
    _emit(RENDERERS[_format(args)](analysis, nodes, found), args.output)
    return 0


def _erf(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .analysis import analyze
    from .effective import erf

    analysis = analyze(_network(args, args.file), args.input_size, relative_to=args.relative_to)
    found = erf(analysis, args.node, args.feature or None)
    if args.output is None:
        from .report import erf_table

        sys.stdout.write(erf_table(found))
        return 0
    from .plot import plot_erf

    kind = Path(args.output).suffix.lstrip(".").lower() or "png"
    try:
        image = plot_erf(found, format=kind)
    except RFGraphError as e:
        raise e.located(args.output) from None
    _emit(image, args.output)
    return 0


def _locate(args: argparse.Namespace) -> int:
    import json

    from .analysis import analyze
    from .locate import locate, locate_pixel
    from .report import box_table, range_table

    analysis = analyze(_network(args, args.file), args.input_size, relative_to=args.relative_to)
    if args.pixel is not None and args.feature:
        msg = "give feature indices or --pixel, not both"
        raise RFGraphError(msg, path=args.file)
    if args.pixel is None:
        box = locate(analysis, args.layer, args.feature)
        text = box_table(box) if args.format == "text" else json.dumps(box.to_dict(), indent=2) + "\n"
    else:
        found = locate_pixel(analysis, args.layer, args.pixel)
        text = range_table(found) if args.format == "text" else json.dumps(found.to_dict(), indent=2) + "\n"
    sys.stdout.write(text)
    return 0


def _check(args: argparse.Namespace) -> int:
    from .checks import LINE_RENDERERS, check_paths
    from .checks import to_json as checks_to_json

    def imported(path: str) -> Network | None:
        source = _network(args, path)
        return None if isinstance(source, str) else source

    worst, done = 0, []
    for check in check_paths(args.files, args.input_size, imported=imported):
        worst = max(worst, check.exit_code)
        if args.format in LINE_RENDERERS:  # each file's lines as soon as it is checked
            invalid = args.format == "text" and check.status == "invalid"
            print(LINE_RENDERERS[args.format](check), file=sys.stderr if invalid else sys.stdout, flush=True)
        done.append(check)
    if args.format == "json":
        sys.stdout.write(checks_to_json(done))
    return worst


def _schema(args: argparse.Namespace) -> int:
    from .schema import to_json as schema_to_json

    _emit(schema_to_json(), args.output)
    return 0


def _draw(args: argparse.Namespace) -> int:
    from .analysis import analyze
    from .draw import to_svg

    if args.output is not None and args.output.lower().rsplit(".", 1)[-1] in ("png", "pdf", "jpg", "jpeg"):
        msg = "draw writes SVG: name the file .svg (rfgraph plot draws PNG and PDF)"
        raise RFGraphError(msg, path=args.output)
    analysis = analyze(_network(args, args.file), args.input_size, relative_to=args.relative_to)
    _emit(to_svg(analysis, _select(args, analysis)), args.output)
    return 0


def _plot(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .analysis import analyze
    from .plot import plot_depth

    analyses = [analyze(_network(args, path), args.input_size) for path in args.files]
    kind = Path(args.output).suffix.lstrip(".").lower() or "png"
    try:
        image = plot_depth(analyses, format=kind)
    except RFGraphError as e:
        raise e.located(args.output) from None
    _emit(image, args.output)
    return 0


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .analysis import analyze
    from .html import DEFAULT_SIZE, image_uri, to_html
    from .spec import load

    source = _network(args, args.file)
    network = load(source) if isinstance(source, str) else source
    size = args.input_size or network.input_size or DEFAULT_SIZE
    analysis = analyze(network, size, relative_to=args.relative_to)
    image = None
    if args.image is not None:
        try:
            image = image_uri(Path(args.image).read_bytes())
        except OSError as e:
            msg = f"cannot read the image: {e.strerror}"
            raise RFGraphError(msg, path=args.image) from None
        except RFGraphError as e:
            raise e.located(args.image) from None
    _emit(to_html(analysis, _select(args, analysis), image=image, sizes=_sizes_answer(network)), args.output)
    return 0


def _sizes_answer(network: Network) -> str:
    """What ``rfgraph sizes`` says about the network, for the report (or why it says nothing)."""
    from .sizes import valid_sizes

    try:
        return valid_sizes(network).text()
    except RFGraphError as e:
        return e.message


def _sizes(args: argparse.Namespace) -> int:
    import json

    from .sizes import valid_sizes
    from .spec import load

    if args.input_size is not None and not is_source(args.file):
        msg = "--input-size is the size to trace a SOURCE at; for a YAML file `sizes` answers for every size"
        raise RFGraphError(msg, path=args.file)
    source = _network(args, args.file)
    found = valid_sizes(load(source) if isinstance(source, str) else source)
    sys.stdout.write(found.text() if args.format == "text" else json.dumps(found.to_dict(), indent=2) + "\n")
    return 0


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        action="append",
        metavar="PATTERN",
        help="show only nodes whose name matches PATTERN (fnmatch: *, ?, [..]; repeatable)",
    )
    parser.add_argument(
        "--endpoints",
        action="store_true",
        help="show only end-points: the input, outputs, merges and nodes whose name has no '/' "
        "(hides inner layers such as Mixed_5b/Branch_1/Conv2d_0b_5x5)",
    )


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, as wide as the terminal; argparse's own imports shutil to find out,
    at every start of every command, and `rfgraph check` should start fast."""

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", 0)) or os.get_terminal_size().columns
        except (OSError, ValueError):
            columns = 80
        super().__init__(prog, width=columns - 2)


class _Intermixed(argparse.ArgumentParser):
    """A command's parser: positionals may follow options (``locate net.yaml c2 --input-size 8 0 1``)."""

    _inside = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def,override]
        if self._inside:  # parse_known_intermixed_args calls back here
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def _import(args: argparse.Namespace) -> int:
    from .importers.writer import to_yaml

    if not is_source(args.source):
        msg = "expected a .onnx file or package.module:callable (e.g. torchvision.models:resnet50)"
        raise RFGraphError(msg, path=args.source)
    _emit(to_yaml(_imported(args, args.source)), args.output)
    return 0


#: What a FILE argument takes.
_FILE = "network YAML file, or a model to import: model.onnx or package.module:callable"


def _source_options() -> argparse.ArgumentParser:
    """--model-arg and --assume-pointwise, for every command that takes a model to import."""
    source = _Intermixed(add_help=False)
    source.add_argument(
        "--model-arg",
        action="append",
        metavar="KEY=VALUE",
        help="for a package.module:callable source: a keyword for the callable, VALUE a Python literal "
        "(weights_backbone=None); repeatable",
    )
    source.add_argument(
        "--assume-pointwise",
        action="append",
        metavar="OP,...",
        help="for an imported source: op names (as the unsupported-op error shows them) that keep the "
        "geometry; repeatable",
    )
    return source


def _add_analyze(commands: Any, size: argparse.ArgumentParser) -> None:
    a = commands.add_parser(
        "analyze", parents=[size, _source_options()], help="r, S, P of every node of one network"
    )
    a.add_argument("file", metavar="FILE|SOURCE", help=_FILE)
    a.add_argument("--relative-to", metavar="NODE", help="fields relative to NODE instead of the input")
    a.add_argument(
        "--format",
        choices=["table", "json", "csv", "markdown"],
        help="default: from the -o file's extension (.json, .csv, .md), else table",
    )
    a.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    a.add_argument(
        "--erf",
        action="store_true",
        help="add the effective receptive field of each node's centre feature (feature 0 without a size): "
        "its standard deviation, 95%% width, and that width over r",
    )
    _filters(a)
    a.set_defaults(run=_analyze)


def _add_erf(commands: Any, size: argparse.ArgumentParser) -> None:
    e = commands.add_parser(
        "erf",
        parents=[size, _source_options()],
        help="the effective receptive field of feature I J of NODE: a summary, or with -o its picture",
        description="The effective receptive field of one feature: the weight of each input position when "
        "every kernel averages its window and activations are the identity (Luo et al. 2016, at "
        "initialisation, without the noise of random weights). Without -o, a summary per axis; with -o, "
        "the map with r's box around it (matplotlib: pip install 'rfgraph[draw]').",
    )
    e.add_argument("file", metavar="FILE|SOURCE", help=_FILE)
    e.add_argument("node", help="node name")
    e.add_argument(
        "feature",
        nargs="*",
        type=int,
        metavar="I",
        help="feature index per axis (I J in 2-D); default the centre feature, or 0 without a size",
    )
    e.add_argument("--relative-to", metavar="NODE", help="weights on NODE's map instead of the input")
    e.add_argument("-o", "--output", metavar="FILE", help="draw the map into this image: .png, .svg, .pdf")
    e.set_defaults(run=_erf)


def _add_locate(commands: Any, size: argparse.ArgumentParser) -> None:
    lo = commands.add_parser(
        "locate",
        parents=[size, _source_options()],
        help="the input box feature I J of LAYER reads, or with --pixel the features that see a pixel",
        description="Forward: the input box feature (I, J) of LAYER depends on: first, last and centre "
        "input coordinate per axis and the part in padding; with an input size, the input pixels it really "
        "reads. Inverse (--pixel U V): the features of LAYER whose box contains input pixel (U, V).",
    )
    lo.add_argument("file", metavar="FILE|SOURCE", help=_FILE)
    lo.add_argument("layer", help="node name")
    lo.add_argument("feature", nargs="*", type=int, metavar="I", help="feature index per axis (I J in 2-D)")
    lo.add_argument("--pixel", nargs="+", type=int, metavar="U", help="input pixel per axis (U V in 2-D)")
    lo.add_argument("--relative-to", metavar="NODE", help="coordinates on NODE's map instead of the input")
    lo.add_argument("--format", choices=["text", "json"], default="text")
    lo.set_defaults(run=_locate)


def _add_check(commands: Any, size: argparse.ArgumentParser) -> None:
    c = commands.add_parser(
        "check",
        parents=[size, _source_options()],
        help="exit 1 if a merge of any file is misaligned, 2 if a file is invalid",
    )
    c.add_argument(
        "files",
        nargs="+",
        metavar="PATH",
        help="files, directories (their *.yaml, *.yml), globs, or models to import (model.onnx, "
        "package.module:callable)",
    )
    c.add_argument(
        "--format",
        choices=["text", "github", "json"],
        default="text",
        help="github: Actions annotations; json",
    )
    c.set_defaults(run=_check)


def _add_sizes(commands: Any, size: argparse.ArgumentParser) -> None:
    z = commands.add_parser(
        "sizes",
        parents=[_source_options()],
        help="which input sizes give non-empty maps and aligned merges, per axis, in closed form",
        description="Per axis, exactly which input sizes n give non-empty feature maps and aligned merges: "
        "valid iff (n >= from and n % period in residues) or n in below.",
    )
    z.add_argument("file", metavar="FILE|SOURCE", help=_FILE)
    z.add_argument(
        "--input-size",
        type=input_size,
        metavar="N|HxW",
        help="for a SOURCE: the size to trace it at (default 224; the answer covers every size, but a model "
        "may run at some sizes only); a YAML file takes none",
    )
    z.add_argument("--format", choices=["text", "json"], default="text")
    z.set_defaults(run=_sizes)


def _add_schema(commands: Any, size: argparse.ArgumentParser) -> None:
    s = commands.add_parser("schema", help="print the JSON Schema of the YAML format, for editors")
    s.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    s.set_defaults(run=_schema)


def _add_draw(commands: Any, size: argparse.ArgumentParser) -> None:
    d = commands.add_parser(
        "draw",
        parents=[size, _source_options()],
        help="an SVG picture of the graph, boxes labelled with r, S, P",
    )
    d.add_argument("file", metavar="FILE|SOURCE", help=_FILE)
    d.add_argument("--relative-to", metavar="NODE", help="fields relative to NODE instead of the input")
    d.add_argument("-o", "--output", metavar="FILE", help="write the SVG here (atomically) instead of stdout")
    _filters(d)
    d.set_defaults(run=_draw)


def _add_report(commands: Any, size: argparse.ArgumentParser) -> None:
    rep = commands.add_parser(
        "report",
        parents=[size, _source_options()],
        help="one self-contained HTML page: the graph, every node's r, S, P and ERF, boxes per feature",
        description="Write one HTML file that needs nothing else (no network): the graph (zoom with the "
        "wheel, drag to move), every node's r, S, P, r_min and effective receptive field, the "
        "misalignments, r, the 95% ERF width and S against depth; click a node, then a feature of its map, "
        "to see the input box it reads and its ERF over an input image. The input size is --input-size, "
        "else the file's, else 224. Images only: 1-D and 3-D networks are refused.",
    )
    rep.add_argument("file", metavar="FILE|SOURCE", help=_FILE)
    rep.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    rep.add_argument("--relative-to", metavar="NODE", help="fields relative to NODE instead of the input")
    rep.add_argument(
        "--image",
        metavar="PICTURE",
        help="a PNG, JPEG or GIF file to show under the boxes, scaled to the input size "
        "(default: a checkerboard)",
    )
    _filters(rep)
    rep.set_defaults(run=_report)


def _add_plot(commands: Any, size: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "plot",
        parents=[size, _source_options()],
        help="r and S against depth along the longest path, one line per file",
    )
    p.add_argument("files", nargs="+", metavar="FILE|SOURCE", help="networks to compare: " + _FILE)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="image file: .png, .svg, .pdf")
    p.set_defaults(run=_plot)


def _add_import(commands: Any, size: argparse.ArgumentParser) -> None:
    i = commands.add_parser(
        "import",
        parents=[size, _source_options()],
        help="write the YAML of a PyTorch or ONNX model",
        description="SOURCE is a .onnx file or package.module:callable returning a torch.nn.Module "
        "(e.g. torchvision.models:resnet50), traced with torch.fx at --input-size (default 224). "
        "Nothing is downloaded: a constructor whose defaults fetch weights is refused.",
    )
    i.add_argument("source", help="model.onnx or package.module:callable")
    i.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of stdout")
    i.set_defaults(run=_import)


#: Each command's arguments, added by a small function.
COMMANDS: dict[str, Callable[[Any, argparse.ArgumentParser], None]] = {
    "analyze": _add_analyze,
    "erf": _add_erf,
    "locate": _add_locate,
    "check": _add_check,
    "sizes": _add_sizes,
    "schema": _add_schema,
    "draw": _add_draw,
    "report": _add_report,
    "plot": _add_plot,
    "import": _add_import,
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, only that command's (building every one costs start-up time)."""
    parser = argparse.ArgumentParser(
        prog="rfgraph",
        description="Exact receptive fields of convolutional networks described as graphs.",
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"rfgraph {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Intermixed
    )
    size = _Intermixed(add_help=False)
    size.add_argument(
        "--input-size",
        type=input_size,
        metavar="N|HxW",
        help="input size: 224 for every axis, or one per axis such as 224x160; overrides the file's "
        "(a PyTorch source is traced at it, by default at 224)",
    )
    for name, add in COMMANDS.items():
        if command in (None, name):
            add(commands, size)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # names the terminal cannot show must not crash us
            stream.reconfigure(errors="backslashreplace")
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    from .spec import paused_collector

    try:
        with paused_collector():  # a command's objects live until it exits: full collections only cost
            return int(args.run(args))
    except RFGraphError as e:
        print(e, file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away (`rfgraph ... | head`): stop quietly, as the Python docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
