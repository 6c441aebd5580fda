#pragma once

// A GPT-2-style language model for the RPC tests and benchmark: token and position embeddings,
// per layer a norm, single-head causal attention and a GELU MLP with residuals, a final norm and
// the logits; random weights, each layer's on the device the caller chooses (for the
// scheduler to split the forward pass by where the weights are).

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"

#define GPT_MAX_LAYER 48

// The model's sizes (GPT-2 small: 50257, 1024, 768, 3072, 12).
struct gpt_dims {
    int n_vocab, n_ctx, n_embd, n_ff, n_layer;
};

struct gpt_layer {
    struct ggml_tensor * ln1_g, * ln1_b, * wq, * wk, * wv, * wo, * ln2_g, * ln2_b, * w1, * w2;
};

struct gpt_model {
    struct ggml_context * ctx[3];     // weights per device: 0 and 1 the servers, 2 the CPU
    ggml_backend_buffer_t buf[3];
    struct ggml_tensor *  wte, * wpe, * lnf_g, * lnf_b, * head;
    struct gpt_layer      layers[GPT_MAX_LAYER];
    struct gpt_dims       dims;
};

static inline void gpt_fill(float * v, size_t n, uint64_t seed, float scale) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = scale * ((float) ((seed >> 40) % 20001) / 10000.0f - 1.0f);
    }
}

static inline void gpt_set_random(struct ggml_tensor * t, uint64_t seed, float scale, float offset) {
    size_t n = (size_t) ggml_nelements(t);
    float * v = malloc(n * sizeof(float));
    gpt_fill(v, n, seed, scale);
    for (size_t i = 0; i < n; i++) {
        v[i] += offset;
    }
    ggml_backend_tensor_set(t, v, 0, n * sizeof(float));
    free(v);
}

