// test-graph: building graphs in ggml's order (checked on hand-reasoned DAGs and against graphs
// dumped from ggml itself), full graphs, copies, lookups, printing.

#include "check.h"
#include "ggalloc.h"
#include "ggml.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static struct ggml_context * new_ctx(size_t n_tensors, size_t graph_size) {
    struct ggml_init_params ip = {
        n_tensors * ggml_tensor_overhead() + ggml_graph_overhead_custom(graph_size, false), NULL, true };
    return ggml_init(ip);
}

static struct ggml_tensor * leaf(struct ggml_context * ctx, const char * name) {
    struct ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 4);
    if (name) {
        ggml_set_name(t, name);
    }
    return t;
}

// nodes and leafs of g are exactly these (NULL-terminated lists)
static bool order_is(struct ggml_cgraph * g, struct ggml_tensor ** nodes, struct ggml_tensor ** leafs) {
    int n = 0, l = 0;
    while (nodes[n]) n++;
    while (leafs[l]) l++;
    if (ggml_graph_n_nodes(g) != n || ggalloc_graph_n_leafs(g) != l) {
        fprintf(stderr, "  got %d nodes, %d leafs; want %d, %d\n", ggml_graph_n_nodes(g), ggalloc_graph_n_leafs(g), n, l);
        return false;
    }
    bool ok = true;
    for (int i = 0; i < n; i++) {
        if (ggml_graph_node(g, i) != nodes[i]) {
            fprintf(stderr, "  node %d is '%s', want '%s'\n", i, ggml_graph_node(g, i)->name, nodes[i]->name);
            ok = false;
        }
    }
    for (int i = 0; i < l; i++) {
        if (ggalloc_graph_leaf(g, i) != leafs[i]) {
            fprintf(stderr, "  leaf %d is '%s', want '%s'\n", i, ggalloc_graph_leaf(g, i)->name, leafs[i]->name);
            ok = false;
        }
    }
    return ok;
}

#define NODES(...) (struct ggml_tensor *[]) { __VA_ARGS__, NULL }
#define LEAFS(...) (struct ggml_tensor *[]) { __VA_ARGS__, NULL }

static void test_shared_subexpression(void) {
    struct ggml_context * ctx = new_ctx(16, GGML_DEFAULT_GRAPH_SIZE);
    struct ggml_tensor * a = leaf(ctx, "a");
    struct ggml_tensor * b = leaf(ctx, "b");
    struct ggml_tensor * c = ggml_add(ctx, a, b);
    struct ggml_tensor * d = ggml_mul(ctx, c, a);
    struct ggml_tensor * e = ggml_add(ctx, c, d);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, e);
    // depth first, sources left to right, each tensor after its sources and only once:
    // e -> c -> a (leaf 0), b (leaf 1), c (node 0); d -> c seen, a seen, d (node 1); e (node 2)
    CHECK(order_is(g, NODES(c, d, e), LEAFS(a, b)));
    // unnamed nodes get ggml's default names by index
    CHECK(strcmp(c->name, "node_0") == 0 && strcmp(d->name, "node_1") == 0 && strcmp(e->name, "node_2") == 0);
    CHECK(strcmp(a->name, "a") == 0);

    // expanding again, or expanding something already inside, adds nothing
    ggml_build_forward_expand(g, e);
    ggml_build_forward_expand(g, d);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 3);
    CHECK_EQ_INT(ggalloc_graph_n_leafs(g), 2);

    // a second output: only its new part is appended
    struct ggml_tensor * f = ggml_sub(ctx, leaf(ctx, NULL), d);
    ggml_build_forward_expand(g, f);
    CHECK(order_is(g, NODES(c, d, e, f), LEAFS(a, b, f->src[0])));
    CHECK(strcmp(f->src[0]->name, "leaf_2") == 0 && strcmp(f->name, "node_3") == 0);

    ggml_free(ctx);

    // the order of sources matters: swapping them swaps the leafs
    ctx = new_ctx(16, 16);
    a = leaf(ctx, "a");
    b = leaf(ctx, "b");
    c = ggml_mul(ctx, b, a);
    g = ggml_new_graph_custom(ctx, 16, false);
    ggml_build_forward_expand(g, c);
    CHECK(order_is(g, NODES(c), LEAFS(b, a)));
    ggml_free(ctx);
}

