#pragma once

//
// ggml-backend.h — buffer types, buffers, backends, devices and the registry, with ggml's names.
//
// Example:
//
//   ggml_backend_t backend = ggml_backend_init_best();                  // NULL if none can start
//   ggml_backend_buffer_type_t buft = ggml_backend_get_default_buffer_type(backend);
//   ggml_backend_buffer_t buf = ggml_backend_alloc_ctx_tensors_from_buft(ctx, buft); // ggml-alloc.h
//   ggml_backend_tensor_set(weight, host_data, 0, ggml_nbytes(weight));
//   enum ggml_status st = ggml_backend_graph_compute(backend, graph);
//   ggml_backend_tensor_get(out, host_out, 0, ggml_nbytes(out));
//   ggml_backend_buffer_free(buf);
//   ggml_backend_free(backend);
//
// Objects returned by *_alloc_buffer and *_init are owned by the caller and freed with the
// matching *_free (NULL is a no-op). Buffer types, devices and registries live as long as the
// process. Tensor set/get/memset check that [offset, offset + size) lies inside the tensor and
// its buffer; if not, they log what was out of range and copy nothing.
//

#include "ggml.h"
#include "ggml-alloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ggml_backend_buffer_type * ggml_backend_buffer_type_t;
typedef struct ggml_backend_buffer      * ggml_backend_buffer_t;
typedef struct ggml_backend_event       * ggml_backend_event_t;
typedef struct ggml_backend             * ggml_backend_t;
typedef void                            * ggml_backend_graph_plan_t;
typedef struct ggml_backend_reg         * ggml_backend_reg_t;
typedef struct ggml_backend_device      * ggml_backend_dev_t;

//
// Buffer types
//

GGML_API const char *          ggml_backend_buft_name          (ggml_backend_buffer_type_t buft);
// NULL (and a log line naming the type and size) if the memory cannot be had.
// A size of 0 gives a valid, empty buffer.
GGML_API ggml_backend_buffer_t ggml_backend_buft_alloc_buffer  (ggml_backend_buffer_type_t buft, size_t size);
GGML_API size_t                ggml_backend_buft_get_alignment (ggml_backend_buffer_type_t buft);
GGML_API size_t                ggml_backend_buft_get_max_size  (ggml_backend_buffer_type_t buft); // SIZE_MAX: no limit
GGML_API size_t                ggml_backend_buft_get_alloc_size(ggml_backend_buffer_type_t buft, const struct ggml_tensor * tensor);
GGML_API bool                  ggml_backend_buft_is_host       (ggml_backend_buffer_type_t buft);
GGML_API ggml_backend_dev_t    ggml_backend_buft_get_device    (ggml_backend_buffer_type_t buft);

//
// Buffers
//

enum ggml_backend_buffer_usage {
    GGML_BACKEND_BUFFER_USAGE_ANY     = 0,
    GGML_BACKEND_BUFFER_USAGE_WEIGHTS = 1,
    GGML_BACKEND_BUFFER_USAGE_COMPUTE = 2,
};

GGML_API const char *                   ggml_backend_buffer_name          (ggml_backend_buffer_t buffer);
GGML_API void                           ggml_backend_buffer_free          (ggml_backend_buffer_t buffer);
GGML_API void *                         ggml_backend_buffer_get_base      (ggml_backend_buffer_t buffer);
GGML_API size_t                         ggml_backend_buffer_get_size      (ggml_backend_buffer_t buffer);
// Lets the buffer prepare a tensor whose data already points into it (views included).
GGML_API enum ggml_status               ggml_backend_buffer_init_tensor   (ggml_backend_buffer_t buffer, struct ggml_tensor * tensor);
GGML_API size_t                         ggml_backend_buffer_get_alignment (ggml_backend_buffer_t buffer);
GGML_API size_t                         ggml_backend_buffer_get_max_size  (ggml_backend_buffer_t buffer);
GGML_API size_t                         ggml_backend_buffer_get_alloc_size(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor);
GGML_API void                           ggml_backend_buffer_clear         (ggml_backend_buffer_t buffer, uint8_t value);
GGML_API bool                           ggml_backend_buffer_is_host       (ggml_backend_buffer_t buffer);
GGML_API void                           ggml_backend_buffer_set_usage     (ggml_backend_buffer_t buffer, enum ggml_backend_buffer_usage usage);
GGML_API enum ggml_backend_buffer_usage ggml_backend_buffer_get_usage     (ggml_backend_buffer_t buffer);
GGML_API ggml_backend_buffer_type_t     ggml_backend_buffer_get_type      (ggml_backend_buffer_t buffer);
GGML_API void                           ggml_backend_buffer_reset         (ggml_backend_buffer_t buffer);

