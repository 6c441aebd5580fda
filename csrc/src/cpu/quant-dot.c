//
// quant-dot.c — dot products of quantized rows in portable C, and the CPU type traits.
//
// A weight row of a quantized type is multiplied with an activation row quantized to the type's
// vec_dot_type, as ggml does: Q8_0 for the 32-weight symmetric types (and IQ4_NL, MXFP4, Q1_0),
// Q8_1 for the 32-weight types with a minimum (its stored s = d * sum(q) turns the minimum's
// contribution into one multiply), Q8_K for the 256-weight super-block types (its per-16 sums
// do the same for the K-quants' minimums). Sums of integer products stay integer inside a
// block; the block's scales multiply that sum once.
//
// The K-quants are decoded here into one common form (a signed integer per weight, an integer
// scale and minimum per 16 weights, and the two float super-scales), so one loop serves them
// all: dot = dy * (d * sum_g sc_g * sum(q * y) - dmin * sum_g mn_g * bsum_g). The SIMD files
// have their own kernels for the types that matter for speed and fall back to these.
//

#include "quant-dot.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "ggalloc-cpu.h"
#include "kernels.h"
#include "quants.h"

#define F32(h) ggml_fp16_to_fp32(h)

//
// 32-weight blocks against Q8_0 / Q8_1
//

static void dot_q4_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q4_0 * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ((x[i].qs[j] & 15) - 8) * y[i].qs[j] + ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + 16];
        }
        sum += sumi * (F32(x[i].d) * F32(y[i].d));
    }
    *s = sum;
}

static void dot_q4_1_q8_1(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q4_1 * x = vx;
    const block_q8_1 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_1; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += (x[i].qs[j] & 15) * y[i].qs[j] + (x[i].qs[j] >> 4) * y[i].qs[j + 16];
        }
        sum += sumi * (F32(x[i].d) * F32(y[i].d)) + F32(x[i].m) * F32(y[i].s);
    }
    *s = sum;
}

static void dot_q5_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q5_0 * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof(qh));
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            const int lo = (int) ((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16;
            const int hi = (int) ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            sumi += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
        }
        sum += sumi * (F32(x[i].d) * F32(y[i].d));
    }
    *s = sum;
}

static void dot_q5_1_q8_1(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q5_1 * x = vx;
    const block_q8_1 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_1; i++) {
        uint32_t qh;
        memcpy(&qh, x[i].qh, sizeof(qh));
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            const int lo = (int) ((x[i].qs[j] & 15) | (((qh >> j) & 1) << 4));
            const int hi = (int) ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4));
            sumi += lo * y[i].qs[j] + hi * y[i].qs[j + 16];
        }
        sum += sumi * (F32(x[i].d) * F32(y[i].d)) + F32(x[i].m) * F32(y[i].s);
    }
    *s = sum;
}

static void dot_q8_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q8_0 * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK8_0; i++) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) {
            sumi += x[i].qs[j] * y[i].qs[j];
        }
        sum += sumi * (F32(x[i].d) * F32(y[i].d));
    }
    *s = sum;
}

static void dot_iq4_nl_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_iq4_nl * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK4_NL; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ggalloc_kvalues_iq4nl[x[i].qs[j] & 15] * y[i].qs[j] + ggalloc_kvalues_iq4nl[x[i].qs[j] >> 4] * y[i].qs[j + 16];
        }
        sum += sumi * (F32(x[i].d) * F32(y[i].d));
    }
    *s = sum;
}

static void dot_mxfp4_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_mxfp4 * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK_MXFP4; i++) {
        int sumi = 0;
        for (int j = 0; j < 16; j++) {
            sumi += ggalloc_kvalues_mxfp4[x[i].qs[j] & 15] * y[i].qs[j] + ggalloc_kvalues_mxfp4[x[i].qs[j] >> 4] * y[i].qs[j + 16];
        }
        sum += sumi * (ldexpf(1.0f, (int) x[i].e - 128) * F32(y[i].d));
    }
    *s = sum;
}

