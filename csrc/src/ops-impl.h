#pragma once

// Helpers shared by the op constructors (ops.c, ops-*.c): argument checks, error lines that name
// the tensors, op_params, the result of an element-wise op. Internal to the core.

#include "ggml-impl.h"

#include <stdio.h>
#include <string.h>

// ctx must be set; NULL sources give false quietly (a debug line).
static inline bool args_ok(struct ggml_context * ctx, const char * fn, int n,
        const struct ggml_tensor * a, const struct ggml_tensor * b, const struct ggml_tensor * c) {
    if (ctx == NULL) {
        GGML_LOG_ERROR("%s: context is NULL\n", fn);
        return false;
    }
    const struct ggml_tensor * srcs[3] = { a, b, c };
    for (int i = 0; i < n; i++) {
        if (srcs[i] == NULL) {
            GGML_LOG_DEBUG("%s: source %c is NULL\n", fn, 'a' + i);
            return false;
        }
    }
    return true;
}

static inline void err1(const char * fn, const char * what, const struct ggml_tensor * a) {
    char ba[192];
    GGML_LOG_ERROR("%s: %s: a = %s\n", fn, what, ggalloc_tensor_desc(a, ba, sizeof(ba)));
}

static inline void err2(const char * fn, const char * what, const struct ggml_tensor * a, const struct ggml_tensor * b) {
    char ba[192], bb[192];
    GGML_LOG_ERROR("%s: %s: a = %s, b = %s\n", fn, what,
            ggalloc_tensor_desc(a, ba, sizeof(ba)), ggalloc_tensor_desc(b, bb, sizeof(bb)));
}

static inline void set_op_params(struct ggml_tensor * t, const void * params, size_t size) {
    // every caller passes a constant size well below GGML_MAX_OP_PARAMS
    memcpy(t->op_params, params, size);
}

static inline void set_op_params_i32(struct ggml_tensor * t, int i, int32_t v) {
    t->op_params[i] = v;
}

static inline bool is_padded_1d(const struct ggml_tensor * t) {
    return t->nb[0] == ggml_type_size(t->type) &&
           t->nb[2] == t->nb[1] * (size_t) t->ne[1] &&
           t->nb[3] == t->nb[2] * (size_t) t->ne[2];
}

// The result of an element-wise op: a's shape and type, or a view of a for _inplace.
static inline struct ggml_tensor * like(struct ggml_context * ctx, struct ggml_tensor * a, bool inplace) {
    return inplace ? ggml_view_tensor(ctx, a) : ggml_dup_tensor(ctx, a);
}

static inline struct ggml_tensor * op_a(struct ggml_context * ctx, struct ggml_tensor * a, bool inplace,
        enum ggml_op op, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    r->op     = op;
    r->src[0] = a;
    return r;
}

// a op b with b broadcast over a
static inline struct ggml_tensor * op_ab_bcast(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        bool inplace, enum ggml_op op, const char * fn) {
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    if (!ggml_can_repeat(b, a)) {
        err2(fn, "b cannot be broadcast over a (each extent of a must be a multiple of b's)", a, b);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    r->op     = op;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

// (ins + 2p - d(k-1) - 1) / s + 1: the output extent of a convolution; 0 when the kernel does
// not fit or the arithmetic would overflow (extents are at most 2^62 or so, but be safe)
static inline int64_t conv_output_size(int64_t ins, int64_t ks, int s, int p, int d) {
    int64_t span, len;
    if (ks < 1 || __builtin_mul_overflow((int64_t) d, ks - 1, &span) ||
        __builtin_add_overflow(ins, 2 * (int64_t) p, &len) || len - 1 < span) {
        return 0;
    }
    return (len - span - 1) / s + 1;
}
