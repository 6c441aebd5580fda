// Reordering a graph's nodes to lower the peak of live bytes.
//
// The liveness lower bound holds for one node order; another order that respects the
// dependencies can have a lower peak. ggalloc_graph_reorder builds a few candidate orders by
// memory-aware list scheduling and keeps the one whose peak, as ggalloc_graph_peak_bytes computes
// it with the allocator's exact lifetime rules, is lowest; the original order stays unless a
// candidate is strictly better.
//
// Dependencies. A node comes after every source that is a node, and after its view_src. Memory
// that is written through a view (an in-place op, a copy into a view of a cache) adds ordering on
// the written tensor: every access to that memory keeps its order relative to each write, as in
// the original order (reads between two writes may still move among themselves). Pure view ops
// (VIEW, RESHAPE, PERMUTE, TRANSPOSE) neither read nor write data.
//
// Scheduling. Kahn's algorithm over the dependency graph: at each step one ready node (all its
// predecessors scheduled) is chosen. A node "allocates" its own bytes (unless it is a view or
// external) and "frees" the bytes of each base tensor of which it is the last unscheduled reader
// (unless that tensor is an output, an input or external). Variants:
//   - most bytes freed minus bytes allocated first (ties: original position);
//   - fewest bytes allocated among the nodes that free something, else the original position;
//   - last made ready first (a depth-first order that finishes a chain before starting the next),
//     which keeps few branches open at once.
// Choosing scans the ready list: O(n * R) for R ready nodes at a time, plus O(n + E) for the
// dependency graph; each candidate is then evaluated once by ggalloc_graph_peak_bytes (O(n log n)).

#include "ggalloc-graph.h"
#include "lifetimes.h"
#include "log.h"
#include "ptrmap.h"
#include "reorder-impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GGA_REORDER_ALIGNMENT 32

// Allocations of this module go through here so that tests can make the k-th one fail and check
// that every failure path returns false with the graph unchanged.
static int gga_reorder_fail_at = -1;

void gga_reorder_fail_after(int k) {
    gga_reorder_fail_at = k;
}

static bool gga_reorder_may_alloc(void) {
    if (gga_reorder_fail_at < 0) {
        return true;
    }
    if (gga_reorder_fail_at == 0) {
        return false;
    }
    gga_reorder_fail_at--;
    return true;
}

static void * gga_malloc(size_t size) {
    return gga_reorder_may_alloc() ? malloc(size) : NULL;
}

static void * gga_calloc(size_t n, size_t size) {
    return gga_reorder_may_alloc() ? calloc(n, size) : NULL;
}

static void * gga_realloc(void * p, size_t size) {
    return gga_reorder_may_alloc() ? realloc(p, size) : NULL;
}

// The value of k in m (a node index), or -1.
static int gga_index_of(const struct gga_ptrmap * m, const void * k) {
    const int * v = gga_ptrmap_find(m, k);
    return v ? *v : -1;
}

// Sets k's value; false when out of memory. The maps here are sized up front, so this only
// fails where an allocation could.
static bool gga_index_set(struct gga_ptrmap * m, const void * k, int v) {
    int * slot = gga_ptrmap_get(m, k, v);
    if (slot != NULL) {
        *slot = v;
    }
    return slot != NULL;
}

static bool gga_is_pure_view_op(enum ggml_op op) {
    return op == GGML_OP_NONE || op == GGML_OP_VIEW || op == GGML_OP_RESHAPE || op == GGML_OP_PERMUTE ||
           op == GGML_OP_TRANSPOSE;
}

static const struct ggml_tensor * gga_base(const struct ggml_tensor * t) {
    while (t->view_src != NULL) {
        t = t->view_src;
    }
    return t;
}

static bool gga_is_external(const struct ggml_tensor * t) {
    return t->data != NULL || t->buffer != NULL || (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) != 0;
}

// The dependency graph in CSR form: succ[succ_first[i] .. succ_first[i+1]) and indegrees.
struct gga_deps {
    int   n;
    int * succ_first;
    int * succ;
    int * indeg;
    // per node: bytes it allocates, and the bases it reads (as node indices; -1 for none)
    size_t * alloc;
    int    * reads_first;
    int    * reads;       // base node indices read by each node (distinct)
    int    * n_readers;   // per node as a base: number of nodes reading it
    bool   * freeable;    // per node as a base: freed once its readers are done
};

static void gga_deps_free(struct gga_deps * d) {
    free(d->succ_first);
    free(d->succ);
    free(d->indeg);
    free(d->alloc);
    free(d->reads_first);
    free(d->reads);
    free(d->n_readers);
    free(d->freeable);
}

