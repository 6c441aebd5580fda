//
// kernels-avx512.c — the AVX-512 kernel table (compiled with -mavx512f/bw/vl/dq, used only when
// the CPU and OS support them).
//
// Matrix multiply: the micro-kernel keeps a 32 x 12 tile of outputs in 24 zmm accumulators.
// Each step over k loads two vectors of 16 packed weights and broadcasts 12 activations, for 24
// fused multiply-adds: 14 loads per 24 FMAs, which keeps both FMA pipes busy while the panels
// stream from L1/L2. 24 accumulators + 2 weight vectors + 1 broadcast fit the 32 registers.
//
// exp is computed as 2^n * p(r), with n = round(x / ln 2), r = x - n ln 2 in [-ln2/2, ln2/2]
// and p a degree-6 polynomial (error about 1 ulp); _mm512_scalef_ps applies 2^n, which also
// underflows gracefully to 0 for very negative inputs.
//

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

#define MR 32
#define NR 12

static void avx512_gemm_tile(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, bool accumulate) {
#define DECL(j) __m512 c##j##a = _mm512_setzero_ps(), c##j##b = _mm512_setzero_ps()
    DECL(0); DECL(1); DECL(2); DECL(3); DECL(4); DECL(5);
    DECL(6); DECL(7); DECL(8); DECL(9); DECL(10); DECL(11);
#undef DECL
    for (int64_t k = 0; k < kc; k++) {
        const __m512 a0 = _mm512_loadu_ps(a);
        const __m512 a1 = _mm512_loadu_ps(a + 16);
        __m512 bj;
#define STEP(j) bj = _mm512_set1_ps(b[j]); c##j##a = _mm512_fmadd_ps(a0, bj, c##j##a); c##j##b = _mm512_fmadd_ps(a1, bj, c##j##b)
        STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5);
        STEP(6); STEP(7); STEP(8); STEP(9); STEP(10); STEP(11);
#undef STEP
        a += MR;
        b += NR;
    }
#define STORE(j) do { \
        float * cj = c + (j) * ldc; \
        if (accumulate) { \
            c##j##a = _mm512_add_ps(c##j##a, _mm512_loadu_ps(cj)); \
            c##j##b = _mm512_add_ps(c##j##b, _mm512_loadu_ps(cj + 16)); \
        } \
        _mm512_storeu_ps(cj, c##j##a); \
        _mm512_storeu_ps(cj + 16, c##j##b); \
    } while (0)
    STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5);
    STORE(6); STORE(7); STORE(8); STORE(9); STORE(10); STORE(11);
#undef STORE
}

static inline __mmask16 avx512_tail(int64_t n) {
    return (__mmask16) ((1u << n) - 1);
}

// In-register transpose of a 16 x 16 block: r[i][j] becomes r[j][i]. Three rounds of shuffles
// (32-bit pairs, 64-bit pairs, 128-bit lanes twice), 64 instructions for 256 values, where
// gathering the columns would cost a load per value.
static inline void avx512_transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i]     = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + c], lane L: column 4L + c of rows 4g .. 4g + 3
    __m512 u[16];
    for (int g = 0; g < 4; g++) {
        const __m512d t0 = _mm512_castps_pd(t[4 * g]),     t1 = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d t2 = _mm512_castps_pd(t[4 * g + 2]), t3 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g]     = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; c++) {
        const __m512 s0 = _mm512_shuffle_f32x4(u[c],     u[4 + c],  0x88);
        const __m512 s1 = _mm512_shuffle_f32x4(u[c],     u[4 + c],  0xdd);
        const __m512 s2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
        const __m512 s3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
        r[c]      = _mm512_shuffle_f32x4(s0, s2, 0x88);
        r[8 + c]  = _mm512_shuffle_f32x4(s0, s2, 0xdd);
        r[4 + c]  = _mm512_shuffle_f32x4(s1, s3, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(s1, s3, 0xdd);
    }
}

