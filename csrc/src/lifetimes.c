// The graph walk of ggml's graph allocator, producing lifetimes instead of addresses.
//
// ggml places a graph's tensors in one pass: leafs first, then (first pass over the nodes)
// inputs, while counting each tensor's children and views; then (second pass) each node in
// order: its sources not yet placed, then the node itself, in place over a dying source where
// the op allows it, and after it the sources whose last reader it was are freed. Outputs are
// never freed. Here the same walk runs without a memory allocator: every placement becomes a
// block for the pure planner (planner.h), in the order ggml would allocate, with
//
//   start = the step it is placed: 0 for leafs and inputs, k + 1 while visiting node k;
//   end   = k + 2 when it is freed after node k (frees of a step come before its allocations),
//           k + 1 when node k takes it over in place (the two blocks then form one group, and
//           the node's block starts where the parent's ends), and n + 2 when never freed.
//
// With the blocks in this order, the planner's online strategy reproduces ggml's placement
// byte for byte, and its offline strategies may place the same lifetimes better.
//
// Tensors are found through the library's pointer map (ptrmap.h: open addressing, linear
// probing, at most half full, one probe to find or insert), which maps each tensor to its
// record, so the walk costs O(nodes * sources) with small constants. Every tensor is looked up
// once, before the walk: its record notes its view source and whether it is a view or external,
// so that the walk reads the (large, cold) tensor structs as little as it can, and each node
// notes how many source slots it uses, so loops stop there instead of at GGML_MAX_SRC. Its
// working memory (the map, the records, the per-node arrays) can be kept between walks
// (gga_walk_scratch, which gallocr holds): a re-plan then allocates only its results, and
// touches no fresh pages.
//
// One deliberate difference from ggml: a tensor that has an output view (a view flagged as an
// output) is never freed either, so nothing overwrites what the caller reads through the view.

#include "lifetimes.h"
#include "ptrmap.h"
#include "ggalloc-graph.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct rec {
    struct ggml_tensor * t;
    int  n_children;
    int  n_views;
    int  buffer_id;
    int  slot;
    int  block;       // its latest block, -1 if never placed
    int  node_index;  // index among the graph's nodes, -1 if not a node
    int  leaf_index;  // index among the graph's leafs, -1 if not a leaf
    bool allocated;   // placed by this walk and not yet freed or taken over
    bool output_view; // some view of it is an output
    struct rec * view_src;  // the record of its view_src, if any
    struct rec ** src;      // for nodes: the records of its sources (GGML_MAX_SRC entries)
    int  n_src;       // for nodes: sources past this index are all NULL
    int  view_src_idx;// index + 1 of the record of its view_src, once known (0: not yet)
    bool view_known;  // view_src_idx is set (or the tensor is no view)
    bool skip;        // a view or external: never placed (read once from the tensor, which is cold)
    int32_t op;       // the tensor's op and flags, read with the rest
    int32_t flags;
};

struct walk {
    const struct gga_walk_params * p;
    struct gga_lifetimes * lt;

    struct gga_ptrmap * map; // tensor -> index of its record
    struct rec * recs;
    int      n_recs;
    int      cap_recs;

    int      n_steps_end; // the end of blocks never freed
    int      n_nodes;
    int      n_leafs;
    bool     oom;
};

// The record of t, created on first sight. NULL only when out of memory.
static struct rec * rec_get(struct walk * w, struct ggml_tensor * t) {
    // one probe finds or inserts: a new key gets the next index, which no record has yet
    int * v = gga_ptrmap_get(w->map, t, w->n_recs);
    if (v == NULL) {
        w->oom = true;
        return NULL;
    }
    if (*v < w->n_recs) {
        return &w->recs[*v];
    }
    if (w->n_recs == w->cap_recs) {
        int cap = w->cap_recs * 2;
        struct rec * recs = realloc(w->recs, sizeof(*recs) * cap);
        if (recs == NULL) {
            w->oom = true;
            return NULL;
        }
        w->recs = recs;
        w->cap_recs = cap;
    }
    struct rec * r = &w->recs[w->n_recs++];
    memset(r, 0, sizeof(*r));
    r->t = t;
    r->block = -1;
    r->slot = -1;
    r->node_index = -1;
    r->leaf_index = -1;
    return r;
}

