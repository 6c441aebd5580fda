"""Contexts, tensors and graphs: shapes, dtypes, names, flags, data in and out, errors."""

import logging

import numpy as np
import pytest

import ggalloc as gg


def placed(*tensors):
    """Gives the tensors memory in one CPU buffer (via their contexts)."""
    g = gg.Graph(*tensors)
    galloc = gg.GraphAllocator(gg.cpu_buffer_type())
    galloc.alloc_graph(g)
    return g, galloc


def test_shapes_are_numpy_order(ctx):
    t = ctx.tensor(np.float32, (2, 3, 5), name="t")
    assert t.shape == (2, 3, 5)
    assert t.ne == (5, 3, 2, 1)
    assert t.nb == (4, 20, 60, 120)
    assert t.strides == (60, 20, 4)
    assert t.ndim == 3
    assert t.size == 30
    assert t.nbytes == 120
    assert t.name == "t"
    assert t.op == "NONE"
    assert t.src == [] and t.view_src is None and not t.is_view


@pytest.mark.parametrize("dtype,name,itemsize", [
    (np.float32, "f32", 4), (np.float16, "f16", 2), (np.int32, "i32", 4), ("bf16", "bf16", 2),
    ("f32", "f32", 4), ("f16", "f16", 2), ("i32", "i32", 4),
])
def test_dtype_mapping(ctx, dtype, name, itemsize):
    t = ctx.tensor(dtype, (4,))
    assert t.type == name
    assert t.nb[0] == itemsize
    expect = np.float32 if name == "bf16" else np.dtype(dtype if not isinstance(dtype, str) else
                                                        {"f32": np.float32, "f16": np.float16, "i32": np.int32}[name])
    assert t.dtype == np.dtype(expect)


def test_unknown_dtype_and_bad_shapes(ctx):
    with pytest.raises(gg.BadInputError, match="unknown dtype"):
        ctx.tensor(np.complex64, (3,))
    with pytest.raises(gg.BadInputError, match="unknown dtype"):
        ctx.tensor("q9_9", (3,))
    with pytest.raises(gg.BadInputError, match="at most 4"):
        ctx.tensor(np.float32, (1, 2, 3, 4, 5))
    with pytest.raises(gg.BadInputError, match="negative"):
        ctx.tensor(np.float32, (3, -1))
    assert isinstance(gg.BadInputError("x"), ValueError)


def test_quantized_types_plan_with_ggml_sizes(ctx):
    t = ctx.tensor("q8_0", (2, 64))
    assert t.type == "q8_0"
    assert t.dtype == np.float32  # numpy() dequantizes (tests/test_quant.py)
    assert t.nbytes == 2 * 2 * 34  # 2 rows of 2 blocks of 34 bytes
    assert ctx.tensor("iq2_xxs", (256,)).dtype is None  # known by layout only


def test_names_flags_and_repr(ctx):
    x = ctx.tensor(np.float32, (3, 4), name="x").set_input()
    y = gg.relu(x).set_output()
    y.name = "y"
    assert x.is_input and not x.is_output
    assert y.is_output and y.op == "UNARY" and y.unary_op == "RELU"
    assert y.src == [x]
    assert "Tensor('f32', (3, 4), name='x'" in repr(x) and "input" in repr(x)
    assert "op='RELU'" in repr(y)
    y.name = "n" * 100
    assert len(y.name) == 63
    assert ctx.get_tensor("x") == x
    assert ctx.get_tensor("nothing") is None
    assert repr(ctx).startswith("Context(")


def test_tensor_identity_and_hash(ctx):
    x = ctx.tensor(np.float32, (2,))
    y = gg.neg(x)
    assert y.src[0] is x
    assert {x, y, y.src[0]} == {x, y}
    with pytest.raises(TypeError):
        gg.Tensor()


