#pragma once

// What the graph allocator (alloc.c) offers the modules built on it inside the library: the
// older ggml_allocr API (alloc-legacy.c) and the tests. Internal.

#include "ggml-alloc.h"

#include <stdbool.h>

// Plans graph in galloc (ggml_gallocr_reserve_n_size without the sizes): false, with a log line,
// when it cannot be planned.
bool gga_gallocr_plan(ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids,
        const int * leaf_buffer_ids);

// Whether alloc_graph would re-apply galloc's plan to graph (rather than plan again).
bool gga_gallocr_can_reuse(ggml_gallocr_t galloc, struct ggml_cgraph * graph);
