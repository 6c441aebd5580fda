#pragma once

//
// ggalloc-rpc.h — what ggalloc adds to ggml's RPC backend (ggml-rpc.h): a server that runs on
// its own thread and can be stopped, and the client's timeouts.
//
// Example:
//
//   ggml_backend_t cpu = ggml_backend_cpu_init();
//   ggalloc_rpc_server_t srv = ggalloc_rpc_server_start("127.0.0.1:0", &cpu, 1);  // 0: any free port
//   char endpoint[64];
//   snprintf(endpoint, sizeof(endpoint), "127.0.0.1:%d", ggalloc_rpc_server_port(srv));
//   ggml_backend_t rpc = ggml_backend_rpc_init(endpoint, 0);   // any ggml RPC client may connect
//   ...
//   ggml_backend_free(rpc);
//   ggalloc_rpc_server_free(srv);                              // stops serving, frees what clients left
//   ggml_backend_free(cpu);
//

#include "ggml.h"
#include "ggml-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ggalloc_rpc_server * ggalloc_rpc_server_t;

// Starts serving `backends` (device i of the protocol is backends[i]; the caller keeps them and
// frees them after the server) at endpoint "host:port" on a thread of its own, one client at a
// time as ggml's server does. Every request is checked (sizes, tensor records, offsets inside
// buffers, graph records) before memory is touched; a bad one is logged and ends that client's
// connection, as the protocol has no error reply. NULL (and a log line) on bad arguments or an
// endpoint that cannot be bound.
GGML_API ggalloc_rpc_server_t ggalloc_rpc_server_start(const char * endpoint, ggml_backend_t * backends, int n_backends);
// The port the server listens on (the one the system chose when the endpoint's port was 0).
GGML_API int                  ggalloc_rpc_server_port(ggalloc_rpc_server_t server);
// The most bytes one client may hold in buffers at a time (default SIZE_MAX: as much as the
// devices have); an allocation beyond it is answered as a failed one. Set before clients come.
GGML_API void                 ggalloc_rpc_server_set_memory_limit(ggalloc_rpc_server_t server, size_t bytes);
// Stops the server (within about 100 ms), closes its client, frees the buffers clients left.
// NULL is a no-op.
GGML_API void                 ggalloc_rpc_server_free(ggalloc_rpc_server_t server);

// The client's timeouts in milliseconds: for making a connection, and for each wait for the
// server to take or give bytes (a graph computation included). Values <= 0 keep the current
// one. Defaults: 5000 and 120000.
GGML_API void ggalloc_rpc_set_timeouts(int connect_ms, int io_ms);

#ifdef __cplusplus
}
#endif
