"""The Hub README: YAML metadata (configs, dataset_info, license, tags) and the card body, from the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

TEMPLATE = Path(__file__).with_name("template.md")


def card_metadata(configs: dict[str, dict[str, Any]], stats: dict[str, Any], default: str = "sft") -> dict[str, Any]:
    """The README's YAML: every config and split for ``load_dataset``, and the Hub's card fields.

    ``configs`` maps a config name to ``{"features": Features, "splits": {split: (rows, num_bytes)}}``.
    """
    config_entries, info_entries = [], []
    for name, config in configs.items():
        entry: dict[str, Any] = {"config_name": name}
        if name == default:
            entry["default"] = True
        entry["data_files"] = [{"split": split, "path": f"data/{name}/{split}-*"} for split in config["splits"]]
        config_entries.append(entry)
        info_entries.append(
            {
                "config_name": name,
                "features": config["features"]._to_yaml_list(),
                "splits": [
                    {"name": split, "num_bytes": size, "num_examples": rows}
                    for split, (rows, size) in config["splits"].items()
                ],
            }
        )
    return {
        "pretty_name": "DistillRecDial",
        "language": ["en"],
        "license": "cc-by-nc-4.0",
        "task_categories": ["text-generation"],
        "tags": [
            "conversational-recommendation",
            "recommender-systems",
            "crs",
            "synthetic",
            "knowledge-distillation",
            "movies",
            "dialogue",
        ],
        "size_categories": [stats["size_category"]],
        "configs": config_entries,
        "dataset_info": info_entries,
    }


def render_card(metadata: dict[str, Any], context: dict[str, Any]) -> str:
    """README.md text: YAML front matter, then the template rendered with ``context``."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)
    body = environment.from_string(TEMPLATE.read_text()).render(**context)
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True, width=120)
    return f"---\n{front}---\n\n{body}"
