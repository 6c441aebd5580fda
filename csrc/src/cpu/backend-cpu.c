//
// backend-cpu.c — the CPU backend: its registry, device and backend objects, and graph compute.
//
// Computing a graph is one run of the thread pool: every thread walks the node list, does its
// share of each node (the op decides how to split its work by ith/nth), and meets the others at
// one barrier before the next node, because a node may read what the previous one wrote. Nodes
// that only describe memory (views, reshapes, permutes) cost neither work nor a barrier.
//
// Before any work starts, every node is checked: its op and types must have a kernel, and the
// node and its sources must have host data. A graph that fails the check is refused as a whole,
// with a log line naming the node, so no partial result is ever left behind by a bad graph.
//
// The scratch memory nodes need (mul_mat packs its operands into it) is sized for the largest
// node of the graph and kept by the backend between computes.
//

#include "align.h"
#include "ggml-cpu.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend-impl.h"
#include "ggalloc-graph.h"
#include "log.h"
#include "ops.h"
#include "threadpool.h"

#define CPU_WORK_ALIGN 64

struct ggml_threadpool {
    struct cpu_threadpool * pool;
    int                     n_threads;
    bool                    paused;
};

struct cpu_backend_context {
    int                     n_threads;
    struct cpu_threadpool * pool;
    struct ggml_threadpool * user_pool; // the caller's, used instead of pool when set
    void *                  work;
    size_t                  work_size;
    ggml_abort_callback     abort_callback;
    void *                  abort_callback_data;
};

static bool cpu_op_is_noop(enum ggml_op op) {
    return op == GGML_OP_NONE || op == GGML_OP_RESHAPE || op == GGML_OP_VIEW ||
           op == GGML_OP_PERMUTE || op == GGML_OP_TRANSPOSE;
}

static const char * cpu_type_name(const struct ggml_tensor * t) {
    if (t == NULL) {
        return "-";
    }
    const char * name = ggml_type_name(t->type);
    return name ? name : "unknown";
}

static void cpu_log_node(const char * why, int i, const struct ggml_tensor * node) {
    GGML_LOG_ERROR("cpu: node %d '%s' (op %s, type %s, src0 %s, src1 %s): %s\n", i, node->name,
            ggml_op_desc(node), cpu_type_name(node), cpu_type_name(node->src[0]), cpu_type_name(node->src[1]), why);
}

// Why a tensor cannot be read or written here, or NULL if it can.
static const char * cpu_tensor_unusable(const struct ggml_tensor * t) {
    if (t->data == NULL) {
        if (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
            return "is external and has no memory";
        }
        return "has no data (not allocated)";
    }
    if (t->buffer != NULL && !ggml_backend_buffer_is_host(t->buffer)) {
        return "is in a buffer the CPU cannot read";
    }
    return NULL;
}

// Checks every node; on the first bad one logs it and returns false. Sets *work_size to the most
// scratch bytes any node needs with nth threads.
static bool cpu_graph_check(struct ggml_cgraph * cgraph, int nth, size_t * work_size) {
    size_t work = 0;
    int n = ggml_graph_n_nodes(cgraph);
    for (int i = 0; i < n; i++) {
        struct ggml_tensor * node = ggml_graph_node(cgraph, i);
        if (node == NULL) {
            GGML_LOG_ERROR("cpu: node %d of %d is NULL\n", i, n);
            return false;
        }
        if (cpu_op_is_noop(node->op) || ggml_is_empty(node)) {
            continue;
        }
        if (!cpu_op_supported(node)) {
            cpu_log_node("not supported by the CPU backend", i, node);
            return false;
        }
        const char * why = cpu_tensor_unusable(node);
        if (why != NULL) {
            char msg[160];
            snprintf(msg, sizeof(msg), "the node %s", why);
            cpu_log_node(msg, i, node);
            return false;
        }
        for (int s = 0; s < GGML_MAX_SRC; s++) {
            const struct ggml_tensor * src = node->src[s];
            if (src == NULL) {
                continue;
            }
            why = cpu_tensor_unusable(src);
            if (why != NULL) {
                char msg[160];
                snprintf(msg, sizeof(msg), "source %d '%s' %s", s, src->name, why);
                cpu_log_node(msg, i, node);
                return false;
            }
        }
        size_t w = cpu_op_work_size(node, nth);
        if (w > work) {
            work = w;
        }
    }
    *work_size = work;
    return true;
}

