"""Module and function sizes of a package: the numbers behind "no module over ~400 lines,
no function over ~80" (issue 12).

    python benchmarks/code_size.py [PACKAGE_DIR] [--module-limit 400] [--function-limit 80] [--top 10]

PACKAGE_DIR defaults to ``allocator/`` next to this script.  A module's size is its
physical line count (``wc -l``); a function's is ``end_lineno - lineno + 1`` of its
``def`` (decorators excluded, nested functions counted inside their parent and also on
their own, methods named ``Class.method``).  Prints, for each: the count over the limit
with every one listed, the ``--top`` largest, and the totals.  Reads the source only (no
imports), so it runs on any checkout: ``git worktree add /tmp/before <commit>`` gives the
"before" column.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def module_sizes(root: Path) -> list[tuple[str, int]]:
    """(path relative to root's parent, lines) for every .py file under ``root``."""
    out = []
    for p in sorted(root.rglob("*.py")):
        with open(p, encoding="utf-8") as f:
            out.append((str(p.relative_to(root.parent)), sum(1 for _ in f)))
    return out


def function_sizes(root: Path) -> list[tuple[str, int]]:
    """("module.py:Qualified.name", lines) for every function and method under ``root``."""
    out = []
    for p in sorted(root.rglob("*.py")):
        rel = str(p.relative_to(root.parent))
        tree = ast.parse(p.read_text(encoding="utf-8"), filename=rel)
        _walk(tree, [], rel, out)
    return out


def _walk(node: ast.AST, scope: list[str], rel: str, out: list[tuple[str, int]]) -> None:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = ".".join([*scope, child.name])
            out.append((f"{rel}:{name}", child.end_lineno - child.lineno + 1))
            _walk(child, [*scope, child.name], rel, out)
        elif isinstance(child, ast.ClassDef):
            _walk(child, [*scope, child.name], rel, out)
        else:
            _walk(child, scope, rel, out)


def table(title: str, rows: list[tuple[str, int]], limit: int, top: int) -> str:
    over = sorted((r for r in rows if r[1] > limit), key=lambda r: (-r[1], r[0]))
    largest = sorted(rows, key=lambda r: (-r[1], r[0]))[:top]
    width = max([len(n) for n, _ in over + largest] + [len(title)])
    lines = [f"## {title}: {len(rows)} in all, {sum(n for _, n in rows)} lines; "
             f"{len(over)} over {limit} lines", ""]
    lines += [f"over {limit}:"] + [f"  {n:<{width}}  {k:>5}" for n, k in over] if over else [f"over {limit}: none"]
    lines += ["", f"the {len(largest)} largest:"] + [f"  {n:<{width}}  {k:>5}" for n, k in largest]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("package", nargs="?", type=Path, default=HERE.parent / "allocator")
    ap.add_argument("--module-limit", type=int, default=400)
    ap.add_argument("--function-limit", type=int, default=80)
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args(argv)
    root = args.package.resolve()
    if not root.is_dir():
        print(f"{args.package}: not a directory; give the package folder (e.g. allocator/)", file=sys.stderr)
        return 2
    print(f"# code size of {root}\n")
    print(table("modules", module_sizes(root), args.module_limit, args.top))
    print()
    print(table("functions", function_sizes(root), args.function_limit, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
