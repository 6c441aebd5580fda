#define _GNU_SOURCE // kill, nanosleep, struct timeval
// The RPC backend: ggalloc's client against ggml's server (the peer program) and against
// ggalloc's server; both servers' replies compared field by field for every command; the
// faults a network brings (refused connection, wrong version, cut or wrong-sized reply, a
// server that stalls, a server killed while its buffers are in use or while it computes).
// Tests that need ggml's server skip (saying so) when the peer program is absent.

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-rpc.h"
#include "ggml-vulkan.h"
#include "ggalloc.h"

#include "check.h"
#include "rpc/rpc-proto.h"
#include "test-rpc.h"

#include <pthread.h>
#include <math.h>

static int64_t now_ms(void) {
    return ggml_time_ms();
}

//
// The client against a server
//

struct add_graph {
    struct ggml_context * ctx;
    struct ggml_cgraph *  g;
    struct ggml_tensor *  a, * b, * w, * out;
};

// out = ((a + b) + w) + (a + b) + a, b broadcast over rows: only ADD, whose op number is the
// same in ggml and here.
static struct add_graph add_graph_new(int64_t n0, int64_t n1) {
    struct ggml_init_params p = { ggml_tensor_overhead() * 16 + ggml_graph_overhead(), NULL, true };
    struct add_graph r;
    r.ctx = ggml_init(p);
    r.a = ggml_new_tensor_2d(r.ctx, GGML_TYPE_F32, n0, n1);
    r.b = ggml_new_tensor_2d(r.ctx, GGML_TYPE_F32, n0, 1);
    r.w = ggml_new_tensor_2d(r.ctx, GGML_TYPE_F32, n0, n1);
    ggml_set_input(r.a);
    ggml_set_input(r.b);
    ggml_set_input(r.w);
    struct ggml_tensor * c = ggml_add(r.ctx, r.a, r.b);
    struct ggml_tensor * d = ggml_add(r.ctx, c, r.w);
    struct ggml_tensor * e = ggml_add(r.ctx, d, c);
    r.out = ggml_add(r.ctx, e, r.a);
    ggml_set_output(r.out);
    r.g = ggml_new_graph(r.ctx);
    ggml_build_forward_expand(r.g, r.out);
    return r;
}

static void fill(float * x, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = (float) ((seed >> 8) % 2001) / 1000.0f - 1.0f;
    }
}

// Runs the add graph on backend with memory from buft; out gets the result.
static bool run_add_graph(ggml_backend_t backend, ggml_backend_buffer_type_t buft, unsigned seed, float * out,
        bool check_plan, int runs) {
    const int64_t n0 = 64, n1 = 32;
    struct add_graph G = add_graph_new(n0, n1);
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    bool ok = galloc != NULL && ggml_gallocr_alloc_graph(galloc, G.g);
    CHECK(ok);
    if (ok && check_plan) {
        CHECK_EQ_INT(ggalloc_graph_verify(G.g), 0);
        size_t size = ggml_gallocr_get_buffer_size(galloc, 0);
        CHECK(ggalloc_gallocr_lower_bound(galloc, 0) <= size);
        CHECK(size % ggml_backend_buft_get_alignment(buft) == 0 || size == 0);
    }
    float * a = malloc(sizeof(float) * n0 * n1), * b = malloc(sizeof(float) * n0), * w = malloc(sizeof(float) * n0 * n1);
    for (int run = 0; ok && run < runs; run++) {
        fill(a, (size_t) (n0 * n1), seed + (unsigned) run);
        fill(b, (size_t) n0, seed + 7);
        fill(w, (size_t) (n0 * n1), seed + 13);
        ggml_backend_tensor_set(G.a, a, 0, ggml_nbytes(G.a));
        ggml_backend_tensor_set(G.b, b, 0, ggml_nbytes(G.b));
        ggml_backend_tensor_set(G.w, w, 0, ggml_nbytes(G.w));
        ok = ggml_backend_graph_compute(backend, G.g) == GGML_STATUS_SUCCESS;
        ggml_backend_tensor_get(G.out, out + (size_t) run * n0 * n1, 0, ggml_nbytes(G.out));
    }
    free(a);
    free(b);
    free(w);
    ggml_gallocr_free(galloc);
    ggml_free(G.ctx);
    return ok;
}

