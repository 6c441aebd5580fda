// The linear tensor allocator (ggml_tallocr_*) and the placement of a whole context's tensors in
// fresh buffers (ggml_backend_alloc_ctx_tensors*).
//
// ggml_tallocr places tensors one after another, each at the next offset aligned to the
// buffer's alignment; nothing is ever freed. A full buffer is an error value here (ggml aborts).
//
// ggml_backend_alloc_ctx_tensors_from_buft walks the context's tensors in creation order and
// cuts the run into buffers of at most the buffer type's max size (a tensor larger than the max
// gets a buffer of its own, and the backend decides whether it can have it), as ggml does.
// Several buffers are returned as one multi-buffer.

#include "align.h"
#include "backend-impl.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>

struct ggml_tallocr ggml_tallocr_new(ggml_backend_buffer_t buffer) {
    struct ggml_tallocr talloc = { buffer, NULL, 1, 0 };
    if (buffer == NULL) {
        return talloc;
    }
    talloc.base = ggml_backend_buffer_get_base(buffer);
    talloc.alignment = ggml_backend_buffer_get_alignment(buffer);
    // the first offset at which base + offset is aligned
    talloc.offset = gga_align_up((uintptr_t) talloc.base, talloc.alignment) - (uintptr_t) talloc.base;
    return talloc;
}

enum ggml_status ggml_tallocr_alloc(struct ggml_tallocr * talloc, struct ggml_tensor * tensor) {
    if (talloc == NULL || tensor == NULL) {
        GGML_LOG_ERROR("%s: allocator or tensor is NULL\n", __func__);
        return GGML_STATUS_FAILED;
    }
    const char * name = tensor->name[0] ? tensor->name : "(unnamed)";
    if (talloc->buffer == NULL) {
        GGML_LOG_ERROR("%s: no buffer to place tensor %s in\n", __func__, name);
        return GGML_STATUS_ALLOC_FAILED;
    }
    if (tensor->data != NULL || tensor->buffer != NULL || tensor->view_src != NULL) {
        GGML_LOG_ERROR("%s: tensor %s is already allocated or is a view\n", __func__, name);
        return GGML_STATUS_FAILED;
    }
    size_t size = gga_align_up(ggml_backend_buffer_get_alloc_size(talloc->buffer, tensor), talloc->alignment);
    size_t total = ggml_backend_buffer_get_size(talloc->buffer);
    size_t left = talloc->offset <= total ? total - talloc->offset : 0;
    if (size > left) {
        GGML_LOG_ERROR("%s: not enough space in the %s buffer for tensor %s: needed %zu bytes, %zu of %zu left\n",
                __func__, ggml_backend_buffer_name(talloc->buffer), name, size, left, total);
        return GGML_STATUS_ALLOC_FAILED;
    }
    void * addr = (char *) talloc->base + talloc->offset;
    enum ggml_status status = ggml_backend_tensor_alloc(talloc->buffer, tensor, addr);
    if (status == GGML_STATUS_SUCCESS) {
        talloc->offset += size;
    }
    return status;
}

static void free_buffers(ggml_backend_buffer_t * buffers, size_t n) {
    for (size_t i = 0; i < n; i++) {
        ggml_backend_buffer_free(buffers[i]);
    }
    free(buffers);
}

// Allocates one buffer of size bytes and places the tensors [first, last) of ctx in it.
static bool alloc_tensor_range(struct ggml_context * ctx, struct ggml_tensor * first, struct ggml_tensor * last,
        ggml_backend_buffer_type_t buft, size_t size, ggml_backend_buffer_t ** buffers, size_t * n_buffers) {
    ggml_backend_buffer_t buffer = ggml_backend_buft_alloc_buffer(buft, size);
    if (buffer == NULL) {
        GGML_LOG_ERROR("%s: failed to allocate %s buffer of size %zu\n", __func__, ggml_backend_buft_name(buft), size);
        return false;
    }
    ggml_backend_buffer_t * grown = realloc(*buffers, sizeof(*grown) * (*n_buffers + 1));
    if (grown == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        ggml_backend_buffer_free(buffer);
        return false;
    }
    *buffers = grown;
    (*buffers)[(*n_buffers)++] = buffer;

    struct ggml_tallocr talloc = ggml_tallocr_new(buffer);
    for (struct ggml_tensor * t = first; t != last; t = ggml_get_next_tensor(ctx, t)) {
        enum ggml_status status = GGML_STATUS_SUCCESS;
        if (t->data == NULL) {
            if (t->view_src == NULL) {
                status = ggml_tallocr_alloc(&talloc, t);
            } else if (t->buffer == NULL) {
                status = ggml_backend_view_init(t);
            }
        } else if (t->view_src != NULL && t->buffer == NULL) {
            status = ggml_backend_view_init(t); // a view of a tensor allocated earlier
        }
        if (status != GGML_STATUS_SUCCESS) {
            GGML_LOG_ERROR("%s: failed to initialize tensor %s\n", __func__, t->name);
            return false;
        }
    }
    return true;
}

