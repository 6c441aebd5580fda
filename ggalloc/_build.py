"""The cffi builder of ``ggalloc._ggalloc`` (out-of-line API mode).

The extension is compiled from the same C sources as the C library (csrc/src/*.c, csrc/src/cpu/*.c
and csrc/src/rpc/*.c, plus csrc/src/vulkan/*.c and the generated shaders when Vulkan can be built),
with hidden visibility: the only symbol it exports is ``PyInit__ggalloc``, so it can share a
process with a real ggml. The declarations below are written by hand from the public headers
in csrc/include and list only what the package uses.

setup.py's build_ext calls :func:`prepare` with its compiler and temporary directory: files
named ``*-avx2.c`` / ``*-avx512.c`` need their own ISA flags (setuptools compiles the sources of
one extension with one set of flags), so they are compiled to objects there and linked in as
extra objects; the Vulkan shaders are generated there too.

Build with ``python3 setup.py build_ext --inplace`` (``make python``) or ``pip install .``.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from glob import glob
from typing import Any, List

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMON_ARGS = ["-std=c11", "-O2", "-fvisibility=hidden", "-fno-strict-aliasing"]


def _read_isa_args() -> "dict[str, List[str]]":
    """The flags of the kernel files for one ISA, by file-name ending (csrc/src/cpu/isa-flags.txt,
    which CMakeLists.txt reads too)."""
    out = {}
    with open(os.path.join(ROOT, "csrc", "src", "cpu", "isa-flags.txt")) as f:
        for line in f:
            words = line.split()
            if words and words[0].startswith("-"):
                out[words[0]] = words[1:]
    return out


ISA_ARGS = _read_isa_args()

CDEF_TYPES = r"""
typedef uint16_t ggml_fp16_t;
typedef struct { uint16_t bits; } ggml_bf16_t;

enum ggml_status { GGML_STATUS_ALLOC_FAILED, GGML_STATUS_FAILED, GGML_STATUS_SUCCESS, GGML_STATUS_ABORTED, ... };

enum ggml_type {
    GGML_TYPE_F32, GGML_TYPE_F16, GGML_TYPE_Q4_0, GGML_TYPE_Q4_1, GGML_TYPE_Q5_0, GGML_TYPE_Q5_1,
    GGML_TYPE_Q8_0, GGML_TYPE_Q8_1, GGML_TYPE_Q2_K, GGML_TYPE_Q3_K, GGML_TYPE_Q4_K, GGML_TYPE_Q5_K,
    GGML_TYPE_Q6_K, GGML_TYPE_Q8_K, GGML_TYPE_IQ2_XXS, GGML_TYPE_IQ2_XS, GGML_TYPE_IQ3_XXS, GGML_TYPE_IQ1_S,
    GGML_TYPE_IQ4_NL, GGML_TYPE_IQ3_S, GGML_TYPE_IQ2_S, GGML_TYPE_IQ4_XS, GGML_TYPE_I8, GGML_TYPE_I16,
    GGML_TYPE_I32, GGML_TYPE_I64, GGML_TYPE_F64, GGML_TYPE_IQ1_M, GGML_TYPE_BF16, GGML_TYPE_TQ1_0,
    GGML_TYPE_TQ2_0, GGML_TYPE_MXFP4, GGML_TYPE_NVFP4, GGML_TYPE_Q1_0, GGML_TYPE_Q2_0, GGML_TYPE_COUNT, ...
};

enum ggml_prec { GGML_PREC_DEFAULT, GGML_PREC_F32, ... };

enum ggml_op {
    GGML_OP_NONE, GGML_OP_DUP, GGML_OP_ADD, GGML_OP_ADD_ID, GGML_OP_ADD1, GGML_OP_ACC, GGML_OP_SUB,
    GGML_OP_MUL, GGML_OP_DIV, GGML_OP_SQR, GGML_OP_SQRT, GGML_OP_LOG, GGML_OP_SIN, GGML_OP_COS,
    GGML_OP_SUM, GGML_OP_SUM_ROWS, GGML_OP_CUMSUM, GGML_OP_MEAN, GGML_OP_ARGMAX,
    GGML_OP_COUNT_EQUAL, GGML_OP_REPEAT, GGML_OP_REPEAT_BACK, GGML_OP_CONCAT, GGML_OP_SILU_BACK,
    GGML_OP_NORM, GGML_OP_RMS_NORM, GGML_OP_RMS_NORM_BACK, GGML_OP_GROUP_NORM, GGML_OP_L2_NORM,
    GGML_OP_MUL_MAT, GGML_OP_MUL_MAT_ID, GGML_OP_OUT_PROD, GGML_OP_SCALE, GGML_OP_SET, GGML_OP_CPY,
    GGML_OP_CONT, GGML_OP_RESHAPE, GGML_OP_VIEW, GGML_OP_PERMUTE, GGML_OP_TRANSPOSE,
    GGML_OP_GET_ROWS, GGML_OP_GET_ROWS_BACK, GGML_OP_SET_ROWS, GGML_OP_DIAG, GGML_OP_DIAG_MASK_INF,
    GGML_OP_DIAG_MASK_ZERO, GGML_OP_SOFT_MAX, GGML_OP_SOFT_MAX_BACK, GGML_OP_ROPE,
    GGML_OP_ROPE_BACK, GGML_OP_CLAMP, GGML_OP_CONV_TRANSPOSE_1D, GGML_OP_IM2COL,
    GGML_OP_IM2COL_BACK, GGML_OP_IM2COL_3D, GGML_OP_COL2IM_1D, GGML_OP_CONV_2D, GGML_OP_CONV_3D,
    GGML_OP_CONV_2D_DW, GGML_OP_CONV_TRANSPOSE_2D, GGML_OP_POOL_1D, GGML_OP_POOL_2D,
    GGML_OP_POOL_2D_BACK, GGML_OP_UPSCALE, GGML_OP_PAD, GGML_OP_PAD_REFLECT_1D, GGML_OP_ROLL,
    GGML_OP_ARANGE, GGML_OP_TIMESTEP_EMBEDDING, GGML_OP_ARGSORT, GGML_OP_TOP_K, GGML_OP_LEAKY_RELU,
    GGML_OP_TRI, GGML_OP_FILL, GGML_OP_FLASH_ATTN_EXT, GGML_OP_FLASH_ATTN_BACK, GGML_OP_SSM_CONV,
    GGML_OP_SSM_SCAN, GGML_OP_WIN_PART, GGML_OP_WIN_UNPART, GGML_OP_GET_REL_POS,
    GGML_OP_ADD_REL_POS, GGML_OP_RWKV_WKV6, GGML_OP_GATED_LINEAR_ATTN, GGML_OP_RWKV_WKV7,
    GGML_OP_SOLVE_TRI, GGML_OP_GATED_DELTA_NET, GGML_OP_LIGHTNING_INDEXER, GGML_OP_DSV4_HC_COMB,
    GGML_OP_DSV4_HC_PRE, GGML_OP_DSV4_HC_POST, GGML_OP_UNARY, GGML_OP_MAP_CUSTOM1,
    GGML_OP_MAP_CUSTOM2, GGML_OP_MAP_CUSTOM3, GGML_OP_CUSTOM, GGML_OP_CROSS_ENTROPY_LOSS,
    GGML_OP_CROSS_ENTROPY_LOSS_BACK, GGML_OP_OPT_STEP_ADAMW, GGML_OP_OPT_STEP_SGD, GGML_OP_GLU,
    GGML_OP_COUNT, ...
};

