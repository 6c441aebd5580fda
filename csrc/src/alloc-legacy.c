// The older allocator API of ggml-alloc.h (ggml_allocr_*), kept for programs written against it,
// as a thin layer over the graph allocator.
//
// An allocr owns a region: a buffer (the caller's memory, a backend's buffer) or, for a measure
// allocr, nothing at all. Single tensors (ggml_allocr_alloc) are placed one after another from
// the start of the region. A graph (ggml_allocr_alloc_graph) is planned by a graph allocator over
// the region's buffer type without memory of its own, and its plan
// is laid out after the single tensors: chunk after chunk, each at an aligned offset. A measure
// allocr only adds up what the region would need. A parse sequence becomes the graph allocator's
// node order (ggalloc_gallocr_set_node_order); its -1 entries, which once marked points where
// frees were applied, carry no order and are skipped.

#include "align.h"
#include "alloc-impl.h"
#include "buffer-host.h"
#include "log.h"
#include "planner.h"
#include "ggalloc-alloc.h"
#include "ggalloc-buffer.h"
#include "ggalloc-graph.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ggml_allocr {
    ggml_gallocr_t             galloc;
    ggml_backend_buffer_type_t buft;
    ggml_backend_buffer_t      buffer;       // NULL for a measure allocr
    bool                       owns_buffer;
    bool                       measure;
    size_t                     alignment;
    size_t                     start;        // first aligned offset of the region
    size_t                     offset;       // end of the single tensors placed so far
    size_t                     max_size;     // most bytes ever needed
    int                      * parse_seq;
    int                        n_parse_seq;
};

static ggml_allocr_t allocr_new(ggml_backend_buffer_type_t buft, ggml_backend_buffer_t buffer, bool owns, bool measure) {
    ggml_allocr_t alloc = calloc(1, sizeof(*alloc));
    if (alloc == NULL || buft == NULL || (alloc->galloc = ggml_gallocr_new(buft)) == NULL) {
        GGML_LOG_ERROR("%s: cannot create an allocator (out of memory or no buffer type)\n", "ggml_allocr_new");
        if (owns) ggml_backend_buffer_free(buffer);
        free(alloc);
        return NULL;
    }
    alloc->buft = buft;
    alloc->buffer = buffer;
    alloc->owns_buffer = owns;
    alloc->measure = measure;
    alloc->alignment = ggml_backend_buft_get_alignment(buft);
    if (buffer != NULL) {
        uintptr_t base = (uintptr_t) ggml_backend_buffer_get_base(buffer);
        alloc->start = gga_align_up(base, alloc->alignment) - base;
    }
    alloc->offset = alloc->start;
    return alloc;
}

ggml_allocr_t ggml_allocr_new(void * data, size_t size, size_t alignment) {
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(alignment, SIZE_MAX);
    if (buft == NULL) {
        return NULL;
    }
    ggml_backend_buffer_t buffer = ggalloc_host_buffer_from_ptr(buft, data, size);
    if (buffer == NULL) {
        return NULL;
    }
    return allocr_new(buft, buffer, true, false);
}

ggml_allocr_t ggml_allocr_new_measure(size_t alignment) {
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(alignment, SIZE_MAX);
    return buft ? allocr_new(buft, NULL, false, true) : NULL;
}

ggml_allocr_t ggml_allocr_new_from_buffer(struct ggml_backend_buffer * buffer) {
    if (buffer == NULL) {
        GGML_LOG_ERROR("%s: buffer is NULL\n", __func__);
        return NULL;
    }
    return allocr_new(ggml_backend_buffer_get_type(buffer), buffer, false, false);
}

ggml_allocr_t ggml_allocr_new_from_backend(struct ggml_backend * backend, size_t size) {
    ggml_backend_buffer_t buffer = ggml_backend_alloc_buffer(backend, size);
    if (buffer == NULL) {
        return NULL;
    }
    return allocr_new(ggml_backend_buffer_get_type(buffer), buffer, true, false);
}

ggml_allocr_t ggml_allocr_new_measure_from_backend(struct ggml_backend * backend) {
    ggml_backend_buffer_type_t buft = ggml_backend_get_default_buffer_type(backend);
    return buft ? allocr_new(buft, NULL, false, true) : NULL;
}

struct ggml_backend_buffer * ggml_allocr_get_buffer(ggml_allocr_t alloc) {
    return alloc ? alloc->buffer : NULL;
}

void ggml_allocr_set_parse_seq(ggml_allocr_t alloc, const int * list, int n) {
    if (alloc == NULL) {
        return;
    }
    free(alloc->parse_seq);
    alloc->parse_seq = NULL;
    alloc->n_parse_seq = 0;
    if (list == NULL || n <= 0) {
        return;
    }
    alloc->parse_seq = malloc(sizeof(int) * n);
    if (alloc->parse_seq == NULL) {
        GGML_LOG_ERROR("%s: out of memory for a sequence of %d entries\n", __func__, n);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (list[i] >= 0) {
            alloc->parse_seq[alloc->n_parse_seq++] = list[i];
        }
    }
}

void ggml_allocr_free(ggml_allocr_t alloc) {
    if (alloc == NULL) {
        return;
    }
    ggml_gallocr_free(alloc->galloc);
    if (alloc->owns_buffer) {
        ggml_backend_buffer_free(alloc->buffer);
    }
    free(alloc->parse_seq);
    free(alloc);
}

