// test-quants-cpu.c — the CPU computing with quantized tensors: mul_mat with quantized weights
// (odd shapes, broadcast batches, non-contiguous activations, both the few-rows path with
// quantized activations and the many-rows path), get_rows from quantized tables, copies into and
// out of every quantized type; with each kernel set the machine has and 1 and 3 threads.
//
// References are written here: the weights dequantized with the type's to_float (checked
// against ggml's own values in test-quants) and a double-precision dot product. The few-rows
// path quantizes the activations to 8 bits as ggml does, so its error bound is that of 8-bit
// rounding: |err| <= sum_k |a_k| * max|b| / 254 (with margin for the f16 scale); the many-rows
// path works in f32 on dequantized weights and must be within f32 rounding.

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ggalloc.h"
#include "ggml-cpu.h"
#include "ggml.h"
#include "cpu/quant-dot.h"
#include "quants.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 11);
}

static float rng_f(float lo, float hi) {
    return lo + (hi - lo) * (float) (rng_u32() & 0xffffff) / (float) 0x1000000;
}

static const enum ggml_type qtypes[] = {
    GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K,
    GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
    GGML_TYPE_TQ1_0, GGML_TYPE_TQ2_0, GGML_TYPE_MXFP4, GGML_TYPE_Q1_0,
};
#define N_QTYPES ((int) (sizeof(qtypes) / sizeof(qtypes[0])))

static struct ggml_context * new_ctx(size_t mb) {
    struct ggml_init_params p = { mb * 1024 * 1024, NULL, false };
    return ggml_init(p);
}

static void fill_f32(struct ggml_tensor * t, float lo, float hi) {
    float * d = (float *) t->data;
    for (int64_t i = 0; i < ggml_nelements(t); i++) d[i] = rng_f(lo, hi);
}

// quantized tensor from random floats; also returns its dequantized values (row-major)
static struct ggml_tensor * new_quant(struct ggml_context * ctx, enum ggml_type t, int64_t ne0, int64_t ne1, int64_t ne2, float ** deq) {
    struct ggml_tensor * q = ggml_new_tensor_3d(ctx, t, ne0, ne1, ne2);
    const int64_t n = ne0 * ne1 * ne2;
    float * x = malloc(sizeof(float) * (size_t) n);
    for (int64_t i = 0; i < n; i++) x[i] = rng_f(-1.0f, 1.0f) * (i % 97 == 0 ? 4.0f : 1.0f);
    CHECK_EQ_INT(ggml_quantize_chunk(t, x, q->data, 0, ne1 * ne2, ne0, NULL), ggml_nbytes(q));
    ggml_get_type_traits(t)->to_float(q->data, x, n);
    *deq = x;
    return q;
}

static float bget(const struct ggml_tensor * b, int64_t k, int64_t j, int64_t i2) {
    return *(const float *) ((const char *) b->data + k * b->nb[0] + j * b->nb[1] + i2 * b->nb[2]);
}

