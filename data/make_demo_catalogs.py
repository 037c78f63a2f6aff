"""Generate the synthetic demo catalogs in ``data/catalogs/`` (seeded, reproducible).

    python data/make_demo_catalogs.py            # writes data/catalogs/demo_*.csv
    python data/make_demo_catalogs.py --seed 7 --out /tmp/catalogs

Every program is **invented**: real geography (teaching-hospital cities from
``data/geography/program_cities.csv``; California counties and regions from
``data/geography/ca_cities_regions.csv``), invented names, sizes, settings, IMG shares and
eligibility rules.  No NRMP program-level data is used (NRMP's terms forbid redistributing
it; see the README, "Data honesty").  Published *aggregate* figures set the totals:

- Internal Medicine: 758 programs and 10,941 categorical positions (2025, ACP newsroom);
  IMGs hold about 43% of PGY-1 positions nationally (ECFMG release, 2024) and about 20% in
  California (secondary site, year unstated [?]).
- Family Medicine 5,213, Pediatrics 3,078, Psychiatry 2,261 positions (2024 Match: NRMP 2024
  as reported by a secondary summary [?]); the program counts for these three are
  assumptions (about 7, 15 and 7 positions per program).  IMG share: FM 31.8% nationally
  (ECFMG release, 2024), 25% in California (secondary site, year unstated [?]); Pediatrics
  and Psychiatry shares are assumptions [?], California at half the national share.

Cities are drawn with replacement, weight = programs_in_sample (+ 3 x im_programs_in_sample
for Internal Medicine), in three strata with fixed quotas (Greater LA, rest of California,
rest of the US) so that the Greater-LA count is exactly its weight share of the total.

Every other number in this script (setting mix, program sizes, the IMG-share offsets and
noise, how often eligibility rules are set and their values) is **illustrative**: a
judgement chosen to give a plausible-looking SYNTHETIC catalog, not a published figure.
Only the direction of the setting effect on IMG share has a source (APDIM 2017 survey,
Reddy et al., JGIM 2021: IMGs fill most community-program PGY-1 positions and a minority at
university programs); the totals and national/California shares above are the only
calibrated figures.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from allocator.inputs import geography

HERE = Path(__file__).resolve().parent
GEO = HERE / "geography"

SPECS = {
    # prefix, programs, positions, national IMG share, California IMG share,
    # setting probabilities (university, community, county), mean positions by setting.
    # n, positions, img_nat, img_ca: the published aggregates of the module docstring (n for
    # FM, Pediatrics and Psychiatry, and their IMG shares, are assumptions [?]).
    # settings and size: ILLUSTRATIVE judgements (community programs most common in IM and
    # FM, university programs larger and more common in Pediatrics and Psychiatry); sizes
    # only set relative program size: positions are rescaled to the published total.
    # im_weight: extra weight per IM program of a city in the IM catalog (ILLUSTRATIVE).
    "Internal Medicine": dict(prefix="IM", file="demo_internal_medicine.csv", n=758, positions=10941,
                              img_nat=0.43, img_ca=0.20, settings=(0.35, 0.52, 0.13),
                              size=(24, 10, 16), im_weight=3.0),
    "Family Medicine": dict(prefix="FM", file="demo_family_medicine.csv", n=760, positions=5213,
                            img_nat=0.318, img_ca=0.25, settings=(0.20, 0.72, 0.08),
                            size=(8, 6, 8), im_weight=0.0),
    "Pediatrics": dict(prefix="PD", file="demo_pediatrics.csv", n=210, positions=3078,
                       img_nat=0.25, img_ca=0.125, settings=(0.55, 0.35, 0.10),
                       size=(22, 9, 12), im_weight=0.0),
    "Psychiatry": dict(prefix="PS", file="demo_psychiatry.csv", n=330, positions=2261,
                       img_nat=0.30, img_ca=0.15, settings=(0.50, 0.38, 0.12),
                       size=(9, 5, 7), im_weight=0.0),
}
SETTINGS = ("university", "community", "county")
# logit offset of a program's IMG share by setting, before the group shift that hits the
# published aggregate: university programs take fewer IMGs, community programs more.  The
# direction follows the APDIM 2017 survey (Reddy et al., JGIM 2021: IMGs fill most
# community-program positions and a minority at university ones); the sizes are
# ILLUSTRATIVE (the seeded IM catalog comes out at about 29% IMGs at university, 51% at
# county and 64% at community programs, position-weighted).
SETTING_IMG_OFFSET = np.array([-1.1, 0.7, 0.1])
IMG_NOISE_SD = 1.0  # ILLUSTRATIVE spread of IMG shares between programs of one setting (logit scale)


def load_cities() -> pd.DataFrame:
    """Program cities with county, Greater-LA flag and Census region/division."""
    pc = pd.read_csv(GEO / "program_cities.csv")
    ca = pd.read_csv(GEO / "ca_cities_regions.csv")[["city", "state", "county", "ca_region_cdph2020",
                                                     "greater_la_csa"]]
    df = pc.merge(ca, on=["city", "state"], how="left")
    missing = df[(df.state == "CA") & df.county.isna()]
    if len(missing):
        raise SystemExit(f"California cities missing from ca_cities_regions.csv: {list(missing.city)}")
    df["la_area"] = df["greater_la_csa"].fillna(0).astype(int).astype(bool)
    df["division"] = [geography.division_of(s) for s in df.state]
    df["region"] = [geography.DIVISION_TO_REGION.get(d, "") if d else "" for d in df.division]
    df["stratum"] = np.where(df.la_area, "la", np.where(df.state == "CA", "ca", "us"))
    return df


def place(cities: pd.DataFrame, n: int, im_weight: float, rng: np.random.Generator) -> pd.DataFrame:
    w = cities.programs_in_sample + im_weight * cities.im_programs_in_sample
    w = w.astype(float)
    share = w.groupby(cities.stratum).sum() / w.sum()
    quota = {"la": int(round(n * share["la"])), "ca": int(round(n * share["ca"]))}
    quota["us"] = n - quota["la"] - quota["ca"]
    picks = []
    for s in ("la", "ca", "us"):
        idx = np.flatnonzero((cities.stratum == s).to_numpy() & (w.to_numpy() > 0))
        p = w.to_numpy()[idx] / w.to_numpy()[idx].sum()
        picks.append(rng.choice(idx, size=quota[s], replace=True, p=p))
    return cities.iloc[np.concatenate(picks)].reset_index(drop=True)


def _shift_to(target: float, base_logit: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """IMG shares expit(base + c) with the position-weighted mean equal to ``target``."""
    lo, hi = -10.0, 10.0
    for _ in range(80):
        c = (lo + hi) / 2
        m = np.average(expit(base_logit + c), weights=weights)
        lo, hi = (c, hi) if m < target else (lo, c)
    return expit(base_logit + (lo + hi) / 2)


def make_catalog(specialty: str, cities: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    spec = SPECS[specialty]
    n = spec["n"]
    df = place(cities, n, spec["im_weight"], rng)
    # setting: big teaching cities lean university (ILLUSTRATIVE factors 1.5 and 1.6 below)
    p_set = np.tile(np.asarray(spec["settings"], float), (n, 1))
    big = (df.programs_in_sample >= 5).to_numpy()
    p_set[big, 0] *= 1.5
    if specialty == "Internal Medicine":
        p_set[(df.state == "CA").to_numpy(), 2] *= 1.6   # California's county hospitals train many residents
    p_set /= p_set.sum(axis=1, keepdims=True)
    k = (rng.random(n)[:, None] > np.cumsum(p_set, axis=1)).sum(axis=1)
    df["setting"] = np.asarray(SETTINGS)[k]
    # positions: lognormal around the setting mean, then scaled to the published total
    # (ILLUSTRATIVE spread: lognormal sd 0.6, capped at 3.5 times the mean, at least 2)
    mean = np.asarray(spec["size"], float)[k]
    raw = mean * np.minimum(rng.lognormal(-0.18, 0.6, n), 3.5)
    raw *= spec["positions"] / raw.sum()
    df["positions"] = np.maximum(2, np.round(raw)).astype(int)
    # IMG share: setting offset + noise, shifted so California and the nation hit their figures
    base = SETTING_IMG_OFFSET[k] + rng.normal(0, IMG_NOISE_SD, n)
    pos = df.positions.to_numpy(float)
    ca = (df.state == "CA").to_numpy()
    img = np.empty(n)
    img[ca] = _shift_to(spec["img_ca"], base[ca], pos[ca])
    rest_target = (spec["img_nat"] * pos.sum() - spec["img_ca"] * pos[ca].sum()) / pos[~ca].sum()
    img[~ca] = _shift_to(rest_target, base[~ca], pos[~ca])
    df["img_share"] = np.round(img, 2)
    # eligibility rules (more common and stricter at university programs).  ILLUSTRATIVE:
    # frequencies and cut-offs are judgements, not survey figures (in the seeded IM catalog
    # about 18% of programs set min_step2, 34% max_attempts, 40% max_years_since_graduation)
    univ = k == 0
    has_min = rng.random(n) < np.where(univ, 0.30, 0.12)
    min_val = np.where(univ, rng.choice([225, 230, 235, 240], n), rng.choice([215, 220, 225, 230], n))
    df["min_step2"] = pd.Series(min_val, dtype="Int64").where(has_min)
    has_att = rng.random(n) < np.where(univ, 0.45, 0.30)
    att_val = np.where(rng.random(n) < np.where(univ, 0.5, 0.25), 0, 1)
    df["max_attempts"] = pd.Series(att_val, dtype="Int64").where(has_att)
    has_yrs = rng.random(n) < 0.40
    yrs_val = rng.choice([3, 5, 5, 7], n)
    df["max_years_since_graduation"] = pd.Series(yrs_val, dtype="Int64").where(has_yrs)
    # identity: sorted by state and city, numbered
    df = df.sort_values(["state", "city"], kind="stable").reset_index(drop=True)
    num = [f"{i + 1:04d}" for i in range(n)]
    df["program_id"] = [f"{spec['prefix']}-{x}" for x in num]
    df["name"] = [f"Synthetic {spec['prefix']} Program {x} ({c}, {s})"
                  for x, c, s in zip(num, df.city, df.state)]
    df["specialty"] = specialty
    df["county"] = df["county"].fillna("")
    df["fee_extra"] = 0
    df["synthetic"] = True
    cols = ["program_id", "name", "specialty", "city", "state", "county", "la_area", "region",
            "division", "setting", "positions", "img_share", "min_step2", "max_attempts",
            "max_years_since_graduation", "fee_extra", "synthetic"]
    return df[cols]


def summary(df: pd.DataFrame) -> str:
    pos = df.positions
    ca = df.state == "CA"
    img_nat = np.average(df.img_share, weights=pos)
    img_ca = np.average(df.img_share[ca], weights=pos[ca])
    return (f"{df.specialty.iloc[0]}: {len(df)} programs, {pos.sum()} positions, "
            f"{int(df.la_area.sum())} in Greater LA, {int(ca.sum())} in California; "
            f"IMG share {img_nat:.3f} national, {img_ca:.3f} California; settings "
            + ", ".join(f"{k} {v}" for k, v in df.setting.value_counts().items()))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=2025)
    ap.add_argument("--out", type=Path, default=HERE / "catalogs")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    cities = load_cities()
    for i, specialty in enumerate(SPECS):
        rng = np.random.default_rng([args.seed, i])
        df = make_catalog(specialty, cities, rng)
        path = args.out / SPECS[specialty]["file"]
        df.to_csv(path, index=False, lineterminator="\n")
        print(f"{path.name}: {summary(df)}")


if __name__ == "__main__":
    main()
