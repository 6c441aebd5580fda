// types.c — the type table and the 16-bit float conversions.
//
// Every type of ggml's enum has an entry (name, block size, bytes per block, and for the types
// quants.c implements its dequantizer and reference quantizer), so a graph that mentions any of
// them loads and plans with ggml's exact sizes.
//
// f32 -> f16 rounds to nearest, ties to even, on the bit patterns alone (no floating-point
// arithmetic, so the result does not depend on the FPU's rounding mode or flush-to-zero):
//   - a normal half keeps the top 10 of the 23 mantissa bits; the 13 dropped bits decide the
//     rounding, and a carry out of the mantissa correctly bumps the exponent (up to infinity);
//   - a value below the smallest normal half (2^-14) becomes a subnormal half, i.e. an integer
//     count of 2^-24 units: the 24-bit significand shifted right by (126 - exponent) with the
//     same round-half-to-even rule, which can round up into the smallest normal;
//   - values at or above 65520 (halfway past the largest half, 65504) become infinity;
//   - NaN stays NaN (quiet, the payload's top bits kept), so it never turns into infinity.
// f16 -> f32 is exact. bf16 is the top half of an f32: f32 -> bf16 rounds to nearest even by
// adding 0x7fff plus the lowest kept bit before truncating, with NaN forced quiet (as ggml does).

#include "ggml-impl.h"
#include "log.h"
#include "quants.h"

#include <string.h>

static void row_f16_to_f32(const void * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    ggml_fp16_to_fp32_row((const ggml_fp16_t *) x, y, k);
}
static void row_f32_to_f16(const float * GGML_RESTRICT x, void * GGML_RESTRICT y, int64_t k) {
    ggml_fp32_to_fp16_row(x, (ggml_fp16_t *) y, k);
}
static void row_bf16_to_f32(const void * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k) {
    ggml_bf16_to_fp32_row((const ggml_bf16_t *) x, y, k);
}
static void row_f32_to_bf16(const float * GGML_RESTRICT x, void * GGML_RESTRICT y, int64_t k) {
    ggml_fp32_to_bf16_row_ref(x, (ggml_bf16_t *) y, k);
}

#define TO(f)   ((ggml_to_float_t) (f))
#define FROM(f) ((ggml_from_float_t) (f))

