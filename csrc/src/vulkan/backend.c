// The Vulkan backend, its devices and its registry, as the vtables of backend-impl.h, and the
// public functions of ggml-vulkan.h.
//
// A backend is a thin handle on a device: the device owns the queue, the command buffer and
// the pipelines, so several backends on one device share them (their work is serialised by
// the device's lock). Compute is synchronous: graph_compute returns when the graph has run.

#include "vulkan-impl.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "ggml-vulkan.h"
#include "log.h"

//
// backend
//

static const char * vk_backend_get_name(ggml_backend_t backend) {
    struct vk_device * d = backend->context;
    return d->name;
}

static void vk_backend_free(ggml_backend_t backend) {
    free(backend);
}

static enum ggml_status vk_backend_graph_compute(ggml_backend_t backend, struct ggml_cgraph * cgraph) {
    return ggalloc_vk_graph_compute(backend->context, cgraph);
}

static const struct ggml_backend_i vk_backend_iface = {
    /* .get_name         = */ vk_backend_get_name,
    /* .free             = */ vk_backend_free,
    /* .set_tensor_async = */ NULL,
    /* .get_tensor_async = */ NULL,
    /* .synchronize      = */ NULL,
    /* .graph_compute    = */ vk_backend_graph_compute,
};

ggml_backend_t ggml_backend_vk_init(size_t dev_num) {
    int n = ggalloc_vk_device_count();
    if (dev_num >= (size_t) n) {
        GGML_LOG_ERROR("Vulkan: cannot start a backend on device %zu: there %s %d Vulkan device%s%s\n", dev_num,
                       n == 1 ? "is" : "are", n, n == 1 ? "" : "s",
                       n == 0 ? " (no Vulkan driver or device on this machine)" : "");
        return NULL;
    }
    struct vk_device * d = ggalloc_vk_device_get((int) dev_num);
    pthread_mutex_lock(&d->lock);
    bool ok = ggalloc_vk_device_open(d);
    pthread_mutex_unlock(&d->lock);
    if (!ok) {
        GGML_LOG_ERROR("Vulkan: cannot start a backend on device %zu (%s)\n", dev_num, d->description);
        return NULL;
    }
    ggml_backend_t backend = malloc(sizeof(*backend));
    if (backend == NULL) {
        GGML_LOG_ERROR("Vulkan: out of host memory for a backend\n");
        return NULL;
    }
    *backend = (struct ggml_backend) { .iface = vk_backend_iface, .device = &d->gdev, .context = d };
    return backend;
}

bool ggml_backend_is_vk(ggml_backend_t backend) {
    return backend != NULL && backend->iface.get_name == vk_backend_get_name;
}

int ggml_backend_vk_get_device_count(void) {
    return ggalloc_vk_device_count();
}

void ggml_backend_vk_get_device_description(int device, char * description, size_t description_size) {
    if (description == NULL || description_size == 0) return;
    struct vk_device * d = ggalloc_vk_device_get(device);
    if (d == NULL) {
        GGML_LOG_ERROR("Vulkan: no device %d (there are %d)\n", device, ggalloc_vk_device_count());
        description[0] = 0;
        return;
    }
    snprintf(description, description_size, "%s", d->description);
}

void ggml_backend_vk_get_device_memory(int device, size_t * free, size_t * total) {
    struct vk_device * d = ggalloc_vk_device_get(device);
    if (d == NULL) GGML_LOG_ERROR("Vulkan: no device %d (there are %d)\n", device, ggalloc_vk_device_count());
    // core Vulkan reports heap sizes only, not how much of them is in use
    if (free)  *free  = d ? d->heap_size : 0;
    if (total) *total = d ? d->heap_size : 0;
}

ggml_backend_buffer_type_t ggml_backend_vk_buffer_type(size_t dev_num) {
    struct vk_device * d = dev_num < (size_t) ggalloc_vk_device_count() ? ggalloc_vk_device_get((int) dev_num) : NULL;
    if (d == NULL) {
        GGML_LOG_ERROR("Vulkan: no buffer type for device %zu (there are %d devices)\n", dev_num, ggalloc_vk_device_count());
        return NULL;
    }
    return &d->buft;
}

ggml_backend_buffer_type_t ggml_backend_vk_host_buffer_type(void) {
    struct vk_device * d = ggalloc_vk_device_get(0);
    if (d == NULL) {
        GGML_LOG_ERROR("Vulkan: no host buffer type: there is no Vulkan device\n");
        return NULL;
    }
    return &d->host_buft;
}

//
// device
//

static const char * vk_dev_get_name(ggml_backend_dev_t dev) {
    struct vk_device * d = dev->context;
    return d->name;
}

static const char * vk_dev_get_description(ggml_backend_dev_t dev) {
    struct vk_device * d = dev->context;
    return d->description;
}

