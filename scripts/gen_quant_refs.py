#!/usr/bin/env python3
"""Writes tests/data/quants/: a fixed f32 input and, for each quantized type, the bytes ggml's
own CPU backend produces when it copies that input into a tensor of the type.

The bytes come from ggml itself: the script talks to ggml's RPC server (a ggml build, see
../shared/peers/README.md) over its wire protocol (5.x): HELLO, ALLOC_BUFFER, BUFFER_GET_BASE,
SET_TENSOR the input, GRAPH_COMPUTE a one-node graph GGML_OP_DUP (f32 -> type), GET_TENSOR the
result; then the same with GGML_OP_GET_ROWS from those blocks back to f32 (ggml's dequantizer).
Run once; the output is committed and the tests compare against it.

    /usr/bin/python3 scripts/gen_quant_refs.py [path/to/ggml-rpc-server]
"""

import os
import socket
import struct
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "quants")
SERVER = os.path.join(ROOT, "..", "shared", "peers", "ggml-rpc-server")

# ggml's numbers (ggml.h): type ids, block size, bytes per block
TYPES = {
    "q4_0": (2, 32, 18), "q4_1": (3, 32, 20), "q5_0": (6, 32, 22), "q5_1": (7, 32, 24),
    "q8_0": (8, 32, 34), "q8_1": (9, 32, 36), "q2_K": (10, 256, 84), "q3_K": (11, 256, 110),
    "q4_K": (12, 256, 144), "q5_K": (13, 256, 176), "q6_K": (14, 256, 210), "q8_K": (15, 256, 292),
    "iq4_nl": (20, 32, 18), "tq1_0": (34, 256, 54), "tq2_0": (35, 256, 66), "mxfp4": (39, 32, 17),
}
GGML_TYPE_F32, GGML_TYPE_I32 = 0, 26
GGML_OP_GET_ROWS = 40    # at d99724f2 (the order of ggml_op_name's table in the server binary)
# ggml's CPU backend has no quantized -> f32 copy for these (they are activation formats)
NO_TO_FLOAT = {"q8_1", "q8_K"}
GGML_TENSOR_FLAG_COMPUTE = 16  # ggml's CPU backend skips graph nodes without it
GGML_OP_DUP = 1          # the same in every ggml version; CPY (34 at d99724f2) runs the same kernel

CMD_ALLOC_BUFFER, CMD_BUFFER_GET_BASE, CMD_FREE_BUFFER = 0, 3, 4
CMD_SET_TENSOR, CMD_GET_TENSOR, CMD_GRAPH_COMPUTE, CMD_HELLO = 6, 8, 10, 14
CONN_CAPS = 24

NE0, NROWS = 512, 8


def make_input():
    """Eight rows of 512 with different shapes of data, deterministic."""
    rng = np.random.RandomState(20261205)
    rows = [
        rng.standard_normal(NE0),                                  # plain
        rng.uniform(-3, 3, NE0),                                   # flat
        rng.standard_normal(NE0) * 0.01,                           # small, with outliers below
        2.0 + 0.1 * rng.standard_normal(NE0),                      # all positive
        rng.standard_normal(NE0),                                  # zeros and repeats below
        np.round(rng.uniform(-3, 3, NE0)) * 0.5,                   # few distinct values: ties
        rng.standard_normal(NE0) * 1000.0,                         # large
        -np.abs(rng.standard_normal(NE0)) * 1e-3,                  # all negative, tiny
    ]
    rows[2][::61] *= 100.0
    rows[4][::7] = 0.0
    rows[4][1::13] = rows[4][1]
    return np.stack(rows).astype(np.float32)


def rpc_tensor(tid, ttype, buffer, ne, nb, data, op=0, src=(), view_src=0, name=b"", flags=0):
    op_params = [0] * 16
    srcs = list(src) + [0] * (10 - len(src))
    return struct.pack("<QIQ4I4II16ii10QQQQ64s4s", tid, ttype, buffer, *ne, *nb, op, *op_params, flags,
                       *srcs, view_src, 0, data, name, b"")


class Rpc:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, cmd, payload):
        self.s.sendall(struct.pack("<BQ", cmd, len(payload)) + payload)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise RuntimeError("server closed the connection")
            buf += chunk
        return buf

    def call(self, cmd, payload):
        self.send(cmd, payload)
        (size,) = struct.unpack("<Q", self.recv_exact(8))
        return self.recv_exact(size)


def _layout(t):
    row = NE0 // t[1] * t[2]
    return row * NROWS, (t[2], row, row * NROWS, row * NROWS)