struct cpu_graph_run {
    struct ggml_cgraph *    cgraph;
    struct cpu_threadpool * pool;
    void *                  work;
    size_t                  work_size;
    ggml_abort_callback     abort_callback;
    void *                  abort_callback_data;
    // Why the threads stop after the s-th computed node is written to stop[s % 2] during that
    // node and read by every thread after the barrier that ends it. Two slots, because a fast
    // thread may already be in node s + 1 (writing the other slot) while a slow one still reads
    // this one; it cannot reach node s + 2 before the slow one has read it. (Counted in computed
    // nodes, not graph positions: views in between have no barrier.)
    atomic_int              stop[2]; // 0: go on, else a CPU_STOP_* reason
    int                     stopped; // the reason the run stopped (written by thread 0 only)
};

static void cpu_graph_worker(void * arg, int ith, int nth) {
    struct cpu_graph_run * run = arg;
    struct cpu_compute_params params = {
        .ith    = ith,
        .nth    = nth,
        .wdata  = run->work,
        .wsize  = run->work_size,
        .pool   = nth > 1 ? run->pool : NULL,
        .failed = NULL,
    };
    int n = ggml_graph_n_nodes(run->cgraph);
    int step = 0; // nodes computed so far: barriers passed, the same count on every thread
    for (int i = 0; i < n; i++) {
        struct ggml_tensor * node = ggml_graph_node(run->cgraph, i);
        if (cpu_op_is_noop(node->op) || ggml_is_empty(node)) {
            continue;
        }
        atomic_int * stop = &run->stop[step++ & 1];
        params.failed = stop;
        cpu_op_compute(&params, node);
        // Thread 0 asks before the barrier, so everyone reads the answer after it.
        if (ith == 0 && run->abort_callback != NULL && i + 1 < n && run->abort_callback(run->abort_callback_data)) {
            int expected = 0;
            atomic_compare_exchange_strong(stop, &expected, CPU_STOP_ABORTED);
        }
        cpu_op_barrier(&params);
        // a kernel that met bad data (logged) stops the graph too: later nodes would read garbage
        if (atomic_load(stop) != 0) {
            if (ith == 0) {
                run->stopped = atomic_load(stop);
            }
            break;
        }
    }
}

static enum ggml_status cpu_graph_compute_on(struct cpu_threadpool * pool, int n_threads, void ** work, size_t * work_cap,
        ggml_abort_callback abort_callback, void * abort_callback_data, struct ggml_cgraph * cgraph) {
    if (cgraph == NULL) {
        GGML_LOG_ERROR("cpu: graph_compute given a NULL graph\n");
        return GGML_STATUS_FAILED;
    }
    size_t need = 0;
    if (!cpu_graph_check(cgraph, n_threads, &need)) {
        return GGML_STATUS_FAILED;
    }
    if (need > *work_cap) {
        free(*work);
        size_t cap = (need + CPU_WORK_ALIGN - 1) / CPU_WORK_ALIGN * CPU_WORK_ALIGN;
        *work = aligned_alloc(CPU_WORK_ALIGN, cap);
        if (*work == NULL) {
            *work_cap = 0;
            GGML_LOG_ERROR("cpu: cannot allocate %zu bytes of scratch memory for the graph\n", cap);
            return GGML_STATUS_ALLOC_FAILED;
        }
        *work_cap = cap;
    }
    struct cpu_graph_run run = {
        .cgraph              = cgraph,
        .pool                = pool,
        .work                = *work,
        .work_size           = *work_cap,
        .abort_callback      = abort_callback,
        .abort_callback_data = abort_callback_data,
    };
    atomic_init(&run.stop[0], 0);
    atomic_init(&run.stop[1], 0);
    run.stopped = 0;
    if (abort_callback != NULL && abort_callback(abort_callback_data)) {
        return GGML_STATUS_ABORTED;
    }
    cpu_threadpool_run(pool, cpu_graph_worker, &run, n_threads);
    switch (run.stopped) {
        case CPU_STOP_FAILED:  return GGML_STATUS_FAILED;
        case CPU_STOP_ABORTED: return GGML_STATUS_ABORTED;
        default:               return GGML_STATUS_SUCCESS;
    }
}

