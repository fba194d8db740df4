"""Write CRSLab's side files from the built Hub folder (``RUN/hub``).

The folder written (``train_data.json``, ``valid_data.json``, ``test_data.json``, ``entity2id.json``,
``token2id.json``, ``dbpedia_subkg.json``, ``movie_ids.json``, ``relation2id.json``, ``.built``) is what the
DistillRecDial fork of CRSLab reads for its ``DistillRecDial`` dataset (copy it to CRSLab's
``data/dataset/llmsindataset/<tokenize>/``; ``.built`` holds the resource version so CRSLab skips the download):

- dialogue files: ``[{"conv_id", "target_item", "conv": [{"utt_id", "role", "text", "movies", "entity",
  "word"}]}]``; ``role`` is ``Seeker`` / ``Recommender``, consecutive turns of one role are merged here already;
  ``text`` is the list of token strings of the chosen tokenizer; ``movies`` are item ids and ``entity`` entity
  names, both of which are names in ``entity2id.json``;
- ``entity2id.json``: ``{"0": "__pad_entity__", "1": item id, ..., "k": entity name, ...}``: a dummy entity
  first (index 0 is CRSLab's padding), then the movies (item ids, sorted), then the other entities (sorted),
  then, if fewer than 100 in all, ``__pad_entity_<n>__`` fillers (the fork needs >= 100 entities);
- ``movie_ids.json``: the movie entities' ids as *strings* (keys of ``entity2id.json``): every catalog item plus
  every item a dialogue mentions, so each movie recommended in valid/test is a candidate;
- ``dbpedia_subkg.json``: ``{head_id: [[relation_id, tail_id], ...]}`` with a key for every real entity (so each
  gets CRSLab's self-loop), triples from the ``kg`` config; relation ids follow sorted relation names,
  skipping 185 (CRSLab's self-loop relation); ``relation2id.json`` names them;
- ``token2id.json``: ``__pad__`` 0, ``__start__`` 1, ``__end__`` 2, ``__unk__`` 3, ``__split__`` 4,
  ``__word_split__`` 5 (the ids the fork hard-codes), then every token of the three splits, sorted.

Tokenizers: ``nltk`` (default) is a regex word tokenizer in the style of NLTK's Treebank ``word_tokenize``
("can't" → "ca", "n't"; "it's" → "it", "'s"; punctuation split off), lowercased, so that the ``word`` field
(lowercased words) finds its ids in ``token2id.json``, which the fork also uses as its word vocabulary. It needs
no NLTK data download. ``gpt2``, ``bert`` (= ``bert-base-uncased``), any other Hub name or any local tokenizer
folder go through ``transformers.AutoTokenizer`` (Hub names need the network or the HF cache).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from distillrecdial_kit.pipeline import console
from distillrecdial_kit.pipeline.atomic import write_bytes
from distillrecdial_kit.pipeline.errors import StageError

__all__ = [
    "CRSLAB_RESOURCE_VERSION",
    "MIN_ENTITIES",
    "PAD_ENTITY",
    "SELF_LOOP_RELATION",
    "SPECIAL_TOKENS",
    "export_crslab",
    "load_tokenizer",
    "nltk_tokenize",
]

#: Token ids 0..5 as the fork hard-codes them (pad/start/end/unk, then GPT-2's sentence and word splits).
SPECIAL_TOKENS = ("__pad__", "__start__", "__end__", "__unk__", "__split__", "__word_split__")
PAD_ENTITY = "__pad_entity__"
MIN_ENTITIES = 100
MIN_ITEMS = 50
SELF_LOOP_RELATION = 185
KBRD_MIN_RELATION_EDGES = 1000
#: Version string on the second line of ``.built`` (the fork's ``distillrecdial`` resources).
CRSLAB_RESOURCE_VERSION = "0.1"
ROLES = ("Seeker", "Recommender")
SPLIT_FILES = (("train", "train_data.json"), ("validation", "valid_data.json"), ("test", "test_data.json"))
HUB_ALIASES = {"gpt2": "gpt2", "bert": "bert-base-uncased"}

_NLTK_LIKE = re.compile(
    r"""\.\.\.                 # ellipsis
      | \w+(?=n't\b)           # "ca" of "can't", "do" of "don't"
      | n't\b
      | '(?:s|re|ve|ll|d|m)\b  # clitics
      | \w+(?:[-.]\w+)*        # words, hyphenated words, numbers like 2.5
      | [^\w\s]                # any other single symbol
    """,
    re.VERBOSE | re.IGNORECASE,
)


def nltk_tokenize(text: str) -> list[str]:
    """Treebank-style word tokens, lowercased (no NLTK data needed)."""
    return [tok.lower() for tok in _NLTK_LIKE.findall(text)]


def load_tokenizer(name: str) -> Callable[[str], list[str]]:
    """``nltk``, ``gpt2``, ``bert``, a Hub tokenizer name or a local folder → a text → token strings function."""
    if name == "nltk":
        return nltk_tokenize
    try:
        from transformers import AutoTokenizer
    except ImportError as err:  # pragma: no cover - transformers is pinned in requirements.txt
        raise StageError(f"--tokenizer {name}: transformers is not installed ({err})") from err
    source = HUB_ALIASES.get(name, name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except Exception as err:
        where = "local folder" if Path(source).is_dir() else "Hub name (needs the network or the HF cache)"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StageError(f"--tokenizer {name}: cannot load {where} {source!r}: {first}") from err
    return tokenizer.tokenize


def _load_config(hub_dir: Path, name: str) -> dict[str, Any]:
    import datasets

    try:
        return dict(datasets.load_dataset(str(hub_dir), name))
    except Exception as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise StageError(f"{hub_dir}: cannot load config {name!r}: {first}") from err


def _all_rows(dataset_dict: Mapping[str, Any]) -> Iterable[dict]:
    order = [s for s in ("train", "validation", "test") if s in dataset_dict]
    order += sorted(s for s in dataset_dict if s not in order)
    for split in order:
        yield from dataset_dict[split]


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8") + b"\n"


def _convert_dialog(row: Mapping, tokenize: Callable[[str], list[str]]) -> tuple[list[dict], int]:
    """One crslab row's dialog → CRSLab ``conv`` (same-role turns merged) and how many turns were merged."""
    conv: list[dict] = []
    merged = 0
    for position, utt in enumerate(row["dialog"]):
        role = utt.get("role")
        if role not in ROLES:
            raise StageError(
                f"crslab config, conv_id {row.get('conv_id')!r}, turn {position}, field role: "
                f"{role!r} is not Seeker or Recommender"
            )
        text = tokenize(utt.get("text") or "")
        movies = [str(m) for m in utt.get("movies") or ()]
        entity = [str(e) for e in utt.get("entity") or ()]
        word = [str(w) for w in utt.get("word") or ()]
        if conv and conv[-1]["role"] == role:
            last = conv[-1]
            last["text"] += text
            last["movies"] += movies
            last["entity"] += entity
            last["word"] += word
            merged += 1
        else:
            conv.append(
                {"utt_id": len(conv), "role": role, "text": text, "movies": movies, "entity": entity, "word": word}
            )
    return conv, merged


def convert_conversations(
    crslab: Mapping[str, Iterable[Mapping]], tokenize: Callable[[str], list[str]], progress: bool = False
) -> tuple[dict[str, list[dict]], int, int]:
    """Every split's crslab rows as CRSLab records; also how many same-role turns were merged and how many
    utterances remain."""
    conversations: dict[str, list[dict]] = {}
    merged_turns = utterances = 0
    for split, _ in SPLIT_FILES:
        rows = crslab[split]
        if progress:
            rows = console.progress(rows, desc=f"crslab {split}", unit="conv")
        records = []
        for row in rows:
            conv, merged = _convert_dialog(row, tokenize)
            merged_turns += merged
            utterances += len(conv)
            records.append({"conv_id": str(row["conv_id"]), "target_item": row.get("target_item"), "conv": conv})
        conversations[split] = records
    return conversations, merged_turns, utterances


def entity_names(
    conversations: Mapping[str, list[dict]], items: Iterable[Mapping], kg: Iterable[Mapping]
) -> tuple[set[str], set[str]]:
    """The movie entities (catalog items, targets, mentioned items) and the other entities (linked, KG tails)."""
    movies = {str(item["item_id"]) for item in items if item.get("item_id")}
    others: set[str] = set()
    for records in conversations.values():
        for record in records:
            if record["target_item"]:
                movies.add(str(record["target_item"]))
            for utt in record["conv"]:
                movies.update(utt["movies"])
                others.update(utt["entity"])
    for triple in kg:
        others.update((str(triple["head"]), str(triple["tail"])))  # item heads are removed just below
    others -= movies
    others.discard(PAD_ENTITY)
    return movies, others


def entity_index(movies: set[str], others: set[str]) -> tuple[dict[str, int], int, int]:
    """``entity2id``: pad, movies (sorted), other entities (sorted), then fillers up to :data:`MIN_ENTITIES`;
    also how many are real and how many fillers."""
    names = [PAD_ENTITY, *sorted(movies), *sorted(others)]
    n_real = len(names)
    filler = 0
    while len(names) < MIN_ENTITIES:
        names.append(f"__pad_entity_{filler}__")
        filler += 1
    return {name: index for index, name in enumerate(names)}, n_real, filler


def relation_index(kg: Iterable[Mapping]) -> dict[str, int]:
    """Relation ids in the order of their sorted names, skipping :data:`SELF_LOOP_RELATION`."""
    relation2id: dict[str, int] = {}
    next_id = 0
    for relation in sorted({str(t["relation"]) for t in kg}):
        if next_id == SELF_LOOP_RELATION:
            next_id += 1
        relation2id[relation] = next_id
        next_id += 1
    return relation2id


def kg_edges(
    kg: Iterable[Mapping], entity2id: Mapping[str, int], relation2id: Mapping[str, int], n_real: int
) -> dict[int, set[tuple[int, int]]]:
    """``{head_id: {(relation_id, tail_id)}}`` with a key for every real entity (self-edges dropped)."""
    edges: dict[int, set[tuple[int, int]]] = {index: set() for index in range(1, n_real)}
    for triple in kg:
        head, tail = entity2id[str(triple["head"])], entity2id[str(triple["tail"])]
        if head != tail:
            edges[head].add((relation2id[str(triple["relation"])], tail))
    return edges


def kbrd_relations(edges: Mapping[int, set[tuple[int, int]]], relation2id: Mapping[str, int]) -> list[str]:
    """The relations KBRD keeps: > 1000 entries in its edge list, where each triple is entered twice."""
    id2relation = {index: relation for relation, index in relation2id.items()}
    entries = dict.fromkeys(sorted(relation2id), 0)
    for pairs in edges.values():
        for rel_id, _ in pairs:
            entries[id2relation[rel_id]] += 2
    return [r for r in sorted(relation2id) if entries[r] > KBRD_MIN_RELATION_EDGES]


def token_index(conversations: Mapping[str, list[dict]]) -> dict[str, int]:
    """``token2id``: the special tokens at their fixed ids, then every token of the dialogues, sorted."""
    vocab: set[str] = set()
    for records in conversations.values():
        for record in records:
            for utt in record["conv"]:
                vocab.update(utt["text"])
    vocab.difference_update(SPECIAL_TOKENS)
    return {token: index for index, token in enumerate((*SPECIAL_TOKENS, *sorted(vocab)))}


def write_export(out: Path, files: Mapping[str, Any], resource_version: str) -> None:
    """Each file as JSON, the ``.built`` marker last, so a killed export is never taken as complete."""
    out.mkdir(parents=True, exist_ok=True)
    marker = out / ".built"
    if marker.exists():
        marker.unlink()
    for filename, value in files.items():
        write_bytes(out / filename, _dumps(value))
    write_bytes(marker, f"distillrecdial export-crslab\n{resource_version}".encode())


def export_crslab(
    hub_dir: Path,
    out: Path,
    tokenizer: str = "nltk",
    *,
    resource_version: str = CRSLAB_RESOURCE_VERSION,
    progress: bool = False,
) -> dict[str, Any]:
    """Write CRSLab's files for the dataset built in ``hub_dir`` into ``out``; return a summary dict."""
    hub_dir, out = Path(hub_dir), Path(out)
    if not hub_dir.is_dir():
        raise StageError(f"{hub_dir}: no built dataset folder (run `distillrecdial build` first)")
    tokenize = load_tokenizer(tokenizer)
    crslab = _load_config(hub_dir, "crslab")
    items = list(_all_rows(_load_config(hub_dir, "items")))
    kg = list(_all_rows(_load_config(hub_dir, "kg")))
    missing = [split for split, _ in SPLIT_FILES if split not in crslab]
    if missing:
        raise StageError(f"{hub_dir}: config 'crslab' has no split(s) {', '.join(missing)}")

    conversations, merged_turns, utterances = convert_conversations(crslab, tokenize, progress)
    movies, others = entity_names(conversations, items, kg)
    entity2id, n_real, filler = entity_index(movies, others)
    movie_ids = [str(entity2id[name]) for name in sorted(movies)]
    relation2id = relation_index(kg)
    edges = kg_edges(kg, entity2id, relation2id, n_real)
    subkg = {str(head): [list(edge) for edge in sorted(pairs)] for head, pairs in sorted(edges.items())}
    kept = kbrd_relations(edges, relation2id)
    token2id = token_index(conversations)
    files = {filename: conversations[split] for split, filename in SPLIT_FILES}
    files |= {
        "entity2id.json": {str(index): name for name, index in entity2id.items()},
        "movie_ids.json": movie_ids,
        "dbpedia_subkg.json": subkg,
        "relation2id.json": relation2id,
        "token2id.json": token2id,
    }
    write_export(out, files, resource_version)

    warnings = []
    if len(movies) < MIN_ITEMS:
        warnings.append(f"only {len(movies)} movies: upstream CRSLab needs >= {MIN_ITEMS}")
    if not kept and len(subkg) <= KBRD_MIN_RELATION_EDGES:  # self-loops are kept only past the same bar
        warnings.append(f"no relation has > {KBRD_MIN_RELATION_EDGES} edge entries: KBRD's entity graph would be empty")
    return {
        "out": str(out),
        "tokenizer": tokenizer,
        "conversations": {filename.split("_")[0]: len(conversations[split]) for split, filename in SPLIT_FILES},
        "utterances": utterances,
        "merged_turns": merged_turns,
        "tokens": len(token2id),
        "entities": n_real,
        "filler_entities": filler,
        "movies": len(movie_ids),
        "relations": len(relation2id),
        "kg_edges": sum(len(pairs) for pairs in edges.values()),
        "kbrd_relations": kept,
        "warnings": warnings,
    }
