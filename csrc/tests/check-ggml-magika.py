#!/usr/bin/env python3
"""ggml's magika example (examples/magika/main.cpp), compiled unchanged against ggalloc, run on a
model file in its GGUF layout with random weights, classifying a few files in one batch.

The program prints, per file, the five most likely content types with their probabilities;
they must be what a float64 numpy forward pass of the same network on the same weights gives.
The weights' seed was chosen so that neighbouring probabilities in each top five are further
apart than the computation's own rounding (ggml's GELU works in half precision), and the check
asserts that margin before it compares the order.

    check-ggml-magika.py BIN_DIR     (BIN_DIR holds ggml-magika; exit 77: skipped)
"""

import math
import os
import re
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("skipped: numpy is not available to this python")
    sys.exit(77)

N_LABEL, BEG, MID, END, PAD = 113, 512, 512, 512, 256
EPS = 0.001
GGML_TYPE_F32 = 0
ALIGN = 32


def weights(seed=3):
    """name -> float32 array in numpy order (the reverse of ggml's ne)."""
    rng = np.random.default_rng(seed)

    def n(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape)).astype(np.float32)

    return {
        "dense/kernel:0": n(128, 257),
        "dense/bias:0": n(128, scale=0.1),
        "layer_normalization/gamma:0": 1 + n(384, scale=0.1),
        "layer_normalization/beta:0": n(384, scale=0.1),
        "dense_1/kernel:0": n(256, 512, scale=1 / math.sqrt(512)),
        "dense_1/bias:0": n(256, scale=0.1),
        "dense_2/kernel:0": n(256, 256, scale=1 / math.sqrt(256)),
        "dense_2/bias:0": n(256, scale=0.1),
        "layer_normalization_1/gamma:0": 1 + n(256, scale=0.1),
        "layer_normalization_1/beta:0": n(256, scale=0.1),
        "target_label/kernel:0": n(N_LABEL, 256, scale=2 / math.sqrt(256)),
        "target_label/bias:0": n(N_LABEL, scale=0.5),
    }


def write_gguf(path, tensors):
    """A GGUF v3 file with no key-value pairs and f32 tensors, as ggml's writer lays it out."""
    def string(s):
        b = s.encode()
        return struct.pack("<Q", len(b)) + b

    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 0)
    data = b""
    for name, arr in tensors.items():
        ne = arr.shape[::-1]
        head += string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        head += struct.pack("<IQ", GGML_TYPE_F32, len(data))
        blob = arr.astype("<f4").tobytes()
        data += blob + b"\0" * (-len(blob) % ALIGN)
    head += b"\0" * (-len(head) % ALIGN)
    with open(path, "wb") as f:
        f.write(head + data)


def tokens(content):
    """The program's 1536 byte tokens: the first, middle and last 512 bytes, padded with 256."""
    buf = [PAD] * (BEG + MID + END)
    size = len(content)
    beg = content[:BEG]
    buf[:len(beg)] = beg
    mid_offs = max(0, (size - MID) // 2)
    mid = content[mid_offs:mid_offs + MID]
    start = BEG + MID // 2 - len(mid) // 2
    buf[start:start + len(mid)] = mid
    end = content[max(0, size - END):]
    buf[BEG + MID + END - len(end):] = end
    return buf


def gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def norm(x, g, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + EPS) * g + b


def forward(w, contents):
    """The network of examples/magika/main.cpp in numpy order, float64."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    x = np.zeros((len(contents), BEG + MID + END, 257))
    for i, c in enumerate(contents):
        x[i, np.arange(x.shape[1]), tokens(c)] = 1.0
    cur = gelu(x @ w["dense/kernel:0"].T + w["dense/bias:0"])                  # (n, 1536, 128)
    cur = cur.reshape(len(contents), 384, 512).transpose(0, 2, 1)              # ne [384, 512, n]
    cur = norm(cur, w["layer_normalization/gamma:0"], w["layer_normalization/beta:0"])
    cur = cur.transpose(0, 2, 1)                                               # ne [512, 384, n]
    cur = gelu(cur @ w["dense_1/kernel:0"].T + w["dense_1/bias:0"])
    cur = gelu(cur @ w["dense_2/kernel:0"].T + w["dense_2/bias:0"])            # (n, 384, 256)
    cur = cur.max(axis=1)                                                      # max pool over 384
    cur = norm(cur, w["layer_normalization_1/gamma:0"], w["layer_normalization_1/beta:0"])
    logits = cur @ w["target_label/kernel:0"].T + w["target_label/bias:0"]
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def labels(source):
    """The program's label table, read from its source so the two cannot differ."""
    text = open(source).read()
    table = re.search(r"magika_labels\[\]\s*=\s*\{(.*?)\};", text, re.S).group(1)
    return re.findall(r'"([^"]*)"', table)


def main():
    bin_dir = sys.argv[1]
    prog = os.path.join(bin_dir, "ggml-magika")
    source = os.environ.get("GGALLOC_MAGIKA_SOURCE", "")
    if not os.path.exists(prog) or not os.path.exists(source):
        print(f"skipped: {prog} was not built (ggml's examples/magika/main.cpp is absent)")
        return 77
    names = labels(source)
    assert len(names) == N_LABEL, len(names)
    rng = np.random.default_rng(1)
    contents = [
        b"#include <stdio.h>\nint main(void) { return 0; }\n",         # shorter than one part
        bytes(rng.integers(0, 256, 5000, dtype=np.uint8)),               # longer than all three
        (b"name,size\n" + b"".join(b"f%d,%d\n" % (i, i * 7) for i in range(120))),  # 1.3 kB
    ]
    w = weights()
    probs = forward(w, contents)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "magika.gguf")
        write_gguf(model, w)
        files = []
        for i, c in enumerate(contents):
            files.append(os.path.join(tmp, f"file{i}"))
            with open(files[-1], "wb") as f:
                f.write(c)
        run = subprocess.run([prog, model] + files, capture_output=True, text=True, timeout=300)
    if run.returncode != 0:
        print(run.stdout, run.stderr)
        print(f"FAILED: ggml-magika exited with {run.returncode}")
        return 1
    lines = [ln for ln in run.stdout.splitlines() if re.match(r"\S.*: ", ln)]
    assert len(lines) == len(contents), run.stdout
    for i, line in enumerate(lines):
        assert line.startswith(files[i]), (line, files[i])
        got = re.findall(r"(\S+) \((\d+\.\d+)%\)", line.split(": ", 1)[1])
        order = np.argsort(-probs[i], kind="stable")[:5]
        gaps = np.diff(-probs[i][order]) * 100
        assert gaps.min() > 0.05, f"file {i}: top five too close to compare ({gaps})"
        want = [(names[j], probs[i][j] * 100) for j in order]
        assert [g[0] for g in got] == [n for n, _ in want], f"file {i}: {got} != {want}"
        for (label, pct), (_, ref) in zip(got, want):
            assert abs(float(pct) - ref) <= 0.02 + 0.002 * ref, f"file {i} {label}: {pct}% != {ref:.4f}%"
        print(f"file {i}: " + ", ".join(f"{n} {p:.2f}%" for n, p in want) + " as numpy")
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
