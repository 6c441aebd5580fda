#pragma once

//
// ggml-rpc.h — devices on other machines through ggml's RPC protocol, with ggml's names.
//
// A machine runs an RPC server (ggml's own, or ggalloc's: ggml_backend_rpc_start_server, or
// ggalloc_rpc_server_start in ggalloc-rpc.h); a client uses its devices as backends.
//
// Example:
//
//   ggml_backend_t rpc = ggml_backend_rpc_init("192.168.1.7:50052", 0);   // NULL: the log says why
//   ggml_backend_buffer_type_t buft = ggml_backend_rpc_buffer_type("192.168.1.7:50052", 0);
//   ggml_gallocr_t galloc = ggml_gallocr_new(buft);      // plans with the server's alignment and max size
//   ggml_gallocr_alloc_graph(galloc, graph);            // the graph's memory lives on the server
//   ggml_backend_tensor_set(x, host_x, 0, ggml_nbytes(x));
//   if (ggml_backend_graph_compute(rpc, graph) == GGML_STATUS_SUCCESS) {
//       ggml_backend_tensor_get(y, host_y, 0, ggml_nbytes(y));
//   }
//   ggml_gallocr_free(galloc);
//   ggml_backend_free(rpc);
//
// Errors: the network is expected to fail. A refused connection, a server that goes away, a
// reply cut short or a server of another protocol version gives NULL / false / a failed status
// and a log line naming the endpoint and the command, after at most the connect or I/O timeout
// (ggalloc_rpc_set_timeouts). Once a connection fails, the buffers allocated through it report
// errors on every use and can still be freed; the next allocation or backend on that endpoint
// connects again. Buffer types, devices and registries live as long as the process.
//

#include "ggml.h"
#include "ggml-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

// The protocol this library speaks (ggml's RPC protocol): a server must have the same major
// version and a minor version not above this one.
#define RPC_PROTO_MAJOR_VERSION    5
#define RPC_PROTO_MINOR_VERSION    1
#define RPC_PROTO_PATCH_VERSION    0

#define GGML_RPC_MAX_SERVERS       16

// A backend computing on device `device` of the server at endpoint ("host:port"). NULL (and a
// log line) if the server cannot be reached, speaks another version, or has no such device.
GGML_API ggml_backend_t ggml_backend_rpc_init(const char * endpoint, uint32_t device);
GGML_API bool           ggml_backend_is_rpc(ggml_backend_t backend);

// The buffer type of that device, reporting the server's alignment, max buffer size and
// allocation sizes. The same arguments give the same object. NULL (and a log line) as above.
GGML_API ggml_backend_buffer_type_t ggml_backend_rpc_buffer_type(const char * endpoint, uint32_t device);

// The device's free and total memory as the server reports it; both 0 (and a log line) if the
// server cannot be asked.
GGML_API void ggml_backend_rpc_get_device_memory(const char * endpoint, uint32_t device, size_t * free, size_t * total);

// Serves the given devices at endpoint with ggml's protocol until the process ends (ggml's
// signature; cache_dir is not supported and must be NULL). Returns only on an error, logged:
// bad arguments, an endpoint that cannot be bound, a device that cannot start.
GGML_API void ggml_backend_rpc_start_server(const char * endpoint, const char * cache_dir,
        size_t n_threads, size_t n_devices, ggml_backend_dev_t * devices);

// The registry of RPC backends itself (it enumerates no devices: servers are added by name).
GGML_API ggml_backend_reg_t ggml_backend_rpc_reg(void);
// The registry of one server's devices ("RPC[host:port]"), connecting to ask how many it has;
// the same endpoint gives the same object. NULL (and a log line) if it cannot be reached.
GGML_API ggml_backend_reg_t ggml_backend_rpc_add_server(const char * endpoint);

#ifdef __cplusplus
}
#endif
