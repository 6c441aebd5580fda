// quants.c — ggml's quantized formats: the reference quantizers and the dequantizers.
//
// The bytes must be exactly ggml's for the same input (a model file quantized here must be the
// file ggml writes), so every quantizer follows ggml's published rounding rules step by step,
// in single precision and in the same order of operations. The formats:
//
// - Q4_0, Q5_0 (32 weights, one f16 scale d): d = m / -8 (-16), where m is the weight of largest
//   magnitude with its sign, so m itself maps to the end of the range; a weight becomes
//   trunc(x/d + 8.5) (16.5), capped at 15 (31). Q5_0 keeps the fifth bits in a 32-bit mask.
// - Q4_1, Q5_1 (scale d and minimum m): d = (max - min) / 15 (31), q = trunc((x - min)/d + 0.5).
// - Q8_0, Q8_1: d = amax / 127, q = roundf(x / d) (half away from zero); Q8_1 also stores
//   s = d * sum(q), which lets a dot product with an offset format drop a multiply.
// - Q1_0 (128 weights): d = mean |x|, one sign bit per weight.
// - MXFP4 (32 weights): a power-of-two scale 2^(floor(log2 amax) - 2) stored as an E8M0 byte, and
//   for each weight the nearest of the 16 E2M1 values (first index on ties).
// - K-quants (super-blocks of 256 with 6- or 8-bit sub-block scales under one f16 scale):
//   each 16- or 32-weight sub-block first gets its own best scale (and min) by a small search:
//     make_qx:  symmetric, weights w = x^2: try iscale = -(nmax + 0.1 i)/max for i in [-9, 9] and
//               keep the scale that maximizes (sum w x l)^2 / sum w l^2 (least squares);
//     make_q3:  symmetric, then up to 5 passes that move single quants while that improves the
//               same criterion;
//     make_qkx2: asymmetric (scale and min), weights given: 1 + nstep trial iscales, each solved
//               by weighted least squares for scale and min (min clamped to <= 0), keeping the
//               trial with the least weighted error (absolute or squared).
//   Then the sub-block scales are themselves quantized against the largest (to 4 bits for Q2_K,
//   6 for Q3_K..Q5_K, 8 for Q6_K), and every weight is quantized again against its sub-block's
//   stored scale, so the stored quants fit the stored scales.
// - Q8_K (256, f32 scale): q = nearest(-127/m * x) and the sums of each 16 quants.
// - IQ4_NL (32), IQ4_XS (256 of 32): quants index a fixed non-uniform table of 16 values; the
//   scale is solved by weighted least squares over the chosen indices (weights x^2). The row
//   reference takes the first guess d = m / -127; ggml_quantize_chunk tries 15 more.
// - TQ1_0, TQ2_0 (256, ternary): d = amax, t = round(x/d) in {-1, 0, 1}; TQ2_0 packs 4 per
//   byte, TQ1_0 packs 5 trits per byte as a base-3 number scaled to 0..255 (rounded up), so a
//   trit is read back with a multiply and a shift.
//
// "nearest" is round-half-to-even done as ggml does it, by adding 1.5 * 2^23 and reading the
// mantissa bits, so it does not depend on the rounding mode.

#include "quants.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define Q_MIN(a, b) ((a) < (b) ? (a) : (b))
#define Q_MAX(a, b) ((a) > (b) ? (a) : (b))
#define GROUP_MAX_EPS 1e-15f

_Static_assert(sizeof(block_q4_0)   == 18,  "block_q4_0 size");
_Static_assert(sizeof(block_q4_1)   == 20,  "block_q4_1 size");
_Static_assert(sizeof(block_q5_0)   == 22,  "block_q5_0 size");
_Static_assert(sizeof(block_q5_1)   == 24,  "block_q5_1 size");
_Static_assert(sizeof(block_q8_0)   == 34,  "block_q8_0 size");
_Static_assert(sizeof(block_q8_1)   == 36,  "block_q8_1 size");
_Static_assert(sizeof(block_q1_0)   == 18,  "block_q1_0 size");
_Static_assert(sizeof(block_mxfp4)  == 17,  "block_mxfp4 size");
_Static_assert(sizeof(block_q2_K)   == 84,  "block_q2_K size");
_Static_assert(sizeof(block_q3_K)   == 110, "block_q3_K size");
_Static_assert(sizeof(block_q4_K)   == 144, "block_q4_K size");
_Static_assert(sizeof(block_q5_K)   == 176, "block_q5_K size");
_Static_assert(sizeof(block_q6_K)   == 210, "block_q6_K size");
_Static_assert(sizeof(block_q8_K)   == 292, "block_q8_K size");
_Static_assert(sizeof(block_iq4_nl) == 18,  "block_iq4_nl size");
_Static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs size");
_Static_assert(sizeof(block_tq1_0)  == 54,  "block_tq1_0 size");
_Static_assert(sizeof(block_tq2_0)  == 66,  "block_tq2_0 size");

const int8_t ggalloc_kvalues_iq4nl[16] = { -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113 };
const int8_t ggalloc_kvalues_mxfp4[16] = { 0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12 };

#define FP16(x) ggml_fp32_to_fp16(x)
#define F32(h)  ggml_fp16_to_fp32(h)

// Checks shared by every row function; false (and a log line) if the call is malformed.
static bool q_args_ok(const char * fn, const void * x, const void * y, int64_t k, int64_t blck) {
    if (x == NULL || y == NULL) {
        GGML_LOG_ERROR("%s: NULL %s\n", fn, x == NULL ? "source" : "destination");
        return false;
    }
    if (k < 0 || k % blck != 0) {
        GGML_LOG_ERROR("%s: row length %lld is not a multiple of the block size %lld\n", fn, (long long) k, (long long) blck);
        return false;
    }
    return true;
}

static inline int nearest_int(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, sizeof(i));
    return (i & 0x007fffff) - 0x00400000;
}

// largest |x| and the value that has it (the first one on ties)
static void q_signed_max(const float * x, int n, float * amax_out, float * max_out) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    *max_out = max;
}

//
// 32-weight formats
//

