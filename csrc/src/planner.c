// The pure memory planner: bare lifetimes in, offsets out.
//
// Input is a list of blocks, each `size` bytes live over the half-open step range [start, end),
// some of them chained into groups that must share one offset (a node computed in place over
// its parent). Output is a chunk and an offset per block such that two blocks live at the same
// step never share a byte, and the sum of the chunks' high-water marks, the peak.
//
// Lower bound. At every step the live blocks need at least the sum of their (aligned) sizes, so
// the most bytes live at any step bounds every plan from below. Steps from a graph are small
// integers (0 .. nodes + 2): then nothing is sorted; a difference array over the steps (+size
// at the start, -size at the end, the ranges being half-open) and its prefix sums give the bytes
// live at every step in O(n + R), R the span of the steps. When the span is much wider than the
// number of blocks (bare traces with large times) the 2n start/end events are sorted instead
// (ends before starts at the same step) and swept: O(n log n).
//
// ONLINE: ggml's dynamic allocator, reproduced exactly (ggml-policy.md), so that a graph walked
// in ggml's order gets ggml's buffer sizes byte for byte. Steps are visited in increasing order;
// at step T every block whose end is T is freed (back into its chunk's free list, coalescing
// with the free neighbours), then every block whose start is T is placed, in index order:
//   - a block whose group predecessor ends at T takes the predecessor's chunk and offset, and
//     the predecessor's bytes beyond the block's own size are freed at once;
//   - otherwise best fit: in each chunk, the smallest free block other than the chunk's last one
//     that is large enough (ties: the later one), the last chunk that has one winning; failing
//     that, the last block of the chunk whose high-water mark it would extend least (or reuse
//     most tightly); failing that, a new chunk whose single free block is max(size, max_size),
//     the last allowed chunk being unbounded. The block takes the front of the free block.
// Free lists are arrays sorted by offset, scanned linearly as ggml does: O(F) per event for F
// free blocks, which stays small on real graphs. The blocks in order of start and in order of
// end (ties: by index) come from counting sorts over the steps, O(n + R), with no comparison;
// a wide span falls back to the introsort, O(n log n). A graph's walk hands over its own order of
// frees (ggml's) and its blocks in order of start: then nothing is sorted (frees at one step
// leave the free lists the same in any order).
//
// BEST: the items (lone blocks, and groups as one item with a staircase of sizes) are packed
// offline by planner-search.c: one greedy order without a budget (gallocr), several and a bounded
// search with one (bare lifetimes). The lower bound comes first; the offline packing follows, and
// when it meets the bound it is optimal and the online pass is skipped (model graphs: one greedy
// pass, no online pass). Otherwise the online plan of the same blocks is made too and the offline
// one kept only when it is smaller, so BEST is never larger than ONLINE. See planner-search.c for
// the algorithms and how their time is bounded. Group chains are validated in one pass in block
// order that keeps the last member seen of each group (the members sorted by the introsort when
// the names are large); the compressed steps of the items are ranks read off the step span in
// O(n + R). Sorts are planner-impl.h's introsort (O(n log n), no allocation). An instance of at
// most GGA_SMALL_MAX_BLOCKS blocks (a graph of up to about 300 nodes) gets the same first pass and
// bound from gga_small_plan, with no steps, items or conflict graph built (and up to 64 blocks,
// no allocation).

#include "align.h"
#include "planner-impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void gga_err(char * err, size_t err_size, const char * fmt, ...) {
    if (err == NULL || err_size == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
}

//
// Sort keys: two figures, then the index
//

struct gga_key {
    int64_t k0;
    int64_t k1;
    int     idx;
};

#define GGA_KEY_LESS(x, y) ((x)->k0 != (y)->k0 ? (x)->k0 < (y)->k0 : \
                            (x)->k1 != (y)->k1 ? (x)->k1 < (y)->k1 : (x)->idx < (y)->idx)
GGA_SORT_DEFINE(gga_key_sort, struct gga_key, GGA_KEY_LESS)

//
// Orders by step. On graphs the steps are small integers (0 .. nodes + 2), so ordering blocks by
// start or end is a counting sort, O(n + R) for R the span of the steps, which is stable and thus
// gives the (step, index) order with no comparison at all. A span much wider than the number of
// blocks (bare traces with large times) falls back to the introsort, O(n log n).
//

struct gga_steps {
    int64_t lo;     // smallest start
    int     range;  // number of step values from lo to the largest end, when small
    bool    small;  // counting sorts apply
    int   * count;  // range + 1 entries of scratch when small
};

static bool gga_steps_init(const struct gga_block * blocks, int n, struct gga_steps * st) {
    memset(st, 0, sizeof(*st));
    if (n == 0) {
        return true;
    }
    int64_t lo = blocks[0].start;
    int64_t hi = blocks[0].end;
    for (int i = 1; i < n; i++) {
        lo = blocks[i].start < lo ? blocks[i].start : lo;
        hi = blocks[i].end > hi ? blocks[i].end : hi;
    }
    // the distance in unsigned arithmetic: steps may span all of int64_t, whose width does not
    // fit in int64_t itself (nor, plus one, in uint64_t)
    const uint64_t dist = (uint64_t) hi - (uint64_t) lo;
    st->lo = lo;
    st->small = dist < (uint64_t) 4 * (uint64_t) n + 64;
    if (st->small) {
        const uint64_t span = dist + 1;
        st->range = (int) span;
        st->count = malloc(((size_t) span + 1) * sizeof(*st->count));
        if (st->count == NULL) {
            return false;
        }
    }
    return true;
}

// The index of step t in a small span (t - lo, computed without signed overflow).
static inline int gga_step_at(const struct gga_steps * st, int64_t t) {
    return (int) ((uint64_t) t - (uint64_t) st->lo);
}

static void gga_steps_release(struct gga_steps * st) {
    free(st->count);
    st->count = NULL;
}

