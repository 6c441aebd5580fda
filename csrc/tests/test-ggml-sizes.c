// GGALLOC_PLANNER_GGML reproduces ggml's buffer sizes byte for byte on the shared graphs
// (graphs/ggml-sizes.json, measured with ggml's CPU buffer type), the liveness lower bound
// matches the one measured there, and BEST is never larger and gives a valid plan.

#include "check.h"
#include "oracles.h"

#include <stdlib.h>
#include <string.h>

// The number after "key": inside the object of graph `name` in ggml-sizes.json.
static long long sizes_field(const char * text, const char * name, const char * key) {
    char pat[128];
    snprintf(pat, sizeof(pat), "\"%s\"", name);
    const char * g = strstr(text, pat);
    if (g == NULL) return -1;
    const char * end = strchr(g, '}');
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    const char * k = strstr(g, pat);
    if (k == NULL || (end && k > end)) return -1;
    k = strchr(k, ':');
    return k ? strtoll(k + 1, NULL, 10) : -1;
}

static void check_graph(const char * sizes, const char * name) {
    char path[512];
    snprintf(path, sizeof(path), "%s/graphs/%s.json", GGALLOC_DATA_DIR, name);
    long long want_ggml = sizes_field(sizes, name, "ggml_buffer_bytes");
    long long want_lb = sizes_field(sizes, name, "inplace_lower_bound_bytes");
    long long want_nodes = sizes_field(sizes, name, "n_nodes");
    CHECK(want_ggml > 0 && want_lb > 0);

    struct ggml_context * ctx = NULL;
    struct ggml_cgraph * g = ggalloc_graph_load_json(path, &ctx);
    CHECK(g != NULL);
    if (g == NULL) {
        fprintf(stderr, "cannot load %s\n", path);
        return;
    }
    CHECK_EQ_INT(ggml_graph_n_nodes(g), want_nodes);

    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(32, SIZE_MAX);

    ggml_gallocr_t ggml_like = ggml_gallocr_new(buft);
    ggalloc_gallocr_set_planner(ggml_like, GGALLOC_PLANNER_GGML);
    CHECK(ggml_gallocr_reserve(ggml_like, g));
    size_t size_ggml = ggml_gallocr_get_buffer_size(ggml_like, 0);
    size_t lb = ggalloc_gallocr_lower_bound(ggml_like, 0);
    printf("%-24s ggml planner %12zu B (ggml: %12lld)  lower bound %12zu B (measured: %12lld)\n", name,
            size_ggml, want_ggml, lb, want_lb);
    CHECK_EQ_INT(size_ggml, want_ggml);
    CHECK_EQ_INT(lb, want_lb);
    CHECK_EQ_INT(ggalloc_graph_peak_bytes(g, 32), want_lb);
    CHECK(ggml_gallocr_alloc_graph(ggml_like, g));
    oracle_allocated(ggml_like, g);
    ggml_gallocr_free(ggml_like);

    // the same graph again, now with the default planner; the tensors of the freed allocator
    // point nowhere valid, so start from a fresh load
    ggml_free(ctx);
    ctx = NULL;
    g = ggalloc_graph_load_json(path, &ctx);
    CHECK(g != NULL);
    if (g == NULL) return;
    ggml_gallocr_t best = ggml_gallocr_new(buft);
    CHECK(ggalloc_gallocr_get_planner(best) == GGALLOC_PLANNER_BEST);
    CHECK(ggml_gallocr_alloc_graph(best, g));
    size_t size_best = ggml_gallocr_get_buffer_size(best, 0);
    printf("%-24s best planner %12zu B (%.4f of ggml, %.4f of the lower bound)\n", name, size_best,
            (double) size_best / (double) size_ggml, (double) size_best / (double) lb);
    CHECK(size_best <= size_ggml);
    CHECK(size_best >= lb);
    oracle_allocated(best, g);
    ggml_gallocr_free(best);
    ggml_free(ctx);
}

// A real graph under a device-like max buffer size: split into chunks, each within the max
// unless a single tensor in it is larger (or it is the last allowed chunk), and still valid.
static void check_chunked(const char * name, size_t alignment, size_t max_size) {
    char path[512];
    snprintf(path, sizeof(path), "%s/graphs/%s.json", GGALLOC_DATA_DIR, name);
    for (int planner = 0; planner < 2; planner++) {
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = ggalloc_graph_load_json(path, &ctx);
        CHECK(g != NULL);
        if (g == NULL) return;
        ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(alignment, max_size));
        ggalloc_gallocr_set_planner(galloc, (enum ggalloc_planner) planner);
        CHECK(ggml_gallocr_alloc_graph(galloc, g));
        oracle_allocated(galloc, g);
        size_t largest[16] = { 0 };
        ggml_backend_buffer_t bufs[16] = { 0 };
        int n_chunks = 0;
        for (int i = 0; i < ggalloc_gallocr_n_placements(galloc); i++) {
            struct ggalloc_placement p;
            ggalloc_gallocr_get_placement(galloc, i, &p);
            if (p.size > largest[p.chunk]) largest[p.chunk] = p.size;
            bufs[p.chunk] = p.tensor->buffer;
            if (p.chunk + 1 > n_chunks) n_chunks = p.chunk + 1;
        }
        size_t total = 0;
        for (int c = 0; c < n_chunks; c++) {
            size_t size = ggml_backend_buffer_get_size(bufs[c]);
            total += size;
            CHECK(c == 15 || size <= (largest[c] > max_size ? largest[c] : max_size));
        }
        CHECK(n_chunks > 1);
        CHECK_EQ_INT(total, ggml_gallocr_get_buffer_size(galloc, 0));
        printf("%-24s %s planner, alignment %zu, max %zu: %d chunks, %zu B\n", name,
                planner ? "best" : "ggml", alignment, max_size, n_chunks, total);
        ggml_gallocr_free(galloc);
        ggml_free(ctx);
    }
}

int main(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/graphs/ggml-sizes.json", GGALLOC_DATA_DIR);
    char * sizes = check_read_file(path, NULL);
    CHECK(sizes != NULL);
    if (sizes != NULL) {
        check_graph(sizes, "mlp-4x1024-b256");
        check_graph(sizes, "gpt2-small-decode-1");
        check_graph(sizes, "gpt2-small-prefill-512");
        free(sizes);
    }
    check_chunked("gpt2-small-prefill-512", 256, 16 * 1024 * 1024);
    check_chunked("gpt2-small-decode-1", 64, 128 * 1024);
    return check_report("test-ggml-sizes");
}
