// The public functions of ggml-backend.h over the vtables of backend-impl.h: buffer types,
// buffers (and the multi-buffer that presents several as one), tensor transfers, backends,
// and devices. The registry of the backends built into the library is backend-reg.c.
//
// Tensor set/get/memset check the requested range against the tensor (offset + size must not
// pass ggml_nbytes) and against its buffer (the tensor's bytes must lie inside the buffer)
// before the backend sees it; a bad range is logged with the numbers and nothing is copied.

#include "backend-impl.h"
#include "ggalloc-buffer.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char * tensor_name(const struct ggml_tensor * t) {
    return t->name[0] ? t->name : "(unnamed)";
}

//
// Buffer types
//

const char * ggml_backend_buft_name(ggml_backend_buffer_type_t buft) {
    if (buft == NULL) {
        return "NULL";
    }
    return buft->iface.get_name(buft);
}

ggml_backend_buffer_t ggml_backend_buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    if (buft == NULL) {
        GGML_LOG_ERROR("%s: buffer type is NULL (size %zu)\n", __func__, size);
        return NULL;
    }
    ggml_backend_buffer_t buffer = buft->iface.alloc_buffer(buft, size);
    if (buffer == NULL) {
        GGML_LOG_ERROR("%s: failed to allocate a %s buffer of %zu bytes\n", __func__, ggml_backend_buft_name(buft), size);
    }
    return buffer;
}

size_t ggml_backend_buft_get_alignment(ggml_backend_buffer_type_t buft) {
    if (buft == NULL) {
        return 1;
    }
    return buft->iface.get_alignment(buft);
}

size_t ggml_backend_buft_get_max_size(ggml_backend_buffer_type_t buft) {
    if (buft == NULL || buft->iface.get_max_size == NULL) {
        return SIZE_MAX;
    }
    return buft->iface.get_max_size(buft);
}

size_t ggml_backend_buft_get_alloc_size(ggml_backend_buffer_type_t buft, const struct ggml_tensor * tensor) {
    if (tensor == NULL) {
        return 0;
    }
    if (buft == NULL || buft->iface.get_alloc_size == NULL) {
        return ggml_nbytes(tensor);
    }
    return buft->iface.get_alloc_size(buft, tensor);
}

bool ggml_backend_buft_is_host(ggml_backend_buffer_type_t buft) {
    if (buft == NULL || buft->iface.is_host == NULL) {
        return false;
    }
    return buft->iface.is_host(buft);
}

ggml_backend_dev_t ggml_backend_buft_get_device(ggml_backend_buffer_type_t buft) {
    if (buft == NULL) {
        return NULL;
    }
    if (buft->device == NULL && ggml_backend_buft_is_host(buft)) {
        // host memory belongs to the CPU device; host types are defined apart from it so that
        // planning needs no backend
        return ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    }
    return buft->device;
}

//
// Buffers
//

ggml_backend_buffer_t ggml_backend_buffer_init(ggml_backend_buffer_type_t buft, struct ggml_backend_buffer_i iface,
        void * context, size_t size) {
    ggml_backend_buffer_t buffer = malloc(sizeof(*buffer));
    if (buffer == NULL) {
        GGML_LOG_ERROR("%s: out of memory for a %s buffer object\n", __func__, ggml_backend_buft_name(buft));
        return NULL;
    }
    buffer->iface = iface;
    buffer->buft = buft;
    buffer->context = context;
    buffer->size = size;
    buffer->usage = GGML_BACKEND_BUFFER_USAGE_ANY;
    return buffer;
}

const char * ggml_backend_buffer_name(ggml_backend_buffer_t buffer) {
    if (buffer == NULL) {
        return "NULL";
    }
    return ggml_backend_buft_name(buffer->buft);
}

void ggml_backend_buffer_free(ggml_backend_buffer_t buffer) {
    if (buffer == NULL) {
        return;
    }
    if (buffer->iface.free_buffer != NULL) {
        buffer->iface.free_buffer(buffer);
    }
    free(buffer);
}

