// The RPC server: ggalloc's backends served to any client of ggml's RPC protocol (5.1.0).
//
// One thread accepts one client at a time, as ggml's server does, and answers its requests in
// order; the buffers a client allocates are freed when its connection ends. Every request is
// checked before memory is touched: the payload size against the command, every tensor record
// (type, extents, strides that never split an element, a known buffer, the bytes it spans
// inside that buffer, a known op),
// every transfer's range against the tensor and the buffer, and every graph record (counts
// against the payload, unique ids, every src and view_src resolving to a record of the same
// request, no empty node). The backend then checks each node's op and shapes before it runs
// (graph_compute fails a node it cannot compute, naming it). The protocol has no error reply,
// so a request that fails a check is logged and ends that client's connection, which is what
// a ggml client reads as an error; the server goes on with the next client.
//
// Uploads are received straight into host buffers (no copy of the payload) once their range
// has been checked; other buffers get them through a bounded bounce buffer. A graph kept for
// GRAPH_RECOMPUTE is checked again before it runs (its buffers may have been freed since).

#include "ggml-rpc.h"
#include "ggalloc-rpc.h"
#include "ggalloc-buffer.h"

#include "backend-impl.h"
#include "ggml-impl.h"
#include "log.h"
#include "rpc-proto.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SRV_IO_TIMEOUT_MS  60000              // a client that stalls mid-request longer is dropped
#define SRV_MAX_GRAPH      ((uint64_t) 1 << 28) // bytes of a GRAPH_COMPUTE request
#define SRV_MAX_RECORDS    ((uint32_t) 1 << 22) // nodes or tensors in one graph
#define SRV_BOUNCE         ((size_t) 8 << 20)   // chunk for buffers the host cannot address

struct ggalloc_rpc_server {
    int             listen_fd;
    int             port;
    pthread_t       thread;
    atomic_int      stop;
    ggml_backend_t * backends;
    int             n_backends;
    atomic_size_t   memory_limit; // bytes one client may hold in buffers (SIZE_MAX: the devices' memory)

    // the current client
    int                     fd;
    ggml_backend_buffer_t * bufs;
    size_t                  n_bufs, cap_bufs;
    size_t                  held; // bytes in bufs
    struct ggml_context **  graph_ctx; // per device: the graph kept for GRAPH_RECOMPUTE
    struct ggml_cgraph **   graphs;
};

#define SRV_ERR(fmt, ...) GGML_LOG_ERROR("RPC server :%d: " fmt, s->port, __VA_ARGS__)

//
// Client state
//

static void srv_drop_graphs(struct ggalloc_rpc_server * s) {
    for (int i = 0; i < s->n_backends; i++) {
        ggml_free(s->graph_ctx[i]);
        s->graph_ctx[i] = NULL;
        s->graphs[i] = NULL;
    }
}

static void srv_client_reset(struct ggalloc_rpc_server * s) {
    srv_drop_graphs(s);
    for (size_t i = 0; i < s->n_bufs; i++) {
        ggml_backend_buffer_free(s->bufs[i]);
    }
    s->n_bufs = 0;
    s->held = 0;
}

static ssize_t srv_find_buffer(struct ggalloc_rpc_server * s, uint64_t handle) {
    for (size_t i = 0; i < s->n_bufs; i++) {
        if ((uint64_t) (uintptr_t) s->bufs[i] == handle) {
            return (ssize_t) i;
        }
    }
    return -1;
}

//
// I/O
//

static bool srv_recv(struct ggalloc_rpc_server * s, void * data, size_t n, const char * what) {
    enum rpc_io r = rpc_recv_all(s->fd, data, n, SRV_IO_TIMEOUT_MS, &s->stop);
    if (r != RPC_IO_OK && r != RPC_IO_STOPPED) {
        SRV_ERR("%s: reading %zu bytes: %s\n", what, n, rpc_io_name(r));
    }
    return r == RPC_IO_OK;
}

static bool srv_send(struct ggalloc_rpc_server * s, const void * data, size_t n, const char * what) {
    enum rpc_io r = rpc_send_all(s->fd, data, n, SRV_IO_TIMEOUT_MS);
    if (r != RPC_IO_OK) {
        SRV_ERR("%s: sending %zu bytes: %s\n", what, n, rpc_io_name(r));
    }
    return r == RPC_IO_OK;
}

static bool srv_reply(struct ggalloc_rpc_server * s, const void * data, size_t n, const char * what) {
    uint8_t hdr[8];
    rpc_put_u64(hdr, n);
    return srv_send(s, hdr, 8, what) && (n == 0 || srv_send(s, data, n, what));
}

// Receives a request payload that must be exactly `expected` bytes.
static bool srv_recv_fixed(struct ggalloc_rpc_server * s, uint64_t size, void * buf, size_t expected, const char * what) {
    if (size != expected) {
        SRV_ERR("%s: request of %" PRIu64 " bytes, %zu expected\n", what, size, expected);
        return false;
    }
    return expected == 0 || srv_recv(s, buf, expected, what);
}

//
// Checks
//

