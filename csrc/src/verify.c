// ggalloc_graph_verify: is an allocated graph's memory plan valid? Computed from the graph
// alone, independently of any allocator's bookkeeping.
//
// Every tensor is reduced to the tensor that owns its memory (a view to its view_src). Each owner
// is live over an inclusive range of node steps, in graph order:
//   - from 0 for leafs and inputs, else from the step of the node that computes it;
//   - to the last step that reads it (as a source, directly or through a view) or writes it
//     through a view (ggml_cpy into a view), and to the last step for outputs (the owner or any
//     view of it flagged output).
// Two owners of one buffer whose byte ranges [data, data + nbytes) intersect while both are live are a
// violation, with one exception, in-place computation: at step i, node B may reuse the memory of
// A when A's last step is i, B's first step is i, and one of B's sources has A as its owner and
// B's data as its data.
//
// Owners are sorted by address and swept: each is compared with the ones that start before it
// ends, so the cost is O(n log n) plus the number of pairs that share addresses (which a plan
// with reuse has, at different times). Tensors flagged GGALLOC_TENSOR_FLAG_EXTERNAL have no
// memory to check and are ignored.

#include "ggalloc-alloc.h"
#include "ggalloc-graph.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct owner {
    struct ggml_tensor * t;
    int  first;
    int  last;
    int  node_index; // -1 for leafs and tensors that are not nodes
    bool output;
};

static int owner_by_ptr(const void * a, const void * b) {
    uintptr_t x = (uintptr_t) ((const struct owner *) a)->t;
    uintptr_t y = (uintptr_t) ((const struct owner *) b)->t;
    return x < y ? -1 : x > y;
}

// Addresses are compared within one buffer only: a device buffer's data pointers are offsets from
// a placeholder base that every device buffer shares, so equal pointers in two buffers are
// different bytes. (Tensors of an allocating context have no buffer and share the NULL key.)
static int owner_by_addr(const void * a, const void * b) {
    const struct ggml_tensor * ta = (*(struct owner * const *) a)->t;
    const struct ggml_tensor * tb = (*(struct owner * const *) b)->t;
    if (ta->buffer != tb->buffer) {
        return (uintptr_t) ta->buffer < (uintptr_t) tb->buffer ? -1 : 1;
    }
    uintptr_t x = (uintptr_t) ta->data;
    uintptr_t y = (uintptr_t) tb->data;
    return x < y ? -1 : x > y;
}

static struct ggml_tensor * owner_of(struct ggml_tensor * t) {
    while (t->view_src != NULL) {
        t = t->view_src;
    }
    return t;
}

static struct owner * find(struct owner * owners, int n, const struct ggml_tensor * t) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if ((uintptr_t) owners[mid].t < (uintptr_t) t) lo = mid + 1;
        else if (owners[mid].t == t) return &owners[mid];
        else hi = mid - 1;
    }
    return NULL;
}

// Whether the overlap of a and b is node b computed in place over a.
static bool in_place(struct ggml_cgraph * graph, const struct owner * a, const struct owner * b) {
    if (b->node_index < 0 || a->last != b->first || b->first != b->node_index) {
        return false;
    }
    struct ggml_tensor * node = ggml_graph_node(graph, b->node_index);
    for (int j = 0; j < GGML_MAX_SRC; j++) {
        struct ggml_tensor * s = node->src[j];
        if (s != NULL && owner_of(s) == a->t && s->data == node->data) {
            return true;
        }
    }
    return false;
}

