#pragma once

// One fuzz input for the GGUF reader, shared by the libFuzzer target (csrc/fuzz/fuzz-gguf.c)
// and the deterministic mutation run of the tests (test-gguf-fuzz.c).
//
// The input is read from memory three ways (metadata only; with a context and no data; with
// the data copied). Whatever is accepted must hold together: every getter answers for every id,
// and the metadata written back reads again with the same keys and tensor records. Anything
// else (a crash, a leak, a sanitizer report, an abort) is a finding.

#include "ggalloc-gguf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Metadata larger than this is not written back (a file may claim a huge alignment, which
// writing pads to, legitimately).
#define GGUF_FUZZ_MAX_META ((size_t) 64 << 20)

// Returns 1 if the input was accepted by the reader, 0 if rejected, minus the line of the failed check on an inconsistency
// (which the caller reports).
static int gguf_fuzz_one(const uint8_t * data, size_t size) {
    int accepted = 0;
    for (int mode = 0; mode < 3; mode++) {
        struct ggml_context * ctx = NULL;
        struct gguf_init_params p = { mode != 2, mode == 0 ? NULL : &ctx };
        struct gguf_context * g = ggalloc_gguf_init_from_buffer(data, size, p);
        if (g == NULL) {
            if (ctx != NULL) {
                return -__LINE__; // a failed read must leave *ctx alone
            }
            continue;
        }
        accepted = 1;
        const int64_t n_kv = gguf_get_n_kv(g), n_t = gguf_get_n_tensors(g);
        for (int64_t i = 0; i < n_kv; i++) {
            const char * k = gguf_get_key(g, i);
            if (k == NULL || gguf_find_key(g, k) != i) {
                return -__LINE__;
            }
            const enum gguf_type t = gguf_get_kv_type(g, i);
            if (t == GGUF_TYPE_STRING) {
                if (gguf_get_val_str(g, i) == NULL) return -__LINE__;
            } else if (t == GGUF_TYPE_ARRAY) {
                const size_t n = gguf_get_arr_n(g, i);
                if (gguf_get_arr_type(g, i) == GGUF_TYPE_STRING) {
                    if (n > 0 && (gguf_get_arr_str(g, i, 0) == NULL || gguf_get_arr_str(g, i, n - 1) == NULL)) return -__LINE__;
                } else if (gguf_get_arr_data(g, i) == NULL) {
                    return -__LINE__;
                }
            } else if (gguf_get_val_data(g, i) == NULL) {
                return -__LINE__;
            }
        }
        // the context holds one tensor per record, in order, after the data section's blob
        struct ggml_tensor * t = ctx != NULL ? ggml_get_first_tensor(ctx) : NULL;
        if (mode == 2 && n_t > 0 && t != NULL) {
            t = ggml_get_next_tensor(ctx, t);
        }
        for (int64_t i = 0; i < n_t; i++) {
            const char * name = gguf_get_tensor_name(g, i);
            if (name == NULL || gguf_find_tensor(g, name) != i) {
                return -__LINE__;
            }
            if (gguf_get_tensor_offset(g, i) % gguf_get_alignment(g) != 0) {
                return -__LINE__;
            }
            if (ctx != NULL) {
                if (t == NULL || strcmp(t->name, name) != 0 || ggml_nbytes(t) != gguf_get_tensor_size(g, i)) return -__LINE__;
                if (mode == 2 && gguf_get_tensor_size(g, i) > 0 && t->data == NULL) return -__LINE__;
                t = ggml_get_next_tensor(ctx, t);
            }
        }
        // written back, the metadata reads again the same
        const size_t ms = gguf_get_meta_size(g);
        if (ms <= GGUF_FUZZ_MAX_META) {
            uint8_t * meta = malloc(ms);
            if (meta == NULL) return -__LINE__;
            gguf_get_meta_data(g, meta);
            struct gguf_init_params pm = { true, NULL };
            struct gguf_context * again = ggalloc_gguf_init_from_buffer(meta, ms, pm);
            const int same = again != NULL && gguf_get_n_kv(again) == n_kv && gguf_get_n_tensors(again) == n_t &&
                             gguf_get_data_offset(again) == ms && ms == gguf_get_data_offset(g);
            gguf_free(again);
            free(meta);
            if (!same) return -__LINE__;
        }
        gguf_free(g);
        ggml_free(ctx);
    }
    return accepted;
}
