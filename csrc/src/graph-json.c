// graph-json.c — computation graphs as ggalloc.graph/1 documents (docs: graph-format.md).
//
// Loading trusts nothing and builds nothing until the whole document is known to be good, so a
// rejected document costs one error message and no half-built context. It goes in passes:
//
//   1. parse the text (json.c): syntax errors carry line:column;
//   2. read every tensor on its own: known fields only, id equal to its index, type/op/unary
//      names looked up through ggml_type_name / ggml_op_name / ggml_unary_op_name over the whole
//      enums (so any type or op the library knows is accepted under ggml's name), exactly four
//      ne and nb, strides that never split an element, a byte size that neither overflows nor
//      disagrees with "nbytes", op_params that fit, src ids in range and as many as the op
//      takes, known flags;
//   3. check what relates tensors: a view lies inside its source's bytes, and there is no cycle
//      through src and view_src. The cycle check is a depth-first search with an explicit stack
//      (a chain of a million views must not exhaust the C stack): grey tensors are on the
//      current path, and an edge to a grey tensor closes a cycle. O(tensors + edges);
//   4. read nodes and leafs: ids in range, each tensor listed at most once in either;
//   5. build: one no_alloc context sized for exactly these tensors and the graph, tensors made
//      with ggml_new_tensor and their fields set as the document says, then nodes and leafs
//      appended in the document's order. The order is taken as given, not rebuilt by
//      ggml_build_forward_expand: the file is the truth about the graph it describes.
//
// Every message names the file, the line:column of the offending value, the tensor (id and
// name) and the field, so that a person can go straight to it.
//
// Saving numbers the tensors reachable from the graph: leafs in order, then nodes in order,
// then whatever else is reached through src and view_src, breadth first. That is a function of
// the graph alone, so load -> save is byte-stable from the second round on (and a shared graph
// dumped from ggml, numbered the same way, comes back byte for byte but for its "source"). A
// pointer hash map gives each tensor its id in O(1). The text is built in memory first, so a
// graph that cannot be written (an unknown type, a tensor listed twice) never touches the file.

#include "ggalloc-graph.h"
#include "ggml-backend.h"
#include "json.h"
#include "ptrmap.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GJ_FORMAT     "ggalloc.graph/1"
#define GJ_MAX_PARAMS ((int) (GGML_MAX_OP_PARAMS / sizeof(int32_t)))

//
// How many sources each op takes (ggml's ops build them so). An op missing from the table
// takes any number, so a newly added op is not rejected before the table learns it.
//

struct gj_arity {
    int8_t min;   // the first min slots must be set
    int8_t max;   // no source beyond slot max-1
    bool   known;
};

#define GJ_ARITY(lo, hi) { (lo), (hi), true }

static const struct gj_arity gj_op_arity[GGML_OP_COUNT] = {
    [GGML_OP_NONE]               = GJ_ARITY(0, 0),
    [GGML_OP_DUP]                = GJ_ARITY(1, 1),
    [GGML_OP_ADD]                = GJ_ARITY(2, 2),
    [GGML_OP_ADD_ID]             = GJ_ARITY(3, 3),
    [GGML_OP_ADD1]               = GJ_ARITY(2, 2),
    [GGML_OP_ACC]                = GJ_ARITY(2, 2),
    [GGML_OP_SUB]                = GJ_ARITY(2, 2),
    [GGML_OP_MUL]                = GJ_ARITY(2, 2),
    [GGML_OP_DIV]                = GJ_ARITY(2, 2),
    [GGML_OP_SQR]                = GJ_ARITY(1, 1),
    [GGML_OP_SQRT]               = GJ_ARITY(1, 1),
    [GGML_OP_LOG]                = GJ_ARITY(1, 1),
    [GGML_OP_SIN]                = GJ_ARITY(1, 1),
    [GGML_OP_COS]                = GJ_ARITY(1, 1),
    [GGML_OP_SUM]                = GJ_ARITY(1, 1),
    [GGML_OP_SUM_ROWS]           = GJ_ARITY(1, 1),
    [GGML_OP_CUMSUM]             = GJ_ARITY(1, 1),
    [GGML_OP_MEAN]               = GJ_ARITY(1, 1),
    [GGML_OP_ARGMAX]             = GJ_ARITY(1, 1),
    [GGML_OP_COUNT_EQUAL]        = GJ_ARITY(2, 2),
    [GGML_OP_REPEAT]             = GJ_ARITY(1, 2),
    [GGML_OP_REPEAT_BACK]        = GJ_ARITY(1, 1),
    [GGML_OP_CONCAT]             = GJ_ARITY(2, 2),
    [GGML_OP_SILU_BACK]          = GJ_ARITY(2, 2),
    [GGML_OP_NORM]               = GJ_ARITY(1, 1),
    [GGML_OP_RMS_NORM]           = GJ_ARITY(1, 1),
    [GGML_OP_RMS_NORM_BACK]      = GJ_ARITY(2, 2),
    [GGML_OP_GROUP_NORM]         = GJ_ARITY(1, 1),
    [GGML_OP_L2_NORM]            = GJ_ARITY(1, 1),
    [GGML_OP_MUL_MAT]            = GJ_ARITY(2, 2),
    [GGML_OP_MUL_MAT_ID]         = GJ_ARITY(3, 3),
    [GGML_OP_OUT_PROD]           = GJ_ARITY(2, 2),
    [GGML_OP_SCALE]              = GJ_ARITY(1, 1),
    [GGML_OP_SET]                = GJ_ARITY(2, 2),
    [GGML_OP_CPY]                = GJ_ARITY(2, 2),
    [GGML_OP_CONT]               = GJ_ARITY(1, 1),
    [GGML_OP_RESHAPE]            = GJ_ARITY(1, 1),
    [GGML_OP_VIEW]               = GJ_ARITY(1, 1),
    [GGML_OP_PERMUTE]            = GJ_ARITY(1, 1),
    [GGML_OP_TRANSPOSE]          = GJ_ARITY(1, 1),
    [GGML_OP_GET_ROWS]           = GJ_ARITY(2, 2),
    [GGML_OP_SET_ROWS]           = GJ_ARITY(2, 3), // ggml also records the destination as src[2]
    [GGML_OP_DIAG]               = GJ_ARITY(1, 1),
    [GGML_OP_DIAG_MASK_INF]      = GJ_ARITY(1, 1),
    [GGML_OP_DIAG_MASK_ZERO]     = GJ_ARITY(1, 1),
    [GGML_OP_SOFT_MAX]           = GJ_ARITY(1, 3), // mask and sinks are optional
    [GGML_OP_ROPE]               = GJ_ARITY(2, 3), // frequency factors are optional
    [GGML_OP_CLAMP]              = GJ_ARITY(1, 1),
    [GGML_OP_CONV_TRANSPOSE_1D]  = GJ_ARITY(2, 2),
    [GGML_OP_IM2COL]             = GJ_ARITY(2, 2),
    [GGML_OP_IM2COL_3D]          = GJ_ARITY(2, 2),
    [GGML_OP_CONV_2D]            = GJ_ARITY(2, 2),
    [GGML_OP_CONV_3D]            = GJ_ARITY(2, 2),
    [GGML_OP_CONV_2D_DW]         = GJ_ARITY(2, 2),
    [GGML_OP_CONV_TRANSPOSE_2D]  = GJ_ARITY(2, 2),
    [GGML_OP_POOL_1D]            = GJ_ARITY(1, 1),
    [GGML_OP_POOL_2D]            = GJ_ARITY(1, 1),
    [GGML_OP_UPSCALE]            = GJ_ARITY(1, 1),
    [GGML_OP_PAD]                = GJ_ARITY(1, 1),
    [GGML_OP_PAD_REFLECT_1D]     = GJ_ARITY(1, 1),
    [GGML_OP_ROLL]               = GJ_ARITY(1, 1),
    [GGML_OP_ARANGE]             = GJ_ARITY(0, 0),
    [GGML_OP_TIMESTEP_EMBEDDING] = GJ_ARITY(1, 1),
    [GGML_OP_ARGSORT]            = GJ_ARITY(1, 1),
    [GGML_OP_TOP_K]              = GJ_ARITY(1, 1),
    [GGML_OP_LEAKY_RELU]         = GJ_ARITY(1, 1),
    [GGML_OP_TRI]                = GJ_ARITY(1, 1),
    [GGML_OP_FILL]               = GJ_ARITY(1, 1),
    [GGML_OP_FLASH_ATTN_EXT]     = GJ_ARITY(3, 5), // mask and sinks are optional
    [GGML_OP_WIN_PART]           = GJ_ARITY(1, 1),
    [GGML_OP_WIN_UNPART]         = GJ_ARITY(1, 1),
    [GGML_OP_GET_REL_POS]        = GJ_ARITY(1, 1),
    [GGML_OP_ADD_REL_POS]        = GJ_ARITY(3, 3),
    [GGML_OP_UNARY]              = GJ_ARITY(1, 1),
    [GGML_OP_MAP_CUSTOM1]        = GJ_ARITY(1, 1),
    [GGML_OP_MAP_CUSTOM2]        = GJ_ARITY(2, 2),
    [GGML_OP_MAP_CUSTOM3]        = GJ_ARITY(3, 3),
    [GGML_OP_GLU]                = GJ_ARITY(1, 2), // the gate is optional (taken from the second half of a)
};

