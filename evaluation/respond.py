"""respond: write the next Recommender utterance for each test context, compare it with the reference.

Examples: every Recommender utterance that follows at least one Seeker utterance; context = the utterances
before it. At most ``respond_sample`` examples are drawn (a NumPy generator seeded with ``seed``, over the
examples in dialogue order), the same ones for every responder, so the metrics of two responders — and of two
splits run with the same sample size — are computed on equal-size samples.

Responders: ``reference`` (the dataset's own utterances: the distinct-n baseline), ``template`` (rule-based
stand-in, labelled: recommends the template LLM's top item with its genres and people once the seeker has
named a catalog fact, else asks about their mood), and ``--respond-model M`` (a causal LM through the
``transformers`` backend, greedy, 64 new tokens; the student's system message; Seeker → user, Recommender →
assistant, same-role turns joined). Metrics:

- ``bleu-1`` … ``bleu-4``: sacrebleu corpus BLEU with ``max_ngram_order`` n (cumulative, 13a tokenizer,
  exponential smoothing), scaled to 0..1;
- ``rouge-l``: mean per-utterance F1 of the longest common subsequence of word tokens
  (:func:`dataset_card.metrics.tokenize`), with a bootstrap interval;
- ``distinct-1`` / ``distinct-2``: :func:`dataset_card.metrics.distinct_n` over the responder's utterances;
- ``perplexity`` (``--respond-model`` only): exp of the mean token negative log-likelihood of the reference
  utterances given their context, over all reference tokens of the group.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from distillrecdial_kit.builder.rows import SFT_SYSTEM
from distillrecdial_kit.dataset_card.metrics import distinct_n, tokenize
from distillrecdial_kit.evaluation.metrics import DIGITS, summarise

__all__ = ["RespondExample", "bleu", "respond", "respond_examples", "rouge_l"]

MAX_NEW_TOKENS = 64


@dataclass(frozen=True)
class RespondExample:
    conv_id: str
    persona: str
    context: tuple[tuple[str, str], ...]
    reference: str


def respond_examples(rows: Sequence[Mapping[str, Any]]) -> list[RespondExample]:
    out = []
    for row in rows:
        dialog = list(row["dialog"])
        for position, utt in enumerate(dialog):
            context = tuple((u["role"], u["text"]) for u in dialog[:position])
            if utt["role"] == "Recommender" and any(role == "Seeker" for role, _ in context):
                out.append(RespondExample(row["conv_id"], row["persona"], context, utt["text"]))
    return out


def rouge_l(hypothesis: str, reference: str) -> float:
    """ROUGE-L F1 of two texts' word tokens (0 when either is empty)."""
    a, b = tokenize(hypothesis), tokenize(reference)
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)


def bleu(hypotheses: Sequence[str], references: Sequence[str], n: int) -> float | None:
    if not hypotheses:
        return None
    from sacrebleu.metrics import BLEU

    score = BLEU(max_ngram_order=n, effective_order=False).corpus_score(list(hypotheses), [list(references)])
    return round(score.score / 100.0, DIGITS)


