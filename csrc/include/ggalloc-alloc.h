#pragma once

//
// ggalloc-alloc.h — the graph allocator's plan as data: which planner, the lower bound,
// the node order, every placement, the allocation outcome, and an independent verifier.
//
// Example:
//
//   ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
//   ggalloc_gallocr_set_planner(galloc, GGALLOC_PLANNER_BEST);            // the default
//   ggalloc_gallocr_set_time_budget(galloc, 0.5);                        // search for smaller buffers
//   if (ggalloc_gallocr_alloc_graph_ex(galloc, g) == GGALLOC_ALLOC_OK) {
//       size_t lb = ggalloc_gallocr_lower_bound(galloc, 0);              // <= the buffer's size
//       struct ggalloc_placement p;
//       ggalloc_gallocr_get_placement(galloc, 0, &p);
//       int violations = ggalloc_graph_verify(g);                        // 0: a valid plan
//   }
//

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggalloc-planner.h"
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Takes effect at the next reserve / alloc_graph. NULL galloc: no-op.
GGML_API void                 ggalloc_gallocr_set_planner(ggml_gallocr_t galloc, enum ggalloc_planner planner);
GGML_API enum ggalloc_planner ggalloc_gallocr_get_planner(ggml_gallocr_t galloc);

// Seconds the BEST planner may search for a smaller plan of each buffer whose first greedy pass
// is above its lower bound, as ggalloc_plan_intervals_ex does on bare lifetimes: several orders,
// then a bounded search and an exact one up to about a thousand tensors, or local improvement of
// time windows around the peak for more. The budget starts after that first pass, which always
// completes: a budget never makes a buffer larger. It stops at once on meeting the bound, so a
// graph planned at its bound costs no more. 0 (the default): the first pass alone, a reserve as
// fast as ggml's. Takes effect at the next plan (reserve, or an alloc_graph that must plan again); the
// same graph planned again keeps the plan it got. Returns false (and logs) for a NULL galloc or a
// budget that is negative, not a number or above 1e9 s; the budget is then unchanged.
GGML_API bool   ggalloc_gallocr_set_time_budget(ggml_gallocr_t galloc, double seconds);
// 0 for a NULL galloc.
GGML_API double ggalloc_gallocr_get_time_budget(ggml_gallocr_t galloc);

// Liveness lower bound of the last planned graph for that buffer: the most bytes live at any
// step, given the node order and the in-place decisions, each tensor rounded up to the
// alignment. 0 for an id out of range or before any plan.
GGML_API size_t ggalloc_gallocr_lower_bound(ggml_gallocr_t galloc, int buffer_id);

// Visits the nodes in this order (a permutation of 0..n_nodes-1 that respects dependencies)
// instead of graph order at the next reserve; NULL and n = 0 restore graph order. Returns false
// (and logs) if order is not a permutation of 0..n-1, or for n < 0 or one of NULL / 0 without
// the other. The order is checked against the graph at reserve.
GGML_API bool ggalloc_gallocr_set_node_order(ggml_gallocr_t galloc, const int * order, int n);

// ggml_gallocr_alloc_graph with its outcome told apart.
enum ggalloc_alloc_status {
    GGALLOC_ALLOC_OK,            // every tensor placed
    GGALLOC_ALLOC_NEEDS_RESERVE, // the graph does not fit the plan, and an allocator of several
                                 // buffers cannot plan again by itself: call ggml_gallocr_reserve_n
    GGALLOC_ALLOC_FAILED,        // memory could not be had (a buffer, a chunk over the limit)
    GGALLOC_ALLOC_BAD_INPUT,     // a NULL allocator or graph
};
// Places the graph as ggml_gallocr_alloc_graph does (which is this == GGALLOC_ALLOC_OK); on any
// failure the graph is left unallocated and the log says why.
GGML_API enum ggalloc_alloc_status ggalloc_gallocr_alloc_graph_ex(ggml_gallocr_t galloc, struct ggml_cgraph * graph);

struct ggalloc_placement {
    const struct ggml_tensor * tensor;
    int    buffer_id;
    int    chunk;       // which backend buffer of that buffer (a buffer over the max size is split)
    size_t offset;      // bytes from the start of the chunk
    size_t size;        // bytes reserved (rounded up to the alignment)
    int    first;       // first node step at which it is live (leafs and inputs: 0)
    int    last;        // last node step at which it is read (outputs: n_nodes - 1)
};

// Number of tensors placed by the last reserve / alloc_graph (views and external tensors are
// not placed). 0 before any plan or for NULL.
GGML_API int  ggalloc_gallocr_n_placements(ggml_gallocr_t galloc);
// false if i is out of range or out is NULL.
GGML_API bool ggalloc_gallocr_get_placement(ggml_gallocr_t galloc, int i, struct ggalloc_placement * out);

// After allocation: the number of pairs of tensors of the graph that share bytes while both are
// live, computed from the graph alone (sources, views, flags, data pointers), independently of
// any allocator's bookkeeping. 0 means a valid plan. -1 (and a log line) for a NULL graph or a
// node without data.
GGML_API int ggalloc_graph_verify(struct ggml_cgraph * graph);

#ifdef __cplusplus
}
#endif
