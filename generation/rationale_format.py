"""The rationale task's fixed text format: the prompt that asks for it and the tolerant parser that reads it.

A teacher is asked for exactly two labelled lines (RDRec's two rationales of a review)::

    USER PREFERS: <what this user likes or dislikes, one short sentence>
    ITEM IS: <what this movie is, one short sentence>

Models drift: they add a preamble, bold or bullet the labels, swap the two
lines, write "The user prefers" or "Item attributes", or drop a part. The
parser repairs what it safely can and records each repair as ``fixed:*``;
what it cannot recover is an error (the record is kept and counted, never
silently dropped):

=========================  ===================================================
``fixed:extra_text``       prose before, between or after the labelled parts
``fixed:markdown``         bold / italic / heading / code markup removed
``fixed:bullets``          list bullets or numbers before the labels removed
``fixed:swapped_order``    ITEM IS came before USER PREFERS
``fixed:label_variant``    a label written another way ("The user prefers")
``fixed:quotes``           quotes around a value removed
``fixed:truncated``        a value longer than the word cap cut at the cap
``fixed:repeated_label``   a label given twice: the first is kept
``empty_response``         nothing but whitespace
``missing:user_prefers``   no user rationale found
``missing:item_is``        no item rationale found
=========================  ===================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from distillrecdial_kit.generation.dialogue_parser import errors

USER_LABEL = "USER PREFERS"
ITEM_LABEL = "ITEM IS"
MAX_WORDS = 60

SYSTEM_PROMPT = (
    "You distil movie reviews into two short rationales, as in rationale distillation for recommendation.\n"
    "Given one user's review of a movie and the movie's facts, answer with exactly two lines and nothing else:\n"
    f"{USER_LABEL}: <what this user prefers or dislikes in movies, judged from the review; one short sentence>\n"
    f"{ITEM_LABEL}: <what this movie is: its kind, subject and qualities; one short sentence>\n"
    "Do not quote the review at length, do not add any other text."
)

#: Facts about the item shown to the rationale writer, in this order.
ITEM_FACTS = ("title", "year", "genres", "keywords", "directors", "actors", "overview")

_MARKUP = re.compile(r"\*{1,3}|_{2,3}|`+|^#{1,6}\s*", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s+")
# Labels: sentence forms may be followed by a space ("The user prefers slow thrillers"), noun forms need a
# separator ("Item attributes: ..."). Every alternative is literal, so matching stays linear.
_SENTENCE_LABEL = re.compile(
    r"^(?P<label>(?P<user>(?:the\s+)?user\s+prefers)|(?P<item>(?:the\s+)?(?:item|movie|film)\s+is))"
    r"(?P<sep>\s*[:\-–—=]\s*|\s+|$)(?P<value>.*)$",
    re.IGNORECASE,
)
_NOUN_LABEL = re.compile(
    r"^(?P<label>(?P<user>user\s+(?:preferences?|rationale|likes)|preferences?)"
    r"|(?P<item>item\s+(?:attributes?|rationale|description)|(?:movie|film)\s+(?:attributes?|description)))"
    r"(?P<sep>\s*[:\-–—=]\s*)(?P<value>.*)$",
    re.IGNORECASE,
)
_QUOTES = ('"', "'", "“", "”", "‘", "’")


@dataclass
class ParsedRationale:
    """The two rationales of one response (``None`` where missing) and what was wrong with the text."""

    user_prefers: str | None
    item_is: str | None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not errors(self.problems)


def _add(problems: list[str], problem: str) -> None:
    if problem not in problems:
        problems.append(problem)


def _clean_value(value: str, problems: list[str]) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:
        value = value[1:-1].strip()
        _add(problems, "fixed:quotes")
    words = value.split()
    if len(words) > MAX_WORDS:
        value = " ".join(words[:MAX_WORDS])
        _add(problems, "fixed:truncated")
    return value


def parse_rationale(text: str) -> ParsedRationale:
    """Read the two labelled rationales from a model's text, repairing what is safe to repair."""
    problems: list[str] = []
    if not text or not text.strip():
        return ParsedRationale(None, None, ["empty_response"])
    cleaned = _MARKUP.sub("", text) if any(mark in text for mark in "*_`#") else text
    if cleaned != text:
        _add(problems, "fixed:markdown")
    values: dict[str, list[str]] = {}
    order: list[str] = []
    current: str | None = None
    stray = False
    for raw_line in cleaned.splitlines():
        line = raw_line.strip()
        if not line:
            continue
        unbulleted = line if line[0].isalpha() else _BULLET.sub("", line)
        match = _SENTENCE_LABEL.match(unbulleted) or _NOUN_LABEL.match(unbulleted)
        if match:
            if unbulleted != line:
                _add(problems, "fixed:bullets")
            part = "user_prefers" if match.group("user") else "item_is"
            label = re.sub(r"\s+", " ", match.group("label")).upper()
            if label not in (USER_LABEL, ITEM_LABEL) or match.group("sep").strip() != ":":
                _add(problems, "fixed:label_variant")
            if part in values:
                _add(problems, "fixed:repeated_label")
                current = None
                continue
            values[part] = [match.group("value")]
            order.append(part)
            current = part
        elif current is not None and not "".join(values[current]).strip():
            values[current].append(line)  # the label stood alone; its value is on the next line
            current = None
        else:
            stray = True
            current = None
    if stray:
        _add(problems, "fixed:extra_text")
    if order == ["item_is", "user_prefers"]:
        _add(problems, "fixed:swapped_order")
    parts = {part: _clean_value(" ".join(lines), problems) for part, lines in values.items()}
    for part in ("user_prefers", "item_is"):
        if not parts.get(part):
            parts[part] = None
            _add(problems, f"missing:{part}")
    return ParsedRationale(parts["user_prefers"], parts["item_is"], problems)


def format_rationale(user_prefers: str, item_is: str) -> str:
    """The canonical two-line answer (what the template writes and the student learns)."""
    return f"{USER_LABEL}: {user_prefers}\n{ITEM_LABEL}: {item_is}"


def _fact_text(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def facts_block(item: dict[str, Any]) -> str:
    """The movie's facts as the request shows them (computed once per item, shared by its reviews)."""
    lines = ["Movie:"]
    for name in ITEM_FACTS:
        value = item.get(name)
        if value not in (None, "", []):
            lines.append(f"- {name.capitalize()}: {_fact_text(value)}")
    return "\n".join(lines)


def request_messages(
    block: str, rating: float, review_title: str | None, review_text: str | None
) -> list[dict[str, str]]:
    """The chat prompt (system + user) a backend receives for one review: the movie's facts, then the review."""
    review = " — ".join(part for part in (review_title, review_text) if part)
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"{block}\n\nThe user's review ({rating:g}/5):\n{review}"},
    ]