void * ggml_backend_buffer_get_base(ggml_backend_buffer_t buffer) {
    if (buffer == NULL || buffer->iface.get_base == NULL) {
        return NULL;
    }
    return buffer->iface.get_base(buffer);
}

size_t ggml_backend_buffer_get_size(ggml_backend_buffer_t buffer) {
    return buffer ? buffer->size : 0;
}

enum ggml_status ggml_backend_buffer_init_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor) {
    if (buffer == NULL || tensor == NULL) {
        GGML_LOG_ERROR("%s: buffer or tensor is NULL\n", __func__);
        return GGML_STATUS_FAILED;
    }
    if (buffer->iface.init_tensor != NULL) {
        return buffer->iface.init_tensor(buffer, tensor);
    }
    return GGML_STATUS_SUCCESS;
}

size_t ggml_backend_buffer_get_alignment(ggml_backend_buffer_t buffer) {
    return buffer ? ggml_backend_buft_get_alignment(buffer->buft) : 1;
}

size_t ggml_backend_buffer_get_max_size(ggml_backend_buffer_t buffer) {
    return buffer ? ggml_backend_buft_get_max_size(buffer->buft) : SIZE_MAX;
}

size_t ggml_backend_buffer_get_alloc_size(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor) {
    return ggml_backend_buft_get_alloc_size(buffer ? buffer->buft : NULL, tensor);
}

void ggml_backend_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
    if (buffer == NULL || buffer->size == 0 || buffer->iface.clear == NULL) {
        return;
    }
    if (buffer->iface.clear(buffer, value) != GGML_STATUS_SUCCESS) {
        GGML_LOG_ERROR("%s: failed to clear a %s buffer of %zu bytes\n", __func__, ggml_backend_buffer_name(buffer), buffer->size);
    }
}

bool ggml_backend_buffer_is_host(ggml_backend_buffer_t buffer) {
    return buffer ? ggml_backend_buft_is_host(buffer->buft) : false;
}

void ggml_backend_buffer_set_usage(ggml_backend_buffer_t buffer, enum ggml_backend_buffer_usage usage) {
    if (buffer == NULL) {
        return;
    }
    buffer->usage = usage;
    if (ggml_backend_buffer_is_multi_buffer(buffer)) {
        ggml_backend_multi_buffer_set_usage(buffer, usage);
    }
}

enum ggml_backend_buffer_usage ggml_backend_buffer_get_usage(ggml_backend_buffer_t buffer) {
    return buffer ? buffer->usage : GGML_BACKEND_BUFFER_USAGE_ANY;
}

ggml_backend_buffer_type_t ggml_backend_buffer_get_type(ggml_backend_buffer_t buffer) {
    return buffer ? buffer->buft : NULL;
}

void ggml_backend_buffer_reset(ggml_backend_buffer_t buffer) {
    if (buffer != NULL && buffer->iface.reset != NULL) {
        buffer->iface.reset(buffer);
    }
}

//
// Multi-buffer: several buffers presented as one, owned by it. Tensors point into the parts,
// never into the multi-buffer itself, so only freeing, clearing and usage reach through it.
//

struct multi_buffer_ctx {
    ggml_backend_buffer_t * buffers;
    size_t n_buffers;
};

static void multi_buffer_free(ggml_backend_buffer_t buffer) {
    struct multi_buffer_ctx * ctx = buffer->context;
    for (size_t i = 0; i < ctx->n_buffers; i++) {
        ggml_backend_buffer_free(ctx->buffers[i]);
    }
    free(ctx->buffers);
    free(ctx);
}

static void * multi_buffer_get_base(ggml_backend_buffer_t buffer) {
    struct multi_buffer_ctx * ctx = buffer->context;
    return ctx->n_buffers > 0 ? ggml_backend_buffer_get_base(ctx->buffers[0]) : NULL;
}

