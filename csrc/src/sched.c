// The backend scheduler (ggml_backend_sched_*): one graph run over several backends.
//
// Splitting a graph, as ggml does:
//
//   1. Tensors that already live in a buffer go to the first backend that can use that buffer
//      and run the op; graph inputs go to the last backend (the CPU); a node reading weights
//      (a source in a WEIGHTS buffer) goes where the weights are, unless with op_offload a
//      backend of higher priority wants to run it. A backend the user set wins over all this.
//   2. Assignments spread along the graph: a non-CPU backend down and then up the node list to
//      unassigned neighbours that it supports, then any backend down and up.
//   3. A node still unassigned goes to the backend, among those that support it, that can read
//      most of its sources where they are.
//   4. Views follow their view source; sources still unassigned (leafs) follow their reader.
//   5. The node list is cut into splits where the backend changes (views stay with the split
//      they are in). A source that a split's backend cannot read where it lives is copied into
//      that backend's buffer: the copy (n_copies of them with `parallel`) is made once per
//      source and backend, and the reading node's source is rewritten to point at it.
//
// The tensors the splits need are then laid out as one graph (the "graph copy"): the graph's
// leafs and every input copy as leafs, and per split a view that keeps each input's source
// alive until the copy, the input copy, and the split's nodes. One graph allocator of one
// buffer per backend (buffer id = backend index) plans it with ggml_gallocr_reserve_n, so each
// backend's memory is one buffer, planned by the planner ggalloc.h selects. alloc_graph plans
// again when a node changed backend buffer type or the graph copy is not one the plan fits.
//
// Computing runs the splits in order: each split's inputs are copied (graph inputs straight
// from the host, others after both backends synchronize), then the split's nodes run on its
// backend; with an eval callback the split runs in pieces, up to each node the callback asks
// to see.
//
// Tensors are found through a pointer map (ptrmap.h) to their entries (assigned backend,
// copies), cleared by reset.

#include "alloc-impl.h"
#include "grow.h"
#include "log.h"
#include "ptrmap.h"
#include "ggalloc-alloc.h"
#include "ggalloc-graph.h"
#include "ggalloc-planner.h"
#include "ggalloc-sched.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sched_entry {
    struct ggml_tensor * t;
    int backend;    // -1: unassigned
    int copy_base;  // index of its first copy in sched->copies (n_backends * n_copies), -1: none
};

struct sched_split {
    int backend_id;
    int i_start, i_end;        // the nodes of the original graph it runs
    int first_input, n_inputs; // its inputs in sched->inputs
    struct ggml_cgraph * graph; // its nodes, in the graph copy (made in gctx)
};

// A source of a graph node that reads a copy: rewritten while the scheduler plans or computes,
// and put back before it returns, so that the caller's graph never points into the scheduler's
// memory between calls (a graph may be allocated again, or by another scheduler).
struct sched_rewrite {
    struct ggml_tensor * node;
    int j;
    struct ggml_tensor * orig;
    struct ggml_tensor * copy;
};

struct ggml_backend_sched {
    int n_backends;
    ggml_backend_t backends[GGML_SCHED_MAX_BACKENDS];
    ggml_backend_buffer_type_t bufts[GGML_SCHED_MAX_BACKENDS];
    ggml_gallocr_t galloc;
    bool op_offload;
    int n_copies;
    int cur_copy, next_copy;

    // tensor -> entry
    struct sched_entry * entries;
    int n_entries, cap_entries;
    struct gga_ptrmap map; // tensor -> entry index

    struct ggml_tensor ** copies; // per copied source: n_backends * n_copies slots
    int n_copies_used, cap_copies;

    struct sched_split * splits;
    int n_splits, cap_splits;
    struct ggml_tensor ** inputs; // the sources each split copies in
    int n_inputs, cap_inputs;
    struct sched_rewrite * rewrites;
    int n_rewrites, cap_rewrites;

    struct ggml_context * ctx;  // input copies and their dependency views
    struct ggml_context * gctx; // the graph copy and the splits' graphs
    struct ggml_cgraph * graph; // the graph copy
    int * node_backend_ids, * leaf_backend_ids;
    int * prev_node_backend_ids, * prev_leaf_backend_ids;
    int n_prev_nodes, n_prev_leafs;
    int cap_ids;

    bool is_reset, is_alloc;
    ggml_backend_sched_eval_callback callback_eval;
    void * callback_eval_user_data;
};

//
// The tensor table
//

// The entry of t, or NULL when there is none (and create is false) or out of memory.
static struct sched_entry * sched_find(ggml_backend_sched_t sched, const struct ggml_tensor * t, bool create) {
    if (t == NULL) {
        return NULL;
    }
    int * idx = create ? gga_ptrmap_get(&sched->map, t, -1) : gga_ptrmap_find(&sched->map, t);
    if (idx == NULL) {
        return NULL;
    }
    if (*idx >= 0) {
        return &sched->entries[*idx];
    }
    if (sched->n_entries == sched->cap_entries) {
        int cap = sched->cap_entries ? sched->cap_entries * 2 : 256;
        struct sched_entry * e = realloc(sched->entries, sizeof(*e) * (size_t) cap);
        if (e == NULL) {
            return NULL; // the key stays, with no entry (-1): found again as new
        }
        sched->entries = e;
        sched->cap_entries = cap;
    }
    *idx = sched->n_entries;
    struct sched_entry * e = &sched->entries[sched->n_entries++];
    e->t = (struct ggml_tensor *) t;
    e->backend = -1;
    e->copy_base = -1;
    return e;
}

