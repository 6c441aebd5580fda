// Vulkan instance and devices.
//
// The instance is created once, on the first question about devices, and the physical
// devices that can run the backend (Vulkan 1.1 and a queue family with compute) are listed
// in a stable order: discrete GPUs, integrated GPUs, virtual GPUs, then CPU implementations
// (such as Mesa's lavapipe), each group in the driver's order. A machine without a loader,
// driver or device gets an empty list and a log line, never an error later.
//
// A device is opened (logical device, one queue, one command buffer, one fence, the
// descriptor set and pipeline layouts every shader shares) on first use, under its lock. All
// work on a device is serialised by that lock and submitted as one command buffer followed by
// a wait on the fence: transfers and graphs are synchronous, which keeps ownership simple
// (no work is ever in flight when a call returns). A submission that reports the device lost
// marks it lost for good; every later call fails with a log line instead of touching it.
//
// The devices and their Vulkan objects live as long as the process, like ggml's. At exit, a
// device with no buffer left is torn down (pipelines, staging, device, then the instance), so
// drivers that keep state outside the process's heap scans (JIT code) are not reported as
// leaking; a device that still has buffers is left alone, since someone may free them later
// in the exit sequence.
//
// The driver libraries the loader maps while the instance is created stay mapped until the
// process ends (one extra dlopen reference each): destroying the instance at exit would
// otherwise unmap them before the leak checker runs, and whatever a driver keeps for itself
// would be reported from "<unknown module>", where no suppression can name it. Mapped, such
// memory is attributed to the driver's own library (csrc/tests/lsan.supp names those), while
// everything ggalloc allocates stays visible to the checker.

#include "vulkan-impl.h"

#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "ggml-vulkan.h"
#include "log.h"

#define VK_STAGING_SIZE ((size_t) 32*1024*1024)

static pthread_once_t   vk_once = PTHREAD_ONCE_INIT;
static VkInstance       vk_instance = VK_NULL_HANDLE;
static struct vk_device vk_devices[GGML_VK_MAX_DEVICES];
static int              vk_n_devices = 0;

const char * ggalloc_vk_result_str(VkResult r) {
    switch (r) {
        case VK_SUCCESS:                        return "VK_SUCCESS";
        case VK_ERROR_OUT_OF_HOST_MEMORY:       return "VK_ERROR_OUT_OF_HOST_MEMORY";
        case VK_ERROR_OUT_OF_DEVICE_MEMORY:     return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
        case VK_ERROR_INITIALIZATION_FAILED:    return "VK_ERROR_INITIALIZATION_FAILED";
        case VK_ERROR_DEVICE_LOST:              return "VK_ERROR_DEVICE_LOST";
        case VK_ERROR_MEMORY_MAP_FAILED:        return "VK_ERROR_MEMORY_MAP_FAILED";
        case VK_ERROR_INCOMPATIBLE_DRIVER:      return "VK_ERROR_INCOMPATIBLE_DRIVER";
        case VK_ERROR_EXTENSION_NOT_PRESENT:    return "VK_ERROR_EXTENSION_NOT_PRESENT";
        case VK_ERROR_FEATURE_NOT_PRESENT:      return "VK_ERROR_FEATURE_NOT_PRESENT";
        case VK_ERROR_TOO_MANY_OBJECTS:         return "VK_ERROR_TOO_MANY_OBJECTS";
        case VK_ERROR_OUT_OF_POOL_MEMORY:       return "VK_ERROR_OUT_OF_POOL_MEMORY";
        case VK_TIMEOUT:                        return "VK_TIMEOUT";
        default:                                return "VkResult error";
    }
}

static int vk_type_rank(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:   return 0;
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:    return 2;
        case VK_PHYSICAL_DEVICE_TYPE_CPU:            return 3;
        default:                                     return 4;
    }
}

