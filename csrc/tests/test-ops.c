// test-ops: every operation constructor: shapes, types, sources, op_params, names, views,
// broadcasting, and the errors on bad input.

#include "check.h"
#include "ggml.h"

#include <stdint.h>
#include <string.h>

static struct ggml_context * ctx;

static bool shape_is(const struct ggml_tensor * t, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    return t != NULL && t->ne[0] == n0 && t->ne[1] == n1 && t->ne[2] == n2 && t->ne[3] == n3;
}

static float param_f32(const struct ggml_tensor * t, int i) {
    float f;
    memcpy(&f, &t->op_params[i], sizeof(f));
    return f;
}

static struct ggml_tensor * named(struct ggml_tensor * t, const char * name) {
    ggml_set_name(t, name);
    return t;
}

// A contiguous result with src[0] = a (and src[1] = b), a's shape, not a view.
static void check_like(const struct ggml_tensor * r, enum ggml_op op, const struct ggml_tensor * a,
        const struct ggml_tensor * b) {
    CHECK(r != NULL);
    if (r == NULL) {
        return;
    }
    CHECK(r->op == op);
    CHECK(r->src[0] == a && r->src[1] == b);
    CHECK(ggml_are_same_shape(r, a) && r->type == a->type);
    CHECK(r->view_src == NULL && ggml_is_contiguous(r));
}

// An in-place result: a view of a (root, offset 0) named "<a> (view)".
static void check_inplace(const struct ggml_tensor * r, enum ggml_op op, struct ggml_tensor * a) {
    CHECK(r != NULL);
    if (r == NULL) {
        return;
    }
    CHECK(r->op == op && r->src[0] == a);
    CHECK(r->view_src == (a->view_src ? a->view_src : a));
    CHECK(ggml_are_same_shape(r, a) && ggml_are_same_stride(r, a));
    char want[GGML_MAX_NAME + 16];
    snprintf(want, sizeof(want), "%s (view)", a->name);
    want[GGML_MAX_NAME - 1] = '\0'; // names are truncated
    CHECK(strcmp(r->name, want) == 0);
}

static void test_elementwise(void) {
    struct ggml_tensor * a = named(ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 4, 3, 2), "a");
    struct ggml_tensor * row = named(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4), "row");
    struct ggml_tensor * col = named(ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 1, 3, 1), "col");
    struct ggml_tensor * one = named(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1), "one");

    check_like(ggml_add(ctx, a, a),   GGML_OP_ADD, a, a);
    check_like(ggml_add(ctx, a, row), GGML_OP_ADD, a, row);
    check_like(ggml_add(ctx, a, col), GGML_OP_ADD, a, col);
    check_like(ggml_sub(ctx, a, row), GGML_OP_SUB, a, row);
    check_like(ggml_mul(ctx, a, col), GGML_OP_MUL, a, col);
    check_like(ggml_div(ctx, a, one), GGML_OP_DIV, a, one);
    check_like(ggml_add1(ctx, a, one), GGML_OP_ADD1, a, one);
    check_inplace(ggml_add_inplace(ctx, a, row), GGML_OP_ADD, a);
    check_inplace(ggml_sub_inplace(ctx, a, row), GGML_OP_SUB, a);
    check_inplace(ggml_mul_inplace(ctx, a, row), GGML_OP_MUL, a);
    check_inplace(ggml_div_inplace(ctx, a, row), GGML_OP_DIV, a);
    check_inplace(ggml_add1_inplace(ctx, a, one), GGML_OP_ADD1, a);
    CHECK(ggml_add_inplace(ctx, a, row)->src[1] == row);

    check_like(ggml_dup(ctx, a),  GGML_OP_DUP,  a, NULL);
    check_like(ggml_sqr(ctx, a),  GGML_OP_SQR,  a, NULL);
    check_like(ggml_sqrt(ctx, a), GGML_OP_SQRT, a, NULL);
    check_like(ggml_log(ctx, a),  GGML_OP_LOG,  a, NULL);
    check_inplace(ggml_dup_inplace(ctx, a),  GGML_OP_DUP,  a);
    check_inplace(ggml_sqr_inplace(ctx, a),  GGML_OP_SQR,  a);
    check_inplace(ggml_sqrt_inplace(ctx, a), GGML_OP_SQRT, a);
    check_inplace(ggml_log_inplace(ctx, a),  GGML_OP_LOG,  a);

    // the result keeps a's type (f16 + f32 broadcast)
    struct ggml_tensor * h = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 4, 2), "h");
    CHECK(ggml_add(ctx, h, row)->type == GGML_TYPE_F16);

    // b must broadcast over a: the message names both and their shapes
    log_capture_begin();
    CHECK(ggml_add(ctx, row, a) == NULL);
    CHECK(log_captured("ggml_add"));
    CHECK(log_captured("'row' f32 [4, 1, 1, 1]"));
    CHECK(log_captured("'a' f32 [4, 3, 2, 1]"));
    struct ggml_tensor * three = named(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 3), "three");
    CHECK(ggml_mul(ctx, a, three) == NULL);
    CHECK(ggml_sub_inplace(ctx, a, three) == NULL);
    CHECK(ggml_div(ctx, a, three) == NULL);
    CHECK(ggml_add1(ctx, a, row) == NULL);
    CHECK(log_captured("b must be a scalar"));
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 5);

    // a NULL source gives NULL without an error line; a NULL context is an error
    log_capture_begin();
    CHECK(ggml_add(ctx, NULL, a) == NULL);
    CHECK(ggml_add(ctx, a, NULL) == NULL);
    CHECK(ggml_sqr(ctx, NULL) == NULL);
    CHECK(ggml_add(ctx, ggml_mul(ctx, a, three), a) == NULL); // a failed chain stays NULL
    CHECK_EQ_INT(log_capture_errors, 1);
    CHECK(ggml_add(NULL, a, a) == NULL);
    CHECK_EQ_INT(log_capture_errors, 2);
    CHECK(log_captured("ggml_add: context is NULL"));
    log_capture_end();
}

