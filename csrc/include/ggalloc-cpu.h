#pragma once

//
// ggalloc-cpu.h — which CPU kernels run.
//
// Example:
//
//   if (!ggalloc_cpu_set_isa(GGALLOC_CPU_ISA_SCALAR)) { ... }   // e.g. to compare with the SIMD kernels
//   enum ggalloc_cpu_isa isa = ggalloc_cpu_get_isa();            // never AUTO
//

#include "ggml.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

enum ggalloc_cpu_isa {
    GGALLOC_CPU_ISA_AUTO,     // the best the CPU has
    GGALLOC_CPU_ISA_SCALAR,   // portable C
    GGALLOC_CPU_ISA_AVX2,     // AVX2 + FMA + F16C
    GGALLOC_CPU_ISA_AVX512,   // AVX-512F
    GGALLOC_CPU_ISA_NEON,     // Advanced SIMD, on arm64 (where every CPU has it)
};
// Forces a kernel set for every CPU backend (tests use it to reach each path). false (and a log
// line) if the CPU lacks it; the choice is then unchanged.
GGML_API bool                 ggalloc_cpu_set_isa(enum ggalloc_cpu_isa isa);
GGML_API enum ggalloc_cpu_isa ggalloc_cpu_get_isa(void); // the set in use, never AUTO

#ifdef __cplusplus
}
#endif
