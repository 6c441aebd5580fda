// ops-llm.c — constructors of the ops a modern transformer adds to the core set: gated linear
// units, attention sinks, flash attention, expert routing (mul_mat_id, add_id, argsort, top_k)
// and the element-wise odds and ends (sin, cos, clamp, leaky_relu, fill, tri, cumsum, ...).
//
// Shapes, source order and op_params are ggml's, because kernels, graph files and the wire read
// them back:
//   GLU            int op, int swapped, then (swiglu_oai) float alpha, float limit; src[1] = the
//                  gate when split (else the gate is the second half of each row of a)
//   ADD_ID         src = a [n, n_used, n_tokens], b [n, n_experts] (rows to add), ids i32
//                  [n_used, n_tokens]
//   FLASH_ATTN_EXT float scale, max_bias, logit_softcap, int prec; src = q, k, v, mask, sinks;
//                  result [Dv, n_head, n_q, ne3] (heads and queries swapped, as ggml)
//   MUL_MAT_ID     src = as [k, m, n_expert], b [k, n_b, n_tokens], ids i32 [n_used, n_tokens]
//   ARGSORT        int order;  TOP_K  int k
//   CLAMP          float min, max;  LEAKY_RELU  float slope;  FILL  float c;  TRI  int type
//   UNARY XIELU    int op, then floats alpha_n, alpha_p, beta, eps
//   ARANGE         float start, stop, step;  TIMESTEP_EMBEDDING  int dim, int max_period
//
// Bad input never aborts: a log line naming the tensors, and NULL.

#include "ggml-impl.h"
#include "ops-impl.h"

#include <math.h>

//
// Gated linear units
//

static struct ggml_tensor * glu_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        enum ggml_glu_op op, bool swapped, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    if ((int) op < 0 || op >= GGML_GLU_OP_COUNT) {
        char msg[48];
        snprintf(msg, sizeof(msg), "unknown glu op %d", (int) op);
        err1(fn, msg, a);
        return NULL;
    }
    if (!ggml_is_contiguous_1(a)) {
        err1(fn, "a must have contiguous rows", a);
        return NULL;
    }
    struct ggml_tensor * r;
    if (b != NULL) {
        if (!ggml_is_contiguous_1(b) || !ggml_are_same_shape(a, b) || a->type != b->type) {
            err2(fn, "the gate b must have a's shape and type, with contiguous rows", a, b);
            return NULL;
        }
        r = ggml_dup_tensor(ctx, a);
    } else {
        if (a->ne[0] % 2 != 0) {
            err1(fn, "a holds value and gate side by side, so ne[0] must be even", a);
            return NULL;
        }
        const int64_t ne[4] = { a->ne[0] / 2, a->ne[1], a->ne[2], a->ne[3] };
        r = ggalloc_new_tensor_impl(ctx, a->type, GGML_MAX_DIMS, ne, NULL, 0, fn);
    }
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, (int32_t) op);
    set_op_params_i32(r, 1, swapped ? 1 : 0);
    r->op     = GGML_OP_GLU;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_glu(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_glu_op op, bool swapped) {
    return glu_impl(ctx, a, NULL, op, swapped, "ggml_glu");
}

struct ggml_tensor * ggml_glu_split(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        enum ggml_glu_op op) {
    if (b == NULL && ctx != NULL && a != NULL) {
        GGML_LOG_ERROR("ggml_glu_split: the gate b is NULL\n");
        return NULL;
    }
    return glu_impl(ctx, a, b, op, false, "ggml_glu_split");
}

