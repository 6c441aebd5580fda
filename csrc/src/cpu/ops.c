//
// ops.c — the CPU backend's operations: which nodes have a kernel, how much scratch memory each
// needs, and the compute of every op except mul_mat (mul-mat.c).
//
// Every kernel works through strides (nb), so views, permutes and transposes need no copy; the
// element-wise ops take a fast path when rows are contiguous f32, calling the SIMD row kernels of
// the ISA table (kernels.h). Other types are converted to f32 a block at a time into per-thread
// scratch, computed in f32, and converted back, so one kernel serves every type pair.
//
// Work is split between threads by rows; element-wise ops split into (row, block of 4096
// columns) pieces instead, so a single long row (a flat 64 Mi-element add) is shared too. Each
// thread takes one contiguous range of pieces, which keeps its memory accesses sequential.
//
// In-place nodes (dst aliasing src0 with the same layout) are correct because every element is
// read before it is written at the same address, and row kernels that need a whole row first
// (softmax, norms, rope) stage it in scratch.
//
// Reductions accumulate in double (sum, mean, norms, softmax denominators), so long rows keep
// full f32 accuracy.
//

#include "ops.h"
#include "quant-dot.h"
#include "ops-impl.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels.h"
#include "log.h"
#include "threadpool.h"

// columns per piece of element-wise work
#define CPU_BLOCK 4096
// floats of per-thread scratch beyond what a row needs (alignment slack)
#define CPU_SLACK 64

//
// Helpers
//

void cpu_op_barrier(const struct cpu_compute_params * params) {
    if (params->nth > 1 && params->pool != NULL) {
        cpu_threadpool_barrier(params->pool);
    }
}

static size_t cpu_scratch_floats_per_thread(const struct ggml_tensor * node);

// This thread's scratch, of cpu_scratch_floats_per_thread(node) floats.
static float * cpu_scratch(const struct cpu_compute_params * params, const struct ggml_tensor * node) {
    size_t per = cpu_scratch_floats_per_thread(node);
    return (float *) params->wdata + (size_t) params->ith * per;
}

//
// Element-wise ops: binary (add, sub, mul, div, add1), unary, scale, copies
//

enum cpu_binop { CPU_ADD, CPU_SUB, CPU_MUL, CPU_DIV };

static void cpu_binary_row(const struct cpu_kernels * K, enum cpu_binop op, int64_t n, float * z, const float * x, const float * y) {
    switch (op) {
        case CPU_ADD: K->add_f32(n, z, x, y); break;
        case CPU_SUB: K->sub_f32(n, z, x, y); break;
        case CPU_MUL: K->mul_f32(n, z, x, y); break;
        case CPU_DIV: K->div_f32(n, z, x, y); break;
    }
}

static void cpu_compute_binary(const struct cpu_compute_params * params, struct ggml_tensor * dst, enum cpu_binop op) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const bool add1 = dst->op == GGML_OP_ADD1;
    float * tmp = cpu_scratch(params, dst);
    float * ta = tmp, * tb = tmp + CPU_BLOCK, * tz = tmp + 2 * CPU_BLOCK;

    const int64_t ne0 = dst->ne[0];
    const int64_t nblk = (ne0 + CPU_BLOCK - 1) / CPU_BLOCK;
    int64_t u0, u1;
    cpu_split(params, ggml_nrows(dst) * nblk, &u0, &u1);
    const float scalar = add1 ? cpu_get_f32(b->type, b->data) : 0.0f;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t ir = u / nblk, c0 = (u % nblk) * CPU_BLOCK;
        const int64_t n = ne0 - c0 < CPU_BLOCK ? ne0 - c0 : CPU_BLOCK;
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, c0, i1, i2, i3), a->nb[0], n, ta);
        const float * y;
        if (add1) {
            for (int64_t i = 0; i < n; i++) {
                tb[i] = scalar;
            }
            y = tb;
        } else {
            const int64_t ne10 = b->ne[0];
            const int64_t j1 = i1 % b->ne[1], j2 = i2 % b->ne[2], j3 = i3 % b->ne[3];
            if (ne10 == ne0) {
                y = cpu_load_f32(K, b->type, cpu_ptr(b, c0, j1, j2, j3), b->nb[0], n, tb);
            } else {
                // b's row repeats along the row of a
                for (int64_t i = 0; i < n; i++) {
                    tb[i] = cpu_get_f32(b->type, cpu_ptr(b, (c0 + i) % ne10, j1, j2, j3));
                }
                y = tb;
            }
        }
        char * zp = cpu_ptr(dst, c0, i1, i2, i3);
        float * z = cpu_out_f32(dst->type, zp, dst->nb[0], tz);
        cpu_binary_row(K, op, n, z, x, y);
        if (z == tz) {
            cpu_store_f32(K, dst->type, zp, dst->nb[0], n, z);
        }
    }
}

// n elements of ts bytes from a stride to another (a transpose gathers here)
static void cpu_copy_strided(char * z, size_t zs, const char * x, size_t xs, int64_t n, size_t ts) {
    switch (ts) {
        case 4:
            for (int64_t i = 0; i < n; i++) {
                *(uint32_t *) (z + i * zs) = *(const uint32_t *) (x + i * xs);
            }
            break;
        case 2:
            for (int64_t i = 0; i < n; i++) {
                *(uint16_t *) (z + i * zs) = *(const uint16_t *) (x + i * xs);
            }
            break;
        default:
            for (int64_t i = 0; i < n; i++) {
                memcpy(z + i * zs, x + i * xs, ts);
            }
            break;
    }
}

static float cpu_unary_scalar(enum ggml_unary_op op, float x) {
    switch (op) {
        case GGML_UNARY_OP_ABS:         return fabsf(x);
        case GGML_UNARY_OP_SGN:         return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
        case GGML_UNARY_OP_NEG:         return -x;
        case GGML_UNARY_OP_STEP:        return x > 0.0f ? 1.0f : 0.0f;
        case GGML_UNARY_OP_TANH:        return tanhf(x);
        case GGML_UNARY_OP_ELU:         return x > 0.0f ? x : expm1f(x);
        case GGML_UNARY_OP_RELU:        return x > 0.0f ? x : 0.0f;
        case GGML_UNARY_OP_SIGMOID:     return 1.0f / (1.0f + expf(-x));
        case GGML_UNARY_OP_GELU:        return cpu_gelu_scalar(x);
        case GGML_UNARY_OP_GELU_QUICK:  return x * (1.0f / (1.0f + expf(-1.702f * x)));
        case GGML_UNARY_OP_SILU:        return cpu_silu_scalar(x);
        case GGML_UNARY_OP_HARDSWISH:   return x * fminf(1.0f, fmaxf(0.0f, (x + 3.0f) / 6.0f));
        case GGML_UNARY_OP_HARDSIGMOID: return fminf(1.0f, fmaxf(0.0f, (x + 3.0f) / 6.0f));
        case GGML_UNARY_OP_EXP:         return expf(x);
        case GGML_UNARY_OP_GELU_ERF:    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752440f));
        case GGML_UNARY_OP_EXPM1:       return expm1f(x);
        case GGML_UNARY_OP_SOFTPLUS:    return x > 20.0f ? x : log1pf(expf(x));
        case GGML_UNARY_OP_FLOOR:       return floorf(x);
        case GGML_UNARY_OP_CEIL:        return ceilf(x);
        case GGML_UNARY_OP_ROUND:       return roundf(x);
        case GGML_UNARY_OP_TRUNC:       return truncf(x);
        default:                        return 0.0f;
    }
}

