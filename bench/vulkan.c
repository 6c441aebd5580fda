// bench/vulkan.c — the Vulkan backend beside the CPU backend (2 threads), measured in one run:
// tensor set/get bandwidth through staging (device buffers) and by memcpy (host-visible
// buffers, CPU buffers), an f16-weight mul_mat, and GPT-2 small (12 blocks, n_embd 768,
// f16 weights, random values) for a 64-token prefill and a 1-token step. Prints the device
// name and a markdown table, and writes bench/results/vulkan.md.
//
// Times are medians of repeated runs after one warm-up run (which also builds the Vulkan
// pipelines). `bench-vulkan --quick` runs smaller sizes and writes nothing.

#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggalloc.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml.h"

#include "bench.h"

#ifdef GGALLOC_USE_VULKAN
#include "ggml-vulkan.h"

#define N_THREADS 2


// set and get of one tensor of `bytes` in a buffer of buft: GB/s for each (median of runs)
static void bench_transfer(ggml_backend_buffer_type_t buft, size_t bytes, int runs, double * set_gbs, double * get_gbs) {
    *set_gbs = *get_gbs = 0.0;
    struct ggml_init_params p = { .mem_size = 4 * ggml_tensor_overhead(), .mem_buffer = NULL, .no_alloc = true };
    struct ggml_context * ctx = ggml_init(p);
    struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, (int64_t) (bytes / 4));
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft);
    uint8_t * host = malloc(bytes);
    if (buf != NULL && host != NULL) {
        memset(host, 1, bytes);
        double ts[16], tg[16];
        for (int r = 0; r <= runs; r++) {
            double t0 = bench_wall_s();
            ggml_backend_tensor_set(t, host, 0, bytes);
            double t1 = bench_wall_s();
            ggml_backend_tensor_get(t, host, 0, bytes);
            double t2 = bench_wall_s();
            if (r > 0) {
                ts[r - 1] = t1 - t0;
                tg[r - 1] = t2 - t1;
            }
        }
        *set_gbs = (double) bytes / bench_median(ts, runs) / 1e9;
        *get_gbs = (double) bytes / bench_median(tg, runs) / 1e9;
    }
    free(host);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

struct model {
    struct ggml_context * ctx;
    ggml_backend_buffer_t buf;
    int n_layer, n_embd, n_head;
    struct layer {
        struct ggml_tensor * ln1_g, * ln1_b, * w_qkv, * b_qkv, * w_o, * b_o;
        struct ggml_tensor * ln2_g, * ln2_b, * w_fc, * b_fc, * w_pr, * b_pr;
    } l[12];
};

static bool model_init(struct model * m, ggml_backend_buffer_type_t buft, int n_layer, int n_embd, int n_head) {
    m->n_layer = n_layer;
    m->n_embd = n_embd;
    m->n_head = n_head;
    struct ggml_init_params p = { .mem_size = (size_t) (16 * n_layer + 8) * ggml_tensor_overhead(), .mem_buffer = NULL, .no_alloc = true };
    m->ctx = ggml_init(p);
    for (int i = 0; i < n_layer; i++) {
        struct layer * L = &m->l[i];
        L->ln1_g = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, n_embd);
        L->ln1_b = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, n_embd);
        L->w_qkv = ggml_new_tensor_2d(m->ctx, GGML_TYPE_F16, n_embd, 3 * n_embd);
        L->b_qkv = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, 3 * n_embd);
        L->w_o   = ggml_new_tensor_2d(m->ctx, GGML_TYPE_F16, n_embd, n_embd);
        L->b_o   = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, n_embd);
        L->ln2_g = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, n_embd);
        L->ln2_b = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, n_embd);
        L->w_fc  = ggml_new_tensor_2d(m->ctx, GGML_TYPE_F16, n_embd, 4 * n_embd);
        L->b_fc  = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, 4 * n_embd);
        L->w_pr  = ggml_new_tensor_2d(m->ctx, GGML_TYPE_F16, 4 * n_embd, n_embd);
        L->b_pr  = ggml_new_tensor_1d(m->ctx, GGML_TYPE_F32, n_embd);
    }
    m->buf = ggml_backend_alloc_ctx_tensors_from_buft(m->ctx, buft);
    if (m->buf == NULL) return false;
    bench_rng = 88172645463325252ull;
    for (struct ggml_tensor * t = ggml_get_first_tensor(m->ctx); t != NULL; t = ggml_get_next_tensor(m->ctx, t)) {
        bench_fill(t, t->ne[1] > 1 ? 0.05f : 0.5f, INT32_MAX);
    }
    return true;
}

static void model_free(struct model * m) {
    ggml_backend_buffer_free(m->buf);
    ggml_free(m->ctx);
}