static int sched_backend_of(ggml_backend_sched_t sched, const struct ggml_tensor * t) {
    const struct sched_entry * e = sched_find(sched, t, false);
    return e ? e->backend : -1;
}

static bool sched_set_backend(ggml_backend_sched_t sched, const struct ggml_tensor * t, int backend) {
    struct sched_entry * e = sched_find(sched, t, true);
    if (e == NULL) {
        return false;
    }
    e->backend = backend;
    return true;
}

static void sched_table_clear(ggml_backend_sched_t sched) {
    sched->n_entries = 0;
    sched->n_copies_used = 0;
    gga_ptrmap_clear(&sched->map);
}

//
// Creation
//

static int sched_backend_index(ggml_backend_sched_t sched, ggml_backend_t backend) {
    for (int i = 0; i < sched->n_backends; i++) {
        if (sched->backends[i] == backend) {
            return i;
        }
    }
    return -1;
}

ggml_backend_sched_t ggml_backend_sched_new(ggml_backend_t * backends, ggml_backend_buffer_type_t * bufts, int n_backends,
        size_t graph_size, bool parallel, bool op_offload) {
    if (backends == NULL || n_backends <= 0 || n_backends > GGML_SCHED_MAX_BACKENDS) {
        GGML_LOG_ERROR("%s: needs 1 to %d backends (got %d)\n", __func__, GGML_SCHED_MAX_BACKENDS, n_backends);
        return NULL;
    }
    for (int i = 0; i < n_backends; i++) {
        if (backends[i] == NULL) {
            GGML_LOG_ERROR("%s: backend %d is NULL\n", __func__, i);
            return NULL;
        }
    }
    ggml_backend_dev_t last = ggml_backend_get_device(backends[n_backends - 1]);
    if (last == NULL || ggml_backend_dev_type(last) != GGML_BACKEND_DEVICE_TYPE_CPU) {
        GGML_LOG_ERROR("%s: the last backend must be a CPU backend (it is %s)\n", __func__, ggml_backend_name(backends[n_backends - 1]));
        return NULL;
    }
    ggml_backend_sched_t sched = calloc(1, sizeof(*sched));
    if (sched == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        return NULL;
    }
    sched->n_backends = n_backends;
    for (int i = 0; i < n_backends; i++) {
        sched->backends[i] = backends[i];
        sched->bufts[i] = bufts ? bufts[i] : ggml_backend_get_default_buffer_type(backends[i]);
        if (sched->bufts[i] == NULL || !ggml_backend_supports_buft(backends[i], sched->bufts[i])) {
            GGML_LOG_ERROR("%s: backend %s cannot use buffer type %s\n", __func__, ggml_backend_name(backends[i]),
                    sched->bufts[i] ? ggml_backend_buft_name(sched->bufts[i]) : "NULL");
            free(sched);
            return NULL;
        }
    }
    sched->op_offload = op_offload;
    sched->n_copies = parallel ? GGML_SCHED_MAX_COPIES : 1;
    sched->galloc = ggml_gallocr_new_n(sched->bufts, n_backends);
    if (sched->galloc == NULL || !gga_ptrmap_init(&sched->map, graph_size > 0 ? graph_size : 256)) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        ggml_backend_sched_free(sched);
        return NULL;
    }
    sched->is_reset = true;
    return sched;
}

void ggml_backend_sched_free(ggml_backend_sched_t sched) {
    if (sched == NULL) {
        return;
    }
    ggml_gallocr_free(sched->galloc);
    ggml_free(sched->ctx);
    ggml_free(sched->gctx);
    free(sched->entries);
    gga_ptrmap_free(&sched->map);
    free(sched->copies);
    free(sched->splits);
    free(sched->inputs);
    free(sched->rewrites);
    free(sched->node_backend_ids);
    free(sched->leaf_backend_ids);
    free(sched->prev_node_backend_ids);
    free(sched->prev_leaf_backend_ids);
    free(sched);
}

void ggalloc_backend_sched_set_planner(ggml_backend_sched_t sched, enum ggalloc_planner planner) {
    if (sched != NULL) {
        ggalloc_gallocr_set_planner(sched->galloc, planner);
        sched->n_prev_nodes = -1; // plan again
    }
}

bool ggalloc_backend_sched_set_time_budget(ggml_backend_sched_t sched, double seconds) {
    if (sched == NULL) {
        GGML_LOG_ERROR("%s: NULL scheduler\n", __func__);
        return false;
    }
    if (!ggalloc_gallocr_set_time_budget(sched->galloc, seconds)) {
        return false;
    }
    sched->n_prev_nodes = -1; // plan again
    return true;
}

ggml_gallocr_t ggalloc_backend_sched_get_gallocr(ggml_backend_sched_t sched) {
    return sched ? sched->galloc : NULL;
}

struct ggml_cgraph * ggalloc_backend_sched_get_graph(ggml_backend_sched_t sched) {
    return sched ? sched->graph : NULL;
}

static void sched_rewrite(ggml_backend_sched_t sched, bool apply);

int ggalloc_backend_sched_verify(ggml_backend_sched_t sched) {
    if (sched == NULL || sched->graph == NULL || !sched->is_alloc) {
        GGML_LOG_ERROR("%s: no graph is allocated\n", __func__);
        return -1;
    }
    sched_rewrite(sched, true);
    int n = ggalloc_graph_verify(sched->graph);
    sched_rewrite(sched, false);
    return n;
}

