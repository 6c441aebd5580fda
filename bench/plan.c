// bench/plan.c — the memory planners side by side: for the graphs in tests/data/graphs and
// random DAGs, the buffer size with ggml's online placement and with ours (BEST), the liveness
// lower bound, reserve and alloc_graph times (medians), what reordering the nodes gains; the
// planning time of random DAGs of 1k, 10k and 100k nodes; and the eleven hard traces of
// tests/data/traces against their lower bounds; and ggml's own graph allocator timed on the same
// graphs in the same run, when ggml can be loaded (bench/ggml-peer.h). Prints markdown and writes
// bench/results/plan.md.
//
// Sizes are exact; times are medians of repeated runs in this one process, in CPU time.

#define _GNU_SOURCE // dlinfo, for ggml-peer.h

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggalloc.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "ggml-peer.h"
#include "planner.h"

#define ALIGNMENT 32

// CPU time of this process: planning is single-threaded, and on a shared machine the CPU time
// of a run is steadier than its wall time (the two agree on an idle one).
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// Wall-clock time, which the planner's time budget counts.
static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static int cmp_double(const void * a, const void * b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

static double median(double * v, int n) {
    qsort(v, (size_t) n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Everything printed goes to stdout and to the results file.
static FILE * out_md = NULL;

static void emit(const char * fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    if (out_md != NULL) {
        va_start(ap, fmt);
        vfprintf(out_md, fmt, ap);
        va_end(ap);
    }
}

//
// Random DAGs
//

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static int rnd(int n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int) (rng % (uint64_t) n);
}

// A DAG of n_nodes ops built the way model code builds graphs: each op reads recent results
// (element-wise unary and binary ops, some in place, matrix products with external weights that
// change the width, row sums, transposed copies). A result nobody has read by the time it leaves
// the window of recent results is folded into a running sum of row sums, as a residual stream
// would be, so that nothing dangles; that sum is the output.
static struct ggml_cgraph * random_dag(struct ggml_context * ctx, int n_nodes) {
    const int64_t widths[] = { 64, 128, 256, 512, 1024 };
    const int64_t rows = 32;
    const int window = 12;
    struct ggml_tensor ** made = malloc((size_t) n_nodes * 2 * sizeof(*made));
    int * readers = calloc((size_t) n_nodes * 2, sizeof(int));
    int n_made = 0;
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 256, rows);
    ggml_set_input(x);
    made[n_made++] = x;
    readers[0] = 1;
    struct ggml_tensor * acc = NULL;
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, (size_t) n_nodes * 4 + 16, false);
    for (int n_ops = 0; n_ops < n_nodes; n_ops++) {
        // mostly a recent result nobody has read yet
        int ia = n_made - 1 - rnd(n_made < window ? n_made : window);
        for (int k = n_made - 1; k >= 0 && k >= n_made - window && rnd(5) != 0; k--) {
            if (readers[k] == 0) {
                ia = k;
                break;
            }
        }
        struct ggml_tensor * a = made[ia];
        struct ggml_tensor * t = NULL;
        int ib = -1;
        const int kind = rnd(20);
        if (kind < 6) {
            t = rnd(3) == 0 && a->op != GGML_OP_NONE && readers[ia] == 0 ? ggml_scale_inplace(ctx, a, 0.5f)
              : rnd(2) ? ggml_silu(ctx, a) : ggml_sqr(ctx, a);
        } else if (kind < 12) {
            for (int k = 0; k < window && k < n_made; k++) {
                const int j = n_made - 1 - rnd(n_made < window ? n_made : window);
                if (j != ia && ggml_are_same_shape(made[j], a)) {
                    ib = j;
                    break;
                }
            }
            t = ib >= 0 ? (rnd(2) ? ggml_add(ctx, a, made[ib]) : ggml_mul(ctx, a, made[ib])) : ggml_scale(ctx, a, 2.0f);
        } else if (kind < 17) {
            struct ggml_tensor * w = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, a->ne[0], widths[rnd(5)]);
            w->flags |= GGALLOC_TENSOR_FLAG_EXTERNAL;
            t = ggml_mul_mat(ctx, w, a);
        } else if (kind < 18) {
            t = ggml_sum_rows(ctx, a);
        } else {
            t = ggml_cont(ctx, ggml_transpose(ctx, a));
            t = ggml_cont(ctx, ggml_transpose(ctx, t));
        }
        readers[ia]++;
        if (ib >= 0) {
            readers[ib]++;
        }
        made[n_made++] = t;
        ggml_build_forward_expand(g, t);
        // fold what leaves the window unread
        const int old = n_made - 1 - window;
        if (old > 0 && readers[old] == 0) {
            struct ggml_tensor * r = ggml_sum_rows(ctx, made[old]);
            acc = acc ? ggml_add(ctx, acc, r) : r;
            readers[old]++;
            ggml_build_forward_expand(g, acc);
        }
    }
    for (int k = n_made - window > 1 ? n_made - window : 1; k < n_made; k++) {
        if (readers[k] == 0) {
            struct ggml_tensor * r = ggml_sum_rows(ctx, made[k]);
            acc = acc ? ggml_add(ctx, acc, r) : r;
        }
    }
    ggml_set_output(acc);
    ggml_build_forward_expand(g, acc);
    free(made);
    free(readers);
    return g;
}

static struct ggml_context * dag_ctx(int n_nodes) {
    struct ggml_init_params ip = {
        ggml_tensor_overhead() * (size_t) n_nodes * 6 + ggml_graph_overhead_custom((size_t) n_nodes * 4 + 16, false) + (1 << 20),
        NULL, true };
    return ggml_init(ip);
}

// random-dag-N-sK of the graph table: its graph, in a new context (*ctx).
static struct ggml_cgraph * seeded_dag(int n_nodes, int seed, struct ggml_context ** ctx) {
    rng = 0x9e3779b97f4a7c15ull + (uint64_t) seed * 7919;
    *ctx = dag_ctx(n_nodes);
    return random_dag(*ctx, n_nodes);
}

//
// Graph rows
//

struct graph_row {
    char   name[64];
    int    n_nodes;
    size_t best, ggml, lb, no_reuse;
    double reserve_best_us, reserve_ggml_us, alloc_best_us, alloc_ggml_us;
    double rebuilt_best_us, rebuilt_ggml_us;
    double fresh_best_us, fresh_ggml_us; // ggml_gallocr_new + reserve + free
    size_t lb_reordered;
    int    violations;
};

static void graph_clear_data(struct ggml_cgraph * g);

