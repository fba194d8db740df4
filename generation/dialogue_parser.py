"""Parsing generated dialogues into turns, and saying what was wrong with them.

Generators are asked for one turn per line, each starting with ``[USR]`` or
``[AI]``, with movies written as ``<id_ASIN>`` tags. Real models drift from
that: they add a preamble and a closing note, bold the markers, write
``User:`` instead of ``[USR]``, number the lines, put two turns on one line,
or quote every utterance. The *raw* config keeps every response, so instead of
rejecting such text this module repairs what it safely can and reports it.

Every deviation becomes a short machine-readable string in
``ParsedDialogue.problems``. Repairs that do not change what was said start
with ``fixed:`` and keep the dialogue valid; anything else is an error:

=========================  ====================================================
``fixed:preamble``         text before the first marker dropped
``fixed:trailing_note``    commentary after the last turn dropped
``fixed:merged_turns``     several markers on one line split into turns
``fixed:same_role_merged`` consecutive turns of one role joined with a newline
``fixed:markdown``         bold / italic markup around markers removed
``fixed:role_words``       role words (``User:``, ``Recommender:``, ...) read as markers
``no_turns``               no turn at all
``starts_with_assistant``  the recommender speaks first
``empty_turn``             a marker with no text (the empty turn is dropped)
``truncated``              generation hit the token limit (``max_new_tokens``)
=========================  ====================================================

``truncated`` is not read from the text but from the backend's finish reason
(``length``): a cut dialogue can still look well formed, and its last turn is
half a sentence. Later stages that re-parse a stored response carry it over
from the record's ``problems`` (:func:`carried_problems`).

:func:`check_dialogue` adds the checks that need the prompt's context:
``too_few_turns``, ``too_many_turns``, ``no_assistant_turn``,
``target_not_recommended`` and ``unknown_item:<ASIN>``.

Each problem appears at most once, in the order it was detected. Parsing is
pure and deterministic; every pattern is compiled, matched line by line and
has only bounded or literal-anchored repetition, so there is no catastrophic
backtracking and a typical dialogue parses in tens of microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FIXED_PREFIX",
    "TAG",
    "TRUNCATED",
    "ParsedDialogue",
    "Turn",
    "carried_problems",
    "check_dialogue",
    "dialogue_regex",
    "errors",
    "item_ids",
    "parse_dialogue",
    "recommendations",
]

#: Problems starting with this prefix were repaired and do not make a dialogue invalid.
FIXED_PREFIX = "fixed:"

#: How a dialogue writes a movie: ``<id_ASIN>``; group 1 is the item id. The one definition every stage uses.
TAG = re.compile(r"<id_([A-Za-z0-9]+)>")


def dialogue_regex(items: list[str], max_chars: int = 150) -> str:
    """A regular expression of the requested form, for grammar-constrained decoding of a small model.

    Six or eight ``[USR]``/``[AI]`` lines; the third ``[AI]`` turn cites exactly one of ``items`` (the movies
    the prompt showed: with only the target shown, that is the target) and no other line cites any. The words
    and, where several items were shown, which one is recommended stay the model's choice. Lines are bounded
    (a small model left unbounded writes one line until the token limit); the bound makes the compiled
    automaton large, so on a busy CPU raise ``VLLM_REGEX_COMPILATION_TIMEOUT_S`` (5 s by default).
    """
    line = rf"[^\n\[\]<>]{{3,{max_chars}}}"
    free = rf"[^\n\[\]<>]{{0,{max_chars}}}"
    tags = "|".join(re.escape(item) for item in sorted(set(items)))
    exchange = rf"\[USR\] {line}\n\[AI\] {line}\n"
    return rf"({exchange}){{2}}\[USR\] {line}\n\[AI\] {free}<id_({tags})>{free}\n({exchange})?"


def errors(problems: list[str]) -> list[str]:
    """The problems that were not repaired: why a dialogue (or any record with ``problems``) is invalid."""
    return [p for p in problems if not p.startswith(FIXED_PREFIX)]


#: The generator stopped at its token limit: the dialogue was cut off, so it is invalid however it parses.
TRUNCATED = "truncated"

#: Problems known only at generation time (not from the text): re-parsing a stored response must keep them.
GENERATION_PROBLEMS = (TRUNCATED,)

USER = "user"
ASSISTANT = "assistant"

#: Marker and role-word spellings (lower case) and the role they stand for. ``system`` is deliberately absent.
_ROLES = {
    "usr": USER,
    "user": USER,
    "seeker": USER,
    "ai": ASSISTANT,
    "assistant": ASSISTANT,
    "recommender": ASSISTANT,
}
#: Bracketed spellings that are the requested markers; any other spelling counts as ``fixed:role_words``.
_CANONICAL = {"usr", "ai"}

_ROLE_ALT = "usr|user|seeker|ai|assistant|recommender"

# A marker at the start of a line: optional indentation and list bullet / number, optional emphasis
# (``**``, ``*``, ``__``), ``[USR]``-style brackets or a bare role word, then closing emphasis and a
# separator (``:``, ``-``, dashes). Closing emphasis is only consumed when an opening one was seen (the
# ``(?(open)...)`` conditionals), and after the separator only if there is one, so an utterance that itself
# starts with ``*`` or ``_`` keeps it. A leading ``>`` (markdown quote) is tolerated too.
_LINE_MARKER = re.compile(
    r"[ \t]*(?:>[ \t]*)?(?:(?:\d{1,3}[.)]|[-+•*])[ \t]+)?"
    r"(?P<open>[*_]{1,3})?"
    rf"(?:\[[ \t]*(?P<tag>{_ROLE_ALT})[ \t]*\]|(?P<word>{_ROLE_ALT})\b)"
    r"(?(open)[*_]{0,3})[ \t]*(?:(?P<sep>[:\-–—])(?(open)[*_]{0,3}))?[ \t]*",
    re.IGNORECASE,
)

# A marker later in a line (two turns merged on one line). Only the bracketed canonical markers count
# here: a bare "user:" inside a sentence is far more likely to be prose than a turn boundary. Opening
# emphasis is only taken when it starts a word, so "*sighs*[AI]" keeps its asterisk.
_INLINE_MARKER = re.compile(
    r"(?:(?<!\S)(?P<open>[*_]{1,3}))?\[[ \t]*(?P<tag>usr|ai)[ \t]*\]"
    r"(?(open)[*_]{0,3})[ \t]*(?:(?P<sep>[:\-–—])(?(open)[*_]{0,3}))?[ \t]*",
    re.IGNORECASE,
)

# Lines after the last turn that are clearly commentary, not dialogue.
_TRAILER = re.compile(
    r"[ \t]*(?:"
    r"[*_]{0,3}(?:\([*_]{0,3}note\b|note[*_]{0,3}[ \t]*:)"  # Note: ... / (Note ... / **Note:**
    r"|---"  # --- (also a markdown rule)
    r"|(?:\*[ \t]*){3,}$|(?:_[ \t]*){3,}$|={3,}[ \t]*$"  # other markdown rules
    r"|#{1,6}(?:[ \t]|$)"  # markdown heading
    r"|```|~~~"  # closing code fence
    r"|[*_]{0,3}(?:this dialogue|in this conversation)\b"
    r")",
    re.IGNORECASE,
)
# Weaker signal: only taken as a trailing note when it starts a new paragraph, since "I hope you like it!"
# is a perfectly good last line for a recommender.
_TRAILER_AFTER_BLANK = re.compile(r"[ \t]*[*_]{0,3}I hope\b")

# Quote pairs that may wrap a whole utterance.
_STRAIGHT_QUOTE = '"'
_CURLY_OPEN, _CURLY_CLOSE = "“", "”"


@dataclass(frozen=True)
class Turn:
    """One utterance: ``role`` is ``"user"`` or ``"assistant"``; ``content`` keeps item tags verbatim."""

    role: str
    content: str


@dataclass(frozen=True)
class ParsedDialogue:
    """Turns recovered from a response and the problems met on the way (see the module docstring)."""

    turns: list[Turn]
    problems: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Problems that were not repaired: the reasons the dialogue is invalid."""
        return errors(self.problems)

    @property
    def valid(self) -> bool:
        """True when every problem was repaired (or there were none)."""
        return not self.errors


