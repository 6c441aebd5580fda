// Graph compute on a Vulkan device.
//
// A graph runs as one command buffer. First every node is checked and turned into a dispatch
// (pipeline, push constants, the four buffers it binds, the workgroup counts) without touching
// the device, so a graph with an unsupported op or a tensor the device cannot reach fails
// before any work, with a log line naming the node. Then the dispatches are recorded in node
// order and the buffer is submitted and waited for.
//
// Binding: every pipeline binds four storage buffers (src0, src1, src2, dst), each a whole
// VkBuffer, and finds its tensor by an element offset in the push constants. Binding whole
// buffers means a view may start at any element, however the storage-buffer offset alignment
// falls; a whole buffer is never larger than maxStorageBufferRange because the buffer type's
// max size says so.
//
// Barriers: the dispatches since the last barrier have read and written byte ranges of
// buffers. A node needs a barrier before it when it reads a range written since the last
// barrier (read after write), or writes a range read or written since then (write after read,
// write after write: the allocator reuses memory as soon as a tensor is dead). Ranges are the
// tensors' extents [offset, offset + last byte]. Independent nodes, such as the Q, K and V
// projections of an attention block, thus run without a barrier between them. The check is a
// linear scan of the ranges since the last barrier, which stays short because every barrier
// clears it.
//
// Kernel choice: mul_mat with at most two columns in b (decoding) is a matrix-vector product:
// on GPUs one workgroup per row of a (coalesced reads, a shared-memory sum), on CPU
// implementations of Vulkan one invocation per row (no barriers, which cost a switch between
// SIMD chunks there). Larger products use the tiled kernel. Element-wise shaders walk rows
// (y workgroups) and the elements of a row (x invocations).
//
// Pipelines are created on first use and kept for the device's life. Descriptor sets (one per
// dispatch) come from one pool per device that is reset for every graph and grown when a graph
// needs more sets than it holds.

#include "vulkan-impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char * const vk_pipe_names[VK_PIPE_COUNT] = {
    [VK_PIPE_BINARY]       = "binary",
    [VK_PIPE_UNARY]        = "unary",
    [VK_PIPE_NORM]         = "norm",
    [VK_PIPE_SOFT_MAX_F32] = "soft_max_f32",
    [VK_PIPE_SOFT_MAX_F16] = "soft_max_f16",
    [VK_PIPE_MUL_MAT_F32]  = "mul_mat_f32",
    [VK_PIPE_MUL_MAT_F16]  = "mul_mat_f16",
    [VK_PIPE_MUL_MV_F32]   = "mul_mv_f32",
    [VK_PIPE_MUL_MV_F16]   = "mul_mv_f16",
    [VK_PIPE_MUL_MV_WG_F32] = "mul_mv_wg_f32",
    [VK_PIPE_MUL_MV_WG_F16] = "mul_mv_wg_f16",
    [VK_PIPE_CPY_F32_F32]  = "cpy_f32_f32",
    [VK_PIPE_CPY_F32_F16]  = "cpy_f32_f16",
    [VK_PIPE_CPY_F16_F32]  = "cpy_f16_f32",
    [VK_PIPE_CPY_F16_F16]  = "cpy_f16_f16",
    [VK_PIPE_GET_ROWS_F32] = "get_rows_f32",
    [VK_PIPE_GET_ROWS_F16] = "get_rows_f16",
    [VK_PIPE_ROPE]         = "rope",
    [VK_PIPE_MUL_MAT_Q4_0] = "mul_mat_q4_0",
    [VK_PIPE_MUL_MAT_Q8_0] = "mul_mat_q8_0",
    [VK_PIPE_GET_ROWS_Q4_0] = "get_rows_q4_0",
    [VK_PIPE_GET_ROWS_Q8_0] = "get_rows_q8_0",
    [VK_PIPE_GLU]          = "glu",
    [VK_PIPE_SET_ROWS_F32] = "set_rows_f32",
    [VK_PIPE_SET_ROWS_F16] = "set_rows_f16",
};

// The op numbers of unary.comp.
enum vk_unary {
    VK_UNARY_SCALE = 0,
    VK_UNARY_SQR,
    VK_UNARY_SQRT,
    VK_UNARY_LOG,
    VK_UNARY_DIAG_MASK_INF,
    VK_UNARY_DIAG_MASK_ZERO,
    VK_UNARY_FIRST_GGML, // then ggml's unary ops in the order of unary.comp, from ABS
};

