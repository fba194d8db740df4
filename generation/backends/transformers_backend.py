"""``--backend transformers``: local batched ``generate`` for small models and CPUs.

The chat template renders each prompt; prompts are left-padded so a batch
decodes together. A LoRA adapter is loaded with PEFT on top of the base model.
A row that never produced an end-of-sequence token within ``max_new_tokens``
reports ``finish_reason`` ``length``, like vLLM and the OpenAI API do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from distillrecdial_kit.generation.backends import LENGTH, STOP, Completion, ModelSpec, Sampling, isolate_failures
from distillrecdial_kit.generation.backends.vllm_backend import request_seed


class TransformersBackend:
    name = "transformers"

    def __init__(self, spec: ModelSpec) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if not spec.model:
            raise ValueError("--backend transformers needs --model")
        self.spec = spec
        self.torch = torch
        options = dict(spec.options)
        dtype = options.pop("dtype", "auto")
        self.tokenizer = AutoTokenizer.from_pretrained(spec.model, revision=spec.revision)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(spec.model, revision=spec.revision, dtype=dtype, **options)
        if spec.adapter:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, spec.adapter)
        self.model = model.eval()
        self.eos_ids = self._eos_ids()

    def _eos_ids(self) -> set[int]:
        """Token ids that end a turn: the generation config's (one id or a list) and the tokenizer's."""
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids = set(configured if isinstance(configured, list) else [configured])
        ids.add(self.tokenizer.eos_token_id)
        return {i for i in ids if i is not None}

    def _generate(self, records: Sequence[dict[str, Any]], sampling: Sampling) -> list[Completion]:
        texts = [
            self.tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True) for r in records
        ]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        batch = batch.to(self.model.device)
        # One seed per batch, derived from its first prompt: reruns of the same batch repeat.
        self.torch.manual_seed(request_seed(sampling.seed, records[0]))
        sample = sampling.temperature > 0
        with self.torch.inference_mode():
            output = self.model.generate(
                **batch,
                max_new_tokens=sampling.max_new_tokens,
                do_sample=sample,
                temperature=sampling.temperature if sample else None,
                top_p=sampling.top_p if sample else None,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new_tokens = output[:, batch["input_ids"].shape[1] :]
        texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        # Rows that finished early end in an end-of-turn token (then padding); one without any ran out of tokens.
        ended = [bool(self.eos_ids & set(row.tolist())) for row in new_tokens]
        full = new_tokens.shape[1] >= sampling.max_new_tokens
        return [Completion(t, LENGTH if full and not e else STOP) for t, e in zip(texts, ended, strict=True)]

    def generate(self, prompts: Sequence[dict[str, Any]], sampling: Sampling) -> list[str | Exception]:
        return isolate_failures(lambda batch: self._generate(batch, sampling), prompts)

    def close(self) -> None:
        del self.model
