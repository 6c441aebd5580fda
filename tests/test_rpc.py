"""RPC backends from Python: graphs planned in a server's memory and computed there equal the
CPU's result, against ggalloc's server (in the process and as ``python3 -m ggalloc rpc-server``)
and ggml's own server (skipped when the peer program is absent); errors are DeviceErrors."""

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import ggalloc as gg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.environ.get("GGALLOC_RPC_PEER") or os.path.join(ROOT, "..", "shared", "peers", "ggml-rpc-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=10.0):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_process(cmd, port):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port, proc):
        proc.kill()
        proc.wait()
        pytest.fail(f"{cmd[0]} did not start listening on port {port}")
    return proc


def stop_process(proc):
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.fixture(scope="module")
def ours():
    with gg.RPCServer("127.0.0.1:0", [gg.CPUBackend(n_threads=1)]) as srv:
        yield srv.endpoint


@pytest.fixture(scope="module")
def peer():
    if not os.access(PEER, os.X_OK):
        pytest.skip("ggml's RPC server (../shared/peers/ggml-rpc-server) is absent")
    port = free_port()
    proc = start_process([PEER, f"127.0.0.1:{port}", "1"], port)
    yield f"127.0.0.1:{port}"
    stop_process(proc)


def mlp(ctx):
    x = ctx.tensor(np.float32, (8, 64), name="x").set_input()
    w1 = ctx.tensor(np.float32, (128, 64), name="w1").set_input()
    w2 = ctx.tensor(np.float32, (64, 128), name="w2").set_input()
    h = gg.gelu(gg.mul_mat(w1, x))
    y = gg.add(gg.mul_mat(w2, h), x).set_output()
    return x, w1, w2, y


def run(backend, buft, seed):
    rng = np.random.default_rng(seed)
    ctx = gg.Context()
    x, w1, w2, y = mlp(ctx)
    g = gg.Graph(y)
    galloc = gg.GraphAllocator(buft)
    galloc.alloc_graph(g)
    assert galloc.plan().verify() == 0
    assert galloc.lower_bound() <= galloc.buffer_size()
    x.set(rng.standard_normal((8, 64), dtype=np.float32))
    w1.set(rng.standard_normal((128, 64), dtype=np.float32) * 0.1)
    w2.set(rng.standard_normal((64, 128), dtype=np.float32) * 0.1)
    backend.compute(g)
    return y.numpy()


@pytest.mark.parametrize("server", ["ours", "peer"])
def test_graph_on_server_equals_cpu(server, request):
    endpoint = request.getfixturevalue(server)
    rpc = gg.RPCBackend(endpoint)
    assert rpc.endpoint == endpoint and rpc.device == 0
    buft = rpc.buffer_type
    assert buft.alignment == (32 if server == "peer" else gg.cpu_buffer_type().alignment)
    assert buft.max_size is None
    free, total = rpc.memory()
    assert 0 < total and free <= total
    cpu = gg.CPUBackend(n_threads=1)
    remote = run(rpc, buft, 3)
    local = run(cpu, gg.cpu_buffer_type(), 3)
    # ggml's CPU backend computes GELU through an f16 table: results agree to about 1e-3
    tol = 2e-3 if server == "peer" else 1e-6
    np.testing.assert_allclose(remote, local, rtol=tol, atol=tol)
    assert not np.allclose(remote, run(rpc, buft, 4))  # a different input gives a different result
    rpc.close()
    rpc.close()
    with pytest.raises(gg.ClosedError):
        rpc.compute(gg.Graph(gg.Context().tensor(np.float32, (2,))))


def test_errors():
    port = free_port()
    with pytest.raises(gg.DeviceError, match=f"127.0.0.1:{port}"):
        gg.RPCBackend(f"127.0.0.1:{port}")
    with pytest.raises(gg.DeviceError):
        gg.rpc_buffer_type(f"127.0.0.1:{port}")
    with pytest.raises(gg.DeviceError):
        gg.rpc_device_memory(f"127.0.0.1:{port}")
    with pytest.raises(gg.BadInputError):
        gg.RPCBackend("no-port")
    with pytest.raises(gg.BadInputError):
        gg.RPCBackend("127.0.0.1:1", device=-1)
    with pytest.raises(gg.BadInputError):
        gg.RPCServer("127.0.0.1:0", [])
    with pytest.raises(gg.BadInputError):
        gg.set_rpc_timeouts(-1)


def test_server_object(ours):
    srv = gg.RPCServer("127.0.0.1:0", memory_limit=1 << 20)
    assert srv.port > 0 and srv.endpoint.endswith(f":{srv.port}")
    assert "CPU" in repr(srv)
    buft = gg.rpc_buffer_type(srv.endpoint)
    buf = buft.alloc_buffer(4096)
    assert buf.size == 4096
    with pytest.raises(gg.GgallocError):
        buft.alloc_buffer(2 << 20)  # over the server's limit per client
    buf.close()
    srv.close()
    srv.close()
    assert srv.closed
    with pytest.raises(gg.ClosedError):
        srv.port


def test_cli_rpc_server():
    port = free_port()
    proc = start_process([sys.executable, "-m", "ggalloc", "rpc-server", f"127.0.0.1:{port}", "--threads", "1"], port)
    try:
        rpc = gg.RPCBackend(f"127.0.0.1:{port}")
        out = run(rpc, rpc.buffer_type, 5)
        np.testing.assert_allclose(out, run(gg.CPUBackend(n_threads=1), gg.cpu_buffer_type(), 5), rtol=1e-5, atol=1e-5)
    finally:
        stop_process(proc)
    # the server is gone: the next use fails with a DeviceError or ComputeError, never a hang
    gg.set_rpc_timeouts(io_ms=2000)
    with pytest.raises(gg.GgallocError, match=f"127.0.0.1:{port}"):
        run(rpc, rpc.buffer_type, 6)
    gg.set_rpc_timeouts(io_ms=120000)


def _gelu(h):
    return 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h ** 3)))