// Element-wise one-input ops: UNARY, SQR, SQRT, LOG, SCALE, and the copies (DUP, CONT, CPY)
// when source and destination have the same shape.
static void cpu_compute_map(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    float * tmp = cpu_scratch(params, dst);
    float * ta = tmp, * tz = tmp + CPU_BLOCK;
    const enum ggml_op op = dst->op;
    const enum ggml_unary_op uop = op == GGML_OP_UNARY ? ggml_get_unary_op(dst) : GGML_UNARY_OP_COUNT;
    const float s = op == GGML_OP_SCALE ? cpu_param_f32(dst, 0) : 1.0f;
    const float bias = op == GGML_OP_SCALE ? cpu_param_f32(dst, 1) : 0.0f;

    const int64_t ne0 = dst->ne[0];
    const int64_t nblk = (ne0 + CPU_BLOCK - 1) / CPU_BLOCK;
    int64_t u0, u1;
    cpu_split(params, ggml_nrows(dst) * nblk, &u0, &u1);
    for (int64_t u = u0; u < u1; u++) {
        const int64_t ir = u / nblk, c0 = (u % nblk) * CPU_BLOCK;
        const int64_t n = ne0 - c0 < CPU_BLOCK ? ne0 - c0 : CPU_BLOCK;
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const char * ap = cpu_ptr(a, c0, i1, i2, i3);
        char * zp = cpu_ptr(dst, c0, i1, i2, i3);
        const bool is_copy = op == GGML_OP_DUP || op == GGML_OP_CONT || op == GGML_OP_CPY;
        if (is_copy && a->type == dst->type) {
            const size_t ts = ggml_type_size(a->type);
            if (a->nb[0] == ts && dst->nb[0] == ts) {
                if (ap != zp) {
                    memmove(zp, ap, (size_t) n * ts);
                }
            } else {
                cpu_copy_strided(zp, dst->nb[0], ap, a->nb[0], n, ts);
            }
            continue;
        }
        if (is_copy && (cpu_type_is_int(a->type) || cpu_type_is_int(dst->type))) {
            // integers keep every bit through the copy (no detour through f32 for i32 -> i32 is
            // handled above); i32 <-> float converts value by value
            for (int64_t i = 0; i < n; i++) {
                cpu_set_f32(dst->type, zp + i * dst->nb[0], cpu_get_f32(a->type, ap + i * a->nb[0]));
            }
            continue;
        }
        const float * x = cpu_load_f32(K, a->type, ap, a->nb[0], n, ta);
        float * z = cpu_out_f32(dst->type, zp, dst->nb[0], tz);
        switch (op) {
            case GGML_OP_SCALE:
                K->scale_f32(n, z, x, s);
                if (bias != 0.0f) {
                    for (int64_t i = 0; i < n; i++) {
                        z[i] += bias;
                    }
                }
                break;
            case GGML_OP_SQR:  for (int64_t i = 0; i < n; i++) z[i] = x[i] * x[i]; break;
            case GGML_OP_SQRT: for (int64_t i = 0; i < n; i++) z[i] = sqrtf(x[i]); break;
            case GGML_OP_LOG:  for (int64_t i = 0; i < n; i++) z[i] = logf(x[i]); break;
            case GGML_OP_UNARY:
                if (uop == GGML_UNARY_OP_SILU) {
                    K->silu_f32(n, z, x);
                } else if (uop == GGML_UNARY_OP_GELU) {
                    K->gelu_f32(n, z, x);
                } else {
                    for (int64_t i = 0; i < n; i++) {
                        z[i] = cpu_unary_scalar(uop, x[i]);
                    }
                }
                break;
            default: // copies between float types
                if (z != x) {
                    memmove(z, x, (size_t) n * sizeof(float));
                }
                break;
        }
        if (z == tz) {
            cpu_store_f32(K, dst->type, zp, dst->nb[0], n, z);
        }
    }
}

// Copies where either side is quantized, row by row (the rows of both sides hold the same
// elements): f32/f16/bf16 rows are quantized with the type's reference quantizer (ggml's CPU
// from_float), quantized rows are dequantized, and rows of one quantized type are copied as
// blocks.
static void cpu_compute_copy_quant(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const int64_t ne0 = dst->ne[0];
    float * tmp = cpu_scratch(params, dst);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const char * ap = cpu_ptr(a, 0, i1, i2, i3);
        char * zp = cpu_ptr(dst, 0, i1, i2, i3);
        if (a->type == dst->type) {
            if (ap != zp) {
                memmove(zp, ap, ggml_row_size(a->type, ne0));
            }
            continue;
        }
        const float * x;
        if (ggml_is_quantized(a->type)) {
            ggml_get_type_traits(a->type)->to_float(ap, tmp, ne0);
            x = tmp;
        } else {
            x = cpu_load_f32(K, a->type, ap, a->nb[0], ne0, tmp);
        }
        if (ggml_is_quantized(dst->type)) {
            ggml_get_type_traits(dst->type)->from_float_ref(x, zp, ne0);
        } else {
            cpu_store_f32(K, dst->type, zp, dst->nb[0], ne0, x);
        }
    }
}

// Copies whose source and destination have the same number of elements but different shapes:
// elements are matched in row-major order (ggml's semantics for cpy, dup and cont_Nd).
static void cpu_compute_copy_reshape(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int64_t n = ggml_nelements(dst);
    int64_t e0, e1;
    cpu_split(params, n, &e0, &e1);
    if (e0 >= e1) {
        return;
    }
    const size_t ts = ggml_type_size(a->type);
    if (ggml_is_contiguous(a) && ggml_is_contiguous(dst)) {
        const char * ap = (const char *) a->data + e0 * ts;
        char * zp = (char *) dst->data + e0 * ggml_type_size(dst->type);
        if (a->type == dst->type) {
            memmove(zp, ap, (size_t) (e1 - e0) * ts);
        } else {
            const struct cpu_kernels * K = cpu_kernels_get();
            float * tmp = cpu_scratch(params, dst);
            for (int64_t c0 = 0; c0 < e1 - e0; c0 += CPU_BLOCK) {
                const int64_t n = e1 - e0 - c0 < CPU_BLOCK ? e1 - e0 - c0 : CPU_BLOCK;
                if (a->type == GGML_TYPE_I32 || dst->type == GGML_TYPE_I32) {
                    for (int64_t i = 0; i < n; i++) {
                        cpu_set_f32(dst->type, zp + (c0 + i) * dst->nb[0], cpu_get_f32(a->type, ap + (c0 + i) * ts));
                    }
                } else {
                    const float * x = cpu_load_f32(K, a->type, ap + c0 * ts, ts, n, tmp);
                    cpu_store_f32(K, dst->type, zp + c0 * dst->nb[0], dst->nb[0], n, x);
                }
            }
        }
        return;
    }
    // walk both tensors' indices from e0
    int64_t ia[4], iz[4];
    int64_t r = e0;
    for (int d = 0; d < 4; d++) {
        ia[d] = r % a->ne[d];
        r /= a->ne[d];
    }
    r = e0;
    for (int d = 0; d < 4; d++) {
        iz[d] = r % dst->ne[d];
        r /= dst->ne[d];
    }
    for (int64_t e = e0; e < e1; e++) {
        const char * ap = cpu_ptr(a, ia[0], ia[1], ia[2], ia[3]);
        char * zp = cpu_ptr(dst, iz[0], iz[1], iz[2], iz[3]);
        if (a->type == dst->type) {
            memcpy(zp, ap, ts);
        } else {
            cpu_set_f32(dst->type, zp, cpu_get_f32(a->type, ap));
        }
        for (int d = 0; d < 4 && ++ia[d] == a->ne[d]; d++) {
            ia[d] = 0;
        }
        for (int d = 0; d < 4 && ++iz[d] == dst->ne[d]; d++) {
            iz[d] = 0;
        }
    }
}

