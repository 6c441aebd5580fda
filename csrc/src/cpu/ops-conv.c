//
// ops-conv.c — the CPU kernels of the convolution and image ops that are not im2col + mul_mat
// (im2col_3d, direct 3D convolution, col2im_1d, transposed convolutions, pool_1d, upscale /
// interpolate, pad_reflect_1d, roll, SAM's relative positions) and the custom ops, whose kernel is
// the program's own function.
//
// Transposed convolutions are computed as gathers: each output element sums the (input, kernel)
// pairs that land on it, so threads own disjoint output rows and need no reduction. Resampling
// maps each output pixel back to input coordinates (half-pixel centres, or corners aligned),
// and takes the nearest pixel, a bilinear blend of 2x2, or a bicubic blend of 4x4 (a = -0.75)
// with clamped edges; antialiased bilinear widens the blend to a tent over all the input pixels
// an output pixel covers.
//

#include "ops.h"
#include "ops-impl.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ggalloc.h"
#include "log.h"

static float conv_get(const struct ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return cpu_get_f32(t->type, cpu_ptr(t, i0, i1, i2, i3));
}

//
// im2col_3d and col2im_1d
//

// Each output row (n, od, oh, ow) is one patch: for every input channel the KD x KH x KW window
// of data it covers, zeros where the window hangs over the padding.
static void conv_compute_im2col_3d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * k = dst->src[0], * b = dst->src[1];
    const int32_t * op = dst->op_params;
    const int s0 = op[0], s1 = op[1], s2 = op[2], p0 = op[3], p1 = op[4], p2 = op[5];
    const int d0 = op[6], d1 = op[7], d2 = op[8];
    const int64_t IC = op[9];
    const int64_t KW = k->ne[0], KH = k->ne[1], KD = k->ne[2];
    const int64_t IW = b->ne[0], IH = b->ne[1], ID = b->ne[2];
    const int64_t OW = dst->ne[1], OH = dst->ne[2], N = b->ne[3] / IC, OD = dst->ne[3] / N;
    int64_t r0, r1;
    cpu_split(params, OW * OH * dst->ne[3], &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t iow = r % OW, ioh = (r / OW) % OH, i3 = r / (OW * OH);
        const int64_t in = i3 / OD, iod = i3 % OD;
        char * out = cpu_ptr(dst, 0, iow, ioh, i3);
        int64_t col = 0;
        for (int64_t ic = 0; ic < IC; ic++) {
            for (int64_t ikd = 0; ikd < KD; ikd++) {
                const int64_t iid = iod * s2 + ikd * d2 - p2;
                for (int64_t ikh = 0; ikh < KH; ikh++) {
                    const int64_t iih = ioh * s1 + ikh * d1 - p1;
                    for (int64_t ikw = 0; ikw < KW; ikw++, col++) {
                        const int64_t iiw = iow * s0 + ikw * d0 - p0;
                        float v = 0.0f;
                        if (iid >= 0 && iid < ID && iih >= 0 && iih < IH && iiw >= 0 && iiw < IW) {
                            v = conv_get(b, iiw, iih, iid, in * IC + ic);
                        }
                        cpu_set_f32(dst->type, out + col * dst->nb[0], v);
                    }
                }
            }
        }
    }
}

// Direct 3D convolution: each output element sums its window over every input channel.
static void conv_compute_3d_direct(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * k = dst->src[0], * b = dst->src[1];
    const int32_t * op = dst->op_params;
    const int64_t IC = op[9], OC = op[11];
    const int64_t KW = k->ne[0], KH = k->ne[1], KD = k->ne[2];
    const int64_t IW = b->ne[0], IH = b->ne[1], ID = b->ne[2];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t oh, od, i3;
        cpu_unravel(dst, r, &oh, &od, &i3);
        const int64_t n = i3 / OC, oc = i3 % OC;
        for (int64_t ow = 0; ow < dst->ne[0]; ow++) {
            float sum = 0.0f;
            for (int64_t ic = 0; ic < IC; ic++) {
                for (int64_t kd = 0; kd < KD; kd++) {
                    const int64_t id = od * op[2] + kd * op[8] - op[5];
                    if (id < 0 || id >= ID) continue;
                    for (int64_t kh = 0; kh < KH; kh++) {
                        const int64_t ih = oh * op[1] + kh * op[7] - op[4];
                        if (ih < 0 || ih >= IH) continue;
                        for (int64_t kw = 0; kw < KW; kw++) {
                            const int64_t iw = ow * op[0] + kw * op[6] - op[3];
                            if (iw < 0 || iw >= IW) continue;
                            sum += conv_get(k, kw, kh, kd, oc * IC + ic) * conv_get(b, iw, ih, id, n * IC + ic);
                        }
                    }
                }
            }
            *(float *) cpu_ptr(dst, ow, oh, od, i3) = sum;
        }
    }
}