//
// Backend
//

static const char * cpu_backend_get_name(ggml_backend_t backend) {
    GGML_UNUSED(backend);
    return "CPU";
}

static void cpu_backend_free(ggml_backend_t backend) {
    struct cpu_backend_context * ctx = backend->context;
    cpu_threadpool_free(ctx->pool);
    free(ctx->work);
    free(ctx);
    free(backend);
}

static enum ggml_status cpu_backend_graph_compute(ggml_backend_t backend, struct ggml_cgraph * cgraph) {
    struct cpu_backend_context * ctx = backend->context;
    struct cpu_threadpool * pool = ctx->pool;
    int n_threads = ctx->n_threads;
    if (ctx->user_pool != NULL) {
        ctx->user_pool->paused = false;
        pool = ctx->user_pool->pool;
        n_threads = ctx->n_threads < ctx->user_pool->n_threads ? ctx->n_threads : ctx->user_pool->n_threads;
    }
    return cpu_graph_compute_on(pool, n_threads, &ctx->work, &ctx->work_size,
            ctx->abort_callback, ctx->abort_callback_data, cgraph);
}

static const struct ggml_backend_i cpu_backend_i = {
    .get_name         = cpu_backend_get_name,
    .free             = cpu_backend_free,
    .set_tensor_async = NULL,
    .get_tensor_async = NULL,
    .synchronize      = NULL,
    .graph_compute    = cpu_backend_graph_compute,
};

// ggml's default thread count, but never more threads than cores online: a thread without a
// core of its own stalls every barrier.
static int cpu_default_n_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) {
        n = 1;
    }
    if (n > GGML_DEFAULT_N_THREADS) {
        n = GGML_DEFAULT_N_THREADS;
    }
    return (int) n;
}

static ggml_backend_dev_t cpu_device(void);

static ggml_backend_t cpu_backend_new(int n_threads) {
    ggml_cpu_init();
    struct cpu_backend_context * ctx = calloc(1, sizeof(*ctx));
    ggml_backend_t backend = calloc(1, sizeof(*backend));
    if (ctx == NULL || backend == NULL) {
        GGML_LOG_ERROR("cpu: out of memory creating the backend\n");
        free(ctx);
        free(backend);
        return NULL;
    }
    ctx->n_threads = n_threads;
    ctx->pool = cpu_threadpool_new(n_threads);
    if (ctx->pool == NULL) {
        free(ctx);
        free(backend);
        return NULL;
    }
    backend->iface   = cpu_backend_i;
    backend->device  = cpu_device();
    backend->context = ctx;
    return backend;
}

ggml_backend_t ggml_backend_cpu_init(void) {
    return cpu_backend_new(cpu_default_n_threads());
}

bool ggml_backend_is_cpu(ggml_backend_t backend) {
    return backend != NULL && backend->iface.graph_compute == cpu_backend_graph_compute;
}

void ggml_backend_cpu_set_n_threads(ggml_backend_t backend_cpu, int n_threads) {
    if (!ggml_backend_is_cpu(backend_cpu)) {
        GGML_LOG_ERROR("cpu: ggml_backend_cpu_set_n_threads given a backend that is not the CPU backend\n");
        return;
    }
    if (n_threads < 1 || n_threads > GGML_MAX_N_THREADS) {
        GGML_LOG_ERROR("cpu: n_threads = %d is out of range [1, %d]; keeping %d\n", n_threads, GGML_MAX_N_THREADS,
                ((struct cpu_backend_context *) backend_cpu->context)->n_threads);
        return;
    }
    struct cpu_backend_context * ctx = backend_cpu->context;
    if (n_threads > cpu_threadpool_max_threads(ctx->pool)) {
        struct cpu_threadpool * pool = cpu_threadpool_new(n_threads);
        if (pool == NULL) {
            GGML_LOG_ERROR("cpu: keeping %d threads\n", ctx->n_threads);
            return;
        }
        cpu_threadpool_free(ctx->pool);
        ctx->pool = pool;
    }
    ctx->n_threads = n_threads;
}