//
// Reductions
//

static void cpu_compute_sum(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    if (params->ith != 0) {
        return; // one number: not worth a second barrier to combine partial sums
    }
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    float * tmp = cpu_scratch(params, dst);
    double total = 0.0;
    const int64_t nr = ggml_nrows(a);
    for (int64_t ir = 0; ir < nr; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(a, ir, &i1, &i2, &i3);
        for (int64_t c0 = 0; c0 < a->ne[0]; c0 += CPU_BLOCK) {
            int64_t n = a->ne[0] - c0 < CPU_BLOCK ? a->ne[0] - c0 : CPU_BLOCK;
            const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, c0, i1, i2, i3), a->nb[0], n, tmp);
            double s, s2;
            K->sums_f32(n, x, &s, &s2);
            total += s;
        }
    }
    cpu_set_f32(dst->type, dst->data, (float) total);
}

static void cpu_compute_sum_rows(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    float * tmp = cpu_scratch(params, dst);
    const bool mean = dst->op == GGML_OP_MEAN;
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(a), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(a, ir, &i1, &i2, &i3);
        double total = 0.0;
        for (int64_t c0 = 0; c0 < a->ne[0]; c0 += CPU_BLOCK) {
            int64_t n = a->ne[0] - c0 < CPU_BLOCK ? a->ne[0] - c0 : CPU_BLOCK;
            const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, c0, i1, i2, i3), a->nb[0], n, tmp);
            double s, s2;
            K->sums_f32(n, x, &s, &s2);
            total += s;
        }
        if (mean) {
            total /= (double) a->ne[0];
        }
        cpu_set_f32(dst->type, cpu_ptr(dst, 0, i1, i2, i3), (float) total);
    }
}

static void cpu_compute_argmax(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    int64_t r0, r1;
    cpu_split(params, a->ne[1], &r0, &r1);
    for (int64_t i1 = r0; i1 < r1; i1++) {
        float best = -INFINITY;
        int32_t idx = 0;
        for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
            float v = cpu_get_f32(a->type, cpu_ptr(a, i0, i1, 0, 0));
            if (v > best) {
                best = v;
                idx = (int32_t) i0;
            }
        }
        *(int32_t *) cpu_ptr(dst, i1, 0, 0, 0) = idx;
    }
}

//
// Data movement: repeat, concat, get_rows, set_rows, pad
//

static void cpu_compute_repeat(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const size_t ts = ggml_type_size(dst->type);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const int64_t j1 = i1 % a->ne[1], j2 = i2 % a->ne[2], j3 = i3 % a->ne[3];
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            memcpy(cpu_ptr(dst, i0, i1, i2, i3), cpu_ptr(a, i0 % a->ne[0], j1, j2, j3), ts);
        }
    }
}

static void cpu_compute_concat(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const int dim = dst->op_params[0];
    const size_t ts = ggml_type_size(dst->type);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i[4];
        cpu_unravel(dst, ir, &i[1], &i[2], &i[3]);
        for (i[0] = 0; i[0] < dst->ne[0]; i[0]++) {
            const char * src;
            if (i[dim] < a->ne[dim]) {
                src = cpu_ptr(a, i[0], i[1], i[2], i[3]);
            } else {
                int64_t j[4] = { i[0], i[1], i[2], i[3] };
                j[dim] -= a->ne[dim];
                src = cpu_ptr(b, j[0], j[1], j[2], j[3]);
            }
            memcpy(cpu_ptr(dst, i[0], i[1], i[2], i[3]), src, ts);
        }
    }
}

static void cpu_compute_get_rows(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    float * tmp = cpu_scratch(params, dst);
    const int64_t ne0 = a->ne[0];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i10, i11, i12;
        cpu_unravel(dst, ir, &i10, &i11, &i12);
        const int64_t row = cpu_index(b, i10, i11, i12);
        if (row < 0 || row >= a->ne[1]) {
            GGML_LOG_ERROR("cpu: get_rows '%s': index %lld at [%lld, %lld, %lld] of '%s' is outside [0, %lld)\n",
                    dst->name, (long long) row, (long long) i10, (long long) i11, (long long) i12, b->name, (long long) a->ne[1]);
            cpu_fail(params);
            return;
        }
        const char * src = cpu_ptr(a, 0, row, i11, i12);
        char * out = cpu_ptr(dst, 0, i10, i11, i12);
        if (a->type == dst->type && ggml_is_quantized(a->type)) {
            memcpy(out, src, ggml_row_size(a->type, ne0));
        } else if (ggml_is_quantized(a->type)) {
            ggml_get_type_traits(a->type)->to_float(src, tmp, ne0);
            cpu_store_f32(K, dst->type, out, dst->nb[0], ne0, tmp);
        } else if (a->type == dst->type) {
            const size_t ts = ggml_type_size(a->type);
            if (a->nb[0] == ts && dst->nb[0] == ts) {
                memcpy(out, src, (size_t) ne0 * ts);
            } else {
                for (int64_t i = 0; i < ne0; i++) {
                    memcpy(out + i * dst->nb[0], src + i * a->nb[0], ts);
                }
            }
        } else {
            const float * x = cpu_load_f32(K, a->type, src, a->nb[0], ne0, tmp);
            cpu_store_f32(K, dst->type, out, dst->nb[0], ne0, x);
        }
    }
}

static void cpu_compute_set_rows(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * b = dst->src[0];   // rows to write
    const struct ggml_tensor * c = dst->src[1];   // their indices
    float * tmp = cpu_scratch(params, dst);
    const int64_t ne0 = b->ne[0];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(b), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i01, i02, i03;
        cpu_unravel(b, ir, &i01, &i02, &i03);
        const int64_t row = cpu_index(c, i01, i02 % c->ne[1], i03 % c->ne[2]);
        if (row < 0 || row >= dst->ne[1]) {
            GGML_LOG_ERROR("cpu: set_rows '%s': index %lld at [%lld, %lld, %lld] of '%s' is outside [0, %lld)\n",
                    dst->name, (long long) row, (long long) i01, (long long) (i02 % c->ne[1]), (long long) (i03 % c->ne[2]),
                    c->name, (long long) dst->ne[1]);
            cpu_fail(params);
            return;
        }
        const float * x = cpu_load_f32(K, b->type, cpu_ptr(b, 0, i01, i02, i03), b->nb[0], ne0, tmp);
        cpu_store_f32(K, dst->type, cpu_ptr(dst, 0, row, i02, i03), dst->nb[0], ne0, x);
    }
}

