"""Recommend examples: where in a dialogue the Recommender recommends, and what it knew at that point.

An example is one (Recommender utterance, recommended item) pair: an item the Recommender names there for the
first time in the dialogue, nobody having named it before (:func:`generation.dialogue_parser.recommendations`,
the rule the build uses). Its context is every utterance before that one. Items already mentioned in the context
(by either side) are excluded from the ranking (re-recommending them is not a recommendation); other items recommended
in the same utterance are not excluded (each is its own example, as in CRSLab/ReDial evaluation).

``history`` carries the user's viewing history only for personas whose recommender is shown it (the sft
system message gives it to history personas' recommenders); cold-start examples get none.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from distillrecdial_kit.builder.rows import recommendations
from distillrecdial_kit.generation.personas import PERSONA_BY_ID

__all__ = ["RecExample", "recommend_examples"]


@dataclass(frozen=True)
class RecExample:
    """One recommendation to predict."""

    conv_id: str
    user_id: str
    persona: str
    turn: int
    target: str
    context: tuple[tuple[str, str], ...]  # (role, text) of every utterance before the recommendation
    mentioned: tuple[str, ...]  # item ids named before it (excluded from the ranking)
    history: tuple[str, ...]  # the user's history items, when the persona's recommender sees them
    entities: tuple[str, ...] = ()  # linked KG entities and item ids of the context, first mention order

    @property
    def seeker_text(self) -> str:
        return " ".join(text for role, text in self.context if role == "Seeker")

    @property
    def context_text(self) -> str:
        return " ".join(text for _, text in self.context)


def _as_turns(dialog: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    # recommendations() reads tags out of `content`; the crslab config lists each utterance's ids in `movies`.
    return [
        {
            "role": "assistant" if utt["role"] == "Recommender" else "user",
            "content": " ".join(f"<id_{m}>" for m in utt["movies"] or []),
        }
        for utt in dialog
    ]


def recommend_examples(
    crslab_rows: Iterable[Mapping[str, Any]],
    histories: Mapping[str, tuple[str, list[str]]] | None = None,
    problems: list[str] | None = None,
) -> list[RecExample]:
    """Every recommendation in ``crslab_rows`` (crslab config rows), in dialogue and turn order.

    ``histories`` maps ``conv_id`` → ``(user_id, [history item ids])`` from the raw config. A malformed row is
    skipped (its number and the missing field appended to ``problems``), never fatal.
    """
    histories = histories or {}
    examples: list[RecExample] = []
    for number, row in enumerate(crslab_rows):
        try:
            examples.extend(_row_examples(row, histories))
        except (KeyError, TypeError, AttributeError) as err:
            if problems is None:
                raise
            problems.append(f"row {number} ({row.get('conv_id') if hasattr(row, 'get') else '?'}): bad field {err}")
    return examples


def _row_examples(row: Mapping[str, Any], histories: Mapping[str, tuple[str, list[str]]]) -> list[RecExample]:
    examples = []
    dialog = list(row["dialog"])
    user_id, history = histories.get(row["conv_id"], ("", []))
    persona = PERSONA_BY_ID.get(row["persona"])
    shown = tuple(history) if persona is not None and persona.sees_history else ()
    named: list[str] = []
    linked: dict[str, None] = {}
    for position, (utt, fresh) in enumerate(zip(dialog, recommendations(_as_turns(dialog)), strict=True)):
        context = tuple((u["role"], u["text"]) for u in dialog[:position])
        for item in utt["movies"] or []:
            if item in fresh:
                examples.append(
                    RecExample(
                        conv_id=row["conv_id"],
                        user_id=user_id,
                        persona=row["persona"],
                        turn=position,
                        target=item,
                        context=context,
                        mentioned=tuple(dict.fromkeys(named)),
                        history=shown,
                        entities=tuple(linked),
                    )
                )
        named.extend(utt["movies"] or [])
        linked.update(dict.fromkeys([*(utt.get("entity") or []), *(utt["movies"] or [])]))
    return examples