def test_set_numpy_array_roundtrip(ctx):
    x = ctx.tensor(np.float32, (3, 4), name="x").set_input()
    y = gg.scale(x, 2.0).set_output()
    g, galloc = placed(y)
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    x.set(data)
    np.testing.assert_array_equal(x.numpy(), data)
    view = x.array()
    np.testing.assert_array_equal(view, data)
    view[0, 0] = 42.0                       # zero-copy: writes reach the tensor
    assert x.numpy()[0, 0] == 42.0
    copy = x.numpy()
    copy[0, 1] = -1.0                       # a copy: the tensor is unchanged
    assert x.numpy()[0, 1] == 1.0
    assert x.is_allocated and x.buffer is galloc and x.offset is not None
    assert "buffer='GraphAllocator', offset=" in repr(x)


def test_set_checks_dtype_shape_contiguity(ctx):
    x = ctx.tensor(np.float32, (3, 4), name="x").set_input()
    placed(gg.neg(x))
    with pytest.raises(gg.BadInputError, match=r"expects dtype float32, got float64"):
        x.set(np.zeros((3, 4)))
    with pytest.raises(gg.BadInputError, match=r"expects shape \(3, 4\), got \(4, 3\)"):
        x.set(np.zeros((4, 3), np.float32))
    with pytest.raises(gg.BadInputError, match="C-contiguous"):
        x.set(np.zeros((4, 3), np.float32).T)
    with pytest.raises(gg.BadInputError, match="numpy array"):
        x.set([[0.0] * 4] * 3)


def test_set_before_placement_says_so(ctx):
    x = ctx.tensor(np.float32, (3,), name="x")
    with pytest.raises(gg.GgallocError, match="no memory yet"):
        x.set(np.zeros(3, np.float32))
    with pytest.raises(gg.GgallocError, match="no memory yet"):
        x.numpy()
    assert not x.is_allocated and x.buffer is None and x.offset is None


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int8, np.int16, np.int64, np.float64])
def test_other_dtypes_roundtrip(dtype):
    with gg.Context() as c:
        t = c.tensor(dtype, (5, 3), name="t")
        buf = gg.alloc_ctx_tensors(c, gg.cpu_buffer_type())
        data = (np.arange(15).reshape(5, 3) - 7).astype(dtype)
        t.set(data)
        out = t.numpy()
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(out, data)
        buf.close()


def test_bf16_is_float32_outside_and_rounds_to_nearest_even():
    with gg.Context() as c:
        t = c.tensor("bf16", (4,), name="t")
        buf = gg.alloc_ctx_tensors(c, gg.cpu_buffer_type())
        # 1 + 2^-8 lies halfway between two bf16 values: ties go to the even one (1.0);
        # 1 + 3*2^-8 lies halfway too and rounds up to 1 + 2^-6.
        vals = np.array([1.0, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5], np.float32)
        t.set(vals)
        out = t.numpy()
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, np.array([1.0, 1.0, 1 + 2 ** -6, -2.5], np.float32))
        raw = t.numpy(raw=True)
        assert raw.dtype == np.uint16
        assert raw[0] == 0x3F80
        t.set(np.array([0x4000, 0, 0x3F80, 0xC000], np.uint16), raw=True)
        np.testing.assert_array_equal(t.numpy(), [2.0, 0.0, 1.0, -2.0])
        with pytest.raises(gg.BadInputError, match="bf16"):
            t.array()
        assert t.array(raw=True).dtype == np.uint16
        buf.close()


def test_bf16_matches_the_c_conversion():
    from ggalloc._lib import ffi, lib
    from ggalloc.core import _f32_to_bf16
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(1000).astype(np.float32) * 1e3,
                        np.array([np.inf, -np.inf, 0.0, -0.0, 1e-40], np.float32)])
    out = np.zeros(len(x), np.uint16)
    lib.ggml_fp32_to_bf16_row_ref(ffi.from_buffer("float[]", x), ffi.cast("ggml_bf16_t *", ffi.from_buffer(out)), len(x))
    np.testing.assert_array_equal(_f32_to_bf16(x), out)


