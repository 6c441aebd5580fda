// Exact packing for GGA_STRATEGY_BEST on instances of up to a few thousand items (the search is
// recursive, one node frame per placement and one more per split: depth at most twice the
// items, so the caller caps the items, GGA_EXACT_MAX_ITEMS in planner-search.c): a complete
// decision search "is there a plan of at most C bytes?", run at C = the lower bound first.
// It either finds such a plan, proves that none exists (then C + alignment is a proven lower bound), or
// runs out of the work / time it was given. The method is the one of MiniMalloc (Moffitt,
// ASPLOS 2023), written here for the planner's items (lone blocks, or in-place chains whose
// pieces share one offset).
//
// Canonical plans. Every plan can be compacted (each item dropped until it rests on an item
// live beside it, or on 0) without growing, so only compacted plans are built: an item is
// always placed at its lowest offset given the items placed so far (the highest top of its
// placed neighbours, kept per item as the search goes). A compacted plan is built in one order
// only: by offset, ties by a static rank of the items, so a node may place only items whose
// (lowest offset, rank) is not below the last placement's. That also means nothing placed later
// goes below the current offset x.
//
// Dominance. If an unplaced item d could sit wholly below x (its lowest offset plus its size is
// at most x), the space under x over d's lifetime stays empty for ever, so d would end higher
// than a gap it fits in; the plan with d moved down into it is no larger and is built by another
// branch, so such a node is cut: a candidate at offset x is tried only when x is below every
// unplaced item's lowest top.
//
// Section inference. Sections are the steps just before a block ends (every other step's live
// set is a subset of the next such step's, up to blocks starting in between, so these carry the
// check; fewer sections make the per-node work smaller). In each, the unplaced items live there
// will all lie above the lowest of their lowest offsets, fl[s] (and above x), so that level plus
// the sum of their sizes must stay within C; and each unplaced item must still fit below C.
// Either failing cuts the node. At the lower bound these cuts are tight: a section live at the
// peak has no slack at all. fl is kept up to date as items are placed: a placement marks the
// sections where the placed item or a neighbour it raised held the floor, and only those are
// recomputed from their member lists (the full recomputation, over every unplaced item's span,
// took 75% of the time).
//
// Decomposition. cut[s] counts the unplaced items live across the border of sections s and s+1.
// When a placement brings it to 0, the unplaced items left and right of it never meet again:
// each side is solved as its own problem (with its own canonical order), in turn, and the node
// succeeds when all sides do, fails as soon as one side is proven infeasible. This turns a
// product of sub-searches into their sum.
//
// Driver. Each sub-problem ranks its items by one of three static orders (largest first: width
// of the lifetime in the caller's steps, area, and the most bytes live at a step of the item's
// lifetime, in three priorities), the seed breaking ties. The orders are tried in turn with a
// node limit that doubles each round (2n, 4n, ...), so that an order that happens to suit the
// instance ends the search early, and a proof of infeasibility (which does not depend on the
// order) comes from whichever round completes first. Work is counted in units of one inner-loop
// step (about a nanosecond), and the clock and cancel flag are read every GGA_EXACT_CHECK units.
// A node costs O(m + S) for the m unplaced items and S sections of its sub-problem, the sort of
// its candidates, and a placement: the item's neighbours, the spans of those it raises and the
// members of the sections whose floor it may raise. On the traces that is about a microsecond:
// A, I and K (154 to 454 blocks) pack at their bound after 20k to 35k nodes.

#include "planner-impl.h"

#include <stdlib.h>
#include <string.h>

#define GGA_EXACT_CHECK ((int64_t) 1 << 16)
#define GGA_EXACT_N_RANKS 3

enum gga_exact_status { GGA_EXACT_FOUND, GGA_EXACT_FAIL, GGA_EXACT_STOP };

// One adjacency entry: placing the owner at o raises `other`'s lowest offset to o + top.
struct gga_adj {
    int    other;
    size_t top;
};

// A candidate or a member of a sub-problem: the item and its static rank.
struct gga_xkey {
    size_t off;
    int64_t rank;
    int    item;
};

#define GGA_XKEY_LESS(x, y) ((x)->off != (y)->off ? (x)->off < (y)->off : (x)->rank < (y)->rank)
GGA_SORT_DEFINE(gga_xkey_sort, struct gga_xkey, GGA_XKEY_LESS)

