#!/usr/bin/env python3
"""Writes and executes notebooks/05-gguf-plans.ipynb (outputs kept): a real model's memory
planned from its GGUF metadata across context lengths and devices.

Run after editing a cell: /usr/bin/python3 scripts/make_gguf_notebook.py
tests/test_gguf_notebook.py executes the notebook again and checks the values of its last cell
(tagged "results")."""

import json
import os
import sys
import tempfile

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "notebooks", "05-gguf-plans.ipynb")


def md(text):
    return new_markdown_cell(text.strip("\n"))


def code(text, tags=None):
    c = new_code_cell(text.strip("\n"))
    if tags:
        c.metadata["tags"] = list(tags)
    return c


CELLS = [
    md("""
# 5. Will it fit? A model's memory from its GGUF file

The question asked before any other: *will this model run on my machine, at this context
length?* The model is a GGUF file, and its metadata is enough to answer: the tensor records
give the weights' types and sizes, the hyperparameters give the KV cache, and the forward graph
the file describes, planned by the graph allocator, gives the compute buffer.

The file here is the metadata of LLaMA-7B (32 layers, n_embd 4096, a 32,000-token vocabulary,
291 tensor records in f16 and f32) without its 12.5 GiB of weights: planning never reads them.
"""),
    code("""
import json, os
import numpy as np
import matplotlib.pyplot as plt
import ggalloc as gg
from ggalloc import gguf_models
%matplotlib inline
GiB = 2**30
PATH = os.path.join("..", "tests", "data", "gguf", "llama-7b-meta.gguf")
f = gg.GGUF(PATH)
print(f)
print({k: v for k, v in f.metadata.items() if k.startswith("llama.")})
print("tensor data in the file:", f.has_data, "| described:", f.data_size / GiB, "GiB")
"""),
    md("""
## The weights, by type

Every tensor record names its type; the bytes are the file's own (with ggml's block sizes for
quantized types). `--wtype` counts the matrices as another type, as if the file were converted.
"""),
    code("""
for t, (n, b) in f.weight_bytes().items():
    print(f"{t:5s} {n:4d} tensors {b / GiB:8.3f} GiB")
for wt in ("q8_0", "q4_0"):
    p = gg.plan_model(f, ctx=512, batch=512, wtype=wt)
    print(f"as {wt}: {p.weight_bytes / GiB:.3f} GiB")
"""),
    md("""
## Across context lengths

The plan for a context of `ctx` tokens is the worst step llama.cpp reserves for: a batch of 512
new tokens attending over the whole context. The KV cache grows linearly with the context; the
compute buffer too, through the attention scores (512 queries x ctx keys x 32 heads).
"""),
    code("""
ctxs = [512, 1024, 2048, 4096, 8192, 16384]
plans = [gg.plan_model(f, ctx=c, batch=512) for c in ctxs]
for p in plans:
    print(f"ctx {p.ctx:6d}: weights {p.weight_bytes / GiB:6.2f}  KV {p.kv_cache_bytes / GiB:6.2f}  "
          f"compute best {p.compute['best'] / GiB:6.3f} ggml {p.compute['ggml'] / GiB:6.3f} "
          f"(bound {p.lower_bound / GiB:6.3f})  total {p.total_bytes / GiB:6.2f} GiB")
"""),
    code("""
w = np.array([p.weight_bytes for p in plans]) / GiB
kv = np.array([p.kv_cache_bytes for p in plans]) / GiB
cb = np.array([p.compute["best"] for p in plans]) / GiB
x = np.arange(len(ctxs))
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.bar(x, w, label="weights (f16)")
ax.bar(x, kv, bottom=w, label="KV cache (f16)")
ax.bar(x, cb, bottom=w + kv, label="compute buffer")
devices = {"8 GiB GPU": 8, "16 GiB GPU": 16, "24 GiB GPU": 24,
           "this machine": plans[0].device_memory / GiB}
for (name, mem), style in zip(devices.items(), ["--", "-.", ":", "-"]):
    ax.axhline(mem, color="k", ls=style, lw=1)
    ax.text(len(ctxs) - 0.45, mem, f" {name}", va="center", fontsize=8)
ax.set_xticks(x, [str(c) for c in ctxs]); ax.set_xlabel("context length (tokens)")
ax.set_ylabel("GiB"); ax.set_title("LLaMA-7B (f16) planned from its GGUF metadata, batch 512")
ax.legend(loc="upper left"); plt.tight_layout(); plt.show()
"""),
    md("""
## Which device, which context?

The longest context of the list that fits each device's memory, with the weights as stored
(f16) and counted as q4_0. A device is the CPU's memory here (and each Vulkan device, when
there is one), plus three common GPU sizes.
"""),
    code("""
def longest_fit(mem, wtype=None):
    best = None
    for c in ctxs:
        p = gg.plan_model(f, ctx=c, batch=512, wtype=wtype)
        if p.total_bytes <= mem:
            best = c
    return best

rows = []
for name, mem in devices.items():
    rows.append((name, mem, longest_fit(mem * GiB), longest_fit(mem * GiB, "q4_0")))
for vk in gg.vulkan_devices():
    mem = vk["memory_total"] / GiB
    rows.append((f"vulkan:{vk['index']}", mem, longest_fit(mem * GiB), longest_fit(mem * GiB, "q4_0")))
for name, mem, f16, q4 in rows:
    print(f"{name:14s} {mem:6.1f} GiB   f16: {f16 or '-':>6}   q4_0: {q4 or '-':>6}")
"""),
    code("""
q4 = [gg.plan_model(f, ctx=c, batch=512, wtype="q4_0") for c in ctxs]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(ctxs, [p.total_bytes / GiB for p in plans], "o-", label="f16 weights")
ax.plot(ctxs, [p.total_bytes / GiB for p in q4], "s-", label="q4_0 weights")
for name, mem in devices.items():
    ax.axhline(mem, color="gray", lw=0.8, ls=":")
ax.set_xscale("log", base=2); ax.set_xlabel("context length"); ax.set_ylabel("total GiB")
ax.set_title("LLaMA-7B: total memory against context"); ax.legend(); plt.tight_layout(); plt.show()
"""),
    code("""
results = dict(
    ctxs=ctxs,
    weight_bytes=[p.weight_bytes for p in plans],
    kv_cache_bytes=[p.kv_cache_bytes for p in plans],
    compute_best=[p.compute["best"] for p in plans],
    compute_ggml=[p.compute["ggml"] for p in plans],
    lower_bound=[p.lower_bound for p in plans],
    total=[p.total_bytes for p in plans],
    q4_0_weight_bytes=q4[0].weight_bytes,
    fits=[[name, f16, q] for name, _, f16, q in rows],
)
print(json.dumps(results))
""", tags=["results"]),
]


def main():
    for i, c in enumerate(CELLS):
        c["id"] = f"nb05-{i:02d}"
    nb = new_notebook(cells=CELLS, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(nb)
    # a kernel of this interpreter with the repository on its path, whatever "python3" is here
    with tempfile.TemporaryDirectory() as base:
        spec = os.path.join(base, "kernels", "ggalloc-nb")
        os.makedirs(spec)
        with open(os.path.join(spec, "kernel.json"), "w") as fh:
            json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                       "display_name": "Python 3", "language": "python",
                       "env": {"PYTHONPATH": ROOT, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}}, fh)
        os.environ["JUPYTER_PATH"] = base + os.pathsep + os.environ.get("JUPYTER_PATH", "")
        NotebookClient(nb, timeout=600, kernel_name="ggalloc-nb",
                       resources={"metadata": {"path": os.path.dirname(PATH)}}).execute()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with open(PATH, "w") as fh:
        nbformat.write(nb, fh)
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
