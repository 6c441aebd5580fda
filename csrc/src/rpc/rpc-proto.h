#pragma once

// ggml's RPC protocol (version 5.1.0) as bytes on a socket, shared by the client (client.c) and
// the server (server.c). Internal to the library.
//
// Every request is | command (1 byte) | payload size (8 bytes, little-endian) | payload |, and
// the replies that exist are | size (8 bytes) | payload |. Numbers are little-endian; a tensor
// travels as a 296-byte record (rpc_tensor below). Which commands get a reply, and what each
// payload holds, is written beside the command numbers.

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>

#include "ggml.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rpc_cmd {
    RPC_CMD_ALLOC_BUFFER = 0,   // u32 device, u64 size          -> u64 remote_ptr, u64 remote_size
    RPC_CMD_GET_ALIGNMENT,      // u32 device                    -> u64 alignment
    RPC_CMD_GET_MAX_SIZE,       // u32 device                    -> u64 max_size
    RPC_CMD_BUFFER_GET_BASE,    // u64 remote_ptr                -> u64 base
    RPC_CMD_FREE_BUFFER,        // u64 remote_ptr                -> (empty)
    RPC_CMD_BUFFER_CLEAR,       // u64 remote_ptr, u8 value      -> (empty)
    RPC_CMD_SET_TENSOR,         // tensor, u64 offset, data      (no reply)
    RPC_CMD_SET_TENSOR_HASH,    // tensor, u64 offset, u64 hash  -> u8 found
    RPC_CMD_GET_TENSOR,         // tensor, u64 offset, u64 size  -> data
    RPC_CMD_COPY_TENSOR,        // tensor src, tensor dst        -> u8 result
    RPC_CMD_GRAPH_COMPUTE,      // graph (rpc_graph_* below)     (no reply)
    RPC_CMD_GET_DEVICE_MEMORY,  // u32 device                    -> u64 free, u64 total
    RPC_CMD_INIT_TENSOR,        // tensor                        -> (empty)
    RPC_CMD_GET_ALLOC_SIZE,     // u32 device, tensor, 10 tensors (srcs) -> u64 size
    RPC_CMD_HELLO,              // 24 bytes of capabilities      -> u8 major, minor, patch, pad, 24 bytes
    RPC_CMD_DEVICE_COUNT,       // (empty)                       -> u32 count
    RPC_CMD_GRAPH_RECOMPUTE,    // u32 device                    (no reply)
    RPC_CMD_MEMSET_TENSOR,      // tensor, u64 offset, u64 size, u8 value -> (empty)
    RPC_CMD_COUNT,
};

#define RPC_TENSOR_SIZE   296
// ggml's flag for the nodes a backend must compute (ggml's build_forward_expand sets it on every
// node, and ggml's CPU backend skips nodes without it): the client sets it on the nodes it sends.
#define RPC_TENSOR_FLAG_COMPUTE 16
#define RPC_CAPS_SIZE     24
#define RPC_HELLO_RSP_SIZE (4 + RPC_CAPS_SIZE)
// Uploads larger than this first offer the data's hash (the server may hold it in a cache).
#define RPC_HASH_THRESHOLD ((size_t) 10 * 1024 * 1024)

// A tensor as it travels: ids are the sender's tensor addresses (0: none), buffer is the
// server's buffer handle, data an address in the server's memory.
struct rpc_tensor {
    uint64_t id;
    uint32_t type;
    uint64_t buffer;
    uint32_t ne[GGML_MAX_DIMS];
    uint32_t nb[GGML_MAX_DIMS];
    uint32_t op;
    int32_t  op_params[GGML_MAX_OP_PARAMS / sizeof(int32_t)];
    int32_t  flags;
    uint64_t src[GGML_MAX_SRC];
    uint64_t view_src;
    uint64_t view_offs;
    uint64_t data;
    char     name[GGML_MAX_NAME];
};

const char * rpc_cmd_name(int cmd); // "GET_TENSOR", ...; "UNKNOWN" outside the enum

void rpc_tensor_write(uint8_t * out, const struct rpc_tensor * t); // RPC_TENSOR_SIZE bytes
void rpc_tensor_read(struct rpc_tensor * t, const uint8_t * in);   // name always NUL-terminated

// FNV-1a, as the protocol hashes uploads.
uint64_t rpc_fnv_hash(const uint8_t * data, size_t len);

static inline void rpc_put_u32(uint8_t * p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t) (v >> (8 * i)); }
static inline void rpc_put_u64(uint8_t * p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t) (v >> (8 * i)); }
static inline uint32_t rpc_get_u32(const uint8_t * p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = (v << 8) | p[i]; return v; }
static inline uint64_t rpc_get_u64(const uint8_t * p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = (v << 8) | p[i]; return v; }

//
// Sockets
//

enum rpc_io {
    RPC_IO_OK = 0,
    RPC_IO_CLOSED,   // the peer closed the connection
    RPC_IO_TIMEOUT,  // nothing moved for the whole timeout
    RPC_IO_ERROR,    // the socket failed (errno says why)
    RPC_IO_STOPPED,  // *stop became true while waiting
};

const char * rpc_io_name(enum rpc_io r);

// Splits "host:port" (or "[v6 address]:port"); false if there is no colon, the host is empty or
// too long, or the port is not a number in [0, 65535].
bool rpc_parse_endpoint(const char * endpoint, char * host, size_t host_size, int * port);

// A connected TCP socket (TCP_NODELAY set), or -1 with the reason in *err (RPC_IO_TIMEOUT when
// the connection was not made within timeout_ms, RPC_IO_ERROR otherwise, errno kept).
int rpc_socket_connect(const char * host, int port, int timeout_ms, enum rpc_io * err);

// Sends / receives exactly n bytes. timeout_ms bounds each wait for progress (not the whole
// transfer); a negative timeout waits forever. stop, when not NULL, is polled between waits of
// at most 100 ms, so a server can be told to stop while it waits for a client.
enum rpc_io rpc_send_all(int fd, const void * data, size_t n, int timeout_ms);
enum rpc_io rpc_recv_all(int fd, void * data, size_t n, int timeout_ms, const atomic_int * stop);

#ifdef __cplusplus
}
#endif
