//
// flash-attn.c — FLASH_ATTN_EXT on the CPU: out = softmax(scale * Q K^T + slope * mask) V per
// head, with ggml's extras (ALiBi slopes, tanh softcap, per-head sinks, GQA broadcast of K/V
// heads, mask broadcast over heads and batches).
//
// The work is cut into blocks of nr queries (the micro-kernel's nr) of one (head, batch), and
// the keys into tiles of mr (its mr). For each (kv head, batch) a thread converts K and V to f32
// once and packs them into the micro-kernel's a-operand panels: K as tiles of mr keys x D, V as
// its own rows cut into strips of mr values of d (keys x mr), so neither needs a transpose.
// A block then runs as two small GEMMs around a softmax:
//
// 1. Which key tiles a block sees. Before the threads meet, they read the mask once, row by
//    row as stored (the bits of f16 -inf, not converted values), into a bitmap per mask row:
//    one bit per group of 16 keys that the row does not hide entirely. A block's visible tiles
//    are the union of its rows' bits; a tile hidden from every query of the block is skipped.
//    This comes from the mask values themselves, never from an assumption of causality, so any
//    pattern (causal, sliding window, padding, holes) skips exactly what it hides: for a
//    causal 512 x 512 mask about half the work. Only the span of visible tiles of the block's
//    mask rows is then converted to f32.
// 2. Scores: the micro-kernel multiplies each visible K tile by the block's queries (packed
//    k-major and pre-scaled), giving an mr x nr tile of q.k per call. Hidden tiles between the
//    first and last visible one are filled with -inf.
// 3. Softmax per query row over the span of visible tiles: the tanh softcap when one is set,
//    then attn_softmax_f32 of the ISA table (mask times the ALiBi slope added, the max taken
//    with the sink's score, exp in SIMD; -inf gives exactly 0). With every score of the block's
//    rows at hand, no online rescaling is needed: one max, one exp-and-sum, one scale of the
//    output per row.
// 4. The probabilities are packed k-major (pack_b_f32) and the output is the micro-kernel again,
//    V strips by probabilities, over each run of visible tiles (later runs accumulate), then
//    scaled by 1 / sum into dst.
//
// Everything is computed in f32, so either precision setting gets f32 accuracy.
//
// Non-finite K or V rows (a KV cache's unused slots may hold NaN) are packed as zeros and
// listed, so they never reach a query the mask hides them from, and a query that does see one
// gets NaN, as it would by computing with it. Padding keys of the last tile are zeros, never
// old scratch.
//
// Threads claim work from a shared counter (a thread the OS holds back leaves its share to the
// others): whole (head, batch) units when there are at least two per thread, each kv head then
// packed once per thread and head group; with fewer units, single query blocks, the last first,
// since under a causal mask they are the longest, so the short ones fill in at the end.
//

#include "flash-attn.h"
#include "ops-impl.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "align.h"

#define FA_SLACK  64
#define FA_GROUP  16 // keys per visibility bit: every table's mr is a multiple of it

static bool fa_float(const struct ggml_tensor * t) {
    return t != NULL && cpu_type_is_float(t->type);
}

bool cpu_flash_attn_supported(const struct ggml_tensor * node) {
    const struct ggml_tensor * q = node->src[0], * k = node->src[1], * v = node->src[2];
    const struct ggml_tensor * mask = node->src[3], * sinks = node->src[4];
    if (!fa_float(q) || !fa_float(k) || !fa_float(v) || node->type != GGML_TYPE_F32 || node->nb[0] != sizeof(float)) {
        return false;
    }
    if (k->ne[0] != q->ne[0] || v->ne[1] != k->ne[1] || k->ne[2] == 0 || q->ne[2] % k->ne[2] != 0 ||
        v->ne[2] != k->ne[2] || k->ne[3] != q->ne[3] || v->ne[3] != q->ne[3] || node->ne[0] != v->ne[0] ||
        node->ne[1] != q->ne[2] || node->ne[2] != q->ne[1] || node->ne[3] != q->ne[3]) {
        return false;
    }
    if (mask != NULL && (!fa_float(mask) || mask->ne[0] != k->ne[1] || mask->ne[1] < q->ne[1] ||
                         q->ne[2] % mask->ne[2] != 0 || q->ne[3] % mask->ne[3] != 0)) {
        return false;
    }
    return sinks == NULL || (sinks->type == GGML_TYPE_F32 && sinks->ne[0] >= q->ne[2]);
}

