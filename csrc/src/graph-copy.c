// ggml_backend_graph_copy and ggml_backend_compare_graph_backend: a graph duplicated onto
// another backend, and two backends run side by side on the same graph.
//
// The copy walks every node and, depth first, every source and view source, duplicating each
// tensor once (a pointer map from original to copy): tensors with memory of their own go into
// one context that is then allocated in a single buffer of the backend's default type, views
// into another and are pointed into their copied source afterwards. Data is copied for every
// original that had some (weights, inputs, results of an earlier compute).

#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "log.h"
#include "ptrmap.h"

#include <stdlib.h>
#include <string.h>

struct copy_state {
    struct gga_ptrmap map;         // original -> index in copies
    struct ggml_tensor ** origs;
    struct ggml_tensor ** copies;
    int n, cap;
    struct ggml_context * ctx_alloc;
    struct ggml_context * ctx_views;
};

static struct ggml_tensor * copy_tensor(struct copy_state * st, struct ggml_tensor * t, int depth) {
    if (t == NULL) {
        return NULL;
    }
    int * idx = gga_ptrmap_find(&st->map, t);
    if (idx != NULL) {
        return st->copies[*idx];
    }
    if (depth > 4096) {
        GGML_LOG_ERROR("ggml_backend_graph_copy: sources nested too deep at %s\n", t->name);
        return NULL;
    }
    struct ggml_tensor * c;
    if (t->view_src != NULL) {
        struct ggml_tensor * vs = copy_tensor(st, t->view_src, depth + 1);
        if (vs == NULL) return NULL;
        c = ggml_view_tensor(st->ctx_views, vs); // ne and nb set below
        if (c != NULL) {
            c->view_offs = t->view_offs;
        }
    } else {
        c = ggml_dup_tensor(st->ctx_alloc, t);
    }
    if (c == NULL) {
        return NULL;
    }
    memcpy(c->ne, t->ne, sizeof(c->ne));
    memcpy(c->nb, t->nb, sizeof(c->nb));
    c->type = t->type;
    c->op = t->op;
    memcpy(c->op_params, t->op_params, sizeof(c->op_params));
    c->flags = t->flags;
    ggml_set_name(c, t->name);
    for (int j = 0; j < GGML_MAX_SRC; j++) {
        c->src[j] = NULL;
    }
    if (st->n == st->cap) {
        int cap = st->cap ? st->cap * 2 : 64;
        struct ggml_tensor ** o = realloc(st->origs, sizeof(*o) * (size_t) cap);
        if (o) st->origs = o;
        struct ggml_tensor ** k = realloc(st->copies, sizeof(*k) * (size_t) cap);
        if (k) st->copies = k;
        if (!o || !k) return NULL;
        st->cap = cap;
    }
    int * slot = gga_ptrmap_get(&st->map, t, st->n);
    if (slot == NULL) return NULL;
    st->origs[st->n] = t;
    st->copies[st->n] = c;
    st->n++;
    for (int j = 0; j < GGML_MAX_SRC; j++) {
        if (t->src[j] != NULL) {
            c->src[j] = copy_tensor(st, t->src[j], depth + 1);
            if (c->src[j] == NULL) return NULL;
        }
    }
    return c;
}