static void test_client(const char * endpoint, const char * label, ggml_backend_t cpu) {
    printf("  client against %s at %s\n", label, endpoint);
    ggml_backend_reg_t reg = ggml_backend_rpc_add_server(endpoint);
    // the registry lists RPC (with no devices of its own) and hands out its add_server
    ggml_backend_reg_t rpc_reg = ggml_backend_reg_by_name("RPC");
    CHECK(rpc_reg == ggml_backend_rpc_reg() && ggml_backend_reg_dev_count(rpc_reg) == 0);
    CHECK(ggml_backend_reg_get_proc_address(rpc_reg, "ggml_backend_rpc_add_server") == (void *) ggml_backend_rpc_add_server);
    CHECK(reg != NULL);
    CHECK(reg == ggml_backend_rpc_add_server(endpoint));
    CHECK_EQ_INT(ggml_backend_reg_dev_count(reg), 1);
    ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, 0);
    CHECK(dev != NULL && strncmp(ggml_backend_dev_name(dev), "RPC", 3) == 0);

    ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
    CHECK(buft != NULL);
    if (buft == NULL) {
        return;
    }
    CHECK(buft == ggml_backend_rpc_buffer_type(endpoint, 0));
    CHECK(ggml_backend_dev_supports_buft(dev, buft));
    // ggml's CPU server and ours (serving our CPU backend) report their CPU buffer's limits
    CHECK_EQ_INT(ggml_backend_buft_get_alignment(buft), strcmp(label, "ggml") == 0 ? 32 :
                 (long long) ggml_backend_buft_get_alignment(ggml_backend_cpu_buffer_type()));
    CHECK(ggml_backend_buft_get_max_size(buft) == SIZE_MAX);
    size_t fm = 0, tm = 0;
    ggml_backend_rpc_get_device_memory(endpoint, 0, &fm, &tm);
    CHECK(tm > 0 && fm <= tm);

    ggml_backend_t rpc = ggml_backend_rpc_init(endpoint, 0);
    CHECK(rpc != NULL && ggml_backend_is_rpc(rpc) && !ggml_backend_is_rpc(cpu));
    CHECK(ggml_backend_rpc_init(endpoint, 5) == NULL); // no such device

    // the same graph, planned in the server's memory and computed there, equals the CPU's
    // result; the second and third runs reuse the graph (GRAPH_RECOMPUTE)
    enum { RUNS = 3, N = 64 * 32 };
    float * remote = calloc(RUNS * N, sizeof(float)), * local = calloc(RUNS * N, sizeof(float));
    CHECK(run_add_graph(rpc, buft, 11, remote, true, RUNS));
    CHECK(run_add_graph(cpu, ggml_backend_cpu_buffer_type(), 11, local, false, RUNS));
    CHECK(memcmp(remote, local, sizeof(float) * RUNS * N) == 0);
    CHECK(memcmp(remote, remote + N, sizeof(float) * N) != 0); // the runs differ
    free(remote);
    free(local);
    {
        // a graph in host memory cannot run on the server: refused before anything is sent
        struct add_graph H = add_graph_new(16, 4);
        ggml_gallocr_t hg = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
        CHECK(ggml_gallocr_alloc_graph(hg, H.g));
        log_capture_begin();
        CHECK(ggml_backend_graph_compute(rpc, H.g) == GGML_STATUS_FAILED);
        log_capture_end();
        CHECK(log_captured("not in memory of this server"));
        ggml_gallocr_free(hg);
        ggml_free(H.ctx);
    }

    // transfers: memset, copy on the server, clear, and an upload above the hash threshold
    struct ggml_init_params p = { ggml_tensor_overhead() * 4, NULL, true };
    struct ggml_context * ctx = ggml_init(p);
    const int64_t big = CHECK_SMALL_RUN ? (11 << 18) : (13 << 18); // floats: 11 or 13 MiB
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 256);
    struct ggml_tensor * y = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 256);
    struct ggml_tensor * z = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, big);
    ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft);
    CHECK(buf != NULL);
    if (buf != NULL) {
        CHECK(ggml_backend_buffer_get_size(buf) >= (size_t) (big + 512) * 4);
        float xs[256], ys[256];
        fill(xs, 256, 3);
        ggml_backend_tensor_set(x, xs, 0, sizeof(xs));
        ggml_backend_tensor_copy(x, y); // same server: COPY_TENSOR
        ggml_backend_tensor_get(y, ys, 0, sizeof(ys));
        CHECK(memcmp(xs, ys, sizeof(xs)) == 0);
        ggml_backend_tensor_memset(y, 0x3f, 8, 16);
        uint8_t raw[64];
        ggml_backend_tensor_get(y, raw, 0, 64);
        CHECK(memcmp(raw, ys, 8) == 0 && raw[8] == 0x3f && raw[23] == 0x3f && memcmp(raw + 24, (uint8_t *) ys + 24, 40) == 0);
        ggml_backend_buffer_clear(buf, 0x11);
        ggml_backend_tensor_get(x, raw, 0, 64);
        CHECK(raw[0] == 0x11 && raw[63] == 0x11);
        float * zs = malloc((size_t) big * 4), * zr = malloc((size_t) big * 4);
        fill(zs, (size_t) big, 5);
        ggml_backend_tensor_set(z, zs, 0, (size_t) big * 4);
        ggml_backend_tensor_get(z, zr, 0, (size_t) big * 4);
        CHECK(memcmp(zs, zr, (size_t) big * 4) == 0);
        free(zs);
        free(zr);
        // a range outside the tensor is refused on this side, before anything is sent
        log_capture_begin();
        ggml_backend_tensor_get(x, raw, 1020, 8);
        log_capture_end();
        CHECK(log_captured("out of tensor"));
        ggml_backend_buffer_free(buf);
    }
    ggml_free(ctx);
    ggml_backend_free(rpc);
}