struct gga_rkey {
    double  a, b, c;
    uint64_t tie;
    int     item;
};

#define GGA_RKEY_LESS(x, y) ((x)->a != (y)->a ? (x)->a > (y)->a : (x)->b != (y)->b ? (x)->b > (y)->b : \
                             (x)->c != (y)->c ? (x)->c > (y)->c : (x)->tie < (y)->tie)
GGA_SORT_DEFINE(gga_rkey_sort, struct gga_rkey, GGA_RKEY_LESS)

struct gga_exact {
    const struct gga_items * it;
    int        n;          // items in the search (size > 0)
    int      * items;      // their ids
    int        S;          // sections
    int      * s0, * s1;   // per item: its span of sections
    int      * pc0, * pc1; // per piece: its span of sections
    double   * width;      // per item: its lifetime in the caller's steps
    int      * adj_first;  // per item (n_items + 1)
    struct gga_adj * adj;
    size_t     cap;        // C
    bool     * placed;     // per item
    size_t   * minoff;     // per item: lowest offset given the items placed
    size_t   * result;     // per item: offset at its last placement (the plan, once found)
    size_t   * total;      // per section: bytes of the unplaced items live there
    int      * cut;        // per section border s | s+1: unplaced items live across it
    size_t   * fl;         // per section: the lowest of its unplaced items' lowest offsets
    int      * sec_first;  // per section (S + 1): its items in sec_item
    int      * sec_item;
    int64_t  * stamp;      // per section: the placement that last marked it
    int      * marked;     // the sections marked by the current placement
    int        n_marked;
    int64_t    n_stamp;
    struct gga_undo { int item; size_t minoff; } * undo; // item < 0: section -1 - item's floor
    int64_t    n_undo, cap_undo;
    struct gga_xkey * stack; // members of the open sub-problems, then candidates of the open nodes
    int64_t    n_stack, cap_stack;
    struct gga_rkey * rkeys;
    int        rank_kind;  // which static order ranks the members of a sub-problem
    uint64_t   seed;
    int64_t    nodes, node_limit;
    int64_t    work, work_limit, next_check;
    double     deadline;
    const volatile int * cancel;
    bool       stop;       // time, cancel or work ran out, or memory: the search ends
    bool       abort;      // this try's nodes ran out: the next try goes on
    bool       oom;
};