int ggalloc_backend_sched_get_tensor_backend_id(ggml_backend_sched_t sched, struct ggml_tensor * t) {
    return sched ? sched_backend_of(sched, t) : -1;
}

//
// Assigning backends
//

static bool sched_is_view_op(enum ggml_op op) {
    return op == GGML_OP_VIEW || op == GGML_OP_RESHAPE || op == GGML_OP_PERMUTE || op == GGML_OP_TRANSPOSE;
}

static ggml_backend_buffer_t sched_buffer_of(const struct ggml_tensor * t) {
    return t->view_src ? t->view_src->buffer : t->buffer;
}

// The first backend that can use the buffer t lives in and run op; -1 if none (or no buffer).
static int sched_backend_from_buffer(ggml_backend_sched_t sched, const struct ggml_tensor * t, const struct ggml_tensor * op) {
    ggml_backend_buffer_t buffer = sched_buffer_of(t);
    if (buffer == NULL) {
        return -1;
    }
    for (int i = 0; i < sched->n_backends; i++) {
        if (ggml_backend_supports_buft(sched->backends[i], ggml_backend_buffer_get_type(buffer)) &&
            ggml_backend_supports_op(sched->backends[i], op)) {
            return i;
        }
    }
    return -1;
}

// Whether backend b can read t where it is (or will be).
static bool sched_buffer_supported(ggml_backend_sched_t sched, const struct ggml_tensor * t, int b) {
    ggml_backend_buffer_t buffer = sched_buffer_of(t);
    ggml_backend_buffer_type_t buft = NULL;
    if (buffer != NULL) {
        buft = ggml_backend_buffer_get_type(buffer);
    } else {
        int id = sched_backend_of(sched, t);
        if (id == -1 && t->view_src != NULL) id = sched_backend_of(sched, t->view_src);
        if (id != -1) buft = sched->bufts[id];
    }
    return buft != NULL && ggml_backend_supports_buft(sched->backends[b], buft);
}

// Step 1 for one tensor: -1 when nothing decides it yet; -2 when it lives in a buffer no
// backend can run it from.
static int sched_backend_from_cur(ggml_backend_sched_t sched, const struct ggml_tensor * t) {
    int id = sched_backend_from_buffer(sched, t, t);
    if (id != -1) {
        return id;
    }
    if (sched_buffer_of(t) != NULL) {
        GGML_LOG_ERROR("%s: tensor %s lives in a %s buffer, and no backend that can use it runs %s\n",
                "ggml_backend_sched_split_graph", t->name, ggml_backend_buffer_name(sched_buffer_of(t)), ggml_op_desc(t));
        return -2;
    }
    if (t->flags & GGML_TENSOR_FLAG_INPUT) {
        return sched->n_backends - 1;
    }
    for (int j = 0; j < GGML_MAX_SRC; j++) {
        const struct ggml_tensor * src = t->src[j];
        if (src == NULL || t->op == GGML_OP_ROPE) {
            continue; // rope's frequency table is too small to choose by
        }
        ggml_backend_buffer_t sb = sched_buffer_of(src);
        if (sb != NULL && ggml_backend_buffer_get_usage(sb) == GGML_BACKEND_BUFFER_USAGE_WEIGHTS) {
            int src_id = sched_backend_from_buffer(sched, src, t);
            if (sched->op_offload && src_id == sched->n_backends - 1 && ggml_backend_buffer_is_host(sb)) {
                for (int b = 0; b < src_id; b++) {
                    if (ggml_backend_supports_op(sched->backends[b], t) && ggml_backend_offload_op(sched->backends[b], t)) {
                        return b;
                    }
                }
            }
            return src_id;
        }
    }
    return -1;
}

// Gives node backend cur if that backend runs it; false on out of memory.
static bool sched_set_if_supported(ggml_backend_sched_t sched, struct ggml_tensor * node, int cur) {
    if (ggml_backend_supports_op(sched->backends[cur], node)) {
        return sched_set_backend(sched, node, cur);
    }
    return true;
}

// Step 2: one sweep over the nodes, down (dir = 1) or up (-1), of the non-CPU backends only or
// of all.
static bool sched_expand(ggml_backend_sched_t sched, struct ggml_cgraph * graph, int dir, bool gpu_only) {
    const int n = ggml_graph_n_nodes(graph);
    int cur = -1;
    for (int k = 0; k < n; k++) {
        struct ggml_tensor * node = ggml_graph_node(graph, dir > 0 ? k : n - 1 - k);
        if (sched_is_view_op(node->op)) {
            continue;
        }
        int id = sched_backend_of(sched, node);
        if (id != -1) {
            cur = gpu_only && id == sched->n_backends - 1 ? -1 : id;
        } else if (cur != -1 && !sched_set_if_supported(sched, node, cur)) {
            return false;
        }
    }
    return true;
}

