"""Every op of ggml.h has a module function; each computes on the CPU backend what numpy says."""

import math
import os
import re

import numpy as np
import pytest

import ggalloc as gg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNG = np.random.default_rng(1234)


def header_ops():
    text = open(os.path.join(ROOT, "csrc", "include", "ggml.h")).read()
    names = re.findall(r"GGML_API struct ggml_tensor \* ggml_(\w+)\s*\(\s*struct ggml_context \* ctx,\s*struct ggml_tensor", text)
    return sorted(set(names))


def test_every_header_op_has_a_function():
    ops = header_ops()
    assert len(ops) > 80
    # the custom ops take C function pointers: C programs only; the unsupported ops return NULL
    unsupported = re.findall(r"^struct ggml_tensor \* ggml_(\w+)\(",
                             open(os.path.join(ROOT, "csrc", "src", "ops-unsupported.c")).read(), re.M)
    assert "silu_back" in unsupported
    ops = [n for n in ops if not n.startswith(("map_custom", "custom_")) and n not in unsupported]
    missing = [n for n in ops if not callable(getattr(gg, n, None))]
    assert missing == []
    assert set(gg.OPS) >= set(ops) - {"view_tensor", "dup_tensor"}


def run(outputs, inputs, cpu):
    """Allocates, sets inputs (tensor -> array), computes, returns the outputs as numpy arrays."""
    for o in outputs:
        o.set_output()
    for t in inputs:
        t.set_input()
    g = gg.Graph(*outputs)
    galloc = gg.GraphAllocator(gg.cpu_buffer_type())
    galloc.alloc_graph(g)
    for t, arr in inputs.items():
        t.set(arr)
    cpu.compute(g)
    return [o.numpy() for o in outputs]


def f32(*shape, lo=-2.0, hi=2.0):
    return RNG.uniform(lo, hi, size=shape).astype(np.float32)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


UNARY = {
    "sqr": lambda x: x * x,
    "sqrt": lambda x: np.sqrt(x),
    "log": lambda x: np.log(x),
    "abs": np.abs,
    "sgn": np.sign,
    "neg": lambda x: -x,
    "step": lambda x: (x > 0).astype(np.float32),
    "tanh": np.tanh,
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "gelu": gelu_tanh,
    "gelu_erf": lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))),
    "gelu_quick": lambda x: x / (1 + np.exp(-1.702 * x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hardsigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "exp": np.exp,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, cpu):
    positive = name in ("sqrt", "log")
    x_np = f32(3, 33, lo=0.1 if positive else -3.0, hi=3.0)
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, x_np.shape, name="x")
        outs = [getattr(gg, name)(x)]
        if hasattr(gg, name + "_inplace"):
            outs.append(getattr(gg, name + "_inplace")(gg.cont(x)))
        res = run(outs, {x: x_np}, cpu)
    want = UNARY[name](x_np.astype(np.float64))
    for r in res:
        np.testing.assert_allclose(r, want, rtol=2e-3, atol=2e-3 if "gelu" in name else 1e-5)