static int vk_unary_code(enum ggml_unary_op op) {
    switch (op) {
        case GGML_UNARY_OP_ABS:         return VK_UNARY_FIRST_GGML + 0;
        case GGML_UNARY_OP_SGN:         return VK_UNARY_FIRST_GGML + 1;
        case GGML_UNARY_OP_NEG:         return VK_UNARY_FIRST_GGML + 2;
        case GGML_UNARY_OP_STEP:        return VK_UNARY_FIRST_GGML + 3;
        case GGML_UNARY_OP_TANH:        return VK_UNARY_FIRST_GGML + 4;
        case GGML_UNARY_OP_ELU:         return VK_UNARY_FIRST_GGML + 5;
        case GGML_UNARY_OP_RELU:        return VK_UNARY_FIRST_GGML + 6;
        case GGML_UNARY_OP_SIGMOID:     return VK_UNARY_FIRST_GGML + 7;
        case GGML_UNARY_OP_GELU:        return VK_UNARY_FIRST_GGML + 8;
        case GGML_UNARY_OP_GELU_QUICK:  return VK_UNARY_FIRST_GGML + 9;
        case GGML_UNARY_OP_SILU:        return VK_UNARY_FIRST_GGML + 10;
        case GGML_UNARY_OP_HARDSWISH:   return VK_UNARY_FIRST_GGML + 11;
        case GGML_UNARY_OP_HARDSIGMOID: return VK_UNARY_FIRST_GGML + 12;
        case GGML_UNARY_OP_EXP:         return VK_UNARY_FIRST_GGML + 13;
        case GGML_UNARY_OP_GELU_ERF:    return VK_UNARY_FIRST_GGML + 14;
        case GGML_UNARY_OP_EXPM1:       return VK_UNARY_FIRST_GGML + 15;
        case GGML_UNARY_OP_SOFTPLUS:    return VK_UNARY_FIRST_GGML + 16;
        case GGML_UNARY_OP_FLOOR:       return VK_UNARY_FIRST_GGML + 17;
        case GGML_UNARY_OP_CEIL:        return VK_UNARY_FIRST_GGML + 18;
        case GGML_UNARY_OP_ROUND:       return VK_UNARY_FIRST_GGML + 19;
        case GGML_UNARY_OP_TRUNC:       return VK_UNARY_FIRST_GGML + 20;
        default:                        return -1;
    }
}

// The push-constant block of common.glsl (128 bytes).
struct vk_push {
    uint32_t a_ne[4], a_nb[4];
    uint32_t b_ne[4], b_nb[4];
    uint32_t d_ne[4], d_nb[4];
    uint32_t a_off, b_off, c_off, d_off;
    uint32_t op;
    float    f0, f1, f2;
};

struct vk_range {
    VkBuffer buf;
    size_t   lo, hi; // [lo, hi)
};

struct vk_dispatch {
    enum vk_pipe    pipe;
    struct vk_push  pc;
    VkBuffer        bufs[VK_N_BINDINGS];
    uint32_t        groups[3];
    struct vk_range reads[3];
    int             n_reads;
    struct vk_range write;
};

//
// which nodes run here
//

static bool vk_is_noop(const struct ggml_tensor * t) {
    switch (t->op) {
        case GGML_OP_NONE:
        case GGML_OP_VIEW:
        case GGML_OP_RESHAPE:
        case GGML_OP_PERMUTE:
        case GGML_OP_TRANSPOSE:
            return true;
        default:
            return false;
    }
}

static bool vk_f32(const struct ggml_tensor * t) {
    return t != NULL && t->type == GGML_TYPE_F32;
}

static bool vk_f32_or_f16(struct vk_device * d, const struct ggml_tensor * t) {
    return t != NULL && (t->type == GGML_TYPE_F32 || (t->type == GGML_TYPE_F16 && d->f16_storage));
}

// Quantized weights the shaders read (as 16-bit words: both block sizes are even, and so are
// the offsets of tensors in buffers aligned to at least 16 bytes): Q4_0 and Q8_0, rows of whole
// blocks. Other quantized types have no shader here.
static bool vk_quant_ok(struct vk_device * d, const struct ggml_tensor * t) {
    return t != NULL && (t->type == GGML_TYPE_Q4_0 || t->type == GGML_TYPE_Q8_0) && d->f16_storage &&
           t->nb[0] == ggml_type_size(t->type);
}

// Bytes of one addressing unit of t in the shaders: its element, or a 16-bit word of blocks.
static size_t vk_unit(const struct ggml_tensor * t) {
    return ggml_is_quantized(t->type) ? 2 : ggml_type_size(t->type);
}

// Element counts and indices are 32-bit in the shaders (with room for a grid-stride step).
static bool vk_small(const struct ggml_tensor * t) {
    return t == NULL || ggml_nelements(t) < ((int64_t) 1 << 31);
}