void ggml_backend_cpu_set_abort_callback(ggml_backend_t backend_cpu, ggml_abort_callback abort_callback, void * abort_callback_data) {
    if (!ggml_backend_is_cpu(backend_cpu)) {
        GGML_LOG_ERROR("cpu: ggml_backend_cpu_set_abort_callback given a backend that is not the CPU backend\n");
        return;
    }
    struct cpu_backend_context * ctx = backend_cpu->context;
    ctx->abort_callback      = abort_callback;
    ctx->abort_callback_data = abort_callback_data;
}

void ggml_backend_cpu_set_threadpool(ggml_backend_t backend_cpu, ggml_threadpool_t threadpool) {
    if (!ggml_backend_is_cpu(backend_cpu)) {
        GGML_LOG_ERROR("cpu: ggml_backend_cpu_set_threadpool given a backend that is not the CPU backend\n");
        return;
    }
    ((struct cpu_backend_context *) backend_cpu->context)->user_pool = threadpool;
}

//
// Thread pools and compute plans
//

void ggml_threadpool_params_init(struct ggml_threadpool_params * p, int n_threads) {
    if (p == NULL) {
        return;
    }
    memset(p, 0, sizeof(*p));
    p->n_threads = n_threads;
    p->prio = GGML_SCHED_PRIO_NORMAL;
    p->poll = 50;
    p->strict_cpu = false;
    p->paused = false;
}

struct ggml_threadpool_params ggml_threadpool_params_default(int n_threads) {
    struct ggml_threadpool_params p;
    ggml_threadpool_params_init(&p, n_threads);
    return p;
}

bool ggml_threadpool_params_match(const struct ggml_threadpool_params * p0, const struct ggml_threadpool_params * p1) {
    if (p0 == NULL || p1 == NULL) {
        return p0 == p1;
    }
    return p0->n_threads == p1->n_threads && p0->prio == p1->prio && p0->poll == p1->poll &&
           p0->strict_cpu == p1->strict_cpu && memcmp(p0->cpumask, p1->cpumask, sizeof(p0->cpumask)) == 0;
}

struct ggml_threadpool * ggml_threadpool_new(struct ggml_threadpool_params * params) {
    if (params == NULL || params->n_threads < 1 || params->n_threads > GGML_MAX_N_THREADS) {
        GGML_LOG_ERROR("cpu: ggml_threadpool_new: n_threads = %d is out of range [1, %d]\n", params ? params->n_threads : 0,
                GGML_MAX_N_THREADS);
        return NULL;
    }
    ggml_cpu_init();
    struct ggml_threadpool * tp = calloc(1, sizeof(*tp));
    if (tp == NULL) {
        GGML_LOG_ERROR("cpu: ggml_threadpool_new: out of memory\n");
        return NULL;
    }
    tp->pool = cpu_threadpool_new(params->n_threads);
    if (tp->pool == NULL) {
        free(tp);
        return NULL;
    }
    tp->n_threads = params->n_threads;
    tp->paused = params->paused;
    return tp;
}

void ggml_threadpool_free(struct ggml_threadpool * threadpool) {
    if (threadpool == NULL) {
        return;
    }
    cpu_threadpool_free(threadpool->pool);
    free(threadpool);
}

int ggml_threadpool_get_n_threads(struct ggml_threadpool * threadpool) {
    return threadpool ? threadpool->n_threads : 0;
}

void ggml_threadpool_pause(struct ggml_threadpool * threadpool) {
    if (threadpool != NULL) {
        threadpool->paused = true; // its threads already sleep between graphs
    }
}

void ggml_threadpool_resume(struct ggml_threadpool * threadpool) {
    if (threadpool != NULL) {
        threadpool->paused = false;
    }
}

