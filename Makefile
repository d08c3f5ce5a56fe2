# sbs.postfix: set-up, tests and demo. See README.md and docs/development.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CACHE := .cache
# Collections path where `sbs.postfix` resolves to this checkout (a symlink, so edits are live).
COLLECTIONS := $(CACHE)/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/sbs/postfix
# Podman reads the project's own containers.conf (runc runtime, ulimits this host can grant).
export CONTAINERS_CONF := $(CURDIR)/$(CACHE)/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/$(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)
SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))

.PHONY: help preflight venv testbed collection-link test unit lint sanity package molecule demo build clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/.installed: requirements-dev.txt
	@scripts/require-host-tools
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed  ## Create the Python virtual environment (only when requirements changed)

collection-link:
	@mkdir -p $(dir $(COLLECTION_LINK))
	@ln -sfn $(CURDIR) $(COLLECTION_LINK)

testbed: venv  ## Install podman/runc/debootstrap if missing and build the base images (cached)
	scripts/testbed

unit: venv collection-link  ## Unit tests (pytest)
	$(BIN)/pytest tests/unit

lint: venv collection-link  ## yamllint, ruff check/format, ansible-lint (profile production)
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint

sanity: venv  ## ansible-test sanity on a copy placed at ansible_collections/sbs/postfix
	scripts/sanity

package: venv  ## Build the tarball, check its files, install it offline into an empty path, syntax-check site.yml
	tests/packaging/run

molecule: testbed collection-link  ## Every Molecule scenario (SCENARIOS="a b" to choose)
	scripts/molecule-all $(SCENARIOS)

.PHONY: report-check
report-check: venv collection-link  ## Open the report of the fixtures in headless Chromium (installs chromium if missing); screenshots in tests/output/report
	@scripts/require-host-tools --report-check
	$(BIN)/python tests/report/browser_check.py

preflight:
	@scripts/testbed --preflight

test: preflight unit lint sanity package report-check molecule  ## Everything CI runs

demo: testbed collection-link  ## Start the sbs-demo container and run the main playbook on it
	scripts/demo

build: venv  ## Build the collection tarball
	$(BIN)/ansible-galaxy collection build --force --output-path $(CACHE)/dist .

clean:  ## Remove the virtual environment and caches (images stay; see scripts/testbed --purge)
	rm -rf $(VENV) $(CACHE) .pytest_cache .ruff_cache tests/output
