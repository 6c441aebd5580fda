"""Built-in model graphs, written on ggalloc's ops the way ggml programs build them.

Each builder returns a :class:`Model`: the forward graph, its inputs and outputs, and its
weights. Weights (and a KV cache, where the model has one) are created in their own context and
marked external (``Tensor.set_external``), as ggml's example programs keep them in their own
buffer: the graph allocator leaves them alone and plans only the graph's inputs and
intermediates. To plan, nothing more is needed (the weights are never given memory, so even
LLaMA-7B plans in a few megabytes). To run, :meth:`Model.allocate` gives the weights memory on a
backend, :meth:`Model.fill` writes fixed-seed random values into them, and
:meth:`Model.set_inputs` writes the inputs.

Every node is built with ``ctx=`` the compute context (``Model.ctx``), as ggml programs pass
their compute context to each op; the weights' context (``Model.wctx``) holds only the weights
and the cache, so :meth:`Model.allocate` places it whole with ``gg.alloc_ctx_tensors``.

The graphs mirror the real architectures node for node:

* ``gpt2``: ggml's ``examples/gpt-2`` graph. Token and position embeddings by ``get_rows``,
  layer norm as ``norm`` + ``mul`` + ``add``, one fused QKV projection whose K and V parts are
  copied (``cpy``) into views of an external KV cache, attention over the cache with
  ``diag_mask_inf`` as the causal mask, a GELU MLP, the final norm and logits through the tied
  token embedding. With ``batch=1`` the node sequence is the one ggml builds (the 512-token
  prefill has 487 nodes, like ``graphs/gpt2-small-prefill-512.json``). ``batch > 1`` runs
  several independent sequences of ``tokens`` tokens each, with one cache slot per sequence.
* ``llama``: llama.cpp's LLaMA graph. RMS norm, separate Q/K/V projections, RoPE
  (``rope_ext``) on Q and K, a KV cache with V stored transposed, a causal mask given as an
  input tensor to ``soft_max_ext`` (which also applies the 1/sqrt(head_dim) scale), and the
  SiLU-gated MLP.
* ``llama3``: a LLaMA-3-style graph with llama.cpp's flash-attention path: grouped-query
  attention through ``flash_attn_ext`` over an f16 cache, an f16 causal mask, a SwiGLU MLP
  (``swiglu_split``); with ``n_expert`` a mixture-of-experts MLP (router, ``top_k``,
  ``mul_mat_id``), as llama.cpp builds Mixtral's.
* ``mlp``: layers of ``mul_mat`` + bias ``add`` + ``gelu`` (``graphs/mlp-4x1024-b256.json``).
* ``cnn``: ``conv_2d`` (im2col + ``mul_mat``) + bias + ``relu`` + ``pool_2d`` blocks and an MLP
  head.

:func:`gpt2_reference` is a numpy implementation of the same GPT-2 forward pass (with the KV
cache), used by the demo and the tests to check what the CPU backend computes.
"""

from __future__ import annotations

import math
import zlib

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

import ggalloc as gg

__all__ = [
    "Model", "gpt2", "gpt2_small", "gpt2_medium", "llama", "llama_7b", "llama3", "llama3_8b",
    "mixtral_8x7b", "mlp", "cnn",
    "BUILTINS", "build", "gpt2_reference", "llama_reference", "llama3_reference", "mlp_reference",
    "cnn_reference", "gelu_reference",
]

GPT2_EPS = 1e-5
LLAMA_EPS = 1e-5


class Model:
    """A built model graph.

    Attributes:
        name: a short name ("gpt2-small", ...).
        hparams: the dimensions it was built with.
        ctx: the context of the graph's own tensors (inputs and intermediates).
        wctx: the context of the weights and the KV cache (external to the graph allocator).
        graph: the forward :class:`ggalloc.Graph`.
        inputs, outputs, weights, cache: dicts name -> Tensor.
    """

    def __init__(self, name: str, hparams: Mapping[str, Any], ctx: Any, wctx: Any, graph: Any,
                 inputs: Dict[str, Any], outputs: Dict[str, Any], weights: Dict[str, Any],
                 cache: Dict[str, Any],
                 input_maker: Callable[[np.random.Generator], Dict[str, "np.ndarray[Any, Any]"]],
                 weight_init: Callable[[str, Tuple[int, ...], int], "np.ndarray[Any, Any]"]) -> None:
        self.name = name
        self.hparams = dict(hparams)
        self.ctx = ctx
        self.wctx = wctx
        self.graph = graph
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.cache = cache
        self._input_maker = input_maker
        self._weight_init = weight_init
        self._wbufs: List[Any] = []
        # weight name -> the weight whose values it shares (GPT-2's output projection)
        self.tied: Dict[str, str] = {}

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.hparams.items())
        return f"<Model {self.name}: {self.n_nodes} nodes, {len(self.weights)} weights; {dims}>"

    @property
    def n_nodes(self) -> int:
        return self.graph.n_nodes

    @property
    def weight_bytes(self) -> int:
        """Bytes of the weights and cache (what lives outside the planned buffer)."""
        return sum(t.nbytes for t in self.weights.values()) + sum(t.nbytes for t in self.cache.values())

    # -- values ----------------------------------------------------------------------------

    def weight_values(self, seed: int = 0) -> Dict[str, "np.ndarray[Any, Any]"]:
        """Fixed-seed random values for every weight and cache tensor, as numpy arrays in the
        tensors' numpy shapes and dtypes. Each tensor's values depend only on the seed and its
        name, so two models with the same dimensions get the same weights."""
        out: Dict[str, "np.ndarray[Any, Any]"] = {}
        for name, t in list(self.weights.items()) + list(self.cache.items()):
            if name in self.tied and self.tied[name] in out:
                out[name] = out[self.tied[name]].copy()
                continue
            out[name] = self._weight_init(name, t.shape, seed).astype(t.dtype)
        return out

    def input_values(self, seed: int = 0) -> Dict[str, "np.ndarray[Any, Any]"]:
        """Fixed-seed values for the inputs (token ids, positions, masks, images)."""
        return self._input_maker(np.random.default_rng([seed, 0x5EED]))

    # -- running ---------------------------------------------------------------------------

    def allocate(self, backend: Any) -> List[Any]:
        """Gives the weights and the cache memory on a backend (or a BufferType) with
        ``gg.alloc_ctx_tensors(self.wctx, backend)``, as ggml programs place their weights: the
        library cuts the context into as many buffers as the max buffer size needs (one Buffer
        object either way). Needed before :meth:`fill` and compute. Returns the buffers (a
        list of one, or empty when already placed).

        Only the weights and the cache are placed: the graph's nodes live in :attr:`ctx`."""
        buf = gg.alloc_ctx_tensors(self.wctx, backend)
        if buf is not None:
            buf.usage = "weights"
            self._wbufs = [buf]
        return list(self._wbufs)

    def fill(self, seed: int = 0) -> Dict[str, "np.ndarray[Any, Any]"]:
        """Writes :meth:`weight_values` into the (allocated) weights; returns them."""
        values = self.weight_values(seed)
        for name, t in list(self.weights.items()) + list(self.cache.items()):
            t.set(values[name])
        return values

    def set_inputs(self, values: Mapping[str, Any]) -> None:
        """Writes input values (a dict name -> array, as :meth:`input_values` returns) into the
        allocated inputs; call after the graph allocator has placed the graph."""
        for name, v in values.items():
            self.inputs[name].set(np.ascontiguousarray(v, dtype=self.inputs[name].dtype))


# ----------------------------------------------------------------------------------------
# helpers


def _weight_rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _contexts() -> Tuple[Any, Any]:
    # Graph tensors get no memory until the graph allocator places them; the weights context
    # gets memory only when a model is run (Model.allocate).
    return gg.Context(no_alloc=True), gg.Context(no_alloc=True)


def _w(wctx: Any, weights: Dict[str, Any], dtype: str, shape: Tuple[int, ...], name: str) -> Any:
    # Until a model is run its weights have no memory at all; the mark makes the graph
    # allocator treat them as ggml treats weights loaded into their own buffer: never placed.
    t = wctx.tensor(dtype, shape, name=name).set_external()
    weights[name] = t
    return t