struct ggml_cplan ggml_graph_plan(const struct ggml_cgraph * cgraph, int n_threads, struct ggml_threadpool * threadpool) {
    struct ggml_cplan plan;
    memset(&plan, 0, sizeof(plan));
    if (n_threads <= 0) {
        n_threads = threadpool ? threadpool->n_threads : GGML_DEFAULT_N_THREADS;
    }
    plan.n_threads = n_threads;
    plan.threadpool = threadpool;
    size_t need = 0;
    if (cgraph == NULL) {
        GGML_LOG_ERROR("cpu: ggml_graph_plan given a NULL graph\n");
        return plan;
    }
    ggml_cpu_init();
    if (!cpu_graph_check((struct ggml_cgraph *) cgraph, n_threads, &need)) {
        return plan; // logged; ggml_graph_compute refuses the graph again
    }
    // room to align the scratch memory, wherever the caller's memory starts
    plan.work_size = need > 0 ? need + CPU_WORK_ALIGN : 0;
    return plan;
}

// ggml_graph_compute and ggml_graph_compute_with_ctx without a pool of their own share one,
// kept for the process and grown on demand; a second caller arriving while it is in use gets a
// pool of its own for that call rather than waiting.
static pthread_mutex_t         cpu_ctx_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct cpu_threadpool * cpu_ctx_pool = NULL;
static void *                  cpu_ctx_work = NULL;
static size_t                  cpu_ctx_work_size = 0;

static enum ggml_status cpu_compute_shared(int n_threads, void ** work, size_t * work_cap, ggml_abort_callback abort_callback,
        void * abort_callback_data, struct ggml_cgraph * cgraph) {
    if (pthread_mutex_trylock(&cpu_ctx_mutex) == 0) {
        if (cpu_ctx_pool == NULL || cpu_threadpool_max_threads(cpu_ctx_pool) < n_threads) {
            struct cpu_threadpool * pool = cpu_threadpool_new(n_threads);
            if (pool == NULL) {
                pthread_mutex_unlock(&cpu_ctx_mutex);
                return GGML_STATUS_FAILED;
            }
            cpu_threadpool_free(cpu_ctx_pool);
            cpu_ctx_pool = pool;
        }
        enum ggml_status st = cpu_graph_compute_on(cpu_ctx_pool, n_threads, work ? work : &cpu_ctx_work,
                work_cap ? work_cap : &cpu_ctx_work_size, abort_callback, abort_callback_data, cgraph);
        pthread_mutex_unlock(&cpu_ctx_mutex);
        return st;
    }
    struct cpu_threadpool * pool = cpu_threadpool_new(n_threads);
    if (pool == NULL) {
        return GGML_STATUS_FAILED;
    }
    void * own = NULL;
    size_t own_cap = 0;
    enum ggml_status st = cpu_graph_compute_on(pool, n_threads, work ? work : &own, work_cap ? work_cap : &own_cap,
            abort_callback, abort_callback_data, cgraph);
    free(own);
    cpu_threadpool_free(pool);
    return st;
}

