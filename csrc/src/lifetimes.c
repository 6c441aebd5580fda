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
// The tensors are large structs spread over memory, and the walk would read each of them many
// times; so it reads each exactly once, up front, into a small record (64 bytes, one cache
// line): its view source, flags, op, whether it is placed at all, its size, and for a node the
// indices of its sources' records (packed: nodes use 2 or 3 of their GGML_MAX_SRC slots) and
// which of them it could take over in place (same layout). The walk itself then touches only
// records and these packed arrays, and what a re-use check compares later (the signature: op,
// flags, in-place candidates) is written in the same read.
//
// Tensors are found through the library's pointer map (ptrmap.h: open addressing, linear
// probing, at most half full, one probe to find or insert), with a window over the stretch of
// memory where the graph's tensors lie packed, as a context makes them (walk_window): inside
// it a lookup is a subtraction and a shift. The leafs are read first, so that a node that is
// also a leaf finds its leaf's record; then each node in graph order, and with it its sources,
// which are mostly nodes read a few steps before (their slots of the map are still in cache)
// or leafs. A source that is a later node, or outside the graph, is read when first
// met. The walk costs O(nodes * sources) with small constants. Its working memory (the map, the
// records, the per-node arrays) is one allocation besides the map, and can be kept between walks
// (gga_walk_scratch, which gallocr holds): a re-plan then allocates nothing, and touches no fresh
// pages.
//
// Counting children and views does not depend on the order the nodes are visited in, so the
// scan counts each node's reads as it reads the node, and the first pass visits only the nodes
// that place inputs. Not where the caller gives an order, nor where an input could be placed
// over a source: ggml's first pass places it having counted the reads of the nodes before it
// only, and the walk then counts in its first pass too. Where each tensor went, and where a
// node's sources are in the graph, is written as soon as the walk has visited the node: what
// is placed is never placed again, but for a tensor the graph lists twice (whose last placement
// is then written again at the end).
//
// Two deliberate differences from ggml: a tensor that has an output view (a view flagged as an
// output) is never freed either, so nothing overwrites what the caller reads through the view;
// and an input of the first pass never takes over a source placed at the same step (see
// walk_allocate), which ggml does on partial counts and which would leave that source no
// lifetime at all.

#include "lifetimes.h"
#include "ptrmap.h"
#include "ggalloc-graph.h"
#include "ggml-impl.h" // the graph's leafs as an array
#include "log.h"

#include <stdlib.h>
#include <string.h>

// Up to this many tensors the walk's pointer map is sized an eighth full (4 MiB at most).
#define GGA_WALK_SPARSE_KEYS 32768

// How many nodes ahead the scan starts loading a node's slot of the pointer map: most nodes are
// new to the map, and their slots, spread over it, are cache misses.
#define GGA_WALK_PREFETCH 8

// The granule of the map's window (see walk_window): tensors are at least this far apart.
#define GGA_WALK_WINDOW_SHIFT 8
_Static_assert(sizeof(struct ggml_tensor) >= (1u << GGA_WALK_WINDOW_SHIFT), "distinct tensors get distinct window slots");

// The walk's allocations go through here, so that tests can make one of them fail and check
// that every out-of-memory path returns false, with a message, and leaks nothing.
static int walk_fail_at = -1;

void gga_lifetimes_fail_after(int k) {
    walk_fail_at = k;
}

static void * walk_malloc(size_t size) {
    if (walk_fail_at >= 0 && walk_fail_at-- == 0) {
        return NULL;
    }
    return malloc(size);
}

struct rec {
    struct ggml_tensor * t;
    size_t   size;       // bytes t takes in buffer size_bid, when size_bid >= 0
    int32_t  size_bid;
    int32_t  n_children;
    int32_t  n_views;
    int32_t  slot;       // with block: its latest block, -1 if never placed
    int32_t  block;
    int32_t  buffer_id;
    int32_t  view_src;   // the index of its view_src's record, -1 for none
    int32_t  node_index; // index among the graph's nodes (the last if it is there twice), -1 if none
    int32_t  leaf_index; // index among the graph's leafs (the first), -1 if none
    int32_t  op;
    uint32_t sflags;     // its flags & GGA_SIG_FLAGS, and GGA_SIG_EXTERNAL
    uint8_t  allocated;  // placed by this walk and not yet freed or taken over
    uint8_t  keep;       // an output, or some view of it is one: never freed or taken over
    uint8_t  skip;       // a view or external: never placed
    uint8_t  scanned;    // the tensor has been read (the records only of a view source are not)
};
_Static_assert(sizeof(struct rec) <= 64, "a record is one cache line");

struct walk {
    const struct gga_walk_params * p;
    struct gga_lifetimes * lt;
    struct gga_walk_scratch * sc;

    struct rec * recs;
    int      n_recs;
    int      cap_recs;
    int32_t * src_rec;   // per source of a node, packed as lt->src_off says: a record index or -1

