"""Who wrote the published rows: generators named as a reader can look them up, with their shares.

The card must never show a path from the machine that built it (``/tmp/.../tiny-llama``,
``runs/demo/student``): a Hub model id or an API model name is shown as is, anything that looks like a
file-system path becomes "local model" / "local adapter".
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

TEMPLATE_BACKEND = "template"
#: ``owner/name`` as the Hub spells repo ids (no leading dot, one slash).
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


@lru_cache(maxsize=1024)
def is_local_path(name: str) -> bool:
    """Whether ``name`` is a path on some machine rather than a Hub id or an API model name (asked once per name:
    a corpus repeats its few generators on every record)."""
    if name.startswith(("/", ".", "~")) or "\\" in name or Path(name).exists():
        return True
    return "/" in name and not _HUB_ID.match(name)


def public_name(name: str | None, kind: str = "model") -> str | None:
    """``name`` when a reader can look it up, else ``"local <kind>"``; ``None`` stays ``None``."""
    if not name:
        return None
    return f"local {kind}" if is_local_path(str(name)) else str(name)


def generator_label(generator: dict[str, Any]) -> str:
    """``role · backend · model (+ adapter)`` with local paths hidden; the card's name for a generator."""
    model = public_name(generator.get("model")) or "unknown model"
    adapter = public_name(generator.get("adapter"), "adapter")
    label = f"{generator.get('role')} · {generator.get('backend')} · {model}"
    return f"{label} + {adapter}" if adapter else label


def generator_shares(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per published generator: its public names, raw and valid dialogues and their shares (%)."""
    raw = Counter(generator_label(r["generator"]) for r in plan)
    valid = Counter(generator_label(r["generator"]) for r in plan if r["valid"])
    first = {}
    for row in plan:
        first.setdefault(generator_label(row["generator"]), row["generator"])
    total_raw, total_valid = len(plan), sum(valid.values())
    out = []
    for label in sorted(raw):
        g = first[label]
        out.append(
            {
                "label": label,
                "role": g.get("role"),
                "backend": g.get("backend"),
                "model": public_name(g.get("model")),
                "adapter": public_name(g.get("adapter"), "adapter"),
                "rule_based": g.get("backend") == TEMPLATE_BACKEND,
                "raw": raw[label],
                "raw_share": round(100 * raw[label] / total_raw, 1) if total_raw else 0.0,
                "valid": valid[label],
                "valid_share": round(100 * valid[label] / total_valid, 1) if total_valid else 0.0,
            }
        )
    return out


def rule_based_only(plan: list[dict[str, Any]]) -> bool:
    """Whether the published dialogues are all template-written: every valid one (or every one, if none is valid)."""
    rows = [r for r in plan if r["valid"]] or plan
    return bool(rows) and all(r["generator"].get("backend") == TEMPLATE_BACKEND for r in rows)