static void dot_q1_0_q8_0(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const block_q1_0 * x = vx;
    const block_q8_0 * y = vy;
    float sum = 0.0f;
    for (int i = 0; i < n / QK1_0; i++) {
        const float dx = F32(x[i].d);
        for (int k = 0; k < QK1_0 / QK8_0; k++) {
            const block_q8_0 * yb = &y[i * (QK1_0 / QK8_0) + k];
            int sumi = 0;
            for (int j = 0; j < QK8_0; j++) {
                const int bit = (x[i].qs[(k * QK8_0 + j) / 8] >> (j % 8)) & 1;
                sumi += bit ? yb->qs[j] : -yb->qs[j];
            }
            sum += sumi * (dx * F32(yb->d));
        }
    }
    *s = sum;
}

//
// 256-weight super-blocks against Q8_K
//

struct kdec {
    int8_t  q[QK_K];
    int16_t sc[QK_K / 16];
    int16_t mn[QK_K / 16];
    float   d, dmin;
};

static void kdec_q2_K(const block_q2_K * x, struct kdec * k) {
    k->d = F32(x->d);
    k->dmin = F32(x->dmin);
    for (int g = 0; g < 16; g++) {
        k->sc[g] = x->scales[g] & 15;
        k->mn[g] = x->scales[g] >> 4;
    }
    int e = 0;
    for (int n = 0; n < QK_K; n += 128) {
        const uint8_t * q = x->qs + n / 4;
        for (int shift = 0; shift < 8; shift += 2) {
            for (int l = 0; l < 32; l++) k->q[e++] = (int8_t) ((q[l] >> shift) & 3);
        }
    }
}

static void kdec_q3_K(const block_q3_K * x, struct kdec * k) {
    k->d = F32(x->d);
    k->dmin = 0.0f;
    for (int g = 0; g < 16; g++) {
        const int lo = g < 8 ? x->scales[g] & 15 : x->scales[g - 8] >> 4;
        k->sc[g] = (int16_t) ((lo | (((x->scales[8 + g % 4] >> (2 * (g / 4))) & 3) << 4)) - 32);
        k->mn[g] = 0;
    }
    int e = 0;
    uint8_t m = 1;
    for (int n = 0; n < QK_K; n += 128) {
        const uint8_t * q = x->qs + n / 4;
        for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
            for (int l = 0; l < 32; l++) k->q[e++] = (int8_t) (((q[l] >> shift) & 3) - ((x->hmask[l] & m) ? 0 : 4));
        }
    }
}

static void k4_scale_min(int j, const uint8_t * q, int * d, int * m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 15) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void kdec_q4_K(const block_q4_K * x, struct kdec * k) {
    k->d = F32(x->d);
    k->dmin = F32(x->dmin);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        k4_scale_min(j, x->scales, &sc, &m);
        k->sc[2 * j] = k->sc[2 * j + 1] = (int16_t) sc;
        k->mn[2 * j] = k->mn[2 * j + 1] = (int16_t) m;
    }
    for (int j = 0; j < QK_K / 64; j++) {
        for (int l = 0; l < 32; l++) {
            k->q[64 * j + l]      = (int8_t) (x->qs[32 * j + l] & 15);
            k->q[64 * j + 32 + l] = (int8_t) (x->qs[32 * j + l] >> 4);
        }
    }
}

static void kdec_q5_K(const block_q5_K * x, struct kdec * k) {
    k->d = F32(x->d);
    k->dmin = F32(x->dmin);
    for (int j = 0; j < 8; j++) {
        int sc, m;
        k4_scale_min(j, x->scales, &sc, &m);
        k->sc[2 * j] = k->sc[2 * j + 1] = (int16_t) sc;
        k->mn[2 * j] = k->mn[2 * j + 1] = (int16_t) m;
    }
    for (int j = 0; j < QK_K / 64; j++) {
        for (int l = 0; l < 32; l++) {
            k->q[64 * j + l]      = (int8_t) ((x->qs[32 * j + l] & 15) + ((x->qh[l] >> (2 * j)) & 1) * 16);
            k->q[64 * j + 32 + l] = (int8_t) ((x->qs[32 * j + l] >> 4) + ((x->qh[l] >> (2 * j + 1)) & 1) * 16);
        }
    }
}