    int      n_steps_end; // the end of blocks never freed
    int      n_nodes;
    int      n_leafs;
    bool     oom;
    bool     replaced;    // a tensor was placed a second time (the graph lists it twice)
};

// Doubles the records' room; false (w->oom) when out of memory. The records move when they
// outgrow the scratch memory: callers hold indices across rec_new, not pointers.
static bool rec_grow(struct walk * w) {
    struct gga_walk_scratch * sc = w->sc;
    const int cap = w->cap_recs * 2;
    struct rec * recs = walk_malloc(sizeof(*recs) * (size_t) cap);
    if (recs == NULL) {
        w->oom = true;
        return false;
    }
    memcpy(recs, w->recs, sizeof(*recs) * (size_t) w->n_recs);
    free(sc->more_recs); // the records copied, or smaller ones of an earlier walk
    sc->more_recs = recs;
    sc->cap_more_recs = cap;
    w->recs = recs;
    w->cap_recs = cap;
    return true;
}

// A new record for t (not yet read); its index, or -1 when out of memory. (Inlined, as are the
// other steps of the walk that run for every tensor: the walk is a few hundred instructions a
// tensor, which the calls' own cost added to by a tenth.)
static inline __attribute__((always_inline)) int rec_new(struct walk * w, struct ggml_tensor * t) {
    if (w->n_recs == w->cap_recs && !rec_grow(w)) {
        return -1;
    }
    const int i = w->n_recs++;
    w->recs[i] = (struct rec) {
        .t = t, .size_bid = -1, .slot = -1, .block = -1, .view_src = -1, .node_index = -1, .leaf_index = -1,
    };
    return i;
}

// The index of t's record, created (not read) on first sight; -1 when out of memory.
static inline int rec_of(struct walk * w, struct ggml_tensor * t) {
    // one probe finds or inserts: a new key gets the next index, which no record has yet
    int * v = gga_ptrmap_get(&w->sc->map, t, w->n_recs);
    if (v == NULL) {
        w->oom = true;
        return -1;
    }
    return *v < w->n_recs ? *v : rec_new(w, t);
}

// The one read of record i's tensor: what the walk and the signature need of it. Tensors in the
// caller's own buffers are taken back here, rather than in a pass of their own over the graph.
static inline __attribute__((always_inline)) void rec_scan(struct walk * w, int i) {
    struct ggml_tensor * t = w->recs[i].t;
    if (t->buffer != NULL && w->p->owns_buffer != NULL && w->p->owns_buffer(w->p->user, t->buffer)) {
        t->buffer = NULL;
        t->data = NULL;
    }
    const bool has_memory = t->data != NULL || t->buffer != NULL;
    const int32_t flags = t->flags;
    int vs = -1;
    if (t->view_src != NULL) {
        vs = rec_of(w, t->view_src); // may move the records
    }
    struct rec * r = &w->recs[i];
    r->scanned = 1;
    r->view_src = vs;
    r->op = t->op;
    r->sflags = ((uint32_t) flags & GGA_SIG_FLAGS) | (has_memory ? GGA_SIG_EXTERNAL : 0);
    r->keep = (flags & GGML_TENSOR_FLAG_OUTPUT) != 0;
    r->skip = t->view_src != NULL || has_memory || (flags & GGALLOC_TENSOR_FLAG_EXTERNAL) != 0;
}

// The bytes record r's tensor takes in buffer_id, remembered for the buffer it was asked first.
static size_t rec_size(struct walk * w, struct rec * r, int buffer_id) {
    if (r->size_bid == buffer_id) {
        return r->size;
    }
    // (without an alloc size of the caller's, no call through a pointer: this runs for every
    // tensor)
    const struct ggml_tensor * t = r->t;
    const size_t size = w->p->alloc_size != NULL ? w->p->alloc_size(w->p->user, buffer_id, t) : ggalloc_extent(t->type, t->ne, t->nb);
    if (r->size_bid < 0) {
        r->size = size;
        r->size_bid = buffer_id;
    }
    return size;
}

// Gives sb room for cap blocks, keeping its n blocks; false (sb untouched) when out of memory.
static bool slot_grow(struct gga_slot_blocks * sb, int cap) {
    const size_t c = (size_t) cap;
    char * mem = walk_malloc(c * (sizeof(*sb->blocks) + sizeof(*sb->tensor) + 4 * sizeof(int)));
    if (mem == NULL) {
        return false;
    }
    struct gga_slot_blocks g = { .n = sb->n, .cap = cap, .blocks = (struct gga_block *) mem, .n_freed = sb->n_freed };
    g.tensor    = (struct ggml_tensor **) (mem + c * sizeof(*g.blocks));
    g.buffer_id = (int *) (g.tensor + c);
    g.first     = g.buffer_id + c;
    g.last      = g.first + c;
    g.freed     = g.last + c;
    if (sb->n > 0) {
        memcpy(g.blocks, sb->blocks, sizeof(*g.blocks) * (size_t) sb->n);
        memcpy(g.tensor, sb->tensor, sizeof(*g.tensor) * (size_t) sb->n);
        memcpy(g.buffer_id, sb->buffer_id, sizeof(int) * (size_t) sb->n);
        memcpy(g.first, sb->first, sizeof(int) * (size_t) sb->n);
        memcpy(g.last, sb->last, sizeof(int) * (size_t) sb->n);
        memcpy(g.freed, sb->freed, sizeof(int) * (size_t) sb->n_freed);
    }
    free(sb->blocks);
    *sb = g;
    return true;
}