// Graphs kept by the server: two backends on one device alternate graphs (each run must run its
// own graph, not the other's kept one), and freeing an unrelated buffer between two runs of the
// same graph (sent once, then run again by GRAPH_RECOMPUTE) changes nothing.
static void test_kept_graphs(const char * endpoint, ggml_backend_t cpu) {
    ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
    ggml_backend_t r1 = ggml_backend_rpc_init(endpoint, 0), r2 = ggml_backend_rpc_init(endpoint, 0);
    CHECK(buft != NULL && r1 != NULL && r2 != NULL);
    if (buft == NULL || r1 == NULL || r2 == NULL) {
        ggml_backend_free(r1);
        ggml_backend_free(r2);
        return;
    }
    struct add_graph G1 = add_graph_new(64, 32), G2 = add_graph_new(32, 8), L1 = add_graph_new(64, 32);
    ggml_gallocr_t a1 = ggml_gallocr_new(buft), a2 = ggml_gallocr_new(buft);
    ggml_gallocr_t al = ggml_gallocr_new(ggml_backend_cpu_buffer_type());
    CHECK(ggml_gallocr_alloc_graph(a1, G1.g) && ggml_gallocr_alloc_graph(a2, G2.g) && ggml_gallocr_alloc_graph(al, L1.g));
    float in[64 * 32], out[64 * 32], ref[64 * 32];
    for (int run = 0; run < 4; run++) {
        fill(in, 64 * 32, 40 + (unsigned) run);
        struct add_graph * gs[2] = { &G1, &L1 };
        for (int k = 0; k < 2; k++) {
            ggml_backend_tensor_set(gs[k]->a, in, 0, sizeof(float) * 64 * 32);
            ggml_backend_tensor_set(gs[k]->b, in, 0, sizeof(float) * 64);
            ggml_backend_tensor_set(gs[k]->w, in, 0, sizeof(float) * 64 * 32);
        }
        ggml_backend_tensor_set(G2.a, in, 0, sizeof(float) * 32 * 8);
        ggml_backend_tensor_set(G2.b, in, 0, sizeof(float) * 32);
        ggml_backend_tensor_set(G2.w, in, 0, sizeof(float) * 32 * 8);
        if (run == 2) {
            // an unrelated buffer comes and goes: the kept graph is still good
            ggml_backend_buffer_t tmp = ggml_backend_buft_alloc_buffer(buft, 1024);
            CHECK(tmp != NULL);
            ggml_backend_buffer_free(tmp);
        }
        CHECK(ggml_backend_graph_compute(r1, G1.g) == GGML_STATUS_SUCCESS);
        if (run < 2) { // in runs 2 and 3 G1 is the graph the server keeps: run again, not sent
            CHECK(ggml_backend_graph_compute(r2, G2.g) == GGML_STATUS_SUCCESS);
        }
        CHECK(ggml_backend_graph_compute(cpu, L1.g) == GGML_STATUS_SUCCESS);
        ggml_backend_tensor_get(G1.out, out, 0, sizeof(out));
        ggml_backend_tensor_get(L1.out, ref, 0, sizeof(ref));
        CHECK(memcmp(out, ref, sizeof(ref)) == 0);
    }
    ggml_gallocr_free(a1);
    ggml_gallocr_free(a2);
    ggml_gallocr_free(al);
    ggml_free(G1.ctx);
    ggml_free(G2.ctx);
    ggml_free(L1.ctx);
    ggml_backend_free(r1);
    ggml_backend_free(r2);
}

//
// Replies compared field by field
//

#define MAX_STEPS 40

struct transcript {
    int       n;
    char      label[MAX_STEPS][32];
    long long size[MAX_STEPS];
    uint8_t   data[MAX_STEPS][64];
    bool      address[MAX_STEPS]; // the reply holds server addresses: sizes must agree, values not
};

static void put32(uint8_t * p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t * p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t * p) { uint64_t v; memcpy(&v, p, 8); return v; }

