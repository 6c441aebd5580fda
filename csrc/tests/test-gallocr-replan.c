// One allocator, one graph after another: a plan is re-applied only to a graph it fits, and
// every other graph is planned again.
//
//   - The random re-plan checker: pairs of small random graphs (often of the same node and leaf
//     counts but another structure) on one allocator. The second graph must be allocated (no
//     refusal), its plan verified (no two live tensors share bytes), and what it computes must
//     equal what the same graph computes on a fresh allocator. Some of its leafs get memory of
//     their own (external) where the first graph's had none. GGALLOC_LONG=1 runs many more pairs.
//   - Buffer sizes after any sequence of reserves and allocations equal ggml's with the GGML
//     planner: a buffer is kept while every chunk of the new plan fits it, and otherwise all of
//     its chunks are allocated again at exactly the new plan's sizes. The model of ggml's rule
//     below reads the new plan's chunk sizes from a fresh allocator's placements.

#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "oracles.h"
#include "ggml-cpu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CHUNKS 16 // the most chunks a buffer has (ggml's GGML_VBUFFER_MAX_CHUNKS)

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint32_t rnd(uint32_t n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state % n);
}

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// A small random graph in which every op's result is a node (so that graphs of a few ops often
// have the same counts and another structure).
static struct ggml_cgraph * random_graph(struct ggml_context * ctx) {
    struct ggml_tensor * pool[32];
    int n = 0;
    const int n_in = 2 + (int) rnd(2);
    for (int i = 0; i < n_in; i++) {
        struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8 * (1 + rnd(4)));
        ggml_format_name(t, "in%d", i);
        if (rnd(2)) ggml_set_input(t);
        pool[n++] = t;
    }
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    const int n_ops = 3 + (int) rnd(3);
    for (int k = 0; k < n_ops; k++) {
        struct ggml_tensor * a = pool[n - 1 - rnd(n < 4 ? n : 4)];
        struct ggml_tensor * b = pool[rnd(n)];
        const int64_t na = ggml_nelements(a);
        struct ggml_tensor * r = NULL;
        switch (rnd(11)) {
            case 0:  r = ggml_scale(ctx, a, 0.5f); break;
            case 1:  r = ggml_sqr(ctx, a); break;
            case 2:  r = ggml_nelements(b) == na && ggml_is_contiguous(b) ? ggml_add(ctx, a, b) : ggml_scale(ctx, a, 2.0f); break;
            case 3:  r = ggml_nelements(b) == na && ggml_is_contiguous(b) ? ggml_mul(ctx, a, b) : ggml_sqr(ctx, a); break;
            case 4:  r = na <= 256 ? ggml_concat(ctx, a, a, 0) : ggml_cont(ctx, a); break;
            case 5:  r = na >= 16 ? ggml_view_1d(ctx, a, na / 2, rnd(2) ? 0 : (size_t) (na / 2) * sizeof(float)) : ggml_cont(ctx, a); break;
            case 6:  r = ggml_sum_rows(ctx, a); break;
            case 7:  r = ggml_cont(ctx, a); break;
            case 8:  r = ggml_soft_max(ctx, a); break;
            case 9:  r = ggml_scale_inplace(ctx, a, 3.0f); break;
            default: r = ggml_gelu(ctx, a); break;
        }
        ggml_format_name(r, "r%d", k);
        if (rnd(5) == 0) ggml_set_output(r);
        ggml_build_forward_expand(g, r);
        pool[n++] = r;
    }
    ggml_set_output(pool[n - 1]);
    return g;
}

static void set_inputs(struct ggml_cgraph * g) {
    uint64_t state = 777;
    for (int i = 0; i < ggalloc_graph_n_leafs(g); i++) {
        struct ggml_tensor * t = ggalloc_graph_leaf(g, i);
        if (t->view_src != NULL) continue;
        const int64_t n = ggml_nelements(t);
        float v[512];
        for (int64_t k = 0; k < n && k < 512; k++) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            v[k] = (float) ((state >> 40) % 2000) / 1000.0f - 1.0f;
        }
        ggml_backend_tensor_set(t, v, 0, sizeof(float) * (size_t) n);
    }
}

// The output nodes' values, concatenated (malloc'ed; *n floats).
static float * outputs_of(struct ggml_cgraph * g, int * n_out) {
    size_t total = 0;
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * t = ggml_graph_node(g, i);
        if (t->flags & GGML_TENSOR_FLAG_OUTPUT) total += (size_t) ggml_nelements(t);
    }
    float * out = malloc(sizeof(float) * (total + 1));
    size_t k = 0;
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * t = ggml_graph_node(g, i);
        if (t->flags & GGML_TENSOR_FLAG_OUTPUT) {
            ggml_backend_tensor_get(t, out + k, 0, ggml_nbytes(t));
            k += (size_t) ggml_nelements(t);
        }
    }
    *n_out = (int) total;
    return out;
}