static bool srv_device(struct ggalloc_rpc_server * s, uint32_t device, const char * what) {
    if (device >= (uint32_t) s->n_backends) {
        SRV_ERR("%s: no device %u (there are %d)\n", what, device, s->n_backends);
        return false;
    }
    return true;
}

// A tensor made from a record, after checking it; NULL (logged) if the record is bad.
static struct ggml_tensor * srv_tensor(struct ggalloc_rpc_server * s, struct ggml_context * ctx, const struct rpc_tensor * r,
        const char * what) {
    const enum ggml_type type = (enum ggml_type) r->type;
    if (r->type >= GGML_TYPE_COUNT || !ggalloc_type_valid(type)) {
        SRV_ERR("%s: tensor '%s' has unknown type %u\n", what, r->name, r->type);
        return NULL;
    }
    if (r->ne[0] % (uint64_t) ggml_blck_size(type) != 0) {
        SRV_ERR("%s: tensor '%s': ne[0] = %u is not a multiple of the %s block size\n", what, r->name, r->ne[0],
                ggml_type_name(type));
        return NULL;
    }
    if (r->op >= GGML_OP_COUNT) {
        SRV_ERR("%s: tensor '%s' has unknown op %u\n", what, r->name, r->op);
        return NULL;
    }
    struct ggml_tensor * t = ggml_new_tensor_4d(ctx, type, r->ne[0], r->ne[1], r->ne[2], r->ne[3]);
    if (t == NULL) {
        SRV_ERR("%s: tensor '%s': cannot make a %s tensor of [%u, %u, %u, %u]\n", what, r->name, ggml_type_name(type),
                r->ne[0], r->ne[1], r->ne[2], r->ne[3]);
        return NULL;
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        t->nb[i] = r->nb[i];
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        // strides may overlap rows (a sliding-window view does) but never split an element
        if (t->ne[i] > 1 && t->nb[i] < ggml_type_size(type)) {
            SRV_ERR("%s: tensor '%s': nb[%d] = %zu is smaller than one %s element\n", what, r->name, i, t->nb[i],
                    ggml_type_name(type));
            return NULL;
        }
    }
    const size_t extent = ggalloc_extent(type, t->ne, t->nb);
    if (extent == SIZE_MAX) {
        SRV_ERR("%s: tensor '%s': its strides overflow\n", what, r->name);
        return NULL;
    }
    if (r->buffer != 0) {
        ssize_t bi = srv_find_buffer(s, r->buffer);
        if (bi < 0) {
            SRV_ERR("%s: tensor '%s' names unknown buffer 0x%" PRIx64 "\n", what, r->name, r->buffer);
            return NULL;
        }
        ggml_backend_buffer_t b = s->bufs[bi];
        const uint64_t base = (uint64_t) (uintptr_t) ggml_backend_buffer_get_base(b);
        const uint64_t size = ggml_backend_buffer_get_size(b);
        if (r->data < base || r->data - base > size || extent > size - (r->data - base)) {
            SRV_ERR("%s: tensor '%s' (%zu bytes at 0x%" PRIx64 ") lies outside its buffer [0x%" PRIx64 ", 0x%" PRIx64 ")\n",
                    what, r->name, extent, r->data, base, base + size);
            return NULL;
        }
        t->buffer = b;
        t->data = (void *) (uintptr_t) r->data;
    } else if (r->data != 0) {
        SRV_ERR("%s: tensor '%s' has data 0x%" PRIx64 " but no buffer\n", what, r->name, r->data);
        return NULL;
    }
    t->op = (enum ggml_op) r->op;
    memcpy(t->op_params, r->op_params, sizeof(t->op_params));
    t->flags = r->flags;
    memcpy(t->name, r->name, sizeof(t->name));
    return t;
}

// A context for n tensor records (and a graph of n_nodes when n_nodes > 0).
static struct ggml_context * srv_ctx(size_t n, size_t n_nodes) {
    struct ggml_init_params p = {
        .mem_size = ggml_tensor_overhead() * (n + 1) + (n_nodes > 0 ? ggml_graph_overhead_custom(n_nodes, false) : 0),
        .mem_buffer = NULL,
        .no_alloc = true,
    };
    return ggml_init(p);
}

// Checks a transfer of [offset, offset + size) of t, as ggml's server does (the start inside
// the buffer, the end not past it) and within the tensor's own bytes.
static bool srv_range(struct ggalloc_rpc_server * s, const struct ggml_tensor * t, uint64_t offset, uint64_t size,
        const char * what) {
    if (t->buffer == NULL) {
        SRV_ERR("%s: tensor '%s' is in no buffer\n", what, t->name);
        return false;
    }
    const uint64_t p0 = (uint64_t) (uintptr_t) ggml_backend_buffer_get_base(t->buffer);
    const uint64_t p1 = p0 + ggml_backend_buffer_get_size(t->buffer);
    const uint64_t data = (uint64_t) (uintptr_t) t->data;
    const uint64_t nbytes = ggml_nbytes(t);
    if (offset > nbytes || size > nbytes - offset || data + offset >= p1 || size > p1 - data - offset) {
        SRV_ERR("%s: range [%" PRIu64 ", +%" PRIu64 ") of tensor '%s' (%" PRIu64 " bytes) is out of bounds\n", what,
                offset, size, t->name, nbytes);
        return false;
    }
    return true;
}

