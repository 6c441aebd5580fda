"""Quantized types from Python: the type table, gg.quantize / gg.dequantize against the bytes and
values ggml itself produced (tests/data/quants, written by scripts/gen_quant_refs.py), quantized
tensors (set quantizes, numpy dequantizes, raw=True gives the blocks) and the CPU computing
with them."""

import os

import numpy as np
import pytest

import ggalloc as gg

DATA = os.path.join(os.path.dirname(__file__), "data", "quants")
GGML_TYPES = ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "tq1_0", "tq2_0",
              "mxfp4"]


def ggml_input():
    return np.fromfile(os.path.join(DATA, "input-f32.bin"), dtype=np.float32).reshape(8, 512)


def test_type_info_is_ggml_layout():
    # ggml-common.h: block sizes and bytes per block
    q4k = gg.type_info("q4_k")
    assert (q4k.name, q4k.id, q4k.block_size, q4k.type_size) == ("q4_K", 12, 256, 144)
    assert q4k.bits_per_weight == 4.5 and q4k.is_quantized and q4k.can_quantize and q4k.can_dequantize
    q8 = gg.type_info("Q8_0")
    assert (q8.block_size, q8.type_size, q8.bits_per_weight) == (32, 34, 8.5)
    assert gg.type_info("mxfp4").bits_per_weight == 4.25
    assert gg.type_info(np.float32).bits_per_weight == 32 and not gg.type_info("f32").is_quantized
    iq2 = gg.type_info("iq2_xxs")
    assert iq2.needs_imatrix and not iq2.can_quantize and iq2.type_size == 66
    ids = [t.id for t in gg.type_infos()]
    assert 4 not in ids and 31 not in ids and ids[-1] == 42 and len(ids) == 35
    with pytest.raises(gg.BadInputError):
        gg.type_info("q9_9")
    with pytest.raises(gg.BadInputError):
        gg.type_info(4)  # removed from ggml


@pytest.mark.parametrize("name", GGML_TYPES)
def test_quantize_matches_ggml_bytes(name):
    x = ggml_input()
    q = gg.quantize(x, name)
    expect = np.fromfile(os.path.join(DATA, f"{name}.bin"), dtype=np.uint8).reshape(8, -1)
    assert q.dtype == np.uint8 and q.shape == expect.shape
    assert np.array_equal(q, expect)
    y = gg.dequantize(q, name)
    assert np.array_equal(y, np.fromfile(os.path.join(DATA, f"{name}-dequant-f32.bin"), dtype=np.float32).reshape(8, 512))


def test_quantize_shapes_and_errors():
    x = np.random.default_rng(0).standard_normal((2, 3, 64)).astype(np.float32)
    q = gg.quantize(x, "q8_0")
    assert q.shape == (2, 3, 68)
    assert gg.dequantize(q, "q8_0").shape == (2, 3, 64)
    assert np.abs(gg.dequantize(q, "q8_0") - x).max() <= np.abs(x).max() / 127
    assert gg.quantize(x.astype(np.float64), "q4_0").shape == (2, 3, 36)
    with pytest.raises(gg.BadInputError, match="multiple of the block size 256"):
        gg.quantize(x, "q4_K")
    with pytest.raises(gg.BadInputError, match="importance matrix"):
        gg.quantize(np.zeros((1, 256), np.float32), "iq2_xxs")
    with pytest.raises(gg.BadInputError, match="not a quantized type"):
        gg.quantize(x, "f16")
    with pytest.raises(gg.BadInputError, match="float array"):
        gg.quantize(np.zeros((1, 32), np.int32), "q8_0")
    with pytest.raises(ValueError, match="multiple of 34 bytes"):
        gg.dequantize(np.zeros((1, 35), np.uint8), "q8_0")
    with pytest.raises(gg.BadInputError, match="uint8"):
        gg.dequantize(np.zeros((1, 34), np.int8), "q8_0")


