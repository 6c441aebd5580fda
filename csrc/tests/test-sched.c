// The backend scheduler: graphs split over CPU backends and over a Vulkan device and the CPU
// (weights in device buffers, an op the device lacks falling back to the CPU, input copies,
// parallel copies), user assignments, the eval callback, re-plans on a changed graph, every
// backend's plan verified, and results equal to the same graph run on the CPU alone. The
// Vulkan part is skipped, with the reason, where there is no device.

#include "check.h"
#include "oracles.h"
#include "ggml-cpu.h"
#ifdef GGALLOC_USE_VULKAN
#include "ggml-vulkan.h"
#endif

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { N_IN = 32, N_HID = 64, N_OUT = 16 };

struct model {
    struct ggml_context * wctx; // weights
    ggml_backend_buffer_t wbuf;
    struct ggml_tensor * w1, * w2;
};

static void fill(float * v, int n, uint64_t seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = (float) ((seed >> 40) % 2000) / 2000.0f - 0.5f;
    }
}

// Weights in a WEIGHTS buffer of buft.
static bool model_init(struct model * m, ggml_backend_buffer_type_t buft) {
    struct ggml_init_params ip = { ggml_tensor_overhead() * 4, NULL, true };
    m->wctx = ggml_init(ip);
    m->w1 = ggml_new_tensor_2d(m->wctx, GGML_TYPE_F32, N_IN, N_HID);
    m->w2 = ggml_new_tensor_2d(m->wctx, GGML_TYPE_F32, N_HID, N_OUT);
    ggml_set_name(m->w1, "w1");
    ggml_set_name(m->w2, "w2");
    m->wbuf = ggml_backend_alloc_ctx_tensors_from_buft(m->wctx, buft);
    if (m->wbuf == NULL) return false;
    ggml_backend_buffer_set_usage(m->wbuf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    float w1[N_IN * N_HID], w2[N_HID * N_OUT];
    fill(w1, N_IN * N_HID, 1);
    fill(w2, N_HID * N_OUT, 2);
    ggml_backend_tensor_set(m->w1, w1, 0, sizeof(w1));
    ggml_backend_tensor_set(m->w2, w2, 0, sizeof(w2));
    return true;
}

static void model_free(struct model * m) {
    ggml_backend_buffer_free(m->wbuf);
    ggml_free(m->wctx);
}

struct built {
    struct ggml_context * ctx;
    struct ggml_cgraph * g;
    struct ggml_tensor * x, * h, * s, * y;
};

// y = 0.5 w2 (gelu(w1 x) * sum_rows(gelu(w1 x))), over n_tok tokens; sum_rows is the op the
// Vulkan device lacks.
static struct built build(struct model * m, int n_tok) {
    struct built b;
    struct ggml_init_params ip = { ggml_tensor_overhead() * 64 + ggml_graph_overhead(), NULL, true };
    b.ctx = ggml_init(ip);
    b.x = ggml_new_tensor_2d(b.ctx, GGML_TYPE_F32, N_IN, n_tok);
    ggml_set_name(b.x, "x");
    ggml_set_input(b.x);
    b.h = ggml_gelu(b.ctx, ggml_mul_mat(b.ctx, m->w1, b.x));
    ggml_set_name(b.h, "h");
    b.s = ggml_sum_rows(b.ctx, b.h);
    ggml_set_name(b.s, "s");
    struct ggml_tensor * p = ggml_mul(b.ctx, b.h, b.s);
    b.y = ggml_scale(b.ctx, ggml_mul_mat(b.ctx, m->w2, p), 0.5f);
    ggml_set_name(b.y, "y");
    ggml_set_output(b.y);
    b.g = ggml_new_graph(b.ctx);
    ggml_build_forward_expand(b.g, b.y);
    return b;
}

static void set_x(struct built * b, int n_tok, uint64_t seed) {
    float * x = malloc(sizeof(float) * N_IN * (size_t) n_tok);
    fill(x, N_IN * n_tok, seed);
    ggml_backend_tensor_set(b->x, x, 0, sizeof(float) * N_IN * (size_t) n_tok);
    free(x);
}

// The reference: the same graph on the CPU alone, weights in host memory.
static float * reference(int n_tok, uint64_t seed) {
    struct model m;
    model_init(&m, ggml_backend_cpu_buffer_type());
    struct built b = build(&m, n_tok);
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    CHECK(ggml_gallocr_alloc_graph(galloc, b.g));
    set_x(&b, n_tok, seed);
    CHECK(ggml_backend_graph_compute(cpu, b.g) == GGML_STATUS_SUCCESS);
    float * y = malloc(ggml_nbytes(b.y));
    ggml_backend_tensor_get(b.y, y, 0, ggml_nbytes(b.y));
    ggml_gallocr_free(galloc);
    ggml_backend_free(cpu);
    ggml_free(b.ctx);
    model_free(&m);
    return y;
}

static bool close_to(const float * a, const float * b, int n) {
    bool ok = true;
    for (int i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (!(d <= 1e-4f * (1.0f + fabsf(b[i])))) {
            if (ok) fprintf(stderr, "  element %d: %g, expected %g\n", i, a[i], b[i]);
            ok = false;
        }
    }
    return ok;
}

static bool y_matches(struct built * b, int n_tok, uint64_t seed) {
    float * ref = reference(n_tok, seed);
    float * y = malloc(ggml_nbytes(b->y));
    ggml_backend_tensor_get(b->y, y, 0, ggml_nbytes(b->y));
    bool ok = close_to(y, ref, N_OUT * n_tok);
    free(y);
    free(ref);
    return ok;
}

// Every backend's plan is valid, and the allocator's placements agree with the tensors.
static void sched_verified(ggml_backend_sched_t sched) {
    struct ggml_cgraph * gc = ggalloc_backend_sched_get_graph(sched);
    CHECK(gc != NULL);
    if (gc == NULL) return;
    CHECK_EQ_INT(ggalloc_backend_sched_verify(sched), 0);
    oracle_graph_placed(gc);
    oracle_placements(ggalloc_backend_sched_get_gallocr(sched));
    ggml_gallocr_t galloc = ggalloc_backend_sched_get_gallocr(sched);
    for (int b = 0; b < ggml_backend_sched_get_n_backends(sched); b++) {
        size_t lb = ggalloc_gallocr_lower_bound(galloc, b);
        size_t size = ggml_backend_sched_get_buffer_size(sched, ggml_backend_sched_get_backend(sched, b));
        CHECK(size >= lb);
    }
}

// The CPU as two backends (of one buffer type: no copies between them).
static void test_cpu_pair(void) {
    ggml_backend_t cpu0 = ggml_backend_cpu_init();
    ggml_backend_t cpu1 = ggml_backend_cpu_init();
    ggml_backend_t backends[2] = { cpu0, cpu1 };
    for (int planner = 0; planner < 2; planner++) {
        ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 2, GGML_DEFAULT_GRAPH_SIZE, false, true);
        CHECK(sched != NULL);
        ggalloc_backend_sched_set_planner(sched, (enum ggalloc_planner) planner);
        // BEST with a search budget (the graphs below then compute the same)
        CHECK(!ggalloc_backend_sched_set_time_budget(NULL, 0.05));
        CHECK(!ggalloc_backend_sched_set_time_budget(sched, -1.0));
        CHECK(ggalloc_backend_sched_set_time_budget(sched, planner * 0.05));
        CHECK(ggalloc_gallocr_get_time_budget(ggalloc_backend_sched_get_gallocr(sched)) == planner * 0.05);
        CHECK_EQ_INT(ggml_backend_sched_get_n_backends(sched), 2);
        CHECK(ggml_backend_sched_get_backend(sched, 1) == cpu1);
        CHECK(ggml_backend_sched_get_backend(sched, 2) == NULL);
        CHECK_EQ_INT(ggml_backend_sched_get_n_copies(sched), 1);
        CHECK(ggml_backend_sched_get_buffer_type(sched, cpu0) == ggml_backend_cpu_buffer_type());

        struct model m;
        CHECK(model_init(&m, ggml_backend_cpu_buffer_type()));
        for (int round = 0; round < 3; round++) {
            const int n_tok = round == 1 ? 12 : 5; // a larger graph, then the first again
            struct built b = build(&m, n_tok);
            ggml_backend_sched_reset(sched);
            if (round == 2) {
                // the user's choice wins
                ggml_backend_sched_set_tensor_backend(sched, b.s, cpu1);
            }
            CHECK(ggml_backend_sched_alloc_graph(sched, b.g));
            sched_verified(sched);
            // weights in host memory: the first backend that can use it runs the nodes
            CHECK(ggml_backend_sched_get_tensor_backend(sched, b.h) == cpu0);
            CHECK(ggml_backend_sched_get_tensor_backend(sched, b.s) == (round == 2 ? cpu1 : cpu0));
            CHECK_EQ_INT(ggml_backend_sched_get_n_splits(sched), round == 2 ? 3 : 1);
            set_x(&b, n_tok, 10 + round);
            CHECK(ggml_backend_sched_graph_compute(sched, b.g) == GGML_STATUS_SUCCESS);
            CHECK(y_matches(&b, n_tok, 10 + round));
            ggml_free(b.ctx);
        }
        // reset forgets assignments
        ggml_backend_sched_reset(sched);
        struct built b = build(&m, 5);
        CHECK(ggml_backend_sched_get_tensor_backend(sched, b.s) == NULL);
        // an allocated graph must be reset before the next
        CHECK(ggml_backend_sched_alloc_graph(sched, b.g));
        log_capture_begin();
        CHECK(!ggml_backend_sched_alloc_graph(sched, b.g));
        log_capture_end();
        CHECK(log_captured("call ggml_backend_sched_reset first"));
        ggml_free(b.ctx);
        ggml_backend_sched_free(sched);
        model_free(&m);
    }
    ggml_backend_free(cpu0);
    ggml_backend_free(cpu1);
}

