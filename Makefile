# repro-gen's own tasks. `make help` lists them.
PYTHON ?= python3
# The lightest example: scikit-learn on a CPU, so the quick path takes a minute or two.
EXAMPLE ?= examples/cpu-sklearn-kvm.yaml
OUT ?= out

.DEFAULT_GOAL := help
# Everything here runs this checkout's generator, whichever repro-gen is installed.
export PYTHONPATH := $(CURDIR)/generator:$(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
.PHONY: help install demo testbed test lint golden facts bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

install: ## Install repro-gen with its test dependencies
	$(PYTHON) -m pip install -e '.[test]'

demo: ## The main job: render an example and train locally, tracked in MLflow with provenance
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet -e .
	.venv/bin/repro-gen render $(EXAMPLE) -o $(OUT)/demo
	@# Provenance records the commit the run came from: the demo repository gets one.
	cd $(OUT)/demo && { test -d .git || { git init -q && git add -A && \
	  git -c user.name=repro-gen -c user.email=demo@repro-gen.invalid commit -qm "Rendered by repro-gen"; }; }
	$(MAKE) -C $(OUT)/demo train-local

testbed: ## Prepare this machine for the tests (Docker engine, images, services, Python deps)
	bash testbed/all.sh

# The slow tests mostly wait (apt, containers, servers): two workers, one test file each.
TEST_WORKERS ?= 2

test: testbed ## Prepare the test bed, then run the whole test suite
	$(PYTHON) -m pytest -n $(TEST_WORKERS) --dist loadfile

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

clean: ## Remove build and demo outputs
	rm -rf $(OUT) build dist .pytest_cache
