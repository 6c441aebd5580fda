#pragma once

// A map from pointers to ints (open addressing, linear probing, at most half full), for the
// modules above the core that look tensors up by pointer (the scheduler, graph copies).
// Internal.

#include <stdbool.h>
#include <stddef.h>

struct gga_ptrmap {
    const void ** keys;
    int *         vals;
    size_t        mask; // capacity - 1 (a power of two)
    size_t        n;
};

// false when out of memory (the map is then empty and valid).
bool  gga_ptrmap_init(struct gga_ptrmap * m, size_t expected);
void  gga_ptrmap_free(struct gga_ptrmap * m);
void  gga_ptrmap_clear(struct gga_ptrmap * m);
// The value of key, or NULL if it has none.
int * gga_ptrmap_find(const struct gga_ptrmap * m, const void * key);
// The value of key, inserted as `init` if absent; NULL when out of memory.
int * gga_ptrmap_get(struct gga_ptrmap * m, const void * key, int init);
