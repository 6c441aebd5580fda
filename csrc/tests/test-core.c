// test-core: contexts, tensors, names, flags, facts, element access, 16-bit floats, log, time.

#define _POSIX_C_SOURCE 200809L // fork, pipe, waitpid: ggml_abort is tested in a child process

#include "check.h"
#include "ggml.h"
#include "ggml-impl.h"
#include "log.h"

#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool aligned_to(const void * p, size_t a) {
    return ((uintptr_t) p % a) == 0;
}

static bool inside(const void * p, size_t n, const void * base, size_t size) {
    const char * c = p;
    const char * b = base;
    return c >= b && c + n <= b + size;
}

static void test_context_modes(void) {
    // allocating context: data in the arena, aligned
    struct ggml_init_params ip = { 1 << 20, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    CHECK(ctx != NULL);
    CHECK(!ggml_get_no_alloc(ctx));
    CHECK(ggml_get_mem_size(ctx) >= (size_t) (1 << 20));
    CHECK(ggml_get_mem_buffer(ctx) != NULL);
    CHECK_EQ_INT(ggml_used_mem(ctx), 0);

    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 3);
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 5, 7);
    CHECK(a != NULL && b != NULL);
    CHECK(a->data != NULL && b->data != NULL);
    CHECK(aligned_to(a->data, GGML_MEM_ALIGN));
    CHECK(aligned_to(b->data, GGML_MEM_ALIGN));
    CHECK(inside(a->data, ggml_nbytes(a), ggml_get_mem_buffer(ctx), ggml_get_mem_size(ctx)));
    CHECK(inside(b->data, ggml_nbytes(b), ggml_get_mem_buffer(ctx), ggml_get_mem_size(ctx)));
    // data regions do not overlap
    CHECK((char *) a->data + ggml_nbytes(a) <= (char *) b || (char *) b->data + ggml_nbytes(b) <= (char *) a->data);
    CHECK_EQ_INT(ggml_used_mem(ctx), 2 * ggml_tensor_overhead() + GGML_PAD(12, GGML_MEM_ALIGN) + GGML_PAD(70, GGML_MEM_ALIGN));
    CHECK_EQ_INT(ggml_get_max_tensor_size(ctx), 70);

    // views share the data, no new data
    const size_t used = ggml_used_mem(ctx);
    struct ggml_tensor * v = ggml_view_tensor(ctx, b);
    CHECK(v != NULL && v->data == b->data);
    CHECK_EQ_INT(ggml_used_mem(ctx), used + ggml_tensor_overhead());

    // switching to no_alloc midway
    ggml_set_no_alloc(ctx, true);
    CHECK(ggml_get_no_alloc(ctx));
    struct ggml_tensor * c = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 100);
    CHECK(c != NULL && c->data == NULL);

    // reset forgets everything
    ggml_reset(ctx);
    CHECK_EQ_INT(ggml_used_mem(ctx), 0);
    CHECK(ggml_get_first_tensor(ctx) == NULL);
    ggml_free(ctx);

    // no_alloc context: metadata only
    struct ggml_init_params np = { 16 * ggml_tensor_overhead(), NULL, true };
    ctx = ggml_init(np);
    CHECK(ctx != NULL && ggml_get_no_alloc(ctx));
    struct ggml_tensor * big = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1 << 20, 1 << 10);
    CHECK(big != NULL && big->data == NULL);
    CHECK_EQ_INT(ggml_nbytes(big), (size_t) 4 << 30);
    CHECK_EQ_INT(ggml_used_mem(ctx), ggml_tensor_overhead());
    ggml_free(ctx);

    // a size of 0 is allowed, as in ggml; such a context holds nothing
    struct ggml_init_params zp = { 0, NULL, true };
    ctx = ggml_init(zp);
    CHECK(ctx != NULL);
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1) == NULL);
    log_capture_end();
    CHECK(log_captured("not enough space"));
    ggml_free(ctx);

    ggml_free(NULL); // no-op
}

static void test_caller_buffer(void) {
    // a caller's buffer is used (tensors and data inside it) and not freed by ggml_free:
    // freeing a static array would be caught by the sanitizers
    static _Alignas(64) char buf[4096 + 64];
    struct ggml_init_params ip = { 4096, buf, false };
    struct ggml_context * ctx = ggml_init(ip);
    CHECK(ctx != NULL);
    CHECK(ggml_get_mem_buffer(ctx) == buf);
    struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16);
    CHECK(t != NULL);
    CHECK(inside(t, sizeof(*t), buf, 4096));
    CHECK(inside(t->data, 64, buf, 4096));
    ggml_set_f32(t, 2.5f);
    ggml_free(ctx);
    float f;
    memcpy(&f, t->data, sizeof(f));
    CHECK(f == 2.5f); // the data is still there: the buffer was not touched by ggml_free

    // an unaligned caller buffer: data still aligned, still inside
    ip.mem_buffer = buf + 3;
    ip.mem_size   = 4096;
    ctx = ggml_init(ip);
    CHECK(ctx != NULL);
    t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16);
    CHECK(t != NULL);
    CHECK(aligned_to(t->data, GGML_MEM_ALIGN));
    CHECK(inside(t->data, 64, buf + 3, 4096));
    ggml_free(ctx);
}

