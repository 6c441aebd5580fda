// test-cpu-graphs.c — whole graphs from tests/data/graphs (an MLP and GPT-2 small decoding one
// token) loaded, placed by the graph allocator and computed with every kernel set and 1-3
// threads: every run must agree with the portable single-thread run (NMSE <= 1e-7) and give
// finite values. This ties the kernels, the thread pool and the allocator together on real
// node sequences (views of a KV cache, permutes, in-place ops).

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ggalloc.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

// Under AddressSanitizer every access is checked and GPT-2's weights are large: fewer runs.
#define SMALL_RUN CHECK_SMALL_RUN

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static float rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float) ((rng_state >> 40) & 0xffffff) / (float) 0x1000000 - 0.5f;
}

// Values drawn from a pool of 4096 random ones: filling the 124 M weights of GPT-2 one
// conversion at a time would take longer than computing the graph.
static void fill(struct ggml_tensor * t) {
    static float pool[4096];
    static ggml_fp16_t pool16[4096];
    static bool ready = false;
    if (!ready) {
        for (int i = 0; i < 4096; i++) {
            pool[i] = 0.1f * rnd();
            pool16[i] = ggml_fp32_to_fp16(pool[i]);
        }
        ready = true;
    }
    const int64_t n = ggml_nelements(t);
    const uint32_t offset = (uint32_t) (rng_state >> 52);
    rnd();
    for (int64_t i = 0; i < n; i++) {
        const uint32_t j = ((uint32_t) i * 2654435761u + offset) >> 20;
        switch (t->type) {
            case GGML_TYPE_F32: ((float *) t->data)[i] = pool[j]; break;
            case GGML_TYPE_F16: ((ggml_fp16_t *) t->data)[i] = pool16[j]; break;
            default: memset(t->data, 0, ggml_nbytes(t)); return;
        }
    }
}

static void set_inputs(struct ggml_cgraph * gf) {
    for (int i = 0; i < ggalloc_graph_n_leafs(gf); i++) {
        struct ggml_tensor * t = ggalloc_graph_leaf(gf, i);
        if (!(t->flags & GGML_TENSOR_FLAG_INPUT) || t->data == NULL) {
            continue;
        }
        const int64_t n = ggml_nelements(t);
        if (t->type == GGML_TYPE_I32) {
            const bool pos = strstr(t->name, "pos") != NULL;
            for (int64_t k = 0; k < n; k++) {
                ((int32_t *) t->data)[k] = pos ? (int32_t) (511 - n + 1 + k) : (int32_t) ((k * 7919 + 13) % 50257);
            }
        } else {
            uint64_t saved = rng_state;
            rng_state = 0x9e3779b97f4a7c15ull; // the same input for every run
            fill(t);
            rng_state = saved;
        }
    }
}

static void run_graph(const char * name, bool big) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/graphs/%s.json", GGALLOC_DATA_DIR, name);
    struct ggml_context * ctx = NULL;
    struct ggml_cgraph * gf = ggalloc_graph_load_json(path, &ctx);
    CHECK(gf != NULL);
    if (gf == NULL) {
        return;
    }
    // weights and caches: memory of their own, outside the graph allocator
    ggml_backend_buffer_type_t buft = ggml_backend_cpu_buffer_type();
    const size_t align = ggml_backend_buft_get_alignment(buft);
    size_t total = align;
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if ((t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) && t->view_src == NULL) {
            total += GGML_PAD(ggml_backend_buft_get_alloc_size(buft, t), align);
        }
    }
    ggml_backend_buffer_t wbuf = ggml_backend_buft_alloc_buffer(buft, total);
    CHECK(wbuf != NULL);
    struct ggml_tallocr ta = ggml_tallocr_new(wbuf);
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if ((t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) && t->view_src == NULL) {
            t->flags &= ~GGALLOC_TENSOR_FLAG_EXTERNAL;
            CHECK(ggml_tallocr_alloc(&ta, t) == GGML_STATUS_SUCCESS);
            fill(t);
        }
    }
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
            t->flags &= ~GGALLOC_TENSOR_FLAG_EXTERNAL;
            if (t->data == NULL && t->view_src != NULL) {
                CHECK(ggml_backend_view_init(t) == GGML_STATUS_SUCCESS);
            }
        }
    }
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    CHECK(ggml_gallocr_alloc_graph(galloc, gf));
    struct ggml_tensor * out = ggml_graph_node(gf, -1);
    const int64_t n = ggml_nelements(out);
    float * ref = malloc((size_t) n * sizeof(float));
    float * got = malloc((size_t) n * sizeof(float));

    ggml_backend_t be = ggml_backend_cpu_init();
    const enum ggalloc_cpu_isa isas[] = { GGALLOC_CPU_ISA_SCALAR, GGALLOC_CPU_ISA_AVX2, GGALLOC_CPU_ISA_AVX512,
                                          GGALLOC_CPU_ISA_NEON };
    bool have_ref = false;
    for (size_t k = 0; k < sizeof(isas) / sizeof(isas[0]); k++) {
        log_capture_begin();
        bool available = ggalloc_cpu_set_isa(isas[k]);
        log_capture_end();
        // unoptimised sanitizer builds run the portable matrix multiply about 100 times slower:
        // there it is checked on the decode graph (dot products) only
        if (!available || (SMALL_RUN && !big && isas[k] == GGALLOC_CPU_ISA_SCALAR)) {
            continue;
        }
        for (int nth = 1; nth <= 3; nth++) {
            if (SMALL_RUN && big && nth == 2) {
                continue;
            }
            ggml_backend_cpu_set_n_threads(be, nth);
            set_inputs(gf);
            enum ggml_status st = ggml_backend_graph_compute(be, gf);
            CHECK(st == GGML_STATUS_SUCCESS);
            if (st != GGML_STATUS_SUCCESS) {
                continue;
            }
            ggml_backend_tensor_get(out, have_ref ? got : ref, 0, (size_t) n * sizeof(float));
            float * y = have_ref ? got : ref;
            bool finite = true;
            for (int64_t i = 0; i < n; i++) {
                finite = finite && isfinite(y[i]);
            }
            CHECK(finite);
            if (!have_ref) {
                have_ref = true;
                continue;
            }
            double err = 0, norm = 0;
            for (int64_t i = 0; i < n; i++) {
                err += ((double) got[i] - ref[i]) * ((double) got[i] - ref[i]);
                norm += (double) ref[i] * ref[i];
            }
            const double nmse = norm > 0 ? err / norm : err;
            if (!(nmse <= 1e-7)) {
                fprintf(stderr, "%s: kernel set %d, %d threads: nmse %.3g against the portable run\n", name, (int) isas[k], nth, nmse);
            }
            CHECK(nmse <= 1e-7);
        }
    }
    ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_AUTO);
    ggml_backend_free(be);
    free(ref);
    free(got);
    ggml_gallocr_free(galloc);
    ggml_backend_buffer_free(wbuf);
    ggml_free(ctx);
}

int main(void) {
    run_graph("mlp-4x1024-b256", false);
    run_graph("gpt2-small-decode-1", true);
    return check_report("test-cpu-graphs");
}