// Block layouts as ggml defines them (quants.h has the structs of the types computed here).
// Q8_1 and Q8_K hold quantized activations: as in ggml, they have a quantizer but no to_float.
// scales are f16 (2 bytes) unless noted. The IQ1/IQ2/IQ3 types, NVFP4 and Q2_0 are known by
// layout only: no quantizer or dequantizer here.
static const struct ggml_type_traits type_table[GGML_TYPE_COUNT] = {
    [GGML_TYPE_F32]     = { "f32",     1,     0, 4, false, NULL, NULL },
    [GGML_TYPE_F16]     = { "f16",     1,     0, 2, false, row_f16_to_f32, row_f32_to_f16 },
    [GGML_TYPE_Q4_0]    = { "q4_0",    QK4_0, 0, sizeof(block_q4_0), true, TO(dequantize_row_q4_0), FROM(quantize_row_q4_0_ref) },
    [GGML_TYPE_Q4_1]    = { "q4_1",    QK4_1, 0, sizeof(block_q4_1), true, TO(dequantize_row_q4_1), FROM(quantize_row_q4_1_ref) },
    [GGML_TYPE_Q5_0]    = { "q5_0",    QK5_0, 0, sizeof(block_q5_0), true, TO(dequantize_row_q5_0), FROM(quantize_row_q5_0_ref) },
    [GGML_TYPE_Q5_1]    = { "q5_1",    QK5_1, 0, sizeof(block_q5_1), true, TO(dequantize_row_q5_1), FROM(quantize_row_q5_1_ref) },
    [GGML_TYPE_Q8_0]    = { "q8_0",    QK8_0, 0, sizeof(block_q8_0), true, TO(dequantize_row_q8_0), FROM(quantize_row_q8_0_ref) },
    [GGML_TYPE_Q8_1]    = { "q8_1",    QK8_1, 0, sizeof(block_q8_1), true, NULL, FROM(quantize_row_q8_1_ref) }, // activations only
    [GGML_TYPE_Q2_K]    = { "q2_K",    QK_K,  0, sizeof(block_q2_K), true, TO(dequantize_row_q2_K), FROM(quantize_row_q2_K_ref) },
    [GGML_TYPE_Q3_K]    = { "q3_K",    QK_K,  0, sizeof(block_q3_K), true, TO(dequantize_row_q3_K), FROM(quantize_row_q3_K_ref) },
    [GGML_TYPE_Q4_K]    = { "q4_K",    QK_K,  0, sizeof(block_q4_K), true, TO(dequantize_row_q4_K), FROM(quantize_row_q4_K_ref) },
    [GGML_TYPE_Q5_K]    = { "q5_K",    QK_K,  0, sizeof(block_q5_K), true, TO(dequantize_row_q5_K), FROM(quantize_row_q5_K_ref) },
    [GGML_TYPE_Q6_K]    = { "q6_K",    QK_K,  0, sizeof(block_q6_K), true, TO(dequantize_row_q6_K), FROM(quantize_row_q6_K_ref) },
    [GGML_TYPE_Q8_K]    = { "q8_K",    QK_K,  0, sizeof(block_q8_K), true, NULL, FROM(quantize_row_q8_K_ref) }, // activations only
    [GGML_TYPE_IQ2_XXS] = { "iq2_xxs", QK_K,  0, 2 + QK_K / 8 * 2,                 true, NULL, NULL }, // d, u16 qs[QK_K/8]
    [GGML_TYPE_IQ2_XS]  = { "iq2_xs",  QK_K,  0, 2 + QK_K / 8 * 2 + QK_K / 32,     true, NULL, NULL }, // d, u16 qs, scales
    [GGML_TYPE_IQ3_XXS] = { "iq3_xxs", QK_K,  0, 2 + 3 * QK_K / 8,                 true, NULL, NULL },
    [GGML_TYPE_IQ1_S]   = { "iq1_s",   QK_K,  0, 2 + QK_K / 8 + QK_K / 16,         true, NULL, NULL }, // d, qs, u16 qh[QK_K/32]
    [GGML_TYPE_IQ4_NL]  = { "iq4_nl",  QK4_NL, 0, sizeof(block_iq4_nl), true, TO(dequantize_row_iq4_nl), FROM(quantize_row_iq4_nl_ref) },
    [GGML_TYPE_IQ3_S]   = { "iq3_s",   QK_K,  0, 2 + QK_K / 4 + QK_K / 32 + QK_K / 8 + QK_K / 64, true, NULL, NULL }, // d, qs, qh, signs, scales
    [GGML_TYPE_IQ2_S]   = { "iq2_s",   QK_K,  0, 2 + QK_K / 4 + QK_K / 32 + QK_K / 32, true, NULL, NULL }, // d, qs (+signs), qh, scales
    [GGML_TYPE_IQ4_XS]  = { "iq4_xs",  QK_K,  0, sizeof(block_iq4_xs), true, TO(dequantize_row_iq4_xs), FROM(quantize_row_iq4_xs_ref) },
    [GGML_TYPE_I8]      = { "i8",      1,     0, 1, false, NULL, NULL },
    [GGML_TYPE_I16]     = { "i16",     1,     0, 2, false, NULL, NULL },
    [GGML_TYPE_I32]     = { "i32",     1,     0, 4, false, NULL, NULL },
    [GGML_TYPE_I64]     = { "i64",     1,     0, 8, false, NULL, NULL },
    [GGML_TYPE_F64]     = { "f64",     1,     0, 8, false, NULL, NULL },
    [GGML_TYPE_IQ1_M]   = { "iq1_m",   QK_K,  0, QK_K / 8 + QK_K / 16 + QK_K / 32, true, NULL, NULL }, // qs, qh, scales (d inside)
    [GGML_TYPE_BF16]    = { "bf16",    1,     0, 2, false, row_bf16_to_f32, row_f32_to_bf16 },
    [GGML_TYPE_TQ1_0]   = { "tq1_0",   QK_K,  0, sizeof(block_tq1_0), true, TO(dequantize_row_tq1_0), FROM(quantize_row_tq1_0_ref) },
    [GGML_TYPE_TQ2_0]   = { "tq2_0",   QK_K,  0, sizeof(block_tq2_0), true, TO(dequantize_row_tq2_0), FROM(quantize_row_tq2_0_ref) },
    [GGML_TYPE_MXFP4]   = { "mxfp4",   QK_MXFP4, 0, sizeof(block_mxfp4), true, TO(dequantize_row_mxfp4), FROM(quantize_row_mxfp4_ref) },
    [GGML_TYPE_NVFP4]   = { "nvfp4",   64,    0, 4 + 32, true, NULL, NULL }, // 4 UE4M3 scales, 64 E2M1 nibbles
    [GGML_TYPE_Q1_0]    = { "q1_0",    QK1_0, 0, sizeof(block_q1_0), true, TO(dequantize_row_q1_0), FROM(quantize_row_q1_0_ref) },
    [GGML_TYPE_Q2_0]    = { "q2_0",    64,    0, 2 + 64 / 4, true, NULL, NULL }, // d, 64 2-bit quants
};

