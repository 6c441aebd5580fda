"""gg.Scheduler: graphs split over backends, plans read back and verified, results equal to the
same graph on the CPU alone. The Vulkan cases skip, with the reason, where there is no device."""

import numpy as np
import pytest

import ggalloc as gg

N_IN, N_HID, N_OUT = 32, 64, 16


def _weights(buft):
    wctx = gg.Context()
    w1 = wctx.tensor(np.float32, (N_HID, N_IN), name="w1")
    w2 = wctx.tensor(np.float32, (N_OUT, N_HID), name="w2")
    buf = gg.alloc_ctx_tensors(wctx, buft)
    buf.usage = "weights"
    rng = np.random.default_rng(1)
    W1 = rng.standard_normal((N_HID, N_IN)).astype(np.float32) * 0.2
    W2 = rng.standard_normal((N_OUT, N_HID)).astype(np.float32) * 0.2
    w1.set(W1)
    w2.set(W2)
    return (wctx, buf, w1, w2), W1, W2


def _graph(w1, w2, n_tok):
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (n_tok, N_IN), name="x")
    x.set_input()
    h = gg.gelu(gg.mul_mat(w1, x))
    s = gg.sum_rows(h)          # the op the Vulkan device lacks
    y = gg.scale(gg.mul_mat(w2, gg.mul(h, s)), 0.5)
    y.set_output()
    return ctx, gg.Graph(y), x, h, s, y


def _expected(W1, W2, X):
    h = X @ W1.T
    h = 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))
    p = h * h.sum(axis=1, keepdims=True)
    return 0.5 * (p @ W2.T)


def test_two_cpu_backends_and_user_assignment():
    cpu0, cpu1 = gg.CPUBackend(n_threads=1), gg.CPUBackend(n_threads=1)
    (wctx, buf, w1, w2), W1, W2 = _weights(gg.cpu_buffer_type())
    for planner in ("best", "ggml"):
        # the best planner with a search budget: the same outputs, a valid plan
        sched = gg.Scheduler([cpu0, cpu1], planner=planner, time_budget=0.05 if planner == "best" else 0)
        assert sched.planner == planner and sched.n_copies == 1
        assert sched.time_budget == (0.05 if planner == "best" else 0)
        ctx, g, x, h, s, y = _graph(w1, w2, 5)
        sched.set_tensor_backend(s, cpu1)
        assert sched.alloc_graph(g)
        assert sched.tensor_backend(h) is cpu0 and sched.tensor_backend(s) is cpu1
        assert sched.n_splits == 3
        X = np.random.default_rng(2).standard_normal((5, N_IN)).astype(np.float32)
        x.set(X)
        sched.compute(g)
        np.testing.assert_allclose(y.numpy(), _expected(W1, W2, X), rtol=1e-4, atol=1e-5)
        plan = sched.plan()
        assert plan.verify() == 0
        assert plan.peak == sched.buffer_size(cpu0) + sched.buffer_size(cpu1)
        assert plan.peak >= plan.lower_bound
        # one buffer type: one buffer, counted at the first backend
        assert sched.buffer_size(cpu1) == 0
        # the next graph forgets the assignment
        ctx2, g2, x2, h2, s2, y2 = _graph(w1, w2, 7)
        sched.alloc_graph(g2)
        assert sched.tensor_backend(s2) is cpu0 and sched.n_splits == 1
        sched.close()
        sched.close()
        with pytest.raises(gg.ClosedError):
            sched.n_splits


def test_refusals():
    cpu = gg.CPUBackend(n_threads=1)
    with pytest.raises(gg.BadInputError):
        gg.Scheduler([])
    with pytest.raises(gg.BadInputError):
        gg.Scheduler([cpu], planner="fastest")
    with pytest.raises(gg.BadInputError, match="time budget"):
        gg.Scheduler([cpu], time_budget=-1)
    sched = gg.Scheduler([cpu])
    with pytest.raises(gg.ArgumentTypeError):
        sched.time_budget = None
    sched.time_budget = 2
    assert sched.time_budget == 2
    with pytest.raises(gg.BadInputError):
        sched.buffer_size(gg.CPUBackend(n_threads=1))
    with pytest.raises(gg.GraphError):
        sched.plan()
    with pytest.raises(ValueError):  # BadInputError derives from ValueError
        gg.Scheduler([cpu, "not a backend"])


def _vulkan():
    if not gg.HAS_VULKAN:
        pytest.skip("built without Vulkan")
    if not gg.vulkan_devices():
        pytest.skip("no Vulkan device")
    return gg.VulkanBackend(0)


@pytest.mark.parametrize("parallel", [False, True])
def test_vulkan_and_cpu(parallel):
    vk = _vulkan()
    cpu = gg.CPUBackend(n_threads=2)
    (wctx, buf, w1, w2), W1, W2 = _weights(vk.buffer_type)
    sizes = {}
    for planner in ("ggml", "best"):
        sched = gg.Scheduler([vk, cpu], planner=planner, parallel=parallel)
        assert sched.n_copies == (4 if parallel else 1)
        for n_tok in (3, 9, 3):
            ctx, g, x, h, s, y = _graph(w1, w2, n_tok)
            sched.alloc_graph(g)
            assert sched.tensor_backend(h) is vk and sched.tensor_backend(s) is cpu and sched.tensor_backend(y) is vk
            assert sched.n_splits == 3
            X = np.random.default_rng(n_tok).standard_normal((n_tok, N_IN)).astype(np.float32)
            x.set(X)
            sched.compute(g)
            np.testing.assert_allclose(y.numpy(), _expected(W1, W2, X), rtol=1e-3, atol=1e-4)
            for b in (vk, cpu):
                p = sched.plan(b)
                assert p.verify() == 0
                assert p.peak == sched.buffer_size(b) >= p.lower_bound
                assert all(e.buffer_id == 0 for e in p.entries)
        sizes[planner] = sched.buffer_size(vk) + sched.buffer_size(cpu)
    assert sizes["best"] <= sizes["ggml"]