def _input(ctx: Any, inputs: Dict[str, Any], dtype: str, shape: Tuple[int, ...], name: str) -> Any:
    t = ctx.tensor(dtype, shape, name=name)
    t.set_input()
    inputs[name] = t
    return t


def _name(t: Any, name: str) -> Any:
    t.name = name
    return t


# ----------------------------------------------------------------------------------------
# GPT-2


def gpt2(n_layer: int = 12, n_embd: int = 768, n_head: int = 12, n_vocab: int = 50257,
         n_ctx: int = 1024, tokens: int = 32, n_past: int = 0, batch: int = 1, wtype: str = "f16",
         name: Optional[str] = None, n_pos: Optional[int] = None, wctx: Any = None) -> Model:
    """GPT-2 as ggml's examples/gpt-2 builds it.

    Args:
        tokens: tokens processed per sequence in this pass (N).
        n_past: tokens already in the KV cache; tokens + n_past must fit in n_ctx.
        batch: independent sequences processed together, each with its own cache slot.
        wtype: type of the 2-D weights ("f16" as in the released model, "f32", or a quantized
            type: "q8_0", "q4_0", "q4_k", ...).
        n_pos: rows of the position embedding (default n_ctx; a model file's table may be longer
            than the context planned for).
        wctx: where the weights and the cache come from (default: a new context); anything with
            ``tensor(dtype, shape, name=)``, such as the weights of a model file.
    """
    if n_embd % n_head:
        raise ValueError(f"gpt2: n_embd {n_embd} is not a multiple of n_head {n_head}")
    if tokens < 1 or n_past < 0 or tokens + n_past > n_ctx:
        raise ValueError(f"gpt2: tokens {tokens} + n_past {n_past} must be in 1..n_ctx {n_ctx}")
    if batch < 1 or n_layer < 1:
        raise ValueError(f"gpt2: batch {batch} and n_layer {n_layer} must be >= 1")
    N, B, hd = tokens, batch, n_embd // n_head
    n_kv = n_past + N
    ctx, own_wctx = _contexts()
    wctx = own_wctx if wctx is None else wctx
    weights: Dict[str, Any] = {}
    cache: Dict[str, Any] = {}
    inputs: Dict[str, Any] = {}

    wte = _w(wctx, weights, wtype, (n_vocab, n_embd), "model/wte")
    wpe = _w(wctx, weights, "f32", (n_ctx if n_pos is None else n_pos, n_embd), "model/wpe")
    layers = []
    for il in range(n_layer):
        p = f"model/h{il}/"
        layers.append(dict(
            ln_1_g=_w(wctx, weights, "f32", (n_embd,), p + "ln_1/g"),
            ln_1_b=_w(wctx, weights, "f32", (n_embd,), p + "ln_1/b"),
            ln_2_g=_w(wctx, weights, "f32", (n_embd,), p + "ln_2/g"),
            ln_2_b=_w(wctx, weights, "f32", (n_embd,), p + "ln_2/b"),
            c_attn_w=_w(wctx, weights, wtype, (3 * n_embd, n_embd), p + "attn/c_attn/w"),
            c_attn_b=_w(wctx, weights, "f32", (3 * n_embd,), p + "attn/c_attn/b"),
            c_proj_w=_w(wctx, weights, wtype, (n_embd, n_embd), p + "attn/c_proj/w"),
            c_proj_b=_w(wctx, weights, "f32", (n_embd,), p + "attn/c_proj/b"),
            fc_w=_w(wctx, weights, wtype, (4 * n_embd, n_embd), p + "mlp/c_fc/w"),
            fc_b=_w(wctx, weights, "f32", (4 * n_embd,), p + "mlp/c_fc/b"),
            mproj_w=_w(wctx, weights, wtype, (n_embd, 4 * n_embd), p + "mlp/c_proj/w"),
            mproj_b=_w(wctx, weights, "f32", (n_embd,), p + "mlp/c_proj/b"),
        ))
    ln_f_g = _w(wctx, weights, "f32", (n_embd,), "model/ln_f/g")
    ln_f_b = _w(wctx, weights, "f32", (n_embd,), "model/ln_f/b")
    # GPT-2 ties the output projection to the token embedding; ggml's example still keeps it
    # as its own tensor (loaded from wte when the file has none), and so do we: its values are
    # wte's (Model.weight_values).
    lm_head = _w(wctx, weights, wtype, (n_vocab, n_embd), "model/lm_head")
    # The cache: one f32 row of n_embd per (layer, sequence, position), as one flat tensor
    # like ggml's memory_k / memory_v; layer-major, then sequence, then position.
    n_mem = n_layer * B * n_ctx * n_embd
    memory_k = wctx.tensor("f32", (n_mem,), name="memory_k")
    memory_v = wctx.tensor("f32", (n_mem,), name="memory_v")
    cache["memory_k"], cache["memory_v"] = memory_k, memory_v
    memory_k.set_external()
    memory_v.set_external()

    # Batched sequences follow one another along the token axis: [n_embd, N*B] everywhere
    # but in attention, which sees them as [.., N, B].
    shp = (N * B,)
    embd = _input(ctx, inputs, "i32", shp, "embd")
    position = _input(ctx, inputs, "i32", shp, "position")

    es = 4  # f32 cache element size
    row = es * n_embd
    inpL = gg.add(gg.get_rows(wte, embd, ctx=ctx), gg.get_rows(wpe, position, ctx=ctx), ctx=ctx)
    roots = []
    for il, L in enumerate(layers):
        cur = gg.norm(inpL, GPT2_EPS, ctx=ctx)
        cur = gg.add(gg.mul(cur, L["ln_1_g"], ctx=ctx), L["ln_1_b"], ctx=ctx)
        cur = gg.mul_mat(L["c_attn_w"], cur, ctx=ctx)
        cur = gg.add(cur, L["c_attn_b"], ctx=ctx)
        base = row * il * B * n_ctx  # this layer's first cache row
        if B == 1:
            Qcur = gg.view_2d(cur, n_embd, N, cur.nb[1], 0 * row, ctx=ctx)
            Kcur = gg.view_2d(cur, n_embd, N, cur.nb[1], 1 * row, ctx=ctx)
            Vcur = gg.view_2d(cur, n_embd, N, cur.nb[1], 2 * row, ctx=ctx)
            k = gg.view_1d(memory_k, N * n_embd, base + row * n_past, ctx=ctx)
            v = gg.view_1d(memory_v, N * n_embd, base + row * n_past, ctx=ctx)
            roots.append(gg.cpy(Kcur, k, ctx=ctx))
            roots.append(gg.cpy(Vcur, v, ctx=ctx))
            Q = gg.permute(gg.cont_3d(Qcur, hd, n_head, N, ctx=ctx), 0, 2, 1, 3, ctx=ctx)
            K_all = gg.view_1d(memory_k, n_kv * n_embd, base, ctx=ctx)
            K = gg.permute(gg.reshape_3d(K_all, hd, n_head, n_kv, ctx=ctx), 0, 2, 1, 3, ctx=ctx)
        else:
            Qcur = gg.view_3d(cur, n_embd, N, B, cur.nb[1], cur.nb[1] * N, 0 * row, ctx=ctx)
            Kcur = gg.view_3d(cur, n_embd, N, B, cur.nb[1], cur.nb[1] * N, 1 * row, ctx=ctx)
            Vcur = gg.view_3d(cur, n_embd, N, B, cur.nb[1], cur.nb[1] * N, 2 * row, ctx=ctx)
            k = gg.view_3d(memory_k, n_embd, N, B, row, row * n_ctx, base + row * n_past, ctx=ctx)
            v = gg.view_3d(memory_v, n_embd, N, B, row, row * n_ctx, base + row * n_past, ctx=ctx)
            roots.append(gg.cpy(Kcur, k, ctx=ctx))
            roots.append(gg.cpy(Vcur, v, ctx=ctx))
            # [hd, n_head, N, B] -> [hd, N, n_head, B]
            Q = gg.permute(gg.cont_4d(Qcur, hd, n_head, N, B, ctx=ctx), 0, 2, 1, 3, ctx=ctx)
            K_all = gg.view_4d(memory_k, hd, n_head, n_kv, B, es * hd, row, row * n_ctx, base, ctx=ctx)
            K = gg.permute(K_all, 0, 2, 1, 3, ctx=ctx)
        KQ = gg.mul_mat(K, Q, ctx=ctx)                                   # [n_kv, N, n_head, B]
        KQ_scaled = gg.scale(KQ, 1.0 / math.sqrt(hd), ctx=ctx)
        KQ_masked = gg.diag_mask_inf(KQ_scaled, n_past, ctx=ctx)
        KQ_soft_max = gg.soft_max(KQ_masked, ctx=ctx)
        if B == 1:
            V_all = gg.reshape_3d(gg.view_1d(memory_v, n_kv * n_embd, base, ctx=ctx), hd, n_head, n_kv, ctx=ctx)
            V_trans = gg.cont_3d(gg.permute(V_all, 1, 2, 0, 3, ctx=ctx), n_kv, hd, n_head, ctx=ctx)
        else:
            V_all = gg.view_4d(memory_v, hd, n_head, n_kv, B, es * hd, row, row * n_ctx, base, ctx=ctx)
            V_trans = gg.cont_4d(gg.permute(V_all, 1, 2, 0, 3, ctx=ctx), n_kv, hd, n_head, B, ctx=ctx)
        KQV = gg.mul_mat(V_trans, KQ_soft_max, ctx=ctx)                  # [hd, N, n_head, B]
        KQV_merged = gg.permute(KQV, 0, 2, 1, 3, ctx=ctx)                # [hd, n_head, N, B]
        cur = gg.cont_2d(KQV_merged, n_embd, N * B, ctx=ctx)
        cur = gg.add(gg.mul_mat(L["c_proj_w"], cur, ctx=ctx), L["c_proj_b"], ctx=ctx)
        inpFF = gg.add(cur, inpL, ctx=ctx)
        cur = gg.norm(inpFF, GPT2_EPS, ctx=ctx)
        cur = gg.add(gg.mul(cur, L["ln_2_g"], ctx=ctx), L["ln_2_b"], ctx=ctx)
        cur = gg.add(gg.mul_mat(L["fc_w"], cur, ctx=ctx), L["fc_b"], ctx=ctx)
        cur = gg.gelu(cur, ctx=ctx)
        cur = gg.add(gg.mul_mat(L["mproj_w"], cur, ctx=ctx), L["mproj_b"], ctx=ctx)
        inpL = gg.add(cur, inpFF, ctx=ctx)
    inpL = gg.norm(inpL, GPT2_EPS, ctx=ctx)
    inpL = gg.add(gg.mul(inpL, ln_f_g, ctx=ctx), ln_f_b, ctx=ctx)
    logits = _name(gg.mul_mat(lm_head, inpL, ctx=ctx), "logits")
    logits.set_output()
    # Expanding the cache copies first, layer by layer, then the logits, visits the nodes in
    # the order ggml's example gets by calling ggml_build_forward_expand at the same points.
    graph = gg.Graph(*roots, logits, size=_graph_size(n_layer * 48 + 64))

    hp = dict(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_vocab=n_vocab, n_ctx=n_ctx,
              tokens=N, n_past=n_past, batch=B, wtype=wtype)

    def make_inputs(rng: np.random.Generator) -> Dict[str, "np.ndarray[Any, Any]"]:
        tok = rng.integers(0, n_vocab, size=shp, dtype=np.int32)
        pos = np.tile(np.arange(n_past, n_kv, dtype=np.int32), B)
        return {"embd": tok, "position": pos}

    def init(wname: str, shape: Tuple[int, ...], seed: int) -> "np.ndarray[Any, Any]":
        if wname == "model/lm_head":
            wname = "model/wte"  # tied
        rng = _weight_rng(seed, wname)
        if wname.endswith("/g"):
            return 1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)
        if wname.endswith("/b"):
            return 0.02 * rng.standard_normal(shape, dtype=np.float32)
        if wname.startswith("memory_"):
            return rng.standard_normal(shape, dtype=np.float32)
        std = 0.01 if wname == "model/wpe" else 0.02
        if wname.endswith("c_proj/w"):
            std = 0.02 / math.sqrt(2 * n_layer)  # GPT-2's scaled init of residual projections
        return std * rng.standard_normal(shape, dtype=np.float32)

    model = Model(name or "gpt2", hp, ctx, wctx, graph, inputs, {"logits": logits}, weights, cache,
                  make_inputs, init)
    model.tied["model/lm_head"] = "model/wte"
    return model


