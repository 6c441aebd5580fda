#pragma once

//
// ggml.h — tensors, operations and computation graphs, with ggml's names and semantics.
//
// A program written for ggml that stays inside this subset compiles against this header
// unchanged. Everything that goes beyond ggml is in ggalloc.h.
//
// Example:
//
//   struct ggml_init_params params = { .mem_size = 16*1024*1024, .mem_buffer = NULL, .no_alloc = false };
//   struct ggml_context * ctx = ggml_init(params);          // NULL if the arena cannot be allocated
//   struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 3);
//   struct ggml_tensor * b = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 4);
//   struct ggml_tensor * c = ggml_add(ctx, a, b);            // b is broadcast over the rows of a
//   struct ggml_cgraph * gf = ggml_new_graph(ctx);
//   ggml_build_forward_expand(gf, c);                       // nodes: [c], leafs: [a, b]
//   ...
//   ggml_free(ctx);                                          // frees every tensor and graph in it
//
// Errors: functions that return a pointer return NULL on bad input (a NULL argument, shapes that
// do not fit the operation, a full context, extents whose byte size overflows) and log a message
// through the callback set with ggml_log_set that names the tensor and the numbers. An operation
// given a NULL source returns NULL, so a chain of calls can be checked once at its end.
// Functions whose signature leaves no way to report an error say so in their comment.
//

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef GGML_SHARED
#    if defined(_WIN32) && !defined(__MINGW32__)
#        ifdef GGML_BUILD
#            define GGML_API __declspec(dllexport) extern
#        else
#            define GGML_API __declspec(dllimport) extern
#        endif
#    else
#        define GGML_API __attribute__((visibility("default"))) extern
#    endif
#else
#    define GGML_API extern
#endif

#if defined(__GNUC__)
#    define GGML_NORETURN __attribute__((noreturn))
#    define GGML_ATTRIBUTE_FORMAT(...) __attribute__((format(printf, __VA_ARGS__)))
#else
#    define GGML_NORETURN
#    define GGML_ATTRIBUTE_FORMAT(...)
#endif

#ifdef __cplusplus
#    define GGML_RESTRICT
#else
#    define GGML_RESTRICT restrict
#endif

#define GGML_FILE_MAGIC   0x67676d6c // "ggml"
#define GGML_FILE_VERSION 2

#define GGML_MAX_DIMS           4
#define GGML_MAX_PARAMS         2048
#define GGML_MAX_SRC            10
#define GGML_MAX_N_THREADS      512
#define GGML_MAX_OP_PARAMS      64
#define GGML_MAX_NAME           64
#define GGML_DEFAULT_N_THREADS  4
#define GGML_DEFAULT_GRAPH_SIZE 2048
#define GGML_MEM_ALIGN          16

#define GGML_EXIT_SUCCESS 0
#define GGML_EXIT_ABORTED 1

#define GGML_ROPE_TYPE_NORMAL 0
#define GGML_ROPE_TYPE_NEOX   2
#define GGML_ROPE_TYPE_MROPE  8
#define GGML_ROPE_TYPE_VISION 24
#define GGML_ROPE_TYPE_IMROPE 40 // multi-section, sections interleaved pair by pair

#define GGML_MROPE_SECTIONS   4

#define GGML_UNUSED(x) (void)(x)
#define GGML_PAD(x, n) (((x) + (n) - 1) & ~((n) - 1))

// Aborts with a message: only for invariants a program states about itself (ggml's macros).
// The library never calls these on user input; it returns errors instead.
#define GGML_ABORT(...)  ggml_abort(__FILE__, __LINE__, __VA_ARGS__)
#define GGML_ASSERT(x)   if (!(x)) GGML_ABORT("GGML_ASSERT(%s) failed", #x)