// Forgets the placements of ctx's tensors that are not in `keep`.
static void ctx_forget(struct ggml_context * ctx, ggml_backend_buffer_t keep) {
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
        if (keep != NULL && t->buffer == keep) continue;
        if (keep != NULL && t->view_src != NULL && t->view_src->buffer == keep) continue;
        t->data = NULL;
        t->buffer = NULL;
    }
}

struct replan_stats {
    int pairs, same_counts, violations, refusals, wrong;
};

static void replan_pair(ggml_backend_t cpu, struct replan_stats * st) {
    static const size_t alignments[] = { 4, 16, 64 };
    static const size_t max_sizes[] = { 64, 256, SIZE_MAX };
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(alignments[rnd(3)], max_sizes[rnd(3)]);
    const enum ggalloc_planner planner = rnd(2) ? GGALLOC_PLANNER_BEST : GGALLOC_PLANNER_GGML;

    struct ggml_context * c1 = new_ctx();
    struct ggml_context * c2 = new_ctx();
    struct ggml_cgraph * g1 = random_graph(c1);
    struct ggml_cgraph * g2 = random_graph(c2);
    st->pairs++;
    if (ggml_graph_n_nodes(g1) == ggml_graph_n_nodes(g2) && ggalloc_graph_n_leafs(g1) == ggalloc_graph_n_leafs(g2)) {
        st->same_counts++;
    }

    // some leafs of the second graph have memory of their own
    ggml_backend_buffer_t ext = NULL;
    if (rnd(3) == 0) {
        ext = ggml_backend_buft_alloc_buffer(ggml_backend_cpu_buffer_type(), 4096);
        size_t off = 0;
        for (int i = 0; i < ggalloc_graph_n_leafs(g2) && ext != NULL; i++) {
            struct ggml_tensor * t = ggalloc_graph_leaf(g2, i);
            if (t->view_src == NULL && rnd(2) && off + ggml_nbytes(t) <= 4096) {
                ggml_backend_tensor_alloc(ext, t, (char *) ggml_backend_buffer_get_base(ext) + off);
                off += (ggml_nbytes(t) + 63) & ~(size_t) 63;
            }
        }
    }

    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    ggalloc_gallocr_set_planner(galloc, planner);
    bool ok1 = ggml_gallocr_alloc_graph(galloc, g1);
    CHECK(ok1);
    if (ok1) {
        set_inputs(g1);
        CHECK(ggml_backend_graph_compute(cpu, g1) == GGML_STATUS_SUCCESS);
    }
    bool ok2 = ggml_gallocr_alloc_graph(galloc, g2);
    if (!ok2) {
        st->refusals++;
    } else {
        int v = ggalloc_graph_verify(g2);
        if (v != 0) st->violations++;
        set_inputs(g2);
        CHECK(ggml_backend_graph_compute(cpu, g2) == GGML_STATUS_SUCCESS);
        int n_got = 0, n_ref = 0;
        float * got = outputs_of(g2, &n_got);

        ctx_forget(c2, ext);
        ggml_gallocr_t fresh = ggml_gallocr_new(buft);
        ggalloc_gallocr_set_planner(fresh, planner);
        CHECK(ggml_gallocr_alloc_graph(fresh, g2));
        set_inputs(g2);
        CHECK(ggml_backend_graph_compute(cpu, g2) == GGML_STATUS_SUCCESS);
        float * ref = outputs_of(g2, &n_ref);
        bool same = n_got == n_ref && memcmp(got, ref, sizeof(float) * (size_t) n_ref) == 0;
        if (!same) st->wrong++;
        free(got);
        free(ref);
        ggml_gallocr_free(fresh);
    }
    ggml_gallocr_free(galloc);
    ggml_backend_buffer_free(ext);
    ggml_free(c1);
    ggml_free(c2);
}

static void test_random_replans(void) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    CHECK(cpu != NULL);
    if (cpu == NULL) return;
    ggml_backend_cpu_set_n_threads(cpu, 1); // graphs of a few small nodes
    // GGALLOC_REPLAN_SECONDS: as long as asked (for runs of a million pairs and more)
    const bool long_run = getenv("GGALLOC_LONG") != NULL;
    const char * asked = getenv("GGALLOC_REPLAN_SECONDS");
    const double budget = asked != NULL && atof(asked) > 0 ? atof(asked) :
                          long_run ? 120.0 : (CHECK_SMALL_RUN ? 1.0 : 2.0);
    struct replan_stats st = { 0 };
    const double t0 = now_s();
    while (now_s() - t0 < budget || st.pairs < 200) {
        for (int k = 0; k < 50; k++) replan_pair(cpu, &st);
    }
    CHECK_EQ_INT(st.violations, 0);
    CHECK_EQ_INT(st.refusals, 0);
    CHECK_EQ_INT(st.wrong, 0);
    CHECK(st.same_counts > st.pairs / 20); // the interesting case is common
    printf("random re-plans: %d pairs (%d of the same counts): %d violations, %d refusals, %d wrong results\n",
           st.pairs, st.same_counts, st.violations, st.refusals, st.wrong);
    ggml_backend_free(cpu);
}