//
// Requests
//

// The tensor record at req, in a context of its own (*ctx, freed by the caller), checked to
// hold the n bytes at offset: NULL (and a log line) when it does not.
static struct ggml_tensor * srv_tensor_range(struct ggalloc_rpc_server * s, const uint8_t * req, uint64_t offset,
        uint64_t n, const char * what, struct ggml_context ** ctx) {
    struct rpc_tensor r;
    rpc_tensor_read(&r, req);
    *ctx = srv_ctx(1, 0);
    struct ggml_tensor * t = *ctx ? srv_tensor(s, *ctx, &r, what) : NULL;
    return t != NULL && srv_range(s, t, offset, n, what) ? t : NULL;
}

static bool srv_set_tensor(struct ggalloc_rpc_server * s, uint64_t size) {
    const char * what = "SET_TENSOR";
    uint8_t hdr[RPC_TENSOR_SIZE + 8];
    if (size < sizeof(hdr)) {
        SRV_ERR("%s: request of %" PRIu64 " bytes, at least %zu expected\n", what, size, sizeof(hdr));
        return false;
    }
    if (!srv_recv(s, hdr, sizeof(hdr), what)) {
        return false;
    }
    const uint64_t offset = rpc_get_u64(hdr + RPC_TENSOR_SIZE), n = size - sizeof(hdr);
    struct ggml_context * ctx = NULL;
    struct ggml_tensor * t = srv_tensor_range(s, hdr, offset, n, what, &ctx);
    bool ok = t != NULL;
    if (ok && ggml_backend_buffer_is_host(t->buffer)) {
        ok = srv_recv(s, (char *) t->data + offset, n, what);
    } else if (ok) {
        void * bounce = malloc(n < SRV_BOUNCE ? (n > 0 ? n : 1) : SRV_BOUNCE);
        ok = bounce != NULL;
        for (uint64_t k = 0; ok && k < n; k += SRV_BOUNCE) {
            size_t m = n - k < SRV_BOUNCE ? (size_t) (n - k) : SRV_BOUNCE;
            ok = srv_recv(s, bounce, m, what) &&
                 ggalloc_backend_tensor_set(t, bounce, offset + k, m) == GGML_STATUS_SUCCESS;
        }
        free(bounce);
    }
    ggml_free(ctx);
    return ok;
}

static bool srv_get_tensor(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "GET_TENSOR";
    const uint64_t offset = rpc_get_u64(req + RPC_TENSOR_SIZE), n = rpc_get_u64(req + RPC_TENSOR_SIZE + 8);
    struct ggml_context * ctx = NULL;
    struct ggml_tensor * t = srv_tensor_range(s, req, offset, n, what, &ctx);
    bool ok = t != NULL;
    uint8_t hdr[8];
    rpc_put_u64(hdr, n);
    ok = ok && srv_send(s, hdr, 8, what);
    if (ok && ggml_backend_buffer_is_host(t->buffer)) {
        ok = n == 0 || srv_send(s, (const char *) t->data + offset, n, what);
    } else if (ok) {
        void * bounce = malloc(n < SRV_BOUNCE ? (n > 0 ? n : 1) : SRV_BOUNCE);
        ok = bounce != NULL;
        for (uint64_t k = 0; ok && k < n; k += SRV_BOUNCE) {
            size_t m = n - k < SRV_BOUNCE ? (size_t) (n - k) : SRV_BOUNCE;
            ok = ggalloc_backend_tensor_get(t, bounce, offset + k, m) == GGML_STATUS_SUCCESS &&
                 srv_send(s, bounce, m, what);
        }
        free(bounce);
    }
    ggml_free(ctx);
    return ok;
}

static bool srv_memset_tensor(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "MEMSET_TENSOR";
    const uint64_t offset = rpc_get_u64(req + RPC_TENSOR_SIZE), n = rpc_get_u64(req + RPC_TENSOR_SIZE + 8);
    struct ggml_context * ctx = NULL;
    struct ggml_tensor * t = srv_tensor_range(s, req, offset, n, what, &ctx);
    bool ok = t != NULL && ggalloc_backend_tensor_memset(t, req[RPC_TENSOR_SIZE + 16], offset, n) == GGML_STATUS_SUCCESS;
    ggml_free(ctx);
    return ok && srv_reply(s, NULL, 0, what);
}

