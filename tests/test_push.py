"""`distillrecdial push` against a fake Hub on 127.0.0.1 (see tests/hub_server.py).

``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT`` / ``HF_HUB_OFFLINE``
when they are imported, and this suite runs with ``HF_HUB_OFFLINE=1``, so every
step that talks to the fake Hub (the push itself, ``load_dataset``) runs in a
subprocess whose environment points at the fake and carries a recognisable
fake token. Checks that fail before any network use run in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest

from distillrecdial_kit.builder import push
from distillrecdial_kit.pipeline.errors import StageError
from tests.hub_server import FakeHub

ROOT = Path(__file__).resolve().parents[1]
FAKE_TOKEN = "hf_FAKEtokenDoNotPrint0123456789abcdef"
SPLITS = ("train", "validation", "test")
CONFIGS = ("crslab", "items")
REPO_ID = "tester/DistillRecDial"  # not the official planeB/DistillRecDial, which warns (see its own test)


def _rows(config: str, split: str) -> list[dict]:
    n = {"train": 4, "validation": 2, "test": 2}[split]
    if config == "crslab":
        return [
            {
                "conv_id": f"{split}-{i}",
                "persona": "Cold-Start Browser",
                "target_item": f"B00{i}",
                "dialog": [
                    {"utt_id": 0, "role": "Seeker", "text": f"something cosy {i}", "movies": []},
                    {"utt_id": 1, "role": "Recommender", "text": f"try B00{i}", "movies": [f"B00{i}"]},
                ],
            }
            for i in range(n)
        ]
    return [{"item_id": f"B00{i}-{split}", "title": f"Film {i}", "year": 1990 + i} for i in range(n)]


def _readme(configs: tuple[str, ...]) -> str:
    lines = ["---", "license: cc-by-nc-4.0", "configs:"]
    for config in configs:
        lines += [f"- config_name: {config}", "  data_files:"]
        for split in SPLITS:
            lines += [f"  - split: {split}", f"    path: data/{config}/{split}-*"]
    return "\n".join([*lines, "---", "", "# DistillRecDial (test card)", ""])


def make_folder(path: Path, configs: tuple[str, ...] = CONFIGS) -> Path:
    """A small Hub-ready folder shaped like `distillrecdial build`'s RUN/hub."""
    for config in configs:
        for split in SPLITS:
            target = path / "data" / config / f"{split}-00000-of-00001.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(_rows(config, split)).to_parquet(str(target))
    (path / "README.md").write_text(_readme(configs), encoding="utf-8")
    return path


@pytest.fixture
def hub(tmp_path):
    with FakeHub(tmp_path / "hub-store") as server:
        yield server