static void test_full_context(void) {
    // exactly n tensors of metadata fit in n * ggml_tensor_overhead()
    const int n = 5;
    struct ggml_init_params ip = { n * ggml_tensor_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    CHECK(ctx != NULL);
    for (int i = 0; i < n; i++) {
        CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 10) != NULL);
    }
    log_capture_begin();
    struct ggml_tensor * t = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, 7, 8, 9);
    log_capture_end();
    CHECK(t == NULL);
    CHECK_EQ_INT(log_capture_errors, 1);
    CHECK(log_captured("not enough space"));
    CHECK(log_captured("f16 tensor [7, 8, 9, 1]"));
    char needed[64];
    snprintf(needed, sizeof(needed), "needed %zu bytes, available 0 bytes", ggml_tensor_overhead());
    CHECK(log_captured(needed));
    ggml_free(ctx);

    // allocating: n * overhead + padded data fits exactly; one byte of data more does not
    const size_t data = GGML_PAD(10 * sizeof(float), GGML_MEM_ALIGN);
    struct ggml_init_params ap = { 2 * (ggml_tensor_overhead() + data), NULL, false };
    ctx = ggml_init(ap);
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 10) != NULL);
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 10) != NULL);
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_I8, 1) == NULL);
    log_capture_end();
    CHECK(log_captured("i8 tensor [1, 1, 1, 1]"));
    ggml_free(ctx);

    // a big allocation that does not fit names the numbers
    struct ggml_init_params sp = { 1024, NULL, false };
    ctx = ggml_init(sp);
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1000) == NULL);
    log_capture_end();
    char msg[96];
    snprintf(msg, sizeof(msg), "needed %zu bytes, available %zu bytes", ggml_tensor_overhead() + 4000, (size_t) 1024);
    CHECK(log_captured(msg));
    ggml_free(ctx);
}

static void test_bad_input(struct ggml_context * ctx) {
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(NULL, GGML_TYPE_F32, 4) == NULL);
    CHECK(log_captured("context is NULL"));
    log_capture_end();

    log_capture_begin();
    CHECK(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, -3) == NULL);
    CHECK(log_captured("negative extent ne[1] = -3"));
    log_capture_end();

    log_capture_begin();
    CHECK(ggml_new_tensor_4d(ctx, GGML_TYPE_F32, INT64_C(1) << 40, INT64_C(1) << 30, 1, 1) == NULL);
    CHECK(log_captured("overflows"));
    CHECK(log_captured("[1099511627776, 1073741824, 1, 1]"));
    log_capture_end();

    // the overflow is caught even when the last extent is 0 (the strides would overflow)
    log_capture_begin();
    CHECK(ggml_new_tensor_4d(ctx, GGML_TYPE_F64, INT64_C(1) << 40, INT64_C(1) << 40, 0, 1) == NULL);
    CHECK(log_captured("overflows"));
    log_capture_end();

    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, (enum ggml_type) 4, 4) == NULL);
    CHECK(log_captured("unknown tensor type 4"));
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_COUNT, 4) == NULL);
    CHECK(ggml_new_tensor_1d(ctx, (enum ggml_type) -1, 4) == NULL);
    CHECK_EQ_INT(log_capture_errors, 3);
    log_capture_end();

    log_capture_begin();
    const int64_t ne[5] = { 1, 1, 1, 1, 1 };
    CHECK(ggml_new_tensor(ctx, GGML_TYPE_F32, 0, ne) == NULL);
    CHECK(ggml_new_tensor(ctx, GGML_TYPE_F32, 5, ne) == NULL);
    CHECK(ggml_new_tensor(ctx, GGML_TYPE_F32, 2, NULL) == NULL);
    CHECK_EQ_INT(log_capture_errors, 3);
    log_capture_end();

    // block types need ne[0] to be a multiple of the block
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_Q8_0, 33) == NULL);
    CHECK(log_captured("not a multiple of the block size 32"));
    log_capture_end();

    // facts on NULL do not crash
    CHECK_EQ_INT(ggml_nbytes(NULL), 0);
    CHECK_EQ_INT(ggml_nelements(NULL), 0);
    CHECK(ggml_dup_tensor(ctx, NULL) == NULL);
    CHECK(ggml_view_tensor(ctx, NULL) == NULL);
    CHECK(ggml_get_name(NULL) == NULL);
    CHECK(ggml_set_name(NULL, "x") == NULL);
    ggml_set_input(NULL);
    ggml_set_output(NULL);
    ggml_set_param(NULL);
}