static const struct ggml_type_traits * type_traits_get(enum ggml_type type) {
    if ((int) type < 0 || (int) type >= GGML_TYPE_COUNT || type_table[type].type_name == NULL) {
        return NULL;
    }
    return &type_table[type];
}

const struct ggml_type_traits * ggml_get_type_traits(enum ggml_type type) {
    static const struct ggml_type_traits none = { 0 };
    const struct ggml_type_traits * tt = type_traits_get(type);
    if (tt == NULL) {
        // the numbers ggml removed are valid to ask about (ggml's programs walk every id and skip
        // blck_size 0); anything outside the enum is a caller's error
        if ((int) type < 0 || (int) type >= GGML_TYPE_COUNT) {
            GGML_LOG_ERROR("ggml_get_type_traits: unknown type %d\n", (int) type);
        }
        return &none;
    }
    return tt;
}

// One read of the type's row: this runs for every tensor a graph walk sizes.
size_t ggalloc_extent(enum ggml_type type, const int64_t * ne, const size_t * nb) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    if (tt == NULL || tt->blck_size <= 0) {
        return 0;
    }
    const size_t blck = (size_t) tt->blck_size;
    bool empty = false;
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        empty |= ne[i] <= 0;
    }
    if (empty) {
        return 0;
    }
    // a block type's rows hold ne[0] / blck blocks of nb[0] bytes; any other's last element
    // ends one element past its offset
    size_t total;
    if (blck == 1) {
        if (__builtin_mul_overflow((size_t) (ne[0] - 1), nb[0], &total) ||
            __builtin_add_overflow(total, tt->type_size, &total)) {
            return SIZE_MAX;
        }
    } else {
        if (__builtin_mul_overflow((size_t) ne[0], nb[0], &total)) {
            return SIZE_MAX;
        }
        total /= blck;
    }
    for (int i = 1; i < GGML_MAX_DIMS; i++) {
        size_t step;
        if (__builtin_mul_overflow((size_t) (ne[i] - 1), nb[i], &step) ||
            __builtin_add_overflow(total, step, &total)) {
            return SIZE_MAX;
        }
    }
    return total;
}

int64_t ggml_blck_size(enum ggml_type type) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    return tt ? tt->blck_size : 0;
}

