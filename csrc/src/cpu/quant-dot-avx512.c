//
// quant-dot-avx512.c — dot products of quantized rows with AVX-512 (F, BW, DQ; this file alone
// is compiled for it), one row or several at a time, with and without VNNI. The arithmetic is
// quant-dot-avx2.c's on 512-bit registers; AVX-512 has no sign-transfer instruction, so the
// signs of x move onto y with a masked negation.
//

#include "quant-dot.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

#include "quant-dot-x86.h"
#include "quants.h"

// The kernels themselves are in quant-dot-avx512-gemv.h, compiled twice: once for AVX-512
// CPUs with VNNI (its functions carry that target; quant-dot.c picks them only where the CPU
// has it), once with VNNI's products spelled as two instructions each.

#define QG_FN __attribute__((target("avx512vnni")))
#define QG_NAME(x) x##_vnni
#define QG_DPBUSD(acc, u8, s8) _mm512_dpbusd_epi32((acc), (u8), (s8))
#define QG_DPWSSD(acc, a, b) _mm512_dpwssd_epi32((acc), (a), (b))
#include "quant-dot-avx512-gemv.h"
#undef QG_FN
#undef QG_NAME
#undef QG_DPBUSD
#undef QG_DPWSSD

// Without VNNI: the byte products summed in pairs into words (maddubs; no pair of the kernels'
// operands reaches the 16-bit limit: |x| <= 128 against |y| <= 127, nibbles against anything),
// then in pairs into 32 bits (madd).
#define QG_FN
#define QG_NAME(x) x##_plain
#define QG_DPBUSD(acc, u8, s8) _mm512_add_epi32((acc), _mm512_madd_epi16(_mm512_maddubs_epi16((u8), (s8)), _mm512_set1_epi16(1)))
#define QG_DPWSSD(acc, a, b) _mm512_add_epi32((acc), _mm512_madd_epi16((a), (b)))
#include "quant-dot-avx512-gemv.h"
#undef QG_FN
#undef QG_NAME
#undef QG_DPBUSD
#undef QG_DPWSSD

const struct cpu_qdot_table cpu_qdot_avx512 = {
    .dot = {
        [GGML_TYPE_Q4_0] = dot_q4_0_plain,
        [GGML_TYPE_Q8_0] = dot_q8_0_plain,
        [GGML_TYPE_Q4_K] = dot_q4_K_plain,
    },
    .gemv = {
        [GGML_TYPE_Q4_0] = gemv_q4_0_plain,
        [GGML_TYPE_Q8_0] = gemv_q8_0_plain,
        [GGML_TYPE_Q4_K] = gemv_q4_K_plain,
    },
};

const struct cpu_qdot_table cpu_qdot_avx512_vnni = {
    .dot = {
        [GGML_TYPE_Q4_0] = dot_q4_0_vnni,
        [GGML_TYPE_Q8_0] = dot_q8_0_vnni,
        [GGML_TYPE_Q4_K] = dot_q4_K_vnni,
    },
    .gemv = {
        [GGML_TYPE_Q4_0] = gemv_q4_0_vnni,
        [GGML_TYPE_Q8_0] = gemv_q8_0_vnni,
        [GGML_TYPE_Q4_K] = gemv_q4_K_vnni,
    },
};

#endif
