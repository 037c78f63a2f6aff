"""What the form template needs (:class:`FormState`): the values, each error under the field it
names, in the form's words (labels, not the profile TOML's keys)."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from allocator.web.forms import OBJECTIVE_WORDS, WHERE, FormErrors, field_of, fields, related
from allocator.web.messages import web_message
from allocator.web.seasonform import SEASON_FIELDS, SEASON_WHERE


@dataclass
class FormState:
    """What the form template needs: values, the error per field, a message for the whole form."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    message: str = ""

    @property
    def first_error(self) -> str | None:
        """The first field with an error, in the order shown (focused after an error)."""
        if not self.errors:  # the template asks once per field: no form rebuilt for a clean form
            return None
        every = fields()
        order = [f.name for f in every if f.section != "run"] + ["catalog"] + \
                [f.name for f in every if f.section == "run"] + [f.name for f in SEASON_FIELDS]
        return next((n for n in order if n in self.errors), None)

    def fail(self, e: Exception, default_field: str | None = None) -> None:
        """Each error (every one of :class:`FormErrors`) under the field it names, else above the
        form, in the form's words (:func:`form_words`); a field keeps its first error."""
        for one in e.errors if isinstance(e, FormErrors) else [e]:
            msg = web_message(one)
            name = field_of(msg) or default_field
            if name:
                for n in related(name, msg):
                    self.errors.setdefault(n, form_words(msg))
            else:
                self.message = self.message or form_words(msg)


SECTION_TITLES = {"applicant": "You", "strategy": "Budget, limits and strategy", "run": "How to solve"}


@functools.lru_cache(maxsize=1)
def _labels() -> dict[str, str]:
    """Each field's label on the form, by the profile key (or season option) it stands for."""
    out = {f.name: f.label for f in fields() + SEASON_FIELDS}
    out["utility"] = "Utilities (LA, West, elsewhere)"  # the loader's word for the three utility fields
    return out


def form_words(message: str) -> str:
    """A message about the form in the form's words, for the page: the applicant sees the form's
    labels, not the profile TOML's keys.  The "profile form: " or "season update: " prefix is left
    out, and each key that names a field is replaced by that field's label: the message's subject
    as it stands ("[strategy] budget = -5.0: ..." -> "Budget = -5.0: ..."), any other one quoted
    ("raise [strategy] budget" -> "raise “Budget”", "min_applications=90" ->
    "“Fewest applications” (90)").  Keys without an underscore are replaced only in their
    [section] form ("budget" alone is a word of the sentence).  The JSON API keeps the keys: its
    callers send a profile."""
    labels = _labels()

    def named(key: str, value: str | None, subject: bool) -> str:
        label = labels[key] if subject else f"\u201c{labels[key]}\u201d"
        return label + (f" ({value})" if value else "")

    msg = re.sub(rf"^(?:{re.escape(WHERE)}|{re.escape(SEASON_WHERE)}): (?:(?:applicant|strategy): )?", "", message)
    head = ""
    m = re.match(r"(?:\[(?:applicant|strategy|run)\] )?(\w+)(?:=([^\s;,]+)|(?= = |: ))", msg)
    if m and m.group(1) in labels:
        head, msg = named(m.group(1), m.group(2), True), msg[m.end():]
    msg = re.sub(r"\[(?:applicant|strategy|run)\] (\w+)",
                 lambda k: named(k.group(1), None, False) if k.group(1) in labels else k.group(0), msg)
    msg = re.sub(r"(?<![\w'\"])(\w+)=([^\s;,]+)",
                 lambda k: named(k.group(1), k.group(2), False) if k.group(1) in labels else k.group(0), msg)
    msg = re.sub(r"(?<![\w'\"])([a-z]\w*_\w+)\b",
                 lambda k: named(k.group(1), None, False) if k.group(1) in labels else k.group(0), msg)
    msg = re.sub(r"\[(applicant|strategy|run)\]", lambda k: f"\u201c{SECTION_TITLES[k.group(1)]}\u201d", msg)
    # an objective named by its code ("objective p_match_la needs a target") in the drop-down's words
    msg = re.sub(r"\bobjective (safety_first|p_match_la|p_match|utility)\b",
                 lambda k: f"objective \u201c{OBJECTIVE_WORDS[k.group(1)]}\u201d", msg)
    return head + msg
