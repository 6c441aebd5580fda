// ops.c — operation constructors: each builds one node (shape, type, sources, op_params) and
// computes nothing.
//
// Shapes, source order, names and op_params follow ggml exactly, because kernels, graph files and
// ggml programs read them back:
//   UNARY       op_params[0] = enum ggml_unary_op
//   NORM, RMS_NORM           float eps
//   SCALE       float scale, float bias (0 for ggml_scale)
//   SOFT_MAX    float scale, float max_bias; src[1] = mask (optional)
//   DIAG_MASK_* int n_past
//   VIEW        size_t offset (in words 0-1)
//   PERMUTE     int axis0..axis3
//   CONCAT      int dim
//   MUL_MAT     int prec (ggml_mul_mat_set_prec; 0 by default)
//   ROPE        int n_past (0), n_dims, mode, n_ctx (0), n_ctx_orig, then floats freq_base,
//               freq_scale, ext_factor, attn_factor, beta_fast, beta_slow (words 5..10), then
//               4 ints of mrope sections (0); src[1] = positions, src[2] = freq factors
//   IM2COL      int s0, s1, p0, p1, d0, d1, is_2D
//   POOL_2D     int op, k0, k1, s0, s1, p0, p1 (p0 and p1 converted from float to int, as ggml)
//   PAD         int lp0, rp0, lp1, rp1, lp2, rp2, lp3, rp3, circular (0): ggml_pad pads at the end
// Views (VIEW, RESHAPE, PERMUTE, TRANSPOSE, the _inplace variants, CPY's result, SET_ROWS' result)
// have view_src set to the root tensor and src[0] = the tensor they were made from (CPY: src[0]
// = a, src[1] = b, a view of b; SET_ROWS: src[0] = b, src[1] = c, src[2] = a, a view of a).
//
// Bad input never aborts: the constructor logs a line naming the tensors and their shapes and
// returns NULL. A NULL source gives NULL (with a debug line only: whatever made it NULL already
// said why), so a chain of calls can be checked once at its end.

#include "ggml-impl.h"
#include "ops-impl.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

//
// Names
//

// One row per op, indexed by the enum itself so that a reordering cannot shift a name.
static const struct { const char * name; const char * symbol; } op_info[GGML_OP_COUNT] = {
    [GGML_OP_NONE]                    = { "NONE", "none" },
    [GGML_OP_DUP]                     = { "DUP", "x" },
    [GGML_OP_ADD]                     = { "ADD", "x+y" },
    [GGML_OP_ADD_ID]                  = { "ADD_ID", "x[i]+y" },
    [GGML_OP_ADD1]                    = { "ADD1", "x+y" },
    [GGML_OP_ACC]                     = { "ACC", "view(x,nb,offset)+=y->x" },
    [GGML_OP_SUB]                     = { "SUB", "x-y" },
    [GGML_OP_MUL]                     = { "MUL", "x*y" },
    [GGML_OP_DIV]                     = { "DIV", "x/y" },
    [GGML_OP_SQR]                     = { "SQR", "x^2" },
    [GGML_OP_SQRT]                    = { "SQRT", "√x" },
    [GGML_OP_LOG]                     = { "LOG", "log(x)" },
    [GGML_OP_SIN]                     = { "SIN", "sin(x)" },
    [GGML_OP_COS]                     = { "COS", "cos(x)" },
    [GGML_OP_SUM]                     = { "SUM", "Σx" },
    [GGML_OP_SUM_ROWS]                = { "SUM_ROWS", "Σx_k" },
    [GGML_OP_CUMSUM]                  = { "CUMSUM", "cumsum(x)" },
    [GGML_OP_MEAN]                    = { "MEAN", "Σx/n" },
    [GGML_OP_ARGMAX]                  = { "ARGMAX", "argmax(x)" },
    [GGML_OP_COUNT_EQUAL]             = { "COUNT_EQUAL", "count_equal(x)" },
    [GGML_OP_REPEAT]                  = { "REPEAT", "repeat(x)" },
    [GGML_OP_REPEAT_BACK]             = { "REPEAT_BACK", "repeat_back(x)" },
    [GGML_OP_CONCAT]                  = { "CONCAT", "concat(x, y)" },
    [GGML_OP_SILU_BACK]               = { "SILU_BACK", "silu_back(x)" },
    [GGML_OP_NORM]                    = { "NORM", "norm(x)" },
    [GGML_OP_RMS_NORM]                = { "RMS_NORM", "rms_norm(x)" },
    [GGML_OP_RMS_NORM_BACK]           = { "RMS_NORM_BACK", "rms_norm_back(x)" },
    [GGML_OP_GROUP_NORM]              = { "GROUP_NORM", "group_norm(x)" },
    [GGML_OP_L2_NORM]                 = { "L2_NORM", "l2_norm(x)" },
    [GGML_OP_MUL_MAT]                 = { "MUL_MAT", "X*Y" },
    [GGML_OP_MUL_MAT_ID]              = { "MUL_MAT_ID", "X[i]*Y" },
    [GGML_OP_OUT_PROD]                = { "OUT_PROD", "X*Y" },
    [GGML_OP_SCALE]                   = { "SCALE", "x*v" },
    [GGML_OP_SET]                     = { "SET", "y-\\>view(x)" },
    [GGML_OP_CPY]                     = { "CPY", "x-\\>y" },
    [GGML_OP_CONT]                    = { "CONT", "cont(x)" },
    [GGML_OP_RESHAPE]                 = { "RESHAPE", "reshape(x)" },
    [GGML_OP_VIEW]                    = { "VIEW", "view(x)" },
    [GGML_OP_PERMUTE]                 = { "PERMUTE", "permute(x)" },
    [GGML_OP_TRANSPOSE]               = { "TRANSPOSE", "transpose(x)" },
    [GGML_OP_GET_ROWS]                = { "GET_ROWS", "get_rows(x)" },
    [GGML_OP_GET_ROWS_BACK]           = { "GET_ROWS_BACK", "get_rows_back(x)" },
    [GGML_OP_SET_ROWS]                = { "SET_ROWS", "set_rows(x)" },
    [GGML_OP_DIAG]                    = { "DIAG", "diag(x)" },
    [GGML_OP_DIAG_MASK_INF]           = { "DIAG_MASK_INF", "diag_mask_inf(x)" },
    [GGML_OP_DIAG_MASK_ZERO]          = { "DIAG_MASK_ZERO", "diag_mask_zero(x)" },
    [GGML_OP_SOFT_MAX]                = { "SOFT_MAX", "soft_max(x)" },
    [GGML_OP_SOFT_MAX_BACK]           = { "SOFT_MAX_BACK", "soft_max_back(x)" },
    [GGML_OP_ROPE]                    = { "ROPE", "rope(x)" },
    [GGML_OP_ROPE_BACK]               = { "ROPE_BACK", "rope_back(x)" },
    [GGML_OP_CLAMP]                   = { "CLAMP", "clamp(x)" },
    [GGML_OP_CONV_TRANSPOSE_1D]       = { "CONV_TRANSPOSE_1D", "conv_transpose_1d(x)" },
    [GGML_OP_IM2COL]                  = { "IM2COL", "im2col(x)" },
    [GGML_OP_IM2COL_BACK]             = { "IM2COL_BACK", "im2col_back(x)" },
    [GGML_OP_IM2COL_3D]               = { "IM2COL_3D", "im2col_3d(x)" },
    [GGML_OP_COL2IM_1D]               = { "COL2IM_1D", "col2im_1d(x)" },
    [GGML_OP_CONV_2D]                 = { "CONV_2D", "conv_2d(x)" },
    [GGML_OP_CONV_3D]                 = { "CONV_3D", "conv_3d(x)" },
    [GGML_OP_CONV_2D_DW]              = { "CONV_2D_DW", "conv_2d_dw(x)" },
    [GGML_OP_CONV_TRANSPOSE_2D]       = { "CONV_TRANSPOSE_2D", "conv_transpose_2d(x)" },
    [GGML_OP_POOL_1D]                 = { "POOL_1D", "pool_1d(x)" },
    [GGML_OP_POOL_2D]                 = { "POOL_2D", "pool_2d(x)" },
    [GGML_OP_POOL_2D_BACK]            = { "POOL_2D_BACK", "pool_2d_back(x)" },
    [GGML_OP_UPSCALE]                 = { "UPSCALE", "upscale(x)" },
    [GGML_OP_PAD]                     = { "PAD", "pad(x)" },
    [GGML_OP_PAD_REFLECT_1D]          = { "PAD_REFLECT_1D", "pad_reflect_1d(x)" },
    [GGML_OP_ROLL]                    = { "ROLL", "roll(x)" },
    [GGML_OP_ARANGE]                  = { "ARANGE", "arange(start, stop, step)" },
    [GGML_OP_TIMESTEP_EMBEDDING]      = { "TIMESTEP_EMBEDDING", "timestep_embedding(timesteps, dim, max_period)" },
    [GGML_OP_ARGSORT]                 = { "ARGSORT", "argsort(x)" },
    [GGML_OP_TOP_K]                   = { "TOP_K", "top_k(x)" },
    [GGML_OP_LEAKY_RELU]              = { "LEAKY_RELU", "leaky_relu(x)" },
    [GGML_OP_TRI]                     = { "TRI", "tri(x)" },
    [GGML_OP_FILL]                    = { "FILL", "fill(x, c)" },
    [GGML_OP_FLASH_ATTN_EXT]          = { "FLASH_ATTN_EXT", "flash_attn_ext(x)" },
    [GGML_OP_FLASH_ATTN_BACK]         = { "FLASH_ATTN_BACK", "flash_attn_back(x)" },
    [GGML_OP_SSM_CONV]                = { "SSM_CONV", "ssm_conv(x)" },
    [GGML_OP_SSM_SCAN]                = { "SSM_SCAN", "ssm_scan(x)" },
    [GGML_OP_WIN_PART]                = { "WIN_PART", "win_part(x)" },
    [GGML_OP_WIN_UNPART]              = { "WIN_UNPART", "win_unpart(x)" },
    [GGML_OP_GET_REL_POS]             = { "GET_REL_POS", "get_rel_pos(x)" },
    [GGML_OP_ADD_REL_POS]             = { "ADD_REL_POS", "add_rel_pos(x)" },
    [GGML_OP_RWKV_WKV6]               = { "RWKV_WKV6", "rwkv_wkv6(k, v, r, tf, td, s)" },
    [GGML_OP_GATED_LINEAR_ATTN]       = { "GATED_LINEAR_ATTN", "gated_linear_attn(k, v, q, gate, s)" },
    [GGML_OP_RWKV_WKV7]               = { "RWKV_WKV7", "rwkv_wkv7(r, w, k, v, a, b, s)" },
    [GGML_OP_SOLVE_TRI]               = { "SOLVE_TRI", "A X = B, A triangular, solve X" },
    [GGML_OP_GATED_DELTA_NET]         = { "GATED_DELTA_NET", "gated_delta_net(q, k, v, g, beta, s)" },
    [GGML_OP_LIGHTNING_INDEXER]       = { "LIGHTNING_INDEXER", "lightning_indexer(q, k, weights, mask)" },
    [GGML_OP_DSV4_HC_COMB]            = { "DSV4_HC_COMB", "dsv4_hc_comb(mixes, scale, base)" },
    [GGML_OP_DSV4_HC_PRE]             = { "DSV4_HC_PRE", "dsv4_hc_pre(x, weights)" },
    [GGML_OP_DSV4_HC_POST]            = { "DSV4_HC_POST", "dsv4_hc_post(x, residual, post, comb)" },
    [GGML_OP_UNARY]                   = { "UNARY", "unary(x)" },
    [GGML_OP_MAP_CUSTOM1]             = { "MAP_CUSTOM1", "map_custom(x)" },
    [GGML_OP_MAP_CUSTOM2]             = { "MAP_CUSTOM2", "map_custom(x,y)" },
    [GGML_OP_MAP_CUSTOM3]             = { "MAP_CUSTOM3", "map_custom(x,y,z)" },
    [GGML_OP_CUSTOM]                  = { "CUSTOM", "custom(x)" },
    [GGML_OP_CROSS_ENTROPY_LOSS]      = { "CROSS_ENTROPY_LOSS", "cross_entropy_loss(x,y)" },
    [GGML_OP_CROSS_ENTROPY_LOSS_BACK] = { "CROSS_ENTROPY_LOSS_BACK", "cross_entropy_loss_back(x,y)" },
    [GGML_OP_OPT_STEP_ADAMW]          = { "OPT_STEP_ADAMW", "adamw(x)" },
    [GGML_OP_OPT_STEP_SGD]            = { "OPT_STEP_SGD", "sgd(x)" },
    [GGML_OP_GLU]                     = { "GLU", "glu(x)" },
};

