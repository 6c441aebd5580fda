#define _GNU_SOURCE // kill, nanosleep

// The scheduler across machines: a GPT-2-style language model (token and position embeddings,
// per layer norm, single-head causal attention and a GELU MLP with residuals, a final norm and
// the logits) whose layers' weights live on two RPC servers (ggml's server and ggalloc's, or two
// of ggalloc's without the peer) and whose embeddings and head live on the CPU. The scheduler
// splits each forward pass over the three, copies the activations between them and plans
// every device's buffer with the BEST planner; each plan is valid and at least its lower bound.
// Greedy generation of 8 tokens gives the same tokens as the same model on the CPU alone.

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-rpc.h"
#include "ggalloc.h"
#include "ggalloc-sched.h"

#include "check.h"
#include "test-rpc.h"

#include <math.h>

enum { N_VOCAB = 96, N_CTX = 32, N_EMBD = 48, N_FF = 128, N_LAYER = 4, N_PROMPT = 5, N_GEN = 8 };

struct layer {
    struct ggml_tensor * ln1_g, * ln1_b, * wq, * wk, * wv, * wo, * ln2_g, * ln2_b, * w1, * w2;
};

struct model {
    struct ggml_context * ctx[3];     // weights per device: 0 and 1 the servers, 2 the CPU
    ggml_backend_buffer_t buf[3];
    struct ggml_tensor *  wte, * wpe, * lnf_g, * lnf_b, * head;
    struct layer          layers[N_LAYER];
};

static void fill(float * v, size_t n, uint64_t seed, float scale) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[i] = scale * ((float) ((seed >> 40) % 20001) / 10000.0f - 1.0f);
    }
}

static void set_random(struct ggml_tensor * t, uint64_t seed, float scale, float offset) {
    size_t n = (size_t) ggml_nelements(t);
    float * v = malloc(n * sizeof(float));
    fill(v, n, seed, scale);
    for (size_t i = 0; i < n; i++) {
        v[i] += offset;
    }
    ggml_backend_tensor_set(t, v, 0, n * sizeof(float));
    free(v);
}

// device[l] is where layer l's weights live (0, 1: the servers; 2: the CPU); bufts[d] the types.
static bool model_init(struct model * m, ggml_backend_buffer_type_t * bufts, const int * device) {
    memset(m, 0, sizeof(*m));
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
        struct layer * L = &m->layers[l];
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
    set_random(m->wte, 1, 2.0f, 0.0f);
    set_random(m->wpe, 2, 0.1f, 0.0f);
    set_random(m->lnf_g, 3, 0.1f, 1.0f);
    set_random(m->lnf_b, 4, 0.1f, 0.0f);
    set_random(m->head, 5, 1.0f, 0.0f);
    for (int l = 0; l < N_LAYER; l++) {
        struct layer * L = &m->layers[l];
        uint64_t s = 100 + 20 * (uint64_t) l;
        set_random(L->ln1_g, s + 0, 0.1f, 1.0f);
        set_random(L->ln1_b, s + 1, 0.1f, 0.0f);
        set_random(L->wq, s + 2, 0.3f, 0.0f);
        set_random(L->wk, s + 3, 0.3f, 0.0f);
        set_random(L->wv, s + 4, 0.3f, 0.0f);
        set_random(L->wo, s + 5, 0.2f, 0.0f);
        set_random(L->ln2_g, s + 6, 0.1f, 1.0f);
        set_random(L->ln2_b, s + 7, 0.1f, 0.0f);
        set_random(L->w1, s + 8, 0.2f, 0.0f);
        set_random(L->w2, s + 9, 0.1f, 0.0f);
    }
    return true;
}

static void model_free(struct model * m) {
    for (int d = 0; d < 3; d++) {
        ggml_backend_buffer_free(m->buf[d]);
        ggml_free(m->ctx[d]);
    }
}

struct forward {
    struct ggml_context * ctx;
    struct ggml_cgraph *  g;
    struct ggml_tensor *  tokens, * pos, * logits;
};

static struct ggml_tensor * layer_norm(struct ggml_context * c, struct ggml_tensor * x, struct ggml_tensor * g,
        struct ggml_tensor * b) {
    return ggml_add(c, ggml_mul(c, ggml_norm(c, x, 1e-5f), g), b);
}

