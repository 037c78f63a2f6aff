"""The trade in plain words: what a list gives up and gains against another list (the
safest list, the LA-leaning list), and its counts and signals by tier beside the seed
guide's ranges.  Formatting only: every figure comes from a Metrics.

Differences are in percentage points ("points") of P(match), of P(match in Greater LA) and,
where the rest of the West is what a list buys, of P(match in the West) (LA included).
"""
from __future__ import annotations

from allocator.optim.evaluate import by_model  # noqa: F401  (the trade's per-model range; imported from here too)
from allocator.output.guide import GuideCase

TIER_NAMES = {"la": "LA", "west": "rest of West", "elsewhere": "elsewhere"}
SAME = 0.05  # points: a smaller difference is shown as "the same"
WEST = "P(match in the West, LA included)"


def _pts(x: float) -> str:
    return f"{abs(100 * x):.1f} points"


def trade_sentence(m, alt) -> str:
    """What list ``m`` gives up and gains against list ``alt`` (both Metrics), e.g. "gives up
    0.8 points of P(match) for +47.0 points of P(match in Greater LA) (P(match in the West, LA
    included) +51.3 points)": the West's change is added whenever the lists have it, it moves by
    0.05 points or more and the sentence does not already say it."""
    said = _la_trade(m, alt)
    w, aw = getattr(m, "p_match_west", None), getattr(alt, "p_match_west", None)
    if w is None or aw is None or abs(100 * (w - aw)) < SAME or WEST in said:
        return said
    return f"{said} ({WEST} {'+' if w > aw else '-'}{_pts(w - aw)})"


def _given_up(m, alt) -> str:
    """" (0.3 to 1.9 under single plausible models)": P(match) given up, model by model, after the
    average's "gives up 1.0 points of P(match)" (it is an average: the margin holds on it)."""
    iv = by_model(m, alt)
    if iv is None or abs(100 * (iv[1] - iv[0])) < 0.1:
        return ""
    lo, hi = -100 * iv[1], -100 * iv[0]  # points given up, least to most
    if lo <= -0.05:  # under some models the list gains P(match) (0.1 points or more, rounded)
        return f" (on average; from {-lo:.1f} gained to {hi:.1f} given up under single plausible models)"
    return f" (on average; {max(lo, 0.0):.1f} to {hi:.1f} under single plausible models)"


def _la_trade(m, alt) -> str:
    """The trade in P(match) and P(match in Greater LA) (the rest of the West when neither moves)."""
    dp, dla = m.p_match - alt.p_match, m.p_match_la - alt.p_match_la
    same_p, same_la = abs(100 * dp) < SAME, abs(100 * dla) < SAME
    if same_p and same_la:
        return "has the same P(match) and P(match in Greater LA) (within 0.05 points)"
    if dp <= 0 and dla >= 0:
        if same_p:
            return f"keeps P(match) and gains {_pts(dla)} of P(match in Greater LA)"
        if same_la:  # nothing gained in LA (an LA cap of 0, say): the rest of the West is what it buys
            return (f"gives up {_pts(dp)} of P(match){_given_up(m, alt)} and keeps P(match in Greater LA), for "
                    f"{_west(m, alt)}")
        return f"gives up {_pts(dp)} of P(match){_given_up(m, alt)} for +{_pts(dla)} of P(match in Greater LA)"
    if dp >= 0 and dla <= 0:
        if same_la:
            return f"gains {_pts(dp)} of P(match) and keeps P(match in Greater LA)"
        if same_p:  # nothing gained in P(match): the rest of the West is what it buys
            return f"keeps P(match) and gives up {_pts(dla)} of P(match in Greater LA) for {_west(m, alt)}"
        return f"gives up {_pts(dla)} of P(match in Greater LA) for +{_pts(dp)} of P(match)"
    if dp > 0:
        return f"gains {_pts(dp)} of P(match) and {_pts(dla)} of P(match in Greater LA)"
    lost = (f"keeps P(match) and gives up {_pts(dla)}" if same_p
            else f"gives up {_pts(dp)} of P(match){_given_up(m, alt)} and {_pts(dla)}")
    return f"{lost} of P(match in Greater LA) for {_west(m, alt)}"