static enum ggml_status multi_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
    struct multi_buffer_ctx * ctx = buffer->context;
    for (size_t i = 0; i < ctx->n_buffers; i++) {
        ggml_backend_buffer_clear(ctx->buffers[i], value);
    }
    return GGML_STATUS_SUCCESS;
}

static void multi_buffer_reset(ggml_backend_buffer_t buffer) {
    struct multi_buffer_ctx * ctx = buffer->context;
    for (size_t i = 0; i < ctx->n_buffers; i++) {
        ggml_backend_buffer_reset(ctx->buffers[i]);
    }
}

static enum ggml_status multi_buffer_no_tensor_memset(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor,
        uint8_t value, size_t offset, size_t size) {
    GGML_LOG_ERROR("%s: tensor %s points into a multi-buffer, not into one of its parts\n", __func__, tensor_name(tensor));
    return GGML_STATUS_FAILED;
}

static enum ggml_status multi_buffer_no_tensor_set(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor,
        const void * data, size_t offset, size_t size) {
    GGML_LOG_ERROR("%s: tensor %s points into a multi-buffer, not into one of its parts\n", __func__, tensor_name(tensor));
    return GGML_STATUS_FAILED;
}

static enum ggml_status multi_buffer_no_tensor_get(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor,
        void * data, size_t offset, size_t size) {
    GGML_LOG_ERROR("%s: tensor %s points into a multi-buffer, not into one of its parts\n", __func__, tensor_name(tensor));
    return GGML_STATUS_FAILED;
}

static const struct ggml_backend_buffer_i multi_buffer_i = {
    .free_buffer   = multi_buffer_free,
    .get_base      = multi_buffer_get_base,
    .init_tensor   = NULL,
    .memset_tensor = multi_buffer_no_tensor_memset,
    .set_tensor    = multi_buffer_no_tensor_set,
    .get_tensor    = multi_buffer_no_tensor_get,
    .cpy_tensor    = NULL,
    .clear         = multi_buffer_clear,
    .reset         = multi_buffer_reset,
};

ggml_backend_buffer_t ggml_backend_multi_buffer_alloc_buffer(ggml_backend_buffer_t * buffers, size_t n_buffers) {
    struct multi_buffer_ctx * ctx = malloc(sizeof(*ctx));
    ggml_backend_buffer_t * parts = malloc(sizeof(*parts) * (n_buffers > 0 ? n_buffers : 1));
    ggml_backend_buffer_t buffer = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n_buffers; i++) {
        total += ggml_backend_buffer_get_size(buffers[i]);
    }
    if (ctx != NULL && parts != NULL) {
        memcpy(parts, buffers, sizeof(*parts) * n_buffers);
        ctx->buffers = parts;
        ctx->n_buffers = n_buffers;
        buffer = ggml_backend_buffer_init(n_buffers > 0 ? buffers[0]->buft : NULL, multi_buffer_i, ctx, total);
    }
    if (buffer == NULL) {
        GGML_LOG_ERROR("%s: out of memory for a multi-buffer of %zu buffers\n", __func__, n_buffers);
        for (size_t i = 0; i < n_buffers; i++) {
            ggml_backend_buffer_free(buffers[i]);
        }
        free(parts);
        free(ctx);
    }
    return buffer;
}

bool ggml_backend_buffer_is_multi_buffer(ggml_backend_buffer_t buffer) {
    return buffer != NULL && buffer->iface.free_buffer == multi_buffer_free;
}

void ggml_backend_multi_buffer_set_usage(ggml_backend_buffer_t buffer, enum ggml_backend_buffer_usage usage) {
    if (!ggml_backend_buffer_is_multi_buffer(buffer)) {
        return;
    }
    struct multi_buffer_ctx * ctx = buffer->context;
    for (size_t i = 0; i < ctx->n_buffers; i++) {
        ggml_backend_buffer_set_usage(ctx->buffers[i], usage);
    }
}

//
// Tensor transfers
//