static void cpu_compute_pad(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const size_t ts = ggml_type_size(dst->type);
    int64_t lp[4];
    for (int d = 0; d < 4; d++) {
        lp[d] = dst->op_params[2 * d];
    }
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const int64_t j1 = i1 - lp[1], j2 = i2 - lp[2], j3 = i3 - lp[3];
        const bool row_in = j1 >= 0 && j1 < a->ne[1] && j2 >= 0 && j2 < a->ne[2] && j3 >= 0 && j3 < a->ne[3];
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            const int64_t j0 = i0 - lp[0];
            char * out = cpu_ptr(dst, i0, i1, i2, i3);
            if (row_in && j0 >= 0 && j0 < a->ne[0]) {
                memcpy(out, cpu_ptr(a, j0, j1, j2, j3), ts);
            } else {
                memset(out, 0, ts);
            }
        }
    }
}

//
// Row ops: norms, masks, softmax, rope
//

static void cpu_compute_norm(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const float eps = cpu_param_f32(dst, 0);
    const bool rms = dst->op == GGML_OP_RMS_NORM;
    float * tmp = cpu_scratch(params, dst);
    float * row = tmp, * out = tmp + a->ne[0] + CPU_SLACK / 2;
    const int64_t ne0 = a->ne[0];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(a), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(a, ir, &i1, &i2, &i3);
        const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, 0, i1, i2, i3), a->nb[0], ne0, row);
        char * zp = cpu_ptr(dst, 0, i1, i2, i3);
        float * z = cpu_out_f32(dst->type, zp, dst->nb[0], out);
        double sum, sum_sq;
        if (rms) {
            K->sums_f32(ne0, x, &sum, &sum_sq);
            const float scale = (float) (1.0 / sqrt(sum_sq / (double) ne0 + (double) eps));
            K->scale_f32(ne0, z, x, scale);
        } else {
            K->sums_f32(ne0, x, &sum, &sum_sq);
            const float mean = (float) (sum / (double) ne0);
            // second pass over the centred values: no cancellation between E[x^2] and E[x]^2
            double var = 0.0;
            for (int64_t i = 0; i < ne0; i++) {
                float v = x[i] - mean;
                z[i] = v;
                var += (double) v * v;
            }
            const float scale = (float) (1.0 / sqrt(var / (double) ne0 + (double) eps));
            K->scale_f32(ne0, z, z, scale);
        }
        if (z == out) {
            cpu_store_f32(K, dst->type, zp, dst->nb[0], ne0, z);
        }
    }
}

static void cpu_compute_diag_mask(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int n_past = dst->op_params[0];
    const float value = dst->op == GGML_OP_DIAG_MASK_INF ? -INFINITY : 0.0f;
    const size_t ts = ggml_type_size(dst->type);
    const bool inplace = a->data == dst->data && a->nb[0] == dst->nb[0] && a->nb[1] == dst->nb[1] &&
                         a->nb[2] == dst->nb[2] && a->nb[3] == dst->nb[3];
    char fill[4];
    cpu_set_f32(dst->type, fill, value);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        // row i1 keeps columns [0, n_past + i1]; the rest is masked
        int64_t keep = n_past + i1 + 1;
        keep = keep < 0 ? 0 : keep > dst->ne[0] ? dst->ne[0] : keep;
        char * out = cpu_ptr(dst, 0, i1, i2, i3);
        if (!inplace) {
            cpu_copy_strided(out, dst->nb[0], cpu_ptr(a, 0, i1, i2, i3), a->nb[0], keep, ts);
        }
        for (int64_t i0 = keep; i0 < dst->ne[0]; i0++) {
            memcpy(out + i0 * dst->nb[0], fill, ts);
        }
    }
}

static void cpu_compute_soft_max(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * mask = dst->src[1];
    const struct ggml_tensor * sinks = dst->src[2];
    const float scale    = cpu_param_f32(dst, 0);
    const float max_bias = cpu_param_f32(dst, 1);
    const int64_t ne0 = a->ne[0];
    float * tmp = cpu_scratch(params, dst);
    float * wp = tmp, * mp = tmp + ne0 + CPU_SLACK / 2;

    // ALiBi: head h (dim 2) gets slope m0^(h+1) for the first n_head_log2 heads, then odd powers of m1
    const uint32_t n_head = (uint32_t) a->ne[2];
    const uint32_t n_head_log2 = n_head > 0 ? 1u << (uint32_t) floor(log2((double) n_head)) : 1;
    const float m0 = powf(2.0f, -(max_bias)        / (float) n_head_log2);
    const float m1 = powf(2.0f, -(max_bias / 2.0f) / (float) n_head_log2);

    int64_t r0, r1;
    cpu_split(params, ggml_nrows(a), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(a, ir, &i1, &i2, &i3);
        const uint32_t h = (uint32_t) i2;
        const float slope = max_bias > 0.0f ? (h < n_head_log2 ? powf(m0, (float) (h + 1)) : powf(m1, (float) (2 * (h - n_head_log2) + 1))) : 1.0f;
        const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, 0, i1, i2, i3), a->nb[0], ne0, wp);
        K->scale_f32(ne0, wp, x, scale);
        if (mask != NULL) {
            const float * m = cpu_load_f32(K, mask->type, cpu_ptr(mask, 0, i1, i2 % mask->ne[2], i3 % mask->ne[3]),
                    mask->nb[0], ne0, mp);
            for (int64_t i = 0; i < ne0; i++) {
                wp[i] += slope * m[i];
            }
        }
        // a sink is one more logit per head that takes part in the denominator only
        const float sink = sinks != NULL ? *(const float *) cpu_ptr(sinks, i2, 0, 0, 0) : -INFINITY;
        float max = K->max_f32(ne0, wp);
        max = sink > max ? sink : max;
        char * zp = cpu_ptr(dst, 0, i1, i2, i3);
        float * z = cpu_out_f32(dst->type, zp, dst->nb[0], wp);
        if (max == -INFINITY) {
            // every element masked: 0/0, NaN as in ggml (the vector exp would clamp instead)
            for (int64_t i = 0; i < ne0; i++) {
                z[i] = NAN;
            }
        } else {
            double sum = K->exp_sum_f32(ne0, z, wp, max);
            if (sinks != NULL) {
                sum += exp((double) sink - (double) max);
            }
            K->scale_f32(ne0, z, z, (float) (1.0 / sum));
        }
        if (z == wp) {
            cpu_store_f32(K, dst->type, zp, dst->nb[0], ne0, z);
        }
    }
}

