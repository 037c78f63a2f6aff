"""A user's own catalog and profile (review 20): specialty names as allocator's tables spell
them, the img_share column, spreadsheet rows, and what the input messages tell the user to write.

Bad input: exit code 2 and one line naming the file, the row or field and what to change.
Warnings: a default that moves P(match) (img_share left empty, a specialty with no signal
counts) is said in the answer's warnings, not only in a note.
"""
from __future__ import annotations

import json
import tomllib

import pytest

from allocator.errors import InputError
from allocator.inputs.catalog import catalog_from_text, img_share_warning
from allocator.inputs.profile import profile_from_dict
from allocator.inputs.specialties import ALIASES, table_name, table_names
from allocator.model.card import load_card
from allocator.optim.assemble import build_problem
from allocator.paths import DATA_DIR
from tests.helpers import run

HEADER = "program_id,name,specialty,city,state,county,setting,img_share,fee_extra"
ROWS = [
    "P1,LA IM,Internal Medicine,Los Angeles,CA,Los Angeles,university,0.40,0",
    "P2,Fresno IM,Internal Medicine,Fresno,CA,Fresno,community,0.50,20",
    "P3,Columbus IM,Internal Medicine,Columbus,OH,Franklin,community,0.60,0",
    "P4,Phoenix IM,Internal Medicine,Phoenix,AZ,Maricopa,university,0.30,0",
]
PROFILE = """[applicant]
specialties = ["Internal Medicine"]
step2_score = 238
usce_months = 4
[strategy]
budget = 1200
max_applications = 4
"""