#ifdef __cplusplus
extern "C" {
#endif

// Logs the message and aborts the process. Never returns.
GGML_NORETURN GGML_ATTRIBUTE_FORMAT(3, 4)
GGML_API void ggml_abort(const char * file, int line, const char * fmt, ...);

enum ggml_status {
    GGML_STATUS_ALLOC_FAILED = -2,
    GGML_STATUS_FAILED       = -1,
    GGML_STATUS_SUCCESS      =  0,
    GGML_STATUS_ABORTED      =  1,
};

// "SUCCESS", "FAILED", ...; "UNKNOWN STATUS" for a value outside the enum.
GGML_API const char * ggml_status_to_string(enum ggml_status status);

typedef uint16_t ggml_fp16_t;
typedef struct { uint16_t bits; } ggml_bf16_t;

// Conversions between f32 and the 16-bit float types (round to nearest even; NaN stays NaN).
GGML_API float       ggml_fp16_to_fp32(ggml_fp16_t x);
GGML_API ggml_fp16_t ggml_fp32_to_fp16(float x);
GGML_API void        ggml_fp16_to_fp32_row(const ggml_fp16_t * x, float * y, int64_t n);
GGML_API void        ggml_fp32_to_fp16_row(const float * x, ggml_fp16_t * y, int64_t n);
GGML_API float       ggml_bf16_to_fp32(ggml_bf16_t x);
GGML_API ggml_bf16_t ggml_fp32_to_bf16(float x);
GGML_API void        ggml_bf16_to_fp32_row(const ggml_bf16_t * x, float * y, int64_t n);
GGML_API void        ggml_fp32_to_bf16_row_ref(const float * x, ggml_bf16_t * y, int64_t n);
GGML_API void        ggml_fp32_to_bf16_row(const float * x, ggml_bf16_t * y, int64_t n);

struct ggml_object;
struct ggml_context;
struct ggml_cgraph;

// Type ids are ggml's, numbers removed from ggml left unused, so a type id read from a file or
// sent over the wire means the same thing here and in ggml. Every type has its block layout
// (ggml_blck_size, ggml_type_size); quantize/dequantize exist for the types listed at
// ggml_quantize_chunk, and the CPU computes with them (ggml-cpu.h).
enum ggml_type {
    GGML_TYPE_F32     = 0,
    GGML_TYPE_F16     = 1,
    GGML_TYPE_Q4_0    = 2,
    GGML_TYPE_Q4_1    = 3,
    // 4 and 5 (Q4_2, Q4_3) were removed from ggml
    GGML_TYPE_Q5_0    = 6,
    GGML_TYPE_Q5_1    = 7,
    GGML_TYPE_Q8_0    = 8,
    GGML_TYPE_Q8_1    = 9,
    GGML_TYPE_Q2_K    = 10,
    GGML_TYPE_Q3_K    = 11,
    GGML_TYPE_Q4_K    = 12,
    GGML_TYPE_Q5_K    = 13,
    GGML_TYPE_Q6_K    = 14,
    GGML_TYPE_Q8_K    = 15,
    GGML_TYPE_IQ2_XXS = 16,
    GGML_TYPE_IQ2_XS  = 17,
    GGML_TYPE_IQ3_XXS = 18,
    GGML_TYPE_IQ1_S   = 19,
    GGML_TYPE_IQ4_NL  = 20,
    GGML_TYPE_IQ3_S   = 21,
    GGML_TYPE_IQ2_S   = 22,
    GGML_TYPE_IQ4_XS  = 23,
    GGML_TYPE_I8      = 24,
    GGML_TYPE_I16     = 25,
    GGML_TYPE_I32     = 26,
    GGML_TYPE_I64     = 27,
    GGML_TYPE_F64     = 28,
    GGML_TYPE_IQ1_M   = 29,
    GGML_TYPE_BF16    = 30,
    // 31, 32, 33 (Q4_0_4_4, Q4_0_4_8, Q4_0_8_8) were removed from ggml
    GGML_TYPE_TQ1_0   = 34,
    GGML_TYPE_TQ2_0   = 35,
    // 36, 37, 38 (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8) were removed from ggml
    GGML_TYPE_MXFP4   = 39,
    GGML_TYPE_NVFP4   = 40,
    GGML_TYPE_Q1_0    = 41,
    GGML_TYPE_Q2_0    = 42,
    GGML_TYPE_COUNT   = 43,
};

// The weight type of a whole model file (ggml's numbers, as stored in its example model files).
enum ggml_ftype {
    GGML_FTYPE_UNKNOWN              = -1,
    GGML_FTYPE_ALL_F32              = 0,
    GGML_FTYPE_MOSTLY_F16           = 1,  // except 1d tensors
    GGML_FTYPE_MOSTLY_Q4_0          = 2,  // except 1d tensors
    GGML_FTYPE_MOSTLY_Q4_1          = 3,  // except 1d tensors
    GGML_FTYPE_MOSTLY_Q4_1_SOME_F16 = 4,  // tok_embeddings.weight and output.weight are F16
    GGML_FTYPE_MOSTLY_Q8_0          = 7,  // except 1d tensors
    GGML_FTYPE_MOSTLY_Q5_0          = 8,  // except 1d tensors
    GGML_FTYPE_MOSTLY_Q5_1          = 9,  // except 1d tensors
    GGML_FTYPE_MOSTLY_Q2_K          = 10, // except 1d tensors
    GGML_FTYPE_MOSTLY_Q3_K          = 11, // except 1d tensors
    GGML_FTYPE_MOSTLY_Q4_K          = 12, // except 1d tensors
    GGML_FTYPE_MOSTLY_Q5_K          = 13, // except 1d tensors
    GGML_FTYPE_MOSTLY_Q6_K          = 14, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ2_XXS       = 15, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ2_XS        = 16, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ3_XXS       = 17, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ1_S         = 18, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ4_NL        = 19, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ3_S         = 20, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ2_S         = 21, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ4_XS        = 22, // except 1d tensors
    GGML_FTYPE_MOSTLY_IQ1_M         = 23, // except 1d tensors
    GGML_FTYPE_MOSTLY_BF16          = 24, // except 1d tensors
    GGML_FTYPE_MOSTLY_MXFP4         = 25, // except 1d tensors
    GGML_FTYPE_MOSTLY_NVFP4         = 26, // except 1d tensors
    GGML_FTYPE_MOSTLY_Q1_0          = 27, // except 1d tensors
    GGML_FTYPE_MOSTLY_Q2_0          = 28, // except 1d tensors
};

// Model files of ggml's examples store ftype + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR.
#define GGML_QNT_VERSION        2
#define GGML_QNT_VERSION_FACTOR 1000

enum ggml_prec {
    GGML_PREC_DEFAULT = 0,
    GGML_PREC_F32     = 10,
};

// Operations: ggml's names in ggml's order, so an op number means the same here, in a graph file
// and on the wire as in ggml. Ops without a constructor here (the *_BACK ops, losses, optimizer
// steps and model-specific recurrent ops) exist by name and number; their constructors return
// NULL and a graph holding one is refused by compute.
enum ggml_op {
    GGML_OP_NONE = 0,

    GGML_OP_DUP,
    GGML_OP_ADD,
    GGML_OP_ADD_ID,
    GGML_OP_ADD1,
    GGML_OP_ACC,
    GGML_OP_SUB,
    GGML_OP_MUL,
    GGML_OP_DIV,
    GGML_OP_SQR,
    GGML_OP_SQRT,
    GGML_OP_LOG,
    GGML_OP_SIN,
    GGML_OP_COS,
    GGML_OP_SUM,
    GGML_OP_SUM_ROWS,
    GGML_OP_CUMSUM,
    GGML_OP_MEAN,
    GGML_OP_ARGMAX,
    GGML_OP_COUNT_EQUAL,
    GGML_OP_REPEAT,
    GGML_OP_REPEAT_BACK,
    GGML_OP_CONCAT,
    GGML_OP_SILU_BACK,
    GGML_OP_NORM,
    GGML_OP_RMS_NORM,
    GGML_OP_RMS_NORM_BACK,
    GGML_OP_GROUP_NORM,
    GGML_OP_L2_NORM,

    GGML_OP_MUL_MAT,
    GGML_OP_MUL_MAT_ID,
    GGML_OP_OUT_PROD,

    GGML_OP_SCALE,
    GGML_OP_SET,
    GGML_OP_CPY,
    GGML_OP_CONT,
    GGML_OP_RESHAPE,
    GGML_OP_VIEW,
    GGML_OP_PERMUTE,
    GGML_OP_TRANSPOSE,
    GGML_OP_GET_ROWS,
    GGML_OP_GET_ROWS_BACK,
    GGML_OP_SET_ROWS,
    GGML_OP_DIAG,
    GGML_OP_DIAG_MASK_INF,
    GGML_OP_DIAG_MASK_ZERO,
    GGML_OP_SOFT_MAX,
    GGML_OP_SOFT_MAX_BACK,
    GGML_OP_ROPE,
    GGML_OP_ROPE_BACK,
    GGML_OP_CLAMP,
    GGML_OP_CONV_TRANSPOSE_1D,
    GGML_OP_IM2COL,
    GGML_OP_IM2COL_BACK,
    GGML_OP_IM2COL_3D,
    GGML_OP_COL2IM_1D,
    GGML_OP_CONV_2D,
    GGML_OP_CONV_3D,
    GGML_OP_CONV_2D_DW,
    GGML_OP_CONV_TRANSPOSE_2D,
    GGML_OP_POOL_1D,
    GGML_OP_POOL_2D,
    GGML_OP_POOL_2D_BACK,
    GGML_OP_UPSCALE,
    GGML_OP_PAD,
    GGML_OP_PAD_REFLECT_1D,
    GGML_OP_ROLL,
    GGML_OP_ARANGE,
    GGML_OP_TIMESTEP_EMBEDDING,
    GGML_OP_ARGSORT,
    GGML_OP_TOP_K,
    GGML_OP_LEAKY_RELU,
    GGML_OP_TRI,
    GGML_OP_FILL,

    GGML_OP_FLASH_ATTN_EXT,
    GGML_OP_FLASH_ATTN_BACK,
    GGML_OP_SSM_CONV,
    GGML_OP_SSM_SCAN,
    GGML_OP_WIN_PART,
    GGML_OP_WIN_UNPART,
    GGML_OP_GET_REL_POS,
    GGML_OP_ADD_REL_POS,
    GGML_OP_RWKV_WKV6,
    GGML_OP_GATED_LINEAR_ATTN,
    GGML_OP_RWKV_WKV7,
    GGML_OP_SOLVE_TRI,
    GGML_OP_GATED_DELTA_NET,
    GGML_OP_LIGHTNING_INDEXER,
    GGML_OP_DSV4_HC_COMB,
    GGML_OP_DSV4_HC_PRE,
    GGML_OP_DSV4_HC_POST,

    GGML_OP_UNARY,

    GGML_OP_MAP_CUSTOM1,
    GGML_OP_MAP_CUSTOM2,
    GGML_OP_MAP_CUSTOM3,

    GGML_OP_CUSTOM,

    GGML_OP_CROSS_ENTROPY_LOSS,
    GGML_OP_CROSS_ENTROPY_LOSS_BACK,
    GGML_OP_OPT_STEP_ADAMW,
    GGML_OP_OPT_STEP_SGD,

    GGML_OP_GLU,

    GGML_OP_COUNT,
};

// Unary operations; ids are ggml's (stored in op_params[0] of a GGML_OP_UNARY node).
enum ggml_unary_op {
    GGML_UNARY_OP_ABS,
    GGML_UNARY_OP_SGN,
    GGML_UNARY_OP_NEG,
    GGML_UNARY_OP_STEP,
    GGML_UNARY_OP_TANH,
    GGML_UNARY_OP_ELU,
    GGML_UNARY_OP_RELU,
    GGML_UNARY_OP_SIGMOID,
    GGML_UNARY_OP_GELU,
    GGML_UNARY_OP_GELU_QUICK,
    GGML_UNARY_OP_SILU,
    GGML_UNARY_OP_HARDSWISH,
    GGML_UNARY_OP_HARDSIGMOID,
    GGML_UNARY_OP_EXP,
    GGML_UNARY_OP_EXPM1,
    GGML_UNARY_OP_SOFTPLUS,
    GGML_UNARY_OP_GELU_ERF,
    GGML_UNARY_OP_XIELU,
    GGML_UNARY_OP_FLOOR,
    GGML_UNARY_OP_CEIL,
    GGML_UNARY_OP_ROUND,
    GGML_UNARY_OP_TRUNC,

    GGML_UNARY_OP_COUNT,
};

// Gated linear units; ids are ggml's (op_params[0] of a GGML_OP_GLU node, op_params[1] = swapped).
enum ggml_glu_op {
    GGML_GLU_OP_REGLU,
    GGML_GLU_OP_GEGLU,
    GGML_GLU_OP_SWIGLU,
    GGML_GLU_OP_SWIGLU_OAI,
    GGML_GLU_OP_GEGLU_ERF,
    GGML_GLU_OP_GEGLU_QUICK,

    GGML_GLU_OP_COUNT,
};

enum ggml_log_level {
    GGML_LOG_LEVEL_NONE  = 0,
    GGML_LOG_LEVEL_DEBUG = 1,
    GGML_LOG_LEVEL_INFO  = 2,
    GGML_LOG_LEVEL_WARN  = 3,
    GGML_LOG_LEVEL_ERROR = 4,
    GGML_LOG_LEVEL_CONT  = 5, // continues the previous message
};

enum ggml_tensor_flag {
    GGML_TENSOR_FLAG_INPUT  =  1, // an input of the graph: placed first, never overlapping another input
    GGML_TENSOR_FLAG_OUTPUT =  2, // an output of the graph: never freed or overwritten
    GGML_TENSOR_FLAG_PARAM  =  4, // a trainable parameter
    GGML_TENSOR_FLAG_LOSS   =  8, // the loss of an optimisation
};

enum ggml_op_pool {
    GGML_OP_POOL_MAX,
    GGML_OP_POOL_AVG,
    GGML_OP_POOL_COUNT,
};

// Sampling of ggml_upscale / ggml_interpolate; a mode may be or-ed with the flags below.
enum ggml_scale_mode {
    GGML_SCALE_MODE_NEAREST  = 0,
    GGML_SCALE_MODE_BILINEAR = 1,
    GGML_SCALE_MODE_BICUBIC  = 2,

    GGML_SCALE_MODE_COUNT
};

enum ggml_scale_flag {
    GGML_SCALE_FLAG_ALIGN_CORNERS = (1 << 8), // corner pixels of input and output line up
    GGML_SCALE_FLAG_ANTIALIAS     = (1 << 9), // downsampling averages over the covered pixels
};

// Order of ggml_argsort.
enum ggml_sort_order {
    GGML_SORT_ORDER_ASC,
    GGML_SORT_ORDER_DESC,
};

// Which triangle ggml_tri keeps (the others become 0).
enum ggml_tri_type {
    GGML_TRI_TYPE_UPPER_DIAG = 0,
    GGML_TRI_TYPE_UPPER      = 1,
    GGML_TRI_TYPE_LOWER_DIAG = 2,
    GGML_TRI_TYPE_LOWER      = 3,
};

struct ggml_init_params {
    size_t mem_size;   // bytes of the arena
    void * mem_buffer; // caller-owned arena; NULL: the context allocates (and frees) its own
    bool   no_alloc;   // true: tensors get metadata only, their data stays NULL
};

typedef struct ggml_backend_buffer * ggml_backend_buffer_t;

// n-dimensional tensor; the field layout is ggml's.
struct ggml_tensor {
    enum ggml_type type;

    struct ggml_backend_buffer * buffer;

    int64_t ne[GGML_MAX_DIMS]; // number of elements
    size_t  nb[GGML_MAX_DIMS]; // stride in bytes:
                               // nb[0] = ggml_type_size(type)
                               // nb[1] = nb[0] * (ne[0] / ggml_blck_size(type)) + padding
                               // nb[i] = nb[i-1] * ne[i-1]

    enum ggml_op op;

    // op parameters, int32_t for alignment
    int32_t op_params[GGML_MAX_OP_PARAMS / sizeof(int32_t)];

    int32_t flags;

    struct ggml_tensor * src[GGML_MAX_SRC];

    // source tensor and offset for views
    struct ggml_tensor * view_src;
    size_t               view_offs;

    void * data;

    char name[GGML_MAX_NAME];

    void * extra; // backend-specific data

    char padding[8];
};

static const size_t GGML_TENSOR_SIZE = sizeof(struct ggml_tensor);

typedef bool (*ggml_abort_callback)(void * data);

//
// Utilities
//

// Call once at start; the other time functions work without it too.
GGML_API void    ggml_time_init(void);
GGML_API int64_t ggml_time_ms(void);
GGML_API int64_t ggml_time_us(void);
GGML_API int64_t ggml_cycles(void);
GGML_API int64_t ggml_cycles_per_ms(void);

// Every message of the library goes through the callback; NULL restores the default, which
// writes to stderr. user_data is passed back untouched.
typedef void (*ggml_log_callback)(enum ggml_log_level level, const char * text, void * user_data);
GGML_API void ggml_log_set(ggml_log_callback log_callback, void * user_data);

//
// Types and tensor facts
//

GGML_API int64_t ggml_nelements (const struct ggml_tensor * tensor);
GGML_API int64_t ggml_nrows     (const struct ggml_tensor * tensor);
GGML_API size_t  ggml_nbytes    (const struct ggml_tensor * tensor);
GGML_API size_t  ggml_nbytes_pad(const struct ggml_tensor * tensor); // rounded up to GGML_MEM_ALIGN

GGML_API int64_t ggml_blck_size(enum ggml_type type);    // 0 for an unknown type
GGML_API size_t  ggml_type_size(enum ggml_type type);    // bytes of a block; 0 for an unknown type
GGML_API size_t  ggml_row_size (enum ggml_type type, int64_t ne); // 0 for an unknown type or ne not a multiple of the block size
GGML_API double  ggml_type_sizef(enum ggml_type type);   // bytes per element (type_size / blck_size); 0 for an unknown type

GGML_API const char * ggml_type_name(enum ggml_type type);   // "f32", ...; NULL for an unknown type
GGML_API const char * ggml_op_name  (enum ggml_op   op);     // "ADD", ...; "UNKNOWN" for a value outside the enum
GGML_API const char * ggml_op_symbol(enum ggml_op   op);     // "x+y", ...
GGML_API const char * ggml_unary_op_name(enum ggml_unary_op op); // "GELU", ...; "UNKNOWN" outside the enum
GGML_API const char * ggml_glu_op_name(enum ggml_glu_op op);     // "SWIGLU", ...; "UNKNOWN" outside the enum
GGML_API const char * ggml_op_desc(const struct ggml_tensor * t); // unary / glu op name for UNARY / GLU, else op name

GGML_API size_t ggml_element_size(const struct ggml_tensor * tensor);

GGML_API bool ggml_is_quantized(enum ggml_type type);

GGML_API bool ggml_is_transposed(const struct ggml_tensor * tensor);
GGML_API bool ggml_is_permuted  (const struct ggml_tensor * tensor);
GGML_API bool ggml_is_empty     (const struct ggml_tensor * tensor);
GGML_API bool ggml_is_scalar    (const struct ggml_tensor * tensor);
GGML_API bool ggml_is_vector    (const struct ggml_tensor * tensor);
GGML_API bool ggml_is_matrix    (const struct ggml_tensor * tensor);
GGML_API bool ggml_is_3d        (const struct ggml_tensor * tensor);
GGML_API int  ggml_n_dims       (const struct ggml_tensor * tensor); // returns 1 for scalars

GGML_API bool ggml_is_contiguous  (const struct ggml_tensor * tensor);
GGML_API bool ggml_is_contiguous_0(const struct ggml_tensor * tensor); // same as ggml_is_contiguous
GGML_API bool ggml_is_contiguous_1(const struct ggml_tensor * tensor); // contiguous for dims >= 1
GGML_API bool ggml_is_contiguous_2(const struct ggml_tensor * tensor); // contiguous for dims >= 2
GGML_API bool ggml_is_contiguously_allocated(const struct ggml_tensor * tensor);
GGML_API bool ggml_is_contiguous_rows(const struct ggml_tensor * tensor);

GGML_API bool ggml_are_same_shape (const struct ggml_tensor * t0, const struct ggml_tensor * t1);
GGML_API bool ggml_are_same_stride(const struct ggml_tensor * t0, const struct ggml_tensor * t1);
GGML_API bool ggml_can_repeat     (const struct ggml_tensor * t0, const struct ggml_tensor * t1); // t0 broadcasts to t1

GGML_API bool ggml_is_view(const struct ggml_tensor * t);

//
// Contexts
//

// Bytes a context needs per tensor / per graph, besides the tensor data.
GGML_API size_t ggml_tensor_overhead(void);
GGML_API size_t ggml_graph_overhead(void);
GGML_API size_t ggml_graph_overhead_custom(size_t size, bool grads);

// Returns NULL (and logs) if the arena cannot be allocated. A mem_size of 0 gives a context that
// holds nothing (every tensor creation then fails with a log line), as in ggml.
GGML_API struct ggml_context * ggml_init(struct ggml_init_params params);
// Forgets every tensor and graph in the context; the arena is kept.
GGML_API void                  ggml_reset(struct ggml_context * ctx);
// Frees the context and everything in it (its own arena, not a caller's mem_buffer). NULL: no-op.
GGML_API void                  ggml_free(struct ggml_context * ctx);

GGML_API size_t  ggml_used_mem(const struct ggml_context * ctx);

GGML_API bool    ggml_get_no_alloc(struct ggml_context * ctx);
GGML_API void    ggml_set_no_alloc(struct ggml_context * ctx, bool no_alloc);

GGML_API void *  ggml_get_mem_buffer     (const struct ggml_context * ctx);
GGML_API size_t  ggml_get_mem_size       (const struct ggml_context * ctx);
GGML_API size_t  ggml_get_max_tensor_size(const struct ggml_context * ctx);

//
// Tensors
//

// Each returns NULL and logs on a NULL context, an unknown type, a negative extent, a byte size
// that overflows, or a context without room for the tensor.
GGML_API struct ggml_tensor * ggml_new_tensor(struct ggml_context * ctx, enum ggml_type type, int n_dims, const int64_t * ne);
GGML_API struct ggml_tensor * ggml_new_tensor_1d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0);
GGML_API struct ggml_tensor * ggml_new_tensor_2d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1);
GGML_API struct ggml_tensor * ggml_new_tensor_3d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2);
GGML_API struct ggml_tensor * ggml_new_tensor_4d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);