#define GLU_FAMILY(name, OP)                                                                                     \
    struct ggml_tensor * ggml_##name(struct ggml_context * ctx, struct ggml_tensor * a) {                        \
        return glu_impl(ctx, a, NULL, OP, false, "ggml_" #name);                                                 \
    }                                                                                                            \
    struct ggml_tensor * ggml_##name##_swapped(struct ggml_context * ctx, struct ggml_tensor * a) {              \
        return glu_impl(ctx, a, NULL, OP, true, "ggml_" #name "_swapped");                                       \
    }                                                                                                            \
    struct ggml_tensor * ggml_##name##_split(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) { \
        if (b == NULL && ctx != NULL && a != NULL) {                                                             \
            GGML_LOG_ERROR("ggml_" #name "_split: the gate b is NULL\n");                                        \
            return NULL;                                                                                         \
        }                                                                                                        \
        return glu_impl(ctx, a, b, OP, false, "ggml_" #name "_split");                                           \
    }

GLU_FAMILY(reglu,       GGML_GLU_OP_REGLU)
GLU_FAMILY(geglu,       GGML_GLU_OP_GEGLU)
GLU_FAMILY(swiglu,      GGML_GLU_OP_SWIGLU)
GLU_FAMILY(geglu_erf,   GGML_GLU_OP_GEGLU_ERF)
GLU_FAMILY(geglu_quick, GGML_GLU_OP_GEGLU_QUICK)

struct ggml_tensor * ggml_swiglu_oai(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        float alpha, float limit) {
    struct ggml_tensor * r = glu_impl(ctx, a, b, GGML_GLU_OP_SWIGLU_OAI, false, "ggml_swiglu_oai");
    if (r != NULL) {
        memcpy(&r->op_params[2], &alpha, sizeof(float));
        memcpy(&r->op_params[3], &limit, sizeof(float));
    }
    return r;
}

//
// Expert routing
//

struct ggml_tensor * ggml_add_id(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * ids) {
    if (!args_ok(ctx, "ggml_add_id", 3, a, b, ids)) {
        return NULL;
    }
    if (ids->type != GGML_TYPE_I32 || ids->ne[0] != a->ne[1] || ids->ne[1] != a->ne[2] || ids->ne[2] != 1 ||
        ids->ne[3] != 1) {
        err2("ggml_add_id", "ids must be i32 [a->ne[1], a->ne[2]]", a, ids);
        return NULL;
    }
    if (b->ne[0] != a->ne[0] || b->ne[2] != 1 || b->ne[3] != 1 || a->ne[3] != 1 || b->nb[0] != ggml_type_size(b->type)) {
        err2("ggml_add_id", "b must be [a->ne[0], n_rows] with contiguous rows, a at most 3-d", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggml_dup_tensor(ctx, a);
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_ADD_ID;
    r->src[0] = a;
    r->src[1] = b;
    r->src[2] = ids;
    return r;
}

struct ggml_tensor * ggml_mul_mat_id(struct ggml_context * ctx, struct ggml_tensor * as, struct ggml_tensor * b,
        struct ggml_tensor * ids) {
    if (!args_ok(ctx, "ggml_mul_mat_id", 3, as, b, ids)) {
        return NULL;
    }
    if (ids->type != GGML_TYPE_I32 || ids->ne[2] != 1 || ids->ne[3] != 1 || ids->ne[1] != b->ne[2]) {
        err2("ggml_mul_mat_id", "ids must be an i32 matrix [n_used, b->ne[2]]", b, ids);
        return NULL;
    }
    if (as->ne[3] != 1 || b->ne[3] != 1 || as->ne[0] != b->ne[0]) {
        err2("ggml_mul_mat_id", "as must be [k, m, n_expert] and b [k, n_b, n_tokens] with the same k", as, b);
        return NULL;
    }
    if (b->ne[1] == 0 || ids->ne[0] % b->ne[1] != 0) {
        err2("ggml_mul_mat_id", "b->ne[1] must divide the experts used per token (ids->ne[0])", b, ids);
        return NULL;
    }
    const int64_t ne[4] = { as->ne[1], ids->ne[0], b->ne[2], 1 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_mul_mat_id");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_MUL_MAT_ID;
    r->src[0] = as;
    r->src[1] = b;
    r->src[2] = ids;
    return r;
}

struct ggml_tensor * ggml_argsort(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_sort_order order) {
    if (!args_ok(ctx, "ggml_argsort", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (order != GGML_SORT_ORDER_ASC && order != GGML_SORT_ORDER_DESC) {
        err1("ggml_argsort", "order must be GGML_SORT_ORDER_ASC or GGML_SORT_ORDER_DESC", a);
        return NULL;
    }
    if (a->ne[0] > INT32_MAX) {
        err1("ggml_argsort", "rows longer than INT32_MAX cannot be indexed by i32", a);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_I32, GGML_MAX_DIMS, a->ne, NULL, 0, "ggml_argsort");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, (int32_t) order);
    r->op     = GGML_OP_ARGSORT;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_argsort_top_k(struct ggml_context * ctx, struct ggml_tensor * a, int k) {
    if (a != NULL && (k < 1 || k > a->ne[0])) {
        char msg[64];
        snprintf(msg, sizeof(msg), "k = %d is not in 1..ne[0]", k);
        err1("ggml_argsort_top_k", msg, a);
        return NULL;
    }
    struct ggml_tensor * s = ggml_argsort(ctx, a, GGML_SORT_ORDER_DESC);
    if (s == NULL) {
        return NULL;
    }
    return ggml_view_4d(ctx, s, k, s->ne[1], s->ne[2], s->ne[3], s->nb[1], s->nb[2], s->nb[3], 0);
}

struct ggml_tensor * ggml_top_k(struct ggml_context * ctx, struct ggml_tensor * a, int k) {
    if (!args_ok(ctx, "ggml_top_k", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (k < 1 || k > a->ne[0]) {
        char msg[64];
        snprintf(msg, sizeof(msg), "k = %d is not in 1..ne[0]", k);
        err1("ggml_top_k", msg, a);
        return NULL;
    }
    const int64_t ne[4] = { k, a->ne[1], a->ne[2], a->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_I32, GGML_MAX_DIMS, ne, NULL, 0, "ggml_top_k");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, k);
    r->op     = GGML_OP_TOP_K;
    r->src[0] = a;
    return r;
}

//
// Attention
//

void ggml_soft_max_add_sinks(struct ggml_tensor * a, struct ggml_tensor * sinks) {
    if (a == NULL || a->op != GGML_OP_SOFT_MAX) {
        GGML_LOG_ERROR("ggml_soft_max_add_sinks: %s is not a SOFT_MAX node; nothing added\n", a ? a->name : "(null)");
        return;
    }
    if (sinks != NULL && (sinks->type != GGML_TYPE_F32 || sinks->ne[0] != a->ne[2] || ggml_nelements(sinks) != sinks->ne[0])) {
        err2("ggml_soft_max_add_sinks", "the sinks (as b) must be an f32 vector of one value per head (a->ne[2]); nothing added", a, sinks);
        return;
    }
    a->src[2] = sinks;
}

struct ggml_tensor * ggml_flash_attn_ext(struct ggml_context * ctx, struct ggml_tensor * q, struct ggml_tensor * k,
        struct ggml_tensor * v, struct ggml_tensor * mask, float scale, float max_bias, float logit_softcap) {
    if (!args_ok(ctx, "ggml_flash_attn_ext", 3, q, k, v)) {
        return NULL;
    }
    if (k->ne[0] != q->ne[0] || v->ne[1] != k->ne[1] || k->ne[2] != v->ne[2] || k->ne[3] != v->ne[3]) {
        err2("ggml_flash_attn_ext", "k must be [D of q, n_kv, h_kv, n] and v [Dv, n_kv, h_kv, n]", q, k);
        return NULL;
    }
    if (k->ne[2] == 0 || k->ne[3] == 0 || q->ne[2] % k->ne[2] != 0 || q->ne[3] % k->ne[3] != 0) {
        err2("ggml_flash_attn_ext", "the heads of q must be a multiple of the heads of k (grouped-query attention)", q, k);
        return NULL;
    }
    if (mask != NULL) {
        if (mask->type != GGML_TYPE_F16 && mask->type != GGML_TYPE_F32) {
            err2("ggml_flash_attn_ext", "the mask (as b) must be f16 or f32", q, mask);
            return NULL;
        }
        if (!ggml_is_contiguous(mask) || mask->ne[0] != k->ne[1] || mask->ne[1] < q->ne[1] || mask->ne[2] == 0 ||
            mask->ne[3] == 0 || q->ne[2] % mask->ne[2] != 0 || q->ne[3] % mask->ne[3] != 0) {
            err2("ggml_flash_attn_ext", "the mask (as b) must be contiguous [n_kv, >= n_q, broadcast over heads and ne[3]]", q, mask);
            return NULL;
        }
    }
    if (max_bias > 0.0f && mask == NULL) {
        err1("ggml_flash_attn_ext", "max_bias > 0 (ALiBi) needs a mask", q);
        return NULL;
    }
    const int64_t ne[4] = { v->ne[0], q->ne[2], q->ne[1], q->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_flash_attn_ext");
    if (r == NULL) {
        return NULL;
    }
    const float params[3] = { scale, max_bias, logit_softcap };
    set_op_params(r, params, sizeof(params));
    set_op_params_i32(r, 3, GGML_PREC_DEFAULT);
    r->op     = GGML_OP_FLASH_ATTN_EXT;
    r->src[0] = q;
    r->src[1] = k;
    r->src[2] = v;
    r->src[3] = mask;
    return r;
}

void ggml_flash_attn_ext_set_prec(struct ggml_tensor * a, enum ggml_prec prec) {
    if (a == NULL || a->op != GGML_OP_FLASH_ATTN_EXT) {
        GGML_LOG_ERROR("ggml_flash_attn_ext_set_prec: %s is not a FLASH_ATTN_EXT node\n", a ? a->name : "(null)");
        return;
    }
    a->op_params[3] = (int32_t) prec;
}

enum ggml_prec ggml_flash_attn_ext_get_prec(const struct ggml_tensor * a) {
    if (a == NULL || a->op != GGML_OP_FLASH_ATTN_EXT) {
        GGML_LOG_ERROR("ggml_flash_attn_ext_get_prec: %s is not a FLASH_ATTN_EXT node\n", a ? a->name : "(null)");
        return GGML_PREC_DEFAULT;
    }
    return (enum ggml_prec) a->op_params[3];
}

void ggml_flash_attn_ext_add_sinks(struct ggml_tensor * a, struct ggml_tensor * sinks) {
    if (a == NULL || a->op != GGML_OP_FLASH_ATTN_EXT) {
        GGML_LOG_ERROR("ggml_flash_attn_ext_add_sinks: %s is not a FLASH_ATTN_EXT node; nothing added\n", a ? a->name : "(null)");
        return;
    }
    if (sinks != NULL && (sinks->type != GGML_TYPE_F32 || sinks->ne[0] != a->ne[1] || ggml_nelements(sinks) != sinks->ne[0])) {
        err2("ggml_flash_attn_ext_add_sinks", "the sinks (as b) must be an f32 vector of one value per head; nothing added", a, sinks);
        return;
    }
    a->src[4] = sinks;
}

//
// Element-wise odds and ends
//

static struct ggml_tensor * unary_params(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op op,
        const float * params, int n_params, bool inplace, const char * fn) {
    struct ggml_tensor * r = op_a(ctx, a, inplace, op, fn);
    if (r != NULL && n_params > 0) {
        set_op_params(r, params, (size_t) n_params * sizeof(float));
    }
    return r;
}

struct ggml_tensor * ggml_sin(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_SIN, "ggml_sin");
}

struct ggml_tensor * ggml_sin_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, true, GGML_OP_SIN, "ggml_sin_inplace");
}

struct ggml_tensor * ggml_cos(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_COS, "ggml_cos");
}

struct ggml_tensor * ggml_cos_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, true, GGML_OP_COS, "ggml_cos_inplace");
}

struct ggml_tensor * ggml_clamp(struct ggml_context * ctx, struct ggml_tensor * a, float min, float max) {
    // ggml's clamp is in place: the result is a view of a
    const float p[2] = { min, max };
    return unary_params(ctx, a, GGML_OP_CLAMP, p, 2, true, "ggml_clamp");
}

struct ggml_tensor * ggml_leaky_relu(struct ggml_context * ctx, struct ggml_tensor * a, float negative_slope, bool inplace) {
    return unary_params(ctx, a, GGML_OP_LEAKY_RELU, &negative_slope, 1, inplace, "ggml_leaky_relu");
}

struct ggml_tensor * ggml_fill(struct ggml_context * ctx, struct ggml_tensor * a, float c) {
    return unary_params(ctx, a, GGML_OP_FILL, &c, 1, false, "ggml_fill");
}

struct ggml_tensor * ggml_fill_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float c) {
    return unary_params(ctx, a, GGML_OP_FILL, &c, 1, true, "ggml_fill_inplace");
}

struct ggml_tensor * ggml_tri(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_tri_type type) {
    if (!args_ok(ctx, "ggml_tri", 1, a, NULL, NULL)) {
        return NULL;
    }
    if ((int) type < GGML_TRI_TYPE_UPPER_DIAG || type > GGML_TRI_TYPE_LOWER) {
        err1("ggml_tri", "unknown ggml_tri_type", a);
        return NULL;
    }
    struct ggml_tensor * r = op_a(ctx, a, false, GGML_OP_TRI, "ggml_tri");
    if (r != NULL) {
        set_op_params_i32(r, 0, (int32_t) type);
    }
    return r;
}

struct ggml_tensor * ggml_cumsum(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_CUMSUM, "ggml_cumsum");
}

