// bench/cpu.c — CPU backend throughput next to ggml's figures (bench/anchors.md), with 2
// threads: f32, f16 and quantized-weight (Q4_0, Q8_0, Q4_K) mul_mat, an f32 add beside memcpy,
// and GPT-2 small prefill of 512 tokens with random weights. Prints a markdown table and writes bench/results/cpu.md.
//
// Times are medians of repeated runs; each figure is measured in this one run.

#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <pthread.h>
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

#define N_THREADS 2

// Share of N_THREADS cores the process had during the last timed runs: the machine may be
// shared, and a figure measured on half the cores says so here.
static double last_util = 0.0;


// Seconds per compute of gf (median of runs after one warm-up). set_inputs (optional) runs
// before each compute, untimed: the graph allocator may reuse an input's memory once it is read.
static double time_graph(ggml_backend_t be, struct ggml_cgraph * gf, int runs, void (*set_inputs)(struct ggml_cgraph *)) {
    double t[16], wall = 0, cpu = 0;
    for (int r = -1; r < runs; r++) {
        if (set_inputs) {
            set_inputs(gf);
        }
        double t0 = bench_wall_s(), c0 = bench_cpu_s();
        if (ggml_backend_graph_compute(be, gf) != GGML_STATUS_SUCCESS) {
            fprintf(stderr, "compute failed\n");
            return -1;
        }
        if (r >= 0) {
            t[r] = bench_wall_s() - t0;
            wall += t[r];
            cpu += bench_cpu_s() - c0;
        }
    }
    last_util = cpu / (wall * N_THREADS);
    return bench_median(t, runs);
}

static void gpt2_set_inputs(struct ggml_cgraph * gf) {
    struct ggml_tensor * embd = ggml_graph_get_tensor(gf, "embd");
    struct ggml_tensor * pos  = ggml_graph_get_tensor(gf, "position");
    if (embd && embd->data) {
        for (int64_t i = 0; i < ggml_nelements(embd); i++) ((int32_t *) embd->data)[i] = (int32_t) ((i * 7919) % 50257);
    }
    if (pos && pos->data) {
        for (int64_t i = 0; i < ggml_nelements(pos); i++) ((int32_t *) pos->data)[i] = (int32_t) i;
    }
}

static double bench_mul_mat(ggml_backend_t be, enum ggml_type wtype) {
    const int64_t M = 4096, K = 4096, N = 512;
    size_t need = ggml_row_size(wtype, K) * M + sizeof(float) * (K * N + M * N) + 16 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20);
    struct ggml_init_params ip = { need, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    if (ctx == NULL) return -1;
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, wtype, K, M);
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, N);
    bench_fill(a, 1.0f, 50257);
    bench_fill(b, 1.0f, 50257);
    struct ggml_tensor * c = ggml_mul_mat(ctx, a, b);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    double t = time_graph(be, gf, 5, NULL);
    ggml_free(ctx);
    return t > 0 ? 2.0 * (double) M * (double) N * (double) K / t * 1e-9 : -1;
}

// mul_mat [4096 x 4096] quantized weights (values in [-1, 1] quantized with ggml_quantize_chunk,
// as ggml's figures were measured) x f32 [4096 x N]: GFLOP/s, and weight bytes streamed per
// second in *gbs.
static double bench_mul_mat_q(ggml_backend_t be, enum ggml_type wtype, int64_t N, double * gbs) {
    const int64_t M = 4096, K = 4096;
    size_t need = ggml_row_size(wtype, K) * M + sizeof(float) * (K * N + M * N) + 16 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20);
    struct ggml_init_params ip = { need, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    *gbs = -1;
    if (ctx == NULL) return -1;
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, wtype, K, M);
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, N);
    float * w = malloc(sizeof(float) * (size_t) (K * M));
    if (w == NULL) { ggml_free(ctx); return -1; }
    for (int64_t i = 0; i < K * M; i++) w[i] = bench_rand();
    ggml_quantize_chunk(wtype, w, a->data, 0, M, K, NULL);
    free(w);
    bench_fill(b, 1.0f, 50257);
    struct ggml_tensor * c = ggml_mul_mat(ctx, a, b);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    double t = time_graph(be, gf, N == 1 ? 15 : 5, NULL);
    const double wbytes = (double) ggml_nbytes(a);
    ggml_free(ctx);
    if (t <= 0) return -1;
    *gbs = wbytes / t * 1e-9;
    return 2.0 * (double) M * (double) N * (double) K / t * 1e-9;
}

