#pragma once

//
// ggalloc-buffer.h — host buffer types with any device's limits, and tensor transfers
// that report their outcome.
//
// Example:
//
//   ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(256, 128u << 20); // a GPU's limits
//   ggml_gallocr_t galloc = ggml_gallocr_new(buft);                            // plan for them here
//   if (ggalloc_backend_tensor_set(t, data, 0, ggml_nbytes(t)) != GGML_STATUS_SUCCESS) { ... } // the log says why
//

#include "ggml.h"
#include "ggml-backend.h"
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Host memory with the given alignment (a power of two) and max buffer size (SIZE_MAX: none),
// to plan for any device's limits on any machine. The same arguments give the same object,
// which lives as long as the process. NULL (and a log line) for an alignment that is not a
// power of two or a max_size of 0.
GGML_API ggml_backend_buffer_type_t ggalloc_host_buffer_type(size_t alignment, size_t max_size);

// A host buffer type of its own, distinct from every other (ggalloc_host_buffer_type interns):
// for planning several buffers of the same limits, one type per buffer (reserve_n). Owned by
// the caller and freed with ggalloc_host_buffer_type_free; buffers of it still alive then keep
// it alive until the last of them is freed. NULL (and a log line) on the same arguments
// ggalloc_host_buffer_type refuses, or out of memory. _free(NULL) is a no-op.
GGML_API ggml_backend_buffer_type_t ggalloc_host_buffer_type_new(size_t alignment, size_t max_size);
GGML_API void                       ggalloc_host_buffer_type_free(ggml_backend_buffer_type_t buft);

// A host buffer type whose allocations fail once more than `budget` bytes are outstanding
// (budget 0: every allocation fails), for testing failure paths. Owned by the caller and freed
// with ggalloc_failing_buffer_type_free; buffers of it still alive then keep it alive until the
// last of them is freed (so any freeing order is safe). NULL if out of memory.
GGML_API ggml_backend_buffer_type_t ggalloc_failing_buffer_type_new(size_t alignment, size_t max_size, size_t budget);
GGML_API void                       ggalloc_failing_buffer_type_free(ggml_backend_buffer_type_t buft);

// The transfers of ggml_backend_tensor_set / _get / _memset, with their outcome: GGML_STATUS_SUCCESS,
// or GGML_STATUS_FAILED (and a log line naming the tensor and the numbers) for a NULL tensor or
// data, a range outside the tensor or its buffer, a tensor without memory, or a buffer that
// cannot do it; nothing is copied then. ggml's functions of the same name (which return
// nothing) are these without the status.
GGML_API enum ggml_status ggalloc_backend_tensor_set(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
GGML_API enum ggml_status ggalloc_backend_tensor_get(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size);
GGML_API enum ggml_status ggalloc_backend_tensor_memset(struct ggml_tensor * tensor, uint8_t value, size_t offset, size_t size);

#ifdef __cplusplus
}
#endif
