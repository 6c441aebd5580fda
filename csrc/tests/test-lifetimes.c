// The graph walk (lifetimes.h), alone: its blocks and results are the same whether its working
// memory is fresh or kept from walks of other graphs (larger, smaller, with many tensors outside
// the graph's nodes and leafs), whether the visiting order is given or not; sources outside the
// graph are placed and flagged; the result struct is reused for another number of buffer types;
// a node the graph lists twice is recorded where it was placed
// last; and an input node placed in the first pass sees the children counted so far, as ggml's
// allocator does (the one case where the walk cannot count ahead); and every allocation of the
// walk, failing, makes it (and reserve) return false with a message and leak nothing.

#include "check.h"
#include "ggalloc.h"
#include "ggml-backend.h"
#include "lifetimes.h"

#include <stdlib.h>
#include <string.h>

static size_t nbytes_size(void * user, int buffer_id, const struct ggml_tensor * t) {
    (void) user;
    (void) buffer_id;
    return ggml_nbytes(t);
}

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 16 * 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

static int slot0 = 0;

// The visiting order 0 .. n - 1, malloc'ed.
static int * identity_order(int n) {
    int * order = malloc(sizeof(int) * (size_t) (n > 0 ? n : 1));
    for (int i = 0; i < n; i++) order[i] = i;
    return order;
}

static struct gga_walk_params params(struct gga_walk_scratch * sc, const int * order, int n_order) {
    struct gga_walk_params wp = {
        .n_buffers      = 1,
        .slot_of_buffer = &slot0,
        .n_slots        = 1,
        .alloc_size     = nbytes_size,
        .order          = order,
        .n_order        = n_order,
        .scratch        = sc,
    };
    return wp;
}

// Whether two slots hold the same blocks (field by field: a block has padding).
static bool same_blocks(const struct gga_slot_blocks * x, const struct gga_slot_blocks * y) {
    if (x->n != y->n) {
        return false;
    }
    for (int i = 0; i < x->n; i++) {
        if (x->blocks[i].size != y->blocks[i].size || x->blocks[i].start != y->blocks[i].start ||
            x->blocks[i].end != y->blocks[i].end || x->blocks[i].group != y->blocks[i].group ||
            x->tensor[i] != y->tensor[i] || x->buffer_id[i] != y->buffer_id[i] || x->first[i] != y->first[i] ||
            x->last[i] != y->last[i]) {
            return false;
        }
    }
    return x->n_freed == y->n_freed && memcmp(x->freed, y->freed, sizeof(int) * (size_t) x->n_freed) == 0;
}

// Whether two walks of the same graph recorded the same blocks and results.
static bool same_walk(const struct gga_lifetimes * a, const struct gga_lifetimes * b) {
    if (a->n_nodes != b->n_nodes || a->n_leafs != b->n_leafs || a->slots[0].n != b->slots[0].n ||
        a->pos_other != b->pos_other || a->in_order != b->in_order) {
        return false;
    }
    if (!same_blocks(&a->slots[0], &b->slots[0])) {
        return false;
    }
    if (memcmp(a->src_off, b->src_off, sizeof(int32_t) * (size_t) (a->n_nodes + 1)) != 0) {
        return false;
    }
    const int n_src = a->src_off[a->n_nodes];
    return memcmp(a->leaf, b->leaf, sizeof(struct gga_ref) * (size_t) a->n_leafs) == 0 &&
           memcmp(a->node, b->node, sizeof(struct gga_ref) * (size_t) a->n_nodes) == 0 &&
           memcmp(a->src, b->src, sizeof(struct gga_ref) * (size_t) n_src) == 0 &&
           memcmp(a->src_pos, b->src_pos, sizeof(int32_t) * (size_t) n_src) == 0 &&
           memcmp(a->view_pos, b->view_pos, sizeof(int32_t) * (size_t) (a->n_nodes + a->n_leafs)) == 0 &&
           memcmp(a->node_leaf, b->node_leaf, sizeof(int32_t) * (size_t) a->n_nodes) == 0 &&
           memcmp(a->sig, b->sig, sizeof(struct gga_sig) * (size_t) (a->n_nodes + a->n_leafs)) == 0;
}