int ggalloc_graph_verify(struct ggml_cgraph * graph) {
    if (graph == NULL) {
        GGML_LOG_ERROR("%s: graph is NULL\n", __func__);
        return -1;
    }
    const int n_nodes = ggml_graph_n_nodes(graph);
    const int n_leafs = ggalloc_graph_n_leafs(graph);
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);

    // every owner, once
    int cap = n_leafs + n_nodes * (GGML_MAX_SRC + 1) + 1;
    struct owner * owners = malloc(sizeof(*owners) * cap);
    struct owner ** by_addr = malloc(sizeof(*by_addr) * cap);
    if (owners == NULL || by_addr == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        free(owners);
        free(by_addr);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < n_leafs; i++) {
        owners[n++].t = owner_of(ggalloc_graph_leaf(graph, i));
    }
    for (int i = 0; i < n_nodes; i++) {
        owners[n++].t = owner_of(nodes[i]);
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            if (nodes[i]->src[j] != NULL) {
                owners[n++].t = owner_of(nodes[i]->src[j]);
            }
        }
    }
    qsort(owners, n, sizeof(*owners), owner_by_ptr);
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m == 0 || owners[m - 1].t != owners[i].t) {
            owners[m] = owners[i];
            owners[m].first = INT32_MAX;
            owners[m].last = -1;
            owners[m].node_index = -1;
            owners[m].output = (owners[i].t->flags & GGML_TENSOR_FLAG_OUTPUT) != 0;
            m++;
        }
    }
    n = m;

    // liveness
    for (int i = 0; i < n_leafs; i++) {
        struct owner * o = find(owners, n, owner_of(ggalloc_graph_leaf(graph, i)));
        o->first = 0;
        o->last = o->last < 0 ? 0 : o->last;
    }
    for (int i = 0; i < n_nodes; i++) {
        struct ggml_tensor * node = nodes[i];
        struct owner * o = find(owners, n, owner_of(node));
        int first = (node->flags & GGML_TENSOR_FLAG_INPUT) ? 0 : i;
        if (node->view_src == NULL) {
            o->node_index = i;
        }
        if (first < o->first) o->first = first;
        if (i > o->last) o->last = i;
        if (node->flags & GGML_TENSOR_FLAG_OUTPUT) o->output = true;
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            struct ggml_tensor * s = node->src[j];
            if (s == NULL) continue;
            struct owner * so = find(owners, n, owner_of(s));
            if (i > so->last) so->last = i;
            if (s->flags & GGML_TENSOR_FLAG_INPUT) so->first = 0;
            if (s->flags & GGML_TENSOR_FLAG_OUTPUT) so->output = true;
        }
    }

    int n_checked = 0;
    int result = 0;
    for (int i = 0; i < n; i++) {
        struct owner * o = &owners[i];
        if (o->t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
            continue;
        }
        if (o->t->data == NULL) {
            GGML_LOG_ERROR("%s: tensor %s (%s) has no data: allocate the graph first\n", __func__,
                    o->t->name[0] ? o->t->name : "(unnamed)", ggml_op_desc(o->t));
            result = -1;
            break;
        }
        if (o->first == INT32_MAX) o->first = 0; // neither leaf nor node: it exists before the graph runs
        if (o->output) o->last = n_nodes > 0 ? n_nodes - 1 : 0;
        if (o->first > o->last) o->last = o->first;
        if (ggml_nbytes(o->t) > 0) {
            by_addr[n_checked++] = o;
        }
    }

    if (result == 0) {
        qsort(by_addr, n_checked, sizeof(*by_addr), owner_by_addr);
        for (int i = 0; i < n_checked; i++) {
            const struct owner * a = by_addr[i];
            uintptr_t a_end = (uintptr_t) a->t->data + ggml_nbytes(a->t);
            for (int j = i + 1; j < n_checked && by_addr[j]->t->buffer == a->t->buffer &&
                                (uintptr_t) by_addr[j]->t->data < a_end; j++) {
                const struct owner * b = by_addr[j];
                if (a->first > b->last || b->first > a->last) {
                    continue; // never live together
                }
                if (in_place(graph, a, b) || in_place(graph, b, a)) {
                    continue;
                }
                GGML_LOG_DEBUG("%s: %s [steps %d..%d] and %s [steps %d..%d] share bytes\n", __func__,
                        a->t->name, a->first, a->last, b->t->name, b->first, b->last);
                result++;
            }
        }
    }
    free(owners);
    free(by_addr);
    return result;
}
