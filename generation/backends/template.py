"""A deterministic, rule-based dialogue writer: the baseline that needs no model.

It follows each persona's policy (opening style, what is elicited, what is
contrasted, how the target is recommended) using only the facts in the prompt
record's ``inputs``, writes items as ``<id_…>`` tags and ends by recommending
the target. Phrasing varies per dialogue from a seeded choice, so the corpus is
not one sentence repeated, yet the same seed always writes the same text.
Records it writes are labelled ``backend: template``, never passed off as an LLM.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from distillrecdial_kit.generation.backends import STOP, Completion, ModelSpec, Sampling
from distillrecdial_kit.generation.backends.walk_template import write_walk_dialogue
from distillrecdial_kit.generation.prompts import item_tag
from distillrecdial_kit.generation.title_tags import Candidate, recover_tags
from distillrecdial_kit.pipeline.seeded import stable_int

Facts = dict[str, Any]


def _join(values: Sequence[str], limit: int = 3) -> str:
    values = list(values)[:limit]
    if len(values) <= 1:
        return "".join(values)
    return ", ".join(values[:-1]) + " and " + values[-1]


def _first_sentence(text: str | None, limit: int = 160) -> str:
    if not text:
        return ""
    sentence = text.split(". ")[0].rstrip(".")
    return sentence if len(sentence) <= limit else sentence[:limit].rsplit(" ", 1)[0] + "…"


def _a(phrase: str) -> str:
    """``phrase`` with its indefinite article ("a western", "an action film")."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def _the(name: str) -> str:
    """``name`` with a definite article unless it has one ("the Alien Collection", "The Avengers Collection")."""
    return name if name.lower().startswith("the ") else f"the {name}"


def _lower(values: Sequence[str]) -> list[str]:
    return [v.lower() for v in values]


class _Writer:
    """Builds one dialogue turn by turn with a per-dialogue random stream."""

    def __init__(self, record: dict[str, Any], seed: int) -> None:
        self.rng = random.Random(stable_int(seed, record["user_id"], record["persona"]))
        self.target: Facts = record["inputs"]["target"]
        self.history: list[Facts] = record["inputs"]["history"]
        self.tag = item_tag(self.target["item_id"])
        self.turns: list[str] = []

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(list(options))

    def user(self, text: str) -> None:
        self.turns.append(f"[USR] {text}")

    def ai(self, text: str) -> None:
        self.turns.append(f"[AI] {text}")

    def text(self) -> str:
        return "\n".join(self.turns)

    # -- facts ------------------------------------------------------------------------------
    def genres(self, facts: Facts | None = None) -> list[str]:
        return _lower((facts or self.target).get("genres", []))

    def keywords(self, facts: Facts | None = None) -> list[str]:
        return (facts or self.target).get("keywords", [])

    def liked(self) -> list[Facts]:
        return [h for h in self.history if h.get("liked")]

    def disliked(self) -> list[Facts]:
        return [h for h in self.history if h.get("liked") is False]

    def history_genres(self) -> list[str]:
        counts = Counter(g for h in self.liked() or self.history for g in self.genres(h))
        return [g for g, _ in counts.most_common()]

    def quote_review(self, item: Facts) -> str:
        """The first sentence of the user's review of ``item``, with any movie title it names as a tag."""
        review = item.get("review") or {}
        note = _first_sentence(review.get("text") or review.get("title"), 120)
        shown = [self.target, *self.history]
        candidates = [Candidate(f["item_id"], f["title"], f.get("year")) for f in shown if f.get("title")]
        return recover_tags(note, candidates)[0] if note else ""

    def closing(self) -> None:
        self.user(
            self.pick(
                [
                    "That sounds like exactly what I need. Thanks!",
                    "Perfect, I'll put it on tonight.",
                    "Great, adding it to my list right now.",
                    "I think you've found it. Thank you!",
                ]
            )
        )
        self.ai(
            self.pick(
                [
                    f"Enjoy {self.tag}! Come back and tell me what you thought.",
                    f"You're welcome. I hope {self.tag} hits the spot.",
                    f"Have a great time with {self.tag}, and let me know how it went.",
                ]
            )
        )