static void test_tensor_used_twice(void) {
    struct ggml_context * ctx = new_ctx(16, 16);
    struct ggml_tensor * w = leaf(ctx, "w");
    struct ggml_tensor * x = leaf(ctx, "x");
    struct ggml_tensor * h = ggml_mul_mat(ctx, w, x);
    ggml_set_name(h, "h");
    struct ggml_tensor * sq = ggml_mul(ctx, h, h);       // the same source in both slots
    struct ggml_tensor * out = ggml_mul_mat(ctx, w, sq); // w used by two nodes
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 16, false);
    ggml_build_forward_expand(g, out);
    CHECK(order_is(g, NODES(h, sq, out), LEAFS(w, x)));
    CHECK(strcmp(h->name, "h") == 0 && strcmp(sq->name, "node_1") == 0);
    ggml_free(ctx);
}

static void test_views_and_inplace(void) {
    struct ggml_context * ctx = new_ctx(32, 32);
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 8, 4);
    ggml_set_name(x, "x");
    struct ggml_tensor * v1 = ggml_view_2d(ctx, x, 4, 4, x->nb[1], 16);
    struct ggml_tensor * v2 = ggml_view_1d(ctx, v1, 4, 0);
    struct ggml_tensor * y  = ggml_scale_inplace(ctx, v2, 2.0f);
    struct ggml_tensor * w  = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    struct ggml_tensor * z  = ggml_add(ctx, y, w);
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 32, false);
    ggml_build_forward_expand(g, z);
    // the walk follows src[0] of views down to x: x is a leaf, every view a node
    CHECK(order_is(g, NODES(v1, v2, y, z), LEAFS(x, w)));
    CHECK(y->view_src == x && y->view_offs == 16);
    CHECK(strcmp(v1->name, "x (view)") == 0);               // named views keep their names
    CHECK(strcmp(y->name, "x (view) (view) (view)") == 0);
    CHECK(strcmp(w->name, "leaf_1") == 0 && strcmp(z->name, "node_3") == 0);

    // a bare ggml_view_tensor has no op and no source: it is a leaf, and its view_src is not
    // visited through it (as in ggml)
    struct ggml_tensor * base = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    ggml_set_name(base, "base");
    struct ggml_tensor * bv = ggml_view_tensor(ctx, base);
    struct ggml_tensor * r = ggml_relu(ctx, bv);
    ggml_graph_clear(g);
    ggml_build_forward_expand(g, r);
    CHECK(order_is(g, NODES(r), LEAFS(bv)));

    // in-place ops on a chain: each is a node; the source of the chain is the only leaf
    ggml_graph_clear(g);
    struct ggml_tensor * s  = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    struct ggml_tensor * i1 = ggml_relu_inplace(ctx, s);
    struct ggml_tensor * i2 = ggml_scale_inplace(ctx, i1, 3.0f);
    struct ggml_tensor * i3 = ggml_add_inplace(ctx, i2, s);
    ggml_build_forward_expand(g, i3);
    CHECK(order_is(g, NODES(i1, i2, i3), LEAFS(s)));
    CHECK(i3->view_src == s);
    ggml_free(ctx);
}

static void test_params_cpy_cast(void) {
    struct ggml_context * ctx = new_ctx(16, 16);
    struct ggml_tensor * p = leaf(ctx, "p");
    ggml_set_param(p);
    struct ggml_tensor * c = leaf(ctx, "c");
    struct ggml_tensor * m = ggml_mul(ctx, p, c);
    struct ggml_tensor * k = ggml_cast(ctx, m, GGML_TYPE_F16); // src[1] is itself
    struct ggml_tensor * dst = leaf(ctx, "dst");
    struct ggml_tensor * cp = ggml_cpy(ctx, ggml_cast(ctx, k, GGML_TYPE_F32), dst);
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 16, false);
    ggml_build_forward_expand(g, cp);
    // a PARAM is a node even without an op; the self-reference of cast ends the walk there
    CHECK(order_is(g, NODES(p, m, k, cp->src[0], cp), LEAFS(c, dst)));
    CHECK(strcmp(p->name, "p") == 0);
    // names are made when the op is built, before the walk names m "node_1"
    CHECK(strcmp(cp->name, "dst (copy of  (copy) (copy))") == 0);
    CHECK(cp->view_src == dst);
    ggml_free(ctx);
}

