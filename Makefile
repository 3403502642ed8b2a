# storydiff: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORPUS ?= data/corpora/seeds
NAME ?= seeds
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup report run batch test lab bench browser docs clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

setup: $(STAMP) ## create .venv: torch (CPU build) first, then storydiff with its dev extras

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

report: setup ## render the demo report from the seeds: outputs/seeds/report.html
	$(BIN)/storydiff run --corpus $(CORPUS) --name $(NAME) --force

run: setup ## run on your own articles: make run CORPUS=path/to/folder NAME=myrun
	$(BIN)/storydiff run --corpus $(CORPUS) --name $(NAME)

RUNS ?= batches/example.yaml
JOBS ?= 1
batch: setup ## render every run of a batch file, with an index: make batch RUNS=batches/example.yaml JOBS=2
	$(BIN)/storydiff batch $(RUNS) --jobs $(JOBS)

browser: ## install Debian's chromium for the browser tests (if missing)
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

test: setup browser ## run every test: unit, notebooks (nbval) against the seeds run, end to end, browser
	$(BIN)/storydiff run --corpus data/corpora/seeds --name seeds --force
	$(BIN)/python -m pytest tests --nbval-lax notebooks $(PYTEST_ARGS)

lab: setup ## open JupyterLab on notebooks/ with the project's kernel
	$(BIN)/jupyter lab --notebook-dir=notebooks --allow-root

bench: setup ## run the benchmarks in bench/ (they print figures)
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

docs: setup browser ## refresh docs/report-first-screen.png (the README's picture) from a fresh seeds run
	STORYDIFF_UPDATE_DOCS=1 $(BIN)/python -m pytest tests/test_report_browser.py -k seeds

clean: ## remove the virtual environment and test caches (runs in outputs/ are kept)
	rm -rf $(VENV) .pytest_cache
