// A ggml program in the plain-context style: tensors live in an allocating context and the graph
// is computed with ggml_graph_compute_with_ctx. It uses only ggml's API.

#include "ggml.h"
#include "ggml-cpu.h"

#include <math.h>
#include <stdio.h>

int main(void) {
    struct ggml_init_params params = { 4 * 1024 * 1024, NULL, false };
    struct ggml_context * ctx = ggml_init(params);
    if (!ctx) { return 1; }

    struct ggml_tensor * x = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 8, 4);
    struct ggml_tensor * w = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    for (int i = 0; i < 32; i++) { ggml_set_f32_1d(x, i, (float) i - 16.0f); }
    for (int i = 0; i < 8; i++)  { ggml_set_f32_1d(w, i, 0.5f + (float) i); }

    // y = gelu(rms_norm(x) * w), summed per row
    struct ggml_tensor * y = ggml_sum_rows(ctx, ggml_gelu(ctx, ggml_mul(ctx, ggml_rms_norm(ctx, x, 1e-6f), w)));
    struct ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, y);
    if (ggml_graph_compute_with_ctx(ctx, gf, 2) != GGML_STATUS_SUCCESS) { ggml_free(ctx); return 1; }

    int bad = 0;
    for (int r = 0; r < 4; r++) {
        double ss = 0;
        for (int i = 0; i < 8; i++) { double v = r * 8 + i - 16.0; ss += v * v; }
        const double scale = 1.0 / sqrt(ss / 8 + 1e-6);
        double ref = 0;
        for (int i = 0; i < 8; i++) {
            const double v = (r * 8 + i - 16.0) * scale * (0.5 + i);
            ref += 0.5 * v * (1.0 + tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
        }
        const float got = ggml_get_f32_1d(y, r);
        bad += fabs(got - ref) > 1e-3 * (1.0 + fabs(ref));
    }
    printf("simple-ctx: %d passed, %d failed\n", 4 - bad, bad);
    ggml_free(ctx);
    return bad != 0;
}
