//
// kernels.c — the portable kernel table: plain C that any compiler and CPU can run. It is the
// reference the SIMD tables are tested against (besides the tests' own scalar references), and
// the path taken on a CPU without AVX2.
//
// Reductions accumulate in double so that long rows (softmax over thousands of keys, norms over
// wide embeddings) lose no precision; the SIMD tables use several f32 partial sums, which give
// the same accuracy at row lengths seen in practice.
//

#include <math.h>
#include <string.h>

#include "kernels.h"

#define SCALAR_MR 16
#define SCALAR_NR 4

// f16 -> f32 by table lookup (256 KiB, filled once by cpu_kernels_init): the bit manipulation
// of a portable conversion costs more than the multiply-add it feeds.
static float f16_table[1 << 16];

void cpu_kernels_init(void) {
    for (uint32_t i = 0; i < (1u << 16); i++) {
        f16_table[i] = ggml_fp16_to_fp32((ggml_fp16_t) i);
    }
}

static inline float f16_to_f32(ggml_fp16_t x) {
    return f16_table[x];
}

static void scalar_gemm_tile(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, bool accumulate) {
    float acc[SCALAR_NR][SCALAR_MR];
    memset(acc, 0, sizeof(acc));
    for (int64_t k = 0; k < kc; k++) {
        const float * ak = a + k * SCALAR_MR;
        const float * bk = b + k * SCALAR_NR;
        for (int j = 0; j < SCALAR_NR; j++) {
            const float bj = bk[j];
            for (int i = 0; i < SCALAR_MR; i++) {
                acc[j][i] += ak[i] * bj;
            }
        }
    }
    for (int j = 0; j < SCALAR_NR; j++) {
        float * cj = c + j * ldc;
        if (accumulate) {
            for (int i = 0; i < SCALAR_MR; i++) {
                cj[i] += acc[j][i];
            }
        } else {
            for (int i = 0; i < SCALAR_MR; i++) {
                cj[i] = acc[j][i];
            }
        }
    }
}

static void scalar_pack_a_f32(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    for (int r = 0; r < SCALAR_MR; r++) {
        if (r < nrows) {
            const float * xr = x + r * row_stride;
            for (int64_t k = 0; k < kc; k++) {
                panel[k * SCALAR_MR + r] = xr[k];
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                panel[k * SCALAR_MR + r] = 0.0f;
            }
        }
    }
}

static void scalar_pack_a_f16(const ggml_fp16_t * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    for (int r = 0; r < SCALAR_MR; r++) {
        const ggml_fp16_t * xr = x + r * row_stride;
        for (int64_t k = 0; k < kc; k++) {
            panel[k * SCALAR_MR + r] = r < nrows ? f16_to_f32(xr[k]) : 0.0f;
        }
    }
}

static void scalar_pack_a_bf16(const ggml_bf16_t * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    for (int r = 0; r < SCALAR_MR; r++) {
        const ggml_bf16_t * xr = x + r * row_stride;
        for (int64_t k = 0; k < kc; k++) {
            panel[k * SCALAR_MR + r] = r < nrows ? ggml_bf16_to_fp32(xr[k]) : 0.0f;
        }
    }
}

static void scalar_f16_to_f32(const ggml_fp16_t * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = f16_to_f32(x[i]);
    }
}

static void scalar_f32_to_f16(const float * x, ggml_fp16_t * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = ggml_fp32_to_fp16(x[i]);
    }
}

static void scalar_bf16_to_f32(const ggml_bf16_t * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = ggml_bf16_to_fp32(x[i]);
    }
}

static float scalar_dot_f32(int64_t n, const float * x, const float * y) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += (double) x[i] * y[i];
    }
    return (float) s;
}

static float scalar_dot_f16_f32(int64_t n, const ggml_fp16_t * x, const float * y) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += (double) f16_to_f32(x[i]) * y[i];
    }
    return (float) s;
}

static float scalar_dot_bf16_f32(int64_t n, const ggml_bf16_t * x, const float * y) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += (double) ggml_bf16_to_fp32(x[i]) * y[i];
    }
    return (float) s;
}