static const char * const unary_op_names[GGML_UNARY_OP_COUNT] = {
    [GGML_UNARY_OP_ABS] = "ABS",
    [GGML_UNARY_OP_SGN] = "SGN",
    [GGML_UNARY_OP_NEG] = "NEG",
    [GGML_UNARY_OP_STEP] = "STEP",
    [GGML_UNARY_OP_TANH] = "TANH",
    [GGML_UNARY_OP_ELU] = "ELU",
    [GGML_UNARY_OP_RELU] = "RELU",
    [GGML_UNARY_OP_SIGMOID] = "SIGMOID",
    [GGML_UNARY_OP_GELU] = "GELU",
    [GGML_UNARY_OP_GELU_QUICK] = "GELU_QUICK",
    [GGML_UNARY_OP_SILU] = "SILU",
    [GGML_UNARY_OP_HARDSWISH] = "HARDSWISH",
    [GGML_UNARY_OP_HARDSIGMOID] = "HARDSIGMOID",
    [GGML_UNARY_OP_EXP] = "EXP",
    [GGML_UNARY_OP_EXPM1] = "EXPM1",
    [GGML_UNARY_OP_SOFTPLUS] = "SOFTPLUS",
    [GGML_UNARY_OP_GELU_ERF] = "GELU_ERF",
    [GGML_UNARY_OP_XIELU] = "XIELU",
    [GGML_UNARY_OP_FLOOR] = "FLOOR",
    [GGML_UNARY_OP_CEIL] = "CEIL",
    [GGML_UNARY_OP_ROUND] = "ROUND",
    [GGML_UNARY_OP_TRUNC] = "TRUNC",
};

static const char * const glu_op_names[GGML_GLU_OP_COUNT] = {
    [GGML_GLU_OP_REGLU] = "REGLU",
    [GGML_GLU_OP_GEGLU] = "GEGLU",
    [GGML_GLU_OP_SWIGLU] = "SWIGLU",
    [GGML_GLU_OP_SWIGLU_OAI] = "SWIGLU_OAI",
    [GGML_GLU_OP_GEGLU_ERF] = "GEGLU_ERF",
    [GGML_GLU_OP_GEGLU_QUICK] = "GEGLU_QUICK",
};