// Appends a block to slot s; its index, or -1 when out of memory.
static inline __attribute__((always_inline)) int block_push(struct walk * w, int s, size_t size, int64_t start,
        struct ggml_tensor * t, int buffer_id, int first) {
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

// ggml_gallocr_allocate_node: place record r for buffer_id at step (visit position pos, -1 before
// the nodes), in place over a source when it can. Only a node has sources to take over (ggml
// graphs have no other tensor with sources); which of them have its layout was read with it.
static void walk_allocate(struct walk * w, struct rec * r, int buffer_id, int64_t step, int pos) {
    if (r->allocated || r->skip) {
        return;
    }
    if (r->block >= 0) {
        w->replaced = true;
    }
    const int first = pos < 0 ? 0 : pos;

    if (r->node_index >= 0) {
        const int i = r->node_index;
        uint32_t cand = w->lt->sig[i].inplace; // 0 unless the op may run in place
        const int32_t * src = &w->src_rec[w->lt->src_off[i]];
        for (; cand != 0; cand &= cand - 1) {
            struct rec * pr = &w->recs[src[__builtin_ctz(cand)]];
            // only memory this walk placed can be taken over: not external tensors, and never a
            // view (views are not placed; ggml checks this before its view case, which is thus
            // never taken)
            if (!pr->allocated || pr->keep || pr->n_children != 1 || pr->n_views != 0) {
                continue;
            }
            const size_t size = rec_size(w, r, pr->buffer_id);
            struct gga_slot_blocks * sb = &w->lt->slots[pr->slot];
            if (size > sb->blocks[pr->block].size) {
                continue; // a group never grows along its chain
            }
            if (sb->blocks[pr->block].start == step) {
                // placed at this very step (an input of the first pass over a leaf whose reads
                // were counted only in part): ggml would share the address, but the source's
                // block would have no lifetime at all; the node gets memory of its own instead
                continue;
            }
            const int b = block_push(w, pr->slot, size, step, r->t, pr->buffer_id, first);
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
            pr->allocated = 0; // handed over: never freed by itself
            r->allocated = 1;
            r->slot = pr->slot;
            r->block = b;
            r->buffer_id = pr->buffer_id;
            return;
        }
    }

    const int s = w->p->slot_of_buffer[buffer_id];
    const int b = block_push(w, s, rec_size(w, r, buffer_id), step, r->t, buffer_id, first);
    if (b < 0) {
        return;
    }
    r->allocated = 1;
    r->slot = s;
    r->block = b;
    r->buffer_id = buffer_id;
}

// ggml_gallocr_free_node, at the end of visit position pos.
static void walk_free(struct walk * w, struct rec * r, int pos) {
    if (r->keep) {
        return;
    }
    struct gga_slot_blocks * sb = &w->lt->slots[r->slot];
    sb->blocks[r->block].end = (int64_t) pos + 2;
    sb->last[r->block] = pos;
    sb->freed[sb->n_freed++] = r->block; // a block is freed once: n_freed <= n
    r->allocated = 0;
}

static bool check_tensor(const struct gga_walk_params * p, const int * ids, int i, const char * what,
        const struct ggml_tensor * t) {
    if (t == NULL) {
        GGML_LOG_ERROR("%s: %s %d is NULL\n", "ggml_gallocr_reserve_n", what, i);
        return false;
    }
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
        lt->slots[s].n_freed = 0;
    }
    lt->n_nodes = 0;
    lt->n_leafs = 0;
    lt->pos_other = false;
    lt->in_order = false;
}

void gga_lifetimes_release(struct gga_lifetimes * lt) {
    if (lt == NULL) {
        return;
    }
    for (int s = 0; s < lt->n_slots && lt->slots; s++) {
        free(lt->slots[s].blocks); // and the slot's other arrays
    }
    free(lt->slots); // and the per-node and per-leaf arrays
    memset(lt, 0, sizeof(*lt));
}

