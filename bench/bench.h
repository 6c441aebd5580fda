// bench/bench.h — what the benchmark programs share: clocks, medians, and tensors filled with
// reproducible random values. Header-only (every bench/*.c is its own program).

#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ggml.h"
#include "ggml-backend.h"

static inline double bench_wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

// CPU time of the whole process (all its threads): on a shared machine, CPU time over wall time
// tells how much of the cores a run had.
static inline double bench_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

static inline int bench_cmp_double(const void * a, const void * b) {
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

// Sorts v in place.
static inline double bench_median(double * v, int n) {
    qsort(v, (size_t) n, sizeof(double), bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static uint64_t bench_rng = 88172645463325252ull;

// Uniform in [-0.5, 0.5), xorshift64: the same values on every run.
static inline float bench_rand(void) {
    bench_rng ^= bench_rng << 13;
    bench_rng ^= bench_rng >> 7;
    bench_rng ^= bench_rng << 17;
    return (float) ((bench_rng >> 40) & 0xffffff) / (float) 0x1000000 - 0.5f;
}

// Fills t (in host memory without a buffer, or in any backend buffer) with scale * bench_rand()
// for f32/f16, i % i32_mod for i32 (token ids, positions), zeros for other types.
static inline void bench_fill(struct ggml_tensor * t, float scale, int32_t i32_mod) {
    const int64_t n = ggml_nelements(t);
    const size_t bytes = ggml_nbytes(t);
    void * v = t->buffer == NULL ? t->data : malloc(bytes);
    if (v == NULL) {
        return;
    }
    switch (t->type) {
        case GGML_TYPE_F32:
            for (int64_t i = 0; i < n; i++) ((float *) v)[i] = scale * bench_rand();
            break;
        case GGML_TYPE_F16:
            for (int64_t i = 0; i < n; i++) ((ggml_fp16_t *) v)[i] = ggml_fp32_to_fp16(scale * bench_rand());
            break;
        case GGML_TYPE_I32:
            for (int64_t i = 0; i < n; i++) ((int32_t *) v)[i] = (int32_t) (i % i32_mod);
            break;
        default:
            memset(v, 0, bytes);
            break;
    }
    if (t->buffer != NULL) {
        ggml_backend_tensor_set(t, v, 0, bytes);
        free(v);
    }
}

// Writes text to results/<name> beside the benchmark's source file (pass __FILE__), so the
// table lands in bench/results/ wherever the program is run from.
static inline void bench_write_results(const char * source_file, const char * name, const char * text) {
    char path[4096];
    const char * slash = strrchr(source_file, '/');
    const int dir_len = slash ? (int) (slash - source_file + 1) : 0;
    snprintf(path, sizeof(path), "%.*sresults/%s", dir_len, source_file, name);
    FILE * f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "cannot write %s\n", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

// A benchmark's table: each line printed to stdout and kept, for bench_write_results.
static char   bench_out[32768];
static size_t bench_out_len = 0;

static inline void bench_emit(const char * fmt, ...) GGML_ATTRIBUTE_FORMAT(1, 2);
static inline void bench_emit(const char * fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fputs(line, stdout);
    const size_t n = strlen(line);
    if (bench_out_len + n < sizeof(bench_out)) {
        memcpy(bench_out + bench_out_len, line, n + 1);
        bench_out_len += n;
    }
}
