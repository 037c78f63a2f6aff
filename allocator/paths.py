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
