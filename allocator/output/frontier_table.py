"""The LA frontier's table and the sentences under it (`allocator sweep --frontier`): P(any
match) against P(match in Greater LA), each row with its range and figure to plan on."""
from __future__ import annotations


def has_ranges(df) -> bool:
    """Whether any row carries a range over plausible models (none with a single card: no
    empty range column then; the warnings say why)."""
    return "p_match_interval" in df and df["p_match_interval"].notna().any()


def render_frontier(df, problem, console, auto: bool) -> None:
    from rich import box
    from rich.table import Table

    from allocator.verification.domain import domain_note

    from allocator.output.report import SYNTHETIC_NOTE, model_name, pct, plan_cell, plan_column_note, span, usd

    if problem.synthetic:
        console.print(f"[bold yellow]{SYNTHETIC_NOTE}[/]")
    cap = f"LA <= {problem.la_share_max:.0%}" if problem.la_share_max < 1 else "no LA cap"
    t = Table(box=box.SIMPLE, title=f"max P(match in LA) subject to P(any match) >= floor (budget "
                                    f"{usd(problem.budget)}, {cap}, {model_name(problem)}; chosen: {problem.objective})")
    ranged = problem.fm is not None and has_ranges(df)
    heads = ("status", "P(any match)") + (("10th-90th", "plan on") if ranged else ()) + ("P(match in LA)",) + (
        ("10th-90th",) if ranged else ()) + ("apps LA / West / else", "fees", "LA cap")
    for h in (("list", "floor") if auto else ("target",)) + heads:
        t.add_column(h, justify="right")
    for r in df.itertuples(index=False):
        if auto:
            label = {"safest": "safest", "chosen": "chosen"}.get(
                r.kind, f"-{100 * r.margin:g} pts" if r.margin > 0 else "best")
            first = [label, pct(r.target, 2) if r.kind == "frontier" else ""]
        else:
            first = [pct(r.target, 0)]
        first.append(r.status if r.status != "feasible" else "feasible*")
        if r.status in ("optimal", "feasible"):
            p = [pct(r.p_match, 2) + ("^" if r.outside_domain else "")] + (
                [span(r.p_match_interval), plan_cell(r.p_match_plan)] if ranged else [])
            la = [pct(r.p_match_la, 1)] + ([span(r.p_match_la_interval)] if ranged else [])
            t.add_row(*first, *p, *la, f"{int(r.n_la)} / {int(r.n_west)} / {int(r.n_elsewhere)}", usd(r.cost),
                      "binds" if r.la_cap_binds else "", style="bold" if r.kind != "frontier" else None)
        else:
            t.add_row(*first, *["-"] * (len(heads) - 2), "")
    console.print(t)
    if (df["outside_domain"] != "").any():
        console.print(domain_note(problem.card))
    if ranged:
        console.print(plan_column_note(df["p_match_plan_from"], problem.card), markup=False)
    if (df["status"] == "feasible").any():
        console.print("*feasible: the best list found, not proven optimal; its proven gap is the column gap in "
                      "--json/--csv (pass --time-limit SECONDS to search and prove longer)")
    for line in frontier_notes(df, problem):
        console.print(line)


def _west_move(s, last) -> str:
    """"; P(match in the West, LA included) 0.0% -> 48.2%": the West's move along the frontier."""
    from allocator.output.report import pct

    a, b = getattr(s, "p_match_west", None), getattr(last, "p_match_west", None)
    if a is None or b is None or a != a or b != b:
        return ""
    return f"; P(match in the West, LA included) {pct(a, 1)} -> {pct(b, 1)}"


def frontier_notes(df, problem) -> list[str]:
    """The sentences under the frontier table: what the margin buys, where the LA cap binds."""
    from allocator.output.report import pct, span

    if not any(problem.la):  # the frontier is flat at 0: say why, once
        return [f"{problem.candidates.path}: no program of the catalog's candidates is in Greater LA, so P(match in "
                "LA) is 0 on every list; add Greater-LA programs to the catalog to see the trade"]
    out = []
    pts = df[(df["kind"] == "frontier") & df["p_match"].notna()]
    safe = df[(df["kind"] == "safest") & df["p_match"].notna()]
    if len(pts) and len(safe):
        s, last = safe.iloc[0], pts.iloc[-1]
        rng = (lambda iv: f" ({span(iv)})" if span(iv) else "")
        out.append(f"Safest list: P(any match) {pct(s.p_match, 2)}{rng(s.p_match_interval)}, P(match in LA) "
                   f"{pct(s.p_match_la, 1)}. Giving up {100 * (s.p_match - last.p_match):.1f} points of P(any match) "
                   f"(to {pct(last.p_match, 1)}{rng(last.p_match_interval)}) raises P(match in LA) to "
                   f"{pct(last.p_match_la, 1)}{rng(last.p_match_la_interval)} "
                   f"({100 * (last.p_match_la - s.p_match_la):+.1f} points)" + _west_move(s, last) + ".")
    binds = pts[pts["la_cap_binds"].fillna(False).astype(bool)]
    if len(binds) and problem.la_share_max < 1:
        first = binds.iloc[0]
        where = (f"from {100 * first.margin:g} points below the best on" if first.margin == first.margin
                 else f"at the P(any match) targets up to {pct(binds['target'].max(), 0)}")
        out.append(f"The LA cap (la_share_max {problem.la_share_max:g}) binds {where}: those lists hold as many "
                   "LA programs as the cap allows, so a higher la_share_max would raise P(match in LA) further.")
    elif len(pts) and problem.la_share_max < 1:
        out.append(f"The LA cap (la_share_max {problem.la_share_max:g}) never binds here: the probabilities, "
                   "not the cap, limit the LA programs.")
    return out
