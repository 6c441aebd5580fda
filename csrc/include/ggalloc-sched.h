#pragma once

//
// ggalloc-sched.h — the backend scheduler's plans, as data.
//
// Example:
//
//   ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 2, GGML_DEFAULT_GRAPH_SIZE, false, true);
//   ggalloc_backend_sched_set_planner(sched, GGALLOC_PLANNER_GGML);   // before reserve / alloc_graph
//   ggalloc_backend_sched_set_time_budget(sched, 0.5);                // (BEST: search for smaller buffers)
//   ggml_backend_sched_alloc_graph(sched, graph);
//   ggml_gallocr_t galloc = ggalloc_backend_sched_get_gallocr(sched);
//   for (int i = 0; i < ggalloc_gallocr_n_placements(galloc); i++) { ... } // buffer_id = backend index
//   size_t lb = ggalloc_gallocr_lower_bound(galloc, 0);                    // of backend 0's buffer
//

#include "ggml-backend.h"
#include "ggalloc-planner.h"

#ifdef __cplusplus
extern "C" {
#endif



// Selects the planner of the scheduler's graph allocator (takes effect at the next plan).
GGML_API void ggalloc_backend_sched_set_planner(ggml_backend_sched_t sched, enum ggalloc_planner planner);
// ggalloc_gallocr_set_time_budget on the scheduler's graph allocator, whose next alloc_graph then
// plans again. False (and logs) for a NULL sched or a bad budget (see there).
GGML_API bool ggalloc_backend_sched_set_time_budget(ggml_backend_sched_t sched, double seconds);

// The scheduler's graph allocator: one buffer per backend, buffer id = the backend's index.
// Read its placements, buffer sizes and lower bounds with the ggalloc_gallocr_* calls; it is
// owned by the scheduler (do not free it). NULL if sched is NULL.
GGML_API ggml_gallocr_t ggalloc_backend_sched_get_gallocr(ggml_backend_sched_t sched);

// The graph the scheduler's allocator planned last: the graph's leafs and the input copies as
// leafs, and per split its input copies and nodes. Owned by the scheduler, valid until the next
// split; NULL if there is none. Its nodes are the caller's, which read the input copies only
// while the scheduler plans or computes: check it with ggalloc_backend_sched_verify.
GGML_API struct ggml_cgraph * ggalloc_backend_sched_get_graph(ggml_backend_sched_t sched);

// ggalloc_graph_verify of the allocated graph as the scheduler computes it (nodes reading the
// input copies): the number of pairs of tensors that share bytes while both are live, over
// every backend's buffer (0 = a valid plan); -1 (and a log line) if nothing is allocated.
GGML_API int ggalloc_backend_sched_verify(ggml_backend_sched_t sched);

// The index of the backend the last split assigned to t (-1 if none).
GGML_API int ggalloc_backend_sched_get_tensor_backend_id(ggml_backend_sched_t sched, struct ggml_tensor * t);

#ifdef __cplusplus
}
#endif
