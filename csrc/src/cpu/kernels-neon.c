//
// kernels-neon.c — the Advanced SIMD (NEON) kernel table for arm64. NEON and its FMA, f16
// conversions and f64 lanes are part of the base AArch64 architecture, so this file needs no
// extra compiler flags and the table is usable on every arm64 CPU.
//
// Matrix multiply: a 16 x 6 tile of outputs in 24 q-register accumulators; each step over k
// loads 4 vectors of 4 packed weights and the 6 activations (one q and one d register), then
// issues 24 lane-indexed FMAs, so no broadcast costs an instruction. With the 4 + 2 operand
// registers that is 30 of the 32 vector registers: a 16 x 8 tile would need 32 accumulators
// alone and spill.
//
// Packing transposes 4 x 4 blocks in registers (trn1/trn2 on 32- then 64-bit lanes); rows or
// columns short of a full block fall back to a scalar loop, so no kernel reads past a row.
//
// exp is 2^n * p(r) as in the x86 tables: n = round(x / ln 2), r = x - n ln 2 in two parts
// (Cody-Waite), p a degree-6 Taylor polynomial, 2^n built in the exponent bits. Inputs below
// -87.3, where 2^n would leave the normal range, give 0.
//

#if defined(__aarch64__)

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

#define MR 16
#define NR 6

static void neon_gemm_tile(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, bool accumulate) {
#define DECL(j) float32x4_t c##j##0 = vdupq_n_f32(0.0f), c##j##1 = c##j##0, c##j##2 = c##j##0, c##j##3 = c##j##0
    DECL(0); DECL(1); DECL(2); DECL(3); DECL(4); DECL(5);
#undef DECL
    for (int64_t k = 0; k < kc; k++) {
        const float32x4_t a0 = vld1q_f32(a);
        const float32x4_t a1 = vld1q_f32(a + 4);
        const float32x4_t a2 = vld1q_f32(a + 8);
        const float32x4_t a3 = vld1q_f32(a + 12);
        const float32x4_t b03 = vld1q_f32(b);
        const float32x2_t b45 = vld1_f32(b + 4);
#define STEPQ(j) \
        c##j##0 = vfmaq_laneq_f32(c##j##0, a0, b03, j); c##j##1 = vfmaq_laneq_f32(c##j##1, a1, b03, j); \
        c##j##2 = vfmaq_laneq_f32(c##j##2, a2, b03, j); c##j##3 = vfmaq_laneq_f32(c##j##3, a3, b03, j)
#define STEPD(j, l) \
        c##j##0 = vfmaq_lane_f32(c##j##0, a0, b45, l); c##j##1 = vfmaq_lane_f32(c##j##1, a1, b45, l); \
        c##j##2 = vfmaq_lane_f32(c##j##2, a2, b45, l); c##j##3 = vfmaq_lane_f32(c##j##3, a3, b45, l)
        STEPQ(0); STEPQ(1); STEPQ(2); STEPQ(3); STEPD(4, 0); STEPD(5, 1);
#undef STEPQ
#undef STEPD
        a += MR;
        b += NR;
    }
#define STORE(j) do { \
        float * cj = c + (j) * ldc; \
        if (accumulate) { \
            c##j##0 = vaddq_f32(c##j##0, vld1q_f32(cj)); \
            c##j##1 = vaddq_f32(c##j##1, vld1q_f32(cj + 4)); \
            c##j##2 = vaddq_f32(c##j##2, vld1q_f32(cj + 8)); \
            c##j##3 = vaddq_f32(c##j##3, vld1q_f32(cj + 12)); \
        } \
        vst1q_f32(cj, c##j##0); \
        vst1q_f32(cj + 4, c##j##1); \
        vst1q_f32(cj + 8, c##j##2); \
        vst1q_f32(cj + 12, c##j##3); \
    } while (0)
    STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5);
#undef STORE
}

static inline float32x4_t neon_load4_f32(const float * x) { return vld1q_f32(x); }
static inline float32x4_t neon_load4_f16(const ggml_fp16_t * x) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *) x)));
}
static inline float32x4_t neon_load4_bf16(const ggml_bf16_t * x) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *) x), 16));
}
static inline float neon_conv1_f32(float x) { return x; }
static inline float neon_conv1_f16(ggml_fp16_t x) { return ggml_fp16_to_fp32(x); }
static inline float neon_conv1_bf16(ggml_bf16_t x) { return ggml_bf16_to_fp32(x); }

