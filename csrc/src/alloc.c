// The graph allocator (ggml_gallocr_*): plan a graph, keep buffers that fit the plan, place the
// graph's tensors.
//
// Planning has two halves that know nothing of each other. lifetimes.c walks the graph as ggml
// does and turns every tensor it would place into a block (size, first step, end step, in-place
// group), per slot: buffer ids given the same buffer type share one slot, hence one buffer. The
// pure planner (planner.c) then gives every block a chunk and an offset: ONLINE replays ggml's
// best-fit allocator (GGALLOC_PLANNER_GGML, the same sizes as ggml), BEST packs the same
// lifetimes offline (GGALLOC_PLANNER_BEST, the default, never larger).
//
// A slot's buffer is up to 16 chunks, each its own backend buffer of exactly its high-water
// mark. After a new plan a slot's buffers are kept when every chunk is still large enough;
// when any chunk must grow, all of the slot's chunks are freed and reallocated at exactly the
// new plan's sizes, as ggml does (so with the GGML planner every buffer size after any sequence
// of reserves and allocations is ggml's). If a buffer cannot be allocated, every buffer is
// freed, the plan is dropped and the graph's tensors stay unallocated; a later reserve starts
// clean.
//
// alloc_graph re-applies the recorded plan only to the graph it was made for, or one of the
// same shape: the same counts, every source and view source at the same position (node k or
// leaf k), the same ops, flags and in-place candidates (sources of the node's layout), the same
// tensors with memory of their own, and every tensor fitting its recorded size. Anything else
// gets a new plan (ggml looks at counts and sizes only, and re-applies a plan to a graph of
// another structure, overlapping live tensors). The check reads each tensor once and compares
// positions by pointer (nodes[k] == src), without a lookup; a node that is also a leaf must be
// the same leaf (a node of op NONE that was no leaf is looked for among the leafs). When every
// source is a leaf or an earlier node (as graphs built by ggml_build_forward_expand are), the
// placement pass visits each tensor once, leafs then nodes; otherwise it places each node's
// sources before the node. A graph the plan does not fit is planned again by a single-buffer
// allocator; a multi-buffer one returns false (reserve_n first), as ggml's does.
//
// What the re-use check compares against (the signature: op, flags, in-place candidates of
// every node and leaf; where the sources are; whether the graph is in order) is written by the
// walk, which reads every tensor once anyway: planning reads no tensor a second time. The plan
// as data (ggalloc_gallocr_get_placement) is read from the walk's blocks and the planner's
// offsets when asked, not copied at every plan.
//
// The walk's working memory (pointer map, records, per-node arrays: gga_walk_scratch, held in
// the allocator itself) and its results stay with the allocator between plans, grown to the
// largest graph seen: re-planning then allocates only what the planner returns, and touches no
// fresh pages (a C library that hands large freed blocks back to the system would otherwise
// fault them in again at every reserve), which keeps reserve fast on graphs that are planned
// again and again. A fresh allocator's first reserve allocates the allocator, the walk's map,
// its working memory, its results and one array of blocks per buffer type, besides the
// planner's and the buffers.
//
// Tensors of the graph that point into this allocator's own buffers (from an earlier
// alloc_graph of the same graph) are taken back at reserve: ggml would count them as external
// and keep pointers into a buffer it may be about to free.

#include "align.h"
#include "alloc-impl.h"
#include "backend-impl.h"
#include "lifetimes.h"
#include "log.h"
#include "ggalloc-alloc.h"
#include "ggalloc-graph.h"
#include "ggalloc-planner.h"
#include "ggml-backend.h"

#include <stdlib.h>
#include <string.h>

struct gallocr_slot {
    ggml_backend_buffer_type_t buft;
    int first_buffer_id;

    ggml_backend_buffer_t chunks[GGALLOC_MAX_CHUNKS]; // the backend buffers; NULL where none yet
    char * base[GGALLOC_MAX_CHUNKS]; // their base addresses, read once: alloc_graph places every tensor

    // the last plan (its offsets and chunks held by memo)
    int      n_blocks;
    const size_t * offset;
    const int    * chunk;
    int      n_chunks;
    size_t   chunk_size[GGALLOC_MAX_CHUNKS];
    int      first_placement; // index of its first block among the allocator's placements
    size_t   lower_bound; // computed when first asked for (it costs a sort)
    bool     lower_bound_known;
    struct gga_plan_memo memo; // the planner's last plan, reused for the same blocks
};

struct ggml_gallocr {
    int n_buffers;
    ggml_backend_buffer_type_t * bufts;
    int * slot_of_buffer;
    int n_slots;
    struct gallocr_slot * slots;

