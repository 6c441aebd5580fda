//
// kernels-avx2.c — the AVX2 + FMA + F16C kernel table (compiled with -mavx2 -mfma -mf16c, used
// only when the CPU and OS support them).
//
// Matrix multiply: a 16 x 6 tile of outputs in 12 ymm accumulators; each step over k loads two
// vectors of 8 packed weights and broadcasts 6 activations for 12 FMAs, using 15 of the 16
// registers. Row tails are handled with a scalar remainder (AVX2 has no cheap masked
// byte-exact loads for 16-bit types), so no kernel reads past the end of a row.
//
// exp is 2^n * p(r) as in the AVX-512 table, with 2^n built in the exponent bits; inputs below
// -87.3 (where 2^n would leave the normal range) give 0.
//

#if defined(__x86_64__)

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels.h"

#define MR 16
#define NR 6

static void avx2_gemm_tile(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, bool accumulate) {
#define DECL(j) __m256 c##j##a = _mm256_setzero_ps(), c##j##b = _mm256_setzero_ps()
    DECL(0); DECL(1); DECL(2); DECL(3); DECL(4); DECL(5);
#undef DECL
    for (int64_t k = 0; k < kc; k++) {
        const __m256 a0 = _mm256_loadu_ps(a);
        const __m256 a1 = _mm256_loadu_ps(a + 8);
        __m256 bj;
#define STEP(j) bj = _mm256_broadcast_ss(b + (j)); c##j##a = _mm256_fmadd_ps(a0, bj, c##j##a); c##j##b = _mm256_fmadd_ps(a1, bj, c##j##b)
        STEP(0); STEP(1); STEP(2); STEP(3); STEP(4); STEP(5);
#undef STEP
        a += MR;
        b += NR;
    }
#define STORE(j) do { \
        float * cj = c + (j) * ldc; \
        if (accumulate) { \
            c##j##a = _mm256_add_ps(c##j##a, _mm256_loadu_ps(cj)); \
            c##j##b = _mm256_add_ps(c##j##b, _mm256_loadu_ps(cj + 8)); \
        } \
        _mm256_storeu_ps(cj, c##j##a); \
        _mm256_storeu_ps(cj + 8, c##j##b); \
    } while (0)
    STORE(0); STORE(1); STORE(2); STORE(3); STORE(4); STORE(5);
#undef STORE
}

// Transposes tmp (MR rows of 8, row-major) into nk k-steps of MR.
static inline void avx2_transpose_block(const float * tmp, int64_t nk, float * panel) {
    const __m256i idx = _mm256_set_epi32(7*8, 6*8, 5*8, 4*8, 3*8, 2*8, 1*8, 0);
    for (int64_t k = 0; k < nk; k++) {
        _mm256_storeu_ps(panel + k * MR,     _mm256_i32gather_ps(tmp + k, idx, 4));
        _mm256_storeu_ps(panel + k * MR + 8, _mm256_i32gather_ps(tmp + 8 * 8 + k, idx, 4));
    }
}

#define PACK(name, T, LOAD8, CONV1) \
    static void avx2_pack_a_##name(const T * x, int64_t row_stride, int nrows, int64_t kc, float * panel) { \
        float tmp[MR * 8] __attribute__((aligned(32))); \
        for (int64_t k0 = 0; k0 < kc; k0 += 8) { \
            int64_t nk = kc - k0 < 8 ? kc - k0 : 8; \
            for (int r = 0; r < MR; r++) { \
                const T * xr = x + r * row_stride + k0; \
                if (r < nrows && nk == 8) { \
                    _mm256_store_ps(tmp + r * 8, LOAD8(xr)); \
                } else { \
                    for (int64_t k = 0; k < 8; k++) { \
                        tmp[r * 8 + k] = r < nrows && k < nk ? CONV1(xr[k]) : 0.0f; \
                    } \
                } \
            } \
            avx2_transpose_block(tmp, nk, panel + k0 * MR); \
        } \
    }

static inline __m256 avx2_load8_f32(const float * x) { return _mm256_loadu_ps(x); }
static inline __m256 avx2_load8_f16(const ggml_fp16_t * x) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) x)); }
static inline __m256 avx2_load8_bf16(const ggml_bf16_t * x) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *) x)), 16));
}
static inline float avx2_conv1_f32(float x) { return x; }
static inline float avx2_conv1_f16(ggml_fp16_t x) { return _cvtsh_ss(x); }
static inline float avx2_conv1_bf16(ggml_bf16_t x) { return ggml_bf16_to_fp32(x); }

PACK(f32,  float,       avx2_load8_f32,  avx2_conv1_f32)
PACK(f16,  ggml_fp16_t, avx2_load8_f16,  avx2_conv1_f16)
PACK(bf16, ggml_bf16_t, avx2_load8_bf16, avx2_conv1_bf16)
#undef PACK

