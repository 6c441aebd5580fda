// The RPC client: buffer types, buffers, backends, devices and registries whose memory and
// computation live on a server that speaks ggml's RPC protocol (ggml's server or ours).
//
// One TCP connection per endpoint carries every request to that server, one request/reply at a
// time (a mutex per connection). A server keeps a client's buffers only as long as its
// connection lasts, so a buffer holds a reference to the connection it was allocated on: when
// that connection fails (a timeout, a closed socket, a reply of the wrong size) it is closed and
// marked dead, every later use of those buffers fails with a log line instead of talking to a
// new connection whose server knows nothing of them, and the next allocation or backend on the
// endpoint connects again. Endpoints, devices and buffer types live as long as the process, as
// ggml's do; connections are freed when the last buffer or backend using them goes.
//
// Graphs travel as ggml serializes them: the node ids (the client's tensor addresses), then
// every tensor reachable from the nodes through src and view_src, sources before users, the
// nodes flagged as ggml flags the tensors a backend must compute; tensors outside this
// server's memory go without data (views inside a split), but a node the server computes may
// neither be nor read one. GRAPH_COMPUTE has no reply in the protocol, so graph_compute
// follows it with DEVICE_COUNT, whose reply arrives only after the server finished the graph:
// a server that rejected the graph or died while computing shows up there, as a failed status
// of this graph. The server keeps the last graph sent per device; a graph identical to it (as
// serialized, sources included) is run again by GRAPH_RECOMPUTE without sending it, as ggml's
// client does for identical nodes.

#include "ggml-rpc.h"
#include "ggalloc-rpc.h"

#include "backend-impl.h"
#include "ggml-impl.h"
#include "log.h"
#include "rpc-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int connect_timeout_ms = 5000;
static atomic_int io_timeout_ms      = 120000;

void ggalloc_rpc_set_timeouts(int connect_ms, int io_ms) {
    if (connect_ms > 0) {
        atomic_store(&connect_timeout_ms, connect_ms);
    }
    if (io_ms > 0) {
        atomic_store(&io_timeout_ms, io_ms);
    }
}

#define RPC_MAX_ENDPOINTS 64
#define RPC_ENDPOINT_MAX  128

// The graph a server keeps for one device (it keeps the last one sent per device).
struct rpc_kept_graph {
    uint8_t * bytes; // the GRAPH_COMPUTE payload
    size_t    size;
};

struct rpc_conn {
    char                    endpoint[RPC_ENDPOINT_MAX];
    int                     fd;     // -1 once the connection failed
    pthread_mutex_t         mutex;  // one request and its reply at a time; also guards kept
    int                     refs;   // under g_mutex: the endpoint's current-connection slot, buffers, backends
    struct rpc_kept_graph * kept;   // per device
    uint32_t                n_kept;
};

struct rpc_device;

struct rpc_endpoint {
    char                    endpoint[RPC_ENDPOINT_MAX];
    char                    reg_name[RPC_ENDPOINT_MAX + 8];
    struct rpc_conn *       conn; // the current connection, or NULL
    struct ggml_backend_reg reg;
    uint32_t                n_devices;
    struct rpc_device *     devices;
};

struct rpc_device {
    struct ggml_backend_device       dev;
    struct ggml_backend_buffer_type  buft;
    struct rpc_endpoint *            ep;
    uint32_t                         index;
    bool                             buft_ready; // alignment and max size asked
    size_t                           alignment;
    size_t                           max_size;
    char                             name[32];
    char                             buft_name[RPC_ENDPOINT_MAX + 32];
};

static pthread_mutex_t       g_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct rpc_endpoint * g_endpoints[RPC_MAX_ENDPOINTS];
static int                   g_n_endpoints = 0;
static int                   g_n_devices = 0; // devices are named RPC0, RPC1, ... across servers

//
// Connections
//

static void conn_destroy(struct rpc_conn * c) {
    if (c->fd >= 0) {
        close(c->fd);
    }
    for (uint32_t i = 0; i < c->n_kept; i++) {
        free(c->kept[i].bytes);
    }
    free(c->kept);
    pthread_mutex_destroy(&c->mutex);
    free(c);
}

static void conn_unref_locked(struct rpc_conn * c) {
    if (c != NULL && --c->refs == 0) {
        conn_destroy(c);
    }
}

static void conn_unref(struct rpc_conn * c) {
    pthread_mutex_lock(&g_mutex);
    conn_unref_locked(c);
    pthread_mutex_unlock(&g_mutex);
}