static void kdec_q6_K(const block_q6_K * x, struct kdec * k) {
    k->d = F32(x->d);
    k->dmin = 0.0f;
    for (int g = 0; g < 16; g++) {
        k->sc[g] = x->scales[g];
        k->mn[g] = 0;
    }
    for (int n = 0; n < 2; n++) {
        const uint8_t * ql = x->ql + 64 * n;
        const uint8_t * qh = x->qh + 32 * n;
        int8_t * q = k->q + 128 * n;
        for (int l = 0; l < 32; l++) {
            q[l]      = (int8_t) (((ql[l]      & 15) | (((qh[l] >> 0) & 3) << 4)) - 32);
            q[l + 32] = (int8_t) (((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
            q[l + 64] = (int8_t) (((ql[l]      >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            q[l + 96] = (int8_t) (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

static void kdec_iq4_xs(const block_iq4_xs * x, struct kdec * k) {
    k->d = F32(x->d);
    k->dmin = 0.0f;
    for (int ib = 0; ib < 8; ib++) {
        const int ls = ((x->scales_l[ib / 2] >> (4 * (ib % 2))) & 15) | (((x->scales_h >> (2 * ib)) & 3) << 4);
        k->sc[2 * ib] = k->sc[2 * ib + 1] = (int16_t) (ls - 32);
        k->mn[2 * ib] = k->mn[2 * ib + 1] = 0;
        for (int j = 0; j < 16; j++) {
            k->q[32 * ib + j]      = ggalloc_kvalues_iq4nl[x->qs[16 * ib + j] & 15];
            k->q[32 * ib + j + 16] = ggalloc_kvalues_iq4nl[x->qs[16 * ib + j] >> 4];
        }
    }
}

static void kdec_ternary(const float * y, float d, struct kdec * k) {
    k->d = d;
    k->dmin = 0.0f;
    for (int g = 0; g < 16; g++) {
        k->sc[g] = 1;
        k->mn[g] = 0;
    }
    for (int i = 0; i < QK_K; i++) k->q[i] = (int8_t) y[i];
}

static void kdec_tq1_0(const block_tq1_0 * x, struct kdec * k) {
    float y[QK_K];
    const float d = F32(x->d);
    block_tq1_0 unit = *x;
    unit.d = ggml_fp32_to_fp16(1.0f);
    dequantize_row_tq1_0(&unit, y, QK_K);
    kdec_ternary(y, d, k);
}

static void kdec_tq2_0(const block_tq2_0 * x, struct kdec * k) {
    float y[QK_K];
    const float d = F32(x->d);
    block_tq2_0 unit = *x;
    unit.d = ggml_fp32_to_fp16(1.0f);
    dequantize_row_tq2_0(&unit, y, QK_K);
    kdec_ternary(y, d, k);
}

static float kdot(const struct kdec * k, const block_q8_K * y) {
    int sumi = 0, summ = 0;
    for (int g = 0; g < QK_K / 16; g++) {
        int s = 0;
        for (int l = 0; l < 16; l++) s += k->q[16 * g + l] * y->qs[16 * g + l];
        sumi += k->sc[g] * s;
        summ += k->mn[g] * y->bsums[g];
    }
    return y->d * (k->d * (float) sumi - k->dmin * (float) summ);
}

#define KDOT(name, block, decode) \
    static void name(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) { \
        (void) bs; (void) bx; (void) by; (void) nrc; \
        const block * x = vx; \
        const block_q8_K * y = vy; \
        struct kdec k; \
        float sum = 0.0f; \
        for (int i = 0; i < n / QK_K; i++) { \
            decode(&x[i], &k); \
            sum += kdot(&k, &y[i]); \
        } \
        *s = sum; \
    }

KDOT(dot_q2_K_q8_K,   block_q2_K,   kdec_q2_K)
KDOT(dot_q3_K_q8_K,   block_q3_K,   kdec_q3_K)
KDOT(dot_q4_K_q8_K,   block_q4_K,   kdec_q4_K)
KDOT(dot_q5_K_q8_K,   block_q5_K,   kdec_q5_K)
KDOT(dot_q6_K_q8_K,   block_q6_K,   kdec_q6_K)
KDOT(dot_iq4_xs_q8_K, block_iq4_xs, kdec_iq4_xs)
KDOT(dot_tq1_0_q8_K,  block_tq1_0,  kdec_tq1_0)
KDOT(dot_tq2_0_q8_K,  block_tq2_0,  kdec_tq2_0)

//
// Float types (ggml's CPU traits have them too)
//

static void dot_f32(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    *s = cpu_kernels_get()->dot_f32(n, vx, vy);
}

static void dot_f16(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const ggml_fp16_t * x = vx, * y = vy;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double) ggml_fp16_to_fp32(x[i]) * (double) ggml_fp16_to_fp32(y[i]);
    *s = (float) sum;
}

static void dot_bf16(int n, float * s, size_t bs, const void * vx, size_t bx, const void * vy, size_t by, int nrc) {
    (void) bs; (void) bx; (void) by; (void) nrc;
    const ggml_bf16_t * x = vx, * y = vy;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += (double) ggml_bf16_to_fp32(x[i]) * (double) ggml_bf16_to_fp32(y[i]);
    *s = (float) sum;
}

const struct cpu_qdot_table cpu_qdot_scalar = { .dot = {
    [GGML_TYPE_F32]    = dot_f32,
    [GGML_TYPE_F16]    = dot_f16,
    [GGML_TYPE_BF16]   = dot_bf16,
    [GGML_TYPE_Q4_0]   = dot_q4_0_q8_0,
    [GGML_TYPE_Q4_1]   = dot_q4_1_q8_1,
    [GGML_TYPE_Q5_0]   = dot_q5_0_q8_0,
    [GGML_TYPE_Q5_1]   = dot_q5_1_q8_1,
    [GGML_TYPE_Q8_0]   = dot_q8_0_q8_0,
    [GGML_TYPE_IQ4_NL] = dot_iq4_nl_q8_0,
    [GGML_TYPE_MXFP4]  = dot_mxfp4_q8_0,
    [GGML_TYPE_Q1_0]   = dot_q1_0_q8_0,
    [GGML_TYPE_Q2_K]   = dot_q2_K_q8_K,
    [GGML_TYPE_Q3_K]   = dot_q3_K_q8_K,
    [GGML_TYPE_Q4_K]   = dot_q4_K_q8_K,
    [GGML_TYPE_Q5_K]   = dot_q5_K_q8_K,
    [GGML_TYPE_Q6_K]   = dot_q6_K_q8_K,
    [GGML_TYPE_IQ4_XS] = dot_iq4_xs_q8_K,
    [GGML_TYPE_TQ1_0]  = dot_tq1_0_q8_K,
    [GGML_TYPE_TQ2_0]  = dot_tq2_0_q8_K,
} };

enum ggml_type cpu_vec_dot_type(enum ggml_type t) {
    switch (t) {
        case GGML_TYPE_F32:  case GGML_TYPE_F16: case GGML_TYPE_BF16:
            return t;
        case GGML_TYPE_Q4_0: case GGML_TYPE_Q5_0: case GGML_TYPE_Q8_0: case GGML_TYPE_IQ4_NL:
        case GGML_TYPE_MXFP4: case GGML_TYPE_Q1_0:
            return GGML_TYPE_Q8_0;
        case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_1:
            return GGML_TYPE_Q8_1;
        case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
        case GGML_TYPE_IQ4_XS: case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0:
            return GGML_TYPE_Q8_K;
        default:
            return GGML_TYPE_COUNT;
    }
}

bool cpu_type_is_quant(enum ggml_type t) {
    return ggml_is_quantized(t) && cpu_qdot_scalar.dot[t] != NULL && ggml_get_type_traits(t)->to_float != NULL &&
           ggml_get_type_traits(t)->from_float_ref != NULL;
}

// VNNI is in use where the CPU has it (isa.c) unless a test turns it off
static atomic_int qdot_vnni_allowed = 1;

// whether the AVX-512 (avx512 true) or AVX2 kernels may use VNNI now
static bool qdot_vnni(bool avx512) {
    return atomic_load(&qdot_vnni_allowed) && cpu_has_vnni(avx512);
}

bool cpu_qdot_set_vnni(bool on) {
    atomic_store(&qdot_vnni_allowed, on ? 1 : 0);
    return qdot_vnni(true) || qdot_vnni(false);
}

// the kernel tables of an ISA, widest first: a type missing from one is looked up in the next
static const struct cpu_qdot_table * const * qdot_tables(enum ggalloc_cpu_isa isa, bool vnni) {
#if defined(__x86_64__)
    // with AVX512-VNNI, the AVX2 fallbacks use AVX-VNNI where the CPU has that too
    static const struct cpu_qdot_table * const avx512_vnni2[] = { &cpu_qdot_avx512_vnni, &cpu_qdot_avx512, &cpu_qdot_avx2_vnni,
                                                                  &cpu_qdot_avx2, &cpu_qdot_scalar, NULL };
    static const struct cpu_qdot_table * const avx512_vnni[] = { &cpu_qdot_avx512_vnni, &cpu_qdot_avx512, &cpu_qdot_avx2, &cpu_qdot_scalar, NULL };
    static const struct cpu_qdot_table * const avx512[] = { &cpu_qdot_avx512, &cpu_qdot_avx2, &cpu_qdot_scalar, NULL };
    static const struct cpu_qdot_table * const avx2_vnni[] = { &cpu_qdot_avx2_vnni, &cpu_qdot_avx2, &cpu_qdot_scalar, NULL };
    static const struct cpu_qdot_table * const avx2[] = { &cpu_qdot_avx2, &cpu_qdot_scalar, NULL };
#endif
#if defined(__aarch64__)
    static const struct cpu_qdot_table * const neon[] = { &cpu_qdot_neon, &cpu_qdot_scalar, NULL };
#endif
    static const struct cpu_qdot_table * const scalar[] = { &cpu_qdot_scalar, NULL };
    (void) vnni; // x86 only
    switch (isa) {
#if defined(__x86_64__)
        case GGALLOC_CPU_ISA_AVX512: return !vnni ? avx512 : qdot_vnni(false) ? avx512_vnni2 : avx512_vnni;
        case GGALLOC_CPU_ISA_AVX2:   return vnni ? avx2_vnni : avx2;
#endif
#if defined(__aarch64__)
        case GGALLOC_CPU_ISA_NEON:   return neon;
#endif
        default:                     return scalar;
    }
}

static ggml_vec_dot_t qdot_pick(enum ggalloc_cpu_isa isa, bool vnni, enum ggml_type t) {
    for (const struct cpu_qdot_table * const * tab = qdot_tables(isa, vnni); *tab != NULL; tab++) {
        if ((*tab)->dot[t] != NULL) {
            return (*tab)->dot[t];
        }
    }
    return NULL;
}

ggml_vec_dot_t cpu_qdot_get(enum ggml_type t) {
    if ((int) t < 0 || (int) t >= GGML_TYPE_COUNT) {
        return NULL;
    }
    const enum ggalloc_cpu_isa isa = cpu_kernels_get()->isa;
    return qdot_pick(isa, qdot_vnni(isa == GGALLOC_CPU_ISA_AVX512), t);
}

cpu_qgemv_t cpu_qgemv_get(enum ggml_type t) {
    if ((int) t < 0 || (int) t >= GGML_TYPE_COUNT) {
        return NULL;
    }
    // only the table that has the type's widest dot: a narrower table's several-rows kernel
    // would be slower than the wider single-row one
    const enum ggalloc_cpu_isa isa = cpu_kernels_get()->isa;
    for (const struct cpu_qdot_table * const * tab = qdot_tables(isa, qdot_vnni(isa == GGALLOC_CPU_ISA_AVX512)); *tab != NULL; tab++) {
        if ((*tab)->dot[t] != NULL) {
            return (*tab)->gemv[t];
        }
    }
    return NULL;
}

static void from_f32(const float * GGML_RESTRICT x, void * GGML_RESTRICT y, int64_t k) {
    memcpy(y, x, (size_t) k * sizeof(float));
}

// one table of traits per kernel table, filled once; the entry returned follows the ISA in use
// (which tests can switch), and stays valid for the life of the process
enum { QT_SCALAR, QT_AVX2, QT_AVX2_VNNI, QT_AVX512, QT_AVX512_VNNI, QT_NEON, QT_N };
static struct ggml_type_traits_cpu qtraits[QT_N][GGML_TYPE_COUNT];
static pthread_once_t qtraits_once = PTHREAD_ONCE_INIT;

static void qtraits_fill(void) {
    const enum ggalloc_cpu_isa isas[QT_N] = { GGALLOC_CPU_ISA_SCALAR, GGALLOC_CPU_ISA_AVX2, GGALLOC_CPU_ISA_AVX2,
                                              GGALLOC_CPU_ISA_AVX512, GGALLOC_CPU_ISA_AVX512, GGALLOC_CPU_ISA_NEON };
    for (int i = 0; i < QT_N; i++) {
        for (int t = 0; t < GGML_TYPE_COUNT; t++) {
            struct ggml_type_traits_cpu * e = &qtraits[i][t];
            e->nrows = 1;
            e->vec_dot_type = cpu_vec_dot_type((enum ggml_type) t);
            if (e->vec_dot_type == GGML_TYPE_COUNT) {
                continue;
            }
            e->from_float = t == GGML_TYPE_F32 ? from_f32 : ggml_get_type_traits((enum ggml_type) t)->from_float_ref;
            e->vec_dot = qdot_pick(isas[i], i == QT_AVX2_VNNI || i == QT_AVX512_VNNI, (enum ggml_type) t);
        }
    }
    // activation formats: a quantizer, no dot of their own
    for (int i = 0; i < QT_N; i++) {
        qtraits[i][GGML_TYPE_Q8_1].from_float = ggml_get_type_traits(GGML_TYPE_Q8_1)->from_float_ref;
        qtraits[i][GGML_TYPE_Q8_K].from_float = ggml_get_type_traits(GGML_TYPE_Q8_K)->from_float_ref;
    }
}

const struct ggml_type_traits_cpu * ggml_get_type_traits_cpu(enum ggml_type type) {
    static const struct ggml_type_traits_cpu none = { NULL, NULL, GGML_TYPE_COUNT, 1 };
    if ((int) type < 0 || (int) type >= GGML_TYPE_COUNT) {
        return &none;
    }
    pthread_once(&qtraits_once, qtraits_fill);
    switch (cpu_kernels_get()->isa) {
        case GGALLOC_CPU_ISA_AVX2:   return &qtraits[qdot_vnni(false) ? QT_AVX2_VNNI : QT_AVX2][type];
        case GGALLOC_CPU_ISA_AVX512: return &qtraits[qdot_vnni(true) ? QT_AVX512_VNNI : QT_AVX512][type];
        case GGALLOC_CPU_ISA_NEON:   return &qtraits[QT_NEON][type];
        default:                     return &qtraits[QT_SCALAR][type];
    }
}
