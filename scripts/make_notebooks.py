#!/usr/bin/env python3
"""Writes notebooks/*.ipynb from the cells below, executed, with their outputs (figures and
tables visible without running them), and installs the Jupyter kernel they use.

    /usr/bin/python3 scripts/make_notebooks.py                  # regenerate and execute (make notebooks)
    /usr/bin/python3 scripts/make_notebooks.py --install-kernel # only the kernel

The notebooks' kernel is "ggalloc": this interpreter (the one that has numpy and the built
extension) with the repository on its path. ``--install-kernel`` writes it to the user's
Jupyter directory, so a notebook opened in Jupyter runs as written. The notebooks are
generated so that their source stays reviewable as Python; tests/test_notebooks.py executes
them again and checks the values they compute.
"""

import argparse
import json
import os
import sys
import tempfile

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def md(text):
    return new_markdown_cell(text.strip("\n"))


def code(text, tags=None):
    c = new_code_cell(text.strip("\n"))
    if tags:
        c.metadata["tags"] = list(tags)
    return c


SETUP = """
import os, sys
if os.path.isdir(os.path.join("..", "ggalloc")):
    sys.path.insert(0, os.path.abspath(".."))   # the checkout's package (after make python)
import time
import numpy as np
import matplotlib
import matplotlib.pyplot as plt
import ggalloc as gg
from ggalloc import models
from ggalloc.plot import plot_plan, plan_rows, live_bytes
%matplotlib inline
MiB = 2**20
"""