def gpt2_small(tokens: int = 32, n_past: int = 0, batch: int = 1, layers: int = 12, **kw: Any) -> Model:
    """GPT-2 small (124M): 12 layers, n_embd 768, 12 heads."""
    return gpt2(n_layer=layers, n_embd=768, n_head=12, tokens=tokens, n_past=n_past, batch=batch,
                name="gpt2-small", **kw)


def gpt2_medium(tokens: int = 32, n_past: int = 0, batch: int = 1, layers: int = 24, **kw: Any) -> Model:
    """GPT-2 medium (355M): 24 layers, n_embd 1024, 16 heads."""
    return gpt2(n_layer=layers, n_embd=1024, n_head=16, tokens=tokens, n_past=n_past, batch=batch,
                name="gpt2-medium", **kw)


class _Float64:
    """The weights as float64 arrays, converted when first used (an embedding table is only
    indexed, so it is never converted whole)."""

    def __init__(self, weights: Mapping[str, Any]) -> None:
        self._w = weights
        self._cache: Dict[str, "np.ndarray[Any, Any]"] = {}

    def __getitem__(self, name: str) -> "np.ndarray[Any, Any]":
        if name not in self._cache:
            self._cache[name] = np.asarray(self._w[name], dtype=np.float64)
        return self._cache[name]


