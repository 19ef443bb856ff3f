"""Property-based fuzzing: whatever the input, a result or RFGraphError, never another exception."""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from randomnets import random_networks

from rfgraph import RFGraphError, analyze, load, loads
from rfgraph.locate import locate
from rfgraph.ops import OPS
from rfgraph.report import RENDERERS
from rfgraph.spec import LAYER_KEYS, TOP_KEYS

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    *TOP_KEYS,
    *LAYER_KEYS,
    "size",
    *sorted(OPS),
    *("same", "same_lower", "valid", "nearest", "bilinear", "centre", "end", "none", "3/2"),
    *("c1", "c2", "a", "b", "<<", "kernal", ""),
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
    value = number | st.sampled_from([*WORDS, 1.5, "3/2", 0.5, [1, "same"], [[1, 0]]])
    params = {key: value for key in LAYER_KEYS if key not in ("name", "op", "inputs")}
    return st.fixed_dictionaries(
        {"name": st.sampled_from(names), "op": st.sampled_from([*sorted(OPS), "conv3"])},
        optional={"inputs": st.lists(st.sampled_from(["input", *names]), max_size=3), **params},
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
            render(a, None)
        for v in a.nodes:  # the exact boxes of the first feature of every node
            locate(a, v, (0,) * net.dims)


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


@FUZZ
@given(random_networks(max_layers=12, dims=(1, 2, 3), unicode=True, sizes=(1, 64)), st.data())
def test_valid_random_dags_never_crash(case, data):
    text, size = case
    net = loads(text)
    relative_to = data.draw(st.none() | st.sampled_from(list(net.nodes)))
    try:
        a = analyze(net, size, relative_to=relative_to)
    except RFGraphError as e:
        # only an input size can make a valid DAG fail: an empty map, merged maps of different sizes,
        # a size a pixel_unshuffle cannot divide, a crop to a larger map's size
        words = ("empty", "different sizes", "divisible", "to the larger size")
        assert size is not None and any(w in e.message for w in words)
        return
    assert list(a) == [a.source, *(v for v in net.nodes if v in a.nodes and v != a.source)]
    for rf in a.nodes.values():
        for axis in rf.axes:
            assert axis.r is None or (isinstance(axis.r, int) and axis.r >= 1)
            assert axis.r is None or axis.r_min is None or axis.r_min <= axis.r
    assert json.dumps(a.to_dict()) == json.dumps(analyze(net, size, relative_to=relative_to).to_dict())
    for render in RENDERERS.values():
        render(a, None)