// The case, made by hand: scale / concat / view, then sum_rows / mul / view, of the
// same counts, on one allocator.
static void test_same_counts_other_structure(void) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    for (int planner = 0; planner < 2; planner++) {
        struct ggml_context * c1 = new_ctx();
        struct ggml_tensor * a = ggml_new_tensor_1d(c1, GGML_TYPE_F32, 16);
        ggml_set_input(a);
        struct ggml_tensor * s = ggml_scale(c1, a, 2.0f);
        struct ggml_tensor * cc = ggml_concat(c1, s, s, 0);
        struct ggml_tensor * v = ggml_view_1d(c1, cc, 8, 0);
        ggml_set_output(v);
        struct ggml_cgraph * g1 = ggml_new_graph(c1);
        ggml_build_forward_expand(g1, v);

        struct ggml_context * c2 = new_ctx();
        struct ggml_tensor * b = ggml_new_tensor_2d(c2, GGML_TYPE_F32, 4, 4);
        ggml_set_input(b);
        struct ggml_tensor * sr = ggml_sum_rows(c2, b);
        struct ggml_tensor * m = ggml_mul(c2, b, sr);
        struct ggml_tensor * w = ggml_view_1d(c2, m, 8, 0);
        ggml_set_output(w);
        struct ggml_cgraph * g2 = ggml_new_graph(c2);
        ggml_build_forward_expand(g2, w);
        CHECK_EQ_INT(ggml_graph_n_nodes(g1), ggml_graph_n_nodes(g2));
        CHECK_EQ_INT(ggalloc_graph_n_leafs(g1), ggalloc_graph_n_leafs(g2));

        ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
        ggalloc_gallocr_set_planner(galloc, (enum ggalloc_planner) planner);
        CHECK(ggml_gallocr_alloc_graph(galloc, g1));
        CHECK(ggml_gallocr_alloc_graph(galloc, g2));
        oracle_allocated(galloc, g2);
        float in[16], out[8];
        for (int i = 0; i < 16; i++) in[i] = (float) (i + 1);
        ggml_backend_tensor_set(b, in, 0, sizeof(in));
        CHECK(ggml_backend_graph_compute(cpu, g2) == GGML_STATUS_SUCCESS);
        ggml_backend_tensor_get(w, out, 0, sizeof(out));
        for (int i = 0; i < 8; i++) {
            const int row = i / 4;
            const float sum = (float) (4 * (4 * row) + 10); // 1-based values of the row
            CHECK(out[i] == in[i] * sum);
        }

        // a leaf that had memory in the plan now has its own: planned again, not refused
        ggml_backend_buffer_t ext = ggml_backend_buft_alloc_buffer(ggml_backend_cpu_buffer_type(), 256);
        struct ggml_context * c3 = new_ctx();
        struct ggml_tensor * b3 = ggml_new_tensor_2d(c3, GGML_TYPE_F32, 4, 4);
        struct ggml_tensor * m3 = ggml_mul(c3, b3, ggml_sum_rows(c3, b3));
        struct ggml_tensor * w3 = ggml_view_1d(c3, m3, 8, 0);
        ggml_set_output(w3);
        struct ggml_cgraph * g3 = ggml_new_graph(c3);
        ggml_build_forward_expand(g3, w3);
        CHECK(ggml_backend_tensor_alloc(ext, b3, ggml_backend_buffer_get_base(ext)) == GGML_STATUS_SUCCESS);
        CHECK(ggml_gallocr_alloc_graph(galloc, g3));
        oracle_allocated(galloc, g3);
        CHECK(b3->buffer == ext);

        ggml_gallocr_free(galloc);
        ggml_backend_buffer_free(ext);
        ggml_free(c1);
        ggml_free(c2);
        ggml_free(c3);
    }
    ggml_backend_free(cpu);
}

//
// Buffer sizes as ggml's
//