// Called with c->mutex held: logs why `what` failed and closes the connection for good.
static void conn_fail(struct rpc_conn * c, const char * what, const char * fmt, ...) GGML_ATTRIBUTE_FORMAT(3, 4);
static void conn_fail(struct rpc_conn * c, const char * what, const char * fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    GGML_LOG_ERROR("RPC[%s]: %s failed: %s; the connection is closed (buffers on it are lost)\n", c->endpoint, what, msg);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

// Sends cmd with a payload made of two pieces (so bulk data needs no copy) and, when out_size
// is not SIZE_MAX, receives a reply of exactly out_size bytes into out. `what` names the request
// in log lines. False (logged) on any failure.
static bool conn_call(struct rpc_conn * c, const char * what, int cmd, const void * in1, size_t n1,
        const void * in2, size_t n2, void * out, size_t out_size) {
    pthread_mutex_lock(&c->mutex);
    bool ok = false;
    if (c->fd < 0) {
        GGML_LOG_ERROR("RPC[%s]: %s: the connection to this server failed earlier\n", c->endpoint, what);
        goto done;
    }
    const int tmo = atomic_load(&io_timeout_ms);
    uint8_t hdr[9];
    hdr[0] = (uint8_t) cmd;
    rpc_put_u64(hdr + 1, (uint64_t) n1 + n2);
    enum rpc_io r = rpc_send_all(c->fd, hdr, sizeof(hdr), tmo);
    if (r == RPC_IO_OK && n1 > 0) {
        r = rpc_send_all(c->fd, in1, n1, tmo);
    }
    if (r == RPC_IO_OK && n2 > 0) {
        r = rpc_send_all(c->fd, in2, n2, tmo);
    }
    if (r != RPC_IO_OK) {
        conn_fail(c, what, "sending the request: %s", rpc_io_name(r));
        goto done;
    }
    if (out_size != SIZE_MAX) {
        uint8_t szb[8];
        if ((r = rpc_recv_all(c->fd, szb, 8, tmo, NULL)) != RPC_IO_OK) {
            conn_fail(c, what, "waiting for the reply: %s", rpc_io_name(r));
            goto done;
        }
        uint64_t got = rpc_get_u64(szb);
        if (got != out_size) {
            conn_fail(c, what, "the reply has %" PRIu64 " bytes, %zu expected", got, out_size);
            goto done;
        }
        if (out_size > 0 && (r = rpc_recv_all(c->fd, out, out_size, tmo, NULL)) != RPC_IO_OK) {
            conn_fail(c, what, "reading the %zu-byte reply: %s", out_size, rpc_io_name(r));
            goto done;
        }
    }
    ok = true;
done:
    pthread_mutex_unlock(&c->mutex);
    return ok;
}

#define NO_REPLY SIZE_MAX

// A new connection to endpoint that passed the version handshake; NULL (logged) otherwise.
static struct rpc_conn * conn_open(const char * endpoint) {
    char host[RPC_ENDPOINT_MAX];
    int port;
    if (!rpc_parse_endpoint(endpoint, host, sizeof(host), &port)) {
        GGML_LOG_ERROR("RPC: bad endpoint \"%s\" (expected host:port)\n", endpoint);
        return NULL;
    }
    enum rpc_io err;
    int fd = rpc_socket_connect(host, port, atomic_load(&connect_timeout_ms), &err);
    if (fd < 0) {
        GGML_LOG_ERROR("RPC[%s]: cannot connect: %s\n", endpoint,
                err == RPC_IO_TIMEOUT ? "timed out" : strerror(errno));
        return NULL;
    }
    struct rpc_conn * c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        GGML_LOG_ERROR("RPC[%s]: out of memory\n", endpoint);
        return NULL;
    }
    snprintf(c->endpoint, sizeof(c->endpoint), "%s", endpoint);
    c->fd = fd;
    c->refs = 1;
    pthread_mutex_init(&c->mutex, NULL);

    uint8_t caps[RPC_CAPS_SIZE] = { 0 };
    uint8_t rsp[RPC_HELLO_RSP_SIZE];
    if (!conn_call(c, "HELLO", RPC_CMD_HELLO, caps, sizeof(caps), NULL, 0, rsp, sizeof(rsp))) {
        conn_destroy(c); // not shared yet
        return NULL;
    }
    if (rsp[0] != RPC_PROTO_MAJOR_VERSION || rsp[1] > RPC_PROTO_MINOR_VERSION) {
        GGML_LOG_ERROR("RPC[%s]: HELLO: the server speaks protocol %d.%d.%d, this client %d.%d.%d\n", endpoint,
                rsp[0], rsp[1], rsp[2], RPC_PROTO_MAJOR_VERSION, RPC_PROTO_MINOR_VERSION, RPC_PROTO_PATCH_VERSION);
        conn_destroy(c);
        return NULL;
    }
    return c;
}

// The endpoint's working connection (connecting again if the last one failed), with a
// reference for the caller. Called with g_mutex held. NULL (logged) if it cannot be had.
static struct rpc_conn * conn_get_locked(struct rpc_endpoint * ep) {
    if (ep->conn != NULL && ep->conn->fd < 0) {
        conn_unref_locked(ep->conn);
        ep->conn = NULL;
    }
    if (ep->conn == NULL) {
        ep->conn = conn_open(ep->endpoint);
        if (ep->conn == NULL) {
            return NULL;
        }
    }
    ep->conn->refs++;
    return ep->conn;
}

static struct rpc_conn * conn_get(struct rpc_endpoint * ep) {
    pthread_mutex_lock(&g_mutex);
    struct rpc_conn * c = conn_get_locked(ep);
    pthread_mutex_unlock(&g_mutex);
    return c;
}

//
// Tensors on the wire
//

static void buffer_free(ggml_backend_buffer_t buffer);

struct rpc_buffer_ctx {
    struct rpc_conn * conn;
    uint64_t          remote_ptr;
    uint64_t          base;
};

static bool buffer_is_rpc(ggml_backend_buffer_t b) {
    return b != NULL && b->iface.free_buffer == buffer_free;
}

// A tensor's record. Its data travels only when it lies in a buffer of this server (on conn,
// or on any connection when conn is NULL); other tensors go without data, as ggml's client
// sends them (a view in host memory inside a split, never read there).
static void tensor_to_rpc(const struct ggml_tensor * t, struct rpc_tensor * r, const struct rpc_conn * conn) {
    memset(r, 0, sizeof(*r));
    if (t == NULL) {
        return;
    }
    r->id = (uint64_t) (uintptr_t) t;
    r->type = (uint32_t) t->type;
    if (buffer_is_rpc(t->buffer) && (conn == NULL || ((struct rpc_buffer_ctx *) t->buffer->context)->conn == conn)) {
        r->buffer = ((struct rpc_buffer_ctx *) t->buffer->context)->remote_ptr;
        r->data = (uint64_t) (uintptr_t) t->data;
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        r->ne[i] = (uint32_t) t->ne[i];
        r->nb[i] = (uint32_t) t->nb[i];
    }
    r->op = (uint32_t) t->op;
    memcpy(r->op_params, t->op_params, sizeof(r->op_params));
    r->flags = t->flags;
    for (int i = 0; i < GGML_MAX_SRC; i++) {
        r->src[i] = (uint64_t) (uintptr_t) t->src[i];
    }
    r->view_src = (uint64_t) (uintptr_t) t->view_src;
    r->view_offs = t->view_offs;
    snprintf(r->name, sizeof(r->name), "%s", t->name);
}