static struct forward forward_build(struct model * m, int n_tok) {
    struct forward f;
    struct ggml_init_params p = { ggml_tensor_overhead() * 1024 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * c = f.ctx = ggml_init(p);
    f.tokens = ggml_new_tensor_1d(c, GGML_TYPE_I32, n_tok);
    f.pos = ggml_new_tensor_1d(c, GGML_TYPE_I32, n_tok);
    ggml_set_input(f.tokens);
    ggml_set_input(f.pos);
    struct ggml_tensor * x = ggml_add(c, ggml_get_rows(c, m->wte, f.tokens), ggml_get_rows(c, m->wpe, f.pos));
    for (int l = 0; l < N_LAYER; l++) {
        struct layer * L = &m->layers[l];
        struct ggml_tensor * h = layer_norm(c, x, L->ln1_g, L->ln1_b);
        struct ggml_tensor * q = ggml_mul_mat(c, L->wq, h);                     // [E, T]
        struct ggml_tensor * k = ggml_mul_mat(c, L->wk, h);
        struct ggml_tensor * v = ggml_mul_mat(c, L->wv, h);
        struct ggml_tensor * kq = ggml_mul_mat(c, k, q);                        // [T, T]
        kq = ggml_soft_max(c, ggml_diag_mask_inf(c, ggml_scale(c, kq, 1.0f / sqrtf((float) N_EMBD)), 0));
        struct ggml_tensor * att = ggml_mul_mat(c, ggml_cont(c, ggml_transpose(c, v)), kq); // [E, T]
        x = ggml_add(c, x, ggml_mul_mat(c, L->wo, att));
        h = layer_norm(c, x, L->ln2_g, L->ln2_b);
        x = ggml_add(c, x, ggml_mul_mat(c, L->w2, ggml_gelu(c, ggml_mul_mat(c, L->w1, h))));
    }
    f.logits = ggml_mul_mat(c, m->head, layer_norm(c, x, m->lnf_g, m->lnf_b)); // [V, T]
    ggml_set_output(f.logits);
    f.g = ggml_new_graph(c);
    ggml_build_forward_expand(f.g, f.logits);
    return f;
}

static float last_logits[N_VOCAB]; // of the last forward pass

static int argmax_last(struct forward * f, int n_tok) {
    float * logits = last_logits;
    ggml_backend_tensor_get(f->logits, logits, (size_t) (n_tok - 1) * N_VOCAB * sizeof(float), sizeof(last_logits));
    int best = 0;
    for (int i = 1; i < N_VOCAB; i++) {
        best = logits[i] > logits[best] ? i : best;
    }
    return best;
}

static void set_inputs(struct forward * f, const int32_t * tokens, int n_tok) {
    int32_t pos[N_CTX];
    for (int i = 0; i < n_tok; i++) {
        pos[i] = i;
    }
    ggml_backend_tensor_set(f->tokens, tokens, 0, (size_t) n_tok * sizeof(int32_t));
    ggml_backend_tensor_set(f->pos, pos, 0, (size_t) n_tok * sizeof(int32_t));
}

static const int32_t prompt[N_PROMPT] = { 3, 17, 42, 5, 77 };

// Greedy generation on the CPU alone.
static void generate_cpu(ggml_backend_t cpu, int32_t * out) {
    ggml_backend_buffer_type_t bufts[3] = { ggml_backend_cpu_buffer_type(), ggml_backend_cpu_buffer_type(),
                                            ggml_backend_cpu_buffer_type() };
    const int device[N_LAYER] = { 2, 2, 2, 2 };
    struct model m;
    CHECK(model_init(&m, bufts, device));
    int32_t tokens[N_CTX];
    memcpy(tokens, prompt, sizeof(prompt));
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    for (int i = 0; i < N_GEN; i++) {
        int n = N_PROMPT + i;
        struct forward f = forward_build(&m, n);
        CHECK(ggml_gallocr_alloc_graph(galloc, f.g));
        set_inputs(&f, tokens, n);
        CHECK(ggml_backend_graph_compute(cpu, f.g) == GGML_STATUS_SUCCESS);
        tokens[n] = out[i] = argmax_last(&f, n);
        ggml_free(f.ctx);
    }
    ggml_gallocr_free(galloc);
    model_free(&m);
}

// Greedy generation with layers 0-1 on server a, 2-3 on server b, the rest on the CPU.
static void generate_split(ggml_backend_t cpu, const char * ep_a, const char * ep_b, int32_t * out) {
    ggml_backend_t a = ggml_backend_rpc_init(ep_a, 0), b = ggml_backend_rpc_init(ep_b, 0);
    CHECK(a != NULL && b != NULL);
    if (a == NULL || b == NULL) {
        ggml_backend_free(a);
        ggml_backend_free(b);
        return;
    }
    ggml_backend_buffer_type_t bufts[3] = { ggml_backend_rpc_buffer_type(ep_a, 0), ggml_backend_rpc_buffer_type(ep_b, 0),
                                            ggml_backend_cpu_buffer_type() };
    const int device[N_LAYER] = { 0, 0, 1, 1 };
    struct model m;
    CHECK(model_init(&m, bufts, device));
    ggml_backend_t backends[3] = { a, b, cpu };
    ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 3, GGML_DEFAULT_GRAPH_SIZE, false, true);
    CHECK(sched != NULL);
    int32_t tokens[N_CTX];
    memcpy(tokens, prompt, sizeof(prompt));
    for (int i = 0; sched != NULL && i < N_GEN; i++) {
        int n = N_PROMPT + i;
        struct forward f = forward_build(&m, n);
        ggml_backend_sched_reset(sched);
        CHECK(ggml_backend_sched_alloc_graph(sched, f.g));
        // the layers ran where their weights are: a node of layer 0 on a, of layer 3 on b
        CHECK(ggml_backend_sched_get_tensor_backend(sched, f.logits) == cpu);
        set_inputs(&f, tokens, n);
        CHECK(ggml_backend_sched_graph_compute(sched, f.g) == GGML_STATUS_SUCCESS);
        tokens[n] = out[i] = argmax_last(&f, n);
        if (i == N_GEN - 1) {
            CHECK(ggml_backend_sched_get_n_splits(sched) >= 3);
            CHECK_EQ_INT(ggalloc_graph_verify(ggalloc_backend_sched_get_graph(sched)), 0);
            ggml_gallocr_t galloc = ggalloc_backend_sched_get_gallocr(sched);
            printf("  %d tokens, %d splits; per device: buffer (planned, BEST) against its lower bound\n", n,
                   ggml_backend_sched_get_n_splits(sched));
            for (int d = 0; d < 3; d++) {
                size_t size = ggml_backend_sched_get_buffer_size(sched, backends[d]);
                size_t lb = ggalloc_gallocr_lower_bound(galloc, d);
                printf("    %-28s %8zu bytes, lower bound %8zu\n", ggml_backend_name(backends[d]), size, lb);
                CHECK(size >= lb && size > 0);
                CHECK(size % ggml_backend_buft_get_alignment(ggml_backend_sched_get_buffer_type(sched, backends[d])) == 0);
            }
        }
        ggml_free(f.ctx);
    }
    ggml_backend_sched_free(sched);
    model_free(&m);
    ggml_backend_free(a);
    ggml_backend_free(b);
}