static float cpu_rope_yarn_ramp(float low, float high, int i0) {
    const float y = ((float) (i0 / 2) - low) / fmaxf(0.001f, high - low);
    return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

// RoPE rotates pairs of a row by angles theta_i = pos * base^(-2i/n_dims) (with YaRN's blend and
// the optional frequency factors). The modes differ only in which elements form pair i and where
// its position comes from:
//   normal: (2i, 2i+1); NeoX and both multi-section modes: (i, i + n_dims/2);
//   vision: (i, i + n_dims) over the whole row (n_dims == ne0/2).
// In the multi-section modes b holds 4 position streams, and pair i reads the stream of its
// sector i % sum(sections): MROPE lays the sections out one after another, IMROPE interleaves
// them (sector % 3 picks stream 0, 1 or 2 while that section lasts, stream 3 after), and VISION
// restarts each section's frequencies at its first pair. The angle of every stream advances by
// the same factor per pair whichever stream a pair uses, as ggml computes it.
static void cpu_rope_cache(float * cache, int64_t rot_len, const float pos[4], const int32_t * sections, int mode,
                           const struct ggml_tensor * ff, float theta_scale, float freq_scale, float ext_factor,
                           float attn_factor, const float corr[2]) {
    const bool multi = (mode & GGML_ROPE_TYPE_MROPE) != 0;
    const bool imrope = mode == GGML_ROPE_TYPE_IMROPE, vision = mode == GGML_ROPE_TYPE_VISION;
    const int s0 = multi ? sections[0] : 0, s1 = multi ? sections[1] : 0, s2 = multi ? sections[2] : 0;
    const int sect_dims = multi ? s0 + s1 + s2 + sections[3] : 1;
    const int sec_w = s0 + s1, sec_e = sec_w + s2;
    float theta[4] = { pos[0], pos[1], pos[2], pos[3] };
    for (int64_t i0 = 0; i0 < rot_len; i0 += 2) {
        int k = 0;
        if (multi) {
            const int sector = (int) ((i0 / 2) % sect_dims);
            if (vision) {
                if (sector == 0) {
                    theta[0] = pos[0];
                } else if (sector == s0) {
                    theta[1] = pos[1];
                } else if (sector == sec_w) {
                    theta[2] = pos[2];
                } else if (sector == sec_e) {
                    theta[3] = pos[3];
                }
            }
            if (imrope) {
                k = sector % 3 == 1 && sector < 3 * s1 ? 1
                  : sector % 3 == 2 && sector < 3 * s2 ? 2
                  : sector % 3 == 0 && sector < 3 * s0 ? 0 : 3;
            } else {
                k = sector < s0 ? 0 : sector < sec_w ? 1 : sector < sec_e ? 2 : 3;
            }
        }
        const float f = ff ? *(const float *) cpu_ptr(ff, i0 / 2, 0, 0, 0) : 1.0f;
        const float theta_extrap = theta[k] / f;
        const float theta_interp = freq_scale * theta_extrap;
        float th = theta_interp;
        float mscale = attn_factor;
        if (ext_factor != 0.0f) {
            const float ramp_mix = cpu_rope_yarn_ramp(corr[0], corr[1], (int) i0) * ext_factor;
            th = theta_interp * (1.0f - ramp_mix) + theta_extrap * ramp_mix;
            mscale *= 1.0f + 0.1f * logf(1.0f / freq_scale);
        }
        cache[i0]     = cosf(th) * mscale;
        cache[i0 + 1] = sinf(th) * mscale;
        for (int j = 0; j < 4; j++) {
            theta[j] *= theta_scale;
        }
    }
}

static void cpu_compute_rope(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a   = dst->src[0];
    const struct ggml_tensor * pos = dst->src[1];
    const struct ggml_tensor * ff  = dst->src[2];
    const int n_dims     = dst->op_params[1];
    const int mode       = dst->op_params[2];
    const int n_ctx_orig = dst->op_params[4];
    const float freq_base   = cpu_param_f32(dst, 5);
    const float freq_scale  = cpu_param_f32(dst, 6);
    const float ext_factor  = cpu_param_f32(dst, 7);
    const float attn_factor = cpu_param_f32(dst, 8);
    const float beta_fast   = cpu_param_f32(dst, 9);
    const float beta_slow   = cpu_param_f32(dst, 10);
    const int32_t * sections = dst->op_params + 11;
    const int64_t n_offs = dst->op_params[15]; // ggml_rope_set_offset: the window's first channel
    const bool vision = mode == GGML_ROPE_TYPE_VISION;
    const bool halves = (mode & (GGML_ROPE_TYPE_NEOX | GGML_ROPE_TYPE_MROPE)) != 0 && !vision;
    // ggml_rope_multi's b holds 4 streams, whatever the mode; stream 0 is the plain position
    const bool four_streams = pos->ne[0] == 4 * a->ne[2];

    float corr[2];
    ggml_rope_yarn_corr_dims(n_dims, n_ctx_orig, freq_base, beta_fast, beta_slow, corr);
    const float theta_scale = powf(freq_base, -2.0f / (float) n_dims);

    const int64_t ne0 = a->ne[0];
    // elements whose pairs are rotated (counted as cache entries: 2 per pair)
    const int64_t rot_len = vision ? ne0 : (n_dims < ne0 ? n_dims : ne0 - (ne0 & 1));
    float * tmp = cpu_scratch(params, dst);
    float * cache = tmp;                          // cos, sin per pair
    float * row = tmp + ne0 + CPU_SLACK / 4;      // source row
    float * out = row + ne0 + CPU_SLACK / 4;      // result row

    // pieces: (i2, i3) positions; each thread builds the cos/sin cache for a position once and
    // applies it to all ne1 heads
    int64_t p0, p1;
    cpu_split(params, a->ne[2] * a->ne[3], &p0, &p1);
    for (int64_t p = p0; p < p1; p++) {
        const int64_t i2 = p % a->ne[2], i3 = p / a->ne[2];
        float positions[4] = { 0, 0, 0, 0 };
        for (int k = 0; k < (four_streams ? 4 : 1); k++) {
            positions[k] = (float) *(const int32_t *) cpu_ptr(pos, i2 + k * a->ne[2], 0, 0, 0);
        }
        cpu_rope_cache(cache, rot_len, positions, sections, mode, ff, theta_scale, freq_scale, ext_factor, attn_factor,
                       corr);
        const int64_t off = vision ? n_dims : halves ? n_dims / 2 : 1;
        for (int64_t i1 = 0; i1 < a->ne[1]; i1++) {
            const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, 0, i1, i2, i3), a->nb[0], ne0, row);
            if (x != row) {
                memcpy(row, x, (size_t) ne0 * sizeof(float)); // dst may alias a
                x = row;
            }
            if (!vision) {
                memcpy(out, x, (size_t) ne0 * sizeof(float)); // the channels outside the window
            }
            for (int64_t i0 = 0; i0 < rot_len; i0 += 2) {
                const float c = cache[i0], s = cache[i0 + 1];
                const int64_t j0 = n_offs + (halves || vision ? i0 / 2 : i0);
                const int64_t j1 = j0 + off;
                const float v0 = x[j0], v1 = x[j1];
                out[j0] = v0 * c - v1 * s;
                out[j1] = v0 * s + v1 * c;
            }
            cpu_store_f32(K, dst->type, cpu_ptr(dst, 0, i1, i2, i3), dst->nb[0], ne0, out);
        }
    }
}

