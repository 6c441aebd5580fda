// test-cxx: the five public headers compile as C++ and link (their extern "C" guards work):
// a C++ program written for ggml builds and runs a small graph against them.

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggalloc.h"

#include "check.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

struct log_lines {
    std::vector<std::string> lines;
};

static void on_log(ggml_log_level level, const char * text, void * user_data) {
    if (level >= GGML_LOG_LEVEL_WARN) {
        static_cast<log_lines *>(user_data)->lines.emplace_back(text);
    }
}

int main() {
    ggml_init_params params = { 64 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, false };
    params.mem_size += 4096;
    ggml_context * ctx = ggml_init(params);
    CHECK(ctx != nullptr);

    ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 3);
    ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
    ggml_set_name(a, "a");
    ggml_set_name(b, "b");
    for (int i = 0; i < 12; i++) {
        ggml_set_f32_1d(a, i, (float) i);
    }
    ggml_set_f32(b, 0.5f);
    ggml_tensor * c = ggml_add(ctx, a, b);
    ggml_tensor * d = ggml_soft_max(ctx, ggml_scale(ctx, c, 2.0f));
    CHECK(d != nullptr && d->ne[0] == 4 && d->ne[1] == 3);

    ggml_cgraph * gf = ggml_new_graph(ctx);
    ggml_build_forward_expand(gf, d);
    CHECK(ggml_graph_n_nodes(gf) == 3);
    CHECK(ggalloc_graph_n_leafs(gf) == 2);
    CHECK(ggml_graph_node(gf, -1) == d);
    CHECK(std::strcmp(ggml_op_desc(ggml_graph_node(gf, 0)), "ADD") == 0);
    CHECK(std::string(ggml_type_name(GGML_TYPE_F16)) == "f16");
    CHECK(ggml_fp16_to_fp32(ggml_fp32_to_fp16(0.5f)) == 0.5f);

    // errors come back as values and through the log callback
    log_lines log;
    ggml_log_set(on_log, &log);
    CHECK(ggml_add(ctx, b, a) == nullptr);
    ggml_log_set(nullptr, nullptr);
    CHECK(log.lines.size() == 1);
    CHECK(!log.lines.empty() && log.lines[0].find("'a' f32 [4, 3, 1, 1]") != std::string::npos);

    // the graph computes, as a ggml C++ program would run it on the CPU
    CHECK(ggml_graph_compute_with_ctx(ctx, gf, 2) == GGML_STATUS_SUCCESS);
    bool rows_ok = true;
    for (int r = 0; r < 3; r++) {
        double z = 0;
        for (int i = 0; i < 4; i++) {
            z += std::exp(2.0 * (4 * r + i + 0.5));
        }
        for (int i = 0; i < 4; i++) {
            const double want = std::exp(2.0 * (4 * r + i + 0.5)) / z;
            rows_ok &= std::fabs(ggml_get_f32_nd(d, i, r, 0, 0) - want) < 1e-5;
        }
    }
    CHECK(rows_ok);

    // and plans with the allocator of ggml-alloc.h on a host buffer type of ggalloc.h
    ggml_init_params np = { 16 * ggml_tensor_overhead() + ggml_graph_overhead(), nullptr, true };
    ggml_context * mctx = ggml_init(np);
    ggml_tensor * x = ggml_new_tensor_2d(mctx, GGML_TYPE_F32, 256, 8);
    ggml_set_input(x);
    ggml_tensor * y = ggml_relu(mctx, ggml_scale(mctx, ggml_sqr(mctx, x), 0.5f));
    ggml_set_output(y);
    ggml_cgraph * g2 = ggml_new_graph(mctx);
    ggml_build_forward_expand(g2, y);
    ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
    CHECK(galloc != nullptr);
    CHECK(ggml_gallocr_reserve(galloc, g2));
    // between one tensor (everything in place) and all four
    CHECK(ggml_gallocr_get_buffer_size(galloc, 0) >= ggml_nbytes(x));
    CHECK(ggml_gallocr_get_buffer_size(galloc, 0) <= 4 * ggml_nbytes(x));
    CHECK(ggml_gallocr_alloc_graph(galloc, g2));
    CHECK(x->data != nullptr && y->data != nullptr && x->buffer != nullptr);
    ggml_gallocr_free(galloc);
    ggml_free(mctx);

    ggml_free(ctx);
    return check_report("test-cxx");
}
