// A deterministic mutation run of the GGUF reader: the test files (ggml's and one with every
// value type written by our writer) mutated at random with a fixed seed (bit flips, bytes set
// to boundary values, 1-8 byte integers near 0, 2^31, 2^32, 2^63 and 2^64, truncation, chunks
// copied over others), each read as gguf-fuzz.h reads a fuzz input. A short run here (under
// ASan in the ASan build), a longer one with GGALLOC_LONG=1; GGALLOC_FUZZ_RUNS=n sets the count.
// `make fuzz` runs the libFuzzer target over the same function.

#include "ggalloc.h"
#include "gguf.h"
#include "check.h"
#include "gguf-fuzz.h"

#include <inttypes.h>
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static size_t rnd_below(size_t n) {
    return n ? (size_t) (rnd() % n) : 0;
}

struct seed {
    uint8_t * p;
    size_t    n;
    size_t    meta; // bytes of metadata: most mutations land there
};

// The file's metadata and up to `data` bytes of its tensor data.
static bool seed_from_file(struct seed * s, const char * path, size_t data) {
    size_t n = 0;
    char * bytes = check_read_file(path, &n);
    if (bytes == NULL) {
        return false;
    }
    struct gguf_init_params p = { true, NULL };
    struct gguf_context * g = ggalloc_gguf_init_from_buffer(bytes, n, p);
    if (g == NULL) {
        free(bytes);
        return false;
    }
    s->meta = gguf_get_data_offset(g);
    s->n = s->meta + data < n ? s->meta + data : n;
    s->p = (uint8_t *) bytes;
    gguf_free(g);
    return true;
}

// A file with a key of every type, string and numeric arrays and tensors of three types.
static bool seed_from_writer(struct seed * s) {
    struct gguf_context * g = gguf_init_empty();
    gguf_set_val_u8(g, "a.u8", 1);
    gguf_set_val_i8(g, "a.i8", -1);
    gguf_set_val_u16(g, "a.u16", 2);
    gguf_set_val_i16(g, "a.i16", -2);
    gguf_set_val_u32(g, "a.u32", 3);
    gguf_set_val_i32(g, "a.i32", -3);
    gguf_set_val_f32(g, "a.f32", 0.5f);
    gguf_set_val_u64(g, "a.u64", 4);
    gguf_set_val_i64(g, "a.i64", -4);
    gguf_set_val_f64(g, "a.f64", 0.25);
    gguf_set_val_bool(g, "a.bool", true);
    gguf_set_val_str(g, "a.str", "value");
    const char * strs[4] = { "x", "yy", "", "\xe2\x96\x81tok" };
    gguf_set_arr_str(g, "a.strs", strs, 4);
    const float fs[3] = { 1, 2, 3 };
    gguf_set_arr_data(g, "a.f32s", GGUF_TYPE_FLOAT32, fs, 3);
    const uint8_t bs[2] = { 1, 0 };
    gguf_set_arr_data(g, "a.bools", GGUF_TYPE_BOOL, bs, 2);
    gguf_set_val_u32(g, GGUF_KEY_GENERAL_ALIGNMENT, 16);
    struct ggml_init_params ip = { 1 << 16, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * t[3] = {
        ggml_set_name(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 3), "t.f32"),
        ggml_set_name(ggml_new_tensor_3d(ctx, GGML_TYPE_F16, 2, 2, 2), "t.f16"),
        ggml_set_name(ggml_new_tensor_1d(ctx, GGML_TYPE_Q8_0, 64), "t.q8_0"),
    };
    for (int i = 0; i < 3; i++) {
        memset(t[i]->data, 0x11 * (i + 1), ggml_nbytes(t[i]));
        gguf_add_tensor(g, t[i]);
    }
    s->meta = gguf_get_meta_size(g);
    s->n = s->meta + ggalloc_gguf_get_data_size(g);
    s->p = calloc(1, s->n);
    gguf_get_meta_data(g, s->p);
    for (int i = 0; i < 3; i++) {
        memcpy(s->p + s->meta + gguf_get_tensor_offset(g, i), t[i]->data, ggml_nbytes(t[i]));
    }
    gguf_free(g);
    ggml_free(ctx);
    return true;
}

static const uint64_t interesting[] = {
    0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 16, 31, 32, 33, 63, 64, 255, 256, 0x7f, 0x80, 0xff,
    0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000u, 0xffffffffu, 0x100000000ull,
    0x7fffffffffffffffull, 0x8000000000000000ull, 0xffffffffffffffffull, 0xfffffffffffffff0ull,
};