//
// Convolution helpers: im2col, pool_2d
//

static void cpu_compute_im2col(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * k = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const int s0 = dst->op_params[0], s1 = dst->op_params[1];
    const int p0 = dst->op_params[2], p1 = dst->op_params[3];
    const int d0 = dst->op_params[4], d1 = dst->op_params[5];
    const bool is_2D = dst->op_params[6] != 0;

    const int64_t N  = is_2D ? b->ne[3] : b->ne[2];
    const int64_t IC = is_2D ? b->ne[2] : b->ne[1];
    const int64_t IH = is_2D ? b->ne[1] : 1;
    const int64_t IW = b->ne[0];
    const int64_t KH = is_2D ? k->ne[1] : 1;
    const int64_t KW = k->ne[0];
    const int64_t OH = is_2D ? dst->ne[2] : 1;
    const int64_t OW = dst->ne[1];
    const size_t bn = is_2D ? b->nb[3] : b->nb[2];
    const size_t bc = is_2D ? b->nb[2] : b->nb[1];
    const size_t bh = is_2D ? b->nb[1] : 0;

    // pieces: output rows (n, oh, ow), each of IC*KH*KW values
    int64_t r0, r1;
    cpu_split(params, N * OH * OW, &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        const int64_t iow = r % OW, ioh = (r / OW) % OH, in = r / (OW * OH);
        char * out = is_2D ? cpu_ptr(dst, 0, iow, ioh, in) : cpu_ptr(dst, 0, iow, in, 0);
        for (int64_t ic = 0; ic < IC; ic++) {
            for (int64_t ikh = 0; ikh < KH; ikh++) {
                for (int64_t ikw = 0; ikw < KW; ikw++) {
                    const int64_t iiw = iow * s0 + ikw * d0 - p0;
                    const int64_t iih = ioh * s1 + ikh * d1 - p1;
                    float v = 0.0f;
                    if (iiw >= 0 && iiw < IW && iih >= 0 && iih < IH) {
                        v = cpu_get_f32(b->type, (const char *) b->data + in * bn + ic * bc + iih * bh + iiw * b->nb[0]);
                    }
                    cpu_set_f32(dst->type, out + ((ic * KH + ikh) * KW + ikw) * dst->nb[0], v);
                }
            }
        }
    }
}

static void cpu_compute_pool_2d(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const enum ggml_op_pool op = (enum ggml_op_pool) dst->op_params[0];
    const int k0 = dst->op_params[1], k1 = dst->op_params[2];
    const int s0 = dst->op_params[3], s1 = dst->op_params[4];
    const int p0 = dst->op_params[5], p1 = dst->op_params[6];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t oy, i2, i3;
        cpu_unravel(dst, ir, &oy, &i2, &i3);
        for (int64_t ox = 0; ox < dst->ne[0]; ox++) {
            float acc = op == GGML_OP_POOL_MAX ? -FLT_MAX : 0.0f;
            for (int ky = 0; ky < k1; ky++) {
                const int64_t iy = oy * s1 + ky - p1;
                if (iy < 0 || iy >= a->ne[1]) {
                    continue;
                }
                for (int kx = 0; kx < k0; kx++) {
                    const int64_t ix = ox * s0 + kx - p0;
                    if (ix < 0 || ix >= a->ne[0]) {
                        continue;
                    }
                    const float v = cpu_get_f32(a->type, cpu_ptr(a, ix, iy, i2, i3));
                    if (op == GGML_OP_POOL_MAX) {
                        acc = v > acc ? v : acc;
                    } else {
                        acc += v;
                    }
                }
            }
            if (op == GGML_OP_POOL_AVG) {
                acc /= (float) (k0 * k1); // ggml divides by the whole window, padding included
            }
            cpu_set_f32(dst->type, cpu_ptr(dst, ox, oy, i2, i3), acc);
        }
    }
}

//
// Dispatch
//

static bool cpu_unary_known(const struct ggml_tensor * node) {
    int u = node->op_params[0];
    // XIELU reads its four parameters from op_params; the map kernel has no place for them yet
    return u >= 0 && u < GGML_UNARY_OP_COUNT && u != GGML_UNARY_OP_XIELU;
}

static bool cpu_srcs_plain(const struct ggml_tensor * node, int n) {
    for (int i = 0; i < n; i++) {
        if (node->src[i] == NULL || !cpu_type_is_plain(node->src[i]->type)) {
            return false;
        }
    }
    return true;
}

// Copies with a quantized side: same shape, both quantized sides with whole blocks in each row
// (the element order of a row is the block's, so rows cannot be strided), float sides of any
// stride. A quantized destination needs its type's quantizer (the activation formats Q8_1 and
// Q8_K have one, as in ggml), a quantized source its dequantizer (which they lack); blocks
// copied into their own type need neither.
static bool cpu_quant_copy_ok(const struct ggml_tensor * a, const struct ggml_tensor * node) {
    const struct ggml_tensor * sides[2] = { a, node };
    for (int i = 0; i < 2; i++) {
        const enum ggml_type t = sides[i]->type;
        if (!ggml_is_quantized(t)) {
            if (!cpu_type_is_float(t)) {
                return false;
            }
            continue;
        }
        const struct ggml_type_traits * tt = ggml_get_type_traits(t);
        const bool converts = a->type != node->type && (i == 0 ? tt->to_float == NULL : tt->from_float_ref == NULL);
        if (converts || sides[i]->nb[0] != ggml_type_size(t)) {
            return false;
        }
    }
    return cpu_same_shape(a, node);
}

// Quantized weights in mul_mat: a CPU dot product for the type, and rows stored as blocks.
static bool cpu_mul_mat_quant_ok(const struct ggml_tensor * a, const struct ggml_tensor * b) {
    return cpu_type_is_quant(a->type) && a->nb[0] == ggml_type_size(a->type) && b->type == GGML_TYPE_F32 &&
           a->ne[0] % ggml_blck_size(a->type) == 0;
}