static void test_full_graph(void) {
    struct ggml_context * ctx = new_ctx(64, 4);
    struct ggml_tensor * a = leaf(ctx, "a");
    struct ggml_tensor * t = a;
    for (int i = 0; i < 6; i++) {
        t = ggml_relu(ctx, t);
    }
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 4, false);
    CHECK_EQ_INT(ggml_graph_size(g), 4);
    log_capture_begin();
    ggml_build_forward_expand(g, t);
    log_capture_end();
    CHECK(log_captured("graph is full (size 4"));
    CHECK(log_captured("cannot add node"));
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 4);
    CHECK_EQ_INT(ggalloc_graph_n_leafs(g), 1);
    for (int i = 0; i < 4; i++) {
        CHECK(ggml_graph_node(g, i)->op == GGML_OP_UNARY);
    }

    // too many leafs
    ggml_graph_clear(g);
    struct ggml_tensor * s = leaf(ctx, NULL);
    for (int i = 0; i < 5; i++) {
        s = ggml_add(ctx, s, leaf(ctx, NULL));
    }
    log_capture_begin();
    ggml_build_forward_expand(g, s);
    log_capture_end();
    CHECK(log_captured("graph is full") && log_captured("leaf"));
    CHECK(ggalloc_graph_n_leafs(g) <= 4 && ggml_graph_n_nodes(g) <= 4);

    // add_node / add_leaf on a full graph
    log_capture_begin();
    while (ggml_graph_n_nodes(g) < 4) {
        ggml_graph_add_node(g, a);
    }
    ggml_graph_add_node(g, a);
    while (ggalloc_graph_n_leafs(g) < 4) {
        ggalloc_graph_add_leaf(g, a);
    }
    ggalloc_graph_add_leaf(g, a);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 2);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 4);
    CHECK_EQ_INT(ggalloc_graph_n_leafs(g), 4);

    // a full context cannot hold another graph
    log_capture_begin();
    CHECK(ggml_new_graph(ctx) == NULL);
    log_capture_end();
    CHECK(log_captured("graph of size 2048") && log_captured("not enough space"));
    ggml_free(ctx);

    // a graph with size nodes and size leafs fills exactly
    ctx = new_ctx(16, 3);
    struct ggml_tensor * l0 = leaf(ctx, "l0"), * l1 = leaf(ctx, "l1"), * l2 = leaf(ctx, "l2");
    struct ggml_tensor * n0 = ggml_add(ctx, l0, l1);
    struct ggml_tensor * n1 = ggml_add(ctx, n0, l2);
    struct ggml_tensor * n2 = ggml_relu(ctx, n1);
    g = ggml_new_graph_custom(ctx, 3, false);
    log_capture_begin();
    ggml_build_forward_expand(g, n2);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 0);
    CHECK(order_is(g, NODES(n0, n1, n2), LEAFS(l0, l1, l2)));
    ggml_free(ctx);
}

