// The pointer map (ptrmap.h), alone: insertion and lookup against a plain array of the same
// pairs, growth past the size asked for, emptying by reset (to a smaller and a larger size
// within its table, and past it) and by clear, the 32-bit epoch wrapping around, NULL keys,
// get's one-probe find-or-insert, short probes on strided layouts of keys, and the window: keys
// in it, beside it, and sharing its slots, against the same plain array.

#include "check.h"
#include "ptrmap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N_KEYS 5000

// Distinct, non-NULL keys with the low bits pointers share: addresses in one array.
static char key_base[N_KEYS * 64];
static const void * key(int i) {
    return &key_base[(size_t) i * 64];
}

// Keys [0, n) are found with value 3i + 1, keys [n, N_KEYS) are not, and the table is at most
// half full.
static void check_found(const struct gga_ptrmap * m, int n) {
    int wrong = 0;
    for (int i = 0; i < N_KEYS; i++) {
        const int * v = gga_ptrmap_find(m, key(i));
        if (i < n ? (v == NULL || *v != 3 * i + 1) : v != NULL) {
            wrong++;
        }
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK(m->n * 2 <= m->mask + 1); // at most half full
}

// Inserts keys [0, n) with value 3i + 1 through get, then check_found.
static void fill_and_check(struct gga_ptrmap * m, int n) {
    for (int i = 0; i < n; i++) {
        int * v = gga_ptrmap_get(m, key(i), 3 * i + 1);
        CHECK(v != NULL && *v == 3 * i + 1);
    }
    CHECK_EQ_INT(m->n, n);
    check_found(m, n);
}

// Keys n at base + i * stride (never read: keys are only compared), inserted into a map sized for
// them; every one found, and the mean and longest distance of a key from its hashed slot held to
// mean_max and max_max.
static void check_layout(uintptr_t base, uintptr_t stride, int n, double mean_max, size_t max_max) {
    struct gga_ptrmap m = { 0 };
    CHECK(gga_ptrmap_reset(&m, (size_t) n));
    for (int i = 0; i < n; i++) {
        int * v = gga_ptrmap_get(&m, (const void *) (base + (uintptr_t) i * stride), i);
        CHECK(v != NULL && *v == i);
    }
    double sum = 0.0;
    size_t longest = 0;
    int missing = 0;
    for (int i = 0; i < n; i++) {
        const void * k = (const void *) (base + (uintptr_t) i * stride);
        const int * v = gga_ptrmap_find(&m, k);
        missing += v == NULL || *v != i;
        size_t d = 0;
        for (size_t h = gga_ptr_hash(k) & m.mask; m.slots[h].key != k && d <= m.mask; h = (h + 1) & m.mask) {
            d++;
        }
        sum += (double) d;
        longest = d > longest ? d : longest;
    }
    CHECK_EQ_INT(missing, 0);
    if (sum / n > mean_max || longest > max_max) {
        fprintf(stderr, "stride %#zx, %d keys: mean probe distance %.2f (at most %.2f), longest %zu (at most %zu)\n",
                (size_t) stride, n, sum / n, mean_max, longest, max_max);
        CHECK(false);
    }
    gga_ptrmap_free(&m);
}

// The window (gga_ptrmap_window) over key(lo_i) .. key(hi_i), granule 2^shift, then keys [0, n)
// inserted with value 3i + 1 and all of N_KEYS checked (check_found); keys outside the
// window, and keys closer than the granule (sharing a slot), go to the hashed table.
static void window_fill_and_check(struct gga_ptrmap * m, int lo_i, int hi_i, unsigned shift, int n) {
    CHECK(gga_ptrmap_reset(m, 16));
    CHECK(gga_ptrmap_window(m, key(lo_i), key(hi_i), shift));
    for (int i = 0; i < n; i++) {
        int * v = gga_ptrmap_get(m, key(i), 3 * i + 1);
        CHECK(v != NULL && *v == 3 * i + 1);
        v = gga_ptrmap_get(m, key(i), -5); // present: found, not inserted again
        CHECK(v != NULL && *v == 3 * i + 1);
    }
    check_found(m, n);
}

static void check_window(void) {
    struct gga_ptrmap m = { 0 };
    // keys 64 bytes apart: a granule of 64 gives each its own slot, and nothing goes to the table
    window_fill_and_check(&m, 0, N_KEYS - 1, 6, N_KEYS);
    CHECK_EQ_INT(m.n, 0);
    // a granule of 256: four keys to a slot, three of each four in the table
    window_fill_and_check(&m, 0, N_KEYS - 1, 8, N_KEYS);
    CHECK_EQ_INT(m.n, N_KEYS - (N_KEYS + 3) / 4);
    // a window over the middle third: the keys on either side in the table
    window_fill_and_check(&m, N_KEYS / 3, 2 * N_KEYS / 3, 6, N_KEYS);
    CHECK_EQ_INT(m.n, N_KEYS - (2 * N_KEYS / 3 - N_KEYS / 3 + 1));
    // a new window (after reset) forgets the old one's keys, in a reused table of slots
    window_fill_and_check(&m, 0, N_KEYS - 1, 6, 10);
    window_fill_and_check(&m, 0, N_KEYS - 1, 6, 0);
    // reset and clear drop the window; keys then go to the table alone
    CHECK(gga_ptrmap_reset(&m, 16));
    fill_and_check(&m, 500);
    CHECK(gga_ptrmap_window(&m, key(0), key(N_KEYS - 1), 6));
    gga_ptrmap_clear(&m);
    CHECK_EQ_INT(m.win_span, 0);
    fill_and_check(&m, 200);
    // the window's epoch wraps like the table's: keys of the window before must not come back
    window_fill_and_check(&m, 0, N_KEYS - 1, 6, 300);
    m.win_epoch = UINT32_MAX;
    window_fill_and_check(&m, 0, N_KEYS - 1, 6, 0);
    CHECK_EQ_INT(m.win_epoch, 1);
    // no window where there is none to make: NULL or an inverted stretch
    CHECK(!gga_ptrmap_window(&m, NULL, key(3), 6));
    CHECK(!gga_ptrmap_window(&m, key(9), key(3), 6));
    CHECK_EQ_INT(m.win_span, 0);
    fill_and_check(&m, 100);
    gga_ptrmap_free(&m);
    CHECK(m.win == NULL && m.win_span == 0);

    // reset for no keys, on a map with no table: none is made while every key is the window's,
    // and the first key outside it makes one
    CHECK(gga_ptrmap_reset(&m, 0));
    CHECK(gga_ptrmap_window(&m, key(0), key(N_KEYS / 2), 6));
    for (int i = 0; i <= N_KEYS / 2; i++) {
        int * v = gga_ptrmap_get(&m, key(i), i);
        CHECK(v != NULL && *v == i);
    }
    CHECK(m.slots == NULL);
    for (int i = N_KEYS / 2 + 1; i < N_KEYS; i++) {
        int * v = gga_ptrmap_get(&m, key(i), i);
        CHECK(v != NULL && *v == i);
    }
    CHECK(m.slots != NULL && m.n == N_KEYS - 1 - N_KEYS / 2);
    for (int i = 0; i < N_KEYS; i++) {
        const int * v = gga_ptrmap_find(&m, key(i));
        CHECK(v != NULL && *v == i);
    }
    // a map with a table keeps it, emptied
    CHECK(gga_ptrmap_reset(&m, 0));
    CHECK(m.slots != NULL && m.n == 0 && gga_ptrmap_find(&m, key(N_KEYS - 1)) == NULL);
    gga_ptrmap_free(&m);
}

int main(void) {
    // an empty map finds nothing, and get on it allocates
    struct gga_ptrmap m = { 0 };
    CHECK(gga_ptrmap_find(&m, key(0)) == NULL);
    int * v = gga_ptrmap_get(&m, key(0), 7);
    CHECK(v != NULL && *v == 7);
    // get finds a present key without overwriting its value
    *v = 9;
    v = gga_ptrmap_get(&m, key(0), 7);
    CHECK(v != NULL && *v == 9);
    CHECK_EQ_INT(m.n, 1);
    // NULL is no key
    CHECK(gga_ptrmap_get(&m, NULL, 1) == NULL);
    CHECK(gga_ptrmap_find(&m, NULL) == NULL);
    gga_ptrmap_free(&m);
    gga_ptrmap_free(&m); // twice: a freed map is empty
    gga_ptrmap_free(NULL);

    // sized for 10, filled with thousands: it grows
    CHECK(gga_ptrmap_init(&m, 10));
    fill_and_check(&m, N_KEYS);
    const size_t cap = m.cap;

    // reset to fewer keys reuses the table, empty, using a smaller part of it
    CHECK(gga_ptrmap_reset(&m, 100));
    CHECK_EQ_INT(m.cap, cap);
    CHECK(m.mask + 1 < cap);
    CHECK_EQ_INT(m.n, 0);
    fill_and_check(&m, 100);
    // and past the part in use: it grows again
    fill_and_check(&m, 3000);
    // reset to as many keys as it held before: the same table, every old key gone
    CHECK(gga_ptrmap_reset(&m, N_KEYS));
    fill_and_check(&m, 0);
    fill_and_check(&m, 1234);
    // reset past its table: a larger one
    CHECK(gga_ptrmap_reset(&m, 4 * (size_t) N_KEYS));
    CHECK(m.cap > cap);
    fill_and_check(&m, N_KEYS);

    // clear keeps the size and forgets the keys
    const size_t mask = m.mask;
    gga_ptrmap_clear(&m);
    CHECK_EQ_INT(m.mask, mask);
    fill_and_check(&m, 0);
    fill_and_check(&m, 777);

    gga_ptrmap_free(&m);

    // the epoch wraps: a fresh map fills its slots in epoch 1; after 2^32 - 1 clears (the
    // epoch set by hand) the next epoch would be 1 again, and those keys must not come back
    CHECK(gga_ptrmap_init(&m, 500));
    fill_and_check(&m, 500);
    CHECK_EQ_INT(m.epoch, 1);
    m.epoch = UINT32_MAX;
    gga_ptrmap_clear(&m);
    CHECK_EQ_INT(m.epoch, 1);
    fill_and_check(&m, 0);
    fill_and_check(&m, 300);
    gga_ptrmap_free(&m);

    // reset on a never-used map allocates
    struct gga_ptrmap r = { 0 };
    CHECK(gga_ptrmap_reset(&r, 3));
    fill_and_check(&r, 40);
    gga_ptrmap_free(&r);
    // probe lengths on the layouts tensors come in: one after another in a context (ggml's
    // object header and the tensor: 368 bytes), with data between them, one per page, one per
    // mapping, far apart, and packed denser than tensors can be. A hash that sent such keys to
    // few slots would show as long runs. Tables of a few hundred slots take only the hash's low
    // bits, in which page-strided keys fall on a lattice: a few probes each there, which a
    // table that small makes cheap.
    const uintptr_t base = (uintptr_t) 0x7f3a12345010ull;
    const int sizes[] = { 100, 3000, 100000 };
    for (int k = 0; k < 3; k++) {
        const double mean_max = sizes[k] <= 100 ? 5.0 : 1.0;
        check_layout(base, 368, sizes[k], mean_max, 256);
        check_layout(base, 368 + 4096 * 3, sizes[k], mean_max, 256);
        check_layout(base, 4096, sizes[k], mean_max, 256);
        check_layout(base, (uintptr_t) 1 << 21, sizes[k], mean_max, 256);
        check_layout(0x100000, (uintptr_t) 1 << 32, sizes[k], mean_max, 256);
        check_layout(base, 64, sizes[k], mean_max, 256);
        check_layout(base, 16, sizes[k], mean_max, 256);
    }
    check_window();
    return check_report("test-ptrmap");
}
