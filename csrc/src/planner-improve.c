// Plans for instances beyond the bounded and exact searches: a plan by decomposition, for those
// too dense for the whole conflict graph, and local improvement of a valid plan, which spends the
// rest of a time budget lowering the peak, one window of time at a time. Both re-place the items
// of a stretch of time in several orders around the items that cross its borders, which stay
// where they are, and need memory for one stretch's conflicts only.
//
// Decomposition (gga_decompose). The whole conflict graph holds every pair of buffers live at once:
// on 200k buffers with about 400 live at each step, 80M pairs, past the cap that bounds the
// planner's memory, where the greedy passes give way to ggml's online plan. Cut in time, the same
// instance needs a piece's pairs at a time. Time is cut into pieces of about GGA_SPLIT_ITEMS items
// (those that start in it), each border at the step that the fewest bytes cross between half and
// twice that many, and the pieces are packed from the first to the last: a piece's items, whole
// (those that end in a later piece too), around the items of earlier pieces still live at its first
// step, in the orders below, with a ceiling at the peak so far (at least the bound). The first
// order whose items all stay under that ceiling ends the piece; otherwise the lowest placement wins
// (ties: the one whose items carried into the next piece reach least high) and raises the peak,
// unless the piece packed again together with the one before it, where the items carried over are
// free again, does better. The borders keep what the pieces share small. The stitch is the items
// carried over: each keeps the offset its first piece gave it. On bench/plan's dense graph of that
// kind the plan ends 5.0% above the bound after about 2.2 s, where the online plan is 6.8% above
// it; on random graphs of 9k-12k buffers, chains included, 2-10% where the online plan is 14-71%
// above. A piece costs what a window does (below), O(m log m + E log E) per order for its m items
// and E pairs: near-linear in n for a bounded number live at a step.
//
// Improvement (gga_improve), and why windows. On a long instance (a random graph of 100k buffers:
// about 40 live at a step, a peak set by a few crowded stretches) the greedy pass by size leaves
// the plan a percent or two above the bound because of a few places where its one order stacked
// badly; everywhere else the plan is already below the peak and needs no change. So the work goes
// where the peak is: take a stretch of steps [a, b) around an item that reaches the peak, free
// the items whose lifetimes lie wholly inside it, keep every other item where it is (those that
// cross the stretch's borders are obstacles, with the part of their lifetime that falls inside),
// and place the freed items again, lowest fit (each at the lowest offset where it overlaps no
// obstacle and no item placed before it), in several orders: by size (ties: the earlier start), by
// current offset (a compaction of what is there), by length of lifetime, the items near the top
// first, by breadth (the most bytes live, obstacles included, at a step of the item's lifetime:
// the items of the tightest steps first, which lowers what random graphs of 20k buffers keep above
// the bound by a fifth), and orders with random jitter on size, more of them as the level resists;
// the orders by size and by breadth go first with the tightest fit instead (each item in the hole
// below the ceiling that it fills best). The best placement is kept only when every freed item
// ends below the peak, so the plan never gets worse and the number of items at the peak falls by
// one at least; when none is left at the peak, the peak has fallen to the next level, and the
// round starts again there.
//
// Borders. Items that cross a border are fixed over the whole window, so borders go where few bytes
// cross (the bytes crossing each step depend on the lifetimes only: one difference array, O(n + T),
// made once): the least crossed step between half the margin and twice it from the item. A window
// that fails doubles its margin (more room to rearrange), up to a quarter of GGA_IMPROVE_MAX_FREED
// freed items in the first round, all of it from the third. An item that no window lowers stays at
// the peak for this round; the next rounds retry it with random weights on the borders' costs, a
// random first margin, more random orders, and sideways moves: a placement whose top is the peak is
// kept too when the item leaves the peak and no more freed items than before reach it, so that the
// next round works on another item and another stretch. On bench/plan's random graphs of 100k
// buffers these choices together leave about a third less above the bound after 1 s, and half
// as much after 4 s, as windows of fixed shape with fewer orders; on 30k buffers and 1 s the
// plainer windows can do better.
//
// Bands. A long item at the peak (hundreds of steps) needs a window over its whole lifetime, whose
// borders every other long item crosses: fixed, they leave the freed items too little room, and no
// window lowers it. So an item no window lowers gets band windows next: over its lifetime, the
// items whose tops pass P - h are freed, whole (long or not), and every other item live at a step
// of theirs is an obstacle; h starts at twice the item's size and doubles, up to 16 times it in the
// first round (deeper bands free thousands of items: on 100k buffers of repeated model layers they
// took 40 ms where the next round's windows settle it in about 1) and up to P after. A band holds a
// few dozen items where a window holds thousands, and reaches the long ones. On random graphs of
// 50k and 100k buffers (six and four seeds, 1 s) the excess over the bound fell from 0.75% to 0.62%
// and from 1.23% to 0.56%.
//
// It stops at once when the peak meets the bound, when the deadline passes or the cancel flag is
// set (read every GGA_IMPROVE_CHECK_EVERY placed items), and the plan in the caller's array is
// valid after every step. Without a deadline it gives up after GGA_IMPROVE_MAX_ROUNDS rounds at one
// level.
//
// Finding a window's items. Items of nonzero size are sorted by first step (a counting sort over
// the steps): those starting in [a, b) are one range of that order, freed when they end by b,
// obstacles otherwise. Those starting before a and ending after it are found in a max segment tree
// of the last steps over that order: a descent visits only subtrees holding such an item, O((k + 1)
// log n) for k found (a band's candidates likewise, and then the obstacles over the freed items'
// lifetimes, the freed ones told apart by a stamp per item). A window's pieces are then sorted by
// start and swept with a list of the live ones, which lists each freed piece's neighbours (obstacle
// with obstacle is never needed). One placement order costs O(E log E) for E the window's
// conflicts: a window costs O(m log m + E log E) per order for its m pieces, near-linear in m for a
// bounded number live at a step. Memory: O(n + T) for the sort, the tree and the crossing bytes (n
// items, T steps), plus the largest window's.