// The chunk sizes a fresh allocator's plan of g has (chunks[c], *n_chunks), read from its
// placements: each chunk is as large as its highest placement's end.
static void fresh_chunks(ggml_backend_buffer_type_t buft, struct ggml_cgraph * g, size_t * chunks, int * n_chunks) {
    ggml_gallocr_t fresh = ggml_gallocr_new(buft);
    ggalloc_gallocr_set_planner(fresh, GGALLOC_PLANNER_GGML);
    size_t size = 0;
    ggml_gallocr_reserve_n_size(fresh, g, NULL, NULL, &size);
    *n_chunks = 0;
    memset(chunks, 0, sizeof(size_t) * MAX_CHUNKS);
    for (int i = 0; i < ggalloc_gallocr_n_placements(fresh); i++) {
        struct ggalloc_placement p;
        ggalloc_gallocr_get_placement(fresh, i, &p);
        if (p.offset + p.size > chunks[p.chunk]) chunks[p.chunk] = p.offset + p.size;
        if (p.chunk + 1 > *n_chunks) *n_chunks = p.chunk + 1;
    }
    size_t sum = 0;
    for (int c = 0; c < *n_chunks; c++) sum += chunks[c];
    CHECK_EQ_INT(sum, size);
    ggml_gallocr_free(fresh);
}

// A chain of n nodes of e floats each (the same structure for the same n).
static struct ggml_cgraph * chain(struct ggml_context * ctx, int n, int64_t e) {
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, e);
    ggml_set_input(x);
    struct ggml_tensor * t = x;
    struct ggml_tensor * keep = NULL;
    for (int i = 0; i < n; i++) {
        t = i % 3 == 2 ? ggml_concat(ctx, ggml_view_1d(ctx, t, e / 2, 0), ggml_view_1d(ctx, t, e / 2, 0), 0)
                       : ggml_cont(ctx, t);
        if (i == n / 2) keep = t;
    }
    struct ggml_tensor * out = ggml_add(ctx, t, keep);
    ggml_set_output(out);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, out);
    return g;
}

static void test_sizes_as_ggml(void) {
    static const size_t max_sizes[] = { 32, 96, 512, SIZE_MAX };
    int steps = 0, replans = 0, grows = 0, shrinks = 0, chunked = 0;
    for (int seq = 0; seq < 60; seq++) {
        ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(4 << rnd(4), max_sizes[seq % 4]);
        ggml_gallocr_t galloc = ggml_gallocr_new(buft);
        ggalloc_gallocr_set_planner(galloc, GGALLOC_PLANNER_GGML);
        // the model of ggml: its chunk sizes, and the chain the current plan was made for
        size_t model[MAX_CHUNKS] = { 0 };
        int model_n = 0, plan_n = -1;
        int64_t plan_e = 0;
        struct ggml_context * ctxs[12];
        for (int k = 0; k < 12; k++) {
            ctxs[k] = new_ctx();
            const int n = 2 + (int) rnd(4);
            const int64_t e = 4 * (1 + rnd(6));
            struct ggml_cgraph * g = chain(ctxs[k], n, e);
            const bool reserve = rnd(3) == 0;
            // ggml plans again on reserve, or when the chain differs or does not fit
            const bool replan = reserve || n != plan_n || e > plan_e;
            if (replan) {
                size_t fresh[MAX_CHUNKS];
                int n_fresh = 0;
                fresh_chunks(buft, g, fresh, &n_fresh);
                bool grow = model_n == 0 && n_fresh > 0;
                for (int c = 0; c < n_fresh; c++) grow = grow || fresh[c] > (c < model_n ? model[c] : 0);
                size_t before = 0, after = 0;
                for (int c = 0; c < model_n; c++) before += model[c];
                for (int c = 0; c < n_fresh; c++) after += fresh[c];
                shrinks += !grow && after < before; // kept, larger than the plan
                if (grow) {
                    grows += model_n > 0 && after < before + 1; // reallocated to no more than before
                    memcpy(model, fresh, sizeof(model));
                    model_n = n_fresh;
                }
                chunked += n_fresh > 1;
                plan_n = n;
                plan_e = e;
                replans++;
            }
            bool ok = reserve ? ggml_gallocr_reserve(galloc, g) : ggml_gallocr_alloc_graph(galloc, g);
            CHECK(ok);
            if (!reserve) oracle_allocated(galloc, g);
            size_t expect = 0;
            for (int c = 0; c < model_n; c++) expect += model[c];
            CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), expect);
            steps++;
        }
        ggml_gallocr_free(galloc);
        for (int k = 0; k < 12; k++) ggml_free(ctxs[k]);
    }
    CHECK(grows > 0);
    CHECK(shrinks > 0);
    CHECK(chunked > 0);
    printf("sizes as ggml's: %d steps, %d re-plans, %d regrown to no more than before, %d kept while larger, %d chunked plans\n", steps,
           replans, grows, shrinks, chunked);
}

int main(void) {
    test_same_counts_other_structure();
    test_sizes_as_ggml();
    test_random_replans();
    return check_report("test-gallocr-replan");
}