static void test_reductions(void) {
    struct ggml_tensor * a = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 5, 4, 3, 2), "a");
    struct ggml_tensor * s = ggml_sum(ctx, a);
    CHECK(shape_is(s, 1, 1, 1, 1) && s->type == GGML_TYPE_F16 && s->op == GGML_OP_SUM && s->src[0] == a);
    struct ggml_tensor * sr = ggml_sum_rows(ctx, a);
    CHECK(shape_is(sr, 1, 4, 3, 2) && sr->type == GGML_TYPE_F16 && sr->op == GGML_OP_SUM_ROWS && sr->src[0] == a);
    struct ggml_tensor * m = ggml_mean(ctx, a);
    CHECK(shape_is(m, 1, 4, 3, 2) && m->type == GGML_TYPE_F32 && m->op == GGML_OP_MEAN && m->src[0] == a);

    struct ggml_tensor * mat = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 10, 6), "mat");
    struct ggml_tensor * am = ggml_argmax(ctx, mat);
    CHECK(shape_is(am, 6, 1, 1, 1) && am->type == GGML_TYPE_I32 && am->op == GGML_OP_ARGMAX && am->src[0] == mat);
    log_capture_begin();
    CHECK(ggml_argmax(ctx, a) == NULL);
    log_capture_end();
    CHECK(log_captured("must be a matrix") && log_captured("'a' f16 [5, 4, 3, 2]"));

    // repeat: a to b's shape; only a is a source
    struct ggml_tensor * r0 = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 5, 1), "r0");
    struct ggml_tensor * rep = ggml_repeat(ctx, r0, a);
    CHECK(shape_is(rep, 5, 4, 3, 2) && rep->type == GGML_TYPE_F32 && rep->op == GGML_OP_REPEAT);
    CHECK(rep->src[0] == r0 && rep->src[1] == NULL);
    log_capture_begin();
    CHECK(ggml_repeat(ctx, a, r0) == NULL);
    log_capture_end();
    CHECK(log_captured("'a' f16 [5, 4, 3, 2]") && log_captured("'r0' f32 [5, 1, 1, 1]"));

    // concat along each dim
    struct ggml_tensor * c1 = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 2, 3, 4, 5), "c1");
    for (int dim = 0; dim < 4; dim++) {
        int64_t ne[4] = { 2, 3, 4, 5 };
        ne[dim] = 7;
        struct ggml_tensor * c2 = ggml_new_tensor(ctx, GGML_TYPE_F32, 4, ne);
        struct ggml_tensor * c = ggml_concat(ctx, c1, c2, dim);
        CHECK(c != NULL && c->op == GGML_OP_CONCAT && c->src[0] == c1 && c->src[1] == c2);
        CHECK(c->op_params[0] == dim);
        int64_t want[4] = { 2, 3, 4, 5 };
        want[dim] += 7;
        CHECK(shape_is(c, want[0], want[1], want[2], want[3]));
    }
    log_capture_begin();
    struct ggml_tensor * c3 = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 2, 3, 9, 5), "c3");
    CHECK(ggml_concat(ctx, c1, c3, 0) == NULL);
    CHECK(log_captured("dim 2") && log_captured("'c3' f32 [2, 3, 9, 5]"));
    CHECK(ggml_concat(ctx, c1, c1, 4) == NULL);
    CHECK(ggml_concat(ctx, c1, ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 2, 3, 4, 5), 0) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 3);
}

static void test_unary_norm_scale(void) {
    struct ggml_tensor * a = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 8, 3), "x");
    struct {
        struct ggml_tensor * (*f)(struct ggml_context *, struct ggml_tensor *);
        struct ggml_tensor * (*fi)(struct ggml_context *, struct ggml_tensor *);
        enum ggml_unary_op op;
    } cases[] = {
        { ggml_abs,        ggml_abs_inplace,        GGML_UNARY_OP_ABS },
        { ggml_sgn,        ggml_sgn_inplace,        GGML_UNARY_OP_SGN },
        { ggml_neg,        ggml_neg_inplace,        GGML_UNARY_OP_NEG },
        { ggml_step,       ggml_step_inplace,       GGML_UNARY_OP_STEP },
        { ggml_tanh,       ggml_tanh_inplace,       GGML_UNARY_OP_TANH },
        { ggml_elu,        ggml_elu_inplace,        GGML_UNARY_OP_ELU },
        { ggml_relu,       ggml_relu_inplace,       GGML_UNARY_OP_RELU },
        { ggml_sigmoid,    ggml_sigmoid_inplace,    GGML_UNARY_OP_SIGMOID },
        { ggml_gelu,       ggml_gelu_inplace,       GGML_UNARY_OP_GELU },
        { ggml_gelu_erf,   ggml_gelu_erf_inplace,   GGML_UNARY_OP_GELU_ERF },
        { ggml_gelu_quick, ggml_gelu_quick_inplace, GGML_UNARY_OP_GELU_QUICK },
        { ggml_silu,       ggml_silu_inplace,       GGML_UNARY_OP_SILU },
        { ggml_exp,        ggml_exp_inplace,        GGML_UNARY_OP_EXP },
        { ggml_hardswish,  NULL,                    GGML_UNARY_OP_HARDSWISH },
        { ggml_hardsigmoid, NULL,                   GGML_UNARY_OP_HARDSIGMOID },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ggml_tensor * r = cases[i].f(ctx, a);
        check_like(r, GGML_OP_UNARY, a, NULL);
        CHECK(r && r->op_params[0] == (int32_t) cases[i].op && ggml_get_unary_op(r) == cases[i].op);
        if (cases[i].fi) {
            struct ggml_tensor * ri = cases[i].fi(ctx, a);
            check_inplace(ri, GGML_OP_UNARY, a);
            CHECK(ri && ri->op_params[0] == (int32_t) cases[i].op);
        }
        struct ggml_tensor * u = ggml_unary(ctx, a, cases[i].op);
        CHECK(u && u->op == GGML_OP_UNARY && u->op_params[0] == (int32_t) cases[i].op);
        check_inplace(ggml_unary_inplace(ctx, a, cases[i].op), GGML_OP_UNARY, a);
    }
    log_capture_begin();
    CHECK(ggml_unary(ctx, a, GGML_UNARY_OP_COUNT) == NULL);
    CHECK(ggml_relu(ctx, ggml_transpose(ctx, a)) == NULL); // rows must be contiguous
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 2);
    CHECK(log_captured("unknown unary op 22") && log_captured("contiguous rows"));

    struct ggml_tensor * n = ggml_norm(ctx, a, 1e-5f);
    check_like(n, GGML_OP_NORM, a, NULL);
    CHECK(param_f32(n, 0) == 1e-5f);
    struct ggml_tensor * rn = ggml_rms_norm(ctx, a, 1e-6f);
    check_like(rn, GGML_OP_RMS_NORM, a, NULL);
    CHECK(param_f32(rn, 0) == 1e-6f);
    struct ggml_tensor * ni = ggml_norm_inplace(ctx, a, 0.5f);
    check_inplace(ni, GGML_OP_NORM, a);
    CHECK(param_f32(ni, 0) == 0.5f);
    struct ggml_tensor * rni = ggml_rms_norm_inplace(ctx, a, 0.25f);
    check_inplace(rni, GGML_OP_RMS_NORM, a);
    CHECK(param_f32(rni, 0) == 0.25f);

    struct ggml_tensor * s = ggml_scale(ctx, a, 0.125f);
    check_like(s, GGML_OP_SCALE, a, NULL);
    CHECK(param_f32(s, 0) == 0.125f && param_f32(s, 1) == 0.0f);
    struct ggml_tensor * si = ggml_scale_inplace(ctx, a, 3.0f);
    check_inplace(si, GGML_OP_SCALE, a);
    CHECK(param_f32(si, 0) == 3.0f);
    log_capture_begin();
    CHECK(ggml_scale(ctx, ggml_transpose(ctx, a), 2.0f) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 1);
}

