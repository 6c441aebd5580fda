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


def test_conv_1d_and_transposed_against_numpy(ctx, cpu):
    OC, IC, K, N, L = 4, 3, 3, 1, 11  # ggml's conv_1d interleaves its result for N > 1: one batch
    w = ctx.tensor(np.float16, (OC, IC, K))
    x = ctx.tensor(np.float32, (N, IC, L))
    y = gg.conv_1d(w, x, 2, 1)
    wt = ctx.tensor(np.float32, (IC, OC, K))
    xt = ctx.tensor(np.float32, (IC, L))
    yt = gg.conv_transpose_1d(wt, xt, 3)
    assert y.shape == (N, OC, (L + 2 - K) // 2 + 1) and yt.shape == (OC, (L - 1) * 3 + K)
    wv, xv = f32(OC, IC, K).astype(np.float16), f32(N, IC, L)
    wtv, xtv = f32(IC, OC, K), f32(IC, L)
    yo, yto = run([y, yt], {w: wv, x: xv, wt: wtv, xt: xtv}, cpu)
    xp = np.pad(xv.astype(np.float16).astype(np.float64), ((0, 0), (0, 0), (1, 1)))  # im2col rounds to f16
    win = np.lib.stride_tricks.sliding_window_view(xp, K, axis=2)[:, :, ::2]         # (N, IC, OL, K)
    np.testing.assert_allclose(yo, np.einsum("nclk,ock->nol", win, wv.astype(np.float64)), rtol=1e-3, atol=1e-3)
    ref = np.zeros((OC, (L - 1) * 3 + K))
    for i in range(L):
        ref[:, i * 3:i * 3 + K] += np.einsum("c,cok->ok", xtv[:, i], wtv)
    np.testing.assert_allclose(yto, ref, rtol=1e-5, atol=1e-5)


def test_pool_pad_roll_interpolate_against_numpy(ctx, cpu):
    a = ctx.tensor(np.float32, (2, 3, 10))
    img = ctx.tensor(np.float32, (1, 2, 4, 5))
    outs = [
        gg.pool_1d(a, "avg", 2, 2),
        gg.pad_reflect_1d(a, 3, 2),
        gg.pad_ext(a, 1, 2, 0, 1),
        gg.roll(a, 3, -1),
        gg.interpolate(img, (1, 2, 8, 10), "nearest"),
        gg.upscale(img, 2),
        gg.interpolate(img, (1, 2, 7, 9), "bilinear", align_corners=True),
    ]
    av, iv = f32(2, 3, 10), f32(1, 2, 4, 5)
    res = run(outs, {a: av, img: iv}, cpu)
    np.testing.assert_allclose(res[0], av.reshape(2, 3, 5, 2).mean(-1), rtol=1e-6)
    np.testing.assert_array_equal(res[1], np.pad(av, ((0, 0), (0, 0), (3, 2)), mode="reflect"))
    np.testing.assert_array_equal(res[2], np.pad(av, ((0, 0), (0, 1), (1, 2))))
    np.testing.assert_array_equal(res[3], np.roll(av, (3, -1), axis=(2, 1)))
    near = iv.repeat(2, axis=2).repeat(2, axis=3)
    np.testing.assert_array_equal(res[4], near)
    np.testing.assert_array_equal(res[5], near)
    # align corners: output pixel i samples input (i * (n_in - 1) / (n_out - 1))
    ys, xs = np.arange(7) * 3 / 6, np.arange(9) * 4 / 8
    y0, x0 = np.minimum(np.floor(ys).astype(int), 2), np.minimum(np.floor(xs).astype(int), 3)
    dy, dx = (ys - y0)[:, None], (xs - x0)[None, :]
    g = iv[0].astype(np.float64)
    bil = (g[:, y0][:, :, x0] * (1 - dy) * (1 - dx) + g[:, y0][:, :, x0 + 1] * (1 - dy) * dx +
           g[:, y0 + 1][:, :, x0] * dy * (1 - dx) + g[:, y0 + 1][:, :, x0 + 1] * dy * dx)
    np.testing.assert_allclose(res[6][0], bil, rtol=1e-5, atol=1e-6)
    with pytest.raises(gg.GgallocError):
        gg.pad_reflect_1d(a, 10, 0)
    with pytest.raises(gg.GgallocError):
        gg.interpolate(img, (2, 2), "lanczos")


def test_win_part_round_trip(ctx, cpu):
    img = ctx.tensor(np.float32, (5, 7, 4))
    wp = gg.win_part(img, 3)
    back = gg.win_unpart(wp, 7, 5, 3)
    assert wp.shape == (6, 3, 3, 4) and back.shape == (5, 7, 4)
    iv = f32(5, 7, 4)
    wo, bo = run([wp, back], {img: iv}, cpu)
    padded = np.pad(iv, ((0, 1), (0, 2), (0, 0)))
    np.testing.assert_array_equal(wo, padded.reshape(2, 3, 3, 3, 4).transpose(0, 2, 1, 3, 4).reshape(6, 3, 3, 4))
    np.testing.assert_array_equal(bo, iv)


def test_acc_set_out_prod(ctx, cpu):
    a = ctx.tensor(np.float32, (6, 8))
    b = ctx.tensor(np.float32, (2, 3))
    p = ctx.tensor(np.float32, (7, 5))
    q = ctx.tensor(np.float32, (7, 4))
    nb1 = 8 * 4
    ac = gg.acc(a, b, 2 * nb1, 6 * nb1, 6 * nb1, nb1 + 4)   # rows 1 and 3, columns 1..3
    st = gg.set_2d(a, b, 2 * nb1, nb1 + 4)
    op = gg.out_prod(p, q)
    assert op.shape == (4, 5)
    av, bv, pv, qv = f32(6, 8), f32(2, 3), f32(7, 5), f32(7, 4)
    aco, sto, opo = run([ac, st, op], {a: av, b: bv, p: pv, q: qv}, cpu)
    want = av.copy()
    want[[1, 3], 1:4] += bv
    np.testing.assert_allclose(aco, want, rtol=1e-6)
    want = av.copy()
    want[[1, 3], 1:4] = bv
    np.testing.assert_array_equal(sto, want)
    np.testing.assert_allclose(opo, qv.T.astype(np.float64) @ pv, rtol=1e-5, atol=1e-6)
    with pytest.raises(gg.GgallocError):
        gg.acc(a, b, 2 * nb1, 6 * nb1, 6 * nb1, 5 * nb1)


def test_conv_2d_direct_matches_im2col(ctx, cpu):
    w = ctx.tensor(np.float32, (4, 3, 3, 3))
    wd = ctx.tensor(np.float32, (3, 1, 3, 3))
    x = ctx.tensor(np.float32, (2, 3, 7, 9))
    direct = gg.conv_2d_direct(w, x, 1, 1, 1, 1)
    via_im2col = gg.conv_2d(w, x, 1, 1, 1, 1)
    dw = gg.conv_2d_dw_direct(wd, x, 1, 1, 1, 1)
    dw_im2col = gg.conv_2d_dw(wd, x, 1, 1, 1, 1)
    assert direct.shape == (2, 4, 7, 9) and dw.shape == (2, 3, 7, 9)
    wv, wdv, xv = f32(4, 3, 3, 3), f32(3, 1, 3, 3), f32(2, 3, 7, 9)
    a, b, c, d = run([direct, via_im2col, dw, dw_im2col], {w: wv, wd: wdv, x: xv}, cpu)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # the im2col path rounds the data to f16 (as ggml's); the direct one does not
    np.testing.assert_allclose(c, d, rtol=5e-3, atol=5e-3)


@pytest.mark.parametrize("isa", ["scalar", "auto"])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_flash_attention_ignores_kv_slots_every_query_masks(isa, threads):
    """A KV cache's unused slots may hold anything (NaN from unwritten memory): keys the mask hides
    from every query must not reach the result, as in ggml, which never reads them."""
    D, H, nq, n_kv = 40, 4, 7, 33
    rng = np.random.default_rng(0)
    gg.set_cpu_isa(isa)
    try:
        ctx = gg.Context()
        q = ctx.tensor(np.float32, (1, H, nq, D)).set_input()
        k = ctx.tensor(np.float32, (1, H, n_kv, D)).set_input()
        v = ctx.tensor(np.float32, (1, H, n_kv, D)).set_input()
        m = ctx.tensor(np.float16, (1, 1, nq + 1, n_kv)).set_input()
        o = gg.flash_attn_ext(q, k, v, m, 1 / np.sqrt(D), 0.0, 0.0).set_output()
        g = gg.Graph(o)
        gg.GraphAllocator(gg.cpu_buffer_type()).alloc_graph(g)
        Q = rng.uniform(-1, 1, (1, H, nq, D)).astype(np.float32)
        K = rng.uniform(-1, 1, (1, H, n_kv, D)).astype(np.float32)
        V = rng.uniform(-2, 2, (1, H, n_kv, D)).astype(np.float32)
        M = rng.uniform(-1, 1, (1, 1, nq + 1, n_kv)).astype(np.float16)
        for i in range(nq + 1):
            M[0, 0, i, n_kv - 5 - nq + i + 1:] = -np.inf           # causal, and the last 5 slots unused
        q.set(Q), k.set(K), m.set(M)
        K[:, :, n_kv - 5:] = np.nan
        V[:, :, n_kv - 5:] = np.nan
        k.set(K), v.set(V)
        gg.CPUBackend(n_threads=threads).compute(g)
        S = np.einsum("bhqd,bhkd->bhqk", Q.astype(np.float64), np.nan_to_num(K).astype(np.float64)) / np.sqrt(D)
        S = S + M[:, :, :nq].astype(np.float64)
        P = np.exp(S - S.max(-1, keepdims=True))
        P /= P.sum(-1, keepdims=True)
        want = np.einsum("bhqk,bhkd->bqhd", P, np.nan_to_num(V).astype(np.float64))
        got = o.numpy()
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-4, atol=1e-5)
    finally:
        gg.set_cpu_isa("auto")
