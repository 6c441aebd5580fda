// Failure paths of the allocators: buffer types whose allocations fail (all of them, or past a
// byte budget), full buffers. Each failure returns an error value and logs the buffer type and
// the size; nothing leaks (the whole budget of a failing type can be allocated again
// before it is freed, and the sanitizer run checks the rest), the graph's tensors stay unallocated, and a later attempt with
// enough memory succeeds.

#include "check.h"
#include "oracles.h"
#include "backend-impl.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 4 * 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

// x -> n layers of (cont, scale) on ne floats; the layers' outputs are all outputs, so nothing
// is reused and the graph needs about (n + 1) * ne * 4 bytes
static struct ggml_cgraph * wide_graph(struct ggml_context * ctx, int n, int64_t ne) {
    struct ggml_tensor * cur = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, ne);
    ggml_set_name(cur, "x");
    ggml_set_input(cur);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    for (int i = 0; i < n; i++) {
        cur = ggml_cont(ctx, cur);
        ggml_format_name(cur, "out%d", i);
        ggml_set_output(cur);
        ggml_build_forward_expand(g, cur);
    }
    return g;
}

static bool graph_unallocated(struct ggml_cgraph * g) {
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * n = ggml_graph_node(g, i);
        if (n->data != NULL || n->buffer != NULL) return false;
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            if (n->src[j] && (n->src[j]->data != NULL || n->src[j]->buffer != NULL)) return false;
        }
    }
    for (int i = 0; i < ggalloc_graph_n_leafs(g); i++) {
        if (ggalloc_graph_leaf(g, i)->data != NULL) return false;
    }
    return true;
}

// Frees a failing type, checking that no buffer of it was left behind: the whole budget can be
// allocated again only when nothing of it is outstanding.
static void free_failing(ggml_backend_buffer_type_t buft, size_t budget) {
    if (budget > 0) {
        ggml_backend_buffer_t probe = ggml_backend_buft_alloc_buffer(buft, budget);
        CHECK(probe != NULL);
        ggml_backend_buffer_free(probe);
    }
    ggalloc_failing_buffer_type_free(buft);
}

static void test_every_allocation_fails(void) {
    ggml_backend_buffer_type_t buft = ggalloc_failing_buffer_type_new(32, SIZE_MAX, 0);
    CHECK(buft != NULL);
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = wide_graph(ctx, 4, 100);
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);

    log_capture_begin();
    CHECK(!ggml_gallocr_reserve(galloc, g));
    log_capture_end();
    CHECK(log_captured(ggml_backend_buft_name(buft)));
    CHECK(log_captured("size 1664"));     // x, then 4 outputs of 416 B, out1 where x was
    CHECK(log_capture_errors > 0);
    CHECK(graph_unallocated(g));
    CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), 0);
    CHECK_EQ_INT(ggalloc_gallocr_n_placements(galloc), 0);

    log_capture_begin();
    CHECK(!ggml_gallocr_alloc_graph(galloc, g));
    log_capture_end();
    CHECK(log_captured(ggml_backend_buft_name(buft)));
    CHECK(graph_unallocated(g));
    ggml_gallocr_free(galloc);

    // planning without memory still works
    galloc = ggml_gallocr_new(buft);
    size_t size = 0;
    ggml_gallocr_reserve_n_size(galloc, g, NULL, NULL, &size);
    CHECK_EQ_INT(size, 4 * 416);
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    free_failing(buft, 0);
}