struct ggml_tensor * ggml_diag(struct ggml_context * ctx, struct ggml_tensor * a) {
    if (!args_ok(ctx, "ggml_diag", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (a->ne[1] != 1) {
        err1("ggml_diag", "a must be a row vector per matrix (ne[1] = 1)", a);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[0], a->ne[0], a->ne[2], a->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 4, ne, NULL, 0, "ggml_diag");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_DIAG;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_count_equal(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_count_equal", 2, a, b, NULL)) {
        return NULL;
    }
    if (!ggml_are_same_shape(a, b) || a->type != b->type) {
        err2("ggml_count_equal", "a and b must have the same shape and type", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_I64, 1, (const int64_t[]) { 1 }, NULL, 0, "ggml_count_equal");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_COUNT_EQUAL;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

static float softplus(float x) {
    return x > 20.0f ? x : log1pf(expf(x));
}

static struct ggml_tensor * xielu_impl(struct ggml_context * ctx, struct ggml_tensor * a, float alpha_n,
        float alpha_p, float beta, float eps) {
    struct ggml_tensor * r = ggml_unary(ctx, a, GGML_UNARY_OP_XIELU);
    if (r != NULL) {
        // as ggml: the slopes are stored through softplus (so they stay positive), alpha_n offset by beta
        const float p[4] = { beta + softplus(alpha_n), softplus(alpha_p), beta, eps };
        memcpy(&r->op_params[1], p, sizeof(p));
    }
    return r;
}

struct ggml_tensor * ggml_xielu(struct ggml_context * ctx, struct ggml_tensor * a, float alpha_n, float alpha_p,
        float beta, float eps) {
    return xielu_impl(ctx, a, alpha_n, alpha_p, beta, eps);
}

#define UNARY_PAIR(name, OP)                                                                  \
    struct ggml_tensor * ggml_##name(struct ggml_context * ctx, struct ggml_tensor * a) {     \
        return ggml_unary(ctx, a, OP);                                                        \
    }                                                                                         \
    struct ggml_tensor * ggml_##name##_inplace(struct ggml_context * ctx, struct ggml_tensor * a) { \
        return ggml_unary_inplace(ctx, a, OP);                                                \
    }

UNARY_PAIR(expm1,    GGML_UNARY_OP_EXPM1)
UNARY_PAIR(softplus, GGML_UNARY_OP_SOFTPLUS)
UNARY_PAIR(floor,    GGML_UNARY_OP_FLOOR)
UNARY_PAIR(ceil,     GGML_UNARY_OP_CEIL)
UNARY_PAIR(round,    GGML_UNARY_OP_ROUND)
UNARY_PAIR(trunc,    GGML_UNARY_OP_TRUNC)

//
// Writing into views: acc (add) and set (assign), and the outer product
//

static struct ggml_tensor * acc_set_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t nb2, size_t nb3, size_t offset, bool inplace, enum ggml_op op, const char * fn) {
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    if (!ggml_is_contiguous(a) || a->type != b->type || ggml_nelements(b) > ggml_nelements(a)) {
        err2(fn, "a must be contiguous, of b's type, with at least b's elements", a, b);
        return NULL;
    }
    // the view of a that b lands on must lie inside a
    size_t last = offset + ggml_type_size(b->type);
    const size_t nb[4] = { ggml_type_size(b->type), nb1, nb2, nb3 };
    for (int d = 0; d < 4; d++) {
        last += (size_t) (b->ne[d] > 0 ? b->ne[d] - 1 : 0) * nb[d];
    }
    if (ggml_is_empty(b) || last > ggml_nbytes(a) || nb1 > INT32_MAX || nb2 > INT32_MAX || nb3 > INT32_MAX || offset > INT32_MAX) {
        err2(fn, "the view of a at offset with strides nb1..nb3 (b's shape) reaches outside a", a, b);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[5] = { (int32_t) nb1, (int32_t) nb2, (int32_t) nb3, (int32_t) offset, inplace ? 1 : 0 };
    set_op_params(r, params, sizeof(params));
    r->op     = op;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_acc(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1,
        size_t nb2, size_t nb3, size_t offset) {
    return acc_set_impl(ctx, a, b, nb1, nb2, nb3, offset, false, GGML_OP_ACC, "ggml_acc");
}

struct ggml_tensor * ggml_acc_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1,
        size_t nb2, size_t nb3, size_t offset) {
    return acc_set_impl(ctx, a, b, nb1, nb2, nb3, offset, true, GGML_OP_ACC, "ggml_acc_inplace");
}

struct ggml_tensor * ggml_set(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1,
        size_t nb2, size_t nb3, size_t offset) {
    return acc_set_impl(ctx, a, b, nb1, nb2, nb3, offset, false, GGML_OP_SET, "ggml_set");
}

struct ggml_tensor * ggml_set_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1,
        size_t nb2, size_t nb3, size_t offset) {
    return acc_set_impl(ctx, a, b, nb1, nb2, nb3, offset, true, GGML_OP_SET, "ggml_set_inplace");
}

struct ggml_tensor * ggml_set_1d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t offset) {
    return a ? acc_set_impl(ctx, a, b, a->nb[1], a->nb[2], a->nb[3], offset, false, GGML_OP_SET, "ggml_set_1d") : NULL;
}

