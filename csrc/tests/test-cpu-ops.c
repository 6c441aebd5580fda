// test-cpu-ops.c — every CPU op against a plain scalar reference written here (not the
// library's portable path), on random shapes with odd sizes, broadcasts, views, permutes,
// transposes and in-place variants; with every kernel set the machine has (forced in turn
// through ggalloc_cpu_set_isa) and 1, 2 and 3 threads.
//
// f32 results must have NMSE <= 1e-7 against the reference where rounding differs (mul_mat,
// softmax, norms, transcendental functions); data movement must be exact.

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ggalloc.h"
#include "ggml-cpu.h"
#include "ggml.h"

#define TEST_PI 3.14159265358979323846

#define SMALL_RUN CHECK_SMALL_RUN

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 11);
}

static float rng_f(float lo, float hi) {
    return lo + (hi - lo) * (float) (rng_u32() & 0xffffff) / (float) 0x1000000;
}

static int rng_int(int lo, int hi) { // [lo, hi]
    return lo + (int) (rng_u32() % (uint32_t) (hi - lo + 1));
}

//
// Element access written for the tests
//

static double tget(const struct ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    const char * p = (const char *) t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
    switch (t->type) {
        case GGML_TYPE_F32:  return *(const float *) p;
        case GGML_TYPE_F16:  return ggml_fp16_to_fp32(*(const ggml_fp16_t *) p);
        case GGML_TYPE_BF16: return ggml_bf16_to_fp32(*(const ggml_bf16_t *) p);
        case GGML_TYPE_I32:  return *(const int32_t *) p;
        case GGML_TYPE_I64:  return (double) *(const int64_t *) p;
        default:             return NAN;
    }
}

static void tset(struct ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3, double v) {
    char * p = (char *) t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
    switch (t->type) {
        case GGML_TYPE_F32:  *(float *) p = (float) v; break;
        case GGML_TYPE_F16:  *(ggml_fp16_t *) p = ggml_fp32_to_fp16((float) v); break;
        case GGML_TYPE_BF16: *(ggml_bf16_t *) p = ggml_fp32_to_bf16((float) v); break;
        case GGML_TYPE_I32:  *(int32_t *) p = (int32_t) v; break;
        case GGML_TYPE_I64:  *(int64_t *) p = (int64_t) v; break;
        default: break;
    }
}

// the value v as stored in a tensor of this type
static double round_to(enum ggml_type type, double v) {
    switch (type) {
        case GGML_TYPE_F16:  return ggml_fp16_to_fp32(ggml_fp32_to_fp16((float) v));
        case GGML_TYPE_BF16: return ggml_bf16_to_fp32(ggml_fp32_to_bf16((float) v));
        case GGML_TYPE_I32:  return (double) (int32_t) v;
        default:             return (float) v;
    }
}

#define FOR_EACH(t, i0, i1, i2, i3) \
    for (int64_t i3 = 0; i3 < (t)->ne[3]; i3++) \
    for (int64_t i2 = 0; i2 < (t)->ne[2]; i2++) \
    for (int64_t i1 = 0; i1 < (t)->ne[1]; i1++) \
    for (int64_t i0 = 0; i0 < (t)->ne[0]; i0++)

static int64_t lin(const struct ggml_tensor * t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    return ((i3 * t->ne[2] + i2) * t->ne[1] + i1) * t->ne[0] + i0;
}

static void fill(struct ggml_tensor * t, float lo, float hi) {
    FOR_EACH(t, i0, i1, i2, i3) {
        tset(t, i0, i1, i2, i3, rng_f(lo, hi));
    }
}

//
// Cases: a graph, its reference result, and how exact the match must be
//

enum match { EXACT, CLOSE };

struct tcase {
    const char * name;
    struct ggml_context * ctx;
    struct ggml_tensor * out;
    double * ref;             // logical order of out
    enum match match;
    double tol;               // NMSE bound for CLOSE
    // inputs to restore before each run (in-place ops overwrite them)
    struct ggml_tensor * inputs[8];
    void * saved[8];
    int n_inputs;
};

static struct ggml_context * new_ctx(size_t mb) {
    struct ggml_init_params ip = { .mem_size = mb * 1024 * 1024, .mem_buffer = NULL, .no_alloc = false };
    return ggml_init(ip);
}

static void tc_input(struct tcase * tc, struct ggml_tensor * t) {
    tc->inputs[tc->n_inputs] = t;
    tc->saved[tc->n_inputs] = malloc(ggml_nbytes(t));
    memcpy(tc->saved[tc->n_inputs], t->data, ggml_nbytes(t));
    tc->n_inputs++;
}

static double * tc_ref(struct tcase * tc, struct ggml_tensor * out) {
    tc->out = out;
    tc->ref = calloc((size_t) ggml_nelements(out) + 1, sizeof(double));
    return tc->ref;
}

static const enum ggalloc_cpu_isa all_isas[] = {
    GGALLOC_CPU_ISA_SCALAR, GGALLOC_CPU_ISA_AVX2, GGALLOC_CPU_ISA_AVX512, GGALLOC_CPU_ISA_NEON,
};
static const char * const isa_names[] = { "auto", "scalar", "avx2", "avx512", "neon" };
static int n_isa_runs = 0;

static bool isa_available(enum ggalloc_cpu_isa isa) {
    log_capture_begin();
    bool ok = ggalloc_cpu_set_isa(isa);
    log_capture_end();
    return ok;
}

// Computes the case with every ISA and thread count; checks each result against the reference.
static void tc_run(struct tcase * tc) {
    struct ggml_cgraph * gf = ggml_new_graph(tc->ctx);
    ggml_build_forward_expand(gf, tc->out);
    for (size_t k = 0; k < sizeof(all_isas) / sizeof(all_isas[0]); k++) {
        if (!isa_available(all_isas[k])) {
            continue;
        }
        n_isa_runs++;
        for (int nth = 1; nth <= 3; nth++) {
            for (int i = 0; i < tc->n_inputs; i++) {
                memcpy(tc->inputs[i]->data, tc->saved[i], ggml_nbytes(tc->inputs[i]));
            }
            enum ggml_status st = ggml_graph_compute_with_ctx(tc->ctx, gf, nth);
            if (st != GGML_STATUS_SUCCESS) {
                fprintf(stderr, "%s [%s, %d threads]: status %d\n", tc->name, isa_names[all_isas[k]], nth, (int) st);
                CHECK(st == GGML_STATUS_SUCCESS);
                continue;
            }
            double err = 0.0, norm = 0.0, max_abs = 0.0;
            int64_t mismatches = 0, first_bad = -1;
            FOR_EACH(tc->out, i0, i1, i2, i3) {
                const int64_t l = lin(tc->out, i0, i1, i2, i3);
                const double y = tget(tc->out, i0, i1, i2, i3), r = tc->ref[l];
                if (tc->match == EXACT) {
                    bool same = y == r || (isnan(y) && isnan(r));
                    if (!same) {
                        if (first_bad < 0) first_bad = l;
                        mismatches++;
                    }
                } else {
                    if (isinf(r) || isinf(y)) {
                        if (y != r) {
                            if (first_bad < 0) first_bad = l;
                            mismatches++;
                        }
                        continue;
                    }
                    if (isnan(y) || isnan(r)) {
                        if (isnan(y) != isnan(r)) {
                            if (first_bad < 0) first_bad = l;
                            mismatches++;
                        }
                        continue;
                    }
                    err += (y - r) * (y - r);
                    norm += r * r;
                    if (fabs(y - r) > max_abs) max_abs = fabs(y - r);
                }
            }
            double nmse = norm > 0 ? err / norm : err;
            bool ok = mismatches == 0 && (tc->match == EXACT || nmse <= tc->tol);
            if (!ok) {
                fprintf(stderr, "%s [%s, %d threads]: nmse %.3g (tol %.3g), max abs err %.3g, %lld mismatches",
                        tc->name, isa_names[all_isas[k]], nth, nmse, tc->tol, max_abs, (long long) mismatches);
                if (first_bad >= 0) {
                    int64_t l = first_bad, ne0 = tc->out->ne[0], ne1 = tc->out->ne[1], ne2 = tc->out->ne[2];
                    int64_t i0 = l % ne0, i1 = (l / ne0) % ne1, i2 = (l / ne0 / ne1) % ne2, i3 = l / ne0 / ne1 / ne2;
                    fprintf(stderr, " (first at [%lld,%lld,%lld,%lld]: got %.9g, want %.9g)", (long long) i0, (long long) i1,
                            (long long) i2, (long long) i3, tget(tc->out, i0, i1, i2, i3), tc->ref[l]);
                }
                fprintf(stderr, "\n");
            }
            CHECK(ok);
        }
    }
    ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AUTO);
}

static void tc_free(struct tcase * tc) {
    for (int i = 0; i < tc->n_inputs; i++) {
        free(tc->saved[i]);
    }
    free(tc->ref);
    ggml_free(tc->ctx);
}

static const int64_t odd_sizes[] = { 1, 3, 17, 64, 4097 };

static int64_t rand_dim(void) {
    static const int64_t dims[] = { 1, 2, 3, 5, 7, 17 };
    return dims[rng_u32() % 6];
}

//
// Element-wise binary ops with broadcasting, views and in-place variants
//

typedef struct ggml_tensor * (*binary_fn)(struct ggml_context *, struct ggml_tensor *, struct ggml_tensor *);

static double ref_binary(int op, double x, double y) {
    switch (op) {
        case 0: return (float) x + (float) y;
        case 1: return (float) x - (float) y;
        case 2: return (float) x * (float) y;
        default: return (float) x / (float) y;
    }
}

static void test_binary(void) {
    const binary_fn fns[4]    = { ggml_add, ggml_sub, ggml_mul, ggml_div };
    const binary_fn fns_ip[4] = { ggml_add_inplace, ggml_sub_inplace, ggml_mul_inplace, ggml_div_inplace };
    const char * names[4] = { "add", "sub", "mul", "div" };
    for (int op = 0; op < 4; op++) {
        for (int variant = 0; variant < 6; variant++) {
            struct tcase tc = { .name = names[op], .match = EXACT };
            tc.ctx = new_ctx(64);
            int64_t ne[4] = { odd_sizes[rng_u32() % (SMALL_RUN ? 4 : 5)], rand_dim(), rand_dim(), rng_int(1, 2) };
            if (variant == 0) { ne[0] = 4097; ne[1] = 3; }
            enum ggml_type ta = variant == 4 ? GGML_TYPE_F16 : GGML_TYPE_F32;
            struct ggml_tensor * a;
            if (variant == 2) {
                // a is a transposed view: non-contiguous rows
                struct ggml_tensor * base = ggml_new_tensor_4d(tc.ctx, ta, ne[1], ne[0], ne[2], ne[3]);
                fill(base, -2, 2);
                tc_input(&tc, base);
                a = ggml_transpose(tc.ctx, base);
            } else {
                a = ggml_new_tensor_4d(tc.ctx, ta, ne[0], ne[1], ne[2], ne[3]);
                fill(a, -2, 2);
                tc_input(&tc, a);
            }
            // b broadcasts: each dim either full or 1
            int64_t nb_[4];
            for (int d = 0; d < 4; d++) {
                nb_[d] = (variant == 1 || variant == 5) && (rng_u32() & 1) ? 1 : ne[d];
            }
            if (variant == 5) nb_[0] = 1;
            struct ggml_tensor * b = ggml_new_tensor_4d(tc.ctx, variant == 3 ? GGML_TYPE_F16 : GGML_TYPE_F32, nb_[0], nb_[1], nb_[2], nb_[3]);
            fill(b, 0.5f, 2);
            tc_input(&tc, b);
            bool inplace = variant == 3 || variant == 1;
            struct ggml_tensor * out = inplace ? fns_ip[op](tc.ctx, a, b) : fns[op](tc.ctx, a, b);
            double * ref = tc_ref(&tc, out);
            FOR_EACH(out, i0, i1, i2, i3) {
                double x = tget(a, i0, i1, i2, i3);
                double y = tget(b, i0 % b->ne[0], i1 % b->ne[1], i2 % b->ne[2], i3 % b->ne[3]);
                ref[lin(out, i0, i1, i2, i3)] = round_to(out->type, ref_binary(op, x, y));
            }
            tc_run(&tc);
            tc_free(&tc);
        }
    }
    // add1
    struct tcase tc = { .name = "add1", .match = EXACT };
    tc.ctx = new_ctx(16);
    struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 17, 5, 3);
    struct ggml_tensor * b = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, 1);
    fill(a, -1, 1);
    fill(b, -1, 1);
    tc_input(&tc, a);
    struct ggml_tensor * out = ggml_add1(tc.ctx, a, b);
    double * ref = tc_ref(&tc, out);
    FOR_EACH(out, i0, i1, i2, i3) {
        ref[lin(out, i0, i1, i2, i3)] = (float) ((float) tget(a, i0, i1, i2, i3) + (float) tget(b, 0, 0, 0, 0));
    }
    tc_run(&tc);
    tc_free(&tc);
}

//
// Unary ops, sqr, sqrt, log, scale
//

static double ref_unary(enum ggml_unary_op op, double x) {
    switch (op) {
        case GGML_UNARY_OP_ABS:         return fabs(x);
        case GGML_UNARY_OP_SGN:         return x > 0 ? 1 : (x < 0 ? -1 : 0);
        case GGML_UNARY_OP_NEG:         return -x;
        case GGML_UNARY_OP_STEP:        return x > 0 ? 1 : 0;
        case GGML_UNARY_OP_TANH:        return tanh(x);
        case GGML_UNARY_OP_ELU:         return x > 0 ? x : exp(x) - 1;
        case GGML_UNARY_OP_RELU:        return x > 0 ? x : 0;
        case GGML_UNARY_OP_SIGMOID:     return 1 / (1 + exp(-x));
        case GGML_UNARY_OP_GELU:        return 0.5 * x * (1 + tanh(sqrt(2 / TEST_PI) * (x + 0.044715 * x * x * x)));
        case GGML_UNARY_OP_GELU_QUICK:  return x / (1 + exp(-1.702 * x));
        case GGML_UNARY_OP_SILU:        return x / (1 + exp(-x));
        case GGML_UNARY_OP_HARDSWISH:   return x * fmin(1, fmax(0, (x + 3) / 6));
        case GGML_UNARY_OP_HARDSIGMOID: return fmin(1, fmax(0, (x + 3) / 6));
        case GGML_UNARY_OP_EXP:         return exp(x);
        case GGML_UNARY_OP_GELU_ERF:    return 0.5 * x * (1 + erf(x / sqrt(2)));
        case GGML_UNARY_OP_EXPM1:       return expm1(x);
        case GGML_UNARY_OP_SOFTPLUS:    return x > 20 ? x : log(1 + exp(x));
        case GGML_UNARY_OP_FLOOR:       return floor(x);
        case GGML_UNARY_OP_CEIL:        return ceil(x);
        case GGML_UNARY_OP_ROUND:       return round(x);
        case GGML_UNARY_OP_TRUNC:       return trunc(x);
        default:                        return NAN;
    }
}

