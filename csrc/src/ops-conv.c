// ops-conv.c — constructors of the convolution and image ops (conv_1d family through im2col +
// mul_mat as ggml builds them, transposed convolutions, pool_1d, upscale / interpolate, the
// paddings, roll, relative positions) and of the custom ops that call back into the program.
//
// Shapes and op_params are ggml's:
//   IM2COL_3D          int s0, s1, s2, p0, p1, p2, d0, d1, d2, IC; src = kernel [KW, KH, KD, OC*IC],
//                      data [IW, IH, ID, N*IC]; result [KW*KH*KD*IC, OW, OH, OD*N]
//   CONV_3D            int s0, s1, s2, p0, p1, p2, d0, d1, d2, c, n, oc (ggml_conv_3d_direct); src as IM2COL_3D,
//                      result f32 [OW, OH, OD, N*OC]
//   COL2IM_1D          int s0, oc, p0; src = columns [K*OC, T_in]; result [(T_in-1)*s0 + K - 2*p0, OC]
//   CONV_TRANSPOSE_1D  int s0, p0, d0; src = kernel [K, Cout, Cin], data [L, Cin]
//   CONV_TRANSPOSE_2D  int stride; src = kernel [Kw, Kh, Cout, Cin], data [W, H, Cin, N]
//   POOL_1D            int op, k0, s0, p0
//   UPSCALE            int mode (ggml_scale_mode | flags)
//   PAD                int lp0, rp0, lp1, rp1, lp2, rp2, lp3, rp3 (ggml_pad_ext)
//   PAD_REFLECT_1D     int p0, p1
//   ROLL               int shift0..shift3
//   GET_REL_POS        (none); ADD_REL_POS  int inplace; src = a, pw, ph
//   MAP_CUSTOM1..3     struct { fun, n_tasks, userdata };  CUSTOM  struct { fun, n_tasks, userdata },
//                      src = the arguments
//
// Bad input never aborts: a log line naming the tensors, and NULL.

#include "ggml-impl.h"
#include "ops-impl.h"
#include "ggalloc-ops.h"

#include <math.h>

//
// Convolutions built from im2col and mul_mat
//

struct ggml_tensor * ggml_conv_1d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int p0, int d0) {
    struct ggml_tensor * im2col = ggml_im2col(ctx, a, b, s0, 0, p0, 0, d0, 0, false, GGML_TYPE_F16); // [N, OL, IC*K]
    if (im2col == NULL) {
        return NULL;
    }
    struct ggml_tensor * r = ggml_mul_mat(ctx,
            ggml_reshape_2d(ctx, im2col, im2col->ne[0], im2col->ne[2] * im2col->ne[1]),
            ggml_reshape_2d(ctx, a, a->ne[0] * a->ne[1], a->ne[2]));                        // [N*OL, OC]
    return ggml_reshape_3d(ctx, r, im2col->ne[1], a->ne[2], im2col->ne[2]);                // [OL, OC, N]
}

struct ggml_tensor * ggml_conv_1d_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s, int d) {
    return ggml_conv_1d(ctx, a, b, s, a ? (int) (a->ne[0] / 2) : 0, d);
}

struct ggml_tensor * ggml_conv_1d_dw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int p0, int d0) {
    if (!args_ok(ctx, "ggml_conv_1d_dw", 2, a, b, NULL)) {
        return NULL;
    }
    // kernel a [K, 1, C]: each channel of b is its own one-channel convolution (channels to ne[2])
    struct ggml_tensor * new_b = ggml_reshape_4d(ctx, b, b->ne[0], 1, b->ne[1], b->ne[2]);
    struct ggml_tensor * im2col = ggml_im2col(ctx, a, new_b, s0, 0, p0, 0, d0, 0, false, GGML_TYPE_F16);
    struct ggml_tensor * r = ggml_mul_mat(ctx, im2col, a);
    return r ? ggml_reshape_3d(ctx, r, r->ne[0], r->ne[2], 1) : NULL;
}

struct ggml_tensor * ggml_conv_2d_sk_p0(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return a ? ggml_conv_2d(ctx, a, b, (int) a->ne[0], (int) a->ne[1], 0, 0, 1, 1) : NULL;
}

