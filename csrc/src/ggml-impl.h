#pragma once

// Internals of the tensor and graph core (ggml.c, types.c, ops.c, graph.c). Nothing outside the
// core includes this file: other modules see tensors and graphs through ggml.h and ggalloc.h.

#include "ggml.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//
// Contexts: one arena, a singly linked list of objects laid out back to back.
//
// [object header][payload (tensor struct, then its data)] [object header][payload] ...
//
// Each header is GGML_OBJECT_SIZE bytes and each payload is padded to GGML_MEM_ALIGN, so every
// payload (and the data that follows a tensor struct) starts aligned when the arena does.
//

enum ggml_object_type {
    GGML_OBJECT_TYPE_TENSOR,
    GGML_OBJECT_TYPE_GRAPH,
    GGML_OBJECT_TYPE_WORK_BUFFER,
};

struct ggml_object {
    size_t offs; // payload offset from the start of the arena
    size_t size; // payload bytes (padded)
    struct ggml_object * next;
    enum ggml_object_type type;
    char padding[4];
};

#define GGML_OBJECT_SIZE sizeof(struct ggml_object)

struct ggml_context {
    size_t mem_size;
    void * mem_buffer;
    bool   mem_buffer_owned;
    bool   no_alloc;
    size_t mem_start; // first usable offset (a caller's unaligned buffer starts later)

    int n_objects;
    struct ggml_object * objects_begin;
    struct ggml_object * objects_end;
};

//
// Graphs: node and leaf arrays plus an open-addressing hash set of visited tensors, all in one
// object of the context.
//

struct ggalloc_hash_set {
    size_t size;                 // slots (a prime >= 2 * graph size + 2)
    size_t n_used;               // occupied slots
    struct ggml_tensor ** keys;  // NULL marks an empty slot
};

struct ggml_cgraph {
    int size;    // capacity of nodes and of leafs
    int n_nodes;
    int n_leafs;

    struct ggml_tensor ** nodes;
    struct ggml_tensor ** leafs;
    struct ggml_tensor ** grads;     // NULL unless the graph was made with grads
    struct ggml_tensor ** grad_accs; // NULL unless the graph was made with grads

    struct ggalloc_hash_set visited_hash_set;
};

// The graph accessors of ggalloc.h, declared again (identically) so that graph.c defines them
// exported without including ggalloc.h, which would pull the allocator and backend headers into
// the core.
GGML_API int                  ggalloc_graph_n_leafs(struct ggml_cgraph * graph);
GGML_API struct ggml_tensor * ggalloc_graph_leaf(struct ggml_cgraph * graph, int i);
GGML_API void                 ggalloc_graph_add_leaf(struct ggml_cgraph * graph, struct ggml_tensor * tensor);

//
// Shared helpers of the core
//

// The tensor's name (or "(unnamed)"), type and shape, e.g. "'x' f32 [4, 3, 1, 1]", into buf.
const char * ggalloc_tensor_desc(const struct ggml_tensor * t, char * buf, size_t size);

// Creates a tensor in ctx; view_src/view_offs make it a view (the root and absolute offset are
// found here). NULL and a log line on any bad input; fn names the caller in the message.
struct ggml_tensor * ggalloc_new_tensor_impl(struct ggml_context * ctx, enum ggml_type type, int n_dims,
        const int64_t * ne, struct ggml_tensor * view_src, size_t view_offs, const char * fn);

// Allocates an object of `size` payload bytes in ctx. NULL if the arena is full, with the bytes
// needed (header and padding included) and the bytes left in *needed and *avail for the caller's
// message.
struct ggml_object * ggalloc_new_object(struct ggml_context * ctx, enum ggml_object_type type, size_t size,
        size_t * needed, size_t * avail);

// The highest byte offset (exclusive) a tensor with these extents and strides reaches, or
// SIZE_MAX on overflow; 0 if an extent is 0.
size_t ggalloc_extent(enum ggml_type type, const int64_t * ne, const size_t * nb);

static inline bool ggalloc_type_valid(enum ggml_type type) {
    return (int) type >= 0 && (int) type < GGML_TYPE_COUNT && ggml_blck_size(type) > 0;
}

#ifdef __cplusplus
}
#endif
