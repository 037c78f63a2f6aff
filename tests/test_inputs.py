"""Every malformed input gets exit code 2 and one line on stderr that names the file, the
row or field, and what to change; no traceback; no output file left behind (--out).

Each case writes its own small files into a temporary folder and runs the CLI in-process
(``allocator.cli.main``); two cases run it as a real subprocess to see the whole stderr.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from allocator import cli
from allocator.inputs.catalog import load_catalog
from allocator.cli import main, write_atomic
from allocator.errors import InputError
from allocator.inputs.listfile import load_list
from allocator.inputs.profile import load_profile
from allocator.season.seasonfile import load_season
from allocator.web import service

GOOD_CSV = """program_id,name,specialty,city,state,la_area,p_match,fee_extra
A1,Prog A1,Internal Medicine,Los Angeles,CA,true,0.20,0
A2,Prog A2,Internal Medicine,Columbus,OH,false,0.10,0
A3,Prog A3,Internal Medicine,Phoenix,AZ,false,0.30,0
A4,Prog A4,Internal Medicine,Torrance,CA,true,0.15,0
"""
GOOD_TOML = """[strategy]
budget = 500
max_applications = 3
la_share_max = 0.5
correlation = 0.3
"""
# a catalog without p_match: the probability model would be needed
NO_P_CSV = """program_id,name,specialty,city,state
B1,Prog B1,Internal Medicine,Columbus,OH
B2,Prog B2,Internal Medicine,Phoenix,AZ
"""


def run(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def assert_one_line(err: str, code: int, want: int = 2):
    assert code == want, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("allocator: error: "), err
    assert "internal error" not in err


def csv_lines(*rows: str, header: str = "program_id,name,specialty,city,state,la_area,p_match") -> str:
    return "\n".join([header, *rows]) + "\n"


# (catalog text or bytes, expected fragments of the message besides the file name)
CATALOG_CASES = {
    "missing_columns": ("program_id,name\nX1,No specialty\n", ["missing required column", "specialty", "city", "state"]),
    "duplicate_ids": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1",
                                "A2,b,Internal Medicine,Columbus,OH,false,0.1",
                                "A1,c,Internal Medicine,Columbus,OH,false,0.1"),
                      ["'A1'", "lines 2, 4", "unique"]),
    "non_numeric_p": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1",
                                "A2,b,Internal Medicine,Columbus,OH,false,high"),
                      ["line 3", "A2", "p_match", "'high'", "must be a number"]),
    "p_above_1": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,1.5"), ["line 2", "p_match", "<= 1"]),
    "p_below_0": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,-0.01"), ["line 2", "p_match", ">= 0"]),
    "p_interview_above_1": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,1.2",
                                      header="program_id,name,specialty,city,state,la_area,p_match,p_interview"),
                            ["line 2", "p_interview", "<= 1"]),
    "p_match_above_p_interview": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,0.2",
                                            "A2,b,Internal Medicine,Columbus,OH,false,0.5,0.2",
                                            header="program_id,name,specialty,city,state,la_area,p_match,p_interview"),
                                  ["line 3 (A2): p_match 0.5 exceeds p_interview 0.2 (a match needs an interview); "
                                   "fix one of them"]),
    "ca_city_not_in_the_table": (csv_lines("A1,a,Internal Medicine,Torrance,CA,0.1", "A2,b,Internal Medicine,Los Angles,CA,0.1",
                                           header="program_id,name,specialty,city,state,p_match"),
                                 ["line 3 (A2), column city = 'Los Angles': not in allocator's table of California "
                                  "cities", "give a county (e.g. Los Angeles) or la_area (true or false) value"]),
    "ca_county_unknown": (csv_lines("A1,a,Internal Medicine,Hollywood,CA,Los Angles County,0.1",
                                    header="program_id,name,specialty,city,state,county,p_match"),
                          ["line 2 (A1), column county = 'Los Angles County': not a California county"]),
    "la_area_true_outside_california": (csv_lines("A1,a,Internal Medicine,Birmingham,AL,true,0.1"),
                                        ["line 2 (A1), column la_area = true: the state is AL",
                                         "set la_area to false or fix the state"]),
    "img_share_out_of_range": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,2",
                                         header="program_id,name,specialty,city,state,la_area,p_match,img_share"),
                               ["line 2", "img_share", "<= 1"]),
    "negative_fee_extra": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,-5",
                                     header="program_id,name,specialty,city,state,la_area,p_match,fee_extra"),
                           ["line 2", "fee_extra", ">= 0"]),
    "infinite_fee_extra": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,inf",
                                     header="program_id,name,specialty,city,state,la_area,p_match,fee_extra"),
                           ["line 2", "fee_extra", "finite"]),
    "nan_p_match": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,nan"),
                    ["line 2", "column p_match = 'nan': must be a finite number"]),
    "nan_fee_extra": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,NaN",
                                header="program_id,name,specialty,city,state,la_area,p_match,fee_extra"),
                      ["line 2", "column fee_extra = 'NaN': must be a finite number"]),
    "minus_infinite_p_interview": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,-inf",
                                             header="program_id,name,specialty,city,state,la_area,p_match,p_interview"),
                                   ["line 2", "p_interview", "must be a finite number"]),
    "fractional_positions": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,2.5",
                                       header="program_id,name,specialty,city,state,la_area,p_match,positions"),
                             ["line 2", "positions", "whole number"]),
    "bad_state": (csv_lines("A1,a,Internal Medicine,Columbus,XX,false,0.1"), ["line 2", "state", "2-letter"]),
    "bad_bool": (csv_lines("A1,a,Internal Medicine,Columbus,OH,maybe,0.1"), ["line 2", "la_area", "true or false"]),
    "bad_division": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,Atlantis",
                               header="program_id,name,specialty,city,state,la_area,p_match,division"),
                     ["line 2", "division", "'Atlantis' is not a Census division"]),
    "bad_setting": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,hospital",
                              header="program_id,name,specialty,city,state,la_area,p_match,setting"),
                    ["line 2", "setting", "university"]),
    "empty_required_cell": (csv_lines("A1,,Internal Medicine,Columbus,OH,false,0.1"), ["line 2", "name", "empty"]),
    "p_match_on_some_rows_only": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1",
                                            "A2,b,Internal Medicine,Columbus,OH,false,"),
                                  ["line 3", "p_match", "every row"]),
    "ragged_row": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,extra,cells"),
                   ["more fields than the header", "quote"]),
    "misspelled_column": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,25",
                                    header="program_id,name,specialty,city,state,la_area,p_match,fee_extr"),
                          ["header", "'fee_extr'", "did you mean 'fee_extra'"]),
    "miscased_column": (csv_lines("A1,a,Internal Medicine,Columbus,OH,false,0.1,1",
                                  header="program_id,name,specialty,city,state,la_area,p_match,Utility"),
                        ["'Utility'", "did you mean 'utility'"]),
    "header_only": (csv_lines(), ["no programs", "add at least one row"]),
    # Excel in many countries saves CSV with semicolons: "missing required column(s) program_id, name, ..."
    # named columns the header has
    "semicolons": ("program_id;name;specialty;city;state\nA1;Prog A;Internal Medicine;Boston;MA\n",
                   ["line 1: the file looks separated by semicolons (;), not commas",
                    "save it as comma-separated CSV"]),
    "semicolons_quoted_commas": ('program_id;name;specialty;city;state\nA1;"Prog A (Boston, MA)";IM;Boston;MA\n',
                                 ["line 1: the file looks separated by semicolons"]),
    "zero_bytes": (b"", ["empty", "header"]),
    "blank_lines_only": ("\n\n\n", ["empty"]),
    "binary": (bytes(range(256)) * 4, ["UTF-8"]),
    "latin1": ("program_id,name,specialty,city,state,p_match\nA1,Caf\xe9,IM,Columbus,OH,0.1\n".encode("latin-1"),
               ["line 2: not UTF-8", "0xe9"]),
}


@pytest.mark.parametrize("case", sorted(CATALOG_CASES))
def test_bad_catalog(capsys, tmp_path, case):
    text, want = CATALOG_CASES[case]
    cat = tmp_path / f"{case}.csv"
    (cat.write_bytes if isinstance(text, bytes) else cat.write_text)(text)
    prof = tmp_path / "p.toml"
    prof.write_text(GOOD_TOML)
    out = tmp_path / "out.json"
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--json", "--out", out)
    assert_one_line(err, code)
    assert f"{case}.csv" in err
    for w in want:
        assert w in err, (w, err)
    assert not out.exists()
    with pytest.raises(InputError):  # the loader itself raises nothing else
        load_catalog(cat)


def test_greater_la_is_derived_from_county_or_listed_city():
    """A California city the table lists needs nothing more; one it does not list (Hollywood) loads
    with its county or its own la_area, and only then."""
    from allocator.inputs.catalog import catalog_from_text

    text = ("program_id,name,specialty,city,state,county,la_area,p_match\n"
            "A1,a,Internal Medicine,Torrance,CA,,,0.1\nA2,b,Internal Medicine,Fresno,CA,,,0.1\n"
            "A3,c,Internal Medicine,Hollywood,CA,Los Angeles County,,0.1\nA4,d,Internal Medicine,Hollywood,CA,,true,0.1\n"
            "A5,e,Internal Medicine,Columbus,OH,,,0.1\n")
    cat = catalog_from_text(text, "geo.csv")
    assert list(cat.column("la_area")) == [True, False, True, True, False]
    assert list(cat.column("tier")) == ["la", "west", "la", "la", "elsewhere"]


def test_unknown_columns_that_misspell_none_are_allowed():
    """A catalog may carry its own columns (notes, links); only near-misses of read columns are refused."""
    from allocator.inputs.catalog import catalog_from_text

    text = "program_id,name,specialty,city,state,p_match,notes,website\nA1,a,Internal Medicine,Columbus,OH,0.1,x,y\n"
    assert len(catalog_from_text(text, "mine.csv")) == 1


def test_missing_catalog_file(capsys, tmp_path):
    prof = tmp_path / "p.toml"
    prof.write_text(GOOD_TOML)
    code, _, err = run(capsys, "solve", prof, "--catalog", tmp_path / "nope.csv")
    assert_one_line(err, code)
    assert "nope.csv" in err and "no such catalog file" in err


# (profile TOML text or bytes, catalog text or None for GOOD_CSV, expected fragments)
PROFILE_CASES = {
    "toml_syntax": ("[strategy\nbudget = 100\n", None, ["not valid TOML", "line 1", "fix the syntax"]),
    "toml_duplicate_key": ("[strategy]\nbudget = 1\nbudget = 2\n", None, ["not valid TOML"]),
    "unknown_key": ("[strategy]\nbudgett = 100\n", None, ["[strategy] budgett", "unknown key", "did you mean budget?"]),
    "unknown_section": ("[stratgy]\nbudget = 100\n", None, ["[stratgy]: unknown section; did you mean [strategy]?"]),
    "field_as_section": ("[utility]\nla = 1.0\n", None, ["[utility]: unknown section; utility belongs under [strategy]"]),
    "key_outside_section": ("budget = 100\n[strategy]\nseason = \"2026\"\n", None,
                            ["budget: outside any section; put it under [strategy]"]),
    "misspelled_key": ("[applicant]\nla_tie = true\n", None, ["[applicant] la_tie: unknown key; did you mean la_ties?"]),
    "negative_budget": ("[strategy]\nbudget = -5\n", None, ["[strategy] budget = -5", ">= 0"]),
    "nan_budget": ("[strategy]\nbudget = nan\n", None, ["[strategy] budget", "finite"]),
    "infinite_budget": ("[strategy]\nbudget = inf\n", None, ["[strategy] budget", "finite"]),
    "string_budget": ("[strategy]\nbudget = \"lots\"\n", None, ["[strategy] budget = 'lots'", "number"]),
    "budget_400_digits": ("[strategy]\nbudget = 1" + "0" * 400 + "\n", None,
                          ["[strategy] budget = 1" + "0" * 69 + "... (401 characters): is far too large"]),
    "max_apps_above_100000": ("[strategy]\nmax_applications = 100000000000\n", None,
                              ["[strategy] max_applications = 100000000000: must be <= 100000"]),
    "la_share_above_1": ("[strategy]\nla_share_max = 1.5\n", None, ["[strategy] la_share_max = 1.5", "<= 1"]),
    "la_share_below_0": ("[strategy]\nla_share_max = -0.1\n", None, ["[strategy] la_share_max = -0.1", ">= 0"]),
    "correlation_1": ("[strategy]\ncorrelation = 1.0\n", None, ["[strategy] correlation = 1.0", "0.99"]),
    "negative_max_apps": ("[strategy]\nmax_applications = -1\n", None, ["[strategy] max_applications", ">= 1"]),
    "min_above_max": ("[strategy]\nmin_applications = 5\nmax_applications = 3\n", None,
                      ["min_applications=5", "max_applications=3"]),
    "unknown_season": ("[strategy]\nseason = \"1999\"\n", None, ["[strategy] season = '1999'", "2026",
                                                                  "(or add data/fees/eras_1999.toml and that season's "
                                                                  "ERAS signal counts: docs/maintaining.md)"]),
    "unknown_objective": ("[strategy]\nobjective = \"fun\"\n", None, ["[strategy] objective = 'fun'", "p_match"]),
    "unknown_tier": ("[strategy]\nutility = { beach = 1.0 }\n", None, ["[strategy] utility", "beach", "la, west"]),
    "nan_utility": ("[strategy]\nobjective = \"utility\"\nutility = { la = nan }\n", None,
                    ["[strategy] utility", "finite"]),
    "must_apply_unknown": ("[strategy]\nmust_apply = [\"A1\", \"ZZ-9\"]\n", None,
                           ["[strategy] must_apply", "'ZZ-9'", "fix the id or remove it"]),
    "never_apply_unknown": ("[strategy]\nnever_apply = [\"QQ-1\"]\n", None,
                            ["[strategy] never_apply", "'QQ-1'", "fix the id or remove it"]),
    "must_and_never": ("[strategy]\nmust_apply = [\"A1\"]\nnever_apply = [\"A1\"]\n", None,
                       ["A1", "both must_apply and never_apply"]),
    "must_apply_not_a_list": ("[strategy]\nmust_apply = \"A1\"\n", None, ["[strategy] must_apply", "list"]),
    "unknown_specialty": ("[applicant]\nspecialties = [\"Dermatology\"]\n", NO_P_CSV,
                          ["'Dermatology'", "Internal Medicine", "specialties"]),
    "specialty_twice": ("[applicant]\nspecialties = [\"Internal Medicine\", \"Internal Medicine\"]\n", NO_P_CSV,
                        ["[applicant] specialties", "'Internal Medicine' is listed twice; list each specialty once"]),
    "no_applicant_empty_p": ("[strategy]\nbudget = 100\n", csv_lines("B1,b,Internal Medicine,Columbus,OH,false,"),
                             ["no [applicant] section and", "gives no p_match (the column is missing, or empty on "
                              "every row)"]),
    "no_applicant_no_p": ("[strategy]\nbudget = 100\n", NO_P_CSV, ["no [applicant] section", "add [applicant]",
                                                                 "pass --catalog with a CSV that gives p_match"]),
    "step2_out_of_range": ("[applicant]\nstep2_score = 400\n", NO_P_CSV, ["[applicant] step2_score = 400", "<= 300"]),
    "usce_inconsistent": ("[applicant]\nusce_months = 1\nusce_california_months = 3\n", NO_P_CSV,
                          ["usce_california_months", "usce_months"]),
    "not_utf8": ("[strategy]\n# caf\xe9\nbudget = 1\n".encode("latin-1"), None, ["UTF-8"]),
    "binary": (bytes(range(256)), None, ["not"]),
}


@pytest.mark.parametrize("case", sorted(PROFILE_CASES))
def test_bad_profile(capsys, tmp_path, case):
    text, cat_text, want = PROFILE_CASES[case]
    prof = tmp_path / f"{case}.toml"
    (prof.write_bytes if isinstance(text, bytes) else prof.write_text)(text)
    cat = tmp_path / "c.csv"
    cat.write_text(cat_text or GOOD_CSV)
    out = tmp_path / "out.json"
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--out", out)
    assert_one_line(err, code)
    assert f"{case}.toml" in err
    for w in want:
        assert w in err, (w, err)
    assert not out.exists()


# profile cases whose fault shows only against the catalog: the file alone loads
NEEDS_CATALOG = {"must_apply_unknown", "never_apply_unknown", "no_applicant_no_p", "no_applicant_empty_p",
                 "unknown_specialty"}


def test_profile_loader_raises_input_error_only(tmp_path):
    """load_profile alone: a case either loads (its fault needs the catalog) or raises one
    InputError line naming the file; nothing else escapes (pytest.raises fails on any other)."""
    for case, (text, _, _) in PROFILE_CASES.items():
        prof = tmp_path / f"{case}.toml"
        (prof.write_bytes if isinstance(text, bytes) else prof.write_text)(text)
        if case in NEEDS_CATALOG:
            assert load_profile(prof).path == str(prof), case
            continue
        with pytest.raises(InputError) as e:
            load_profile(prof)
        msg = str(e.value)
        assert f"{case}.toml" in msg and "\n" not in msg, (case, msg)


LATIN1 = {  # each reader, and a file whose third line has an "é" saved as Latin-1
    "profile": ('[applicant]\nspecialties = ["Internal Medicine"]\n# Jos\xe9\nstep2_score = 240\n',
                lambda path: load_profile(path)),
    "list": ("program_id\nIM-0001\nIM-0002 # Jos\xe9\n", lambda path: load_list(path)),
    "season": ("program_id,status\nIM-0001,applied\nIM-0002,invited # Jos\xe9\n", lambda path: load_season(path)),
    "web profile": ('[applicant]\nspecialties = ["Internal Medicine"]\n# Jos\xe9\n',
                    lambda path: service.parse_profile(path.read_bytes(), path.name)),
    "web catalog": ("program_id,name,specialty,city,state\nA1,a,Internal Medicine,Columbus,OH\nA2,Caf\xe9,IM,X,OH\n",
                    lambda path: service.parse_catalog(path.read_bytes(), path.name)),
    "web season": ("program_id,status\nIM-0001,applied\nIM-0002,invited # Jos\xe9\n",
                   lambda path: service.parse_season(path.read_bytes(), path.name)),
}


@pytest.mark.parametrize("reader", sorted(LATIN1))
def test_a_file_not_in_utf8_is_refused_with_the_line_and_byte(tmp_path, reader):
    """Every reader names the file, the line and the byte of the first character that is not
    UTF-8 (a web upload had said only "not UTF-8 text"), and what to save it as."""
    text, read = LATIN1[reader]
    path = tmp_path / "in.file"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as e:
        read(path)
    msg = str(e.value)
    assert msg.startswith(f"{path.name}: line 3: not UTF-8 text (byte 0xe9") or \
        msg.startswith(f"{path}: line 3: not UTF-8 text (byte 0xe9"), msg
    assert "UTF-8" in msg.split(";", 1)[1] and "\n" not in msg


def test_unknown_specialty_without_catalog(capsys, tmp_path):
    prof = tmp_path / "derm.toml"
    prof.write_text("[applicant]\nspecialties = [\"Dermatology\"]\n")
    code, _, err = run(capsys, "solve", prof)
    assert_one_line(err, code)
    assert "derm.toml" in err and "'Dermatology'" in err and "--catalog" in err


# "family_medicine" differs from the tables' "Family Medicine" by case and punctuation only: the
# profile itself refuses it (tests/test_catalog_review20.py), before a demo catalog is looked for
@pytest.mark.parametrize("typed, meant", [("Famly Medicine", "Family Medicine"), ("pediatric", "Pediatrics")])
def test_demo_specialty_names_as_written_with_a_guess(capsys, tmp_path, typed, meant):
    prof = tmp_path / "spec.toml"
    prof.write_text(f'[applicant]\nspecialties = ["{typed}"]\nstep2_score = 240\n[strategy]\nbudget = 500\n')
    code, _, err = run(capsys, "solve", prof, "--draws", "0")
    assert_one_line(err, code)
    assert f"no demo catalog for specialty {typed!r}; did you mean {meant!r}?" in err
    assert "'Family Medicine', 'Internal Medicine', 'Pediatrics', 'Psychiatry'" in err
    assert "family_medicine," not in err


def test_profile_errors_point_to_example_profiles_that_exist(capsys, tmp_path):
    """Outside a checkout there is no data/profiles/ in the working directory: messages name the
    installed examples' folder (it exists), never the relative one."""
    from allocator.inputs.profile import EXAMPLES

    assert EXAMPLES.is_dir() and (EXAMPLES / "typical_us_img.toml").is_file()
    prof = tmp_path / "p.toml"
    for text in ("[strategy]\nzzz = 1\n", "[zzz]\nbudget = 1\n"):
        prof.write_text(text)
        code, _, err = run(capsys, "solve", prof, "--draws", "0")
        assert_one_line(err, code)
        assert str(EXAMPLES) in err and " data/profiles/" not in err
    code, _, err = run(capsys, "solve", tmp_path / "nope.toml")
    assert str(EXAMPLES) in err and "see data/profiles/" not in err


