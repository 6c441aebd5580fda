"""Models straight from their GGUF files: the forward graph a file describes, the memory it
needs on a device, and one forward pass of its weights.

    >>> rep = gg.plan_model("llama-7b.gguf", ctx=4096, batch=512)
    >>> print(rep)                     # weights by type, KV cache, compute buffer, total, fits?
    >>> out = run_model("tiny.gguf", [1, 15, 27])   # logits of a prompt, top next tokens

Files of the ``llama`` and ``gpt2`` architectures laid out as llama.cpp writes them are read:
the hyperparameters from ``<arch>.block_count``, ``.embedding_length``, ``.feed_forward_length``,
``.attention.head_count(_kv)``, ``.context_length``, ``.rope.freq_base``,
``.attention.layer_norm_rms_epsilon`` / ``_epsilon``; the weights by llama.cpp's tensor names
(``token_embd``, ``blk.N.attn_norm``, ``blk.N.attn_q/k/v/output`` or ``attn_qkv``,
``blk.N.ffn_norm``, ``blk.N.ffn_gate/up/down``, ``output_norm``, ``output``,
``position_embd``). The graphs are :mod:`ggalloc.models`' LLaMA and GPT-2 builders, given the
file's tensors (with the file's types and shapes) as their weights: a file of metadata only is
planned from its hyperparameters alone, a file with data runs from the mapped weights.

The plan for a context of ``ctx`` tokens processed ``batch`` at a time is the worst step, as
llama.cpp reserves it: ``batch`` new tokens attending over the whole context (n_past =
ctx - batch), with an f16 (llama) or f32 (gpt2) KV cache of ``ctx`` positions.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import numpy as np

import ggalloc as gg

from . import models
from ._lib import lib
from .errors import BadFileError, BadInputError, ComputeError, DeviceError
from .gguf import GGUF

__all__ = ["ARCHITECTURES", "hparams", "build", "plan_model", "ModelPlan", "run_model"]

ARCHITECTURES = ("llama", "gpt2")

PathLike = Union[str, "os.PathLike[str]"]


def _open(f: Union[GGUF, PathLike]) -> GGUF:
    return f if isinstance(f, GGUF) else GGUF(f)


def hparams(path: Union[GGUF, PathLike]) -> Dict[str, Any]:
    """The hyperparameters of a llama or gpt2 file (BadFileError naming a missing key)."""
    f = _open(path)
    arch = f.architecture
    if arch not in ARCHITECTURES:
        raise BadFileError(f"{f.path!r}: architecture {arch!r} cannot be planned; "
                           f"supported: {', '.join(ARCHITECTURES)}")
    md = f.metadata

    def get(key: str, default: Any = None) -> Any:
        v = md.get(f"{arch}.{key}", default)
        if v is None:
            raise BadFileError(f"{f.path!r}: a {arch} file needs the key {arch}.{key}")
        if isinstance(v, np.ndarray):
            raise BadFileError(f"{f.path!r}: {arch}.{key} is an array (per-layer values are not supported)")
        return v

    hp: Dict[str, Any] = dict(arch=arch, n_layer=int(get("block_count")), n_embd=int(get("embedding_length")),
                              n_head=int(get("attention.head_count")), n_ctx_train=int(get("context_length")))
    hp["n_head_kv"] = int(get("attention.head_count_kv", hp["n_head"]))
    hp["n_ff"] = int(get("feed_forward_length", 4 * hp["n_embd"]))
    if arch == "llama":
        hp["eps"] = float(get("attention.layer_norm_rms_epsilon", models.LLAMA_EPS))
        hp["rope_base"] = float(get("rope.freq_base", 10000.0))
        rope_dims = int(get("rope.dimension_count", hp["n_embd"] // max(hp["n_head"], 1)))
        if rope_dims != hp["n_embd"] // max(hp["n_head"], 1):
            raise BadFileError(f"{f.path!r}: RoPE over {rope_dims} of the head's "
                               f"{hp['n_embd'] // hp['n_head']} dimensions is not supported")
    else:
        hp["eps"] = float(get("attention.layer_norm_epsilon", models.GPT2_EPS))
    tokens = md.get("tokenizer.ggml.tokens")
    if "token_embd.weight" in f:
        hp["n_vocab"] = int(f.tensor("token_embd.weight").shape[0])
    elif isinstance(tokens, list):
        hp["n_vocab"] = len(tokens)
    else:
        raise BadFileError(f"{f.path!r}: neither token_embd.weight nor tokenizer.ggml.tokens gives the vocabulary")
    for k in ("n_layer", "n_embd", "n_head", "n_head_kv", "n_ff", "n_vocab", "n_ctx_train"):
        if hp[k] < 1:
            raise BadFileError(f"{f.path!r}: {k} = {hp[k]} must be >= 1")
    if hp["n_embd"] % hp["n_head"] or hp["n_head"] % hp["n_head_kv"]:
        raise BadFileError(f"{f.path!r}: n_embd {hp['n_embd']}, heads {hp['n_head']} and kv heads "
                           f"{hp['n_head_kv']} do not divide")
    return hp


class _FileWeights:
    """The builders' weight context over a file: a weight by the builder's name is the file's
    tensor (its type and shape, checked against what the builder expects); everything else
    (the KV cache) is made in a context of its own."""

    def __init__(self, f: GGUF, rename: Callable[[str], Optional[str]]) -> None:
        self.f = f
        self.rename = rename
        self.cache = gg.Context(no_alloc=True)

    def tensor(self, dtype: Any, shape: Sequence[int], name: Optional[str] = None) -> gg.Tensor:
        fname = self.rename(name or "")
        if fname is None:
            return self.cache.tensor(dtype, shape, name=name)
        if fname not in self.f:
            raise BadFileError(f"{self.f.path!r}: the {self.f.architecture} graph needs tensor {fname!r}, "
                               "which the file does not have")
        rec = self.f.tensor(fname)
        if tuple(rec.shape) != tuple(shape):
            raise BadFileError(f"{self.f.path!r}: tensor {fname!r} has shape {rec.shape}; the hyperparameters "
                               f"give {tuple(shape)}")
        return rec.tensor


def _llama_name(f: GGUF) -> Callable[[str], Optional[str]]:
    def rename(name: str) -> Optional[str]:
        if name.startswith("cache_"):
            return None
        if name == "output.weight" and name not in f:
            return "token_embd.weight"  # tied embeddings
        return name
    return rename


_GPT2_NAMES = {
    "ln_1/g": "attn_norm.weight", "ln_1/b": "attn_norm.bias",
    "attn/c_attn/w": "attn_qkv.weight", "attn/c_attn/b": "attn_qkv.bias",
    "attn/c_proj/w": "attn_output.weight", "attn/c_proj/b": "attn_output.bias",
    "ln_2/g": "ffn_norm.weight", "ln_2/b": "ffn_norm.bias",
    "mlp/c_fc/w": "ffn_up.weight", "mlp/c_fc/b": "ffn_up.bias",
    "mlp/c_proj/w": "ffn_down.weight", "mlp/c_proj/b": "ffn_down.bias",
}
_GPT2_GLOBAL = {
    "model/wte": "token_embd.weight", "model/wpe": "position_embd.weight",
    "model/ln_f/g": "output_norm.weight", "model/ln_f/b": "output_norm.bias",
}


def _gpt2_name(f: GGUF) -> Callable[[str], Optional[str]]:
    def rename(name: str) -> Optional[str]:
        if name.startswith("memory_"):
            return None
        if name == "model/lm_head":
            return "output.weight" if "output.weight" in f else "token_embd.weight"
        if name in _GPT2_GLOBAL:
            return _GPT2_GLOBAL[name]
        parts = name.split("/", 2)  # model/h{i}/rest
        if len(parts) == 3 and parts[1].startswith("h") and parts[2] in _GPT2_NAMES:
            return f"blk.{int(parts[1][1:])}.{_GPT2_NAMES[parts[2]]}"
        raise BadInputError(f"gpt2: no file tensor for the graph's weight {name!r}")  # pragma: no cover
    return rename


def build(path: Union[GGUF, PathLike], ctx: Optional[int] = None, batch: int = 512,
          n_past: Optional[int] = None) -> Tuple[models.Model, _FileWeights]:
    """The forward graph of the file: ``batch`` tokens after ``n_past`` (default ctx - batch)
    with a KV cache of ``ctx`` positions (default: the file's context_length). Returns the
    :class:`ggalloc.models.Model` (its weights are the file's tensors) and the weight context
    (whose ``cache`` context holds the KV cache)."""
    f = _open(path)
    hp = hparams(f)
    ctx = hp["n_ctx_train"] if ctx is None else int(ctx)
    if ctx < 1 or batch < 1:
        raise BadInputError(f"ctx {ctx} and batch {batch} must be >= 1")
    batch = min(int(batch), ctx)
    n_past = ctx - batch if n_past is None else int(n_past)
    name = f.metadata.get("general.name") or os.path.basename(f.path)
    if hp["arch"] == "llama":
        if any(t.name.endswith("attn_qkv.weight") for t in f.tensors):
            raise BadFileError(f"{f.path!r}: a llama file with fused attn_qkv weights is not supported")
        w = _FileWeights(f, _llama_name(f))
        model = models.llama(n_layer=hp["n_layer"], n_embd=hp["n_embd"], n_head=hp["n_head"],
                             n_head_kv=hp["n_head_kv"], n_ff=hp["n_ff"], n_vocab=hp["n_vocab"], n_ctx=ctx,
                             tokens=batch, n_past=n_past, rope_base=hp["rope_base"], eps=hp["eps"],
                             name=str(name), wctx=w)
    else:
        if hp["n_ff"] != 4 * hp["n_embd"]:
            raise BadFileError(f"{f.path!r}: gpt2 with feed_forward_length {hp['n_ff']} != 4 * n_embd "
                               "is not supported")
        if abs(hp["eps"] - models.GPT2_EPS) > 1e-6 * models.GPT2_EPS:  # f32 in the file
            raise BadFileError(f"{f.path!r}: gpt2 with layer_norm_epsilon {hp['eps']} (not 1e-5) is not supported")
        if ctx > hp["n_ctx_train"]:
            raise BadInputError(f"gpt2: ctx {ctx} is more than the {hp['n_ctx_train']} positions of "
                                "position_embd")
        w = _FileWeights(f, _gpt2_name(f))
        model = models.gpt2(n_layer=hp["n_layer"], n_embd=hp["n_embd"], n_head=hp["n_head"],
                            n_vocab=hp["n_vocab"], n_ctx=ctx, tokens=batch, n_past=n_past, batch=1,
                            n_pos=hp["n_ctx_train"], name=str(name), wctx=w)
    return model, w


# ------------------------------------------------------------------------------------------
# plans


def _device(device: str) -> Tuple[str, Any, int, int]:
    """(description, buffer type, memory total, memory free) of "cpu" or "vulkan[:N]"."""
    if device == "cpu":
        cpu = [d for d in gg.devices() if d["type"] == "cpu"]
        total = cpu[0]["memory_total"] if cpu else 0
        free = cpu[0]["memory_free"] if cpu else 0
        if not total:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        return "cpu", gg.cpu_buffer_type(), int(total), int(free)
    if device == "vulkan" or device.startswith("vulkan:"):
        idx = int(device.split(":", 1)[1]) if ":" in device else 0
        devs = gg.vulkan_devices()
        if idx >= len(devs):
            raise DeviceError(f"no Vulkan device {idx} ({len(devs)} found"
                              f"{'' if gg.HAS_VULKAN else '; ggalloc was built without Vulkan'})")
        d = devs[idx]
        return f"vulkan:{idx} ({d['description']})", gg.vulkan_buffer_type(idx), int(d["memory_total"]), \
            int(d["memory_free"])
    raise BadInputError(f"unknown device {device!r}: cpu, vulkan or vulkan:N")


def _fmt(n: int) -> str:
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


@dataclasses.dataclass
class ModelPlan:
    """What :func:`plan_model` returns: every figure in bytes, as attributes and in
    :meth:`to_dict`; ``str()`` is the report the command line prints."""

    path: str
    name: str
    architecture: str
    hparams: Dict[str, Any]
    ctx: int                          # KV cache positions
    batch: int                        # tokens per step
    n_nodes: int                      # nodes of the planned graph
    weights: Dict[str, Tuple[int, int]]  # ggml type -> (tensors, bytes)
    weight_bytes: int
    kv_cache_bytes: int
    cache_type: str
    compute: Dict[str, int]           # planner -> compute buffer bytes
    lower_bound: int                  # the compute buffer's liveness lower bound
    planner: str                      # the planner whose buffer the total counts
    total_bytes: int
    device: str
    device_memory: int
    device_memory_free: int
    fits: bool
    wtype: Optional[str]
    has_data: bool
    time_budget: float = 0.0          # seconds the best planner could search (0: one greedy pass)

    def to_dict(self) -> Dict[str, Any]:
        """The plan as JSON-ready data."""
        return dataclasses.asdict(self)

    def __repr__(self) -> str:
        return f"<ModelPlan {self.name}: total {_fmt(self.total_bytes)}, fits={self.fits}>"

    def __str__(self) -> str:
        L = [f"# {self.name} ({self.architecture}) from {os.path.basename(self.path)}",
             f"{self.hparams['n_layer']} layers, n_embd {self.hparams['n_embd']}, heads "
             f"{self.hparams['n_head']} (kv {self.hparams['n_head_kv']}), n_ff {self.hparams['n_ff']}, "
             f"vocab {self.hparams['n_vocab']}; context {self.ctx}, batch {self.batch}; "
             f"graph of {self.n_nodes} nodes",
             "", "| part | bytes | |", "|---|---:|---|"]
        for t, (n, b) in sorted(self.weights.items(), key=lambda kv: -kv[1][1]):
            L.append(f"| weights {t} ({n} tensors) | {b} | {_fmt(b)} |")
        L.append(f"| weights | {self.weight_bytes} | {_fmt(self.weight_bytes)} |")
        L.append(f"| KV cache ({self.cache_type}, {self.ctx} positions) | {self.kv_cache_bytes} | "
                 f"{_fmt(self.kv_cache_bytes)} |")
        for p in ("best", "ggml"):
            if p in self.compute:
                searched = f", searched up to {self.time_budget:g} s" if p == "best" and self.time_budget else ""
                L.append(f"| compute buffer, planner {p}{searched} | {self.compute[p]} | {_fmt(self.compute[p])} |")
        L.append(f"| compute lower bound | {self.lower_bound} | {_fmt(self.lower_bound)} |")
        L.append(f"| **total** (planner {self.planner}) | {self.total_bytes} | {_fmt(self.total_bytes)} |")
        L.append(f"| device {self.device} memory | {self.device_memory} | {_fmt(self.device_memory)} |")
        L.append("")
        verdict = "fits" if self.fits else "does NOT fit"
        L.append(f"{verdict}: {_fmt(self.total_bytes)} of {_fmt(self.device_memory)} "
                 f"({100.0 * self.total_bytes / max(self.device_memory, 1):.1f}%)")
        if self.wtype:
            L.append(f"(2-D weights counted as {self.wtype}, as if the file were converted)")
        return "\n".join(L)


def plan_model(path: Union[GGUF, PathLike], ctx: Optional[int] = None, batch: int = 512, device: str = "cpu",
               planner: Optional[str] = None, wtype: Optional[str] = None, time_budget: float = 0.0) -> ModelPlan:
    """The memory a model file needs: weights by type (``wtype``: with the 2-D weights counted
    as that type instead), the KV cache for ``ctx`` positions, the compute buffer for ``batch``
    tokens with both planners (``planner``: the one the total uses, default "best"; the best
    planner searching up to ``time_budget`` seconds, GraphAllocator's) and its lower bound,
    against the device's memory."""
    f = _open(path)
    model, w = build(f, ctx=ctx, batch=batch)
    _, buft, mem_total, mem_free = _device(device)
    dev_name = _device(device)[0]
    chosen = planner or "best"
    if chosen not in ("best", "ggml"):
        raise BadInputError(f"unknown planner {chosen!r}: best or ggml")
    compute: Dict[str, int] = {}
    lower = 0
    for p in ("best", "ggml"):
        galloc = gg.GraphAllocator(buft, planner=p, time_budget=time_budget)  # (ggml's ignores it)
        galloc.reserve(model.graph)
        compute[p] = galloc.buffer_size()
        lower = galloc.lower_bound()
        galloc.close()
    weights = f.weight_bytes()
    if wtype is not None:
        tid = gg.type_id(wtype)
        weights = {}
        for t in f.tensors:
            nb, ttype = t.nbytes, t.type
            if len(t.shape) == 2:
                rows, cols = t.shape
                row = int(lib.ggml_row_size(tid, cols))
                if row == 0:
                    raise BadInputError(f"--wtype {wtype}: rows of {cols} values of {t.name!r} do not fit its blocks")
                nb, ttype = row * rows, gg.type_name(tid)
            n, b = weights.get(ttype, (0, 0))
            weights[ttype] = (n + 1, b + nb)
    weight_bytes = sum(b for _, b in weights.values())
    kv = sum(t.nbytes for t in model.cache.values())
    total = weight_bytes + kv + compute[chosen]
    return ModelPlan(path=f.path, name=model.name, architecture=str(f.architecture), hparams=hparams(f),
                     ctx=model.hparams["n_ctx"], batch=model.hparams["tokens"], n_nodes=model.n_nodes,
                     weights=weights, weight_bytes=weight_bytes, kv_cache_bytes=kv,
                     cache_type=next(iter(model.cache.values())).type, compute=compute, lower_bound=lower,
                     planner=chosen, total_bytes=total, device=dev_name, device_memory=mem_total,
                     device_memory_free=mem_free, fits=total <= mem_total, wtype=wtype,
                     has_data=f.has_data, time_budget=float(time_budget))


# ------------------------------------------------------------------------------------------
# running


def prompt_inputs(model: models.Model, tokens: Sequence[int]) -> Dict[str, "np.ndarray[Any, Any]"]:
    """The graph inputs for a prompt of token ids processed from position 0."""
    toks = np.asarray(tokens, dtype=np.int32)
    n = len(toks)
    pos = np.arange(n, dtype=np.int32)
    if "inp_tokens" in model.inputs:  # llama
        mask = np.where(np.arange(n)[None, :] > pos[:, None], -np.inf, 0.0).astype(np.float32)
        return {"inp_tokens": toks, "inp_pos": pos, "kq_mask": mask}
    return {"embd": toks, "position": pos}


def run_model(path: Union[GGUF, PathLike], tokens: Sequence[int], top: int = 5,
              n_threads: Optional[int] = None) -> Dict[str, Any]:
    """One forward pass of the prompt's token ids on the CPU with the file's (mapped) weights.
    Returns {"logits": [n_tokens, n_vocab] float32, "top": [(token id, token text, logit)] for
    the next token, "model": the Model}. ComputeError names an op and weight type without a CPU
    kernel."""
    f = _open(path)
    if not f.has_data:
        raise BadFileError(f"{f.path!r} holds no tensor data (metadata only): it can be planned, not run")
    toks = [int(t) for t in tokens]
    if not toks:
        raise BadInputError("the prompt needs at least one token")
    hp = hparams(f)
    bad = [t for t in toks if not 0 <= t < hp["n_vocab"]]
    if bad:
        raise BadInputError(f"token id {bad[0]} is outside the vocabulary of {hp['n_vocab']}")
    model, w = build(f, ctx=len(toks), batch=len(toks), n_past=0)
    backend = gg.CPUBackend(n_threads=n_threads)
    for node in model.graph.nodes:
        if not backend.supports_op(node):
            srcs = ", ".join(f"{s.name or '?'} ({s.type})" for s in node.src if s is not None)
            raise ComputeError(f"the CPU backend has no kernel for {node.op} of {srcs}: weights of type "
                               f"{sorted({t.type for t in f.tensors})} cannot run here")
    for t in model.weights.values():
        t.set_external(False)  # the weights' memory is the mapped file
    cache_buf = gg.alloc_ctx_tensors(w.cache, backend)
    if cache_buf is not None:
        cache_buf.clear(0)
    galloc = gg.GraphAllocator(backend.buffer_type)
    galloc.alloc_graph(model.graph)
    model.set_inputs(prompt_inputs(model, toks))
    backend.compute(model.graph)
    logits = model.outputs["logits"].numpy().reshape(len(toks), -1)
    last = logits[-1]
    vocab = f.metadata.get("tokenizer.ggml.tokens")
    order = np.argsort(-last, kind="stable")[:max(int(top), 0)]
    best = [(int(i), vocab[i] if isinstance(vocab, list) and i < len(vocab) else str(int(i)), float(last[i]))
            for i in order]
    return {"logits": logits, "top": best, "model": model, "buffers": (cache_buf, galloc)}


def cli_plan(args: Any, prog: str) -> int:
    """``plan FILE.gguf`` of the command line: prints the plan (or, with --run, the next tokens
    of the prompt). Returns the exit status (2 on an error, 1 if the model does not fit)."""
    import json
    import sys
    try:
        if args.run:
            toks = [int(t) for t in str(args.prompt).replace(" ", "").split(",") if t != ""]
            out = run_model(args.source, toks, top=args.top)
            if args.json:
                print(json.dumps({"tokens": toks, "top": out["top"]}, indent=1))
            else:
                print(f"prompt {toks}: next tokens")
                for tid, text, logit in out["top"]:
                    print(f"  {tid:6d}  {logit:10.4f}  {text!r}")
            return 0
        budget = 0.0 if args.time_budget is None else args.time_budget
        rep = plan_model(args.source, ctx=args.ctx, batch=args.batch or 512, device=args.device,
                         planner=args.planner, wtype=args.wtype, time_budget=budget)
        if args.plot:
            model, _ = build(args.source, ctx=args.ctx, batch=args.batch or 512)
            galloc = gg.GraphAllocator(_device(args.device)[1], planner=args.planner, time_budget=budget)
            galloc.reserve(model.graph)
            galloc.plan().plot(args.plot)
    except ValueError as e:  # a bad number in --prompt, or a BadInputError / BadFileError
        print(f"{prog} plan: error: {args.source}: {e}", file=sys.stderr)
        return 2
    except (OSError, gg.GgallocError, KeyError) as e:
        print(f"{prog} plan: error: {args.source}: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rep.to_dict(), indent=1))
    else:
        print(rep)
    return 0 if rep.fits else 1