def client_env(hub: FakeHub, home: Path, token: str | None = FAKE_TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_OFFLINE="0",
        HF_HOME=str(home),
        HF_HUB_DISABLE_TELEMETRY="1",
        PYTHONPATH=str(ROOT),
        # Anything that is not the fake on 127.0.0.1 goes to a dead proxy: the subprocess cannot reach the internet.
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def run_push(hub: FakeHub, home: Path, folder: Path, *extra: str, token: str | None = FAKE_TOKEN):
    proc = subprocess.run(
        [sys.executable, "-m", "distillrecdial_kit.builder.push", str(folder), *extra],
        env=client_env(hub, home, token),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    for stream in (proc.stdout, proc.stderr):
        assert FAKE_TOKEN not in stream
    return proc


LOAD = """
import json, sys
import datasets
datasets.config.USE_PARQUET_EXPORT = False  # the dataset viewer is another service, not the Hub
ds = datasets.load_dataset(sys.argv[1], sys.argv[2], revision=sys.argv[3])
print(json.dumps({split: ds[split].to_list() for split in ds}))
"""


def load_through_hub(hub: FakeHub, home: Path, repo_id: str, config: str, revision: str = "main") -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, repo_id, config, revision],
        env=client_env(hub, home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summary(proc) -> str:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("push")]
    assert len(lines) == 1, proc.stdout
    return lines[0]


def test_push_then_load_dataset_returns_the_same_rows(hub, tmp_path):
    folder = make_folder(tmp_path / "run" / "hub")
    proc = run_push(hub, tmp_path / "home", folder, "--repo-id", REPO_ID, "--message", "first")
    assert proc.returncode == 0, proc.stderr
    line = summary(proc)
    assert f"{hub.endpoint}/datasets/{REPO_ID}" in line
    assert "7 files uploaded" in line

    repo = hub.repo(REPO_ID)
    assert hub.commit_count(REPO_ID) == 2  # the Hub's initial commit + exactly one push commit
    assert sum(1 for r in hub.requests if r["method"] == "POST" and "/commit/" in r["path"]) == 1
    head = repo.commits[repo.refs["main"]]
    assert head.title == "first"
    assert head.oid in line
    assert head.files["data/crslab/train-00000-of-00001.parquet"].lfs  # parquet went through LFS batch + PUT
    assert any(r["method"] == "PUT" and r["path"].startswith("/_lfs/objects/") for r in hub.requests)
    assert hub.file_bytes(REPO_ID, "README.md") == (folder / "README.md").read_bytes()
    assert hub.tokens_seen == {FAKE_TOKEN}  # the token came from HF_TOKEN, resolved by huggingface_hub

    loaded = load_through_hub(hub, tmp_path / "home-load", REPO_ID, "crslab")
    assert loaded == {split: _rows("crslab", split) for split in SPLITS}
    items = load_through_hub(hub, tmp_path / "home-load", REPO_ID, "items")
    assert items["validation"] == _rows("items", "validation")
    assert hub.unhandled == []  # every endpoint the clients used is one the fake implements


def test_dry_run_lists_the_files_and_makes_no_request(hub, tmp_path):
    folder = make_folder(tmp_path / "hub")
    proc = run_push(hub, tmp_path / "home", folder, "--repo-id", REPO_ID, "--dry-run", "--private")
    assert proc.returncode == 0, proc.stderr
    assert hub.requests == []
    assert hub.repos == {}
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    for path in files:
        rel = path.relative_to(folder).as_posix()
        assert any(rel in line and f"{path.stat().st_size:,}" in line for line in proc.stdout.splitlines()), rel
    line = summary(proc)
    assert f"{len(files)} files" in line and "nothing was contacted" in line


def test_second_push_of_an_unchanged_folder_changes_nothing(hub, tmp_path):
    folder = make_folder(tmp_path / "hub")
    args = ("--repo-id", REPO_ID)
    assert run_push(hub, tmp_path / "home", folder, *args).returncode == 0
    repo = hub.repo(REPO_ID)
    head, commits, seen = repo.refs["main"], hub.commit_count(REPO_ID), len(hub.requests)

    again = run_push(hub, tmp_path / "home", folder, *args)
    assert again.returncode == 0, again.stderr
    assert "no changes" in summary(again)
    assert repo.refs["main"] == head
    assert hub.commit_count(REPO_ID) == commits
    second = hub.requests[seen:]
    # huggingface_hub's preupload (and LFS batch) compare hashes with the Hub: no bytes go up, no commit is made.
    assert any("/preupload/" in r["path"] for r in second)
    assert not [r for r in second if r["method"] == "PUT" or "/commit/" in r["path"]]


def test_changed_file_goes_up_alone_and_stale_data_is_deleted(hub, tmp_path):
    folder = make_folder(tmp_path / "hub")
    args = ("--repo-id", REPO_ID)
    assert run_push(hub, tmp_path / "home", folder, *args).returncode == 0
    # Rebuilt with only the crslab config, and one of its splits changed.
    rebuilt = make_folder(tmp_path / "hub2", configs=("crslab",))
    datasets.Dataset.from_list(_rows("crslab", "train")[:1]).to_parquet(
        str(rebuilt / "data/crslab/train-00000-of-00001.parquet")
    )
    proc = run_push(hub, tmp_path / "home", rebuilt, *args)
    assert proc.returncode == 0, proc.stderr
    line = summary(proc)
    assert "2 files uploaded" in line and "3 stale deleted" in line  # README + train; items/* gone
    head = hub.repo(REPO_ID).resolve("main")
    assert not [p for p in head.files if p.startswith("data/items/")]
    loaded = load_through_hub(hub, tmp_path / "home-load", REPO_ID, "crslab")
    assert loaded["train"] == _rows("crslab", "train")[:1]


def test_pushing_to_the_official_repo_warns_that_it_replaces_the_published_card(hub, tmp_path):
    folder = make_folder(tmp_path / "hub")
    for extra in (["--dry-run"], []):
        proc = run_push(hub, tmp_path / "home", folder, "--repo-id", "planeB/DistillRecDial", *extra)
        assert proc.returncode == 0, proc.stderr
        assert "warning: planeB/DistillRecDial is the published DistillRecDial dataset" in proc.stderr
    quiet = run_push(hub, tmp_path / "home", folder, "--repo-id", REPO_ID, "--dry-run")
    assert "warning" not in quiet.stderr


def test_private_reaches_create_repo(hub, tmp_path):
    folder = make_folder(tmp_path / "hub")
    proc = run_push(hub, tmp_path / "home", folder, "--repo-id", "planeB/Secret", "--private")
    assert proc.returncode == 0, proc.stderr
    assert hub.create_repo_payloads[-1]["type"] == "dataset"
    assert hub.create_repo_payloads[-1].get("visibility") == "private" or hub.create_repo_payloads[-1].get("private")
    assert hub.repo("planeB/Secret").private is True

    public = run_push(hub, tmp_path / "home", folder, "--repo-id", "planeB/Open")
    assert public.returncode == 0, public.stderr
    assert hub.repo("planeB/Open").private is False
    again = run_push(hub, tmp_path / "home", folder, "--repo-id", "planeB/Open", "--private")
    assert again.returncode == 0, again.stderr
    assert "already exists and is public" in again.stderr
    assert "no changes" in summary(again)
    assert hub.repo("planeB/Open").private is False


def test_revision_and_create_pr_reach_the_hub(hub, tmp_path):
    folder = make_folder(tmp_path / "hub")
    repo_id = REPO_ID
    proc = run_push(hub, tmp_path / "home", folder, "--repo-id", repo_id, "--revision", "v2-draft")
    assert proc.returncode == 0, proc.stderr
    assert "branch v2-draft created from main" in summary(proc)
    repo = hub.repo(repo_id)
    assert hub.commit_params[-1] == {"revision": "v2-draft", "create_pr": False}
    assert set(repo.resolve("main").files) == {".gitattributes"}  # main untouched
    assert "data/crslab/test-00000-of-00001.parquet" in repo.resolve("v2-draft").files

    branch_head = repo.refs["v2-draft"]
    datasets.Dataset.from_list(_rows("crslab", "test")[:1]).to_parquet(
        str(folder / "data/crslab/test-00000-of-00001.parquet")
    )
    pr = run_push(hub, tmp_path / "home", folder, "--repo-id", repo_id, "--revision", "v2-draft", "--create-pr")
    assert pr.returncode == 0, pr.stderr
    assert hub.commit_params[-1] == {"revision": "v2-draft", "create_pr": True}
    assert repo.refs["v2-draft"] == branch_head  # a PR does not move the branch
    assert repo.pull_requests == [
        {"num": 1, "ref": "refs/pr/1", "target": "v2-draft", "title": "Upload DistillRecDial (distillrecdial push)"}
    ]
    assert f"{hub.endpoint}/datasets/{repo_id}/discussions/1" in summary(pr)
    loaded = load_through_hub(hub, tmp_path / "home-load", repo_id, "crslab", revision="refs/pr/1")
    assert loaded["test"] == _rows("crslab", "test")[:1]


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("distillrecdial push: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("missing", "no such folder"),
        ("file", "not a folder"),
        ("no_readme", "no README.md"),
        ("no_front_matter", "no YAML front matter"),
        ("bad_yaml", "invalid YAML"),
        ("no_configs", "no `configs:`"),
        ("no_parquet", "no parquet files under data/"),
        ("pattern_matches_nothing", "matches data_files path 'data/kg/train-*'"),
    ],
)
def test_a_folder_that_is_not_hub_ready_is_a_one_line_error(tmp_path, capsys, breakage, expected):
    folder = make_folder(tmp_path / "hub", configs=("crslab",))
    readme = folder / "README.md"
    if breakage == "missing":
        folder = tmp_path / "nowhere"
    elif breakage == "file":
        folder = readme
    elif breakage == "no_readme":
        readme.unlink()
    elif breakage == "no_front_matter":
        readme.write_text("# just a title\n")
    elif breakage == "bad_yaml":
        readme.write_text("---\nconfigs: [unclosed\n---\n")
    elif breakage == "no_configs":
        readme.write_text("---\nlicense: cc-by-nc-4.0\n---\n")
    elif breakage == "no_parquet":
        for path in folder.rglob("*.parquet"):
            path.unlink()
    elif breakage == "pattern_matches_nothing":
        readme.write_text(_readme(("crslab", "kg")))
    capsys.readouterr()  # drop the parquet writer's progress bars
    for extra in ([], ["--dry-run"]):
        assert push.main([str(folder), "--repo-id", REPO_ID, *extra]) == 2
        assert expected in _error_line(capsys)