@pytest.mark.parametrize("name,fn", [("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                                     ("div", np.divide)])
def test_binary_broadcast(name, fn, cpu):
    a_np = f32(2, 3, 8)
    b_np = f32(2, 1, 8, lo=0.5)    # broadcast over the middle axis
    with gg.Context() as ctx:
        a = ctx.tensor(np.float32, a_np.shape, name="a")
        b = ctx.tensor(np.float32, b_np.shape, name="b")
        outs = [getattr(gg, name)(a, b), getattr(gg, name + "_inplace")(gg.cont(a), b)]
        res = run(outs, {a: a_np, b: b_np}, cpu)
    for r in res:
        np.testing.assert_allclose(r, fn(a_np, b_np), rtol=1e-6)


def test_add1_scale_sum_mean_argmax(cpu):
    a_np = f32(4, 7)
    s_np = np.array([0.25], np.float32)
    with gg.Context() as ctx:
        a = ctx.tensor(np.float32, a_np.shape, name="a")
        s = ctx.tensor(np.float32, (1,), name="s")
        outs = [gg.add1(a, s), gg.add1_inplace(gg.cont(a), s), gg.scale(a, -1.5), gg.scale_inplace(gg.cont(a), 3.0),
                gg.sum(a), gg.sum_rows(a), gg.mean(a), gg.argmax(a)]
        res = run(outs, {a: a_np, s: s_np}, cpu)
    np.testing.assert_allclose(res[0], a_np + 0.25, rtol=1e-6)
    np.testing.assert_allclose(res[1], a_np + 0.25, rtol=1e-6)
    np.testing.assert_allclose(res[2], a_np * -1.5, rtol=1e-6)
    np.testing.assert_allclose(res[3], a_np * 3.0, rtol=1e-6)
    np.testing.assert_allclose(res[4].reshape(-1), [a_np.sum()], rtol=1e-5)
    np.testing.assert_allclose(res[5], a_np.sum(axis=1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(res[6], a_np.mean(axis=1, keepdims=True), rtol=1e-5)
    assert res[7].dtype == np.int32
    np.testing.assert_array_equal(res[7], a_np.argmax(axis=1))


def test_mul_mat_is_b_times_a_transposed(cpu):
    a_np = f32(2, 5, 16)    # batches of 5 rows of k=16
    b_np = f32(2, 3, 16)
    with gg.Context() as ctx:
        a = ctx.tensor(np.float32, a_np.shape, name="a")
        b = ctx.tensor(np.float32, b_np.shape, name="b")
        (r,) = run([gg.mul_mat(a, b)], {a: a_np, b: b_np}, cpu)
    assert r.shape == (2, 3, 5)
    np.testing.assert_allclose(r, b_np @ a_np.transpose(0, 2, 1), rtol=1e-5, atol=1e-5)


def test_mul_mat_f16_weights(cpu):
    a_np = f32(8, 32).astype(np.float16)
    b_np = f32(4, 32)
    with gg.Context() as ctx:
        a = ctx.tensor(np.float16, a_np.shape, name="a")
        b = ctx.tensor(np.float32, b_np.shape, name="b")
        (r,) = run([gg.mul_mat(a, b)], {a: a_np, b: b_np}, cpu)
    np.testing.assert_allclose(r, b_np @ a_np.astype(np.float32).T, rtol=1e-2, atol=1e-2)


def test_norms_and_softmax(cpu):
    x_np = f32(3, 64)
    m_np = np.triu(np.full((3, 64), -np.inf, np.float32), 1 + 61)
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, x_np.shape, name="x")
        m = ctx.tensor(np.float32, m_np.shape, name="m")
        outs = [gg.norm(x, 1e-5), gg.rms_norm(x, 1e-6), gg.soft_max(x), gg.soft_max_ext(x, m, 0.5, 0.0),
                gg.norm_inplace(gg.cont(x), 1e-5), gg.rms_norm_inplace(gg.cont(x), 1e-6),
                gg.soft_max_inplace(gg.cont(x))]
        res = run(outs, {x: x_np, m: m_np}, cpu)
    mu = x_np.mean(1, keepdims=True)
    norm = (x_np - mu) / np.sqrt(((x_np - mu) ** 2).mean(1, keepdims=True) + 1e-5)
    rms = x_np / np.sqrt((x_np ** 2).mean(1, keepdims=True) + 1e-6)

    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)
    for r, w in zip(res, [norm, rms, softmax(x_np), softmax(x_np * 0.5 + m_np), norm, rms, softmax(x_np)]):
        np.testing.assert_allclose(r, w, rtol=1e-4, atol=1e-5)


def test_views_reshapes_permutes(cpu):
    x_np = f32(4, 6)
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, x_np.shape, name="x")
        outs = [
            gg.cont(gg.transpose(x)),
            gg.cont(gg.permute(gg.reshape_3d(x, 3, 2, 4), 2, 0, 1, 3)),
            gg.cont(gg.view_1d(x, 5, 4 * 3)),
            gg.cont(gg.view_2d(x, 2, 3, x.nb[1], 4)),
            gg.cont(gg.reshape_2d(x, 8, 3)),
            gg.cont_2d(gg.transpose(x), 2, 12),
            gg.cont(x.T),
            gg.dup(gg.reshape_1d(x, 24)),
        ]
        res = run(outs, {x: x_np}, cpu)
    np.testing.assert_array_equal(res[0], x_np.T)
    # ne (3, 2, 4) is numpy (4, 2, 3); ggml axis i goes to position axis_i, so the result's
    # ne is (2, 4, 3): numpy (3, 4, 2) = the source's numpy axes (2, 0, 1)
    r3 = x_np.reshape(4, 2, 3)
    want = np.transpose(r3, (2, 0, 1))
    assert res[1].shape == (3, 4, 2)
    np.testing.assert_array_equal(res[1], want)
    np.testing.assert_array_equal(res[2], x_np.reshape(-1)[3:8])
    np.testing.assert_array_equal(res[3], x_np[:3, 1:3])
    np.testing.assert_array_equal(res[4], x_np.reshape(3, 8))
    np.testing.assert_array_equal(res[5], x_np.T.reshape(12, 2))
    np.testing.assert_array_equal(res[6], x_np.T)
    np.testing.assert_array_equal(res[7], x_np.reshape(-1))


def test_cpy_cast_concat_repeat_get_rows_pad(cpu):
    x_np = f32(3, 4)
    y_np = f32(2, 4)
    idx_np = np.array([2, 0, 2], np.int32)
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, x_np.shape, name="x")
        y = ctx.tensor(np.float32, y_np.shape, name="y")
        idx = ctx.tensor(np.int32, (3,), name="idx")
        dst = ctx.tensor(np.float16, (3, 4), name="dst")
        big = ctx.tensor(np.float32, (2, 3, 4), name="big")
        outs = [gg.cpy(x, dst), gg.cast(x, np.float16), gg.concat(x, y, 1), gg.repeat(gg.view_1d(x, 4, 0), big),
                gg.get_rows(x, idx), gg.pad(x, 2, 1)]
        res = run(outs, {x: x_np, y: y_np, idx: idx_np}, cpu)
    np.testing.assert_allclose(res[0], x_np.astype(np.float16), rtol=1e-3)
    assert res[1].dtype == np.float16
    np.testing.assert_array_equal(res[2], np.concatenate([x_np, y_np], 0))
    np.testing.assert_array_equal(res[3], np.broadcast_to(x_np[0], (2, 3, 4)))
    np.testing.assert_array_equal(res[4], x_np[idx_np])
    np.testing.assert_array_equal(res[5], np.pad(x_np, ((0, 1), (0, 2))))


def test_diag_masks(cpu):
    x_np = f32(4, 4)
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, x_np.shape, name="x")
        outs = [gg.diag_mask_inf(x, 0), gg.diag_mask_zero(x, 1), gg.diag_mask_inf_inplace(gg.cont(x), 0),
                gg.diag_mask_zero_inplace(gg.cont(x), 1)]
        res = run(outs, {x: x_np}, cpu)
    inf = np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, x_np)
    zero = np.where(np.triu(np.ones((4, 4), bool), 2), 0, x_np)
    for r, w in zip(res, [inf, zero, inf, zero]):
        np.testing.assert_array_equal(r, w)


