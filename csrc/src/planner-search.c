// Offline packing for GGA_STRATEGY_BEST: items (lone blocks, or in-place chains that share one
// offset) get offsets so that items live at the same step never share a byte, with as small a
// peak as the budget allows.
//
// Conflict graph. Two pieces conflict when their lifetimes overlap. The pieces are sorted by start
// (a counting sort over the compressed steps, which also gives start_at[t], the first piece in that
// order starting at or after t) and swept with a list of the pieces still live; each new piece
// lists the live ones as its earlier neighbours: O(n + T + n * L + E) for L the most pieces live at
// once and E the number of conflicts. A piece's later neighbours are not stored: they are exactly
// the pieces after it in sweep order that start before it ends, a range of the order read off
// start_at. So the graph is the sweep order (each piece's size, item and end side by side, so that
// the range reads them in sequence) plus one list of E/2 entries, written as the sweep goes, with
// no second pass to fill adjacency arrays; the neighbours come in a fixed order, so plans are
// deterministic. When E would pass GGA_MAX_EDGES (or the caller's gga_plan_params.max_conflicts)
// the greedy passes and searches are skipped: with a time budget and one chunk, the plan comes from
// a decomposition in time (planner-improve.c), which holds one piece's conflicts at a time;
// otherwise the caller keeps ggml's online plan, which needs no graph. Memory and time stay bounded
// on huge dense instances. The first greedy order needs no graph, so it is made first and the graph
// is built for its pass alone: each earlier list keeps only the neighbours placed before its piece
// (the others meet the piece in their own later range), half the lists and a quarter fewer
// neighbours read in the pass that most plans end with. Another order or the search builds the
// graph whole.
//
// Greedy placement. Items are taken in a given order; each goes to the lowest offset where it
// overlaps none of its already placed neighbours: x starts at 0 and is raised out of any
// neighbour's forbidden range holding it, while the neighbours are read, and then in a few passes
// over the ranges still above x (a pass that moves nothing ends it); past GGA_FIT_PASSES, as on
// a tall stack of neighbours, the ranges left are sorted by their low end and swept once. An
// item of degree d costs O(d) on model graphs and random DAGs and O(d log d) at worst, a pass
// O(E log E). Offsets are kept as signed figures with a sentinel for "not placed" that lies
// below every candidate, and a neighbour's range is dropped, kept or raises x by selects, with
// no branch on the data (where a neighbour lies is a coin toss: the mispredictions cost more
// than the scan). Several orders are tried, each computed only when the previous ones left a
// gap to the lower bound (so a graph whose first pass meets the bound
// costs one pass), each with its own merit; they are tried in this order:
//   - by size, largest first, ties by start step: among items of one size, lowest offset in
//     order of start is the classic optimal colouring of an interval graph (each item takes the
//     lowest slot freed by those that ended), so the many equal sizes of model graphs (tensors
//     of a few widths) stack without the holes that a tie-break by length leaves. This one pass
//     reaches the lower bound on GPT-2 and on every random DAG of bench/plan (500 to 155k
//     nodes), and needs nothing but a sort. On random-dag-2000-s2, where the items live at the
//     one peak step are six of 128 KiB and a 128-byte in-place chain live over the whole graph,
//     the orders tried before (breadth, then size with ties by length) let the 128 KiB tensors
//     of an earlier busy stretch take seven slots where six suffice, and the plan ended 4%
//     (32 KiB) above the bound; on the 15.6k- and 155k-node DAGs, 0.7% and 3% above;
//   - by breadth: largest "most bytes live at any step of the item's lifetime" first (ties: the
//     larger, then the longer), so the items of the tightest steps are packed first (range maxima
//     from a max segment tree over the steps, O(T + n log T));
//   - by size, largest first (ties: longest lifetime): big items first leave small holes to
//     small items;
//   - by conflicts: largest total size of conflicting items first;
//   - by lifetime, longest first, and by area (size x lifetime).
// All six run on instances small enough for the search (GGA_SEARCH_MAX_ITEMS); larger ones try
// the first three; above GGA_FEW_ORDERS_ITEMS items only the first, one pass, so that planning
// stays within a few times the online strategy's time. Without a work or time budget of the
// caller's (gallocr's reserve, which programs written for ggml call whenever the graph changes,
// and whose planner costs about one pass) only the first runs too, and nothing is searched: on
// the random DAGs where it misses the bound (about one in ten), the other orders and the search
// took a fresh allocator's first reserve to 3-7 times the online strategy's, for plans 0.4%
// smaller on average over 200 DAGs of 300 to 4,000 nodes (geometric mean 1.0025 of the bound
// instead of 1.0064; ggml's own plans end 10-30% above it). With a time budget (bare lifetimes),
// a plan above the bound that neither search below takes (more than GGA_EXACT_MAX_ITEMS items)
// gets the rest of the budget in local improvement (planner-improve.c): windows of time around
// the peak re-placed, kept when lower, until the plan meets the bound or the budget ends.
// The smallest plan wins. With a max buffer size the same orders fill chunks: an item goes to
// the first chunk where it fits below the chunk's limit (max(max_size, the size of the item that
// opened it); the last allowed chunk is unbounded), else it opens a new chunk.
//
// Search. When the items fit in one chunk, there are at most GGA_SEARCH_MAX_ITEMS of them and
// the best greedy plan is above the lower bound, a depth-first branch and bound looks for a plan
// of at most C bytes. It builds compacted plans only (every item as low as the items below it
// allow; any plan can be pushed down into one), in the manner of skyline packing: the state is a
// level h[t] per step below which nothing more goes. Each node takes the leftmost lowest stretch
// of the skyline that still has items to place and branches over the items whose lifetime lies
// inside the stretch, placing one at the stretch's level; the last branch declares the stretch
// dead up to the lower of its two neighbours (nothing starts at this level there). The item
// placed is the leftmost one at that level in the stretch: the steps of the stretch before its
// start are declared dead too (up to the lower of the left neighbour and the item's top), so
// that each set of items at a level is built in one order only, not in every order (the same
// argument as for the whole stretch: nothing can rest at that level there any more). Candidates
// are tried leftmost first, which with this rule keeps a dive from leaving gaps, ties by a static
// priority (greedy order by breadth, area, size or lifetime), perturbed at each restart by up to
// half the number of items (among items of one start a strong shake-up pays: n/8 ended 1% higher
// on the traces, for three seeds); on the
// traces this took the 1 s geometric mean from 1.05 to 1.03 of the bound and three more traces
// (F, G, H) to or within 0.3% of it. A branch is cut when an unplaced item's lowest offset (the
// highest level over its lifetime) plus its size passes C, or when at some step the unplaced
// items live there, which all lie above the lowest of their lowest offsets, need more than what
// is left up to C.
// Driver: C = the lower bound first, once per priority; then a descent from the best plan:
// C = best - step, GGA_RESTARTS restarts of GGA_DIVES times the work of one straight dive each;
// a success keeps the step, a failure halves it; a stalled descent starts again from the best
// plan (at most GGA_MAX_DESCENTS times) while budget is left. Found plans are real plans: the
// result is the smallest plan seen, never worse than the greedy one.
// Time is bounded by counting work (steps swept, items visited: roughly one unit per inner-loop
// iteration, about a nanosecond), not by the clock, so the plan is deterministic; unless the
// caller gives a time budget (gga_plan_params.time_budget, bare lifetimes): then the clock and
// the optional cancel flag are read every GGA_CHECK_EVERY units, the descents go on (restarting
// from the best plan, one small step below it, with new perturbations) until the deadline, and
// the search ends at once when a plan meets the lower bound. The caller sets the work budget
// (gga_plan_params.search_work); without one (gallocr) nothing is searched (see the orders
// above). Nothing is searched when a greedy plan meets the lower bound (model graphs). A node costs
// O(n + T + the steps spanned by the unplaced items).
//
// Exact search. When the caller gives a budget of its own (a time budget, or search_work: bare
// lifetimes, never gallocr's reserve, which gives neither), instances of up to
// GGA_EXACT_MAX_ITEMS items also get the exact search of planner-exact.c, which packs at the
// bound where this search stalls a few percent above it (three of the eleven traces) and proves
// bounds above the max-live one. The two take turns of doubling length, the first turn of this
// search GGA_FIRST_SLICE of the budget and each turn of the exact search GGA_EXACT_WEIGHT times
// the turn before it (the shares were chosen on the traces under fixed work budgets of 0.6 and
// 1.3 G units: this search alone first loses A and I, the exact search first loses F, G and H).
// Greedy passes and the conflict sweep read the clock (and the cancel flag) every
// GGA_GREEDY_CHECK_EVERY items too: on a huge dense instance one pass can take seconds, and when
// the budget ends the first one, the offline plan is dropped for ggml's online plan.

#define _POSIX_C_SOURCE 200809L // clock_gettime with -std=c11

#include "planner-impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GGA_MAX_EDGES         ((int64_t) 1 << 22)
#define GGA_SEARCH_MAX_ITEMS  1024
#define GGA_EXACT_MAX_ITEMS   2048 // the exact search recurses once or twice per placement: 4096 frames of about 256 bytes at most
#define GGA_EXACT_MAX_ADJ     ((int64_t) 1 << 22) // 64 MiB of adjacency at most
#define GGA_FIRST_SLICE       0.2
#define GGA_EXACT_WEIGHT      1.5
#define GGA_EXACT_FIRST_ITEMS 64 // up to this many items the exact search takes the first turn
#define GGA_MAX_DESCENTS      8
#define GGA_FEW_ORDERS_ITEMS  4096
#define GGA_RESTARTS          16
#define GGA_DIVES             2
// Pieces swept or items placed between two readings of the clock and the cancel flag, in the
// graph's sweep and the greedy passes
#define GGA_GREEDY_CHECK_EVERY 1024

static bool gga_expired(double deadline, const volatile int * cancel) {
    return (cancel != NULL && *cancel != 0) || (deadline > 0 && gga_now() >= deadline);
}

// Pieces of nonzero size in sweep order (by start, then index). A piece's neighbours are its
// earlier ones (listed by the sweep) and its later ones, which are exactly the pieces after it
// in sweep order that start before it ends: a range of the order, found with start_at.
// What a neighbour scan reads of a piece, in one place: neighbours are met by position, and a
// scan reads a piece's item (whose offset it looks up) and its size; the graph's sweep reads the
// item and the end, and nothing of the (larger) piece records.
struct gga_opiece {
    size_t size;
    int    item;
    int    t1;
};

struct gga_graph {
    struct gga_opiece * ord; // n_ord pieces by (start, index)
    int       n_ord;
    int     * pos;         // per piece: its position in ord (-1: size 0, in no conflict)
    int     * start_at;    // n_times + 2: first position in ord of a piece starting at or after t
    int     * early_first; // n_ord + 1: per position, its earlier neighbours in early
    int     * early;       // earlier neighbours (their positions in ord), by position
    int64_t   n_edges;     // both directions
    int64_t   max_degree;  // the most neighbours of an item's pieces, counted per piece (the
                           // later range may hold pieces of the item itself: at most)
    bool      ranked;      // the earlier lists hold only neighbours ranked before their piece
                           // (those placed before it in one pass's order); the later ranges, all
};

static void gga_graph_release(struct gga_graph * g) {
    free(g->ord); // and pos, early_first, start_at and the sweep's scratch
    free(g->early);
    memset(g, 0, sizeof(*g));
}

