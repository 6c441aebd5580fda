"""Thread safety of the Python package (see ggalloc/_memory.py, "Threads"):

- computes on one backend (or scheduler) run one at a time: a second thread's compute waits;
- closing anything a running compute uses (backend, scheduler, graph, context, buffer, graph
  allocator) from another thread waits until the compute returns, and re-planning waits too;
  later uses raise ClosedError.

Each scenario runs in its own process with a timeout, so a crash or a deadlock fails the test
instead of killing or hanging pytest.
"""

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_PRELUDE = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    import ggalloc as gg

    N = 128
    def build(ctx, wctx=None, layers=8):
        wctx = ctx if wctx is None else wctx
        w = wctx.tensor(np.float32, (N, N), name="w")
        x = ctx.tensor(np.float32, (N, N), name="x").set_input()
        y = x
        for _ in range(layers):
            y = gg.mul_mat(w, y, ctx=ctx) * (1.0 / N)
        y.set_output()
        return w, x, y, gg.Graph(y)

    def expected(layers=8):
        w = np.full((N, N), 1.0, np.float32)
        y = np.full((N, N), 2.0, np.float32)
        for _ in range(layers):
            y = (y @ w.T) / N
        return y

    def runner(fn, errors, done):
        # runs fn until it raises: after the close, the next call must raise ClosedError
        def run():
            try:
                while True:
                    fn()
            except gg.ClosedError as e:
                errors.append(e)
            except BaseException as e:  # anything else is a failure
                errors.append(e)
                done.set()
        t = threading.Thread(target=run)
        t.start()
        return t
