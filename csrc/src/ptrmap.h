#pragma once

// The one map from pointers to ints in the library (open addressing, linear probing, at most
// half full), for every module that looks tensors up by pointer: the graph walk of the
// allocators (lifetimes.c), the scheduler, graph copies, graph files and reorder. Internal.
//
//     struct gga_ptrmap m = { 0 };              // an empty map: find returns NULL
//     if (!gga_ptrmap_reset(&m, n)) ...          // room for n keys without growing
//     int * v = gga_ptrmap_get(&m, t, -1);       // t's value, inserted as -1 if absent
//     gga_ptrmap_free(&m);

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The hash of a pointer for power-of-two tables: a 64-bit finaliser, since pointers share their
// low bits.
static inline size_t gga_ptr_hash(const void * p) {
    uint64_t x = (uint64_t) (uintptr_t) p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) x;
}

// A key and its value side by side, so that a probe reads one cache line. A slot holds a key
// only while its epoch is the map's: emptying the map is a new epoch, not a pass over the table.
struct gga_ptrmap_slot {
    const void * key;
    int          val;
    uint32_t     epoch;
};

struct gga_ptrmap {
    struct gga_ptrmap_slot * slots;
    size_t                   mask;  // slots in use - 1 (a power of two)
    size_t                   cap;   // slots allocated (>= mask + 1): reset reuses them
    size_t                   n;
    uint32_t                 epoch; // the slots of this epoch hold keys (never 0: a zeroed slot is empty)
    // the window (gga_ptrmap_window): keys in [win_lo, win_lo + win_span) go to slot
    // (key - win_lo) >> win_shift of win when it is free or theirs, else to the table
    uint32_t                 win_epoch;
    unsigned                 win_shift;
    uintptr_t                win_lo;
    size_t                   win_span; // 0: no window
    struct gga_ptrmap_slot * win;
    size_t                   win_cap;
};

// An empty map with room for `expected` keys. false when out of memory (the map is then empty
// and valid).
bool  gga_ptrmap_init(struct gga_ptrmap * m, size_t expected);
// Empties m and gives it room for `expected` keys without growing, reusing its memory (it
// allocates only when that is too small; emptying costs O(1)), for a map that is filled again
// and again. With expected 0 (a caller whose keys all go to a window), a map with no table yet
// gets none until a key needs one. false when out of memory (the map is then empty and valid).
bool  gga_ptrmap_reset(struct gga_ptrmap * m, size_t expected);
// Gives m (just emptied by reset or clear, which also drop a window) a window over the keys in
// [lo, hi]: each of them that is an object of at least 2^shift bytes, not overlapping another
// key's, then has a slot of its own found without hashing or probing, in a direct table of
// ((hi - lo) >> shift) + 1 slots. For a caller whose keys are mostly packed in one stretch of
// memory (tensors made one after another in a context). Other keys, and keys that share a window
// slot, go to the hashed table as before, so any keys stay correct. false when out of memory or
// when lo is NULL or above hi (m then has no window, and stays valid).
bool  gga_ptrmap_window(struct gga_ptrmap * m, const void * lo, const void * hi, unsigned shift);
// Releases m's memory; m is then an empty map. NULL is a no-op.
void  gga_ptrmap_free(struct gga_ptrmap * m);
// Empties m, keeping its size: O(1).
void  gga_ptrmap_clear(struct gga_ptrmap * m);
// The value of key, or NULL if it has none. The pointer is valid until the next insertion.
int * gga_ptrmap_find(const struct gga_ptrmap * m, const void * key);
// gga_ptrmap_get's way out when the table must grow before key goes in (or key is NULL).
int * gga_ptrmap_get_grow(struct gga_ptrmap * m, const void * key, int init);

// key's slot in m's window, or NULL when key lies outside it (or m has none).
static inline struct gga_ptrmap_slot * gga_ptrmap_win_slot(const struct gga_ptrmap * m, const void * key) {
    const uintptr_t d = (uintptr_t) key - m->win_lo;
    return d < m->win_span ? &m->win[d >> m->win_shift] : NULL;
}

// Starts loading the slot where a lookup of key begins, for a caller that knows its next keys
// ahead of the lookups.
static inline void gga_ptrmap_prefetch(const struct gga_ptrmap * m, const void * key) {
    const struct gga_ptrmap_slot * w = gga_ptrmap_win_slot(m, key);
    if (w != NULL) {
        __builtin_prefetch(w);
    } else if (m->slots != NULL) {
        __builtin_prefetch(&m->slots[gga_ptr_hash(key) & m->mask]);
    }
}

// The value of key, inserted as `init` if absent (one probe either way: a caller that needs to
// know whether it was inserted passes an init no present value has); NULL when out of memory or
// key is NULL. The pointer is valid until the next insertion. (Inline: the allocators' graph
// walk calls it for every tensor and source.)
static inline int * gga_ptrmap_get(struct gga_ptrmap * m, const void * key, int init) {
    struct gga_ptrmap_slot * w = gga_ptrmap_win_slot(m, key);
    if (w != NULL) {
        if (w->epoch != m->win_epoch) {
            w->key = key;
            w->val = init;
            w->epoch = m->win_epoch;
            return &w->val;
        }
        if (w->key == key) {
            return &w->val;
        }
        // the slot is another key's (objects closer than the window's granule): the table's
    }
    if (key == NULL || m->slots == NULL) {
        return gga_ptrmap_get_grow(m, key, init);
    }
    struct gga_ptrmap_slot * slots = m->slots;
    const size_t mask = m->mask;
    const uint32_t e = m->epoch;
    size_t h = gga_ptr_hash(key) & mask;
    for (; slots[h].epoch == e; h = (h + 1) & mask) {
        if (slots[h].key == key) {
            return &slots[h].val;
        }
    }
    if ((m->n + 1) * 2 > mask + 1) {
        return gga_ptrmap_get_grow(m, key, init);
    }
    slots[h].key = key;
    slots[h].val = init;
    slots[h].epoch = e;
    m->n++;
    return &slots[h].val;
}
