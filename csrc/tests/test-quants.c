// test-quants.c — ggml's type system and the reference quantizers, against ggml's own figures:
// the type ids, names and block layouts of ggml.h / ggml-common.h, and the bytes ggml's CPU
// backend wrote for a fixed input (tests/data/quants, made by scripts/gen_quant_refs.py).

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ggml.h"
#include "quants.h"

// ggml's table (ggml.c type_traits / ggml-common.h block structs): id, name, block, bytes.
static const struct { int id; const char * name; int64_t blck; size_t size; bool quantized; } ggml_types[] = {
    {  0, "f32",     1,   4,   false }, {  1, "f16",     1,   2,   false },
    {  2, "q4_0",    32,  18,  true  }, {  3, "q4_1",    32,  20,  true  },
    {  6, "q5_0",    32,  22,  true  }, {  7, "q5_1",    32,  24,  true  },
    {  8, "q8_0",    32,  34,  true  }, {  9, "q8_1",    32,  36,  true  },
    { 10, "q2_K",    256, 84,  true  }, { 11, "q3_K",    256, 110, true  },
    { 12, "q4_K",    256, 144, true  }, { 13, "q5_K",    256, 176, true  },
    { 14, "q6_K",    256, 210, true  }, { 15, "q8_K",    256, 292, true  },
    { 16, "iq2_xxs", 256, 66,  true  }, { 17, "iq2_xs",  256, 74,  true  },
    { 18, "iq3_xxs", 256, 98,  true  }, { 19, "iq1_s",   256, 50,  true  },
    { 20, "iq4_nl",  32,  18,  true  }, { 21, "iq3_s",   256, 110, true  },
    { 22, "iq2_s",   256, 82,  true  }, { 23, "iq4_xs",  256, 136, true  },
    { 24, "i8",      1,   1,   false }, { 25, "i16",     1,   2,   false },
    { 26, "i32",     1,   4,   false }, { 27, "i64",     1,   8,   false },
    { 28, "f64",     1,   8,   false }, { 29, "iq1_m",   256, 56,  true  },
    { 30, "bf16",    1,   2,   false }, { 34, "tq1_0",   256, 54,  true  },
    { 35, "tq2_0",   256, 66,  true  }, { 39, "mxfp4",   32,  17,  true  },
    { 40, "nvfp4",   64,  36,  true  }, { 41, "q1_0",    128, 18,  true  },
    { 42, "q2_0",    64,  18,  true  },
};