bool ggalloc_vk_supports_op(struct vk_device * d, const struct ggml_tensor * op) {
    if (op == NULL) return false;
    if (vk_is_noop(op)) return true;
    const struct ggml_tensor * a = op->src[0];
    const struct ggml_tensor * b = op->src[1];
    const struct ggml_tensor * c = op->src[2];
    if (!vk_small(op) || !vk_small(a) || !vk_small(b) || !vk_small(c)) return false;
    switch (op->op) {
        case GGML_OP_ADD:
        case GGML_OP_SUB:
        case GGML_OP_MUL:
        case GGML_OP_DIV:
            return vk_f32(op) && vk_f32(a) && vk_f32(b) && ggml_are_same_shape(op, a) && ggml_can_repeat(b, a);
        case GGML_OP_SCALE:
        case GGML_OP_SQR:
        case GGML_OP_SQRT:
        case GGML_OP_LOG:
        case GGML_OP_DIAG_MASK_INF:
        case GGML_OP_DIAG_MASK_ZERO:
        case GGML_OP_NORM:
        case GGML_OP_RMS_NORM:
            return vk_f32(op) && vk_f32(a) && ggml_are_same_shape(op, a);
        case GGML_OP_UNARY:
            return vk_f32(op) && vk_f32(a) && ggml_are_same_shape(op, a) &&
                   vk_unary_code((enum ggml_unary_op) op->op_params[0]) >= 0;
        case GGML_OP_SOFT_MAX:
            return vk_f32(op) && vk_f32(a) && ggml_are_same_shape(op, a) && c == NULL &&
                   (b == NULL || vk_f32_or_f16(d, b));
        case GGML_OP_MUL_MAT:
            return vk_f32(op) && (vk_f32_or_f16(d, a) || vk_quant_ok(d, a)) && vk_f32(b) &&
                   a->ne[2] > 0 && a->ne[3] > 0 && op->ne[2] % a->ne[2] == 0 && op->ne[3] % a->ne[3] == 0;
        case GGML_OP_CPY:
        case GGML_OP_CONT:
        case GGML_OP_DUP:
            return vk_f32_or_f16(d, a) && vk_f32_or_f16(d, op) && ggml_nelements(a) == ggml_nelements(op);
        case GGML_OP_GET_ROWS:
            return vk_f32(op) && (vk_f32_or_f16(d, a) || vk_quant_ok(d, a)) && b != NULL && b->type == GGML_TYPE_I32;
        case GGML_OP_SET_ROWS:
            return vk_f32(a) && b != NULL && (b->type == GGML_TYPE_I32 || b->type == GGML_TYPE_I64) && vk_f32_or_f16(d, op) &&
                   op->ne[0] == a->ne[0] && op->ne[2] == a->ne[2] && op->ne[3] == a->ne[3] && a->ne[1] == b->ne[0] &&
                   b->ne[1] > 0 && b->ne[2] > 0 && a->ne[2] % b->ne[1] == 0 && a->ne[3] % b->ne[2] == 0 &&
                   (b->type == GGML_TYPE_I32 || 2 * (uint64_t) ggml_nelements(b) < ((uint64_t) 1 << 31));
        case GGML_OP_GLU:
            return vk_f32(op) && vk_f32(a) && op->op_params[0] >= 0 && op->op_params[0] < GGML_GLU_OP_COUNT &&
                   (b != NULL ? vk_f32(b) && ggml_are_same_shape(a, b) && ggml_are_same_shape(op, a)
                              : a->ne[0] == 2 * op->ne[0] && a->ne[1] == op->ne[1] && a->ne[2] == op->ne[2] &&
                                a->ne[3] == op->ne[3]);
        case GGML_OP_ROPE: {
            const int mode = op->op_params[2];
            const int n_dims = op->op_params[1];
            return vk_f32(op) && vk_f32(a) && ggml_are_same_shape(op, a) && b != NULL && b->type == GGML_TYPE_I32 &&
                   (c == NULL || vk_f32(c)) && (mode & ~GGML_ROPE_TYPE_NEOX) == 0 &&
                   op->ne[0] % 2 == 0 && n_dims % 2 == 0 && n_dims >= 0 && n_dims <= op->ne[0] &&
                   op->op_params[15] == 0; // the shader rotates from channel 0 (no ggml_rope_set_offset)
        }
        default:
            return false;
    }
}

//
// turning a node into a dispatch
//

static ggml_backend_buffer_t vk_tensor_buffer(const struct ggml_tensor * t) {
    return t->view_src ? t->view_src->buffer : t->buffer;
}

// Finds t's VkBuffer and element offset, checking that the device can address it.
static bool vk_bind(struct vk_device * d, const struct ggml_tensor * node, int node_i, const struct ggml_tensor * t,
                    VkBuffer * buf, uint32_t * elem_off, struct vk_range * range) {
    ggml_backend_buffer_t b = vk_tensor_buffer(t);
    if (t->data == NULL || b == NULL) {
        GGML_LOG_ERROR("Vulkan: graph node %d '%s' (%s): tensor '%s' has no data; allocate the graph first\n",
                       node_i, node->name, ggml_op_desc(node), t->name);
        return false;
    }
    size_t bsize = 0;
    if (!ggalloc_vk_buffer_get(b, d, buf, &bsize)) {
        GGML_LOG_ERROR("Vulkan: graph node %d '%s' (%s): tensor '%s' lives in buffer %s, which device %s cannot read; "
                       "use ggml_backend_vk_buffer_type or ggml_backend_vk_host_buffer_type\n",
                       node_i, node->name, ggml_op_desc(node), t->name, ggml_backend_buffer_name(b), d->name);
        return false;
    }
    size_t es  = vk_unit(t);
    size_t off = (size_t) ((uintptr_t) t->data - (uintptr_t) ggml_backend_buffer_get_base(b));
    bool aligned = off % es == 0;
    // the last byte read: an empty source (K = 0) is bound but never read; a row of blocks ends
    // with its last block
    size_t span = ggml_is_empty(t) ? 0 : ggml_type_size(t->type);
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        aligned = aligned && t->nb[i] % es == 0;
        const int64_t n = i == 0 ? t->ne[0] / ggml_blck_size(t->type) : t->ne[i];
        if (span > 0) span += (size_t) (n - 1) * t->nb[i];
    }
    if (!aligned) {
        GGML_LOG_ERROR("Vulkan: graph node %d '%s' (%s): tensor '%s' at byte offset %zu with strides %zu, %zu, %zu, %zu "
                       "is not aligned to its %zu-byte elements\n", node_i, node->name, ggml_op_desc(node), t->name,
                       off, t->nb[0], t->nb[1], t->nb[2], t->nb[3], es);
        return false;
    }
    if (off + span > bsize) {
        GGML_LOG_ERROR("Vulkan: graph node %d '%s' (%s): tensor '%s' spans bytes [%zu, %zu) of a %zu-byte buffer\n",
                       node_i, node->name, ggml_op_desc(node), t->name, off, off + span, bsize);
        return false;
    }
    *elem_off = (uint32_t) (off / es);
    *range = (struct vk_range) { .buf = *buf, .lo = off, .hi = off + span };
    return true;
}

