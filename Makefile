# The README's commands: make demo, make test. Everything they need is installed by
# scripts/install-deps.sh from debian-packages.txt.

PYTHON ?= /usr/bin/python3
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
BUILD  ?= build
ASAN   ?= build-asan

export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: all deps build build-asan python demo test test-c test-asan test-python test-long bench clean

all: build python

deps:
	@sh scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DGGALLOC_SANITIZE=ON -DGGALLOC_BENCH=OFF >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

python: deps
	$(PYTHON) setup.py -q build_ext --inplace

demo: build python
	$(PYTHON) -m ggalloc demo

test-c: build python
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan python
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

test-python: python
	$(PYTHON) -m pytest -q tests

test: test-c test-asan test-python

# Longer randomized runs than `make test` has time for.
test-long: build python
	GGALLOC_LONG=1 $(PYTHON) -m pytest -q tests
	cd $(BUILD) && GGALLOC_LONG=1 ctest --output-on-failure

bench: build python
	@for b in $(BUILD)/bench-*; do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN) build-py ggalloc/_ggalloc*.so ggalloc/*.c ggalloc/*.o