def test_quantized_tensor_set_numpy_raw():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (3, 256)).astype(np.float32)
    with gg.Context(1 << 20, no_alloc=False) as ctx:
        t = ctx.tensor("q4_K", (3, 256), name="w")
        assert t.dtype == np.float32
        t.set(x)
        blocks = t.numpy(raw=True)
        assert blocks.shape == (3, 144) and np.array_equal(blocks, gg.quantize(x, "q4_K"))
        assert np.array_equal(t.numpy(), gg.dequantize(blocks, "q4_K"))
        assert np.abs(t.numpy() - x).max() <= 2 / 15 / 2 * 1.1  # half a 4-bit step of the range
        assert t.array(raw=True).shape == (3, 144)
        u = ctx.tensor("q4_K", (3, 256))
        u.set(blocks, raw=True)
        assert np.array_equal(u.numpy(raw=True), blocks)
        u.set(blocks.reshape(-1), raw=True)
        with pytest.raises(gg.BadInputError, match="float32"):
            t.set(x.astype(np.float64))
        with pytest.raises(gg.BadInputError, match="shape"):
            t.set(x[:2])
        with pytest.raises(gg.BadInputError, match="uint8"):
            t.set(x, raw=True)
        with pytest.raises(gg.BadInputError, match="array"):
            t.array()
        with pytest.raises(gg.BadInputError):
            ctx.tensor("q4_0", (2, 33))  # not whole blocks
        iq = ctx.tensor("iq2_xxs", (1, 256))
        with pytest.raises(gg.BadInputError, match="raw=True"):
            iq.numpy()
        assert iq.numpy(raw=True).size == 66


@pytest.mark.parametrize("name", ["q4_0", "q8_0", "q4_K", "q6_K", "q5_1", "iq4_nl"])
@pytest.mark.parametrize("n", [1, 9])
def test_mul_mat_with_quantized_weights(name, n):
    rng = np.random.default_rng(2)
    W = rng.uniform(-1, 1, (48, 512)).astype(np.float32)
    X = rng.uniform(-1, 1, (n, 512)).astype(np.float32)
    with gg.Context() as ctx, gg.CPUBackend(n_threads=2) as cpu:
        w = ctx.tensor(name, (48, 512), name="w").set_input()
        x = ctx.tensor(np.float32, (n, 512), name="x").set_input()
        y = gg.mul_mat(w, x).set_output()
        rows = ctx.tensor(np.int32, (2,), name="rows").set_input()
        emb = gg.get_rows(w, rows).set_output()
        g = gg.Graph(y, emb)
        galloc = gg.GraphAllocator(cpu.buffer_type)
        galloc.alloc_graph(g)
        w.set(W)
        x.set(X)
        rows.set(np.array([5, 0], np.int32))
        Wd = w.numpy()  # what the blocks hold (read before the plan reuses w's memory)
        cpu.compute(g)
        ref = X.astype(np.float64) @ Wd.T.astype(np.float64)
        # few rows: activations quantized to 8 bits, as ggml does; many rows: f32
        tol = (np.abs(Wd).sum(1)[None, :] * np.abs(X).max(1)[:, None] / 254 * 1.1) if n < 4 else 1e-4
        assert np.all(np.abs(y.numpy() - ref) <= tol)
        assert np.array_equal(emb.numpy(), Wd[[5, 0]])


def test_plan_cli_wtype_shrinks_weights(capsys):
    from ggalloc.cli import main
    sizes = {}
    for w in ("f16", "q8_0", "q4_k"):
        assert main(["plan", "gpt2-small", "--tokens", "8", "--layers", "2", "--wtype", w, "--json", "--no-progress"]) == 0
        import json
        sizes[w] = json.loads(capsys.readouterr().out)["weight_bytes"]
    assert sizes["f16"] > sizes["q8_0"] > sizes["q4_k"]
    with pytest.raises(SystemExit) as e:
        main(["plan", "gpt2-small", "--wtype", "iq2_xxs"])
    assert e.value.code == 2
    assert "not a weight type here" in capsys.readouterr().err
    assert main(["plan", "mlp", "--wtype", "q4_0", "--no-progress"]) == 2


@pytest.mark.parametrize("wtype,tokens", [("q4_k", 6), ("q8_0", 2)])
def test_quantized_gpt2_matches_numpy(wtype, tokens):
    from ggalloc import models
    from ggalloc.demo import NMSE_LIMIT, run_gpt2
    m = models.gpt2(n_layer=2, n_embd=256, n_head=4, n_vocab=300, n_ctx=64, tokens=tokens, wtype=wtype)
    with gg.CPUBackend(n_threads=2) as cpu:
        r = run_gpt2(m, cpu, progress=False)
    # many tokens: f32 on the dequantized weights; few: activations rounded to 8 bits, as in ggml
    assert r["nmse"] < (NMSE_LIMIT if tokens >= 4 else 1e-3)
    assert r["violations"] == 0


