"""Fresh-process benchmarks time the bytecode an installed allocator runs.

``pip install`` writes each module's compiled ``.pyc`` when it installs (an editable install at
its first import), so a user's `allocator solve` reads bytecode at start.  A checkout run with ``PYTHONDONTWRITEBYTECODE=1``
(set on the development machine) never rewrites the ``.pyc`` of a module edited since it was
last written, so every fresh process compiles those modules again.  Measured in seven
interleaved pairs of fresh processes (2026-12-08, load 0.4): importing what `allocator solve`
loads took 0.27 s median (0.24-0.40) with the bytecode written and 0.33 s (0.31-0.36) with
all 52 of its allocator modules stale.  :func:`compiled` writes it first, as an install does.
"""
from __future__ import annotations

import compileall
from pathlib import Path


def compiled(*roots: Path) -> None:
    """Write the ``__pycache__`` bytecode of each checkout's ``allocator`` package (only
    modules whose source is newer than their ``.pyc``), whatever PYTHONDONTWRITEBYTECODE says."""
    for root in roots:
        compileall.compile_dir(Path(root) / "allocator", quiet=1)
