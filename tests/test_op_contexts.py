"""Ops' ``ctx=`` keyword, the external flag, and models whose nodes live in the compute context
while weights and cache are placed with ``gg.alloc_ctx_tensors`` as ggml programs do."""

import inspect

import numpy as np
import pytest

import ggalloc as gg
from ggalloc import models


def test_every_op_takes_ctx():
    # the setters on an existing node (precision, sinks, rope offset) build nothing
    missing = [name for name in gg.OPS if not name.endswith(("_set_prec", "_add_sinks", "_set_offset"))
               and "ctx" not in inspect.signature(getattr(gg, name)).parameters]
    assert missing == []
    for name in gg.OPS:
        p = inspect.signature(getattr(gg, name)).parameters.get("ctx")
        if p is not None:
            assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is None, name


def test_ctx_puts_the_node_in_that_context():
    wctx, cctx = gg.Context(), gg.Context()
    w = wctx.tensor(np.float32, (16, 8), name="w")
    x = cctx.tensor(np.float32, (4, 8), name="x")
    y = gg.mul_mat(w, x)                          # default: the first tensor's context
    assert y.context is wctx
    z = gg.relu(gg.mul_mat(w, x, ctx=cctx), ctx=cctx)
    assert z.context is cctx and z.src[0].context is cctx
    v = gg.view_2d(w, 8, 2, w.nb[1], 0, ctx=cctx)       # a view of a weight, in the compute context
    assert v.context is cctx and v.view_src == w
    t = gg.view_tensor(w, ctx=cctx)
    assert t.context is cctx and t.view_src == w
    d = gg.dup_tensor(w, ctx=cctx)
    assert d.context is cctx and d.shape == w.shape
    names = {t.name for t in wctx.tensors()}
    assert names == {"w", ""} and len(wctx) == 2  # w and the default-context y only
    with pytest.raises(gg.BadInputError, match="ctx must be a Context"):
        gg.relu(x, ctx="cctx")
    # A graph over nodes in cctx reaches the weights in wctx and keeps both alive.
    g = gg.Graph(z)
    assert {t.name for t in g.leafs} >= {"w", "x"}
    wctx.close()
    with pytest.raises(gg.ClosedError):
        g.n_nodes


def test_ctx_computes_the_same(cpu):
    wctx, cctx = gg.Context(), gg.Context()
    w = wctx.tensor(np.float32, (6, 5), name="w")
    b = wctx.tensor(np.float32, (6,), name="b")
    x = cctx.tensor(np.float32, (3, 5), name="x").set_input()
    y = gg.gelu(gg.add(gg.mul_mat(w, x, ctx=cctx), b, ctx=cctx), ctx=cctx).set_output()
    buf = gg.alloc_ctx_tensors(wctx, cpu)
    rng = np.random.default_rng(1)
    wv, bv, xv = (rng.standard_normal(s).astype(np.float32) for s in ((6, 5), (6,), (3, 5)))
    w.set(wv)
    b.set(bv)
    g = gg.Graph(y)
    ga = gg.GraphAllocator(cpu.buffer_type)
    ga.alloc_graph(g)
    x.set(xv)
    cpu.compute(g)
    ref = models.gelu_reference(xv.astype(np.float64) @ wv.T + bv)
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-4, atol=1e-5)
    assert w.buffer is buf and y.buffer is ga


def test_set_external(ctx):
    t = ctx.tensor(np.float32, (4,), name="w")
    assert t.external is False and t.is_external is False
    assert t.set_external() is t
    assert t.external and t.flags & int(gg._lib.lib.GGALLOC_TENSOR_FLAG_EXTERNAL)
    assert "external" in repr(t)
    t.set_input()
    t.set_external(False)
    assert not t.external and t.is_input                 # other flags are kept
    with pytest.raises(AttributeError):
        t.external = True                                # read-only
    # An external tensor without memory is left alone by the graph allocator...
    t.set_external(True)
    y = gg.relu(t).set_output()
    g = gg.Graph(y)
    ga = gg.GraphAllocator(gg.cpu_buffer_type())
    ga.alloc_graph(g)
    assert "w" not in {e.tensor for e in ga.plan().entries}
    # ... and placed when the flag is cleared.
    t.set_external(False)
    ga2 = gg.GraphAllocator(gg.cpu_buffer_type())
    ga2.alloc_graph(g)
    assert "w" in {e.tensor for e in ga2.plan().entries}


@pytest.mark.parametrize("builder", [
    lambda: models.gpt2(n_layer=2, n_embd=64, n_head=4, n_vocab=300, n_ctx=16, tokens=5),
    lambda: models.llama(n_layer=2, n_embd=64, n_head=4, n_head_kv=2, n_ff=96, n_vocab=200, n_ctx=16,
                         tokens=4),
    lambda: models.mlp(n_layers=2, width=32, batch=4),
    lambda: models.cnn(batch=2, image=8, channels=(3, 4, 8), hidden=16),
])
def test_model_contexts_and_weight_buffer(builder):
    m = builder()
    wtensors = list(m.weights.values()) + list(m.cache.values())
    # The weights' context holds exactly the weights and the cache; every node is in ctx.
    assert {t._addr for t in m.wctx.tensors()} == {t._addr for t in wtensors}
    assert all(t.external for t in wtensors)
    nodes = m.graph.nodes
    assert nodes and all(t.context is m.ctx for t in nodes)
    buft = gg.host_buffer_type(64)
    bufs = m.allocate(buft)
    assert len(bufs) == 1
    buf = bufs[0]
    assert buf.size >= sum(t.nbytes for t in wtensors)
    assert buf.usage == "weights"
    assert all(t.buffer is buf and t.is_allocated for t in wtensors)
    lo, hi = buf.base, buf.base + buf.size
    for t in wtensors:
        assert lo <= buf.base + t.offset and buf.base + t.offset + t.nbytes <= hi
    # The intermediates are not in it: they have no memory until a graph allocator places them.
    assert not any(t.is_allocated for t in nodes if not t.is_view)
    ga = gg.GraphAllocator(buft)
    ga.alloc_graph(m.graph)
    for t in nodes:
        if not t.is_view:
            assert t.buffer is ga
    assert ga.plan().verify() == 0


def test_model_weights_split_by_max_size():
    """A device's max buffer size splits the weights into several buffers (the library's job);
    every weight still gets memory and the total covers them all."""
    m = models.mlp(n_layers=3, width=64, batch=4)
    wtensors = list(m.weights.values())
    biggest = max(t.nbytes for t in wtensors)
    buft = gg.host_buffer_type(32, max_size=biggest + 64)
    buf = m.allocate(buft)[0]
    assert buf.size >= sum(t.nbytes for t in wtensors)
    assert all(t.is_allocated for t in wtensors)
    # Three weight matrices that each nearly fill a buffer cannot share one.
    assert len({t._live().buffer for t in wtensors if t.nbytes == biggest}) == 3
