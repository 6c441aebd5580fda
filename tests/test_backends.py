"""Backends: the CPU backend (threads, kernel sets, errors) and Vulkan where it was built and a
device exists (llvmpipe counts)."""

import platform

import numpy as np
import pytest

import ggalloc as gg
import oracles


def graph(ctx):
    x = ctx.tensor(np.float32, (5, 32), name="x").set_input()
    w = ctx.tensor(np.float32, (7, 32), name="w")
    y = gg.soft_max(gg.scale(gg.mul_mat(w, x), 0.25)).set_output()
    y.name = "y"
    return x, w, y, gg.Graph(y)


def reference(X, W):
    z = (X @ W.T) * 0.25
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_cpu_backend_facts(cpu):
    assert cpu.name == "CPU"
    assert cpu.buffer_type.is_host
    assert cpu.alignment >= 16
    assert cpu.max_size is None
    assert cpu.supports_buffer_type(gg.cpu_buffer_type())
    with pytest.raises(gg.BadInputError):
        cpu.n_threads = 0
    b = gg.CPUBackend()
    assert b.n_threads >= 1
    b.close()


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_cpu_compute_any_thread_count(n_threads):
    with gg.Context() as ctx, gg.CPUBackend(n_threads=n_threads) as b:
        x, w, y, g = graph(ctx)
        gg.GraphAllocator(b).alloc_graph(g)
        X = np.random.default_rng(n_threads).standard_normal((5, 32)).astype(np.float32)
        W = np.random.default_rng(9).standard_normal((7, 32)).astype(np.float32)
        x.set(X)
        w.set(W)
        assert b.supports_op(y)
        b.compute(g)
        np.testing.assert_allclose(y.numpy(), reference(X, W), rtol=1e-5, atol=1e-6)


def test_cpu_isa_choice(cpu):
    have = gg.cpu_isa()
    assert have in ("scalar", "avx2", "avx512", "neon")
    results = {}
    try:
        for isa in ("scalar", "avx2", "avx512", "neon"):
            try:
                gg.set_cpu_isa(isa)
            except gg.DeviceError:
                continue                           # this CPU lacks it
            assert gg.cpu_isa() == isa
            with gg.Context() as ctx:
                x, w, y, g = graph(ctx)
                gg.GraphAllocator(cpu).alloc_graph(g)
                x.set(np.ones((5, 32), np.float32))
                w.set(np.linspace(-1, 1, 7 * 32, dtype=np.float32).reshape(7, 32))
                cpu.compute(g)
                results[isa] = y.numpy()
    finally:
        gg.set_cpu_isa("auto")
    assert "scalar" in results
    for r in results.values():
        np.testing.assert_allclose(r, results["scalar"], rtol=1e-5)
    with pytest.raises(gg.BadInputError):
        gg.set_cpu_isa("sse9")
    if platform.machine().lower() in ("x86_64", "amd64"):
        with pytest.raises(gg.DeviceError):
            gg.set_cpu_isa("neon")                 # an arm64 kernel set, not built into an x86 library


def test_compute_errors_name_the_node(cpu):
    with gg.Context() as ctx:
        x, w, y, g = graph(ctx)
        with pytest.raises(gg.ComputeError) as e:
            cpu.compute(g)                          # nothing is placed
        assert e.value.log


def test_devices_list():
    devs = gg.devices()
    assert devs and devs[0]["type"] == "cpu"
    assert all({"name", "description", "memory_total"} <= set(d) for d in devs)


needs_vulkan = pytest.mark.skipif(not gg.HAS_VULKAN or not gg.vulkan_devices(),
                                  reason="no Vulkan device (or ggalloc built without Vulkan)")


def test_without_vulkan_says_so():
    if gg.HAS_VULKAN:
        with pytest.raises(gg.DeviceError, match="no Vulkan device"):
            gg.VulkanBackend(len(gg.vulkan_devices()) + 5)
    else:
        assert gg.vulkan_devices() == []
        with pytest.raises(gg.DeviceError, match="without Vulkan"):
            gg.VulkanBackend(0)
        with pytest.raises(gg.DeviceError):
            gg.vulkan_buffer_type(0)


@needs_vulkan
def test_vulkan_compute_matches_numpy():
    with gg.Context() as ctx, gg.VulkanBackend(0) as vk:
        bt = gg.vulkan_buffer_type(0)
        assert not bt.is_host and bt.max_size and bt.alignment >= 1
        assert vk.buffer_type == bt and "VulkanBackend(device=0" in repr(vk)
        x, w, y, g = graph(ctx)
        galloc = gg.GraphAllocator(vk)
        galloc.alloc_graph(g)
        assert galloc.plan().verify() == 0
        assert oracles.check_plan(g) == []
        X = np.random.default_rng(3).standard_normal((5, 32)).astype(np.float32)
        W = np.random.default_rng(4).standard_normal((7, 32)).astype(np.float32)
        x.set(X)
        w.set(W)
        vk.compute(g)
        assert not y.is_host
        np.testing.assert_allclose(y.numpy(), reference(X, W), rtol=1e-4, atol=1e-5)
        with pytest.raises(gg.GgallocError, match="device memory"):
            y.array()