struct fa_shape {
    int64_t D, Dv, n_kv, n_q, n_head, n_head_kv, ne3;
};

static struct fa_shape fa_shape_of(const struct ggml_tensor * dst) {
    const struct ggml_tensor * q = dst->src[0], * k = dst->src[1], * v = dst->src[2];
    return (struct fa_shape) { q->ne[0], v->ne[0], k->ne[1], q->ne[1], q->ne[2], k->ne[2], q->ne[3] };
}

// The per-thread scratch, in floats. Sized for the largest micro-kernel of any table (mr and nr
// at their maxima, every table's mr dividing CPU_GEMM_MR_MAX), so the layout does not depend on
// the table in use: a table switch between planning and compute cannot overrun it.
struct fa_layout {
    int64_t kv_pad, dv_pad;   // n_kv and Dv rounded up to CPU_GEMM_MR_MAX
    size_t  kpanel, vpanel;   // packed K (kv_pad x D, mr keys per panel), V (dv_pad / mr panels of kv_pad x mr)
    size_t  stage;            // mr K rows and mr V rows converted to f32
    size_t  bad;              // int32: the keys whose K or V row is not finite
    size_t  qrow;             // nr query rows as f32, scaled
    size_t  qb;               // nr queries, packed k-major
    size_t  sc;               // scores of nr queries [nr][kv_pad]
    size_t  pb;               // probabilities packed k-major [kv_pad][nr]
    size_t  ob;               // output tile [nr][dv_pad]
    size_t  mk;               // mask rows as f32 [nr][n_kv]
    size_t  tiles;            // uint8: whether any query of the block sees a tile of mr keys
    size_t  total;
    // shared by the threads, before their scratch: the work counter, then per mask row
    // (n_q rows of each mask slice) a bitmap of which groups of FA_GROUP keys it sees
    int64_t words;            // uint64 words per mask row
    size_t  bits;             // floats to the bitmaps
    size_t  shared;           // floats of the shared part
};

static struct fa_layout fa_layout_of(const struct ggml_tensor * dst) {
    const struct fa_shape s = fa_shape_of(dst);
    const int64_t mr = CPU_GEMM_MR_MAX, nr = CPU_GEMM_NR_MAX;
    struct fa_layout l;
    l.kv_pad = gga_round_up(s.n_kv > 0 ? s.n_kv : 1, mr);
    l.dv_pad = gga_round_up(s.Dv > 0 ? s.Dv : 1, mr);
    size_t off = 0;
    l.kpanel = off; off += (size_t) (l.kv_pad * s.D) + FA_SLACK;
    l.vpanel = off; off += (size_t) (l.dv_pad * l.kv_pad) + FA_SLACK;
    l.stage  = off; off += (size_t) (mr * (s.D + s.Dv)) + FA_SLACK;
    l.bad    = off; off += (size_t) l.kv_pad + FA_SLACK;
    l.qrow   = off; off += (size_t) (nr * s.D) + FA_SLACK;
    l.qb     = off; off += (size_t) (s.D * nr) + FA_SLACK;
    l.sc     = off; off += (size_t) (nr * l.kv_pad) + FA_SLACK;
    l.pb     = off; off += (size_t) (l.kv_pad * nr) + FA_SLACK;
    l.ob     = off; off += (size_t) (nr * l.dv_pad) + FA_SLACK;
    l.mk     = off; off += (size_t) (nr * s.n_kv) + FA_SLACK;
    l.tiles  = off; off += (size_t) l.kv_pad / sizeof(float) + FA_SLACK;
    l.total  = (size_t) gga_round_up((int64_t) off, 16); // each thread's scratch on 64 bytes
    const struct ggml_tensor * mask = dst->src[3];
    const int64_t n_rows = mask != NULL ? s.n_q * mask->ne[2] * mask->ne[3] : 0;
    l.words  = (l.kv_pad / FA_GROUP + 63) / 64;
    l.bits   = 16;
    l.shared = (size_t) gga_round_up((int64_t) l.bits + n_rows * l.words * 2 + FA_SLACK, 16);
    return l;
}

