#pragma once

//
// ggalloc.h — what ggalloc adds to ggml's API, one header per subject, all included here:
//   ggalloc-planner.h  the planners, and the planner on bare lifetimes
//   ggalloc-alloc.h    the graph allocator's plan as data, the lower bound, the verifier
//   ggalloc-buffer.h   host buffer types with any device's limits; transfers with a status
//   ggalloc-graph.h    leafs, the external flag, reordering, graph files
//   ggalloc-cpu.h      which CPU kernels run
//   ggalloc-sched.h    the scheduler's planner and plans
//   ggalloc-gguf.h     mapped GGUF files
//   ggalloc-rpc.h      RPC servers and client timeouts
//
// Example:
//
//   struct ggml_context * ctx = NULL;
//   struct ggml_cgraph * g = ggalloc_graph_load_json("gpt2.json", &ctx);   // NULL: the log says why
//   ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
//   ggalloc_gallocr_set_planner(galloc, GGALLOC_PLANNER_BEST);            // the default
//   if (ggml_gallocr_reserve(galloc, g)) {
//       size_t size = ggml_gallocr_get_buffer_size(galloc, 0);
//       size_t lb   = ggalloc_gallocr_lower_bound(galloc, 0);            // size >= lb
//       for (int i = 0; i < ggalloc_gallocr_n_placements(galloc); i++) {
//           struct ggalloc_placement p;
//           ggalloc_gallocr_get_placement(galloc, i, &p);
//       }
//   }
//   ggml_gallocr_alloc_graph(galloc, g);
//   int violations = ggalloc_graph_verify(g);                            // 0: a valid plan
//   ggml_gallocr_free(galloc);
//   ggml_free(ctx);
//

#include "ggalloc-planner.h"
#include "ggalloc-alloc.h"
#include "ggalloc-buffer.h"
#include "ggalloc-graph.h"
#include "ggalloc-cpu.h"
#include "ggalloc-sched.h"
#include "ggalloc-gguf.h"
#include "ggalloc-rpc.h"
#include "ggalloc-ops.h"
