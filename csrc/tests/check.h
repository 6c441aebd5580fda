#pragma once

// The tests' tiny harness: CHECK records a failure and goes on; each test program returns
// check_report() from main, which prints "N passed, N failed" and fails if anything did.
// log_capture_* collect what the library logs, so tests can assert on error messages.

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ggml.h"

static int check_passed = 0;
static int check_failed = 0;

#define CHECK(cond) do { \
        if (cond) { check_passed++; } \
        else { check_failed++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } \
    } while (0)

#define CHECK_EQ_INT(a, b) do { \
        long long va_ = (long long)(a), vb_ = (long long)(b); \
        if (va_ == vb_) { check_passed++; } \
        else { check_failed++; fprintf(stderr, "%s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", \
                                       __FILE__, __LINE__, #a, #b, va_, vb_); } \
    } while (0)

// A number in [0, n) from a fixed xorshift sequence: tests that draw random instances get the
// same ones on every run.
static uint64_t check_rng = 0x2545f4914f6cdd1dull;
static inline int check_rand(int n) {
    check_rng ^= check_rng << 13;
    check_rng ^= check_rng >> 7;
    check_rng ^= check_rng << 17;
    return (int) (check_rng % (uint64_t) n);
}

// 1 in a sanitizer build: every access is checked there, so heavy tests run smaller sizes.
#if defined(__SANITIZE_ADDRESS__)
#    define CHECK_SMALL_RUN 1
#elif defined(__has_feature)
#    if __has_feature(address_sanitizer)
#        define CHECK_SMALL_RUN 1
#    endif
#endif
#ifndef CHECK_SMALL_RUN
#    define CHECK_SMALL_RUN 0
#endif

// The whole file as a NUL-terminated string (malloc'ed; its length in *len if len is not
// NULL), or NULL if it cannot be read.
static inline char * check_read_file(const char * path, size_t * len) {
    FILE * f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char * buf = n >= 0 ? (char *) malloc((size_t) n + 1) : NULL;
    if (buf != NULL && fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = 0;
        if (len != NULL) {
            *len = (size_t) n;
        }
    }
    return buf;
}

static inline int check_report(const char * name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed == 0 ? 0 : 1;
}

// Log capture: everything the library logs at WARN or above is appended to log_capture_buf.
static char log_capture_buf[1 << 16];
static size_t log_capture_len = 0;
static int log_capture_errors = 0;

static void log_capture_cb(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    if (level == GGML_LOG_LEVEL_ERROR) log_capture_errors++;
    if (level >= GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_CONT) {
        size_t n = strlen(text);
        if (log_capture_len + n + 1 < sizeof(log_capture_buf)) {
            memcpy(log_capture_buf + log_capture_len, text, n + 1);
            log_capture_len += n;
        }
    }
}

// Starts capturing (and clears what was captured).
static inline void log_capture_begin(void) {
    log_capture_buf[0] = 0;
    log_capture_len = 0;
    log_capture_errors = 0;
    ggml_log_set(log_capture_cb, NULL);
}

// Stops capturing (the default logger comes back); returns the captured text.
static inline const char * log_capture_end(void) {
    ggml_log_set(NULL, NULL);
    return log_capture_buf;
}

static inline int log_captured(const char * needle) {
    return strstr(log_capture_buf, needle) != NULL;
}
