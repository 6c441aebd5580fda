//
// mul-mat.c — matrix multiplication on the CPU: dst[j][i] = sum_k A[i][k] * B[j][k], for
// weights A (f32, f16 or bf16; M rows of K) and activations B (f32; N rows of K), batched over
// dims 2 and 3 with A broadcast as ggml defines it. (Activations in f16 or bf16 are accepted too
// and converted to f32 as they are packed.)
//
// Algorithm (the classic blocked GEMM, arranged for ggml's row-major layouts):
//
// 1. All threads pack B together, once per compute, into panels of nr rows interleaved by k
//    (panel[k*nr + j]); rows past N are zero. Packing makes the micro-kernel's reads sequential
//    whatever B's strides are (permuted attention operands included). One barrier follows.
// 2. The output is cut into units (a batch, a group of up to 4 panels of mr rows of A); threads
//    take units from a shared counter, so a thread slowed down by the OS does not hold up the
//    node. For each block of kc values of k, a panel of mr rows of A is converted to f32 and
//    packed k-major (mr floats per k) into the thread's scratch: f16 and bf16 weights are
//    converted here, once per panel and block, and the converted panel then serves every one of
//    the N columns, so the conversion costs O(M*K) against the O(M*N*K) arithmetic.
// 3. The micro-kernel (kernels.h) multiplies the A panel by each B panel, keeping an mr x nr
//    tile of dst in registers over the kc steps; later k blocks add to what earlier ones stored.
//    Tiles that overhang M or N go through a small scratch tile.
//
// Loop order inside a unit: for each block of kc values of k, its (up to 4) A panels are packed
// (4 * 32 * kc floats: 512 KiB at kc = 1024, held in L2), then every B panel of that k-range
// (nr * kc floats, streamed from L2) is multiplied by each of them in turn. A larger kc means
// fewer passes over dst (each k block reads and writes the dst tiles once); kc = 1024 measured
// best on the 4096 x 4096 x 512 shape (512: 356, 768: 360, 1024: 368 GFLOP/s with f16 weights,
// 2 threads, AVX-512).
//
// With very few activation rows (N < 4: decoding one token) packing would cost as much as the
// arithmetic, so each output is a plain dot product of a row of A and a row of B instead; that
// work is bound by reading A once from memory.
//
// Quantized weights (any type with a CPU dot product, quant-dot.c):
// - few activation rows: the rows of B are quantized once to the weight type's vec_dot_type
//   (all threads share the work, a single row included, then meet at the node's one barrier)
//   and every output is a quantized dot product, as in ggml. Threads then claim runs of up to
//   32 weight rows from a shared counter (a thread the OS holds back leaves its runs to the
//   others), and a run goes through the type's several-rows kernel where it has one, which
//   loads each activation block once for 4 weight rows. This path reads the weights in their
//   compact form once, which is what bounds it.
// - many rows: the weights are dequantized while their panels are packed (once per panel and
//   k block, O(M*K) beside the O(M*N*K) arithmetic) and go through the f32 micro-kernel. This
//   is more exact than quantizing the activations, and on CPUs whose f32 FMA rate is the
//   limit it is also the faster of the two.
//

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "align.h"
#include "kernels.h"
#include "log.h"
#include "ops.h"
#include "quant-dot.h"

#define MM_KC        1024
#define MM_GROUP     4
#define MM_ALIGN     16     // floats (64 bytes)
#define MM_N_SMALL   4
#define MM_Q_RUN     32     // most rows of quantized weights in one unit of the few-rows path
#define MM_Q_HEAD    64     // bytes before the quantized activations: the unit counter

struct mm_layout {
    int64_t K, M, N, n_batch;
    int64_t np;           // panels of B per batch
    size_t  counter_off;  // floats
    size_t  packed_b_off;
    size_t  per_thread_off;
    size_t  per_thread;   // floats of each thread's A panels and edge tile
};

static bool mm_small(const struct ggml_tensor * node) {
    return node->src[1]->ne[1] < MM_N_SMALL;
}

