# Two entry points (see README): `make main` runs the main job, `make test` runs the whole test suite.
# Both bootstrap a virtualenv in .venv with the package and its test dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The source documents sit beside the project on developer machines and in CI, not on users' machines.
SOURCES ?= $(wildcard ../shared/seeds)
SOURCES_FLAG := $(if $(SOURCES),--sources $(SOURCES),)
# The handbook's browser test needs Debian's chromium and a CJK font; installed once, as root or via sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BROWSER_STAMP := $(VENV)/.browser-stamp
# `score --engine spark` needs pyspark (the spark extra, not in all: ~430 MB) and a Java 17+ (Debian's headless JRE)
SPARK_STAMP := $(VENV)/.spark-stamp

.PHONY: main test install browser spark bench-serve clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[all,test]'
	touch $(STAMP)

browser: $(BROWSER_STAMP)

$(BROWSER_STAMP): | $(STAMP)
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  echo "chromium and a CJK font are installed"; \
	else \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	fi
	touch $@

spark: $(SPARK_STAMP)

$(SPARK_STAMP): pyproject.toml | $(STAMP)
	@if java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])'; then \
	  echo "java 17+ is installed"; \
	else \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[spark]'
	touch $@

## main: check the policies (verifying quotes when ../shared/seeds exists) and their canonical layout, prove
## their properties with the SMT solver, run the features with the 100% rule-coverage gate, check the
## inventory table (every source rule encoded, tested, resolved) and render the handbook into generated_docs/
main: $(STAMP)
	$(BIN)/policydsl check policies --deep $(SOURCES_FLAG)
	$(BIN)/policydsl fmt --check policies
	$(BIN)/policydsl verify --policies policies
	$(BIN)/policydsl test features -q --coverage 100
	$(if $(SOURCES),$(BIN)/policydsl inventory --inventory $(SOURCES)/INVENTORY.md --check README.md --strict,@echo "no ../shared/seeds: inventory check skipped")
	$(BIN)/policydsl docs

## test: the whole suite — unit, golden, property and end-to-end tests (real CLI, real pytest-bdd, real
## Chromium, Spark in local mode), the committed handbook must be fresh, then the main job. pytest-xdist runs
## the test files on one worker more than there are cores (tests wait on servers, browsers and JVMs), each file
## whole on one worker (its module fixtures, a Spark session, made once), the longest files first
## (tests/conftest.py: LONGEST_FIRST). On 2 cores every core is then busy (1,550 s of CPU in 840 s): a clean
## clone's `bash .ci/run` took 14:00 in all, pytest 12:00 of it (2026-12-06; 16:04 and 13:52 the day before)
test: $(STAMP) $(BROWSER_STAMP) $(SPARK_STAMP)
	POLICYDSL_REQUIRE_BROWSER=1 POLICYDSL_REQUIRE_SPARK=1 $(BIN)/python -m pytest tests -q -n $$(( $$(nproc) + 1 )) --dist loadfile --no-loadscope-reorder
	$(BIN)/policydsl docs --check
	$(MAKE) --no-print-directory main

## bench-serve: the decision service under wrk (Debian's package, installed here) at 1, 16 and 64 connections,
## then a 5-minute soak; figures in the README ("Decision service")
bench-serve: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || ($(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python benchmarks/bench_serve.py

clean:
	rm -rf $(VENV) build *.egg-info