static void test_shapes(struct ggml_context * ctx) {
    struct ggml_tensor * t1 = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 7);
    CHECK_EQ_INT(t1->ne[0], 7); CHECK_EQ_INT(t1->ne[1], 1); CHECK_EQ_INT(t1->ne[3], 1);
    CHECK_EQ_INT(t1->nb[0], 4); CHECK_EQ_INT(t1->nb[1], 28); CHECK_EQ_INT(t1->nb[3], 28);
    CHECK_EQ_INT(ggml_n_dims(t1), 1);
    CHECK(t1->op == GGML_OP_NONE && t1->view_src == NULL && t1->view_offs == 0 && t1->buffer == NULL);
    CHECK(t1->name[0] == '\0' && t1->flags == 0 && t1->extra == NULL);

    struct ggml_tensor * t4 = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 3, 4, 5, 6);
    const int64_t ne[4] = { 3, 4, 5, 6 };
    size_t stride = 2;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(t4->ne[i], ne[i]);
        CHECK_EQ_INT(t4->nb[i], stride);
        stride *= (size_t) ne[i];
    }
    CHECK_EQ_INT(ggml_nelements(t4), 360);
    CHECK_EQ_INT(ggml_nrows(t4), 120);
    CHECK_EQ_INT(ggml_nbytes(t4), 720);
    CHECK_EQ_INT(ggml_nbytes_pad(t4), GGML_PAD(720, GGML_MEM_ALIGN));
    CHECK_EQ_INT(ggml_n_dims(t4), 4);
    CHECK_EQ_INT(ggml_element_size(t4), 2);

    struct ggml_tensor * t3 = ggml_new_tensor_3d(ctx, GGML_TYPE_BF16, 2, 1, 9);
    CHECK_EQ_INT(ggml_n_dims(t3), 3);
    struct ggml_tensor * t2 = ggml_new_tensor_2d(ctx, GGML_TYPE_I32, 2, 9);
    CHECK_EQ_INT(ggml_n_dims(t2), 2);

    // quantized: strides count blocks
    struct ggml_tensor * q = ggml_new_tensor_2d(ctx, GGML_TYPE_Q8_0, 64, 3);
    CHECK(q != NULL);
    CHECK_EQ_INT(q->nb[0], 34);
    CHECK_EQ_INT(q->nb[1], 68);
    CHECK_EQ_INT(ggml_nbytes(q), 204);
    CHECK_EQ_INT(ggml_row_size(GGML_TYPE_Q8_0, 64), 68);
    CHECK(ggml_is_contiguous(q));

    // an empty tensor is fine and has no bytes
    struct ggml_tensor * e = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 0, 5);
    CHECK(e != NULL && ggml_is_empty(e));
    CHECK_EQ_INT(ggml_nbytes(e), 0);
    CHECK(!ggml_is_empty(t4));

    // ggml_new_tensor with n_dims < 4 fills the rest with 1
    const int64_t ne2[2] = { 8, 2 };
    struct ggml_tensor * g = ggml_new_tensor(ctx, GGML_TYPE_F32, 2, ne2);
    CHECK(g->ne[2] == 1 && g->ne[3] == 1 && g->nb[2] == 64 && g->nb[3] == 64);

    // dup_tensor: same type and shape, new data, no name, no op
    ggml_set_name(t4, "t4");
    struct ggml_tensor * d = ggml_dup_tensor(ctx, t4);
    CHECK(ggml_are_same_shape(d, t4) && d->type == t4->type && d->view_src == NULL);
    CHECK(d->name[0] == '\0' && d->op == GGML_OP_NONE);

    // view_tensor: same shape and strides, view of the source, named after it
    struct ggml_tensor * v = ggml_view_tensor(ctx, t4);
    CHECK(v->view_src == t4 && v->view_offs == 0 && ggml_are_same_stride(v, t4));
    CHECK(strcmp(v->name, "t4 (view)") == 0);
    CHECK(v->op == GGML_OP_NONE && v->src[0] == NULL);
    CHECK(ggml_is_view(v) && !ggml_is_view(t4));
    struct ggml_tensor * vv = ggml_view_tensor(ctx, v);
    CHECK(vv->view_src == t4); // views of views point to the root
    CHECK(strcmp(vv->name, "t4 (view) (view)") == 0);
}