static uint64_t gga_exact_mix(uint64_t x) {
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27; x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static bool gga_exact_halt(struct gga_exact * e) {
    if (e->stop || e->abort) {
        return true;
    }
    if (e->nodes > e->node_limit) {
        e->abort = true;
        return true;
    }
    if (e->work > e->work_limit) {
        e->stop = true;
    } else if (e->work >= e->next_check) {
        e->next_check = e->work + GGA_EXACT_CHECK;
        if ((e->cancel != NULL && *e->cancel != 0) || (e->deadline > 0 && gga_now() >= e->deadline)) {
            e->stop = true;
        }
    }
    return e->stop;
}

static bool gga_exact_push(struct gga_exact * e, int64_t extra) {
    if (e->n_stack + extra <= e->cap_stack) {
        return true;
    }
    const int64_t cap = 2 * e->cap_stack > e->n_stack + extra ? 2 * e->cap_stack : e->n_stack + extra;
    struct gga_xkey * s = realloc(e->stack, (size_t) cap * sizeof(*s));
    if (s == NULL) {
        e->oom = e->stop = true;
        return false;
    }
    e->stack = s;
    e->cap_stack = cap;
    return true;
}

// Marks the sections of item i whose floor may rise now that i's lowest offset leaves old (the
// floor is the lowest of its unplaced items' lowest offsets: it can only change where i held it).
static void gga_exact_mark(struct gga_exact * e, int i, size_t old) {
    for (int s = e->s0[i]; s < e->s1[i]; s++) {
        if (e->fl[s] == old && e->stamp[s] != e->n_stamp) {
            e->stamp[s] = e->n_stamp;
            e->marked[e->n_marked++] = s;
        }
    }
    e->work += e->s1[i] - e->s0[i];
}

// Places item b at o: its neighbours' lowest offsets rise, its bytes leave the totals of its
// sections, it no longer crosses its borders, and the floors it held are recomputed from the
// sections' members (all logged for undo).
static bool gga_exact_place(struct gga_exact * e, int b, size_t o) {
    const struct gga_items * it = e->it;
    const int64_t need = (e->adj_first[b + 1] - e->adj_first[b]) + (int64_t) e->S + 1;
    if (e->n_undo + need > e->cap_undo) {
        const int64_t cap = 2 * e->cap_undo > e->n_undo + need ? 2 * e->cap_undo : e->n_undo + need;
        struct gga_undo * u = realloc(e->undo, (size_t) cap * sizeof(*u));
        if (u == NULL) {
            e->oom = e->stop = true;
            return false;
        }
        e->undo = u;
        e->cap_undo = cap;
    }
    e->n_stamp++;
    e->n_marked = 0;
    e->placed[b] = true;
    e->result[b] = o;
    gga_exact_mark(e, b, e->minoff[b]);
    // a placed item holds no floor: its lowest offset reads as none (restored on undo), so
    // that the recomputation below needs no test of placed[]
    e->undo[e->n_undo++] = (struct gga_undo) { b, e->minoff[b] };
    e->minoff[b] = SIZE_MAX;
    for (int k = e->adj_first[b]; k < e->adj_first[b + 1]; k++) {
        const int c = e->adj[k].other;
        const size_t top = o + e->adj[k].top;
        if (!e->placed[c] && e->minoff[c] < top) {
            e->undo[e->n_undo++] = (struct gga_undo) { c, e->minoff[c] };
            gga_exact_mark(e, c, e->minoff[c]);
            e->minoff[c] = top;
        }
    }
    for (int k = 0; k < e->n_marked; k++) {
        const int s = e->marked[k];
        size_t f = SIZE_MAX;
        for (int j = e->sec_first[s]; j < e->sec_first[s + 1]; j++) {
            const size_t m = e->minoff[e->sec_item[j]];
            f = m < f ? m : f;
        }
        e->work += e->sec_first[s + 1] - e->sec_first[s];
        if (f != e->fl[s]) {
            e->undo[e->n_undo++] = (struct gga_undo) { -1 - s, e->fl[s] };
            e->fl[s] = f;
        }
    }
    for (int p = it->first[b]; p < it->first[b + 1]; p++) {
        for (int s = e->pc0[p]; s < e->pc1[p]; s++) {
            e->total[s] -= it->pieces[p].size;
        }
    }
    for (int s = e->s0[b]; s + 1 < e->s1[b]; s++) {
        e->cut[s]--;
    }
    e->work += (e->adj_first[b + 1] - e->adj_first[b]) + 2 * (e->s1[b] - e->s0[b]);
    return true;
}

static void gga_exact_unplace(struct gga_exact * e, int b, int64_t undo_mark) {
    const struct gga_items * it = e->it;
    while (e->n_undo > undo_mark) {
        const struct gga_undo u = e->undo[--e->n_undo];
        if (u.item >= 0) {
            e->minoff[u.item] = u.minoff;
        } else {
            e->fl[-1 - u.item] = u.minoff;
        }
    }
    for (int p = it->first[b + 1] - 1; p >= it->first[b]; p--) {
        for (int s = e->pc1[p] - 1; s >= e->pc0[p]; s--) {
            e->total[s] += it->pieces[p].size;
        }
    }
    for (int s = e->s0[b]; s + 1 < e->s1[b]; s++) {
        e->cut[s]++;
    }
    e->placed[b] = false;
}

static enum gga_exact_status gga_exact_range(struct gga_exact * e, int64_t from, int64_t to, int a, int c);

// One node of the sub-problem whose members are stack[m0, m1) over sections [a, c); x and xr:
// the offset and rank of the last placement in it.
static enum gga_exact_status gga_exact_node(struct gga_exact * e, int64_t m0, int64_t m1, int a, int c,
        size_t x, int64_t xr) {
    const struct gga_items * it = e->it;
    e->nodes++;
    if (gga_exact_halt(e)) {
        return GGA_EXACT_STOP;
    }
    // one pass over the members: every unplaced one (a placed one reads SIZE_MAX) must still
    // fit; the canonical ones (not below the last placement) are gathered as candidates, and the
    // lowest top of them all then drops the dominated ones
    if (!gga_exact_push(e, m1 - m0)) {
        return GGA_EXACT_STOP;
    }
    const int64_t c0 = e->n_stack;
    size_t min_top = SIZE_MAX;
    int n_left = 0;
    for (int64_t k = m0; k < m1; k++) {
        const int i = e->stack[k].item;
        const size_t mo = e->minoff[i];
        if (mo == SIZE_MAX) {
            continue;
        }
        n_left++;
        const size_t top = mo + it->size[i];
        if (top > e->cap) {
            e->n_stack = c0;
            return GGA_EXACT_FAIL;
        }
        min_top = top < min_top ? top : min_top;
        const int64_t r = e->stack[k].rank;
        if (mo > x || (mo == x && r > xr)) {
            e->stack[e->n_stack++] = (struct gga_xkey) { mo, r, i };
        }
    }
    e->work += (m1 - m0) + (c - a);
    if (n_left == 0) {
        e->n_stack = c0;
        return GGA_EXACT_FOUND;
    }
    // per section, the unplaced items all go above x and above the lowest of their lowest
    // offsets, fl (which is at least the top of the items placed there)
    for (int s = a; s < c; s++) {
        if (e->total[s] > 0) {
            const size_t f = e->fl[s] > x ? e->fl[s] : x;
            if (f + e->total[s] > e->cap) {
                e->n_stack = c0;
                return GGA_EXACT_FAIL;
            }
        }
    }
    int64_t kept = c0;
    for (int64_t k = c0; k < e->n_stack; k++) {
        if (e->stack[k].off < min_top) {
            e->stack[kept++] = e->stack[k];
        }
    }
    e->n_stack = kept;
    const int64_t c1 = e->n_stack;
    gga_xkey_sort(e->stack + c0, c1 - c0);
    e->work += 4 * (c1 - c0);
    enum gga_exact_status st = GGA_EXACT_FAIL;
    for (int64_t k = c0; k < c1 && st == GGA_EXACT_FAIL; k++) {
        const struct gga_xkey cand = e->stack[k];
        const int b = cand.item;
        const int64_t mark = e->n_undo;
        if (!gga_exact_place(e, b, cand.off)) {
            return GGA_EXACT_STOP;
        }
        bool split = false;
        for (int s = e->s0[b]; s + 1 < e->s1[b] && !split; s++) {
            split = e->cut[s] == 0;
        }
        if (split) {
            // the sections still holding unplaced items: when they all lie on one side of every
            // zero cut, nothing became independent and the same search goes on, narrowed
            int lo = c, hi = a;
            for (int64_t k = m0; k < m1; k++) {
                const int i = e->stack[k].item;
                if (!e->placed[i]) {
                    lo = e->s0[i] < lo ? e->s0[i] : lo;
                    hi = e->s1[i] > hi ? e->s1[i] : hi;
                }
            }
            bool apart = false;
            for (int s = lo; s + 1 < hi && !apart; s++) {
                apart = e->cut[s] == 0;
            }
            e->work += (m1 - m0) + (hi - lo);
            if (lo >= hi) {
                st = gga_exact_node(e, m0, m1, a, c, cand.off, cand.rank);
            } else if (!apart) {
                st = gga_exact_node(e, m0, m1, lo, hi, cand.off, cand.rank);
            } else {
                st = gga_exact_range(e, m0, m1, lo, hi);
            }
        } else {
            st = gga_exact_node(e, m0, m1, a, c, cand.off, cand.rank);
        }
        gga_exact_unplace(e, b, mark);
    }
    e->n_stack = c0;
    return st;
}

// Solves the unplaced items among stack[from, to) (all of them live inside sections [a, c)) as
// independent sub-problems, split at every border no unplaced item crosses.
static enum gga_exact_status gga_exact_range(struct gga_exact * e, int64_t from, int64_t to, int a, int c) {
    const struct gga_items * it = e->it;
    int sa = a;
    while (sa < c) {
        int sc = sa + 1;
        while (sc < c && e->cut[sc - 1] > 0) {
            sc++;
        }
        // the members: unplaced items of [sa, sc), ranked by the static order
        int nm = 0;
        for (int64_t k = from; k < to; k++) {
            const int i = e->stack[k].item;
            if (!e->placed[i] && e->s0[i] >= sa && e->s0[i] < sc) {
                size_t most = 0;
                for (int s = e->s0[i]; s < e->s1[i]; s++) {
                    most = e->total[s] > most ? e->total[s] : most;
                }
                const double width = e->width[i];
                const double size = (double) it->size[i];
                const double area = width * size;
                const double w[3] = { width, area, (double) most };
                static const int pick[GGA_EXACT_N_RANKS][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 2, 0, 1 } };
                const int * pk = pick[e->rank_kind];
                e->rkeys[nm++] = (struct gga_rkey) { w[pk[0]], w[pk[1]], w[pk[2]],
                    e->seed != 0 ? gga_exact_mix(e->seed ^ (uint64_t) i) : (uint64_t) i, i };
                e->work += e->s1[i] - e->s0[i];
            }
        }
        e->work += to - from;
        if (nm > 0) {
            gga_rkey_sort(e->rkeys, nm);
            if (!gga_exact_push(e, nm)) {
                return GGA_EXACT_STOP;
            }
            const int64_t m0 = e->n_stack;
            for (int k = 0; k < nm; k++) {
                e->stack[e->n_stack++] = (struct gga_xkey) { 0, k, e->rkeys[k].item };
            }
            const enum gga_exact_status st = gga_exact_node(e, m0, e->n_stack, sa, sc, 0, -1);
            e->n_stack = m0;
            if (st != GGA_EXACT_FOUND) {
                return st;
            }
        }
        sa = sc;
    }
    return GGA_EXACT_FOUND;
}