static void test_budget(void) {
    // room for 1 KiB: a small graph fits, a large one does not
    ggml_backend_buffer_type_t buft = ggalloc_failing_buffer_type_new(64, SIZE_MAX, 1024);
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);

    struct ggml_context * c1 = new_ctx();
    struct ggml_cgraph * small = wide_graph(c1, 3, 32);  // 3 * 128 B (out1 where x was)
    CHECK(ggml_gallocr_alloc_graph(galloc, small));
    oracle_allocated(galloc, small);
    size_t small_size = ggml_gallocr_get_buffer_size(galloc, 0);
    CHECK_EQ_INT(small_size, 3 * 128);

    struct ggml_context * c2 = new_ctx();
    struct ggml_cgraph * large = wide_graph(c2, 12, 32); // 12 * 128 B > 1 KiB
    log_capture_begin();
    CHECK(!ggml_gallocr_alloc_graph(galloc, large));
    log_capture_end();
    CHECK(log_captured(ggml_backend_buft_name(buft)));
    CHECK(log_captured("1536"));
    CHECK(graph_unallocated(large));
    CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), 0);

    // a graph that grows in place past the budget is left wholly unallocated, even the part
    // that was allocated before
    struct ggml_context * c3 = new_ctx();
    struct ggml_cgraph * growing = wide_graph(c3, 3, 32);
    CHECK(ggml_gallocr_alloc_graph(galloc, growing));
    oracle_allocated(galloc, growing);
    struct ggml_tensor * cur = ggml_graph_node(growing, -1);
    for (int i = 0; i < 10; i++) {
        cur = ggml_cont(c3, cur);
        ggml_set_output(cur);
        ggml_build_forward_expand(growing, cur);
    }
    log_capture_begin();
    CHECK(!ggml_gallocr_alloc_graph(galloc, growing));
    log_capture_end();
    CHECK(graph_unallocated(growing));

    // and later, with what fits, everything works again
    struct ggml_context * c4 = new_ctx();
    struct ggml_cgraph * again = wide_graph(c4, 3, 32);
    CHECK(ggml_gallocr_reserve(galloc, again));
    CHECK(ggml_gallocr_alloc_graph(galloc, again));
    oracle_allocated(galloc, again);
    CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), small_size);

    ggml_gallocr_free(galloc);
    ggml_free(c1);
    ggml_free(c2);
    ggml_free(c3);
    ggml_free(c4);
    free_failing(buft, 1024);
}

static void test_chunk_fails_midway(void) {
    // chunks of 64 B; the budget holds three of them, the graph needs eight
    ggml_backend_buffer_type_t buft = ggalloc_failing_buffer_type_new(16, 64, 3 * 64);
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = wide_graph(ctx, 7, 16);
    log_capture_begin();
    CHECK(!ggml_gallocr_reserve(galloc, g));
    log_capture_end();
    CHECK(log_captured("chunk 3"));
    CHECK(graph_unallocated(g));
    CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), 0);
    // a graph of two chunks fits
    struct ggml_context * ctx2 = new_ctx();
    struct ggml_cgraph * g2 = wide_graph(ctx2, 2, 16);
    CHECK(ggml_gallocr_alloc_graph(galloc, g2));
    oracle_allocated(galloc, g2);
    CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), 2 * 64);
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    ggml_free(ctx2);
    free_failing(buft, 3 * 64);
}

static void test_several_buffers_one_fails(void) {
    ggml_backend_buffer_type_t bad = ggalloc_failing_buffer_type_new(32, SIZE_MAX, 0);
    ggml_backend_buffer_type_t bufts[2] = { ggalloc_host_buffer_type(32, SIZE_MAX), bad };
    ggml_gallocr_t galloc = ggml_gallocr_new_n(bufts, 2);
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = wide_graph(ctx, 4, 16);
    int node_ids[4] = { 0, 1, 0, 1 };
    int leaf_ids[1] = { 0 };
    log_capture_begin();
    CHECK(!ggml_gallocr_reserve_n(galloc, g, node_ids, leaf_ids));
    log_capture_end();
    CHECK(log_captured(ggml_backend_buft_name(bad)));
    CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), 0); // the good one was given back too
    log_capture_begin();
    CHECK(!ggml_gallocr_alloc_graph(galloc, g));
    log_capture_end();
    CHECK(graph_unallocated(g));
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    free_failing(bad, 0);
}