static void test_facts(struct ggml_context * ctx) {
    struct ggml_tensor * m = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 3);
    struct ggml_tensor * s = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1);
    struct ggml_tensor * v = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    struct ggml_tensor * c = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 4, 3, 2);
    struct ggml_tensor * h = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 4, 3, 2, 2);

    CHECK(ggml_is_scalar(s) && !ggml_is_scalar(v));
    CHECK(ggml_is_vector(v) && ggml_is_vector(s) && !ggml_is_vector(m));
    CHECK(ggml_is_matrix(m) && ggml_is_matrix(v) && !ggml_is_matrix(c));
    CHECK(ggml_is_3d(c) && !ggml_is_3d(h));
    CHECK_EQ_INT(ggml_n_dims(s), 1);

    CHECK(ggml_is_contiguous(m) && ggml_is_contiguous_0(m) && ggml_is_contiguous_1(m) && ggml_is_contiguous_2(m));
    CHECK(!ggml_is_transposed(m) && !ggml_is_permuted(m));

    struct ggml_tensor * t = ggml_transpose(ctx, m);
    CHECK(ggml_is_transposed(t) && ggml_is_permuted(t));
    CHECK(!ggml_is_contiguous(t) && !ggml_is_contiguous_rows(t));
    CHECK_EQ_INT(ggml_nbytes(t), ggml_nbytes(m));
    CHECK(ggml_is_contiguously_allocated(t)); // same bytes, only reordered

    struct ggml_tensor * p = ggml_permute(ctx, h, 0, 2, 1, 3);
    CHECK(ggml_is_permuted(p) && !ggml_is_transposed(p));
    CHECK(!ggml_is_contiguous(p) && ggml_is_contiguous_rows(p));
    CHECK(!ggml_is_contiguous_1(p));

    // rows spaced apart: contiguous only from dim 1 on
    struct ggml_tensor * rows = ggml_view_2d(ctx, m, 2, 3, m->nb[1], 0);
    CHECK(!ggml_is_contiguous(rows) && ggml_is_contiguous_1(rows) && ggml_is_contiguous_2(rows));
    CHECK(!ggml_is_contiguously_allocated(rows));
    CHECK(ggml_is_contiguous_rows(rows));
    // matrices spaced apart: contiguous only from dim 2 on
    struct ggml_tensor * mats = ggml_view_3d(ctx, c, 4, 2, 2, c->nb[1], c->nb[2], 0);
    CHECK(!ggml_is_contiguous(mats) && !ggml_is_contiguous_1(mats) && ggml_is_contiguous_2(mats));
    struct ggml_tensor * mats2 = ggml_view_4d(ctx, h, 4, 2, 2, 2, h->nb[1], h->nb[2], h->nb[3], 0);
    CHECK(!ggml_is_contiguous_1(mats2) && ggml_is_contiguous_2(mats2));
    // dims above 2 must follow densely after the span of dim 2
    struct ggml_tensor * mats3 = ggml_view_4d(ctx, h, 4, 3, 1, 2, h->nb[1], h->nb[2], h->nb[3], 0);
    CHECK(!ggml_is_contiguous_2(mats3));

    CHECK(ggml_are_same_shape(m, m) && !ggml_are_same_shape(m, v));
    CHECK(ggml_are_same_stride(m, m) && !ggml_are_same_stride(m, t));

    CHECK(ggml_can_repeat(v, m) && ggml_can_repeat(s, h) && ggml_can_repeat(m, h));
    CHECK(!ggml_can_repeat(m, v) && !ggml_can_repeat(c, m));
    struct ggml_tensor * e = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 0);
    CHECK(!ggml_can_repeat(e, m) && ggml_can_repeat(e, e));

    // type table
    CHECK_EQ_INT(ggml_blck_size(GGML_TYPE_F32), 1);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_F32), 4);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_F16), 2);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_BF16), 2);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_I32), 4);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_I64), 8);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_F64), 8);
    CHECK_EQ_INT(ggml_blck_size(GGML_TYPE_Q4_0), 32);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q4_0), 18);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q4_1), 20);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q5_0), 22);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q5_1), 24);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q8_0), 34);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q8_1), 36);
    CHECK_EQ_INT(ggml_blck_size(GGML_TYPE_Q4_K), 256);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q2_K), 84);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q3_K), 110);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q4_K), 144);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q5_K), 176);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q6_K), 210);
    CHECK_EQ_INT(ggml_type_size(GGML_TYPE_Q8_K), 292);
    CHECK(ggml_is_quantized(GGML_TYPE_Q8_0) && ggml_is_quantized(GGML_TYPE_Q6_K));
    CHECK(!ggml_is_quantized(GGML_TYPE_F16) && !ggml_is_quantized(GGML_TYPE_I8));
    CHECK(strcmp(ggml_type_name(GGML_TYPE_F32), "f32") == 0);
    CHECK(strcmp(ggml_type_name(GGML_TYPE_BF16), "bf16") == 0);
    CHECK(strcmp(ggml_type_name(GGML_TYPE_Q4_K), "q4_K") == 0);
    CHECK(strcmp(ggml_type_name(GGML_TYPE_I32), "i32") == 0);
    CHECK(ggml_type_name((enum ggml_type) 4) == NULL);
    CHECK(ggml_type_name(GGML_TYPE_COUNT) == NULL);
    CHECK_EQ_INT(ggml_blck_size((enum ggml_type) 5), 0);
    CHECK_EQ_INT(ggml_type_size((enum ggml_type) 99), 0);
    CHECK_EQ_INT(ggml_row_size(GGML_TYPE_F16, 10), 20);
    CHECK_EQ_INT(ggml_row_size(GGML_TYPE_Q4_K, 512), 288);
    CHECK_EQ_INT(ggml_row_size(GGML_TYPE_Q4_K, 100), 0);
    CHECK_EQ_INT(ggml_row_size((enum ggml_type) 4, 10), 0);
    // every named type round-trips its name to a unique entry
    int named = 0;
    for (int i = 0; i < GGML_TYPE_COUNT; i++) {
        const char * n = ggml_type_name((enum ggml_type) i);
        if (n != NULL) {
            named++;
            CHECK(ggml_blck_size((enum ggml_type) i) > 0 && ggml_type_size((enum ggml_type) i) > 0);
            for (int j = 0; j < i; j++) {
                const char * o = ggml_type_name((enum ggml_type) j);
                CHECK(o == NULL || strcmp(o, n) != 0);
            }
        }
    }
    CHECK_EQ_INT(named, 35); // ggml's 43 ids less the 8 it removed

    // op names
    CHECK(strcmp(ggml_op_name(GGML_OP_NONE), "NONE") == 0);
    CHECK(strcmp(ggml_op_name(GGML_OP_MUL_MAT), "MUL_MAT") == 0);
    CHECK(strcmp(ggml_op_name(GGML_OP_SOFT_MAX), "SOFT_MAX") == 0);
    CHECK(strcmp(ggml_op_name(GGML_OP_UNARY), "UNARY") == 0);
    CHECK(strcmp(ggml_op_name(GGML_OP_COUNT), "UNKNOWN") == 0);
    CHECK(strcmp(ggml_op_symbol(GGML_OP_ADD), "x+y") == 0);
    CHECK(strcmp(ggml_op_symbol(GGML_OP_MUL_MAT), "X*Y") == 0);
    CHECK(strcmp(ggml_unary_op_name(GGML_UNARY_OP_GELU), "GELU") == 0);
    CHECK(strcmp(ggml_unary_op_name(GGML_UNARY_OP_GELU_ERF), "GELU_ERF") == 0);
    CHECK(strcmp(ggml_unary_op_name(GGML_UNARY_OP_COUNT), "UNKNOWN") == 0);
    struct ggml_tensor * gl = ggml_gelu(ctx, m);
    CHECK(strcmp(ggml_op_desc(gl), "GELU") == 0);
    CHECK(ggml_get_unary_op(gl) == GGML_UNARY_OP_GELU);
    CHECK(strcmp(ggml_op_desc(t), "TRANSPOSE") == 0);
    log_capture_begin();
    CHECK(ggml_get_unary_op(t) == GGML_UNARY_OP_COUNT);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 1);
    for (int i = 0; i < GGML_OP_COUNT; i++) {
        CHECK(strcmp(ggml_op_name((enum ggml_op) i), "UNKNOWN") != 0);
        CHECK(ggml_op_symbol((enum ggml_op) i) != NULL);
    }

    CHECK(strcmp(ggml_status_to_string(GGML_STATUS_SUCCESS), "SUCCESS") == 0);
    CHECK(strcmp(ggml_status_to_string(GGML_STATUS_FAILED), "FAILED") == 0);
    CHECK(strcmp(ggml_status_to_string(GGML_STATUS_ALLOC_FAILED), "ALLOC_FAILED") == 0);
    CHECK(strcmp(ggml_status_to_string(GGML_STATUS_ABORTED), "ABORTED") == 0);
    CHECK(strcmp(ggml_status_to_string((enum ggml_status) 7), "UNKNOWN STATUS") == 0);
}

