"""The catalog read without pandas: the same table as pandas' reader, column by column, and
the selections and outputs built on it (allocator.inputs.catalog)."""
import io

import numpy as np
import pandas as pd
import pytest

from allocator.inputs.catalog import (COLUMNS, NUMERIC, catalog_from_frame, catalog_from_text, load_catalog)
from allocator.inputs.listfile import list_csv
from allocator.paths import DATA_DIR

HEADER = "program_id,name,specialty,city,state,la_area,p_match,fee_extra,positions,setting,county\n"
TRICKY = {
    "quoted_commas": HEADER + 'A1,"Program, with commas",Internal Medicine,Columbus,OH,false,0.1,5,3,university,\n'
                              'A2,"He said ""hi""",Internal Medicine,Los Angeles,CA,,0.2,,,community,Los Angeles\n',
    "blank_lines_and_spaces": HEADER + "\nA1, a , Internal Medicine,Columbus,OH,false,0.1,0,,,\n\n"
                                       "A2,b,Internal Medicine,Torrance,CA,true,0.3,1.5,2,county,\n\n",
    "crlf_and_bom": "\ufeff" + (HEADER + "A1,a,Internal Medicine,Columbus,OH,false,0.1,0,,,\r\n").replace("\n", "\r\n"),
}
# Unlike pandas, allocator refuses a short row (pandas reads its last cells as empty) and skips a
# row of only commas (pandas reads it as a program with every cell empty): tests/test_catalog_review20.py.


def _pandas_catalog(text: str, label: str):
    """The catalog as pandas' CSV reader gave it before (the reference)."""
    df = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), dtype=str, keep_default_na=False, skipinitialspace=True)
    df.columns = [str(c).strip() for c in df.columns]
    return catalog_from_frame(df, label)


def _same(cat, ref) -> None:
    pd.testing.assert_frame_equal(cat.df, ref.df)
    for name in COLUMNS:
        ours, theirs = cat.column(name), ref.df[name]
        if name in NUMERIC:
            assert np.array_equal(ours, pd.to_numeric(theirs, errors="coerce").to_numpy(float), equal_nan=True), name
        else:  # pandas' str columns hold NaN where the array holds None
            assert [None if x is None else x for x in ours] == [None if pd.isna(x) else x for x in theirs], name


@pytest.mark.parametrize("path", sorted((DATA_DIR / "catalogs").glob("*.csv")), ids=lambda p: p.name)
def test_shipped_catalogs_read_as_pandas_reads_them(path):
    text = path.read_text(encoding="utf-8-sig")
    _same(load_catalog(path), _pandas_catalog(text, str(path)))


@pytest.mark.parametrize("case", sorted(TRICKY))
def test_quotes_blank_lines_and_bom_read_as_pandas_reads_them(case):
    _same(catalog_from_text(TRICKY[case], case), _pandas_catalog(TRICKY[case], case))


def test_select_and_with_column_keep_rows_and_frames_together():
    cat = load_catalog(DATA_DIR / "catalogs" / "demo_pediatrics.csv")
    keep = np.arange(len(cat)) % 3 == 1
    sub = cat.select(keep)
    pd.testing.assert_frame_equal(sub.df, cat.df[keep].reset_index(drop=True))
    order = np.array([5, 0, 3])
    assert list(sub.select(order).column("program_id")) == list(sub.column("program_id")[order])
    changed = sub.with_column("fee_extra", np.arange(len(sub), dtype=float))
    assert list(changed.column("fee_extra")) == list(range(len(sub)))
    assert list(changed.df["fee_extra"]) == list(range(len(sub)))
    assert list(changed.select([2, 1]).column("fee_extra")) == [2.0, 1.0]
    assert sub.column("fee_extra")[0] == cat.column("fee_extra")[keep][0]  # the original is untouched
    with pytest.raises(ValueError):
        sub.with_column("fee_extra", [1.0])
    with pytest.raises(ValueError):
        cat.column("program_id")[0] = "X"  # columns are read-only: a caller cannot change the catalog
    first = sub.column("program_id")[0]
    got = sub.column("program_id")
    if got.flags.writeable:  # a selection's column is a copy
        got[0] = "X"
    assert sub.column("program_id")[0] == first


def test_list_csv_writes_what_pandas_wrote():
    rows = [{"program_id": "A1", "name": 'Program, "A"', "la_area": True, "p_match": 0.17943843677396984,
             "signal": "gold", "division": None},
            {"program_id": "A2", "name": "B", "la_area": False, "p_match": 1 / 3, "signal": None,
             "division": "Pacific"}]
    frame = pd.DataFrame(rows)
    frame["signal"] = [s if isinstance(s, str) else "" for s in frame["signal"]]
    frame["status"], frame["date"] = "applied", ""
    ref = frame[["program_id", "signal", "status", "date", "name", "la_area", "p_match", "division"]].to_csv(index=False)
    assert list_csv(rows, ("Pacific",)) == "# geographic_preference: Pacific\n" + ref
    assert list_csv([], columns=["program_id", "name", "signal"]) == "program_id,signal,status,date,name\n"


H = "program_id,name,specialty,city,state,p_match\n"
REFUSED = {  # text -> fragments of the one-line message (file lines count blank lines too)
    "truncated_inside_quotes": (H + 'A1,a,Internal Medicine,Columbus,OH,0.1\nA2,b,Internal Medicine,Boston,MA,"0.2\n',
                                ["not a readable CSV", "quoted value is not closed"]),
    # a line of empty quotes ("") is a row with every cell empty: skipped, as ",,,," is
    "ragged_after_blank_lines": (H + "\n\nA1,a,Internal Medicine,Columbus,OH,0.1,x\n",
                                 ["line 4", "more fields than the header"]),
    "short_row": (H + "A1,a,Internal Medicine,Columbus\n", ["line 2: 4 fields, the header has 6"]),
    "bad_value_after_blank_lines": (H + "\n\nA1,a,Internal Medicine,Columbus,OH,1.5\n", ["line 4 (A1)", "p_match"]),
    "duplicate_across_a_blank_line": (H + "A1,a,Internal Medicine,Columbus,OH,0.1\n\n"
                                          "A1,b,Internal Medicine,Columbus,OH,0.1\n", ["lines 2, 4", "unique"]),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_catalogs_name_the_file_line(case):
    from allocator.errors import InputError

    text, want = REFUSED[case]
    with pytest.raises(InputError) as e:
        catalog_from_text(text, case)
    msg = str(e.value)
    assert msg.startswith(case + ":") and "\n" not in msg
    for w in want:
        assert w in msg, (w, msg)


def test_text_after_a_closing_quote_reads_as_pandas_read_it():
    text = H + 'A1,"b"c,Internal Medicine,Columbus,OH,0.1\n'
    assert list(catalog_from_text(text, "t").column("name")) == ["bc"]
    _same(catalog_from_text(text, "t"), _pandas_catalog(text, "t"))


def test_a_table_with_no_row_keeps_its_header():
    from rich.console import Console

    from allocator.output.report import render_programs

    c = Console(record=True, width=100)
    render_programs([], c, columns=("program_id", "name", "city", "state", "tier", "p_match", "signal"))
    text = c.export_text()
    assert "P(success)" in text and "program" in text
