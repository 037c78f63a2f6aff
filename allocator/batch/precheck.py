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
    """``members`` with those that fail the catalog checks turned into bad input (same order)."""
    from allocator.inputs.demo import resolve_catalog
    from allocator.inputs.profile import profile_from_dict
    from allocator.optim.assemble import check_list_ids

    cache: dict[tuple, object] = {}
    out = []
    for m in members:
        if not m.ok:
            out.append(m)
            continue
        try:
            profile = profile_from_dict(m.doc, m.source)
            key = tuple(profile.specialties or ())
            if catalog is None and key not in cache:
                cache[key] = resolve_catalog(profile, None)
            check_list_ids(profile, catalog if catalog is not None else cache[key])
        except InputError as e:
            m = dataclasses.replace(m, doc=None, error=" ".join(str(e).split()))
        out.append(m)
    return out