static void test_type_table(void) {
    CHECK_EQ_INT(GGML_TYPE_COUNT, 43);
    CHECK_EQ_INT(GGML_TYPE_Q2_0, 42);
    CHECK_EQ_INT(GGML_TYPE_MXFP4, 39);
    CHECK_EQ_INT(GGML_TYPE_BF16, 30);
    bool seen[GGML_TYPE_COUNT] = { false };
    for (size_t i = 0; i < sizeof(ggml_types) / sizeof(ggml_types[0]); i++) {
        const enum ggml_type t = (enum ggml_type) ggml_types[i].id;
        seen[t] = true;
        CHECK(ggml_type_name(t) != NULL && strcmp(ggml_type_name(t), ggml_types[i].name) == 0);
        CHECK_EQ_INT(ggml_blck_size(t), ggml_types[i].blck);
        CHECK_EQ_INT(ggml_type_size(t), ggml_types[i].size);
        CHECK(ggml_is_quantized(t) == ggml_types[i].quantized);
        CHECK(fabs(ggml_type_sizef(t) - (double) ggml_types[i].size / (double) ggml_types[i].blck) < 1e-12);
        CHECK_EQ_INT(ggml_row_size(t, ggml_types[i].blck * 7), ggml_types[i].size * 7);
        if (ggml_types[i].blck > 1) {
            CHECK_EQ_INT(ggml_row_size(t, ggml_types[i].blck + 1), 0); // not a whole block
        }
        const struct ggml_type_traits * tt = ggml_get_type_traits(t);
        CHECK(strcmp(tt->type_name, ggml_types[i].name) == 0);
        CHECK_EQ_INT(tt->blck_size, ggml_types[i].blck);
        CHECK_EQ_INT(tt->type_size, ggml_types[i].size);
        CHECK(tt->is_quantized == ggml_types[i].quantized);
    }
    // the numbers ggml removed stay unused, and so does everything outside the enum
    log_capture_begin();
    for (int t = -1; t <= GGML_TYPE_COUNT; t++) {
        if (t >= 0 && t < GGML_TYPE_COUNT && seen[t]) {
            continue;
        }
        CHECK(ggml_type_name((enum ggml_type) t) == NULL);
        CHECK_EQ_INT(ggml_blck_size((enum ggml_type) t), 0);
        CHECK_EQ_INT(ggml_type_size((enum ggml_type) t), 0);
        CHECK_EQ_INT(ggml_row_size((enum ggml_type) t, 32), 0);
        CHECK(!ggml_is_quantized((enum ggml_type) t));
        const struct ggml_type_traits * tt = ggml_get_type_traits((enum ggml_type) t);
        CHECK(tt != NULL && tt->type_name == NULL && tt->to_float == NULL && tt->blck_size == 0);
    }
    log_capture_end();
    CHECK(!log_captured("unknown type 4\n")); // a removed number: no error, blck_size 0
    CHECK(log_captured("unknown type 43") && log_captured("unknown type -1"));

    // a tensor of a quantized type gets ggml's strides and byte size
    struct ggml_init_params ip = { ggml_tensor_overhead() * 4, NULL, true };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * w = ggml_new_tensor_3d(ctx, GGML_TYPE_Q4_K, 512, 3, 2);
    CHECK(w != NULL && w->nb[0] == 144 && w->nb[1] == 288 && w->nb[2] == 864 && ggml_nbytes(w) == 1728);
    log_capture_begin();
    CHECK(ggml_new_tensor_1d(ctx, GGML_TYPE_Q8_0, 33) == NULL);
    log_capture_end();
    CHECK(log_captured("not a multiple of the block size"));
    ggml_free(ctx);
}

static void test_ftype(void) {
    CHECK_EQ_INT(GGML_FTYPE_MOSTLY_Q8_0, 7);
    CHECK_EQ_INT(GGML_FTYPE_MOSTLY_Q2_0, 28);
    CHECK_EQ_INT(GGML_QNT_VERSION, 2);
    CHECK_EQ_INT(GGML_QNT_VERSION_FACTOR, 1000);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_ALL_F32), GGML_TYPE_F32);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_Q4_0), GGML_TYPE_Q4_0);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_Q8_0), GGML_TYPE_Q8_0);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_Q5_1), GGML_TYPE_Q5_1);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_Q6_K), GGML_TYPE_Q6_K);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_IQ4_NL), GGML_TYPE_IQ4_NL);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_MXFP4), GGML_TYPE_MXFP4);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_BF16), GGML_TYPE_BF16);
    log_capture_begin();
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_MOSTLY_Q4_1_SOME_F16), GGML_TYPE_COUNT);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type(GGML_FTYPE_UNKNOWN), GGML_TYPE_COUNT);
    CHECK_EQ_INT(ggml_ftype_to_ggml_type((enum ggml_ftype) 99), GGML_TYPE_COUNT);
    log_capture_end();
    CHECK(log_captured("ftype 99"));
}

#define NE0   512
#define NROWS 8

static void * read_data(const char * name, size_t expect) {
    char path[512];
    snprintf(path, sizeof(path), "%s/quants/%s", GGALLOC_DATA_DIR, name);
    size_t len = 0;
    char * buf = check_read_file(path, &len);
    if (buf == NULL || len != expect) {
        fprintf(stderr, "%s: missing or %zu bytes, expected %zu\n", path, len, expect);
        free(buf);
        return NULL;
    }
    return buf;
}

static const char * ref_types[] = {
    "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "q8_K",
    "iq4_nl", "tq1_0", "tq2_0", "mxfp4",
};