static const char * const gj_flag_names[] = { "input", "output", "param", "loss" };
static const int32_t      gj_flag_bits[]  = {
    GGML_TENSOR_FLAG_INPUT, GGML_TENSOR_FLAG_OUTPUT, GGML_TENSOR_FLAG_PARAM, GGML_TENSOR_FLAG_LOSS,
};
#define GJ_N_FLAGS ((int) (sizeof(gj_flag_names) / sizeof(gj_flag_names[0])))

//
// Loading
//

// One tensor as the document describes it, checked field by field.
struct gj_tensor {
    const struct json_value * obj;
    const char *   name;          // NULL until read
    enum ggml_type type;
    int64_t        ne[GGML_MAX_DIMS];
    size_t         nb[GGML_MAX_DIMS];
    enum ggml_op   op;
    int32_t        op_params[GJ_MAX_PARAMS];
    int            n_src;
    int            src[GGML_MAX_SRC]; // -1: an empty slot
    int            view_src;          // -1: not a view
    size_t         view_offs;
    int32_t        flags;
    bool           external;
    size_t         nbytes;
    int            ndim;              // -1: the document does not say
};

struct gj_loader {
    const char *            label;   // the path, or "graph.json" for a string
    const struct json_doc * doc;
    struct gj_tensor *      tensors;
    int                     n_tensors;
    int *                   nodes;
    int                     n_nodes;
    int *                   leafs;
    int                     n_leafs;
    int *                   node_buffer_ids; // NULL: none in the document
    int *                   leaf_buffer_ids;
};

// The "ndim" of each tensor in id order (the order gj_build creates them in), -1 where the
// document gives none; NULL when out of memory.
static int * gj_ndims(const struct gj_loader * L) {
    int * out = malloc((size_t) (L->n_tensors > 0 ? L->n_tensors : 1) * sizeof(int));
    if (out != NULL) {
        for (int i = 0; i < L->n_tensors; i++) {
            out[i] = L->tensors[i].ndim;
        }
    }
    return out;
}

// Logs the one error of a rejected document: where, which tensor (id < 0: none), what.
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void gj_error(const struct gj_loader * L, const struct json_value * at, int id, const char * fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);

    char where[64] = "";
    if (at != NULL && L->doc != NULL) {
        int line, column;
        ggalloc_json_doc_position(L->doc, at->pos, &line, &column);
        snprintf(where, sizeof(where), ":%d:%d", line, column);
    }
    if (id >= 0 && id < L->n_tensors && L->tensors != NULL && L->tensors[id].name != NULL) {
        char name[GGML_MAX_NAME + 4];
        GGML_LOG_ERROR("%s%s: tensor %d \"%s\": %s\n", L->label, where, id,
                       ggalloc_json_show(L->tensors[id].name, name, sizeof(name)), what);
    } else if (id >= 0) {
        GGML_LOG_ERROR("%s%s: tensor %d: %s\n", L->label, where, id, what);
    } else {
        GGML_LOG_ERROR("%s%s: %s\n", L->label, where, what);
    }
}

// Fields a tensor may have: "unary" only for UNARY, every other one always.
static const char * const gj_tensor_fields[] = {
    "id", "name", "type", "ne", "nb", "op", "unary", "op_params", "src", "view_src", "view_offs",
    "flags", "external", "nbytes", "ndim",
};
static const char * const gj_doc_fields[] = {
    "format", "name", "source", "tensors", "nodes", "leafs", "node_buffer_ids", "leaf_buffer_ids",
};

static bool gj_known_fields(const struct gj_loader * L, const struct json_value * obj, int id,
        const char * const * names, size_t n_names) {
    for (size_t k = 0; k < obj->u.obj.n; k++) {
        const struct json_member * m = &obj->u.obj.members[k];
        bool known = false;
        for (size_t j = 0; j < n_names && !known; j++) {
            known = strlen(names[j]) == m->key_len && memcmp(names[j], m->key, m->key_len) == 0;
        }
        if (!known) {
            char shown[64];
            gj_error(L, m->value, id, "unknown field \"%s\"", ggalloc_json_show(m->key, shown, sizeof(shown)));
            return false;
        }
    }
    return true;
}

static const struct json_value * gj_field(const struct gj_loader * L, const struct json_value * obj, int id, const char * key) {
    const struct json_value * v = ggalloc_json_object_get(obj, key);
    if (v == NULL) {
        gj_error(L, obj, id, "missing field \"%s\"", key);
    }
    return v;
}

static bool gj_expect(const struct gj_loader * L, const struct json_value * v, int id, const char * field, enum json_type type) {
    if (v->type != type) {
        gj_error(L, v, id, "%s: expected %s %s, found %s", field,
                 type == JSON_INT || type == JSON_ARRAY || type == JSON_OBJECT ? "an" : "a",
                 ggalloc_json_type_name(type), ggalloc_json_type_name(v->type));
        return false;
    }
    return true;
}