#include "planner-impl.h"
#include "grow.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

// The most items a window frees; larger windows are not tried (a window costs O(m log m) per
// order, tens of milliseconds at this size)
#define GGA_IMPROVE_MAX_FREED  16384
// The most pairs of a window's pieces live at once (8 bytes each, and 4 more per freed side as
// neighbours): a window, or a piece of the decomposition, of a dense instance stays within 64 MiB
#define GGA_IMPROVE_MAX_EDGES  ((int64_t) 1 << 22)
// The first margin, in steps, around the item at the peak; doubled at each failure
#define GGA_IMPROVE_FIRST_MARGIN 2
// Orders tried per window: the fixed ones, then this many with random jitter (more in later
// rounds, up to GGA_IMPROVE_MAX_RANDOM)
#define GGA_IMPROVE_RANDOM     2
#define GGA_IMPROVE_MAX_RANDOM 16
#define GGA_IMPROVE_UNPLACED   SIZE_MAX
// Items placed between two readings of the clock and the cancel flag
#define GGA_IMPROVE_CHECK_EVERY 256
// Rounds that leave items at the peak before giving up, when there is no deadline
#define GGA_IMPROVE_MAX_ROUNDS 2
// Items a piece of the decomposition holds, give or take a factor of two (its border goes where
// the fewest bytes cross)
#define GGA_SPLIT_ITEMS 2048

// A piece inside a window: a freed item's (owner >= 0, the item's local index) or an
// obstacle's (owner -1, at its fixed offset).
struct gga_wpiece {
    size_t size;
    size_t off;
    int    t0, t1;
    int    owner;
};

struct gga_wedge {
    int p, q;
};

struct gga_ikey {
    int64_t a, b;
    int     idx;
};

#define GGA_IKEY_LESS(x, y) ((x)->a != (y)->a ? (x)->a < (y)->a : (x)->b != (y)->b ? (x)->b < (y)->b : (x)->idx < (y)->idx)
GGA_SORT_DEFINE(gga_ikey_sort, struct gga_ikey, GGA_IKEY_LESS)

struct gga_imp {
    const struct gga_items * it;
    size_t * off;       // the caller's plan, updated in place
    int      n, T;
    int    * span0;     // per item: first step ...
    int    * span1;     // ... and end
    int    * by_start;  // items of nonzero size by first step
    int      n_sorted;
    int    * start_at;  // T + 2: first position in by_start of an item starting at or after t
    int    * tree;      // max end over by_start positions (leaves from `leaves`)
    int    * mark;      // per item: the band window that freed it (stamp)
    int      stamp;
    int      leaves;
    int64_t * cross;    // T + 1: bytes of the items live both before step t and at it
    int64_t * breadth;  // per freed item: the most bytes live at a step of its lifetime
    int64_t * seg;      // scratch: a max segment tree over the window's steps
    int64_t   cap_seg, cap_breadth;
    uint64_t rng;
    double   deadline;
    const volatile int * cancel;
    // one window (grown as needed)
    int               * freed;     // items freed, by local index
    int                 n_freed, cap_freed;
    int               * obst;      // obstacle items
    int                 n_obst, cap_obst;
    struct gga_wpiece * wp;        // freed items' pieces (grouped by item), then obstacles'
    int                 n_wp, cap_wp;
    int               * wfirst;    // per freed item: its first piece in wp (n_freed + 1)
    struct gga_ikey   * keys;      // sort scratch: pieces by start, then items by an order
    int                 cap_keys;
    int               * active;    // sweep: live pieces
    int               * adj_first; // per freed piece: its neighbours in adj
    int               * adj;
    int64_t             n_adj, cap_adj;
    struct gga_wedge  * edge;      // the sweep's pairs before they become adj
    int64_t             n_edge, cap_edge;
    struct gga_range * ranges;
    int               * order;
    size_t            * try_off;   // per freed item: an order's placement ...
    size_t            * best_off;  // ... and the best one
};

// A plan to work on: item_offset (the caller's), nothing allocated yet.
static void gga_imp_setup(struct gga_imp * w, const struct gga_items * it, size_t * item_offset, double deadline,
        const volatile int * cancel, uint64_t rng) {
    memset(w, 0, sizeof(*w));
    w->it = it;
    w->off = item_offset;
    w->n = it->n_items;
    w->T = it->n_times;
    w->rng = rng;
    w->deadline = deadline;
    w->cancel = cancel;
}

static bool gga_imp_expired(const struct gga_imp * w) {
    return (w->cancel != NULL && *w->cancel != 0) || (w->deadline > 0 && gga_now() >= w->deadline);
}