static void test_mul_mat(void) {
    struct ggml_tensor * w = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 64, 32), "w");
    struct ggml_tensor * x = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 5), "x");
    struct ggml_tensor * y = ggml_mul_mat(ctx, w, x);
    CHECK(shape_is(y, 32, 5, 1, 1) && y->type == GGML_TYPE_F32);
    CHECK(y->op == GGML_OP_MUL_MAT && y->src[0] == w && y->src[1] == x && y->op_params[0] == 0);
    ggml_mul_mat_set_prec(y, GGML_PREC_F32);
    CHECK(y->op_params[0] == GGML_PREC_F32);

    // batched with broadcasting of a over b's dims 2 and 3
    struct ggml_tensor * k = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 16, 10, 2, 1), "k");
    struct ggml_tensor * q = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 16, 7, 6, 3), "q");
    struct ggml_tensor * kq = ggml_mul_mat(ctx, k, q);
    CHECK(shape_is(kq, 10, 7, 6, 3));

    log_capture_begin();
    CHECK(ggml_mul_mat(ctx, w, named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 63, 5), "x63")) == NULL);
    CHECK(log_captured("'w' f16 [64, 32, 1, 1]") && log_captured("'x63' f32 [63, 5, 1, 1]"));
    CHECK(ggml_mul_mat(ctx, q, k) == NULL);                     // q's batch does not divide k's
    CHECK(ggml_mul_mat(ctx, ggml_transpose(ctx, x), ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 5, 2)) == NULL);
    CHECK(log_captured("must not be transposed"));
    ggml_mul_mat_set_prec(x, GGML_PREC_F32);
    CHECK(x->op_params[0] == 0);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 4);
}

static void test_copies(void) {
    struct ggml_tensor * a = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 6, 4), "src");
    struct ggml_tensor * b = named(ggml_new_tensor_1d(ctx, GGML_TYPE_F16, 24), "dst");

    struct ggml_tensor * c = ggml_cpy(ctx, a, b);
    CHECK(c != NULL && c->op == GGML_OP_CPY && c->src[0] == a && c->src[1] == b);
    CHECK(c->view_src == b && c->view_offs == 0 && c->type == GGML_TYPE_F16 && ggml_are_same_shape(c, b));
    CHECK(strcmp(c->name, "dst (copy of src)") == 0);
    struct ggml_tensor * unnamed = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 24);
    CHECK(strcmp(ggml_cpy(ctx, a, unnamed)->name, "src (copy)") == 0);
    // into a view: the result is a view of the root at the view's offset
    struct ggml_tensor * big = named(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 100), "big");
    struct ggml_tensor * bv = ggml_view_1d(ctx, big, 24, 40);
    struct ggml_tensor * cv = ggml_cpy(ctx, a, bv);
    CHECK(cv->view_src == big && cv->view_offs == 40 && cv->src[1] == bv);
    CHECK(strcmp(cv->name, "big (view) (copy of src)") == 0);

    log_capture_begin();
    CHECK(ggml_cpy(ctx, a, big) == NULL);
    log_capture_end();
    CHECK(log_captured("different numbers of elements") && log_captured("'big' f32 [100, 1, 1, 1]"));

    struct ggml_tensor * k = ggml_cast(ctx, a, GGML_TYPE_BF16);
    CHECK(k != NULL && k->type == GGML_TYPE_BF16 && ggml_are_same_shape(k, a));
    CHECK(k->op == GGML_OP_CPY && k->src[0] == a && k->src[1] == k && k->view_src == NULL);
    CHECK(strcmp(k->name, "src (copy)") == 0);
    log_capture_begin();
    CHECK(ggml_cast(ctx, a, (enum ggml_type) 4) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 1);

    // cont of a transposed view: contiguous, same shape, named, not a view
    struct ggml_tensor * t = ggml_transpose(ctx, a);
    struct ggml_tensor * ct = ggml_cont(ctx, t);
    CHECK(ct != NULL && ct->op == GGML_OP_CONT && ct->src[0] == t && ct->view_src == NULL);
    CHECK(shape_is(ct, 4, 6, 1, 1) && ggml_is_contiguous(ct));
    CHECK(strcmp(ct->name, "src (transposed) (cont)") == 0);
    CHECK(shape_is(ggml_cont_1d(ctx, t, 24), 24, 1, 1, 1));
    CHECK(shape_is(ggml_cont_2d(ctx, t, 8, 3), 8, 3, 1, 1));
    CHECK(shape_is(ggml_cont_3d(ctx, t, 2, 3, 4), 2, 3, 4, 1));
    struct ggml_tensor * c4 = ggml_cont_4d(ctx, t, 1, 2, 3, 4);
    CHECK(shape_is(c4, 1, 2, 3, 4) && c4->op == GGML_OP_CONT && strcmp(c4->name, "src (transposed) (cont)") == 0);
    log_capture_begin();
    CHECK(ggml_cont_2d(ctx, t, 5, 5) == NULL);
    log_capture_end();
    CHECK(log_captured("[5, 5, 1, 1]") && log_captured("'src (transposed)' f32 [4, 6, 1, 1]"));
}