static bool vk_device_describe(struct vk_device * d, VkPhysicalDevice phys) {
    memset(d, 0, sizeof(*d));
    d->phys = phys;
    vkGetPhysicalDeviceProperties(phys, &d->props);
    if (d->props.apiVersion < VK_API_VERSION_1_1) {
        GGML_LOG_INFO("Vulkan: skipping '%s': it offers Vulkan %u.%u, the backend needs 1.1\n", d->props.deviceName,
                      VK_VERSION_MAJOR(d->props.apiVersion), VK_VERSION_MINOR(d->props.apiVersion));
        return false;
    }

    uint32_t nq = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, NULL);
    VkQueueFamilyProperties qf[64];
    if (nq > 64) nq = 64;
    vkGetPhysicalDeviceQueueFamilyProperties(phys, &nq, qf);
    // a compute-only family, where there is one, does not compete with graphics work
    int family = -1;
    for (uint32_t i = 0; i < nq; i++) {
        if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && qf[i].queueCount > 0) {
            if (family < 0 || !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) family = (int) i;
        }
    }
    if (family < 0) {
        GGML_LOG_INFO("Vulkan: skipping '%s': no queue family with compute\n", d->props.deviceName);
        return false;
    }
    d->queue_family = (uint32_t) family;

    VkPhysicalDeviceMaintenance3Properties m3 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES };
    VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3 };
    vkGetPhysicalDeviceProperties2(phys, &p2);

    VkPhysicalDevice16BitStorageFeatures f16 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES };
    VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f16 };
    vkGetPhysicalDeviceFeatures2(phys, &f2);
    d->f16_storage = f16.storageBuffer16BitAccess == VK_TRUE;
    d->mv_workgroup = d->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU;

    vkGetPhysicalDeviceMemoryProperties(phys, &d->mem_props);
    for (uint32_t i = 0; i < d->mem_props.memoryHeapCount; i++) {
        const VkMemoryHeap * h = &d->mem_props.memoryHeaps[i];
        if ((h->flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && h->size > d->heap_size) d->heap_size = (size_t) h->size;
    }
    if (d->heap_size == 0 && d->mem_props.memoryHeapCount > 0) d->heap_size = (size_t) d->mem_props.memoryHeaps[0].size;

    d->alignment = (size_t) d->props.limits.minStorageBufferOffsetAlignment;
    if (d->alignment < 16) d->alignment = 16; // keeps every element type's offsets whole
    size_t max_size = (size_t) d->props.limits.maxStorageBufferRange;
    if (m3.maxMemoryAllocationSize > 0 && (size_t) m3.maxMemoryAllocationSize < max_size) {
        max_size = (size_t) m3.maxMemoryAllocationSize;
    }
    // whole multiples of the alignment, so a chunk filled to its max stays aligned
    d->max_size = max_size / d->alignment * d->alignment;
    snprintf(d->description, sizeof(d->description), "%s", d->props.deviceName);
    return true;
}

static void vk_device_close(struct vk_device * d);

static void vk_teardown(void) {
    bool all_closed = true;
    for (int i = 0; i < vk_n_devices; i++) {
        struct vk_device * d = &vk_devices[i];
        pthread_mutex_lock(&d->lock);
        if (d->dev != VK_NULL_HANDLE) {
            if (d->n_buffers == 0) {
                vkDeviceWaitIdle(d->dev);
                ggalloc_vk_pipelines_free(d);
                if (d->desc_pool != VK_NULL_HANDLE) vkDestroyDescriptorPool(d->dev, d->desc_pool, NULL);
                d->desc_pool = VK_NULL_HANDLE;
                d->desc_pool_sets = 0;
                if (d->staging != VK_NULL_HANDLE) {
                    vkUnmapMemory(d->dev, d->staging_mem);
                    vkDestroyBuffer(d->dev, d->staging, NULL);
                    vkFreeMemory(d->dev, d->staging_mem, NULL);
                }
                d->staging = VK_NULL_HANDLE;
                d->staging_mem = VK_NULL_HANDLE;
                d->staging_ptr = NULL;
                d->staging_size = 0;
                vk_device_close(d);
                d->opened = false;
            } else {
                all_closed = false;
            }
        }
        pthread_mutex_unlock(&d->lock);
    }
    if (all_closed && vk_instance != VK_NULL_HANDLE) {
        vkDestroyInstance(vk_instance, NULL);
        vk_instance = VK_NULL_HANDLE;
        vk_n_devices = 0;
    }
}