def test_unary_by_name_and_precision(ctx):
    x = ctx.tensor(np.float32, (4,))
    assert gg.unary(x, "silu").unary_op == "SILU"
    assert gg.unary_inplace(x, "relu").is_view
    with pytest.raises(gg.BadInputError, match="unknown unary op"):
        gg.unary(x, "frobnicate")
    w = ctx.tensor(np.float32, (4, 4))
    mm = gg.mul_mat(w, ctx.tensor(np.float32, (2, 4)))
    assert gg.mul_mat_set_prec(mm, "f32") is mm
    with pytest.raises(gg.BadInputError):
        gg.mul_mat_set_prec(mm, "f8")
    with pytest.raises(gg.BadInputError, match="unknown pooling"):
        gg.pool_2d(x, "median", 2, 2, 2, 2)


def test_nodes_without_compute_still_build(ctx):
    # ops with their own parameters: only the graph is checked here (shapes and op names)
    x = ctx.tensor(np.float32, (2, 8, 4, 16), name="x")     # numpy (n, seq, heads, dim)
    pos = ctx.tensor(np.int32, (8,), name="pos")
    r = gg.rope(x, pos, 16)           # ggml order [dim, heads, seq, n]: one position per ne[2]
    assert r.op == "ROPE"
    r2 = gg.rope_ext(x, pos, None, 16, 0, 2048)
    assert r2.shape == (2, 8, 4, 16)
    assert gg.rope_ext_inplace(gg.cont(x), pos, None, 16).is_view
    k = ctx.tensor(np.float16, (8, 3, 3, 3), name="k")
    img = ctx.tensor(np.float32, (1, 3, 16, 16), name="img")
    c = gg.conv_2d(k, img, 1, 1, 1, 1)
    assert c.ne == (16, 16, 8, 1)
    assert gg.im2col(k, img, 1, 1, 1, 1, 1, 1, True, "f16").op == "IM2COL"
    assert gg.pool_2d(img, "max", 2, 2, 2, 2).ne == (8, 8, 3, 1)
    dst = ctx.tensor(np.float32, (10, 16), name="dst")
    rows = ctx.tensor(np.int32, (3,), name="rows")
    assert gg.set_rows(dst, ctx.tensor(np.float32, (3, 16)), rows).op == "SET_ROWS"
    assert gg.view_3d(x, 16, 4, 2, x.nb[1], x.nb[2], 0).shape == (2, 4, 16)
    assert gg.view_4d(x, 16, 4, 2, 1, x.nb[1], x.nb[2], x.nb[3], 0).shape == (1, 2, 4, 16)
    assert gg.reshape_4d(x, 16, 4, 4, 4).shape == (4, 4, 4, 16)
    assert gg.cont_3d(x, 64, 8, 2).shape == (2, 8, 64)
    assert gg.cont_4d(x, 64, 4, 2, 2).shape == (2, 2, 4, 64)
    assert gg.cont_1d(x, 1024).shape == (1024,)
    assert gg.reshape(x, ctx.tensor(np.float32, (64, 16))).shape == (64, 16)
    assert gg.view_tensor(x).view_src == x and gg.dup_tensor(x).shape == x.shape
    assert gg.dup_inplace(x).is_view and gg.sqr_inplace(x).is_view