// GPT-2 blocks as ggml's gpt-2 example builds them (no KV cache: attention over the N tokens).
static struct ggml_tensor * gpt2_forward(struct ggml_context * ctx, const struct model * m, struct ggml_tensor * x, int N) {
    const int n_embd = m->n_embd, n_head = m->n_head, hd = n_embd / n_head;
    for (int il = 0; il < m->n_layer; il++) {
        const struct layer * L = &m->l[il];
        struct ggml_tensor * cur = ggml_norm(ctx, x, 1e-5f);
        cur = ggml_add(ctx, ggml_mul(ctx, cur, L->ln1_g), L->ln1_b);
        cur = ggml_add(ctx, ggml_mul_mat(ctx, L->w_qkv, cur), L->b_qkv);
        struct ggml_tensor * q = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], 0);
        struct ggml_tensor * k = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], sizeof(float) * n_embd);
        struct ggml_tensor * v = ggml_view_2d(ctx, cur, n_embd, N, cur->nb[1], 2 * sizeof(float) * n_embd);
        struct ggml_tensor * Q = ggml_permute(ctx, ggml_cont_3d(ctx, q, hd, n_head, N), 0, 2, 1, 3);
        struct ggml_tensor * K = ggml_permute(ctx, ggml_cont_3d(ctx, k, hd, n_head, N), 0, 2, 1, 3);
        struct ggml_tensor * kq = ggml_mul_mat(ctx, K, Q);
        kq = ggml_soft_max(ctx, ggml_diag_mask_inf(ctx, ggml_scale(ctx, kq, 1.0f / sqrtf((float) hd)), 0));
        struct ggml_tensor * V = ggml_cont(ctx, ggml_permute(ctx, ggml_cont_3d(ctx, v, hd, n_head, N), 1, 2, 0, 3));
        cur = ggml_cont_2d(ctx, ggml_permute(ctx, ggml_mul_mat(ctx, V, kq), 0, 2, 1, 3), n_embd, N);
        cur = ggml_add(ctx, ggml_mul_mat(ctx, L->w_o, cur), L->b_o);
        struct ggml_tensor * res = ggml_add(ctx, cur, x);
        cur = ggml_norm(ctx, res, 1e-5f);
        cur = ggml_add(ctx, ggml_mul(ctx, cur, L->ln2_g), L->ln2_b);
        cur = ggml_gelu(ctx, ggml_add(ctx, ggml_mul_mat(ctx, L->w_fc, cur), L->b_fc));
        cur = ggml_add(ctx, ggml_mul_mat(ctx, L->w_pr, cur), L->b_pr);
        x = ggml_add(ctx, cur, res);
    }
    return x;
}

// Median seconds of one forward pass of N tokens on the backend; first-run seconds in *first.
static double bench_gpt2(ggml_backend_t be, const struct model * m, int N, int runs, double * first, float * checksum) {
    struct ggml_init_params p = { .mem_size = 64 * (size_t) m->n_layer * ggml_tensor_overhead() + ggml_graph_overhead(), .mem_buffer = NULL, .no_alloc = true };
    struct ggml_context * ctx = ggml_init(p);
    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, m->n_embd, N);
    ggml_set_input(x);
    struct ggml_tensor * out = gpt2_forward(ctx, m, x, N);
    ggml_set_output(out);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out);
    ggml_gallocr_t ga = ggml_gallocr_new(ggml_backend_get_default_buffer_type(be));
    double result = -1.0;
    if (ggml_gallocr_alloc_graph(ga, gf)) {
        bench_rng = 12345;
        bench_fill(x, 1.0f, INT32_MAX);
        double t[16];
        bool ok = true;
        for (int r = 0; r <= runs && ok; r++) {
            double t0 = bench_wall_s();
            ok = ggml_backend_graph_compute(be, gf) == GGML_STATUS_SUCCESS;
            double dt = bench_wall_s() - t0;
            if (r == 0) *first = dt;
            else t[r - 1] = dt;
        }
        if (ok) {
            result = bench_median(t, runs);
            float v[8];
            ggml_backend_tensor_get(out, v, 0, sizeof(v));
            *checksum = 0.0f;
            for (int i = 0; i < 8; i++) *checksum += v[i];
        }
    }
    ggml_gallocr_free(ga);
    ggml_free(ctx);
    return result;
}

