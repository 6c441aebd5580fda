//
// flash-attn.c — FLASH_ATTN_EXT on the CPU: out = softmax(scale * Q K^T + slope * mask) V per
// head, with ggml's extras (ALiBi slopes, tanh softcap, per-head sinks, GQA broadcast of K/V
// heads, mask broadcast over heads and batches).
//
// Flash attention works per (head, batch) unit: the unit's K and V are converted to f32 once and
// packed into the matrix-multiply micro-kernel's panels (K as keys x D, V transposed as D x keys),
// so both halves of attention run on the gemm tile of the ISA table: scores for a block of nr
// queries against mr keys at a time, then the output from the probabilities the same way. With
// every score of a query block known before any exp, softmax needs no online rescaling: one max,
// one vector exp-and-sum, one division per row. A causal mask ends each block at its last visible
// key, so the masked half of a causal attention is not computed. Units are spread over the
// threads; when there are fewer units than threads, a unit's queries are split instead.
//

#include "flash-attn.h"
#include "ops-impl.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "align.h"

#define FA_SLACK 64

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

// The per-thread scratch of flash attention, in floats, laid out by fa_layout.
struct fa_layout {
    int64_t kv_pad, dv_pad;   // n_kv and Dv rounded up to the micro-kernel's mr
    size_t  kpanel, vpanel;   // packed K (kv_pad x D) and V^T (dv_pad x n_kv) panels
    size_t  rows;             // one converted K or V row
    size_t  qb;               // nr queries, packed k-major
    size_t  sc;               // scores of nr queries [nr][kv_pad]
    size_t  pb;               // probabilities packed k-major [kv_pad][nr]
    size_t  ob;               // output tile [nr][dv_pad]
    size_t  mk;               // mask rows [nr][n_kv]
    size_t  vis;              // whether any query sees each key [n_kv] (0 / 1)
    size_t  total;
};

static struct fa_layout fa_layout_of(const struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct fa_shape s = fa_shape_of(dst);
    const int64_t mr = K->gemm_mr, nr = K->gemm_nr;
    struct fa_layout l;
    l.kv_pad = gga_round_up(s.n_kv > 0 ? s.n_kv : 1, mr);
    l.dv_pad = gga_round_up(s.Dv, mr);
    size_t off = 0;
    l.kpanel = off; off += (size_t) (l.kv_pad * s.D) + FA_SLACK;
    l.vpanel = off; off += (size_t) (l.dv_pad * l.kv_pad) + FA_SLACK;
    l.rows   = off; off += (size_t) (s.n_kv * (s.D > s.Dv ? s.D : s.Dv)) + FA_SLACK;
    l.qb     = off; off += (size_t) (s.D * nr) + FA_SLACK;
    l.sc     = off; off += (size_t) (nr * l.kv_pad) + FA_SLACK;
    l.pb     = off; off += (size_t) (l.kv_pad * nr) + FA_SLACK;
    l.ob     = off; off += (size_t) (nr * l.dv_pad) + FA_SLACK;
    l.mk     = off; off += (size_t) (nr * s.n_kv) + FA_SLACK;
    l.vis    = off; off += (size_t) s.n_kv + FA_SLACK;
    l.total  = off;
    return l;
}

size_t cpu_flash_attn_work_size(const struct ggml_tensor * node, int nth) {
    return (size_t) nth * fa_layout_of(node).total * sizeof(float);
}