// The index + 1 of t's record (0 when out of memory), with the record of its view_src noted.
static int rec_index(struct walk * w, struct ggml_tensor * t) {
    struct rec * r = rec_get(w, t);
    if (r == NULL) {
        return 0;
    }
    const int i = (int) (r - w->recs);
    if (!r->view_known) {
        int v = 0;
        if (t->view_src != NULL) {
            struct rec * vr = rec_get(w, t->view_src); // may move the records: r is stale after
            if (vr == NULL) {
                return 0;
            }
            v = (int) (vr - w->recs) + 1;
        }
        w->recs[i].view_src_idx = v;
        w->recs[i].view_known = true;
        // taken back here, on the one read of the tensor before the walk, rather than in a pass
        // of its own over the graph
        if (t->buffer != NULL && w->p->owns_buffer != NULL && w->p->owns_buffer(w->p->user, t->buffer)) {
            t->buffer = NULL;
            t->data = NULL;
        }
        w->recs[i].skip = t->view_src != NULL || gga_tensor_is_external(t);
        w->recs[i].op = t->op;
        w->recs[i].flags = t->flags;
    }
    return i + 1;
}

// Gives sb room for cap blocks, keeping its n blocks; false (sb untouched) when out of memory.
static bool slot_grow(struct gga_slot_blocks * sb, int cap) {
    const size_t c = (size_t) cap;
    char * mem = malloc(c * (sizeof(*sb->blocks) + sizeof(*sb->tensor) + 3 * sizeof(int)));
    if (mem == NULL) {
        return false;
    }
    struct gga_slot_blocks g = { .n = sb->n, .cap = cap, .blocks = (struct gga_block *) mem };
    g.tensor    = (struct ggml_tensor **) (mem + c * sizeof(*g.blocks));
    g.buffer_id = (int *) (g.tensor + c);
    g.first     = g.buffer_id + c;
    g.last      = g.first + c;
    if (sb->n > 0) {
        memcpy(g.blocks, sb->blocks, sizeof(*g.blocks) * (size_t) sb->n);
        memcpy(g.tensor, sb->tensor, sizeof(*g.tensor) * (size_t) sb->n);
        memcpy(g.buffer_id, sb->buffer_id, sizeof(int) * (size_t) sb->n);
        memcpy(g.first, sb->first, sizeof(int) * (size_t) sb->n);
        memcpy(g.last, sb->last, sizeof(int) * (size_t) sb->n);
    }
    free(sb->blocks);
    *sb = g;
    return true;
}

// Appends a block to slot s; its index, or -1 when out of memory.
static int block_push(struct walk * w, int s, size_t size, int64_t start, struct ggml_tensor * t, int buffer_id, int first) {
    struct gga_slot_blocks * sb = &w->lt->slots[s];
    if (sb->n == sb->cap && !slot_grow(sb, sb->cap ? sb->cap * 2 : w->n_nodes + w->n_leafs + 16)) {
        w->oom = true;
        return -1;
    }
    int i = sb->n++;
    sb->blocks[i].size = size;
    sb->blocks[i].start = start;
    sb->blocks[i].end = w->n_steps_end;
    sb->blocks[i].group = -1;
    sb->tensor[i] = t;
    sb->buffer_id[i] = buffer_id;
    sb->first[i] = first;
    sb->last[i] = w->n_nodes > 0 ? w->n_nodes - 1 : 0;
    return i;
}

