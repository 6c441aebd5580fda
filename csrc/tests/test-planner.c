// The pure planner on bare blocks: ONLINE against ggml's allocator simulated by hand, BEST
// against an independent overlap oracle, the lower bound and ONLINE; the eleven traces; bad
// input; and the public ggalloc_plan_intervals wrapper.

#include "check.h"
#include "ggalloc.h"
#include "planner.h"
#include "planner-impl.h" // the exact search on hand-made items

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// enough search for the traces to come well below greedy, small enough for sanitizer builds
// the exact search takes 60% of it; under the sanitizers (ten times slower) a third of it
#define TRACE_SEARCH_WORK (CHECK_SMALL_RUN ? (int64_t) 100000000 : (int64_t) 300000000)

#define B(size, start, end) { (size), (start), (end), -1 }
#define G(size, start, end, group) { (size), (start), (end), (group) }

static struct gga_plan_params params_of(size_t alignment, size_t max_size, int max_chunks, enum gga_strategy s) {
    struct gga_plan_params p = { .alignment = alignment, .max_size = max_size, .max_chunks = max_chunks, .strategy = s };
    return p;
}

static bool plan(const struct gga_block * b, int n, struct gga_plan_params p, struct gga_plan * out) {
    char err[256] = "";
    memset(out, 0, sizeof(*out));
    const bool ok = gga_plan_blocks(b, n, &p, out, err, sizeof(err));
    if (!ok) {
        fprintf(stderr, "plan failed: %s\n", err);
    }
    return ok;
}

static size_t align_up(size_t x, size_t a) {
    return (x + a - 1) / a * a;
}

// The oracle: counts pairs of blocks live at a common step that share a byte of one chunk, and
// every other broken promise of a plan (alignment, chunk bounds, groups, peak).
static int plan_violations(const struct gga_block * b, int n, const struct gga_plan * p, size_t alignment,
        size_t max_size, int max_chunks) {
    int bad = 0;
    if (p->n != n || p->n_chunks < (n > 0 ? 1 : 0) || p->n_chunks > max_chunks) {
        return 1000000;
    }
    size_t peak = 0;
    for (int c = 0; c < p->n_chunks; c++) {
        peak += p->chunk_size[c];
    }
    bad += peak != p->peak;
    for (int i = 0; i < n; i++) {
        const size_t s = align_up(b[i].size, alignment);
        const int c = p->chunk[i];
        bad += c < 0 || c >= p->n_chunks;
        if (c < 0 || c >= p->n_chunks) {
            continue;
        }
        bad += p->offset[i] % alignment != 0;
        bad += p->offset[i] + s > p->chunk_size[c];
        // a chunk holds at most max_size unless it is the last allowed one or holds one larger block
        if (c < max_chunks - 1 && p->chunk_size[c] > max_size) {
            bool big = false;
            for (int j = 0; j < n; j++) {
                big |= p->chunk[j] == c && align_up(b[j].size, alignment) == p->chunk_size[c];
            }
            bad += !big;
        }
        for (int j = i + 1; j < n; j++) {
            if (b[i].group >= 0 && b[i].group == b[j].group) {
                bad += p->offset[i] != p->offset[j] || p->chunk[i] != p->chunk[j];
                continue;
            }
            const size_t sj = align_up(b[j].size, alignment);
            const bool live = b[i].start < b[j].end && b[j].start < b[i].end;
            const bool bytes = p->chunk[i] == p->chunk[j] && s > 0 && sj > 0 &&
                               p->offset[i] < p->offset[j] + sj && p->offset[j] < p->offset[i] + s;
            bad += live && bytes;
        }
    }
    return bad;
}

// A brute-force lower bound: bytes live at every step.
static size_t lb_oracle(const struct gga_block * b, int n, size_t alignment) {
    size_t best = 0;
    for (int i = 0; i < n; i++) {
        const int64_t t = b[i].start;
        size_t live = 0;
        for (int j = 0; j < n; j++) {
            live += b[j].start <= t && t < b[j].end ? align_up(b[j].size, alignment) : 0;
        }
        best = live > best ? live : best;
    }
    return best;
}

//
// ONLINE against ggml's allocator, simulated by hand in the comments
//