static void test_access_copy_clear(void) {
    struct ggml_context * ctx = new_ctx(32, 16);
    struct ggml_tensor * a = leaf(ctx, "a");
    struct ggml_tensor * b = leaf(ctx, "b");
    struct ggml_tensor * c = ggml_add(ctx, a, b);
    struct ggml_tensor * d = ggml_relu(ctx, c);
    ggml_set_name(d, "d");
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 16, false);
    ggml_build_forward_expand(g, d);

    CHECK(ggml_graph_node(g, 0) == c && ggml_graph_node(g, 1) == d);
    CHECK(ggml_graph_node(g, -1) == d && ggml_graph_node(g, -2) == c);
    CHECK(ggml_graph_node(g, 2) == NULL && ggml_graph_node(g, -3) == NULL);
    CHECK(ggml_graph_nodes(g)[1] == d);
    CHECK(ggalloc_graph_leaf(g, 1) == b && ggalloc_graph_leaf(g, 2) == NULL && ggalloc_graph_leaf(g, -1) == NULL);
    CHECK(ggml_graph_get_tensor(g, "d") == d);
    CHECK(ggml_graph_get_tensor(g, "a") == a);
    CHECK(ggml_graph_get_tensor(g, "node_0") == c);
    CHECK(ggml_graph_get_tensor(g, "zzz") == NULL);
    // leafs are searched first
    ggml_set_name(b, "d");
    CHECK(ggml_graph_get_tensor(g, "d") == b);
    ggml_set_name(b, "b");

    // add_node appends without a walk
    struct ggml_tensor * e = ggml_relu(ctx, d);
    ggml_graph_add_node(g, e);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 3);
    CHECK(ggml_graph_node(g, -1) == e);
    CHECK(e->name[0] == '\0');

    // copy into a graph of another size; the copy knows what was visited
    struct ggml_cgraph * g2 = ggml_new_graph_custom(ctx, 8, false);
    ggml_graph_cpy(g, g2);
    CHECK(order_is(g2, NODES(c, d, e), LEAFS(a, b)));
    ggml_build_forward_expand(g2, d);
    CHECK_EQ_INT(ggml_graph_n_nodes(g2), 3);

    // a destination too small: logged, left empty
    struct ggml_cgraph * g3 = ggml_new_graph_custom(ctx, 2, false);
    ggml_build_forward_expand(g3, a);
    log_capture_begin();
    ggml_graph_cpy(g, g3);
    log_capture_end();
    CHECK(log_captured("cannot hold 3 nodes and 2 leafs"));
    CHECK_EQ_INT(ggml_graph_n_nodes(g3), 0);
    CHECK_EQ_INT(ggalloc_graph_n_leafs(g3), 0);

    // dup: a new graph of the same size with the same contents
    struct ggml_cgraph * gd = ggml_graph_dup(ctx, g, false);
    CHECK(gd != NULL && gd != g);
    CHECK_EQ_INT(ggml_graph_size(gd), 16);
    CHECK(order_is(gd, NODES(c, d, e), LEAFS(a, b)));
    struct ggml_cgraph * gg = ggml_graph_dup(ctx, g, true);
    CHECK(gg != NULL && ggml_graph_n_nodes(gg) == 3 && ggml_graph_size(gg) == 16);

    // clear forgets nodes, leafs and what was visited
    ggml_graph_clear(g);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 0);
    CHECK_EQ_INT(ggalloc_graph_n_leafs(g), 0);
    ggml_build_forward_expand(g, d);
    CHECK(order_is(g, NODES(c, d), LEAFS(a, b)));
    ggml_graph_reset(g);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 2);

    // NULL arguments
    log_capture_begin();
    ggml_build_forward_expand(NULL, d);
    ggml_build_forward_expand(g, NULL);
    ggml_graph_add_node(NULL, d);
    ggalloc_graph_add_leaf(g, NULL);
    ggml_graph_cpy(NULL, g);
    CHECK(ggml_graph_dup(ctx, NULL, false) == NULL);
    CHECK(ggml_new_graph(NULL) == NULL);
    CHECK(ggml_new_graph_custom(ctx, 0, false) == NULL);
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 8);
    CHECK(ggml_graph_node(NULL, 0) == NULL && ggml_graph_n_nodes(NULL) == 0 && ggml_graph_size(NULL) == 0);
    CHECK(ggml_graph_get_tensor(NULL, "a") == NULL && ggalloc_graph_n_leafs(NULL) == 0);
    ggml_graph_clear(NULL);
    ggml_graph_reset(NULL);
    ggml_free(ctx);
}

static void test_overheads(void) {
    CHECK(ggml_graph_overhead() == ggml_graph_overhead_custom(GGML_DEFAULT_GRAPH_SIZE, false));
    CHECK(ggml_graph_overhead_custom(100, true) > ggml_graph_overhead_custom(100, false));
    CHECK(ggml_graph_overhead_custom(200, false) > ggml_graph_overhead_custom(100, false));
    // as ggml programs size their contexts: n tensors and one graph
    const int n = 40;
    struct ggml_init_params ip = { n * ggml_tensor_overhead() + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    for (int i = 1; i < n; i++) {
        t = ggml_sqr(ctx, t);
        CHECK(t != NULL);
    }
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    CHECK(g != NULL);
    ggml_build_forward_expand(g, t);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), n - 1);
    CHECK_EQ_INT(ggml_graph_size(g), GGML_DEFAULT_GRAPH_SIZE);
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1) == NULL);
    log_capture_end();
    ggml_free(ctx);

    // the same with grads
    struct ggml_init_params ip2 = { ggml_graph_overhead_custom(64, true), NULL, true };
    ctx = ggml_init(ip2);
    g = ggml_new_graph_custom(ctx, 64, true);
    CHECK(g != NULL);
    ggml_graph_reset(g);
    ggml_free(ctx);
}

