// ggalloc_graph_reorder: a graph whose peak provably drops, random graphs whose reordered node
// list must stay a dependency-respecting permutation (including writes through in-place views)
// and never get a higher peak, and the error path.

#include "check.h"
#include "ggalloc.h"
#include "reorder-impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 64 * 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

static int index_of(struct ggml_tensor ** list, int n, const struct ggml_tensor * t) {
    for (int i = 0; i < n; i++) {
        if (list[i] == t) {
            return i;
        }
    }
    return -1;
}

static const struct ggml_tensor * base_of(const struct ggml_tensor * t) {
    while (t->view_src != NULL) {
        t = t->view_src;
    }
    return t;
}

static bool pure_view(const struct ggml_tensor * t) {
    return t->op == GGML_OP_NONE || t->op == GGML_OP_VIEW || t->op == GGML_OP_RESHAPE ||
           t->op == GGML_OP_PERMUTE || t->op == GGML_OP_TRANSPOSE;
}

static bool reads_base(const struct ggml_tensor * t, const struct ggml_tensor * base) {
    if (pure_view(t)) {
        return false;
    }
    for (int j = 0; j < GGML_MAX_SRC; j++) {
        if (t->src[j] != NULL && base_of(t->src[j]) == base) {
            return true;
        }
    }
    return false;
}

// Violations of the order `now` against the original order `was`: a missing or repeated node,
// a node before one of its sources or its view_src, or an access to memory moved across a
// write of that memory.
static int order_violations(struct ggml_tensor ** was, struct ggml_tensor ** now, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        bad += index_of(now, n, was[i]) < 0;
    }
    for (int i = 0; i < n; i++) {
        const struct ggml_tensor * t = now[i];
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            const int k = t->src[j] ? index_of(now, n, t->src[j]) : -1;
            bad += k > i;
        }
        const int v = t->view_src ? index_of(now, n, t->view_src) : -1;
        bad += v > i;
    }
    for (int w = 0; w < n; w++) {
        const struct ggml_tensor * wt = was[w];
        if (wt->view_src == NULL || pure_view(wt)) {
            continue; // not a write through a view
        }
        const struct ggml_tensor * base = base_of(wt);
        const int wn = index_of(now, n, wt);
        for (int r = 0; r < n; r++) {
            if (r == w || !(reads_base(was[r], base) || (was[r]->view_src && !pure_view(was[r]) && base_of(was[r]) == base))) {
                continue;
            }
            const int rn = index_of(now, n, was[r]);
            bad += (r < w) != (rn < wn);
        }
    }
    return bad;
}

static void test_branches(void) {
    // two branches from one input, each with a large intermediate reduced to a row sum. Built
    // as a1, b1, then the rest: both large tensors are live together. Finishing one branch
    // before starting the other keeps one large tensor live at a time. REPEAT does not work in
    // place, so no intermediate takes over the input's memory.
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 1024, 64);
    ggml_set_input(x);
    struct ggml_tensor * a1 = ggml_repeat(ctx, x, x);
    struct ggml_tensor * b1 = ggml_repeat(ctx, x, x);
    struct ggml_tensor * a2 = ggml_sum_rows(ctx, a1);
    struct ggml_tensor * b2 = ggml_sum_rows(ctx, b1);
    struct ggml_tensor * out = ggml_add(ctx, a2, b2);
    ggml_set_output(out);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, a1);
    ggml_build_forward_expand(g, b1);
    ggml_build_forward_expand(g, out);
    const int n = ggml_graph_n_nodes(g);
    CHECK_EQ_INT(n, 5);
    CHECK(ggml_graph_node(g, 1) == b1);

    struct ggml_tensor * was[8];
    memcpy(was, ggml_graph_nodes(g), (size_t) n * sizeof(*was));
    const size_t before = ggalloc_graph_peak_bytes(g, 32);
    CHECK(ggalloc_graph_reorder(g));
    const size_t after = ggalloc_graph_peak_bytes(g, 32);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), n);
    CHECK_EQ_INT(order_violations(was, ggml_graph_nodes(g), n), 0);
    // x (256 KiB) + a1 + b1 before; x + one large + a row sum after
    CHECK_EQ_INT(before, 3 * 262144);
    CHECK(after < before);
    CHECK_EQ_INT(after, 2 * 262144 + 256);
    CHECK(ggml_graph_node(g, n - 1) == out);

    // reordering again finds nothing better: the order stays
    memcpy(was, ggml_graph_nodes(g), (size_t) n * sizeof(*was));
    CHECK(ggalloc_graph_reorder(g));
    CHECK(memcmp(was, ggml_graph_nodes(g), (size_t) n * sizeof(*was)) == 0);
    ggml_free(ctx);
}

