// The Vulkan backend on whatever device the machine has (Mesa's lavapipe in CI): device
// limits, transfers across chunk boundaries and at unaligned offsets, memset edges, copies,
// allocation failures, a graph whose plan needs several chunks, random graphs of every
// supported op, a GPT-2 block and a small GPT-2 with a KV cache against the CPU backend
// (NMSE <= 1e-6), barrier placement, refused ops and buffers, a lost device, and a machine
// without a device (a child process with no driver).
//
// Skips, with the reason, only in a build without Vulkan or on a machine without a device.

#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggalloc.h"

#ifdef GGALLOC_USE_VULKAN
#include "ggml-vulkan.h"
#include "vulkan/vulkan-impl.h"

static const double NMSE_MAX = 1e-6;
static double nmse_worst = 0.0;
static int    n_compared = 0;

//
// helpers
//

static uint64_t rng_state;

static uint32_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t) (rng_state >> 11);
}

static float rng_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float) (rng_next() & 0xffffff) / (float) 0x1000000;
}

static struct ggml_context * ctx_new(void) {
    struct ggml_init_params p = { .mem_size = 512 * ggml_tensor_overhead() + ggml_graph_overhead(), .mem_buffer = NULL, .no_alloc = true };
    return ggml_init(p);
}

static double nmse(const float * ref, const float * out, int64_t n) {
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double) out[i] - (double) ref[i];
        if (isnan(out[i]) != isnan(ref[i]) || isinf(out[i]) != isinf(ref[i])) return INFINITY;
        if (isinf(ref[i])) continue;
        num += d * d;
        den += (double) ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

// Inputs a builder declares: how to fill them.
enum fill { FILL_UNIFORM, FILL_POSITIVE, FILL_INDEX, FILL_MASK, FILL_DISTINCT };

struct graph_inputs {
    struct ggml_tensor * t[48];
    enum fill kind[48];
    int range[48]; // FILL_INDEX: indices in [0, range)
    int n;
    struct ggml_tensor * pre[16]; // expanded into the graph before the output (KV cache writes)
    int n_pre;
};

static struct ggml_tensor * input(struct ggml_context * ctx, struct graph_inputs * in, enum ggml_type type,
                                  int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, enum fill kind, int range) {
    struct ggml_tensor * t = ggml_new_tensor_4d(ctx, type, ne0, ne1, ne2, ne3);
    ggml_format_name(t, "in%d", in->n);
    ggml_set_input(t);
    in->t[in->n] = t;
    in->kind[in->n] = kind;
    in->range[in->n] = range;
    in->n++;
    return t;
}

static void fill_inputs(struct graph_inputs * in, uint64_t seed) {
    for (int k = 0; k < in->n; k++) {
        struct ggml_tensor * t = in->t[k];
        if (t->data == NULL) continue; // declared but not part of this graph
        rng_state = seed * 7919 + (uint64_t) k * 104729 + 1;
        int64_t n = ggml_nelements(t);
        void * buf = malloc(ggml_nbytes(t));
        for (int64_t i = 0; i < n; i++) {
            float v;
            switch (in->kind[k]) {
                case FILL_POSITIVE: v = rng_uniform(0.1f, 2.0f); break;
                case FILL_MASK:     v = (rng_next() % 4 == 0) ? -INFINITY : rng_uniform(-1.0f, 1.0f); break;
                default:            v = rng_uniform(-1.0f, 1.0f); break;
            }
            if (t->type == GGML_TYPE_F32) ((float *) buf)[i] = v;
            else if (t->type == GGML_TYPE_F16) ((ggml_fp16_t *) buf)[i] = ggml_fp32_to_fp16(v);
            else if (in->kind[k] == FILL_DISTINCT) {
                // distinct along each row: a stride coprime to the range (a prime above it)
                int64_t row = i / t->ne[0], v = (i % t->ne[0]) * 7919 + row * 31 + (int64_t) seed;
                int64_t idx = v % in->range[k];
                if (t->type == GGML_TYPE_I64) ((int64_t *) buf)[i] = idx;
                else ((int32_t *) buf)[i] = (int32_t) idx;
            }
            else if (t->type == GGML_TYPE_I32) ((int32_t *) buf)[i] = (int32_t) (rng_next() % (uint32_t) in->range[k]);
        }
        ggml_backend_tensor_set(t, buf, 0, ggml_nbytes(t));
        free(buf);
    }
}

typedef struct ggml_tensor * (*build_fn)(struct ggml_context * ctx, struct graph_inputs * in, int variant);

// Builds the graph, allocates it with the backend's buffer type, fills the inputs from seed,
// computes, and returns the output as f32 (malloc'ed) with its element count. NULL on failure.
static float * run_on(ggml_backend_t be, build_fn build, int variant, uint64_t seed, int64_t * n_out) {
    struct ggml_context * ctx = ctx_new();
    struct graph_inputs in = { .n = 0 };
    struct ggml_tensor * out = build(ctx, &in, variant);
    float * res = NULL;
    if (out == NULL) {
        fprintf(stderr, "a builder gave NULL for variant %d\n", variant);
        ggml_free(ctx);
        return NULL;
    }
    ggml_set_output(out);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    for (int i = 0; i < in.n_pre; i++) ggml_build_forward_expand(gf, in.pre[i]);
    ggml_build_forward_expand(gf, out);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_get_default_buffer_type(be));
    if (ggml_gallocr_alloc_graph(ga, gf)) {
        fill_inputs(&in, seed);
        if (ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS) {
            int64_t n = ggml_nelements(out);
            res = malloc((size_t) n * sizeof(float));
            if (out->type == GGML_TYPE_F16) {
                ggml_fp16_t * h = malloc((size_t) n * sizeof(ggml_fp16_t));
                ggml_backend_tensor_get(out, h, 0, ggml_nbytes(out));
                ggml_fp16_to_fp32_row(h, res, n);
                free(h);
            } else {
                ggml_backend_tensor_get(out, res, 0, ggml_nbytes(out));
            }
            *n_out = n;
        }
    }
    ggml_gallocr_free(ga);
    ggml_free(ctx);
    return res;
}

static void compare_with_cpu(ggml_backend_t vk, ggml_backend_t cpu, build_fn build, int variant, uint64_t seed, const char * what) {
    int64_t n_ref = 0, n_vk = 0;
    float * ref = run_on(cpu, build, variant, seed, &n_ref);
    float * got = run_on(vk, build, variant, seed, &n_vk);
    CHECK(ref != NULL && got != NULL);
    if (ref != NULL && got != NULL) {
        CHECK_EQ_INT(n_ref, n_vk);
        double e = nmse(ref, got, n_ref);
        n_compared++;
        if (!(e <= nmse_worst)) nmse_worst = e;
        if (!(e <= NMSE_MAX)) fprintf(stderr, "%s (variant %d, seed %llu): NMSE %g\n", what, variant, (unsigned long long) seed, e);
        CHECK(e <= NMSE_MAX);
    } else {
        fprintf(stderr, "%s (variant %d): did not run\n", what, variant);
    }
    free(ref);
    free(got);
}