static void test_names_flags_iteration(void) {
    struct ggml_init_params ip = { 64 * ggml_tensor_overhead() + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1);
    struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 2);
    CHECK(ggml_new_graph(ctx) != NULL); // a non-tensor object between tensors
    struct ggml_tensor * c = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 3);

    CHECK(ggml_set_name(a, "alpha") == a);
    CHECK(strcmp(ggml_get_name(a), "alpha") == 0);
    CHECK(ggml_format_name(b, "beta_%d_%s", 7, "x") == b);
    CHECK(strcmp(b->name, "beta_7_x") == 0);
    // names are truncated to GGML_MAX_NAME - 1 bytes
    char longname[200];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    ggml_set_name(c, longname);
    CHECK_EQ_INT(strlen(c->name), GGML_MAX_NAME - 1);
    ggml_format_name(c, "%s", longname);
    CHECK_EQ_INT(strlen(c->name), GGML_MAX_NAME - 1);
    // formatting a name from itself
    ggml_set_name(c, "gamma");
    ggml_format_name(c, "%s (again)", c->name);
    CHECK(strcmp(c->name, "gamma (again)") == 0);

    CHECK(ggml_get_tensor(ctx, "alpha") == a);
    CHECK(ggml_get_tensor(ctx, "beta_7_x") == b);
    CHECK(ggml_get_tensor(ctx, "nope") == NULL);
    CHECK(ggml_get_tensor(NULL, "alpha") == NULL);

    // iteration in creation order, skipping the graph
    CHECK(ggml_get_first_tensor(ctx) == a);
    CHECK(ggml_get_next_tensor(ctx, a) == b);
    CHECK(ggml_get_next_tensor(ctx, b) == c);
    CHECK(ggml_get_next_tensor(ctx, c) == NULL);

    ggml_set_input(a);
    CHECK(a->flags == GGML_TENSOR_FLAG_INPUT);
    ggml_set_output(a);
    CHECK(a->flags == (GGML_TENSOR_FLAG_INPUT | GGML_TENSOR_FLAG_OUTPUT));
    ggml_set_param(b);
    CHECK(b->flags == GGML_TENSOR_FLAG_PARAM);
    ggml_set_loss(a);
    CHECK(a->flags & GGML_TENSOR_FLAG_LOSS);
    // a non-scalar cannot be the loss; an op result cannot be a param
    log_capture_begin();
    ggml_set_loss(b);
    struct ggml_tensor * sum = ggml_add(ctx, b, b);
    ggml_set_param(sum);
    log_capture_end();
    CHECK(!(b->flags & GGML_TENSOR_FLAG_LOSS));
    CHECK(!(sum->flags & GGML_TENSOR_FLAG_PARAM));
    CHECK_EQ_INT(log_capture_errors, 2);

    ggml_free(ctx);
}

static void test_element_access(void) {
    struct ggml_init_params ip = { 1 << 16, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    const enum ggml_type types[4] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_I32 };
    for (int k = 0; k < 4; k++) {
        struct ggml_tensor * t = ggml_new_tensor_3d(ctx, types[k], 3, 4, 2);
        CHECK(ggml_set_f32(t, 1.5f) == t);
        const float all = types[k] == GGML_TYPE_I32 ? 1.0f : 1.5f;
        for (int i = 0; i < 24; i++) {
            CHECK(ggml_get_f32_1d(t, i) == all);
        }
        ggml_set_i32(t, -7);
        CHECK(ggml_get_i32_1d(t, 23) == -7);
        CHECK(ggml_get_f32_nd(t, 2, 3, 1, 0) == -7.0f);
        for (int i = 0; i < 24; i++) {
            ggml_set_f32_1d(t, i, (float) (i * 2));
        }
        // logical order: i = i0 + 3*i1 + 12*i2
        CHECK(ggml_get_f32_nd(t, 1, 2, 1, 0) == (float) ((1 + 3 * 2 + 12) * 2));
        CHECK(ggml_get_i32_nd(t, 2, 0, 1, 0) == (2 + 12) * 2);
        ggml_set_f32_nd(t, 0, 1, 0, 0, 100.0f);
        CHECK(ggml_get_f32_1d(t, 3) == 100.0f);
        ggml_set_i32_nd(t, 0, 0, 1, 0, 55);
        CHECK(ggml_get_i32_1d(t, 12) == 55);
        ggml_set_i32_1d(t, 5, 9);
        CHECK(ggml_get_f32_1d(t, 5) == 9.0f);

        // a transposed view indexes logically through the strides
        struct ggml_tensor * m = ggml_view_2d(ctx, t, 3, 4, t->nb[1], 0);
        struct ggml_tensor * tr = ggml_transpose(ctx, m);
        CHECK(ggml_get_f32_1d(tr, 1) == ggml_get_f32_nd(m, 0, 1, 0, 0));
        CHECK(ggml_get_f32_nd(tr, 3, 2, 0, 0) == ggml_get_f32_nd(m, 2, 3, 0, 0));
        ggml_set_f32_1d(tr, 4, 77.0f); // tr[0, 1] = m[1, 0]
        CHECK(ggml_get_f32_nd(m, 1, 0, 0, 0) == 77.0f);

        // out of range: logged, 0, nothing written
        log_capture_begin();
        CHECK(ggml_get_f32_1d(t, 24) == 0.0f);
        CHECK(ggml_get_i32_1d(t, -1) == 0);
        CHECK(ggml_get_f32_nd(t, 3, 0, 0, 0) == 0.0f);
        ggml_set_f32_nd(t, 0, 4, 0, 0, 1.0f);
        ggml_set_i32_nd(t, 0, 0, 0, 1, 1);
        ggml_set_i32_1d(t, 1000, 1);
        log_capture_end();
        CHECK_EQ_INT(log_capture_errors, 6);
        CHECK(log_captured("index 24 is outside"));
        CHECK(log_captured("index [3, 0, 0, 0] is outside"));
    }
    // f16 and bf16 round the stored value
    struct ggml_tensor * h = ggml_new_tensor_1d(ctx, GGML_TYPE_F16, 1);
    ggml_set_f32_1d(h, 0, 1.0f / 3.0f);
    CHECK(ggml_get_f32_1d(h, 0) == ggml_fp16_to_fp32(ggml_fp32_to_fp16(1.0f / 3.0f)));
    CHECK(ggml_get_f32_1d(h, 0) != 1.0f / 3.0f);
    // i32 saturates out-of-range floats instead of invoking undefined behaviour
    struct ggml_tensor * ti = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 2);
    ggml_set_f32_1d(ti, 0, 1e20f);
    ggml_set_f32_1d(ti, 1, NAN);
    CHECK(ggml_get_i32_1d(ti, 0) == INT32_MAX);
    CHECK(ggml_get_i32_1d(ti, 1) == 0);

    // ggml_new_i32 / ggml_new_f32
    struct ggml_tensor * ni = ggml_new_i32(ctx, 42);
    struct ggml_tensor * nf = ggml_new_f32(ctx, -0.25f);
    CHECK(ni != NULL && ni->type == GGML_TYPE_I32 && ggml_get_i32_1d(ni, 0) == 42);
    CHECK(nf != NULL && nf->type == GGML_TYPE_F32 && ggml_get_f32_1d(nf, 0) == -0.25f);
    CHECK(ggml_get_data(nf) == nf->data && ggml_get_data_f32(nf) == (float *) nf->data);
    log_capture_begin();
    CHECK(ggml_get_data_f32(ni) == NULL);
    log_capture_end();
    CHECK(log_captured("is not f32"));

    // quantized and no-data tensors refuse element access
    struct ggml_tensor * q = ggml_new_tensor_1d(ctx, GGML_TYPE_Q8_0, 32);
    log_capture_begin();
    CHECK(ggml_get_f32_1d(q, 0) == 0.0f);
    log_capture_end();
    CHECK(log_captured("element access supports"));
    ggml_set_no_alloc(ctx, true);
    struct ggml_tensor * nd = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    log_capture_begin();
    CHECK(ggml_get_f32_1d(nd, 0) == 0.0f);
    ggml_set_f32(nd, 1.0f);
    CHECK(ggml_new_i32(ctx, 1) == NULL);
    CHECK(ggml_new_f32(ctx, 1.0f) == NULL);
    CHECK(ggml_get_f32_1d(NULL, 0) == 0.0f);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 5);
    CHECK(log_captured("has no data"));
    ggml_free(ctx);
}