bool ggml_allocr_is_measure(ggml_allocr_t alloc) {
    return alloc != NULL && alloc->measure;
}

void ggml_allocr_reset(ggml_allocr_t alloc) {
    if (alloc != NULL) {
        alloc->offset = alloc->start;
    }
}

static void allocr_note(ggml_allocr_t alloc, size_t end) {
    size_t used = end - alloc->start;
    if (used > alloc->max_size) {
        alloc->max_size = used;
    }
}

void ggml_allocr_alloc(ggml_allocr_t alloc, struct ggml_tensor * tensor) {
    if (alloc == NULL || tensor == NULL) {
        GGML_LOG_ERROR("%s: allocator or tensor is NULL\n", __func__);
        return;
    }
    if (tensor->view_src != NULL) {
        if (!alloc->measure && tensor->buffer == NULL && tensor->view_src->buffer != NULL) {
            ggml_backend_view_init(tensor);
        }
        return;
    }
    if (tensor->data != NULL) {
        return;
    }
    size_t size = gga_align_up(ggml_backend_buft_get_alloc_size(alloc->buft, tensor), alloc->alignment);
    if (!alloc->measure) {
        size_t total = ggml_backend_buffer_get_size(alloc->buffer);
        size_t left = alloc->offset <= total ? total - alloc->offset : 0;
        if (size > left) {
            GGML_LOG_ERROR("%s: not enough space in the buffer for tensor %s: needed %zu bytes, %zu of %zu left\n",
                    __func__, tensor->name, size, left, total);
            return;
        }
        char * base = ggml_backend_buffer_get_base(alloc->buffer);
        if (ggml_backend_tensor_alloc(alloc->buffer, tensor, base + alloc->offset) != GGML_STATUS_SUCCESS) {
            return;
        }
    }
    alloc->offset += size;
    allocr_note(alloc, alloc->offset);
}

size_t ggml_allocr_max_size(ggml_allocr_t alloc) {
    return alloc ? alloc->max_size : 0;
}

static void allocr_init_view(struct ggml_tensor * t) {
    if (t != NULL && t->view_src != NULL && t->buffer == NULL && t->view_src->buffer != NULL) {
        ggml_backend_view_init(t);
    }
}

size_t ggml_allocr_alloc_graph(ggml_allocr_t alloc, struct ggml_cgraph * graph) {
    if (alloc == NULL || graph == NULL) {
        GGML_LOG_ERROR("%s: allocator or graph is NULL\n", __func__);
        return 0;
    }
    int n_nodes = ggml_graph_n_nodes(graph);
    if (alloc->n_parse_seq > 0 && alloc->n_parse_seq != n_nodes) {
        GGML_LOG_ERROR("%s: the parse sequence has %d nodes, the graph %d\n", __func__, alloc->n_parse_seq, n_nodes);
        return 0;
    }
    if (!ggalloc_gallocr_set_node_order(alloc->galloc, alloc->parse_seq, alloc->n_parse_seq)) {
        return 0;
    }
    if (!gga_gallocr_plan(alloc->galloc, graph, NULL, NULL)) {
        return 0; // the planner said why
    }
    int n = ggalloc_gallocr_n_placements(alloc->galloc);

    // where each chunk of the plan starts in the region
    size_t chunk_end[GGALLOC_MAX_CHUNKS] = { 0 };
    for (int i = 0; i < n; i++) {
        struct ggalloc_placement p;
        ggalloc_gallocr_get_placement(alloc->galloc, i, &p);
        if (p.offset + p.size > chunk_end[p.chunk]) {
            chunk_end[p.chunk] = p.offset + p.size;
        }
    }
    size_t chunk_start[GGALLOC_MAX_CHUNKS];
    size_t end = gga_align_up(alloc->offset, alloc->alignment);
    for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
        chunk_start[c] = end;
        end = gga_align_up(end + chunk_end[c], alloc->alignment);
    }
    allocr_note(alloc, end);

    if (!alloc->measure) {
        size_t total = ggml_backend_buffer_get_size(alloc->buffer);
        if (end > total) {
            GGML_LOG_ERROR("%s: the graph needs %zu bytes after %zu in use, but the buffer has %zu\n", __func__,
                    end - gga_align_up(alloc->offset, alloc->alignment), alloc->offset - alloc->start, total);
            return 0;
        }
        char * base = ggml_backend_buffer_get_base(alloc->buffer);
        for (int i = 0; i < n; i++) {
            struct ggalloc_placement p;
            ggalloc_gallocr_get_placement(alloc->galloc, i, &p);
            struct ggml_tensor * t = (struct ggml_tensor *) p.tensor;
            if (ggml_backend_tensor_alloc(alloc->buffer, t, base + chunk_start[p.chunk] + p.offset) != GGML_STATUS_SUCCESS) {
                return 0;
            }
        }
        for (int i = 0; i < ggalloc_graph_n_leafs(graph); i++) {
            allocr_init_view(ggalloc_graph_leaf(graph, i));
        }
        for (int i = 0; i < n_nodes; i++) {
            struct ggml_tensor * node = ggml_graph_node(graph, i);
            for (int j = 0; j < GGML_MAX_SRC; j++) {
                allocr_init_view(node->src[j]);
            }
            allocr_init_view(node);
        }
    }
    return end - alloc->start;
}