//
// devices and buffer types
//

static void test_device(void) {
    struct vk_device * d = ggalloc_vk_device_get(0);
    CHECK(d != NULL);
    char desc[256] = "";
    ggml_backend_vk_get_device_description(0, desc, sizeof(desc));
    CHECK(strlen(desc) > 0);
    printf("device 0: %s\n", desc);
    size_t free_mem = 0, total = 0;
    ggml_backend_vk_get_device_memory(0, &free_mem, &total);
    CHECK(total > 0 && free_mem <= total);

    ggml_backend_buffer_type_t buft = ggml_backend_vk_buffer_type(0);
    CHECK(buft != NULL);
    size_t align = ggml_backend_buft_get_alignment(buft);
    size_t maxs  = ggml_backend_buft_get_max_size(buft);
    size_t want_align = d->props.limits.minStorageBufferOffsetAlignment;
    if (want_align < 16) want_align = 16;
    CHECK_EQ_INT(align, want_align);
    CHECK(maxs <= d->props.limits.maxStorageBufferRange);
    CHECK(maxs + align > d->props.limits.maxStorageBufferRange || maxs + align > d->heap_size || maxs > 0);
    CHECK(!ggml_backend_buft_is_host(buft));
    CHECK(ggml_backend_buft_is_host(ggml_backend_vk_host_buffer_type()));
    printf("device 0: alignment %zu, max buffer size %zu\n", align, maxs);

    // out of range
    log_capture_begin();
    CHECK(ggml_backend_vk_buffer_type(999) == NULL);
    CHECK(ggml_backend_vk_init(999) == NULL);
    log_capture_end();
    CHECK(log_captured("999"));

    // the registry lists the device
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("Vulkan");
    CHECK(reg != NULL);
    if (reg != NULL) {
        CHECK_EQ_INT(ggml_backend_reg_dev_count(reg), ggml_backend_vk_get_device_count());
        ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
        CHECK(dev != NULL && ggml_backend_dev_buffer_type(dev) == buft);
        CHECK(dev != NULL && ggml_backend_buft_get_device(buft) == dev);
        ggml_backend_t be = dev ? ggml_backend_dev_init(dev, NULL) : NULL;
        CHECK(be != NULL && ggml_backend_is_vk(be));
        ggml_backend_free(be);
    }
}

static void test_alloc_failures(void) {
    ggml_backend_buffer_type_t buft = ggml_backend_vk_buffer_type(0);
    size_t maxs = ggml_backend_buft_get_max_size(buft);

    log_capture_begin();
    ggml_backend_buffer_t b = ggml_backend_buft_alloc_buffer(buft, maxs + 1);
    log_capture_end();
    CHECK(b == NULL);
    CHECK(log_captured("max buffer size"));

    log_capture_begin();
    b = ggml_backend_buft_alloc_buffer(ggml_backend_vk_host_buffer_type(), SIZE_MAX / 2);
    log_capture_end();
    CHECK(b == NULL);
    CHECK(log_capture_errors > 0);

    // a zero-size buffer is valid and empty
    b = ggml_backend_buft_alloc_buffer(buft, 0);
    CHECK(b != NULL && ggml_backend_buffer_get_size(b) == 0);
    ggml_backend_buffer_free(b);

    // a graph with a tensor larger than the device allows: the plan gives it a chunk of its
    // own and the allocation of that chunk fails cleanly
    struct ggml_context * ctx = ctx_new();
    int64_t n = (int64_t) (maxs / sizeof(float)) + 1024;
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    ggml_set_input(a);
    struct ggml_tensor * r = ggml_scale(ctx, a, 2.0f);
    ggml_set_output(r);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, r);
    ggml_gallocr_t ga = ggml_gallocr_new(buft);
    log_capture_begin();
    bool ok = ggml_gallocr_reserve(ga, gf);
    log_capture_end();
    CHECK(!ok);
    CHECK(log_captured("max buffer size"));
    ggml_gallocr_free(ga);
    ggml_free(ctx);
}

//
// transfers
//

static void test_transfers(void) {
    ggml_backend_buffer_type_t buft = ggml_backend_vk_buffer_type(0);
    size_t maxs = ggml_backend_buft_get_max_size(buft);

    // three tensors of 3/8 of the max size each: ggml_backend_alloc_ctx_tensors splits them
    // over at least two buffers, and each is larger than the staging buffer on lavapipe
    struct ggml_context * ctx = ctx_new();
    int64_t n = (int64_t) (maxs / 8 * 3 / sizeof(float));
    struct ggml_tensor * t[3];
    for (int i = 0; i < 3; i++) t[i] = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    struct ggml_tensor * h = ggml_new_tensor_1d(ctx, GGML_TYPE_F16, 1001);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft);
    CHECK(buf != NULL);
    if (buf == NULL) {
        ggml_free(ctx);
        return;
    }
    CHECK(ggml_backend_buffer_get_size(buf) > maxs);
    CHECK(t[0]->buffer != t[2]->buffer); // they did not all fit one chunk

    float * src = malloc((size_t) n * sizeof(float));
    float * dst = malloc((size_t) n * sizeof(float));
    for (int i = 0; i < 3; i++) {
        for (int64_t j = 0; j < n; j++) src[j] = (float) (j * 3 + i);
        ggml_backend_tensor_set(t[i], src, 0, ggml_nbytes(t[i]));
    }
    for (int i = 0; i < 3; i++) {
        memset(dst, 0, (size_t) n * sizeof(float));
        ggml_backend_tensor_get(t[i], dst, 0, ggml_nbytes(t[i]));
        int64_t bad = 0;
        for (int64_t j = 0; j < n; j++) bad += dst[j] != (float) (j * 3 + i);
        CHECK_EQ_INT(bad, 0);
    }

    // unaligned byte ranges: offsets and sizes that are not multiples of 4
    uint8_t pattern[2002], back[2002];
    for (int i = 0; i < 2002; i++) pattern[i] = (uint8_t) (i * 7 + 1);
    ggml_backend_tensor_set(h, pattern, 0, 2002);
    ggml_backend_tensor_set(h, pattern + 500, 3, 1001);
    memmove(pattern + 3, pattern + 500, 1001);
    ggml_backend_tensor_get(h, back, 0, 2002);
    CHECK(memcmp(back, pattern, 2002) == 0);
    memset(back, 0, sizeof(back));
    ggml_backend_tensor_get(h, back + 5, 5, 17);
    CHECK(memcmp(back + 5, pattern + 5, 17) == 0);

    // memset with unaligned edges: bytes outside the range stay as they were
    for (size_t off = 0; off < 5; off++) {
        for (size_t len = 0; len < 13; len += 3) {
            ggml_backend_tensor_set(h, pattern, 0, 64);
            ggml_backend_tensor_memset(h, 0xab, off + 1, len);
            ggml_backend_tensor_get(h, back, 0, 64);
            int bad = 0;
            for (size_t i = 0; i < 64; i++) {
                uint8_t want = (i >= off + 1 && i < off + 1 + len) ? 0xab : pattern[i];
                bad += back[i] != want;
            }
            CHECK_EQ_INT(bad, 0);
        }
    }

    // a memset over most of a large tensor (vkCmdFillBuffer), then its ends
    ggml_backend_tensor_memset(t[1], 0, 6, ggml_nbytes(t[1]) - 13);
    ggml_backend_tensor_get(t[1], dst, 0, 16);
    ggml_backend_tensor_get(t[1], dst + 4, ggml_nbytes(t[1]) - 16, 16);
    uint8_t * bytes = (uint8_t *) dst;
    for (int j = 0; j < 4; j++) src[j] = (float) (j * 3 + 1);
    CHECK(memcmp(bytes, src, 6) == 0);               // untouched head
    CHECK(bytes[6] == 0 && bytes[15] == 0);          // cleared
    for (int j = 0; j < 4; j++) src[j] = (float) ((n - 4 + j) * 3 + 1);
    CHECK(memcmp(bytes + 16 + 9, (uint8_t *) src + 9, 7) == 0); // untouched tail (13 - 6 bytes)
    CHECK(bytes[16 + 8] == 0);

    // device-to-device copy between chunks, and host-to-device copy
    ggml_backend_tensor_copy(t[0], t[2]);
    ggml_backend_tensor_get(t[2], dst, 0, ggml_nbytes(t[2]));
    CHECK(dst[0] == 0.0f && dst[n - 1] == (float) ((n - 1) * 3));

    struct ggml_context * hctx = ctx_new();
    struct ggml_tensor * ht = ggml_new_tensor_1d(hctx, GGML_TYPE_F16, 1001);
    ggml_backend_buffer_t hbuf = ggml_backend_alloc_ctx_tensors_from_buft(hctx, ggml_backend_cpu_buffer_type());
    for (int i = 0; i < 1001; i++) ((ggml_fp16_t *) ht->data)[i] = ggml_fp32_to_fp16((float) i);
    ggml_backend_tensor_copy(ht, h);
    ggml_backend_tensor_get(h, back, 0, 2002);
    CHECK(memcmp(back, ht->data, 2002) == 0);

    // buffer clear
    ggml_backend_buffer_clear(buf, 0);
    ggml_backend_tensor_get(h, back, 0, 2002);
    int nz = 0;
    for (int i = 0; i < 2002; i++) nz += back[i] != 0;
    CHECK_EQ_INT(nz, 0);

    free(src);
    free(dst);
    ggml_backend_buffer_free(hbuf);
    ggml_free(hctx);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