// A chain of n ops over recent results, with views, in-place ops and outputs; with `outside`,
// each node also reads a tensor of its own that the graph does not list (it is added with
// ggml_graph_add_node, not expanded).
static struct ggml_cgraph * random_graph(struct ggml_context * ctx, int n, bool outside) {
    struct ggml_cgraph * g = ggml_new_graph_custom(ctx, 4096, false);
    struct ggml_tensor * made[1024];
    int n_made = 0;
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 32, 4);
    ggml_set_input(x);
    made[n_made++] = x;
    for (int k = 0; k < n && n_made < 1000; k++) {
        struct ggml_tensor * a = made[n_made - 1 - check_rand(n_made < 6 ? n_made : 6)];
        struct ggml_tensor * t = NULL;
        switch (check_rand(6)) {
            case 0: t = ggml_scale_inplace(ctx, a, 0.5f); break;
            case 1: t = ggml_silu(ctx, a); break;
            case 2: t = ggml_add(ctx, a, made[n_made - 1]->ne[0] == a->ne[0] && made[n_made - 1]->ne[1] == a->ne[1] ? made[n_made - 1] : a); break;
            case 3: t = ggml_cont(ctx, ggml_transpose(ctx, a)); break;
            case 4: t = ggml_scale(ctx, ggml_view_2d(ctx, a, a->ne[0], a->ne[1], a->nb[1], 0), 2.0f); break;
            default: t = ggml_mul(ctx, a, a); if (check_rand(4) == 0) ggml_set_output(t); break;
        }
        if (outside) {
            struct ggml_tensor * o = ggml_new_tensor(ctx, GGML_TYPE_F32, 2, t->ne);
            t = ggml_add(ctx, t, o);
            // the graph lists the nodes only: o and every leaf are outside it
            if (t->src[0]->op != GGML_OP_NONE && t->src[0]->view_src == NULL) {
                ggml_graph_add_node(g, t->src[0]);
            }
            ggml_graph_add_node(g, t);
        }
        made[n_made++] = t;
    }
    ggml_set_output(made[n_made - 1]);
    if (!outside) {
        ggml_build_forward_expand(g, made[n_made - 1]);
    }
    return g;
}

static void test_scratch_kept(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * graphs[4] = {
        random_graph(ctx, 300, false),
        random_graph(ctx, 40, true),   // many sources outside: more records than the scratch holds
        random_graph(ctx, 12, false),
        random_graph(ctx, 200, true),
    };
    struct gga_walk_scratch sc = { 0 };
    struct gga_lifetimes kept = { 0 };
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 4; k++) {
            struct ggml_cgraph * g = graphs[(k + round) % 4];
            struct gga_walk_params wp = params(&sc, NULL, 0);
            struct gga_walk_params fresh = params(NULL, NULL, 0);
            struct gga_lifetimes lt = { 0 };
            CHECK(gga_lifetimes_build(g, &wp, &kept));
            CHECK(gga_lifetimes_build(g, &fresh, &lt));
            CHECK(same_walk(&kept, &lt));
            // the graphs built with ggml_graph_add_node read tensors the graph does not list
            CHECK(kept.pos_other == (g == graphs[1] || g == graphs[3]));
            CHECK(!kept.in_order || !kept.pos_other);
            gga_lifetimes_release(&lt);
        }
    }
    // every tensor outside the graph was placed (once, before its first reader)
    struct gga_walk_params wp = params(&sc, NULL, 0);
    CHECK(gga_lifetimes_build(graphs[1], &wp, &kept));
    int n_placed = 0;
    for (int i = 0; i < kept.n_nodes; i++) {
        for (int32_t j = kept.src_off[i]; j < kept.src_off[i + 1]; j++) {
            n_placed += kept.src_pos[j] == GGA_POS_NONE && kept.src[j].block >= 0;
        }
    }
    CHECK(n_placed >= 40);
    gga_lifetimes_release(&kept);
    gga_walk_scratch_release(&sc);
    gga_walk_scratch_release(&sc); // released twice: a no-op
    gga_walk_scratch_release(NULL);
    ggml_free(ctx);
}

