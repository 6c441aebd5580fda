#pragma once

// The CPU kernels that exist once per instruction set: a table of function pointers, one table
// per ISA (portable C in kernels.c, AVX2+FMA+F16C in kernels-avx2.c, AVX-512 in
// kernels-avx512.c, Advanced SIMD on arm64 in kernels-neon.c). ops.c calls through the table
// chosen at run time (isa.c), so the rest of the library is built for baseline x86-64 and runs
// on any CPU. Internal to the CPU backend.

#include <stdbool.h>
#include <stdint.h>

#include "ggalloc-cpu.h"
#include "ggml.h"

#define CPU_GEMM_MR_MAX 32
#define CPU_GEMM_NR_MAX 16

struct cpu_kernels {
    enum ggalloc_cpu_isa isa;
    const char *         name;

    // The matrix-multiply micro-kernel works on a tile of mr x nr outputs:
    //   c[j*ldc + i] (+)= sum_k a[k*mr + i] * b[k*nr + j]    for i < mr, j < nr
    // a is a packed panel of mr rows of the weights (k-major), b a packed panel of nr rows of the
    // activations (k-major). accumulate = false overwrites c.
    int  gemm_mr;
    int  gemm_nr;
    void (*gemm_tile)(int64_t kc, const float * a, const float * b, float * c, int64_t ldc, bool accumulate);

    // Packs rows [0, mr) of a weight matrix (row r at x + r*row_stride elements, k contiguous),
    // columns [k0, k0 + kc), into a k-major panel of mr floats per k. Rows >= nrows are zero.
    void (*pack_a_f32) (const float       * x, int64_t row_stride, int nrows, int64_t kc, float * panel);
    void (*pack_a_f16) (const ggml_fp16_t * x, int64_t row_stride, int nrows, int64_t kc, float * panel);
    void (*pack_a_bf16)(const ggml_bf16_t * x, int64_t row_stride, int nrows, int64_t kc, float * panel);

    void  (*f16_to_f32) (const ggml_fp16_t * x, float * y, int64_t n);
    void  (*f32_to_f16) (const float * x, ggml_fp16_t * y, int64_t n);
    void  (*bf16_to_f32)(const ggml_bf16_t * x, float * y, int64_t n);

    // Dot products for matrix-vector work (few activation rows).
    float (*dot_f32)     (int64_t n, const float * x, const float * y);
    float (*dot_f16_f32) (int64_t n, const ggml_fp16_t * x, const float * y);
    float (*dot_bf16_f32)(int64_t n, const ggml_bf16_t * x, const float * y);

    // Element-wise rows (z may alias x or y).
    void (*add_f32)(int64_t n, float * z, const float * x, const float * y);
    void (*sub_f32)(int64_t n, float * z, const float * x, const float * y);
    void (*mul_f32)(int64_t n, float * z, const float * x, const float * y);
    void (*div_f32)(int64_t n, float * z, const float * x, const float * y);
    void (*scale_f32)(int64_t n, float * y, const float * x, float s);

    float  (*max_f32)(int64_t n, const float * x);
    // y = exp(x - max); returns the sum of y
    double (*exp_sum_f32)(int64_t n, float * y, const float * x, float max);
    // sum of x and sum of x*x, in double
    void   (*sums_f32)(int64_t n, const float * x, double * sum, double * sum_sq);

    void (*silu_f32)(int64_t n, float * y, const float * x);
    void (*gelu_f32)(int64_t n, float * y, const float * x);

    // Flash attention (flash-attn.c).
    // One row of scores x[0, n) becomes its softmax numerators: x' = x + slope * mask[i], or -inf
    // where mask[i] is -inf (mask may be NULL: x' = x); with M the largest of *max (on entry: a
    // sink's score or -inf) and every x', x[i] = exp(x' - M), exactly 0 where x' is -inf. *max
    // is set to M; returns the sum of the exps (0, every x 0, when M is -inf).
    double (*attn_softmax_f32)(int64_t n, float * x, const float * mask, float slope, float * max);
    // Packs rows [0, nr) of x (row r at x + r*row_stride), columns [0, kc), into a k-major panel
    // of nr floats per k (the micro-kernel's b operand); rows >= nrows are zero.
    void   (*pack_b_f32)(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel);
};

extern const struct cpu_kernels cpu_kernels_scalar;
#if defined(__x86_64__)
extern const struct cpu_kernels cpu_kernels_avx2;
extern const struct cpu_kernels cpu_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const struct cpu_kernels cpu_kernels_neon;
#endif

// The table in use (isa.c); never NULL.
const struct cpu_kernels * cpu_kernels_get(void);

// Whether the CPU has VNNI for the AVX-512 (avx512) or the AVX2 (AVX-VNNI) kernels, with the OS
// saving their registers (isa.c); false off x86-64.
bool cpu_has_vnni(bool avx512);

// Fills the portable table's lookup tables; called once by ggml_cpu_init before any kernel runs.
void cpu_kernels_init(void);

// Scalar definitions shared by the tables (kernels.c).
float cpu_gelu_scalar(float x);
float cpu_silu_scalar(float x);
// The portable attention kernels, for tables without their own.
double cpu_attn_softmax_scalar(int64_t n, float * x, const float * mask, float slope, float * max);
void   cpu_pack_b_f32_scalar(const float * x, int64_t row_stride, int nrows, int64_t kc, float * panel, int nr);