// Whether the tensor's extents and strides fit the record's 32-bit fields.
static bool tensor_fits_wire(const struct ggml_tensor * t) {
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        if ((uint64_t) t->ne[i] > UINT32_MAX || (uint64_t) t->nb[i] > UINT32_MAX) {
            return false;
        }
    }
    return true;
}

static void tensor_wire(const struct ggml_tensor * t, uint8_t * out) {
    struct rpc_tensor r;
    tensor_to_rpc(t, &r, NULL);
    rpc_tensor_write(out, &r);
}

//
// Buffers
//

static void buffer_free(ggml_backend_buffer_t buffer) {
    struct rpc_buffer_ctx * ctx = buffer->context;
    uint8_t req[8];
    rpc_put_u64(req, ctx->remote_ptr);
    pthread_mutex_lock(&ctx->conn->mutex);
    const bool alive = ctx->conn->fd >= 0;
    pthread_mutex_unlock(&ctx->conn->mutex);
    if (alive) { // after a failure the server has freed it already
        conn_call(ctx->conn, "FREE_BUFFER", RPC_CMD_FREE_BUFFER, req, 8, NULL, 0, NULL, 0);
    }
    conn_unref(ctx->conn);
    free(ctx);
}

static void * buffer_get_base(ggml_backend_buffer_t buffer) {
    return (void *) (uintptr_t) ((struct rpc_buffer_ctx *) buffer->context)->base;
}

static enum ggml_status buffer_init_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor) {
    // As ggml's client: only quantized rows that a server may pad are announced.
    if (ggml_is_quantized(tensor->type) && tensor->ne[0] % 512 != 0 && tensor->view_src == NULL) {
        struct rpc_buffer_ctx * ctx = buffer->context;
        uint8_t req[RPC_TENSOR_SIZE];
        tensor_wire(tensor, req);
        if (!conn_call(ctx->conn, "INIT_TENSOR", RPC_CMD_INIT_TENSOR, req, sizeof(req), NULL, 0, NULL, 0)) {
            return GGML_STATUS_FAILED;
        }
    }
    return GGML_STATUS_SUCCESS;
}

static enum ggml_status buffer_memset_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor, uint8_t value,
        size_t offset, size_t size) {
    struct rpc_buffer_ctx * ctx = buffer->context;
    uint8_t req[RPC_TENSOR_SIZE + 17];
    tensor_wire(tensor, req);
    rpc_put_u64(req + RPC_TENSOR_SIZE, offset);
    rpc_put_u64(req + RPC_TENSOR_SIZE + 8, size);
    req[RPC_TENSOR_SIZE + 16] = value;
    return conn_call(ctx->conn, "MEMSET_TENSOR", RPC_CMD_MEMSET_TENSOR, req, sizeof(req), NULL, 0, NULL, 0)
        ? GGML_STATUS_SUCCESS : GGML_STATUS_FAILED;
}

static enum ggml_status buffer_set_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor, const void * data,
        size_t offset, size_t size) {
    struct rpc_buffer_ctx * ctx = buffer->context;
    uint8_t req[RPC_TENSOR_SIZE + 16];
    tensor_wire(tensor, req);
    rpc_put_u64(req + RPC_TENSOR_SIZE, offset);
    if (size > RPC_HASH_THRESHOLD) {
        // a server with a cache may hold these bytes already
        rpc_put_u64(req + RPC_TENSOR_SIZE + 8, rpc_fnv_hash(data, size));
        uint8_t found = 0;
        if (!conn_call(ctx->conn, "SET_TENSOR_HASH", RPC_CMD_SET_TENSOR_HASH, req, sizeof(req), NULL, 0, &found, 1)) {
            return GGML_STATUS_FAILED;
        }
        if (found) {
            return GGML_STATUS_SUCCESS;
        }
    }
    return conn_call(ctx->conn, "SET_TENSOR", RPC_CMD_SET_TENSOR, req, RPC_TENSOR_SIZE + 8, data, size, NULL, NO_REPLY)
        ? GGML_STATUS_SUCCESS : GGML_STATUS_FAILED;
}

static enum ggml_status buffer_get_tensor(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor, void * data,
        size_t offset, size_t size) {
    struct rpc_buffer_ctx * ctx = buffer->context;
    uint8_t req[RPC_TENSOR_SIZE + 16];
    tensor_wire(tensor, req);
    rpc_put_u64(req + RPC_TENSOR_SIZE, offset);
    rpc_put_u64(req + RPC_TENSOR_SIZE + 8, size);
    return conn_call(ctx->conn, "GET_TENSOR", RPC_CMD_GET_TENSOR, req, sizeof(req), NULL, 0, data, size)
        ? GGML_STATUS_SUCCESS : GGML_STATUS_FAILED;
}

static bool buffer_cpy_tensor(ggml_backend_buffer_t buffer, const struct ggml_tensor * src, struct ggml_tensor * dst) {
    struct rpc_buffer_ctx * ctx = buffer->context;
    if (!buffer_is_rpc(src->buffer) || ((struct rpc_buffer_ctx *) src->buffer->context)->conn != ctx->conn) {
        return false; // another server or host memory: the caller goes through the host
    }
    uint8_t req[2 * RPC_TENSOR_SIZE];
    tensor_wire(src, req);
    tensor_wire(dst, req + RPC_TENSOR_SIZE);
    uint8_t result = 0;
    if (!conn_call(ctx->conn, "COPY_TENSOR", RPC_CMD_COPY_TENSOR, req, sizeof(req), NULL, 0, &result, 1)) {
        return false;
    }
    return result != 0;
}