// A record of an f32 tensor of n elements at data in buffer (little-endian host assumed, as the
// protocol's own programs do).
static void rec_f32(uint8_t * r, uint64_t id, uint64_t buffer, uint64_t data, uint32_t n, uint32_t op,
        uint64_t src0, uint64_t src1) {
    memset(r, 0, 296);
    put64(r, id);
    put32(r + 8, GGML_TYPE_F32);
    put64(r + 12, buffer);
    put32(r + 20, n); put32(r + 24, 1); put32(r + 28, 1); put32(r + 32, 1);
    put32(r + 36, 4); put32(r + 40, 4 * n); put32(r + 44, 4 * n); put32(r + 48, 4 * n);
    put32(r + 52, op);
    put32(r + 120, op != 0 ? 16 : 0); // ggml's flag for nodes to compute
    put64(r + 124, src0);
    put64(r + 132, src1);
    put64(r + 220, data);
    snprintf((char *) r + 228, 64, "t%llu", (unsigned long long) id);
}

static void step(struct transcript * t, int fd, const char * label, bool address) {
    int i = t->n++;
    snprintf(t->label[i], sizeof(t->label[i]), "%s", label);
    memset(t->data[i], 0, 64);
    t->size[i] = rpc_raw_reply(fd, t->data[i], 64);
    t->address[i] = address;
}

// One conversation with the server at port, every command once.
static void converse(int port, struct transcript * t) {
    memset(t, 0, sizeof(*t));
    int fd = rpc_raw_connect(port);
    if (fd < 0) {
        t->n = -1;
        return;
    }
    uint8_t req[4 + 11 * 296] = { 0 };
    rpc_raw_send(fd, 14, req, 24);                          step(t, fd, "HELLO", false);
    rpc_raw_send(fd, 15, NULL, 0);                          step(t, fd, "DEVICE_COUNT", false);
    put32(req, 0); rpc_raw_send(fd, 1, req, 4);             step(t, fd, "GET_ALIGNMENT", false);
    rpc_raw_send(fd, 2, req, 4);                            step(t, fd, "GET_MAX_SIZE", false);
    put32(req, 0); put64(req + 4, 4096); rpc_raw_send(fd, 0, req, 12);
    step(t, fd, "ALLOC_BUFFER", true);
    const uint64_t buf = get64(t->data[t->n - 1]);
    CHECK_EQ_INT(get64(t->data[t->n - 1] + 8), 4096); // remote_size
    put64(req, buf); rpc_raw_send(fd, 3, req, 8);           step(t, fd, "BUFFER_GET_BASE", true);
    const uint64_t base = get64(t->data[t->n - 1]);
    CHECK(base != 0 && base % 32 == 0);
    // SET_TENSOR (no reply) then GET_TENSOR
    uint8_t set[296 + 8 + 64];
    rec_f32(set, 1, buf, base, 16, 0, 0, 0);
    put64(set + 296, 0);
    for (int i = 0; i < 64; i++) set[304 + i] = (uint8_t) (i * 3 + 1);
    rpc_raw_send(fd, 6, set, sizeof(set));
    rec_f32(req, 1, buf, base, 16, 0, 0, 0); put64(req + 296, 0); put64(req + 304, 64);
    rpc_raw_send(fd, 8, req, 312);                          step(t, fd, "GET_TENSOR", false);
    rec_f32(req, 1, buf, base, 16, 0, 0, 0); put64(req + 296, 4); put64(req + 304, 8); req[312] = 0xab;
    rpc_raw_send(fd, 17, req, 313);                         step(t, fd, "MEMSET_TENSOR", false);
    rec_f32(req, 1, buf, base, 16, 0, 0, 0); put64(req + 296, 0); put64(req + 304, 64);
    rpc_raw_send(fd, 8, req, 312);                          step(t, fd, "GET_TENSOR after memset", false);
    rec_f32(req, 1, buf, base, 16, 0, 0, 0); rec_f32(req + 296, 2, buf, base + 64, 16, 0, 0, 0);
    rpc_raw_send(fd, 9, req, 592);                          step(t, fd, "COPY_TENSOR", false);
    rec_f32(req, 2, buf, base + 64, 16, 0, 0, 0); put64(req + 296, 0); put64(req + 304, 64);
    rpc_raw_send(fd, 8, req, 312);                          step(t, fd, "GET_TENSOR of the copy", false);
    rec_f32(req, 1, buf, base, 16, 0, 0, 0); put64(req + 296, 0); put64(req + 304, 0x1234);
    rpc_raw_send(fd, 7, req, 312);                          step(t, fd, "SET_TENSOR_HASH", false);
    memset(req, 0, sizeof(req)); put32(req, 0); rec_f32(req + 4, 1, 0, 0, 16, 0, 0, 0);
    rpc_raw_send(fd, 13, req, sizeof(req));                 step(t, fd, "GET_ALLOC_SIZE", false);
    rec_f32(req, 1, buf, base, 16, 0, 0, 0);
    rpc_raw_send(fd, 12, req, 296);                         step(t, fd, "INIT_TENSOR", false);
    // GRAPH_COMPUTE (no reply): t3 = t1 + t2 at base + 128
    {
        uint8_t g[4 + 4 + 8 + 4 + 3 * 296];
        put32(g, 0); put32(g + 4, 1); put64(g + 8, 3); put32(g + 16, 3);
        rec_f32(g + 20, 1, buf, base, 16, 0, 0, 0);
        rec_f32(g + 20 + 296, 2, buf, base + 64, 16, 0, 0, 0);
        rec_f32(g + 20 + 592, 3, buf, base + 128, 16, GGML_OP_ADD, 1, 2);
        rpc_raw_send(fd, 10, g, sizeof(g));
    }
    rec_f32(req, 3, buf, base + 128, 16, 0, 0, 0); put64(req + 296, 0); put64(req + 304, 64);
    rpc_raw_send(fd, 8, req, 312);                          step(t, fd, "GET_TENSOR after GRAPH_COMPUTE", false);
    put32(req, 0); rpc_raw_send(fd, 16, req, 4);            // GRAPH_RECOMPUTE (no reply)
    rpc_raw_send(fd, 15, NULL, 0);                          step(t, fd, "DEVICE_COUNT after GRAPH_RECOMPUTE", false);
    put64(req, buf); req[8] = 0x5a; rpc_raw_send(fd, 5, req, 9); step(t, fd, "BUFFER_CLEAR", false);
    rec_f32(req, 1, buf, base, 16, 0, 0, 0); put64(req + 296, 0); put64(req + 304, 64);
    rpc_raw_send(fd, 8, req, 312);                          step(t, fd, "GET_TENSOR after clear", false);
    put32(req, 0); rpc_raw_send(fd, 11, req, 4);            step(t, fd, "GET_DEVICE_MEMORY", true);
    put64(req, buf); rpc_raw_send(fd, 4, req, 8);           step(t, fd, "FREE_BUFFER", false);
    // a request naming a freed buffer ends the connection on both servers
    put64(req, buf); rpc_raw_send(fd, 3, req, 8);           step(t, fd, "BUFFER_GET_BASE of a freed buffer", false);
    close(fd);
}