static uint64_t gga_imp_rand(struct gga_imp * w) {
    // splitmix64
    uint64_t z = (w->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void gga_imp_release(struct gga_imp * w) {
    free(w->span0); // and span1, by_start, start_at, tree, mark
    free(w->cross);
    free(w->breadth);
    free(w->seg);
    free(w->freed);
    free(w->obst);
    free(w->wp);
    free(w->wfirst);
    free(w->keys);
    free(w->active);
    free(w->adj_first);
    free(w->adj);
    free(w->edge);
    free(w->ranges);
    free(w->order);
    free(w->try_off);
    free(w->best_off);
}

static bool gga_imp_init(struct gga_imp * w) {
    const struct gga_items * it = w->it;
    const int n = w->n;
    const int T = w->T;
    w->leaves = 1;
    while (w->leaves < n) {
        w->leaves *= 2;
    }
    const size_t ints = (size_t) 4 * (size_t) n + (size_t) T + 2 + 2 * (size_t) w->leaves;
    w->span0 = malloc(ints * sizeof(int));
    if (w->span0 == NULL) {
        return false;
    }
    w->span1 = w->span0 + n;
    w->by_start = w->span1 + n;
    w->start_at = w->by_start + n;
    w->tree = w->start_at + T + 2;
    w->mark = w->tree + 2 * w->leaves;
    memset(w->mark, 0, (size_t) n * sizeof(int));
    int * c = w->start_at;
    memset(c, 0, ((size_t) T + 2) * sizeof(*c));
    for (int i = 0; i < n; i++) {
        w->span0[i] = it->pieces[it->first[i]].t0;
        w->span1[i] = it->pieces[it->first[i + 1] - 1].t1;
        if (it->size[i] > 0) {
            c[w->span0[i] + 2]++;
        }
    }
    for (int t = 0; t <= T; t++) {
        c[t + 1] += c[t];
    }
    w->cross = calloc((size_t) T + 2, sizeof(*w->cross));
    if (w->cross == NULL) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (w->span1[i] > w->span0[i] + 1) {
            w->cross[w->span0[i] + 1] += (int64_t) it->size[i];
            w->cross[w->span1[i]] -= (int64_t) it->size[i];
        }
    }
    for (int t = 1; t <= T; t++) {
        w->cross[t] += w->cross[t - 1];
    }
    for (int i = 0; i < n; i++) {
        if (it->size[i] > 0) {
            w->by_start[c[w->span0[i] + 1]++] = i;
        }
    }
    w->n_sorted = c[T + 1];
    // now c[t] is the first position of an item starting at or after t
    for (int k = 0; k < w->leaves; k++) {
        w->tree[w->leaves + k] = k < w->n_sorted ? w->span1[w->by_start[k]] : -1;
    }
    for (int v = w->leaves - 1; v >= 1; v--) {
        w->tree[v] = w->tree[2 * v] > w->tree[2 * v + 1] ? w->tree[2 * v] : w->tree[2 * v + 1];
    }
    return true;
}

// Obstacles that start before a and end after it: positions below start_at[a] whose end passes a.
static bool gga_imp_crossing(struct gga_imp * w, int a) {
    const int lim = w->start_at[a];
    if (lim == 0) {
        return true;
    }
    // depth-first over the tree, keeping to subtrees that begin below lim and hold an end > a
    int stack[64];
    int sp = 0;
    stack[sp++] = 1;
    while (sp > 0) {
        const int v = stack[--sp];
        if (w->tree[v] <= a) {
            continue;
        }
        // the first leaf position of v's subtree
        int depth = 0;
        for (int u = v; u < w->leaves; u *= 2) {
            depth++;
        }
        const int first = (v << depth) - w->leaves;
        if (first >= lim) {
            continue;
        }
        if (v >= w->leaves) {
            if (!gga_grow_int((void **) &w->obst, &w->cap_obst, w->n_obst + 1, sizeof(int))) {
                return false;
            }
            w->obst[w->n_obst++] = w->by_start[first];
            continue;
        }
        stack[sp++] = 2 * v + 1;
        stack[sp++] = 2 * v;
    }
    return true;
}

static int gga_imp_pieces(struct gga_imp * w, int a, int ext);

// Collects the window [a, b): freed items, obstacles, their pieces and the freed pieces'
// neighbours. The items freed are those wholly inside; with roll (a piece of the decomposition)
// every item that starts inside, whole, and the obstacles are then the items that cross a alone.
// Returns 1 when done, 0 when more than max_freed items would be freed or the window holds more
// than GGA_IMPROVE_MAX_EDGES pairs of pieces live at once, -1 when out of memory.
static int gga_imp_collect(struct gga_imp * w, int a, int b, int max_freed, bool roll) {
    w->n_freed = 0;
    w->n_obst = 0;
    const int lo = w->start_at[a];
    const int end = w->start_at[b]; // b <= T
    int n_free = 0;
    int ext = b; // the window's pieces end by ext
    for (int k = lo; k < end; k++) {
        const int e = w->span1[w->by_start[k]];
        n_free += roll || e <= b;
        ext = roll && e > ext ? e : ext;
    }
    if (n_free > max_freed) {
        return 0;
    }
    if (!gga_grow_int((void **) &w->freed, &w->cap_freed, n_free + 1, sizeof(int)) ||
        !gga_grow_int((void **) &w->obst, &w->cap_obst, end - lo + 1, sizeof(int))) {
        return -1;
    }
    for (int k = lo; k < end; k++) {
        const int i = w->by_start[k];
        if (roll || w->span1[i] <= b) {
            w->freed[w->n_freed++] = i;
        } else {
            w->obst[w->n_obst++] = i;
        }
    }
    if (!gga_imp_crossing(w, a)) {
        return -1;
    }
    return gga_imp_pieces(w, a, ext);
}

// The items live at a step of [a, b) into w->obst (those crossing a, then those starting in
// [a, b)); false when out of memory.
static bool gga_imp_live_in(struct gga_imp * w, int a, int b) {
    w->n_obst = 0;
    if (!gga_imp_crossing(w, a)) {
        return false;
    }
    const int lo = w->start_at[a];
    const int end = w->start_at[b];
    if (!gga_grow_int((void **) &w->obst, &w->cap_obst, w->n_obst + end - lo + 1, sizeof(int))) {
        return false;
    }
    for (int k = lo; k < end; k++) {
        w->obst[w->n_obst++] = w->by_start[k];
    }
    return true;
}

// A band window: the items live at a step of [a, b) whose tops pass floor are freed, whole, and
// every other item live at a step of their lifetimes is an obstacle. Returns as gga_imp_collect.
static int gga_imp_collect_band(struct gga_imp * w, int a, int b, size_t floor, int max_freed) {
    const struct gga_items * it = w->it;
    w->n_freed = 0;
    if (!gga_imp_live_in(w, a, b)) { // the candidates
        return -1;
    }
    int n_free = 0;
    for (int k = 0; k < w->n_obst; k++) {
        n_free += w->off[w->obst[k]] + it->size[w->obst[k]] > floor;
    }
    if (n_free > max_freed) {
        return 0;
    }
    if (!gga_grow_int((void **) &w->freed, &w->cap_freed, n_free + 1, sizeof(int))) {
        return -1;
    }
    if (w->stamp == INT_MAX) {
        memset(w->mark, 0, (size_t) w->n * sizeof(int));
        w->stamp = 0;
    }
    const int stamp = ++w->stamp;
    int ea = a, eb = b; // the freed items' whole lifetimes
    for (int k = 0; k < w->n_obst; k++) {
        const int i = w->obst[k];
        if (w->off[i] + it->size[i] > floor) {
            w->freed[w->n_freed++] = i;
            w->mark[i] = stamp;
            ea = w->span0[i] < ea ? w->span0[i] : ea;
            eb = w->span1[i] > eb ? w->span1[i] : eb;
        }
    }
    // the obstacles: every other item live in [ea, eb)
    if (!gga_imp_live_in(w, ea, eb)) {
        return -1;
    }
    int n_obst = 0;
    for (int k = 0; k < w->n_obst; k++) {
        if (w->mark[w->obst[k]] != stamp) {
            w->obst[n_obst++] = w->obst[k];
        }
    }
    w->n_obst = n_obst;
    return gga_imp_pieces(w, ea, eb);
}

// The window's pieces (the freed items' whole, the obstacles' within [a, ext)), their pairs live
// at once and each freed item's breadth, for the freed items and obstacles collected. Returns as
// gga_imp_collect.
static int gga_imp_pieces(struct gga_imp * w, int a, int ext) {
    const struct gga_items * it = w->it;
    int b = ext;
    int64_t np = 0;
    for (int f = 0; f < w->n_freed; f++) {
        np += it->first[w->freed[f] + 1] - it->first[w->freed[f]];
    }
    for (int k = 0; k < w->n_obst; k++) {
        np += it->first[w->obst[k] + 1] - it->first[w->obst[k]];
    }
    if (!gga_grow_int((void **) &w->wp, &w->cap_wp, np + 1, sizeof(*w->wp)) ||
        !gga_grow_int((void **) &w->keys, &w->cap_keys, (np > w->n_freed ? np : w->n_freed) + 1, sizeof(*w->keys))) {
        return -1;
    }
    free(w->wfirst);
    free(w->order);
    free(w->try_off);
    free(w->best_off);
    free(w->active);
    free(w->adj_first);
    w->wfirst = malloc(((size_t) w->n_freed + 1) * sizeof(int));
    w->order = malloc(((size_t) w->n_freed + 1) * sizeof(int));
    w->try_off = malloc(((size_t) w->n_freed + 1) * sizeof(size_t));
    w->best_off = malloc(((size_t) w->n_freed + 1) * sizeof(size_t));
    w->active = malloc(((size_t) np + 1) * sizeof(int));
    w->adj_first = malloc(((size_t) np + 2) * sizeof(int));
    if (!w->wfirst || !w->order || !w->try_off || !w->best_off || !w->active || !w->adj_first) {
        return -1;
    }
    w->n_wp = 0;
    for (int f = 0; f < w->n_freed; f++) {
        const int i = w->freed[f];
        w->wfirst[f] = w->n_wp;
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            const struct gga_piece * pc = &it->pieces[p];
            w->wp[w->n_wp++] = (struct gga_wpiece) { pc->size, 0, pc->t0, pc->t1, f };
        }
    }
    w->wfirst[w->n_freed] = w->n_wp;
    const int n_free_pieces = w->n_wp;
    for (int k = 0; k < w->n_obst; k++) {
        const int i = w->obst[k];
        for (int p = it->first[i]; p < it->first[i + 1]; p++) {
            const struct gga_piece * pc = &it->pieces[p];
            if (pc->size > 0 && pc->t0 < ext && pc->t1 > a) {
                w->wp[w->n_wp++] = (struct gga_wpiece) { pc->size, w->off[i], pc->t0, pc->t1, -1 };
            }
        }
    }
    // sweep by start: each pair of live pieces with a freed one among them is an edge
    for (int p = 0; p < w->n_wp; p++) {
        w->keys[p] = (struct gga_ikey) { w->wp[p].t0, 0, p };
    }
    gga_ikey_sort(w->keys, w->n_wp);
    w->n_edge = 0;
    int n_active = 0;
    for (int k = 0; k < w->n_wp; k++) {
        const int p = w->keys[k].idx;
        const struct gga_wpiece * pp = &w->wp[p];
        if (w->n_edge + n_active > GGA_IMPROVE_MAX_EDGES) {
            return 0;
        }
        if (!gga_grow((void **) &w->edge, &w->cap_edge, w->n_edge + n_active + 1, sizeof(*w->edge))) {
            return -1;
        }
        int a2 = 0;
        for (int x = 0; x < n_active; x++) {
            const int q = w->active[x];
            const struct gga_wpiece * qq = &w->wp[q];
            if (qq->t1 <= pp->t0) {
                continue;
            }
            w->active[a2++] = q;
            if ((pp->owner >= 0 || qq->owner >= 0) && pp->owner != qq->owner && pp->size > 0 && qq->size > 0) {
                w->edge[w->n_edge++] = (struct gga_wedge) { p, q };
            }
        }
        n_active = a2;
        w->active[n_active++] = p;
    }
    // adjacency of the freed pieces (the first n_free_pieces of wp)
    memset(w->adj_first, 0, ((size_t) n_free_pieces + 2) * sizeof(int));
    for (int64_t e = 0; e < w->n_edge; e++) {
        if (w->edge[e].p < n_free_pieces) {
            w->adj_first[w->edge[e].p + 2]++;
        }
        if (w->edge[e].q < n_free_pieces) {
            w->adj_first[w->edge[e].q + 2]++;
        }
    }
    for (int p = 0; p < n_free_pieces; p++) {
        w->adj_first[p + 2] += w->adj_first[p + 1];
    }
    const int64_t n_adj = w->adj_first[n_free_pieces + 1];
    if (!gga_grow((void **) &w->adj, &w->cap_adj, n_adj + 1, sizeof(int))) {
        return -1;
    }
    // ranges for the freed item with the most neighbours (adj_first[p + 1] is p's first now)
    int64_t cap_r = 1;
    for (int f = 0; f < w->n_freed; f++) {
        const int64_t d = w->adj_first[w->wfirst[f + 1] + 1] - w->adj_first[w->wfirst[f] + 1];
        cap_r = d > cap_r ? d : cap_r;
    }
    free(w->ranges);
    w->ranges = malloc((size_t) cap_r * sizeof(*w->ranges));
    if (w->ranges == NULL) {
        return -1;
    }
    for (int64_t e = 0; e < w->n_edge; e++) {
        const int p = w->edge[e].p, q = w->edge[e].q;
        if (p < n_free_pieces) {
            w->adj[w->adj_first[p + 1]++] = q;
        }
        if (q < n_free_pieces) {
            w->adj[w->adj_first[q + 1]++] = p;
        }
    }
    w->n_adj = n_adj;
    // breadth: bytes live per step of [a, b) from a difference array in the leaves of a max
    // segment tree, then a range maximum per freed item, O(b - a + m log(b - a))
    int leaves = 1;
    while (leaves < b - a) {
        leaves *= 2;
    }
    if (!gga_grow((void **) &w->seg, &w->cap_seg, 2 * (int64_t) leaves, sizeof(int64_t)) ||
        !gga_grow((void **) &w->breadth, &w->cap_breadth, w->n_freed + 1, sizeof(int64_t))) {
        return -1;
    }
    int64_t * live = w->seg + leaves;
    memset(w->seg, 0, 2 * (size_t) leaves * sizeof(int64_t));
    for (int p = 0; p < w->n_wp; p++) {
        const int t0 = w->wp[p].t0 > a ? w->wp[p].t0 : a;
        const int t1 = w->wp[p].t1 < b ? w->wp[p].t1 : b;
        if (t0 < t1) {
            live[t0 - a] += (int64_t) w->wp[p].size;
            if (t1 < b) {
                live[t1 - a] -= (int64_t) w->wp[p].size;
            }
        }
    }
    for (int t = 1; t < b - a; t++) {
        live[t] += live[t - 1];
    }
    for (int v = leaves - 1; v >= 1; v--) {
        w->seg[v] = w->seg[2 * v] > w->seg[2 * v + 1] ? w->seg[2 * v] : w->seg[2 * v + 1];
    }
    for (int f = 0; f < w->n_freed; f++) {
        const int i = w->freed[f];
        int64_t m = 0;
        for (int lo = w->span0[i] - a + leaves, hi = w->span1[i] - a + leaves; lo < hi; lo /= 2, hi /= 2) {
            if (lo & 1) {
                m = w->seg[lo] > m ? w->seg[lo] : m;
                lo++;
            }
            if (hi & 1) {
                hi--;
                m = w->seg[hi] > m ? w->seg[hi] : m;
            }
        }
        w->breadth[f] = m;
    }
    return 1;
}