void quantize_row_q4_0_ref(const float * GGML_RESTRICT x, block_q4_0 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK4_0)) return;
    for (int64_t i = 0; i < k / QK4_0; i++, x += QK4_0) {
        float amax, max;
        q_signed_max(x, QK4_0, &amax, &max);
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = FP16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const int lo = Q_MIN(15, (int8_t) (x[j] * id + 8.5f));
            const int hi = Q_MIN(15, (int8_t) (x[j + QK4_0 / 2] * id + 8.5f));
            y[i].qs[j] = (uint8_t) (lo | (hi << 4));
        }
    }
}

static void q_min_max(const float * x, int n, float * min_out, float * max_out) {
    float min = FLT_MAX, max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < min) min = x[j];
        if (x[j] > max) max = x[j];
    }
    *min_out = min;
    *max_out = max;
}

void quantize_row_q4_1_ref(const float * GGML_RESTRICT x, block_q4_1 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK4_1)) return;
    for (int64_t i = 0; i < k / QK4_1; i++, x += QK4_1) {
        float min, max;
        q_min_max(x, QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = FP16(d);
        y[i].m = FP16(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            const int lo = Q_MIN(15, (int8_t) ((x[j] - min) * id + 0.5f));
            const int hi = Q_MIN(15, (int8_t) ((x[j + QK4_1 / 2] - min) * id + 0.5f));
            y[i].qs[j] = (uint8_t) (lo | (hi << 4));
        }
    }
}

void quantize_row_q5_0_ref(const float * GGML_RESTRICT x, block_q5_0 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK5_0)) return;
    for (int64_t i = 0; i < k / QK5_0; i++, x += QK5_0) {
        float amax, max;
        q_signed_max(x, QK5_0, &amax, &max);
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = FP16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_0 / 2; j++) {
            const uint32_t lo = (uint32_t) Q_MIN(31, (int8_t) (x[j] * id + 16.5f));
            const uint32_t hi = (uint32_t) Q_MIN(31, (int8_t) (x[j + QK5_0 / 2] * id + 16.5f));
            y[i].qs[j] = (uint8_t) ((lo & 15) | ((hi & 15) << 4));
            qh |= ((lo >> 4) & 1) << j;
            qh |= ((hi >> 4) & 1) << (j + QK5_0 / 2);
        }
        memcpy(y[i].qh, &qh, sizeof(qh));
    }
}

void quantize_row_q5_1_ref(const float * GGML_RESTRICT x, block_q5_1 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK5_1)) return;
    for (int64_t i = 0; i < k / QK5_1; i++, x += QK5_1) {
        float min, max;
        q_min_max(x, QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = FP16(d);
        y[i].m = FP16(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            const uint32_t lo = (uint8_t) ((x[j] - min) * id + 0.5f);
            const uint32_t hi = (uint8_t) ((x[j + QK5_1 / 2] - min) * id + 0.5f);
            y[i].qs[j] = (uint8_t) ((lo & 15) | ((hi & 15) << 4));
            qh |= ((lo >> 4) & 1) << j;
            qh |= ((hi >> 4) & 1) << (j + QK5_1 / 2);
        }
        memcpy(y[i].qh, &qh, sizeof(qh));
    }
}

static float q8_scale(const float * x, int n, float * id) {
    float amax = 0.0f;
    for (int j = 0; j < n; j++) {
        amax = Q_MAX(amax, fabsf(x[j]));
    }
    const float d = amax / 127;
    *id = d != 0.0f ? 1.0f / d : 0.0f;
    return d;
}

void quantize_row_q8_0_ref(const float * GGML_RESTRICT x, block_q8_0 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK8_0)) return;
    for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
        float id;
        const float d = q8_scale(x, QK8_0, &id);
        y[i].d = FP16(d);
        for (int j = 0; j < QK8_0; j++) {
            y[i].qs[j] = (int8_t) roundf(x[j] * id);
        }
    }
}

void quantize_row_q8_1_ref(const float * GGML_RESTRICT x, block_q8_1 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK8_1)) return;
    for (int64_t i = 0; i < k / QK8_1; i++, x += QK8_1) {
        float id;
        const float d = q8_scale(x, QK8_1, &id);
        y[i].d = FP16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            y[i].qs[j] = (int8_t) roundf(x[j] * id);
            sum += y[i].qs[j];
        }
        y[i].s = FP16((float) sum * d);
    }
}

void quantize_row_q1_0_ref(const float * GGML_RESTRICT x, block_q1_0 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK1_0)) return;
    for (int64_t i = 0; i < k / QK1_0; i++, x += QK1_0) {
        float sum = 0.0f;
        for (int j = 0; j < QK1_0; j++) {
            sum += fabsf(x[j]);
        }
        y[i].d = FP16(sum / QK1_0);
        memset(y[i].qs, 0, sizeof(y[i].qs));
        for (int j = 0; j < QK1_0; j++) {
            if (x[j] >= 0.0f) {
                y[i].qs[j / 8] |= (uint8_t) (1u << (j % 8));
            }
        }
    }
}

// 2^(e - 128): the E8M0 exponent halved, because the E2M1 table holds doubled values
static float e8m0_half(uint8_t e) {
    return ldexpf(1.0f, (int) e - 128);
}

static int mxfp4_best(float x, float d) {
    int best = 0;
    float err = fabsf(ggalloc_kvalues_mxfp4[0] * d - x);
    for (int i = 1; i < 16; i++) {
        const float e = fabsf(ggalloc_kvalues_mxfp4[i] * d - x);
        if (e < err) {
            best = i;
            err = e;
        }
    }
    return best;
}

void quantize_row_mxfp4_ref(const float * GGML_RESTRICT x, block_mxfp4 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_MXFP4)) return;
    for (int64_t i = 0; i < k / QK_MXFP4; i++, x += QK_MXFP4) {
        float amax = 0.0f;
        for (int j = 0; j < QK_MXFP4; j++) {
            amax = Q_MAX(amax, fabsf(x[j]));
        }
        int e = 0;
        if (amax > 0.0f) {
            e = (int) (floorf(log2f(amax)) - 2 + 127);
            e = Q_MAX(0, Q_MIN(255, e));
        }
        y[i].e = (uint8_t) e;
        const float d = e8m0_half((uint8_t) e);
        for (int j = 0; j < QK_MXFP4 / 2; j++) {
            y[i].qs[j] = (uint8_t) (mxfp4_best(x[j], d) | (mxfp4_best(x[j + QK_MXFP4 / 2], d) << 4));
        }
    }
}

