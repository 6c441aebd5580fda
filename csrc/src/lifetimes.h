#pragma once

// From a graph to the planner's blocks (lifetimes.c): the walk ggml's graph allocator makes over
// a graph, recording for every tensor it would place a block (size, first step, end step, in-place
// group) instead of an address. Internal to the graph allocator (alloc.c) and reorder.c.
//
//     struct gga_lifetimes lt = { 0 };
//     struct gga_walk_params wp = { .n_buffers = 1, .slot_of_buffer = &zero, .n_slots = 1 }; // ggml_nbytes
//     if (gga_lifetimes_build(graph, &wp, &lt)) {   // again on the same lt: its memory is reused
//         gga_plan_blocks(lt.slots[0].blocks, lt.slots[0].n, ...);
//     }
//     gga_lifetimes_release(&lt);

#include "ggml.h"
#include "ggml-alloc.h"
#include "planner.h"
#include "ptrmap.h"
#include "ggalloc-graph.h"

#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

// Where the allocator put a tensor of the graph: block `block` of slot `slot`; block -1 when it
// did not place it (a view, or a tensor whose memory is external).
struct gga_ref {
    int32_t slot;
    int32_t block;
};

// The blocks of one slot (one allocator: buffer ids with the same buffer type share one), in
// the order ggml would allocate them. The six arrays are one allocation, at blocks.
struct gga_slot_blocks {
    int                   n;
    int                   cap;
    struct gga_block    * blocks;
    struct ggml_tensor ** tensor;    // per block
    int                 * buffer_id; // per block: the buffer id the tensor was placed for
    int                 * first;     // per block: first node step (visit position) it is live
    int                 * last;      // per block: last node step it is read
    int                 * freed;     // the blocks freed, in the order ggml frees them (n_freed)
    int                   n_freed;
};

// What a plan depends on, per tensor of the graph, besides positions and sizes (read by the walk,
// which reads every tensor once anyway, so that a re-use check can compare a later graph to it).
struct gga_sig {
    int32_t  op;
    uint32_t flags;   // the tensor's flags & GGA_SIG_FLAGS, and GGA_SIG_EXTERNAL
    uint32_t inplace; // bit j: source j has the tensor's layout (for ops that may run in place)
};

#define GGA_SIG_FLAGS    (GGML_TENSOR_FLAG_INPUT | GGML_TENSOR_FLAG_OUTPUT | GGALLOC_TENSOR_FLAG_EXTERNAL)
#define GGA_SIG_EXTERNAL (1u << 31) // it has memory (data or buffer) the walk did not take back

struct gga_lifetimes {
    int n_slots;
    struct gga_slot_blocks * slots;

    int n_nodes;
    int n_leafs;
    struct gga_ref * leaf; // per leaf
    struct gga_ref * node; // per node, by graph index
    // Node i's sources are its src[0 .. src_off[i + 1] - src_off[i]) (those past are all NULL), at
    // src[src_off[i] + j] and src_pos[src_off[i] + j]: packed, since nodes use 2 or 3 of their
    // GGML_MAX_SRC slots.
    int32_t        * src_off; // per node, and one more
    struct gga_ref * src;     // per source of a node

    // The graph's shape as the walk saw it, so that a later graph can be checked against it
    // without a lookup: where each source and view source is in the graph, as a node index
    // (>= 0), GGA_POS_LEAF(leaf index), or GGA_POS_NONE.
    int32_t * src_pos;  // per source of a node
    int32_t * view_pos; // per node, then per leaf
    int32_t * node_leaf; // per node: the leaf index of the same tensor (a node that is also a leaf), or -1
    bool      pos_other; // some source or view source is neither a node nor a leaf of the graph
    bool      in_order;  // every source and view source of a node is a leaf or an earlier node, and
                         // every view source of a leaf an earlier leaf
    struct gga_sig * sig; // per node, then per leaf
    struct ggml_tensor ** leaf_tensor; // per leaf: room for the caller (the walk leaves it alone)

    // the slots and the per-node and per-leaf arrays are one allocation (at slots) of this many
    // bytes, which the next walk into the same struct reuses when it is large enough
    size_t    mem_size;
};

#define GGA_POS_NONE    (-1)
#define GGA_POS_LEAF(i) (-2 - (int32_t) (i))