static int vk_count_module(struct dl_phdr_info * info, size_t size, void * data) {
    (void) info; (void) size;
    (*(int *) data)++;
    return 0;
}

struct vk_pin { int skip; int seen; };

static int vk_pin_module(struct dl_phdr_info * info, size_t size, void * data) {
    (void) size;
    struct vk_pin * pin = data;
    if (pin->seen++ >= pin->skip && info->dlpi_name != NULL && info->dlpi_name[0] != '\0') {
        // never closed: the reference is what keeps the driver mapped
        (void) dlopen(info->dlpi_name, RTLD_LAZY | RTLD_NOLOAD);
    }
    return 0;
}

static void vk_init_devices(void) {
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "ggalloc",
        .pEngineName = "ggalloc",
        .apiVersion = VK_API_VERSION_1_1,
    };
    VkInstanceCreateInfo ici = { .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app };
    VkResult r = vkCreateInstance(&ici, NULL, &vk_instance);
    if (r != VK_SUCCESS) {
        GGML_LOG_INFO("Vulkan: no instance (%s): the Vulkan backend has no devices\n", ggalloc_vk_result_str(r));
        vk_instance = VK_NULL_HANDLE;
        return;
    }
    uint32_t n = 0;
    r = vkEnumeratePhysicalDevices(vk_instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) {
        GGML_LOG_INFO("Vulkan: no physical device (%s): the Vulkan backend has no devices\n",
                      r != VK_SUCCESS ? ggalloc_vk_result_str(r) : "the driver lists none");
        return;
    }
    VkPhysicalDevice phys[64];
    if (n > 64) n = 64;
    r = vkEnumeratePhysicalDevices(vk_instance, &n, phys);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
        GGML_LOG_INFO("Vulkan: listing devices failed (%s)\n", ggalloc_vk_result_str(r));
        return;
    }
    struct vk_device cand;
    for (int rank = 0; rank <= 4; rank++) {
        for (uint32_t i = 0; i < n && vk_n_devices < (int) (sizeof(vk_devices)/sizeof(vk_devices[0])); i++) {
            VkPhysicalDeviceProperties p;
            vkGetPhysicalDeviceProperties(phys[i], &p);
            if (vk_type_rank(p.deviceType) != rank) continue;
            if (!vk_device_describe(&cand, phys[i])) continue;
            struct vk_device * d = &vk_devices[vk_n_devices];
            *d = cand;
            d->index = vk_n_devices;
            snprintf(d->name, sizeof(d->name), "Vulkan%d", d->index);
            pthread_mutex_init(&d->lock, NULL);
            ggalloc_vk_buffer_types_init(d);
            ggalloc_vk_device_iface_init(d);
            vk_n_devices++;
        }
    }
    if (vk_n_devices == 0) {
        GGML_LOG_INFO("Vulkan: none of the %u physical devices can run the backend\n", n);
    }
    atexit(vk_teardown);
}

static void vk_init_once(void) {
    int n_modules = 0;
    dl_iterate_phdr(vk_count_module, &n_modules);
    vk_init_devices();
    struct vk_pin pin = { .skip = n_modules, .seen = 0 };
    dl_iterate_phdr(vk_pin_module, &pin);
}

int ggalloc_vk_device_count(void) {
    pthread_once(&vk_once, vk_init_once);
    return vk_n_devices;
}

struct vk_device * ggalloc_vk_device_get(int index) {
    if (index < 0 || index >= ggalloc_vk_device_count()) return NULL;
    return &vk_devices[index];
}