static void scalar_add_f32(int64_t n, float * z, const float * x, const float * y) { for (int64_t i = 0; i < n; i++) z[i] = x[i] + y[i]; }
static void scalar_sub_f32(int64_t n, float * z, const float * x, const float * y) { for (int64_t i = 0; i < n; i++) z[i] = x[i] - y[i]; }
static void scalar_mul_f32(int64_t n, float * z, const float * x, const float * y) { for (int64_t i = 0; i < n; i++) z[i] = x[i] * y[i]; }
static void scalar_div_f32(int64_t n, float * z, const float * x, const float * y) { for (int64_t i = 0; i < n; i++) z[i] = x[i] / y[i]; }

static void scalar_scale_f32(int64_t n, float * y, const float * x, float s) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = x[i] * s;
    }
}

static float scalar_max_f32(int64_t n, const float * x) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        m = x[i] > m ? x[i] : m;
    }
    return m;
}

static double scalar_exp_sum_f32(int64_t n, float * y, const float * x, float max) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i] - max);
        y[i] = e;
        s += e;
    }
    return s;
}

static void scalar_sums_f32(int64_t n, const float * x, double * sum, double * sum_sq) {
    double s = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s  += x[i];
        s2 += (double) x[i] * x[i];
    }
    *sum = s;
    *sum_sq = s2;
}

float cpu_gelu_scalar(float x) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + 0.044715f * x * x)));
}

float cpu_silu_scalar(float x) {
    return x / (1.0f + expf(-x));
}

static void scalar_silu_f32(int64_t n, float * y, const float * x) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = cpu_silu_scalar(x[i]);
    }
}

static void scalar_gelu_f32(int64_t n, float * y, const float * x) {
    for (int64_t i = 0; i < n; i++) {
        y[i] = cpu_gelu_scalar(x[i]);
    }
}

double cpu_attn_softmax_scalar(int64_t n, float * x, const float * mask, float slope, float * max) {
    float m = *max;
    for (int64_t i = 0; i < n; i++) {
        if (mask != NULL) {
            // an explicit select: slope * -inf would be NaN for a slope that underflowed to 0
            x[i] = mask[i] == -INFINITY ? -INFINITY : x[i] + slope * mask[i];
        }
        m = x[i] > m ? x[i] : m;
    }
    *max = m;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float e = m == -INFINITY || x[i] == -INFINITY ? 0.0f : expf(x[i] - m);
        x[i] = e;
        s += e;
    }
    return s;
}

void cpu_pack_b_f32_scalar(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel, int nr) {
    for (int j = 0; j < nr; j++) {
        const float * r = x + j * row_stride;
        for (int64_t k = 0; k < kc; k++) {
            panel[k * nr + j] = j < nrows ? r[k] : 0.0f;
        }
    }
}

static void scalar_pack_b_f32(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel) {
    cpu_pack_b_f32_scalar(x, row_stride, nrows, kc, panel, SCALAR_NR);
}

const struct cpu_kernels cpu_kernels_scalar = {
    .isa          = GGALLOC_CPU_ISA_SCALAR,
    .name         = "scalar",
    .gemm_mr      = SCALAR_MR,
    .gemm_nr      = SCALAR_NR,
    .gemm_tile    = scalar_gemm_tile,
    .pack_a_f32   = scalar_pack_a_f32,
    .pack_a_f16   = scalar_pack_a_f16,
    .pack_a_bf16  = scalar_pack_a_bf16,
    .f16_to_f32   = scalar_f16_to_f32,
    .f32_to_f16   = scalar_f32_to_f16,
    .bf16_to_f32  = scalar_bf16_to_f32,
    .dot_f32      = scalar_dot_f32,
    .dot_f16_f32  = scalar_dot_f16_f32,
    .dot_bf16_f32 = scalar_dot_bf16_f32,
    .add_f32      = scalar_add_f32,
    .sub_f32      = scalar_sub_f32,
    .mul_f32      = scalar_mul_f32,
    .div_f32      = scalar_div_f32,
    .scale_f32    = scalar_scale_f32,
    .max_f32      = scalar_max_f32,
    .exp_sum_f32  = scalar_exp_sum_f32,
    .sums_f32     = scalar_sums_f32,
    .silu_f32     = scalar_silu_f32,
    .gelu_f32     = scalar_gelu_f32,
    .attn_softmax_f32 = cpu_attn_softmax_scalar,
    .pack_b_f32   = scalar_pack_b_f32,
};
