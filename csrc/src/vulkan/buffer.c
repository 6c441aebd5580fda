// The Vulkan buffer types: device memory, and host-visible memory for zero-copy.
//
// A buffer is one VkBuffer bound to one VkDeviceMemory allocation of its own. Its size is
// limited to the device's max size, min(maxStorageBufferRange, maxMemoryAllocationSize): a
// buffer is always bound whole to a shader, and a binding cannot be larger than the storage
// buffer range. That is the limit the graph allocator sees, and why large plans are split
// into chunks (each its own buffer) on this backend.
//
// Device buffers prefer device-local memory and are not host-addressable. Their "base
// address" is a fixed non-NULL constant; a tensor's data pointer minus the base is its byte
// offset in the VkBuffer. Set and get go through the device's staging buffer (host-visible,
// reused, 32 MiB) in pieces: host memcpy into staging, then vkCmdCopyBuffer, and the reverse
// for reads, each piece one submission waited for. Memset fills the 4-byte-aligned middle of
// the range with vkCmdFillBuffer (which only works in whole words) and writes the up to three
// unaligned bytes at each edge by copying them from staging, all in one submission.
//
// Host buffers are host-visible, host-coherent memory, mapped for their whole life: their
// base is the mapping, set/get are memcpy, and the device reads them where they are.

#include "vulkan-impl.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define VK_DEVICE_BASE ((uintptr_t) 0x1000)

struct vk_buffer {
    struct vk_device * dev;
    VkBuffer           buf;     // VK_NULL_HANDLE for a buffer of size 0
    VkDeviceMemory     mem;
    uint8_t *          mapped;  // host type only
};

static size_t vk_tensor_offset(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor) {
    return (size_t) ((uintptr_t) tensor->data - (uintptr_t) ggml_backend_buffer_get_base(buffer));
}

// Orders earlier transfers and shader work before the transfer about to be recorded, and
// the transfer before later host reads (staging) and shader work.
static void vk_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                       VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = src_access,
        .dstAccessMask = dst_access,
    };
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

static void vk_barrier_before_transfer(VkCommandBuffer cmd) {
    vk_barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
               VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
               VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT);
}

static void vk_barrier_after_transfer(VkCommandBuffer cmd) {
    vk_barrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
               VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
               VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

//
// buffer interface
//

static void vk_buffer_free(ggml_backend_buffer_t buffer) {
    struct vk_buffer * b = buffer->context;
    struct vk_device * d = b->dev;
    if (b->buf != VK_NULL_HANDLE) {
        if (b->mapped) vkUnmapMemory(d->dev, b->mem);
        vkDestroyBuffer(d->dev, b->buf, NULL);
        vkFreeMemory(d->dev, b->mem, NULL);
    }
    pthread_mutex_lock(&d->lock);
    d->n_buffers--;
    pthread_mutex_unlock(&d->lock);
    free(b);
}

static void * vk_buffer_get_base(ggml_backend_buffer_t buffer) {
    struct vk_buffer * b = buffer->context;
    return b->mapped ? (void *) b->mapped : (void *) VK_DEVICE_BASE;
}

static enum ggml_status vk_buffer_init_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor) {
    (void) buffer;
    (void) tensor;
    return GGML_STATUS_SUCCESS;
}

// Starts a transfer on the device: lock taken, device open, staging ready, recording begun.
// On false the lock is released.
static bool vk_transfer_begin(struct vk_device * d, const char * what) {
    pthread_mutex_lock(&d->lock);
    if (!ggalloc_vk_device_open(d) || !ggalloc_vk_staging_ready(d) || !ggalloc_vk_cmd_begin(d, what)) {
        pthread_mutex_unlock(&d->lock);
        return false;
    }
    vk_barrier_before_transfer(d->cmd);
    return true;
}

static bool vk_transfer_end(struct vk_device * d, const char * what) {
    vk_barrier_after_transfer(d->cmd);
    return ggalloc_vk_cmd_submit_wait(d, what);
}