static inline __m512 avx512_bf16_load(__mmask16 m, const ggml_bf16_t * x) {
    __m256i h = _mm256_maskz_loadu_epi16(m, x);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

// Panels of MR rows, 16 values of k at a time: two 16 x 16 transposes per step.
#define PACK(name, T, LOAD) \
    static void avx512_pack_a_##name(const T * x, int64_t row_stride, int nrows, int64_t kc, float * panel) { \
        __m512 r[16]; \
        for (int64_t k0 = 0; k0 < kc; k0 += 16) { \
            const int64_t nk = kc - k0 < 16 ? kc - k0 : 16; \
            const __mmask16 m = nk == 16 ? 0xffff : avx512_tail(nk); \
            for (int h = 0; h < MR / 16; h++) { \
                for (int i = 0; i < 16; i++) { \
                    const int row = h * 16 + i; \
                    r[i] = row < nrows ? LOAD(m, x + row * row_stride + k0) : _mm512_setzero_ps(); \
                } \
                avx512_transpose16(r); \
                for (int64_t j = 0; j < nk; j++) { \
                    _mm512_storeu_ps(panel + (k0 + j) * MR + h * 16, r[j]); \
                } \
            } \
        } \
    }

#define LOAD_F32(m, p)  _mm512_maskz_loadu_ps(m, p)
#define LOAD_F16(m, p)  _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p))
#define LOAD_BF16(m, p) avx512_bf16_load(m, p)
PACK(f32,  float,       LOAD_F32)
PACK(f16,  ggml_fp16_t, LOAD_F16)
PACK(bf16, ggml_bf16_t, LOAD_BF16)
#undef PACK

static void avx512_f16_to_f32(const ggml_fp16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (x + i))));
    }
    if (i < n) {
        __mmask16 m = avx512_tail(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i)));
    }
}

static void avx512_f32_to_f16(const float * x, ggml_fp16_t * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_si256((__m256i *) (y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    if (i < n) {
        __mmask16 m = avx512_tail(n - i);
        _mm256_mask_storeu_epi16(y + i, m, _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
    }
}

static void avx512_bf16_to_f32(const ggml_bf16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm512_storeu_ps(y + i, avx512_bf16_load(0xffff, x + i));
    }
    if (i < n) {
        __mmask16 m = avx512_tail(n - i);
        _mm512_mask_storeu_ps(y + i, m, avx512_bf16_load(m, x + i));
    }
}

#define DOT_BODY(LOAD) \
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps(); \
    int64_t i = 0; \
    for (; i + 64 <= n; i += 64) { \
        s0 = _mm512_fmadd_ps(LOAD(0xffff, i),      _mm512_loadu_ps(y + i),      s0); \
        s1 = _mm512_fmadd_ps(LOAD(0xffff, i + 16), _mm512_loadu_ps(y + i + 16), s1); \
        s2 = _mm512_fmadd_ps(LOAD(0xffff, i + 32), _mm512_loadu_ps(y + i + 32), s2); \
        s3 = _mm512_fmadd_ps(LOAD(0xffff, i + 48), _mm512_loadu_ps(y + i + 48), s3); \
    } \
    for (; i < n; i += 16) { \
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i); \
        s0 = _mm512_fmadd_ps(LOAD(m, i), _mm512_maskz_loadu_ps(m, y + i), s0); \
    } \
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)))

static float avx512_dot_f32(int64_t n, const float * x, const float * y) {
#define LOAD(m, i) _mm512_maskz_loadu_ps(m, x + (i))
    DOT_BODY(LOAD);
#undef LOAD
}

static float avx512_dot_f16_f32(int64_t n, const ggml_fp16_t * x, const float * y) {
#define LOAD(m, i) _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + (i)))
    DOT_BODY(LOAD);
#undef LOAD
}

static float avx512_dot_bf16_f32(int64_t n, const ggml_bf16_t * x, const float * y) {
#define LOAD(m, i) avx512_bf16_load(m, x + (i))
    DOT_BODY(LOAD);
#undef LOAD
}