static void test_unary(void) {
    for (int op = 0; op < GGML_UNARY_OP_COUNT; op++) {
        if (op == GGML_UNARY_OP_XIELU) {
            continue; // takes parameters: its own test
        }
        for (int variant = 0; variant < 3; variant++) {
            struct tcase tc = { .name = ggml_unary_op_name((enum ggml_unary_op) op), .match = CLOSE, .tol = 1e-10 };
            tc.ctx = new_ctx(16);
            int64_t n0 = variant == 0 ? (SMALL_RUN ? 257 : 4097) : odd_sizes[rng_u32() % 4];
            struct ggml_tensor * a;
            struct ggml_tensor * base = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, variant == 1 ? n0 + 3 : n0, 3, 2);
            fill(base, -6, 6);
            tc_input(&tc, base);
            // variant 1: rows with a gap between them (a view), as unary ops need contiguous rows
            a = variant == 1 ? ggml_view_3d(tc.ctx, base, n0, 3, 2, base->nb[1], base->nb[2], sizeof(float)) : base;
            struct ggml_tensor * out = variant == 2 ? ggml_unary_inplace(tc.ctx, a, (enum ggml_unary_op) op)
                                                    : ggml_unary(tc.ctx, a, (enum ggml_unary_op) op);
            double * ref = tc_ref(&tc, out);
            FOR_EACH(out, i0, i1, i2, i3) {
                ref[lin(out, i0, i1, i2, i3)] = ref_unary((enum ggml_unary_op) op, tget(a, i0, i1, i2, i3));
            }
            tc_run(&tc);
            tc_free(&tc);
        }
    }
    // f16 in and out
    {
        struct tcase tc = { .name = "silu f16", .match = CLOSE, .tol = 1e-6 };
        tc.ctx = new_ctx(16);
        struct ggml_tensor * a = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F16, 100, 3);
        fill(a, -4, 4);
        tc_input(&tc, a);
        struct ggml_tensor * out = ggml_silu(tc.ctx, a);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            ref[lin(out, i0, i1, i2, i3)] = ref_unary(GGML_UNARY_OP_SILU, tget(a, i0, i1, i2, i3));
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    for (int op = 0; op < 4; op++) {
        const char * names[4] = { "sqr", "sqrt", "log", "scale" };
        struct tcase tc = { .name = names[op], .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(16);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 17, 4, 3);
        fill(a, 0.1f, 5);
        tc_input(&tc, a);
        struct ggml_tensor * out = op == 0 ? ggml_sqr(tc.ctx, a) : op == 1 ? ggml_sqrt(tc.ctx, a) :
                                   op == 2 ? ggml_log_inplace(tc.ctx, a) : ggml_scale_inplace(tc.ctx, a, 0.37f);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            double x = tget(a, i0, i1, i2, i3);
            ref[lin(out, i0, i1, i2, i3)] = op == 0 ? x * x : op == 1 ? sqrt(x) : op == 2 ? log(x) : x * 0.37;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

//
// Reductions
//

static void test_reductions(void) {
    for (int op = 0; op < 4; op++) {
        const char * names[4] = { "sum", "sum_rows", "mean", "argmax" };
        for (int s = 0; s < 3; s++) {
            struct tcase tc = { .name = names[op], .match = op == 3 ? EXACT : CLOSE, .tol = 1e-12 };
            tc.ctx = new_ctx(16);
            int64_t n0 = odd_sizes[s + 1 + (SMALL_RUN ? 0 : 1)];
            struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, n0, 5, op == 3 ? 1 : 3);
            fill(a, -1, 1);
            tc_input(&tc, a);
            struct ggml_tensor * out = op == 0 ? ggml_sum(tc.ctx, a) : op == 1 ? ggml_sum_rows(tc.ctx, a) :
                                       op == 2 ? ggml_mean(tc.ctx, a) : ggml_argmax(tc.ctx, a);
            double * ref = tc_ref(&tc, out);
            if (op == 0) {
                double t = 0;
                FOR_EACH(a, i0, i1, i2, i3) t += tget(a, i0, i1, i2, i3);
                ref[0] = t;
            } else {
                for (int64_t i2 = 0; i2 < a->ne[2]; i2++) {
                    for (int64_t i1 = 0; i1 < a->ne[1]; i1++) {
                        double t = 0, best = -INFINITY;
                        int64_t arg = 0;
                        for (int64_t i0 = 0; i0 < a->ne[0]; i0++) {
                            double v = tget(a, i0, i1, i2, 0);
                            t += v;
                            if (v > best) { best = v; arg = i0; }
                        }
                        if (op == 3) ref[i1] = (double) arg;
                        else ref[i2 * a->ne[1] + i1] = op == 2 ? t / (double) a->ne[0] : t;
                    }
                }
            }
            tc_run(&tc);
            tc_free(&tc);
        }
    }
}

//
// Data movement: repeat, concat, cpy/cont/dup across types, get_rows, set_rows, pad
//

static void test_movement(void) {
    // repeat
    {
        struct tcase tc = { .name = "repeat", .match = EXACT };
        tc.ctx = new_ctx(16);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 3, 1, 2);
        struct ggml_tensor * b = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 9, 4, 2, 2);
        fill(a, -1, 1);
        struct ggml_tensor * out = ggml_repeat(tc.ctx, a, b);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) ref[lin(out, i0, i1, i2, i3)] = tget(a, i0 % 3, 0, i2 % 2, 0);
        tc_run(&tc);
        tc_free(&tc);
    }
    // concat along each dim
    for (int dim = 0; dim < 4; dim++) {
        struct tcase tc = { .name = "concat", .match = EXACT };
        tc.ctx = new_ctx(16);
        int64_t ne[4] = { 5, 3, 2, 2 };
        int64_t nb_[4] = { 5, 3, 2, 2 };
        nb_[dim] = 3;
        struct ggml_tensor * a = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, ne[0], ne[1], ne[2], ne[3]);
        struct ggml_tensor * b = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, nb_[0], nb_[1], nb_[2], nb_[3]);
        fill(a, -1, 1);
        fill(b, -1, 1);
        struct ggml_tensor * out = ggml_concat(tc.ctx, a, b, dim);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            int64_t i[4] = { i0, i1, i2, i3 };
            double v;
            if (i[dim] < ne[dim]) {
                v = tget(a, i0, i1, i2, i3);
            } else {
                i[dim] -= ne[dim];
                v = tget(b, i[0], i[1], i[2], i[3]);
            }
            ref[lin(out, i0, i1, i2, i3)] = v;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    // copies between types, from permuted sources, into views, with reshapes
    const enum ggml_type types[4] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_I32 };
    for (int s = 0; s < 4; s++) {
        for (int d = 0; d < 4; d++) {
            for (int variant = 0; variant < 4; variant++) {
                struct tcase tc = { .name = "cpy", .match = EXACT };
                tc.ctx = new_ctx(16);
                struct ggml_tensor * src = ggml_new_tensor_3d(tc.ctx, types[s], 17, 6, 3);
                FOR_EACH(src, i0, i1, i2, i3) tset(src, i0, i1, i2, i3, types[s] == GGML_TYPE_I32 ? rng_int(-1000, 1000) : rng_f(-100, 100));
                // 0: same shape, 1: permuted source, 2: permuted into another shape, 3: into another shape
                struct ggml_tensor * a = variant == 0 || variant == 3 ? src : ggml_permute(tc.ctx, src, 2, 0, 1, 3);
                struct ggml_tensor * out;
                if (variant >= 2) {
                    // copy into a reshaped contiguous destination
                    struct ggml_tensor * dst = ggml_new_tensor_2d(tc.ctx, types[d], 17 * 3, 6);
                    out = ggml_cpy(tc.ctx, a, dst);
                } else {
                    struct ggml_tensor * dst = ggml_new_tensor_4d(tc.ctx, types[d], a->ne[0], a->ne[1], a->ne[2], a->ne[3]);
                    out = ggml_cpy(tc.ctx, a, dst);
                }
                double * ref = tc_ref(&tc, out);
                int64_t l = 0;
                FOR_EACH(a, i0, i1, i2, i3) {
                    double v = tget(a, i0, i1, i2, i3);
                    if (types[d] == GGML_TYPE_I32 && types[s] != GGML_TYPE_I32) {
                        v = (double) (int32_t) (float) v;
                    }
                    ref[l++] = round_to(types[d], v);
                }
                tc_run(&tc);
                tc_free(&tc);
            }
        }
    }
    // cont of a transposed view, dup
    {
        struct tcase tc = { .name = "cont", .match = EXACT };
        tc.ctx = new_ctx(16);
        struct ggml_tensor * a = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 33, 7);
        fill(a, -1, 1);
        struct ggml_tensor * out = ggml_dup(tc.ctx, ggml_cont(tc.ctx, ggml_transpose(tc.ctx, a)));
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) ref[lin(out, i0, i1, i2, i3)] = tget(a, i1, i0, 0, 0);
        tc_run(&tc);
        tc_free(&tc);
    }
    // get_rows
    for (int s = 0; s < 4; s++) {
        struct tcase tc = { .name = "get_rows", .match = EXACT };
        tc.ctx = new_ctx(16);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, types[s], 19, 10, 2);
        FOR_EACH(a, i0, i1, i2, i3) tset(a, i0, i1, i2, i3, types[s] == GGML_TYPE_I32 ? rng_int(-99, 99) : rng_f(-3, 3));
        struct ggml_tensor * idx = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_I32, 7, 2);
        FOR_EACH(idx, i0, i1, i2, i3) tset(idx, i0, i1, i2, i3, rng_int(0, 9));
        struct ggml_tensor * out = ggml_get_rows(tc.ctx, a, idx);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            int64_t r = (int64_t) tget(idx, i1, i2, 0, 0);
            ref[lin(out, i0, i1, i2, i3)] = round_to(out->type, tget(a, i0, r, i2, 0));
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    // set_rows with i32 and i64 indices into f32 and f16
    for (int v = 0; v < 4; v++) {
        struct tcase tc = { .name = "set_rows", .match = EXACT };
        tc.ctx = new_ctx(16);
        enum ggml_type dt = v & 1 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        enum ggml_type it = v & 2 ? GGML_TYPE_I64 : GGML_TYPE_I32;
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, dt, 13, 9, 2);
        struct ggml_tensor * b = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 13, 4, 2);
        struct ggml_tensor * c = ggml_new_tensor_2d(tc.ctx, it, 4, 1);
        fill(a, -1, 1);
        fill(b, -1, 1);
        // distinct indices, so the result does not depend on write order
        int perm[9] = { 0, 1, 2, 3, 4, 5, 6, 7, 8 };
        for (int i = 8; i > 0; i--) { int j = rng_int(0, i); int t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
        for (int i = 0; i < 4; i++) tset(c, i, 0, 0, 0, perm[i]);
        tc_input(&tc, a);
        struct ggml_tensor * out = ggml_set_rows(tc.ctx, a, b, c);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) ref[lin(out, i0, i1, i2, i3)] = tget(a, i0, i1, i2, i3);
        for (int64_t i2 = 0; i2 < 2; i2++)
            for (int64_t i1 = 0; i1 < 4; i1++)
                for (int64_t i0 = 0; i0 < 13; i0++)
                    ref[lin(out, i0, perm[i1], i2, 0)] = round_to(dt, tget(b, i0, i1, i2, 0));
        tc_run(&tc);
        tc_free(&tc);
    }
    // pad
    {
        struct tcase tc = { .name = "pad", .match = EXACT };
        tc.ctx = new_ctx(16);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 5, 3, 2);
        fill(a, -1, 1);
        struct ggml_tensor * out = ggml_pad(tc.ctx, a, 2, 1, 0, 1);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            bool in = i0 < 5 && i1 < 3 && i2 < 2 && i3 < 1;
            ref[lin(out, i0, i1, i2, i3)] = in ? tget(a, i0, i1, i2, i3) : 0.0;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

//
// Norms, masks, softmax, rope
//

static void test_norms(void) {
    for (int rms = 0; rms < 2; rms++) {
        for (int s = 0; s < 5; s++) {
            if (SMALL_RUN && s == 4) continue;
            struct tcase tc = { .name = rms ? "rms_norm" : "norm", .match = CLOSE, .tol = 1e-7 };
            tc.ctx = new_ctx(16);
            int64_t n0 = odd_sizes[s];
            struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, n0, 3, 2);
            fill(a, -1, 3); // a mean far from 0 tests the centring
            tc_input(&tc, a);
            const float eps = 1e-5f;
            struct ggml_tensor * out = s == 2 ? (rms ? ggml_rms_norm_inplace(tc.ctx, a, eps) : ggml_norm_inplace(tc.ctx, a, eps))
                                              : (rms ? ggml_rms_norm(tc.ctx, a, eps) : ggml_norm(tc.ctx, a, eps));
            double * ref = tc_ref(&tc, out);
            for (int64_t i2 = 0; i2 < 2; i2++) {
                for (int64_t i1 = 0; i1 < 3; i1++) {
                    double mean = 0, var = 0;
                    for (int64_t i0 = 0; i0 < n0; i0++) mean += tget(a, i0, i1, i2, 0);
                    mean /= (double) n0;
                    for (int64_t i0 = 0; i0 < n0; i0++) {
                        double x = tget(a, i0, i1, i2, 0) - (rms ? 0 : mean);
                        var += x * x;
                    }
                    var /= (double) n0;
                    for (int64_t i0 = 0; i0 < n0; i0++) {
                        ref[lin(out, i0, i1, i2, 0)] = (tget(a, i0, i1, i2, 0) - (rms ? 0 : mean)) / sqrt(var + eps);
                    }
                }
            }
            tc_run(&tc);
            tc_free(&tc);
        }
    }
}

static void test_diag_mask(void) {
    for (int zero = 0; zero < 2; zero++) {
        for (int n_past = 0; n_past < 3; n_past += 2) {
            struct tcase tc = { .name = zero ? "diag_mask_zero" : "diag_mask_inf", .match = EXACT };
            tc.ctx = new_ctx(16);
            struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 7, 5, 2);
            fill(a, -1, 1);
            tc_input(&tc, a);
            struct ggml_tensor * out = zero ? (n_past ? ggml_diag_mask_zero_inplace(tc.ctx, a, n_past) : ggml_diag_mask_zero(tc.ctx, a, n_past))
                                            : (n_past ? ggml_diag_mask_inf_inplace(tc.ctx, a, n_past) : ggml_diag_mask_inf(tc.ctx, a, n_past));
            double * ref = tc_ref(&tc, out);
            FOR_EACH(out, i0, i1, i2, i3) {
                ref[lin(out, i0, i1, i2, i3)] = i0 > n_past + i1 ? (zero ? 0.0 : -INFINITY) : tget(a, i0, i1, i2, i3);
            }
            tc_run(&tc);
            tc_free(&tc);
        }
    }
}