// The overlap-add after a transposed convolution's GEMM, as a gather: output sample t of channel
// oc sums column (oc*K + k) of every input step i with i*s0 + k == t + p0, so threads own
// disjoint output rows.
static void conv_compute_col2im_1d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int64_t s0 = dst->op_params[0], OC = dst->op_params[1], p0 = dst->op_params[2];
    const int64_t K = a->ne[0] / OC, T_in = a->ne[1];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t oc, i2, i3;
        cpu_unravel(dst, r, &oc, &i2, &i3);
        for (int64_t t = 0; t < dst->ne[0]; t++) {
            const int64_t ta = t + p0;
            // i in [ceil((ta - K + 1) / s0), floor(ta / s0)] within [0, T_in)
            int64_t lo = ta - K + 1 <= 0 ? 0 : (ta - K + 1 + s0 - 1) / s0;
            int64_t hi = ta / s0;
            if (hi > T_in - 1) {
                hi = T_in - 1;
            }
            float sum = 0.0f;
            for (int64_t i = lo; i <= hi; i++) {
                sum += conv_get(a, oc * K + (ta - i * s0), i, i2, i3);
            }
            cpu_set_f32(dst->type, cpu_ptr(dst, t, oc, i2, i3), sum);
        }
    }
}

//
// Transposed convolutions
//

static void conv_compute_transpose_1d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * k = dst->src[0], * b = dst->src[1];
    const int s0 = dst->op_params[0];
    const int64_t K = k->ne[0], IC = k->ne[2], L = b->ne[0];
    int64_t r0, r1;
    cpu_split(params, dst->ne[1], &r0, &r1);
    for (int64_t oc = r0; oc < r1; oc++) {
        for (int64_t o = 0; o < dst->ne[0]; o++) {
            // input positions i with o = i*s0 + kk for some kernel tap kk in [0, K)
            int64_t i_lo = o - K + 1 > 0 ? (o - K + 1 + s0 - 1) / s0 : 0;
            int64_t i_hi = o / s0 < L - 1 ? o / s0 : L - 1;
            double acc = 0.0;
            for (int64_t i = i_lo; i <= i_hi; i++) {
                const int64_t kk = o - i * s0;
                for (int64_t ic = 0; ic < IC; ic++) {
                    acc += (double) conv_get(k, kk, oc, ic, 0) * conv_get(b, i, ic, 0, 0);
                }
            }
            *(float *) cpu_ptr(dst, o, oc, 0, 0) = (float) acc;
        }
    }
}

static void conv_compute_transpose_2d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * k = dst->src[0], * b = dst->src[1];
    const int s = dst->op_params[0];
    const int64_t KW = k->ne[0], KH = k->ne[1], IC = k->ne[3], W = b->ne[0], H = b->ne[1];
    int64_t r0, r1;
    cpu_split(params, dst->ne[1] * dst->ne[2] * dst->ne[3], &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t oy, oc, n;
        cpu_unravel(dst, r, &oy, &oc, &n);
        const int64_t y_lo = oy - KH + 1 > 0 ? (oy - KH + 1 + s - 1) / s : 0;
        const int64_t y_hi = oy / s < H - 1 ? oy / s : H - 1;
        for (int64_t ox = 0; ox < dst->ne[0]; ox++) {
            const int64_t x_lo = ox - KW + 1 > 0 ? (ox - KW + 1 + s - 1) / s : 0;
            const int64_t x_hi = ox / s < W - 1 ? ox / s : W - 1;
            double acc = 0.0;
            for (int64_t y = y_lo; y <= y_hi; y++) {
                for (int64_t x = x_lo; x <= x_hi; x++) {
                    for (int64_t ic = 0; ic < IC; ic++) {
                        acc += (double) conv_get(k, ox - x * s, oy - y * s, oc, ic) * conv_get(b, x, y, ic, n);
                    }
                }
            }
            *(float *) cpu_ptr(dst, ox, oy, oc, n) = (float) acc;
        }
    }
}