#define BINARY(name, OP) \
    static void avx512_##name##_f32(int64_t n, float * z, const float * x, const float * y) { \
        int64_t i = 0; \
        for (; i + 32 <= n; i += 32) { \
            __m512 r0 = OP(_mm512_loadu_ps(x + i),      _mm512_loadu_ps(y + i)); \
            __m512 r1 = OP(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16)); \
            _mm512_storeu_ps(z + i, r0); \
            _mm512_storeu_ps(z + i + 16, r1); \
        } \
        for (; i < n; i += 16) { \
            __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i); \
            _mm512_mask_storeu_ps(z + i, m, OP(_mm512_maskz_loadu_ps(m, x + i), _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), m, y + i))); \
        } \
    }
BINARY(add, _mm512_add_ps)
BINARY(sub, _mm512_sub_ps)
BINARY(mul, _mm512_mul_ps)
BINARY(div, _mm512_div_ps)
#undef BINARY

static void avx512_scale_f32(int64_t n, float * y, const float * x, float s) {
    const __m512 vs = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
    }
}

static float avx512_max_f32(int64_t n, const float * x) {
    __m512 m0 = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        m0 = _mm512_max_ps(m0, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), m, x + i));
    }
    return _mm512_reduce_max_ps(m0);
}

static inline __m512 avx512_exp(__m512 x) {
    const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
    const __m512 ln2hi = _mm512_set1_ps(0.693359375f);
    const __m512 ln2lo = _mm512_set1_ps(-2.12194440e-4f);
    x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, ln2hi, x);
    r = _mm512_fnmadd_ps(n, ln2lo, r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

static double avx512_exp_sum_f32(int64_t n, float * y, const float * x, float max) {
    const __m512 vmax = _mm512_set1_ps(max);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        __m512 e = avx512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(y + i, m, e);
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

static void avx512_sums_f32(int64_t n, const float * x, double * sum, double * sum_sq) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    __m512d q0 = _mm512_setzero_pd(), q1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        s0 = _mm512_add_pd(s0, lo);
        s1 = _mm512_add_pd(s1, hi);
        q0 = _mm512_fmadd_pd(lo, lo, q0);
        q1 = _mm512_fmadd_pd(hi, hi, q1);
    }
    *sum    = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    *sum_sq = _mm512_reduce_add_pd(_mm512_add_pd(q0, q1));
}

static void avx512_silu_f32(int64_t n, float * y, const float * x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 e = avx512_exp(_mm512_sub_ps(_mm512_setzero_ps(), v));
        _mm512_mask_storeu_ps(y + i, m, _mm512_div_ps(v, _mm512_add_ps(one, e)));
    }
}

static void avx512_gelu_f32(int64_t n, float * y, const float * x) {
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 two = _mm512_set1_ps(2.0f);
    const __m512 half = _mm512_set1_ps(0.5f);
    const __m512 c0 = _mm512_set1_ps(0.79788456080286535587989211986876f);
    const __m512 c1 = _mm512_set1_ps(0.044715f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        __m512 u = _mm512_mul_ps(_mm512_mul_ps(c0, v), _mm512_fmadd_ps(_mm512_mul_ps(c1, v), v, one));
        // tanh(u) = 1 - 2 / (exp(2u) + 1)
        __m512 t = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(avx512_exp(_mm512_add_ps(u, u)), one)));
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, t)));
    }
}