def gelu_reference(x: Any) -> "np.ndarray[Any, Any]":
    """GELU with the tanh approximation, as GPT-2 and ggml's gelu use it."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def _layer_norm(x: "np.ndarray[Any, Any]", g: "np.ndarray[Any, Any]", b: "np.ndarray[Any, Any]",
                eps: float = GPT2_EPS) -> "np.ndarray[Any, Any]":
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def gpt2_reference(hparams: Mapping[str, Any], weights: Mapping[str, Any], inputs: Mapping[str, Any],
                   progress: Optional[Callable[[], Any]] = None
                   ) -> Tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any]", "np.ndarray[Any, Any]"]:
    """numpy forward pass of :func:`gpt2` (float64 arithmetic on the same weight values).

    Args:
        hparams: ``Model.hparams``.
        weights: ``Model.weight_values()`` (weights and the initial cache).
        inputs: ``Model.input_values()``.
        progress: called with no argument after each layer.
    Returns:
        (logits [batch * tokens, n_vocab] float32, as the output's numpy shape; the updated
        memory_k and memory_v).
    """
    L, E, H = hparams["n_layer"], hparams["n_embd"], hparams["n_head"]
    n_ctx, N, n_past, B = hparams["n_ctx"], hparams["tokens"], hparams["n_past"], hparams["batch"]
    hd, n_kv = E // H, n_past + N
    W = _Float64(weights)
    mk = np.array(weights["memory_k"], dtype=np.float64).reshape(L, B, n_ctx, E)
    mv = np.array(weights["memory_v"], dtype=np.float64).reshape(L, B, n_ctx, E)
    tok = np.asarray(inputs["embd"]).reshape(B, N)
    pos = np.asarray(inputs["position"]).reshape(B, N)
    x = (np.asarray(weights["model/wte"])[tok].astype(np.float64)
         + np.asarray(weights["model/wpe"])[pos].astype(np.float64))  # [B, N, E]
    mask = np.triu(np.ones((N, n_kv), dtype=bool), k=n_past + 1)      # key j > n_past + query i
    for il in range(L):
        p = f"model/h{il}/"
        h = _layer_norm(x, W[p + "ln_1/g"], W[p + "ln_1/b"])
        qkv = h @ W[p + "attn/c_attn/w"].T + W[p + "attn/c_attn/b"]
        q, k, v = qkv[..., :E], qkv[..., E:2 * E], qkv[..., 2 * E:]
        mk[il, :, n_past:n_kv] = k
        mv[il, :, n_past:n_kv] = v
        Kh = mk[il, :, :n_kv].reshape(B, n_kv, H, hd).transpose(0, 2, 1, 3)   # [B, H, n_kv, hd]
        Vh = mv[il, :, :n_kv].reshape(B, n_kv, H, hd).transpose(0, 2, 1, 3)
        Qh = q.reshape(B, N, H, hd).transpose(0, 2, 1, 3)                     # [B, H, N, hd]
        s = Qh @ Kh.transpose(0, 1, 3, 2) / math.sqrt(hd)                     # [B, H, N, n_kv]
        s = np.where(mask, -np.inf, s)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        a = (s @ Vh).transpose(0, 2, 1, 3).reshape(B, N, E)
        x = x + a @ W[p + "attn/c_proj/w"].T + W[p + "attn/c_proj/b"]
        h = _layer_norm(x, W[p + "ln_2/g"], W[p + "ln_2/b"])
        h = gelu_reference(h @ W[p + "mlp/c_fc/w"].T + W[p + "mlp/c_fc/b"])
        x = x + h @ W[p + "mlp/c_proj/w"].T + W[p + "mlp/c_proj/b"]
        if progress is not None:
            progress()
    x = _layer_norm(x, W["model/ln_f/g"], W["model/ln_f/b"])
    logits = (x @ W["model/lm_head"].T).reshape(B * N, -1)
    return logits.astype(np.float32), mk.astype(np.float32).ravel(), mv.astype(np.float32).ravel()


# ----------------------------------------------------------------------------------------
# LLaMA


def _llama_check(fn: str, n_layer: int, n_embd: int, n_head: int, n_head_kv: int, n_ctx: int,
                 tokens: int, n_past: int) -> None:
    if n_embd % n_head or n_head % n_head_kv:
        raise ValueError(f"{fn}: n_embd {n_embd}, n_head {n_head}, n_head_kv {n_head_kv} do not divide")
    if tokens < 1 or n_past < 0 or tokens + n_past > n_ctx:
        raise ValueError(f"{fn}: tokens {tokens} + n_past {n_past} must be in 1..n_ctx {n_ctx}")
    if n_layer < 1:
        raise ValueError(f"{fn}: n_layer {n_layer} must be >= 1")


def _llama_weights(wctx: Any, weights: Dict[str, Any], wtype: str, n_layer: int, n_embd: int, n_gqa: int,
                   n_ff: int, n_vocab: int, n_expert: int = 0) -> Tuple[Any, List[Dict[str, Any]], Any, Any]:
    """llama.cpp's LLaMA weights by their GGUF names: (tok_embd, layers, output_norm, output)."""
    tok_embd = _w(wctx, weights, wtype, (n_vocab, n_embd), "token_embd.weight")
    layers = []
    for il in range(n_layer):
        p = f"blk.{il}."
        Ly = dict(
            attn_norm=_w(wctx, weights, "f32", (n_embd,), p + "attn_norm.weight"),
            wq=_w(wctx, weights, wtype, (n_embd, n_embd), p + "attn_q.weight"),
            wk=_w(wctx, weights, wtype, (n_gqa, n_embd), p + "attn_k.weight"),
            wv=_w(wctx, weights, wtype, (n_gqa, n_embd), p + "attn_v.weight"),
            wo=_w(wctx, weights, wtype, (n_embd, n_embd), p + "attn_output.weight"),
            ffn_norm=_w(wctx, weights, "f32", (n_embd,), p + "ffn_norm.weight"),
        )
        if n_expert:
            Ly["router"] = _w(wctx, weights, "f32", (n_expert, n_embd), p + "ffn_gate_inp.weight")
            Ly["gate_exps"] = _w(wctx, weights, wtype, (n_expert, n_ff, n_embd), p + "ffn_gate_exps.weight")
            Ly["up_exps"] = _w(wctx, weights, wtype, (n_expert, n_ff, n_embd), p + "ffn_up_exps.weight")
            Ly["down_exps"] = _w(wctx, weights, wtype, (n_expert, n_embd, n_ff), p + "ffn_down_exps.weight")
        else:
            Ly["w1"] = _w(wctx, weights, wtype, (n_ff, n_embd), p + "ffn_gate.weight")
            Ly["w3"] = _w(wctx, weights, wtype, (n_ff, n_embd), p + "ffn_up.weight")
            Ly["w2"] = _w(wctx, weights, wtype, (n_embd, n_ff), p + "ffn_down.weight")
        layers.append(Ly)
    out_norm = _w(wctx, weights, "f32", (n_embd,), "output_norm.weight")
    output = _w(wctx, weights, wtype, (n_vocab, n_embd), "output.weight")
    return tok_embd, layers, out_norm, output


def _llama_cache(wctx: Any, cache: Dict[str, Any], n_layer: int, n_ctx: int, n_gqa: int) -> Tuple[Any, Any]:
    # an f16 cache as llama.cpp keeps it, external like the weights
    for name in ("cache_k", "cache_v"):
        cache[name] = wctx.tensor("f16", (n_layer * n_ctx * n_gqa,), name=name).set_external()
    return cache["cache_k"], cache["cache_v"]


def _llama_input_tensors(ctx: Any, inputs: Dict[str, Any], N: int, n_kv: int, mask_type: str
                         ) -> Tuple[Any, Any, Any]:
    """The token ids, their positions and the causal mask [N, n_kv] of the LLaMA graphs."""
    return (_input(ctx, inputs, "i32", (N,), "inp_tokens"), _input(ctx, inputs, "i32", (N,), "inp_pos"),
            _input(ctx, inputs, mask_type, (N, n_kv), "kq_mask"))


def _llama_qkv(ctx: Any, cur: Any, Ly: Mapping[str, Any], inp_pos: Any, hd: int, n_head: int, n_head_kv: int,
               n_ctx: int, rope_base: float) -> Tuple[Any, Any, Any]:
    """The Q, K, V projections, Q and K rotated by RoPE (normal mode) as llama.cpp builds them."""
    N = cur.shape[0]
    rope: Dict[str, Any] = dict(n_dims=hd, mode=0, n_ctx_orig=n_ctx, freq_base=rope_base, freq_scale=1.0,
                                ext_factor=0.0, attn_factor=1.0, beta_fast=32.0, beta_slow=1.0)
    Qcur = gg.mul_mat(Ly["wq"], cur, ctx=ctx)
    Kcur = gg.mul_mat(Ly["wk"], cur, ctx=ctx)
    Vcur = gg.mul_mat(Ly["wv"], cur, ctx=ctx)
    Qcur = gg.rope_ext(gg.reshape_3d(Qcur, hd, n_head, N, ctx=ctx), inp_pos, None, **rope, ctx=ctx)
    Kcur = gg.rope_ext(gg.reshape_3d(Kcur, hd, n_head_kv, N, ctx=ctx), inp_pos, None, **rope, ctx=ctx)
    return Qcur, Kcur, Vcur