// Direct 2D convolution, plain (every input channel) or depthwise (channel c with kernel c).
static void conv_compute_2d_direct(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * k = dst->src[0], * b = dst->src[1];
    const int s0 = dst->op_params[0], s1 = dst->op_params[1], p0 = dst->op_params[2], p1 = dst->op_params[3];
    const int d0 = dst->op_params[4], d1 = dst->op_params[5];
    const bool dw = dst->op == GGML_OP_CONV_2D_DW;
    const int64_t KW = k->ne[0], KH = k->ne[1], IC = dw ? 1 : k->ne[2], W = b->ne[0], H = b->ne[1];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t oy, oc, n;
        cpu_unravel(dst, r, &oy, &oc, &n);
        for (int64_t ox = 0; ox < dst->ne[0]; ox++) {
            double acc = 0.0;
            for (int64_t ic = 0; ic < IC; ic++) {
                for (int64_t ky = 0; ky < KH; ky++) {
                    const int64_t y = oy * s1 + ky * d1 - p1;
                    if (y < 0 || y >= H) continue;
                    for (int64_t kx = 0; kx < KW; kx++) {
                        const int64_t x = ox * s0 + kx * d0 - p0;
                        if (x < 0 || x >= W) continue;
                        acc += dw ? (double) conv_get(k, kx, ky, 0, oc) * conv_get(b, x, y, oc, n)
                                  : (double) conv_get(k, kx, ky, ic, oc) * conv_get(b, x, y, ic, n);
                    }
                }
            }
            *(float *) cpu_ptr(dst, ox, oy, oc, n) = (float) acc;
        }
    }
}

//
// Pooling, resampling, padding, roll
//

static void conv_compute_pool_1d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int op = dst->op_params[0], k0 = dst->op_params[1], s0 = dst->op_params[2], p0 = dst->op_params[3];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, r, &i1, &i2, &i3);
        for (int64_t o = 0; o < dst->ne[0]; o++) {
            float acc = op == GGML_OP_POOL_MAX ? -FLT_MAX : 0.0f;
            for (int64_t kk = 0; kk < k0; kk++) {
                const int64_t i = o * s0 + kk - p0;
                if (i < 0 || i >= a->ne[0]) {
                    continue;
                }
                const float v = conv_get(a, i, i1, i2, i3);
                acc = op == GGML_OP_POOL_MAX ? (v > acc ? v : acc) : acc + v;
            }
            *(float *) cpu_ptr(dst, o, i1, i2, i3) = op == GGML_OP_POOL_AVG ? acc / (float) k0 : acc;
        }
    }
}

static float conv_cubic1(float x, float A) { return ((A + 2) * x - (A + 3)) * x * x + 1; }
static float conv_cubic2(float x, float A) { return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; }

static int64_t conv_clamp(int64_t i, int64_t n) {
    return i < 0 ? 0 : i >= n ? n - 1 : i;
}

static float conv_tent(float x) {
    return fmaxf(1.0f - fabsf(x), 0.0f);
}

