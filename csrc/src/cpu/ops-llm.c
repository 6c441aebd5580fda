//
// ops-llm.c — the CPU kernels of the ops a modern transformer adds to the core set (ops-llm.c
// in the core builds them): gated linear units, expert routing (mul_mat_id, add_id, argsort,
// top_k), the extra norms and the element-wise odds and ends. Flash attention has its own file
// (flash-attn.c); this one only dispatches to it.
//
// Element-wise ops convert a row to f32 in scratch, compute, and convert back, so one kernel
// serves f32, f16 and bf16.
//

#include "ops.h"
#include "ops-impl.h"
#include "flash-attn.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define LLM_SLACK 64

static float * llm_scratch(const struct cpu_compute_params * params, size_t per_thread_floats) {
    return (float *) params->wdata + (size_t) params->ith * per_thread_floats;
}

static bool llm_rows_contiguous(const struct ggml_tensor * t) {
    return t->nb[0] == ggml_type_size(t->type);
}

//
// Element-wise rows
//

static void llm_elementwise_row(const struct ggml_tensor * dst, float * y, const float * x, int64_t n,
        int64_t i1) {
    switch (dst->op) {
        case GGML_OP_SIN: for (int64_t i = 0; i < n; i++) y[i] = sinf(x[i]); break;
        case GGML_OP_COS: for (int64_t i = 0; i < n; i++) y[i] = cosf(x[i]); break;
        case GGML_OP_CLAMP: {
            const float lo = cpu_param_f32(dst, 0), hi = cpu_param_f32(dst, 1);
            for (int64_t i = 0; i < n; i++) y[i] = x[i] < lo ? lo : (x[i] > hi ? hi : x[i]);
            break;
        }
        case GGML_OP_LEAKY_RELU: {
            const float slope = cpu_param_f32(dst, 0);
            for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : slope * x[i];
            break;
        }
        case GGML_OP_FILL: {
            const float c = cpu_param_f32(dst, 0);
            for (int64_t i = 0; i < n; i++) y[i] = c;
            break;
        }
        case GGML_OP_TRI: {
            const int type = dst->op_params[0];
            for (int64_t i = 0; i < n; i++) {
                bool keep;
                switch (type) {
                    case GGML_TRI_TYPE_LOWER:      keep = i <  i1; break;
                    case GGML_TRI_TYPE_LOWER_DIAG: keep = i <= i1; break;
                    case GGML_TRI_TYPE_UPPER:      keep = i >  i1; break;
                    default:                       keep = i >= i1; break;
                }
                y[i] = keep ? x[i] : 0.0f;
            }
            break;
        }
        case GGML_OP_CUMSUM: {
            double acc = 0.0;
            for (int64_t i = 0; i < n; i++) {
                acc += x[i];
                y[i] = (float) acc;
            }
            break;
        }
        case GGML_OP_L2_NORM: {
            double sum = 0.0;
            for (int64_t i = 0; i < n; i++) sum += (double) x[i] * x[i];
            const float eps = cpu_param_f32(dst, 0);
            const float scale = 1.0f / fmaxf((float) sqrt(sum), eps);
            for (int64_t i = 0; i < n; i++) y[i] = x[i] * scale;
            break;
        }
        case GGML_OP_UNARY: { // xIELU
            const float an = cpu_param_f32(dst, 1), ap = cpu_param_f32(dst, 2);
            const float beta = cpu_param_f32(dst, 3), eps = cpu_param_f32(dst, 4);
            for (int64_t i = 0; i < n; i++) {
                const float v = x[i];
                y[i] = v > 0.0f ? ap * v * v + beta * v : (expm1f(fminf(v, eps)) - v) * an + beta * v;
            }
            break;
        }
        default: break;
    }
}

static void llm_compute_elementwise(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const int64_t ne0 = dst->ne[0];
    float * x = llm_scratch(params, 2 * (size_t) ne0 + LLM_SLACK);
    float * y = x + ne0 + LLM_SLACK / 2;
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const float * xr = cpu_load_f32(K, a->type, cpu_ptr(a, 0, i1, i2, i3), a->nb[0], ne0, x);
        llm_elementwise_row(dst, y, xr, ne0, i1);
        cpu_store_f32(K, dst->type, cpu_ptr(dst, 0, i1, i2, i3), dst->nb[0], ne0, y);
    }
}

static void llm_compute_diag(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            const float v = i0 == i1 ? cpu_get_f32(a->type, cpu_ptr(a, i0, 0, i2, i3)) : 0.0f;
            cpu_set_f32(dst->type, cpu_ptr(dst, i0, i1, i2, i3), v);
        }
    }
}