    enum ggalloc_planner planner;
    double time_budget;                // BEST: seconds of search per buffer's plan above its bound
    int * order;
    int   n_order;

    bool have_plan;
    bool reusable;                     // alloc_graph may re-apply the plan (to a graph of its shape)
    bool in_order;                     // every source and view source is a leaf or an earlier node
    struct gga_lifetimes lt;           // the walk's results, with what the plan depends on (lt.sig)
    struct gga_walk_scratch scratch;   // the walk's working memory, kept between plans
    int n_placements;                  // the placements are read from lt and the slots when asked

    int n_chunk_buffers;               // backend buffers held, in all slots
    ggml_backend_buffer_t last_owned;  // the last buffer found among them (NULL when freed)
};

ggml_gallocr_t ggml_gallocr_new_n(ggml_backend_buffer_type_t * bufts, int n_bufs) {
    if (bufts == NULL || n_bufs <= 0) {
        GGML_LOG_ERROR("%s: needs at least one buffer type (got %d)\n", __func__, n_bufs);
        return NULL;
    }
    for (int i = 0; i < n_bufs; i++) {
        if (bufts[i] == NULL) {
            GGML_LOG_ERROR("%s: buffer type %d is NULL\n", __func__, i);
            return NULL;
        }
    }
    // the allocator, its slots, buffer types and slot map in one allocation (in order of alignment)
    const size_t n = (size_t) n_bufs;
    char * mem = calloc(1, sizeof(struct ggml_gallocr) + n * (sizeof(struct gallocr_slot) +
            sizeof(ggml_backend_buffer_type_t) + sizeof(int)));
    if (mem == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        return NULL;
    }
    ggml_gallocr_t galloc = (ggml_gallocr_t) mem;
    galloc->slots = (struct gallocr_slot *) (mem + sizeof(struct ggml_gallocr));
    galloc->bufts = (ggml_backend_buffer_type_t *) (galloc->slots + n);
    galloc->slot_of_buffer = (int *) (galloc->bufts + n);
    galloc->n_buffers = n_bufs;
    galloc->planner = GGALLOC_PLANNER_BEST;
    for (int i = 0; i < n_bufs; i++) {
        galloc->bufts[i] = bufts[i];
        int s = 0;
        while (s < galloc->n_slots && galloc->slots[s].buft != bufts[i]) s++;
        if (s == galloc->n_slots) {
            galloc->slots[s].buft = bufts[i];
            galloc->slots[s].first_buffer_id = i;
            galloc->n_slots++;
        }
        galloc->slot_of_buffer[i] = s;
    }
    return galloc;
}

ggml_gallocr_t ggml_gallocr_new(ggml_backend_buffer_type_t buft) {
    return ggml_gallocr_new_n(&buft, 1);
}

static void gallocr_drop_plan(ggml_gallocr_t galloc) {
    for (int s = 0; s < galloc->n_slots; s++) {
        struct gallocr_slot * sl = &galloc->slots[s];
        sl->offset = NULL; // (the memo's)
        sl->chunk = NULL;
        sl->n_blocks = 0;
        sl->n_chunks = 0;
        sl->lower_bound = 0;
        sl->lower_bound_known = false;
        memset(sl->chunk_size, 0, sizeof(sl->chunk_size));
    }
    // the walk's arrays and working memory are kept for the next plan
    gga_lifetimes_clear(&galloc->lt);
    galloc->n_placements = 0;
    galloc->have_plan = false;
}

static void gallocr_free_buffers(ggml_gallocr_t galloc) {
    for (int s = 0; s < galloc->n_slots; s++) {
        for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
            ggml_backend_buffer_free(galloc->slots[s].chunks[c]);
            galloc->slots[s].chunks[c] = NULL;
            galloc->slots[s].base[c] = NULL;
        }
    }
    galloc->n_chunk_buffers = 0;
    galloc->last_owned = NULL;
}

void ggml_gallocr_free(ggml_gallocr_t galloc) {
    if (galloc == NULL) {
        return;
    }
    if (galloc->slots) {
        gallocr_drop_plan(galloc);
        gallocr_free_buffers(galloc);
        for (int s = 0; s < galloc->n_slots; s++) {
            gga_plan_memo_release(&galloc->slots[s].memo);
        }
    }
    gga_lifetimes_release(&galloc->lt);
    free(galloc->order);
    gga_walk_scratch_release(&galloc->scratch);
    free(galloc); // and bufts, slot_of_buffer and slots
}