bool cpu_op_supported(const struct ggml_tensor * node) {
    const struct ggml_tensor * a = node->src[0];
    const struct ggml_tensor * b = node->src[1];
    const enum ggml_type t = node->type;
    if (cpu_llm_handles(node)) {
        return cpu_llm_supported(node);
    }
    if (cpu_conv_handles(node)) {
        return cpu_conv_supported(node);
    }
    switch (node->op) {
        case GGML_OP_NONE:
        case GGML_OP_RESHAPE:
        case GGML_OP_VIEW:
        case GGML_OP_PERMUTE:
        case GGML_OP_TRANSPOSE:
            return true;
        case GGML_OP_DUP:
        case GGML_OP_CONT:
        case GGML_OP_CPY:
            if (a != NULL && (ggml_is_quantized(a->type) || ggml_is_quantized(t))) {
                return cpu_quant_copy_ok(a, node);
            }
            // integers copy into their own type (bit for bit) or to and from the float types
            return a != NULL && (cpu_type_is_plain(a->type) || cpu_type_is_int(a->type)) &&
                   (cpu_type_is_plain(t) || cpu_type_is_int(t)) && ggml_nelements(a) == ggml_nelements(node);
        case GGML_OP_ADD:
        case GGML_OP_SUB:
        case GGML_OP_MUL:
        case GGML_OP_DIV:
            return cpu_srcs_plain(node, 2) && cpu_type_is_float(a->type) && cpu_type_is_float(b->type) &&
                   cpu_type_is_float(t) && cpu_same_shape(a, node) && cpu_can_repeat(b, a);
        case GGML_OP_ADD1:
            return cpu_srcs_plain(node, 2) && cpu_type_is_float(a->type) && cpu_type_is_float(t) &&
                   ggml_nelements(b) == 1 && cpu_same_shape(a, node);
        case GGML_OP_SQR:
        case GGML_OP_SQRT:
        case GGML_OP_LOG:
        case GGML_OP_SCALE:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && cpu_type_is_float(t) && cpu_same_shape(a, node);
        case GGML_OP_UNARY:
            return cpu_srcs_plain(node, 1) && cpu_unary_known(node) && cpu_type_is_float(a->type) &&
                   cpu_type_is_float(t) && cpu_same_shape(a, node);
        case GGML_OP_SUM:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && cpu_type_is_float(t) && ggml_nelements(node) == 1;
        case GGML_OP_SUM_ROWS:
        case GGML_OP_MEAN:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && cpu_type_is_float(t) &&
                   node->ne[0] == 1 && node->ne[1] == a->ne[1] && node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3];
        case GGML_OP_ARGMAX:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && t == GGML_TYPE_I32 &&
                   a->ne[2] == 1 && a->ne[3] == 1 && node->ne[0] == a->ne[1];
        case GGML_OP_REPEAT:
            return cpu_srcs_plain(node, 1) && a->type == t && cpu_can_repeat(a, node);
        case GGML_OP_CONCAT: {
            const int dim = node->op_params[0];
            if (!cpu_srcs_plain(node, 2) || a->type != t || b->type != t || dim < 0 || dim >= GGML_MAX_DIMS) {
                return false;
            }
            for (int d = 0; d < GGML_MAX_DIMS; d++) {
                int64_t want = d == dim ? a->ne[d] + b->ne[d] : a->ne[d];
                if (node->ne[d] != want || (d != dim && b->ne[d] != a->ne[d])) {
                    return false;
                }
            }
            return true;
        }
        case GGML_OP_NORM:
        case GGML_OP_RMS_NORM:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && cpu_type_is_float(t) && cpu_same_shape(a, node);
        case GGML_OP_MUL_MAT:
            return a != NULL && b != NULL && (cpu_type_is_float(a->type) || cpu_mul_mat_quant_ok(a, b)) &&
                   cpu_type_is_float(b->type) &&
                   t == GGML_TYPE_F32 && a->ne[0] == b->ne[0] && a->ne[2] > 0 && a->ne[3] > 0 &&
                   b->ne[2] % a->ne[2] == 0 && b->ne[3] % a->ne[3] == 0 &&
                   node->ne[0] == a->ne[1] && node->ne[1] == b->ne[1] && node->ne[2] == b->ne[2] && node->ne[3] == b->ne[3] &&
                   node->nb[0] == sizeof(float) && node->nb[1] % sizeof(float) == 0;
        case GGML_OP_GET_ROWS:
            if (a != NULL && b != NULL && cpu_type_is_quant(a->type)) {
                return b->type == GGML_TYPE_I32 && (t == a->type || cpu_type_is_float(t)) && a->nb[0] == ggml_type_size(a->type) &&
                       (t == a->type ? node->nb[0] == ggml_type_size(t) : true) &&
                       node->ne[0] == a->ne[0] && node->ne[1] == b->ne[0] && node->ne[2] == b->ne[1] && node->ne[3] == b->ne[2] &&
                       a->ne[2] == b->ne[1] && a->ne[3] == b->ne[2];
            }
            return cpu_srcs_plain(node, 2) && b->type == GGML_TYPE_I32 && cpu_type_is_plain(t) &&
                   (a->type == t || (cpu_type_is_float(a->type) && cpu_type_is_float(t))) &&
                   node->ne[0] == a->ne[0] && node->ne[1] == b->ne[0] && node->ne[2] == b->ne[1] && node->ne[3] == b->ne[2] &&
                   a->ne[2] == b->ne[1] && a->ne[3] == b->ne[2];
        case GGML_OP_SET_ROWS: {
            if (a == NULL || b == NULL || !cpu_type_is_float(a->type) || !cpu_type_is_float(t) ||
                (b->type != GGML_TYPE_I32 && b->type != GGML_TYPE_I64)) {
                return false;
            }
            return node->ne[0] == a->ne[0] && a->ne[1] == b->ne[0] && node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3] &&
                   b->ne[1] > 0 && b->ne[2] > 0 && a->ne[2] % b->ne[1] == 0 && a->ne[3] % b->ne[2] == 0;
        }
        case GGML_OP_DIAG_MASK_INF:
        case GGML_OP_DIAG_MASK_ZERO:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && a->type == t && cpu_same_shape(a, node);
        case GGML_OP_SOFT_MAX:
            if (a == NULL || !cpu_type_is_float(a->type) || !cpu_type_is_float(t) || !cpu_same_shape(a, node)) {
                return false;
            }
            if (node->src[2] != NULL && (node->src[2]->type != GGML_TYPE_F32 || node->src[2]->ne[0] < a->ne[2])) {
                return false;
            }
            if (b != NULL && ((b->type != GGML_TYPE_F32 && b->type != GGML_TYPE_F16) || b->ne[0] != a->ne[0] ||
                              b->ne[1] < a->ne[1] || b->ne[2] == 0 || b->ne[3] == 0 || a->ne[2] % b->ne[2] != 0 ||
                              a->ne[3] % b->ne[3] != 0)) {
                return false;
            }
            return true;
        case GGML_OP_ROPE: {
            const int n_dims = node->op_params[1];
            const int mode = node->op_params[2];
            const struct ggml_tensor * ff = node->src[2];
            if (a == NULL || b == NULL || !cpu_type_is_float(a->type) || !cpu_type_is_float(t) || !cpu_same_shape(a, node) ||
                b->type != GGML_TYPE_I32 || b->ne[0] < a->ne[2] || n_dims <= 0 || n_dims % 2 != 0 || n_dims > a->ne[0]) {
                return false;
            }
            const bool vision = mode == GGML_ROPE_TYPE_VISION;
            const int32_t n_offs = node->op_params[15];
            if (n_offs < 0 || n_offs % 2 != 0 || (int64_t) n_offs + n_dims > a->ne[0] || (vision && n_offs != 0)) {
                return false;
            }
            if (mode == GGML_ROPE_TYPE_MROPE || mode == GGML_ROPE_TYPE_IMROPE || vision) {
                // a graph from a file or the wire carries any op_params: the kernel divides by
                // the sections' sum and indexes by them
                const int32_t * sec = node->op_params + 11;
                if (sec[0] < 0 || sec[1] < 0 || sec[2] < 0 || sec[3] < 0 ||
                    (int64_t) sec[0] + sec[1] + sec[2] + sec[3] <= 0 ||
                    (int64_t) sec[0] + sec[1] + sec[2] + sec[3] > a->ne[0] || b->ne[0] < 4 * a->ne[2] ||
                    (vision && (a->ne[0] % 2 != 0 || n_dims != a->ne[0] / 2))) {
                    return false;
                }
            } else if (mode != 0 && mode != GGML_ROPE_TYPE_NEOX) {
                return false;
            }
            return ff == NULL || (ff->type == GGML_TYPE_F32 && ff->ne[0] >= (vision ? n_dims : n_dims / 2));
        }
        case GGML_OP_IM2COL: {
            if (a == NULL || b == NULL || !cpu_type_is_float(b->type) || (t != GGML_TYPE_F32 && t != GGML_TYPE_F16)) {
                return false;
            }
            // the kernel writes IC*KH*KW values per output position for every image of b
            const bool is_2D = node->op_params[6] != 0;
            const int64_t cols = is_2D ? b->ne[2] * a->ne[1] * a->ne[0] : b->ne[1] * a->ne[0];
            return node->ne[0] == cols && (is_2D ? node->ne[3] == b->ne[3] : node->ne[2] == b->ne[2]);
        }
        case GGML_OP_POOL_2D:
            return cpu_srcs_plain(node, 1) && cpu_type_is_float(a->type) && t == GGML_TYPE_F32 &&
                   (node->op_params[0] == GGML_OP_POOL_MAX || node->op_params[0] == GGML_OP_POOL_AVG) &&
                   node->op_params[1] > 0 && node->op_params[2] > 0 &&
                   node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3];
        case GGML_OP_PAD:
            return cpu_srcs_plain(node, 1) && a->type == t;
        default:
            return false;
    }
}

