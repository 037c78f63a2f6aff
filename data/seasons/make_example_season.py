"""Rebuild data/seasons/example_80.csv: a SYNTHETIC mid-season file (4 November) for the
typical profile: the 80-program list `solve --objective p_match` picks on the synthetic demo catalog, with 3
invitations, 11 rejections and 66 programs not yet answered, drawn with a fixed seed
(invitations among the likelier programs, rejections among the rest).  Not real data."""
from pathlib import Path

import numpy as np

import allocator

HERE = Path(__file__).resolve().parent
res = allocator.solve(HERE.parent / "profiles" / "typical_us_img.toml", budget=5000, max_applications=80, objective="p_match",
                       draws=0)
df = res.selected_frame()
assert len(df) == 80, len(df)
rng = np.random.default_rng(4)
order = rng.permutation(len(df))
status = np.array(["no answer yet"] * len(df), dtype=object)
w = df["p_match"].to_numpy() / df["p_match"].sum()
inv = rng.choice(len(df), 3, replace=False, p=w)
status[inv] = "invited"
rest = [i for i in order if i not in set(inv)][:11]
status[rest] = "rejected"
dates = {"invited": ["2026-10-09", "2026-10-21", "2026-11-02"], "rejected": [f"2026-10-{d:02d}" for d in
                                                                           (3, 6, 10, 14, 17, 20, 22, 27, 29, 30, 31)]}
col_date = []
k = {"invited": 0, "rejected": 0}
for s in status:
    if s in dates:
        col_date.append(dates[s][k[s]])
        k[s] += 1
    else:
        col_date.append("")
lines = ["# SYNTHETIC example season (invented answers on the synthetic demo catalog; not real data).",
         "# Rebuild: python data/seasons/make_example_season.py",
         *([f"# geographic_preference: {'; '.join(res.plan.divisions)}"] if res.plan.divisions else []),
         "program_id,signal,status,date"]
for r, s, d in zip(df.itertuples(), status, col_date):
    lines.append(f"{r.program_id},{r.signal if isinstance(r.signal, str) else ''},{s},{d}")
(HERE / "example_80.csv").write_text("\n".join(lines) + "\n")
print(f"wrote {HERE / 'example_80.csv'}: 80 applications, 3 invited, 11 rejected")
