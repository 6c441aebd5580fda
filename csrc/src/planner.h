#pragma once

// The pure memory planner: bare lifetimes in, offsets out. It includes no tensor or backend
// header, so it can be tested and benchmarked on traces alone. gallocr (alloc.c) turns a graph
// into these lifetimes and places the result in buffers.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GGALLOC_MAX_CHUNKS 16

// One block: size bytes live over the half-open step range [start, end).
// Blocks with the same group (>= 0) must share one offset, in one chunk: an in-place chain, where
// a node takes over its parent's memory. The members of a group have disjoint lifetimes, each
// member's start equal to the previous member's end (in index order), and sizes that do not grow
// along the chain. group = -1: the block stands alone.
struct gga_block {
    size_t  size;
    int64_t start;
    int64_t end;
    int32_t group;
};

enum gga_strategy {
    GGA_STRATEGY_ONLINE,  // ggml's online best fit: blocks placed in index order as their start comes
    GGA_STRATEGY_BEST,    // the smallest of several offline strategies, then a bounded search
};

// The longest time budget a caller may give (seconds; a longer one is refused as a mistake).
#define GGA_MAX_TIME_BUDGET 1e9

// Whether seconds is a time budget a caller may give: 0 to GGA_MAX_TIME_BUDGET (NaN is not).
static inline bool gga_time_budget_valid(double seconds) {
    return seconds >= 0 && seconds <= GGA_MAX_TIME_BUDGET;
}

struct gga_plan_params {
    size_t alignment;   // power of two; every size is rounded up to it
    size_t max_size;    // chunk limit (SIZE_MAX: one chunk); a block larger than it gets a chunk of its own
    int    max_chunks;  // at most GGALLOC_MAX_CHUNKS; the last chunk is unbounded
    enum gga_strategy strategy;
    int64_t search_work; // BEST: work units (about a nanosecond each) the search may spend; 0 with
                         // no time budget (gallocr): the first greedy order alone, no search
    double  time_budget; // BEST: > 0: the search runs until the plan meets the lower bound or
                         // this many seconds have passed (search_work is then not a limit);
                         // 0: search_work alone bounds it, and plans are deterministic
    uint64_t seed;       // BEST: perturbs the search's branching orders (0: a fixed default)
    const volatile int * cancel; // NULL, or a flag another thread may set: the search stops at
                                 // its next check (about every 0.1 ms) and keeps the best plan found
    bool    budget_after_first; // BEST with a time budget: the clock starts once the first greedy
                                // pass is done (which then always completes), so that the plan is
                                // never larger than without a budget (gallocr)
    int64_t max_conflicts; // BEST: above this many conflicting pairs (x2) the greedy passes and
                           // searches are skipped (memory: 2 bytes per unit) for a plan by
                           // decomposition (with a time budget and one chunk) or the online
                           // plan; 0: 4M
};

struct gga_plan {
    int      n;
    int    * chunk;                          // per block
    size_t * offset;                         // per block, from the start of its chunk
    int      n_chunks;
    size_t   chunk_size[GGALLOC_MAX_CHUNKS]; // high-water mark of each chunk
    size_t   peak;                           // sum of chunk_size
    size_t   bound;                          // BEST: no plan of these blocks is smaller (the most
                                             // bytes live at a step, or more where the exact
                                             // search proved it; peak == bound: optimal); else 0
};

// Plans blocks[0..n). Returns false (plan untouched, a message in err) on bad input or out of
// memory. On success plan->chunk and plan->offset are malloc'ed arrays of n entries that
// gga_plan_release frees.
bool gga_plan_blocks(const struct gga_block * blocks, int n, const struct gga_plan_params * params,
        struct gga_plan * plan, char * err, size_t err_size);
void gga_plan_release(struct gga_plan * plan);

// The last plan made through a memo, which owns it: the same blocks with the same params get it
// again for the cost of one comparison, O(n) (gallocr re-reserves the same graph at every step,
// where ggml plans again each time), and a new plan goes into the memory of the last one when it
// fits. Zero-initialise; release with gga_plan_memo_release. A plan made under a time budget is
// reused too (the same graph keeps its buffers, where planning it again would spend the budget
// again for a plan little smaller if at all); one made with a cancel flag, which may have been
// cut short, is held but not reused.
struct gga_plan_memo {
    bool                   valid;  // plan may be returned again for the same blocks and params
    int                    n;
    size_t                 cap;    // blocks, offsets and chunks there is room for
    struct gga_block     * blocks; // one allocation with the plan's offsets and chunks
    struct gga_plan_params params;
    struct gga_plan        plan;
};
void gga_plan_memo_release(struct gga_plan_memo * memo);

// gga_plan_blocks through memo: the remembered plan when blocks and params are the ones it was
// made for, else a new plan, remembered. Returns the plan, owned by memo and valid until the
// next call or gga_plan_memo_release (never pass it to gga_plan_release); NULL (with a message
// in err, and no plan held) on bad input or out of memory. free_order (NULL: none) is the order
// a graph walk frees the blocks in, which the online strategy then follows instead of sorting
// the blocks by end: n_free blocks, each at most once, by nondecreasing end, none that hands its
// memory to a group member, with the blocks themselves in order of start. (Frees at one step
// leave ggml's free lists the same in any order: a walk's order and the sorted one give the same
// plan.)
const struct gga_plan * gga_plan_blocks_memo(struct gga_plan_memo * memo, const struct gga_block * blocks, int n,
        const int * free_order, int n_free, const struct gga_plan_params * params, char * err, size_t err_size);

// The most bytes (each size rounded up to alignment) live at any step: no plan can be smaller.
// Members of a group count once over their combined lifetime at each member's size.
size_t gga_lower_bound(const struct gga_block * blocks, int n, size_t alignment);
// The same into *out; false (and *out = 0) on out of memory or an invalid instance, so that a
// failure is told apart from a bound of 0.
bool gga_lower_bound_checked(const struct gga_block * blocks, int n, size_t alignment, size_t * out);

#ifdef __cplusplus
}
#endif