// out = the blocks ordered by (start or end, index). keys: n entries of scratch for wide spans.
static void gga_order_by_step(const struct gga_block * blocks, int n, bool by_end, struct gga_steps * st,
        struct gga_key * keys, int * out) {
    if (st->small) {
        int * count = st->count;
        memset(count, 0, ((size_t) st->range + 1) * sizeof(*count));
        for (int i = 0; i < n; i++) {
            count[gga_step_at(st, by_end ? blocks[i].end : blocks[i].start) + 1]++;
        }
        for (int t = 0; t < st->range; t++) {
            count[t + 1] += count[t];
        }
        for (int i = 0; i < n; i++) {
            out[count[gga_step_at(st, by_end ? blocks[i].end : blocks[i].start)]++] = i;
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        keys[i] = (struct gga_key) { by_end ? blocks[i].end : blocks[i].start, i, i };
    }
    gga_key_sort(keys, n);
    for (int i = 0; i < n; i++) {
        out[i] = keys[i].idx;
    }
}

//
// Validation: sizes, lifetimes, parameters and group chains. Fills the aligned sizes and, per
// block, its group predecessor (-1 for none).
//

// Whether block i cannot follow block p in a chain: it must start where p ends and be no larger.
static inline bool gga_chain_broken(const struct gga_block * blocks, const size_t * asize, int i, int p) {
    return (blocks[i].start != blocks[p].end) | (asize[i] > asize[p]);
}

// The message for a broken link (gga_chain_broken) from p to i.
static void gga_chain_error(const struct gga_block * blocks, const size_t * asize, int i, int p, char * err,
        size_t err_size) {
    if (blocks[i].start != blocks[p].end) {
        gga_err(err, err_size, "block %d: group %d member starts at %lld but its predecessor (block %d) ends at %lld",
                i, (int) blocks[i].group, (long long) blocks[i].start, p, (long long) blocks[p].end);
    } else {
        gga_err(err, err_size, "block %d: group %d member of %zu bytes is larger than its predecessor (block %d, %zu bytes)",
                i, (int) blocks[i].group, asize[i], p, asize[p]);
    }
}

// Block i's step (of group g) in linking the chains in index order: last[slot] holds the last
// member seen of its group (slot: the group's entry, or a spare one for blocks in no group).
// Returns the first block whose link is broken (bad, or i if it is the first), -1 while none is.
// With selects, not branches: which blocks are in a group, and which open one, is a coin toss on
// graphs.
static inline __attribute__((always_inline)) int gga_link(const struct gga_block * blocks, const size_t * asize,
        int i, int g, int slot, int * last, int * pred, int bad) {
    const int p = last[slot];
    last[slot] = i;
    const bool member = (g >= 0) & (p >= 0);
    pred[i] = member ? p : -1;
    return member & gga_chain_broken(blocks, asize, i, member ? p : i) & (bad < 0) ? i : bad;
}

// The chains' verdict after gga_link: true, or false with the first broken link (from block
// pred[bad] to block bad) named.
static bool gga_linked(const struct gga_block * blocks, const size_t * asize, const int * pred, int bad, char * err,
        size_t err_size) {
    if (bad >= 0) {
        gga_chain_error(blocks, asize, bad, pred[bad], err, err_size);
    }
    return bad < 0;
}

// The chains linked in a pass of their own, with a table of max_group + 2 entries (allocated: a
// cold path, kept out of gga_validate's one pass).
static __attribute__((noinline)) bool gga_link_table(const struct gga_block * blocks, int n, const size_t * asize,
        int32_t max_group, int * pred, char * err, size_t err_size) {
    int * last = malloc(((size_t) max_group + 2) * sizeof(*last));
    if (last == NULL) {
        gga_err(err, err_size, "out of memory");
        return false;
    }
    memset(last, 0xff, ((size_t) max_group + 2) * sizeof(*last));
    int bad = -1;
    for (int i = 0; i < n; i++) {
        const int g = blocks[i].group;
        bad = gga_link(blocks, asize, i, g, g >= 0 ? g : max_group + 1, last, pred, bad);
    }
    free(last);
    return gga_linked(blocks, asize, pred, bad, err, err_size);
}

static bool gga_validate(const struct gga_block * blocks, int n, size_t alignment, size_t * asize, int * pred,
        char * err, size_t err_size) {
    // One pass checks the blocks, aligns their sizes and links the chains, with the last member
    // seen of each group in a table on the stack of n + 1 entries, while the group names stay below
    // n (gallocr names a group by its first block), the spare entry for blocks in no group. The
    // first broken link is named. Past the table's size, or for larger names, the chains are
    // linked in a pass of their own (below).
    int last_few[1024];
    const bool one_pass = n < 1024;
    const int spare = one_pass ? n : 0;
    if (one_pass) {
        memset(last_few, 0xff, ((size_t) spare + 1) * sizeof(*last_few));
    }
    size_t total = 0;
    bool few = one_pass;
    int bad = -1;
    for (int i = 0; i < n; i++) {
        const struct gga_block * b = &blocks[i];
        if (b->end <= b->start) {
            gga_err(err, err_size, "block %d: end %lld <= start %lld", i, (long long) b->end, (long long) b->start);
            return false;
        }
        if (b->group < -1) {
            gga_err(err, err_size, "block %d: group %d (must be >= 0, or -1 for none)", i, (int) b->group);
            return false;
        }
        if (b->size > GGA_UNBOUNDED - alignment) {
            gga_err(err, err_size, "block %d: size %zu is too large", i, b->size);
            return false;
        }
        asize[i] = gga_align_up(b->size, alignment);
        if (asize[i] > GGA_UNBOUNDED - total) {
            gga_err(err, err_size, "block %d: the sum of the sizes overflows", i);
            return false;
        }
        total += asize[i];
        if (!one_pass) {
            continue;
        }
        const int g = b->group;
        few &= g < spare;
        bad = gga_link(blocks, asize, i, g, g >= 0 && g < spare ? g : spare, last_few, pred, bad);
    }
    if (few) {
        return gga_linked(blocks, asize, pred, bad, err, err_size);
    }
    // more blocks, or larger names: the same in a pass of its own, with a table of the names'
    // size when they are small enough, else the members sorted by the introsort
    int32_t max_group = 0;
    int n_grouped = 0;
    for (int i = 0; i < n; i++) {
        pred[i] = -1;
        n_grouped += blocks[i].group >= 0;
        max_group = blocks[i].group > max_group ? blocks[i].group : max_group;
    }
    if (n_grouped == 0) {
        return true;
    }
    if ((int64_t) max_group <= 4 * (int64_t) n + 64) {
        return gga_link_table(blocks, n, asize, max_group, pred, err, err_size);
    }
    int * members = malloc((size_t) n_grouped * sizeof(*members));
    struct gga_key * keys = malloc((size_t) n_grouped * sizeof(*keys));
    if (members == NULL || keys == NULL) {
        free(members);
        free(keys);
        gga_err(err, err_size, "out of memory");
        return false;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (blocks[i].group >= 0) {
            keys[k++] = (struct gga_key) { blocks[i].group, i, i };
        }
    }
    gga_key_sort(keys, n_grouped);
    for (int j = 0; j < n_grouped; j++) {
        members[j] = keys[j].idx;
    }
    bool ok = true;
    for (int j = 1; j < n_grouped && ok; j++) {
        const int p = members[j - 1];
        const int i = members[j];
        if (blocks[i].group != blocks[p].group) {
            continue;
        }
        if (gga_chain_broken(blocks, asize, i, p)) {
            gga_chain_error(blocks, asize, i, p, err, err_size);
            ok = false;
        } else {
            pred[i] = p;
        }
    }
    free(members);
    free(keys);
    return ok;
}

static bool gga_validate_params(const struct gga_plan_params * params, char * err, size_t err_size) {
    if (params == NULL) {
        gga_err(err, err_size, "params is NULL");
        return false;
    }
    if (params->alignment == 0 || (params->alignment & (params->alignment - 1)) != 0) {
        gga_err(err, err_size, "alignment %zu is not a power of two", params->alignment);
        return false;
    }
    if (params->alignment > GGA_UNBOUNDED / 4) {
        gga_err(err, err_size, "alignment %zu is too large", params->alignment);
        return false;
    }
    if (params->max_size == 0) {
        gga_err(err, err_size, "max_size is 0");
        return false;
    }
    if (params->max_chunks < 1 || params->max_chunks > GGALLOC_MAX_CHUNKS) {
        gga_err(err, err_size, "max_chunks %d is not in [1, %d]", params->max_chunks, GGALLOC_MAX_CHUNKS);
        return false;
    }
    if (params->search_work < 0) {
        gga_err(err, err_size, "search_work %lld is negative", (long long) params->search_work);
        return false;
    }
    if (!gga_time_budget_valid(params->time_budget)) {
        gga_err(err, err_size, "time_budget %g is not a number of seconds from 0 to %g", params->time_budget,
                GGA_MAX_TIME_BUDGET);
        return false;
    }
    if (params->strategy != GGA_STRATEGY_ONLINE && params->strategy != GGA_STRATEGY_BEST) {
        gga_err(err, err_size, "unknown strategy %d", (int) params->strategy);
        return false;
    }
    return true;
}

//
// Lower bound
//

// live: scratch of st->range + 1 entries (small spans), ev: 2n entries (wide spans)
static size_t gga_lower_bound_sized(const struct gga_block * blocks, const size_t * asize, int n,
        const struct gga_steps * st, size_t * live_at, struct gga_key * ev) {
    size_t live = 0;
    size_t peak = 0;
    if (st->small) {
        // bytes live at step t = starts up to t minus ends up to t (the ranges are half-open):
        // a difference array and its prefix sums (modular arithmetic cancels exactly)
        memset(live_at, 0, ((size_t) st->range + 1) * sizeof(*live_at));
        for (int i = 0; i < n; i++) {
            live_at[gga_step_at(st, blocks[i].start)] += asize[i];
            live_at[gga_step_at(st, blocks[i].end)] -= asize[i];
        }
        for (int t = 0; t < st->range; t++) {
            live += live_at[t];
            peak = live > peak ? live : peak;
        }
        return peak;
    }
    // ends sort before starts at the same step: k1 = 0 for an end, 1 for a start
    for (int i = 0; i < n; i++) {
        ev[2*i + 0] = (struct gga_key) { blocks[i].start, 1, i };
        ev[2*i + 1] = (struct gga_key) { blocks[i].end,   0, i };
    }
    gga_key_sort(ev, 2 * n);
    for (int j = 0; j < 2 * n; j++) {
        if (ev[j].k1 == 1) {
            live += asize[ev[j].idx];
            peak = live > peak ? live : peak;
        } else {
            live -= asize[ev[j].idx];
        }
    }
    return peak;
}

// Scratch for the lower bound: range + 1 sizes or 2n keys, whichever the span calls for.
static void * gga_lower_bound_scratch(const struct gga_steps * st, int n) {
    const size_t a = ((size_t) st->range + 1) * sizeof(size_t);
    const size_t b = (size_t) 2 * (size_t) (n > 0 ? n : 1) * sizeof(struct gga_key);
    return malloc(st->small ? a : b);
}

bool gga_lower_bound_checked(const struct gga_block * blocks, int n, size_t alignment, size_t * out) {
    *out = 0;
    if (n <= 0) {
        return true;
    }
    if (blocks == NULL || alignment == 0 || (alignment & (alignment - 1)) != 0) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (blocks[i].end <= blocks[i].start) {
            return false; // not a valid instance; gga_plan_blocks says why
        }
    }
    struct gga_steps st;
    size_t * asize = malloc((size_t) n * sizeof(*asize));
    bool ok = false;
    if (gga_steps_init(blocks, n, &st) && asize != NULL) {
        void * scratch = gga_lower_bound_scratch(&st, n);
        if (scratch != NULL) {
            for (int i = 0; i < n; i++) {
                asize[i] = blocks[i].size > GGA_UNBOUNDED ? GGA_UNBOUNDED : gga_align_up(blocks[i].size, alignment);
            }
            *out = gga_lower_bound_sized(blocks, asize, n, &st, scratch, scratch);
            ok = true;
        }
        free(scratch);
    }
    gga_steps_release(&st);
    free(asize);
    return ok;
}

