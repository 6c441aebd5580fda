// graph.c — computation graphs: building them in ggml's order, and reading them back.
//
// A graph is one object in its context: the ggml_cgraph header, then `size` node pointers,
// `size` leaf pointers and the visited set (an open-addressing hash table of tensor pointers,
// linear probing, a prime number of slots >= 2*size + 2). Nodes and leafs together can never
// exceed 2*size, so the table always keeps an empty slot and a lookup always ends.
//
// ggml_build_forward_expand walks the sources depth first, left to right (src[0] before src[1]
// ...), and appends a tensor after all of its sources: this is ggml's order, so the same program
// gives the same node and leaf order here as on ggml. A tensor enters the visited set when the
// walk first reaches it, before its sources (so a self-reference, as ggml_cast makes, ends
// there). On the way back, a tensor whose op is NONE and that is not a PARAM becomes a leaf, any
// other a node; unnamed ones are named "leaf_%d"/"node_%d" by their index, as ggml does. The walk
// keeps its own stack (on the heap, grown by doubling) instead of recursing, so a deep chain of
// operations cannot overflow the C stack. Cost: O(tensors reached) time, with one hash lookup
// per edge.

#include "align.h"
#include "ggml-impl.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

//
// Hash set of tensor pointers
//

#define HASHSET_FULL           ((size_t) -1)
#define HASHSET_ALREADY_EXISTS ((size_t) -2)

static bool is_prime(size_t n) {
    if (n < 2) {
        return false;
    }
    for (size_t d = 2; d <= n / d; d++) {
        if (n % d == 0) {
            return false;
        }
    }
    return true;
}

// smallest prime >= min_sz
static size_t hash_size_for(size_t min_sz) {
    size_t n = min_sz < 2 ? 2 : min_sz;
    while (!is_prime(n)) {
        n++;
    }
    return n;
}

static size_t hash_of(const struct ggml_tensor * t, size_t size) {
    // tensors are at least 16-byte aligned inside an arena: the low bits carry nothing
    return (size_t) (((uintptr_t) t >> 4) % size);
}

static size_t hash_find(const struct ggalloc_hash_set * set, const struct ggml_tensor * t) {
    size_t i = hash_of(t, set->size);
    const size_t start = i;
    while (set->keys[i] != NULL && set->keys[i] != t) {
        i = (i + 1) % set->size;
        if (i == start) {
            return HASHSET_FULL;
        }
    }
    return i;
}

// the slot t went into, or one of the two codes
static size_t hash_insert(struct ggalloc_hash_set * set, struct ggml_tensor * t) {
    const size_t i = hash_find(set, t);
    if (i == HASHSET_FULL) {
        return HASHSET_FULL;
    }
    if (set->keys[i] == t) {
        return HASHSET_ALREADY_EXISTS;
    }
    // one slot stays empty so that lookups of absent keys terminate
    if (set->n_used + 1 >= set->size) {
        return HASHSET_FULL;
    }
    set->keys[i] = t;
    set->n_used++;
    return i;
}

static void hash_reset(struct ggalloc_hash_set * set) {
    memset(set->keys, 0, set->size * sizeof(set->keys[0]));
    set->n_used = 0;
}

//
// Sizes
//

// Bytes of a graph object's payload, or 0 if the size is unusable (overflow).
static size_t graph_nbytes(size_t size, bool grads) {
    if (size > (size_t) INT_MAX / 2) {
        return 0;
    }
    const size_t hash_size = hash_size_for(size * 2 + 2);
    const size_t ptr = sizeof(struct ggml_tensor *);
    size_t n = gga_align_up(sizeof(struct ggml_cgraph), ptr);
    n += size * ptr;         // nodes
    n += size * ptr;         // leafs
    n += hash_size * ptr;    // visited keys
    if (grads) {
        n += 2 * size * ptr; // grads, grad_accs
    }
    return n;
}

size_t ggml_graph_overhead_custom(size_t size, bool grads) {
    const size_t n = graph_nbytes(size, grads);
    return n == 0 ? 0 : GGML_OBJECT_SIZE + GGML_PAD(n, (size_t) GGML_MEM_ALIGN);
}

size_t ggml_graph_overhead(void) {
    return ggml_graph_overhead_custom(GGML_DEFAULT_GRAPH_SIZE, false);
}

//
// Creation
//

