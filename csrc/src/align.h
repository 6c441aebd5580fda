#pragma once

// Rounding sizes and addresses up, the one place it is written. Internal.

#include <stddef.h>
#include <stdint.h>

// x rounded up to a multiple of align, a power of two.
static inline size_t gga_align_up(size_t x, size_t align) {
    return (x + align - 1) & ~(align - 1);
}

// x rounded up to a multiple of m (any m > 0).
static inline int64_t gga_round_up(int64_t x, int64_t m) {
    return (x + m - 1) / m * m;
}