// The offset at or below ceiling, outside every range, that leaves the least room in the hole it
// takes (ties: the lowest); when there is none, the lowest offset outside every range.
static int64_t gga_imp_tightest(struct gga_range * r, int nr, int64_t ceiling) {
    gga_ranges_sort(r, nr);
    int64_t x = 0, best_x = -1, best_slack = INT64_MAX;
    for (int k = 0; k < nr && x <= ceiling; k++) {
        if (x <= r[k].lo) {
            const int64_t slack = r[k].lo - x;
            if (slack < best_slack) {
                best_slack = slack;
                best_x = x;
            }
            x = r[k].hi;
        } else if (x < r[k].hi) {
            x = r[k].hi;
        }
    }
    if (x <= ceiling && ceiling - x < best_slack) {
        best_x = x;
    }
    return best_x >= 0 ? best_x : gga_ranges_lowest(r, nr, 0);
}

// Places the freed items in w->order into w->try_off, lowest fit or (tight) the tightest fit with
// a top below ceil; returns the highest top, or SIZE_MAX as soon as an item would reach limit.
static size_t gga_imp_place(struct gga_imp * w, size_t limit, size_t ceil, bool tight) {
    const struct gga_items * it = w->it;
    for (int f = 0; f < w->n_freed; f++) {
        w->try_off[f] = GGA_IMPROVE_UNPLACED;
    }
    size_t top = 0;
    for (int k = 0; k < w->n_freed; k++) {
        if (k % GGA_IMPROVE_CHECK_EVERY == GGA_IMPROVE_CHECK_EVERY - 1 && gga_imp_expired(w)) {
            return SIZE_MAX; // out of time: the caller sees the clock too
        }
        const int f = w->order[k];
        int nr = 0;
        for (int p = w->wfirst[f]; p < w->wfirst[f + 1]; p++) {
            const int64_t sp = (int64_t) w->wp[p].size;
            if (sp == 0) {
                continue;
            }
            for (int e = w->adj_first[p]; e < w->adj_first[p + 1]; e++) {
                const struct gga_wpiece * q = &w->wp[w->adj[e]];
                const size_t oq = q->owner < 0 ? q->off : w->try_off[q->owner];
                if (oq != GGA_IMPROVE_UNPLACED) {
                    w->ranges[nr++] = (struct gga_range) { (int64_t) oq - sp, (int64_t) oq + (int64_t) q->size };
                }
            }
        }
        const int64_t ceiling = (int64_t) (ceil > GGA_UNBOUNDED ? GGA_UNBOUNDED : ceil) - 1 - (int64_t) it->size[w->freed[f]];
        const size_t x = (size_t) (tight ? gga_imp_tightest(w->ranges, nr, ceiling) : gga_ranges_lowest(w->ranges, nr, 0));
        const size_t t = x + it->size[w->freed[f]];
        if (t >= limit) {
            return SIZE_MAX;
        }
        w->try_off[f] = x;
        top = t > top ? t : top;
    }
    return top;
}