struct ggml_cgraph * ggml_new_graph_custom(struct ggml_context * ctx, size_t size, bool grads) {
    if (ctx == NULL) {
        GGML_LOG_ERROR("ggml_new_graph_custom: context is NULL\n");
        return NULL;
    }
    const size_t nbytes = graph_nbytes(size, grads);
    if (size == 0 || nbytes == 0) {
        GGML_LOG_ERROR("ggml_new_graph_custom: bad graph size %zu (1..%d)\n", size, INT_MAX / 2);
        return NULL;
    }
    size_t needed = 0, avail = 0;
    struct ggml_object * obj = ggalloc_new_object(ctx, GGML_OBJECT_TYPE_GRAPH, nbytes, &needed, &avail);
    if (obj == NULL) {
        GGML_LOG_ERROR("ggml_new_graph_custom: graph of size %zu: not enough space in the context's memory pool "
                "(needed %zu bytes, available %zu bytes of %zu)\n", size, needed, avail, ctx->mem_size);
        return NULL;
    }
    char * p = (char *) ctx->mem_buffer + obj->offs;
    memset(p, 0, nbytes);

    const size_t ptr = sizeof(struct ggml_tensor *);
    struct ggml_cgraph * g = (struct ggml_cgraph *) p;
    p += gga_align_up(sizeof(struct ggml_cgraph), ptr);
    g->size    = (int) size;
    g->n_nodes = 0;
    g->n_leafs = 0;
    g->nodes   = (struct ggml_tensor **) p; p += size * ptr;
    g->leafs   = (struct ggml_tensor **) p; p += size * ptr;
    g->visited_hash_set.size   = hash_size_for(size * 2 + 2);
    g->visited_hash_set.n_used = 0;
    g->visited_hash_set.keys   = (struct ggml_tensor **) p; p += g->visited_hash_set.size * ptr;
    if (grads) {
        g->grads     = (struct ggml_tensor **) p; p += size * ptr;
        g->grad_accs = (struct ggml_tensor **) p;
    }
    return g;
}

struct ggml_cgraph * ggml_new_graph(struct ggml_context * ctx) {
    return ggml_new_graph_custom(ctx, GGML_DEFAULT_GRAPH_SIZE, false);
}

void ggml_graph_clear(struct ggml_cgraph * cgraph) {
    if (cgraph == NULL) {
        return;
    }
    cgraph->n_nodes = 0;
    cgraph->n_leafs = 0;
    hash_reset(&cgraph->visited_hash_set);
}

void ggml_graph_reset(struct ggml_cgraph * cgraph) {
    if (cgraph == NULL || cgraph->grads == NULL) {
        return;
    }
    memset(cgraph->grads, 0, (size_t) cgraph->size * sizeof(cgraph->grads[0]));
    memset(cgraph->grad_accs, 0, (size_t) cgraph->size * sizeof(cgraph->grad_accs[0]));
}

void ggml_graph_cpy(struct ggml_cgraph * src, struct ggml_cgraph * dst) {
    if (src == NULL || dst == NULL) {
        GGML_LOG_ERROR("ggml_graph_cpy: %s graph is NULL\n", src == NULL ? "source" : "destination");
        return;
    }
    if (src == dst) {
        return;
    }
    ggml_graph_clear(dst);
    if (dst->size < src->n_nodes || dst->size < src->n_leafs) {
        GGML_LOG_ERROR("ggml_graph_cpy: destination of size %d cannot hold %d nodes and %d leafs\n",
                dst->size, src->n_nodes, src->n_leafs);
        return;
    }
    memcpy(dst->nodes, src->nodes, (size_t) src->n_nodes * sizeof(src->nodes[0]));
    memcpy(dst->leafs, src->leafs, (size_t) src->n_leafs * sizeof(src->leafs[0]));
    dst->n_nodes = src->n_nodes;
    dst->n_leafs = src->n_leafs;
    for (size_t i = 0; i < src->visited_hash_set.size; i++) {
        if (src->visited_hash_set.keys[i] != NULL) {
            hash_insert(&dst->visited_hash_set, src->visited_hash_set.keys[i]);
        }
    }
    if (src->grads != NULL && dst->grads != NULL) {
        const size_t n = (size_t) (src->size < dst->size ? src->size : dst->size);
        memcpy(dst->grads, src->grads, n * sizeof(src->grads[0]));
        memcpy(dst->grad_accs, src->grad_accs, n * sizeof(src->grad_accs[0]));
    }
}

