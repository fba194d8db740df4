"""export-crslab: a hand-built Hub folder → CRSLab's files, read back by CRSLab's own dataset machinery."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import pytest

from distillrecdial_kit.builder.crslab_export import (
    MIN_ENTITIES,
    PAD_ENTITY,
    SELF_LOOP_RELATION,
    SPECIAL_TOKENS,
    export_crslab,
    nltk_tokenize,
)
from distillrecdial_kit.builder.entity_linking import EntityLinker
from distillrecdial_kit.builder.kg import kg_triples
from distillrecdial_kit.pipeline.cli import main
from distillrecdial_kit.pipeline.errors import StageError

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train", "validation", "test")


def sample_items() -> list[dict]:
    """The embedded sample's 145 real movies as ``items`` rows, with ASIN-like ids."""
    catalog = json.loads((ROOT / "data" / "sample" / "catalog.json").read_text())
    return [
        {
            "item_id": f"B{index:09d}",
            "title": movie["title"],
            "year": movie["year"],
            "genres": movie["genres"],
            "keywords": movie["keywords"],
            "actors": [person["name"] for person in movie["cast"]],
            "directors": movie["directors"],
            "overview": movie["overview"],
            "collection": movie["collection"],
            "visual_caption": movie["visual_caption"],
        }
        for index, movie in enumerate(catalog)
    ]


def make_dialogues(items: list[dict], linker: EntityLinker, n: int = 24) -> list[dict]:
    """``n`` small dialogues in the crslab config's shape (two Seeker turns in a row in each, to be merged)."""
    rows = []
    for d in range(n):
        liked, target = items[(3 * d) % len(items)], items[(7 * d + 5) % len(items)]
        turns = [
            ("Seeker", f"Hi! I really liked {liked['title']}."),
            ("Seeker", f"Something with {liked['actors'][0]} maybe, I'm into {liked['genres'][0]} movies."),
            ("Recommender", f"You might enjoy {target['title']} by {target['directors'][0]}."),
            ("Seeker", "Sounds great, thanks!"),
            ("Recommender", "Enjoy the movie!"),
        ]
        dialog = []
        for utt_id, ((role, text), linked) in enumerate(
            zip(turns, linker.link_many([t for _, t in turns]), strict=True)
        ):
            dialog.append(
                {
                    "utt_id": utt_id,
                    "role": role,
                    "text": text,
                    "movies": linked.movies,
                    "entity": linked.entities,
                    "word": linked.words,
                }
            )
        rows.append(
            {
                "conv_id": f"conv-{d:03d}",
                "persona": "Cold-Start Browser",
                "target_item": target["item_id"],
                "dialog": dialog,
            }
        )
    return rows


README = """---
configs:
{blocks}---

# test hub
"""


def write_hub(hub: Path, configs: dict[str, dict[str, list[dict]]]) -> Path:
    """``configs[name][split] = rows`` → parquet files + a README whose YAML lists them (as the build stage does)."""
    import datasets

    blocks = []
    for name, splits in configs.items():
        lines = [f"- config_name: {name}", "  data_files:"]
        for split, rows in splits.items():
            path = hub / "data" / name / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            datasets.Dataset.from_list(rows).to_parquet(str(path))
            lines += [f"  - split: {split}", f"    path: data/{name}/{split}-*"]
        blocks.append("\n".join(lines) + "\n")
    (hub / "README.md").write_text(README.format(blocks="".join(blocks)))
    return hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Path:
    items = sample_items()
    linker = EntityLinker.from_items(items)
    rows = make_dialogues(items, linker)
    crslab = {"train": rows[:16], "validation": rows[16:20], "test": rows[20:]}
    root = tmp_path_factory.mktemp("run") / "hub"
    return write_hub(root, {"crslab": crslab, "items": {"train": items}, "kg": {"train": kg_triples(items)}})