def test_allocating_context_gives_data_at_once():
    with gg.Context(mem_size=1 << 20, no_alloc=False) as c:
        assert not c.no_alloc
        t = c.tensor(np.float32, (2, 2))
        t.set(np.eye(2, dtype=np.float32))
        np.testing.assert_array_equal(t.array(), np.eye(2))
        s = c.new_f32(3.5)
        assert s.shape == () and s.numpy() == 3.5
        assert c.new_i32(-4).numpy() == -4
        assert c.used_mem > 0


def test_context_full_raises_allocation_error():
    with gg.Context(mem_size=4096, no_alloc=False) as c:
        with pytest.raises(gg.BadInputError) as e:
            c.tensor(np.float32, (1 << 20,))
        assert e.value.log, "the C library's reason is in the exception"


def test_operators_follow_numpy_meaning(ctx, cpu):
    a = ctx.tensor(np.float32, (3, 4), name="a").set_input()
    b = ctx.tensor(np.float32, (4,), name="b").set_input()
    outs = [a + b, a - b, a * b, a / b, a * 3.0, 2.0 * a, a / 4.0, -a,
            b + a, b - a, b * a, a + 1, 1 + a, a - 2, 3 - a, a * np.float32(2), 2 * a, a / 3, -a + 1.5]
    for o in outs:
        o.set_output()
    g, galloc = placed(*outs)
    A = np.random.default_rng(0).random((3, 4), dtype=np.float32) + 0.5
    B = np.random.default_rng(1).random(4, dtype=np.float32) + 0.5
    a.set(A)
    b.set(B)
    cpu.compute(g)
    want = [A + B, A - B, A * B, A / B, A * 3, 2 * A, A / 4, -A,
            B + A, B - A, B * A, A + 1, 1 + A, A - 2, 3 - A, A * 2, 2 * A, A / 3, -A + 1.5]
    assert len(outs) == len(want)
    for o, w in zip(outs, want):
        assert o.shape == w.shape
        np.testing.assert_allclose(o.numpy(), w, rtol=1e-6)
    with pytest.raises(gg.BadInputError, match="by zero"):
        a / 0
    c = ctx.tensor(np.float32, (5, 7))
    with pytest.raises(gg.BadInputError, match="do not broadcast"):
        a + c
    with pytest.raises(gg.BadInputError, match="do not broadcast"):
        b / a                                # ggml divides by a broadcast divisor only
    for bad in (lambda: 2 / a, lambda: a + "x", lambda: a @ 2, lambda: a * None, lambda: [1] - a):
        with pytest.raises(gg.UnsupportedOperationError, match="tensors support") as e:
            bad()
        assert isinstance(e.value, TypeError) and isinstance(e.value, gg.GgallocError)


def test_op_errors_carry_the_c_message(ctx):
    a = ctx.tensor(np.float32, (3, 4))
    b = ctx.tensor(np.float32, (5, 7))
    with pytest.raises(gg.BadInputError) as e:
        gg.mul_mat(a, b)
    assert "mul_mat" in str(e.value)
    assert e.value.log and e.value.log[0] in str(e.value)


def test_warnings_go_to_logging(ctx, caplog):
    with caplog.at_level(logging.DEBUG, logger="ggalloc"):
        g = gg.Graph(gg.relu(ctx.tensor(np.float32, (2,))))
        g.print()
    assert any(r.name == "ggalloc" for r in caplog.records)


def test_graph_nodes_and_leafs(ctx):
    x = ctx.tensor(np.float32, (4, 8), name="x")
    w = ctx.tensor(np.float32, (16, 8), name="w")
    h = gg.mul_mat(w, x)
    y = gg.soft_max(h)
    g = gg.Graph(y)
    assert g.nodes == [h, y]
    assert set(g.leafs) == {x, w}
    assert g.n_nodes == 2 and len(g) == 2 and g.n_leafs == 2
    assert g.node(-1) == y and g[0] == h
    with pytest.raises(IndexError):
        g.node(5)
    assert g.get_tensor("x") == x
    assert g.size >= 2
    assert "Graph(n_nodes=2, n_leafs=2" in repr(g)
    z = gg.gelu(y)
    g.expand(z)
    assert g.nodes[-1] == z
    assert gg.Graph([y, z]).n_nodes == 3


