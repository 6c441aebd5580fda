// test-cpu-backend.c — the CPU backend as an object: registry and device, thread counts and
// thread reuse, refusal of graphs it cannot run (unsupported types, missing data, external
// tensors, bad row indices) before any work, the abort callback, and the ISA controls.

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ggalloc.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

static struct ggml_context * new_ctx(bool no_alloc) {
    struct ggml_init_params ip = { .mem_size = 16 * 1024 * 1024, .mem_buffer = NULL, .no_alloc = no_alloc };
    return ggml_init(ip);
}

static void test_registry(void) {
    ggml_backend_reg_t reg = ggml_backend_cpu_reg();
    CHECK(reg != NULL);
    CHECK(strcmp(ggml_backend_reg_name(reg), "CPU") == 0);
    CHECK_EQ_INT(ggml_backend_reg_dev_count(reg), 1);
    ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
    CHECK(dev != NULL);
    CHECK(ggml_backend_reg_dev_get(reg, 1) == NULL);
    CHECK(ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU);
    CHECK(ggml_backend_dev_buffer_type(dev) == ggml_backend_cpu_buffer_type());
    CHECK(ggml_backend_dev_supports_buft(dev, ggml_backend_cpu_buffer_type()));
    CHECK(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads") == (void *) ggml_backend_cpu_set_n_threads);
    CHECK(ggml_backend_reg_get_proc_address(reg, "no_such_function") == NULL);
    struct ggml_backend_dev_props props;
    ggml_backend_dev_get_props(dev, &props);
    CHECK(props.type == GGML_BACKEND_DEVICE_TYPE_CPU);
    CHECK(props.memory_total > 0);

    ggml_backend_t be = ggml_backend_dev_init(dev, NULL);
    CHECK(be != NULL);
    CHECK(ggml_backend_is_cpu(be));
    CHECK(ggml_backend_get_device(be) == dev);
    CHECK(!ggml_backend_is_cpu(NULL));
    ggml_backend_free(be);
}

// a + b computed on be; returns true if every element is right
static bool add_graph_ok(ggml_backend_t be, int64_t n) {
    struct ggml_context * ctx = new_ctx(false);
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    for (int64_t i = 0; i < n; i++) {
        ((float *) a->data)[i] = (float) i;
        ((float *) b->data)[i] = 0.5f * (float) i;
    }
    struct ggml_tensor * c = ggml_add(ctx, a, b);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    bool ok = ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS;
    for (int64_t i = 0; ok && i < n; i++) {
        ok = ((float *) c->data)[i] == 1.5f * (float) i;
    }
    ggml_free(ctx);
    return ok;
}

static void test_threads(void) {
    ggml_backend_t be = ggml_backend_cpu_init();
    CHECK(be != NULL);
    // the pool is reused across computes and thread counts, growing when asked for more
    const int counts[] = { 1, 2, 3, 2, 4, 1, 3 };
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        ggml_backend_cpu_set_n_threads(be, counts[k]);
        bool ok = true;
        for (int r = 0; r < 20; r++) {
            ok = ok && add_graph_ok(be, 10007);
        }
        CHECK(ok);
    }
    log_capture_begin();
    ggml_backend_cpu_set_n_threads(be, 0);
    log_capture_end();
    CHECK(log_captured("n_threads = 0"));
    CHECK(add_graph_ok(be, 5)); // still usable with the old count
    ggml_backend_free(be);
    ggml_backend_free(NULL);

    struct ggml_context * ctx = new_ctx(false);
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, ggml_neg(ctx, a));
    log_capture_begin();
    CHECK(ggml_graph_compute_with_ctx(ctx, gf, 0) == GGML_STATUS_FAILED);
    log_capture_end();
    CHECK(log_captured("n_threads"));
    ggml_free(ctx);
}

