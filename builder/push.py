"""`distillrecdial push`: upload a Hub-ready folder (``RUN/hub``) to a dataset repo, in one commit.

The folder is what ``distillrecdial build`` writes: ``README.md`` (the card,
whose YAML ``configs:`` lists every config and split) and
``data/<config>/<split>-*.parquet``. The repo is created if missing
(``--private`` applies only then); ``--revision`` names a branch (created from
``main`` if missing) and ``--create-pr`` opens a pull request instead of
committing to it.

Only files whose content differs from the remote go up, and stale files under
``data/`` (a config or shard the folder no longer has) are deleted in the same
commit, so the repo ends up holding exactly the folder's data. Pushing an
unchanged folder again makes no commit at all. ``--dry-run`` lists what would
go up and contacts nothing.

The token is the one ``huggingface_hub`` finds itself (``HF_TOKEN`` or the
saved ``hf auth login``); this command never prints, logs or writes it.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from tqdm import tqdm

from pipeline.errors import StageError

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
DEFAULT_MESSAGE = "Upload DistillRecDial (distillrecdial push)"
#: Remote files under these folders that the local folder lacks are deleted by the push.
MIRRORED_PREFIXES = ("data/",)
#: Hidden files kept anyway (everything else starting with "." is skipped: temp files, caches, .git).
KEPT_HIDDEN = {".gitattributes"}
HASH_CHUNK = 1 << 22

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


# -- hashing (to compare with the remote without uploading) ---------------------------------------------------------


def _chunks(path: Path, progress: tqdm) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            progress.update(len(chunk))
            yield chunk


def _sha256(path: Path, progress: tqdm) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(path, progress):
        digest.update(chunk)
    return digest.hexdigest()


def _git_blob_sha1(path: Path, size: int, progress: tqdm) -> str:
    digest = hashlib.sha1(b"blob %d\0" % size)
    for chunk in _chunks(path, progress):
        digest.update(chunk)
    return digest.hexdigest()


def _unchanged(local: LocalFile, remote: Any, progress: tqdm) -> bool:
    """Whether ``remote`` (a ``RepoSibling`` or None) already holds ``local``'s bytes."""
    if remote is None or remote.size != local.size:
        progress.update(local.size)
        return False
    if remote.lfs is not None:  # LFS / Xet file: the Hub keeps the content's sha256
        return _sha256(local.path, progress) == remote.lfs.sha256
    return _git_blob_sha1(local.path, local.size, progress) == remote.blob_id  # regular file: git blob id


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


def _remote_state(api: Any, repo_id: str, revision: str) -> tuple[Any, dict[str, Any]]:
    """The repo's info at ``revision`` (head ``sha``, ``private``) and its files (size, git blob id, LFS sha256)."""
    info = _call(
        "reading the repo",
        repo_id,
        api.repo_info,
        repo_id,
        repo_type=REPO_TYPE,
        revision=revision,
        files_metadata=True,
    )
    return info, {sibling.rfilename: sibling for sibling in info.siblings or []}


def _print_listing(files: list[LocalFile]) -> None:
    width = max(len(f"{f.size:,}") for f in files)
    for file in files:
        print(f"  {file.size:>{width},}  {file.path_in_repo}")


def run(args: argparse.Namespace) -> int:
    from huggingface_hub import constants
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    folder: Path = args.folder
    try:
        validate_repo_id(args.repo_id)
    except HFValidationError as err:
        raise StageError(f"--repo-id {args.repo_id!r} is not a valid repo id: {_one_line(err)}") from None
    if "/" not in args.repo_id:
        raise StageError(f"--repo-id {args.repo_id!r} needs a namespace: NAMESPACE/NAME, e.g. planeB/DistillRecDial")
    if args.message is not None and not args.message.strip():
        raise StageError("--message is empty")
    files = check_folder(folder)
    total = sum(f.size for f in files)
    revision = args.revision or DEFAULT_REVISION
    repo_url = f"{constants.ENDPOINT}/datasets/{args.repo_id}"
    target = f"{repo_url} ({'pull request against ' if args.create_pr else ''}{revision})"

    if args.dry_run:
        _print_listing(files)
        print(f"push (dry run): {len(files)} files, {_human(total)} would go to {target}; nothing was contacted")
        return 0

    if constants.HF_HUB_OFFLINE:
        raise StageError("HF_HUB_OFFLINE is set; unset it to push (or use --dry-run)")
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi, get_token

    if get_token() is None:
        raise StageError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (or use --dry-run)")
    api = HfApi()
    repo_id = args.repo_id

    url = _call(
        "creating the repo",
        repo_id,
        api.create_repo,
        repo_id,
        repo_type=REPO_TYPE,
        private=True if args.private else None,
        exist_ok=True,
    )
    repo_url = str(url)
    created_branch = revision != DEFAULT_REVISION and _ensure_branch(api, repo_id, revision)

    repo_info, remote = _remote_state(api, repo_id, revision)
    if args.private and repo_info.private is False:
        print(
            f"push: warning: {repo_id} already exists and is public; --private changes nothing (use the repo settings)",
            file=sys.stderr,
        )
    with tqdm(total=total, unit="B", unit_scale=True, desc="comparing with the Hub", disable=None) as progress:
        changed = [f for f in files if not _unchanged(f, remote.get(f.path_in_repo), progress)]
    local_paths = {f.path_in_repo for f in files}
    stale = sorted(p for p in remote if p.startswith(MIRRORED_PREFIXES) and p not in local_paths)
    branch_note = f" (branch {revision} created from main)" if created_branch else ""

    if not changed and not stale:
        print(
            f"push: {repo_url} @ {revision}: no changes — all {len(files)} files already up to date; "
            f"no commit made{branch_note}"
        )
        return 0

    operations: list[Any] = [CommitOperationDelete(path_in_repo=p) for p in stale]
    operations += [CommitOperationAdd(path_in_repo=f.path_in_repo, path_or_fileobj=str(f.path)) for f in changed]
    info = _call(
        "committing",
        repo_id,
        api.create_commit,
        repo_id,
        operations,
        commit_message=args.message or DEFAULT_MESSAGE,
        repo_type=REPO_TYPE,
        revision=revision,
        create_pr=args.create_pr,
    )
    if (args.create_pr and not info.pr_url) or (not args.create_pr and info.oid == repo_info.sha):
        # huggingface_hub dropped every operation as a no-op (its preupload check agreed nothing changed)
        print(f"push: {repo_url} @ {revision}: no changes — the Hub already holds these files; no commit made")
        return 0
    uploaded = sum(f.size for f in changed)
    where = f"pull request {info.pr_url}" if args.create_pr and info.pr_url else f"@ {revision}"
    print(
        f"push: {repo_url} {where}: commit {info.oid} — {_files(len(changed))} uploaded ({_human(uploaded)}), "
        f"{len(files) - len(changed)} unchanged, {len(stale)} stale deleted{branch_note}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run this stage on its own (the ``distillrecdial push`` subcommand does the same)."""
    parser = argparse.ArgumentParser(prog="distillrecdial push", description=(__doc__ or "").strip())
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except StageError as err:
        print(f"distillrecdial push: error: {err}", file=sys.stderr)
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