static enum ggml_status vk_buffer_set_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor,
                                             const void * data, size_t offset, size_t size) {
    struct vk_buffer * b = buffer->context;
    size_t off = vk_tensor_offset(buffer, tensor) + offset;
    if (b->mapped) {
        memcpy(b->mapped + off, data, size);
        return GGML_STATUS_SUCCESS;
    }
    struct vk_device * d = b->dev;
    size_t done = 0;
    while (done < size) {
        if (!vk_transfer_begin(d, "tensor set")) goto fail;
        size_t n = size - done < d->staging_size ? size - done : d->staging_size;
        memcpy(d->staging_ptr, (const uint8_t *) data + done, n);
        VkBufferCopy region = { .srcOffset = 0, .dstOffset = off + done, .size = n };
        vkCmdCopyBuffer(d->cmd, d->staging, b->buf, 1, &region);
        bool ok = vk_transfer_end(d, "tensor set");
        pthread_mutex_unlock(&d->lock);
        if (!ok) goto fail;
        done += n;
    }
    return GGML_STATUS_SUCCESS;
fail:
    GGML_LOG_ERROR("Vulkan: writing %zu bytes of tensor '%s' at offset %zu failed after %zu bytes\n",
                   size, tensor->name, offset, done);
    return GGML_STATUS_FAILED;
}

static enum ggml_status vk_buffer_get_tensor(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor,
                                             void * data, size_t offset, size_t size) {
    struct vk_buffer * b = buffer->context;
    size_t off = vk_tensor_offset(buffer, tensor) + offset;
    if (b->mapped) {
        memcpy(data, b->mapped + off, size);
        return GGML_STATUS_SUCCESS;
    }
    struct vk_device * d = b->dev;
    size_t done = 0;
    while (done < size) {
        if (!vk_transfer_begin(d, "tensor get")) goto fail;
        size_t n = size - done < d->staging_size ? size - done : d->staging_size;
        VkBufferCopy region = { .srcOffset = off + done, .dstOffset = 0, .size = n };
        vkCmdCopyBuffer(d->cmd, b->buf, d->staging, 1, &region);
        bool ok = vk_transfer_end(d, "tensor get");
        if (ok) memcpy((uint8_t *) data + done, d->staging_ptr, n);
        pthread_mutex_unlock(&d->lock);
        if (!ok) goto fail;
        done += n;
    }
    return GGML_STATUS_SUCCESS;
fail:
    GGML_LOG_ERROR("Vulkan: reading %zu bytes of tensor '%s' at offset %zu failed after %zu bytes\n",
                   size, tensor->name, offset, done);
    return GGML_STATUS_FAILED;
}

// Fills [off, off + size) of b with value: whole words with vkCmdFillBuffer, the edges by copy.
static bool vk_buffer_fill(struct vk_buffer * b, size_t off, size_t size, uint8_t value) {
    if (size == 0) return true;
    if (b->mapped) {
        memset(b->mapped + off, value, size);
        return true;
    }
    struct vk_device * d = b->dev;
    if (!vk_transfer_begin(d, "memset")) return false;
    size_t end  = off + size;
    size_t mid0 = (off + 3) & ~(size_t) 3;
    size_t mid1 = end & ~(size_t) 3;
    if (mid0 > end) mid0 = end;
    if (mid1 < mid0) mid1 = mid0;
    memset(d->staging_ptr, value, 4);
    if (mid1 > mid0) {
        uint32_t word = 0x01010101u * value;
        vkCmdFillBuffer(d->cmd, b->buf, mid0, mid1 - mid0, word);
    }
    VkBufferCopy edges[2];
    uint32_t n_edges = 0;
    if (mid0 > off) edges[n_edges++] = (VkBufferCopy) { .srcOffset = 0, .dstOffset = off,  .size = mid0 - off };
    if (end > mid1) edges[n_edges++] = (VkBufferCopy) { .srcOffset = 0, .dstOffset = mid1, .size = end - mid1 };
    if (n_edges > 0) vkCmdCopyBuffer(d->cmd, d->staging, b->buf, n_edges, edges);
    bool ok = vk_transfer_end(d, "memset");
    pthread_mutex_unlock(&d->lock);
    return ok;
}

static enum ggml_status vk_buffer_memset_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor,
                                                uint8_t value, size_t offset, size_t size) {
    if (!vk_buffer_fill(buffer->context, vk_tensor_offset(buffer, tensor) + offset, size, value)) {
        GGML_LOG_ERROR("Vulkan: memset of %zu bytes of tensor '%s' at offset %zu failed\n", size, tensor->name, offset);
        return GGML_STATUS_FAILED;
    }
    return GGML_STATUS_SUCCESS;
}

static enum ggml_status vk_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
    if (!vk_buffer_fill(buffer->context, 0, buffer->size, value)) {
        GGML_LOG_ERROR("Vulkan: clearing buffer %s of %zu bytes failed\n", ggml_backend_buffer_name(buffer), buffer->size);
        return GGML_STATUS_FAILED;
    }
    return GGML_STATUS_SUCCESS;
}