static bool gj_int(const struct gj_loader * L, const struct json_value * v, int id, const char * field,
        int64_t lo, int64_t hi, int64_t * out) {
    if (!gj_expect(L, v, id, field, JSON_INT)) {
        return false;
    }
    if (v->u.i < lo || v->u.i > hi) {
        gj_error(L, v, id, "%s: %" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", field, v->u.i, lo, hi);
        return false;
    }
    *out = v->u.i;
    return true;
}

// A tensor id in src / view_src: in range of the document's tensors.
static bool gj_ref(const struct gj_loader * L, const struct json_value * v, int id, const char * field, int * out) {
    if (!gj_expect(L, v, id, field, JSON_INT)) {
        return false;
    }
    if (v->u.i < 0 || v->u.i >= L->n_tensors) {
        gj_error(L, v, id, "%s = %" PRId64 " is out of range (the document has %d tensors)", field, v->u.i, L->n_tensors);
        return false;
    }
    *out = (int) v->u.i;
    return true;
}

// Whether a JSON string is exactly name (a NUL inside it must not end the comparison early).
static bool gj_str_is(const struct json_value * v, const char * name) {
    return name != NULL && strlen(name) == v->u.str.len && memcmp(v->u.str.s, name, v->u.str.len) == 0;
}

static int gj_lookup_type(const struct json_value * v) {
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        const char * name = ggml_type_name((enum ggml_type) t);
        if (gj_str_is(v, name) && ggml_type_size((enum ggml_type) t) > 0 && ggml_blck_size((enum ggml_type) t) > 0) {
            return t;
        }
    }
    return -1;
}

static int gj_lookup_op(const struct json_value * v) {
    for (int o = 0; o < GGML_OP_COUNT; o++) {
        if (gj_str_is(v, ggml_op_name((enum ggml_op) o))) {
            return o;
        }
    }
    return -1;
}

static int gj_lookup_unary(const struct json_value * v) {
    for (int u = 0; u < GGML_UNARY_OP_COUNT; u++) {
        if (gj_str_is(v, ggml_unary_op_name((enum ggml_unary_op) u))) {
            return u;
        }
    }
    return -1;
}

static bool gj_mul_ok(uint64_t a, uint64_t b, uint64_t * out) {
    if (a != 0 && b > UINT64_MAX / a) {
        return false;
    }
    *out = a * b;
    return true;
}

// ggml_nbytes of a tensor with these fields, computed so that it cannot overflow; false if it
// exceeds INT64_MAX (no real buffer is that large, and ggml's own arithmetic would wrap).
static bool gj_nbytes(enum ggml_type type, const int64_t * ne, const size_t * nb, size_t * out) {
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        if (ne[d] <= 0) {
            *out = 0;
            return true;
        }
    }
    const uint64_t blck = (uint64_t) ggml_blck_size(type);
    uint64_t total;
    if (blck == 1) {
        total = ggml_type_size(type);
    } else {
        if (!gj_mul_ok((uint64_t) ne[0], nb[0], &total)) {
            return false;
        }
        total /= blck;
    }
    for (int d = blck == 1 ? 0 : 1; d < GGML_MAX_DIMS; d++) {
        uint64_t span;
        if (!gj_mul_ok((uint64_t) (ne[d] - 1), nb[d], &span) || span > UINT64_MAX - total) {
            return false;
        }
        total += span;
    }
    if (total > INT64_MAX) {
        return false;
    }
    *out = (size_t) total;
    return true;
}

static bool gj_read_i64_array4(const struct gj_loader * L, const struct json_value * obj, int id, const char * field, int64_t * out) {
    const struct json_value * v = gj_field(L, obj, id, field);
    if (v == NULL || !gj_expect(L, v, id, field, JSON_ARRAY)) {
        return false;
    }
    if (v->u.arr.n != GGML_MAX_DIMS) {
        gj_error(L, v, id, "%s has %zu entries, expected %d", field, v->u.arr.n, GGML_MAX_DIMS);
        return false;
    }
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        char f[32];
        snprintf(f, sizeof(f), "%s[%d]", field, d);
        if (!gj_int(L, v->u.arr.items[d], id, f, 0, INT64_MAX, &out[d])) {
            return false;
        }
    }
    return true;
}