struct gga_edge {
    int from;
    int to;
};

static int gga_edge_cmp(const void * a, const void * b) {
    const struct gga_edge * x = a;
    const struct gga_edge * y = b;
    if (x->from != y->from) return x->from < y->from ? -1 : 1;
    return (x->to > y->to) - (x->to < y->to);
}

struct gga_edges {
    struct gga_edge * e;
    int64_t n;
    int64_t cap;
};

static bool gga_edges_add(struct gga_edges * es, int from, int to) {
    if (from < 0 || to < 0 || from == to) {
        return true;
    }
    if (es->n == es->cap) {
        int64_t cap = es->cap ? es->cap * 2 : 256;
        struct gga_edge * e = gga_realloc(es->e, (size_t) cap * sizeof(*e));
        if (e == NULL) {
            return false;
        }
        es->e = e;
        es->cap = cap;
    }
    es->e[es->n++] = (struct gga_edge) { from, to };
    return true;
}

static bool gga_deps_build(struct ggml_tensor ** nodes, int n, struct gga_deps * d) {
    memset(d, 0, sizeof(*d));
    d->n = n;
    struct gga_ptrmap map = { 0 };
    struct gga_ptrmap base_ix = { 0 };
    struct gga_edges es = { 0 };  // dependencies
    struct gga_edges rd = { 0 };  // (node, base node) read pairs, for the heuristics
    // per base tensor (any tensor whose memory is accessed): its last writer, and the readers
    // since then as a linked list over the accesses
    const size_t cap_acc = (size_t) n * (GGML_MAX_SRC + 1) + 1;
    int * last_writer   = gga_malloc(cap_acc * sizeof(int));
    int * pending_first = gga_malloc(cap_acc * sizeof(int));
    int * pending_node  = gga_malloc(cap_acc * sizeof(int));
    int * pending_next  = gga_malloc(cap_acc * sizeof(int));
    int n_bases = 0;
    int n_pending = 0;
    bool ok = last_writer && pending_first && pending_node && pending_next &&
              gga_reorder_may_alloc() && gga_ptrmap_init(&map, (size_t) n) &&
              gga_reorder_may_alloc() && gga_ptrmap_init(&base_ix, (size_t) n); // about a base per node; grows past
    for (int i = 0; ok && i < n; i++) {
        ok = gga_index_set(&map, nodes[i], i);
    }
    for (int i = 0; ok && i < n; i++) {
        const struct ggml_tensor * t = nodes[i];
        for (int j = 0; ok && j < GGML_MAX_SRC; j++) {
            if (t->src[j] != NULL) {
                ok = gga_edges_add(&es, gga_index_of(&map, t->src[j]), i);
            }
        }
        if (ok && t->view_src != NULL) {
            ok = gga_edges_add(&es, gga_index_of(&map, t->view_src), i);
        }
        // accesses to memory: a write of its own base when a non-view op computes into a view
        // (first), then reads of each source's base
        for (int j = -1; ok && j < GGML_MAX_SRC; j++) {
            const struct ggml_tensor * s = j < 0 ? t : t->src[j];
            const bool write = j < 0;
            if (s == NULL || gga_is_pure_view_op(t->op) || (write && s->view_src == NULL)) {
                continue;
            }
            const struct ggml_tensor * base = gga_base(s);
            int bi = gga_index_of(&base_ix, base);
            if (bi < 0) {
                bi = n_bases++;
                if (!(ok = gga_index_set(&base_ix, base, bi))) {
                    break;
                }
                last_writer[bi] = -1;
                pending_first[bi] = -1;
            }
            ok = gga_edges_add(&es, last_writer[bi], i);
            if (write) {
                for (int k = pending_first[bi]; ok && k >= 0; k = pending_next[k]) {
                    ok = gga_edges_add(&es, pending_node[k], i);
                }
                pending_first[bi] = -1;
                last_writer[bi] = i;
            } else if (ok) {
                ok = gga_edges_add(&rd, i, gga_index_of(&map, base));
                pending_node[n_pending] = i;
                pending_next[n_pending] = pending_first[bi];
                pending_first[bi] = n_pending++;
            }
        }
    }
    free(last_writer);
    free(pending_first);
    free(pending_node);
    free(pending_next);
    gga_ptrmap_free(&base_ix);

    if (ok) {
        // an empty list has no array (qsort's pointer must be valid even for 0 elements)
        if (es.n > 1) {
            qsort(es.e, (size_t) es.n, sizeof(*es.e), gga_edge_cmp);
        }
        if (rd.n > 1) {
            qsort(rd.e, (size_t) rd.n, sizeof(*rd.e), gga_edge_cmp);
        }
        d->succ_first = gga_calloc((size_t) n + 1, sizeof(int));
        d->succ = gga_malloc(((size_t) es.n + 1) * sizeof(int));
        d->indeg = gga_calloc((size_t) n + 1, sizeof(int));
        d->alloc = gga_calloc((size_t) n + 1, sizeof(size_t));
        d->reads_first = gga_calloc((size_t) n + 1, sizeof(int));
        d->reads = gga_malloc(((size_t) rd.n + 1) * sizeof(int));
        d->n_readers = gga_calloc((size_t) n + 1, sizeof(int));
        d->freeable = gga_calloc((size_t) n + 1, sizeof(bool));
        ok = d->succ_first && d->succ && d->indeg && d->alloc && d->reads_first && d->reads && d->n_readers && d->freeable;
    }
    if (ok) {
        int k = 0;
        for (int64_t e = 0; e < es.n; e++) {
            if (e > 0 && es.e[e].from == es.e[e - 1].from && es.e[e].to == es.e[e - 1].to) {
                continue; // duplicate
            }
            d->succ[k++] = es.e[e].to;
            d->succ_first[es.e[e].from + 1]++;
            d->indeg[es.e[e].to]++;
        }
        for (int i = 0; i < n; i++) {
            d->succ_first[i + 1] += d->succ_first[i];
        }
        k = 0;
        for (int64_t e = 0; e < rd.n; e++) {
            if (rd.e[e].to < 0 || (e > 0 && rd.e[e].from == rd.e[e - 1].from && rd.e[e].to == rd.e[e - 1].to)) {
                continue;
            }
            d->reads[k++] = rd.e[e].to;
            d->reads_first[rd.e[e].from + 1]++;
            d->n_readers[rd.e[e].to]++;
        }
        for (int i = 0; i < n; i++) {
            d->reads_first[i + 1] += d->reads_first[i];
        }
        for (int i = 0; i < n; i++) {
            const struct ggml_tensor * t = nodes[i];
            const bool placed = t->view_src == NULL && !gga_is_external(t);
            d->alloc[i] = placed ? ggml_nbytes(t) : 0;
            d->freeable[i] = placed && (t->flags & (GGML_TENSOR_FLAG_OUTPUT | GGML_TENSOR_FLAG_INPUT)) == 0;
        }
    }
    free(es.e);
    free(rd.e);
    gga_ptrmap_free(&map);
    if (!ok) {
        gga_deps_free(d);
    }
    return ok;
}