// The neighbours of piece p (of nonzero size): its earlier ones from the list, then its later
// ones from the sweep order, pieces of p's own item skipped. Used as
//     for (gga_nbr_begin(g, it, p, &x); gga_nbr_next(g, &x, &q);) { ... g->ord[q] ... }
// which compiles to the two plain loops.
struct gga_nbr_iter {
    int e, e_end; // position in the earlier list
    int j, j_end; // position in the sweep order
    int ip;       // p's item
};

static inline void gga_nbr_begin(const struct gga_graph * g, const struct gga_items * it, int p, struct gga_nbr_iter * x) {
    const int k = g->pos[p];
    x->e = g->early_first[k];
    x->e_end = g->early_first[k + 1];
    x->j = k + 1;
    x->j_end = g->start_at[it->pieces[p].t1];
    x->ip = it->pieces[p].item;
}

// *q: the neighbour's position in g->ord
static inline bool gga_nbr_next(const struct gga_graph * g, struct gga_nbr_iter * x, int * q) {
    if (x->e < x->e_end) {
        *q = g->early[x->e++];
        return true;
    }
    while (x->j < x->j_end) {
        const int j = x->j++;
        if (g->ord[j].item != x->ip) {
            *q = j;
            return true;
        }
    }
    return false;
}

// Sort keys: up to three figures, compared in order, then the index.
struct gga_skey {
    int64_t a, b, c;
    int     idx;
};

#define GGA_SKEY_LESS(x, y) ((x)->a != (y)->a ? (x)->a < (y)->a : (x)->b != (y)->b ? (x)->b < (y)->b : \
                             (x)->c != (y)->c ? (x)->c < (y)->c : (x)->idx < (y)->idx)
GGA_SORT_DEFINE(gga_skey_sort, struct gga_skey, GGA_SKEY_LESS)

GGA_RADIX_FIELD_DEFINE(gga_skey_radix_field, struct gga_skey)

GGA_RADIX_FIELD_DEFINE(gga_akey_radix_field, struct gga_akey)

// The slot of figure a in gga_akey_sort_stable's table of 2 * GGA_FEW_FIGURES: its own, or the
// first free one after its hash (multiplicative: sizes share their low bits).
static inline int gga_few_slot(const int64_t * val, const bool * used, int64_t a) {
    int h = (int) (((uint64_t) a * 0x9e3779b97f4a7c15ull) >> 59);
    while (used[h] && val[h] != a) {
        h = (h + 1) & (2 * GGA_FEW_FIGURES - 1);
    }
    return h;
}

// Below GGA_RADIX_MIN keys an insertion sort, which takes fewer steps than the radix passes'
// counters there. Keys of at most GGA_FEW_FIGURES distinct figures (a graph's sizes: a few
// shapes, repeated) are counted in a small hash table, the figures sorted, and the keys scattered
// once: two passes over them, where the radix sort made one to count and one to move per 4 bits
// in which the figures differ (three or four pairs of passes for a graph's sizes). More figures
// than that: the radix sort, after the pass that found them.
_Static_assert(2 * GGA_FEW_FIGURES == 32, "gga_few_slot hashes to 5 bits");
struct gga_akey * gga_akey_sort_stable(struct gga_akey * keys, struct gga_akey * tmp, int n) {
    if (n < GGA_RADIX_MIN) {
        for (int i = 1; i < n; i++) {
            const struct gga_akey x = keys[i];
            int j = i;
            for (; j > 0 && keys[j - 1].a > x.a; j--) {
                keys[j] = keys[j - 1];
            }
            keys[j] = x;
        }
        return keys;
    }
    int64_t val[2 * GGA_FEW_FIGURES];
    int pos[2 * GGA_FEW_FIGURES];
    bool used[2 * GGA_FEW_FIGURES] = { false };
    int figures[GGA_FEW_FIGURES]; // the slots in use, then by figure
    int n_figures = 0;
    bool few = true;
    for (int i = 0; i < n && few; i++) {
        const int h = gga_few_slot(val, used, keys[i].a);
        if (!used[h]) {
            few = n_figures < GGA_FEW_FIGURES;
            if (few) {
                used[h] = true;
                val[h] = keys[i].a;
                pos[h] = 0;
                figures[n_figures++] = h;
            }
        }
        pos[h] += few;
    }
    if (few) {
        for (int f = 1; f < n_figures; f++) {
            const int h = figures[f];
            int g = f;
            for (; g > 0 && val[figures[g - 1]] > val[h]; g--) {
                figures[g] = figures[g - 1];
            }
            figures[g] = h;
        }
        int at = 0;
        for (int f = 0; f < n_figures; f++) {
            const int count = pos[figures[f]];
            pos[figures[f]] = at;
            at += count;
        }
        for (int i = 0; i < n; i++) {
            tmp[pos[gga_few_slot(val, used, keys[i].a)]++] = keys[i];
        }
        return tmp;
    }
    struct gga_akey * src = keys;
    struct gga_akey * dst = tmp;
    gga_akey_radix_field(&src, &dst, n, offsetof(struct gga_akey, a));
    return src;
}

// Sorts n keys that come in index order as gga_skey_sort does, into keys, with tmp (n more) as
// scratch: a stable least-significant-digit radix sort, one counting pass per 8 bits of c, b and
// then a that differ between the keys (a stable sort keeps the index order among equal keys).
// The orders' figures vary in few bytes (sizes that are multiples of the alignment, steps below
// the graph's size), so this takes a few linear passes with no unpredictable branch, where the
// comparison sort's n log n comparisons of three figures were a fifth of a greedy pass on random
// DAGs.
static void gga_skey_radix(struct gga_skey * keys, struct gga_skey * tmp, int n) {
    if (n < GGA_RADIX_MIN) {
        gga_skey_sort(keys, n);
        return;
    }
    struct gga_skey * src = keys;
    struct gga_skey * dst = tmp;
    // keys already in (b, c) order (items come in order of start, and the first order ranks them
    // by size, then start) need the passes over a alone
    bool sorted = true;
    for (int i = 1; i < n; i++) {
        sorted &= keys[i - 1].b != keys[i].b ? keys[i - 1].b < keys[i].b : keys[i - 1].c <= keys[i].c;
    }
    if (!sorted) {
        gga_skey_radix_field(&src, &dst, n, offsetof(struct gga_skey, c));
        gga_skey_radix_field(&src, &dst, n, offsetof(struct gga_skey, b));
    }
    gga_skey_radix_field(&src, &dst, n, offsetof(struct gga_skey, a));
    if (src != keys) {
        memcpy(keys, src, (size_t) n * sizeof(*keys));
    }
}

// false: too many edges, out of memory, or the deadline passed / the cancel flag was set
static bool gga_graph_build(const struct gga_items * it, int64_t max_edges, double deadline, const volatile int * cancel,
        const int * rank, struct gga_graph * g) {
    const int np = it->n_pieces;
    const int T = it->n_times;
    memset(g, 0, sizeof(*g));
    // ord, the items' degrees, pos, early_first, start_at and the sweep's live pieces (with what
    // it tests copied in, so that it reads one dense array) share one allocation, widest first
    struct gga_live { int t1, item, k, rank; };
    const size_t ni = (size_t) it->n_items;
    g->ord = malloc(((size_t) np + 1) * (sizeof(*g->ord) + sizeof(struct gga_live)) + ni * sizeof(int64_t) +
                    ((size_t) 2 * ((size_t) np + 1) + (size_t) T + 2) * sizeof(int));
    int64_t * degree = g->ord != NULL ? (int64_t *) (g->ord + np + 1) : NULL; // per item: its pieces' neighbours
    g->pos = g->ord != NULL ? (int *) (degree + ni) : NULL;
    g->early_first = g->ord != NULL ? g->pos + np + 1 : NULL;
    g->start_at = g->ord != NULL ? g->early_first + np + 1 : NULL;
    struct gga_live * active = g->ord != NULL ? (struct gga_live *) (g->start_at + T + 2) : NULL;
    if (g->ord != NULL) {
        memset(g->start_at, 0, ((size_t) T + 2) * sizeof(*g->start_at));
        memset(degree, 0, ni * sizeof(*degree));
    }
    int64_t cap_early = 4 * (int64_t) np + 16; // model graphs and random DAGs have a few neighbours per piece
    g->early = malloc((size_t) cap_early * sizeof(*g->early));
    bool ok = g->ord && g->pos && g->start_at && g->early_first && active && g->early;
    if (ok) {
        // pieces by start step: a counting sort over the compressed steps, O(n + T); once done,
        // start_at[t] is the first position of a piece starting at or after t
        int * c = g->start_at;
        for (int p = 0; p < np; p++) {
            g->pos[p] = -1;
            if (it->pieces[p].size > 0) {
                c[it->pieces[p].t0 + 2]++;
            }
        }
        for (int t = 0; t <= T; t++) {
            c[t + 1] += c[t];
        }
        for (int p = 0; p < np; p++) {
            if (it->pieces[p].size > 0) {
                const int k = c[it->pieces[p].t0 + 1]++;
                g->ord[k] = (struct gga_opiece) { it->pieces[p].size, it->pieces[p].item, it->pieces[p].t1 };
                g->pos[p] = k;
                g->early_first[k] = it->pieces[p].t0; // the sweep's, until it writes the list's start there
            }
        }
        g->n_ord = c[T + 1];
        // Under a cap above the default (bare lifetimes with a budget), the pairs the sweep would
        // list are counted from the steps alone first (O(n + T), the ends per step in the sweep's
        // memory, not yet in use): an instance past the cap then costs no doomed sweep and none
        // of the memory it would grow (100 MB on a dense 200k-buffer instance). Under the default
        // cap that memory is small, and model graphs never come near it.
        if (max_edges > GGA_MAX_EDGES) {
            int * ends = (int *) active; // (np + 1) * 4 ints >= T + 2, as T <= 2 * np + 1
            memset(ends, 0, ((size_t) T + 2) * sizeof(*ends));
            for (int k = 0; k < g->n_ord; k++) {
                ends[g->ord[k].t1]++;
            }
            int64_t pairs = 0;
            int64_t live = 0;
            for (int t = 0; t <= T && 2 * pairs <= max_edges; t++) {
                const int64_t starting = c[t + 1] - c[t];
                live -= ends[t];
                pairs += starting * live + starting * (starting - 1) / 2;
                live += starting;
            }
            ok = 2 * pairs <= max_edges;
        }
    }
    // one sweep lists each piece's earlier neighbours, in the order it meets them (with a rank:
    // only those ranked before it), and counts all of them
    int64_t n_early = 0;
    int64_t n_all = 0;
    int n_active = 0;
    for (int k = 0; k < g->n_ord && ok; k++) {
        const struct gga_opiece * pp = &g->ord[k];
        // its start, as the counting sort left it (stepping t0 on through start_at took a branch
        // whose trip count is a coin toss)
        const int t0 = g->early_first[k];
        if (n_early + n_active > cap_early) {
            // at most max_edges / 2 are kept, so this stays under that plus n pieces
            const int64_t cap = 2 * cap_early > n_early + n_active ? 2 * cap_early : n_early + n_active;
            int * grown = realloc(g->early, (size_t) cap * sizeof(*grown));
            if (grown == NULL) {
                ok = false;
                break;
            }
            g->early = grown;
            cap_early = cap;
        }
        g->early_first[k] = (int) n_early;
        // without branches on the data, as in the lowest fit: which live pieces end here is a
        // coin toss (the stores past the counts are overwritten or never read)
        const int p_rank = rank != NULL ? rank[pp->item] : 0;
        const int64_t all0 = n_all;
        int a2 = 0;
        for (int a = 0; a < n_active; a++) {
            const struct gga_live lq = active[a];
            const bool live = lq.t1 > t0;
            const bool nbr = live & (lq.item != pp->item);
            active[a2] = lq;
            a2 += live;
            g->early[n_early] = lq.k;
            n_early += nbr & (lq.rank < p_rank);
            n_all += nbr;
        }
        n_active = a2;
        active[n_active++] = (struct gga_live) { pp->t1, pp->item, k, rank != NULL ? p_rank : -1 };
        degree[pp->item] += n_all - all0 + g->start_at[pp->t1] - k - 1;
        g->max_degree = degree[pp->item] > g->max_degree ? degree[pp->item] : g->max_degree;
        if (2 * n_all > max_edges) {
            ok = false;
        }
        if (k % GGA_GREEDY_CHECK_EVERY == GGA_GREEDY_CHECK_EVERY - 1 && (deadline > 0 || cancel != NULL) &&
            gga_expired(deadline, cancel)) {
            ok = false;
        }
    }
    if (ok) {
        g->early_first[g->n_ord] = (int) n_early;
        g->n_edges = 2 * n_all;
        g->ranked = rank != NULL;
    }
    if (!ok) {
        gga_graph_release(g);
    }
    return ok;
}