static bool gj_read_tensor(struct gj_loader * L, int id) {
    struct gj_tensor * t = &L->tensors[id];
    const struct json_value * obj = t->obj;
    char shown[48];
    if (!gj_expect(L, obj, id, "tensors[]", JSON_OBJECT)) {
        return false;
    }

    // the name first, so that every later message can show it
    const struct json_value * v = gj_field(L, obj, id, "name");
    if (v == NULL || !gj_expect(L, v, id, "name", JSON_STRING)) {
        return false;
    }
    if (strlen(v->u.str.s) != v->u.str.len) {
        gj_error(L, v, id, "name contains a NUL character");
        return false;
    }
    if (v->u.str.len >= GGML_MAX_NAME) {
        gj_error(L, v, id, "name of %zu bytes is longer than %d", v->u.str.len, GGML_MAX_NAME - 1);
        return false;
    }
    t->name = v->u.str.s;

    if (!gj_known_fields(L, obj, id, gj_tensor_fields, sizeof(gj_tensor_fields) / sizeof(gj_tensor_fields[0]))) {
        return false;
    }

    int64_t x;
    if ((v = gj_field(L, obj, id, "id")) == NULL || !gj_expect(L, v, id, "id", JSON_INT)) {
        return false;
    }
    if (v->u.i != id) {
        gj_error(L, v, id, "id %" PRId64 " is not its index %d in \"tensors\"", v->u.i, id);
        return false;
    }

    // type
    if ((v = gj_field(L, obj, id, "type")) == NULL || !gj_expect(L, v, id, "type", JSON_STRING)) {
        return false;
    }
    int type = gj_lookup_type(v);
    if (type < 0) {
        gj_error(L, v, id, "unknown type \"%s\"", ggalloc_json_show(v->u.str.s, shown, sizeof(shown)));
        return false;
    }
    t->type = (enum ggml_type) type;

    // op and its unary op
    if ((v = gj_field(L, obj, id, "op")) == NULL || !gj_expect(L, v, id, "op", JSON_STRING)) {
        return false;
    }
    int op = gj_lookup_op(v);
    if (op < 0) {
        gj_error(L, v, id, "unknown op \"%s\"", ggalloc_json_show(v->u.str.s, shown, sizeof(shown)));
        return false;
    }
    t->op = (enum ggml_op) op;
    int unary = -1;
    const struct json_value * vu = ggalloc_json_object_get(obj, "unary");
    if (t->op == GGML_OP_UNARY) {
        if ((vu = gj_field(L, obj, id, "unary")) == NULL || !gj_expect(L, vu, id, "unary", JSON_STRING)) {
            return false;
        }
        unary = gj_lookup_unary(vu);
        if (unary < 0) {
            gj_error(L, vu, id, "unknown unary op \"%s\"", ggalloc_json_show(vu->u.str.s, shown, sizeof(shown)));
            return false;
        }
    } else if (vu != NULL) {
        gj_error(L, vu, id, "field \"unary\" is only for op UNARY, not %s", ggml_op_name(t->op));
        return false;
    }

    // shape and strides
    int64_t nb[GGML_MAX_DIMS];
    if (!gj_read_i64_array4(L, obj, id, "ne", t->ne) || !gj_read_i64_array4(L, obj, id, "nb", nb)) {
        return false;
    }
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        t->nb[d] = (size_t) nb[d];
    }
    const int64_t blck = ggml_blck_size(t->type);
    if (t->ne[0] % blck != 0) {
        gj_error(L, ggalloc_json_object_get(obj, "ne"), id, "ne[0] = %" PRId64 " is not a multiple of the block size %" PRId64 " of type %s",
                 t->ne[0], blck, ggml_type_name(t->type));
        return false;
    }
    {
        // the tensor as ggml_new_tensor makes it (contiguous) must have a byte size and an
        // element count that fit too
        uint64_t n, elements = (uint64_t) t->ne[0];
        bool fits = gj_mul_ok(ggml_type_size(t->type), (uint64_t) (t->ne[0] / blck), &n);
        for (int d = 1; d < GGML_MAX_DIMS && fits; d++) {
            fits = gj_mul_ok(n, (uint64_t) t->ne[d], &n) && gj_mul_ok(elements, (uint64_t) t->ne[d], &elements);
        }
        if (!fits || n > INT64_MAX || elements > INT64_MAX) {
            gj_error(L, ggalloc_json_object_get(obj, "ne"), id, "ne [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] of type %s is too large",
                     t->ne[0], t->ne[1], t->ne[2], t->ne[3], ggml_type_name(t->type));
            return false;
        }
    }
    // strides may overlap rows (a sliding-window view does), but never split an element
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        if (t->ne[d] > 1 && t->nb[d] < ggml_type_size(t->type)) {
            gj_error(L, ggalloc_json_object_get(obj, "nb"), id, "nb[%d] = %zu is smaller than one %s %s (%zu bytes) although ne[%d] = %" PRId64,
                     d, t->nb[d], ggml_type_name(t->type), blck > 1 ? "block" : "element", ggml_type_size(t->type), d, t->ne[d]);
            return false;
        }
    }
    size_t computed;
    if (!gj_nbytes(t->type, t->ne, t->nb, &computed)) {
        gj_error(L, ggalloc_json_object_get(obj, "nb"), id, "ne/nb/type give a byte size beyond 2^63");
        return false;
    }
    if ((v = gj_field(L, obj, id, "nbytes")) == NULL || !gj_int(L, v, id, "nbytes", 0, INT64_MAX, &x)) {
        return false;
    }
    t->nbytes = (size_t) x;
    if (t->nbytes != computed) {
        gj_error(L, v, id, "nbytes %zu disagrees with ne/nb/type (%zu)", t->nbytes, computed);
        return false;
    }

    // op parameters
    if ((v = gj_field(L, obj, id, "op_params")) == NULL || !gj_expect(L, v, id, "op_params", JSON_ARRAY)) {
        return false;
    }
    if (v->u.arr.n > (size_t) GJ_MAX_PARAMS) {
        gj_error(L, v, id, "op_params has %zu words, at most %d fit", v->u.arr.n, GJ_MAX_PARAMS);
        return false;
    }
    for (size_t k = 0; k < v->u.arr.n; k++) {
        char f[32];
        snprintf(f, sizeof(f), "op_params[%zu]", k);
        if (!gj_int(L, v->u.arr.items[k], id, f, INT32_MIN, INT32_MAX, &x)) {
            return false;
        }
        t->op_params[k] = (int32_t) x;
    }
    if (t->op == GGML_OP_UNARY && t->op_params[0] != unary) {
        gj_error(L, vu, id, "unary %s (%d) disagrees with op_params[0] = %d", vu->u.str.s, unary, t->op_params[0]);
        return false;
    }

    // sources
    if ((v = gj_field(L, obj, id, "src")) == NULL || !gj_expect(L, v, id, "src", JSON_ARRAY)) {
        return false;
    }
    const struct gj_arity ar = gj_op_arity[t->op];
    const size_t max_src = ar.known ? (size_t) ar.max : GGML_MAX_SRC;
    if (v->u.arr.n > 0 && v->u.arr.items[v->u.arr.n - 1]->type == JSON_NULL) {
        gj_error(L, v->u.arr.items[v->u.arr.n - 1], id, "src[%zu] is null with no source after it (leave the slot out)", v->u.arr.n - 1);
        return false;
    }
    if (v->u.arr.n > max_src) {
        gj_error(L, v, id, "src has %zu %s, but %s takes at most %zu", v->u.arr.n, v->u.arr.n == 1 ? "entry" : "entries",
                 ggml_op_name(t->op), max_src);
        return false;
    }
    t->n_src = (int) v->u.arr.n;
    for (int k = 0; k < t->n_src; k++) {
        const struct json_value * s = v->u.arr.items[k];
        char f[32];
        snprintf(f, sizeof(f), "src[%d]", k);
        if (s->type == JSON_NULL) {
            if (ar.known && k < ar.min) {
                gj_error(L, s, id, "%s is null, but %s needs %d sources", f, ggml_op_name(t->op), ar.min);
                return false;
            }
            t->src[k] = -1;
        } else if (!gj_ref(L, s, id, f, &t->src[k])) {
            return false;
        }
    }
    if (ar.known && t->n_src < ar.min) {
        gj_error(L, v, id, "src has %d %s, but %s needs %d", t->n_src, t->n_src == 1 ? "entry" : "entries", ggml_op_name(t->op), ar.min);
        return false;
    }

    // view
    if ((v = gj_field(L, obj, id, "view_src")) == NULL) {
        return false;
    }
    t->view_src = -1;
    if (v->type != JSON_NULL && !gj_ref(L, v, id, "view_src", &t->view_src)) {
        return false;
    }
    if ((v = gj_field(L, obj, id, "view_offs")) == NULL || !gj_int(L, v, id, "view_offs", 0, INT64_MAX, &x)) {
        return false;
    }
    t->view_offs = (size_t) x;
    if (t->view_src < 0 && t->view_offs != 0) {
        gj_error(L, v, id, "view_offs %zu without a view_src", t->view_offs);
        return false;
    }

    // flags
    if ((v = gj_field(L, obj, id, "flags")) == NULL || !gj_expect(L, v, id, "flags", JSON_ARRAY)) {
        return false;
    }
    for (size_t k = 0; k < v->u.arr.n; k++) {
        const struct json_value * f = v->u.arr.items[k];
        if (!gj_expect(L, f, id, "flags[]", JSON_STRING)) {
            return false;
        }
        int which = -1;
        for (int j = 0; j < GJ_N_FLAGS; j++) {
            if (gj_str_is(f, gj_flag_names[j])) {
                which = j;
            }
        }
        if (which < 0) {
            gj_error(L, f, id, "unknown flag \"%s\" (known: input, output, param, loss)", ggalloc_json_show(f->u.str.s, shown, sizeof(shown)));
            return false;
        }
        if (t->flags & gj_flag_bits[which]) {
            gj_error(L, f, id, "flag \"%s\" given twice", f->u.str.s);
            return false;
        }
        t->flags |= gj_flag_bits[which];
    }

    // the numpy rank, optional: the extents past it must be 1
    t->ndim = -1;
    if ((v = ggalloc_json_object_get(obj, "ndim")) != NULL) {
        if (!gj_int(L, v, id, "ndim", 0, GGML_MAX_DIMS, &x)) {
            return false;
        }
        for (int k = (int) x; k < GGML_MAX_DIMS; k++) {
            if (t->ne[k] != 1) {
                gj_error(L, v, id, "ndim %d, but ne[%d] = %" PRId64 " (the extents past the rank are 1)", (int) x, k, t->ne[k]);
                return false;
            }
        }
        t->ndim = (int) x;
    }

    if ((v = gj_field(L, obj, id, "external")) == NULL || !gj_expect(L, v, id, "external", JSON_BOOL)) {
        return false;
    }
    t->external = v->u.b;
    return true;
}

// A view must lie inside its source's bytes.
static bool gj_check_view(const struct gj_loader * L, int id) {
    const struct gj_tensor * t = &L->tensors[id];
    if (t->view_src < 0) {
        return true;
    }
    const struct gj_tensor * s = &L->tensors[t->view_src];
    if (t->view_offs > s->nbytes || t->nbytes > s->nbytes - t->view_offs) {
        char shown[GGML_MAX_NAME + 4];
        gj_error(L, ggalloc_json_object_get(t->obj, "view_offs"), id,
                 "view_offs %zu + nbytes %zu lies outside view_src %d \"%s\" (%zu bytes)",
                 t->view_offs, t->nbytes, t->view_src, ggalloc_json_show(s->name, shown, sizeof(shown)), s->nbytes);
        return false;
    }
    return true;
}