// Whether [offset, offset + size) of tensor may be touched: the tensor is allocated, the range
// lies inside its bytes and its bytes inside its buffer. Logs what is wrong otherwise.
static bool tensor_range_ok(const char * fn, const struct ggml_tensor * tensor, size_t offset, size_t size) {
    if (tensor == NULL) {
        GGML_LOG_ERROR("%s: tensor is NULL\n", fn);
        return false;
    }
    ggml_backend_buffer_t buf = tensor->view_src ? tensor->view_src->buffer : tensor->buffer;
    if (buf == NULL || tensor->data == NULL) {
        GGML_LOG_ERROR("%s: tensor %s is not allocated (no buffer or data)\n", fn, tensor_name(tensor));
        return false;
    }
    size_t nbytes = ggml_nbytes(tensor);
    if (offset > nbytes || size > nbytes - offset) {
        GGML_LOG_ERROR("%s: range [%zu, %zu + %zu) is out of tensor %s of %zu bytes\n", fn, offset, offset, size,
                tensor_name(tensor), nbytes);
        return false;
    }
    char * base = ggml_backend_buffer_get_base(buf);
    size_t bsize = ggml_backend_buffer_get_size(buf);
    if (base != NULL) {
        uintptr_t b = (uintptr_t) base;
        uintptr_t d = (uintptr_t) tensor->data;
        if (d < b || d - b > bsize || nbytes > bsize - (d - b)) {
            GGML_LOG_ERROR("%s: tensor %s (%zu bytes at offset %lld) lies outside its %s buffer of %zu bytes\n", fn,
                    tensor_name(tensor), nbytes, (long long) (d - b), ggml_backend_buffer_name(buf), bsize);
            return false;
        }
    }
    return true;
}

static ggml_backend_buffer_t tensor_buffer(const struct ggml_tensor * tensor) {
    return tensor->view_src ? tensor->view_src->buffer : tensor->buffer;
}

static enum ggml_status tensor_set(const char * fn, struct ggml_tensor * tensor, const void * data, size_t offset,
        size_t size) {
    if (size == 0) {
        return GGML_STATUS_SUCCESS;
    }
    if (data == NULL) {
        GGML_LOG_ERROR("%s: data is NULL\n", fn);
        return GGML_STATUS_FAILED;
    }
    if (!tensor_range_ok(fn, tensor, offset, size)) {
        return GGML_STATUS_FAILED;
    }
    ggml_backend_buffer_t buf = tensor_buffer(tensor);
    return buf->iface.set_tensor(buf, tensor, data, offset, size);
}

static enum ggml_status tensor_get(const char * fn, const struct ggml_tensor * tensor, void * data, size_t offset,
        size_t size) {
    if (size == 0) {
        return GGML_STATUS_SUCCESS;
    }
    if (data == NULL) {
        GGML_LOG_ERROR("%s: data is NULL\n", fn);
        return GGML_STATUS_FAILED;
    }
    if (!tensor_range_ok(fn, tensor, offset, size)) {
        return GGML_STATUS_FAILED;
    }
    ggml_backend_buffer_t buf = tensor_buffer(tensor);
    return buf->iface.get_tensor(buf, tensor, data, offset, size);
}

static enum ggml_status tensor_memset(const char * fn, struct ggml_tensor * tensor, uint8_t value, size_t offset,
        size_t size) {
    if (size == 0) {
        return GGML_STATUS_SUCCESS;
    }
    if (!tensor_range_ok(fn, tensor, offset, size)) {
        return GGML_STATUS_FAILED;
    }
    ggml_backend_buffer_t buf = tensor_buffer(tensor);
    if (buf->iface.memset_tensor == NULL) {
        GGML_LOG_ERROR("%s: a %s buffer cannot memset tensor %s\n", fn, ggml_backend_buffer_name(buf), tensor_name(tensor));
        return GGML_STATUS_FAILED;
    }
    return buf->iface.memset_tensor(buf, tensor, value, offset, size);
}

enum ggml_status ggalloc_backend_tensor_set(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size) {
    return tensor_set(__func__, tensor, data, offset, size);
}

enum ggml_status ggalloc_backend_tensor_get(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size) {
    return tensor_get(__func__, tensor, data, offset, size);
}

