# repro-gen's own tasks. `make help` lists them.
PYTHON ?= python3
# The lightest example: scikit-learn on a CPU, so the quick path takes a minute or two.
EXAMPLE ?= examples/cpu-sklearn-kvm.yaml
OUT ?= out

.DEFAULT_GOAL := help
# Everything here runs this checkout's generator, whichever repro-gen is installed.
export PYTHONPATH := $(CURDIR)/generator:$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
.PHONY: help install demo test-env testbed test test-fast testbed-stop lint golden facts bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: ## Install repro-gen with its test dependencies
	$(PYTHON) -m pip install -e '.[test]'

# The demo's steps say what they do; pip's output goes to a log, shown only when pip fails.
DEMO_LOG = $(OUT)/demo-pip.log
say = @printf '\n[demo] %s\n' "$(1)"
quiet = { $(1); } >>$(DEMO_LOG) 2>&1 || { tail -n 30 $(DEMO_LOG); echo "[demo] failed; the whole log: $(DEMO_LOG)"; exit 1; }

demo: ## The main job: render an example and train locally, tracked in MLflow with provenance
	@mkdir -p $(OUT) && : >$(DEMO_LOG)
	$(call say,1/4 install repro-gen into .venv (pip's log: $(DEMO_LOG)))
	@$(call quiet,$(PYTHON) -m venv .venv && .venv/bin/pip install --quiet -e .)
	$(call say,2/4 render $(EXAMPLE) into $(OUT)/demo)
	@.venv/bin/repro-gen render $(EXAMPLE) -o $(OUT)/demo >$(OUT)/demo-render.log 2>&1 \
	  || { cat $(OUT)/demo-render.log; exit 1; }
	@head -n 1 $(OUT)/demo-render.log && echo "(the files: $(OUT)/demo-render.log)"
	@# Provenance records the commit the run came from: the demo repository gets one.
	@cd $(OUT)/demo && { test -d .git || { git init -q && git add -A && \
	  git -c user.name=repro-gen -c user.email=demo@repro-gen.invalid commit -qm "Rendered by repro-gen"; }; }
	$(call say,3/4 install the training requirements (CPU builds) into $(OUT)/demo/.venv-train)
	@$(call quiet,$(MAKE) -s -C $(OUT)/demo .venv-train/.installed)
	$(call say,4/4 train locally: make -C $(OUT)/demo train-local)
	@$(MAKE) --no-print-directory -C $(OUT)/demo train-local

# The tests run in their own virtual environment, never in the system's Python: every tool they
# call (pytest, ansible-playbook, molecule, ansible-lint, mlflow, ruff, yamllint...) comes from
# its bin/, first on PATH, and `python3` in a test is that environment's too.
VENV_TEST ?= .venv-test
TEST_ENV = PATH="$(CURDIR)/$(VENV_TEST)/bin:$$PATH" VIRTUAL_ENV="$(CURDIR)/$(VENV_TEST)" \
	TESTBED_VENV="$(CURDIR)/$(VENV_TEST)" BASE_PYTHON="$(PYTHON)"
PYTEST = $(TEST_ENV) $(VENV_TEST)/bin/python -m pytest

test-env: ## Create .venv-test and install repro-gen with its test stack into it (once)
	@$(TEST_ENV) bash testbed/python.sh

testbed: ## Prepare this machine for the tests (Docker engine, images, services, .venv-test)
	@$(TEST_ENV) bash testbed/all.sh

# The slow tests mostly wait (apt, containers, servers): two workers, one test file each.
TEST_WORKERS ?= 2
# Extra pytest arguments, e.g. PYTEST_ARGS='-k lease -x'.
PYTEST_ARGS ?=

test: testbed ## Prepare the test bed, then run the whole test suite (what CI runs)
	$(PYTEST) -n $(TEST_WORKERS) --dist loadfile --durations=30 --progress $(PYTEST_ARGS)

test-fast: test-env ## The fast tier: spec, rendering, writing and matrix checks; no test bed, no Docker
	$(PYTEST) --fast -n $(TEST_WORKERS) --progress $(PYTEST_ARGS)

testbed-stop: ## Stop what the test bed started (dockerd, leftover test containers and servers)
	@bash testbed/stop.sh

lint: ## Lint the generator, the tests and tools/
	$(PYTHON) -m ruff check generator tests benchmarks tools

golden: ## Regenerate the golden trees and `make -n` outputs (review the diff before committing)
	$(PYTHON) -m tests.golden
	REPRO_GEN_UPDATE_GOLDEN=1 $(PYTHON) -m pytest -q -p no:cacheprovider tests/workflow/test_makefile.py -k golden

# Clones of the sources the fact tables are generated from (see tools/README.md).
REFERENCE ?= ../reference-repository
PROVIDER ?= ../terraform-provider-openstack

facts: ## Regenerate the hardware table and the provider schema from their sources (REFERENCE=, PROVIDER=)
	$(PYTHON) tools/refresh_hardware.py $(REFERENCE)
	$(PYTHON) tools/provider_schema_from_go.py --repo $(PROVIDER) --ref $$(sed -n "s/^TAG = '\(.*\)'/\1/p" tests/terraform/provider_schema_data.py)

bench: ## Run the quick benchmarks (site_converge.py and make_up.py need Docker: see benchmarks/)
	$(PYTHON) benchmarks/cli_speed.py
	$(PYTHON) benchmarks/provenance_overhead.py
	$(PYTHON) benchmarks/metric_logging_overhead.py

clean: ## Remove build and demo outputs (not .venv or .venv-test)
	rm -rf $(OUT) build dist .pytest_cache
