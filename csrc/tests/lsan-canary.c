// lsan-canary.c — proof that the sanitizer build's leak suppressions (lsan.supp) hide only the
// Vulkan drivers' own memory: this program loses a buffer of the Vulkan backend (or of the CPU
// backend where there is no Vulkan device) and LeakSanitizer must report it. ctest passes it
// only when the report names ggalloc's allocation.

#include "ggml-backend.h"
#include "ggml-cpu.h"
#ifdef GGALLOC_USE_VULKAN
#include "ggml-vulkan.h"
#endif

#include <stdio.h>

int main(void) {
    ggml_backend_buffer_type_t buft = ggml_backend_cpu_buffer_type();
#ifdef GGALLOC_USE_VULKAN
    if (ggml_backend_vk_get_device_count() > 0) {
        buft = ggml_backend_vk_buffer_type(0);
    }
#endif
    ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(buft, 4096);
    printf("lost a buffer of type %s\n", ggml_backend_buft_name(buft));
    buf = NULL;  // the only reference is gone: a leak the checker must see
    return buf != NULL;
}