enum gga_imp_order {
    GGA_IMP_SIZE,    // size, largest first, ties: the earlier start
    GGA_IMP_OFFSET,  // current offset, lowest first: a compaction of the current placement
    GGA_IMP_SPAN,    // lifetime, longest first, ties: the larger
    GGA_IMP_HIGH_FIRST, // the items with the highest tops first (by size), then by current offset
    GGA_IMP_BREADTH, // the most bytes live at a step of the item's lifetime (obstacles included)
                     // first, ties: the larger: the items of the tightest steps first
    GGA_IMP_RANDOM,  // size with random jitter of up to half of it, random ties (jitter on the
                     // current offset instead, in every other one, did worse on 30k and 100k
                     // random graphs)
};

static void gga_imp_make_order(struct gga_imp * w, enum gga_imp_order o, size_t P) {
    const struct gga_items * it = w->it;
    // the highest tenth of the window's height
    const int64_t high = (int64_t) (P - P / 10);
    for (int f = 0; f < w->n_freed; f++) {
        const int i = w->freed[f];
        const int64_t size = (int64_t) it->size[i];
        struct gga_ikey k = { 0, 0, f };
        switch (o) {
            case GGA_IMP_SIZE:   k.a = -size; k.b = w->span0[i]; break;
            case GGA_IMP_OFFSET: k.a = (int64_t) w->off[i]; k.b = w->span0[i]; break;
            case GGA_IMP_SPAN:   k.a = -(int64_t) (w->span1[i] - w->span0[i]); k.b = -size; break;
            case GGA_IMP_BREADTH: k.a = -w->breadth[f]; k.b = -size; break;
            case GGA_IMP_HIGH_FIRST: {
                const int64_t top = (int64_t) (w->off[i] + it->size[i]);
                k.a = top >= high ? -1 : 0;
                k.b = top >= high ? -size : (int64_t) w->off[i];
                break;
            }
            case GGA_IMP_RANDOM: {
                const uint64_t r = gga_imp_rand(w);
                k.a = -(size + (int64_t) ((r >> 32) % ((uint64_t) size / 2 + 1)));
                k.b = (int64_t) (r & 0xffffffff);
                break;
            }
        }
        w->keys[f] = k;
    }
    gga_ikey_sort(w->keys, w->n_freed);
    for (int f = 0; f < w->n_freed; f++) {
        w->order[f] = w->keys[f].idx;
    }
}