static double avx512_attn_softmax_f32(int64_t n, float * x, const float * mask, float slope, float * max) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY), vs = _mm512_set1_ps(slope);
    __m512 vm = ninf;
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 t = n - i >= 16 ? 0xffff : avx512_tail(n - i);
        __m512 v = _mm512_maskz_loadu_ps(t, x + i);
        if (mask != NULL) {
            const __m512 mk = _mm512_maskz_loadu_ps(t, mask + i);
            v = _mm512_mask_mov_ps(_mm512_fmadd_ps(vs, mk, v), _mm512_cmp_ps_mask(mk, ninf, _CMP_EQ_OQ), ninf);
            _mm512_mask_storeu_ps(x + i, t, v);
        }
        vm = _mm512_mask_max_ps(vm, t, vm, v);
    }
    float m = _mm512_reduce_max_ps(vm);
    m = *max > m ? *max : m;
    *max = m;
    if (m == -INFINITY) {
        memset(x, 0, (size_t) n * sizeof(float));
        return 0.0;
    }
    const __m512 vmax = _mm512_set1_ps(m);
    // the exps are at most 1: summed in f32 over chunks of 1024 (64 per lane), then in double
    double sum = 0.0;
    for (int64_t c = 0; c < n; c += 1024) {
        const int64_t c1 = n - c < 1024 ? n : c + 1024;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t i = c; i < c1; i += 16) {
            const __mmask16 t = c1 - i >= 16 ? 0xffff : avx512_tail(c1 - i);
            const __m512 v = _mm512_maskz_loadu_ps(t, x + i);
            // -inf (a hidden key) gives exactly 0, not the polynomial's tiny remainder
            const __mmask16 live = t & ~_mm512_cmp_ps_mask(v, ninf, _CMP_EQ_OQ);
            const __m512 e = _mm512_maskz_mov_ps(live, avx512_exp(_mm512_sub_ps(v, vmax)));
            _mm512_mask_storeu_ps(x + i, t, e);
            acc = _mm512_add_ps(acc, e);
        }
        sum += _mm512_reduce_add_pd(_mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(acc)),
                _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1)))));
    }
    return sum;
}

// Rows of NR (12) through the 16 x 16 transpose: four rows of zeros, and the stores keep the
// first NR lanes of each transposed column.
static void avx512_pack_b_f32(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    const __mmask16 keep = avx512_tail(NR);
    __m512 r[16];
    for (int64_t k0 = 0; k0 < kc; k0 += 16) {
        const int64_t nk = kc - k0 < 16 ? kc - k0 : 16;
        const __mmask16 m = nk == 16 ? 0xffff : avx512_tail(nk);
        for (int i = 0; i < 16; i++) {
            r[i] = i < nrows && i < NR ? _mm512_maskz_loadu_ps(m, x + i * row_stride + k0) : _mm512_setzero_ps();
        }
        avx512_transpose16(r);
        for (int64_t j = 0; j < nk; j++) {
            _mm512_mask_storeu_ps(panel + (k0 + j) * NR, keep, r[j]);
        }
    }
}

const struct cpu_kernels cpu_kernels_avx512 = {
    .isa          = GGALLOC_CPU_ISA_AVX512,
    .name         = "avx512",
    .gemm_mr      = MR,
    .gemm_nr      = NR,
    .gemm_tile    = avx512_gemm_tile,
    .pack_a_f32   = avx512_pack_a_f32,
    .pack_a_f16   = avx512_pack_a_f16,
    .pack_a_bf16  = avx512_pack_a_bf16,
    .f16_to_f32   = avx512_f16_to_f32,
    .f32_to_f16   = avx512_f32_to_f16,
    .bf16_to_f32  = avx512_bf16_to_f32,
    .dot_f32      = avx512_dot_f32,
    .dot_f16_f32  = avx512_dot_f16_f32,
    .dot_bf16_f32 = avx512_dot_bf16_f32,
    .add_f32      = avx512_add_f32,
    .sub_f32      = avx512_sub_f32,
    .mul_f32      = avx512_mul_f32,
    .div_f32      = avx512_div_f32,
    .scale_f32    = avx512_scale_f32,
    .max_f32      = avx512_max_f32,
    .exp_sum_f32  = avx512_exp_sum_f32,
    .sums_f32     = avx512_sums_f32,
    .silu_f32     = avx512_silu_f32,
    .gelu_f32     = avx512_gelu_f32,
    .attn_softmax_f32 = avx512_attn_softmax_f32,
    .pack_b_f32   = avx512_pack_b_f32,
};

#endif // __x86_64__
