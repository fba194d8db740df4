"""DistillRecDial: conversational-recommendation dialogues made by knowledge distillation.

A `datasets` builder over the files ``distillrecdial build`` finished: the
Hub-ready folder's ``data/<config>/<split>-*.parquet`` (``data_dir`` is that
folder, or a run folder holding it as ``hub/``). The configs:

- ``raw``: every generated dialogue, valid or not, with its prompt, the model's
  text, the generator's provenance, the parsed turns and why it is (in)valid;
- ``sft``: valid dialogues as TRL conversational ``messages``;
- ``crslab``: valid dialogues in CRSLab's shape, with linked entities;
- ``items``: the movie catalog (with ``item_rationales``); ``kg``: knowledge-graph triples over it;
- ``rationales``: RDRec rationales of reviews (what the user prefers, what the item is), when the run has them.
- ``walks``: walk dialogues (`distillrecdial walks`): slates of movies along the item graph, one move each.

Like the canonical `datasets` scripts, it only reads finished files: the rows
are computed by the pipeline (``builder/``), which imports this module's
constants and features and never the reverse. So this file needs nothing but
`datasets`, `pyarrow` and the standard library, and works on its own::

    builder = DistillRecDial(config_name="crslab", data_dir="runs/demo")
    builder.download_and_prepare()
    dataset = builder.as_dataset()

The Hub repository holds the same parquet files (``datasets`` 4+ no longer runs
loading scripts), so ``load_dataset("planeB/DistillRecDial", "crslab")`` needs
no remote code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pyarrow.parquet as pq
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

#: The paper, as its authors cite it (README of github.com/swapUniba/DistillRecDial).
_CITATION = """\
@inproceedings{Martina2025DistillRecDial,
  author    = {Martina, Alessandro Francesco Maria and Petruzzelli, Alessandro and Musto, Cataldo and
               de Gemmis, Marco and Lops, Pasquale and Semeraro, Giovanni},
  title     = {{DistillRecDial}: A Knowledge-Distilled Dataset Capturing User Diversity in Conversational
               Recommendation},
  booktitle = {Proceedings of the Nineteenth ACM Conference on Recommender Systems (RecSys '25)},
  year      = {2025},
  address   = {Prague, Czech Republic},
  publisher = {ACM},
  doi       = {10.1145/3705328.3748161}
}
"""

_DESCRIPTION = """\
Movie-recommendation dialogues between a user and a recommender, written for real users of Amazon Reviews 2023
(Movies_and_TV) joined with TMDB metadata, under five user personas, by a teacher LLM or a student distilled from it
(each row's `generator` says which).
"""

_HOMEPAGE = "https://huggingface.co/datasets/planeB/DistillRecDial"
_LICENSE = "cc-by-nc-4.0"

_CONFIG_DESCRIPTIONS = {
    "raw": "Every generated dialogue, nothing dropped: prompt, model text, provenance, parsed turns, validity.",
    "sft": "Valid dialogues as TRL conversational `messages` (titles instead of tags, recommendations marked).",
    "crslab": "Valid dialogues in CRSLab's shape: Seeker/Recommender utterances with movies, entities, words.",
    "items": "The movie catalog: Amazon item joined with TMDB facts.",
    "kg": "Knowledge-graph triples (head, relation, tail) over movies and their entities.",
    "rationales": "RDRec rationales of reviews: what the user prefers and what the item is, with provenance.",
    "walks": "Talk-the-Walk dialogues: a walk over the item graph as slates of movies, one seeker move per slate.",
}

#: Configs over dialogues have three splits; the catalog and the graph are one table each.
SPLITS = ("train", "validation", "test")
DIALOGUE_CONFIGS = ("raw", "sft", "crslab", "walks")
#: The column that names a row of each config (the example key); `kg` uses the row's number.
_KEY_COLUMNS = {
    "raw": "dialogue_id",
    "sft": "dialogue_id",
    "crslab": "conv_id",
    "walks": "dialogue_id",
    "items": "item_id",
    "rationales": "rationale_id",
}
#: Where a config's split lives inside the Hub-ready folder (one file per split, as `build` writes it).
DATA_FILE = "data/{config}/{split}-00000-of-00001.parquet"
_READ_BATCH = 1000


def config_splits(name: str) -> tuple[str, ...]:
    """The splits a config is published with."""
    return SPLITS if name in DIALOGUE_CONFIGS else ("train",)


class DistillRecDialConfig(datasets.BuilderConfig):
    """One DistillRecDial config; ``data_dir`` is the built Hub folder (or the run folder holding ``hub/``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(version=datasets.Version("1.0.0"), **kwargs)


class DistillRecDial(datasets.GeneratorBasedBuilder):
    """DistillRecDial: raw, sft and crslab dialogues, the items catalog and its knowledge graph."""

    BUILDER_CONFIG_CLASS = DistillRecDialConfig
    BUILDER_CONFIGS: ClassVar[list[datasets.BuilderConfig]] = [
        DistillRecDialConfig(name=name, description=text) for name, text in _CONFIG_DESCRIPTIONS.items()
    ]
    DEFAULT_CONFIG_NAME = "sft"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION + "\n" + _CONFIG_DESCRIPTIONS[self.config.name],
            features=FEATURES[self.config.name],
            homepage=_HOMEPAGE,
            license=_LICENSE,
            citation=_CITATION,
        )

    def _folder(self) -> Path:
        """The Hub-ready folder: ``data_dir`` itself, or its ``hub/`` when ``data_dir`` is a run folder."""
        if not self.config.data_dir:
            raise ValueError("DistillRecDial reads a built dataset: pass data_dir=RUN (or RUN/hub)")
        folder = Path(self.config.data_dir)
        return folder if (folder / "data").is_dir() else folder / "hub"

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        folder = self._folder()
        generators = []
        for split in config_splits(self.config.name):
            path = folder / DATA_FILE.format(config=self.config.name, split=split)
            if not path.is_file():
                raise FileNotFoundError(f"{path} not found; run `distillrecdial build` first")
            generators.append(datasets.SplitGenerator(name=split, gen_kwargs={"path": str(path)}))
        return generators

    def _generate_examples(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        key = _KEY_COLUMNS.get(self.config.name)
        number = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=_READ_BATCH):
            for row in batch.to_pylist():
                yield (row[key] if key else str(number)), row
                number += 1
