"""GGUF files from Python: ggml's files read (metadata, tensors, mapped views), our writer's
files read back, bad files rejected with the reader's reason, models planned from their files
and run against numpy's forward pass."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import ggalloc as gg
from ggalloc import gguf_models, models
from testdata import data_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA_7B = data_path("gguf", "llama-7b-meta.gguf")
TINY_LLAMA = data_path("gguf", "tiny-llama-q8_0.gguf")
TINY_GPT2 = data_path("gguf", "tiny-gpt2-f16.gguf")


def test_llama_7b_metadata():
    with gg.GGUF(LLAMA_7B) as f:
        md = f.metadata
        assert f.version == 3 and f.alignment == 32 and f.architecture == "llama"
        assert md["llama.block_count"] == 32 and f.value_type("llama.block_count") == "u32"
        assert md["llama.attention.layer_norm_rms_epsilon"] == pytest.approx(1e-5)
        assert f.value_type("llama.rope.freq_base") == "f32"
        toks = md["tokenizer.ggml.tokens"]
        assert len(toks) == 32000 and toks[:3] == ["<unk>", "<s>", "</s>"] and toks[3] == "<0x00>"
        assert f.value_type("tokenizer.ggml.tokens") == "arr[str]"
        assert md["tokenizer.ggml.scores"].dtype == np.float32 and md["tokenizer.ggml.scores"].shape == (32000,)
        assert md["tokenizer.ggml.token_type"].dtype == np.int32
        assert len(f.tensors) == 291 and not f.has_data
        t = f.tensor("token_embd.weight")
        assert (t.type, t.shape, t.offset, t.nbytes) == ("f16", (32000, 4096), 0, 32000 * 4096 * 2)
        assert f.tensor("blk.31.ffn_down.weight").shape == (4096, 11008)
        assert f.tensor("output_norm.weight").shape == (4096,)
        with pytest.raises(gg.GgallocError, match="no tensor data"):
            t.numpy()
        assert t.tensor.shape == (32000, 4096) and t.tensor.dtype == np.float16
        by_type = f.weight_bytes()
        assert by_type["f32"] == (65, 65 * 4096 * 4)
        assert sum(b for _, b in by_type.values()) == f.data_size
        with pytest.raises(KeyError):
            f.tensor("nope")
    with pytest.raises(gg.ClosedError):
        f.tensor("token_embd.weight")


def test_tiny_files_tensors_and_views():
    f = gg.GGUF(TINY_GPT2)
    assert f.has_data and len(f.tensors) == 29 and f.metadata["gpt2.embedding_length"] == 128
    pe = f.tensor("position_embd.weight")
    v = pe.numpy()
    assert v.shape == (1024, 128) and v.dtype == np.float32 and not v.flags.writeable
    assert np.abs(v).max() <= 0.02 + 1e-6 and np.abs(v).max() > 0.01
    with pytest.raises(ValueError):
        v[0, 0] = 1.0
    assert pe.dtype == np.float32 and f.tensor("token_embd.weight").dtype == np.float16
    w = f.tensor("blk.0.attn_qkv.weight").numpy()
    assert w.dtype == np.float16 and w.shape == (384, 128)
    assert np.array_equal(w.view(np.uint8).ravel(), f.tensor("blk.0.attn_qkv.weight").raw())
    # the view keeps the mapping: closing the file and dropping it leaves the data readable
    first = v[3, :4].copy()
    f.close()
    del f
    assert np.array_equal(v[3, :4], first)

    q = gg.GGUF(TINY_LLAMA)
    t = q.tensor("token_embd.weight")
    assert (t.type, t.shape, t.nbytes, t.dtype) == ("q8_0", (1024, 256), 1024 * 8 * 34, np.float32)
    assert t.raw().shape == (t.nbytes,)
    try:
        deq = t.numpy()
    except gg.BadInputError as e:  # no dequantizer for the type in this build
        assert "q8_0" in str(e)
    else:
        assert deq.shape == (1024, 256) and np.abs(deq).max() <= 0.0201


@pytest.mark.parametrize("path", [LLAMA_7B, TINY_LLAMA, TINY_GPT2])
def test_read_write_same_bytes(path, tmp_path):
    with gg.GGUF(path) as f:
        out = tmp_path / "copy.gguf"
        f.save(out, only_meta=not f.has_data)
    assert out.read_bytes() == open(path, "rb").read()


def test_writer_round_trip(tmp_path):
    w = gg.GGUFWriter()
    w["general.architecture"] = "test"
    w["t.count"] = 7
    w["t.big"] = -(2 ** 40)
    w["t.flag"] = True
    w["t.eps"] = 1e-6
    w.set("t.u8", 255, "u8").set("t.f64", 0.125, "f64").set("t.i16", -3, "i16")
    w["t.names"] = ["a", "bé", ""]
    w["t.f32s"] = np.arange(5, dtype=np.float32)
    w.set("t.u64s", [1, 2 ** 63], "arr[u64]")
    w["t.bools"] = np.array([True, False])
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 64), dtype=np.float32)
    b = rng.standard_normal((2, 4, 8)).astype(np.float16)
    c = np.arange(6, dtype=np.int32)
    w.add_tensor("a", a).add_tensor("b", b).add_tensor("c", c)
    q_raw = bytes(range(34)) * 2
    w.add_tensor("q", q_raw, type="q8_0", shape=(1, 64))
    with pytest.raises(gg.BadInputError, match="already added"):
        w.add_tensor("a", a)
    with pytest.raises(gg.BadInputError, match="takes 68"):
        w.add_tensor("q2", b"x" * 10, type="q8_0", shape=(1, 64))
    with pytest.raises(gg.BadInputError, match="not a u8"):
        w.set("t.bad", 256, "u8")
    with pytest.raises(gg.BadInputError, match="unknown GGUF type"):
        w.set("t.bad", 1, "u7")
    with pytest.raises(gg.BadInputError, match="power of two"):
        w.set("general.alignment", 48, "u32")
    assert w.remove("t.i16") and not w.remove("t.i16")
    path = tmp_path / "w.gguf"
    w.write(path)
    w.close()
    w.close()
    with gg.GGUF(path) as f:
        md = f.metadata
        assert md["general.architecture"] == "test" and md["t.count"] == 7 and f.value_type("t.count") == "u32"
        assert md["t.big"] == -(2 ** 40) and f.value_type("t.big") == "i64"
        assert md["t.flag"] is True and md["t.u8"] == 255 and md["t.f64"] == 0.125
        assert md["t.eps"] == pytest.approx(1e-6) and f.value_type("t.eps") == "f32"
        assert md["t.names"] == ["a", "bé", ""] and "t.i16" not in md
        assert np.array_equal(md["t.f32s"], np.arange(5)) and md["t.f32s"].dtype == np.float32
        assert md["t.u64s"].dtype == np.uint64 and int(md["t.u64s"][1]) == 2 ** 63
        assert md["t.bools"].tolist() == [True, False]
        assert np.array_equal(f.tensor("a").numpy(), a)
        assert np.array_equal(f.tensor("b").numpy(), b) and f.tensor("b").shape == (2, 4, 8)
        assert np.array_equal(f.tensor("c").numpy(), c)
        assert bytes(f.tensor("q").raw()) == q_raw and f.tensor("q").type == "q8_0"
        assert [t.offset for t in f.tensors] == [0, 768, 896, 928]
        # the tensors are usable in graphs
        y = gg.scale(f.tensor("a").tensor, 2.0, ctx=gg.Context())
        assert y.shape == (3, 64)


def test_bad_files(tmp_path):
    with pytest.raises(gg.FileError) as e:
        gg.GGUF(tmp_path / "missing.gguf")
    assert isinstance(e.value, OSError)
    data = open(TINY_GPT2, "rb").read()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[:5000])
    with pytest.raises(gg.BadFileError, match="'tokenizer.ggml.tokens' has 1024 values of type str, more than") as e:
        gg.GGUF(cut)
    assert isinstance(e.value, ValueError)
    cut.write_bytes(data[:-100])
    with pytest.raises(gg.BadFileError, match="past the end of the file"):
        gg.GGUF(cut)
    cut.write_bytes(b"GGML" + data[4:])
    with pytest.raises(gg.BadFileError, match="expected \"GGUF\""):
        gg.GGUF(cut)
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(gg.FileError, match="empty"):
        gg.GGUF(empty)


def _plan(ctx):
    return gg.plan_model(LLAMA_7B, ctx=ctx, batch=512)


def test_plan_llama_7b_from_metadata():
    p512, p4096 = _plan(512), _plan(4096)
    for p, ctx in ((p512, 512), (p4096, 4096)):
        assert p.ctx == ctx and p.batch == 512
        # f16 weights and f32 norms: as the file's records add up
        assert p.weight_bytes == 13477363712
        assert p.weights["f16"][0] == 32 * 7 + 2 and p.weights["f32"][0] == 65
        # the f16 KV cache: K and V, 32 layers, ctx positions, 4096 values each
        assert p.kv_cache_bytes == 2 * 32 * ctx * 4096 * 2
        assert p.lower_bound <= p.compute["best"] <= p.compute["ggml"]
        assert p.total_bytes == p.weight_bytes + p.kv_cache_bytes + p.compute["best"]
        assert p.fits == (p.total_bytes <= p.device_memory)
        text = str(p)
        assert "KV cache" in text and "compute buffer, planner ggml" in text and "total" in text
    assert p4096.kv_cache_bytes == 2 << 30
    # attention over 4096 positions needs more than over 512
    assert p4096.compute["best"] > p512.compute["best"]
    q = gg.plan_model(LLAMA_7B, ctx=512, batch=512, wtype="q8_0")
    assert q.weights["q8_0"][0] == 32 * 7 + 2
    assert q.weight_bytes < p512.weight_bytes * 0.55


def _llama_file(path, wtype=np.float32, seed=0):
    """A random-weight llama file (GQA: 4 heads, 2 KV heads) written with our writer."""
    E, H, Hkv, F, V, L = 64, 4, 2, 96, 50, 2
    rng = np.random.default_rng(seed)
    w = gg.GGUFWriter()
    w["general.architecture"] = "llama"
    w["general.name"] = "test-llama"
    for k, v in (("block_count", L), ("embedding_length", E), ("feed_forward_length", F),
                 ("attention.head_count", H), ("attention.head_count_kv", Hkv), ("context_length", 128),
                 ("rope.dimension_count", E // H)):
        w[f"llama.{k}"] = v
    w["llama.rope.freq_base"] = 10000.0
    w["llama.attention.layer_norm_rms_epsilon"] = 1e-6
    w["tokenizer.ggml.tokens"] = [f"t{i}" for i in range(V)]

    def mat(name, rows, cols):
        w.add_tensor(name, (0.1 * rng.standard_normal((rows, cols))).astype(wtype))

    def norm(name):
        w.add_tensor(name, (1 + 0.1 * rng.standard_normal(E)).astype(np.float32))

    mat("token_embd.weight", V, E)
    hd = E // H
    for i in range(L):
        norm(f"blk.{i}.attn_norm.weight")
        mat(f"blk.{i}.attn_q.weight", E, E)
        mat(f"blk.{i}.attn_k.weight", hd * Hkv, E)
        mat(f"blk.{i}.attn_v.weight", hd * Hkv, E)
        mat(f"blk.{i}.attn_output.weight", E, E)
        norm(f"blk.{i}.ffn_norm.weight")
        mat(f"blk.{i}.ffn_gate.weight", F, E)
        mat(f"blk.{i}.ffn_up.weight", F, E)
        mat(f"blk.{i}.ffn_down.weight", E, F)
    norm("output_norm.weight")
    mat("output.weight", V, E)
    w.write(path)


def _gpt2_file(path, seed=0):
    """A random-weight gpt2 file: f16 matrices, f32 norms, biases and positions; the output
    tied to the token embedding (no output.weight)."""
    E, H, V, L, C = 32, 4, 40, 2, 64
    rng = np.random.default_rng(seed)
    w = gg.GGUFWriter()
    w["general.architecture"] = "gpt2"
    for k, v in (("block_count", L), ("embedding_length", E), ("feed_forward_length", 4 * E),
                 ("attention.head_count", H), ("context_length", C)):
        w[f"gpt2.{k}"] = v
    w["gpt2.attention.layer_norm_epsilon"] = 1e-5

    def t(name, shape, dtype=np.float32, scale=0.1, base=0.0):
        w.add_tensor(name, (base + scale * rng.standard_normal(shape)).astype(dtype))

    t("token_embd.weight", (V, E), np.float16)
    t("position_embd.weight", (C, E), scale=0.05)
    for i in range(L):
        p = f"blk.{i}."
        t(p + "attn_norm.weight", (E,), base=1.0)
        t(p + "attn_norm.bias", (E,))
        t(p + "attn_qkv.weight", (3 * E, E), np.float16)
        t(p + "attn_qkv.bias", (3 * E,))
        t(p + "attn_output.weight", (E, E), np.float16)
        t(p + "attn_output.bias", (E,))
        t(p + "ffn_norm.weight", (E,), base=1.0)
        t(p + "ffn_norm.bias", (E,))
        t(p + "ffn_up.weight", (4 * E, E), np.float16)
        t(p + "ffn_up.bias", (4 * E,))
        t(p + "ffn_down.weight", (E, 4 * E), np.float16)
        t(p + "ffn_down.bias", (E,))
    t("output_norm.weight", (E,), base=1.0)
    t("output_norm.bias", (E,))
    w.write(path)


def _reference_weights(model):
    vals = {name: t.numpy() for name, t in model.weights.items()}
    for name, t in model.cache.items():
        vals[name] = np.zeros(t.shape, dtype=t.dtype)
    return vals


@pytest.mark.parametrize("wtype", [np.float32, np.float16])
def test_run_llama_file_matches_numpy(tmp_path, wtype):
    path = tmp_path / "llama.gguf"
    _llama_file(path, wtype)
    toks = [3, 17, 5, 42, 8, 1, 29]
    out = gguf_models.run_model(path, toks, top=3)
    model = out["model"]
    assert model.hparams["eps"] == pytest.approx(1e-6)
    ref, _, _ = models.llama_reference(model.hparams, _reference_weights(model),
                                       gguf_models.prompt_inputs(model, toks), rope_base=10000.0)
    got = out["logits"]
    assert got.shape == (len(toks), 50)
    np.testing.assert_allclose(got, ref, rtol=2e-3, atol=2e-3 * np.abs(ref).max())
    assert [tid for tid, _, _ in out["top"]] == list(np.argsort(-ref[-1], kind="stable")[:3])
    assert out["top"][0][1] == f"t{out['top'][0][0]}"


def test_run_gpt2_file_matches_numpy(tmp_path):
    path = tmp_path / "gpt2.gguf"
    _gpt2_file(path)
    toks = [1, 2, 3, 39, 0, 11]
    out = gguf_models.run_model(path, toks)
    model = out["model"]
    # the tied output is the token embedding of the file, one tensor
    assert model.weights["model/lm_head"] == model.weights["model/wte"]
    ref, _, _ = models.gpt2_reference(model.hparams, _reference_weights(model),
                                      gguf_models.prompt_inputs(model, toks))
    np.testing.assert_allclose(out["logits"], ref, rtol=2e-3, atol=2e-3 * np.abs(ref).max())


def test_run_quantized_or_clear_error():
    """ggml's Q8_0 llama file runs where the library has Q8_0 kernels (and matches numpy on the
    dequantized weights, within Q8_0's rounding of the activations); elsewhere the error names
    the type."""
    toks = [1, 100, 200, 5, 77]
    try:
        out = gguf_models.run_model(TINY_LLAMA, toks)
    except gg.ComputeError as e:  # quantized weights without a CPU kernel in this build
        assert "q8_0" in str(e) and "no kernel" in str(e)
        return
    model = out["model"]
    ref, _, _ = models.llama_reference(model.hparams, _reference_weights(model),
                                       gguf_models.prompt_inputs(model, toks), rope_base=10000.0)
    got = out["logits"]
    assert got.shape == (5, 1024)
    assert ((got - ref) ** 2).mean() / (ref ** 2).mean() < 1e-3


def test_run_needs_data_and_valid_tokens(tmp_path):
    with pytest.raises(gg.BadFileError, match="metadata only"):
        gguf_models.run_model(LLAMA_7B, [1, 2])
    path = tmp_path / "llama.gguf"
    _llama_file(path)
    with pytest.raises(gg.BadInputError, match="outside the vocabulary"):
        gguf_models.run_model(path, [1, 50])


def test_plan_model_errors(tmp_path):
    w = gg.GGUFWriter()
    w["general.architecture"] = "mamba"
    w.write(tmp_path / "m.gguf")
    with pytest.raises(gg.BadFileError, match="architecture 'mamba'"):
        gg.plan_model(tmp_path / "m.gguf")
    w = gg.GGUFWriter()
    w["general.architecture"] = "llama"
    w["llama.embedding_length"] = 64
    w.write(tmp_path / "l.gguf")
    with pytest.raises(gg.BadFileError, match="llama.block_count"):
        gg.plan_model(tmp_path / "l.gguf")
    with pytest.raises(gg.BadInputError, match="unknown device"):
        gg.plan_model(LLAMA_7B, ctx=256, batch=32, device="tpu")


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "ggalloc", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)


def test_cli_plan_and_run(tmp_path):
    r = _cli("plan", LLAMA_7B, "--ctx", "4096", "--batch", "512", "--json")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert doc["kv_cache_bytes"] == 2 << 30 and doc["weight_bytes"] == 13477363712
    assert doc["fits"] == (r.returncode == 0)
    r = _cli("plan", LLAMA_7B, "--ctx", "512", "--batch", "64", "--planner", "ggml")
    assert "KV cache (f16, 512 positions) | 268435456" in r.stdout
    assert "total** (planner ggml)" in r.stdout
    path = tmp_path / "llama.gguf"
    _llama_file(path)
    r = _cli("plan", str(path), "--run", "--prompt", "3,17,5", "--top", "2")
    assert r.returncode == 0, r.stderr
    assert "next tokens" in r.stdout and len([ln for ln in r.stdout.splitlines() if "'t" in ln]) == 2
    png = tmp_path / "plan.png"
    r = _cli("plan", TINY_GPT2, "--ctx", "256", "--batch", "64", "--plot", str(png), "--time-budget", "0.1")
    assert r.returncode == 0, r.stderr
    assert "planner best, searched up to 0.1 s" in r.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = _cli("plan", str(tmp_path / "missing.gguf"))
    assert r.returncode == 2 and "no such file" in r.stderr


def test_plan_for_a_vulkan_device():
    devs = gg.vulkan_devices()
    if not devs:
        with pytest.raises(gg.DeviceError, match="no Vulkan device 0"):
            gg.plan_model(TINY_GPT2, ctx=128, batch=32, device="vulkan")
        pytest.skip("no Vulkan device: only the error was checked")
    p = gg.plan_model(TINY_GPT2, ctx=128, batch=32, device="vulkan:0")
    assert p.device.startswith("vulkan:0") and p.device_memory == devs[0]["memory_total"]
    cpu = gg.plan_model(TINY_GPT2, ctx=128, batch=32)
    assert p.kv_cache_bytes == cpu.kv_cache_bytes and p.weight_bytes == cpu.weight_bytes
    assert p.lower_bound <= p.compute["best"] <= p.compute["ggml"]
