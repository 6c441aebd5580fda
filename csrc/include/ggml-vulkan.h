#pragma once

//
// ggml-vulkan.h — the Vulkan backend, with ggml's names.
//
// Example:
//
//   if (ggml_backend_vk_get_device_count() == 0) { ... }          // no Vulkan device: use the CPU
//   char desc[256];
//   ggml_backend_vk_get_device_description(0, desc, sizeof(desc));
//   ggml_backend_t vk = ggml_backend_vk_init(0);                   // NULL (and a log line) on failure
//   ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_vk_buffer_type(0));
//   ggml_gallocr_alloc_graph(galloc, graph);                       // may split into several chunks
//   ggml_backend_tensor_set(input, host_data, 0, ggml_nbytes(input));
//   ggml_backend_graph_compute(vk, graph);                         // GGML_STATUS_FAILED names the node
//   ggml_backend_tensor_get(output, host_out, 0, ggml_nbytes(output));
//   ggml_gallocr_free(galloc);
//   ggml_backend_free(vk);
//
// The header exists only in builds with Vulkan (GGALLOC_USE_VULKAN); without it the registry
// simply has no Vulkan backend. At run time a machine without a Vulkan device reports a device
// count of 0, and init returns NULL with a log line.
//
// Device buffers carry the device's limits: alignment minStorageBufferOffsetAlignment and max
// size min(maxStorageBufferRange, maxMemoryAllocationSize), so the graph allocator splits large
// plans into chunks that each fit one binding. Their memory is not host-addressable (tensor
// data pointers are offsets from a fixed base); read and write it with ggml_backend_tensor_*.
// The host buffer type is host-visible device memory: its tensors are ordinary host pointers
// that the device reads without copies.
//
// Backends are owned by the caller (ggml_backend_free); buffer types, devices and the registry
// live as long as the process. Functions given a device index out of range log it and return
// NULL / nothing. Compute runs the whole graph as one command buffer and waits for it; a node
// whose op has no shader is refused by ggml_backend_supports_op, and a graph containing one
// fails before any work with a log line naming the node.
//

#include "ggml.h"
#include "ggml-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GGML_VK_NAME "Vulkan"
#define GGML_VK_MAX_DEVICES 16

// NULL (and a log line) if there is no such device or it cannot start.
GGML_API ggml_backend_t ggml_backend_vk_init(size_t dev_num);

GGML_API bool ggml_backend_is_vk(ggml_backend_t backend);
// Devices that can compute (0 when there is no Vulkan loader, driver or device).
GGML_API int  ggml_backend_vk_get_device_count(void);
// The device's name ("" when out of range), truncated to description_size.
GGML_API void ggml_backend_vk_get_device_description(int device, char * description, size_t description_size);
// Bytes of the largest device-local heap, as total and as free (core Vulkan does not report
// how much of a heap is in use). 0 and a log line for a device out of range.
GGML_API void ggml_backend_vk_get_device_memory(int device, size_t * free, size_t * total);

// NULL if there is no such device.
GGML_API ggml_backend_buffer_type_t ggml_backend_vk_buffer_type(size_t dev_num);
// Host-visible memory of device 0, for zero-copy inputs and outputs; NULL without a device.
GGML_API ggml_backend_buffer_type_t ggml_backend_vk_host_buffer_type(void);

GGML_API ggml_backend_reg_t ggml_backend_vk_reg(void);

#ifdef __cplusplus
}
#endif