static bool srv_copy_tensor(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "COPY_TENSOR";
    struct rpc_tensor rs, rd;
    rpc_tensor_read(&rs, req);
    rpc_tensor_read(&rd, req + RPC_TENSOR_SIZE);
    struct ggml_context * ctx = srv_ctx(2, 0);
    struct ggml_tensor * src = ctx ? srv_tensor(s, ctx, &rs, what) : NULL;
    struct ggml_tensor * dst = src ? srv_tensor(s, ctx, &rd, what) : NULL;
    bool ok = dst != NULL;
    if (ok && (src->buffer == NULL || dst->buffer == NULL)) {
        SRV_ERR("%s: source '%s' or destination '%s' is in no buffer\n", what, src->name, dst->name);
        ok = false;
    }
    uint8_t result = 0;
    if (ok) {
        const uint64_t n = ggml_nbytes(src);
        const uint64_t d = (uint64_t) (uintptr_t) dst->data;
        const uint64_t end = (uint64_t) (uintptr_t) ggml_backend_buffer_get_base(dst->buffer) + ggml_backend_buffer_get_size(dst->buffer);
        if (n > end - d) {
            SRV_ERR("%s: %" PRIu64 " bytes of '%s' do not fit after '%s' in its buffer\n", what, n, src->name, dst->name);
            ok = false;
        } else if (dst->buffer->iface.cpy_tensor != NULL) {
            result = dst->buffer->iface.cpy_tensor(dst->buffer, src, dst) ? 1 : 0;
        }
    }
    ggml_free(ctx);
    return ok && srv_reply(s, &result, 1, what);
}

static bool srv_init_tensor(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "INIT_TENSOR";
    struct rpc_tensor r;
    rpc_tensor_read(&r, req);
    struct ggml_context * ctx = srv_ctx(1, 0);
    struct ggml_tensor * t = ctx ? srv_tensor(s, ctx, &r, what) : NULL;
    bool ok = t != NULL;
    if (ok && t->buffer != NULL) {
        ggml_backend_buffer_init_tensor(t->buffer, t);
    } else if (ok) {
        SRV_ERR("%s: tensor '%s' is in no buffer\n", what, t->name); // as ggml: logged, still answered
    }
    ggml_free(ctx);
    return ok && srv_reply(s, NULL, 0, what);
}

static bool srv_get_alloc_size(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "GET_ALLOC_SIZE";
    const uint32_t device = rpc_get_u32(req);
    if (!srv_device(s, device, what)) {
        return false;
    }
    struct ggml_context * ctx = srv_ctx(1 + GGML_MAX_SRC, 0);
    struct rpc_tensor r;
    rpc_tensor_read(&r, req + 4);
    struct ggml_tensor * t = ctx ? srv_tensor(s, ctx, &r, what) : NULL;
    bool ok = t != NULL;
    for (int i = 0; ok && i < GGML_MAX_SRC; i++) {
        rpc_tensor_read(&r, req + 4 + (size_t) (1 + i) * RPC_TENSOR_SIZE);
        if (r.id != 0) {
            ok = (t->src[i] = srv_tensor(s, ctx, &r, what)) != NULL;
        }
    }
    uint8_t rsp[8];
    if (ok) {
        ggml_backend_buffer_type_t buft = t->buffer ? t->buffer->buft : ggml_backend_get_default_buffer_type(s->backends[device]);
        rpc_put_u64(rsp, ggml_backend_buft_get_alloc_size(buft, t));
    }
    ggml_free(ctx);
    return ok && srv_reply(s, rsp, 8, what);
}

struct id_index {
    uint64_t id;
    uint32_t index;
};