static enum ggml_status buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
    struct rpc_buffer_ctx * ctx = buffer->context;
    uint8_t req[9];
    rpc_put_u64(req, ctx->remote_ptr);
    req[8] = value;
    return conn_call(ctx->conn, "BUFFER_CLEAR", RPC_CMD_BUFFER_CLEAR, req, sizeof(req), NULL, 0, NULL, 0)
        ? GGML_STATUS_SUCCESS : GGML_STATUS_FAILED;
}

static const struct ggml_backend_buffer_i rpc_buffer_i = {
    .free_buffer   = buffer_free,
    .get_base      = buffer_get_base,
    .init_tensor   = buffer_init_tensor,
    .memset_tensor = buffer_memset_tensor,
    .set_tensor    = buffer_set_tensor,
    .get_tensor    = buffer_get_tensor,
    .cpy_tensor    = buffer_cpy_tensor,
    .clear         = buffer_clear,
    .reset         = NULL,
};

//
// Buffer types
//

static const char * buft_get_name(ggml_backend_buffer_type_t buft) {
    return ((struct rpc_device *) buft->context)->buft_name;
}

static ggml_backend_buffer_t buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    struct rpc_device * d = buft->context;
    struct rpc_conn * c = conn_get(d->ep);
    if (c == NULL) {
        return NULL;
    }
    uint8_t req[12], rsp[16];
    rpc_put_u32(req, d->index);
    rpc_put_u64(req + 4, size);
    if (!conn_call(c, "ALLOC_BUFFER", RPC_CMD_ALLOC_BUFFER, req, sizeof(req), NULL, 0, rsp, sizeof(rsp))) {
        conn_unref(c);
        return NULL;
    }
    uint64_t remote = rpc_get_u64(rsp), remote_size = rpc_get_u64(rsp + 8);
    if (remote == 0) {
        GGML_LOG_ERROR("RPC[%s]: ALLOC_BUFFER: the server could not allocate %zu bytes on device %u\n", d->ep->endpoint,
                size, d->index);
        conn_unref(c);
        return NULL;
    }
    struct rpc_buffer_ctx * ctx = calloc(1, sizeof(*ctx));
    ggml_backend_buffer_t buffer = NULL;
    uint8_t base[8];
    rpc_put_u64(req, remote);
    if (ctx == NULL) {
        GGML_LOG_ERROR("RPC[%s]: out of memory\n", d->ep->endpoint);
    } else if (conn_call(c, "BUFFER_GET_BASE", RPC_CMD_BUFFER_GET_BASE, req, 8, NULL, 0, base, 8)) {
        ctx->conn = c;
        ctx->remote_ptr = remote;
        ctx->base = rpc_get_u64(base);
        buffer = ggml_backend_buffer_init(buft, rpc_buffer_i, ctx, (size_t) remote_size);
    }
    if (buffer == NULL) {
        conn_call(c, "FREE_BUFFER", RPC_CMD_FREE_BUFFER, req, 8, NULL, 0, NULL, 0);
        free(ctx);
        conn_unref(c);
    }
    return buffer;
}

static size_t buft_get_alignment(ggml_backend_buffer_type_t buft) {
    return ((struct rpc_device *) buft->context)->alignment;
}

static size_t buft_get_max_size(ggml_backend_buffer_type_t buft) {
    return ((struct rpc_device *) buft->context)->max_size;
}

static size_t buft_get_alloc_size(ggml_backend_buffer_type_t buft, const struct ggml_tensor * tensor) {
    // As ggml's client: the server is asked only where a server may pad (quantized rows).
    if (!(ggml_is_quantized(tensor->type) && tensor->ne[0] % 512 != 0 && tensor->view_src == NULL)) {
        return ggml_nbytes(tensor);
    }
    struct rpc_device * d = buft->context;
    struct rpc_conn * c = conn_get(d->ep);
    if (c == NULL) {
        return ggml_nbytes(tensor);
    }
    uint8_t * req = calloc(1, 4 + (1 + GGML_MAX_SRC) * RPC_TENSOR_SIZE);
    uint8_t rsp[8];
    size_t size = ggml_nbytes(tensor);
    if (req != NULL) {
        rpc_put_u32(req, d->index);
        tensor_wire(tensor, req + 4);
        for (int i = 0; i < GGML_MAX_SRC; i++) {
            tensor_wire(tensor->src[i], req + 4 + (1 + i) * RPC_TENSOR_SIZE);
        }
        if (conn_call(c, "GET_ALLOC_SIZE", RPC_CMD_GET_ALLOC_SIZE, req, 4 + (1 + GGML_MAX_SRC) * RPC_TENSOR_SIZE, NULL, 0,
                    rsp, 8)) {
            size = (size_t) rpc_get_u64(rsp);
        }
        free(req);
    }
    conn_unref(c);
    return size;
}

static const struct ggml_backend_buffer_type_i rpc_buft_i = {
    .get_name       = buft_get_name,
    .alloc_buffer   = buft_alloc_buffer,
    .get_alignment  = buft_get_alignment,
    .get_max_size   = buft_get_max_size,
    .get_alloc_size = buft_get_alloc_size,
    .is_host        = NULL,
};

//
// Backends
//

struct rpc_backend_ctx {
    struct rpc_device * dev;
    char                name[RPC_ENDPOINT_MAX + 32];
};

static const char * backend_get_name(ggml_backend_t backend) {
    return ((struct rpc_backend_ctx *) backend->context)->name;
}

static void backend_free(ggml_backend_t backend) {
    free(backend->context);
    free(backend);
}

// A set of tensor addresses (open addressing), for the graph walk.
struct ptr_set {
    const void ** slots;
    size_t        cap;
};