void ggalloc_gallocr_set_planner(ggml_gallocr_t galloc, enum ggalloc_planner planner) {
    if (galloc == NULL) {
        return;
    }
    if (planner != GGALLOC_PLANNER_GGML && planner != GGALLOC_PLANNER_BEST) {
        GGML_LOG_ERROR("%s: unknown planner %d\n", __func__, (int) planner);
        return;
    }
    galloc->planner = planner;
}

enum ggalloc_planner ggalloc_gallocr_get_planner(ggml_gallocr_t galloc) {
    return galloc ? galloc->planner : GGALLOC_PLANNER_BEST;
}

bool ggalloc_gallocr_set_time_budget(ggml_gallocr_t galloc, double seconds) {
    if (galloc == NULL) {
        GGML_LOG_ERROR("%s: NULL allocator\n", __func__);
        return false;
    }
    if (!gga_time_budget_valid(seconds)) {
        GGML_LOG_ERROR("%s: time budget %g is not a number of seconds from 0 to %g\n", __func__, seconds,
                GGA_MAX_TIME_BUDGET);
        return false;
    }
    galloc->time_budget = seconds;
    return true;
}

double ggalloc_gallocr_get_time_budget(ggml_gallocr_t galloc) {
    return galloc ? galloc->time_budget : 0;
}

bool ggalloc_gallocr_set_node_order(ggml_gallocr_t galloc, const int * order, int n) {
    if (galloc == NULL) {
        return false;
    }
    if (n < 0 || (order != NULL && n == 0) || (order == NULL && n != 0)) {
        GGML_LOG_ERROR("%s: an order of %d entries%s: give NULL and 0 for graph order, or a permutation\n",
                __func__, n, order == NULL ? " without the entries" : "");
        return false;
    }
    galloc->reusable = false; // a plan made in another order is another plan
    if (order == NULL) {
        free(galloc->order);
        galloc->order = NULL;
        galloc->n_order = 0;
        return true;
    }
    int * copy = malloc(sizeof(int) * n);
    char * seen = calloc(n, 1);
    bool ok = copy != NULL && seen != NULL;
    for (int k = 0; k < n && ok; k++) {
        if (order[k] < 0 || order[k] >= n || seen[order[k]]) {
            GGML_LOG_ERROR("%s: entry %d is %d: not a permutation of 0..%d\n", __func__, k, order[k], n - 1);
            ok = false;
            break;
        }
        seen[order[k]] = 1;
        copy[k] = order[k];
    }
    free(seen);
    if (!ok) {
        free(copy);
        return false;
    }
    free(galloc->order);
    galloc->order = copy;
    galloc->n_order = n;
    return true;
}

//
// Buffers
//

static bool gallocr_owns_buffer(ggml_gallocr_t galloc, ggml_backend_buffer_t buffer) {
    if (buffer == NULL || galloc->n_chunk_buffers == 0) {
        return false;
    }
    if (buffer == galloc->last_owned) {
        return true; // tensors come in runs of the same buffer
    }
    for (int s = 0; s < galloc->n_slots; s++) {
        for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
            if (galloc->slots[s].chunks[c] == buffer) {
                galloc->last_owned = buffer;
                return true;
            }
        }
    }
    return false;
}

static void gallocr_unplace(ggml_gallocr_t galloc, struct ggml_tensor * t) {
    if (t != NULL && gallocr_owns_buffer(galloc, t->buffer)) {
        t->buffer = NULL;
        t->data = NULL;
    }
}

// Forgets where the graph's tensors were placed in this allocator's buffers.
static void gallocr_unplace_graph(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    if (galloc->n_chunk_buffers == 0) {
        return;
    }
    int n_leafs = ggalloc_graph_n_leafs(graph);
    int n_nodes = ggml_graph_n_nodes(graph);
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);
    for (int i = 0; i < n_leafs; i++) {
        gallocr_unplace(galloc, ggalloc_graph_leaf(graph, i));
    }
    for (int i = 0; i < n_nodes; i++) {
        gallocr_unplace(galloc, nodes[i]);
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            gallocr_unplace(galloc, nodes[i]->src[j]);
        }
    }
}