""")


def _run(body: str, timeout: float = 120) -> str:
    code = _PRELUDE + textwrap.dedent(body)
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout,
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scenario did not finish in {timeout} s (a deadlock)")
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def test_two_threads_compute_on_one_backend_one_at_a_time():
    """Two threads, one CPUBackend(n_threads=2), each with its graph: both finish with the right
    numbers (the threadpool used to deadlock)."""
    out = _run("""
        cpu = gg.CPUBackend(n_threads=2)
        want = expected()
        results = []
        def work():
            ctx = gg.Context()
            w, x, y, g = build(ctx)
            ga = gg.GraphAllocator(cpu)
            ga.alloc_graph(g)
            w.set(np.ones((N, N), np.float32))
            x.set(np.full((N, N), 2.0, np.float32))
            for _ in range(4):
                cpu.compute(g)
                results.append(np.allclose(y.numpy(), want, rtol=1e-4))
        ts = [threading.Thread(target=work) for _ in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(len(results), all(results))
    """)
    assert out.split() == ["8", "True"]


def test_two_threads_compute_one_graph_on_one_scheduler():
    out = _run("""
        cpu = gg.CPUBackend(n_threads=2)
        sched = gg.Scheduler([cpu])
        ctx = gg.Context()
        w, x, y, g = build(ctx)
        w.set_input()
        sched.alloc_graph(g)
        w.set(np.ones((N, N), np.float32))
        x.set(np.full((N, N), 2.0, np.float32))
        errors = []
        def work():
            try:
                for _ in range(3):
                    sched.compute(g)
            except BaseException as e:
                errors.append(e)
        ts = [threading.Thread(target=work) for _ in range(2)]
        for t in ts: t.start()
        for t in ts: t.join()
        print(errors, np.allclose(y.numpy(), expected(), rtol=1e-4))
    """)
    assert out.split() == ["[]", "True"]


CLOSE_TARGETS = {
    "backend": "cpu",
    "allocator": "ga",
    "context": "ctx",
    "weights_context": "wctx",
    "buffer": "wbuf",
    "graph": "g",
}


@pytest.mark.parametrize("target", sorted(CLOSE_TARGETS))
def test_close_while_another_thread_computes_waits(target):
    """close() of anything the running compute uses returns once that compute has returned;
    the computing thread then gets ClosedError, never a segfault."""
    out = _run(f"""
        cpu = gg.CPUBackend(n_threads=2)
        ctx, wctx = gg.Context(), gg.Context()
        w, x, y, g = build(ctx, wctx)
        wbuf = gg.alloc_ctx_tensors(wctx, cpu)
        w.set(np.ones((N, N), np.float32))
        ga = gg.GraphAllocator(cpu)
        ga.alloc_graph(g)
        x.set(np.full((N, N), 2.0, np.float32))
        cpu.compute(g)
        assert np.allclose(y.numpy(), expected(), rtol=1e-4)
        errors, done = [], threading.Event()
        t = runner(lambda: cpu.compute(g), errors, done)
        time.sleep(0.05)
        {CLOSE_TARGETS[target]}.close()
        {CLOSE_TARGETS[target]}.close()   # idempotent
        done.set()
        t.join(60)
        print(t.is_alive(), [type(e).__name__ for e in errors])
    """)
    assert out.split() == ["False", "['ClosedError']"], out


@pytest.mark.parametrize("target", ["sched", "cpu", "ctx", "g"])
def test_close_while_a_scheduler_computes_waits(target):
    out = _run(f"""
        cpu = gg.CPUBackend(n_threads=2)
        sched = gg.Scheduler([cpu])
        ctx = gg.Context()
        w, x, y, g = build(ctx)
        w.set_input()
        sched.alloc_graph(g)
        w.set(np.ones((N, N), np.float32))
        x.set(np.full((N, N), 2.0, np.float32))
        errors, done = [], threading.Event()
        t = runner(lambda: sched.compute(g), errors, done)
        time.sleep(0.05)
        {target}.close()
        done.set()
        t.join(60)
        print(t.is_alive(), [type(e).__name__ for e in errors])
    """)
    assert out.split() == ["False", "['ClosedError']"], out


@pytest.mark.parametrize("target", ["ga", "ctx", "wbuf"])
def test_close_while_another_thread_reads_and_writes_tensors_waits(target):
    """numpy() and set() mark the memory they copy in use, as compute does."""
    out = _run(f"""
        ctx, wctx = gg.Context(), gg.Context()
        w, x, y, g = build(ctx, wctx)
        wbuf = gg.alloc_ctx_tensors(wctx, gg.cpu_buffer_type())
        ga = gg.GraphAllocator(gg.cpu_buffer_type())
        ga.alloc_graph(g)
        big = np.ones((N, N), np.float32)
        def rw():
            w.set(big); x.set(big); y.numpy(); w.numpy()
        errors, done = [], threading.Event()
        t = runner(rw, errors, done)
        time.sleep(0.05)
        {target}.close()
        done.set()
        t.join(60)
        print(t.is_alive(), [type(e).__name__ for e in errors])
    """)
    assert out.split() == ["False", "['ClosedError']"], out


def test_replanning_while_another_thread_computes_waits():
    """alloc_graph of another graph on the allocator in use waits for the compute; the first
    graph's tensors then say they were re-planned."""
    out = _run("""
        cpu = gg.CPUBackend(n_threads=2)
        ctx = gg.Context()
        w, x, y, g = build(ctx)
        w.set_input()
        ga = gg.GraphAllocator(cpu)
        ga.alloc_graph(g)
        w.set(np.ones((N, N), np.float32))
        x.set(np.full((N, N), 2.0, np.float32))
        errors, done = [], threading.Event()
        t = runner(lambda: cpu.compute(g), errors, done)
        time.sleep(0.05)
        ctx2 = gg.Context()
        g2 = gg.Graph(gg.neg(ctx2.tensor(np.float32, (N * 4, N), name="z")))
        for _ in range(3):
            ga.alloc_graph(g2)
            ga.alloc_graph(g)
            w.set(np.ones((N, N), np.float32))
            x.set(np.full((N, N), 2.0, np.float32))
        ga.alloc_graph(g2)
        done.set()
        t.join(60)
        print(t.is_alive(), [type(e).__name__ for e in errors])
    """)
    assert out.split() == ["False", "['ClosedError']"], out


def test_close_from_the_computing_thread_raises_instead_of_deadlocking():
    """A log handler that closes the backend during its own compute gets ClosedError."""
    out = _run("""
        import logging
        cpu = gg.CPUBackend(n_threads=1)
        ctx = gg.Context()
        x = ctx.tensor(np.float32, (4,), name="x").set_input()
        g = gg.Graph(gg.neg(x))
        ga = gg.GraphAllocator(cpu)
        ga.alloc_graph(g)
        x.set(np.ones(4, np.float32))
        from ggalloc import _memory
        with _memory.hold(shared=[ga]):
            try:
                ga.close()
            except gg.ClosedError as e:
                print("ClosedError", "in use by a compute in this thread" in str(e))
        ga.close()
        print(ga.closed)
    """)
    assert out.split() == ["ClosedError", "True", "True"], out
