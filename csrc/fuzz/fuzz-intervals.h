#pragma once

// The interval planner against hostile input: bytes become blocks whose sizes and steps reach
// the extremes of their types (0, 1, INT64_MIN, INT64_MAX, SIZE_MAX, neighbours of each), an
// alignment, a planner and a seed. The call must either refuse the input (exactly when it is
// invalid: an empty lifetime or sizes whose aligned sum passes SIZE_MAX / 2) or return a plan in
// which no two live blocks share a byte, every offset is aligned, every block ends by the peak,
// and the peak is at least the lower bound. A valid input is planned a second time through the
// internal planner with a conflict cap of 2 (one in four), so that the decomposition (or, when its
// tiny budget runs out, the online plan) makes the plan, which must keep the same promises; another
// one in four is made into in-place chains (blocks that continue the one before, no larger, as
// gallocr's walk makes them) and planned by BEST as gallocr plans, on its small path and on its
// general one (which merges a chain's blocks of one size), and by the online planner: a chain's
// blocks must share their offset, the two BEST plans must be the same, BEST must not be above the
// online plan, and the plans must keep the promises above. Shared by the libFuzzer target
// (fuzz-intervals.c) and the short run of the C tests (test-fuzz-intervals.c).

#include "ggalloc.h"
#include "planner.h"
#include "planner-impl.h" // gga_small_plan_limit

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// (past 64, the small path's rows of several words; it takes up to GGA_SMALL_MAX_BLOCKS)
#define FUZZ_INTERVALS_MAX_BLOCKS 200

struct fuzz_reader {
    const uint8_t * p;
    size_t n;
};

static uint64_t fuzz_take(struct fuzz_reader * r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | (r->n > 0 ? *r->p : 0);
        if (r->n > 0) {
            r->p++;
            r->n--;
        }
    }
    return v;
}

// A value of 64 bits, most often a small one or an extreme.
static uint64_t fuzz_value(struct fuzz_reader * r, bool is_signed) {
    const uint64_t tag = fuzz_take(r, 1);
    const uint64_t top = is_signed ? (uint64_t) INT64_MAX : UINT64_MAX;
    const uint64_t bottom = is_signed ? (uint64_t) INT64_MIN : 0;
    switch (tag % 8) {
        case 0: return fuzz_take(r, 1);
        case 1: return fuzz_take(r, 2);
        case 2: return top - fuzz_take(r, 1);
        case 3: return bottom + fuzz_take(r, 1);
        case 4: return (uint64_t) -(int64_t) fuzz_take(r, 1);
        case 5: return (top >> (fuzz_take(r, 1) % 64)) - fuzz_take(r, 1);
        default: return fuzz_take(r, 8);
    }
}

// Inputs planned (valid) so far, to tell a run that reaches the planner from one that does not.
static int fuzz_intervals_planned = 0;

// Broken promises of one plan: offsets off the alignment, blocks past the peak, live blocks
// sharing a byte, a peak below the lower bound.
static int fuzz_intervals_broken(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, const size_t * offsets, size_t peak, size_t lb, size_t total) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        const size_t si = (sizes[i] + alignment - 1) & ~(alignment - 1);
        bad += offsets[i] % alignment != 0;
        bad += si > 0 && (offsets[i] > peak || si > peak - offsets[i]);
        for (int j = i + 1; j < n; j++) {
            const size_t sj = (sizes[j] + alignment - 1) & ~(alignment - 1);
            const bool live = starts[i] < ends[j] && starts[j] < ends[i];
            const bool bytes = si > 0 && sj > 0 && offsets[i] < offsets[j] + sj && offsets[j] < offsets[i] + si;
            bad += live && bytes;
        }
    }
    bad += peak < lb;
    bad += total < lb; // nothing can need more than all blocks at once
    return bad;
}