def test_a_specialty_listed_twice_is_the_profiles_fault_without_catalog(capsys, tmp_path):
    """Without --catalog the demo catalog was read twice and blamed ("program_id 'IM-0001' appears on
    lines 2, 760"); with one it was accepted.  The profile names the repeat either way."""
    prof = tmp_path / "p.toml"
    prof.write_text('[applicant]\nspecialties = ["Internal Medicine", "Pediatrics", "Internal Medicine"]\n')
    code, _, err = run(capsys, "solve", prof, "--draws", "0")
    assert_one_line(err, code)
    assert f"{prof}: [applicant] specialties" in err and "'Internal Medicine' is listed twice" in err
    assert "demo_internal_medicine" not in err


def test_shipped_tiny_profile_without_catalog_names_its_catalog(capsys):
    """tiny_demo.toml has no [applicant]: run without --catalog, the error says which catalog it goes with."""
    code, _, err = run(capsys, "solve", Path(__file__).resolve().parents[1] / "data" / "profiles" / "tiny_demo.toml")
    assert_one_line(err, code)
    assert "pass --catalog with a CSV that gives p_match for every program" in err
    assert "--catalog data/catalogs/tiny_p_match.csv" in err


def test_missing_profile_file(capsys, tmp_path):
    code, _, err = run(capsys, "solve", tmp_path / "nope.toml", "--catalog", tmp_path / "c.csv")
    assert_one_line(err, code)
    assert "nope.toml" in err and "no such profile file" in err


