"""The LLM ranker: an LLM through the generation backends, or the rule-based ``template`` stand-in.

``template`` (labelled as such in results.json, never passed off as an LLM) reads the seeker's utterances the
way a prompted LLM would use them: it finds every catalog fact they name (a genre, keyword, actor, director or
collection, matched as a whole phrase) and scores each item by the summed inverse document frequency of the
named facts it has. It also writes the "summary of the seeker's needs" that the collaborate task gives a CRS:
the named facts, most specific first.

With a real backend (``vllm``, ``openai``, ``transformers``) the model gets the dialogue so far (and, in the
collaborate task, a candidate list) and is asked for ten titles, one per line; each line is matched to the
catalog by its normalised title (lowercased, articles, punctuation and a trailing year dropped). Listed items
score by position, every other item scores 0 (ties → the seeded tie order, i.e. chance).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from distillrecdial_kit.evaluation.methods import TrainData, words
from distillrecdial_kit.evaluation.tasks import RecExample

__all__ = ["FactMatcher", "LLMRanker", "normalise_title"]

FACT_FIELDS = ("genres", "keywords", "actors", "directors", "collection")
MAX_PHRASE = 6
LIST_SIZE = 10
_YEAR = re.compile(r"\s*[(\[]?\b(?:19|20)\d\d\b[)\]]?\s*$")
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s*")


def normalise_title(title: str) -> str:
    """Lowercased words of ``title`` without a trailing year or a leading article."""
    tokens = words(_YEAR.sub("", title))
    if tokens and tokens[0] in ("the", "a", "an"):
        tokens = tokens[1:]
    return " ".join(tokens)


class FactMatcher:
    """Catalog facts as phrases; which of them a text names; items scored by the facts named."""

    def __init__(self, items: Any) -> None:
        phrases: dict[tuple[str, ...], int] = {}
        rows, cols = [], []
        columns = {f: items[f].to_list() for f in FACT_FIELDS if f in items.columns}
        for i in range(items.height):
            for values in columns.values():
                seq = values[i] if isinstance(values[i], list) else [values[i]]
                for value in seq:
                    key = tuple(words(value or ""))[:MAX_PHRASE]
                    if not key:
                        continue
                    rows.append(i)
                    cols.append(phrases.setdefault(key, len(phrases)))
        self.phrases = phrases
        self.names = [" ".join(p) for p in phrases]
        n_items = items.height
        self.item_facts = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n_items, len(phrases))
        )
        self.item_facts.sum_duplicates()
        self.item_facts.data[:] = 1.0
        df = np.asarray((self.item_facts > 0).sum(axis=0)).ravel()
        self.idf = np.log1p(n_items / np.maximum(df, 1)).astype(np.float32)

    def named(self, text: str) -> list[int]:
        """Fact ids the text names (longest match, left to right; each once, in order of first appearance)."""
        tokens = words(text)
        found: dict[int, None] = {}
        start = 0
        while start < len(tokens):
            # Longest phrase first: "space marine" is one fact, not also "space".
            for length in range(min(MAX_PHRASE, len(tokens) - start), 0, -1):
                fact = self.phrases.get(tuple(tokens[start : start + length]))
                if fact is not None:
                    found[fact] = None
                    start += length
                    break
            else:
                start += 1
        return list(found)

    def score_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows, cols = [], []
        for r, text in enumerate(texts):
            for c in self.named(text):
                rows.append(r)
                cols.append(c)
        query = sp.csr_matrix(
            (self.idf[cols], (rows, cols)) if cols else ([], ([], [])),
            shape=(len(texts), len(self.phrases)),
            dtype=np.float32,
        )
        return (query @ self.item_facts.T).toarray()

    def summary(self, text: str) -> str:
        """The seeker's needs as the facts they named, most specific (highest idf) first."""
        named = sorted(self.named(text), key=lambda f: (-float(self.idf[f]), self.names[f]))
        return "; ".join(self.names[f] for f in named)


_SYSTEM = (
    "You are a movie recommender. Given the conversation so far, list the {n} movies you would recommend next, "
    "best first, one title per line, with the year in parentheses. Output the list only."
)


_SUMMARY = (
    "Summarise in one sentence what kind of movie the user wants (genres, themes, people, franchise), "
    "using only what the conversation says. Output the sentence only."
)