static void test_soft_max(void) {
    for (int variant = 0; variant < 7; variant++) {
        struct tcase tc = { .name = "soft_max", .match = CLOSE, .tol = 1e-7 };
        tc.ctx = new_ctx(32);
        int64_t n0 = variant == 0 ? (SMALL_RUN ? 1000 : 4097) : odd_sizes[rng_u32() % 4];
        int64_t n_head = variant >= 4 ? (variant == 4 ? 8 : 6) : 3;
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, n0, 4, n_head);
        fill(a, -10, 10);
        tc_input(&tc, a);
        struct ggml_tensor * mask = NULL;
        float scale = 1.0f, max_bias = 0.0f;
        if (variant >= 2) {
            mask = ggml_new_tensor_2d(tc.ctx, variant == 3 ? GGML_TYPE_F16 : GGML_TYPE_F32, n0, 6);
            fill(mask, -3, 3);
            for (int64_t i1 = 0; i1 < 6; i1++) tset(mask, 0, i1, 0, 0, -INFINITY); // masked entries
            scale = 0.3f;
            max_bias = variant >= 4 ? 8.0f : 0.0f;
        }
        struct ggml_tensor * out = variant == 1 ? ggml_soft_max_inplace(tc.ctx, a) :
                                   variant == 6 ? ggml_soft_max_ext_inplace(tc.ctx, a, mask, scale, max_bias) :
                                   mask || variant > 0 ? ggml_soft_max_ext(tc.ctx, a, mask, scale, max_bias) : ggml_soft_max(tc.ctx, a);
        double * ref = tc_ref(&tc, out);
        double * row = malloc((size_t) n0 * sizeof(double));
        const int n_head_log2 = 1 << (int) floor(log2((double) n_head));
        for (int64_t h = 0; h < n_head; h++) {
            double slope = 1.0;
            if (max_bias > 0) {
                double m0 = pow(2.0, -max_bias / n_head_log2), m1 = pow(2.0, -max_bias / 2.0 / n_head_log2);
                slope = h < n_head_log2 ? pow(m0, (double) (h + 1)) : pow(m1, (double) (2 * (h - n_head_log2) + 1));
            }
            for (int64_t i1 = 0; i1 < 4; i1++) {
                double mx = -INFINITY, sum = 0;
                for (int64_t i0 = 0; i0 < n0; i0++) {
                    row[i0] = tget(a, i0, i1, h, 0) * scale + (mask ? slope * tget(mask, i0, i1, 0, 0) : 0.0);
                    if (row[i0] > mx) mx = row[i0];
                }
                for (int64_t i0 = 0; i0 < n0; i0++) sum += exp(row[i0] - mx);
                for (int64_t i0 = 0; i0 < n0; i0++) ref[lin(out, i0, i1, h, 0)] = exp(row[i0] - mx) / sum;
            }
        }
        free(row);
        tc_run(&tc);
        tc_free(&tc);
    }
}

static double ref_corr_dim(int n_dims, int n_ctx_orig, double n_rot, double base) {
    return n_dims * log(n_ctx_orig / (n_rot * 2 * TEST_PI)) / (2 * log(base));
}