NB1 = [
    md("""
# 1. Memory plans of GPT-2 small

A ggml program builds its whole forward graph before it runs it, so the graph allocator knows
every intermediate tensor, when it is first written and when it is last read. Tensors whose
lifetimes do not overlap can share bytes. This notebook plans GPT-2 small (the built-in graph,
which mirrors ggml's `examples/gpt-2` node for node) with ggml's own planner and with ggalloc's,
and compares both with the **lower bound**: the most bytes live at any one step, which no plan
for this node order can go below.
"""),
    code(SETUP),
    md("""
## Build the graph

Weights and the KV cache live in their own context, outside the planned buffer, as in ggml's
examples; only the intermediate tensors are planned. A prompt of 64 tokens:
"""),
    code("""
m = models.gpt2_small(tokens=64)
print(m)
print(f"weights and KV cache (not planned): {m.weight_bytes / MiB:,.0f} MiB")
"""),
    md("## Plan with both planners"),
    code("""
buft = gg.host_buffer_type(32)        # CPU-like: 32-byte alignment, no max buffer size
allocs, plans, violations = {}, {}, {}
for planner in ("best", "ggml"):
    ga = gg.GraphAllocator(buft, planner=planner)
    t0 = time.perf_counter()
    ga.reserve(m.graph)
    dt = time.perf_counter() - t0
    ga.alloc_graph(m.graph)                # place the tensors, so the verifier can check them
    allocs[planner], plans[planner] = ga, ga.plan()
    violations[planner] = plans[planner].verify()
    print(f"{planner:>5}: buffer {ga.buffer_size(0):>12,} B   lower bound {ga.lower_bound(0):>12,} B   "
          f"ratio {ga.buffer_size(0) / ga.lower_bound(0):.4f}   planned in {dt * 1e3:.2f} ms   "
          f"violations {violations[planner]}")
no_reuse = sum(r["size"] for r in plan_rows(plans["best"]))
print(f"no reuse: {no_reuse:,} B ({no_reuse / allocs['best'].buffer_size(0):.1f}x the plan)")
"""),
    md("""
Each rectangle below is one tensor: it spans the steps from its first write to its last read
(x) and the bytes it occupies (y). ggml places tensors one at a time as the walk reaches them;
ggalloc plans all lifetimes at once. The logits (64 x 50257 floats, 12.3 MiB, at the last step)
dwarf everything else, so the lower row zooms into the first two of the twelve layers.
"""),
    code("""
fig, axes = plt.subplots(2, 2, figsize=(15, 9), layout="constrained")
for col, planner in enumerate(("best", "ggml")):
    plot_plan(plans[planner], ax=axes[0, col], title=f"{planner} planner", max_legend=10, inset=None)
    plot_plan(plans[planner], ax=axes[1, col], title=f"{planner} planner: the first two layers",
              max_legend=10, legend=False, inset=None)
    axes[1, col].set_xlim(0, 82)
    axes[1, col].set_ylim(0, 1.5)
plt.show()
"""),
    md("""
## The live-bytes curve

The lower panel shows how many bytes are live at each step; its highest point is the lower
bound (dashed). The plan's size (red) can only touch it.
"""),
    code("""
plot_plan(plans["best"], title="GPT-2 small, 64 tokens: ggalloc's plan")
plt.show()
"""),
    md("""
## Growth with the prompt length

The logits (`tokens x 50257` floats) grow linearly with the prompt and set the buffer's size
at every length up to the context of 1024 tokens. Inside the layers (the last column: the most
bytes in use before the logits exist) the attention scores, `tokens x (n_past + tokens)` per
head, grow quadratically and overtake the per-token activations (the fused QKV projection,
the MLP's 4 x n_embd) at a few hundred tokens.
"""),
    code("""
def sizes(model):
    out = {}
    for planner in ("best", "ggml"):
        ga = gg.GraphAllocator(buft, planner=planner)
        ga.reserve(model.graph)
        out[planner] = ga.buffer_size(0)
        out["lb"] = ga.lower_bound(0)
        if planner == "best":
            rows = plan_rows(ga.plan())
            first_logits = next(r["first"] for r in rows if r["name"] == "logits")
            out["layers"] = int(live_bytes(rows)[:first_logits].max())
    return out

by_tokens = []
for tokens in (8, 16, 32, 64, 128, 256, 512, 1024):
    s = sizes(models.gpt2_small(tokens=tokens))
    by_tokens.append([tokens, s["best"], s["ggml"], s["lb"], s["layers"]])
    print(f"{tokens:4d} tokens: best {s['best'] / MiB:8.2f} MiB   ggml {s['ggml'] / MiB:8.2f} MiB   "
          f"bound {s['lb'] / MiB:8.2f} MiB   ggml/best {s['ggml'] / s['best']:.3f}   "
          f"layers {s['layers'] / MiB:7.2f} MiB")
"""),
    code("""
by_batch = []
for batch in (1, 2, 4, 8):
    s = sizes(models.gpt2_small(tokens=32, batch=batch))
    by_batch.append([batch, s["best"], s["ggml"], s["lb"], s["layers"]])
    print(f"batch {batch}: best {s['best'] / MiB:8.2f} MiB   ggml {s['ggml'] / MiB:8.2f} MiB   "
          f"bound {s['lb'] / MiB:8.2f} MiB")

# On a log axis the three sizes lie on one line; their ratios to ggml's plan show the gap.
fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained", sharey=True)
for ax, rows, xlabel, title in ((a, by_tokens, "prompt length (tokens)", "GPT-2 small, batch 1"),
                                (b, by_batch, "batch (sequences of 32 tokens)", "GPT-2 small, 32 tokens per sequence")):
    r = np.array(rows, dtype=float)
    ax.axhline(1.0, color="0.4", ls="--", lw=1, label="ggml planner (= 1)")
    ax.plot(r[:, 0], r[:, 1] / r[:, 2], "o-", label="ggalloc (best) / ggml")
    ax.plot(r[:, 0], r[:, 3] / r[:, 2], "k:", marker=".", label="lower bound / ggml")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(xlabel); ax.set_title(title)
a.set_ylabel("buffer size / ggml planner's")
a.legend()
plt.show()
"""),
    md("""
## Which tensors set the peak

The step where the most bytes are live, and the tensors live there: these are what a smaller
buffer would have to shrink (or what a different node order would have to keep apart). For a
prompt the logits (tokens x 50257 floats) set it at the very last step; inside the layers the
peak is set by the attention scores and the MLP's 4 x n_embd activations.
"""),
    code("""
rows = plan_rows(plans["best"])
live = live_bytes(rows)

def show_peak(step):
    at = sorted((r for r in rows if r["first"] <= step <= r["last"]), key=lambda r: -r["size"])
    print(f"step {step}: {live[step]:,} B in use by {len(at)} live tensors")
    for r in at[:6]:
        print(f"  {r['size'] / MiB:8.3f} MiB  {r['op']:<13} {r['name']}  (steps {r['first']}..{r['last']})")
    return at

peak_step = int(np.argmax(live))
at_peak = show_peak(peak_step)
logits = next(r for r in rows if r["name"] == "logits")
layer_step = int(np.argmax(live[:logits["first"]]))   # before the logits exist
print()
at_layer_peak = show_peak(layer_step)
"""),
]

