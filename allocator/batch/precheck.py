"""Check each readable profile against its catalog on this machine, before Dask starts.

A specialty without a demo catalog and a must_apply or never_apply id that is not in the
catalog would otherwise be found on a worker, after the cluster started.  Both checks only
read catalogs (each demo catalog once per set of specialties), so they are cheap; the
messages are the ones the worker would give (:func:`allocator.inputs.demo.resolve_catalog`,
:func:`allocator.optim.assemble.check_list_ids`).
"""
from __future__ import annotations

import dataclasses

from allocator.batch.cohort import Member
from allocator.errors import InputError


def precheck(members: list[Member], catalog=None) -> list[Member]:
    """``members`` with those that fail the catalog checks turned into bad input (same order),
    and every member whose profile was read given its summary input columns (``inputs``:
    budget, objective, the fee season, and synthetic when its catalog is known), bad input or not."""
    from allocator.inputs.demo import resolve_catalog
    from allocator.inputs.profile import profile_from_dict
    from allocator.optim.assemble import check_list_ids

    cache: dict[tuple, object] = {}
    out = []
    for m in members:
        if m.doc is None:  # not read (bad syntax, a bad field): nothing to show but the reason
            out.append(m)
            continue
        try:
            profile = profile_from_dict(m.doc, m.source)
        except InputError:  # cannot happen for a member load_cohort read; kept as it was
            out.append(m)
            continue
        inputs = {"budget": float(profile.strategy.budget), "objective": profile.strategy.objective,
                  "season": _fee_season(profile.strategy.season)}
        try:
            key = tuple(profile.specialties or ())
            if catalog is None and key not in cache:
                cache[key] = resolve_catalog(profile, None)
            cat = catalog if catalog is not None else cache[key]
            inputs["synthetic"] = bool(cat.synthetic)
            if m.ok:
                check_list_ids(profile, cat)
        except InputError as e:
            if m.ok:
                m = dataclasses.replace(m, doc=None, error=" ".join(str(e).split()))
        out.append(dataclasses.replace(m, inputs=inputs))
    return out


def _fee_season(season: str) -> str | None:
    """The fee season a profile's ``season`` names, as the JSON's ``cost.season`` gives it: a
    shipped season as it is ("2026", "none"), a fee file of your own by its ``season`` key
    (None if it cannot be read: the worker's error says why)."""
    from allocator.inputs.fees import is_fee_file, load_schedule

    if not is_fee_file(str(season)):
        return str(season)
    try:
        return str(load_schedule(str(season)).season)
    except (InputError, OSError, ValueError):
        return None