GGML_API struct ggml_tensor * ggml_new_i32(struct ggml_context * ctx, int32_t value); // needs an allocating context
GGML_API struct ggml_tensor * ggml_new_f32(struct ggml_context * ctx, float value);   // needs an allocating context

GGML_API struct ggml_tensor * ggml_dup_tensor (struct ggml_context * ctx, const struct ggml_tensor * src);
GGML_API struct ggml_tensor * ggml_view_tensor(struct ggml_context * ctx, struct ggml_tensor * src);

// Iterates over the tensors of a context in creation order; NULL at the end.
GGML_API struct ggml_tensor * ggml_get_first_tensor(const struct ggml_context * ctx);
GGML_API struct ggml_tensor * ggml_get_next_tensor (const struct ggml_context * ctx, struct ggml_tensor * tensor);
// The first tensor with that name, or NULL.
GGML_API struct ggml_tensor * ggml_get_tensor(struct ggml_context * ctx, const char * name);

GGML_API enum ggml_unary_op ggml_get_unary_op(const struct ggml_tensor * tensor);
// The glu op of a GLU node; GGML_GLU_OP_COUNT (and a log line) for any other tensor.
GGML_API enum ggml_glu_op   ggml_get_glu_op  (const struct ggml_tensor * tensor);

GGML_API void *  ggml_get_data    (const struct ggml_tensor * tensor);
GGML_API float * ggml_get_data_f32(const struct ggml_tensor * tensor);