int main(int argc, char ** argv) {
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (ggml_backend_vk_get_device_count() == 0) {
        printf("bench-vulkan: no Vulkan device on this machine; nothing measured\n");
        return 0;
    }
    char desc[256];
    ggml_backend_vk_get_device_description(0, desc, sizeof(desc));
    // lavapipe runs on the same cores as the CPU backend: other work on the machine skews both
    double load = -1.0;
    FILE * lf = fopen("/proc/loadavg", "r");
    if (lf != NULL) {
        if (fscanf(lf, "%lf", &load) != 1) load = -1.0;
        fclose(lf);
    }
    ggml_backend_buffer_type_t vk_buft = ggml_backend_vk_buffer_type(0);
    printf("Vulkan device 0: %s (max buffer %zu MiB, alignment %zu)\n", desc,
           ggml_backend_buft_get_max_size(vk_buft) >> 20, ggml_backend_buft_get_alignment(vk_buft));

    ggml_backend_t vk = ggml_backend_vk_init(0);
    ggml_backend_t cpu = ggml_backend_cpu_init();
    if (vk == NULL || cpu == NULL) {
        fprintf(stderr, "bench-vulkan: a backend did not start\n");
        ggml_backend_free(vk);
        ggml_backend_free(cpu);
        return 1;
    }
    ggml_backend_cpu_set_n_threads(cpu, N_THREADS);

    const size_t xfer = (quick ? 16 : 64) << 20;
    const int runs = quick ? 3 : 5;
    double vk_set, vk_get, vh_set, vh_get, c_set, c_get;
    bench_transfer(vk_buft, xfer, runs, &vk_set, &vk_get);
    bench_transfer(ggml_backend_vk_host_buffer_type(), xfer, runs, &vh_set, &vh_get);
    bench_transfer(ggml_backend_cpu_buffer_type(), xfer, runs, &c_set, &c_get);

    const int n_layer = quick ? 2 : 12, n_embd = 768, n_head = 12, n_prefill = quick ? 32 : 64;
    const int grun = quick ? 1 : 3;
    struct model mv = {0}, mc = {0};
    double vk_first_p = 0, vk_first_d = 0, c_first_p = 0, c_first_d = 0;
    float ck[4] = {0};
    double vk_p = -1, vk_d = -1, c_p = -1, c_d = -1;
    if (model_init(&mv, vk_buft, n_layer, n_embd, n_head) && model_init(&mc, ggml_backend_cpu_buffer_type(), n_layer, n_embd, n_head)) {
        vk_p = bench_gpt2(vk,  &mv, n_prefill, grun, &vk_first_p, &ck[0]);
        c_p  = bench_gpt2(cpu, &mc, n_prefill, grun, &c_first_p,  &ck[1]);
        vk_d = bench_gpt2(vk,  &mv, 1, grun, &vk_first_d, &ck[2]);
        c_d  = bench_gpt2(cpu, &mc, 1, grun, &c_first_d,  &ck[3]);
    } else {
        fprintf(stderr, "bench-vulkan: could not allocate the model weights\n");
    }
    model_free(&mv);
    model_free(&mc);

    double weights_mb = (double) n_layer * 12.0 * n_embd * n_embd * 2.0 / 1e6;
    char table[4096];
    int n = 0;
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "# Vulkan backend beside the CPU backend (%d threads)\n\n"
        "Device: %s. Max buffer size %zu MiB (weights and plans above it are split into chunks).\n\n"
        "| work | Vulkan | CPU backend |\n|---|---|---|\n",
        N_THREADS, desc, ggml_backend_buft_get_max_size(vk_buft) >> 20);
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "| tensor_set %zu MiB, device buffer (staging) | %.2f GB/s | %.2f GB/s (memcpy) |\n", xfer >> 20, vk_set, c_set);
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "| tensor_get %zu MiB, device buffer (staging) | %.2f GB/s | %.2f GB/s (memcpy) |\n", xfer >> 20, vk_get, c_get);
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "| tensor_set / get %zu MiB, host-visible buffer | %.2f / %.2f GB/s | |\n", xfer >> 20, vh_set, vh_get);
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "| GPT-2 small, %d blocks (%.0f MB f16 weights), prefill %d tokens | %.1f ms (first run %.0f ms) | %.1f ms |\n",
        n_layer, weights_mb, n_prefill, vk_p * 1e3, vk_first_p * 1e3, c_p * 1e3);
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "| GPT-2 small, %d blocks, 1 token | %.1f ms (first run %.0f ms) | %.1f ms |\n",
        n_layer, vk_d * 1e3, vk_first_d * 1e3, c_d * 1e3);
    n += snprintf(table + n, sizeof(table) - (size_t) n,
        "\nMedians of %d runs after a warm-up run (the first run includes building the pipelines). "
        "Output checksums Vulkan / CPU: prefill %.4f / %.4f, 1 token %.4f / %.4f. "
        "Load average when the run started: %.1f.\n",
        grun, ck[0], ck[1], ck[2], ck[3], load);
    fputs(table, stdout);
    if (!quick) {
        bench_write_results(__FILE__, "vulkan.md", table);
    }
    ggml_backend_free(vk);
    ggml_backend_free(cpu);
    return 0;
}

#else

int main(void) {
    printf("bench-vulkan: built without Vulkan; nothing measured\n");
    return 0;
}

#endif