static void llm_compute_count_equal(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    if (params->ith != 0) {
        return;
    }
    const struct ggml_tensor * a = dst->src[0], * b = dst->src[1];
    const size_t ts = ggml_type_size(a->type);
    int64_t count = 0;
    for (int64_t ir = 0; ir < ggml_nrows(a); ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(a, ir, &i1, &i2, &i3);
        for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
            count += memcmp(cpu_ptr(a, i0, i1, i2, i3), cpu_ptr(b, i0, i1, i2, i3), ts) == 0;
        }
    }
    *(int64_t *) dst->data = count;
}

static void llm_compute_group_norm(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const int n_groups = dst->op_params[0];
    const float eps = cpu_param_f32(dst, 1);
    const int64_t per = (a->ne[2] + n_groups - 1) / n_groups;
    int64_t u0, u1;
    cpu_split(params, (int64_t) n_groups * a->ne[3], &u0, &u1);
    for (int64_t u = u0; u < u1; u++) {
        const int64_t g = u % n_groups, i3 = u / n_groups;
        const int64_t c0 = g * per, c1 = c0 + per < a->ne[2] ? c0 + per : a->ne[2];
        double sum = 0.0, n = 0.0;
        for (int64_t i2 = c0; i2 < c1; i2++)
            for (int64_t i1 = 0; i1 < a->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
                    sum += cpu_get_f32(a->type, cpu_ptr(a, i0, i1, i2, i3));
                    n += 1.0;
                }
        const double mean = n > 0 ? sum / n : 0.0;
        double var = 0.0;
        for (int64_t i2 = c0; i2 < c1; i2++)
            for (int64_t i1 = 0; i1 < a->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
                    const double d = cpu_get_f32(a->type, cpu_ptr(a, i0, i1, i2, i3)) - mean;
                    var += d * d;
                }
        const double scale = 1.0 / sqrt((n > 0 ? var / n : 0.0) + (double) eps);
        for (int64_t i2 = c0; i2 < c1; i2++)
            for (int64_t i1 = 0; i1 < a->ne[1]; i1++)
                for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
                    const double v = cpu_get_f32(a->type, cpu_ptr(a, i0, i1, i2, i3));
                    cpu_set_f32(dst->type, cpu_ptr(dst, i0, i1, i2, i3), (float) ((v - mean) * scale));
                }
    }
}

static void llm_compute_arange(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const float start = cpu_param_f32(dst, 0), step = cpu_param_f32(dst, 2);
    int64_t i0, i1;
    cpu_split(params, dst->ne[0], &i0, &i1);
    for (int64_t i = i0; i < i1; i++) {
        ((float *) dst->data)[i] = start + step * (float) i;
    }
}

static void llm_compute_timestep_embedding(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * t = dst->src[0];
    const int dim = dst->op_params[0], max_period = dst->op_params[1];
    const int half = dim / 2;
    int64_t r0, r1;
    cpu_split(params, t->ne[0], &r0, &r1);
    for (int64_t i = r0; i < r1; i++) {
        const float ts = *(const float *) cpu_ptr(t, i, 0, 0, 0);
        float * out = (float *) cpu_ptr(dst, 0, i, 0, 0);
        for (int j = 0; j < half; j++) {
            const float freq = expf(-logf((float) max_period) * (float) j / (float) half);
            const float arg = ts * freq;
            out[j] = cosf(arg);
            out[j + half] = sinf(arg);
        }
        if (dim % 2 != 0) {
            out[2 * half] = 0.0f;
        }
    }
}

static void llm_compute_acc_set(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0], * b = dst->src[1];
    if (a->data != dst->data) {
        int64_t b0, b1;
        cpu_split(params, (int64_t) ggml_nbytes(dst), &b0, &b1);
        memcpy((char *) dst->data + b0, (const char *) a->data + b0, (size_t) (b1 - b0));
    }
    cpu_op_barrier(params);
    // the view of dst that b lands on
    const size_t nb[4] = { ggml_type_size(dst->type), (size_t) dst->op_params[0], (size_t) dst->op_params[1],
                           (size_t) dst->op_params[2] };
    char * base = (char *) dst->data + dst->op_params[3];
    const bool acc = dst->op == GGML_OP_ACC;
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(b), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(b, r, &i1, &i2, &i3);
        char * out = base + i1 * nb[1] + i2 * nb[2] + i3 * nb[3];
        for (int64_t i0 = 0; i0 < b->ne[0]; i0++) {
            const float v = cpu_get_f32(b->type, cpu_ptr(b, i0, i1, i2, i3));
            char * p = out + i0 * nb[0];
            cpu_set_f32(dst->type, p, acc ? cpu_get_f32(dst->type, p) + v : v);
        }
    }
}