class _Problems:
    """Insertion-ordered set of problem strings: each is reported once, where first detected."""

    def __init__(self, initial: list[str] | None = None) -> None:
        self.items: list[str] = []
        self._seen: set[str] = set()
        for problem in initial or ():
            self.add(problem)

    def add(self, problem: str) -> None:
        if problem not in self._seen:
            self._seen.add(problem)
            self.items.append(problem)


@dataclass
class _Line:
    """What one line contributes: text continuing the current turn, then the turns it starts."""

    lead: str
    starts: list[tuple[str, str]]  # (role, text) of each turn started on this line
    from_line_start: bool  # the first start is a marker at the start of the line
    markdown: bool
    role_words: bool


def _role_of(match: re.Match[str]) -> tuple[str, bool, bool] | None:
    """Role, whether markup was used, and whether a role word replaced a bracket marker; None if not a marker."""
    tag, word = match.group("tag"), match.group("word")
    if word is not None and match.group("sep") != ":":
        # A bare word is a marker only as "User:"; "AI is fun" or "User reviews ..." are prose.
        return None
    spelled = (tag or word).lower()
    return _ROLES[spelled], match.group("open") is not None, word is not None or spelled not in _CANONICAL


def _scan_line(line: str) -> _Line:
    """Split one line into continuation text and the turns that markers on it start.

    A marker at the start of the line always starts a turn, even with no text after it (the text may
    follow on the next lines). A marker later in the line starts a turn only if text follows it on that
    line: one left dangling at the end ("... films. [AI]") is a slip, dropped rather than made a turn.
    """
    markdown = role_words = from_line_start = False
    role: str | None = None
    pos = 0
    start = _LINE_MARKER.match(line)
    if start is not None and (found := _role_of(start)) is not None:
        role, markdown, role_words = found
        from_line_start = True
        pos = start.end()
    lead = ""
    starts: list[tuple[str, str]] = []

    def close_segment(end: int) -> None:
        nonlocal lead
        text = line[pos:end].strip()
        if role is None:
            lead = text
        elif text or (from_line_start and not starts):
            starts.append((role, text))

    if "[" in line[pos:]:
        for inline in _INLINE_MARKER.finditer(line, pos):
            close_segment(inline.start())
            markdown = markdown or inline.group("open") is not None
            role, pos = _ROLES[inline.group("tag").lower()], inline.end()
    close_segment(len(line))
    return _Line(lead, starts, from_line_start, markdown, role_words)