# command-line options: (extra args, expected fragments)
OPTION_CASES = {
    "budget_negative": (["--budget", "-5"], ["budget = -5", ">= 0"]),
    "budget_not_a_number": (["--budget", "lots"], ["--budget", "number"]),
    "budget_inf": (["--budget", "inf"], ["budget", "finite"]),
    "la_share_2": (["--la-share-max", "2"], ["la_share_max = 2", "<= 1"]),
    "correlation_1.5": (["--correlation", "1.5"], ["correlation = 1.5", "0.99"]),
    "max_apps_negative": (["--max-apps", "-1"], ["max_applications = -1", ">= 1"]),
    "max_apps_fraction": (["--max-apps", "2.5"], ["--max-apps", "integer"]),
    "time_limit_0": (["--time-limit", "0"], ["--time-limit", "positive"]),
    "time_limit_negative": (["--time-limit", "-3"], ["--time-limit", "positive"]),
    "season_unknown": (["--season", "1999"], ["season = '1999'", "2026", "(or add data/fees/eras_1999.toml"]),
    "objective_unknown": (["--objective", "fun"], ["--objective", "p_match"]),
    "method_unknown": (["--method", "magic"], ["--method", "milp"]),
    "draws_negative": (["--draws", "-1"], ["--draws", "between 0 and"]),
    "target_out_of_range": (["--min-cost", "--target", "1.5"], ["--target", "between 0 and 1"]),
    "min_cost_no_target": (["--min-cost"], ["--min-cost", "--target"]),
    "unknown_option": (["--bogus"], ["--bogus"]),
}


