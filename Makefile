# embtool: `make demo` runs the main job, `make test` runs the tests.
# Both install the two Debian packages embtool links against when they are missing.

SWIFT ?= swift
RELEASE_FLAGS = -c release -Xswiftc -enable-testing
EMBTOOL = .build/release/embtool
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# The browser tests' Python (Playwright, pytest), kept inside .build/.
BROWSER_VENV = .build/browser-venv
PYTHON ?= python3

.PHONY: deps build test fuzz-smoke browser-deps browser-test python-test demo exports explorer-screenshots clean

deps:
	@if ! dpkg -s liblapacke-dev libopenblas-dev >/dev/null 2>&1; then \
		echo "installing liblapacke-dev libopenblas-dev"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq liblapacke-dev libopenblas-dev; \
	fi

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product embtool

# Tests run on an optimised build: training tests would take minutes unoptimised.
# Then the explorer page's tests in a real browser (Tests/browser), the command
# line against NumPy (Tests/python), and a few seconds of every parser's fuzz target.
# The tests' synthetic dataset in ml-100k's layout: invented, generated (deterministic), not committed.
SYNTHETIC = Tests/fixtures/ml100k-synthetic/facts.json
$(SYNTHETIC): Tests/fixtures/make_synthetic_ml100k.py
	$(PYTHON) Tests/fixtures/make_synthetic_ml100k.py

test: deps $(SYNTHETIC)
	$(SWIFT) build $(RELEASE_FLAGS) --build-tests
	$(SWIFT) test $(RELEASE_FLAGS) --skip-build --disable-swift-testing
	$(MAKE) --no-print-directory browser-test
	$(MAKE) --no-print-directory python-test
	$(MAKE) --no-print-directory fuzz-smoke

# FUZZ_SECONDS of each fuzz target (3-4.5 minutes in all on 2 shared cores, most of it
# compiling): fails on any crash, leak or disagreement of the two ratings paths.
# The full campaign is fuzz/run (RUNS=... executions per target).
FUZZ_SECONDS ?= 3
fuzz-smoke: $(SYNTHETIC)
	SECONDS_EACH=$(FUZZ_SECONDS) fuzz/run

# Debian's chromium (Playwright drives it; it downloads no browser) and a virtualenv with Playwright, pytest and NumPy.
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "installing chromium"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; \
	fi
	@if [ ! -x $(BROWSER_VENV)/bin/pytest ] || ! $(BROWSER_VENV)/bin/python -c "import playwright, numpy" 2>/dev/null; then \
		echo "installing playwright, pytest and numpy into $(BROWSER_VENV)"; \
		$(PYTHON) -m venv $(BROWSER_VENV) 2>/dev/null || { \
			$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv && \
			rm -rf $(BROWSER_VENV) && $(PYTHON) -m venv $(BROWSER_VENV); }; \
		$(BROWSER_VENV)/bin/pip install -q --disable-pip-version-check playwright pytest numpy; \
	fi

browser-test: build browser-deps
	$(BROWSER_VENV)/bin/python -m pytest Tests/browser -q -p no:cacheprovider

# The commands' numbers recomputed with NumPy from what they export (same virtualenv).
python-test: build browser-deps $(SYNTHETIC)
	$(BROWSER_VENV)/bin/python -m pytest Tests/python -q -p no:cacheprovider

# The main job: fetch MovieLens 100k, train fastbook's model, interpret it, write exports/.
demo: build
	$(EMBTOOL) fetch ml-100k
	$(EMBTOOL) train --svg exports/loss.svg
	$(EMBTOOL) bias --csv exports/bias.csv --svg exports/bias.svg
	$(EMBTOOL) pca --svg exports/pca.svg
	$(EMBTOOL) umap --svg exports/umap.svg --color genre
	$(EMBTOOL) tsne --svg exports/tsne.svg --color genre
	$(EMBTOOL) similar "Star Wars" --csv exports/similar-star-wars.csv
	$(EMBTOOL) explore -o exports/explorer.html

# Regenerates every file under exports/ (the same run as the demo).
exports: demo

# Screenshots of the demo's explorer page: exports/explorer.png (committed) and explorer-*.png (not).
explorer-screenshots: browser-deps
	[ -f exports/explorer.html ] || $(MAKE) --no-print-directory demo
	$(BROWSER_VENV)/bin/python scripts/explorer_screenshots exports/explorer.html exports

clean:
	rm -rf .build
