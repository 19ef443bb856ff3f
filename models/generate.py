"""Write the generated model files and models/README.md; with --check, only report stale ones.

    python models/generate.py          # rewrite models/*.yaml from models/gen/, and the README
    python models/generate.py --check  # exit 1 if any file differs from what this writes

Each module in models/gen/ (but net.py) defines ``networks() -> dict[str, str]``:
file stem -> YAML text. The README's table is computed by rfgraph from the files. A module with
``FOLDER`` writes into that folder, and its ``readme(texts)`` writes the folder's README.md.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def generated() -> dict[Path, str]:
    sys.path.insert(0, str(HERE.parent))
    import models.gen as gen

    files: dict[Path, str] = {}
    for info in sorted(pkgutil.iter_modules(gen.__path__), key=lambda m: m.name):
        if info.name == "net":
            continue
        module = importlib.import_module(f"models.gen.{info.name}")
        folder = HERE / getattr(module, "FOLDER", "")
        texts = module.networks()
        for stem, text in texts.items():
            files[folder / f"{stem}.yaml"] = text
        if hasattr(module, "readme"):
            files[folder / "README.md"] = module.readme(texts)
    files[HERE / "README.md"] = readme({p: t for p, t in files.items() if p.parent == HERE})
    return files


def readme(generated: dict[Path, str]) -> str:
    from rfgraph import analyze, loads

    def rsp(a, node):  # type: ignore[no-untyped-def]
        rf = a[node]
        values = [rf.r, rf.S, rf.P]
        if any(len(set(v)) > 1 for v in values):
            return " / ".join(str(list(v)) for v in values)
        return " / ".join(str(v[0]) for v in values)

    paths = sorted(set(HERE.glob("*.yaml")) | set(generated))
    rows = []
    for path in paths:
        text = generated.get(path) or path.read_text()
        net = loads(text, path=f"models/{path.name}")
        merges = sum(1 for layer in net.layers.values() if layer.spec.merge is not None)
        at = {size: analyze(net, size) for size in (None, 224, 321)}
        (out,) = at[None].outputs
        cells = [
            f"[{path.stem}]({path.name})",
            str(len(net.layers) + 1),
            str(merges),
            f"`{out}`",
            rsp(at[None], out),
            rsp(at[224], out),
            "yes" if at[224].aligned else "**no**",
            rsp(at[321], out),
            "yes" if at[321].aligned else "**no**",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    head = [
        "| network | nodes | merges | end-point | r / S / P | at 224 | aligned at 224 | at 321 "
        "| aligned at 321 |",
        "|---|---:|---:|---|---|---|---|---|---|",
    ]
    return TEMPLATE.format(table="\n".join(head + rows))


TEMPLATE = """# Model zoo

Exact descriptions of the networks analysed by Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks" (Distill, 2019), following their TF-Slim definitions
(tensorflow/models, research/slim/nets/). Layers are named after slim's end-points, and each file ends
at the end-point the paper's table refers to: the last feature map before global pooling or logits.

Generated files come from `gen/` (`python models/generate.py`); this README is written by the same
script and a test fails when either is stale. r / S / P are of the end-point, without an input size
(every "same" layer is assumed to get a size divisible by its stride), at 224x224 and at 321x321.

{table}

## How the numbers are checked

`tests/test_models.py` asserts, for every network, the paper's table (without a size and at 224, both
axes), and every end-point value that google-research/receptive_field publishes in its
`RECEPTIVE_FIELD_TABLE.md` for these TF-Slim networks at no size, 224 and 321
(`tests/data/published_endpoints.csv`: intermediate end-points such as `Conv2d_2b_1x1`, `Mixed_6e` or
`block3` included). Every file must be aligned at every size tested.
"""


def main(argv: list[str]) -> int:
    files = generated()
    stale = [p for p, text in files.items() if not p.exists() or p.read_text() != text]
    if "--check" in argv:
        for p in stale:
            print(f"{p.name} is stale: run python models/generate.py")
        return 1 if stale else 0
    for p in stale:
        p.write_text(files[p])
        print(f"wrote {p.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