struct ggml_tensor * ggml_set_1d_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t offset) {
    return a ? acc_set_impl(ctx, a, b, a->nb[1], a->nb[2], a->nb[3], offset, true, GGML_OP_SET, "ggml_set_1d_inplace") : NULL;
}

struct ggml_tensor * ggml_set_2d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t offset) {
    return a ? acc_set_impl(ctx, a, b, nb1, a->nb[2], a->nb[3], offset, false, GGML_OP_SET, "ggml_set_2d") : NULL;
}

struct ggml_tensor * ggml_set_2d_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1,
        size_t offset) {
    return a ? acc_set_impl(ctx, a, b, nb1, a->nb[2], a->nb[3], offset, true, GGML_OP_SET, "ggml_set_2d_inplace") : NULL;
}

struct ggml_tensor * ggml_out_prod(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_out_prod", 2, a, b, NULL)) {
        return NULL;
    }
    if (a->ne[1] != b->ne[1] || a->ne[2] == 0 || a->ne[3] == 0 || b->ne[2] % a->ne[2] != 0 || b->ne[3] % a->ne[3] != 0) {
        err2("ggml_out_prod", "a [m, n] and b [p, n] need the same n, and b's ne[2], ne[3] multiples of a's", a, b);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[0], b->ne[0], b->ne[2], b->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_out_prod");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_OUT_PROD;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

//
// Norms
//

struct ggml_tensor * ggml_l2_norm(struct ggml_context * ctx, struct ggml_tensor * a, float eps) {
    return unary_params(ctx, a, GGML_OP_L2_NORM, &eps, 1, false, "ggml_l2_norm");
}

struct ggml_tensor * ggml_l2_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps) {
    return unary_params(ctx, a, GGML_OP_L2_NORM, &eps, 1, true, "ggml_l2_norm_inplace");
}