def messages(context: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    out = [{"role": "system", "content": SFT_SYSTEM}]
    for role, text in context:
        chat_role = "assistant" if role == "Recommender" else "user"
        if out[-1]["role"] == chat_role:
            out[-1] = {"role": chat_role, "content": f"{out[-1]['content']} {text}"}
        else:
            out.append({"role": chat_role, "content": text})
    return out


class TemplateResponder:
    """Rule-based stand-in: recommend the template LLM's top item once the seeker named a fact, else ask."""

    name = "template"

    def __init__(self, items: Any) -> None:
        from distillrecdial_kit.evaluation.llm import FactMatcher

        self.facts = FactMatcher(items)
        self.items = items.to_dicts()

    def respond(self, examples: Sequence[RespondExample]) -> list[str]:
        seeker = [" ".join(t for r, t in ex.context if r == "Seeker") for ex in examples]
        scores = self.facts.score_texts(seeker)
        out = []
        for text, row in zip(seeker, scores, strict=True):
            if not self.facts.named(text) or not row.any():
                out.append("What kind of movie are you in the mood for tonight?")
                continue
            item = self.items[int(np.argmax(row))]
            year = f" ({item['year']})" if item.get("year") else ""
            about = ", ".join((item.get("genres") or [])[:2]).lower() or "great"
            people = (item.get("directors") or [])[:1] + (item.get("actors") or [])[:1]
            credit = f" with {' and '.join(people)}" if people else ""
            out.append(f"I'd recommend {item['title']}{year}: a {about} film{credit}.")
        return out


class ModelResponder:
    """A causal LM: greedy next utterance through the transformers backend, and reference perplexity."""

    def __init__(self, model: str) -> None:
        from distillrecdial_kit.generation.backends import ModelSpec
        from distillrecdial_kit.generation.backends.transformers_backend import TransformersBackend

        self.name = f"model[{model.rstrip('/').rsplit('/', 1)[-1]}]"
        self.backend = TransformersBackend(ModelSpec(model=model))

    def respond(self, examples: Sequence[RespondExample]) -> list[str]:
        from distillrecdial_kit.generation.backends import Sampling

        records = [{"prompt": messages(ex.context), "user_id": ex.conv_id, "persona": ex.persona} for ex in examples]
        sampling = Sampling(temperature=0.0, top_p=1.0, max_new_tokens=MAX_NEW_TOKENS)
        out = []
        for start in range(0, len(records), 8):
            for answer in self.backend.generate(records[start : start + 8], sampling):
                out.append("" if isinstance(answer, Exception) else answer.strip())
        return out

    def nll(self, examples: Sequence[RespondExample]) -> tuple[np.ndarray, np.ndarray]:
        """Per example: summed negative log-likelihood of the reference tokens, and their number."""
        torch, tok, model = self.backend.torch, self.backend.tokenizer, self.backend.model
        sums, counts = np.zeros(len(examples)), np.zeros(len(examples))
        for i, ex in enumerate(examples):
            chat = messages(ex.context)
            prefix = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
            full = tok.apply_chat_template([*chat, {"role": "assistant", "content": ex.reference}], tokenize=False)
            p_ids = tok(prefix, add_special_tokens=False)["input_ids"]
            f_ids = tok(full, add_special_tokens=False)["input_ids"]
            if len(f_ids) <= len(p_ids) or f_ids[: len(p_ids)] != p_ids:
                continue  # a template that re-renders the prefix differently: skip rather than mis-score
            ids = torch.tensor([f_ids], device=model.device)
            with torch.inference_mode():
                logits = model(input_ids=ids).logits[0, :-1].float()
            targets = ids[0, 1:]
            logp = torch.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0]
            part = logp[len(p_ids) - 1 :]
            sums[i], counts[i] = float(-part.sum()), float(part.numel())
        return sums, counts


def _group_metrics(hyps: list[str], refs: list[str], seed: int, resamples: int) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for n in range(1, 5):
        stats[f"bleu-{n}"] = bleu(hyps, refs, n)
        stats[f"bleu-{n}_ci"] = None
    rouge = np.array([rouge_l(h, r) for h, r in zip(hyps, refs, strict=True)])
    stats.update(summarise({"rouge-l": rouge}, seed, resamples))
    for n in (1, 2):
        value = distinct_n(hyps, n)
        stats[f"distinct-{n}"] = None if value is None else round(value, DIGITS)
        stats[f"distinct-{n}_ci"] = None
    return stats


def respond(rows: Sequence[Mapping[str, Any]], data: Any, options: Any) -> tuple[dict[str, Any], dict[str, int]]:
    """``({responder: {persona | "all": metrics}}, {persona | "all": examples})``."""
    examples = respond_examples(rows)
    if len(examples) > options.respond_sample:
        rng = np.random.default_rng([options.seed, 0x5E5])
        keep = np.sort(rng.choice(len(examples), size=options.respond_sample, replace=False))
        examples = [examples[i] for i in keep]
    refs = [ex.reference for ex in examples]
    personas = np.asarray([ex.persona for ex in examples], dtype=object)
    groups = {"all": np.ones(len(examples), dtype=bool)}
    groups.update({p: personas == p for p in sorted(set(personas.tolist()))})
    responders: list[Any] = [TemplateResponder(data.items)]
    if options.respond_model:
        responders.append(ModelResponder(options.respond_model))
    results: dict[str, Any] = {}
    outputs = {"reference": refs}
    for responder in responders:
        outputs[responder.name] = responder.respond(examples)
    for name, hyps in outputs.items():
        results[name] = {
            g: _group_metrics(
                [h for h, m in zip(hyps, mask, strict=True) if m],
                [r for r, m in zip(refs, mask, strict=True) if m],
                options.seed,
                options.resamples,
            )
            for g, mask in groups.items()
        }
    for responder in responders:
        if isinstance(responder, ModelResponder):
            sums, counts = responder.nll(examples)
            for g, mask in groups.items():
                total = counts[mask].sum()
                value = round(math.exp(sums[mask].sum() / total), 4) if total else None
                results[responder.name][g]["perplexity"] = value
                results[responder.name][g]["perplexity_ci"] = None
    return results, {g: int(m.sum()) for g, m in groups.items()}
