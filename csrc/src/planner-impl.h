#pragma once

// Shared between planner.c (validation, lower bound, ggml's online policy, the choice of the
// best plan) and planner-search.c (offline packing: greedy orders and the bounded search).
// Internal to the planner; includes nothing but planner.h.

#include "planner.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

// The passes of a stable least-significant-digit radix sort on one int64_t field (at byte offset
// off of T) of the n elements at *src, into *dst, swapping the two after each pass, only over the
// bits that differ between the elements (sizes and offsets that are multiples of the alignment
// share their low bits; small figures share the high ones). A few linear passes with no branch on
// the data, where a comparison sort's n log n comparisons mispredict half the time. A pass takes
// 8 bits, or 4 below GGA_RADIX_NIBBLE_MAX elements, where clearing and summing 256 counters
// would cost more than the passes they save (a graph's 100 items' sizes, ten bits apart: three
// passes over 16 counters instead of two over 256). Callers sort by several fields by calling
// it for the least significant one first.
#define GGA_RADIX_NIBBLE_MAX 512
#define GGA_RADIX_FIELD_DEFINE(name, T)                                                   \
static inline uint64_t name##_key(const T * e, size_t off) {                              \
    int64_t v;                                                                            \
    memcpy(&v, (const char *) e + off, sizeof(v));                                        \
    return (uint64_t) v ^ ((uint64_t) 1 << 63); /* signed order as unsigned */            \
}                                                                                         \
static inline void name(T ** src, T ** dst, int n, size_t off) {                          \
    if (n <= 1) return;                                                                   \
    const uint64_t first = name##_key(&(*src)[0], off);                                   \
    uint64_t differ = 0;                                                                  \
    for (int i = 1; i < n; i++) differ |= name##_key(&(*src)[i], off) ^ first;           \
    int low = 0;                                                                          \
    while (low < 64 && ((differ >> low) & 1) == 0) low++;                                 \
    const int bits = n < GGA_RADIX_NIBBLE_MAX ? 4 : 8;                                    \
    const uint64_t mask = ((uint64_t) 1 << bits) - 1;                                     \
    for (int shift = low; shift < 64; shift += bits) {                                    \
        if (((differ >> shift) & mask) == 0) continue;                                    \
        const T * from = *src;                                                            \
        T * to = *dst;                                                                    \
        /* four histograms, and the scatter two elements at a time: a counter bumped for   \
           equal digits in a row (sizes of a few values) waits on its own store otherwise */ \
        int hist[4][257];                                                                 \
        for (int h = 0; h < 4; h++) memset(hist[h], 0, (mask + 2) * sizeof(int));        \
        int i = 0;                                                                        \
        for (; i + 4 <= n; i += 4) {                                                      \
            for (int h = 0; h < 4; h++) hist[h][((name##_key(&from[i + h], off) >> shift) & mask) + 1]++; \
        }                                                                                 \
        for (; i < n; i++) hist[0][((name##_key(&from[i], off) >> shift) & mask) + 1]++; \
        int * count = hist[0];                                                            \
        for (uint64_t d = 1; d <= mask; d++) count[d] += hist[1][d] + hist[2][d] + hist[3][d]; \
        for (uint64_t d = 0; d < mask; d++) count[d + 1] += count[d];                     \
        for (i = 0; i + 2 <= n; i += 2) {                                                 \
            const uint64_t d1 = (name##_key(&from[i], off) >> shift) & mask;              \
            const uint64_t d2 = (name##_key(&from[i + 1], off) >> shift) & mask;          \
            const int p1 = count[d1];                                                     \
            const int p2 = count[d2] + (d1 == d2);                                        \
            count[d1] = p1 + 1;                                                           \
            count[d2] = p2 + 1;                                                           \
            to[p1] = from[i];                                                             \
            to[p2] = from[i + 1];                                                         \
        }                                                                                 \
        if (i < n) to[count[(name##_key(&from[i], off) >> shift) & mask]] = from[i];      \
        *dst = *src;                                                                      \
        *src = to;                                                                        \
    }                                                                                     \
}

// Below this many elements a comparison sort is cheaper than the radix passes' counters.
#define GGA_RADIX_MIN 64

// One figure and the index: what a stable sort by a single figure moves.
struct gga_akey {
    int64_t a;
    int     idx;
};

// Up to this many distinct figures, gga_akey_sort_stable counts them rather than sorting by radix.
#define GGA_FEW_FIGURES 16

// Sorts the n keys at keys by a, stably (equal figures keep their order), with tmp (n more) as
// scratch; returns where the sorted keys are (keys or tmp). (planner-search.c)
struct gga_akey * gga_akey_sort_stable(struct gga_akey * keys, struct gga_akey * tmp, int n);

// Sizes and capacities at or above this are "no limit": half of SIZE_MAX, so that sums of two
// of them still fit.
#define GGA_UNBOUNDED (SIZE_MAX / 2)

// An in-place introsort specialised per element type: quicksort with a median-of-three pivot
// and Hoare partitioning, insertion sort below 16 elements, heapsort when the recursion passes
// twice the log of the size. O(n log n) worst case; several times faster than qsort here since
// the comparison inlines and nothing is allocated. LESS(a, b) takes two pointers.
#define GGA_SORT_DEFINE(name, T, LESS)                                                    \
static void name##_sift(T * a, ptrdiff_t n, ptrdiff_t i) {                                \
    for (;;) {                                                                            \
        ptrdiff_t c = 2 * i + 1;                                                          \
        if (c >= n) break;                                                                \
        if (c + 1 < n && LESS(&a[c], &a[c + 1])) c++;                                     \
        if (!LESS(&a[i], &a[c])) break;                                                   \
        T t_ = a[i]; a[i] = a[c]; a[c] = t_;                                              \
        i = c;                                                                            \
    }                                                                                     \
}                                                                                         \
static void name##_part(T * a, ptrdiff_t n, int depth) {                                  \
    while (n > 16) {                                                                      \
        if (depth-- == 0) {                                                               \
            for (ptrdiff_t i = n / 2; i-- > 0;) name##_sift(a, n, i);                     \
            for (ptrdiff_t k = n - 1; k > 0; k--) {                                       \
                T t_ = a[0]; a[0] = a[k]; a[k] = t_;                                      \
                name##_sift(a, k, 0);                                                     \
            }                                                                             \
            return;                                                                       \
        }                                                                                 \
        const ptrdiff_t m = n / 2;                                                        \
        T t_;                                                                             \
        if (LESS(&a[m], &a[0]))     { t_ = a[m]; a[m] = a[0]; a[0] = t_; }                \
        if (LESS(&a[n - 1], &a[0])) { t_ = a[n - 1]; a[n - 1] = a[0]; a[0] = t_; }        \
        if (LESS(&a[n - 1], &a[m])) { t_ = a[n - 1]; a[n - 1] = a[m]; a[m] = t_; }        \
        const T p_ = a[m];                                                                \
        ptrdiff_t i = -1, j = n;                                                          \
        for (;;) {                                                                        \
            do { i++; } while (LESS(&a[i], &p_));                                         \
            do { j--; } while (LESS(&p_, &a[j]));                                         \
            if (i >= j) break;                                                            \
            t_ = a[i]; a[i] = a[j]; a[j] = t_;                                            \
        }                                                                                 \
        /* [0, j] and [j + 1, n): recurse into the smaller, loop on the larger */         \
        if (j + 1 < n - j - 1) {                                                          \
            name##_part(a, j + 1, depth);                                                 \
            a += j + 1;                                                                   \
            n -= j + 1;                                                                   \
        } else {                                                                          \
            name##_part(a + j + 1, n - j - 1, depth);                                     \
            n = j + 1;                                                                    \
        }                                                                                 \
    }                                                                                     \
    for (ptrdiff_t i = 1; i < n; i++) {                                                   \
        T x_ = a[i];                                                                      \
        ptrdiff_t j = i;                                                                  \
        while (j > 0 && LESS(&x_, &a[j - 1])) { a[j] = a[j - 1]; j--; }                   \
        a[j] = x_;                                                                        \
    }                                                                                     \
}                                                                                         \
static void name(T * a, ptrdiff_t n) {                                                    \
    int depth = 0;                                                                        \
    for (ptrdiff_t k = n; k > 1; k >>= 1) depth += 2;                                     \
    name##_part(a, n, depth);                                                             \
}

// A piece is a stretch of time over which an item holds a number of bytes: a block with its size
// rounded up and its lifetime in compressed steps, or several blocks of one chain that follow
// each other with one size (an op in place over a tensor of its own size, as most are), merged:
// they forbid a neighbour the same offsets, and a planner meets the neighbour once, not once per
// block. An item is what gets one offset: a lone block, or a whole group (its pieces share the
// offset, and their sizes never grow along the chain, so the item's size is its first piece's).
struct gga_piece {
    size_t size;    // aligned
    int    t0, t1;  // compressed half-open lifetime
    int    item;
};

struct gga_items {
    int                n_pieces;
    struct gga_piece * pieces;     // grouped by item: item i owns pieces [first[i], first[i+1])
    int                n_items;
    int              * first;      // n_items + 1
    size_t           * size;       // per item: its largest piece
    int                n_times;    // number of compressed steps
    int64_t          * time_at;    // n_times: the caller's step value of each compressed step
    int              * item_of;    // per block: its item
};

// Offsets an item must avoid, given by a placed neighbour: the item may sit at or below lo or at
// or above hi (lo = the neighbour's offset - the item's size, hi = its top). Never empty: both
// sizes are above 0, so hi > lo.
struct gga_range {
    int64_t lo;
    int64_t hi;
};

// Sorts n ranges by lo (ties: hi).
void gga_ranges_sort(struct gga_range * r, int n);
// The lowest offset >= x inside none of the n ranges (reordered in place): a few passes over them,
// O(n) each, then a sort, O(n log n), when they have not settled it.
int64_t gga_ranges_lowest(struct gga_range * r, int n, int64_t x);

// Seconds on the monotonic clock: what the time budgets are measured against.
double gga_now(void);

// Offline placement of the items. Writes item offsets and chunks, the chunk sizes, *bound (a
// lower bound on any plan's peak: lower_bound, or more where the exact search proved that nothing
// smaller fits) and returns true; false when the instance is too large for offline packing (the
// caller keeps the online plan) or out of memory. The budget of the search comes from params
// (search_work, time_budget, seed, cancel).
bool gga_search_plan(const struct gga_items * items, const struct gga_plan_params * params, size_t lower_bound,
        size_t * item_offset, int * item_chunk, size_t * chunk_size, int * n_chunks, size_t * bound);

// Whether the caller gave BEST a budget of its own (bare lifetimes). Without one (gallocr's
// reserve, called whenever the graph changes) BEST makes its first greedy pass alone and
// searches nothing.
static inline bool gga_params_budgeted(const struct gga_plan_params * params) {
    return params->search_work > 0 || params->time_budget > 0;
}

// Up to this many blocks, gga_small_plan applies.
#define GGA_SMALL_MAX_BLOCKS 256

// The offline packer's first greedy pass and the lower bound for an instance of at most
// GGA_SMALL_MAX_BLOCKS blocks (asize and pred as gga_validate writes them), in one space (with
// no allocation up to 64 blocks): the very plan gga_search_plan's first pass makes, and the bound
// it is given. Writes each block's offset, *peak and *lower_bound and returns true; false (the
// offsets then hold nothing of use) when n is above the limit (gga_small_plan_limit), the span of
// steps of more than 64 blocks is wider than the path takes, or out of memory: the caller then
// plans on the general path.
bool gga_small_plan(const struct gga_block * blocks, int n, const size_t * asize, const int * pred, size_t * offset,
        size_t * peak, size_t * lower_bound);
// Tests: instances of more than n blocks (0: all) take the general path; clamped to
// [0, GGA_SMALL_MAX_BLOCKS].
void gga_small_plan_limit(int n);

// Local improvement of a valid one-chunk plan (planner-improve.c): re-places the items of time
// windows around the peak, keeping only changes that never raise it, until the peak meets bound, the
// deadline (gga_now() seconds; 0: a few rounds at most) passes or *cancel is set. item_offset is
// a valid plan on entry and a valid plan no higher on return, after every step; returns its peak.
// Out of memory leaves the plan as it is.
size_t gga_improve(const struct gga_items * items, size_t bound, size_t * item_offset, double deadline,
        const volatile int * cancel, uint64_t seed);

// A plan by decomposition (planner-improve.c): time split where few bytes cross, each piece's
// items placed in several orders against the items carried over from the pieces before, the best
// kept. Writes every item's offset and returns the peak; SIZE_MAX (item_offset then undefined)
// when the deadline passes, *cancel is set or memory runs out.
size_t gga_decompose(const struct gga_items * items, size_t bound, size_t * item_offset, double deadline,
        const volatile int * cancel, uint64_t seed);

// What bounds the exact search (planner-exact.c).
struct gga_exact_limits {
    int64_t  work;      // work units at most (about a nanosecond each)
    double   deadline;  // gga_now() seconds; 0: none
    uint64_t seed;      // breaks ties in the branching orders (0: by index)
    const volatile int * cancel;
    int64_t  max_adj;   // more overlapping pairs (x2) than this: no search (memory: 16 bytes each)
    int64_t  first_try; // where the schedule of tries starts: a later call resumes an earlier one
};

// Exact search for a plan of one chunk with a peak of *proven bytes (a lower bound: no plan is
// smaller), raising *proven each time it proves that no plan fits within it, until it finds one
// or the limits end it. best is the peak of the plan in item_offset; returns the best peak known
// (item_offset rewritten when smaller). *work_used: the work units spent; *next_try: the try
// to resume from (lim->first_try of the next call).
size_t gga_exact_search(const struct gga_items * items, size_t alignment, size_t best, const struct gga_exact_limits * lim,
        size_t * item_offset, size_t * proven, int64_t * work_used, int64_t * next_try);