// Gives every slot buffers for the plan: kept when every chunk is large enough, otherwise all
// of the slot's chunks freed and allocated again at exactly the plan's sizes (ggml's rule). On
// failure everything is freed and the plan dropped.
static bool gallocr_ensure_buffers(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    for (int s = 0; s < galloc->n_slots; s++) {
        struct gallocr_slot * sl = &galloc->slots[s];
        bool grow = false;
        for (int c = 0; c < sl->n_chunks && !grow; c++) {
            grow = sl->chunks[c] == NULL || ggml_backend_buffer_get_size(sl->chunks[c]) < sl->chunk_size[c];
        }
        if (!grow) {
            continue;
        }
        // the old buffers go first, so that their memory can serve the new ones
        bool had = false;
        for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
            had = had || sl->chunks[c] != NULL;
        }
        if (had && graph != NULL) {
            gallocr_unplace_graph(galloc, graph);
        }
        for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
            if (sl->chunks[c] != NULL) {
                ggml_backend_buffer_free(sl->chunks[c]);
                sl->chunks[c] = NULL;
                sl->base[c] = NULL;
                galloc->n_chunk_buffers--;
            }
        }
        galloc->last_owned = NULL;
        for (int c = 0; c < sl->n_chunks; c++) {
            sl->chunks[c] = ggml_backend_buft_alloc_buffer(sl->buft, sl->chunk_size[c]);
            if (sl->chunks[c] == NULL) {
                GGML_LOG_ERROR("%s: failed to allocate %s buffer of size %zu (chunk %d of buffer %d)\n", "ggml_gallocr",
                        ggml_backend_buft_name(sl->buft), sl->chunk_size[c], c, sl->first_buffer_id);
                if (graph != NULL) {
                    gallocr_unplace_graph(galloc, graph);
                }
                gallocr_free_buffers(galloc);
                gallocr_drop_plan(galloc);
                return false;
            }
            galloc->n_chunk_buffers++;
            sl->base[c] = ggml_backend_buffer_get_base(sl->chunks[c]);
            ggml_backend_buffer_set_usage(sl->chunks[c], GGML_BACKEND_BUFFER_USAGE_COMPUTE);
        }
    }
    return true;
}

//
// Planning
//

static size_t gallocr_alloc_size(void * user, int buffer_id, const struct ggml_tensor * t) {
    ggml_gallocr_t galloc = user;
    return ggml_backend_buft_get_alloc_size(galloc->bufts[buffer_id], t);
}

static bool gallocr_owns_buffer_cb(void * user, struct ggml_backend_buffer * buffer) {
    return gallocr_owns_buffer(user, buffer);
}

// The part of a tensor's signature read from the tensor itself.
static inline uint32_t gallocr_sig_flags(ggml_gallocr_t galloc, const struct ggml_tensor * t) {
    uint32_t f = (uint32_t) t->flags & GGA_SIG_FLAGS;
    if ((t->data != NULL || t->buffer != NULL) && !gallocr_owns_buffer(galloc, t->buffer)) {
        f |= GGA_SIG_EXTERNAL;
    }
    return f;
}

static bool gallocr_plan(ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids,
        const int * leaf_buffer_ids) {
    gallocr_drop_plan(galloc);
    if (graph == NULL) {
        GGML_LOG_ERROR("%s: graph is NULL\n", "ggml_gallocr_reserve");
        return false;
    }
    // tensors left in this allocator's buffers by an earlier plan are taken back by the walk
    // itself (owns_buffer), as it reads each tensor once anyway; buffer types that size tensors
    // as ggml_nbytes does (the CPU's) leave the walk to call that directly
    bool plain_sizes = true;
    for (int i = 0; i < galloc->n_buffers; i++) {
        plain_sizes &= galloc->bufts[i]->iface.get_alloc_size == NULL;
    }
    struct gga_walk_params wp = {
        .n_buffers       = galloc->n_buffers,
        .slot_of_buffer  = galloc->slot_of_buffer,
        .n_slots         = galloc->n_slots,
        .alloc_size      = plain_sizes ? NULL : gallocr_alloc_size,
        .user            = galloc,
        .node_buffer_ids = node_buffer_ids,
        .leaf_buffer_ids = leaf_buffer_ids,
        .order           = galloc->order,
        .n_order         = galloc->n_order,
        .scratch         = &galloc->scratch,
        .owns_buffer     = gallocr_owns_buffer_cb,
    };
    if (!gga_lifetimes_build(graph, &wp, &galloc->lt)) {
        gallocr_unplace_graph(galloc, graph); // the walk may have stopped before meeting them all
        return false;
    }

    int n_placements = 0;
    for (int s = 0; s < galloc->n_slots; s++) {
        struct gallocr_slot * sl = &galloc->slots[s];
        struct gga_slot_blocks * sb = &galloc->lt.slots[s];
        struct gga_plan_params pp = {
            .alignment  = ggml_backend_buft_get_alignment(sl->buft),
            .max_size   = ggml_backend_buft_get_max_size(sl->buft),
            .max_chunks = GGALLOC_MAX_CHUNKS,
            .strategy   = galloc->planner == GGALLOC_PLANNER_GGML ? GGA_STRATEGY_ONLINE : GGA_STRATEGY_BEST,
            .time_budget = galloc->planner == GGALLOC_PLANNER_BEST ? galloc->time_budget : 0,
            .budget_after_first = true, // a budget never makes a buffer larger
        };
        char err[256] = "";
        const struct gga_plan * plan = gga_plan_blocks_memo(&sl->memo, sb->blocks, sb->n, sb->freed, sb->n_freed, &pp, err,
                                                             sizeof(err));
        if (plan == NULL) {
            GGML_LOG_ERROR("%s: planning %d tensors for %s failed: %s\n", "ggml_gallocr_reserve", sb->n,
                    ggml_backend_buft_name(sl->buft), err);
            gallocr_drop_plan(galloc);
            return false;
        }
        sl->n_blocks = sb->n;
        sl->offset = plan->offset;
        sl->chunk = plan->chunk;
        sl->n_chunks = plan->n_chunks;
        memcpy(sl->chunk_size, plan->chunk_size, sizeof(sl->chunk_size));
        sl->first_placement = n_placements;
        n_placements += sb->n;
    }

    galloc->n_placements = n_placements;
    galloc->have_plan = true;
    galloc->reusable = !galloc->lt.pos_other;
    galloc->in_order = galloc->lt.in_order;
    return true;
}

