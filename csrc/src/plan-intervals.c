// The planner on bare lifetimes, for programs whose buffers come from elsewhere than a ggml
// graph: checks the arrays, logs what is wrong with which block, and hands the blocks to the
// pure planner (GGA_STRATEGY_BEST, one unbounded chunk, a search budget of its own). Costs what
// the planner costs plus one O(n) pass of checks.

#include "align.h"
#include "ggalloc-planner.h"
#include "log.h"
#include "planner.h"

#include <stdint.h>
#include <stdlib.h>

// Bare lifetimes come from users who plan once and keep the plan, so the search gets a real
// budget by default: a second of wall-clock time when the plan is above the lower bound (a
// search that meets the bound stops at once). ggalloc_plan_intervals, and _ex with a time budget
// of 0, keep the fixed work budget it always had, so their plans stay the same on every run.
#define GGALLOC_INTERVALS_SEARCH_WORK ((int64_t) 600000000)
#define GGALLOC_INTERVALS_TIME_BUDGET 1.0

static bool ggalloc_intervals_check(const char * func, int n, const size_t * sizes, const int64_t * starts,
        const int64_t * ends, size_t alignment) {
    if (n < 0) {
        GGML_LOG_ERROR("%s: n = %d is negative\n", func, n);
        return false;
    }
    if (n > 0 && (sizes == NULL || starts == NULL || ends == NULL)) {
        GGML_LOG_ERROR("%s: %s is NULL (n = %d)\n", func, sizes == NULL ? "sizes" : starts == NULL ? "starts" : "ends", n);
        return false;
    }
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
        GGML_LOG_ERROR("%s: alignment %zu is not a power of two\n", func, alignment);
        return false;
    }
    // aligned sizes must add up without overflow, with room for the planner's offsets
    const size_t limit = SIZE_MAX / 2;
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (ends[i] <= starts[i]) {
            GGML_LOG_ERROR("%s: block %d: end %lld <= start %lld\n", func, i, (long long) ends[i], (long long) starts[i]);
            return false;
        }
        if (sizes[i] > limit - alignment) {
            GGML_LOG_ERROR("%s: block %d: size %zu is too large\n", func, i, sizes[i]);
            return false;
        }
        const size_t a = gga_align_up(sizes[i], alignment);
        if (a > limit - total) {
            GGML_LOG_ERROR("%s: block %d: the sum of the sizes overflows (%zu + %zu)\n", func, i, total, a);
            return false;
        }
        total += a;
    }
    return true;
}

static struct gga_block * ggalloc_intervals_blocks(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends) {
    struct gga_block * blocks = malloc((size_t) (n > 0 ? n : 1) * sizeof(*blocks));
    if (blocks == NULL) {
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        blocks[i] = (struct gga_block) { sizes[i], starts[i], ends[i], -1 };
    }
    return blocks;
}

struct ggalloc_plan_options ggalloc_plan_options_default(void) {
    struct ggalloc_plan_options o = {
        /*.planner     =*/ GGALLOC_PLANNER_BEST,
        /*.time_budget =*/ GGALLOC_INTERVALS_TIME_BUDGET,
        /*.seed        =*/ 0,
        /*.cancel      =*/ NULL,
    };
    return o;
}

static bool ggalloc_intervals_plan(const char * func, int n, const size_t * sizes, const int64_t * starts,
        const int64_t * ends, size_t alignment, const struct gga_plan_params * params, size_t * offsets, size_t * peak,
        size_t * bound) {
    if (!ggalloc_intervals_check(func, n, sizes, starts, ends, alignment)) {
        return false;
    }
    if ((n > 0 && offsets == NULL) || peak == NULL) {
        GGML_LOG_ERROR("%s: %s is NULL\n", func, peak == NULL ? "peak" : "offsets");
        return false;
    }
    struct gga_block * blocks = ggalloc_intervals_blocks(n, sizes, starts, ends);
    if (blocks == NULL) {
        GGML_LOG_ERROR("%s: out of memory for %d blocks\n", func, n);
        return false;
    }
    struct gga_plan plan = { 0 };
    char err[256];
    const bool ok = gga_plan_blocks(blocks, n, params, &plan, err, sizeof(err));
    if (ok) {
        for (int i = 0; i < n; i++) {
            offsets[i] = plan.offset[i];
        }
        *peak = plan.peak;
        if (bound != NULL) {
            // ggml's planner computes no bound: the most bytes live at a step
            *bound = plan.bound > 0 || n == 0 ? plan.bound : gga_lower_bound(blocks, n, alignment);
        }
    } else {
        GGML_LOG_ERROR("%s: %s\n", func, err);
    }
    gga_plan_release(&plan);
    free(blocks);
    return ok;
}