size_t gga_lower_bound(const struct gga_block * blocks, int n, size_t alignment) {
    size_t lb = 0;
    return gga_lower_bound_checked(blocks, n, alignment, &lb) ? lb : 0;
}

//
// ONLINE: ggml's dynamic allocator
//

struct gga_free_block {
    size_t offset;
    size_t size;
};

struct gga_chunk {
    struct gga_free_block * blocks;
    int    n_blocks;
    int    cap;
    size_t max_size; // high-water mark
};

struct gga_dyn {
    size_t           max_chunk_size;
    int              max_chunks;
    int              n_chunks;
    size_t           peak; // the chunks' high-water marks, summed
    struct gga_chunk chunks[GGALLOC_MAX_CHUNKS];
};

static void gga_dyn_release(struct gga_dyn * d) {
    for (int c = 0; c < d->n_chunks; c++) {
        free(d->chunks[c].blocks);
    }
}

static bool gga_chunk_insert(struct gga_chunk * ch, int pos, size_t offset, size_t size) {
    if (ch->n_blocks == ch->cap) {
        int cap = ch->cap ? 2 * ch->cap : 8;
        struct gga_free_block * nb = realloc(ch->blocks, (size_t) cap * sizeof(*nb));
        if (nb == NULL) {
            return false;
        }
        ch->blocks = nb;
        ch->cap = cap;
    }
    // a few blocks move: a loop, not a call
    for (int i = ch->n_blocks; i > pos; i--) {
        ch->blocks[i] = ch->blocks[i - 1];
    }
    ch->blocks[pos] = (struct gga_free_block) { offset, size };
    ch->n_blocks++;
    return true;
}