static void test_replies(int peer_port, int our_port) {
    struct transcript * ref = calloc(1, sizeof(*ref)), * ours = calloc(1, sizeof(*ours));
    converse(peer_port, ref);
    converse(our_port, ours);
    CHECK(ref->n > 0 && ref->n == ours->n);
    for (int i = 0; i < ref->n && i < ours->n; i++) {
        bool same = ref->size[i] == ours->size[i] &&
                    (ref->address[i] || ref->size[i] <= 0 || memcmp(ref->data[i], ours->data[i], (size_t) ref->size[i]) == 0);
        if (!same) {
            fprintf(stderr, "  reply to %s differs: ggml %lld bytes, ggalloc %lld bytes\n", ref->label[i], ref->size[i], ours->size[i]);
        }
        CHECK(same);
    }
    // the replies say what they should, not only the same thing
    CHECK_EQ_INT(ref->size[0], 28);
    CHECK(ours->data[0][0] == 5 && ours->data[0][1] == 1 && ours->data[0][2] == 0);
    CHECK_EQ_INT(ref->size[ref->n - 1], -1); // the last request closed the connection
    free(ref);
    free(ours);
}

//
// Faults
//

enum fake_kind { FAKE_WRONG_VERSION, FAKE_CUT_REPLY, FAKE_WRONG_SIZE, FAKE_STALL };

struct fake_server {
    enum fake_kind kind;
    int            listen_fd;
    int            port;
    volatile int   stop;
    pthread_t      thread;
};