@pytest.mark.skipif(not gg.HAS_VULKAN or not gg.vulkan_devices(), reason="no Vulkan device (or built without Vulkan)")
@pytest.mark.parametrize("name", ["q4_0", "q8_0"])
@pytest.mark.parametrize("n", [1, 7])
def test_vulkan_mul_mat_and_get_rows_with_quantized_weights(name, n):
    rng = np.random.default_rng(3)
    W = rng.uniform(-1, 1, (2, 40, 96)).astype(np.float32)   # two batches of weights, broadcast
    X = rng.uniform(-1, 1, (4, n, 96)).astype(np.float32)
    with gg.Context() as ctx, gg.VulkanBackend(0) as vk:
        w = ctx.tensor(name, (2, 40, 96), name="w").set_input()
        x = ctx.tensor(np.float32, (4, n, 96), name="x").set_input()
        y = gg.mul_mat(w, x).set_output()
        rows = ctx.tensor(np.int32, (3,), name="rows").set_input()
        table = ctx.tensor(name, (40, 96), name="table").set_input()
        emb = gg.get_rows(table, rows).set_output()
        g = gg.Graph(y, emb)
        gg.GraphAllocator(vk.buffer_type).alloc_graph(g)
        w.set(W)
        x.set(X)
        table.set(W[0])
        rows.set(np.array([39, 0, 7], np.int32))
        Wd = w.numpy().astype(np.float64)  # read before the plan reuses w's memory
        T = table.numpy()
        vk.compute(g)
        ref = np.stack([X[i].astype(np.float64) @ Wd[i // 2].T for i in range(4)])
        assert np.abs(y.numpy() - ref).max() <= 1e-5 * np.abs(ref).max() + 1e-5
        assert np.array_equal(emb.numpy(), T[[39, 0, 7]])


def _gguf_q8_0_tensors(path):
    """The Q8_0 tensors of a GGUF file (name -> raw blocks): a reader just big enough for this
    check (the library's own GGUF support is tested elsewhere)."""
    import struct
    buf = open(path, "rb").read()
    assert buf[:4] == b"GGUF"
    off = 8
    n_tensors, n_kv = struct.unpack_from("<QQ", buf, off)
    off += 16
    scalar = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    alignment = 32

    def skip_value(off, vt):
        if vt in scalar:
            return off + scalar[vt]
        if vt == 8:
            (n,) = struct.unpack_from("<Q", buf, off)
            return off + 8 + n
        assert vt == 9
        et, n = struct.unpack_from("<IQ", buf, off)
        off += 12
        for _ in range(n):
            off = skip_value(off, et)
        return off

    for _ in range(n_kv):
        (n,) = struct.unpack_from("<Q", buf, off)
        key = buf[off + 8:off + 8 + n].decode()
        off += 8 + n
        (vt,) = struct.unpack_from("<I", buf, off)
        off += 4
        if key == "general.alignment":
            (alignment,) = struct.unpack_from("<I", buf, off)
        off = skip_value(off, vt)
    infos = []
    for _ in range(n_tensors):
        (n,) = struct.unpack_from("<Q", buf, off)
        name = buf[off + 8:off + 8 + n].decode()
        off += 8 + n
        (nd,) = struct.unpack_from("<I", buf, off)
        dims = struct.unpack_from(f"<{nd}Q", buf, off + 4)
        ttype, toff = struct.unpack_from("<IQ", buf, off + 4 + 8 * nd)
        off += 4 + 8 * nd + 12
        infos.append((name, dims, ttype, toff))
    data = (off + alignment - 1) // alignment * alignment
    out = {}
    for name, dims, ttype, toff in infos:
        if ttype == 8:
            rows = int(np.prod(dims[1:]))
            row_bytes = dims[0] // 32 * 34
            out[name] = np.frombuffer(buf, np.uint8, rows * row_bytes, data + toff).reshape(rows, row_bytes)
    return out


def test_q8_0_blocks_of_a_ggml_written_gguf_requantize_to_themselves():
    # tests/data/gguf/tiny-llama-q8_0.gguf was quantized by ggml itself
    path = os.path.join(os.path.dirname(__file__), "data", "gguf", "tiny-llama-q8_0.gguf")
    tensors = _gguf_q8_0_tensors(path)
    assert len(tensors) >= 10
    for name, blocks in tensors.items():
        again = gg.quantize(gg.dequantize(blocks, "q8_0"), "q8_0")
        assert np.array_equal(again, blocks), name


# every type the CPU can quantize into (the activation formats q8_1 and q8_K included): cpy and
# dup from f32 give the bytes of ggml's reference quantizer, as does Tensor.set
@pytest.mark.parametrize("name", GGML_TYPES + ["q8_1", "q8_K", "iq4_nl"])
def test_cpy_from_f32_into_quantized(name):
    X = ggml_input()[:3].copy()
    expect = gg.quantize(X, name)
    with gg.Context() as ctx, gg.CPUBackend(n_threads=2) as cpu:
        x = ctx.tensor(np.float32, (3, 512), name="x").set_input()
        q = ctx.tensor(name, (3, 512), name="q")
        c = gg.cpy(x, q).set_output()
        xt = ctx.tensor(np.float32, (512, 3), name="xt").set_input()
        c2 = gg.cpy(gg.transpose(xt), ctx.tensor(name, (3, 512), name="q2")).set_output()
        g = gg.Graph(c, c2)
        galloc = gg.GraphAllocator(cpu.buffer_type)
        galloc.alloc_graph(g)
        x.set(X)
        xt.set(np.ascontiguousarray(X.T))
        cpu.compute(g)
        assert np.array_equal(c2.numpy(raw=True), c.numpy(raw=True))
        if name == "iq4_nl":
            # cpy quantizes with the row reference (ggml's CPU from_float), which tries one scale
            # per block; ggml_quantize_chunk searches more: same format, a fit no better
            err = ((gg.dequantize(c.numpy(raw=True), name) - X) ** 2 * X ** 2).sum()
            assert err >= ((gg.dequantize(expect, name) - X) ** 2 * X ** 2).sum() * 0.9999
            assert np.abs(gg.dequantize(c.numpy(raw=True), name) - X).max() <= np.abs(X).max() / 7
        else:
            assert np.array_equal(c.numpy(raw=True), expect)
    with gg.Context(1 << 20, no_alloc=False) as ctx:
        t = ctx.tensor(name, (3, 512)).set(X)
        assert np.array_equal(t.numpy(raw=True), expect)
        if gg.type_info(name).can_dequantize:
            assert np.array_equal(t.numpy(), gg.dequantize(expect, name))
        else:
            with pytest.raises(gg.BadInputError, match="cannot be dequantized here: use raw=True"):
                t.numpy()


@pytest.mark.parametrize("name", ["q8_1", "q8_K"])
def test_quantize_activation_formats_match_ggml_bytes(name):
    # ggml_quantize_chunk does not take them; gg.quantize uses their traits' reference quantizer
    q = gg.quantize(ggml_input(), name)
    expect = np.fromfile(os.path.join(DATA, f"{name}.bin"), dtype=np.uint8).reshape(8, -1)
    assert np.array_equal(q, expect)
    info = gg.type_info(name)
    assert info.can_quantize and not info.can_dequantize
    with pytest.raises(gg.BadInputError, match="no dequantizer"):
        gg.dequantize(q, name)


@pytest.mark.parametrize("name", ["q4_0", "q5_0", "q4_1", "q5_1"])
def test_quantize_with_imatrix(name):
    x = ggml_input()
    imatrix = np.random.default_rng(3).uniform(0.05, 4.0, x.shape[1]).astype(np.float32)

    def werr(q):
        w = imatrix[None, :] * np.sqrt((x ** 2).mean(1, keepdims=True) + x ** 2)
        return float((w * (gg.dequantize(q, name) - x) ** 2).sum())

    ref = gg.quantize(x, name)
    q = gg.quantize(x, name, imatrix=imatrix)
    assert q.shape == ref.shape and not np.array_equal(q, ref)
    assert werr(q) < 0.97 * werr(ref)
    assert np.array_equal(gg.quantize(x, name, imatrix=None), ref)
    with pytest.raises(gg.BadInputError, match="one weight per column"):
        gg.quantize(x, name, imatrix=imatrix[:-1])
    with pytest.raises(gg.BadInputError, match="importance matrix is not supported"):
        gg.quantize(x[:, :256], "q4_K", imatrix=imatrix[:256])
    assert np.array_equal(gg.quantize(x, "q8_0", imatrix=imatrix), gg.quantize(x, "q8_0"))
