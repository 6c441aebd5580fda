// The linear tensor allocator under every alignment from 1 to 256, over aligned and unaligned
// memory, and the placement of a context's tensors in buffers split at the max size.

#include "check.h"
#include "oracles.h"
#include "backend-impl.h"
#include "buffer-host.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

static size_t pad(size_t x, size_t a) {
    return (x + a - 1) / a * a;
}

static void test_alignments(void) {
    for (size_t align = 1; align <= 256; align *= 2) {
        ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(ggalloc_host_buffer_type(align, SIZE_MAX), 4096);
        CHECK(buf != NULL);
        struct ggml_tallocr ta = ggml_tallocr_new(buf);
        CHECK_EQ_INT(ta.alignment, align);
        CHECK_EQ_INT(ta.offset, 0);
        struct ggml_context * ctx = new_ctx();
        size_t expect = 0;
        int placed = 0;
        for (int k = 1; k < 400; k++) {
            struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_I8, 1 + (k * 37) % 97);
            ggml_format_name(t, "t%d", k);
            size_t need = pad(ggml_nbytes(t), align);
            log_capture_begin();
            enum ggml_status st = ggml_tallocr_alloc(&ta, t);
            log_capture_end();
            if (expect + need > 4096) {
                CHECK(st == GGML_STATUS_ALLOC_FAILED);
                CHECK(log_captured(t->name));
                CHECK(t->data == NULL);
                break;
            }
            CHECK(st == GGML_STATUS_SUCCESS);
            CHECK((char *) t->data == (char *) ggml_backend_buffer_get_base(buf) + expect);
            oracle_tensor_placed(t);
            expect += need;
            placed++;
        }
        CHECK(placed > 10);
        CHECK_EQ_INT(ta.offset, expect);
        ggml_free(ctx);
        ggml_backend_buffer_free(buf);
    }
}

static void test_unaligned_memory(void) {
    char * mem = malloc(1024 + 64);
    char * base = mem + 3; // deliberately off
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(64, SIZE_MAX);
    ggml_backend_buffer_t buf = ggalloc_host_buffer_from_ptr(buft, base, 1024);
    CHECK(buf != NULL);
    struct ggml_tallocr ta = ggml_tallocr_new(buf);
    CHECK(((uintptr_t) base + ta.offset) % 64 == 0);
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 10);
    CHECK(ggml_tallocr_alloc(&ta, t) == GGML_STATUS_SUCCESS);
    CHECK((uintptr_t) t->data % 64 == 0);
    // views and placed tensors are refused
    struct ggml_tensor * v = ggml_view_1d(ctx, t, 2, 0);
    log_capture_begin();
    CHECK(ggml_tallocr_alloc(&ta, v) == GGML_STATUS_FAILED);
    CHECK(ggml_tallocr_alloc(&ta, t) == GGML_STATUS_FAILED);
    CHECK(ggml_tallocr_alloc(NULL, t) == GGML_STATUS_FAILED);
    CHECK(ggalloc_host_buffer_from_ptr(ggml_backend_cpu_buffer_type(), NULL, 4) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 4);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    free(mem);
}

static void test_ctx_tensors(void) {
    // nothing to allocate: NULL
    struct ggml_context * empty = new_ctx();
    CHECK(ggml_backend_alloc_ctx_tensors_from_buft(empty, ggml_backend_cpu_buffer_type()) == NULL);
    CHECK_EQ_INT(ggml_backend_alloc_ctx_tensors_from_buft_size(empty, ggml_backend_cpu_buffer_type()), 0);
    ggml_free(empty);

    // one buffer when it fits
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 10); // 40 -> 64
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 3, 3); // 18 -> 32
    struct ggml_tensor * v = ggml_view_1d(ctx, a, 4, 8);
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(32, SIZE_MAX);
    CHECK_EQ_INT(ggml_backend_alloc_ctx_tensors_from_buft_size(ctx, buft), 96);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft);
    CHECK(buf != NULL && !ggml_backend_buffer_is_multi_buffer(buf));
    CHECK_EQ_INT(ggml_backend_buffer_get_size(buf), 96);
    oracle_tensor_placed(a);
    oracle_tensor_placed(b);
    oracle_tensor_placed(v);
    CHECK(v->data == (char *) a->data + 8);
    // everything has memory now: nothing more to allocate
    CHECK(ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft) == NULL);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);

    // split at the max size; a tensor over the max gets a buffer of its own
    ctx = new_ctx();
    struct ggml_tensor * ts[4];
    int64_t ne[4] = { 32, 32, 32, 100 }; // 128, 128, 128, 400 -> 416
    for (int i = 0; i < 4; i++) ts[i] = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, ne[i]);
    ggml_backend_buffer_type_t small = ggalloc_host_buffer_type(32, 300);
    CHECK_EQ_INT(ggml_backend_alloc_ctx_tensors_from_buft_size(ctx, small), 3 * 128 + 416);
    buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, small);
    CHECK(buf != NULL && ggml_backend_buffer_is_multi_buffer(buf));
    CHECK_EQ_INT(ggml_backend_buffer_get_size(buf), 3 * 128 + 416);
    for (int i = 0; i < 4; i++) oracle_tensor_placed(ts[i]);
    CHECK(ts[0]->buffer == ts[1]->buffer);
    CHECK(ts[2]->buffer != ts[1]->buffer);
    CHECK(ts[3]->buffer != ts[2]->buffer);
    CHECK_EQ_INT(ggml_backend_buffer_get_size(ts[3]->buffer), 416);
    ggml_backend_buffer_set_usage(buf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    CHECK(ggml_backend_buffer_get_usage(ts[3]->buffer) == GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);

    // through a backend
    ggml_backend_t be = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    ctx = new_ctx();
    struct ggml_tensor * w = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 16, 16);
    buf = ggml_backend_alloc_ctx_tensors(ctx, be);
    CHECK(buf != NULL);
    oracle_tensor_placed(w);
    CHECK(ggml_backend_buffer_get_type(buf) == ggml_backend_cpu_buffer_type());
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    ggml_backend_free(be);
}

int main(void) {
    test_alignments();
    test_unaligned_memory();
    test_ctx_tensors();
    return check_report("test-tallocr");
}
