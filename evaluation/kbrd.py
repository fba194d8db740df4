"""``kbrd``: CRSLab's KBRD (Chen et al., 2019), trained with CRSLab 0.1.2 itself on the dataset's CRSLab export.

The built dataset is exported with :func:`builder.crslab_export.export_crslab` (nltk tokens) into a temporary
folder and read by CRSLab's own ReDial dataset machinery (turn merging, context augmentation, KG processing),
with the DistillRecDial fork's file-reading rules restated (``conv`` → ``dialog``, ``entity2id.json`` as
``{id: name}``, ``movie_ids.json`` string ids, ``token2id.json`` as the word vocabulary). The recommendation
part of CRSLab's ``KBRDModel`` (R-GCN over the KG, self-attention over the context's entities, a dot product
with every entity plus a bias) is trained with CRSLab's ``KBRDDataLoader`` batches and the model's own
cross-entropy loss for ``epochs`` epochs (Adam, seeded); the loss of each epoch is kept.

One fix to CRSLab 0.1.2: its ``KBRDModel.encode_user`` tests ``entity_list is not None`` where it means "is
empty", so every user vector is zero and the model ranks by its bias alone (a learned popularity); the
subclass below uses the context's entities as the paper does, and provenance says so. Only the recommender
part is built (the conversation layer of 0.1.2 fails to build on current torch and is not needed here).

Scoring ranks **item ids**: each catalog item's entity score is read at that item's entity index, so the
ranking is over the whole catalog in catalog order (never positions in a candidate subset); a catalog item the
export lacks scores lowest.
"""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from distillrecdial_kit.evaluation.methods import TrainData
from distillrecdial_kit.evaluation.tasks import RecExample
from distillrecdial_kit.pipeline.errors import StageError

__all__ = ["KBRD", "export_reader"]


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / name).read_text(encoding="utf-8"))


def export_reader(folder: Path) -> Any:
    """CRSLab's ReDialDataset over an export folder (the fork's reading rules)."""
    from crslab.data.dataset.base import BaseDataset
    from crslab.data.dataset.redial.redial import ReDialDataset
    from crslab.data.dataset.redial.resources import resources

    class ExportReader(ReDialDataset):
        def __init__(self, opt: dict, dpath: Path) -> None:
            self.special_token_idx = dict(resources["nltk"]["special_token_idx"])
            self.unk_token_idx = self.special_token_idx["unk"]
            BaseDataset.__init__(self, opt, str(dpath), {"version": "0.1", "file": None})

        def _load_raw_data(self):
            splits = []
            for name in ("train_data.json", "valid_data.json", "test_data.json"):
                convs = _load(Path(self.dpath), name)
                for conv in convs:
                    conv["dialog"] = conv.pop("conv")
                splits.append(convs)
            return tuple(splits)

        def _load_other_data(self):
            raw = _load(Path(self.dpath), "entity2id.json")
            self.raw_ids = list(raw)
            self.position = {key: i for i, key in enumerate(raw)}
            self.entity2id = {name: self.position[key] for key, name in raw.items()}
            self.id2entity = {i: name for name, i in self.entity2id.items()}
            self.n_entity = max(self.entity2id.values()) + 1
            self.word2id = self.tok2ind
            self.n_word = max(self.word2id.values()) + 1
            kg = _load(Path(self.dpath), "dbpedia_subkg.json")
            self.entity_kg = {
                str(self.position[h]): [[rel, self.position[str(t)]] for rel, t in edges if str(t) in self.position]
                for h, edges in kg.items()
                if h in self.position
            }

        def _side_data_process(self):
            movie_ids = _load(Path(self.dpath), "movie_ids.json")
            items = sorted(self.position[m] for m in set(movie_ids) & set(self.raw_ids))
            kg = self._entity_kg_process()
            return {"entity_kg": kg, "word_kg": {"edge": [], "entity": []}, "item_entity_ids": items}

    return ExportReader({}, folder)