static void llm_compute_out_prod(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0], * b = dst->src[1];
    const int64_t n = a->ne[1], r2 = b->ne[2] / a->ne[2], r3 = b->ne[3] / a->ne[3];
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t r = r0; r < r1; r++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, r, &i1, &i2, &i3);
        for (int64_t i0 = 0; i0 < dst->ne[0]; i0++) {
            double acc = 0.0;
            for (int64_t k = 0; k < n; k++) {
                acc += (double) cpu_get_f32(a->type, cpu_ptr(a, i0, k, i2 / r2, i3 / r3)) * cpu_get_f32(b->type, cpu_ptr(b, i1, k, i2, i3));
            }
            *(float *) cpu_ptr(dst, i0, i1, i2, i3) = (float) acc;
        }
    }
}

//
// Gated linear units
//

static void llm_compute_glu(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const enum ggml_glu_op op = (enum ggml_glu_op) dst->op_params[0];
    const bool swapped = dst->op_params[1] != 0;
    const int64_t nc = dst->ne[0];
    float * tx = llm_scratch(params, 3 * (size_t) nc + LLM_SLACK);
    float * tg = tx + nc + LLM_SLACK / 4, * ty = tg + nc + LLM_SLACK / 4;
    const float alpha = cpu_param_f32(dst, 2), limit = cpu_param_f32(dst, 3);
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const char * pa = cpu_ptr(a, 0, i1, i2, i3);
        const char * px, * pg;
        size_t sx, sg;
        if (b != NULL) {
            px = pa; sx = a->nb[0];
            pg = cpu_ptr(b, 0, i1, i2, i3); sg = b->nb[0];
        } else {
            const char * second = pa + nc * a->nb[0];
            px = swapped ? second : pa;
            pg = swapped ? pa : second;
            sx = sg = a->nb[0];
        }
        const float * x = cpu_load_f32(K, a->type, px, sx, nc, tx);
        const float * g = cpu_load_f32(K, b ? b->type : a->type, pg, sg, nc, tg);
        switch (op) {
            case GGML_GLU_OP_SWIGLU: K->silu_f32(nc, ty, x); break;
            case GGML_GLU_OP_GEGLU:  K->gelu_f32(nc, ty, x); break;
            case GGML_GLU_OP_REGLU:
                for (int64_t i = 0; i < nc; i++) ty[i] = x[i] > 0.0f ? x[i] : 0.0f;
                break;
            case GGML_GLU_OP_GEGLU_ERF:
                for (int64_t i = 0; i < nc; i++) ty[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752440f));
                break;
            case GGML_GLU_OP_GEGLU_QUICK:
                for (int64_t i = 0; i < nc; i++) ty[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
                break;
            case GGML_GLU_OP_SWIGLU_OAI:
                for (int64_t i = 0; i < nc; i++) {
                    const float xv = fminf(x[i], limit);
                    const float gv = fminf(fmaxf(g[i], -limit), limit);
                    ty[i] = xv / (1.0f + expf(-alpha * xv)) * (gv + 1.0f);
                }
                break;
            default: break;
        }
        if (op != GGML_GLU_OP_SWIGLU_OAI) {
            K->mul_f32(nc, ty, ty, g);
        }
        cpu_store_f32(K, dst->type, cpu_ptr(dst, 0, i1, i2, i3), dst->nb[0], nc, ty);
    }
}

//
// Expert routing
//

static void llm_compute_add_id(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0], * b = dst->src[1], * ids = dst->src[2];
    const int64_t ne0 = dst->ne[0];
    float * ta = llm_scratch(params, 3 * (size_t) ne0 + LLM_SLACK);
    float * tb = ta + ne0 + LLM_SLACK / 4, * tz = tb + ne0 + LLM_SLACK / 4;
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(dst), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(dst, ir, &i1, &i2, &i3);
        const int32_t id = *(const int32_t *) cpu_ptr(ids, i1, i2, 0, 0);
        if (id < 0 || id >= b->ne[1]) {
            GGML_LOG_ERROR("cpu: add_id '%s': id %d at [%lld, %lld] of '%s' is outside [0, %lld)\n", dst->name, id,
                    (long long) i1, (long long) i2, ids->name, (long long) b->ne[1]);
            cpu_fail(params);
            return;
        }
        const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, 0, i1, i2, i3), a->nb[0], ne0, ta);
        const float * y = cpu_load_f32(K, b->type, cpu_ptr(b, 0, id, 0, 0), b->nb[0], ne0, tb);
        K->add_f32(ne0, tz, x, y);
        cpu_store_f32(K, dst->type, cpu_ptr(dst, 0, i1, i2, i3), dst->nb[0], ne0, tz);
    }
}

