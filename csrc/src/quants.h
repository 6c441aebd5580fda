#pragma once

// quants.h — ggml's quantized block formats and their row functions (quants.c), with ggml's
// names. Internal to the library, but exported like ggml's own ggml-quants.h, so programs and
// tests that call the per-type functions link.
//
// Example:
//
//   block_q4_0 blocks[4];
//   quantize_row_q4_0_ref(x, blocks, 128);   // 128 floats -> 4 blocks of 32
//   dequantize_row_q4_0(blocks, y, 128);
//
// A row length that is not a multiple of the type's block size, or a NULL pointer, is logged
// and the call does nothing (ggml asserts).

#include "ggml.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QK_K    256
#define QK4_0   32
#define QK4_1   32
#define QK5_0   32
#define QK5_1   32
#define QK8_0   32
#define QK8_1   32
#define QK4_NL  32
#define QK_MXFP4 32
#define QK1_0   128

typedef uint16_t ggml_half;

typedef struct { ggml_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
typedef struct { ggml_half d; ggml_half m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
typedef struct { ggml_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
typedef struct { ggml_half d; ggml_half m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
typedef struct { ggml_half d; int8_t qs[QK8_0]; } block_q8_0;
typedef struct { ggml_half d; ggml_half s; int8_t qs[QK8_1]; } block_q8_1; // s = d * sum(qs)
typedef struct { ggml_half d; uint8_t qs[QK1_0 / 8]; } block_q1_0;
typedef struct { uint8_t e; uint8_t qs[QK_MXFP4 / 2]; } block_mxfp4;        // e: E8M0 scale

typedef struct {
    uint8_t   scales[QK_K / 16]; // 4-bit scale | 4-bit min per 16 weights
    uint8_t   qs[QK_K / 4];
    ggml_half d;
    ggml_half dmin;
} block_q2_K;

typedef struct {
    uint8_t   hmask[QK_K / 8];
    uint8_t   qs[QK_K / 4];
    uint8_t   scales[12];        // 16 scales of 6 bits
    ggml_half d;
} block_q3_K;

typedef struct {
    ggml_half d;
    ggml_half dmin;
    uint8_t   scales[12];        // 8 scales and 8 mins of 6 bits
    uint8_t   qs[QK_K / 2];
} block_q4_K;

typedef struct {
    ggml_half d;
    ggml_half dmin;
    uint8_t   scales[12];
    uint8_t   qh[QK_K / 8];
    uint8_t   qs[QK_K / 2];
} block_q5_K;

typedef struct {
    uint8_t   ql[QK_K / 2];
    uint8_t   qh[QK_K / 4];
    int8_t    scales[QK_K / 16];
    ggml_half d;
} block_q6_K;

typedef struct {
    float   d;
    int8_t  qs[QK_K];
    int16_t bsums[QK_K / 16];    // sums of qs in groups of 16
} block_q8_K;

typedef struct { ggml_half d; uint8_t qs[QK4_NL / 2]; } block_iq4_nl;

typedef struct {
    ggml_half d;
    uint16_t  scales_h;
    uint8_t   scales_l[QK_K / 64];
    uint8_t   qs[QK_K / 2];
} block_iq4_xs;

typedef struct {
    uint8_t   qs[(QK_K - 4 * QK_K / 64) / 5]; // 5 trits per byte
    uint8_t   qh[QK_K / 64];                  // 4 trits per byte
    ggml_half d;
} block_tq1_0;

typedef struct { uint8_t qs[QK_K / 4]; ggml_half d; } block_tq2_0;

// The 16 values of the non-linear 4-bit types, and MXFP4's E2M1 values doubled.
extern const int8_t ggalloc_kvalues_iq4nl[16];
extern const int8_t ggalloc_kvalues_mxfp4[16];

// Reference quantizers: k floats (a multiple of the block size) into k / block blocks.
GGML_API void quantize_row_q4_0_ref  (const float * GGML_RESTRICT x, block_q4_0   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q4_1_ref  (const float * GGML_RESTRICT x, block_q4_1   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q5_0_ref  (const float * GGML_RESTRICT x, block_q5_0   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q5_1_ref  (const float * GGML_RESTRICT x, block_q5_1   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q8_0_ref  (const float * GGML_RESTRICT x, block_q8_0   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q8_1_ref  (const float * GGML_RESTRICT x, block_q8_1   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q1_0_ref  (const float * GGML_RESTRICT x, block_q1_0   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_mxfp4_ref (const float * GGML_RESTRICT x, block_mxfp4  * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q2_K_ref  (const float * GGML_RESTRICT x, block_q2_K   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q3_K_ref  (const float * GGML_RESTRICT x, block_q3_K   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q4_K_ref  (const float * GGML_RESTRICT x, block_q4_K   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q5_K_ref  (const float * GGML_RESTRICT x, block_q5_K   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q6_K_ref  (const float * GGML_RESTRICT x, block_q6_K   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_q8_K_ref  (const float * GGML_RESTRICT x, block_q8_K   * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_iq4_nl_ref(const float * GGML_RESTRICT x, block_iq4_nl * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_iq4_xs_ref(const float * GGML_RESTRICT x, block_iq4_xs * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_tq1_0_ref (const float * GGML_RESTRICT x, block_tq1_0  * GGML_RESTRICT y, int64_t k);
GGML_API void quantize_row_tq2_0_ref (const float * GGML_RESTRICT x, block_tq2_0  * GGML_RESTRICT y, int64_t k);

// Dequantizers: k / block blocks into k floats.
GGML_API void dequantize_row_q4_0  (const block_q4_0   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q4_1  (const block_q4_1   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q5_0  (const block_q5_0   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q5_1  (const block_q5_1   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q8_0  (const block_q8_0   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q8_1  (const block_q8_1   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q1_0  (const block_q1_0   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_mxfp4 (const block_mxfp4  * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q2_K  (const block_q2_K   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q3_K  (const block_q3_K   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q4_K  (const block_q4_K   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q5_K  (const block_q5_K   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q6_K  (const block_q6_K   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_q8_K  (const block_q8_K   * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_iq4_nl(const block_iq4_nl * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_iq4_xs(const block_iq4_xs * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_tq1_0 (const block_tq1_0  * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
GGML_API void dequantize_row_tq2_0 (const block_tq2_0  * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);

// Whole-matrix quantizers of ggml_quantize_chunk (nrow rows of n_per_row): the reference ones,
// except IQ4_NL and IQ4_XS, whose chunk quantizer searches seven scales around the first guess
// where the row reference takes the first guess as it is (as in ggml). Return bytes written.
size_t ggalloc_quantize_rows(enum ggml_type type, const float * src, void * dst, int64_t nrow, int64_t n_per_row);

#ifdef __cplusplus
}
#endif