//
// graphs
//

// A chain of adds over tensors whose plan needs more than one chunk: the inputs and output
// alone are over the max buffer size.
static void test_multi_chunk_graph(ggml_backend_t vk) {
    ggml_backend_buffer_type_t buft = ggml_backend_vk_buffer_type(0);
    size_t maxs = ggml_backend_buft_get_max_size(buft);
    int64_t n = (int64_t) (maxs / 3 / sizeof(float)) + 4096; // three of them do not fit a chunk

    struct ggml_context * ctx = ctx_new();
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    ggml_set_input(a);
    ggml_set_input(b);
    struct ggml_tensor * c = ggml_add(ctx, a, b);              // a + b
    struct ggml_tensor * d = ggml_mul(ctx, c, a);              // (a + b) * a
    struct ggml_tensor * e = ggml_add(ctx, d, b);              // (a + b) * a + b
    ggml_set_output(e);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, e);

    ggml_gallocr_t ga = ggml_gallocr_new(buft);
    CHECK(ggml_gallocr_alloc_graph(ga, gf));
    int max_chunk = 0;
    for (int i = 0; i < ggalloc_gallocr_n_placements(ga); i++) {
        struct ggalloc_placement p;
        if (ggalloc_gallocr_get_placement(ga, i, &p) && p.chunk > max_chunk) max_chunk = p.chunk;
    }
    CHECK(max_chunk >= 1);
    CHECK(ggml_gallocr_get_buffer_size(ga, 0) > maxs);
    printf("multi-chunk graph: %zu bytes in %d chunks (max %zu per chunk)\n",
           ggml_gallocr_get_buffer_size(ga, 0), max_chunk + 1, maxs);

    float * ha = malloc((size_t) n * sizeof(float));
    float * hb = malloc((size_t) n * sizeof(float));
    float * he = malloc((size_t) n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        ha[i] = (float) (i % 1000) * 0.5f;
        hb[i] = (float) (i % 777) - 300.0f;
    }
    ggml_backend_tensor_set(a, ha, 0, ggml_nbytes(a));
    ggml_backend_tensor_set(b, hb, 0, ggml_nbytes(b));
    CHECK(ggml_backend_graph_compute(vk, gf) == GGML_STATUS_SUCCESS);
    ggml_backend_tensor_get(e, he, 0, ggml_nbytes(e));
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        float want = (ha[i] + hb[i]) * ha[i] + hb[i];
        bad += he[i] != want;
    }
    CHECK_EQ_INT(bad, 0);
    free(ha);
    free(hb);
    free(he);
    ggml_gallocr_free(ga);
    ggml_free(ctx);
}

static struct ggml_tensor * build_binary(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, 33, 7, 3, 2, FILL_UNIFORM, 0);
    struct ggml_tensor * b;
    switch (v % 4) {
        case 0:  b = input(ctx, in, GGML_TYPE_F32, 33, 7, 3, 2, FILL_UNIFORM, 0); break;
        case 1:  b = input(ctx, in, GGML_TYPE_F32, 33, 1, 1, 1, FILL_UNIFORM, 0); break;
        case 2:  b = input(ctx, in, GGML_TYPE_F32, 33, 7, 1, 2, FILL_UNIFORM, 0); break;
        default: b = input(ctx, in, GGML_TYPE_F32, 1, 7, 3, 1, FILL_POSITIVE, 0); break;
    }
    switch (v / 4) {
        case 0:  return ggml_add(ctx, a, b);
        case 1:  return ggml_mul(ctx, a, b);
        case 2:  return ggml_sub(ctx, a, b);
        case 3:  return ggml_div(ctx, a, b);
        // a permuted (non-contiguous) first operand, and an in-place add
        case 4:  return ggml_add(ctx, ggml_cont(ctx, ggml_permute(ctx, ggml_add(ctx, a, a), 0, 2, 1, 3)),
                                 ggml_permute(ctx, ggml_scale(ctx, a, 0.5f), 0, 2, 1, 3));
        default: return ggml_add_inplace(ctx, ggml_scale(ctx, a, 3.0f), b);
    }
}