static void test_views(void) {
    struct ggml_tensor * a = named(ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 8, 6, 4), "a");

    // reshape: a view with new extents and contiguous strides
    struct ggml_tensor * r2 = ggml_reshape_2d(ctx, a, 48, 4);
    CHECK(shape_is(r2, 48, 4, 1, 1) && r2->nb[1] == 192 && r2->nb[2] == 768);
    CHECK(r2->op == GGML_OP_RESHAPE && r2->src[0] == a && r2->view_src == a && r2->view_offs == 0);
    CHECK(strcmp(r2->name, "a (reshaped)") == 0);
    CHECK(shape_is(ggml_reshape_1d(ctx, a, 192), 192, 1, 1, 1));
    CHECK(shape_is(ggml_reshape_3d(ctx, a, 2, 4, 24), 2, 4, 24, 1));
    CHECK(shape_is(ggml_reshape_4d(ctx, a, 2, 4, 6, 4), 2, 4, 6, 4));
    struct ggml_tensor * like = ggml_new_tensor_2d(ctx, GGML_TYPE_I8, 16, 12);
    struct ggml_tensor * rl = ggml_reshape(ctx, a, like);
    CHECK(shape_is(rl, 16, 12, 1, 1) && rl->type == GGML_TYPE_F32);
    log_capture_begin();
    CHECK(ggml_reshape_2d(ctx, a, 10, 10) == NULL);
    CHECK(ggml_reshape_2d(ctx, ggml_transpose(ctx, r2), 48, 4) == NULL);
    CHECK(log_captured("must be contiguous"));
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 2);

    // views: offsets and strides as given, op_params hold the offset
    struct ggml_tensor * v1 = ggml_view_1d(ctx, a, 10, 16);
    CHECK(shape_is(v1, 10, 1, 1, 1) && v1->view_src == a && v1->view_offs == 16 && v1->src[0] == a);
    CHECK(v1->op == GGML_OP_VIEW && strcmp(v1->name, "a (view)") == 0);
    size_t offs;
    memcpy(&offs, v1->op_params, sizeof(offs));
    CHECK(offs == 16);
    struct ggml_tensor * v2 = ggml_view_2d(ctx, a, 4, 6, a->nb[1], 4 * 4);
    CHECK(shape_is(v2, 4, 6, 1, 1) && v2->nb[0] == 4 && v2->nb[1] == 32 && v2->nb[2] == 192 && v2->nb[3] == 192);
    struct ggml_tensor * v3 = ggml_view_3d(ctx, a, 8, 3, 4, a->nb[1] * 2, a->nb[2], 0);
    CHECK(shape_is(v3, 8, 3, 4, 1) && v3->nb[1] == 64 && v3->nb[2] == 192 && v3->nb[3] == 768);
    struct ggml_tensor * v4 = ggml_view_4d(ctx, a, 8, 6, 2, 2, a->nb[1], a->nb[2], a->nb[2] * 2, 0);
    CHECK(shape_is(v4, 8, 6, 2, 2) && v4->nb[3] == 384);
    CHECK(ggml_nbytes(v4) == ggml_nbytes(a));

    // views of views: view_src is the root, offsets add up, names chain
    struct ggml_tensor * w1 = ggml_view_1d(ctx, a, 100, 32);
    struct ggml_tensor * w2 = ggml_view_1d(ctx, w1, 50, 8);
    struct ggml_tensor * w3 = ggml_view_2d(ctx, w2, 5, 4, 40, 4);
    CHECK(w2->view_src == a && w2->view_offs == 40 && w2->src[0] == w1);
    CHECK(w3->view_src == a && w3->view_offs == 44 && w3->src[0] == w2);
    CHECK(strcmp(w3->name, "a (view) (view) (view)") == 0);
    memcpy(&offs, w3->op_params, sizeof(offs));
    CHECK(offs == 4); // op_params keep the offset relative to the direct source, as ggml
    struct ggml_tensor * rw = ggml_reshape_2d(ctx, w2, 25, 2);
    CHECK(rw->view_src == a && rw->view_offs == 40);
    struct ggml_tensor * pw = ggml_permute(ctx, rw, 1, 0, 2, 3);
    CHECK(pw->view_src == a && pw->view_offs == 40);

    // in an allocating context, views point into the source's data
    struct ggml_init_params ip = { 1 << 16, NULL, false };
    struct ggml_context * actx = ggml_init(ip);
    struct ggml_tensor * d = ggml_new_tensor_2d(actx, GGML_TYPE_F32, 8, 8);
    struct ggml_tensor * dv = ggml_view_1d(actx, ggml_view_1d(actx, d, 32, 64), 8, 16);
    CHECK(dv->data == (char *) d->data + 80);
    CHECK(ggml_transpose(actx, d)->data == d->data);
    ggml_free(actx);

    // views that reach outside their source
    log_capture_begin();
    CHECK(ggml_view_1d(ctx, a, 192, 4) == NULL);
    CHECK(log_captured("reaches outside 'a' f32 [8, 6, 4, 1]"));
    log_capture_end();
    // as in ggml, a view is checked against the root's bytes: past w1's end but inside a is fine
    CHECK(ggml_view_1d(ctx, w1, 100, 4) != NULL);
    log_capture_begin();
    CHECK(ggml_view_2d(ctx, a, 8, 6, 32 * 5, 0) == NULL); // strides reach past the end
    CHECK(log_captured("outside the 768 bytes"));
    CHECK(ggml_view_1d(ctx, a, 1, SIZE_MAX - 2) == NULL);  // offset overflow
    CHECK(ggml_view_3d(ctx, a, 8, 6, 5, 32, 192, 0) == NULL);
    CHECK(ggml_view_1d(ctx, a, -1, 0) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 4);
    // an empty view anywhere inside is fine
    CHECK(ggml_view_1d(ctx, a, 0, 768) != NULL);

    // permute: extents and strides move to the given axes
    struct ggml_tensor * b = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 2, 3, 4, 5), "b");
    struct ggml_tensor * p = ggml_permute(ctx, b, 2, 0, 3, 1);
    CHECK(shape_is(p, 3, 5, 2, 4));
    CHECK(p->nb[0] == b->nb[1] && p->nb[1] == b->nb[3] && p->nb[2] == b->nb[0] && p->nb[3] == b->nb[2]);
    CHECK(p->op == GGML_OP_PERMUTE && p->src[0] == b && p->view_src == b);
    CHECK(p->op_params[0] == 2 && p->op_params[1] == 0 && p->op_params[2] == 3 && p->op_params[3] == 1);
    CHECK(strcmp(p->name, "b (permuted)") == 0);
    log_capture_begin();
    CHECK(ggml_permute(ctx, b, 0, 0, 1, 2) == NULL);
    CHECK(ggml_permute(ctx, b, 0, 1, 2, 4) == NULL);
    CHECK(ggml_permute(ctx, b, -1, 1, 2, 3) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 3);
    CHECK(log_captured("(0, 0, 1, 2) are not a permutation"));

    struct ggml_tensor * t = ggml_transpose(ctx, b);
    CHECK(shape_is(t, 3, 2, 4, 5) && t->nb[0] == b->nb[1] && t->nb[1] == b->nb[0] && t->nb[2] == b->nb[2]);
    CHECK(t->op == GGML_OP_TRANSPOSE && t->src[0] == b && t->view_src == b);
    CHECK(strcmp(t->name, "b (transposed)") == 0);
    struct ggml_tensor * tt = ggml_transpose(ctx, t);
    CHECK(ggml_are_same_shape(tt, b) && ggml_are_same_stride(tt, b) && tt->view_src == b);
}

static void test_rows(void) {
    struct ggml_tensor * emb = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 16, 100), "emb");
    struct ggml_tensor * ids = named(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 7), "ids");
    struct ggml_tensor * g = ggml_get_rows(ctx, emb, ids);
    CHECK(shape_is(g, 16, 7, 1, 1) && g->type == GGML_TYPE_F32);
    CHECK(g->op == GGML_OP_GET_ROWS && g->src[0] == emb && g->src[1] == ids);
    struct ggml_tensor * iemb = ggml_new_tensor_2d(ctx, GGML_TYPE_I32, 4, 10);
    CHECK(ggml_get_rows(ctx, iemb, ids)->type == GGML_TYPE_I32);
    // batched
    struct ggml_tensor * a3 = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 8, 10, 3, 2);
    struct ggml_tensor * i3 = ggml_new_tensor_3d(ctx, GGML_TYPE_I32, 5, 3, 2);
    CHECK(shape_is(ggml_get_rows(ctx, a3, i3), 8, 5, 3, 2));
    log_capture_begin();
    CHECK(ggml_get_rows(ctx, emb, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 7)) == NULL);
    CHECK(ggml_get_rows(ctx, a3, ids) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 2);
    CHECK(log_captured("'emb' f16 [16, 100, 1, 1]") && log_captured("must be i32"));

    // set_rows: a view of a; sources b, c, a (ggml's order)
    struct ggml_tensor * dst = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 16, 100), "cache");
    struct ggml_tensor * src = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 16, 7), "rows");
    struct ggml_tensor * idx = named(ggml_new_tensor_1d(ctx, GGML_TYPE_I64, 7), "idx");
    struct ggml_tensor * s = ggml_set_rows(ctx, dst, src, idx);
    CHECK(s != NULL && s->op == GGML_OP_SET_ROWS);
    CHECK(s->src[0] == src && s->src[1] == idx && s->src[2] == dst);
    CHECK(s->view_src == dst && ggml_are_same_shape(s, dst) && s->type == GGML_TYPE_F16);
    CHECK(strcmp(s->name, "cache (view)") == 0);
    CHECK(ggml_set_rows(ctx, dst, src, ids) != NULL); // i32 indices too
    log_capture_begin();
    CHECK(ggml_set_rows(ctx, dst, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 15, 7), idx) == NULL);
    CHECK(ggml_set_rows(ctx, dst, src, ggml_new_tensor_1d(ctx, GGML_TYPE_I64, 6)) == NULL);
    CHECK(ggml_set_rows(ctx, dst, src, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 7)) == NULL);
    CHECK(ggml_set_rows(ctx, dst, ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 16, 7), idx) == NULL);
    CHECK(ggml_set_rows(ctx, dst, src, NULL) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 4);
    CHECK(log_captured("'cache' f16 [16, 100, 1, 1]"));
}

