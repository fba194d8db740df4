"""What every column of every config means, for the card's field-by-field tables.

The keys must cover ``builder.features.FEATURES`` exactly (nested fields as ``parent.child``); the card
test checks it, so a new column cannot reach the Hub undocumented.
"""

from __future__ import annotations

from typing import Any

from datasets import Features, LargeList, List, Sequence, Value

FIELDS: dict[str, dict[str, str]] = {
    "raw": {
        "dialogue_id": "Stable id of the dialogue (20 hex characters of a SHA-256 of user, persona and generator); "
        "the same dialogue has the same id in `sft` and as `conv_id` in `crslab`.",
        "user_id": "The Amazon Reviews 2023 reviewer id of the user the dialogue was written for.",
        "persona": "The simulated user persona (one of the five ids in *Personas*).",
        "target_item": "The movie (Amazon parent ASIN) the user actually reviewed next: what the recommender "
        "should end up recommending.",
        "history": "Up to 9 earlier interactions of the user, oldest first: `item_id` and the user's `rating` "
        "(1-5; above 3 counts as liked).",
        "history.item_id": "Amazon parent ASIN of a movie in the history.",
        "history.rating": "The user's star rating of it.",
        "prompt": "The chat prompt the generator got: a `system` message with the persona's policy and a "
        "`user` message with the facts that persona may see (for the Fully Expressive Seeker, the user's "
        "own review texts).",
        "prompt.role": "`system` or `user`.",
        "prompt.content": "The message text; movies are written as `<id_ASIN>` tags.",
        "response": "The generator's text exactly as returned: `[USR]` / `[AI]` turns with `<id_ASIN>` tags.",
        "generator": "Provenance of the dialogue: the model, adapter, backend, role and sampling settings "
        "that wrote it.",
        "generator.model": "The model that wrote the dialogue (a Hub id, an API model name, a local path, or "
        "`distillrecdial-template-v1` for the rule-based writer).",
        "generator.revision": "The model revision, when one was given.",
        "generator.adapter": "The LoRA adapter applied to the model (the student), if any.",
        "generator.backend": "`vllm`, `transformers`, `openai`, `template` (rule-based, not an LLM) or "
        "`import` (the first release's files).",
        "generator.role": "`teacher` or `student`.",
        "generator.temperature": "Sampling temperature.",
        "generator.top_p": "Nucleus-sampling threshold.",
        "generator.max_new_tokens": "Cap on generated tokens.",
        "generator.seed": "Sampling seed.",
        "turns": "The response parsed into alternating turns (`user` first); empty when it could not be parsed.",
        "turns.role": "`user` (the seeker) or `assistant` (the recommender).",
        "turns.content": "The turn's text, movies as `<id_ASIN>` tags.",
        "valid": "Whether the dialogue passed every check (it is then in `sft` and `crslab`).",
        "problems": "Why it is not valid (empty when valid), e.g. `target_not_recommended`, "
        "`unknown_item:B0...`, `truncated` (the generator hit its token limit); `fixed:` entries are repairs "
        "that were made.",
    },
    "sft": {
        "messages": "The dialogue as a TRL conversational example: a `system` message, then alternating `user` "
        "/ `assistant` messages; movies as `Title (Year)`, each recommendation marked `<rec>Title (Year)</rec>`.",
        "messages.role": "`system`, `user` or `assistant`.",
        "messages.content": "The message text.",
        "dialogue_id": "Same id as in `raw`.",
        "persona": "The persona id.",
        "target_item": "The movie the dialogue recommends (Amazon parent ASIN).",
    },
    "crslab": {
        "conv_id": "Same id as `dialogue_id` in `raw` and `sft`.",
        "persona": "The persona id.",
        "target_item": "The movie the dialogue recommends (Amazon parent ASIN).",
        "dialog": "The utterances in order.",
        "dialog.utt_id": "Position of the utterance in the dialogue (from 0).",
        "dialog.role": "`Seeker` or `Recommender`.",
        "dialog.text": "The utterance, movies written as `Title (Year)`.",
        "dialog.movies": "Item ids named in the utterance (the Recommender's first mention of one is a "
        "recommendation).",
        "dialog.entity": "Knowledge-graph entities linked in the utterance (actors, directors, genres, keywords, "
        "collections, titles).",
        "dialog.word": "The utterance's word tokens.",
    },
    "items": {
        "item_id": "Amazon parent ASIN of the movie.",
        "title": "TMDB title (Amazon's when TMDB has none).",
        "year": "Release year (TMDB).",
        "genres": "TMDB genres.",
        "keywords": "TMDB keywords.",
        "actors": "Top-billed cast (TMDB).",
        "directors": "Directors (TMDB crew).",
        "overview": "TMDB plot overview.",
        "collection": "The TMDB collection (franchise) the movie belongs to, if any.",
        "visual_caption": "A vision-language model's description of the poster (from the TMDB file).",
        "origin_country": "Countries of origin (TMDB).",
        "tmdb_id": "The movie's id on themoviedb.org (TMDB).",
        "amazon_title": "The title on the Amazon product page.",
        "store": "The Amazon store field.",
        "average_rating": "Amazon average rating of the product.",
        "rating_number": "Number of Amazon ratings of the product.",
        "item_rationales": "Up to 3 distinct `item_is` rationales of the movie from the `rationales` config, "
        "most often written first (empty when the run has none).",
    },
    "kg": {
        "head": "A movie: its item id (Amazon parent ASIN).",
        "relation": "`actor`, `director`, `genre`, `keyword`, `collection` or `year`.",
        "tail": "The entity: a person, genre, keyword, collection name or release year.",
    },
    "walks": {
        "dialogue_id": "Stable id of the walk dialogue (20 hex characters of a SHA-256 of user, persona, walk "
        "and generator).",
        "user_id": "The Amazon Reviews 2023 reviewer id of the user the walk was drawn for; the same user is in "
        "the same split in every config.",
        "persona": "The simulated user persona (one of the five ids in *Personas*).",
        "target_item": "The movie the user actually reviewed next: it is in the last slate.",
        "start_item": "The liked movie of the user's history the walk starts from.",
        "slates": "The walk: slates of movies (Amazon parent ASINs), in the order the recommender presents them.",
        "edges": "The relation of the item graph behind each move (`same_collection`, `same_director`, "
        "`shared_actor`, `shared_keyword` or `co_interaction`), one per slate.",
        "turns": "The dialogue, parsed: alternating `user` / `assistant` turns; each assistant turn presents one "
        "slate with `<id_ASIN>` tags.",
        "turns.role": "`user` (the seeker) or `assistant` (the recommender).",
        "turns.content": "The utterance; movies are written as `<id_ASIN>` tags.",
        "valid": "Whether every slate is presented in order, with no movie outside the walk and the target in "
        "the last slate.",
        "problems": "Why the walk dialogue is not valid (empty when it is); `fixed:*` entries are repairs.",
    },
    "rationales": {
        "rationale_id": "Stable id of the record (20 hex characters of a SHA-256 of user, item and generator).",
        "user_id": "The reviewer (joins `user_id` in `raw`).",
        "item_id": "The reviewed movie (joins `item_id` in `items`).",
        "review_line": "Line of the review in the Amazon Reviews 2023 Movies_and_TV review file.",
        "rating": "The user's star rating in that review.",
        "user_prefers": "What the user prefers or dislikes, distilled from the review (RDRec's user rationale); "
        "null when the generator's answer had none.",
        "item_is": "What the movie is, distilled from the review and the movie's facts (RDRec's item rationale); "
        "null when the generator's answer had none.",
        "generator.model": "The model that wrote the rationales (`distillrecdial-rationale-template-v1+...` for "
        "the extractive rule-based writer, naming how it read the review).",
        "generator.revision": "The model revision, when one was given.",
        "generator.adapter": "The LoRA adapter applied to the model, if any.",
        "generator.backend": "`vllm`, `transformers`, `openai` or `template` (rule-based, not an LLM).",
        "generator.role": "`teacher` or `student`.",
        "generator.temperature": "Sampling temperature.",
        "generator.top_p": "Nucleus-sampling threshold.",
        "generator.max_new_tokens": "Cap on generated tokens.",
        "generator.seed": "Sampling seed.",
        "generator": "Provenance: the model, adapter, backend, role and sampling settings that wrote the record.",
        "problems": "What was wrong with the generator's answer: `fixed:` entries are repairs that were made; "
        "`missing:user_prefers`, `missing:item_is` or `empty_response` mean that part is null.",
    },
}
# A walk's generator is described as a dialogue's.
FIELDS["walks"].update({name: text for name, text in FIELDS["raw"].items() if name.startswith("generator")})


def type_name(feature: Any) -> str:
    """A short, readable type: ``string``, ``list of string``, ``list of {item_id, rating}``, ``struct``."""
    if isinstance(feature, Value):
        return feature.dtype
    if isinstance(feature, List | LargeList | Sequence):
        inner = feature.feature
        if isinstance(inner, dict):
            return "list of {" + ", ".join(inner) + "}"
        return f"list of {type_name(inner)}"
    if isinstance(feature, dict):
        return "struct {" + ", ".join(feature) + "}"
    return type(feature).__name__


def field_rows(features: Features) -> list[tuple[str, str]]:
    """``(field, type)`` for every column and every nested field (``parent.child``), in schema order."""
    rows: list[tuple[str, str]] = []
    for name, feature in features.items():
        rows.append((name, type_name(feature)))
        inner = feature.feature if isinstance(feature, List | LargeList | Sequence) else feature
        if isinstance(inner, dict):
            rows += [(f"{name}.{child}", type_name(sub)) for child, sub in inner.items()]
    return rows