def _run(rpc, n_bytes, inputs, node, n_out):
    """Allocates a buffer, sets the inputs ((rpc_tensor builder, bytes) at increasing offsets),
    computes the one-node graph and returns the node's first n_out bytes."""
    remote, _ = struct.unpack("<QQ", rpc.call(CMD_ALLOC_BUFFER, struct.pack("<IQ", 0, n_bytes)))
    (base,) = struct.unpack("<Q", rpc.call(CMD_BUFFER_GET_BASE, struct.pack("<Q", remote)))
    tensors, off = [], 0
    for make, data in inputs:
        t = make(remote, base + off)
        rpc.send(CMD_SET_TENSOR, t + struct.pack("<Q", 0) + data)
        tensors.append(t)
        off += (len(data) + 63) // 64 * 64
    n = node(remote, base + off)
    graph = struct.pack("<II", 0, 1) + struct.pack("<Q", 100) + struct.pack("<I", len(tensors) + 1) + b"".join(tensors) + n
    rpc.send(CMD_GRAPH_COMPUTE, graph)
    out = rpc.call(CMD_GET_TENSOR, n + struct.pack("<QQ", 0, n_out))
    rpc.call(CMD_FREE_BUFFER, struct.pack("<Q", remote))
    return out


NE = (NE0, NROWS, 1, 1)
F32 = (GGML_TYPE_F32, 1, 4)


def quantize_with_ggml(rpc, x, t):
    """ggml's DUP of the f32 input into type t (id, block size, bytes per block)."""
    n_in, nb_in = _layout(F32)
    n_out, nb_out = _layout(t)
    a = lambda remote, data: rpc_tensor(1, GGML_TYPE_F32, remote, NE, nb_in, data, name=b"x")
    node = lambda remote, data: rpc_tensor(100, t[0], remote, NE, nb_out, data, op=GGML_OP_DUP, src=(1,),
                                           name=b"q", flags=GGML_TENSOR_FLAG_COMPUTE)
    return _run(rpc, n_in + n_out + 256, [(a, x.tobytes())], node, n_out)


def dequantize_with_ggml(rpc, q, t):
    """ggml's GET_ROWS of every row of a type-t table into f32 (its to_float)."""
    n_in, nb_in = _layout(t)
    n_out, nb_out = _layout(F32)
    idx = np.arange(NROWS, dtype=np.int32)
    a = lambda remote, data: rpc_tensor(1, t[0], remote, NE, nb_in, data, name=b"q")
    i = lambda remote, data: rpc_tensor(2, GGML_TYPE_I32, remote, (NROWS, 1, 1, 1), (4, 4 * NROWS, 4 * NROWS, 4 * NROWS),
                                        data, name=b"rows")
    node = lambda remote, data: rpc_tensor(100, GGML_TYPE_F32, remote, NE, nb_out, data, op=GGML_OP_GET_ROWS,
                                           src=(1, 2), name=b"y", flags=GGML_TENSOR_FLAG_COMPUTE)
    return _run(rpc, n_in + n_out + 512, [(a, q), (i, idx.tobytes())], node, n_out)


def main():
    server = sys.argv[1] if len(sys.argv) > 1 else SERVER
    if not os.path.exists(server):
        sys.exit(f"ggml's RPC server not found at {server}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, f"127.0.0.1:{port}", "1"], stderr=None if os.environ.get("VERBOSE") else subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                rpc = Rpc(port)
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("the server did not accept connections")
        hello = rpc.call(CMD_HELLO, bytes(CONN_CAPS))
        print(f"ggml RPC server, protocol {hello[0]}.{hello[1]}.{hello[2]}")
        x = make_input()
        os.makedirs(OUT, exist_ok=True)
        x.tofile(os.path.join(OUT, "input-f32.bin"))
        for name, t in TYPES.items():
            q = quantize_with_ggml(rpc, x, t)
            with open(os.path.join(OUT, f"{name}.bin"), "wb") as f:
                f.write(q)
            if name in NO_TO_FLOAT:
                print(f"{name:7s} {len(q)} bytes")
                continue
            y = dequantize_with_ggml(rpc, q, t)
            with open(os.path.join(OUT, f"{name}-dequant-f32.bin"), "wb") as f:
                f.write(y)
            err = np.abs(np.frombuffer(y, dtype=np.float32).reshape(x.shape) - x).max(axis=1) / np.abs(x).max(axis=1)
            print(f"{name:7s} {len(q)} bytes, dequantized: largest error per row / row max {np.round(err, 4)}")
    finally:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    main()
