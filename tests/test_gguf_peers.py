"""ggml's example programs that read GGUF files (magika, yolo) compile against our headers as
far as gguf.h goes: whatever still stops them is not the GGUF API. They are another project's
programs, compiled from ../shared/peers (never copied here); the test skips without them."""

import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.environ.get("GGALLOC_PEERS", os.path.join(ROOT, "..", "shared", "peers"))
EXAMPLES = os.path.join(PEERS, "ggml-programs", "examples")


@pytest.mark.parametrize("program", ["magika/main.cpp", "yolo/yolov3-tiny.cpp"])
def test_gguf_examples_get_past_gguf(program):
    src = os.path.join(EXAMPLES, program)
    if not os.path.exists(src):
        pytest.skip(f"ggml's example programs are not at {EXAMPLES} (set GGALLOC_PEERS)")
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    r = subprocess.run([cxx, "-std=c++17", "-fsyntax-only", "-I", os.path.join(ROOT, "csrc", "include"),
                        "-I", EXAMPLES, "-I", os.path.dirname(src), src],
                       capture_output=True, text=True, timeout=300)
    errors = [ln for ln in r.stderr.splitlines() if "error:" in ln]
    # the program uses the GGUF API ...
    assert "gguf_init_from_file" in open(src).read()
    # ... and no error is about it: what remains are ops and APIs other parts of ggml provide
    assert not [e for e in errors if re.search(r"gguf", e.split("error:", 1)[1])], errors
