"""Ownership: children keep parents alive, close() frees early and is idempotent, anything used
after close raises GgallocError (never crashes), and nothing leaks over many cycles."""

import gc
import os
import weakref

import numpy as np
import pytest

import ggalloc as gg
import oracles


def small_graph(ctx, n=16):
    x = ctx.tensor(np.float32, (n,), name="x").set_input()
    y = gg.relu(gg.scale(x, 2.0)).set_output()
    return x, y, gg.Graph(y)


def test_tensor_keeps_its_context_alive():
    def make():
        ctx = gg.Context()
        return ctx.tensor(np.float32, (3, 4), name="t"), weakref.ref(ctx)
    t, ref = make()
    gc.collect()
    assert ref() is not None                 # the tensor holds its context
    assert t.shape == (3, 4) and t.context is ref()
    del t
    gc.collect()
    assert ref() is None


def test_graph_keeps_its_context_alive(data_dir):
    g = gg.load_graph(os.path.join(data_dir, "graphs", "mlp-4x1024-b256.json"))
    ref = weakref.ref(g.context)
    gc.collect()
    assert ref() is not None and g.n_nodes == 12 and g.nodes[0].name


def test_buffer_view_keeps_memory_alive():
    with gg.Context() as ctx:
        t = ctx.tensor(np.float32, (1000,), name="t")
        buf = gg.alloc_ctx_tensors(ctx, gg.cpu_buffer_type())
        t.set(np.arange(1000, dtype=np.float32))
        arr = t.array()
        ref = weakref.ref(buf)
        del buf
        gc.collect()
        assert ref() is not None             # the tensor's owner record holds the buffer
        np.testing.assert_array_equal(arr, np.arange(1000))
        ref().close()
        with pytest.raises(gg.ClosedError):
            t.numpy()
        np.testing.assert_array_equal(arr, np.arange(1000))   # still readable: the view owns it
        assert arr.base is not None


def test_use_after_close_raises_everywhere(cpu):
    ctx = gg.Context()
    x, y, g = small_graph(ctx)
    galloc = gg.GraphAllocator(gg.cpu_buffer_type())
    galloc.alloc_graph(g)
    plan = galloc.plan()
    ctx.close()
    ctx.close()
    for fn in [lambda: x.shape, lambda: x.name, lambda: y.src, lambda: x.numpy(), lambda: x.set(np.zeros(16, np.float32)),
               lambda: gg.relu(x), lambda: ctx.tensor(np.float32, (2,)), lambda: g.nodes, lambda: g.n_leafs,
               lambda: galloc.alloc_graph(g), lambda: cpu.compute(g), lambda: list(ctx.tensors()), lambda: len(ctx),
               lambda: gg.Graph(y), lambda: plan.verify()]:
        with pytest.raises(gg.GgallocError):
            fn()
    assert "closed" in repr(x) and "closed" in repr(ctx) and "closed" in repr(g)
    galloc.close()
    for fn in [galloc.plan, galloc.buffer_size, galloc.lower_bound, lambda: galloc.planner]:
        with pytest.raises(gg.ClosedError):
            fn()


def test_graph_close_and_backend_close():
    with gg.Context() as ctx:
        x, y, g = small_graph(ctx)
        with g:
            assert g.n_nodes == 2
        g.close()
        with pytest.raises(gg.ClosedError):
            g.nodes
        assert y.shape == (16,)              # the tensors are the context's, not the graph's
        b = gg.CPUBackend(1)
        assert b.n_threads == 1 and "CPUBackend(n_threads=1)" == repr(b)
        with b:
            pass
        b.close()
        with pytest.raises(gg.ClosedError):
            b.compute(gg.Graph(y))
        with pytest.raises(gg.ClosedError):
            b.name


def test_stale_pointers_are_replaced_before_allocating(cpu):
    # a tensor placed by a closed allocator is placed again by the next one, never reused stale
    with gg.Context() as ctx:
        x, y, g = small_graph(ctx, 4096)
        g1 = gg.GraphAllocator(gg.cpu_buffer_type())
        g1.alloc_graph(g)
        g1.close()
        with pytest.raises(gg.ClosedError):
            cpu.compute(g)
        g2 = gg.GraphAllocator(gg.cpu_buffer_type())
        g2.alloc_graph(g)
        assert oracles.check_plan(g) == []
        x.set(np.full(4096, -1.0, np.float32))
        cpu.compute(g)
        assert (y.numpy() == 0).all()


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cycle(i):
    with gg.Context(max_tensors=64) as ctx:
        x = ctx.tensor(np.float32, (32, 16), name="x").set_input()
        w = ctx.tensor(np.float32, (8, 16), name="w")
        y = gg.add(gg.silu(gg.mul_mat(w, x)), gg.mul_mat(w, x)).set_output()
        g = gg.Graph(y, size=64)
        with gg.GraphAllocator(gg.host_buffer_type(32), planner="best" if i % 2 else "ggml") as galloc:
            galloc.alloc_graph(g)
            plan = galloc.plan()
            assert plan.peak > 0
            if i % 100 == 0:
                x.set(np.ones((32, 16), np.float32))
                assert x.array().sum() == 512
        with gg.cpu_buffer_type().alloc_buffer(4096) as buf:
            gg.TensorAllocator(buf).alloc(ctx.tensor(np.float32, (100,)))
        g.close()
    gg.plan_intervals([64, 64], [0, 1], [1, 2])


def test_nothing_leaks_over_10000_cycles():
    for i in range(500):
        cycle(i)
    gc.collect()
    before = rss_bytes()
    for i in range(10_000):
        cycle(i)
    gc.collect()
    grown = rss_bytes() - before
    # a leak of 400 bytes per cycle would show as 4 MB
    assert grown < 4 << 20, f"RSS grew by {grown} bytes over 10,000 cycles"


def test_oracle_catches_a_broken_plan():
    # the checker must fail on a plan that breaks the rules: move one live tensor onto another
    from ggalloc._lib import ffi
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, (64,), name="x").set_input()
        a = gg.exp(x)
        b = gg.exp(x)
        y = gg.add(a, b).set_output()
        g = gg.Graph(y)
        galloc = gg.GraphAllocator(gg.host_buffer_type(32))
        galloc.alloc_graph(g)
        assert oracles.check_plan(g) == []
        saved = a._ptr.data
        a._ptr.data = b._ptr.data            # a and b are both live when y reads them
        problems = oracles.check_plan(g)
        assert any("share bytes" in p for p in problems)
        a._ptr.data = ffi.cast("char *", x._ptr.data)    # over the input, read again by b
        assert oracles.check_plan(g)
        a._ptr.data = ffi.cast("char *", saved) + 4       # misaligned
        assert any("multiple" in p for p in oracles.check_plan(g))
        a._ptr.data = saved
        assert oracles.check_plan(g) == []


def test_views_outlive_everything_they_need():
    # the view holds the memory and the buffer type that frees it, in that order
    bt = gg.failing_buffer_type(1 << 20)
    buf = bt.alloc_buffer(100)
    buf.clear(3)
    arr = buf.array()
    del bt
    buf.close()
    del buf
    gc.collect()
    assert (arr == 3).all()
    with gg.Context() as ctx:
        x, y, g = small_graph(ctx)
        galloc = gg.GraphAllocator(gg.failing_buffer_type(1 << 20))
        galloc.alloc_graph(g)
        x.set(np.ones(16, np.float32))
        view = x.array()
        galloc.close()
        del galloc
        gc.collect()
        assert view.sum() == 16
    del arr, view
    gc.collect()