struct eval_log {
    int asked, observed, stop_after;
};

static bool eval_cb(struct ggml_tensor * t, bool ask, void * user) {
    struct eval_log * log = user;
    if (ask) {
        log->asked++;
        return strcmp(t->name, "h") == 0 || strcmp(t->name, "y") == 0;
    }
    log->observed++;
    CHECK(strcmp(t->name, "h") == 0 || strcmp(t->name, "y") == 0);
    if (strcmp(t->name, "h") == 0) {
        // the result is there when observed: gelu of something, so never below -0.17
        float v[N_HID];
        ggml_backend_tensor_get(t, v, 0, sizeof(v));
        for (int i = 0; i < N_HID; i++) CHECK(v[i] > -0.2f);
    }
    return log->observed < log->stop_after;
}

static void test_eval_callback(void) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggml_backend_sched_t sched = ggml_backend_sched_new(&cpu, NULL, 1, GGML_DEFAULT_GRAPH_SIZE, false, true);
    struct model m;
    model_init(&m, ggml_backend_cpu_buffer_type());
    struct built b = build(&m, 4);
    struct eval_log log = { 0, 0, 100 };
    ggml_backend_sched_set_eval_callback(sched, eval_cb, &log);
    CHECK(ggml_backend_sched_alloc_graph(sched, b.g));
    set_x(&b, 4, 3);
    CHECK(ggml_backend_sched_graph_compute(sched, b.g) == GGML_STATUS_SUCCESS);
    CHECK_EQ_INT(log.asked, ggml_graph_n_nodes(b.g));
    CHECK_EQ_INT(log.observed, 2);
    CHECK(y_matches(&b, 4, 3));
    // stopping after the first observed node: y is never computed
    struct eval_log stop = { 0, 0, 1 };
    ggml_backend_sched_set_eval_callback(sched, eval_cb, &stop);
    ggml_backend_tensor_memset(b.y, 0, 0, ggml_nbytes(b.y));
    CHECK(ggml_backend_sched_graph_compute(sched, b.g) == GGML_STATUS_SUCCESS);
    CHECK_EQ_INT(stop.observed, 1);
    float y0;
    ggml_backend_tensor_get(b.y, &y0, 0, sizeof(y0));
    CHECK(y0 == 0.0f);
    ggml_free(b.ctx);
    model_free(&m);
    ggml_backend_sched_free(sched);
    ggml_backend_free(cpu);
}