struct ggml_cgraph * ggml_graph_dup(struct ggml_context * ctx, struct ggml_cgraph * cgraph, bool force_grads) {
    if (cgraph == NULL) {
        GGML_LOG_ERROR("ggml_graph_dup: graph is NULL\n");
        return NULL;
    }
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, (size_t) cgraph->size, cgraph->grads != NULL || force_grads);
    if (g != NULL) {
        ggml_graph_cpy(cgraph, g);
    }
    return g;
}

//
// Building
//

struct visit_frame {
    struct ggml_tensor * t;
    int next_src;
};

// Appends t to nodes or leafs; false (and a log line) if that list is full.
static bool graph_append(struct ggml_cgraph * g, struct ggml_tensor * t) {
    const bool leaf = t->op == GGML_OP_NONE && !(t->flags & GGML_TENSOR_FLAG_PARAM);
    char buf[160];
    if (leaf) {
        if (g->n_leafs >= g->size) {
            GGML_LOG_ERROR("ggml_build_forward_expand: graph is full (size %d, %d leafs): cannot add leaf %s\n",
                    g->size, g->n_leafs, ggalloc_tensor_desc(t, buf, sizeof(buf)));
            return false;
        }
        if (t->name[0] == '\0') {
            ggml_format_name(t, "leaf_%d", g->n_leafs);
        }
        g->leafs[g->n_leafs++] = t;
    } else {
        if (g->n_nodes >= g->size) {
            GGML_LOG_ERROR("ggml_build_forward_expand: graph is full (size %d, %d nodes): cannot add node %s\n",
                    g->size, g->n_nodes, ggalloc_tensor_desc(t, buf, sizeof(buf)));
            return false;
        }
        if (t->name[0] == '\0') {
            ggml_format_name(t, "node_%d", g->n_nodes);
        }
        g->nodes[g->n_nodes++] = t;
    }
    return true;
}

// Marks t visited; false (and a log line) if more tensors are reachable than the graph can hold.
static bool graph_mark(struct ggml_cgraph * g, struct ggml_tensor * t, bool * fresh) {
    const size_t r = hash_insert(&g->visited_hash_set, t);
    if (r == HASHSET_ALREADY_EXISTS) {
        *fresh = false;
        return true;
    }
    if (r == HASHSET_FULL) {
        char buf[160];
        GGML_LOG_ERROR("ggml_build_forward_expand: graph is full (size %d, %d nodes, %d leafs): cannot visit %s\n",
                g->size, g->n_nodes, g->n_leafs, ggalloc_tensor_desc(t, buf, sizeof(buf)));
        return false;
    }
    *fresh = true;
    return true;
}

void ggml_build_forward_expand(struct ggml_cgraph * cgraph, struct ggml_tensor * tensor) {
    if (cgraph == NULL || tensor == NULL) {
        GGML_LOG_ERROR("ggml_build_forward_expand: %s is NULL\n", cgraph == NULL ? "graph" : "tensor");
        return;
    }

    bool fresh;
    if (!graph_mark(cgraph, tensor, &fresh) || !fresh) {
        return;
    }

    struct visit_frame local[64];
    struct visit_frame * stack = local;
    size_t cap = sizeof(local) / sizeof(local[0]);
    size_t top = 0;
    stack[top++] = (struct visit_frame) { tensor, 0 };

    while (top > 0) {
        struct visit_frame * f = &stack[top - 1];
        struct ggml_tensor * next = NULL;
        while (f->next_src < GGML_MAX_SRC) {
            struct ggml_tensor * s = f->t->src[f->next_src++];
            if (s == NULL) {
                continue;
            }
            if (!graph_mark(cgraph, s, &fresh)) {
                goto done;
            }
            if (fresh) {
                next = s;
                break;
            }
        }
        if (next == NULL) {
            if (!graph_append(cgraph, f->t)) {
                goto done;
            }
            top--;
            continue;
        }
        if (top == cap) {
            const size_t new_cap = cap * 2;
            struct visit_frame * grown = malloc(new_cap * sizeof(*grown));
            if (grown == NULL) {
                GGML_LOG_ERROR("ggml_build_forward_expand: out of memory for a walk of depth %zu\n", new_cap);
                goto done;
            }
            memcpy(grown, stack, top * sizeof(*stack));
            if (stack != local) {
                free(stack);
            }
            stack = grown;
            cap   = new_cap;
        }
        stack[top++] = (struct visit_frame) { next, 0 };
    }

done:
    if (stack != local) {
        free(stack);
    }
}

//
// Access
//

int ggml_graph_size(struct ggml_cgraph * cgraph) {
    return cgraph ? cgraph->size : 0;
}

