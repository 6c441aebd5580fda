// A pointer -> int map: open addressing with linear probing over a power-of-two table, grown
// (doubled and rehashed) before it passes half full, so probes stay short. Keys are hashed with
// a 64-bit finaliser, since pointers share their low bits.

#include "ptrmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool ptrmap_alloc(struct gga_ptrmap * m, size_t cap) {
    m->keys = calloc(cap, sizeof(*m->keys));
    m->vals = malloc(cap * sizeof(*m->vals));
    if (m->keys == NULL || m->vals == NULL) {
        free(m->keys);
        free(m->vals);
        memset(m, 0, sizeof(*m));
        return false;
    }
    m->mask = cap - 1;
    m->n = 0;
    return true;
}

bool gga_ptrmap_init(struct gga_ptrmap * m, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2) cap *= 2;
    return ptrmap_alloc(m, cap);
}

void gga_ptrmap_free(struct gga_ptrmap * m) {
    if (m != NULL) {
        free(m->keys);
        free(m->vals);
        memset(m, 0, sizeof(*m));
    }
}

void gga_ptrmap_clear(struct gga_ptrmap * m) {
    if (m->keys != NULL) {
        memset(m->keys, 0, (m->mask + 1) * sizeof(*m->keys));
    }
    m->n = 0;
}

int * gga_ptrmap_find(const struct gga_ptrmap * m, const void * key) {
    if (m->keys == NULL || key == NULL) {
        return NULL;
    }
    for (size_t h = gga_ptr_hash(key) & m->mask; m->keys[h] != NULL; h = (h + 1) & m->mask) {
        if (m->keys[h] == key) {
            return &m->vals[h];
        }
    }
    return NULL;
}

int * gga_ptrmap_get(struct gga_ptrmap * m, const void * key, int init) {
    int * v = gga_ptrmap_find(m, key);
    if (v != NULL || key == NULL) {
        return v;
    }
    if (m->keys == NULL || (m->n + 1) * 2 > m->mask + 1) {
        struct gga_ptrmap old = *m;
        if (!ptrmap_alloc(m, old.keys ? (old.mask + 1) * 2 : 16)) {
            *m = old;
            return NULL;
        }
        for (size_t i = 0; old.keys && i <= old.mask; i++) {
            if (old.keys[i] != NULL) {
                *gga_ptrmap_get(m, old.keys[i], 0) = old.vals[i];
            }
        }
        free(old.keys);
        free(old.vals);
    }
    size_t h = gga_ptr_hash(key) & m->mask;
    while (m->keys[h] != NULL) h = (h + 1) & m->mask;
    m->keys[h] = key;
    m->vals[h] = init;
    m->n++;
    return &m->vals[h];
}