def test_bad_repo_id_and_offline_mode_are_one_line_errors(tmp_path, capsys):
    folder = make_folder(tmp_path / "hub", configs=("crslab",))
    capsys.readouterr()  # drop the parquet writer's progress bars
    assert push.main([str(folder), "--repo-id", "not a repo"]) == 2
    assert "not a valid repo id" in _error_line(capsys)
    assert push.main([str(folder), "--repo-id", "DistillRecDial"]) == 2
    assert "needs a namespace" in _error_line(capsys)
    # This suite runs with HF_HUB_OFFLINE=1: a real push must refuse clearly, before any request.
    assert push.main([str(folder), "--repo-id", REPO_ID]) == 2
    assert "HF_HUB_OFFLINE" in _error_line(capsys)


def test_without_a_token_push_stops_before_any_request(hub, tmp_path):
    folder = make_folder(tmp_path / "hub", configs=("crslab",))
    proc = run_push(hub, tmp_path / "empty-home", folder, "--repo-id", REPO_ID, token=None)
    assert proc.returncode == 2
    assert "no Hugging Face token" in proc.stderr
    assert hub.requests == []


def test_hub_refusal_is_one_line_and_the_token_is_never_shown_or_written(hub, tmp_path):
    folder = make_folder(tmp_path / "hub", configs=("crslab",))
    hub.read_only_namespaces.add("someone-else")
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}

    refused = run_push(hub, tmp_path / "home", folder, "--repo-id", "someone-else/DistillRecDial")
    assert refused.returncode == 2
    err = refused.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("distillrecdial push: error: creating the repo failed: HTTP 403")
    assert "Authorization" not in refused.stderr and "Bearer" not in refused.stderr

    ok = run_push(hub, tmp_path / "home", folder, "--repo-id", REPO_ID)
    assert ok.returncode == 0, ok.stderr
    assert hub.tokens_seen == {FAKE_TOKEN}
    # Nothing under the folder was written or changed, and no file anywhere we own holds the token.
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before
    for path in [*folder.rglob("*"), *(tmp_path / "home").rglob("*")]:
        if path.is_file():
            assert FAKE_TOKEN.encode() not in path.read_bytes(), path


def test_a_dry_run_from_python_returns_the_files_it_would_push(tmp_path):
    folder = make_folder(tmp_path / "hub")
    summary = push.run(push.PushConfig(folder=folder, repo_id=REPO_ID, dry_run=True))
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(f["path"] for f in summary["files"]) == on_disk
    assert summary["bytes"] == sum((folder / f).stat().st_size for f in on_disk)
    assert push.summary_lines(summary)[-1].startswith(f"push (dry run): {len(on_disk)} files")
    with pytest.raises(StageError, match="needs a namespace"):
        push.run(push.PushConfig(folder=folder, repo_id="DistillRecDial", dry_run=True))