static void test_masks_softmax_rope(void) {
    struct ggml_tensor * kq = named(ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 10, 4, 12), "kq");
    struct ggml_tensor * mi = ggml_diag_mask_inf(ctx, kq, 6);
    check_like(mi, GGML_OP_DIAG_MASK_INF, kq, NULL);
    CHECK(mi->op_params[0] == 6);
    struct ggml_tensor * mz = ggml_diag_mask_zero(ctx, kq, 3);
    check_like(mz, GGML_OP_DIAG_MASK_ZERO, kq, NULL);
    CHECK(mz->op_params[0] == 3);
    check_inplace(ggml_diag_mask_inf_inplace(ctx, kq, 1), GGML_OP_DIAG_MASK_INF, kq);
    check_inplace(ggml_diag_mask_zero_inplace(ctx, kq, 1), GGML_OP_DIAG_MASK_ZERO, kq);

    struct ggml_tensor * sm = ggml_soft_max(ctx, kq);
    check_like(sm, GGML_OP_SOFT_MAX, kq, NULL);
    CHECK(param_f32(sm, 0) == 1.0f && param_f32(sm, 1) == 0.0f);
    check_inplace(ggml_soft_max_inplace(ctx, kq), GGML_OP_SOFT_MAX, kq);
    struct ggml_tensor * mask = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 10, 8), "mask");
    struct ggml_tensor * se = ggml_soft_max_ext(ctx, kq, mask, 0.125f, 8.0f);
    check_like(se, GGML_OP_SOFT_MAX, kq, mask);
    CHECK(param_f32(se, 0) == 0.125f && param_f32(se, 1) == 8.0f);
    struct ggml_tensor * sei = ggml_soft_max_ext_inplace(ctx, kq, NULL, 0.5f, 0.0f);
    check_inplace(sei, GGML_OP_SOFT_MAX, kq);
    CHECK(param_f32(sei, 0) == 0.5f);
    log_capture_begin();
    CHECK(ggml_soft_max_ext(ctx, kq, NULL, 1.0f, 1.0f) == NULL);                          // ALiBi without mask
    CHECK(ggml_soft_max_ext(ctx, kq, named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 9, 8), "m9"), 1.0f, 0.0f) == NULL);
    CHECK(log_captured("'m9' f32 [9, 8, 1, 1]") && log_captured("'kq' f32 [10, 4, 12, 1]"));
    CHECK(ggml_soft_max_ext(ctx, kq, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 10, 3), 1.0f, 0.0f) == NULL);
    CHECK(ggml_soft_max_ext(ctx, kq, ggml_new_tensor_2d(ctx, GGML_TYPE_I32, 10, 8), 1.0f, 0.0f) == NULL);
    CHECK(ggml_soft_max(ctx, ggml_transpose(ctx, kq)) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 5);

    // rope: params at ggml's words
    struct ggml_tensor * q = named(ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 64, 8, 5), "q");
    struct ggml_tensor * pos = named(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 5), "pos");
    struct ggml_tensor * ff = named(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 32), "ff");
    struct ggml_tensor * r = ggml_rope_ext(ctx, q, pos, ff, 64, GGML_ROPE_TYPE_NEOX, 4096,
            500000.0f, 0.5f, 1.0f, 0.75f, 32.0f, 2.0f);
    check_like(r, GGML_OP_ROPE, q, pos);
    CHECK(r->src[2] == ff);
    CHECK(r->op_params[0] == 0 && r->op_params[1] == 64 && r->op_params[2] == GGML_ROPE_TYPE_NEOX);
    CHECK(r->op_params[3] == 0 && r->op_params[4] == 4096);
    CHECK(param_f32(r, 5) == 500000.0f && param_f32(r, 6) == 0.5f && param_f32(r, 7) == 1.0f);
    CHECK(param_f32(r, 8) == 0.75f && param_f32(r, 9) == 32.0f && param_f32(r, 10) == 2.0f);
    CHECK(r->op_params[11] == 0 && r->op_params[14] == 0);
    struct ggml_tensor * ri = ggml_rope_ext_inplace(ctx, q, pos, NULL, 32, 0, 0, 10000.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    check_inplace(ri, GGML_OP_ROPE, q);
    CHECK(ri->src[1] == pos && ri->src[2] == NULL && ri->op_params[1] == 32);
    struct ggml_tensor * rr = ggml_rope(ctx, q, pos, 16, 0);
    CHECK(rr && rr->op_params[1] == 16 && rr->op_params[2] == 0 && param_f32(rr, 5) == 10000.0f);
    CHECK(param_f32(rr, 6) == 1.0f && param_f32(rr, 8) == 1.0f && param_f32(rr, 7) == 0.0f);
    log_capture_begin();
    CHECK(ggml_rope(ctx, q, ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 4), 64, 0) == NULL);
    CHECK(ggml_rope(ctx, q, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 5), 64, 0) == NULL);
    CHECK(ggml_rope(ctx, q, pos, 64, 1) == NULL);
    CHECK(ggml_rope_ext(ctx, q, pos, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8), 64, 0, 0, 1, 1, 0, 1, 0, 0) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 4);
    CHECK(log_captured("positions b must be an i32 vector") && log_captured("'q' f32 [64, 8, 5, 1]"));

    // rope_multi: 4 position streams, the sections at words 11..14
    struct ggml_tensor * pos4 = named(ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 20), "pos4");
    int sec[GGML_MROPE_SECTIONS] = { 11, 11, 10, 0 };
    struct ggml_tensor * rm = ggml_rope_multi(ctx, q, pos4, NULL, 64, sec, GGML_ROPE_TYPE_IMROPE, 4096,
            5000000.0f, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
    check_like(rm, GGML_OP_ROPE, q, pos4);
    CHECK(rm->op_params[1] == 64 && rm->op_params[2] == GGML_ROPE_TYPE_IMROPE && rm->op_params[4] == 4096);
    CHECK(rm->op_params[11] == 11 && rm->op_params[12] == 11 && rm->op_params[13] == 10 && rm->op_params[14] == 0);
    check_inplace(ggml_rope_multi_inplace(ctx, q, pos4, NULL, 64, sec, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0),
                  GGML_OP_ROPE, q);
    int vsec[GGML_MROPE_SECTIONS] = { 16, 16, 0, 0 };
    CHECK(ggml_rope_multi(ctx, q, pos4, ff, 32, vsec, GGML_ROPE_TYPE_VISION, 0, 1e4f, 1, 0, 1, 0, 0) != NULL);
    check_inplace(ggml_rope_inplace(ctx, q, pos, 16, GGML_ROPE_TYPE_NEOX), GGML_OP_ROPE, q);
    int zero[GGML_MROPE_SECTIONS] = { 0, 0, 0, 0 }, neg[GGML_MROPE_SECTIONS] = { 8, -1, 0, 0 };
    int big[GGML_MROPE_SECTIONS] = { 40, 40, 0, 0 };
    log_capture_begin();
    CHECK(ggml_rope_multi(ctx, q, pos, NULL, 64, sec, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_multi(ctx, q, pos4, NULL, 64, zero, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_multi(ctx, q, pos4, NULL, 64, neg, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_multi(ctx, q, pos4, NULL, 64, big, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_multi(ctx, q, pos4, NULL, 64, vsec, GGML_ROPE_TYPE_VISION, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_multi(ctx, q, pos4, NULL, 62, sec, 12, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_multi(ctx, q, pos4, NULL, 64, NULL, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    CHECK(ggml_rope_ext(ctx, q, pos4, NULL, 64, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    // vision rotates ne0/2 pairs: 16 frequency factors are too few for n_dims 32
    CHECK(ggml_rope_multi(ctx, q, pos4, ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16), 32, vsec, GGML_ROPE_TYPE_VISION,
                          0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 9);
    CHECK(log_captured("b must hold 4 positions per a->ne[2]") && log_captured("sections {0, 0, 0, 0}"));
    CHECK(log_captured("need sections: use ggml_rope_multi") && log_captured("n_dims == ne[0]/2"));
    CHECK(log_captured("mode 12 is not a rope type"));

    // ggml_rope_set_offset: word 15, an even offset keeping the window inside the row
    struct ggml_tensor * ro = ggml_rope_ext(ctx, q, pos, NULL, 16, 0, 0, 1e4f, 1, 0, 1, 0, 0);
    CHECK(ggml_rope_set_offset(ro, 48) == ro && ro->op_params[15] == 48);
    log_capture_begin();
    CHECK(ggml_rope_set_offset(ro, 50) == NULL);
    CHECK(ggml_rope_set_offset(ro, 3) == NULL);
    CHECK(ggml_rope_set_offset(q, 0) == NULL);
    CHECK(ggml_rope_set_offset(ggml_rope_multi(ctx, q, pos4, NULL, 32, vsec, GGML_ROPE_TYPE_VISION, 0, 1e4f, 1, 0, 1, 0, 0), 2) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 4);
    CHECK(ro->op_params[15] == 48 && log_captured("is not a ROPE node"));

    // YaRN's correction dims: 128 dims, 4096 context, base 1e4, betas 32 and 1 -> [20, 46]
    float dims[2] = { -1, -1 };
    ggml_rope_yarn_corr_dims(128, 4096, 10000.0f, 32.0f, 1.0f, dims);
    CHECK(dims[0] == 20.0f && dims[1] == 46.0f);
    ggml_rope_yarn_corr_dims(16, 8, 10000.0f, 32.0f, 1.0f, dims); // a tiny context: the start clamps to 0
    CHECK(dims[0] == 0.0f && dims[1] == 1.0f);
}

static void test_conv_pool_pad(void) {
    // im2col 2D: kernel [KW, KH, IC, OC], data [W, H, IC, N]
    struct ggml_tensor * k = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 3, 3, 4, 8), "kernel");
    struct ggml_tensor * x = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 10, 12, 4, 2), "img");
    struct ggml_tensor * ic = ggml_im2col(ctx, k, x, 1, 2, 1, 0, 1, 1, true, GGML_TYPE_F32);
    // OW = (10 + 2 - 2 - 1)/1 + 1 = 10; OH = (12 + 0 - 2 - 1)/2 + 1 = 5
    CHECK(shape_is(ic, 36, 10, 5, 2) && ic->type == GGML_TYPE_F32);
    CHECK(ic->op == GGML_OP_IM2COL && ic->src[0] == k && ic->src[1] == x);
    const int32_t want[7] = { 1, 2, 1, 0, 1, 1, 1 };
    CHECK(memcmp(ic->op_params, want, sizeof(want)) == 0);
    // 1D: kernel [K, IC, OC], data [L, IC, N]
    struct ggml_tensor * k1 = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 5, 3, 2);
    struct ggml_tensor * x1 = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 20, 3, 4);
    struct ggml_tensor * ic1 = ggml_im2col(ctx, k1, x1, 2, 0, 2, 0, 1, 0, false, GGML_TYPE_F16);
    CHECK(shape_is(ic1, 15, 10, 4, 1) && ic1->type == GGML_TYPE_F16 && ic1->op_params[6] == 0);

    // conv_2d as ggml builds it: im2col -> mul_mat -> reshape -> permute -> cont
    struct ggml_tensor * c = ggml_conv_2d(ctx, k, x, 1, 1, 1, 1, 1, 1);
    CHECK(shape_is(c, 10, 12, 8, 2) && c->type == GGML_TYPE_F32);
    CHECK(c->op == GGML_OP_CONT);
    struct ggml_tensor * perm = c->src[0];
    CHECK(perm->op == GGML_OP_PERMUTE && perm->op_params[2] == 3 && perm->op_params[3] == 2);
    struct ggml_tensor * resh = perm->src[0];
    CHECK(resh->op == GGML_OP_RESHAPE);
    struct ggml_tensor * mm = resh->src[0];
    CHECK(mm->op == GGML_OP_MUL_MAT && shape_is(mm, 240, 8, 1, 1));
    CHECK(mm->src[0]->op == GGML_OP_RESHAPE && mm->src[0]->src[0]->op == GGML_OP_IM2COL);
    CHECK(mm->src[1]->op == GGML_OP_RESHAPE && mm->src[1]->src[0] == k);
    CHECK(mm->src[0]->src[0]->type == GGML_TYPE_F16); // im2col in the kernel's type
    log_capture_begin();
    CHECK(ggml_conv_2d(ctx, k, ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 10, 12, 3, 2), 1, 1, 1, 1, 1, 1) == NULL);
    CHECK(ggml_im2col(ctx, k, ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 2, 2, 4, 1), 1, 1, 0, 0, 1, 1, true, GGML_TYPE_F32) == NULL);
    CHECK(ggml_im2col(ctx, k, x, 0, 1, 0, 0, 1, 1, true, GGML_TYPE_F32) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 3);
    CHECK(log_captured("'kernel' f16 [3, 3, 4, 8]") && log_captured("too small"));

    // pool_2d: f32 result; p0, p1 stored as ints after op, k0, k1, s0, s1
    struct ggml_tensor * pin = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 9, 8, 3, 2), "pin");
    struct ggml_tensor * p = ggml_pool_2d(ctx, pin, GGML_OP_POOL_AVG, 3, 2, 2, 2, 1.0f, 0.0f);
    // (9 + 2 - 3)/2 + 1 = 5; (8 - 2)/2 + 1 = 4
    CHECK(shape_is(p, 5, 4, 3, 2) && p->type == GGML_TYPE_F32 && p->op == GGML_OP_POOL_2D && p->src[0] == pin);
    const int32_t wantp[7] = { GGML_OP_POOL_AVG, 3, 2, 2, 2, 1, 0 };
    CHECK(memcmp(p->op_params, wantp, sizeof(wantp)) == 0);
    log_capture_begin();
    CHECK(ggml_pool_2d(ctx, pin, GGML_OP_POOL_MAX, 20, 2, 1, 1, 0.0f, 0.0f) == NULL);
    CHECK(ggml_pool_2d(ctx, pin, GGML_OP_POOL_MAX, 2, 2, 0, 1, 0.0f, 0.0f) == NULL);
    CHECK(ggml_pool_2d(ctx, pin, GGML_OP_POOL_COUNT, 2, 2, 1, 1, 0.0f, 0.0f) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 3);

    // pad: at the end of each dim; params as ggml_pad_ext (left, right per dim, then circular)
    struct ggml_tensor * pd = ggml_pad(ctx, pin, 1, 2, 3, 4);
    CHECK(shape_is(pd, 10, 10, 6, 6) && pd->op == GGML_OP_PAD && pd->src[0] == pin && pd->type == GGML_TYPE_F32);
    const int32_t wantpad[9] = { 0, 1, 0, 2, 0, 3, 0, 4, 0 };
    CHECK(memcmp(pd->op_params, wantpad, sizeof(wantpad)) == 0);
    log_capture_begin();
    CHECK(ggml_pad(ctx, pin, -1, 0, 0, 0) == NULL);
    log_capture_end();
    CHECK(log_captured("negative padding (-1, 0, 0, 0)"));
}

