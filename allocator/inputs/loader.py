"""The one TOML + pydantic loader behind every input file (profiles, fee schedules,
model cards), and the CSV files' one check of their separator (:func:`refuse_semicolons`:
semicolons or tabs).

- :func:`read_toml` reads a file and turns a syntax error, a non-UTF-8 file or a
  reserved key into one :class:`InputError` line naming the file (and, for syntax
  errors, the line and column that ``tomllib`` reports).
- :func:`validate` checks a parsed document against a pydantic model and turns the first
  ``ValidationError`` into one line naming the file and the field.

Each input keeps its own wording (a profile names ``[section] field``, a card a dotted
path) through the keyword arguments; the mechanics are here once.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Iterable, Mapping, TypeVar

from pydantic import BaseModel, ValidationError

from allocator.errors import InputError, not_utf8

M = TypeVar("M", bound=BaseModel)

_OPS = {"greater_than_equal": ">=", "less_than_equal": "<=", "greater_than": ">", "less_than": "<"}


def refuse_semicolons(header: list[str], where: str) -> None:
    """A CSV header read as one field that holds semicolons (``program_id;name;...``, as Excel
    saves CSV where the decimal mark is a comma) or tabs (Excel's "Text (Tab delimited)") is
    refused with what to do, rather than with "missing column(s)" for columns the file has.
    ``where``: the file (and line) for the message."""
    if len(header) == 1 and ";" in header[0]:
        raise InputError(f"{where}: the file looks separated by semicolons (;), not commas, as Excel saves CSV in "
                         "many countries; save it as comma-separated CSV (for example from LibreOffice or Google "
                         "Sheets, or with the system's list separator set to a comma)")
    if len(header) == 1 and "\t" in header[0]:
        raise InputError(f"{where}: the file looks separated by tabs, not commas (Excel's \"Text (Tab delimited)\"); "
                         "save it as comma-separated CSV (Excel: \"CSV UTF-8 (Comma delimited)\")")


def read_toml(path: str | Path, *, what: str = "file", reserved: Iterable[str] = ()) -> dict:
    """Parse a TOML file; every failure is one :class:`InputError` line naming ``path``.

    ``what`` names the kind of file in the UTF-8 message ("profile", "model card");
    a key in ``reserved`` (filled in by the loader itself, such as ``path``) is refused.
    The caller checks that the file exists (its message says where such files live).
    """
    p = Path(path)
    try:
        data = p.read_bytes()
        doc = tomllib.loads(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))  # a byte-order mark is no error
    except tomllib.TOMLDecodeError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else "syntax error"
        raise InputError(f"{p}: not valid TOML ({first}); fix the syntax there") from None
    except UnicodeDecodeError as e:
        raise not_utf8(p, e, f"save the {what} as UTF-8 TOML") from None
    except ValueError as e:  # e.g. an integer of thousands of digits (Python's conversion limit)
        raise InputError(f"{p}: a value Python cannot read ({str(e).splitlines()[0][:80]}); shorten it") from None
    except OSError as e:
        raise InputError(f"{p}: cannot be read ({e.strerror or type(e).__name__}); "
                         "check the path and its permissions") from None
    for key in reserved:
        if key in doc:
            raise InputError(f"{p}: {key}: unknown key; remove it")
    return doc


def _percent_hint(err: dict) -> str:
    """" (a share between 0 and 1: for 30%, write 0.3)" when a share in [0, 1] got what reads as
    a percentage (2 to 100; 1.5 is as likely a slip as 1.5%)."""
    limit = next(iter(err["ctx"].values()))
    value = err.get("input")
    if err.get("type") != "less_than_equal" or limit != 1 or isinstance(value, bool) or \
            not isinstance(value, (int, float)) or not 2 <= value <= 100:
        return ""
    return f" (a share between 0 and 1: for {value:g}%, write {value / 100:g})"


def field_error(e: ValidationError, where: str, *, prefix: str | None = None, sections: bool = False,
                hints: Mapping[str, str] | None = None) -> str:
    """One line for the first error of ``e``: ``where: field = value: what is wrong``.

    ``prefix`` is prepended to the field's location (a model validated on its own, such
    as ``strategy``); ``sections`` writes the first part of the location as a TOML
    section (``[strategy] budget``) instead of a dotted path; ``hints`` replaces the
    message for pydantic error types (``missing``, ``extra_forbidden``, ...) and then the
    value is not shown.
    """
    err = e.errors()[0]
    # pydantic names the branch of a union it tried ("literal['optimize','none']", "list[str]"): not a field
    loc = [str(x) for x in err["loc"] if not (isinstance(x, str) and ("[" in x or x.startswith("function-")))]
    if prefix:
        loc = [prefix, *loc]
    if sections and len(loc) > 1:
        label = f"[{loc[0]}] {'.'.join(loc[1:])}"
    else:
        label = ".".join(loc)
    kind = err.get("type", "")
    if hints and kind in hints:
        return f"{where}: {label}: {hints[kind]}"
    msg = err["msg"].removeprefix("Value error, ")
    if kind in _OPS and err.get("ctx"):
        msg = f"must be {_OPS[kind]} {next(iter(err['ctx'].values()))}; change it" + _percent_hint(err)
    elif kind == "too_short" and err.get("ctx"):
        n = err["ctx"].get("min_length", 1)
        msg = f"give at least {n} {'value' if n == 1 else 'values'}; the list is empty or too short"
    elif kind == "literal_error":
        msg = msg.replace("Input should be ", "use ")
    val = err.get("input")
    shown = f" = {shorten(val)}" if (val is not None and not isinstance(val, dict) and kind != "missing") else ""
    return f"{where}: {label}{shown}: {msg}"


SHOWN = 80  # characters of a value echoed in a message


def shorten(val) -> str:
    """``repr(val)``, cut to about :data:`SHOWN` characters (a 400-digit number is not echoed whole)."""
    r = repr(val)
    if len(r) <= SHOWN:
        return r
    return f"{r[:SHOWN - 10]}... ({len(r)} characters)"


def validate(model: type[M], data: dict, where: str, **how) -> M:
    """``model.model_validate(data)``; a ``ValidationError`` becomes one :class:`InputError`
    line (see :func:`field_error` for ``how``: prefix, sections, hints)."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InputError(field_error(e, where, **how)) from None