// Antialiased bilinear sample centred at input coordinates (x, y) (pixel centres at + off): a
// separable tent filter `support` pixels wide on each side, its weights normalised by the sum of
// the weights that fall inside the image, so edges keep their level.
static float conv_antialias(const struct ggml_tensor * a, float x, float y, float off, float support0, float support1,
                            int64_t j2, int64_t j3) {
    const int64_t x_lo = (int64_t) (x - support0 + off) > 0 ? (int64_t) (x - support0 + off) : 0;
    const int64_t y_lo = (int64_t) (y - support1 + off) > 0 ? (int64_t) (y - support1 + off) : 0;
    int64_t x_hi = (int64_t) (x + support0 + off), y_hi = (int64_t) (y + support1 + off);
    x_hi = x_hi < a->ne[0] ? x_hi : a->ne[0];
    y_hi = y_hi < a->ne[1] ? y_hi : a->ne[1];
    float sum = 0.0f, total = 0.0f;
    for (int64_t sy = y_lo; sy < y_hi; sy++) {
        const float wy = conv_tent(((float) sy - y + off) / support1);
        for (int64_t sx = x_lo; sx < x_hi; sx++) {
            const float w = conv_tent(((float) sx - x + off) / support0) * wy;
            if (w > 0.0f) {
                sum += w * conv_get(a, sx, sy, j2, j3);
                total += w;
            }
        }
    }
    return total > 0.0f ? sum / total : 0.0f;
}

static void conv_compute_upscale(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const uint32_t mode_flags = (uint32_t) dst->op_params[0];
    const int mode = (int) (mode_flags & 0xff);
    const bool corners = (mode_flags & GGML_SCALE_FLAG_ALIGN_CORNERS) != 0;
    float sf0 = (float) dst->ne[0] / (float) a->ne[0], sf1 = (float) dst->ne[1] / (float) a->ne[1];
    const float sf2 = (float) dst->ne[2] / (float) a->ne[2], sf3 = (float) dst->ne[3] / (float) a->ne[3];
    float off = 0.5f;
    if (corners) { // nearest too: its source index i / sf uses the corner-aligned scale
        off = 0.0f;
        sf0 = dst->ne[0] > 1 && a->ne[0] > 1 ? (float) (dst->ne[0] - 1) / (float) (a->ne[0] - 1) : sf0;
        sf1 = dst->ne[1] > 1 && a->ne[1] > 1 ? (float) (dst->ne[1] - 1) / (float) (a->ne[1] - 1) : sf1;
    }
    // antialiasing applies to bilinear only (as in ggml): the tent widens to 1/scale input pixels
    // when downsampling
    const bool antialias = mode == GGML_SCALE_MODE_BILINEAR && (mode_flags & GGML_SCALE_FLAG_ANTIALIAS) != 0;
    const float support0 = fmaxf(1.0f, 1.0f / sf0), support1 = fmaxf(1.0f, 1.0f / sf1);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, r, &i1, &i2, &i3);
        const int64_t j2 = (int64_t) ((float) i2 / sf2), j3 = (int64_t) ((float) i3 / sf3);
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            float v;
            if (mode == GGML_SCALE_MODE_NEAREST) {
                v = conv_get(a, (int64_t) ((float) i0 / sf0), (int64_t) ((float) i1 / sf1), j2, j3);
            } else if (antialias) {
                v = conv_antialias(a, ((float) i0 + off) / sf0, ((float) i1 + off) / sf1, off, support0, support1, j2, j3);
            } else {
                const float x = ((float) i0 + off) / sf0 - off, y = ((float) i1 + off) / sf1 - off;
                const int64_t x0 = (int64_t) floorf(x), y0 = (int64_t) floorf(y);
                const float dx = x - (float) x0, dy = y - (float) y0;
                if (mode == GGML_SCALE_MODE_BILINEAR) {
                    const float fx = dx < 0 ? 0 : dx > 1 ? 1 : dx, fy = dy < 0 ? 0 : dy > 1 ? 1 : dy;
                    const int64_t xa = conv_clamp(x0, a->ne[0]), xb = conv_clamp(x0 + 1, a->ne[0]);
                    const int64_t ya = conv_clamp(y0, a->ne[1]), yb = conv_clamp(y0 + 1, a->ne[1]);
                    v = conv_get(a, xa, ya, j2, j3) * (1 - fx) * (1 - fy) + conv_get(a, xb, ya, j2, j3) * fx * (1 - fy) +
                        conv_get(a, xa, yb, j2, j3) * (1 - fx) * fy + conv_get(a, xb, yb, j2, j3) * fx * fy;
                } else {
                    const float A = -0.75f;
                    const float wx[4] = { conv_cubic2(dx + 1, A), conv_cubic1(dx, A), conv_cubic1(1 - dx, A), conv_cubic2(2 - dx, A) };
                    const float wy[4] = { conv_cubic2(dy + 1, A), conv_cubic1(dy, A), conv_cubic1(1 - dy, A), conv_cubic2(2 - dy, A) };
                    v = 0.0f;
                    for (int jy = 0; jy < 4; jy++) {
                        float row = 0.0f;
                        for (int jx = 0; jx < 4; jx++) {
                            row += wx[jx] * conv_get(a, conv_clamp(x0 - 1 + jx, a->ne[0]), conv_clamp(y0 - 1 + jy, a->ne[1]), j2, j3);
                        }
                        v += wy[jy] * row;
                    }
                }
            }
            cpu_set_f32(dst->type, cpu_ptr(dst, i0, i1, i2, i3), v);
        }
    }
}

