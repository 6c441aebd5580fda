#define _GNU_SOURCE // struct timeval, nanosleep

// A fuzzer over the request stream of ggalloc's RPC server: each round opens a connection,
// allocates a real buffer, then sends a few requests made from valid templates (every command,
// graphs included) and mutated: bytes flipped, fields set to edge values (0, all ones, just
// outside the buffer, huge), the size header changed, the command byte changed, the payload cut
// short. The server must answer what is valid, drop the connection on what is not, and stay
// alive and correct: every few rounds a clean client checks it still answers. Run under ASan
// and UBSan by `make test`, so an out-of-bounds access, a leak or undefined behaviour fails it.
// 300 rounds here; GGALLOC_LONG=1 runs 20000.

#include "ggml.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggalloc.h"

#include "check.h"
#include "test-rpc.h"

#include <stdatomic.h>

static atomic_int n_errors;

static void count_log(enum ggml_log_level level, const char * text, void * user_data) {
    (void) text;
    (void) user_data;
    if (level == GGML_LOG_LEVEL_ERROR) {
        atomic_fetch_add(&n_errors, 1);
    }
}

static uint64_t rng_state;

static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void put32(uint8_t * p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t * p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t * p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void rec(uint8_t * r, uint64_t id, uint64_t buffer, uint64_t data, uint32_t n, uint32_t op, uint64_t s0, uint64_t s1) {
    memset(r, 0, 296);
    put64(r, id);
    put32(r + 8, GGML_TYPE_F32);
    put64(r + 12, buffer);
    put32(r + 20, n); put32(r + 24, 1); put32(r + 28, 1); put32(r + 32, 1);
    put32(r + 36, 4); put32(r + 40, 4 * n); put32(r + 44, 4 * n); put32(r + 48, 4 * n);
    put32(r + 52, op);
    put32(r + 120, op ? 16 : 0);
    put64(r + 124, s0);
    put64(r + 132, s1);
    put64(r + 220, data);
    snprintf((char *) r + 228, 64, "f%u", (unsigned) id);
}

#define MAXREQ (4 + 11 * 296 + 64)

// A valid request: its command and payload (returns the payload size).
static size_t make_request(int which, uint64_t buf, uint64_t base, int * cmd, uint8_t * p) {
    memset(p, 0, MAXREQ);
    const uint32_t n = 1 + (uint32_t) (rnd() % 16);
    const uint64_t off = 4 * (rnd() % 8) * 16;
    switch (which) {
        case 0:  *cmd = 0;  put32(p, 0); put64(p + 4, 1 + rnd() % 8192); return 12;        // ALLOC_BUFFER
        case 1:  *cmd = 1;  return 4;                                                     // GET_ALIGNMENT
        case 2:  *cmd = 2;  return 4;                                                     // GET_MAX_SIZE
        case 3:  *cmd = 3;  put64(p, buf); return 8;                                      // BUFFER_GET_BASE
        case 4:  *cmd = 5;  put64(p, buf); p[8] = (uint8_t) rnd(); return 9;             // BUFFER_CLEAR
        case 5:  *cmd = 6;  rec(p, 1, buf, base + off, n, 0, 0, 0); put64(p + 296, 0);    // SET_TENSOR
                 for (uint32_t i = 0; i < 4 * n; i++) p[304 + i] = (uint8_t) rnd();
                 return 304 + 4 * n;
        case 6:  *cmd = 7;  rec(p, 1, buf, base + off, n, 0, 0, 0); put64(p + 304, rnd()); return 312; // SET_TENSOR_HASH
        case 7:  *cmd = 8;  rec(p, 1, buf, base + off, n, 0, 0, 0); put64(p + 304, 4 * n); return 312; // GET_TENSOR
        case 8:  *cmd = 9;  rec(p, 1, buf, base + off, n, 0, 0, 0); rec(p + 296, 2, buf, base + 2048, n, 0, 0, 0); return 592;
        case 9:  *cmd = 11; return 4;                                                     // GET_DEVICE_MEMORY
        case 10: *cmd = 12; rec(p, 1, buf, base + off, n, 0, 0, 0); return 296;           // INIT_TENSOR
        case 11: *cmd = 13; rec(p + 4, 1, 0, 0, n, 0, 0, 0); return 4 + 11 * 296;         // GET_ALLOC_SIZE
        case 12: *cmd = 15; return 0;                                                     // DEVICE_COUNT
        case 13: *cmd = 16; return 4;                                                     // GRAPH_RECOMPUTE
        case 14: *cmd = 17; rec(p, 1, buf, base + off, n, 0, 0, 0); put64(p + 296, 0); put64(p + 304, 4 * n); p[312] = 7;
                 return 313;                                                              // MEMSET_TENSOR
        case 15: *cmd = 4;  put64(p, buf); return 8;                                      // FREE_BUFFER
        default: {                                                                        // GRAPH_COMPUTE
            *cmd = 10;
            put32(p, 0); put32(p + 4, 2); put64(p + 8, 3); put64(p + 16, 4); put32(p + 24, 4);
            rec(p + 28, 1, buf, base, n, 0, 0, 0);
            rec(p + 28 + 296, 2, buf, base + 512, n, 0, 0, 0);
            rec(p + 28 + 592, 3, buf, base + 1024, n, GGML_OP_ADD, 1, 2);
            rec(p + 28 + 888, 4, buf, base + 1536, n, GGML_OP_ADD, 3, 1);
            return 28 + 4 * 296;
        }
    }
}

// Mutates a request in place; may change its command, size header and payload length.
static void mutate(int * cmd, uint8_t * p, size_t * n, uint64_t * header, uint64_t buf, uint64_t base) {
    switch (rnd() % 7) {
        case 0: // flip bytes
            for (int k = 0; k < 1 + (int) (rnd() % 4) && *n > 0; k++) {
                p[rnd() % *n] ^= (uint8_t) (1u << (rnd() % 8));
            }
            break;
        case 1: case 2: { // a field to an edge value
            if (*n < 8) break;
            static const int64_t deltas[] = { 0, 1, -1, 4, -4, 4096, 4097, -4096 };
            uint64_t v;
            switch (rnd() % 6) {
                case 0:  v = 0; break;
                case 1:  v = UINT64_MAX; break;
                case 2:  v = base + (uint64_t) deltas[rnd() % 8]; break;
                case 3:  v = buf + (uint64_t) deltas[rnd() % 8]; break;
                case 4:  v = (uint64_t) 1 << (rnd() % 64); break;
                default: v = rnd(); break;
            }
            size_t at = rnd() % (*n - 7);
            if (rnd() % 2) { put64(p + at, v); } else { put32(p + at, (uint32_t) v); }
            break;
        }
        case 3: // the size header lies
            *header = rnd() % 2 ? *header + (rnd() % 64) - 32 : rnd() % 3 == 0 ? UINT64_MAX : rnd() % (1u << 20);
            break;
        case 4: // another command
            *cmd = (int) (rnd() % 256);
            break;
        case 5: // cut short
            *n = *n > 0 ? rnd() % *n : 0;
            break;
        default: // a graph's counts
            if (*cmd == 10 && *n >= 28) {
                put32(p + 4 + 20 * (rnd() % 2), (uint32_t) (rnd() % 2 ? rnd() : rnd() % 8));
            }
            break;
    }
}

static bool alive(int port) {
    int fd = rpc_raw_connect(port);
    if (fd < 0) {
        return false;
    }
    uint8_t caps[24] = { 0 }, out[32];
    bool ok = rpc_raw_send(fd, 14, caps, 24) && rpc_raw_reply(fd, out, sizeof(out)) == 28 && out[0] == 5 &&
              rpc_raw_send(fd, 15, NULL, 0) && rpc_raw_reply(fd, out, sizeof(out)) == 4 && out[0] == 1;
    close(fd);
    return ok;
}

static void round_trip(int port, uint64_t seed) {
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    int fd = rpc_raw_connect(port);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint8_t caps[40] = { 0 }, out[64];
    uint64_t buf = 0, base = 0;
    if (rnd() % 16 == 0) {
        rpc_raw_send(fd, rnd() % 2 ? 14 : (int) (rnd() % 256), caps, rnd() % 40); // a bad greeting
    } else {
        rpc_raw_send(fd, 14, caps, 24);
        rpc_raw_reply(fd, out, sizeof(out));
        uint8_t req[12];
        put32(req, 0);
        put64(req + 4, 4096);
        rpc_raw_send(fd, 0, req, 12);
        if (rpc_raw_reply(fd, out, sizeof(out)) == 16) {
            buf = get64(out);
        }
        rpc_raw_send(fd, 3, out, 8);
        if (rpc_raw_reply(fd, out, sizeof(out)) == 8) {
            base = get64(out);
        }
    }
    static uint8_t p[MAXREQ];
    const int n_req = 1 + (int) (rnd() % 6);
    for (int i = 0; i < n_req; i++) {
        int cmd;
        size_t n = make_request((int) (rnd() % 18), buf, base, &cmd, p);
        uint64_t header = n;
        if (rnd() % 3 != 0) {
            mutate(&cmd, p, &n, &header, buf, base);
        }
        uint8_t hdr[9];
        hdr[0] = (uint8_t) cmd;
        memcpy(hdr + 1, &header, 8);
        if (send(fd, hdr, 9, MSG_NOSIGNAL) != 9 || (n > 0 && send(fd, p, n, MSG_NOSIGNAL) != (ssize_t) n)) {
            break; // the server already closed the connection
        }
    }
    shutdown(fd, SHUT_WR);
    char sink[4096];
    while (recv(fd, sink, sizeof(sink), 0) > 0) {
    }
    close(fd);
}

// A kept graph whose buffer was freed is refused at GRAPH_RECOMPUTE (it would read freed
// memory), while it runs again as long as its buffer lives.
static void test_recompute_after_free(int port) {
    int fd = rpc_raw_connect(port);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    uint8_t caps[24] = { 0 }, out[64], req[12];
    rpc_raw_send(fd, 14, caps, 24);
    CHECK(rpc_raw_reply(fd, out, sizeof(out)) == 28);
    put32(req, 0);
    put64(req + 4, 4096);
    rpc_raw_send(fd, 0, req, 12);
    CHECK(rpc_raw_reply(fd, out, sizeof(out)) == 16);
    const uint64_t buf = get64(out);
    rpc_raw_send(fd, 3, out, 8);
    CHECK(rpc_raw_reply(fd, out, sizeof(out)) == 8);
    const uint64_t base = get64(out);
    static uint8_t p[MAXREQ];
    int cmd;
    size_t n = make_request(16, buf, base, &cmd, p); // the graph
    rpc_raw_send(fd, cmd, p, n);
    put32(req, 0);
    rpc_raw_send(fd, 16, req, 4);                      // GRAPH_RECOMPUTE: fine
    rpc_raw_send(fd, 15, NULL, 0);
    CHECK(rpc_raw_reply(fd, out, sizeof(out)) == 4);   // DEVICE_COUNT answered: still connected
    put64(req, buf);
    rpc_raw_send(fd, 4, req, 8);                       // FREE_BUFFER
    CHECK(rpc_raw_reply(fd, out, sizeof(out)) == 0);
    put32(req, 0);
    rpc_raw_send(fd, 16, req, 4);                      // GRAPH_RECOMPUTE of a graph in freed memory
    CHECK(rpc_raw_closed(fd));
    close(fd);
}

int main(void) {
    const char * env = getenv("GGALLOC_LONG");
    const int rounds = env != NULL && *env && strcmp(env, "0") != 0 ? 20000 : 300;
    ggml_backend_t cpu = ggml_backend_cpu_init();
    ggalloc_rpc_server_t srv = ggalloc_rpc_server_start("127.0.0.1:0", &cpu, 1);
    CHECK(srv != NULL);
    if (srv == NULL) {
        return check_report("test-rpc-fuzz");
    }
    const int port = ggalloc_rpc_server_port(srv);
    // a mutated size could ask for gigabytes (legitimately), and a clear would then touch them
    ggalloc_rpc_server_set_memory_limit(srv, 1 << 20);
    ggml_log_set(count_log, NULL);
    test_recompute_after_free(port);
    CHECK(alive(port));
    int dead = 0;
    for (int r = 0; r < rounds && dead == 0; r++) {
        round_trip(port, (uint64_t) r);
        if (r % 10 == 9 && !alive(port)) {
            fprintf(stderr, "the server stopped answering after round %d\n", r);
            dead = 1;
        }
    }
    CHECK(dead == 0);
    CHECK(alive(port));
    ggml_log_set(NULL, NULL);
    printf("  %d rounds, %d requests refused with a logged error\n", rounds, atomic_load(&n_errors));
    CHECK(atomic_load(&n_errors) > rounds / 10); // the mutations were seen and refused
    ggalloc_rpc_server_free(srv);
    ggml_backend_free(cpu);
    return check_report("test-rpc-fuzz");
}