static void * fake_main(void * arg) {
    struct fake_server * f = arg;
    int fd = accept(f->listen_fd, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    struct timeval tv = { 0, 200000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint8_t hdr[9], buf[64];
    // HELLO
    if (!rpc_raw_recv_all(fd, hdr, 9) || !rpc_raw_recv_all(fd, buf, 24)) {
        close(fd);
        return NULL;
    }
    uint8_t hello[8 + 28] = { 28 };
    hello[8] = f->kind == FAKE_WRONG_VERSION ? 4 : 5;
    hello[9] = f->kind == FAKE_WRONG_VERSION ? 0 : 1;
    send(fd, hello, sizeof(hello), MSG_NOSIGNAL);
    while (!f->stop) {
        if (!rpc_raw_recv_all(fd, hdr, 9)) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            break;
        }
        uint64_t n = get64(hdr + 1);
        if (n > sizeof(buf) || !rpc_raw_recv_all(fd, buf, (size_t) n)) {
            break;
        }
        if (hdr[0] == 15) { // DEVICE_COUNT answered properly
            uint8_t r[12] = { 4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
            send(fd, r, sizeof(r), MSG_NOSIGNAL);
            continue;
        }
        if (f->kind == FAKE_CUT_REPLY) {
            uint8_t r[11] = { 8, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 }; // 8 bytes announced, 3 sent
            send(fd, r, sizeof(r), MSG_NOSIGNAL);
            break;
        }
        if (f->kind == FAKE_WRONG_SIZE) {
            uint8_t r[12] = { 4, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0 };
            send(fd, r, sizeof(r), MSG_NOSIGNAL);
            continue;
        }
        // FAKE_STALL: never answers
    }
    close(fd);
    return NULL;
}

static bool fake_start(struct fake_server * f, enum fake_kind kind) {
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { 0 };
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    if (bind(f->listen_fd, (struct sockaddr *) &a, sizeof(a)) != 0 || listen(f->listen_fd, 1) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *) &a, &len) != 0) {
        close(f->listen_fd);
        return false;
    }
    f->port = ntohs(a.sin_port);
    return pthread_create(&f->thread, NULL, fake_main, f) == 0;
}