static enum ggml_type type_by_name(const char * name) {
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        if (ggml_type_name((enum ggml_type) t) && strcmp(ggml_type_name((enum ggml_type) t), name) == 0) {
            return (enum ggml_type) t;
        }
    }
    return GGML_TYPE_COUNT;
}

// The bytes ggml wrote for the fixed input, block by block; then ggml's dequantized values.
static void test_against_ggml(void) {
    float * x = read_data("input-f32.bin", sizeof(float) * NE0 * NROWS);
    CHECK(x != NULL);
    if (x == NULL) {
        return;
    }
    for (size_t i = 0; i < sizeof(ref_types) / sizeof(ref_types[0]); i++) {
        const enum ggml_type t = type_by_name(ref_types[i]);
        CHECK(t != GGML_TYPE_COUNT);
        if (t == GGML_TYPE_COUNT) continue;
        const size_t row = ggml_row_size(t, NE0), n = row * NROWS, bs = ggml_type_size(t);
        char name[64];
        snprintf(name, sizeof(name), "%s.bin", ref_types[i]);
        uint8_t * expect = read_data(name, n);
        uint8_t * got = calloc(1, n);
        CHECK(expect != NULL);
        if (expect == NULL) { free(got); continue; }
        const struct ggml_type_traits * tt = ggml_get_type_traits(t);
        CHECK(tt->from_float_ref != NULL);
        tt->from_float_ref(x, got, NE0 * NROWS);
        int bad = 0;
        for (size_t b = 0; b < n / bs; b++) {
            if (memcmp(got + b * bs, expect + b * bs, bs) != 0) {
                if (bad == 0) {
                    size_t o = 0;
                    while (got[b * bs + o] == expect[b * bs + o]) o++;
                    fprintf(stderr, "%s: block %zu differs from ggml's at byte %zu: %02x != %02x\n",
                            ref_types[i], b, o, got[b * bs + o], expect[b * bs + o]);
                }
                bad++;
            }
        }
        if (bad) fprintf(stderr, "%s: %d of %zu blocks differ from ggml's\n", ref_types[i], bad, n / bs);
        CHECK_EQ_INT(bad, 0);

        // ggml_quantize_chunk gives the same bytes (for the types it takes), two rows at a time
        if (t != GGML_TYPE_Q8_1 && t != GGML_TYPE_Q8_K && t != GGML_TYPE_IQ4_NL) {
            memset(got, 0, n);
            size_t total = 0;
            for (int r = 0; r < NROWS; r += 2) {
                total += ggml_quantize_chunk(t, x, got, (int64_t) r * NE0, 2, NE0, NULL);
            }
            CHECK_EQ_INT(total, n);
            CHECK(memcmp(got, expect, n) == 0);
        }

        // dequantization, from ggml's blocks, against ggml's values (bit for bit)
        snprintf(name, sizeof(name), "%s-dequant-f32.bin", ref_types[i]);
        if (t != GGML_TYPE_Q8_1 && t != GGML_TYPE_Q8_K) {
            float * yref = read_data(name, sizeof(float) * NE0 * NROWS);
            float * y = calloc(NE0 * NROWS, sizeof(float));
            CHECK(yref != NULL && tt->to_float != NULL);
            if (yref != NULL) {
                tt->to_float(expect, y, NE0 * NROWS);
                int diff = 0;
                for (int k = 0; k < NE0 * NROWS; k++) diff += memcmp(&y[k], &yref[k], sizeof(float)) != 0;
                if (diff) fprintf(stderr, "%s: %d dequantized values differ from ggml's\n", ref_types[i], diff);
                CHECK_EQ_INT(diff, 0);
            }
            free(yref);
            free(y);
        } else {
            // activation formats (no to_float in their traits, as in ggml): the dequantized
            // row is within half a step of the input
            CHECK(tt->to_float == NULL);
            float * y = calloc(NE0 * NROWS, sizeof(float));
            if (t == GGML_TYPE_Q8_1) {
                dequantize_row_q8_1((const block_q8_1 *) expect, y, NE0 * NROWS);
            } else {
                dequantize_row_q8_K((const block_q8_K *) expect, y, NE0 * NROWS);
            }
            int far = 0;
            for (int r = 0; r < NROWS; r++) {
                float amax = 0;
                for (int k = 0; k < NE0; k++) amax = fmaxf(amax, fabsf(x[r * NE0 + k]));
                for (int k = 0; k < NE0; k++) far += fabsf(y[r * NE0 + k] - x[r * NE0 + k]) > amax / 127 * 0.6f + 1e-6f;
            }
            CHECK_EQ_INT(far, 0);
            free(y);
        }
        free(expect);
        free(got);
    }
    free(x);
}