// ggml_gallocr_allocate_node: place t for buffer_id at step (visit position pos, -1 before the
// nodes), in place over a source when it can.
// Records are found once, before the walk (every tensor of a node or leaf, and the sources of
// every node), so that the walk itself does no lookups. A tensor that is not a node has no
// source records and is never placed in place (ggml graphs have no such tensor with sources).
static void walk_allocate(struct walk * w, struct rec * r, int buffer_id, int64_t step, int pos) {
    if (r->allocated || r->skip) {
        return;
    }
    struct ggml_tensor * t = r->t;
    int first = pos < 0 ? 0 : pos;

    if (r->src != NULL && gga_op_can_inplace((enum ggml_op) r->op)) {
        for (int i = 0; i < r->n_src; i++) {
            struct ggml_tensor * parent = t->src[i];
            if (parent == NULL) {
                continue;
            }
            struct rec * pr = r->src[i];
            // only memory this walk placed can be taken over: not external tensors, and never a
            // view (views are not placed; ggml checks this before its view case, which is thus
            // never taken)
            if (!pr->allocated) {
                continue;
            }
            if ((pr->flags & GGML_TENSOR_FLAG_OUTPUT) || pr->output_view) {
                continue;
            }
            if (!gga_same_layout(t, parent)) {
                continue;
            }
            if (pr->n_children != 1 || pr->n_views != 0) {
                continue;
            }
            size_t size = w->p->alloc_size(w->p->user, pr->buffer_id, t);
            struct gga_slot_blocks * sb = &w->lt->slots[pr->slot];
            if (size > sb->blocks[pr->block].size) {
                continue; // a group never grows along its chain
            }
            int b = block_push(w, pr->slot, size, step, t, pr->buffer_id, first);
            if (b < 0) {
                return;
            }
            struct gga_block * pb = &sb->blocks[pr->block];
            if (pb->group < 0) {
                pb->group = (int32_t) pr->block; // a group is named by its first block
            }
            pb->end = step;
            sb->last[pr->block] = pos;
            sb->blocks[b].group = pb->group;
            pr->allocated = false; // handed over: never freed by itself
            r->allocated = true;
            r->slot = pr->slot;
            r->block = b;
            r->buffer_id = pr->buffer_id;
            return;
        }
    }

    int s = w->p->slot_of_buffer[buffer_id];
    size_t size = w->p->alloc_size(w->p->user, buffer_id, t);
    int b = block_push(w, s, size, step, t, buffer_id, first);
    if (b < 0) {
        return;
    }
    r->allocated = true;
    r->slot = s;
    r->block = b;
    r->buffer_id = buffer_id;
}

// ggml_gallocr_free_node, at the end of visit position pos.
static void walk_free(struct walk * w, struct rec * r, int pos) {
    if ((r->flags & GGML_TENSOR_FLAG_OUTPUT) || r->output_view) {
        return;
    }
    struct gga_slot_blocks * sb = &w->lt->slots[r->slot];
    sb->blocks[r->block].end = (int64_t) pos + 2;
    sb->last[r->block] = pos;
    r->allocated = false;
}

static bool check_buffer_id(const struct gga_walk_params * p, const int * ids, int i, const char * what,
        const struct ggml_tensor * t) {
    int id = ids ? ids[i] : 0;
    if (id < 0 || id >= p->n_buffers) {
        GGML_LOG_ERROR("%s: %s %d (%s) has buffer id %d, but there are %d buffers\n", "ggml_gallocr_reserve_n", what, i,
                t->name, id, p->n_buffers);
        return false;
    }
    return true;
}

void gga_lifetimes_clear(struct gga_lifetimes * lt) {
    for (int s = 0; s < lt->n_slots && lt->slots; s++) {
        lt->slots[s].n = 0;
    }
    lt->n_nodes = 0;
    lt->n_leafs = 0;
    lt->pos_other = false;
}

void gga_lifetimes_release(struct gga_lifetimes * lt) {
    if (lt == NULL) {
        return;
    }
    for (int s = 0; s < lt->n_slots && lt->slots; s++) {
        free(lt->slots[s].blocks); // and the slot's other arrays
    }
    free(lt->slots);
    free(lt->leaf); // and the other per-node and per-leaf arrays
    memset(lt, 0, sizeof(*lt));
}