// The graph built whole (every earlier neighbour listed) when it was built for one order's
// pass; false when that fails (out of memory or time: the graph is gone then, and stays so).
static bool gga_graph_whole(const struct gga_items * it, int64_t max_edges, double deadline, const volatile int * cancel,
        struct gga_graph * g) {
    if (g->ord == NULL) {
        return false;
    }
    if (!g->ranked) {
        return true;
    }
    gga_graph_release(g);
    return gga_graph_build(it, max_edges, deadline, cancel, NULL, g);
}

//
// Greedy placement
//

// The greedy orders (see the top of the file), each a way of ranking the items, largest first.
enum gga_order {
    GGA_ORDER_SIZE,       // size, ties: the longer lifetime
    GGA_ORDER_BREADTH,    // the most bytes live at a step of the item's lifetime
    GGA_ORDER_CONFLICTS,  // total size of the conflicting items, plus its own
    GGA_ORDER_LIFETIME,   // length of the lifetime
    GGA_ORDER_AREA,       // size x lifetime
    GGA_ORDER_SIZE_START, // size, ties: the earlier start (interval colouring among equal sizes)
    GGA_N_ORDERS
};


// passes of the lowest-fit scan before it sorts what is left (see gga_lowest_fit)
#define GGA_FIT_PASSES 8

#define GGA_RANGE_LESS(x, y) ((x)->lo != (y)->lo ? (x)->lo < (y)->lo : (x)->hi < (y)->hi)
GGA_SORT_DEFINE(gga_range_sort, struct gga_range, GGA_RANGE_LESS)

// One range (lo, hi) of forbidden offsets met at x: a range around x raises x to its top, one
// wholly above x (lo >= x) is kept in ranges[*m] for the next pass, one below x is dropped (x only
// rises, so it can never hold x again). Written without branches on the data (selects and an
// unconditional store): whether a range lies below, around or above x is a coin toss, and the
// mispredictions cost more than the rest of the scan. The scan is one chain through x: "lo < x <
// hi" is one unsigned compare of x - lo - 1 against hi - lo - 1 (the range is never empty, and
// its width does not depend on x), and x is raised by a conditional move, which gcc makes of this
// ?:. Whether x moved at all is read off x after the pass, not kept per range. (Before: two
// compares, their and and a mask raised x, six steps from one x to the next, and the loop was 26
// instructions a range against 20; the lowest fit is a tenth of a first reserve on a random DAG.)
// width1 is hi - lo - 1, which a neighbour's visit has at hand as a sum; the count is a size_t,
// so that it indexes the ranges with no sign extension.
static inline void gga_fit_range_w(int64_t lo, int64_t hi, uint64_t width1, int64_t * x, struct gga_range * ranges,
        size_t * m) {
    const bool inside = (uint64_t) *x - 1 - (uint64_t) lo < width1;
    ranges[*m] = (struct gga_range) { lo, hi };
    *m += lo >= *x;
    *x = inside ? hi : *x;
}

static inline void gga_fit_range(int64_t lo, int64_t hi, int64_t * x, struct gga_range * ranges, size_t * m) {
    gga_fit_range_w(lo, hi, (uint64_t) hi - (uint64_t) lo - 1, x, ranges, m);
}

GGA_RADIX_FIELD_DEFINE(gga_range_radix_field, struct gga_range)

// Up to this many ranges are sorted by radix, with scratch on the stack (16 KiB)
#define GGA_RANGE_RADIX_MAX 1024

// The n ranges at r sorted by lo: in r, or in tmp (room for GGA_RANGE_RADIX_MAX; r then holds
// them in some other order); returns where.
static struct gga_range * gga_ranges_order(struct gga_range * r, int n, struct gga_range * tmp) {
    if (n < GGA_RADIX_MIN || n > GGA_RANGE_RADIX_MAX) {
        gga_range_sort(r, n);
        return r;
    }
    struct gga_range * src = r;
    struct gga_range * dst = tmp;
    gga_range_radix_field(&src, &dst, n, offsetof(struct gga_range, lo));
    return src;
}

void gga_ranges_sort(struct gga_range * r, int n) {
    struct gga_range tmp[GGA_RANGE_RADIX_MAX];
    const struct gga_range * sorted = gga_ranges_order(r, n, tmp);
    if (sorted != r) {
        memcpy(r, sorted, (size_t) n * sizeof(*r));
    }
}

// The lowest fit of gga_ranges_lowest by one sweep of the ranges sorted (apart, so that the sort's
// scratch on the stack is not part of every call's frame).
static int64_t gga_ranges_sweep(struct gga_range * r, int n, int64_t x) {
    struct gga_range tmp[GGA_RANGE_RADIX_MAX];
    const struct gga_range * sorted = gga_ranges_order(r, n, tmp);
    for (int k = 0; k < n; k++) {
        if (x <= sorted[k].lo) {
            break;
        }
        if (x < sorted[k].hi) {
            x = sorted[k].hi;
        }
    }
    return x;
}

// gga_ranges_lowest, inlined into the greedy passes (a call per item cost them a tenth: most
// items need one short pass).
static inline __attribute__((always_inline)) int64_t gga_ranges_lowest_in(struct gga_range * r, size_t n, int64_t x) {
    // Raise x out of any range it falls in until none holds it: every point skipped lies inside a
    // range, so the x reached is the lowest fit. A range wholly below x can never hold it again
    // (x only rises) and is dropped. A few passes settle it on model graphs and random DAGs, far
    // cheaper than sorting every range; past GGA_FIT_PASSES, or at once when GGA_RADIX_MIN ranges
    // or more are left after a pass that moved x (a tall stack of neighbours, as on the traces and
    // dense instances, where each pass clears little: the passes were a quarter of a dense
    // decomposition's time), the ranges left are sorted and swept once.
    bool moved = true;
    for (int pass = 0; moved && pass < GGA_FIT_PASSES && (pass == 0 || n < GGA_RADIX_MIN); pass++) {
        const int64_t x0 = x;
        const size_t n_ranges = n;
        n = 0;
        for (size_t k = 0; k < n_ranges; k++) {
            gga_fit_range(r[k].lo, r[k].hi, &x, r, &n); // n <= k: in place
        }
        moved = x != x0;
    }
    return moved ? gga_ranges_sweep(r, (int) n, x) : x;
}

int64_t gga_ranges_lowest(struct gga_range * r, int n, int64_t x) {
    return gga_ranges_lowest_in(r, n > 0 ? (size_t) n : 0, x);
}

// What the lowest fit reads of one piece (of nonzero size): its size and where its neighbours
// are, gathered for a pass in the pass's order, so that the pass reads them in sequence. Read
// where they lie (piece, position, list, step: four dependent loads in four arrays), they were
// cache misses that the pass could not overlap, as its work per item stands between them; a
// loop that only gathers them overlaps them (a first reserve on a 2,000-node random DAG took
// about 25 us less, a fifth of its greedy pass).
struct gga_fitp {
    int64_t size;
    int     e0, e1; // its earlier neighbours: positions early[e0 .. e1)
    int     j0, j1; // its later ones: positions j0 .. j1 of the sweep order
};

// Where the piece at a position of the sweep order lies in a one-space pass (-size until its
// item is placed), with its size: a neighbour is read in one place, not through its item.
struct gga_span {
    int64_t o;
    int64_t size;
};

struct gga_packer {
    const struct gga_items * it;
    const struct gga_graph * g;
    struct gga_range       * ranges; // scratch: the largest item degree
    int64_t                * at;     // per item: its offset in the pass, GGA_AT_NONE until placed
    struct gga_span        * span;   // per position in the sweep order
    uint64_t               * placed; // per position in the sweep order, a bit: its item is placed
    struct gga_fitp        * seq;    // the pieces in the pass's order
    int                    * seq_n;  // per position in the order: how many pieces of seq it has
    double                   deadline; // gga_now() seconds (0: none) ...
    const volatile int     * cancel;   // ... and the caller's flag: a pass they end is dropped
    bool                     expired;
};


// The greedy passes' offset of an item not placed yet, in at[] (read only for items placed in
// the chunk at hand).
#define GGA_AT_NONE INT64_MIN

// One neighbour of a piece of sp bytes, in the first pass of the lowest fit: placed at o, with
// its size bytes, it forbids the offsets in (lo, hi). One not placed (or in another chunk) is
// given o = -size: its range (-size - sp, 0) lies below every candidate offset, so it neither
// raises x nor is kept, with no test of its own (the sizes of a plan sum to below 2^63, so
// nothing wraps).
static inline void gga_fit_visit(int64_t o, int64_t size, int64_t sp, int64_t * x, struct gga_range * ranges, size_t * m) {
    gga_fit_range_w(o - sp, o + size, (uint64_t) size + (uint64_t) sp - 1, x, ranges, m);
}

// The lowest offset where the item of the n_fp pieces at fp (gga_fitp) overlaps no placed
// neighbour in chunk c (chunk == NULL: one space, read off the spans).
static size_t gga_lowest_fit(struct gga_packer * pk, const struct gga_fitp * fp, int n_fp,
        const int * chunk, int c) {
    const struct gga_graph * g = pk->g;
    const struct gga_span * span = pk->span;
    const int64_t * at = pk->at;
    // The first pass of gga_ranges_lowest runs as the neighbours are read, keeping only the ranges
    // above x; the rest of it over those, if x moved (from 0).
    int64_t x = 0;
    size_t m = 0;
    for (int f = 0; f < n_fp; f++) {
        const int64_t sp = fp[f].size;
        // pieces of the item itself may lie in the later range: it is not placed yet, so they
        // add nothing
        if (chunk == NULL) {
            for (int e = fp[f].e0; e < fp[f].e1; e++) {
                const struct gga_span q = span[g->early[e]];
                gga_fit_visit(q.o, q.size, sp, &x, pk->ranges, &m);
            }
            // the later neighbours: a stretch of the sweep order, of which only the pieces placed
            // can forbid anything (a third of the neighbours read in a pass were not, before)
            for (int j = fp[f].j0; j < fp[f].j1;) {
                const int lim = fp[f].j1 < ((j >> 6) + 1) << 6 ? fp[f].j1 : ((j >> 6) + 1) << 6;
                const int count = lim - j; // 1 .. 64 positions in j's word
                uint64_t bits = (pk->placed[j >> 6] >> (j & 63)) & (count < 64 ? ((uint64_t) 1 << count) - 1 : ~(uint64_t) 0);
                for (; bits != 0; bits &= bits - 1) {
                    const int q = j + __builtin_ctzll(bits);
                    gga_fit_visit(span[q].o, span[q].size, sp, &x, pk->ranges, &m);
                }
                j = lim;
            }
            continue;
        }
        // chunks: a neighbour in another chunk is as one not placed
        for (int e = fp[f].e0; e < fp[f].e1; e++) {
            const struct gga_opiece * q = &g->ord[g->early[e]];
            const int64_t o = chunk[q->item] == c ? at[q->item] : -(int64_t) q->size;
            gga_fit_visit(o, (int64_t) q->size, sp, &x, pk->ranges, &m);
        }
        for (int j = fp[f].j0; j < fp[f].j1; j++) {
            const int64_t size = (int64_t) g->ord[j].size;
            const int64_t o = chunk[g->ord[j].item] == c ? at[g->ord[j].item] : -size;
            gga_fit_visit(o, size, sp, &x, pk->ranges, &m);
        }
    }
    return x != 0 ? (size_t) gga_ranges_lowest_in(pk->ranges, m, x) : (size_t) x;
}

