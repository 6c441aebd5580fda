#pragma once

//
// gguf.h — GGUF files, ggml's model format, with ggml's names and semantics.
//
// Example (reading):
//
//   struct ggml_context * meta = NULL;
//   struct gguf_init_params params = { /*no_alloc =*/ false, /*ctx =*/ &meta };
//   struct gguf_context * gctx = gguf_init_from_file("model.gguf", params); // NULL: the log says why
//   int64_t k = gguf_find_key(gctx, "general.architecture");               // -1 if absent
//   const char * arch = k >= 0 ? gguf_get_val_str(gctx, k) : "?";
//   struct ggml_tensor * w = ggml_get_tensor(meta, "token_embd.weight");   // data read from the file
//   gguf_free(gctx);
//   ggml_free(meta);
//
// Example (writing):
//
//   struct gguf_context * out = gguf_init_empty();
//   gguf_set_val_str(out, "general.architecture", "llama");
//   gguf_add_tensor(out, w);                          // w's data is read when the file is written
//   bool ok = gguf_write_to_file(out, "copy.gguf", /*only_meta =*/ false);
//   gguf_free(out);
//
// A file (version 2 or 3, little-endian):
//   "GGUF", u32 version, i64 n_tensors, i64 n_kv,
//   n_kv x (string key, i32 value type, value), where an array is (i32 element type, u64 n, n values)
//     and a string is (u64 length, bytes without a terminating NUL), a bool one byte,
//   n_tensors x (string name, u32 n_dims, n_dims x i64 ne, i32 ggml type, u64 offset),
//   zero padding to the alignment, then the tensor data, each tensor padded to the alignment.
// The alignment is the u32 value of "general.alignment" (a power of two), else 32. Tensor
// offsets are relative to the start of the data section; tensors follow one another in order.
//
// Reading never aborts: a file that is not a well-formed GGUF file (truncated, counts or sizes
// that overflow or exceed the file, unknown types, duplicate keys or tensor names, keys that are
// not UTF-8, misaligned or out-of-place offsets) gives NULL and one error line in the log naming
// what is wrong. Where ggml aborts on a wrong call (a getter of the wrong type, an id out of
// range) these functions log an error and return 0 / NULL / do nothing instead.
//

#include "ggml.h"

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define GGUF_MAGIC   "GGUF"
#define GGUF_VERSION 3

#define GGUF_KEY_GENERAL_ALIGNMENT "general.alignment"

#define GGUF_DEFAULT_ALIGNMENT 32