// Room in lt for a walk of n_slots slots, n_nodes nodes and n_leafs leafs, reusing what it holds;
// false when out of memory.
static bool lifetimes_reserve(struct gga_lifetimes * lt, int n_slots, int n_nodes, int n_leafs) {
    if (lt->slots == NULL || lt->n_slots != n_slots) {
        for (int s = 0; s < lt->n_slots && lt->slots; s++) {
            free(lt->slots[s].blocks);
        }
        free(lt->slots);
        lt->n_slots = n_slots;
        lt->slots = calloc(n_slots > 0 ? n_slots : 1, sizeof(struct gga_slot_blocks));
        if (lt->slots == NULL) {
            return false;
        }
    }
    const size_t nn = (size_t) (n_nodes > 0 ? n_nodes : 1);
    const size_t nl = (size_t) (n_leafs > 0 ? n_leafs : 1);
    const size_t size = sizeof(struct gga_ref) * (nl + nn + nn * GGML_MAX_SRC) +
                        sizeof(int32_t) * (nn * GGML_MAX_SRC + (size_t) n_nodes + (size_t) n_leafs + 1 + nn);
    if (size > lt->mem_size) {
        void * mem = malloc(size);
        if (mem == NULL) {
            return false;
        }
        free(lt->leaf);
        lt->leaf = mem;
        lt->mem_size = size;
    }
    lt->node      = lt->leaf + nl;
    lt->src       = lt->node + nn;
    lt->src_pos   = (int32_t *) (lt->src + nn * GGML_MAX_SRC);
    lt->view_pos  = lt->src_pos + nn * GGML_MAX_SRC;
    lt->node_leaf = lt->view_pos + (size_t) n_nodes + (size_t) n_leafs + 1;
    return true;
}

static int32_t pos_of(const struct rec * r, bool * other) {
    if (r == NULL) {
        return GGA_POS_NONE;
    }
    if (r->node_index >= 0) {
        return r->node_index;
    }
    if (r->leaf_index >= 0) {
        return GGA_POS_LEAF(r->leaf_index);
    }
    *other = true;
    return GGA_POS_NONE;
}

static struct gga_ref ref_of(const struct rec * r) {
    struct gga_ref ref = { -1, -1 };
    if (r == NULL || r->skip) {
        return ref;
    }
    if (r->block >= 0) {
        ref.slot = r->slot;
        ref.block = r->block;
    }
    return ref;
}

// What a walk needs only while it runs, kept between walks by an allocator that plans again and
// again: no allocation, and memory that is already mapped and warm. The per-node and per-leaf
// arrays are one allocation (at node_rec), rewritten by every walk.
struct gga_walk_scratch {
    struct gga_ptrmap map; // tensor -> record
    struct rec  * recs;
    int           cap_recs;
    struct rec ** node_rec;  // per node
    struct rec ** src_rec;   // per node and source
    struct rec ** leaf_rec;  // per leaf
    int         * order;     // per node
    int         * node_idx;  // per node
    int         * src_idx;   // per node and source
    int         * leaf_idx;  // per leaf
    int           cap_nodes;
    int           cap_leafs;
};

struct gga_walk_scratch * gga_walk_scratch_new(void) {
    return calloc(1, sizeof(struct gga_walk_scratch));
}

static void scratch_release(struct gga_walk_scratch * sc) {
    gga_ptrmap_free(&sc->map);
    free(sc->recs);
    free(sc->node_rec); // and the other per-node and per-leaf arrays
}

void gga_walk_scratch_free(struct gga_walk_scratch * sc) {
    if (sc != NULL) {
        scratch_release(sc);
        free(sc);
    }
}