int ggalloc_vk_memory_type(struct vk_device * dev, uint32_t type_bits, VkMemoryPropertyFlags required,
                           VkMemoryPropertyFlags preferred) {
    int fallback = -1;
    for (uint32_t i = 0; i < dev->mem_props.memoryTypeCount; i++) {
        if (!(type_bits & (1u << i))) continue;
        VkMemoryPropertyFlags f = dev->mem_props.memoryTypes[i].propertyFlags;
        if ((f & required) != required) continue;
        if ((f & preferred) == preferred) return (int) i;
        if (fallback < 0) fallback = (int) i;
    }
    return fallback;
}

// Undoes a partly finished open, so a later call may try again.
static void vk_device_close(struct vk_device * d) {
    if (d->dev == VK_NULL_HANDLE) return;
    if (d->pipeline_layout) vkDestroyPipelineLayout(d->dev, d->pipeline_layout, NULL);
    if (d->dsl)             vkDestroyDescriptorSetLayout(d->dev, d->dsl, NULL);
    if (d->fence)           vkDestroyFence(d->dev, d->fence, NULL);
    if (d->cmd_pool)        vkDestroyCommandPool(d->dev, d->cmd_pool, NULL);
    vkDestroyDevice(d->dev, NULL);
    d->pipeline_layout = VK_NULL_HANDLE;
    d->dsl = VK_NULL_HANDLE;
    d->fence = VK_NULL_HANDLE;
    d->cmd_pool = VK_NULL_HANDLE;
    d->cmd = VK_NULL_HANDLE;
    d->dev = VK_NULL_HANDLE;
}

bool ggalloc_vk_device_open(struct vk_device * d) {
    if (d->lost) {
        GGML_LOG_ERROR("Vulkan: device %s (%s) was lost; it cannot be used any more\n", d->name, d->description);
        return false;
    }
    if (d->opened) return true;

    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = d->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &prio,
    };
    VkPhysicalDevice16BitStorageFeatures f16 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES,
        .storageBuffer16BitAccess = d->f16_storage ? VK_TRUE : VK_FALSE,
    };
    VkDeviceCreateInfo dci = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &f16,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qci,
    };
    VkResult r = vkCreateDevice(d->phys, &dci, NULL, &d->dev);
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: cannot create device %s (%s): %s\n", d->name, d->description, ggalloc_vk_result_str(r));
        d->dev = VK_NULL_HANDLE;
        return false;
    }
    vkGetDeviceQueue(d->dev, d->queue_family, 0, &d->queue);

    VkCommandPoolCreateInfo pci = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = d->queue_family,
    };
    r = vkCreateCommandPool(d->dev, &pci, NULL, &d->cmd_pool);
    if (r == VK_SUCCESS) {
        VkCommandBufferAllocateInfo cai = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
            .commandPool = d->cmd_pool,
            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
            .commandBufferCount = 1,
        };
        r = vkAllocateCommandBuffers(d->dev, &cai, &d->cmd);
    }
    if (r == VK_SUCCESS) {
        VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
        r = vkCreateFence(d->dev, &fci, NULL, &d->fence);
    }
    if (r == VK_SUCCESS) {
        VkDescriptorSetLayoutBinding b[VK_N_BINDINGS];
        for (uint32_t i = 0; i < VK_N_BINDINGS; i++) {
            b[i] = (VkDescriptorSetLayoutBinding) {
                .binding = i,
                .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                .descriptorCount = 1,
                .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
            };
        }
        VkDescriptorSetLayoutCreateInfo lci = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
            .bindingCount = VK_N_BINDINGS,
            .pBindings = b,
        };
        r = vkCreateDescriptorSetLayout(d->dev, &lci, NULL, &d->dsl);
    }
    if (r == VK_SUCCESS) {
        VkPushConstantRange pcr = { .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = 128 };
        VkPipelineLayoutCreateInfo plci = {
            .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
            .setLayoutCount = 1,
            .pSetLayouts = &d->dsl,
            .pushConstantRangeCount = 1,
            .pPushConstantRanges = &pcr,
        };
        r = vkCreatePipelineLayout(d->dev, &plci, NULL, &d->pipeline_layout);
    }
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: cannot set up device %s (%s): %s\n", d->name, d->description, ggalloc_vk_result_str(r));
        vk_device_close(d);
        return false;
    }
    d->opened = true;
    return true;
}