static float llm_dot_row(const struct cpu_kernels * K, enum ggml_type type, const char * row, const float * y, int64_t n) {
    switch (type) {
        case GGML_TYPE_F16:  return K->dot_f16_f32(n, (const ggml_fp16_t *) row, y);
        case GGML_TYPE_BF16: return K->dot_bf16_f32(n, (const ggml_bf16_t *) row, y);
        default:             return K->dot_f32(n, (const float *) row, y);
    }
}

// One unit of work is (slot, token, block of 64 output rows): the activation row is converted
// once per unit and dotted with each expert row.
#define LLM_MMID_ROWS 64

static void llm_compute_mul_mat_id(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * as = dst->src[0], * b = dst->src[1], * ids = dst->src[2];
    const int64_t k = as->ne[0], m = as->ne[1];
    const int64_t n_used = ids->ne[0], n_tokens = ids->ne[1];
    const int64_t nblk = (m + LLM_MMID_ROWS - 1) / LLM_MMID_ROWS;
    float * tb = llm_scratch(params, (size_t) k + LLM_SLACK);
    int64_t u0, u1;
    cpu_split(params, n_used * n_tokens * nblk, &u0, &u1);
    int64_t loaded = -1;
    const float * y = NULL;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t pair = u / nblk, blk = u % nblk;
        const int64_t slot = pair % n_used, token = pair / n_used;
        const int32_t e = *(const int32_t *) cpu_ptr(ids, slot, token, 0, 0);
        if (e < 0 || e >= as->ne[2]) {
            GGML_LOG_ERROR("cpu: mul_mat_id '%s': expert %d at [%lld, %lld] of '%s' is outside [0, %lld)\n", dst->name, e,
                    (long long) slot, (long long) token, ids->name, (long long) as->ne[2]);
            cpu_fail(params);
            return;
        }
        if (pair != loaded) {
            y = cpu_load_f32(K, b->type, cpu_ptr(b, 0, slot % b->ne[1], token, 0), b->nb[0], k, tb);
            loaded = pair;
        }
        const int64_t i_end = (blk + 1) * LLM_MMID_ROWS < m ? (blk + 1) * LLM_MMID_ROWS : m;
        float * out = (float *) cpu_ptr(dst, 0, slot, token, 0);
        for (int64_t i = blk * LLM_MMID_ROWS; i < i_end; i++) {
            out[i] = llm_dot_row(K, as->type, cpu_ptr(as, 0, i, e, 0), y, k);
        }
    }
}

// Stable merge sort of idx[0..n) by v (descending when desc); tmp has room for n indices.
static void llm_sort_idx(int32_t * idx, int32_t * tmp, const float * v, int64_t n, bool desc) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                const float a = v[idx[i]], b = v[idx[j]];
                const bool take_right = desc ? b > a : b < a;
                tmp[o++] = take_right ? idx[j++] : idx[i++];
            }
            while (i < mid) tmp[o++] = idx[i++];
            while (j < hi) tmp[o++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t) n * sizeof(int32_t));
    }
}

static void llm_compute_argsort(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const int64_t n = a->ne[0];
    const bool top_k = dst->op == GGML_OP_TOP_K;
    const bool desc = top_k || dst->op_params[0] == GGML_SORT_ORDER_DESC;
    float * v = llm_scratch(params, 3 * (size_t) n + LLM_SLACK);
    int32_t * idx = (int32_t *) (v + n + LLM_SLACK / 4);
    int32_t * tmp = idx + n + LLM_SLACK / 4;
    int64_t r0, r1;
    cpu_split(params, ggml_nrows(a), &r0, &r1);
    for (int64_t ir = r0; ir < r1; ir++) {
        int64_t i1, i2, i3;
        cpu_unravel(a, ir, &i1, &i2, &i3);
        const float * x = cpu_load_f32(K, a->type, cpu_ptr(a, 0, i1, i2, i3), a->nb[0], n, v);
        if (x != v) {
            memcpy(v, x, (size_t) n * sizeof(float));
        }
        for (int64_t i = 0; i < n; i++) {
            idx[i] = (int32_t) i;
        }
        llm_sort_idx(idx, tmp, v, n, desc);
        for (int64_t i = 0; i < dst->ne[0]; i++) {
            *(int32_t *) cpu_ptr(dst, i, i1, i2, i3) = idx[i];
        }
    }
}