static struct ggml_tensor * build_unary(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    bool positive = v == GGML_UNARY_OP_COUNT + 2 || v == GGML_UNARY_OP_COUNT + 3;
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, 100, 9, 2, 1, positive ? FILL_POSITIVE : FILL_UNIFORM, 0);
    struct ggml_tensor * x = ggml_scale(ctx, a, 4.0f);    // covers the interesting range of each op
    if (v < GGML_UNARY_OP_COUNT) return ggml_unary(ctx, x, (enum ggml_unary_op) v);
    switch (v - GGML_UNARY_OP_COUNT) {
        case 0:  return ggml_sqr(ctx, a);
        case 1:  return ggml_diag_mask_inf(ctx, ggml_reshape_3d(ctx, ggml_cont(ctx, ggml_view_3d(ctx, a, 9, 9, 2, a->nb[1], a->nb[2], 0)), 9, 9, 2), 3);
        case 2:  return ggml_sqrt(ctx, a);
        case 3:  return ggml_log(ctx, a);
        // a view whose rows are apart (strided source)
        default: return ggml_gelu(ctx, ggml_view_2d(ctx, a, 50, 9, a->nb[1], 0));
    }
}

// every glu op, fused (plain and swapped) and split, on rows with odd lengths
static struct ggml_tensor * build_glu(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    const enum ggml_glu_op op = (enum ggml_glu_op) (v % GGML_GLU_OP_COUNT);
    const int form = v / GGML_GLU_OP_COUNT;
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, form == 2 ? 37 : 74, 5, 3, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * x = ggml_scale(ctx, a, 4.0f);
    if (form == 2) {
        struct ggml_tensor * g = input(ctx, in, GGML_TYPE_F32, 37, 5, 3, 1, FILL_UNIFORM, 0);
        return op == GGML_GLU_OP_SWIGLU_OAI ? ggml_swiglu_oai(ctx, x, g, 1.702f, 2.0f) : ggml_glu_split(ctx, x, g, op);
    }
    return op == GGML_GLU_OP_SWIGLU_OAI && form == 0 ? ggml_swiglu_oai(ctx, x, NULL, 1.702f, 2.0f) : ggml_glu(ctx, x, op, form == 1);
}

