// The byte level of ggml's RPC protocol: tensor records, endpoints, and sockets that never wait
// longer than they were told to.
//
// Waiting is done with poll() before every send/recv, so a dead or silent peer costs at most
// the timeout, never a hang; a server passes a stop flag that is looked at every 100 ms while it
// waits, so it can be shut down while a client idles. Tensor records are written and read field
// by field in little-endian order rather than through a packed struct, so the layout does not
// depend on the compiler and no unaligned access happens.

#include "rpc-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char * const cmd_names[RPC_CMD_COUNT] = {
    "ALLOC_BUFFER", "GET_ALIGNMENT", "GET_MAX_SIZE", "BUFFER_GET_BASE", "FREE_BUFFER", "BUFFER_CLEAR",
    "SET_TENSOR", "SET_TENSOR_HASH", "GET_TENSOR", "COPY_TENSOR", "GRAPH_COMPUTE", "GET_DEVICE_MEMORY",
    "INIT_TENSOR", "GET_ALLOC_SIZE", "HELLO", "DEVICE_COUNT", "GRAPH_RECOMPUTE", "MEMSET_TENSOR",
};

const char * rpc_cmd_name(int cmd) {
    return cmd >= 0 && cmd < RPC_CMD_COUNT ? cmd_names[cmd] : "UNKNOWN";
}

const char * rpc_io_name(enum rpc_io r) {
    switch (r) {
        case RPC_IO_OK:      return "ok";
        case RPC_IO_CLOSED:  return "connection closed by the peer";
        case RPC_IO_TIMEOUT: return "timed out";
        case RPC_IO_ERROR:   return "socket error";
        case RPC_IO_STOPPED: return "stopped";
    }
    return "?";
}

void rpc_tensor_write(uint8_t * out, const struct rpc_tensor * t) {
    uint8_t * p = out;
    rpc_put_u64(p, t->id);     p += 8;
    rpc_put_u32(p, t->type);   p += 4;
    rpc_put_u64(p, t->buffer); p += 8;
    for (int i = 0; i < GGML_MAX_DIMS; i++) { rpc_put_u32(p, t->ne[i]); p += 4; }
    for (int i = 0; i < GGML_MAX_DIMS; i++) { rpc_put_u32(p, t->nb[i]); p += 4; }
    rpc_put_u32(p, t->op);     p += 4;
    for (size_t i = 0; i < GGML_MAX_OP_PARAMS / sizeof(int32_t); i++) { rpc_put_u32(p, (uint32_t) t->op_params[i]); p += 4; }
    rpc_put_u32(p, (uint32_t) t->flags); p += 4;
    for (int i = 0; i < GGML_MAX_SRC; i++) { rpc_put_u64(p, t->src[i]); p += 8; }
    rpc_put_u64(p, t->view_src);  p += 8;
    rpc_put_u64(p, t->view_offs); p += 8;
    rpc_put_u64(p, t->data);      p += 8;
    memcpy(p, t->name, GGML_MAX_NAME); p += GGML_MAX_NAME;
    memset(p, 0, (size_t) (out + RPC_TENSOR_SIZE - p)); // the trailing padding
}

void rpc_tensor_read(struct rpc_tensor * t, const uint8_t * in) {
    const uint8_t * p = in;
    t->id = rpc_get_u64(p);     p += 8;
    t->type = rpc_get_u32(p);   p += 4;
    t->buffer = rpc_get_u64(p); p += 8;
    for (int i = 0; i < GGML_MAX_DIMS; i++) { t->ne[i] = rpc_get_u32(p); p += 4; }
    for (int i = 0; i < GGML_MAX_DIMS; i++) { t->nb[i] = rpc_get_u32(p); p += 4; }
    t->op = rpc_get_u32(p);     p += 4;
    for (size_t i = 0; i < GGML_MAX_OP_PARAMS / sizeof(int32_t); i++) { t->op_params[i] = (int32_t) rpc_get_u32(p); p += 4; }
    t->flags = (int32_t) rpc_get_u32(p); p += 4;
    for (int i = 0; i < GGML_MAX_SRC; i++) { t->src[i] = rpc_get_u64(p); p += 8; }
    t->view_src = rpc_get_u64(p);  p += 8;
    t->view_offs = rpc_get_u64(p); p += 8;
    t->data = rpc_get_u64(p);      p += 8;
    memcpy(t->name, p, GGML_MAX_NAME);
    t->name[GGML_MAX_NAME - 1] = 0;
}

