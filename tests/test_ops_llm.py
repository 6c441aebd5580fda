"""The transformer ops (glu, flash attention, expert routing, sinks, the element-wise extras),
built from Python and computed on the CPU backend, against numpy written here."""

import math

import numpy as np
import pytest

import ggalloc as gg
from test_ops import f32, gelu_tanh, run

RNG = np.random.default_rng(77)


def silu(x):
    return x / (1 + np.exp(-x))


GLU = {
    "reglu": lambda x, g: np.maximum(x, 0) * g,
    "geglu": lambda x, g: gelu_tanh(x) * g,
    "swiglu": lambda x, g: silu(x) * g,
    "geglu_erf": lambda x, g: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2))) * g,
    "geglu_quick": lambda x, g: x / (1 + np.exp(-1.702 * x)) * g,
}


@pytest.mark.parametrize("name", sorted(GLU))
def test_glu_fused_swapped_split(name, ctx, cpu):
    a = ctx.tensor(np.float32, (2, 3, 34))
    x = ctx.tensor(np.float32, (2, 3, 17))
    g = ctx.tensor(np.float32, (2, 3, 17))
    fused = getattr(gg, name)(a)
    swapped = getattr(gg, name + "_swapped")(a)
    split = getattr(gg, name + "_split")(x, g)
    by_id = gg.glu(a, name)
    assert fused.shape == (2, 3, 17) and split.shape == (2, 3, 17)
    av, xv, gv = f32(2, 3, 34, lo=-4, hi=4), f32(2, 3, 17, lo=-4, hi=4), f32(2, 3, 17)
    outs = run([fused, swapped, split, by_id], {a: av, x: xv, g: gv}, cpu)
    ref = GLU[name]
    np.testing.assert_allclose(outs[0], ref(av[..., :17], av[..., 17:]), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(outs[1], ref(av[..., 17:], av[..., :17]), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(outs[2], ref(xv, gv), rtol=2e-5, atol=2e-5)
    np.testing.assert_array_equal(outs[3], outs[0])


def test_swiglu_oai(ctx, cpu):
    x = ctx.tensor(np.float32, (5, 9))
    g = ctx.tensor(np.float32, (5, 9))
    y = gg.swiglu_oai(x, g, alpha=1.702, limit=3.0)
    xv, gv = f32(5, 9, lo=-6, hi=6), f32(5, 9, lo=-6, hi=6)
    (out,) = run([y], {x: xv, g: gv}, cpu)
    xc, gc = np.minimum(xv, 3.0), np.clip(gv, -3.0, 3.0)
    np.testing.assert_allclose(out, xc / (1 + np.exp(-1.702 * xc)) * (gc + 1), rtol=1e-5, atol=1e-5)


def test_glu_refuses_odd_rows(ctx):
    a = ctx.tensor(np.float32, (3, 5))
    with pytest.raises(gg.GgallocError):
        gg.swiglu(a)
    with pytest.raises(gg.GgallocError):
        gg.glu(a, "nope")


def attention_ref(q, k, v, mask, scale, sinks=None):
    # q (B, H, Tq, D), k/v (B, Hkv, Tk, D): grouped heads, softmax with optional sinks
    group = q.shape[1] // k.shape[1]
    k = np.repeat(k, group, axis=1).astype(np.float64)
    v = np.repeat(v, group, axis=1).astype(np.float64)
    s = np.einsum("bhqd,bhkd->bhqk", q.astype(np.float64), k) * scale
    if mask is not None:
        s = s + mask.astype(np.float64)
    mx = s.max(axis=-1, keepdims=True)
    if sinks is not None:
        mx = np.maximum(mx, sinks.reshape(1, -1, 1, 1))
    e = np.exp(s - mx)
    den = e.sum(axis=-1, keepdims=True)
    if sinks is not None:
        den = den + np.exp(sinks.reshape(1, -1, 1, 1) - mx)
    return np.einsum("bhqk,bhkd->bhqd", e / den, v)


def test_flash_attn_ext_gqa_causal_f16(ctx, cpu):
    B, H, Hkv, T, D = 1, 6, 2, 11, 16
    q = ctx.tensor(np.float32, (B, H, T, D))
    k = ctx.tensor(np.float16, (B, Hkv, T, D))
    v = ctx.tensor(np.float16, (B, Hkv, T, D))
    m = ctx.tensor(np.float16, (T, T))
    o = gg.flash_attn_ext(q, k, v, m, 1 / math.sqrt(D))
    gg.flash_attn_ext_set_prec(o, "f32")
    assert o.shape == (B, T, H, D)
    qv, kv, vv = f32(B, H, T, D), f32(B, Hkv, T, D).astype(np.float16), f32(B, Hkv, T, D).astype(np.float16)
    mv = np.triu(np.full((T, T), -np.inf, dtype=np.float32), 1).astype(np.float16)
    (out,) = run([o], {q: qv, k: kv, v: vv, m: mv}, cpu)
    ref = attention_ref(qv, kv, vv, mv, 1 / math.sqrt(D)).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_flash_attn_ext_sinks_and_soft_max_sinks(ctx, cpu):
    H, T, D = 3, 7, 8
    q = ctx.tensor(np.float32, (1, H, T, D))
    k = ctx.tensor(np.float32, (1, H, T, D))
    v = ctx.tensor(np.float32, (1, H, T, D))
    sinks = ctx.tensor(np.float32, (H,))
    o = gg.flash_attn_ext(q, k, v, None, 0.5)
    gg.flash_attn_ext_add_sinks(o, sinks)
    kq = ctx.tensor(np.float32, (H, T, T))
    p = gg.soft_max_ext(kq, None, 0.5)
    gg.soft_max_add_sinks(p, sinks)
    qv, kv, vv, sv, kqv = f32(1, H, T, D), f32(1, H, T, D), f32(1, H, T, D), f32(H, lo=-1, hi=3), f32(H, T, T)
    out, pout = run([o, p], {q: qv, k: kv, v: vv, sinks: sv, kq: kqv}, cpu)
    ref = attention_ref(qv, kv, vv, None, 0.5, sv).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    s = kqv.astype(np.float64) * 0.5
    mx = np.maximum(s.max(-1, keepdims=True), sv.reshape(H, 1, 1))
    e = np.exp(s - mx)
    np.testing.assert_allclose(pout, e / (e.sum(-1, keepdims=True) + np.exp(sv.reshape(H, 1, 1) - mx)), rtol=1e-5, atol=1e-6)
    wrong = ctx.tensor(np.float32, (H + 1,))
    with pytest.raises(gg.GgallocError):
        gg.soft_max_add_sinks(p, wrong)


def test_mul_mat_id_add_id_argsort_top_k(ctx, cpu):
    n_exp, m, k, n_used, n_tok = 4, 6, 5, 2, 3
    experts = ctx.tensor(np.float32, (n_exp, m, k))
    x = ctx.tensor(np.float32, (n_tok, 1, k))
    ids = ctx.tensor(np.int32, (n_tok, n_used))
    bias = ctx.tensor(np.float32, (n_exp, m))
    logits = ctx.tensor(np.float32, (n_tok, n_exp))
    y = gg.mul_mat_id(experts, x, ids)
    yb = gg.add_id(y, bias, ids)
    srt = gg.argsort(logits, "desc")
    top = gg.top_k(logits, n_used)
    assert y.shape == (n_tok, n_used, m) and top.shape == (n_tok, n_used)
    ev, xv, bv, lv = f32(n_exp, m, k), f32(n_tok, 1, k), f32(n_exp, m), f32(n_tok, n_exp)
    iv = np.array([[0, 3], [2, 2], [1, 0]], dtype=np.int32)
    yo, ybo, so, to = run([y, yb, srt, top], {experts: ev, x: xv, ids: iv, bias: bv, logits: lv}, cpu)
    ref = np.stack([np.stack([ev[iv[t, s]] @ xv[t, 0] for s in range(n_used)]) for t in range(n_tok)])
    np.testing.assert_allclose(yo, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ybo, ref + bv[iv], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(so, np.argsort(-lv, axis=-1, kind="stable"))
    np.testing.assert_array_equal(to, np.argsort(-lv, axis=-1, kind="stable")[:, :n_used])


def test_elementwise_extras(ctx, cpu):
    a = ctx.tensor(np.float32, (4, 6, 6))
    outs = {
        "sin": (gg.sin(a), np.sin),
        "cos": (gg.cos(a), np.cos),
        "expm1": (gg.expm1(a), np.expm1),
        "softplus": (gg.softplus(a), lambda x: np.log1p(np.exp(x))),
        "floor": (gg.floor(a), np.floor),
        "ceil": (gg.ceil(a), np.ceil),
        "trunc": (gg.trunc(a), np.trunc),
        "round": (gg.round(a), lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5)),
        "leaky_relu": (gg.leaky_relu(a, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
        "fill": (gg.fill(a, 3.5), lambda x: np.full_like(x, 3.5)),
        "tri": (gg.tri(a, "lower"), lambda x: np.tril(x, -1)),
        "cumsum": (gg.cumsum(a), lambda x: np.cumsum(x, axis=-1)),
        "l2_norm": (gg.l2_norm(a, 1e-12), lambda x: x / np.linalg.norm(x, axis=-1, keepdims=True)),
        "group_norm": (gg.group_norm(a, 2, 1e-5),
                       lambda x: (x - x.reshape(2, -1).mean(1).reshape(2, 1, 1).repeat(2, 0)) /
                       np.sqrt(x.reshape(2, -1).var(1).reshape(2, 1, 1).repeat(2, 0) + 1e-5)),
    }
    av = f32(4, 6, 6, lo=-3, hi=3)
    av[0, 0, :3] = [0.5, -0.5, 2.5]  # halves round away from 0
    res = run([o for o, _ in outs.values()], {a: av}, cpu)
    for (name, (_, fn)), got in zip(outs.items(), res):
        np.testing.assert_allclose(got, fn(av.astype(np.float64)), rtol=2e-5, atol=2e-5, err_msg=name)


def test_clamp_is_in_place_and_generators(ctx, cpu):
    a = ctx.tensor(np.float32, (3, 4))
    c = gg.clamp(a, -0.5, 0.5)
    assert c.view_src is not None
    r = gg.arange(1.0, 4.0, 0.5, ctx=ctx)
    assert r.shape == (6,)
    t = gg.timestep_embedding(r, 6, 100)
    assert t.shape == (6, 6)
    i = ctx.tensor(np.int32, (7,))
    j = ctx.tensor(np.int32, (7,))
    n = gg.count_equal(i, j)
    av = f32(3, 4)
    co, ro, to, no = run([c, r, t, n], {a: av, i: np.arange(7, dtype=np.int32), j: np.array([0, 1, 0, 3, 0, 5, 0], np.int32)}, cpu)
    np.testing.assert_array_equal(co, np.clip(av, -0.5, 0.5))
    np.testing.assert_allclose(ro, np.arange(1.0, 4.0, 0.5))
    freqs = np.exp(-math.log(100) * np.arange(3) / 3)
    np.testing.assert_allclose(to, np.concatenate([np.cos(ro[:, None] * freqs), np.sin(ro[:, None] * freqs)], axis=1), rtol=1e-5, atol=1e-6)
    assert int(no.reshape(-1)[0]) == 4
    with pytest.raises(gg.GgallocError):
        gg.arange(0.0, 1.0, 0.0, ctx=ctx)