static void avx2_f16_to_f32(const ggml_fp16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, avx2_load8_f16(x + i));
    }
    for (; i < n; i++) {
        y[i] = _cvtsh_ss(x[i]);
    }
}

static void avx2_f32_to_f16(const float * x, ggml_fp16_t * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm_storeu_si128((__m128i *) (y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    }
    for (; i < n; i++) {
        y[i] = ggml_fp32_to_fp16(x[i]);
    }
}

static void avx2_bf16_to_f32(const ggml_bf16_t * x, float * y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, avx2_load8_bf16(x + i));
    }
    for (; i < n; i++) {
        y[i] = ggml_bf16_to_fp32(x[i]);
    }
}

static inline float avx2_hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#define DOT(name, T, LOAD8, CONV1) \
    static float avx2_dot_##name(int64_t n, const T * x, const float * y) { \
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps(); \
        int64_t i = 0; \
        for (; i + 32 <= n; i += 32) { \
            s0 = _mm256_fmadd_ps(LOAD8(x + i),      _mm256_loadu_ps(y + i),      s0); \
            s1 = _mm256_fmadd_ps(LOAD8(x + i + 8),  _mm256_loadu_ps(y + i + 8),  s1); \
            s2 = _mm256_fmadd_ps(LOAD8(x + i + 16), _mm256_loadu_ps(y + i + 16), s2); \
            s3 = _mm256_fmadd_ps(LOAD8(x + i + 24), _mm256_loadu_ps(y + i + 24), s3); \
        } \
        for (; i + 8 <= n; i += 8) { \
            s0 = _mm256_fmadd_ps(LOAD8(x + i), _mm256_loadu_ps(y + i), s0); \
        } \
        float s = avx2_hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3))); \
        for (; i < n; i++) { \
            s += CONV1(x[i]) * y[i]; \
        } \
        return s; \
    }
DOT(f32, float, avx2_load8_f32, avx2_conv1_f32)
DOT(f16_f32, ggml_fp16_t, avx2_load8_f16, avx2_conv1_f16)
DOT(bf16_f32, ggml_bf16_t, avx2_load8_bf16, avx2_conv1_bf16)
#undef DOT

#define BINARY(name, OP, SOP) \
    static void avx2_##name##_f32(int64_t n, float * z, const float * x, const float * y) { \
        int64_t i = 0; \
        for (; i + 16 <= n; i += 16) { \
            __m256 r0 = OP(_mm256_loadu_ps(x + i),     _mm256_loadu_ps(y + i)); \
            __m256 r1 = OP(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)); \
            _mm256_storeu_ps(z + i, r0); \
            _mm256_storeu_ps(z + i + 8, r1); \
        } \
        for (; i < n; i++) { \
            z[i] = x[i] SOP y[i]; \
        } \
    }
BINARY(add, _mm256_add_ps, +)
BINARY(sub, _mm256_sub_ps, -)
BINARY(mul, _mm256_mul_ps, *)
BINARY(div, _mm256_div_ps, /)
#undef BINARY

static void avx2_scale_f32(int64_t n, float * y, const float * x, float s) {
    const __m256 vs = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    }
    for (; i < n; i++) {
        y[i] = x[i] * s;
    }
}

static float avx2_max_f32(int64_t n, const float * x) {
    __m256 m0 = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
    }
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    float r = _mm_cvtss_f32(m);
    for (; i < n; i++) {
        r = x[i] > r ? x[i] : r;
    }
    return r;
}

static inline __m256 avx2_exp(__m256 x) {
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2hi = _mm256_set1_ps(0.693359375f);
    const __m256 ln2lo = _mm256_set1_ps(-2.12194440e-4f);
    __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
    x = _mm256_min_ps(x, _mm256_set1_ps(88.3f));
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2hi, x);
    r = _mm256_fnmadd_ps(n, ln2lo, r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 res = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(under, res);
}

static double avx2_exp_sum_f32(int64_t n, float * y, const float * x, float max) {
    const __m256 vmax = _mm256_set1_ps(max);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = avx2_exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(y + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
    double s = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < n; i++) {
        float e = expf(x[i] - max);
        y[i] = e;
        s += e;
    }
    return s;
}

static void avx2_sums_f32(int64_t n, const float * x, double * sum, double * sum_sq) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        s0 = _mm256_add_pd(s0, lo);
        s1 = _mm256_add_pd(s1, hi);
        q0 = _mm256_fmadd_pd(lo, lo, q0);
        q1 = _mm256_fmadd_pd(hi, hi, q1);
    }
    double t[4], u[4];
    _mm256_storeu_pd(t, _mm256_add_pd(s0, s1));
    _mm256_storeu_pd(u, _mm256_add_pd(q0, q1));
    double s = (t[0] + t[1]) + (t[2] + t[3]);
    double q = (u[0] + u[1]) + (u[2] + u[3]);
    for (; i < n; i++) {
        s += x[i];
        q += (double) x[i] * x[i];
    }
    *sum = s;
    *sum_sq = q;
}

