# vipriors-bench: `make test` sets everything up on a fresh machine; `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUNDLER_STAMP := $(VENV)/.bundler
PLATFORM ?= codabench
# the edition, a folder of competitions/: by default the upcoming one, DEFAULT_EDITION of bundler/ground/editions.py
EDITION ?= $(shell sed -n 's/^DEFAULT_EDITION = "\(.*\)"$$/\1/p' bundler/ground/editions.py)
COMPETITIONS := $(sort $(patsubst competitions/$(EDITION)/%/competition.yaml,%,$(wildcard competitions/$(EDITION)/*/competition.yaml)))

.PHONY: help venv baselines test fuzz lint bench site rehearse clean $(addprefix bundle-,$(COMPETITIONS))

help:  ## list the targets
	@grep -E '^[a-z$$(%-].*:.*## ' $(MAKEFILE_LIST) | sed -e 's/^\$$(addprefix bundle-,\$$(COMPETITIONS)): bundle-%/bundle-NAME/' -e 's/:.*## /\t/' | expand -t 24

$(BUNDLER_STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(BUNDLER_STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,baselines]'
	touch $(STAMP) $(BUNDLER_STAMP)

venv: $(STAMP)  ## create .venv and install the project with its dev and baselines extras

baselines: $(BUNDLER_STAMP)  ## install the baselines extra (torch, torchvision, PyAV) into .venv
	$(PY) -m pip install --quiet -e '.[baselines]'

test: lint  ## lint, then run the whole test suite
	$(PY) -m pytest -q -n 2

fuzz: $(STAMP)  ## the property-based tests with a far larger budget (HYPOTHESIS_PROFILE=fuzz)
	HYPOTHESIS_PROFILE=fuzz $(PY) -m pytest -q -n 2 tests/test_hostile_inputs.py tests/test_yaml_traps.py

lint: $(STAMP)  ## ruff, and vermin proving scoring/ runs on Python 3.9
	$(VENV)/bin/ruff check scoring bundler baselines tests
	$(VENV)/bin/vermin --quiet --no-tips --violations --target=3.9- --eval-annotations scoring

bench: $(STAMP)  ## speed and memory, ours beside the reference implementations
	$(PY) tests/bench.py

$(addprefix bundle-,$(COMPETITIONS)): bundle-%: $(BUNDLER_STAMP)  ## build/<edition>/<name>_codabench.zip (EDITION=2021 another edition; PLATFORM=codalab: <name>_codalab.zip; installs only what the bundler needs)
	$(PY) -m bundler --edition $(EDITION) build $* --platform $(PLATFORM)

bundle-%:
	@echo "no competition $* in competitions/$(EDITION)/ (it has: $(or $(COMPETITIONS),none)); EDITION=... for another edition" >&2; exit 2

site: $(BUNDLER_STAMP)  ## build/<edition>/site/index.html and challenges.md, the event page, from competitions/<edition>/event.yaml
	$(PY) -m bundler --edition $(EDITION) site

rehearse: $(BUNDLER_STAMP)  ## the whole edition on generated data in build/<edition>/rehearsal/, every step summarised (baselines once installed)
	$(PY) -m bundler --edition $(EDITION) rehearse

clean:  ## remove build outputs (keeps .venv)
	rm -rf build .pytest_cache .ruff_cache .hypothesis
