//
// threadpool.c — the CPU backend's worker threads.
//
// The pool starts its threads once, when the backend is created, and keeps them until the
// backend is freed: starting threads per graph would cost tens of microseconds per compute,
// more than many small graphs take to run.
//
// A run publishes (fn, arg, nth) and bumps a generation counter; each worker remembers the last
// generation it served, so it notices new work by comparing one integer. Every worker
// acknowledges every run (those with ith >= nth without working), so all of them have left a
// run before the next one is published. Idle workers first spin briefly (a graph that is
// computed in a loop hands out the next run within microseconds) and then sleep on a condition
// variable, so an idle backend costs no CPU. The caller takes part as thread 0 and then waits
// for the others to report done.
//
// The barrier is a counter plus a generation number (a "sense-reversing" barrier): the last
// thread to arrive resets the counter and bumps the generation, which releases the spinners.
// Spinning is right here because a barrier separates two nodes of one graph, typically a few
// microseconds apart; a waiter that spins too long yields its core, which matters when more
// threads than cores are running (tests run in parallel on a two-core machine).
//

#include "threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#if defined(__x86_64__) || defined(__i386__)
#    include <immintrin.h>
#    define CPU_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#    define CPU_PAUSE() __asm__ __volatile__("yield")
#else
#    define CPU_PAUSE() ((void) 0)
#endif

#define CPU_SPIN_BEFORE_YIELD 2048
#define CPU_SPIN_BEFORE_SLEEP 8192

struct cpu_worker {
    struct cpu_threadpool * pool;
    pthread_t thread;
    int       ith;
};

struct cpu_threadpool {
    int max_threads;
    struct cpu_worker * workers; // max_threads - 1 of them

    pthread_mutex_t mutex;
    pthread_cond_t  cond;

    // the current run
    cpu_task_fn fn;
    void *      arg;
    int         nth;
    atomic_int  generation;
    atomic_int  n_done;
    atomic_bool stop;

    // the barrier
    atomic_int barrier_count;
    atomic_int barrier_generation;
};

static void cpu_spin_wait(int * spins) {
    if (++*spins < CPU_SPIN_BEFORE_YIELD) {
        CPU_PAUSE();
    } else {
        sched_yield();
    }
}

static void * cpu_worker_main(void * arg) {
    struct cpu_worker * w = arg;
    struct cpu_threadpool * pool = w->pool;
    int seen = 0;
    for (;;) {
        int gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spins = 0; gen == seen && spins < CPU_SPIN_BEFORE_SLEEP && !atomic_load(&pool->stop); spins++) {
            CPU_PAUSE();
            gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool->mutex);
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop)) {
                pthread_cond_wait(&pool->cond, &pool->mutex);
            }
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) {
            break;
        }
        seen = gen;
        if (w->ith < pool->nth) {
            pool->fn(pool->arg, w->ith, pool->nth);
        }
        // every worker acknowledges every run, taking part or not: the caller waits for all of
        // them, so none can still be looking at this run when the next one's (fn, arg, nth) are
        // published (a lagging worker would otherwise pair an old generation with new values)
        atomic_fetch_add_explicit(&pool->n_done, 1, memory_order_release);
    }
    return NULL;
}

struct cpu_threadpool * cpu_threadpool_new(int max_threads) {
    if (max_threads < 1) {
        max_threads = 1;
    }
    struct cpu_threadpool * pool = calloc(1, sizeof(*pool));
    if (pool == NULL) {
        GGML_LOG_ERROR("cpu: out of memory creating a thread pool of %d threads\n", max_threads);
        return NULL;
    }
    pool->max_threads = max_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->cond, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->n_done, 0);
    atomic_init(&pool->stop, false);
    atomic_init(&pool->barrier_count, 0);
    atomic_init(&pool->barrier_generation, 0);
    pool->nth = 1;
    if (max_threads > 1) {
        pool->workers = calloc((size_t) max_threads - 1, sizeof(struct cpu_worker));
        if (pool->workers == NULL) {
            GGML_LOG_ERROR("cpu: out of memory creating a thread pool of %d threads\n", max_threads);
            pthread_cond_destroy(&pool->cond);
            pthread_mutex_destroy(&pool->mutex);
            free(pool);
            return NULL;
        }
        for (int i = 0; i < max_threads - 1; i++) {
            struct cpu_worker * w = &pool->workers[i];
            w->pool = pool;
            w->ith  = i + 1;
            int err = pthread_create(&w->thread, NULL, cpu_worker_main, w);
            if (err != 0) {
                GGML_LOG_ERROR("cpu: cannot start thread %d of %d (error %d: %s)\n", i + 1, max_threads, err, strerror(err));
                pool->max_threads = i + 1; // the workers started so far are joined below
                cpu_threadpool_free(pool);
                return NULL;
            }
        }
    }
    return pool;
}

void cpu_threadpool_free(struct cpu_threadpool * pool) {
    if (pool == NULL) {
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < pool->max_threads - 1; i++) {
        pthread_join(pool->workers[i].thread, NULL);
    }
    pthread_cond_destroy(&pool->cond);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->workers);
    free(pool);
}

int cpu_threadpool_max_threads(const struct cpu_threadpool * pool) {
    return pool ? pool->max_threads : 0;
}

void cpu_threadpool_run(struct cpu_threadpool * pool, cpu_task_fn fn, void * arg, int nth) {
    if (nth > pool->max_threads) {
        nth = pool->max_threads;
    }
    if (nth <= 1) {
        int saved = pool->nth;
        pool->nth = 1;
        fn(arg, 0, 1);
        pool->nth = saved;
        return;
    }
    pthread_mutex_lock(&pool->mutex);
    pool->fn  = fn;
    pool->arg = arg;
    pool->nth = nth;
    atomic_store(&pool->n_done, 0);
    atomic_store(&pool->barrier_count, 0);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->mutex);

    fn(arg, 0, nth);

    int spins = 0;
    while (atomic_load_explicit(&pool->n_done, memory_order_acquire) < pool->max_threads - 1) {
        cpu_spin_wait(&spins);
    }
}

void cpu_threadpool_barrier(struct cpu_threadpool * pool) {
    int nth = pool->nth;
    if (nth <= 1) {
        return;
    }
    int gen = atomic_load_explicit(&pool->barrier_generation, memory_order_acquire);
    if (atomic_fetch_add_explicit(&pool->barrier_count, 1, memory_order_acq_rel) == nth - 1) {
        atomic_store_explicit(&pool->barrier_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&pool->barrier_generation, 1, memory_order_release);
        return;
    }
    int spins = 0;
    while (atomic_load_explicit(&pool->barrier_generation, memory_order_acquire) == gen) {
        cpu_spin_wait(&spins);
    }
}