def _west(m, alt) -> str:
    """What a list that gives up LA (or P(match)) buys, in plain numbers: "+2.3 points of
    P(match in the West, LA included) (a higher expected tier utility)" when both lists have
    that figure and it rises; "a higher expected tier utility" alone when they have it and it
    does not (a catalog's own utilities, say: never "more of the West" beside a fall); else,
    without the figure, "10 more programs in the rest of the West (...)" from the tier counts."""
    w, aw = getattr(m, "p_match_west", None), getattr(alt, "p_match_west", None)
    if w is not None and aw is not None:
        if 100 * (w - aw) >= SAME:
            return f"+{_pts(w - aw)} of {WEST} (a higher expected tier utility)"
        return "a higher expected tier utility"
    a, b = getattr(m, "n_by_tier", None), getattr(alt, "n_by_tier", None)
    more = (a or {}).get("west", 0) - (b or {}).get("west", 0) if a is not None and b is not None else 0
    return (f"{more} more program{'s' if more != 1 else ''} in the rest of the West" if more > 0 else
            "more of the rest of the West") + " (a higher expected tier utility)"


ALT_LABELS = {"safest": "the safest list", "la_leaning": "the LA-most list at the same floor"}


def payload_trades(d: dict) -> list[tuple[str, dict, str]]:
    """The answer JSON's ``alternatives`` (the safest and the LA-most list of a safety-first
    answer) as (label, the alternative's figures, "Against the safest list, this list gives up
    ..."): the trade in the words the command line prints (:func:`trade_sentence`, with the
    per-model range of the P(match) given up), for the web page and batch's reports.  The label
    says "(the best found, not proven best)" after an alternative that was not proven."""
    from types import SimpleNamespace

    alts = d.get("alternatives")
    if not isinstance(alts, dict) or d.get("p_match") is None:
        return []
    me = SimpleNamespace(p_match=d["p_match"], p_match_la=d.get("p_match_la") or 0.0,
                         p_match_west=d.get("p_match_west"))
    out = []
    for name, a in alts.items():
        if not isinstance(a, dict) or a.get("p_match") is None:
            continue
        label = ALT_LABELS.get(name, str(name).replace("_", " "))
        other = SimpleNamespace(p_match=a["p_match"], p_match_la=a.get("p_match_la") or 0.0,
                                p_match_west=a.get("p_match_west"),
                                by_model=(a.get("difference") or {}).get("p_match_by_model"))
        proven = "" if a.get("status") == "optimal" else " (the best found, not proven best)"
        out.append((label + proven, a, f"Against {label}, this list {trade_sentence(me, other)}."))
    return out


def tier_text(n_by_tier: dict) -> str:
    """"LA 9 · rest of West 13 · elsewhere 78"."""
    return " · ".join(f"{TIER_NAMES[k]} {n_by_tier.get(k, 0)}" for k in TIER_NAMES)


def signal_text(signals_by_tier: dict) -> str:
    """"LA 3 gold + 4 silver · rest of West 8 silver · elsewhere none"."""
    parts = []
    for k, name in TIER_NAMES.items():
        kinds = signals_by_tier.get(k, {})
        what = " + ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
        parts.append(f"{name} {what}")
    return " · ".join(parts)


def guide_text(case: GuideCase) -> str:
    """"guide for a strong applicant with LA ties: 20-25 LA/SoCal · rest of West 20-30 · ... (the
    closest guide case, from: Step 2 CK 245, ...)": the profile has no such field, so the line
    says which of its fields the case was recognized from."""
    parts = [f"{TIER_NAMES[k]} {case.shown[k]}" if k != "la" or case.key != "strong" else case.shown[k]
             for k in TIER_NAMES]
    total = f" ({case.total[0]}-{case.total[1]} programs)" if case.total else ""
    return f"guide for {case.label}{total}: " + " · ".join(parts) + f" (the closest guide case, from: {case.why})"


def bracket(iv) -> str:
    """" (41% to 57%)": a range in whole percents after its figure; "" without one, or for a
    range that rounds to nothing (at most 0.5%)."""
    from allocator.percent import pct

    return f" ({pct(iv[0], 0)} to {pct(iv[1], 0)})" if iv is not None and iv[1] >= 0.005 else ""


def alternative_line(label: str, m, alt) -> str:
    """One line: the alternative's figures (with their ranges over the plausible models when
    it has them), then what the chosen list gives up and gains."""
    from allocator.output.report import pct

    iv = getattr(alt, "p_match_interval", None)
    rng = f" ({pct(iv[0], 0)} to {pct(iv[1], 0)} over the plausible models)" if iv is not None else ""
    west, iv_w = getattr(alt, "p_match_west", None), getattr(alt, "p_match_west_interval", None)
    west = "" if west is None else f", P(match in the West) {pct(west)}{bracket(iv_w)}"
    return (f"Against {label} (P(match) {pct(alt.p_match)}{rng}, P(match in Greater LA) "
            f"{pct(alt.p_match_la)}{bracket(getattr(alt, 'p_match_la_interval', None))}{west}; "
            f"{tier_text(alt.n_by_tier)}; fees ${alt.cost:,.0f}): this list "
            f"{trade_sentence(m, alt)}.")
