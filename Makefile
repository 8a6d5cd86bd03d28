# Filter Lab. `make run` sets up and starts the dev server; `make test` sets up and runs every
# test. Both work from a fresh clone on Debian with Python >= 3.11, Node >= 20 and apt.

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)
CHROMIUM ?= /usr/bin/chromium

.PHONY: run test build bench provision corpus deps-node deps-python chromium preview clean

run: provision
	@echo "Filter Lab dev server: http://localhost:5173/"
	npx vite --port 5173 --strictPort

test: deps-python chromium build corpus
	$(VPY) -m pytest

build: provision
	npx vite build

preview: build
	npx vite preview --port 4173 --strictPort

bench: deps-python
	$(VPY) scripts/bench_reference.py

# Pyodide core from npm, NumPy and Pillow wheels from cache, CDN or PyPI; all sha256-checked.
provision: deps-node $(VENV)/.base
	$(VPY) scripts/provision_pyodide.py

# Pillow's own test images (its sdist's Tests/images/), once, into the cache: the decoder corpus.
corpus: $(VENV)/.base
	$(VPY) scripts/fetch_pillow_corpus.py

deps-node: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# A bare virtual environment (pip only) is enough for provisioning; tests add their pins.
$(VENV)/.base:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python >= 3.11 is required"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "python3 -m venv failed; installing Debian's python3-venv"; \
	  rm -rf $(VENV); $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	@touch $@

deps-python: $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt $(VENV)/.base
	$(VPY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

# The browser tests use Debian's Chromium (Playwright cannot download browsers offline).
chromium:
	@if [ -x "$(CHROMIUM)" ] || [ -n "$$FILTERLAB_CHROMIUM" ]; then :; \
	elif command -v apt-get >/dev/null; then \
	  echo "installing Debian's chromium"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "Chromium not found at $(CHROMIUM); set FILTERLAB_CHROMIUM to a Chromium binary"; exit 1; fi

clean:
	rm -rf dist public/pyodide node_modules/.installed
