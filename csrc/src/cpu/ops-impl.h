#pragma once

// Helpers shared by the CPU kernels of ops.c and ops-*.c: thread splits, element access through
// strides, conversion of rows to and from f32. Internal to the CPU backend.

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "ggml.h"
#include "kernels.h"
#include "ops.h"

static inline void cpu_fail(const struct cpu_compute_params * params) {
    atomic_store(params->failed, CPU_STOP_FAILED);
}

// This thread's range [*i0, *i1) of n items.
static inline void cpu_split(const struct cpu_compute_params * params, int64_t n, int64_t * i0, int64_t * i1) {
    int64_t per = (n + params->nth - 1) / params->nth;
    *i0 = per * params->ith < n ? per * params->ith : n;
    *i1 = *i0 + per < n ? *i0 + per : n;
}

static inline bool cpu_type_is_float(enum ggml_type t) {
    return t == GGML_TYPE_F32 || t == GGML_TYPE_F16 || t == GGML_TYPE_BF16;
}

static inline bool cpu_type_is_plain(enum ggml_type t) {
    return cpu_type_is_float(t) || t == GGML_TYPE_I32;
}

static inline bool cpu_type_is_int(enum ggml_type t) {
    return t == GGML_TYPE_I8 || t == GGML_TYPE_I16 || t == GGML_TYPE_I32;
}

static inline float cpu_get_f32(enum ggml_type type, const char * p) {
    switch (type) {
        case GGML_TYPE_F32:  return *(const float *) p;
        case GGML_TYPE_F16:  return ggml_fp16_to_fp32(*(const ggml_fp16_t *) p);
        case GGML_TYPE_BF16: return ggml_bf16_to_fp32(*(const ggml_bf16_t *) p);
        case GGML_TYPE_I32:  return (float) *(const int32_t *) p;
        case GGML_TYPE_I16:  return (float) *(const int16_t *) p;
        case GGML_TYPE_I8:   return (float) *(const int8_t *) p;
        default:             return 0.0f;
    }
}

static inline void cpu_set_f32(enum ggml_type type, char * p, float v) {
    switch (type) {
        case GGML_TYPE_F32:  *(float *) p = v; break;
        case GGML_TYPE_F16:  *(ggml_fp16_t *) p = ggml_fp32_to_fp16(v); break;
        case GGML_TYPE_BF16: *(ggml_bf16_t *) p = ggml_fp32_to_bf16(v); break;
        case GGML_TYPE_I32:  *(int32_t *) p = (int32_t) v; break;
        case GGML_TYPE_I16:  *(int16_t *) p = (int16_t) v; break;
        case GGML_TYPE_I8:   *(int8_t *) p = (int8_t) v; break;
        default: break;
    }
}

// n elements at p (element stride nb0) as f32: p itself when it already is contiguous f32,
// else converted into tmp.
static inline const float * cpu_load_f32(const struct cpu_kernels * K, enum ggml_type type, const char * p, size_t nb0,
        int64_t n, float * tmp) {
    if (type == GGML_TYPE_F32 && nb0 == sizeof(float)) {
        return (const float *) p;
    }
    if (type == GGML_TYPE_F16 && nb0 == sizeof(ggml_fp16_t)) {
        K->f16_to_f32((const ggml_fp16_t *) p, tmp, n);
    } else if (type == GGML_TYPE_BF16 && nb0 == sizeof(ggml_bf16_t)) {
        K->bf16_to_f32((const ggml_bf16_t *) p, tmp, n);
    } else {
        for (int64_t i = 0; i < n; i++) {
            tmp[i] = cpu_get_f32(type, p + i * nb0);
        }
    }
    return tmp;
}

// Writes n f32 values to p (element stride nb0) as type.
static inline void cpu_store_f32(const struct cpu_kernels * K, enum ggml_type type, char * p, size_t nb0, int64_t n,
        const float * x) {
    if (type == GGML_TYPE_F32 && nb0 == sizeof(float)) {
        if ((const float *) p != x) {
            memmove(p, x, (size_t) n * sizeof(float));
        }
    } else if (type == GGML_TYPE_F16 && nb0 == sizeof(ggml_fp16_t)) {
        K->f32_to_f16(x, (ggml_fp16_t *) p, n);
    } else if (type == GGML_TYPE_BF16 && nb0 == sizeof(ggml_bf16_t)) {
        ggml_fp32_to_bf16_row(x, (ggml_bf16_t *) p, n);
    } else {
        for (int64_t i = 0; i < n; i++) {
            cpu_set_f32(type, p + i * nb0, x[i]);
        }
    }
}

// A writable f32 view of n elements at p if it is contiguous f32, else tmp.
static inline float * cpu_out_f32(enum ggml_type type, char * p, size_t nb0, float * tmp) {
    return type == GGML_TYPE_F32 && nb0 == sizeof(float) ? (float *) p : tmp;
}

static inline char * cpu_ptr(const struct ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return (char *) t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

// row index -> (i1, i2, i3)
static inline void cpu_unravel(const struct ggml_tensor * t, int64_t ir, int64_t * i1, int64_t * i2, int64_t * i3) {
    *i3 = ir / (t->ne[1] * t->ne[2]);
    ir -= *i3 * t->ne[1] * t->ne[2];
    *i2 = ir / t->ne[1];
    *i1 = ir - *i2 * t->ne[1];
}

static inline float cpu_param_f32(const struct ggml_tensor * t, int i) {
    float v;
    memcpy(&v, &t->op_params[i], sizeof(v));
    return v;
}

static inline bool cpu_same_shape(const struct ggml_tensor * a, const struct ggml_tensor * b) {
    return a->ne[0] == b->ne[0] && a->ne[1] == b->ne[1] && a->ne[2] == b->ne[2] && a->ne[3] == b->ne[3];
}

// b broadcasts to a (each extent of a a multiple of b's)
static inline bool cpu_can_repeat(const struct ggml_tensor * b, const struct ggml_tensor * a) {
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        if (b->ne[d] == 0 ? a->ne[d] != 0 : a->ne[d] % b->ne[d] != 0) {
            return false;
        }
    }
    return true;
}

static inline int64_t cpu_index(const struct ggml_tensor * idx, int64_t i0, int64_t i1, int64_t i2) {
    const char * p = cpu_ptr(idx, i0, i1, i2, 0);
    return idx->type == GGML_TYPE_I64 ? *(const int64_t *) p : (int64_t) *(const int32_t *) p;
}