static struct ggml_tensor * group_norm_impl(struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps,
        bool inplace, const char * fn) {
    if (a != NULL && (n_groups < 1 || n_groups > a->ne[2])) {
        char msg[64];
        snprintf(msg, sizeof(msg), "n_groups = %d is not in 1..ne[2]", n_groups);
        err1(fn, msg, a);
        return NULL;
    }
    struct ggml_tensor * r = op_a(ctx, a, inplace, GGML_OP_GROUP_NORM, fn);
    if (r != NULL) {
        set_op_params_i32(r, 0, n_groups);
        memcpy(&r->op_params[1], &eps, sizeof(float));
    }
    return r;
}

struct ggml_tensor * ggml_group_norm(struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps) {
    return group_norm_impl(ctx, a, n_groups, eps, false, "ggml_group_norm");
}

struct ggml_tensor * ggml_group_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps) {
    return group_norm_impl(ctx, a, n_groups, eps, true, "ggml_group_norm_inplace");
}

//
// Generators
//

struct ggml_tensor * ggml_arange(struct ggml_context * ctx, float start, float stop, float step) {
    if (ctx == NULL) {
        GGML_LOG_ERROR("ggml_arange: context is NULL\n");
        return NULL;
    }
    if (!(step != 0.0f) || !isfinite(start) || !isfinite(stop) || !isfinite(step) || (stop - start) / step < 0.0f) {
        GGML_LOG_ERROR("ggml_arange: start %g, stop %g, step %g give no finite range\n", start, stop, step);
        return NULL;
    }
    const double n = ceil(((double) stop - (double) start) / (double) step);
    if (n > (double) INT32_MAX) {
        GGML_LOG_ERROR("ggml_arange: start %g, stop %g, step %g give too many steps\n", start, stop, step);
        return NULL;
    }
    const int64_t ne = (int64_t) n;
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 1, &ne, NULL, 0, "ggml_arange");
    if (r == NULL) {
        return NULL;
    }
    const float p[3] = { start, stop, step };
    set_op_params(r, p, sizeof(p));
    r->op = GGML_OP_ARANGE;
    return r;
}

struct ggml_tensor * ggml_timestep_embedding(struct ggml_context * ctx, struct ggml_tensor * timesteps, int dim,
        int max_period) {
    if (!args_ok(ctx, "ggml_timestep_embedding", 1, timesteps, NULL, NULL)) {
        return NULL;
    }
    if (dim < 1 || !ggml_is_vector(timesteps) || timesteps->type != GGML_TYPE_F32) {
        err1("ggml_timestep_embedding", "timesteps must be an f32 vector and dim at least 1", timesteps);
        return NULL;
    }
    const int64_t ne[2] = { dim, timesteps->ne[0] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 2, ne, NULL, 0, "ggml_timestep_embedding");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, dim);
    set_op_params_i32(r, 1, max_period);
    r->op     = GGML_OP_TIMESTEP_EMBEDDING;
    r->src[0] = timesteps;
    return r;
}
