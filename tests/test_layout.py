"""The package's folders are the pipeline's stages: no module imports a later stage."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "allocator"
# base modules (errors, status, paths, percent) come first; front ends (api, the season update, cli, web, batch) last
ORDER = {"errors": 0, "status": 0, "paths": 0, "interrupts": 0, "percent": 0, "_entry": 9, "__main__": 9, "inputs": 1, "model": 2, "optim": 3, "verification": 4,
         "studies": 5, "output": 6, "api": 7, "season": 7, "cli": 8, "web": 8, "batch": 8}


def _stage(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "allocator" else None


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "allocator":
                yield from (f"allocator.{a.name}" for a in node.names)
            else:
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


MODULES = sorted(p for p in PKG.rglob("*.py") if p.relative_to(PKG).parts[0].removesuffix(".py") in ORDER)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_stage_imports_a_later_one(path):
    here = path.relative_to(PKG).parts[0].removesuffix(".py")
    later = [m for m in _imports(path) if _stage(m) in ORDER and ORDER[_stage(m)] > ORDER[here]]
    assert later == [], f"{path.relative_to(PKG)} ({here}) imports later stages: {later}"


def test_every_top_level_entry_has_a_stage():
    entries = {p.name.removesuffix(".py") for p in PKG.iterdir() if p.name != "__init__.py"
               and (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert entries - set(ORDER) == set()