static void test_conv_3d_col2im(void) {
    // im2col_3d: kernel [KW, KH, KD, OC*IC], data [IW, IH, ID, N*IC]; params s, p, d per axis, IC
    struct ggml_tensor * k = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 3, 3, 2, 4 * 3), "k3");
    struct ggml_tensor * x = named(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 9, 8, 5, 2 * 3), "x3");
    struct ggml_tensor * ic = ggml_im2col_3d(ctx, k, x, 3, 2, 1, 1, 1, 0, 1, 1, 2, 1, GGML_TYPE_F32);
    // OW = (9 + 2 - 2 - 1)/2 + 1 = 5; OH = (8 - 4 - 1)/1 + 1 = 4; OD = (5 + 2 - 1 - 1) + 1 = 6
    CHECK(shape_is(ic, 54, 5, 4, 12) && ic->op == GGML_OP_IM2COL_3D && ic->src[0] == k && ic->src[1] == x);
    const int32_t want[10] = { 2, 1, 1, 1, 0, 1, 1, 2, 1, 3 };
    CHECK(memcmp(ic->op_params, want, sizeof(want)) == 0);
    // conv_3d: im2col_3d in the kernel's type, mul_mat, and back to [OW, OH, OD, N*OC]
    struct ggml_tensor * c = ggml_conv_3d(ctx, k, x, 3, 1, 1, 1, 1, 1, 0, 1, 1, 1);
    CHECK(shape_is(c, 9, 8, 4, 8) && c->type == GGML_TYPE_F32);
    struct ggml_tensor * cd = ggml_conv_3d_direct(ctx, k, x, 1, 1, 1, 1, 1, 0, 1, 1, 1, 3, 2, 4);
    CHECK(shape_is(cd, 9, 8, 4, 8) && cd->type == GGML_TYPE_F32 && cd->op == GGML_OP_CONV_3D);
    const int32_t wantd[12] = { 1, 1, 1, 1, 1, 0, 1, 1, 1, 3, 2, 4 };
    CHECK(memcmp(cd->op_params, wantd, sizeof(wantd)) == 0);
    log_capture_begin();
    CHECK(ggml_im2col_3d(ctx, k, x, 5, 1, 1, 1, 0, 0, 0, 1, 1, 1, GGML_TYPE_F32) == NULL);  // 5 divides neither
    CHECK(ggml_im2col_3d(ctx, k, x, 3, 0, 1, 1, 0, 0, 0, 1, 1, 1, GGML_TYPE_F32) == NULL);
    CHECK(ggml_im2col_3d(ctx, k, x, 3, 1, 1, 1, 0, 0, 0, 1, 1, 1, GGML_TYPE_I32) == NULL);
    CHECK(ggml_conv_3d(ctx, k, ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 9, 8, 1, 3), 3, 1, 1, 1, 0, 0, 0, 1, 1, 1) == NULL);
    CHECK(ggml_conv_3d_direct(ctx, k, x, 1, 1, 1, 0, 0, 0, 1, 1, 1, 3, 2, 5) == NULL);   // 3 * 5 != 12
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 5);
    CHECK(log_captured("IC 5 must divide") && log_captured("'k3' f16 [3, 3, 2, 12]") && log_captured("too small"));

    // col2im_1d: [K*OC, T_in] -> [(T_in-1)*s0 + K - 2*p0, OC], params s0, oc, p0
    struct ggml_tensor * col = named(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4 * 6, 10), "col");
    struct ggml_tensor * y = ggml_col2im_1d(ctx, col, 2, 6, 1);
    CHECK(shape_is(y, 9 * 2 + 4 - 2, 6, 1, 1) && y->op == GGML_OP_COL2IM_1D && y->src[0] == col && y->type == GGML_TYPE_F32);
    CHECK(y->op_params[0] == 2 && y->op_params[1] == 6 && y->op_params[2] == 1);
    log_capture_begin();
    CHECK(ggml_col2im_1d(ctx, col, 2, 5, 0) == NULL);
    CHECK(ggml_col2im_1d(ctx, col, 0, 6, 0) == NULL);
    CHECK(ggml_col2im_1d(ctx, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 1), 1, 1, 2) == NULL);
    CHECK(ggml_col2im_1d(ctx, ggml_new_tensor_2d(ctx, GGML_TYPE_I32, 4, 3), 1, 1, 0) == NULL);
    // antialiasing is the bilinear mode's only
    CHECK(ggml_interpolate(ctx, col, 4, 4, 1, 1, GGML_SCALE_MODE_BICUBIC | GGML_SCALE_FLAG_ANTIALIAS) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 5);
    struct ggml_tensor * aa = ggml_interpolate(ctx, col, 4, 4, 1, 1, GGML_SCALE_MODE_BILINEAR | GGML_SCALE_FLAG_ANTIALIAS);
    CHECK(aa != NULL && aa->op_params[0] == (int32_t) (GGML_SCALE_MODE_BILINEAR | GGML_SCALE_FLAG_ANTIALIAS));
    CHECK(log_captured("oc 5") && log_captured("leaves no output"));
}