// Converts the K and V of one (kv head, batch) to f32 and packs them into micro-kernel panels:
// K as the a-operand of scores (keys x D), V^T as the a-operand of the output (Dv x keys).
// Keys the mask hides from every query of these heads are packed as zeros: a KV cache's unused
// slots may hold anything (NaN included), and the product with their zero weights must stay 0,
// as ggml, which skips such keys, never reads them.
static void fa_pack_kv(const struct cpu_kernels * K, const struct ggml_tensor * k, const struct ggml_tensor * v,
        const struct ggml_tensor * mask, const struct fa_shape * s, const struct fa_layout * l, float * base,
        int64_t ihk, int64_t i3) {
    const int64_t mr = K->gemm_mr;
    float * rows = base + l->rows;
    float * vis = base + l->vis;
    for (int64_t j = 0; j < s->n_kv; j++) {
        vis[j] = mask == NULL ? 1.0f : 0.0f;
    }
    if (mask != NULL) {
        const int64_t group = s->n_head / s->n_head_kv;
        for (int64_t ih = ihk * group; ih < (ihk + 1) * group; ih++) {
            for (int64_t iq = 0; iq < s->n_q; iq++) {
                const char * mr_row = cpu_ptr(mask, 0, iq, ih % mask->ne[2], i3 % mask->ne[3]);
                for (int64_t j = 0; j < s->n_kv; j++) {
                    if (vis[j] == 0.0f && cpu_get_f32(mask->type, mr_row + j * mask->nb[0]) != -INFINITY) {
                        vis[j] = 1.0f;
                    }
                }
            }
        }
    }
    for (int64_t j = 0; j < s->n_kv; j++) {
        if (vis[j] == 0.0f) {
            memset(rows + j * s->D, 0, (size_t) s->D * sizeof(float));
            continue;
        }
        const float * kr = cpu_load_f32(K, k->type, cpu_ptr(k, 0, j, ihk, i3), k->nb[0], s->D, rows + j * s->D);
        if (kr != rows + j * s->D) {
            memcpy(rows + j * s->D, kr, (size_t) s->D * sizeof(float));
        }
    }
    for (int64_t j0 = 0; j0 < l->kv_pad; j0 += mr) {
        const int64_t n = s->n_kv - j0 < mr ? s->n_kv - j0 : mr;
        K->pack_a_f32(rows + j0 * s->D, s->D, (int) (n > 0 ? n : 0), s->D, base + l->kpanel + j0 * s->D);
    }
    // V transposed: row d holds V[.][d] over the keys (rows is reused: it is free again)
    float * vt = rows;
    for (int64_t j = 0; j < s->n_kv; j++) {
        const float * vr = cpu_load_f32(K, v->type, cpu_ptr(v, 0, j, ihk, i3), v->nb[0], s->Dv, base + l->ob);
        for (int64_t d = 0; d < s->Dv; d++) {
            vt[d * s->n_kv + j] = vis[j] != 0.0f ? vr[d] : 0.0f;
        }
    }
    for (int64_t d0 = 0; d0 < l->dv_pad; d0 += mr) {
        const int64_t n = s->Dv - d0 < mr ? s->Dv - d0 : mr;
        float * panel = base + l->vpanel + d0 * l->kv_pad;
        K->pack_a_f32(vt + d0 * s->n_kv, s->n_kv, (int) n, s->n_kv, panel);
        // the keys past n_kv up to kv_pad are read by the output product (with zero weights):
        // zeros there, not what the scratch held before
        memset(panel + s->n_kv * mr, 0, (size_t) ((l->kv_pad - s->n_kv) * mr) * sizeof(float));
    }
}

