// libFuzzer target of the GGUF reader (`make fuzz`): each input is read as gguf-fuzz.h reads
// it; an inconsistency aborts, so libFuzzer records it as a finding.

#include "ggml.h"
#include "gguf-fuzz.h"

#include <stdio.h>
#include <stdlib.h>

static void quiet(enum ggml_log_level level, const char * text, void * user_data) {
    (void) level; (void) text; (void) user_data;
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ggml_log_set(quiet, NULL);
    const int res = gguf_fuzz_one(data, size);
    if (res < 0) {
        fprintf(stderr, "fuzz-gguf: an accepted input does not hold together (gguf-fuzz.h line %d)\n", -res);
        abort();
    }
    return 0;
}
