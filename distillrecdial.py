"""DistillRecDial: conversational-recommendation dialogues made by knowledge distillation.

A `datasets` builder that turns a DistillRecDial run folder (``data_dir``) into
the dataset's configs:

- ``raw``: every generated dialogue, valid or not, with its prompt, the model's
  text, the generator's provenance, the parsed turns and why it is (in)valid;
- ``sft``: valid dialogues as TRL conversational ``messages``;
- ``crslab``: valid dialogues in CRSLab's shape, with linked entities;
- ``items``: the movie catalog (with ``item_rationales``); ``kg``: knowledge-graph triples over it;
- ``rationales``: RDRec rationales of reviews (what the user prefers, what the item is), when the run has them.
- ``walks``: walk dialogues (`distillrecdial walks`): slates of movies along the item graph, one move each.

The `build` stage uses this class to write the published parquet files, and it
works on its own too::

    builder = DistillRecDial(config_name="crslab", data_dir="runs/demo")
    builder.download_and_prepare()
    dataset = builder.as_dataset()

The Hub repository holds the parquet files (``datasets`` 4+ no longer runs
loading scripts), so ``load_dataset("planeB/DistillRecDial", "crslab")`` needs
no remote code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import datasets

from distillrecdial_kit.builder.features import FEATURES
from distillrecdial_kit.builder.plan import load_items, read_plan
from distillrecdial_kit.builder.rows import crslab_row, resolve, sft_row
from distillrecdial_kit.builder.splits import SPLITS
from distillrecdial_kit.builder.walk_rows import walk_rows

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
_DIALOGUE_CONFIGS = ("raw", "sft", "crslab", "walks")


class DistillRecDialConfig(datasets.BuilderConfig):
    """One DistillRecDial config; ``data_dir`` is the run folder to build from."""

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

    def _run_dir(self) -> Path:
        if not self.config.data_dir:
            raise ValueError("DistillRecDial builds from a run folder: pass data_dir=RUN")
        return Path(self.config.data_dir)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        run = self._run_dir()
        if self.config.name not in _DIALOGUE_CONFIGS:
            return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={"rows": None})]
        by_split: dict[str, list[dict[str, Any]]] = {split: [] for split in SPLITS}
        rows = read_plan(run)
        if self.config.name == "walks":
            rows = walk_rows(run, rows, {item["item_id"] for item in load_items(run)})
        for row in rows:  # read once, not once per split
            by_split[row["split"]].append(row)
        return [datasets.SplitGenerator(name=split, gen_kwargs={"rows": rows}) for split, rows in by_split.items()]

    def _generate_examples(self, rows: list[dict[str, Any]] | None) -> Iterator[tuple[str, dict[str, Any]]]:
        run = self._run_dir()
        name = self.config.name
        if name == "items":
            from distillrecdial_kit.generation.rationale_store import item_rationales, load_rationales

            rationales = item_rationales(load_rationales(run))
            for item in load_items(run):
                item["item_rationales"] = rationales.get(item["item_id"], [])
                yield item["item_id"], {key: item.get(key) for key in FEATURES["items"]}
            return
        if name == "rationales":
            from distillrecdial_kit.generation.rationale_store import load_rationales

            provenance = FEATURES["rationales"]["generator"]
            for record in load_rationales(run):
                row = {key: record.get(key) for key in FEATURES["rationales"]}
                row["generator"] = {key: record["generator"].get(key) for key in provenance}  # no package versions
                yield record["rationale_id"], row
            return
        if name == "kg":
            from distillrecdial_kit.builder.kg import kg_triples

            for number, triple in enumerate(kg_triples(load_items(run))):
                yield str(number), triple
            return
        assert rows is not None
        if name == "walks":
            for row in rows:
                yield row["dialogue_id"], {key: row[key] for key in FEATURES["walks"]}
            return
        if name == "raw":
            for row in rows:
                yield row["dialogue_id"], {key: row[key] for key in FEATURES["raw"]}
            return
        catalog = {item["item_id"]: item for item in load_items(run)}
        valid = [row for row in rows if row["valid"]]
        if name == "sft":
            for row in valid:
                yield row["dialogue_id"], sft_row(row, row["turns"], catalog)
            return
        for row, dialog in zip(valid, self._linked_dialogs(valid, catalog), strict=True):
            yield row["dialogue_id"], crslab_row(row, row["turns"], catalog, dialog)

    def _linked_dialogs(self, rows: list[dict[str, Any]], catalog: dict[str, dict[str, Any]]) -> list[list[Any]]:
        """Entity links for every turn of ``rows``, in one batched pass of the linker."""
        from distillrecdial_kit.builder.entity_linking import EntityLinker

        if not hasattr(self, "_linker"):
            self._linker = EntityLinker.from_items(list(catalog.values()))
        texts = [resolve(turn["content"], catalog) for row in rows for turn in row["turns"]]
        linked = iter(self._linker.link_many(texts))
        return [[next(linked) for _ in row["turns"]] for row in rows]