void dequantize_row_q4_0(const block_q4_0 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK4_0)) return;
    for (int64_t i = 0; i < k / QK4_0; i++, y += QK4_0) {
        const float d = F32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j]             = ((x[i].qs[j] & 15) - 8) * d;
            y[j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_row_q4_1(const block_q4_1 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK4_1)) return;
    for (int64_t i = 0; i < k / QK4_1; i++, y += QK4_1) {
        const float d = F32(x[i].d), m = F32(x[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j]             = (x[i].qs[j] & 15) * d + m;
            y[j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_row_q5_0(const block_q5_0 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK5_0)) return;
    for (int64_t i = 0; i < k / QK5_0; i++, y += QK5_0) {
        const float d = F32(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof(qh));
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = (int) ((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16;
            const int hi = (int) ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            y[j]             = lo * d;
            y[j + QK5_0 / 2] = hi * d;
        }
    }
}

void dequantize_row_q5_1(const block_q5_1 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK5_1)) return;
    for (int64_t i = 0; i < k / QK5_1; i++, y += QK5_1) {
        const float d = F32(x[i].d), m = F32(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof(qh));
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = (int) ((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4));
            const int hi = (int) ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            y[j]             = lo * d + m;
            y[j + QK5_1 / 2] = hi * d + m;
        }
    }
}

void dequantize_row_q8_0(const block_q8_0 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK8_0)) return;
    for (int64_t i = 0; i < k / QK8_0; i++, y += QK8_0) {
        const float d = F32(x[i].d);
        for (int j = 0; j < QK8_0; j++) {
            y[j] = x[i].qs[j] * d;
        }
    }
}

void dequantize_row_q8_1(const block_q8_1 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK8_1)) return;
    for (int64_t i = 0; i < k / QK8_1; i++, y += QK8_1) {
        const float d = F32(x[i].d);
        for (int j = 0; j < QK8_1; j++) {
            y[j] = x[i].qs[j] * d;
        }
    }
}

void dequantize_row_q1_0(const block_q1_0 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK1_0)) return;
    for (int64_t i = 0; i < k / QK1_0; i++, y += QK1_0) {
        const float d = F32(x[i].d);
        for (int j = 0; j < QK1_0; j++) {
            y[j] = (x[i].qs[j / 8] >> (j % 8)) & 1 ? d : -d;
        }
    }
}

void dequantize_row_mxfp4(const block_mxfp4 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_MXFP4)) return;
    for (int64_t i = 0; i < k / QK_MXFP4; i++, y += QK_MXFP4) {
        const float d = e8m0_half(x[i].e);
        for (int j = 0; j < QK_MXFP4 / 2; j++) {
            y[j]                = ggalloc_kvalues_mxfp4[x[i].qs[j] & 15] * d;
            y[j + QK_MXFP4 / 2] = ggalloc_kvalues_mxfp4[x[i].qs[j] >> 4] * d;
        }
    }
}

//
// K-quants: sub-block scale searches
//

// Symmetric scale for n values into [-nmax, nmax - 1] (stored as l + nmax in L); weights qw, or
// x^2 where qw is NULL. Returns the scale.
static float make_qx_quants(int n, int nmax, const float * x, int8_t * L, const float * qw) {
    float amax, max;
    q_signed_max(x, n, &amax, &max);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t) n);
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = Q_MAX(-nmax, Q_MIN(nmax - 1, l));
        L[i] = (int8_t) (l + nmax);
        const float w = qw ? qw[i] : x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) {
            continue;
        }
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = Q_MAX(-nmax, Q_MIN(nmax - 1, l));
            const float w = qw ? qw[i] : x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                const int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t) (nmax + Q_MAX(-nmax, Q_MIN(nmax - 1, l)));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Symmetric 3-bit scale with up to five passes of single-quant moves (weights x^2).
static float make_q3_quants(int n, int nmax, const float * x, int8_t * L) {
    float amax, max;
    q_signed_max(x, n, &amax, &max);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t) n);
        return 0.0f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = Q_MAX(-nmax, Q_MIN(nmax - 1, l));
        L[i] = (int8_t) l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int pass = 0; pass < 5; pass++) {
        int changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * L[i] * L[i];
                int nl = nearest_int(x[i] * sl2 / slx);
                nl = Q_MAX(-nmax, Q_MIN(nmax - 1, nl));
                if (nl != L[i]) {
                    slx += w * x[i] * nl;
                    sl2 += w * nl * nl;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t) nl;
                        sumlx = slx;
                        suml2 = sl2;
                        changed++;
                    }
                }
            }
        }
        if (changed == 0) {
            break;
        }
    }
    for (int i = 0; i < n; i++) {
        L[i] = (int8_t) (L[i] + nmax);
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// Asymmetric: quants in [0, nmax], x ~ scale * l - the_min. Returns the scale. min_le_zero: the
// minimum is kept <= 0 (the K-quants store it as a subtracted unsigned value); otherwise a block
// of positive values may keep its own minimum (Q4_1 and Q5_1 store it signed).
static float make_qkx2_quants(int n, int nmax, const float * x, const float * weights, uint8_t * L, float * the_min,
                              uint8_t * Laux, float rmin, float rdelta, int nstep, bool use_mad, bool min_le_zero) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0 && min_le_zero) {
        min = 0;
    }
    if (max == min) {
        memset(L, 0, (size_t) n);
        *the_min = -min;
        return 0.0f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        const int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t) Q_MAX(0, Q_MIN(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = Q_MAX(0, Q_MIN(nmax, l));
            Laux[i] = (uint8_t) l;
            const float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min   = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0 && min_le_zero) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float err = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                err += weights[i] * diff;
            }
            if (err < best_error) {
                memcpy(L, Laux, (size_t) n);
                best_error = err;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

// 6-bit scale and min of sub-block j (of 8) from the packed 12 bytes
static inline void get_scale_min_k4(int j, const uint8_t * q, uint8_t * d, uint8_t * m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t) ((q[j + 4] & 15) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t) ((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void set_scale_min_k4(int j, uint8_t * q, uint8_t ls, uint8_t lm) {
    if (j < 4) {
        q[j] = ls;
        q[j + 4] = lm;
    } else {
        q[j + 4] = (uint8_t) ((ls & 15) | ((lm & 15) << 4));
        q[j - 4] |= (uint8_t) ((ls >> 4) << 6);
        q[j] |= (uint8_t) ((lm >> 4) << 6);
    }
}

// four 2-bit quants of L (at l, l+32, l+64, l+96 of each 128) per byte
static void pack_2bit(const uint8_t * L, uint8_t * qs) {
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; l++) {
            qs[j / 4 + l] = (uint8_t) (L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
        }
    }
}

void quantize_row_q2_K_ref(const float * GGML_RESTRICT x, block_q2_K * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    const float q4scale = 15.f;
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux, -0.5f, 0.1f, 15, true, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; j++) {
                y[i].scales[j] = (uint8_t) nearest_int(iscale * scales[j]);
            }
            y[i].d = FP16(max_scale / q4scale);
        } else {
            memset(y[i].scales, 0, sizeof(y[i].scales));
            y[i].d = FP16(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; j++) {
                y[i].scales[j] |= (uint8_t) (nearest_int(iscale * mins[j]) << 4);
            }
            y[i].dmin = FP16(max_min / q4scale);
        } else {
            y[i].dmin = FP16(0.f);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = F32(y[i].d) * (y[i].scales[j] & 15);
            if (d == 0.0f) continue;
            const float dm = F32(y[i].dmin) * (y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ii++) {
                const int l = nearest_int((x[16 * j + ii] + dm) / d);
                L[16 * j + ii] = (uint8_t) Q_MAX(0, Q_MIN(3, l));
            }
        }
        pack_2bit(L, y[i].qs);
    }
}

