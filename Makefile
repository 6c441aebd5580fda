# The README's commands: make demo, make test. Everything they need is installed by
# scripts/install-deps.sh from debian-packages.txt.

PYTHON ?= /usr/bin/python3
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)
BUILD  ?= build
ASAN   ?= build-asan
FUZZ   ?= build-fuzz
# inputs each libFuzzer target runs in `make fuzz`
FUZZ_RUNS ?= 1000000

export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: all deps build build-asan python demo test test-c test-asan test-python test-long bench fuzz clean

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

test-c: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: build-asan
	cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j $(JOBS)

test-python: python
	$(PYTHON) -m pytest -q tests

test: test-c test-asan test-python

# Longer randomized runs than `make test` has time for.
test-long: build python
	GGALLOC_LONG=1 $(PYTHON) -m pytest -q tests
	cd $(BUILD) && GGALLOC_LONG=1 ctest --output-on-failure

# libFuzzer targets (clang, ASan+UBSan) over the tensor core the GGUF reader sits on (no
# backends), seeded with the test files; findings are written to $(FUZZ)/.
FUZZ_SOURCES = csrc/src/gguf.c csrc/src/ggml.c csrc/src/types.c csrc/src/ops.c csrc/src/graph.c $(wildcard csrc/src/quants*.c)
FUZZ_CFLAGS = -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Icsrc/include -Icsrc/src -Icsrc/tests

fuzz: deps
	mkdir -p $(FUZZ)/corpus-gguf
	clang $(FUZZ_CFLAGS) csrc/fuzz/fuzz-gguf.c $(FUZZ_SOURCES) -lm -lpthread -o $(FUZZ)/fuzz-gguf
	cd $(FUZZ) && ./fuzz-gguf -runs=$(FUZZ_RUNS) -max_len=65536 -print_final_stats=1 corpus-gguf ../tests/data/gguf

bench: build python
	@for b in $(BUILD)/bench-*; do echo "== $$b"; $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ) build-py ggalloc/_ggalloc*.so ggalloc/*.c ggalloc/*.o
