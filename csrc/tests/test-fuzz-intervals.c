// A short deterministic run of the interval fuzzer (csrc/fuzz/fuzz-intervals.h): random byte
// strings, each of which must be refused exactly when invalid or planned validly. The open-ended
// run is `make fuzz`.

#include "check.h"
#include "../fuzz/fuzz-intervals.h"

#include <stdint.h>

static void quiet(enum ggml_log_level level, const char * text, void * user) {
    (void) level;
    (void) text;
    (void) user;
}

int main(void) {
    ggml_log_set(quiet, NULL);
    const int runs = CHECK_SMALL_RUN ? 5000 : 50000;
    uint64_t x = 0x853c49e6748fea9bull;
    uint8_t buf[1024];
    int bad_inputs = 0;
    for (int k = 0; k < runs; k++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const size_t len = (size_t) (x % sizeof(buf));
        uint64_t y = x;
        for (size_t i = 0; i < len; i++) {
            y ^= y << 13;
            y ^= y >> 7;
            y ^= y << 17;
            buf[i] = (uint8_t) (y >> 24);
        }
        const int bad = fuzz_intervals_one(buf, len);
        if (bad != 0 && bad_inputs++ < 5) {
            fprintf(stderr, "input %d (%zu bytes): %d broken promises\n", k, len, bad);
        }
    }
    CHECK_EQ_INT(bad_inputs, 0);
    // a good share of the inputs is valid and reaches the planners, not only the checks
    printf("%d of %d inputs planned\n", fuzz_intervals_planned, runs);
    CHECK(fuzz_intervals_planned > runs / 10);
    return check_report("test-fuzz-intervals");
}