bool gga_gallocr_plan(ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids,
        const int * leaf_buffer_ids) {
    if (galloc == NULL) {
        GGML_LOG_ERROR("%s: allocator is NULL\n", __func__);
        return false;
    }
    return gallocr_plan(galloc, graph, node_buffer_ids, leaf_buffer_ids);
}

bool ggml_gallocr_reserve_n(ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids,
        const int * leaf_buffer_ids) {
    if (galloc == NULL) {
        GGML_LOG_ERROR("%s: allocator is NULL\n", __func__);
        return false;
    }
    if (!gallocr_plan(galloc, graph, node_buffer_ids, leaf_buffer_ids)) {
        return false;
    }
    return gallocr_ensure_buffers(galloc, graph);
}

bool ggml_gallocr_reserve(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    return ggml_gallocr_reserve_n(galloc, graph, NULL, NULL);
}

void ggml_gallocr_reserve_n_size(ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids,
        const int * leaf_buffer_ids, size_t * sizes) {
    if (galloc == NULL || sizes == NULL) {
        GGML_LOG_ERROR("%s: allocator or sizes is NULL\n", __func__);
        return;
    }
    for (int i = 0; i < galloc->n_buffers; i++) {
        sizes[i] = 0;
    }
    if (!gallocr_plan(galloc, graph, node_buffer_ids, leaf_buffer_ids)) {
        return;
    }
    for (int s = 0; s < galloc->n_slots; s++) {
        struct gallocr_slot * sl = &galloc->slots[s];
        for (int c = 0; c < sl->n_chunks; c++) {
            sizes[sl->first_buffer_id] += sl->chunk_size[c];
        }
    }
}

//
// Placing a planned graph
//

// Whether t still fits the block the plan gave it (ggml_gallocr_node_needs_realloc).
static inline bool gallocr_fits(ggml_gallocr_t galloc, const struct ggml_tensor * t, struct gga_ref ref) {
    if (ref.block < 0) {
        return true; // a view, or memory provided elsewhere (both checked by the signature)
    }
    struct gga_slot_blocks * sb = &galloc->lt.slots[ref.slot];
    return ggml_backend_buft_get_alloc_size(galloc->bufts[sb->buffer_id[ref.block]], t) <= sb->blocks[ref.block].size;
}

// The tensor at a recorded position of the graph (NULL for none), its leafs read into leafs.
static inline struct ggml_tensor * gallocr_at(struct ggml_tensor ** nodes, struct ggml_tensor ** leafs, int32_t pos) {
    if (pos >= 0) {
        return nodes[pos];
    }
    return pos == GGA_POS_NONE ? NULL : leafs[GGA_POS_LEAF(0) - pos];
}

// Whether t is among the graph's n_leafs leafs (for the rare node of op NONE: nodes are ops).
static bool gallocr_is_leaf(struct ggml_tensor ** leafs, int n_leafs, const struct ggml_tensor * t) {
    for (int k = 0; k < n_leafs; k++) {
        if (leafs[k] == t) {
            return true;
        }
    }
    return false;
}

