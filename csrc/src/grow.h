#pragma once

// Growing an array by doubling, the one place it is written. Internal.
//
//     int64_t cap = 0; struct item * a = NULL;
//     if (!gga_grow((void **) &a, &cap, n + 1, sizeof(*a))) ... // out of memory: a and cap as they were

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

// Grows *p (cap elements of elem bytes) to hold at least need, doubling from 16; false (p and cap
// untouched) when out of memory or when the size would not fit a size_t.
static inline bool gga_grow(void ** p, int64_t * cap, int64_t need, size_t elem) {
    if (need <= *cap) {
        return true;
    }
    int64_t c = *cap > 0 ? *cap : 16;
    while (c < need) {
        if (c > INT64_MAX / 2) {
            return false;
        }
        c *= 2;
    }
    if (elem > 0 && (uint64_t) c > SIZE_MAX / elem) {
        return false;
    }
    void * q = realloc(*p, (size_t) c * elem);
    if (q == NULL) {
        return false;
    }
    *p = q;
    *cap = c;
    return true;
}

// gga_grow for a capacity kept as an int; false too when it would pass INT_MAX.
static inline bool gga_grow_int(void ** p, int * cap, int64_t need, size_t elem) {
    if (need > INT_MAX) {
        return false;
    }
    int64_t c = *cap;
    if (!gga_grow(p, &c, need, elem)) {
        return false;
    }
    *cap = c > INT_MAX ? INT_MAX : (int) c;
    return true;
}