bool ggalloc_plan_intervals(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, size_t * offsets, size_t * peak) {
    const struct gga_plan_params params = {
        .alignment   = alignment,
        .max_size    = SIZE_MAX,
        .max_chunks  = 1,
        .strategy    = GGA_STRATEGY_BEST,
        .search_work = GGALLOC_INTERVALS_SEARCH_WORK,
    };
    return ggalloc_intervals_plan(__func__, n, sizes, starts, ends, alignment, &params, offsets, peak, NULL);
}

static bool ggalloc_intervals_plan_opt(const char * func, int n, const size_t * sizes, const int64_t * starts,
        const int64_t * ends, size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets,
        size_t * peak, size_t * bound) {
    const struct ggalloc_plan_options o = options != NULL ? *options : ggalloc_plan_options_default();
    if (o.planner != GGALLOC_PLANNER_BEST && o.planner != GGALLOC_PLANNER_GGML) {
        GGML_LOG_ERROR("%s: unknown planner %d (GGALLOC_PLANNER_BEST or GGALLOC_PLANNER_GGML)\n", func, (int) o.planner);
        return false;
    }
    if (!gga_time_budget_valid(o.time_budget)) {
        GGML_LOG_ERROR("%s: time_budget %g is not a number of seconds from 0 to %g\n", func, o.time_budget,
                GGA_MAX_TIME_BUDGET);
        return false;
    }
    const struct gga_plan_params params = {
        .alignment   = alignment,
        .max_size    = SIZE_MAX,
        .max_chunks  = 1,
        .strategy    = o.planner == GGALLOC_PLANNER_GGML ? GGA_STRATEGY_ONLINE : GGA_STRATEGY_BEST,
        .search_work = GGALLOC_INTERVALS_SEARCH_WORK, // the bound when time_budget is 0
        .time_budget = o.time_budget,
        .seed        = o.seed,
        .cancel      = o.cancel,
        // a user who gives the planner time gets offline packing of large dense instances too:
        // up to 128M conflicts (256 MiB of lists, linear in the number of blocks at a given
        // density) instead of the 4M kept for graphs
        .max_conflicts = o.time_budget > 0 ? (int64_t) 1 << 27 : 0,
    };
    return ggalloc_intervals_plan(func, n, sizes, starts, ends, alignment, &params, offsets, peak, bound);
}

bool ggalloc_plan_intervals_ex(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets, size_t * peak) {
    return ggalloc_intervals_plan_opt(__func__, n, sizes, starts, ends, alignment, options, offsets, peak, NULL);
}

bool ggalloc_plan_intervals_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets, size_t * peak, size_t * bound) {
    if (bound == NULL) {
        GGML_LOG_ERROR("%s: bound is NULL\n", __func__);
        return false;
    }
    return ggalloc_intervals_plan_opt(__func__, n, sizes, starts, ends, alignment, options, offsets, peak, bound);
}

size_t ggalloc_intervals_lower_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment) {
    if (!ggalloc_intervals_check(__func__, n, sizes, starts, ends, alignment)) {
        return 0;
    }
    struct gga_block * blocks = ggalloc_intervals_blocks(n, sizes, starts, ends);
    if (blocks == NULL) {
        GGML_LOG_ERROR("%s: out of memory for %d blocks\n", __func__, n);
        return 0;
    }
    const size_t lb = gga_lower_bound(blocks, n, alignment);
    free(blocks);
    return lb;
}