def test_graph_peak_and_reorder(ctx):
    x = ctx.tensor(np.float32, (256,), name="x").set_input()
    # two independent chains joined at the end: order decides how much is live at once
    a = gg.exp(gg.exp(x))
    b = gg.exp(gg.exp(x))
    y = gg.add(a, b)
    g = gg.Graph(y)
    before = g.peak_bytes(32)
    assert before >= 2 * 1024
    g.reorder()
    assert g.peak_bytes(32) <= before
    assert g.nodes[-1] == y


def test_ops_across_contexts_keep_both_alive():
    c1 = gg.Context()
    c2 = gg.Context()
    a = c1.tensor(np.float32, (4,), name="a")
    b = c2.tensor(np.float32, (4,), name="b")
    y = gg.add(a, b)
    assert y.context is c1
    assert y.src[1] == b and y.src[1].context is c2
    g = gg.Graph(y)
    assert set(g.leafs) == {a, b}
    c2.close()
    with pytest.raises(gg.ClosedError):
        y.shape
    with pytest.raises(gg.ClosedError):
        g.nodes
    c1.close()


def test_log_routing(caplog):
    from ggalloc import _lib
    lvl = {n: int(getattr(_lib.lib, "GGML_LOG_LEVEL_" + n)) for n in ("DEBUG", "INFO", "WARN", "ERROR", "CONT")}
    with caplog.at_level(logging.DEBUG, logger="ggalloc"):
        with _lib.capture() as cap:
            _lib._route(lvl["ERROR"], "bad tensor 'x': ")
            _lib._route(lvl["CONT"], "ne[0] = 3\n")
            _lib._route(lvl["INFO"], "planning 3 nodes")
            _lib._route(lvl["CONT"], " (continued)\n")
            _lib._route(lvl["WARN"], "odd alignment\n")
        assert cap.texts() == ["bad tensor 'x': ne[0] = 3", "odd alignment"]
        assert cap.has_error
        infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
        assert infos == ["planning 3 nodes (continued)"]
        err = gg.GgallocError("it failed", cap.texts())
        assert str(err) == "it failed: bad tensor 'x': ne[0] = 3; odd alignment"
        cap.flush()                                   # a call that succeeded: its warnings are logged
        assert [r.levelno for r in caplog.records][-2:] == [logging.ERROR, logging.WARNING]
        _lib._route(lvl["DEBUG"], "outside any call\n")
        assert caplog.records[-1].levelno == logging.DEBUG


def test_public_surface_exists_and_is_documented():
    import inspect
    undocumented = []
    for name in gg.__all__:
        obj = getattr(gg, name)                       # every exported name exists
        if callable(obj) and not inspect.getdoc(obj):
            undocumented.append(name)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                if member.startswith("_"):
                    continue
                doc = value.__doc__ if isinstance(value, property) else inspect.getdoc(value)
                if (callable(value) or isinstance(value, property)) and not doc:
                    undocumented.append(f"{name}.{member}")
    assert undocumented == []
    for name in ("Context", "Tensor", "Graph", "GraphAllocator", "Plan", "CPUBackend", "VulkanBackend",
                 "plan_intervals", "host_buffer_type", "cpu_buffer_type", "vulkan_buffer_type", "load_graph",
                 "GgallocError", "alloc_ctx_tensors", "TensorAllocator", "Buffer"):
        assert hasattr(gg, name), name       # the names DESIGN.md fixes