// The valid blocks made into chains: where bit i of links is set (and the block before ends below
// INT64_MAX), block i continues block i - 1, starting where it ends, for as long as it lived, and
// no larger. Planned as gallocr plans (BEST with no budget, with and without the small path) and by
// the online planner; the number of broken promises.
static int fuzz_intervals_chains(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        size_t alignment, uint64_t links, size_t total) {
    struct gga_block b[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    size_t cs[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    int64_t c0[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    int64_t c1[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    for (int i = 0; i < n; i++) {
        b[i] = (struct gga_block) { sizes[i], starts[i], ends[i], -1 };
        const uint64_t span = (uint64_t) ends[i] - (uint64_t) starts[i];
        if (i > 0 && (links >> (i % 64) & 1) != 0 && b[i - 1].end < INT64_MAX) {
            b[i].start = b[i - 1].end;
            // in unsigned arithmetic: steps span all of int64_t
            const uint64_t room = (uint64_t) INT64_MAX - (uint64_t) b[i].start;
            b[i].end = span < room ? (int64_t) ((uint64_t) b[i].start + span) : INT64_MAX;
            b[i].size = sizes[i] < b[i - 1].size ? sizes[i] : b[i - 1].size;
            b[i - 1].group = b[i - 1].group >= 0 ? b[i - 1].group : i - 1;
            b[i].group = b[i - 1].group;
        }
        cs[i] = b[i].size;
        c0[i] = b[i].start;
        c1[i] = b[i].end;
    }
    const struct gga_plan_params best = { .alignment = alignment, .max_size = SIZE_MAX, .max_chunks = 1,
                                          .strategy = GGA_STRATEGY_BEST };
    struct gga_plan_params online = best;
    online.strategy = GGA_STRATEGY_ONLINE;
    struct gga_plan pb;
    struct gga_plan pg;
    struct gga_plan po;
    char err[256];
    if (!gga_plan_blocks(b, n, &best, &pb, err, sizeof(err))) {
        return 1; // no larger than valid blocks, with valid lifetimes: never refused
    }
    gga_small_plan_limit(0);
    const bool general = gga_plan_blocks(b, n, &best, &pg, err, sizeof(err));
    gga_small_plan_limit(GGA_SMALL_MAX_BLOCKS);
    if (!general) {
        gga_plan_release(&pb);
        return 1;
    }
    if (!gga_plan_blocks(b, n, &online, &po, err, sizeof(err))) {
        gga_plan_release(&pb);
        gga_plan_release(&pg);
        return 1;
    }
    const size_t lb = gga_lower_bound(b, n, alignment);
    int bad = fuzz_intervals_broken(n, cs, c0, c1, alignment, pb.offset, pb.peak, lb, total) +
              fuzz_intervals_broken(n, cs, c0, c1, alignment, po.offset, po.peak, lb, total);
    for (int i = 0; i < n; i++) {
        const bool member = i > 0 && b[i].group >= 0 && b[i].group == b[i - 1].group;
        bad += member && (pb.offset[i] != pb.offset[i - 1] || po.offset[i] != po.offset[i - 1]);
        bad += pg.offset[i] != pb.offset[i];
    }
    bad += pb.peak > po.peak || pg.peak != pb.peak;
    gga_plan_release(&pb);
    gga_plan_release(&pg);
    gga_plan_release(&po);
    return bad;
}

// Number of broken promises (0: all kept) for one input.
static int fuzz_intervals_one(const uint8_t * data, size_t size) {
    struct fuzz_reader r = { data, size };
    const size_t alignment = (size_t) 1 << (fuzz_take(&r, 1) % 13);
    const uint64_t mode = fuzz_take(&r, 1);
    // One input in eight: blocks as a graph's walk gives them (a few hundred steps, lifetimes of a
    // few, sizes a graph's tensors have), all valid, planned as gallocr plans them only
    // (fuzz_intervals_chains: with and without the small path, and online), not searched (the
    // other inputs reach the search). The rest: any figures.
    const bool graph_like = (mode & 0x38) == 0x38;
    // mostly a few blocks (each may make the input invalid), sometimes dozens; graph-like ones now
    // and then more, up to FUZZ_INTERVALS_MAX_BLOCKS (their checks are O(n^2))
    const uint64_t nb = fuzz_take(&r, 1);
    const int n = (int) (nb < 192 ? nb % 10 : nb < 248 || !graph_like ? nb % 49
                                            : 49 + fuzz_take(&r, 1) % (FUZZ_INTERVALS_MAX_BLOCKS - 48));
    size_t sizes[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    int64_t starts[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    int64_t ends[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    size_t offsets[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    for (int i = 0; i < n; i++) {
        if (graph_like) {
            sizes[i] = (size_t) fuzz_take(&r, 2) << (fuzz_take(&r, 1) % 12);
            starts[i] = (int64_t) (fuzz_take(&r, 2) % 700);
            ends[i] = starts[i] + 1 + (int64_t) (fuzz_take(&r, 1) % 64);
            continue;
        }
        sizes[i] = (size_t) fuzz_value(&r, false);
        starts[i] = (int64_t) fuzz_value(&r, true);
        // mostly a short lifetime after the start (when it does not overflow; sometimes empty)
        const uint64_t d = fuzz_take(&r, 1);
        if (d < 240 && starts[i] <= INT64_MAX - (int64_t) (d % 48)) {
            ends[i] = starts[i] + (int64_t) (d % 48);
        } else {
            ends[i] = (int64_t) fuzz_value(&r, true);
        }
    }
    // what the contract says about validity
    bool valid = true;
    size_t total = 0;
    const size_t limit = SIZE_MAX / 2;
    for (int i = 0; i < n && valid; i++) {
        if (ends[i] <= starts[i] || sizes[i] > limit - alignment) {
            valid = false;
            break;
        }
        const size_t a = (sizes[i] + alignment - 1) & ~(alignment - 1);
        if (a > limit - total) {
            valid = false;
            break;
        }
        total += a;
    }
    if (graph_like) {
        if (!valid) {
            return 1; // valid by construction
        }
        fuzz_intervals_planned++;
        return fuzz_intervals_chains(n, sizes, starts, ends, alignment, fuzz_take(&r, 8), total);
    }
    struct ggalloc_plan_options opt = ggalloc_plan_options_default();
    opt.planner = mode % 3 == 0 ? GGALLOC_PLANNER_GGML : GGALLOC_PLANNER_BEST;
    opt.time_budget = 0; // fixed work: the same input gives the same plan
    opt.seed = mode / 3;
    size_t peak = 0;
    const bool ok = mode % 5 == 4 ? ggalloc_plan_intervals(n, sizes, starts, ends, alignment, offsets, &peak)
                                  : ggalloc_plan_intervals_ex(n, sizes, starts, ends, alignment, &opt, offsets, &peak);
    const size_t lb = ggalloc_intervals_lower_bound(n, sizes, starts, ends, alignment);
    if (ok != valid) {
        return 1;
    }
    if (!ok) {
        return lb != 0;
    }
    fuzz_intervals_planned++;
    int bad = fuzz_intervals_broken(n, sizes, starts, ends, alignment, offsets, peak, lb, total);
    if (mode % 4 == 3) {
        return bad + fuzz_intervals_chains(n, sizes, starts, ends, alignment, fuzz_take(&r, 8), total);
    }
    // one in four: the same blocks past the conflict cap, planned by decomposition (whose
    // improvement may spend the whole millisecond)
    if (mode % 4 != 1) {
        return bad;
    }
    struct gga_block blocks[FUZZ_INTERVALS_MAX_BLOCKS + 1];
    for (int i = 0; i < n; i++) {
        blocks[i] = (struct gga_block) { sizes[i], starts[i], ends[i], -1 };
    }
    const struct gga_plan_params dense = { .alignment = alignment, .max_size = SIZE_MAX, .max_chunks = 1,
                                           .strategy = GGA_STRATEGY_BEST, .time_budget = 0.001, .seed = mode,
                                           .max_conflicts = 2 };
    struct gga_plan plan;
    char err[256];
    if (!gga_plan_blocks(blocks, n, &dense, &plan, err, sizeof(err))) {
        return bad + 1;
    }
    bad += fuzz_intervals_broken(n, sizes, starts, ends, alignment, plan.offset, plan.peak, lb, total);
    gga_plan_release(&plan);
    return bad;
}