static void conv_compute_pad_reflect_1d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int64_t p0 = dst->op_params[0], n = a->ne[0];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, r, &i1, &i2, &i3);
        for (int64_t o = 0; o < dst->ne[0]; o++) {
            int64_t i = o - p0;
            i = i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
            *(float *) cpu_ptr(dst, o, i1, i2, i3) = *(const float *) cpu_ptr(a, i, i1, i2, i3);
        }
    }
}

static int64_t conv_wrap(int64_t i, int64_t shift, int64_t n) {
    int64_t j = (i - shift) % n;
    return j < 0 ? j + n : j;
}

static void conv_compute_roll(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const size_t ts = ggml_type_size(dst->type);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, r, &i1, &i2, &i3);
        const int64_t j1 = conv_wrap(i1, dst->op_params[1], a->ne[1]);
        const int64_t j2 = conv_wrap(i2, dst->op_params[2], a->ne[2]);
        const int64_t j3 = conv_wrap(i3, dst->op_params[3], a->ne[3]);
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            memcpy(cpu_ptr(dst, i0, i1, i2, i3), cpu_ptr(a, conv_wrap(i0, dst->op_params[0], a->ne[0]), j1, j2, j3), ts);
        }
    }
}

//
// Windows and relative positions (SAM)
//

// dst [C, w, w, windows]: window (py, px) holds the image's pixels from (py*w, px*w), 0 past its edge
static void conv_compute_win_part(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int64_t npx = dst->op_params[0], w = dst->op_params[2];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, r, &i1, &i2, &i3);
        const int64_t x = (i3 % npx) * w + i1, y = (i3 / npx) * w + i2;
        float * out = (float *) cpu_ptr(dst, 0, i1, i2, i3);
        for (int64_t c = 0; c < dst->ne[0]; c++) {
            out[c] = x < a->ne[1] && y < a->ne[2] ? *(const float *) cpu_ptr(a, c, x, y, 0) : 0.0f;
        }
    }
}

static void conv_compute_win_unpart(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int64_t w = dst->op_params[0];
    const int64_t npx = (dst->ne[1] + w - 1) / w;
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t x, y, i3;
        cpu_unravel(dst, r, &x, &y, &i3);
        const float * in = (const float *) cpu_ptr(a, 0, x % w, y % w, (y / w) * npx + x / w);
        float * out = (float *) cpu_ptr(dst, 0, x, y, 0);
        for (int64_t c = 0; c < dst->ne[0]; c++) {
            out[c] = in[c * (int64_t) (a->nb[0] / sizeof(float))];
        }
    }
}

static void conv_compute_get_rel_pos(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int64_t kh = dst->ne[1];
    const size_t ts = ggml_type_size(dst->type);
    int64_t r0, r1;
    cpu_split(params, dst->ne[1] * dst->ne[2], &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t i1 = r % kh, i2 = r / kh;
        const int64_t pos = (kh - i1 - 1) + i2;
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            memcpy(cpu_ptr(dst, i0, i1, i2, 0), cpu_ptr(a, i0, pos, 0, 0), ts);
        }
    }
}