struct ggml_tensor * ggml_conv_2d_s1_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b) {
    return a ? ggml_conv_2d(ctx, a, b, 1, 1, (int) (a->ne[0] / 2), (int) (a->ne[1] / 2), 1, 1) : NULL;
}

// depthwise: each channel of b convolved with its own kernel (a [KW, KH, 1, C])
struct ggml_tensor * ggml_conv_2d_dw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1) {
    if (!args_ok(ctx, "ggml_conv_2d_dw", 2, a, b, NULL)) {
        return NULL;
    }
    struct ggml_tensor * new_a = ggml_reshape_4d(ctx, a, a->ne[0], a->ne[1], 1, a->ne[2] * a->ne[3]);
    struct ggml_tensor * new_b = ggml_reshape_4d(ctx, b, b->ne[0], b->ne[1], 1, b->ne[2] * b->ne[3]);
    struct ggml_tensor * im2col = ggml_im2col(ctx, new_a, new_b, s0, s1, p0, p1, d0, d1, true, GGML_TYPE_F16);
    if (im2col == NULL || new_a == NULL) {
        return NULL;
    }
    struct ggml_tensor * new_b2 = ggml_reshape_4d(ctx, im2col, im2col->ne[0], im2col->ne[2] * im2col->ne[1], b->ne[2], b->ne[3]);
    new_a = ggml_reshape_4d(ctx, new_a, new_a->ne[0] * new_a->ne[1], new_a->ne[2], new_a->ne[3], 1);
    struct ggml_tensor * r = ggml_mul_mat(ctx, new_a, new_b2);
    return r ? ggml_reshape_4d(ctx, r, im2col->ne[1], im2col->ne[2], b->ne[2], b->ne[3]) : NULL;
}

// Direct convolutions: computed in place of im2col + mul_mat, without the im2col buffer.
static struct ggml_tensor * conv_2d_direct_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1, bool dw, const char * fn) {
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    if (dw ? (a->ne[2] != 1 || a->ne[3] != b->ne[2]) : a->ne[2] != b->ne[2]) {
        err2(fn, dw ? "the kernel a must be [KW, KH, 1, C] with b's C (ne[2])" : "the kernel a must be [KW, KH, IC, OC] with b's IC (ne[2])", a, b);
        return NULL;
    }
    if (s0 < 1 || s1 < 1 || d0 < 1 || d1 < 1 || p0 < 0 || p1 < 0) {
        err2(fn, "strides and dilations must be >= 1 and paddings >= 0", a, b);
        return NULL;
    }
    const int64_t ne[4] = { conv_output_size(b->ne[0], a->ne[0], s0, p0, d0), conv_output_size(b->ne[1], a->ne[1], s1, p1, d1),
                            dw ? b->ne[2] : a->ne[3], b->ne[3] };
    if (ne[0] <= 0 || ne[1] <= 0) {
        err2(fn, "the data b is too small for the kernel a", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, fn);
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[6] = { s0, s1, p0, p1, d0, d1 };
    set_op_params(r, params, sizeof(params));
    r->op     = dw ? GGML_OP_CONV_2D_DW : GGML_OP_CONV_2D;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_conv_2d_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1) {
    return conv_2d_direct_impl(ctx, a, b, s0, s1, p0, p1, d0, d1, false, "ggml_conv_2d_direct");
}

struct ggml_tensor * ggml_conv_2d_dw_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int stride0, int stride1, int pad0, int pad1, int dilation0, int dilation1) {
    return conv_2d_direct_impl(ctx, a, b, stride0, stride1, pad0, pad1, dilation0, dilation1, true, "ggml_conv_2d_dw_direct");
}

//
// 3D convolution (im2col_3d + mul_mat) and col2im_1d
//