static bool sched_assign(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
    const int n_nodes = ggml_graph_n_nodes(graph);
    const int n_leafs = ggalloc_graph_n_leafs(graph);
    // 1. what decides by itself (user assignments are already in the table)
    for (int i = 0; i < n_leafs + n_nodes; i++) {
        struct ggml_tensor * t = i < n_leafs ? ggalloc_graph_leaf(graph, i) : ggml_graph_node(graph, i - n_leafs);
        if (sched_backend_of(sched, t) != -1) {
            continue;
        }
        int id = sched_backend_from_cur(sched, t);
        if (id == -2) {
            return false;
        }
        if (id != -1 && !sched_set_backend(sched, t, id)) {
            return false;
        }
        if (i < n_leafs) {
            continue;
        }
        // the sources of a node: those that live in a buffer
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            struct ggml_tensor * src = t->src[j];
            if (src == NULL || sched_backend_of(sched, src) != -1) continue;
            int sid = sched_backend_from_cur(sched, src);
            if (sid >= 0 && !sched_set_backend(sched, src, sid)) return false;
        }
    }
    // 2. spread
    if (!sched_expand(sched, graph, 1, true) || !sched_expand(sched, graph, -1, true) ||
        !sched_expand(sched, graph, 1, false) || !sched_expand(sched, graph, -1, false)) {
        return false;
    }
    // 3. the rest: the supporting backend that reads most sources in place
    for (int i = 0; i < n_nodes; i++) {
        struct ggml_tensor * node = ggml_graph_node(graph, i);
        if (sched_is_view_op(node->op) || sched_backend_of(sched, node) != -1) {
            continue;
        }
        int best = -1, n_best = -1;
        for (int b = 0; b < sched->n_backends; b++) {
            if (!ggml_backend_supports_op(sched->backends[b], node)) continue;
            int n_ok = 0;
            for (int j = 0; j < GGML_MAX_SRC; j++) {
                struct ggml_tensor * src = node->src[j];
                if (src == NULL) continue;
                if ((sched_backend_of(sched, src) != -1 || (src->view_src && sched_backend_of(sched, src->view_src) != -1)) &&
                    sched_buffer_supported(sched, src, b)) {
                    n_ok++;
                }
            }
            if (n_ok > n_best) {
                n_best = n_ok;
                best = b;
            }
        }
        if (best == -1) {
            GGML_LOG_ERROR("%s: no backend runs node %s (%s)\n", "ggml_backend_sched_split_graph", node->name, ggml_op_desc(node));
            return false;
        }
        if (!sched_set_backend(sched, node, best)) return false;
    }
    // 4. views follow their source; unassigned sources their reader
    for (int i = 0; i < n_nodes; i++) {
        struct ggml_tensor * node = ggml_graph_node(graph, i);
        int id = sched_backend_of(sched, node);
        if (id == -1 && node->view_src != NULL) {
            id = sched_backend_of(sched, node->view_src);
            if (id != -1 && !sched_set_backend(sched, node, id)) return false;
        }
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            struct ggml_tensor * src = node->src[j];
            if (src == NULL || sched_backend_of(sched, src) != -1) continue;
            int sid = src->view_src ? sched_backend_of(sched, src->view_src) : -1;
            if (sid == -1) sid = id;
            if (sid != -1 && !sched_set_backend(sched, src, sid)) return false;
        }
    }
    return true;
}

//
// Splitting
//

static void sched_free_contexts(ggml_backend_sched_t sched) {
    ggml_free(sched->ctx);
    ggml_free(sched->gctx);
    sched->ctx = NULL;
    sched->gctx = NULL;
    sched->graph = NULL;
    sched->n_splits = 0;
    sched->n_inputs = 0;
    sched->n_rewrites = 0;
}

// Points the rewritten sources at the copies (apply) or back at the originals.
static void sched_rewrite(ggml_backend_sched_t sched, bool apply) {
    for (int i = 0; i < sched->n_rewrites; i++) {
        struct sched_rewrite * r = &sched->rewrites[i];
        r->node->src[r->j] = apply ? r->copy : r->orig;
    }
}

// The copy c of src in backend b, made on first use (NULL when out of memory).
static struct ggml_tensor * sched_copy_of(ggml_backend_sched_t sched, struct ggml_tensor * src, int b, int c, bool * created) {
    struct sched_entry * e = sched_find(sched, src, true);
    if (e == NULL) {
        return NULL;
    }
    const int per = sched->n_backends * sched->n_copies;
    if (e->copy_base < 0) {
        if (!gga_grow_int((void **) &sched->copies, &sched->cap_copies, sched->n_copies_used + per, sizeof(struct ggml_tensor *))) {
            return NULL;
        }
        e->copy_base = sched->n_copies_used;
        memset(&sched->copies[e->copy_base], 0, sizeof(struct ggml_tensor *) * (size_t) per);
        sched->n_copies_used += per;
    }
    const int base = e->copy_base + b * sched->n_copies;
    *created = false;
    if (sched->copies[base] == NULL) {
        for (int k = 0; k < sched->n_copies; k++) {
            struct ggml_tensor * cpy = ggml_dup_tensor(sched->ctx, src);
            if (cpy == NULL) {
                return NULL;
            }
            // a copy has the source's strides too (ggml_dup_tensor_layout)
            memcpy(cpy->nb, src->nb, sizeof(cpy->nb));
            ggml_format_name(cpy, "%s#%s#%d", ggml_backend_name(sched->backends[b]), src->name, k);
            if (sched->n_copies > 1) {
                // every copy keeps its memory for the whole graph: one is filled while another is read
                ggml_set_input(cpy);
                ggml_set_output(cpy);
            }
            sched->copies[base + k] = cpy;
            // the table may move while growing: index again
            if (!sched_set_backend(sched, cpy, b)) {
                return NULL;
            }
        }
        *created = true;
    }
    return sched->copies[base + c];
}