static bool ptr_set_has(const struct ptr_set * s, const void * p) {
    size_t h = ((uintptr_t) p >> 4) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == p) {
            return true;
        }
        if (s->slots[i] == NULL) {
            return false;
        }
    }
}

static bool ptr_set_insert(struct ptr_set * s, const void * p) { // true if newly inserted
    size_t h = ((uintptr_t) p >> 4) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == p) {
            return false;
        }
        if (s->slots[i] == NULL) {
            s->slots[i] = p;
            return true;
        }
    }
}

static bool tensor_here(struct rpc_conn * c, const struct ggml_tensor * t) {
    return buffer_is_rpc(t->buffer) && ((struct rpc_buffer_ctx *) t->buffer->context)->conn == c;
}

static bool op_is_view(enum ggml_op op) {
    return op == GGML_OP_NONE || op == GGML_OP_VIEW || op == GGML_OP_RESHAPE || op == GGML_OP_PERMUTE ||
           op == GGML_OP_TRANSPOSE;
}

// Checks that t can be sent: its extents fit the record, and when it is a node the server
// computes, it and its sources have their data in this server's memory (on this connection).
static bool tensor_sendable(const struct rpc_backend_ctx * bctx, struct rpc_conn * c, const struct ggml_tensor * t,
        bool node) {
    char desc[160];
    if (!tensor_fits_wire(t)) {
        GGML_LOG_ERROR("%s: tensor %s has an extent or stride beyond 32 bits, which the protocol cannot carry\n",
                bctx->name, ggalloc_tensor_desc(t, desc, sizeof(desc)));
        return false;
    }
    if (!node || op_is_view(t->op)) {
        return true; // not computed there (views of memory elsewhere ride along without data)
    }
    for (int k = -1; k < GGML_MAX_SRC; k++) {
        const struct ggml_tensor * u = k < 0 ? t : t->src[k];
        if (u != NULL && u->data != NULL && !tensor_here(c, u)) {
            char ndesc[160];
            GGML_LOG_ERROR("%s: node %s %s tensor %s, which is in a %s buffer, not in memory of this server's current "
                    "connection\n", bctx->name, ggalloc_tensor_desc(t, ndesc, sizeof(ndesc)), k < 0 ? "is" : "reads",
                    ggalloc_tensor_desc(u, desc, sizeof(desc)), ggml_backend_buffer_name(u->buffer));
            return false;
        }
    }
    return true;
}

// The graph as ggml serializes it: | device u32 | n_nodes u32 | node ids u64... | n_tensors u32 |
// tensors... |, tensors in post order over src and view_src. NULL (logged) if a tensor cannot go.
static uint8_t * graph_serialize(const struct rpc_backend_ctx * bctx, struct rpc_conn * c, struct ggml_cgraph * g,
        size_t * out_size) {
    const int n_nodes = ggml_graph_n_nodes(g);
    size_t cap = 16;
    while (cap < (size_t) n_nodes * 4 * (GGML_MAX_SRC + 2)) {
        cap *= 2;
    }
    struct ptr_set seen = { calloc(cap, sizeof(void *)), cap };
    struct ptr_set nodes = { calloc(cap, sizeof(void *)), cap };
    const struct ggml_tensor ** order = malloc(cap / 2 * sizeof(*order));      // every distinct tensor once
    struct { const struct ggml_tensor * t; int next; } * stack = malloc(cap / 2 * sizeof(*stack));
    uint8_t * out = NULL;
    size_t n_order = 0;
    bool ok = seen.slots != NULL && nodes.slots != NULL && order != NULL && stack != NULL;
    for (int i = 0; ok && i < n_nodes; i++) {
        if (ggml_graph_node(g, i) != NULL) {
            ptr_set_insert(&nodes, ggml_graph_node(g, i));
        }
    }
    if (!ok) {
        GGML_LOG_ERROR("%s: out of memory serializing a graph of %d nodes\n", bctx->name, n_nodes);
    }
    for (int i = 0; ok && i < n_nodes; i++) {
        const struct ggml_tensor * root = ggml_graph_node(g, i);
        if (root == NULL || !ptr_set_insert(&seen, root)) {
            continue;
        }
        size_t sp = 0;
        stack[sp].t = root;
        stack[sp++].next = 0;
        while (ok && sp > 0) {
            const struct ggml_tensor * t = stack[sp - 1].t;
            int k = stack[sp - 1].next++;
            if (k <= GGML_MAX_SRC) {
                const struct ggml_tensor * child = k < GGML_MAX_SRC ? t->src[k] : t->view_src;
                if (child != NULL && ptr_set_insert(&seen, child)) {
                    if (n_order + sp >= cap / 2) {
                        GGML_LOG_ERROR("%s: graph of %d nodes reaches too many tensors\n", bctx->name, n_nodes);
                        ok = false;
                        break;
                    }
                    stack[sp].t = child;
                    stack[sp++].next = 0;
                }
                continue;
            }
            sp--;
            ok = tensor_sendable(bctx, c, t, ptr_set_has(&nodes, t));
            order[n_order++] = t;
        }
    }
    if (ok) {
        *out_size = 4 + 4 + (size_t) n_nodes * 8 + 4 + n_order * RPC_TENSOR_SIZE;
        out = malloc(*out_size);
        if (out == NULL) {
            GGML_LOG_ERROR("%s: out of memory for a serialized graph of %zu bytes\n", bctx->name, *out_size);
        }
    }
    if (out != NULL) {
        uint8_t * p = out;
        rpc_put_u32(p, bctx->dev->index); p += 4;
        rpc_put_u32(p, (uint32_t) n_nodes); p += 4;
        for (int i = 0; i < n_nodes; i++, p += 8) {
            rpc_put_u64(p, (uint64_t) (uintptr_t) ggml_graph_node(g, i));
        }
        rpc_put_u32(p, (uint32_t) n_order); p += 4;
        for (size_t i = 0; i < n_order; i++, p += RPC_TENSOR_SIZE) {
            struct rpc_tensor r;
            tensor_to_rpc(order[i], &r, c);
            if (ptr_set_has(&nodes, order[i])) {
                r.flags |= RPC_TENSOR_FLAG_COMPUTE;
            }
            rpc_tensor_write(p, &r);
        }
    }
    free(seen.slots);
    free(nodes.slots);
    free(order);
    free(stack);
    return out;
}