// Writes rows r0..r3 (4 values each) as 4 k-steps of the panel, rows r .. r+3 of each.
static inline void neon_transpose_store(float32x4_t r0, float32x4_t r1, float32x4_t r2, float32x4_t r3, float * p) {
    const float32x4_t t0 = vtrn1q_f32(r0, r1), t1 = vtrn2q_f32(r0, r1);
    const float32x4_t t2 = vtrn1q_f32(r2, r3), t3 = vtrn2q_f32(r2, r3);
    vst1q_f32(p,          vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2))));
    vst1q_f32(p + MR,     vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3))));
    vst1q_f32(p + 2 * MR, vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2))));
    vst1q_f32(p + 3 * MR, vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3))));
}

#define PACK(name, T, LOAD4, CONV1) \
    static void neon_pack_a_##name(const T * x, int64_t row_stride, int nrows, int64_t kc, float * panel) { \
        const int64_t kc4 = kc & ~(int64_t) 3; \
        for (int r = 0; r < MR; r += 4) { \
            const T * x0 = x + r * row_stride; \
            if (r + 4 <= nrows) { \
                for (int64_t k = 0; k < kc4; k += 4) { \
                    neon_transpose_store(LOAD4(x0 + k), LOAD4(x0 + row_stride + k), \
                            LOAD4(x0 + 2 * row_stride + k), LOAD4(x0 + 3 * row_stride + k), panel + k * MR + r); \
                } \
                for (int64_t k = kc4; k < kc; k++) { \
                    for (int i = 0; i < 4; i++) { \
                        panel[k * MR + r + i] = CONV1(x0[i * row_stride + k]); \
                    } \
                } \
            } else { \
                for (int64_t k = 0; k < kc; k++) { \
                    for (int i = 0; i < 4; i++) { \
                        panel[k * MR + r + i] = r + i < nrows ? CONV1(x0[i * row_stride + k]) : 0.0f; \
                    } \
                } \
            } \
        } \
    }

PACK(f32,  float,       neon_load4_f32,  neon_conv1_f32)
PACK(f16,  ggml_fp16_t, neon_load4_f16,  neon_conv1_f16)
PACK(bf16, ggml_bf16_t, neon_load4_bf16, neon_conv1_bf16)
#undef PACK

static void neon_f16_to_f32(const ggml_fp16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float16x8_t h = vreinterpretq_f16_u16(vld1q_u16((const uint16_t *) (x + i)));
        vst1q_f32(y + i,     vcvt_f32_f16(vget_low_f16(h)));
        vst1q_f32(y + i + 4, vcvt_high_f32_f16(h));
    }
    for (; i < n; i++) {
        y[i] = ggml_fp16_to_fp32(x[i]);
    }
}

static void neon_f32_to_f16(const float * x, ggml_fp16_t * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        // FPCR's default rounding on Linux is to nearest, ties to even, as ggml_fp32_to_fp16
        const float16x8_t h = vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(x + i)), vld1q_f32(x + i + 4));
        vst1q_u16((uint16_t *) (y + i), vreinterpretq_u16_f16(h));
    }
    for (; i < n; i++) {
        y[i] = ggml_fp32_to_fp16(x[i]);
    }
}

static void neon_bf16_to_f32(const ggml_bf16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint16x8_t h = vld1q_u16((const uint16_t *) (x + i));
        vst1q_f32(y + i,     vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16)));
        vst1q_f32(y + i + 4, vreinterpretq_f32_u32(vshll_high_n_u16(h, 16)));
    }
    for (; i < n; i++) {
        y[i] = ggml_bf16_to_fp32(x[i]);
    }
}

#define DOT(name, T, LOAD4, CONV1) \
    static float neon_dot_##name(int64_t n, const T * x, const float * y) { \
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0; \
        int64_t i = 0; \
        for (; i + 16 <= n; i += 16) { \
            s0 = vfmaq_f32(s0, LOAD4(x + i),      vld1q_f32(y + i)); \
            s1 = vfmaq_f32(s1, LOAD4(x + i + 4),  vld1q_f32(y + i + 4)); \
            s2 = vfmaq_f32(s2, LOAD4(x + i + 8),  vld1q_f32(y + i + 8)); \
            s3 = vfmaq_f32(s3, LOAD4(x + i + 12), vld1q_f32(y + i + 12)); \
        } \
        for (; i + 4 <= n; i += 4) { \
            s0 = vfmaq_f32(s0, LOAD4(x + i), vld1q_f32(y + i)); \
        } \
        float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3))); \
        for (; i < n; i++) { \
            s += CONV1(x[i]) * y[i]; \
        } \
        return s; \
    }