enum ggml_status ggalloc_backend_tensor_memset(struct ggml_tensor * tensor, uint8_t value, size_t offset, size_t size) {
    return tensor_memset(__func__, tensor, value, offset, size);
}

void ggml_backend_tensor_set(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size) {
    (void) tensor_set(__func__, tensor, data, offset, size);
}

void ggml_backend_tensor_get(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size) {
    (void) tensor_get(__func__, tensor, data, offset, size);
}

void ggml_backend_tensor_memset(struct ggml_tensor * tensor, uint8_t value, size_t offset, size_t size) {
    (void) tensor_memset(__func__, tensor, value, offset, size);
}

// Whether a 2D transfer of n_copies blocks of size bytes, stride apart from offset, has sane
// numbers and stays inside the tensor; logs what is wrong if not.
static bool range_2d_ok(const char * fn, const struct ggml_tensor * tensor, const void * data, size_t offset,
        size_t size, size_t n_copies, size_t stride) {
    size_t span, end;
    if (data == NULL ||
        __builtin_mul_overflow(n_copies - 1, stride, &span) ||
        __builtin_add_overflow(span, size, &span) ||
        __builtin_add_overflow(span, offset, &end)) {
        GGML_LOG_ERROR("%s: bad arguments: data %p, offset %zu, size %zu, %zu copies, stride %zu\n", fn,
                data, offset, size, n_copies, stride);
        return false;
    }
    return tensor_range_ok(fn, tensor, offset, end - offset);
}

void ggml_backend_tensor_set_2d(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size,
        size_t n_copies, size_t stride_tensor, size_t stride_data) {
    if (size == 0 || n_copies == 0) {
        return;
    }
    if (!range_2d_ok(__func__, tensor, data, offset, size, n_copies, stride_tensor)) {
        return;
    }
    for (size_t i = 0; i < n_copies; i++) {
        ggml_backend_tensor_set(tensor, (const char *) data + i * stride_data, offset + i * stride_tensor, size);
    }
}

void ggml_backend_tensor_get_2d(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size,
        size_t n_copies, size_t stride_tensor, size_t stride_data) {
    if (size == 0 || n_copies == 0) {
        return;
    }
    if (!range_2d_ok(__func__, tensor, data, offset, size, n_copies, stride_tensor)) {
        return;
    }
    for (size_t i = 0; i < n_copies; i++) {
        ggml_backend_tensor_get(tensor, (char *) data + i * stride_data, offset + i * stride_tensor, size);
    }
}

void ggml_backend_tensor_copy(struct ggml_tensor * src, struct ggml_tensor * dst) {
    if (src == NULL || dst == NULL) {
        GGML_LOG_ERROR("%s: src or dst is NULL\n", __func__);
        return;
    }
    if (src->type != dst->type || !ggml_are_same_shape(src, dst) || !ggml_are_same_stride(src, dst)) {
        GGML_LOG_ERROR("%s: tensors %s and %s have different layouts\n", __func__, tensor_name(src), tensor_name(dst));
        return;
    }
    if (src == dst) {
        return;
    }
    size_t n = ggml_nbytes(src);
    if (!tensor_range_ok(__func__, src, 0, n) || !tensor_range_ok(__func__, dst, 0, n)) {
        return;
    }
    ggml_backend_buffer_t sbuf = tensor_buffer(src);
    ggml_backend_buffer_t dbuf = tensor_buffer(dst);
    if (ggml_backend_buffer_is_host(sbuf)) {
        ggml_backend_tensor_set(dst, src->data, 0, n);
    } else if (ggml_backend_buffer_is_host(dbuf)) {
        ggml_backend_tensor_get(src, dst->data, 0, n);
    } else if (dbuf->iface.cpy_tensor == NULL || !dbuf->iface.cpy_tensor(dbuf, src, dst)) {
        void * tmp = malloc(n > 0 ? n : 1);
        if (tmp == NULL) {
            GGML_LOG_ERROR("%s: out of memory for %zu bytes to copy %s to %s\n", __func__, n, tensor_name(src), tensor_name(dst));
            return;
        }
        ggml_backend_tensor_get(src, tmp, 0, n);
        ggml_backend_tensor_set(dst, tmp, 0, n);
        free(tmp);
    }
}