static void test_tallocr_full(void) {
    ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(ggalloc_host_buffer_type(64, SIZE_MAX), 200);
    CHECK(buf != NULL);
    struct ggml_tallocr talloc = ggml_tallocr_new(buf);
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 20); // 80 -> 128
    struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 20); // 80 -> 128: 72 left
    ggml_set_name(b, "too_big");
    CHECK(ggml_tallocr_alloc(&talloc, a) == GGML_STATUS_SUCCESS);
    log_capture_begin();
    CHECK(ggml_tallocr_alloc(&talloc, b) == GGML_STATUS_ALLOC_FAILED);
    log_capture_end();
    CHECK(log_captured("too_big"));
    CHECK(log_captured("needed 128 bytes"));
    CHECK(log_captured("72 of 200 left"));
    CHECK(b->data == NULL && b->buffer == NULL);
    CHECK_EQ_INT(talloc.offset, 128);

    // a NULL buffer: every alloc fails
    struct ggml_tallocr none = ggml_tallocr_new(NULL);
    log_capture_begin();
    CHECK(ggml_tallocr_alloc(&none, b) == GGML_STATUS_ALLOC_FAILED);
    log_capture_end();
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

static void test_ctx_tensors_fail(void) {
    // max size 256: three buffers; the budget covers two
    ggml_backend_buffer_type_t buft = ggalloc_failing_buffer_type_new(32, 256, 2 * 256);
    struct ggml_context * ctx = new_ctx();
    for (int i = 0; i < 6; i++) {
        ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 32); // 128 B each
    }
    CHECK_EQ_INT(ggml_backend_alloc_ctx_tensors_from_buft_size(ctx, buft), 6 * 128);
    log_capture_begin();
    CHECK(ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft) == NULL);
    log_capture_end();
    CHECK(log_captured(ggml_backend_buft_name(buft)));
    CHECK(log_captured("256"));
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
        CHECK(t->data == NULL && t->buffer == NULL);
    }
    free_failing(buft, 2 * 256);

    // with room, the same context gets a multi-buffer of three parts
    ggml_backend_buffer_type_t ok = ggalloc_failing_buffer_type_new(32, 256, 3 * 256);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, ok);
    CHECK(buf != NULL);
    CHECK(ggml_backend_buffer_is_multi_buffer(buf));
    CHECK_EQ_INT(ggml_backend_buffer_get_size(buf), 6 * 128);
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
        oracle_tensor_placed(t);
    }
    ggml_backend_buffer_free(buf);
    free_failing(ok, 3 * 256);
    ggml_free(ctx);
}

static void test_absurd_sizes(void) {
    log_capture_begin();
    CHECK(ggml_backend_buft_alloc_buffer(ggalloc_host_buffer_type(32, SIZE_MAX), SIZE_MAX / 2) == NULL);
    log_capture_end();
    CHECK(log_captured("Host(align=32)"));
    log_capture_begin();
    CHECK(ggalloc_host_buffer_type(24, SIZE_MAX) == NULL);
    CHECK(ggalloc_host_buffer_type(32, 0) == NULL);
    CHECK(ggalloc_failing_buffer_type_new(3, 16, 0) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 3);
    ggalloc_failing_buffer_type_free(NULL);
}

// A failing type freed while buffers of it (here, an allocator's) are alive stays alive until
// the last of them goes; the sanitizer run shows that nothing is used after free or leaked.
static void test_type_freed_before_buffers(void) {
    ggml_backend_buffer_type_t buft = ggalloc_failing_buffer_type_new(32, SIZE_MAX, 1 << 20);
    ggml_backend_buffer_t a = ggml_backend_buft_alloc_buffer(buft, 4096);
    ggml_backend_buffer_t b = ggml_backend_buft_alloc_buffer(buft, 0);
    CHECK(a != NULL && b != NULL);
    ggalloc_failing_buffer_type_free(buft);
    CHECK(ggml_backend_buffer_get_size(a) == 4096);
    CHECK(ggml_backend_buffer_get_type(a) == buft);
    memset(ggml_backend_buffer_get_base(a), 1, 4096);
    ggml_backend_buffer_free(a);
    ggml_backend_buffer_free(b); // the type goes with this one
}

int main(void) {
    test_every_allocation_fails();
    test_type_freed_before_buffers();
    test_budget();
    test_chunk_fails_midway();
    test_several_buffers_one_fails();
    test_tallocr_full();
    test_ctx_tensors_fail();
    test_absurd_sizes();
    return check_report("test-alloc-failures");
}
