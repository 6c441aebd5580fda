//
// quant-dot-avx2.c — dot products of quantized rows with AVX2 (this file alone is compiled with
// -mavx2 -mfma -mf16c), with and without AVX-VNNI. The AVX-512 table falls back to these for
// the types it has no kernel of its own for (Q4_1, Q5_0, Q5_1, Q5_K, Q6_K, IQ4_NL, MXFP4).
//
// The 8-bit products: _mm256_maddubs_epi16 multiplies unsigned by signed bytes and adds
// neighbouring pairs into 16 bits. For two signed operands, the first is made non-negative
// (its absolute value) and its sign moved onto the second (_mm256_sign_epi8), which keeps every
// product; |x| <= 128 and |y| <= 127 keep the pair sums inside 16 bits. _mm256_madd_epi16 then
// widens to 32 bits (times 1, or times the sub-block scale for the K-quants), and each block's
// integer sum is scaled once in float. Types without a kernel here use the portable ones.
//

#include "quant-dot.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#include "quant-dot-x86.h"
#include "quants.h"

static inline float h2f(ggml_half h) {
    return _cvtsh_ss(h);
}

static inline float hsum_ps(__m256 v) {
    __m128 r = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, IQ4_NL and MXFP4, one row or several at a time,
// are in quant-dot-avx2-gemv.h, compiled twice: for CPUs with AVX-VNNI (those functions carry
// its target; quant-dot.c picks them only where the CPU has it), and with each fused product
// spelled as two instructions.

#define QG_FN __attribute__((target("avxvnni")))
#define QG_NAME(x) x##_vnni
#define QG_DPBUSD(acc, u8, s8) _mm256_dpbusd_avx_epi32((acc), (u8), (s8))
#define QG_DPWSSD(acc, a, b) _mm256_dpwssd_avx_epi32((acc), (a), (b))
#include "quant-dot-avx2-gemv.h"
#undef QG_FN
#undef QG_NAME
#undef QG_DPBUSD
#undef QG_DPWSSD

#define QG_FN
#define QG_NAME(x) x##_plain
#define QG_DPBUSD(acc, u8, s8) _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((u8), (s8)), _mm256_set1_epi16(1)))
#define QG_DPWSSD(acc, a, b) _mm256_add_epi32((acc), _mm256_madd_epi16((a), (b)))
#include "quant-dot-avx2-gemv.h"
#undef QG_FN
#undef QG_NAME
#undef QG_DPBUSD
#undef QG_DPWSSD

// Q6_K: quants are 6 bits (0..63) with an offset of 32; the offset is taken out with the Q8_K
// block sums (sum of (q - 32) * y = sum q * y - 32 * sum y), so maddubs sees unsigned quants.
static void dot_q6_K_q8_K(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q6_K * x = vx;
    const block_q8_K * y = vy;
    const __m256i m4 = _mm256_set1_epi8(15);
    const __m256i m2 = _mm256_set1_epi8(3 << 4);
    __m256 acc = _mm256_setzero_ps();
    float acc_offs = 0.0f;
    for (int i = 0; i < n / QK_K; i++) {
        int offs = 0;
        for (int g = 0; g < 16; g++) {
            offs += x[i].scales[g] * y[i].bsums[g];
        }
        const uint8_t * ql = x[i].ql;
        const uint8_t * qh = x[i].qh;
        const int8_t * q8 = y[i].qs;
        const int8_t * sc = x[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, q8 += 128, sc += 8) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *) ql);
            const __m256i l1 = _mm256_loadu_si256((const __m256i *) (ql + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *) qh);
            const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m2));
            const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m2));
            const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m2));
            const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                               _mm256_and_si256(_mm256_srli_epi16(h, 2), m2));
            const __m256i qs[4] = { q0, q1, q2, q3 };
            for (int k = 0; k < 4; k++) {
                const __m256i yk = _mm256_loadu_si256((const __m256i *) (q8 + 32 * k));
                const __m256i p16 = _mm256_maddubs_epi16(qs[k], yk);
                // the first 16 weights use scale sc[2k], the next 16 sc[2k+1]
                const __m256i scale = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p16, scale));
            }
        }
        const float d = y[i].d * h2f(x[i].d);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        acc_offs -= 32.0f * d * (float) offs;
    }
    *s = hsum_ps(acc) + acc_offs;
}

const struct cpu_qdot_table cpu_qdot_avx2 = {
    .dot = {
        [GGML_TYPE_Q4_0] = dot_q4_0_plain,
        [GGML_TYPE_Q8_0] = dot_q8_0_plain,
        [GGML_TYPE_Q4_K] = dot_q4_K_plain,
        [GGML_TYPE_Q5_K] = dot_q5_K_plain,
        [GGML_TYPE_Q4_1] = dot_q4_1_plain,
        [GGML_TYPE_Q5_0] = dot_q5_0_plain,
        [GGML_TYPE_Q5_1] = dot_q5_1_plain,
        [GGML_TYPE_IQ4_NL] = dot_iq4_nl_plain,
        [GGML_TYPE_MXFP4] = dot_mxfp4_plain,
        [GGML_TYPE_Q6_K] = dot_q6_K_q8_K,
    },
    .gemv = {
        [GGML_TYPE_Q4_0] = gemv_q4_0_plain,
        [GGML_TYPE_Q8_0] = gemv_q8_0_plain,
        [GGML_TYPE_Q4_K] = gemv_q4_K_plain,
        [GGML_TYPE_Q5_K] = gemv_q5_K_plain,
        [GGML_TYPE_Q4_1] = gemv_q4_1_plain,
        [GGML_TYPE_Q5_0] = gemv_q5_0_plain,
        [GGML_TYPE_Q5_1] = gemv_q5_1_plain,
        [GGML_TYPE_IQ4_NL] = gemv_iq4_nl_plain,
        [GGML_TYPE_MXFP4] = gemv_mxfp4_plain,
    },
};

const struct cpu_qdot_table cpu_qdot_avx2_vnni = {
    .dot = {
        [GGML_TYPE_Q4_0] = dot_q4_0_vnni,
        [GGML_TYPE_Q8_0] = dot_q8_0_vnni,
        [GGML_TYPE_Q4_K] = dot_q4_K_vnni,
        [GGML_TYPE_Q5_K] = dot_q5_K_vnni,
        [GGML_TYPE_Q4_1] = dot_q4_1_vnni,
        [GGML_TYPE_Q5_0] = dot_q5_0_vnni,
        [GGML_TYPE_Q5_1] = dot_q5_1_vnni,
        [GGML_TYPE_IQ4_NL] = dot_iq4_nl_vnni,
        [GGML_TYPE_MXFP4] = dot_mxfp4_vnni,
    },
    .gemv = {
        [GGML_TYPE_Q4_0] = gemv_q4_0_vnni,
        [GGML_TYPE_Q8_0] = gemv_q8_0_vnni,
        [GGML_TYPE_Q4_K] = gemv_q4_K_vnni,
        [GGML_TYPE_Q5_K] = gemv_q5_K_vnni,
        [GGML_TYPE_Q4_1] = gemv_q4_1_vnni,
        [GGML_TYPE_Q5_0] = gemv_q5_0_vnni,
        [GGML_TYPE_Q5_1] = gemv_q5_1_vnni,
        [GGML_TYPE_IQ4_NL] = gemv_iq4_nl_vnni,
        [GGML_TYPE_MXFP4] = gemv_mxfp4_vnni,
    },
};

#endif
