//
// isa.c — which instruction sets the CPU has, and which kernel table the backend uses.
//
// The CPU is asked once (cpuid): AVX2, FMA and F16C make the AVX2 table usable, AVX-512F/BW/VL/DQ
// the AVX-512 one; VNNI (AVX-VNNI, AVX512-VNNI) is noted for the quantized dots to choose. A feature the CPU has is only usable if the operating system saves the wider
// registers on a context switch, which xgetbv reports (XCR0: SSE+AVX state for AVX2, plus the
// opmask and upper-zmm state for AVX-512); without that check a kernel could fault on a CPU
// whose OS disabled AVX. The best usable table is chosen unless a test forces another
// (ggalloc_cpu_set_isa). On arm64 there is nothing to ask: Advanced SIMD (NEON) is part of the
// base architecture, so its table is always usable and the automatic choice.
//

#include <pthread.h>
#include <stdatomic.h>

#include "ggml-cpu.h"
#include "kernels.h"
#include "log.h"

#if defined(__x86_64__) || defined(__i386__)
#    include <cpuid.h>
#endif

struct cpu_features {
    bool sse3, avx, avx2, fma, f16c, avx512f, avx512bw, avx512vl, avx512dq, avx512_bf16, avx512_vnni, avx_vnni, neon;
};

static struct cpu_features cpu_feat;
static atomic_int cpu_isa_current = GGALLOC_CPU_ISA_SCALAR;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__) || defined(__i386__)
static uint64_t cpu_xgetbv(void) {
    uint32_t eax, edx;
    __asm__ __volatile__("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t) edx << 32) | eax;
}
#endif

static void cpu_detect(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return;
    }
    cpu_feat.sse3 = (c >> 0) & 1;
    bool osxsave  = (c >> 27) & 1;
    bool avx_hw   = (c >> 28) & 1;
    bool fma_hw   = (c >> 12) & 1;
    bool f16c_hw  = (c >> 29) & 1;
    uint64_t xcr0 = osxsave ? cpu_xgetbv() : 0;
    bool os_avx    = (xcr0 & 0x6) == 0x6;
    bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;
    cpu_feat.avx  = avx_hw && os_avx;
    cpu_feat.fma  = fma_hw && os_avx;
    cpu_feat.f16c = f16c_hw && os_avx;
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        cpu_feat.avx2     = ((b >> 5) & 1) && os_avx;
        cpu_feat.avx512f  = ((b >> 16) & 1) && os_avx512;
        cpu_feat.avx512dq = ((b >> 17) & 1) && os_avx512;
        cpu_feat.avx512bw = ((b >> 30) & 1) && os_avx512;
        cpu_feat.avx512vl = ((b >> 31) & 1) && os_avx512;
        cpu_feat.avx512_vnni = ((c >> 11) & 1) && os_avx512;
        __cpuid_count(7, 1, a, b, c, d);
        cpu_feat.avx_vnni    = ((a >> 4) & 1) && os_avx;
        cpu_feat.avx512_bf16 = ((a >> 5) & 1) && os_avx512;
    }
#elif defined(__aarch64__)
    cpu_feat.neon = true;
#endif
}

static bool cpu_isa_available(enum ggalloc_cpu_isa isa) {
    switch (isa) {
        case GGALLOC_CPU_ISA_SCALAR: return true;
#if defined(__x86_64__)
        case GGALLOC_CPU_ISA_AVX2:   return cpu_feat.avx2 && cpu_feat.fma && cpu_feat.f16c;
        case GGALLOC_CPU_ISA_AVX512: return cpu_feat.avx512f && cpu_feat.avx512bw && cpu_feat.avx512vl &&
                                            cpu_feat.avx512dq && cpu_feat.avx2 && cpu_feat.fma && cpu_feat.f16c;
#endif
#if defined(__aarch64__)
        case GGALLOC_CPU_ISA_NEON:   return cpu_feat.neon;
#endif
        default: return false;
    }
}