// Sized for the largest micro-kernel shape of any table (np * nr < N + NR_MAX), so a table
// switch between planning and compute (tests force each ISA) can never overrun.
static struct mm_layout mm_layout_of(const struct ggml_tensor * node, int nr) {
    const struct ggml_tensor * a = node->src[0];
    const struct ggml_tensor * b = node->src[1];
    struct mm_layout L;
    L.K = a->ne[0];
    L.M = a->ne[1];
    L.N = b->ne[1];
    L.n_batch = b->ne[2] * b->ne[3];
    L.np = (L.N + nr - 1) / nr;
    L.counter_off = 0;
    L.packed_b_off = MM_ALIGN;
    const size_t packed = (size_t) gga_round_up(L.n_batch * (L.N + CPU_GEMM_NR_MAX) * L.K, MM_ALIGN);
    L.per_thread_off = L.packed_b_off + packed;
    L.per_thread = (size_t) gga_round_up((int64_t) MM_GROUP * CPU_GEMM_MR_MAX * MM_KC + CPU_GEMM_MR_MAX * CPU_GEMM_NR_MAX, MM_ALIGN);
    if (ggml_is_quantized(a->type)) {
        L.per_thread += (size_t) CPU_GEMM_MR_MAX * MM_KC; // rows dequantized before packing
    }
    return L;
}

// Few activation rows with quantized weights: B quantized to the vec_dot_type (shared), then a
// row of K floats per thread to gather strided activations.
static size_t mm_q_rows_bytes(const struct ggml_tensor * node) {
    const struct ggml_tensor * b = node->src[1];
    const enum ggml_type vt = cpu_vec_dot_type(node->src[0]->type);
    return (size_t) gga_round_up((int64_t) ggml_row_size(vt, b->ne[0]) * b->ne[1] * b->ne[2] * b->ne[3], 64);
}

size_t cpu_mul_mat_work_size(const struct ggml_tensor * node, int nth) {
    if (mm_small(node) && ggml_is_quantized(node->src[0]->type)) {
        return MM_Q_HEAD + mm_q_rows_bytes(node) + (size_t) nth * (size_t) gga_round_up(node->src[0]->ne[0] + MM_ALIGN, MM_ALIGN) * sizeof(float);
    }
    if (mm_small(node)) {
        const int64_t K = node->src[0]->ne[0];
        return (size_t) nth * (size_t) gga_round_up(2 * K + MM_ALIGN, MM_ALIGN) * sizeof(float);
    }
    struct mm_layout L = mm_layout_of(node, CPU_GEMM_NR_MAX);
    return (L.per_thread_off + (size_t) nth * L.per_thread) * sizeof(float);
}

static const float * mm_row_f32(const struct cpu_kernels * K, const struct ggml_tensor * t, const char * p, int64_t n, float * tmp) {
    const size_t nb0 = t->nb[0];
    switch (t->type) {
        case GGML_TYPE_F32:
            if (nb0 == sizeof(float)) {
                return (const float *) p;
            }
            for (int64_t i = 0; i < n; i++) tmp[i] = *(const float *) (p + i * nb0);
            return tmp;
        case GGML_TYPE_F16:
            if (nb0 == sizeof(ggml_fp16_t)) {
                K->f16_to_f32((const ggml_fp16_t *) p, tmp, n);
            } else {
                for (int64_t i = 0; i < n; i++) tmp[i] = ggml_fp16_to_fp32(*(const ggml_fp16_t *) (p + i * nb0));
            }
            return tmp;
        default:
            if (nb0 == sizeof(ggml_bf16_t)) {
                K->bf16_to_f32((const ggml_bf16_t *) p, tmp, n);
            } else {
                for (int64_t i = 0; i < n; i++) tmp[i] = ggml_bf16_to_fp32(*(const ggml_bf16_t *) (p + i * nb0));
            }
            return tmp;
    }
}

// Few activation rows: one dot product per output.
static void mm_compute_small(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const int64_t KK = a->ne[0], M = a->ne[1], N = b->ne[1];
    const int64_t r2 = b->ne[2] / a->ne[2], r3 = b->ne[3] / a->ne[3];
    float * tmp = (float *) params->wdata + (size_t) params->ith * (size_t) gga_round_up(2 * KK + MM_ALIGN, MM_ALIGN);
    float * ta = tmp, * tb = tmp + KK;
    const int64_t n_batch = b->ne[2] * b->ne[3];
    const int64_t total = n_batch * M;
    int64_t per = (total + params->nth - 1) / params->nth;
    int64_t u0 = per * params->ith, u1 = u0 + per < total ? u0 + per : total;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t batch = u / M, i01 = u % M;
        const int64_t i12 = batch % b->ne[2], i13 = batch / b->ne[2];
        const char * arow = (const char *) a->data + i01 * a->nb[1] + (i12 / r2) * a->nb[2] + (i13 / r3) * a->nb[3];
        const bool a_contig = a->nb[0] == ggml_type_size(a->type);
        const float * af = NULL;
        if (!a_contig || a->type == GGML_TYPE_BF16) {
            af = mm_row_f32(K, a, arow, KK, ta);
        }
        for (int64_t i11 = 0; i11 < N; i11++) {
            const char * brow = (const char *) b->data + i11 * b->nb[1] + i12 * b->nb[2] + i13 * b->nb[3];
            const float * bf = mm_row_f32(K, b, brow, KK, tb);
            float v;
            if (af != NULL) {
                v = K->dot_f32(KK, af, bf);
            } else if (a->type == GGML_TYPE_F32) {
                v = K->dot_f32(KK, (const float *) arow, bf);
            } else {
                v = K->dot_f16_f32(KK, (const ggml_fp16_t *) arow, bf);
            }
            *(float *) ((char *) dst->data + i01 * dst->nb[0] + i11 * dst->nb[1] + i12 * dst->nb[2] + i13 * dst->nb[3]) = v;
        }
    }
}