static inline bool gallocr_same_tensor(ggml_gallocr_t galloc, const struct ggml_tensor * t, const struct gga_sig * sg,
        int n_src, struct ggml_tensor * view_src) {
    return (int32_t) t->op == sg->op && t->view_src == view_src && gallocr_sig_flags(galloc, t) == sg->flags &&
           gga_inplace_mask(t, n_src) == sg->inplace;
}

// Whether graph is not one the recorded plan can be re-applied to (see the top of the file).
static bool gallocr_needs_plan(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    if (!galloc->have_plan || !galloc->reusable) {
        return true;
    }
    const int n_nodes = ggml_graph_n_nodes(graph);
    const int n_leafs = ggalloc_graph_n_leafs(graph);
    if (n_nodes != galloc->lt.n_nodes || n_leafs != galloc->lt.n_leafs) {
        return true;
    }
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);
    struct ggml_tensor ** leafs = galloc->lt.leaf_tensor; // room for n_leafs since the plan
    for (int i = 0; i < n_leafs; i++) {
        leafs[i] = ggalloc_graph_leaf(graph, i);
    }
    const int32_t * view_pos = galloc->lt.view_pos;
    for (int i = 0; i < n_leafs; i++) {
        const struct ggml_tensor * t = leafs[i];
        if (!gallocr_same_tensor(galloc, t, &galloc->lt.sig[n_nodes + i], GGML_MAX_SRC, gallocr_at(nodes, leafs, view_pos[n_nodes + i])) ||
            !gallocr_fits(galloc, t, galloc->lt.leaf[i])) {
            return true;
        }
    }
    for (int i = 0; i < n_nodes; i++) {
        const struct ggml_tensor * t = nodes[i];
        const struct gga_sig * sg = &galloc->lt.sig[i];
        const int32_t * sp = &galloc->lt.src_pos[galloc->lt.src_off[i]];
        const int n_src = galloc->lt.src_off[i + 1] - galloc->lt.src_off[i];
        int j = 0;
        for (; j < n_src; j++) {
            if (t->src[j] != gallocr_at(nodes, leafs, sp[j])) {
                return true;
            }
        }
        for (; j < GGML_MAX_SRC; j++) {
            if (t->src[j] != NULL) {
                return true;
            }
        }
        if (!gallocr_same_tensor(galloc, t, sg, n_src, gallocr_at(nodes, leafs, view_pos[i])) ||
            !gallocr_fits(galloc, t, galloc->lt.node[i])) {
            return true;
        }
        // a node that is also a leaf (the scheduler's input copies) is one tensor, one block
        const int32_t k = galloc->lt.node_leaf[i];
        if (k >= 0 ? leafs[k] != t : t->op == GGML_OP_NONE && gallocr_is_leaf(leafs, n_leafs, t)) {
            return true;
        }
    }
    return false;
}

bool gga_gallocr_can_reuse(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    return galloc != NULL && graph != NULL && !gallocr_needs_plan(galloc, graph);
}

// fitted: t's size was checked against its block (gallocr_fits) when the plan was taken for this
// graph, and the plan keeps every block inside its chunk (checked when it was made), so
// ggml_backend_tensor_alloc's bounds check (another size computation) is not repeated.
static bool gallocr_place(ggml_gallocr_t galloc, struct ggml_tensor * t, struct gga_ref ref, bool fitted) {
    if (t->view_src != NULL) {
        if (t->buffer == NULL || gallocr_owns_buffer(galloc, t->buffer)) {
            if (t->view_src->buffer == NULL) {
                return true; // a view of memory that is not a backend buffer's
            }
            t->buffer = NULL;
            t->data = NULL;
            return ggml_backend_view_init(t) == GGML_STATUS_SUCCESS;
        }
        return true;
    }
    if (ref.block < 0) {
        return true;
    }
    struct gallocr_slot * sl = &galloc->slots[ref.slot];
    const int c = sl->chunk[ref.block];
    ggml_backend_buffer_t buf = sl->chunks[c];
    char * addr = (char *) ((uintptr_t) sl->base[c] + sl->offset[ref.block]);
    if (t->data != NULL || t->buffer != NULL) {
        if (t->buffer == buf && t->data == addr) {
            return true; // already there (a source met again, or the same graph allocated again)
        }
        if (!gallocr_owns_buffer(galloc, t->buffer)) {
            return true; // became external since the plan
        }
    }
    if (!fitted || sl->base[c] == NULL) {
        t->buffer = NULL;
        t->data = NULL;
        return ggml_backend_tensor_alloc(buf, t, addr) == GGML_STATUS_SUCCESS;
    }
    t->buffer = buf;
    t->data = addr;
    return ggml_backend_buffer_init_tensor(buf, t) == GGML_STATUS_SUCCESS;
}