static bool sched_split(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
    sched_free_contexts(sched);
    sched->is_reset = false;
    sched->is_alloc = false;
    const int n_nodes = ggml_graph_n_nodes(graph);
    const int n_leafs = ggalloc_graph_n_leafs(graph);
    if (!sched_assign(sched, graph)) {
        return false;
    }
    // room for the copies: at most one per source of each node, times n_copies, plus the views
    int n_srcs = 0;
    for (int i = 0; i < n_nodes; i++) {
        for (int j = 0; j < GGML_MAX_SRC; j++) n_srcs += ggml_graph_node(graph, i)->src[j] != NULL;
    }
    struct ggml_init_params ip = { ggml_tensor_overhead() * (size_t) (n_srcs * (sched->n_copies + 1) + 16), NULL, true };
    sched->ctx = ggml_init(ip);
    if (sched->ctx == NULL) {
        return false;
    }

    // 5. splits
    int cur = -1;
    struct sched_split * split = NULL;
    for (int i = 0; i < n_nodes; i++) {
        struct ggml_tensor * node = ggml_graph_node(graph, i);
        int id = sched_backend_of(sched, node);
        if (split == NULL || (!sched_is_view_op(node->op) && id != -1 && id != cur)) {
            if (split != NULL) split->i_end = i;
            if (!gga_grow_int((void **) &sched->splits, &sched->cap_splits, sched->n_splits + 1, sizeof(struct sched_split))) {
                return false;
            }
            split = &sched->splits[sched->n_splits++];
            memset(split, 0, sizeof(*split));
            if (id == -1) {
                // a leading view: it goes with the first node that has a backend
                for (int k = i + 1; k < n_nodes && id == -1; k++) {
                    struct ggml_tensor * nk = ggml_graph_node(graph, k);
                    if (!sched_is_view_op(nk->op)) id = sched_backend_of(sched, nk);
                }
                if (id == -1) id = sched->n_backends - 1;
            }
            cur = id;
            split->backend_id = cur;
            split->i_start = i;
            split->first_input = sched->n_inputs;
        }
        if (id == -1 && !sched_set_backend(sched, node, cur)) {
            return false;
        }
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            struct ggml_tensor * src = node->src[j];
            if (src == NULL) continue;
            int sid = sched_backend_of(sched, src);
            if (sid == -1) {
                sid = cur;
                if (!sched_set_backend(sched, src, sid)) return false;
            }
            if (sid == cur || sched_buffer_supported(sched, src, cur)) continue;
            bool created = false;
            struct ggml_tensor * cpy = sched_copy_of(sched, src, cur, sched->cur_copy, &created);
            if (cpy == NULL) {
                GGML_LOG_ERROR("%s: out of memory\n", "ggml_backend_sched_split_graph");
                return false;
            }
            // one input per source and split: a copy made by an earlier split is made again here
            bool listed = false;
            for (int k = split->first_input; k < sched->n_inputs && !listed; k++) listed = sched->inputs[k] == src;
            if (!listed) {
                if (!gga_grow_int((void **) &sched->inputs, &sched->cap_inputs, sched->n_inputs + 1, sizeof(struct ggml_tensor *))) {
                    return false;
                }
                sched->inputs[sched->n_inputs++] = src;
                split->n_inputs++;
            }
            if (!gga_grow_int((void **) &sched->rewrites, &sched->cap_rewrites, sched->n_rewrites + 1, sizeof(struct sched_rewrite))) {
                return false;
            }
            sched->rewrites[sched->n_rewrites++] = (struct sched_rewrite) { node, j, src, cpy };
            node->src[j] = cpy;
        }
    }
    if (split != NULL) split->i_end = n_nodes;

    // the graph copy
    const int n_in = sched->n_inputs;
    const int cap_nodes = n_nodes + 2 * n_in + 1;
    const int cap_leafs = n_leafs + n_in * sched->n_copies + 1;
    const int cap = cap_nodes > cap_leafs ? cap_nodes : cap_leafs;
    struct ggml_init_params gp = {
        ggml_graph_overhead_custom((size_t) cap, false) + (size_t) (sched->n_splits + 1) * ggml_graph_overhead_custom(1, false) +
            4096, NULL, true };
    // each split's graph holds its own nodes: sized together with the copy
    for (int s = 0; s < sched->n_splits; s++) {
        gp.mem_size += ggml_graph_overhead_custom((size_t) (sched->splits[s].i_end - sched->splits[s].i_start + 1), false);
    }
    sched->gctx = ggml_init(gp);
    if (sched->gctx == NULL) {
        return false;
    }
    sched->graph = ggml_new_graph_custom(sched->gctx, (size_t) cap, false);
    if (cap > sched->cap_ids) {
        int * ni = realloc(sched->node_backend_ids, sizeof(int) * (size_t) cap);
        if (ni) sched->node_backend_ids = ni;
        int * li = realloc(sched->leaf_backend_ids, sizeof(int) * (size_t) cap);
        if (li) sched->leaf_backend_ids = li;
        if (!ni || !li) return false;
        sched->cap_ids = cap;
    }
    if (sched->graph == NULL) {
        return false;
    }
    struct ggml_cgraph * gc = sched->graph;
    // leafs: the graph's, then every input copy
    int nl = 0;
    for (int i = 0; i < n_leafs; i++) {
        struct ggml_tensor * leaf = ggalloc_graph_leaf(graph, i);
        ggml_build_forward_expand(gc, leaf);
        if (ggalloc_graph_n_leafs(gc) > nl) {
            int id = sched_backend_of(sched, leaf);
            sched->leaf_backend_ids[nl++] = id < 0 ? sched->n_backends - 1 : id;
        }
    }
    for (int s = 0; s < sched->n_splits; s++) {
        struct sched_split * sp = &sched->splits[s];
        for (int k = 0; k < sp->n_inputs; k++) {
            for (int c = 0; c < sched->n_copies; c++) {
                bool created;
                struct ggml_tensor * cpy = sched_copy_of(sched, sched->inputs[sp->first_input + k], sp->backend_id, c, &created);
                ggml_build_forward_expand(gc, cpy);
                if (ggalloc_graph_n_leafs(gc) > nl) sched->leaf_backend_ids[nl++] = sp->backend_id;
            }
        }
    }
    // nodes: per split, its inputs' dependencies and copies, then its nodes
    int nn = 0;
    for (int s = 0; s < sched->n_splits; s++) {
        struct sched_split * sp = &sched->splits[s];
        for (int k = 0; k < sp->n_inputs; k++) {
            struct ggml_tensor * input = sched->inputs[sp->first_input + k];
            bool created;
            struct ggml_tensor * cpy = sched_copy_of(sched, input, sp->backend_id, sched->cur_copy, &created);
            struct ggml_tensor * dep = ggml_view_tensor(sched->ctx, input);
            if (dep == NULL) return false;
            dep->src[0] = input; // keeps the source alive until the copy is made
            int iid = sched_backend_of(sched, input);
            sched->node_backend_ids[nn++] = iid < 0 ? sp->backend_id : iid;
            ggml_graph_add_node(gc, dep);
            sched->node_backend_ids[nn++] = sp->backend_id;
            ggml_graph_add_node(gc, cpy);
        }
        sp->graph = ggml_new_graph_custom(sched->gctx, (size_t) (sp->i_end - sp->i_start + 1), false);
        if (sp->graph == NULL) return false;
        for (int i = sp->i_start; i < sp->i_end; i++) {
            struct ggml_tensor * node = ggml_graph_node(graph, i);
            int id = sched_backend_of(sched, node);
            sched->node_backend_ids[nn++] = id < 0 ? sp->backend_id : id;
            ggml_graph_add_node(gc, node);
            ggml_graph_add_node(sp->graph, node);
        }
    }
    if (nn != ggml_graph_n_nodes(gc) || nl != ggalloc_graph_n_leafs(gc)) {
        GGML_LOG_ERROR("%s: the graph copy has %d nodes and %d leafs, expected %d and %d\n", "ggml_backend_sched_split_graph",
                ggml_graph_n_nodes(gc), ggalloc_graph_n_leafs(gc), nn, nl);
        return false;
    }
    return true;
}