static int id_index_cmp(const void * a, const void * b) {
    const struct id_index * x = a, * y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static struct ggml_tensor * srv_lookup(const struct id_index * ids, uint32_t n, struct ggml_tensor ** tensors, uint64_t id) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ids[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < n && ids[lo].id == id ? tensors[ids[lo].index] : NULL;
}

static bool srv_graph_compute(struct ggalloc_rpc_server * s, uint64_t size) {
    const char * what = "GRAPH_COMPUTE";
    if (size < 12 || size > SRV_MAX_GRAPH) {
        SRV_ERR("%s: request of %" PRIu64 " bytes (12 to %" PRIu64 " accepted)\n", what, size, SRV_MAX_GRAPH);
        return false;
    }
    uint8_t * in = malloc(size);
    if (in == NULL) {
        SRV_ERR("%s: out of memory for a request of %" PRIu64 " bytes\n", what, size);
        return false;
    }
    struct ggml_context * ctx = NULL;
    struct id_index * ids = NULL;
    struct ggml_tensor ** tensors = NULL;
    struct rpc_tensor * recs = NULL;
    bool ok = srv_recv(s, in, size, what);
    const uint32_t device = ok ? rpc_get_u32(in) : 0;
    const uint32_t n_nodes = ok ? rpc_get_u32(in + 4) : 0;
    uint32_t n_tensors = 0;
    ok = ok && srv_device(s, device, what);
    if (ok && (n_nodes == 0 || n_nodes > SRV_MAX_RECORDS || size < 12 + (uint64_t) n_nodes * 8)) {
        SRV_ERR("%s: %u nodes do not fit a request of %" PRIu64 " bytes\n", what, n_nodes, size);
        ok = false;
    }
    const uint8_t * node_ids = in + 8;
    if (ok) {
        n_tensors = rpc_get_u32(in + 8 + (size_t) n_nodes * 8);
        if (n_tensors > SRV_MAX_RECORDS || size < 12 + (uint64_t) n_nodes * 8 + (uint64_t) n_tensors * RPC_TENSOR_SIZE) {
            SRV_ERR("%s: %u tensors do not fit a request of %" PRIu64 " bytes\n", what, n_tensors, size);
            ok = false;
        }
    }
    if (ok) {
        ctx = srv_ctx(n_tensors, n_nodes);
        ids = malloc(((size_t) n_tensors + 1) * sizeof(*ids));
        tensors = malloc(((size_t) n_tensors + 1) * sizeof(*tensors));
        recs = malloc(((size_t) n_tensors + 1) * sizeof(*recs));
        if (ctx == NULL || ids == NULL || tensors == NULL || recs == NULL) {
            SRV_ERR("%s: out of memory for %u tensors\n", what, n_tensors);
            ok = false;
        }
    }
    const uint8_t * rec = in + 12 + (size_t) n_nodes * 8;
    for (uint32_t i = 0; ok && i < n_tensors; i++) {
        rpc_tensor_read(&recs[i], rec + (size_t) i * RPC_TENSOR_SIZE);
        ids[i].id = recs[i].id;
        ids[i].index = i;
        ok = recs[i].id != 0 && (tensors[i] = srv_tensor(s, ctx, &recs[i], what)) != NULL;
        if (ok == false && recs[i].id == 0) {
            SRV_ERR("%s: tensor record %u has id 0\n", what, i);
        }
    }
    if (ok) {
        qsort(ids, n_tensors, sizeof(*ids), id_index_cmp);
        for (uint32_t i = 1; ok && i < n_tensors; i++) {
            if (ids[i].id == ids[i - 1].id) {
                SRV_ERR("%s: two tensor records have id 0x%" PRIx64 "\n", what, ids[i].id);
                ok = false;
            }
        }
    }
    for (uint32_t i = 0; ok && i < n_tensors; i++) {
        struct ggml_tensor * t = tensors[i];
        for (int k = 0; ok && k < GGML_MAX_SRC; k++) {
            if (recs[i].src[k] != 0 && (t->src[k] = srv_lookup(ids, n_tensors, tensors, recs[i].src[k])) == NULL) {
                SRV_ERR("%s: tensor '%s': src[%d] 0x%" PRIx64 " is not among the tensors sent\n", what, t->name, k, recs[i].src[k]);
                ok = false;
            }
        }
        if (ok && recs[i].view_src != 0) {
            t->view_src = srv_lookup(ids, n_tensors, tensors, recs[i].view_src);
            if (t->view_src == NULL || t->view_src->buffer != t->buffer) {
                SRV_ERR("%s: view '%s': its view_src 0x%" PRIx64 " is %s\n", what, t->name, recs[i].view_src,
                        t->view_src == NULL ? "not among the tensors sent" : "in another buffer");
                ok = false;
            }
            t->view_offs = (size_t) recs[i].view_offs;
        }
    }
    struct ggml_cgraph * graph = ok ? ggml_new_graph_custom(ctx, n_nodes, false) : NULL;
    ok = ok && graph != NULL;
    for (uint32_t i = 0; ok && i < n_nodes; i++) {
        const uint64_t id = rpc_get_u64(node_ids + (size_t) i * 8);
        struct ggml_tensor * t = srv_lookup(ids, n_tensors, tensors, id);
        if (t == NULL) {
            SRV_ERR("%s: node %u (id 0x%" PRIx64 ") is not among the tensors sent\n", what, i, id);
            ok = false;
        } else {
            ggml_graph_add_node(graph, t);
        }
    }
    free(in);
    free(ids);
    free(tensors);
    free(recs);
    if (ok) {
        enum ggml_status st = ggml_backend_graph_compute(s->backends[device], graph);
        if (st != GGML_STATUS_SUCCESS) {
            SRV_ERR("%s: the %s backend could not compute the graph of %u nodes: %s\n", what,
                    ggml_backend_name(s->backends[device]), n_nodes, ggml_status_to_string(st));
            ok = false;
        }
    }
    if (ok) {
        ggml_free(s->graph_ctx[device]);
        s->graph_ctx[device] = ctx;
        s->graphs[device] = graph;
    } else {
        ggml_free(ctx);
    }
    return ok;
}

static bool srv_graph_recompute(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "GRAPH_RECOMPUTE";
    const uint32_t device = rpc_get_u32(req);
    if (!srv_device(s, device, what)) {
        return false;
    }
    if (s->graphs[device] == NULL) {
        SRV_ERR("%s: no graph kept for device %u\n", what, device);
        return false;
    }
    // buffers may have been freed (and others allocated) since: every tensor is checked again
    for (struct ggml_tensor * t = ggml_get_first_tensor(s->graph_ctx[device]); t != NULL;
         t = ggml_get_next_tensor(s->graph_ctx[device], t)) {
        if (t->buffer == NULL) {
            continue;
        }
        ssize_t bi = srv_find_buffer(s, (uint64_t) (uintptr_t) t->buffer);
        const uint64_t base = bi < 0 ? 0 : (uint64_t) (uintptr_t) ggml_backend_buffer_get_base(t->buffer);
        const uint64_t size = bi < 0 ? 0 : ggml_backend_buffer_get_size(t->buffer);
        const uint64_t data = (uint64_t) (uintptr_t) t->data;
        if (bi < 0 || data < base || data - base > size || ggalloc_extent(t->type, t->ne, t->nb) > size - (data - base)) {
            SRV_ERR("%s: tensor '%s' of the kept graph is no longer inside a buffer of this client\n", what, t->name);
            srv_drop_graphs(s);
            return false;
        }
    }
    enum ggml_status st = ggml_backend_graph_compute(s->backends[device], s->graphs[device]);
    if (st != GGML_STATUS_SUCCESS) {
        SRV_ERR("%s: the graph failed: %s\n", what, ggml_status_to_string(st));
        return false;
    }
    return true;
}

static bool srv_alloc_buffer(struct ggalloc_rpc_server * s, const uint8_t * req) {
    const char * what = "ALLOC_BUFFER";
    const uint32_t device = rpc_get_u32(req);
    const uint64_t size = rpc_get_u64(req + 4);
    if (!srv_device(s, device, what)) {
        return false;
    }
    uint8_t rsp[16] = { 0 };
    if (s->n_bufs == s->cap_bufs) {
        size_t cap = s->cap_bufs ? 2 * s->cap_bufs : 16;
        ggml_backend_buffer_t * b = realloc(s->bufs, cap * sizeof(*b));
        if (b == NULL) {
            return srv_reply(s, rsp, 16, what); // as a failed allocation
        }
        s->bufs = b;
        s->cap_bufs = cap;
    }
    size_t free_mem = 0, total = 0;
    ggml_backend_dev_memory(ggml_backend_get_device(s->backends[device]), &free_mem, &total);
    ggml_backend_buffer_t buf = NULL;
    if (size > SIZE_MAX || (total > 0 && size > total)) {
        SRV_ERR("%s: %" PRIu64 " bytes are more than device %u has (%zu)\n", what, size, device, total);
    } else if (s->held > atomic_load(&s->memory_limit) || size > atomic_load(&s->memory_limit) - s->held) {
        SRV_ERR("%s: %" PRIu64 " more bytes would pass this server's limit of %zu per client (%zu held)\n", what, size,
                atomic_load(&s->memory_limit), s->held);
    } else {
        buf = ggml_backend_buft_alloc_buffer(ggml_backend_get_default_buffer_type(s->backends[device]), (size_t) size);
    }
    if (buf != NULL) {
        s->held += ggml_backend_buffer_get_size(buf);
        s->bufs[s->n_bufs++] = buf;
        rpc_put_u64(rsp, (uint64_t) (uintptr_t) buf);
        rpc_put_u64(rsp + 8, ggml_backend_buffer_get_size(buf));
    }
    return srv_reply(s, rsp, 16, what);
}

static bool srv_buffer_cmd(struct ggalloc_rpc_server * s, int cmd, const uint8_t * req) {
    const char * what = rpc_cmd_name(cmd);
    const uint64_t handle = rpc_get_u64(req);
    ssize_t bi = srv_find_buffer(s, handle);
    if (bi < 0) {
        SRV_ERR("%s: unknown buffer 0x%" PRIx64 "\n", what, handle);
        return false;
    }
    ggml_backend_buffer_t b = s->bufs[bi];
    if (cmd == RPC_CMD_BUFFER_GET_BASE) {
        uint8_t rsp[8];
        rpc_put_u64(rsp, (uint64_t) (uintptr_t) ggml_backend_buffer_get_base(b));
        return srv_reply(s, rsp, 8, what);
    }
    if (cmd == RPC_CMD_FREE_BUFFER) {
        s->held -= ggml_backend_buffer_get_size(b);
        ggml_backend_buffer_free(b); // a kept graph pointing into it is refused at GRAPH_RECOMPUTE
        s->bufs[bi] = s->bufs[--s->n_bufs];
    } else {
        ggml_backend_buffer_clear(b, req[8]);
    }
    return srv_reply(s, NULL, 0, what);
}

// Answers one request; false ends the connection.
static bool srv_request(struct ggalloc_rpc_server * s, int cmd, uint64_t size) {
    const char * what = rpc_cmd_name(cmd);
    uint8_t req[4 + (1 + GGML_MAX_SRC) * RPC_TENSOR_SIZE];
    uint8_t rsp[16];
    switch (cmd) {
        case RPC_CMD_HELLO:
            SRV_ERR("%s: a second HELLO on one connection\n", what);
            return false;
        case RPC_CMD_DEVICE_COUNT:
            if (!srv_recv_fixed(s, size, req, 0, what)) return false;
            rpc_put_u32(rsp, (uint32_t) s->n_backends);
            return srv_reply(s, rsp, 4, what);
        case RPC_CMD_ALLOC_BUFFER:
            return srv_recv_fixed(s, size, req, 12, what) && srv_alloc_buffer(s, req);
        case RPC_CMD_GET_ALIGNMENT:
        case RPC_CMD_GET_MAX_SIZE:
        case RPC_CMD_GET_DEVICE_MEMORY: {
            if (!srv_recv_fixed(s, size, req, 4, what) || !srv_device(s, rpc_get_u32(req), what)) return false;
            ggml_backend_t be = s->backends[rpc_get_u32(req)];
            if (cmd == RPC_CMD_GET_DEVICE_MEMORY) {
                size_t f = 0, t = 0;
                ggml_backend_dev_memory(ggml_backend_get_device(be), &f, &t);
                rpc_put_u64(rsp, f);
                rpc_put_u64(rsp + 8, t);
                return srv_reply(s, rsp, 16, what);
            }
            ggml_backend_buffer_type_t buft = ggml_backend_get_default_buffer_type(be);
            size_t v = cmd == RPC_CMD_GET_ALIGNMENT ? ggml_backend_buft_get_alignment(buft) : ggml_backend_buft_get_max_size(buft);
            rpc_put_u64(rsp, v);
            return srv_reply(s, rsp, 8, what);
        }
        case RPC_CMD_BUFFER_GET_BASE:
        case RPC_CMD_FREE_BUFFER:
            return srv_recv_fixed(s, size, req, 8, what) && srv_buffer_cmd(s, cmd, req);
        case RPC_CMD_BUFFER_CLEAR:
            return srv_recv_fixed(s, size, req, 9, what) && srv_buffer_cmd(s, cmd, req);
        case RPC_CMD_SET_TENSOR:
            return srv_set_tensor(s, size);
        case RPC_CMD_SET_TENSOR_HASH:
            // no cache of uploads here: never found, as ggml's server without a cache directory
            if (!srv_recv_fixed(s, size, req, RPC_TENSOR_SIZE + 16, what)) return false;
            rsp[0] = 0;
            return srv_reply(s, rsp, 1, what);
        case RPC_CMD_GET_TENSOR:
            return srv_recv_fixed(s, size, req, RPC_TENSOR_SIZE + 16, what) && srv_get_tensor(s, req);
        case RPC_CMD_COPY_TENSOR:
            return srv_recv_fixed(s, size, req, 2 * RPC_TENSOR_SIZE, what) && srv_copy_tensor(s, req);
        case RPC_CMD_GRAPH_COMPUTE:
            return srv_graph_compute(s, size);
        case RPC_CMD_GRAPH_RECOMPUTE:
            return srv_recv_fixed(s, size, req, 4, what) && srv_graph_recompute(s, req);
        case RPC_CMD_INIT_TENSOR:
            return srv_recv_fixed(s, size, req, RPC_TENSOR_SIZE, what) && srv_init_tensor(s, req);
        case RPC_CMD_GET_ALLOC_SIZE:
            return srv_recv_fixed(s, size, req, sizeof(req), what) && srv_get_alloc_size(s, req);
        case RPC_CMD_MEMSET_TENSOR:
            return srv_recv_fixed(s, size, req, RPC_TENSOR_SIZE + 17, what) && srv_memset_tensor(s, req);
        default:
            SRV_ERR("unknown command %d\n", cmd);
            return false;
    }
}

static void srv_serve_client(struct ggalloc_rpc_server * s) {
    uint8_t cmd;
    uint8_t szb[8];
    enum rpc_io r = rpc_recv_all(s->fd, &cmd, 1, -1, &s->stop);
    if (r != RPC_IO_OK) {
        return;
    }
    if (cmd != RPC_CMD_HELLO) {
        SRV_ERR("the first request is command %d, not HELLO\n", cmd);
        return;
    }
    uint8_t caps[RPC_CAPS_SIZE];
    if (!srv_recv(s, szb, 8, "HELLO") || !srv_recv_fixed(s, rpc_get_u64(szb), caps, RPC_CAPS_SIZE, "HELLO")) {
        return;
    }
    uint8_t hello[RPC_HELLO_RSP_SIZE] = { RPC_PROTO_MAJOR_VERSION, RPC_PROTO_MINOR_VERSION, RPC_PROTO_PATCH_VERSION, 0 };
    if (!srv_reply(s, hello, sizeof(hello), "HELLO")) {
        return;
    }
    for (;;) {
        if (rpc_recv_all(s->fd, &cmd, 1, -1, &s->stop) != RPC_IO_OK) {
            return; // the client is done (or the server stops)
        }
        if (!srv_recv(s, szb, 8, rpc_cmd_name(cmd)) || !srv_request(s, cmd, rpc_get_u64(szb))) {
            return;
        }
    }
}

static void * srv_main(void * arg) {
    struct ggalloc_rpc_server * s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = { .fd = s->listen_fd, .events = POLLIN, .revents = 0 };
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        s->fd = fd;
        srv_serve_client(s);
        srv_client_reset(s);
        close(fd);
        s->fd = -1;
    }
    return NULL;
}

