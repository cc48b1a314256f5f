# Two entry points (see README): `make main` runs the main job, `make test` runs the whole test suite.
# Both bootstrap a virtualenv in .venv with the package and its test dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The source documents sit beside the project on developer machines and in CI, not on users' machines.
SOURCES ?= $(wildcard ../shared/seeds)
SOURCES_FLAG := $(if $(SOURCES),--sources $(SOURCES),)

.PHONY: main test install check features clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## main: check the policies (verifying quotes when ../shared/seeds exists), run the features with the
## 100% rule-coverage gate, and check the inventory table (every source rule encoded, tested, resolved)
main: $(STAMP)
	$(BIN)/policydsl check policies $(SOURCES_FLAG)
	$(BIN)/policydsl test features -q --coverage 100
	$(if $(SOURCES),$(BIN)/policydsl inventory --inventory $(SOURCES)/INVENTORY.md --check README.md --strict,@echo "no ../shared/seeds: inventory check skipped")

## test: the whole suite — unit, golden, property and end-to-end tests, then the main job
test: $(STAMP)
	$(BIN)/python -m pytest tests -q
	$(MAKE) --no-print-directory main

clean:
	rm -rf $(VENV) build *.egg-info