@pytest.mark.parametrize("case", sorted(OPTION_CASES))
def test_bad_option(capsys, tmp_path, case):
    extra, want = OPTION_CASES[case]
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    out = tmp_path / "out.json"
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--out", out, *extra)
    assert_one_line(err, code)
    for w in want:
        assert w in err, (w, err)
    assert not out.exists()


def test_missing_argument_and_command(capsys):
    code, _, err = run(capsys, "solve")
    assert_one_line(err, code)
    assert "profile" in err
    code, _, err = run(capsys, "no-such-command")
    assert_one_line(err, code)
    assert "no-such-command" in err


def test_out_into_missing_folder(capsys, tmp_path):
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    out = tmp_path / "no" / "such" / "dir" / "best.json"
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--json", "--out", out)
    assert_one_line(err, code)
    assert str(out) in err and "does not exist" in err
    assert not out.parent.exists()


def test_out_is_a_folder(capsys, tmp_path):
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--out", tmp_path)
    assert_one_line(err, code)
    assert "folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.csv", "p.toml"]


def test_failed_runs_leave_no_output(capsys, tmp_path):
    """Infeasible (3) and bad input (2): --out FILE does not exist afterwards."""
    cat = tmp_path / "c.csv"
    cat.write_text(GOOD_CSV)
    prof = tmp_path / "p.toml"
    prof.write_text("[strategy]\nbudget = 10\nmin_applications = 3\n")
    out = tmp_path / "out.json"
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--out", out)
    assert code == 3 and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file


