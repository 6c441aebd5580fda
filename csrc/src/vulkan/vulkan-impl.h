#pragma once

// The Vulkan backend's insides, shared by its files: device.c (instance, devices, queue,
// command submission, staging memory), buffer.c (the two buffer types), compute.c (pipelines
// and graph compute), backend.c (the backend, device and registry vtables). Nothing outside
// csrc/src/vulkan includes this.

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "backend-impl.h"

// The compute pipelines, one per shader variant (names in compute.c's table).
enum vk_pipe {
    VK_PIPE_BINARY,
    VK_PIPE_UNARY,
    VK_PIPE_NORM,
    VK_PIPE_SOFT_MAX_F32,
    VK_PIPE_SOFT_MAX_F16,
    VK_PIPE_MUL_MAT_F32,
    VK_PIPE_MUL_MAT_F16,
    VK_PIPE_MUL_MV_F32,
    VK_PIPE_MUL_MV_F16,
    VK_PIPE_MUL_MV_WG_F32,
    VK_PIPE_MUL_MV_WG_F16,
    VK_PIPE_CPY_F32_F32,
    VK_PIPE_CPY_F32_F16,
    VK_PIPE_CPY_F16_F32,
    VK_PIPE_CPY_F16_F16,
    VK_PIPE_GET_ROWS_F32,
    VK_PIPE_GET_ROWS_F16,
    VK_PIPE_ROPE,
    VK_PIPE_MUL_MAT_Q4_0,
    VK_PIPE_MUL_MAT_Q8_0,
    VK_PIPE_GET_ROWS_Q4_0,
    VK_PIPE_GET_ROWS_Q8_0,
    VK_PIPE_GLU,
    VK_PIPE_SET_ROWS_F32,
    VK_PIPE_SET_ROWS_F16,
    VK_PIPE_COUNT,
};

// Descriptor bindings of every pipeline: src0, src1, src2, dst.
#define VK_N_BINDINGS 4

struct vk_device {
    int index;
    VkPhysicalDevice phys;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    uint32_t queue_family;
    bool     f16_storage;   // storageBuffer16BitAccess: f16 tensors can be bound
    bool     mv_workgroup;  // matrix-vector products: a workgroup per row (GPUs) or an
                            // invocation per row (CPU implementations, where barriers cost)
    size_t   alignment;     // minStorageBufferOffsetAlignment
    size_t   max_size;      // min(maxStorageBufferRange, maxMemoryAllocationSize)
    size_t   heap_size;     // the largest device-local heap
    char     name[16];      // "Vulkan0"
    char     description[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];

    // Everything below is guarded by lock: the queue, the one command buffer, the staging
    // memory and the descriptor pool are used by one transfer or one graph at a time.
    pthread_mutex_t lock;
    bool opened;
    bool lost;              // a submission reported VK_ERROR_DEVICE_LOST: every later use fails
    int  n_buffers;         // live buffers: the device is torn down at exit only when none is left
    VkDevice        dev;
    VkQueue         queue;
    VkCommandPool   cmd_pool;
    VkCommandBuffer cmd;
    VkFence         fence;

    VkBuffer        staging;
    VkDeviceMemory  staging_mem;
    void *          staging_ptr;
    size_t          staging_size;

    VkDescriptorSetLayout dsl;
    VkPipelineLayout      pipeline_layout;
    VkPipeline            pipes[VK_PIPE_COUNT];
    VkDescriptorPool      desc_pool;
    uint32_t              desc_pool_sets;

    struct ggml_backend_buffer_type buft;
    struct ggml_backend_buffer_type host_buft;
    struct ggml_backend_device      gdev;
};

// device.c

const char *        ggalloc_vk_result_str(VkResult r);
int                 ggalloc_vk_device_count(void);
struct vk_device *  ggalloc_vk_device_get(int index); // NULL (no log) if out of range
// Creates the logical device, queue, command buffer and layouts on first use. Call with
// dev->lock held. false (and a log line) if the device cannot start or was lost.
bool     ggalloc_vk_device_open(struct vk_device * dev);
// A memory type allowed by type_bits with all of required, preferring ones that also have
// preferred; -1 if none.
int      ggalloc_vk_memory_type(struct vk_device * dev, uint32_t type_bits, VkMemoryPropertyFlags required,
                                VkMemoryPropertyFlags preferred);
// Begins recording dev->cmd. Lock held.
bool     ggalloc_vk_cmd_begin(struct vk_device * dev, const char * what);
// Ends dev->cmd, submits it and waits for it. Lock held. false (and a log line naming what)
// on failure; a lost device is remembered.
bool     ggalloc_vk_cmd_submit_wait(struct vk_device * dev, const char * what);
// Makes sure the staging buffer exists (host-visible, mapped). Lock held.
bool     ggalloc_vk_staging_ready(struct vk_device * dev);

// buffer.c

void     ggalloc_vk_buffer_types_init(struct vk_device * dev);
// The VkBuffer behind a buffer of dev (either type); false if the buffer is not one of dev's.
bool     ggalloc_vk_buffer_get(ggml_backend_buffer_t buffer, struct vk_device * dev, VkBuffer * vkbuf, size_t * size);
bool     ggalloc_vk_buft_is_vk(ggml_backend_buffer_type_t buft, struct vk_device * dev);

// backend.c

void     ggalloc_vk_device_iface_init(struct vk_device * dev);

// compute.c

bool             ggalloc_vk_supports_op(struct vk_device * dev, const struct ggml_tensor * op);
enum ggml_status ggalloc_vk_graph_compute(struct vk_device * dev, struct ggml_cgraph * graph);
// Barriers placed between the dispatches of the last graph computed (any device).
int              ggalloc_vk_last_graph_barriers(void);
// Dispatches of the last graph (fused node pairs count once).
int              ggalloc_vk_last_graph_dispatches(void);
// Destroys the pipelines made so far. Lock held.
void             ggalloc_vk_pipelines_free(struct vk_device * dev);

// vk-shaders.c (generated by build_shaders.py)

const uint32_t * ggalloc_vk_shader_find(const char * name, size_t * size);
