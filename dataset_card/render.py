"""The Hub README: metadata through ``huggingface_hub.DatasetCardData``, the body from ``template.md``.

The YAML is never written by hand: ``DatasetCardData`` holds the Hub's card fields, and `datasets`' own
``MetadataConfigs`` / ``DatasetInfosDict`` add ``configs:`` and ``dataset_info:`` exactly as
``Dataset.push_to_hub`` would. ``DatasetCard.from_template`` puts the two together.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

TEMPLATE = Path(__file__).with_name("template.md")
SOURCE_DATASET = "McAuley-Lab/Amazon-Reviews-2023"
TAGS = [
    "conversational-recommendation",
    "recommender-systems",
    "crs",
    "synthetic",
    "knowledge-distillation",
    "movies",
    "dialogue",
]
#: The card is the template's body under the metadata block ``DatasetCard`` renders.
_CARD = "---\n{{ card_data }}\n---\n\n{{ body }}"


def card_metadata(configs: dict[str, dict[str, Any]], stats: dict[str, Any], default: str = "sft") -> DatasetCardData:
    """The README's metadata: the Hub's card fields, every config and split for ``load_dataset``, dataset_info.

    ``configs`` maps a config name to ``{"features": Features, "splits": {split: (rows, num_bytes)}}``.
    """
    card_data = DatasetCardData(
        pretty_name="DistillRecDial",
        language=["en"],
        license="cc-by-nc-4.0",
        annotations_creators=["machine-generated"],
        language_creators=["machine-generated"],
        multilinguality=["monolingual"],
        source_datasets=[SOURCE_DATASET],
        task_categories=["text-generation"],
        tags=list(TAGS),
        size_categories=[stats["size_category"]],
    )
    MetadataConfigs(
        {
            name: {
                **({"default": True} if name == default else {}),
                "data_files": [{"split": split, "path": f"data/{name}/{split}-*"} for split in config["splits"]],
            }
            for name, config in configs.items()
        }
    ).to_dataset_card_data(card_data)
    infos = {}
    for name, config in configs.items():
        splits = SplitDict()
        for split, (rows, size) in config["splits"].items():
            splits.add(SplitInfo(name=split, num_bytes=size, num_examples=rows))
        infos[name] = DatasetInfo(
            features=config["features"],
            splits=splits,
            dataset_size=sum(size for _, size in config["splits"].values()),
        )
    DatasetInfosDict(infos).to_dataset_card_data(card_data)
    return card_data


def render_body(context: dict[str, Any]) -> str:
    """The card's markdown body: ``template.md`` rendered strictly (a missing value is an error, not a blank)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    return environment.from_string(TEMPLATE.read_text(encoding="utf-8")).render(**context)


def render_card(card_data: DatasetCardData, context: dict[str, Any]) -> str:
    """README.md text: the metadata block, then the body."""
    card = DatasetCard.from_template(card_data, template_str=_CARD, body=render_body(context))
    return str(card)