//
// Utilities
//

enum ggml_status ggml_backend_tensor_alloc(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor, void * addr) {
    if (buffer == NULL || tensor == NULL || addr == NULL) {
        GGML_LOG_ERROR("%s: buffer, tensor or addr is NULL\n", __func__);
        return GGML_STATUS_FAILED;
    }
    if (tensor->buffer != NULL || tensor->data != NULL || tensor->view_src != NULL) {
        GGML_LOG_ERROR("%s: tensor %s is already allocated or is a view\n", __func__, tensor_name(tensor));
        return GGML_STATUS_FAILED;
    }
    uintptr_t b = (uintptr_t) ggml_backend_buffer_get_base(buffer);
    uintptr_t a = (uintptr_t) addr;
    size_t size = ggml_backend_buffer_get_size(buffer);
    size_t need = ggml_backend_buffer_get_alloc_size(buffer, tensor);
    if (a < b || a - b > size || need > size - (a - b)) {
        GGML_LOG_ERROR("%s: tensor %s of %zu bytes at offset %lld does not fit in the %s buffer of %zu bytes\n", __func__,
                tensor_name(tensor), need, (long long) (a - b), ggml_backend_buffer_name(buffer), size);
        return GGML_STATUS_FAILED;
    }
    tensor->buffer = buffer;
    tensor->data = addr;
    return ggml_backend_buffer_init_tensor(buffer, tensor);
}

enum ggml_status ggml_backend_view_init(struct ggml_tensor * tensor) {
    if (tensor == NULL || tensor->view_src == NULL) {
        GGML_LOG_ERROR("%s: tensor %s is not a view\n", __func__, tensor ? tensor_name(tensor) : "NULL");
        return GGML_STATUS_FAILED;
    }
    struct ggml_tensor * src = tensor->view_src;
    if (src->buffer == NULL || src->data == NULL) {
        GGML_LOG_ERROR("%s: view %s: its source %s is not allocated\n", __func__, tensor_name(tensor), tensor_name(src));
        return GGML_STATUS_FAILED;
    }
    tensor->buffer = src->buffer;
    tensor->data = (char *) src->data + tensor->view_offs;
    return ggml_backend_buffer_init_tensor(src->buffer, tensor);
}

//
// Backends
//

const char * ggml_backend_name(ggml_backend_t backend) {
    if (backend == NULL) {
        return "NULL";
    }
    return backend->iface.get_name(backend);
}

void ggml_backend_free(ggml_backend_t backend) {
    if (backend == NULL) {
        return;
    }
    backend->iface.free(backend);
}

ggml_backend_dev_t ggml_backend_get_device(ggml_backend_t backend) {
    return backend ? backend->device : NULL;
}

ggml_backend_buffer_type_t ggml_backend_get_default_buffer_type(ggml_backend_t backend) {
    if (backend == NULL) {
        GGML_LOG_ERROR("%s: backend is NULL\n", __func__);
        return NULL;
    }
    return ggml_backend_dev_buffer_type(backend->device);
}

ggml_backend_buffer_t ggml_backend_alloc_buffer(ggml_backend_t backend, size_t size) {
    return ggml_backend_buft_alloc_buffer(ggml_backend_get_default_buffer_type(backend), size);
}

size_t ggml_backend_get_alignment(ggml_backend_t backend) {
    return ggml_backend_buft_get_alignment(ggml_backend_get_default_buffer_type(backend));
}

size_t ggml_backend_get_max_size(ggml_backend_t backend) {
    return ggml_backend_buft_get_max_size(ggml_backend_get_default_buffer_type(backend));
}

