"""Where `prepare` gets its three inputs: local files, or the Hub for users who are online.

A source is a local path or an ``hf://datasets/<owner>/<name>/<path-in-repo>``
URI. Hub sources are downloaded into the Hugging Face cache once and then read
by exactly the same local code path as a file on disk.
"""

from __future__ import annotations

from pathlib import Path

from distillrecdial_kit.pipeline.errors import StageError

#: The public upstream files, for ``prepare --from-hub``.
HUB_DEFAULTS = {
    "reviews": "hf://datasets/McAuley-Lab/Amazon-Reviews-2023/raw/review_categories/Movies_and_TV.jsonl",
    "meta": "hf://datasets/McAuley-Lab/Amazon-Reviews-2023/raw/meta_categories/meta_Movies_and_TV.jsonl",
    "tmdb": "hf://datasets/planeB/DistillRecDial/tmdb_movies.json",
}

_PREFIX = "hf://datasets/"


def parse_hub_uri(spec: str) -> tuple[str, str] | None:
    """``hf://datasets/owner/name/a/b.jsonl`` → ``("owner/name", "a/b.jsonl")``; ``None`` for local paths."""
    if not spec.startswith(_PREFIX):
        return None
    parts = spec[len(_PREFIX) :].split("/", 2)
    if len(parts) < 3 or not all(parts):
        raise StageError(f"bad Hub source {spec!r}: expected hf://datasets/OWNER/NAME/PATH")
    return f"{parts[0]}/{parts[1]}", parts[2]


def resolve_source(kind: str, spec: str) -> Path:
    """A local, existing file for ``spec``; downloads Hub URIs (the only network use of `prepare`)."""
    hub = parse_hub_uri(spec)
    if hub is None:
        path = Path(spec)
        if not path.is_file():
            raise StageError(f"{kind} file not found: {spec}")
        return path
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    repo_id, filename = hub
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, repo_type="dataset"))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as err:
        raise StageError(f"could not download {kind} source {spec}: {type(err).__name__}") from None