enum ggml_unary_op {
    GGML_UNARY_OP_ABS, GGML_UNARY_OP_SGN, GGML_UNARY_OP_NEG, GGML_UNARY_OP_STEP, GGML_UNARY_OP_TANH,
    GGML_UNARY_OP_ELU, GGML_UNARY_OP_RELU, GGML_UNARY_OP_SIGMOID, GGML_UNARY_OP_GELU,
    GGML_UNARY_OP_GELU_QUICK, GGML_UNARY_OP_SILU, GGML_UNARY_OP_HARDSWISH,
    GGML_UNARY_OP_HARDSIGMOID, GGML_UNARY_OP_EXP, GGML_UNARY_OP_EXPM1, GGML_UNARY_OP_SOFTPLUS,
    GGML_UNARY_OP_GELU_ERF, GGML_UNARY_OP_XIELU, GGML_UNARY_OP_FLOOR, GGML_UNARY_OP_CEIL,
    GGML_UNARY_OP_ROUND, GGML_UNARY_OP_TRUNC, GGML_UNARY_OP_COUNT, ...
};

enum ggml_log_level {
    GGML_LOG_LEVEL_NONE, GGML_LOG_LEVEL_DEBUG, GGML_LOG_LEVEL_INFO, GGML_LOG_LEVEL_WARN,
    GGML_LOG_LEVEL_ERROR, GGML_LOG_LEVEL_CONT, ...
};

enum ggml_tensor_flag {
    GGML_TENSOR_FLAG_INPUT, GGML_TENSOR_FLAG_OUTPUT, GGML_TENSOR_FLAG_PARAM, GGML_TENSOR_FLAG_LOSS, ...
};

enum ggml_op_pool { GGML_OP_POOL_MAX, GGML_OP_POOL_AVG, GGML_OP_POOL_COUNT, ... };

#define GGML_MAX_DIMS ...
#define GGML_MAX_SRC ...
#define GGML_MAX_NAME ...
#define GGML_MAX_OP_PARAMS ...
#define GGML_DEFAULT_GRAPH_SIZE ...
#define GGML_MEM_ALIGN ...
#define GGML_ROPE_TYPE_NEOX ...
#define GGALLOC_TENSOR_FLAG_EXTERNAL ...

struct ggml_init_params {
    size_t mem_size;
    void * mem_buffer;
    bool   no_alloc;
};

struct ggml_object;
struct ggml_context;
struct ggml_cgraph;
struct ggml_backend_buffer_type;
struct ggml_backend_buffer;
struct ggml_backend_event;
struct ggml_backend;
struct ggml_backend_reg;
struct ggml_backend_device;
struct ggml_gallocr;
struct ggml_allocr;

typedef struct ggml_backend_buffer_type * ggml_backend_buffer_type_t;
typedef struct ggml_backend_buffer      * ggml_backend_buffer_t;
typedef struct ggml_backend_event       * ggml_backend_event_t;
typedef struct ggml_backend             * ggml_backend_t;
typedef void                            * ggml_backend_graph_plan_t;
typedef struct ggml_backend_reg         * ggml_backend_reg_t;
typedef struct ggml_backend_device      * ggml_backend_dev_t;
typedef struct ggml_gallocr * ggml_gallocr_t;
typedef struct ggml_allocr * ggml_allocr_t;

struct ggml_tensor {
    enum ggml_type type;
    struct ggml_backend_buffer * buffer;
    int64_t ne[4];
    size_t  nb[4];
    enum ggml_op op;
    int32_t op_params[16];
    int32_t flags;
    struct ggml_tensor * src[10];
    struct ggml_tensor * view_src;
    size_t view_offs;
    void * data;
    char name[64];
    void * extra;
    ...;
};

typedef bool (*ggml_abort_callback)(void * data);
typedef void (*ggml_log_callback)(enum ggml_log_level level, const char * text, void * user_data);
void ggml_log_set(ggml_log_callback log_callback, void * user_data);
void ggml_backend_cpu_set_abort_callback(ggml_backend_t backend_cpu, ggml_abort_callback abort_callback, void * abort_callback_data);

struct ggml_tallocr {
    ggml_backend_buffer_t buffer;
    void * base;
    size_t alignment;
    size_t offset;
};

enum ggml_backend_buffer_usage {
    GGML_BACKEND_BUFFER_USAGE_ANY, GGML_BACKEND_BUFFER_USAGE_WEIGHTS, GGML_BACKEND_BUFFER_USAGE_COMPUTE, ...
};

