#pragma once

// A map from pointers to ints (open addressing, linear probing, at most half full), for the
// modules that look tensors up by pointer (the scheduler, graph copies, graph files, reorder).
// Internal.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The hash of a pointer for power-of-two tables: a 64-bit finaliser, since pointers share their
// low bits. (lifetimes.c's walk table, which keeps its keys in a dense array, hashes with it too.)
static inline size_t gga_ptr_hash(const void * p) {
    uint64_t x = (uint64_t) (uintptr_t) p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t) x;
}

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