def _llama_inputs_and_init(n_vocab: int, N: int, n_past: int, mask_dtype: Any, scale: float
                           ) -> Tuple[Callable[..., Dict[str, Any]], Callable[..., Any]]:
    """The input values (random tokens, positions, a causal mask) and weight initializer of the
    LLaMA graphs."""
    n_kv = n_past + N

    def make_inputs(rng: np.random.Generator) -> Dict[str, "np.ndarray[Any, Any]"]:
        qpos = np.arange(n_past, n_kv)[:, None]
        mask = np.where(np.arange(n_kv)[None, :] > qpos, -np.inf, 0.0).astype(mask_dtype)
        return {"inp_tokens": rng.integers(0, n_vocab, size=(N,), dtype=np.int32),
                "inp_pos": np.arange(n_past, n_kv, dtype=np.int32),
                "kq_mask": mask}

    def init(wname: str, shape: Tuple[int, ...], seed: int) -> "np.ndarray[Any, Any]":
        rng = _weight_rng(seed, wname)
        if wname.endswith("norm.weight"):
            return 1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)
        if wname.startswith("cache_"):
            return rng.standard_normal(shape, dtype=np.float32)
        if wname.endswith("gate_inp.weight"):
            return rng.standard_normal(shape, dtype=np.float32)  # routers that tell the experts apart
        return scale * rng.standard_normal(shape, dtype=np.float32)

    return make_inputs, init


def llama(n_layer: int = 32, n_embd: int = 4096, n_head: int = 32, n_head_kv: Optional[int] = None,
          n_ff: int = 11008, n_vocab: int = 32000, n_ctx: int = 2048, tokens: int = 32, n_past: int = 0,
          wtype: str = "f16", rope_base: float = 10000.0, name: Optional[str] = None,
          eps: float = LLAMA_EPS, wctx: Any = None) -> Model:
    """LLaMA as llama.cpp builds it (one sequence; grouped-query attention when
    n_head_kv < n_head).

    Args:
        tokens: tokens processed in this pass; n_past: tokens already in the KV cache.
        eps: the RMS norms' epsilon.
        wctx: where the weights and the cache come from (default: a new context); anything with
            ``tensor(dtype, shape, name=)``, such as the weights of a model file.
    """
    n_head_kv = n_head if n_head_kv is None else n_head_kv
    _llama_check("llama", n_layer, n_embd, n_head, n_head_kv, n_ctx, tokens, n_past)
    N, hd = tokens, n_embd // n_head
    n_gqa = hd * n_head_kv
    n_kv = n_past + N
    ctx, own_wctx = _contexts()
    wctx = own_wctx if wctx is None else wctx
    weights: Dict[str, Any] = {}
    cache: Dict[str, Any] = {}
    inputs: Dict[str, Any] = {}

    tok_embd, layers, out_norm, output = _llama_weights(wctx, weights, wtype, n_layer, n_embd, n_gqa, n_ff, n_vocab)
    # K rows of n_gqa per position; V transposed (per layer a [n_gqa, n_ctx] block whose rows
    # are positions of one channel) so that KQV needs no copy.
    cache_k, cache_v = _llama_cache(wctx, cache, n_layer, n_ctx, n_gqa)

    inp_tokens, inp_pos, kq_mask = _llama_input_tensors(ctx, inputs, N, n_kv, "f32")

    es = 2
    inpL = gg.get_rows(tok_embd, inp_tokens, ctx=ctx)
    roots = []
    for il, Ly in enumerate(layers):
        inpSA = inpL
        cur = gg.mul(gg.rms_norm(inpL, eps, ctx=ctx), Ly["attn_norm"], ctx=ctx)
        Qcur, Kcur, Vcur = _llama_qkv(ctx, cur, Ly, inp_pos, hd, n_head, n_head_kv, n_ctx, rope_base)
        kbase = es * n_gqa * n_ctx * il
        k_view = gg.view_1d(cache_k, N * n_gqa, kbase + es * n_gqa * n_past, ctx=ctx)
        v_view = gg.view_2d(cache_v, N, n_gqa, es * n_ctx, kbase + es * n_past, ctx=ctx)
        roots.append(gg.cpy(Kcur, k_view, ctx=ctx))
        roots.append(gg.cpy(gg.transpose(Vcur, ctx=ctx), v_view, ctx=ctx))
        Q = gg.permute(Qcur, 0, 2, 1, 3, ctx=ctx)                                  # [hd, N, n_head]
        K = gg.view_3d(cache_k, hd, n_kv, n_head_kv, es * n_gqa, es * hd, kbase, ctx=ctx)
        KQ = gg.mul_mat(K, Q, ctx=ctx)                                             # [n_kv, N, n_head]
        KQ = gg.soft_max_ext(KQ, kq_mask, 1.0 / math.sqrt(hd), 0.0, ctx=ctx)
        V = gg.view_3d(cache_v, n_kv, hd, n_head_kv, es * n_ctx, es * n_ctx * hd, kbase, ctx=ctx)
        KQV = gg.mul_mat(V, KQ, ctx=ctx)                                           # [hd, N, n_head]
        cur = gg.cont_2d(gg.permute(KQV, 0, 2, 1, 3, ctx=ctx), n_embd, N, ctx=ctx)
        cur = gg.mul_mat(Ly["wo"], cur, ctx=ctx)
        ffn_inp = gg.add(cur, inpSA, ctx=ctx)
        cur = gg.mul(gg.rms_norm(ffn_inp, eps, ctx=ctx), Ly["ffn_norm"], ctx=ctx)
        up = gg.mul_mat(Ly["w3"], cur, ctx=ctx)
        gate = gg.silu(gg.mul_mat(Ly["w1"], cur, ctx=ctx), ctx=ctx)
        cur = gg.mul_mat(Ly["w2"], gg.mul(gate, up, ctx=ctx), ctx=ctx)
        inpL = gg.add(cur, ffn_inp, ctx=ctx)
    cur = gg.mul(gg.rms_norm(inpL, eps, ctx=ctx), out_norm, ctx=ctx)
    logits = _name(gg.mul_mat(output, cur, ctx=ctx), "logits")
    logits.set_output()
    graph = gg.Graph(*roots, logits, size=_graph_size(n_layer * 48 + 64))

    hp = dict(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ff=n_ff,
              n_vocab=n_vocab, n_ctx=n_ctx, tokens=N, n_past=n_past, wtype=wtype)
    if eps != LLAMA_EPS:
        hp["eps"] = eps
    make_inputs, init = _llama_inputs_and_init(n_vocab, N, n_past, np.float32, 0.02)
    return Model(name or "llama", hp, ctx, wctx, graph, inputs, {"logits": logits}, weights, cache,
                 make_inputs, init)


def llama_7b(tokens: int = 32, n_past: int = 0, layers: int = 32, **kw: Any) -> Model:
    """LLaMA-7B's dimensions: 32 layers, n_embd 4096, 32 heads, n_ff 11008, 32000 tokens."""
    return llama(n_layer=layers, n_embd=4096, n_head=32, n_ff=11008, n_vocab=32000, n_ctx=2048,
                 tokens=tokens, n_past=n_past, name="llama-7b", **kw)


def _rms_norm(x: "np.ndarray[Any, Any]", eps: float) -> "np.ndarray[Any, Any]":
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps)