// IQ4_NL's chunk quantizer searches more scales than its row reference: never a worse fit.
static void test_iq4_nl_chunk(void) {
    float * x = read_data("input-f32.bin", sizeof(float) * NE0 * NROWS);
    if (x == NULL) { CHECK(x != NULL); return; }
    const size_t n = ggml_row_size(GGML_TYPE_IQ4_NL, NE0) * NROWS;
    uint8_t * a = malloc(n), * b = malloc(n);
    float * ya = malloc(sizeof(float) * NE0 * NROWS), * yb = malloc(sizeof(float) * NE0 * NROWS);
    quantize_row_iq4_nl_ref(x, (block_iq4_nl *) a, NE0 * NROWS);
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_IQ4_NL, x, b, 0, NROWS, NE0, NULL), n);
    dequantize_row_iq4_nl((const block_iq4_nl *) a, ya, NE0 * NROWS);
    dequantize_row_iq4_nl((const block_iq4_nl *) b, yb, NE0 * NROWS);
    double ea = 0, eb = 0;
    for (int k = 0; k < NE0 * NROWS; k++) {
        ea += (ya[k] - x[k]) * (double) (ya[k] - x[k]) * x[k] * x[k];
        eb += (yb[k] - x[k]) * (double) (yb[k] - x[k]) * x[k] * x[k];
    }
    CHECK(eb <= ea * 1.0001);
    CHECK(memcmp(a, b, n) != 0);
    free(a); free(b); free(ya); free(yb); free(x);
}

// Q4_0, Q5_0, Q4_1, Q5_1 with an importance matrix: the weighted squared error (under the weights the
// quantizer is given: imatrix[j] * sqrt(sigma2 + x_j^2)) is no worse than the reference
// quantizer's, block by block up to the f16 rounding of the scale (and minimum), and clearly
// better in total; weight on a few columns moves the error off them; NULL gives the reference bytes.
static double weighted_err(enum ggml_type t, const float * x, const uint8_t * q, const float * imatrix, int64_t nrow, int64_t n,
                           double * per_block) {
    float * y = malloc(sizeof(float) * (size_t) (nrow * n));
    ggml_get_type_traits(t)->to_float(q, y, nrow * n);
    double total = 0.0;
    for (int64_t r = 0; r < nrow; r++) {
        const float * xr = x + r * n;
        double s2 = 0.0;
        for (int64_t j = 0; j < n; j++) s2 += (double) xr[j] * xr[j];
        s2 /= (double) n;
        for (int64_t j = 0; j < n; j++) {
            const double w = imatrix[j] * sqrt(s2 + (double) xr[j] * xr[j]);
            const double e = w * (double) (y[r * n + j] - xr[j]) * (y[r * n + j] - xr[j]);
            total += e;
            if (per_block) per_block[(r * n + j) / 32] += e;
        }
    }
    free(y);
    return total;
}