static void gallocr_rebind_one(ggml_gallocr_t galloc, struct ggml_tensor * t, struct gga_ref ref) {
    if (t == NULL || ref.block < 0) {
        return;
    }
    galloc->lt.slots[ref.slot].tensor[ref.block] = t;
}

// A re-applied plan now describes this graph's tensors: the plan read back names them, not the
// tensors of the graph it was made for (which may be gone).
static void gallocr_rebind(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    int n_leafs = ggalloc_graph_n_leafs(graph);
    for (int i = 0; i < n_leafs; i++) {
        gallocr_rebind_one(galloc, ggalloc_graph_leaf(graph, i), galloc->lt.leaf[i]);
    }
    int n_nodes = ggml_graph_n_nodes(graph);
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);
    for (int i = 0; i < n_nodes; i++) {
        gallocr_rebind_one(galloc, nodes[i], galloc->lt.node[i]);
        // the graph matched the plan: its sources past the recorded ones are NULL
        const struct gga_ref * src = &galloc->lt.src[galloc->lt.src_off[i]];
        const int n_src = galloc->lt.src_off[i + 1] - galloc->lt.src_off[i];
        for (int j = 0; j < n_src; j++) {
            gallocr_rebind_one(galloc, nodes[i]->src[j], src[j]);
        }
    }
}

static enum ggalloc_alloc_status gallocr_alloc_graph(const char * fn, ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    if (galloc == NULL || graph == NULL) {
        GGML_LOG_ERROR("%s: allocator or graph is NULL\n", fn);
        return GGALLOC_ALLOC_BAD_INPUT;
    }
    if (gallocr_needs_plan(galloc, graph)) {
        if (galloc->n_buffers != 1) {
            GGML_LOG_ERROR("%s: the graph does not fit the reserved plan, and an allocator of %d buffers cannot plan "
                    "again by itself: call ggml_gallocr_reserve_n first\n", fn, galloc->n_buffers);
            return GGALLOC_ALLOC_NEEDS_RESERVE;
        }
        if (!ggml_gallocr_reserve(galloc, graph)) {
            return GGALLOC_ALLOC_FAILED;
        }
    } else if (!gallocr_ensure_buffers(galloc, graph)) {
        return GGALLOC_ALLOC_FAILED;
    }

    for (int s = 0; s < galloc->n_slots; s++) {
        for (int c = 0; c < galloc->slots[s].n_chunks; c++) {
            ggml_backend_buffer_reset(galloc->slots[s].chunks[c]);
        }
    }
    bool ok = true;
    int n_leafs = ggalloc_graph_n_leafs(graph);
    int n_nodes = ggml_graph_n_nodes(graph);
    struct ggml_tensor ** nodes = ggml_graph_nodes(graph);
    if (galloc->in_order) {
        // every source is a leaf or an earlier node (the plan's positions say so, and the graph
        // matched them): each tensor is rebound and placed once, sources before their readers
        for (int i = 0; i < n_leafs; i++) {
            struct ggml_tensor * t = ggalloc_graph_leaf(graph, i);
            gallocr_rebind_one(galloc, t, galloc->lt.leaf[i]);
            ok = gallocr_place(galloc, t, galloc->lt.leaf[i], true) && ok;
        }
        for (int i = 0; i < n_nodes; i++) {
            gallocr_rebind_one(galloc, nodes[i], galloc->lt.node[i]);
            ok = gallocr_place(galloc, nodes[i], galloc->lt.node[i], true) && ok;
        }
    } else {
        gallocr_rebind(galloc, graph);
        for (int i = 0; i < n_leafs; i++) {
            ok = gallocr_place(galloc, ggalloc_graph_leaf(graph, i), galloc->lt.leaf[i], false) && ok;
        }
        for (int i = 0; i < n_nodes; i++) {
            const struct gga_ref * src = &galloc->lt.src[galloc->lt.src_off[i]];
            const int n_src = galloc->lt.src_off[i + 1] - galloc->lt.src_off[i];
            for (int j = 0; j < n_src; j++) {
                if (nodes[i]->src[j] != NULL) {
                    ok = gallocr_place(galloc, nodes[i]->src[j], src[j], false) && ok;
                }
            }
            ok = gallocr_place(galloc, nodes[i], galloc->lt.node[i], false) && ok;
        }
    }
    if (!ok) {
        GGML_LOG_ERROR("%s: some tensors could not be placed; the graph is left unallocated\n", fn);
        gallocr_unplace_graph(galloc, graph);
        return GGALLOC_ALLOC_FAILED;
    }
#ifdef GGALLOC_DEBUG
    // debug builds check every placed graph with the independent verifier (which judges
    // liveness in graph order, so a custom node order is left to the tests)
    if (galloc->order == NULL) {
        const int violations = ggalloc_graph_verify(graph);
        if (violations != 0) {
            GGML_LOG_ERROR("%s: internal error: the plan puts %d pairs of live tensors in the same bytes; "
                    "the graph is left unallocated\n", fn, violations);
            gallocr_unplace_graph(galloc, graph);
            return GGALLOC_ALLOC_FAILED;
        }
    }
#endif
    return GGALLOC_ALLOC_OK;
}

