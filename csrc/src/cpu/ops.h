#pragma once

// The CPU backend's operations: which nodes it can run, the scratch memory each needs, and the
// per-thread compute of one node. Internal to the CPU backend.

#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>

#include "ggml.h"

struct cpu_threadpool;

struct cpu_compute_params {
    int    ith;      // this thread
    int    nth;      // threads working on the node
    void * wdata;    // scratch shared by the threads of the node
    size_t wsize;
    struct cpu_threadpool * pool; // for barriers inside a node (NULL when nth == 1)
    atomic_int * failed; // set to CPU_STOP_FAILED by a kernel that met bad data (a row index out of range)
};

// why a graph run stops early
#define CPU_STOP_ABORTED 1
#define CPU_STOP_FAILED  2

// true if the node's op and types have a kernel here.
bool   cpu_op_supported(const struct ggml_tensor * node);
// Scratch bytes the node needs with nth threads.
size_t cpu_op_work_size(const struct ggml_tensor * node, int nth);
// Computes this thread's share of the node. Every thread of the run calls it.
void   cpu_op_compute(const struct cpu_compute_params * params, struct ggml_tensor * node);

// Meets the other threads of the node (no-op with one thread).
void   cpu_op_barrier(const struct cpu_compute_params * params);

// mul_mat (mul-mat.c)
size_t cpu_mul_mat_work_size(const struct ggml_tensor * node, int nth);
void   cpu_mul_mat_compute(const struct cpu_compute_params * params, struct ggml_tensor * node);

// The ops of ops-llm.c (glu, flash attention, expert routing, extra norms and element-wise ops):
// whether it handles the node, and then the same three questions as above.
bool   cpu_llm_handles(const struct ggml_tensor * node);
bool   cpu_llm_supported(const struct ggml_tensor * node);
size_t cpu_llm_work_size(const struct ggml_tensor * node, int nth);
void   cpu_llm_compute(const struct cpu_compute_params * params, struct ggml_tensor * node);

// The ops of ops-conv.c (transposed convolutions, pool_1d, upscale, reflect padding, roll,
// relative positions, custom ops), asked the same way.
bool   cpu_conv_handles(const struct ggml_tensor * node);
bool   cpu_conv_supported(const struct ggml_tensor * node);
size_t cpu_conv_work_size(const struct ggml_tensor * node, int nth);
void   cpu_conv_compute(const struct cpu_compute_params * params, struct ggml_tensor * node);
