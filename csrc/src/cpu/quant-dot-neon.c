//
// quant-dot-neon.c — dot products of quantized rows with Advanced SIMD on arm64 (base ARMv8:
// no dot-product extension needed). Signed bytes are multiplied into 16 bits (vmull_s8) and
// pairwise added into 32-bit lanes (vpadalq_s16); each block's integer sum is scaled once in
// float. Types without a kernel here use the portable ones (quant-dot.c).
//

#include "quant-dot.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include "quants.h"

#define F32(h) ggml_fp16_to_fp32(h)

// sum of the products of 32 signed bytes
static inline int32_t dot32_i8(int8x16_t x0, int8x16_t x1, const int8_t * y) {
    const int8x16_t y0 = vld1q_s8(y), y1 = vld1q_s8(y + 16);
    int32x4_t acc = vdupq_n_s32(0);
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x0), vget_low_s8(y0)));
    acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(x0), vget_high_s8(y0)));
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(x1), vget_low_s8(y1)));
    acc = vpadalq_s16(acc, vmull_s8(vget_high_s8(x1), vget_high_s8(y1)));
    return vaddvq_s32(acc);
}

static void dot_q8_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q8_0 * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        const int32_t sumi = dot32_i8(vld1q_s8(x[i].qs), vld1q_s8(x[i].qs + 16), y[i].qs);
        sum += (float) sumi * (F32(x[i].d) * F32(y[i].d));
    }
    *s = sum;
}

static void dot_q4_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q4_0 * x = vx;
    const block_q8_0 * y = vy;
    const uint8x16_t m4 = vdupq_n_u8(15);
    const int8x16_t eight = vdupq_n_s8(8);
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        const uint8x16_t b = vld1q_u8(x[i].qs);
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, m4)), eight);
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), eight);
        const int32_t sumi = dot32_i8(lo, hi, y[i].qs);
        sum += (float) sumi * (F32(x[i].d) * F32(y[i].d));
    }
    *s = sum;
}

const struct cpu_qdot_table cpu_qdot_neon = { .dot = {
    [GGML_TYPE_Q4_0] = dot_q4_0_q8_0,
    [GGML_TYPE_Q8_0] = dot_q8_0_q8_0,
} };

#endif
