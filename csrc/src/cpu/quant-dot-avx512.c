//
// quant-dot-avx512.c — dot products of quantized rows with AVX-512 (F, BW, DQ; this file alone
// is compiled for it). The same arithmetic as quant-dot-avx2.c on 512-bit registers: two 32-
// weight blocks, or 64 weights of a K-quant super-block, per multiply. AVX-512 has no
// sign-transfer instruction, so the signs of x move onto y with a masked negation.
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

// 16 sums (8 per 256-bit half) of 4 products of signed bytes, as floats
static inline __m512 dot_i8x64(__m512i x, __m512i y) {
    const __mmask64 neg = _mm512_movepi8_mask(x);
    const __m512i ax = _mm512_abs_epi8(x);
    const __m512i sy = _mm512_mask_sub_epi8(y, neg, _mm512_setzero_si512(), y);
    const __m512i p16 = _mm512_maddubs_epi16(ax, sy);
    return _mm512_cvtepi32_ps(_mm512_madd_epi16(p16, _mm512_set1_epi16(1)));
}

static inline __m512i join256(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// the scales of two blocks, each over its half of the 16 lanes
static inline __m512 scales2(float d0, float d1) {
    return _mm512_insertf32x8(_mm512_set1_ps(d0), _mm256_set1_ps(d1), 1);
}

static inline __m256i nibbles(const uint8_t * p) {
    const __m128i b = _mm_loadu_si128((const __m128i *) p);
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

static void dot_q8_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q8_0 * x = vx;
    const block_q8_0 * y = vy;
    const int nb = n / QK8_0;
    __m512 acc = _mm512_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m512i qx = join256(_mm256_loadu_si256((const __m256i *) x[i].qs), _mm256_loadu_si256((const __m256i *) x[i + 1].qs));
        const __m512i qy = join256(_mm256_loadu_si256((const __m256i *) y[i].qs), _mm256_loadu_si256((const __m256i *) y[i + 1].qs));
        acc = _mm512_fmadd_ps(scales2(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d)), dot_i8x64(qx, qy), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    for (; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) sumi += x[i].qs[j] * y[i].qs[j];
        sum += sumi * (h2f(x[i].d) * h2f(y[i].d));
    }
    *s = sum;
}

static void dot_q4_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q4_0 * x = vx;
    const block_q8_0 * y = vy;
    const int nb = n / QK8_0;
    const __m512i eight = _mm512_set1_epi8(8);
    __m512 acc = _mm512_setzero_ps();
    int i = 0;
    for (; i + 1 < nb; i += 2) {
        const __m512i qx = _mm512_sub_epi8(join256(nibbles(x[i].qs), nibbles(x[i + 1].qs)), eight);
        const __m512i qy = join256(_mm256_loadu_si256((const __m256i *) y[i].qs), _mm256_loadu_si256((const __m256i *) y[i + 1].qs));
        acc = _mm512_fmadd_ps(scales2(h2f(x[i].d) * h2f(y[i].d), h2f(x[i + 1].d) * h2f(y[i + 1].d)), dot_i8x64(qx, qy), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    for (; i < nb; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ((x[i].qs[j] & 15) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sum += sumi * (h2f(x[i].d) * h2f(y[i].d));
    }
    *s = sum;
}

// Q4_K: 64 weights (two sub-blocks of 32: the low nibbles, then the high ones) per multiply;
// the nibbles are unsigned, so maddubs takes them as they are.
static void dot_q4_K_q8_K(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q4_K * x = vx;
    const block_q8_K * y = vy;
    const __m256i m4 = _mm256_set1_epi8(15);
    __m512 acc = _mm512_setzero_ps();
    float acc_m = 0.0f;
    for (int i = 0; i < n / QK_K; i++) {
        uint8_t sc[8], m[8];
        k4_unpack(x[i].scales, sc, m);
        acc_m -= y[i].d * h2f(x[i].dmin) * (float) k4_mins_dot(m, y[i].bsums);
        __m512i sumi = _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *) (x[i].qs + 32 * j));
            const __m512i q4 = join256(_mm256_and_si256(bits, m4), _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4));
            const __m512i q8 = _mm512_loadu_si512((const void *) (y[i].qs + 64 * j));
            const __m512i scale = _mm512_inserti64x4(_mm512_set1_epi16(sc[2 * j]), _mm256_set1_epi16(sc[2 * j + 1]), 1);
            sumi = _mm512_add_epi32(sumi, _mm512_madd_epi16(_mm512_maddubs_epi16(q4, q8), scale));
        }
        acc = _mm512_fmadd_ps(_mm512_set1_ps(y[i].d * h2f(x[i].d)), _mm512_cvtepi32_ps(sumi), acc);
    }
    *s = _mm512_reduce_add_ps(acc) + acc_m;
}

const struct cpu_qdot_table cpu_qdot_avx512 = { {
    [GGML_TYPE_Q4_0] = dot_q4_0_q8_0,
    [GGML_TYPE_Q8_0] = dot_q8_0_q8_0,
    [GGML_TYPE_Q4_K] = dot_q4_K_q8_K,
} };

#endif