static void test_imatrix(void) {
    float * x = read_data("input-f32.bin", sizeof(float) * NE0 * NROWS);
    if (x == NULL) { CHECK(x != NULL); return; }
    float imatrix[NE0], flat[NE0];
    uint64_t st = 0x9e3779b97f4a7c15ull;
    for (int j = 0; j < NE0; j++) {
        st ^= st << 13; st ^= st >> 7; st ^= st << 17;
        imatrix[j] = 0.05f + (float) (st >> 40) / (float) (1u << 24) * 4.0f; // 0.05 .. 4.05
        flat[j] = 1.0f;
    }
    const enum ggml_type types[4] = { GGML_TYPE_Q4_0, GGML_TYPE_Q5_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_1 };
    const int nblk = NE0 * NROWS / 32;
    for (int k = 0; k < 4; k++) {
        const enum ggml_type t = types[k];
        const size_t n = ggml_row_size(t, NE0) * NROWS;
        uint8_t * ref = malloc(n), * wq = malloc(n), * nul = malloc(n);
        double * eb_ref = calloc((size_t) nblk, sizeof(double)), * eb_w = calloc((size_t) nblk, sizeof(double));
        CHECK_EQ_INT(ggml_quantize_chunk(t, x, ref, 0, NROWS, NE0, NULL), n);
        CHECK_EQ_INT(ggml_quantize_chunk(t, x, nul, 0, NROWS, NE0, NULL), n);
        CHECK(memcmp(ref, nul, n) == 0);
        ggml_get_type_traits(t)->from_float_ref(x, nul, NE0 * NROWS);
        CHECK(memcmp(ref, nul, n) == 0);
        CHECK_EQ_INT(ggml_quantize_chunk(t, x, wq, 0, NROWS, NE0, imatrix), n);
        const double e_ref = weighted_err(t, x, ref, imatrix, NROWS, NE0, eb_ref);
        const double e_w = weighted_err(t, x, wq, imatrix, NROWS, NE0, eb_w);
        int worse = 0;
        // (1%: the f16 rounding of the scale and minimum, which the search cannot see, moves
        // a block of large equal-signed values by up to a tenth of a Q5_1 step)
        for (int b = 0; b < nblk; b++) worse += !(eb_w[b] <= eb_ref[b] * 1.01 + 1e-12);
        CHECK_EQ_INT(worse, 0);
        if (!(e_w < e_ref * 0.97)) fprintf(stderr, "%s: weighted error %g, reference %g\n", ggml_type_name(t), e_w, e_ref);
        CHECK(e_w < e_ref * 0.97);
        // rows quantized one chunk at a time land where the whole call puts them
        memset(nul, 0, n);
        for (int r = 0; r < NROWS; r++) {
            CHECK_EQ_INT(ggml_quantize_chunk(t, x, nul, (int64_t) r * NE0, 1, NE0, imatrix), n / NROWS);
        }
        CHECK(memcmp(wq, nul, n) == 0);
        // all the weight on the first 32 columns of each row: their error falls below the
        // error the flat matrix leaves them (the other columns pay for it)
        float focus[NE0];
        for (int j = 0; j < NE0; j++) focus[j] = j < 32 ? 1.0f : 1e-3f;
        uint8_t * qf = malloc(n), * q1 = malloc(n);
        CHECK_EQ_INT(ggml_quantize_chunk(t, x, qf, 0, NROWS, NE0, focus), n);
        CHECK_EQ_INT(ggml_quantize_chunk(t, x, q1, 0, NROWS, NE0, flat), n);
        double ef = 0.0, e1 = 0.0;
        float * yf = malloc(sizeof(float) * NE0 * NROWS), * y1 = malloc(sizeof(float) * NE0 * NROWS);
        ggml_get_type_traits(t)->to_float(qf, yf, NE0 * NROWS);
        ggml_get_type_traits(t)->to_float(q1, y1, NE0 * NROWS);
        for (int r = 0; r < NROWS; r++) {
            for (int j = 0; j < 32; j++) {
                const int i = r * NE0 + j;
                ef += (double) (yf[i] - x[i]) * (yf[i] - x[i]);
                e1 += (double) (y1[i] - x[i]) * (y1[i] - x[i]);
            }
        }
        CHECK(ef <= e1);
        free(yf); free(y1); free(qf); free(q1);
        free(ref); free(wq); free(nul); free(eb_ref); free(eb_w);
    }
    // the types whose weighted quantizer is not here still refuse one
    uint8_t y[1024];
    log_capture_begin();
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q5_K, x, y, 0, 1, 256, imatrix), 0);
    log_capture_end();
    CHECK(log_captured("q5_K with an importance matrix is not supported"));
    // and those that ignore it give the same bytes with it or without
    uint8_t a8[2 * 34], b8[2 * 34];
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q8_0, x, a8, 0, 1, 64, NULL), sizeof(a8));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q8_0, x, b8, 0, 1, 64, imatrix), sizeof(b8));
    CHECK(memcmp(a8, b8, sizeof(a8)) == 0);
    free(x);
}