static void fake_stop(struct fake_server * f) {
    f->stop = 1;
    shutdown(f->listen_fd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

static void test_fake(enum fake_kind kind, const char * expect1, const char * expect2) {
    struct fake_server f;
    CHECK(fake_start(&f, kind));
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", f.port);
    log_capture_begin();
    int64_t t0 = now_ms();
    ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
    int64_t dt = now_ms() - t0;
    log_capture_end();
    CHECK(buft == NULL);
    CHECK(dt < 5000);
    CHECK(log_captured(endpoint));
    CHECK(log_captured(expect1));
    CHECK(log_captured(expect2));
    if (!log_captured(expect2)) {
        fprintf(stderr, "  log was: %s\n", log_capture_buf);
    }
    fake_stop(&f);
}

static void test_endpoints(void) {
    char host[64];
    int port = -1;
    CHECK(rpc_parse_endpoint("127.0.0.1:50052", host, sizeof(host), &port) && strcmp(host, "127.0.0.1") == 0 && port == 50052);
    CHECK(rpc_parse_endpoint("[::1]:7", host, sizeof(host), &port) && strcmp(host, "::1") == 0 && port == 7);
    CHECK(rpc_parse_endpoint("localhost:0", host, sizeof(host), &port) && port == 0);
    const char * bad[] = { "host:", ":5", "h:70000", "h:12a", "nohost", "[]:5", "h:-1", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(!rpc_parse_endpoint(bad[i], host, sizeof(host), &port));
    }
    CHECK(!rpc_parse_endpoint("a-host-name-longer-than-the-buffer-given:1", host, 8, &port));
    CHECK(!rpc_parse_endpoint(NULL, host, sizeof(host), &port));
}

static void test_faults(void) {
    // refused connection
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", rpc_free_port());
    log_capture_begin();
    ggml_backend_t b = ggml_backend_rpc_init(endpoint, 0);
    log_capture_end();
    CHECK(b == NULL);
    CHECK(log_captured(endpoint) && log_captured("cannot connect"));
    CHECK(ggml_backend_rpc_buffer_type("no-port-here", 0) == NULL);
    CHECK(ggml_backend_rpc_add_server(endpoint) == NULL);
    size_t fm = 1, tm = 1;
    ggml_backend_rpc_get_device_memory(endpoint, 0, &fm, &tm);
    CHECK(fm == 0 && tm == 0);

    test_fake(FAKE_WRONG_VERSION, "HELLO", "protocol 4.0.0");
    test_fake(FAKE_CUT_REPLY, "GET_ALIGNMENT", "connection closed");
    test_fake(FAKE_WRONG_SIZE, "GET_ALIGNMENT", "4 bytes, 8 expected");
    ggalloc_rpc_set_timeouts(0, 300);
    test_fake(FAKE_STALL, "GET_ALIGNMENT", "timed out");
    ggalloc_rpc_set_timeouts(0, 120000);
}

// A server killed (or stopped) while a client holds buffers on it: every use fails with a log
// line naming the endpoint and the command, nothing the caller holds is touched, the buffers
// can still be freed, and once a server is back at the endpoint the client connects again.
// restart returns false when no server could be brought back.
static void test_server_gone(const char * endpoint, void (*kill_server)(void *), bool (*restart)(void *), void * arg) {
    ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
    ggml_backend_t rpc = ggml_backend_rpc_init(endpoint, 0);
    CHECK(buft != NULL && rpc != NULL);
    if (buft == NULL || rpc == NULL) {
        ggml_backend_free(rpc);
        return;
    }
    struct add_graph G = add_graph_new(64, 8);
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    CHECK(ggml_gallocr_alloc_graph(galloc, G.g));
    float a[64 * 8], sentinel[64 * 8];
    fill(a, 64 * 8, 1);
    ggml_backend_tensor_set(G.a, a, 0, sizeof(a));
    kill_server(arg);
    for (int i = 0; i < 64 * 8; i++) sentinel[i] = 1234.5f;
    memcpy(a, sentinel, sizeof(a));
    log_capture_begin();
    ggml_backend_tensor_get(G.a, a, 0, sizeof(a));
    enum ggml_status st = ggml_backend_graph_compute(rpc, G.g);
    log_capture_end();
    CHECK(memcmp(a, sentinel, sizeof(a)) == 0);
    CHECK(st == GGML_STATUS_FAILED);
    CHECK(log_captured(endpoint) && log_captured("GET_TENSOR"));
    ggml_gallocr_free(galloc); // frees the remote buffer without a server: no crash, no leak
    ggml_free(G.ctx);
    if (restart(arg)) {
        float out[64 * 32];
        CHECK(run_add_graph(rpc, buft, 5, out, false, 1));
        CHECK(isfinite(out[0]));
    }
    ggml_backend_free(rpc);
}

struct peer_ctl {
    const char * path;
    int          port;
    pid_t        pid;
};

static void peer_kill(void * arg) {
    struct peer_ctl * p = arg;
    rpc_peer_stop(p->pid);
    p->pid = -1;
}

static bool peer_restart(void * arg) {
    struct peer_ctl * p = arg;
    p->pid = rpc_peer_start(p->path, p->port);
    return p->pid > 0;
}

struct ours_ctl {
    ggalloc_rpc_server_t srv;
    ggml_backend_t       cpu;
    int                  port;
};

static void ours_kill(void * arg) {
    struct ours_ctl * o = arg;
    ggalloc_rpc_server_free(o->srv);
    o->srv = NULL;
}

static bool ours_restart(void * arg) {
    struct ours_ctl * o = arg;
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", o->port);
    o->srv = ggalloc_rpc_server_start(endpoint, &o->cpu, 1);
    return o->srv != NULL;
}

struct kill_later {
    pid_t pid;
    int   ms;
};

static void * kill_later_main(void * arg) {
    struct kill_later * k = arg;
    rpc_sleep_ms(k->ms);
    kill(k->pid, SIGKILL);
    return NULL;
}

// ggml's server killed while it computes a graph: graph_compute fails, in bounded time.
static void test_killed_mid_graph(const char * path) {
    int port = rpc_free_port();
    pid_t pid = rpc_peer_start(path, port);
    CHECK(pid > 0);
    if (pid <= 0) {
        return;
    }
    char endpoint[64];
    snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", port);
    ggml_backend_t rpc = ggml_backend_rpc_init(endpoint, 0);
    ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
    // a long chain of adds over 4 Mi floats: a second of work for one thread, or less
    struct ggml_init_params p = { ggml_tensor_overhead() * 600 + ggml_graph_overhead(), NULL, true };
    struct ggml_context * ctx = ggml_init(p);
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1 << 22);
    struct ggml_tensor * y = x;
    for (int i = 0; i < 500; i++) {
        y = ggml_add(ctx, y, x);
    }
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, y);
    ggml_gallocr_t galloc = ggml_gallocr_new(buft);
    CHECK(rpc != NULL && galloc != NULL && ggml_gallocr_alloc_graph(galloc, g));
    struct kill_later k = { pid, 300 };
    pthread_t th;
    pthread_create(&th, NULL, kill_later_main, &k);
    log_capture_begin();
    int64_t t0 = now_ms();
    // on a machine whose cache holds both vectors the chain may end before the kill: then the
    // server dies during a later compute, or before it
    enum ggml_status st = GGML_STATUS_SUCCESS;
    for (int tries = 0; tries < 100 && st == GGML_STATUS_SUCCESS && now_ms() - t0 < 5000; tries++) {
        st = ggml_backend_graph_compute(rpc, g);
    }
    int64_t dt = now_ms() - t0;
    log_capture_end();
    pthread_join(th, NULL);
    waitpid(pid, NULL, 0);
    CHECK(st == GGML_STATUS_FAILED);
    CHECK(dt < 10000);
    CHECK(log_captured(endpoint) && log_captured("GRAPH_COMPUTE"));
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    ggml_backend_free(rpc);
}