size_t ggml_type_size(enum ggml_type type) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    return tt ? tt->type_size : 0;
}

double ggml_type_sizef(enum ggml_type type) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    return tt ? (double) tt->type_size / (double) tt->blck_size : 0.0;
}

size_t ggml_row_size(enum ggml_type type, int64_t ne) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    if (tt == NULL || ne < 0 || ne % tt->blck_size != 0) {
        return 0;
    }
    return tt->type_size * (size_t) (ne / tt->blck_size);
}

const char * ggml_type_name(enum ggml_type type) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    return tt ? tt->type_name : NULL;
}

bool ggml_is_quantized(enum ggml_type type) {
    const struct ggml_type_traits * tt = type_traits_get(type);
    return tt ? tt->is_quantized : false;
}

enum ggml_type ggml_ftype_to_ggml_type(enum ggml_ftype ftype) {
    switch (ftype) {
        case GGML_FTYPE_ALL_F32:        return GGML_TYPE_F32;
        case GGML_FTYPE_MOSTLY_F16:     return GGML_TYPE_F16;
        case GGML_FTYPE_MOSTLY_BF16:    return GGML_TYPE_BF16;
        case GGML_FTYPE_MOSTLY_Q4_0:    return GGML_TYPE_Q4_0;
        case GGML_FTYPE_MOSTLY_Q4_1:    return GGML_TYPE_Q4_1;
        case GGML_FTYPE_MOSTLY_Q5_0:    return GGML_TYPE_Q5_0;
        case GGML_FTYPE_MOSTLY_Q5_1:    return GGML_TYPE_Q5_1;
        case GGML_FTYPE_MOSTLY_Q8_0:    return GGML_TYPE_Q8_0;
        case GGML_FTYPE_MOSTLY_Q2_K:    return GGML_TYPE_Q2_K;
        case GGML_FTYPE_MOSTLY_Q3_K:    return GGML_TYPE_Q3_K;
        case GGML_FTYPE_MOSTLY_Q4_K:    return GGML_TYPE_Q4_K;
        case GGML_FTYPE_MOSTLY_Q5_K:    return GGML_TYPE_Q5_K;
        case GGML_FTYPE_MOSTLY_Q6_K:    return GGML_TYPE_Q6_K;
        case GGML_FTYPE_MOSTLY_IQ2_XXS: return GGML_TYPE_IQ2_XXS;
        case GGML_FTYPE_MOSTLY_IQ2_XS:  return GGML_TYPE_IQ2_XS;
        case GGML_FTYPE_MOSTLY_IQ3_XXS: return GGML_TYPE_IQ3_XXS;
        case GGML_FTYPE_MOSTLY_IQ1_S:   return GGML_TYPE_IQ1_S;
        case GGML_FTYPE_MOSTLY_IQ1_M:   return GGML_TYPE_IQ1_M;
        case GGML_FTYPE_MOSTLY_IQ4_NL:  return GGML_TYPE_IQ4_NL;
        case GGML_FTYPE_MOSTLY_IQ4_XS:  return GGML_TYPE_IQ4_XS;
        case GGML_FTYPE_MOSTLY_IQ3_S:   return GGML_TYPE_IQ3_S;
        case GGML_FTYPE_MOSTLY_IQ2_S:   return GGML_TYPE_IQ2_S;
        case GGML_FTYPE_MOSTLY_MXFP4:   return GGML_TYPE_MXFP4;
        case GGML_FTYPE_MOSTLY_NVFP4:   return GGML_TYPE_NVFP4;
        case GGML_FTYPE_MOSTLY_Q1_0:    return GGML_TYPE_Q1_0;
        case GGML_FTYPE_MOSTLY_Q2_0:    return GGML_TYPE_Q2_0;
        default: break;
    }
    GGML_LOG_ERROR("ggml_ftype_to_ggml_type: ftype %d has no single weight type\n", (int) ftype);
    return GGML_TYPE_COUNT;
}