static void vk_shape(uint32_t ne[4], uint32_t nb[4], const struct ggml_tensor * t) {
    size_t es = vk_unit(t);
    for (int i = 0; i < 4; i++) {
        ne[i] = (uint32_t) t->ne[i];
        nb[i] = (uint32_t) (t->nb[i] / es);
    }
}

static uint32_t vk_u32_of_f32(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static float vk_param_f32(const struct ggml_tensor * t, int i) {
    float f;
    memcpy(&f, &t->op_params[i], sizeof(f));
    return f;
}

static uint32_t vk_groups(struct vk_device * d, int axis, uint64_t n) {
    uint64_t cap = d->props.limits.maxComputeWorkGroupCount[axis];
    if (cap > 65535) cap = 65535;
    if (n < 1) n = 1;
    return (uint32_t) (n < cap ? n : cap);
}

// The dims ggml's YaRN ramp works between (ggml_rope_yarn_corr_dims).
static void vk_rope_corr_dims(int n_dims, int n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]) {
    const float two_pi = 6.28318530717958647692f;
    float start = floorf(n_dims * logf(n_ctx_orig / (beta_fast * two_pi)) / (2 * logf(freq_base)));
    float end   = ceilf (n_dims * logf(n_ctx_orig / (beta_slow * two_pi)) / (2 * logf(freq_base)));
    dims[0] = start > 0 ? start : 0;
    dims[1] = end < n_dims - 1 ? end : (float) (n_dims - 1);
}