void ggml_backend_sched_split_graph(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
    if (sched == NULL || graph == NULL) {
        GGML_LOG_ERROR("%s: sched or graph is NULL\n", __func__);
        return;
    }
    if (!sched_split(sched, graph)) {
        sched_rewrite(sched, false);
        sched_free_contexts(sched);
        return;
    }
    sched_rewrite(sched, false);
}

//
// Allocating
//

static bool sched_ids_changed(ggml_backend_sched_t sched) {
    const int n_nodes = ggml_graph_n_nodes(sched->graph);
    const int n_leafs = ggalloc_graph_n_leafs(sched->graph);
    if (n_nodes != sched->n_prev_nodes || n_leafs != sched->n_prev_leafs) {
        return true;
    }
    for (int i = 0; i < n_nodes; i++) {
        if (sched->bufts[sched->node_backend_ids[i]] != sched->bufts[sched->prev_node_backend_ids[i]]) return true;
    }
    for (int i = 0; i < n_leafs; i++) {
        if (sched->bufts[sched->leaf_backend_ids[i]] != sched->bufts[sched->prev_leaf_backend_ids[i]]) return true;
    }
    return false;
}

static bool sched_keep_ids(ggml_backend_sched_t sched) {
    const int n_nodes = ggml_graph_n_nodes(sched->graph);
    const int n_leafs = ggalloc_graph_n_leafs(sched->graph);
    int * pn = realloc(sched->prev_node_backend_ids, sizeof(int) * (size_t) (n_nodes + 1));
    if (pn) sched->prev_node_backend_ids = pn;
    int * pl = realloc(sched->prev_leaf_backend_ids, sizeof(int) * (size_t) (n_leafs + 1));
    if (pl) sched->prev_leaf_backend_ids = pl;
    if (!pn || !pl) {
        sched->n_prev_nodes = -1;
        return false;
    }
    memcpy(pn, sched->node_backend_ids, sizeof(int) * (size_t) n_nodes);
    memcpy(pl, sched->leaf_backend_ids, sizeof(int) * (size_t) n_leafs);
    sched->n_prev_nodes = n_nodes;
    sched->n_prev_leafs = n_leafs;
    return true;
}

static bool sched_alloc_splits(ggml_backend_sched_t sched) {
    if (sched_ids_changed(sched) || !gga_gallocr_can_reuse(sched->galloc, sched->graph)) {
        for (int i = 0; i < sched->n_backends; i++) {
            ggml_backend_synchronize(sched->backends[i]);
        }
        if (!ggml_gallocr_reserve_n(sched->galloc, sched->graph, sched->node_backend_ids, sched->leaf_backend_ids)) {
            sched->n_prev_nodes = -1;
            return false;
        }
        sched_keep_ids(sched);
    }
    if (!ggml_gallocr_alloc_graph(sched->galloc, sched->graph)) {
        GGML_LOG_ERROR("%s: failed to allocate the graph\n", "ggml_backend_sched_alloc_graph");
        return false;
    }
    return true;
}

