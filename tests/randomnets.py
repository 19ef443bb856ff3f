"""Random networks with every op, for cross-checking the one pass against the brute force."""

from __future__ import annotations

import random

import yaml
from hypothesis import strategies as st

MERGES = ["add", "mul", "concat"]
# ops that make fields repeat with a period (the brute force looks for periods up to 32)
PERIODIC = {"upsample", "transposed_conv", "pixel_shuffle", "resize", "adaptive_pool"}


@st.composite
def random_networks(
    draw,
    *,
    max_layers: int = 7,
    chains: bool = False,
    sizes: tuple[int, int] = (6, 30),
    dims: tuple[int, ...] = (1, 2),
    unicode: bool = False,
    without: tuple[str, ...] = (),
):
    """(YAML text, input size or None) of a random DAG; ``chains``: each layer mostly reads the last two."""
    dims = draw(st.sampled_from(dims))
    names = ["input"]
    layers = []
    periodic = 0
    align = draw(st.sampled_from([None, "centre", "start", "end"]))

    def at(value, i):
        return value[i] if isinstance(value, list) else value

    def axis_values(values):
        per_axis = draw(st.lists(values, min_size=dims, max_size=dims))
        same = len(set(map(str, per_axis))) == 1 and not isinstance(per_axis[0], list)
        return per_axis[0] if same and draw(st.booleans()) else per_axis

    for i in range(draw(st.integers(1, max_layers))):
        ops = [
            "conv",
            "conv",
            "pool",
            "pad",
            "crop",
            "relu",
            *MERGES,
            "global_pool",
            "fc",
            "global",
        ]
        ops += ["pixel_unshuffle", "crop"]  # crops and resizes twice: their size_of forms are rarer
        if periodic < 2:
            ops += [*sorted(PERIODIC), "resize"]
        op = draw(st.sampled_from([o for o in ops if o not in without]))
        periodic += op in PERIODIC
        layer: dict = {"name": f"n{i} ✓" if unicode and i % 3 else f"n{i}", "op": op}
        pool = names[-2:] if chains else names
        if op in MERGES:
            layer["inputs"] = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=3))
            if draw(st.booleans()):
                layer["align"] = draw(st.sampled_from(["centre", "start", "end", "none"]))
        else:
            layer["inputs"] = [draw(st.sampled_from(pool))]
        if op in ("conv", "pool"):
            layer["kernel"] = axis_values(st.integers(1, 4))
            layer["stride"] = axis_values(st.integers(1, 3))
            layer["dilation"] = axis_values(st.integers(1, 3))
            pads = st.one_of(
                st.sampled_from(["same", "same_lower", "valid"]),
                st.integers(0, 2),
                st.lists(st.integers(0, 2), min_size=2, max_size=2),
            )
            layer["padding"] = axis_values(pads)
            if op == "pool" and draw(st.booleans()):
                layer["ceil_mode"] = True
        elif op == "pad":
            layer["padding"] = axis_values(st.lists(st.integers(-1, 2), min_size=2, max_size=2))
        elif op == "crop":
            if draw(st.booleans()):
                layer["crop"] = axis_values(st.lists(st.integers(0, 1), min_size=2, max_size=2))
            else:  # U-Net's crop-and-concat: centred to another map's size (an error if that is larger)
                layer["size_of"] = draw(st.sampled_from(names))
        elif op == "transposed_conv":
            layer["kernel"] = axis_values(st.integers(1, 4))
            layer["stride"] = axis_values(st.integers(1, 3))
            layer["dilation"] = axis_values(st.integers(1, 2))
            layer["padding"] = axis_values(st.lists(st.integers(0, 2), min_size=2, max_size=2))
            # PyTorch's rule: below the stride or the dilation
            room = [max(at(layer["stride"], i), at(layer["dilation"], i)) - 1 for i in range(dims)]
            layer["output_padding"] = [draw(st.integers(0, min(1, r))) for r in room]
        elif op == "upsample":
            layer["factor"] = axis_values(st.integers(1, 3))
            layer["mode"] = draw(
                st.sampled_from(["nearest", "bilinear", "bilinear", "bicubic", "nearest_exact"])
            )
        elif op == "resize":
            to = draw(st.sampled_from(["factor", "size", "size_of"]))
            if to == "factor":
                layer["factor"] = draw(st.sampled_from([2, "3/2", 0.5]))
            elif to == "size":
                layer["size"] = axis_values(st.integers(1, 8))
            else:  # FPN's F.interpolate(x, size=lateral.shape[-2:])
                layer["size_of"] = draw(st.sampled_from(names))
            layer["mode"] = draw(st.sampled_from(["nearest", "bilinear", "bilinear"]))
        elif op in ("pixel_shuffle", "pixel_unshuffle"):
            layer["factor"] = axis_values(st.integers(1, 2))
        elif op == "adaptive_pool":
            layer["output_size"] = axis_values(st.integers(1, 4))
        if op in ("upsample", "resize") and layer["mode"] == "bilinear" and draw(st.booleans()):
            layer["align_corners"] = True  # corner to corner: exact with an input size, null without
        layers.append(layer)
        names.append(layer["name"])
    # the file order is free: shuffle it (inputs are explicit, so meaning is kept)
    random.Random(draw(st.integers(0, 10**6))).shuffle(layers)
    size = draw(st.one_of(st.none(), st.integers(*sizes)))
    doc: dict = {"dims": dims}
    if align is not None:
        doc["align"] = align
    doc["layers"] = layers
    return yaml.safe_dump(doc, sort_keys=False), size