_Static_assert(GGML_OP_COUNT == 101, "op_info must cover every op, as ggml numbers them");
_Static_assert(GGML_UNARY_OP_COUNT == 22, "unary_op_names must cover every unary op");
_Static_assert(GGML_GLU_OP_COUNT == 6, "glu_op_names must cover every glu op");

const char * ggml_op_name(enum ggml_op op) {
    if ((int) op < 0 || op >= GGML_OP_COUNT) {
        return "UNKNOWN";
    }
    return op_info[op].name;
}

const char * ggml_op_symbol(enum ggml_op op) {
    if ((int) op < 0 || op >= GGML_OP_COUNT) {
        return "?";
    }
    return op_info[op].symbol;
}

const char * ggml_unary_op_name(enum ggml_unary_op op) {
    if ((int) op < 0 || op >= GGML_UNARY_OP_COUNT) {
        return "UNKNOWN";
    }
    return unary_op_names[op];
}

const char * ggml_glu_op_name(enum ggml_glu_op op) {
    if ((int) op < 0 || op >= GGML_GLU_OP_COUNT) {
        return "UNKNOWN";
    }
    return glu_op_names[op];
}

enum ggml_glu_op ggml_get_glu_op(const struct ggml_tensor * tensor) {
    if (tensor == NULL || tensor->op != GGML_OP_GLU) {
        GGML_LOG_ERROR("ggml_get_glu_op: %s is not a GLU node\n", tensor ? tensor->name : "(null)");
        return GGML_GLU_OP_COUNT;
    }
    return (enum ggml_glu_op) tensor->op_params[0];
}

const char * ggml_op_desc(const struct ggml_tensor * t) {
    if (t == NULL) {
        return "UNKNOWN";
    }
    if (t->op == GGML_OP_UNARY) {
        return ggml_unary_op_name((enum ggml_unary_op) t->op_params[0]);
    }
    if (t->op == GGML_OP_GLU) {
        return ggml_glu_op_name((enum ggml_glu_op) t->op_params[0]);
    }
    return ggml_op_name(t->op);
}

//
// Element-wise
//

struct ggml_tensor * ggml_dup(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_DUP, "ggml_dup");
}

struct ggml_tensor * ggml_dup_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, true, GGML_OP_DUP, "ggml_dup_inplace");
}

struct ggml_tensor * ggml_add(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, false, GGML_OP_ADD, "ggml_add");
}

struct ggml_tensor * ggml_add_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, true, GGML_OP_ADD, "ggml_add_inplace");
}

struct ggml_tensor * ggml_sub(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, false, GGML_OP_SUB, "ggml_sub");
}

struct ggml_tensor * ggml_sub_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, true, GGML_OP_SUB, "ggml_sub_inplace");
}

struct ggml_tensor * ggml_mul(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, false, GGML_OP_MUL, "ggml_mul");
}

struct ggml_tensor * ggml_mul_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, true, GGML_OP_MUL, "ggml_mul_inplace");
}

struct ggml_tensor * ggml_div(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, false, GGML_OP_DIV, "ggml_div");
}

struct ggml_tensor * ggml_div_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return op_ab_bcast(ctx, a, b, true, GGML_OP_DIV, "ggml_div_inplace");
}

static struct ggml_tensor * add1_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        bool inplace, const char * fn) {
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    if (!ggml_is_scalar(b)) {
        err2(fn, "b must be a scalar (one element)", a, b);
        return NULL;
    }
    if (!is_padded_1d(a)) {
        err1(fn, "a must have densely packed dims 2 and 3", a);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_ADD1;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_add1(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return add1_impl(ctx, a, b, false, "ggml_add1");
}

struct ggml_tensor * ggml_add1_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return add1_impl(ctx, a, b, true, "ggml_add1_inplace");
}

struct ggml_tensor * ggml_sqr(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_SQR, "ggml_sqr");
}

struct ggml_tensor * ggml_sqr_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, true, GGML_OP_SQR, "ggml_sqr_inplace");
}

struct ggml_tensor * ggml_sqrt(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_SQRT, "ggml_sqrt");
}

struct ggml_tensor * ggml_sqrt_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, true, GGML_OP_SQRT, "ggml_sqrt_inplace");
}

struct ggml_tensor * ggml_log(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, false, GGML_OP_LOG, "ggml_log");
}

struct ggml_tensor * ggml_log_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return op_a(ctx, a, true, GGML_OP_LOG, "ggml_log_inplace");
}

//
// Reductions
//

struct ggml_tensor * ggml_sum(struct ggml_context * ctx, struct ggml_tensor * a) {
    if (!args_ok(ctx, "ggml_sum", 1, a, NULL, NULL)) {
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 1, (const int64_t[]) { 1 }, NULL, 0, "ggml_sum");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_SUM;
    r->src[0] = a;
    return r;
}

