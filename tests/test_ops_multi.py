"""Multi-section rope (MROPE, IMROPE, VISION), 3D im2col / convolution, col2im_1d and
antialiased interpolation, built from Python and computed on the CPU backend against numpy
written here; rope_multi also through the scheduler with a Vulkan device beside the CPU."""

import numpy as np
import pytest

import ggalloc as gg
from ggalloc._lib import lib
from test_ops import f32, run

BASE = 10000.0


def rope_multi_ref(x, pos, n_dims, sections, mode, attn_factor=1.0):
    """x: numpy (T, H, D); pos: (4 * T,) position streams. Pair i's angle is the position of its
    section's stream times BASE^(-2 e / n_dims), e = i, or i's place in its section for vision."""
    T, H, D = x.shape
    vision = mode == "vision"
    n_pairs = D // 2 if vision else n_dims // 2
    off = n_dims if vision else n_dims // 2
    starts = np.cumsum([0] + list(sections))
    out = x.astype(np.float64).copy()
    for i in range(n_pairs):
        sector = i % sum(sections)
        if mode == "imrope":
            k = next((s for s in (1, 2, 0) if sector % 3 == s and sector < 3 * sections[s]), 3)
        else:
            k = int(np.searchsorted(starts[1:], sector, side="right"))
        e = sector - starts[k] if vision else i
        theta = pos[k * T:(k + 1) * T].astype(np.float64) * BASE ** (-2.0 * e / n_dims)   # (T,)
        c, s = np.cos(theta)[:, None] * attn_factor, np.sin(theta)[:, None] * attn_factor
        x0, x1 = x[:, :, i].astype(np.float64), x[:, :, i + off].astype(np.float64)
        out[:, :, i], out[:, :, i + off] = x0 * c - x1 * s, x0 * s + x1 * c
    return out


CASES = [  # mode, D, n_dims, sections
    ("mrope", 18, 12, (2, 3, 1, 0)),
    ("mrope", 14, 14, (1, 1, 1, 0)),
    ("imrope", 22, 20, (4, 3, 2, 1)),
    ("vision", 20, 10, (3, 2, 0, 0)),
]


@pytest.mark.parametrize("mode,D,n_dims,sections", CASES)
def test_rope_multi_against_numpy(mode, D, n_dims, sections, ctx, cpu):
    T, H = 5, 3
    # non-contiguous input: a (H, T, D) tensor seen as (T, H, D)
    base = ctx.tensor(np.float32, (H, T, D))
    x = gg.permute(base, 0, 2, 1, 3)
    pos = ctx.tensor(np.int32, (4 * T,))
    y = gg.rope_multi(x, pos, None, n_dims, sections, mode, attn_factor=0.8)
    assert y.shape == (T, H, D)
    xv = f32(H, T, D)
    pv = np.random.default_rng(5).integers(0, 300, size=4 * T).astype(np.int32)
    (yo,) = run([y], {base: xv, pos: pv}, cpu)
    ref = rope_multi_ref(xv.transpose(1, 0, 2), pv, n_dims, sections, mode, 0.8)
    np.testing.assert_allclose(yo, ref, rtol=2e-4, atol=2e-4)


def test_rope_multi_inplace_and_refusals(ctx, cpu):
    T, H, D = 3, 2, 16
    x = ctx.tensor(np.float32, (T, H, D))
    pos = ctx.tensor(np.int32, (4 * T,))
    y = gg.rope_multi_inplace(x, pos, None, 16, (3, 3, 2, 0), lib.GGML_ROPE_TYPE_IMROPE)
    assert y.is_view
    xv, pv = f32(T, H, D), np.arange(4 * T, dtype=np.int32) * 7
    (yo,) = run([y], {x: xv, pos: pv}, cpu)
    np.testing.assert_allclose(yo, rope_multi_ref(xv, pv, 16, (3, 3, 2, 0), "imrope"), rtol=2e-4, atol=2e-4)
    p1 = ctx.tensor(np.int32, (T,))
    with pytest.raises(ValueError, match="4 positions"):
        gg.rope_multi(x, p1, None, 16, (3, 3, 2, 0))
    with pytest.raises(ValueError, match="sections"):
        gg.rope_multi(x, pos, None, 16, (0, 0, 0, 0))
    with pytest.raises(gg.GgallocError):
        gg.rope_multi(x, pos, None, 16, (1, 2, 3))
    with pytest.raises(gg.GgallocError):
        gg.rope_multi(x, pos, None, 6, (2, 2, 0, 0), "vision")  # n_dims must be D / 2
    with pytest.raises(gg.GgallocError):
        gg.rope_multi(x, pos, None, 16, (2, 2, 0, 0), "sideways")