// rows written at distinct i32 / i64 indices into an f32 or f16 destination, indices broadcast over ne[2]
static struct ggml_tensor * build_set_rows(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    struct ggml_tensor * dst = input(ctx, in, (v & 1) ? GGML_TYPE_F16 : GGML_TYPE_F32, 40, 13, 4, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * rows = input(ctx, in, GGML_TYPE_F32, 40, 5, 4, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * idx = input(ctx, in, (v & 2) ? GGML_TYPE_I64 : GGML_TYPE_I32, 5, (v & 4) ? 1 : 4, 1, 1, FILL_DISTINCT, 13);
    return ggml_set_rows(ctx, dst, rows, idx);
}

// rms_norm followed by a mul by a weight row: fused into one dispatch when the norm has no other reader
static struct ggml_tensor * build_rms_norm_mul(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, 300, 7, 3, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * w = input(ctx, in, GGML_TYPE_F32, 300, v == 2 ? 7 : 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * n = ggml_rms_norm(ctx, a, 1e-5f);
    struct ggml_tensor * m = ggml_mul(ctx, n, w);
    // v 1: the norm is read again later, so the pair must not fuse
    return v == 1 ? ggml_add(ctx, m, n) : m;
}

static struct ggml_tensor * build_norms(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, v == 2 ? 1000 : 64, 5, 3, 1, FILL_UNIFORM, 0);
    switch (v) {
        case 0:  return ggml_norm(ctx, a, 1e-5f);
        case 1:  return ggml_rms_norm(ctx, a, 1e-6f);
        case 2:  return ggml_norm(ctx, ggml_add(ctx, a, a), 1e-5f);
        default: return ggml_rms_norm(ctx, ggml_permute(ctx, a, 0, 2, 1, 3), 1e-6f);
    }
}

static struct ggml_tensor * build_soft_max(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, 37, 6, 4, 1, FILL_UNIFORM, 0);
    switch (v) {
        case 0:  return ggml_soft_max(ctx, a);
        case 1:  return ggml_soft_max_ext(ctx, a, input(ctx, in, GGML_TYPE_F32, 37, 8, 1, 1, FILL_MASK, 0), 0.3f, 0.0f);
        case 2:  return ggml_soft_max_ext(ctx, a, input(ctx, in, GGML_TYPE_F16, 37, 6, 1, 1, FILL_MASK, 0), 1.7f, 0.0f);
        case 3:  return ggml_soft_max_ext(ctx, a, input(ctx, in, GGML_TYPE_F32, 37, 6, 1, 1, FILL_UNIFORM, 0), 0.5f, 8.0f);
        case 4:  return ggml_soft_max_ext(ctx, ggml_reshape_4d(ctx, a, 37, 6, 2, 2), input(ctx, in, GGML_TYPE_F16, 37, 6, 1, 2, FILL_UNIFORM, 0), 1.0f, 0.0f);
        default: return ggml_soft_max(ctx, ggml_diag_mask_inf(ctx, ggml_reshape_3d(ctx, ggml_cont(ctx, ggml_view_3d(ctx, a, 6, 6, 4, a->nb[1], a->nb[2], 0)), 6, 6, 4), 1));
    }
}

static struct ggml_tensor * build_mul_mat(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    enum ggml_type wt = (v & 1) ? GGML_TYPE_F16 : GGML_TYPE_F32;
    switch (v / 2) {
        case 0: // matrix-vector
            return ggml_mul_mat(ctx, input(ctx, in, wt, 130, 67, 1, 1, FILL_UNIFORM, 0),
                                     input(ctx, in, GGML_TYPE_F32, 130, 1, 1, 1, FILL_UNIFORM, 0));
        case 1: // tiled, sizes not multiples of the tile
            return ggml_mul_mat(ctx, input(ctx, in, wt, 70, 131, 1, 1, FILL_UNIFORM, 0),
                                     input(ctx, in, GGML_TYPE_F32, 70, 67, 1, 1, FILL_UNIFORM, 0));
        case 2: // batched with broadcast over ne2, ne3
            return ggml_mul_mat(ctx, input(ctx, in, wt, 32, 20, 2, 1, FILL_UNIFORM, 0),
                                     input(ctx, in, GGML_TYPE_F32, 32, 9, 6, 2, FILL_UNIFORM, 0));
        default: // transposed (strided) operands as attention uses them
            return ggml_mul_mat(ctx, ggml_permute(ctx, input(ctx, in, GGML_TYPE_F32, 16, 4, 10, 1, FILL_UNIFORM, 0), 0, 2, 1, 3),
                                     ggml_permute(ctx, input(ctx, in, GGML_TYPE_F32, 16, 4, 5, 1, FILL_UNIFORM, 0), 0, 2, 1, 3));
    }
}

static struct ggml_tensor * build_copies(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    if (v >= 6) {
        // rows of 40: copied row by row (the short rows above take the element-wise path)
        struct ggml_tensor * w = input(ctx, in, v == 7 ? GGML_TYPE_F16 : GGML_TYPE_F32, 40, 3, 5, 2, FILL_UNIFORM, 0);
        struct ggml_tensor * p = ggml_permute(ctx, w, 0, 2, 3, 1);
        return v == 6 ? ggml_cast(ctx, p, GGML_TYPE_F16) : ggml_cont(ctx, p);
    }
    struct ggml_tensor * a = input(ctx, in, v >= 3 ? GGML_TYPE_F16 : GGML_TYPE_F32, 12, 5, 3, 2, FILL_UNIFORM, 0);
    switch (v) {
        case 0:  return ggml_cont(ctx, ggml_permute(ctx, a, 2, 0, 3, 1));
        case 1:  return ggml_cast(ctx, ggml_cont(ctx, ggml_transpose(ctx, ggml_reshape_2d(ctx, a, 60, 6))), GGML_TYPE_F16);
        case 2:  return ggml_cpy(ctx, ggml_permute(ctx, a, 1, 0, 2, 3), ggml_new_tensor_1d(ctx, GGML_TYPE_F16, 360));
        case 3:  return ggml_cast(ctx, ggml_permute(ctx, a, 0, 2, 1, 3), GGML_TYPE_F32);
        case 4:  return ggml_cont_2d(ctx, ggml_view_3d(ctx, a, 5, 4, 3, a->nb[1], a->nb[2], a->nb[0] * 3), 20, 3);
        default: return ggml_dup(ctx, ggml_transpose(ctx, ggml_reshape_2d(ctx, a, 12, 30)));
    }
}

static struct ggml_tensor * build_get_rows(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    struct ggml_tensor * a = input(ctx, in, (v & 1) ? GGML_TYPE_F16 : GGML_TYPE_F32, 48, 20, v >= 2 ? 3 : 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * idx = input(ctx, in, GGML_TYPE_I32, 7, v >= 2 ? 3 : 1, 1, 1, FILL_INDEX, 20);
    return ggml_get_rows(ctx, a, idx);
}

static struct ggml_tensor * build_rope(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    // [head_dim, n_head, n_tokens]
    struct ggml_tensor * a = input(ctx, in, GGML_TYPE_F32, 64, 4, 9, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * pos = input(ctx, in, GGML_TYPE_I32, 9, 1, 1, 1, FILL_INDEX, 600);
    int mode = (v & 1) ? GGML_ROPE_TYPE_NEOX : 0;
    switch (v / 2) {
        case 0:  return ggml_rope(ctx, a, pos, 64, mode);
        case 1:  return ggml_rope_ext(ctx, a, pos, NULL, 32, mode, 4096, 10000.0f, 0.5f, 1.0f, 1.0f, 32.0f, 1.0f);
        default: return ggml_rope_ext(ctx, a, pos, input(ctx, in, GGML_TYPE_F32, 16, 1, 1, 1, FILL_POSITIVE, 0),
                                      32, mode, 2048, 500000.0f, 1.0f, 0.0f, 1.0f, 32.0f, 1.0f);
    }
}

// One GPT-2 transformer block (pre-norm attention with a causal mask, then the MLP), built as
// ggml's gpt-2 example builds it, with f16 weights. v: 0 prefill of 12 tokens, 1 decode of 1.
static struct ggml_tensor * build_gpt2_block(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    const int n_embd = 128, n_head = 4, hd = n_embd / n_head;
    const int N = v == 0 ? 12 : 1;
    struct ggml_tensor * x     = input(ctx, in, GGML_TYPE_F32, n_embd, N, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * ln1_g = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_POSITIVE, 0);
    struct ggml_tensor * ln1_b = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * w_qkv = input(ctx, in, GGML_TYPE_F16, n_embd, 3 * n_embd, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * b_qkv = input(ctx, in, GGML_TYPE_F32, 3 * n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * w_o   = input(ctx, in, GGML_TYPE_F16, n_embd, n_embd, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * b_o   = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * ln2_g = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_POSITIVE, 0);
    struct ggml_tensor * ln2_b = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * w_fc  = input(ctx, in, GGML_TYPE_F16, n_embd, 4 * n_embd, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * b_fc  = input(ctx, in, GGML_TYPE_F32, 4 * n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * w_pr  = input(ctx, in, GGML_TYPE_F16, 4 * n_embd, n_embd, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * b_pr  = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);

    struct ggml_tensor * cur = ggml_norm(ctx, x, 1e-5f);
    cur = ggml_add(ctx, ggml_mul(ctx, cur, ln1_g), ln1_b);
    cur = ggml_add(ctx, ggml_mul_mat(ctx, w_qkv, cur), b_qkv);
    struct ggml_tensor * q = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], 0);
    struct ggml_tensor * k = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], sizeof(float) * n_embd);
    struct ggml_tensor * vv = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], 2 * sizeof(float) * n_embd);
    struct ggml_tensor * Q = ggml_permute(ctx, ggml_cont_3d(ctx, q, hd, n_head, N), 0, 2, 1, 3);
    struct ggml_tensor * K = ggml_permute(ctx, ggml_cont_3d(ctx, k, hd, n_head, N), 0, 2, 1, 3);
    struct ggml_tensor * kq = ggml_mul_mat(ctx, K, Q);
    kq = ggml_scale(ctx, kq, 1.0f / sqrtf((float) hd));
    kq = ggml_diag_mask_inf(ctx, kq, 0);
    kq = ggml_soft_max(ctx, kq);
    struct ggml_tensor * V = ggml_cont(ctx, ggml_permute(ctx, ggml_cont_3d(ctx, vv, hd, n_head, N), 1, 2, 0, 3));
    struct ggml_tensor * kqv = ggml_mul_mat(ctx, V, kq);
    cur = ggml_cont_2d(ctx, ggml_permute(ctx, kqv, 0, 2, 1, 3), n_embd, N);
    cur = ggml_add(ctx, ggml_mul_mat(ctx, w_o, cur), b_o);
    struct ggml_tensor * res = ggml_add(ctx, cur, x);
    cur = ggml_norm(ctx, res, 1e-5f);
    cur = ggml_add(ctx, ggml_mul(ctx, cur, ln2_g), ln2_b);
    cur = ggml_add(ctx, ggml_mul_mat(ctx, w_fc, cur), b_fc);
    cur = ggml_gelu(ctx, cur);
    cur = ggml_add(ctx, ggml_mul_mat(ctx, w_pr, cur), b_pr);
    return ggml_add(ctx, cur, res);
}

// GPT-2 as ggml's examples/gpt-2 builds it, small: token and position embeddings by
// get_rows, a KV cache the new keys and values are copied into (views at offsets), attention
// over the cache through permuted views, the final norm and the logits. v: 0 prefill of 6
// tokens, 1 one token after 7 in the cache.
static struct ggml_tensor * build_gpt2(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    const int n_vocab = 300, n_ctx = 16, n_embd = 64, n_head = 4, n_layer = 2, hd = n_embd / n_head;
    const int N = v == 0 ? 6 : 1, n_past = v == 0 ? 0 : 7;
    struct ggml_tensor * wte  = input(ctx, in, GGML_TYPE_F16, n_embd, n_vocab, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * wpe  = input(ctx, in, GGML_TYPE_F32, n_embd, n_ctx, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * lm   = input(ctx, in, GGML_TYPE_F16, n_embd, n_vocab, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * lnfg = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_POSITIVE, 0);
    struct ggml_tensor * lnfb = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * mk   = input(ctx, in, GGML_TYPE_F32, n_layer * n_ctx * n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * mv   = input(ctx, in, GGML_TYPE_F32, n_layer * n_ctx * n_embd, 1, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * tok  = input(ctx, in, GGML_TYPE_I32, N, 1, 1, 1, FILL_INDEX, n_vocab);
    struct ggml_tensor * pos  = input(ctx, in, GGML_TYPE_I32, N, 1, 1, 1, FILL_INDEX, n_ctx);
    const size_t es = ggml_element_size(mk);

    struct ggml_tensor * inpL = ggml_add(ctx, ggml_get_rows(ctx, wte, tok), ggml_get_rows(ctx, wpe, pos));
    for (int il = 0; il < n_layer; il++) {
        struct ggml_tensor * ln1g = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_POSITIVE, 0);
        struct ggml_tensor * ln1b = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * wqkv = input(ctx, in, GGML_TYPE_F16, n_embd, 3 * n_embd, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * bqkv = input(ctx, in, GGML_TYPE_F32, 3 * n_embd, 1, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * wo   = input(ctx, in, GGML_TYPE_F16, n_embd, n_embd, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * bo   = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * ln2g = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_POSITIVE, 0);
        struct ggml_tensor * ln2b = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * wfc  = input(ctx, in, GGML_TYPE_F16, n_embd, 4 * n_embd, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * bfc  = input(ctx, in, GGML_TYPE_F32, 4 * n_embd, 1, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * wpr  = input(ctx, in, GGML_TYPE_F16, 4 * n_embd, n_embd, 1, 1, FILL_UNIFORM, 0);
        struct ggml_tensor * bpr  = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_UNIFORM, 0);

        struct ggml_tensor * cur = ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, inpL, 1e-5f), ln1g), ln1b);
        cur = ggml_add(ctx, ggml_mul_mat(ctx, wqkv, cur), bqkv);
        struct ggml_tensor * Qcur = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], 0);
        struct ggml_tensor * Kcur = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], sizeof(float) * n_embd);
        struct ggml_tensor * Vcur = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], 2 * sizeof(float) * n_embd);
        struct ggml_tensor * k = ggml_view_1d(ctx, mk, N * n_embd, es * n_embd * (size_t) (il * n_ctx + n_past));
        struct ggml_tensor * vw = ggml_view_1d(ctx, mv, N * n_embd, es * n_embd * (size_t) (il * n_ctx + n_past));
        in->pre[in->n_pre++] = ggml_cpy(ctx, Kcur, k);
        in->pre[in->n_pre++] = ggml_cpy(ctx, Vcur, vw);

        struct ggml_tensor * Q = ggml_permute(ctx, ggml_cpy(ctx, Qcur, ggml_new_tensor_3d(ctx, GGML_TYPE_F32, hd, n_head, N)), 0, 2, 1, 3);
        struct ggml_tensor * K = ggml_permute(ctx, ggml_reshape_3d(ctx,
                ggml_view_1d(ctx, mk, (n_past + N) * n_embd, es * n_embd * (size_t) (il * n_ctx)), hd, n_head, n_past + N), 0, 2, 1, 3);
        struct ggml_tensor * KQ = ggml_soft_max(ctx, ggml_diag_mask_inf(ctx, ggml_scale(ctx, ggml_mul_mat(ctx, K, Q), 1.0f / sqrtf((float) hd)), n_past));
        struct ggml_tensor * Vt = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_3d(ctx,
                ggml_view_1d(ctx, mv, (n_past + N) * n_embd, es * n_embd * (size_t) (il * n_ctx)), hd, n_head, n_past + N), 1, 2, 0, 3));
        struct ggml_tensor * KQV = ggml_permute(ctx, ggml_mul_mat(ctx, Vt, KQ), 0, 2, 1, 3);
        cur = ggml_cpy(ctx, KQV, ggml_new_tensor_2d(ctx, GGML_TYPE_F32, n_embd, N));
        cur = ggml_add(ctx, ggml_add(ctx, ggml_mul_mat(ctx, wo, cur), bo), inpL);
        struct ggml_tensor * inpFF = cur;
        cur = ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, inpFF, 1e-5f), ln2g), ln2b);
        cur = ggml_gelu(ctx, ggml_add(ctx, ggml_mul_mat(ctx, wfc, cur), bfc));
        cur = ggml_add(ctx, ggml_mul_mat(ctx, wpr, cur), bpr);
        inpL = ggml_add(ctx, cur, inpFF);
    }
    inpL = ggml_add(ctx, ggml_mul(ctx, ggml_norm(ctx, inpL, 1e-5f), lnfg), lnfb);
    return ggml_mul_mat(ctx, lm, inpL);
}