static void test_rope(void) {
    for (int variant = 0; variant < 6; variant++) {
        struct tcase tc = { .name = variant & 1 ? "rope neox" : "rope", .match = CLOSE, .tol = 1e-7 };
        tc.ctx = new_ctx(16);
        const int64_t ne0 = variant >= 2 ? 24 : 16, n_head = 3, n_tok = 5;
        const int n_dims = variant >= 2 ? 16 : 16;
        const int mode = variant & 1 ? GGML_ROPE_TYPE_NEOX : 0;
        const float freq_base = 10000.0f, freq_scale = variant >= 4 ? 0.5f : 1.0f;
        const float ext_factor = variant >= 4 ? 1.0f : 0.0f, attn_factor = variant >= 2 ? 0.9f : 1.0f;
        const float beta_fast = 32.0f, beta_slow = 1.0f;
        const int n_ctx_orig = 512;
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, ne0, n_head, n_tok);
        struct ggml_tensor * pos = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_I32, n_tok);
        struct ggml_tensor * ff = NULL;
        fill(a, -1, 1);
        tc_input(&tc, a);
        for (int i = 0; i < n_tok; i++) tset(pos, i, 0, 0, 0, rng_int(0, 300));
        if (variant >= 4) {
            ff = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, n_dims / 2);
            fill(ff, 1, 4);
        }
        struct ggml_tensor * out = variant == 3 ? ggml_rope_ext_inplace(tc.ctx, a, pos, ff, n_dims, mode, n_ctx_orig, freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow)
                                                : ggml_rope_ext(tc.ctx, a, pos, ff, n_dims, mode, n_ctx_orig, freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow);
        double * ref = tc_ref(&tc, out);
        double lo = fmax(0, floor(ref_corr_dim(n_dims, n_ctx_orig, beta_fast, freq_base)));
        double hi = fmin(n_dims - 1, ceil(ref_corr_dim(n_dims, n_ctx_orig, beta_slow, freq_base)));
        for (int64_t t = 0; t < n_tok; t++) {
            double p = tget(pos, t, 0, 0, 0);
            for (int64_t h = 0; h < n_head; h++) {
                for (int64_t i0 = 0; i0 < ne0; i0++) ref[lin(out, i0, h, t, 0)] = tget(a, i0, h, t, 0);
                for (int64_t i0 = 0; i0 < n_dims; i0 += 2) {
                    double f = ff ? tget(ff, i0 / 2, 0, 0, 0) : 1.0;
                    double theta_extrap = p * pow(freq_base, -(double) i0 / n_dims) / f;
                    double theta = freq_scale * theta_extrap, ms = attn_factor;
                    if (ext_factor != 0) {
                        double y = (i0 / 2 - lo) / fmax(0.001, hi - lo);
                        double ramp = (1 - fmin(1, fmax(0, y))) * ext_factor;
                        theta = theta * (1 - ramp) + theta_extrap * ramp;
                        ms *= 1 + 0.1 * log(1 / freq_scale);
                    }
                    int64_t j0 = mode ? i0 / 2 : i0, j1 = mode ? i0 / 2 + n_dims / 2 : i0 + 1;
                    double x0 = tget(a, j0, h, t, 0), x1 = tget(a, j1, h, t, 0);
                    ref[lin(out, j0, h, t, 0)] = (x0 * cos(theta) - x1 * sin(theta)) * ms;
                    ref[lin(out, j1, h, t, 0)] = (x0 * sin(theta) + x1 * cos(theta)) * ms;
                }
            }
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

// The multi-section modes, with the reference computing each pair's angle from its section
// directly: stream k's angle at pair i is pos_k * base^(-2 e / n_dims), e being i for MROPE and
// IMROPE and the pair's index inside its section for VISION.
static int ref_rope_stream(int mode, const int sec[4], int sector) {
    if (mode == GGML_ROPE_TYPE_IMROPE) {
        if (sector % 3 == 1 && sector < 3 * sec[1]) return 1;
        if (sector % 3 == 2 && sector < 3 * sec[2]) return 2;
        if (sector % 3 == 0 && sector < 3 * sec[0]) return 0;
        return 3;
    }
    int start = 0;
    for (int k = 0; k < 3; k++) {
        if (sector < start + sec[k]) return k;
        start += sec[k];
    }
    return 3;
}

static void test_rope_multi(void) {
    // offs: the rotated window's first channel (ggml_rope_set_offset)
    static const struct { int mode, ne0, n_dims, sec[4], ff, ext, inplace, view, offs; } cases[] = {
        { GGML_ROPE_TYPE_MROPE,  18, 12, { 2, 3, 1, 1 }, 0, 0, 0, 0, 0 },
        { GGML_ROPE_TYPE_MROPE,  14, 14, { 1, 1, 1, 0 }, 1, 1, 1, 1, 0 }, // sections repeat over 7 pairs
        { GGML_ROPE_TYPE_IMROPE, 16, 16, { 3, 2, 2, 0 }, 0, 0, 0, 1, 0 },
        { GGML_ROPE_TYPE_IMROPE, 22, 18, { 4, 3, 2, 1 }, 1, 1, 0, 0, 0 },
        { GGML_ROPE_TYPE_VISION, 20, 10, { 3, 2, 0, 0 }, 0, 0, 0, 0, 0 },
        { GGML_ROPE_TYPE_VISION, 12,  6, { 2, 1, 0, 0 }, 1, 1, 1, 1, 0 },
        { GGML_ROPE_TYPE_NEOX,   10,  8, { 0, 0, 0, 0 }, 0, 0, 0, 0, 0 }, // stream 0 only
        { GGML_ROPE_TYPE_MROPE,  26, 12, { 2, 3, 1, 0 }, 1, 1, 0, 1, 6 },
        { GGML_ROPE_TYPE_NEOX,   18,  8, { 0, 0, 0, 0 }, 0, 0, 1, 0, 10 }, // the last 8 channels
        { GGML_ROPE_TYPE_NORMAL, 15,  6, { 0, 0, 0, 0 }, 1, 1, 0, 1, 4 },
    };
    for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++) {
        struct tcase tc = { .name = "rope_multi", .match = CLOSE, .tol = 1e-7 };
        tc.ctx = new_ctx(16);
        const int mode = cases[ci].mode, n_dims = cases[ci].n_dims;
        const int64_t ne0 = cases[ci].ne0, n_head = 3, n_tok = 5;
        int sec[4];
        memcpy(sec, cases[ci].sec, sizeof(sec));
        const float freq_base = 10000.0f, freq_scale = cases[ci].ext ? 0.5f : 1.0f;
        const float ext_factor = cases[ci].ext ? 1.0f : 0.0f, attn_factor = 0.9f, beta_fast = 32.0f, beta_slow = 1.0f;
        const int n_ctx_orig = 512;
        struct ggml_tensor * a;
        if (cases[ci].view) { // rows padded by 3 elements, heads and tokens swapped in memory
            struct ggml_tensor * big = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, ne0 + 3, n_tok, n_head);
            fill(big, -1, 1);
            tc_input(&tc, big);
            a = ggml_permute(tc.ctx, ggml_view_3d(tc.ctx, big, ne0, n_tok, n_head, big->nb[1], big->nb[2], 0), 0, 2, 1, 3);
        } else {
            a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, ne0, n_head, n_tok);
            fill(a, -1, 1);
            tc_input(&tc, a);
        }
        struct ggml_tensor * pos = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_I32, 4 * n_tok);
        for (int i = 0; i < 4 * n_tok; i++) tset(pos, i, 0, 0, 0, rng_int(0, 300));
        const bool vision = mode == GGML_ROPE_TYPE_VISION;
        const int n_pairs = vision ? (int) ne0 / 2 : n_dims / 2;
        struct ggml_tensor * ff = NULL;
        if (cases[ci].ff) {
            ff = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, n_pairs);
            fill(ff, 1, 4);
        }
        struct ggml_tensor * out = cases[ci].inplace
            ? ggml_rope_multi_inplace(tc.ctx, a, pos, ff, n_dims, sec, mode, n_ctx_orig, freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow)
            : ggml_rope_multi(tc.ctx, a, pos, ff, n_dims, sec, mode, n_ctx_orig, freq_base, freq_scale, ext_factor, attn_factor, beta_fast, beta_slow);
        const int offs = cases[ci].offs;
        if (offs != 0) {
            CHECK(ggml_rope_set_offset(out, offs) == out && out->op_params[15] == offs);
        }
        CHECK(out != NULL);
        if (out == NULL) {
            tc_free(&tc);
            continue;
        }
        double * ref = tc_ref(&tc, out);
        const double lo = fmax(0, floor(ref_corr_dim(n_dims, n_ctx_orig, beta_fast, freq_base)));
        const double hi = fmin(n_dims - 1, ceil(ref_corr_dim(n_dims, n_ctx_orig, beta_slow, freq_base)));
        const int sect_dims = sec[0] + sec[1] + sec[2] + sec[3];
        const int starts[4] = { 0, sec[0], sec[0] + sec[1], sec[0] + sec[1] + sec[2] };
        for (int64_t t = 0; t < n_tok; t++) {
            for (int64_t h = 0; h < n_head; h++) {
                for (int64_t i0 = 0; i0 < ne0; i0++) ref[lin(out, i0, h, t, 0)] = tget(a, i0, h, t, 0);
                for (int i = 0; i < n_pairs; i++) {
                    int k = 0, e = i;
                    if (mode & GGML_ROPE_TYPE_MROPE) {
                        const int sector = i % sect_dims;
                        k = ref_rope_stream(mode, sec, sector);
                        if (vision) e = sector - starts[k];
                    }
                    const double p = tget(pos, t + k * n_tok, 0, 0, 0);
                    const double f = ff ? tget(ff, i, 0, 0, 0) : 1.0;
                    const double theta_extrap = p * pow(freq_base, -2.0 * e / n_dims) / f;
                    double theta = freq_scale * theta_extrap, ms = attn_factor;
                    if (ext_factor != 0) {
                        const double y = (i - lo) / fmax(0.001, hi - lo);
                        const double ramp = (1 - fmin(1, fmax(0, y))) * ext_factor;
                        theta = theta * (1 - ramp) + theta_extrap * ramp;
                        ms *= 1 + 0.1 * log(1 / freq_scale);
                    }
                    const int64_t j0 = offs + (mode == GGML_ROPE_TYPE_NORMAL ? 2 * i : i);
                    const int64_t j1 = j0 + (mode == GGML_ROPE_TYPE_NORMAL ? 1 : vision ? n_dims : n_dims / 2);
                    const double x0 = tget(a, j0, h, t, 0), x1 = tget(a, j1, h, t, 0);
                    ref[lin(out, j0, h, t, 0)] = (x0 * cos(theta) - x1 * sin(theta)) * ms;
                    ref[lin(out, j1, h, t, 0)] = (x0 * sin(theta) + x1 * cos(theta)) * ms;
                }
            }
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

//
// mul_mat
//

static void test_mul_mat(void) {
    const enum ggml_type wtypes[3] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_BF16 };
    const int n_cases = SMALL_RUN ? 10 : 24;
    for (int c = 0; c < n_cases; c++) {
        struct tcase tc = { .name = "mul_mat", .match = CLOSE, .tol = 1e-7 };
        tc.ctx = new_ctx(128);
        static const int64_t ks[] = { 1, 3, 17, 64, 400, 1000 };
        static const int64_t ms[] = { 1, 3, 17, 33, 64, 100 };
        static const int64_t ns[] = { 1, 2, 3, 5, 13, 40, 77 };
        int64_t K = ks[rng_u32() % 6], M = ms[rng_u32() % 6], N = ns[rng_u32() % 7];
        if (c == 0) { K = 4097; M = 17; N = 13; }
        if (c == 1) { K = 1000; M = 70; N = 100; }
        int64_t ne02 = rng_int(1, 2), ne03 = 1, r2 = rng_int(1, 2), r3 = rng_int(1, 2);
        enum ggml_type wt = wtypes[c % 3];
        const enum ggml_type bt = c % 4 == 3 ? GGML_TYPE_F16 : GGML_TYPE_F32; // activations in f16 too
        const int layout = (c / 3) % 4; // 0 plain, 1 B permuted, 2 A permuted, 3 B transposed view
        struct ggml_tensor * a, * b;
        if (layout == 2) {
            // as attention's keys: [K, heads, rows] permuted to [K, rows, heads]
            struct ggml_tensor * ap = ggml_new_tensor_4d(tc.ctx, wt, K, ne02, M, ne03);
            fill(ap, -1, 1);
            a = ggml_permute(tc.ctx, ap, 0, 2, 1, 3);
        } else {
            a = ggml_new_tensor_4d(tc.ctx, wt, K, M, ne02, ne03);
            fill(a, -1, 1);
        }
        if (layout == 1) {
            // as attention does: [K, heads, tokens] permuted to [K, tokens, heads]
            struct ggml_tensor * bp = ggml_new_tensor_4d(tc.ctx, bt, K, ne02 * r2, N, ne03 * r3);
            fill(bp, -1, 1);
            b = ggml_permute(tc.ctx, bp, 0, 2, 1, 3);
        } else if (layout == 3) {
            struct ggml_tensor * bT = ggml_new_tensor_4d(tc.ctx, bt, N, K, ne02 * r2, ne03 * r3);
            fill(bT, -1, 1);
            b = ggml_transpose(tc.ctx, bT);
        } else {
            b = ggml_new_tensor_4d(tc.ctx, bt, K, N, ne02 * r2, ne03 * r3);
            fill(b, -1, 1);
        }
        struct ggml_tensor * out = ggml_mul_mat(tc.ctx, a, b);
        CHECK(out != NULL);
        if (out == NULL) {
            ggml_free(tc.ctx);
            continue;
        }
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            double s = 0;
            for (int64_t k = 0; k < K; k++) {
                s += tget(a, k, i0, i2 / r2, i3 / r3) * tget(b, k, i1, i2, i3);
            }
            ref[lin(out, i0, i1, i2, i3)] = s;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

//
// im2col, pool_2d
//

static void test_conv(void) {
    for (int variant = 0; variant < 4; variant++) {
        struct tcase tc = { .name = "im2col", .match = EXACT };
        tc.ctx = new_ctx(16);
        const bool is_2D = variant < 3;
        const enum ggml_type dt = variant == 1 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        const int s0 = 1 + variant % 2, s1 = 2, p0 = 1, p1 = variant == 2 ? 0 : 1, d0 = 1, d1 = 1 + (variant == 2);
        struct ggml_tensor * k = is_2D ? ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F16, 3, 2, 3, 4) : ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F16, 3, 3, 4);
        struct ggml_tensor * b = is_2D ? ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 9, 7, 3, 2) : ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 11, 3, 2);
        fill(b, -2, 2);
        struct ggml_tensor * out = ggml_im2col(tc.ctx, k, b, s0, s1, p0, p1, d0, d1, is_2D, dt);
        CHECK(out != NULL);
        if (out == NULL) { ggml_free(tc.ctx); continue; }
        double * ref = tc_ref(&tc, out);
        const int64_t KW = k->ne[0], KH = is_2D ? k->ne[1] : 1, IC = is_2D ? b->ne[2] : b->ne[1];
        const int64_t IW = b->ne[0], IH = is_2D ? b->ne[1] : 1, N = is_2D ? b->ne[3] : b->ne[2];
        const int64_t OW = out->ne[1], OH = is_2D ? out->ne[2] : 1;
        for (int64_t n = 0; n < N; n++)
        for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++)
        for (int64_t ic = 0; ic < IC; ic++)
        for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            int64_t iw = ow * s0 + kw * d0 - p0, ih = oh * s1 + kh * d1 - p1;
            double v = 0;
            if (iw >= 0 && iw < IW && ih >= 0 && ih < IH) v = is_2D ? tget(b, iw, ih, ic, n) : tget(b, iw, ic, n, 0);
            int64_t col = (ic * KH + kh) * KW + kw;
            ref[is_2D ? lin(out, col, ow, oh, n) : lin(out, col, ow, n, 0)] = round_to(dt, v);
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    for (int variant = 0; variant < 4; variant++) {
        struct tcase tc = { .name = "pool_2d", .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(16);
        const enum ggml_op_pool op = variant & 1 ? GGML_OP_POOL_AVG : GGML_OP_POOL_MAX;
        const int k0 = 3, k1 = 2, s0 = 2, s1 = 1 + (variant >= 2), p0 = 1, p1 = variant >= 2 ? 1 : 0;
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 10, 7, 3);
        fill(a, -2, 2);
        struct ggml_tensor * out = ggml_pool_2d(tc.ctx, a, op, k0, k1, s0, s1, (float) p0, (float) p1);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, ox, oy, c, i3) {
            double acc = op == GGML_OP_POOL_MAX ? -INFINITY : 0;
            for (int ky = 0; ky < k1; ky++) for (int kx = 0; kx < k0; kx++) {
                int64_t iy = oy * s1 + ky - p1, ix = ox * s0 + kx - p0;
                if (iy < 0 || iy >= 7 || ix < 0 || ix >= 10) continue;
                double v = tget(a, ix, iy, c, 0);
                acc = op == GGML_OP_POOL_MAX ? fmax(acc, v) : acc + v;
            }
            ref[lin(out, ox, oy, c, i3)] = op == GGML_OP_POOL_AVG ? acc / (k0 * k1) : acc;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

// 3D: im2col_3d on a padded (non-contiguous) view, conv_3d against the direct sum, and col2im_1d
// against the scatter (overlap-add) definition, on odd sizes.
static void test_conv_3d(void) {
    for (int variant = 0; variant < 3; variant++) {
        struct tcase tc = { .name = "im2col_3d", .match = EXACT };
        tc.ctx = new_ctx(16);
        const int64_t IC = 2, N = 2, KW = 3, KH = 2, KD = 2, IW = 7, IH = 5, ID = 4, OC = 3;
        const int s[3] = { 2, 1, 1 + variant % 2 }, p[3] = { 1, variant, 1 }, d[3] = { 1, 2, 1 };
        const enum ggml_type dt = variant == 1 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        struct ggml_tensor * k = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F16, KW, KH, KD, OC * IC);
        struct ggml_tensor * big = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, IW + 2, IH, ID, N * IC);
        fill(big, -2, 2);
        struct ggml_tensor * b = ggml_view_4d(tc.ctx, big, IW, IH, ID, N * IC, big->nb[1], big->nb[2], big->nb[3], sizeof(float));
        struct ggml_tensor * out = ggml_im2col_3d(tc.ctx, k, b, IC, s[0], s[1], s[2], p[0], p[1], p[2], d[0], d[1], d[2], dt);
        CHECK(out != NULL);
        if (out == NULL) { ggml_free(tc.ctx); continue; }
        const int64_t OW = (IW + 2 * p[0] - d[0] * (KW - 1) - 1) / s[0] + 1;
        const int64_t OH = (IH + 2 * p[1] - d[1] * (KH - 1) - 1) / s[1] + 1;
        const int64_t OD = (ID + 2 * p[2] - d[2] * (KD - 1) - 1) / s[2] + 1;
        CHECK(out->ne[0] == KW * KH * KD * IC && out->ne[1] == OW && out->ne[2] == OH && out->ne[3] == OD * N);
        double * ref = tc_ref(&tc, out);
        for (int64_t n = 0; n < N; n++)
        for (int64_t od = 0; od < OD; od++)
        for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++)
        for (int64_t ic = 0; ic < IC; ic++)
        for (int64_t kd = 0; kd < KD; kd++)
        for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t iw = ow * s[0] + kw * d[0] - p[0], ih = oh * s[1] + kh * d[1] - p[1], id = od * s[2] + kd * d[2] - p[2];
            double v = 0;
            if (iw >= 0 && iw < IW && ih >= 0 && ih < IH && id >= 0 && id < ID) v = tget(b, iw, ih, id, n * IC + ic);
            ref[lin(out, ((ic * KD + kd) * KH + kh) * KW + kw, ow, oh, n * OD + od)] = round_to(dt, v);
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    for (int variant = 0; variant < 4; variant++) { // 0, 1: im2col_3d + mul_mat; 2, 3: direct
        struct tcase tc = { .name = variant < 2 ? "conv_3d" : "conv_3d_direct", .match = CLOSE, .tol = 1e-10 };
        tc.ctx = new_ctx(16);
        const int v = variant % 2;
        const int64_t IC = 3, N = 1 + v, OC = 2, KW = 3, KH = 3, KD = 2, IW = 6, IH = 5, IDp = 3;
        const int s0 = 1 + v, s1 = 1, s2 = 1, p0 = 1, p1 = 1, p2 = v, d0 = 1, d1 = 1 + v, d2 = 1;
        struct ggml_tensor * k = ggml_new_tensor_4d(tc.ctx, variant == 3 ? GGML_TYPE_F16 : GGML_TYPE_F32, KW, KH, KD, OC * IC);
        struct ggml_tensor * b = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, IW, IH, IDp, N * IC);
        fill(k, -1, 1);
        fill(b, -1, 1);
        struct ggml_tensor * out = variant < 2 ? ggml_conv_3d(tc.ctx, k, b, IC, s0, s1, s2, p0, p1, p2, d0, d1, d2)
                                               : ggml_conv_3d_direct(tc.ctx, k, b, s0, s1, s2, p0, p1, p2, d0, d1, d2, (int) IC, (int) N, (int) OC);
        CHECK(out != NULL);
        if (out == NULL) { ggml_free(tc.ctx); continue; }
        const int64_t OW = out->ne[0], OH = out->ne[1], OD = out->ne[2];
        CHECK(out->ne[3] == N * OC && OW == (IW + 2 * p0 - (KW - 1) - 1) / s0 + 1 && OH == (IH + 2 - d1 * 2 - 1) + 1);
        double * ref = tc_ref(&tc, out);
        for (int64_t n = 0; n < N; n++)
        for (int64_t oc = 0; oc < OC; oc++)
        for (int64_t od = 0; od < OD; od++)
        for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
            double acc = 0;
            for (int64_t ic = 0; ic < IC; ic++)
            for (int64_t kd = 0; kd < KD; kd++)
            for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                const int64_t iw = ow * s0 + kw * d0 - p0, ih = oh * s1 + kh * d1 - p1, id = od * s2 + kd * d2 - p2;
                if (iw < 0 || iw >= IW || ih < 0 || ih >= IH || id < 0 || id >= IDp) continue;
                acc += tget(k, kw, kh, kd, oc * IC + ic) * tget(b, iw, ih, id, n * IC + ic);
            }
            ref[lin(out, ow, oh, od, n * OC + oc)] = acc;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    static const struct { int s0, oc, p0, K, T; enum ggml_type type; } c2i[] = {
        { 1, 1, 0, 1, 1, GGML_TYPE_F32 }, { 2, 3, 0, 4, 5, GGML_TYPE_F32 }, { 3, 2, 1, 5, 7, GGML_TYPE_F32 },
        { 4, 5, 2, 3, 6, GGML_TYPE_F32 }, // K < s0: gaps that sum nothing
        { 2, 3, 1, 4, 9, GGML_TYPE_F16 },
    };
    for (size_t ci = 0; ci < sizeof(c2i) / sizeof(c2i[0]); ci++) {
        struct tcase tc = { .name = "col2im_1d", .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(8);
        const int s0 = c2i[ci].s0, oc = c2i[ci].oc, p0 = c2i[ci].p0, K = c2i[ci].K, T = c2i[ci].T;
        // a transposed view: [K*OC, T] read from a [T, K*OC] tensor
        struct ggml_tensor * base = ggml_new_tensor_3d(tc.ctx, c2i[ci].type, T, K * oc, 2);
        fill(base, -1, 1);
        struct ggml_tensor * a = ggml_transpose(tc.ctx, base);
        struct ggml_tensor * out = ggml_col2im_1d(tc.ctx, a, s0, oc, p0);
        CHECK(out != NULL && out->type == c2i[ci].type);
        if (out == NULL) { ggml_free(tc.ctx); continue; }
        const int64_t T_out = (int64_t) (T - 1) * s0 + K - 2 * p0;
        CHECK(out->ne[0] == T_out && out->ne[1] == oc && out->ne[2] == 2);
        double * ref = tc_ref(&tc, out);
        for (int64_t i2 = 0; i2 < 2; i2++)
        for (int64_t c = 0; c < oc; c++) {
            for (int64_t t = 0; t < T; t++)
            for (int64_t kk = 0; kk < K; kk++) {
                const int64_t o = t * s0 + kk - p0;
                if (o >= 0 && o < T_out) ref[lin(out, o, c, i2, 0)] += tget(a, c * K + kk, t, i2, 0);
            }
            for (int64_t o = 0; o < T_out; o++) ref[lin(out, o, c, i2, 0)] = round_to(c2i[ci].type, ref[lin(out, o, c, i2, 0)]);
        }
        if (c2i[ci].type == GGML_TYPE_F16) tc.tol = 1e-6;
        tc_run(&tc);
        tc_free(&tc);
    }
}

