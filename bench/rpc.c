// bench/rpc.c — the RPC backend on loopback: a 64 MiB tensor uploaded to and downloaded from a
// server's memory, in GB/s next to memcpy of the same bytes, against ggalloc's server (in this
// process, on its own thread) and ggml's own server (the peer program, when present); then the
// scheduler's buffer per device for a GPT-2-small-shaped model (12 layers of 768, 3072; 512
// tokens) split over the CPU and two servers, planned by BEST and by ggml's planner, against the
// lower bound. Prints markdown tables and writes bench/results/rpc.md.
//
// Uploads above 10 MiB first offer the data's hash (SET_TENSOR_HASH), as ggml's client does;
// the hash is computed on the client and is part of the upload's time. Times are medians.

#define _GNU_SOURCE

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggalloc.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-rpc.h"
#include "ggml.h"

#include "rpc/rpc-proto.h"

#include "bench.h"
#include "../csrc/tests/test-rpc.h"
#include "../csrc/tests/test-rpc-model.h"

#define MIB    ((size_t) 1 << 20)
#define NBYTES (64 * MIB)
#define RUNS   5

static double gbps(double s) {
    return (double) NBYTES / s / 1e9;
}

// The hash a client computes before each upload above 10 MiB (serial: one multiply per byte).
static double hash_s(void) {
    uint8_t * a = malloc(NBYTES);
    memset(a, 3, NBYTES);
    double t[RUNS];
    volatile uint64_t sink = 0;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_wall_s();
        sink += rpc_fnv_hash(a, NBYTES);
        t[r] = bench_wall_s() - t0;
    }
    (void) sink;
    free(a);
    return bench_median(t, RUNS);
}

static double memcpy_s(void) {
    char * a = malloc(NBYTES), * b = malloc(NBYTES);
    memset(a, 1, NBYTES);
    memset(b, 2, NBYTES);
    double t[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_wall_s();
        memcpy(b, a, NBYTES);
        t[r] = bench_wall_s() - t0;
        a[r] = b[NBYTES - 1 - r]; // keep the copies observable
    }
    free(a);
    free(b);
    return bench_median(t, RUNS);
}

// Median seconds of uploads and downloads of a 64 MiB tensor at endpoint; false if it failed.
static bool transfer(const char * endpoint, double * up, double * down) {
    ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
    if (buft == NULL) {
        return false;
    }
    struct ggml_init_params p = { ggml_tensor_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(p);
    struct ggml_tensor * t = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, NBYTES / 4);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft);
    float * host = malloc(NBYTES), * back = malloc(NBYTES);
    bool ok = buf != NULL && host != NULL && back != NULL;
    double tu[RUNS], td[RUNS];
    for (int r = 0; ok && r < RUNS; r++) {
        for (size_t i = 0; i < NBYTES / 4; i++) {
            host[i] = (float) (i + (size_t) r); // other bytes every run: no cache can answer
        }
        double t0 = bench_wall_s();
        ggml_backend_tensor_set(t, host, 0, NBYTES);
        double t1 = bench_wall_s();
        ggml_backend_tensor_get(t, back, 0, NBYTES);
        double t2 = bench_wall_s();
        tu[r] = t1 - t0;
        td[r] = t2 - t1;
        ok = memcmp(host, back, NBYTES) == 0;
    }
    if (ok) {
        *up = bench_median(tu, RUNS);
        *down = bench_median(td, RUNS);
    }
    free(host);
    free(back);
    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
    return ok;
}

// The scheduler's buffer per backend for the model's forward pass with the given planner.
static bool sched_sizes(ggml_backend_t * backends, struct gpt_model * m, int n_tok, enum ggalloc_planner planner,
        size_t * sizes, size_t * bounds) {
    ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 3, GGML_DEFAULT_GRAPH_SIZE * 2, false, true);
    if (sched == NULL) {
        return false;
    }
    ggalloc_backend_sched_set_planner(sched, planner);
    struct gpt_forward f = gpt_forward_build(m, n_tok);
    bool ok = ggml_backend_sched_reserve(sched, f.g);
    for (int d = 0; ok && d < 3; d++) {
        sizes[d] = ggml_backend_sched_get_buffer_size(sched, backends[d]);
        bounds[d] = ggalloc_gallocr_lower_bound(ggalloc_backend_sched_get_gallocr(sched), d);
    }
    ggml_free(f.ctx);
    ggml_backend_sched_free(sched);
    return ok;
}

