#pragma once

// The interface a backend implements: buffer types, buffers, backends, devices and registries
// as small vtables. Backends (cpu/, vulkan/) and backend.c include this; the allocator and the
// core do not.

#include "ggml-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ggml_backend_buffer_type_i {
    const char *          (*get_name)      (ggml_backend_buffer_type_t buft);
    // NULL on failure, after logging the type and size
    ggml_backend_buffer_t (*alloc_buffer)  (ggml_backend_buffer_type_t buft, size_t size);
    size_t                (*get_alignment) (ggml_backend_buffer_type_t buft);
    size_t                (*get_max_size)  (ggml_backend_buffer_type_t buft); // optional: SIZE_MAX
    size_t                (*get_alloc_size)(ggml_backend_buffer_type_t buft, const struct ggml_tensor * tensor); // optional: ggml_nbytes
    bool                  (*is_host)       (ggml_backend_buffer_type_t buft); // optional: false
};

struct ggml_backend_buffer_type {
    struct ggml_backend_buffer_type_i iface;
    ggml_backend_dev_t device;
    void * context;
};

// Set/get/memset receive ranges already checked against the tensor and the buffer.
// They return GGML_STATUS_SUCCESS or log and return a failure (a lost device, a failed map).
struct ggml_backend_buffer_i {
    void             (*free_buffer)  (ggml_backend_buffer_t buffer);                         // optional
    void *           (*get_base)     (ggml_backend_buffer_t buffer);
    enum ggml_status (*init_tensor)  (ggml_backend_buffer_t buffer, struct ggml_tensor * tensor); // optional
    enum ggml_status (*memset_tensor)(ggml_backend_buffer_t buffer,       struct ggml_tensor * tensor, uint8_t value, size_t offset, size_t size);
    enum ggml_status (*set_tensor)   (ggml_backend_buffer_t buffer,       struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
    enum ggml_status (*get_tensor)   (ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor, void * data, size_t offset, size_t size);
    // optional: false if it cannot copy between these buffers (the caller then goes through the host)
    bool             (*cpy_tensor)   (ggml_backend_buffer_t buffer, const struct ggml_tensor * src, struct ggml_tensor * dst);
    enum ggml_status (*clear)        (ggml_backend_buffer_t buffer, uint8_t value);
    void             (*reset)        (ggml_backend_buffer_t buffer);                         // optional
};

struct ggml_backend_buffer {
    struct ggml_backend_buffer_i iface;
    ggml_backend_buffer_type_t   buft;
    void * context;
    size_t size;
    enum ggml_backend_buffer_usage usage;
};

// Creates a buffer object around a backend's context (the object is freed by
// ggml_backend_buffer_free, which calls iface.free_buffer first). NULL if out of memory.
ggml_backend_buffer_t ggml_backend_buffer_init(ggml_backend_buffer_type_t buft, struct ggml_backend_buffer_i iface,
        void * context, size_t size);

// Several buffers presented as one (ggml_backend_alloc_ctx_tensors over the max size). Takes
// ownership of the buffers. NULL if out of memory (the buffers are then freed).
ggml_backend_buffer_t ggml_backend_multi_buffer_alloc_buffer(ggml_backend_buffer_t * buffers, size_t n_buffers);
bool ggml_backend_buffer_is_multi_buffer(ggml_backend_buffer_t buffer);
void ggml_backend_multi_buffer_set_usage(ggml_backend_buffer_t buffer, enum ggml_backend_buffer_usage usage);

struct ggml_backend_i {
    const char * (*get_name)(ggml_backend_t backend);
    void         (*free)    (ggml_backend_t backend);

    // optional: the synchronous versions are used when absent
    void (*set_tensor_async)(ggml_backend_t backend,       struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
    void (*get_tensor_async)(ggml_backend_t backend, const struct ggml_tensor * tensor,       void * data, size_t offset, size_t size);
    void (*synchronize)     (ggml_backend_t backend); // optional

    // checks every node first (supports_op, data present) and fails naming the node before any work
    enum ggml_status (*graph_compute)(ggml_backend_t backend, struct ggml_cgraph * cgraph);
};

struct ggml_backend {
    struct ggml_backend_i iface;
    ggml_backend_dev_t    device;
    void *                context;
};

struct ggml_backend_device_i {
    const char *               (*get_name)       (ggml_backend_dev_t dev);
    const char *               (*get_description)(ggml_backend_dev_t dev);
    void                       (*get_memory)     (ggml_backend_dev_t dev, size_t * free, size_t * total);
    enum ggml_backend_dev_type (*get_type)       (ggml_backend_dev_t dev);
    void                       (*get_props)      (ggml_backend_dev_t dev, struct ggml_backend_dev_props * props);
    ggml_backend_t             (*init_backend)   (ggml_backend_dev_t dev, const char * params);
    ggml_backend_buffer_type_t (*get_buffer_type)(ggml_backend_dev_t dev);
    ggml_backend_buffer_type_t (*get_host_buffer_type)(ggml_backend_dev_t dev); // optional
    ggml_backend_buffer_t      (*buffer_from_host_ptr)(ggml_backend_dev_t dev, void * ptr, size_t size, size_t max_tensor_size); // optional
    bool                       (*supports_op)    (ggml_backend_dev_t dev, const struct ggml_tensor * op);
    bool                       (*supports_buft)  (ggml_backend_dev_t dev, ggml_backend_buffer_type_t buft);
    bool                       (*offload_op)     (ggml_backend_dev_t dev, const struct ggml_tensor * op); // optional
};

struct ggml_backend_device {
    struct ggml_backend_device_i iface;
    ggml_backend_reg_t reg;
    void * context;
};

struct ggml_backend_reg_i {
    const char *       (*get_name)        (ggml_backend_reg_t reg);
    size_t             (*get_device_count)(ggml_backend_reg_t reg);
    ggml_backend_dev_t (*get_device)      (ggml_backend_reg_t reg, size_t index);
    void *             (*get_proc_address)(ggml_backend_reg_t reg, const char * name); // optional
};

struct ggml_backend_reg {
    struct ggml_backend_reg_i iface;
    void * context;
};

#ifdef __cplusplus
}
#endif