void ggml_backend_tensor_set_async(ggml_backend_t backend, struct ggml_tensor * tensor, const void * data, size_t offset, size_t size) {
    if (backend == NULL || backend->iface.set_tensor_async == NULL) {
        ggml_backend_tensor_set(tensor, data, offset, size);
        return;
    }
    if (size == 0) {
        return;
    }
    if (data == NULL || !tensor_range_ok(__func__, tensor, offset, size)) {
        return;
    }
    backend->iface.set_tensor_async(backend, tensor, data, offset, size);
}

void ggml_backend_tensor_get_async(ggml_backend_t backend, const struct ggml_tensor * tensor, void * data, size_t offset, size_t size) {
    if (backend == NULL || backend->iface.get_tensor_async == NULL) {
        ggml_backend_tensor_get(tensor, data, offset, size);
        return;
    }
    if (size == 0) {
        return;
    }
    if (data == NULL || !tensor_range_ok(__func__, tensor, offset, size)) {
        return;
    }
    backend->iface.get_tensor_async(backend, tensor, data, offset, size);
}

void ggml_backend_synchronize(ggml_backend_t backend) {
    if (backend != NULL && backend->iface.synchronize != NULL) {
        backend->iface.synchronize(backend);
    }
}

enum ggml_status ggml_backend_graph_compute_async(ggml_backend_t backend, struct ggml_cgraph * cgraph) {
    if (backend == NULL || cgraph == NULL) {
        GGML_LOG_ERROR("%s: backend or graph is NULL\n", __func__);
        return GGML_STATUS_FAILED;
    }
    return backend->iface.graph_compute(backend, cgraph);
}

enum ggml_status ggml_backend_graph_compute(ggml_backend_t backend, struct ggml_cgraph * cgraph) {
    enum ggml_status status = ggml_backend_graph_compute_async(backend, cgraph);
    ggml_backend_synchronize(backend);
    return status;
}

bool ggml_backend_supports_op(ggml_backend_t backend, const struct ggml_tensor * op) {
    return backend != NULL && ggml_backend_dev_supports_op(backend->device, op);
}

bool ggml_backend_supports_buft(ggml_backend_t backend, ggml_backend_buffer_type_t buft) {
    return backend != NULL && ggml_backend_dev_supports_buft(backend->device, buft);
}

bool ggml_backend_offload_op(ggml_backend_t backend, const struct ggml_tensor * op) {
    return backend != NULL && ggml_backend_dev_offload_op(backend->device, op);
}

void ggml_backend_tensor_copy_async(ggml_backend_t backend_src, ggml_backend_t backend_dst, struct ggml_tensor * src,
        struct ggml_tensor * dst) {
    // no backend here queues copies: both finish their work, then the copy is made at once
    if (backend_src != NULL) {
        ggml_backend_synchronize(backend_src);
    }
    if (backend_dst != NULL) {
        ggml_backend_synchronize(backend_dst);
    }
    ggml_backend_tensor_copy(src, dst);
}

struct ggml_tensor * ggml_set_zero(struct ggml_tensor * tensor) {
    if (tensor == NULL || ggml_is_empty(tensor) || tensor->data == NULL) {
        return tensor;
    }
    if (tensor->buffer != NULL) {
        ggml_backend_tensor_memset(tensor, 0, 0, ggml_nbytes(tensor));
    } else {
        memset(tensor->data, 0, ggml_nbytes(tensor));
    }
    return tensor;
}

FILE * ggml_fopen(const char * fname, const char * mode) {
    if (fname == NULL || mode == NULL) {
        GGML_LOG_ERROR("%s: file name or mode is NULL\n", __func__);
        return NULL;
    }
    return fopen(fname, mode);
}

//
// Events: no built-in device has them (caps.events is false)
//

ggml_backend_event_t ggml_backend_event_new(ggml_backend_dev_t device) {
    (void) device;
    return NULL;
}

void ggml_backend_event_free(ggml_backend_event_t event) {
    (void) event;
}

void ggml_backend_event_record(ggml_backend_event_t event, ggml_backend_t backend) {
    (void) event;
    (void) backend;
}