static size_t cpu_scratch_floats_per_thread(const struct ggml_tensor * node) {
    int64_t ne0 = node->ne[0];
    for (int i = 0; i < GGML_MAX_SRC; i++) {
        if (node->src[i] != NULL && node->src[i]->ne[0] > ne0) {
            ne0 = node->src[i]->ne[0];
        }
    }
    if ((node->op == GGML_OP_DUP || node->op == GGML_OP_CONT || node->op == GGML_OP_CPY) &&
        (ggml_is_quantized(node->type) || (node->src[0] != NULL && ggml_is_quantized(node->src[0]->type)))) {
        return (size_t) ne0 + CPU_SLACK; // one dequantized or gathered row
    }
    switch (node->op) {
        case GGML_OP_ADD: case GGML_OP_SUB: case GGML_OP_MUL: case GGML_OP_DIV: case GGML_OP_ADD1:
        case GGML_OP_SQR: case GGML_OP_SQRT: case GGML_OP_LOG: case GGML_OP_SCALE: case GGML_OP_UNARY:
        case GGML_OP_DUP: case GGML_OP_CONT: case GGML_OP_CPY: case GGML_OP_SUM: case GGML_OP_SUM_ROWS:
        case GGML_OP_MEAN:
            return 3 * CPU_BLOCK + CPU_SLACK;
        case GGML_OP_NORM: case GGML_OP_RMS_NORM: case GGML_OP_SOFT_MAX: case GGML_OP_ROPE:
        case GGML_OP_GET_ROWS: case GGML_OP_SET_ROWS:
            return 3 * (size_t) ne0 + CPU_SLACK;
        default:
            return 0;
    }
}

size_t cpu_op_work_size(const struct ggml_tensor * node, int nth) {
    if (cpu_llm_handles(node)) {
        return cpu_llm_work_size(node, nth);
    }
    if (cpu_conv_handles(node)) {
        return cpu_conv_work_size(node, nth);
    }
    if (node->op == GGML_OP_MUL_MAT) {
        return cpu_mul_mat_work_size(node, nth);
    }
    return (size_t) nth * cpu_scratch_floats_per_thread(node) * sizeof(float);
}

void cpu_op_compute(const struct cpu_compute_params * params, struct ggml_tensor * node) {
    if (cpu_llm_handles(node)) {
        cpu_llm_compute(params, node);
        return;
    }
    if (cpu_conv_handles(node)) {
        cpu_conv_compute(params, node);
        return;
    }
    switch (node->op) {
        case GGML_OP_ADD:  cpu_compute_binary(params, node, CPU_ADD); break;
        case GGML_OP_ADD1: cpu_compute_binary(params, node, CPU_ADD); break;
        case GGML_OP_SUB:  cpu_compute_binary(params, node, CPU_SUB); break;
        case GGML_OP_MUL:  cpu_compute_binary(params, node, CPU_MUL); break;
        case GGML_OP_DIV:  cpu_compute_binary(params, node, CPU_DIV); break;
        case GGML_OP_DUP:
        case GGML_OP_CONT:
        case GGML_OP_CPY:
            if (ggml_is_quantized(node->type) || ggml_is_quantized(node->src[0]->type)) {
                cpu_compute_copy_quant(params, node);
            } else if (cpu_same_shape(node, node->src[0])) {
                cpu_compute_map(params, node);
            } else {
                cpu_compute_copy_reshape(params, node);
            }
            break;
        case GGML_OP_SQR:
        case GGML_OP_SQRT:
        case GGML_OP_LOG:
        case GGML_OP_SCALE:
        case GGML_OP_UNARY:
            cpu_compute_map(params, node);
            break;
        case GGML_OP_SUM:      cpu_compute_sum(params, node); break;
        case GGML_OP_SUM_ROWS:
        case GGML_OP_MEAN:     cpu_compute_sum_rows(params, node); break;
        case GGML_OP_ARGMAX:   cpu_compute_argmax(params, node); break;
        case GGML_OP_REPEAT:   cpu_compute_repeat(params, node); break;
        case GGML_OP_CONCAT:   cpu_compute_concat(params, node); break;
        case GGML_OP_NORM:
        case GGML_OP_RMS_NORM: cpu_compute_norm(params, node); break;
        case GGML_OP_MUL_MAT:  cpu_mul_mat_compute(params, node); break;
        case GGML_OP_GET_ROWS: cpu_compute_get_rows(params, node); break;
        case GGML_OP_SET_ROWS: cpu_compute_set_rows(params, node); break;
        case GGML_OP_DIAG_MASK_INF:
        case GGML_OP_DIAG_MASK_ZERO: cpu_compute_diag_mask(params, node); break;
        case GGML_OP_SOFT_MAX: cpu_compute_soft_max(params, node); break;
        case GGML_OP_ROPE:     cpu_compute_rope(params, node); break;
        case GGML_OP_IM2COL:   cpu_compute_im2col(params, node); break;
        case GGML_OP_POOL_2D:  cpu_compute_pool_2d(params, node); break;
        case GGML_OP_PAD:      cpu_compute_pad(params, node); break;
        default: break;
    }
}
