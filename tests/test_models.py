"""The built-in model graphs: their structure against graphs built on real ggml, their plans
(valid, never larger than ggml's planner's, never below the bound), and their forward passes
on the CPU backend against numpy."""

import os

import numpy as np
import pytest

import ggalloc as gg
from ggalloc import models

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from testdata import DATA


def shared_graph(name):
    path = os.path.join(DATA, "graphs", name)
    assert os.path.exists(path), f"{path} is missing from the repository"
    return gg.load_graph(path)


def plan_sizes(graph, planner, alignment=32, max_size=None):
    ga = gg.GraphAllocator(gg.host_buffer_type(alignment, max_size), planner=planner)
    ga.reserve(graph)
    return ga


def signature(t):
    return (t.op, t.unary_op, t.type, tuple(t.ne), tuple(t.nb), t.is_view, t.is_input, t.is_output)


@pytest.mark.parametrize("builder, kw, file", [
    (models.gpt2_small, dict(tokens=512), "gpt2-small-prefill-512.json"),
    (models.gpt2_small, dict(tokens=1, n_past=511), "gpt2-small-decode-1.json"),
    (models.mlp, dict(), "mlp-4x1024-b256.json"),
])
def test_builtin_matches_the_graph_ggml_builds(builder, kw, file):
    """The same nodes, in the same order, with the same shapes and strides as the graph that
    ggml's example program builds, and therefore the same plans and bounds."""
    m = builder(**kw)
    ref = shared_graph(file)
    assert len(m.graph.nodes) == len(ref.nodes)
    assert len(m.graph.leafs) == len(ref.leafs)
    for i, (a, b) in enumerate(zip(m.graph.nodes, ref.nodes)):
        assert signature(a) == signature(b), f"node {i}: {a} != {b}"
    for planner in ("ggml", "best"):
        ours, theirs = plan_sizes(m.graph, planner), plan_sizes(ref, planner)
        assert ours.buffer_size(0) == theirs.buffer_size(0), planner
        assert ours.lower_bound(0) == theirs.lower_bound(0), planner


SMALL_BUILTINS = [
    ("gpt2-small", lambda: models.gpt2_small(tokens=24, layers=2)),
    ("gpt2-small decode", lambda: models.gpt2_small(tokens=1, n_past=100, layers=2)),
    ("gpt2-small batch 3", lambda: models.gpt2_small(tokens=8, n_past=4, batch=3, layers=2)),
    ("gpt2-medium", lambda: models.gpt2_medium(tokens=16, layers=2)),
    ("llama-7b", lambda: models.llama_7b(tokens=16, layers=2)),
    ("llama3-8b", lambda: models.llama3_8b(tokens=16, n_past=8, layers=2)),
    ("mixtral-8x7b", lambda: models.mixtral_8x7b(tokens=16, layers=2)),
    ("llama gqa", lambda: models.llama(n_layer=3, n_embd=256, n_head=8, n_head_kv=2, n_ff=640,
                                       n_vocab=1000, n_ctx=64, tokens=12, n_past=5)),
    ("mlp", lambda: models.mlp(n_layers=3, width=256, batch=32)),
    ("cnn", lambda: models.cnn(batch=2, image=32)),
]


@pytest.mark.parametrize("name, make", SMALL_BUILTINS, ids=[n for n, _ in SMALL_BUILTINS])
@pytest.mark.parametrize("max_size", [None, 1 << 20])
def test_builtin_plans_are_valid_and_no_worse_than_ggml(name, make, max_size):
    m = make()
    best = plan_sizes(m.graph, "best", max_size=max_size)
    ggml = plan_sizes(m.graph, "ggml", max_size=max_size)
    lb = best.lower_bound(0)
    assert 0 < lb <= best.buffer_size(0) <= ggml.buffer_size(0)
    if max_size is not None:
        assert best.plan().entries[-1].chunk >= 0
    # Weights and the cache are external: never placed.
    placed = {e.tensor for e in best.plan().entries}
    assert not placed & (set(m.weights) | set(m.cache))
    # Placed, the plan is valid (checked from the graph's data pointers).
    for ga in (best, ggml):
        assert ga.alloc_graph(m.graph)
        assert ga.plan().verify() == 0


def run(model, seed=0):
    cpu = gg.CPUBackend(n_threads=2)
    model.allocate(cpu)
    weights = model.fill(seed)
    ga = gg.GraphAllocator(cpu.buffer_type)
    ga.alloc_graph(model.graph)
    inputs = model.input_values(seed)
    model.set_inputs(inputs)
    cpu.compute(model.graph)
    return weights, inputs


def nmse(out, ref):
    out, ref = np.asarray(out, np.float64), np.asarray(ref, np.float64)
    return float(np.sum((out - ref) ** 2) / np.sum(ref ** 2))