enum ggml_backend_dev_type {
    GGML_BACKEND_DEVICE_TYPE_CPU, GGML_BACKEND_DEVICE_TYPE_GPU, GGML_BACKEND_DEVICE_TYPE_IGPU,
    GGML_BACKEND_DEVICE_TYPE_ACCEL, ...
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

enum ggalloc_planner { GGALLOC_PLANNER_GGML, GGALLOC_PLANNER_BEST, ... };

struct ggalloc_placement {
    const struct ggml_tensor * tensor;
    int    buffer_id;
    int    chunk;
    size_t offset;
    size_t size;
    int    first;
    int    last;
};

enum ggalloc_cpu_isa { GGALLOC_CPU_ISA_AUTO, GGALLOC_CPU_ISA_SCALAR, GGALLOC_CPU_ISA_AVX2, GGALLOC_CPU_ISA_AVX512, GGALLOC_CPU_ISA_NEON, ... };

/* the log callback the package installs (ggalloc/_lib.py) */
extern "Python" void _ggalloc_py_log(enum ggml_log_level, const char *, void *);

/* 1 when the Vulkan backend was compiled in */
static const int GGALLOC_PY_VULKAN;
"""

CDEF_FUNCTIONS = r"""
const char * ggml_status_to_string(enum ggml_status status);
float ggml_fp16_to_fp32(ggml_fp16_t x);
ggml_fp16_t ggml_fp32_to_fp16(float x);
void ggml_fp16_to_fp32_row(const ggml_fp16_t * x, float * y, int64_t n);
void ggml_fp32_to_fp16_row(const float * x, ggml_fp16_t * y, int64_t n);
float ggml_bf16_to_fp32(ggml_bf16_t x);
ggml_bf16_t ggml_fp32_to_bf16(float x);
void ggml_bf16_to_fp32_row(const ggml_bf16_t * x, float * y, int64_t n);
void ggml_fp32_to_bf16_row_ref(const float * x, ggml_bf16_t * y, int64_t n);
void ggml_fp32_to_bf16_row(const float * x, ggml_bf16_t * y, int64_t n);
void ggml_time_init(void);
int64_t ggml_time_ms(void);
int64_t ggml_time_us(void);
int64_t ggml_cycles(void);
int64_t ggml_cycles_per_ms(void);
int64_t ggml_nelements (const struct ggml_tensor * tensor);
int64_t ggml_nrows (const struct ggml_tensor * tensor);
size_t ggml_nbytes (const struct ggml_tensor * tensor);
size_t ggml_nbytes_pad(const struct ggml_tensor * tensor);
int64_t ggml_blck_size(enum ggml_type type);
size_t ggml_type_size(enum ggml_type type);
size_t ggml_row_size (enum ggml_type type, int64_t ne);
const char * ggml_type_name(enum ggml_type type);
const char * ggml_op_name (enum ggml_op op);
const char * ggml_op_symbol(enum ggml_op op);
const char * ggml_unary_op_name(enum ggml_unary_op op);
const char * ggml_op_desc(const struct ggml_tensor * t);
size_t ggml_element_size(const struct ggml_tensor * tensor);
bool ggml_is_quantized(enum ggml_type type);
bool ggml_is_transposed(const struct ggml_tensor * tensor);
bool ggml_is_permuted (const struct ggml_tensor * tensor);
bool ggml_is_empty (const struct ggml_tensor * tensor);
bool ggml_is_scalar (const struct ggml_tensor * tensor);
bool ggml_is_vector (const struct ggml_tensor * tensor);
bool ggml_is_matrix (const struct ggml_tensor * tensor);
bool ggml_is_3d (const struct ggml_tensor * tensor);
int ggml_n_dims (const struct ggml_tensor * tensor);
bool ggml_is_contiguous (const struct ggml_tensor * tensor);
bool ggml_is_contiguous_0(const struct ggml_tensor * tensor);
bool ggml_is_contiguous_1(const struct ggml_tensor * tensor);
bool ggml_is_contiguous_2(const struct ggml_tensor * tensor);
bool ggml_is_contiguously_allocated(const struct ggml_tensor * tensor);
bool ggml_is_contiguous_rows(const struct ggml_tensor * tensor);
bool ggml_are_same_shape (const struct ggml_tensor * t0, const struct ggml_tensor * t1);
bool ggml_are_same_stride(const struct ggml_tensor * t0, const struct ggml_tensor * t1);
bool ggml_can_repeat (const struct ggml_tensor * t0, const struct ggml_tensor * t1);
bool ggml_is_view(const struct ggml_tensor * t);
size_t ggml_tensor_overhead(void);
size_t ggml_graph_overhead(void);
size_t ggml_graph_overhead_custom(size_t size, bool grads);
struct ggml_context * ggml_init(struct ggml_init_params params);
void ggml_reset(struct ggml_context * ctx);
void ggml_free(struct ggml_context * ctx);
size_t ggml_used_mem(const struct ggml_context * ctx);
bool ggml_get_no_alloc(struct ggml_context * ctx);
void ggml_set_no_alloc(struct ggml_context * ctx, bool no_alloc);
void * ggml_get_mem_buffer (const struct ggml_context * ctx);
size_t ggml_get_mem_size (const struct ggml_context * ctx);
size_t ggml_get_max_tensor_size(const struct ggml_context * ctx);
struct ggml_tensor * ggml_new_tensor(struct ggml_context * ctx, enum ggml_type type, int n_dims, const int64_t * ne);
struct ggml_tensor * ggml_new_tensor_1d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0);
struct ggml_tensor * ggml_new_tensor_2d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1);
struct ggml_tensor * ggml_new_tensor_3d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2);
struct ggml_tensor * ggml_new_tensor_4d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
struct ggml_tensor * ggml_new_i32(struct ggml_context * ctx, int32_t value);
struct ggml_tensor * ggml_new_f32(struct ggml_context * ctx, float value);
struct ggml_tensor * ggml_dup_tensor (struct ggml_context * ctx, const struct ggml_tensor * src);
struct ggml_tensor * ggml_view_tensor(struct ggml_context * ctx, struct ggml_tensor * src);
struct ggml_tensor * ggml_get_first_tensor(const struct ggml_context * ctx);
struct ggml_tensor * ggml_get_next_tensor (const struct ggml_context * ctx, struct ggml_tensor * tensor);
struct ggml_tensor * ggml_get_tensor(struct ggml_context * ctx, const char * name);
enum ggml_unary_op ggml_get_unary_op(const struct ggml_tensor * tensor);
void * ggml_get_data (const struct ggml_tensor * tensor);
float * ggml_get_data_f32(const struct ggml_tensor * tensor);
const char * ggml_get_name (const struct ggml_tensor * tensor);
struct ggml_tensor * ggml_set_name ( struct ggml_tensor * tensor, const char * name);
void ggml_set_input (struct ggml_tensor * tensor);
void ggml_set_output(struct ggml_tensor * tensor);
void ggml_set_param (struct ggml_tensor * tensor);
void ggml_set_loss (struct ggml_tensor * tensor);
struct ggml_tensor * ggml_set_i32(struct ggml_tensor * tensor, int32_t value);
struct ggml_tensor * ggml_set_f32(struct ggml_tensor * tensor, float value);
int32_t ggml_get_i32_1d(const struct ggml_tensor * tensor, int i);
void ggml_set_i32_1d(const struct ggml_tensor * tensor, int i, int32_t value);
int32_t ggml_get_i32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3);
void ggml_set_i32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3, int32_t value);
float ggml_get_f32_1d(const struct ggml_tensor * tensor, int i);
void ggml_set_f32_1d(const struct ggml_tensor * tensor, int i, float value);
float ggml_get_f32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3);
void ggml_set_f32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3, float value);
struct ggml_tensor * ggml_dup (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_dup_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_add (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_add_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_add1 (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_add1_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_sub (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_sub_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_mul (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_mul_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_div (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_div_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_sqr (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sqr_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sqrt (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sqrt_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_log (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_log_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sum (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sum_rows(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_mean (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_argmax (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_repeat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_concat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int dim);
struct ggml_tensor * ggml_abs (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_abs_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sgn (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sgn_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_neg (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_neg_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_step (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_step_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_tanh (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_tanh_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_elu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_elu_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_relu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_relu_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sigmoid (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sigmoid_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_gelu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_gelu_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_gelu_erf (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_gelu_erf_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_gelu_quick (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_gelu_quick_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_silu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_silu_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_hardswish (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_hardsigmoid (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_exp (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_exp_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_unary (struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op);
struct ggml_tensor * ggml_unary_inplace(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op);
struct ggml_tensor * ggml_norm (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
struct ggml_tensor * ggml_norm_inplace (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
struct ggml_tensor * ggml_rms_norm (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
struct ggml_tensor * ggml_rms_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps);
struct ggml_tensor * ggml_mul_mat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
void ggml_mul_mat_set_prec(struct ggml_tensor * a, enum ggml_prec prec);
struct ggml_tensor * ggml_scale (struct ggml_context * ctx, struct ggml_tensor * a, float s);
struct ggml_tensor * ggml_scale_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float s);
struct ggml_tensor * ggml_scale_bias(struct ggml_context * ctx, struct ggml_tensor * a, float s, float b);
struct ggml_tensor * ggml_scale_bias_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float s, float b);
struct ggml_tensor * ggml_cpy(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_cast(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_type type);
struct ggml_tensor * ggml_cont (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_cont_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0);
struct ggml_tensor * ggml_cont_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1);
struct ggml_tensor * ggml_cont_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2);
struct ggml_tensor * ggml_cont_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
struct ggml_tensor * ggml_reshape (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_reshape_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0);
struct ggml_tensor * ggml_reshape_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1);
struct ggml_tensor * ggml_reshape_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2);
struct ggml_tensor * ggml_reshape_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
struct ggml_tensor * ggml_view_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, size_t offset);
struct ggml_tensor * ggml_view_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, size_t nb1, size_t offset);
struct ggml_tensor * ggml_view_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, size_t nb1, size_t nb2, size_t offset);
struct ggml_tensor * ggml_view_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, size_t nb1, size_t nb2, size_t nb3, size_t offset);
struct ggml_tensor * ggml_permute(struct ggml_context * ctx, struct ggml_tensor * a, int axis0, int axis1, int axis2, int axis3);
struct ggml_tensor * ggml_transpose(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_get_rows(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_set_rows(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c);
struct ggml_tensor * ggml_diag_mask_inf (struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
struct ggml_tensor * ggml_diag_mask_inf_inplace (struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
struct ggml_tensor * ggml_diag_mask_zero (struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
struct ggml_tensor * ggml_diag_mask_zero_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
struct ggml_tensor * ggml_soft_max (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_soft_max_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_soft_max_ext(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask, float scale, float max_bias);
struct ggml_tensor * ggml_soft_max_ext_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask, float scale, float max_bias);
struct ggml_tensor * ggml_rope_ext(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
struct ggml_tensor * ggml_rope_ext_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
struct ggml_tensor * ggml_rope(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int n_dims, int mode);
struct ggml_tensor * ggml_im2col(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int s1, int p0, int p1, int d0, int d1, bool is_2D, enum ggml_type dst_type);
struct ggml_tensor * ggml_conv_2d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int s1, int p0, int p1, int d0, int d1);
struct ggml_tensor * ggml_pool_2d(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op_pool op, int k0, int k1, int s0, int s1, float p0, float p1);
struct ggml_tensor * ggml_pad(struct ggml_context * ctx, struct ggml_tensor * a, int p0, int p1, int p2, int p3);
struct ggml_cgraph * ggml_new_graph (struct ggml_context * ctx);
struct ggml_cgraph * ggml_new_graph_custom(struct ggml_context * ctx, size_t size, bool grads);
struct ggml_cgraph * ggml_graph_dup (struct ggml_context * ctx, struct ggml_cgraph * cgraph, bool force_grads);
void ggml_graph_cpy (struct ggml_cgraph * src, struct ggml_cgraph * dst);
void ggml_graph_clear (struct ggml_cgraph * cgraph);
void ggml_graph_reset (struct ggml_cgraph * cgraph);
void ggml_build_forward_expand(struct ggml_cgraph * cgraph, struct ggml_tensor * tensor);
int ggml_graph_size (struct ggml_cgraph * cgraph);
struct ggml_tensor * ggml_graph_node (struct ggml_cgraph * cgraph, int i);
struct ggml_tensor ** ggml_graph_nodes (struct ggml_cgraph * cgraph);
int ggml_graph_n_nodes(struct ggml_cgraph * cgraph);
void ggml_graph_add_node(struct ggml_cgraph * cgraph, struct ggml_tensor * tensor);
struct ggml_tensor * ggml_graph_get_tensor(const struct ggml_cgraph * cgraph, const char * name);
void ggml_graph_print(const struct ggml_cgraph * cgraph);
struct ggml_tallocr ggml_tallocr_new(ggml_backend_buffer_t buffer);
enum ggml_status ggml_tallocr_alloc(struct ggml_tallocr * talloc, struct ggml_tensor * tensor);
ggml_gallocr_t ggml_gallocr_new(ggml_backend_buffer_type_t buft);
ggml_gallocr_t ggml_gallocr_new_n(ggml_backend_buffer_type_t * bufts, int n_bufs);
void ggml_gallocr_free(ggml_gallocr_t galloc);
bool ggml_gallocr_reserve(ggml_gallocr_t galloc, struct ggml_cgraph * graph);
bool ggml_gallocr_reserve_n( ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids, const int * leaf_buffer_ids);
void ggml_gallocr_reserve_n_size( ggml_gallocr_t galloc, struct ggml_cgraph * graph, const int * node_buffer_ids, const int * leaf_buffer_ids, size_t * sizes);
bool ggml_gallocr_alloc_graph(ggml_gallocr_t galloc, struct ggml_cgraph * graph);
size_t ggml_gallocr_get_buffer_size(ggml_gallocr_t galloc, int buffer_id);
size_t ggml_backend_alloc_ctx_tensors_from_buft_size(struct ggml_context * ctx, ggml_backend_buffer_type_t buft);
struct ggml_backend_buffer * ggml_backend_alloc_ctx_tensors_from_buft(struct ggml_context * ctx, ggml_backend_buffer_type_t buft);
struct ggml_backend_buffer * ggml_backend_alloc_ctx_tensors(struct ggml_context * ctx, ggml_backend_t backend);
ggml_allocr_t ggml_allocr_new(void * data, size_t size, size_t alignment);
ggml_allocr_t ggml_allocr_new_measure(size_t alignment);
ggml_allocr_t ggml_allocr_new_from_buffer(struct ggml_backend_buffer * buffer);
ggml_allocr_t ggml_allocr_new_from_backend(struct ggml_backend * backend, size_t size);
ggml_allocr_t ggml_allocr_new_measure_from_backend(struct ggml_backend * backend);
struct ggml_backend_buffer * ggml_allocr_get_buffer(ggml_allocr_t alloc);
void ggml_allocr_set_parse_seq(ggml_allocr_t alloc, const int * list, int n);
void ggml_allocr_free (ggml_allocr_t alloc);
bool ggml_allocr_is_measure (ggml_allocr_t alloc);
void ggml_allocr_reset (ggml_allocr_t alloc);
void ggml_allocr_alloc (ggml_allocr_t alloc, struct ggml_tensor * tensor);
size_t ggml_allocr_max_size (ggml_allocr_t alloc);
size_t ggml_allocr_alloc_graph(ggml_allocr_t alloc, struct ggml_cgraph * graph);
const char * ggml_backend_buft_name (ggml_backend_buffer_type_t buft);
ggml_backend_buffer_t ggml_backend_buft_alloc_buffer (ggml_backend_buffer_type_t buft, size_t size);
size_t ggml_backend_buft_get_alignment (ggml_backend_buffer_type_t buft);
size_t ggml_backend_buft_get_max_size (ggml_backend_buffer_type_t buft);
size_t ggml_backend_buft_get_alloc_size(ggml_backend_buffer_type_t buft, const struct ggml_tensor * tensor);
bool ggml_backend_buft_is_host (ggml_backend_buffer_type_t buft);
ggml_backend_dev_t ggml_backend_buft_get_device (ggml_backend_buffer_type_t buft);
const char * ggml_backend_buffer_name (ggml_backend_buffer_t buffer);
void ggml_backend_buffer_free (ggml_backend_buffer_t buffer);
void * ggml_backend_buffer_get_base (ggml_backend_buffer_t buffer);
size_t ggml_backend_buffer_get_size (ggml_backend_buffer_t buffer);
enum ggml_status ggml_backend_buffer_init_tensor (ggml_backend_buffer_t buffer, struct ggml_tensor * tensor);
size_t ggml_backend_buffer_get_alignment (ggml_backend_buffer_t buffer);
size_t ggml_backend_buffer_get_max_size (ggml_backend_buffer_t buffer);
size_t ggml_backend_buffer_get_alloc_size(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor);
void ggml_backend_buffer_clear (ggml_backend_buffer_t buffer, uint8_t value);
bool ggml_backend_buffer_is_host (ggml_backend_buffer_t buffer);
void ggml_backend_buffer_set_usage (ggml_backend_buffer_t buffer, enum ggml_backend_buffer_usage usage);
enum ggml_backend_buffer_usage ggml_backend_buffer_get_usage (ggml_backend_buffer_t buffer);
ggml_backend_buffer_type_t ggml_backend_buffer_get_type (ggml_backend_buffer_t buffer);
void ggml_backend_buffer_reset (ggml_backend_buffer_t buffer);
void ggml_backend_tensor_copy(struct ggml_tensor * src, struct ggml_tensor * dst);
const char * ggml_backend_name(ggml_backend_t backend);
void ggml_backend_free(ggml_backend_t backend);
ggml_backend_buffer_type_t ggml_backend_get_default_buffer_type(ggml_backend_t backend);
ggml_backend_buffer_t ggml_backend_alloc_buffer(ggml_backend_t backend, size_t size);
size_t ggml_backend_get_alignment(ggml_backend_t backend);
size_t ggml_backend_get_max_size(ggml_backend_t backend);
void ggml_backend_tensor_set_async(ggml_backend_t backend, struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
void ggml_backend_tensor_get_async(ggml_backend_t backend, const struct ggml_tensor * tensor, void * data, size_t offset, size_t size);
void ggml_backend_tensor_set ( struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
void ggml_backend_tensor_get (const struct ggml_tensor * tensor, void * data, size_t offset, size_t size);
void ggml_backend_tensor_memset( struct ggml_tensor * tensor, uint8_t value, size_t offset, size_t size);
void ggml_backend_tensor_set_2d(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size, size_t n_copies, size_t stride_tensor, size_t stride_data);
void ggml_backend_tensor_get_2d(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size, size_t n_copies, size_t stride_tensor, size_t stride_data);
void ggml_backend_synchronize(ggml_backend_t backend);
enum ggml_status ggml_backend_graph_compute (ggml_backend_t backend, struct ggml_cgraph * cgraph);
enum ggml_status ggml_backend_graph_compute_async(ggml_backend_t backend, struct ggml_cgraph * cgraph);
bool ggml_backend_supports_op (ggml_backend_t backend, const struct ggml_tensor * op);
bool ggml_backend_supports_buft(ggml_backend_t backend, ggml_backend_buffer_type_t buft);
bool ggml_backend_offload_op (ggml_backend_t backend, const struct ggml_tensor * op);
ggml_backend_dev_t ggml_backend_get_device(ggml_backend_t backend);
const char * ggml_backend_dev_name(ggml_backend_dev_t device);
const char * ggml_backend_dev_description(ggml_backend_dev_t device);
void ggml_backend_dev_memory(ggml_backend_dev_t device, size_t * free, size_t * total);
enum ggml_backend_dev_type ggml_backend_dev_type(ggml_backend_dev_t device);
void ggml_backend_dev_get_props(ggml_backend_dev_t device, struct ggml_backend_dev_props * props);
ggml_backend_reg_t ggml_backend_dev_backend_reg(ggml_backend_dev_t device);
ggml_backend_t ggml_backend_dev_init(ggml_backend_dev_t device, const char * params);
ggml_backend_buffer_type_t ggml_backend_dev_buffer_type(ggml_backend_dev_t device);
ggml_backend_buffer_type_t ggml_backend_dev_host_buffer_type(ggml_backend_dev_t device);
ggml_backend_buffer_t ggml_backend_dev_buffer_from_host_ptr(ggml_backend_dev_t device, void * ptr, size_t size, size_t max_tensor_size);
bool ggml_backend_dev_supports_op(ggml_backend_dev_t device, const struct ggml_tensor * op);
bool ggml_backend_dev_supports_buft(ggml_backend_dev_t device, ggml_backend_buffer_type_t buft);
bool ggml_backend_dev_offload_op(ggml_backend_dev_t device, const struct ggml_tensor * op);
const char * ggml_backend_reg_name(ggml_backend_reg_t reg);
size_t ggml_backend_reg_dev_count(ggml_backend_reg_t reg);
ggml_backend_dev_t ggml_backend_reg_dev_get(ggml_backend_reg_t reg, size_t index);
void * ggml_backend_reg_get_proc_address(ggml_backend_reg_t reg, const char * name);
size_t ggml_backend_reg_count(void);
ggml_backend_reg_t ggml_backend_reg_get(size_t index);
ggml_backend_reg_t ggml_backend_reg_by_name(const char * name);
size_t ggml_backend_dev_count(void);
ggml_backend_dev_t ggml_backend_dev_get(size_t index);
ggml_backend_dev_t ggml_backend_dev_by_name(const char * name);
ggml_backend_dev_t ggml_backend_dev_by_type(enum ggml_backend_dev_type type);
ggml_backend_t ggml_backend_init_by_name(const char * name, const char * params);
ggml_backend_t ggml_backend_init_by_type(enum ggml_backend_dev_type type, const char * params);
ggml_backend_t ggml_backend_init_best(void);
void ggml_backend_load_all(void);
void ggml_backend_load_all_from_path(const char * dir_path);
enum ggml_status ggml_backend_tensor_alloc(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor, void * addr);
enum ggml_status ggml_backend_view_init(struct ggml_tensor * tensor);
ggml_backend_buffer_t ggml_backend_cpu_buffer_from_ptr(void * ptr, size_t size);
ggml_backend_buffer_type_t ggml_backend_cpu_buffer_type(void);
ggml_backend_t ggml_backend_cpu_init(void);
bool ggml_backend_is_cpu(ggml_backend_t backend);
void ggml_backend_cpu_set_n_threads(ggml_backend_t backend_cpu, int n_threads);
ggml_backend_reg_t ggml_backend_cpu_reg(void);
enum ggml_status ggml_graph_compute_with_ctx(struct ggml_context * ctx, struct ggml_cgraph * cgraph, int n_threads);
int ggml_cpu_has_sse3 (void);
int ggml_cpu_has_avx (void);
int ggml_cpu_has_avx2 (void);
int ggml_cpu_has_fma (void);
int ggml_cpu_has_f16c (void);
int ggml_cpu_has_avx512 (void);
int ggml_cpu_has_avx512_bf16(void);
int ggml_cpu_has_neon (void);
void ggml_cpu_init(void);
ggml_backend_buffer_type_t ggalloc_host_buffer_type(size_t alignment, size_t max_size);
ggml_backend_buffer_type_t ggalloc_host_buffer_type_new(size_t alignment, size_t max_size);
enum ggml_status ggalloc_backend_tensor_set(struct ggml_tensor * tensor, const void * data, size_t offset, size_t size);
enum ggml_status ggalloc_backend_tensor_get(const struct ggml_tensor * tensor, void * data, size_t offset, size_t size);
enum ggml_status ggalloc_backend_tensor_memset(struct ggml_tensor * tensor, uint8_t value, size_t offset, size_t size);
enum ggalloc_alloc_status { GGALLOC_ALLOC_OK, GGALLOC_ALLOC_NEEDS_RESERVE, GGALLOC_ALLOC_FAILED, GGALLOC_ALLOC_BAD_INPUT, ... };
enum ggalloc_alloc_status ggalloc_gallocr_alloc_graph_ex(ggml_gallocr_t galloc, struct ggml_cgraph * graph);
void ggalloc_host_buffer_type_free(ggml_backend_buffer_type_t buft);
ggml_backend_buffer_type_t ggalloc_failing_buffer_type_new(size_t alignment, size_t max_size, size_t budget);
void ggalloc_failing_buffer_type_free(ggml_backend_buffer_type_t buft);
void ggalloc_gallocr_set_planner(ggml_gallocr_t galloc, enum ggalloc_planner planner);
enum ggalloc_planner ggalloc_gallocr_get_planner(ggml_gallocr_t galloc);
bool ggalloc_gallocr_set_time_budget(ggml_gallocr_t galloc, double seconds);
double ggalloc_gallocr_get_time_budget(ggml_gallocr_t galloc);
size_t ggalloc_gallocr_lower_bound(ggml_gallocr_t galloc, int buffer_id);
bool ggalloc_gallocr_set_node_order(ggml_gallocr_t galloc, const int * order, int n);
bool ggalloc_plan_intervals(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends, size_t alignment, size_t * offsets, size_t * peak);
size_t ggalloc_intervals_lower_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends, size_t alignment);
int ggalloc_gallocr_n_placements(ggml_gallocr_t galloc);
bool ggalloc_gallocr_get_placement(ggml_gallocr_t galloc, int i, struct ggalloc_placement * out);
int ggalloc_graph_verify(struct ggml_cgraph * graph);
int ggalloc_graph_n_leafs(struct ggml_cgraph * graph);
struct ggml_tensor * ggalloc_graph_leaf(struct ggml_cgraph * graph, int i);
void ggalloc_graph_add_leaf(struct ggml_cgraph * graph, struct ggml_tensor * tensor);
bool ggalloc_graph_reorder(struct ggml_cgraph * graph);
size_t ggalloc_graph_peak_bytes(struct ggml_cgraph * graph, size_t alignment);
struct ggml_cgraph * ggalloc_graph_load_json(const char * path, struct ggml_context ** ctx);
struct ggml_cgraph * ggalloc_graph_load_json_string(const char * text, size_t len, struct ggml_context ** ctx);
bool ggalloc_graph_save_json(const struct ggml_cgraph * graph, const char * path, const char * name);
struct ggml_cgraph * ggalloc_graph_load_json_ex(const char * path, struct ggml_context ** ctx, int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims);
struct ggml_cgraph * ggalloc_graph_load_json_string_ex(const char * text, size_t len, struct ggml_context ** ctx, int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims);
bool ggalloc_graph_save_json_ex(const struct ggml_cgraph * graph, const char * path, const char * name, const int * node_buffer_ids, const int * leaf_buffer_ids, const struct ggml_tensor * const * ranked, const int * ndims, int n_ranked);
void free(void * ptr);
bool ggalloc_cpu_set_isa(enum ggalloc_cpu_isa isa);
enum ggalloc_cpu_isa ggalloc_cpu_get_isa(void);
"""

CDEF_PLANNER = r"""
struct ggalloc_plan_options {
    enum ggalloc_planner planner;
    double time_budget;
    uint64_t seed;
    const volatile int * cancel;
};
struct ggalloc_plan_options ggalloc_plan_options_default(void);
bool ggalloc_plan_intervals_ex(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends, size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets, size_t * peak);
bool ggalloc_plan_intervals_bound(int n, const size_t * sizes, const int64_t * starts, const int64_t * ends, size_t alignment, const struct ggalloc_plan_options * options, size_t * offsets, size_t * peak, size_t * bound);
"""

CDEF_QUANT = r"""
typedef void (*ggml_to_float_t)(const void * x, float * y, int64_t k);
typedef void (*ggml_from_float_t)(const float * x, void * y, int64_t k);
struct ggml_type_traits {
    const char * type_name;
    int64_t blck_size;
    int64_t blck_size_interleave;
    size_t type_size;
    bool is_quantized;
    ggml_to_float_t to_float;
    ggml_from_float_t from_float_ref;
};
const struct ggml_type_traits * ggml_get_type_traits(enum ggml_type type);
double ggml_type_sizef(enum ggml_type type);
bool ggml_quantize_requires_imatrix(enum ggml_type type);
size_t ggml_quantize_chunk(enum ggml_type type, const float * src, void * dst, int64_t start, int64_t nrows,
                           int64_t n_per_row, const float * imatrix);
"""

CDEF_OPS = r"""
enum ggml_glu_op {
    GGML_GLU_OP_REGLU, GGML_GLU_OP_GEGLU, GGML_GLU_OP_SWIGLU, GGML_GLU_OP_SWIGLU_OAI,
    GGML_GLU_OP_GEGLU_ERF, GGML_GLU_OP_GEGLU_QUICK, GGML_GLU_OP_COUNT, ...
};

enum ggml_scale_mode {
    GGML_SCALE_MODE_NEAREST, GGML_SCALE_MODE_BILINEAR, GGML_SCALE_MODE_BICUBIC,
    GGML_SCALE_MODE_COUNT, ...
};

enum ggml_scale_flag {
    GGML_SCALE_FLAG_ALIGN_CORNERS, GGML_SCALE_FLAG_ANTIALIAS, ...
};

enum ggml_sort_order {
    GGML_SORT_ORDER_ASC, GGML_SORT_ORDER_DESC, ...
};

enum ggml_tri_type {
    GGML_TRI_TYPE_UPPER_DIAG, GGML_TRI_TYPE_UPPER, GGML_TRI_TYPE_LOWER_DIAG, GGML_TRI_TYPE_LOWER,
    ...
};

const char * ggml_glu_op_name(enum ggml_glu_op op);
enum ggml_glu_op ggml_get_glu_op(const struct ggml_tensor * tensor);
struct ggml_tensor * ggml_sin (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_sin_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_cos (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_cos_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_expm1 (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_expm1_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_softplus (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_softplus_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_floor (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_floor_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_ceil (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_ceil_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_round (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_round_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_trunc (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_trunc_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_xielu(struct ggml_context * ctx, struct ggml_tensor * a, float alpha_n, float alpha_p, float beta, float eps);
struct ggml_tensor * ggml_clamp(struct ggml_context * ctx, struct ggml_tensor * a, float min, float max);
struct ggml_tensor * ggml_leaky_relu(struct ggml_context * ctx, struct ggml_tensor * a, float negative_slope, bool inplace);
struct ggml_tensor * ggml_fill (struct ggml_context * ctx, struct ggml_tensor * a, float c);
struct ggml_tensor * ggml_fill_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float c);
struct ggml_tensor * ggml_tri(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_tri_type type);
struct ggml_tensor * ggml_cumsum(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_diag(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_count_equal(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_l2_norm (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
struct ggml_tensor * ggml_l2_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps);
struct ggml_tensor * ggml_group_norm (struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps);
struct ggml_tensor * ggml_group_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps);
struct ggml_tensor * ggml_glu (struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_glu_op op, bool swapped);
struct ggml_tensor * ggml_glu_split(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, enum ggml_glu_op op);
struct ggml_tensor * ggml_reglu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_reglu_swapped (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_reglu_split (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_geglu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_geglu_swapped (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_geglu_split (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_swiglu (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_swiglu_swapped (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_swiglu_split (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_geglu_erf (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_geglu_erf_swapped(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_geglu_erf_split (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_geglu_quick (struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_geglu_quick_swapped(struct ggml_context * ctx, struct ggml_tensor * a);
struct ggml_tensor * ggml_geglu_quick_split (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_swiglu_oai(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, float alpha, float limit);
struct ggml_tensor * ggml_add_id(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * ids);
struct ggml_tensor * ggml_mul_mat_id(struct ggml_context * ctx, struct ggml_tensor * as, struct ggml_tensor * b, struct ggml_tensor * ids);
struct ggml_tensor * ggml_argsort(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_sort_order order);
struct ggml_tensor * ggml_argsort_top_k(struct ggml_context * ctx, struct ggml_tensor * a, int k);
struct ggml_tensor * ggml_top_k(struct ggml_context * ctx, struct ggml_tensor * a, int k);
void ggml_soft_max_add_sinks(struct ggml_tensor * a, struct ggml_tensor * sinks);
struct ggml_tensor * ggml_flash_attn_ext(struct ggml_context * ctx, struct ggml_tensor * q, struct ggml_tensor * k, struct ggml_tensor * v, struct ggml_tensor * mask, float scale, float max_bias, float logit_softcap);
void ggml_flash_attn_ext_set_prec (struct ggml_tensor * a, enum ggml_prec prec);
enum ggml_prec ggml_flash_attn_ext_get_prec (const struct ggml_tensor * a);
void ggml_flash_attn_ext_add_sinks(struct ggml_tensor * a, struct ggml_tensor * sinks);
struct ggml_tensor * ggml_arange(struct ggml_context * ctx, float start, float stop, float step);
struct ggml_tensor * ggml_timestep_embedding(struct ggml_context * ctx, struct ggml_tensor * timesteps, int dim, int max_period);
struct ggml_tensor * ggml_conv_2d_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int s1, int p0, int p1, int d0, int d1);
struct ggml_tensor * ggml_conv_2d_dw_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int stride0, int stride1, int pad0, int pad1, int dilation0, int dilation1);
struct ggml_tensor * ggml_acc (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t nb2, size_t nb3, size_t offset);
struct ggml_tensor * ggml_acc_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t nb2, size_t nb3, size_t offset);
struct ggml_tensor * ggml_set (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t nb2, size_t nb3, size_t offset);
struct ggml_tensor * ggml_set_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t nb2, size_t nb3, size_t offset);
struct ggml_tensor * ggml_set_1d (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t offset);
struct ggml_tensor * ggml_set_1d_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t offset);
struct ggml_tensor * ggml_set_2d (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t offset);
struct ggml_tensor * ggml_set_2d_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t nb1, size_t offset);
struct ggml_tensor * ggml_out_prod(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_win_part (struct ggml_context * ctx, struct ggml_tensor * a, int w);
struct ggml_tensor * ggml_win_unpart(struct ggml_context * ctx, struct ggml_tensor * a, int w0, int h0, int w);
struct ggml_tensor * ggml_conv_1d (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int p0, int d0);
struct ggml_tensor * ggml_conv_1d_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s, int d);
struct ggml_tensor * ggml_conv_1d_dw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int p0, int d0);
struct ggml_tensor * ggml_conv_2d_sk_p0(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_conv_2d_s1_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
struct ggml_tensor * ggml_conv_2d_dw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int s1, int p0, int p1, int d0, int d1);
struct ggml_tensor * ggml_conv_transpose_1d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int p0, int d0);
struct ggml_tensor * ggml_conv_transpose_2d_p0(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int stride);
struct ggml_tensor * ggml_pool_1d(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op_pool op, int k0, int s0, int p0);
struct ggml_tensor * ggml_interpolate(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3, uint32_t mode);
struct ggml_tensor * ggml_upscale (struct ggml_context * ctx, struct ggml_tensor * a, int scale_factor, enum ggml_scale_mode mode);
struct ggml_tensor * ggml_upscale_ext(struct ggml_context * ctx, struct ggml_tensor * a, int ne0, int ne1, int ne2, int ne3, enum ggml_scale_mode mode);
struct ggml_tensor * ggml_pad_ext(struct ggml_context * ctx, struct ggml_tensor * a, int lp0, int rp0, int lp1, int rp1, int lp2, int rp2, int lp3, int rp3);
struct ggml_tensor * ggml_pad_reflect_1d(struct ggml_context * ctx, struct ggml_tensor * a, int p0, int p1);
struct ggml_tensor * ggml_roll(struct ggml_context * ctx, struct ggml_tensor * a, int shift0, int shift1, int shift2, int shift3);
struct ggml_tensor * ggml_repeat_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
struct ggml_tensor * ggml_get_rel_pos(struct ggml_context * ctx, struct ggml_tensor * a, int qh, int kh);
struct ggml_tensor * ggml_add_rel_pos (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * pw, struct ggml_tensor * ph);
struct ggml_tensor * ggml_add_rel_pos_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * pw, struct ggml_tensor * ph);
"""

CDEF_OPS_MULTI = r"""
#define GGML_ROPE_TYPE_MROPE ...
#define GGML_ROPE_TYPE_VISION ...
#define GGML_ROPE_TYPE_IMROPE ...
#define GGML_MROPE_SECTIONS ...
struct ggml_tensor * ggml_rope_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int n_dims, int mode);
struct ggml_tensor * ggml_rope_multi(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c, int n_dims, int sections[4], int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
struct ggml_tensor * ggml_im2col_3d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int64_t IC, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2, enum ggml_type dst_type);
struct ggml_tensor * ggml_conv_3d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int64_t IC, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2);
struct ggml_tensor * ggml_conv_3d_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2, int n_channels, int n_batch, int n_channels_out);
struct ggml_tensor * ggml_col2im_1d(struct ggml_context * ctx, struct ggml_tensor * a, int s0, int oc, int p0);
struct ggml_tensor * ggml_rope_set_offset(struct ggml_tensor * a, int n_offs);
struct ggml_tensor * ggml_rope_multi_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c, int n_dims, int sections[4], int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
"""

CDEF_VULKAN = r"""
ggml_backend_t             ggml_backend_vk_init(size_t dev_num);
bool                       ggml_backend_is_vk(ggml_backend_t backend);
int                        ggml_backend_vk_get_device_count(void);
void                       ggml_backend_vk_get_device_description(int device, char * description, size_t description_size);
void                       ggml_backend_vk_get_device_memory(int device, size_t * free, size_t * total);
ggml_backend_buffer_type_t ggml_backend_vk_buffer_type(size_t dev_num);
ggml_backend_buffer_type_t ggml_backend_vk_host_buffer_type(void);
"""

CDEF_GGUF = r"""
enum gguf_type {
    GGUF_TYPE_UINT8, GGUF_TYPE_INT8, GGUF_TYPE_UINT16, GGUF_TYPE_INT16, GGUF_TYPE_UINT32, GGUF_TYPE_INT32,
    GGUF_TYPE_FLOAT32, GGUF_TYPE_BOOL, GGUF_TYPE_STRING, GGUF_TYPE_ARRAY, GGUF_TYPE_UINT64, GGUF_TYPE_INT64,
    GGUF_TYPE_FLOAT64, GGUF_TYPE_COUNT, ...
};
struct gguf_context;
struct gguf_init_params { bool no_alloc; struct ggml_context ** ctx; };
struct ggalloc_mapped_file;

struct gguf_context * gguf_init_empty(void);
struct gguf_context * gguf_init_from_file(const char * fname, struct gguf_init_params params);
void gguf_free(struct gguf_context * ctx);
const char * gguf_type_name(enum gguf_type type);
uint32_t gguf_get_version(const struct gguf_context * ctx);
size_t gguf_get_alignment(const struct gguf_context * ctx);
size_t gguf_get_data_offset(const struct gguf_context * ctx);
int64_t gguf_get_n_kv(const struct gguf_context * ctx);
int64_t gguf_find_key(const struct gguf_context * ctx, const char * key);
const char * gguf_get_key(const struct gguf_context * ctx, int64_t key_id);
enum gguf_type gguf_get_kv_type(const struct gguf_context * ctx, int64_t key_id);
enum gguf_type gguf_get_arr_type(const struct gguf_context * ctx, int64_t key_id);
const char * gguf_get_val_str(const struct gguf_context * ctx, int64_t key_id);
const void * gguf_get_val_data(const struct gguf_context * ctx, int64_t key_id);
size_t gguf_get_arr_n(const struct gguf_context * ctx, int64_t key_id);
const void * gguf_get_arr_data(const struct gguf_context * ctx, int64_t key_id);
const char * gguf_get_arr_str(const struct gguf_context * ctx, int64_t key_id, size_t i);
int64_t gguf_get_n_tensors(const struct gguf_context * ctx);
int64_t gguf_find_tensor(const struct gguf_context * ctx, const char * name);
size_t gguf_get_tensor_offset(const struct gguf_context * ctx, int64_t tensor_id);
const char * gguf_get_tensor_name(const struct gguf_context * ctx, int64_t tensor_id);
enum ggml_type gguf_get_tensor_type(const struct gguf_context * ctx, int64_t tensor_id);
size_t gguf_get_tensor_size(const struct gguf_context * ctx, int64_t tensor_id);
int64_t gguf_remove_key(struct gguf_context * ctx, const char * key);
void gguf_set_val_u8(struct gguf_context * ctx, const char * key, uint8_t val);
void gguf_set_val_i8(struct gguf_context * ctx, const char * key, int8_t val);
void gguf_set_val_u16(struct gguf_context * ctx, const char * key, uint16_t val);
void gguf_set_val_i16(struct gguf_context * ctx, const char * key, int16_t val);
void gguf_set_val_u32(struct gguf_context * ctx, const char * key, uint32_t val);
void gguf_set_val_i32(struct gguf_context * ctx, const char * key, int32_t val);
void gguf_set_val_f32(struct gguf_context * ctx, const char * key, float val);
void gguf_set_val_u64(struct gguf_context * ctx, const char * key, uint64_t val);
void gguf_set_val_i64(struct gguf_context * ctx, const char * key, int64_t val);
void gguf_set_val_f64(struct gguf_context * ctx, const char * key, double val);
void gguf_set_val_bool(struct gguf_context * ctx, const char * key, bool val);
void gguf_set_val_str(struct gguf_context * ctx, const char * key, const char * val);
void gguf_set_arr_data(struct gguf_context * ctx, const char * key, enum gguf_type type, const void * data, size_t n);
void gguf_set_arr_str(struct gguf_context * ctx, const char * key, const char ** data, size_t n);
void gguf_add_tensor(struct gguf_context * ctx, const struct ggml_tensor * tensor);
void gguf_set_tensor_data(struct gguf_context * ctx, const char * name, const void * data);
bool gguf_write_to_file(const struct gguf_context * ctx, const char * fname, bool only_meta);
size_t gguf_get_meta_size(const struct gguf_context * ctx);

struct ggalloc_mapped_file * ggalloc_mapped_file_new(const char * fname);
void ggalloc_mapped_file_free(struct ggalloc_mapped_file * file);
void * ggalloc_mapped_file_data(const struct ggalloc_mapped_file * file);
size_t ggalloc_mapped_file_size(const struct ggalloc_mapped_file * file);
struct gguf_context * ggalloc_gguf_init_from_mapped_file(const struct ggalloc_mapped_file * file, struct gguf_init_params params);
size_t ggalloc_gguf_get_data_size(const struct gguf_context * ctx);
bool ggalloc_gguf_get_tensor_shape(const struct gguf_context * ctx, int64_t tensor_id, int64_t ne[4], int * n_dims);
const void * ggalloc_gguf_get_tensor_data(const struct gguf_context * ctx, int64_t tensor_id);
"""

CDEF_SCHED = r"""
typedef struct ggml_backend_sched * ggml_backend_sched_t;
ggml_backend_sched_t ggml_backend_sched_new(ggml_backend_t * backends, ggml_backend_buffer_type_t * bufts, int n_backends, size_t graph_size, bool parallel, bool op_offload);
void ggml_backend_sched_free(ggml_backend_sched_t sched);
bool ggml_backend_sched_reserve(ggml_backend_sched_t sched, struct ggml_cgraph * measure_graph);
int ggml_backend_sched_get_n_backends(ggml_backend_sched_t sched);
int ggml_backend_sched_get_n_splits(ggml_backend_sched_t sched);
int ggml_backend_sched_get_n_copies(ggml_backend_sched_t sched);
size_t ggml_backend_sched_get_buffer_size(ggml_backend_sched_t sched, ggml_backend_t backend);
void ggml_backend_sched_set_tensor_backend(ggml_backend_sched_t sched, struct ggml_tensor * node, ggml_backend_t backend);
bool ggml_backend_sched_alloc_graph(ggml_backend_sched_t sched, struct ggml_cgraph * graph);
enum ggml_status ggml_backend_sched_graph_compute(ggml_backend_sched_t sched, struct ggml_cgraph * graph);
void ggml_backend_sched_reset(ggml_backend_sched_t sched);
void ggalloc_backend_sched_set_planner(ggml_backend_sched_t sched, enum ggalloc_planner planner);
bool ggalloc_backend_sched_set_time_budget(ggml_backend_sched_t sched, double seconds);
ggml_gallocr_t ggalloc_backend_sched_get_gallocr(ggml_backend_sched_t sched);
struct ggml_cgraph * ggalloc_backend_sched_get_graph(ggml_backend_sched_t sched);
int ggalloc_backend_sched_verify(ggml_backend_sched_t sched);
int ggalloc_backend_sched_get_tensor_backend_id(ggml_backend_sched_t sched, struct ggml_tensor * t);
"""

CDEF_RPC = r"""
ggml_backend_t             ggml_backend_rpc_init(const char * endpoint, uint32_t device);
bool                       ggml_backend_is_rpc(ggml_backend_t backend);
ggml_backend_buffer_type_t ggml_backend_rpc_buffer_type(const char * endpoint, uint32_t device);
void                       ggml_backend_rpc_get_device_memory(const char * endpoint, uint32_t device, size_t * free, size_t * total);
ggml_backend_reg_t         ggml_backend_rpc_add_server(const char * endpoint);
typedef struct ggalloc_rpc_server * ggalloc_rpc_server_t;
ggalloc_rpc_server_t ggalloc_rpc_server_start(const char * endpoint, ggml_backend_t * backends, int n_backends);
int                  ggalloc_rpc_server_port(ggalloc_rpc_server_t server);
void                 ggalloc_rpc_server_set_memory_limit(ggalloc_rpc_server_t server, size_t bytes);
void                 ggalloc_rpc_server_free(ggalloc_rpc_server_t server);
void                 ggalloc_rpc_set_timeouts(int connect_ms, int io_ms);
"""

SOURCE_HEADER = r"""
#include <stdlib.h>
#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "ggml-rpc.h"
#include "ggalloc.h"
#ifdef GGALLOC_USE_VULKAN
#include "ggml-vulkan.h"
static const int GGALLOC_PY_VULKAN = 1;
#else
static const int GGALLOC_PY_VULKAN = 0;
#endif
"""


def _rel(path: str) -> str:
    return os.path.relpath(path, ROOT)


def _isa_flags(path: str) -> List[str]:
    # the x86 kernel files compile to nothing on other machines, whose compilers lack these flags
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "i386"):
        return []
    for suffix, flags in ISA_ARGS.items():
        if path.endswith(suffix):
            return flags
    return []


def core_sources() -> List[str]:
    """The C sources (relative to the repository root), as CMakeLists.txt globs them."""
    files = sorted(glob(os.path.join(ROOT, "csrc", "src", "*.c")))
    files += sorted(glob(os.path.join(ROOT, "csrc", "src", "cpu", "*.c")))
    files += sorted(glob(os.path.join(ROOT, "csrc", "src", "rpc", "*.c")))
    return [_rel(f) for f in files]


def vulkan_available() -> bool:
    """True when the Vulkan backend can be built: its sources and shader script, the Vulkan
    headers and library, and glslc. GGALLOC_VULKAN=0 in the environment turns it off."""
    if os.environ.get("GGALLOC_VULKAN", "1") in ("0", "OFF", "off", "no"):
        return False
    vkdir = os.path.join(ROOT, "csrc", "src", "vulkan")
    if not os.path.isfile(os.path.join(vkdir, "build_shaders.py")):
        return False
    if not glob(os.path.join(vkdir, "*.c")):
        return False
    if not os.path.isfile(os.path.join(ROOT, "csrc", "include", "ggml-vulkan.h")):
        return False
    if shutil.which("glslc") is None:
        return False
    have_header = any(os.path.isfile(os.path.join(d, "vulkan", "vulkan.h"))
                      for d in ("/usr/include", "/usr/local/include"))
    return have_header


VULKAN = vulkan_available()

ffibuilder = FFI()
ffibuilder.cdef(CDEF_TYPES + CDEF_FUNCTIONS + CDEF_PLANNER + CDEF_GGUF + CDEF_QUANT + CDEF_OPS + CDEF_SCHED
                + CDEF_RPC + CDEF_OPS_MULTI + (CDEF_VULKAN if VULKAN else ""))

_plain_sources = [s for s in core_sources() if not _isa_flags(s)]
_isa_sources = [s for s in core_sources() if _isa_flags(s)]
if VULKAN:
    _plain_sources += [_rel(f) for f in sorted(glob(os.path.join(ROOT, "csrc", "src", "vulkan", "*.c")))]

ffibuilder.set_source(
    "ggalloc._ggalloc",
    SOURCE_HEADER,
    sources=_plain_sources,
    include_dirs=[_rel(os.path.join(ROOT, "csrc", "include")), _rel(os.path.join(ROOT, "csrc", "src"))],
    define_macros=[("_GNU_SOURCE", None)] + ([("GGALLOC_USE_VULKAN", None)] if VULKAN else []),
    extra_compile_args=COMMON_ARGS,
    libraries=["m", "pthread"] + (["vulkan"] if VULKAN else []),
)


def up_to_date(target: str) -> bool:
    """True when target (the built module) is newer than every C source, header, shader and
    build script it is made from."""
    if not os.path.exists(target):
        return False
    built = os.path.getmtime(target)
    inputs = [os.path.abspath(__file__), os.path.join(ROOT, "setup.py")]
    for dirpath, _, files in os.walk(os.path.join(ROOT, "csrc")):
        if os.path.basename(dirpath) == "tests":
            continue
        inputs += [os.path.join(dirpath, f) for f in files]
    return all(os.path.getmtime(f) < built for f in inputs if os.path.exists(f))


def prepare(ext: Any, compiler: Any, build_temp: str) -> None:
    """Completes the extension before it is compiled (called by setup.py's build_ext): compiles
    the ISA-specific kernel files with their own flags into objects linked as extra objects, and
    generates the Vulkan shaders into build_temp (whose directory is then searched for
    vk-shaders.h)."""
    include_dirs = list(ext.include_dirs)
    macros = list(ext.define_macros)
    if VULKAN:
        gen_dir = os.path.join(build_temp, "vk-gen")
        os.makedirs(gen_dir, exist_ok=True)
        subprocess.check_call([sys.executable, os.path.join(ROOT, "csrc", "src", "vulkan", "build_shaders.py"),
                               "--out", gen_dir])
        generated = os.path.join(gen_dir, "vk-shaders.c")
        if generated not in ext.sources:
            ext.sources.append(generated)
        if gen_dir not in ext.include_dirs:
            ext.include_dirs.append(gen_dir)
        include_dirs.append(gen_dir)
    objects: List[str] = []
    for src in _isa_sources:
        objects += compiler.compile([src], output_dir=build_temp, macros=macros, include_dirs=include_dirs,
                                    extra_postargs=COMMON_ARGS + _isa_flags(src))
    ext.extra_objects = [o for o in (ext.extra_objects or []) if o not in objects] + objects

