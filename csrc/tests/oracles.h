#pragma once

// Checks every allocated graph of the allocator tests must pass, written against the public API
// only (the allocator's own bookkeeping is what they check):
//   - ggalloc_graph_verify reports no two live tensors sharing bytes;
//   - every allocated tensor lies inside its buffer (its chunk), at an address aligned to the
//     buffer's alignment; every view points where its source says;
//   - every placement the allocator reports matches where the tensor is, is aligned, and fits
//     its chunk.
// Include after check.h.

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggalloc.h"

#include <stdint.h>

// A tensor of the graph: allocated, inside its buffer, aligned; a view where its source says.
static inline void oracle_tensor_placed(const struct ggml_tensor * t) {
    if (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
        return;
    }
    CHECK(t->data != NULL);
    CHECK(t->buffer != NULL);
    if (t->data == NULL || t->buffer == NULL) {
        fprintf(stderr, "  tensor %s is not allocated\n", t->name);
        return;
    }
    if (t->view_src != NULL) {
        CHECK(t->data == (char *) t->view_src->data + t->view_offs);
        return;
    }
    uintptr_t base = (uintptr_t) ggml_backend_buffer_get_base(t->buffer);
    uintptr_t data = (uintptr_t) t->data;
    size_t size = ggml_backend_buffer_get_size(t->buffer);
    size_t align = ggml_backend_buffer_get_alignment(t->buffer);
    CHECK(data >= base);
    CHECK(data - base + ggml_nbytes(t) <= size);
    CHECK(data % align == 0);
    if (!(data >= base && data - base + ggml_nbytes(t) <= size && data % align == 0)) {
        fprintf(stderr, "  tensor %s: offset %lld, %zu bytes, buffer of %zu, alignment %zu\n", t->name,
                (long long) (data - base), ggml_nbytes(t), size, align);
    }
}

static inline void oracle_graph_placed(struct ggml_cgraph * g) {
    for (int i = 0; i < ggalloc_graph_n_leafs(g); i++) {
        oracle_tensor_placed(ggalloc_graph_leaf(g, i));
    }
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * node = ggml_graph_node(g, i);
        oracle_tensor_placed(node);
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            if (node->src[j] != NULL) {
                oracle_tensor_placed(node->src[j]);
            }
        }
    }
}

// The plan the allocator reports agrees with where the tensors are.
static inline void oracle_placements(ggml_gallocr_t galloc) {
    int n = ggalloc_gallocr_n_placements(galloc);
    for (int i = 0; i < n; i++) {
        struct ggalloc_placement p;
        CHECK(ggalloc_gallocr_get_placement(galloc, i, &p));
        const struct ggml_tensor * t = p.tensor;
        CHECK(t != NULL);
        CHECK(p.chunk >= 0 && p.chunk < 16);
        CHECK(p.first <= p.last);
        CHECK(p.size >= ggml_nbytes(t));
        if (t->data == NULL || t->buffer == NULL) {
            continue; // not allocated (reserve only): nothing more to compare
        }
        size_t align = ggml_backend_buffer_get_alignment(t->buffer);
        uintptr_t base = (uintptr_t) ggml_backend_buffer_get_base(t->buffer);
        CHECK(p.offset % align == 0);
        CHECK((uintptr_t) t->data - base == p.offset);
        CHECK(p.offset + p.size <= ggml_backend_buffer_get_size(t->buffer));
    }
}

// Everything above for a graph the allocator has just allocated.
static inline void oracle_allocated(ggml_gallocr_t galloc, struct ggml_cgraph * g) {
    int violations = ggalloc_graph_verify(g);
    CHECK_EQ_INT(violations, 0);
    oracle_graph_placed(g);
    if (galloc != NULL) {
        oracle_placements(galloc);
    }
}