// Forgets the placement of every tensor of ctx in one of the buffers (they are about to be freed).
static void unplace_ctx(struct ggml_context * ctx, ggml_backend_buffer_t * buffers, size_t n) {
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
        for (size_t i = 0; i < n; i++) {
            if (t->buffer == buffers[i]) {
                t->buffer = NULL;
                t->data = NULL;
                break;
            }
        }
    }
}

static ggml_backend_buffer_t alloc_ctx_tensors_impl(struct ggml_context * ctx, ggml_backend_buffer_type_t buft,
        size_t * nbytes_total, bool no_alloc) {
    *nbytes_total = 0;
    if (ctx == NULL || buft == NULL) {
        GGML_LOG_ERROR("%s: context or buffer type is NULL\n", "ggml_backend_alloc_ctx_tensors_from_buft");
        return NULL;
    }
    size_t alignment = ggml_backend_buft_get_alignment(buft);
    size_t max_size = ggml_backend_buft_get_max_size(buft);

    ggml_backend_buffer_t * buffers = NULL;
    size_t n_buffers = 0;
    size_t cur = 0;
    bool ok = true;
    struct ggml_tensor * first = ggml_get_first_tensor(ctx);
    for (struct ggml_tensor * t = first; t != NULL && ok; t = ggml_get_next_tensor(ctx, t)) {
        size_t this_size = 0;
        if (t->data == NULL && t->view_src == NULL) {
            this_size = gga_align_up(ggml_backend_buft_get_alloc_size(buft, t), alignment);
        }
        if (cur > 0 && (cur + this_size > max_size || cur + this_size < cur)) {
            if (!no_alloc) {
                ok = alloc_tensor_range(ctx, first, t, buft, cur, &buffers, &n_buffers);
            }
            first = t;
            *nbytes_total += cur;
            cur = this_size;
        } else {
            cur += this_size;
        }
    }
    if (ok && cur > 0) {
        *nbytes_total += cur;
        if (!no_alloc) {
            ok = alloc_tensor_range(ctx, first, NULL, buft, cur, &buffers, &n_buffers);
        }
    }
    if (!ok) {
        unplace_ctx(ctx, buffers, n_buffers);
        free_buffers(buffers, n_buffers);
        return NULL;
    }
    if (n_buffers == 0) {
        free(buffers);
        return NULL;
    }
    ggml_backend_buffer_t buffer = n_buffers == 1 ? buffers[0] : ggml_backend_multi_buffer_alloc_buffer(buffers, n_buffers);
    free(buffers);
    return buffer;
}

size_t ggml_backend_alloc_ctx_tensors_from_buft_size(struct ggml_context * ctx, ggml_backend_buffer_type_t buft) {
    size_t total = 0;
    alloc_ctx_tensors_impl(ctx, buft, &total, true);
    return total;
}

ggml_backend_buffer_t ggml_backend_alloc_ctx_tensors_from_buft(struct ggml_context * ctx, ggml_backend_buffer_type_t buft) {
    size_t total = 0;
    return alloc_ctx_tensors_impl(ctx, buft, &total, false);
}

ggml_backend_buffer_t ggml_backend_alloc_ctx_tensors(struct ggml_context * ctx, ggml_backend_t backend) {
    if (backend == NULL) {
        GGML_LOG_ERROR("%s: backend is NULL\n", __func__);
        return NULL;
    }
    return ggml_backend_alloc_ctx_tensors_from_buft(ctx, ggml_backend_get_default_buffer_type(backend));
}