static void test_mul_mat(enum ggml_type t, int64_t K, int64_t M, int64_t N, bool transposed_b, int nth) {
    struct ggml_context * ctx = new_ctx(64);
    float * deq;
    struct ggml_tensor * a = new_quant(ctx, t, K, M, 2, &deq);
    struct ggml_tensor * b;
    if (transposed_b) {
        struct ggml_tensor * bt = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, N, K, 4);
        fill_f32(bt, -1.0f, 1.0f);
        b = ggml_transpose(ctx, bt); // [K, N, 4], element stride N floats
    } else {
        b = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, K, N, 4);
        fill_f32(b, -1.0f, 1.0f);
    }
    struct ggml_tensor * c = ggml_mul_mat(ctx, a, b); // [M, N, 4]: batch i2 uses a's batch i2 / 2
    CHECK(c != NULL);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    CHECK_EQ_INT(ggml_graph_compute_with_ctx(ctx, gf, nth), GGML_STATUS_SUCCESS);
    const bool quantized_b = N < 4;
    int bad = 0;
    for (int64_t i2 = 0; i2 < 4; i2++) {
        for (int64_t j = 0; j < N; j++) {
            float bmax = 0.0f;
            for (int64_t k = 0; k < K; k++) bmax = fmaxf(bmax, fabsf(bget(b, k, j, i2)));
            for (int64_t i = 0; i < M; i++) {
                const float * arow = deq + ((i2 / 2) * M + i) * K;
                double ref = 0.0, abs_a = 0.0, abs_ab = 0.0;
                for (int64_t k = 0; k < K; k++) {
                    ref += (double) arow[k] * bget(b, k, j, i2);
                    abs_a += fabs(arow[k]);
                    abs_ab += fabs(arow[k] * bget(b, k, j, i2));
                }
                const double tol = quantized_b ? abs_a * bmax / 254.0 * 1.1 + 1e-5 * abs_ab + 1e-6 : 2e-6 * abs_ab + 1e-6;
                const float got = ((const float *) ((const char *) c->data + j * c->nb[1] + i2 * c->nb[2]))[i];
                if (!(fabs(got - ref) <= tol)) {
                    if (bad == 0) {
                        fprintf(stderr, "mul_mat %s K=%lld M=%lld N=%lld%s isa=%d: [%lld,%lld,%lld] %g, expected %g (tol %g)\n",
                                ggml_type_name(t), (long long) K, (long long) M, (long long) N, transposed_b ? " (b transposed)" : "",
                                (int) ggalloc_cpu_get_isa(), (long long) i, (long long) j, (long long) i2, got, ref, tol);
                    }
                    bad++;
                }
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(deq);
    ggml_free(ctx);
}

static void test_get_rows(enum ggml_type t, int64_t K, int nth) {
    struct ggml_context * ctx = new_ctx(16);
    float * deq;
    struct ggml_tensor * a = new_quant(ctx, t, K, 7, 1, &deq);
    struct ggml_tensor * idx = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 4);
    const int32_t rows[4] = { 6, 0, 3, 6 };
    memcpy(idx->data, rows, sizeof(rows));
    struct ggml_tensor * f = ggml_get_rows(ctx, a, idx);
    struct ggml_tensor * same = ggml_get_rows(ctx, a, idx);
    CHECK(f != NULL && f->type == GGML_TYPE_F32);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, f);
    CHECK_EQ_INT(ggml_graph_compute_with_ctx(ctx, gf, nth), GGML_STATUS_SUCCESS);
    for (int r = 0; r < 4; r++) {
        CHECK(memcmp((const char *) f->data + r * f->nb[1], deq + rows[r] * K, sizeof(float) * (size_t) K) == 0);
    }
    (void) same;
    // a quantized table into a quantized result of its type: the blocks themselves
    struct ggml_tensor * qdst = ggml_new_tensor_2d(ctx, t, K, 4);
    struct ggml_tensor * g = ggml_cpy(ctx, ggml_get_rows(ctx, a, idx), qdst);
    (void) g;
    free(deq);
    ggml_free(ctx);
}

static void test_copies(enum ggml_type t, int64_t K, int nth) {
    struct ggml_context * ctx = new_ctx(16);
    const int64_t R = 5;
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, R);
    fill_f32(x, -2.0f, 2.0f);
    struct ggml_tensor * xt_src = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, R, K); // transposed: same values, strided rows
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < K; k++) ((float *) xt_src->data)[k * R + r] = ((float *) x->data)[r * K + k];
    struct ggml_tensor * q1 = ggml_new_tensor_2d(ctx, t, K, R);
    struct ggml_tensor * q2 = ggml_new_tensor_2d(ctx, t, K, R);
    struct ggml_tensor * back = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, R);
    struct ggml_tensor * back16 = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, K, R);
    struct ggml_tensor * c1 = ggml_cpy(ctx, x, q1);
    struct ggml_tensor * c2 = ggml_cpy(ctx, ggml_transpose(ctx, xt_src), q2);
    struct ggml_tensor * c3 = ggml_cpy(ctx, c1, back);
    struct ggml_tensor * c4 = ggml_cpy(ctx, c1, back16);
    struct ggml_tensor * d1 = ggml_dup(ctx, c1); // quantized -> same type
    CHECK(c1 && c2 && c3 && c4 && d1);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c2);
    ggml_build_forward_expand(gf, c3);
    ggml_build_forward_expand(gf, c4);
    ggml_build_forward_expand(gf, d1);
    CHECK_EQ_INT(ggml_graph_compute_with_ctx(ctx, gf, nth), GGML_STATUS_SUCCESS);
    const size_t n = ggml_nbytes(q1);
    uint8_t * expect = malloc(n);
    float * y = malloc(sizeof(float) * (size_t) (K * R));
    ggml_get_type_traits(t)->from_float_ref(x->data, expect, K * R);
    CHECK(memcmp(q1->data, expect, n) == 0);
    CHECK(memcmp(q2->data, expect, n) == 0);
    CHECK(memcmp(d1->data, expect, n) == 0);
    ggml_get_type_traits(t)->to_float(expect, y, K * R);
    CHECK(memcmp(back->data, y, sizeof(float) * (size_t) (K * R)) == 0);
    int bad16 = 0;
    for (int64_t i = 0; i < K * R; i++) bad16 += ((ggml_fp16_t *) back16->data)[i] != ggml_fp32_to_fp16(y[i]);
    CHECK_EQ_INT(bad16, 0);
    free(expect);
    free(y);
    ggml_free(ctx);
}