struct ggml_backend_graph_copy ggml_backend_graph_copy(ggml_backend_t backend, struct ggml_cgraph * graph) {
    struct ggml_backend_graph_copy out = { NULL, NULL, NULL, NULL };
    if (backend == NULL || graph == NULL) {
        GGML_LOG_ERROR("%s: backend or graph is NULL\n", __func__);
        return out;
    }
    const int n_nodes = ggml_graph_n_nodes(graph);
    struct copy_state st;
    memset(&st, 0, sizeof(st));
    size_t n_max = (size_t) n_nodes * (GGML_MAX_SRC + 1) + 16;
    struct ggml_init_params pa = { ggml_tensor_overhead() * n_max, NULL, true };
    struct ggml_init_params pv = { ggml_tensor_overhead() * n_max + ggml_graph_overhead_custom((size_t) n_nodes + 1, false), NULL, true };
    st.ctx_alloc = ggml_init(pa);
    st.ctx_views = ggml_init(pv);
    bool ok = st.ctx_alloc && st.ctx_views && gga_ptrmap_init(&st.map, n_max);
    struct ggml_cgraph * g = ok ? ggml_new_graph_custom(st.ctx_views, (size_t) n_nodes + 1, false) : NULL;
    ok = ok && g != NULL;
    for (int i = 0; i < n_nodes && ok; i++) {
        struct ggml_tensor * c = copy_tensor(&st, ggml_graph_node(graph, i), 0);
        ok = c != NULL;
        if (ok) ggml_graph_add_node(g, c);
    }
    ggml_backend_buffer_t buffer = NULL;
    if (ok) {
        buffer = ggml_backend_alloc_ctx_tensors(st.ctx_alloc, backend);
        ok = buffer != NULL || ggml_get_first_tensor(st.ctx_alloc) == NULL;
    }
    for (int i = 0; i < st.n && ok; i++) {
        struct ggml_tensor * c = st.copies[i];
        if (c->view_src != NULL && c->view_src->buffer != NULL) {
            ok = ggml_backend_view_init(c) == GGML_STATUS_SUCCESS;
        }
    }
    for (int i = 0; i < st.n && ok; i++) {
        struct ggml_tensor * t = st.origs[i];
        if (t->view_src == NULL && t->data != NULL && t->buffer != NULL && st.copies[i]->buffer != NULL) {
            ggml_backend_tensor_copy(t, st.copies[i]);
        }
    }
    free(st.origs);
    free(st.copies);
    gga_ptrmap_free(&st.map);
    if (!ok) {
        GGML_LOG_ERROR("%s: cannot copy a graph of %d nodes to %s\n", __func__, n_nodes, ggml_backend_name(backend));
        ggml_backend_buffer_free(buffer);
        ggml_free(st.ctx_alloc);
        ggml_free(st.ctx_views);
        return out;
    }
    out.buffer = buffer;
    out.ctx_allocated = st.ctx_alloc;
    out.ctx_unallocated = st.ctx_views;
    out.graph = g;
    return out;
}

void ggml_backend_graph_copy_free(struct ggml_backend_graph_copy copy) {
    ggml_backend_buffer_free(copy.buffer);
    ggml_free(copy.ctx_allocated);
    ggml_free(copy.ctx_unallocated);
}

// Computes node i of g alone on backend (its sources are already computed).
static bool compute_one(ggml_backend_t backend, struct ggml_cgraph * g, int i) {
    struct ggml_init_params ip = { ggml_graph_overhead_custom(1, false) + 256, NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_cgraph * one = ctx ? ggml_new_graph_custom(ctx, 1, false) : NULL;
    bool ok = one != NULL;
    if (ok) {
        ggml_graph_add_node(one, ggml_graph_node(g, i));
        ok = ggml_backend_graph_compute(backend, one) == GGML_STATUS_SUCCESS;
    }
    ggml_free(ctx);
    return ok;
}

bool ggml_backend_compare_graph_backend(ggml_backend_t backend1, ggml_backend_t backend2, struct ggml_cgraph * graph,
        ggml_backend_eval_callback callback, void * user_data, struct ggml_tensor * const * test_nodes, size_t num_test_nodes) {
    if (backend1 == NULL || backend2 == NULL || graph == NULL || callback == NULL) {
        GGML_LOG_ERROR("%s: a backend, the graph or the callback is NULL\n", __func__);
        return false;
    }
    struct ggml_backend_graph_copy copy = ggml_backend_graph_copy(backend2, graph);
    if (copy.graph == NULL) {
        return false;
    }
    struct ggml_cgraph * g1 = graph;
    struct ggml_cgraph * g2 = copy.graph;
    const int n = ggml_graph_n_nodes(g1);
    bool ok = true;
    if (test_nodes == NULL) {
        for (int i = 0; i < n && ok; i++) {
            ok = compute_one(backend1, g1, i) && compute_one(backend2, g2, i);
            if (ok && !callback(i, ggml_graph_node(g1, i), ggml_graph_node(g2, i), user_data)) {
                break;
            }
        }
    } else {
        ok = ggml_backend_graph_compute(backend1, g1) == GGML_STATUS_SUCCESS &&
             ggml_backend_graph_compute(backend2, g2) == GGML_STATUS_SUCCESS;
        for (size_t k = 0; k < num_test_nodes && ok; k++) {
            int found = -1;
            for (int i = 0; i < n && found < 0; i++) {
                if (ggml_graph_node(g1, i) == test_nodes[k]) found = i;
            }
            if (found < 0) {
                GGML_LOG_ERROR("%s: test node %zu is not a node of the graph\n", __func__, k);
                ok = false;
                break;
            }
            if (!callback(found, ggml_graph_node(g1, found), ggml_graph_node(g2, found), user_data)) {
                break;
            }
        }
    }
    ggml_backend_graph_copy_free(copy);
    return ok;
}
