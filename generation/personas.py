"""The five user personas: what each may see, how it talks, and who gets which.

A persona fixes which item facts reach the prompt (``history_facts`` and
``target_facts``) and the policy the dialogue writer follows. Facts are named
by the catalog columns they come from plus ``sentiment`` (liked/disliked) and
``review`` (the user's own review title and text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from distillrecdial_kit.generation.item_fields import ITEM_FACTS
from distillrecdial_kit.pipeline.seeded import digest, largest_remainder


@dataclass(frozen=True)
class Persona:
    """One simulated user type."""

    id: str
    name: str
    history_facts: tuple[str, ...]
    target_facts: tuple[str, ...]
    opening: str
    policy: str

    @property
    def sees_history(self) -> bool:
        return bool(self.history_facts)


_SHARED_RULES = (
    "Write a conversation between a user ([USR]) and a movie recommender ([AI]) of 5 to 10 turns in total. "
    "Start every turn on a new line with its marker, [USR] or [AI]; the user speaks first. "
    "Whenever a movie from the facts below is mentioned, write its tag exactly as given (for example <id_B000ABC123>), "
    "never its title. The recommender elicits the user's preferences, explains its suggestions with the facts given, "
    "and by the end recommends the target movie. Use only the facts given; do not invent cast, plot or awards. "
    "Output the dialogue only."
)

PERSONAS: tuple[Persona, ...] = (
    Persona(
        id="cold_start_browser",
        name="Cold-Start Browser",
        history_facts=(),
        target_facts=("genres", "keywords"),
        opening="vague, mood-driven request",
        policy=(
            "The user is new to the service and has no viewing history to point to. They browse without a clear goal "
            "and open with a vague request driven by their mood. They answer questions briefly, and warm up when the "
            "recommender names a genre or theme that matches how they feel."
        ),
    ),
    Persona(
        id="cold_start_task",
        name="Cold-Start Task-Oriented",
        history_facts=(),
        target_facts=("genres", "keywords", "actors", "directors", "overview", "collection", "visual_caption"),
        opening="specific goal",
        policy=(
            "The user is new to the service and has no viewing history to point to, but knows exactly what they want: "
            "they open with a specific goal (a kind of story, an actor, a director, a franchise, a look) taken from "
            "the target's facts, and steer the recommender towards it."
        ),
    ),
    Persona(
        id="history_only_explorer",
        name="History-Only Explorer",
        history_facts=("sentiment", "genres", "keywords"),
        target_facts=("title",),
        opening="neutral, open to anything",
        policy=(
            "The user has a viewing history but states no preference of their own: they open neutrally, open to "
            "anything. The recommender works from the movies they liked and disliked, asks about them, and reasons "
            "from their genres and keywords to the target."
        ),
    ),
    Persona(
        id="history_hint_seeker",
        name="History + Hint Seeker",
        history_facts=("sentiment", "genres", "keywords"),
        target_facts=("genres", "keywords"),
        opening="hint of a shift in taste",
        policy=(
            "The user has a viewing history and opens with a hint that their taste is shifting away from it, towards "
            "the target's genres or themes. The recommender contrasts what they watched with what they now hint at."
        ),
    ),
    Persona(
        id="fully_expressive",
        name="Fully Expressive Seeker",
        history_facts=("sentiment", "review", *ITEM_FACTS),
        target_facts=("review", *ITEM_FACTS),
        opening="detailed, expert request",
        policy=(
            "The user is a film enthusiast who explains their taste in detail: they cite movies they watched, what "
            "they thought of them in their own reviews, actors, directors and styles, and open with a detailed, "
            "expert request. The recommender matches that depth."
        ),
    ),
)

PERSONA_BY_ID: dict[str, Persona] = {p.id: p for p in PERSONAS}


def sees_history(persona_id: str) -> bool:
    """Whether a persona's recommender is shown the user's history (the cold-start personas are not; a persona
    this release does not know is taken as one that is)."""
    persona = PERSONA_BY_ID.get(persona_id)
    return persona is None or persona.sees_history


def system_prompt(persona: Persona) -> str:
    """The persona's system message: identical for every user of the persona (a shared prefix)."""
    return f"You write movie-recommendation dialogues. User type: {persona.name}. {persona.policy} {_SHARED_RULES}"


def parse_weights(spec: str | None) -> dict[str, float]:
    """``"cold_start_browser=2,fully_expressive=1"`` → normalised weights; ``None`` → uniform.

    Personas left out of a spec get weight 0.
    """
    if not spec:
        return {p.id: 1 / len(PERSONAS) for p in PERSONAS}
    weights: dict[str, float] = {p.id: 0.0 for p in PERSONAS}
    for part in spec.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in weights:
            raise ValueError(f"bad persona weight {part!r}: expected NAME=WEIGHT with NAME in {', '.join(weights)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise ValueError(f"bad persona weight {part!r}: {value!r} is not a number") from None
        if weights[name] < 0:
            raise ValueError(f"bad persona weight {part!r}: weights must be >= 0")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("persona weights must not all be zero")
    return {name: w / total for name, w in weights.items()}


def quotas(n_users: int, weights: dict[str, float]) -> dict[str, int]:
    """Users per persona: largest-remainder rounding of ``n_users * weight`` (sums to ``n_users``)."""
    return dict(zip(weights, largest_remainder(n_users, list(weights.values())), strict=True))


def _seeded_key(seed: int, user_id: str) -> bytes:
    return digest(seed, user_id, sep=":")


def assign_personas(user_ids: Sequence[str], seed: int, weights: dict[str, float]) -> dict[str, str]:
    """Map each user to a persona id: a seeded shuffle cut into exact quotas.

    The shuffle is a sort by SHA-256 of ``seed:user_id``, so it does not depend
    on input order or Python's hash salt, and every persona gets exactly its
    share (up to rounding) rather than a binomially noisy one.
    """
    users = sorted(set(user_ids), key=lambda u: _seeded_key(seed, u))
    assignment: dict[str, str] = {}
    start = 0
    for persona, count in quotas(len(users), weights).items():
        for user in users[start : start + count]:
            assignment[user] = persona
        start += count
    return assignment
