"""Write the generated model files; with --check, only report the stale ones.

    python models/generate.py          # rewrite models/*.yaml from models/gen/
    python models/generate.py --check  # exit 1 if any file differs from its generator

Each module in models/gen/ (but net.py) defines ``networks() -> dict[str, str]``:
file stem -> YAML text.
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
        for stem, text in module.networks().items():
            files[HERE / f"{stem}.yaml"] = text
    return files


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
