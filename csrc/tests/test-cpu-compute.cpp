// ggml's CPU compute API (ggml_graph_plan / ggml_graph_compute with the caller's scratch memory,
// thread pools, the abort callback, ggml_graph_compute_with_ctx, a backend on the caller's
// pool) and ggml-cpp.h's smart pointers, in a C++ program as ggml's users write them. Every
// way of computing one graph gives the same numbers.

#include "ggml.h"
#include "ggml-cpp.h"

#include "check.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

static const int N = 48;

struct built {
    ggml_context_ptr ctx;
    ggml_cgraph * g;
    ggml_tensor * a, * b, * out;
};

// out = soft_max(a b^T) * 2 + a-rows, in an allocating context
static built build() {
    built r;
    ggml_init_params params = { 4 * 1024 * 1024, nullptr, false };
    r.ctx.reset(ggml_init(params));
    r.a = ggml_new_tensor_2d(r.ctx.get(), GGML_TYPE_F32, N, N);
    r.b = ggml_new_tensor_2d(r.ctx.get(), GGML_TYPE_F32, N, N);
    for (int i = 0; i < N * N; i++) {
        ggml_set_f32_1d(r.a, i, (float) ((i * 37) % 101) / 101.0f - 0.5f);
        ggml_set_f32_1d(r.b, i, (float) ((i * 53) % 97) / 97.0f - 0.5f);
    }
    ggml_tensor * p = ggml_soft_max(r.ctx.get(), ggml_mul_mat(r.ctx.get(), r.a, r.b));
    r.out = ggml_add(r.ctx.get(), ggml_scale(r.ctx.get(), p, 2.0f), r.a);
    r.g = ggml_new_graph(r.ctx.get());
    ggml_build_forward_expand(r.g, r.out);
    return r;
}

static std::vector<float> values(const ggml_tensor * t) {
    std::vector<float> v(ggml_nelements(t));
    for (size_t i = 0; i < v.size(); i++) v[i] = ggml_get_f32_1d(t, (int) i);
    return v;
}

static bool aborting(void * data) {
    int * calls = static_cast<int *>(data);
    return ++*calls >= 2;
}

int main() {
    // the reference: ggml_graph_compute_with_ctx
    built ref = build();
    CHECK(ggml_graph_compute_with_ctx(ref.ctx.get(), ref.g, 2) == GGML_STATUS_SUCCESS);
    std::vector<float> expect = values(ref.out);
    float sum = 0;
    for (float x : expect) sum += std::fabs(x);
    CHECK(sum > 1.0f); // something was computed

    // a plan, the caller's scratch memory, the library's pool and a pool of our own
    ggml_threadpool_params tpp = ggml_threadpool_params_default(2);
    ggml_threadpool_params tpp2;
    ggml_threadpool_params_init(&tpp2, 2);
    CHECK(ggml_threadpool_params_match(&tpp, &tpp2));
    tpp2.n_threads = 3;
    CHECK(!ggml_threadpool_params_match(&tpp, &tpp2));
    ggml_threadpool_ptr tp(ggml_threadpool_new(&tpp));
    CHECK(tp != nullptr);
    CHECK_EQ_INT(ggml_threadpool_get_n_threads(tp.get()), 2);
    ggml_threadpool_pause(tp.get());
    ggml_threadpool_resume(tp.get());
    for (int k = 0; k < 2; k++) {
        built b = build();
        ggml_cplan plan = ggml_graph_plan(b.g, 2, k ? tp.get() : nullptr);
        CHECK(plan.work_size > 0); // mul_mat packs its operands
        std::vector<uint8_t> work(plan.work_size + 1);
        plan.work_data = work.data() + 1; // anywhere: the plan has room to align
        CHECK(ggml_graph_compute(b.g, &plan) == GGML_STATUS_SUCCESS);
        CHECK(values(b.out) == expect);

        // refusals: no scratch memory, too little, no plan
        log_capture_begin();
        ggml_cplan bad = plan;
        bad.work_data = nullptr;
        CHECK(ggml_graph_compute(b.g, &bad) == GGML_STATUS_FAILED);
        bad.work_data = work.data();
        bad.work_size = 8;
        CHECK(ggml_graph_compute(b.g, &bad) == GGML_STATUS_FAILED);
        CHECK(ggml_graph_compute(b.g, nullptr) == GGML_STATUS_FAILED);
        log_capture_end();
        CHECK(log_captured("work_data is NULL"));
        CHECK(log_captured("needs"));

        // the abort callback, asked between nodes
        int calls = 0;
        plan.abort_callback = aborting;
        plan.abort_callback_data = &calls;
        CHECK(ggml_graph_compute(b.g, &plan) == GGML_STATUS_ABORTED);
        CHECK(calls == 2);
    }
    log_capture_begin();
    ggml_threadpool_params none = ggml_threadpool_params_default(0);
    CHECK(ggml_threadpool_new(&none) == nullptr);
    log_capture_end();
    ggml_threadpool_free(nullptr);

    // a backend computing on the caller's pool
    {
        ggml_backend_ptr cpu(ggml_backend_cpu_init());
        ggml_backend_cpu_set_threadpool(cpu.get(), tp.get());
        built b = build();
        CHECK(ggml_backend_graph_compute(cpu.get(), b.g) == GGML_STATUS_SUCCESS);
        CHECK(values(b.out) == expect);
        ggml_backend_cpu_set_threadpool(cpu.get(), nullptr);
        ggml_set_zero(b.out);
        CHECK(ggml_get_f32_1d(b.out, 5) == 0.0f);
        CHECK(ggml_backend_graph_compute(cpu.get(), b.g) == GGML_STATUS_SUCCESS);
        CHECK(values(b.out) == expect);
    }

    // the other smart pointers hold and free their objects
    {
        ggml_backend_ptr cpu(ggml_backend_cpu_init());
        ggml_backend_t backends[1] = { cpu.get() };
        ggml_backend_sched_ptr sched(ggml_backend_sched_new(backends, nullptr, 1, GGML_DEFAULT_GRAPH_SIZE, false, true));
        CHECK(sched != nullptr);
        ggml_gallocr_ptr galloc(ggml_gallocr_new(ggml_backend_cpu_buffer_type()));
        ggml_backend_buffer_ptr buf(ggml_backend_cpu_buffer_type() ? ggml_backend_buft_alloc_buffer(ggml_backend_cpu_buffer_type(), 64) : nullptr);
        CHECK(buf != nullptr);
        ggml_backend_event_ptr ev(ggml_backend_event_new(ggml_backend_get_device(cpu.get())));
        CHECK(ev == nullptr); // the CPU has no events
    }
    FILE * f = ggml_fopen("/nonexistent/dir/file", "rb");
    CHECK(f == nullptr);
    return check_report("test-cpu-compute");
}
