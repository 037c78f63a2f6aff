"""Where the shipped data (``data/``) and model cards (``models/``) live.

In a source checkout (``pip install -e .``) they are the repository's folders; in a wheel
they are packaged as ``allocator/_data`` and ``allocator/_models``.
"""
from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _first_existing(*candidates: Path) -> Path:
    for c in candidates:
        if c.is_dir():
            return c
    return candidates[0]


DATA_DIR = _first_existing(_PKG / "_data", _PKG.parent / "data")
MODELS_DIR = _first_existing(_PKG / "_models", _PKG.parent / "models")


def shipped(path):
    """``path`` itself when it exists (relative to the working directory), else the shipped
    file it names when it starts with ``data/`` or ``models/`` (the README's examples, e.g.
    ``data/profiles/typical_us_img.toml``, run from any directory); else ``path`` unchanged
    (the caller's "no such file" error names it).  Non-path values pass through."""
    if not isinstance(path, (str, Path)):
        return path
    p = Path(path)
    if p.is_absolute() or p.exists() or len(p.parts) < 2:
        return path
    root = {"data": DATA_DIR, "models": MODELS_DIR}.get(p.parts[0])
    if root is None:
        return path
    alt = root.joinpath(*p.parts[1:])
    return alt if alt.exists() else path