struct timed_call {
    ggml_gallocr_t             galloc;
    struct ggml_cgraph       * g;
    ggml_backend_buffer_type_t buft;
    enum ggalloc_planner       planner;
    double                     time_budget; // of a fresh allocator (op_fresh_reserve)
    struct peer_graph        * pg; // for the comparison with ggml: a copy of g in pg->lib
};

// The median over reps of one call's CPU time, in µs. Calls are timed in batches of about 50 µs,
// since one read of the clock costs about 1 µs here, as much as a whole alloc_graph of a 12-node
// graph; `prep` (NULL: none) runs before each call, and its own time, measured alike, is taken off.
static double time_op(void (*op)(struct timed_call *), void (*prep)(struct timed_call *), struct timed_call * c,
        int reps) {
    if (prep) {
        prep(c);
    }
    double t0 = now_s();
    op(c);
    const double one = now_s() - t0;
    const int batch = one <= 50e-6 / 1024 ? 1024 : one >= 50e-6 ? 1 : (int) (50e-6 / one);
    double * t = malloc((size_t) reps * sizeof(double));
    for (int r = 0; r < reps; r++) {
        double p = 0.0;
        if (prep) {
            t0 = now_s();
            for (int k = 0; k < batch; k++) {
                prep(c);
            }
            p = now_s() - t0;
        }
        t0 = now_s();
        for (int k = 0; k < batch; k++) {
            if (prep) {
                prep(c);
            }
            op(c);
        }
        t[r] = (now_s() - t0 - p) / batch;
    }
    const double m = median(t, reps);
    free(t);
    return m * 1e6;
}

static void op_clear(struct timed_call * c) {
    graph_clear_data(c->g);
}

// Planning alone, as ggml's figure is measured: ggml_gallocr_reserve_n_size
// (graph walk and plan, no buffer allocation).
static void op_reserve(struct timed_call * c) {
    size_t size = 0;
    ggml_gallocr_reserve_n_size(c->galloc, c->g, NULL, NULL, &size);
}

// A fresh allocator's first reserve, as a program that makes one per graph pays it (the
// planner's remembered plan does not help here): new + reserve + free, on a graph that the
// previous allocator's placements are cleared from.
static void op_fresh_reserve(struct timed_call * c) {
    ggml_gallocr_t galloc = ggml_gallocr_new(c->buft);
    ggalloc_gallocr_set_planner(galloc, c->planner);
    ggalloc_gallocr_set_time_budget(galloc, c->time_budget);
    ggml_gallocr_reserve(galloc, c->g);
    ggml_gallocr_free(galloc);
}

static void op_alloc(struct timed_call * c) {
    ggml_gallocr_alloc_graph(c->galloc, c->g);
}

static double time_reserve(ggml_gallocr_t galloc, struct ggml_cgraph * g, int reps) {
    struct timed_call c = { .galloc = galloc, .g = g };
    return time_op(op_reserve, NULL, &c, reps);
}

// (time_budget: the allocator's, ggalloc_gallocr_set_time_budget)
static double time_fresh_reserve(ggml_backend_buffer_type_t buft, enum ggalloc_planner planner, double time_budget,
        struct ggml_cgraph * g, int reps) {
    struct timed_call c = { .g = g, .buft = buft, .planner = planner, .time_budget = time_budget };
    const double us = time_op(op_fresh_reserve, op_clear, &c, reps);
    graph_clear_data(g);
    return us;
}

// The buffer size BEST reaches in a fresh allocator given time_budget.
static size_t budgeted_size(ggml_backend_buffer_type_t buft, double time_budget, struct ggml_cgraph * g) {
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    ggalloc_gallocr_set_time_budget(galloc, time_budget);
    const size_t size = ggml_gallocr_reserve(galloc, g) ? ggml_gallocr_get_buffer_size(galloc, 0) : 0;
    ggml_gallocr_free(galloc);
    graph_clear_data(g);
    return size;
}

// alloc_graph re-using the plan; with `rebuilt`, on a graph whose tensors have no memory yet (as
// a graph built again for the next step is: ggml's figure is measured so).
static double time_alloc(ggml_gallocr_t galloc, struct ggml_cgraph * g, int reps, bool rebuilt) {
    struct timed_call c = { .galloc = galloc, .g = g };
    return time_op(op_alloc, rebuilt ? op_clear : NULL, &c, reps);
}

// Forgets where a previous allocator put the graph's tensors (whose buffers are gone with it),
// so that the next allocator plans them all again.
static void graph_clear_data(struct ggml_cgraph * g) {
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        ggml_graph_node(g, i)->data = NULL;
        ggml_graph_node(g, i)->buffer = NULL;
    }
    for (int i = 0; i < ggalloc_graph_n_leafs(g); i++) {
        ggalloc_graph_leaf(g, i)->data = NULL;
        ggalloc_graph_leaf(g, i)->buffer = NULL;
    }
}

static bool measure_graph(struct ggml_cgraph * g, const char * name, int reps, struct graph_row * row) {
    memset(row, 0, sizeof(*row));
    snprintf(row->name, sizeof(row->name), "%s", name);
    row->n_nodes = ggml_graph_n_nodes(g);
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(ALIGNMENT, SIZE_MAX);
    row->fresh_ggml_us = time_fresh_reserve(buft, GGALLOC_PLANNER_GGML, 0, g, reps);
    row->fresh_best_us = time_fresh_reserve(buft, GGALLOC_PLANNER_BEST, 0, g, reps);
    for (int planner = 0; planner < 2; planner++) {
        graph_clear_data(g);
        ggml_gallocr_t galloc = ggml_gallocr_new(buft);
        if (galloc == NULL) {
            return false;
        }
        ggalloc_gallocr_set_planner(galloc, planner == 0 ? GGALLOC_PLANNER_GGML : GGALLOC_PLANNER_BEST);
        if (!ggml_gallocr_reserve(galloc, g)) {
            ggml_gallocr_free(galloc);
            return false;
        }
        const size_t size = ggml_gallocr_get_buffer_size(galloc, 0);
        const double tr = time_reserve(galloc, g, reps);
        ggml_gallocr_reserve(galloc, g); // buffers for the plan, as alloc_graph expects
        const double ta = time_alloc(galloc, g, reps, false);
        const double tb = time_alloc(galloc, g, reps, true);
        if (planner == 0) {
            row->ggml = size;
            row->reserve_ggml_us = tr;
            row->alloc_ggml_us = ta;
            row->rebuilt_ggml_us = tb;
        } else {
            row->best = size;
            row->lb = ggalloc_gallocr_lower_bound(galloc, 0);
            row->reserve_best_us = tr;
            row->alloc_best_us = ta;
            row->rebuilt_best_us = tb;
            row->violations = ggalloc_graph_verify(g);
            for (int i = 0; i < ggalloc_gallocr_n_placements(galloc); i++) {
                struct ggalloc_placement p;
                if (ggalloc_gallocr_get_placement(galloc, i, &p)) {
                    row->no_reuse += p.size;
                }
            }
        }
        ggml_gallocr_free(galloc);
    }
    graph_clear_data(g);
    return true;
}