void dequantize_row_q2_K(const block_q2_K * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = F32(x[i].d), min = F32(x[i].dmin);
        const uint8_t * q = x[i].qs;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * (sc & 15), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

// the 6-bit scale j (of 16) of a Q3_K block, as stored (0..63)
static int q3k_scale_get(const uint8_t * s, int j) {
    const int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    return lo | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4);
}

void quantize_row_q3_K_ref(const float * GGML_RESTRICT x, block_q3_K * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale != 0.0f) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < QK_K / 16; j++) {
                int8_t l = (int8_t) nearest_int(iscale * scales[j]);
                l = (int8_t) (Q_MAX(-32, Q_MIN(31, l)) + 32);
                if (j < 8) {
                    y[i].scales[j] = (uint8_t) (l & 15);
                } else {
                    y[i].scales[j - 8] |= (uint8_t) ((l & 15) << 4);
                }
                l = (int8_t) (l >> 4);
                y[i].scales[j % 4 + 8] |= (uint8_t) (l << (2 * (j / 4)));
            }
            y[i].d = FP16(1 / iscale);
        } else {
            y[i].d = FP16(0.f);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const int sc = q3k_scale_get(y[i].scales, j) - 32;
            const float d = F32(y[i].d) * sc;
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ii++) {
                const int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t) (Q_MAX(-4, Q_MIN(3, l)) + 4);
            }
        }
        // the high bit of quant j goes to bit j / 32 of hmask[j % 32]
        memset(y[i].hmask, 0, QK_K / 8);
        for (int j = 0; j < QK_K; j++) {
            if (L[j] > 3) {
                y[i].hmask[j % 32] |= (uint8_t) (1u << (j / 32));
                L[j] -= 4;
            }
        }
        pack_2bit((const uint8_t *) L, y[i].qs);
    }
}

void dequantize_row_q3_K(const block_q3_K * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d_all = F32(x[i].d);
        const uint8_t * q = x[i].qs;
        const uint8_t * hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; half++) {
                    const float dl = d_all * (q3k_scale_get(x[i].scales, is++) - 32);
                    for (int l = 0; l < 16; l++) {
                        const int v = ((q[l + 16 * half] >> shift) & 3) - ((hm[l + 16 * half] & m) ? 0 : 4);
                        *y++ = dl * v;
                    }
                }
            }
        }
    }
}

// Q4_K and Q5_K share everything but the quant width (nmax 15 or 31) and the search range.
static void q45k_scales(const float * x, int nmax, float rmin, int nstep, uint8_t * L, uint8_t * packed, ggml_half * dh, ggml_half * dminh) {
    uint8_t Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, rmin, 0.1f, nstep, false, true);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min   = max_min   > 0 ? 63.f / max_min   : 0.f;
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t ls = (uint8_t) nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t) nearest_int(inv_min * mins[j]);
        ls = (uint8_t) Q_MIN(63, ls);
        lm = (uint8_t) Q_MIN(63, lm);
        set_scale_min_k4(j, packed, ls, lm);
    }
    *dh = FP16(max_scale / 63.f);
    *dminh = FP16(max_min / 63.f);
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t sc, m;
        get_scale_min_k4(j, packed, &sc, &m);
        const float d = F32(*dh) * sc;
        if (d == 0.0f) continue;
        const float dm = F32(*dminh) * m;
        for (int ii = 0; ii < 32; ii++) {
            const int l = nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t) Q_MAX(0, Q_MIN(nmax, l));
        }
    }
}

void quantize_row_q4_K_ref(const float * GGML_RESTRICT x, block_q4_K * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        memset(y[i].scales, 0, sizeof(y[i].scales));
        q45k_scales(x, 15, -1.f, 20, L, y[i].scales, &y[i].d, &y[i].dmin);
        uint8_t * q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64, q += 32) {
            for (int l = 0; l < 32; l++) q[l] = (uint8_t) (L[j + l] | (L[j + l + 32] << 4));
        }
    }
}

