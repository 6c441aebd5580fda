#pragma once

//
// ggml-cpu.h — the CPU backend, with ggml's names.
//
// Example:
//
//   ggml_backend_t cpu = ggml_backend_cpu_init();          // NULL if its threads cannot start
//   ggml_backend_cpu_set_n_threads(cpu, 2);
//   if (ggml_backend_graph_compute(cpu, graph) != GGML_STATUS_SUCCESS) { ... } // the log names the node
//   ggml_backend_free(cpu);
//
//   // graphs whose tensors live in an allocating context:
//   ggml_graph_compute_with_ctx(ctx, graph, 2);
//
// The backend owns a thread pool that lives as long as it does. Kernels are chosen at run time
// from the CPU's features (AVX-512, AVX2+FMA or portable C on x86-64; NEON on arm64).
//

#include "ggml.h"
#include "ggml-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

// NULL (and a log line) if the backend cannot be created.
GGML_API ggml_backend_t     ggml_backend_cpu_init(void);
GGML_API bool               ggml_backend_is_cpu(ggml_backend_t backend);
// n_threads < 1 is logged and ignored.
GGML_API void               ggml_backend_cpu_set_n_threads(ggml_backend_t backend_cpu, int n_threads);
GGML_API void               ggml_backend_cpu_set_abort_callback(ggml_backend_t backend_cpu, ggml_abort_callback abort_callback, void * abort_callback_data);
GGML_API ggml_backend_reg_t ggml_backend_cpu_reg(void);

// Computes a graph whose tensors have host data (an allocating context, or host buffers) with
// n_threads threads. GGML_STATUS_FAILED (and a log line naming the node) if it cannot run.
GGML_API enum ggml_status ggml_graph_compute_with_ctx(struct ggml_context * ctx, struct ggml_cgraph * cgraph, int n_threads);

//
// Thread pools and compute plans, as ggml has them:
//
//   struct ggml_threadpool_params tpp = ggml_threadpool_params_default(4);
//   struct ggml_threadpool * tp = ggml_threadpool_new(&tpp);         // NULL if threads cannot start
//   struct ggml_cplan plan = ggml_graph_plan(graph, 4, tp);
//   plan.work_data = malloc(plan.work_size);                          // the caller's memory
//   enum ggml_status st = ggml_graph_compute(graph, &plan);
//   free(plan.work_data);
//   ggml_threadpool_free(tp);
//
// The pool's threads sleep between graphs; pause and resume are kept for ggml's programs (a
// paused pool is resumed by the next compute). CPU masks, priorities and polling are accepted
// and not applied.
//

enum ggml_sched_priority {
    GGML_SCHED_PRIO_LOW = -1,
    GGML_SCHED_PRIO_NORMAL,
    GGML_SCHED_PRIO_MEDIUM,
    GGML_SCHED_PRIO_HIGH,
    GGML_SCHED_PRIO_REALTIME
};

struct ggml_threadpool_params {
    bool                     cpumask[GGML_MAX_N_THREADS];
    int                      n_threads;
    enum ggml_sched_priority prio;
    uint32_t                 poll;
    bool                     strict_cpu;
    bool                     paused;
};

struct ggml_threadpool;
typedef struct ggml_threadpool * ggml_threadpool_t;

GGML_API struct ggml_threadpool_params ggml_threadpool_params_default(int n_threads);
GGML_API void                          ggml_threadpool_params_init   (struct ggml_threadpool_params * p, int n_threads);
GGML_API bool                          ggml_threadpool_params_match  (const struct ggml_threadpool_params * p0, const struct ggml_threadpool_params * p1);

// NULL (and a log line) for n_threads out of [1, GGML_MAX_N_THREADS] or threads that cannot start.
GGML_API struct ggml_threadpool * ggml_threadpool_new          (struct ggml_threadpool_params * params);
GGML_API void                     ggml_threadpool_free         (struct ggml_threadpool * threadpool); // NULL: no-op
GGML_API int                      ggml_threadpool_get_n_threads(struct ggml_threadpool * threadpool);
GGML_API void                     ggml_threadpool_pause        (struct ggml_threadpool * threadpool);
GGML_API void                     ggml_threadpool_resume       (struct ggml_threadpool * threadpool);

// What ggml_graph_compute needs: scratch memory of work_size bytes at work_data (the caller's),
// the threads, and an optional abort callback (asked between nodes; GGML_STATUS_ABORTED).
struct ggml_cplan {
    size_t    work_size;
    uint8_t * work_data;

    int                      n_threads;
    struct ggml_threadpool * threadpool; // NULL: a pool kept by the library

    ggml_abort_callback abort_callback;
    void *              abort_callback_data;
};

// The plan for computing cgraph with n_threads threads. A graph the CPU cannot run gets a plan
// anyway (work_size 0) and a log line; ggml_graph_compute then refuses it.
GGML_API struct ggml_cplan ggml_graph_plan(const struct ggml_cgraph * cgraph, int n_threads, struct ggml_threadpool * threadpool);
// GGML_STATUS_FAILED (and a log line) for a missing plan, scratch memory smaller than the graph
// needs, or a graph that cannot run.
GGML_API enum ggml_status  ggml_graph_compute(struct ggml_cgraph * cgraph, struct ggml_cplan * cplan);

// The backend computes with this pool (the caller's, kept alive while in use) instead of its
// own; NULL goes back to its own.
GGML_API void ggml_backend_cpu_set_threadpool(ggml_backend_t backend_cpu, ggml_threadpool_t threadpool);

// CPU features (1 if present and used, else 0).
GGML_API int ggml_cpu_has_sse3       (void);
GGML_API int ggml_cpu_has_avx        (void);
GGML_API int ggml_cpu_has_avx2       (void);
GGML_API int ggml_cpu_has_fma        (void);
GGML_API int ggml_cpu_has_f16c       (void);
GGML_API int ggml_cpu_has_avx512     (void);
GGML_API int ggml_cpu_has_avx512_bf16(void);
GGML_API int ggml_cpu_has_neon       (void);

GGML_API void ggml_cpu_init(void);


//
// Type traits of the CPU backend (quant-dot.c)
//

// s[0] = the dot product of n values of x (a row of the weight type) and y (a row of its
// vec_dot_type); n is a multiple of the block size. nrc, bs, bx, by: ggml's multi-row form;
// only nrc == 1 is implemented (nrows below is 1 for every type).
typedef void (*ggml_vec_dot_t)(int n, float * GGML_RESTRICT s, size_t bs, const void * GGML_RESTRICT x, size_t bx,
                               const void * GGML_RESTRICT y, size_t by, int nrc);

struct ggml_type_traits_cpu {
    ggml_from_float_t from_float;   // f32 row -> this type (the reference quantizer for quantized types)
    ggml_vec_dot_t    vec_dot;      // for the instruction set in use; NULL where the type has none
    enum ggml_type    vec_dot_type; // the type the other operand of vec_dot is quantized to
    int64_t           nrows;        // rows vec_dot processes at once
};

// The CPU traits of a type; for a type without CPU support (or an id outside the enum), an entry
// with NULL functions and vec_dot_type GGML_TYPE_COUNT.
GGML_API const struct ggml_type_traits_cpu * ggml_get_type_traits_cpu(enum ggml_type type);

#ifdef __cplusplus
}
#endif
