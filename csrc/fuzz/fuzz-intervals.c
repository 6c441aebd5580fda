// libFuzzer target for the interval planner (make fuzz). See fuzz-intervals.h. It links the pure
// planner alone (plan-intervals.c, planner.c, planner-search.c), so the library's log goes
// to the silent sink below instead of ggml.c's callback.

#include "fuzz-intervals.h"
#include "log.h"

#include <stdio.h>

void ggalloc_log(enum ggml_log_level level, const char * fmt, ...) {
    (void) level;
    (void) fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    const int bad = fuzz_intervals_one(data, size);
    if (bad != 0) {
        fprintf(stderr, "fuzz-intervals: %d broken promises\n", bad);
        abort();
    }
    return 0;
}