enum ggml_status ggml_graph_compute(struct ggml_cgraph * cgraph, struct ggml_cplan * cplan) {
    if (cplan == NULL || cgraph == NULL) {
        GGML_LOG_ERROR("cpu: ggml_graph_compute needs a graph and a plan (ggml_graph_plan)\n");
        return GGML_STATUS_FAILED;
    }
    if (cplan->n_threads < 1 || cplan->n_threads > GGML_MAX_N_THREADS) {
        GGML_LOG_ERROR("cpu: ggml_graph_compute: the plan's n_threads = %d is out of range [1, %d]\n", cplan->n_threads,
                GGML_MAX_N_THREADS);
        return GGML_STATUS_FAILED;
    }
    if (cplan->work_size > 0 && cplan->work_data == NULL) {
        GGML_LOG_ERROR("cpu: ggml_graph_compute: the plan asks for %zu bytes of scratch memory, and work_data is NULL\n",
                cplan->work_size);
        return GGML_STATUS_FAILED;
    }
    ggml_cpu_init();
    int n_threads = cplan->n_threads;
    if (cplan->threadpool != NULL && n_threads > cplan->threadpool->n_threads) {
        n_threads = cplan->threadpool->n_threads;
    }
    size_t need = 0;
    if (!cpu_graph_check(cgraph, n_threads, &need)) {
        return GGML_STATUS_FAILED;
    }
    // the caller's memory, aligned within itself; never reallocated here
    uintptr_t base = (uintptr_t) cplan->work_data;
    uintptr_t aligned = (uintptr_t) gga_align_up(base, CPU_WORK_ALIGN);
    size_t usable = cplan->work_data == NULL || cplan->work_size < aligned - base ? 0 : cplan->work_size - (aligned - base);
    if (need > usable) {
        GGML_LOG_ERROR("cpu: ggml_graph_compute: the graph needs %zu bytes of scratch memory, and the plan gives %zu "
                "(make the plan with ggml_graph_plan for this graph and thread count)\n", need, cplan->work_size);
        return GGML_STATUS_FAILED;
    }
    void * work = need > 0 ? (void *) aligned : NULL;
    size_t work_cap = need > 0 ? usable : 0;
    if (cplan->threadpool != NULL) {
        cplan->threadpool->paused = false;
        return cpu_graph_compute_on(cplan->threadpool->pool, n_threads, &work, &work_cap, cplan->abort_callback,
                cplan->abort_callback_data, cgraph);
    }
    return cpu_compute_shared(n_threads, &work, &work_cap, cplan->abort_callback, cplan->abort_callback_data, cgraph);
}

enum ggml_status ggml_graph_compute_with_ctx(struct ggml_context * ctx, struct ggml_cgraph * cgraph, int n_threads) {
    GGML_UNUSED(ctx); // the scratch memory is the library's, not the context's
    if (n_threads < 1 || n_threads > GGML_MAX_N_THREADS) {
        GGML_LOG_ERROR("cpu: ggml_graph_compute_with_ctx: n_threads = %d is out of range [1, %d]\n", n_threads, GGML_MAX_N_THREADS);
        return GGML_STATUS_FAILED;
    }
    ggml_cpu_init();
    return cpu_compute_shared(n_threads, NULL, NULL, NULL, NULL, cgraph);
}

//
// Device
//

static const char * cpu_dev_get_name(ggml_backend_dev_t dev) {
    GGML_UNUSED(dev);
    return "CPU";
}

static char cpu_description[64];

static const char * cpu_dev_get_description(ggml_backend_dev_t dev) {
    GGML_UNUSED(dev);
    return cpu_description[0] ? cpu_description : "CPU";
}

static void cpu_dev_get_memory(ggml_backend_dev_t dev, size_t * free_mem, size_t * total) {
    GGML_UNUSED(dev);
    long pages = sysconf(_SC_PHYS_PAGES);
    long avail = sysconf(_SC_AVPHYS_PAGES);
    long page  = sysconf(_SC_PAGE_SIZE);
    if (total) {
        *total = pages > 0 && page > 0 ? (size_t) pages * (size_t) page : 0;
    }
    if (free_mem) {
        *free_mem = avail > 0 && page > 0 ? (size_t) avail * (size_t) page : 0;
    }
}

static enum ggml_backend_dev_type cpu_dev_get_type(ggml_backend_dev_t dev) {
    GGML_UNUSED(dev);
    return GGML_BACKEND_DEVICE_TYPE_CPU;
}

static void cpu_dev_get_props(ggml_backend_dev_t dev, struct ggml_backend_dev_props * props) {
    props->name        = cpu_dev_get_name(dev);
    props->description = cpu_dev_get_description(dev);
    props->type        = GGML_BACKEND_DEVICE_TYPE_CPU;
    props->device_id   = NULL;
    cpu_dev_get_memory(dev, &props->memory_free, &props->memory_total);
    props->caps.async                = false;
    props->caps.host_buffer          = false;
    props->caps.buffer_from_host_ptr = true;
    props->caps.events               = false;
}

static ggml_backend_t cpu_dev_init_backend(ggml_backend_dev_t dev, const char * params) {
    GGML_UNUSED(dev);
    GGML_UNUSED(params);
    return ggml_backend_cpu_init();
}