static enum ggalloc_cpu_isa cpu_isa_best(void) {
    if (cpu_isa_available(GGALLOC_CPU_ISA_NEON)) {
        return GGALLOC_CPU_ISA_NEON;
    }
    if (cpu_isa_available(GGALLOC_CPU_ISA_AVX512)) {
        return GGALLOC_CPU_ISA_AVX512;
    }
    if (cpu_isa_available(GGALLOC_CPU_ISA_AVX2)) {
        return GGALLOC_CPU_ISA_AVX2;
    }
    return GGALLOC_CPU_ISA_SCALAR;
}

static void cpu_init_once(void) {
    cpu_kernels_init();
    cpu_detect();
    atomic_store(&cpu_isa_current, cpu_isa_best());
}

void ggml_cpu_init(void) {
    pthread_once(&cpu_once, cpu_init_once);
}

static const char * cpu_isa_name(enum ggalloc_cpu_isa isa) {
    switch (isa) {
        case GGALLOC_CPU_ISA_AUTO:   return "AUTO";
        case GGALLOC_CPU_ISA_SCALAR: return "SCALAR";
        case GGALLOC_CPU_ISA_AVX2:   return "AVX2";
        case GGALLOC_CPU_ISA_AVX512: return "AVX512";
        case GGALLOC_CPU_ISA_NEON:   return "NEON";
    }
    return "unknown";
}

bool ggalloc_cpu_set_isa(enum ggalloc_cpu_isa isa) {
    ggml_cpu_init();
    if (isa == GGALLOC_CPU_ISA_AUTO) {
        atomic_store(&cpu_isa_current, cpu_isa_best());
        return true;
    }
    if (!cpu_isa_available(isa)) {
        GGML_LOG_ERROR("cpu: the kernel set %s (%d) is not available on this CPU; keeping %s\n",
                cpu_isa_name(isa), (int) isa, cpu_isa_name((enum ggalloc_cpu_isa) atomic_load(&cpu_isa_current)));
        return false;
    }
    atomic_store(&cpu_isa_current, isa);
    return true;
}

bool cpu_has_vnni(bool avx512) {
    ggml_cpu_init();
    return avx512 ? cpu_feat.avx512_vnni : cpu_feat.avx_vnni;
}

enum ggalloc_cpu_isa ggalloc_cpu_get_isa(void) {
    ggml_cpu_init();
    return (enum ggalloc_cpu_isa) atomic_load(&cpu_isa_current);
}

const struct cpu_kernels * cpu_kernels_get(void) {
    switch (ggalloc_cpu_get_isa()) {
#if defined(__x86_64__)
        case GGALLOC_CPU_ISA_AVX512: return &cpu_kernels_avx512;
        case GGALLOC_CPU_ISA_AVX2:   return &cpu_kernels_avx2;
#endif
#if defined(__aarch64__)
        case GGALLOC_CPU_ISA_NEON:   return &cpu_kernels_neon;
#endif
        default:                     return &cpu_kernels_scalar;
    }
}

int ggml_cpu_has_sse3(void)        { ggml_cpu_init(); return cpu_feat.sse3; }
int ggml_cpu_has_avx(void)         { ggml_cpu_init(); return cpu_feat.avx; }
int ggml_cpu_has_avx2(void)        { ggml_cpu_init(); return cpu_feat.avx2; }
int ggml_cpu_has_fma(void)         { ggml_cpu_init(); return cpu_feat.fma; }
int ggml_cpu_has_f16c(void)        { ggml_cpu_init(); return cpu_feat.f16c; }
int ggml_cpu_has_avx512(void)      { ggml_cpu_init(); return cpu_feat.avx512f; }
int ggml_cpu_has_avx512_bf16(void) { ggml_cpu_init(); return cpu_feat.avx512_bf16; }
int ggml_cpu_has_neon(void)        { ggml_cpu_init(); return cpu_feat.neon; }