// Places the items in `order`; returns the peak (chunk == NULL: one space) or the sum of the
// chunk sizes.
static size_t gga_greedy(struct gga_packer * pk, const int * order, size_t * off,
        int * chunk, size_t max_size, int max_chunks, size_t * chunk_size, int * n_chunks) {
    const struct gga_items * it = pk->it;
    const struct gga_graph * g = pk->g;
    size_t chunk_cap[GGALLOC_MAX_CHUNKS] = { 0 };
    for (int i = 0; i < it->n_items; i++) {
        pk->at[i] = GGA_AT_NONE;
        if (chunk != NULL) {
            chunk[i] = -1; // read for every neighbour, placed or not
        }
    }
    for (int q = 0; q < g->n_ord; q++) {
        pk->span[q] = (struct gga_span) { -(int64_t) g->ord[q].size, (int64_t) g->ord[q].size }; // not placed
    }
    memset(pk->placed, 0, (((size_t) g->n_ord + 63) / 64) * sizeof(*pk->placed));
    int n_seq = 0;
    for (int k = 0; k < it->n_items; k++) {
        const int i = order[k];
        const int n0 = n_seq;
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            const int q = g->pos[p];
            if (q >= 0) { // size 0: in no conflict
                pk->seq[n_seq++] = (struct gga_fitp) { (int64_t) it->pieces[p].size, g->early_first[q],
                                                       g->early_first[q + 1], q + 1, g->start_at[it->pieces[p].t1] };
            }
        }
        pk->seq_n[k] = n_seq - n0;
    }
    const struct gga_fitp * fp = pk->seq;
    int nc = chunk == NULL ? 1 : 0;
    for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
        chunk_size[c] = 0;
    }
    for (int k = 0; k < it->n_items; k++) {
        if (k % GGA_GREEDY_CHECK_EVERY == GGA_GREEDY_CHECK_EVERY - 1 && (pk->deadline > 0 || pk->cancel != NULL) &&
            gga_expired(pk->deadline, pk->cancel)) {
            pk->expired = true;
            return SIZE_MAX;
        }
        const int i = order[k];
        const size_t s = it->size[i];
        const int n_fp = pk->seq_n[k];
        int c = 0;
        size_t o = 0;
        if (chunk == NULL) {
            o = s == 0 ? 0 : gga_lowest_fit(pk, fp, n_fp, NULL, 0);
        } else {
            for (c = 0; c < nc; c++) {
                o = s == 0 ? 0 : gga_lowest_fit(pk, fp, n_fp, chunk, c);
                if (o + s <= chunk_cap[c]) {
                    break;
                }
            }
            if (c == nc) {
                // a new chunk: there is always room for one, since the last is unbounded
                chunk_cap[c] = s > max_size ? s : max_size;
                if (c == max_chunks - 1) {
                    chunk_cap[c] = GGA_UNBOUNDED;
                }
                nc++;
                o = 0;
            }
            chunk[i] = c;
        }
        for (int f = 0; f < n_fp; f++) {
            const int q = fp[f].j0 - 1; // j0: the position after the piece's own
            pk->span[q].o = (int64_t) o;
            pk->placed[q >> 6] |= (uint64_t) 1 << (q & 63);
        }
        fp += n_fp;
        off[i] = o;
        pk->at[i] = (int64_t) o;
        if (o + s > chunk_size[c]) {
            chunk_size[c] = o + s;
        }
    }
    *n_chunks = nc;
    size_t total = 0;
    for (int c = 0; c < nc; c++) {
        total += chunk_size[c];
    }
    return total;
}

//
// Small instances
//
// A graph of a few dozen tensors (a fresh allocator's first reserve on a 12-node MLP) spent most
// of its planning time on the general path's fixed costs: a dozen allocations, counting sorts
// over the steps, the conflict graph's sweep. Up to GGA_SMALL_MAX_BLOCKS blocks, the first pass
// runs on the blocks themselves, with each block's conflicts as a row of bits: W = n / 64 words
// (rounded up). Over a graph's short span of steps the rows are read off prefix ORs per step (the
// blocks started before a step, and those ended before it: two words per row word, when the block
// is placed, with no row stored), O(W (n + span)); blocks in order of start (as a graph's walk
// makes them) are a prefix of the blocks started before a step, which a count per step gives,
// with no table of words. The bytes live at each step, summed over the same span, give the lower
// bound. The items are the chains' first blocks, by size and then start (an insertion sort up to
// 64 blocks, else the first order's stable sort by size, or the radix sort on three figures
// where the items do not come in order of start); each is placed at its lowest fit among the
// blocks placed before it, read off its chain's rows ANDed with the placed set, the lowest fit's
// first pass running as each is met.
// Same order, same lowest fit: the same plan as the general path (test-planner compares the
// two), with no items, compressed steps or neighbour lists built. Up to 64 blocks every array is
// on the stack (about 20 KiB, most of it the ranges), with a span of up to GGA_SMALL_MAX_STEPS or
// else O(n^2) tests of two lifetimes, which give the bound too; beyond, one allocation, and a
// span of up to GGA_SMALL_WIDE_STEPS (past it the general path). A fresh allocator's first
// reserve on random DAGs of 80 nodes cost 1.15-1.25 times ggml's on the general path, about
// ggml's here; on 160 nodes (130 blocks, three words a row) 1.16 times ggml's there, 1.0-1.07
// here. Past 256 blocks the rows' O(n^2 / 64) words cost more than the neighbour lists save
// (GPT-2's 487 nodes: no faster; a 750-node DAG: 3-6% slower).
//

// Up to this span of steps, the single-word path reads conflicts off words per step rather than
// pairs.
#define GGA_SMALL_MAX_STEPS 128
// Up to this span of steps, the multi-word path applies (its step tables are O(span * W)).
#define GGA_SMALL_WIDE_STEPS (4 * GGA_SMALL_MAX_BLOCKS)

static int gga_small_max = GGA_SMALL_MAX_BLOCKS;

void gga_small_plan_limit(int n) {
    gga_small_max = n < 0 ? 0 : n > GGA_SMALL_MAX_BLOCKS ? GGA_SMALL_MAX_BLOCKS : n;
}

// The working arrays of a small plan of n blocks in rows of W words.
struct gga_small {
    const struct gga_block * blocks; // their steps
    int              * next;    // per block: the next block of its chain, -1 at its end
    int              * order;   // the items (first blocks) in placing order
    uint64_t         * conf;    // per block, one word (wide spans of up to 64 blocks): the blocks live with it
    uint64_t         * started; // (span + 2) * W words, see gga_small_tables (blocks out of order of start)
    uint64_t         * ended;
    int              * n_started; // span + 2: how many blocks start before each step (blocks in order of start)
    int64_t            lo;      // the first step of the tables
    size_t           * delta;   // span + 1
    uint64_t         * placed;  // W words: the blocks of nonzero size placed
    struct gga_range * ranges;
    struct gga_akey  * keys;    // 2 per item: the first order's sort (multi-word only)
};

// The step tables and the lower bound over a span of steps of at most GGA_SMALL_MAX_STEPS (one
// word) or GGA_SMALL_WIDE_STEPS: started[x] holds the blocks starting before step lo + x, ended[x]
// those ending before it. The blocks live with block b are those started before b ends and not
// ended by the step after its start (the blocks of one chain follow one another and never
// overlap, so an overlap is a conflict between two items): a row is read off two words of the
// tables when b is placed (gga_small_greedy), and no row is stored. With the blocks in order of
// start (by_start) those started before a step are the first n_started[x], and started is not
// built. The bytes live at each step are prefix sums. O(W (n + span)), with no loop per pair.
// Inlined with W a constant (1 to 4), so that the prefix ORs stay in registers.
static inline __attribute__((always_inline)) size_t gga_small_tables(struct gga_small * sm, int n, int W, int span,
        const size_t * asize, bool by_start) {
    uint64_t * started = sm->started;
    uint64_t * ended = sm->ended;
    int * n_started = sm->n_started;
    size_t * delta = sm->delta;
    const int64_t lo = sm->lo;
    if (by_start) {
        memset(n_started, 0, (size_t) (span + 2) * sizeof(*n_started));
    } else {
        memset(started, 0, (size_t) (span + 2) * W * sizeof(*started));
    }
    memset(ended, 0, (size_t) (span + 2) * W * sizeof(*ended));
    memset(delta, 0, (size_t) (span + 1) * sizeof(*delta));
    for (int b = 0; b < n; b++) {
        const uint64_t bit = (uint64_t) 1 << (b % 64);
        if (by_start) {
            n_started[sm->blocks[b].start - lo + 1]++;
        } else {
            started[(sm->blocks[b].start - lo + 1) * W + b / 64] |= bit;
        }
        ended[(sm->blocks[b].end - lo + 1) * W + b / 64] |= bit;
        delta[sm->blocks[b].start - lo] += asize[b];
        delta[sm->blocks[b].end - lo] -= asize[b];
    }
    uint64_t s_acc[GGA_SMALL_MAX_BLOCKS / 64] = { 0 };
    uint64_t e_acc[GGA_SMALL_MAX_BLOCKS / 64] = { 0 };
    int s_count = 0;
    for (int x = 0; x <= span + 1; x++) {
        if (by_start) {
            s_count += n_started[x];
            n_started[x] = s_count;
        }
        for (int w = 0; w < W; w++) {
            if (!by_start) {
                s_acc[w] |= started[x * W + w];
                started[x * W + w] = s_acc[w];
            }
            e_acc[w] |= ended[x * W + w];
            ended[x * W + w] = e_acc[w];
        }
    }
    size_t lb = 0;
    size_t bytes = 0; // wraps below 0 and back: the sums are exact
    for (int t = 0; t < span; t++) {
        bytes += delta[t];
        lb = bytes > lb ? bytes : lb;
    }
    return lb;
}