def _is_trailer(lines: list[str], index: int) -> bool:
    """Whether ``lines[index]`` (after the last turn's marker) starts commentary rather than dialogue."""
    line = lines[index]
    if _TRAILER.match(line):
        return True
    return index > 0 and not lines[index - 1].strip() and _TRAILER_AFTER_BLANK.match(line) is not None


def _unquote(text: str) -> str:
    """Drop quotes that wrap the whole utterance, and only then (``"Heat" is great, so is "Ronin"`` is kept)."""
    if len(text) < 2:
        return text
    first, last, inner = text[0], text[-1], text[1:-1]
    if first == last == _STRAIGHT_QUOTE and _STRAIGHT_QUOTE not in inner:
        return inner.strip()
    if first == _CURLY_OPEN and last == _CURLY_CLOSE:
        depth = 0
        for char in inner:  # the opening quote must close only at the very end
            if char == _CURLY_OPEN:
                depth += 1
            elif char == _CURLY_CLOSE:
                depth -= 1
                if depth < 0:
                    return text
        if depth == 0:
            return inner.strip()
    return text


def _join(lines: list[str]) -> str:
    """Join a turn's lines, keeping paragraph breaks (runs of blank lines become one) and nothing else."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def carried_problems(problems: list[str]) -> list[str]:
    """The generation-time problems among a stored record's ``problems``, to pass on when re-parsing it."""
    return [p for p in problems if p in GENERATION_PROBLEMS]