// Few activation rows, quantized weights: quantize B, then the rows of A against it.
static void mm_q_compute_small(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const int64_t KK = a->ne[0], M = a->ne[1], N = b->ne[1];
    const enum ggml_type vt = cpu_vec_dot_type(a->type);
    const ggml_from_float_t quantize = ggml_get_type_traits(vt)->from_float_ref;
    const ggml_vec_dot_t dot = cpu_qdot_get(a->type);
    const cpu_qgemv_t gemv = cpu_qgemv_get(a->type);
    const size_t qrow = ggml_row_size(vt, KK);
    atomic_int * counter = (atomic_int *) params->wdata;
    char * qb = (char *) params->wdata + MM_Q_HEAD;
    float * tmp = (float *) (qb + mm_q_rows_bytes(dst)) + (size_t) params->ith * (size_t) gga_round_up(KK + MM_ALIGN, MM_ALIGN);
    const int64_t n_batch = b->ne[2] * b->ne[3];

    // 1. B rows, in (batch, row) order, cut into equal runs of blocks, one per thread: a single
    //    row (one token) is shared too
    {
        const int64_t vblck = ggml_blck_size(vt);
        const int64_t nblk = KK / vblck;
        const int64_t total = n_batch * N * nblk;
        const int64_t per = (total + params->nth - 1) / params->nth;
        int64_t g = per * params->ith;
        const int64_t g1 = g + per < total ? g + per : total;
        while (g < g1) {
            const int64_t u = g / nblk, b0 = g % nblk;
            const int64_t b1 = nblk - b0 < g1 - g ? nblk : b0 + (g1 - g);
            const int64_t batch = u / N, i11 = u % N;
            const char * brow = (const char *) b->data + i11 * b->nb[1] + (batch % b->ne[2]) * b->nb[2] + (batch / b->ne[2]) * b->nb[3];
            const float * x = (const float *) brow + b0 * vblck;
            if (b->nb[0] != sizeof(float)) {
                for (int64_t k = b0 * vblck; k < b1 * vblck; k++) tmp[k - b0 * vblck] = *(const float *) (brow + k * b->nb[0]);
                x = tmp;
            }
            quantize(x, qb + (size_t) u * qrow + (size_t) b0 * ggml_type_size(vt), (b1 - b0) * vblck);
            g += b1 - b0;
        }
    }
    // units of (batch, run of rows of A), claimed from a shared counter so that a thread the OS
    // holds back leaves its share to the others; enough units for that, few enough that
    // claiming costs nothing beside a unit's dot products
    int64_t run = (M + 4 * params->nth - 1) / (4 * params->nth);
    run = run > MM_Q_RUN ? MM_Q_RUN : run < 4 ? 4 : (run + 3) / 4 * 4;
    const int64_t n_runs = (M + run - 1) / run;
    const int64_t n_units = n_batch * n_runs;
    if (params->ith == 0) {
        atomic_store(counter, params->nth);
    }
    cpu_op_barrier(params);

    // 2. outputs
    const int64_t r2 = b->ne[2] / a->ne[2], r3 = b->ne[3] / a->ne[3];
    float out[MM_Q_RUN];
    for (int64_t u = params->ith; u < n_units; u = atomic_fetch_add(counter, 1)) {
        const int64_t batch = u / n_runs, i0 = (u % n_runs) * run;
        const int nr = (int) (M - i0 < run ? M - i0 : run);
        const int64_t i12 = batch % b->ne[2], i13 = batch / b->ne[2];
        const char * arow = (const char *) a->data + i0 * a->nb[1] + (i12 / r2) * a->nb[2] + (i13 / r3) * a->nb[3];
        for (int64_t i11 = 0; i11 < N; i11++) {
            const char * q = qb + (size_t) (batch * N + i11) * qrow;
            if (gemv != NULL) {
                gemv((int) KK, out, arow, a->nb[1], nr, q);
            } else {
                for (int r = 0; r < nr; r++) dot((int) KK, &out[r], 0, arow + r * a->nb[1], 0, q, 0, 1);
            }
            char * d = (char *) dst->data + i0 * dst->nb[0] + i11 * dst->nb[1] + i12 * dst->nb[2] + i13 * dst->nb[3];
            for (int r = 0; r < nr; r++) *(float *) (d + r * dst->nb[0]) = out[r];
        }
    }
}