// Scratch padding: the kernels that pack operands into panels or stage rows in per-thread
// scratch must never let what the scratch held before reach a result. Every graph here runs
// with its work buffer filled with zeros and then with NaN bytes (0xff), on sizes that are not
// multiples of any micro-kernel's panel (and K past one k-block, so the edge tiles accumulate);
// the results must be bit-identical and free of NaN.
static void test_scratch_poison(void) {
    struct ggml_context * ctx = new_ctx(64);
    struct ggml_tensor * outs[16];
    int n_out = 0;
    const int64_t K = 1088, M = 37, N = 19; // K: 34 blocks of 32, past MM_KC = 1024
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, N);
    fill(b, -1, 1);
    static const enum ggml_type wt[3] = { GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q8_0 };
    for (int t = 0; t < 3; t++) {
        struct ggml_tensor * w = ggml_new_tensor_2d(ctx, wt[t], K, M);
        float * src = malloc((size_t) (K * M) * sizeof(float));
        for (int64_t i = 0; i < K * M; i++) src[i] = rng_f(-1, 1);
        if (wt[t] == GGML_TYPE_Q8_0) {
            ggml_quantize_chunk(GGML_TYPE_Q8_0, src, w->data, 0, M, K, NULL);
        } else {
            FOR_EACH(w, i0, i1, i2, i3) tset(w, i0, i1, 0, 0, src[i1 * K + i0]);
        }
        free(src);
        outs[n_out++] = ggml_mul_mat(ctx, w, b);
        if (wt[t] == GGML_TYPE_Q8_0) { // and few activation rows: the dot-product path
            outs[n_out++] = ggml_mul_mat(ctx, w, ggml_view_2d(ctx, b, K, 3, b->nb[1], b->nb[1]));
        }
    }
    // conv_2d through im2col + mul_mat, odd channel and pixel counts
    struct ggml_tensor * ck = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 3, 3, 5, 7);
    struct ggml_tensor * cx = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 13, 11, 5, 2);
    fill(ck, -1, 1);
    fill(cx, -1, 1);
    outs[n_out++] = ggml_conv_2d(ctx, ck, cx, 1, 2, 1, 1, 1, 1);
    // conv_3d
    struct ggml_tensor * k3 = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 3, 2, 2, 3 * 5);
    struct ggml_tensor * x3 = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 9, 7, 5, 2 * 3);
    fill(k3, -1, 1);
    fill(x3, -1, 1);
    outs[n_out++] = ggml_conv_3d(ctx, k3, x3, 3, 1, 1, 1, 1, 0, 1, 1, 1, 1);
    // experts
    struct ggml_tensor * as = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, 45, 37, 5);
    struct ggml_tensor * mb = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 45, 1, 7);
    struct ggml_tensor * ids = ggml_new_tensor_2d(ctx, GGML_TYPE_I32, 3, 7);
    fill(as, -1, 1);
    fill(mb, -1, 1);
    FOR_EACH(ids, i0, i1, i2, i3) tset(ids, i0, i1, 0, 0, (double) ((i0 * 2 + i1) % 5));
    outs[n_out++] = ggml_mul_mat_id(ctx, as, mb, ids);
    // out_prod
    struct ggml_tensor * oa = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 37, 19);
    struct ggml_tensor * ob = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 13, 19);
    fill(oa, -1, 1);
    fill(ob, -1, 1);
    outs[n_out++] = ggml_out_prod(ctx, oa, ob);
    // rows staged in scratch: softmax, norm, rope (multi), glu, argsort
    struct ggml_tensor * r = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 37, 3, 5);
    fill(r, -3, 3);
    outs[n_out++] = ggml_soft_max_ext(ctx, r, NULL, 0.7f, 0.0f);
    outs[n_out++] = ggml_rms_norm(ctx, r, 1e-5f);
    outs[n_out++] = ggml_argsort(ctx, r, GGML_SORT_ORDER_DESC);
    struct ggml_tensor * g = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 2 * 37, 5);
    fill(g, -2, 2);
    outs[n_out++] = ggml_swiglu(ctx, g);
    struct ggml_tensor * q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 22, 3, 5);
    struct ggml_tensor * pos = ggml_new_tensor_1d(ctx, GGML_TYPE_I32, 20);
    fill(q, -1, 1);
    for (int i = 0; i < 20; i++) tset(pos, i, 0, 0, 0, i * 3);
    int sec[4] = { 4, 3, 2, 1 };
    outs[n_out++] = ggml_rope_multi(ctx, q, pos, NULL, 20, sec, GGML_ROPE_TYPE_IMROPE, 0, 1e4f, 1, 0, 1, 0, 0);
    // attention with key and value panels that do not fill the last panel
    struct ggml_tensor * fq = ggml_new_tensor_4d(ctx, GGML_TYPE_F32, 40, 5, 4, 1);
    struct ggml_tensor * fk = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 40, 37, 2, 1);
    struct ggml_tensor * fv = ggml_new_tensor_4d(ctx, GGML_TYPE_F16, 24, 37, 2, 1);
    struct ggml_tensor * fm = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 37, 5);
    fill(fq, -1, 1);
    fill(fk, -1, 1);
    fill(fv, -1, 1);
    FOR_EACH(fm, i0, i1, i2, i3) tset(fm, i0, i1, 0, 0, i0 > 30 + 2 * i1 ? -INFINITY : 0.0); // the last query sees every key
    outs[n_out++] = ggml_flash_attn_ext(ctx, fq, fk, fv, fm, 0.15f, 0.0f, 0.0f);
    static const char * const names[] = { "mul_mat f32", "mul_mat f16", "mul_mat q8_0", "mul_mat q8_0 N=3", "conv_2d", "conv_3d",
        "mul_mat_id", "out_prod", "soft_max_ext", "rms_norm", "argsort", "swiglu", "rope_multi", "flash_attn_ext" };

    // one graph per op: an earlier node would overwrite the poison with finite values
    struct ggml_cgraph * graphs[16];
    for (int i = 0; i < n_out; i++) {
        CHECK(outs[i] != NULL);
        if (outs[i] == NULL) { ggml_free(ctx); return; }
        graphs[i] = ggml_new_graph(ctx);
        ggml_build_forward_expand(graphs[i], outs[i]);
    }
    void * first = NULL;
    for (size_t k = 0; k < sizeof(all_isas) / sizeof(all_isas[0]); k++) {
        if (!isa_available(all_isas[k])) {
            continue;
        }
        for (int nth = 1; nth <= 3; nth++) {
            for (int i = 0; i < n_out; i++) {
                const size_t nb = ggml_nbytes(outs[i]);
                for (int poison = 0; poison < 2; poison++) {
                    struct ggml_cplan plan = ggml_graph_plan(graphs[i], nth, NULL);
                    uint8_t * work = malloc(plan.work_size + 1);
                    memset(work, poison ? 0xff : 0x00, plan.work_size + 1);
                    plan.work_data = work;
                    CHECK(ggml_graph_compute(graphs[i], &plan) == GGML_STATUS_SUCCESS);
                    free(work);
                    if (!poison) {
                        free(first);
                        first = malloc(nb);
                        memcpy(first, outs[i]->data, nb);
                        bool finite = true;
                        if (outs[i]->type == GGML_TYPE_F32) {
                            FOR_EACH(outs[i], i0, i1, i2, i3) finite &= isfinite(tget(outs[i], i0, i1, i2, i3)) != 0;
                        }
                        if (!finite) fprintf(stderr, "scratch poison: %s [%s, %d threads] is not finite\n", names[i], isa_names[all_isas[k]], nth);
                        CHECK(finite);
                    } else {
                        const bool same = memcmp(first, outs[i]->data, nb) == 0;
                        if (!same) fprintf(stderr, "scratch poison: %s [%s, %d threads] reads its scratch's old contents\n", names[i], isa_names[all_isas[k]], nth);
                        CHECK(same);
                    }
                }
            }
        }
    }
    ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AUTO);
    free(first);
    ggml_free(ctx);
}

//
// The transformer ops: glu, sinks, flash attention, expert routing, extra element-wise ops
//

static double ref_glu(int op, double x, double g, float alpha, float limit) {
    switch (op) {
        case GGML_GLU_OP_REGLU:       return (x > 0 ? x : 0) * g;
        case GGML_GLU_OP_GEGLU:       return 0.5 * x * (1 + tanh(sqrt(2 / TEST_PI) * (x + 0.044715 * x * x * x))) * g;
        case GGML_GLU_OP_SWIGLU:      return x / (1 + exp(-x)) * g;
        case GGML_GLU_OP_GEGLU_ERF:   return 0.5 * x * (1 + erf(x / sqrt(2))) * g;
        case GGML_GLU_OP_GEGLU_QUICK: return x / (1 + exp(-1.702 * x)) * g;
        default: {
            double xv = fmin(x, limit), gv = fmin(fmax(g, -limit), limit);
            return xv / (1 + exp(-alpha * xv)) * (gv + 1);
        }
    }
}

static void test_glu(void) {
    for (int op = 0; op < GGML_GLU_OP_COUNT; op++) {
        for (int variant = 0; variant < 4; variant++) {
            // 0: fused halves, 1: swapped, 2: split, 3: split with f16 inputs and a view with row gaps
            struct tcase tc = { .name = ggml_glu_op_name((enum ggml_glu_op) op), .match = CLOSE, .tol = variant == 3 ? 1e-5 : 1e-9 };
            tc.ctx = new_ctx(16);
            const int64_t nc = variant == 0 ? 1000 : odd_sizes[rng_u32() % 4];
            const enum ggml_type type = variant == 3 ? GGML_TYPE_F16 : GGML_TYPE_F32;
            const float alpha = 1.702f, limit = 7.0f;
            struct ggml_tensor * a, * b = NULL, * out, * src;
            int64_t off = 0;
            if (variant < 2) {
                a = src = ggml_new_tensor_3d(tc.ctx, type, 2 * nc, 3, 2);
                fill(a, -8, 8);
                tc_input(&tc, a);
                out = op == GGML_GLU_OP_SWIGLU_OAI ? ggml_swiglu_oai(tc.ctx, a, NULL, alpha, limit)
                                                   : ggml_glu(tc.ctx, a, (enum ggml_glu_op) op, variant == 1);
                if (op == GGML_GLU_OP_SWIGLU_OAI && variant == 1) {
                    tc_free(&tc);
                    continue;
                }
            } else {
                struct ggml_tensor * base = ggml_new_tensor_3d(tc.ctx, type, nc + 2, 3, 2);
                b = ggml_new_tensor_3d(tc.ctx, type, nc, 3, 2);
                fill(base, -8, 8);
                fill(b, -8, 8);
                tc_input(&tc, base);
                tc_input(&tc, b);
                src = base;
                off = variant == 3 ? 2 : 0;
                a = variant == 3 ? ggml_view_3d(tc.ctx, base, nc, 3, 2, base->nb[1], base->nb[2], 2 * ggml_type_size(type))
                                 : ggml_cont(tc.ctx, ggml_view_3d(tc.ctx, base, nc, 3, 2, base->nb[1], base->nb[2], 0));
                out = op == GGML_GLU_OP_SWIGLU_OAI ? ggml_swiglu_oai(tc.ctx, a, b, alpha, limit)
                                                   : ggml_glu_split(tc.ctx, a, b, (enum ggml_glu_op) op);
            }
            CHECK(out != NULL && out->ne[0] == nc && out->type == type);
            double * ref = tc_ref(&tc, out);
            FOR_EACH(out, i0, i1, i2, i3) {
                double x, g;
                if (b != NULL) {
                    x = tget(src, i0 + off, i1, i2, i3); // a itself is computed by the graph in variant 2
                    g = tget(b, i0, i1, i2, i3);
                } else {
                    x = tget(a, variant == 1 ? i0 + nc : i0, i1, i2, i3);
                    g = tget(a, variant == 1 ? i0 : i0 + nc, i1, i2, i3);
                }
                ref[lin(out, i0, i1, i2, i3)] = round_to(type, ref_glu(op, x, g, alpha, limit));
            }
            tc_run(&tc);
            tc_free(&tc);
        }
    }
    // shapes that do not fit are refused with a message
    struct ggml_context * ctx = new_ctx(1);
    struct ggml_tensor * odd = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 5, 2);
    struct ggml_tensor * other = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 2);
    log_capture_begin();
    CHECK(ggml_swiglu(ctx, odd) == NULL);
    CHECK(ggml_swiglu_split(ctx, odd, other) == NULL);
    CHECK(ggml_glu(ctx, other, (enum ggml_glu_op) 99, false) == NULL);
    log_capture_end();
    CHECK(log_captured("ne[0] must be even") && log_captured("unknown glu op 99"));
    ggml_free(ctx);
}

static void test_soft_max_sinks(void) {
    struct tcase tc = { .name = "soft_max sinks", .match = CLOSE, .tol = 1e-9 };
    tc.ctx = new_ctx(16);
    const int64_t n0 = 37, n1 = 5, n_head = 4;
    struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, n0, n1, n_head);
    struct ggml_tensor * mask = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F16, n0, n1);
    struct ggml_tensor * sinks = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, n_head);
    fill(a, -5, 5);
    fill(mask, -2, 2);
    fill(sinks, -3, 6);
    tset(mask, 3, 1, 0, 0, -INFINITY);
    tc_input(&tc, a);
    struct ggml_tensor * out = ggml_soft_max_ext(tc.ctx, a, mask, 0.7f, 0.0f);
    ggml_soft_max_add_sinks(out, sinks);
    CHECK(out->src[2] == sinks);
    double * ref = tc_ref(&tc, out);
    for (int64_t h = 0; h < n_head; h++) {
        for (int64_t i1 = 0; i1 < n1; i1++) {
            double mx = tget(sinks, h, 0, 0, 0), sum = 0, row[64];
            for (int64_t i0 = 0; i0 < n0; i0++) {
                row[i0] = tget(a, i0, i1, h, 0) * 0.7 + tget(mask, i0, i1, 0, 0);
                mx = fmax(mx, row[i0]);
            }
            for (int64_t i0 = 0; i0 < n0; i0++) sum += exp(row[i0] - mx);
            sum += exp(tget(sinks, h, 0, 0, 0) - mx);
            for (int64_t i0 = 0; i0 < n0; i0++) ref[lin(out, i0, i1, h, 0)] = exp(row[i0] - mx) / sum;
        }
    }
    tc_run(&tc);
    tc_free(&tc);
}

// softmax(scale * q.k (softcapped) + slope * mask [+ sink]) . v, in double
static void ref_flash_attn(const struct ggml_tensor * q, const struct ggml_tensor * k, const struct ggml_tensor * v,
        const struct ggml_tensor * mask, const struct ggml_tensor * sinks, double scale, double max_bias, double softcap,
        const struct ggml_tensor * out, double * ref) {
    const int64_t D = q->ne[0], n_q = q->ne[1], n_head = q->ne[2], n_kv = k->ne[1], Dv = v->ne[0];
    const int64_t group = n_head / k->ne[2];
    const int n_head_log2 = 1 << (int) floor(log2((double) n_head));
    double * s = malloc((size_t) n_kv * sizeof(double));
    for (int64_t i3 = 0; i3 < q->ne[3]; i3++)
    for (int64_t h = 0; h < n_head; h++) {
        double slope = 1.0;
        if (max_bias > 0) {
            double m0 = pow(2.0, -max_bias / n_head_log2), m1 = pow(2.0, -max_bias / 2.0 / n_head_log2);
            slope = h < n_head_log2 ? pow(m0, (double) (h + 1)) : pow(m1, (double) (2 * (h - n_head_log2) + 1));
        }
        for (int64_t iq = 0; iq < n_q; iq++) {
            double mx = sinks ? tget(sinks, h, 0, 0, 0) : -INFINITY;
            for (int64_t j = 0; j < n_kv; j++) {
                double dot = 0;
                for (int64_t d = 0; d < D; d++) dot += tget(q, d, iq, h, i3) * tget(k, d, j, h / group, i3);
                double x = dot * scale;
                if (softcap != 0) x = softcap * tanh(x / softcap);
                if (mask) {
                    // a hidden key is skipped, whatever its K and V hold (ggml never reads it)
                    const double mv = tget(mask, j, iq, h % mask->ne[2], i3 % mask->ne[3]);
                    x = mv == -INFINITY ? -INFINITY : x + slope * mv;
                }
                s[j] = x;
                if (x > mx) mx = x;
            }
            double sum = 0;
            for (int64_t j = 0; j < n_kv; j++) sum += s[j] == -INFINITY ? 0 : exp(s[j] - mx);
            if (sinks) sum += exp(tget(sinks, h, 0, 0, 0) - mx);
            for (int64_t d = 0; d < Dv; d++) {
                double acc = 0;
                for (int64_t j = 0; j < n_kv; j++) acc += s[j] == -INFINITY ? 0 : exp(s[j] - mx) * tget(v, d, j, h / group, i3);
                ref[lin(out, d, h, iq, i3)] = mx == -INFINITY ? 0 : acc / sum;
            }
        }
    }
    free(s);
}

