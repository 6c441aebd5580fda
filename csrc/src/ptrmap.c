// A pointer -> int map: open addressing with linear probing over a power-of-two table of
// (key, value, epoch) slots, grown (doubled and rehashed) before it passes half full, so probes
// stay short and each reads one cache line. Keys are hashed with a 64-bit finaliser, since
// pointers share their low bits.
//
// Maps that are filled again and again (the allocator's graph walk, the scheduler's tensor
// table) are emptied by starting a new epoch: a slot holds a key only while its epoch is the
// map's, so emptying touches no slot (the table is zeroed only when the 32-bit epoch wraps). The
// table may also use fewer slots than it holds (mask + 1 <= cap): reset sizes the part in use to
// the keys expected, so a map refilled for graphs of varying size neither allocates nor probes
// more than the graph needs.

#include "ptrmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The number of slots for `expected` keys: a power of two, at least twice as many.
static size_t ptrmap_slots_for(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    return cap;
}

// Replaces m's table by an empty one of `slots` slots; false (m untouched) when out of memory.
static bool ptrmap_alloc(struct gga_ptrmap * m, size_t slots) {
    struct gga_ptrmap_slot * s = calloc(slots, sizeof(*s));
    if (s == NULL) {
        return false;
    }
    free(m->slots);
    m->slots = s;
    m->mask = slots - 1;
    m->cap = slots;
    m->n = 0;
    m->epoch = 1;
    m->win_span = 0;
    return true;
}

bool gga_ptrmap_init(struct gga_ptrmap * m, size_t expected) {
    memset(m, 0, sizeof(*m));
    return ptrmap_alloc(m, ptrmap_slots_for(expected));
}

void gga_ptrmap_clear(struct gga_ptrmap * m) {
    m->n = 0;
    m->win_span = 0;
    if (++m->epoch == 0) {
        // after 2^32 - 1 epochs: slots of an old epoch could pass for the new one
        if (m->slots != NULL) {
            memset(m->slots, 0, m->cap * sizeof(*m->slots));
        }
        m->epoch = 1;
    }
}

bool gga_ptrmap_reset(struct gga_ptrmap * m, size_t expected) {
    if (expected == 0 && m->slots == NULL) {
        gga_ptrmap_clear(m); // the first key outside the window makes the table
        return true;
    }
    const size_t slots = ptrmap_slots_for(expected);
    if (slots > m->cap) {
        if (!ptrmap_alloc(m, slots)) {
            gga_ptrmap_clear(m);
            return false;
        }
        return true;
    }
    gga_ptrmap_clear(m);
    m->mask = slots - 1;
    return true;
}

bool gga_ptrmap_window(struct gga_ptrmap * m, const void * lo, const void * hi, unsigned shift) {
    m->win_span = 0;
    if (lo == NULL || (uintptr_t) hi < (uintptr_t) lo || shift >= 8 * sizeof(uintptr_t)) {
        return false;
    }
    const uintptr_t span = (uintptr_t) hi - (uintptr_t) lo;
    const size_t slots = (size_t) (span >> shift) + 1;
    if (slots > m->win_cap) {
        struct gga_ptrmap_slot * w = calloc(slots, sizeof(*w));
        if (w == NULL) {
            return false;
        }
        free(m->win);
        m->win = w;
        m->win_cap = slots;
        m->win_epoch = 0;
    }
    if (++m->win_epoch == 0) {
        // after 2^32 - 1 windows: slots of an old one could pass for the new one
        memset(m->win, 0, m->win_cap * sizeof(*m->win));
        m->win_epoch = 1;
    }
    m->win_lo = (uintptr_t) lo;
    m->win_shift = shift;
    m->win_span = (size_t) span + 1;
    return true;
}

void gga_ptrmap_free(struct gga_ptrmap * m) {
    if (m != NULL) {
        free(m->win);
        free(m->slots);
        memset(m, 0, sizeof(*m));
    }
}

int * gga_ptrmap_find(const struct gga_ptrmap * m, const void * key) {
    struct gga_ptrmap_slot * w = gga_ptrmap_win_slot(m, key);
    if (w != NULL && w->epoch == m->win_epoch && w->key == key) {
        return &w->val;
    }
    if (m->slots == NULL || key == NULL) {
        return NULL;
    }
    const uint32_t e = m->epoch;
    for (size_t h = gga_ptr_hash(key) & m->mask; m->slots[h].epoch == e; h = (h + 1) & m->mask) {
        if (m->slots[h].key == key) {
            return &m->slots[h].val;
        }
    }
    return NULL;
}

// Doubles the part of the table in use (in a new table) and places the keys again; false (m
// untouched) when out of memory.
static bool ptrmap_grow(struct gga_ptrmap * m) {
    const size_t slots = m->slots != NULL ? (m->mask + 1) * 2 : 16;
    struct gga_ptrmap_slot * s = calloc(slots, sizeof(*s));
    if (s == NULL) {
        return false;
    }
    for (size_t i = 0; m->slots != NULL && i <= m->mask; i++) {
        if (m->slots[i].epoch == m->epoch) {
            size_t h = gga_ptr_hash(m->slots[i].key) & (slots - 1);
            while (s[h].epoch != 0) h = (h + 1) & (slots - 1);
            s[h] = m->slots[i];
            s[h].epoch = 1;
        }
    }
    free(m->slots);
    m->slots = s;
    m->mask = slots - 1;
    m->cap = slots;
    m->epoch = 1;
    return true;
}

int * gga_ptrmap_get_grow(struct gga_ptrmap * m, const void * key, int init) {
    if (key == NULL) {
        return NULL;
    }
    if ((m->slots == NULL || (m->n + 1) * 2 > m->mask + 1) && !ptrmap_grow(m)) {
        return NULL;
    }
    return gga_ptrmap_get(m, key, init); // room now: it inserts without coming back here
}