// No rows of weights, in the few-rows path: an empty result, no work.
static void test_mul_mat_empty(enum ggml_type t) {
    struct ggml_context * ctx = new_ctx(4);
    struct ggml_tensor * a = ggml_new_tensor_3d(ctx, t, 256, 0, 2);
    struct ggml_tensor * b = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 256, 1, 2);
    fill_f32(b, -1.0f, 1.0f);
    struct ggml_tensor * c = ggml_mul_mat(ctx, a, b);
    CHECK(c != NULL && c->ne[0] == 0 && c->ne[1] == 1);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    CHECK_EQ_INT(ggml_graph_compute_with_ctx(ctx, gf, 3), GGML_STATUS_SUCCESS);
    ggml_free(ctx);
}

// What the CPU cannot compute is a failed status and a log line naming the node, not a crash.
static void test_unsupported(void) {
    struct ggml_context * ctx = new_ctx(4);
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_Q8_1, 64, 4); // an activation format: no dot
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 2);
    memset(a->data, 0, ggml_nbytes(a));
    memset(b->data, 0, ggml_nbytes(b));
    struct ggml_tensor * c = ggml_mul_mat(ctx, a, b);
    ggml_set_name(c, "q8_1_weights");
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    log_capture_begin();
    CHECK(ggml_graph_compute_with_ctx(ctx, gf, 2) != GGML_STATUS_SUCCESS);
    log_capture_end();
    CHECK(log_captured("q8_1_weights"));
    ggml_free(ctx);
}

// values of a row of any type with a dequantizer, the activation formats included (which, as in
// ggml, have no to_float in their traits)
static void to_f32(enum ggml_type t, const void * q, float * y, int n) {
    if (t == GGML_TYPE_Q8_1) {
        dequantize_row_q8_1(q, y, n);
    } else if (t == GGML_TYPE_Q8_K) {
        dequantize_row_q8_K(q, y, n);
    } else {
        ggml_get_type_traits(t)->to_float(q, y, n);
    }
}