// Room in lt for a walk of n_slots slots, n_nodes nodes and n_leafs leafs, reusing what it holds;
// false when out of memory. The packed sources get room for GGML_MAX_SRC per node, of which a
// walk writes (and so touches) only what the nodes use.
static bool lifetimes_reserve(struct gga_lifetimes * lt, int n_slots, int n_nodes, int n_leafs) {
    const bool same_slots = lt->slots != NULL && lt->n_slots == n_slots;
    if (!same_slots) {
        // a walk for another number of slots: their blocks go, the memory stays
        for (int s = 0; s < lt->n_slots && lt->slots; s++) {
            free(lt->slots[s].blocks);
        }
        lt->n_slots = 0;
    }
    const size_t nss = (size_t) (n_slots > 0 ? n_slots : 1);
    const size_t nn = (size_t) n_nodes;
    const size_t nl = (size_t) n_leafs;
    const size_t ns = nn * GGML_MAX_SRC;
    const size_t size = sizeof(struct gga_slot_blocks) * nss + sizeof(struct gga_ref) * (nl + nn + ns) +
                        sizeof(struct ggml_tensor *) * nl + sizeof(struct gga_sig) * (nn + nl) +
                        sizeof(int32_t) * ((nn + 1) + ns + (nn + nl + 1) + nn);
    if (size > lt->mem_size) {
        struct gga_slot_blocks * mem = walk_malloc(size);
        if (mem == NULL) {
            return false;
        }
        if (same_slots) {
            memcpy(mem, lt->slots, sizeof(*mem) * nss); // their blocks are kept
        }
        free(lt->slots);
        lt->slots = mem;
        lt->mem_size = size;
    }
    if (!same_slots) {
        memset(lt->slots, 0, sizeof(struct gga_slot_blocks) * nss);
    }
    lt->n_slots     = n_slots;
    lt->leaf        = (struct gga_ref *) (lt->slots + nss);
    lt->node        = lt->leaf + nl;
    lt->src         = lt->node + nn;
    lt->leaf_tensor = (struct ggml_tensor **) (lt->src + ns);
    lt->sig         = (struct gga_sig *) (lt->leaf_tensor + nl);
    lt->src_off     = (int32_t *) (lt->sig + nn + nl);
    lt->src_pos     = lt->src_off + nn + 1;
    lt->view_pos    = lt->src_pos + ns;
    lt->node_leaf   = lt->view_pos + nn + nl + 1;
    return true;
}

void gga_walk_scratch_release(struct gga_walk_scratch * sc) {
    if (sc != NULL) {
        gga_ptrmap_free(&sc->map);
        free(sc->mem);
        free(sc->more_recs);
        memset(sc, 0, sizeof(*sc));
    }
}

// The scratch arrays of a walk of n_nodes and n_leafs, carved from sc's memory (grown when too
// small; false when out of memory).
struct scratch_arrays {
    struct rec * recs;
    int          cap_recs;
    int32_t    * node_rec; // per node: its record
    int32_t    * leaf_rec; // per leaf: its record
    int32_t    * src_rec;  // per source of a node (room for GGML_MAX_SRC per node)
    int32_t    * order;    // per node: the visiting order
};

static bool scratch_reserve(struct gga_walk_scratch * sc, int n_nodes, int n_leafs, struct scratch_arrays * a) {
    const size_t nn = (size_t) n_nodes;
    const size_t nl = (size_t) n_leafs;
    // the records of the nodes and leafs, and of a few sources and view sources outside them
    const size_t nr = nn + nl + 16;
    const size_t size = sizeof(struct rec) * nr + sizeof(int32_t) * (nn + nl + nn * GGML_MAX_SRC + nn);
    if (size > sc->mem_size) {
        void * mem = walk_malloc(size);
        if (mem == NULL) {
            return false;
        }
        free(sc->mem);
        sc->mem = mem;
        sc->mem_size = size;
    }
    if (sc->more_recs != NULL && (size_t) sc->cap_more_recs > nr) {
        a->recs = sc->more_recs; // a graph with many tensors outside its nodes and leafs came before
        a->cap_recs = sc->cap_more_recs;
    } else {
        a->recs = sc->mem;
        a->cap_recs = (int) nr;
    }
    a->node_rec = (int32_t *) ((struct rec *) sc->mem + nr);
    a->leaf_rec = a->node_rec + nn;
    a->src_rec  = a->leaf_rec + nl;
    a->order    = a->src_rec + nn * GGML_MAX_SRC;
    return true;
}

// Where record i is in the graph, as lt->src_pos says it.
static int32_t pos_of(const struct walk * w, int i, bool * other) {
    if (i < 0) {
        return GGA_POS_NONE;
    }
    const struct rec * r = &w->recs[i];
    if (r->node_index >= 0) {
        return r->node_index;
    }
    if (r->leaf_index >= 0) {
        return GGA_POS_LEAF(r->leaf_index);
    }
    *other = true;
    return GGA_POS_NONE;
}

static inline struct gga_ref ref_of(const struct walk * w, int i) {
    // a record never placed (a view, an external tensor) has slot and block -1
    struct gga_ref ref = { -1, -1 };
    if (i >= 0) {
        ref.slot = w->recs[i].slot;
        ref.block = w->recs[i].block;
    }
    return ref;
}