struct compare_log {
    int calls;
    double worst;
    int expect_index; // -1: node by node (the index counts up)
};

static bool compare_cb(int i, struct ggml_tensor * t1, struct ggml_tensor * t2, void * user) {
    struct compare_log * log = user;
    CHECK(i == (log->expect_index < 0 ? log->calls : log->expect_index));
    log->calls++;
    CHECK(ggml_nelements(t1) == ggml_nelements(t2));
    if (t1->type != GGML_TYPE_F32 || ggml_is_empty(t1) || !ggml_is_contiguous(t1)) return true;
    const int64_t n = ggml_nelements(t1);
    float * a = malloc(sizeof(float) * (size_t) n);
    float * b = malloc(sizeof(float) * (size_t) n);
    ggml_backend_tensor_get(t1, a, 0, sizeof(float) * (size_t) n);
    ggml_backend_tensor_get(t2, b, 0, sizeof(float) * (size_t) n);
    double err = 0, ref = 0;
    for (int64_t k = 0; k < n; k++) {
        err += (double) (a[k] - b[k]) * (a[k] - b[k]);
        ref += (double) b[k] * b[k];
    }
    double nmse = ref > 0 ? err / ref : err;
    if (nmse > log->worst) log->worst = nmse;
    free(a);
    free(b);
    return true;
}