// The order given as the identity is the walk without an order (which counts children while it
// reads the graph, where the given order makes the first pass count them).
static void test_order_identity(void) {
    struct ggml_context * ctx = new_ctx();
    for (int k = 0; k < 20; k++) {
        struct ggml_cgraph * g = random_graph(ctx, 10 + check_rand(200), k % 3 == 0);
        const int n = ggml_graph_n_nodes(g);
        int * order = identity_order(n);
        struct gga_walk_params a = params(NULL, NULL, 0);
        struct gga_walk_params b = params(NULL, order, n);
        struct gga_lifetimes la = { 0 }, lb = { 0 };
        CHECK(gga_lifetimes_build(g, &a, &la));
        CHECK(gga_lifetimes_build(g, &b, &lb));
        CHECK(same_walk(&la, &lb));
        gga_lifetimes_release(&la);
        gga_lifetimes_release(&lb);
        free(order);
    }
    ggml_free(ctx);
}

// The walk's order of frees is one the planner may follow (gga_plan_blocks_memo): every block
// freed once, by nondecreasing end, and exactly the blocks that end before the last step without
// handing their memory to a group member; the online plan following it is the one of the blocks
// sorted by end, byte for byte, and so is BEST's (which makes the online plan too where its own
// misses the bound). With and without a visiting order, and with sources outside the graph.
static void test_free_order(void) {
    struct ggml_context * ctx = new_ctx();
    for (int k = 0; k < 40; k++) {
        struct ggml_cgraph * g = random_graph(ctx, 5 + check_rand(300), k % 3 == 0);
        const int n_nodes = ggml_graph_n_nodes(g);
        int * order = identity_order(n_nodes);
        struct gga_walk_params wp = params(NULL, k % 2 ? order : NULL, k % 2 ? n_nodes : 0);
        struct gga_lifetimes lt = { 0 };
        CHECK(gga_lifetimes_build(g, &wp, &lt));
        const struct gga_slot_blocks * sb = &lt.slots[0];
        const int n = sb->n;
        char * seen = calloc((size_t) n + 1, 1);
        char * handed = calloc((size_t) n + 1, 1);
        bool ok = sb->n_freed <= n;
        for (int b = 0; b < n; b++) {
            // a group's member follows its predecessor, which hands its memory over
            for (int c = b + 1; c < n && sb->blocks[b].group >= 0; c++) {
                if (sb->blocks[c].group == sb->blocks[b].group) {
                    handed[b] = 1;
                    break;
                }
            }
            ok = ok && (b == 0 || sb->blocks[b - 1].start <= sb->blocks[b].start);
        }
        for (int f = 0; f < sb->n_freed && ok; f++) {
            const int b = sb->freed[f];
            ok = b >= 0 && b < n && !seen[b] && !handed[b] &&
                 (f == 0 || sb->blocks[sb->freed[f - 1]].end <= sb->blocks[b].end);
            seen[b] = 1;
        }
        for (int b = 0; b < n && ok; b++) {
            ok = seen[b] == (!handed[b] && sb->blocks[b].end < n_nodes + 2);
        }
        CHECK(ok);
        for (int strategy = 0; strategy < 2 && ok; strategy++) {
            struct gga_plan_params pp = { .alignment = 32, .max_size = strategy ? SIZE_MAX : 4096,
                                          .max_chunks = GGALLOC_MAX_CHUNKS,
                                          .strategy = strategy ? GGA_STRATEGY_BEST : GGA_STRATEGY_ONLINE };
            struct gga_plan sorted;
            struct gga_plan_memo memo = { 0 };
            char err[128];
            CHECK(gga_plan_blocks(sb->blocks, n, &pp, &sorted, err, sizeof(err)));
            const struct gga_plan * walked = gga_plan_blocks_memo(&memo, sb->blocks, n, sb->freed, sb->n_freed, &pp,
                                                                  err, sizeof(err));
            CHECK(walked != NULL);
            if (walked != NULL) {
                CHECK_EQ_INT(walked->peak, sorted.peak);
                CHECK_EQ_INT(walked->n_chunks, sorted.n_chunks);
                CHECK(memcmp(walked->offset, sorted.offset, sizeof(size_t) * (size_t) n) == 0);
                CHECK(memcmp(walked->chunk, sorted.chunk, sizeof(int) * (size_t) n) == 0);
            }
            gga_plan_release(&sorted);
            gga_plan_memo_release(&memo);
        }
        free(seen);
        free(handed);
        free(order);
        gga_lifetimes_release(&lt);
    }
    ggml_free(ctx);
}