static void test_full_context_ops(void) {
    // an op in a full context returns NULL and says so
    struct ggml_init_params ip = { 2 * ggml_tensor_overhead(), NULL, true };
    struct ggml_context * small = ggml_init(ip);
    struct ggml_tensor * a = ggml_new_tensor_1d(small, GGML_TYPE_F32, 4);
    struct ggml_tensor * b = ggml_add(small, a, a);
    CHECK(b != NULL);
    log_capture_begin();
    CHECK(ggml_mul(small, a, b) == NULL);
    CHECK(ggml_view_1d(small, a, 2, 0) == NULL);
    CHECK(ggml_conv_2d(small, a, a, 1, 1, 0, 0, 1, 1) == NULL);
    log_capture_end();
    CHECK(log_captured("not enough space"));
    ggml_free(small);
}

// Op numbers are ggml's: a graph file or a message on the wire means the same op on both sides.
static void test_op_numbering(void) {
    CHECK_EQ_INT(GGML_OP_COUNT, 101);
    CHECK_EQ_INT(GGML_OP_ADD_ID, 3);
    CHECK_EQ_INT(GGML_OP_MUL_MAT, 29);
    CHECK_EQ_INT(GGML_OP_SOFT_MAX, 46);
    CHECK_EQ_INT(GGML_OP_ROPE, 48);
    CHECK_EQ_INT(GGML_OP_CONV_TRANSPOSE_1D, 51);
    CHECK_EQ_INT(GGML_OP_POOL_2D, 61);
    CHECK_EQ_INT(GGML_OP_FLASH_ATTN_EXT, 74);
    CHECK_EQ_INT(GGML_OP_UNARY, 91);
    CHECK_EQ_INT(GGML_OP_CUSTOM, 95);
    CHECK_EQ_INT(GGML_OP_GLU, 100);
    CHECK_EQ_INT(GGML_UNARY_OP_COUNT, 22);
    CHECK_EQ_INT(GGML_UNARY_OP_GELU_ERF, 16);
    CHECK_EQ_INT(GGML_UNARY_OP_TRUNC, 21);
    CHECK_EQ_INT(GGML_GLU_OP_COUNT, 6);
    CHECK_EQ_INT(GGML_GLU_OP_SWIGLU, 2);
    CHECK_EQ_INT(GGML_SCALE_FLAG_ALIGN_CORNERS, 256);
    CHECK_EQ_INT(GGML_TRI_TYPE_LOWER, 3);
    // every op has its own name and a symbol
    for (int i = 0; i < GGML_OP_COUNT; i++) {
        const char * ni = ggml_op_name((enum ggml_op) i);
        CHECK(ni != NULL && ni[0] != '\0' && strcmp(ni, "UNKNOWN") != 0);
        CHECK(ggml_op_symbol((enum ggml_op) i) != NULL && strcmp(ggml_op_symbol((enum ggml_op) i), "?") != 0);
        for (int j = 0; j < i; j++) {
            CHECK(strcmp(ni, ggml_op_name((enum ggml_op) j)) != 0);
        }
    }
    CHECK(strcmp(ggml_op_name(GGML_OP_FLASH_ATTN_EXT), "FLASH_ATTN_EXT") == 0);
    CHECK(strcmp(ggml_op_name(GGML_OP_DSV4_HC_POST), "DSV4_HC_POST") == 0);
    CHECK(strcmp(ggml_op_symbol(GGML_OP_MUL_MAT_ID), "X[i]*Y") == 0);
    CHECK(strcmp(ggml_op_name((enum ggml_op) -1), "UNKNOWN") == 0);
    CHECK(strcmp(ggml_unary_op_name(GGML_UNARY_OP_XIELU), "XIELU") == 0);
    CHECK(strcmp(ggml_glu_op_name(GGML_GLU_OP_SWIGLU_OAI), "SWIGLU_OAI") == 0);
    CHECK(strcmp(ggml_glu_op_name(GGML_GLU_OP_COUNT), "UNKNOWN") == 0);
    for (int i = 0; i < GGML_GLU_OP_COUNT; i++) {
        CHECK(strcmp(ggml_glu_op_name((enum ggml_glu_op) i), "UNKNOWN") != 0);
    }
    // ggml_op_desc names the unary / glu op of a node
    struct ggml_tensor t;
    memset(&t, 0, sizeof(t));
    t.op = GGML_OP_GLU;
    t.op_params[0] = GGML_GLU_OP_GEGLU;
    CHECK(strcmp(ggml_op_desc(&t), "GEGLU") == 0);
    CHECK_EQ_INT(ggml_get_glu_op(&t), GGML_GLU_OP_GEGLU);
    t.op = GGML_OP_UNARY;
    t.op_params[0] = GGML_UNARY_OP_SOFTPLUS;
    CHECK(strcmp(ggml_op_desc(&t), "SOFTPLUS") == 0);
    log_capture_begin();
    CHECK_EQ_INT(ggml_get_glu_op(&t), GGML_GLU_OP_COUNT);
    log_capture_end();
    CHECK(log_captured("is not a GLU node"));
}