// The activation formats (Q8_1, Q8_K) as copy destinations, as ggml's CPU allows: f32 and f16
// rows, contiguous or strided, quantized with the type's reference quantizer; blocks duplicated
// as they are. Reading them back as floats has no dequantizer in the traits (as in ggml): a
// failed status and a log line naming the node.
static void test_copies_activation(enum ggml_type t, int64_t K, int nth) {
    struct ggml_context * ctx = new_ctx(16);
    const int64_t R = 3;
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, R);
    fill_f32(x, -3.0f, 3.0f);
    struct ggml_tensor * xt_src = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, R, K);
    for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < K; k++) ((float *) xt_src->data)[k * R + r] = ((float *) x->data)[r * K + k];
    struct ggml_tensor * x16 = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, K, R);
    for (int64_t i = 0; i < K * R; i++) ((ggml_fp16_t *) x16->data)[i] = ggml_fp32_to_fp16(((float *) x->data)[i]);
    struct ggml_tensor * c1 = ggml_cpy(ctx, x, ggml_new_tensor_2d(ctx, t, K, R));
    struct ggml_tensor * c2 = ggml_cpy(ctx, ggml_transpose(ctx, xt_src), ggml_new_tensor_2d(ctx, t, K, R));
    struct ggml_tensor * c3 = ggml_cpy(ctx, x16, ggml_new_tensor_2d(ctx, t, K, R));
    struct ggml_tensor * d1 = ggml_dup(ctx, c1);
    CHECK(c1 && c2 && c3 && d1 && c1->type == t && d1->type == t);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c2);
    ggml_build_forward_expand(gf, c3);
    ggml_build_forward_expand(gf, d1);
    CHECK_EQ_INT(ggml_graph_compute_with_ctx(ctx, gf, nth), GGML_STATUS_SUCCESS);
    const size_t n = ggml_nbytes(c1);
    uint8_t * expect = malloc(n);
    uint8_t * expect16 = malloc(n);
    float * x16f = malloc(sizeof(float) * (size_t) (K * R));
    ggml_get_type_traits(t)->from_float_ref(x->data, expect, K * R);
    for (int64_t i = 0; i < K * R; i++) x16f[i] = ggml_fp16_to_fp32(((ggml_fp16_t *) x16->data)[i]);
    ggml_get_type_traits(t)->from_float_ref(x16f, expect16, K * R);
    CHECK(memcmp(c1->data, expect, n) == 0);
    CHECK(memcmp(c2->data, expect, n) == 0);
    CHECK(memcmp(d1->data, expect, n) == 0);
    CHECK(memcmp(c3->data, expect16, n) == 0);
    // the blocks hold the values: within 8-bit rounding of the block's largest
    float * y = malloc(sizeof(float) * (size_t) (K * R));
    to_f32(t, c1->data, y, (int) (K * R));
    int bad = 0;
    for (int64_t i = 0; i < K * R; i++) bad += !(fabsf(y[i] - ((float *) x->data)[i]) <= 3.0f / 127.0f * 0.5f + 1e-3f);
    CHECK_EQ_INT(bad, 0);
    // no way back to floats
    struct ggml_context * ctx2 = new_ctx(4);
    struct ggml_tensor * q = ggml_new_tensor_2d(ctx2, t, K, R);
    memcpy(q->data, expect, n);
    struct ggml_tensor * back = ggml_cpy(ctx2, q, ggml_new_tensor_2d(ctx2, GGML_TYPE_F32, K, R));
    ggml_set_name(back, "activation_back");
    struct ggml_cgraph * gb = ggml_new_graph(ctx2);
    ggml_build_forward_expand(gb, back);
    log_capture_begin();
    CHECK(ggml_graph_compute_with_ctx(ctx2, gb, nth) != GGML_STATUS_SUCCESS);
    log_capture_end();
    CHECK(log_captured("activation_back"));
    free(y);
    free(x16f);
    free(expect16);
    free(expect);
    ggml_free(ctx2);
    ggml_free(ctx);
}

// ggml's CPU traits: the activation type of each weight type, and a vec_dot that agrees with
// the dot of the dequantized rows.
static void test_traits_cpu(void) {
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_Q4_0)->vec_dot_type, GGML_TYPE_Q8_0);
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_Q4_1)->vec_dot_type, GGML_TYPE_Q8_1);
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_Q5_1)->vec_dot_type, GGML_TYPE_Q8_1);
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_Q4_K)->vec_dot_type, GGML_TYPE_Q8_K);
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_IQ4_NL)->vec_dot_type, GGML_TYPE_Q8_0);
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_TQ2_0)->vec_dot_type, GGML_TYPE_Q8_K);
    CHECK_EQ_INT(ggml_get_type_traits_cpu(GGML_TYPE_F16)->vec_dot_type, GGML_TYPE_F16);
    CHECK(ggml_get_type_traits_cpu(GGML_TYPE_IQ2_XXS)->vec_dot == NULL);
    CHECK(ggml_get_type_traits_cpu((enum ggml_type) 4)->vec_dot == NULL);
    CHECK(ggml_get_type_traits_cpu((enum ggml_type) -7)->from_float == NULL);
    CHECK(ggml_get_type_traits_cpu(GGML_TYPE_Q8_K)->from_float != NULL);
    const int n = 512;
    float x[512], w[512], xd[512];
    uint8_t qw[1024], qx[1024];
    for (int i = 0; i < n; i++) { x[i] = rng_f(-1, 1); w[i] = rng_f(-1, 1); }
    for (int k = 0; k < N_QTYPES; k++) {
        const struct ggml_type_traits_cpu * tr = ggml_get_type_traits_cpu(qtypes[k]);
        const struct ggml_type_traits_cpu * tv = ggml_get_type_traits_cpu(tr->vec_dot_type);
        CHECK(tr->vec_dot != NULL && tr->from_float != NULL && tv->from_float != NULL && tr->nrows == 1);
        tr->from_float(w, qw, n);
        tv->from_float(x, qx, n);
        ggml_get_type_traits(qtypes[k])->to_float(qw, w, n); // w is now what the blocks hold
        to_f32(tr->vec_dot_type, qx, xd, n);
        double ref = 0.0, mag = 0.0, sum_x = 0.0;
        float wmax = 0.0f;
        for (int i = 0; i < n; i++) {
            ref += (double) w[i] * xd[i];
            mag += fabs(w[i] * xd[i]);
            sum_x += fabs(xd[i]);
            wmax = fmaxf(wmax, fabsf(w[i]));
        }
        // Q8_1 keeps d * sum(q) as an f16, which the minimum multiplies: 2^-11 of it
        const double tol = 1e-5 * mag + 1e-5 + (tr->vec_dot_type == GGML_TYPE_Q8_1 ? sum_x * wmax / 2048.0 : 0.0);
        float got = 0.0f;
        tr->vec_dot(n, &got, 0, qw, 0, qx, 0, 1);
        if (!(fabs(got - ref) <= tol)) {
            fprintf(stderr, "vec_dot %s: %g, expected %g\n", ggml_type_name(qtypes[k]), got, ref);
        }
        CHECK(fabs(got - ref) <= tol);
        for (int i = 0; i < n; i++) w[i] = rng_f(-1, 1);
    }
}

