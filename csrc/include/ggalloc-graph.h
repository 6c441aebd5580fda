#pragma once

//
// ggalloc-graph.h — graphs beyond ggml's: leafs, the external flag, reordering for a
// lower peak, and graph files (docs/graph-format.md).
//
// Example:
//
//   struct ggml_context * ctx = NULL;
//   struct ggml_cgraph * g = ggalloc_graph_load_json("gpt2.json", &ctx);   // NULL: the log says why
//   ggalloc_graph_reorder(g);                                             // a lower peak, same results
//   ggalloc_graph_save_json(g, "gpt2-reordered.json", "gpt2");
//   ggml_free(ctx);
//

#include "ggml.h"
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// A tensor flag (besides ggml's): the tensor's memory is provided outside the graph allocator
// (weights, a KV cache) even though its data is not set here, as in a graph read from a file.
// The allocator leaves it alone, like a tensor whose data is set; compute refuses it.
#define GGALLOC_TENSOR_FLAG_EXTERNAL 256

// Buffer ids in a graph document (node_buffer_ids / leaf_buffer_ids) are below this: each id
// names a buffer of its own, and a document must not be able to ask for billions of them.
#define GGALLOC_GRAPH_MAX_BUFFERS 256

GGML_API int                  ggalloc_graph_n_leafs(struct ggml_cgraph * graph);
GGML_API struct ggml_tensor * ggalloc_graph_leaf(struct ggml_cgraph * graph, int i); // NULL if out of range
// Appends a leaf as is; logs and does nothing if the graph is full.
GGML_API void                 ggalloc_graph_add_leaf(struct ggml_cgraph * graph, struct ggml_tensor * tensor);

// Reorders the graph's nodes, respecting dependencies, to lower the peak of live bytes.
// Returns false (and logs) on a NULL graph or out of memory; the graph is then unchanged.
GGML_API bool ggalloc_graph_reorder(struct ggml_cgraph * graph);
// The peak of live bytes of the graph in its current node order, as ggalloc_gallocr_lower_bound
// computes it, with every tensor rounded up to alignment.
GGML_API size_t ggalloc_graph_peak_bytes(struct ggml_cgraph * graph, size_t alignment);

// Reads a ggalloc.graph/1 document into a new no_alloc context (returned in *ctx and freed by
// the caller with ggml_free). Tensors marked external count as already allocated but get no
// memory. NULL, *ctx untouched, and a log line naming the tensor and field on any bad document.
GGML_API struct ggml_cgraph * ggalloc_graph_load_json(const char * path, struct ggml_context ** ctx);
// The same from a string of len bytes.
GGML_API struct ggml_cgraph * ggalloc_graph_load_json_string(const char * text, size_t len, struct ggml_context ** ctx);
// Writes the graph as a ggalloc.graph/1 document: the tensors reachable from its nodes and
// leafs, numbered leafs first, then nodes, then the rest; external: marked so, or memory that is
// not from a compute buffer. false (and a log line) if the file cannot be written or the graph
// lists a tensor twice.
GGML_API bool ggalloc_graph_save_json(const struct ggml_cgraph * graph, const char * path, const char * name);
// Like the two loaders above, also giving what a document carries beyond ggml's tensors:
// - node_buffer_ids / leaf_buffer_ids, the buffer of each node and leaf as ggml_gallocr_reserve_n
//   takes them: arrays of ggml_graph_n_nodes resp. ggalloc_graph_n_leafs ints, or NULL where the
//   document has null or no such field;
// - ndims, the numpy rank of each tensor of *ctx, in the context's order (ggml records four
//   extents, not how many axes a shape had): -1 where the document gives none.
// Each array is allocated with malloc and owned by the caller (free()). Any of the three pointers
// may be NULL to ignore that list; all are set to NULL when loading fails.
GGML_API struct ggml_cgraph * ggalloc_graph_load_json_ex(const char * path, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims);
GGML_API struct ggml_cgraph * ggalloc_graph_load_json_string_ex(const char * text, size_t len, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims);
// Writes the buffer id lists too (NULL: written as null; arrays of n_nodes resp. n_leafs ints),
// and the rank ndims[i] of each tensor ranked[i] of the graph (n_ranked of them; 0 for none).
// false (and a log line) on a rank outside 0..4 or a NULL tensor, besides the save's own errors.
GGML_API bool ggalloc_graph_save_json_ex(const struct ggml_cgraph * graph, const char * path, const char * name,
        const int * node_buffer_ids, const int * leaf_buffer_ids,
        const struct ggml_tensor * const * ranked, const int * ndims, int n_ranked);

#ifdef __cplusplus
}
#endif