// The first pass over the items in sm->order (n_items of them): each at its lowest fit among the
// blocks placed before it; returns the peak. A block of no bytes is in no conflict: it is never
// marked placed, and a chain (whose sizes never grow) is read up to its first such block.
static inline __attribute__((always_inline)) size_t gga_small_greedy(struct gga_small * sm, int n_items, int W,
        bool tables, bool by_start, const size_t * asize, size_t * offset) {
    uint64_t * placed = sm->placed;
    for (int w = 0; w < W; w++) {
        placed[w] = 0;
    }
    size_t top = 0;
    for (int k = 0; k < n_items; k++) {
        const int h = sm->order[k];
        // the first pass of the lowest fit as the neighbours are met (as in gga_lowest_fit)
        int64_t o = 0;
        size_t m = 0;
        for (int b = h; b >= 0 && asize[b] > 0; b = sm->next[b]) {
            const int64_t sp = (int64_t) asize[b];
            // the blocks live with b: started before it ends (with the blocks in order of start,
            // the first n_s of them), not ended by the step after its start (from the tables), or
            // its stored row (one word); b itself is not placed yet
            // (in unsigned arithmetic: without tables the steps may lie far apart, and go unused)
            const int64_t t0 = (int64_t) ((uint64_t) sm->blocks[b].start - (uint64_t) sm->lo);
            const int64_t t1 = (int64_t) ((uint64_t) sm->blocks[b].end - (uint64_t) sm->lo);
            const uint64_t * s = tables && !by_start ? &sm->started[t1 * W] : NULL;
            const int n_s = tables && by_start ? sm->n_started[t1] : 0;
            const uint64_t * e = tables ? &sm->ended[(t0 + 1) * W] : NULL;
            for (int w = 0; w < W; w++) {
                const int n_sw = n_s - 64 * w; // of them in word w: all, none or the lowest n_sw bits
                const uint64_t sw = !by_start ? (tables ? s[w] : 0)
                                  : n_sw >= 64 ? ~(uint64_t) 0 : n_sw <= 0 ? 0 : ((uint64_t) 1 << n_sw) - 1;
                const uint64_t row = tables ? sw & ~e[w] : sm->conf[b];
                for (uint64_t q = row & placed[w]; q != 0; q &= q - 1) {
                    const size_t c = (size_t) w * 64 + (size_t) __builtin_ctzll(q);
                    gga_fit_visit((int64_t) offset[c], (int64_t) asize[c], sp, &o, sm->ranges, &m);
                }
            }
        }
        o = o != 0 ? gga_ranges_lowest_in(sm->ranges, m, o) : 0;
        for (int b = h; b >= 0; b = sm->next[b]) {
            offset[b] = (size_t) o;
            placed[b / 64] |= (uint64_t) (asize[b] > 0) << (b % 64);
        }
        top = (size_t) o + asize[h] > top ? (size_t) o + asize[h] : top;
    }
    return top;
}

// Up to 64 blocks: every array on the stack, one word per row.
static bool gga_small_plan_word(const struct gga_block * blocks, int n, const size_t * asize, const int * pred,
        size_t * offset, size_t * peak, size_t * lower_bound) {
    int next[64];
    int order[64];
    int64_t start[64];
    int64_t end[64];
    uint64_t conf[64];
    uint64_t placed[1];
    uint64_t started[GGA_SMALL_MAX_STEPS + 2];
    uint64_t ended[GGA_SMALL_MAX_STEPS + 2];
    int n_started[GGA_SMALL_MAX_STEPS + 2];
    size_t delta[GGA_SMALL_MAX_STEPS + 1];
    // each item's ranges: a piece's placed neighbours, at most (pieces) x (blocks placed) <= (n / 2)^2
    struct gga_range ranges[32 * 32];
    struct gga_small sm = { blocks, next, order, conf, started, ended, n_started, 0, delta, placed, ranges, NULL };
    int64_t lo = n > 0 ? blocks[0].start : 0;
    int64_t hi = lo;
    bool by_start = true;
    for (int b = 0; b < n; b++) {
        next[b] = -1;
        if (pred[b] >= 0) {
            next[pred[b]] = b; // a predecessor has the lower index
        }
        start[b] = blocks[b].start;
        end[b] = blocks[b].end;
        lo = start[b] < lo ? start[b] : lo;
        hi = end[b] > hi ? end[b] : hi;
        by_start &= b == 0 || start[b - 1] <= start[b];
    }
    sm.lo = lo;
    const bool tables = (uint64_t) hi - (uint64_t) lo <= GGA_SMALL_MAX_STEPS;
    size_t lb = 0;
    if (tables) {
        lb = by_start ? gga_small_tables(&sm, n, 1, (int) (hi - lo), asize, true)
                      : gga_small_tables(&sm, n, 1, (int) (hi - lo), asize, false);
    } else {
        // a wide span: each pair tested once, with no branch (c is live at b's start when it
        // overlaps b and starts no later)
        size_t live[64]; // per block: the bytes live at its start
        for (int b = 0; b < n; b++) {
            live[b] = asize[b];
            conf[b] = 0;
        }
        for (int b = 1; b < n; b++) {
            for (int c = 0; c < b; c++) {
                const bool overlap = (start[c] < end[b]) & (start[b] < end[c]);
                conf[b] |= (uint64_t) overlap << c;
                conf[c] |= (uint64_t) overlap << b;
                live[b] += asize[c] & -(size_t) (overlap & (start[c] <= start[b]));
                live[c] += asize[b] & -(size_t) (overlap & (start[b] <= start[c]));
            }
        }
        for (int b = 0; b < n; b++) {
            lb = live[b] > lb ? live[b] : lb;
        }
    }
    // the items by size, largest first, then by start, then by index (GGA_ORDER_SIZE_START)
    int n_items = 0;
    for (int b = 0; b < n; b++) {
        if (pred[b] >= 0) {
            continue;
        }
        int k = n_items++;
        for (; k > 0; k--) {
            const int a = order[k - 1];
            if (asize[a] > asize[b] || (asize[a] == asize[b] && start[a] <= start[b])) {
                break;
            }
            order[k] = a;
        }
        order[k] = b;
    }
    *peak = !tables ? gga_small_greedy(&sm, n_items, 1, false, false, asize, offset)
          : by_start ? gga_small_greedy(&sm, n_items, 1, true, true, asize, offset)
                     : gga_small_greedy(&sm, n_items, 1, true, false, asize, offset);
    *lower_bound = lb;
    return true;
}

// gga_small_plan_words past its setup, for a constant W (so that each row's words are unrolled
// and carried in registers): the tables, the bound and the first pass.
static inline __attribute__((always_inline)) void gga_small_words_run(struct gga_small * sm, int n, const size_t * asize,
        size_t * offset, size_t * peak, size_t * lower_bound, int span, int n_items, const int W, const bool by_start) {
    *lower_bound = gga_small_tables(sm, n, W, span, asize, by_start);
    *peak = gga_small_greedy(sm, n_items, W, true, by_start, asize, offset);
}

// Beyond 64 blocks: rows of W words, the arrays in one allocation; false (nothing written) when
// the span is too wide or out of memory.
static bool gga_small_plan_words(const struct gga_block * blocks, int n, const size_t * asize, const int * pred,
        size_t * offset, size_t * peak, size_t * lower_bound) {
    const int W = (n + 63) / 64;
    int next[GGA_SMALL_MAX_BLOCKS];
    int64_t lo = blocks[0].start;
    int64_t hi = lo;
    int n_items = 0;
    bool in_start_order = true; // the items
    bool by_start = true;       // all the blocks
    int64_t last_start = INT64_MIN;
    // the chains' lengths bound each item's ranges: each of its blocks meets at most every other
    // block once (the offsets, not yet written, hold each block's place in its chain)
    int longest = 1;
    for (int b = 0; b < n; b++) {
        lo = blocks[b].start < lo ? blocks[b].start : lo;
        hi = blocks[b].end > hi ? blocks[b].end : hi;
        by_start &= b == 0 || blocks[b - 1].start <= blocks[b].start;
        if (pred[b] < 0) {
            n_items++;
            in_start_order &= blocks[b].start >= last_start;
            last_start = blocks[b].start;
        }
        next[b] = -1;
        if (pred[b] >= 0) {
            next[pred[b]] = b; // a predecessor has the lower index
        }
        offset[b] = pred[b] >= 0 ? offset[pred[b]] + 1 : 1;
        longest = (int) offset[b] > longest ? (int) offset[b] : longest;
    }
    if ((uint64_t) hi - (uint64_t) lo > GGA_SMALL_WIDE_STEPS) {
        return false;
    }
    const int span = (int) (hi - lo);
    const size_t nn = (size_t) n;
    const size_t nw = (size_t) W;
    const size_t n_steps = (size_t) span + 2;
    const size_t n_ranges = (size_t) longest * nn;
    // the 8-byte figures first, so that every array is aligned; the first order's keys are
    // gga_skey wide (with room for the radix sort's scratch) where the items need sorting by start too
    const size_t key_bytes = 2 * (size_t) n_items * (in_start_order ? sizeof(struct gga_akey) : sizeof(struct gga_skey));
    char * mem = malloc(key_bytes + n_ranges * sizeof(struct gga_range) +
                        (2 * n_steps * nw + nw + n_steps) * sizeof(uint64_t) + (nn + n_steps) * sizeof(int));
    if (mem == NULL) {
        return false;
    }
    struct gga_small sm;
    sm.keys    = (struct gga_akey *) mem;
    sm.ranges  = (struct gga_range *) (mem + key_bytes);
    sm.blocks  = blocks;
    sm.next    = next;
    sm.conf    = NULL;
    sm.started = (uint64_t *) (sm.ranges + n_ranges);
    sm.ended   = sm.started + n_steps * nw;
    sm.placed  = sm.ended + n_steps * nw;
    sm.delta   = (size_t *) (sm.placed + nw);
    sm.order   = (int *) (sm.delta + n_steps);
    sm.n_started = sm.order + nn;
    sm.lo      = lo;
    // the items by size, largest first, then by start, then by index (GGA_ORDER_SIZE_START): items
    // that come in order of start (a graph's walk makes them so) by a stable sort on size alone
    int k = 0;
    if (in_start_order) {
        for (int b = 0; b < n; b++) {
            if (pred[b] < 0) {
                sm.keys[k++] = (struct gga_akey) { -(int64_t) asize[b], b };
            }
        }
        const struct gga_akey * sorted = gga_akey_sort_stable(sm.keys, sm.keys + n_items, n_items);
        for (k = 0; k < n_items; k++) {
            sm.order[k] = sorted[k].idx;
        }
    } else {
        struct gga_skey * keys = (struct gga_skey *) mem;
        for (int b = 0; b < n; b++) {
            if (pred[b] < 0) {
                keys[k++] = (struct gga_skey) { -(int64_t) asize[b], blocks[b].start, 0, b };
            }
        }
        gga_skey_radix(keys, keys + n_items, n_items);
        for (k = 0; k < n_items; k++) {
            sm.order[k] = keys[k].idx;
        }
    }
    _Static_assert(GGA_SMALL_MAX_BLOCKS <= 4 * 64, "rows of up to four words");
    switch (W + 4 * by_start) {
        case 2:  gga_small_words_run(&sm, n, asize, offset, peak, lower_bound, span, n_items, 2, false); break;
        case 3:  gga_small_words_run(&sm, n, asize, offset, peak, lower_bound, span, n_items, 3, false); break;
        case 4:  gga_small_words_run(&sm, n, asize, offset, peak, lower_bound, span, n_items, 4, false); break;
        case 6:  gga_small_words_run(&sm, n, asize, offset, peak, lower_bound, span, n_items, 2, true); break;
        case 7:  gga_small_words_run(&sm, n, asize, offset, peak, lower_bound, span, n_items, 3, true); break;
        default: gga_small_words_run(&sm, n, asize, offset, peak, lower_bound, span, n_items, 4, true); break;
    }
    free(mem);
    return true;
}