enum gga_pick {
    GGA_PICK_NET,       // most freed minus allocated
    GGA_PICK_FREE_FIRST,
    GGA_PICK_LIFO,
    GGA_PICK_COUNT,
};

enum gga_sched_status {
    GGA_SCHED_OK,
    GGA_SCHED_CYCLE, // the dependencies hold a cycle: no order
    GGA_SCHED_OOM,
};

// One list-scheduling pass; writes a topological order of node indices.
static enum gga_sched_status gga_schedule(const struct gga_deps * d, enum gga_pick pick, int * order) {
    const int n = d->n;
    int * indeg = gga_malloc(((size_t) n + 1) * sizeof(int));
    int * left = gga_malloc(((size_t) n + 1) * sizeof(int));   // readers not yet scheduled, per base
    int * ready = gga_malloc(((size_t) n + 1) * sizeof(int));
    if (indeg == NULL || left == NULL || ready == NULL) {
        free(indeg);
        free(left);
        free(ready);
        return GGA_SCHED_OOM;
    }
    memcpy(indeg, d->indeg, (size_t) n * sizeof(int));
    memcpy(left, d->n_readers, (size_t) n * sizeof(int));
    int n_ready = 0;
    for (int i = 0; i < n; i++) {
        if (indeg[i] == 0) {
            ready[n_ready++] = i;
        }
    }
    for (int k = 0; k < n; k++) {
        if (n_ready == 0) {
            // a cycle cannot come from a graph built by ggml's functions; keep the order safe
            free(indeg);
            free(left);
            free(ready);
            return GGA_SCHED_CYCLE;
        }
        int best = 0;
        if (pick == GGA_PICK_LIFO) {
            best = n_ready - 1;
        } else {
            int64_t best_score = INT64_MIN;
            for (int r = 0; r < n_ready; r++) {
                const int i = ready[r];
                int64_t freed = 0;
                for (int e = d->reads_first[i]; e < d->reads_first[i + 1]; e++) {
                    const int b = d->reads[e];
                    if (left[b] == 1 && d->freeable[b]) {
                        freed += (int64_t) d->alloc[b];
                    }
                }
                int64_t score;
                if (pick == GGA_PICK_NET) {
                    score = freed - (int64_t) d->alloc[i];
                } else {
                    score = freed > 0 ? INT64_MAX / 2 - (int64_t) d->alloc[i] : -(int64_t) i;
                }
                // ties: the earliest in the original order
                if (score > best_score || (score == best_score && i < ready[best])) {
                    best_score = score;
                    best = r;
                }
            }
        }
        const int i = ready[best];
        ready[best] = ready[--n_ready];
        if (pick == GGA_PICK_LIFO) {
            // keep the remaining ready nodes in the order they became ready
            for (int r = best; r < n_ready; r++) {
                ready[r] = ready[r + 1];
            }
        }
        order[k] = i;
        for (int e = d->reads_first[i]; e < d->reads_first[i + 1]; e++) {
            left[d->reads[e]]--;
        }
        // successors in reverse original order so that LIFO takes the earliest first
        for (int e = d->succ_first[i + 1] - 1; e >= d->succ_first[i]; e--) {
            const int j = d->succ[e];
            if (--indeg[j] == 0) {
                ready[n_ready++] = j;
            }
        }
    }
    free(indeg);
    free(left);
    free(ready);
    return GGA_SCHED_OK;
}