static void test_refusals(void) {
    ggml_backend_t be = ggml_backend_cpu_init();

    // an unsupported type combination: weights of a type known by layout only
    {
        struct ggml_context * ctx = new_ctx(false);
        struct ggml_tensor * w = ggml_new_tensor_2d(ctx, GGML_TYPE_IQ2_XXS, 256, 4);
        struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 256, 3);
        struct ggml_tensor * y = w && x ? ggml_mul_mat(ctx, w, x) : NULL;
        if (y != NULL) {
            ggml_set_name(y, "q_matmul");
            CHECK(!ggml_backend_supports_op(be, y));
            struct ggml_tensor * z = ggml_neg(ctx, x); // a node before it must not run either
            ggml_set_name(z, "before");
            struct ggml_cgraph * gf = ggml_new_graph(ctx);
            ggml_build_forward_expand(gf, z);
            ggml_build_forward_expand(gf, y);
            memset(z->data, 0x7f, ggml_nbytes(z));
            log_capture_begin();
            CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_FAILED);
            log_capture_end();
            CHECK(log_captured("q_matmul"));
            CHECK(log_captured("MUL_MAT"));
            CHECK(log_captured("iq2_xxs"));
            // refused before any work: the earlier node's output is untouched
            CHECK(((uint8_t *) z->data)[0] == 0x7f);
        } else {
            CHECK(y != NULL);
        }
        struct ggml_tensor * s = ggml_soft_max(ctx, x);
        CHECK(ggml_backend_supports_op(be, s));
        ggml_free(ctx);
    }
    // an op id outside the enum
    {
        struct ggml_context * ctx = new_ctx(false);
        struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
        struct ggml_tensor * y = ggml_neg(ctx, x);
        y->op = GGML_OP_COUNT;
        CHECK(!ggml_backend_supports_op(be, y));
        y->op = GGML_OP_UNARY;
        y->op_params[0] = 999;
        CHECK(!ggml_backend_supports_op(be, y));
        ggml_free(ctx);
    }
    // tensors without data
    {
        struct ggml_context * ctx = new_ctx(true);
        struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
        struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
        ggml_set_name(a, "weights");
        struct ggml_tensor * c = ggml_add(ctx, a, b);
        ggml_set_name(c, "sum");
        struct ggml_cgraph * gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, c);
        log_capture_begin();
        CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_FAILED);
        log_capture_end();
        CHECK(log_captured("sum"));
        CHECK(log_captured("no data"));

        // external: memory promised outside the allocator but never given; the others placed
        a->flags |= GGALLOC_TENSOR_FLAG_EXTERNAL;
        ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(ggml_backend_cpu_buffer_type(), 4096);
        CHECK(buf != NULL);
        if (buf != NULL) {
            struct ggml_tallocr ta = ggml_tallocr_new(buf);
            CHECK(ggml_tallocr_alloc(&ta, b) == GGML_STATUS_SUCCESS);
            CHECK(ggml_tallocr_alloc(&ta, c) == GGML_STATUS_SUCCESS);
            CHECK(a->data == NULL);
            log_capture_begin();
            CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_FAILED);
            log_capture_end();
            CHECK(log_captured("weights"));
            CHECK(log_captured("external"));
            // once given memory it runs
            CHECK(ggml_tallocr_alloc(&ta, a) == GGML_STATUS_SUCCESS);
            a->flags &= ~GGALLOC_TENSOR_FLAG_EXTERNAL;
            ggml_backend_buffer_clear(buf, 0);
            CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS);
            ggml_backend_buffer_free(buf);
        }
        ggml_free(ctx);
    }
    // a row index out of range: an error status, not a crash
    {
        struct ggml_context * ctx = new_ctx(false);
        struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 3);
        struct ggml_tensor * idx = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 2);
        memset(a->data, 0, ggml_nbytes(a));
        ((int32_t *) idx->data)[0] = 1;
        ((int32_t *) idx->data)[1] = 3;
        struct ggml_tensor * r = ggml_get_rows(ctx, a, idx);
        struct ggml_cgraph * gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, r);
        log_capture_begin();
        CHECK(ggml_graph_compute_with_ctx(ctx, gf, 2) == GGML_STATUS_FAILED);
        log_capture_end();
        CHECK(log_captured("index 3"));
        ((int32_t *) idx->data)[1] = 2;
        CHECK(ggml_graph_compute_with_ctx(ctx, gf, 2) == GGML_STATUS_SUCCESS);
        ggml_free(ctx);
    }
    ggml_backend_free(be);
}

static int abort_calls;
static bool abort_after_limit(void * data) {
    int * limit = data;
    return ++abort_calls > *limit;
}