// Room for a graph of n_nodes and n_leafs (at least 1 each) and cap_recs records; false when out
// of memory (what was there stays valid).
static bool scratch_reserve(struct gga_walk_scratch * sc, int n_nodes, int n_leafs, int cap_recs) {
    if (n_nodes > sc->cap_nodes || n_leafs > sc->cap_leafs) {
        const size_t nn = (size_t) (n_nodes > sc->cap_nodes ? n_nodes : sc->cap_nodes);
        const size_t nl = (size_t) (n_leafs > sc->cap_leafs ? n_leafs : sc->cap_leafs);
        const size_t n_ptr = nn + nn * GGML_MAX_SRC + nl;
        const size_t n_int = nn + nn + nn * GGML_MAX_SRC + nl;
        struct rec ** mem = malloc(sizeof(struct rec *) * n_ptr + sizeof(int) * n_int);
        if (mem == NULL) {
            return false;
        }
        free(sc->node_rec);
        sc->node_rec  = mem;
        sc->src_rec   = sc->node_rec + nn;
        sc->leaf_rec  = sc->src_rec + nn * GGML_MAX_SRC;
        sc->order     = (int *) (sc->leaf_rec + nl);
        sc->node_idx  = sc->order + nn;
        sc->src_idx   = sc->node_idx + nn;
        sc->leaf_idx  = sc->src_idx + nn * GGML_MAX_SRC;
        sc->cap_nodes = (int) nn;
        sc->cap_leafs = (int) nl;
    }
    if (cap_recs > sc->cap_recs) {
        struct rec * recs = realloc(sc->recs, sizeof(*recs) * (size_t) cap_recs);
        if (recs == NULL) {
            return false;
        }
        sc->recs = recs;
        sc->cap_recs = cap_recs;
    }
    return true;
}