void dequantize_row_q4_K(const block_q4_K * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const uint8_t * q = x[i].qs;
        const float d = F32(x[i].d), min = F32(x[i].dmin);
        for (int j = 0, is = 0; j < QK_K; j += 64, q += 32, is += 2) {
            uint8_t sc, m;
            get_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 15) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

void quantize_row_q5_K_ref(const float * GGML_RESTRICT x, block_q5_K * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        memset(y[i].scales, 0, sizeof(y[i].scales));
        q45k_scales(x, 31, -0.5f, 15, L, y[i].scales, &y[i].d, &y[i].dmin);
        uint8_t * qh = y[i].qh;
        uint8_t * ql = y[i].qs;
        memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[n + j], l2 = L[n + j + 32];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t) (l1 | (l2 << 4));
            }
        }
    }
}

void dequantize_row_q5_K(const block_q5_K * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const uint8_t * ql = x[i].qs;
        const uint8_t * qh = x[i].qh;
        const float d = F32(x[i].d), min = F32(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0, is = 0; j < QK_K; j += 64, ql += 32, is += 2, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            get_scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 15) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

void quantize_row_q6_K_ref(const float * GGML_RESTRICT x, block_q6_K * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ib++) {
            scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, NULL);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof(block_q6_K));
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = FP16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ib++) {
            y[i].scales[ib] = (int8_t) Q_MIN(127, nearest_int(iscale * scales[ib]));
        }
        for (int j = 0; j < QK_K / 16; j++) {
            const float d = F32(y[i].d) * y[i].scales[j];
            if (d == 0.0f) continue;
            for (int ii = 0; ii < 16; ii++) {
                const int l = nearest_int(x[16 * j + ii] / d);
                L[16 * j + ii] = (int8_t) (Q_MAX(-32, Q_MIN(31, l)) + 32);
            }
        }
        uint8_t * ql = y[i].ql;
        uint8_t * qh = y[i].qh;
        for (int j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const uint8_t q1 = L[j + l] & 15, q2 = L[j + l + 32] & 15;
                const uint8_t q3 = L[j + l + 64] & 15, q4 = L[j + l + 96] & 15;
                ql[l]      = (uint8_t) (q1 | (q3 << 4));
                ql[l + 32] = (uint8_t) (q2 | (q4 << 4));
                qh[l] = (uint8_t) ((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
            }
        }
    }
}

void dequantize_row_q6_K(const block_q6_K * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = F32(x[i].d);
        const uint8_t * ql = x[i].ql;
        const uint8_t * qh = x[i].qh;
        const int8_t * sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = (int) ((ql[l]      & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int) ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int) ((ql[l]      >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int) ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l]      = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

void quantize_row_q8_K_ref(const float * GGML_RESTRICT x, block_q8_K * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++, x += QK_K) {
        float amax, max;
        q_signed_max(x, QK_K, &amax, &max);
        if (amax == 0.0f) {
            memset(&y[i], 0, sizeof(y[i]));
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++) {
            y[i].qs[j] = (int8_t) Q_MIN(127, nearest_int(iscale * x[j]));
        }
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[16 * j + ii];
            y[i].bsums[j] = (int16_t) sum;
        }
        y[i].d = 1 / iscale;
    }
}

void dequantize_row_q8_K(const block_q8_K * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        for (int j = 0; j < QK_K; j++) *y++ = x[i].d * x[i].qs[j];
    }
}

//
// Non-linear 4-bit
//

// index of the table value nearest to x (table sorted ascending; the lower one on a tie)
static int best_index_int8(int n, const int8_t * val, float x) {
    if (x <= val[0]) return 0;
    if (x >= val[n - 1]) return n - 1;
    int lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        const int mid = (lo + hi) / 2;
        if (x < val[mid]) hi = mid; else lo = mid;
    }
    return x - val[hi - 1] < val[hi] - x ? hi - 1 : hi;
}

// One super-block (32 for IQ4_NL, 256 for IQ4_XS) of 32-weight blocks. ntry < 0: the first
// guess only; ntry > 0: 2 * ntry + 1 more scales tried, then the quants redone.
static void iq4_quantize_superblock(int super_block_size, const float * x, ggml_half * dh, uint8_t * q4,
                                    uint16_t * scales_h, uint8_t * scales_l, int ntry) {
    const int8_t * values = ggalloc_kvalues_iq4nl;
    const int block_size = 32;
    uint8_t L[QK_K];
    float weight[32], scales[QK_K / 32];
    memset(L, 0, sizeof(L));
    memset(q4, 0, (size_t) super_block_size / 2);
    *dh = FP16(0.f);
    float max_scale = 0, amax_scale = 0;
    for (int ib = 0; ib < super_block_size / block_size; ib++) {
        const float * xb = x + ib * block_size;
        uint8_t * Lb = L + ib * block_size;
        for (int j = 0; j < block_size; j++) weight[j] = xb[j] * xb[j];
        float amax, max;
        q_signed_max(xb, block_size, &amax, &max);
        if (amax < GROUP_MAX_EPS) {
            scales[ib] = 0;
            continue;
        }
        float d = ntry > 0 ? -max / values[0] : max / values[0];
        float id = 1 / d;
        float sumqx = 0, sumq2 = 0;
        for (int j = 0; j < block_size; j++) {
            const int l = best_index_int8(16, values, id * xb[j]);
            Lb[j] = (uint8_t) l;
            const float q = values[l], w = weight[j];
            sumqx += w * q * xb[j];
            sumq2 += w * q * q;
        }
        d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
        float best = d * sumqx;
        for (int itry = -ntry; itry <= ntry; itry++) {
            id = (itry + values[0]) / max;
            sumqx = sumq2 = 0;
            for (int j = 0; j < block_size; j++) {
                const int l = best_index_int8(16, values, id * xb[j]);
                const float q = values[l], w = weight[j];
                sumqx += w * q * xb[j];
                sumq2 += w * q * q;
            }
            if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
                d = sumqx / sumq2;
                best = d * sumqx;
            }
        }
        scales[ib] = d;
        if (fabsf(d) > amax_scale) {
            amax_scale = fabsf(d);
            max_scale = d;
        }
    }
    if (super_block_size / block_size > 1) {
        const int nb = super_block_size / block_size;
        memset(scales_h, 0, (size_t) ((nb + 7) / 8) * sizeof(uint16_t));
        const float d = -max_scale / 32;
        *dh = FP16(d);
        const float id = d != 0.0f ? 1 / d : 0.f;
        for (int ib = 0; ib < nb; ib++) {
            int l = nearest_int(id * scales[ib]);
            l = Q_MAX(-32, Q_MIN(31, l));
            const float dl = d * l;
            const float idl = dl != 0.0f ? 1 / dl : 0.f;
            for (int j = 0; j < block_size; j++) {
                L[ib * block_size + j] = (uint8_t) best_index_int8(16, values, idl * x[ib * block_size + j]);
            }
            l += 32;
            if (ib % 2 == 0) {
                scales_l[ib / 2] = (uint8_t) (l & 15);
            } else {
                scales_l[ib / 2] |= (uint8_t) ((l & 15) << 4);
            }
            scales_h[ib / 8] |= (uint16_t) ((l >> 4) << (2 * (ib % 8)));
        }
    } else {
        *dh = FP16(scales[0]);
        if (ntry > 0) {
            const float id = scales[0] != 0.0f ? 1 / scales[0] : 0;
            for (int j = 0; j < super_block_size; j++) {
                L[j] = (uint8_t) best_index_int8(16, values, id * x[j]);
            }
        }
    }
    for (int i = 0; i < super_block_size / 32; i++) {
        for (int j = 0; j < 16; j++) {
            q4[16 * i + j] = (uint8_t) (L[32 * i + j] | (L[32 * i + 16 + j] << 4));
        }
    }
}