//
// Dispatch
//

bool cpu_llm_handles(const struct ggml_tensor * node) {
    switch (node->op) {
        case GGML_OP_SIN: case GGML_OP_COS: case GGML_OP_CLAMP: case GGML_OP_LEAKY_RELU: case GGML_OP_FILL:
        case GGML_OP_TRI: case GGML_OP_CUMSUM: case GGML_OP_L2_NORM: case GGML_OP_GROUP_NORM: case GGML_OP_DIAG:
        case GGML_OP_COUNT_EQUAL: case GGML_OP_ARANGE: case GGML_OP_TIMESTEP_EMBEDDING: case GGML_OP_GLU:
        case GGML_OP_ADD_ID: case GGML_OP_MUL_MAT_ID: case GGML_OP_ARGSORT: case GGML_OP_TOP_K:
        case GGML_OP_FLASH_ATTN_EXT: case GGML_OP_ACC: case GGML_OP_SET: case GGML_OP_OUT_PROD:
            return true;
        case GGML_OP_UNARY:
            return node->op_params[0] == GGML_UNARY_OP_XIELU;
        default:
            return false;
    }
}

static bool llm_float(const struct ggml_tensor * t) {
    return t != NULL && cpu_type_is_float(t->type);
}

bool cpu_llm_supported(const struct ggml_tensor * node) {
    const struct ggml_tensor * a = node->src[0], * b = node->src[1], * c = node->src[2];
    switch (node->op) {
        case GGML_OP_SIN: case GGML_OP_COS: case GGML_OP_CLAMP: case GGML_OP_LEAKY_RELU: case GGML_OP_FILL:
        case GGML_OP_TRI: case GGML_OP_CUMSUM: case GGML_OP_L2_NORM: case GGML_OP_GROUP_NORM: case GGML_OP_UNARY:
            return llm_float(a) && cpu_type_is_float(node->type) && cpu_same_shape(a, node) &&
                   (node->op != GGML_OP_GROUP_NORM || node->op_params[0] > 0);
        case GGML_OP_DIAG:
            return llm_float(a) && cpu_type_is_float(node->type) && a->ne[1] == 1 && node->ne[0] == a->ne[0] &&
                   node->ne[1] == a->ne[0] && node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3];
        case GGML_OP_COUNT_EQUAL:
            return a != NULL && b != NULL && a->type == b->type && cpu_same_shape(a, b) && node->type == GGML_TYPE_I64;
        case GGML_OP_ARANGE:
            return node->type == GGML_TYPE_F32 && ggml_is_contiguous(node);
        case GGML_OP_TIMESTEP_EMBEDDING:
            return a != NULL && a->type == GGML_TYPE_F32 && node->type == GGML_TYPE_F32 && node->nb[0] == sizeof(float) &&
                   node->ne[0] == node->op_params[0] && node->ne[1] == a->ne[0] && node->op_params[1] > 0;
        case GGML_OP_GLU: {
            const int op = node->op_params[0];
            if (!llm_float(a) || !cpu_type_is_float(node->type) || op < 0 || op >= GGML_GLU_OP_COUNT) {
                return false;
            }
            return b != NULL ? llm_float(b) && cpu_same_shape(a, b) && cpu_same_shape(a, node)
                             : a->ne[0] == 2 * node->ne[0] && a->ne[1] == node->ne[1] && a->ne[2] == node->ne[2] &&
                               a->ne[3] == node->ne[3];
        }
        case GGML_OP_ADD_ID:
            return llm_float(a) && llm_float(b) && c != NULL && c->type == GGML_TYPE_I32 && cpu_same_shape(a, node) &&
                   cpu_type_is_float(node->type) && b->ne[0] == a->ne[0] && c->ne[0] == a->ne[1] && c->ne[1] == a->ne[2];
        case GGML_OP_MUL_MAT_ID:
            return llm_float(a) && llm_rows_contiguous(a) && llm_float(b) && c != NULL && c->type == GGML_TYPE_I32 &&
                   node->type == GGML_TYPE_F32 && node->nb[0] == sizeof(float) && a->ne[0] == b->ne[0] &&
                   node->ne[0] == a->ne[1] && node->ne[1] == c->ne[0] && node->ne[2] == c->ne[1] &&
                   b->ne[2] == c->ne[1] && b->ne[1] > 0 && c->ne[0] % b->ne[1] == 0;
        case GGML_OP_ARGSORT:
        case GGML_OP_TOP_K:
            return llm_float(a) && node->type == GGML_TYPE_I32 && node->ne[0] <= a->ne[0] && node->ne[1] == a->ne[1] &&
                   node->ne[2] == a->ne[2] && node->ne[3] == a->ne[3];
        case GGML_OP_ACC:
        case GGML_OP_SET:
            return llm_float(a) && llm_float(b) && a->type == node->type && cpu_same_shape(a, node) &&
                   ggml_is_contiguous(node) && ggml_is_contiguous(a) && node->op_params[3] >= 0;
        case GGML_OP_OUT_PROD:
            return llm_float(a) && llm_float(b) && node->type == GGML_TYPE_F32 && a->ne[1] == b->ne[1] &&
                   node->ne[0] == a->ne[0] && node->ne[1] == b->ne[0] && node->ne[2] == b->ne[2] && node->ne[3] == b->ne[3] &&
                   a->ne[2] > 0 && a->ne[3] > 0 && b->ne[2] % a->ne[2] == 0 && b->ne[3] % a->ne[3] == 0;
        case GGML_OP_FLASH_ATTN_EXT:
            return cpu_flash_attn_supported(node);
        default:
            return false;
    }
}