// ggml_backend_graph_copy and ggml_backend_compare_graph_backend: backend2 against backend1, node by node
static void compare_backends(ggml_backend_t backend1, ggml_backend_t backend2) {
    struct model m;
    CHECK(model_init(&m, ggml_backend_cpu_buffer_type()));
    // ops every backend here runs
    struct built b;
    struct ggml_init_params ip = { ggml_tensor_overhead() * 16 + ggml_graph_overhead(), NULL, true };
    b.ctx = ggml_init(ip);
    b.x = ggml_new_tensor_2d(b.ctx, GGML_TYPE_F32, N_IN, 6);
    ggml_set_input(b.x);
    b.h = ggml_gelu(b.ctx, ggml_mul_mat(b.ctx, m.w1, b.x));
    b.y = ggml_scale(b.ctx, ggml_mul_mat(b.ctx, m.w2, b.h), 0.25f);
    ggml_set_output(b.y);
    b.g = ggml_new_graph(b.ctx);
    ggml_build_forward_expand(b.g, b.y);
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    CHECK(ggml_gallocr_alloc_graph(galloc, b.g));
    set_x(&b, 6, 5);
    struct compare_log log = { 0, 0.0, -1 };
    CHECK(ggml_backend_compare_graph_backend(backend1, backend2, b.g, compare_cb, &log, NULL, 0));
    CHECK_EQ_INT(log.calls, ggml_graph_n_nodes(b.g));
    CHECK(log.worst < 1e-8);
    // the whole graph once, then the output
    struct compare_log once = { 0, 0.0, ggml_graph_n_nodes(b.g) - 1 };
    struct ggml_tensor * const test_nodes[1] = { b.y };
    CHECK(ggml_backend_compare_graph_backend(backend1, backend2, b.g, compare_cb, &once, test_nodes, 1));
    CHECK_EQ_INT(once.calls, 1);
    CHECK(once.worst < 1e-8);
    ggml_gallocr_free(galloc);
    ggml_free(b.ctx);
    model_free(&m);
}

//
// Random graphs split at random: every plan verified, every output equal to the CPU alone's
//

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state % n);
}

