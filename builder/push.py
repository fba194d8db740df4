"""`distillrecdial push`: upload a Hub-ready folder (``RUN/hub``) to a dataset repo, in one commit.

The folder is what ``distillrecdial build`` writes: ``README.md`` (the card,
whose YAML ``configs:`` lists every config and split), ``figures/`` and
``data/<config>/<split>-*.parquet``. The repo is created if missing
(``--private`` applies only then); ``--revision`` names a branch (created from
``main`` if missing) and ``--create-pr`` opens a pull request against it
instead of committing to it.

The upload is ``huggingface_hub``'s own: one ``HfApi.create_commit`` holding
every file of the folder plus a delete for each remote file under ``data/``
or ``figures/`` that the folder no longer has (``upload_folder``'s
``delete_patterns``, listed with ``filter_repo_objects``). The library's
preupload step drops files the Hub already holds and makes no commit when
nothing changed. (``upload_folder`` itself is not used: with ``hf_xet``
installed it may split a folder into several commits and opens pull requests
only against ``main``.) ``--dry-run`` lists what would go up and contacts
nothing.

The token is the one ``huggingface_hub`` finds itself (``HF_TOKEN`` or the
saved ``hf auth login``); this command never prints, logs or writes it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from distillrecdial_kit.pipeline.errors import StageError
from distillrecdial_kit.pipeline.stage import config_from, invoke, make_parser

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
DEFAULT_MESSAGE = "Upload DistillRecDial (distillrecdial push)"
#: Remote files matching these (``fnmatch``, ``*`` crosses folders) that the folder lacks are deleted by the push.
DELETE_PATTERNS = ["data/*", "figures/*"]
#: Hidden files kept anyway (everything else starting with "." is skipped: temp files, caches, .git).
KEPT_HIDDEN = {".gitattributes"}
#: The published dataset: pushing there replaces its card and data for every user.
OFFICIAL_REPO_ID = "planeB/DistillRecDial"

T = TypeVar("T")


@dataclass(frozen=True)
class LocalFile:
    path: Path  # on disk
    path_in_repo: str  # POSIX, relative to the folder
    size: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="FOLDER", help="Hub-ready folder from `distillrecdial build`")
    parser.add_argument("--repo-id", required=True, help="dataset repo to push to, e.g. planeB/DistillRecDial")
    parser.add_argument("--private", action="store_true", help="create the repo private (no effect if it exists)")
    parser.add_argument(
        "--revision", default=None, help="branch to commit to (created from main if missing; default: main)"
    )
    parser.add_argument(
        "--create-pr", action="store_true", help="open a pull request (against --revision) instead of committing"
    )
    parser.add_argument("--message", default=None, help=f"commit message (default: {DEFAULT_MESSAGE!r})")
    parser.add_argument("--dry-run", action="store_true", help="list the files that would go up; contact nothing")


# -- the folder ---------------------------------------------------------------------------------------------------


def _front_matter(readme: Path) -> dict[str, Any]:
    text = readme.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise StageError(f"{readme}: no YAML front matter (the card must start with a '---' line)")
    try:
        end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        raise StageError(f"{readme}: YAML front matter is not closed by a '---' line") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 2}" if mark is not None else ""
        raise StageError(f"{readme}:{where}: invalid YAML front matter ({getattr(err, 'problem', err)})") from None
    if not isinstance(meta, dict):
        raise StageError(f"{readme}: YAML front matter is not a mapping")
    return meta


def _data_file_patterns(readme: Path, config: Any, index: int) -> tuple[str, list[str]]:
    if not isinstance(config, dict) or not config.get("config_name"):
        raise StageError(f"{readme}: configs[{index}] has no config_name")
    name = str(config["config_name"])
    data_files = config.get("data_files")
    if isinstance(data_files, str):
        data_files = [data_files]
    patterns: list[str] = []
    for item in data_files or []:
        if isinstance(item, str):
            patterns.append(item)
        elif isinstance(item, dict) and isinstance(item.get("path"), str | list):
            paths = item["path"]
            patterns.extend([paths] if isinstance(paths, str) else [str(p) for p in paths])
        else:
            raise StageError(f"{readme}: config {name!r}: data_files entries need a split and a path")
    if not patterns:
        raise StageError(f"{readme}: config {name!r} lists no data_files")
    return name, patterns


def _is_kept(rel_parts: tuple[str, ...]) -> bool:
    hidden = [part for part in rel_parts if part.startswith(".")]
    return not hidden or (len(rel_parts) == 1 and rel_parts[0] in KEPT_HIDDEN)


def check_folder(folder: Path) -> list[LocalFile]:
    """The files to upload, after checking the folder is Hub-ready; a ``StageError`` says what is missing."""
    hint = "build it with `distillrecdial build --run RUN` (it writes RUN/hub)"
    if not folder.exists():
        raise StageError(f"{folder}: no such folder; {hint}")
    if not folder.is_dir():
        raise StageError(f"{folder}: not a folder; {hint}")
    readme = folder / "README.md"
    if not readme.is_file():
        raise StageError(f"{folder}: no README.md (dataset card); {hint}")
    configs = _front_matter(readme).get("configs")
    if not isinstance(configs, list) or not configs:
        raise StageError(f"{readme}: the YAML front matter has no `configs:` list; {hint}")
    parquet = sorted((folder / "data").rglob("*.parquet")) if (folder / "data").is_dir() else []
    if not parquet:
        raise StageError(f"{folder}: no parquet files under data/; {hint}")
    for index, config in enumerate(configs):
        name, patterns = _data_file_patterns(readme, config, index)
        for pattern in patterns:
            if not any(path.is_file() for path in folder.glob(pattern)):
                raise StageError(f"{readme}: config {name!r}: no file in {folder} matches data_files path {pattern!r}")

    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and _is_kept(rel.parts):
            files.append(LocalFile(path=path, path_in_repo=rel.as_posix(), size=path.stat().st_size))
    return files


# -- talking to the Hub ---------------------------------------------------------------------------------------------


def _human(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"  # pragma: no cover


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:300]


@contextmanager
def _hub_errors(what: str, repo_id: str) -> Iterator[None]:
    """Turn a Hub/HTTP failure into a one-line ``StageError`` (no headers, no token, no traceback)."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    try:
        yield
    except StageError:
        raise
    except OfflineModeIsEnabled:
        raise StageError("HF_HUB_OFFLINE is set; unset it to push") from None
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        detail = err.server_message or (err.response.reason_phrase if err.response is not None else "")
        hint = {
            401: "; check HF_TOKEN or run `hf auth login`",
            403: f"; the token has no write access to {repo_id}",
            404: f"; check the repo id {repo_id!r} and the revision",
        }.get(status, "")
        raise StageError(_redact(f"{what} failed: HTTP {status}: {_one_line(detail)}{hint}", get_token())) from None
    except Exception as err:
        module = type(err).__module__ or ""
        if module.startswith(("httpx", "httpcore", "huggingface_hub", "urllib3", "requests")) or isinstance(
            err, OSError | ValueError
        ):
            raise StageError(_redact(f"{what} failed: {type(err).__name__}: {_one_line(err)}", get_token())) from None
        raise


