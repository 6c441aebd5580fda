#pragma once

// Dot products of quantized rows, one table per instruction set (portable C in quant-dot.c,
// AVX2 in quant-dot-avx2.c, used by the AVX-512 table too; NEON in quant-dot-neon.c), chosen
// with the kernel table in use (isa.c), so forcing an ISA reaches every path. Internal to the
// CPU backend.

#include "ggml-cpu.h"

struct cpu_qdot_table {
    ggml_vec_dot_t dot[GGML_TYPE_COUNT]; // weight type -> dot against its vec_dot_type; NULL: none
};

extern const struct cpu_qdot_table cpu_qdot_scalar;
#if defined(__x86_64__)
extern const struct cpu_qdot_table cpu_qdot_avx2;
#endif
#if defined(__aarch64__)
extern const struct cpu_qdot_table cpu_qdot_neon;
#endif

// The dot product of a row of weight type t with a row of its vec_dot_type, for the ISA in use;
// NULL if the CPU cannot compute with t.
ggml_vec_dot_t cpu_qdot_get(enum ggml_type t);

// The type activations are quantized to for t (GGML_TYPE_COUNT if none).
enum ggml_type cpu_vec_dot_type(enum ggml_type t);

// true if mul_mat, get_rows and copies can take t as a quantized operand here.
bool cpu_type_is_quant(enum ggml_type t);