static void gga_chunk_remove(struct gga_chunk * ch, int pos) {
    for (int i = pos; i < ch->n_blocks - 1; i++) {
        ch->blocks[i] = ch->blocks[i + 1];
    }
    ch->n_blocks--;
}

// false: out of memory
static bool gga_dyn_alloc(struct gga_dyn * d, size_t size, int * chunk, size_t * offset) {
    int best_chunk = -1;
    int best_block = -1;
    for (int c = 0; c < d->n_chunks; c++) {
        const struct gga_chunk * ch = &d->chunks[c];
        size_t best_size = SIZE_MAX;
        for (int i = 0; i < ch->n_blocks - 1; i++) {
            if (ch->blocks[i].size >= size && ch->blocks[i].size <= best_size) {
                best_chunk = c;
                best_block = i;
                best_size = ch->blocks[i].size;
            }
        }
    }
    if (best_block == -1) {
        // the last block of a chunk: prefer reusing the high-water mark most tightly, else
        // growing the chunk least
        int64_t best_reuse = INT64_MIN;
        for (int c = 0; c < d->n_chunks; c++) {
            const struct gga_chunk * ch = &d->chunks[c];
            if (ch->n_blocks == 0) {
                continue;
            }
            const struct gga_free_block * blk = &ch->blocks[ch->n_blocks - 1];
            const int64_t reuse = (int64_t) ch->max_size - (int64_t) blk->offset - (int64_t) size;
            const bool better_reuse = best_reuse < 0 && reuse > best_reuse;
            const bool better_fit = reuse >= 0 && reuse < best_reuse;
            if (blk->size >= size && (better_reuse || better_fit)) {
                best_chunk = c;
                best_block = ch->n_blocks - 1;
                best_reuse = reuse;
            }
        }
    }
    if (best_block == -1) {
        if (d->n_chunks >= d->max_chunks) {
            // cannot happen: the last chunk is unbounded; kept as a value, not an abort
            return false;
        }
        struct gga_chunk * ch = &d->chunks[d->n_chunks];
        memset(ch, 0, sizeof(*ch));
        size_t cap = size > d->max_chunk_size ? size : d->max_chunk_size;
        if (d->n_chunks == d->max_chunks - 1) {
            cap = GGA_UNBOUNDED;
        }
        d->n_chunks++;
        if (!gga_chunk_insert(ch, 0, 0, cap)) {
            return false;
        }
        best_chunk = d->n_chunks - 1;
        best_block = 0;
    }
    struct gga_chunk * ch = &d->chunks[best_chunk];
    struct gga_free_block * blk = &ch->blocks[best_block];
    *chunk = best_chunk;
    *offset = blk->offset;
    blk->offset += size;
    blk->size -= size;
    if (blk->size == 0) {
        gga_chunk_remove(ch, best_block);
    }
    if (*offset + size > ch->max_size) {
        d->peak += *offset + size - ch->max_size;
        ch->max_size = *offset + size;
    }
    return true;
}

static bool gga_dyn_free(struct gga_dyn * d, int chunk, size_t offset, size_t size) {
    struct gga_chunk * ch = &d->chunks[chunk];
    for (int i = 0; i < ch->n_blocks; i++) {
        struct gga_free_block * blk = &ch->blocks[i];
        if (blk->offset + blk->size == offset) {
            blk->size += size;
            if (i < ch->n_blocks - 1 && blk->offset + blk->size == ch->blocks[i + 1].offset) {
                blk->size += ch->blocks[i + 1].size;
                gga_chunk_remove(ch, i + 1);
            }
            return true;
        }
        if (offset + size == blk->offset) {
            blk->offset = offset;
            blk->size += size;
            if (i > 0 && ch->blocks[i - 1].offset + ch->blocks[i - 1].size == blk->offset) {
                ch->blocks[i - 1].size += blk->size;
                gga_chunk_remove(ch, i);
            }
            return true;
        }
    }
    int pos = 0;
    while (pos < ch->n_blocks && ch->blocks[pos].offset < offset) {
        pos++;
    }
    return gga_chunk_insert(ch, pos, offset, size);
}