bool gga_lifetimes_build(struct ggml_cgraph * graph, const struct gga_walk_params * p, struct gga_lifetimes * out) {
    gga_lifetimes_clear(out);
    if (graph == NULL) {
        GGML_LOG_ERROR("%s: graph is NULL\n", "ggml_gallocr_reserve");
        return false;
    }
    const int n_nodes = ggml_graph_n_nodes(graph);
    const int n_leafs = ggalloc_graph_n_leafs(graph);
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);

    for (int i = 0; i < n_leafs; i++) {
        if (!check_buffer_id(p, p->leaf_buffer_ids, i, "leaf", ggalloc_graph_leaf(graph, i))) return false;
    }
    for (int i = 0; i < n_nodes; i++) {
        if (!check_buffer_id(p, p->node_buffer_ids, i, "node", nodes[i])) return false;
    }
    if (p->order != NULL && p->n_order != n_nodes) {
        GGML_LOG_ERROR("%s: the node order has %d entries, but the graph has %d nodes\n", "ggml_gallocr_reserve", p->n_order, n_nodes);
        return false;
    }

    struct gga_walk_scratch local = { 0 };
    struct gga_walk_scratch * sc = p->scratch != NULL ? p->scratch : &local;
    struct walk w = { 0 };
    w.p = p;
    w.lt = out;
    w.n_nodes = n_nodes;
    w.n_leafs = n_leafs;
    w.n_steps_end = n_nodes + 2;
    const int n_max = n_nodes > 0 ? n_nodes : 1;
    const int l_max = n_leafs > 0 ? n_leafs : 1;
    // the map is used up to the size this graph needs (it may be larger from an earlier walk);
    // the tensors it holds are about the nodes and leafs (and the few sources and view sources
    // outside them): sized for those it stays at most half full, and grows if it must
    bool ok = scratch_reserve(sc, n_max, l_max, (n_nodes + n_leafs) * 2 + 16) &&
              gga_ptrmap_reset(&sc->map, (size_t) (n_nodes + n_leafs));
    w.map = &sc->map;
    w.cap_recs = sc->cap_recs;
    w.recs = sc->recs;
    int * order = sc->order;
    ok = ok && lifetimes_reserve(out, p->n_slots, n_nodes, n_leafs);
    out->n_nodes = n_nodes;
    out->n_leafs = n_leafs;

    // every tensor the walk meets gets its record now (first pass), and then each record the
    // records of its view_src and sources (second pass, once no record moves any more)
    struct rec ** node_rec = sc->node_rec;
    struct rec ** leaf_rec = sc->leaf_rec;
    struct rec ** src_rec = sc->src_rec;
    // records are found by index while they may still move (index + 1, 0 for none), and turned
    // into pointers once every one exists; only entries below a node's n_src are read
    int * leaf_idx = sc->leaf_idx;
    int * node_idx = sc->node_idx;
    int * src_idx = sc->src_idx;
    if (ok) {
        for (int i = 0; i < n_leafs && !w.oom; i++) {
            leaf_idx[i] = rec_index(&w, ggalloc_graph_leaf(graph, i));
        }
        for (int i = 0; i < n_nodes && !w.oom; i++) {
            const int ni = rec_index(&w, nodes[i]);
            node_idx[i] = ni;
            int n_src = 0;
            for (int j = 0; j < GGML_MAX_SRC && !w.oom; j++) {
                struct ggml_tensor * s = nodes[i]->src[j];
                src_idx[i * GGML_MAX_SRC + j] = 0;
                if (s == NULL) continue;
                src_idx[i * GGML_MAX_SRC + j] = rec_index(&w, s);
                n_src = j + 1;
            }
            if (ni > 0) {
                w.recs[ni - 1].n_src = n_src;
            }
        }
    }
    if (ok && !w.oom) {
        // every view source is registered by now: these lookups insert nothing
        for (int i = 0; i < w.n_recs; i++) {
            struct rec * r = &w.recs[i];
            if (r->view_known) {
                r->view_src = r->view_src_idx ? &w.recs[r->view_src_idx - 1] : NULL;
            } else {
                struct ggml_tensor * vs = r->t->view_src;
                r->view_src = vs ? rec_get(&w, vs) : NULL;
                r->skip = vs != NULL || gga_tensor_is_external(r->t);
                r->op = r->t->op;
                r->flags = r->t->flags;
            }
        }
        for (int i = 0; i < n_leafs; i++) {
            leaf_rec[i] = &w.recs[leaf_idx[i] - 1];
            if (leaf_rec[i]->leaf_index < 0) {
                leaf_rec[i]->leaf_index = i;
            }
        }
        for (int i = 0; i < n_nodes; i++) {
            struct rec * r = &w.recs[node_idx[i] - 1];
            node_rec[i] = r;
            r->node_index = i;
            r->src = &src_rec[i * GGML_MAX_SRC];
            for (int j = 0; j < r->n_src; j++) {
                int k = src_idx[i * GGML_MAX_SRC + j];
                r->src[j] = k ? &w.recs[k - 1] : NULL;
            }
        }
    }

    // the visiting order: a permutation in which every node comes after the nodes it reads
    if (ok && !w.oom) {
        if (p->order == NULL) {
            for (int i = 0; i < n_nodes; i++) order[i] = i;
        } else {
            int * pos = malloc(sizeof(int) * (n_nodes > 0 ? n_nodes : 1));
            if (pos == NULL) {
                w.oom = true;
            } else {
                for (int i = 0; i < n_nodes; i++) pos[i] = -1;
                for (int k = 0; k < n_nodes && ok; k++) {
                    int i = p->order[k];
                    if (i < 0 || i >= n_nodes || pos[i] >= 0) {
                        GGML_LOG_ERROR("%s: node order entry %d is %d: not a permutation of 0..%d\n", "ggml_gallocr_reserve", k, i, n_nodes - 1);
                        ok = false;
                        break;
                    }
                    pos[i] = k;
                    order[k] = i;
                }
                for (int i = 0; i < n_nodes && ok; i++) {
                    for (int j = 0; j <= node_rec[i]->n_src; j++) {
                        struct rec * sr = j < node_rec[i]->n_src ? node_rec[i]->src[j] : node_rec[i]->view_src;
                        if (sr && sr->node_index >= 0 && pos[sr->node_index] > pos[i]) {
                            GGML_LOG_ERROR("%s: node order visits %s (node %d) before its source %s (node %d)\n", "ggml_gallocr_reserve",
                                    nodes[i]->name, i, sr->t->name, sr->node_index);
                            ok = false;
                            break;
                        }
                    }
                }
                free(pos);
            }
        }
    }

    if (ok && !w.oom) {
        // leafs
        for (int i = 0; i < n_leafs; i++) {
            walk_allocate(&w, leaf_rec[i], p->leaf_buffer_ids ? p->leaf_buffer_ids[i] : 0, 0, -1);
        }
        // first pass: count children and views, place inputs
        for (int k = 0; k < n_nodes && !w.oom; k++) {
            int i = order[k];
            struct rec * nr = node_rec[i];
            int buffer_id = p->node_buffer_ids ? p->node_buffer_ids[i] : 0;
            if (nr->view_src != NULL && nr->op != GGML_OP_NONE) {
                nr->view_src->n_views++;
                if (nr->flags & GGML_TENSOR_FLAG_OUTPUT) nr->view_src->output_view = true;
            }
            if (nr->flags & GGML_TENSOR_FLAG_INPUT) {
                walk_allocate(&w, nr, buffer_id, 0, -1);
            }
            for (int j = 0; j < nr->n_src; j++) {
                struct rec * sr = nr->src[j];
                if (sr == NULL) continue;
                sr->n_children++;
                if (sr->flags & GGML_TENSOR_FLAG_INPUT) {
                    walk_allocate(&w, sr, buffer_id, 0, -1);
                }
            }
        }
        // second pass: place, then free what died
        for (int k = 0; k < n_nodes && !w.oom; k++) {
            int i = order[k];
            struct rec * nr = node_rec[i];
            int buffer_id = p->node_buffer_ids ? p->node_buffer_ids[i] : 0;
            for (int j = 0; j < nr->n_src; j++) {
                if (nr->src[j] != NULL) {
                    walk_allocate(&w, nr->src[j], buffer_id, k + 1, k);
                }
            }
            walk_allocate(&w, nr, buffer_id, k + 1, k);
            for (int j = 0; j < nr->n_src; j++) {
                struct rec * pr = nr->src[j];
                if (pr == NULL) continue;
                // the count goes through a local: re-reading it next to n_views right after the
                // store would stall on store-to-load forwarding
                const int n_children = pr->n_children - 1;
                pr->n_children = n_children;
                if (n_children != 0 || pr->n_views != 0) continue;
                if (pr->view_src != NULL) {
                    struct rec * vr = pr->view_src;
                    const int n_views = vr->n_views - 1;
                    vr->n_views = n_views;
                    if (n_views == 0 && vr->n_children == 0 && vr->allocated) {
                        walk_free(&w, vr, k);
                    }
                } else if (pr->allocated) {
                    walk_free(&w, pr, k);
                }
            }
        }
        // where each tensor of the graph went
        // {-1, -1} (no placement) is all ones: sources past n_src take it in one memset
        memset(out->src, 0xff, sizeof(struct gga_ref) * (size_t) n_nodes * GGML_MAX_SRC);
        for (int i = 0; i < n_leafs; i++) {
            out->leaf[i] = ref_of(leaf_rec[i]);
        }
        for (int i = 0; i < n_nodes; i++) {
            out->node[i] = ref_of(node_rec[i]);
            for (int j = 0; j < node_rec[i]->n_src; j++) {
                out->src[i * GGML_MAX_SRC + j] = ref_of(node_rec[i]->src[j]);
            }
        }
        bool other = false;
        // GGA_POS_NONE is all ones too
        memset(out->src_pos, 0xff, sizeof(int32_t) * (size_t) n_nodes * GGML_MAX_SRC);
        for (int i = 0; i < n_nodes; i++) {
            const struct rec * r = node_rec[i];
            int32_t * sp = &out->src_pos[i * GGML_MAX_SRC];
            for (int j = 0; j < r->n_src; j++) {
                sp[j] = pos_of(r->src[j], &other);
            }
            out->view_pos[i] = pos_of(r->view_src, &other);
            out->node_leaf[i] = r->leaf_index;
        }
        for (int i = 0; i < n_leafs; i++) {
            out->view_pos[n_nodes + i] = pos_of(leaf_rec[i]->view_src, &other);
        }
        out->pos_other = other;
    }

    if (w.oom || !ok) {
        GGML_LOG_ERROR("%s: out of memory walking a graph of %d nodes and %d leafs\n", "ggml_gallocr_reserve", n_nodes, n_leafs);
        ok = false;
    }
    // the records may have moved while growing
    sc->recs = w.recs;
    sc->cap_recs = w.cap_recs;
    if (sc == &local) {
        scratch_release(&local);
    }
    if (!ok) {
        gga_lifetimes_release(out);
    }
    return ok;
}