def _cold_start_browser(w: _Writer) -> None:
    genres, keywords = w.genres(), w.keywords()
    w.user(
        w.pick(
            [
                "I want to watch something tonight but I honestly have no idea what.",
                "Can you suggest a movie? I'm in a strange mood and nothing on my list appeals.",
                "I'm bored. Give me a film to watch, anything really.",
                "Feeling a bit restless this evening. Any ideas for a movie?",
            ]
        )
    )
    w.ai(
        w.pick(
            [
                "Happy to help. How do you want to feel by the end: thrilled, moved, amused, or something else?",
                "Let's narrow it down. Are you after something light, something tense, "
                "or something that makes you think?",
                "Sure! What kind of mood are you in right now, and how much energy do you have for a film?",
            ]
        )
    )
    if genres:
        w.user(
            w.pick(
                [
                    f"Maybe something {genres[0]}? I'm not sure, that just feels right tonight.",
                    f"I think I could go for {genres[0]}, if it's good.",
                    f"Something along the lines of {_join(genres, 2)}, I guess.",
                ]
            )
        )
    else:
        w.user("Something good, with a story that pulls me in.")
    if keywords:
        w.ai(
            w.pick(
                [
                    f"Good start. Would a story involving {_join(keywords[1:3] or keywords[:1], 2)} interest you?",
                    f"Any themes that draw you in? For example {_join(keywords[:2], 2)}?",
                ]
            )
        )
        w.user(
            w.pick(
                [
                    f"Yes, {keywords[0]} sounds appealing.",
                    f"Oh, {keywords[0]} is right up my alley.",
                    "That sounds interesting, go on.",
                ]
            )
        )
    else:
        w.ai("Do you prefer a recent film or an older one?")
        w.user("I don't mind, as long as it's engaging.")
    about = _a(f"{_join(genres, 2)} film") if genres else "a film"
    themes = f" that plays with {_join(keywords, 3)}" if keywords else ""
    w.ai(
        w.pick(
            [
                f"Then I'd recommend {w.tag}. It's {about}{themes}, which fits the mood you described.",
                f"Try {w.tag}: {about}{themes}. It should suit tonight.",
            ]
        )
    )
    w.closing()


def _cold_start_task(w: _Writer) -> None:
    t = w.target
    genres, keywords = w.genres(), w.keywords()
    actors, directors, collection = t.get("actors", []), t.get("directors", []), t.get("collection")
    goals: list[Callable[[], str]] = []
    if directors:
        goals.append(
            lambda: f"I'm looking for {_a(genres[0] + ' film') if genres else 'a film'} directed by {directors[0]}."
        )
    if actors:
        goals.append(lambda: f"I want a movie with {actors[0]} in it{f', ideally {genres[0]}' if genres else ''}.")
    if collection:
        goals.append(lambda: f"I'm working my way through {_the(collection)} and need the next one to watch.")
    if keywords:
        goals.append(
            lambda: f"I need {_a(genres[0] + ' movie') if genres else 'a movie'} about {keywords[0]}. Can you find one?"
        )
    w.user(" ".join(w.rng.choice(goals)().split()) if goals else "I need a specific kind of movie for tonight.")
    lean = genres[0] if genres else "serious"
    themes = _join(keywords[:2], 2)
    w.ai(
        w.pick(
            [
                f"Sure. Should it lean {lean} or lighter, and does {themes or 'the setting'} matter to you?",
                f"I can help with that. Any must-haves for the story, like {themes or 'a particular setting'}?",
            ]
        )
    )
    w.user(f"{_join(keywords[:2], 2).capitalize() or 'A strong story'} would be ideal.")
    credits = []
    if directors:
        credits.append(f"directed by {_join(directors, 2)}")
    if actors:
        credits.append(f"starring {_join(actors, 3)}")
    pitch = f"{w.tag} is your match" + (f": {', '.join(credits)}" if credits else "") + "."
    plot = _first_sentence(t.get("overview"))
    w.ai(pitch + (f" {plot}." if plot else ""))
    if t.get("visual_caption"):
        w.user(w.pick(["What does it look like? I care about the visuals.", "Is it a good-looking film?"]))
        w.ai(f"Visually, {t['visual_caption'][0].lower()}{t['visual_caption'][1:]}")
    elif collection:
        w.user(f"Is it part of {_the(collection)}?")
        w.ai(f"Yes, {w.tag} belongs to {_the(collection)}.")
    w.closing()


def _history_only_explorer(w: _Writer) -> None:
    liked, disliked = w.liked(), w.disliked()
    w.user(
        w.pick(
            [
                "I'm open to anything. What would you pick for me?",
                "Surprise me. I don't have anything particular in mind.",
                "I'd like a recommendation, no preferences today.",
            ]
        )
    )
    if liked:
        examples = _join([item_tag(h["item_id"]) for h in liked[-2:]], 2)
        common = w.history_genres()
        w.ai(
            f"Looking at what you've watched, you enjoyed {examples}"
            + (f", which lean {_join(common, 2)}" if common else "")
            + ". Was that what you liked about them?"
        )
        kw = next((k for h in liked[::-1] for k in w.keywords(h)), None)
        w.user(
            w.pick(
                [
                    "Yes, exactly. I like that kind of thing." + (f" Especially anything with {kw}." if kw else ""),
                    "Pretty much, those were good picks." + (f" I do like stories about {kw}." if kw else ""),
                ]
            )
        )
    else:
        w.ai("Tell me a little about what you watched recently. What worked for you?")
        w.user("Nothing really stood out, to be honest.")
    if disliked:
        h = disliked[-1]
        why = w.genres(h)
        w.ai(f"And {item_tag(h['item_id'])} didn't land for you" + (f", was it the {why[0]}?" if why else ", right?"))
        w.user(w.pick(["Right, that one wasn't for me.", "Yeah, I couldn't get into it."]))
    w.ai(
        w.pick(
            [
                f"Then I'd go with {w.tag}. It follows the pattern of what you enjoyed.",
                f"Based on your history, {w.tag} is the one I'd pick for you.",
            ]
        )
    )
    w.closing()