// Copies the bytes of src into dst (same layout), across buffers of any types.
GGML_API void ggml_backend_tensor_copy(struct ggml_tensor * src, struct ggml_tensor * dst);
// The same, queued on the backends where they can (here: done at once, after both synchronize).
GGML_API void ggml_backend_tensor_copy_async(ggml_backend_t backend_src, ggml_backend_t backend_dst,
        struct ggml_tensor * src, struct ggml_tensor * dst);

//
// Events: none of the built-in devices has them (caps.events is false), so ggml_backend_event_new
// returns NULL; the other calls accept NULL and do nothing, as synchronous backends need.
//

GGML_API ggml_backend_event_t ggml_backend_event_new(ggml_backend_dev_t device);
GGML_API void                 ggml_backend_event_free(ggml_backend_event_t event);
GGML_API void                 ggml_backend_event_record(ggml_backend_event_t event, ggml_backend_t backend);
GGML_API void                 ggml_backend_event_synchronize(ggml_backend_event_t event);
GGML_API void                 ggml_backend_event_wait(ggml_backend_t backend, ggml_backend_event_t event);

//
// Backends
//

GGML_API const char * ggml_backend_name(ggml_backend_t backend);
GGML_API void         ggml_backend_free(ggml_backend_t backend);

GGML_API ggml_backend_buffer_type_t ggml_backend_get_default_buffer_type(ggml_backend_t backend);
GGML_API ggml_backend_buffer_t      ggml_backend_alloc_buffer(ggml_backend_t backend, size_t size);
GGML_API size_t                     ggml_backend_get_alignment(ggml_backend_t backend);
GGML_API size_t                     ggml_backend_get_max_size(ggml_backend_t backend);