def test_write_atomic_all_or_nothing(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    write_atomic(target, "old\n")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(cli.os, "replace", boom)
    with pytest.raises(InputError, match="disk full"):  # an OS error is bad output input: exit 2
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # temp file removed


# list files for `simulate --list`
LIST_CASES = {
    "unknown_program": ("A1\nNOPE-9\n", ["line 2: list names 'NOPE-9'", "not a candidate"]),
    "unknown_program_csv": ("# mine\nprogram_id,signal\nA1,\nNOPE-9,\n", ["line 4: list names 'NOPE-9'"]),
    "listed_twice": ("A1\nA2\nA1\n", ["'A1'", "twice"]),
    "bad_json": ("{\"selected\": [\n", ["not the JSON of `solve --json`"]),
    "json_without_selected": ("{\"status\": \"optimal\"}\n", ["not the JSON", "selected"]),
    "json_unknown_program": ("{\"selected\": [{\"program_id\": \"ZZ\", \"signal\": null}]}\n",
                             ["selected[0]: list names 'ZZ'"]),
    "not_utf8": (b"A1\n\xff\xfe\n", ["UTF-8"]),
    "semicolons": ("program_id;signal\nA1;\nA2;gold\n", ["line 1: the file looks separated by semicolons"]),
}


@pytest.mark.parametrize("case", sorted(LIST_CASES))
def test_bad_list_file(capsys, tmp_path, case):
    text, want = LIST_CASES[case]
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    lst = tmp_path / f"{case}.txt"
    (lst.write_bytes if isinstance(text, bytes) else lst.write_text)(text)
    out = tmp_path / "out.json"
    code, _, err = run(capsys, "simulate", prof, "--catalog", cat, "--list", lst, "--draws", "100", "--out", out)
    assert_one_line(err, code)
    assert f"{case}.txt" in err
    for w in want:
        assert w in err, (w, err)
    assert not out.exists()


def test_simulate_bad_options(capsys, tmp_path):
    prof, cat, lst = tmp_path / "p.toml", tmp_path / "c.csv", tmp_path / "l.txt"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    lst.write_text("A1\n")
    code, _, err = run(capsys, "simulate", prof, "--catalog", cat, "--list", lst, "--draws", "0")
    assert_one_line(err, code)
    assert "--draws" in err
    code, _, err = run(capsys, "simulate", prof, "--catalog", cat, "--list", lst, "--correlation", "1.5")
    assert_one_line(err, code)
    assert "correlation" in err
    code, _, err = run(capsys, "simulate", prof, "--catalog", cat, "--list", tmp_path / "none.txt")
    assert_one_line(err, code)
    assert "none.txt" in err


@pytest.mark.parametrize("what", ["catalog", "profile"])
def test_subprocess_one_line_no_traceback(tmp_path, what):
    """The installed entry point, as a user runs it: binary input, one line, exit 2."""
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    (cat if what == "catalog" else prof).write_bytes(bytes(range(256)) * 8)
    r = subprocess.run([sys.executable, "-c", "from allocator.cli import main; main()", "solve", str(prof),
                        "--catalog", str(cat), "--draws", "0"], capture_output=True, text=True, timeout=120,
                       cwd=Path(__file__).parent)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("allocator: error: "), r.stderr
    assert (cat.name if what == "catalog" else prof.name) in lines[0]
    assert r.stdout == ""


@pytest.mark.parametrize("name", ["list.xlsx", "report.PDF", "list.html"])
def test_out_with_a_format_it_does_not_write_is_refused_before_any_work(capsys, tmp_path, name):
    """--out writes JSON, CSV or the text report; a spreadsheet's or document's name got the text
    report under it. Refused at once (exit 2, one line, nothing written); .txt and no suffix still work."""
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    out = tmp_path / name
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--out", out)
    assert_one_line(err, code)
    assert f"not {out.suffix.lower()}" in err and "for solve and estimate, a .csv" in err and not out.exists()
    for ok in ("r.txt", "report"):
        code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0", "--out", tmp_path / ok)
        assert code == 0 and (tmp_path / ok).read_text().strip(), err


@pytest.mark.parametrize("toml, want", [
    ('[applicant]\nspecialties = []\nstep2_score = 240\n',
     "[applicant] specialties = []: give at least 1 value; the list is empty or too short"),
    ('[applicant]\nstep2_score = 240\n[strategy]\ngeographic_preference = "maybe"\n',
     "[strategy] geographic_preference = 'maybe': use 'optimize', 'none', or a list of up to 3 Census divisions"),
    ('[applicant]\nstep2_score = 240\n[strategy]\ngeographic_preference = 3\n',
     "[strategy] geographic_preference = 3: use 'optimize', 'none', or a list of up to 3 Census divisions"),
    ('[applicant]\nstep2_score = 240\n[strategy]\nsignals = "some"\n',
     "[strategy] signals = 'some': use 'optimize' or 'none'"),
])
def test_profile_errors_speak_plainly_not_in_pydantic_words(capsys, tmp_path, toml, want):
    """An empty list, a wrong choice and a union's branch name ("literal['optimize','none']") came out
    in pydantic's words ("List should have at least 1 item after validation, not 0")."""
    prof = tmp_path / "p.toml"
    prof.write_text(toml)
    code, _, err = run(capsys, "solve", prof, "--draws", "0")
    assert_one_line(err, code)
    assert want in err and "should" not in err and "literal[" not in err, err


def test_a_misspelled_required_column_is_named_with_the_one_it_resembles(capsys, tmp_path):
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV.replace("specialty", "speciality", 1).replace(",city,", ",City,", 1))
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0")
    assert_one_line(err, code)
    assert "missing required column(s) specialty, city (did you mean 'speciality' for 'specialty', 'City' for " \
           "'city'?)" in err