bool gga_small_plan(const struct gga_block * blocks, int n, const size_t * asize, const int * pred, size_t * offset,
        size_t * peak, size_t * lower_bound) {
    if (n > gga_small_max) {
        return false;
    }
    return n <= 64 ? gga_small_plan_word(blocks, n, asize, pred, offset, peak, lower_bound)
                   : gga_small_plan_words(blocks, n, asize, pred, offset, peak, lower_bound);
}

//
// Orders
//

// Writes order o (a permutation of the items) into out. Each order computes only what it needs:
// the breadth order a max segment tree over the steps (O(T), then O(log T) per item), the conflicts
// order one pass over the edges; then one radix sort, a few linear passes.
static bool gga_make_order(const struct gga_items * it, const struct gga_graph * g, enum gga_order o, int * out) {
    const int n = it->n_items;
    const int T = it->n_times > 0 ? it->n_times : 1;
    int leaves = 1;
    while (leaves < T) {
        leaves *= 2;
    }
    struct gga_skey * keys = malloc((size_t) 2 * n * sizeof(*keys)); // and the radix sort's scratch
    int64_t * tree = o == GGA_ORDER_BREADTH ? calloc(2 * (size_t) leaves + 1, sizeof(*tree)) : NULL;
    int64_t * weight = o == GGA_ORDER_CONFLICTS ? calloc((size_t) n, sizeof(*weight)) : NULL;
    bool ok = keys && (o != GGA_ORDER_BREADTH || tree) && (o != GGA_ORDER_CONFLICTS || weight);
    if (ok && o == GGA_ORDER_BREADTH) {
        // breadth per step from a difference array (in the leaves), then a max segment tree
        int64_t * live = tree + leaves;
        for (int p = 0; p < it->n_pieces; p++) {
            live[it->pieces[p].t0] += (int64_t) it->pieces[p].size;
            if (it->pieces[p].t1 < T) {
                live[it->pieces[p].t1] -= (int64_t) it->pieces[p].size;
            }
        }
        for (int t = 1; t < T; t++) {
            live[t] += live[t - 1];
        }
        for (int v = leaves - 1; v >= 1; v--) {
            tree[v] = tree[2 * v] > tree[2 * v + 1] ? tree[2 * v] : tree[2 * v + 1];
        }
    }
    if (ok && o == GGA_ORDER_CONFLICTS) {
        for (int p = 0; p < it->n_pieces; p++) {
            if (g->pos[p] < 0) {
                continue;
            }
            int64_t * w = &weight[it->pieces[p].item];
            struct gga_nbr_iter nb;
            int q;
            for (gga_nbr_begin(g, it, p, &nb); gga_nbr_next(g, &nb, &q);) {
                // saturating: a chain's pieces may meet one neighbour many times
                const int64_t sq = (int64_t) g->ord[q].size;
                *w = *w > INT64_MAX - sq ? INT64_MAX : *w + sq;
            }
        }
    }
    bool by_start = o == GGA_ORDER_SIZE_START;
    for (int i = 1; ok && by_start && i < n; i++) {
        by_start = it->pieces[it->first[i - 1]].t0 <= it->pieces[it->first[i]].t0;
    }
    if (ok && by_start) {
        // the items come in order of start (as a graph's walk makes them): a stable sort by size
        // alone, of keys half as wide
        struct gga_akey * ak = (struct gga_akey *) keys;
        for (int i = 0; i < n; i++) {
            ak[i] = (struct gga_akey) { -(int64_t) it->size[i], i };
        }
        const struct gga_akey * src = gga_akey_sort_stable(ak, ak + n, n);
        for (int k = 0; k < n; k++) {
            out[k] = src[k].idx;
        }
    } else if (ok) {
        for (int i = 0; i < n; i++) {
            const int t0 = it->pieces[it->first[i]].t0;
            const int t1 = it->pieces[it->first[i + 1] - 1].t1;
            const int64_t span = t1 - t0;
            const int64_t size = (int64_t) it->size[i];
            int64_t k = 0;
            switch (o) {
                case GGA_ORDER_SIZE:
                case GGA_ORDER_SIZE_START: k = size; break;
                case GGA_ORDER_BREADTH: {
                    // the most bytes live at a step of [t0, t1): bottom-up range maximum
                    int64_t m = 0;
                    for (int lo = t0 + leaves, hi = t1 + leaves; lo < hi; lo /= 2, hi /= 2) {
                        if (lo & 1) { m = tree[lo] > m ? tree[lo] : m; lo++; }
                        if (hi & 1) { hi--; m = tree[hi] > m ? tree[hi] : m; }
                    }
                    k = m;
                    break;
                }
                case GGA_ORDER_CONFLICTS: k = weight[i] > INT64_MAX - size ? INT64_MAX : weight[i] + size; break;
                case GGA_ORDER_LIFETIME: k = span; break;
                case GGA_ORDER_AREA: {
                    // beyond int64_t (huge sizes over long lifetimes): the largest, not a wrapped figure
                    const double area = (double) size * (double) span;
                    k = area >= 0x1p63 ? INT64_MAX : (int64_t) area;
                    break;
                }
                case GGA_N_ORDERS: break;
            }
            keys[i] = o == GGA_ORDER_SIZE_START ? (struct gga_skey) { -size, t0, 0, i } : (struct gga_skey) { -k, -size, -span, i };
        }
        gga_skey_radix(keys, keys + n, n);
        for (int k = 0; k < n; k++) {
            out[k] = keys[k].idx;
        }
    }
    free(keys);
    free(tree);
    free(weight);
    return ok;
}

// Order o in a new array of n entries (*out); false when out of memory.
static bool gga_make_order_new(const struct gga_items * it, const struct gga_graph * g, enum gga_order o, int ** out) {
    *out = malloc((size_t) (it->n_items > 0 ? it->n_items : 1) * sizeof(**out));
    return *out != NULL && gga_make_order(it, g, o, *out);
}

//
// Search
//

// The state is a skyline: h[t] per step, the level below which nothing more can go at that step
// (placed items, or space declared dead). An unplaced item's lowest offset is the highest level
// over its lifetime.
struct gga_search {
    const struct gga_items * it;
    int       n;          // items in the search (size > 0)
    int       n_left;     // of them, not yet placed
    int     * items;      // their ids
    int       T;
    size_t    cap;        // the C being tried
    bool    * placed;     // by item id
    size_t  * off;        // by item id
    size_t  * m;          // by item id: lowest offset of an unplaced item
    int     * cand;       // a stack of the candidate lists of the nodes on the current path
    int64_t   n_cand;
    int64_t   cap_cand;
    int64_t * prio;       // by item id: branching order (smaller first)
    struct gga_skey * keys;
    size_t  * h;          // per step
    size_t  * undo;       // saved levels
    int64_t   n_undo;
    int64_t   cap_undo;
    int64_t * demand;     // per step: bytes of the unplaced items
    size_t  * floor;      // scratch per step
    int64_t   work;
    int64_t   budget;
    bool      found;
    bool      oom;
    size_t  * result;     // offsets (by item id) of the plan found
    // the clock and the cancel flag, read when work passes next_check
    double    deadline;   // seconds (gga_now); 0: none
    const volatile int * cancel;
    int64_t   next_check;
    bool      stop;       // the deadline passed or the caller cancelled
};

double gga_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// Work units between two readings of the clock and the cancel flag (about 0.1 ms).
#define GGA_CHECK_EVERY ((int64_t) 1 << 17)

// Whether the search must stop now: out of time, cancelled, or the current try's work spent.
static bool gga_search_halt(struct gga_search * s) {
    if (s->stop || s->found || s->oom || s->work > s->budget) {
        return true;
    }
    if (s->work >= s->next_check) {
        s->next_check = s->work + GGA_CHECK_EVERY;
        if ((s->cancel != NULL && *s->cancel != 0) || (s->deadline > 0 && gga_now() >= s->deadline)) {
            s->stop = true;
        }
    }
    return s->stop;
}

static bool gga_undo_reserve(struct gga_search * s, int64_t extra) {
    if (s->n_undo + extra <= s->cap_undo) {
        return true;
    }
    int64_t cap = s->cap_undo * 2 > s->n_undo + extra ? s->cap_undo * 2 : s->n_undo + extra;
    size_t * u = realloc(s->undo, (size_t) cap * sizeof(*u));
    if (u == NULL) {
        s->oom = true;
        return false;
    }
    s->undo = u;
    s->cap_undo = cap;
    return true;
}

// Lowest offsets of the unplaced items, and whether they can still fit under cap: at each step
// the items live there all lie above the lowest of their offsets, so that offset plus their
// sizes must stay under cap.
static bool gga_room_left(struct gga_search * s) {
    const struct gga_items * it = s->it;
    for (int t = 0; t < s->T; t++) {
        s->floor[t] = SIZE_MAX;
    }
    for (int k = 0; k < s->n; k++) {
        const int i = s->items[k];
        if (s->placed[i]) {
            continue;
        }
        size_t mi = 0;
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            for (int t = it->pieces[p].t0; t < it->pieces[p].t1; t++) {
                mi = s->h[t] > mi ? s->h[t] : mi;
            }
        }
        if (mi + it->size[i] > s->cap) {
            return false;
        }
        s->m[i] = mi;
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            for (int t = it->pieces[p].t0; t < it->pieces[p].t1; t++) {
                s->floor[t] = mi < s->floor[t] ? mi : s->floor[t];
            }
            s->work += 2 * (it->pieces[p].t1 - it->pieces[p].t0);
        }
    }
    s->work += s->T + s->n;
    for (int t = 0; t < s->T; t++) {
        if (s->demand[t] > 0 && s->floor[t] + (size_t) s->demand[t] > s->cap) {
            return false;
        }
    }
    return true;
}

static void gga_search_place(struct gga_search * s, int b, size_t ob) {
    const struct gga_items * it = s->it;
    s->placed[b] = true;
    s->off[b] = ob;
    s->n_left--;
    for (int p = it->first[b]; p < it->first[b + 1]; p++) {
        const struct gga_piece * pc = &it->pieces[p];
        for (int t = pc->t0; t < pc->t1; t++) {
            s->undo[s->n_undo++] = s->h[t];
            s->h[t] = ob + pc->size;
            s->demand[t] -= (int64_t) pc->size;
        }
        s->work += pc->t1 - pc->t0;
    }
}

static void gga_search_unplace(struct gga_search * s, int b) {
    const struct gga_items * it = s->it;
    for (int p = it->first[b + 1] - 1; p >= it->first[b]; p--) {
        const struct gga_piece * pc = &it->pieces[p];
        for (int t = pc->t1 - 1; t >= pc->t0; t--) {
            s->h[t] = s->undo[--s->n_undo];
            s->demand[t] += (int64_t) pc->size;
        }
    }
    s->placed[b] = false;
    s->n_left++;
}