//
// 16-bit floats
//

static uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float    from_bits(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

// Reference: the value of a half, computed arithmetically (no bit tricks).
static double half_value(uint16_t h) {
    const int sign = (h >> 15) & 1;
    const int exp  = (h >> 10) & 0x1f;
    const int mant = h & 0x3ff;
    double v = exp == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, exp - 25);
    return sign ? -v : v;
}

static void test_fp16(void) {
    // every finite half converts exactly to f32 and back
    int bad_exact = 0, bad_back = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        const int exp = (h >> 10) & 0x1f;
        const float f = ggml_fp16_to_fp32((ggml_fp16_t) h);
        if (exp == 31) {
            if ((h & 0x3ff) == 0) {
                bad_exact += !(isinf(f) && (signbit(f) != 0) == ((h >> 15) != 0));
                bad_back  += ggml_fp32_to_fp16(f) != h;
            } else {
                bad_exact += !isnan(f);
                bad_back  += (ggml_fp32_to_fp16(f) & 0x7c00) != 0x7c00 || (ggml_fp32_to_fp16(f) & 0x3ff) == 0;
            }
            continue;
        }
        bad_exact += (double) f != half_value((uint16_t) h) || (signbit(f) != 0) != ((h >> 15) != 0);
        bad_back  += ggml_fp32_to_fp16(f) != h;
    }
    CHECK_EQ_INT(bad_exact, 0);
    CHECK_EQ_INT(bad_back, 0);

    // rounding: between two adjacent positive halves, the midpoint goes to the even one, and
    // anything off the midpoint (by one f32 ulp) goes to the nearer one
    int bad_round = 0;
    for (uint32_t h = 0; h < 0x7bff; h++) {
        const float lo = ggml_fp16_to_fp32((ggml_fp16_t) h);
        const float hi = ggml_fp16_to_fp32((ggml_fp16_t) (h + 1));
        const float mid = (float) (((double) lo + (double) hi) / 2); // exact in f32
        const uint16_t even = (h & 1) ? (uint16_t) (h + 1) : (uint16_t) h;
        bad_round += ggml_fp32_to_fp16(mid) != even;
        bad_round += ggml_fp32_to_fp16(from_bits(bits_of(mid) - 1)) != h;
        bad_round += ggml_fp32_to_fp16(from_bits(bits_of(mid) + 1)) != h + 1;
        bad_round += ggml_fp32_to_fp16(-mid) != (0x8000 | even);
    }
    CHECK_EQ_INT(bad_round, 0);

    // overflow: 65504 is the largest half; the midpoint to the next power (65520) rounds to inf
    CHECK(ggml_fp32_to_fp16(65504.0f) == 0x7bff);
    CHECK(ggml_fp32_to_fp16(from_bits(bits_of(65520.0f) - 1)) == 0x7bff);
    CHECK(ggml_fp32_to_fp16(65520.0f) == 0x7c00);
    CHECK(ggml_fp32_to_fp16(1e10f) == 0x7c00);
    CHECK(ggml_fp32_to_fp16(-1e10f) == 0xfc00);
    CHECK(ggml_fp32_to_fp16(INFINITY) == 0x7c00);
    CHECK(ggml_fp32_to_fp16(-INFINITY) == 0xfc00);
    // underflow: half of the smallest subnormal (2^-25) is a tie and goes to zero; above it, up
    CHECK(ggml_fp32_to_fp16(ldexpf(1.0f, -25)) == 0x0000);
    CHECK(ggml_fp32_to_fp16(from_bits(bits_of(ldexpf(1.0f, -25)) + 1)) == 0x0001);
    CHECK(ggml_fp32_to_fp16(ldexpf(1.0f, -30)) == 0x0000);
    CHECK(ggml_fp32_to_fp16(-ldexpf(1.0f, -30)) == 0x8000);
    CHECK(ggml_fp32_to_fp16(from_bits(1)) == 0x0000); // f32 denormal
    CHECK(ggml_fp32_to_fp16(-0.0f) == 0x8000);
    // the largest subnormal rounds up into the smallest normal
    CHECK(ggml_fp32_to_fp16(ldexpf(1.0f, -14) - ldexpf(1.0f, -26)) == 0x0400);
    // NaN stays NaN, whatever the payload (even one only in the dropped bits)
    const uint32_t nans[4] = { 0x7fc00000, 0x7f800001, 0xffc00000, 0x7f801000 };
    for (int i = 0; i < 4; i++) {
        const ggml_fp16_t h = ggml_fp32_to_fp16(from_bits(nans[i]));
        CHECK((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0);
        CHECK(isnan(ggml_fp16_to_fp32(h)));
        CHECK(((h >> 15) & 1) == (nans[i] >> 31));
    }

#if defined(__FLT16_MAX__)
    // against the compiler's own conversion, on a sweep of bit patterns
    int bad_hw = 0;
    for (uint64_t u = 0; u <= 0xffffffffu; u += 65521) {
        const float f = from_bits((uint32_t) u);
        if (isnan(f)) {
            continue;
        }
        const _Float16 ref = (_Float16) f;
        uint16_t rb;
        memcpy(&rb, &ref, 2);
        bad_hw += ggml_fp32_to_fp16(f) != rb;
    }
    CHECK_EQ_INT(bad_hw, 0);
#endif

    // rows
    float src[5] = { 0.0f, 1.0f, -2.5f, 65504.0f, 1e-6f };
    ggml_fp16_t h16[5];
    float back[5];
    ggml_fp32_to_fp16_row(src, h16, 5);
    ggml_fp16_to_fp32_row(h16, back, 5);
    for (int i = 0; i < 5; i++) {
        CHECK(h16[i] == ggml_fp32_to_fp16(src[i]));
        CHECK(back[i] == ggml_fp16_to_fp32(h16[i]));
    }
    CHECK(back[0] == 0.0f && back[1] == 1.0f && back[2] == -2.5f && back[3] == 65504.0f);
    CHECK(fabsf(back[4] - 1e-6f) < ldexpf(1.0f, -25)); // subnormal half: within half a unit
}