NB2 = [
    md("""
# 2. Planning for a device's limits

A GPU driver caps the size of one buffer (Vulkan's `maxStorageBufferRange`, often 128 MiB to
4 GiB) and wants offsets aligned (`minStorageBufferOffsetAlignment`, up to 256 bytes). ggalloc's
host buffer types take both limits, so a plan for any device can be made and inspected on any
machine: `gg.host_buffer_type(alignment, max_size)`. A buffer bigger than the max size is split
into **chunks**, each its own backend buffer; a tensor never straddles two chunks.

Here: LLaMA-7B's layer shapes (n_embd 4096, 32 heads, n_ff 11008, vocabulary 32000), a prompt
of 1024 tokens, 4 of the 32 layers (every layer has the same shapes, so the plan's peak does not
depend on how many there are), planned for a device with a 128 MiB max buffer. At 1024 tokens
one layer's attention scores (1024 x 1024 x 32 heads, f32) are exactly 128 MiB.
"""),
    code(SETUP),
    code("""
MAX = 128 * MiB
m = models.llama_7b(tokens=1024, layers=4)
print(m)
unlimited = gg.GraphAllocator(gg.host_buffer_type(32))
unlimited.reserve(m.graph)
print(f"no limit: one buffer of {unlimited.buffer_size(0) / MiB:.2f} MiB, "
      f"lower bound {unlimited.lower_bound(0) / MiB:.2f} MiB")
"""),
    md("## With a 128 MiB max buffer"),
    code("""
ga = gg.GraphAllocator(gg.host_buffer_type(32, MAX))
ga.reserve(m.graph)
ga.alloc_graph(m.graph)                    # one host buffer per chunk, as a device would get
plan = ga.plan()
rows = plan_rows(plan)
chunks = {}
for r in rows:
    c = chunks.setdefault(r["chunk"], dict(size=0, tensors=0, largest=0))
    c["size"] = max(c["size"], r["offset"] + r["size"])
    c["tensors"] += 1
    c["largest"] = max(c["largest"], r["size"])
for i in sorted(chunks):
    c = chunks[i]
    print(f"chunk {i}: {c['size'] / MiB:7.2f} MiB  ({c['tensors']} tensors, "
          f"largest {c['largest'] / MiB:.2f} MiB)")
violations = plan.verify()
print(f"total {ga.buffer_size(0) / MiB:.2f} MiB in {len(chunks)} chunks; "
      f"lower bound {ga.lower_bound(0) / MiB:.2f} MiB; violations {violations}")
"""),
    md("""
The chunks are drawn one above the other, separated by dashed lines. A chunk boundary forbids
placements that would straddle it; ggalloc plans with the chunks in view, while ggml's planner
places tensors one by one and opens a new chunk when the current one is full:
"""),
    code("""
ggml_chunked = gg.GraphAllocator(gg.host_buffer_type(32, MAX), planner="ggml")
ggml_chunked.reserve(m.graph)
print(f"ggml planner with the 128 MiB limit: {ggml_chunked.buffer_size(0) / MiB:.2f} MiB; "
      f"ggalloc: {ga.buffer_size(0) / MiB:.2f} MiB")
"""),
    code("""
plot_plan(plan, title="LLaMA-7B shapes, 1024 tokens, 4 layers, 128 MiB max buffer")
plt.show()
"""),
    md("""
## Alignment

Every tensor is rounded up to the alignment, so coarse alignments cost bytes, most of all for
graphs with many small tensors. LLaMA's tensors are large, so even 4 KiB costs little here;
the decode graph (one token) shows the effect better.
"""),
    code("""
decode = models.llama_7b(tokens=1, n_past=511, layers=4)
by_alignment = []
for alignment in (16, 32, 64, 256, 4096):
    row = [alignment]
    for model in (m, decode):
        ga_a = gg.GraphAllocator(gg.host_buffer_type(alignment, MAX))
        ga_a.reserve(model.graph)
        row += [ga_a.buffer_size(0), ga_a.lower_bound(0)]
    by_alignment.append(row)
    print(f"alignment {alignment:5d}: prefill {row[1] / MiB:9.3f} MiB (bound {row[2] / MiB:9.3f})   "
          f"decode {row[3] / 1024:9.1f} KiB (bound {row[4] / 1024:9.1f})")
"""),
]