static bool vk_prepare(struct vk_device * d, struct ggml_tensor * node, int node_i, struct vk_dispatch * ds) {
    memset(ds, 0, sizeof(*ds));
    const struct ggml_tensor * srcs[3] = { node->src[0], node->src[1], node->src[2] };
    if (node->op == GGML_OP_SOFT_MAX || node->op == GGML_OP_ROPE || node->op == GGML_OP_GET_ROWS ||
        node->op == GGML_OP_MUL_MAT || node->op == GGML_OP_ADD || node->op == GGML_OP_SUB ||
        node->op == GGML_OP_MUL || node->op == GGML_OP_DIV || node->op == GGML_OP_GLU || node->op == GGML_OP_SET_ROWS) {
        // these read their second (and third) sources; the others ignore any
    } else {
        srcs[1] = NULL;
        srcs[2] = NULL;
    }
    if (node->op == GGML_OP_CPY) srcs[1] = NULL; // the destination is the node itself (a view of src1)
    if (node->op == GGML_OP_GLU && srcs[1] == NULL) srcs[1] = srcs[0]; // value and gate in one tensor
    if (node->op == GGML_OP_SET_ROWS) srcs[2] = NULL; // the destination: the node itself is a view of it
    uint32_t * offs[3] = { &ds->pc.a_off, &ds->pc.b_off, &ds->pc.c_off };
    VkBuffer dst_buf;
    if (!vk_bind(d, node, node_i, node, &dst_buf, &ds->pc.d_off, &ds->write)) return false;
    for (int i = 0; i < VK_N_BINDINGS; i++) ds->bufs[i] = dst_buf; // unused bindings still need a buffer
    for (int i = 0; i < 3; i++) {
        if (srcs[i] == NULL) continue;
        if (!vk_bind(d, node, node_i, srcs[i], &ds->bufs[i], offs[i], &ds->reads[ds->n_reads])) return false;
        ds->n_reads++;
    }

    const struct ggml_tensor * a = node->src[0];
    const struct ggml_tensor * b = node->src[1];
    vk_shape(ds->pc.d_ne, ds->pc.d_nb, node);
    if (a) vk_shape(ds->pc.a_ne, ds->pc.a_nb, a);
    uint64_t n_elem = (uint64_t) ggml_nelements(node);
    // element-wise shaders: x over the elements of a row (256 per workgroup), y over the rows
    uint32_t row_groups_x = vk_groups(d, 0, ((uint64_t) node->ne[0] + 255) / 256);
    uint32_t row_groups_y = vk_groups(d, 1, (uint64_t) ggml_nrows(node));

    switch (node->op) {
        case GGML_OP_ADD:
        case GGML_OP_SUB:
        case GGML_OP_MUL:
        case GGML_OP_DIV:
            ds->pipe = VK_PIPE_BINARY;
            vk_shape(ds->pc.b_ne, ds->pc.b_nb, b);
            ds->pc.op = node->op == GGML_OP_ADD ? 0 : node->op == GGML_OP_SUB ? 1 : node->op == GGML_OP_MUL ? 2 : 3;
            ds->groups[0] = row_groups_x;
            ds->groups[1] = row_groups_y;
            break;
        case GGML_OP_SCALE:
        case GGML_OP_SQR:
        case GGML_OP_SQRT:
        case GGML_OP_LOG:
        case GGML_OP_DIAG_MASK_INF:
        case GGML_OP_DIAG_MASK_ZERO:
        case GGML_OP_UNARY:
            ds->pipe = VK_PIPE_UNARY;
            switch (node->op) {
                case GGML_OP_SCALE:
                    ds->pc.op = VK_UNARY_SCALE;
                    ds->pc.f0 = vk_param_f32(node, 0);
                    ds->pc.f1 = vk_param_f32(node, 1);
                    break;
                case GGML_OP_SQR:  ds->pc.op = VK_UNARY_SQR;  break;
                case GGML_OP_SQRT: ds->pc.op = VK_UNARY_SQRT; break;
                case GGML_OP_LOG:  ds->pc.op = VK_UNARY_LOG;  break;
                case GGML_OP_DIAG_MASK_INF:
                case GGML_OP_DIAG_MASK_ZERO:
                    ds->pc.op = node->op == GGML_OP_DIAG_MASK_INF ? VK_UNARY_DIAG_MASK_INF : VK_UNARY_DIAG_MASK_ZERO;
                    ds->pc.b_off = (uint32_t) node->op_params[0];
                    break;
                default:
                    ds->pc.op = (uint32_t) vk_unary_code((enum ggml_unary_op) node->op_params[0]);
                    break;
            }
            ds->groups[0] = row_groups_x;
            ds->groups[1] = row_groups_y;
            break;
        case GGML_OP_SET_ROWS:
            ds->pipe = node->type == GGML_TYPE_F16 ? VK_PIPE_SET_ROWS_F16 : VK_PIPE_SET_ROWS_F32;
            vk_shape(ds->pc.b_ne, ds->pc.b_nb, b);
            ds->pc.op = b->type == GGML_TYPE_I64 ? 1 : 0;
            ds->groups[0] = vk_groups(d, 0, ((uint64_t) a->ne[0] + 255) / 256);
            ds->groups[1] = vk_groups(d, 1, (uint64_t) ggml_nrows(a));
            break;
        case GGML_OP_GLU:
            ds->pipe = VK_PIPE_GLU;
            ds->pc.op = (uint32_t) node->op_params[0];
            ds->pc.f0 = vk_param_f32(node, 2);
            ds->pc.f1 = vk_param_f32(node, 3);
            if (b != NULL) {
                vk_shape(ds->pc.b_ne, ds->pc.b_nb, b);
            } else {
                // the gate is the other half of each row of a (the value's half when swapped)
                vk_shape(ds->pc.b_ne, ds->pc.b_nb, a);
                const uint32_t half = (uint32_t) node->ne[0] * ds->pc.a_nb[0];
                if (node->op_params[1] != 0) {
                    ds->pc.b_off = ds->pc.a_off;
                    ds->pc.a_off += half;
                } else {
                    ds->pc.b_off = ds->pc.a_off + half;
                }
            }
            ds->groups[0] = row_groups_x;
            ds->groups[1] = row_groups_y;
            break;
        case GGML_OP_NORM:
        case GGML_OP_RMS_NORM:
            ds->pipe = VK_PIPE_NORM;
            ds->pc.op = node->op == GGML_OP_RMS_NORM ? 1 : 0;
            ds->pc.f0 = vk_param_f32(node, 0);
            ds->groups[0] = vk_groups(d, 0, (uint64_t) ggml_nrows(a));
            break;
        case GGML_OP_SOFT_MAX:
            ds->pipe = b != NULL && b->type == GGML_TYPE_F16 ? VK_PIPE_SOFT_MAX_F16 : VK_PIPE_SOFT_MAX_F32;
            if (b != NULL) vk_shape(ds->pc.b_ne, ds->pc.b_nb, b);
            ds->pc.op = b != NULL;
            ds->pc.f0 = vk_param_f32(node, 0);
            ds->pc.f1 = vk_param_f32(node, 1);
            ds->groups[0] = vk_groups(d, 0, (uint64_t) ggml_nrows(a));
            break;
        case GGML_OP_MUL_MAT: {
            vk_shape(ds->pc.b_ne, ds->pc.b_nb, b);
            bool f16 = a->type == GGML_TYPE_F16;
            uint64_t batch = (uint64_t) (node->ne[2] * node->ne[3]);
            if (ggml_is_quantized(a->type)) {
                ds->pipe = a->type == GGML_TYPE_Q4_0 ? VK_PIPE_MUL_MAT_Q4_0 : VK_PIPE_MUL_MAT_Q8_0;
                ds->groups[0] = vk_groups(d, 0, (uint64_t) (node->ne[0] + 63) / 64);
                ds->groups[1] = vk_groups(d, 1, batch);
            } else if (node->ne[1] <= 2 && d->mv_workgroup) {
                ds->pipe = f16 ? VK_PIPE_MUL_MV_WG_F16 : VK_PIPE_MUL_MV_WG_F32;
                ds->groups[0] = vk_groups(d, 0, (uint64_t) node->ne[0]);
                ds->groups[1] = vk_groups(d, 1, batch);
            } else if (node->ne[1] <= 2) {
                ds->pipe = f16 ? VK_PIPE_MUL_MV_F16 : VK_PIPE_MUL_MV_F32;
                ds->groups[0] = vk_groups(d, 0, (uint64_t) (node->ne[0] + 63) / 64);
                ds->groups[1] = vk_groups(d, 1, batch);
            } else {
                ds->pipe = f16 ? VK_PIPE_MUL_MAT_F16 : VK_PIPE_MUL_MAT_F32;
                ds->groups[0] = vk_groups(d, 0, (uint64_t) (node->ne[0] + 63) / 64);
                ds->groups[1] = vk_groups(d, 1, (uint64_t) (node->ne[1] + 63) / 64);
                ds->groups[2] = vk_groups(d, 2, batch);
            }
            break;
        }
        case GGML_OP_CPY:
        case GGML_OP_CONT:
        case GGML_OP_DUP: {
            bool af16 = a->type == GGML_TYPE_F16;
            bool df16 = node->type == GGML_TYPE_F16;
            ds->pipe = af16 ? (df16 ? VK_PIPE_CPY_F16_F16 : VK_PIPE_CPY_F16_F32)
                            : (df16 ? VK_PIPE_CPY_F32_F16 : VK_PIPE_CPY_F32_F32);
            // short rows (a transposed vector) would leave most of each workgroup idle
            if (ggml_are_same_shape(a, node) && node->ne[0] >= 32) {
                ds->pc.op = 0;
                ds->groups[0] = row_groups_x;
                ds->groups[1] = row_groups_y;
            } else {
                ds->pc.op = 1;
                ds->groups[0] = vk_groups(d, 0, (n_elem + 255) / 256);
            }
            break;
        }
        case GGML_OP_GET_ROWS:
            ds->pipe = a->type == GGML_TYPE_Q4_0 ? VK_PIPE_GET_ROWS_Q4_0 : a->type == GGML_TYPE_Q8_0 ? VK_PIPE_GET_ROWS_Q8_0 :
                       a->type == GGML_TYPE_F16 ? VK_PIPE_GET_ROWS_F16 : VK_PIPE_GET_ROWS_F32;
            vk_shape(ds->pc.b_ne, ds->pc.b_nb, b);
            ds->groups[0] = row_groups_x;
            ds->groups[1] = row_groups_y;
            break;
        case GGML_OP_ROPE: {
            const int n_dims     = node->op_params[1];
            const int mode       = node->op_params[2];
            const int n_ctx_orig = node->op_params[4];
            const float freq_base   = vk_param_f32(node, 5);
            const float freq_scale  = vk_param_f32(node, 6);
            const float ext_factor  = vk_param_f32(node, 7);
            const float attn_factor = vk_param_f32(node, 8);
            const float beta_fast   = vk_param_f32(node, 9);
            const float beta_slow   = vk_param_f32(node, 10);
            float corr[2];
            vk_rope_corr_dims(n_dims, n_ctx_orig, freq_base, beta_fast, beta_slow, corr);
            ds->pipe = VK_PIPE_ROPE;
            ds->pc.b_ne[0] = vk_u32_of_f32(powf(freq_base, -2.0f / (float) n_dims));
            ds->pc.b_ne[1] = vk_u32_of_f32(freq_scale);
            ds->pc.b_ne[2] = vk_u32_of_f32(ext_factor);
            ds->pc.b_ne[3] = vk_u32_of_f32(attn_factor);
            ds->pc.b_nb[0] = vk_u32_of_f32(corr[0]);
            ds->pc.b_nb[1] = vk_u32_of_f32(corr[1]);
            ds->pc.b_nb[2] = (uint32_t) n_dims;
            ds->pc.b_nb[3] = (mode & GGML_ROPE_TYPE_NEOX) ? 1 : 0;
            ds->pc.op = node->src[2] != NULL;
            ds->groups[0] = vk_groups(d, 0, ((uint64_t) node->ne[0] / 2 + 255) / 256);
            ds->groups[1] = row_groups_y;
            break;
        }
        default:
            GGML_LOG_ERROR("Vulkan: graph node %d '%s' (%s): no shader for this op\n", node_i, node->name, ggml_op_desc(node));
            return false;
    }
    if (ds->groups[1] == 0) ds->groups[1] = 1;
    if (ds->groups[2] == 0) ds->groups[2] = 1;
    return true;
}