static void test_flash_attn(void) {
    for (int variant = 0; variant < 7; variant++) {
        // 0 plain f32; 1 f16 K/V + causal f16 mask; 2 GQA + softcap; 3 ALiBi + mask broadcast per head;
        // 4 sinks + fully masked row; 5 non-contiguous q (a permute) and Dv != D; 6 a KV cache whose
        // last slots, hidden from every query, hold NaN (unwritten memory)
        struct tcase tc = { .name = "flash_attn_ext", .match = CLOSE, .tol = variant == 1 ? 1e-6 : 1e-9 };
        tc.ctx = new_ctx(32);
        const int64_t D = variant == 5 ? 24 : 40, Dv = variant == 5 ? 17 : D, n_kv = variant == 0 ? 67 : 33, n_q = 7;
        const int64_t n_head = variant == 2 ? 6 : 4, n_head_kv = variant == 2 ? 2 : n_head, ne3 = variant == 3 ? 2 : 1;
        const enum ggml_type kvt = variant == 1 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        struct ggml_tensor * q;
        if (variant == 5) {
            struct ggml_tensor * qp = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, D, n_head, n_q, ne3);
            fill(qp, -1, 1);
            tc_input(&tc, qp);
            q = ggml_permute(tc.ctx, qp, 0, 2, 1, 3);
        } else {
            q = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, D, n_q, n_head, ne3);
            fill(q, -1, 1);
            tc_input(&tc, q);
        }
        struct ggml_tensor * k = ggml_new_tensor_4d(tc.ctx, kvt, D, n_kv, n_head_kv, ne3);
        struct ggml_tensor * v = ggml_new_tensor_4d(tc.ctx, kvt, Dv, n_kv, n_head_kv, ne3);
        fill(k, -1, 1);
        fill(v, -2, 2);
        tc_input(&tc, k);
        tc_input(&tc, v);
        struct ggml_tensor * mask = NULL, * sinks = NULL;
        if (variant == 6) {
            FOR_EACH(k, i0, i1, i2, i3) { if (i1 >= n_kv - 5) tset(k, i0, i1, i2, i3, NAN); }
            FOR_EACH(v, i0, i1, i2, i3) { if (i1 >= n_kv - 5) tset(v, i0, i1, i2, i3, NAN); }
        }
        if (variant == 1 || variant == 3 || variant == 4 || variant == 6) {
            mask = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F16, n_kv, n_q + 1, variant == 3 ? n_head : 1, 1);
            fill(mask, -1, 1);
            FOR_EACH(mask, i0, i1, i2, i3) {
                if ((variant == 1 && i0 > n_kv - n_q + i1) || (variant == 4 && i1 == 2) ||
                    (variant == 6 && (i0 >= n_kv - 5 || i0 > n_kv - 5 - n_q + i1))) {
                    tset(mask, i0, i1, i2, i3, -INFINITY);
                }
            }
            tc_input(&tc, mask);
        }
        if (variant == 4) {
            sinks = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, n_head);
            fill(sinks, -1, 3);
        }
        const float scale = 1.0f / sqrtf((float) D), max_bias = variant == 3 ? 8.0f : 0.0f, softcap = variant == 2 ? 2.0f : 0.0f;
        struct ggml_tensor * out = ggml_flash_attn_ext(tc.ctx, q, k, v, mask, scale, max_bias, softcap);
        CHECK(out != NULL && out->ne[0] == Dv && out->ne[1] == n_head && out->ne[2] == n_q && out->ne[3] == ne3);
        if (sinks) {
            ggml_flash_attn_ext_add_sinks(out, sinks);
        }
        ggml_flash_attn_ext_set_prec(out, GGML_PREC_F32);
        CHECK(ggml_flash_attn_ext_get_prec(out) == GGML_PREC_F32);
        double * ref = tc_ref(&tc, out);
        ref_flash_attn(q, k, v, mask, sinks, scale, max_bias, softcap, out, ref);
        tc_run(&tc);
        tc_free(&tc);
    }
    struct ggml_context * ctx = new_ctx(1);
    struct ggml_tensor * q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 8, 3, 3);
    struct ggml_tensor * k = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, 8, 5, 2);
    log_capture_begin();
    CHECK(ggml_flash_attn_ext(ctx, q, k, k, NULL, 1.0f, 0.0f, 0.0f) == NULL); // 3 heads over 2
    log_capture_end();
    CHECK(log_captured("multiple of the heads of k"));
    ggml_free(ctx);
}