//
// 16-bit floats
//

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static inline float f32_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

float ggml_fp16_to_fp32(ggml_fp16_t h) {
    const uint32_t sign = (uint32_t) (h & 0x8000) << 16;
    const uint32_t exp  = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;

    if (exp == 0x1f) {
        return f32_from_bits(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
        if (mant == 0) {
            return f32_from_bits(sign);
        }
        // subnormal half: normalize into an f32 normal (every half subnormal is an f32 normal)
        int e = -1;
        do {
            mant <<= 1;
            e++;
        } while ((mant & 0x400) == 0);
        mant &= 0x3ff;
        return f32_from_bits(sign | (uint32_t) (112 - e) << 23 | (mant << 13));
    }
    return f32_from_bits(sign | (exp + 112) << 23 | (mant << 13));
}

ggml_fp16_t ggml_fp32_to_fp16(float f) {
    const uint32_t x    = f32_bits(f);
    const uint16_t sign = (uint16_t) ((x >> 16) & 0x8000);
    const uint32_t ax   = x & 0x7fffffff;

    if (ax > 0x7f800000) {
        // NaN: quiet bit set, so a payload living only in the dropped bits cannot become infinity
        return (uint16_t) (sign | 0x7e00 | ((ax >> 13) & 0x3ff));
    }
    if (ax >= 0x477ff000) {
        return (uint16_t) (sign | 0x7c00); // >= 65520 rounds to infinity (and infinity stays)
    }
    if (ax < 0x38800000) {
        // result is a subnormal half (or zero, or rounds up to the smallest normal)
        if (ax < 0x33000000) {
            return sign; // below 2^-25: rounds to zero
        }
        const uint32_t e     = ax >> 23;
        const uint32_t m     = (ax & 0x7fffff) | 0x800000;
        const uint32_t shift = 126 - e; // 14..24
        uint32_t r = m >> shift;
        const uint32_t rem  = m & ((1u << shift) - 1);
        const uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) {
            r++;
        }
        return (uint16_t) (sign | r);
    }
    uint32_t r = ((ax >> 23) - 112) << 10 | ((ax >> 13) & 0x3ff);
    const uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) {
        r++;
    }
    return (uint16_t) (sign | r);
}

void ggml_fp16_to_fp32_row(const ggml_fp16_t * x, float * y, int64_t n) {
    if (x == NULL || y == NULL) {
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        y[i] = ggml_fp16_to_fp32(x[i]);
    }
}

void ggml_fp32_to_fp16_row(const float * x, ggml_fp16_t * y, int64_t n) {
    if (x == NULL || y == NULL) {
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        y[i] = ggml_fp32_to_fp16(x[i]);
    }
}

float ggml_bf16_to_fp32(ggml_bf16_t x) {
    return f32_from_bits((uint32_t) x.bits << 16);
}

ggml_bf16_t ggml_fp32_to_bf16(float f) {
    const uint32_t u = f32_bits(f);
    ggml_bf16_t h;
    if ((u & 0x7fffffff) > 0x7f800000) {
        h.bits = (uint16_t) ((u >> 16) | 64); // NaN: force quiet
        return h;
    }
    h.bits = (uint16_t) ((u + (0x7fff + ((u >> 16) & 1))) >> 16);
    return h;
}

void ggml_bf16_to_fp32_row(const ggml_bf16_t * x, float * y, int64_t n) {
    if (x == NULL || y == NULL) {
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        y[i] = ggml_bf16_to_fp32(x[i]);
    }
}

void ggml_fp32_to_bf16_row_ref(const float * x, ggml_bf16_t * y, int64_t n) {
    if (x == NULL || y == NULL) {
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        y[i] = ggml_fp32_to_bf16(x[i]);
    }
}

void ggml_fp32_to_bf16_row(const float * x, ggml_bf16_t * y, int64_t n) {
    ggml_fp32_to_bf16_row_ref(x, y, n);
}