// Tries the window [a, b) against the ceiling P: 1 when its freed items were re-placed all below
// P (the plan updated), 0 when no order did it, 2 when the window is too large, -1 when out of
// memory or time.
// The fixed passes of every window, in order, before the random ones (lowest fit). The tightest
// fit of the first two (each item in the hole below the ceiling that it fills best, keeping the
// larger holes for larger items) took the summed excess over the bound of five random graphs of
// 30k buffers at 1 s from 3.6% to 3.2%, and of six of 20k without a clock from 6.2% to 5.9%.
static const struct {
    enum gga_imp_order order;
    bool               tight;
} gga_imp_passes[] = {
    { GGA_IMP_SIZE, true }, { GGA_IMP_BREADTH, true }, { GGA_IMP_SIZE, false }, { GGA_IMP_OFFSET, false },
    { GGA_IMP_SPAN, false }, { GGA_IMP_HIGH_FIRST, false }, { GGA_IMP_BREADTH, false },
};
#define GGA_IMP_N_PASSES ((int) (sizeof(gga_imp_passes) / sizeof(gga_imp_passes[0])))

// The decomposition's passes per piece (its items have no offsets yet: no order by offset)
static const struct {
    enum gga_imp_order order;
    bool               tight;
} gga_split_passes[] = {
    { GGA_IMP_SIZE, false }, { GGA_IMP_BREADTH, false }, { GGA_IMP_SPAN, false }, { GGA_IMP_SIZE, true },
    { GGA_IMP_BREADTH, true },
};
#define GGA_SPLIT_N_PASSES ((int) (sizeof(gga_split_passes) / sizeof(gga_split_passes[0])))

