#pragma once

//
// ggml-alloc.h — tensor and graph allocators, with ggml's names and semantics.
//
// Example:
//
//   ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type()); // NULL on failure
//   if (!ggml_gallocr_reserve(galloc, worst_case_graph)) { ... }   // plan and allocate the buffer once
//   for (;;) {
//       struct ggml_cgraph * gf = build_graph(...);
//       if (!ggml_gallocr_alloc_graph(galloc, gf)) { ... }        // re-uses the plan when it fits
//       ggml_backend_graph_compute(backend, gf);
//   }
//   ggml_gallocr_free(galloc);
//
// The graph allocator plans where every tensor of a graph lives (ggalloc.h chooses the planner
// and reads the plan back). Inputs get their own memory, outputs are never overwritten, and a
// tensor whose data is already set (weights) is left alone.
//

#include "ggml.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ggml_backend_buffer_type * ggml_backend_buffer_type_t;
typedef struct ggml_backend_buffer      * ggml_backend_buffer_t;
typedef struct ggml_backend             * ggml_backend_t;

// Tensor allocator: places tensors one after another in a buffer.
struct ggml_tallocr {
    ggml_backend_buffer_t buffer;
    void * base;
    size_t alignment;
    size_t offset;
};

// A tallocr over buffer (which must outlive it). buffer NULL gives one whose allocs fail.
GGML_API struct ggml_tallocr ggml_tallocr_new(ggml_backend_buffer_t buffer);
// GGML_STATUS_ALLOC_FAILED (and a log line naming the tensor, its size and what is left) when
// the buffer is full; the tensor is then left untouched. (ggml aborts here.)
GGML_API enum ggml_status    ggml_tallocr_alloc(struct ggml_tallocr * talloc, struct ggml_tensor * tensor);

// Graph allocator.
typedef struct ggml_gallocr * ggml_gallocr_t;

// NULL if out of memory. A buffer type given twice to _new_n shares one buffer.
GGML_API ggml_gallocr_t ggml_gallocr_new(ggml_backend_buffer_type_t buft);
GGML_API ggml_gallocr_t ggml_gallocr_new_n(ggml_backend_buffer_type_t * bufts, int n_bufs);
// Frees the allocator and its buffers. NULL: no-op.
GGML_API void           ggml_gallocr_free(ggml_gallocr_t galloc);

// Plans the graph and (re)allocates the buffers to fit it; tensors are not placed.
// Returns false (and logs the buffer type and size) if a buffer cannot be allocated; the
// allocator then holds no plan, and a later reserve may succeed.
// node_buffer_ids / leaf_buffer_ids: the buffer of each node / leaf (NULL: all in buffer 0).
GGML_API bool ggml_gallocr_reserve(ggml_gallocr_t galloc, struct ggml_cgraph * graph);
GGML_API bool ggml_gallocr_reserve_n(
    ggml_gallocr_t galloc,
    struct ggml_cgraph * graph,
    const int * node_buffer_ids,
    const int * leaf_buffer_ids);
// Plans the graph without allocating; sizes[i] receives the size buffer i would have
// (0 for a buffer type given twice). On bad input, logs and fills sizes with 0.
GGML_API void ggml_gallocr_reserve_n_size(
    ggml_gallocr_t galloc,
    struct ggml_cgraph * graph,
    const int * node_buffer_ids,
    const int * leaf_buffer_ids,
    size_t * sizes);

// Places the graph's tensors, re-using the reserved plan when the graph still fits it.
// Otherwise a single-buffer allocator re-plans by itself; a multi-buffer one returns false and
// the caller must reserve again. Returns false (and logs) if a buffer cannot be allocated; the
// graph's tensors are then left unallocated.
GGML_API bool ggml_gallocr_alloc_graph(ggml_gallocr_t galloc, struct ggml_cgraph * graph);

// Bytes of buffer buffer_id (0 for a buffer type given twice, and for an id out of range).
GGML_API size_t ggml_gallocr_get_buffer_size(ggml_gallocr_t galloc, int buffer_id);

// Places every tensor of ctx that has no data yet in new buffer(s) of buft, split at the
// buffer type's max size (several buffers are returned as one). NULL when nothing needs memory,
// or (with a log line) when the memory cannot be had.
GGML_API size_t                       ggml_backend_alloc_ctx_tensors_from_buft_size(struct ggml_context * ctx, ggml_backend_buffer_type_t buft);
GGML_API struct ggml_backend_buffer * ggml_backend_alloc_ctx_tensors_from_buft(struct ggml_context * ctx, ggml_backend_buffer_type_t buft);
GGML_API struct ggml_backend_buffer * ggml_backend_alloc_ctx_tensors(struct ggml_context * ctx, ggml_backend_t backend);

//
// The older allocator API, kept for programs written against it (wrappers over the above).
//

typedef struct ggml_allocr * ggml_allocr_t;

// NULL if out of memory. data must stay alive while the allocator is used.
GGML_API ggml_allocr_t ggml_allocr_new(void * data, size_t size, size_t alignment);
// A measure allocator plans without memory; ggml_allocr_alloc_graph then returns the size needed.
GGML_API ggml_allocr_t ggml_allocr_new_measure(size_t alignment);
GGML_API ggml_allocr_t ggml_allocr_new_from_buffer(struct ggml_backend_buffer * buffer);
GGML_API ggml_allocr_t ggml_allocr_new_from_backend(struct ggml_backend * backend, size_t size);
GGML_API ggml_allocr_t ggml_allocr_new_measure_from_backend(struct ggml_backend * backend);

GGML_API struct ggml_backend_buffer * ggml_allocr_get_buffer(ggml_allocr_t alloc);

// Visit the nodes in the order of list (node indices) instead of graph order, for graphs that
// run out of order. n = 0 restores graph order.
GGML_API void   ggml_allocr_set_parse_seq(ggml_allocr_t alloc, const int * list, int n);

GGML_API void   ggml_allocr_free       (ggml_allocr_t alloc); // NULL: no-op
GGML_API bool   ggml_allocr_is_measure (ggml_allocr_t alloc);
GGML_API void   ggml_allocr_reset      (ggml_allocr_t alloc);
// Places one tensor; logs and leaves it unallocated if the buffer is full.
GGML_API void   ggml_allocr_alloc      (ggml_allocr_t alloc, struct ggml_tensor * tensor);
GGML_API size_t ggml_allocr_max_size   (ggml_allocr_t alloc);
// Places every tensor of the graph; returns the bytes the graph needs (0 and a log line on failure).
GGML_API size_t ggml_allocr_alloc_graph(ggml_allocr_t alloc, struct ggml_cgraph * graph);

#ifdef __cplusplus
}
#endif