// dst = a (+ in place) plus, for each query (i10, i11, i12) of pw/ph, ph's value along a row of
// w keys and pw's value down a column of w keys of the attention map
static void conv_compute_add_rel_pos(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0], * pw = dst->src[1], * ph = dst->src[2];
    if (a->data != dst->data) {
        int64_t b0, b1;
        cpu_split(params, (int64_t) ggml_nbytes(dst), &b0, &b1);
        memcpy((char *) dst->data + b0, (const char *) a->data + b0, (size_t) (b1 - b0));
    }
    cpu_op_barrier(params);
    const int64_t ne10 = pw->ne[0], ne11 = pw->ne[1], ne12 = pw->ne[2], ne13 = pw->ne[3];
    const float * w = pw->data, * h = ph->data;
    float * d = dst->data;
    int64_t r0, r1;
    cpu_split(params, ne13 * ne12, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        for (int64_t i11 = 0; i11 < ne11; i11++) {
            const int64_t jp1 = r * ne11 * ne10 + i11 * ne10;
            for (int64_t i10 = 0; i10 < ne10; i10++) {
                const int64_t jp0 = jp1 + i10;
                const int64_t jdh = jp0 * ne10;
                const int64_t jdw = jdh - (ne10 - 1) * i10;
                for (int64_t j = 0; j < ne10; j++) {
                    d[jdh + j] += h[jp0];
                    d[jdw + j * ne10] += w[jp0];
                }
            }
        }
    }
}

//
// Custom ops
//

static void conv_compute_custom(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    struct ggalloc_custom_params p;
    memcpy(&p, dst->op_params, sizeof(p));
    const int nth = p.n_tasks == GGML_N_TASKS_MAX || p.n_tasks > params->nth ? params->nth : p.n_tasks;
    if (params->ith >= nth) {
        return;
    }
    switch (dst->op) {
        case GGML_OP_MAP_CUSTOM1:
            ((ggml_custom1_op_t) p.fun)(dst, dst->src[0], params->ith, nth, p.userdata);
            break;
        case GGML_OP_MAP_CUSTOM2:
            ((ggml_custom2_op_t) p.fun)(dst, dst->src[0], dst->src[1], params->ith, nth, p.userdata);
            break;
        case GGML_OP_MAP_CUSTOM3:
            ((ggml_custom3_op_t) p.fun)(dst, dst->src[0], dst->src[1], dst->src[2], params->ith, nth, p.userdata);
            break;
        default:
            ((ggml_custom_op_t) p.fun)(dst, params->ith, nth, p.userdata);
            break;
    }
}

//
// Dispatch
//

bool cpu_conv_handles(const struct ggml_tensor * node) {
    switch (node->op) {
        case GGML_OP_CONV_TRANSPOSE_1D: case GGML_OP_CONV_TRANSPOSE_2D: case GGML_OP_POOL_1D: case GGML_OP_UPSCALE:
        case GGML_OP_PAD_REFLECT_1D: case GGML_OP_ROLL: case GGML_OP_GET_REL_POS: case GGML_OP_ADD_REL_POS:
        case GGML_OP_MAP_CUSTOM1: case GGML_OP_MAP_CUSTOM2: case GGML_OP_MAP_CUSTOM3: case GGML_OP_CUSTOM:
        case GGML_OP_WIN_PART: case GGML_OP_WIN_UNPART: case GGML_OP_CONV_2D: case GGML_OP_CONV_2D_DW:
        case GGML_OP_IM2COL_3D: case GGML_OP_COL2IM_1D: case GGML_OP_CONV_3D:
            return true;
        default:
            return false;
    }
}

static int64_t conv_output_size_cpu(int64_t ins, int64_t ks, int s, int p, int d) {
    return (ins + 2 * (int64_t) p - (int64_t) d * (ks - 1) - 1) / s + 1;
}

static bool conv_float(const struct ggml_tensor * t) {
    return t != NULL && cpu_type_is_float(t->type);
}