DOT(f32, float, neon_load4_f32, neon_conv1_f32)
DOT(f16_f32, ggml_fp16_t, neon_load4_f16, neon_conv1_f16)
DOT(bf16_f32, ggml_bf16_t, neon_load4_bf16, neon_conv1_bf16)
#undef DOT

#define BINARY(name, OP, SOP) \
    static void neon_##name##_f32(int64_t n, float * z, const float * x, const float * y) { \
        int64_t i = 0; \
        for (; i + 8 <= n; i += 8) { \
            const float32x4_t r0 = OP(vld1q_f32(x + i),     vld1q_f32(y + i)); \
            const float32x4_t r1 = OP(vld1q_f32(x + i + 4), vld1q_f32(y + i + 4)); \
            vst1q_f32(z + i, r0); \
            vst1q_f32(z + i + 4, r1); \
        } \
        for (; i < n; i++) { \
            z[i] = x[i] SOP y[i]; \
        } \
    }
BINARY(add, vaddq_f32, +)
BINARY(sub, vsubq_f32, -)
BINARY(mul, vmulq_f32, *)
BINARY(div, vdivq_f32, /)
#undef BINARY

static void neon_scale_f32(int64_t n, float * y, const float * x, float s) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), s));
    }
    for (; i < n; i++) {
        y[i] = x[i] * s;
    }
}

static float neon_max_f32(int64_t n, const float * x) {
    // maxnm skips a NaN operand like the portable comparison loop does
    float32x4_t m = vdupq_n_f32(-INFINITY);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        m = vmaxnmq_f32(m, vld1q_f32(x + i));
    }
    float r = vmaxnmvq_f32(m);
    for (; i < n; i++) {
        r = x[i] > r ? x[i] : r;
    }
    return r;
}

static inline float32x4_t neon_exp(float32x4_t x) {
    const uint32x4_t under = vcltq_f32(x, vdupq_n_f32(-87.3f));
    x = vminq_f32(x, vdupq_n_f32(88.3f));
    x = vmaxq_f32(x, vdupq_n_f32(-87.3f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.0f / 720.0f);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    const float32x4_t res = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(res), under));
}

static double neon_exp_sum_f32(int64_t n, float * y, const float * x, float max) {
    const float32x4_t vmax = vdupq_n_f32(max);
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t e = neon_exp(vsubq_f32(vld1q_f32(x + i), vmax));
        vst1q_f32(y + i, e);
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(e)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(e));
    }
    double s = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < n; i++) {
        const float e = expf(x[i] - max);
        y[i] = e;
        s += e;
    }
    return s;
}

static void neon_sums_f32(int64_t n, const float * x, double * sum, double * sum_sq) {
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0, q0 = s0, q1 = s0;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v));
        const float64x2_t hi = vcvt_high_f64_f32(v);
        s0 = vaddq_f64(s0, lo);
        s1 = vaddq_f64(s1, hi);
        q0 = vfmaq_f64(q0, lo, lo);
        q1 = vfmaq_f64(q1, hi, hi);
    }
    double s = vaddvq_f64(vaddq_f64(s0, s1));
    double q = vaddvq_f64(vaddq_f64(q0, q1));
    for (; i < n; i++) {
        s += x[i];
        q += (double) x[i] * x[i];
    }
    *sum = s;
    *sum_sq = q;
}

static void neon_silu_f32(int64_t n, float * y, const float * x) {
    const float32x4_t one = vdupq_n_f32(1.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(y + i, vdivq_f32(v, vaddq_f32(one, neon_exp(vnegq_f32(v)))));
    }
    for (; i < n; i++) {
        y[i] = cpu_silu_scalar(x[i]);
    }
}