static void test_bf16(void) {
    // every bf16 converts exactly (it is the top half of an f32) and back
    int bad = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        ggml_bf16_t x = { (uint16_t) b };
        const float f = ggml_bf16_to_fp32(x);
        bad += bits_of(f) != b << 16;
        if (!isnan(f)) {
            bad += ggml_fp32_to_bf16(f).bits != b;
        } else {
            bad += !isnan(ggml_bf16_to_fp32(ggml_fp32_to_bf16(f)));
        }
    }
    CHECK_EQ_INT(bad, 0);

    // round to nearest even on the 16 dropped bits
    int bad_round = 0;
    for (uint32_t b = 0; b < 0x7f7f; b += 7) {
        const uint32_t lo = b << 16;
        const uint16_t even = (b & 1) ? (uint16_t) (b + 1) : (uint16_t) b;
        bad_round += ggml_fp32_to_bf16(from_bits(lo | 0x8000)).bits != even;
        bad_round += ggml_fp32_to_bf16(from_bits(lo | 0x7fff)).bits != b;
        bad_round += ggml_fp32_to_bf16(from_bits(lo | 0x8001)).bits != b + 1;
    }
    CHECK_EQ_INT(bad_round, 0);
    // denormals are kept (not flushed), overflow rounds to infinity, NaN stays NaN
    CHECK(ggml_fp32_to_bf16(from_bits(0x00010000)).bits == 0x0001);
    CHECK(ggml_fp32_to_bf16(from_bits(0x7f7fffff)).bits == 0x7f80);
    CHECK(ggml_fp32_to_bf16(INFINITY).bits == 0x7f80);
    CHECK(ggml_fp32_to_bf16(-INFINITY).bits == 0xff80);
    CHECK(isnan(ggml_bf16_to_fp32(ggml_fp32_to_bf16(from_bits(0x7f800001)))));
    CHECK(isnan(ggml_bf16_to_fp32(ggml_fp32_to_bf16(NAN))));

    float src[4] = { 1.0f, 3.14159265f, -1e30f, 1e-40f };
    ggml_bf16_t r1[4], r2[4];
    float back[4];
    ggml_fp32_to_bf16_row(src, r1, 4);
    ggml_fp32_to_bf16_row_ref(src, r2, 4);
    ggml_bf16_to_fp32_row(r1, back, 4);
    for (int i = 0; i < 4; i++) {
        CHECK(r1[i].bits == r2[i].bits);
        CHECK(r1[i].bits == ggml_fp32_to_bf16(src[i]).bits);
        CHECK(back[i] == ggml_bf16_to_fp32(r1[i]));
        CHECK(fabsf(back[i] - src[i]) <= fabsf(src[i]) / 256.0f + ldexpf(1.0f, -134)); // denormals: absolute
    }
}

//
// Log and time
//

struct log_record {
    int calls;
    enum ggml_log_level last_level;
    char text[1024];
};