bool cpu_conv_supported(const struct ggml_tensor * node) {
    const struct ggml_tensor * a = node->src[0], * b = node->src[1], * c = node->src[2];
    switch (node->op) {
        case GGML_OP_CONV_TRANSPOSE_1D:
            return conv_float(a) && conv_float(b) && node->type == GGML_TYPE_F32 && a->ne[2] == b->ne[1] &&
                   node->ne[1] == a->ne[1] && node->op_params[0] >= 1 &&
                   node->ne[0] == (b->ne[0] - 1) * node->op_params[0] + a->ne[0];
        case GGML_OP_IM2COL_3D: {
            // the shape is all a graph from a file or the wire brings: check what the kernel indexes
            const int32_t * op = node->op_params;
            const int64_t IC = op[9];
            if (a == NULL || !conv_float(b) || (node->type != GGML_TYPE_F32 && node->type != GGML_TYPE_F16) || IC < 1 ||
                b->ne[3] % IC != 0 || b->ne[3] == 0 || node->ne[3] % (b->ne[3] / IC) != 0 ||
                node->ne[0] != a->ne[0] * a->ne[1] * a->ne[2] * IC) {
                return false;
            }
            for (int i = 0; i < 3; i++) {
                if (op[i] < 1 || op[3 + i] < 0 || op[6 + i] < 1) {
                    return false;
                }
            }
            return node->ne[1] == conv_output_size_cpu(b->ne[0], a->ne[0], op[0], op[3], op[6]) &&
                   node->ne[2] == conv_output_size_cpu(b->ne[1], a->ne[1], op[1], op[4], op[7]) &&
                   node->ne[3] == (b->ne[3] / IC) * conv_output_size_cpu(b->ne[2], a->ne[2], op[2], op[5], op[8]);
        }
        case GGML_OP_CONV_3D: {
            const int32_t * op = node->op_params;
            const int64_t c = op[9], n = op[10], oc = op[11];
            if (!conv_float(a) || !conv_float(b) || node->type != GGML_TYPE_F32 || c < 1 || n < 1 || oc < 1 ||
                a->ne[3] != c * oc || b->ne[3] != c * n || node->ne[3] != n * oc) {
                return false;
            }
            for (int i = 0; i < 3; i++) {
                if (op[i] < 1 || op[3 + i] < 0 || op[6 + i] < 1) {
                    return false;
                }
            }
            return true; // windows are bounds-checked against b, whatever the output extents
        }
        case GGML_OP_COL2IM_1D: {
            const int64_t s0 = node->op_params[0], oc = node->op_params[1], p0 = node->op_params[2];
            return conv_float(a) && cpu_type_is_float(node->type) && s0 >= 1 && oc >= 1 && p0 >= 0 && a->ne[0] % oc == 0 &&
                   node->ne[1] == oc && node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3] &&
                   node->ne[0] == (a->ne[1] - 1) * s0 + a->ne[0] / oc - 2 * p0;
        }
        case GGML_OP_CONV_TRANSPOSE_2D:
            return conv_float(a) && conv_float(b) && node->type == GGML_TYPE_F32 && a->ne[3] == b->ne[2] &&
                   node->op_params[0] >= 1 && node->ne[2] == a->ne[2] && node->ne[3] == b->ne[3];
        case GGML_OP_POOL_1D:
            return conv_float(a) && node->type == GGML_TYPE_F32 && node->op_params[1] >= 1 && node->op_params[2] >= 1 &&
                   (node->op_params[0] == GGML_OP_POOL_MAX || node->op_params[0] == GGML_OP_POOL_AVG) &&
                   node->ne[1] == a->ne[1] && node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3];
        case GGML_OP_UPSCALE:
            return conv_float(a) && cpu_type_is_float(node->type) && (node->op_params[0] & 0xff) < GGML_SCALE_MODE_COUNT;
        case GGML_OP_PAD_REFLECT_1D:
            return a != NULL && a->type == GGML_TYPE_F32 && node->type == GGML_TYPE_F32 && node->op_params[0] < a->ne[0] &&
                   node->op_params[1] < a->ne[0] && node->ne[0] == a->ne[0] + node->op_params[0] + node->op_params[1];
        case GGML_OP_ROLL:
            return a != NULL && a->type == node->type && cpu_same_shape(a, node);
        case GGML_OP_GET_REL_POS:
            return a != NULL && a->type == node->type && node->ne[0] == a->ne[0] && node->ne[1] == node->ne[2] &&
                   a->ne[1] == 2 * node->ne[1] - 1;
        case GGML_OP_ADD_REL_POS:
            return a != NULL && b != NULL && c != NULL && a->type == GGML_TYPE_F32 && node->type == GGML_TYPE_F32 &&
                   b->type == GGML_TYPE_F32 && c->type == GGML_TYPE_F32 && ggml_is_contiguous(a) && ggml_is_contiguous(node) &&
                   ggml_is_contiguous(b) && ggml_is_contiguous(c) && cpu_same_shape(b, c) && cpu_same_shape(a, node) &&
                   b->ne[0] * b->ne[0] == a->ne[0] && b->ne[1] * b->ne[2] == a->ne[1] &&
                   ggml_nelements(a) >= ggml_nelements(b) * b->ne[0];
        case GGML_OP_CONV_2D:
        case GGML_OP_CONV_2D_DW: {
            const bool dw = node->op == GGML_OP_CONV_2D_DW;
            return conv_float(a) && conv_float(b) && node->type == GGML_TYPE_F32 && node->op_params[0] >= 1 &&
                   node->op_params[1] >= 1 && node->ne[3] == b->ne[3] &&
                   (dw ? a->ne[2] == 1 && a->ne[3] == b->ne[2] && node->ne[2] == b->ne[2]
                       : a->ne[2] == b->ne[2] && node->ne[2] == a->ne[3]);
        }
        case GGML_OP_WIN_PART:
            return a != NULL && a->type == GGML_TYPE_F32 && node->type == GGML_TYPE_F32 && node->nb[0] == sizeof(float) &&
                   node->ne[0] == a->ne[0] && node->op_params[0] >= 1 && node->op_params[2] >= 1 &&
                   node->ne[3] == (int64_t) node->op_params[0] * node->op_params[1] && a->ne[3] == 1;
        case GGML_OP_WIN_UNPART: {
            const int64_t w = node->op_params[0];
            return a != NULL && a->type == GGML_TYPE_F32 && node->type == GGML_TYPE_F32 && node->nb[0] == sizeof(float) &&
                   w >= 1 && a->ne[1] == w && a->ne[2] == w && node->ne[0] == a->ne[0] && node->ne[3] == 1 &&
                   a->ne[3] >= ((node->ne[1] + w - 1) / w) * ((node->ne[2] + w - 1) / w);
        }
        case GGML_OP_MAP_CUSTOM1: case GGML_OP_MAP_CUSTOM2: case GGML_OP_MAP_CUSTOM3: case GGML_OP_CUSTOM: {
            struct ggalloc_custom_params p;
            memcpy(&p, node->op_params, sizeof(p));
            return p.fun != NULL && (p.n_tasks >= 1 || p.n_tasks == GGML_N_TASKS_MAX);
        }
        default:
            return false;
    }
}