bool ggalloc_vk_cmd_begin(struct vk_device * d, const char * what) {
    VkResult r = vkResetCommandBuffer(d->cmd, 0);
    if (r == VK_SUCCESS) {
        VkCommandBufferBeginInfo bi = {
            .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
        };
        r = vkBeginCommandBuffer(d->cmd, &bi);
    }
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: %s on %s: cannot record commands: %s\n", what, d->name, ggalloc_vk_result_str(r));
        return false;
    }
    return true;
}

bool ggalloc_vk_cmd_submit_wait(struct vk_device * d, const char * what) {
    VkResult r = vkEndCommandBuffer(d->cmd);
    if (r == VK_SUCCESS) {
        VkSubmitInfo si = {
            .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
            .commandBufferCount = 1,
            .pCommandBuffers = &d->cmd,
        };
        r = vkQueueSubmit(d->queue, 1, &si, d->fence);
        if (r == VK_SUCCESS) {
            r = vkWaitForFences(d->dev, 1, &d->fence, VK_TRUE, UINT64_MAX);
            VkResult r2 = vkResetFences(d->dev, 1, &d->fence);
            if (r == VK_SUCCESS) r = r2;
        }
    }
    if (r == VK_ERROR_DEVICE_LOST) {
        d->lost = true;
        GGML_LOG_ERROR("Vulkan: %s on %s (%s): the device was lost\n", what, d->name, d->description);
        return false;
    }
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: %s on %s: submission failed: %s\n", what, d->name, ggalloc_vk_result_str(r));
        return false;
    }
    return true;
}

bool ggalloc_vk_staging_ready(struct vk_device * d) {
    if (d->staging != VK_NULL_HANDLE) return true;
    size_t size = VK_STAGING_SIZE < d->max_size ? VK_STAGING_SIZE : d->max_size;
    VkBufferCreateInfo bci = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VkResult r = vkCreateBuffer(d->dev, &bci, NULL, &d->staging);
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: cannot create the %zu-byte staging buffer on %s: %s\n", size, d->name, ggalloc_vk_result_str(r));
        d->staging = VK_NULL_HANDLE;
        return false;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d->dev, d->staging, &req);
    // cached memory makes reading back fast; coherent memory needs no flushes
    int type = ggalloc_vk_memory_type(d, req.memoryTypeBits,
            VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    if (type >= 0) {
        VkMemoryAllocateInfo mai = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
            .allocationSize = req.size,
            .memoryTypeIndex = (uint32_t) type,
        };
        r = vkAllocateMemory(d->dev, &mai, NULL, &d->staging_mem);
        if (r == VK_SUCCESS) {
            r = vkBindBufferMemory(d->dev, d->staging, d->staging_mem, 0);
            if (r == VK_SUCCESS) r = vkMapMemory(d->dev, d->staging_mem, 0, VK_WHOLE_SIZE, 0, &d->staging_ptr);
            if (r != VK_SUCCESS) {
                vkFreeMemory(d->dev, d->staging_mem, NULL);
            }
        }
    }
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: cannot get %zu bytes of host-visible staging memory on %s: %s\n", size, d->name,
                       type < 0 ? "no host-visible coherent memory type" : ggalloc_vk_result_str(r));
        vkDestroyBuffer(d->dev, d->staging, NULL);
        d->staging = VK_NULL_HANDLE;
        d->staging_mem = VK_NULL_HANDLE;
        d->staging_ptr = NULL;
        return false;
    }
    d->staging_size = size;
    return true;
}