int main(void) {
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggml_backend_t serve_cpu[2] = { ggml_backend_cpu_init(), ggml_backend_cpu_init() };
    ggalloc_rpc_server_t ours[2] = { ggalloc_rpc_server_start("127.0.0.1:0", &serve_cpu[0], 1),
                                     ggalloc_rpc_server_start("127.0.0.1:0", &serve_cpu[1], 1) };
    CHECK(ours[0] != NULL && ours[1] != NULL);
    char ep_a[64], ep_b[64];
    snprintf(ep_a, sizeof(ep_a), "127.0.0.1:%d", ggalloc_rpc_server_port(ours[0]));
    snprintf(ep_b, sizeof(ep_b), "127.0.0.1:%d", ggalloc_rpc_server_port(ours[1]));

    int32_t ref[N_GEN], got[N_GEN];
    float ref_logits[N_VOCAB];
    generate_cpu(cpu, ref);
    memcpy(ref_logits, last_logits, sizeof(ref_logits));

    // two of ggalloc's servers
    memset(got, 0xff, sizeof(got));
    generate_split(cpu, ep_a, ep_b, got);
    CHECK(memcmp(ref, got, sizeof(ref)) == 0);
    CHECK(memcmp(ref_logits, last_logits, sizeof(ref_logits)) == 0); // the same kernels: the same bits
    printf("  CPU alone:");
    for (int i = 0; i < N_GEN; i++) printf(" %d", ref[i]);
    printf("\n  CPU + 2 ggalloc servers:");
    for (int i = 0; i < N_GEN; i++) printf(" %d", got[i]);
    printf("\n");

    // ggml's server and ggalloc's
    const char * peer = rpc_peer_path();
    if (peer == NULL) {
        printf("  SKIP: ggml's RPC server (../shared/peers/ggml-rpc-server) is absent: no split over it\n");
    } else {
        int port = rpc_free_port();
        pid_t pid = rpc_peer_start(peer, port);
        CHECK(pid > 0);
        if (pid > 0) {
            char ep_p[64];
            snprintf(ep_p, sizeof(ep_p), "127.0.0.1:%d", port);
            memset(got, 0xff, sizeof(got));
            generate_split(cpu, ep_p, ep_a, got);
            CHECK(memcmp(ref, got, sizeof(ref)) == 0);
            // ggml's kernels differ a little (GELU through an f16 table)
            float worst = 0.0f;
            for (int i = 0; i < N_VOCAB; i++) {
                float d = fabsf(last_logits[i] - ref_logits[i]) / (1.0f + fabsf(ref_logits[i]));
                worst = d > worst ? d : worst;
            }
            printf("  logits against the CPU's: largest relative difference %.2g\n", worst);
            CHECK(worst < 1e-2f);
            printf("  CPU + ggml's server + ggalloc's:");
            for (int i = 0; i < N_GEN; i++) printf(" %d", got[i]);
            printf("\n");
        }
        rpc_peer_stop(pid);
    }
    ggalloc_rpc_server_free(ours[0]);
    ggalloc_rpc_server_free(ours[1]);
    ggml_backend_free(serve_cpu[0]);
    ggml_backend_free(serve_cpu[1]);
    ggml_backend_free(cpu);
    return check_report("test-rpc-sched");
}