// x -> a = scale(x) -> b = cont(a), with a listed again after b: a is freed after b reads it
// and placed again at its second visit, which is where it is recorded (at both indices).
static void test_node_listed_twice(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
    ggml_set_input(x);
    struct ggml_tensor * a = ggml_scale(ctx, x, 2.0f);
    struct ggml_tensor * b = ggml_cont(ctx, a);
    ggml_set_output(b);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, b);
    ggml_graph_add_node(g, a);
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 3);
    struct gga_walk_params wp = params(NULL, NULL, 0);
    struct gga_lifetimes lt = { 0 };
    CHECK(gga_lifetimes_build(g, &wp, &lt));
    const struct gga_slot_blocks * sb = &lt.slots[0];
    CHECK_EQ_INT(sb->n, 4); // x, a, b, a again
    CHECK(sb->tensor[3] == a);
    CHECK_EQ_INT(lt.node[0].block, 3);
    CHECK_EQ_INT(lt.node[2].block, 3);
    CHECK_EQ_INT(lt.node[1].block, 2);
    CHECK_EQ_INT(sb->blocks[1].end, 3); // the first a: freed after step 1 (b)
    CHECK_EQ_INT(sb->blocks[3].start, 3);
    gga_lifetimes_release(&lt);
    ggml_free(ctx);
}

// p (a leaf) is read by y = sqr(p), then by x = scale(p), an input: the first pass places x
// having counted y's read of p only, as ggml's allocator does, which then shares p's address
// with x. Both are placed at step 0, so p's block would have no lifetime left (the planner
// refuses such a block, and reserve failed): x gets memory of its own, and the graph allocates.
static void test_input_sees_partial_counts(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * p = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
    struct ggml_tensor * y = ggml_sqr(ctx, p);
    struct ggml_tensor * x = ggml_scale(ctx, p, 2.0f);
    ggml_set_input(x);
    ggml_set_output(y);
    ggml_set_output(x);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, y);
    ggml_build_forward_expand(g, x);
    struct gga_walk_params wp = params(NULL, NULL, 0);
    struct gga_lifetimes lt = { 0 };
    CHECK(gga_lifetimes_build(g, &wp, &lt));
    const struct gga_slot_blocks * sb = &lt.slots[0];
    const struct gga_ref rx = lt.node[1];
    CHECK(rx.block >= 0 && sb->blocks[rx.block].group < 0);
    CHECK(lt.leaf[0].block >= 0 && sb->tensor[lt.leaf[0].block] == p);
    for (int b = 0; b < sb->n; b++) {
        CHECK(sb->blocks[b].end > sb->blocks[b].start);
    }
    gga_lifetimes_release(&lt);
    for (int planner = 0; planner < 2; planner++) {
        ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
        ggalloc_gallocr_set_planner(galloc, planner == 0 ? GGALLOC_PLANNER_GGML : GGALLOC_PLANNER_BEST);
        CHECK(ggml_gallocr_alloc_graph(galloc, g));
        CHECK(p->data != NULL && x->data != NULL && x->data != p->data);
        CHECK_EQ_INT(ggalloc_graph_verify(g), 0);
        ggml_gallocr_free(galloc);
        p->data = x->data = y->data = NULL;
        p->buffer = x->buffer = y->buffer = NULL;
    }
    ggml_free(ctx);
}

// One result struct walked for 1, then 3, then 1 slots (buffer types), with the graph's nodes
// spread over three buffers: each walk is the same as into a fresh struct.
static void test_slot_counts(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = random_graph(ctx, 60, false);
    const int n = ggml_graph_n_nodes(g);
    int * node_ids = malloc(sizeof(int) * (size_t) n);
    for (int i = 0; i < n; i++) node_ids[i] = i % 3;
    const int slot_of[3] = { 0, 1, 2 };
    struct gga_lifetimes kept = { 0 };
    const int n_slots[3] = { 1, 3, 1 };
    for (int k = 0; k < 3; k++) {
        struct gga_walk_params wp = params(NULL, NULL, 0);
        if (n_slots[k] == 3) {
            wp.n_buffers = 3;
            wp.slot_of_buffer = slot_of;
            wp.n_slots = 3;
            wp.node_buffer_ids = node_ids;
        }
        struct gga_lifetimes lt = { 0 };
        CHECK(gga_lifetimes_build(g, &wp, &kept));
        CHECK(gga_lifetimes_build(g, &wp, &lt));
        CHECK_EQ_INT(kept.n_slots, n_slots[k]);
        for (int s = 0; s < n_slots[k]; s++) {
            CHECK_EQ_INT(kept.slots[s].n, lt.slots[s].n);
            CHECK(same_blocks(&kept.slots[s], &lt.slots[s]));
        }
        CHECK(n_slots[k] == 1 || (kept.slots[1].n > 0 && kept.slots[2].n > 0));
        gga_lifetimes_release(&lt);
    }
    gga_lifetimes_release(&kept);
    free(node_ids);
    ggml_free(ctx);
}