static void test_online_reuse(void) {
    // A@0 (new chunk); B: only the last block [100, inf) -> B@100; step 2 frees A -> [0,100)
    // is a free block that is not the last: C (100) fits it exactly -> C@0. Peak 150.
    const struct gga_block b[] = { B(100, 0, 2), B(50, 1, 3), B(100, 2, 4) };
    struct gga_plan p;
    CHECK(plan(b, 3, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[0], 0);
    CHECK_EQ_INT(p.offset[1], 100);
    CHECK_EQ_INT(p.offset[2], 0);
    CHECK_EQ_INT(p.peak, 150);
    CHECK_EQ_INT(p.n_chunks, 1);
    gga_plan_release(&p);
}

static void test_online_ties(void) {
    // X@0 Y@10 Z@15 W@25; X and Z end at 1: free blocks [0,10) [15,25) [30,inf). Q (10): two
    // equal best fits, ggml takes the later one -> Q@15. R (5) at step 2: [0,10) is the only
    // non-last block -> R@0.
    const struct gga_block b[] = { B(10, 0, 1), B(5, 0, 3), B(10, 0, 1), B(5, 0, 3), B(10, 1, 3), B(5, 2, 3) };
    struct gga_plan p;
    CHECK(plan(b, 6, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[1], 10);
    CHECK_EQ_INT(p.offset[2], 15);
    CHECK_EQ_INT(p.offset[3], 25);
    CHECK_EQ_INT(p.offset[4], 15);
    CHECK_EQ_INT(p.offset[5], 0);
    CHECK_EQ_INT(p.peak, 30);
    gga_plan_release(&p);

    // best fit picks the smallest block that fits, not the first: frees [0,30) and [40,50)
    // (separators at 30 and 50), then a block of 10 goes to 40
    const struct gga_block c[] = { B(30, 0, 1), B(10, 0, 3), B(10, 0, 1), B(10, 0, 3), B(10, 1, 3) };
    CHECK(plan(c, 5, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[3], 50);
    CHECK_EQ_INT(p.offset[4], 40);
    gga_plan_release(&p);
}

static void test_online_coalesce(void) {
    // A@0 B@10 C@20, D@30 separates the tail. A and C free at 1, then B at 2: the three merge
    // into [0,30), so E (30) at step 2 fits at 0 without growing.
    const struct gga_block b[] = { B(10, 0, 1), B(10, 0, 2), B(10, 0, 1), B(10, 0, 4), B(30, 2, 4) };
    struct gga_plan p;
    CHECK(plan(b, 5, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[4], 0);
    CHECK_EQ_INT(p.peak, 40);
    gga_plan_release(&p);
}

static void test_online_alignment(void) {
    // sizes 1 and 33 round up to 32 and 64
    const struct gga_block b[] = { B(1, 0, 2), B(33, 0, 2), B(1, 0, 2) };
    struct gga_plan p;
    CHECK(plan(b, 3, params_of(32, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[0], 0);
    CHECK_EQ_INT(p.offset[1], 32);
    CHECK_EQ_INT(p.offset[2], 96);
    CHECK_EQ_INT(p.peak, 128);
    gga_plan_release(&p);
}

static void test_online_chunks(void) {
    struct gga_plan p;
    // max_size 100. A (60): chunk 0 = [0,100) -> A@0/0. B (60): chunk 0's last block [60,100)
    // is too small -> chunk 1, B@0/1. C (30) at step 1: last blocks [60,100) in both chunks,
    // reuse 60-60-30 = -30 in both: the first wins -> C@60/0 (chunk 0 grows to 90).
    // step 2 frees B: chunk 1 is [0,100) again with high-water 60. D (20): chunk 0's last block
    // [90,100) is too small; chunk 1's [0,100) reuses its high-water mark (60-0-20 = 40) -> D@0/1.
    // E (150) at step 3: larger than max_size and no block fits -> chunk 2 of 150, E@0/2.
    const struct gga_block b[] = { B(60, 0, 5), B(60, 0, 2), B(30, 1, 5), B(20, 2, 5), B(150, 3, 5) };
    CHECK(plan(b, 5, params_of(1, 100, GGALLOC_MAX_CHUNKS, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.chunk[0], 0); CHECK_EQ_INT(p.offset[0], 0);
    CHECK_EQ_INT(p.chunk[1], 1); CHECK_EQ_INT(p.offset[1], 0);
    CHECK_EQ_INT(p.chunk[2], 0); CHECK_EQ_INT(p.offset[2], 60);
    CHECK_EQ_INT(p.chunk[3], 1); CHECK_EQ_INT(p.offset[3], 0);
    CHECK_EQ_INT(p.chunk[4], 2); CHECK_EQ_INT(p.offset[4], 0);
    CHECK_EQ_INT(p.n_chunks, 3);
    CHECK_EQ_INT(p.chunk_size[0], 90);
    CHECK_EQ_INT(p.chunk_size[1], 60);
    CHECK_EQ_INT(p.chunk_size[2], 150);
    CHECK_EQ_INT(p.peak, 300);
    gga_plan_release(&p);

    // the 16th chunk is unbounded: 17 blocks of 10 live together with max_size 10 fill chunks
    // 0..14 with one block each, then two in chunk 15
    struct gga_block many[17];
    for (int i = 0; i < 17; i++) {
        many[i] = (struct gga_block) B(10, 0, 1);
    }
    CHECK(plan(many, 17, params_of(1, 10, GGALLOC_MAX_CHUNKS, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.n_chunks, 16);
    CHECK_EQ_INT(p.chunk[14], 14);
    CHECK_EQ_INT(p.chunk[15], 15); CHECK_EQ_INT(p.offset[15], 0);
    CHECK_EQ_INT(p.chunk[16], 15); CHECK_EQ_INT(p.offset[16], 10);
    CHECK_EQ_INT(p.chunk_size[15], 20);
    CHECK_EQ_INT(p.peak, 170);
    gga_plan_release(&p);

    // with max_chunks 3 the third chunk is the unbounded one
    CHECK(plan(many, 5, params_of(1, 10, 3, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.n_chunks, 3);
    CHECK_EQ_INT(p.chunk_size[2], 30);
    gga_plan_release(&p);
}

static void test_online_groups(void) {
    struct gga_plan p;
    // A (100) hands its memory to A2 (60) at step 2; A2 keeps offset 0 and [60,100) is freed
    // when A2 is placed. C (40), placed after A2 at step 2, fits that freed block exactly -> @60.
    // S (10) separates the tail so that [60,100) is not the last block.
    const struct gga_block b[] = { G(100, 0, 2, 7), B(10, 0, 4), G(60, 2, 4, 7), B(40, 2, 4) };
    CHECK(plan(b, 4, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[0], 0);
    CHECK_EQ_INT(p.offset[1], 100);
    CHECK_EQ_INT(p.offset[2], 0);
    CHECK_EQ_INT(p.offset[3], 60);
    CHECK_EQ_INT(p.peak, 110);
    gga_plan_release(&p);

    // the same blocks with C before A2 in index order: C is placed before the extra bytes are
    // freed, so it goes to the tail -> @110
    const struct gga_block c[] = { G(100, 0, 2, 7), B(10, 0, 4), B(40, 2, 4), G(60, 2, 4, 7) };
    CHECK(plan(c, 4, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.offset[2], 110);
    CHECK_EQ_INT(p.offset[3], 0);
    CHECK_EQ_INT(p.peak, 150);
    gga_plan_release(&p);

    // a chain of three in one group, across chunks: all members share chunk and offset
    const struct gga_block d[] = { B(80, 0, 6), G(50, 0, 2, 1), G(50, 2, 4, 1), G(50, 4, 6, 1) };
    CHECK(plan(d, 4, params_of(1, 100, 4, GGA_STRATEGY_ONLINE), &p));
    CHECK_EQ_INT(p.chunk[1], 1);
    CHECK_EQ_INT(p.chunk[2], 1);
    CHECK_EQ_INT(p.chunk[3], 1);
    CHECK_EQ_INT(p.offset[3], p.offset[1]);
    CHECK_EQ_INT(plan_violations(d, 4, &p, 1, 100, 4), 0);
    gga_plan_release(&p);
}

//
// BEST
//

static uint64_t rng_state = 0x1234567887654321ull;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int rng_int(int lo, int hi) { // [lo, hi]
    return lo + (int) (rng_next() % (uint64_t) (hi - lo + 1));
}

// Random blocks; with groups, some blocks continue as a chain member of non-growing size.
static int random_blocks(struct gga_block * b, int n, int steps, size_t max_block, bool groups) {
    int k = 0;
    int group = 0;
    while (k < n) {
        const int64_t s = rng_int(0, steps - 1);
        const int64_t e = s + rng_int(1, steps / 4 + 1);
        size_t size = (size_t) rng_int(1, (int) max_block);
        if (rng_int(0, 3) == 0) {
            size *= 16; // a few large ones
        }
        b[k++] = (struct gga_block) { size, s, e, -1 };
        if (groups && k < n && rng_int(0, 2) == 0) {
            b[k - 1].group = group;
            int64_t t = e;
            while (k < n && rng_int(0, 1) == 0) {
                size = size - (size_t) rng_int(0, (int) (size / 4));
                const int64_t e2 = t + rng_int(1, 6);
                b[k++] = (struct gga_block) { size, t, e2, group };
                t = e2;
            }
            group++;
        }
    }
    return k;
}

static void test_best_random(void) {
    enum { N = 120 };
    struct gga_block b[N];
    const size_t aligns[] = { 1, 8, 32 };
    int worse_than_online = 0;
    int bad = 0;
    int below_lb = 0;
    for (int iter = 0; iter < 40; iter++) {
        const int n = rng_int(1, N);
        const bool groups = iter % 2 == 1;
        random_blocks(b, n, rng_int(4, 60), (size_t) rng_int(1, 4000), groups);
        const size_t al = aligns[iter % 3];
        const size_t lb = gga_lower_bound(b, n, al);
        CHECK_EQ_INT(lb, lb_oracle(b, n, al));
        struct gga_plan on, best;
        CHECK(plan(b, n, params_of(al, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &on));
        CHECK(plan(b, n, params_of(al, SIZE_MAX, 1, GGA_STRATEGY_BEST), &best));
        bad += plan_violations(b, n, &on, al, SIZE_MAX, 1);
        bad += plan_violations(b, n, &best, al, SIZE_MAX, 1);
        worse_than_online += best.peak > on.peak;
        below_lb += best.peak < lb || on.peak < lb;
        gga_plan_release(&on);
        gga_plan_release(&best);

        // the same with a max buffer size: chunks
        const size_t max_size = lb / (size_t) rng_int(2, 5) + 1;
        const int max_chunks = rng_int(2, GGALLOC_MAX_CHUNKS);
        CHECK(plan(b, n, params_of(al, max_size, max_chunks, GGA_STRATEGY_ONLINE), &on));
        CHECK(plan(b, n, params_of(al, max_size, max_chunks, GGA_STRATEGY_BEST), &best));
        bad += plan_violations(b, n, &on, al, max_size, max_chunks);
        bad += plan_violations(b, n, &best, al, max_size, max_chunks);
        worse_than_online += best.peak > on.peak;
        gga_plan_release(&on);
        gga_plan_release(&best);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(worse_than_online, 0);
    CHECK_EQ_INT(below_lb, 0);
}

// Small instances take gga_small_plan: it must give the general path's plan exactly, with and
// without a budget (with one, a miss of the bound goes on to the general path's search) and
// with chunks (a plan above max_size goes to the general path's chunked passes). Up to 64 blocks
// one word of conflicts per block, beyond that up to four; spans of steps short (prefix ORs) and
// wide (pairs, or the general path beyond 64 blocks); blocks in any order, or in order of start
// as a graph's walk makes them (the first order's sort by size alone).
static int cmp_block_start(const void * a, const void * b) {
    const struct gga_block * x = a;
    const struct gga_block * y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

static void test_best_small_path(void) {
    struct gga_block b[GGA_SMALL_MAX_BLOCKS];
    const size_t aligns[] = { 1, 8, 32 };
    int differ = 0;
    int bad = 0;
    int missed = 0;
    int multi_word = 0;
    for (int iter = 0; iter < 900; iter++) {
        const int n = iter % 2 ? rng_int(1, 64) : rng_int(1, GGA_SMALL_MAX_BLOCKS);
        random_blocks(b, n, rng_int(2, iter % 6 == 3 ? 900 : 120), (size_t) rng_int(1, 300), iter % 3 != 0);
        for (int i = 0; i < n; i++) {
            if (b[i].group < 0 && rng_int(0, 9) == 0) {
                b[i].size = 0; // (a chain's sizes never grow)
            }
            if (iter % 5 == 4) {
                b[i].start *= 1000; // a wide span of steps: conflicts found by pairs
                b[i].end *= 1000;
            }
        }
        if (iter % 3 == 2) {
            // a chain's blocks keep their order: each starts where the one before it ends
            qsort(b, (size_t) n, sizeof(*b), cmp_block_start);
        }
        multi_word += n > 64;
        const size_t al = aligns[iter % 3];
        struct gga_plan_params pp = params_of(al, SIZE_MAX, 1, GGA_STRATEGY_BEST);
        if (iter % 4 == 1) {
            pp.search_work = 100000;
        } else if (iter % 4 == 2) {
            pp.max_size = gga_lower_bound(b, n, al) / 2 + 1;
            pp.max_chunks = GGALLOC_MAX_CHUNKS;
        }
        struct gga_plan fast, general;
        gga_small_plan_limit(GGA_SMALL_MAX_BLOCKS);
        CHECK(plan(b, n, pp, &fast));
        gga_small_plan_limit(0);
        CHECK(plan(b, n, pp, &general));
        gga_small_plan_limit(GGA_SMALL_MAX_BLOCKS);
        bool same = fast.n == general.n && fast.n_chunks == general.n_chunks && fast.peak == general.peak &&
                    fast.bound == general.bound &&
                    memcmp(fast.chunk_size, general.chunk_size, sizeof(fast.chunk_size)) == 0;
        for (int i = 0; same && i < n; i++) {
            same = fast.offset[i] == general.offset[i] && fast.chunk[i] == general.chunk[i];
        }
        differ += !same;
        bad += plan_violations(b, n, &fast, al, pp.max_size, pp.max_chunks);
        missed += fast.peak > fast.bound;
        gga_plan_release(&fast);
        gga_plan_release(&general);
    }
    CHECK_EQ_INT(differ, 0);
    CHECK_EQ_INT(bad, 0);
    CHECK(missed > 0); // some instances went on past the first pass (online, search or chunks)
    CHECK(multi_word > 300);
}

// The radix sort of planner-impl.h, on both digit widths (below and above GGA_RADIX_NIBBLE_MAX
// elements), odd and even counts (its scatter takes two at a time), keys of a few values in runs
// (a counter bumped twice in a row) and keys of any value, negative ones too: sorted, stable,
// and a permutation of the input.
struct radix_kv {
    int64_t a;
    int     idx;
};
GGA_RADIX_FIELD_DEFINE(radix_kv_field, struct radix_kv)

static void test_radix_sort(void) {
    enum { N = 1500 };
    static struct radix_kv a[N], b[N];
    int unsorted = 0;
    int unstable = 0;
    int lost = 0;
    for (int iter = 0; iter < 300; iter++) {
        const int n = rng_int(1, iter % 2 == 0 ? GGA_RADIX_NIBBLE_MAX + 40 : N);
        int64_t vals[8];
        const int n_vals = rng_int(1, 8);
        for (int v = 0; v < n_vals; v++) {
            vals[v] = (int64_t) rng_int(-5000, 100000) * ((int64_t) 1 << rng_int(0, 20));
        }
        for (int i = 0; i < n; i++) {
            const bool run = i > 0 && rng_int(0, 2) == 0;
            a[i].a = run ? a[i - 1].a : rng_int(0, 3) != 0 ? vals[rng_int(0, n_vals - 1)]
                                                           : (int64_t) rng_next() >> rng_int(0, 63);
            a[i].idx = i;
        }
        struct radix_kv * src = a;
        struct radix_kv * dst = b;
        radix_kv_field(&src, &dst, n, offsetof(struct radix_kv, a));
        int64_t idx_sum = src[0].idx;
        for (int i = 1; i < n; i++) {
            unsorted += src[i - 1].a > src[i].a;
            unstable += src[i - 1].a == src[i].a && src[i - 1].idx > src[i].idx;
            idx_sum += src[i].idx;
        }
        lost += idx_sum != (int64_t) n * (n - 1) / 2;
    }
    CHECK_EQ_INT(unsorted, 0);
    CHECK_EQ_INT(unstable, 0);
    CHECK_EQ_INT(lost, 0);
}

// gga_akey_sort_stable, the first order's sort, on each of its ways: insertion (below
// GGA_RADIX_MIN keys), counting a few figures (up to GGA_FEW_FIGURES distinct ones: all of them,
// exactly that many, and one more, which goes on to the radix sort after the count gives up) and
// the radix sort: the very order of a sort by (figure, index).
static int cmp_akey(const void * x, const void * y) {
    const struct gga_akey * a = x;
    const struct gga_akey * b = y;
    return a->a != b->a ? (a->a < b->a ? -1 : 1) : (a->idx > b->idx) - (a->idx < b->idx);
}

static void test_akey_sort_stable(void) {
    enum { N = 700 };
    static struct gga_akey keys[2 * N], want[N];
    int wrong = 0;
    const int n_figures[] = { 1, 2, 5, GGA_FEW_FIGURES - 1, GGA_FEW_FIGURES, GGA_FEW_FIGURES + 1, 40, 1000 };
    for (int iter = 0; iter < 400; iter++) {
        const int n = iter % 4 == 0 ? rng_int(1, GGA_RADIX_MIN) : rng_int(GGA_RADIX_MIN, N);
        const int nf = n_figures[iter % 8];
        int64_t figs[1000];
        for (int f = 0; f < nf; f++) {
            // sizes as a graph's are (multiples of an alignment), negated as the order has them,
            // and figures of any sign
            figs[f] = iter % 3 ? -(int64_t) rng_int(1, 5000) * 32 : (int64_t) rng_next() >> rng_int(0, 63);
        }
        for (int i = 0; i < n; i++) {
            // every figure at least once where there is room (the count's limit is met exactly)
            keys[i] = (struct gga_akey) { figs[i < nf ? i : rng_int(0, nf - 1)], i };
        }
        for (int i = n - 1; i > 0; i--) { // shuffled, with each key's place as its index
            const int j = rng_int(0, i);
            const int64_t t = keys[i].a;
            keys[i].a = keys[j].a;
            keys[j].a = t;
        }
        memcpy(want, keys, (size_t) n * sizeof(*keys));
        qsort(want, (size_t) n, sizeof(*want), cmp_akey);
        const struct gga_akey * got = gga_akey_sort_stable(keys, keys + n, n);
        bool same = true;
        for (int i = 0; i < n; i++) {
            same = same && got[i].a == want[i].a && got[i].idx == want[i].idx;
        }
        wrong += !same;
    }
    CHECK_EQ_INT(wrong, 0);
}

// Blocks listed in order of start (as a graph's walk lists them) are ranked for BEST's first pass
// by a stable sort on size alone; listed in any other order, by the general sort on size, start
// and index. With no two items of one size starting together, the two rankings must agree, and
// so must the first pass's plans, block for block (the lowest fit does not depend on the order
// neighbours are met in). That plan is BEST's where it is below the online plan (which places
// blocks in the order they are listed, and wins ties); elsewhere the two listings must agree on
// the bound alone. Lone blocks and in-place chains whose later members shrink (pieces of their
// own).
static void test_best_start_order(void) {
    enum { N = 400 };
    static const size_t widths[] = { 64, 128, 256, 512, 1024, 4096 };
    static struct gga_block b[N], shuffled[N];
    int perm[N];
    int differ = 0;
    int compared = 0;
    for (int iter = 0; iter < 40; iter++) {
        // starts strictly increasing, so no two items start together; a chain member starts
        // where its predecessor ends and is no larger. One instance in two has about 50 items
        // (past the small path, below the radix sort's threshold)
        const int n_blocks = iter % 2 == 0 ? N : 100;
        int n = 0;
        int64_t t = 0;
        while (n < n_blocks) {
            t += 1 + rng_int(0, 1);
            size_t size = widths[rng_int(0, 5)];
            const int len = rng_int(1, 3);
            const int group = len > 1 && n + len <= n_blocks ? n : -1;
            int64_t s = t;
            for (int k = 0; k < (group >= 0 ? len : 1); k++) {
                const int64_t e = s + 1 + rng_int(0, 40);
                b[n++] = (struct gga_block) { size, s, e, group };
                s = e;
                size = k % 2 == 0 ? size : size / 2;
            }
        }
        struct gga_plan_params pp = params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST);
        struct gga_plan in_order, other;
        CHECK(plan(b, n, pp, &in_order));
        // the same blocks with the items listed last first (a chain moved whole, its members in
        // their order, named by its new first index)
        int m = 0;
        for (int i = n; i > 0;) {
            int j = i - 1;
            while (b[j].group >= 0 && b[j].group != j) {
                j--;
            }
            for (int k = j; k < i; k++) {
                perm[m] = k;
                shuffled[m] = b[k];
                shuffled[m].group = b[k].group >= 0 ? m - (k - j) : -1;
                m++;
            }
            i = j;
        }
        CHECK(plan(shuffled, n, pp, &other));
        struct gga_plan in_order_online, other_online;
        const struct gga_plan_params po = params_of(32, SIZE_MAX, 1, GGA_STRATEGY_ONLINE);
        CHECK(plan(b, n, po, &in_order_online));
        CHECK(plan(shuffled, n, po, &other_online));
        bool same = in_order.bound == other.bound;
        if (in_order.peak < in_order_online.peak && other.peak < other_online.peak) {
            same = same && in_order.peak == other.peak;
            for (int k = 0; same && k < n; k++) {
                same = other.offset[k] == in_order.offset[perm[k]];
            }
            compared++;
        }
        differ += !same;
        CHECK_EQ_INT(plan_violations(b, n, &in_order, 32, SIZE_MAX, 1), 0);
        gga_plan_release(&in_order);
        gga_plan_release(&other);
        gga_plan_release(&in_order_online);
        gga_plan_release(&other_online);
    }
    CHECK_EQ_INT(differ, 0);
    CHECK(compared >= 30); // the online plan rarely wins
}

static void test_best_reaches_lb(void) {
    struct gga_plan p;
    // nested lifetimes: a stack; ONLINE also reaches it, BEST must
    struct gga_block nest[12];
    for (int i = 0; i < 12; i++) {
        nest[i] = (struct gga_block) B((size_t) (100 + 37 * i), i, 30 - i);
    }
    CHECK(plan(nest, 12, params_of(16, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(p.peak, gga_lower_bound(nest, 12, 16));
    CHECK_EQ_INT(plan_violations(nest, 12, &p, 16, SIZE_MAX, 1), 0);
    gga_plan_release(&p);

    // disjoint lifetimes: everything at 0
    struct gga_block dis[10];
    for (int i = 0; i < 10; i++) {
        dis[i] = (struct gga_block) B((size_t) (10 + (i * 7919) % 100), 2 * i, 2 * i + 2);
    }
    CHECK(plan(dis, 10, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(p.peak, gga_lower_bound(dis, 10, 1));
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_INT(p.offset[i], 0);
    }
    gga_plan_release(&p);

    // equal sizes on random lifetimes: an interval graph, whose colouring meets the largest
    // clique, so the lower bound is reachable; ONLINE is often above it
    struct gga_block eq[60];
    int reached = 0;
    for (int iter = 0; iter < 10; iter++) {
        for (int i = 0; i < 60; i++) {
            const int s = rng_int(0, 40);
            eq[i] = (struct gga_block) B(64, s, s + rng_int(1, 12));
        }
        CHECK(plan(eq, 60, params_of(64, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
        reached += p.peak == gga_lower_bound(eq, 60, 64);
        CHECK_EQ_INT(plan_violations(eq, 60, &p, 64, SIZE_MAX, 1), 0);
        gga_plan_release(&p);
    }
    CHECK_EQ_INT(reached, 10);

    // ONLINE above the bound, BEST on it: X@0 Y@20; X's hole [0,20) is too small for Z (30),
    // which goes to 30 (peak 60), while Y at the bottom would leave [10,40) to Z (40)
    const struct gga_block c[] = { B(20, 0, 1), B(10, 0, 3), B(30, 1, 3) };
    struct gga_plan on;
    CHECK(plan(c, 3, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &on));
    CHECK(plan(c, 3, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(gga_lower_bound(c, 3, 1), 40);
    CHECK_EQ_INT(on.peak, 60);
    CHECK_EQ_INT(p.peak, 40);
    CHECK_EQ_INT(plan_violations(c, 3, &p, 1, SIZE_MAX, 1), 0);
    gga_plan_release(&on);
    gga_plan_release(&p);
}

// Instances too large for the search (more than 1,024 items, and more than 4,096 where one greedy
// order runs alone): tensors of one width on random lifetimes, under a long in-place chain of a
// small size live from the first step to the last, as a residual sum is in a model graph. The
// wide ones form an interval graph, which the lowest free slot in order of start colours with
// as many slots as its largest clique; the chain then fits on top, so the lower bound is
// reachable, and BEST's greedy pass by size with ties by start must reach it with no search.
static void test_best_large_equal_sizes(void) {
    const int sizes[] = { 1500, 5000 };
    for (int k = 0; k < 2; k++) {
        const int n_wide = sizes[k];
        const int steps = n_wide / 4;
        const int n_chain = 40;
        const int n = n_wide + n_chain;
        struct gga_block * b = malloc((size_t) n * sizeof(*b));
        if (b == NULL) {
            CHECK(false);
            return;
        }
        for (int i = 0; i < n_wide; i++) {
            const int s = rng_int(0, steps - 2);
            // 4065 to 4096 bytes: one size once aligned
            b[i] = (struct gga_block) B(4096 - (size_t) rng_int(0, 31), s, s + rng_int(1, 32));
        }
        // the chain: 40 members of equal length covering [0, steps + 32)
        for (int j = 0; j < n_chain; j++) {
            b[n_wide + j] = (struct gga_block) G(128, (int64_t) j * (steps + 32) / n_chain,
                                                 (int64_t) (j + 1) * (steps + 32) / n_chain, 7);
        }
        struct gga_plan best, on;
        CHECK(plan(b, n, params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST), &best));
        CHECK(plan(b, n, params_of(32, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &on));
        CHECK_EQ_INT(plan_violations(b, n, &best, 32, SIZE_MAX, 1), 0);
        CHECK_EQ_INT(best.peak, gga_lower_bound(b, n, 32));
        CHECK(best.peak <= on.peak);
        gga_plan_release(&best);
        gga_plan_release(&on);
        free(b);
    }
}

static void test_best_groups(void) {
    // an in-place chain must keep one offset even when another order would pack better
    const struct gga_block b[] = { G(64, 0, 3, 0), G(64, 3, 6, 0), B(64, 2, 4), B(128, 0, 2), B(128, 4, 6) };
    struct gga_plan p;
    CHECK(plan(b, 5, params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(p.offset[0], p.offset[1]);
    CHECK_EQ_INT(plan_violations(b, 5, &p, 32, SIZE_MAX, 1), 0);
    CHECK(p.peak >= gga_lower_bound(b, 5, 32));
    gga_plan_release(&p);

    // a shrinking chain: the bound counts each member at its own size, and BEST reaches it
    const struct gga_block c[] = { G(100, 0, 2, 3), G(40, 2, 4, 3), B(60, 2, 4) };
    CHECK(plan(c, 3, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(gga_lower_bound(c, 3, 1), 100);
    CHECK_EQ_INT(p.peak, 100);
    CHECK_EQ_INT(plan_violations(c, 3, &p, 1, SIZE_MAX, 1), 0);
    gga_plan_release(&p);
}

static void test_best_chunks(void) {
    struct gga_plan p;
    // three blocks of 60 live together, max_size 128, then one of 300. ONLINE: two share chunk
    // 0 (120), the third opens chunk 1 (60), the large one chunk 2 (300): 480 in all. BEST may
    // put the small ones in the large one's chunk, which its size allows anyway.
    const struct gga_block b[] = { B(60, 0, 2), B(60, 0, 2), B(60, 0, 2), B(300, 2, 3) };
    struct gga_plan on;
    CHECK(plan(b, 4, params_of(4, 128, 4, GGA_STRATEGY_ONLINE), &on));
    CHECK_EQ_INT(on.n_chunks, 3);
    CHECK_EQ_INT(on.peak, 480);
    CHECK(plan(b, 4, params_of(4, 128, 4, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(plan_violations(b, 4, &p, 4, 128, 4), 0);
    CHECK(p.peak <= on.peak);
    for (int c = 0; c < p.n_chunks; c++) {
        CHECK(p.chunk_size[c] <= 128 || p.chunk_size[c] == 300);
    }
    gga_plan_release(&p);
    gga_plan_release(&on);

    // nothing larger than max_size: every chunk stays within it
    const struct gga_block d[] = { B(60, 0, 2), B(60, 0, 2), B(60, 0, 2), B(100, 2, 3), B(100, 2, 3) };
    CHECK(plan(d, 5, params_of(4, 128, 4, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(plan_violations(d, 5, &p, 4, 128, 4), 0);
    CHECK(p.n_chunks >= 2);
    for (int c = 0; c < p.n_chunks; c++) {
        CHECK(p.chunk_size[c] <= 128);
    }
    gga_plan_release(&p);

    // max_chunks 1: one chunk whatever max_size says
    CHECK(plan(b, 4, params_of(4, 128, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(p.n_chunks, 1);
    CHECK_EQ_INT(p.peak, 300);
    gga_plan_release(&p);
}

static void test_empty_and_zero(void) {
    struct gga_plan p;
    CHECK(plan(NULL, 0, params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(p.peak, 0);
    CHECK_EQ_INT(p.n_chunks, 0);
    gga_plan_release(&p);
    gga_plan_release(NULL);

    const struct gga_block z[] = { B(0, 0, 2), B(32, 0, 2), B(0, 1, 3) };
    CHECK(plan(z, 3, params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST), &p));
    CHECK_EQ_INT(p.peak, 32);
    CHECK_EQ_INT(plan_violations(z, 3, &p, 32, SIZE_MAX, 1), 0);
    gga_plan_release(&p);
}

static void test_bad_input(void) {
    struct gga_plan p;
    memset(&p, 0, sizeof(p));
    char err[256];
    struct gga_plan_params ok_params = params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST);

    const struct gga_block bad_life[] = { B(10, 0, 2), B(10, 3, 3) };
    CHECK(!gga_plan_blocks(bad_life, 2, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "block 1") != NULL);
    CHECK(p.chunk == NULL);

    const struct gga_block gap[] = { G(10, 0, 2, 5), G(10, 3, 4, 5) };
    CHECK(!gga_plan_blocks(gap, 2, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "block 1") != NULL);

    const struct gga_block grow[] = { G(10, 0, 2, 5), G(100, 2, 4, 5) };
    CHECK(!gga_plan_blocks(grow, 2, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "larger") != NULL);

    // the same with group names past the few kept on the stack, among lone blocks: the chain
    // that breaks is named, after a good one
    const struct gga_block gap_far[] = { B(8, 0, 9), G(10, 0, 2, 68), B(8, 1, 2), G(10, 2, 3, 68), G(10, 0, 2, 70),
                                         B(8, 1, 5), G(10, 3, 4, 70) };
    CHECK(!gga_plan_blocks(gap_far, 7, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "block 6") != NULL && strstr(err, "block 4") != NULL);
    const struct gga_block grow_far[] = { G(10, 0, 2, 70), B(8, 1, 5), G(100, 2, 4, 70) };
    CHECK(!gga_plan_blocks(grow_far, 3, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "larger") != NULL && strstr(err, "block 2") != NULL);
    // and names too large to index (members sorted by name)
    const struct gga_block gap_huge[] = { G(10, 0, 2, 1000000), B(8, 1, 5), G(10, 3, 4, 1000000) };
    CHECK(!gga_plan_blocks(gap_huge, 3, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "block 2") != NULL && strstr(err, "block 0") != NULL && strstr(err, "ends at 2") != NULL);

    // more blocks than the one-pass table holds: chains of three named by their first block, as
    // gallocr names them, planned; then one link broken, and named
    enum { N_LONG = 1500 };
    struct gga_block * chains = malloc(N_LONG * sizeof(*chains));
    for (int i = 0; i < N_LONG; i++) {
        const int k = i / 3;
        const int j = i % 3;
        // every fifth triple three lone blocks, the others chains (block 3k, 3k + 1, 3k + 2)
        chains[i] = (struct gga_block) { (size_t) (64 - 8 * j), k + j * (k % 5 != 0), k + j + 1, k % 5 ? 3 * k : -1 };
    }
    CHECK(gga_plan_blocks(chains, N_LONG, &ok_params, &p, err, sizeof(err)));
    CHECK_EQ_INT(plan_violations(chains, N_LONG, &p, 32, SIZE_MAX, 1), 0);
    gga_plan_release(&p);
    chains[1204].end += 1; // block 1205 no longer starts where block 1204 ends
    CHECK(!gga_plan_blocks(chains, N_LONG, &ok_params, &p, err, sizeof(err)));
    CHECK(strstr(err, "block 1205") != NULL && strstr(err, "block 1204") != NULL);
    free(chains);

    const struct gga_block neg_group[] = { G(10, 0, 2, -3) };
    CHECK(!gga_plan_blocks(neg_group, 1, &ok_params, &p, err, sizeof(err)));

    const struct gga_block huge[] = { B(SIZE_MAX / 2, 0, 2), B(SIZE_MAX / 2, 0, 2) };
    CHECK(!gga_plan_blocks(huge, 2, &ok_params, &p, err, sizeof(err)));

    const struct gga_block one[] = { B(10, 0, 2) };
    struct gga_plan_params bp = params_of(24, SIZE_MAX, 1, GGA_STRATEGY_BEST);
    CHECK(!gga_plan_blocks(one, 1, &bp, &p, err, sizeof(err)));
    CHECK(strstr(err, "24") != NULL);
    bp = params_of(32, SIZE_MAX, 0, GGA_STRATEGY_BEST);
    CHECK(!gga_plan_blocks(one, 1, &bp, &p, err, sizeof(err)));
    bp = params_of(32, SIZE_MAX, GGALLOC_MAX_CHUNKS + 1, GGA_STRATEGY_BEST);
    CHECK(!gga_plan_blocks(one, 1, &bp, &p, err, sizeof(err)));
    bp = params_of(32, 0, 1, GGA_STRATEGY_BEST);
    CHECK(!gga_plan_blocks(one, 1, &bp, &p, err, sizeof(err)));
    struct gga_plan_params neg = params_of(32, SIZE_MAX, 1, GGA_STRATEGY_BEST);
    neg.search_work = -1;
    CHECK(!gga_plan_blocks(one, 1, &neg, &p, err, sizeof(err)));
    CHECK(strstr(err, "search_work") != NULL);
    CHECK(!gga_plan_blocks(one, 1, NULL, &p, err, sizeof(err)));
    CHECK(!gga_plan_blocks(one, 1, &ok_params, NULL, err, sizeof(err)));
    CHECK(!gga_plan_blocks(NULL, 1, &ok_params, &p, err, sizeof(err)));
    CHECK(!gga_plan_blocks(one, -1, &ok_params, &p, err, sizeof(err)));
    CHECK(!gga_plan_blocks(one, 1, &bp, &p, NULL, 0)); // no err buffer: still a value
    CHECK(p.chunk == NULL && p.offset == NULL);
}

//
// The traces
//

static int load_trace(const char * path, struct gga_block ** out) {
    FILE * f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    int n = 0;
    int cap = 64;
    struct gga_block * b = malloc((size_t) cap * sizeof(*b));
    if (fgets(line, sizeof(line), f) == NULL || b == NULL) {
        fclose(f);
        free(b);
        return -1;
    }
    long long id, lo, up, size;
    while (fscanf(f, "%lld,%lld,%lld,%lld", &id, &lo, &up, &size) == 4) {
        if (n == cap) {
            cap *= 2;
            struct gga_block * nb = realloc(b, (size_t) cap * sizeof(*b));
            if (nb == NULL) {
                break;
            }
            b = nb;
        }
        b[n++] = (struct gga_block) { (size_t) size, lo, up, -1 };
    }
    fclose(f);
    *out = b;
    return n;
}

// Blocks as the interval API takes them: sizes, starts and ends, with room for the offsets (one
// allocation; NULL when out of memory, free() releases it).
struct intervals {
    size_t  * sizes;
    int64_t * starts;
    int64_t * ends;
    size_t  * offsets;
};

static bool intervals_of(const struct gga_block * b, int n, struct intervals * iv) {
    const size_t m = (size_t) (n > 0 ? n : 1);
    iv->sizes = malloc(m * (2 * sizeof(size_t) + 2 * sizeof(int64_t)));
    if (iv->sizes == NULL) {
        return false;
    }
    iv->offsets = iv->sizes + m;
    iv->starts = (int64_t *) (iv->offsets + m);
    iv->ends = iv->starts + m;
    for (int i = 0; i < n; i++) {
        iv->sizes[i] = b[i].size;
        iv->starts[i] = b[i].start;
        iv->ends[i] = b[i].end;
    }
    return true;
}

// The interval API's oracle: pairs of blocks live at a common step that share a byte, plus blocks
// that end past the peak.
static int interval_violations(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends,
        const size_t * offsets, size_t peak) {
    int bad = 0;
    for (int i = 0; i < n; i++) {
        bad += offsets[i] + sizes[i] > peak;
        for (int j = i + 1; j < n; j++) {
            bad += starts[i] < ends[j] && starts[j] < ends[i] && offsets[i] < offsets[j] + sizes[j] &&
                   offsets[j] < offsets[i] + sizes[i];
        }
    }
    return bad;
}

static void test_traces(void) {
    // the lower bounds published with the traces (anchors.md)
    const struct { char name; size_t lb; } traces[] = {
        { 'A', 1048576 }, { 'B', 1048576 }, { 'C', 1039360 }, { 'D', 986112 }, { 'E', 1048576 }, { 'F', 1048576 },
        { 'G', 1048576 }, { 'H', 1048576 }, { 'I', 1048576 }, { 'J', 989184 },  { 'K', 1048576 },
    };
    double log_ratio = 0;
    int n_ratio = 0;
    for (size_t k = 0; k < sizeof(traces) / sizeof(traces[0]); k++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/traces/%c.csv", GGALLOC_DATA_DIR, traces[k].name);
        struct gga_block * b = NULL;
        const int n = load_trace(path, &b);
        CHECK(n > 100);
        if (n <= 0) {
            fprintf(stderr, "cannot read %s\n", path);
            continue;
        }
        CHECK_EQ_INT(gga_lower_bound(b, n, 1), traces[k].lb);
        struct gga_plan on, best, quick;
        CHECK(plan(b, n, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &on));
        // the default budget is small (a few greedy passes); a real one must do better
        CHECK(plan(b, n, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_BEST), &quick));
        struct gga_plan_params deep = params_of(1, SIZE_MAX, 1, GGA_STRATEGY_BEST);
        deep.search_work = TRACE_SEARCH_WORK;
        CHECK(plan(b, n, deep, &best));
        CHECK(best.peak <= quick.peak);
        CHECK_EQ_INT(plan_violations(b, n, &quick, 1, SIZE_MAX, 1), 0);
        CHECK_EQ_INT(plan_violations(b, n, &on, 1, SIZE_MAX, 1), 0);
        CHECK_EQ_INT(plan_violations(b, n, &best, 1, SIZE_MAX, 1), 0);
        CHECK(best.peak >= traces[k].lb);
        CHECK(best.peak <= on.peak);
        // B and C reach their bound within this work
        if (traces[k].name == 'B' || traces[k].name == 'C') {
            CHECK_EQ_INT(best.peak, traces[k].lb);
        }
        CHECK(best.bound >= traces[k].lb && best.bound <= best.peak);
        if (traces[k].name == 'K' && !CHECK_SMALL_RUN) {
            // where the bounded search stalls 7% above it, the exact search packs K at its bound
            // within the fixed work of ggalloc_plan_intervals_bound with a time budget of 0
            struct intervals iv;
            const bool made = intervals_of(b, n, &iv);
            CHECK(made);
            struct ggalloc_plan_options o = ggalloc_plan_options_default();
            o.time_budget = 0;
            size_t peak = 0, bound = 0;
            CHECK(made && ggalloc_plan_intervals_bound(n, iv.sizes, iv.starts, iv.ends, 1, &o, iv.offsets, &peak, &bound));
            CHECK_EQ_INT(peak, traces[k].lb);
            CHECK_EQ_INT(bound, traces[k].lb);
            if (made) {
                free(iv.sizes); // and the rest of iv
            }
        }
        log_ratio += log((double) best.peak / (double) traces[k].lb);
        n_ratio++;
        printf("trace %c: n %d, lb %zu, online %zu, default budget %zu, searched %zu (%.3f)\n", traces[k].name, n,
               traces[k].lb, on.peak, quick.peak, best.peak, (double) best.peak / (double) traces[k].lb);
        gga_plan_release(&on);
        gga_plan_release(&best);
        gga_plan_release(&quick);
        free(b);
    }
    // greedy by size alone ends 31-41% above the bounds: the search must have done real work
    // (the plans are deterministic under a work budget, so this holds on any machine)
    CHECK_EQ_INT(n_ratio, 11);
    const double geomean = exp(log_ratio / (n_ratio > 0 ? n_ratio : 1));
    printf("traces: geometric mean best/LB %.4f with %lld work units each\n", geomean, (long long) TRACE_SEARCH_WORK);
    // 1.0554 when written (1.1229 with the smaller work of the sanitizer builds)
    CHECK(geomean <= (CHECK_SMALL_RUN ? 1.15 : 1.09));
}

//
// ggalloc_plan_intervals
//

static void test_plan_intervals(void) {
    const size_t sizes[] = { 100, 50, 100, 10 };
    const int64_t starts[] = { 0, 1, 2, 0 };
    const int64_t ends[] = { 2, 3, 4, 4 };
    size_t offsets[4];
    size_t peak = 0;
    CHECK(ggalloc_plan_intervals(4, sizes, starts, ends, 1, offsets, &peak));
    CHECK_EQ_INT(ggalloc_intervals_lower_bound(4, sizes, starts, ends, 1), 160);
    CHECK_EQ_INT(peak, 160);
    for (int i = 0; i < 4; i++) {
        for (int j = i + 1; j < 4; j++) {
            const bool live = starts[i] < ends[j] && starts[j] < ends[i];
            const bool bytes = offsets[i] < offsets[j] + sizes[j] && offsets[j] < offsets[i] + sizes[i];
            CHECK(!(live && bytes));
        }
    }
    CHECK(ggalloc_plan_intervals(4, sizes, starts, ends, 64, offsets, &peak));
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(offsets[i] % 64, 0);
    }
    CHECK(peak >= ggalloc_intervals_lower_bound(4, sizes, starts, ends, 64));
    CHECK(ggalloc_plan_intervals(0, NULL, NULL, NULL, 1, NULL, &peak));
    CHECK_EQ_INT(peak, 0);

    log_capture_begin();
    const int64_t bad_ends[] = { 2, 3, 1, 4 };
    CHECK(!ggalloc_plan_intervals(4, sizes, starts, bad_ends, 1, offsets, &peak));
    CHECK(log_captured("block 2"));
    CHECK(!ggalloc_plan_intervals(4, sizes, starts, ends, 3, offsets, &peak));
    CHECK(log_captured("alignment 3"));
    CHECK(!ggalloc_plan_intervals(4, NULL, starts, ends, 1, offsets, &peak));
    CHECK(!ggalloc_plan_intervals(-1, sizes, starts, ends, 1, offsets, &peak));
    const size_t huge[] = { SIZE_MAX / 4, SIZE_MAX / 4, SIZE_MAX / 4, 1 };
    CHECK(!ggalloc_plan_intervals(4, huge, starts, ends, 1, offsets, &peak));
    CHECK(log_captured("overflows"));
    CHECK_EQ_INT(ggalloc_intervals_lower_bound(4, sizes, starts, bad_ends, 1), 0);
    CHECK(log_capture_errors >= 6);
    log_capture_end();
}

// Steps anywhere in int64_t, up to the whole range: planned (or refused) without overflow.
static void test_plan_intervals_extreme_steps(void) {
    const size_t sizes[] = { 10, 20, 30, 40 };
    const int64_t starts[] = { INT64_MIN, INT64_MIN, 0, INT64_MAX - 1 };
    const int64_t ends[] = { INT64_MAX, 0, INT64_MAX, INT64_MAX };
    size_t offsets[4];
    size_t peak = 0;
    CHECK(ggalloc_plan_intervals(4, sizes, starts, ends, 8, offsets, &peak));
    // block 0 overlaps all; 1 and 2 are disjoint ([.., 0) and [0, ..)); 2 and 3 overlap
    CHECK_EQ_INT(ggalloc_intervals_lower_bound(4, sizes, starts, ends, 8), 16 + 32 + 40);
    CHECK_EQ_INT(peak, 16 + 32 + 40);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(offsets[i] % 8, 0);
    }
    CHECK_EQ_INT(interval_violations(4, sizes, starts, ends, offsets, peak), 0);
    // one block over everything, alone and with the GGML planner
    const size_t one[] = { 10 };
    const int64_t lo[] = { INT64_MIN };
    const int64_t hi[] = { INT64_MAX };
    CHECK(ggalloc_plan_intervals(1, one, lo, hi, 8, offsets, &peak));
    CHECK_EQ_INT(peak, 16);
    struct ggalloc_plan_options o = ggalloc_plan_options_default();
    o.planner = GGALLOC_PLANNER_GGML;
    CHECK(ggalloc_plan_intervals_ex(4, sizes, starts, ends, 8, &o, offsets, &peak));
    CHECK(peak >= 16 + 32 + 40);
    // nine blocks near INT64_MIN and around 0 (found by fuzz-intervals): the first greedy plan is
    // 279 bytes, and the bounded search alone spent its whole turn near there; the exact search
    // takes the first turn on so few items and packs them at the bound
    {
        const int64_t m = INT64_MIN;
        const size_t s9[] = { 139, 139, 33, 104, 117, 36, 139, 3, 96 };
        const int64_t a9[] = { -104, 139, m + 138, m + 106, 17780, m + 139, m + 108, m + 104, 104 };
        const int64_t e9[] = { -93, 140, m + 146, m + 140, 17823, 192, m + 116, m + 112, 113 };
        size_t off9[9];
        size_t bound = 0;
        o = ggalloc_plan_options_default();
        o.time_budget = 0;
        o.seed = 2;
        CHECK(ggalloc_plan_intervals_bound(9, s9, a9, e9, 1, &o, off9, &peak, &bound));
        CHECK_EQ_INT(ggalloc_intervals_lower_bound(9, s9, a9, e9, 1), 246);
        CHECK_EQ_INT(peak, 246);
        CHECK_EQ_INT(bound, 246);
        CHECK_EQ_INT(interval_violations(9, s9, a9, e9, off9, peak), 0);
    }
    // sizes near 2^60 over lifetimes of several steps, where the first greedy order is above the
    // bound and the others are tried: size x lifetime passes int64_t and saturates (UBSan checks
    // this build)
    {
        const size_t sz[5] = { 1311673391471656960u, 1518838974330699776u, 1574008069765988352u,
                               1347702188490620928u, 1540231072560709632u };
        const int64_t st[5] = { 0, 7, 0, 4, 2 };
        const int64_t en[5] = { 5, 12, 8, 11, 3 };
        size_t off[5];
        size_t bound = 0;
        o = ggalloc_plan_options_default();
        o.time_budget = 0;
        CHECK(ggalloc_plan_intervals_bound(5, sz, st, en, 1, &o, off, &peak, &bound));
        CHECK(bound >= ggalloc_intervals_lower_bound(5, sz, st, en, 1) && peak >= bound);
        CHECK_EQ_INT(interval_violations(5, sz, st, en, off, peak), 0);
    }
    // an empty range at the very end is still empty
    const int64_t e_bad[] = { INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX - 1 };
    log_capture_begin();
    CHECK(!ggalloc_plan_intervals(4, sizes, starts, e_bad, 8, offsets, &peak));
    CHECK(log_captured("block 3"));
    log_capture_end();
}

// The options of ggalloc_plan_intervals_ex on a trace whose plan stays above the bound.
static void test_plan_intervals_ex(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/traces/J.csv", GGALLOC_DATA_DIR);
    struct gga_block * b = NULL;
    const int n = load_trace(path, &b);
    CHECK(n > 100);
    if (n <= 0) {
        return;
    }
    struct intervals iv;
    if (!intervals_of(b, n, &iv)) {
        CHECK(false);
        free(b);
        return;
    }
    const size_t * sizes = iv.sizes;
    const int64_t * starts = iv.starts;
    const int64_t * ends = iv.ends;
    size_t * offsets = iv.offsets;
    struct gga_plan online;
    CHECK(plan(b, n, params_of(1, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &online));
    const size_t lb = gga_lower_bound(b, n, 1);

    // GGML: the online plan, exactly
    struct ggalloc_plan_options o = ggalloc_plan_options_default();
    CHECK_EQ_INT(o.planner, GGALLOC_PLANNER_BEST);
    CHECK(o.time_budget > 0);
    o.planner = GGALLOC_PLANNER_GGML;
    size_t peak = 0;
    CHECK(ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &peak));
    CHECK_EQ_INT(peak, online.peak);
    int same = 0;
    for (int i = 0; i < n; i++) {
        same += offsets[i] == online.offset[i];
    }
    CHECK_EQ_INT(same, n);

    // a flag already set: the search stops at its first check with the greedy plan, valid
    volatile int cancel = 1;
    o = ggalloc_plan_options_default();
    o.cancel = &cancel;
    o.time_budget = 100; // the flag, not the clock, must end it
    size_t cancelled = 0;
    CHECK(ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &cancelled));
    struct gga_plan check = { n, NULL, offsets, 1, { cancelled }, cancelled, 0 };
    int * chunk0 = calloc((size_t) n, sizeof(int));
    check.chunk = chunk0;
    CHECK_EQ_INT(plan_violations(b, n, &check, 1, SIZE_MAX, 1), 0);
    CHECK(cancelled >= lb && cancelled <= online.peak);

    // a short clock budget with two seeds: valid plans no worse than the cancelled one
    for (uint64_t seed = 1; seed <= 2; seed++) {
        o = ggalloc_plan_options_default();
        o.time_budget = CHECK_SMALL_RUN ? 0.05 : 0.1;
        o.seed = seed;
        size_t p = 0;
        CHECK(ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &p));
        struct gga_plan c2 = { n, chunk0, offsets, 1, { p }, p, 0 };
        CHECK_EQ_INT(plan_violations(b, n, &c2, 1, SIZE_MAX, 1), 0);
        CHECK(p >= lb && p <= cancelled);
    }
    // budget 0: fixed work, the same plan twice
    o = ggalloc_plan_options_default();
    o.time_budget = 0;
    // budget 0: the fixed work of ggalloc_plan_intervals, and its plan
    size_t p1 = 0, p2 = 0;
    size_t * offsets2 = malloc((size_t) n * sizeof(*offsets2));
    CHECK(ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &p1));
    CHECK(ggalloc_plan_intervals(n, sizes, starts, ends, 1, offsets2, &p2));
    CHECK_EQ_INT(p1, p2);
    CHECK(memcmp(offsets, offsets2, (size_t) n * sizeof(*offsets)) == 0);
    free(offsets2);

    // bad options
    log_capture_begin();
    o = ggalloc_plan_options_default();
    o.planner = (enum ggalloc_planner) 7;
    CHECK(!ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &peak));
    CHECK(log_captured("planner 7"));
    o = ggalloc_plan_options_default();
    o.time_budget = -1;
    CHECK(!ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &peak));
    CHECK(log_captured("time_budget"));
    o.time_budget = NAN;
    CHECK(!ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, &o, offsets, &peak));
    CHECK(!ggalloc_plan_intervals_ex(n, sizes, starts, ends, 1, NULL, NULL, &peak));
    log_capture_end();

    gga_plan_release(&online);
    free(chunk0);
    free(iv.sizes); // and the rest of iv
    free(b);
}

// Above max_conflicts the offline packing is skipped: BEST then returns the online plan.
static void test_max_conflicts(void) {
    struct gga_block b[64];
    for (int i = 0; i < 64; i++) {
        b[i] = (struct gga_block) { (size_t) (64 + (i * 37) % 200), i / 2, i / 2 + 1 + (i * 7) % 9, -1 };
    }
    struct gga_plan on, best, capped;
    CHECK(plan(b, 64, params_of(8, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &on));
    // with a work budget, as bare lifetimes plan (gallocr's, none, makes one greedy pass alone)
    struct gga_plan_params p = params_of(8, SIZE_MAX, 1, GGA_STRATEGY_BEST);
    p.search_work = 1 << 20;
    CHECK(plan(b, 64, p, &best));
    p.max_conflicts = 4;
    CHECK(plan(b, 64, p, &capped));
    CHECK(best.peak < on.peak); // the offline packing does better here ...
    CHECK_EQ_INT(capped.peak, on.peak); // ... unless it is not allowed its conflict lists
    CHECK_EQ_INT(plan_violations(b, 64, &capped, 8, SIZE_MAX, 1), 0);
    gga_plan_release(&on);
    gga_plan_release(&best);
    gga_plan_release(&capped);
}

// The memo gives the same plan for the same blocks and params, and plans afresh when either
// changes, in the memory of the last plan when it fits; a plan made under a time budget is reused
// (the same blocks and budget keep their plan), one made with a cancel flag is not.
static void test_plan_memo(void) {
    struct gga_block b[40];
    for (int i = 0; i < 40; i++) {
        b[i] = (struct gga_block) { (size_t) (32 + (i * 53) % 300), i / 3, i / 3 + 1 + (i * 5) % 7, -1 };
    }
    struct gga_plan_memo memo;
    memset(&memo, 0, sizeof(memo));
    struct gga_plan_params p = params_of(16, SIZE_MAX, 1, GGA_STRATEGY_BEST);
    struct gga_plan direct;
    char err[128];
    CHECK(plan(b, 40, p, &direct));
    const struct gga_plan * first = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &p, err, sizeof(err));
    CHECK(first != NULL && memo.valid);
    CHECK(memcmp(first->offset, direct.offset, 40 * sizeof(size_t)) == 0);
    const size_t * first_offset = first->offset;
    const struct gga_plan * again = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &p, err, sizeof(err));
    CHECK(again == first && again->offset == first_offset); // the same plan, not made again
    CHECK_EQ_INT(again->peak, direct.peak);
    CHECK(memcmp(again->offset, direct.offset, 40 * sizeof(size_t)) == 0);
    // one block grows: a new plan, valid for the new blocks, in the same memory
    b[7].size += 4096;
    const struct gga_plan * changed = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &p, err, sizeof(err));
    CHECK(changed != NULL && changed->offset == first_offset);
    CHECK_EQ_INT(plan_violations(b, 40, changed, 16, SIZE_MAX, 1), 0);
    CHECK(changed->peak >= gga_lower_bound(b, 40, 16));
    CHECK(changed->peak != direct.peak);
    // other params: the online plan
    struct gga_plan_params po = params_of(16, SIZE_MAX, 1, GGA_STRATEGY_ONLINE);
    struct gga_plan ref;
    CHECK(plan(b, 40, po, &ref));
    const struct gga_plan * online = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &po, err, sizeof(err));
    CHECK(online != NULL && online->peak == ref.peak);
    CHECK(memcmp(online->offset, ref.offset, 40 * sizeof(size_t)) == 0);
    // bad input: NULL, with a message, and the plan held no more
    CHECK(memo.valid);
    CHECK(gga_plan_blocks_memo(&memo, NULL, 5, NULL, 0, &po, err, sizeof(err)) == NULL && err[0] != 0);
    CHECK(!memo.valid);
    CHECK(gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &po, err, sizeof(err)) != NULL && memo.valid);
    // more blocks than the memory holds: new memory, the same plans as without a memo
    struct gga_block more[60];
    for (int i = 0; i < 60; i++) {
        more[i] = (struct gga_block) { (size_t) (16 + (i * 37) % 500), i / 4, i / 4 + 1 + (i * 3) % 9, -1 };
    }
    struct gga_plan more_ref;
    CHECK(plan(more, 60, p, &more_ref));
    const struct gga_plan * grown = gga_plan_blocks_memo(&memo, more, 60, NULL, 0, &p, err, sizeof(err));
    CHECK(grown != NULL && grown->n == 60 && grown->peak == more_ref.peak);
    CHECK(memcmp(grown->offset, more_ref.offset, 60 * sizeof(size_t)) == 0);
    CHECK(memcmp(grown->chunk, more_ref.chunk, 60 * sizeof(int)) == 0);
    // under a time budget: a new plan (other params), then the same one again
    struct gga_plan_params pt = p;
    pt.time_budget = 0.01;
    const struct gga_plan * timed = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &pt, err, sizeof(err));
    CHECK(timed != NULL && memo.valid);
    CHECK_EQ_INT(plan_violations(b, 40, timed, 16, SIZE_MAX, 1), 0);
    const size_t timed_peak = timed->peak;
    size_t timed_offset[40];
    memcpy(timed_offset, timed->offset, sizeof(timed_offset));
    const struct gga_plan * timed_again = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &pt, err, sizeof(err));
    CHECK(timed_again == timed && timed_again->peak == timed_peak);
    CHECK(memcmp(timed_again->offset, timed_offset, sizeof(timed_offset)) == 0);
    // with a cancel flag (the search may have been cut short): planned, not reused
    static volatile int never = 0;
    struct gga_plan_params pc = pt;
    pc.cancel = &never;
    const struct gga_plan * cancellable = gga_plan_blocks_memo(&memo, b, 40, NULL, 0, &pc, err, sizeof(err));
    CHECK(cancellable != NULL && !memo.valid);
    CHECK_EQ_INT(plan_violations(b, 40, cancellable, 16, SIZE_MAX, 1), 0);
    // no blocks at all, twice (the second from the memo)
    const struct gga_plan * empty1 = gga_plan_blocks_memo(&memo, NULL, 0, NULL, 0, &p, err, sizeof(err));
    CHECK(empty1 != NULL && empty1->peak == 0 && memo.valid);
    const struct gga_plan * empty2 = gga_plan_blocks_memo(&memo, NULL, 0, NULL, 0, &p, err, sizeof(err));
    CHECK(empty2 == empty1 && empty2->n == 0);
    gga_plan_release(&direct);
    gga_plan_release(&ref);
    gga_plan_release(&more_ref);
    gga_plan_memo_release(&memo);
    gga_plan_memo_release(&memo); // twice is fine
    gga_plan_memo_release(NULL);
}


// Brute force for tiny instances: the smallest peak of lowest-fit placement over every order of
// the items (a group is one item: all its members at one offset). Every order gives a valid
// plan, so this is an upper bound on the optimum (and, by the classic argument on compacted
// plans, the optimum itself).
struct tiny {
    int n;
    const struct gga_block * b;
    int item[8];   // per block: its item
    int n_items;
    size_t off[8]; // per item
    bool used[8];
    size_t best;
};

static size_t tiny_fit(const struct tiny * t, int it_new, const bool * placed) {
    size_t x = 0;
    for (bool moved = true; moved;) {
        moved = false;
        for (int i = 0; i < t->n; i++) {
            if (t->item[i] != it_new) {
                continue;
            }
            for (int j = 0; j < t->n; j++) {
                const int q = t->item[j];
                if (!placed[q] || q == it_new || t->b[j].size == 0 || t->b[i].size == 0) {
                    continue;
                }
                if (t->b[i].start < t->b[j].end && t->b[j].start < t->b[i].end &&
                    x < t->off[q] + t->b[j].size && t->off[q] < x + t->b[i].size) {
                    x = t->off[q] + t->b[j].size;
                    moved = true;
                }
            }
        }
    }
    return x;
}

static void tiny_rec(struct tiny * t, int k, size_t peak) {
    if (peak >= t->best) {
        return;
    }
    if (k == t->n_items) {
        t->best = peak;
        return;
    }
    for (int q = 0; q < t->n_items; q++) {
        if (t->used[q]) {
            continue;
        }
        const size_t x = tiny_fit(t, q, t->used);
        size_t top = peak;
        for (int i = 0; i < t->n; i++) {
            if (t->item[i] == q && x + t->b[i].size > top) {
                top = x + t->b[i].size;
            }
        }
        t->off[q] = x;
        t->used[q] = true;
        tiny_rec(t, k + 1, top);
        t->used[q] = false;
    }
}

static void test_exact_tiny(void) {
    // random tiny instances, some with in-place chains: with a work budget BEST proves its plan
    // optimal (peak == bound), and no order of lowest-fit placement does better
    uint64_t x = 0x2545f4914f6cdd1dull;
    int above_lb = 0;
    const int runs = CHECK_SMALL_RUN ? 150 : 600;
    for (int r = 0; r < runs; r++) {
        struct gga_block b[8];
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        const int n = 2 + (int) (x % 6);
        const int T = 2 + (int) ((x >> 8) % 6);
        const size_t alignment = (x >> 16) % 3 == 0 ? 4 : 1;
        int n_groups = 0;
        for (int i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            const int64_t t0 = (int64_t) (x % (uint64_t) T);
            const int64_t t1 = t0 + 1 + (int64_t) ((x >> 8) % (uint64_t) (T - t0));
            size_t size = 1 + (size_t) ((x >> 16) % 6);
            if ((x >> 24) % 5 == 0) {
                size *= 7;
            }
            b[i] = (struct gga_block) { size, t0, t1, -1 };
            // sometimes a chain: this block continues the previous one, no larger, from its end
            if (i > 0 && (x >> 32) % 4 == 0 && b[i - 1].end < 20) {
                const int g = b[i - 1].group >= 0 ? b[i - 1].group : n_groups++;
                b[i - 1].group = g;
                b[i].group = g;
                b[i].start = b[i - 1].end;
                b[i].end = b[i].start + 1 + (int64_t) ((x >> 40) % 3);
                b[i].size = b[i - 1].size - (size_t) ((x >> 48) % 2) * (b[i - 1].size / 2);
            }
        }
        struct tiny t = { .n = n, .b = b, .best = SIZE_MAX };
        struct gga_block ab[8];
        for (int i = 0; i < n; i++) {
            ab[i] = b[i];
            ab[i].size = (b[i].size + alignment - 1) & ~(alignment - 1);
            t.item[i] = b[i].group >= 0 && i > 0 && b[i - 1].group == b[i].group ? t.item[i - 1] : t.n_items++;
        }
        t.b = ab;
        tiny_rec(&t, 0, 0);
        struct gga_plan_params pp = params_of(alignment, SIZE_MAX, 1, GGA_STRATEGY_BEST);
        pp.search_work = 20000000;
        struct gga_plan p;
        CHECK(plan(b, n, pp, &p));
        CHECK_EQ_INT(plan_violations(b, n, &p, alignment, SIZE_MAX, 1), 0);
        CHECK_EQ_INT(p.peak, p.bound);
        CHECK(p.bound <= t.best);
        CHECK(p.bound >= gga_lower_bound(b, n, alignment));
        above_lb += p.bound > gga_lower_bound(b, n, alignment);
        gga_plan_release(&p);
    }
    printf("exact: %d tiny instances proven optimal, %d of them above the max-live bound\n", runs, above_lb);
}

static void test_exact_proofs(void) {
    // the exact search on hand-made items, started below what is possible: each capacity under
    // the most bytes live at a step is refuted (a proof, raising the bound by the alignment),
    // then the plan is found at it. Steps 0..3; items: 4 bytes over [0, 2), 2 over [1, 3),
    // 2 over [1, 3), 4 over [2, 3): 8 bytes live at steps 1 and 2.
    struct gga_piece pieces[] = {
        { 4, 0, 2, 0 }, { 2, 1, 3, 1 }, { 2, 1, 3, 2 }, { 4, 2, 3, 3 },
    };
    int first[] = { 0, 1, 2, 3, 4 };
    size_t size[] = { 4, 2, 2, 4 };
    int64_t time_at[] = { 0, 1, 2, 3 };
    const struct gga_items it = { 4, pieces, 4, first, size, 4, time_at, NULL };
    size_t off[4] = { 0, 4, 6, 8 }; // a plan of 12 bytes
    size_t proven = 5;
    int64_t used = 0;
    const struct gga_exact_limits lim = { INT64_MAX, 0, 0, NULL, 1 << 20, 0 };
    int64_t next = 0;
    const size_t best = gga_exact_search(&it, 1, 12, &lim, off, &proven, &used, &next);
    CHECK_EQ_INT(best, 8);
    CHECK_EQ_INT(proven, 8);
    CHECK(used > 0);
    // the plan: no two items live at one step share a byte, all within 8
    for (int i = 0; i < 4; i++) {
        CHECK(off[i] + size[i] <= 8);
        for (int j = 0; j < i; j++) {
            const bool live = pieces[i].t0 < pieces[j].t1 && pieces[j].t0 < pieces[i].t1;
            CHECK(!live || off[i] >= off[j] + size[j] || off[j] >= off[i] + size[i]);
        }
    }
    // with alignment 4 the refutations step by 4: 4 is refuted, 8 found
    proven = 4;
    off[0] = 0; off[1] = 4; off[2] = 6; off[3] = 8;
    CHECK_EQ_INT(gga_exact_search(&it, 4, 12, &lim, off, &proven, &used, &next), 8);
    CHECK_EQ_INT(proven, 8);
    // a work limit of one unit: nothing is proven or found, the given plan stands
    const struct gga_exact_limits tiny = { 1, 0, 0, NULL, 1 << 20, 0 };
    proven = 5;
    off[0] = 0; off[1] = 4; off[2] = 6; off[3] = 8;
    CHECK_EQ_INT(gga_exact_search(&it, 1, 12, &tiny, off, &proven, &used, &next), 12);
    CHECK(proven <= 8);
    CHECK_EQ_INT(off[3], 8);
    // the try the limit cut is the one a later call resumes from, and resuming finds the plan
    CHECK_EQ_INT(next, 0);
    const struct gga_exact_limits resume = { INT64_MAX, 0, 0, NULL, 1 << 20, 4 };
    CHECK_EQ_INT(gga_exact_search(&it, 1, 12, &resume, off, &proven, &used, &next), 8);
    CHECK(next > 4);
    proven = 5;
    off[0] = 0; off[1] = 4; off[2] = 6; off[3] = 8;
    // a cancel flag already set: the same
    volatile int cancel = 1;
    const struct gga_exact_limits cancelled = { INT64_MAX, 0, 0, &cancel, 1 << 20, 0 };
    proven = 8;
    CHECK_EQ_INT(gga_exact_search(&it, 1, 12, &cancelled, off, &proven, &used, &next), 12);
    CHECK_EQ_INT(proven, 8);
    // too many overlapping pairs for max_adj: no search at all
    const struct gga_exact_limits narrow = { INT64_MAX, 0, 0, NULL, 2, 0 };
    CHECK_EQ_INT(gga_exact_search(&it, 1, 12, &narrow, off, &proven, &used, &next), 12);
    CHECK_EQ_INT(used, 0);

    // the public entry point: the bound for both planners, and a NULL bound refused
    const size_t sizes[] = { 4, 2, 2, 4 };
    const int64_t starts[] = { 0, 1, 1, 2 };
    const int64_t ends[] = { 2, 3, 3, 3 };
    size_t offsets[4], peak = 0, bound = 0;
    struct ggalloc_plan_options o = ggalloc_plan_options_default();
    CHECK(ggalloc_plan_intervals_bound(4, sizes, starts, ends, 1, &o, offsets, &peak, &bound));
    CHECK_EQ_INT(peak, 8);
    CHECK_EQ_INT(bound, 8);
    o.planner = GGALLOC_PLANNER_GGML;
    CHECK(ggalloc_plan_intervals_bound(4, sizes, starts, ends, 1, &o, offsets, &peak, &bound));
    CHECK_EQ_INT(bound, 8);
    CHECK(peak >= bound);
    CHECK(ggalloc_plan_intervals_bound(0, NULL, NULL, NULL, 1, &o, NULL, &peak, &bound));
    CHECK_EQ_INT(bound, 0);
    CHECK(!ggalloc_plan_intervals_bound(4, sizes, starts, ends, 1, &o, offsets, &peak, NULL));
}

static void test_cancel_ends_greedy(void) {
    // a flag set before the plan ends the conflict sweep and the greedy passes too: a large dense
    // instance gets ggml's online plan, valid, instead of passes that may take seconds
    const int n = 20000;
    size_t * sizes = malloc((size_t) n * sizeof(*sizes));
    int64_t * starts = malloc((size_t) n * sizeof(*starts));
    int64_t * ends = malloc((size_t) n * sizeof(*ends));
    size_t * offsets = malloc((size_t) n * sizeof(*offsets));
    struct gga_block * b = malloc((size_t) n * sizeof(*b));
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        starts[i] = i / 8;
        ends[i] = starts[i] + 1 + (int64_t) (x % 300);
        sizes[i] = 64 * (1 + (size_t) ((x >> 16) % 64));
        b[i] = (struct gga_block) { sizes[i], starts[i], ends[i], -1 };
    }
    volatile int cancel = 1;
    struct ggalloc_plan_options o = ggalloc_plan_options_default();
    o.cancel = &cancel;
    size_t peak = 0, online = 0, bound = 0;
    CHECK(ggalloc_plan_intervals_bound(n, sizes, starts, ends, 64, &o, offsets, &peak, &bound));
    struct gga_plan p = { n, NULL, offsets, 1, { peak }, peak, 0 };
    int * chunk0 = calloc((size_t) n, sizeof(int));
    p.chunk = chunk0;
    CHECK_EQ_INT(plan_violations(b, n, &p, 64, SIZE_MAX, 1), 0);
    CHECK_EQ_INT(bound, gga_lower_bound(b, n, 64));
    o = ggalloc_plan_options_default();
    o.planner = GGALLOC_PLANNER_GGML;
    CHECK(ggalloc_plan_intervals_ex(n, sizes, starts, ends, 64, &o, offsets, &online));
    CHECK_EQ_INT(peak, online);
    free(chunk0);
    free(sizes);
    free(starts);
    free(ends);
    free(offsets);
    free(b);
}

// A budget too short for the first greedy pass over a large instance: that pass is cut and the
// online plan stands, unless the budget starts after it (budget_after_first, as gallocr plans):
// then the plan is the one made with no budget at all, or smaller.
static void test_budget_after_first(void) {
    const int n = 6000; // about 240 live at once: the conflict graph is built
    struct gga_block * b = malloc((size_t) n * sizeof(*b));
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        b[i] = (struct gga_block) { 64 * (1 + (size_t) ((x >> 16) % 64)), i / 8, i / 8 + 1 + (int64_t) (x % 60), -1 };
    }
    struct gga_plan none, cut, after, online;
    CHECK(plan(b, n, params_of(64, SIZE_MAX, 1, GGA_STRATEGY_BEST), &none));
    CHECK(plan(b, n, params_of(64, SIZE_MAX, 1, GGA_STRATEGY_ONLINE), &online));
    struct gga_plan_params p = params_of(64, SIZE_MAX, 1, GGA_STRATEGY_BEST);
    p.time_budget = 1e-9;
    CHECK(plan(b, n, p, &cut));
    p.budget_after_first = true;
    CHECK(plan(b, n, p, &after));
    CHECK(none.peak < online.peak);      // the first pass wins without a budget
    CHECK_EQ_INT(cut.peak, online.peak); // cut short: the online plan
    CHECK(after.peak <= none.peak);
    CHECK_EQ_INT(plan_violations(b, n, &after, 64, SIZE_MAX, 1), 0);
    gga_plan_release(&none);
    gga_plan_release(&cut);
    gga_plan_release(&after);
    gga_plan_release(&online);
    free(b);
}

int main(void) {
    test_online_reuse();
    test_online_ties();
    test_online_coalesce();
    test_online_alignment();
    test_online_chunks();
    test_online_groups();
    test_best_random();
    test_radix_sort();
    test_best_small_path();
    test_akey_sort_stable();
    test_best_start_order();
    test_best_reaches_lb();
    test_best_large_equal_sizes();
    test_best_groups();
    test_best_chunks();
    test_empty_and_zero();
    test_bad_input();
    test_traces();
    test_plan_intervals();
    test_plan_intervals_extreme_steps();
    test_plan_intervals_ex();
    test_max_conflicts();
    test_plan_memo();
    test_exact_tiny();
    test_exact_proofs();
    test_cancel_ends_greedy();
    test_budget_after_first();
    return check_report("test-planner");
}