// One decision search at capacity cap with the given static order and node limit.
static enum gga_exact_status gga_exact_try(struct gga_exact * e, size_t cap, int rank_kind, int64_t node_limit) {
    const struct gga_items * it = e->it;
    e->cap = cap;
    e->rank_kind = rank_kind;
    e->nodes = 0;
    e->node_limit = node_limit;
    e->abort = false;
    e->n_undo = 0;
    e->n_stack = 0;
    memset(e->total, 0, (size_t) e->S * sizeof(*e->total));
    memset(e->cut, 0, (size_t) e->S * sizeof(*e->cut));
    for (int s = 0; s < e->S; s++) {
        e->fl[s] = e->sec_first[s + 1] > e->sec_first[s] ? 0 : SIZE_MAX;
    }

    for (int i = 0; i < it->n_items; i++) {
        e->placed[i] = false;
        e->minoff[i] = 0;
        e->result[i] = 0;
    }
    if (!gga_exact_push(e, e->n)) {
        return GGA_EXACT_STOP;
    }
    for (int k = 0; k < e->n; k++) {
        const int i = e->items[k];
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            for (int s = e->pc0[p]; s < e->pc1[p]; s++) {
                e->total[s] += it->pieces[p].size;
            }
        }
        for (int s = e->s0[i]; s + 1 < e->s1[i]; s++) {
            e->cut[s]++;
        }
        e->stack[e->n_stack++] = (struct gga_xkey) { 0, k, i };
    }
    // the rank_kind-th order is used by every sub-problem; ranks are rewritten there
    return gga_exact_range(e, 0, e->n, 0, e->S);
}