// Names are truncated to GGML_MAX_NAME - 1 bytes. Each returns the tensor.
GGML_API const char *         ggml_get_name   (const struct ggml_tensor * tensor);
GGML_API struct ggml_tensor * ggml_set_name   (      struct ggml_tensor * tensor, const char * name);
GGML_ATTRIBUTE_FORMAT(2, 3)
GGML_API struct ggml_tensor * ggml_format_name(      struct ggml_tensor * tensor, const char * fmt, ...);

// Tensor flags.
GGML_API void ggml_set_input (struct ggml_tensor * tensor);
GGML_API void ggml_set_output(struct ggml_tensor * tensor);
GGML_API void ggml_set_param (struct ggml_tensor * tensor);
GGML_API void ggml_set_loss  (struct ggml_tensor * tensor);

// Element access for tensors whose data is in host memory (an allocating context or a host
// buffer). Indices out of range, a tensor without data or a type other than f32/f16/bf16/i32:
// logged, getters return 0 and setters do nothing.
GGML_API struct ggml_tensor * ggml_set_i32(struct ggml_tensor * tensor, int32_t value);
GGML_API struct ggml_tensor * ggml_set_f32(struct ggml_tensor * tensor, float value);
// Zeroes the tensor's bytes, in its backend buffer or in host memory (a tensor without data: no-op).
GGML_API struct ggml_tensor * ggml_set_zero(struct ggml_tensor * tensor);
// fopen (paths are UTF-8 everywhere here); NULL as fopen gives it.
GGML_API FILE *               ggml_fopen(const char * fname, const char * mode);
GGML_API int32_t ggml_get_i32_1d(const struct ggml_tensor * tensor, int i);
GGML_API void    ggml_set_i32_1d(const struct ggml_tensor * tensor, int i, int32_t value);
GGML_API int32_t ggml_get_i32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3);
GGML_API void    ggml_set_i32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3, int32_t value);
GGML_API float   ggml_get_f32_1d(const struct ggml_tensor * tensor, int i);
GGML_API void    ggml_set_f32_1d(const struct ggml_tensor * tensor, int i, float value);
GGML_API float   ggml_get_f32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3);
GGML_API void    ggml_set_f32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3, float value);

//
// Operations. Each builds one node (no computation happens here) and returns NULL on bad input.
// The _inplace variants return a view of a: the result is written over a's data.
//

GGML_API struct ggml_tensor * ggml_dup        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_dup_inplace(struct ggml_context * ctx, struct ggml_tensor * a);

// b is broadcast over a (ggml_can_repeat(b, a)); the result has a's shape and type
GGML_API struct ggml_tensor * ggml_add        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_add_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// b is a scalar (one element)
GGML_API struct ggml_tensor * ggml_add1        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_add1_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_sub        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_sub_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_mul        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_mul_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_div        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_div_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);

