#pragma once

//
// ggalloc.h — what ggalloc adds to ggml's API: planners, the plan as data, verification,
// graph JSON files, host buffer types with any device's limits, and graph reordering.
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

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggalloc-gguf.h"
#include "ggalloc-rpc.h"

#ifdef __cplusplus
extern "C" {
#endif

//
// Buffer types
//

// Host memory with the given alignment (a power of two) and max buffer size (SIZE_MAX: none),
// to plan for any device's limits on any machine. The same arguments give the same object,
// which lives as long as the process. NULL (and a log line) for an alignment that is not a
// power of two or a max_size of 0.
GGML_API ggml_backend_buffer_type_t ggalloc_host_buffer_type(size_t alignment, size_t max_size);

// A host buffer type of its own, distinct from every other (ggalloc_host_buffer_type interns):
// for planning several buffers of the same limits, one type per buffer (reserve_n). Owned by
// the caller and freed with ggalloc_host_buffer_type_free; buffers of it still alive then keep
// it alive until the last of them is freed. NULL (and a log line) on the same arguments
// ggalloc_host_buffer_type refuses, or out of memory. _free(NULL) is a no-op.
GGML_API ggml_backend_buffer_type_t ggalloc_host_buffer_type_new(size_t alignment, size_t max_size);
GGML_API void                       ggalloc_host_buffer_type_free(ggml_backend_buffer_type_t buft);

// A host buffer type whose allocations fail once more than `budget` bytes are outstanding
// (budget 0: every allocation fails), for testing failure paths. Owned by the caller and freed
// with ggalloc_failing_buffer_type_free; buffers of it still alive then keep it alive until the
// last of them is freed (so any freeing order is safe). NULL if out of memory.
GGML_API ggml_backend_buffer_type_t ggalloc_failing_buffer_type_new(size_t alignment, size_t max_size, size_t budget);
GGML_API void                       ggalloc_failing_buffer_type_free(ggml_backend_buffer_type_t buft);

//
// Planners
//

enum ggalloc_planner {
    GGALLOC_PLANNER_GGML, // ggml's online best-fit placement: the same buffer sizes as ggml
    GGALLOC_PLANNER_BEST, // offline: several strategies and a bounded search; the default
};

// Takes effect at the next reserve / alloc_graph. NULL galloc: no-op.
GGML_API void                 ggalloc_gallocr_set_planner(ggml_gallocr_t galloc, enum ggalloc_planner planner);
GGML_API enum ggalloc_planner ggalloc_gallocr_get_planner(ggml_gallocr_t galloc);

// Liveness lower bound of the last planned graph for that buffer: the most bytes live at any
// step, given the node order and the in-place decisions, each tensor rounded up to the
// alignment. 0 for an id out of range or before any plan.
GGML_API size_t ggalloc_gallocr_lower_bound(ggml_gallocr_t galloc, int buffer_id);

// Visits the nodes in this order (a permutation of 0..n_nodes-1 that respects dependencies)
// instead of graph order at the next reserve; NULL / n = 0 restores graph order. Returns false
// (and logs) if order is not a permutation. The order is checked against the graph at reserve.
GGML_API bool ggalloc_gallocr_set_node_order(ggml_gallocr_t galloc, const int * order, int n);

// The planner on bare lifetimes: n blocks, block i of sizes[i] bytes live over the half-open
// step range [starts[i], ends[i]). Writes offsets[i] (multiples of alignment, a power of two)
// and *peak, the bytes the plan needs. Blocks whose lifetimes overlap never share bytes.
// Returns false (and logs which block is wrong) for NULL arrays, n < 0, ends[i] <= starts[i],
// an alignment that is not a power of two, or sizes whose sum overflows.
GGML_API bool ggalloc_plan_intervals(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, size_t * offsets, size_t * peak);
// Its lower bound: the most bytes (each size rounded up to alignment) live at any step.
// 0 (and a log line) on the bad input listed above.
GGML_API size_t ggalloc_intervals_lower_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment);

//
// The plan as data
//

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

//
// Graphs
//

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
// Like the two loaders above, also giving the document's node_buffer_ids / leaf_buffer_ids (the
// buffer of each node and leaf, as ggml_gallocr_reserve_n takes them). Each is an array of
// ggml_graph_n_nodes resp. ggalloc_graph_n_leafs ints allocated with malloc and owned by the
// caller (free()), or NULL where the document has null or no such field. Either pointer may be
// NULL to ignore that list; both are set to NULL when loading fails.
GGML_API struct ggml_cgraph * ggalloc_graph_load_json_ex(const char * path, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids);
GGML_API struct ggml_cgraph * ggalloc_graph_load_json_string_ex(const char * text, size_t len, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids);
// Writes the buffer id lists too (NULL: written as null); arrays of n_nodes resp. n_leafs ints.
GGML_API bool ggalloc_graph_save_json_ex(const struct ggml_cgraph * graph, const char * path, const char * name,
        const int * node_buffer_ids, const int * leaf_buffer_ids);

//
// CPU kernels
//

enum ggalloc_cpu_isa {
    GGALLOC_CPU_ISA_AUTO,     // the best the CPU has
    GGALLOC_CPU_ISA_SCALAR,   // portable C
    GGALLOC_CPU_ISA_AVX2,     // AVX2 + FMA + F16C
    GGALLOC_CPU_ISA_AVX512,   // AVX-512F
    GGALLOC_CPU_ISA_NEON,     // Advanced SIMD, on arm64 (where every CPU has it)
};
// Forces a kernel set for every CPU backend (tests use it to reach each path). false (and a log
// line) if the CPU lacks it; the choice is then unchanged.
GGML_API bool                 ggalloc_cpu_set_isa(enum ggalloc_cpu_isa isa);
GGML_API enum ggalloc_cpu_isa ggalloc_cpu_get_isa(void); // the set in use, never AUTO

#ifdef __cplusplus
}
#endif

#include "ggalloc-planner.h"
#include "ggalloc-sched.h"