//
// pipelines and descriptors
//

static bool vk_pipeline_ready(struct vk_device * d, enum vk_pipe p) {
    if (d->pipes[p] != VK_NULL_HANDLE) return true;
    size_t size = 0;
    const uint32_t * code = ggalloc_vk_shader_find(vk_pipe_names[p], &size);
    if (code == NULL) {
        GGML_LOG_ERROR("Vulkan: shader '%s' is missing from this build\n", vk_pipe_names[p]);
        return false;
    }
    VkShaderModuleCreateInfo smci = { .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = size, .pCode = code };
    VkShaderModule module;
    VkResult r = vkCreateShaderModule(d->dev, &smci, NULL, &module);
    if (r == VK_SUCCESS) {
        VkComputePipelineCreateInfo cpci = {
            .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
            .stage = {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
            },
            .layout = d->pipeline_layout,
        };
        r = vkCreateComputePipelines(d->dev, VK_NULL_HANDLE, 1, &cpci, NULL, &d->pipes[p]);
        vkDestroyShaderModule(d->dev, module, NULL);
    }
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: cannot create the '%s' pipeline on %s: %s\n", vk_pipe_names[p], d->name, ggalloc_vk_result_str(r));
        d->pipes[p] = VK_NULL_HANDLE;
        return false;
    }
    return true;
}

void ggalloc_vk_pipelines_free(struct vk_device * d) {
    for (int p = 0; p < VK_PIPE_COUNT; p++) {
        if (d->pipes[p] != VK_NULL_HANDLE) vkDestroyPipeline(d->dev, d->pipes[p], NULL);
        d->pipes[p] = VK_NULL_HANDLE;
    }
}