static struct ggml_tensor * rows_reduce(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_type type,
        enum ggml_op op, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    const int64_t ne[4] = { 1, a->ne[1], a->ne[2], a->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, type, 4, ne, NULL, 0, fn);
    if (r == NULL) {
        return NULL;
    }
    r->op     = op;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_sum_rows(struct ggml_context * ctx, struct ggml_tensor * a) {
    return rows_reduce(ctx, a, a ? a->type : GGML_TYPE_F32, GGML_OP_SUM_ROWS, "ggml_sum_rows");
}

struct ggml_tensor * ggml_mean(struct ggml_context * ctx, struct ggml_tensor * a) {
    return rows_reduce(ctx, a, GGML_TYPE_F32, GGML_OP_MEAN, "ggml_mean");
}

struct ggml_tensor * ggml_argmax(struct ggml_context * ctx, struct ggml_tensor * a) {
    if (!args_ok(ctx, "ggml_argmax", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (!ggml_is_matrix(a)) {
        err1("ggml_argmax", "a must be a matrix (ne[2] = ne[3] = 1)", a);
        return NULL;
    }
    if (a->ne[0] > INT32_MAX) {
        err1("ggml_argmax", "rows longer than INT32_MAX cannot be indexed by i32", a);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_I32, 1, &a->ne[1], NULL, 0, "ggml_argmax");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_ARGMAX;
    r->src[0] = a;
    return r;
}

//
// Shape changes that copy
//

struct ggml_tensor * ggml_repeat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_repeat", 2, a, b, NULL)) {
        return NULL;
    }
    if (!ggml_can_repeat(a, b)) {
        err2("ggml_repeat", "a cannot be repeated to b's shape (each extent of b must be a multiple of a's)", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, GGML_MAX_DIMS, b->ne, NULL, 0, "ggml_repeat");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_REPEAT;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_concat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int dim) {
    if (!args_ok(ctx, "ggml_concat", 2, a, b, NULL)) {
        return NULL;
    }
    if (dim < 0 || dim >= GGML_MAX_DIMS) {
        char msg[64];
        snprintf(msg, sizeof(msg), "dim %d is not in 0..%d", dim, GGML_MAX_DIMS - 1);
        err2("ggml_concat", msg, a, b);
        return NULL;
    }
    if (a->type != b->type) {
        err2("ggml_concat", "a and b have different types", a, b);
        return NULL;
    }
    int64_t ne[GGML_MAX_DIMS];
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        if (d == dim) {
            if (__builtin_add_overflow(a->ne[d], b->ne[d], &ne[d])) {
                err2("ggml_concat", "the joined extent overflows", a, b);
                return NULL;
            }
        } else if (a->ne[d] != b->ne[d]) {
            char msg[96];
            snprintf(msg, sizeof(msg), "extents differ in dim %d, which is not the concat dim %d", d, dim);
            err2("ggml_concat", msg, a, b);
            return NULL;
        } else {
            ne[d] = a->ne[d];
        }
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, GGML_MAX_DIMS, ne, NULL, 0, "ggml_concat");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, dim);
    r->op     = GGML_OP_CONCAT;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

//
// Unary
//

static struct ggml_tensor * unary_impl(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op,
        bool inplace, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    if ((int) op < 0 || op >= GGML_UNARY_OP_COUNT) {
        char msg[48];
        snprintf(msg, sizeof(msg), "unknown unary op %d", (int) op);
        err1(fn, msg, a);
        return NULL;
    }
    if (!ggml_is_contiguous_1(a)) {
        err1(fn, "a must have contiguous rows", a);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, (int32_t) op);
    r->op     = GGML_OP_UNARY;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_unary(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op) {
    return unary_impl(ctx, a, op, false, "ggml_unary");
}

struct ggml_tensor * ggml_unary_inplace(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op) {
    return unary_impl(ctx, a, op, true, "ggml_unary_inplace");
}

#define UNARY_PAIR(name, OP) \
    struct ggml_tensor * ggml_##name(struct ggml_context * ctx, struct ggml_tensor * a) { \
        return unary_impl(ctx, a, GGML_UNARY_OP_##OP, false, "ggml_" #name); \
    } \
    struct ggml_tensor * ggml_##name##_inplace(struct ggml_context * ctx, struct ggml_tensor * a) { \
        return unary_impl(ctx, a, GGML_UNARY_OP_##OP, true, "ggml_" #name "_inplace"); \
    }

UNARY_PAIR(abs,        ABS)
UNARY_PAIR(sgn,        SGN)
UNARY_PAIR(neg,        NEG)
UNARY_PAIR(step,       STEP)
UNARY_PAIR(tanh,       TANH)
UNARY_PAIR(elu,        ELU)
UNARY_PAIR(relu,       RELU)
UNARY_PAIR(sigmoid,    SIGMOID)
UNARY_PAIR(gelu,       GELU)
UNARY_PAIR(gelu_erf,   GELU_ERF)
UNARY_PAIR(gelu_quick, GELU_QUICK)
UNARY_PAIR(silu,       SILU)
UNARY_PAIR(exp,        EXP)

struct ggml_tensor * ggml_hardswish(struct ggml_context * ctx, struct ggml_tensor * a) {
    return unary_impl(ctx, a, GGML_UNARY_OP_HARDSWISH, false, "ggml_hardswish");
}

struct ggml_tensor * ggml_hardsigmoid(struct ggml_context * ctx, struct ggml_tensor * a) {
    return unary_impl(ctx, a, GGML_UNARY_OP_HARDSIGMOID, false, "ggml_hardsigmoid");
}

//
// Normalization
//

static struct ggml_tensor * norm_impl(struct ggml_context * ctx, struct ggml_tensor * a, float eps, bool inplace,
        enum ggml_op op, const char * fn) {
    struct ggml_tensor * r = op_a(ctx, a, inplace, op, fn);
    if (r != NULL) {
        set_op_params(r, &eps, sizeof(eps));
    }
    return r;
}

struct ggml_tensor * ggml_norm(struct ggml_context * ctx, struct ggml_tensor * a, float eps) {
    return norm_impl(ctx, a, eps, false, GGML_OP_NORM, "ggml_norm");
}

struct ggml_tensor * ggml_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps) {
    return norm_impl(ctx, a, eps, true, GGML_OP_NORM, "ggml_norm_inplace");
}

struct ggml_tensor * ggml_rms_norm(struct ggml_context * ctx, struct ggml_tensor * a, float eps) {
    return norm_impl(ctx, a, eps, false, GGML_OP_RMS_NORM, "ggml_rms_norm");
}

struct ggml_tensor * ggml_rms_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps) {
    return norm_impl(ctx, a, eps, true, GGML_OP_RMS_NORM, "ggml_rms_norm_inplace");
}

//
// Matrix multiplication
//

struct ggml_tensor * ggml_mul_mat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_mul_mat", 2, a, b, NULL)) {
        return NULL;
    }
    if (a->ne[0] != b->ne[0] || a->ne[2] == 0 || a->ne[3] == 0 ||
        b->ne[2] % a->ne[2] != 0 || b->ne[3] % a->ne[3] != 0) {
        err2("ggml_mul_mat", "shapes do not fit (a->ne[0] == b->ne[0], b->ne[2] and b->ne[3] multiples of a's)", a, b);
        return NULL;
    }
    if (ggml_is_transposed(a)) {
        err2("ggml_mul_mat", "a must not be transposed (make it contiguous with ggml_cont)", a, b);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[1], b->ne[1], b->ne[2], b->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_mul_mat");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_MUL_MAT;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

void ggml_mul_mat_set_prec(struct ggml_tensor * a, enum ggml_prec prec) {
    if (a == NULL || a->op != GGML_OP_MUL_MAT) {
        GGML_LOG_ERROR("ggml_mul_mat_set_prec: %s is not a MUL_MAT node\n", a ? a->name : "(null)");
        return;
    }
    set_op_params_i32(a, 0, (int32_t) prec);
}

//
// Scale
//

static struct ggml_tensor * scale_impl(struct ggml_context * ctx, struct ggml_tensor * a, float s, float b,
        bool inplace, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    if (!is_padded_1d(a)) {
        err1(fn, "a must have densely packed elements and dims 2 and 3", a);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    const float params[2] = { s, b };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_SCALE;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_scale(struct ggml_context * ctx, struct ggml_tensor * a, float s) {
    return scale_impl(ctx, a, s, 0.0f, false, "ggml_scale");
}

struct ggml_tensor * ggml_scale_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float s) {
    return scale_impl(ctx, a, s, 0.0f, true, "ggml_scale_inplace");
}

struct ggml_tensor * ggml_scale_bias(struct ggml_context * ctx, struct ggml_tensor * a, float s, float b) {
    return scale_impl(ctx, a, s, b, false, "ggml_scale_bias");
}

struct ggml_tensor * ggml_scale_bias_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float s, float b) {
    return scale_impl(ctx, a, s, b, true, "ggml_scale_bias_inplace");
}

//
// Copies
//

struct ggml_tensor * ggml_cpy(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_cpy", 2, a, b, NULL)) {
        return NULL;
    }
    if (ggml_nelements(a) != ggml_nelements(b)) {
        err2("ggml_cpy", "a and b have different numbers of elements", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggml_view_tensor(ctx, b);
    if (r == NULL) {
        return NULL;
    }
    if (b->name[0] != '\0') {
        ggml_format_name(r, "%s (copy of %s)", b->name, a->name);
    } else {
        ggml_format_name(r, "%s (copy)", a->name);
    }
    r->op     = GGML_OP_CPY;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_cast(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_type type) {
    if (!args_ok(ctx, "ggml_cast", 1, a, NULL, NULL)) {
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, type, GGML_MAX_DIMS, a->ne, NULL, 0, "ggml_cast");
    if (r == NULL) {
        return NULL;
    }
    ggml_format_name(r, "%s (copy)", a->name);
    r->op     = GGML_OP_CPY;
    r->src[0] = a;
    r->src[1] = r; // as ggml: the destination of the copy is the result itself
    return r;
}

struct ggml_tensor * ggml_cont_4d(struct ggml_context * ctx, struct ggml_tensor * a,
        int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    if (!args_ok(ctx, "ggml_cont", 1, a, NULL, NULL)) {
        return NULL;
    }
    int64_t n = 0;
    if (__builtin_mul_overflow(ne0, ne1, &n) || __builtin_mul_overflow(n, ne2, &n) ||
        __builtin_mul_overflow(n, ne3, &n) || n != ggml_nelements(a)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the new shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] does not have a's number of elements",
                ne0, ne1, ne2, ne3);
        err1("ggml_cont", msg, a);
        return NULL;
    }
    struct ggml_tensor * r = ggml_new_tensor_4d(ctx, a->type, ne0, ne1, ne2, ne3);
    if (r == NULL) {
        return NULL;
    }
    ggml_format_name(r, "%s (cont)", a->name);
    r->op     = GGML_OP_CONT;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_cont(struct ggml_context * ctx, struct ggml_tensor * a) {
    if (a == NULL) {
        args_ok(ctx, "ggml_cont", 1, a, NULL, NULL);
        return NULL;
    }
    return ggml_cont_4d(ctx, a, a->ne[0], a->ne[1], a->ne[2], a->ne[3]);
}

struct ggml_tensor * ggml_cont_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0) {
    return ggml_cont_4d(ctx, a, ne0, 1, 1, 1);
}

struct ggml_tensor * ggml_cont_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1) {
    return ggml_cont_4d(ctx, a, ne0, ne1, 1, 1);
}