NB3 = [
    md("""
# 3. Run and compare: CPU, Vulkan and numpy

The same GPT-2 graph (2 layers of GPT-2 small's width: n_embd 768, 12 heads; a vocabulary
of 8192 to keep the numpy side quick; 16 tokens after 8 already in the KV cache; fixed-seed
random f16 weights) is planned, placed and run on each backend available, and its logits are
compared with a float64 numpy implementation of the same forward pass. On a machine without a
GPU, Vulkan may still find a software device (llvmpipe): slow, but the same code path.
"""),
    code(SETUP),
    code("""
from ggalloc.demo import run_gpt2, nmse

def build():
    return models.gpt2(n_layer=2, n_embd=768, n_head=12, n_vocab=8192, n_ctx=256, tokens=16, n_past=8)

results_by_backend = {}
cpu = gg.CPUBackend(n_threads=2)
r_cpu = run_gpt2(build(), cpu, progress=False)
results_by_backend["CPU"] = r_cpu
print(f"CPU: NMSE {r_cpu['nmse']:.2e}, max abs error {r_cpu['max_abs_err']:.2e}, "
      f"buffer {r_cpu['buffer_size'] / MiB:.2f} MiB, {r_cpu['compute_s'] * 1e3:.1f} ms")
"""),
    code("""
vulkan_reason = None
try:
    vk = gg.VulkanBackend(0)
except gg.GgallocError as e:
    vk, vulkan_reason = None, str(e)
if vk is None:
    print(f"Vulkan: not available here ({vulkan_reason}); comparing the CPU with numpy only")
else:
    print(f"Vulkan device 0: {gg.vulkan_devices()[0]['description']}")
    r_vk = run_gpt2(build(), vk, progress=False)
    results_by_backend["Vulkan"] = r_vk
    print(f"Vulkan: NMSE {r_vk['nmse']:.2e}, max abs error {r_vk['max_abs_err']:.2e}, "
          f"buffer {r_vk['buffer_size'] / MiB:.2f} MiB, {r_vk['compute_s'] * 1e3:.1f} ms")
"""),
    md("## Side by side: the first logits of the last token"),
    code("""
ref = r_cpu["reference"]
cols = {"numpy (f64)": ref[-1, :8]}
for name, r in results_by_backend.items():
    cols[name] = r["logits"][-1, :8]
print("  ".join(f"{k:>12}" for k in cols))
for i in range(8):
    print("  ".join(f"{v[i]:12.5f}" for v in cols.values()))
print()
for name, r in results_by_backend.items():
    same = np.mean(np.argmax(r["logits"], -1) == np.argmax(ref, -1))
    print(f"{name:>7}: NMSE {r['nmse']:.2e}   max abs error {r['max_abs_err']:.2e}   "
          f"same next token as numpy at {same * 100:.0f}% of positions")
"""),
    code("""
fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
for name, r in results_by_backend.items():
    ax.hist((r["logits"] - ref).ravel(), bins=100, histtype="step", label=name)
ax.set_xlabel("logit error against numpy (backend - numpy)")
ax.set_ylabel("count")
ax.set_yscale("log")
ax.legend()
plt.show()
"""),
]