static void test_bad_calls(void) {
    float x[256] = { 0 };
    uint8_t y[1024];
    log_capture_begin();
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q4_0, x, y, 0, 1, 33, NULL), 0);
    CHECK(log_captured("not a positive multiple of the block size"));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q4_0, NULL, y, 0, 1, 32, NULL), 0);
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q4_0, x, NULL, 0, 1, 32, NULL), 0);
    CHECK(log_captured("NULL destination"));
    CHECK_EQ_INT(ggml_quantize_chunk((enum ggml_type) 4, x, y, 0, 1, 32, NULL), 0);
    CHECK_EQ_INT(ggml_quantize_chunk((enum ggml_type) 1000, x, y, 0, 1, 32, NULL), 0);
    CHECK(log_captured("unknown type 1000"));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_IQ2_XXS, x, y, 0, 1, 256, NULL), 0);
    CHECK(log_captured("needs an importance matrix"));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q4_K, x, y, 0, 1, 256, x), 0);
    CHECK(log_captured("importance matrix is not supported"));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q8_0, x, y, 16, 1, 32, NULL), 0);
    CHECK(log_captured("row boundary"));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_IQ3_S, x, y, 0, 1, 256, NULL), 0);
    CHECK(log_captured("no quantizer for type iq3_s"));
    CHECK_EQ_INT(ggml_quantize_chunk(GGML_TYPE_Q8_0, x, y, 0, -1, 32, NULL), 0);
    CHECK(log_capture_errors >= 10);
    // the row functions log and leave the output alone
    memset(y, 0xab, sizeof(y));
    log_capture_begin();
    quantize_row_q8_0_ref(x, (block_q8_0 *) y, 31);
    dequantize_row_q4_K(NULL, x, 256);
    quantize_row_q6_K_ref(x, NULL, 256);
    log_capture_end();
    CHECK(y[0] == 0xab);
    CHECK(log_captured("row length 31 is not a multiple of the block size 32"));
    CHECK(log_captured("dequantize_row_q4_K: NULL source"));
    CHECK(ggml_quantize_requires_imatrix(GGML_TYPE_IQ1_S));
    CHECK(!ggml_quantize_requires_imatrix(GGML_TYPE_Q4_K));
    ggml_quantize_init(GGML_TYPE_Q4_0);
    ggml_quantize_free();
}

// Round trips on data the fixed input lacks: all-zero blocks, a constant block, huge values.
static void test_edges(void) {
    float x[256], y[256];
    uint8_t q[512];
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        if (ggml_type_name((enum ggml_type) t) == NULL) continue;
        const struct ggml_type_traits * tt = ggml_get_type_traits((enum ggml_type) t);
        if (tt->from_float_ref == NULL || tt->to_float == NULL || 256 % tt->blck_size != 0) continue;
        memset(x, 0, sizeof(x));
        tt->from_float_ref(x, q, 256);
        tt->to_float(q, y, 256);
        int nonzero = 0;
        for (int k = 0; k < 256; k++) nonzero += y[k] != 0.0f && t != GGML_TYPE_Q1_0;
        CHECK_EQ_INT(nonzero, 0);
    }
}

int main(void) {
    test_type_table();
    test_ftype();
    test_against_ggml();
    test_iq4_nl_chunk();
    test_imatrix();
    test_bad_calls();
    test_edges();
    return check_report("test-quants");
}