static ggml_backend_buffer_type_t cpu_dev_get_buffer_type(ggml_backend_dev_t dev) {
    GGML_UNUSED(dev);
    return ggml_backend_cpu_buffer_type();
}

static ggml_backend_buffer_t cpu_dev_buffer_from_host_ptr(ggml_backend_dev_t dev, void * ptr, size_t size, size_t max_tensor_size) {
    GGML_UNUSED(dev);
    GGML_UNUSED(max_tensor_size);
    return ggml_backend_cpu_buffer_from_ptr(ptr, size);
}

static bool cpu_dev_supports_op(ggml_backend_dev_t dev, const struct ggml_tensor * op) {
    GGML_UNUSED(dev);
    if (op == NULL) {
        return false;
    }
    if (cpu_op_is_noop(op->op)) {
        return true;
    }
    return cpu_op_supported(op);
}

static bool cpu_dev_supports_buft(ggml_backend_dev_t dev, ggml_backend_buffer_type_t buft) {
    GGML_UNUSED(dev);
    return buft != NULL && ggml_backend_buft_is_host(buft);
}

//
// Registry
//

static const char * cpu_reg_get_name(ggml_backend_reg_t reg) {
    GGML_UNUSED(reg);
    return "CPU";
}

static size_t cpu_reg_get_device_count(ggml_backend_reg_t reg) {
    GGML_UNUSED(reg);
    return 1;
}

static ggml_backend_dev_t cpu_reg_get_device(ggml_backend_reg_t reg, size_t index) {
    GGML_UNUSED(reg);
    return index == 0 ? cpu_device() : NULL;
}

static void * cpu_reg_get_proc_address(ggml_backend_reg_t reg, const char * name) {
    GGML_UNUSED(reg);
    if (name == NULL) {
        return NULL;
    }
    if (strcmp(name, "ggml_backend_set_n_threads") == 0) {
        return (void *) ggml_backend_cpu_set_n_threads;
    }
    if (strcmp(name, "ggml_backend_set_abort_callback") == 0) {
        return (void *) ggml_backend_cpu_set_abort_callback;
    }
    return NULL;
}

// the vtables written in place: a static object's initializer may not copy another's
static struct ggml_backend_reg cpu_reg = {
    .iface = {
        .get_name         = cpu_reg_get_name,
        .get_device_count = cpu_reg_get_device_count,
        .get_device       = cpu_reg_get_device,
        .get_proc_address = cpu_reg_get_proc_address,
    },
    .context = NULL,
};

static struct ggml_backend_device cpu_dev = {
    .iface = {
        .get_name             = cpu_dev_get_name,
        .get_description      = cpu_dev_get_description,
        .get_memory           = cpu_dev_get_memory,
        .get_type             = cpu_dev_get_type,
        .get_props            = cpu_dev_get_props,
        .init_backend         = cpu_dev_init_backend,
        .get_buffer_type      = cpu_dev_get_buffer_type,
        .get_host_buffer_type = NULL,
        .buffer_from_host_ptr = cpu_dev_buffer_from_host_ptr,
        .supports_op          = cpu_dev_supports_op,
        .supports_buft        = cpu_dev_supports_buft,
        .offload_op           = NULL,
    },
    .reg     = &cpu_reg,
    .context = NULL,
};

static void cpu_read_description(void) {
    FILE * f = fopen("/proc/cpuinfo", "r");
    if (f == NULL) {
        return;
    }
    char line[256];
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char * p = strchr(line, ':');
            if (p != NULL) {
                p++;
                while (*p == ' ' || *p == '\t') {
                    p++;
                }
                size_t n = strcspn(p, "\n");
                if (n >= sizeof(cpu_description)) {
                    n = sizeof(cpu_description) - 1;
                }
                memcpy(cpu_description, p, n);
                cpu_description[n] = 0;
            }
            break;
        }
    }
    fclose(f);
}

static ggml_backend_dev_t cpu_device(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, cpu_read_description);
    return &cpu_dev;
}

ggml_backend_reg_t ggml_backend_cpu_reg(void) {
    ggml_cpu_init();
    cpu_device();
    return &cpu_reg;
}