uint64_t rpc_fnv_hash(const uint8_t * data, size_t len) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= data[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

bool rpc_parse_endpoint(const char * endpoint, char * host, size_t host_size, int * port) {
    if (endpoint == NULL) {
        return false;
    }
    const char * colon = strrchr(endpoint, ':');
    if (colon == NULL || colon == endpoint || (size_t) (colon - endpoint) >= host_size) {
        return false;
    }
    const char * p = colon + 1;
    if (*p == 0) {
        return false;
    }
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) > 65535) {
            return false;
        }
    }
    const char * h = endpoint;
    size_t n = (size_t) (colon - endpoint);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') { // "[::1]:50052"
        h++;
        n -= 2;
    }
    if (n == 0) {
        return false;
    }
    memcpy(host, h, n);
    host[n] = 0;
    *port = (int) v;
    return true;
}

// Waits until fd is ready for `events`; RPC_IO_OK when it is.
static enum rpc_io wait_fd(int fd, short events, int timeout_ms, const atomic_int * stop) {
    int waited = 0;
    for (;;) {
        if (stop != NULL && atomic_load(stop)) {
            return RPC_IO_STOPPED;
        }
        int slice = timeout_ms < 0 ? 100 : timeout_ms - waited;
        if (stop != NULL && slice > 100) {
            slice = 100;
        }
        if (timeout_ms >= 0 && slice <= 0) {
            return RPC_IO_TIMEOUT;
        }
        struct pollfd pfd = { .fd = fd, .events = events, .revents = 0 };
        int r = poll(&pfd, 1, slice);
        if (r > 0) {
            return RPC_IO_OK; // errors and hang-ups show in the recv/send that follows
        }
        if (r < 0 && errno != EINTR) {
            return RPC_IO_ERROR;
        }
        if (r == 0) {
            waited += slice;
        }
    }
}

int rpc_socket_connect(const char * host, int port, int timeout_ms, enum rpc_io * err) {
    *err = RPC_IO_ERROR;
    char port_str[16];
    snprintf(port_str, sizeof(port_str), "%d", port);
    struct addrinfo hints = { 0 }, * res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port_str, &hints, &res) != 0 || res == NULL) {
        errno = EHOSTUNREACH;
        return -1;
    }
    int fd = -1;
    for (struct addrinfo * ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        int flags = fcntl(fd, F_GETFL, 0);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        int r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r < 0 && errno == EINPROGRESS) {
            enum rpc_io w = wait_fd(fd, POLLOUT, timeout_ms, NULL);
            int soerr = 0;
            socklen_t len = sizeof(soerr);
            if (w != RPC_IO_OK) {
                *err = w;
                r = -1;
            } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr != 0) {
                errno = soerr ? soerr : errno;
                r = -1;
            } else {
                r = 0;
            }
        }
        if (r < 0) {
            int e = errno;
            close(fd);
            errno = e;
            fd = -1;
            continue;
        }
        fcntl(fd, F_SETFL, flags);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        *err = RPC_IO_OK;
    }
    return fd;
}

enum rpc_io rpc_send_all(int fd, const void * data, size_t n, int timeout_ms) {
    const char * p = data;
    while (n > 0) {
        enum rpc_io w = wait_fd(fd, POLLOUT, timeout_ms, NULL);
        if (w != RPC_IO_OK) {
            return w;
        }
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return errno == EPIPE || errno == ECONNRESET ? RPC_IO_CLOSED : RPC_IO_ERROR;
        }
        p += k;
        n -= (size_t) k;
    }
    return RPC_IO_OK;
}

enum rpc_io rpc_recv_all(int fd, void * data, size_t n, int timeout_ms, const atomic_int * stop) {
    char * p = data;
    while (n > 0) {
        enum rpc_io w = wait_fd(fd, POLLIN, timeout_ms, stop);
        if (w != RPC_IO_OK) {
            return w;
        }
        ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
        if (k == 0) {
            return RPC_IO_CLOSED;
        }
        if (k < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                continue;
            }
            return errno == ECONNRESET ? RPC_IO_CLOSED : RPC_IO_ERROR;
        }
        p += k;
        n -= (size_t) k;
    }
    return RPC_IO_OK;
}