// ggalloc's server serving a Vulkan device: the client sees the device's limits, and tensors
// travel through the server's bounce buffer (the device memory is not the host's).
static void test_vulkan_server(ggml_backend_t cpu) {
#ifdef GGALLOC_USE_VULKAN
    if (ggml_backend_vk_get_device_count() == 0) {
        printf("  SKIP: no Vulkan device: no RPC test serving one\n");
        return;
    }
    ggml_backend_t vk = ggml_backend_vk_init(0);
    CHECK(vk != NULL);
    ggalloc_rpc_server_t srv = vk ? ggalloc_rpc_server_start("127.0.0.1:0", &vk, 1) : NULL;
    CHECK(srv != NULL);
    if (srv != NULL) {
        char endpoint[64];
        snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", ggalloc_rpc_server_port(srv));
        printf("  client against ggalloc serving %s at %s\n", ggml_backend_name(vk), endpoint);
        ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type(endpoint, 0);
        ggml_backend_buffer_type_t vk_buft = ggml_backend_get_default_buffer_type(vk);
        CHECK(buft != NULL);
        CHECK(ggml_backend_buft_get_alignment(buft) == ggml_backend_buft_get_alignment(vk_buft));
        CHECK(ggml_backend_buft_get_max_size(buft) == ggml_backend_buft_get_max_size(vk_buft));
        ggml_backend_t rpc = ggml_backend_rpc_init(endpoint, 0);
        enum { N = 64 * 32 };
        float remote[N], local[N];
        CHECK(rpc != NULL && run_add_graph(rpc, buft, 21, remote, true, 1));
        CHECK(run_add_graph(cpu, ggml_backend_cpu_buffer_type(), 21, local, false, 1));
        CHECK(memcmp(remote, local, sizeof(local)) == 0);
        ggml_backend_free(rpc);
    }
    ggalloc_rpc_server_free(srv);
    ggml_backend_free(vk);
#else
    (void) cpu;
    printf("  SKIP: built without Vulkan: no RPC test serving a Vulkan device\n");
#endif
}

int main(void) {
    ggml_time_init();
    ggml_backend_t cpu = ggml_backend_cpu_init();
    CHECK(cpu != NULL);

    // ggalloc's server on a port the system chooses
    ggalloc_rpc_server_t srv = ggalloc_rpc_server_start("127.0.0.1:0", &cpu, 1);
    CHECK(srv != NULL);
    CHECK(ggalloc_rpc_server_start("127.0.0.1", &cpu, 1) == NULL);
    CHECK(ggalloc_rpc_server_start("127.0.0.1:0", NULL, 1) == NULL);
    ggalloc_rpc_server_free(NULL);
    char ours[64];
    snprintf(ours, sizeof(ours), "127.0.0.1:%d", ggalloc_rpc_server_port(srv));
    test_client(ours, "ggalloc", cpu);
    test_kept_graphs(ours, cpu);

    const char * peer = rpc_peer_path();
    if (peer == NULL) {
        printf("  SKIP: ggml's RPC server (../shared/peers/ggml-rpc-server) is absent: no tests against it\n");
    } else {
        int port = rpc_free_port();
        pid_t pid = rpc_peer_start(peer, port);
        CHECK(pid > 0);
        if (pid > 0) {
            char endpoint[64];
            snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", port);
            test_client(endpoint, "ggml", cpu);
            test_kept_graphs(endpoint, cpu);
            // the client's connection holds the servers (they serve one client at a time): the
            // raw conversations go to a second peer and a second server of ours
            int port2 = rpc_free_port();
            pid_t pid2 = rpc_peer_start(peer, port2);
            CHECK(pid2 > 0);
            ggalloc_rpc_server_t srv2 = ggalloc_rpc_server_start("127.0.0.1:0", &cpu, 1);
            if (pid2 > 0 && srv2 != NULL) {
                test_replies(port2, ggalloc_rpc_server_port(srv2));
            }
            ggalloc_rpc_server_free(srv2);
            rpc_peer_stop(pid2);
            struct peer_ctl pc = { peer, port, pid };
            test_server_gone(endpoint, peer_kill, peer_restart, &pc);
            rpc_peer_stop(pc.pid);
            test_killed_mid_graph(peer);
        }
    }

    // ggalloc's server stopped under a client, then started again on the same port
    struct ours_ctl oc = { srv, cpu, ggalloc_rpc_server_port(srv) };
    test_server_gone(ours, ours_kill, ours_restart, &oc);
    ggalloc_rpc_server_free(oc.srv);

    test_vulkan_server(cpu);
    test_endpoints();
    test_faults();
    ggml_backend_free(cpu);
    return check_report("test-rpc");
}
