#pragma once

// Internal to reorder.c and its tests.

#ifdef __cplusplus
extern "C" {
#endif

// Makes the allocation after the next k of the reorder module fail (k < 0: none fails), so that
// tests reach every out-of-memory path.
void gga_reorder_fail_after(int k);

#ifdef __cplusplus
}
#endif
