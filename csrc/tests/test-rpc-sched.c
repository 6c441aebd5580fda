#define _GNU_SOURCE // kill, nanosleep

// The scheduler across machines: a GPT-2-style language model (test-rpc-model.h) whose layers'
// weights live on two RPC servers (ggml's server and ggalloc's, or two
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
#include "test-rpc-model.h"

#include <math.h>

enum { N_VOCAB = 96, N_CTX = 32, N_EMBD = 48, N_FF = 128, N_LAYER = 4, N_PROMPT = 5, N_GEN = 8 };

static const struct gpt_dims dims = { N_VOCAB, N_CTX, N_EMBD, N_FF, N_LAYER };

static float last_logits[N_VOCAB]; // of the last forward pass

static int argmax_last(struct gpt_forward * f, int n_tok) {
    float * logits = last_logits;
    ggml_backend_tensor_get(f->logits, logits, (size_t) (n_tok - 1) * N_VOCAB * sizeof(float), sizeof(last_logits));
    int best = 0;
    for (int i = 1; i < N_VOCAB; i++) {
        best = logits[i] > logits[best] ? i : best;
    }
    return best;
}

static void set_inputs(struct gpt_forward * f, const int32_t * tokens, int n_tok) {
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
    struct gpt_model m;
    CHECK(gpt_model_init(&m, dims, bufts, device, true));
    int32_t tokens[N_CTX];
    memcpy(tokens, prompt, sizeof(prompt));
    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    for (int i = 0; i < N_GEN; i++) {
        int n = N_PROMPT + i;
        struct gpt_forward f = gpt_forward_build(&m, n);
        CHECK(ggml_gallocr_alloc_graph(galloc, f.g));
        set_inputs(&f, tokens, n);
        CHECK(ggml_backend_graph_compute(cpu, f.g) == GGML_STATUS_SUCCESS);
        tokens[n] = out[i] = argmax_last(&f, n);
        ggml_free(f.ctx);
    }
    ggml_gallocr_free(galloc);
    gpt_model_free(&m);
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
    struct gpt_model m;
    CHECK(gpt_model_init(&m, dims, bufts, device, true));
    ggml_backend_t backends[3] = { a, b, cpu };
    ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 3, GGML_DEFAULT_GRAPH_SIZE, false, true);
    CHECK(sched != NULL);
    int32_t tokens[N_CTX];
    memcpy(tokens, prompt, sizeof(prompt));
    for (int i = 0; sched != NULL && i < N_GEN; i++) {
        int n = N_PROMPT + i;
        struct gpt_forward f = gpt_forward_build(&m, n);
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
    gpt_model_free(&m);
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