// Edge k of tensor t: src[k] for k < GGML_MAX_SRC, view_src for k == GGML_MAX_SRC; -1 if none.
static int gj_edge(const struct gj_tensor * t, int k) {
    if (k < GGML_MAX_SRC) {
        return k < t->n_src ? t->src[k] : -1;
    }
    return t->view_src;
}

static bool gj_check_acyclic(const struct gj_loader * L) {
    const int n = L->n_tensors;
    if (n == 0) {
        return true;
    }
    unsigned char * color = calloc((size_t) n, 1);            // 0 unseen, 1 on the path, 2 done
    int * stack_id   = malloc((size_t) n * sizeof(int));
    int * stack_edge = malloc((size_t) n * sizeof(int));
    bool ok = color != NULL && stack_id != NULL && stack_edge != NULL;
    if (!ok) {
        gj_error(L, NULL, -1, "out of memory checking %d tensors for cycles", n);
    }
    for (int root = 0; ok && root < n; root++) {
        if (color[root] != 0) {
            continue;
        }
        int depth = 0;
        stack_id[0] = root;
        stack_edge[0] = 0;
        color[root] = 1;
        while (ok && depth >= 0) {
            const int cur = stack_id[depth];
            const int k = stack_edge[depth];
            if (k > GGML_MAX_SRC) {
                color[cur] = 2;
                depth--;
                continue;
            }
            stack_edge[depth] = k + 1;
            const int next = gj_edge(&L->tensors[cur], k);
            if (next < 0 || color[next] == 2) {
                continue;
            }
            if (color[next] == 1) {
                const struct gj_tensor * t = &L->tensors[cur];
                char f[32];
                if (k < GGML_MAX_SRC) {
                    snprintf(f, sizeof(f), "src[%d]", k);
                } else {
                    snprintf(f, sizeof(f), "view_src");
                }
                const struct json_value * at = ggalloc_json_object_get(t->obj, k < GGML_MAX_SRC ? "src" : "view_src");
                if (next == cur) {
                    gj_error(L, at, cur, "%s = %d refers to the tensor itself (a cycle)", f, next);
                } else {
                    char shown[GGML_MAX_NAME + 4];
                    gj_error(L, at, cur, "%s = %d \"%s\" closes a cycle (tensor %d depends on tensor %d)",
                             f, next, ggalloc_json_show(L->tensors[next].name, shown, sizeof(shown)), next, cur);
                }
                ok = false;
                break;
            }
            color[next] = 1;
            depth++;
            stack_id[depth] = next;
            stack_edge[depth] = 0;
        }
    }
    free(color);
    free(stack_id);
    free(stack_edge);
    return ok;
}

// Reads "nodes" or "leafs": ids in range, none listed twice in either list (where[] remembers
// where each id was seen: 0 nowhere, 1 + index in nodes, -(1 + index) in leafs).
static bool gj_read_list(struct gj_loader * L, const struct json_value * root, const char * key,
        int sign, int * where, int ** out, int * n_out) {
    const struct json_value * v = gj_field(L, root, -1, key);
    if (v == NULL || !gj_expect(L, v, -1, key, JSON_ARRAY)) {
        return false;
    }
    if (v->u.arr.n > (size_t) L->n_tensors) {
        gj_error(L, v, -1, "\"%s\" lists %zu entries, but the document has only %d tensors", key, v->u.arr.n, L->n_tensors);
        return false;
    }
    const int n = (int) v->u.arr.n;
    int * ids = malloc((size_t) (n > 0 ? n : 1) * sizeof(int));
    if (ids == NULL) {
        gj_error(L, v, -1, "out of memory reading \"%s\"", key);
        return false;
    }
    for (int k = 0; k < n; k++) {
        const struct json_value * e = v->u.arr.items[k];
        char f[40];
        snprintf(f, sizeof(f), "%s[%d]", key, k);
        if (!gj_expect(L, e, -1, f, JSON_INT)) {
            free(ids);
            return false;
        }
        if (e->u.i < 0 || e->u.i >= L->n_tensors) {
            gj_error(L, e, -1, "%s = %" PRId64 " is out of range (the document has %d tensors)", f, e->u.i, L->n_tensors);
            free(ids);
            return false;
        }
        const int id = (int) e->u.i;
        if (where[id] != 0) {
            const int prev = where[id];
            gj_error(L, e, id, "listed as %s but already as %s[%d]", f, prev > 0 ? "nodes" : "leafs", (prev > 0 ? prev : -prev) - 1);
            free(ids);
            return false;
        }
        where[id] = sign * (k + 1);
        ids[k] = id;
    }
    *out = ids;
    *n_out = n;
    return true;
}

// Reads an optional buffer id list; *out stays NULL when the field is absent or null.
static bool gj_read_buffer_ids(struct gj_loader * L, const struct json_value * root, const char * key, int n_expected, int ** out) {
    const struct json_value * v = ggalloc_json_object_get(root, key);
    *out = NULL;
    if (v == NULL || v->type == JSON_NULL) {
        return true;
    }
    if (!gj_expect(L, v, -1, key, JSON_ARRAY)) {
        return false;
    }
    if (v->u.arr.n != (size_t) n_expected) {
        gj_error(L, v, -1, "\"%s\" has %zu entries, but there are %d %s", key, v->u.arr.n, n_expected,
                 strcmp(key, "node_buffer_ids") == 0 ? "nodes" : "leafs");
        return false;
    }
    int * ids = malloc((size_t) (n_expected > 0 ? n_expected : 1) * sizeof(int));
    if (ids == NULL) {
        gj_error(L, v, -1, "out of memory reading \"%s\"", key);
        return false;
    }
    for (int k = 0; k < n_expected; k++) {
        char f[48];
        snprintf(f, sizeof(f), "%s[%d]", key, k);
        int64_t x;
        if (!gj_int(L, v->u.arr.items[k], -1, f, 0, GGALLOC_GRAPH_MAX_BUFFERS - 1, &x)) {
            free(ids);
            return false;
        }
        ids[k] = (int) x;
    }
    *out = ids;
    return true;
}