def _model_class() -> Any:
    import torch
    from crslab.model.crs.kbrd.kbrd import KBRDModel

    class FixedKBRD(KBRDModel):
        def build_model(self, *args, **kwargs):
            # The recommender only: CRSLab 0.1.2's conversation layer (sinusoidal position codes written in place
            # into a leaf tensor) no longer builds on current torch, and the recommend task does not use it.
            self._build_embedding()
            self._build_kg_layer()
            self._build_recommendation_layer()

        def encode_user(self, entity_lists, kg_embedding):
            users = []
            for entity_list in entity_lists:
                if not entity_list:
                    users.append(torch.zeros(self.user_emb_dim, device=self.device))
                    continue
                users.append(self.kg_attn(kg_embedding[entity_list]))
            return torch.stack(users, dim=0)

    return FixedKBRD


class KBRD:
    name = "kbrd"

    def __init__(self, epochs: int = 3, seed: int = 42, batch_size: int = 64, lr: float = 1e-3, dim: int = 128) -> None:
        self.epochs, self.seed, self.batch_size, self.lr, self.dim = epochs, seed, batch_size, lr, dim
        self.losses: list[float] = []

    def describe(self) -> dict[str, Any]:
        return {
            "library": "crslab==0.1.2 (KBRDModel, ReDialDataset, KBRDDataLoader)",
            "fix": "encode_user uses the context entities (0.1.2 zeroes every user vector)",
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "kg_emb_dim": self.dim,
            "loss_per_epoch": [round(x, 4) for x in self.losses],
        }

    def fit(self, train: TrainData) -> None:
        try:
            import torch
            from crslab.data.dataloader.kbrd import KBRDDataLoader
            from loguru import logger
        except ImportError as err:
            raise StageError(
                f"method kbrd needs CRSLab: pip install --no-deps crslab==0.1.2 (plus torch_geometric, loguru): {err}"
            ) from err
        if train.location is None or not Path(train.location).is_dir():
            raise StageError("method kbrd needs a local dataset folder (--run RUN or --dataset FOLDER)")
        from distillrecdial_kit.builder.crslab_export import export_crslab

        logger.disable("crslab")
        random.seed(self.seed)
        torch.manual_seed(self.seed)
        with tempfile.TemporaryDirectory(prefix="evaluate-kbrd-") as tmp:
            export_crslab(Path(train.location), Path(tmp) / "export")
            dataset = export_reader(Path(tmp) / "export")
        vocab, side = dataset.vocab, dataset.side_data
        opt = {"kg_emb_dim": self.dim, "num_bases": 8, "user_proj_dim": self.dim, "token_emb_dim": 32,
               "ffn_size": 32, "n_heads": 2, "n_layers": 1, "gpu": [-1]}  # fmt: skip
        self.device = torch.device("cpu")
        self.model = _model_class()(opt, self.device, vocab, side)
        optimiser = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        loader = KBRDDataLoader(opt, dataset.train_data, vocab)
        self.losses = []
        for _ in range(self.epochs):
            self.model.train()
            total, batches = 0.0, 0
            for batch in loader.get_rec_data(self.batch_size, shuffle=True):
                loss, _ = self.model.recommend(batch, "train")
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total, batches = total + loss.item(), batches + 1
            self.losses.append(total / max(batches, 1))
        self.model.eval()
        self.entity_index = dataset.entity2id
        # Catalog position → entity index (−1: not in the export).
        self.item_entity = np.array([self.entity_index.get(i, -1) for i in train.catalog.ids], dtype=np.int64)
        self.torch = torch

    def score(self, examples: Sequence[RecExample]) -> np.ndarray:
        torch = self.torch
        lists = [[self.entity_index[e] for e in ex.entities if e in self.entity_index] for ex in examples]
        with torch.inference_mode():
            kg = self.model.kg_encoder(None, self.model.edge_idx, self.model.edge_type)
            users = self.model.encode_user(lists, kg)
            entity_scores = (users @ kg.T + self.model.rec_bias.bias).float().numpy()
        known = self.item_entity >= 0
        out = np.full((len(examples), self.item_entity.size), np.float64(entity_scores.min()) - 1.0)
        out[:, known] = entity_scores[:, self.item_entity[known]]
        return out
