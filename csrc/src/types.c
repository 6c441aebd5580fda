// types.c — the type table and the 16-bit float conversions.
//
// Every type of ggml's enum that exists in ggml.h has an entry (name, block size, bytes per
// block), including the quantized ones: they cannot be computed here, but a graph that mentions
// them (a q8_0 weight, say) must load and plan with ggml's exact sizes.
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

#include <string.h>

struct type_traits {
    const char * name;
    int64_t      blck_size;
    size_t       type_size;
    bool         is_quantized;
};

#define QK_K 256

// Block layouts as ggml defines them: scales are f16 (2 bytes) unless noted.
static const struct type_traits type_table[GGML_TYPE_COUNT] = {
    [GGML_TYPE_F32]  = { "f32",  1, 4, false },
    [GGML_TYPE_F16]  = { "f16",  1, 2, false },
    [GGML_TYPE_Q4_0] = { "q4_0", 32, 2 + 16,         true }, // d, 32 nibbles
    [GGML_TYPE_Q4_1] = { "q4_1", 32, 2 + 2 + 16,     true }, // d, m, 32 nibbles
    [GGML_TYPE_Q5_0] = { "q5_0", 32, 2 + 4 + 16,     true }, // d, high bits, 32 nibbles
    [GGML_TYPE_Q5_1] = { "q5_1", 32, 2 + 2 + 4 + 16, true }, // d, m, high bits, 32 nibbles
    [GGML_TYPE_Q8_0] = { "q8_0", 32, 2 + 32,         true }, // d, 32 bytes
    [GGML_TYPE_Q8_1] = { "q8_1", 32, 2 + 2 + 32,     true }, // d, s, 32 bytes
    [GGML_TYPE_Q2_K] = { "q2_K", QK_K, QK_K/16 + QK_K/4 + 2 + 2,           true },
    [GGML_TYPE_Q3_K] = { "q3_K", QK_K, QK_K/8 + QK_K/4 + 12 + 2,           true },
    [GGML_TYPE_Q4_K] = { "q4_K", QK_K, 2 + 2 + 12 + QK_K/2,                true },
    [GGML_TYPE_Q5_K] = { "q5_K", QK_K, 2 + 2 + 12 + QK_K/8 + QK_K/2,       true },
    [GGML_TYPE_Q6_K] = { "q6_K", QK_K, QK_K/2 + QK_K/4 + QK_K/16 + 2,      true },
    [GGML_TYPE_Q8_K] = { "q8_K", QK_K, 4 + QK_K + QK_K/16 * 2,             true }, // f32 d, bytes, i16 sums
    [GGML_TYPE_I8]   = { "i8",   1, 1, false },
    [GGML_TYPE_I16]  = { "i16",  1, 2, false },
    [GGML_TYPE_I32]  = { "i32",  1, 4, false },
    [GGML_TYPE_I64]  = { "i64",  1, 8, false },
    [GGML_TYPE_F64]  = { "f64",  1, 8, false },
    [GGML_TYPE_BF16] = { "bf16", 1, 2, false },
};

static const struct type_traits * type_traits_get(enum ggml_type type) {
    if ((int) type < 0 || (int) type >= GGML_TYPE_COUNT || type_table[type].name == NULL) {
        return NULL;
    }
    return &type_table[type];
}

int64_t ggml_blck_size(enum ggml_type type) {
    const struct type_traits * tt = type_traits_get(type);
    return tt ? tt->blck_size : 0;
}

size_t ggml_type_size(enum ggml_type type) {
    const struct type_traits * tt = type_traits_get(type);
    return tt ? tt->type_size : 0;
}

size_t ggml_row_size(enum ggml_type type, int64_t ne) {
    const struct type_traits * tt = type_traits_get(type);
    if (tt == NULL || ne < 0 || ne % tt->blck_size != 0) {
        return 0;
    }
    return tt->type_size * (size_t) (ne / tt->blck_size);
}

const char * ggml_type_name(enum ggml_type type) {
    const struct type_traits * tt = type_traits_get(type);
    return tt ? tt->name : NULL;
}

bool ggml_is_quantized(enum ggml_type type) {
    const struct type_traits * tt = type_traits_get(type);
    return tt ? tt->is_quantized : false;
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