struct memcpy_job { char * dst; const char * src; size_t n; };
static void * memcpy_thread(void * arg) {
    struct memcpy_job * j = arg;
    memcpy(j->dst, j->src, j->n);
    return NULL;
}

// GB/s of memcpy of n bytes (read + write counted) with nt threads
static double bench_memcpy(char * dst, const char * src, size_t n, int nt) {
    double t[5];
    for (int r = 0; r < 5; r++) {
        pthread_t th[8];
        struct memcpy_job jobs[8];
        double t0 = bench_wall_s();
        for (int i = 0; i < nt; i++) {
            size_t lo = n / nt * i, hi = i == nt - 1 ? n : n / nt * (i + 1);
            jobs[i] = (struct memcpy_job) { dst + lo, src + lo, hi - lo };
            if (i > 0) pthread_create(&th[i], NULL, memcpy_thread, &jobs[i]);
        }
        memcpy_thread(&jobs[0]);
        for (int i = 1; i < nt; i++) pthread_join(th[i], NULL);
        t[r] = bench_wall_s() - t0;
    }
    return 2.0 * (double) n / bench_median(t, 5) * 1e-9;
}

static void bench_add(ggml_backend_t be, double * add_gbs, double * memcpy1, double * memcpy2) {
    const int64_t n = 64ll * 1024 * 1024;
    size_t need = 3 * (size_t) n * sizeof(float) + 8 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20);
    struct ggml_init_params ip = { need, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    *add_gbs = *memcpy1 = *memcpy2 = -1;
    if (ctx == NULL) return;
    struct ggml_tensor * a = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, n);
    bench_fill(a, 1.0f, 50257);
    bench_fill(b, 1.0f, 50257);
    struct ggml_tensor * c = ggml_add(ctx, a, b);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, c);
    double t = time_graph(be, gf, 5, NULL);
    *add_gbs = 3.0 * (double) n * sizeof(float) / t * 1e-9;
    memset(c->data, 0, ggml_nbytes(c));
    *memcpy1 = bench_memcpy(c->data, a->data, (size_t) n * sizeof(float), 1);
    *memcpy2 = bench_memcpy(c->data, a->data, (size_t) n * sizeof(float), 2);
    ggml_free(ctx);
}

static double bench_gpt2(ggml_backend_t be, const char * path, int n_tokens) {
    struct ggml_context * ctx = NULL;
    struct ggml_cgraph * gf = ggalloc_graph_load_json(path, &ctx);
    if (gf == NULL) {
        fprintf(stderr, "cannot load %s\n", path);
        return -1;
    }
    ggml_backend_buffer_type_t buft = ggml_backend_cpu_buffer_type();
    const size_t align = ggml_backend_buft_get_alignment(buft);
    // the weights and KV cache: memory outside the graph allocator
    size_t total = 0;
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if ((t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) && t->view_src == NULL) {
            total += GGML_PAD(ggml_backend_buft_get_alloc_size(buft, t), align);
        }
    }
    ggml_backend_buffer_t wbuf = ggml_backend_buft_alloc_buffer(buft, total + align);
    if (wbuf == NULL) {
        ggml_free(ctx);
        return -1;
    }
    struct ggml_tallocr ta = ggml_tallocr_new(wbuf);
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if ((t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) && t->view_src == NULL) {
            t->flags &= ~GGALLOC_TENSOR_FLAG_EXTERNAL;
            if (ggml_tallocr_alloc(&ta, t) != GGML_STATUS_SUCCESS) {
                fprintf(stderr, "cannot place %s\n", t->name);
            }
            bench_fill(t, 0.05f, 50257);
        }
    }
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t; t = ggml_get_next_tensor(ctx, t)) {
        if (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
            t->flags &= ~GGALLOC_TENSOR_FLAG_EXTERNAL;
            if (t->data == NULL && t->view_src != NULL && t->view_src->data != NULL) {
                ggml_backend_view_init(t);
            }
        }
    }
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    double result = -1;
    if (galloc != NULL && ggml_gallocr_alloc_graph(galloc, gf)) {
        double t = time_graph(be, gf, n_tokens > 1 ? 3 : 9, gpt2_set_inputs);
        if (t > 0) {
            result = n_tokens / t;
        }
    } else {
        fprintf(stderr, "cannot allocate the GPT-2 graph\n");
    }
    ggml_gallocr_free(galloc);
    ggml_backend_buffer_free(wbuf);
    ggml_free(ctx);
    return result;
}