// A random DAG on element-wise ops over three shapes, with some in-place writes.
static struct ggml_cgraph * random_graph(struct ggml_context * ctx, int n_ops) {
    const int64_t rows[3] = { 4, 32, 256 };
    struct ggml_tensor * pool[3][512];
    int n_pool[3] = { 0, 0, 0 };
    for (int s = 0; s < 3; s++) {
        for (int k = 0; k < 2; k++) {
            struct ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, rows[s]);
            if (k == 0) {
                ggml_set_input(t);
            }
            pool[s][n_pool[s]++] = t;
        }
    }
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    struct ggml_tensor * last[3] = { NULL, NULL, NULL };
    for (int i = 0; i < n_ops; i++) {
        const int s = check_rand(3);
        const int np = n_pool[s];
        struct ggml_tensor * a = pool[s][np - 1 - check_rand(np < 6 ? np : 6)];
        struct ggml_tensor * b = pool[s][check_rand(np)];
        struct ggml_tensor * t = NULL;
        switch (check_rand(6)) {
            case 0: t = ggml_add(ctx, a, b); break;
            case 1: t = ggml_mul(ctx, a, b); break;
            case 2: t = ggml_sqr(ctx, a); break;
            case 3: t = ggml_scale(ctx, a, 0.5f); break;
            case 4: t = a->op != GGML_OP_NONE ? ggml_scale_inplace(ctx, a, 2.0f) : ggml_neg(ctx, a); break;
            default: t = ggml_sub(ctx, a, b); break;
        }
        if (np < 512) {
            pool[s][n_pool[s]++] = t;
        }
        last[s] = t;
        ggml_build_forward_expand(g, t);
    }
    for (int s = 0; s < 3; s++) {
        if (last[s] != NULL) {
            ggml_set_output(last[s]);
        }
    }
    return g;
}

static void test_random(void) {
    int bad = 0;
    int worse = 0;
    int better = 0;
    for (int iter = 0; iter < 12; iter++) {
        struct ggml_context * ctx = new_ctx();
        struct ggml_cgraph * g = random_graph(ctx, 40 + 30 * iter);
        const int n = ggml_graph_n_nodes(g);
        struct ggml_tensor ** was = malloc((size_t) n * sizeof(*was));
        memcpy(was, ggml_graph_nodes(g), (size_t) n * sizeof(*was));
        const size_t before = ggalloc_graph_peak_bytes(g, 32);
        CHECK(ggalloc_graph_reorder(g));
        const size_t after = ggalloc_graph_peak_bytes(g, 32);
        CHECK_EQ_INT(ggml_graph_n_nodes(g), n);
        bad += order_violations(was, ggml_graph_nodes(g), n);
        // the reordered graph allocates to a valid plan whose bound is the new peak
        ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
        CHECK(galloc != NULL && ggml_gallocr_alloc_graph(galloc, g));
        CHECK_EQ_INT(ggalloc_graph_verify(g), 0);
        CHECK_EQ_INT(ggalloc_gallocr_lower_bound(galloc, 0), after);
        CHECK(ggml_gallocr_get_buffer_size(galloc, 0) >= after);
        ggml_gallocr_free(galloc);
        worse += after > before;
        better += after < before;
        free(was);
        ggml_free(ctx);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(worse, 0);
    printf("random graphs: reordering lowered the peak on %d of 12\n", better);
}

static void test_errors(void) {
    log_capture_begin();
    CHECK(!ggalloc_graph_reorder(NULL));
    CHECK(log_captured("NULL"));
    log_capture_end();

    // an empty graph and a one-node graph are fine as they are
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    CHECK(ggalloc_graph_reorder(g));
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16);
    ggml_build_forward_expand(g, ggml_sqr(ctx, x));
    CHECK(ggalloc_graph_reorder(g));
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 1);
    ggml_free(ctx);
}