// A LLaMA-style attention start: rms_norm, projections, rope (neox), silu-gated MLP input.
static struct ggml_tensor * build_llama_bits(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    const int n_embd = 64, n_head = 4, hd = 16, N = 5;
    struct ggml_tensor * x   = input(ctx, in, GGML_TYPE_F32, n_embd, N, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * g   = input(ctx, in, GGML_TYPE_F32, n_embd, 1, 1, 1, FILL_POSITIVE, 0);
    struct ggml_tensor * wq  = input(ctx, in, GGML_TYPE_F16, n_embd, n_embd, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * wk  = input(ctx, in, GGML_TYPE_F16, n_embd, n_embd, 1, 1, FILL_UNIFORM, 0);
    struct ggml_tensor * pos = input(ctx, in, GGML_TYPE_I32, N, 1, 1, 1, FILL_INDEX, 100);
    struct ggml_tensor * cur = ggml_mul(ctx, ggml_rms_norm(ctx, x, 1e-5f), g);
    struct ggml_tensor * q = ggml_rope_ext(ctx, ggml_reshape_3d(ctx, ggml_mul_mat(ctx, wq, cur), hd, n_head, N), pos, NULL,
                                           hd, v ? GGML_ROPE_TYPE_NEOX : 0, 0, 10000.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    struct ggml_tensor * k = ggml_rope_ext(ctx, ggml_reshape_3d(ctx, ggml_mul_mat(ctx, wk, cur), hd, n_head, N), pos, NULL,
                                           hd, v ? GGML_ROPE_TYPE_NEOX : 0, 0, 10000.0f, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f);
    struct ggml_tensor * kq = ggml_mul_mat(ctx, ggml_permute(ctx, k, 0, 2, 1, 3), ggml_permute(ctx, q, 0, 2, 1, 3));
    kq = ggml_soft_max_ext(ctx, kq, input(ctx, in, GGML_TYPE_F16, N, N, 1, 1, FILL_MASK, 0), 0.25f, 0.0f);
    return ggml_silu(ctx, kq);
}

static void test_ops_against_cpu(ggml_backend_t vk, ggml_backend_t cpu) {
    for (int v = 0; v < 24; v++) compare_with_cpu(vk, cpu, build_binary, v, 1 + v, "binary");
    for (int v = 0; v < GGML_UNARY_OP_COUNT + 5; v++) {
        if (v != GGML_UNARY_OP_XIELU) { // takes parameters the generic unary node lacks
            compare_with_cpu(vk, cpu, build_unary, v, 100 + v, "unary");
        }
    }
    for (int v = 0; v < 4; v++) compare_with_cpu(vk, cpu, build_norms, v, 200 + v, "norm");
    for (int v = 0; v < 3 * GGML_GLU_OP_COUNT; v++) compare_with_cpu(vk, cpu, build_glu, v, 250 + v, "glu");
    for (int v = 0; v < 8; v++) compare_with_cpu(vk, cpu, build_set_rows, v, 280 + v, "set_rows");
    for (int v = 0; v < 3; v++) {
        compare_with_cpu(vk, cpu, build_rms_norm_mul, v, 290 + v, "rms_norm + mul");
        CHECK_EQ_INT(ggalloc_vk_last_graph_dispatches(), v == 1 ? 3 : 1);
    }
    for (int v = 0; v < 6; v++) compare_with_cpu(vk, cpu, build_soft_max, v, 300 + v, "soft_max");
    // both matrix-vector kernels, whichever this device uses by default
    struct vk_device * d = ggalloc_vk_device_get(0);
    bool mv_default = d->mv_workgroup;
    for (int way = 0; way < 2; way++) {
        d->mv_workgroup = way == 0 ? mv_default : !mv_default;
        for (int v = 0; v < 8; v++) compare_with_cpu(vk, cpu, build_mul_mat, v, 400 + v, "mul_mat");
        compare_with_cpu(vk, cpu, build_gpt2_block, 1, 1001, "gpt-2 block, 1 token");
    }
    d->mv_workgroup = mv_default;
    for (int v = 0; v < 8; v++) compare_with_cpu(vk, cpu, build_copies, v, 500 + v, "cpy");
    for (int v = 0; v < 4; v++) compare_with_cpu(vk, cpu, build_get_rows, v, 600 + v, "get_rows");
    for (int v = 0; v < 6; v++) compare_with_cpu(vk, cpu, build_rope, v, 700 + v, "rope");
    for (int v = 0; v < 2; v++) compare_with_cpu(vk, cpu, build_llama_bits, v, 800 + v, "llama");
}

// Random chains of supported ops over one shape, with random broadcasting operands.
static struct ggml_tensor * build_random(struct ggml_context * ctx, struct graph_inputs * in, int v) {
    uint64_t saved = rng_state;
    rng_state = 0x9e3779b97f4a7c15ull ^ (uint64_t) v * 2654435761u;
    const int64_t ne0 = 8 + rng_next() % 40, ne1 = 1 + rng_next() % 6, ne2 = 1 + rng_next() % 3;
    struct ggml_tensor * pool[16];
    int n = 0;
    pool[n++] = input(ctx, in, GGML_TYPE_F32, ne0, ne1, ne2, 1, FILL_UNIFORM, 0);
    pool[n++] = input(ctx, in, GGML_TYPE_F32, ne0, ne1, ne2, 1, FILL_UNIFORM, 0);
    for (int step = 0; step < 10 && n < 16; step++) {
        struct ggml_tensor * a = pool[rng_next() % n];
        struct ggml_tensor * b = pool[rng_next() % n];
        struct ggml_tensor * r;
        switch (rng_next() % 10) {
            case 0:  r = ggml_add(ctx, a, b); break;
            case 1:  r = ggml_mul(ctx, a, input(ctx, in, GGML_TYPE_F32, ne0, 1, 1, 1, FILL_UNIFORM, 0)); break;
            case 2:  r = ggml_scale(ctx, a, rng_uniform(-2.0f, 2.0f)); break;
            case 3:  r = ggml_silu(ctx, a); break;
            case 4:  r = ggml_gelu(ctx, a); break;
            case 5:  r = ggml_rms_norm(ctx, a, 1e-6f); break;
            case 6:  r = ggml_norm(ctx, a, 1e-5f); break;
            case 7:  r = ggml_soft_max_ext(ctx, a, NULL, 0.7f, 0.0f); break;
            case 8:  r = ggml_cont(ctx, ggml_cpy(ctx, a, ggml_new_tensor_3d(ctx, GGML_TYPE_F16, ne0, ne1, ne2))); break;
            default: r = ggml_sub(ctx, a, b); break;
        }
        if (r->type != GGML_TYPE_F32) r = ggml_cast(ctx, r, GGML_TYPE_F32);
        pool[n++] = r;
    }
    struct ggml_tensor * out = pool[n - 1];
    for (int i = 2; i < n - 1; i++) {
        if (rng_next() % 2) out = ggml_add(ctx, out, pool[i]);
    }
    rng_state = saved;
    return out;
}

static void test_random_graphs(ggml_backend_t vk, ggml_backend_t cpu) {
    for (int v = 0; v < 12; v++) compare_with_cpu(vk, cpu, build_random, v, 900 + v, "random graph");
    for (int v = 0; v < 2; v++) compare_with_cpu(vk, cpu, build_gpt2_block, v, 1000 + v, "gpt-2 block");
    for (int v = 0; v < 2; v++) compare_with_cpu(vk, cpu, build_gpt2, v, 1100 + v, "gpt-2 with a KV cache");
}

// Three independent adds of the same inputs need no barrier between them; a chain needs one
// before each link.
static void test_barriers(ggml_backend_t vk) {
    for (int chain = 0; chain < 2; chain++) {
        struct ggml_context * ctx = ctx_new();
        struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1000);
        struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1000);
        ggml_set_input(a);
        ggml_set_input(b);
        struct ggml_tensor * x = ggml_add(ctx, a, b);
        struct ggml_tensor * y = chain ? ggml_add(ctx, x, b) : ggml_mul(ctx, a, b);
        struct ggml_tensor * z = chain ? ggml_add(ctx, y, b) : ggml_sub(ctx, a, b);
        ggml_set_output(x);
        ggml_set_output(y);
        ggml_set_output(z);
        // outputs are never computed over in place, so no node writes what another reads
        ggml_set_output(a);
        ggml_set_output(b);
        struct ggml_cgraph * gf = ggml_new_graph(ctx);
        ggml_build_forward_expand(gf, x);
        ggml_build_forward_expand(gf, y);
        ggml_build_forward_expand(gf, z);
        ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_vk_buffer_type(0));
        CHECK(ggml_gallocr_alloc_graph(ga, gf));
        float ha[1000], hb[1000], hz[1000];
        for (int i = 0; i < 1000; i++) {
            ha[i] = (float) i;
            hb[i] = (float) (2 * i + 1);
        }
        ggml_backend_tensor_set(a, ha, 0, sizeof(ha));
        ggml_backend_tensor_set(b, hb, 0, sizeof(hb));
        CHECK(ggml_backend_graph_compute(vk, gf) == GGML_STATUS_SUCCESS);
        CHECK_EQ_INT(ggalloc_vk_last_graph_barriers(), chain ? 2 : 0);
        ggml_backend_tensor_get(z, hz, 0, sizeof(hz));
        int bad = 0;
        for (int i = 0; i < 1000; i++) bad += hz[i] != (chain ? ha[i] + 3 * hb[i] : ha[i] - hb[i]);
        CHECK_EQ_INT(bad, 0);
        ggml_gallocr_free(ga);
        ggml_free(ctx);
    }
}