static void emit_graph_header(void) {
    emit("reserve: ggml_gallocr_reserve_n_size again on the same graph (the planner's remembered plan is reused); "
         "first reserve: ggml_gallocr_new + ggml_gallocr_reserve + ggml_gallocr_free; alloc_graph rebuilt: re-using the "
         "plan on a graph whose tensors have no memory yet.\n\n");
    emit("| graph | nodes | best B | ggml B | lower bound B | best/LB | best/ggml | no reuse B | reserve best µs | reserve ggml µs | first reserve best µs | first reserve ggml µs | alloc_graph best µs | alloc_graph ggml µs | alloc_graph rebuilt best µs | alloc_graph rebuilt ggml µs | verify |\n");
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

static void emit_graph_row(const struct graph_row * r) {
    emit("| %s | %d | %zu | %zu | %zu | %.4f | %.4f | %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %d |\n",
         r->name, r->n_nodes, r->best, r->ggml, r->lb, (double) r->best / (double) r->lb,
         (double) r->best / (double) r->ggml, r->no_reuse, r->reserve_best_us, r->reserve_ggml_us, r->fresh_best_us,
         r->fresh_ggml_us, r->alloc_best_us, r->alloc_ggml_us, r->rebuilt_best_us, r->rebuilt_ggml_us, r->violations);
}

//
// Against ggml itself
//

// The graphs of the graph table: these of tests/data/graphs, then random DAGs of 40, 100 and 500
// ops (about 80, 160 and 750 nodes: a small model's graph up to GPT-2's size; seeds 0-2) and of
// 2,000 ops (seeds 0-2, and 10: one of the DAGs, about one in ten, where the first greedy order
// misses the bound, so that BEST makes the online plan as well).
static const char * const table_graphs[] = { "mlp-4x1024-b256", "gpt2-small-decode-1", "gpt2-small-prefill-512" };
static const int table_dag_sizes[] = { 40, 100, 500, 2000 };
static const int table_dag_seeds[] = { 0, 1, 2, 10 };

static int table_dag_n_seeds(int n_nodes) {
    return n_nodes == 2000 ? 4 : 3;
}

// The names of the table's graphs, in its order (at most cap); their number.
static int table_graph_names(char (*names)[64], int cap) {
    int n = 0;
    for (size_t k = 0; k < sizeof(table_graphs) / sizeof(table_graphs[0]) && n < cap; k++) {
        snprintf(names[n++], 64, "%s", table_graphs[k]);
    }
    for (size_t k = 0; k < sizeof(table_dag_sizes) / sizeof(table_dag_sizes[0]); k++) {
        for (int si = 0; si < table_dag_n_seeds(table_dag_sizes[k]) && n < cap; si++) {
            snprintf(names[n++], 64, "random-dag-%d-s%d", table_dag_sizes[k], table_dag_seeds[si]);
        }
    }
    return n;
}

// A graph by the name the table gives it: random-dag-N-sK, or a file of tests/data/graphs without
// its .json. NULL, with a line on stderr, if there is none.
static struct ggml_cgraph * named_graph(const char * name, struct ggml_context ** ctx) {
    int dag_n = 0;
    int dag_seed = 0;
    if (sscanf(name, "random-dag-%d-s%d", &dag_n, &dag_seed) == 2 && dag_n > 0 && dag_n <= 1000000 && dag_seed >= 0) {
        return seeded_dag(dag_n, dag_seed, ctx);
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/graphs/%s.json", GGALLOC_DATA_DIR, name);
    struct ggml_cgraph * g = ggalloc_graph_load_json(path, ctx);
    if (g == NULL) {
        fprintf(stderr, "bench-plan: cannot load %s\n", path);
    }
    return g;
}

// ggml's RPC server beside the repository (../shared/peers from the repository's root, two
// levels above tests/data), or the file GGALLOC_GGML_PEER names.
static const char * ggml_peer_path(char * buf, size_t size) {
    const char * env = getenv("GGALLOC_GGML_PEER");
    if (env != NULL && env[0] != '\0') {
        return env;
    }
    const char * data = GGALLOC_DATA_DIR;
    const char * tail = "/tests/data";
    const size_t n = strlen(data), m = strlen(tail);
    if (n >= m && strcmp(data + n - m, tail) == 0) {
        snprintf(buf, size, "%.*s/../shared/peers/ggml-rpc-server", (int) (n - m), data);
    } else {
        snprintf(buf, size, "%s/../../../shared/peers/ggml-rpc-server", data);
    }
    return buf;
}

// The same as the tables name it: the default by its place beside the repository, and with the
// ggml commit it was built from (../shared/peers/README.md).
static const char * ggml_peer_name(void) {
    const char * env = getenv("GGALLOC_GGML_PEER");
    return env != NULL && env[0] != '\0' ? env : "../shared/peers/ggml-rpc-server, ggml commit d99724f2";
}

// ggml, loaded once; NULL, with the reason in why, if it cannot be.
static const struct peer_lib * ggml_peer(const char ** why) {
    static struct peer_lib lib;
    static int state = 0; // 0: not tried, 1: loaded, -1: failed
    static char reason[1024];
    if (state == 0) {
        char buf[4096];
        state = peer_lib_load_ggml(&lib, ggml_peer_path(buf, sizeof(buf)), reason, sizeof(reason)) ? 1 : -1;
    }
    *why = reason;
    return state == 1 ? &lib : NULL;
}

// The same calls as above, made through a library's functions on a copy of the graph.
static void op_peer_clear(struct timed_call * c) {
    peer_graph_clear(c->pg);
}

static void op_peer_fresh_reserve(struct timed_call * c) {
    const struct peer_lib * lib = c->pg->lib;
    ggml_gallocr_t galloc = lib->ggml_gallocr_new(c->buft);
    lib->ggml_gallocr_reserve(galloc, c->pg->graph);
    lib->ggml_gallocr_free(galloc);
}

static void op_peer_reserve(struct timed_call * c) {
    size_t size = 0;
    c->pg->lib->ggml_gallocr_reserve_n_size(c->galloc, c->pg->graph, NULL, NULL, &size);
}

static void op_peer_alloc(struct timed_call * c) {
    c->pg->lib->ggml_gallocr_alloc_graph(c->galloc, c->pg->graph);
}

enum { VS_FRESH, VS_RESERVE, VS_REBUILT, VS_N };

struct vs_row {
    int    n_nodes;
    double us[2][VS_N]; // [ours, ggml][call]
    size_t size[2];     // each one's buffer
};

// The buffer our reproduction of ggml's placement plans for g: ggml's must be the same.
static size_t ggml_planner_size(struct ggml_cgraph * g) {
    graph_clear_data(g);
    ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(ALIGNMENT, SIZE_MAX));
    size_t size = 0;
    if (galloc != NULL) {
        ggalloc_gallocr_set_planner(galloc, GGALLOC_PLANNER_GGML);
        if (ggml_gallocr_reserve(galloc, g)) {
            size = ggml_gallocr_get_buffer_size(galloc, 0);
        }
        ggml_gallocr_free(galloc);
    }
    graph_clear_data(g);
    return size;
}

// Rounds of the comparison, alternating which library goes first: a vCPU that slows down for
// minutes during the run then slows both alike, and each library's figure is the lowest of its
// rounds' medians.
#define VS_ROUNDS 4

// Copies g into both libraries with the one copying function and times the three calls on each
// copy, interleaved. false, with the reason in err, if ggml cannot run this graph.
static bool vs_measure(const struct peer_lib * ggml_lib, struct ggml_cgraph * g, int reps, struct vs_row * row,
        char * err, size_t err_size) {
    struct peer_lib ours;
    peer_lib_ours(&ours);
    const struct peer_lib * libs[2] = { &ours, ggml_lib };
    struct peer_graph pg[2];
    ggml_gallocr_t galloc[2] = { NULL, NULL };
    memset(pg, 0, sizeof(pg));
    memset(row, 0, sizeof(*row));
    row->n_nodes = ggml_graph_n_nodes(g);
    bool ok = true;
    for (int l = 0; l < 2 && ok; l++) {
        ok = peer_graph_copy(libs[l], g, &pg[l], err, err_size);
        if (ok) {
            galloc[l] = libs[l]->ggml_gallocr_new(libs[l]->ggml_backend_cpu_buffer_type());
            ok = galloc[l] != NULL && libs[l]->ggml_gallocr_reserve(galloc[l], pg[l].graph);
            if (!ok) {
                snprintf(err, err_size, "%s: ggml_gallocr_reserve failed", libs[l]->name);
            } else {
                row->size[l] = libs[l]->ggml_gallocr_get_buffer_size(galloc[l], 0);
            }
        }
    }
    for (int l = 0; l < 2; l++) {
        for (int k = 0; k < VS_N; k++) {
            row->us[l][k] = INFINITY;
        }
    }
    for (int round = 0; round < VS_ROUNDS && ok; round++) {
        for (int turn = 0; turn < 2; turn++) {
            const int l = (round + turn) % 2;
            struct timed_call c = { .galloc = galloc[l], .buft = libs[l]->ggml_backend_cpu_buffer_type(), .pg = &pg[l] };
            double us[VS_N];
            peer_graph_clear(&pg[l]);
            us[VS_FRESH] = time_op(op_peer_fresh_reserve, op_peer_clear, &c, reps);
            peer_graph_clear(&pg[l]); // the last fresh allocator's placements are gone with it
            us[VS_RESERVE] = time_op(op_peer_reserve, NULL, &c, reps);
            us[VS_REBUILT] = time_op(op_peer_alloc, op_peer_clear, &c, reps);
            peer_graph_clear(&pg[l]);
            for (int k = 0; k < VS_N; k++) {
                row->us[l][k] = fmin(row->us[l][k], us[k]);
            }
        }
    }
    for (int l = 0; l < 2; l++) {
        if (galloc[l] != NULL) {
            libs[l]->ggml_gallocr_free(galloc[l]);
        }
        if (pg[l].lib != NULL) {
            peer_graph_free(&pg[l]);
        }
    }
    return ok;
}

static void emit_vs_header(const char * peer) {
    emit("ggml itself (%s) loaded into this process. Each graph is copied into each library "
         "by one function (the same tensors, flags and node order; weights get a dummy data pointer, as weights in "
         "another buffer have), and the same program runs on both copies: first reserve = ggml_gallocr_new + "
         "ggml_gallocr_reserve + ggml_gallocr_free; ggml_gallocr_reserve_n_size on a reserved allocator; "
         "ggml_gallocr_alloc_graph re-using the plan on the graph with its memory cleared (as rebuilt). Both use "
         "their ggml_backend_cpu_buffer_type (alignment 32), ours its default planner (BEST). Each figure is the "
         "lowest of %d rounds' medians, the rounds alternating which library goes first. The ggml planner column "
         "is our reproduction of ggml's placement on the original graph: ggml's buffer must be exactly that.\n\n",
         peer, VS_ROUNDS);
    emit("| graph | nodes | first reserve ours µs | ggml µs | ours/ggml | reserve_n_size ours µs | ggml µs | ours/ggml | "
         "alloc_graph rebuilt ours µs | ggml µs | ours/ggml | ours B | ggml B | our ggml planner B |\n");
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

// One graph's row; expected: our ggml planner's buffer for it (0: work it out).
static void vs_graph(const struct peer_lib * ggml_lib, const char * name, struct ggml_cgraph * g, int reps, size_t expected) {
    if (expected == 0) {
        expected = ggml_planner_size(g);
    }
    graph_clear_data(g);
    struct vs_row r;
    char err[512] = "";
    if (!vs_measure(ggml_lib, g, reps, &r, err, sizeof(err))) {
        emit("| %s | %d | ggml not measured: %s | | | | | | | | | | | |\n", name, ggml_graph_n_nodes(g), err);
        return;
    }
    char check[96];
    if (r.size[1] == expected) {
        snprintf(check, sizeof(check), "%zu (same)", expected);
    } else {
        snprintf(check, sizeof(check), "**%zu: MISMATCH**", expected);
        fprintf(stderr, "bench-plan: MISMATCH on %s: ggml's buffer is %zu B, our ggml planner's %zu B\n", name, r.size[1],
                expected);
    }
    emit("| %s | %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %.1f | %.1f | %.2f | %zu | %zu | %s |\n", name, r.n_nodes,
         r.us[0][VS_FRESH], r.us[1][VS_FRESH], r.us[0][VS_FRESH] / r.us[1][VS_FRESH], r.us[0][VS_RESERVE],
         r.us[1][VS_RESERVE], r.us[0][VS_RESERVE] / r.us[1][VS_RESERVE], r.us[0][VS_REBUILT], r.us[1][VS_REBUILT],
         r.us[0][VS_REBUILT] / r.us[1][VS_REBUILT], r.size[0], r.size[1], check);
}

// Repetitions per round as the graph table has them: 31 up to the 500-node DAGs (about 800
// nodes), 11 for the 2,000-node ones.
static int vs_reps(int n_nodes) {
    return n_nodes <= 1000 ? 31 : 11;
}

//
// Traces
//

static int load_trace(const char * path, struct gga_block ** out) {
    FILE * f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    int n = 0, cap = 256;
    struct gga_block * b = malloc((size_t) cap * sizeof(*b));
    if (b == NULL || fgets(line, sizeof(line), f) == NULL) {
        free(b);
        fclose(f);
        return -1;
    }
    long long id, lo, up, size;
    while (fscanf(f, "%lld,%lld,%lld,%lld", &id, &lo, &up, &size) == 4) {
        if (n == cap) {
            cap *= 2;
            b = realloc(b, (size_t) cap * sizeof(*b));
        }
        b[n++] = (struct gga_block) { (size_t) size, lo, up, -1 };
    }
    fclose(f);
    *out = b;
    return n;
}

// The textbook greedy by size, as a reference: largest first, each at the lowest offset free
// of every placed block it overlaps in time.
static size_t greedy_by_size(const struct gga_block * b, int n) {
    int * order = malloc((size_t) n * sizeof(int));
    size_t * off = malloc((size_t) n * sizeof(size_t));
    bool * placed = calloc((size_t) n, sizeof(bool));
    for (int i = 0; i < n; i++) {
        order[i] = i;
    }
    for (int i = 1; i < n; i++) { // insertion sort: n is small
        const int k = order[i];
        int j = i - 1;
        while (j >= 0 && b[order[j]].size < b[k].size) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = k;
    }
    size_t peak = 0;
    for (int a = 0; a < n; a++) {
        const int i = order[a];
        size_t x = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (int j = 0; j < n; j++) {
                if (placed[j] && b[i].start < b[j].end && b[j].start < b[i].end &&
                    x < off[j] + b[j].size && off[j] < x + b[i].size) {
                    x = off[j] + b[j].size;
                    moved = true;
                }
            }
        }
        off[i] = x;
        placed[i] = true;
        peak = x + b[i].size > peak ? x + b[i].size : peak;
    }
    free(order);
    free(off);
    free(placed);
    return peak;
}

static void bench_traces(void) {
    emit("\n## Traces (alignment 1)\n\n");
    emit("Best: ggalloc_plan_intervals_bound with the default options (a time budget of 1 s of wall-clock time while\n"
         "above the bound): the plan depends on how much CPU time that second gives, which the two columns show.\n"
         "Proven bound: the bound the planner returns (the lower bound, or more where its exact search proved that\n"
         "nothing smaller fits); best/proven = 1 means the plan is optimal.\n\n");
    emit("| trace | blocks | lower bound | proven bound | online (ggml) | greedy by size | best | best/LB | best/proven | online/LB | greedy/LB | best CPU ms | best wall ms |\n");
    emit("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    double log_best = 0, log_greedy = 0, log_online = 0, log_proven = 0;
    int n_traces = 0;
    for (char c = 'A'; c <= 'K'; c++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/traces/%c.csv", GGALLOC_DATA_DIR, c);
        struct gga_block * b = NULL;
        const int n = load_trace(path, &b);
        if (n <= 0) {
            emit("| %c | cannot read %s | | | | | | | | | | |\n", c, path);
            continue;
        }
        const size_t lb = gga_lower_bound(b, n, 1);
        struct gga_plan_params p = { .alignment = 1, .max_size = SIZE_MAX, .max_chunks = 1, .strategy = GGA_STRATEGY_ONLINE };
        struct gga_plan plan = { 0 };
        char err[256];
        size_t online = 0, best = 0;
        if (gga_plan_blocks(b, n, &p, &plan, err, sizeof(err))) {
            online = plan.peak;
        }
        gga_plan_release(&plan);
        // the public entry point, as a user calls it
        size_t * sizes = malloc((size_t) n * sizeof(size_t));
        int64_t * starts = malloc((size_t) n * sizeof(int64_t));
        int64_t * ends = malloc((size_t) n * sizeof(int64_t));
        size_t * offsets = malloc((size_t) n * sizeof(size_t));
        for (int i = 0; i < n; i++) {
            sizes[i] = b[i].size;
            starts[i] = b[i].start;
            ends[i] = b[i].end;
        }
        const double t0 = now_s();
        const double w0 = wall_s();
        const struct ggalloc_plan_options opt = ggalloc_plan_options_default(); // BEST, 1 s
        size_t proven = 0;
        const bool ok = ggalloc_plan_intervals_bound(n, sizes, starts, ends, 1, &opt, offsets, &best, &proven);
        const double dt = now_s() - t0;
        const double dw = wall_s() - w0;
        const size_t greedy = greedy_by_size(b, n);
        if (ok) {
            emit("| %c | %d | %zu | %zu | %zu | %zu | %zu | %.4f | %.4f | %.4f | %.4f | %.1f | %.1f |\n", c, n, lb, proven, online,
                 greedy, best, (double) best / (double) lb, (double) best / (double) proven, (double) online / (double) lb,
                 (double) greedy / (double) lb, dt * 1e3, dw * 1e3);
            log_best += log((double) best / (double) lb);
            log_proven += log((double) best / (double) proven);
            log_greedy += log((double) greedy / (double) lb);
            log_online += log((double) online / (double) lb);
            n_traces++;
        }
        free(sizes);
        free(starts);
        free(ends);
        free(offsets);
        free(b);
    }
    if (n_traces > 0) {
        emit("| geometric mean | | | | | | | **%.4f** | %.4f | %.4f | %.4f | | |\n", exp(log_best / n_traces),
             exp(log_proven / n_traces), exp(log_online / n_traces), exp(log_greedy / n_traces));
    }
}


// Generated lifetimes at scale. "random graph": one buffer made per step, read by a few later
// steps (most soon, some much later), sizes from a handful of tensor widths, as in the random
// DAGs above. "repeated layers": a transformer-like layer of 24 buffers (a residual stream,
// attention and MLP activations of four widths) repeated until n buffers.
static int gen_random_graph(struct gga_block * b, int n) {
    static const size_t widths[] = { 4096, 8192, 16384, 65536, 131072 };
    for (int i = 0; i < n; i++) {
        const int r = rnd(100);
        const int64_t len = r < 70 ? 1 + rnd(8) : r < 95 ? 8 + rnd(64) : 64 + rnd(1024);
        b[i] = (struct gga_block) { widths[rnd(5)] + (size_t) (rnd(4) * 256), i, i + len, -1 };
    }
    return n;
}

static int gen_layers(struct gga_block * b, int n) {
    // (size in units of 4 KiB, first step, last step) within a layer of 16 steps
    static const int layer[][3] = {
        { 16, 0, 16 }, { 16, 0, 2 }, { 16, 1, 4 }, { 16, 1, 4 }, { 16, 1, 6 }, { 64, 2, 4 },
        { 64, 3, 5 }, { 64, 4, 6 }, { 16, 5, 7 }, { 16, 6, 8 }, { 16, 7, 9 }, { 16, 8, 10 },
        { 16, 9, 11 }, { 48, 10, 12 }, { 48, 10, 12 }, { 48, 11, 13 }, { 48, 12, 14 }, { 16, 13, 15 },
        { 16, 14, 16 }, { 4, 0, 16 }, { 4, 3, 9 }, { 8, 5, 12 }, { 2, 0, 8 }, { 2, 8, 16 },
    };
    const int per = (int) (sizeof(layer) / sizeof(layer[0]));
    for (int i = 0; i < n; i++) {
        const int l = i / per;
        const int k = i % per;
        b[i] = (struct gga_block) { (size_t) layer[k][0] * 4096, (int64_t) l * 16 + layer[k][1],
                                    (int64_t) l * 16 + layer[k][2] + (k == 0 ? 1 : 0), -1 };
    }
    return n;
}

// "dense random graph": one buffer made per step, live for 100 to 700 steps (about 400 at each
// step): 80M pairs live at once in 200k buffers, past the conflict graph's cap, so planned by
// decomposition.
static int gen_dense(struct gga_block * b, int n) {
    static const size_t widths[] = { 4096, 8192, 16384, 65536, 131072 };
    for (int i = 0; i < n; i++) {
        b[i] = (struct gga_block) { widths[rnd(5)] + (size_t) (rnd(4) * 256), i, i + 100 + rnd(600), -1 };
    }
    return n;
}

static void bench_generated(void) {
    emit("\n## Generated lifetimes (alignment 1)\n\n");
    emit("Best: ggalloc_plan_intervals_ex, default options with a time budget of 1 s per 125k buffers (at "
         "least 1 s: the default; 1 s per 50k for the dense graph), spent only while above the bound. Greedy by "
         "size (the O(n^2) reference) only up to 10k buffers. The dense graph has 80M pairs of buffers live at "
         "once, past the conflict graph's cap: it is planned by decomposition in time.\n\n");
    emit("| instance | buffers | lower bound | budget s | best | best/LB | best CPU ms | best wall ms | online/LB | online ms | greedy/LB |\n");
    emit("|---|---|---|---|---|---|---|---|---|---|---|\n");
    static const char * const kinds[] = { "random graph", "repeated layers", "dense random graph" };
    const int sizes_n[] = { 10000, 100000, 1000000 };
    for (int kind = 0; kind < 3; kind++) {
        for (size_t k = 0; k < sizeof(sizes_n) / sizeof(sizes_n[0]); k++) {
            // the dense instance at one size: 200k buffers
            const int n = kind == 2 ? (k == 0 ? 200000 : 0) : sizes_n[k];
            if (n == 0) {
                continue;
            }
            rng = 0xabcdef12345ull + (uint64_t) k;
            struct gga_block * b = malloc((size_t) n * sizeof(*b));
            size_t * sz = malloc((size_t) n * sizeof(size_t));
            int64_t * st = malloc((size_t) n * sizeof(int64_t));
            int64_t * en = malloc((size_t) n * sizeof(int64_t));
            size_t * off = malloc((size_t) n * sizeof(size_t));
            if (b == NULL || sz == NULL || st == NULL || en == NULL || off == NULL) {
                emit("| %s | %d | out of memory | | | | | | | | |\n", kinds[kind], n);
            } else {
                kind == 2 ? gen_dense(b, n) : kind == 1 ? gen_layers(b, n) : gen_random_graph(b, n);
                for (int i = 0; i < n; i++) {
                    sz[i] = b[i].size;
                    st[i] = b[i].start;
                    en[i] = b[i].end;
                }
                const size_t lb = ggalloc_intervals_lower_bound(n, sz, st, en, 1);
                struct ggalloc_plan_options opt = ggalloc_plan_options_default();
                // the first greedy pass over 1M buffers takes about a second here: a budget that
                // grows with the instance, as a user planning one would give
                if (opt.time_budget < n / 125000.0) {
                    opt.time_budget = n / 125000.0;
                }
                // the dense one (80M pairs): about 3 s of decomposition
                if (kind == 2) {
                    opt.time_budget = n / 50000.0;
                }
                const double budget = opt.time_budget;
                size_t best = 0, online = 0;
                double t0 = now_s();
                const double w0 = wall_s();
                const bool ok_best = ggalloc_plan_intervals_ex(n, sz, st, en, 1, &opt, off, &best);
                const double t_best = now_s() - t0;
                const double w_best = wall_s() - w0;
                opt.planner = GGALLOC_PLANNER_GGML;
                t0 = now_s();
                const bool ok_online = ggalloc_plan_intervals_ex(n, sz, st, en, 1, &opt, off, &online);
                const double t_online = now_s() - t0;
                char greedy[32] = "-";
                if (n <= 10000) {
                    snprintf(greedy, sizeof(greedy), "%.4f", (double) greedy_by_size(b, n) / (double) lb);
                }
                if (ok_best && ok_online && lb > 0) {
                    emit("| %s | %d | %zu | %.0f | %zu | %.4f | %.1f | %.1f | %.4f | %.1f | %s |\n", kinds[kind],
                         n, lb, budget, best, (double) best / (double) lb, t_best * 1e3, w_best * 1e3, (double) online / (double) lb,
                         t_online * 1e3, greedy);
                }
            }
            free(b);
            free(sz);
            free(st);
            free(en);
            free(off);
        }
    }
}

// Reorders g, with its peak before and after, and the median time of five reorders of its
// original order (restored between them): a single one measured mostly the C library's first
// touch of the pages it handed out, which depends on what the process did before.
static void time_reorder(struct ggml_cgraph * g, size_t * before, size_t * after, double * ms) {
    const int n = ggml_graph_n_nodes(g);
    struct ggml_tensor ** nodes = ggml_graph_nodes(g);
    struct ggml_tensor ** original = malloc((size_t) (n > 0 ? n : 1) * sizeof(*original));
    memcpy(original, nodes, (size_t) n * sizeof(*nodes));
    *before = ggalloc_graph_peak_bytes(g, ALIGNMENT);
    double t[5];
    for (int r = 0; r < 5; r++) {
        memcpy(nodes, original, (size_t) n * sizeof(*nodes));
        const double t0 = now_s();
        ggalloc_graph_reorder(g);
        t[r] = (now_s() - t0) * 1e3;
    }
    *ms = median(t, 5);
    *after = ggalloc_graph_peak_bytes(g, ALIGNMENT);
    free(original);
}

int main(int argc, char ** argv) {
    // `bench-plan traces`, `generated` or `fresh`: that section alone, printed only
    if (argc > 1) {
        ggml_log_set(NULL, NULL);
        if (strcmp(argv[1], "traces") == 0) {
            bench_traces();
        } else if (strcmp(argv[1], "generated") == 0) {
            bench_generated();
        } else if (strcmp(argv[1], "fresh") == 0) {
            // a fresh allocator's first reserve, many times, for a profiler: on random-dag-2000-s0,
            // or on the graph named by the fourth argument (random-dag-N-sK as in the table, or one
            // of tests/data/graphs); a third argument, best or ggml, times that planner alone
            const int reps = argc > 2 && atoi(argv[2]) > 0 ? atoi(argv[2]) : 200;
            const char * only = argc > 3 ? argv[3] : "";
            const char * name = argc > 4 ? argv[4] : "random-dag-2000-s0";
            struct ggml_context * ctx = NULL;
            struct ggml_cgraph * g = named_graph(name, &ctx);
            if (g == NULL) {
                return 1;
            }
            const ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(ALIGNMENT, SIZE_MAX);
            const double best_us = strcmp(only, "ggml") == 0 ? 0 : time_fresh_reserve(buft, GGALLOC_PLANNER_BEST, 0, g, reps);
            const double ggml_us = strcmp(only, "best") == 0 ? 0 : time_fresh_reserve(buft, GGALLOC_PLANNER_GGML, 0, g, reps);
            printf("first reserve, %s, median of %d: best %.1f us, ggml planner %.1f us\n", name, reps, best_us, ggml_us);
            ggml_free(ctx);
        } else if (strcmp(argv[1], "vs-ggml") == 0) {
            // the comparison with ggml itself alone: on every graph of the graph table, or on the
            // one named by the third argument (as for fresh); the second argument, if above 0,
            // sets the repetitions per round
            const int reps = argc > 2 ? atoi(argv[2]) : 0;
            const char * why = NULL;
            const struct peer_lib * ggml_lib = ggml_peer(&why);
            if (ggml_lib == NULL) {
                printf("ggml not measured: %s\n", why);
                return 1;
            }
            char names[24][64];
            int n_names = 0;
            if (argc > 3) {
                snprintf(names[n_names++], sizeof(names[0]), "%s", argv[3]);
            } else {
                n_names = table_graph_names(names, 24);
            }
            int rc = 0;
            bool header = false;
            for (int k = 0; k < n_names; k++) {
                struct ggml_context * ctx = NULL;
                struct ggml_cgraph * g = named_graph(names[k], &ctx);
                if (g == NULL) {
                    rc = 1;
                    continue;
                }
                if (!header) {
                    emit_vs_header(ggml_peer_name());
                    header = true;
                }
                vs_graph(ggml_lib, names[k], g, reps > 0 ? reps : vs_reps(ggml_graph_n_nodes(g)), 0);
                ggml_free(ctx);
            }
            return rc;
        } else {
            fprintf(stderr, "usage: bench-plan [traces | generated | fresh [reps [best | ggml | both [graph]]] | vs-ggml [reps [graph]]]\n");
            return 2;
        }
        return 0;
    }
    out_md = fopen("bench/results/plan.md", "w");
    if (out_md == NULL) {
        fprintf(stderr, "bench-plan: cannot write bench/results/plan.md (run from the repository root); printing only\n");
    }
    ggml_log_set(NULL, NULL);
    emit("# Memory planners: ggml's online placement vs ggalloc BEST\n\n");
    emit("CPU host buffer type, alignment %d, one buffer. Sizes in bytes (exact); times are medians of the\n"
         "process's CPU time (planning is single-threaded; CPU time stays steady on a shared machine), per call,\n"
         "timed in batches of about 50 µs so that the clock's own cost (about 1 µs a read) stays out of them.\n"
         "On the two-vCPU machines this runs on, one vCPU may run 1.5-1.6x slower than the other for minutes\n"
         "at a time, and a process stays on the one it lands on: compare figures of one run, or pin runs\n"
         "to one vCPU (`taskset -c N build/bench-plan`). ggml itself, when it can be loaded, is timed in this run,\n"
         "interleaved with ours (section \"Against ggml itself\").\n"
         "ggml planner = our reproduction of ggml's online placement (same sizes as ggml); best = GGALLOC_PLANNER_BEST.\n\n", ALIGNMENT);

    emit("## Graphs\n\n");
    emit_graph_header();
    struct { char name[64]; size_t before, after; double ms; } reord[24];
    struct graph_row rows[24];
    int n_rows = 0;
    int n_reord = 0;
    for (size_t k = 0; k < sizeof(table_graphs) / sizeof(table_graphs[0]); k++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/graphs/%s.json", GGALLOC_DATA_DIR, table_graphs[k]);
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = ggalloc_graph_load_json(path, &ctx);
        if (g == NULL) {
            emit("| %s | cannot load %s | | | | | | | | | | | |\n", table_graphs[k], path);
            continue;
        }
        struct graph_row row;
        if (measure_graph(g, table_graphs[k], 31, &row)) {
            emit_graph_row(&row);
            rows[n_rows++] = row;
        }
        snprintf(reord[n_reord].name, sizeof(reord[n_reord].name), "%s", table_graphs[k]);
        time_reorder(g, &reord[n_reord].before, &reord[n_reord].after, &reord[n_reord].ms);
        n_reord++;
        ggml_free(ctx);
    }
    for (size_t k = 0; k < sizeof(table_dag_sizes) / sizeof(table_dag_sizes[0]); k++) {
        for (int si = 0; si < table_dag_n_seeds(table_dag_sizes[k]); si++) {
            const int seed = table_dag_seeds[si];
            struct ggml_context * ctx = NULL;
            struct ggml_cgraph * g = seeded_dag(table_dag_sizes[k], seed, &ctx);
            char name[64];
            snprintf(name, sizeof(name), "random-dag-%d-s%d", table_dag_sizes[k], seed);
            struct graph_row row;
            // 500-node graphs plan in about 0.1 ms: 31 runs, so that the median is past the first
            // runs after a plan by the other planner (cold caches, the heap being regrown)
            if (measure_graph(g, name, table_dag_sizes[k] <= 500 ? 31 : 11, &row)) {
                emit_graph_row(&row);
                rows[n_rows++] = row;
            }
            if (n_reord < 24) {
                snprintf(reord[n_reord].name, sizeof(reord[n_reord].name), "%s", name);
                time_reorder(g, &reord[n_reord].before, &reord[n_reord].after, &reord[n_reord].ms);
                n_reord++;
            }
            ggml_free(ctx);
        }
    }

    const char * why = NULL;
    const struct peer_lib * ggml_lib = ggml_peer(&why);
    if (ggml_lib != NULL) {
        emit("\n## Against ggml itself (measured in this run)\n\n");
        emit_vs_header(ggml_peer_name());
        for (int k = 0; k < n_rows; k++) {
            struct ggml_context * ctx = NULL;
            struct ggml_cgraph * g = named_graph(rows[k].name, &ctx);
            if (g != NULL) {
                vs_graph(ggml_lib, rows[k].name, g, vs_reps(ggml_graph_n_nodes(g)), rows[k].ggml);
                ggml_free(ctx);
            }
        }
    } else {
        emit("\n## Against ggml's figures (bench/anchors.md: the same ggml-API program built against ggml, another run)\n\n");
        emit("ggml not measured: %s\n\n", why);
        emit("| graph | first reserve best µs | ggml's | reserve best µs | ggml's reserve_n_size | alloc_graph best µs | ggml's |\n");
        emit("|---|---|---|---|---|---|---|\n");
    }
    for (int k = 0; k < n_rows && ggml_lib == NULL; k++) {
        static const struct { const char * name; const char * fresh, * again, * alloc; } anchor[] = {
            { "mlp-4x1024-b256", "2.3-2.5", "2.0", "0.9" },
            { "gpt2-small-prefill-512", "81-128", "33-55", "15.5-26.0" },
            { "gpt2-small-decode-1", "33-58", "33-56", "15.6-26.4" },
            { "random-dag-2000-s0", "464-470 (their 2,000-node DAG)", "381-399", "167-168" },
        };
        for (size_t a = 0; a < sizeof(anchor) / sizeof(anchor[0]); a++) {
            if (strcmp(anchor[a].name, rows[k].name) == 0) {
                emit("| %s | %.1f | %s | %.1f | %s | %.1f | %s |\n", rows[k].name, rows[k].fresh_best_us, anchor[a].fresh,
                     rows[k].reserve_best_us, anchor[a].again, rows[k].alloc_best_us, anchor[a].alloc);
            }
        }
    }

    // BEST with a time budget in gallocr (ggalloc_gallocr_set_time_budget): what a user who can
    // spare the time gets where the first greedy pass is above the bound, and what it costs where
    // it is not (nothing: the search stops at once on meeting the bound)
    const double budget = 0.01;
    emit("\n## BEST in gallocr with a time budget (ggalloc_gallocr_set_time_budget, %g s)\n\n", budget);
    emit("A fresh allocator's first reserve (new + reserve + free, CPU time, median) with the default budget (0: one "
         "greedy pass, and ggml's plan too when that pass is above the bound) and with %g s, in which a buffer above "
         "its bound is searched as bare lifetimes are.\n\n", budget);
    emit("| graph | nodes | best B, no budget | best B, %g s | lower bound B | first reserve µs, no budget | %g s |\n", budget,
         budget);
    emit("|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < n_rows; k++) {
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = named_graph(rows[k].name, &ctx);
        if (g == NULL) {
            continue;
        }
        ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(ALIGNMENT, SIZE_MAX);
        const int reps = ggml_graph_n_nodes(g) <= 1000 ? 21 : 7;
        const double t0 = time_fresh_reserve(buft, GGALLOC_PLANNER_BEST, 0, g, reps);
        const double t1 = time_fresh_reserve(buft, GGALLOC_PLANNER_BEST, budget, g, reps);
        emit("| %s | %d | %zu | %zu | %zu | %.1f | %.1f |\n", rows[k].name, rows[k].n_nodes, rows[k].best,
             budgeted_size(buft, budget, g), rows[k].lb, t0, t1);
        ggml_free(ctx);
    }

    emit("\n## Reordering the nodes (ggalloc_graph_reorder)\n\n");
    emit("| graph | lower bound before B | after B | after/before | reorder ms (median of 5) |\n|---|---|---|---|---|\n");
    for (int k = 0; k < n_reord; k++) {
        emit("| %s | %zu | %zu | %.4f | %.2f |\n", reord[k].name, reord[k].before, reord[k].after,
             (double) reord[k].after / (double) reord[k].before, reord[k].ms);
    }

    emit("\n## Planning time on random DAGs\n\n");
    emit("| nodes | best B | ggml B | lower bound B | best/LB | best/ggml | reserve best ms | reserve ggml ms | alloc_graph best ms | alloc_graph ggml ms |\n");
    emit("|---|---|---|---|---|---|---|---|---|---|\n");
    const int scale_sizes[] = { 1000, 10000, 100000 };
    for (size_t k = 0; k < sizeof(scale_sizes) / sizeof(scale_sizes[0]); k++) {
        rng = 0x1234567ull + (uint64_t) k;
        struct ggml_context * ctx = dag_ctx(scale_sizes[k]);
        struct ggml_cgraph * g = random_dag(ctx, scale_sizes[k]);
        struct graph_row row;
        const int reps = scale_sizes[k] >= 100000 ? 3 : scale_sizes[k] >= 10000 ? 7 : 21;
        if (measure_graph(g, "", reps, &row)) {
            emit("| %d | %zu | %zu | %zu | %.4f | %.4f | %.2f | %.2f | %.2f | %.2f |\n", row.n_nodes, row.best, row.ggml, row.lb,
                 (double) row.best / (double) row.lb, (double) row.best / (double) row.ggml,
                 row.reserve_best_us / 1e3, row.reserve_ggml_us / 1e3, row.alloc_best_us / 1e3, row.alloc_ggml_us / 1e3);
        }
        ggml_free(ctx);
    }

    bench_traces();
    bench_generated();
    if (out_md != NULL) {
        fclose(out_md);
    }
    return 0;
}
