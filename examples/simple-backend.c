// A ggml program as ggml's examples write it: build a graph in a no_alloc context, let the graph
// allocator place it in a backend buffer, upload inputs, compute, read the result back.
// It uses only ggml's API, and links against libggalloc in place of ggml.

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"

#include <math.h>
#include <stdio.h>

int main(void) {
    // a (4x3) and b (4x3) -> mul_mat(a, b) (3x3), then + bias broadcast over rows, then softmax
    const int K = 4, M = 3, N = 3;
    float va[12], vb[12], vbias[3], out[9], ref[9];
    for (int i = 0; i < K * M; i++) { va[i] = 0.25f * (float) (i % 5) - 0.5f; }
    for (int i = 0; i < K * N; i++) { vb[i] = 0.125f * (float) (i % 7) - 0.25f; }
    for (int i = 0; i < M; i++)     { vbias[i] = (float) i * 0.1f; }

    struct ggml_init_params params = {
        /*.mem_size   =*/ ggml_tensor_overhead() * 16 + ggml_graph_overhead(),
        /*.mem_buffer =*/ NULL,
        /*.no_alloc   =*/ true,
    };
    struct ggml_context * ctx = ggml_init(params);
    if (!ctx) { return 1; }

    struct ggml_tensor * a    = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, M);
    struct ggml_tensor * b    = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, K, N);
    struct ggml_tensor * bias = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, M);
    ggml_set_name(a, "a"); ggml_set_name(b, "b"); ggml_set_name(bias, "bias");
    ggml_set_input(a); ggml_set_input(b); ggml_set_input(bias);

    struct ggml_tensor * mm  = ggml_mul_mat(ctx, a, b);          // [M, N]
    struct ggml_tensor * sum = ggml_add(ctx, mm, bias);
    struct ggml_tensor * out_t = ggml_soft_max(ctx, sum);
    ggml_set_output(out_t);

    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, out_t);

    ggml_backend_load_all();
    ggml_backend_t backend = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    if (!backend) { ggml_free(ctx); return 1; }
    ggml_backend_cpu_set_n_threads(backend, 2);

    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(backend));
    int rc = 1;
    if (galloc && ggml_gallocr_alloc_graph(galloc, gf)) {
        ggml_backend_tensor_set(a, va, 0, sizeof va);
        ggml_backend_tensor_set(b, vb, 0, sizeof vb);
        ggml_backend_tensor_set(bias, vbias, 0, sizeof vbias);
        if (ggml_backend_graph_compute(backend, gf) == GGML_STATUS_SUCCESS) {
            ggml_backend_tensor_get(out_t, out, 0, sizeof out);

            // reference: row n of the result holds dot(a row m, b row n) + bias[m], softmax over m
            for (int n = 0; n < N; n++) {
                float mx = -INFINITY;
                for (int m = 0; m < M; m++) {
                    float s = vbias[m];
                    for (int k = 0; k < K; k++) { s += va[m * K + k] * vb[n * K + k]; }
                    ref[n * M + m] = s;
                    mx = s > mx ? s : mx;
                }
                float z = 0;
                for (int m = 0; m < M; m++) { ref[n * M + m] = expf(ref[n * M + m] - mx); z += ref[n * M + m]; }
                for (int m = 0; m < M; m++) { ref[n * M + m] /= z; }
            }
            int bad = 0;
            for (int i = 0; i < M * N; i++) { bad += fabsf(out[i] - ref[i]) > 1e-6f; }
            printf("simple-backend: %d passed, %d failed\n", M * N - bad, bad);
            rc = bad != 0;
        }
    }

    ggml_gallocr_free(galloc);
    ggml_backend_free(backend);
    ggml_free(ctx);
    return rc;
}
