"""What the sensitivity checks of a card share: the Step 2 CK score check
(:mod:`allocator.verification.scorecheck`) and the IMG-share cap check
(:mod:`allocator.verification.capcheck`).  Each is a file beside the card (named by a card key,
made by a script in ``models/``) holding the central card's parameters under another judgement,
valid only for the card values it records (``base``); each evaluates a list exactly, on the same
candidates, under the central card with those parameters (its two-stage model, a fixed
geographic preference folded in as the problem's own mixtures do).
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from allocator.errors import InputError


@dataclass(frozen=True)
class Spec:
    """One kind of check file: the card key naming it, the script making it, the words its
    messages use, and how its data becomes a card (``build(card, doc, data)``)."""

    key: str            # the card attribute naming the file ("score_check")
    script: str         # "models/make_score_check.py"
    kind: str           # "score-check" (in "not a score-check file")
    values: str         # "its Step 2 CK slopes and intercepts" (what a stale file was made for)
    build: Callable     # (card, doc, data) -> (check card, extra data)
    required: tuple = ("params", "base")


_LOADED: dict = {}  # per kind, the last file read (one card at a time; the web's solving threads share it)
_LOCK = threading.Lock()


def path_of(card, spec: Spec) -> Path | None:
    """The card's file of kind ``spec`` (None when the card names none)."""
    name = getattr(card, spec.key, None)
    return None if not name else Path(card.path).parent / name


def load(card, spec: Spec):
    """(the check's card, the file's data) of ``card``; None when it names no file.  A file that
    is missing, unreadable or made for other values of the card than it has now (the check would
    not be this card's) is refused, as a stale ensemble file is: run the script again, or remove
    the card's key."""
    p = path_of(card, spec)
    if p is None:
        return None
    if not p.is_file():
        raise InputError(f"{card.path}: {spec.key}: {p} not found; run {spec.script} or remove the key")
    key = (str(p), p.stat().st_mtime_ns, str(card.path), card.version)
    with _LOCK:
        got = _LOADED.get(spec.key)
        if got is None or got[0] != key:
            got = (key, _read(card, p, spec))
            _LOADED[spec.key] = got
    return got[1]


def _read(card, p: Path, spec: Spec):
    from allocator.model import ensemble as ens

    try:
        data = json.loads(p.read_text())
        base = data["base"]
        for k in spec.required:
            data[k]  # noqa: B018  (a KeyError names the missing key)
        if not isinstance(base, dict) or not isinstance(data["params"], dict):
            raise TypeError("base and params must be objects")
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{p}: not a {spec.kind} file ({e}); make it again with {spec.script}") from None
    now = {key: value(card, key) for key in base}
    if data.get("card") != card.name or any(now[key] is None or abs(now[key] - float(v)) > 1e-9 for key, v in base.items()):
        raise InputError(f"{p}: made for card {data.get('card')!r} with other values of {spec.values} than "
                         f"{card.path} has now; run {spec.script} again or remove the card's {spec.key} key")
    if "card_version" in data and str(data["card_version"]) != str(card.version):  # any other value changed
        raise InputError(f"{p}: made for card version {data['card_version']}, but {card.path} is version "
                         f"{card.version}; run {spec.script} again or remove the card's {spec.key} key")
    try:
        return spec.build(card, ens.card_doc(card), data)
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{p}: not a {spec.kind} file ({e}); make it again with {spec.script}") from None


def value(card, dotted: str) -> float | None:
    """The card's value of parameter ``"section.name"`` (None when it has none)."""
    sec, name = dotted.split(".")
    par = getattr(getattr(card, sec, None), name, None)
    return None if par is None else float(par.value)


def factor_model(problem, check_card, tag: str, params: dict):
    """The check card's two-stage model over the problem's candidates (kept with the problem
    under ``tag`` and ``params``, what makes the check card differ from the problem's)."""
    key = (tag, check_card.name, json.dumps(params, sort_keys=True))
    if key not in problem._cache:
        from allocator.model.twostage import factor_model as fmodel
        from allocator.optim.mixture import fold_fixed

        fm = fmodel(problem.candidates, problem.applicant, [check_card])
        problem._cache[key] = fold_fixed(fm, problem.candidates, tuple(problem.fixed_divisions or ()))
    return problem._cache[key]


def p_match(problem, plan, fm) -> float:
    """The plan's P(match) under the mixture ``fm`` (exact: sum_k w_k prod_i (1 - p_i(k)))."""
    from allocator.optim.evaluate import mix_none

    if not len(plan.idx):
        return 0.0
    return 1.0 - mix_none(fm, problem.plan_log_fail(plan, fm))