// Nodes that read only memory the planner does not own (external weights): the dependency and
// read lists are empty, which must be handled as such (no sort of an absent array).
static void test_no_planned_reads(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * w1 = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16);
    struct ggml_tensor * w2 = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16);
    w1->flags |= GGALLOC_TENSOR_FLAG_EXTERNAL;
    w2->flags |= GGALLOC_TENSOR_FLAG_EXTERNAL;
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    struct ggml_tensor * a = ggml_add(ctx, w1, w2);
    struct ggml_tensor * b = ggml_mul(ctx, w1, w2);
    ggml_set_output(a);
    ggml_set_output(b);
    ggml_build_forward_expand(g, a);
    ggml_build_forward_expand(g, b);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 2);
    CHECK(ggalloc_graph_reorder(g));
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 2);
    CHECK(ggml_graph_node(g, 0) != ggml_graph_node(g, 1));
    CHECK(ggml_graph_node(g, 0) == a || ggml_graph_node(g, 0) == b);
    CHECK(ggml_graph_node(g, 1) == a || ggml_graph_node(g, 1) == b);
    ggml_free(ctx);
}

// Each allocation of the reorder failing in turn: false, a log line, and the graph's order as it
// was; once none fails, the same result as an unhindered run.
static void test_out_of_memory(void) {
    struct ggml_context * ctx = new_ctx();
    check_rng = 0x9e3779b97f4a7c15ull;
    struct ggml_cgraph * g = random_graph(ctx, 80);
    const int n = ggml_graph_n_nodes(g);
    struct ggml_tensor ** was = malloc((size_t) n * sizeof(*was));
    struct ggml_tensor ** want = malloc((size_t) n * sizeof(*want));
    memcpy(was, ggml_graph_nodes(g), (size_t) n * sizeof(*was));
    CHECK(ggalloc_graph_reorder(g));
    memcpy(want, ggml_graph_nodes(g), (size_t) n * sizeof(*want));
    CHECK(memcmp(was, want, (size_t) n * sizeof(*was)) != 0); // this graph does get a new order
    int failures = 0;
    bool done = false;
    for (int k = 0; k < 10000 && !done; k++) {
        memcpy(ggml_graph_nodes(g), was, (size_t) n * sizeof(*was));
        gga_reorder_fail_after(k);
        log_capture_begin();
        const bool ok = ggalloc_graph_reorder(g);
        const bool logged = log_captured("out of memory");
        log_capture_end();
        gga_reorder_fail_after(-1);
        if (ok) {
            CHECK(memcmp(want, ggml_graph_nodes(g), (size_t) n * sizeof(*want)) == 0);
            done = true;
        } else {
            failures++;
            CHECK(logged);
            CHECK(memcmp(was, ggml_graph_nodes(g), (size_t) n * sizeof(*was)) == 0);
        }
    }
    CHECK(done);
    CHECK(failures > 10); // every allocation site was reached
    free(was);
    free(want);
    ggml_free(ctx);
}

int main(void) {
    test_no_planned_reads();
    test_out_of_memory();
    test_branches();
    test_random();
    test_errors();
    return check_report("test-reorder");
}