// Whether e's adjacency fits in max_adj entries; builds it and the spans (false: too large or
// out of memory).
static bool gga_exact_init(struct gga_exact * e, const struct gga_items * it, int64_t max_adj) {
    const int ni = it->n_items;
    const int np = it->n_pieces;
    memset(e, 0, sizeof(*e));
    e->it = it;
    e->pc0 = malloc(((size_t) np + 1) * sizeof(*e->pc0));
    e->pc1 = malloc(((size_t) np + 1) * sizeof(*e->pc1));
    e->width = malloc(((size_t) ni + 1) * sizeof(*e->width));
    int * coarse = calloc((size_t) it->n_times + 2, sizeof(*coarse));
    if (!e->pc0 || !e->pc1 || !e->width || !coarse) {
        free(coarse);
        return false;
    }
    // sections: the steps just before a block ends, where the live sets are largest (every
    // other step's live set is a subset of the next such step's, up to blocks that start in
    // between); coarse[t] counts them below step t
    for (int p = 0; p < np; p++) {
        if (it->pieces[p].size > 0) {
            coarse[it->pieces[p].t1 - 1] = 1;
        }
    }
    int n_sections = 0;
    for (int t = 0; t <= it->n_times; t++) {
        const int m = coarse[t];
        coarse[t] = n_sections;
        n_sections += m;
    }
    for (int p = 0; p < np; p++) {
        e->pc0[p] = coarse[it->pieces[p].t0];
        e->pc1[p] = coarse[it->pieces[p].t1];
    }
    free(coarse);
    e->S = n_sections > 0 ? n_sections : 1;
    e->items = malloc((size_t) ni * sizeof(*e->items));
    e->s0 = malloc((size_t) ni * sizeof(*e->s0));
    e->s1 = malloc((size_t) ni * sizeof(*e->s1));
    e->adj_first = calloc((size_t) ni + 1, sizeof(*e->adj_first));
    e->placed = malloc((size_t) ni * sizeof(*e->placed));
    e->minoff = malloc((size_t) ni * sizeof(*e->minoff));
    e->result = malloc((size_t) ni * sizeof(*e->result));
    e->total = malloc((size_t) e->S * sizeof(*e->total));
    e->cut = malloc((size_t) e->S * sizeof(*e->cut));
    e->fl = malloc((size_t) e->S * sizeof(*e->fl));

    e->rkeys = malloc((size_t) ni * sizeof(*e->rkeys));
    e->cap_undo = 4 * (int64_t) ni + 16;
    e->undo = malloc((size_t) e->cap_undo * sizeof(*e->undo));
    e->cap_stack = 8 * (int64_t) ni + 16;
    e->stack = malloc((size_t) e->cap_stack * sizeof(*e->stack));
    // pieces of nonzero size by start, for the sweep that lists the overlapping pairs
    struct gga_xkey * byst = malloc(((size_t) np + 1) * sizeof(*byst));
    int * live = malloc(((size_t) np + 1) * sizeof(*live));
    if (!e->items || !e->s0 || !e->s1 || !e->adj_first || !e->placed || !e->minoff || !e->result ||
        !e->total || !e->cut || !e->fl || !e->rkeys || !e->undo || !e->stack || !byst || !live) {
        free(byst);
        free(live);
        return false;
    }
    for (int i = 0; i < ni; i++) {
        e->s0[i] = e->pc0[it->first[i]];
        e->s1[i] = e->pc1[it->first[i + 1] - 1];
        e->width[i] = (double) it->time_at[it->pieces[it->first[i + 1] - 1].t1] - (double) it->time_at[it->pieces[it->first[i]].t0];
        if (it->size[i] > 0) {
            e->items[e->n++] = i;
        }
    }
    // the members of each section (a counting sort of the items by the sections they span)
    int64_t n_members = 0;
    for (int k = 0; k < e->n; k++) {
        n_members += e->s1[e->items[k]] - e->s0[e->items[k]];
    }
    e->sec_first = calloc((size_t) e->S + 1, sizeof(*e->sec_first));
    e->sec_item = n_members <= max_adj ? malloc((size_t) (n_members > 0 ? n_members : 1) * sizeof(*e->sec_item)) : NULL;
    e->stamp = calloc((size_t) e->S, sizeof(*e->stamp));
    e->marked = malloc((size_t) e->S * sizeof(*e->marked));
    if (!e->sec_first || !e->sec_item || !e->stamp || !e->marked) {
        free(byst);
        free(live);
        return false;
    }
    for (int k = 0; k < e->n; k++) {
        for (int s = e->s0[e->items[k]]; s < e->s1[e->items[k]]; s++) {
            e->sec_first[s + 1]++;
        }
    }
    for (int s = 0; s < e->S; s++) {
        e->sec_first[s + 1] += e->sec_first[s];
    }
    for (int k = 0; k < e->n; k++) {
        const int i = e->items[k];
        for (int s = e->s0[i]; s < e->s1[i]; s++) {
            e->sec_item[e->sec_first[s]++] = i;
        }
    }
    for (int s = e->S; s > 0; s--) {
        e->sec_first[s] = e->sec_first[s - 1];
    }
    e->sec_first[0] = 0;
    int nb = 0;
    for (int p = 0; p < np; p++) {
        if (it->pieces[p].size > 0) {
            byst[nb++] = (struct gga_xkey) { (size_t) it->pieces[p].t0, p, p };
        }
    }
    gga_xkey_sort(byst, nb);
    // two sweeps: count each item's entries, then fill them
    bool ok = true;
    for (int pass = 0; pass < 2 && ok; pass++) {
        int n_live = 0;
        int64_t total = 0;
        for (int k = 0; k < nb && ok; k++) {
            const struct gga_piece * pp = &it->pieces[byst[k].item];
            int l2 = 0;
            for (int l = 0; l < n_live; l++) {
                const struct gga_piece * pq = &it->pieces[live[l]];
                if (pq->t1 <= pp->t0) {
                    continue;
                }
                live[l2++] = live[l];
                if (pq->item == pp->item) {
                    continue;
                }
                if (pass == 0) {
                    e->adj_first[pp->item + 1]++;
                    e->adj_first[pq->item + 1]++;
                    total += 2;
                    ok = total <= max_adj;
                } else {
                    e->adj[e->adj_first[pp->item]++] = (struct gga_adj) { pq->item, pp->size };
                    e->adj[e->adj_first[pq->item]++] = (struct gga_adj) { pp->item, pq->size };
                }
            }
            n_live = l2;
            live[n_live++] = byst[k].item;
        }
        if (pass == 0 && ok) {
            for (int i = 0; i < ni; i++) {
                e->adj_first[i + 1] += e->adj_first[i];
            }
            e->adj = malloc((size_t) (total > 0 ? total : 1) * sizeof(*e->adj));
            ok = e->adj != NULL;
        }
    }
    if (ok) {
        // the fill moved each start to the next item's: shift back
        for (int i = ni; i > 0; i--) {
            e->adj_first[i] = e->adj_first[i - 1];
        }
        e->adj_first[0] = 0;
    }
    free(byst);
    free(live);
    return ok;
}