static void vk_dev_get_memory(ggml_backend_dev_t dev, size_t * free, size_t * total) {
    struct vk_device * d = dev->context;
    ggml_backend_vk_get_device_memory(d->index, free, total);
}

static enum ggml_backend_dev_type vk_dev_get_type(ggml_backend_dev_t dev) {
    struct vk_device * d = dev->context;
    switch (d->props.deviceType) {
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return GGML_BACKEND_DEVICE_TYPE_IGPU;
        // a CPU implementation (lavapipe) is not faster than the CPU backend: never "best"
        case VK_PHYSICAL_DEVICE_TYPE_CPU:            return GGML_BACKEND_DEVICE_TYPE_CPU;
        default:                                     return GGML_BACKEND_DEVICE_TYPE_GPU;
    }
}

static void vk_dev_get_props(ggml_backend_dev_t dev, struct ggml_backend_dev_props * props) {
    props->name        = vk_dev_get_name(dev);
    props->description = vk_dev_get_description(dev);
    props->type        = vk_dev_get_type(dev);
    props->device_id   = NULL;
    vk_dev_get_memory(dev, &props->memory_free, &props->memory_total);
    props->caps = (struct ggml_backend_dev_caps) {
        .async = false,
        .host_buffer = true,
        .buffer_from_host_ptr = false,
        .events = false,
    };
}

static ggml_backend_t vk_dev_init_backend(ggml_backend_dev_t dev, const char * params) {
    (void) params;
    struct vk_device * d = dev->context;
    return ggml_backend_vk_init((size_t) d->index);
}

static ggml_backend_buffer_type_t vk_dev_get_buffer_type(ggml_backend_dev_t dev) {
    struct vk_device * d = dev->context;
    return &d->buft;
}

static ggml_backend_buffer_type_t vk_dev_get_host_buffer_type(ggml_backend_dev_t dev) {
    struct vk_device * d = dev->context;
    return &d->host_buft;
}

static bool vk_dev_supports_op(ggml_backend_dev_t dev, const struct ggml_tensor * op) {
    return ggalloc_vk_supports_op(dev->context, op);
}

static bool vk_dev_supports_buft(ggml_backend_dev_t dev, ggml_backend_buffer_type_t buft) {
    return ggalloc_vk_buft_is_vk(buft, dev->context);
}

static const struct ggml_backend_device_i vk_device_iface = {
    /* .get_name             = */ vk_dev_get_name,
    /* .get_description      = */ vk_dev_get_description,
    /* .get_memory           = */ vk_dev_get_memory,
    /* .get_type             = */ vk_dev_get_type,
    /* .get_props            = */ vk_dev_get_props,
    /* .init_backend         = */ vk_dev_init_backend,
    /* .get_buffer_type      = */ vk_dev_get_buffer_type,
    /* .get_host_buffer_type = */ vk_dev_get_host_buffer_type,
    /* .buffer_from_host_ptr = */ NULL,
    /* .supports_op          = */ vk_dev_supports_op,
    /* .supports_buft        = */ vk_dev_supports_buft,
    /* .offload_op           = */ NULL,
};

//
// registry
//

static const char * vk_reg_get_name(ggml_backend_reg_t reg) {
    (void) reg;
    return GGML_VK_NAME;
}

static size_t vk_reg_get_device_count(ggml_backend_reg_t reg) {
    (void) reg;
    return (size_t) ggalloc_vk_device_count();
}

static ggml_backend_dev_t vk_reg_get_device(ggml_backend_reg_t reg, size_t index);

static void * vk_reg_get_proc_address(ggml_backend_reg_t reg, const char * name) {
    (void) reg;
    if (name == NULL) return NULL;
    if (strcmp(name, "ggml_backend_vk_get_device_count") == 0) return (void *) ggml_backend_vk_get_device_count;
    return NULL;
}

static struct ggml_backend_reg vk_reg = {
    .iface = {
        .get_name         = vk_reg_get_name,
        .get_device_count = vk_reg_get_device_count,
        .get_device       = vk_reg_get_device,
        .get_proc_address = vk_reg_get_proc_address,
    },
    .context = NULL,
};

static ggml_backend_dev_t vk_reg_get_device(ggml_backend_reg_t reg, size_t index) {
    (void) reg;
    if (index >= (size_t) ggalloc_vk_device_count()) return NULL;
    return &ggalloc_vk_device_get((int) index)->gdev;
}

void ggalloc_vk_device_iface_init(struct vk_device * d) {
    d->gdev = (struct ggml_backend_device) { .iface = vk_device_iface, .reg = &vk_reg, .context = d };
}

ggml_backend_reg_t ggml_backend_vk_reg(void) {
    return &vk_reg;
}