static struct ggml_cgraph * random_graph(struct ggml_context * ctx) {
    struct ggml_tensor * pool[64];
    int n = 0;
    for (int i = 0; i < 3; i++) {
        struct ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 8, 1 + rnd(4));
        ggml_format_name(t, "in%d", i);
        ggml_set_input(t);
        pool[n++] = t;
    }
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    const int n_ops = 4 + (int) rnd(12);
    for (int k = 0; k < n_ops; k++) {
        struct ggml_tensor * a = pool[n - 1 - rnd(n < 4 ? n : 4)];
        struct ggml_tensor * b = pool[rnd(n)];
        struct ggml_tensor * r = NULL;
        switch (rnd(8)) {
            case 0: r = ggml_scale(ctx, a, 0.5f); break;
            case 1: r = ggml_gelu(ctx, a); break;
            case 2: r = ggml_are_same_shape(a, b) ? ggml_add(ctx, a, b) : ggml_sqr(ctx, a); break;
            case 3: r = ggml_are_same_shape(a, b) ? ggml_mul(ctx, a, b) : ggml_soft_max(ctx, a); break;
            case 4: r = ggml_sum_rows(ctx, a); break;
            case 5: r = a->ne[0] == b->ne[0] ? ggml_mul_mat(ctx, a, b) : ggml_cont(ctx, ggml_transpose(ctx, a)); break;
            case 6: r = ggml_soft_max(ctx, a); break;
            default: r = ggml_cont(ctx, ggml_transpose(ctx, a)); break;
        }
        if (r->ne[0] < 2 || ggml_nelements(r) > 4096) r = ggml_scale(ctx, a, 2.0f);
        ggml_format_name(r, "r%d", k);
        if (rnd(6) == 0) ggml_set_output(r);
        pool[n++] = r;
    }
    ggml_set_output(pool[n - 1]);
    for (int i = 3; i < n; i++) {
        if (pool[i]->flags & GGML_TENSOR_FLAG_OUTPUT) ggml_build_forward_expand(g, pool[i]);
    }
    return g;
}

static void set_random_inputs(struct ggml_cgraph * g, uint64_t seed) {
    for (int i = 0; i < ggalloc_graph_n_leafs(g); i++) {
        struct ggml_tensor * t = ggalloc_graph_leaf(g, i);
        float v[64];
        fill(v, (int) ggml_nelements(t), seed + (uint64_t) i);
        ggml_backend_tensor_set(t, v, 0, ggml_nbytes(t));
    }
}

// The outputs, concatenated (malloc'ed).
static float * outputs(struct ggml_cgraph * g, int * n) {
    int total = 0;
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        if (ggml_graph_node(g, i)->flags & GGML_TENSOR_FLAG_OUTPUT) total += (int) ggml_nelements(ggml_graph_node(g, i));
    }
    float * v = malloc(sizeof(float) * (size_t) (total + 1));
    int k = 0;
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * t = ggml_graph_node(g, i);
        if (t->flags & GGML_TENSOR_FLAG_OUTPUT) {
            ggml_backend_tensor_get(t, v + k, 0, ggml_nbytes(t));
            k += (int) ggml_nelements(t);
        }
    }
    *n = total;
    return v;
}