enum ggalloc_alloc_status ggalloc_gallocr_alloc_graph_ex(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    return gallocr_alloc_graph(__func__, galloc, graph);
}

bool ggml_gallocr_alloc_graph(ggml_gallocr_t galloc, struct ggml_cgraph * graph) {
    return gallocr_alloc_graph(__func__, galloc, graph) == GGALLOC_ALLOC_OK;
}

size_t ggml_gallocr_get_buffer_size(ggml_gallocr_t galloc, int buffer_id) {
    if (galloc == NULL || buffer_id < 0 || buffer_id >= galloc->n_buffers) {
        return 0;
    }
    struct gallocr_slot * sl = &galloc->slots[galloc->slot_of_buffer[buffer_id]];
    if (sl->first_buffer_id != buffer_id) {
        return 0; // counted once, at the first buffer id of its type
    }
    size_t size = 0;
    for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
        size += ggml_backend_buffer_get_size(sl->chunks[c]);
    }
    return size;
}

//
// The plan as data
//

size_t ggalloc_gallocr_lower_bound(ggml_gallocr_t galloc, int buffer_id) {
    if (galloc == NULL || buffer_id < 0 || buffer_id >= galloc->n_buffers || !galloc->have_plan) {
        return 0;
    }
    int s = galloc->slot_of_buffer[buffer_id];
    struct gallocr_slot * sl = &galloc->slots[s];
    if (sl->first_buffer_id != buffer_id) {
        return 0;
    }
    if (!sl->lower_bound_known) {
        struct gga_slot_blocks * sb = &galloc->lt.slots[s];
        sl->lower_bound = gga_lower_bound(sb->blocks, sb->n, ggml_backend_buft_get_alignment(sl->buft));
        sl->lower_bound_known = true;
    }
    return sl->lower_bound;
}

int ggalloc_gallocr_n_placements(ggml_gallocr_t galloc) {
    return galloc ? galloc->n_placements : 0;
}

bool ggalloc_gallocr_get_placement(ggml_gallocr_t galloc, int i, struct ggalloc_placement * out) {
    if (galloc == NULL || out == NULL || i < 0 || i >= galloc->n_placements) {
        return false;
    }
    int s = galloc->n_slots - 1;
    while (galloc->slots[s].first_placement > i) s--;
    const struct gallocr_slot * sl = &galloc->slots[s];
    const struct gga_slot_blocks * sb = &galloc->lt.slots[s];
    const int b = i - sl->first_placement;
    out->tensor = sb->tensor[b];
    out->buffer_id = sb->buffer_id[b];
    out->chunk = sl->chunk[b];
    out->offset = sl->offset[b];
    out->size = gga_align_up(sb->blocks[b].size, ggml_backend_buft_get_alignment(sl->buft));
    out->first = sb->first[b];
    out->last = sb->last[b];
    return true;
}

size_t ggalloc_graph_peak_bytes(struct ggml_cgraph * graph, size_t alignment) {
    if (graph == NULL) {
        GGML_LOG_ERROR("%s: graph is NULL\n", __func__);
        return 0;
    }
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        GGML_LOG_ERROR("%s: alignment %zu is not a power of two\n", __func__, alignment);
        return 0;
    }
    int slot = 0;
    struct gga_walk_params wp = {
        .n_buffers      = 1,
        .slot_of_buffer = &slot,
        .n_slots        = 1,
    };
    struct gga_lifetimes lt = { 0 };
    if (!gga_lifetimes_build(graph, &wp, &lt)) {
        return 0;
    }
    size_t peak = gga_lower_bound(lt.slots[0].blocks, lt.slots[0].n, alignment);
    gga_lifetimes_release(&lt);
    return peak;
}
