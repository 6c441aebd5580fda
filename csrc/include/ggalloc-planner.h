#pragma once

//
// ggalloc-planner.h — the planners, and the planner on bare lifetimes with its options: which
// planner, how long the search may run, its seed, and a flag to cancel it from another thread.
//
// Example:
//
//   struct ggalloc_plan_options opt = ggalloc_plan_options_default();   // BEST, about 1 s
//   opt.time_budget = 0.25;                                            // seconds at most
//   size_t offsets[3], peak;
//   const size_t  sizes[]  = { 64, 64, 32 };
//   const int64_t starts[] = { 0, 1, 0 };
//   const int64_t ends[]   = { 1, 2, 2 };
//   if (ggalloc_plan_intervals_ex(3, sizes, starts, ends, 32, &opt, offsets, &peak)) {
//       // peak == 96: blocks 0 and 1 share bytes, block 2 sits beside them
//   }
//

#include "ggml.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ggalloc_planner {
    GGALLOC_PLANNER_GGML, // ggml's online best-fit placement: the same buffer sizes as ggml
    GGALLOC_PLANNER_BEST, // offline, never larger than GGML; the default. In gallocr one greedy
                          // pass (and ggml's plan when that is above the bound); on bare
                          // lifetimes several orders and a bounded search
};

// The planner on bare lifetimes: n blocks, block i of sizes[i] bytes live over the half-open
// step range [starts[i], ends[i]). Writes offsets[i] (multiples of alignment, a power of two)
// and *peak, the bytes the plan needs. Blocks whose lifetimes overlap never share bytes.
// Returns false (and logs which block is wrong) for NULL arrays, n < 0, ends[i] <= starts[i],
// an alignment that is not a power of two, or sizes whose sum overflows. Steps may be any
// int64_t values. The search gets a fixed amount of work (the same plan on every run); see
// ggalloc_plan_intervals_ex below for a time budget and the other planner.
GGML_API bool ggalloc_plan_intervals(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, size_t * offsets, size_t * peak);
// Its lower bound: the most bytes (each size rounded up to alignment) live at any step.
// 0 (and a log line) on the bad input listed above.
GGML_API size_t ggalloc_intervals_lower_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment);

struct ggalloc_plan_options {
    enum ggalloc_planner planner; // GGALLOC_PLANNER_BEST (offline, searched) or _GGML (ggml's online best fit)
    double time_budget;           // BEST: seconds the whole plan may take while it is above the lower
                                  // bound, shared by greedy passes, a bounded search and an exact one
                                  // (above 2048 buffers: local improvement of time windows around
                                  // the peak instead; past 2^26 pairs of buffers live at once, a
                                  // plan by decomposition in time); it stops at once on meeting the bound, or a
                                  // bound the exact search proved; when the budget ends the first
                                  // greedy pass over a huge instance, ggml's online plan is returned,
                                  // and the checks and that plan, O(n log n), may pass a tiny budget;
                                  // 0: a fixed amount of work, as ggalloc_plan_intervals, with the
                                  // same plan on every run and machine (no local improvement)
    uint64_t seed;                // BEST: varies the search's branching orders; plans differ by seed
    const volatile int * cancel;  // NULL, or a flag that, once set nonzero (by another thread or a
                                  // signal handler), ends the search at its next check (well under a
                                  // millisecond); the best plan found so far is returned
};

// The defaults: BEST, a time budget of 1 second, seed 0, no cancel flag.
GGML_API struct ggalloc_plan_options ggalloc_plan_options_default(void);

// ggalloc_plan_intervals with options (NULL: the defaults). Any int64_t steps are accepted,
// INT64_MIN to INT64_MAX. Returns false (and logs which block or option is wrong) on the bad
// input ggalloc_plan_intervals lists, an unknown planner, or a time budget that is negative, not
// a number or above 1e9 seconds; offsets and *peak are then untouched. A cancelled or timed-out
// search still returns true with a valid plan.
GGML_API bool ggalloc_plan_intervals_ex(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets, size_t * peak);

// ggalloc_plan_intervals_ex that also writes *bound: no plan of these blocks needs fewer bytes.
// It is ggalloc_intervals_lower_bound's figure, or more where BEST's exact search proved within
// the budget that nothing smaller fits; *peak == *bound means the plan is optimal (BEST stops
// searching as soon as it is). Fails as ggalloc_plan_intervals_ex does, and when bound is NULL.
GGML_API bool ggalloc_plan_intervals_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets, size_t * peak, size_t * bound);

#ifdef __cplusplus
}
#endif