// One node: the lowest stretch of the skyline that still has items to place is filled with an
// item that fits in it exactly at its level (each candidate in turn), or else declared dead up
// to the lower of its two neighbours' levels.
static void gga_search_node(struct gga_search * s) {
    const struct gga_items * it = s->it;
    if (s->n_left == 0 && !s->found && !s->oom && !s->stop) {
        s->found = true;
        memcpy(s->result, s->off, (size_t) it->n_items * sizeof(*s->off));
        return;
    }
    if (gga_search_halt(s)) {
        return;
    }
    if (!gga_room_left(s)) {
        return;
    }
    // the leftmost lowest step that still has items, and the stretch around it at or below
    size_t x = SIZE_MAX;
    int ta = -1;
    for (int t = 0; t < s->T; t++) {
        if (s->demand[t] > 0 && s->h[t] < x) {
            x = s->h[t];
            ta = t;
        }
    }
    int tb = ta + 1;
    while (ta > 0 && s->h[ta - 1] <= x) {
        ta--;
    }
    while (tb < s->T && s->h[tb] <= x) {
        tb++;
    }
    int nc = 0;
    for (int k = 0; k < s->n; k++) {
        const int i = s->items[k];
        if (s->placed[i]) {
            continue;
        }
        const int t0 = it->pieces[it->first[i]].t0;
        const int t1 = it->pieces[it->first[i + 1] - 1].t1;
        if (t0 >= ta && t1 <= tb) {
            s->keys[nc++] = (struct gga_skey) { t0, s->prio[i], 0, i };
        }
    }
    s->work += s->n + (tb - ta);
    gga_skey_sort(s->keys, nc);
    if (s->n_cand + nc > s->cap_cand) {
        const int64_t cap = s->cap_cand * 2 > s->n_cand + nc ? s->cap_cand * 2 : s->n_cand + nc;
        int * c = realloc(s->cand, (size_t) cap * sizeof(*c));
        if (c == NULL) {
            s->oom = true;
            return;
        }
        s->cand = c;
        s->cap_cand = cap;
    }
    const int64_t base = s->n_cand;
    for (int k = 0; k < nc; k++) {
        s->cand[base + k] = s->keys[k].idx;
    }
    s->n_cand += nc;
    for (int k = 0; k < nc && !gga_search_halt(s); k++) {
        const int b = s->cand[base + k];
        if (!gga_undo_reserve(s, 2 * (int64_t) s->T)) {
            return;
        }
        // b is the leftmost item at level x in the stretch: nothing starts at level x over
        // [ta, start of b), which is raised to the lower of its neighbours (the left one and b
        // itself), so that the same set of items at this level is built in one order only
        const int t0b = it->pieces[it->first[b]].t0;
        size_t gap = x + it->size[b];
        if (ta > 0 && s->h[ta - 1] < gap) {
            gap = s->h[ta - 1];
        }
        for (int t = ta; t < t0b; t++) {
            s->undo[s->n_undo++] = s->h[t];
            s->h[t] = gap;
        }
        s->work += t0b - ta;
        gga_search_place(s, b, x);
        gga_search_node(s);
        gga_search_unplace(s, b);
        for (int t = t0b - 1; t >= ta; t--) {
            s->h[t] = s->undo[--s->n_undo];
        }
    }
    s->n_cand = base;
    if (gga_search_halt(s)) {
        return;
    }
    // nothing starts at level x over [ta, tb): raise the stretch to its lower neighbour
    size_t level = SIZE_MAX;
    if (ta > 0) {
        level = s->h[ta - 1];
    }
    if (tb < s->T && s->h[tb] < level) {
        level = s->h[tb];
    }
    if (level == SIZE_MAX || level > s->cap || !gga_undo_reserve(s, tb - ta)) {
        return;
    }
    const int64_t u0 = s->n_undo;
    for (int t = ta; t < tb; t++) {
        s->undo[s->n_undo++] = s->h[t];
        s->h[t] = level;
    }
    gga_search_node(s);
    for (int t = tb - 1; t >= ta; t--) {
        s->h[t] = s->undo[--s->n_undo];
    }
    (void) u0;
}

// Looks for a plan of at most cap bytes within `work`; on success the offsets are in s->result.
static bool gga_search_try(struct gga_search * s, size_t cap, int64_t work) {
    const struct gga_items * it = s->it;
    s->cap = cap;
    s->found = false;
    s->budget = s->work + work;
    s->n_undo = 0;
    s->n_cand = 0;
    s->n_left = s->n;
    memset(s->placed, 0, (size_t) it->n_items * sizeof(*s->placed));
    memset(s->demand, 0, ((size_t) s->T + 1) * sizeof(*s->demand));
    memset(s->h, 0, ((size_t) s->T + 1) * sizeof(*s->h));
    for (int i = 0; i < it->n_items; i++) {
        s->off[i] = 0;
    }
    for (int k = 0; k < s->n; k++) {
        const int i = s->items[k];
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            for (int t = it->pieces[p].t0; t < it->pieces[p].t1; t++) {
                s->demand[t] += (int64_t) it->pieces[p].size;
            }
        }
    }
    gga_search_node(s);
    return s->found;
}

// Branching orders tried in turn at the lower bound (greedy orders).
static const enum gga_order gga_search_prio_rows[] = {
    GGA_ORDER_BREADTH, GGA_ORDER_AREA, GGA_ORDER_SIZE, GGA_ORDER_LIFETIME,
};

// What bounds the search: work units, and optionally the clock and a cancel flag.
struct gga_search_limits {
    int64_t work;      // total work units
    double  deadline;  // gga_now() seconds; 0: none (then work alone bounds the search)
    uint64_t seed;
    const volatile int * cancel;
};

// The search proper: returns the best peak known (best, or smaller with item_offset updated).
static size_t gga_search_run(const struct gga_items * it, int * const * orders,
        size_t alignment, size_t lower_bound, size_t best, const struct gga_search_limits * lim, size_t * item_offset) {
    const int n = it->n_items;
    struct gga_search s;
    memset(&s, 0, sizeof(s));
    s.it = it;
    s.T = it->n_times;
    s.cap_undo = (int64_t) s.T * 4 + 16;
    s.items = malloc((size_t) n * sizeof(*s.items));
    s.placed = malloc((size_t) n * sizeof(*s.placed));
    s.off = malloc((size_t) n * sizeof(*s.off));
    s.m = malloc((size_t) n * sizeof(*s.m));
    s.cap_cand = (int64_t) n * 4 + 16;
    s.cand = malloc((size_t) s.cap_cand * sizeof(*s.cand));
    s.prio = malloc((size_t) n * sizeof(*s.prio));
    s.keys = malloc((size_t) n * sizeof(*s.keys));
    s.h = malloc(((size_t) s.T + 1) * sizeof(*s.h));
    s.undo = malloc((size_t) s.cap_undo * sizeof(*s.undo));
    s.demand = malloc(((size_t) s.T + 1) * sizeof(*s.demand));
    s.floor = malloc(((size_t) s.T + 1) * sizeof(*s.floor));
    s.result = malloc((size_t) n * sizeof(*s.result));
    s.deadline = lim->deadline;
    s.cancel = lim->cancel;
    const int64_t total = lim->work;
    if (s.items && s.placed && s.off && s.m && s.cand && s.prio && s.keys && s.h && s.undo &&
        s.demand && s.floor && s.result) {
        for (int i = 0; i < n; i++) {
            if (it->size[i] > 0) {
                s.items[s.n++] = i;
            }
        }
        // the lower bound itself first, briefly with each branching order; then bisection
        // between the largest size the search failed at and the best plan, the branching order
        // changing at each attempt. A failure is only "not found within the work given".
        const int n_prio = (int) (sizeof(gga_search_prio_rows) / sizeof(gga_search_prio_rows[0]));
        // the work of one dive without backtracking, from the cost of a node
        int64_t spans = 0;
        for (int p = 0; p < it->n_pieces; p++) {
            spans += it->pieces[p].t1 - it->pieces[p].t0;
        }
        const int64_t dive = (int64_t) s.n * (2 * spans + s.T + 2 * s.n) + 1;
        const int64_t per_try = GGA_DIVES * dive;
        const size_t min_step = alignment > lower_bound / 1024 ? alignment : lower_bound / 1024;
        size_t step = 0;
        int descents = 0;
        uint64_t rng = 0x9e3779b97f4a7c15ull ^ (lim->seed * 0xbf58476d1ce4e5b9ull);
        rng = rng != 0 ? rng : 0x9e3779b97f4a7c15ull;
        for (int attempt = 0; lower_bound < best && s.work < total && !s.oom && !s.stop; attempt++) {
            size_t cap = lower_bound;
            if (attempt >= n_prio) {
                if (step == 0) {
                    step = (best - lower_bound) / 4;
                }
                if (step < min_step) {
                    // the descent stalled: start another from the best plan with what is left
                    // of the budget (the restarts draw new perturbations)
                    // with a clock budget the descents go on until it is spent, the last ones
                    // one small step below the best plan
                    if (++descents > GGA_MAX_DESCENTS && lim->deadline == 0) {
                        break;
                    }
                    step = (best - lower_bound) / 8;
                    if (step < min_step) {
                        if (lim->deadline == 0) {
                            break;
                        }
                        step = min_step < best - lower_bound ? min_step : best - lower_bound;
                    }
                }
                cap = best - step < lower_bound ? lower_bound : best - step;
                cap &= ~(alignment - 1);
            }
            bool found = false;
            const int restarts = attempt >= n_prio ? GGA_RESTARTS : 1;
            for (int r = 0; r < restarts && !found && s.work < total && !s.oom && !s.stop; r++) {
                const enum gga_order row = gga_search_prio_rows[(attempt + r) % n_prio];
                for (int k = 0; k < n; k++) {
                    int64_t noise = 0;
                    if (r > 0) {
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        noise = (int64_t) (rng % (uint64_t) (n / 2 + 1));
                    }
                    s.prio[orders[row][k]] = k + noise;
                }
                const int64_t work = per_try < total - s.work ? per_try : total - s.work;
                found = gga_search_try(&s, cap, work);
            }
            if (found) {
                size_t peak = 0;
                for (int i = 0; i < n; i++) {
                    const size_t top = s.result[i] + it->size[i];
                    peak = top > peak ? top : peak;
                }
                if (peak < best) {
                    best = peak;
                    memcpy(item_offset, s.result, (size_t) n * sizeof(*item_offset));
                }
            } else if (attempt >= n_prio) {
                step /= 2;
            }
        }
    }
    free(s.items);
    free(s.placed);
    free(s.off);
    free(s.m);
    free(s.cand);
    free(s.prio);
    free(s.keys);
    free(s.h);
    free(s.undo);
    free(s.demand);
    free(s.floor);
    free(s.result);
    return best;
}

//
// Entry point
//

// The order in which the greedy orders are tried: by size and start first (it needs no segment
// tree and meets the bound on model graphs; see the top of the file).
static const enum gga_order gga_first_orders[GGA_N_ORDERS] = {
    GGA_ORDER_SIZE_START, GGA_ORDER_BREADTH, GGA_ORDER_SIZE, GGA_ORDER_CONFLICTS, GGA_ORDER_LIFETIME, GGA_ORDER_AREA,
};

// An instance too dense for the whole conflict graph (or out of memory for it), with a time
// budget and one chunk: a plan by decomposition, whose memory is one piece's, improved for the
// rest of the budget; false when that fails too (the caller keeps the online plan).
static bool gga_split_plan(const struct gga_items * it, const struct gga_plan_params * params, size_t lower_bound,
        double deadline, size_t * item_offset, int * item_chunk, size_t * chunk_size, int * n_chunks, size_t * bound) {
    if (deadline <= 0 || params->max_chunks != 1 || gga_expired(deadline, params->cancel)) {
        return false;
    }
    size_t peak = gga_decompose(it, lower_bound, item_offset, deadline, params->cancel, params->seed);
    if (peak == SIZE_MAX) {
        return false;
    }
    peak = gga_improve(it, lower_bound, item_offset, deadline, params->cancel, params->seed);
    for (int i = 0; i < it->n_items; i++) {
        item_chunk[i] = 0;
    }
    for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
        chunk_size[c] = 0;
    }
    chunk_size[0] = peak;
    *n_chunks = 1;
    *bound = lower_bound;
    return true;
}