void ggml_backend_event_synchronize(ggml_backend_event_t event) {
    (void) event;
}

void ggml_backend_event_wait(ggml_backend_t backend, ggml_backend_event_t event) {
    (void) event;
    ggml_backend_synchronize(backend);
}

//
// Devices
//

const char * ggml_backend_dev_name(ggml_backend_dev_t device) {
    return device ? device->iface.get_name(device) : "NULL";
}

const char * ggml_backend_dev_description(ggml_backend_dev_t device) {
    return device ? device->iface.get_description(device) : "NULL";
}

void ggml_backend_dev_memory(ggml_backend_dev_t device, size_t * free_mem, size_t * total) {
    size_t f = 0, t = 0;
    if (device != NULL && device->iface.get_memory != NULL) {
        device->iface.get_memory(device, &f, &t);
    }
    if (free_mem) *free_mem = f;
    if (total) *total = t;
}

enum ggml_backend_dev_type ggml_backend_dev_type(ggml_backend_dev_t device) {
    return device ? device->iface.get_type(device) : GGML_BACKEND_DEVICE_TYPE_CPU;
}

void ggml_backend_dev_get_props(ggml_backend_dev_t device, struct ggml_backend_dev_props * props) {
    if (props == NULL) {
        return;
    }
    memset(props, 0, sizeof(*props));
    if (device == NULL) {
        return;
    }
    if (device->iface.get_props != NULL) {
        device->iface.get_props(device, props);
        return;
    }
    props->name = ggml_backend_dev_name(device);
    props->description = ggml_backend_dev_description(device);
    ggml_backend_dev_memory(device, &props->memory_free, &props->memory_total);
    props->type = ggml_backend_dev_type(device);
}

ggml_backend_reg_t ggml_backend_dev_backend_reg(ggml_backend_dev_t device) {
    return device ? device->reg : NULL;
}

ggml_backend_t ggml_backend_dev_init(ggml_backend_dev_t device, const char * params) {
    if (device == NULL) {
        GGML_LOG_ERROR("%s: device is NULL\n", __func__);
        return NULL;
    }
    ggml_backend_t backend = device->iface.init_backend(device, params);
    if (backend == NULL) {
        GGML_LOG_ERROR("%s: device %s could not start a backend\n", __func__, ggml_backend_dev_name(device));
    }
    return backend;
}

ggml_backend_buffer_type_t ggml_backend_dev_buffer_type(ggml_backend_dev_t device) {
    return device ? device->iface.get_buffer_type(device) : NULL;
}

ggml_backend_buffer_type_t ggml_backend_dev_host_buffer_type(ggml_backend_dev_t device) {
    if (device == NULL || device->iface.get_host_buffer_type == NULL) {
        return NULL;
    }
    return device->iface.get_host_buffer_type(device);
}

ggml_backend_buffer_t ggml_backend_dev_buffer_from_host_ptr(ggml_backend_dev_t device, void * ptr, size_t size, size_t max_tensor_size) {
    if (device == NULL || device->iface.buffer_from_host_ptr == NULL) {
        GGML_LOG_ERROR("%s: device %s cannot use host memory as a buffer\n", __func__, ggml_backend_dev_name(device));
        return NULL;
    }
    return device->iface.buffer_from_host_ptr(device, ptr, size, max_tensor_size);
}

bool ggml_backend_dev_supports_op(ggml_backend_dev_t device, const struct ggml_tensor * op) {
    return device != NULL && op != NULL && device->iface.supports_op(device, op);
}

bool ggml_backend_dev_supports_buft(ggml_backend_dev_t device, ggml_backend_buffer_type_t buft) {
    return device != NULL && buft != NULL && device->iface.supports_buft(device, buft);
}

bool ggml_backend_dev_offload_op(ggml_backend_dev_t device, const struct ggml_tensor * op) {
    if (device == NULL || op == NULL || device->iface.offload_op == NULL) {
        return false;
    }
    return device->iface.offload_op(device, op);
}