// An op without a shader is refused, and a graph holding one fails before any work, naming
// the node; so does a tensor in a buffer the device cannot read.
static void test_refusals(ggml_backend_t vk) {
    struct ggml_context * ctx = ctx_new();
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 8, 4);
    ggml_set_input(a);
    struct ggml_tensor * s = ggml_scale(ctx, a, 2.0f);
    ggml_set_output(s);
    struct ggml_tensor * r = ggml_sum_rows(ctx, s);
    ggml_set_name(r, "the_sum");
    ggml_set_output(r);
    CHECK(ggml_backend_supports_op(vk, s));
    CHECK(!ggml_backend_supports_op(vk, r));
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, r);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_vk_buffer_type(0));
    CHECK(ggml_gallocr_alloc_graph(ga, gf));
    float ones[32], back[32];
    for (int i = 0; i < 32; i++) ones[i] = 1.0f;
    ggml_backend_tensor_set(a, ones, 0, sizeof(ones));
    ggml_backend_tensor_memset(s, 0, 0, ggml_nbytes(s));
    log_capture_begin();
    CHECK(ggml_backend_graph_compute(vk, gf) != GGML_STATUS_SUCCESS);
    log_capture_end();
    CHECK(log_captured("the_sum"));
    ggml_backend_tensor_get(s, back, 0, sizeof(back));
    CHECK(back[0] == 0.0f && back[31] == 0.0f); // nothing ran
    ggml_gallocr_free(ga);
    ggml_free(ctx);

    // tensors in a CPU buffer
    ctx = ctx_new();
    a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 16);
    ggml_set_input(a);
    s = ggml_scale(ctx, a, 2.0f);
    ggml_set_name(s, "in_host_memory");
    gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, s);
    ga = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    CHECK(ggml_gallocr_alloc_graph(ga, gf));
    log_capture_begin();
    CHECK(ggml_backend_graph_compute(vk, gf) != GGML_STATUS_SUCCESS);
    log_capture_end();
    CHECK(log_captured("in_host_memory"));
    ggml_gallocr_free(ga);
    ggml_free(ctx);
}

