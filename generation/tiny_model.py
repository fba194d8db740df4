"""A tiny local Llama for CPU demos, tests and benchmarks: every backend and the trainer run for real.

Nothing can be downloaded in CI, so the demo and the tests build their model:
a byte-level BPE tokenizer trained with ``tokenizers`` on the run's own text,
a Llama-3-style chat template whose assistant turns sit inside
``{% generation %}`` markers (end-of-turn token included) so TRL's
``assistant_only_loss`` works, and a randomly initialised 2-layer Llama
(hidden 64, head_dim 32, the smallest vLLM's CPU attention accepts).

    python -m distillrecdial_kit.generation.tiny_model --run runs/demo --out runs/demo/tiny-llama
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from distillrecdial_kit.pipeline.layout import MERGED_FILE, RAW_DIR

SPECIAL_TOKENS = [
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|pad|>",
]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|start_header_id|>assistant<|end_header_id|>\n\n"
    "{% generation %}{{ message['content'] }}<|eot_id|>{% endgeneration %}"
    "{% else %}"
    "<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n{{ message['content'] }}<|eot_id|>"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)


def run_texts(run: Path) -> Iterator[str]:
    """Text to train the tokenizer on: the prompts and any dialogues already in the run folder."""
    for line in (run / "prompts.jsonl").read_bytes().splitlines():
        for message in orjson.loads(line)["prompt"]:
            yield message["content"]
    for path in sorted((run / RAW_DIR).glob(f"*/{MERGED_FILE}")):
        for line in path.read_bytes().splitlines():
            yield orjson.loads(line)["response"]


def build_tiny_model(out: Path, texts: Iterable[str], vocab_size: int = 4096, seed: int = 0) -> Path:
    """Train the tokenizer on ``texts``, initialise the model with ``seed``, save both to ``out``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|pad|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=8192,
    )
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        max_position_embeddings=8192,
        bos_token_id=ids["<|begin_of_text|>"],
        eos_token_id=ids["<|eot_id|>"],
        pad_token_id=ids["<|pad|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).to(torch.float32)
    model.generation_config = GenerationConfig(
        bos_token_id=config.bos_token_id, eos_token_id=config.eos_token_id, pad_token_id=config.pad_token_id
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, type=Path, help="run folder whose text trains the tokenizer")
    parser.add_argument("--out", required=True, type=Path, help="where to save the model and tokenizer")
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if not (args.run / "prompts.jsonl").exists():
        print(f"tiny_model: error: {args.run / 'prompts.jsonl'} not found; run prepare first", file=sys.stderr)
        return 2
    build_tiny_model(args.out, run_texts(args.run), args.vocab_size, args.seed)
    print(f"tiny_model: saved a tiny Llama and its tokenizer to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