struct gga_walk_params {
    int         n_buffers;
    const int * slot_of_buffer;  // n_buffers entries, each in [0, n_slots)
    int         n_slots;
    // bytes tensor t takes in buffer buffer_id (the buffer type's alloc size); NULL: ggml_nbytes
    size_t   (* alloc_size)(void * user, int buffer_id, const struct ggml_tensor * t);
    void      * user;
    const int * node_buffer_ids; // NULL: every node in buffer 0
    const int * leaf_buffer_ids; // NULL: every leaf in buffer 0
    const int * order;           // NULL, or n_order node indices: the visiting order
    int         n_order;
    struct gga_walk_scratch * scratch; // NULL, or working memory kept between walks
    // NULL, or whether buffer is the caller's own: a leaf, node or source of the graph placed in
    // such a buffer (by an earlier plan) is taken back (data and buffer cleared) when the walk
    // first meets it, instead of being counted as external
    bool     (* owns_buffer)(void * user, struct ggml_backend_buffer * buffer);
};

// Working memory of the walk, for callers that walk graphs again and again (gallocr keeps one):
// it is grown to the largest graph seen and reused, so a walk allocates only its results.
// Zero-initialise; gga_walk_scratch_release frees its memory.
struct gga_walk_scratch {
    struct gga_ptrmap map;  // tensor -> index of its record
    void   * mem;           // the records and the per-node and per-leaf arrays, in one allocation
    size_t   mem_size;
    void   * more_recs;     // the records, when a graph has more tensors than mem has room for
    int      cap_more_recs;
};
// Frees sc's memory; sc is then zero-initialised. NULL is a no-op.
void gga_walk_scratch_release(struct gga_walk_scratch * sc);

// ggml's list of ops that may write their result over a source of the same layout. (Inline, as
// are the two below: the walk and alloc_graph's re-use check call them for every tensor.)
static inline bool gga_op_can_inplace(enum ggml_op op) {
    switch (op) {
        case GGML_OP_SCALE:
        case GGML_OP_DIAG_MASK_ZERO:
        case GGML_OP_DIAG_MASK_INF:
        case GGML_OP_ADD:
        case GGML_OP_ADD_ID:
        case GGML_OP_ADD1:
        case GGML_OP_SUB:
        case GGML_OP_MUL:
        case GGML_OP_DIV:
        case GGML_OP_SQR:
        case GGML_OP_SQRT:
        case GGML_OP_LOG:
        case GGML_OP_UNARY:
        case GGML_OP_ROPE:
        case GGML_OP_ROPE_BACK:
        case GGML_OP_SILU_BACK:
        case GGML_OP_RMS_NORM:
        case GGML_OP_RMS_NORM_BACK:
        case GGML_OP_SOFT_MAX:
        case GGML_OP_SOFT_MAX_BACK:
            return true;
        default:
            return false;
    }
}

// Same type, shape and strides: what a node must share with a source to run in place over it.
static inline bool gga_same_layout(const struct ggml_tensor * a, const struct ggml_tensor * b) {
    // whole arrays at once, not element by element: compilers compare them in a few wide loads
    return a->type == b->type && memcmp(a->ne, b->ne, sizeof(a->ne)) == 0 && memcmp(a->nb, b->nb, sizeof(a->nb)) == 0;
}

// The sources of t (among its first n_src) that it could run in place over, as a bit mask: the
// re-use check compares it with the one the walk recorded (struct gga_sig).
static inline uint32_t gga_inplace_mask(const struct ggml_tensor * t, int n_src) {
    if (!gga_op_can_inplace(t->op)) {
        return 0;
    }
    uint32_t m = 0;
    for (int j = 0; j < n_src; j++) {
        if (t->src[j] != NULL && gga_same_layout(t, t->src[j])) {
            m |= 1u << j;
        }
    }
    return m;
}

// Whether the allocator leaves t alone: its memory is provided elsewhere.
static inline bool gga_tensor_is_external(const struct ggml_tensor * t) {
    return t->data != NULL || t->buffer != NULL || (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) != 0;
}

// Walks graph into out, which is zero-initialised or holds an earlier walk's result: its memory
// is then reused (an allocator that plans again and again allocates nothing once its arrays are
// large enough). False (and a log line naming what is wrong) on a bad buffer id, a bad order or
// out of memory; out is then empty. gga_lifetimes_release frees out's memory.
bool gga_lifetimes_build(struct ggml_cgraph * graph, const struct gga_walk_params * params, struct gga_lifetimes * out);
// Empties lt (no slots' blocks, no nodes, no leafs) and keeps its memory for the next walk.
void gga_lifetimes_clear(struct gga_lifetimes * lt);
// Frees lt's memory; lt is then zero-initialised. NULL is a no-op.
void gga_lifetimes_release(struct gga_lifetimes * lt);

// Makes the walk's allocation after the next k fail, once (k < 0: none fails), so that tests
// reach every out-of-memory path of the walk.
void gga_lifetimes_fail_after(int k);

#ifdef __cplusplus
}
#endif