static void record_cb(enum ggml_log_level level, const char * text, void * user_data) {
    struct log_record * r = user_data;
    r->calls++;
    r->last_level = level;
    snprintf(r->text, sizeof(r->text), "%s", text);
}

static void test_log_and_time(void) {
    struct log_record rec = { 0 };
    ggml_log_set(record_cb, &rec);
    ggalloc_log(GGML_LOG_LEVEL_WARN, "hello %d %s\n", 42, "world");
    CHECK_EQ_INT(rec.calls, 1);
    CHECK(rec.last_level == GGML_LOG_LEVEL_WARN);
    CHECK(strcmp(rec.text, "hello 42 world\n") == 0);
    // a long message arrives whole
    char lng[700];
    memset(lng, 'x', sizeof(lng) - 1);
    lng[sizeof(lng) - 1] = 0;
    GGML_LOG_INFO("%s|", lng);
    CHECK_EQ_INT(rec.calls, 2);
    CHECK_EQ_INT(strlen(rec.text), sizeof(lng));
    CHECK(rec.text[sizeof(lng) - 1] == '|');
    // library errors go through the callback
    ggml_new_tensor_1d(NULL, GGML_TYPE_F32, 1);
    CHECK_EQ_INT(rec.calls, 3);
    CHECK(rec.last_level == GGML_LOG_LEVEL_ERROR);
    // NULL restores the default logger: the record sees nothing more
    ggml_log_set(NULL, NULL);
    GGML_LOG_DEBUG("to stderr\n");
    CHECK_EQ_INT(rec.calls, 3);

    ggml_time_init();
    const int64_t t0 = ggml_time_us();
    const int64_t m0 = ggml_time_ms();
    volatile double x = 0;
    for (int i = 0; i < 100000; i++) {
        x += i;
    }
    const int64_t t1 = ggml_time_us();
    CHECK(t1 >= t0 && t0 > 0);
    CHECK(ggml_time_ms() >= m0);
    CHECK(ggml_time_ms() <= t1 / 1000 + 1000);
    CHECK(ggml_cycles_per_ms() > 0);
    CHECK(ggml_cycles() >= 0);
}

static void pipe_cb(enum ggml_log_level level, const char * text, void * user_data) {
    (void) level;
    const int fd = *(const int *) user_data;
    const ssize_t n = write(fd, text, strlen(text));
    (void) n;
}

static void test_abort(void) {
    // ggml_abort logs through the callback, then aborts: run it in a child
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    const pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        ggml_log_set(pipe_cb, &fds[1]);
        GGML_ABORT("boom %d", 7);
    }
    close(fds[1]);
    char buf[512] = { 0 };
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
        len += (size_t) n;
    }
    close(fds[0]);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    CHECK(strstr(buf, "test-core.c:") != NULL);
    CHECK(strstr(buf, "boom 7") != NULL);
}

// ggalloc_extent (ggml_nbytes, and every tensor a graph walk sizes) against the same sum in 128
// bits, on small shapes and on large extents and strides, products past 64 bits, empty and
// negative extents.
static void test_extent(void) {
    const enum ggml_type types[] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0, GGML_TYPE_Q4_K };
    const int64_t figures[] = { 1, 2, 3, 7, 64, 1000, ((int64_t) 1 << 30) - 1, (int64_t) 1 << 30,
                                ((int64_t) 1 << 30) + 1, (int64_t) 1 << 31, (int64_t) 1 << 40, INT64_MAX / 3 };
    const int n_fig = (int) (sizeof(figures) / sizeof(figures[0]));
    int bad = 0;
    for (int k = 0; k < 20000; k++) {
        const enum ggml_type type = types[check_rand(4)];
        const size_t ts = ggml_type_size(type);
        const int64_t bs = ggml_blck_size(type);
        int64_t ne[4];
        size_t nb[4];
        for (int i = 0; i < 4; i++) {
            const int r = check_rand(16);
            ne[i] = r == 0 ? 0 : r == 1 ? -check_rand(5) - 1 : r < 10 ? check_rand(9) + 1 : figures[check_rand(n_fig)];
            nb[i] = check_rand(3) == 0 ? (size_t) figures[check_rand(n_fig)] : (size_t) (check_rand(4096) + 1) * ts;
        }
        if (bs > 1 && check_rand(2) == 0) {
            ne[0] = bs * (check_rand(8) + 1);
        }
        bool empty = false;
        for (int i = 0; i < 4; i++) {
            empty |= ne[i] <= 0;
        }
        unsigned __int128 want = 0;
        if (!empty) {
            want = bs == 1 ? (unsigned __int128) (ne[0] - 1) * nb[0] + ts : (unsigned __int128) ne[0] * nb[0] / (uint64_t) bs;
            for (int i = 1; i < 4; i++) {
                want += (unsigned __int128) (ne[i] - 1) * nb[i];
            }
        }
        // past 64 bits the extent saturates (a block product past 64 bits, divided, may still fit)
        const size_t got = ggalloc_extent(type, ne, nb);
        const bool fits = empty || (want <= (unsigned __int128) SIZE_MAX &&
                                    (bs == 1 || (unsigned __int128) ne[0] * nb[0] <= SIZE_MAX));
        bad += fits ? got != (size_t) want : got != SIZE_MAX;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(ggalloc_extent((enum ggml_type) GGML_TYPE_COUNT, (const int64_t[4]) { 1, 1, 1, 1 }, (const size_t[4]) { 4, 4, 4, 4 }), 0);
}

int main(void) {
    test_extent();
    test_context_modes();
    test_caller_buffer();
    test_full_context();

    struct ggml_init_params ip = { 1 << 20, NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    test_bad_input(ctx);
    test_shapes(ctx);
    test_facts(ctx);
    ggml_free(ctx);

    test_names_flags_iteration();
    test_element_access();
    test_fp16();
    test_bf16();
    test_log_and_time();
    test_abort();
    return check_report("test-core");
}