def _csv(rows=ROWS, header=HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _files(tmp_path, csv_text: str, profile: str = PROFILE):
    cat, prof = tmp_path / "mine.csv", tmp_path / "me.toml"
    cat.write_text(csv_text)
    prof.write_text(profile)
    return prof, cat


def _one_line(code: int, err: str) -> str:
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


# ---- 1. specialty names ---------------------------------------------------------------------

@pytest.mark.parametrize("typed, meant", [
    ("Internal medicine", "Internal Medicine"), ("internal  medicine", "Internal Medicine"),
    ("IM", "Internal Medicine"), ("Internal Med", "Internal Medicine"), ("Family Med.", "Family Medicine"),
    ("Internal Medicine - Categorical", "Internal Medicine"),
    ("Internal Medicine (Categorical)", "Internal Medicine"), ("Categorical Internal Medicine", "Internal Medicine"),
    ("Family Practice", "Family Medicine"), ("FM", "Family Medicine"), ("family_medicine", "Family Medicine"),
    ("Peds", "Pediatrics"), ("Pediatrics-Categorical", "Pediatrics"), ("Surgery - Categorical", "General Surgery"),
])
def test_a_variant_of_a_table_specialty_names_the_tables_spelling(typed, meant):
    assert table_name(typed) == meant


@pytest.mark.parametrize("name", ["Internal Medicine", "Internal Medicine - Preliminary",
                                  "Internal Medicine/Pediatrics", "Neurology", "Child Neurology", "Urology",
                                  "Emergency Medicine", "Transitional Year"])
def test_a_table_name_or_a_distinct_specialty_is_no_variant(name):
    assert table_name(name) is None


def test_the_table_names_are_the_signal_tables_and_the_cards_and_every_alias_points_to_one():
    with open(DATA_DIR / "signals" / "eras_signals.toml", "rb") as f:
        signals = {s for season in tomllib.load(f)["seasons"].values() for s in season}
    card = set(load_card().defaults.img_share_national.value)
    assert set(table_names()) == signals | card
    assert set(ALIASES.values()) <= set(table_names())


@pytest.mark.parametrize("command", ["solve", "estimate"])
@pytest.mark.parametrize("typed", ["Internal medicine", "IM", "Internal Medicine - Categorical"])
def test_a_catalog_specialty_variant_is_refused_with_the_name_to_write(capsys, tmp_path, command, typed):
    """(The same spelling in the profile is refused too, below: in both files it used to lose
    the signals and the card's IM figures, 52.5% instead of 60.8% on the reviewer's catalog.)"""
    rows = [r.replace("Internal Medicine", typed) for r in ROWS]
    prof, cat = _files(tmp_path, _csv(rows))
    code, _, err = run(capsys, command, str(prof), "--catalog", str(cat), *(["--draws", "0"] * (command == "solve")))
    err = _one_line(code, err)
    assert f"mine.csv: line 2 (P1) (and 3 more rows), column specialty = {typed!r}" in err
    assert "write 'Internal Medicine'" in err


@pytest.mark.parametrize("typed", ["Internal medicine", "IM", "Internal Medicine (Categorical)", "Family Practice"])
def test_a_profile_specialty_variant_is_refused_with_the_name_to_write(capsys, tmp_path, typed):
    meant = table_name(typed)
    prof, cat = _files(tmp_path, _csv(), PROFILE.replace('"Internal Medicine"', f'"{typed}"'))
    code, _, err = run(capsys, "solve", str(prof), "--catalog", str(cat), "--draws", "0")
    err = _one_line(code, err)
    assert "me.toml: [applicant] specialties" in err and f'write "{meant}"' in err


def test_the_tables_spelling_gets_the_signals():
    """The invariant the refusal protects: written as the tables write it, IM gets its signals."""
    problem = build_problem(catalog_from_text(_csv(), "mine.csv"), profile_from_dict(tomllib.loads(PROFILE)))
    assert problem.signals_available == {("Internal Medicine", "gold"): 3, ("Internal Medicine", "silver"): 12}
    assert not any("signal" in w for w in problem.input_warnings)


def _problem(rows, profile=PROFILE):
    return build_problem(catalog_from_text(_csv(rows), "mine.csv"), profile_from_dict(tomllib.loads(profile)))


def test_a_specialty_without_signal_counts_in_a_season_with_counts_is_a_warning():
    rows = ROWS + ["P5,Austin EM,Emergency Medicine,Austin,TX,Travis,community,0.2,0"]
    prof = PROFILE.replace('["Internal Medicine"]', '["Internal Medicine", "Emergency Medicine"]')
    problem = _problem(rows, prof)
    warned = [w for w in problem.input_warnings if w.startswith("no ERAS signal counts")]
    assert len(warned) == 1 and "for Emergency Medicine in season 2026" in warned[0], problem.input_warnings
    assert "Internal Medicine" in warned[0].split("allocator has counts for")[1]
    assert ("Internal Medicine", "gold") in problem.signals_available  # IM keeps its signals


def test_a_season_without_signal_counts_is_a_warning_naming_the_specialties():
    problem = _problem(ROWS, PROFILE + 'season = "2024"\n')
    assert not problem.signals_available
    warned = [w for w in problem.input_warnings if w.startswith("no ERAS signal counts")]
    assert len(warned) == 1, problem.input_warnings
    assert warned[0].startswith("no ERAS signal counts for season 2024 and Internal Medicine in")
    assert "data/signals/eras_signals.toml" in warned[0] and "(2025, 2026)" in warned[0]
    assert not any("these specialties" in n for n in problem.notes)
    none = _problem(ROWS, PROFILE + 'season = "none"\n')  # own costs, no ERAS: a note, not a warning
    assert not any("signal" in w for w in none.input_warnings), none.input_warnings
    assert 'signals not modelled: season "none" has no ERAS signal counts' in none.notes


def test_every_shipped_fee_season_has_signal_counts_or_solving_with_it_warns():
    from allocator.inputs.fees import available_seasons, signals_available
    seasons = [s for s in available_seasons() if s != "none"]
    assert "2026" in seasons
    for season in seasons:
        problem = _problem(ROWS, PROFILE + f'season = "{season}"\n')
        warned = [w for w in problem.input_warnings if w.startswith(f"no ERAS signal counts for season {season}")]
        if signals_available(season):
            assert problem.signals_available and not warned, season
        else:
            assert len(warned) == 1 and not problem.signals_available, (season, problem.input_warnings)


# ---- 2. img_share ---------------------------------------------------------------------------

def _blank_img(rows, k):
    """``rows`` with img_share emptied on the first ``k``."""
    out = []
    for i, r in enumerate(rows):
        cells = r.split(",")
        if i < k:
            cells[7] = ""
        out.append(",".join(cells))
    return out


def test_img_share_empty_on_most_rows_is_a_warning_with_the_figures_used():
    card = load_card()
    cat = catalog_from_text(_csv(_blank_img(ROWS, 3)), "mine.csv")
    w = img_share_warning(cat, card)
    nat = card.defaults.img_share_national.get("Internal Medicine")
    ca = nat * card.defaults.california_img_share_factor.value
    assert w.startswith("img_share is empty on 3 of 4 programs")
    assert f"Internal Medicine {100 * nat:g}%, {100 * ca:g}% in California" in w and "depends strongly" in w
    assert img_share_warning(catalog_from_text(_csv(_blank_img(ROWS, 2)), "mine.csv"), card) is None  # half: none


def test_a_catalog_without_img_share_warns_in_the_answer(capsys, tmp_path):
    rows = [",".join(r.split(",")[:6]) for r in ROWS]
    prof, cat = _files(tmp_path, _csv(rows, ",".join(HEADER.split(",")[:6])))
    code, out, err = run(capsys, "solve", str(prof), "--catalog", str(cat), "--draws", "0", "--json")
    assert code == 0, err
    assert any(w.startswith("img_share is empty on 4 of 4 programs") for w in json.loads(out)["warnings"])
    code, out, err = run(capsys, "estimate", str(prof), "--catalog", str(cat), "--json")  # estimate as solve
    assert code == 0 and any(w.startswith("img_share is empty on 4 of 4") for w in json.loads(out)["warnings"]), err
    code, out, err = run(capsys, "solve", str(prof), "--catalog", str(_files(tmp_path, _csv())[1]), "--draws", "0",
                         "--json")
    assert code == 0 and not any("img_share" in w for w in json.loads(out)["warnings"])


@pytest.mark.parametrize("column, meant", [
    ("IMG %", "img_share"), ("pct_img", "img_share"), ("img_pct", "img_share"), ("percent_img", "img_share"),
    ("img_fraction", "img_share"), ("IMGs (%)", "img_share"),
    ("fee", "fee_extra"), ("fees", "fee_extra"), ("cost", "fee_extra"), ("extra_fee", "fee_extra"),
    ("Cost (USD)", "fee_extra"), ("Application fee", "fee_extra"), ("IMG share (%)", "img_share"),
    ("% of IMGs", "img_share"), ("International graduates %", "img_share"),
])
def test_another_name_for_img_share_or_fee_extra_is_refused_not_ignored(column, meant):
    header = HEADER.replace(meant, column)
    with pytest.raises(InputError) as e:
        catalog_from_text(_csv(header=header), "mine.csv")
    assert f"mine.csv: header: column {column!r} is not one allocator reads" in str(e.value)
    assert f"did you mean {meant!r}? Rename it" in str(e.value)


@pytest.mark.parametrize("column", ["Notes", "URL", "IMG friendly", "ERAS fee", "program_fee_notes"])
def test_other_unknown_columns_are_still_allowed(column):
    assert len(catalog_from_text(_csv([r + ",x" for r in ROWS], HEADER + "," + column), "mine.csv")) == 4


# ---- 7 and 8: spreadsheet rows --------------------------------------------------------------

@pytest.mark.parametrize("empty", [",,,,,,,,", ",,,", " , ,", ",,,,,,,,\r", '""', ",,,,,,,,,,,,"])
def test_a_row_of_only_commas_is_skipped_as_a_blank_line(empty):
    cat = catalog_from_text(_csv(ROWS[:2] + [empty] + ROWS[2:] + [empty]), "mine.csv")
    assert list(cat.column("program_id")) == ["P1", "P2", "P3", "P4"]


def test_a_short_row_is_refused_with_the_field_counts():
    short = ",".join(ROWS[1].split(",")[:7])
    with pytest.raises(InputError) as e:
        catalog_from_text(_csv([ROWS[0], short, *ROWS[2:]]), "mine.csv")
    assert str(e.value).startswith("mine.csv: line 3: 7 fields, the header has 9; add the missing values")


def test_a_short_row_is_refused_by_the_cli_with_nothing_written(capsys, tmp_path):
    short = ",".join(ROWS[1].split(",")[:7])
    prof, cat = _files(tmp_path, _csv([ROWS[0], short, *ROWS[2:]]))
    out = tmp_path / "list.csv"
    code, _, err = run(capsys, "solve", str(prof), "--catalog", str(cat), "--draws", "0", "--out", str(out))
    assert "line 3: 7 fields, the header has 9" in _one_line(code, err) and not out.exists()


# ---- 11. separators and values -------------------------------------------------------------

def test_a_tab_separated_catalog_gets_its_own_message():
    text = _csv([r.replace(",", "\t") for r in ROWS], HEADER.replace(",", "\t"))
    with pytest.raises(InputError) as e:
        catalog_from_text(text, "mine.csv")
    assert str(e.value).startswith("mine.csv: line 1: the file looks separated by tabs, not commas")


@pytest.mark.parametrize("column, value, hint", [
    ("img_share", "53", "(a share between 0 and 1: for 53%, write 0.53)"),
    ("img_share", "53%", "(a share between 0 and 1: for 53%, write 0.53)"),
    ("img_share", "N/A", "; or leave it empty for the specialty's national figure"),
    ("min_step2", "N/A", "must be a whole number; or leave it empty for no rule"),
    ("max_attempts", "none", "must be a whole number; or leave it empty for no rule"),
])
def test_a_bad_value_says_what_to_write(column, value, hint):
    header, rows = HEADER, list(ROWS)
    if column not in header:
        header, rows = header + "," + column, [r + "," for r in rows]
    cells = rows[1].split(",")
    cells[header.split(",").index(column)] = value
    rows[1] = ",".join(cells)
    with pytest.raises(InputError) as e:
        catalog_from_text(_csv(rows, header), "mine.csv")
    assert f"line 3 (P2), column {column} = {value!r}" in str(e.value) and str(e.value).endswith(hint)


def test_a_share_of_1_5_gets_no_percent_hint():  # as likely a slip as 1.5%
    rows = list(ROWS)
    rows[1] = rows[1].replace(",0.50,", ",1.5,")
    with pytest.raises(InputError) as e:
        catalog_from_text(_csv(rows), "mine.csv")
    assert "column img_share = '1.5'" in str(e.value) and "write" not in str(e.value)


@pytest.mark.parametrize("line, said", [
    ('budget = "$900"', "[strategy] budget = '$900': is text; write the number without quotes (budget = 900)"),
    ('budget = "1,200"', "(budget = 1200)"),
    ('la_share_max = "30%"', "(la_share_max = 0.3)"),
    ('budget = "lots"', "[strategy] budget = 'lots': is text; write a number, without quotes"),
])
def test_a_quoted_number_in_the_profile_gets_valid_toml_to_write(line, said):
    with pytest.raises(InputError) as e:
        profile_from_dict(tomllib.loads(f"[strategy]\n{line}\n"), "me.toml")
    assert said in str(e.value)
    if str(e.value).endswith(")"):  # the suggestion itself is valid TOML that loads
        fix = str(e.value).rsplit("(", 1)[1].removesuffix(")")
        assert profile_from_dict(tomllib.loads(f"[strategy]\n{fix}\n"), "me.toml")


@pytest.mark.parametrize("text, said", [
    ("[applicant]\nbudget = 900\n", "me.toml: [applicant] budget: belongs in [strategy], not [applicant]"),
    ("[strategy]\nla_ties = true\n", "me.toml: [strategy] la_ties: belongs in [applicant], not [strategy]"),
    ("[applicant]\nbudjet = 900\n", "me.toml: [applicant] budjet: unknown key; did you mean budget, which belongs in [strategy]?"),
    ("[strategy]\nstep2_scor = 240\n",
     "me.toml: [strategy] step2_scor: unknown key; did you mean step2_score, which belongs in [applicant]?"),
    ('[applicant]\nspecialties = "Internal Medicine"\n',
     """[applicant] specialties = 'Internal Medicine': is one name, not a list; write specialties = ["Internal Medicine"]"""),
])
def test_a_profile_key_in_the_wrong_place_or_shape_says_where_it_goes(text, said):
    with pytest.raises(InputError) as e:
        profile_from_dict(tomllib.loads(text), "me.toml")
    assert said in str(e.value)
