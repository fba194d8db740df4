"""The explicit `datasets.Features` of every config: the schema users load."""

from __future__ import annotations

from datasets import Features, List, Value

MESSAGE = {"role": Value("string"), "content": Value("string")}

RAW = Features(
    {
        "dialogue_id": Value("string"),
        "user_id": Value("string"),
        "persona": Value("string"),
        "target_item": Value("string"),
        "history": List({"item_id": Value("string"), "rating": Value("float32")}),
        "prompt": List(MESSAGE),
        "response": Value("string"),
        "generator": {
            "model": Value("string"),
            "revision": Value("string"),
            "adapter": Value("string"),
            "backend": Value("string"),
            "role": Value("string"),
            "temperature": Value("float32"),
            "top_p": Value("float32"),
            "max_new_tokens": Value("int32"),
            "seed": Value("int64"),
        },
        "turns": List(MESSAGE),
        "valid": Value("bool"),
        "problems": List(Value("string")),
    }
)

SFT = Features(
    {
        "messages": List(MESSAGE),
        "dialogue_id": Value("string"),
        "persona": Value("string"),
        "target_item": Value("string"),
    }
)

CRSLAB = Features(
    {
        "conv_id": Value("string"),
        "persona": Value("string"),
        "target_item": Value("string"),
        "dialog": List(
            {
                "utt_id": Value("int32"),
                "role": Value("string"),
                "text": Value("string"),
                "movies": List(Value("string")),
                "entity": List(Value("string")),
                "word": List(Value("string")),
            }
        ),
    }
)

ITEMS = Features(
    {
        "item_id": Value("string"),
        "title": Value("string"),
        "year": Value("int32"),
        "genres": List(Value("string")),
        "keywords": List(Value("string")),
        "actors": List(Value("string")),
        "directors": List(Value("string")),
        "overview": Value("string"),
        "collection": Value("string"),
        "visual_caption": Value("string"),
        "origin_country": List(Value("string")),
        "tmdb_id": Value("int64"),
        "amazon_title": Value("string"),
        "store": Value("string"),
        "average_rating": Value("float32"),
        "rating_number": Value("int64"),
        "item_rationales": List(Value("string")),
    }
)

KG = Features({"head": Value("string"), "relation": Value("string"), "tail": Value("string")})

#: One row per review distilled by `distillrecdial rationales` (RDRec): what the user prefers, what the item is.
RATIONALES = Features(
    {
        "rationale_id": Value("string"),
        "user_id": Value("string"),
        "item_id": Value("string"),
        "review_line": Value("int64"),
        "rating": Value("float32"),
        "user_prefers": Value("string"),
        "item_is": Value("string"),
        "generator": {key: RAW["generator"][key] for key in RAW["generator"]},
        "problems": List(Value("string")),
    }
)

#: One row per walk dialogue (`distillrecdial walks`): the slates, the relation of each move, the turns.
WALKS = Features(
    {
        "dialogue_id": Value("string"),
        "user_id": Value("string"),
        "persona": Value("string"),
        "target_item": Value("string"),
        "start_item": Value("string"),
        "slates": List(List(Value("string"))),
        "edges": List(Value("string")),
        "turns": List(MESSAGE),
        "generator": RAW["generator"],
        "valid": Value("bool"),
        "problems": List(Value("string")),
    }
)

#: Configs published only when the run has their data (an empty parquet split does not load back).
OPTIONAL_CONFIGS = frozenset({"rationales", "walks"})

FEATURES: dict[str, Features] = {
    "raw": RAW,
    "sft": SFT,
    "crslab": CRSLAB,
    "items": ITEMS,
    "kg": KG,
    "rationales": RATIONALES,
    "walks": WALKS,
}
