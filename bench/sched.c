// bench/sched.c — the backend scheduler's buffers: GPT-2 small split over two backends, each
// backend's buffer with ggml's planner and with ours, against that buffer's lower bound.
//
// The first half of the nodes runs on the first backend (the Vulkan device where there is one,
// else a CPU backend on host memory of another buffer type, so that each backend has a buffer
// of its own), the rest on the CPU, as a program does that keeps part of a model on the host;
// the scheduler copies what crosses between them. Sizes come from ggml_backend_sched_reserve and
// are exact.

#define _POSIX_C_SOURCE 200809L
#include "bench.h"
#include "ggalloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#ifdef GGALLOC_USE_VULKAN
#include "ggml-vulkan.h"
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    ggml_log_set(NULL, NULL);
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggml_backend_t first = NULL;
    ggml_backend_buffer_type_t bufts[2] = { NULL, ggml_backend_cpu_buffer_type() };
#ifdef GGALLOC_USE_VULKAN
    if (ggml_backend_vk_get_device_count() > 0) {
        first = ggml_backend_vk_init(0);
        bufts[0] = first ? ggml_backend_get_default_buffer_type(first) : NULL;
    }
#endif
    if (first == NULL) {
        first = ggml_backend_cpu_init();
        bufts[0] = ggalloc_host_buffer_type(64, SIZE_MAX);
    }
    if (cpu == NULL || first == NULL) {
        fprintf(stderr, "bench-sched: cannot start the backends\n");
        return 1;
    }
    ggml_backend_t backends[2] = { first, cpu };
    const char * names[2] = { ggml_backend_name(first), ggml_backend_name(cpu) };

    bench_emit("# Backend scheduler: GPT-2 small over two backends\n\n");
    bench_emit("First half of the nodes on %s (buffer type %s), the rest on %s (%s). Buffer sizes in bytes\n"
         "after ggml_backend_sched_reserve (exact); lower bound = the most bytes live at once in that\n"
         "backend's buffer, input copies included.\n\n",
         names[0], ggml_backend_buft_name(bufts[0]), names[1], ggml_backend_buft_name(bufts[1]));
    bench_emit("| graph | splits | backend | ggml B | best B | lower bound B | ggml/LB | best/LB | best/ggml |\n");
    bench_emit("|---|---|---|---|---|---|---|---|---|\n");

    const char * graphs[] = { "gpt2-small-prefill-512", "gpt2-small-decode-1" };
    int rc = 0;
    for (size_t k = 0; k < sizeof(graphs) / sizeof(graphs[0]); k++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/graphs/%s.json", GGALLOC_DATA_DIR, graphs[k]);
        size_t size[2][2] = { { 0 } }, lb[2][2] = { { 0 } };
        int n_splits = 0;
        for (int planner = 0; planner < 2; planner++) {
            struct ggml_context * ctx = NULL;
            struct ggml_cgraph * g = ggalloc_graph_load_json(path, &ctx);
            if (g == NULL) {
                fprintf(stderr, "bench-sched: cannot load %s\n", path);
                rc = 1;
                continue;
            }
            ggml_backend_sched_t sched = ggml_backend_sched_new(backends, bufts, 2, GGML_DEFAULT_GRAPH_SIZE * 4, false, true);
            ggalloc_backend_sched_set_planner(sched, planner == 0 ? GGALLOC_PLANNER_GGML : GGALLOC_PLANNER_BEST);
            const int n = ggml_graph_n_nodes(g);
            for (int i = 0; i < n; i++) {
                struct ggml_tensor * t = ggml_graph_node(g, i);
                if (t->view_src == NULL) {
                    ggml_backend_sched_set_tensor_backend(sched, t, backends[i < n / 2 ? 0 : 1]);
                }
            }
            if (!ggml_backend_sched_reserve(sched, g)) {
                fprintf(stderr, "bench-sched: cannot reserve %s\n", graphs[k]);
                rc = 1;
            }
            n_splits = ggml_backend_sched_get_n_splits(sched);
            for (int b = 0; b < 2; b++) {
                size[planner][b] = ggml_backend_sched_get_buffer_size(sched, backends[b]);
                lb[planner][b] = ggalloc_gallocr_lower_bound(ggalloc_backend_sched_get_gallocr(sched), b);
            }
            ggml_backend_sched_free(sched);
            ggml_free(ctx);
        }
        for (int b = 0; b < 2; b++) {
            const double l = lb[1][b] > 0 ? (double) lb[1][b] : 1.0;
            bench_emit("| %s | %d | %s | %zu | %zu | %zu | %.4f | %.4f | %.4f |\n", graphs[k], n_splits, names[b], size[0][b],
                 size[1][b], lb[1][b], (double) size[0][b] / l, (double) size[1][b] / l,
                 size[0][b] > 0 ? (double) size[1][b] / (double) size[0][b] : 1.0);
        }
    }
    bench_write_results(__FILE__, "sched.md", bench_out);
    ggml_backend_free(first);
    ggml_backend_free(cpu);
    return rc;
}