struct ggml_tensor * ggml_cont_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2) {
    return ggml_cont_4d(ctx, a, ne0, ne1, ne2, 1);
}

//
// Views
//

static struct ggml_tensor * reshape_impl(struct ggml_context * ctx, struct ggml_tensor * a, int n_dims,
        const int64_t * ne, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    if (!ggml_is_contiguous(a)) {
        err1(fn, "a must be contiguous (use ggml_cont first)", a);
        return NULL;
    }
    int64_t n = 1;
    bool overflow = false;
    for (int i = 0; i < n_dims; i++) {
        overflow |= __builtin_mul_overflow(n, ne[i], &n);
    }
    if (overflow || n != ggml_nelements(a)) {
        char msg[160];
        int64_t e[4] = { 1, 1, 1, 1 };
        for (int i = 0; i < n_dims; i++) {
            e[i] = ne[i];
        }
        snprintf(msg, sizeof(msg), "the new shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] does not have a's number of elements",
                e[0], e[1], e[2], e[3]);
        err1(fn, msg, a);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, n_dims, ne, a, 0, fn);
    if (r == NULL) {
        return NULL;
    }
    ggml_format_name(r, "%s (reshaped)", a->name);
    r->op     = GGML_OP_RESHAPE;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_reshape(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_reshape", 2, a, b, NULL)) {
        return NULL;
    }
    return reshape_impl(ctx, a, GGML_MAX_DIMS, b->ne, "ggml_reshape");
}

struct ggml_tensor * ggml_reshape_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0) {
    const int64_t ne[1] = { ne0 };
    return reshape_impl(ctx, a, 1, ne, "ggml_reshape_1d");
}

struct ggml_tensor * ggml_reshape_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1) {
    const int64_t ne[2] = { ne0, ne1 };
    return reshape_impl(ctx, a, 2, ne, "ggml_reshape_2d");
}

struct ggml_tensor * ggml_reshape_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2) {
    const int64_t ne[3] = { ne0, ne1, ne2 };
    return reshape_impl(ctx, a, 3, ne, "ggml_reshape_3d");
}

struct ggml_tensor * ggml_reshape_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    const int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    return reshape_impl(ctx, a, 4, ne, "ggml_reshape_4d");
}

// A view of a with n_dims extents, the strides nb1..nb3 given (NULL: contiguous) and a byte
// offset. Besides ggml's own check (a contiguous block of the view's size fits in the root), the
// bytes the strides actually reach must lie inside the root.
static struct ggml_tensor * view_impl(struct ggml_context * ctx, struct ggml_tensor * a, int n_dims,
        const int64_t * ne, const size_t * nb123, size_t offset, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    int64_t ext[GGML_MAX_DIMS] = { 1, 1, 1, 1 };
    for (int i = 0; i < n_dims; i++) {
        ext[i] = ne[i];
    }
    if (nb123 != NULL && ggalloc_type_valid(a->type)) {
        const size_t nb[GGML_MAX_DIMS] = { ggml_type_size(a->type), nb123[0], nb123[1], nb123[2] };
        bool neg = false;
        for (int i = 0; i < GGML_MAX_DIMS; i++) {
            neg |= ext[i] < 0;
        }
        const size_t extent = neg ? 0 : ggalloc_extent(a->type, ext, nb);
        if (extent > 0) {
            const struct ggml_tensor * root = a->view_src ? a->view_src : a;
            size_t offs = offset;
            size_t end = SIZE_MAX;
            if (a->view_src && __builtin_add_overflow(offs, a->view_offs, &offs)) {
                offs = SIZE_MAX;
            }
            if (extent == SIZE_MAX || __builtin_add_overflow(extent, offs, &end) || end > ggml_nbytes(root)) {
                char msg[256];
                snprintf(msg, sizeof(msg),
                        "the view [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] with strides [%zu, %zu, %zu, %zu] "
                        "at offset %zu reaches %zu bytes, outside the %zu bytes of its source",
                        ext[0], ext[1], ext[2], ext[3], nb[0], nb[1], nb[2], nb[3], offs,
                        extent == SIZE_MAX ? SIZE_MAX : end, ggml_nbytes(root));
                err1(fn, msg, root);
                return NULL;
            }
        }
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, n_dims, ne, a, offset, fn);
    if (r == NULL) {
        return NULL;
    }
    ggml_format_name(r, "%s (view)", a->name);
    set_op_params(r, &offset, sizeof(offset));
    if (nb123 != NULL) {
        r->nb[1] = nb123[0];
        r->nb[2] = nb123[1];
        r->nb[3] = nb123[2];
    }
    r->op     = GGML_OP_VIEW;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_view_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, size_t offset) {
    return view_impl(ctx, a, 1, &ne0, NULL, offset, "ggml_view_1d");
}

struct ggml_tensor * ggml_view_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1,
        size_t nb1, size_t offset) {
    const int64_t ne[2] = { ne0, ne1 };
    const size_t  nb[3] = { nb1, nb1 * (size_t) (ne1 > 0 ? ne1 : 0), nb1 * (size_t) (ne1 > 0 ? ne1 : 0) };
    return view_impl(ctx, a, 2, ne, nb, offset, "ggml_view_2d");
}

struct ggml_tensor * ggml_view_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2,
        size_t nb1, size_t nb2, size_t offset) {
    const int64_t ne[3] = { ne0, ne1, ne2 };
    const size_t  nb[3] = { nb1, nb2, nb2 * (size_t) (ne2 > 0 ? ne2 : 0) };
    return view_impl(ctx, a, 3, ne, nb, offset, "ggml_view_3d");
}

struct ggml_tensor * ggml_view_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3,
        size_t nb1, size_t nb2, size_t nb3, size_t offset) {
    const int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    const size_t  nb[3] = { nb1, nb2, nb3 };
    return view_impl(ctx, a, 4, ne, nb, offset, "ggml_view_4d");
}