def _rope_normal(x: "np.ndarray[Any, Any]", pos: "np.ndarray[Any, Any]", base: float) -> "np.ndarray[Any, Any]":
    """RoPE in ggml's normal mode (0): channel pairs (2i, 2i+1) of each head are rotated by
    pos * base^(-2i/head_dim). x: [N, heads, head_dim]."""
    hd = x.shape[-1]
    theta = pos[:, None].astype(np.float64) * base ** (-np.arange(0, hd, 2, dtype=np.float64) / hd)
    c, s = np.cos(theta)[:, None, :], np.sin(theta)[:, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = x0 * c - x1 * s
    out[..., 1::2] = x0 * s + x1 * c
    return out


def _gqa_attention(q: "np.ndarray[Any, Any]", K: "np.ndarray[Any, Any]", V: "np.ndarray[Any, Any]",
                   mask: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    """Scaled softmax attention of q [N, H, hd] over K, V [n_kv, Hkv, hd], query head h reading
    KV head h // (H / Hkv). Returns [N, H * hd]."""
    N, H, hd = q.shape
    rep = H // K.shape[1]
    out = np.empty((N, H, hd))
    for hh in range(H):
        s = q[:, hh, :] @ K[:, hh // rep, :].T / math.sqrt(hd) + mask
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        out[:, hh, :] = (s / s.sum(axis=-1, keepdims=True)) @ V[:, hh // rep, :]
    return out.reshape(N, H * hd)


def _silu(g: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    return g / (1.0 + np.exp(-g))


def _swiglu(h: "np.ndarray[Any, Any]", W: Any, p: str) -> "np.ndarray[Any, Any]":
    """The SiLU-gated MLP of layer prefix p."""
    g = h @ W[p + "ffn_gate.weight"].T
    return (_silu(g) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T


def _llama_forward(hparams: Mapping[str, Any], weights: Mapping[str, Any], inputs: Mapping[str, Any],
                   eps: float, rope_base: float, v_transposed: bool
                   ) -> Tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any]", "np.ndarray[Any, Any]"]:
    """numpy forward pass of the LLaMA graphs (float64 on the same values; the cache rows
    written in this pass rounded to f16 as the cache stores them). The V cache holds rows per
    position, or per channel where ``v_transposed``. Returns (logits [tokens, n_vocab] float32,
    the updated cache_k, cache_v as float16)."""
    L, E, H, Hkv = hparams["n_layer"], hparams["n_embd"], hparams["n_head"], hparams["n_head_kv"]
    n_ctx, N, n_past = hparams["n_ctx"], hparams["tokens"], hparams["n_past"]
    n_exp, n_used = hparams.get("n_expert", 0), hparams.get("n_expert_used", 0)
    hd, n_kv = E // H, n_past + N
    n_gqa = hd * Hkv
    W = _Float64(weights)
    ck = np.array(weights["cache_k"], dtype=np.float16).reshape(L, n_ctx, n_gqa)
    cv = np.array(weights["cache_v"], dtype=np.float16).reshape(L, n_ctx, n_gqa)
    if v_transposed:
        cv = cv.reshape(L, n_gqa, n_ctx).transpose(0, 2, 1)   # a view: writes land in the transposed layout
    pos = np.asarray(inputs["inp_pos"])
    mask = np.asarray(inputs["kq_mask"], dtype=np.float64)
    x = np.asarray(weights["token_embd.weight"])[np.asarray(inputs["inp_tokens"])].astype(np.float64)
    for il in range(L):
        p = f"blk.{il}."
        h = _rms_norm(x, eps) * W[p + "attn_norm.weight"]
        q = _rope_normal((h @ W[p + "attn_q.weight"].T).reshape(N, H, hd), pos, rope_base)
        k = _rope_normal((h @ W[p + "attn_k.weight"].T).reshape(N, Hkv, hd), pos, rope_base)
        ck[il, n_past:n_kv] = k.reshape(N, n_gqa).astype(np.float16)
        cv[il, n_past:n_kv] = (h @ W[p + "attn_v.weight"].T).astype(np.float16)
        K = ck[il, :n_kv].astype(np.float64).reshape(n_kv, Hkv, hd)
        V = cv[il, :n_kv].astype(np.float64).reshape(n_kv, Hkv, hd)
        x = x + _gqa_attention(q, K, V, mask) @ W[p + "attn_output.weight"].T
        h = _rms_norm(x, eps) * W[p + "ffn_norm.weight"]
        if n_exp:
            logits = h @ W[p + "ffn_gate_inp.weight"].T
            pr = np.exp(logits - logits.max(axis=-1, keepdims=True))
            pr /= pr.sum(axis=-1, keepdims=True)
            sel = np.argsort(-pr, axis=-1, kind="stable")[:, :n_used]
            y = np.zeros_like(h)
            for t in range(N):
                wsel = pr[t, sel[t]] / pr[t, sel[t]].sum()
                for j, e in enumerate(sel[t]):
                    g = W[p + "ffn_gate_exps.weight"][e] @ h[t]
                    u = W[p + "ffn_up_exps.weight"][e] @ h[t]
                    y[t] += wsel[j] * (W[p + "ffn_down_exps.weight"][e] @ (_silu(g) * u))
            x = x + y
        else:
            x = x + _swiglu(h, W, p)
    x = _rms_norm(x, eps) * W["output_norm.weight"]
    if v_transposed:
        cv = cv.transpose(0, 2, 1)
    return (x @ W["output.weight"].T).astype(np.float32), ck.ravel(), np.ascontiguousarray(cv).ravel()


def llama_reference(hparams: Mapping[str, Any], weights: Mapping[str, Any], inputs: Mapping[str, Any],
                    rope_base: float = 10000.0
                    ) -> Tuple["np.ndarray[Any, Any]", "np.ndarray[Any, Any]", "np.ndarray[Any, Any]"]:
    """numpy forward pass of :func:`llama` (float64 arithmetic on the same values; the cache
    rows written in this pass are rounded to f16 as the f16 cache stores them).

    Returns (logits [tokens, n_vocab] float32, the updated cache_k, cache_v as float16)."""
    return _llama_forward(hparams, weights, inputs, hparams.get("eps", LLAMA_EPS), rope_base, True)


# ----------------------------------------------------------------------------------------
# LLaMA-3 style: GQA, SwiGLU, flash attention, optional mixture of experts


def llama3(n_layer: int = 2, n_embd: int = 256, n_head: int = 8, n_head_kv: int = 2, n_ff: int = 512,
           n_vocab: int = 1000, n_ctx: int = 128, tokens: int = 16, n_past: int = 0, n_expert: int = 0,
           n_expert_used: int = 2, wtype: str = "f16", rope_base: float = 500000.0,
           name: Optional[str] = None) -> Model:
    """A LLaMA-3-style graph as llama.cpp builds it with flash attention on: grouped-query
    attention through ``flash_attn_ext`` over an f16 KV cache (K and V both stored row per
    position), an f16 causal mask input, RoPE base 500000 and a SwiGLU MLP (``swiglu_split``).

    With ``n_expert > 0`` every MLP is a mixture of experts as llama.cpp builds Mixtral's: a
    router (``mul_mat`` + ``soft_max``), ``top_k`` routing of ``n_expert_used`` experts per token,
    their weights gathered with ``get_rows`` and normalized, the experts run by ``mul_mat_id``
    (gate, up, SwiGLU, down), weighted and summed over the used experts."""
    if n_expert < 0 or (n_expert and not 1 <= n_expert_used <= n_expert):
        raise ValueError(f"llama3: n_expert {n_expert}, n_expert_used {n_expert_used} do not fit")
    _llama_check("llama3", n_layer, n_embd, n_head, n_head_kv, n_ctx, tokens, n_past)
    N, hd = tokens, n_embd // n_head
    n_gqa = hd * n_head_kv
    n_kv = n_past + N
    ctx, wctx = _contexts()
    weights: Dict[str, Any] = {}
    cache: Dict[str, Any] = {}
    inputs: Dict[str, Any] = {}

    tok_embd, layers, out_norm, output = _llama_weights(wctx, weights, wtype, n_layer, n_embd, n_gqa, n_ff,
                                                        n_vocab, n_expert)
    cache_k, cache_v = _llama_cache(wctx, cache, n_layer, n_ctx, n_gqa)   # K and V rows per position

    inp_tokens, inp_pos, kq_mask = _llama_input_tensors(ctx, inputs, N, n_kv, "f16")

    es = 2
    inpL = gg.get_rows(tok_embd, inp_tokens, ctx=ctx)
    roots = []
    for il, Ly in enumerate(layers):
        inpSA = inpL
        cur = gg.mul(gg.rms_norm(inpL, LLAMA_EPS, ctx=ctx), Ly["attn_norm"], ctx=ctx)
        Qcur, Kcur, Vcur = _llama_qkv(ctx, cur, Ly, inp_pos, hd, n_head, n_head_kv, n_ctx, rope_base)
        kbase = es * n_gqa * n_ctx * il
        roots.append(gg.cpy(Kcur, gg.view_1d(cache_k, N * n_gqa, kbase + es * n_gqa * n_past, ctx=ctx), ctx=ctx))
        roots.append(gg.cpy(Vcur, gg.view_1d(cache_v, N * n_gqa, kbase + es * n_gqa * n_past, ctx=ctx), ctx=ctx))
        q = gg.permute(Qcur, 0, 2, 1, 3, ctx=ctx)                                      # [hd, N, n_head]
        k = gg.view_3d(cache_k, hd, n_kv, n_head_kv, es * n_gqa, es * hd, kbase, ctx=ctx)
        v = gg.view_3d(cache_v, hd, n_kv, n_head_kv, es * n_gqa, es * hd, kbase, ctx=ctx)
        cur = gg.flash_attn_ext(q, k, v, kq_mask, 1.0 / math.sqrt(hd), ctx=ctx)        # [hd, n_head, N]
        gg.flash_attn_ext_set_prec(cur, "f32")
        cur = gg.mul_mat(Ly["wo"], gg.reshape_2d(cur, n_embd, N, ctx=ctx), ctx=ctx)
        ffn_inp = gg.add(cur, inpSA, ctx=ctx)
        cur = gg.mul(gg.rms_norm(ffn_inp, LLAMA_EPS, ctx=ctx), Ly["ffn_norm"], ctx=ctx)
        if n_expert:
            cur = _moe_ffn(ctx, cur, Ly, n_embd, n_expert, n_expert_used, N)
        else:
            par = gg.swiglu_split(gg.mul_mat(Ly["w1"], cur, ctx=ctx), gg.mul_mat(Ly["w3"], cur, ctx=ctx), ctx=ctx)
            cur = gg.mul_mat(Ly["w2"], par, ctx=ctx)
        inpL = gg.add(cur, ffn_inp, ctx=ctx)
    cur = gg.mul(gg.rms_norm(inpL, LLAMA_EPS, ctx=ctx), out_norm, ctx=ctx)
    logits = _name(gg.mul_mat(output, cur, ctx=ctx), "logits")
    logits.set_output()
    graph = gg.Graph(*roots, logits, size=_graph_size(n_layer * 64 + 64))

    hp = dict(n_layer=n_layer, n_embd=n_embd, n_head=n_head, n_head_kv=n_head_kv, n_ff=n_ff,
              n_vocab=n_vocab, n_ctx=n_ctx, tokens=N, n_past=n_past, n_expert=n_expert,
              n_expert_used=n_expert_used, wtype=wtype, rope_base=rope_base)
    make_inputs, init = _llama_inputs_and_init(n_vocab, N, n_past, np.float16, 0.05)
    return Model(name or ("llama3-moe" if n_expert else "llama3"), hp, ctx, wctx, graph, inputs,
                 {"logits": logits}, weights, cache, make_inputs, init)


def llama3_8b(tokens: int = 32, n_past: int = 0, layers: int = 32, **kw: Any) -> Model:
    """LLaMA-3-8B's dimensions: 32 layers, n_embd 4096, 32 heads over 8 KV heads, n_ff 14336,
    128256 tokens."""
    return llama3(n_layer=layers, n_embd=4096, n_head=32, n_head_kv=8, n_ff=14336, n_vocab=128256,
                  n_ctx=8192, tokens=tokens, n_past=n_past, name="llama3-8b", **kw)


def mixtral_8x7b(tokens: int = 32, n_past: int = 0, layers: int = 32, **kw: Any) -> Model:
    """Mixtral-8x7B's dimensions: the LLaMA-3-style graph with 8 experts of n_ff 14336, 2 used
    per token, 32 heads over 8 KV heads, 32000 tokens."""
    return llama3(n_layer=layers, n_embd=4096, n_head=32, n_head_kv=8, n_ff=14336, n_vocab=32000,
                  n_ctx=8192, tokens=tokens, n_past=n_past, n_expert=8, n_expert_used=2,
                  rope_base=1e6, name="mixtral-8x7b", **kw)


def _moe_ffn(ctx: Any, cur: Any, Ly: Mapping[str, Any], n_embd: int, n_expert: int, n_used: int,
             N: int) -> Any:
    # router: softmax over the experts, the n_used best per token, their weights renormalized
    probs = gg.soft_max(gg.mul_mat(Ly["router"], cur, ctx=ctx), ctx=ctx)           # [n_expert, N]
    selected = gg.top_k(probs, n_used, ctx=ctx)                                     # i32 [n_used, N]
    w = gg.get_rows(gg.reshape_3d(probs, 1, n_expert, N, ctx=ctx), selected, ctx=ctx)  # [1, n_used, N]
    w2 = gg.reshape_2d(w, n_used, N, ctx=ctx)
    w = gg.reshape_3d(gg.div(w2, gg.sum_rows(w2, ctx=ctx), ctx=ctx), 1, n_used, N, ctx=ctx)
    x = gg.reshape_3d(cur, n_embd, 1, N, ctx=ctx)
    gate = gg.mul_mat_id(Ly["gate_exps"], x, selected, ctx=ctx)                     # [n_ff, n_used, N]
    up = gg.mul_mat_id(Ly["up_exps"], x, selected, ctx=ctx)
    experts = gg.mul_mat_id(Ly["down_exps"], gg.swiglu_split(gate, up, ctx=ctx), selected, ctx=ctx)  # [n_embd, n_used, N]
    experts = gg.mul(experts, w, ctx=ctx)
    es = 4
    out: Any = None
    for i in range(n_used):
        e = gg.view_2d(experts, n_embd, N, es * n_embd * n_used, es * n_embd * i, ctx=ctx)
        out = e if out is None else gg.add(out, e, ctx=ctx)
    return out if n_used > 1 else gg.cont(out, ctx=ctx)


def llama3_reference(hparams: Mapping[str, Any], weights: Mapping[str, Any],
                     inputs: Mapping[str, Any]) -> "np.ndarray[Any, Any]":
    """numpy forward pass of :func:`llama3` (float64 on the same values; the cache rows written
    in this pass rounded to f16 as the cache stores them). Returns logits [tokens, n_vocab]."""
    return _llama_forward(hparams, weights, inputs, LLAMA_EPS, hparams["rope_base"], False)[0]


# ----------------------------------------------------------------------------------------
# MLP and CNN


def mlp(n_layers: int = 4, width: int = 1024, batch: int = 256, n_in: Optional[int] = None,
        n_out: Optional[int] = None, name: Optional[str] = None) -> Model:
    """A multilayer perceptron: n_layers x (mul_mat + bias + gelu) on a [batch, n_in] input.
    With the defaults it is graphs/mlp-4x1024-b256.json."""
    n_in = width if n_in is None else n_in
    n_out = width if n_out is None else n_out
    if n_layers < 1 or batch < 1 or width < 1:
        raise ValueError(f"mlp: n_layers {n_layers}, width {width}, batch {batch} must be >= 1")
    ctx, wctx = _contexts()
    weights: Dict[str, Any] = {}
    inputs: Dict[str, Any] = {}
    dims = [n_in] + [width] * (n_layers - 1) + [n_out]
    ws, bs = [], []
    for i in reversed(range(n_layers)):
        ws.append(_w(wctx, weights, "f32", (dims[i + 1], dims[i]), f"mlp.{i}.weight"))
    ws.reverse()
    x = _input(ctx, inputs, "f32", (batch, n_in), "inp_x")
    for i in range(n_layers):
        bs.append(_w(wctx, weights, "f32", (dims[i + 1],), f"mlp.{i}.bias"))
    for i in range(n_layers):
        x = _name(gg.mul_mat(ws[i], x, ctx=ctx), f"mm-{i}")
        x = _name(gg.add(x, bs[i], ctx=ctx), f"bias-{i}")
        x = _name(gg.gelu(x, ctx=ctx), "out" if i == n_layers - 1 else f"gelu-{i}")
    x.set_output()
    graph = gg.Graph(x, size=_graph_size(4 * n_layers + 8))
    hp = dict(n_layers=n_layers, width=width, batch=batch, n_in=n_in, n_out=n_out)
    in_shape = (batch, n_in)

    def make_inputs(rng: np.random.Generator) -> Dict[str, "np.ndarray[Any, Any]"]:
        return {"inp_x": rng.standard_normal(in_shape, dtype=np.float32)}

    def init(wname: str, shape: Tuple[int, ...], seed: int) -> "np.ndarray[Any, Any]":
        rng = _weight_rng(seed, wname)
        fan_in = shape[-1] if len(shape) == 2 else width
        return rng.standard_normal(shape, dtype=np.float32) / np.float32(math.sqrt(fan_in))

    return Model(name or "mlp", hp, ctx, wctx, graph, inputs, {"out": x}, weights, {},
                 make_inputs, init)


def cnn(batch: int = 8, image: int = 64, channels: Sequence[int] = (3, 32, 64, 128), n_classes: int = 10,
        hidden: int = 256, wtype: str = "f32", name: Optional[str] = None) -> Model:
    """A small CNN: per block a 3x3 conv_2d (stride 1, padding 1) + bias + relu + 2x2 max
    pool_2d, then flatten and an MLP head (mul_mat + bias + relu, mul_mat + bias).

    The input is [batch, channels[0], image, image] (numpy order; ggml's [W, H, C, N]). The
    im2col matrices have the kernels' type ``wtype``, as in ggml_conv_2d."""
    if image % (2 ** (len(channels) - 1)):
        raise ValueError(f"cnn: image {image} must be divisible by 2^{len(channels) - 1}")
    ctx, wctx = _contexts()
    weights: Dict[str, Any] = {}
    inputs: Dict[str, Any] = {}
    x = _input(ctx, inputs, "f32", (batch, channels[0], image, image), "inp_image")
    side = image
    for i in range(len(channels) - 1):
        cin, cout = channels[i], channels[i + 1]
        kernel = _w(wctx, weights, wtype, (cout, cin, 3, 3), f"conv{i}.weight")
        bias = _w(wctx, weights, "f32", (cout, 1, 1), f"conv{i}.bias")
        x = _name(gg.conv_2d(kernel, x, 1, 1, 1, 1, 1, 1, ctx=ctx), f"conv{i}")   # [N, cout, H, W]
        x = _name(gg.add(x, bias, ctx=ctx), f"conv{i}+b")
        x = _name(gg.relu(x, ctx=ctx), f"relu{i}")
        x = _name(gg.pool_2d(x, "max", 2, 2, 2, 2, 0.0, 0.0, ctx=ctx), f"pool{i}")
        side //= 2
    flat = channels[-1] * side * side
    x = gg.reshape_2d(x, flat, batch, ctx=ctx)
    w1 = _w(wctx, weights, "f32", (hidden, flat), "fc1.weight")
    b1 = _w(wctx, weights, "f32", (hidden,), "fc1.bias")
    w2 = _w(wctx, weights, "f32", (n_classes, hidden), "fc2.weight")
    b2 = _w(wctx, weights, "f32", (n_classes,), "fc2.bias")
    x = _name(gg.relu(gg.add(gg.mul_mat(w1, x, ctx=ctx), b1, ctx=ctx), ctx=ctx), "fc1")
    x = _name(gg.add(gg.mul_mat(w2, x, ctx=ctx), b2, ctx=ctx), "logits")
    x.set_output()
    graph = gg.Graph(x, size=_graph_size(8 * len(channels) + 16))
    hp = dict(batch=batch, image=image, channels=list(channels), n_classes=n_classes, hidden=hidden,
              wtype=wtype)

    def make_inputs(rng: np.random.Generator) -> Dict[str, "np.ndarray[Any, Any]"]:
        return {"inp_image": rng.standard_normal((batch, channels[0], image, image), dtype=np.float32)}

    def init(wname: str, shape: Tuple[int, ...], seed: int) -> "np.ndarray[Any, Any]":
        rng = _weight_rng(seed, wname)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        std = 0.02 if wname.endswith("bias") else 1.0 / math.sqrt(max(fan_in, 1))
        return std * rng.standard_normal(shape, dtype=np.float32)

    return Model(name or "cnn", hp, ctx, wctx, graph, inputs, {"logits": x}, weights, {},
                 make_inputs, init)


def _graph_size(n: int) -> int:
    return max(2048, int(n))


# name -> (builder, the options it takes from the command line)
BUILTINS: Dict[str, Callable[..., Model]] = {
    "gpt2-small": gpt2_small,
    "gpt2-medium": gpt2_medium,
    "llama-7b": llama_7b,
    "llama3-8b": llama3_8b,
    "mixtral-8x7b": mixtral_8x7b,
    "mlp": mlp,
    "cnn": cnn,
}


def build(name: str, tokens: Optional[int] = None, layers: Optional[int] = None, batch: Optional[int] = None,
          n_past: Optional[int] = None, wtype: Optional[str] = None) -> Model:
    """Builds a built-in model by name with the command line's options (None: the default);
    wtype: the type of the 2-D weights of gpt2/llama ("f16", "q8_0", "q4_0", "q4_k", ...)."""
    if name not in BUILTINS:
        raise ValueError(f"unknown model {name!r}; built-ins: {', '.join(BUILTINS)}")
    kw: Dict[str, Any] = {}
    if wtype is not None:
        if not name.startswith(("gpt2", "llama")):
            raise ValueError("--wtype applies to the gpt2 and llama models")
        kw["wtype"] = wtype
    if name.startswith(("gpt2", "llama", "mixtral")):
        if tokens is not None:
            kw["tokens"] = tokens
        if layers is not None:
            kw["layers"] = layers
        if n_past is not None:
            kw["n_past"] = n_past
        if batch is not None:
            if not name.startswith("gpt2"):
                if batch != 1:
                    raise ValueError(f"{name} is built for one sequence; --batch must be 1")
            else:
                kw["batch"] = batch
    elif name == "mlp":
        if layers is not None:
            kw["n_layers"] = layers
        if batch is not None:
            kw["batch"] = batch
        if tokens is not None:
            raise ValueError("mlp takes --batch and --layers, not --tokens")
    elif name == "cnn":
        if batch is not None:
            kw["batch"] = batch
        if tokens is not None or layers is not None:
            raise ValueError("cnn takes --batch only")
    return BUILTINS[name](**kw)


def mlp_reference(hparams: Mapping[str, Any], weights: Mapping[str, Any],
                  inputs: Mapping[str, Any]) -> "np.ndarray[Any, Any]":
    """numpy forward pass of :func:`mlp`."""
    x = np.asarray(inputs["inp_x"], dtype=np.float64)
    for i in range(hparams["n_layers"]):
        x = gelu_reference(x @ np.asarray(weights[f"mlp.{i}.weight"], dtype=np.float64).T
                           + np.asarray(weights[f"mlp.{i}.bias"], dtype=np.float64))
    return x.astype(np.float32)


def cnn_reference(hparams: Mapping[str, Any], weights: Mapping[str, Any],
                  inputs: Mapping[str, Any]) -> "np.ndarray[Any, Any]":
    """numpy forward pass of :func:`cnn` (3x3 convolutions with padding 1, 2x2 max pooling)."""
    x = np.asarray(inputs["inp_image"], dtype=np.float64)
    chans = hparams["channels"]
    for i in range(len(chans) - 1):
        w = np.asarray(weights[f"conv{i}.weight"], dtype=np.float64)      # [cout, cin, 3, 3]
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        # [n, cin, H, W, 3, 3]; numpy's stubs take one axis, the function a tuple of them
        win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # type: ignore[call-overload]
        x = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
        x = np.maximum(x + np.asarray(weights[f"conv{i}.bias"], dtype=np.float64), 0.0)
        n, c, hgt, wid = x.shape
        x = x.reshape(n, c, hgt // 2, 2, wid // 2, 2).max(axis=(3, 5))
    x = x.reshape(x.shape[0], -1)
    h = np.maximum(x @ np.asarray(weights["fc1.weight"], dtype=np.float64).T
                   + np.asarray(weights["fc1.bias"], dtype=np.float64), 0.0)
    return (h @ np.asarray(weights["fc2.weight"], dtype=np.float64).T
            + np.asarray(weights["fc2.bias"], dtype=np.float64)).astype(np.float32)