// n descriptor sets from the device's pool, which is reset (or grown) first.
static bool vk_descriptor_sets(struct vk_device * d, uint32_t n, VkDescriptorSet * sets) {
    VkResult r;
    if (d->desc_pool != VK_NULL_HANDLE && d->desc_pool_sets >= n) {
        r = vkResetDescriptorPool(d->dev, d->desc_pool, 0);
    } else {
        if (d->desc_pool != VK_NULL_HANDLE) vkDestroyDescriptorPool(d->dev, d->desc_pool, NULL);
        d->desc_pool = VK_NULL_HANDLE;
        uint32_t cap = d->desc_pool_sets * 2 > n ? d->desc_pool_sets * 2 : n;
        if (cap < 64) cap = 64;
        VkDescriptorPoolSize ps = { .type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = cap * VK_N_BINDINGS };
        VkDescriptorPoolCreateInfo dpci = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
            .maxSets = cap,
            .poolSizeCount = 1,
            .pPoolSizes = &ps,
        };
        r = vkCreateDescriptorPool(d->dev, &dpci, NULL, &d->desc_pool);
        d->desc_pool_sets = r == VK_SUCCESS ? cap : 0;
        if (r != VK_SUCCESS) d->desc_pool = VK_NULL_HANDLE;
    }
    if (r == VK_SUCCESS) {
        VkDescriptorSetLayout * layouts = malloc(n * sizeof(*layouts));
        if (layouts == NULL) {
            GGML_LOG_ERROR("Vulkan: out of host memory for %u descriptor sets\n", n);
            return false;
        }
        for (uint32_t i = 0; i < n; i++) layouts[i] = d->dsl;
        VkDescriptorSetAllocateInfo dsai = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = d->desc_pool,
            .descriptorSetCount = n,
            .pSetLayouts = layouts,
        };
        r = vkAllocateDescriptorSets(d->dev, &dsai, sets);
        free(layouts);
    }
    if (r != VK_SUCCESS) {
        GGML_LOG_ERROR("Vulkan: cannot get %u descriptor sets on %s: %s\n", n, d->name, ggalloc_vk_result_str(r));
        return false;
    }
    return true;
}

//
// recording
//

static bool vk_overlaps(const struct vk_range * x, const struct vk_range * y) {
    return x->buf == y->buf && x->lo < y->hi && y->lo < x->hi;
}

static bool vk_hits(const struct vk_range * r, const struct vk_range * list, int n) {
    for (int i = 0; i < n; i++) {
        if (vk_overlaps(r, &list[i])) return true;
    }
    return false;
}

static void vk_compute_barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
                               VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
    VkMemoryBarrier mb = { .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER, .srcAccessMask = src_access, .dstAccessMask = dst_access };
    vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, NULL, 0, NULL);
}

// Records and runs the dispatches. Lock held, device open. *n_barriers counts the barriers
// placed between dispatches.
static bool vk_run(struct vk_device * d, struct vk_dispatch * ds, int n, int * n_barriers) {
    VkDescriptorSet * sets = malloc((size_t) n * sizeof(*sets));
    VkDescriptorBufferInfo * infos = malloc((size_t) n * VK_N_BINDINGS * sizeof(*infos));
    VkWriteDescriptorSet * writes = malloc((size_t) n * VK_N_BINDINGS * sizeof(*writes));
    struct vk_range * reads = malloc((size_t) n * 3 * sizeof(*reads));
    struct vk_range * wrote = malloc((size_t) n * sizeof(*wrote));
    bool ok = sets && infos && writes && reads && wrote;
    if (!ok) GGML_LOG_ERROR("Vulkan: out of host memory for a graph of %d dispatches\n", n);
    for (int i = 0; ok && i < n; i++) ok = vk_pipeline_ready(d, ds[i].pipe);
    ok = ok && vk_descriptor_sets(d, (uint32_t) n, sets);
    if (ok) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < VK_N_BINDINGS; j++) {
                infos[i*VK_N_BINDINGS + j] = (VkDescriptorBufferInfo) { .buffer = ds[i].bufs[j], .offset = 0, .range = VK_WHOLE_SIZE };
                writes[i*VK_N_BINDINGS + j] = (VkWriteDescriptorSet) {
                    .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                    .dstSet = sets[i],
                    .dstBinding = (uint32_t) j,
                    .descriptorCount = 1,
                    .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                    .pBufferInfo = &infos[i*VK_N_BINDINGS + j],
                };
            }
        }
        vkUpdateDescriptorSets(d->dev, (uint32_t) n * VK_N_BINDINGS, writes, 0, NULL);
        ok = ggalloc_vk_cmd_begin(d, "graph compute");
    }
    if (ok) {
        // transfers and host writes before this submission are done; make them visible
        vk_compute_barrier(d->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                           VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                           VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
        int n_reads = 0, n_wrote = 0;
        VkPipeline bound = VK_NULL_HANDLE;
        for (int i = 0; i < n; i++) {
            const struct vk_dispatch * x = &ds[i];
            bool hazard = vk_hits(&x->write, wrote, n_wrote) || vk_hits(&x->write, reads, n_reads);
            for (int k = 0; k < x->n_reads && !hazard; k++) hazard = vk_hits(&x->reads[k], wrote, n_wrote);
            if (hazard) {
                vk_compute_barrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
                n_reads = 0;
                n_wrote = 0;
                (*n_barriers)++;
            }
            for (int k = 0; k < x->n_reads; k++) reads[n_reads++] = x->reads[k];
            wrote[n_wrote++] = x->write;
            if (d->pipes[x->pipe] != bound) {
                bound = d->pipes[x->pipe];
                vkCmdBindPipeline(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, bound);
            }
            vkCmdBindDescriptorSets(d->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline_layout, 0, 1, &sets[i], 0, NULL);
            vkCmdPushConstants(d->cmd, d->pipeline_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(struct vk_push), &x->pc);
            vkCmdDispatch(d->cmd, x->groups[0], x->groups[1], x->groups[2]);
        }
        // results go to transfers (get) and to the host (host-visible buffers)
        vk_compute_barrier(d->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                           VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_HOST_READ_BIT);
        ok = ggalloc_vk_cmd_submit_wait(d, "graph compute");
    }
    free(sets);
    free(infos);
    free(writes);
    free(reads);
    free(wrote);
    return ok;
}