size_t cpu_flash_attn_work_size(const struct ggml_tensor * node, int nth) {
    const struct fa_layout l = fa_layout_of(node);
    return (l.shared + (size_t) nth * l.total) * sizeof(float);
}

// true if every value is finite (no exponent of all ones); written with integer operations so
// that the compiler vectorises it.
static bool fa_finite(const float * x, int64_t n) {
    uint32_t bad = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t b;
        memcpy(&b, x + i, sizeof(b));
        bad |= (b & 0x7f800000u) == 0x7f800000u;
    }
    return bad == 0;
}

// Converts the K and V of one (kv head, batch) to f32 and packs them into micro-kernel panels:
// K as the a-operand of the scores (mr keys x D per panel), V as the a-operand of the output
// (for each mr values of d, the keys in order, mr floats each: V's own rows, so no transpose).
// Keys up to the tile boundary past n_kv are zeros. A key whose K or V row holds a NaN or an
// infinity (a KV cache's unused slot may hold anything) is packed as zeros and listed in bad,
// so it cannot reach a query that does not see it; returns how many there are.
static int64_t fa_pack_kv(const struct cpu_kernels * K, const struct ggml_tensor * k, const struct ggml_tensor * v,
        const struct fa_shape * s, const struct fa_layout * l, float * base, int64_t ihk, int64_t i3) {
    const int64_t mr = K->gemm_mr;
    const int64_t D = s->D, Dv = s->Dv;
    float * kst = base + l->stage, * vst = kst + mr * D;
    int32_t * bad = (int32_t *) (base + l->bad);
    int64_t n_bad = 0;
    const int64_t kv_end = gga_round_up(s->n_kv, mr);
    for (int64_t j0 = 0; j0 < kv_end; j0 += mr) {
        const int64_t n = s->n_kv - j0 < mr ? s->n_kv - j0 : mr;
        for (int64_t r = 0; r < n; r++) {
            const int64_t j = j0 + r;
            float * kr = kst + r * D, * vr = vst + r * Dv;
            const float * kx = cpu_load_f32(K, k->type, cpu_ptr(k, 0, j, ihk, i3), k->nb[0], D, kr);
            if (kx != kr) {
                memcpy(kr, kx, (size_t) D * sizeof(float));
            }
            const float * vx = cpu_load_f32(K, v->type, cpu_ptr(v, 0, j, ihk, i3), v->nb[0], Dv, vr);
            if (vx != vr) {
                memcpy(vr, vx, (size_t) Dv * sizeof(float));
            }
            if (!fa_finite(kr, D) || !fa_finite(vr, Dv)) {
                memset(kr, 0, (size_t) D * sizeof(float));
                memset(vr, 0, (size_t) Dv * sizeof(float));
                bad[n_bad++] = (int32_t) j;
            }
        }
        K->pack_a_f32(kst, D, (int) n, D, base + l->kpanel + j0 * D);
        for (int64_t d0 = 0; d0 < Dv; d0 += mr) {
            const int64_t nd = Dv - d0 < mr ? Dv - d0 : mr;
            float * panel = base + l->vpanel + d0 * l->kv_pad + j0 * mr;
            for (int64_t r = 0; r < mr; r++) {
                if (r < n) {
                    memcpy(panel + r * mr, vst + r * Dv + d0, (size_t) nd * sizeof(float));
                    memset(panel + r * mr + nd, 0, (size_t) (mr - nd) * sizeof(float));
                } else {
                    memset(panel + r * mr, 0, (size_t) mr * sizeof(float));
                }
            }
        }
    }
    return n_bad;
}