struct ggml_tensor * ggml_graph_node(struct ggml_cgraph * cgraph, int i) {
    if (cgraph == NULL) {
        return NULL;
    }
    if (i < 0) {
        i += cgraph->n_nodes;
    }
    if (i < 0 || i >= cgraph->n_nodes) {
        return NULL;
    }
    return cgraph->nodes[i];
}

struct ggml_tensor ** ggml_graph_nodes(struct ggml_cgraph * cgraph) {
    return cgraph ? cgraph->nodes : NULL;
}

int ggml_graph_n_nodes(struct ggml_cgraph * cgraph) {
    return cgraph ? cgraph->n_nodes : 0;
}

void ggml_graph_add_node(struct ggml_cgraph * cgraph, struct ggml_tensor * tensor) {
    if (cgraph == NULL || tensor == NULL) {
        GGML_LOG_ERROR("ggml_graph_add_node: %s is NULL\n", cgraph == NULL ? "graph" : "tensor");
        return;
    }
    if (cgraph->n_nodes >= cgraph->size) {
        char buf[160];
        GGML_LOG_ERROR("ggml_graph_add_node: graph is full (size %d): cannot add node %s\n",
                cgraph->size, ggalloc_tensor_desc(tensor, buf, sizeof(buf)));
        return;
    }
    cgraph->nodes[cgraph->n_nodes++] = tensor;
}

int ggalloc_graph_n_leafs(struct ggml_cgraph * graph) {
    return graph ? graph->n_leafs : 0;
}

struct ggml_tensor * ggalloc_graph_leaf(struct ggml_cgraph * graph, int i) {
    if (graph == NULL || i < 0 || i >= graph->n_leafs) {
        return NULL;
    }
    return graph->leafs[i];
}

void ggalloc_graph_add_leaf(struct ggml_cgraph * graph, struct ggml_tensor * tensor) {
    if (graph == NULL || tensor == NULL) {
        GGML_LOG_ERROR("ggalloc_graph_add_leaf: %s is NULL\n", graph == NULL ? "graph" : "tensor");
        return;
    }
    if (graph->n_leafs >= graph->size) {
        char buf[160];
        GGML_LOG_ERROR("ggalloc_graph_add_leaf: graph is full (size %d): cannot add leaf %s\n",
                graph->size, ggalloc_tensor_desc(tensor, buf, sizeof(buf)));
        return;
    }
    graph->leafs[graph->n_leafs++] = tensor;
}

struct ggml_tensor * ggml_graph_get_tensor(const struct ggml_cgraph * cgraph, const char * name) {
    if (cgraph == NULL || name == NULL) {
        return NULL;
    }
    for (int i = 0; i < cgraph->n_leafs; i++) {
        if (strcmp(cgraph->leafs[i]->name, name) == 0) {
            return cgraph->leafs[i];
        }
    }
    for (int i = 0; i < cgraph->n_nodes; i++) {
        if (strcmp(cgraph->nodes[i]->name, name) == 0) {
            return cgraph->nodes[i];
        }
    }
    return NULL;
}

void ggml_graph_print(const struct ggml_cgraph * cgraph) {
    if (cgraph == NULL) {
        GGML_LOG_ERROR("ggml_graph_print: graph is NULL\n");
        return;
    }
    GGML_LOG_INFO("=== GRAPH ===\n");
    GGML_LOG_INFO("n_nodes = %d\n", cgraph->n_nodes);
    for (int i = 0; i < cgraph->n_nodes; i++) {
        const struct ggml_tensor * n = cgraph->nodes[i];
        GGML_LOG_INFO(" - %3d: [ %5" PRId64 ", %5" PRId64 ", %5" PRId64 "] %16s %s (%s)\n",
                i, n->ne[0], n->ne[1], n->ne[2], ggml_op_desc(n),
                (n->flags & GGML_TENSOR_FLAG_PARAM) ? "x" : " ", n->name);
    }
    GGML_LOG_INFO("n_leafs = %d\n", cgraph->n_leafs);
    for (int i = 0; i < cgraph->n_leafs; i++) {
        const struct ggml_tensor * n = cgraph->leafs[i];
        GGML_LOG_INFO(" - %3d: [ %5" PRId64 ", %5" PRId64 "] %8s %16s\n",
                i, n->ne[0], n->ne[1], ggml_op_name(n->op), ggml_get_name(n));
    }
    GGML_LOG_INFO("========================================\n");
}