GGML_API void ggml_backend_tensor_set_async(ggml_backend_t backend,       struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
GGML_API void ggml_backend_tensor_get_async(ggml_backend_t backend, const struct ggml_tensor * tensor,       void * data, size_t offset, size_t size);

// offset and size are in bytes of the tensor's data
GGML_API void ggml_backend_tensor_set   (      struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
GGML_API void ggml_backend_tensor_get   (const struct ggml_tensor * tensor,       void * data, size_t offset, size_t size);
GGML_API void ggml_backend_tensor_memset(      struct ggml_tensor * tensor,     uint8_t value, size_t offset, size_t size);
// n_copies blocks of size bytes: block i goes to tensor offset + i*stride_tensor from data + i*stride_data
GGML_API void ggml_backend_tensor_set_2d(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size,
        size_t n_copies, size_t stride_tensor, size_t stride_data);
GGML_API void ggml_backend_tensor_get_2d(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size,
        size_t n_copies, size_t stride_tensor, size_t stride_data);

GGML_API void ggml_backend_synchronize(ggml_backend_t backend);

// GGML_STATUS_FAILED (and a log line naming the node) for a graph the backend cannot run:
// an unsupported op, a tensor without data, a tensor in a buffer the backend cannot read.
GGML_API enum ggml_status ggml_backend_graph_compute      (ggml_backend_t backend, struct ggml_cgraph * cgraph);
GGML_API enum ggml_status ggml_backend_graph_compute_async(ggml_backend_t backend, struct ggml_cgraph * cgraph);

GGML_API bool ggml_backend_supports_op  (ggml_backend_t backend, const struct ggml_tensor * op);
GGML_API bool ggml_backend_supports_buft(ggml_backend_t backend, ggml_backend_buffer_type_t buft);
GGML_API bool ggml_backend_offload_op   (ggml_backend_t backend, const struct ggml_tensor * op);

GGML_API ggml_backend_dev_t ggml_backend_get_device(ggml_backend_t backend);

//
// Devices
//

enum ggml_backend_dev_type {
    GGML_BACKEND_DEVICE_TYPE_CPU,
    GGML_BACKEND_DEVICE_TYPE_GPU,
    GGML_BACKEND_DEVICE_TYPE_IGPU,
    GGML_BACKEND_DEVICE_TYPE_ACCEL,
};

struct ggml_backend_dev_caps {
    bool async;
    bool host_buffer;
    bool buffer_from_host_ptr;
    bool events;
};

struct ggml_backend_dev_props {
    const char * name;
    const char * description;
    size_t memory_free;
    size_t memory_total;
    enum ggml_backend_dev_type type;
    const char * device_id;
    struct ggml_backend_dev_caps caps;
};

GGML_API const char *                  ggml_backend_dev_name(ggml_backend_dev_t device);
GGML_API const char *                  ggml_backend_dev_description(ggml_backend_dev_t device);
GGML_API void                          ggml_backend_dev_memory(ggml_backend_dev_t device, size_t * free, size_t * total);
GGML_API enum ggml_backend_dev_type    ggml_backend_dev_type(ggml_backend_dev_t device);
GGML_API void                          ggml_backend_dev_get_props(ggml_backend_dev_t device, struct ggml_backend_dev_props * props);
GGML_API ggml_backend_reg_t            ggml_backend_dev_backend_reg(ggml_backend_dev_t device);
// NULL (and a log line) if the device cannot start a backend.
GGML_API ggml_backend_t                ggml_backend_dev_init(ggml_backend_dev_t device, const char * params);
GGML_API ggml_backend_buffer_type_t    ggml_backend_dev_buffer_type(ggml_backend_dev_t device);
GGML_API ggml_backend_buffer_type_t    ggml_backend_dev_host_buffer_type(ggml_backend_dev_t device); // NULL if none
GGML_API ggml_backend_buffer_t         ggml_backend_dev_buffer_from_host_ptr(ggml_backend_dev_t device, void * ptr, size_t size, size_t max_tensor_size);
GGML_API bool                          ggml_backend_dev_supports_op(ggml_backend_dev_t device, const struct ggml_tensor * op);
GGML_API bool                          ggml_backend_dev_supports_buft(ggml_backend_dev_t device, ggml_backend_buffer_type_t buft);
GGML_API bool                          ggml_backend_dev_offload_op(ggml_backend_dev_t device, const struct ggml_tensor * op);

//
// Registry: the backends built into the library (CPU, and Vulkan where it was built).
//

GGML_API const char *       ggml_backend_reg_name(ggml_backend_reg_t reg);
GGML_API size_t             ggml_backend_reg_dev_count(ggml_backend_reg_t reg);
GGML_API ggml_backend_dev_t ggml_backend_reg_dev_get(ggml_backend_reg_t reg, size_t index); // NULL if out of range
GGML_API void *             ggml_backend_reg_get_proc_address(ggml_backend_reg_t reg, const char * name); // NULL if unknown

// The functions get_proc_address hands out, by the name asked for: cast its result to these.
typedef void (*ggml_backend_set_n_threads_t)(ggml_backend_t backend, int n_threads);
typedef void (*ggml_backend_set_abort_callback_t)(ggml_backend_t backend, ggml_abort_callback abort_callback, void * abort_callback_data);

GGML_API size_t             ggml_backend_reg_count(void);
GGML_API ggml_backend_reg_t ggml_backend_reg_get(size_t index);
GGML_API ggml_backend_reg_t ggml_backend_reg_by_name(const char * name);

GGML_API size_t             ggml_backend_dev_count(void);
GGML_API ggml_backend_dev_t ggml_backend_dev_get(size_t index);
GGML_API ggml_backend_dev_t ggml_backend_dev_by_name(const char * name);
GGML_API ggml_backend_dev_t ggml_backend_dev_by_type(enum ggml_backend_dev_type type);

// NULL if no such device or it cannot start.
GGML_API ggml_backend_t ggml_backend_init_by_name(const char * name, const char * params);
GGML_API ggml_backend_t ggml_backend_init_by_type(enum ggml_backend_dev_type type, const char * params);
// A GPU if there is one, else the CPU.
GGML_API ggml_backend_t ggml_backend_init_best(void);

// Backends are built in, so there is nothing to load: these keep ggml programs working.
GGML_API void ggml_backend_load_all(void);
GGML_API void ggml_backend_load_all_from_path(const char * dir_path);

//
// Backend scheduler: runs one graph over several backends.
//
//   ggml_backend_t backends[2] = { gpu, cpu };             // priority order, the CPU last
//   ggml_backend_sched_t sched = ggml_backend_sched_new(backends, NULL, 2, GGML_DEFAULT_GRAPH_SIZE, false, true);
//   ggml_backend_sched_reserve(sched, worst_case_graph);    // optional: buffers for the largest graph
//   ggml_backend_sched_reset(sched);
//   ggml_backend_sched_alloc_graph(sched, graph);           // then set the inputs
//   ggml_backend_sched_graph_compute(sched, graph);
//   ggml_backend_sched_free(sched);
//
// Each node runs where its weights live, else on the first backend that supports it (a
// backend set with ggml_backend_sched_set_tensor_backend wins). The graph is cut into splits,
// each computed by one backend; a split's inputs from another backend are copied into its own
// buffer first (n_copies of them with `parallel`, used in turn). Each backend's memory is one
// buffer of one graph allocator (ggml_gallocr_reserve_n), planned by the planner ggalloc.h
// selects (ggalloc_backend_sched_set_planner; BEST by default). Splitting rewrites the sources
// of the graph's nodes that read a copy, as ggml does. Failures return false / NULL / a status
// and log why.
//

#define GGML_SCHED_MAX_BACKENDS 16
#define GGML_SCHED_MAX_COPIES   4

typedef struct ggml_backend_sched * ggml_backend_sched_t;

// Called for every node of a split: first with ask = true (return whether you want to see
// this node's result), then, once the nodes up to the one asked for have run, with ask = false
// (return false to stop computing the graph).
typedef bool (*ggml_backend_sched_eval_callback)(struct ggml_tensor * t, bool ask, void * user_data);

// NULL (and a log line) for no backends, more than GGML_SCHED_MAX_BACKENDS, a last backend
// that is not a CPU, or a buffer type a backend cannot use. bufts may be NULL (each backend's
// default). The backends stay the caller's.
GGML_API ggml_backend_sched_t ggml_backend_sched_new(ggml_backend_t * backends, ggml_backend_buffer_type_t * bufts,
        int n_backends, size_t graph_size, bool parallel, bool op_offload);
GGML_API void                 ggml_backend_sched_free(ggml_backend_sched_t sched);

// Plans buffers for measure_graph (the largest graph to come) and allocates them.
GGML_API bool ggml_backend_sched_reserve(ggml_backend_sched_t sched, struct ggml_cgraph * measure_graph);
// The bytes each backend's buffer would take for measure_graph (n_backends entries), allocating nothing.
GGML_API void ggml_backend_sched_reserve_size(ggml_backend_sched_t sched, struct ggml_cgraph * measure_graph, size_t * sizes);

GGML_API int                        ggml_backend_sched_get_n_backends(ggml_backend_sched_t sched);
GGML_API ggml_backend_t             ggml_backend_sched_get_backend(ggml_backend_sched_t sched, int i); // NULL if out of range
GGML_API int                        ggml_backend_sched_get_n_splits(ggml_backend_sched_t sched);
GGML_API int                        ggml_backend_sched_get_n_copies(ggml_backend_sched_t sched);
GGML_API ggml_backend_buffer_type_t ggml_backend_sched_get_buffer_type(ggml_backend_sched_t sched, ggml_backend_t backend);
GGML_API size_t                     ggml_backend_sched_get_buffer_size(ggml_backend_sched_t sched, ggml_backend_t backend);

GGML_API void           ggml_backend_sched_set_tensor_backend(ggml_backend_sched_t sched, struct ggml_tensor * node, ggml_backend_t backend);
GGML_API ggml_backend_t ggml_backend_sched_get_tensor_backend(ggml_backend_sched_t sched, struct ggml_tensor * node); // NULL if none

// Assigns backends and cuts graph into splits (alloc_graph does this itself).
GGML_API void             ggml_backend_sched_split_graph(ggml_backend_sched_t sched, struct ggml_cgraph * graph);
// Splits graph and places its tensors in the backends' buffers (planning again when it changed).
GGML_API bool             ggml_backend_sched_alloc_graph(ggml_backend_sched_t sched, struct ggml_cgraph * graph);
GGML_API enum ggml_status ggml_backend_sched_graph_compute(ggml_backend_sched_t sched, struct ggml_cgraph * graph);
GGML_API enum ggml_status ggml_backend_sched_graph_compute_async(ggml_backend_sched_t sched, struct ggml_cgraph * graph);
GGML_API void             ggml_backend_sched_synchronize(ggml_backend_sched_t sched);

// Forgets the assignment of tensors to backends (those set by the user included); the buffers stay.
GGML_API void ggml_backend_sched_reset(ggml_backend_sched_t sched);

GGML_API void ggml_backend_sched_set_eval_callback(ggml_backend_sched_t sched, ggml_backend_sched_eval_callback callback, void * user_data);

//
// Utilities
//

// Places tensor at addr inside buffer (addr must lie inside it, with room for the tensor).
GGML_API enum ggml_status ggml_backend_tensor_alloc(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor, void * addr);
// Gives a view the data and buffer of its view_src (which must be allocated).
GGML_API enum ggml_status ggml_backend_view_init(struct ggml_tensor * tensor);

// A copy of graph on backend: every tensor duplicated (views as views) into new contexts, those
// with memory of their own allocated in one buffer of the backend's default type, and the data
// of every tensor that had some copied over. All NULL (and a log line) on failure. Free with
// ggml_backend_graph_copy_free.
struct ggml_backend_graph_copy {
    ggml_backend_buffer_t buffer;
    struct ggml_context * ctx_allocated;
    struct ggml_context * ctx_unallocated;
    struct ggml_cgraph *  graph;
};

GGML_API struct ggml_backend_graph_copy ggml_backend_graph_copy(ggml_backend_t backend, struct ggml_cgraph * graph);
GGML_API void                           ggml_backend_graph_copy_free(struct ggml_backend_graph_copy copy);

// Called with each node computed on both backends (t1 on backend1, t2 on backend2); return
// false to stop.
typedef bool (*ggml_backend_eval_callback)(int node_index, struct ggml_tensor * t1, struct ggml_tensor * t2, void * user_data);

// Runs graph on backend1 and a copy of it on backend2 and hands each pair of results to
// callback: node by node, or, with test_nodes, the whole graph once and then those nodes.
// false if the copy cannot be made or a compute fails.
GGML_API bool ggml_backend_compare_graph_backend(ggml_backend_t backend1, ggml_backend_t backend2, struct ggml_cgraph * graph,
        ggml_backend_eval_callback callback, void * user_data, struct ggml_tensor * const * test_nodes, size_t num_test_nodes);

// CPU buffer types are always available.
// A buffer over memory the caller owns and keeps alive; NULL if ptr is NULL.
GGML_API ggml_backend_buffer_t      ggml_backend_cpu_buffer_from_ptr(void * ptr, size_t size);
GGML_API ggml_backend_buffer_type_t ggml_backend_cpu_buffer_type(void);

#ifdef __cplusplus
}
#endif