GGML_API struct ggml_tensor * ggml_sqr         (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sqr_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sqrt        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sqrt_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_log         (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_log_inplace (struct ggml_context * ctx, struct ggml_tensor * a);

// sum of all elements: a one-element tensor
GGML_API struct ggml_tensor * ggml_sum     (struct ggml_context * ctx, struct ggml_tensor * a);
// sums along rows: [ne0, ne1, ne2, ne3] -> [1, ne1, ne2, ne3]
GGML_API struct ggml_tensor * ggml_sum_rows(struct ggml_context * ctx, struct ggml_tensor * a);
// mean along rows: [ne0, ne1, ne2, ne3] -> [1, ne1, ne2, ne3]
GGML_API struct ggml_tensor * ggml_mean    (struct ggml_context * ctx, struct ggml_tensor * a);
// index of the largest element of each row of a matrix: i32 [ne1]
GGML_API struct ggml_tensor * ggml_argmax  (struct ggml_context * ctx, struct ggml_tensor * a);

// a repeated to the shape of b (ggml_can_repeat(a, b))
GGML_API struct ggml_tensor * ggml_repeat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// a and b joined along dim (the other extents must be equal)
GGML_API struct ggml_tensor * ggml_concat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int dim);

GGML_API struct ggml_tensor * ggml_abs               (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_abs_inplace       (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sgn               (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sgn_inplace       (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_neg               (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_neg_inplace       (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_step              (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_step_inplace      (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_tanh              (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_tanh_inplace      (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_elu               (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_elu_inplace       (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_relu              (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_relu_inplace      (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sigmoid           (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sigmoid_inplace   (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_gelu              (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_gelu_inplace      (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_gelu_erf          (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_gelu_erf_inplace  (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_gelu_quick        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_gelu_quick_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_silu              (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_silu_inplace      (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_hardswish         (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_hardsigmoid       (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_exp               (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_exp_inplace       (struct ggml_context * ctx, struct ggml_tensor * a);

GGML_API struct ggml_tensor * ggml_unary        (struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op);
GGML_API struct ggml_tensor * ggml_unary_inplace(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_unary_op op);

// normalize along rows (mean 0, variance 1)
GGML_API struct ggml_tensor * ggml_norm            (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
GGML_API struct ggml_tensor * ggml_norm_inplace    (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
GGML_API struct ggml_tensor * ggml_rms_norm        (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
GGML_API struct ggml_tensor * ggml_rms_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps);

// A: k columns, n rows => [ne03, ne02, n, k]
// B: k columns, m rows  (i.e. we transpose it internally) => [ne03 * x, ne02 * y, m, k]
// result is n columns, m rows => [ne03 * x, ne02 * y, m, n] (f32)
GGML_API struct ggml_tensor * ggml_mul_mat(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// changes the precision of a matrix multiplication; GGML_PREC_F32 for higher precision
GGML_API void ggml_mul_mat_set_prec(struct ggml_tensor * a, enum ggml_prec prec);

GGML_API struct ggml_tensor * ggml_scale        (struct ggml_context * ctx, struct ggml_tensor * a, float s);
GGML_API struct ggml_tensor * ggml_scale_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float s);
// s * a + b, element by element
GGML_API struct ggml_tensor * ggml_scale_bias        (struct ggml_context * ctx, struct ggml_tensor * a, float s, float b);
GGML_API struct ggml_tensor * ggml_scale_bias_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float s, float b);

// a -> b, return view(b); a and b must have the same number of elements
GGML_API struct ggml_tensor * ggml_cpy(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// a copied to a new tensor of another type
GGML_API struct ggml_tensor * ggml_cast(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_type type);

// make contiguous
GGML_API struct ggml_tensor * ggml_cont   (struct ggml_context * ctx, struct ggml_tensor * a);
// make contiguous, with a new shape (same number of elements)
GGML_API struct ggml_tensor * ggml_cont_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0);
GGML_API struct ggml_tensor * ggml_cont_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1);
GGML_API struct ggml_tensor * ggml_cont_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2);
GGML_API struct ggml_tensor * ggml_cont_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);

// return view(a), b specifies the new shape; a must be contiguous
GGML_API struct ggml_tensor * ggml_reshape   (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_reshape_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0);
GGML_API struct ggml_tensor * ggml_reshape_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1);
GGML_API struct ggml_tensor * ggml_reshape_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2);
GGML_API struct ggml_tensor * ggml_reshape_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);

// views into a; offset in bytes. NULL if the view reaches outside a's bytes.
GGML_API struct ggml_tensor * ggml_view_1d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, size_t offset);
GGML_API struct ggml_tensor * ggml_view_2d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1,
        size_t nb1, size_t offset);
GGML_API struct ggml_tensor * ggml_view_3d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2,
        size_t nb1, size_t nb2, size_t offset);
GGML_API struct ggml_tensor * ggml_view_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3,
        size_t nb1, size_t nb2, size_t nb3, size_t offset);

// axis i of a becomes axis axis_i of the result; the four axes must be a permutation of 0..3
GGML_API struct ggml_tensor * ggml_permute(struct ggml_context * ctx, struct ggml_tensor * a, int axis0, int axis1, int axis2, int axis3);
// alias for ggml_permute(ctx, a, 1, 0, 2, 3)
GGML_API struct ggml_tensor * ggml_transpose(struct ggml_context * ctx, struct ggml_tensor * a);

// rows of a selected by the i32 indices in b: a [n_embd, ne1, ne2, ne3], b [n_rows, ne2, ne3(, 1)]
// -> f32 [n_embd, n_rows, ne2, ne3]
GGML_API struct ggml_tensor * ggml_get_rows(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// a[c[i]] = b[i]: rows of b written into a at the i32/i64 indices in c; returns a view of a
GGML_API struct ggml_tensor * ggml_set_rows(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c);

// set elements above the diagonal (shifted by n_past) to -INF / 0
GGML_API struct ggml_tensor * ggml_diag_mask_inf         (struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
GGML_API struct ggml_tensor * ggml_diag_mask_inf_inplace (struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
GGML_API struct ggml_tensor * ggml_diag_mask_zero        (struct ggml_context * ctx, struct ggml_tensor * a, int n_past);
GGML_API struct ggml_tensor * ggml_diag_mask_zero_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_past);

GGML_API struct ggml_tensor * ggml_soft_max        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_soft_max_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
// fused soft_max(a*scale + mask*(ALiBi slope)); mask is optional (f32 or f16, broadcast over rows)
GGML_API struct ggml_tensor * ggml_soft_max_ext(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask,
        float scale, float max_bias);
GGML_API struct ggml_tensor * ggml_soft_max_ext_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * mask,
        float scale, float max_bias);

// rotary position embedding; b: i32 positions [a->ne[2]]; c: optional frequency factors (NULL);
// mode 0 (normal) or GGML_ROPE_TYPE_NEOX (the multi-section modes need ggml_rope_multi's sections)
GGML_API struct ggml_tensor * ggml_rope_ext(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale,
        float ext_factor, float attn_factor, float beta_fast, float beta_slow);
GGML_API struct ggml_tensor * ggml_rope_ext_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale,
        float ext_factor, float attn_factor, float beta_fast, float beta_slow);
// shorthand for ggml_rope_ext without frequency factors or context extension
GGML_API struct ggml_tensor * ggml_rope(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int n_dims, int mode);
GGML_API struct ggml_tensor * ggml_rope_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int n_dims, int mode);
// Moves the rotated window of a ROPE node to channels [n_offs, n_offs + n_dims) (the others are
// copied); returns a, or NULL and a log line when a is not a ROPE node or the window does not fit
// (n_offs even, >= 0; 0 in the vision mode).
GGML_API struct ggml_tensor * ggml_rope_set_offset(struct ggml_tensor * a, int n_offs);
// YaRN's correction range: the first and last rotation dimensions (clamped to 0..n_dims-1) between
// which the context-extension ramp blends interpolated and extrapolated angles
GGML_API void ggml_rope_yarn_corr_dims(int n_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow,
        float dims[2]);
// multi-section rope: b holds 4 i32 position streams [4 * a->ne[2]] (all of stream 0, then 1, 2, 3);
// rotation pair i takes its position from the stream its section (sections[0..3] pairs each,
// repeating) names. mode: GGML_ROPE_TYPE_MROPE (halves as NeoX), GGML_ROPE_TYPE_IMROPE (sections
// interleaved) or GGML_ROPE_TYPE_VISION (n_dims == ne0/2, every pair rotated, each section's
// frequencies restarting). NULL and a logged reason on a bad mode, shape or section split.
GGML_API struct ggml_tensor * ggml_rope_multi(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int sections[GGML_MROPE_SECTIONS], int mode, int n_ctx_orig,
        float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
GGML_API struct ggml_tensor * ggml_rope_multi_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, int n_dims, int sections[GGML_MROPE_SECTIONS], int mode, int n_ctx_orig,
        float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);

// a: convolution kernel, b: data; the result is the im2col matrix (dst_type: f32 or f16)
GGML_API struct ggml_tensor * ggml_im2col(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1, bool is_2D, enum ggml_type dst_type);
// 2D convolution as ggml builds it: im2col, then mul_mat.
// a: kernel [KW, KH, IC, OC], b: data [W, H, IC, N] -> [OW, OH, OC, N]
GGML_API struct ggml_tensor * ggml_conv_2d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1);

GGML_API struct ggml_tensor * ggml_pool_2d(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op_pool op,
        int k0, int k1, int s0, int s1, float p0, float p1);

// zero padding at the end of each dimension
GGML_API struct ggml_tensor * ggml_pad(struct ggml_context * ctx, struct ggml_tensor * a, int p0, int p1, int p2, int p3);

// element-wise extras (each also has the same-named _inplace where ggml has one)
GGML_API struct ggml_tensor * ggml_sin          (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_sin_inplace  (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_cos          (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_cos_inplace  (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_expm1        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_expm1_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_softplus     (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_softplus_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_floor        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_floor_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_ceil         (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_ceil_inplace (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_round        (struct ggml_context * ctx, struct ggml_tensor * a); // halves away from 0
GGML_API struct ggml_tensor * ggml_round_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_trunc        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_trunc_inplace(struct ggml_context * ctx, struct ggml_tensor * a);
// xIELU activation with its four parameters
GGML_API struct ggml_tensor * ggml_xielu(struct ggml_context * ctx, struct ggml_tensor * a, float alpha_n, float alpha_p,
        float beta, float eps);
// min(max(a, min), max), in place: returns a view of a (as ggml)
GGML_API struct ggml_tensor * ggml_clamp(struct ggml_context * ctx, struct ggml_tensor * a, float min, float max);
GGML_API struct ggml_tensor * ggml_leaky_relu(struct ggml_context * ctx, struct ggml_tensor * a, float negative_slope, bool inplace);
// every element set to c
GGML_API struct ggml_tensor * ggml_fill        (struct ggml_context * ctx, struct ggml_tensor * a, float c);
GGML_API struct ggml_tensor * ggml_fill_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float c);
// keeps one triangle of each matrix (column i0 against row i1), zeroes the rest
GGML_API struct ggml_tensor * ggml_tri(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_tri_type type);
// running sum along rows
GGML_API struct ggml_tensor * ggml_cumsum(struct ggml_context * ctx, struct ggml_tensor * a);
// a [n, 1, ne2, ne3] -> diagonal matrices [n, n, ne2, ne3]
GGML_API struct ggml_tensor * ggml_diag(struct ggml_context * ctx, struct ggml_tensor * a);
// the number of equal elements of a and b: an i64 scalar
GGML_API struct ggml_tensor * ggml_count_equal(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);

// dst = a, then the view of dst at offset (bytes) with strides nb1..nb3 and b's shape gets b
// added (acc) or assigned (set); the view must lie inside a
GGML_API struct ggml_tensor * ggml_acc        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t nb2, size_t nb3, size_t offset);
GGML_API struct ggml_tensor * ggml_acc_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t nb2, size_t nb3, size_t offset);
GGML_API struct ggml_tensor * ggml_set        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t nb2, size_t nb3, size_t offset);
GGML_API struct ggml_tensor * ggml_set_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t nb2, size_t nb3, size_t offset);
GGML_API struct ggml_tensor * ggml_set_1d        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t offset);
GGML_API struct ggml_tensor * ggml_set_1d_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, size_t offset);
GGML_API struct ggml_tensor * ggml_set_2d        (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t offset);
GGML_API struct ggml_tensor * ggml_set_2d_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        size_t nb1, size_t offset);
// a [m, n] and b [p, n] -> f32 [m, p]: sum over n of a[:, k] b[:, k]^T (broadcast over ne[2], ne[3])
GGML_API struct ggml_tensor * ggml_out_prod(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);

// normalizes each row to unit L2 norm (eps guards the division)
GGML_API struct ggml_tensor * ggml_l2_norm        (struct ggml_context * ctx, struct ggml_tensor * a, float eps);
GGML_API struct ggml_tensor * ggml_l2_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, float eps);
// mean 0, variance 1 over groups of ne[2] channels (ne[2] split into n_groups)
GGML_API struct ggml_tensor * ggml_group_norm        (struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps);
GGML_API struct ggml_tensor * ggml_group_norm_inplace(struct ggml_context * ctx, struct ggml_tensor * a, int n_groups, float eps);

// Gated linear units. Without b, each row of a holds the value then the gate (swapped: the gate
// first), and the result has half its ne[0]; with b (_split), a is the value and b the gate.
// The result is act(value) * gate.
GGML_API struct ggml_tensor * ggml_glu      (struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_glu_op op, bool swapped);
GGML_API struct ggml_tensor * ggml_glu_split(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, enum ggml_glu_op op);
GGML_API struct ggml_tensor * ggml_reglu            (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_reglu_swapped    (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_reglu_split      (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_geglu            (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_geglu_swapped    (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_geglu_split      (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_swiglu           (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_swiglu_swapped   (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_swiglu_split     (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_geglu_erf        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_geglu_erf_swapped(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_geglu_erf_split  (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_geglu_quick        (struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_geglu_quick_swapped(struct ggml_context * ctx, struct ggml_tensor * a);
GGML_API struct ggml_tensor * ggml_geglu_quick_split  (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// gpt-oss' SwiGLU: value clamped above at limit, gate to [-limit, limit], x*sigmoid(alpha*x)*(gate+1); b may be NULL
GGML_API struct ggml_tensor * ggml_swiglu_oai(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        float alpha, float limit);

// a [n, n_used, n_tokens] plus, for each (slot, token), the row ids[slot, token] of b [n, n_rows]
GGML_API struct ggml_tensor * ggml_add_id(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * ids);
// Mixture of experts: as [k, m, n_expert], b [k, n_b, n_tokens], ids i32 [n_used, n_tokens]
// -> f32 [m, n_used, n_tokens]: row (slot, token) = as[ids[slot, token]] x b[:, slot % n_b, token]
GGML_API struct ggml_tensor * ggml_mul_mat_id(struct ggml_context * ctx, struct ggml_tensor * as, struct ggml_tensor * b,
        struct ggml_tensor * ids);
// indices (i32) that sort each row
GGML_API struct ggml_tensor * ggml_argsort(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_sort_order order);
// the first k of a descending argsort: a view of k columns
GGML_API struct ggml_tensor * ggml_argsort_top_k(struct ggml_context * ctx, struct ggml_tensor * a, int k);
// the indices (i32) of the k largest elements of each row, largest first
GGML_API struct ggml_tensor * ggml_top_k(struct ggml_context * ctx, struct ggml_tensor * a, int k);

// Adds per-head attention sinks (f32 [n_head]) to a SOFT_MAX node: each row's denominator gains
// exp(sink). Logs and leaves the node as it is when a is not a SOFT_MAX node or sinks do not fit.
GGML_API void ggml_soft_max_add_sinks(struct ggml_tensor * a, struct ggml_tensor * sinks);

// Fused attention softmax(scale * q k^T + mask) v.
// q [D, n_q, n_head, ne3], k [D, n_kv, n_head_kv, ne3], v [Dv, n_kv, n_head_kv, ne3] (n_head a
// multiple of n_head_kv), mask (optional, f16/f32) [n_kv, >= n_q, broadcast over heads/ne3]
// -> f32 [Dv, n_head, n_q, ne3] (note the permutation). logit_softcap > 0 applies
// softcap*tanh(x/softcap) to the scores; max_bias > 0 scales the mask by ALiBi slopes.
GGML_API struct ggml_tensor * ggml_flash_attn_ext(struct ggml_context * ctx, struct ggml_tensor * q, struct ggml_tensor * k,
        struct ggml_tensor * v, struct ggml_tensor * mask, float scale, float max_bias, float logit_softcap);
// Setters on a FLASH_ATTN_EXT node; they log and do nothing on any other tensor.
GGML_API void           ggml_flash_attn_ext_set_prec (struct ggml_tensor * a, enum ggml_prec prec);
GGML_API enum ggml_prec ggml_flash_attn_ext_get_prec (const struct ggml_tensor * a);
GGML_API void           ggml_flash_attn_ext_add_sinks(struct ggml_tensor * a, struct ggml_tensor * sinks);

// [start, stop) in steps of step: f32 [ceil((stop - start) / step)]
GGML_API struct ggml_tensor * ggml_arange(struct ggml_context * ctx, float start, float stop, float step);
// sinusoidal embeddings of f32 timesteps [N] -> [dim, N]: cos then sin of t * max_period^(-j/half)
GGML_API struct ggml_tensor * ggml_timestep_embedding(struct ggml_context * ctx, struct ggml_tensor * timesteps, int dim,
        int max_period);

// Convolutions as ggml builds them (im2col to f16, then mul_mat).
// conv_1d: kernel a [K, IC, OC], data b [L, IC, N] -> [OL, OC, N]; _ph pads by K/2
GGML_API struct ggml_tensor * ggml_conv_1d   (struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int p0, int d0);
GGML_API struct ggml_tensor * ggml_conv_1d_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s, int d);
// depthwise: kernel a [K, 1, C], data b [L, C]
GGML_API struct ggml_tensor * ggml_conv_1d_dw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, int s0, int p0, int d0);
// kernel-sized stride, no padding / stride 1, half-kernel padding
GGML_API struct ggml_tensor * ggml_conv_2d_sk_p0(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_conv_2d_s1_ph(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
// depthwise 2D: kernel a [KW, KH, 1, C], data b [W, H, C, N]
GGML_API struct ggml_tensor * ggml_conv_2d_dw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1);
// direct 2D convolutions (no im2col buffer): kernel a [KW, KH, IC, OC] / depthwise [KW, KH, 1, C],
// data b [W, H, IC or C, N] -> f32 [OW, OH, OC or C, N]
GGML_API struct ggml_tensor * ggml_conv_2d_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int p0, int p1, int d0, int d1);
GGML_API struct ggml_tensor * ggml_conv_2d_dw_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int stride0, int stride1, int pad0, int pad1, int dilation0, int dilation1);
// 3D im2col: kernel a [KW, KH, KD, OC*IC], data b [IW, IH, ID, N*IC] (channels and batch share
// ne[3]; IC says how) -> [KW*KH*KD*IC, OW, OH, OD*N] of dst_type (f32 or f16); NULL on bad extents
GGML_API struct ggml_tensor * ggml_im2col_3d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int64_t IC, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2, enum ggml_type dst_type);
// 3D convolution as ggml builds it (im2col_3d, then mul_mat): a and b as for ggml_im2col_3d
// -> [OW, OH, OD, N*OC]
GGML_API struct ggml_tensor * ggml_conv_3d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int64_t IC, int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2);
// direct 3D convolution (no im2col buffer): kernel a [KW, KH, KD, n_channels*n_channels_out], data
// b [IW, IH, ID, n_channels*n_batch] -> f32 [OW, OH, OD, n_batch*n_channels_out]
GGML_API struct ggml_tensor * ggml_conv_3d_direct(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int s1, int s2, int p0, int p1, int p2, int d0, int d1, int d2, int n_channels, int n_batch,
        int n_channels_out);
// the overlap-add of a transposed 1D convolution done as GEMM: columns a [K*OC, T_in] (f32, f16 or
// bf16; k fastest within each channel) -> [(T_in-1)*s0 + K - 2*p0, OC] of a's type, p0 cropped
// from both ends; NULL when the crop leaves nothing or oc does not divide a->ne[0]
GGML_API struct ggml_tensor * ggml_col2im_1d(struct ggml_context * ctx, struct ggml_tensor * a, int s0, int oc, int p0);
// transposed: kernel a [K, Cout, Cin], data b [L, Cin] -> [(L-1)*s0 + K, Cout] (p0 = 0, d0 = 1 only, as ggml)
GGML_API struct ggml_tensor * ggml_conv_transpose_1d(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int s0, int p0, int d0);
// transposed 2D, no padding: kernel a [Kw, Kh, Cout, Cin], data b [W, H, Cin, N]
GGML_API struct ggml_tensor * ggml_conv_transpose_2d_p0(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        int stride);

// max or average over windows of k0 along rows (padding p0 on both sides is skipped)
GGML_API struct ggml_tensor * ggml_pool_1d(struct ggml_context * ctx, struct ggml_tensor * a, enum ggml_op_pool op,
        int k0, int s0, int p0);

// resampling to [ne0, ne1, ne2, ne3]; mode: a ggml_scale_mode, optionally | GGML_SCALE_FLAG_ALIGN_CORNERS
// and | GGML_SCALE_FLAG_ANTIALIAS (bilinear only, as in ggml: a tent filter as wide as the scale)
GGML_API struct ggml_tensor * ggml_interpolate(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1,
        int64_t ne2, int64_t ne3, uint32_t mode);
// ne0 and ne1 times scale_factor
GGML_API struct ggml_tensor * ggml_upscale    (struct ggml_context * ctx, struct ggml_tensor * a, int scale_factor,
        enum ggml_scale_mode mode);
GGML_API struct ggml_tensor * ggml_upscale_ext(struct ggml_context * ctx, struct ggml_tensor * a, int ne0, int ne1, int ne2,
        int ne3, enum ggml_scale_mode mode);

// zero padding before (lp) and after (rp) each dimension
GGML_API struct ggml_tensor * ggml_pad_ext(struct ggml_context * ctx, struct ggml_tensor * a, int lp0, int rp0, int lp1,
        int rp1, int lp2, int rp2, int lp3, int rp3);
// rows padded by reflection (the edge element not repeated); f32, p0 and p1 < ne[0]
GGML_API struct ggml_tensor * ggml_pad_reflect_1d(struct ggml_context * ctx, struct ggml_tensor * a, int p0, int p1);
// elements moved by shift_d along each dimension, wrapping around (|shift_d| < ne[d])
GGML_API struct ggml_tensor * ggml_roll(struct ggml_context * ctx, struct ggml_tensor * a, int shift0, int shift1,
        int shift2, int shift3);
// a repeated to [ne0, ne1, ne2, ne3] (multiples of a's extents)
GGML_API struct ggml_tensor * ggml_repeat_4d(struct ggml_context * ctx, struct ggml_tensor * a, int64_t ne0, int64_t ne1,
        int64_t ne2, int64_t ne3);

// SAM's windows: a [C, W, H, 1] cut into w x w windows (zero-padded) -> [C, w, w, n_windows];
// win_unpart puts them back into [C, w0, h0] (the padding dropped)
GGML_API struct ggml_tensor * ggml_win_part  (struct ggml_context * ctx, struct ggml_tensor * a, int w);
GGML_API struct ggml_tensor * ggml_win_unpart(struct ggml_context * ctx, struct ggml_tensor * a, int w0, int h0, int w);
// SAM's relative positions: a [C, 2*qh - 1] -> [C, kh, qh] (qh == kh)
GGML_API struct ggml_tensor * ggml_get_rel_pos(struct ggml_context * ctx, struct ggml_tensor * a, int qh, int kh);
// a [w*w, w*h, ...] plus the relative position terms pw, ph [w, w, h] (f32, contiguous)
GGML_API struct ggml_tensor * ggml_add_rel_pos        (struct ggml_context * ctx, struct ggml_tensor * a,
        struct ggml_tensor * pw, struct ggml_tensor * ph);
GGML_API struct ggml_tensor * ggml_add_rel_pos_inplace(struct ggml_context * ctx, struct ggml_tensor * a,
        struct ggml_tensor * pw, struct ggml_tensor * ph);

// Custom ops: the program's function computes the node. Every thread of the compute calls it
// with its ith of nth, nth = min(n_tasks, threads); GGML_N_TASKS_MAX: all threads.
#define GGML_N_TASKS_MAX (-1)

typedef void (*ggml_custom1_op_t)(struct ggml_tensor * dst, const struct ggml_tensor * a, int ith, int nth, void * userdata);
typedef void (*ggml_custom2_op_t)(struct ggml_tensor * dst, const struct ggml_tensor * a, const struct ggml_tensor * b,
        int ith, int nth, void * userdata);
typedef void (*ggml_custom3_op_t)(struct ggml_tensor * dst, const struct ggml_tensor * a, const struct ggml_tensor * b,
        const struct ggml_tensor * c, int ith, int nth, void * userdata);
typedef void (*ggml_custom_op_t)(struct ggml_tensor * dst, int ith, int nth, void * userdata);

// result: a's shape and type (_inplace: a view of a)
GGML_API struct ggml_tensor * ggml_map_custom1(struct ggml_context * ctx, struct ggml_tensor * a, ggml_custom1_op_t fun,
        int n_tasks, void * userdata);
GGML_API struct ggml_tensor * ggml_map_custom1_inplace(struct ggml_context * ctx, struct ggml_tensor * a, ggml_custom1_op_t fun,
        int n_tasks, void * userdata);
GGML_API struct ggml_tensor * ggml_map_custom2(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        ggml_custom2_op_t fun, int n_tasks, void * userdata);
GGML_API struct ggml_tensor * ggml_map_custom2_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        ggml_custom2_op_t fun, int n_tasks, void * userdata);
GGML_API struct ggml_tensor * ggml_map_custom3(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, ggml_custom3_op_t fun, int n_tasks, void * userdata);
GGML_API struct ggml_tensor * ggml_map_custom3_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b,
        struct ggml_tensor * c, ggml_custom3_op_t fun, int n_tasks, void * userdata);
// a new [ne0..ne3] tensor of type computed by fun from the n_args tensors args (its sources)
GGML_API struct ggml_tensor * ggml_custom_4d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1,
        int64_t ne2, int64_t ne3, struct ggml_tensor ** args, int n_args, ggml_custom_op_t fun, int n_tasks, void * userdata);
// fun writes over a (the result is a view of a; src[0] = a, then the args)
GGML_API struct ggml_tensor * ggml_custom_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor ** args,
        int n_args, ggml_custom_op_t fun, int n_tasks, void * userdata);

// Training (backward ops, losses, optimizer steps) and model-specific recurrent ops: named and
// numbered as in ggml, not built here. Each logs that the op is not supported and returns NULL.
GGML_API struct ggml_tensor * ggml_silu_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_rms_norm_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, float eps);
GGML_API struct ggml_tensor * ggml_repeat_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_get_rows_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c);
GGML_API struct ggml_tensor * ggml_soft_max_ext_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, float scale, float max_bias);
GGML_API struct ggml_tensor * ggml_soft_max_ext_back_inplace(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, float scale, float max_bias);
GGML_API struct ggml_tensor * ggml_rope_ext_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c, int n_dims, int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
GGML_API struct ggml_tensor * ggml_rope_multi_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c, int n_dims, int sections[4], int mode, int n_ctx_orig, float freq_base, float freq_scale, float ext_factor, float attn_factor, float beta_fast, float beta_slow);
GGML_API struct ggml_tensor * ggml_pool_2d_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * af, enum ggml_op_pool op, int k0, int k1, int s0, int s1, float p0, float p1);
GGML_API struct ggml_tensor * ggml_flash_attn_back(struct ggml_context * ctx, struct ggml_tensor * q, struct ggml_tensor * k, struct ggml_tensor * v, struct ggml_tensor * d, bool masked);
GGML_API struct ggml_tensor * ggml_cross_entropy_loss(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b);
GGML_API struct ggml_tensor * ggml_cross_entropy_loss_back(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * c);
GGML_API struct ggml_tensor * ggml_opt_step_adamw(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * grad, struct ggml_tensor * m, struct ggml_tensor * v, struct ggml_tensor * adamw_params);
GGML_API struct ggml_tensor * ggml_opt_step_sgd(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * grad, struct ggml_tensor * sgd_params);
GGML_API struct ggml_tensor * ggml_ssm_conv(struct ggml_context * ctx, struct ggml_tensor * sx, struct ggml_tensor * c);
GGML_API struct ggml_tensor * ggml_ssm_scan(struct ggml_context * ctx, struct ggml_tensor * s, struct ggml_tensor * x, struct ggml_tensor * dt, struct ggml_tensor * A, struct ggml_tensor * B, struct ggml_tensor * C, struct ggml_tensor * ids);
GGML_API struct ggml_tensor * ggml_rwkv_wkv6(struct ggml_context * ctx, struct ggml_tensor * k, struct ggml_tensor * v, struct ggml_tensor * r, struct ggml_tensor * tf, struct ggml_tensor * td, struct ggml_tensor * state);
GGML_API struct ggml_tensor * ggml_gated_linear_attn(struct ggml_context * ctx, struct ggml_tensor * k, struct ggml_tensor * v, struct ggml_tensor * q, struct ggml_tensor * g, struct ggml_tensor * state, float scale);
GGML_API struct ggml_tensor * ggml_rwkv_wkv7(struct ggml_context * ctx, struct ggml_tensor * r, struct ggml_tensor * w, struct ggml_tensor * k, struct ggml_tensor * v, struct ggml_tensor * a, struct ggml_tensor * b, struct ggml_tensor * state);
GGML_API struct ggml_tensor * ggml_solve_tri(struct ggml_context * ctx, struct ggml_tensor * a, struct ggml_tensor * b, bool left, bool lower, bool uni);

//
// Graphs
//

// A graph lives in its context. NULL (and a log line) if the context has no room.
GGML_API struct ggml_cgraph * ggml_new_graph       (struct ggml_context * ctx); // size GGML_DEFAULT_GRAPH_SIZE, no grads
GGML_API struct ggml_cgraph * ggml_new_graph_custom(struct ggml_context * ctx, size_t size, bool grads);
// A new graph with the nodes and leafs of cgraph; NULL if the context has no room.
GGML_API struct ggml_cgraph * ggml_graph_dup       (struct ggml_context * ctx, struct ggml_cgraph * cgraph, bool force_grads);
// Copies src's nodes and leafs into dst; logs and leaves dst cleared if dst is too small.
GGML_API void                 ggml_graph_cpy       (struct ggml_cgraph * src, struct ggml_cgraph * dst);
GGML_API void                 ggml_graph_clear     (struct ggml_cgraph * cgraph); // forgets every node and leaf
GGML_API void                 ggml_graph_reset     (struct ggml_cgraph * cgraph); // clears gradients; here: no-op without grads

// Adds tensor and everything it depends on, in ggml's order (sources left to right, depth first).
// A graph that is full logs an error and stops adding; ggml_graph_n_nodes then tells how far it got.
GGML_API void ggml_build_forward_expand(struct ggml_cgraph * cgraph, struct ggml_tensor * tensor);

GGML_API int                   ggml_graph_size   (struct ggml_cgraph * cgraph);
// i < 0 counts from the end (-1 is the last node); NULL if out of range.
GGML_API struct ggml_tensor *  ggml_graph_node   (struct ggml_cgraph * cgraph, int i);
GGML_API struct ggml_tensor ** ggml_graph_nodes  (struct ggml_cgraph * cgraph);
GGML_API int                   ggml_graph_n_nodes(struct ggml_cgraph * cgraph);
// Appends a node as is (no dependency walk); logs and does nothing if the graph is full.
GGML_API void                  ggml_graph_add_node(struct ggml_cgraph * cgraph, struct ggml_tensor * tensor);

// The node or leaf with that name, or NULL.
GGML_API struct ggml_tensor * ggml_graph_get_tensor(const struct ggml_cgraph * cgraph, const char * name);

// Prints the nodes and leafs through the log callback (level INFO).
GGML_API void ggml_graph_print(const struct ggml_cgraph * cgraph);


//
// Type traits and quantization (types.c, quants.c)
//

// The ggml_type of a model file's ftype; GGML_TYPE_COUNT (and a log line) for an unknown or mixed
// ftype (ggml aborts there).
GGML_API enum ggml_type ggml_ftype_to_ggml_type(enum ggml_ftype ftype);

typedef void (*ggml_to_float_t)  (const void  * GGML_RESTRICT x, float * GGML_RESTRICT y, int64_t k);
typedef void (*ggml_from_float_t)(const float * GGML_RESTRICT x, void  * GGML_RESTRICT y, int64_t k);

struct ggml_type_traits {
    const char      * type_name;
    int64_t           blck_size;
    int64_t           blck_size_interleave; // interleave elements in blocks
    size_t            type_size;
    bool              is_quantized;
    ggml_to_float_t   to_float;       // NULL where there is no dequantizer
    ggml_from_float_t from_float_ref; // the reference quantizer; NULL where there is none
};

// The traits of a type; for a number ggml removed, a static entry with every field zero/NULL
// (blck_size 0), and the same with a log line for an id outside the enum.
GGML_API const struct ggml_type_traits * ggml_get_type_traits(enum ggml_type type);

// Quantization tables; nothing to prepare here (the grids of the IQ types are not built), kept
// for ggml's API. Thread-safe, idempotent.
GGML_API void ggml_quantize_init(enum ggml_type type);
GGML_API void ggml_quantize_free(void);

// true for the types whose quantizer needs an importance matrix (IQ2_XXS, IQ2_XS, IQ1_S).
GGML_API bool ggml_quantize_requires_imatrix(enum ggml_type type);

// Quantizes nrows rows of n_per_row floats, src + start, into dst at the matching row (start must
// be a whole number of rows). Returns the bytes written. Types: F32, F16, BF16, Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0, MXFP4, NVFP4, Q1_0.
// imatrix (NULL, or n_per_row weights, one per column): Q4_0, Q5_0, Q4_1 and Q5_1 fit each
// block by weighted least squares under it (a fit of our own: same format, but not the bytes
// ggml's weighted quantizers write; without one, the bytes are ggml's reference quantizers');
// Q8_0, MXFP4, TQ1_0, TQ2_0, Q1_0 and the float types
// ignore it, as ggml's do. Returns 0 and logs on: a NULL pointer, an unknown type or one without
// a quantizer, a type that needs an importance matrix (see above), an imatrix given for a type
// whose weighted quantizer is not available here (the K and IQ types),
// n_per_row not a multiple of the block size, start not at a row boundary, negative counts.
GGML_API size_t ggml_quantize_chunk(
        enum ggml_type   type,
        const float    * src,
        void           * dst,
        int64_t          start,
        int64_t          nrows,
        int64_t          n_per_row,
        const float    * imatrix);

#ifdef __cplusplus
}
#endif
