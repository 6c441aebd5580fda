// The older allocator API (ggml_allocr_*): measure, then allocate in the caller's memory or a
// backend's buffer; single tensors before a graph; parse sequences; failures.

#include "check.h"
#include "oracles.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

// Two independent branches joined at the end; returns the graph and the nodes of each branch.
static struct ggml_cgraph * two_branches(struct ggml_context * ctx, struct ggml_tensor ** x_out) {
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
    ggml_set_name(x, "x");
    ggml_set_input(x);
    struct ggml_tensor * a = ggml_cont(ctx, ggml_cont(ctx, ggml_concat(ctx, x, x, 0)));
    struct ggml_tensor * b = ggml_cont(ctx, ggml_cont(ctx, ggml_view_1d(ctx, x, 32, 0)));
    struct ggml_tensor * out = ggml_concat(ctx, a, b, 0);
    ggml_set_output(out);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, out);
    if (x_out) *x_out = x;
    return g;
}

static bool graph_unallocated(struct ggml_cgraph * g) {
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        if (ggml_graph_node(g, i)->data != NULL) return false;
    }
    return true;
}

static void test_measure_then_allocate(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = two_branches(ctx, NULL);

    ggml_allocr_t measure = ggml_allocr_new_measure(32);
    CHECK(measure != NULL);
    CHECK(ggml_allocr_is_measure(measure));
    CHECK(ggml_allocr_get_buffer(measure) == NULL);
    size_t need = ggml_allocr_alloc_graph(measure, g);
    CHECK(need > 0);
    CHECK_EQ_INT(ggml_allocr_max_size(measure), need);
    CHECK(graph_unallocated(g)); // measuring places nothing
    ggml_allocr_free(measure);

    // the same plan as the graph allocator's over the same buffer type
    ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
    size_t gsize = 0;
    ggml_gallocr_reserve_n_size(galloc, g, NULL, NULL, &gsize);
    CHECK_EQ_INT(need, gsize);
    ggml_gallocr_free(galloc);

    // exactly that much memory is enough
    void * mem = aligned_alloc(32, need);
    ggml_allocr_t alloc = ggml_allocr_new(mem, need, 32);
    CHECK(alloc != NULL && !ggml_allocr_is_measure(alloc));
    CHECK(ggml_allocr_get_buffer(alloc) != NULL);
    CHECK_EQ_INT(ggml_allocr_alloc_graph(alloc, g), need);
    oracle_allocated(NULL, g);
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * n = ggml_graph_node(g, i);
        CHECK((char *) n->data >= (char *) mem && (char *) n->data + ggml_nbytes(n) <= (char *) mem + need);
    }
    ggml_allocr_free(alloc);
    free(mem);
    ggml_free(ctx);

    // one alignment step less is not
    ctx = new_ctx();
    g = two_branches(ctx, NULL);
    mem = aligned_alloc(32, need);
    alloc = ggml_allocr_new(mem, need - 32, 32);
    log_capture_begin();
    CHECK_EQ_INT(ggml_allocr_alloc_graph(alloc, g), 0);
    log_capture_end();
    CHECK(log_captured("needs"));
    CHECK(graph_unallocated(g));
    ggml_allocr_free(alloc);
    free(mem);
    ggml_free(ctx);
}

static void test_tensors_then_graph(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * x = NULL;
    struct ggml_cgraph * g = two_branches(ctx, &x);
    ggml_backend_t be = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    ggml_allocr_t alloc = ggml_allocr_new_from_backend(be, 64 * 1024);
    CHECK(alloc != NULL);
    ggml_backend_buffer_t buf = ggml_allocr_get_buffer(alloc);
    char * base = ggml_backend_buffer_get_base(buf);

    // the input placed by hand comes first; the graph leaves it where it is
    ggml_allocr_alloc(alloc, x);
    CHECK((char *) x->data == base);
    void * xdata = x->data;
    size_t used = ggml_allocr_alloc_graph(alloc, g);
    CHECK(used > 256);
    CHECK(x->data == xdata);
    oracle_allocated(NULL, g);
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) {
        struct ggml_tensor * n = ggml_graph_node(g, i);
        if (n->view_src == NULL) {
            CHECK((char *) n->data >= base + 256);
        }
    }

    // reset: single tensors start over at the beginning
    ggml_allocr_reset(alloc);
    struct ggml_tensor * y = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    ggml_allocr_alloc(alloc, y);
    CHECK((char *) y->data == base);
    CHECK(ggml_allocr_max_size(alloc) >= used);
    ggml_allocr_free(alloc);

    // a measure allocr of the backend, and one over a buffer the caller keeps
    ggml_allocr_t m = ggml_allocr_new_measure_from_backend(be);
    struct ggml_context * ctx2 = new_ctx();
    struct ggml_cgraph * g2 = two_branches(ctx2, NULL);
    size_t need = ggml_allocr_alloc_graph(m, g2);
    CHECK(need > 0);
    ggml_allocr_free(m);
    ggml_backend_buffer_t own = ggml_backend_alloc_buffer(be, need);
    ggml_allocr_t over = ggml_allocr_new_from_buffer(own);
    CHECK_EQ_INT(ggml_allocr_alloc_graph(over, g2), need);
    oracle_allocated(NULL, g2);
    ggml_allocr_free(over);
    CHECK_EQ_INT(ggml_backend_buffer_get_size(own), need); // still the caller's
    ggml_backend_buffer_free(own);

    ggml_free(ctx);
    ggml_free(ctx2);
    ggml_backend_free(be);
}

static void test_parse_seq(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = two_branches(ctx, NULL);
    int n = ggml_graph_n_nodes(g);
    // the graph's own order written with barriers in between: the same plan
    int * seq = malloc(sizeof(int) * 2 * n);
    int k = 0;
    for (int i = 0; i < n; i++) {
        seq[k++] = i;
        seq[k++] = -1;
    }
    ggml_allocr_t m1 = ggml_allocr_new_measure(32);
    ggml_allocr_t m2 = ggml_allocr_new_measure(32);
    ggml_allocr_set_parse_seq(m2, seq, k);
    CHECK_EQ_INT(ggml_allocr_alloc_graph(m2, g), ggml_allocr_alloc_graph(m1, g));

    // a sequence that is not the graph's nodes is refused
    ggml_allocr_set_parse_seq(m2, seq, 4);
    log_capture_begin();
    CHECK_EQ_INT(ggml_allocr_alloc_graph(m2, g), 0);
    log_capture_end();
    CHECK(log_captured("parse sequence"));
    // a reversed sequence reads sources before they exist
    for (int i = 0; i < n; i++) seq[i] = n - 1 - i;
    ggml_allocr_set_parse_seq(m2, seq, n);
    log_capture_begin();
    CHECK_EQ_INT(ggml_allocr_alloc_graph(m2, g), 0);
    log_capture_end();
    // back to graph order
    ggml_allocr_set_parse_seq(m2, NULL, 0);
    CHECK(ggml_allocr_alloc_graph(m2, g) > 0);
    ggml_allocr_free(m1);
    ggml_allocr_free(m2);
    ggml_allocr_free(NULL);
    free(seq);
    ggml_free(ctx);
}

int main(void) {
    test_measure_then_allocate();
    test_tensors_then_graph();
    test_parse_seq();
    return check_report("test-legacy");
}