static int gga_imp_window(struct gga_imp * w, int a, int b, size_t P, int n_random, int item, bool sideways, int max_freed,
        int64_t floor) {
    const struct gga_items * it = w->it;
    const int r = floor < 0 ? gga_imp_collect(w, a, b, max_freed, false) : gga_imp_collect_band(w, a, b, (size_t) floor, max_freed);
    if (r <= 0) {
        return r == 0 ? 2 : -1;
    }
    int fi = -1;     // the item's local index
    int at_peak = 0; // freed items at the peak now
    for (int f = 0; f < w->n_freed; f++) {
        fi = w->freed[f] == item ? f : fi;
        at_peak += w->off[w->freed[f]] + it->size[w->freed[f]] == P;
    }
    size_t best = P;
    bool side = false; // best_off holds a sideways move
    const int n_orders = GGA_IMP_N_PASSES + n_random;
    for (int k = 0; k < n_orders; k++) {
        if (gga_imp_expired(w)) {
            break;
        }
        const bool fixed = k < GGA_IMP_N_PASSES;
        gga_imp_make_order(w, fixed ? gga_imp_passes[k].order : GGA_IMP_RANDOM, P);
        const bool may_side = sideways && best == P && fi >= 0 && !side;
        const size_t limit = may_side ? P + 1 : best;
        const size_t top = gga_imp_place(w, limit, limit, fixed && gga_imp_passes[k].tight);
        if (top < best) {
            best = top;
            side = false;
            memcpy(w->best_off, w->try_off, (size_t) w->n_freed * sizeof(size_t));
        } else if (may_side && top == P && w->try_off[fi] + it->size[item] < P) {
            // the item leaves the peak and no more items than before reach it
            int n = 0;
            for (int f = 0; f < w->n_freed; f++) {
                n += w->try_off[f] + it->size[w->freed[f]] == P;
            }
            if (n <= at_peak) {
                side = true;
                memcpy(w->best_off, w->try_off, (size_t) w->n_freed * sizeof(size_t));
            }
        }
    }
    if (best >= P && !side) {
        return gga_imp_expired(w) ? -1 : 0;
    }
    for (int f = 0; f < w->n_freed; f++) {
        w->off[w->freed[f]] = w->best_off[f];
    }
    return side ? 3 : 1;
}

// A window's border: the step between near and far (clipped to [0, T]) that the fewest bytes
// cross, ties the nearest; with jitter each step's bytes count up to twice, at random.
static int gga_imp_border(struct gga_imp * w, int64_t near, int64_t far, bool jitter) {
    near = near < 0 ? 0 : near > w->T ? w->T : near;
    far = far < 0 ? 0 : far > w->T ? w->T : far;
    const int64_t dir = far >= near ? 1 : -1;
    int64_t best_t = near;
    double best = -1;
    for (int64_t t = near; ; t += dir) {
        double c = (double) w->cross[t];
        if (jitter) {
            c *= 1.0 + (double) (gga_imp_rand(w) % 1024) / 1024.0;
        }
        if (best < 0 || c < best) {
            best = c;
            best_t = t;
        }
        if (t == far) {
            break;
        }
    }
    return (int) best_t;
}

static size_t gga_imp_peak(const struct gga_imp * w) {
    size_t P = 0;
    for (int i = 0; i < w->n; i++) {
        // an item of size 0 holds no byte, wherever it sits
        const size_t t = w->it->size[i] > 0 ? w->off[i] + w->it->size[i] : 0;
        P = t > P ? t : P;
    }
    return P;
}

// The decomposition's piece [a, b): its items (every item starting there) placed in the split
// passes' orders and GGA_IMPROVE_RANDOM random ones against the placed items that cross a; the best
// placement goes to w->best_off (in w->freed's order). Returns its height, at least peak (the
// lowest; ties: the lowest top of the items carried into the next piece), or SIZE_MAX when out
// of time or memory.
static size_t gga_split_piece(struct gga_imp * w, int a, int b, size_t peak) {
    const struct gga_items * it = w->it;
    if (gga_imp_collect(w, a, b, INT_MAX, true) <= 0) {
        return SIZE_MAX;
    }
    size_t best = SIZE_MAX, best_carry = SIZE_MAX;
    for (int k = 0; k < GGA_SPLIT_N_PASSES + GGA_IMPROVE_RANDOM && best > peak; k++) {
        if (gga_imp_expired(w)) {
            return SIZE_MAX;
        }
        const bool fixed = k < GGA_SPLIT_N_PASSES;
        gga_imp_make_order(w, fixed ? gga_split_passes[k].order : GGA_IMP_RANDOM, peak);
        const size_t top = gga_imp_place(w, best == SIZE_MAX ? SIZE_MAX : best + 1, peak + 1, fixed && gga_split_passes[k].tight);
        if (top == SIZE_MAX) {
            continue;
        }
        // at equal height, the placement that leaves the next piece the lowest carried items
        size_t carry = 0;
        for (int f = 0; f < w->n_freed; f++) {
            const size_t t = w->try_off[f] + it->size[w->freed[f]];
            carry = w->span1[w->freed[f]] > b && t > carry ? t : carry;
        }
        const size_t key = top > peak ? top : peak;
        if (key < best || (key == best && carry < best_carry)) {
            best = key;
            best_carry = carry;
            memcpy(w->best_off, w->try_off, (size_t) w->n_freed * sizeof(size_t));
        }
    }
    return best;
}

