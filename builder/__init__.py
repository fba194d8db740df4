"""From raw dialogues to the published dataset: validation, splits, the five configs, the Hub folder."""
