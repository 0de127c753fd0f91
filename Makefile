# embtool: `make demo` runs the main job, `make test` runs the tests.
# Both install the two Debian packages embtool links against when they are missing.

SWIFT ?= swift
RELEASE_FLAGS = -c release -Xswiftc -enable-testing
EMBTOOL = .build/release/embtool
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build test demo exports clean

deps:
	@if ! dpkg -s liblapacke-dev libopenblas-dev >/dev/null 2>&1; then \
		echo "installing liblapacke-dev libopenblas-dev"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq liblapacke-dev libopenblas-dev; \
	fi

build: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product embtool

# Tests run on an optimised build: training tests would take minutes unoptimised.
test: deps
	$(SWIFT) build $(RELEASE_FLAGS) --build-tests
	$(SWIFT) test $(RELEASE_FLAGS) --skip-build --disable-swift-testing

# The main job: fetch MovieLens 100k, train fastbook's model, interpret it, write exports/.
demo: build
	$(EMBTOOL) fetch ml-100k
	$(EMBTOOL) train --svg exports/loss.svg
	$(EMBTOOL) bias --csv exports/bias.csv --svg exports/bias.svg
	$(EMBTOOL) pca --svg exports/pca.svg
	$(EMBTOOL) umap --svg exports/umap.svg --color genre
	$(EMBTOOL) similar "Star Wars" --csv exports/similar-star-wars.csv

# Regenerates every file under exports/ (the same run as the demo).
exports: demo

clean:
	rm -rf .build