// Whether the server already keeps exactly this graph for the device (then GRAPH_RECOMPUTE
// runs it again); if not, the graph becomes the one the server will keep (*bytes is taken
// over and set to NULL). Graphs are compared as sent, sources included, so a graph with the
// same nodes whose inputs moved is sent again.
static bool graph_kept(struct rpc_conn * c, uint32_t device, uint8_t ** bytes, size_t size) {
    pthread_mutex_lock(&c->mutex);
    bool same = false;
    if (device >= c->n_kept) {
        struct rpc_kept_graph * k = realloc(c->kept, (size_t) (device + 1) * sizeof(*k));
        if (k != NULL) {
            memset(k + c->n_kept, 0, (size_t) (device + 1 - c->n_kept) * sizeof(*k));
            c->kept = k;
            c->n_kept = device + 1;
        }
    }
    if (device < c->n_kept) {
        struct rpc_kept_graph * k = &c->kept[device];
        same = k->bytes != NULL && k->size == size && memcmp(k->bytes, *bytes, size) == 0;
        if (!same) {
            free(k->bytes);
            k->bytes = *bytes;
            k->size = size;
            *bytes = NULL;
        }
    }
    pthread_mutex_unlock(&c->mutex);
    return same;
}

// Forgets the graph kept for the device (the server did not take it).
static void graph_forget(struct rpc_conn * c, uint32_t device) {
    pthread_mutex_lock(&c->mutex);
    if (device < c->n_kept) {
        free(c->kept[device].bytes);
        c->kept[device].bytes = NULL;
        c->kept[device].size = 0;
    }
    pthread_mutex_unlock(&c->mutex);
}

static enum ggml_status backend_graph_compute(ggml_backend_t backend, struct ggml_cgraph * cgraph) {
    struct rpc_backend_ctx * ctx = backend->context;
    const int n_nodes = ggml_graph_n_nodes(cgraph);
    if (n_nodes == 0) {
        return GGML_STATUS_SUCCESS;
    }
    struct rpc_conn * c = conn_get(ctx->dev->ep);
    if (c == NULL) {
        return GGML_STATUS_FAILED;
    }
    char what[64];
    size_t size = 0;
    uint8_t * req = graph_serialize(ctx, c, cgraph, &size);
    bool ok = req != NULL;
    if (ok) {
        // a copy to send: the kept one may be replaced by another thread's graph meanwhile
        uint8_t * copy = malloc(size);
        ok = copy != NULL;
        if (ok) {
            memcpy(copy, req, size);
        }
        if (ok && graph_kept(c, ctx->dev->index, &copy, size)) {
            uint8_t dev[4];
            rpc_put_u32(dev, ctx->dev->index);
            snprintf(what, sizeof(what), "GRAPH_RECOMPUTE of %d nodes", n_nodes);
            ok = conn_call(c, what, RPC_CMD_GRAPH_RECOMPUTE, dev, 4, NULL, 0, NULL, NO_REPLY);
        } else if (ok) {
            snprintf(what, sizeof(what), "GRAPH_COMPUTE of %d nodes", n_nodes);
            ok = conn_call(c, what, RPC_CMD_GRAPH_COMPUTE, req, size, NULL, 0, NULL, NO_REPLY);
        }
        free(copy);
    }
    free(req);
    // The reply to this request comes after the graph has run (or the server gave up on it).
    uint8_t count[4];
    ok = ok && conn_call(c, what, RPC_CMD_DEVICE_COUNT, NULL, 0, NULL, 0, count, 4);
    if (!ok) {
        graph_forget(c, ctx->dev->index);
    }
    conn_unref(c);
    return ok ? GGML_STATUS_SUCCESS : GGML_STATUS_FAILED;
}

static const struct ggml_backend_i rpc_backend_i = {
    .get_name         = backend_get_name,
    .free             = backend_free,
    .set_tensor_async = NULL,
    .get_tensor_async = NULL,
    .synchronize      = NULL,
    .graph_compute    = backend_graph_compute,
};

bool ggml_backend_is_rpc(ggml_backend_t backend) {
    return backend != NULL && backend->iface.get_name == backend_get_name;
}

//
// Devices and registries
//

static const char * dev_get_name(ggml_backend_dev_t dev) {
    return ((struct rpc_device *) dev->context)->name;
}

static const char * dev_get_description(ggml_backend_dev_t dev) {
    return ((struct rpc_device *) dev->context)->ep->endpoint;
}

static bool device_memory(struct rpc_device * d, size_t * free_mem, size_t * total) {
    *free_mem = 0;
    *total = 0;
    struct rpc_conn * c = conn_get(d->ep);
    if (c == NULL) {
        return false;
    }
    uint8_t req[4], rsp[16];
    rpc_put_u32(req, d->index);
    bool ok = conn_call(c, "GET_DEVICE_MEMORY", RPC_CMD_GET_DEVICE_MEMORY, req, 4, NULL, 0, rsp, 16);
    if (ok) {
        *free_mem = (size_t) rpc_get_u64(rsp);
        *total = (size_t) rpc_get_u64(rsp + 8);
    }
    conn_unref(c);
    return ok;
}

static void dev_get_memory(ggml_backend_dev_t dev, size_t * free_mem, size_t * total) {
    device_memory(dev->context, free_mem, total);
}