static void random_splits(ggml_backend_t * backends, ggml_backend_buffer_type_t * bufts, int n_graphs) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    int splits = 0, copies = 0;
    for (int parallel = 0; parallel < 2; parallel++) {
        ggml_backend_sched_t sched = ggml_backend_sched_new(backends, bufts, 2, GGML_DEFAULT_GRAPH_SIZE, parallel, true);
        CHECK(sched != NULL);
        if (sched == NULL) break;
        for (int k = 0; k < n_graphs; k++) {
            ggalloc_backend_sched_set_planner(sched, rnd(2) ? GGALLOC_PLANNER_BEST : GGALLOC_PLANNER_GGML);
            struct ggml_init_params ip = { ggml_tensor_overhead() * 128 + ggml_graph_overhead(), NULL, true };
            struct ggml_context * ctx = ggml_init(ip);
            struct ggml_cgraph * g = random_graph(ctx);
            // the reference: the CPU alone
            ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
            CHECK(ggml_gallocr_alloc_graph(galloc, g));
            set_random_inputs(g, 100 + (uint64_t) k);
            CHECK(ggml_backend_graph_compute(cpu, g) == GGML_STATUS_SUCCESS);
            int n_ref = 0, n_got = 0;
            float * ref = outputs(g, &n_ref);
            ggml_gallocr_free(galloc);
            for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
                t->data = NULL;
                t->buffer = NULL;
            }
            // split at random where the backend runs the op
            ggml_backend_sched_reset(sched);
            for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
                struct ggml_tensor * t = ggml_graph_node(g, i);
                ggml_backend_t b = backends[rnd(2)];
                if (t->view_src == NULL && ggml_backend_supports_op(b, t)) {
                    ggml_backend_sched_set_tensor_backend(sched, t, b);
                }
            }
            CHECK(ggml_backend_sched_alloc_graph(sched, g));
            CHECK_EQ_INT(ggalloc_backend_sched_verify(sched), 0);
            splits += ggml_backend_sched_get_n_splits(sched);
            copies += ggalloc_graph_n_leafs(ggalloc_backend_sched_get_graph(sched)) - ggalloc_graph_n_leafs(g);
            set_random_inputs(g, 100 + (uint64_t) k);
            CHECK(ggml_backend_sched_graph_compute(sched, g) == GGML_STATUS_SUCCESS);
            float * got = outputs(g, &n_got);
            CHECK_EQ_INT(n_got, n_ref);
            if (n_got == n_ref) CHECK(close_to(got, ref, n_ref));
            free(got);
            free(ref);
            ggml_free(ctx);
        }
        ggml_backend_sched_free(sched);
    }
    printf("random splits over %s and %s: %d graphs, %d splits, %d input copies\n", ggml_backend_name(backends[0]),
           ggml_backend_name(backends[1]), 2 * n_graphs, splits, copies);
    CHECK(splits > 2 * n_graphs);
    ggml_backend_free(cpu);
}

static void test_refusals(void) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    log_capture_begin();
    CHECK(ggml_backend_sched_new(NULL, NULL, 1, 0, false, false) == NULL);
    CHECK(ggml_backend_sched_new(&cpu, NULL, 0, 0, false, false) == NULL);
    ggml_backend_sched_free(NULL);
    CHECK(!ggml_backend_sched_alloc_graph(NULL, NULL));
    CHECK(ggml_backend_sched_graph_compute(NULL, NULL) != GGML_STATUS_SUCCESS);
    ggml_backend_sched_t sched = ggml_backend_sched_new(&cpu, NULL, 1, 0, false, false);
    ggml_backend_t other = ggml_backend_cpu_init();
    ggml_backend_sched_set_tensor_backend(sched, NULL, other);
    CHECK(ggml_backend_sched_get_buffer_size(sched, other) == 0);
    log_capture_end();
    CHECK(log_captured("not one of the scheduler's"));
    ggml_backend_sched_free(sched);
    ggml_backend_free(other);
    ggml_backend_free(cpu);
}