// The events of the online pass, merged: a free at a step comes before an allocation at it. The
// next allocation is block (by_start ? by_start[is] : is), at step start(is); the next free is
// block by_end[ie], at step end(ie): read off t_start and t_end where the orders were sorted (the
// loop then reads no block), or off the blocks where the caller gave its order of frees (the
// blocks then come in order of start). n_free: the frees in by_end (the blocks freed at all).
// (By steps, with a loop for each step's frees and one for its allocations, the loops' exits
// were mispredicted at almost every step.) The peak grows only at an allocation, where it is
// tested. Inlined with `given` a constant.
static inline __attribute__((always_inline)) bool gga_online_events(struct gga_dyn * d, const struct gga_block * blocks,
        int n, const size_t * asize, const int * pred, bool given, const int * by_start, const int64_t * t_start,
        const int * by_end, const int64_t * t_end, int n_free, size_t give_up, bool * gave_up, int * chunk,
        size_t * offset) {
    bool ok = true;
    int is = 0;
    int ie = 0;
    while (ok && is < n) {
        const int64_t next_start = given ? blocks[is].start : t_start[is];
        if (ie < n_free && (given ? blocks[by_end[ie]].end : t_end[ie]) <= next_start) {
            const int i = by_end[ie++];
            ok = gga_dyn_free(d, chunk[i], offset[i], asize[i]);
            continue;
        }
        const int i = given ? is : by_start[is];
        is++;
        const int p = pred[i];
        if (p >= 0) {
            chunk[i] = chunk[p];
            offset[i] = offset[p];
            if (asize[p] > asize[i]) {
                ok = gga_dyn_free(d, chunk[i], offset[i] + asize[i], asize[p] - asize[i]);
            }
        } else {
            ok = gga_dyn_alloc(d, asize[i], &chunk[i], &offset[i]);
            if (d->peak >= give_up) {
                *gave_up = true;
                break;
            }
        }
    }
    return ok;
}

// Online placement in ggml's order. The frees come in free_order (n_free of them) where the
// caller gives it, else in order of (end, index), of the blocks that do not hand their memory to
// a group member. The pass stops (*gave_up set, no plan) once its chunks reach give_up bytes in
// all: a plan that large cannot beat the one the caller holds (BEST's offline plan, which then
// stands).
static bool gga_plan_online(const struct gga_block * blocks, int n, const size_t * asize, const int * pred,
        const struct gga_plan_params * params, struct gga_steps * st, const int * free_order, int n_free,
        size_t give_up, bool * gave_up, int * chunk, size_t * offset, size_t * chunk_size, int * n_chunks) {
    struct gga_dyn d;
    memset(&d, 0, sizeof(d));
    d.max_chunk_size = params->max_size < GGA_UNBOUNDED ? params->max_size : GGA_UNBOUNDED;
    d.max_chunks = params->max_chunks;
    bool ok;
    if (free_order != NULL) {
        ok = gga_online_events(&d, blocks, n, asize, pred, true, NULL, NULL, free_order, NULL, n_free, give_up,
                               gave_up, chunk, offset);
    } else {
        // the orders, their steps read out in sequence, and a spare has_succ entry for blocks with
        // no predecessor, in one allocation
        const size_t nn = (size_t) n;
        int64_t * t_start = malloc(nn * (2 * sizeof(int64_t) + 2 * sizeof(int)) + nn + 1);
        int64_t * t_end = t_start != NULL ? t_start + nn : NULL;
        int * by_start = t_start != NULL ? (int *) (t_end + nn) : NULL;
        int * by_end = t_start != NULL ? by_start + nn : NULL;
        bool * has_succ = t_start != NULL ? (bool *) (by_end + nn) : NULL;
        struct gga_key * keys = st->small ? NULL : malloc(nn * sizeof(*keys));
        ok = t_start != NULL && (st->small || keys != NULL);
        if (ok) {
            // without a branch on pred: which blocks run in place is a coin toss on graphs
            memset(has_succ, 0, nn + 1);
            bool started_in_order = true; // as a graph's walk makes them: no sort by start needed
            for (int i = 0; i < n; i++) {
                has_succ[pred[i] >= 0 ? pred[i] : n] = true;
                started_in_order &= i == 0 || blocks[i - 1].start <= blocks[i].start;
            }
            if (started_in_order) {
                for (int k = 0; k < n; k++) {
                    by_start[k] = k;
                    t_start[k] = blocks[k].start;
                }
            } else {
                gga_order_by_step(blocks, n, false, st, keys, by_start);
                for (int k = 0; k < n; k++) {
                    t_start[k] = blocks[by_start[k]].start;
                }
            }
            // the blocks freed, in order of end: all but those that hand their memory over
            gga_order_by_step(blocks, n, true, st, keys, by_end);
            int m = 0;
            for (int k = 0; k < n; k++) {
                const int i = by_end[k];
                by_end[m] = i;
                t_end[m] = blocks[i].end;
                m += !has_succ[i];
            }
            ok = gga_online_events(&d, blocks, n, asize, pred, false, by_start, t_start, by_end, t_end, m, give_up,
                                   gave_up, chunk, offset);
        }
        free(t_start); // and the orders and has_succ
        free(keys);
    }
    if (ok && !*gave_up) {
        *n_chunks = d.n_chunks;
        for (int c = 0; c < d.n_chunks; c++) {
            chunk_size[c] = d.chunks[c].max_size;
        }
    }
    gga_dyn_release(&d);
    return ok;
}

//
// BEST: items for the offline packer
//

static void gga_items_release(struct gga_items * it) {
    free(it->pieces); // and first, size, time_at and item_of
    memset(it, 0, sizeof(*it));
}