struct ggml_tensor * ggml_permute(struct ggml_context * ctx, struct ggml_tensor * a, int axis0, int axis1, int axis2, int axis3) {
    if (!args_ok(ctx, "ggml_permute", 1, a, NULL, NULL)) {
        return NULL;
    }
    const int axes[4] = { axis0, axis1, axis2, axis3 };
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        if (axes[i] < 0 || axes[i] >= GGML_MAX_DIMS || (seen & (1 << axes[i]))) {
            char msg[96];
            snprintf(msg, sizeof(msg), "axes (%d, %d, %d, %d) are not a permutation of 0..3", axis0, axis1, axis2, axis3);
            err1("ggml_permute", msg, a);
            return NULL;
        }
        seen |= 1 << axes[i];
    }
    struct ggml_tensor * r = ggml_view_tensor(ctx, a);
    if (r == NULL) {
        return NULL;
    }
    ggml_format_name(r, "%s (permuted)", a->name);
    for (int i = 0; i < 4; i++) {
        r->ne[axes[i]] = a->ne[i];
        r->nb[axes[i]] = a->nb[i];
    }
    r->op     = GGML_OP_PERMUTE;
    r->src[0] = a;
    const int32_t params[4] = { axis0, axis1, axis2, axis3 };
    set_op_params(r, params, sizeof(params));
    return r;
}

struct ggml_tensor * ggml_transpose(struct ggml_context * ctx, struct ggml_tensor * a) {
    if (!args_ok(ctx, "ggml_transpose", 1, a, NULL, NULL)) {
        return NULL;
    }
    struct ggml_tensor * r = ggml_view_tensor(ctx, a);
    if (r == NULL) {
        return NULL;
    }
    ggml_format_name(r, "%s (transposed)", a->name);
    r->ne[0] = a->ne[1];
    r->ne[1] = a->ne[0];
    r->nb[0] = a->nb[1];
    r->nb[1] = a->nb[0];
    r->op     = GGML_OP_TRANSPOSE;
    r->src[0] = a;
    return r;
}

//
// Rows
//

struct ggml_tensor * ggml_get_rows(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    if (!args_ok(ctx, "ggml_get_rows", 2, a, b, NULL)) {
        return NULL;
    }
    if (b->type != GGML_TYPE_I32) {
        err2("ggml_get_rows", "the indices b must be i32", a, b);
        return NULL;
    }
    if (a->ne[2] != b->ne[1] || a->ne[3] != b->ne[2] || b->ne[3] != 1) {
        err2("ggml_get_rows", "shapes do not fit (a->ne[2] == b->ne[1], a->ne[3] == b->ne[2], b->ne[3] == 1)", a, b);
        return NULL;
    }
    const enum ggml_type type = a->type == GGML_TYPE_I32 ? GGML_TYPE_I32 : GGML_TYPE_F32;
    struct ggml_tensor * r = ggml_new_tensor_4d(ctx, type, a->ne[0], b->ne[0], b->ne[1], b->ne[2]);
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_GET_ROWS;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_set_rows(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c) {
    if (!args_ok(ctx, "ggml_set_rows", 3, a, b, c)) {
        return NULL;
    }
    if (a->ne[0] != b->ne[0] || a->ne[2] != b->ne[2] || a->ne[3] != b->ne[3]) {
        err2("ggml_set_rows", "the rows b do not fit a (ne[0], ne[2], ne[3] must match)", a, b);
        return NULL;
    }
    if (b->ne[1] != c->ne[0] || c->ne[1] == 0 || c->ne[2] == 0 ||
        b->ne[2] % c->ne[1] != 0 || b->ne[3] % c->ne[2] != 0 || c->ne[3] != 1) {
        err2("ggml_set_rows", "the indices (as b) do not fit the rows (as a) (b->ne[1] == c->ne[0], broadcast over ne[2], ne[3])", b, c);
        return NULL;
    }
    if (b->type != GGML_TYPE_F32 || (c->type != GGML_TYPE_I64 && c->type != GGML_TYPE_I32)) {
        err2("ggml_set_rows", "the rows (as a) must be f32 and the indices (as b) i32 or i64", b, c);
        return NULL;
    }
    if (!ggml_is_contiguous_rows(a) || !ggml_is_contiguous_rows(b)) {
        err2("ggml_set_rows", "a and b must have contiguous rows", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggml_view_tensor(ctx, a);
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_SET_ROWS;
    r->src[0] = b;
    r->src[1] = c;
    r->src[2] = a;
    return r;
}

//
// Masks and soft_max
//

static struct ggml_tensor * diag_mask_impl(struct ggml_context * ctx, struct ggml_tensor * a, int n_past,
        bool inplace, enum ggml_op op, const char * fn) {
    struct ggml_tensor * r = op_a(ctx, a, inplace, op, fn);
    if (r != NULL) {
        const int32_t params[1] = { n_past };
        set_op_params(r, params, sizeof(params));
    }
    return r;
}

struct ggml_tensor * ggml_diag_mask_inf(struct ggml_context * ctx, struct ggml_tensor * a, int n_past) {
    return diag_mask_impl(ctx, a, n_past, false, GGML_OP_DIAG_MASK_INF, "ggml_diag_mask_inf");
}

struct ggml_tensor * ggml_diag_mask_inf_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_past) {
    return diag_mask_impl(ctx, a, n_past, true, GGML_OP_DIAG_MASK_INF, "ggml_diag_mask_inf_inplace");
}

struct ggml_tensor * ggml_diag_mask_zero(struct ggml_context * ctx, struct ggml_tensor * a, int n_past) {
    return diag_mask_impl(ctx, a, n_past, false, GGML_OP_DIAG_MASK_ZERO, "ggml_diag_mask_zero");
}

struct ggml_tensor * ggml_diag_mask_zero_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_past) {
    return diag_mask_impl(ctx, a, n_past, true, GGML_OP_DIAG_MASK_ZERO, "ggml_diag_mask_zero_inplace");
}

static struct ggml_tensor * soft_max_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask,
        float scale, float max_bias, bool inplace, const char * fn) {
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    if (!ggml_is_contiguous(a)) {
        err1(fn, "a must be contiguous", a);
        return NULL;
    }
    if (mask != NULL) {
        if (mask->type != GGML_TYPE_F16 && mask->type != GGML_TYPE_F32) {
            err2(fn, "the mask (as b) must be f16 or f32", a, mask);
            return NULL;
        }
        if (!ggml_is_contiguous(mask)) {
            err2(fn, "the mask (as b) must be contiguous", a, mask);
            return NULL;
        }
        if (mask->ne[0] != a->ne[0] || mask->ne[1] < a->ne[1] || mask->ne[2] == 0 || mask->ne[3] == 0 ||
            a->ne[2] % mask->ne[2] != 0 || a->ne[3] % mask->ne[3] != 0) {
            err2(fn, "the mask (as b) does not fit a (same ne[0], at least a's ne[1], broadcast over ne[2], ne[3])", a, mask);
            return NULL;
        }
    }
    if (max_bias > 0.0f && mask == NULL) {
        err1(fn, "max_bias > 0 (ALiBi) needs a mask", a);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    const float params[2] = { scale, max_bias };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_SOFT_MAX;
    r->src[0] = a;
    r->src[1] = mask;
    return r;
}

struct ggml_tensor * ggml_soft_max(struct ggml_context * ctx, struct ggml_tensor * a) {
    return soft_max_impl(ctx, a, NULL, 1.0f, 0.0f, false, "ggml_soft_max");
}

struct ggml_tensor * ggml_soft_max_inplace(struct ggml_context * ctx, struct ggml_tensor * a) {
    return soft_max_impl(ctx, a, NULL, 1.0f, 0.0f, true, "ggml_soft_max_inplace");
}

struct ggml_tensor * ggml_soft_max_ext(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask,
        float scale, float max_bias) {
    return soft_max_impl(ctx, a, mask, scale, max_bias, false, "ggml_soft_max_ext");
}

struct ggml_tensor * ggml_soft_max_ext_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask,
        float scale, float max_bias) {
    return soft_max_impl(ctx, a, mask, scale, max_bias, true, "ggml_soft_max_ext_inplace");
}

