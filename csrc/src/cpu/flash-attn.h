#pragma once

// Flash attention on the CPU (flash-attn.c): whether a FLASH_ATTN_EXT node can run here, the
// scratch it needs, and one thread's share of it. Internal to the CPU backend; ops-llm.c
// dispatches to it.

#include <stdbool.h>
#include <stddef.h>

#include "ggml.h"
#include "ops.h"

// true if the node's shapes and types have a kernel here (false for anything else).
bool   cpu_flash_attn_supported(const struct ggml_tensor * node);
// Scratch bytes the node needs with nth threads.
size_t cpu_flash_attn_work_size(const struct ggml_tensor * node, int nth);
// Computes this thread's share of the node; every thread of the run calls it.
void   cpu_flash_attn_compute(const struct cpu_compute_params * params, struct ggml_tensor * dst);