// Writes where node i (record ri) went, and where its view source is in the graph; whether that
// is a leaf or an earlier node. Final once the walk has visited node i: what is placed is never
// placed again (but for a tensor the graph lists twice, w->replaced).
static bool out_node_head(struct walk * w, int i, int ri, bool * other) {
    struct gga_lifetimes * out = w->lt;
    const struct rec * r = &w->recs[ri];
    out->node[i] = ref_of(w, ri);
    const int32_t v = pos_of(w, r->view_src, other);
    out->view_pos[i] = v;
    out->node_leaf[i] = r->leaf_index;
    return v < i;
}

// The same for source j (record si) of node i.
static inline bool out_src(struct walk * w, int i, int32_t j, int si, bool * other) {
    w->lt->src[j] = ref_of(w, si);
    const int32_t sp = pos_of(w, si, other);
    w->lt->src_pos[j] = sp;
    return sp < i;
}

// out_node_head and out_src for every source of node i.
static bool out_node(struct walk * w, int i, int ri, bool * other) {
    bool in_order = out_node_head(w, i, ri, other);
    for (int32_t j = w->lt->src_off[i]; j < w->lt->src_off[i + 1]; j++) {
        in_order = out_src(w, i, j, w->src_rec[j], other) && in_order;
    }
    return in_order;
}

// out_node for leaf i (record ri).
static bool out_leaf(struct walk * w, int i, int ri, bool * other) {
    struct gga_lifetimes * out = w->lt;
    out->leaf[i] = ref_of(w, ri);
    const int32_t v = pos_of(w, w->recs[ri].view_src, other);
    out->view_pos[w->n_nodes + i] = v;
    // leafs are placed before every node: a leaf may view only an earlier leaf
    return v == GGA_POS_NONE || (v < GGA_POS_NONE && GGA_POS_LEAF(0) - v < i);
}

// The first pass's visit of node i (record nr): count its children and views (unless the scan
// did), place it and its sources if they are inputs.
static void walk_first(struct walk * w, int i, struct rec * nr, int buffer_id, bool count) {
    struct rec * recs = w->recs;
    if (count && nr->view_src >= 0 && nr->op != GGML_OP_NONE) {
        struct rec * vr = &recs[nr->view_src];
        vr->n_views++;
        if (nr->sflags & GGML_TENSOR_FLAG_OUTPUT) vr->keep = 1;
    }
    if (nr->sflags & GGML_TENSOR_FLAG_INPUT) {
        walk_allocate(w, nr, buffer_id, 0, -1);
    }
    for (int32_t j = w->lt->src_off[i]; j < w->lt->src_off[i + 1]; j++) {
        if (w->src_rec[j] < 0) continue;
        struct rec * sr = &recs[w->src_rec[j]];
        if (count) sr->n_children++;
        if (sr->sflags & GGML_TENSOR_FLAG_INPUT) {
            walk_allocate(w, sr, buffer_id, 0, -1);
        }
    }
}

// Checks a custom visiting order (a permutation in which every node comes after the nodes it
// reads) and writes it to order; false, with a log line, when it is not one.
static bool walk_order(struct walk * w, struct ggml_cgraph * graph, const int32_t * node_rec, int * order) {
    const int n_nodes = w->n_nodes;
    const int * p_order = w->p->order;
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);
    int * pos = walk_malloc(sizeof(int) * (n_nodes > 0 ? n_nodes : 1));
    if (pos == NULL) {
        w->oom = true;
        return false;
    }
    bool ok = true;
    for (int i = 0; i < n_nodes; i++) pos[i] = -1;
    for (int k = 0; k < n_nodes && ok; k++) {
        int i = p_order[k];
        if (i < 0 || i >= n_nodes || pos[i] >= 0) {
            GGML_LOG_ERROR("%s: node order entry %d is %d: not a permutation of 0..%d\n", "ggml_gallocr_reserve", k, i, n_nodes - 1);
            ok = false;
            break;
        }
        pos[i] = k;
        order[k] = i;
    }
    for (int i = 0; i < n_nodes && ok; i++) {
        const struct rec * nr = &w->recs[node_rec[i]];
        const int n = nr->node_index; // the sources are the same at every index of the tensor
        const int n_src = w->lt->src_off[n + 1] - w->lt->src_off[n];
        for (int j = 0; j <= n_src; j++) {
            const int si = j < n_src ? w->src_rec[w->lt->src_off[n] + j] : nr->view_src;
            const struct rec * sr = si >= 0 ? &w->recs[si] : NULL;
            if (sr && sr->node_index >= 0 && pos[sr->node_index] > pos[i]) {
                GGML_LOG_ERROR("%s: node order visits %s (node %d) before its source %s (node %d)\n", "ggml_gallocr_reserve",
                        nodes[i]->name, i, sr->t->name, sr->node_index);
                ok = false;
                break;
            }
        }
    }
    free(pos);
    return ok;
}