@pytest.mark.parametrize("second", ["ours", "peer"])
def test_scheduler_over_cpu_and_two_servers(second, request):
    """Layer 1's weights on one server, layer 2's on another, the head on the CPU: the
    scheduler splits the graph by where the weights are and plans each device's buffer."""
    other = gg.RPCServer("127.0.0.1:0", [gg.CPUBackend(n_threads=1)])
    ep_b = request.getfixturevalue(second) if second == "peer" else other.endpoint
    a, b, cpu = gg.RPCBackend(request.getfixturevalue("ours")), gg.RPCBackend(ep_b), gg.CPUBackend(n_threads=1)
    rng = np.random.default_rng(7)
    W = [rng.standard_normal((64, 64)).astype(np.float32) * 0.2 for _ in range(3)]
    kept = []
    ws = []
    for i, be in enumerate((a, b, cpu)):
        wctx = gg.Context()
        w = wctx.tensor(np.float32, (64, 64), name=f"w{i}")
        buf = gg.alloc_ctx_tensors(wctx, be.buffer_type)
        buf.usage = "weights"
        w.set(W[i])
        kept.append((wctx, buf))
        ws.append(w)
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (8, 64), name="x").set_input()
    h1 = gg.add(gg.gelu(gg.mul_mat(ws[0], x)), x)
    h2 = gg.add(gg.gelu(gg.mul_mat(ws[1], h1)), h1)
    y = gg.mul_mat(ws[2], h2).set_output()
    g = gg.Graph(y)
    sched = gg.Scheduler([a, b, cpu])
    assert sched.alloc_graph(g)
    assert sched.tensor_backend(h1) is a and sched.tensor_backend(h2) is b and sched.tensor_backend(y) is cpu
    assert sched.n_splits == 3
    for be in (a, b, cpu):
        assert sched.buffer_size(be) >= sched.lower_bound(be) > 0
    assert sched.plan().verify() == 0
    X = rng.standard_normal((8, 64)).astype(np.float32)
    x.set(X)
    sched.compute(g)
    H1 = _gelu(X @ W[0].T) + X
    H2 = _gelu(H1 @ W[1].T) + H1
    np.testing.assert_allclose(y.numpy(), H2 @ W[2].T, rtol=2e-3, atol=2e-3)
    sched.close()
    other.close()


class _ByLayer:
    """A weights context for models.gpt2 that puts layer i's weights in contexts[device(i)] and
    the rest (embeddings, final norm, head, KV cache) in contexts[-1]."""

    def __init__(self, contexts, device):
        self.contexts, self.device = contexts, device

    def tensor(self, dtype, shape, name=None):
        i = -1
        if name and name.startswith("model/h"):
            i = self.device(int(name[len("model/h"):].split("/")[0]))
        return self.contexts[i].tensor(dtype, shape, name=name)


@pytest.mark.parametrize("second", ["ours", "peer"])
def test_gpt2_split_over_cpu_and_two_servers(second, request):
    """models.gpt2 (4 layers) with layers 0-1 on one server, 2-3 on another, the rest on the
    CPU: the scheduler's forward pass gives the CPU-only run's logits and next tokens."""
    from ggalloc import models
    dims = dict(n_layer=4, n_embd=64, n_head=4, n_vocab=256, n_ctx=64, tokens=12, wtype="f32")
    cpu = gg.CPUBackend(n_threads=1)

    ref = models.gpt2(**dims)
    ref.allocate(cpu)
    ref.fill(seed=3)
    galloc = gg.GraphAllocator(cpu.buffer_type)
    galloc.alloc_graph(ref.graph)
    inputs = ref.input_values(seed=3)
    ref.set_inputs(inputs)
    cpu.compute(ref.graph)
    want = ref.outputs["logits"].numpy()

    other = gg.RPCServer("127.0.0.1:0", [gg.CPUBackend(n_threads=1)])
    ep_b = request.getfixturevalue(second) if second == "peer" else other.endpoint
    a, b = gg.RPCBackend(request.getfixturevalue("ours")), gg.RPCBackend(ep_b)
    ctxs = [gg.Context(no_alloc=True) for _ in range(3)]
    m = models.gpt2(**dims, wctx=_ByLayer(ctxs, lambda il: 0 if il < 2 else 1))
    bufs = [gg.alloc_ctx_tensors(c, be.buffer_type) for c, be in zip(ctxs, (a, b, cpu))]
    for buf in bufs:
        buf.usage = "weights"
    m.fill(seed=3)
    sched = gg.Scheduler([a, b, cpu])
    assert sched.alloc_graph(m.graph)
    assert sched.n_splits >= 3
    assert sched.plan().verify() == 0
    for be in (a, b, cpu):
        assert sched.buffer_size(be) >= sched.lower_bound(be) > 0
    m.set_inputs(inputs)
    sched.compute(m.graph)
    got = m.outputs["logits"].numpy()
    tol = 2e-3 if second == "peer" else 1e-5  # ggml's GELU goes through an f16 table
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert (got.argmax(axis=-1) == want.argmax(axis=-1)).all()
    sched.close()
    other.close()