static void mm_pack_b(const struct ggml_tensor * b, int64_t i11_0, int64_t i12, int64_t i13, int nr, int64_t KK, float * panel) {
    for (int j = 0; j < nr; j++) {
        const int64_t i11 = i11_0 + j;
        if (i11 >= b->ne[1]) {
            for (int64_t k = 0; k < KK; k++) {
                panel[k * nr + j] = 0.0f;
            }
            continue;
        }
        const char * row = (const char *) b->data + i11 * b->nb[1] + i12 * b->nb[2] + i13 * b->nb[3];
        const size_t nb0 = b->nb[0];
        switch (b->type) {
            case GGML_TYPE_F32:
                if (nb0 == sizeof(float)) {
                    const float * r = (const float *) row;
                    for (int64_t k = 0; k < KK; k++) {
                        panel[k * nr + j] = r[k];
                    }
                } else {
                    for (int64_t k = 0; k < KK; k++) {
                        panel[k * nr + j] = *(const float *) (row + k * nb0);
                    }
                }
                break;
            case GGML_TYPE_F16:
                for (int64_t k = 0; k < KK; k++) {
                    panel[k * nr + j] = ggml_fp16_to_fp32(*(const ggml_fp16_t *) (row + k * nb0));
                }
                break;
            default:
                for (int64_t k = 0; k < KK; k++) {
                    panel[k * nr + j] = ggml_bf16_to_fp32(*(const ggml_bf16_t *) (row + k * nb0));
                }
                break;
        }
    }
}

static void mm_pack_a(const struct cpu_kernels * K, const struct ggml_tensor * a, const char * base, int rows, int64_t kc,
                      float * panel, float * deq) {
    const size_t ts = ggml_type_size(a->type);
    const int mr = K->gemm_mr;
    if (ggml_is_quantized(a->type)) {
        // base points at block pc / blck of the first row; kc is a whole number of blocks
        const ggml_to_float_t to_float = ggml_get_type_traits(a->type)->to_float;
        for (int r = 0; r < rows; r++) {
            to_float(base + r * a->nb[1], deq + (size_t) r * kc, kc);
        }
        K->pack_a_f32(deq, kc, rows, kc, panel);
        return;
    }
    if (a->nb[0] == ts && a->nb[1] % ts == 0) {
        const int64_t stride = (int64_t) (a->nb[1] / ts);
        switch (a->type) {
            case GGML_TYPE_F32: K->pack_a_f32((const float *) base, stride, rows, kc, panel); return;
            case GGML_TYPE_F16: K->pack_a_f16((const ggml_fp16_t *) base, stride, rows, kc, panel); return;
            default:            K->pack_a_bf16((const ggml_bf16_t *) base, stride, rows, kc, panel); return;
        }
    }
    // transposed or otherwise strided weights: element by element
    for (int r = 0; r < mr; r++) {
        for (int64_t k = 0; k < kc; k++) {
            float v = 0.0f;
            if (r < rows) {
                const char * p = base + r * a->nb[1] + k * a->nb[0];
                switch (a->type) {
                    case GGML_TYPE_F32: v = *(const float *) p; break;
                    case GGML_TYPE_F16: v = ggml_fp16_to_fp32(*(const ggml_fp16_t *) p); break;
                    default:            v = ggml_bf16_to_fp32(*(const ggml_bf16_t *) p); break;
                }
            }
            panel[k * mr + r] = v;
        }
    }
}

