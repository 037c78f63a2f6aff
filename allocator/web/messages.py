"""The command line's one-line messages in the words of a page or API reader: the server's
folders left out, command-line options put in words."""
from __future__ import annotations

import re

from allocator.paths import DATA_DIR
from allocator.web.forms import MODE_WORDS, shown


def web_message(e: BaseException) -> str:
    """The CLI's one-line message for a page or API reader: the shipped files named without
    the server's folders, and no command-line options (see :func:`plain_text`)."""
    return plain_text(str(e))


FLAG_WORDS = (  # command-line advice in the words of the page (the most specific first)
    ("pass the --catalog you applied from", "upload the catalog you applied from"),
    ("pass --today", "set a later date for the update"),
    ("--today", "the date of the update"),
    ("--add-budget", "the extra budget"),
    ("--max-add", "the most extra applications"),
    ("pass --catalog with a CSV that gives p_match for every program (the shipped data/profiles/tiny_demo.toml goes "
     "with --catalog data/catalogs/tiny_p_match.csv)", "upload a catalog CSV that gives p_match for every program"),
    ("pass --catalog with your own CSV", "upload your own catalog CSV"),
    ("pass another --catalog", "upload another catalog CSV"),
    ("pass --time-limit SECONDS", "raise the time limit"),
    ("--time-limit SECONDS", "the time limit"),
    ("--time-limit", "the time limit"),
    ("--target-on p10 judges the --min-cost target: add --min-cost, or use --target-on average",  # the API only
     "target_on=p10 judges the target of the cheapest-list search: add min_cost=true, or use target_on=average"),
    ("(--target-on average)", f"(What to find: {MODE_WORDS['cheapest']})"),
    ("use --target-on average", f"choose “{MODE_WORDS['cheapest']}” under What to find (API: target_on=average)"),
    ("; --target-on p10 finds", f"; What to find: {MODE_WORDS['cheapest_p10']} (API: target_on=p10) finds"),
    ("--target-on p10", f"What to find: {MODE_WORDS['cheapest_p10']} (API: target_on=p10)"),
    ("--target-on", "target_on"),
    ("--min-cost", "the cheapest-list search"),
    ("--target", "the target P(match)"),
    ("--budget", "the budget"),
    ("--catalog", "the catalog upload"),
)


def plain_text(text: str) -> str:
    """A message for the page: one line, the server's folders left out, command-line options
    dropped where they are an alternative (" or --budget") and put in words elsewhere."""
    msg = " ".join(str(text).split()).replace(f"{DATA_DIR}/catalogs/", "").replace(f"{DATA_DIR}/", "data/")
    msg = re.sub(r"pass --[a-z][\w-]*(?: [A-Z]+)?(?: \([^)]*\))? or ", "", msg)
    msg = re.sub(r" or --[a-z][\w-]*(?: [A-Z]+\b)?", "", msg)
    for flag, words in FLAG_WORDS:
        msg = msg.replace(flag, words)
    msg = re.sub(r"--([a-z][\w-]*)", lambda m: "the " + m.group(1).replace("-", " ") + " setting", msg)
    msg = re.sub(r"(?<!\w)'([^']{61,})'(?!\w)", lambda m: shown(m.group(1)), msg)  # a quote after a letter closes one
    return re.sub(r"[^\s']{81,}", lambda m: m.group(0)[:40] + f"... ({len(m.group(0)):,} characters)", msg)