# 04: the scheduler. Kept with its outputs (written executed, see main).
NB4 = [
    md("""
# 04 · One transformer over two devices: the scheduler

`gg.Scheduler` runs one graph over several backends, as ggml's `ggml_backend_sched` does: each node
runs where its weights live (or where you put it), the graph is cut into **splits** that each run
on one backend, and the tensors a split reads from another backend are copied into its own
buffer first. Each backend's memory is **one buffer** of one graph allocator, planned by
ggml's planner or by ours.

This notebook takes a small GPT-2, keeps its weights on the Vulkan device (on a machine without
one, on a second CPU backend, so the notebook runs anywhere), and asks the CPU to run the
second layer and the head. We look at where each node runs, at each device's memory plan, and
at ggml's planner beside ours.
"""),
    code("""
import json
import collections
import numpy as np
import matplotlib.pyplot as plt
import ggalloc as gg
from ggalloc import models
%matplotlib inline

cpu = gg.CPUBackend(n_threads=2)
if gg.HAS_VULKAN and gg.vulkan_devices():
    device = gg.VulkanBackend(0)
else:
    device = gg.CPUBackend(n_threads=2)   # no Vulkan device here: a second CPU backend stands in
print("device:", device.name, "| host:", cpu.name)

m = models.gpt2(n_layer=2, n_embd=128, n_head=4, n_vocab=1000, n_ctx=64, tokens=16)
m.allocate(device)                 # the weights (and KV cache) in a WEIGHTS buffer on the device
weights = m.fill(seed=0)
inputs = m.input_values(seed=0)
g = m.graph
print(m)
"""),
    md("""
## Where each node runs

Nodes that read weights go to the device. We move everything from the first node that reads a
layer-1 weight onwards to the CPU with `set_tensor_backend`, the way a program keeps part of a
model on the host when the device is full. (Views, such as the writes into the KV cache, stay
with the memory they view.)
"""),
    code("""
first_cpu = next(i for i, n in enumerate(g.nodes)
                 if any(s is not None and s.name.startswith("model/h1/") for s in n.src))

def split(planner):
    sched = gg.Scheduler([device, cpu], planner=planner)
    for n in g.nodes[first_cpu:]:
        if n.view_src is None:          # views (the KV cache writes) stay with their memory
            sched.set_tensor_backend(n, cpu)
    sched.alloc_graph(g)
    return sched

sched = split("best")
where = [sched.tensor_backend(n) for n in g.nodes]
counts = collections.Counter(b.name for b in where)
n_splits = sched.n_splits
print(f"{g.n_nodes} nodes in {n_splits} splits:", dict(counts))

fig, ax = plt.subplots(figsize=(10, 1.6))
colour = {id(device): "tab:orange", id(cpu): "tab:blue"}
ax.bar(range(g.n_nodes), 1, width=1.0, color=[colour[id(b)] for b in where])
ax.set_yticks([]); ax.set_xlabel("node"); ax.set_xlim(0, g.n_nodes)
ax.set_title(f"orange: {device.name}, blue: {cpu.name}")
plt.show()
"""),
    md("""
## Each device's plan, ggml's planner beside ours

`sched.plan(backend)` is a `Plan` like a `GraphAllocator`'s: entries, peak, the liveness lower
bound, `verify()` and `plot()`. Steps count the nodes the scheduler planned (the graph's nodes
plus the input copies).
"""),
    code("""
rows = []
plans = {}
for planner in ("ggml", "best"):
    s = split(planner)
    for b in (device, cpu):
        p = s.plan(b)
        plans[planner, b.name] = p
        rows.append((planner, b.name, s.buffer_size(b), p.lower_bound, p.verify()))
print(f"{'planner':8} {'backend':10} {'buffer B':>10} {'lower bound B':>14} {'violations':>10}")
for r in rows:
    print(f"{r[0]:8} {r[1]:10} {r[2]:>10} {r[3]:>14} {r[4]:>10}")

fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
for ax, planner in zip(axes, ("ggml", "best")):
    plans[planner, device.name].plot(ax=ax, title=f"{device.name}, planner {planner}")
plt.show()
"""),
    md("""
## The numbers are the same

The split graph computes what the same model computes in numpy (`models.gpt2_reference`).
The plans above placed the graph again, so it is allocated once more before its inputs are set.
"""),
    code("""
sched = split("best")
m.set_inputs(inputs)
sched.compute(g)
logits = m.outputs["logits"].numpy()
ref = np.asarray(models.gpt2_reference(m.hparams, weights, inputs)[0]).reshape(logits.shape)
err = float(np.abs(logits - ref).max() / np.abs(ref).max())
print("largest difference, relative to the largest logit:", err)
"""),
    code("""
sizes = {f"{planner}/{b}": size for planner, b, size, lb, v in rows}
lbs = {f"{planner}/{b}": lb for planner, b, size, lb, v in rows}
print(json.dumps({"n_splits": n_splits, "nodes": g.n_nodes, "counts": dict(counts),
                  "first_cpu": first_cpu, "device": device.name,
                  "sizes": sizes, "lower_bounds": lbs,
                  "violations": sum(r[4] for r in rows), "rel_err": err}))
""", tags=['results']),
]