struct ggml_tensor * ggml_im2col_3d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int64_t IC, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2, enum ggml_type dst_type) {
    const char * fn = "ggml_im2col_3d";
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    if (s0 < 1 || s1 < 1 || s2 < 1 || d0 < 1 || d1 < 1 || d2 < 1 || p0 < 0 || p1 < 0 || p2 < 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "strides and dilations must be > 0 and paddings >= 0 (s %d %d %d, p %d %d %d, d %d %d %d)",
                 s0, s1, s2, p0, p1, p2, d0, d1, d2);
        err2(fn, msg, a, b);
        return NULL;
    }
    // channels ride in ne[3] of both: kernel [KW, KH, KD, OC*IC], data [IW, IH, ID, N*IC]
    if (IC < 1 || IC > INT32_MAX || a->ne[3] % IC != 0 || b->ne[3] % IC != 0) {
        char msg[96];
        snprintf(msg, sizeof(msg), "IC %lld must divide the kernel's and the data's ne[3]", (long long) IC);
        err2(fn, msg, a, b);
        return NULL;
    }
    if (dst_type != GGML_TYPE_F32 && dst_type != GGML_TYPE_F16) {
        err2(fn, "dst_type must be f32 or f16", a, b);
        return NULL;
    }
    const int64_t N = b->ne[3] / IC;
    const int64_t OW = conv_output_size(b->ne[0], a->ne[0], s0, p0, d0);
    const int64_t OH = conv_output_size(b->ne[1], a->ne[1], s1, p1, d1);
    const int64_t OD = conv_output_size(b->ne[2], a->ne[2], s2, p2, d2);
    if (OW <= 0 || OH <= 0 || OD <= 0) {
        err2(fn, "the data b is too small for the kernel a", a, b);
        return NULL;
    }
    int64_t patch = 0, rows = 0;
    if (__builtin_mul_overflow(a->ne[0], a->ne[1], &patch) || __builtin_mul_overflow(patch, a->ne[2], &patch) ||
        __builtin_mul_overflow(patch, IC, &patch) || __builtin_mul_overflow(OD, N, &rows)) {
        err2(fn, "the patch size overflows", a, b);
        return NULL;
    }
    const int64_t ne[4] = { patch, OW, OH, rows };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, dst_type, 4, ne, NULL, 0, fn);
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[10] = { s0, s1, s2, p0, p1, p2, d0, d1, d2, (int32_t) IC };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_IM2COL_3D;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_conv_3d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int64_t IC, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2) {
    // [KW*KH*KD*IC, OW, OH, OD*N]
    struct ggml_tensor * cols = ggml_im2col_3d(ctx, a, b, IC, s0, s1, s2, p0, p1, p2, d0, d1, d2, a ? a->type : GGML_TYPE_F32);
    if (cols == NULL) {
        return NULL;
    }
    const int64_t OC = a->ne[3] / IC, N = b->ne[3] / IC;
    const int64_t OW = cols->ne[1], OH = cols->ne[2], OD = cols->ne[3] / N;
    struct ggml_tensor * r = ggml_mul_mat(ctx,
            ggml_reshape_2d(ctx, cols, cols->ne[0], OW * OH * cols->ne[3]),
            ggml_reshape_2d(ctx, a, cols->ne[0], OC));                    // [N*OD*OH*OW, OC]
    if (r == NULL) {
        return NULL;
    }
    r = ggml_reshape_4d(ctx, r, OW * OH, OD, N, OC);                      // [OH*OW, OD, N, OC]
    r = ggml_cont(ctx, ggml_permute(ctx, r, 0, 1, 3, 2));                 // [OH*OW, OD, OC, N]
    return ggml_reshape_4d(ctx, r, OW, OH, OD, OC * N);                   // [OW, OH, OD, N*OC]
}

