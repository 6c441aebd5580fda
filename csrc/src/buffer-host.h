#pragma once

// Host memory buffers (buffer-host.c) beyond the public constructors: a buffer of any host
// buffer type over memory the caller owns, for the older allocator API (alloc-legacy.c).

#include "backend-impl.h"

#ifdef __cplusplus
extern "C" {
#endif

// A buffer of the host buffer type buft over [ptr, ptr + size), which the caller keeps alive and
// frees. NULL (and a log line) if buft is not a host buffer type of buffer-host.c, ptr is NULL,
// or out of memory.
ggml_backend_buffer_t ggalloc_host_buffer_from_ptr(ggml_backend_buffer_type_t buft, void * ptr, size_t size);

#ifdef __cplusplus
}
#endif
