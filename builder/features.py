"""The explicit `datasets.Features` of every config, owned by ``distillrecdial.py`` (the bottom layer).

Re-exported here so the builder's modules keep one short import for the schema users load.
"""

from __future__ import annotations

from distillrecdial_kit.distillrecdial import (
    CRSLAB,
    FEATURES,
    ITEMS,
    KG,
    MESSAGE,
    OPTIONAL_CONFIGS,
    RATIONALES,
    RAW,
    SFT,
    WALKS,
)

__all__ = ["CRSLAB", "FEATURES", "ITEMS", "KG", "MESSAGE", "OPTIONAL_CONFIGS", "RATIONALES", "RAW", "SFT", "WALKS"]