bool ggml_backend_sched_alloc_graph(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
    if (sched == NULL || graph == NULL) {
        GGML_LOG_ERROR("%s: sched or graph is NULL\n", __func__);
        return false;
    }
    if (sched->is_alloc) {
        GGML_LOG_ERROR("%s: a graph is already allocated: call ggml_backend_sched_reset first\n", __func__);
        return false;
    }
    sched->cur_copy = sched->next_copy;
    sched->next_copy = (sched->next_copy + 1) % sched->n_copies;
    if (!sched_split(sched, graph)) {
        sched_rewrite(sched, false);
        sched_free_contexts(sched);
        return false;
    }
    bool ok = sched_alloc_splits(sched);
    sched_rewrite(sched, false);
    if (!ok) {
        return false;
    }
    sched->is_alloc = true;
    return true;
}

bool ggml_backend_sched_reserve(ggml_backend_sched_t sched, struct ggml_cgraph * measure_graph) {
    if (sched == NULL || measure_graph == NULL) {
        GGML_LOG_ERROR("%s: sched or graph is NULL\n", __func__);
        return false;
    }
    ggml_backend_sched_synchronize(sched);
    if (!sched_split(sched, measure_graph)) {
        sched_rewrite(sched, false);
        sched_free_contexts(sched);
        return false;
    }
    bool ok = ggml_gallocr_reserve_n(sched->galloc, sched->graph, sched->node_backend_ids, sched->leaf_backend_ids);
    sched_rewrite(sched, false);
    if (!ok) {
        sched->n_prev_nodes = -1;
        return false;
    }
    sched_keep_ids(sched);
    ggml_backend_sched_reset(sched);
    return true;
}

void ggml_backend_sched_reserve_size(ggml_backend_sched_t sched, struct ggml_cgraph * measure_graph, size_t * sizes) {
    if (sched == NULL || measure_graph == NULL || sizes == NULL) {
        GGML_LOG_ERROR("%s: sched, graph or sizes is NULL\n", __func__);
        return;
    }
    for (int i = 0; i < sched->n_backends; i++) sizes[i] = 0;
    ggml_backend_sched_synchronize(sched);
    if (!sched_split(sched, measure_graph)) {
        sched_rewrite(sched, false);
        sched_free_contexts(sched);
        return;
    }
    ggml_gallocr_reserve_n_size(sched->galloc, sched->graph, sched->node_backend_ids, sched->leaf_backend_ids, sizes);
    sched_rewrite(sched, false);
    sched->n_prev_nodes = -1; // the plan has no buffers behind it
    ggml_backend_sched_reset(sched);
}

void ggml_backend_sched_reset(ggml_backend_sched_t sched) {
    if (sched == NULL) {
        return;
    }
    if (!sched->is_reset) {
        sched_table_clear(sched);
        sched->is_reset = true;
    }
    sched->is_alloc = false;
}

//
// Computing
//

