#pragma once

// A pool of worker threads that lives as long as its CPU backend. A run hands one function to
// n threads (the caller is thread 0); inside it the threads meet at barriers between dependent
// pieces of work. Internal to the CPU backend.

#include <stdbool.h>

struct cpu_threadpool;

// Called once on each of nth threads with ith in [0, nth).
typedef void (*cpu_task_fn)(void * arg, int ith, int nth);

// A pool able to run up to max_threads threads (the caller counts as one). NULL (and a log
// line) if a thread cannot be started.
struct cpu_threadpool * cpu_threadpool_new(int max_threads);
void                    cpu_threadpool_free(struct cpu_threadpool * pool); // NULL: no-op
int                     cpu_threadpool_max_threads(const struct cpu_threadpool * pool);

// Runs fn on nth threads (1 <= nth <= max_threads) and returns when every one has returned.
void cpu_threadpool_run(struct cpu_threadpool * pool, cpu_task_fn fn, void * arg, int nth);

// Waits until all nth threads of the current run have arrived. Every thread of the run must call
// it the same number of times.
void cpu_threadpool_barrier(struct cpu_threadpool * pool);