size_t gga_decompose(const struct gga_items * it, size_t bound, size_t * item_offset, double deadline,
        const volatile int * cancel, uint64_t seed) {
    struct gga_imp w;
    gga_imp_setup(&w, it, item_offset, deadline, cancel, seed ^ 0x2545f4914f6cdd1dull);
    if (w.n == 0 || !gga_imp_init(&w)) {
        gga_imp_release(&w);
        return SIZE_MAX;
    }
    for (int i = 0; i < w.n; i++) {
        item_offset[i] = it->size[i] > 0 ? GGA_IMPROVE_UNPLACED : 0;
    }
    size_t peak = bound; // no piece needs to go lower than the plan's peak so far
    bool ok = true;
    int prev_a = 0;
    for (int a = 0; ok && a < w.T; ) {
        // the border: the least crossed step at which the piece holds GGA_SPLIT_ITEMS / 2 to
        // 2 * GGA_SPLIT_ITEMS items; the whole rest when that is at most twice the target
        const int base = w.start_at[a];
        int b = w.T;
        if (w.n_sorted - base > 2 * GGA_SPLIT_ITEMS) {
            int t = a + 1;
            while (w.start_at[t] - base < GGA_SPLIT_ITEMS / 2) {
                t++;
            }
            b = t;
            for (; t < w.T && w.start_at[t] - base <= 2 * GGA_SPLIT_ITEMS; t++) {
                b = w.cross[t] < w.cross[b] ? t : b;
            }
        }
        size_t best = gga_split_piece(&w, a, b, peak);
        if (best != SIZE_MAX && best > peak && prev_a < a) {
            // the piece raises the peak: it and the one before together, where the items carried
            // over can go elsewhere; kept when lower
            const int n_one = w.n_freed;
            size_t * one_off = malloc(((size_t) n_one + 1) * (sizeof(size_t) + sizeof(int)));
            if (one_off == NULL) {
                best = SIZE_MAX;
            } else {
                int * one = (int *) (one_off + n_one + 1);
                memcpy(one, w.freed, (size_t) n_one * sizeof(int));
                memcpy(one_off, w.best_off, (size_t) n_one * sizeof(size_t));
                const size_t both = gga_split_piece(&w, prev_a, b, peak);
                if (both == SIZE_MAX || both < best) {
                    best = both;
                } else {
                    w.n_freed = n_one;
                    memcpy(w.freed, one, (size_t) n_one * sizeof(int));
                    memcpy(w.best_off, one_off, (size_t) n_one * sizeof(size_t));
                }
                free(one_off);
            }
        }
        if (best == SIZE_MAX) {
            ok = false;
            break;
        }
        for (int f = 0; f < w.n_freed; f++) {
            item_offset[w.freed[f]] = w.best_off[f];
        }
        peak = best;
        prev_a = a;
        a = b;
    }
    gga_imp_release(&w);
    return ok ? gga_imp_peak(&w) : SIZE_MAX;
}

size_t gga_improve(const struct gga_items * it, size_t bound, size_t * item_offset, double deadline,
        const volatile int * cancel, uint64_t seed) {
    struct gga_imp w;
    gga_imp_setup(&w, it, item_offset, deadline, cancel, seed ^ 0x5851f42d4c957f2dull);
    size_t P = gga_imp_peak(&w);
    if (P <= bound || w.n == 0 || gga_imp_expired(&w) || !gga_imp_init(&w)) {
        gga_imp_release(&w);
        return P;
    }
    int * at_peak = malloc((size_t) w.n * sizeof(int));
    int round = 0; // rounds in a row that left items at the peak
    bool live = at_peak != NULL;
    while (live && P > bound) {
        int n_peak = 0;
        for (int i = 0; i < w.n; i++) {
            if (it->size[i] > 0 && item_offset[i] + it->size[i] == P) {
                at_peak[n_peak++] = i;
            }
        }
        const int more = GGA_IMPROVE_RANDOM << (round < 3 ? round : 3);
        const int n_random = more < GGA_IMPROVE_MAX_RANDOM ? more : GGA_IMPROVE_MAX_RANDOM;
        // windows of up to a quarter of GGA_IMPROVE_MAX_FREED items in the first round, which is
        // quick; larger ones when the level resists
        const int max_freed = (GGA_IMPROVE_MAX_FREED >> 2) << (round < 2 ? round : 2);
        int stuck = 0;
        for (int k = 0; k < n_peak && live; k++) {
            const int i = at_peak[k];
            if (item_offset[i] + it->size[i] < P) {
                continue; // lowered with another item's window
            }
            int lowered = 0;
            // later rounds start at a random margin (up to 128 times the first): less time on
            // the small windows that failed before, more on varied mid-sized ones
            int64_t first_margin = GGA_IMPROVE_FIRST_MARGIN;
            if (round > 0) {
                first_margin <<= gga_imp_rand(&w) % 8;
            }
            for (int64_t margin = first_margin; ; margin *= 2) {
                // borders where few bytes cross, between half the margin and twice it from the
                // item: fewer obstacles, more room to rearrange; after the first round chosen
                // with random weights, so that other borders are tried
                const int a = gga_imp_border(&w, w.span0[i] - margin / 2, w.span0[i] - 2 * margin, round > 0);
                const int b = gga_imp_border(&w, w.span1[i] + margin / 2, w.span1[i] + 2 * margin, round > 0);
                const int r = gga_imp_window(&w, a, b, P, n_random, i, round > 0, max_freed, -1);
                if (r < 0) {
                    live = false;
                    break;
                }
                if (r >= 1) {
                    // lowered, too large to grow, or moved sideways (another item at the peak now)
                    lowered = r == 1;
                    break;
                }
                if (a == 0 && b == w.T) {
                    break;
                }
            }
            // then band windows: the items near the top over the item's lifetime, whatever their
            // own lifetimes, the band twice as deep each time (not too deep in the first round)
            for (int64_t h = 2 * (int64_t) it->size[i]; live && !lowered && h <= (int64_t) P && (round > 0 || h <= 16 * (int64_t) it->size[i]); h *= 2) {
                const int r = gga_imp_window(&w, w.span0[i], w.span1[i], P, n_random, i, round > 0, max_freed, (int64_t) P - h);
                if (r < 0) {
                    live = false;
                } else if (r >= 1) {
                    lowered = r == 1;
                    break;
                }
            }
            stuck += !lowered;
        }
        if (!live) {
            break;
        }
        if (stuck == 0) {
            P = gga_imp_peak(&w);
            round = 0;
        } else if (++round > GGA_IMPROVE_MAX_ROUNDS && deadline <= 0) {
            break; // no clock: a bounded number of rounds at one level
        }
    }
    free(at_peak);
    gga_imp_release(&w);
    return gga_imp_peak(&w);
}