// Each allocation of the walk made to fail in turn: the walk returns false, says it ran out of
// memory and leaves its results empty, and the same structs then walk the graph as a fresh walk
// does. Through an allocator: reserve returns false, the graph stays unallocated, and the next
// reserve places it.
static void test_out_of_memory(void) {
    struct ggml_context * ctx = new_ctx();
    struct ggml_cgraph * g = random_graph(ctx, 60, true); // sources outside: the records grow
    const int n = ggml_graph_n_nodes(g);
    int * order = identity_order(n);
    struct gga_lifetimes ref = { 0 };
    struct gga_walk_params fresh = params(NULL, order, n);
    CHECK(gga_lifetimes_build(g, &fresh, &ref));
    int n_failed = 0;
    for (int k = 0; k < 64; k++) {
        struct gga_walk_scratch sc = { 0 };
        struct gga_lifetimes lt = { 0 };
        struct gga_walk_params wp = params(&sc, order, n);
        gga_lifetimes_fail_after(k);
        log_capture_begin();
        const bool ok = gga_lifetimes_build(g, &wp, &lt);
        log_capture_end();
        gga_lifetimes_fail_after(-1);
        if (!ok) {
            n_failed++;
            CHECK(log_captured("out of memory"));
            CHECK(lt.n_nodes == 0 && lt.slots == NULL && lt.leaf == NULL);
            CHECK(gga_lifetimes_build(g, &wp, &lt));
        }
        CHECK(same_walk(&lt, &ref));
        gga_lifetimes_release(&lt);
        gga_walk_scratch_release(&sc);
        if (ok) {
            break;
        }
    }
    // the scratch and the results, records twice, blocks, the order's check
    CHECK(n_failed >= 6);
    gga_lifetimes_release(&ref);
    free(order);

    struct ggml_cgraph * h = random_graph(ctx, 100, false);
    n_failed = 0;
    for (int k = 0; k < 64; k++) {
        ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
        gga_lifetimes_fail_after(k);
        log_capture_begin();
        const bool ok = ggml_gallocr_reserve(galloc, h) && ggml_gallocr_alloc_graph(galloc, h);
        log_capture_end();
        gga_lifetimes_fail_after(-1);
        if (!ok) {
            n_failed++;
            CHECK(log_captured("out of memory"));
            CHECK_EQ_INT(ggalloc_gallocr_n_placements(galloc), 0);
            bool unallocated = true;
            for (int i = 0; i < ggml_graph_n_nodes(h); i++) {
                unallocated = unallocated && ggml_graph_node(h, i)->data == NULL;
            }
            CHECK(unallocated);
            CHECK(ggml_gallocr_reserve(galloc, h) && ggml_gallocr_alloc_graph(galloc, h));
        }
        CHECK(ggalloc_gallocr_n_placements(galloc) > 0);
        CHECK_EQ_INT(ggalloc_graph_verify(h), 0);
        ggml_gallocr_free(galloc);
        for (int i = 0; i < ggml_graph_n_nodes(h); i++) {
            ggml_graph_node(h, i)->data = NULL;
            ggml_graph_node(h, i)->buffer = NULL;
        }
        for (int i = 0; i < ggalloc_graph_n_leafs(h); i++) {
            ggalloc_graph_leaf(h, i)->data = NULL;
            ggalloc_graph_leaf(h, i)->buffer = NULL;
        }
        if (ok) {
            break;
        }
    }
    CHECK(n_failed >= 3); // the scratch, the results, the blocks
    ggml_free(ctx);
}

int main(void) {
    test_out_of_memory();
    test_slot_counts();
    test_scratch_kept();
    test_order_identity();
    test_free_order();
    test_node_listed_twice();
    test_input_sees_partial_counts();
    return check_report("test-lifetimes");
}