static void test_deep_chain(void) {
    // a long chain is walked without recursion
    const int n = 100000;
    struct ggml_init_params ip = { (size_t) (n + 1) * ggml_tensor_overhead() + ggml_graph_overhead_custom(n, false), NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * first = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 2);
    struct ggml_tensor * t = first;
    for (int i = 0; i < n; i++) {
        t = ggml_neg(ctx, t);
    }
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, n, false);
    ggml_build_forward_expand(g, t);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), n);
    CHECK(ggalloc_graph_leaf(g, 0) == first);
    CHECK(ggml_graph_node(g, -1) == t);
    bool chained = true;
    for (int i = 1; i < n; i++) {
        chained &= ggml_graph_node(g, i)->src[0] == ggml_graph_node(g, i - 1);
    }
    CHECK(chained);
    ggml_free(ctx);
}

struct print_capture {
    char text[8192];
    size_t len;
    int info;
};

static void print_cb(enum ggml_log_level level, const char * text, void * ud) {
    struct print_capture * pc = ud;
    if (level == GGML_LOG_LEVEL_INFO) {
        pc->info++;
    }
    size_t n = strlen(text);
    if (pc->len + n < sizeof(pc->text)) {
        memcpy(pc->text + pc->len, text, n + 1);
        pc->len += n;
    }
}

static void test_print(void) {
    struct ggml_context * ctx = new_ctx(8, 8);
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 5, 3);
    ggml_set_name(a, "input_a");
    struct ggml_tensor * r = ggml_gelu(ctx, ggml_scale(ctx, a, 2.0f));
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 8, false);
    ggml_build_forward_expand(g, r);
    struct print_capture pc = { { 0 }, 0, 0 };
    ggml_log_set(print_cb, &pc);
    ggml_graph_print(g);
    ggml_log_set(NULL, NULL);
    CHECK(pc.info >= 6);
    CHECK(strstr(pc.text, "n_nodes = 2") != NULL);
    CHECK(strstr(pc.text, "n_leafs = 1") != NULL);
    CHECK(strstr(pc.text, "SCALE") != NULL && strstr(pc.text, "GELU") != NULL);
    CHECK(strstr(pc.text, "input_a") != NULL);
    CHECK(strstr(pc.text, "[     5,     3,     1]") != NULL);
    ggml_free(ctx);
}

//
// Against ggml: the graphs in tests/data/graphs were dumped from ggml's own build of these
// programs. Building the same programs here must give the same nodes and leafs, in the same
// order, with the same names, shapes, strides, sources, views and op_params.
//

static int compare_tensor(const struct ggml_tensor * ours, const struct ggml_tensor * ref, const char * what, int i) {
    int bad = 0;
    if (strcmp(ours->name, ref->name) != 0) {
        fprintf(stderr, "  %s %d: name '%s', ggml '%s'\n", what, i, ours->name, ref->name);
        return 1;
    }
    bad += ours->op != ref->op || ours->type != ref->type;
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        bad += ours->ne[d] != ref->ne[d] || ours->nb[d] != ref->nb[d];
    }
    bad += memcmp(ours->op_params, ref->op_params, sizeof(ours->op_params)) != 0;
    bad += (ours->view_src == NULL) != (ref->view_src == NULL) || ours->view_offs != ref->view_offs;
    if (ours->view_src && ref->view_src) {
        bad += strcmp(ours->view_src->name, ref->view_src->name) != 0;
    }
    for (int s = 0; s < GGML_MAX_SRC; s++) {
        bad += (ours->src[s] == NULL) != (ref->src[s] == NULL);
        if (ours->src[s] && ref->src[s]) {
            bad += strcmp(ours->src[s]->name, ref->src[s]->name) != 0;
        }
    }
    bad += (ours->flags & 3) != (ref->flags & 3);
    if (bad) {
        fprintf(stderr, "  %s %d '%s' differs from ggml's\n", what, i, ours->name);
    }
    return bad ? 1 : 0;
}