int main(void) {
    ggml_cpu_init();
    const enum ggalloc_cpu_isa isas[] = { GGALLOC_CPU_ISA_SCALAR, GGALLOC_CPU_ISA_AVX2, GGALLOC_CPU_ISA_AVX512, GGALLOC_CPU_ISA_NEON };
    for (int s = 0; s < 4; s++) {
        log_capture_begin();
        const bool have = ggalloc_cpu_set_isa(isas[s]);
        log_capture_end();
        if (!have) {
            continue;
        }
        test_traits_cpu();
        for (int k = 0; k < N_QTYPES; k++) {
            const enum ggml_type t = qtypes[k];
            const int64_t blck = ggml_blck_size(t);
            const int nth = 1 + 2 * (k % 2);
            const int64_t K_odd = blck == 32 ? 32 * 13 : blck * 2;
            test_mul_mat(t, K_odd, 37, 1, false, nth);
            test_mul_mat(t, K_odd, 37, 3, true, 3 - nth + 1);
            test_mul_mat(t, K_odd, 19, 7, false, nth);
            if (!CHECK_SMALL_RUN || k % 4 == 0) {
                test_mul_mat(t, 1280, 21, 5, true, nth);  // two k blocks of the many-rows path
                test_mul_mat(t, 1280, 9, 2, true, nth);
            }
            test_get_rows(t, K_odd, nth);
            test_copies(t, K_odd, nth);
        }
    }
    // x86 CPUs without VNNI (AVX512-VNNI, AVX-VNNI): their kernels spell the fused products as
    // two instructions each
    const enum ggalloc_cpu_isa x86[2] = { GGALLOC_CPU_ISA_AVX2, GGALLOC_CPU_ISA_AVX512 };
    for (int s = 0; s < 2; s++) {
        log_capture_begin();
        const bool have = ggalloc_cpu_set_isa(x86[s]);
        log_capture_end();
        if (!have) {
            continue;
        }
        const bool had_vnni = cpu_qdot_set_vnni(true);
        CHECK(!cpu_qdot_set_vnni(false));
        const enum ggml_type fast[] = { GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0,
                                        GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_IQ4_NL, GGML_TYPE_MXFP4 };
        for (int k = 0; k < 9; k++) {
            const int64_t blck = ggml_blck_size(fast[k]);
            test_mul_mat(fast[k], blck == 32 ? 32 * 13 : blck * 3, 37, 1, false, 2);
            test_mul_mat(fast[k], blck == 32 ? 32 * 13 : blck * 3, 37, 3, true, 3);
        }
        test_traits_cpu();
        CHECK_EQ_INT(cpu_qdot_set_vnni(true), had_vnni);
    }
    ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AUTO);
    test_mul_mat_empty(GGML_TYPE_Q4_0);
    test_mul_mat_empty(GGML_TYPE_Q4_K);
    test_copies_activation(GGML_TYPE_Q8_1, 32 * 5, 2);
    test_copies_activation(GGML_TYPE_Q8_K, 256 * 2, 3);
    test_unsupported();
    return check_report("test-quants-cpu");
}