// Validates the whole document into L (passes 2 to 4).
static bool gj_read_document(struct gj_loader * L, const struct json_value * root) {
    if (root->type != JSON_OBJECT) {
        gj_error(L, root, -1, "the document is %s %s, not a ggalloc.graph/1 object",
                 root->type == JSON_INT || root->type == JSON_ARRAY ? "an" : "a", ggalloc_json_type_name(root->type));
        return false;
    }
    const struct json_value * v = gj_field(L, root, -1, "format");
    if (v == NULL || !gj_expect(L, v, -1, "format", JSON_STRING)) {
        return false;
    }
    if (!gj_str_is(v, GJ_FORMAT)) {
        char shown[64];
        gj_error(L, v, -1, "format \"%s\" is not \"" GJ_FORMAT "\"", ggalloc_json_show(v->u.str.s, shown, sizeof(shown)));
        return false;
    }
    if (!gj_known_fields(L, root, -1, gj_doc_fields, sizeof(gj_doc_fields) / sizeof(gj_doc_fields[0]))) {
        return false;
    }
    if ((v = ggalloc_json_object_get(root, "name")) != NULL && !gj_expect(L, v, -1, "name", JSON_STRING)) {
        return false;
    }
    if ((v = ggalloc_json_object_get(root, "source")) != NULL && !gj_expect(L, v, -1, "source", JSON_STRING)) {
        return false;
    }

    const struct json_value * tensors = gj_field(L, root, -1, "tensors");
    if (tensors == NULL || !gj_expect(L, tensors, -1, "tensors", JSON_ARRAY)) {
        return false;
    }
    if (tensors->u.arr.n > INT32_MAX / 2) {
        gj_error(L, tensors, -1, "%zu tensors are too many", tensors->u.arr.n);
        return false;
    }
    L->n_tensors = (int) tensors->u.arr.n;
    L->tensors = calloc((size_t) (L->n_tensors > 0 ? L->n_tensors : 1), sizeof(struct gj_tensor));
    if (L->tensors == NULL) {
        gj_error(L, tensors, -1, "out of memory reading %d tensors", L->n_tensors);
        return false;
    }
    for (int i = 0; i < L->n_tensors; i++) {
        L->tensors[i].obj = tensors->u.arr.items[i];
        if (!gj_read_tensor(L, i)) {
            return false;
        }
    }
    for (int i = 0; i < L->n_tensors; i++) {
        if (!gj_check_view(L, i)) {
            return false;
        }
    }
    if (!gj_check_acyclic(L)) {
        return false;
    }

    int * where = calloc((size_t) (L->n_tensors > 0 ? L->n_tensors : 1), sizeof(int));
    if (where == NULL) {
        gj_error(L, root, -1, "out of memory");
        return false;
    }
    bool ok = gj_read_list(L, root, "nodes", +1, where, &L->nodes, &L->n_nodes) &&
              gj_read_list(L, root, "leafs", -1, where, &L->leafs, &L->n_leafs);
    free(where);
    return ok &&
        gj_read_buffer_ids(L, root, "node_buffer_ids", L->n_nodes, &L->node_buffer_ids) &&
        gj_read_buffer_ids(L, root, "leaf_buffer_ids", L->n_leafs, &L->leaf_buffer_ids);
}

// Pass 5: the context, the tensors and the graph. NULL (and one message) on failure.
static struct ggml_cgraph * gj_build(const struct gj_loader * L, struct ggml_context ** ctx_out) {
    const int n = L->n_tensors;
    int size = L->n_nodes > L->n_leafs ? L->n_nodes : L->n_leafs;
    if (size < 1) {
        size = 1;
    }
    struct ggml_init_params params = {
        .mem_size   = (size_t) n * ggml_tensor_overhead() + ggml_graph_overhead_custom((size_t) size, false),
        .mem_buffer = NULL,
        .no_alloc   = true,
    };
    struct ggml_context * ctx = ggml_init(params);
    if (ctx == NULL) {
        gj_error(L, NULL, -1, "cannot create a context of %zu bytes for %d tensors", params.mem_size, n);
        return NULL;
    }
    struct ggml_tensor ** ts = malloc((size_t) (n > 0 ? n : 1) * sizeof(*ts));
    if (ts == NULL) {
        gj_error(L, NULL, -1, "out of memory building %d tensors", n);
        ggml_free(ctx);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        const struct gj_tensor * d = &L->tensors[i];
        struct ggml_tensor * t = ggml_new_tensor(ctx, d->type, GGML_MAX_DIMS, d->ne);
        if (t == NULL) {
            gj_error(L, d->obj, i, "cannot create the tensor (type %s, ne [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "])",
                     ggml_type_name(d->type), d->ne[0], d->ne[1], d->ne[2], d->ne[3]);
            free(ts);
            ggml_free(ctx);
            return NULL;
        }
        for (int k = 0; k < GGML_MAX_DIMS; k++) {
            t->nb[k] = d->nb[k];
        }
        t->op = d->op;
        memcpy(t->op_params, d->op_params, sizeof(t->op_params));
        t->flags = d->flags | (d->external ? GGALLOC_TENSOR_FLAG_EXTERNAL : 0);
        t->view_offs = d->view_offs;
        ggml_set_name(t, d->name);
        ts[i] = t;
    }
    for (int i = 0; i < n; i++) {
        const struct gj_tensor * d = &L->tensors[i];
        for (int k = 0; k < d->n_src; k++) {
            ts[i]->src[k] = d->src[k] >= 0 ? ts[d->src[k]] : NULL;
        }
        ts[i]->view_src = d->view_src >= 0 ? ts[d->view_src] : NULL;
        // the library's own size is the authority; it agrees with the check in pass 2
        const size_t nbytes = ggml_nbytes(ts[i]);
        if (nbytes != d->nbytes) {
            gj_error(L, ggalloc_json_object_get(d->obj, "nbytes"), i, "nbytes %zu disagrees with ne/nb/type (%zu)", d->nbytes, nbytes);
            free(ts);
            ggml_free(ctx);
            return NULL;
        }
    }
    struct ggml_cgraph * graph = ggml_new_graph_custom(ctx, (size_t) size, false);
    if (graph == NULL) {
        gj_error(L, NULL, -1, "cannot create a graph of %d nodes", size);
        free(ts);
        ggml_free(ctx);
        return NULL;
    }
    for (int k = 0; k < L->n_nodes; k++) {
        ggml_graph_add_node(graph, ts[L->nodes[k]]);
    }
    for (int k = 0; k < L->n_leafs; k++) {
        ggalloc_graph_add_leaf(graph, ts[L->leafs[k]]);
    }
    free(ts);
    if (ggml_graph_n_nodes(graph) != L->n_nodes || ggalloc_graph_n_leafs(graph) != L->n_leafs) {
        gj_error(L, NULL, -1, "the graph holds %d nodes and %d leafs instead of %d and %d",
                 ggml_graph_n_nodes(graph), ggalloc_graph_n_leafs(graph), L->n_nodes, L->n_leafs);
        ggml_free(ctx);
        return NULL;
    }
    *ctx_out = ctx;
    return graph;
}

static struct ggml_cgraph * gj_load(const char * label, const char * text, size_t len, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims) {
    struct gj_loader L;
    memset(&L, 0, sizeof(L));
    L.label = label;
    if (ctx == NULL) {
        gj_error(&L, NULL, -1, "ctx is NULL (it receives the graph's context)");
        return NULL;
    }
    if (text == NULL) {
        gj_error(&L, NULL, -1, "text is NULL");
        return NULL;
    }
    struct json_error err;
    struct json_doc * doc = ggalloc_json_parse(text, len, JSON_MAX_DEPTH, &err);
    if (doc == NULL) {
        GGML_LOG_ERROR("%s:%d:%d: invalid JSON: %s\n", label, err.line, err.column, err.message);
        return NULL;
    }
    L.doc = doc;
    struct ggml_cgraph * graph = NULL;
    if (gj_read_document(&L, ggalloc_json_doc_root(doc))) {
        struct ggml_context * built = NULL;
        graph = gj_build(&L, &built);
        if (graph != NULL && ndims != NULL && (*ndims = gj_ndims(&L)) == NULL) {
            gj_error(&L, NULL, -1, "out of memory listing the ranks of %d tensors", L.n_tensors);
            ggml_free(built);
            graph = NULL;
        }
        if (graph != NULL) {
            *ctx = built;
            if (node_buffer_ids != NULL) {
                *node_buffer_ids = L.node_buffer_ids;
                L.node_buffer_ids = NULL;
            }
            if (leaf_buffer_ids != NULL) {
                *leaf_buffer_ids = L.leaf_buffer_ids;
                L.leaf_buffer_ids = NULL;
            }
        }
    }
    free(L.tensors);
    free(L.nodes);
    free(L.leafs);
    free(L.node_buffer_ids);
    free(L.leaf_buffer_ids);
    ggalloc_json_doc_free(doc);
    return graph;
}