// Also the lower bound when the span is small (*lb; live_at: st->range + 1 entries of scratch),
// from the same passes over the blocks and the steps.
static bool gga_items_build(const struct gga_block * blocks, int n, const size_t * asize, const int * pred,
        struct gga_steps * st, struct gga_items * it, size_t * live_at, size_t * lb) {
    memset(it, 0, sizeof(*it));
    struct gga_key * times = st->small ? NULL : malloc((size_t) 2 * n * sizeof(*times));
    int * rank_of = st->small ? NULL : malloc((size_t) 2 * n * sizeof(*rank_of)); // per block: t0, t1
    // pieces, sizes, steps, first and per block its item and place in the chain in one
    // allocation, the 8-byte figures first
    const size_t nn = (size_t) n;
    it->pieces = malloc(nn * sizeof(*it->pieces) + nn * sizeof(*it->size) + (2 * nn + 1) * sizeof(*it->time_at) +
                        (nn + 1) * sizeof(*it->first) + 2 * nn * sizeof(int));
    it->size = it->pieces != NULL ? (size_t *) (it->pieces + nn) : NULL;
    it->time_at = it->pieces != NULL ? (int64_t *) (it->size + nn) : NULL;
    it->first = it->pieces != NULL ? (int *) (it->time_at + 2 * nn + 1) : NULL;
    int * item_of = it->pieces != NULL ? it->first + nn + 1 : NULL;
    int * place = it->pieces != NULL ? item_of + nn : NULL;
    bool ok = it->pieces && (st->small || (times && rank_of));
    if (ok) {
        // The items in block order: a chain's first block opens one, a member (whose predecessor
        // comes before it) joins its predecessor's, one place further. Written with selects, not
        // branches: which blocks continue a chain is a coin toss on graphs (half of a random DAG's
        // nodes run in place), and following each chain from its first block mispredicted at
        // every block and every chain's end. An item's size is its first block's (sizes never grow
        // along a chain): every block writes its size to the slot of the next item to open, which
        // only a first block keeps, as the first block of that item overwrites it. A member of
        // its predecessor's size (which it starts where the predecessor ends: gga_validate
        // checks) extends its piece, at the same place; the item's number of pieces is its last
        // place + 1, written by each member in turn.
        int ni = 0;
        for (int i = 0; i < n; i++) {
            const bool opens = pred[i] < 0;
            const int p = opens ? i : pred[i];
            const bool extends = !opens & (asize[p] == asize[i]);
            it->size[ni] = asize[i];
            item_of[i] = opens ? ni : item_of[p];
            place[i] = opens ? 0 : place[p] + !extends;
            it->first[item_of[i] + 1] = place[i] + 1;
            ni += opens;
        }
        it->first[0] = 0;
        for (int k = 0; k < ni; k++) {
            it->first[k + 1] += it->first[k];
        }
        // compressed steps: rank of each distinct start/end value
        int rank = -1;
        if (st->small) {
            // mark the values in use, then rank them in one pass over the span; the bytes live
            // at each step come with them (as in gga_lower_bound_sized)
            int * r = st->count;
            memset(r, 0, ((size_t) st->range + 1) * sizeof(*r));
            memset(live_at, 0, ((size_t) st->range + 1) * sizeof(*live_at));
            for (int i = 0; i < n; i++) {
                const int t0 = gga_step_at(st, blocks[i].start);
                const int t1 = gga_step_at(st, blocks[i].end);
                r[t0] = 1;
                r[t1] = 1;
                live_at[t0] += asize[i];
                live_at[t1] -= asize[i];
            }
            size_t live = 0;
            size_t peak = 0;
            for (int t = 0; t < st->range; t++) {
                rank += r[t];
                r[t] = rank;
                live += live_at[t];
                peak = live > peak ? live : peak;
            }
            *lb = peak;
        } else {
            for (int i = 0; i < n; i++) {
                times[2*i + 0] = (struct gga_key) { blocks[i].start, 0, 2*i + 0 };
                times[2*i + 1] = (struct gga_key) { blocks[i].end,   0, 2*i + 1 };
            }
            gga_key_sort(times, 2 * n);
            for (int j = 0; j < 2 * n; j++) {
                if (j == 0 || times[j].k0 != times[j - 1].k0) {
                    rank++;
                }
                rank_of[times[j].idx] = rank;
            }
        }
        it->n_times = rank + 1;
        // pieces grouped by item, in chain order; the ranks are read off the span (small) or the
        // sorted events (wide). A chain's blocks come in its order, so a block that extends a
        // piece finds it written, and keeps its start.
        const int * r = st->count;
        for (int b = 0; b < n; b++) {
            const int t0 = st->small ? r[gga_step_at(st, blocks[b].start)] : rank_of[2*b + 0];
            const int t1 = st->small ? r[gga_step_at(st, blocks[b].end)] : rank_of[2*b + 1];
            struct gga_piece * pc = &it->pieces[it->first[item_of[b]] + place[b]];
            const bool extends = pred[b] >= 0 && place[b] == place[pred[b]];
            const int start = extends ? pc->t0 : t0;
            *pc = (struct gga_piece) { asize[b], start, t1, item_of[b] };
            it->time_at[t0] = blocks[b].start;
            it->time_at[t1] = blocks[b].end;
        }
        it->n_items = ni;
        it->n_pieces = it->first[ni];
        it->item_of = item_of;
    }
    free(times);
    free(rank_of);
    if (!ok) {
        gga_items_release(it);
    }
    return ok;
}

//
// Entry points
//

void gga_plan_release(struct gga_plan * plan) {
    if (plan == NULL) {
        return;
    }
    free(plan->chunk);
    free(plan->offset);
    plan->chunk = NULL;
    plan->offset = NULL;
    plan->n = 0;
}