// device[l] is where layer l's weights live (0, 1: the servers; 2: the CPU); bufts[d] the types.
// With fill false the weights get memory but no values (enough to plan).
static inline bool gpt_model_init(struct gpt_model * m, struct gpt_dims dims, ggml_backend_buffer_type_t * bufts,
        const int * device, bool fill) {
    memset(m, 0, sizeof(*m));
    m->dims = dims;
    const int N_VOCAB = dims.n_vocab, N_CTX = dims.n_ctx, N_EMBD = dims.n_embd, N_FF = dims.n_ff, N_LAYER = dims.n_layer;
    if (N_LAYER > GPT_MAX_LAYER) {
        return false;
    }
    for (int d = 0; d < 3; d++) {
        struct ggml_init_params p = { ggml_tensor_overhead() * (16 * N_LAYER + 8), NULL, true };
        m->ctx[d] = ggml_init(p);
    }
    struct ggml_context * c = m->ctx[2];
    m->wte = ggml_new_tensor_2d(c, GGML_TYPE_F32, N_EMBD, N_VOCAB);
    m->wpe = ggml_new_tensor_2d(c, GGML_TYPE_F32, N_EMBD, N_CTX);
    m->lnf_g = ggml_new_tensor_1d(c, GGML_TYPE_F32, N_EMBD);
    m->lnf_b = ggml_new_tensor_1d(c, GGML_TYPE_F32, N_EMBD);
    m->head = ggml_new_tensor_2d(c, GGML_TYPE_F32, N_EMBD, N_VOCAB);
    for (int l = 0; l < N_LAYER; l++) {
        struct ggml_context * lc = m->ctx[device[l]];
        struct gpt_layer * L = &m->layers[l];
        L->ln1_g = ggml_new_tensor_1d(lc, GGML_TYPE_F32, N_EMBD);
        L->ln1_b = ggml_new_tensor_1d(lc, GGML_TYPE_F32, N_EMBD);
        L->wq = ggml_new_tensor_2d(lc, GGML_TYPE_F32, N_EMBD, N_EMBD);
        L->wk = ggml_new_tensor_2d(lc, GGML_TYPE_F32, N_EMBD, N_EMBD);
        L->wv = ggml_new_tensor_2d(lc, GGML_TYPE_F32, N_EMBD, N_EMBD);
        L->wo = ggml_new_tensor_2d(lc, GGML_TYPE_F32, N_EMBD, N_EMBD);
        L->ln2_g = ggml_new_tensor_1d(lc, GGML_TYPE_F32, N_EMBD);
        L->ln2_b = ggml_new_tensor_1d(lc, GGML_TYPE_F32, N_EMBD);
        L->w1 = ggml_new_tensor_2d(lc, GGML_TYPE_F32, N_EMBD, N_FF);
        L->w2 = ggml_new_tensor_2d(lc, GGML_TYPE_F32, N_FF, N_EMBD);
    }
    for (int d = 0; d < 3; d++) {
        if (ggml_get_first_tensor(m->ctx[d]) == NULL) {
            continue;
        }
        m->buf[d] = ggml_backend_alloc_ctx_tensors_from_buft(m->ctx[d], bufts[d]);
        if (m->buf[d] == NULL) {
            return false;
        }
        ggml_backend_buffer_set_usage(m->buf[d], GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    }
    if (!fill) {
        return true;
    }
    gpt_set_random(m->wte, 1, 2.0f, 0.0f);
    gpt_set_random(m->wpe, 2, 0.1f, 0.0f);
    gpt_set_random(m->lnf_g, 3, 0.1f, 1.0f);
    gpt_set_random(m->lnf_b, 4, 0.1f, 0.0f);
    gpt_set_random(m->head, 5, 1.0f, 0.0f);
    for (int l = 0; l < N_LAYER; l++) {
        struct gpt_layer * L = &m->layers[l];
        uint64_t s = 100 + 20 * (uint64_t) l;
        gpt_set_random(L->ln1_g, s + 0, 0.1f, 1.0f);
        gpt_set_random(L->ln1_b, s + 1, 0.1f, 0.0f);
        gpt_set_random(L->wq, s + 2, 0.3f, 0.0f);
        gpt_set_random(L->wk, s + 3, 0.3f, 0.0f);
        gpt_set_random(L->wv, s + 4, 0.3f, 0.0f);
        gpt_set_random(L->wo, s + 5, 0.2f, 0.0f);
        gpt_set_random(L->ln2_g, s + 6, 0.1f, 1.0f);
        gpt_set_random(L->ln2_b, s + 7, 0.1f, 0.0f);
        gpt_set_random(L->w1, s + 8, 0.2f, 0.0f);
        gpt_set_random(L->w2, s + 9, 0.1f, 0.0f);
    }
    return true;
}

static inline void gpt_model_free(struct gpt_model * m) {
    for (int d = 0; d < 3; d++) {
        ggml_backend_buffer_free(m->buf[d]);
        ggml_free(m->ctx[d]);
    }
}

struct gpt_forward {
    struct ggml_context * ctx;
    struct ggml_cgraph *  g;
    struct ggml_tensor *  tokens, * pos, * logits;
};

static inline struct ggml_tensor * gpt_layer_norm(struct ggml_context * c, struct ggml_tensor * x, struct ggml_tensor * g,
        struct ggml_tensor * b) {
    return ggml_add(c, ggml_mul(c, ggml_norm(c, x, 1e-5f), g), b);
}

static inline struct gpt_forward gpt_forward_build(struct gpt_model * m, int n_tok) {
    struct gpt_forward f;
    const int N_LAYER = m->dims.n_layer, N_EMBD = m->dims.n_embd;
    struct ggml_init_params p = { ggml_tensor_overhead() * (64 + 40 * (size_t) N_LAYER) + ggml_graph_overhead(), NULL, true };
    struct ggml_context * c = f.ctx = ggml_init(p);
    f.tokens = ggml_new_tensor_1d(c, GGML_TYPE_I32, n_tok);
    f.pos = ggml_new_tensor_1d(c, GGML_TYPE_I32, n_tok);
    ggml_set_input(f.tokens);
    ggml_set_input(f.pos);
    struct ggml_tensor * x = ggml_add(c, ggml_get_rows(c, m->wte, f.tokens), ggml_get_rows(c, m->wpe, f.pos));
    for (int l = 0; l < N_LAYER; l++) {
        struct gpt_layer * L = &m->layers[l];
        struct ggml_tensor * h = gpt_layer_norm(c, x, L->ln1_g, L->ln1_b);
        struct ggml_tensor * q = ggml_mul_mat(c, L->wq, h);                     // [E, T]
        struct ggml_tensor * k = ggml_mul_mat(c, L->wk, h);
        struct ggml_tensor * v = ggml_mul_mat(c, L->wv, h);
        struct ggml_tensor * kq = ggml_mul_mat(c, k, q);                        // [T, T]
        kq = ggml_soft_max(c, ggml_diag_mask_inf(c, ggml_scale(c, kq, 1.0f / sqrtf((float) N_EMBD)), 0));
        struct ggml_tensor * att = ggml_mul_mat(c, ggml_cont(c, ggml_transpose(c, v)), kq); // [E, T]
        x = ggml_add(c, x, ggml_mul_mat(c, L->wo, att));
        h = gpt_layer_norm(c, x, L->ln2_g, L->ln2_b);
        x = ggml_add(c, x, ggml_mul_mat(c, L->w2, ggml_gelu(c, ggml_mul_mat(c, L->w1, h))));
    }
    f.logits = ggml_mul_mat(c, m->head, gpt_layer_norm(c, x, m->lnf_g, m->lnf_b)); // [V, T]
    ggml_set_output(f.logits);
    f.g = ggml_new_graph(c);
    ggml_build_forward_expand(f.g, f.logits);
    return f;
}

