// test-cpu-threadpool.c — the CPU backend's thread pool on its own: every thread of a run is
// called once with its index, barriers order the phases of a run (no thread sees a phase before
// all have finished the previous one), and a pool serves many runs of varying width.

#include <stdatomic.h>
#include <stdint.h>

#include "check.h"
#include "cpu/threadpool.h"

#define PHASES 200

struct phase_run {
    struct cpu_threadpool * pool;
    atomic_int arrived[PHASES];
    atomic_int calls[8];
    atomic_int violations;
};

// In phase p every thread counts itself in, waits at the barrier, and then must see all nth
// threads counted: a barrier that let one through early would show fewer.
static void phase_task(void * arg, int ith, int nth) {
    struct phase_run * r = arg;
    atomic_fetch_add(&r->calls[ith], 1);
    for (int p = 0; p < PHASES; p++) {
        atomic_fetch_add(&r->arrived[p], 1);
        cpu_threadpool_barrier(r->pool);
        if (atomic_load(&r->arrived[p]) != nth) {
            atomic_fetch_add(&r->violations, 1);
        }
    }
}

int main(void) {
    struct cpu_threadpool * pool = cpu_threadpool_new(4);
    CHECK(pool != NULL);
    if (pool == NULL) {
        return check_report("test-cpu-threadpool");
    }
    CHECK_EQ_INT(cpu_threadpool_max_threads(pool), 4);
    const int widths[] = { 1, 2, 3, 4, 2, 1, 4, 3 };
    for (int rep = 0; rep < 5; rep++) {
        for (size_t w = 0; w < sizeof(widths) / sizeof(widths[0]); w++) {
            const int nth = widths[w];
            static struct phase_run r;
            r.pool = pool;
            for (int p = 0; p < PHASES; p++) atomic_store(&r.arrived[p], 0);
            for (int i = 0; i < 8; i++) atomic_store(&r.calls[i], 0);
            atomic_store(&r.violations, 0);
            cpu_threadpool_run(pool, phase_task, &r, nth);
            bool each_once = true;
            for (int i = 0; i < 8; i++) {
                each_once = each_once && atomic_load(&r.calls[i]) == (i < nth ? 1 : 0);
            }
            CHECK(each_once);
            CHECK_EQ_INT(atomic_load(&r.violations), 0);
            CHECK_EQ_INT(atomic_load(&r.arrived[PHASES - 1]), nth);
        }
    }
    // more threads than the pool has: clamped to its size
    static struct phase_run r;
    r.pool = pool;
    for (int p = 0; p < PHASES; p++) atomic_store(&r.arrived[p], 0);
    for (int i = 0; i < 8; i++) atomic_store(&r.calls[i], 0);
    atomic_store(&r.violations, 0);
    cpu_threadpool_run(pool, phase_task, &r, 7);
    CHECK_EQ_INT(atomic_load(&r.arrived[0]), 4);
    CHECK_EQ_INT(atomic_load(&r.violations), 0);
    cpu_threadpool_free(pool);
    cpu_threadpool_free(NULL);
    return check_report("test-cpu-threadpool");
}