static ggml_backend_buffer_t vk_tensor_buffer(const struct ggml_tensor * t) {
    return t->view_src ? t->view_src->buffer : t->buffer;
}

// dst lies in buffer (one of ours). A source in a buffer of the same device is copied on the
// device; a source in host memory is uploaded; anything else is left to the caller.
static bool vk_buffer_cpy_tensor(ggml_backend_buffer_t buffer, const struct ggml_tensor * src, struct ggml_tensor * dst) {
    struct vk_buffer * b = buffer->context;
    struct vk_device * d = b->dev;
    ggml_backend_buffer_t sbuf = vk_tensor_buffer(src);
    size_t n = ggml_nbytes(src);
    if (sbuf == NULL || n == 0) return n == 0;
    VkBuffer svk;
    if (ggalloc_vk_buffer_get(sbuf, d, &svk, NULL)) {
        struct vk_buffer * sb = sbuf->context;
        if (b->mapped && sb->mapped) {
            memmove(b->mapped + vk_tensor_offset(buffer, dst), sb->mapped + vk_tensor_offset(sbuf, src), n);
            return true;
        }
        if (!vk_transfer_begin(d, "tensor copy")) return false;
        VkBufferCopy region = { .srcOffset = vk_tensor_offset(sbuf, src), .dstOffset = vk_tensor_offset(buffer, dst), .size = n };
        vkCmdCopyBuffer(d->cmd, svk, b->buf, 1, &region);
        bool ok = vk_transfer_end(d, "tensor copy");
        pthread_mutex_unlock(&d->lock);
        if (!ok) GGML_LOG_ERROR("Vulkan: copying tensor '%s' to '%s' (%zu bytes) failed\n", src->name, dst->name, n);
        return ok;
    }
    if (ggml_backend_buffer_is_host(sbuf)) {
        return vk_buffer_set_tensor(buffer, dst, src->data, 0, n) == GGML_STATUS_SUCCESS;
    }
    return false;
}

static const struct ggml_backend_buffer_i vk_buffer_iface = {
    /* .free_buffer   = */ vk_buffer_free,
    /* .get_base      = */ vk_buffer_get_base,
    /* .init_tensor   = */ vk_buffer_init_tensor,
    /* .memset_tensor = */ vk_buffer_memset_tensor,
    /* .set_tensor    = */ vk_buffer_set_tensor,
    /* .get_tensor    = */ vk_buffer_get_tensor,
    /* .cpy_tensor    = */ vk_buffer_cpy_tensor,
    /* .clear         = */ vk_buffer_clear,
    /* .reset         = */ NULL,
};

//
// buffer types
//