static size_t mutate(uint8_t * buf, size_t n, size_t cap, size_t meta) {
    const int k = 1 + (int) rnd_below(4);
    for (int m = 0; m < k && n > 0; m++) {
        // nine in ten land in the metadata
        const size_t region = (meta > 0 && meta <= n && rnd_below(10) != 0) ? meta : n;
        const size_t at = rnd_below(region);
        switch (rnd_below(6)) {
            case 0: buf[at] ^= (uint8_t) (1u << rnd_below(8)); break;
            case 1: buf[at] = (uint8_t) rnd(); break;
            case 2: case 3: {
                static const size_t widths[4] = { 1, 2, 4, 8 };
                const size_t w = widths[rnd_below(4)];
                uint64_t v = interesting[rnd_below(sizeof(interesting) / sizeof(interesting[0]))];
                if (rnd_below(4) == 0) {
                    v = (uint64_t) n - v; // near the file's size
                }
                if (at + w <= n) {
                    memcpy(buf + at, &v, w);
                }
                break;
            }
            case 4: n = rnd_below(n + 1); break;
            case 5: {
                const size_t from = rnd_below(n), len = 1 + rnd_below(32);
                if (rnd_below(2) == 0 && n + len <= cap && from + len <= n) {
                    memmove(buf + at + len, buf + at, n - at); // insert a copy
                    memmove(buf + at, buf + from + (from >= at ? len : 0), len);
                    n += len;
                } else if (from + len <= n && at + len <= n) {
                    memmove(buf + at, buf + from, len);
                }
                break;
            }
        }
    }
    return n;
}

// Inputs libFuzzer found inconsistent once (fixed since), kept as regression tests: a file
// whose only tensor has no elements and an empty name (the data section, even empty, must be
// the context's first tensor, as in ggml), and an empty tensor name beside data.
static const uint8_t regress_empty_tensor[] = {
    0x47, 0x47, 0x55, 0x46, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x20, 0x67, 0x41,
};

static size_t regress_empty_name(uint8_t * out) {
    size_t n = 0;
    const uint64_t zero = 0;
    const uint32_t one_dim = 1, type_f32 = 0;
    const int64_t ne = 4, n_tensors = 1, n_kv = 0;
    const uint32_t version = 3;
    memcpy(out + n, "GGUF", 4); n += 4;
    memcpy(out + n, &version, 4); n += 4;
    memcpy(out + n, &n_tensors, 8); n += 8;
    memcpy(out + n, &n_kv, 8); n += 8;
    memcpy(out + n, &zero, 8); n += 8;         // name: ""
    memcpy(out + n, &one_dim, 4); n += 4;
    memcpy(out + n, &ne, 8); n += 8;
    memcpy(out + n, &type_f32, 4); n += 4;
    memcpy(out + n, &zero, 8); n += 8;         // offset
    while (n % 32) out[n++] = 0;
    for (int i = 0; i < 16; i++) out[n++] = (uint8_t) i;
    return n;
}

int main(void) {
    struct seed seeds[4];
    int n_seeds = 0;
    CHECK(seed_from_writer(&seeds[n_seeds]) && ++n_seeds);
    CHECK(seed_from_file(&seeds[n_seeds], GGALLOC_DATA_DIR "/gguf/tiny-llama-q8_0.gguf", 4096) && ++n_seeds);
    CHECK(seed_from_file(&seeds[n_seeds], GGALLOC_DATA_DIR "/gguf/tiny-gpt2-f16.gguf", 4096) && ++n_seeds);
    CHECK(seed_from_file(&seeds[n_seeds], GGALLOC_DATA_DIR "/gguf/llama-7b-meta.gguf", 0) && ++n_seeds);

    // every seed is accepted as it is (the reader's errors, expected here by the thousand, are
    // kept out of the test's output)
    log_capture_begin();
    for (int i = 0; i < n_seeds; i++) {
        CHECK_EQ_INT(gguf_fuzz_one(seeds[i].p, seeds[i].n), 1);
    }
    CHECK_EQ_INT(gguf_fuzz_one(regress_empty_tensor, sizeof(regress_empty_tensor)), 1);
    uint8_t regress[128];
    CHECK_EQ_INT(gguf_fuzz_one(regress, regress_empty_name(regress)), 1);

    long runs = getenv("GGALLOC_LONG") ? 200000 : (CHECK_SMALL_RUN ? 3000 : 20000);
    if (getenv("GGALLOC_FUZZ_RUNS")) {
        runs = atol(getenv("GGALLOC_FUZZ_RUNS"));
    }
    long accepted = 0, bad = 0;
    size_t cap = 0;
    for (int i = 0; i < n_seeds; i++) {
        cap = seeds[i].n + 256 > cap ? seeds[i].n + 256 : cap;
    }
    uint8_t * buf = malloc(cap);
    for (long r = 0; r < runs; r++) {
        // the 870 KB LLaMA-7B metadata (32000 strings) in one run of 64
        const int s = (r % 64 == 63 && n_seeds == 4) ? 3 : (int) (r % (n_seeds < 3 ? n_seeds : 3));
        memcpy(buf, seeds[s].p, seeds[s].n);
        const size_t n = mutate(buf, seeds[s].n, cap, seeds[s].meta);
        const int res = gguf_fuzz_one(buf, n);
        if (res < 0) {
            bad++;
            if (bad <= 3) {
                fprintf(stderr, "run %ld (seed %d, %zu bytes): accepted input does not hold together (gguf-fuzz.h line %d)\n", r, s, n, -res);
            }
        }
        accepted += res > 0;
        if (r % 500 == 0) {
            log_capture_begin(); // empties the buffer
        }
    }
    log_capture_end();
    free(buf);
    CHECK_EQ_INT(bad, 0);
    printf("test-gguf-fuzz: %ld mutated files read, %ld accepted\n", runs, accepted);
    for (int i = 0; i < n_seeds; i++) {
        free(seeds[i].p);
    }
    return check_report("test-gguf-fuzz");
}