KERNEL = "ggalloc"


def kernel_spec(name=KERNEL):
    """The kernel.json of a kernel running this interpreter with the repository on its path."""
    return {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ggalloc)", "language": "python",
            "env": {"PYTHONPATH": ROOT, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}}


def install_kernel(base):
    """Writes the kernel under base/kernels/ggalloc; returns its directory."""
    path = os.path.join(base, "kernels", KERNEL)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "kernel.json"), "w") as f:
        json.dump(kernel_spec(), f, indent=1)
    return path


def user_jupyter_dir():
    return os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "jupyter")


def write(name, cells, execute=True):
    # Fixed cell ids, so that regenerating an unchanged notebook leaves its file unchanged.
    stem = name.split("-")[0]
    for i, c in enumerate(cells):
        c["id"] = f"nb{stem}-{i:02d}"
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": KERNEL, "display_name": "Python 3 (ggalloc)", "language": "python"},
        "language_info": {"name": "python"},
    })
    if execute:
        from nbclient import NotebookClient
        with tempfile.TemporaryDirectory() as base:
            install_kernel(base)
            old = os.environ.get("JUPYTER_PATH")
            os.environ["JUPYTER_PATH"] = base + (os.pathsep + old if old else "")
            os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
            try:
                NotebookClient(nb, timeout=600, kernel_name=KERNEL,
                               resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}}).execute()
            finally:
                if old is None:
                    os.environ.pop("JUPYTER_PATH", None)
                else:
                    os.environ["JUPYTER_PATH"] = old
        for c in nb.cells:
            c.metadata.pop("execution", None)
    nbformat.validate(nb)
    path = os.path.join(ROOT, "notebooks", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        nbformat.write(nb, f)
    print(f"wrote {path}")


NOTEBOOKS = {"01-memory-plans.ipynb": NB1, "02-device-limits.ipynb": NB2, "03-run-and-compare.ipynb": NB3,
             "04-scheduler.ipynb": NB4}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--install-kernel", action="store_true", help="only install the ggalloc kernel")
    ap.add_argument("--no-execute", action="store_true", help="write the notebooks without outputs")
    args = ap.parse_args()
    path = install_kernel(user_jupyter_dir())
    print(f"kernel 'Python 3 (ggalloc)' -> {sys.executable}, installed in {path}")
    if args.install_kernel:
        return
    for name, cells in NOTEBOOKS.items():
        write(name, cells, execute=not args.no_execute)


if __name__ == "__main__":
    main()