#ifdef GGALLOC_USE_VULKAN
static void test_vulkan_and_cpu(ggml_backend_t vk) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggml_backend_t backends[2] = { vk, cpu };
    if (ggml_backend_dev_type(ggml_backend_get_device(vk)) != GGML_BACKEND_DEVICE_TYPE_CPU) {
        log_capture_begin();
        CHECK(ggml_backend_sched_new(&backends[0], NULL, 1, 0, false, false) == NULL); // the last must be a CPU
        log_capture_end();
        CHECK(log_captured("must be a CPU"));
    }
    struct model m;
    CHECK(model_init(&m, ggml_backend_get_default_buffer_type(vk)));
    for (int parallel = 0; parallel < 2; parallel++) {
        for (int planner = 0; planner < 2; planner++) {
            ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 2, GGML_DEFAULT_GRAPH_SIZE, parallel, true);
            CHECK(sched != NULL);
            if (sched == NULL) continue;
            ggalloc_backend_sched_set_planner(sched, (enum ggalloc_planner) planner);
            CHECK_EQ_INT(ggml_backend_sched_get_n_copies(sched), parallel ? GGML_SCHED_MAX_COPIES : 1);
            size_t size_small = 0;
            for (int round = 0; round < 4; round++) {
                const int n_tok = round == 2 ? 9 : 3;
                struct built b = build(&m, n_tok);
                struct ggml_tensor * h = b.h;
                ggml_backend_sched_reset(sched);
                CHECK(ggml_backend_sched_alloc_graph(sched, b.g));
                sched_verified(sched);
                // weights on the device: the matrix products there; sum_rows falls back to the CPU
                CHECK(ggml_backend_sched_get_tensor_backend(sched, h) == vk);
                CHECK(ggml_backend_sched_get_tensor_backend(sched, b.s) == cpu);
                CHECK(ggml_backend_sched_get_tensor_backend(sched, b.y) == vk);
                CHECK(ggml_backend_sched_get_tensor_backend(sched, b.x) == cpu); // an input
                // x copied in, h copied out to the CPU, s copied back: device, CPU, device
                CHECK_EQ_INT(ggml_backend_sched_get_n_splits(sched), 3);
                // the graph reads copies only while the scheduler plans and computes
                CHECK(ggml_graph_node(b.g, 0)->src[1] == b.x);
                set_x(&b, n_tok, 20 + round);
                CHECK(ggml_backend_sched_graph_compute(sched, b.g) == GGML_STATUS_SUCCESS);
                CHECK(y_matches(&b, n_tok, 20 + round));
                size_t size = ggml_backend_sched_get_buffer_size(sched, vk);
                CHECK(size > 0);
                if (round == 0) size_small = size;
                if (round == 2) CHECK(size > size_small); // planned again, larger
                ggml_free(b.ctx);
            }
            // one graph allocated again, by this scheduler and by another (it never points into
            // a scheduler's copies between calls)
            struct built b = build(&m, 4);
            ggml_backend_sched_t other = ggml_backend_sched_new(backends, NULL, 2, GGML_DEFAULT_GRAPH_SIZE, parallel, true);
            ggml_backend_sched_t order[3] = { sched, sched, other };
            for (int k = 0; k < 3; k++) {
                ggml_backend_sched_reset(order[k]);
                CHECK(ggml_backend_sched_alloc_graph(order[k], b.g));
                CHECK_EQ_INT(ggalloc_backend_sched_verify(order[k]), 0);
                set_x(&b, 4, 40 + k);
                CHECK(ggml_backend_sched_graph_compute(order[k], b.g) == GGML_STATUS_SUCCESS);
                CHECK(y_matches(&b, 4, 40 + k));
            }
            ggml_backend_sched_free(other);
            ggml_free(b.ctx);
            ggml_backend_sched_free(sched);
        }
    }
    model_free(&m);
    ggml_backend_free(cpu);
}
#endif

int main(void) {
    test_refusals();
    test_cpu_pair();
    test_eval_callback();
    {
        ggml_backend_t c1 = ggml_backend_cpu_init(), c2 = ggml_backend_cpu_init();
        ggml_backend_t pair[2] = { c1, c2 };
        ggml_backend_buffer_type_t bufts[2] = { ggalloc_host_buffer_type(64, SIZE_MAX), ggml_backend_cpu_buffer_type() };
        random_splits(pair, bufts, CHECK_SMALL_RUN ? 20 : 60);
        compare_backends(c1, c2);
        ggml_backend_free(c1);
        ggml_backend_free(c2);
    }
#ifdef GGALLOC_USE_VULKAN
    if (ggml_backend_vk_get_device_count() == 0) {
        printf("test-sched: Vulkan part skipped: no Vulkan device\n");
    } else {
        ggml_backend_t vk = ggml_backend_vk_init(0);
        CHECK(vk != NULL);
        if (vk != NULL) test_vulkan_and_cpu(vk);
        ggml_backend_t cpu = ggml_backend_cpu_init();
        if (vk != NULL) compare_backends(cpu, vk);
        ggml_backend_t pair[2] = { vk, cpu };
        if (vk != NULL) random_splits(pair, NULL, CHECK_SMALL_RUN ? 10 : 30);
        ggml_backend_free(cpu);
        ggml_backend_free(vk);
    }
#else
    printf("test-sched: Vulkan part skipped: built without Vulkan\n");
#endif
    return check_report("test-sched");
}