static int compare_graphs(struct ggml_cgraph * ours, struct ggml_cgraph * ref) {
    if (ggml_graph_n_nodes(ours) != ggml_graph_n_nodes(ref) || ggalloc_graph_n_leafs(ours) != ggalloc_graph_n_leafs(ref)) {
        fprintf(stderr, "  %d nodes and %d leafs, ggml %d and %d\n", ggml_graph_n_nodes(ours), ggalloc_graph_n_leafs(ours),
                ggml_graph_n_nodes(ref), ggalloc_graph_n_leafs(ref));
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < ggml_graph_n_nodes(ours) && bad < 5; i++) {
        bad += compare_tensor(ggml_graph_node(ours, i), ggml_graph_node(ref, i), "node", i);
    }
    for (int i = 0; i < ggalloc_graph_n_leafs(ours) && bad < 5; i++) {
        bad += compare_tensor(ggalloc_graph_leaf(ours, i), ggalloc_graph_leaf(ref, i), "leaf", i);
    }
    return bad;
}

static struct ggml_tensor * weight(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, const char * fmt, int il) {
    struct ggml_tensor * t = ne1 > 0 ? ggml_new_tensor_2d(ctx, type, ne0, ne1) : ggml_new_tensor_1d(ctx, type, ne0);
    ggml_format_name(t, fmt, il);
    return t;
}

// examples/gpt-2/main-backend.cpp's gpt2_graph, for GPT-2 small
static struct ggml_cgraph * build_gpt2(struct ggml_context * wctx, struct ggml_context * ctx0, int n_past, int N) {
    const int n_embd = 768, n_layer = 12, n_ctx = 1024, n_head = 12, n_vocab = 50257;
    const float eps = 1e-5f;

    struct ggml_tensor * wte     = weight(wctx, GGML_TYPE_F16, n_embd, n_vocab, "model/wte", 0);
    struct ggml_tensor * wpe     = weight(wctx, GGML_TYPE_F32, n_embd, n_ctx, "model/wpe", 0);
    struct ggml_tensor * lm_head = weight(wctx, GGML_TYPE_F16, n_embd, n_vocab, "model/lm_head", 0);
    struct ggml_tensor * ln_f_g  = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/ln_f/g", 0);
    struct ggml_tensor * ln_f_b  = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/ln_f/b", 0);
    struct ggml_tensor * memory_k = weight(wctx, GGML_TYPE_F32, (int64_t) n_embd * n_layer * n_ctx, 0, "memory_k", 0);
    struct ggml_tensor * memory_v = weight(wctx, GGML_TYPE_F32, (int64_t) n_embd * n_layer * n_ctx, 0, "memory_v", 0);

    struct ggml_cgraph * gf = ggml_new_graph(ctx0);
    struct ggml_tensor * embd = ggml_new_tensor_1d(ctx0, GGML_TYPE_I32, N);
    ggml_set_name(embd, "embd");
    ggml_set_input(embd);
    struct ggml_tensor * position = ggml_new_tensor_1d(ctx0, GGML_TYPE_I32, N);
    ggml_set_name(position, "position");
    ggml_set_input(position);

    struct ggml_tensor * inpL = ggml_add(ctx0, ggml_get_rows(ctx0, wte, embd), ggml_get_rows(ctx0, wpe, position));

