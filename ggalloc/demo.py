"""``make demo`` (``python3 -m ggalloc demo``): GPT-2 small, planned, run and checked.

1. Builds the built-in GPT-2 small graph (12 layers, n_embd 768, 12 heads, vocabulary 50257,
   f16 2-D weights as in the released model) for a prompt of 32 tokens with an empty KV cache.
2. Plans it with ggalloc's planner and with ggml's, and prints the plan report: buffer size,
   lower bound, ggml planner's size, size without reuse, planning time.
3. Gives the weights memory on the CPU backend and fills them with fixed-seed random values,
   places the graph with the graph allocator, runs the forward pass.
4. Runs the same forward pass in numpy (float64) on the same weights and compares the logits:
   prints the largest absolute error and the normalized mean squared error, and PASS or FAIL
   (exit status 1 on FAIL).
5. Where a Vulkan device exists (a GPU, or Mesa's lavapipe on the CPU), runs the same forward
   pass there, with the plan made for the device's own limits, and compares it with numpy too.
6. With ``--plot FILE.png``, draws the plan there (nothing is written unasked).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Dict, Optional

import numpy as np

__all__ = ["main", "run_gpt2", "NMSE_LIMIT"]

# The reference uses the same (f16-rounded) weights in float64. Kernels that round activations
# to f16 for the dot products, as ggml's do, leave errors of about 1e-6 of the logits' energy;
# a wrong result (a mask, a stride, a cache offset) is of order 1.
NMSE_LIMIT = 1e-5


def _bar(total: int, desc: str, unit: str = "it") -> Any:
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                disable=None if os.environ.get("GGALLOC_PROGRESS") is None  # type: ignore[arg-type]
                else os.environ["GGALLOC_PROGRESS"] == "0")


def nmse(out: Any, ref: Any) -> float:
    """Normalized mean squared error: sum (out - ref)^2 / sum ref^2."""
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    den = float(np.sum(ref * ref))
    return float(np.sum((out - ref) ** 2)) / den if den else float(np.sum((out - ref) ** 2))


def run_gpt2(model: Any, backend: Any, seed: int = 0, planner: str = "best", progress: bool = True,
             reference: Optional[Any] = None) -> Dict[str, Any]:
    """Runs a built gpt2 model on a backend with fixed-seed random weights and checks it
    against :func:`ggalloc.models.gpt2_reference` (or against ``reference``, logits computed
    earlier for the same model, seed and weights).

    Returns a dict: logits, reference, max_abs_err, nmse, compute_s, reference_s, weights (the
    values used), buffer_size, violations (pairs of live tensors sharing bytes in the placed
    graph: 0 for a valid plan).
    """
    import ggalloc as gg
    from .models import gpt2_reference

    model.allocate(backend)
    names = list(model.weights) + list(model.cache)
    values = model.weight_values(seed)
    bar = _bar(len(names), "weights", "tensor") if progress else None
    for name in names:
        t = model.weights.get(name)
        if t is None:
            t = model.cache[name]
        t.set(values[name])
        if gg.type_info(t.type).is_quantized:
            values[name] = t.numpy()  # the reference computes with what the blocks hold
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()

    galloc = gg.GraphAllocator(backend.buffer_type, planner=planner)
    galloc.alloc_graph(model.graph)
    inputs = model.input_values(seed)
    model.set_inputs(inputs)
    t0 = time.perf_counter()
    backend.compute(model.graph)
    compute_s = time.perf_counter() - t0
    logits = model.outputs["logits"].numpy()
    violations = int(galloc.plan().verify())

    if reference is not None:
        ref, reference_s = reference, 0.0
    else:
        bar = _bar(model.hparams["n_layer"], "numpy reference", "layer") if progress else None
        t0 = time.perf_counter()
        ref, _, _ = gpt2_reference(model.hparams, values, inputs,
                                   progress=(lambda: bar.update()) if bar is not None else None)
        reference_s = time.perf_counter() - t0
        if bar is not None:
            bar.close()
    return dict(logits=logits, reference=ref,
                max_abs_err=float(np.max(np.abs(logits.astype(np.float64) - ref))),
                nmse=nmse(logits, ref), compute_s=compute_s, reference_s=reference_s,
                weights=values, inputs=inputs, buffer_size=int(galloc.buffer_size(0)),
                violations=violations)


def main(tokens: Optional[int] = None, layers: Optional[int] = None, threads: Optional[int] = None,
         plot: Optional[str] = None, seed: int = 0, wtype: Optional[str] = None) -> int:
    import ggalloc as gg
    from . import models
    from .report import format_report, plan_graph

    tokens = 32 if tokens is None else tokens
    layers = 12 if layers is None else layers
    threads = threads or os.cpu_count() or 1
    t_start = time.perf_counter()
    wtype = wtype or "f16"
    print(f"ggalloc demo: GPT-2 small ({layers} layers, n_embd 768, 12 heads, vocabulary 50257, "
          f"{wtype} weights), a prompt of {tokens} tokens, empty KV cache, random weights (seed {seed})")
    print()

    model = models.gpt2_small(tokens=tokens, layers=layers, wtype=wtype)
    rep = plan_graph(model.graph, name=f"gpt2-small, {tokens} tokens", planner="best",
                     alignment=32, progress=None,
                     extra=dict(weight_bytes=int(model.weight_bytes)))
    print(format_report(rep, top=5))
    print()

    backend = gg.CPUBackend(n_threads=threads)
    print(f"running the forward pass on the CPU backend ({threads} threads) ...")
    r = run_gpt2(model, backend, seed=seed)
    n_tok = tokens
    print(f"  compute        {r['compute_s'] * 1e3:9.1f} ms  ({n_tok / r['compute_s']:.0f} tokens/s)")
    print(f"  numpy (f64)    {r['reference_s'] * 1e3:9.1f} ms")
    print(f"  logits         {r['logits'].shape[0]} x {r['logits'].shape[1]}, "
          f"|max| {float(np.abs(r['reference']).max()):.3f}")
    print(f"  max abs error  {r['max_abs_err']:.3e}")
    print(f"  NMSE           {r['nmse']:.3e}  (limit {NMSE_LIMIT:.0e})")
    agree = float(np.mean(np.argmax(r["logits"], axis=-1) == np.argmax(r["reference"], axis=-1)))
    print(f"  next token     same argmax as numpy for {agree * 100:.0f}% of positions")
    print(f"  verify         {r['violations']} violations in the placed graph")
    ok = (r["nmse"] < NMSE_LIMIT and np.isfinite(r["logits"]).all() and r["violations"] == 0)

    devices = gg.vulkan_devices()
    if devices and wtype not in ("f32", "f16"):
        print(f"  Vulkan         not run: no Vulkan kernels for {wtype} weights here")
    elif devices:
        vk = gg.VulkanBackend(0)
        bt = vk.buffer_type
        print()
        limit = "no size limit" if bt.max_size is None else f"buffers of at most {bt.max_size / 2**20:.0f} MiB"
        print(f"running it on Vulkan device 0, {devices[0]['description']} ({limit}, "
              f"alignment {bt.alignment}) ...")
        vmodel = models.gpt2_small(tokens=tokens, layers=layers, wtype=wtype)
        v = run_gpt2(vmodel, vk, seed=seed, reference=r["reference"])
        v_cpu = nmse(v["logits"], r["logits"])
        print(f"  compute        {v['compute_s'] * 1e3:9.1f} ms  ({n_tok / v['compute_s']:.0f} tokens/s)")
        print(f"  buffer         {v['buffer_size']:,} B")
        print(f"  NMSE           {v['nmse']:.3e} against numpy, {v_cpu:.3e} against the CPU backend")
        print(f"  verify         {v['violations']} violations in the placed graph")
        v_ok = v["nmse"] < NMSE_LIMIT and np.isfinite(v["logits"]).all() and v["violations"] == 0
        print(f"  {'PASS' if v_ok else 'FAIL'}: Vulkan logits {'match' if v_ok else 'do not match'} numpy")
        ok = ok and v_ok
        vk.close()
    else:
        why = "built without Vulkan" if not gg.HAS_VULKAN else "no Vulkan device found"
        print(f"  Vulkan         not run: {why}")

    if plot:
        from .plot import plot_plan
        galloc = gg.GraphAllocator(gg.host_buffer_type(32, None), planner="best")
        galloc.reserve(model.graph)
        plot_plan(galloc.plan(), plot, title=f"GPT-2 small, {tokens} tokens: ggalloc's plan")
        print(f"  plan drawn to  {plot}")

    print()
    print(f"{'PASS' if ok else 'FAIL'}: logits {'match' if ok else 'do not match'} numpy "
          f"(NMSE {r['nmse']:.2e}), {time.perf_counter() - t_start:.1f} s in all")
    return 0 if ok else 1