void cpu_mul_mat_compute(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    if (mm_small(dst) && ggml_is_quantized(dst->src[0]->type)) {
        mm_q_compute_small(params, dst);
        return;
    }
    if (mm_small(dst)) {
        mm_compute_small(params, dst);
        return;
    }
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * a = dst->src[0];
    const struct ggml_tensor * b = dst->src[1];
    const int mr = K->gemm_mr, nr = K->gemm_nr;
    struct mm_layout L = mm_layout_of(dst, nr);
    float * w = params->wdata;
    atomic_int * counter = (atomic_int *) (w + L.counter_off);
    float * packed_b = w + L.packed_b_off;
    float * apanels = w + L.per_thread_off + (size_t) params->ith * L.per_thread;
    float * edge = apanels + (size_t) MM_GROUP * CPU_GEMM_MR_MAX * MM_KC;
    float * deq = edge + CPU_GEMM_MR_MAX * CPU_GEMM_NR_MAX; // quantized weights only
    const int64_t a_blck = ggml_blck_size(a->type);
    const int64_t KK = L.K, M = L.M, N = L.N;
    const size_t panel_floats = (size_t) KK * nr;

    // 1. pack B
    {
        const int64_t total = L.n_batch * L.np;
        int64_t per = (total + params->nth - 1) / params->nth;
        int64_t u0 = per * params->ith, u1 = u0 + per < total ? u0 + per : total;
        for (int64_t u = u0; u < u1; u++) {
            const int64_t batch = u / L.np, p = u % L.np;
            mm_pack_b(b, p * nr, batch % b->ne[2], batch / b->ne[2], nr, KK, packed_b + (size_t) u * panel_floats);
        }
    }
    const int64_t n_pm = (M + mr - 1) / mr;
    const int64_t n_mg = (n_pm + MM_GROUP - 1) / MM_GROUP;
    const int64_t n_units = L.n_batch * n_mg;
    if (params->ith == 0) {
        atomic_store(counter, params->nth);
    }
    cpu_op_barrier(params);

    // 2. units of (batch, group of A panels), claimed from the counter
    const int64_t r2 = b->ne[2] / a->ne[2], r3 = b->ne[3] / a->ne[3];
    const int64_t ldc = (int64_t) (dst->nb[1] / sizeof(float));
    for (int64_t u = params->ith; u < n_units; u = atomic_fetch_add(counter, 1)) {
        const int64_t batch = u / n_mg, mg = u % n_mg;
        const int64_t i12 = batch % b->ne[2], i13 = batch / b->ne[2];
        const char * abase = (const char *) a->data + (i12 / r2) * a->nb[2] + (i13 / r3) * a->nb[3];
        char * cbase = (char *) dst->data + i12 * dst->nb[2] + i13 * dst->nb[3];
        const float * bp = packed_b + (size_t) batch * L.np * panel_floats;
        const int64_t ip0 = mg * MM_GROUP, ip1 = ip0 + MM_GROUP < n_pm ? ip0 + MM_GROUP : n_pm;
        if (KK == 0) {
            for (int64_t j = 0; j < N; j++) {
                for (int64_t i = ip0 * mr; i < M && i < ip1 * mr; i++) {
                    ((float *) (cbase + j * dst->nb[1]))[i] = 0.0f;
                }
            }
            continue;
        }
        for (int64_t pc = 0; pc < KK; pc += MM_KC) {
            const int64_t kc = KK - pc < MM_KC ? KK - pc : MM_KC;
            for (int64_t ip = ip0; ip < ip1; ip++) {
                const int64_t i0 = ip * mr;
                const int rows = M - i0 < mr ? (int) (M - i0) : mr;
                mm_pack_a(K, a, abase + i0 * a->nb[1] + (pc / a_blck) * a->nb[0], rows, kc,
                          apanels + (size_t) (ip - ip0) * mr * MM_KC, deq);
            }
            for (int64_t p = 0; p < L.np; p++) {
                const int64_t j0 = p * nr;
                const int cols = N - j0 < nr ? (int) (N - j0) : nr;
                const float * bpanel = bp + (size_t) p * panel_floats + (size_t) pc * nr;
                for (int64_t ip = ip0; ip < ip1; ip++) {
                    const int64_t i0 = ip * mr;
                    const int rows = M - i0 < mr ? (int) (M - i0) : mr;
                    const float * apanel = apanels + (size_t) (ip - ip0) * mr * MM_KC;
                    float * c = (float *) (cbase + j0 * dst->nb[1]) + i0;
                    if (rows == mr && cols == nr) {
                        K->gemm_tile(kc, apanel, bpanel, c, ldc, pc > 0);
                    } else {
                        if (pc > 0) {
                            for (int j = 0; j < cols; j++) {
                                memcpy(edge + j * mr, c + j * ldc, (size_t) rows * sizeof(float));
                            }
                        }
                        K->gemm_tile(kc, apanel, bpanel, edge, mr, pc > 0);
                        for (int j = 0; j < cols; j++) {
                            memcpy(c + j * ldc, edge + j * mr, (size_t) rows * sizeof(float));
                        }
                    }
                }
            }
        }
    }
}