// Flash attention where whole tiles of keys are hidden: the kernel skips a tile of mr keys that
// the mask hides from every query of a block of nr, which has to give exactly what computing it
// gives. Odd D, Dv, key and query counts leave partial tiles and blocks; the head counts make
// threads take whole heads or deal out query blocks.
static void test_flash_attn_tiles(void) {
    for (int variant = 0; variant < 6; variant++) {
        // 0 an irregular mask: hidden tiles between visible ones, a key hidden from half the
        //   queries, a fully hidden row, the last partial tile partly hidden; f32 K/V
        // 1 GQA (6 heads over 2) + sinks + a sliding window per head (mask per head), f16 K/V
        // 2 ALiBi + softcap, 5 heads, bf16 K as a permuted view, f16 V, f32 causal mask
        // 3 non-finite K/V rows: a NaN key seen by one query only, a NaN key seen by the first
        //   five, an infinite V hidden from all
        // 4 one query over 200 keys (decoding), 8 heads over 2, no mask
        // 5 1100 keys (more than 64 groups of 16: several words of visibility bits per mask
        //   row), 2 batches with a mask each (mask ne[3] = 2), hiding different ranges
        struct tcase tc = { .name = "flash_attn_ext (tiles)", .match = CLOSE, .tol = variant == 0 || variant == 3 ? 1e-9 : 1e-7 };
        tc.ctx = new_ctx(32);
        static const int64_t Ds[] = { 37, 64, 48, 16, 40, 8 }, Dvs[] = { 23, 64, 48, 16, 40, 8 };
        static const int64_t n_kvs[] = { 150, 97, 70, 80, 200, 1100 }, n_qs[] = { 29, 40, 33, 9, 1, 5 };
        static const int64_t heads[] = { 3, 6, 5, 2, 8, 2 }, kv_heads[] = { 3, 2, 5, 2, 2, 2 };
        const int64_t ne3 = variant == 5 ? 2 : 1;
        const int64_t D = Ds[variant], Dv = Dvs[variant], n_kv = n_kvs[variant], n_q = n_qs[variant];
        const int64_t n_head = heads[variant], n_head_kv = kv_heads[variant];
        const enum ggml_type kt = variant == 1 || variant == 4 ? GGML_TYPE_F16 : variant == 2 ? GGML_TYPE_BF16 : GGML_TYPE_F32;
        const enum ggml_type vt = variant == 1 || variant == 2 || variant == 4 ? GGML_TYPE_F16 : GGML_TYPE_F32;
        struct ggml_tensor * q = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, D, n_q, n_head, ne3);
        fill(q, -1, 1);
        tc_input(&tc, q);
        struct ggml_tensor * k;
        if (variant == 2) {
            struct ggml_tensor * kp = ggml_new_tensor_3d(tc.ctx, kt, D, n_head_kv, n_kv);
            fill(kp, -1, 1);
            tc_input(&tc, kp);
            k = ggml_permute(tc.ctx, kp, 0, 2, 1, 3);
        } else {
            k = ggml_new_tensor_4d(tc.ctx, kt, D, n_kv, n_head_kv, ne3);
            fill(k, -1, 1);
        }
        struct ggml_tensor * v = ggml_new_tensor_4d(tc.ctx, vt, Dv, n_kv, n_head_kv, ne3);
        fill(v, -2, 2);
        if (variant == 3) {
            for (int64_t h = 0; h < n_head_kv; h++) {
                for (int64_t d = 0; d < D; d++) {
                    tset(k, d, 40, h, 0, NAN);
                    tset(k, d, 5, h, 0, d == 3 ? NAN : 0.5);
                }
                for (int64_t d = 0; d < Dv; d++) {
                    tset(v, d, 70, h, 0, INFINITY);
                }
            }
        }
        if (variant != 2) {
            tc_input(&tc, k);
        }
        tc_input(&tc, v);
        struct ggml_tensor * mask = NULL, * sinks = NULL;
        if (variant != 4) {
            mask = ggml_new_tensor_4d(tc.ctx, variant == 2 ? GGML_TYPE_F32 : GGML_TYPE_F16, n_kv, n_q, variant == 1 ? n_head : 1, ne3);
            fill(mask, -1, 1);
            FOR_EACH(mask, i0, i1, i2, i3) {
                bool hide = false;
                if (variant == 0) {
                    hide = (i0 >= 32 && i0 < 64) || (i0 >= 80 && i0 < 96) || (i0 >= 100 && i0 < 141 && i1 < 14) ||
                           i0 == n_kv - 1 || i1 == 20;
                } else if (variant == 1) {
                    const int64_t pos = n_kv - n_q + i1, w = 8 + 20 * i2;
                    hide = i0 > pos || i0 <= pos - w;
                } else if (variant == 2) {
                    hide = i0 > n_kv - n_q + i1;
                } else if (variant == 3) {
                    hide = (i0 == 40 && i1 != 3) || (i0 == 5 && i1 >= 5) || i0 == 70 || i0 > 60 + i1;
                } else {
                    hide = i3 == 0 ? i0 < 600 && !(i0 == 10 && i1 == 2) : i0 >= 1030 || (i0 >= 300 && i0 < 900);
                }
                if (hide) {
                    tset(mask, i0, i1, i2, i3, -INFINITY);
                }
            }
            tc_input(&tc, mask);
        }
        if (variant == 1) {
            sinks = ggml_new_tensor_1d(tc.ctx, GGML_TYPE_F32, n_head);
            fill(sinks, -1, 3);
        }
        const float scale = 1.0f / sqrtf((float) D), max_bias = variant == 2 ? 8.0f : 0.0f, softcap = variant == 2 ? 3.0f : 0.0f;
        struct ggml_tensor * out = ggml_flash_attn_ext(tc.ctx, q, k, v, mask, scale, max_bias, softcap);
        CHECK(out != NULL);
        if (out == NULL) {
            tc_free(&tc);
            continue;
        }
        if (sinks) {
            ggml_flash_attn_ext_add_sinks(out, sinks);
        }
        double * ref = tc_ref(&tc, out);
        ref_flash_attn(q, k, v, mask, sinks, scale, max_bias, softcap, out, ref);
        if (variant == 3) {
            // the reference itself: NaN exactly for the queries that see a NaN key
            for (int64_t iq = 0; iq < n_q; iq++) {
                CHECK(isnan(ref[lin(out, 0, 0, iq, 0)]) == (iq < 5 || iq == 3));
            }
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

static void test_experts(void) {
    // mul_mat_id with f32 and f16 experts, broadcast activations (n_b = 1) and add_id
    for (int variant = 0; variant < 3; variant++) {
        struct tcase tc = { .name = "mul_mat_id", .match = CLOSE, .tol = variant == 1 ? 1e-6 : 1e-9 };
        tc.ctx = new_ctx(16);
        const int64_t k = 67, m = 130, n_expert = 5, n_used = 3, n_tok = 4, n_b = variant == 2 ? 1 : n_used;
        struct ggml_tensor * as = ggml_new_tensor_3d(tc.ctx, variant == 1 ? GGML_TYPE_F16 : GGML_TYPE_F32, k, m, n_expert);
        struct ggml_tensor * b = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, k, n_b, n_tok);
        struct ggml_tensor * ids = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_I32, n_used, n_tok);
        fill(as, -1, 1);
        fill(b, -1, 1);
        FOR_EACH(ids, i0, i1, i2, i3) tset(ids, i0, i1, 0, 0, (double) ((i0 * 2 + i1 * 3) % n_expert));
        tc_input(&tc, as);
        struct ggml_tensor * out = ggml_mul_mat_id(tc.ctx, as, b, ids);
        CHECK(out != NULL && out->ne[0] == m && out->ne[1] == n_used && out->ne[2] == n_tok);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            int64_t e = (int64_t) tget(ids, i1, i2, 0, 0);
            double acc = 0;
            for (int64_t c = 0; c < k; c++) acc += tget(as, c, i0, e, 0) * tget(b, c, i1 % n_b, i2, 0);
            ref[lin(out, i0, i1, i2, i3)] = acc;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        struct tcase tc = { .name = "add_id", .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 19, 3, 5);
        struct ggml_tensor * b = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 19, 4);
        struct ggml_tensor * ids = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_I32, 3, 5);
        fill(a, -1, 1);
        fill(b, -1, 1);
        FOR_EACH(ids, i0, i1, i2, i3) tset(ids, i0, i1, 0, 0, (double) ((i0 + 3 * i1) % 4));
        tc_input(&tc, a);
        struct ggml_tensor * out = ggml_add_id(tc.ctx, a, b, ids);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) {
            ref[lin(out, i0, i1, i2, i3)] = (float) ((float) tget(a, i0, i1, i2, 0) + (float) tget(b, i0, (int64_t) tget(ids, i1, i2, 0, 0), 0, 0));
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    // argsort both ways (ties keep their order), top_k and argsort_top_k
    for (int variant = 0; variant < 3; variant++) {
        struct tcase tc = { .name = variant == 2 ? "top_k" : "argsort", .match = EXACT };
        tc.ctx = new_ctx(4);
        const int64_t n = variant == 0 ? 1000 : 37;
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, n, 3, 2);
        FOR_EACH(a, i0, i1, i2, i3) tset(a, i0, i1, i2, i3, (double) (rng_u32() % 50)); // many ties
        tc_input(&tc, a);
        const int kk = 5;
        struct ggml_tensor * out = variant == 2 ? ggml_top_k(tc.ctx, a, kk)
                                                : ggml_argsort(tc.ctx, a, variant == 0 ? GGML_SORT_ORDER_ASC : GGML_SORT_ORDER_DESC);
        double * ref = tc_ref(&tc, out);
        const bool desc = variant != 0;
        for (int64_t i2 = 0; i2 < 2; i2++)
        for (int64_t i1 = 0; i1 < 3; i1++) {
            // stable selection sort written here
            int32_t idx[1000];
            for (int64_t i = 0; i < n; i++) idx[i] = (int32_t) i;
            for (int64_t i = 1; i < n; i++) {
                int32_t x = idx[i];
                int64_t j = i;
                while (j > 0 && (desc ? tget(a, idx[j - 1], i1, i2, 0) < tget(a, x, i1, i2, 0)
                                      : tget(a, idx[j - 1], i1, i2, 0) > tget(a, x, i1, i2, 0))) {
                    idx[j] = idx[j - 1];
                    j--;
                }
                idx[j] = x;
            }
            for (int64_t i = 0; i < out->ne[0]; i++) ref[lin(out, i, i1, i2, 0)] = idx[i];
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

static double ref_misc(enum ggml_op op, double x, int64_t i0, int64_t i1, const float * p) {
    switch (op) {
        case GGML_OP_SIN:        return sin(x);
        case GGML_OP_COS:        return cos(x);
        case GGML_OP_CLAMP:      return fmin(fmax(x, p[0]), p[1]);
        case GGML_OP_LEAKY_RELU: return x > 0 ? x : p[0] * x;
        case GGML_OP_FILL:       return p[1];
        case GGML_OP_TRI:        return i0 <= i1 ? x : 0; // LOWER_DIAG
        default: {               // xIELU with the constructor's softplus
            double an = 0.2 + log1p(exp(p[0])), ap = log1p(exp(p[1])), beta = 0.2, eps = -1e-6;
            return x > 0 ? ap * x * x + beta * x : (expm1(fmin(x, eps)) - x) * an + beta * x;
        }
    }
}

static void test_misc_elementwise(void) {
    const enum ggml_op ops[] = { GGML_OP_SIN, GGML_OP_COS, GGML_OP_CLAMP, GGML_OP_LEAKY_RELU, GGML_OP_FILL, GGML_OP_TRI, GGML_OP_UNARY };
    for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
        struct tcase tc = { .name = ggml_op_name(ops[o]), .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 17, 17, 3);
        fill(a, -4, 4);
        tc_input(&tc, a);
        float p[2] = { -1.5f, 2.5f };
        struct ggml_tensor * out;
        switch (ops[o]) {
            case GGML_OP_SIN:        out = ggml_sin(tc.ctx, a); break;
            case GGML_OP_COS:        out = ggml_cos_inplace(tc.ctx, a); break;
            case GGML_OP_CLAMP:      out = ggml_clamp(tc.ctx, a, p[0], p[1]); break;
            case GGML_OP_LEAKY_RELU: p[0] = 0.1f; out = ggml_leaky_relu(tc.ctx, a, p[0], false); break;
            case GGML_OP_FILL:       out = ggml_fill(tc.ctx, a, p[1]); break;
            case GGML_OP_TRI:        out = ggml_tri(tc.ctx, a, GGML_TRI_TYPE_LOWER_DIAG); break;
            default:                 p[0] = 0.8f; p[1] = 0.5f; out = ggml_xielu(tc.ctx, a, p[0], p[1], 0.2f, -1e-6f); break;
        }
        double * ref = tc_ref(&tc, out);
        FOR_EACH(out, i0, i1, i2, i3) ref[lin(out, i0, i1, i2, i3)] = (float) ref_misc(ops[o], tget(a, i0, i1, i2, i3), i0, i1, p);
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        struct tcase tc = { .name = "cumsum, l2_norm, diag", .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 13, 1, 3);
        fill(a, -2, 2);
        tc_input(&tc, a);
        // diag(l2_norm(cumsum(a))): three kernels in one graph
        struct ggml_tensor * cs = ggml_cumsum(tc.ctx, a);
        struct ggml_tensor * out = ggml_diag(tc.ctx, ggml_l2_norm(tc.ctx, cs, 1e-6f));
        double * ref = tc_ref(&tc, out);
        for (int64_t i2 = 0; i2 < 3; i2++) {
            double c[13], s = 0, n2 = 0;
            for (int64_t i = 0; i < 13; i++) { s += tget(a, i, 0, i2, 0); c[i] = s; n2 += s * s; }
            for (int64_t i1 = 0; i1 < 13; i1++)
                for (int64_t i0 = 0; i0 < 13; i0++) ref[lin(out, i0, i1, i2, 0)] = i0 == i1 ? c[i0] / sqrt(n2) : 0;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        struct tcase tc = { .name = "group_norm", .match = CLOSE, .tol = 1e-10 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 5, 3, 7, 2);
        fill(a, -3, 5);
        tc_input(&tc, a);
        struct ggml_tensor * out = ggml_group_norm(tc.ctx, a, 3, 1e-5f); // groups of 3, 3 and 1 channels
        double * ref = tc_ref(&tc, out);
        for (int64_t i3 = 0; i3 < 2; i3++)
        for (int64_t g = 0; g < 3; g++) {
            int64_t c0 = g * 3, c1 = c0 + 3 < 7 ? c0 + 3 : 7;
            double s = 0, n = 0, var = 0;
            for (int64_t c = c0; c < c1; c++) for (int64_t i1 = 0; i1 < 3; i1++) for (int64_t i0 = 0; i0 < 5; i0++) { s += tget(a, i0, i1, c, i3); n++; }
            double mean = s / n;
            for (int64_t c = c0; c < c1; c++) for (int64_t i1 = 0; i1 < 3; i1++) for (int64_t i0 = 0; i0 < 5; i0++) var += pow(tget(a, i0, i1, c, i3) - mean, 2);
            for (int64_t c = c0; c < c1; c++) for (int64_t i1 = 0; i1 < 3; i1++) for (int64_t i0 = 0; i0 < 5; i0++)
                ref[lin(out, i0, i1, c, i3)] = (tget(a, i0, i1, c, i3) - mean) / sqrt(var / n + 1e-5);
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        struct tcase tc = { .name = "arange, timestep_embedding", .match = CLOSE, .tol = 1e-10 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * r = ggml_arange(tc.ctx, 2.0f, 9.5f, 1.5f); // 2, 3.5, ..., 8
        CHECK(r != NULL && r->ne[0] == 5);
        struct ggml_tensor * out = ggml_timestep_embedding(tc.ctx, r, 15, 10000);
        double * ref = tc_ref(&tc, out);
        for (int64_t i = 0; i < 5; i++) {
            double t = 2.0 + 1.5 * i;
            for (int j = 0; j < 7; j++) {
                double f = exp(-log(10000.0) * j / 7.0);
                ref[lin(out, j, i, 0, 0)] = cos(t * f);
                ref[lin(out, j + 7, i, 0, 0)] = sin(t * f);
            }
            ref[lin(out, 14, i, 0, 0)] = 0;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        struct tcase tc = { .name = "count_equal", .match = EXACT };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_I32, 31, 3);
        struct ggml_tensor * b = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_I32, 31, 3);
        int64_t same = 0;
        FOR_EACH(a, i0, i1, i2, i3) {
            int x = (int) (rng_u32() % 3), y = (int) (rng_u32() % 3);
            tset(a, i0, i1, 0, 0, x);
            tset(b, i0, i1, 0, 0, y);
            same += x == y;
        }
        struct ggml_tensor * out = ggml_count_equal(tc.ctx, a, b);
        CHECK(out != NULL && out->type == GGML_TYPE_I64);
        tc_ref(&tc, out)[0] = (double) same;
        tc_run(&tc);
        tc_free(&tc);
    }
}

//
// Convolution, image and custom ops
//

static void test_conv_image(void) {
    {
        // transposed 1D and 2D convolutions, strides 1..3, f16 kernels, against the scatter definition
        for (int s = 1; s <= 3; s++) {
            struct tcase tc = { .name = "conv_transpose_1d/2d", .match = CLOSE, .tol = 1e-10 };
            tc.ctx = new_ctx(8);
            struct ggml_tensor * k1 = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F16, 3, 4, 5);  // [K, Cout, Cin]
            struct ggml_tensor * b1 = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 7, 5);     // [L, Cin]
            struct ggml_tensor * k2 = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 3, 2, 2, 3); // [Kw, Kh, Cout, Cin]
            struct ggml_tensor * b2 = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 5, 4, 3, 2); // [W, H, Cin, N]
            fill(k1, -1, 1); fill(b1, -1, 1); fill(k2, -1, 1); fill(b2, -1, 1);
            struct ggml_tensor * o1 = ggml_conv_transpose_1d(tc.ctx, k1, b1, s, 0, 1);
            struct ggml_tensor * o2 = ggml_conv_transpose_2d_p0(tc.ctx, k2, b2, s);
            CHECK(o1 && o1->ne[0] == 6 * s + 3 && o1->ne[1] == 4);
            CHECK(o2 && o2->ne[0] == 4 * s + 3 && o2->ne[1] == 3 * s + 2 && o2->ne[2] == 2 && o2->ne[3] == 2);
            // one output holding both: o1 flattened, then o2 flattened
            struct ggml_tensor * out = ggml_concat(tc.ctx, ggml_reshape_1d(tc.ctx, o1, ggml_nelements(o1)),
                                                   ggml_reshape_1d(tc.ctx, o2, ggml_nelements(o2)), 0);
            double * ref = tc_ref(&tc, out);
            for (int64_t i = 0; i < 7; i++) for (int64_t kk = 0; kk < 3; kk++) for (int64_t oc = 0; oc < 4; oc++) for (int64_t ic = 0; ic < 5; ic++)
                ref[(i * s + kk) + oc * o1->ne[0]] += tget(k1, kk, oc, ic, 0) * tget(b1, i, ic, 0, 0);
            double * r2 = ref + ggml_nelements(o1);
            FOR_EACH(b2, x, y, ic, n) for (int64_t ky = 0; ky < 2; ky++) for (int64_t kx = 0; kx < 3; kx++) for (int64_t oc = 0; oc < 2; oc++)
                r2[lin(o2, x * s + kx, y * s + ky, oc, n)] += tget(k2, kx, ky, oc, ic) * tget(b2, x, y, ic, n);
            tc_run(&tc);
            tc_free(&tc);
        }
    }
    {
        // pool_1d with padding, pad_ext, pad_reflect_1d, roll on a permuted view, repeat_4d
        struct tcase tc = { .name = "pool_1d, pads, roll, repeat_4d", .match = EXACT };
        tc.ctx = new_ctx(8);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 11, 3, 2);
        fill(a, -4, 4);
        tc_input(&tc, a);
        struct ggml_tensor * pmax = ggml_pool_1d(tc.ctx, a, GGML_OP_POOL_MAX, 3, 2, 1);   // 6 outputs
        struct ggml_tensor * pext = ggml_pad_ext(tc.ctx, a, 1, 2, 0, 1, 2, 0, 0, 0);       // [14, 4, 4]
        struct ggml_tensor * prefl = ggml_pad_reflect_1d(tc.ctx, a, 3, 4);                   // [18, 3, 2]
        struct ggml_tensor * rl = ggml_roll(tc.ctx, ggml_permute(tc.ctx, a, 1, 0, 2, 3), 2, -1, 1, 0); // [3, 11, 2]
        struct ggml_tensor * rep = ggml_repeat_4d(tc.ctx, a, 11, 6, 4, 2);
        CHECK(pmax && pmax->ne[0] == 6 && pext && pext->ne[0] == 14 && pext->ne[1] == 4 && pext->ne[2] == 4);
        struct ggml_tensor * parts[5] = { pmax, pext, prefl, rl, rep };
        struct ggml_tensor * out = NULL;
        for (int i = 0; i < 5; i++) {
            struct ggml_tensor * flat = ggml_cont_1d(tc.ctx, parts[i], ggml_nelements(parts[i]));
            out = out ? ggml_concat(tc.ctx, out, flat, 0) : flat;
        }
        double * ref = tc_ref(&tc, out);
        int64_t at = 0;
        FOR_EACH(pmax, o, i1, i2, i3) {
            double m = -INFINITY;
            for (int64_t kk = 0; kk < 3; kk++) {
                int64_t i = o * 2 + kk - 1;
                if (i >= 0 && i < 11) m = fmax(m, tget(a, i, i1, i2, 0));
            }
            ref[at++] = m;
        }
        FOR_EACH(pext, i0, i1, i2, i3) {
            int64_t j0 = i0 - 1, j1 = i1, j2 = i2 - 2;
            ref[at++] = j0 >= 0 && j0 < 11 && j1 < 3 && j2 >= 0 && j2 < 2 ? tget(a, j0, j1, j2, 0) : 0.0;
        }
        FOR_EACH(prefl, i0, i1, i2, i3) {
            int64_t j = i0 - 3;
            j = j < 0 ? -j : j >= 11 ? 20 - j : j;
            ref[at++] = tget(a, j, i1, i2, 0);
        }
        FOR_EACH(rl, i0, i1, i2, i3) {
            // rl[i0, i1, i2] = p[(i0 - 2) mod 3, (i1 + 1) mod 11, (i2 - 1) mod 2] with p[x, y, z] = a[y, x, z]
            int64_t x = (i0 - 2 + 3) % 3, y = (i1 + 1) % 11, z = (i2 + 1) % 2;
            ref[at++] = tget(a, y, x, z, 0);
        }
        FOR_EACH(rep, i0, i1, i2, i3) ref[at++] = tget(a, i0 % 11, i1 % 3, i2 % 2, 0);
        tc_run(&tc);
        tc_free(&tc);
    }
    for (int mode = 0; mode < 6; mode++) {
        // interpolate: nearest, bilinear, bicubic, each plain and with corners aligned, up and down
        const uint32_t m = (uint32_t) (mode % 3) | (mode >= 3 ? GGML_SCALE_FLAG_ALIGN_CORNERS : 0);
        struct tcase tc = { .name = "interpolate", .match = CLOSE, .tol = 1e-10 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 5, 4, 2, 1);
        fill(a, -2, 2);
        tc_input(&tc, a);
        const int64_t W = mode & 1 ? 3 : 11, H = mode & 1 ? 7 : 2;
        struct ggml_tensor * out = ggml_interpolate(tc.ctx, a, W, H, 2, 1, m);
        double * ref = tc_ref(&tc, out);
        const int kind = mode % 3;
        const bool corners = mode >= 3; // nearest too: ggml scales its index by the aligned factor
        double sx = (double) W / 5, sy = (double) H / 4, off = 0.5;
        if (corners) {
            off = 0;
            sx = W > 1 ? (double) (W - 1) / 4 : sx;
            sy = H > 1 ? (double) (H - 1) / 3 : sy;
        }
        FOR_EACH(out, i0, i1, i2, i3) {
            double v;
            if (kind == 0) {
                v = tget(a, (int64_t) (i0 / sx), (int64_t) (i1 / sy), i2, 0);
            } else {
                double x = (i0 + off) / sx - off, y = (i1 + off) / sy - off;
                int64_t x0 = (int64_t) floor(x), y0 = (int64_t) floor(y);
                double dx = x - x0, dy = y - y0;
                #define CL(i, n) ((i) < 0 ? 0 : (i) >= (n) ? (n) - 1 : (i))
                if (kind == 1) {
                    dx = fmin(fmax(dx, 0), 1); dy = fmin(fmax(dy, 0), 1);
                    v = tget(a, CL(x0, 5), CL(y0, 4), i2, 0) * (1 - dx) * (1 - dy) + tget(a, CL(x0 + 1, 5), CL(y0, 4), i2, 0) * dx * (1 - dy) +
                        tget(a, CL(x0, 5), CL(y0 + 1, 4), i2, 0) * (1 - dx) * dy + tget(a, CL(x0 + 1, 5), CL(y0 + 1, 4), i2, 0) * dx * dy;
                } else {
                    // Keys' cubic convolution kernel with a = -0.75
                    double A = -0.75, w[2][4], t[2] = { dx, dy };
                    for (int d = 0; d < 2; d++) {
                        for (int j = 0; j < 4; j++) {
                            double u = fabs(t[d] - (j - 1));
                            w[d][j] = u <= 1 ? ((A + 2) * u - (A + 3)) * u * u + 1 : ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
                        }
                    }
                    v = 0;
                    for (int jy = 0; jy < 4; jy++) for (int jx = 0; jx < 4; jx++)
                        v += w[1][jy] * w[0][jx] * tget(a, CL(x0 - 1 + jx, 5), CL(y0 - 1 + jy, 4), i2, 0);
                }
                #undef CL
            }
            ref[lin(out, i0, i1, i2, i3)] = v;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    for (int variant = 0; variant < 4; variant++) {
        // antialiased bilinear, down by non-integer and integer factors, up, and corners aligned:
        // per axis, output i blends input j with tent((j + off - c) / support), c = (i + off) / sf the
        // output pixel's centre in input pixels and support = max(1, 1/sf), normalised over the image
        static const int64_t sizes[4][4] = { { 11, 9, 4, 3 }, { 12, 8, 6, 4 }, { 5, 4, 8, 7 }, { 11, 9, 4, 3 } };
        const int64_t IW = sizes[variant][0], IH = sizes[variant][1], W = sizes[variant][2], H = sizes[variant][3];
        const bool corners = variant == 3;
        struct tcase tc = { .name = "interpolate antialias", .match = CLOSE, .tol = 1e-10 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, IW, IH, 2, 1);
        fill(a, -2, 2);
        tc_input(&tc, a);
        const uint32_t m = GGML_SCALE_MODE_BILINEAR | GGML_SCALE_FLAG_ANTIALIAS | (corners ? GGML_SCALE_FLAG_ALIGN_CORNERS : 0);
        struct ggml_tensor * out = ggml_interpolate(tc.ctx, a, W, H, 2, 1, m);
        double * ref = tc_ref(&tc, out);
        const double off = corners ? 0.0 : 0.5;
        const double sf[2] = { corners ? (double) (W - 1) / (IW - 1) : (double) W / IW, corners ? (double) (H - 1) / (IH - 1) : (double) H / IH };
        FOR_EACH(out, i0, i1, i2, i3) {
            double wsum[2] = { 0, 0 }, acc = 0;
            const int64_t io[2] = { i0, i1 }, in[2] = { IW, IH };
            double w[2][32];
            for (int d = 0; d < 2; d++) {
                const double c = (io[d] + off) / sf[d], support = fmax(1.0, 1.0 / sf[d]);
                // ggml's window: input pixels trunc(c - support + off) <= j < trunc(c + support + off),
                // which with corners aligned (off 0) leaves out the tent's last sliver
                const double lo = trunc(c - support + off), hi = trunc(c + support + off);
                for (int64_t j = 0; j < in[d]; j++) {
                    w[d][j] = j >= lo && j < hi ? fmax(0.0, 1.0 - fabs((j + off - c) / support)) : 0.0;
                    wsum[d] += w[d][j];
                }
            }
            for (int64_t y = 0; y < IH; y++) for (int64_t x = 0; x < IW; x++) acc += w[0][x] * w[1][y] * tget(a, x, y, i2, 0);
            ref[lin(out, i0, i1, i2, i3)] = acc / (wsum[0] * wsum[1]);
        }
        tc.tol = 1e-9;
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        // direct 2D convolutions (plain and depthwise) with stride, padding and dilation, on a permuted input
        struct tcase tc = { .name = "conv_2d_direct, conv_2d_dw_direct", .match = CLOSE, .tol = 1e-10 };
        tc.ctx = new_ctx(8);
        struct ggml_tensor * k = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F16, 3, 2, 3, 4);   // [KW, KH, IC, OC]
        struct ggml_tensor * kd = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 3, 3, 1, 3);  // [KW, KH, 1, C]
        struct ggml_tensor * xp = ggml_new_tensor_4d(tc.ctx, GGML_TYPE_F32, 3, 9, 7, 2);  // [C, W, H, N]
        fill(k, -1, 1); fill(kd, -1, 1); fill(xp, -1, 1);
        struct ggml_tensor * x = ggml_permute(tc.ctx, xp, 2, 0, 1, 3);                      // [W, H, C, N], strided
        struct ggml_tensor * o1 = ggml_conv_2d_direct(tc.ctx, k, x, 2, 1, 1, 0, 1, 2);
        struct ggml_tensor * o2 = ggml_conv_2d_dw_direct(tc.ctx, kd, x, 1, 2, 2, 1, 2, 1);
        CHECK(o1 && o2 && o1->ne[2] == 4 && o2->ne[2] == 3);
        struct ggml_tensor * out = ggml_concat(tc.ctx, ggml_reshape_1d(tc.ctx, o1, ggml_nelements(o1)),
                                               ggml_reshape_1d(tc.ctx, o2, ggml_nelements(o2)), 0);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(o1, ox, oy, oc, n) {
            double acc = 0;
            for (int64_t ic = 0; ic < 3; ic++) for (int64_t ky = 0; ky < 2; ky++) for (int64_t kx = 0; kx < 3; kx++) {
                int64_t xx = ox * 2 + kx - 1, yy = oy + ky * 2;
                if (xx >= 0 && xx < 9 && yy >= 0 && yy < 7) acc += tget(k, kx, ky, ic, oc) * tget(xp, ic, xx, yy, n);
            }
            ref[lin(o1, ox, oy, oc, n)] = acc;
        }
        double * r2 = ref + ggml_nelements(o1);
        FOR_EACH(o2, ox, oy, c, n) {
            double acc = 0;
            for (int64_t ky = 0; ky < 3; ky++) for (int64_t kx = 0; kx < 3; kx++) {
                int64_t xx = ox + kx * 2 - 2, yy = oy * 2 + ky - 1;
                if (xx >= 0 && xx < 9 && yy >= 0 && yy < 7) acc += tget(kd, kx, ky, 0, c) * tget(xp, c, xx, yy, n);
            }
            r2[lin(o2, ox, oy, c, n)] = acc;
        }
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        // acc and set into a strided view of a, and the outer product
        struct tcase tc = { .name = "acc, set, out_prod", .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * a = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 9, 6, 2);
        struct ggml_tensor * b = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 4, 3);
        struct ggml_tensor * p = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, 5, 7);
        struct ggml_tensor * q = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 3, 7, 2);
        fill(a, -1, 1); fill(b, -1, 1); fill(p, -1, 1); fill(q, -1, 1);
        tc_input(&tc, a);
        // b lands on rows 1, 3, 5 of the second matrix, from column 2
        const size_t off = a->nb[2] + a->nb[1] + 2 * sizeof(float);
        struct ggml_tensor * ac = ggml_acc(tc.ctx, a, b, 2 * a->nb[1], a->nb[2], a->nb[3], off);
        struct ggml_tensor * st = ggml_set_inplace(tc.ctx, a, b, 2 * a->nb[1], a->nb[2], a->nb[3], off);
        struct ggml_tensor * op = ggml_out_prod(tc.ctx, p, q);
        CHECK(op && op->ne[0] == 5 && op->ne[1] == 3 && op->ne[2] == 2);
        struct ggml_tensor * out = ggml_concat(tc.ctx, ggml_concat(tc.ctx, ggml_reshape_1d(tc.ctx, ac, 108), ggml_reshape_1d(tc.ctx, st, 108), 0),
                                               ggml_reshape_1d(tc.ctx, op, 30), 0);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(a, i0, i1, i2, i3) {
            const bool in = i2 == 1 && i1 % 2 == 1 && i0 >= 2 && i0 < 6;
            const double bv = in ? tget(b, i0 - 2, i1 / 2, 0, 0) : 0.0;
            ref[lin(a, i0, i1, i2, 0)] = (float) (tget(a, i0, i1, i2, 0) + bv);
            ref[108 + lin(a, i0, i1, i2, 0)] = in ? bv : tget(a, i0, i1, i2, 0);
        }
        FOR_EACH(op, i0, i1, i2, i3) {
            double s = 0;
            for (int64_t k = 0; k < 7; k++) s += tget(p, i0, k, 0, 0) * tget(q, i1, k, i2, 0);
            ref[216 + lin(op, i0, i1, i2, 0)] = s;
        }
        tc_run(&tc);
        tc_free(&tc);
        struct ggml_context * ctx = new_ctx(1);
        struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 4);
        struct ggml_tensor * y = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 2);
        log_capture_begin();
        CHECK(ggml_acc(ctx, x, y, x->nb[1], x->nb[2], x->nb[3], 3 * x->nb[1]) == NULL); // row 3 + 1 is past the end
        log_capture_end();
        CHECK(log_captured("reaches outside a"));
        ggml_free(ctx);
    }
    {
        // SAM's windows: 7 x 5 pixels into 3 x 3 windows (3 x 2 of them, zero-padded), and back
        struct tcase tc = { .name = "win_part, win_unpart", .match = EXACT };
        tc.ctx = new_ctx(4);
        struct ggml_tensor * img = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, 4, 7, 5);
        fill(img, -1, 1);
        tc_input(&tc, img);
        struct ggml_tensor * wp = ggml_win_part(tc.ctx, img, 3);
        CHECK(wp && wp->ne[1] == 3 && wp->ne[2] == 3 && wp->ne[3] == 6);
        struct ggml_tensor * back = ggml_win_unpart(tc.ctx, wp, 7, 5, 3);
        struct ggml_tensor * out = ggml_concat(tc.ctx, ggml_reshape_1d(tc.ctx, wp, ggml_nelements(wp)),
                                               ggml_reshape_1d(tc.ctx, back, ggml_nelements(back)), 0);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(wp, c, i1, i2, n) {
            int64_t x = (n % 3) * 3 + i1, y = (n / 3) * 3 + i2;
            ref[lin(wp, c, i1, i2, n)] = x < 7 && y < 5 ? tget(img, c, x, y, 0) : 0.0;
        }
        FOR_EACH(img, c, x, y, i3) ref[ggml_nelements(wp) + lin(img, c, x, y, 0)] = tget(img, c, x, y, 0);
        tc_run(&tc);
        tc_free(&tc);
    }
    {
        // SAM's relative positions
        struct tcase tc = { .name = "get_rel_pos, add_rel_pos", .match = CLOSE, .tol = 1e-12 };
        tc.ctx = new_ctx(4);
        const int64_t w = 3, C = 4;
        struct ggml_tensor * rp = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, C, 2 * w - 1);
        struct ggml_tensor * a = ggml_new_tensor_2d(tc.ctx, GGML_TYPE_F32, w * w, w * w * 2);
        struct ggml_tensor * pw = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, w, w, w * 2);
        struct ggml_tensor * ph = ggml_new_tensor_3d(tc.ctx, GGML_TYPE_F32, w, w, w * 2);
        fill(rp, -1, 1); fill(a, -1, 1); fill(pw, -1, 1); fill(ph, -1, 1);
        tc_input(&tc, a);
        struct ggml_tensor * g = ggml_get_rel_pos(tc.ctx, rp, (int) w, (int) w);
        struct ggml_tensor * r = ggml_add_rel_pos_inplace(tc.ctx, a, pw, ph);
        struct ggml_tensor * out = ggml_concat(tc.ctx, ggml_reshape_1d(tc.ctx, g, ggml_nelements(g)), ggml_reshape_1d(tc.ctx, r, ggml_nelements(r)), 0);
        double * ref = tc_ref(&tc, out);
        FOR_EACH(g, i0, i1, i2, i3) ref[lin(g, i0, i1, i2, 0)] = tget(rp, i0, (w - i1 - 1) + i2, 0, 0);
        double * rr = ref + ggml_nelements(g);
        // a viewed as [kw, kh, q] per (q = qh*w + qw): adds ph[kh] along rows and pw[kw] down columns
        FOR_EACH(a, k, q, z, i3) {
            int64_t kw = k % w, kh = k / w;
            rr[lin(a, k, q, z, 0)] = tget(a, k, q, z, 0) + tget(ph, kh, q % w, q / w, 0) + tget(pw, kw, q % w, q / w, 0);
        }
        tc_run(&tc);
        tc_free(&tc);
    }
}