void cpu_flash_attn_compute(const struct cpu_compute_params * params, struct ggml_tensor * dst) {
    const struct cpu_kernels * K = cpu_kernels_get();
    const struct ggml_tensor * q = dst->src[0], * k = dst->src[1], * v = dst->src[2];
    const struct ggml_tensor * mask = dst->src[3], * sinks = dst->src[4];
    const struct fa_shape s = fa_shape_of(dst);
    const struct fa_layout l = fa_layout_of(dst);
    const int64_t mr = K->gemm_mr, nr = K->gemm_nr;
    float scale = cpu_param_f32(dst, 0);
    const float max_bias = cpu_param_f32(dst, 1), softcap = cpu_param_f32(dst, 2);
    if (softcap != 0.0f) {
        scale /= softcap;
    }
    const uint32_t n_head = (uint32_t) s.n_head;
    const uint32_t n_head_log2 = n_head > 0 ? 1u << (uint32_t) floor(log2((double) n_head)) : 1;
    const float m0 = powf(2.0f, -(max_bias)        / (float) n_head_log2);
    const float m1 = powf(2.0f, -(max_bias / 2.0f) / (float) n_head_log2);

    float * base = (float *) params->wdata + (size_t) params->ith * l.total;
    float * qb = base + l.qb, * sc = base + l.sc, * pb = base + l.pb, * ob = base + l.ob, * mk = base + l.mk;
    float inv[CPU_GEMM_NR_MAX];
    int64_t n_vis[CPU_GEMM_NR_MAX];

    // units are (head, batch); split queries when units are fewer than threads
    const int64_t n_units = s.n_head * s.ne3;
    const int64_t q_parts = n_units >= params->nth ? 1 : (params->nth + n_units - 1) / n_units;
    int64_t w0, w1;
    cpu_split(params, n_units * q_parts, &w0, &w1);
    int64_t have_kv = -1; // which (kv head, batch) is packed
    for (int64_t w = w0; w < w1; w++) {
        const int64_t unit = w / q_parts, part = w % q_parts;
        const int64_t ih = unit % s.n_head, i3 = unit / s.n_head;
        const int64_t ihk = ih / (s.n_head / s.n_head_kv);
        const int64_t per = (s.n_q + q_parts - 1) / q_parts;
        const int64_t q0 = part * per, q1 = q0 + per < s.n_q ? q0 + per : s.n_q;
        if (q0 >= q1) {
            continue;
        }
        if (have_kv != ihk + s.n_head_kv * i3) {
            fa_pack_kv(K, k, v, mask, &s, &l, base, ihk, i3);
            have_kv = ihk + s.n_head_kv * i3;
        }
        const uint32_t h = (uint32_t) ih;
        const float slope = max_bias > 0.0f
            ? (h < n_head_log2 ? powf(m0, (float) (h + 1)) : powf(m1, (float) (2 * (h - n_head_log2) + 1))) : 1.0f;
        const float sink = sinks != NULL ? *(const float *) cpu_ptr(sinks, ih, 0, 0, 0) : -INFINITY;
        for (int64_t qs = q0; qs < q1; qs += nr) {
            const int64_t nq = q1 - qs < nr ? q1 - qs : nr;
            // queries, packed k-major and pre-scaled; mask rows and how far each row sees
            memset(qb, 0, (size_t) (s.D * nr) * sizeof(float));
            int64_t n_end = 0;
            for (int64_t j = 0; j < nq; j++) {
                const float * qr = cpu_load_f32(K, q->type, cpu_ptr(q, 0, qs + j, ih, i3), q->nb[0], s.D, ob);
                for (int64_t d = 0; d < s.D; d++) {
                    qb[d * nr + j] = qr[d] * scale;
                }
                n_vis[j] = s.n_kv;
                if (mask != NULL) {
                    const float * m = cpu_load_f32(K, mask->type, cpu_ptr(mask, 0, qs + j, ih % mask->ne[2], i3 % mask->ne[3]),
                            mask->nb[0], s.n_kv, mk + j * s.n_kv);
                    if (m != mk + j * s.n_kv) {
                        memcpy(mk + j * s.n_kv, m, (size_t) s.n_kv * sizeof(float));
                    }
                    while (n_vis[j] > 0 && mk[j * s.n_kv + n_vis[j] - 1] == -INFINITY) {
                        n_vis[j]--;
                    }
                }
                n_end = n_vis[j] > n_end ? n_vis[j] : n_end;
            }
            const int64_t kc_end = gga_round_up(n_end > 0 ? n_end : 1, mr);
            // scores: sc[j][i] = k_i . (scale q_j), a tile of mr keys by nr queries at a time
            for (int64_t i0 = 0; i0 < kc_end; i0 += mr) {
                K->gemm_tile(s.D, base + l.kpanel + i0 * s.D, qb, sc + i0, l.kv_pad, false);
            }
            // softmax per query row, written k-major into pb for the second product
            for (int64_t j = 0; j < nq; j++) {
                float * row = sc + j * l.kv_pad;
                const float * m = mask != NULL ? mk + j * s.n_kv : NULL;
                float mx = sink;
                for (int64_t i = 0; i < n_vis[j]; i++) {
                    float x = row[i];
                    if (softcap != 0.0f) {
                        x = softcap * tanhf(x);
                    }
                    if (m != NULL) {
                        x = m[i] == -INFINITY ? -INFINITY : x + slope * m[i];
                    }
                    row[i] = x;
                    mx = x > mx ? x : mx;
                }
                double sum = 0.0;
                if (mx == -INFINITY) {
                    inv[j] = 0.0f; // nothing visible: 0 (as ggml), not NaN
                    memset(row, 0, (size_t) n_vis[j] * sizeof(float));
                } else {
                    if (n_vis[j] > 0) {
                        sum = K->exp_sum_f32(n_vis[j], row, row, mx);
                    }
                    if (sinks != NULL) {
                        sum += exp((double) sink - (double) mx);
                    }
                    inv[j] = sum > 0.0 ? (float) (1.0 / sum) : 0.0f;
                }
                for (int64_t i = 0; i < kc_end; i++) {
                    pb[i * nr + j] = i < n_vis[j] && (m == NULL || m[i] != -INFINITY) ? row[i] : 0.0f;
                }
            }
            for (int64_t j = nq; j < nr; j++) {
                for (int64_t i = 0; i < kc_end; i++) {
                    pb[i * nr + j] = 0.0f;
                }
            }
            // output: ob[j][d] = sum_i V[i][d] p_j[i], mr values of d by nr queries at a time
            for (int64_t d0 = 0; d0 < l.dv_pad; d0 += mr) {
                K->gemm_tile(kc_end, base + l.vpanel + d0 * l.kv_pad, pb, ob + d0, l.dv_pad, false);
            }
            for (int64_t j = 0; j < nq; j++) {
                float * o = (float *) cpu_ptr(dst, 0, ih, qs + j, i3);
                K->scale_f32(s.Dv, o, ob + j * l.dv_pad, inv[j]);
            }
        }
    }
}
