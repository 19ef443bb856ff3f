"""Property-based fuzzing: whatever the input, a result or RFGraphError, never another exception."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfgraph import Layer, RFGraphError, analyze, load, loads, make_network
from rfgraph.ops import OPS
from rfgraph.report import RENDERERS

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    *("name", "input", "dims", "layers", "size", "op", "inputs", "kernel", "stride", "dilation", "padding"),
    *sorted(OPS),
    *("same", "valid", "c1", "c2", "a", "b", "<<", "kernal", ""),
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-3, 12)
    | st.integers()
    | st.floats(allow_nan=True)
    | st.sampled_from(WORDS)
    | st.text(max_size=8)
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=5), children, max_size=6)
    ),
    max_leaves=40,
)


def layer_dicts(names: list[str]) -> st.SearchStrategy[dict[str, object]]:
    number = st.integers(-1, 5) | st.booleans() | st.lists(st.integers(-1, 5), min_size=1, max_size=3)
    return st.fixed_dictionaries(
        {"name": st.sampled_from(names), "op": st.sampled_from([*sorted(OPS), "conv3"])},
        optional={
            "inputs": st.lists(st.sampled_from(["input", *names]), max_size=3),
            "kernel": number,
            "stride": number,
            "dilation": number,
            "padding": number | st.sampled_from(["same", "valid", "SAME", "full"]),
        },
    )


networkish = st.fixed_dictionaries(
    {"layers": st.lists(layer_dicts(["a", "b", "c", "d"]), min_size=1, max_size=6)},
    optional={
        "dims": st.integers(0, 3),
        "input": st.sampled_from(["input", "a"]) | st.fixed_dictionaries({"size": st.integers(0, 40)}),
    },
)


def outcome(text: str) -> None:
    """Load and analyze ``text``: a result, or RFGraphError; anything else fails the test."""
    try:
        net = loads(text, path="fuzz.yaml")
    except RFGraphError as e:
        assert str(e).startswith("fuzz.yaml") and "\n" not in e.message
        return
    for size in (None, 7):
        try:
            a = analyze(net, size)
        except RFGraphError:
            continue
        json.dumps(a.to_dict())
        for render in RENDERERS.values():
            render(a)


@FUZZ
@given(documents)
def test_any_yaml_document(doc):
    outcome(yaml.safe_dump(doc))


@FUZZ
@given(networkish)
def test_network_shaped_documents(doc):
    outcome(yaml.safe_dump(doc, default_flow_style=None))


SEED = yaml.safe_dump(
    {
        "input": {"name": "img", "size": 32},
        "layers": [
            {"name": "a", "op": "conv", "kernel": 3, "stride": 2, "padding": "same"},
            {"name": "b", "op": "pool", "kernel": [2, 3], "inputs": ["img"], "stride": 2, "padding": "same"},
            {"name": "m", "op": "add", "inputs": ["a", "b"]},
        ],
    },
    default_flow_style=None,
)
YAMLISH = "[]{}:,-?&*!|>'\"#%@`<=~ \t\n\r\x00\ufeff0123abc"


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = SEED
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        insert = draw(
            st.text(alphabet=YAMLISH, max_size=6) | st.sampled_from(["*x", "&x", "<<: *x", "\n  - "])
        )
        text = text[:i] + insert + text[j:]
    return text


@FUZZ
@given(mutated())
def test_mutated_text(text):
    outcome(text)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_from_a_file(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "net.yaml"
    path.write_bytes(data)
    try:
        net = load(path)
    except RFGraphError as e:
        assert e.path == str(path)
        return
    analyze(net)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_text(data):
    outcome(data.decode("utf-8", errors="replace"))


@st.composite
def random_dags(draw: st.DrawFn) -> tuple[list[Layer], int, tuple[int, ...] | None]:
    dims = draw(st.integers(1, 3))
    axis = st.integers(1, 4)
    names: list[str] = ["input"]
    layers = []
    for i in range(draw(st.integers(1, 12))):
        op = draw(st.sampled_from(["conv", "pool", "pad", "relu", "add", "concat", "mul"]))
        if OPS[op].kind == "merge":
            inputs = tuple(draw(st.lists(st.sampled_from(names), min_size=2, max_size=3)))
        else:
            inputs = (draw(st.sampled_from(names)),)
        per_axis = st.tuples(*[axis] * dims)
        kernel, stride, dilation = (
            (draw(per_axis) for _ in range(3)) if op in ("conv", "pool") else ((1,) * dims,) * 3
        )
        if op == "pad":
            padding = tuple(draw(st.tuples(st.integers(-2, 3), st.integers(-2, 3))) for _ in range(dims))
        elif op in ("conv", "pool"):
            pads = st.sampled_from(["same", "valid"]) | st.tuples(st.integers(0, 3), st.integers(0, 3))
            padding = tuple(draw(pads) for _ in range(dims))
        else:
            padding = ((0, 0),) * dims
        name = f"n{i} ✓" if i % 3 else f"n{i}"
        layers.append(Layer(name, op, inputs, kernel, stride, dilation, padding))
        names.append(name)
    size = draw(st.none() | st.tuples(*[st.integers(1, 64)] * dims))
    return layers, dims, size


@FUZZ
@given(random_dags(), st.data())
def test_valid_random_dags_never_crash(dag, data):
    layers, dims, size = dag
    net = make_network(layers, dims=dims)
    relative_to = data.draw(st.none() | st.sampled_from(list(net.nodes)))
    try:
        a = analyze(net, size, relative_to=relative_to)
    except RFGraphError as e:
        # only an input size can make a valid DAG fail: an empty map or merged maps of different sizes
        assert size is not None and ("empty" in e.message or "different sizes" in e.message)
        return
    assert list(a) == [a.source, *(v for v in net.nodes if v in a.nodes and v != a.source)]
    for rf in a.nodes.values():
        for axis in rf.axes:
            assert axis.r is None or (isinstance(axis.r, int) and axis.r >= 1 and axis.r_min <= axis.r)
    assert json.dumps(a.to_dict()) == json.dumps(analyze(net, size, relative_to=relative_to).to_dict())
    for render in RENDERERS.values():
        render(a)