static atomic_int custom_calls;

static void custom_scale(struct ggml_tensor * dst, const struct ggml_tensor * a, const struct ggml_tensor * b, int ith, int nth, void * ud) {
    atomic_fetch_add(&custom_calls, 1);
    const float f = *(const float *) ud;
    int64_t n = ggml_nelements(dst), per = (n + nth - 1) / nth;
    for (int64_t i = ith * per; i < n && i < (ith + 1) * per; i++) {
        ((float *) dst->data)[i] = ((const float *) a->data)[i] * f + ((const float *) b->data)[i];
    }
}

static void custom_iota(struct ggml_tensor * dst, int ith, int nth, void * ud) {
    (void) ud;
    atomic_fetch_add(&custom_calls, 1);
    for (int64_t i = ith; i < ggml_nelements(dst); i += nth) {
        ((int32_t *) dst->data)[i] = (int32_t) (i * 3) + (int32_t) ((const float *) dst->src[0]->data)[i];
    }
}

static void test_custom_ops(void) {
    struct ggml_context * ctx = new_ctx(4);
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 13, 3);
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 13, 3);
    fill(a, -1, 1);
    fill(b, -1, 1);
    float f = 2.5f;
    struct ggml_tensor * m2 = ggml_map_custom2(ctx, a, b, custom_scale, 2, &f);
    struct ggml_tensor * args[1] = { m2 };
    struct ggml_tensor * c4 = ggml_custom_4d(ctx, GGML_TYPE_I32, 13, 3, 1, 1, args, 1, custom_iota, GGML_N_TASKS_MAX, NULL);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c4);
    for (int nth = 1; nth <= 3; nth++) {
        atomic_store(&custom_calls, 0);
        CHECK(ggml_graph_compute_with_ctx(ctx, gf, nth) == GGML_STATUS_SUCCESS);
        // map_custom2 runs on min(2, nth) threads, custom_4d on all of them
        CHECK_EQ_INT(atomic_load(&custom_calls), (nth < 2 ? nth : 2) + nth);
        bool ok = true;
        FOR_EACH(a, i0, i1, i2, i3) {
            float want = (float) tget(a, i0, i1, 0, 0) * f + (float) tget(b, i0, i1, 0, 0);
            ok = ok && tget(m2, i0, i1, 0, 0) == want && tget(c4, i0, i1, 0, 0) == (double) ((int32_t) (lin(a, i0, i1, 0, 0) * 3) + (int32_t) want);
        }
        CHECK(ok);
    }
    log_capture_begin();
    CHECK(ggml_map_custom1(ctx, a, NULL, 1, NULL) == NULL);
    CHECK(ggml_custom_4d(ctx, GGML_TYPE_F32, 1, 1, 1, 1, args, 1, custom_iota, 0, NULL) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 2);
    // ops that have a number but no kernel (backward ops, recurrent ops) are refused by compute
    struct ggml_tensor * x = ggml_dup(ctx, a);
    x->op = GGML_OP_SSM_SCAN;
    struct ggml_cgraph * g2 = ggml_new_graph(ctx);
    ggml_build_forward_expand(g2, x);
    log_capture_begin();
    CHECK(ggml_graph_compute_with_ctx(ctx, g2, 2) != GGML_STATUS_SUCCESS);
    log_capture_end();
    CHECK(log_captured("SSM_SCAN") && log_captured("not supported"));
    ggml_free(ctx);
}

int main(void) {
    ggml_cpu_init();
    test_binary();
    test_unary();
    test_reductions();
    test_movement();
    test_norms();
    test_diag_mask();
    test_soft_max();
    test_rope();
    test_rope_multi();
    test_mul_mat();
    test_conv();
    test_conv_3d();
    test_scratch_poison();
    test_glu();
    test_soft_max_sinks();
    test_flash_attn();
    test_flash_attn_tiles();
    test_experts();
    test_misc_elementwise();
    test_conv_image();
    test_custom_ops();
    // at least the portable path ran for every case
    CHECK(n_isa_runs > 0);
    return check_report("test-cpu-ops");
}