    for (int il = 0; il < n_layer; ++il) {
        struct ggml_tensor * ln_1_g = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/h%d/ln_1/g", il);
        struct ggml_tensor * ln_1_b = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/h%d/ln_1/b", il);
        struct ggml_tensor * ln_2_g = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/h%d/ln_2/g", il);
        struct ggml_tensor * ln_2_b = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/h%d/ln_2/b", il);
        struct ggml_tensor * c_attn_w = weight(wctx, GGML_TYPE_F16, n_embd, 3 * n_embd, "model/h%d/attn/c_attn/w", il);
        struct ggml_tensor * c_attn_b = weight(wctx, GGML_TYPE_F32, 3 * n_embd, 0, "model/h%d/attn/c_attn/b", il);
        struct ggml_tensor * c_proj_w = weight(wctx, GGML_TYPE_F16, n_embd, n_embd, "model/h%d/attn/c_proj/w", il);
        struct ggml_tensor * c_proj_b = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/h%d/attn/c_proj/b", il);
        struct ggml_tensor * fc_w = weight(wctx, GGML_TYPE_F16, n_embd, 4 * n_embd, "model/h%d/mlp/c_fc/w", il);
        struct ggml_tensor * fc_b = weight(wctx, GGML_TYPE_F32, 4 * n_embd, 0, "model/h%d/mlp/c_fc/b", il);
        struct ggml_tensor * mp_w = weight(wctx, GGML_TYPE_F16, 4 * n_embd, n_embd, "model/h%d/mlp/c_proj/w", il);
        struct ggml_tensor * mp_b = weight(wctx, GGML_TYPE_F32, n_embd, 0, "model/h%d/mlp/c_proj/b", il);

        struct ggml_tensor * cur = ggml_norm(ctx0, inpL, eps);
        cur = ggml_add(ctx0, ggml_mul(ctx0, cur, ln_1_g), ln_1_b);
        cur = ggml_mul_mat(ctx0, c_attn_w, cur);
        cur = ggml_add(ctx0, cur, c_attn_b);

        struct ggml_tensor * Qcur = ggml_view_2d(ctx0, cur, n_embd, N, cur->nb[1], 0 * sizeof(float) * n_embd);
        struct ggml_tensor * Kcur = ggml_view_2d(ctx0, cur, n_embd, N, cur->nb[1], 1 * sizeof(float) * n_embd);
        struct ggml_tensor * Vcur = ggml_view_2d(ctx0, cur, n_embd, N, cur->nb[1], 2 * sizeof(float) * n_embd);

        struct ggml_tensor * k = ggml_view_1d(ctx0, memory_k, N * n_embd,
                (ggml_element_size(memory_k) * n_embd) * (il * n_ctx + n_past));
        struct ggml_tensor * v = ggml_view_1d(ctx0, memory_v, N * n_embd,
                (ggml_element_size(memory_v) * n_embd) * (il * n_ctx + n_past));
        ggml_build_forward_expand(gf, ggml_cpy(ctx0, Kcur, k));
        ggml_build_forward_expand(gf, ggml_cpy(ctx0, Vcur, v));

        struct ggml_tensor * Q = ggml_permute(ctx0, ggml_cont_3d(ctx0, Qcur, n_embd / n_head, n_head, N), 0, 2, 1, 3);
        struct ggml_tensor * K = ggml_permute(ctx0,
                ggml_reshape_3d(ctx0,
                    ggml_view_1d(ctx0, memory_k, (n_past + N) * n_embd, il * n_ctx * ggml_element_size(memory_k) * n_embd),
                    n_embd / n_head, n_head, n_past + N),
                0, 2, 1, 3);
        struct ggml_tensor * KQ = ggml_mul_mat(ctx0, K, Q);
        struct ggml_tensor * KQ_scaled = ggml_scale(ctx0, KQ, 1.0f / sqrtf((float) n_embd / n_head));
        struct ggml_tensor * KQ_masked = ggml_diag_mask_inf(ctx0, KQ_scaled, n_past);
        struct ggml_tensor * KQ_soft_max = ggml_soft_max(ctx0, KQ_masked);
        struct ggml_tensor * V_trans = ggml_cont_3d(ctx0,
                ggml_permute(ctx0,
                    ggml_reshape_3d(ctx0,
                        ggml_view_1d(ctx0, memory_v, (n_past + N) * n_embd, il * n_ctx * ggml_element_size(memory_v) * n_embd),
                        n_embd / n_head, n_head, n_past + N),
                    1, 2, 0, 3),
                n_past + N, n_embd / n_head, n_head);
        struct ggml_tensor * KQV = ggml_mul_mat(ctx0, V_trans, KQ_soft_max);
        struct ggml_tensor * KQV_merged = ggml_permute(ctx0, KQV, 0, 2, 1, 3);
        cur = ggml_cont_2d(ctx0, KQV_merged, n_embd, N);

        cur = ggml_mul_mat(ctx0, c_proj_w, cur);
        cur = ggml_add(ctx0, cur, c_proj_b);
        cur = ggml_add(ctx0, cur, inpL);
        struct ggml_tensor * inpFF = cur;

        cur = ggml_norm(ctx0, inpFF, eps);
        cur = ggml_add(ctx0, ggml_mul(ctx0, cur, ln_2_g), ln_2_b);
        cur = ggml_mul_mat(ctx0, fc_w, cur);
        cur = ggml_add(ctx0, cur, fc_b);
        cur = ggml_gelu(ctx0, cur);
        cur = ggml_mul_mat(ctx0, mp_w, cur);
        cur = ggml_add(ctx0, cur, mp_b);
        inpL = ggml_add(ctx0, cur, inpFF);
    }
    inpL = ggml_norm(ctx0, inpL, eps);
    inpL = ggml_add(ctx0, ggml_mul(ctx0, inpL, ln_f_g), ln_f_b);
    inpL = ggml_mul_mat(ctx0, lm_head, inpL);
    ggml_set_name(inpL, "logits");
    ggml_set_output(inpL);
    ggml_build_forward_expand(gf, inpL);
    return gf;
}

