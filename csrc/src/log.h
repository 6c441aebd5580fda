#pragma once

// The library's one way to speak: every message goes through the callback set with
// ggml_log_set (ggml.c). Internal to the library.

#include "ggml.h"

#ifdef __cplusplus
extern "C" {
#endif

GGML_ATTRIBUTE_FORMAT(2, 3)
void ggalloc_log(enum ggml_log_level level, const char * fmt, ...);

#define GGML_LOG_DEBUG(...) ggalloc_log(GGML_LOG_LEVEL_DEBUG, __VA_ARGS__)
#define GGML_LOG_INFO(...)  ggalloc_log(GGML_LOG_LEVEL_INFO,  __VA_ARGS__)
#define GGML_LOG_WARN(...)  ggalloc_log(GGML_LOG_LEVEL_WARN,  __VA_ARGS__)
#define GGML_LOG_ERROR(...) ggalloc_log(GGML_LOG_LEVEL_ERROR, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