ggalloc_rpc_server_t ggalloc_rpc_server_start(const char * endpoint, ggml_backend_t * backends, int n_backends) {
    char host[128];
    int port;
    if (backends == NULL || n_backends <= 0) {
        GGML_LOG_ERROR("RPC server: no backends to serve\n");
        return NULL;
    }
    for (int i = 0; i < n_backends; i++) {
        if (backends[i] == NULL) {
            GGML_LOG_ERROR("RPC server: backend %d is NULL\n", i);
            return NULL;
        }
    }
    if (!rpc_parse_endpoint(endpoint, host, sizeof(host), &port)) {
        GGML_LOG_ERROR("RPC server: bad endpoint \"%s\" (expected host:port)\n", endpoint ? endpoint : "(null)");
        return NULL;
    }
    struct addrinfo hints = { 0 }, * res = NULL;
    char port_str[16];
    snprintf(port_str, sizeof(port_str), "%d", port);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host, port_str, &hints, &res) != 0 || res == NULL) {
        GGML_LOG_ERROR("RPC server: cannot resolve host \"%s\"\n", host);
        return NULL;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4) < 0) {
        GGML_LOG_ERROR("RPC server: cannot listen at %s: %s\n", endpoint, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(res);
        return NULL;
    }
    freeaddrinfo(res);
    struct sockaddr_storage addr;
    socklen_t alen = sizeof(addr);
    if (getsockname(fd, (struct sockaddr *) &addr, &alen) == 0) {
        port = addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *) &addr)->sin6_port)
                                          : ntohs(((struct sockaddr_in *) &addr)->sin_port);
    }
    struct ggalloc_rpc_server * s = calloc(1, sizeof(*s));
    ggml_backend_t * bes = malloc((size_t) n_backends * sizeof(*bes));
    struct ggml_context ** gctx = calloc((size_t) n_backends, sizeof(*gctx));
    struct ggml_cgraph ** graphs = calloc((size_t) n_backends, sizeof(*graphs));
    if (s == NULL || bes == NULL || gctx == NULL || graphs == NULL) {
        GGML_LOG_ERROR("RPC server: out of memory\n");
        goto fail;
    }
    memcpy(bes, backends, (size_t) n_backends * sizeof(*bes));
    s->listen_fd = fd;
    s->port = port;
    s->fd = -1;
    s->backends = bes;
    s->n_backends = n_backends;
    s->graph_ctx = gctx;
    s->graphs = graphs;
    atomic_init(&s->memory_limit, SIZE_MAX);
    atomic_init(&s->stop, 0);
    if (pthread_create(&s->thread, NULL, srv_main, s) != 0) {
        GGML_LOG_ERROR("RPC server: cannot start its thread\n");
        goto fail;
    }
    return s;