static void neon_gelu_f32(int64_t n, float * y, const float * x) {
    // tanh(u) = 1 - 2 / (exp(2u) + 1), which stays finite (exp saturates) for every u
    const float32x4_t one = vdupq_n_f32(1.0f);
    const float32x4_t two = vdupq_n_f32(2.0f);
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        const float32x4_t u = vmulq_f32(vmulq_n_f32(v, 0.79788456080286535587989211986876f),
                vfmaq_f32(one, vmulq_n_f32(v, 0.044715f), v));
        const float32x4_t t = vsubq_f32(one, vdivq_f32(two, vaddq_f32(neon_exp(vaddq_f32(u, u)), one)));
        vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(v, 0.5f), vaddq_f32(one, t)));
    }
    for (; i < n; i++) {
        y[i] = cpu_gelu_scalar(x[i]);
    }
}

static double neon_attn_softmax_f32(int64_t n, float * x, const float * mask, float slope, float * max) {
    const float32x4_t ninf = vdupq_n_f32(-INFINITY), vs = vdupq_n_f32(slope);
    float32x4_t vm = ninf;
    float m = *max;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        if (mask != NULL) {
            const float32x4_t mk = vld1q_f32(mask + i);
            v = vbslq_f32(vceqq_f32(mk, ninf), ninf, vfmaq_f32(v, vs, mk));
            vst1q_f32(x + i, v);
        }
        vm = vmaxq_f32(vm, v);
    }
    for (; i < n; i++) {
        if (mask != NULL) {
            x[i] = mask[i] == -INFINITY ? -INFINITY : x[i] + slope * mask[i];
        }
        m = x[i] > m ? x[i] : m;
    }
    const float mv = vmaxvq_f32(vm);
    m = mv > m ? mv : m;
    *max = m;
    if (m == -INFINITY) {
        memset(x, 0, (size_t) n * sizeof(float));
        return 0.0;
    }
    const float32x4_t vmax = vdupq_n_f32(m);
    float64x2_t s0 = vdupq_n_f64(0.0), s1 = s0;
    for (i = 0; i + 4 <= n; i += 4) {
        const float32x4_t v = vld1q_f32(x + i);
        // -inf (a hidden key) gives exactly 0
        const uint32x4_t hidden = vceqq_f32(v, ninf);
        const float32x4_t e = vbslq_f32(hidden, vdupq_n_f32(0.0f), neon_exp(vsubq_f32(v, vmax)));
        vst1q_f32(x + i, e);
        s0 = vaddq_f64(s0, vcvt_f64_f32(vget_low_f32(e)));
        s1 = vaddq_f64(s1, vcvt_high_f64_f32(e));
    }
    double s = vaddvq_f64(vaddq_f64(s0, s1));
    for (; i < n; i++) {
        const float e = x[i] == -INFINITY ? 0.0f : expf(x[i] - m);
        x[i] = e;
        s += e;
    }
    return s;
}

static void neon_pack_b_f32(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    cpu_pack_b_f32_scalar(x, row_stride, nrows, kc, panel, NR);
}

const struct cpu_kernels cpu_kernels_neon = {
    .isa          = GGALLOC_CPU_ISA_NEON,
    .name         = "neon",
    .gemm_mr      = MR,
    .gemm_nr      = NR,
    .gemm_tile    = neon_gemm_tile,
    .pack_a_f32   = neon_pack_a_f32,
    .pack_a_f16   = neon_pack_a_f16,
    .pack_a_bf16  = neon_pack_a_bf16,
    .f16_to_f32   = neon_f16_to_f32,
    .f32_to_f16   = neon_f32_to_f16,
    .bf16_to_f32  = neon_bf16_to_f32,
    .dot_f32      = neon_dot_f32,
    .dot_f16_f32  = neon_dot_f16_f32,
    .dot_bf16_f32 = neon_dot_bf16_f32,
    .add_f32      = neon_add_f32,
    .sub_f32      = neon_sub_f32,
    .mul_f32      = neon_mul_f32,
    .div_f32      = neon_div_f32,
    .scale_f32    = neon_scale_f32,
    .max_f32      = neon_max_f32,
    .exp_sum_f32  = neon_exp_sum_f32,
    .sums_f32     = neon_sums_f32,
    .silu_f32     = neon_silu_f32,
    .gelu_f32     = neon_gelu_f32,
    .attn_softmax_f32 = neon_attn_softmax_f32,
    .pack_b_f32   = neon_pack_b_f32,
};

#endif // __aarch64__