static enum ggml_backend_dev_type dev_get_type(ggml_backend_dev_t dev) {
    GGML_UNUSED(dev);
    return GGML_BACKEND_DEVICE_TYPE_GPU; // as ggml's client: the protocol does not say
}

static void dev_get_props(ggml_backend_dev_t dev, struct ggml_backend_dev_props * props) {
    props->name = dev_get_name(dev);
    props->description = dev_get_description(dev);
    props->type = dev_get_type(dev);
    props->device_id = NULL;
    dev_get_memory(dev, &props->memory_free, &props->memory_total);
    props->caps = (struct ggml_backend_dev_caps) { false, false, false, false };
}

static ggml_backend_t dev_init_backend(ggml_backend_dev_t dev, const char * params) {
    GGML_UNUSED(params);
    struct rpc_device * d = dev->context;
    return ggml_backend_rpc_init(d->ep->endpoint, d->index);
}

static ggml_backend_buffer_type_t dev_get_buffer_type(ggml_backend_dev_t dev) {
    struct rpc_device * d = dev->context;
    return ggml_backend_rpc_buffer_type(d->ep->endpoint, d->index);
}

static bool dev_supports_op(ggml_backend_dev_t dev, const struct ggml_tensor * op) {
    GGML_UNUSED(dev);
    return op != NULL; // as ggml's client: the protocol cannot ask
}

static bool dev_supports_buft(ggml_backend_dev_t dev, ggml_backend_buffer_type_t buft) {
    return buft == &((struct rpc_device *) dev->context)->buft;
}

static const struct ggml_backend_device_i rpc_device_i = {
    .get_name             = dev_get_name,
    .get_description      = dev_get_description,
    .get_memory           = dev_get_memory,
    .get_type             = dev_get_type,
    .get_props            = dev_get_props,
    .init_backend         = dev_init_backend,
    .get_buffer_type      = dev_get_buffer_type,
    .get_host_buffer_type = NULL,
    .buffer_from_host_ptr = NULL,
    .supports_op          = dev_supports_op,
    .supports_buft        = dev_supports_buft,
    .offload_op           = NULL,
};

static const char * ep_reg_get_name(ggml_backend_reg_t reg) {
    return ((struct rpc_endpoint *) reg->context)->reg_name;
}

static size_t ep_reg_get_device_count(ggml_backend_reg_t reg) {
    return ((struct rpc_endpoint *) reg->context)->n_devices;
}

static ggml_backend_dev_t ep_reg_get_device(ggml_backend_reg_t reg, size_t index) {
    struct rpc_endpoint * ep = reg->context;
    return index < ep->n_devices ? &ep->devices[index].dev : NULL;
}

static const struct ggml_backend_reg_i rpc_ep_reg_i = {
    .get_name         = ep_reg_get_name,
    .get_device_count = ep_reg_get_device_count,
    .get_device       = ep_reg_get_device,
    .get_proc_address = NULL,
};

// The endpoint's entry, created (asking the server for its devices) on first use. NULL (logged)
// if the server cannot be reached; a later call tries again.
static struct rpc_endpoint * endpoint_get(const char * endpoint) {
    if (endpoint == NULL || strlen(endpoint) >= RPC_ENDPOINT_MAX) {
        GGML_LOG_ERROR("RPC: endpoint is NULL or longer than %d characters\n", RPC_ENDPOINT_MAX - 1);
        return NULL;
    }
    pthread_mutex_lock(&g_mutex);
    struct rpc_endpoint * ep = NULL;
    for (int i = 0; i < g_n_endpoints; i++) {
        if (strcmp(g_endpoints[i]->endpoint, endpoint) == 0) {
            ep = g_endpoints[i];
            break;
        }
    }
    if (ep != NULL) {
        pthread_mutex_unlock(&g_mutex);
        return ep;
    }
    if (g_n_endpoints == RPC_MAX_ENDPOINTS) {
        GGML_LOG_ERROR("RPC[%s]: already %d servers known, no more fit\n", endpoint, RPC_MAX_ENDPOINTS);
        pthread_mutex_unlock(&g_mutex);
        return NULL;
    }
    ep = calloc(1, sizeof(*ep));
    if (ep == NULL) {
        GGML_LOG_ERROR("RPC[%s]: out of memory\n", endpoint);
        pthread_mutex_unlock(&g_mutex);
        return NULL;
    }
    snprintf(ep->endpoint, sizeof(ep->endpoint), "%s", endpoint);
    struct rpc_conn * c = conn_get_locked(ep);
    uint8_t count[4];
    bool ok = c != NULL && conn_call(c, "DEVICE_COUNT", RPC_CMD_DEVICE_COUNT, NULL, 0, NULL, 0, count, 4);
    uint32_t n = ok ? rpc_get_u32(count) : 0;
    if (ok && (n == 0 || n > 1024)) {
        GGML_LOG_ERROR("RPC[%s]: DEVICE_COUNT: the server reports %u devices\n", endpoint, n);
        ok = false;
    }
    if (ok && (ep->devices = calloc(n, sizeof(struct rpc_device))) == NULL) {
        GGML_LOG_ERROR("RPC[%s]: out of memory\n", endpoint);
        ok = false;
    }
    if (c != NULL) {
        conn_unref_locked(c); // the endpoint's own reference stays
    }
    if (!ok) {
        if (ep->conn != NULL) {
            conn_unref_locked(ep->conn);
        }
        free(ep->devices);
        free(ep);
        pthread_mutex_unlock(&g_mutex);
        return NULL;
    }
    snprintf(ep->reg_name, sizeof(ep->reg_name), "RPC[%s]", endpoint);
    ep->reg = (struct ggml_backend_reg) { .iface = rpc_ep_reg_i, .context = ep };
    ep->n_devices = n;
    for (uint32_t i = 0; i < n; i++) {
        struct rpc_device * d = &ep->devices[i];
        d->ep = ep;
        d->index = i;
        snprintf(d->name, sizeof(d->name), "RPC%d", g_n_devices++);
        snprintf(d->buft_name, sizeof(d->buft_name), "RPC%u[%s]", i, endpoint);
        d->dev = (struct ggml_backend_device) { .iface = rpc_device_i, .reg = &ep->reg, .context = d };
        d->buft = (struct ggml_backend_buffer_type) { .iface = rpc_buft_i, .device = &d->dev, .context = d };
    }
    g_endpoints[g_n_endpoints++] = ep;
    pthread_mutex_unlock(&g_mutex);
    return ep;
}