// The deadline of params' time budget counted from now (0: no budget).
static double gga_deadline_from_now(const struct gga_plan_params * params) {
    return params->time_budget > 0 ? gga_now() + params->time_budget : 0;
}

bool gga_search_plan(const struct gga_items * it, const struct gga_plan_params * params, size_t lower_bound,
        size_t * item_offset, int * item_chunk, size_t * chunk_size, int * n_chunks, size_t * bound) {
    const int n = it->n_items;
    const size_t alignment = params->alignment;
    const size_t max_size = params->max_size;
    const int max_chunks = params->max_chunks;
    // the clock starts before the greedy passes, so the budget covers the whole plan; or after the
    // first (budget_after_first), which the graph's build and that pass then complete
    double deadline = params->budget_after_first ? 0 : gga_deadline_from_now(params);
    const int64_t max_edges = params->max_conflicts > 0 ? params->max_conflicts : GGA_MAX_EDGES;
    int * orders[GGA_N_ORDERS] = { NULL };
    bool made[GGA_N_ORDERS] = { false };
    // The first order needs no graph: it comes first, and the graph is built for its pass alone,
    // with each piece's earlier list holding only the neighbours placed before it (the rest find
    // it in their later range): half the list, half the neighbours read in the pass that most
    // plans stop after. Any other use of the graph builds it whole (gga_graph_whole).
    const enum gga_order first = gga_first_orders[0];
    int * rank = n > 0 ? malloc((size_t) n * sizeof(*rank)) : NULL;
    if (rank == NULL || !(made[first] = gga_make_order_new(it, NULL, first, &orders[first]))) {
        free(rank);
        free(orders[first]);
        return false;
    }
    for (int k = 0; k < n; k++) {
        rank[orders[first][k]] = k;
    }
    struct gga_graph g;
    const bool built = gga_graph_build(it, max_edges, deadline, params->cancel, rank, &g);
    free(rank);
    if (!built) {
        // (no first pass to wait for: the decomposition gets the whole budget)
        free(orders[first]);
        if (params->budget_after_first) {
            deadline = gga_deadline_from_now(params);
        }
        return gga_split_plan(it, params, lower_bound, deadline, item_offset, item_chunk, chunk_size, n_chunks, bound);
    }
    const int64_t n_ranges = g.max_degree > 0 ? g.max_degree : 1;
    // the passes' ranges, their offsets (signed and as results) and chunks in one allocation; each
    // order gets its own when first made, so that a plan met by its first order holds one, not
    // six (less memory held, less for the C library to hand back to the system and take again at
    // every plan)
    const size_t n_placed = ((size_t) g.n_ord + 63) / 64;
    struct gga_range * ranges = malloc((size_t) n_ranges * sizeof(*ranges) +
                                       (size_t) g.n_ord * (sizeof(struct gga_span) + sizeof(struct gga_fitp)) +
                                       n_placed * sizeof(uint64_t) +
                                       (size_t) n * (sizeof(int64_t) + sizeof(size_t) + 2 * sizeof(int)));
    struct gga_span * span = ranges != NULL ? (struct gga_span *) (ranges + n_ranges) : NULL;
    uint64_t * placed = ranges != NULL ? (uint64_t *) (span + g.n_ord) : NULL;
    struct gga_fitp * seq = ranges != NULL ? (struct gga_fitp *) (placed + n_placed) : NULL;
    int64_t * at = ranges != NULL ? (int64_t *) (seq + g.n_ord) : NULL;
    size_t * off = ranges != NULL ? (size_t *) (at + n) : NULL;
    int * chunk = off != NULL ? (int *) (off + n) : NULL;
    int * seq_n = chunk != NULL ? chunk + n : NULL;
    // a budget ends the greedy passes too: on a huge dense instance one pass may take seconds
    struct gga_packer pk = { it, &g, ranges, at, span, placed, seq, seq_n, deadline, params->cancel, false };
    bool ok = ranges != NULL;
    size_t best = SIZE_MAX;
    size_t cs[GGALLOC_MAX_CHUNKS];
    int nc = 0;
    // instances too large for the search try three orders only (the others rarely win there);
    // above GGA_FEW_ORDERS_ITEMS, and without a budget of the caller's (gallocr), a single pass
    // by size and start, so that planning stays within about twice the online strategy's time
    const bool quick = n > GGA_FEW_ORDERS_ITEMS || !gga_params_budgeted(params);
    const int n_orders = quick ? 1 : n > GGA_SEARCH_MAX_ITEMS ? 3 : GGA_N_ORDERS;
    for (int k = 0; ok && k < n_orders && best > lower_bound; k++) {
        const enum gga_order o = gga_first_orders[k];
        if (k > 0) {
            ok = gga_graph_whole(it, max_edges, deadline, params->cancel, &g) &&
                 (made[o] = gga_make_order_new(it, &g, o, &orders[o]));
            if (!ok) {
                // a pass's plan stands; out of memory or time for more: no more passes
                ok = best != SIZE_MAX;
                break;
            }
        }
        const size_t peak = gga_greedy(&pk, orders[o], off, NULL, 0, 1, cs, &nc);
        if (pk.expired) {
            // out of time in a pass: the plans of the passes done stand; with none, the caller's
            // online plan
            ok = best != SIZE_MAX;
            break;
        }
        if (peak < best) {
            best = peak;
            memcpy(item_offset, off, (size_t) n * sizeof(*off));
        }
        if (k == 0 && best > lower_bound && params->budget_after_first) {
            deadline = gga_deadline_from_now(params);
            pk.deadline = deadline;
        }
    }

    // the search, on one space, when the instance is small enough and a gap is left (with every
    // order made: without memory or time for them, the passes' plan stands)
    bool all_made = true;
    if (ok && best > lower_bound && n <= GGA_SEARCH_MAX_ITEMS && (max_chunks == 1 || best <= max_size) && !quick) {
        for (int o = 0; all_made && o < GGA_N_ORDERS; o++) {
            if (!made[o]) {
                all_made = gga_graph_whole(it, max_edges, deadline, params->cancel, &g) &&
                           (made[o] = gga_make_order_new(it, &g, (enum gga_order) o, &orders[o]));
            }
        }
    }
    // Within the budget: the bounded search and the exact search in turns, each turn twice as
    // long as the one before (the first, GGA_FIRST_SLICE of the budget), the exact search taking
    // GGA_EXACT_WEIGHT times the bounded search's time in each and resuming its schedule of tries
    // where the last turn cut it. The bounded search reaches the bound within milliseconds on
    // the instances it suits; the exact search packs at the bound where the bounded one stalls a
    // few percent above it, and its failures are proofs that raise the bound. Both stop as soon
    // as the plan meets the bound, proven or not. Without a clock (search_work alone): one run of
    // the bounded search. Not inside gallocr (no budget given there): no search at all.
    size_t proven = lower_bound;
    const bool searchable = ok && !quick && all_made && n <= GGA_SEARCH_MAX_ITEMS && (max_chunks == 1 || best <= max_size);
    const bool exact = ok && n <= GGA_EXACT_MAX_ITEMS && (max_chunks == 1 || best <= max_size) &&
        gga_params_budgeted(params);
    if (!exact && searchable && best > proven) {
        struct gga_search_limits lim = { params->search_work, deadline, params->seed, params->cancel };
        if (deadline > 0) {
            lim.work = INT64_MAX;
        }
        best = gga_search_run(it, orders, alignment, proven, best, &lim, item_offset);
    }
    // above the search's reach, the rest of the budget goes to local improvement (planner-improve.c)
    if (ok && deadline > 0 && best > proven && n > GGA_SEARCH_MAX_ITEMS && !exact && (max_chunks == 1 || best <= max_size)) {
        best = gga_improve(it, proven, item_offset, deadline, params->cancel, params->seed);
    }
    const double start = deadline > 0 ? gga_now() : 0;
    double slice = deadline > 0 ? GGA_FIRST_SLICE * (deadline - start) : GGA_FIRST_SLICE * (double) params->search_work;
    int64_t work_left = params->search_work;
    int64_t next_try = 0;
    while (exact && best > proven && !(params->cancel != NULL && *params->cancel != 0) &&
           (deadline > 0 ? gga_now() < deadline : work_left > 0)) {
        // on a few dozen items the exact search settles the instance at once, where the bounded
        // one can spend its whole turn a few percent above the bound: the exact search goes first
        for (int step = 0; step < 2 && best > proven; step++) {
            const int turn = n <= GGA_EXACT_FIRST_ITEMS ? 1 - step : step;
            if (turn == 0 && !searchable) {
                continue;
            }
            const double length = turn == 0 ? slice : (searchable ? GGA_EXACT_WEIGHT * slice : 3 * slice);
            const double now = deadline > 0 ? gga_now() : 0;
            const double until = deadline > 0 ? (now + length < deadline ? now + length : deadline) : 0;
            const int64_t work = deadline > 0 ? INT64_MAX : (length < (double) work_left ? (int64_t) length : work_left);
            if (deadline > 0 ? now >= deadline : work <= 0) {
                break;
            }
            if (turn == 0) {
                const struct gga_search_limits lim = { work, until, params->seed, params->cancel };
                best = gga_search_run(it, orders, alignment, proven, best, &lim, item_offset);
                work_left -= work < work_left ? work : work_left; // it may stop early: counted whole
            } else {
                const struct gga_exact_limits xl = { work, until, params->seed, params->cancel, GGA_EXACT_MAX_ADJ, next_try };
                int64_t used = 0;
                best = gga_exact_search(it, alignment, best, &xl, item_offset, &proven, &used, &next_try);
                // a search that ends for want of memory or items leaves the rest to the turns of
                // the bounded search
                work_left -= used > 0 ? (used < work_left ? used : work_left) : (work < work_left ? work : work_left);
            }
        }
        slice *= 2;
    }

    if (ok && max_chunks > 1 && best > max_size) {
        // chunks: the same orders, filling each chunk up to max_size (never under a clock: only
        // gallocr plans chunks)
        pk.deadline = 0;
        pk.cancel = NULL;
        best = SIZE_MAX;
        ok = gga_graph_whole(it, max_edges, 0, NULL, &g);
        for (int o = 0; ok && o < GGA_N_ORDERS; o++) {
            if (!made[o]) {
                ok = made[o] = gga_make_order_new(it, &g, (enum gga_order) o, &orders[o]);
                if (!ok) {
                    break;
                }
            }
            size_t ccs[GGALLOC_MAX_CHUNKS];
            int cnc = 0;
            const size_t total = gga_greedy(&pk, orders[o], off, chunk, max_size, max_chunks, ccs, &cnc);
            if (total < best) {
                best = total;
                memcpy(item_offset, off, (size_t) n * sizeof(*off));
                memcpy(item_chunk, chunk, (size_t) n * sizeof(*chunk));
                memcpy(chunk_size, ccs, sizeof(ccs));
                *n_chunks = cnc;
            }
        }
    } else if (ok) {
        for (int i = 0; i < n; i++) {
            item_chunk[i] = 0;
        }
        for (int c = 0; c < GGALLOC_MAX_CHUNKS; c++) {
            chunk_size[c] = 0;
        }
        chunk_size[0] = best;
        *n_chunks = 1;
    }
    *bound = proven;
    free(ranges); // and at, off and chunk
    for (int o = 0; o < GGA_N_ORDERS; o++) {
        free(orders[o]);
    }
    gga_graph_release(&g);
    return ok;
}