def test_min_cost_with_an_objective_is_refused(capsys, tmp_path):
    prof, cat = tmp_path / "p.toml", tmp_path / "c.csv"
    prof.write_text(GOOD_TOML)
    cat.write_text(GOOD_CSV)
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--min-cost", "--target", "0.5", "--objective",
                       "p_match_la")
    assert_one_line(err, code)
    assert "uses no objective; drop --objective p_match_la" in err


def test_the_documented_profile_defaults_are_the_loaders_defaults():
    """docs/formats.md shows every profile field with its default: a user who leaves a field
    out gets what the page says (it once showed example values as defaults)."""
    import tomllib

    from allocator.inputs.profile import Applicant, Strategy

    text = (Path(__file__).resolve().parents[1] / "docs" / "formats.md").read_text()
    block = text[text.index("## Profile TOML"):]
    block = block[block.index("```toml") + len("```toml"):]
    shown = tomllib.loads(block[:block.index("```")])
    assert set(shown) == {"applicant", "strategy"}
    for section, defaults in (("applicant", Applicant()), ("strategy", Strategy())):
        for key, value in shown[section].items():
            assert getattr(defaults, key) == value, (section, key)
    documented = set(shown["applicant"]) | set(shown["strategy"])
    commented = {"step2_score", "correlation", "target_p_match"}   # no default: shown commented
    fields = set(Applicant.model_fields) | set(Strategy.model_fields)
    assert fields - {"step2"} == documented | commented