void quantize_row_iq4_nl_ref(const float * GGML_RESTRICT x, block_iq4_nl * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK4_NL)) return;
    for (int64_t i = 0; i < k / QK4_NL; i++) {
        iq4_quantize_superblock(QK4_NL, x + QK4_NL * i, &y[i].d, y[i].qs, NULL, NULL, -1);
    }
}

static void iq4_nl_rows(const float * x, block_iq4_nl * y, int64_t k) {
    for (int64_t i = 0; i < k / QK4_NL; i++) {
        iq4_quantize_superblock(QK4_NL, x + QK4_NL * i, &y[i].d, y[i].qs, NULL, NULL, 7);
    }
}

static void iq4_xs_rows(const float * x, block_iq4_xs * y, int64_t k) {
    for (int64_t i = 0; i < k / QK_K; i++) {
        iq4_quantize_superblock(QK_K, x + QK_K * i, &y[i].d, y[i].qs, &y[i].scales_h, y[i].scales_l, 7);
    }
}

void quantize_row_iq4_xs_ref(const float * GGML_RESTRICT x, block_iq4_xs * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    iq4_xs_rows(x, y, k);
}

void dequantize_row_iq4_nl(const block_iq4_nl * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK4_NL)) return;
    for (int64_t i = 0; i < k / QK4_NL; i++, y += QK4_NL) {
        const float d = F32(x[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            y[j]              = d * ggalloc_kvalues_iq4nl[x[i].qs[j] & 15];
            y[j + QK4_NL / 2] = d * ggalloc_kvalues_iq4nl[x[i].qs[j] >> 4];
        }
    }
}