// The planner checks its own output before anyone places a tensor by it. Always: every block
// lies inside its chunk (O(n)). Debug builds (GGALLOC_DEBUG): also that no two blocks live at
// the same step share bytes, swept in start order against the blocks still live (O(n log n)
// plus the live set at each start). A failure is a bug here; it is reported, never placed.
static bool plan_check(const struct gga_block * blocks, int n, const size_t * asize, const int * chunk,
        const size_t * offset, const size_t * chunk_size, int n_chunks, char * err, size_t err_size) {
    for (int i = 0; i < n; i++) {
        if (chunk[i] < 0 || chunk[i] >= n_chunks || offset[i] > chunk_size[chunk[i]] ||
            asize[i] > chunk_size[chunk[i]] - offset[i]) {
            gga_err(err, err_size, "internal error: block %d (%zu bytes at %zu) is outside chunk %d", i, asize[i],
                    offset[i], chunk[i]);
            return false;
        }
    }
#ifdef GGALLOC_DEBUG
    struct gga_key * order = malloc((size_t) (n > 0 ? n : 1) * sizeof(*order));
    int * live = malloc((size_t) (n > 0 ? n : 1) * sizeof(int));
    if (order == NULL || live == NULL) {
        free(order);
        free(live);
        return true; // the check needs memory the plan does not; the plan stands
    }
    for (int i = 0; i < n; i++) {
        order[i] = (struct gga_key) { blocks[i].start, 0, i };
    }
    gga_key_sort(order, n);
    int n_live = 0;
    bool ok = true;
    for (int k = 0; k < n && ok; k++) {
        const int i = order[k].idx;
        int w = 0;
        for (int r = 0; r < n_live; r++) {
            const int j = live[r];
            if (blocks[j].end <= blocks[i].start) {
                continue; // ended: drop it
            }
            live[w++] = j;
            if (chunk[j] == chunk[i] && asize[i] > 0 && asize[j] > 0 &&
                offset[i] < offset[j] + asize[j] && offset[j] < offset[i] + asize[i]) {
                gga_err(err, err_size, "internal error: blocks %d and %d are live together over the same bytes", j, i);
                ok = false;
                break;
            }
        }
        n_live = w;
        live[n_live++] = i;
    }
    free(order);
    free(live);
    return ok;
#else
    (void) blocks;
    return true;
#endif
}

// gga_plan_blocks into the caller's arrays of n (at least 1) chunks and offsets, or (NULL) into
// arrays of its own that the plan then owns; the frees in free_order where it is given (see
// gga_plan_blocks_memo).
static bool plan_blocks_into(const struct gga_block * blocks, int n, const int * free_order, int n_free,
        const struct gga_plan_params * params, struct gga_plan * plan, int * chunk_mem, size_t * offset_mem, char * err,
        size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = 0;
    }
    if (plan == NULL) {
        gga_err(err, err_size, "plan is NULL");
        return false;
    }
    if (n < 0 || (n > 0 && blocks == NULL)) {
        gga_err(err, err_size, "bad block list (n = %d, blocks %s)", n, blocks ? "set" : "NULL");
        return false;
    }
    if (!gga_validate_params(params, err, err_size)) {
        return false;
    }
    const size_t alignment = params->alignment;
    const size_t cap = (size_t) (n > 0 ? n : 1);
    // the aligned sizes, the small path's offsets and the group predecessors share one
    // allocation (the 8-byte figures first, so that all stay aligned), on the stack for a
    // few dozen blocks
    enum { STACK_BLOCKS = 64 };
    size_t stack_asize[STACK_BLOCKS];
    size_t stack_offset[STACK_BLOCKS];
    int    stack_pred[STACK_BLOCKS];
    const bool on_stack = n <= STACK_BLOCKS;
    size_t * asize  = on_stack ? stack_asize : malloc(cap * (2 * sizeof(*asize) + sizeof(int)));
    size_t * small_offset = on_stack ? stack_offset : asize != NULL ? asize + cap : NULL;
    int    * pred   = on_stack ? stack_pred : asize != NULL ? (int *) (small_offset + cap) : NULL;
    const bool own = chunk_mem == NULL;
    int    * chunk  = own ? malloc(cap * sizeof(*chunk)) : chunk_mem;
    size_t * offset = own ? malloc(cap * sizeof(*offset)) : offset_mem;
    size_t * item_offset = NULL;
    int    * item_chunk  = NULL;
    void * ev = NULL;
    struct gga_steps st;
    memset(&st, 0, sizeof(st));
    struct gga_items items;
    memset(&items, 0, sizeof(items));
    size_t chunk_size[GGALLOC_MAX_CHUNKS] = { 0 };
    int n_chunks = 0;
    bool ok = false;

    if (asize == NULL || pred == NULL || chunk == NULL || offset == NULL) {
        gga_err(err, err_size, "out of memory planning %d blocks", n);
        goto done;
    }
    if (!gga_validate(blocks, n, alignment, asize, pred, err, err_size)) {
        goto done;
    }

    // BEST: the lower bound, then the offline packing; a packing that meets the bound is optimal
    // and the online pass is skipped, otherwise the online plan is made and the smaller kept
    size_t lb = 0;
    size_t bound = 0; // lb, or more where the exact search proved it
    size_t offline_peak = SIZE_MAX;
    size_t cs[GGALLOC_MAX_CHUNKS] = { 0 };
    int nc = 0;
    bool small_plan = false; // the offline plan is in small_offset, one chunk
    if (params->strategy == GGA_STRATEGY_BEST && n > 0 && n <= GGA_SMALL_MAX_BLOCKS) {
        // the general path's first pass, which is all it does but where the plan misses the
        // bound under a budget (then it searches on), or outgrows max_size (then it fills chunks)
        size_t peak = 0;
        small_plan = gga_small_plan(blocks, n, asize, pred, small_offset, &peak, &lb) &&
                     (peak <= lb || !gga_params_budgeted(params)) &&
                     (params->max_chunks == 1 || peak <= params->max_size);
        if (small_plan) {
            bound = lb;
            offline_peak = peak;
            cs[0] = peak;
            nc = 1;
        }
    }
    if (!small_plan && !gga_steps_init(blocks, n, &st)) {
        gga_err(err, err_size, "out of memory planning %d blocks", n);
        goto done;
    }
    if (params->strategy == GGA_STRATEGY_BEST && n > 0 && !small_plan) {
        ev = gga_lower_bound_scratch(&st, n);
        if (ev != NULL && gga_items_build(blocks, n, asize, pred, &st, &items, ev, &lb)) {
            if (!st.small) {
                lb = gga_lower_bound_sized(blocks, asize, n, &st, ev, ev);
            }
            bound = lb;
            item_offset = malloc((size_t) items.n_items * (sizeof(*item_offset) + sizeof(*item_chunk)));
            item_chunk  = item_offset != NULL ? (int *) (item_offset + items.n_items) : NULL;
            if (item_offset != NULL && item_chunk != NULL &&
                gga_search_plan(&items, params, lb,
                                item_offset, item_chunk, cs, &nc, &bound)) {
                offline_peak = 0;
                for (int c = 0; c < nc; c++) {
                    offline_peak += cs[c];
                }
            }
        }
        // out of memory in the offline packing: the online plan stands
    }
    size_t online_peak = SIZE_MAX;
    if (offline_peak > bound) {
        bool gave_up = false;
        if (small_plan && free_order == NULL && !gga_steps_init(blocks, n, &st)) {
            gga_err(err, err_size, "out of memory planning %d blocks", n);
            goto done;
        }
        if (!gga_plan_online(blocks, n, asize, pred, params, &st, free_order, n_free, offline_peak, &gave_up, chunk,
                             offset, chunk_size, &n_chunks)) {
            gga_err(err, err_size, "out of memory planning %d blocks", n);
            goto done;
        }
        if (!gave_up) {
            online_peak = 0;
            for (int c = 0; c < n_chunks; c++) {
                online_peak += chunk_size[c];
            }
        }
    }
    if (offline_peak < online_peak) {
        for (int b = 0; small_plan && b < n; b++) {
            chunk[b] = 0;
            offset[b] = small_offset[b];
        }
        for (int b = 0; items.item_of != NULL && b < n; b++) { // (no items on the small path)
            chunk[b]  = item_chunk[items.item_of[b]];
            offset[b] = item_offset[items.item_of[b]];
        }
        n_chunks = nc;
        memcpy(chunk_size, cs, sizeof(cs));
    }
    ok = plan_check(blocks, n, asize, chunk, offset, chunk_size, n_chunks, err, err_size);