// ops named and numbered but not built: NULL and a line saying so, never a crash
static void test_unsupported_ops(void) {
    struct ggml_init_params ip = { 1 << 20, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 4);
    log_capture_begin();
    CHECK(ggml_silu_back(ctx, a, a) == NULL);
    CHECK(ggml_rms_norm_back(ctx, a, a, 1e-5f) == NULL);
    CHECK(ggml_cross_entropy_loss(ctx, a, a) == NULL);
    CHECK(ggml_opt_step_adamw(ctx, a, a, a, a, a) == NULL);
    CHECK(ggml_ssm_scan(ctx, a, a, a, a, a, a, a) == NULL);
    CHECK(ggml_rwkv_wkv7(ctx, a, a, a, a, a, a, a) == NULL);
    CHECK(ggml_solve_tri(ctx, a, a, true, true, false) == NULL);
    int sec[4] = { 1, 1, 0, 0 };
    CHECK(ggml_rope_multi_back(ctx, a, a, NULL, 4, sec, GGML_ROPE_TYPE_MROPE, 0, 1e4f, 1, 0, 1, 0, 0) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 8);
    CHECK(log_captured("ggml_ssm_scan: this op is not supported"));
    ggml_free(ctx);
}

int main(void) {
    struct ggml_init_params ip = { 4 << 20, NULL, true };
    ctx = ggml_init(ip);
    test_op_numbering();
    test_unsupported_ops();
    test_elementwise();
    test_reductions();
    test_unary_norm_scale();
    test_mul_mat();
    test_copies();
    test_views();
    test_rows();
    test_masks_softmax_rope();
    test_conv_pool_pad();
    test_conv_3d_col2im();
    test_full_context_ops();
    ggml_free(ctx);
    return check_report("test-ops");
}