struct ggml_tensor * ggml_conv_3d_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2, int n_channels, int n_batch,
        int n_channels_out) {
    const char * fn = "ggml_conv_3d_direct";
    if (!args_ok(ctx, fn, 2, a, b, NULL)) {
        return NULL;
    }
    const int64_t c = n_channels, n = n_batch, oc = n_channels_out;
    if (c < 1 || n < 1 || oc < 1 || a->ne[3] != c * oc || b->ne[3] != c * n) {
        char msg[160];
        snprintf(msg, sizeof(msg), "the kernel's ne[3] must be n_channels * n_channels_out and the data's n_channels * "
                 "n_batch (%d, %d, %d)", n_channels, n_batch, n_channels_out);
        err2(fn, msg, a, b);
        return NULL;
    }
    if (s0 < 1 || s1 < 1 || s2 < 1 || d0 < 1 || d1 < 1 || d2 < 1 || p0 < 0 || p1 < 0 || p2 < 0) {
        err2(fn, "strides and dilations must be > 0 and paddings >= 0", a, b);
        return NULL;
    }
    const int64_t ne[4] = {
        conv_output_size(b->ne[0], a->ne[0], s0, p0, d0),
        conv_output_size(b->ne[1], a->ne[1], s1, p1, d1),
        conv_output_size(b->ne[2], a->ne[2], s2, p2, d2),
        oc * n,
    };
    if (ne[0] <= 0 || ne[1] <= 0 || ne[2] <= 0) {
        err2(fn, "the data b is too small for the kernel a", a, b);
        return NULL;
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, fn);
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[12] = { s0, s1, s2, p0, p1, p2, d0, d1, d2, n_channels, n_batch, n_channels_out };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_CONV_3D;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_col2im_1d(struct ggml_context * ctx, struct ggml_tensor * a, int s0, int oc, int p0) {
    const char * fn = "ggml_col2im_1d";
    if (!args_ok(ctx, fn, 1, a, NULL, NULL)) {
        return NULL;
    }
    if (s0 < 1 || oc < 1 || p0 < 0 || a->ne[0] % oc != 0) {
        char msg[128];
        snprintf(msg, sizeof(msg), "needs stride >= 1, oc >= 1 dividing ne[0] and padding >= 0 (s0 %d, oc %d, p0 %d)",
                 s0, oc, p0);
        err1(fn, msg, a);
        return NULL;
    }
    if (a->type != GGML_TYPE_F32 && a->type != GGML_TYPE_F16 && a->type != GGML_TYPE_BF16) {
        err1(fn, "the columns must be f32, f16 or bf16", a);
        return NULL;
    }
    // a: [K*OC, T_in] columns, K taps per output channel -> [(T_in - 1)*s0 + K - 2*p0, OC]
    const int64_t K = a->ne[0] / oc;
    int64_t span = 0;
    if (__builtin_mul_overflow(a->ne[1] - 1, (int64_t) s0, &span) || span + K - 2 * (int64_t) p0 < 1) {
        err1(fn, "the padding leaves no output", a);
        return NULL;
    }
    const int64_t ne[4] = { span + K - 2 * (int64_t) p0, oc, a->ne[2], a->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 4, ne, NULL, 0, fn);
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[3] = { s0, oc, p0 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_COL2IM_1D;
    r->src[0] = a;
    return r;
}

//
// Transposed convolutions
//

struct ggml_tensor * ggml_conv_transpose_1d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int p0, int d0) {
    if (!args_ok(ctx, "ggml_conv_transpose_1d", 2, a, b, NULL)) {
        return NULL;
    }
    if (!ggml_is_matrix(b) || a->ne[2] != b->ne[1] || a->ne[3] != 1) {
        err2("ggml_conv_transpose_1d", "the kernel a must be [K, Cout, Cin] and the data b a matrix [L, Cin]", a, b);
        return NULL;
    }
    if (s0 < 1 || p0 != 0 || d0 != 1) {
        err2("ggml_conv_transpose_1d", "only stride >= 1, padding 0 and dilation 1 exist (as in ggml)", a, b);
        return NULL;
    }
    const int64_t ne[4] = { (b->ne[0] - 1) * s0 + a->ne[0], a->ne[1], 1, 1 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_conv_transpose_1d");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[3] = { s0, p0, d0 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_CONV_TRANSPOSE_1D;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

struct ggml_tensor * ggml_conv_transpose_2d_p0(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int stride) {
    if (!args_ok(ctx, "ggml_conv_transpose_2d_p0", 2, a, b, NULL)) {
        return NULL;
    }
    if (a->ne[3] != b->ne[2] || stride < 1) {
        err2("ggml_conv_transpose_2d_p0", "the kernel a must be [Kw, Kh, Cout, Cin] with b's Cin (ne[2]) and stride >= 1", a, b);
        return NULL;
    }
    const int64_t ne[4] = { (b->ne[0] - 1) * stride + a->ne[0], (b->ne[1] - 1) * stride + a->ne[1], a->ne[2], b->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_conv_transpose_2d_p0");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, stride);
    r->op     = GGML_OP_CONV_TRANSPOSE_2D;
    r->src[0] = a;
    r->src[1] = b;
    return r;
}

//
// Pooling, resampling, padding, roll
//

struct ggml_tensor * ggml_pool_1d(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op_pool op, int k0, int s0, int p0) {
    if (!args_ok(ctx, "ggml_pool_1d", 1, a, NULL, NULL)) {
        return NULL;
    }
    if ((op != GGML_OP_POOL_MAX && op != GGML_OP_POOL_AVG) || k0 < 1 || s0 < 1 || p0 < 0 || a->ne[0] + 2 * (int64_t) p0 < k0) {
        err1("ggml_pool_1d", "op must be MAX or AVG, k0 and s0 >= 1, p0 >= 0, and the kernel must fit the padded row", a);
        return NULL;
    }
    const int64_t ne[4] = { (a->ne[0] + 2 * p0 - k0) / s0 + 1, a->ne[1], a->ne[2], a->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_pool_1d");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[4] = { (int32_t) op, k0, s0, p0 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_POOL_1D;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_interpolate(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1,
        int64_t ne2, int64_t ne3, uint32_t mode) {
    if (!args_ok(ctx, "ggml_interpolate", 1, a, NULL, NULL)) {
        return NULL;
    }
    if ((mode & 0xff) >= GGML_SCALE_MODE_COUNT || ne0 < 1 || ne1 < 1 || ne2 < 1 || ne3 < 1) {
        err1("ggml_interpolate", "unknown scale mode or an extent below 1", a);
        return NULL;
    }
    if ((mode & GGML_SCALE_FLAG_ANTIALIAS) && (mode & 0xff) != GGML_SCALE_MODE_BILINEAR) {
        err1("ggml_interpolate", "GGML_SCALE_FLAG_ANTIALIAS exists for the bilinear mode only (as in ggml)", a);
        return NULL;
    }
    const int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 4, ne, NULL, 0, "ggml_interpolate");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, (int32_t) mode);
    r->op     = GGML_OP_UPSCALE;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_upscale_ext(struct ggml_context * ctx, struct ggml_tensor * a, int ne0, int ne1, int ne2, int ne3,
        enum ggml_scale_mode mode) {
    return ggml_interpolate(ctx, a, ne0, ne1, ne2, ne3, (uint32_t) mode);
}

struct ggml_tensor * ggml_upscale(struct ggml_context * ctx, struct ggml_tensor * a, int scale_factor, enum ggml_scale_mode mode) {
    if (a != NULL && scale_factor < 1) {
        err1("ggml_upscale", "scale_factor must be >= 1", a);
        return NULL;
    }
    return a ? ggml_interpolate(ctx, a, a->ne[0] * scale_factor, a->ne[1] * scale_factor, a->ne[2], a->ne[3], (uint32_t) mode)
             : ggml_interpolate(ctx, a, 1, 1, 1, 1, (uint32_t) mode);
}

struct ggml_tensor * ggml_pad_ext(struct ggml_context * ctx, struct ggml_tensor * a, int lp0, int rp0, int lp1, int rp1,
        int lp2, int rp2, int lp3, int rp3) {
    if (!args_ok(ctx, "ggml_pad_ext", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (lp0 < 0 || rp0 < 0 || lp1 < 0 || rp1 < 0 || lp2 < 0 || rp2 < 0 || lp3 < 0 || rp3 < 0) {
        err1("ggml_pad_ext", "paddings must be >= 0", a);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[0] + lp0 + rp0, a->ne[1] + lp1 + rp1, a->ne[2] + lp2 + rp2, a->ne[3] + lp3 + rp3 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 4, ne, NULL, 0, "ggml_pad_ext");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[8] = { lp0, rp0, lp1, rp1, lp2, rp2, lp3, rp3 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_PAD;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_pad_reflect_1d(struct ggml_context * ctx, struct ggml_tensor * a, int p0, int p1) {
    if (!args_ok(ctx, "ggml_pad_reflect_1d", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (p0 < 0 || p1 < 0 || p0 >= a->ne[0] || p1 >= a->ne[0] || a->type != GGML_TYPE_F32 || a->nb[0] != sizeof(float)) {
        err1("ggml_pad_reflect_1d", "a must be f32 with contiguous rows and 0 <= p0, p1 < ne[0]", a);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[0] + p0 + p1, a->ne[1], a->ne[2], a->ne[3] };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 4, ne, NULL, 0, "ggml_pad_reflect_1d");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[2] = { p0, p1 };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_PAD_REFLECT_1D;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_roll(struct ggml_context * ctx, struct ggml_tensor * a, int shift0, int shift1, int shift2, int shift3) {
    if (!args_ok(ctx, "ggml_roll", 1, a, NULL, NULL)) {
        return NULL;
    }
    const int shifts[4] = { shift0, shift1, shift2, shift3 };
    for (int d = 0; d < 4; d++) {
        if (a->ne[d] > 0 && (shifts[d] <= -a->ne[d] || shifts[d] >= a->ne[d])) {
            err1("ggml_roll", "each shift must be smaller than its extent", a);
            return NULL;
        }
    }
    struct ggml_tensor * r = op_a(ctx, a, false, GGML_OP_ROLL, "ggml_roll");
    if (r != NULL) {
        set_op_params(r, shifts, sizeof(shifts));
    }
    return r;
}

struct ggml_tensor * ggml_repeat_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1,
        int64_t ne2, int64_t ne3) {
    if (!args_ok(ctx, "ggml_repeat_4d", 1, a, NULL, NULL)) {
        return NULL;
    }
    const int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    for (int d = 0; d < 4; d++) {
        if (a->ne[d] == 0 || ne[d] < 1 || ne[d] % a->ne[d] != 0) {
            err1("ggml_repeat_4d", "each new extent must be a multiple of a's", a);
            return NULL;
        }
    }
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 4, ne, NULL, 0, "ggml_repeat_4d");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_REPEAT;
    r->src[0] = a;
    return r;
}

//
// Windows and relative positions (SAM)
//

struct ggml_tensor * ggml_win_part(struct ggml_context * ctx, struct ggml_tensor * a, int w) {
    if (!args_ok(ctx, "ggml_win_part", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (w < 1 || a->ne[3] != 1 || a->type != GGML_TYPE_F32) {
        err1("ggml_win_part", "a must be f32 [C, W, H, 1] and the window w >= 1", a);
        return NULL;
    }
    // the image is padded with zeros up to whole windows
    const int64_t px = (w - a->ne[1] % w) % w, py = (w - a->ne[2] % w) % w;
    const int64_t npx = (px + a->ne[1]) / w, npy = (py + a->ne[2]) / w;
    const int64_t ne[4] = { a->ne[0], w, w, npx * npy };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 4, ne, NULL, 0, "ggml_win_part");
    if (r == NULL) {
        return NULL;
    }
    const int32_t params[3] = { (int32_t) npx, (int32_t) npy, w };
    set_op_params(r, params, sizeof(params));
    r->op     = GGML_OP_WIN_PART;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_win_unpart(struct ggml_context * ctx, struct ggml_tensor * a, int w0, int h0, int w) {
    if (!args_ok(ctx, "ggml_win_unpart", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (w < 1 || w0 < 1 || h0 < 1 || a->type != GGML_TYPE_F32 || a->ne[1] != w || a->ne[2] != w ||
        a->ne[3] < (int64_t) ((w0 + w - 1) / w) * ((h0 + w - 1) / w)) {
        err1("ggml_win_unpart", "a must be f32 windows [C, w, w, n] covering w0 x h0", a);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[0], w0, h0, 1 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 3, ne, NULL, 0, "ggml_win_unpart");
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, w);
    r->op     = GGML_OP_WIN_UNPART;
    r->src[0] = a;
    return r;
}

struct ggml_tensor * ggml_get_rel_pos(struct ggml_context * ctx, struct ggml_tensor * a, int qh, int kh) {
    if (!args_ok(ctx, "ggml_get_rel_pos", 1, a, NULL, NULL)) {
        return NULL;
    }
    if (qh != kh || qh < 1 || 2 * (int64_t) qh - 1 != a->ne[1]) {
        err1("ggml_get_rel_pos", "qh must equal kh and a must have 2*qh - 1 rows", a);
        return NULL;
    }
    const int64_t ne[4] = { a->ne[0], kh, qh, 1 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, a->type, 3, ne, NULL, 0, "ggml_get_rel_pos");
    if (r == NULL) {
        return NULL;
    }
    r->op     = GGML_OP_GET_REL_POS;
    r->src[0] = a;
    return r;
}

static struct ggml_tensor * add_rel_pos_impl(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * pw,
        struct ggml_tensor * ph, bool inplace, const char * fn) {
    if (!args_ok(ctx, fn, 3, a, pw, ph)) {
        return NULL;
    }
    if (!ggml_are_same_shape(pw, ph) || !ggml_is_contiguous(a) || !ggml_is_contiguous(pw) || !ggml_is_contiguous(ph) ||
        pw->ne[0] * pw->ne[0] != a->ne[0] || pw->ne[1] * pw->ne[2] != a->ne[1] || a->type != GGML_TYPE_F32 ||
        pw->type != GGML_TYPE_F32 || ph->type != GGML_TYPE_F32) {
        err2(fn, "pw and ph (as b) must be contiguous f32 of one shape [w, w, h] with a [w*w, w*h, ...]", a, pw);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    set_op_params_i32(r, 0, inplace ? 1 : 0);
    r->op     = GGML_OP_ADD_REL_POS;
    r->src[0] = a;
    r->src[1] = pw;
    r->src[2] = ph;
    return r;
}

struct ggml_tensor * ggml_add_rel_pos(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * pw,
        struct ggml_tensor * ph) {
    return add_rel_pos_impl(ctx, a, pw, ph, false, "ggml_add_rel_pos");
}

struct ggml_tensor * ggml_add_rel_pos_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * pw,
        struct ggml_tensor * ph) {
    return add_rel_pos_impl(ctx, a, pw, ph, true, "ggml_add_rel_pos_inplace");
}

//
// Custom ops: the program's own kernels, called by every thread of the node
//

static struct ggml_tensor * map_custom_impl(struct ggml_context * ctx, enum ggml_op op, struct ggml_tensor * a,
        struct ggml_tensor * b, struct ggml_tensor * c, void (*fun)(void), int n_tasks, void * userdata, bool inplace,
        const char * fn) {
    const int n = op == GGML_OP_MAP_CUSTOM1 ? 1 : op == GGML_OP_MAP_CUSTOM2 ? 2 : 3;
    if (!args_ok(ctx, fn, n, a, b, c)) {
        return NULL;
    }
    if (fun == NULL || (n_tasks < 1 && n_tasks != GGML_N_TASKS_MAX)) {
        err1(fn, "fun must be set and n_tasks >= 1 or GGML_N_TASKS_MAX", a);
        return NULL;
    }
    struct ggml_tensor * r = like(ctx, a, inplace);
    if (r == NULL) {
        return NULL;
    }
    struct ggalloc_custom_params p = { .fun = fun, .n_tasks = n_tasks, .userdata = userdata };
    set_op_params(r, &p, sizeof(p));
    r->op     = op;
    r->src[0] = a;
    r->src[1] = b;
    r->src[2] = c;
    return r;
}

struct ggml_tensor * ggml_map_custom1(struct ggml_context * ctx, struct ggml_tensor * a, ggml_custom1_op_t fun,
        int n_tasks, void * userdata) {
    return map_custom_impl(ctx, GGML_OP_MAP_CUSTOM1, a, NULL, NULL, (void (*)(void)) fun, n_tasks, userdata, false, "ggml_map_custom1");
}

struct ggml_tensor * ggml_map_custom1_inplace(struct ggml_context * ctx, struct ggml_tensor * a, ggml_custom1_op_t fun,
        int n_tasks, void * userdata) {
    return map_custom_impl(ctx, GGML_OP_MAP_CUSTOM1, a, NULL, NULL, (void (*)(void)) fun, n_tasks, userdata, true, "ggml_map_custom1_inplace");
}

struct ggml_tensor * ggml_map_custom2(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        ggml_custom2_op_t fun, int n_tasks, void * userdata) {
    return map_custom_impl(ctx, GGML_OP_MAP_CUSTOM2, a, b, NULL, (void (*)(void)) fun, n_tasks, userdata, false, "ggml_map_custom2");
}

struct ggml_tensor * ggml_map_custom2_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        ggml_custom2_op_t fun, int n_tasks, void * userdata) {
    return map_custom_impl(ctx, GGML_OP_MAP_CUSTOM2, a, b, NULL, (void (*)(void)) fun, n_tasks, userdata, true, "ggml_map_custom2_inplace");
}

struct ggml_tensor * ggml_map_custom3(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, ggml_custom3_op_t fun, int n_tasks, void * userdata) {
    return map_custom_impl(ctx, GGML_OP_MAP_CUSTOM3, a, b, c, (void (*)(void)) fun, n_tasks, userdata, false, "ggml_map_custom3");
}

struct ggml_tensor * ggml_map_custom3_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, ggml_custom3_op_t fun, int n_tasks, void * userdata) {
    return map_custom_impl(ctx, GGML_OP_MAP_CUSTOM3, a, b, c, (void (*)(void)) fun, n_tasks, userdata, true, "ggml_map_custom3_inplace");
}

static struct ggml_tensor * custom_impl(struct ggml_context * ctx, struct ggml_tensor * r, struct ggml_tensor ** args,
        int n_args, ggml_custom_op_t fun, int n_tasks, void * userdata, const char * fn) {
    struct ggalloc_custom_params p = { .fun = (void (*)(void)) fun, .n_tasks = n_tasks, .userdata = userdata };
    set_op_params(r, &p, sizeof(p));
    r->op = GGML_OP_CUSTOM;
    for (int i = 0; i < n_args; i++) {
        if (args[i] == NULL) {
            GGML_LOG_ERROR("%s: argument %d is NULL\n", fn, i);
            return NULL;
        }
        r->src[i] = args[i];
    }
    return r;
}

static bool custom_args_ok(struct ggml_context * ctx, struct ggml_tensor ** args, int n_args, ggml_custom_op_t fun,
        int n_tasks, const char * fn) {
    if (ctx == NULL || fun == NULL || n_args < 0 || n_args > GGML_MAX_SRC || (n_args > 0 && args == NULL) ||
        (n_tasks < 1 && n_tasks != GGML_N_TASKS_MAX)) {
        GGML_LOG_ERROR("%s: needs a context, a function, 0..%d arguments and n_tasks >= 1 or GGML_N_TASKS_MAX "
                "(n_args %d, n_tasks %d)\n", fn, GGML_MAX_SRC, n_args, n_tasks);
        return false;
    }
    return true;
}

struct ggml_tensor * ggml_custom_4d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2,
        int64_t ne3, struct ggml_tensor ** args, int n_args, ggml_custom_op_t fun, int n_tasks, void * userdata) {
    if (!custom_args_ok(ctx, args, n_args, fun, n_tasks, "ggml_custom_4d")) {
        return NULL;
    }
    const int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    struct ggml_tensor * r = ggalloc_new_tensor_impl(ctx, type, 4, ne, NULL, 0, "ggml_custom_4d");
    return r ? custom_impl(ctx, r, args, n_args, fun, n_tasks, userdata, "ggml_custom_4d") : NULL;
}

struct ggml_tensor * ggml_custom_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor ** args,
        int n_args, ggml_custom_op_t fun, int n_tasks, void * userdata) {
    if (!custom_args_ok(ctx, args, n_args, fun, n_tasks, "ggml_custom_inplace") || a == NULL || n_args >= GGML_MAX_SRC) {
        if (a == NULL || n_args >= GGML_MAX_SRC) {
            GGML_LOG_ERROR("ggml_custom_inplace: a must be set and n_args below %d\n", GGML_MAX_SRC);
        }
        return NULL;
    }
    struct ggml_tensor * r = ggml_view_tensor(ctx, a);
    if (r == NULL) {
        return NULL;
    }
    // a is the first source (it is written), then the arguments
    struct ggml_tensor * all[GGML_MAX_SRC];
    all[0] = a;
    for (int i = 0; i < n_args; i++) {
        all[i + 1] = args[i];
    }
    return custom_impl(ctx, r, all, n_args + 1, fun, n_tasks, userdata, "ggml_custom_inplace");
}