#ifdef __cplusplus
extern "C" {
#endif

// Types of the values a file's key-value pairs hold (the numbers are the file's).
enum gguf_type {
    GGUF_TYPE_UINT8   = 0,
    GGUF_TYPE_INT8    = 1,
    GGUF_TYPE_UINT16  = 2,
    GGUF_TYPE_INT16   = 3,
    GGUF_TYPE_UINT32  = 4,
    GGUF_TYPE_INT32   = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL    = 7,
    GGUF_TYPE_STRING  = 8,
    GGUF_TYPE_ARRAY   = 9,
    GGUF_TYPE_UINT64  = 10,
    GGUF_TYPE_INT64   = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT,       // marks the end of the enum
};

struct gguf_context;

struct gguf_init_params {
    // true: the tensors of *ctx get no data (and the file's data section is not read)
    bool no_alloc;

    // if not NULL, receives a new ggml context (freed by the caller with ggml_free) holding one
    // tensor per tensor record of the file, named as in the file, with their data unless no_alloc
    struct ggml_context ** ctx;
};

// An empty context to fill and write. NULL if out of memory.
GGML_API struct gguf_context * gguf_init_empty(void);
// Reads a file's metadata (and, with params.ctx and !params.no_alloc, its tensor data).
// NULL and a log line if the file cannot be read or is not a well-formed GGUF file; *params.ctx
// is then left untouched.
GGML_API struct gguf_context * gguf_init_from_file(const char * fname, struct gguf_init_params params);

// NULL: no-op.
GGML_API void gguf_free(struct gguf_context * ctx);

// "u8", "i8", ..., "str", "arr"; NULL for a value outside the enum.
GGML_API const char * gguf_type_name(enum gguf_type type);

GGML_API uint32_t gguf_get_version    (const struct gguf_context * ctx);
GGML_API size_t   gguf_get_alignment  (const struct gguf_context * ctx);
// Bytes from the start of the file to the data section (where the metadata ends, padded).
GGML_API size_t   gguf_get_data_offset(const struct gguf_context * ctx);

GGML_API int64_t      gguf_get_n_kv(const struct gguf_context * ctx);
GGML_API int64_t      gguf_find_key(const struct gguf_context * ctx, const char * key); // -1 if not found
// NULL for an id out of range.
GGML_API const char * gguf_get_key (const struct gguf_context * ctx, int64_t key_id);

// GGUF_TYPE_ARRAY for arrays; GGUF_TYPE_COUNT for an id out of range.
GGML_API enum gguf_type gguf_get_kv_type (const struct gguf_context * ctx, int64_t key_id);
// The element type of an array; GGUF_TYPE_COUNT (and a log line) if the value is not an array.
GGML_API enum gguf_type gguf_get_arr_type(const struct gguf_context * ctx, int64_t key_id);

// The value of a scalar of exactly that type; 0 / false / NULL and a log line naming the key if
// the id is out of range or the value has another type. Strings live as long as ctx.
GGML_API uint8_t      gguf_get_val_u8  (const struct gguf_context * ctx, int64_t key_id);
GGML_API int8_t       gguf_get_val_i8  (const struct gguf_context * ctx, int64_t key_id);
GGML_API uint16_t     gguf_get_val_u16 (const struct gguf_context * ctx, int64_t key_id);
GGML_API int16_t      gguf_get_val_i16 (const struct gguf_context * ctx, int64_t key_id);
GGML_API uint32_t     gguf_get_val_u32 (const struct gguf_context * ctx, int64_t key_id);
GGML_API int32_t      gguf_get_val_i32 (const struct gguf_context * ctx, int64_t key_id);
GGML_API float        gguf_get_val_f32 (const struct gguf_context * ctx, int64_t key_id);
GGML_API uint64_t     gguf_get_val_u64 (const struct gguf_context * ctx, int64_t key_id);
GGML_API int64_t      gguf_get_val_i64 (const struct gguf_context * ctx, int64_t key_id);
GGML_API double       gguf_get_val_f64 (const struct gguf_context * ctx, int64_t key_id);
GGML_API bool         gguf_get_val_bool(const struct gguf_context * ctx, int64_t key_id);
GGML_API const char * gguf_get_val_str (const struct gguf_context * ctx, int64_t key_id);
// The bytes of a scalar that is not a string; NULL (and a log line) otherwise.
GGML_API const void * gguf_get_val_data(const struct gguf_context * ctx, int64_t key_id);
// Number of elements of an array (1 for a scalar); 0 for an id out of range.
GGML_API size_t       gguf_get_arr_n   (const struct gguf_context * ctx, int64_t key_id);

// The elements of an array that is not of strings, packed (bools as one byte each); NULL (and
// a log line) for strings or an id out of range. Lives as long as ctx.
GGML_API const void * gguf_get_arr_data(const struct gguf_context * ctx, int64_t key_id);

// The i-th string of an array of strings; NULL (and a log line) otherwise.
GGML_API const char * gguf_get_arr_str (const struct gguf_context * ctx, int64_t key_id, size_t i);

GGML_API int64_t        gguf_get_n_tensors    (const struct gguf_context * ctx);
GGML_API int64_t        gguf_find_tensor      (const struct gguf_context * ctx, const char * name); // -1 if not found
// The next three return 0 / NULL / GGML_TYPE_COUNT (and log) for an id out of range.
GGML_API size_t         gguf_get_tensor_offset(const struct gguf_context * ctx, int64_t tensor_id); // from the data section
GGML_API const char *   gguf_get_tensor_name  (const struct gguf_context * ctx, int64_t tensor_id);
GGML_API enum ggml_type gguf_get_tensor_type  (const struct gguf_context * ctx, int64_t tensor_id);
GGML_API size_t         gguf_get_tensor_size  (const struct gguf_context * ctx, int64_t tensor_id); // bytes

// Removes the key if present; returns the id it had (-1 if it did not exist). Later ids shift down.
GGML_API int64_t gguf_remove_key(struct gguf_context * ctx, const char * key);

// Replaces the value of an existing key or adds one; the key is then the last one. Strings and
// arrays are copied. "general.alignment" must be a u32 power of two: anything else is logged
// and ignored. Out of memory is logged and leaves ctx without the key.
GGML_API void gguf_set_val_u8  (struct gguf_context * ctx, const char * key, uint8_t      val);
GGML_API void gguf_set_val_i8  (struct gguf_context * ctx, const char * key, int8_t       val);
GGML_API void gguf_set_val_u16 (struct gguf_context * ctx, const char * key, uint16_t     val);
GGML_API void gguf_set_val_i16 (struct gguf_context * ctx, const char * key, int16_t      val);
GGML_API void gguf_set_val_u32 (struct gguf_context * ctx, const char * key, uint32_t     val);
GGML_API void gguf_set_val_i32 (struct gguf_context * ctx, const char * key, int32_t      val);
GGML_API void gguf_set_val_f32 (struct gguf_context * ctx, const char * key, float        val);
GGML_API void gguf_set_val_u64 (struct gguf_context * ctx, const char * key, uint64_t     val);
GGML_API void gguf_set_val_i64 (struct gguf_context * ctx, const char * key, int64_t      val);
GGML_API void gguf_set_val_f64 (struct gguf_context * ctx, const char * key, double       val);
GGML_API void gguf_set_val_bool(struct gguf_context * ctx, const char * key, bool         val);
GGML_API void gguf_set_val_str (struct gguf_context * ctx, const char * key, const char * val);

// An array of n elements of type (not string or array), copied from data.
GGML_API void gguf_set_arr_data(struct gguf_context * ctx, const char * key, enum gguf_type type, const void * data, size_t n);

// An array of n strings, copied.
GGML_API void gguf_set_arr_str (struct gguf_context * ctx, const char * key, const char ** data, size_t n);

// Sets (as above) every key-value pair of src in ctx.
GGML_API void gguf_set_kv(struct gguf_context * ctx, const struct gguf_context * src);

// Adds a tensor record (name, type, shape) placed after the previous one. Its data is not
// copied: tensor->data (or the pointer given later to gguf_set_tensor_data) is read when the
// file is written. A name already present is logged and ignored.
GGML_API void gguf_add_tensor(struct gguf_context * ctx, const struct ggml_tensor * tensor);

// Changes a tensor's type; the offsets of the tensors after it move so the data stays one
// contiguous block (with padding). A row size that does not fit the type is logged and ignored.
GGML_API void gguf_set_tensor_type(struct gguf_context * ctx, const char * name, enum ggml_type type);

// The data written for that tensor (gguf_get_tensor_size bytes are read from it at write time).
GGML_API void gguf_set_tensor_data(struct gguf_context * ctx, const char * name, const void * data);

// Writes the file (only_meta: the metadata and padding, without the tensor data). false (and a
// log line) if the file cannot be written or a tensor has no data.
GGML_API bool gguf_write_to_file(const struct gguf_context * ctx, const char * fname, bool only_meta);

// Bytes of the metadata (header, key-value pairs, tensor records), padding included.
GGML_API size_t gguf_get_meta_size(const struct gguf_context * ctx);

// Writes those gguf_get_meta_size bytes to data.
GGML_API void   gguf_get_meta_data(const struct gguf_context * ctx, void * data);

#ifdef __cplusplus
}
#endif