// Host-visible buffers: tensors are host pointers the device computes on in place.
static void test_host_buffer(ggml_backend_t vk) {
    struct ggml_context * ctx = ctx_new();
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 300);
    ggml_set_input(a);
    struct ggml_tensor * r = ggml_scale(ctx, ggml_silu(ctx, a), 2.0f);
    ggml_set_output(r);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, r);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_vk_host_buffer_type());
    CHECK(ggml_gallocr_alloc_graph(ga, gf));
    float * pa = a->data;
    for (int i = 0; i < 300; i++) pa[i] = (float) i / 30.0f - 5.0f;
    CHECK(ggml_backend_graph_compute(vk, gf) == GGML_STATUS_SUCCESS);
    const float * pr = r->data; // the allocator may have computed in place over a
    int bad = 0;
    for (int i = 0; i < 300; i++) {
        float x = (float) i / 30.0f - 5.0f;
        float want = 2.0f * x / (1.0f + expf(-x));
        bad += fabsf(pr[i] - want) > 1e-5f * (1.0f + fabsf(want));
    }
    CHECK_EQ_INT(bad, 0);
    ggml_gallocr_free(ga);
    ggml_free(ctx);
}

// A device that reported VK_ERROR_DEVICE_LOST stays unusable: transfers, compute, new
// buffers and new backends fail with a log line naming the device, and nothing crashes.
// (Lavapipe cannot lose its device, so the state a lost submission leaves is set directly.)
static void test_lost_device(ggml_backend_t vk) {
    struct vk_device * d = ggalloc_vk_device_get(0);
    struct ggml_context * ctx = ctx_new();
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
    ggml_set_input(a);
    struct ggml_tensor * r = ggml_scale(ctx, a, 2.0f);
    ggml_set_output(r);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, r);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_vk_buffer_type(0));
    CHECK(ggml_gallocr_alloc_graph(ga, gf));
    float v[64] = { 0 };

    d->lost = true;
    log_capture_begin();
    ggml_backend_tensor_set(a, v, 0, sizeof(v));
    CHECK(log_captured("was lost"));
    CHECK(ggml_backend_graph_compute(vk, gf) != GGML_STATUS_SUCCESS);
    CHECK(ggml_backend_buft_alloc_buffer(ggml_backend_vk_buffer_type(0), 1024) == NULL);
    CHECK(ggml_backend_vk_init(0) == NULL);
    log_capture_end();
    CHECK(log_capture_errors >= 4);
    d->lost = false;

    ggml_gallocr_free(ga);
    ggml_free(ctx);
}

// Run in a child process with the driver list pointing nowhere.
static int no_device_child(void) {
    CHECK_EQ_INT(ggml_backend_vk_get_device_count(), 0);
    log_capture_begin();
    ggml_backend_t be = ggml_backend_vk_init(0);
    log_capture_end();
    CHECK(be == NULL);
    CHECK(log_captured("no Vulkan driver or device"));
    CHECK(ggml_backend_vk_buffer_type(0) == NULL);
    CHECK(ggml_backend_vk_host_buffer_type() == NULL);
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("Vulkan");
    CHECK(reg == NULL || ggml_backend_reg_dev_count(reg) == 0);
    return check_report("test-vulkan (no device)");
}

static void test_no_device(const char * self) {
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "VK_ICD_FILENAMES=/nonexistent.json VK_DRIVER_FILES=/nonexistent.json VK_ADD_DRIVER_FILES= '%s' --no-device", self);
    int rc = system(cmd);
    CHECK(rc == 0);
}

int main(int argc, char ** argv) {
    if (argc > 1 && strcmp(argv[1], "--no-device") == 0) return no_device_child();

    if (ggml_backend_vk_get_device_count() == 0) {
        printf("test-vulkan: skipped: no Vulkan device\n");
        test_no_device(argv[0]);
        return check_report("test-vulkan");
    }
    ggml_backend_t vk = ggml_backend_vk_init(0);
    ggml_backend_t cpu = ggml_backend_cpu_init();
    CHECK(vk != NULL && cpu != NULL);
    if (vk == NULL || cpu == NULL) return check_report("test-vulkan");
    ggml_backend_cpu_set_n_threads(cpu, 2);

    test_device();
    test_alloc_failures();
    test_transfers();
    test_multi_chunk_graph(vk);
    test_ops_against_cpu(vk, cpu);
    test_random_graphs(vk, cpu);
    printf("%d graphs compared with the CPU backend, worst NMSE %.3g\n", n_compared, nmse_worst);
    test_barriers(vk);
    test_refusals(vk);
    test_host_buffer(vk);
    test_no_device(argv[0]);
    test_lost_device(vk);

    ggml_backend_free(cpu);
    ggml_backend_free(vk);
    return check_report("test-vulkan");
}

#else

int main(void) {
    printf("test-vulkan: skipped: built without Vulkan\n");
    return check_report("test-vulkan");
}

#endif