@pytest.fixture(scope="module")
def exported(hub, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("crslab") / "nltk"
    return out, export_crslab(hub, out)


def load(out: Path, name: str):
    return json.loads((out / name).read_text(encoding="utf-8"))


def test_files_follow_the_crslab_contract(exported):
    out, summary = exported
    for name in (
        "train_data.json",
        "valid_data.json",
        "test_data.json",
        "entity2id.json",
        "token2id.json",
        "dbpedia_subkg.json",
        "movie_ids.json",
        ".built",
    ):
        assert (out / name).is_file(), name
    assert summary["conversations"] == {"train": 16, "valid": 4, "test": 4}

    entity2id = load(out, "entity2id.json")
    assert list(entity2id)[:3] == ["0", "1", "2"] and entity2id["0"] == PAD_ENTITY
    assert [int(k) for k in entity2id] == list(range(len(entity2id)))
    assert len(entity2id) >= MIN_ENTITIES
    assert len(set(entity2id.values())) == len(entity2id), "two ids with one name would lose edges"
    name2id = {name: key for key, name in entity2id.items()}

    movie_ids = load(out, "movie_ids.json")
    assert all(isinstance(m, str) and m in entity2id for m in movie_ids)
    assert len(movie_ids) == 145 and summary["movies"] == 145

    token2id = load(out, "token2id.json")
    assert [token2id[t] for t in SPECIAL_TOKENS[:4]] == [0, 1, 2, 3]
    assert sorted(token2id.values()) == list(range(len(token2id)))

    subkg = load(out, "dbpedia_subkg.json")
    relation_ids = {rel for edges in subkg.values() for rel, _ in edges}
    assert SELF_LOOP_RELATION not in relation_ids
    assert all(str(tail) in entity2id and isinstance(tail, int) for edges in subkg.values() for _, tail in edges)
    toy_story = name2id["B000000000"]
    tails = {entity2id[str(tail)] for _, tail in subkg[toy_story]}
    assert {"Tom Hanks", "John Lasseter", "Animation", "Toy Story Collection", "1995"} <= tails

    assert (out / ".built").read_text().split("\n")[1] == "0.1"

    for filename in ("train_data.json", "valid_data.json", "test_data.json"):
        for conv in load(out, filename):
            assert set(conv) >= {"conv_id", "conv"}
            roles = [utt["role"] for utt in conv["conv"]]
            assert all(a != b for a, b in itertools.pairwise(roles)), "same-role turns must be merged"
            assert set(roles) <= {"Seeker", "Recommender"}
            for utt in conv["conv"]:
                assert all(isinstance(tok, str) for tok in utt["text"])
                assert all(name in name2id for name in utt["movies"] + utt["entity"])
                if filename != "train_data.json" and utt["role"] == "Recommender":
                    assert all(name2id[m] in movie_ids for m in utt["movies"])


def test_merged_seeker_turn_and_recommendation(exported):
    out, summary = exported
    first = load(out, "train_data.json")[0]
    assert [u["role"] for u in first["conv"]] == ["Seeker", "Recommender", "Seeker", "Recommender"]
    seeker = first["conv"][0]
    assert seeker["text"][:5] == ["hi", "!", "i", "really", "liked"]
    assert seeker["movies"] == ["B000000000"]  # "Toy Story", liked
    assert "Tom Hanks" in seeker["entity"] and "Animation" in seeker["entity"]
    assert first["conv"][1]["movies"] == [first["target_item"]]
    assert summary["merged_turns"] == 24


def test_export_is_deterministic_and_idempotent(hub, exported, tmp_path):
    out, _ = exported
    again = tmp_path / "again"
    export_crslab(hub, again)
    export_crslab(hub, again)
    for path in sorted(out.iterdir()):
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_nltk_like_tokenizer():
    assert nltk_tokenize("I can't wait... it's Spider-Man!") == [
        "i",
        "ca",
        "n't",
        "wait",
        "...",
        "it",
        "'s",
        "spider-man",
        "!",
    ]


def test_local_tokenizer_folder(hub, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = ["[UNK]", "hi", "movie", "the", "!", "."]
    backend = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    folder = tmp_path / "tok"
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]").save_pretrained(folder)
    summary = export_crslab(hub, tmp_path / "out", str(folder))
    token2id = load(tmp_path / "out", "token2id.json")
    assert summary["tokenizer"] == str(folder)
    assert {"the", "movie", "[UNK]", "!"} <= set(token2id) and token2id["__pad__"] == 0


def test_bad_inputs(tmp_path, hub):
    with pytest.raises(StageError, match="no built dataset"):
        export_crslab(tmp_path / "nowhere", tmp_path / "out")
    with pytest.raises(StageError, match="--tokenizer"):
        export_crslab(hub, tmp_path / "out", str(tmp_path / "no-such-tokenizer"))


def test_cli_module(hub, tmp_path, capsys):
    from distillrecdial_kit.builder import export_crslab as cli

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    with pytest.raises(StageError, match="no built dataset"):
        cli.run(cli.config_from_args(parser.parse_args(["--run", str(tmp_path)])))
    run_dir = hub.parent
    assert main(["export-crslab", "--run", str(run_dir)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("export-crslab: 16 train + 4 valid + 4 test conversations")
    assert (run_dir / "crslab" / "movie_ids.json").is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["export-crslab"]["movies"] == 145


def test_the_stage_runs_from_python_with_a_typed_config(hub, tmp_path):
    from distillrecdial_kit.builder.export_crslab import ExportCrslabConfig, run, summary_lines

    summary = run(ExportCrslabConfig(run=hub.parent, out=tmp_path / "typed"))
    assert summary["conversations"] == {"train": 16, "valid": 4, "test": 4}
    assert (tmp_path / "typed" / ".built").is_file()
    assert summary_lines(summary)[0].endswith(f"→ {tmp_path / 'typed'}")


# --------------------------------------------------------------------------- CRSLab itself


def crslab_dataset(out: Path):
    """CRSLab 0.1.2's ReDial dataset machinery over the export, with the DistillRecDial fork's loading rules.

    PyPI's CRSLab has no DistillRecDial class; the fork's differs from ReDialDataset only in how it reads the files
    (``conv`` renamed to ``dialog``; ``entity2id.json`` as ``{id: name}`` with names looked up among the values and
    internal indices in file order; ``movie_ids.json`` string keys; ``token2id.json`` doubling as the word vocab;
    no ConceptNet). `evaluate`'s KBRD reads the export with exactly those rules (:func:`evaluation.kbrd.export_reader`),
    so this test checks that reader; download check, turn merging, context augmentation and the data loaders are
    CRSLab's own code.
    """
    pytest.importorskip("crslab", reason="install with: pip install --no-deps crslab==0.1.2")
    pytest.importorskip("torch_geometric")
    from distillrecdial_kit.evaluation.kbrd import export_reader

    return export_reader(out)


def test_crslab_reads_the_export(exported):
    out, _ = exported
    dataset = crslab_dataset(out)
    vocab = dataset.vocab
    assert vocab["pad"] == 0 and vocab["start"] == 1 and vocab["end"] == 2 and vocab["unk"] == 3
    assert vocab["n_entity"] >= MIN_ENTITIES and vocab["id2entity"][0] == PAD_ENTITY
    assert len(dataset.side_data["item_entity_ids"]) == 145
    # 4 merged turns per conversation → 3 augmented examples each
    assert len(dataset.train_data) == 16 * 3 and len(dataset.test_data) == 4 * 3
    first = dataset.train_data[0]
    assert first["role"] == "Recommender" and first["items"]
    assert all(i in dataset.side_data["item_entity_ids"] for conv in dataset.test_data for i in conv["items"])
    assert all(tok != vocab["unk"] for tok in first["response"])
    kg = dataset.side_data["entity_kg"]
    assert kg["edge"] and kg["n_relation"] >= 1  # the self-loop relation survives KBRD's > 1000 filter

    from crslab.data.dataloader.kbrd import KBRDDataLoader

    loader = KBRDDataLoader({}, dataset.test_data, vocab)
    batches = list(loader.get_rec_data(batch_size=4, shuffle=False))
    assert batches and batches[0]["item"].dtype.is_floating_point is False