# ------------------------------------------------------------------ damaged shipped data
@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A copy of the shipped geography and fee tables that a test may damage; the loaders read it
    (their caches cleared before and after)."""
    import shutil

    from allocator.inputs import feefiles, fees, geography
    from allocator.paths import DATA_DIR

    root = tmp_path / "data"
    for sub in ("geography", "fees", "signals"):
        shutil.copytree(DATA_DIR / sub, root / sub)
    caches = (geography._ca_city_county, geography._ca_counties, fees.load_schedule, fees.signals_available)
    for c in caches:
        c.cache_clear()
    monkeypatch.setattr(geography, "DATA_DIR", root)
    monkeypatch.setattr(fees, "DATA_DIR", root)
    monkeypatch.setattr(feefiles, "DATA_DIR", root)
    yield root
    for c in caches:
        c.cache_clear()


@pytest.mark.parametrize("damage, want", [
    ("missing", "the shipped geography table is missing"),
    ("renamed", "the shipped geography table has no column 'city' (its header must include city, county)"),
    ("binary", "the shipped geography table is not UTF-8 text"),
    ("empty", "the shipped geography table is empty"),
    ("header_only", "the shipped geography table has no rows"),
])
def test_a_damaged_city_table_is_one_line_naming_it(capsys, tmp_path, data_copy, damage, want):
    """Was exit 1 with KeyError/UnicodeDecodeError/FileNotFoundError, or (empty) exit 0 with every
    California city outside Greater LA."""
    table = data_copy / "geography" / "ca_cities_regions.csv"
    text = table.read_text()
    if damage == "missing":
        table.unlink()
    elif damage == "renamed":
        table.write_text(text.replace("city,county", "town,county", 1))
    elif damage == "binary":
        table.write_bytes(b"\xe0\xff" + text.encode())
    else:
        table.write_text("" if damage == "empty" else text.splitlines()[0] + "\n")
    cat = tmp_path / "c.csv"
    cat.write_text("program_id,name,specialty,city,state,p_match\nA1,a,Internal Medicine,Torrance,CA,0.2\n")
    prof = tmp_path / "p.toml"
    prof.write_text(GOOD_TOML)
    code, out, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0")
    assert_one_line(err, code)
    assert f"{table}: {want}" in err and "restore it" in err and out == ""


def _solve_good_inputs(capsys, tmp_path) -> str:
    """Solve the good catalog and profile (over damaged shipped data): the one-line error."""
    cat, prof = tmp_path / "c.csv", tmp_path / "p.toml"
    cat.write_text(GOOD_CSV)
    prof.write_text(GOOD_TOML)
    code, _, err = run(capsys, "solve", prof, "--catalog", cat, "--draws", "0")
    assert_one_line(err, code)
    return err


def test_a_fee_schedule_takes_numbers_not_text(capsys, tmp_path, data_copy):
    fee = data_copy / "fees" / "eras_2026.toml"
    fee.write_text(fee.read_text().replace("per_program = 30", 'per_program = "30"'))
    err = _solve_good_inputs(capsys, tmp_path)
    assert f"{fee}: tiers.1.per_program = '30'" in err


def test_a_folder_named_as_a_fee_schedule_is_named(capsys, tmp_path, data_copy):
    fee = data_copy / "fees" / "eras_2026.toml"
    fee.unlink()
    fee.mkdir()
    err = _solve_good_inputs(capsys, tmp_path)
    assert f"{fee}: is a folder, not the fee schedule of season '2026'" in err
    from allocator.inputs.fees import available_seasons

    assert "2026" not in available_seasons() and "2025" in available_seasons()


@pytest.mark.parametrize("value, hint", [("30", " (a share between 0 and 1: for 30%, write 0.3)"),
                                         ("2.5", " (a share between 0 and 1: for 2.5%, write 0.025)"), ("1.5", ""),
                                         ("250", "")])
def test_a_percentage_given_for_a_share_says_how_to_write_it(tmp_path, value, hint):
    """la_share_max = 30 said only "must be <= 1.0"; a value up to 100 reads as a percentage."""
    from allocator.inputs.profile import load_profile

    p = tmp_path / "p.toml"
    p.write_text(f'[applicant]\nspecialties = ["Internal Medicine"]\nstep2_score = 230\n[strategy]\nbudget = 800\n'
                 f"la_share_max = {value}\n")
    with pytest.raises(InputError) as e:
        load_profile(p)
    assert str(e.value).endswith(f"[strategy] la_share_max = {value}: must be <= 1.0; change it{hint}")