def test_rope_set_offset(ctx, cpu):
    T, H, D = 4, 3, 30
    x = ctx.tensor(np.float32, (T, H, D))
    pos = ctx.tensor(np.int32, (4 * T,))
    y = gg.rope_multi(x, pos, None, 12, (3, 2, 1, 0), "mrope")
    assert gg.rope_set_offset(y, 14) is y
    xv = f32(T, H, D)
    pv = np.arange(4 * T, dtype=np.int32) * 11
    (yo,) = run([y], {x: xv, pos: pv}, cpu)
    ref = xv.astype(np.float64).copy()
    ref[:, :, 14:26] = rope_multi_ref(xv[:, :, 14:26], pv, 12, (3, 2, 1, 0), "mrope")
    np.testing.assert_allclose(yo, ref, rtol=2e-4, atol=2e-4)
    with pytest.raises(ValueError, match="offset"):
        gg.rope_set_offset(y, 20)                       # 20 + 12 > 30
    with pytest.raises(ValueError):
        gg.rope_set_offset(x, 2)                        # not a rope node


def test_rope_multi_through_the_scheduler_with_vulkan():
    if not gg.HAS_VULKAN:
        pytest.skip("built without Vulkan")
    if not gg.vulkan_devices():
        pytest.skip("no Vulkan device")
    vk, cpu = gg.VulkanBackend(0), gg.CPUBackend(n_threads=2)
    T, H, D = 7, 4, 24
    wctx = gg.Context()
    w = wctx.tensor(np.float32, (D, D), name="w")
    wbuf = gg.alloc_ctx_tensors(wctx, vk.buffer_type)
    W = f32(D, D) * 0.3
    w.set(W)
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (T * H, D), name="x")
    pos = ctx.tensor(np.int32, (4 * T,), name="pos")
    x.set_input()
    pos.set_input()
    h = gg.reshape_3d(gg.mul_mat(w, x), D, H, T)
    r = gg.rope_multi(h, pos, None, 16, (4, 2, 2, 0), "mrope")
    y = gg.scale(r, 0.5)
    y.set_output()
    # the same rope on the first 8 channels (the shader's), and on a window that starts at 8
    pos1 = ctx.tensor(np.int32, (T,), name="pos1")
    pos1.set_input()
    r0 = gg.rope_ext(h, pos1, None, 8, lib.GGML_ROPE_TYPE_NEOX)
    r8 = gg.rope_set_offset(gg.rope_ext(h, pos1, None, 8, lib.GGML_ROPE_TYPE_NEOX), 8)
    r0.set_output()
    r8.set_output()
    g = gg.Graph(y, r0, r8)
    sched = gg.Scheduler([vk, cpu])
    sched.alloc_graph(g)
    # the Vulkan rope shader knows the normal and NeoX modes from channel 0 only: the other
    # nodes fall back to the CPU
    assert sched.tensor_backend(h.src[0]) is vk and sched.tensor_backend(r) is cpu
    assert sched.tensor_backend(r0) is vk and sched.tensor_backend(r8) is cpu
    assert sched.n_splits >= 2
    xv = f32(T * H, D)
    pv = np.random.default_rng(9).integers(0, 500, size=4 * T).astype(np.int32)
    x.set(xv)
    pos.set(pv)
    pos1.set(pv[:T])
    sched.compute(g)
    hv = (xv @ W.T).reshape(T, H, D)
    ref = 0.5 * rope_multi_ref(hv, pv, 16, (4, 2, 2, 0), "mrope")
    np.testing.assert_allclose(y.numpy(), ref, rtol=1e-3, atol=1e-3)
    # NeoX is the multi-section rope with one section: stream 0 everywhere
    ref0 = hv.astype(np.float64).copy()
    ref0[:, :, :8] = rope_multi_ref(hv[:, :, :8], pv, 8, (4, 0, 0, 0), "mrope")
    ref8 = hv.astype(np.float64).copy()
    ref8[:, :, 8:16] = rope_multi_ref(hv[:, :, 8:16], pv, 8, (4, 0, 0, 0), "mrope")
    np.testing.assert_allclose(r0.numpy(), ref0, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(r8.numpy(), ref8, rtol=1e-3, atol=1e-3)
    assert sched.plan(vk).verify() == 0 and sched.plan(cpu).verify() == 0
    del wbuf


def test_conv_3d_against_numpy(ctx, cpu):
    N, IC, OC, KD, KH, KW, ID, IH, IW = 2, 3, 4, 2, 3, 3, 4, 6, 7
    s, p = (2, 1, 1), (1, 1, 0)   # (w, h, d)
    k = ctx.tensor(np.float32, (OC * IC, KD, KH, KW))
    x = ctx.tensor(np.float32, (N * IC, ID, IH, IW))
    y = gg.conv_3d(k, x, IC, s[0], s[1], s[2], p[0], p[1], p[2])
    yd = gg.conv_3d_direct(k, x, IC, N, OC, s[0], s[1], s[2], p[0], p[1], p[2])
    cols = gg.im2col_3d(k, x, IC, s[0], s[1], s[2], p[0], p[1], p[2], dst_type="f16")
    OD, OH, OW = (ID + 2 * p[2] - KD) // s[2] + 1, (IH + 2 * p[1] - KH) // s[1] + 1, (IW + 2 * p[0] - KW) // s[0] + 1
    assert y.shape == (N * OC, OD, OH, OW) and cols.shape == (OD * N, OH, OW, IC * KD * KH * KW)
    kv, xv = f32(OC * IC, KD, KH, KW), f32(N * IC, ID, IH, IW)
    yo, co, ydo = run([y, cols, yd], {k: kv, x: xv}, cpu)
    xp = np.pad(xv.reshape(N, IC, ID, IH, IW).astype(np.float64), ((0, 0), (0, 0), (p[2],) * 2, (p[1],) * 2, (p[0],) * 2))
    win = np.lib.stride_tricks.sliding_window_view(xp, (KD, KH, KW), axis=(2, 3, 4))
    win = win[:, :, ::s[2], ::s[1], ::s[0]]                              # (N, IC, OD, OH, OW, KD, KH, KW)
    ref = np.einsum("ncdhwijk,ocijk->nodhw", win, kv.reshape(OC, IC, KD, KH, KW).astype(np.float64))
    np.testing.assert_allclose(yo, ref.reshape(N * OC, OD, OH, OW), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ydo, ref.reshape(N * OC, OD, OH, OW), rtol=1e-4, atol=1e-4)
    # the columns: row (n*OD + od, oh, ow), channel-major patches, rounded to f16
    patches = win.transpose(0, 2, 3, 4, 1, 5, 6, 7).reshape(N * OD, OH, OW, -1)
    np.testing.assert_array_equal(co, patches.astype(np.float16).astype(np.float32))


def test_col2im_1d_is_conv_transpose_1d(ctx, cpu):
    IC, OC, K, T = 3, 4, 5, 6
    for s0 in (1, 2, 3, 7):
        wt = ctx.tensor(np.float32, (IC, OC, K))         # conv_transpose_1d's kernel [K, OC, IC]
        xt = ctx.tensor(np.float32, (IC, T))
        ref_node = gg.conv_transpose_1d(wt, xt, s0)
        w = ctx.tensor(np.float32, (OC * K, IC))         # the same weights, one GEMM row per (oc, k)
        x = ctx.tensor(np.float32, (T, IC))
        cols = gg.mul_mat(w, x)                          # numpy (T, OC*K)
        y = gg.col2im_1d(cols, s0, OC)
        yp = gg.col2im_1d(cols, s0, OC, 1)               # cropped by one sample at each end
        wv, xv = f32(IC, OC, K), f32(IC, T)
        ro, yo, ypo = run([ref_node, y, yp], {wt: wv, xt: xv, w: np.ascontiguousarray(wv.transpose(1, 2, 0).reshape(OC * K, IC)),
                                         x: np.ascontiguousarray(xv.T)},
                          cpu)
        assert yo.shape == (OC, (T - 1) * s0 + K) and ypo.shape == (OC, (T - 1) * s0 + K - 2)
        np.testing.assert_allclose(yo, ro, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ypo, ro[:, 1:-1], rtol=1e-5, atol=1e-5)
    with pytest.raises(gg.GgallocError):
        gg.col2im_1d(cols, 2, 3)                         # 3 does not divide OC*K = 20


def test_interpolate_antialias(ctx, cpu):
    img = ctx.tensor(np.float32, (2, 12, 16))
    down = gg.interpolate(img, (2, 6, 8), "bilinear", antialias=True)
    up = gg.interpolate(img, (2, 15, 21), "bilinear", antialias=True)
    iv = np.zeros((2, 12, 16), np.float32)
    iv[0, 5, 7] = 1.0                        # a delta: the result is the filter itself
    iv[1] = 3.0                              # a constant stays constant, edges included
    do, uo = run([down, up], {img: iv}, cpu)
    # halving: an interior output pixel weighs its 4 nearest inputs per axis as 1/8, 3/8, 3/8, 1/8
    taps = np.array([1, 3, 3, 1]) / 8
    np.testing.assert_allclose(do[0, 2:4, 3:5], np.outer(taps[[2, 0]], taps[[2, 0]]), rtol=1e-6)
    assert do[0].sum() == pytest.approx(0.25, rel=1e-6) and np.count_nonzero(do[0]) == 4
    np.testing.assert_allclose(do[1], 3.0, rtol=1e-6)
    np.testing.assert_allclose(uo[1], 3.0, rtol=1e-6)
    with pytest.raises(ValueError, match="bilinear mode only"):   # as ggml: antialias is bilinear's
        gg.interpolate(img, (2, 6, 8), "nearest", antialias=True)
