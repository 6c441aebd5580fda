// ops-unsupported.c — the constructors of ggml's ops that ggalloc names and numbers but does not
// build: the backward ops, losses and optimizer steps of training, and the model-specific
// recurrent ops. Each logs that the op is not supported here and returns NULL, so a program
// written for ggml compiles and learns at run time, with a message, which op is missing. A graph
// holding such a node (loaded from a file, say) is refused by compute: no backend has a kernel.

#include "ggml-impl.h"

static struct ggml_tensor * unsupported(const char * fn) {
    GGML_LOG_ERROR("%s: this op is not supported by ggalloc (training and model-specific recurrent ops are "
            "named and numbered as in ggml, but not built)\n", fn);
    return NULL;
}

struct ggml_tensor * ggml_silu_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    (void) ctx; (void) a; (void) b;
    return unsupported("ggml_silu_back");
}

struct ggml_tensor * ggml_rms_norm_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, float eps) {
    (void) ctx; (void) a; (void) b; (void) eps;
    return unsupported("ggml_rms_norm_back");
}

struct ggml_tensor * ggml_repeat_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    (void) ctx; (void) a; (void) b;
    return unsupported("ggml_repeat_back");
}

struct ggml_tensor * ggml_get_rows_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c) {
    (void) ctx; (void) a; (void) b; (void) c;
    return unsupported("ggml_get_rows_back");
}

struct ggml_tensor * ggml_soft_max_ext_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        float scale, float max_bias) {
    (void) ctx; (void) a; (void) b; (void) scale; (void) max_bias;
    return unsupported("ggml_soft_max_ext_back");
}

struct ggml_tensor * ggml_soft_max_ext_back_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        float scale, float max_bias) {
    (void) ctx; (void) a; (void) b; (void) scale; (void) max_bias;
    return unsupported("ggml_soft_max_ext_back_inplace");
}

struct ggml_tensor * ggml_rope_ext_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor,
        float attn_factor, float beta_fast, float beta_slow) {
    (void) ctx; (void) a; (void) b; (void) c; (void) n_dims; (void) mode; (void) n_ctx_orig; (void) freq_base;
    (void) freq_scale; (void) ext_factor; (void) attn_factor; (void) beta_fast; (void) beta_slow;
    return unsupported("ggml_rope_ext_back");
}

struct ggml_tensor * ggml_rope_multi_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int sections[4], int mode, int n_ctx_orig, float freq_base, float freq_scale,
        float ext_factor, float attn_factor, float beta_fast, float beta_slow) {
    (void) ctx; (void) a; (void) b; (void) c; (void) n_dims; (void) sections; (void) mode; (void) n_ctx_orig;
    (void) freq_base; (void) freq_scale; (void) ext_factor; (void) attn_factor; (void) beta_fast; (void) beta_slow;
    return unsupported("ggml_rope_multi_back");
}

struct ggml_tensor * ggml_pool_2d_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * af,
        enum ggml_op_pool op, int k0, int k1, int s0, int s1, float p0, float p1) {
    (void) ctx; (void) a; (void) af; (void) op; (void) k0; (void) k1; (void) s0; (void) s1; (void) p0; (void) p1;
    return unsupported("ggml_pool_2d_back");
}

struct ggml_tensor * ggml_flash_attn_back(struct ggml_context * ctx, struct ggml_tensor * q, struct ggml_tensor * k,
        struct ggml_tensor * v, struct ggml_tensor * d, bool masked) {
    (void) ctx; (void) q; (void) k; (void) v; (void) d; (void) masked;
    return unsupported("ggml_flash_attn_back");
}

struct ggml_tensor * ggml_cross_entropy_loss(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    (void) ctx; (void) a; (void) b;
    return unsupported("ggml_cross_entropy_loss");
}

struct ggml_tensor * ggml_cross_entropy_loss_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c) {
    (void) ctx; (void) a; (void) b; (void) c;
    return unsupported("ggml_cross_entropy_loss_back");
}

struct ggml_tensor * ggml_opt_step_adamw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * grad,
        struct ggml_tensor * m, struct ggml_tensor * v, struct ggml_tensor * adamw_params) {
    (void) ctx; (void) a; (void) grad; (void) m; (void) v; (void) adamw_params;
    return unsupported("ggml_opt_step_adamw");
}

struct ggml_tensor * ggml_opt_step_sgd(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * grad,
        struct ggml_tensor * sgd_params) {
    (void) ctx; (void) a; (void) grad; (void) sgd_params;
    return unsupported("ggml_opt_step_sgd");
}

struct ggml_tensor * ggml_ssm_conv(struct ggml_context * ctx, struct ggml_tensor * sx, struct ggml_tensor * c) {
    (void) ctx; (void) sx; (void) c;
    return unsupported("ggml_ssm_conv");
}

struct ggml_tensor * ggml_ssm_scan(struct ggml_context * ctx, struct ggml_tensor * s, struct ggml_tensor * x,
        struct ggml_tensor * dt, struct ggml_tensor * A, struct ggml_tensor * B, struct ggml_tensor * C, struct ggml_tensor * ids) {
    (void) ctx; (void) s; (void) x; (void) dt; (void) A; (void) B; (void) C; (void) ids;
    return unsupported("ggml_ssm_scan");
}

struct ggml_tensor * ggml_rwkv_wkv6(struct ggml_context * ctx, struct ggml_tensor * k, struct ggml_tensor * v,
        struct ggml_tensor * r, struct ggml_tensor * tf, struct ggml_tensor * td, struct ggml_tensor * state) {
    (void) ctx; (void) k; (void) v; (void) r; (void) tf; (void) td; (void) state;
    return unsupported("ggml_rwkv_wkv6");
}

struct ggml_tensor * ggml_gated_linear_attn(struct ggml_context * ctx, struct ggml_tensor * k, struct ggml_tensor * v,
        struct ggml_tensor * q, struct ggml_tensor * g, struct ggml_tensor * state, float scale) {
    (void) ctx; (void) k; (void) v; (void) q; (void) g; (void) state; (void) scale;
    return unsupported("ggml_gated_linear_attn");
}

struct ggml_tensor * ggml_rwkv_wkv7(struct ggml_context * ctx, struct ggml_tensor * r, struct ggml_tensor * w,
        struct ggml_tensor * k, struct ggml_tensor * v, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * state) {
    (void) ctx; (void) r; (void) w; (void) k; (void) v; (void) a; (void) b; (void) state;
    return unsupported("ggml_rwkv_wkv7");
}

struct ggml_tensor * ggml_solve_tri(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, bool left,
        bool lower, bool uni) {
    (void) ctx; (void) a; (void) b; (void) left; (void) lower; (void) uni;
    return unsupported("ggml_solve_tri");
}