size_t cpu_llm_work_size(const struct ggml_tensor * node, int nth) {
    size_t per = 0;
    const int64_t ne0 = node->ne[0], a0 = node->src[0] ? node->src[0]->ne[0] : 0;
    switch (node->op) {
        case GGML_OP_SIN: case GGML_OP_COS: case GGML_OP_CLAMP: case GGML_OP_LEAKY_RELU: case GGML_OP_FILL:
        case GGML_OP_TRI: case GGML_OP_CUMSUM: case GGML_OP_L2_NORM: case GGML_OP_UNARY:
            per = 2 * (size_t) ne0 + LLM_SLACK; break;
        case GGML_OP_GLU: case GGML_OP_ADD_ID:
            per = 3 * (size_t) ne0 + LLM_SLACK; break;
        case GGML_OP_MUL_MAT_ID:
            per = (size_t) a0 + LLM_SLACK; break;
        case GGML_OP_ARGSORT: case GGML_OP_TOP_K:
            per = 3 * (size_t) a0 + LLM_SLACK; break;
        case GGML_OP_FLASH_ATTN_EXT:
            return cpu_flash_attn_work_size(node, nth);
        default:
            per = 0; break;
    }
    return (size_t) nth * per * sizeof(float);
}

void cpu_llm_compute(const struct cpu_compute_params * params, struct ggml_tensor * node) {
    switch (node->op) {
        case GGML_OP_SIN: case GGML_OP_COS: case GGML_OP_CLAMP: case GGML_OP_LEAKY_RELU: case GGML_OP_FILL:
        case GGML_OP_TRI: case GGML_OP_CUMSUM: case GGML_OP_L2_NORM: case GGML_OP_UNARY:
            llm_compute_elementwise(params, node); break;
        case GGML_OP_GROUP_NORM:         llm_compute_group_norm(params, node); break;
        case GGML_OP_DIAG:               llm_compute_diag(params, node); break;
        case GGML_OP_COUNT_EQUAL:        llm_compute_count_equal(params, node); break;
        case GGML_OP_ARANGE:             llm_compute_arange(params, node); break;
        case GGML_OP_TIMESTEP_EMBEDDING: llm_compute_timestep_embedding(params, node); break;
        case GGML_OP_GLU:                llm_compute_glu(params, node); break;
        case GGML_OP_ADD_ID:             llm_compute_add_id(params, node); break;
        case GGML_OP_MUL_MAT_ID:         llm_compute_mul_mat_id(params, node); break;
        case GGML_OP_ARGSORT:
        case GGML_OP_TOP_K:              llm_compute_argsort(params, node); break;
        case GGML_OP_FLASH_ATTN_EXT:     cpu_flash_attn_compute(params, node); break;
        case GGML_OP_ACC:
        case GGML_OP_SET:                llm_compute_acc_set(params, node); break;
        case GGML_OP_OUT_PROD:           llm_compute_out_prod(params, node); break;
        default: break;
    }
}