// Widens [*lo, *hi] to hold the n tensors at t.
static void walk_span(struct ggml_tensor ** t, int n, uintptr_t * lo, uintptr_t * hi) {
    for (int i = 0; i < n; i++) {
        const uintptr_t a = (uintptr_t) t[i];
        *lo = a < *lo ? a : *lo;
        *hi = a > *hi ? a : *hi;
    }
}

// The window of the walk's map (gga_ptrmap_window): the stretch of memory the graph's tensors
// lie in, when they lie packed. The tensors of a context made one after another (with no data of
// their own, as graphs' are) are an object header and a tensor struct apart, so a window of one
// slot per 2^GGA_WALK_WINDOW_SHIFT bytes holds them at about 1.5 slots each, and a lookup is a
// subtraction and a shift, with no hash and no probe, in a table a few times smaller than the
// hashed one would be. Weights in a context of their own, or tensors with their data among
// them, spread the stretch: then a window over the nodes alone, or none (*lo = 0), and the
// hashed table serves the rest. Returns about how many keys are left to the hashed table.
static size_t walk_window(struct ggml_tensor ** nodes, int n_nodes, struct ggml_tensor ** leafs, int n_leafs,
        uintptr_t * lo, uintptr_t * hi) {
    const size_t n_keys = (size_t) n_nodes + (size_t) n_leafs;
    *lo = 0;
    *hi = 0;
    if (n_nodes == 0) {
        return n_keys;
    }
    uintptr_t nlo = UINTPTR_MAX;
    uintptr_t nhi = 0;
    walk_span(nodes, n_nodes, &nlo, &nhi);
    uintptr_t alo = nlo;
    uintptr_t ahi = nhi;
    walk_span(leafs, n_leafs, &alo, &ahi);
    if (((ahi - alo) >> GGA_WALK_WINDOW_SHIFT) <= 2 * n_keys + 64) {
        *lo = alo;
        *hi = ahi;
        return 0;
    }
    if (((nhi - nlo) >> GGA_WALK_WINDOW_SHIFT) <= 2 * (size_t) n_nodes + 64) {
        *lo = nlo;
        *hi = nhi;
        return (size_t) n_leafs;
    }
    return n_keys;
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
    struct ggml_tensor ** leafs = graph->leafs;
    const int * node_bids = p->node_buffer_ids;
    const int * leaf_bids = p->leaf_buffer_ids;

    for (int i = 0; i < n_leafs; i++) {
        if (!check_tensor(p, leaf_bids, i, "leaf", leafs[i])) return false;
    }
    for (int i = 0; i < n_nodes; i++) {
        if (!check_tensor(p, node_bids, i, "node", nodes[i])) return false;
    }
    if (p->order != NULL && p->n_order != n_nodes) {
        GGML_LOG_ERROR("%s: the node order has %d entries, but the graph has %d nodes\n", "ggml_gallocr_reserve", p->n_order, n_nodes);
        return false;
    }

    struct gga_walk_scratch local = { 0 };
    struct gga_walk_scratch * sc = p->scratch != NULL ? p->scratch : &local;
    struct scratch_arrays a = { 0 };
    struct walk w = { 0 };
    w.p = p;
    w.lt = out;
    w.sc = sc;
    w.n_nodes = n_nodes;
    w.n_leafs = n_leafs;
    w.n_steps_end = n_nodes + 2;
    // the map is used up to the size this graph needs (it may be larger from an earlier walk);
    // the tensors its hashed table holds are those outside its window (walk_window), or all of
    // the nodes and leafs without one (and the few sources and view sources outside them). In
    // scratch that the caller keeps (gallocr's), it is sized for four times as many and stays
    // an eighth full, not half: half full, a quarter of the walk's lookups found their home slot
    // taken by another tensor and probed on, a mispredicted branch in the walk's critical path
    // each (a fresh allocator's first reserve on a 2,000-node random DAG took 10%
    // longer); a twentieth do now. A walk in scratch of its own (a graph's peak) allocates and
    // zeroes its map at every call, where four times the slots are four times that work; and
    // past GGA_WALK_SPARSE_KEYS tensors the map's memory counts more: both are sized as usual.
    // With every node and leaf in the window, a map with no table yet (a fresh allocator's)
    // gets one only if some source or view source lies outside.
    uintptr_t win_lo;
    uintptr_t win_hi;
    const size_t outside = walk_window(nodes, n_nodes, leafs, n_leafs, &win_lo, &win_hi);
    const size_t n_keys = outside + 16;
    const bool sparse = sc != &local && n_keys <= GGA_WALK_SPARSE_KEYS;
    bool ok = scratch_reserve(sc, n_nodes, n_leafs, &a) &&
              gga_ptrmap_reset(&sc->map, outside == 0 ? 0 : sparse ? 4 * n_keys : n_keys) &&
              lifetimes_reserve(out, p->n_slots, n_nodes, n_leafs);
    if (ok && win_lo != 0) {
        // without memory for the window, the hashed table takes every key (it grows as it must)
        gga_ptrmap_window(&sc->map, (const void *) win_lo, (const void *) win_hi, GGA_WALK_WINDOW_SHIFT);
    }
    w.recs = a.recs;
    w.cap_recs = a.cap_recs;
    w.src_rec = a.src_rec;
    int32_t * node_rec = a.node_rec;
    int32_t * leaf_rec = a.leaf_rec;
    int * order = a.order;
    bool bad_order = false;
    // The first pass counts every tensor's children and views, and places the inputs (and what
    // they take over in place) as it goes, in the visiting order. Counting does not depend on
    // the order, so the scan counts, while it has the records at hand, and notes the nodes with
    // inputs; the first pass then visits only those. Not when the order is another, nor when
    // an input could be placed over a source (it would see the counts so far): the first pass
    // then counts itself.
    bool counted = p->order == NULL;
    // Whether some node reads a source that the second pass may meet unplaced: with no order of
    // the caller's, only a source that is no earlier node and no leaf (leafs are placed first,
    // and a node when visited; either is freed, or taken over, only after its last reader).
    // Otherwise the second pass places no source, and has one loop over a node's sources, not
    // three: on a random DAG, each loop's exit (one to three sources) was a coin toss.
    bool late = p->order != NULL;
    int * inputs = order; // with no order of the caller's, order is free
    int n_inputs = 0;
    out->n_nodes = n_nodes;
    out->n_leafs = n_leafs;

    if (ok) {
        // the one read of every tensor: the leafs, then the nodes in order, each with its sources
        // (the records of leafs come first, so that a node that is also a leaf finds its leaf)
        for (int i = 0; i < n_leafs && !w.oom; i++) {
            const int ri = rec_of(&w, leafs[i]);
            if (ri < 0) {
                break;
            }
            leaf_rec[i] = ri;
            if (w.recs[ri].leaf_index < 0) {
                w.recs[ri].leaf_index = i;
            }
            if (!w.recs[ri].scanned) {
                rec_scan(&w, ri);
            }
            struct rec * r = &w.recs[ri];
            if (!r->skip) {
                rec_size(&w, r, leaf_bids ? leaf_bids[i] : 0);
            }
            struct gga_sig * sg = &out->sig[n_nodes + i];
            sg->op = r->op;
            sg->flags = r->sflags;
            sg->inplace = gga_inplace_mask(r->t, GGML_MAX_SRC);
        }
        int32_t n_src_all = 0;
        for (int i = 0; i < n_nodes && !w.oom; i++) {
            struct ggml_tensor * t = nodes[i];
            if (i + GGA_WALK_PREFETCH < n_nodes) {
                gga_ptrmap_prefetch(&w.sc->map, nodes[i + GGA_WALK_PREFETCH]);
            }
            const int ri = rec_of(&w, t);
            if (ri < 0) {
                break;
            }
            node_rec[i] = ri;
            w.recs[ri].node_index = i; // (the last index, for a node that is there twice)
            if (!w.recs[ri].scanned) {
                rec_scan(&w, ri);
            }
            const bool can_inplace = gga_op_can_inplace((enum ggml_op) w.recs[ri].op);
            int32_t * src = &w.src_rec[n_src_all];
            int n_src = 0;
            uint32_t inplace = 0;
            // unrolled: most slots are empty, and the loop's own count was half the cost of testing them
#pragma GCC unroll 16
            for (int j = 0; j < GGML_MAX_SRC; j++) {
                struct ggml_tensor * s = t->src[j];
                if (s == NULL) {
                    continue;
                }
                const int si = rec_of(&w, s);
                if (si < 0) {
                    break;
                }
                if (!w.recs[si].scanned) {
                    rec_scan(&w, si);
                }
                // neither an earlier node nor a leaf: a later node, or a tensor outside the graph
                late |= (w.recs[si].node_index < 0) & (w.recs[si].leaf_index < 0) & !w.recs[si].skip;
                for (; n_src < j; n_src++) {
                    src[n_src] = -1; // a NULL source before this one
                }
                src[j] = si;
                n_src = j + 1;
                if (can_inplace && gga_same_layout(t, s)) {
                    inplace |= 1u << j;
                }
            }
            out->src_off[i] = n_src_all;
            n_src_all += n_src;
            struct rec * r = &w.recs[ri];
            if (!r->skip) {
                rec_size(&w, r, node_bids ? node_bids[i] : 0);
            }
            struct gga_sig * sg = &out->sig[i];
            sg->op = r->op;
            sg->flags = r->sflags;
            sg->inplace = inplace;
            if (counted) {
                // the first pass's counting, here while the records are in cache
                bool input = (r->sflags & GGML_TENSOR_FLAG_INPUT) != 0;
                counted = !input || inplace == 0;
                if (r->view_src >= 0 && r->op != GGML_OP_NONE) {
                    struct rec * vr = &w.recs[r->view_src];
                    vr->n_views++;
                    if (r->sflags & GGML_TENSOR_FLAG_OUTPUT) vr->keep = 1;
                }
                for (int j = 0; j < n_src; j++) {
                    if (src[j] < 0) continue;
                    struct rec * sr = &w.recs[src[j]];
                    sr->n_children++;
                    input = input || (sr->sflags & GGML_TENSOR_FLAG_INPUT) != 0;
                }
                if (input) {
                    inputs[n_inputs++] = i;
                }
            }
        }
        out->src_off[n_nodes] = n_src_all;
    }

    if (ok && !w.oom) {
        // the visiting order: a permutation in which every node comes after the nodes it reads
        if (p->order != NULL) {
            ok = walk_order(&w, graph, node_rec, order);
            bad_order = !ok && !w.oom; // it has logged why
        }
    }

    if (ok && !w.oom) {
        struct rec * recs = w.recs; // no record is added from here on
        const int * p_order = p->order != NULL ? order : NULL;
        const int32_t * src_off = out->src_off;
        const int32_t * src_rec = w.src_rec;
        // where each tensor went, and where the sources are in the graph, is written as soon as
        // it is final
        bool other = false;
        bool in_order = true;
        // leafs
        for (int i = 0; i < n_leafs; i++) {
            walk_allocate(&w, &recs[leaf_rec[i]], leaf_bids ? leaf_bids[i] : 0, 0, -1);
            in_order = out_leaf(&w, i, leaf_rec[i], &other) && in_order;
        }
        // first pass: count children and views, place inputs
        if (counted) {
            for (int q = 0; q < n_inputs && !w.oom; q++) {
                const int i = inputs[q];
                walk_first(&w, i, &recs[node_rec[i]], node_bids ? node_bids[i] : 0, false);
            }
        } else {
            if (p->order == NULL) {
                // the scan counted part of the graph
                for (int r = 0; r < w.n_recs; r++) {
                    recs[r].n_children = 0;
                    recs[r].n_views = 0;
                    recs[r].keep = (recs[r].sflags & GGML_TENSOR_FLAG_OUTPUT) != 0;
                }
            }
            for (int k = 0; k < n_nodes && !w.oom; k++) {
                const int i = p_order ? p_order[k] : k;
                walk_first(&w, i, &recs[node_rec[i]], node_bids ? node_bids[i] : 0, true);
            }
        }
        // second pass: place, then free what died
        for (int k = 0; k < n_nodes && !w.oom; k++) {
            const int i = p_order ? p_order[k] : k;
            struct rec * nr = &recs[node_rec[i]];
            const int buffer_id = node_bids ? node_bids[i] : 0;
            for (int32_t j = src_off[i]; late && j < src_off[i + 1]; j++) {
                if (src_rec[j] >= 0) {
                    walk_allocate(&w, &recs[src_rec[j]], buffer_id, k + 1, k);
                }
            }
            walk_allocate(&w, nr, buffer_id, k + 1, k);
            bool node_in_order = out_node_head(&w, i, node_rec[i], &other);
            for (int32_t j = src_off[i]; j < src_off[i + 1]; j++) {
                node_in_order = out_src(&w, i, j, src_rec[j], &other) && node_in_order;
                if (src_rec[j] < 0) continue;
                struct rec * pr = &recs[src_rec[j]];
                // the count goes through a local: re-reading it next to n_views right after the
                // store would stall on store-to-load forwarding
                const int n_children = pr->n_children - 1;
                pr->n_children = n_children;
                if (n_children != 0 || pr->n_views != 0) continue;
                if (pr->view_src >= 0) {
                    struct rec * vr = &recs[pr->view_src];
                    const int n_views = vr->n_views - 1;
                    vr->n_views = n_views;
                    if (n_views == 0 && vr->n_children == 0 && vr->allocated) {
                        walk_free(&w, vr, k);
                    }
                } else if (pr->allocated) {
                    walk_free(&w, pr, k);
                }
            }
            in_order = node_in_order && in_order;
        }
        if (w.replaced) {
            // a tensor the graph lists twice was placed again after its first visit: its last
            // placement is the one recorded
            other = false;
            in_order = true;
            for (int i = 0; i < n_leafs; i++) {
                in_order = out_leaf(&w, i, leaf_rec[i], &other) && in_order;
            }
            for (int i = 0; i < n_nodes; i++) {
                in_order = out_node(&w, i, node_rec[i], &other) && in_order;
            }
        }
        out->pos_other = other;
        out->in_order = in_order && !other;
    }

    if (w.oom || (!ok && !bad_order)) {
        GGML_LOG_ERROR("%s: out of memory walking a graph of %d nodes and %d leafs\n", "ggml_gallocr_reserve", n_nodes, n_leafs);
        ok = false;
    }
    if (sc == &local) {
        gga_walk_scratch_release(&local);
    }
    if (!ok) {
        gga_lifetimes_release(out);
    }
    return ok;
}
