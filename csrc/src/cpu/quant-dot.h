#pragma once

// Dot products of quantized rows, one table per instruction set (portable C in quant-dot.c,
// AVX2 in quant-dot-avx2.c, AVX-512 in quant-dot-avx512.c, NEON in quant-dot-neon.c), chosen
// with the kernel table in use (isa.c), so forcing an ISA reaches every path. A table without
// a kernel for a type falls back to the next narrower one (AVX-512 -> AVX2 -> portable).
// Internal to the CPU backend.

#include "ggml-cpu.h"

// Dot products of nr weight rows (row r at x + r * bx, n weights each) with one activation row
// y of the vec_dot_type: s[r] for r < nr. Kernels that take several rows at once load each
// activation block once for all of them; the results equal the single-row dot's up to float
// rounding.
typedef void (*cpu_qgemv_t)(int n, float * s, const void * x, size_t bx, int nr, const void * y);

struct cpu_qdot_table {
    ggml_vec_dot_t dot[GGML_TYPE_COUNT];  // weight type -> dot against its vec_dot_type; NULL: none
    cpu_qgemv_t    gemv[GGML_TYPE_COUNT]; // several rows at once; NULL: the dot, row by row
};

extern const struct cpu_qdot_table cpu_qdot_scalar;
#if defined(__x86_64__)
extern const struct cpu_qdot_table cpu_qdot_avx2;
extern const struct cpu_qdot_table cpu_qdot_avx2_vnni;   // AVX-VNNI (vpdpbusd, vpdpwssd on 256 bits)
extern const struct cpu_qdot_table cpu_qdot_avx512;
extern const struct cpu_qdot_table cpu_qdot_avx512_vnni; // AVX-512 VNNI (vpdpbusd, vpdpwssd)
#endif
#if defined(__aarch64__)
extern const struct cpu_qdot_table cpu_qdot_neon;
#endif

// The dot product of a row of weight type t with a row of its vec_dot_type, for the ISA in use;
// NULL if the CPU cannot compute with t.
ggml_vec_dot_t cpu_qdot_get(enum ggml_type t);

// The several-rows kernel of t for the ISA in use, or NULL (then use cpu_qdot_get row by row).
cpu_qgemv_t cpu_qgemv_get(enum ggml_type t);

// Whether the AVX-512 and AVX2 tables may use VNNI (AVX512-VNNI, AVX-VNNI) where the CPU has
// it (the default); tests turn it off to reach the kernels of CPUs without it. Returns whether
// either is in use afterwards.
bool cpu_qdot_set_vnni(bool on);

// The type activations are quantized to for t (GGML_TYPE_COUNT if none).
enum ggml_type cpu_vec_dot_type(enum ggml_type t);

// true if mul_mat, get_rows and copies can take t as a quantized operand here.
bool cpu_type_is_quant(enum ggml_type t);