@pytest.mark.parametrize("kw", [
    dict(tokens=7, n_past=0, batch=1, wtype="f32"),
    dict(tokens=5, n_past=3, batch=1, wtype="f16"),
    dict(tokens=4, n_past=6, batch=3, wtype="f16"),
])
def test_gpt2_forward_matches_numpy(kw):
    m = models.gpt2(n_layer=2, n_embd=64, n_head=4, n_vocab=300, n_ctx=16, **kw)
    weights, inputs = run(m)
    logits, mk, mv = models.gpt2_reference(m.hparams, weights, inputs)
    out = m.outputs["logits"].numpy()
    assert out.shape == logits.shape
    assert nmse(out, logits) < 1e-4
    # The pass wrote this pass's keys and values into the cache, and nothing else.
    np.testing.assert_allclose(m.cache["memory_k"].numpy(), mk, rtol=0, atol=2e-2)
    np.testing.assert_allclose(m.cache["memory_v"].numpy(), mv, rtol=0, atol=2e-2)
    assert not np.array_equal(mk, weights["memory_k"])


@pytest.mark.parametrize("n_head_kv, n_past", [(4, 0), (2, 5)])
def test_llama_forward_matches_numpy(n_head_kv, n_past):
    m = models.llama(n_layer=2, n_embd=64, n_head=4, n_head_kv=n_head_kv, n_ff=96, n_vocab=200,
                     n_ctx=16, tokens=6, n_past=n_past)
    weights, inputs = run(m)
    logits, ck, cv = models.llama_reference(m.hparams, weights, inputs)
    assert nmse(m.outputs["logits"].numpy(), logits) < 1e-4
    got_k = m.cache["cache_k"].numpy().astype(np.float64)
    assert np.max(np.abs(got_k - ck.astype(np.float64))) < 2e-2


def test_mlp_and_cnn_forward_match_numpy():
    m = models.mlp(n_layers=3, width=48, batch=5, n_in=20, n_out=7)
    weights, inputs = run(m)
    assert m.outputs["out"].shape == (5, 7)
    assert nmse(m.outputs["out"].numpy(), models.mlp_reference(m.hparams, weights, inputs)) < 1e-6
    c = models.cnn(batch=2, image=16, channels=(3, 8, 16), hidden=32, n_classes=5)
    weights, inputs = run(c)
    out = c.outputs["logits"].numpy()
    assert out.shape == (2, 5)
    assert nmse(out, models.cnn_reference(c.hparams, weights, inputs)) < 1e-4


def test_weights_depend_on_seed_and_name_only():
    a = models.gpt2(n_layer=1, n_embd=32, n_head=2, n_vocab=50, n_ctx=8, tokens=2)
    b = models.gpt2(n_layer=2, n_embd=32, n_head=2, n_vocab=50, n_ctx=8, tokens=2)
    wa, wb = a.weight_values(3), b.weight_values(3)
    np.testing.assert_array_equal(wa["model/h0/attn/c_attn/w"], wb["model/h0/attn/c_attn/w"])
    assert not np.array_equal(wa["model/wte"], a.weight_values(4)["model/wte"])
    assert wa["model/wte"].dtype == np.float16 and wa["model/wpe"].dtype == np.float32


def test_graph_grows_with_layers_and_tokens():
    sizes = [plan_sizes(models.gpt2_small(tokens=t, layers=2).graph, "best").buffer_size(0)
             for t in (8, 32, 128)]
    assert sizes[0] < sizes[1] < sizes[2]
    n = [len(models.llama_7b(tokens=4, layers=k).graph.nodes) for k in (1, 2, 3)]
    assert n[2] - n[1] == n[1] - n[0] > 20


def test_bad_dimensions_raise():
    with pytest.raises(ValueError):
        models.gpt2(n_embd=100, n_head=12)
    with pytest.raises(ValueError):
        models.gpt2_small(tokens=1000, n_past=100)
    with pytest.raises(ValueError):
        models.llama(n_head=32, n_head_kv=5)
    with pytest.raises(ValueError):
        models.build("gpt-5")
    with pytest.raises(ValueError):
        models.build("cnn", tokens=4)


@pytest.mark.parametrize("kw", [
    dict(n_expert=0, n_past=0, wtype="f32"),
    dict(n_expert=0, n_past=5, wtype="f16"),
    dict(n_expert=4, n_expert_used=2, n_past=3, wtype="f32"),
])
def test_llama3_flash_attention_and_moe_match_numpy(kw):
    m = models.llama3(n_layer=2, n_embd=64, n_head=4, n_head_kv=2, n_ff=96, n_vocab=200, n_ctx=16, tokens=6, **kw)
    ops = {t.op for t in m.graph.nodes}
    assert {"FLASH_ATTN_EXT", "GLU"} <= ops
    if kw["n_expert"]:
        assert {"MUL_MAT_ID", "TOP_K"} <= ops
    # plans as any graph does, no worse than ggml's placement, and valid
    best, ggml = plan_sizes(m.graph, "best"), plan_sizes(m.graph, "ggml")
    assert 0 < best.lower_bound(0) <= best.buffer_size(0) <= ggml.buffer_size(0)
    weights, inputs = run(m)
    ref = models.llama3_reference(m.hparams, weights, inputs)
    out = m.outputs["logits"].numpy()
    assert out.shape == ref.shape
    assert nmse(out, ref) < 1e-4