fail:
    close(fd);
    free(s);
    free(bes);
    free(gctx);
    free(graphs);
    return NULL;
}

void ggalloc_rpc_server_set_memory_limit(ggalloc_rpc_server_t server, size_t bytes) {
    if (server != NULL) {
        atomic_store(&server->memory_limit, bytes);
    }
}

int ggalloc_rpc_server_port(ggalloc_rpc_server_t server) {
    return server ? server->port : -1;
}

void ggalloc_rpc_server_free(ggalloc_rpc_server_t s) {
    if (s == NULL) {
        return;
    }
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->listen_fd);
    free(s->bufs);
    free(s->backends);
    free(s->graph_ctx);
    free(s->graphs);
    free(s);
}

void ggml_backend_rpc_start_server(const char * endpoint, const char * cache_dir, size_t n_threads, size_t n_devices,
        ggml_backend_dev_t * devices) {
    if (n_devices == 0 || devices == NULL || n_devices > 1024) {
        GGML_LOG_ERROR("RPC server: no devices to serve\n");
        return;
    }
    if (cache_dir != NULL) {
        GGML_LOG_ERROR("RPC server: a cache directory is not supported\n");
        return;
    }
    ggml_backend_t * backends = calloc(n_devices, sizeof(*backends));
    if (backends == NULL) {
        GGML_LOG_ERROR("RPC server: out of memory\n");
        return;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n_devices; i++) {
        backends[i] = ggml_backend_dev_init(devices[i], NULL);
        ok = backends[i] != NULL;
        if (ok && n_threads > 0) {
            typedef void (*set_threads_fn)(ggml_backend_t, int);
            set_threads_fn fn = (set_threads_fn) ggml_backend_reg_get_proc_address(
                    ggml_backend_dev_backend_reg(devices[i]), "ggml_backend_set_n_threads");
            if (fn != NULL) {
                fn(backends[i], (int) n_threads);
            }
        }
    }
    ggalloc_rpc_server_t s = ok ? ggalloc_rpc_server_start(endpoint, backends, (int) n_devices) : NULL;
    if (s != NULL) {
        printf("Starting RPC server v%d.%d.%d\n  endpoint       : %s\nDevices:\n", RPC_PROTO_MAJOR_VERSION,
               RPC_PROTO_MINOR_VERSION, RPC_PROTO_PATCH_VERSION, endpoint);
        for (size_t i = 0; i < n_devices; i++) {
            printf("  %s: %s\n", ggml_backend_dev_name(devices[i]), ggml_backend_dev_description(devices[i]));
        }
        fflush(stdout);
        pthread_join(s->thread, NULL); // serves until the process ends
    }
    for (size_t i = 0; i < n_devices; i++) {
        ggml_backend_free(backends[i]);
    }
    free(backends);
}