// Runs nodes [i0, i1) of a split's graph on backend b.
static enum ggml_status sched_compute_range(ggml_backend_t b, struct ggml_cgraph * g, int i0, int i1) {
    if (i0 == 0 && i1 == ggml_graph_n_nodes(g)) {
        return ggml_backend_graph_compute_async(b, g);
    }
    struct ggml_init_params ip = { ggml_graph_overhead_custom((size_t) (i1 - i0), false) + 256, NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_cgraph * sub = ctx ? ggml_new_graph_custom(ctx, (size_t) (i1 - i0), false) : NULL;
    if (sub == NULL) {
        ggml_free(ctx);
        GGML_LOG_ERROR("%s: out of memory\n", "ggml_backend_sched_graph_compute");
        return GGML_STATUS_ALLOC_FAILED;
    }
    for (int i = i0; i < i1; i++) {
        ggml_graph_add_node(sub, ggml_graph_node(g, i));
    }
    enum ggml_status st = ggml_backend_graph_compute_async(b, sub);
    ggml_free(ctx);
    return st;
}

static enum ggml_status sched_compute_splits_rewritten(ggml_backend_sched_t sched);

static enum ggml_status sched_compute_splits(ggml_backend_sched_t sched) {
    sched_rewrite(sched, true);
    enum ggml_status st = sched_compute_splits_rewritten(sched);
    sched_rewrite(sched, false);
    return st;
}

static enum ggml_status sched_compute_splits_rewritten(ggml_backend_sched_t sched) {
    for (int s = 0; s < sched->n_splits; s++) {
        struct sched_split * sp = &sched->splits[s];
        ggml_backend_t b = sched->backends[sp->backend_id];
        for (int k = 0; k < sp->n_inputs; k++) {
            struct ggml_tensor * input = sched->inputs[sp->first_input + k];
            bool created;
            struct ggml_tensor * cpy = sched_copy_of(sched, input, sp->backend_id, sched->cur_copy, &created);
            if (cpy == NULL) {
                return GGML_STATUS_ALLOC_FAILED;
            }
            int iid = sched_backend_of(sched, input);
            ggml_backend_t ib = iid >= 0 ? sched->backends[iid] : NULL;
            if (input->flags & GGML_TENSOR_FLAG_INPUT) {
                ggml_backend_synchronize(b);
                ggml_backend_tensor_copy(input, cpy);
            } else {
                ggml_backend_synchronize(b);
                ggml_backend_tensor_copy_async(ib, b, input, cpy);
            }
        }
        const int n = ggml_graph_n_nodes(sp->graph);
        if (sched->callback_eval == NULL) {
            enum ggml_status st = ggml_backend_graph_compute_async(b, sp->graph);
            if (st != GGML_STATUS_SUCCESS) {
                return st;
            }
            continue;
        }
        for (int j0 = 0; j0 < n;) {
            // up to and including the first node the callback asks to see
            int j1 = j0;
            bool need = sched->callback_eval(ggml_graph_node(sp->graph, j1), true, sched->callback_eval_user_data);
            while (!need && j1 + 1 < n) {
                j1++;
                need = sched->callback_eval(ggml_graph_node(sp->graph, j1), true, sched->callback_eval_user_data);
            }
            enum ggml_status st = sched_compute_range(b, sp->graph, j0, j1 + 1);
            if (st != GGML_STATUS_SUCCESS) {
                return st;
            }
            ggml_backend_synchronize(b);
            if (need && !sched->callback_eval(ggml_graph_node(sp->graph, j1), false, sched->callback_eval_user_data)) {
                return GGML_STATUS_SUCCESS; // the callback stopped the graph
            }
            j0 = j1 + 1;
        }
    }
    return GGML_STATUS_SUCCESS;
}

enum ggml_status ggml_backend_sched_graph_compute_async(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
    if (sched == NULL || graph == NULL) {
        GGML_LOG_ERROR("%s: sched or graph is NULL\n", __func__);
        return GGML_STATUS_FAILED;
    }
    if (!sched->is_reset && !sched->is_alloc) {
        ggml_backend_sched_reset(sched);
    }
    if (!sched->is_alloc && !ggml_backend_sched_alloc_graph(sched, graph)) {
        return GGML_STATUS_ALLOC_FAILED;
    }
    return sched_compute_splits(sched);
}

enum ggml_status ggml_backend_sched_graph_compute(ggml_backend_sched_t sched, struct ggml_cgraph * graph) {
    enum ggml_status st = ggml_backend_sched_graph_compute_async(sched, graph);
    ggml_backend_sched_synchronize(sched);
    return st;
}

void ggml_backend_sched_synchronize(ggml_backend_sched_t sched) {
    if (sched == NULL) {
        return;
    }
    for (int i = 0; i < sched->n_backends; i++) {
        ggml_backend_synchronize(sched->backends[i]);
    }
    if (!sched->is_alloc) {
        // the next alloc_graph starts from the first copy again
        sched->next_copy = 0;
    }
}

void ggml_backend_sched_set_eval_callback(ggml_backend_sched_t sched, ggml_backend_sched_eval_callback callback, void * user_data) {
    if (sched == NULL) {
        return;
    }
    sched->callback_eval = callback;
    sched->callback_eval_user_data = user_data;
}

//
// Queries
//

int ggml_backend_sched_get_n_backends(ggml_backend_sched_t sched) {
    return sched ? sched->n_backends : 0;
}

ggml_backend_t ggml_backend_sched_get_backend(ggml_backend_sched_t sched, int i) {
    if (sched == NULL || i < 0 || i >= sched->n_backends) {
        return NULL;
    }
    return sched->backends[i];
}

int ggml_backend_sched_get_n_splits(ggml_backend_sched_t sched) {
    return sched ? sched->n_splits : 0;
}

int ggml_backend_sched_get_n_copies(ggml_backend_sched_t sched) {
    return sched ? sched->n_copies : 0;
}

ggml_backend_buffer_type_t ggml_backend_sched_get_buffer_type(ggml_backend_sched_t sched, ggml_backend_t backend) {
    int i = sched ? sched_backend_index(sched, backend) : -1;
    if (i < 0) {
        GGML_LOG_ERROR("%s: backend %s is not one of the scheduler's\n", __func__, ggml_backend_name(backend));
        return NULL;
    }
    return sched->bufts[i];
}

size_t ggml_backend_sched_get_buffer_size(ggml_backend_sched_t sched, ggml_backend_t backend) {
    int i = sched ? sched_backend_index(sched, backend) : -1;
    if (i < 0) {
        GGML_LOG_ERROR("%s: backend %s is not one of the scheduler's\n", __func__, ggml_backend_name(backend));
        return 0;
    }
    return ggml_gallocr_get_buffer_size(sched->galloc, i);
}

void ggml_backend_sched_set_tensor_backend(ggml_backend_sched_t sched, struct ggml_tensor * node, ggml_backend_t backend) {
    int i = sched && node ? sched_backend_index(sched, backend) : -1;
    if (i < 0) {
        GGML_LOG_ERROR("%s: backend %s is not one of the scheduler's (or the tensor is NULL)\n", __func__, ggml_backend_name(backend));
        return;
    }
    if (!sched_set_backend(sched, node, i)) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        return;
    }
    sched->is_reset = false;
}

ggml_backend_t ggml_backend_sched_get_tensor_backend(ggml_backend_sched_t sched, struct ggml_tensor * node) {
    if (sched == NULL || node == NULL) {
        return NULL;
    }
    int i = sched_backend_of(sched, node);
    return i < 0 ? NULL : sched->backends[i];
}