//
// RoPE
//

// The rotation dimension whose wavelength fits n_rot times into the original context.
static float rope_yarn_corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
    return (float) n_dims * logf((float) n_ctx_orig / (n_rot * 2.0f * 3.14159265358979323846f)) / (2.0f * logf(base));
}

void ggml_rope_yarn_corr_dims(int n_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow,
        float dims[2]) {
    dims[0] = fmaxf(0.0f, floorf(rope_yarn_corr_dim(n_dims, n_ctx_orig, beta_fast, freq_base)));
    dims[1] = fminf((float) (n_dims - 1), ceilf(rope_yarn_corr_dim(n_dims, n_ctx_orig, beta_slow, freq_base)));
}

// One constructor for every rope form. The multi-section modes (ggml_rope_multi) read 4 position
// streams and a split of the rotated pairs into sections; the kernel divides by the sections' sum,
// so a multi mode without sections (as ggml_rope_ext would give it) is refused here.
static struct ggml_tensor * rope_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, const int * sections, int mode, int n_ctx_orig, float freq_base,
        float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow, bool inplace,
        const char * fn) {
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    if (mode & 1) {
        err2(fn, "mode & 1 is not supported (as in ggml)", a, b);
        return NULL;
    }
    const bool mrope  = (mode & GGML_ROPE_TYPE_MROPE) != 0;
    const bool vision = mode == GGML_ROPE_TYPE_VISION;
    if (mode != 0 && mode != GGML_ROPE_TYPE_NEOX && mode != GGML_ROPE_TYPE_MROPE && mode != GGML_ROPE_TYPE_IMROPE &&
        !vision) {
        char msg[160];
        snprintf(msg, sizeof(msg), "mode %d is not a rope type (0, NEOX %d, MROPE %d, IMROPE %d, VISION %d)", mode,
                 GGML_ROPE_TYPE_NEOX, GGML_ROPE_TYPE_MROPE, GGML_ROPE_TYPE_IMROPE, GGML_ROPE_TYPE_VISION);
        err1(fn, msg, a);
        return NULL;
    }
    if (mrope && sections == NULL) {
        err1(fn, "the multi-section modes need sections: use ggml_rope_multi", a);
        return NULL;
    }
    if (!ggml_is_vector(b) || b->type != GGML_TYPE_I32) {
        err2(fn, "the positions b must be an i32 vector", a, b);
        return NULL;
    }
    // ggml_rope_multi always takes 4 streams, whatever the mode
    const int64_t n_pos = sections != NULL ? a->ne[2] * 4 : a->ne[2];
    if (b->ne[0] != n_pos) {
        err2(fn, sections != NULL ? "b must hold 4 positions per a->ne[2]" : "b must hold one position per a->ne[2]",
             a, b);
        return NULL;
    }
    if (n_dims < 0 || n_dims > a->ne[0]) {
        char msg[64];
        snprintf(msg, sizeof(msg), "n_dims %d is not in 0..ne[0]", n_dims);
        err1(fn, msg, a);
        return NULL;
    }
    if (mrope) {
        int64_t sum = 0;
        bool neg = false;
        for (int i = 0; i < GGML_MROPE_SECTIONS; i++) {
            neg |= sections[i] < 0;
            sum += sections[i];
        }
        if (neg || sum <= 0 || sum > a->ne[0] || n_dims % 2 != 0) {
            char msg[160];
            snprintf(msg, sizeof(msg), "sections {%d, %d, %d, %d} must be >= 0 with a sum in 1..ne[0], n_dims %d even",
                     sections[0], sections[1], sections[2], sections[3], n_dims);
            err1(fn, msg, a);
            return NULL;
        }
        if (vision && (a->ne[0] % 2 != 0 || n_dims != a->ne[0] / 2)) {
            char msg[96];
            snprintf(msg, sizeof(msg), "the vision mode needs an even ne[0] and n_dims == ne[0]/2 (n_dims %d)", n_dims);
            err1(fn, msg, a);
            return NULL;
        }
    }
    // the vision mode rotates ne[0]/2 == n_dims pairs, the others n_dims/2
    const int64_t n_ff = vision ? n_dims : n_dims / 2;
    if (c != NULL && (c->type != GGML_TYPE_F32 || c->ne[0] < n_ff)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "the frequency factors (as b) must be f32 with at least %lld elements", (long long) n_ff);
        err2(fn, msg, a, c);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    int32_t params[15] = { 0, n_dims, mode, 0, n_ctx_orig };
    memcpy(params +  5, &freq_base,   sizeof(float));
    memcpy(params +  6, &freq_scale,  sizeof(float));
    memcpy(params +  7, &ext_factor,  sizeof(float));
    memcpy(params +  8, &attn_factor, sizeof(float));
    memcpy(params +  9, &beta_fast,   sizeof(float));
    memcpy(params + 10, &beta_slow,   sizeof(float));
    if (sections != NULL) {
        memcpy(params + 11, sections, GGML_MROPE_SECTIONS * sizeof(int32_t));
    }
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_ROPE;
    r->src[0] = a;
    r->src[1] = b;
    r->src[2] = c;
    return r;
}

struct ggml_tensor * ggml_rope_ext(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale,
        float ext_factor, float attn_factor, float beta_fast, float beta_slow) {
    return rope_impl(ctx, a, b, c, n_dims, NULL, mode, n_ctx_orig, freq_base, freq_scale, ext_factor, attn_factor,
            beta_fast, beta_slow, false, "ggml_rope_ext");
}

struct ggml_tensor * ggml_rope_ext_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale,
        float ext_factor, float attn_factor, float beta_fast, float beta_slow) {
    return rope_impl(ctx, a, b, c, n_dims, NULL, mode, n_ctx_orig, freq_base, freq_scale, ext_factor, attn_factor,
            beta_fast, beta_slow, true, "ggml_rope_ext_inplace");
}

static struct ggml_tensor * rope_multi_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int sections[GGML_MROPE_SECTIONS], int mode, int n_ctx_orig,
        float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow,
        bool inplace, const char * fn) {
    if (sections == NULL) {
        GGML_LOG_ERROR("%s: sections is NULL\n", fn);
        return NULL;
    }
    return rope_impl(ctx, a, b, c, n_dims, sections, mode, n_ctx_orig, freq_base, freq_scale, ext_factor,
            attn_factor, beta_fast, beta_slow, inplace, fn);
}

struct ggml_tensor * ggml_rope_multi(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int sections[GGML_MROPE_SECTIONS], int mode, int n_ctx_orig,
        float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow) {
    return rope_multi_impl(ctx, a, b, c, n_dims, sections, mode, n_ctx_orig, freq_base, freq_scale, ext_factor,
            attn_factor, beta_fast, beta_slow, false, "ggml_rope_multi");
}