// true if a mask row (as stored: f32, f16 or bf16, elements nb0 bytes apart) is not -inf
// somewhere in [i0, i1). Compares the stored bits, as converting a whole row first would cost
// more than the test.
static bool fa_any_visible(enum ggml_type type, const char * row, size_t nb0, int64_t i0, int64_t i1) {
    uint32_t seen = 0;
    if (nb0 != ggml_type_size(type)) {
        for (int64_t i = i0; i < i1; i++) {
            seen |= cpu_get_f32(type, row + i * nb0) != -INFINITY;
        }
    } else if (type == GGML_TYPE_F32) {
        const float * r = (const float *) row;
        for (int64_t i = i0; i < i1; i++) {
            seen |= r[i] != -INFINITY;
        }
    } else {
        const uint16_t ninf = type == GGML_TYPE_F16 ? 0xfc00 : 0xff80; // -inf in f16 / bf16
        const uint16_t * r = (const uint16_t *) row;
        for (int64_t i = i0; i < i1; i++) {
            seen |= r[i] != ninf;
        }
    }
    return seen != 0;
}

// What one block of queries needs besides the packed K and V.
struct fa_head {
    int64_t ih, i3;
    float   slope, sink;
};

// One block of nq (<= nr) queries of one head: scores tile by tile, softmax per row, output.
static void fa_block(const struct cpu_kernels * K, const struct ggml_tensor * dst, const struct fa_shape * s,
        const struct fa_layout * l, const uint64_t * bits, float * base, const struct fa_head * h, int64_t qs, int64_t nq,
        int64_t n_bad) {
    const struct ggml_tensor * q = dst->src[0], * mask = dst->src[3];
    const bool has_sink = dst->src[4] != NULL;
    const int64_t mr = K->gemm_mr, nr = K->gemm_nr, D = s->D, n_kv = s->n_kv, kv_pad = l->kv_pad;
    float scale = cpu_param_f32(dst, 0);
    const float softcap = cpu_param_f32(dst, 2);
    if (softcap != 0.0f) {
        scale /= softcap;
    }
    float * qb = base + l->qb, * sc = base + l->sc, * pb = base + l->pb, * ob = base + l->ob, * mk = base + l->mk;
    uint8_t * tiles = (uint8_t *) (base + l->tiles);
    const int32_t * bad = (const int32_t *) (base + l->bad);
    float inv[CPU_GEMM_NR_MAX];

    // queries, pre-scaled, then packed k-major
    float * qrows = base + l->qrow;
    for (int64_t j = 0; j < nq; j++) {
        const float * qr = cpu_load_f32(K, q->type, cpu_ptr(q, 0, qs + j, h->ih, h->i3), q->nb[0], D, qrows + j * D);
        K->scale_f32(D, qrows + j * D, qr, scale);
    }
    K->pack_b_f32(qrows, D, (int) nq, D, qb);
    // the next block's queries are read from memory while this block computes
    for (int64_t j = qs + nq; j < qs + 2 * nq && j < s->n_q; j++) {
        const char * p = cpu_ptr(q, 0, j, h->ih, h->i3);
        for (int64_t b = 0; b < D * (int64_t) q->nb[0]; b += 64) {
            __builtin_prefetch(p + b);
        }
    }
    // which tiles of mr keys any query of the block sees (the union of its rows' bitmaps): the
    // others are skipped, and only the span of visible tiles is converted to f32 below
    const char * mraw[CPU_GEMM_NR_MAX];
    const uint64_t * rbits[CPU_GEMM_NR_MAX];
    for (int64_t j = 0; mask != NULL && j < nq; j++) {
        const int64_t im2 = h->ih % mask->ne[2], im3 = h->i3 % mask->ne[3];
        mraw[j] = cpu_ptr(mask, 0, qs + j, im2, im3);
        rbits[j] = bits + ((im3 * mask->ne[2] + im2) * s->n_q + qs + j) * l->words;
    }
    const int64_t n_tiles = (n_kv + mr - 1) / mr, per = mr / FA_GROUP;
    int64_t t_first = -1, t_last = -1;
    for (int64_t t = 0; t < n_tiles; t++) {
        bool seen = mask == NULL;
        for (int64_t g = t * per; g < (t + 1) * per && !seen; g++) {
            uint64_t any = 0;
            for (int64_t j = 0; j < nq; j++) {
                any |= rbits[j][g / 64];
            }
            seen = (any >> (g % 64)) & 1;
        }
        tiles[t] = seen;
        if (seen) {
            t_first = t_first < 0 ? t : t_first;
            t_last = t;
        }
    }
    for (int64_t j = 0; j < nq; j++) {
        float * o = (float *) cpu_ptr(dst, 0, h->ih, qs + j, h->i3);
        if (t_first < 0) {
            memset(o, 0, (size_t) s->Dv * sizeof(float)); // nothing visible: 0 (as ggml), not NaN
        }
    }
    if (t_first < 0) {
        return;
    }
    const int64_t s0 = t_first * mr, s_end = (t_last + 1) * mr;
    const int64_t n = (s_end < n_kv ? s_end : n_kv) - s0;
    // the mask rows over the span as f32 (an f32 mask is read in place); mrow[j][i] is key s0 + i
    const float * mrow[CPU_GEMM_NR_MAX];
    for (int64_t j = 0; mask != NULL && j < nq; j++) {
        mrow[j] = cpu_load_f32(K, mask->type, mraw[j] + s0 * mask->nb[0], mask->nb[0], n, mk + j * n_kv);
    }
    // scores: sc[j][i] = k_i . (scale q_j), mr keys by nr queries a tile
    for (int64_t t = t_first; t <= t_last; t++) {
        if (tiles[t]) {
            K->gemm_tile(D, base + l->kpanel + t * mr * D, qb, sc + t * mr, kv_pad, false);
        } else {
            for (int64_t j = 0; j < nq; j++) {
                for (int64_t i = 0; i < mr; i++) {
                    sc[j * kv_pad + t * mr + i] = -INFINITY;
                }
            }
        }
    }
    // softmax numerators per query row, then packed k-major for the second product
    for (int64_t j = 0; j < nq; j++) {
        float * row = sc + j * kv_pad + s0;
        if (softcap != 0.0f) {
            for (int64_t i = 0; i < n; i++) {
                row[i] = softcap * tanhf(row[i]);
            }
        }
        float mx = h->sink;
        double sum = K->attn_softmax_f32(n, row, mask != NULL ? mrow[j] : NULL, h->slope, &mx);
        if (has_sink && mx != -INFINITY) {
            sum += exp((double) h->sink - (double) mx);
        }
        inv[j] = sum > 0.0 ? (float) (1.0 / sum) : 0.0f;
        // keys past n_kv in the last tile take no weight
        memset(row + n, 0, (size_t) (s_end - s0 - n) * sizeof(float));
    }
    K->pack_b_f32(sc + s0, kv_pad, (int) nq, s_end - s0, pb);
    // output: ob[j][d] = sum_i V[i][d] p_j[i], mr values of d by nr queries, over each run of
    // visible tiles
    for (int64_t d0 = 0; d0 < s->Dv; d0 += mr) {
        const float * vpanel = base + l->vpanel + d0 * kv_pad;
        bool first = true;
        for (int64_t t = t_first; t <= t_last;) {
            if (!tiles[t]) {
                t++;
                continue;
            }
            int64_t t1 = t;
            while (t1 <= t_last && tiles[t1]) {
                t1++;
            }
            K->gemm_tile((t1 - t) * mr, vpanel + t * mr * mr, pb + (t * mr - s0) * nr, ob + d0, l->dv_pad, !first);
            first = false;
            t = t1;
        }
    }
    for (int64_t j = 0; j < nq; j++) {
        float * o = (float *) cpu_ptr(dst, 0, h->ih, qs + j, h->i3);
        K->scale_f32(s->Dv, o, ob + j * l->dv_pad, inv[j]);
        // a key whose K or V is not finite makes the result of a query that sees it NaN
        for (int64_t b = 0; b < n_bad; b++) {
            // a key outside the span is hidden from the whole block
            if (mask == NULL || (bad[b] >= s0 && bad[b] < s0 + n && mrow[j][bad[b] - s0] != -INFINITY)) {
                for (int64_t d = 0; d < s->Dv; d++) {
                    o[d] = NAN;
                }
                break;
            }
        }
    }
}