void dequantize_row_iq4_xs(const block_iq4_xs * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const uint8_t * qs = x[i].qs;
        const float d = F32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ib++, y += 32, qs += 16) {
            const int ls = ((x[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((x[i].scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * (ls - 32);
            for (int j = 0; j < 16; j++) {
                y[j]      = dl * ggalloc_kvalues_iq4nl[qs[j] & 15];
                y[j + 16] = dl * ggalloc_kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

//
// Ternary
//

static float ternary_scale(const float * x, float * id) {
    float amax = 0.0f;
    for (int j = 0; j < QK_K; j++) amax = Q_MAX(amax, fabsf(x[j]));
    *id = amax != 0.0f ? 1.0f / amax : 0.0f;
    return amax;
}

// n trits (t0 most significant), then scaled so that byte * 3^i >> 8 reads trit i back
static uint8_t tq1_pack(const float * x, int stride, int n, float id) {
    unsigned q = 0;
    for (int t = 0; t < n; t++) {
        q = q * 3 + (unsigned) (lroundf(x[t * stride] * id) + 1);
    }
    for (int t = n; t < 5; t++) {
        q *= 3;
    }
    return (uint8_t) ((q * 256 + 242) / 243);
}

void quantize_row_tq1_0_ref(const float * GGML_RESTRICT x, block_tq1_0 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        float id;
        y[i].d = FP16(ternary_scale(x, &id));
        // 32 bytes of 5 trits (160 weights), 16 bytes of 5 (80), 4 bytes of 4 (16)
        for (int m = 0; m < 32; m++) y[i].qs[m] = tq1_pack(x + m, 32, 5, id);
        x += 160;
        for (int m = 0; m < 16; m++) y[i].qs[32 + m] = tq1_pack(x + m, 16, 5, id);
        x += 80;
        for (int m = 0; m < 4; m++) y[i].qh[m] = tq1_pack(x + m, 4, 4, id);
        x += 16;
    }
}

void quantize_row_tq2_0_ref(const float * GGML_RESTRICT x, block_tq2_0 * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        float id;
        y[i].d = FP16(ternary_scale(x, &id));
        for (int j = 0; j < QK_K / 4; j += 32, x += 128) {
            for (int m = 0; m < 32; m++) {
                unsigned q = 0;
                for (int n = 0; n < 4; n++) {
                    const int t = (int) lroundf(x[m + 32 * n] * id) + 1;
                    q += (unsigned) (t & 3) << (2 * n);
                }
                y[i].qs[j + m] = (uint8_t) q;
            }
        }
    }
}

static inline float tq1_trit(uint8_t byte, int i) {
    static const uint8_t pow3[5] = { 1, 3, 9, 27, 81 };
    const uint8_t q = (uint8_t) (byte * pow3[i]);
    return (float) ((int) (((uint16_t) q * 3) >> 8) - 1);
}

void dequantize_row_tq1_0(const block_tq1_0 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = F32(x[i].d);
        for (int n = 0; n < 5; n++) for (int m = 0; m < 32; m++) *y++ = tq1_trit(x[i].qs[m], n) * d;
        for (int n = 0; n < 5; n++) for (int m = 0; m < 16; m++) *y++ = tq1_trit(x[i].qs[32 + m], n) * d;
        for (int n = 0; n < 4; n++) for (int m = 0; m < 4; m++)  *y++ = tq1_trit(x[i].qh[m], n) * d;
    }
}

void dequantize_row_tq2_0(const block_tq2_0 * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    if (!q_args_ok(__func__, x, y, k, QK_K)) return;
    for (int64_t i = 0; i < k / QK_K; i++) {
        const float d = F32(x[i].d);
        for (int j = 0; j < QK_K / 4; j += 32) {
            for (int l = 0; l < 4; l++) {
                for (int m = 0; m < 32; m++) *y++ = (float) (((x[i].qs[j + m] >> (2 * l)) & 3) - 1) * d;
            }
        }
    }
}

//
// Q4_0, Q5_0, Q4_1 and Q5_1 with an importance matrix (ggml_quantize_chunk's imatrix)
//
// An importance matrix gives each column of the weights a weight (how much its errors cost the
// model's outputs: mean squared activations, from calibration). A block's values are then fitted
// by weighted least squares instead of mapping the largest value to the end of the range: value
// j weighs imatrix[j] * sqrt(sigma2 + x_j^2), sigma2 being the row's mean square (so that small
// values still count), and make_qx_quants tries 19 scales around nmax / max, solving the best
// scale for each choice of quants. Its first candidate is the reference quantizer's quants with
// the best scale for them, so the weighted error is never above the reference's (up to the f16
// rounding of the scale).

// the weights of one row's values: w[j] = imatrix[j] * sqrt(sigma2 + x[j]^2)
static void q_row_weights(const float * x, const float * imatrix, int64_t n_per_row, float * w) {
    double sum_x2 = 0.0;
    for (int64_t j = 0; j < n_per_row; j++) sum_x2 += (double) x[j] * x[j];
    const float sigma2 = (float) (sum_x2 / (double) n_per_row);
    for (int64_t j = 0; j < n_per_row; j++) w[j] = imatrix[j] * sqrtf(sigma2 + x[j] * x[j]);
}

// 32 levels of a Q4/Q5 block into its nibbles (level j low, j + 16 high) and, where qh is not
// NULL, the fifth bits (bit j of qh for level j)
static void q_pack_levels(const uint8_t * L, uint8_t qs[16], uint8_t * qh) {
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t) ((L[j] & 15) | ((L[j + 16] & 15) << 4));
        h |= (uint32_t) ((L[j] >> 4) & 1) << j;
        h |= (uint32_t) ((L[j + 16] >> 4) & 1) << (j + 16);
    }
    if (qh != NULL) {
        memcpy(qh, &h, sizeof(h));
    }
}

// nrow rows of n_per_row values into Q4_0 (nmax 8) or Q5_0 (nmax 16) blocks, weighted; false if
// the scratch row could not be allocated
static bool q_0_rows_imatrix(enum ggml_type type, const float * src, void * dst, int64_t nrow, int64_t n_per_row,
                             const float * imatrix) {
    float * w = malloc(sizeof(float) * (size_t) n_per_row);
    if (w == NULL) {
        return false;
    }
    const int nmax = type == GGML_TYPE_Q4_0 ? 8 : 16;
    int8_t L[32];
    for (int64_t r = 0; r < nrow; r++) {
        const float * x = src + r * n_per_row;
        q_row_weights(x, imatrix, n_per_row, w);
        for (int64_t ib = 0; ib < n_per_row / 32; ib++) {
            const float d = make_qx_quants(32, nmax, x + 32 * ib, L, w + 32 * ib);
            if (type == GGML_TYPE_Q4_0) {
                block_q4_0 * y = (block_q4_0 *) dst + r * (n_per_row / 32) + ib;
                y->d = FP16(d);
                q_pack_levels((const uint8_t *) L, y->qs, NULL); // levels are 0..2*nmax-1
            } else {
                block_q5_0 * y = (block_q5_0 *) dst + r * (n_per_row / 32) + ib;
                y->d = FP16(d);
                q_pack_levels((const uint8_t *) L, y->qs, y->qh);
            }
        }
    }
    free(w);
    return true;
}

// Q4_1 and Q5_1 (a scale and a minimum): the same weights, and make_qkx2_quants's search (the
// reference's scale and minimum first, then 37 trial scales each solved for scale and minimum
// by weighted least squares), keeping the least weighted squared error. Unlike ggml's search
// the minimum is not forced to <= 0: these formats store it signed, and a block of positive
// values fitted from zero would lose most of its bits (ggml's errors on such blocks are tens of
// times the reference's).
static bool q_1_rows_imatrix(enum ggml_type type, const float * src, void * dst, int64_t nrow, int64_t n_per_row,
                             const float * imatrix) {
    float * w = malloc(sizeof(float) * (size_t) n_per_row);
    if (w == NULL) {
        return false;
    }
    const int nmax = type == GGML_TYPE_Q4_1 ? 15 : 31;
    uint8_t L[32], Laux[32];
    for (int64_t r = 0; r < nrow; r++) {
        const float * x = src + r * n_per_row;
        q_row_weights(x, imatrix, n_per_row, w);
        for (int64_t ib = 0; ib < n_per_row / 32; ib++) {
            float the_min;
            const float d = make_qkx2_quants(32, nmax, x + 32 * ib, w + 32 * ib, L, &the_min, Laux, -0.9f, 0.05f, 36, false, false);
            if (type == GGML_TYPE_Q4_1) {
                block_q4_1 * y = (block_q4_1 *) dst + r * (n_per_row / 32) + ib;
                y->d = FP16(d);
                y->m = FP16(-the_min);
                q_pack_levels(L, y->qs, NULL);
            } else {
                block_q5_1 * y = (block_q5_1 *) dst + r * (n_per_row / 32) + ib;
                y->d = FP16(d);
                y->m = FP16(-the_min);
                q_pack_levels(L, y->qs, y->qh);
            }
        }
    }
    free(w);
    return true;
}

//
// Whole rows, as ggml_quantize_chunk does them
//

size_t ggalloc_quantize_rows(enum ggml_type type, const float * src, void * dst, int64_t nrow, int64_t n_per_row) {
    const int64_t n = nrow * n_per_row;
    switch (type) {
        case GGML_TYPE_Q4_0:   quantize_row_q4_0_ref (src, dst, n); break;
        case GGML_TYPE_Q4_1:   quantize_row_q4_1_ref (src, dst, n); break;
        case GGML_TYPE_Q5_0:   quantize_row_q5_0_ref (src, dst, n); break;
        case GGML_TYPE_Q5_1:   quantize_row_q5_1_ref (src, dst, n); break;
        case GGML_TYPE_Q8_0:   quantize_row_q8_0_ref (src, dst, n); break;
        case GGML_TYPE_Q1_0:   quantize_row_q1_0_ref (src, dst, n); break;
        case GGML_TYPE_MXFP4:  quantize_row_mxfp4_ref(src, dst, n); break;
        case GGML_TYPE_Q2_K:   quantize_row_q2_K_ref (src, dst, n); break;
        case GGML_TYPE_Q3_K:   quantize_row_q3_K_ref (src, dst, n); break;
        case GGML_TYPE_Q4_K:   quantize_row_q4_K_ref (src, dst, n); break;
        case GGML_TYPE_Q5_K:   quantize_row_q5_K_ref (src, dst, n); break;
        case GGML_TYPE_Q6_K:   quantize_row_q6_K_ref (src, dst, n); break;
        case GGML_TYPE_TQ1_0:  quantize_row_tq1_0_ref(src, dst, n); break;
        case GGML_TYPE_TQ2_0:  quantize_row_tq2_0_ref(src, dst, n); break;
        case GGML_TYPE_IQ4_NL: iq4_nl_rows(src, dst, n); break;
        case GGML_TYPE_IQ4_XS: iq4_xs_rows(src, dst, n); break;
        case GGML_TYPE_F16:    ggml_fp32_to_fp16_row(src, dst, n); break;
        case GGML_TYPE_BF16:   ggml_fp32_to_bf16_row_ref(src, dst, n); break;
        case GGML_TYPE_F32:    memcpy(dst, src, (size_t) n * sizeof(float)); break;
        default: return 0;
    }
    return (size_t) nrow * ggml_row_size(type, n_per_row);
}

//
// ggml's quantization API
//

void ggml_quantize_init(enum ggml_type type) {
    (void) type;
}

void ggml_quantize_free(void) {
}

bool ggml_quantize_requires_imatrix(enum ggml_type type) {
    return type == GGML_TYPE_IQ2_XXS || type == GGML_TYPE_IQ2_XS || type == GGML_TYPE_IQ1_S;
}

// types whose ggml quantizer uses an importance matrix and this library's does not (yet): given
// one, they are refused rather than quantized without it (Q4_0, Q5_0, Q4_1, Q5_1 use it, below)
static bool q_uses_imatrix(enum ggml_type type) {
    switch (type) {
        case GGML_TYPE_Q4_0: case GGML_TYPE_Q5_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_1:
        case GGML_TYPE_Q8_0: case GGML_TYPE_MXFP4: case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0: case GGML_TYPE_Q1_0:
        case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16:
            return false;
        default:
            return true;
    }
}

size_t ggml_quantize_chunk(enum ggml_type type, const float * src, void * dst, int64_t start, int64_t nrows,
                           int64_t n_per_row, const float * imatrix) {
    const char * name = ggml_type_name(type);
    if (name == NULL) {
        GGML_LOG_ERROR("ggml_quantize_chunk: unknown type %d\n", (int) type);
        return 0;
    }
    if (src == NULL || dst == NULL) {
        GGML_LOG_ERROR("ggml_quantize_chunk: NULL %s\n", src == NULL ? "source" : "destination");
        return 0;
    }
    if (ggml_quantize_requires_imatrix(type)) {
        GGML_LOG_ERROR("ggml_quantize_chunk: type %s needs an importance matrix, and its quantizer is not available here\n", name);
        return 0;
    }
    if (imatrix != NULL && q_uses_imatrix(type)) {
        GGML_LOG_ERROR("ggml_quantize_chunk: quantizing %s with an importance matrix is not supported; pass NULL\n", name);
        return 0;
    }
    const int64_t blck = ggml_blck_size(type);
    if (nrows < 0 || n_per_row <= 0 || n_per_row % blck != 0) {
        GGML_LOG_ERROR("ggml_quantize_chunk: %s: row length %lld is not a positive multiple of the block size %lld (rows %lld)\n",
                       name, (long long) n_per_row, (long long) blck, (long long) nrows);
        return 0;
    }
    if (start < 0 || start % n_per_row != 0) {
        GGML_LOG_ERROR("ggml_quantize_chunk: start %lld is not at a row boundary (row length %lld)\n", (long long) start, (long long) n_per_row);
        return 0;
    }
    if (nrows == 0) {
        return 0;
    }
    const size_t row_size = ggml_row_size(type, n_per_row);
    if (imatrix != NULL && (type == GGML_TYPE_Q4_0 || type == GGML_TYPE_Q5_0 || type == GGML_TYPE_Q4_1 || type == GGML_TYPE_Q5_1)) {
        void * out = (char *) dst + (size_t) (start / n_per_row) * row_size;
        const bool ok = type == GGML_TYPE_Q4_0 || type == GGML_TYPE_Q5_0 ? q_0_rows_imatrix(type, src + start, out, nrows, n_per_row, imatrix)
                                                                       : q_1_rows_imatrix(type, src + start, out, nrows, n_per_row, imatrix);
        if (!ok) {
            GGML_LOG_ERROR("ggml_quantize_chunk: out of memory for a row of %lld weights\n", (long long) n_per_row);
            return 0;
        }
        return (size_t) nrows * row_size;
    }
    const size_t done = ggalloc_quantize_rows(type, src + start, (char *) dst + (size_t) (start / n_per_row) * row_size, nrows, n_per_row);
    if (done == 0) {
        GGML_LOG_ERROR("ggml_quantize_chunk: no quantizer for type %s\n", name);
    }
    return done;
}
