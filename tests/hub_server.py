"""A tiny Hugging Face Hub look-alike for tests, served on 127.0.0.1.

This fake stands at the **network boundary only**: the real Hub cannot run
here (and nothing in the test suite may contact huggingface.co), so tests
point ``huggingface_hub`` / ``datasets`` at this server through
``HfApi(endpoint=...)`` or ``HF_ENDPOINT`` and let the real client libraries
do everything else (hashing, preupload, LFS batch + PUT, the ndjson commit,
``hf_hub_download``, ``HfFileSystem`` globbing, parquet loading). No client
code is patched or mocked.

It implements just the slice of the Hub HTTP API those clients use, with the
JSON fields they read (checked against huggingface_hub 2.4 / datasets 5.2):

* ``POST /api/repos/create`` — ``{"url"}``; 409 (with ``url``) when it exists.
  A new repo gets an initial commit holding ``.gitattributes``, as on the Hub.
* ``GET  /api/{type}s/{ns}/{name}[/revision/{rev}]`` — repo info
  (``id``, ``sha``, ``private``, ``siblings`` with ``blobId`` / ``lfs``, ``cardData``...).
* ``POST /api/validate-yaml`` — always valid.
* ``POST /api/{type}s/{id}/preupload/{rev}`` — ``uploadMode`` (``lfs`` for
  parquet / binary / large files), ``shouldIgnore`` and the remote ``oid``
  (sha256 for LFS files, git blob sha1 otherwise) that lets the client drop
  unchanged files and skip empty commits.
* ``POST /{prefix}{id}.git/info/lfs/objects/batch`` — basic transfer; no
  ``actions`` for objects already stored. ``PUT /_lfs/objects/{oid}`` takes
  the bytes (Content-Length or chunked) and checks the sha256;
  ``POST /_lfs/verify`` confirms.
* ``POST /api/{type}s/{id}/commit/{rev}[?create_pr=1]`` — ndjson header /
  file / lfsFile / deletedFile / deletedFolder; with ``create_pr`` the commit
  goes to a new ``refs/pr/N`` and the base branch is left alone.
* ``GET  /api/{type}s/{id}/commits/{rev}``, ``GET /api/{type}s/{id}/refs``,
  ``POST /api/{type}s/{id}/branch/{name}`` (409 if it exists).
* ``GET  /api/{type}s/{id}/tree/{rev}[/{path}]`` (``recursive``) and
  ``POST /api/{type}s/{id}/paths-info/{rev}`` (form or JSON ``paths``).
* ``HEAD|GET /{prefix}{id}/resolve/{rev}/{path}`` — the bytes, with
  ``X-Repo-Commit``, ``ETag``, ``Content-Length`` and ``Range`` support.
* ``GET /api/whoami-v2`` — a fixed user; ``GET /api/agent-harnesses`` — an empty registry (huggingface_hub
  fetches it for its user-agent string).

Errors carry ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``,
``EntryNotFound``) like the Hub so the client raises its usual exceptions.
Every request is recorded in :attr:`FakeHub.requests` (method, path, the
names of the headers sent — never their values) and the auth headers' values
are kept apart in :attr:`FakeHub.tokens_seen` so tests can check one was sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

USER = "planeB"
PREFIXES = {"dataset": "datasets/", "space": "spaces/", "model": ""}
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.arrow filter=lfs diff=lfs merge=lfs -text\n"
LFS_SUFFIXES = (".parquet", ".arrow", ".bin", ".safetensors", ".png", ".jpg", ".zip", ".gz")
LFS_MIN_SIZE = 10 * 1024 * 1024


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


@dataclass(frozen=True)
class Entry:
    """One file in a commit's tree; its bytes live in the hub's blob store under ``sha256``."""

    path: str
    size: int
    sha256: str
    lfs: bool
    blob_oid: str  # git oid: of the content, or of the LFS pointer for LFS files

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "file", "oid": self.blob_oid, "size": self.size, "path": self.path}
        if self.lfs:
            pointer = lfs_pointer(self.sha256, self.size)
            out["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": len(pointer)}
        return out

    @property
    def remote_oid(self) -> str:
        """What preupload returns as ``oid``: compared by the client with its own hash of the local file."""
        return self.sha256 if self.lfs else self.blob_oid


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    message: str
    date: str
    files: dict[str, Entry]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    refs: dict[str, str] = field(default_factory=dict)  # "main", "refs/pr/1", ... → commit oid
    commits: dict[str, Commit] = field(default_factory=dict)
    pull_requests: list[dict[str, Any]] = field(default_factory=list)

    def resolve(self, revision: str) -> Commit | None:
        if revision in self.refs:
            return self.commits[self.refs[revision]]
        if revision.startswith("refs/heads/") and revision[len("refs/heads/") :] in self.refs:
            return self.commits[self.refs[revision[len("refs/heads/") :]]]
        matches = [c for oid, c in self.commits.items() if len(revision) >= 7 and oid.startswith(revision)]
        return matches[0] if len(matches) == 1 else None

    @property
    def branches(self) -> list[str]:
        return [name for name in self.refs if not name.startswith("refs/")]


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


class FakeHub:
    """The server's state plus the thread that serves it; use as a context manager."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blob_dir = self.root / "blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[dict[str, Any]] = []
        self.tokens_seen: set[str] = set()
        self.create_repo_payloads: list[dict[str, Any]] = []
        self.commit_params: list[dict[str, Any]] = []
        #: requests this fake has no route for (a client started using an endpoint the fake lacks).
        self.unhandled: list[str] = []
        #: namespaces where the (fake) user may not create repos: create gets a 403, like the Hub's.
        self.read_only_namespaces: set[str] = set()
        self.lock = threading.RLock()
        self._counter = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests ------------------------------------------------------------------------------------
    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def commit_count(self, repo_id: str, repo_type: str = "dataset") -> int:
        return len(self.repo(repo_id, repo_type).commits)

    def file_bytes(self, repo_id: str, path: str, revision: str = "main", repo_type: str = "dataset") -> bytes:
        commit = self.repo(repo_id, repo_type).resolve(revision)
        assert commit is not None, revision
        return self._read_blob(commit.files[path].sha256)

    # -- storage ----------------------------------------------------------------------------------------------
    def _blob_path(self, sha256: str) -> Path:
        return self.blob_dir / sha256

    def _store_blob(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self._blob_path(sha)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        return sha

    def _read_blob(self, sha256: str) -> bytes:
        return self._blob_path(sha256).read_bytes()

    def _new_commit(self, repo: Repo, parent: Commit | None, files: dict[str, Entry], title: str, message: str):
        self._counter += 1
        digest = hashlib.sha1()
        digest.update(f"{repo.repo_id}\0{parent.oid if parent else ''}\0{title}\0{self._counter}".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{files[path].blob_oid}\0".encode())
        oid = digest.hexdigest()
        date = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        commit = Commit(
            oid=oid, parent=parent.oid if parent else None, title=title, message=message, date=date, files=files
        )
        repo.commits[oid] = commit
        return commit

    def _entry_for(self, path: str, data: bytes, lfs: bool) -> Entry:
        sha = self._store_blob(data)
        blob_oid = git_blob_oid(lfs_pointer(sha, len(data)) if lfs else data)
        return Entry(path=path, size=len(data), sha256=sha, lfs=lfs, blob_oid=blob_oid)

    # -- repo lookup ------------------------------------------------------------------------------------------
    def _get_repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _get_commit(repo: Repo, revision: str) -> Commit:
        commit = repo.resolve(revision)
        if commit is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return commit

    def _url(self, repo: Repo) -> str:
        return f"{self.endpoint}/{PREFIXES[repo.repo_type]}{repo.repo_id}"

    # -- API handlers (called with the lock held) -------------------------------------------------------------
    def create_repo(self, payload: dict[str, Any]) -> tuple[int, Any]:
        self.create_repo_payloads.append(payload)
        repo_type = payload.get("type") or "model"
        name, org = payload.get("name"), payload.get("organization") or USER
        repo_id = f"{org}/{name}"
        private = payload.get("private")
        if private is None:
            private = payload.get("visibility") == "private"
        url = f"{self.endpoint}/{PREFIXES[repo_type]}{repo_id}"
        if (repo_type, repo_id) in self.repos:
            return 409, {"error": "You already created this repo", "url": url}
        if org in self.read_only_namespaces:
            return 403, {"error": f"You don't have the rights to create a {repo_type} under the namespace {org!r}"}
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=bool(private))
        initial = self._new_commit(
            repo,
            None,
            {".gitattributes": self._entry_for(".gitattributes", GITATTRIBUTES, False)},
            "initial commit",
            "",
        )
        repo.refs["main"] = initial.oid
        self.repos[(repo_type, repo_id)] = repo
        return 200, {"url": url, "name": repo_id}

    def repo_info(self, repo: Repo, revision: str) -> dict[str, Any]:
        commit = self._get_commit(repo, revision)
        siblings = []
        for entry in commit.files.values():
            sibling: dict[str, Any] = {"rfilename": entry.path, "size": entry.size, "blobId": entry.blob_oid}
            if entry.lfs:
                pointer = lfs_pointer(entry.sha256, entry.size)
                sibling["lfs"] = {"size": entry.size, "sha256": entry.sha256, "pointerSize": len(pointer)}
            siblings.append(sibling)
        info: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.oid,
            "lastModified": commit.date,
            "createdAt": repo.commits[next(iter(repo.commits))].date,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": [],
            "siblings": siblings,
        }
        if repo.repo_type == "dataset":
            info["cardData"] = {}
        return info

    def preupload(self, repo: Repo, revision: str, payload: dict[str, Any]) -> dict[str, Any]:
        commit = self._get_commit(repo, revision)
        files = []
        for item in payload.get("files", []):
            path, size = item["path"], int(item.get("size", 0))
            sample = base64.b64decode(item.get("sample", ""))
            lfs = path.endswith(LFS_SUFFIXES) or size >= LFS_MIN_SIZE or b"\0" in sample
            existing = commit.files.get(path)
            files.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": existing.remote_oid if existing is not None else None,
                }
            )
        return {"files": files, "commitOid": commit.oid}

    def lfs_batch(self, repo: Repo, payload: dict[str, Any]) -> dict[str, Any]:
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj["oid"], int(obj["size"])
            out: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not self._blob_path(oid).exists():
                out["actions"] = {
                    "upload": {"href": f"{self.endpoint}/_lfs/objects/{oid}", "header": {}},
                    "verify": {"href": f"{self.endpoint}/_lfs/verify", "header": {}},
                }
            objects.append(out)
        return {"transfer": "basic", "objects": objects}

    def lfs_put(self, oid: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != oid:
            raise HubError(400, "sha256 of the uploaded bytes does not match the LFS oid")
        self._store_blob(data)

    def lfs_verify(self, payload: dict[str, Any]) -> dict[str, Any]:
        if not self._blob_path(payload.get("oid", "x")).exists():
            raise HubError(404, "LFS object not found")
        return {"ok": True}

    def commit(self, repo: Repo, revision: str, lines: list[dict[str, Any]], create_pr: bool) -> dict[str, Any]:
        base = self._get_commit(repo, revision)
        if revision not in repo.refs and not create_pr:
            raise HubError(400, f"Cannot commit to {revision}: not a branch")
        header = next((line["value"] for line in lines if line.get("key") == "header"), None)
        if header is None or not header.get("summary"):
            raise HubError(400, "commit header with a summary is required")
        parent_commit = header.get("parentCommit")
        if parent_commit and not create_pr and not base.oid.startswith(parent_commit):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(base.files)
        for line in lines:
            key, value = line.get("key"), line.get("value", {})
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, "only base64 file content is supported")
                files[value["path"]] = self._entry_for(value["path"], base64.b64decode(value["content"]), False)
            elif key == "lfsFile":
                oid = value["oid"]
                if not self._blob_path(oid).exists():
                    raise HubError(422, f"LFS object {oid} was never uploaded")
                size = self._blob_path(oid).stat().st_size
                files[value["path"]] = Entry(value["path"], size, oid, True, git_blob_oid(lfs_pointer(oid, size)))
            elif key == "deletedFile":
                if files.pop(value["path"], None) is None:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                for path in [p for p in files if p.startswith(prefix)]:
                    del files[path]
            elif key != "header":
                raise HubError(400, f"unsupported commit operation {key!r}")
        new = self._new_commit(repo, base, files, header["summary"], header.get("description", ""))
        url = self._url(repo)
        out: dict[str, Any] = {"success": True, "commitOid": new.oid, "commitUrl": f"{url}/commit/{new.oid}"}
        if create_pr:
            num = len(repo.pull_requests) + 1
            ref = f"refs/pr/{num}"
            repo.refs[ref] = new.oid
            target = revision if revision in repo.refs else "main"
            repo.pull_requests.append({"num": num, "ref": ref, "target": target, "title": header["summary"]})
            out["pullRequestUrl"] = f"{url}/discussions/{num}"
        else:
            repo.refs[revision] = new.oid
        return out

    def commits(self, repo: Repo, revision: str) -> list[dict[str, Any]]:
        commit: Commit | None = self._get_commit(repo, revision)
        out = []
        while commit is not None:
            out.append(
                {
                    "id": commit.oid,
                    "title": commit.title,
                    "message": commit.message,
                    "date": commit.date,
                    "authors": [{"user": USER, "avatar": ""}],
                }
            )
            commit = repo.commits[commit.parent] if commit.parent else None
        return out

    def refs(self, repo: Repo) -> dict[str, Any]:
        def ref(name: str, full: str) -> dict[str, str]:
            return {"name": name, "ref": full, "targetCommit": repo.refs[full if full.startswith("refs/pr") else name]}

        return {
            "branches": [ref(b, f"refs/heads/{b}") for b in repo.branches],
            "converts": [],
            "tags": [],
            "pullRequests": [ref(p["ref"], p["ref"]) for p in repo.pull_requests],
        }

    def create_branch(self, repo: Repo, branch: str, payload: dict[str, Any]) -> dict[str, Any]:
        if branch in repo.refs:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        start = self._get_commit(repo, payload.get("startingPoint") or "main")
        repo.refs[branch] = start.oid
        return {}

    @staticmethod
    def _tree_entries(commit: Commit, base: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = base.strip("/") + "/" if base.strip("/") else ""
        files, dirs = [], set()
        for path, entry in sorted(commit.files.items()):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                if recursive or depth == 1:
                    dirs.add(prefix + "/".join(parts[:depth]))
            if recursive or len(parts) == 1:
                files.append(entry.to_json())
        folders = [
            {"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d}
            for d in sorted(dirs)
        ]
        return folders + files

    def tree(self, repo: Repo, revision: str, path: str, recursive: bool) -> list[dict[str, Any]]:
        commit = self._get_commit(repo, revision)
        if path.strip("/") and not any(p.startswith(path.strip("/") + "/") for p in commit.files):
            raise HubError(404, f"{path} does not exist on {revision}", "EntryNotFound")
        return self._tree_entries(commit, path, recursive)

    def paths_info(self, repo: Repo, revision: str, paths: list[str]) -> list[dict[str, Any]]:
        commit = self._get_commit(repo, revision)
        out = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                out.append(commit.files[path].to_json())
            elif any(p.startswith(path + "/") for p in commit.files):
                out.append(
                    {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}
                )
        return out

    def resolve(self, repo: Repo, revision: str, path: str) -> tuple[Commit, Entry]:
        commit = self._get_commit(repo, revision)
        entry = commit.files.get(path)
        if entry is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound")
        return commit, entry


def _split_repo(parts: list[str]) -> tuple[str, list[str]]:
    """``[ns, name, *rest]`` → (``ns/name``, rest)."""
    if len(parts) < 2:
        raise HubError(404, "Repository not found", "RepoNotFound")
    return f"{parts[0]}/{parts[1]}", parts[2:]


_API_TYPES = {"datasets": "dataset", "models": "model", "spaces": "space"}


def _make_handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeHub/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
            pass

        # -- plumbing ---------------------------------------------------------------------------------------
        def _body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size_line = self.rfile.readline().strip()
                    size = int(size_line.split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(
            self,
            status: int,
            body: bytes = b"",
            headers: dict[str, str] | None = None,
            content_type: str = "application/json",
            head_only: bool = False,
            length: int | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if body and not head_only and self.command != "HEAD":
                self.wfile.write(body)

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send(status, json.dumps(payload).encode(), headers)

        def _record(self) -> None:
            auth = self.headers.get("Authorization")
            with hub.lock:
                hub.requests.append({"method": self.command, "path": self.path, "headers": sorted(self.headers.keys())})
                if auth:
                    hub.tokens_seen.add(auth.removeprefix("Bearer ").strip())

        def _dispatch(self) -> None:
            self._record()
            body = self._body() if self.command in ("POST", "PUT") else b""
            try:
                with hub.lock:
                    self._route(body)
            except HubError as err:
                headers = {"X-Error-Message": err.message}
                if err.code:
                    headers["X-Error-Code"] = err.code
                self._json(err.status, {"error": err.message}, headers)
            except Exception as err:  # a bug in the fake: say so loudly rather than hang the client
                self._json(500, {"error": f"fake hub crashed: {type(err).__name__}: {err}"})

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _dispatch

        # -- routing ----------------------------------------------------------------------------------------
        def _route(self, body: bytes) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            parts = [unquote(p) for p in url.path.split("/")[1:]]
            method = self.command

            if parts[:3] == ["api", "repos", "create"] and method == "POST":
                status, payload = hub.create_repo(json.loads(body or b"{}"))
                headers = {"X-Error-Message": payload["error"]} if status != 200 else None
                return self._json(status, payload, headers)
            if parts[:2] == ["api", "validate-yaml"]:
                return self._json(200, {"errors": [], "warnings": []})
            if parts[:2] == ["api", "agent-harnesses"]:  # huggingface_hub's user-agent telemetry registry
                return self._json(200, {"standardEnvVars": [], "harnesses": {}})
            if parts[:2] == ["api", "whoami-v2"]:
                return self._json(200, {"type": "user", "name": USER, "orgs": [], "auth": {}})
            if parts[:2] == ["_lfs", "objects"] and method == "PUT":
                hub.lfs_put(parts[2], body)
                return self._json(200, {})
            if parts[:2] == ["_lfs", "verify"]:
                return self._json(200, hub.lfs_verify(json.loads(body or b"{}")))
            if parts[0] == "api" and len(parts) > 1 and parts[1] in _API_TYPES:
                return self._route_api(_API_TYPES[parts[1]], parts[2:], query, body)
            return self._route_files(parts, body)

        def _route_api(self, repo_type: str, parts: list[str], query: dict[str, list[str]], body: bytes) -> None:
            repo_id, rest = _split_repo(parts)
            repo = hub._get_repo(repo_type, repo_id)
            method = self.command
            if not rest:
                return self._json(200, hub.repo_info(repo, "main"))
            action, args = rest[0], rest[1:]
            if action == "revision" and args:
                return self._json(200, hub.repo_info(repo, args[0]))
            if action == "preupload" and method == "POST":
                return self._json(200, hub.preupload(repo, args[0] if args else "main", json.loads(body or b"{}")))
            if action == "commit" and method == "POST":
                create_pr = query.get("create_pr", ["0"])[0] in ("1", "true", "True")
                revision = args[0] if args else "main"
                hub.commit_params.append({"revision": revision, "create_pr": create_pr})
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                return self._json(200, hub.commit(repo, revision, lines, create_pr))
            if action == "commits":
                return self._json(200, hub.commits(repo, args[0] if args else "main"))
            if action == "refs":
                return self._json(200, hub.refs(repo))
            if action == "branch" and args and method == "POST":
                return self._json(200, hub.create_branch(repo, "/".join(args), json.loads(body or b"{}")))
            if action == "tree" and args:
                recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
                return self._json(200, hub.tree(repo, args[0], "/".join(args[1:]), recursive))
            if action == "paths-info" and args:
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    paths = json.loads(body or b"{}").get("paths", [])
                else:
                    paths = parse_qs(body.decode()).get("paths", [])
                return self._json(200, hub.paths_info(repo, args[0], paths))
            hub.unhandled.append(f"{method} {self.path}")
            raise HubError(404, f"fake hub does not implement {method} {self.path}")

        def _route_files(self, parts: list[str], body: bytes) -> None:
            repo_type = "model"
            if parts and parts[0] in _API_TYPES:
                repo_type, parts = _API_TYPES[parts[0]], parts[1:]
            if len(parts) >= 2 and parts[1].endswith(".git"):
                repo_id = f"{parts[0]}/{parts[1][: -len('.git')]}"
                if parts[2:] == ["info", "lfs", "objects", "batch"] and self.command == "POST":
                    repo = hub._get_repo(repo_type, repo_id)
                    payload = json.loads(body or b"{}")
                    out = json.dumps(hub.lfs_batch(repo, payload)).encode()
                    return self._send(200, out, content_type="application/vnd.git-lfs+json")
            repo_id, rest = _split_repo(parts)
            if len(rest) >= 3 and rest[0] == "resolve" and self.command in ("GET", "HEAD"):
                repo = hub._get_repo(repo_type, repo_id)
                commit, entry = hub.resolve(repo, rest[1], "/".join(rest[2:]))
                return self._serve_file(commit, entry)
            hub.unhandled.append(f"{self.command} {self.path}")
            raise HubError(404, f"fake hub does not implement {self.command} {self.path}")

        def _serve_file(self, commit: Commit, entry: Entry) -> None:
            etag = f'"{entry.sha256 if entry.lfs else entry.blob_oid}"'
            headers = {"X-Repo-Commit": commit.oid, "ETag": etag, "Accept-Ranges": "bytes"}
            if entry.lfs:
                headers["X-Linked-Etag"] = etag
                headers["X-Linked-Size"] = str(entry.size)
            head_only = self.command == "HEAD"
            data = b"" if head_only else hub._read_blob(entry.sha256)
            content_type = "application/octet-stream"
            range_header = self.headers.get("Range")
            if range_header and range_header.startswith("bytes=") and not head_only:
                start_s, _, end_s = range_header[len("bytes=") :].partition("-")
                if start_s:
                    start = int(start_s)
                    end = min(int(end_s), entry.size - 1) if end_s else entry.size - 1
                else:  # suffix range: the last N bytes
                    start, end = max(entry.size - int(end_s), 0), entry.size - 1
                if start >= entry.size:
                    return self._send(416, b"", {"Content-Range": f"bytes */{entry.size}"})
                headers["Content-Range"] = f"bytes {start}-{end}/{entry.size}"
                return self._send(206, data[start : end + 1], headers, content_type)
            return self._send(200, data, headers, content_type, head_only=head_only, length=entry.size)

    return Handler


def hub_url(endpoint: str, repo_id: str, path: str, revision: str = "main", repo_type: str = "dataset") -> str:
    """The resolve URL of ``path`` (handy for tests that fetch a file directly)."""
    return f"{endpoint}/{PREFIXES[repo_type]}{repo_id}/resolve/{quote(revision, safe='')}/{path}"