def _redact(message: str, token: str | None) -> str:
    return message.replace(token, "***") if token else message


def _call(what: str, repo_id: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    with _hub_errors(what, repo_id):
        return fn(*args, **kwargs)


def _ensure_branch(api: Any, repo_id: str, branch: str) -> bool:
    """Create ``branch`` from main if the repo lacks it; True when created."""
    refs = _call("listing branches", repo_id, api.list_repo_refs, repo_id, repo_type=REPO_TYPE)
    if branch in {ref.name for ref in refs.branches}:
        return False
    _call(f"creating branch {branch!r}", repo_id, api.create_branch, repo_id, branch=branch, repo_type=REPO_TYPE)
    return True


def _tree(api: Any, repo_id: str, revision: str) -> dict[str, str]:
    """Every file of the repo at ``revision``: path → content id (LFS sha256, else git blob id)."""
    from huggingface_hub import RepoFile

    entries = _call(
        "listing the repo's files",
        repo_id,
        lambda: list(api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True)),
    )
    return {e.path: (e.lfs.sha256 if e.lfs else e.blob_id) for e in entries if isinstance(e, RepoFile)}


def _operations(files: list[LocalFile], remote: dict[str, str]) -> tuple[list[Any], list[str]]:
    """One add per local file, one delete per stale remote file matching :data:`DELETE_PATTERNS`."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete
    from huggingface_hub.utils import filter_repo_objects

    local = {f.path_in_repo for f in files}
    stale = sorted(p for p in filter_repo_objects(remote, allow_patterns=DELETE_PATTERNS) if p not in local)
    operations: list[Any] = [CommitOperationDelete(path_in_repo=p) for p in stale]
    operations += [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.path)) for f in files]
    return operations, stale


def warn_if_official(repo_id: str) -> None:
    if repo_id.lower() == OFFICIAL_REPO_ID.lower():
        print(
            f"push: warning: {repo_id} is the published DistillRecDial dataset; pushing replaces its card and data "
            "for every user. Push to your own namespace unless you maintain it.",
            file=sys.stderr,
        )


@dataclass(frozen=True)
class PushConfig:
    """What `push` needs: the built folder, the repo, and how to commit there."""

    folder: Path
    repo_id: str
    private: bool = False
    #: branch to commit to (None: main; created from main when missing)
    revision: str | None = None
    create_pr: bool = False
    #: commit message (None: DEFAULT_MESSAGE)
    message: str | None = None
    dry_run: bool = False


def config_from_args(args: argparse.Namespace) -> PushConfig:
    return config_from(PushConfig, args)


def _check_config(config: PushConfig) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(config.repo_id)
    except HFValidationError as err:
        raise StageError(f"--repo-id {config.repo_id!r} is not a valid repo id: {_one_line(err)}") from None
    if "/" not in config.repo_id:
        raise StageError(f"--repo-id {config.repo_id!r} needs a namespace: NAMESPACE/NAME, e.g. planeB/DistillRecDial")
    if config.message is not None and not config.message.strip():
        raise StageError("--message is empty")


def run(config: PushConfig) -> dict[str, Any]:
    """Push (or, with ``dry_run``, list) the folder; return the summary of what went up."""
    from huggingface_hub import constants

    _check_config(config)
    files = check_folder(config.folder)
    revision = config.revision or DEFAULT_REVISION
    summary: dict[str, Any] = {
        "dry_run": config.dry_run,
        "repo_id": config.repo_id,
        "revision": revision,
        "create_pr": config.create_pr,
        "files": [{"path": f.path_in_repo, "size": f.size} for f in files],
        "bytes": sum(f.size for f in files),
        "repo_url": f"{constants.ENDPOINT}/datasets/{config.repo_id}",
    }
    warn_if_official(config.repo_id)
    if config.dry_run:
        return summary
    if constants.HF_HUB_OFFLINE:
        raise StageError("HF_HUB_OFFLINE is set; unset it to push (or use --dry-run)")
    from huggingface_hub import HfApi, get_token

    if get_token() is None:
        raise StageError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (or use --dry-run)")
    return {**summary, **_push(HfApi(), config, files, revision)}


def _push(api: Any, config: PushConfig, files: list[LocalFile], revision: str) -> dict[str, Any]:
    """The commit itself: the repo (and branch) made when missing, every file, stale remote data deleted."""
    repo_id = config.repo_id
    url = _call(
        "creating the repo",
        repo_id,
        api.create_repo,
        repo_id,
        repo_type=REPO_TYPE,
        private=True if config.private else None,
        exist_ok=True,
    )
    created_branch = revision != DEFAULT_REVISION and _ensure_branch(api, repo_id, revision)
    repo_info = _call("reading the repo", repo_id, api.repo_info, repo_id, repo_type=REPO_TYPE, revision=revision)
    if config.private and repo_info.private is False:
        print(
            f"push: warning: {repo_id} already exists and is public; --private changes nothing (use the repo settings)",
            file=sys.stderr,
        )
    before = _tree(api, repo_id, revision)
    operations, stale = _operations(files, before)
    info = _call(
        "committing",
        repo_id,
        api.create_commit,
        repo_id,
        operations,
        commit_message=config.message or DEFAULT_MESSAGE,
        repo_type=REPO_TYPE,
        revision=revision,
        create_pr=config.create_pr,
    )
    result: dict[str, Any] = {"repo_url": str(url), "created_branch": created_branch, "pr_url": info.pr_url}
    if (config.create_pr and not info.pr_url) or (not config.create_pr and info.oid == repo_info.sha):
        # huggingface_hub's preupload found every file already on the Hub, and nothing to delete: no commit
        return {**result, "commit": None}
    after = _tree(api, repo_id, info.oid)
    uploaded = [f for f in files if after.get(f.path_in_repo) != before.get(f.path_in_repo)]
    return {
        **result,
        "commit": info.oid,
        "uploaded": len(uploaded),
        "uploaded_bytes": sum(f.size for f in uploaded),
        "stale": len(stale),
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """A dry run's listing and line, or the commit made (or that none was needed)."""
    files = summary["files"]
    revision = summary["revision"]
    if summary["dry_run"]:
        width = max(len(f"{f['size']:,}") for f in files)
        listing = [f"  {f['size']:>{width},}  {f['path']}" for f in files]
        target = f"{summary['repo_url']} ({'pull request against ' if summary['create_pr'] else ''}{revision})"
        return [
            *listing,
            f"push (dry run): {len(files)} files, {_human(summary['bytes'])} would go to {target}; "
            "nothing was contacted",
        ]
    branch_note = f" (branch {revision} created from main)" if summary["created_branch"] else ""
    if summary["commit"] is None:
        return [
            f"push: {summary['repo_url']} @ {revision}: no changes — all {len(files)} files already up to date; "
            f"no commit made{branch_note}"
        ]
    where = f"pull request {summary['pr_url']}" if summary["create_pr"] and summary["pr_url"] else f"@ {revision}"
    return [
        f"push: {summary['repo_url']} {where}: commit {summary['commit']} — {_files(summary['uploaded'])} uploaded "
        f"({_human(summary['uploaded_bytes'])}), {len(files) - summary['uploaded']} unchanged, "
        f"{summary['stale']} stale deleted{branch_note}"
    ]


def main(argv: list[str] | None = None) -> int:
    """Run this stage on its own (the ``distillrecdial push`` subcommand does the same)."""
    parser = make_parser(sys.modules[__name__], "push", "upload a built Hub folder to a dataset repo")
    args = parser.parse_args(argv)
    try:
        return invoke(args)
    except StageError as err:
        print(f"distillrecdial push: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