done:
    if (ok) {
        plan->n = n;
        plan->chunk = chunk;
        plan->offset = offset;
        plan->n_chunks = n_chunks;
        plan->bound = bound;
        plan->peak = 0;
        for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
            plan->chunk_size[c] = c < n_chunks ? chunk_size[c] : 0;
            plan->peak += plan->chunk_size[c];
        }
    } else if (own) {
        free(chunk);
        free(offset);
    }
    if (!on_stack) {
        free(asize);   // and the small path's offsets and pred
    }
    free(item_offset); // and item_chunk
    free(ev);
    gga_steps_release(&st);
    gga_items_release(&items);
    return ok;
}

bool gga_plan_blocks(const struct gga_block * blocks, int n, const struct gga_plan_params * params,
        struct gga_plan * plan, char * err, size_t err_size) {
    return plan_blocks_into(blocks, n, NULL, 0, params, plan, NULL, NULL, err, err_size);
}

//
// Memo of the last plan
//

void gga_plan_memo_release(struct gga_plan_memo * memo) {
    if (memo == NULL) {
        return;
    }
    free(memo->blocks); // and the plan's offsets and chunks
    memset(memo, 0, sizeof(*memo));
}

static bool gga_params_equal(const struct gga_plan_params * a, const struct gga_plan_params * b) {
    return a->alignment == b->alignment && a->max_size == b->max_size && a->max_chunks == b->max_chunks &&
           a->strategy == b->strategy && a->search_work == b->search_work && a->time_budget == b->time_budget &&
           a->seed == b->seed && a->cancel == b->cancel && a->max_conflicts == b->max_conflicts &&
           a->budget_after_first == b->budget_after_first;
}

static bool gga_blocks_equal(const struct gga_block * a, const struct gga_block * b, int n) {
    for (int i = 0; i < n; i++) {
        if (a[i].size != b[i].size || a[i].start != b[i].start || a[i].end != b[i].end || a[i].group != b[i].group) {
            return false;
        }
    }
    return true;
}

const struct gga_plan * gga_plan_blocks_memo(struct gga_plan_memo * memo, const struct gga_block * blocks, int n,
        const int * free_order, int n_free, const struct gga_plan_params * params, char * err, size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = 0;
    }
    if (memo == NULL || params == NULL || n < 0 || (n > 0 && blocks == NULL)) {
        gga_err(err, err_size, "bad memo, params or block list (n = %d)", n);
        if (memo != NULL) {
            memo->valid = false;
        }
        return NULL;
    }
    if (memo->valid && memo->n == n && gga_params_equal(&memo->params, params) &&
        gga_blocks_equal(memo->blocks, blocks, n)) {
        return &memo->plan;
    }
    // the blocks, the offsets and the chunks in one allocation, kept for the next plan when it
    // is large enough (a graph planned again after a change of shape allocates nothing)
    memo->valid = false;
    const size_t m = (size_t) (n > 0 ? n : 1);
    if (memo->cap < m) {
        free(memo->blocks);
        memo->blocks = malloc(m * (sizeof(*memo->blocks) + sizeof(*memo->plan.offset) + sizeof(*memo->plan.chunk)));
        memo->cap = memo->blocks != NULL ? m : 0;
        if (memo->blocks == NULL) {
            gga_err(err, err_size, "out of memory planning %d blocks", n);
            return NULL;
        }
    }
    size_t * offset = (size_t *) (memo->blocks + memo->cap);
    int * chunk = (int *) (offset + memo->cap);
    if (!plan_blocks_into(blocks, n, free_order, n_free, params, &memo->plan, chunk, offset, err, err_size)) {
        return NULL;
    }
    if (n > 0) {
        memcpy(memo->blocks, blocks, (size_t) n * sizeof(*blocks));
    }
    memo->n = n;
    memo->params = *params;
    // (see struct gga_plan_memo)
    memo->valid = params->cancel == NULL;
    return &memo->plan;
}