void cpu_flash_attn_compute(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * k = dst->src[1], * v = dst->src[2], * sinks = dst->src[4];
    const struct fa_shape s = fa_shape_of(dst);
    const struct fa_layout l = fa_layout_of(dst);
    const int64_t nr = K->gemm_nr;
    const float max_bias = cpu_param_f32(dst, 1);
    const uint32_t n_head = (uint32_t) s.n_head;
    const uint32_t n_head_log2 = n_head > 0 ? 1u << (uint32_t) floor(log2((double) n_head)) : 1;
    const float m0 = powf(2.0f, -(max_bias)        / (float) n_head_log2);
    const float m1 = powf(2.0f, -(max_bias / 2.0f) / (float) n_head_log2);
    atomic_int * counter = (atomic_int *) params->wdata;
    uint64_t * bits = (uint64_t *) ((float *) params->wdata + l.bits);
    float * base = (float *) params->wdata + l.shared + (size_t) params->ith * l.total;

    // Work items are claimed from a shared counter, so a thread the OS holds back does not hold
    // up the node: whole (head, batch) units when there are at least two per thread, else
    // single query blocks, the last (under a causal mask the longest) first.
    const int64_t n_units = s.n_head * s.ne3, n_qb = (s.n_q + nr - 1) / nr;
    const bool whole_units = n_units >= 2 * (int64_t) params->nth;
    const int64_t n_items = whole_units ? n_units : n_units * n_qb;
    if (params->ith == 0) {
        atomic_store(counter, params->nth);
    }
    // the mask's bitmaps, its rows shared out: each row is read once here, not once per head
    // and block
    const struct ggml_tensor * mask = dst->src[3];
    if (mask != NULL) {
        int64_t r0, r1;
        cpu_split(params, s.n_q * mask->ne[2] * mask->ne[3], &r0, &r1);
        for (int64_t r = r0; r < r1; r++) {
            const int64_t iq = r % s.n_q, im2 = r / s.n_q % mask->ne[2], im3 = r / s.n_q / mask->ne[2];
            const char * row = cpu_ptr(mask, 0, iq, im2, im3);
            uint64_t * w = bits + r * l.words;
            memset(w, 0, (size_t) l.words * sizeof(uint64_t));
            for (int64_t g = 0; g * FA_GROUP < s.n_kv; g++) {
                const int64_t i0 = g * FA_GROUP, i1 = i0 + FA_GROUP < s.n_kv ? i0 + FA_GROUP : s.n_kv;
                if (fa_any_visible(mask->type, row, mask->nb[0], i0, i1)) {
                    w[g / 64] |= (uint64_t) 1 << (g % 64);
                }
            }
        }
    }
    cpu_op_barrier(params);
    int64_t have_kv = -1, n_bad = 0; // which (kv head, batch) is packed
    for (int64_t w = params->ith; w < n_items; w = atomic_fetch_add(counter, 1)) {
        const int64_t u = whole_units ? w : w / n_qb;
        const int64_t b0 = whole_units ? 0 : n_qb - 1 - w % n_qb, b1 = whole_units ? n_qb : b0 + 1;
        const int64_t ih = u % s.n_head, i3 = u / s.n_head;
        const int64_t ihk = ih / (s.n_head / s.n_head_kv);
        const uint32_t hh = (uint32_t) ih;
        const struct fa_head h = {
            .ih = ih, .i3 = i3,
            .slope = max_bias > 0.0f
                ? (hh < n_head_log2 ? powf(m0, (float) (hh + 1)) : powf(m1, (float) (2 * (hh - n_head_log2) + 1))) : 1.0f,
            .sink = sinks != NULL ? *(const float *) cpu_ptr(sinks, ih, 0, 0, 0) : -INFINITY,
        };
        if (have_kv != ihk + s.n_head_kv * i3) {
            n_bad = fa_pack_kv(K, k, v, &s, &l, base, ihk, i3);
            have_kv = ihk + s.n_head_kv * i3;
        }
        for (int64_t b = b0; b < b1; b++) {
            const int64_t qs = b * nr, nq = s.n_q - qs < nr ? s.n_q - qs : nr;
            fa_block(K, dst, &s, &l, bits, base, &h, qs, nq, n_bad);
        }
    }
}