static struct ggml_cgraph * build_mlp(struct ggml_context * wctx, struct ggml_context * ctx0) {
    struct ggml_cgraph * gf = ggml_new_graph(ctx0);
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx0, GGML_TYPE_F32, 1024, 256);
    ggml_set_name(x, "inp_x");
    ggml_set_input(x);
    for (int i = 0; i < 4; i++) {
        struct ggml_tensor * w = weight(wctx, GGML_TYPE_F32, 1024, 1024, "mlp.%d.weight", i);
        struct ggml_tensor * b = weight(wctx, GGML_TYPE_F32, 1024, 0, "mlp.%d.bias", i);
        x = ggml_format_name(ggml_mul_mat(ctx0, w, x), "mm-%d", i);
        x = ggml_format_name(ggml_add(ctx0, x, b), "bias-%d", i);
        x = ggml_format_name(ggml_gelu(ctx0, x), "gelu-%d", i);
    }
    ggml_set_name(x, "out");
    ggml_set_output(x);
    ggml_build_forward_expand(gf, x);
    return gf;
}

static void test_against_ggml(void) {
    const char * files[3] = { "mlp-4x1024-b256.json", "gpt2-small-decode-1.json", "gpt2-small-prefill-512.json" };
    for (int f = 0; f < 3; f++) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/graphs/%s", GGALLOC_DATA_DIR, files[f]);
        struct ggml_context * rctx = NULL;
        struct ggml_cgraph * ref = ggalloc_graph_load_json(path, &rctx);
        CHECK(ref != NULL);
        if (ref == NULL) {
            fprintf(stderr, "  cannot load %s\n", path);
            continue;
        }
        struct ggml_init_params wp = { 512 * ggml_tensor_overhead(), NULL, true };
        struct ggml_init_params cp = { 4096 * ggml_tensor_overhead() + ggml_graph_overhead(), NULL, true };
        struct ggml_context * wctx = ggml_init(wp);
        struct ggml_context * ctx0 = ggml_init(cp);
        struct ggml_cgraph * ours = f == 0 ? build_mlp(wctx, ctx0)
                                  : f == 1 ? build_gpt2(wctx, ctx0, 511, 1) : build_gpt2(wctx, ctx0, 0, 512);
        const int bad = compare_graphs(ours, ref);
        CHECK_EQ_INT(bad, 0);
        if (bad) {
            fprintf(stderr, "  ... in %s\n", files[f]);
        }
        ggml_free(ctx0);
        ggml_free(wctx);
        ggml_free(rctx);
    }
}

int main(void) {
    test_shared_subexpression();
    test_tensor_used_twice();
    test_views_and_inplace();
    test_params_cpy_cast();
    test_full_graph();
    test_access_copy_clear();
    test_overheads();
    test_deep_chain();
    test_print();
    test_against_ggml();
    return check_report("test-graph");
}
