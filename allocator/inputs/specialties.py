"""Specialty names as allocator's own tables spell them, and the variants refused on input.

allocator looks a specialty up by its exact name: the ERAS signal counts
(``data/signals/eras_signals.toml``) and the model card's national IMG shares
(``models/default.toml``, ``[defaults.img_share_national]``).  A catalog or profile that writes
"Internal medicine", "IM" or "Internal Medicine - Categorical" would find neither: its programs
would lose their signals and take the placeholder IMG share, and P(match) would fall by several
points without a word.  Such a name is refused on input with the name to write instead
(:func:`table_name`), rather than mapped silently: the user's files then say what allocator
reads, and every output names the specialty as the tables do.

A variant is a name that equals a table name after case, spacing and punctuation are ignored
and the word "categorical" is dropped, or one of the few common abbreviations in
:data:`ALIASES`.  Distinct program types stay distinct: "Internal Medicine - Preliminary" and
"Internal Medicine/Pediatrics" are not variants of "Internal Medicine".
"""
from __future__ import annotations

import re
from functools import lru_cache

from allocator.inputs.loader import read_toml
from allocator.paths import DATA_DIR, MODELS_DIR

# Common short or older names (written as normalized: lower case, words separated by one space).
ALIASES = {
    "im": "Internal Medicine",
    "internal med": "Internal Medicine",
    "family med": "Family Medicine",
    "fm": "Family Medicine",
    "family practice": "Family Medicine",
    "peds": "Pediatrics",
    "general pediatrics": "Pediatrics",
    "psych": "Psychiatry",
    "general psychiatry": "Psychiatry",
    "surgery": "General Surgery",
    "surgery general": "General Surgery",
    "anesthesia": "Anesthesiology",
}


@lru_cache(maxsize=None)
def table_names() -> tuple[str, ...]:
    """Every specialty named in the ERAS signal table (any season) or in the default model
    card's national IMG shares, sorted."""
    names: set[str] = set()
    signals = read_toml(DATA_DIR / "signals" / "eras_signals.toml", what="signal table")
    for season in (signals.get("seasons") or {}).values():
        names.update(season)
    card = MODELS_DIR / "default.toml"
    if card.is_file():
        shares = read_toml(card, what="model card").get("defaults", {}).get("img_share_national", {})
        names.update((shares.get("value") or {}))
    return tuple(sorted(names))


def _normal(name: str) -> str:
    words = re.findall(r"[0-9a-z]+", str(name).casefold().replace("&", " and "))
    return " ".join(w for w in words if w != "categorical")


@lru_cache(maxsize=256)
def table_name(name: str) -> str | None:
    """The table's spelling of ``name`` when ``name`` is a variant of it (not the same string);
    None when ``name`` is a table name itself or no variant of one.

    >>> table_name("Internal Medicine - Categorical"), table_name("IM"), table_name("Neurology")
    ('Internal Medicine', 'Internal Medicine', None)
    """
    names = table_names()
    if name in names:
        return None
    key = _normal(name)
    found = ALIASES.get(key) or next((x for x in names if _normal(x) == key), None)
    return found if found in names else None


def variant_message(canon: str, write: str) -> str:
    """What to change, for a specialty that is a variant of the table's ``canon``; ``write``:
    what to write instead, as the file's syntax has it."""
    return (f"not accepted: allocator's tables (ERAS signals, the model card) spell this specialty {canon!r}, and "
            f"another spelling would lose its programs' signals and the model's figures for it; write {write}")