// flash_attn_ext as ggml's figure measures it: 12 heads x 64, 512 queries over 512 keys, f16 K/V,
// a causal f16 mask. GFLOP/s count 4 T^2 D H (the full square, as ggml's figure does, though the
// key tiles the mask hides are skipped). causal = false: no mask, every key of the square computed.
static double bench_flash_attn(ggml_backend_t be, bool causal) {
    const int64_t D = 64, T = 512, H = 12;
    size_t need = sizeof(float) * (size_t) (D * T * H) * 4 + 2 * (size_t) T * T + 16 * ggml_tensor_overhead() + ggml_graph_overhead() + (1 << 20);
    struct ggml_init_params ip = { need, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    if (ctx == NULL) return -1;
    struct ggml_tensor * q = ggml_new_tensor_3d(ctx, GGML_TYPE_F32, D, T, H);
    struct ggml_tensor * k = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, D, T, H);
    struct ggml_tensor * v = ggml_new_tensor_3d(ctx, GGML_TYPE_F16, D, T, H);
    struct ggml_tensor * m = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, T, T);
    bench_fill(q, 1.0f, 50257);
    bench_fill(k, 1.0f, 50257);
    bench_fill(v, 1.0f, 50257);
    for (int64_t i = 0; i < T; i++) {
        for (int64_t j = 0; j < T; j++) {
            ((ggml_fp16_t *) m->data)[i * T + j] = ggml_fp32_to_fp16(j <= i ? 0.0f : -INFINITY);
        }
    }
    struct ggml_tensor * o = ggml_flash_attn_ext(ctx, q, k, v, causal ? m : NULL, 0.125f, 0.0f, 0.0f);
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, o);
    double t = time_graph(be, gf, 7, NULL);
    ggml_free(ctx);
    return t > 0 ? 4.0 * (double) T * (double) T * (double) D * (double) H / t * 1e-9 : -1;
}