static void avx2_silu_f32(int64_t n, float * y, const float * x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = avx2_exp(_mm256_sub_ps(_mm256_setzero_ps(), v));
        _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) {
        y[i] = cpu_silu_scalar(x[i]);
    }
}

static void avx2_gelu_f32(int64_t n, float * y, const float * x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 two = _mm256_set1_ps(2.0f);
    const __m256 half = _mm256_set1_ps(0.5f);
    const __m256 c0 = _mm256_set1_ps(0.79788456080286535587989211986876f);
    const __m256 c1 = _mm256_set1_ps(0.044715f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 u = _mm256_mul_ps(_mm256_mul_ps(c0, v), _mm256_fmadd_ps(_mm256_mul_ps(c1, v), v, one));
        __m256 t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(avx2_exp(_mm256_add_ps(u, u)), one)));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, t)));
    }
    for (; i < n; i++) {
        y[i] = cpu_gelu_scalar(x[i]);
    }
}

static double avx2_attn_softmax_f32(int64_t n, float * x, const float * mask, float slope, float * max) {
    const __m256 ninf = _mm256_set1_ps(-INFINITY), vs = _mm256_set1_ps(slope);
    __m256 vm = ninf;
    float m = *max;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        if (mask != NULL) {
            const __m256 mk = _mm256_loadu_ps(mask + i);
            v = _mm256_blendv_ps(_mm256_fmadd_ps(vs, mk, v), ninf, _mm256_cmp_ps(mk, ninf, _CMP_EQ_OQ));
            _mm256_storeu_ps(x + i, v);
        }
        vm = _mm256_max_ps(vm, v);
    }
    for (; i < n; i++) {
        if (mask != NULL) {
            x[i] = mask[i] == -INFINITY ? -INFINITY : x[i] + slope * mask[i];
        }
        m = x[i] > m ? x[i] : m;
    }
    float t[8];
    _mm256_storeu_ps(t, vm);
    for (int j = 0; j < 8; j++) {
        m = t[j] > m ? t[j] : m;
    }
    *max = m;
    if (m == -INFINITY) {
        memset(x, 0, (size_t) n * sizeof(float));
        return 0.0;
    }
    const __m256 vmax = _mm256_set1_ps(m);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    for (i = 0; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 e = _mm256_andnot_ps(_mm256_cmp_ps(v, ninf, _CMP_EQ_OQ), avx2_exp(_mm256_sub_ps(v, vmax)));
        _mm256_storeu_ps(x + i, e);
        s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double d[4];
    _mm256_storeu_pd(d, _mm256_add_pd(s0, s1));
    double s = (d[0] + d[1]) + (d[2] + d[3]);
    for (; i < n; i++) {
        const float e = x[i] == -INFINITY ? 0.0f : expf(x[i] - m);
        x[i] = e;
        s += e;
    }
    return s;
}

static void avx2_pack_b_f32(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    cpu_pack_b_f32_scalar(x, row_stride, nrows, kc, panel, NR);
}

const struct cpu_kernels cpu_kernels_avx2 = {
    .isa          = GGALLOC_CPU_ISA_AVX2,
    .name         = "avx2",
    .gemm_mr      = MR,
    .gemm_nr      = NR,
    .gemm_tile    = avx2_gemm_tile,
    .pack_a_f32   = avx2_pack_a_f32,
    .pack_a_f16   = avx2_pack_a_f16,
    .pack_a_bf16  = avx2_pack_a_bf16,
    .f16_to_f32   = avx2_f16_to_f32,
    .f32_to_f16   = avx2_f32_to_f16,
    .bf16_to_f32  = avx2_bf16_to_f32,
    .dot_f32      = avx2_dot_f32,
    .dot_f16_f32  = avx2_dot_f16_f32,
    .dot_bf16_f32 = avx2_dot_bf16_f32,
    .add_f32      = avx2_add_f32,
    .sub_f32      = avx2_sub_f32,
    .mul_f32      = avx2_mul_f32,
    .div_f32      = avx2_div_f32,
    .scale_f32    = avx2_scale_f32,
    .max_f32      = avx2_max_f32,
    .exp_sum_f32  = avx2_exp_sum_f32,
    .sums_f32     = avx2_sums_f32,
    .silu_f32     = avx2_silu_f32,
    .gelu_f32     = avx2_gelu_f32,
    .attn_softmax_f32 = avx2_attn_softmax_f32,
    .pack_b_f32   = avx2_pack_b_f32,
};

#endif // __x86_64__
