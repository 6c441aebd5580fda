#pragma once

//
// ggalloc-gguf.h — GGUF files read in place: a read-only mapping of a file whose tensors'
// data point into it, so the weights of a large model cost no memory of their own, and GGUF
// parsed from a buffer in memory.
//
// Example:
//
//   struct ggalloc_mapped_file * file = ggalloc_mapped_file_new("model.gguf"); // NULL: the log says why
//   struct ggml_context * meta = NULL;
//   struct gguf_init_params params = { /*no_alloc =*/ false, /*ctx =*/ &meta };
//   struct gguf_context * gctx = ggalloc_gguf_init_from_mapped_file(file, params);
//   struct ggml_tensor * w = ggml_get_tensor(meta, "output.weight");       // w->data is in the mapping
//   ...
//   gguf_free(gctx);
//   ggml_free(meta);
//   ggalloc_mapped_file_free(file);                                        // after the tensors' last use
//

#include "ggml.h"
#include "gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ggalloc_mapped_file;

// Maps a whole regular file, private and copy-on-write: its pages are shared with the page
// cache, and a write through a pointer into it changes this process's copy only, never the
// file. NULL (and a log line) if the file cannot be opened or mapped or is empty.
GGML_API struct ggalloc_mapped_file * ggalloc_mapped_file_new(const char * fname);
// Unmaps; every pointer into it dangles afterwards. NULL: no-op.
GGML_API void        ggalloc_mapped_file_free(struct ggalloc_mapped_file * file);
GGML_API void *      ggalloc_mapped_file_data(const struct ggalloc_mapped_file * file);
GGML_API size_t      ggalloc_mapped_file_size(const struct ggalloc_mapped_file * file);

// Reads the GGUF file held by the mapping (which must outlive the result and *params.ctx).
// Unless params.no_alloc, the tensors (of the gguf context, and of *params.ctx when given)
// point into the mapping: a file that ends where its data section would start (written with
// only_meta) loads with tensors that have no data; tensor data cut short by the end of the
// file is an error. NULL and a log line on any error (as gguf_init_from_file).
GGML_API struct gguf_context * ggalloc_gguf_init_from_mapped_file(const struct ggalloc_mapped_file * file,
        struct gguf_init_params params);

// Reads a GGUF file held in memory (size bytes at data), as gguf_init_from_file reads a file:
// the tensor data, when read, is copied into *params.ctx. NULL and a log line on any error.
GGML_API struct gguf_context * ggalloc_gguf_init_from_buffer(const void * data, size_t size,
        struct gguf_init_params params);

// Total bytes of the data section the metadata describes (each tensor padded to the alignment).
GGML_API size_t ggalloc_gguf_get_data_size(const struct gguf_context * ctx);

// The tensor's shape (ne[0..3], ggml order, 1 past n_dims) and its number of dimensions as the
// file gives it; false (and a log line) for an id out of range or NULL ne.
GGML_API bool ggalloc_gguf_get_tensor_shape(const struct gguf_context * ctx, int64_t tensor_id,
        int64_t ne[GGML_MAX_DIMS], int * n_dims);

// The tensor's data as the context holds it (in a mapping, in a ggml context's memory, or set
// by gguf_set_tensor_data); NULL if it has none or for an id out of range.
GGML_API const void * ggalloc_gguf_get_tensor_data(const struct gguf_context * ctx, int64_t tensor_id);

#ifdef __cplusplus
}
#endif
