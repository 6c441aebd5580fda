# The README's commands: make demo, make test. Everything they need is installed by
# scripts/install-deps.sh from debian-packages.txt.

PYTHON ?= /usr/bin/python3
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
BUILD  ?= build
ASAN   ?= build-asan
FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 0

export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
MAKEFLAGS += --no-print-directory

.PHONY: all deps build build-asan python demo notebooks test test-c test-asan test-python test-long bench fuzz clean

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
	@echo "Python: $(PYTHON) (Debian's interpreter, which has numpy and cffi; set PYTHON= for another)"
	@$(PYTHON) setup.py -q build_ext --inplace

# The demo needs only the Python extension (the C library's sources compiled into it).
demo: python
	@$(PYTHON) -m ggalloc demo

# Installs the notebooks' Jupyter kernel ("Python 3 (ggalloc)": this interpreter, this checkout)
# and executes the notebooks again, keeping their outputs.
notebooks: python
	@$(PYTHON) scripts/make_notebooks.py

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

# libFuzzer targets (csrc/fuzz/fuzz-*.c: bare lifetimes, GGUF files, graph documents), built
# with clang, ASan and UBSan, all three at once, until stopped (Ctrl-C) or for FUZZ_SECONDS
# each; a finding leaves its input in the working directory.
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=Debug -DGGALLOC_FUZZ=ON -DGGALLOC_TESTS=OFF \
		-DGGALLOC_BENCH=OFF -DGGALLOC_VULKAN=OFF >/dev/null
	cmake --build $(FUZZ) -j $(JOBS) --target fuzz-all
	@mkdir -p $(FUZZ)/corpus-intervals $(FUZZ)/corpus-gguf $(FUZZ)/corpus-graph-json
	$(FUZZ)/fuzz-intervals -max_total_time=$(FUZZ_SECONDS) $(FUZZ)/corpus-intervals & \
	$(FUZZ)/fuzz-gguf -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(FUZZ)/corpus-gguf tests/data/gguf & \
	$(FUZZ)/fuzz-graph-json -max_total_time=$(FUZZ_SECONDS) -max_len=262144 $(FUZZ)/corpus-graph-json tests/data/graphs & \
	wait

bench: build python
	@for b in $(BUILD)/bench-*; do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) build-py ggalloc/_ggalloc*.so ggalloc/*.c ggalloc/*.o