def test_tensors_keep_their_numpy_rank(ctx):
    assert ctx.tensor(np.float32, (1, 256)).shape == (1, 256)
    assert ctx.tensor(np.float32, (1, 1, 256)).shape == (1, 1, 256)
    assert ctx.tensor(np.float32, ()).shape == ()
    assert ctx.tensor(np.float32, 7).shape == (7,)
    w = ctx.tensor(np.float32, (512, 256))
    x = ctx.tensor(np.float32, (1, 256))
    assert gg.mul_mat(w, x).shape == (1, 512)                  # x @ w.T, as the docstring says
    assert gg.mul_mat(w, ctx.tensor(np.float32, (256,))).shape == (512,)
    b = ctx.tensor(np.float32, (1, 1, 512))
    assert gg.add(b, gg.mul_mat(w, x)).shape == (1, 1, 512)    # numpy's broadcast rank
    assert gg.gelu(x).shape == (1, 256)
    assert gg.view_tensor(x).shape == (1, 256) and gg.dup_tensor(x).shape == (1, 256)
    assert gg.reshape_3d(x, 256, 1, 1).shape == (1, 1, 256)
    assert gg.reshape_1d(x, 256).shape == (256,)
    assert gg.sum(x).shape == ()
    assert gg.sum_rows(x).shape == (1, 1)
    assert gg.transpose(x).shape == (256, 1)
    a = ctx.tensor(np.float32, (3, 4))
    assert (a @ ctx.tensor(np.float32, (4, 5))).shape == (3, 5)
    assert (a @ ctx.tensor(np.float32, (4,))).shape == (3,)
    assert (ctx.tensor(np.float32, (3,)) @ a).shape == (4,)
    assert (ctx.tensor(np.float32, (4,)) @ ctx.tensor(np.float32, (4,))).shape == ()


def test_ranks_survive_compute_and_numpy(cpu):
    ctx = gg.Context()
    rng = np.random.default_rng(3)
    A = rng.standard_normal((1, 3, 4)).astype(np.float32)
    B = rng.standard_normal((4, 5)).astype(np.float32)
    C = rng.standard_normal((4,)).astype(np.float32)
    a = ctx.tensor(np.float32, A.shape).set_input()
    b = ctx.tensor(np.float32, B.shape).set_input()
    c = ctx.tensor(np.float32, C.shape).set_input()
    outs = [a @ b, (a + 1) * 2, a @ c, c @ b, gg.sum(a), 1 - a / 4]
    want = [A @ B, (A + 1) * 2, A @ C, C @ B, A.sum(), 1 - A / 4]
    for o in outs:
        o.set_output()
    g = gg.Graph(*outs)
    galloc = gg.GraphAllocator(gg.cpu_buffer_type())
    galloc.alloc_graph(g)
    a.set(A); b.set(B); c.set(C)
    cpu.compute(g)
    for o, w in zip(outs, want):
        got = o.numpy()
        assert got.shape == np.shape(w)
        np.testing.assert_allclose(got, w, rtol=1e-5, atol=1e-5)
        arr = np.asarray(o)                                 # the array protocol, zero-copy here
        assert arr.shape == np.shape(w) and arr.dtype == np.float32
        np.testing.assert_allclose(arr, w, rtol=1e-5, atol=1e-5)
    assert np.asarray(outs[0], dtype=np.float64).dtype == np.float64
    assert np.array(outs[1], copy=True).base is None or True


def test_exceptions_derive_from_the_matching_builtin(tmp_path):
    ga = gg.GraphAllocator(gg.cpu_buffer_type())
    with pytest.raises(IndexError) as e:
        ga.buffer_size(3)
    assert isinstance(e.value, gg.GgallocError)
    with pytest.raises(IndexError):
        ga.lower_bound(-1)
    with pytest.raises(FileNotFoundError) as e:
        gg.load_graph(tmp_path / "missing.json")
    assert isinstance(e.value, gg.GgallocError)
    ctx = gg.Context()
    t = ctx.tensor(np.float32, (3,))
    with pytest.raises(TypeError) as e:
        gg.add(t, 3)
    assert isinstance(e.value, gg.GgallocError) and "cdata" not in str(e.value).split("(")[0]
    with pytest.raises(OverflowError) as e:
        ctx.tensor(np.float32, (2 ** 64,))
    assert isinstance(e.value, gg.GgallocError)
    with pytest.raises(TypeError) as e:
        ctx.tensor(np.float32, (2.5, 4))
    assert isinstance(e.value, gg.GgallocError)