struct ggml_cgraph * ggalloc_graph_load_json_string_ex(const char * text, size_t len, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims) {
    if (node_buffer_ids != NULL) *node_buffer_ids = NULL;
    if (leaf_buffer_ids != NULL) *leaf_buffer_ids = NULL;
    if (ndims != NULL) *ndims = NULL;
    return gj_load("graph.json", text, len, ctx, node_buffer_ids, leaf_buffer_ids, ndims);
}

struct ggml_cgraph * ggalloc_graph_load_json_string(const char * text, size_t len, struct ggml_context ** ctx) {
    return ggalloc_graph_load_json_string_ex(text, len, ctx, NULL, NULL, NULL);
}

// Reads a whole file (a pipe too: no seeking). NULL and a message on failure.
static char * gj_read_file(const char * path, size_t * len) {
    FILE * f = fopen(path, "rb");
    if (f == NULL) {
        GGML_LOG_ERROR("%s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16;
    size_t n = 0;
    char * buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) {
            break;
        }
        char * bigger = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf == NULL) {
        GGML_LOG_ERROR("%s: out of memory reading the file\n", path);
    } else if (ferror(f)) {
        GGML_LOG_ERROR("%s: cannot read: %s\n", path, strerror(errno));
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

struct ggml_cgraph * ggalloc_graph_load_json_ex(const char * path, struct ggml_context ** ctx,
        int ** node_buffer_ids, int ** leaf_buffer_ids, int ** ndims) {
    if (node_buffer_ids != NULL) *node_buffer_ids = NULL;
    if (leaf_buffer_ids != NULL) *leaf_buffer_ids = NULL;
    if (ndims != NULL) *ndims = NULL;
    if (path == NULL) {
        GGML_LOG_ERROR("ggalloc_graph_load_json: path is NULL\n");
        return NULL;
    }
    if (ctx == NULL) {
        GGML_LOG_ERROR("%s: ctx is NULL (it receives the graph's context)\n", path);
        return NULL;
    }
    size_t len = 0;
    char * text = gj_read_file(path, &len);
    if (text == NULL) {
        return NULL;
    }
    struct ggml_cgraph * graph = gj_load(path, text, len, ctx, node_buffer_ids, leaf_buffer_ids, ndims);
    free(text);
    return graph;
}

struct ggml_cgraph * ggalloc_graph_load_json(const char * path, struct ggml_context ** ctx) {
    return ggalloc_graph_load_json_ex(path, ctx, NULL, NULL, NULL);
}

//
// Saving
//

// the id of a tensor already listed, or -1
static int gj_id(const struct gga_ptrmap * m, const struct ggml_tensor * t) {
    const int * v = gga_ptrmap_find(m, t);
    return v ? *v : -1;
}

struct gj_saver {
    struct gga_ptrmap            ndims;  // tensor -> numpy rank, the ones the caller gave
    struct gga_ptrmap            map;    // tensor -> id
    const struct ggml_tensor **  list;   // by id
    int                          n;
    int                          cap;
};

static bool gj_saver_add(struct gj_saver * S, const struct ggml_tensor * t) {
    if (S->n == S->cap) {
        int cap = S->cap ? 2 * S->cap : 256;
        const struct ggml_tensor ** list = realloc(S->list, (size_t) cap * sizeof(*list));
        if (list == NULL) {
            return false;
        }
        S->list = list;
        S->cap = cap;
    }
    int * id = gga_ptrmap_get(&S->map, t, S->n);
    if (id == NULL) {
        return false;
    }
    S->list[S->n++] = t;
    return true;
}

static void gj_saver_free(struct gj_saver * S) {
    gga_ptrmap_free(&S->map);
    gga_ptrmap_free(&S->ndims);
    free(S->list);
}

// Whether the graph's allocator does not place this tensor: marked external, or its memory
// comes from somewhere other than a compute buffer (ggml_gallocr marks its buffers COMPUTE).
static bool gj_is_external(const struct ggml_tensor * t) {
    if (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
        return true;
    }
    if (t->buffer != NULL) {
        return ggml_backend_buffer_get_usage(t->buffer) != GGML_BACKEND_BUFFER_USAGE_COMPUTE;
    }
    return t->data != NULL;
}

static bool gj_write_tensor(struct json_buf * b, const struct gj_saver * S, int id) {
    const struct ggml_tensor * t = S->list[id];
    char shown[GGML_MAX_NAME + 4];
    const char * type = ggml_type_name(t->type);
    if (type == NULL) {
        GGML_LOG_ERROR("ggalloc_graph_save_json: tensor \"%s\": unknown type %d\n", ggalloc_json_show(t->name, shown, sizeof(shown)), (int) t->type);
        return false;
    }
    if ((int) t->op < 0 || (int) t->op >= GGML_OP_COUNT) {
        GGML_LOG_ERROR("ggalloc_graph_save_json: tensor \"%s\": unknown op %d\n", ggalloc_json_show(t->name, shown, sizeof(shown)), (int) t->op);
        return false;
    }
    ggalloc_json_buf_printf(b, "    {\"id\": %d, \"name\": ", id);
    ggalloc_json_buf_string(b, t->name, strnlen(t->name, GGML_MAX_NAME));
    ggalloc_json_buf_printf(b, ", \"type\": \"%s\", \"ne\": [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]"
                               ", \"nb\": [%zu, %zu, %zu, %zu], \"op\": \"%s\"",
                            type, t->ne[0], t->ne[1], t->ne[2], t->ne[3], t->nb[0], t->nb[1], t->nb[2], t->nb[3],
                            ggml_op_name(t->op));
    if (t->op == GGML_OP_UNARY) {
        const int32_t u = t->op_params[0];
        if (u < 0 || u >= GGML_UNARY_OP_COUNT) {
            GGML_LOG_ERROR("ggalloc_graph_save_json: tensor \"%s\": unknown unary op %d\n", ggalloc_json_show(t->name, shown, sizeof(shown)), u);
            return false;
        }
        ggalloc_json_buf_printf(b, ", \"unary\": \"%s\"", ggml_unary_op_name((enum ggml_unary_op) u));
    }
    // trailing zero words carry nothing
    int n_params = GJ_MAX_PARAMS;
    while (n_params > 0 && t->op_params[n_params - 1] == 0) {
        n_params--;
    }
    ggalloc_json_buf_puts(b, ", \"op_params\": [");
    for (int k = 0; k < n_params; k++) {
        ggalloc_json_buf_printf(b, k ? ", %d" : "%d", t->op_params[k]);
    }
    int n_src = GGML_MAX_SRC;
    while (n_src > 0 && t->src[n_src - 1] == NULL) {
        n_src--;
    }
    ggalloc_json_buf_puts(b, "], \"src\": [");
    for (int k = 0; k < n_src; k++) {
        if (k) ggalloc_json_buf_puts(b, ", ");
        if (t->src[k] == NULL) {
            ggalloc_json_buf_puts(b, "null");
        } else {
            ggalloc_json_buf_printf(b, "%d", gj_id(&S->map, t->src[k]));
        }
    }
    ggalloc_json_buf_puts(b, "], \"view_src\": ");
    if (t->view_src == NULL) {
        ggalloc_json_buf_puts(b, "null");
    } else {
        ggalloc_json_buf_printf(b, "%d", gj_id(&S->map, t->view_src));
    }
    ggalloc_json_buf_printf(b, ", \"view_offs\": %zu, \"flags\": [", t->view_src != NULL ? t->view_offs : (size_t) 0);
    bool first = true;
    for (int j = 0; j < GJ_N_FLAGS; j++) {
        if (t->flags & gj_flag_bits[j]) {
            ggalloc_json_buf_printf(b, first ? "\"%s\"" : ", \"%s\"", gj_flag_names[j]);
            first = false;
        }
    }
    ggalloc_json_buf_printf(b, "], \"external\": %s, \"nbytes\": %zu", gj_is_external(t) ? "true" : "false", ggml_nbytes(t));
    const int * ndim = gga_ptrmap_find(&S->ndims, t);
    if (ndim != NULL) {
        ggalloc_json_buf_printf(b, ", \"ndim\": %d", *ndim);
    }
    ggalloc_json_buf_puts(b, "}");
    return true;
}

static void gj_write_ids(struct json_buf * b, const char * key, const int * ids, int n, bool last) {
    ggalloc_json_buf_printf(b, "  \"%s\": ", key);
    if (ids == NULL) {
        ggalloc_json_buf_puts(b, "null");
    } else {
        ggalloc_json_buf_puts(b, "[");
        for (int k = 0; k < n; k++) {
            ggalloc_json_buf_printf(b, k ? ", %d" : "%d", ids[k]);
        }
        ggalloc_json_buf_puts(b, "]");
    }
    ggalloc_json_buf_puts(b, last ? "\n" : ",\n");
}

bool ggalloc_graph_save_json_ex(const struct ggml_cgraph * graph_c, const char * path, const char * name,
        const int * node_buffer_ids, const int * leaf_buffer_ids,
        const struct ggml_tensor * const * ranked, const int * ndims, int n_ranked) {
    if (graph_c == NULL || path == NULL) {
        GGML_LOG_ERROR("ggalloc_graph_save_json: %s is NULL\n", graph_c == NULL ? "graph" : "path");
        return false;
    }
    // the graph accessors take a non-const graph but do not change it
    struct ggml_cgraph * graph = (struct ggml_cgraph *) graph_c;
    const int n_nodes = ggml_graph_n_nodes(graph);
    const int n_leafs = ggalloc_graph_n_leafs(graph);

    struct gj_saver S;
    memset(&S, 0, sizeof(S));
    bool ok = true;
    if (n_ranked < 0 || (n_ranked > 0 && (ranked == NULL || ndims == NULL))) {
        GGML_LOG_ERROR("ggalloc_graph_save_json: %d ranks given without their tensors or values\n", n_ranked);
        return false;
    }
    for (int i = 0; i < n_ranked && ok; i++) {
        int * slot;
        if (ranked[i] == NULL || ndims[i] < 0 || ndims[i] > GGML_MAX_DIMS) {
            GGML_LOG_ERROR("ggalloc_graph_save_json: rank %d: %s\n", i, ranked[i] == NULL ? "the tensor is NULL" : "not 0..4");
            ok = false;
        } else if ((slot = gga_ptrmap_get(&S.ndims, ranked[i], ndims[i])) == NULL) {
            GGML_LOG_ERROR("ggalloc_graph_save_json: out of memory\n");
            ok = false;
        } else {
            *slot = ndims[i];
        }
    }
    // leafs, then nodes, each in graph order, then the rest breadth first
    for (int pass = 0; pass < 2 && ok; pass++) {
        const int n = pass == 0 ? n_leafs : n_nodes;
        for (int k = 0; k < n && ok; k++) {
            const struct ggml_tensor * t = pass == 0 ? ggalloc_graph_leaf(graph, k) : ggml_graph_node(graph, k);
            if (t == NULL) {
                GGML_LOG_ERROR("ggalloc_graph_save_json: %s %d is NULL\n", pass == 0 ? "leaf" : "node", k);
                ok = false;
            } else if (gj_id(&S.map, t) >= 0) {
                char shown[GGML_MAX_NAME + 4];
                GGML_LOG_ERROR("ggalloc_graph_save_json: tensor \"%s\" is listed twice in the graph (again as %s %d)\n",
                               ggalloc_json_show(t->name, shown, sizeof(shown)), pass == 0 ? "leaf" : "node", k);
                ok = false;
            } else if (!gj_saver_add(&S, t)) {
                GGML_LOG_ERROR("ggalloc_graph_save_json: out of memory\n");
                ok = false;
            }
        }
    }
    for (int i = 0; i < S.n && ok; i++) {
        const struct ggml_tensor * t = S.list[i];
        for (int k = 0; k <= GGML_MAX_SRC && ok; k++) {
            const struct ggml_tensor * s = k < GGML_MAX_SRC ? t->src[k] : t->view_src;
            if (s != NULL && gj_id(&S.map, s) < 0 && !gj_saver_add(&S, s)) {
                GGML_LOG_ERROR("ggalloc_graph_save_json: out of memory\n");
                ok = false;
            }
        }
    }

    struct json_buf b;
    ggalloc_json_buf_init(&b);
    if (ok) {
        ggalloc_json_buf_puts(&b, "{\n  \"format\": \"" GJ_FORMAT "\",\n  \"name\": ");
        ggalloc_json_buf_string(&b, name != NULL ? name : "", name != NULL ? strlen(name) : 0);
        ggalloc_json_buf_puts(&b, ",\n  \"source\": \"written by ggalloc (ggalloc_graph_save_json)\",\n  \"tensors\": [");
        for (int i = 0; i < S.n && ok; i++) {
            ggalloc_json_buf_puts(&b, i ? ",\n" : "\n");
            ok = gj_write_tensor(&b, &S, i);
        }
        ggalloc_json_buf_puts(&b, S.n ? "\n  ],\n  \"nodes\": [" : "],\n  \"nodes\": [");
        for (int k = 0; k < n_nodes; k++) {
            ggalloc_json_buf_printf(&b, k ? ", %d" : "%d", n_leafs + k);
        }
        ggalloc_json_buf_puts(&b, "],\n  \"leafs\": [");
        for (int k = 0; k < n_leafs; k++) {
            ggalloc_json_buf_printf(&b, k ? ", %d" : "%d", k);
        }
        ggalloc_json_buf_puts(&b, "],\n");
        gj_write_ids(&b, "node_buffer_ids", node_buffer_ids, n_nodes, false);
        gj_write_ids(&b, "leaf_buffer_ids", leaf_buffer_ids, n_leafs, true);
        ggalloc_json_buf_puts(&b, "}\n");
        if (ok && !b.ok) {
            GGML_LOG_ERROR("ggalloc_graph_save_json: out of memory writing %d tensors\n", S.n);
            ok = false;
        }
    }
    gj_saver_free(&S);

    if (ok) {
        FILE * f = fopen(path, "wb");
        if (f == NULL) {
            GGML_LOG_ERROR("%s: cannot open for writing: %s\n", path, strerror(errno));
            ok = false;
        } else {
            const bool written = fwrite(b.data, 1, b.len, f) == b.len;
            const int saved_errno = errno;
            const bool closed = fclose(f) == 0;
            if (!written || !closed) {
                GGML_LOG_ERROR("%s: cannot write: %s\n", path, strerror(written ? errno : saved_errno));
                ok = false;
            }
        }
    }
    ggalloc_json_buf_free(&b);
    return ok;
}

bool ggalloc_graph_save_json(const struct ggml_cgraph * graph, const char * path, const char * name) {
    return ggalloc_graph_save_json_ex(graph, path, name, NULL, NULL, NULL, NULL, 0);
}