def _history_hint_seeker(w: _Writer) -> None:
    past = w.history_genres()
    new = [g for g in w.genres() if g not in past] or w.genres()
    anchor = (w.liked() or w.history)[-1] if w.history else None
    anchor_tag = item_tag(anchor["item_id"]) if anchor else "my usual picks"
    w.user(
        w.pick(
            [
                f"I've watched a lot of {past[0] if past else 'the same thing'} lately, like {anchor_tag}, "
                f"but I'm craving something more {new[0] if new else 'different'}.",
                f"After {anchor_tag} I feel like a change of pace. Maybe {new[0] if new else 'something new'}?",
            ]
        )
    )
    w.ai(
        f"You've been leaning on {_join(past, 2) or 'one kind of film'}. For a shift, would you like "
        f"{_join(new, 2) or 'a new direction'}, and should it keep any of what you liked about {anchor_tag}?"
    )
    keywords = w.keywords()
    w.user(f"Something with {keywords[0]} would be a nice change." if keywords else "Something fresh, surprise me.")
    themes = f" about {_join(keywords, 3)}" if keywords else ""
    w.ai(
        f"Then try {w.tag}: {_a(_join(w.genres(), 2) or 'different')} film{themes}. "
        f"It moves away from {anchor_tag} while keeping a story you can sink into."
    )
    w.closing()


def _fully_expressive(w: _Writer) -> None:
    t = w.target
    liked, disliked = w.liked(), w.disliked()
    favourite = liked[-1] if liked else (w.history[-1] if w.history else None)
    opening = []
    if favourite:
        note = w.quote_review(favourite)
        opening.append(
            f"I recently watched {item_tag(favourite['item_id'])}"
            + (f" and wrote that {note[0].lower()}{note[1:]}." if note else " and loved it.")
        )
    people = (t.get("directors") or [])[:1] + (t.get("actors") or [])[:1]
    want = _a(f"{_join(w.genres(), 2)} film") if w.genres() else "a film"
    want += f" exploring {_join(w.keywords()[:2], 2)}" if w.keywords() else ""
    opening.append(f"Now I'm after {want}" + (f", and I'm a fan of {_join(people, 2)}" if people else "") + ".")
    w.user(" ".join(opening))
    if disliked:
        h = disliked[-1]
        w.ai(f"That's a clear picture. You rated {item_tag(h['item_id'])} lower though. What put you off?")
        note = w.quote_review(h)
        w.user(f"As I put it then: {note}." if note else "It just didn't hold my attention.")
    else:
        w.ai("Great detail, thanks. Do you prefer something recent, or are older films fine?")
        w.user("Any era is fine if the craft is there.")
    credits = []
    if t.get("directors"):
        credits.append(f"directed by {_join(t['directors'], 2)}")
    if t.get("actors"):
        credits.append(f"with {_join(t['actors'], 3)}")
    year = f" ({t['year']})" if t.get("year") else ""
    plot = _first_sentence(t.get("overview"))
    w.ai(
        f"Then {w.tag}{year} is the one"
        + (f", {' and '.join(credits)}" if credits else "")
        + "."
        + (f" {plot}." if plot else "")
    )
    if t.get("collection"):
        w.user(f"Is that part of {_the(t['collection'])}?")
        w.ai(f"It is, so if it clicks you have more of {_the(t['collection'])} to explore after {w.tag}.")
    elif t.get("visual_caption"):
        w.user("How does it look? Style matters to me.")
        w.ai(f"Visually, {t['visual_caption'][0].lower()}{t['visual_caption'][1:]}")
    w.closing()


WRITERS: dict[str, Callable[[_Writer], None]] = {
    "cold_start_browser": _cold_start_browser,
    "cold_start_task": _cold_start_task,
    "history_only_explorer": _history_only_explorer,
    "history_hint_seeker": _history_hint_seeker,
    "fully_expressive": _fully_expressive,
}


def write_dialogue(record: dict[str, Any], seed: int) -> str:
    """The template dialogue for one prompt record (``[USR]``/``[AI]`` lines)."""
    writer = _Writer(record, seed)
    WRITERS[record["persona"]](writer)
    return writer.text()


class TemplateBackend:
    """``--backend template``: the rule-based writer behind the backend interface."""

    name = "template"

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = ModelSpec(model="distillrecdial-template-v1", adapter=None)

    def generate(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        results: list[str | Exception] = []
        for record in prompts:
            try:
                write = write_walk_dialogue if record.get("kind") == "walk" else write_dialogue
                results.append(Completion(write(record, sampling.seed), STOP))
            except (KeyError, IndexError, TypeError, ValueError) as err:
                results.append(err)
        return results

    def close(self) -> None:
        pass