struct ggml_tensor * ggml_rope_multi_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int sections[GGML_MROPE_SECTIONS], int mode, int n_ctx_orig,
        float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow) {
    return rope_multi_impl(ctx, a, b, c, n_dims, sections, mode, n_ctx_orig, freq_base, freq_scale, ext_factor,
            attn_factor, beta_fast, beta_slow, true, "ggml_rope_multi_inplace");
}

struct ggml_tensor * ggml_rope_set_offset(struct ggml_tensor * a, int n_offs) {
    if (a == NULL || a->op != GGML_OP_ROPE) {
        GGML_LOG_ERROR("ggml_rope_set_offset: %s is not a ROPE node\n", a ? a->name : "(null)");
        return NULL;
    }
    const int n_dims = a->op_params[1], mode = a->op_params[2];
    if (n_offs < 0 || n_offs % 2 != 0 || (int64_t) n_offs + n_dims > a->ne[0] ||
        (mode == GGML_ROPE_TYPE_VISION && n_offs != 0)) {
        GGML_LOG_ERROR("ggml_rope_set_offset: '%s': offset %d must be even, >= 0, and leave the %d rotated channels "
                       "inside ne[0] = %" PRId64 " (0 in the vision mode)\n", a->name, n_offs, n_dims, a->ne[0]);
        return NULL;
    }
    a->op_params[15] = n_offs;
    return a;
}

struct ggml_tensor * ggml_rope(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int n_dims, int mode) {
    return rope_impl(ctx, a, b, NULL, n_dims, NULL, mode, 0, 10000.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, false, "ggml_rope");
}

struct ggml_tensor * ggml_rope_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int n_dims, int mode) {
    return rope_impl(ctx, a, b, NULL, n_dims, NULL, mode, 0, 10000.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, true,
            "ggml_rope_inplace");
}

//
// Convolution and pooling
//

struct ggml_tensor * ggml_im2col(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1, bool is_2D, enum ggml_type dst_type) {
    if (!args_ok(ctx, "ggml_im2col", 2, a, b, NULL)) {
        return NULL;
    }
    if (s0 <= 0 || d0 <= 0 || p0 < 0 || (is_2D && (s1 <= 0 || d1 <= 0 || p1 < 0))) {
        char msg[128];
        snprintf(msg, sizeof(msg), "strides and dilations must be > 0 and paddings >= 0 (s %d %d, p %d %d, d %d %d)",
                s0, s1, p0, p1, d0, d1);
        err2("ggml_im2col", msg, a, b);
        return NULL;
    }
    if (is_2D ? a->ne[2] != b->ne[2] : (a->ne[1] != b->ne[1] || b->ne[3] != 1)) {
        err2("ggml_im2col", is_2D ? "kernel a and data b have different channel counts (ne[2])"
                                  : "kernel a and data b have different channel counts (ne[1]), or b->ne[3] != 1", a, b);
        return NULL;
    }
    const int64_t OH = is_2D ? conv_output_size(b->ne[1], a->ne[1], s1, p1, d1) : 0;
    const int64_t OW = conv_output_size(b->ne[0], a->ne[0], s0, p0, d0);
    if ((is_2D && OH <= 0) || OW <= 0) {
        err2("ggml_im2col", "the data b is too small for the kernel a", a, b);
        return NULL;
    }
    int64_t patch = 0;
    if (__builtin_mul_overflow(a->ne[1], a->ne[0], &patch) || (is_2D && __builtin_mul_overflow(patch, a->ne[2], &patch))) {
        err2("ggml_im2col", "the kernel's patch size overflows", a, b);
        return NULL;
    }
    const int64_t ne[4] = {
        patch,
        OW,
        is_2D ? OH : b->ne[2],
        is_2D ? b->ne[3] : 1,
    };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, dst_type, 4, ne, NULL, 0, "ggml_im2col");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[7] = { s0, s1, p0, p1, d0, d1, is_2D ? 1 : 0 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_IM2COL;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_conv_2d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1) {
    if (!args_ok(ctx, "ggml_conv_2d", 2, a, b, NULL)) {
        return NULL;
    }
    // [N, OH, OW, IC*KH*KW] in ggml's order of extents: ne = [IC*KH*KW, OW, OH, N]
    struct ggml_tensor * im2col = ggml_im2col(ctx, a, b, s0, s1, p0, p1, d0, d1, true, a->type);
    if (im2col == NULL) {
        return NULL;
    }
    struct ggml_tensor * cols = ggml_reshape_2d(ctx, im2col, im2col->ne[0], im2col->ne[3] * im2col->ne[2] * im2col->ne[1]);
    struct ggml_tensor * kern = ggml_reshape_2d(ctx, a, a->ne[0] * a->ne[1] * a->ne[2], a->ne[3]);
    struct ggml_tensor * r = ggml_mul_mat(ctx, cols, kern);                  // [OC, N*OH*OW]
    if (r == NULL) {
        return NULL;
    }
    r = ggml_reshape_4d(ctx, r, im2col->ne[1], im2col->ne[2], im2col->ne[3], a->ne[3]); // [OC, N, OH, OW]
    r = ggml_permute(ctx, r, 0, 1, 3, 2);                                      // [N, OC, OH, OW]
    return ggml_cont(ctx, r);
}

// (ins + 2p - k) / s + 1, computed in float as ggml does, then truncated
static int64_t pool_output_size(int64_t ins, int ks, int s, float p) {
    return (int64_t) (((float) ins + 2 * p - (float) ks) / (float) s + 1);
}

struct ggml_tensor * ggml_pool_2d(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op_pool op,
        int k0, int k1, int s0, int s1, float p0, float p1) {
    if (!args_ok(ctx, "ggml_pool_2d", 1, a, NULL, NULL)) {
        return NULL;
    }
    if ((int) op < 0 || op >= GGML_OP_POOL_COUNT || k0 <= 0 || k1 <= 0 || s0 <= 0 || s1 <= 0 ||
        !(p0 >= 0.0f && p0 < 1e9f) || !(p1 >= 0.0f && p1 < 1e9f)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "bad pooling parameters (op %d, k %d %d, s %d %d, p %g %g)",
                (int) op, k0, k1, s0, s1, (double) p0, (double) p1);
        err1("ggml_pool_2d", msg, a);
        return NULL;
    }
    const int64_t ne[4] = {
        pool_output_size(a->ne[0], k0, s0, p0),
        pool_output_size(a->ne[1], k1, s1, p1),
        a->ne[2],
        a->ne[3],
    };
    if (ne[0] <= 0 || ne[1] <= 0) {
        err1("ggml_pool_2d", "a is too small for the pooling window", a);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_pool_2d");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[7] = { (int32_t) op, k0, k1, s0, s1, (int32_t) p0, (int32_t) p1 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_POOL_2D;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_pad(struct ggml_context * ctx, struct ggml_tensor * a, int p0, int p1, int p2, int p3) {
    if (!args_ok(ctx, "ggml_pad", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (p0 < 0 || p1 < 0 || p2 < 0 || p3 < 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "negative padding (%d, %d, %d, %d)", p0, p1, p2, p3);
        err1("ggml_pad", msg, a);
        return NULL;
    }
    // a's extents are far below INT64_MAX - INT_MAX (their byte size fits in size_t)
    struct ggml_tensor * r = ggml_new_tensor_4d(ctx, a->type, a->ne[0] + p0, a->ne[1] + p1, a->ne[2] + p2, a->ne[3] + p3);
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[9] = { 0, p0, 0, p1, 0, p2, 0, p3, 0 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_PAD;
    r->src[0] = a;
    return r;
}