def parse_dialogue(text: str, carried: list[str] | tuple[str, ...] = ()) -> ParsedDialogue:
    """Parse a generator's response into alternating-ish turns, repairing and reporting deviations.

    ``carried`` are problems already known about the response before reading it (``truncated``); they come
    first in ``problems``.
    """
    problems = _Problems(list(carried))
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    scans = [_scan_line(line) for line in lines]
    marker_lines = [i for i, scan in enumerate(scans) if scan.starts]
    if not marker_lines:
        problems.add("no_turns")
        return ParsedDialogue([], problems.items)

    # Commentary after the last turn: cut at the first line that is clearly not dialogue.
    end = len(lines)
    for index in range(marker_lines[-1] + 1, len(lines)):
        if _is_trailer(lines, index):
            end = index
            break

    raw: list[tuple[str, list[str]]] = []  # (role, lines) per turn, before dropping and merging
    for index in range(end):
        scan = scans[index]
        if scan.markdown:
            problems.add("fixed:markdown")
        if scan.role_words:
            problems.add("fixed:role_words")
        if scan.lead:
            if raw:
                raw[-1][1].append(scan.lead)
            else:
                problems.add("fixed:preamble")
        elif not scan.starts and raw:
            raw[-1][1].append("")  # blank line: paragraph break inside a turn (trailing ones are trimmed)
        if len(scan.starts) > 1 or (scan.starts and not scan.from_line_start and scan.lead and raw):
            problems.add("fixed:merged_turns")
        for role, first in scan.starts:
            raw.append((role, [first]))
    if end < len(lines):
        problems.add("fixed:trailing_note")

    turns: list[Turn] = []
    for role, turn_lines in raw:
        content = _unquote(_join(turn_lines))
        if not content:
            problems.add("empty_turn")
            continue
        if turns and turns[-1].role == role:
            problems.add("fixed:same_role_merged")
            turns[-1] = Turn(role, f"{turns[-1].content}\n{content}")
            continue
        turns.append(Turn(role, content))
    if not turns:
        problems.add("no_turns")
    elif turns[0].role == ASSISTANT:
        problems.add("starts_with_assistant")
    return ParsedDialogue(turns, problems.items)


def item_ids(text: str) -> list[str]:
    """ASINs of the ``<id_...>`` tags in ``text``, in order of first appearance, each once."""
    return list(dict.fromkeys(TAG.findall(text)))


def shown_items(prompt: Mapping[str, Any]) -> set[str]:
    """Item ids a prompt showed the writer (its target and the history it was given): the only ones a dialogue
    written from it may cite."""
    inputs = prompt["inputs"]
    return {inputs["target"]["item_id"], *(h["item_id"] for h in inputs["history"])}


def user_items(record: Mapping[str, Any]) -> list[str]:
    """The user's items in a prompt or raw record, target first: what a title in their dialogue may refer to."""
    return [record["target_item"], *(h["item_id"] for h in record["history"])]


def _asin(item: str) -> str:
    """Accept a target given either as a bare ASIN or as its ``<id_...>`` tag."""
    match = TAG.fullmatch(item.strip())
    return match.group(1) if match else item.strip()


def check_dialogue(
    parsed: ParsedDialogue,
    target_item: str,
    known_items: set[str],
    min_turns: int = 4,
    max_turns: int = 14,
) -> ParsedDialogue:
    """Add the checks that need the prompt: length, who recommends the target, and hallucinated items.

    Returns a new :class:`ParsedDialogue`; ``parsed`` is left untouched. Turn counts are taken after the
    parser's repairs (merged same-role turns count once).
    """
    problems = _Problems(parsed.problems)
    count = len(parsed.turns)
    if count < min_turns:
        problems.add("too_few_turns")
    if count > max_turns:
        problems.add("too_many_turns")
    assistant_turns = [turn for turn in parsed.turns if turn.role == ASSISTANT]
    if not assistant_turns:
        problems.add("no_assistant_turn")
    target = _asin(target_item)
    if not any(target in item_ids(turn.content) for turn in assistant_turns):
        problems.add("target_not_recommended")
    mentioned = item_ids("\n".join(turn.content for turn in parsed.turns))
    for asin in mentioned:
        if asin not in known_items:
            problems.add(f"unknown_item:{asin}")
    return ParsedDialogue(list(parsed.turns), problems.items)


def recommendations(turns: list[dict[str, str]]) -> list[set[str]]:
    """Per turn, the items the recommender recommends there: its first mention of an item nobody named before.

    The one rule of what counts as a recommendation, shared by the published configs, the card's metrics and
    the evaluation's tasks.
    """
    named: set[str] = set()
    per_turn = []
    for turn in turns:
        ids = TAG.findall(turn["content"])
        fresh = {i for i in ids if i not in named} if turn["role"] == "assistant" else set()
        per_turn.append(fresh)
        named.update(ids)
    return per_turn