class LLMRanker:
    """``llm``: a recommender that asks an LLM (or the template stand-in) what to recommend."""

    def __init__(self, backend: str = "template", model: str | None = None, adapter: str | None = None) -> None:
        self.backend_name = backend
        self.model = model
        self.adapter = adapter
        self.name = "llm" if backend == "template" else f"llm[{backend}]"
        self._backend: Any = None

    def describe(self) -> dict[str, Any]:
        if self.backend_name == "template":
            return {"backend": "template", "model": "rule-based fact matcher (stand-in, not an LLM)"}
        return {"backend": self.backend_name, "model": self.model, "adapter": self.adapter}

    def fit(self, train: TrainData) -> None:
        self.catalog = train.catalog
        self.facts = FactMatcher(train.items)
        self.by_title: dict[str, int] = {}
        for i, title in enumerate(train.items["title"].to_list()):
            key = normalise_title(title or "")
            if key:
                self.by_title.setdefault(key, i)
        if self.backend_name != "template":
            from distillrecdial_kit.generation.backends import ModelSpec, make_backend

            self._backend = make_backend(self.backend_name, ModelSpec(model=self.model, adapter=self.adapter))

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    # --------------------------------------------------------------------------------------------- rank

    def score(self, examples: Sequence[RecExample]) -> np.ndarray:
        if self.backend_name == "template":
            return self.facts.score_texts([ex.seeker_text for ex in examples])
        return self._ask(examples, None)

    def rerank(self, examples: Sequence[RecExample], candidates: np.ndarray) -> np.ndarray:
        """LLM order of each example's candidate items (CRS top-k); the rest keep the CRS order below them."""
        n_items = len(self.catalog)
        k = candidates.shape[1]
        if self.backend_name == "template":
            llm = self.facts.score_texts([ex.seeker_text for ex in examples])
        else:
            llm = self._ask(examples, candidates)
        out = np.zeros((len(examples), n_items), dtype=np.float64)
        for r in range(len(examples)):
            cand = candidates[r]
            # Outside the candidates: below them, in the CRS order (k-th candidate's neighbours first).
            out[r] = -1.0
            order = sorted(range(k), key=lambda p: (-float(llm[r, cand[p]]), p))
            for new_pos, p in enumerate(order):
                out[r, cand[p]] = float(k - new_pos)
        return out

    def summaries(self, examples: Sequence[RecExample]) -> list[str]:
        """A short statement of each seeker's needs (the LLM → CRS query)."""
        if self.backend_name == "template":
            return [self.facts.summary(ex.seeker_text) for ex in examples]
        from distillrecdial_kit.generation.backends import Sampling

        prompts = []
        for ex in examples:
            record = self._prompt(ex, None)
            record["prompt"][0]["content"] = _SUMMARY
            prompts.append(record)
        answers = self._backend.generate(prompts, Sampling(temperature=0.0, top_p=1.0, max_new_tokens=96))
        return ["" if isinstance(a, Exception) else a for a in answers]

    # ----------------------------------------------------------------------------------------- backends

    def _prompt(self, ex: RecExample, candidates: list[str] | None) -> dict[str, Any]:
        lines = [f"{'User' if role == 'Seeker' else 'Recommender'}: {text}" for role, text in ex.context]
        user = "\n".join(lines) or "(the user has not said anything yet)"
        if candidates:
            user += "\n\nChoose among these movies:\n" + "\n".join(candidates)
        return {
            "user_id": ex.user_id or ex.conv_id,
            "persona": ex.persona,
            "prompt": [
                {"role": "system", "content": _SYSTEM.format(n=LIST_SIZE)},
                {"role": "user", "content": user},
            ],
        }

    def _ask(self, examples: Sequence[RecExample], candidates: np.ndarray | None) -> np.ndarray:
        from distillrecdial_kit.generation.backends import Sampling

        titles = self.titles
        prompts = [
            self._prompt(ex, None if candidates is None else [titles[c] for c in candidates[r]])
            for r, ex in enumerate(examples)
        ]
        answers = self._backend.generate(prompts, Sampling(temperature=0.0, top_p=1.0, max_new_tokens=256))
        out = np.zeros((len(examples), len(self.catalog)), dtype=np.float64)
        for r, answer in enumerate(answers):
            if isinstance(answer, Exception):
                continue  # counted as no list: every item ties
            for pos, item in enumerate(self.parse(answer)):
                out[r, item] = LIST_SIZE - pos
        return out

    @property
    def titles(self) -> list[str]:
        if not hasattr(self, "_titles"):
            by_index = {i: t for t, i in self.by_title.items()}
            self._titles = [by_index.get(i, self.catalog.ids[i]) for i in range(len(self.catalog))]
        return self._titles

    def parse(self, answer: str) -> list[int]:
        """Catalog positions of the titles listed in ``answer`` (unknown lines skipped, duplicates once)."""
        found: dict[int, None] = {}
        for line in answer.splitlines():
            item = self.by_title.get(normalise_title(_NUMBERING.sub("", line)))
            if item is not None:
                found[item] = None
        return list(found)[:LIST_SIZE]
