"""Dependencies point one way: the bundler's subpackages are layers (``bundler.LAYERS``) and a module imports only
from its own subpackage or a lower layer; the scoring program imports only the standard library, numpy, Pillow and
itself; neither imports torch or the baselines. Every import is read with ``ast``, a function's own ones too."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Iterator, List, Tuple

from bundler import LAYERS
from tests.helpers import REPO

SCORING_MAY_IMPORT = set(sys.stdlib_module_names) | {"numpy", "PIL", "scoring"}
HEAVY = {"torch", "torchvision", "av", "baselines"}


def imports(path: Path, root: Path) -> Iterator[Tuple[int, str]]:
    """(line, module) of every import in ``path`` (a module of the package tree below ``root``), relative ones
    resolved; ``from package import module`` gives ``package.module``."""
    package = list(path.relative_to(root).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[:len(package) - node.level + 1] if node.level else [])
            module = ".".join(part for part in (base, node.module or "") if part)
            yield from ((node.lineno, f"{module}.{alias.name}") for alias in node.names)


def modules(folder: Path) -> List[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


def layer_problems(root: Path) -> List[str]:
    """``file:line: ...`` for every import in ``root/bundler`` that goes sideways or up, or from a subpackage no layer
    names."""
    rank = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    order = " < ".join(", ".join(layer) for layer in LAYERS)
    problems = []
    for path in modules(root / "bundler"):
        parts = path.relative_to(root / "bundler").with_suffix("").parts
        own = parts[0]
        if own == "__init__":
            continue
        if own not in rank:
            problems.append(f"{path.relative_to(root)}: bundler/{own} is in no layer; add it to bundler.LAYERS")
            continue
        for line, module in imports(path, root):
            target = module.split(".")[1] if module.startswith("bundler.") else None
            if target is not None and target != own and rank.get(target, len(LAYERS)) >= rank[own]:
                problems.append(f"{path.relative_to(root)}:{line}: {own} imports {module}, not below it ({order})")
    return problems


def test_every_bundler_import_goes_down_a_layer_or_stays_in_its_subpackage():
    assert layer_problems(REPO) == []


def test_an_import_sideways_or_up_is_named_with_its_file_and_line(tmp_path):
    for name, text in {"ground/zips.py": "import io\n", "config/competition.py": "from bundler.ground import zips\n",
                       "pages/render.py": "from bundler.config.competition import REPO\n\n"
                                          "def f():\n    from bundler.data import engine\n",
                       "data/engine.py": "from ..bundles import build\n", "odd/x.py": ""}.items():
        (tmp_path / "bundler" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "bundler" / name).write_text(text)
    order = " < ".join(", ".join(layer) for layer in LAYERS)
    assert layer_problems(tmp_path) == [
        f"bundler/data/engine.py:1: data imports bundler.bundles.build, not below it ({order})",
        "bundler/odd/x.py: bundler/odd is in no layer; add it to bundler.LAYERS",
        f"bundler/pages/render.py:4: pages imports bundler.data.engine, not below it ({order})",
    ]


def test_the_scoring_program_imports_only_the_standard_library_numpy_pillow_and_itself():
    found = [f"{path.relative_to(REPO)}:{line}: {module}" for path in modules(REPO / "scoring")
             for line, module in imports(path, REPO) if module.split(".")[0] not in SCORING_MAY_IMPORT]
    assert found == []


def test_scoring_and_bundler_never_import_torch_torchvision_av_or_the_baselines():
    found = [f"{path.relative_to(REPO)}:{line}: {module}" for folder in ("scoring", "bundler")
             for path in modules(REPO / folder) for line, module in imports(path, REPO)
             if module.split(".")[0] in HEAVY]
    assert found == []