int main(int argc, char ** argv) {
    const char * only = argc > 1 ? argv[1] : NULL; // "mm", "mm16", "q", "qd" (q's decode rows), "add", "gpt2", "dec", "fa"
    ggml_backend_t be = ggml_backend_cpu_init();
    if (be == NULL) return 1;
    const char * env = getenv("GGALLOC_BENCH_THREADS"); // for experiments; the table is for N_THREADS
    ggml_backend_cpu_set_n_threads(be, env ? atoi(env) : N_THREADS);
    const char * isa = ggalloc_cpu_get_isa() == GGALLOC_CPU_ISA_AVX512 ? "AVX-512" :
                       ggalloc_cpu_get_isa() == GGALLOC_CPU_ISA_AVX2 ? "AVX2" : "portable";

    double mm32 = -1, mm16 = -1, add = -1, mc1 = -1, mc2 = -1, gpt2 = -1;
    double u_mm32 = 0, u_mm16 = 0, u_add = 0, u_gpt2 = 0, dec = -1, u_dec = 0;
    if (!only || !strcmp(only, "mm"))   { mm32 = bench_mul_mat(be, GGML_TYPE_F32); u_mm32 = last_util; }
    if (!only || !strcmp(only, "mm16")) { mm16 = bench_mul_mat(be, GGML_TYPE_F16); u_mm16 = last_util; }
    static const struct { enum ggml_type type; int64_t n; const char * ggml; } qrows[] = {
        { GGML_TYPE_Q4_0, 512, "179-204 GFLOP/s" },
        { GGML_TYPE_Q8_0, 512, "240-246 GFLOP/s" },
        { GGML_TYPE_Q4_K, 512, "139-169 GFLOP/s" },
        { GGML_TYPE_Q4_0, 1,   "84-98 GFLOP/s (24-28 GB/s)" },
        { GGML_TYPE_Q8_0, 1,   "95-105 GFLOP/s (50-56 GB/s)" },
        { GGML_TYPE_Q4_K, 1,   "144-156 GFLOP/s (40-44 GB/s)" },
    };
    double q_gflops[6], q_gbs[6], q_util[6];
    for (int i = 0; i < 6; i++) {
        q_gflops[i] = q_gbs[i] = -1;
        q_util[i] = 0;
        if (!only || !strcmp(only, "q") || (!strcmp(only, "qd") && qrows[i].n == 1)) {
            q_gflops[i] = bench_mul_mat_q(be, qrows[i].type, qrows[i].n, &q_gbs[i]);
            q_util[i] = last_util;
        }
    }
    if (!only || !strcmp(only, "add") || !strcmp(only, "q")) { bench_add(be, &add, &mc1, &mc2); u_add = last_util; }
    if (!only || !strcmp(only, "gpt2")) { gpt2 = bench_gpt2(be, GGALLOC_DATA_DIR "/graphs/gpt2-small-prefill-512.json", 512); u_gpt2 = last_util; }
    if (!only || !strcmp(only, "dec"))  { dec = bench_gpt2(be, GGALLOC_DATA_DIR "/graphs/gpt2-small-decode-1.json", 1); u_dec = last_util; }
    double fa = -1, u_fa = 0, fa_full = -1, u_fa_full = 0;
    if (!only || !strcmp(only, "fa"))   {
        fa = bench_flash_attn(be, true);
        u_fa = last_util;
        fa_full = bench_flash_attn(be, false);
        u_fa_full = last_util;
    }
    ggml_backend_free(be);

    char table[8192];
    int n = 0;
    n += snprintf(table + n, sizeof(table) - n,
        "# CPU backend, %d threads (%s kernels)\n\n"
        "| work | ggalloc | cores had | ggml default build | ggml + tuned sgemm (target) |\n"
        "|---|---|---|---|---|\n", N_THREADS, isa);
    n += snprintf(table + n, sizeof(table) - n, "| f32 mul_mat [4096x4096] x [4096x512] | %.0f GFLOP/s | %.0f%% | 117 GFLOP/s | 206 GFLOP/s |\n", mm32, 100 * u_mm32);
    n += snprintf(table + n, sizeof(table) - n, "| f16 weights x f32, same shape | %.0f GFLOP/s | %.0f%% | 130 GFLOP/s | 357 GFLOP/s |\n", mm16, 100 * u_mm16);
    for (int i = 0; i < 6; i++) {
        // weight bytes per second say something only where one column streams the weights
        char streamed[96] = "";
        if (qrows[i].n == 1) {
            snprintf(streamed, sizeof(streamed), ", %.1f GB/s of weights (%.0f%% of 2-thread memcpy)", q_gbs[i],
                     mc2 > 0 ? 100.0 * q_gbs[i] / mc2 : 0.0);
        }
        n += snprintf(table + n, sizeof(table) - n, "| %s weights [4096x4096] x f32 [4096x%d] | %.0f GFLOP/s%s | %.0f%% | | %s |\n",
                      ggml_type_name(qrows[i].type), (int) qrows[i].n, q_gflops[i], streamed, 100 * q_util[i], qrows[i].ggml);
    }
    n += snprintf(table + n, sizeof(table) - n, "| GPT-2 small prefill, 512 tokens, random weights | %.0f tokens/s | %.0f%% | 381 tokens/s | 565 tokens/s |\n", gpt2, 100 * u_gpt2);
    n += snprintf(table + n, sizeof(table) - n, "| GPT-2 small decode, 1 token after 511 | %.0f tokens/s | %.0f%% | 79 tokens/s | 75 tokens/s |\n", dec, 100 * u_dec);
    n += snprintf(table + n, sizeof(table) - n, "| f32 add, 2 x 64 Mi elements (3 x 256 MiB moved) | %.1f GB/s (%.0f%% of 2-thread memcpy) | %.0f%% | 33-40 GB/s | |\n",
            add, mc2 > 0 ? 100.0 * add / mc2 : 0.0, 100 * u_add);
    n += snprintf(table + n, sizeof(table) - n, "| flash_attn_ext 12 heads x 64, 512 x 512, f16 K/V, causal mask | %.0f GFLOP/s | %.0f%% | | 149-151 GFLOP/s |\n", fa, 100 * u_fa);
    n += snprintf(table + n, sizeof(table) - n, "| flash_attn_ext, same without a mask (every key computed) | %.0f GFLOP/s | %.0f%% | | |\n", fa_full, 100 * u_fa_full);
    n += snprintf(table + n, sizeof(table) - n, "| memcpy 256 MiB (read + write), 1 / 2 threads | %.1f / %.1f GB/s | | 35-41 / 47-68 GB/s | |\n", mc1, mc2);
    n += snprintf(table + n, sizeof(table) - n,
        "\n\"cores had\" is the process's CPU time over wall time x %d during the timed runs: below 100%%\n"
        "the machine was shared and the figure understates the kernels.\n", N_THREADS);
    fputs(table, stdout);
    if (!only) {
        bench_write_results(__FILE__, "cpu.md", table);
    }
    return 0;
}