static ggml_backend_buffer_t vk_buffer_alloc(ggml_backend_buffer_type_t buft, size_t size, bool host) {
    struct vk_device * d = buft->context;
    const char * tname = buft->iface.get_name(buft);
    if (size > d->max_size) {
        GGML_LOG_ERROR("Vulkan: cannot allocate a buffer of %zu bytes of type %s: the device's max buffer size is %zu bytes "
                       "(min of maxStorageBufferRange and maxMemoryAllocationSize)\n", size, tname, d->max_size);
        return NULL;
    }
    if (size > d->heap_size) {
        GGML_LOG_ERROR("Vulkan: cannot allocate a buffer of %zu bytes of type %s: the device's memory heap has %zu bytes\n",
                       size, tname, d->heap_size);
        return NULL;
    }
    pthread_mutex_lock(&d->lock);
    bool open = ggalloc_vk_device_open(d);
    pthread_mutex_unlock(&d->lock);
    if (!open) {
        GGML_LOG_ERROR("Vulkan: cannot allocate a buffer of %zu bytes of type %s: the device did not start\n", size, tname);
        return NULL;
    }

    struct vk_buffer * b = calloc(1, sizeof(*b));
    if (b == NULL) {
        GGML_LOG_ERROR("Vulkan: out of host memory for a buffer of type %s\n", tname);
        return NULL;
    }
    b->dev = d;
    if (size > 0) {
        const char * step = "create the buffer";
        VkBufferCreateInfo bci = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
            .size = size,
            .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
            .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
        };
        VkResult r = vkCreateBuffer(d->dev, &bci, NULL, &b->buf);
        int type = -1;
        if (r == VK_SUCCESS) {
            VkMemoryRequirements req;
            vkGetBufferMemoryRequirements(d->dev, b->buf, &req);
            if (host) {
                type = ggalloc_vk_memory_type(d, req.memoryTypeBits,
                        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                        VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
            } else {
                type = ggalloc_vk_memory_type(d, req.memoryTypeBits, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
            }
            step = "find a memory type";
            r = VK_ERROR_FEATURE_NOT_PRESENT;
            if (type >= 0) {
                VkMemoryAllocateInfo mai = {
                    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                    .allocationSize = req.size,
                    .memoryTypeIndex = (uint32_t) type,
                };
                step = "allocate device memory";
                r = vkAllocateMemory(d->dev, &mai, NULL, &b->mem);
                if (r == VK_SUCCESS) {
                    step = "bind memory";
                    r = vkBindBufferMemory(d->dev, b->buf, b->mem, 0);
                    if (r == VK_SUCCESS && host) {
                        step = "map memory";
                        void * p = NULL;
                        r = vkMapMemory(d->dev, b->mem, 0, VK_WHOLE_SIZE, 0, &p);
                        b->mapped = p;
                    }
                    if (r != VK_SUCCESS) vkFreeMemory(d->dev, b->mem, NULL);
                }
            }
            if (r != VK_SUCCESS) vkDestroyBuffer(d->dev, b->buf, NULL);
        }
        if (r != VK_SUCCESS) {
            GGML_LOG_ERROR("Vulkan: cannot allocate a buffer of %zu bytes of type %s: could not %s (%s)\n",
                           size, tname, step, ggalloc_vk_result_str(r));
            free(b);
            return NULL;
        }
    }
    pthread_mutex_lock(&d->lock);
    d->n_buffers++;
    pthread_mutex_unlock(&d->lock);
    ggml_backend_buffer_t buffer = ggml_backend_buffer_init(buft, vk_buffer_iface, b, size);
    if (buffer == NULL) {
        GGML_LOG_ERROR("Vulkan: out of host memory for a buffer of type %s\n", tname);
        struct ggml_backend_buffer tmp = { .context = b };
        vk_buffer_free(&tmp);
        return NULL;
    }
    return buffer;
}

static const char * vk_buft_get_name(ggml_backend_buffer_type_t buft) {
    struct vk_device * d = buft->context;
    return d->name;
}

static const char * vk_host_buft_get_name(ggml_backend_buffer_type_t buft) {
    (void) buft;
    return "Vulkan_Host";
}

static ggml_backend_buffer_t vk_buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    return vk_buffer_alloc(buft, size, false);
}

static ggml_backend_buffer_t vk_host_buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    return vk_buffer_alloc(buft, size, true);
}

static size_t vk_buft_get_alignment(ggml_backend_buffer_type_t buft) {
    struct vk_device * d = buft->context;
    return d->alignment;
}

static size_t vk_buft_get_max_size(ggml_backend_buffer_type_t buft) {
    struct vk_device * d = buft->context;
    return d->max_size;
}

static bool vk_buft_is_host(ggml_backend_buffer_type_t buft) {
    (void) buft;
    return false;
}

static bool vk_host_buft_is_host(ggml_backend_buffer_type_t buft) {
    (void) buft;
    return true;
}

void ggalloc_vk_buffer_types_init(struct vk_device * d) {
    d->buft = (struct ggml_backend_buffer_type) {
        .iface = {
            .get_name       = vk_buft_get_name,
            .alloc_buffer   = vk_buft_alloc_buffer,
            .get_alignment  = vk_buft_get_alignment,
            .get_max_size   = vk_buft_get_max_size,
            .get_alloc_size = NULL,
            .is_host        = vk_buft_is_host,
        },
        .device  = &d->gdev,
        .context = d,
    };
    d->host_buft = (struct ggml_backend_buffer_type) {
        .iface = {
            .get_name       = vk_host_buft_get_name,
            .alloc_buffer   = vk_host_buft_alloc_buffer,
            .get_alignment  = vk_buft_get_alignment,
            .get_max_size   = vk_buft_get_max_size,
            .get_alloc_size = NULL,
            .is_host        = vk_host_buft_is_host,
        },
        .device  = &d->gdev,
        .context = d,
    };
}

bool ggalloc_vk_buft_is_vk(ggml_backend_buffer_type_t buft, struct vk_device * d) {
    return buft == &d->buft || buft == &d->host_buft;
}

bool ggalloc_vk_buffer_get(ggml_backend_buffer_t buffer, struct vk_device * d, VkBuffer * vkbuf, size_t * size) {
    if (buffer == NULL || !ggalloc_vk_buft_is_vk(buffer->buft, d)) return false;
    struct vk_buffer * b = buffer->context;
    if (vkbuf) *vkbuf = b->buf;
    if (size) *size = buffer->size;
    return true;
}