int main(void) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggml_backend_t serve_cpu[2] = { ggml_backend_cpu_init(), ggml_backend_cpu_init() };
    ggalloc_rpc_server_t ours[2] = { ggalloc_rpc_server_start("127.0.0.1:0", &serve_cpu[0], 1),
                                     ggalloc_rpc_server_start("127.0.0.1:0", &serve_cpu[1], 1) };
    if (cpu == NULL || ours[0] == NULL || ours[1] == NULL) {
        fprintf(stderr, "cannot start the servers\n");
        return 1;
    }
    char ep_ours[64], ep_ours2[64], ep_peer[64] = "";
    snprintf(ep_ours, sizeof(ep_ours), "127.0.0.1:%d", ggalloc_rpc_server_port(ours[0]));
    snprintf(ep_ours2, sizeof(ep_ours2), "127.0.0.1:%d", ggalloc_rpc_server_port(ours[1]));
    const char * peer = rpc_peer_path();
    pid_t pid = -1;
    if (peer != NULL) {
        int port = rpc_free_port();
        pid = rpc_peer_start(peer, port);
        if (pid > 0) {
            snprintf(ep_peer, sizeof(ep_peer), "127.0.0.1:%d", port);
        }
    }

    bench_emit("## RPC transfers on loopback (64 MiB f32 tensor, median of %d)\n\n", RUNS);
    bench_emit("| path | seconds | GB/s | vs memcpy |\n|---|---:|---:|---:|\n");
    const double tm = memcpy_s();
    bench_emit("| memcpy (same process) | %.4f | %.2f | 1.00 |\n", tm, gbps(tm));
    const double th = hash_s();
    bench_emit("| FNV-1a hash (client, part of each upload) | %.4f | %.2f | %.2f |\n", th, gbps(th), tm / th);
    const char * eps[2] = { ep_ours, ep_peer };
    const char * names[2] = { "ggalloc's server", "ggml's server" };
    for (int s = 0; s < 2; s++) {
        double up = 0, down = 0;
        if (eps[s][0] == 0) {
            bench_emit("| %s | (peer program absent) | | |\n", names[s]);
        } else if (!transfer(eps[s], &up, &down)) {
            bench_emit("| %s | (failed) | | |\n", names[s]);
        } else {
            bench_emit("| upload to %s | %.4f | %.2f | %.2f |\n", names[s], up, gbps(up), tm / up);
            bench_emit("| download from %s | %.4f | %.2f | %.2f |\n", names[s], down, gbps(down), tm / down);
        }
    }

    // GPT-2 small's shape; the vocabulary's weights stay on the CPU and get no values
    const struct gpt_dims dims = { 50257, 1024, 768, 3072, 12 };
    const int n_tok = 512;
    const char * ep_a = ep_peer[0] ? ep_peer : ep_ours2;
    ggml_backend_t a = ggml_backend_rpc_init(ep_a, 0), b = ggml_backend_rpc_init(ep_ours, 0);
    ggml_backend_buffer_type_t bufts[3] = { ggml_backend_rpc_buffer_type(ep_a, 0), ggml_backend_rpc_buffer_type(ep_ours, 0),
                                            ggml_backend_cpu_buffer_type() };
    int device[GPT_MAX_LAYER];
    for (int l = 0; l < dims.n_layer; l++) {
        device[l] = l < dims.n_layer / 2 ? 0 : 1;
    }
    struct gpt_model m;
    ggml_backend_t backends[3] = { a, b, cpu };
    size_t best[3], ggml[3], lb[3], lb2[3];
    if (a != NULL && b != NULL && gpt_model_init(&m, dims, bufts, device, false) &&
        sched_sizes(backends, &m, n_tok, GGALLOC_PLANNER_BEST, best, lb) &&
        sched_sizes(backends, &m, n_tok, GGALLOC_PLANNER_GGML, ggml, lb2)) {
        bench_emit("\n## Scheduler: GPT-2-small-shaped forward pass (%d tokens), layers 0-5 on %s, 6-11 on ggalloc's server, "
             "embeddings and head on the CPU\n\n", n_tok, ep_peer[0] ? "ggml's server" : "a second ggalloc server");
        bench_emit("| device | BEST (bytes) | ggml's planner (bytes) | lower bound | BEST / ggml |\n|---|---:|---:|---:|---:|\n");
        for (int d = 0; d < 3; d++) {
            bench_emit("| %s | %zu | %zu | %zu | %.3f |\n", ggml_backend_name(backends[d]), best[d], ggml[d], lb[d],
                 ggml[d] ? (double) best[d] / (double) ggml[d] : 0.0);
        }
        gpt_model_free(&m);
    } else {
        bench_emit("\n(scheduler comparison failed: see the log)\n");
    }
    double load[3] = { 0, 0, 0 };
    if (getloadavg(load, 3) > 0) {
        bench_emit("\nLoad average during the run: %.1f (on this machine's cores, shared: times vary).\n", load[0]);
    }
    bench_write_results(__FILE__, "rpc.md", bench_out);
    ggml_backend_free(a);
    ggml_backend_free(b);
    rpc_peer_stop(pid);
    ggalloc_rpc_server_free(ours[0]);
    ggalloc_rpc_server_free(ours[1]);
    ggml_backend_free(serve_cpu[0]);
    ggml_backend_free(serve_cpu[1]);
    ggml_backend_free(cpu);
    return 0;
}