size_t cpu_conv_work_size(const struct ggml_tensor * node, int nth) {
    (void) node;
    (void) nth;
    return 0;
}

void cpu_conv_compute(const struct cpu_compute_params * params, struct ggml_tensor * node) {
    switch (node->op) {
        case GGML_OP_CONV_TRANSPOSE_1D: conv_compute_transpose_1d(params, node); break;
        case GGML_OP_CONV_TRANSPOSE_2D: conv_compute_transpose_2d(params, node); break;
        case GGML_OP_POOL_1D:           conv_compute_pool_1d(params, node); break;
        case GGML_OP_UPSCALE:           conv_compute_upscale(params, node); break;
        case GGML_OP_PAD_REFLECT_1D:    conv_compute_pad_reflect_1d(params, node); break;
        case GGML_OP_ROLL:              conv_compute_roll(params, node); break;
        case GGML_OP_GET_REL_POS:       conv_compute_get_rel_pos(params, node); break;
        case GGML_OP_ADD_REL_POS:       conv_compute_add_rel_pos(params, node); break;
        case GGML_OP_WIN_PART:          conv_compute_win_part(params, node); break;
        case GGML_OP_CONV_2D:
        case GGML_OP_CONV_2D_DW:        conv_compute_2d_direct(params, node); break;
        case GGML_OP_WIN_UNPART:        conv_compute_win_unpart(params, node); break;
        case GGML_OP_IM2COL_3D:         conv_compute_im2col_3d(params, node); break;
        case GGML_OP_COL2IM_1D:         conv_compute_col2im_1d(params, node); break;
        case GGML_OP_CONV_3D:           conv_compute_3d_direct(params, node); break;
        default:                        conv_compute_custom(params, node); break;
    }
}
