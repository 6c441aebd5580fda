"""Memory ownership (ggalloc/_memory.py): objects left to the garbage collector are freed as
promptly as with close(), and the process does not grow over create/plan/free cycles."""

import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ggalloc as gg
from ggalloc import _memory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cycle_galloc():
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (64, 64), name="x").set_input()
    y = gg.relu(x * 2.0 + x)
    g = gg.Graph(y)
    ga = gg.GraphAllocator(gg.host_buffer_type(32))
    ga.alloc_graph(g)
    ga.plan()
    x.set(np.ones((64, 64), np.float32))
    _ = y.array()


def _cycle_compute():
    wctx, ctx = gg.Context(), gg.Context()
    w = wctx.tensor(np.float32, (8, 8), name="w")
    buf = gg.alloc_ctx_tensors(wctx, gg.cpu_buffer_type())
    w.set(np.eye(8, dtype=np.float32))
    x = ctx.tensor(np.float32, (2, 8), name="x").set_input()
    y = gg.mul_mat(w, x, ctx=ctx)
    g = gg.Graph(y)
    cpu = gg.CPUBackend(n_threads=1)
    ga = gg.GraphAllocator(cpu)
    ga.alloc_graph(g)
    x.set(np.ones((2, 8), np.float32))
    cpu.compute(g)
    assert y.numpy().sum() == 16
    assert buf is not None


def _cycle_sched():
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (4, 4), name="x").set_input()
    y = gg.neg(x)
    g = gg.Graph(y)
    cpu = gg.CPUBackend(n_threads=1)
    s = gg.Scheduler([cpu])
    s.alloc_graph(g)
    x.set(np.ones((4, 4), np.float32))
    s.compute(g)
    s.plan()


@pytest.mark.parametrize("cycle", [_cycle_galloc, _cycle_compute, _cycle_sched])
def test_dropped_objects_form_no_reference_cycle(cycle):
    """Everything a cycle made is freed by reference counting alone: the cycle collector finds
    nothing (a record holding its allocator made a loop of 26 objects per cycle)."""
    cycle()
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        cycle()
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_memory_of_a_dropped_allocator_lives_while_its_tensors_do():
    """Dropping the GraphAllocator without close() keeps its buffers for the placed tensors."""
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (3,), name="x").set_input()
    ga = gg.GraphAllocator(gg.cpu_buffer_type())
    ga.alloc_graph(gg.Graph(gg.neg(x)))
    del ga
    gc.collect()
    x.set(np.arange(3, dtype=np.float32))
    assert x.numpy().tolist() == [0, 1, 2]
    assert x.buffer is None            # the allocator object itself is gone


def test_closed_allocator_records_say_why():
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (3,), name="x").set_input()
    ga = gg.GraphAllocator(gg.cpu_buffer_type())
    ga.alloc_graph(gg.Graph(gg.neg(x)))
    assert x.buffer is ga
    ga.close()
    with pytest.raises(gg.ClosedError, match="its GraphAllocator was closed"):
        x.numpy()
    assert not x.is_allocated


def test_views_are_owned_through_their_root():
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (4, 4), name="x")
    v = gg.view_1d(x, 4, 16)
    buf = gg.alloc_ctx_tensors(ctx, gg.cpu_buffer_type())
    assert _memory.root(v._ptr) == x._ptr
    assert v.buffer is buf and x.buffer is buf
    buf.close()
    with pytest.raises(gg.ClosedError, match="its Buffer was closed"):
        v.numpy()


_RSS_SCRIPT = textwrap.dedent("""
    import sys, numpy as np, ggalloc as gg
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    bt = gg.host_buffer_type(32)
    def cycle(close):
        ctx = gg.Context()
        x = ctx.tensor(np.float32, (64, 64), name="x")
        g = gg.Graph(gg.relu(x * 2.0 + x))
        ga = gg.GraphAllocator(bt)
        ga.alloc_graph(g)
        ga.plan()
        if close:
            ga.close(); g.close(); ctx.close()
    close = sys.argv[1] == "close"
    for _ in range(300):
        cycle(close)
    samples = []
    for i in range(int(sys.argv[2])):
        cycle(close)
        if i % 50 == 0:
            samples.append(rss())
    print(max(samples) - min(samples))
""")


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc to read the RSS")
@pytest.mark.parametrize("mode", ["gc", "close"])
def test_rss_stays_flat_over_create_plan_free_cycles(mode):
    """2000 cycles of a 3 MB context, a graph and an allocator, left to the garbage collector
    or closed: the RSS varies by less than 1 MB (contexts piling up for the cycle collector
    made it vary by 3.8 MB and grow by ~400 B per cycle over 10k cycles)."""
    r = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, mode, "2000"], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT}, timeout=300)
    assert r.returncode == 0, r.stderr
    spread = int(r.stdout.split()[-1])
    assert spread < 1 << 20, f"RSS varied by {spread} bytes over 2000 cycles ({mode})"