static void test_abort(void) {
    ggml_backend_t be = ggml_backend_cpu_init();
    for (int nth = 1; nth <= 3; nth++) {
        ggml_backend_cpu_set_n_threads(be, nth);
        struct ggml_context * ctx = new_ctx(false);
        struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1000);
        for (int i = 0; i < 1000; i++) ((float *) x->data)[i] = 1.0f;
        struct ggml_tensor * t = x;
        struct ggml_tensor * nodes[6];
        for (int i = 0; i < 6; i++) {
            // a view between computed nodes: no barrier there, which the stop logic must allow for
            t = ggml_scale(ctx, ggml_reshape_2d(ctx, t, 500, 2), 2.0f);
            nodes[i] = t;
        }
        struct ggml_cgraph * gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, t);
        for (int limit = 1; limit <= 4; limit++) {
            for (int i = 0; i < 6; i++) memset(nodes[i]->data, 0, ggml_nbytes(nodes[i]));
            abort_calls = 0;
            ggml_backend_cpu_set_abort_callback(be, abort_after_limit, &limit);
            CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_ABORTED);
            // some nodes ran, the last did not
            CHECK(((float *) nodes[0]->data)[0] == 2.0f);
            CHECK(((float *) nodes[5]->data)[999] == 0.0f);
        }
        ggml_backend_cpu_set_abort_callback(be, NULL, NULL);
        CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS);
        CHECK(((float *) nodes[5]->data)[999] == 64.0f);
        ggml_free(ctx);
    }
    ggml_backend_free(be);
}

static void test_isa(void) {
    enum ggalloc_cpu_isa best = ggalloc_cpu_get_isa();
    CHECK(best != GGALLOC_CPU_ISA_AUTO);
    CHECK(ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_SCALAR));
    CHECK(ggalloc_cpu_get_isa() == GGALLOC_CPU_ISA_SCALAR);
    log_capture_begin();
    bool avx2 = ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AVX2);
    bool avx512 = ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AVX512);
    bool neon = ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_NEON);
    log_capture_end();
    CHECK(avx2 == (ggml_cpu_has_avx2() && ggml_cpu_has_fma() && ggml_cpu_has_f16c()));
    // NEON is part of every arm64 CPU, so there it is always usable and the automatic choice
    CHECK(neon == (ggml_cpu_has_neon() != 0));
    if (neon) {
        CHECK(best == GGALLOC_CPU_ISA_NEON);
        CHECK(!avx2 && !avx512);
    }
    if (avx512) {
        CHECK(ggml_cpu_has_avx512());
    } else {
        CHECK(log_captured("not available"));
    }
    CHECK(ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AUTO));
    CHECK(ggalloc_cpu_get_isa() == best);
    log_capture_begin();
    CHECK(!ggalloc_cpu_set_isa((enum ggalloc_cpu_isa) 42));
    log_capture_end();
    CHECK(ggalloc_cpu_get_isa() == best);
}

// the backend computes a graph placed by the graph allocator in a CPU buffer
static void test_gallocr(void) {
    ggml_backend_t be = ggml_backend_cpu_init();
    ggml_backend_cpu_set_n_threads(be, 2);
    struct ggml_context * ctx = new_ctx(true);
    struct ggml_tensor * w = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 40, 30);
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 40, 20);
    ggml_set_input(x);
    ggml_backend_buffer_t wbuf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, ggml_backend_cpu_buffer_type());
    CHECK(wbuf != NULL);
    ggml_fp16_t wh[40 * 30];
    float xf[40 * 20];
    for (int i = 0; i < 40 * 30; i++) wh[i] = ggml_fp32_to_fp16((float) (i % 11) * 0.125f - 0.5f);
    for (int i = 0; i < 40 * 20; i++) xf[i] = (float) (i % 7) * 0.25f - 0.75f;
    ggml_backend_tensor_set(w, wh, 0, sizeof(wh));
    ggml_backend_tensor_set(x, xf, 0, sizeof(xf));
    struct ggml_tensor * y = ggml_gelu(ctx, ggml_mul_mat(ctx, w, x));
    ggml_set_output(y);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, y);
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    CHECK(ggml_gallocr_alloc_graph(galloc, gf));
    CHECK(ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS);
    float out[30 * 20];
    ggml_backend_tensor_get(y, out, 0, sizeof(out));
    double err = 0, norm = 0;
    for (int j = 0; j < 20; j++) {
        for (int i = 0; i < 30; i++) {
            double s = 0;
            for (int k = 0; k < 40; k++) s += (double) ggml_fp16_to_fp32(wh[i * 40 + k]) * xf[j * 40 + k];
            double r = 0.5 * s * (1 + tanh(0.7978845608028654 * (s + 0.044715 * s * s * s)));
            err += (out[j * 30 + i] - r) * (out[j * 30 + i] - r);
            norm += r * r;
        }
    }
    CHECK(err / norm < 1e-9);
    ggml_gallocr_free(galloc);
    ggml_backend_buffer_free(wbuf);
    ggml_free(ctx);
    ggml_backend_free(be);
}

int main(void) {
    test_registry();
    test_threads();
    test_refusals();
    test_abort();
    test_isa();
    test_gallocr();
    return check_report("test-cpu-backend");
}