static void gga_exact_release(struct gga_exact * e) {
    free(e->items);
    free(e->s0);
    free(e->s1);
    free(e->pc0);
    free(e->pc1);
    free(e->width);
    free(e->adj_first);
    free(e->adj);
    free(e->placed);
    free(e->minoff);
    free(e->result);
    free(e->total);
    free(e->cut);
    free(e->fl);
    free(e->sec_first);
    free(e->sec_item);
    free(e->stamp);
    free(e->marked);

    free(e->rkeys);
    free(e->undo);
    free(e->stack);
    memset(e, 0, sizeof(*e));
}

size_t gga_exact_search(const struct gga_items * it, size_t alignment, size_t best, const struct gga_exact_limits * lim,
        size_t * item_offset, size_t * proven, int64_t * work_used, int64_t * next_try) {
    struct gga_exact e;
    memset(&e, 0, sizeof(e));
    *work_used = 0;
    *next_try = lim->first_try;
    if (*proven >= best || !gga_exact_init(&e, it, lim->max_adj)) {
        gga_exact_release(&e);
        return best;
    }
    e.deadline = lim->deadline;
    e.cancel = lim->cancel;
    e.seed = lim->seed;
    e.work_limit = lim->work;

    e.next_check = 0; // the first node reads the clock and the flag
    // rounds of the three orders, the node limit doubling each round
    int64_t t = lim->first_try;
    for (; *proven < best && !e.stop; t++) {
        const int64_t round = t / GGA_EXACT_N_RANKS;
        const int64_t limit = round < 40 ? ((int64_t) 2 * (e.n + 1)) << round : INT64_MAX;
        const size_t cap = *proven;
        const enum gga_exact_status st = gga_exact_try(&e, cap, (int) (t % GGA_EXACT_N_RANKS), limit);
        if (st == GGA_EXACT_FOUND) {
            size_t peak = 0;
            for (int k = 0; k < e.n; k++) {
                const int i = e.items[k];
                const size_t top = e.result[i] + it->size[i];
                peak = top > peak ? top : peak;
            }
            if (peak < best) {
                best = peak;
                for (int i = 0; i < it->n_items; i++) {
                    item_offset[i] = it->size[i] > 0 ? e.result[i] : 0;
                }
            }
        } else if (st == GGA_EXACT_FAIL) {
            // no plan within cap: the next multiple of the alignment is a lower bound
            *proven = (cap + alignment) & ~(alignment - 1);
        }
    }
    *work_used = e.work;
    *next_try = e.stop && t > lim->first_try ? t - 1 : t; // the try the limits cut is done again
    gga_exact_release(&e);
    return best;
}