// The peak of live bytes of the graph's current order, by the allocator's lifetime rules (as
// ggalloc_graph_peak_bytes); false when out of memory. The walk's memory (sc, lt) is kept from
// one candidate to the next: walks in memory of their own took the C library's fresh pages at
// every candidate.
static bool gga_reorder_peak(struct ggml_cgraph * graph, struct gga_walk_scratch * sc, struct gga_lifetimes * lt,
        size_t * peak) {
    int slot = 0;
    const struct gga_walk_params wp = {
        .n_buffers      = 1,
        .slot_of_buffer = &slot,
        .n_slots        = 1,
        .scratch        = sc,
    };
    return gga_lifetimes_build(graph, &wp, lt) &&
           gga_lower_bound_checked(lt->slots[0].blocks, lt->slots[0].n, GGA_REORDER_ALIGNMENT, peak);
}

bool ggalloc_graph_reorder(struct ggml_cgraph * graph) {
    if (graph == NULL) {
        GGML_LOG_ERROR("%s: graph is NULL\n", __func__);
        return false;
    }
    const int n = ggml_graph_n_nodes(graph);
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);
    if (n <= 1 || nodes == NULL) {
        return true;
    }
    struct ggml_tensor ** original = gga_malloc((size_t) n * sizeof(*original));
    struct ggml_tensor ** best = gga_malloc((size_t) n * sizeof(*best));
    int * order = gga_malloc((size_t) n * sizeof(*order));
    struct gga_deps d;
    if (original == NULL || best == NULL || order == NULL || !gga_deps_build(nodes, n, &d)) {
        GGML_LOG_ERROR("%s: out of memory for %d nodes\n", __func__, n);
        free(original);
        free(best);
        free(order);
        return false;
    }
    memcpy(original, nodes, (size_t) n * sizeof(*nodes));
    memcpy(best, nodes, (size_t) n * sizeof(*nodes));
    size_t best_peak = 0;
    struct gga_walk_scratch sc = { 0 };
    struct gga_lifetimes lt = { 0 };
    bool ok = gga_reorder_peak(graph, &sc, &lt, &best_peak);
    for (int pick = 0; ok && pick < GGA_PICK_COUNT; pick++) {
        const enum gga_sched_status st = gga_schedule(&d, (enum gga_pick) pick, order);
        if (st == GGA_SCHED_CYCLE) {
            break; // no order respects the dependencies: the graph keeps its own
        }
        if (st == GGA_SCHED_OOM) {
            ok = false;
            break;
        }
        for (int k = 0; k < n; k++) {
            nodes[k] = original[order[k]];
        }
        size_t peak = 0;
        ok = gga_reorder_peak(graph, &sc, &lt, &peak);
        if (ok && peak < best_peak) {
            best_peak = peak;
            memcpy(best, nodes, (size_t) n * sizeof(*nodes));
        }
    }
    // on failure the graph goes back to its own order
    memcpy(nodes, ok ? best : original, (size_t) n * sizeof(*nodes));
    if (!ok) {
        GGML_LOG_ERROR("%s: out of memory for %d nodes; the order is unchanged\n", __func__, n);
    }
    gga_walk_scratch_release(&sc);
    gga_lifetimes_release(&lt);
    gga_deps_free(&d);
    free(original);
    free(best);
    free(order);
    return ok;
}