static struct rpc_device * device_get(const char * endpoint, uint32_t device) {
    struct rpc_endpoint * ep = endpoint_get(endpoint);
    if (ep == NULL) {
        return NULL;
    }
    if (device >= ep->n_devices) {
        GGML_LOG_ERROR("RPC[%s]: no device %u (the server has %u)\n", endpoint, device, ep->n_devices);
        return NULL;
    }
    return &ep->devices[device];
}

ggml_backend_buffer_type_t ggml_backend_rpc_buffer_type(const char * endpoint, uint32_t device) {
    struct rpc_device * d = device_get(endpoint, device);
    if (d == NULL) {
        return NULL;
    }
    pthread_mutex_lock(&g_mutex);
    bool ready = d->buft_ready;
    struct rpc_conn * c = ready ? NULL : conn_get_locked(d->ep);
    pthread_mutex_unlock(&g_mutex);
    if (!ready) {
        uint8_t req[4], align[8], max[8];
        rpc_put_u32(req, device);
        bool ok = c != NULL &&
                  conn_call(c, "GET_ALIGNMENT", RPC_CMD_GET_ALIGNMENT, req, 4, NULL, 0, align, 8) &&
                  conn_call(c, "GET_MAX_SIZE", RPC_CMD_GET_MAX_SIZE, req, 4, NULL, 0, max, 8);
        uint64_t a = ok ? rpc_get_u64(align) : 0;
        if (ok && (a == 0 || (a & (a - 1)) != 0)) {
            GGML_LOG_ERROR("RPC[%s]: GET_ALIGNMENT: the server reports alignment %" PRIu64 ", not a power of two\n",
                    endpoint, a);
            ok = false;
        }
        if (c != NULL) {
            conn_unref(c);
        }
        if (!ok) {
            return NULL;
        }
        pthread_mutex_lock(&g_mutex);
        d->alignment = (size_t) a;
        uint64_t m = rpc_get_u64(max);
        d->max_size = m == 0 || m > SIZE_MAX ? SIZE_MAX : (size_t) m;
        d->buft_ready = true;
        pthread_mutex_unlock(&g_mutex);
    }
    return &d->buft;
}

ggml_backend_t ggml_backend_rpc_init(const char * endpoint, uint32_t device) {
    struct rpc_device * d = device_get(endpoint, device);
    if (d == NULL) {
        return NULL;
    }
    ggml_backend_t backend = calloc(1, sizeof(*backend));
    struct rpc_backend_ctx * ctx = calloc(1, sizeof(*ctx));
    if (backend == NULL || ctx == NULL) {
        free(backend);
        free(ctx);
        GGML_LOG_ERROR("RPC[%s]: out of memory\n", endpoint);
        return NULL;
    }
    ctx->dev = d;
    snprintf(ctx->name, sizeof(ctx->name), "RPC%u[%s]", device, endpoint);
    backend->iface = rpc_backend_i;
    backend->device = &d->dev;
    backend->context = ctx;
    return backend;
}

void ggml_backend_rpc_get_device_memory(const char * endpoint, uint32_t device, size_t * free_mem, size_t * total) {
    size_t f = 0, t = 0;
    struct rpc_device * d = device_get(endpoint, device);
    if (d != NULL) {
        device_memory(d, &f, &t);
    }
    if (free_mem != NULL) {
        *free_mem = f;
    }
    if (total != NULL) {
        *total = t;
    }
}

ggml_backend_reg_t ggml_backend_rpc_add_server(const char * endpoint) {
    struct rpc_endpoint * ep = endpoint_get(endpoint);
    return ep ? &ep->reg : NULL;
}

static const char * rpc_reg_get_name(ggml_backend_reg_t reg) {
    GGML_UNUSED(reg);
    return "RPC";
}

static size_t rpc_reg_get_device_count(ggml_backend_reg_t reg) {
    GGML_UNUSED(reg);
    return 0;
}

static ggml_backend_dev_t rpc_reg_get_device(ggml_backend_reg_t reg, size_t index) {
    GGML_UNUSED(reg);
    GGML_UNUSED(index);
    GGML_LOG_ERROR("RPC: the RPC registry enumerates no devices; use ggml_backend_rpc_add_server\n");
    return NULL;
}

static void * rpc_reg_get_proc_address(ggml_backend_reg_t reg, const char * name) {
    GGML_UNUSED(reg);
    if (strcmp(name, "ggml_backend_rpc_add_server") == 0) {
        return (void *) ggml_backend_rpc_add_server;
    }
    if (strcmp(name, "ggml_backend_rpc_start_server") == 0) {
        return (void *) ggml_backend_rpc_start_server;
    }
    return NULL;
}

ggml_backend_reg_t ggml_backend_rpc_reg(void) {
    static struct ggml_backend_reg reg = {
        .iface = {
            .get_name         = rpc_reg_get_name,
            .get_device_count = rpc_reg_get_device_count,
            .get_device       = rpc_reg_get_device,
            .get_proc_address = rpc_reg_get_proc_address,
        },
        .context = NULL,
    };
    return &reg;
}