// ggml's rms_norm + mul fusion: an RMS_NORM whose only reader is the next node, a MUL by a row
// broadcast over it, runs as one dispatch that writes the product (the norm itself is never
// stored). Returns the MUL, or NULL when the pair does not fuse.
static struct ggml_tensor * vk_rms_norm_mul(struct vk_device * d, struct ggml_cgraph * graph, int i) {
    struct ggml_tensor * norm = ggml_graph_node(graph, i);
    struct ggml_tensor * mul = ggml_graph_node(graph, i + 1);
    if (norm->op != GGML_OP_RMS_NORM || mul == NULL || mul->op != GGML_OP_MUL || mul->src[0] != norm ||
        (norm->flags & GGML_TENSOR_FLAG_OUTPUT) || !ggalloc_vk_supports_op(d, norm) || !ggalloc_vk_supports_op(d, mul)) {
        return NULL;
    }
    const struct ggml_tensor * w = mul->src[1];
    if (w == norm || w->ne[0] != norm->ne[0]) {
        return NULL;
    }
    for (int j = i + 2; j < ggml_graph_n_nodes(graph); j++) {
        const struct ggml_tensor * t = ggml_graph_node(graph, j);
        if (t->view_src == norm) {
            return NULL;
        }
        for (int s = 0; s < GGML_MAX_SRC; s++) {
            if (t->src[s] == norm) {
                return NULL;
            }
        }
    }
    return mul;
}

static bool vk_prepare_rms_norm_mul(struct vk_device * d, struct ggml_tensor * norm, struct ggml_tensor * mul, int node_i,
        struct vk_dispatch * ds) {
    memset(ds, 0, sizeof(*ds));
    VkBuffer dst_buf;
    if (!vk_bind(d, mul, node_i, mul, &dst_buf, &ds->pc.d_off, &ds->write)) return false;
    for (int i = 0; i < VK_N_BINDINGS; i++) ds->bufs[i] = dst_buf;
    if (!vk_bind(d, mul, node_i, norm->src[0], &ds->bufs[0], &ds->pc.a_off, &ds->reads[ds->n_reads++])) return false;
    if (!vk_bind(d, mul, node_i, mul->src[1], &ds->bufs[1], &ds->pc.b_off, &ds->reads[ds->n_reads++])) return false;
    vk_shape(ds->pc.d_ne, ds->pc.d_nb, mul);
    vk_shape(ds->pc.a_ne, ds->pc.a_nb, norm->src[0]);
    vk_shape(ds->pc.b_ne, ds->pc.b_nb, mul->src[1]);
    ds->pipe = VK_PIPE_NORM;
    ds->pc.op = 2;
    ds->pc.f0 = vk_param_f32(norm, 0);
    ds->groups[0] = vk_groups(d, 0, (uint64_t) ggml_nrows(norm));
    ds->groups[1] = 1;
    ds->groups[2] = 1;
    return true;
}

static int vk_last_barriers = 0;
static int vk_last_dispatches = 0;

int ggalloc_vk_last_graph_dispatches(void) {
    return vk_last_dispatches;
}

int ggalloc_vk_last_graph_barriers(void) {
    return vk_last_barriers;
}

enum ggml_status ggalloc_vk_graph_compute(struct vk_device * d, struct ggml_cgraph * graph) {
    int n_nodes = ggml_graph_n_nodes(graph);
    struct vk_dispatch * ds = malloc((size_t) (n_nodes > 0 ? n_nodes : 1) * sizeof(*ds));
    if (ds == NULL) {
        GGML_LOG_ERROR("Vulkan: out of host memory for a graph of %d nodes\n", n_nodes);
        return GGML_STATUS_ALLOC_FAILED;
    }
    int n = 0;
    for (int i = 0; i < n_nodes; i++) {
        struct ggml_tensor * node = ggml_graph_node(graph, i);
        if (vk_is_noop(node) || ggml_is_empty(node)) continue;
        if (!ggalloc_vk_supports_op(d, node)) {
            GGML_LOG_ERROR("Vulkan: graph node %d '%s' (%s, %s from %s%s%s): device %s has no shader for it\n", i, node->name,
                           ggml_op_desc(node), ggml_type_name(node->type),
                           node->src[0] ? ggml_type_name(node->src[0]->type) : "-",
                           node->src[1] ? ", " : "", node->src[1] ? ggml_type_name(node->src[1]->type) : "", d->name);
            free(ds);
            return GGML_STATUS_FAILED;
        }
        struct ggml_tensor * mul = vk_rms_norm_mul(d, graph, i);
        if (mul != NULL) {
            if (!vk_prepare_rms_norm_mul(d, node, mul, i + 1, &ds[n])) {
                free(ds);
                return GGML_STATUS_FAILED;
            }
            n++;
            i++;
            continue;
        }
        if (!vk_prepare(d, node, i, &ds[n])) {
            free(ds);
            return GGML_STATUS_FAILED;
        }
        n++;
    }
    vk_last_dispatches = n;
    enum ggml_status st = GGML_STATUS_SUCCESS;
    if (n > 0) {
        pthread_mutex_lock(&d->lock);
        int barriers = 0;
        if (!ggalloc_vk_device_open(d) || !vk_run(d, ds, n, &barriers)) st = GGML_STATUS_FAILED;
        vk_last_barriers = barriers;
        pthread_mutex_unlock(&d->lock);
    }
    free(ds);
    return st;
}
