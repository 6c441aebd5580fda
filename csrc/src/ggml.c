// ggml.c — contexts, tensors, names, flags, element access, tensor facts, the log, time.
//
// A context is one arena (a block of mem_size bytes, the caller's or its own) in which objects
// are laid out back to back: a small header, then the payload (a tensor struct followed, in an
// allocating context, by the tensor's data; or a graph). Creating an object is a bump of the end
// offset, so creation is O(1), nothing is ever freed individually, and ggml_reset/ggml_free
// forget everything at once. Headers and payloads are padded to GGML_MEM_ALIGN, so tensor data
// starts aligned; a program that sizes mem_size as n * ggml_tensor_overhead() +
// ggml_graph_overhead() + (data, padded) gets exactly the room it asked for.
//
// Errors: every public entry checks its arguments and returns NULL/false/0 with a log line that
// names the tensor and the numbers (see ggalloc_tensor_desc); nothing here aborts on user input.

#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L // clock_gettime with -std=c11
#endif

#include "ggml-impl.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//
// Log
//

// The default writes everything but DEBUG lines (those are for a callback that wants them).
static void log_default_cb(enum ggml_log_level level, const char * text, void * user_data) {
    (void) user_data;
    if (level == GGML_LOG_LEVEL_DEBUG) {
        return;
    }
    fputs(text, stderr);
    fflush(stderr);
}

static ggml_log_callback g_log_cb       = log_default_cb;
static void *            g_log_user_data = NULL;

void ggml_log_set(ggml_log_callback log_callback, void * user_data) {
    g_log_cb        = log_callback ? log_callback : log_default_cb;
    g_log_user_data = user_data;
}

static void log_v(enum ggml_log_level level, const char * fmt, va_list args) {
    char buf[256];
    va_list copy;
    va_copy(copy, args);
    const int len = vsnprintf(buf, sizeof(buf), fmt, args);
    if (len < 0) {
        va_end(copy);
        return;
    }
    if ((size_t) len < sizeof(buf)) {
        g_log_cb(level, buf, g_log_user_data);
    } else {
        char * big = malloc((size_t) len + 1);
        if (big != NULL) {
            vsnprintf(big, (size_t) len + 1, fmt, copy);
            g_log_cb(level, big, g_log_user_data);
            free(big);
        } else {
            g_log_cb(level, buf, g_log_user_data); // truncated beats nothing
        }
    }
    va_end(copy);
}

void ggalloc_log(enum ggml_log_level level, const char * fmt, ...) {
    va_list args;
    va_start(args, fmt);
    log_v(level, fmt, args);
    va_end(args);
}

void ggml_abort(const char * file, int line, const char * fmt, ...) {
    char msg[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);
    ggalloc_log(GGML_LOG_LEVEL_ERROR, "%s:%d: %s\n", file, line, msg);
    abort();
}

const char * ggml_status_to_string(enum ggml_status status) {
    switch (status) {
        case GGML_STATUS_ALLOC_FAILED: return "ALLOC_FAILED";
        case GGML_STATUS_FAILED:       return "FAILED";
        case GGML_STATUS_SUCCESS:      return "SUCCESS";
        case GGML_STATUS_ABORTED:      return "ABORTED";
    }
    return "UNKNOWN STATUS";
}

//
// Time
//

void ggml_time_init(void) {
}

int64_t ggml_time_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + (int64_t) ts.tv_nsec / 1000000;
}

int64_t ggml_time_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + (int64_t) ts.tv_nsec / 1000;
}

int64_t ggml_cycles(void) {
    return (int64_t) clock();
}

int64_t ggml_cycles_per_ms(void) {
    return (int64_t) CLOCKS_PER_SEC / 1000;
}

//
// Descriptions for messages
//

const char * ggalloc_tensor_desc(const struct ggml_tensor * t, char * buf, size_t size) {
    if (t == NULL) {
        snprintf(buf, size, "(null)");
        return buf;
    }
    const char * tname = ggml_type_name(t->type);
    snprintf(buf, size, "'%s' %s [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]",
            t->name[0] ? t->name : "(unnamed)", tname ? tname : "(bad type)",
            t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
    return buf;
}

//
// Tensor facts
//

int64_t ggml_nelements(const struct ggml_tensor * t) {
    if (t == NULL) {
        return 0;
    }
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

int64_t ggml_nrows(const struct ggml_tensor * t) {
    if (t == NULL) {
        return 0;
    }
    return t->ne[1] * t->ne[2] * t->ne[3];
}

size_t ggml_nbytes(const struct ggml_tensor * t) {
    if (t == NULL) {
        return 0;
    }
    return ggalloc_extent(t->type, t->ne, t->nb);
}

size_t ggml_nbytes_pad(const struct ggml_tensor * t) {
    return GGML_PAD(ggml_nbytes(t), GGML_MEM_ALIGN);
}

size_t ggml_element_size(const struct ggml_tensor * t) {
    return t ? ggml_type_size(t->type) : 0;
}

bool ggml_is_transposed(const struct ggml_tensor * t) {
    return t != NULL && t->nb[0] > t->nb[1];
}

bool ggml_is_permuted(const struct ggml_tensor * t) {
    return t != NULL && (t->nb[0] > t->nb[1] || t->nb[1] > t->nb[2] || t->nb[2] > t->nb[3]);
}

bool ggml_is_empty(const struct ggml_tensor * t) {
    if (t == NULL) {
        return true;
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        if (t->ne[i] == 0) {
            return true;
        }
    }
    return false;
}

bool ggml_is_scalar(const struct ggml_tensor * t) {
    return t != NULL && t->ne[0] == 1 && t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1;
}

bool ggml_is_vector(const struct ggml_tensor * t) {
    return t != NULL && t->ne[1] == 1 && t->ne[2] == 1 && t->ne[3] == 1;
}

bool ggml_is_matrix(const struct ggml_tensor * t) {
    return t != NULL && t->ne[2] == 1 && t->ne[3] == 1;
}

bool ggml_is_3d(const struct ggml_tensor * t) {
    return t != NULL && t->ne[3] == 1;
}

int ggml_n_dims(const struct ggml_tensor * t) {
    if (t == NULL) {
        return 0;
    }
    for (int i = GGML_MAX_DIMS - 1; i >= 1; i--) {
        if (t->ne[i] > 1) {
            return i + 1;
        }
    }
    return 1;
}

// Contiguous in the dimensions above n: dims 1..n may have any stride (rows may be spaced),
// the rest must follow on densely. Dimensions of extent 1 never break contiguity.
static bool is_contiguous_n(const struct ggml_tensor * t, int n) {
    if (t == NULL) {
        return false;
    }
    const int64_t blck = ggml_blck_size(t->type);
    if (blck <= 0) {
        return false;
    }
    size_t next_nb = ggml_type_size(t->type);
    if (t->ne[0] != blck && t->nb[0] != next_nb) {
        return false;
    }
    next_nb *= (size_t) (t->ne[0] / blck);
    for (int i = 1; i < GGML_MAX_DIMS; i++) {
        if (t->ne[i] != 1) {
            if (i > n) {
                if (t->nb[i] != next_nb) {
                    return false;
                }
                next_nb *= (size_t) t->ne[i];
            } else {
                next_nb = (size_t) t->ne[i] * t->nb[i];
            }
        }
    }
    return true;
}

bool ggml_is_contiguous(const struct ggml_tensor * t)   { return is_contiguous_n(t, 0); }
bool ggml_is_contiguous_0(const struct ggml_tensor * t) { return is_contiguous_n(t, 0); }
bool ggml_is_contiguous_1(const struct ggml_tensor * t) { return is_contiguous_n(t, 1); }
bool ggml_is_contiguous_2(const struct ggml_tensor * t) { return is_contiguous_n(t, 2); }

bool ggml_is_contiguously_allocated(const struct ggml_tensor * t) {
    if (t == NULL || ggml_blck_size(t->type) <= 0) {
        return false;
    }
    return ggml_nelements(t) * (int64_t) ggml_type_size(t->type) / ggml_blck_size(t->type) ==
           (int64_t) ggml_nbytes(t);
}

bool ggml_is_contiguous_rows(const struct ggml_tensor * t) {
    return t != NULL && (t->ne[0] == ggml_blck_size(t->type) || t->nb[0] == ggml_type_size(t->type));
}

bool ggml_are_same_shape(const struct ggml_tensor * t0, const struct ggml_tensor * t1) {
    if (t0 == NULL || t1 == NULL) {
        return false;
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        if (t0->ne[i] != t1->ne[i]) {
            return false;
        }
    }
    return true;
}

bool ggml_are_same_stride(const struct ggml_tensor * t0, const struct ggml_tensor * t1) {
    if (t0 == NULL || t1 == NULL) {
        return false;
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        if (t0->nb[i] != t1->nb[i]) {
            return false;
        }
    }
    return true;
}

bool ggml_can_repeat(const struct ggml_tensor * t0, const struct ggml_tensor * t1) {
    if (t0 == NULL || t1 == NULL) {
        return false;
    }
    if (ggml_is_empty(t0)) {
        return ggml_is_empty(t1);
    }
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        if (t1->ne[i] % t0->ne[i] != 0) {
            return false;
        }
    }
    return true;
}

bool ggml_is_view(const struct ggml_tensor * t) {
    return t != NULL && t->view_src != NULL;
}

//
// Contexts
//

size_t ggml_tensor_overhead(void) {
    return GGML_OBJECT_SIZE + GGML_TENSOR_SIZE;
}

struct ggml_context * ggml_init(struct ggml_init_params params) {
    // as in ggml, a size of 0 is allowed (the context then holds nothing)
    if (params.mem_size == 0) {
        params.mem_size = GGML_MEM_ALIGN;
    }

    struct ggml_context * ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        GGML_LOG_ERROR("ggml_init: out of memory allocating a context\n");
        return NULL;
    }

    ctx->no_alloc = params.no_alloc;
    if (params.mem_buffer != NULL) {
        ctx->mem_buffer       = params.mem_buffer;
        ctx->mem_buffer_owned = false;
        ctx->mem_size         = params.mem_size;
        // a caller's buffer need not be aligned: the arena starts at its first aligned byte
        const uintptr_t p = (uintptr_t) params.mem_buffer;
        ctx->mem_start = (size_t) (GGML_PAD(p, (uintptr_t) GGML_MEM_ALIGN) - p);
    } else {
        // 64: a cache line, and enough for any SIMD load a kernel may do on tensor data
        size_t size = params.mem_size;
        if (size > SIZE_MAX - 64) {
            GGML_LOG_ERROR("ggml_init: mem_size %zu is too large\n", params.mem_size);
            free(ctx);
            return NULL;
        }
        // aligned_alloc wants a multiple of the alignment; the extra bytes stay unused
        ctx->mem_buffer = aligned_alloc(64, GGML_PAD(size, (size_t) 64));
        if (ctx->mem_buffer == NULL) {
            GGML_LOG_ERROR("ggml_init: failed to allocate %zu bytes for the context's memory pool\n", size);
            free(ctx);
            return NULL;
        }
        ctx->mem_buffer_owned = true;
        ctx->mem_size         = GGML_PAD(size, (size_t) GGML_MEM_ALIGN);
        ctx->mem_start        = 0;
    }
    return ctx;
}

void ggml_reset(struct ggml_context * ctx) {
    if (ctx == NULL) {
        return;
    }
    ctx->n_objects     = 0;
    ctx->objects_begin = NULL;
    ctx->objects_end   = NULL;
}

void ggml_free(struct ggml_context * ctx) {
    if (ctx == NULL) {
        return;
    }
    if (ctx->mem_buffer_owned) {
        free(ctx->mem_buffer);
    }
    free(ctx);
}

size_t ggml_used_mem(const struct ggml_context * ctx) {
    if (ctx == NULL || ctx->objects_end == NULL) {
        return 0;
    }
    return ctx->objects_end->offs + ctx->objects_end->size;
}

bool ggml_get_no_alloc(struct ggml_context * ctx) {
    return ctx != NULL && ctx->no_alloc;
}

void ggml_set_no_alloc(struct ggml_context * ctx, bool no_alloc) {
    if (ctx != NULL) {
        ctx->no_alloc = no_alloc;
    }
}

void * ggml_get_mem_buffer(const struct ggml_context * ctx) {
    return ctx ? ctx->mem_buffer : NULL;
}

size_t ggml_get_mem_size(const struct ggml_context * ctx) {
    return ctx ? ctx->mem_size : 0;
}

size_t ggml_get_max_tensor_size(const struct ggml_context * ctx) {
    size_t max_size = 0;
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
        const size_t n = ggml_nbytes(t);
        max_size = n > max_size ? n : max_size;
    }
    return max_size;
}

struct ggml_object * ggalloc_new_object(struct ggml_context * ctx, enum ggml_object_type type, size_t size,
        size_t * needed_out, size_t * avail_out) {
    const size_t cur_end = ctx->objects_end ? ctx->objects_end->offs + ctx->objects_end->size : ctx->mem_start;
    const size_t avail   = ctx->mem_size > cur_end ? ctx->mem_size - cur_end : 0;

    size_t needed = SIZE_MAX;
    if (size <= SIZE_MAX - GGML_MEM_ALIGN - GGML_OBJECT_SIZE) {
        needed = GGML_OBJECT_SIZE + GGML_PAD(size, (size_t) GGML_MEM_ALIGN);
    }
    if (needed > avail) {
        *needed_out = needed;
        *avail_out  = avail;
        return NULL;
    }

    struct ggml_object * obj = (struct ggml_object *) ((char *) ctx->mem_buffer + cur_end);
    obj->offs = cur_end + GGML_OBJECT_SIZE;
    obj->size = needed - GGML_OBJECT_SIZE;
    obj->next = NULL;
    obj->type = type;
    memset(obj->padding, 0, sizeof(obj->padding));

    if (ctx->objects_end != NULL) {
        ctx->objects_end->next = obj;
    } else {
        ctx->objects_begin = obj;
    }
    ctx->objects_end = obj;
    ctx->n_objects++;
    return obj;
}

//
// Tensors
//

struct ggml_tensor * ggalloc_new_tensor_impl(struct ggml_context * ctx, enum ggml_type type, int n_dims,
        const int64_t * ne, struct ggml_tensor * view_src, size_t view_offs, const char * fn) {
    if (ctx == NULL) {
        GGML_LOG_ERROR("%s: context is NULL\n", fn);
        return NULL;
    }
    if (!ggalloc_type_valid(type)) {
        GGML_LOG_ERROR("%s: unknown tensor type %d\n", fn, (int) type);
        return NULL;
    }
    if (n_dims < 1 || n_dims > GGML_MAX_DIMS || ne == NULL) {
        GGML_LOG_ERROR("%s: bad number of dimensions %d (1..%d) or NULL extents\n", fn, n_dims, GGML_MAX_DIMS);
        return NULL;
    }

    int64_t ext[GGML_MAX_DIMS] = { 1, 1, 1, 1 };
    for (int i = 0; i < n_dims; i++) {
        ext[i] = ne[i];
    }
    const char * tname = ggml_type_name(type);
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        if (ext[i] < 0) {
            GGML_LOG_ERROR("%s: negative extent ne[%d] = %" PRId64 " for a %s tensor [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]\n",
                    fn, i, ext[i], tname, ext[0], ext[1], ext[2], ext[3]);
            return NULL;
        }
    }
    const int64_t blck = ggml_blck_size(type);
    if (ext[0] % blck != 0) {
        GGML_LOG_ERROR("%s: ne[0] = %" PRId64 " is not a multiple of the block size %" PRId64 " of type %s\n",
                fn, ext[0], blck, tname);
        return NULL;
    }

    // strides and byte size, each product checked: extents whose byte size overflows are refused
    size_t nb[GGML_MAX_DIMS];
    size_t data_size;
    int64_t nelem = 1;
    bool overflow = false;
    nb[0] = ggml_type_size(type);
    overflow |= __builtin_mul_overflow(nb[0], (size_t) (ext[0] / blck), &nb[1]);
    overflow |= __builtin_mul_overflow(nb[1], (size_t) ext[1], &nb[2]);
    overflow |= __builtin_mul_overflow(nb[2], (size_t) ext[2], &nb[3]);
    overflow |= __builtin_mul_overflow(nb[3], (size_t) ext[3], &data_size);
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        overflow |= __builtin_mul_overflow(nelem, ext[i], &nelem);
    }
    if (overflow) {
        GGML_LOG_ERROR("%s: the byte size of a %s tensor [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "] overflows\n",
                fn, tname, ext[0], ext[1], ext[2], ext[3]);
        return NULL;
    }

    // a view of a view is a view of the root, at the summed offset
    if (view_src != NULL && view_src->view_src != NULL) {
        if (__builtin_add_overflow(view_offs, view_src->view_offs, &view_offs)) {
            view_offs = SIZE_MAX;
        }
        view_src = view_src->view_src;
    }
    if (view_src != NULL && data_size > 0) {
        const size_t src_bytes = ggml_nbytes(view_src);
        size_t end;
        if (__builtin_add_overflow(data_size, view_offs, &end) || end > src_bytes) {
            char buf[160];
            GGML_LOG_ERROR("%s: a view of %zu bytes at offset %zu reaches outside %s (%zu bytes)\n",
                    fn, data_size, view_offs, ggalloc_tensor_desc(view_src, buf, sizeof(buf)), src_bytes);
            return NULL;
        }
    }

    const size_t alloc_size = (view_src == NULL && !ctx->no_alloc) ? data_size : 0;

    size_t needed = SIZE_MAX, avail = 0;
    struct ggml_object * obj = NULL;
    if (alloc_size <= SIZE_MAX - GGML_TENSOR_SIZE) {
        obj = ggalloc_new_object(ctx, GGML_OBJECT_TYPE_TENSOR, GGML_TENSOR_SIZE + alloc_size, &needed, &avail);
    }
    if (obj == NULL) {
        GGML_LOG_ERROR("%s: %s tensor [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]: not enough space in the "
                "context's memory pool (needed %zu bytes, available %zu bytes of %zu)\n",
                fn, tname, ext[0], ext[1], ext[2], ext[3], needed, avail, ctx->mem_size);
        return NULL;
    }

    struct ggml_tensor * t = (struct ggml_tensor *) ((char *) ctx->mem_buffer + obj->offs);
    memset(t, 0, sizeof(*t));
    t->type = type;
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        t->ne[i] = ext[i];
        t->nb[i] = nb[i];
    }
    t->op        = GGML_OP_NONE;
    t->view_src  = view_src;
    t->view_offs = view_offs;
    if (alloc_size > 0) {
        t->data = (void *) (t + 1);
    } else if (view_src != NULL && view_src->data != NULL) {
        t->data = (char *) view_src->data + view_offs;
    }
    return t;
}

struct ggml_tensor * ggml_new_tensor(struct ggml_context * ctx, enum ggml_type type, int n_dims, const int64_t * ne) {
    return ggalloc_new_tensor_impl(ctx, type, n_dims, ne, NULL, 0, "ggml_new_tensor");
}

struct ggml_tensor * ggml_new_tensor_1d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0) {
    return ggalloc_new_tensor_impl(ctx, type, 1, &ne0, NULL, 0, "ggml_new_tensor_1d");
}

struct ggml_tensor * ggml_new_tensor_2d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1) {
    const int64_t ne[2] = { ne0, ne1 };
    return ggalloc_new_tensor_impl(ctx, type, 2, ne, NULL, 0, "ggml_new_tensor_2d");
}

struct ggml_tensor * ggml_new_tensor_3d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2) {
    const int64_t ne[3] = { ne0, ne1, ne2 };
    return ggalloc_new_tensor_impl(ctx, type, 3, ne, NULL, 0, "ggml_new_tensor_3d");
}

struct ggml_tensor * ggml_new_tensor_4d(struct ggml_context * ctx, enum ggml_type type, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    const int64_t ne[4] = { ne0, ne1, ne2, ne3 };
    return ggalloc_new_tensor_impl(ctx, type, 4, ne, NULL, 0, "ggml_new_tensor_4d");
}

struct ggml_tensor * ggml_new_i32(struct ggml_context * ctx, int32_t value) {
    if (ctx != NULL && ctx->no_alloc) {
        GGML_LOG_ERROR("ggml_new_i32: the context is no_alloc: the value %d has nowhere to go\n", (int) value);
        return NULL;
    }
    struct ggml_tensor * t = ggalloc_new_tensor_impl(ctx, GGML_TYPE_I32, 1, (const int64_t[]) { 1 }, NULL, 0, "ggml_new_i32");
    if (t != NULL) {
        ggml_set_i32(t, value);
    }
    return t;
}

struct ggml_tensor * ggml_new_f32(struct ggml_context * ctx, float value) {
    if (ctx != NULL && ctx->no_alloc) {
        GGML_LOG_ERROR("ggml_new_f32: the context is no_alloc: the value %g has nowhere to go\n", (double) value);
        return NULL;
    }
    struct ggml_tensor * t = ggalloc_new_tensor_impl(ctx, GGML_TYPE_F32, 1, (const int64_t[]) { 1 }, NULL, 0, "ggml_new_f32");
    if (t != NULL) {
        ggml_set_f32(t, value);
    }
    return t;
}

struct ggml_tensor * ggml_dup_tensor(struct ggml_context * ctx, const struct ggml_tensor * src) {
    if (src == NULL) {
        return NULL;
    }
    return ggalloc_new_tensor_impl(ctx, src->type, GGML_MAX_DIMS, src->ne, NULL, 0, "ggml_dup_tensor");
}

struct ggml_tensor * ggml_view_tensor(struct ggml_context * ctx, struct ggml_tensor * src) {
    if (src == NULL) {
        return NULL;
    }
    struct ggml_tensor * t = ggalloc_new_tensor_impl(ctx, src->type, GGML_MAX_DIMS, src->ne, src, 0, "ggml_view_tensor");
    if (t == NULL) {
        return NULL;
    }
    ggml_format_name(t, "%s (view)", src->name);
    for (int i = 0; i < GGML_MAX_DIMS; i++) {
        t->nb[i] = src->nb[i];
    }
    return t;
}

struct ggml_tensor * ggml_get_first_tensor(const struct ggml_context * ctx) {
    if (ctx == NULL) {
        return NULL;
    }
    for (struct ggml_object * obj = ctx->objects_begin; obj != NULL; obj = obj->next) {
        if (obj->type == GGML_OBJECT_TYPE_TENSOR) {
            return (struct ggml_tensor *) ((char *) ctx->mem_buffer + obj->offs);
        }
    }
    return NULL;
}

struct ggml_tensor * ggml_get_next_tensor(const struct ggml_context * ctx, struct ggml_tensor * tensor) {
    if (ctx == NULL || tensor == NULL) {
        return NULL;
    }
    struct ggml_object * obj = (struct ggml_object *) ((char *) tensor - GGML_OBJECT_SIZE);
    for (obj = obj->next; obj != NULL; obj = obj->next) {
        if (obj->type == GGML_OBJECT_TYPE_TENSOR) {
            return (struct ggml_tensor *) ((char *) ctx->mem_buffer + obj->offs);
        }
    }
    return NULL;
}

struct ggml_tensor * ggml_get_tensor(struct ggml_context * ctx, const char * name) {
    if (ctx == NULL || name == NULL) {
        return NULL;
    }
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t)) {
        if (strcmp(t->name, name) == 0) {
            return t;
        }
    }
    return NULL;
}

enum ggml_unary_op ggml_get_unary_op(const struct ggml_tensor * tensor) {
    if (tensor == NULL || tensor->op != GGML_OP_UNARY) {
        GGML_LOG_ERROR("ggml_get_unary_op: %s is not a UNARY node\n", tensor ? tensor->name : "(null)");
        return GGML_UNARY_OP_COUNT;
    }
    return (enum ggml_unary_op) tensor->op_params[0];
}

void * ggml_get_data(const struct ggml_tensor * tensor) {
    return tensor ? tensor->data : NULL;
}

float * ggml_get_data_f32(const struct ggml_tensor * tensor) {
    if (tensor == NULL) {
        return NULL;
    }
    if (tensor->type != GGML_TYPE_F32) {
        char buf[160];
        GGML_LOG_ERROR("ggml_get_data_f32: %s is not f32\n", ggalloc_tensor_desc(tensor, buf, sizeof(buf)));
        return NULL;
    }
    return (float *) tensor->data;
}

//
// Names and flags
//

const char * ggml_get_name(const struct ggml_tensor * tensor) {
    return tensor ? tensor->name : NULL;
}

struct ggml_tensor * ggml_set_name(struct ggml_tensor * tensor, const char * name) {
    if (tensor == NULL) {
        return NULL;
    }
    if (name == NULL) {
        name = "";
    }
    size_t n = strlen(name);
    if (n >= sizeof(tensor->name)) {
        n = sizeof(tensor->name) - 1;
    }
    memmove(tensor->name, name, n);
    tensor->name[n] = '\0';
    return tensor;
}

struct ggml_tensor * ggml_format_name(struct ggml_tensor * tensor, const char * fmt, ...) {
    if (tensor == NULL || fmt == NULL) {
        return tensor;
    }
    // the arguments may point into tensor->name itself ("%s (view)" of a view of the same
    // tensor), so format into a separate buffer first
    char buf[GGML_MAX_NAME];
    va_list args;
    va_start(args, fmt);
    vsnprintf(buf, sizeof(buf), fmt, args);
    va_end(args);
    memcpy(tensor->name, buf, sizeof(buf));
    return tensor;
}

void ggml_set_input(struct ggml_tensor * tensor) {
    if (tensor != NULL) {
        tensor->flags |= GGML_TENSOR_FLAG_INPUT;
    }
}

void ggml_set_output(struct ggml_tensor * tensor) {
    if (tensor != NULL) {
        tensor->flags |= GGML_TENSOR_FLAG_OUTPUT;
    }
}

void ggml_set_param(struct ggml_tensor * tensor) {
    if (tensor == NULL) {
        return;
    }
    if (tensor->op != GGML_OP_NONE) {
        char buf[160];
        GGML_LOG_ERROR("ggml_set_param: %s is the result of %s, not a leaf\n",
                ggalloc_tensor_desc(tensor, buf, sizeof(buf)), ggml_op_name(tensor->op));
        return;
    }
    tensor->flags |= GGML_TENSOR_FLAG_PARAM;
}

void ggml_set_loss(struct ggml_tensor * tensor) {
    if (tensor == NULL) {
        return;
    }
    if (!ggml_is_scalar(tensor) || tensor->type != GGML_TYPE_F32) {
        char buf[160];
        GGML_LOG_ERROR("ggml_set_loss: %s is not an f32 scalar\n", ggalloc_tensor_desc(tensor, buf, sizeof(buf)));
        return;
    }
    tensor->flags |= GGML_TENSOR_FLAG_LOSS;
}

//
// Element access
//

static bool elem_type_ok(enum ggml_type type) {
    switch (type) {
        case GGML_TYPE_F32:
        case GGML_TYPE_F16:
        case GGML_TYPE_BF16:
        case GGML_TYPE_I32:
        case GGML_TYPE_I16:
        case GGML_TYPE_I8:
            return true;
        default:
            return false;
    }
}

static bool elem_check(const struct ggml_tensor * t, const char * fn) {
    if (t == NULL) {
        GGML_LOG_ERROR("%s: tensor is NULL\n", fn);
        return false;
    }
    char buf[160];
    if (t->data == NULL) {
        GGML_LOG_ERROR("%s: %s has no data in host memory\n", fn, ggalloc_tensor_desc(t, buf, sizeof(buf)));
        return false;
    }
    if (!elem_type_ok(t->type)) {
        GGML_LOG_ERROR("%s: %s: element access supports f32, f16, bf16, i32, i16 and i8\n",
                fn, ggalloc_tensor_desc(t, buf, sizeof(buf)));
        return false;
    }
    return true;
}

static char * elem_ptr_nd(const struct ggml_tensor * t, int i0, int i1, int i2, int i3, const char * fn) {
    if (!elem_check(t, fn)) {
        return NULL;
    }
    const int64_t idx[4] = { i0, i1, i2, i3 };
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        if (idx[d] < 0 || idx[d] >= t->ne[d]) {
            char buf[160];
            GGML_LOG_ERROR("%s: index [%d, %d, %d, %d] is outside %s\n", fn, i0, i1, i2, i3,
                    ggalloc_tensor_desc(t, buf, sizeof(buf)));
            return NULL;
        }
    }
    return (char *) t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

static char * elem_ptr_1d(const struct ggml_tensor * t, int i, const char * fn) {
    if (!elem_check(t, fn)) {
        return NULL;
    }
    if (i < 0 || (int64_t) i >= ggml_nelements(t)) {
        char buf[160];
        GGML_LOG_ERROR("%s: index %d is outside %s (%" PRId64 " elements)\n", fn, i,
                ggalloc_tensor_desc(t, buf, sizeof(buf)), ggml_nelements(t));
        return NULL;
    }
    // a flat index counts elements in logical order, whatever the strides
    int64_t rem = i;
    const int64_t i0 = rem % t->ne[0]; rem /= t->ne[0];
    const int64_t i1 = rem % t->ne[1]; rem /= t->ne[1];
    const int64_t i2 = rem % t->ne[2]; rem /= t->ne[2];
    const int64_t i3 = rem;
    return (char *) t->data + i0 * t->nb[0] + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}

// out-of-range and NaN float -> int conversions are undefined in C: saturate them
static int32_t f32_to_i32_sat(float f) {
    if (!(f == f)) {
        return 0;
    }
    if (f >= 2147483647.0f) {
        return INT32_MAX;
    }
    if (f <= -2147483648.0f) {
        return INT32_MIN;
    }
    return (int32_t) f;
}

static float elem_read_f32(enum ggml_type type, const char * p) {
    switch (type) {
        case GGML_TYPE_F32:  { float v;       memcpy(&v, p, sizeof(v)); return v; }
        case GGML_TYPE_F16:  { ggml_fp16_t v; memcpy(&v, p, sizeof(v)); return ggml_fp16_to_fp32(v); }
        case GGML_TYPE_BF16: { ggml_bf16_t v; memcpy(&v, p, sizeof(v)); return ggml_bf16_to_fp32(v); }
        case GGML_TYPE_I32:  { int32_t v;     memcpy(&v, p, sizeof(v)); return (float) v; }
        case GGML_TYPE_I16:  { int16_t v;     memcpy(&v, p, sizeof(v)); return (float) v; }
        case GGML_TYPE_I8:   { int8_t v;      memcpy(&v, p, sizeof(v)); return (float) v; }
        default: return 0.0f;
    }
}

static int32_t elem_read_i32(enum ggml_type type, const char * p) {
    switch (type) {
        case GGML_TYPE_I32:  { int32_t v; memcpy(&v, p, sizeof(v)); return v; }
        case GGML_TYPE_I16:  { int16_t v; memcpy(&v, p, sizeof(v)); return v; }
        case GGML_TYPE_I8:   { int8_t v;  memcpy(&v, p, sizeof(v)); return v; }
        default: return f32_to_i32_sat(elem_read_f32(type, p));
    }
}

static int32_t clamp_i32(int32_t v, int32_t lo, int32_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static void elem_write_f32(enum ggml_type type, char * p, float value) {
    switch (type) {
        case GGML_TYPE_F32:  memcpy(p, &value, sizeof(value)); break;
        case GGML_TYPE_F16:  { ggml_fp16_t v = ggml_fp32_to_fp16(value); memcpy(p, &v, sizeof(v)); } break;
        case GGML_TYPE_BF16: { ggml_bf16_t v = ggml_fp32_to_bf16(value); memcpy(p, &v, sizeof(v)); } break;
        case GGML_TYPE_I32:  { int32_t v = f32_to_i32_sat(value); memcpy(p, &v, sizeof(v)); } break;
        case GGML_TYPE_I16:  { int16_t v = (int16_t) clamp_i32(f32_to_i32_sat(value), INT16_MIN, INT16_MAX); memcpy(p, &v, sizeof(v)); } break;
        case GGML_TYPE_I8:   { int8_t v = (int8_t) clamp_i32(f32_to_i32_sat(value), INT8_MIN, INT8_MAX); memcpy(p, &v, sizeof(v)); } break;
        default: break;
    }
}

static void elem_write_i32(enum ggml_type type, char * p, int32_t value) {
    switch (type) {
        case GGML_TYPE_I32: memcpy(p, &value, sizeof(value)); break;
        case GGML_TYPE_I16: { int16_t v = (int16_t) clamp_i32(value, INT16_MIN, INT16_MAX); memcpy(p, &v, sizeof(v)); } break;
        case GGML_TYPE_I8:  { int8_t v = (int8_t) clamp_i32(value, INT8_MIN, INT8_MAX); memcpy(p, &v, sizeof(v)); } break;
        default: elem_write_f32(type, p, (float) value); break;
    }
}

// Visits every element (in logical order, through the strides).
#define FOR_EACH_ELEMENT(t, p, body) do { \
        for (int64_t i3_ = 0; i3_ < (t)->ne[3]; i3_++) \
        for (int64_t i2_ = 0; i2_ < (t)->ne[2]; i2_++) \
        for (int64_t i1_ = 0; i1_ < (t)->ne[1]; i1_++) \
        for (int64_t i0_ = 0; i0_ < (t)->ne[0]; i0_++) { \
            char * p = (char *) (t)->data + i0_*(t)->nb[0] + i1_*(t)->nb[1] + i2_*(t)->nb[2] + i3_*(t)->nb[3]; \
            body; \
        } \
    } while (0)

struct ggml_tensor * ggml_set_i32(struct ggml_tensor * tensor, int32_t value) {
    if (!elem_check(tensor, "ggml_set_i32")) {
        return tensor;
    }
    FOR_EACH_ELEMENT(tensor, p, elem_write_i32(tensor->type, p, value));
    return tensor;
}

struct ggml_tensor * ggml_set_f32(struct ggml_tensor * tensor, float value) {
    if (!elem_check(tensor, "ggml_set_f32")) {
        return tensor;
    }
    FOR_EACH_ELEMENT(tensor, p, elem_write_f32(tensor->type, p, value));
    return tensor;
}

int32_t ggml_get_i32_1d(const struct ggml_tensor * tensor, int i) {
    const char * p = elem_ptr_1d(tensor, i, "ggml_get_i32_1d");
    return p ? elem_read_i32(tensor->type, p) : 0;
}

void ggml_set_i32_1d(const struct ggml_tensor * tensor, int i, int32_t value) {
    char * p = elem_ptr_1d(tensor, i, "ggml_set_i32_1d");
    if (p) {
        elem_write_i32(tensor->type, p, value);
    }
}

int32_t ggml_get_i32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3) {
    const char * p = elem_ptr_nd(tensor, i0, i1, i2, i3, "ggml_get_i32_nd");
    return p ? elem_read_i32(tensor->type, p) : 0;
}

void ggml_set_i32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3, int32_t value) {
    char * p = elem_ptr_nd(tensor, i0, i1, i2, i3, "ggml_set_i32_nd");
    if (p) {
        elem_write_i32(tensor->type, p, value);
    }
}

float ggml_get_f32_1d(const struct ggml_tensor * tensor, int i) {
    const char * p = elem_ptr_1d(tensor, i, "ggml_get_f32_1d");
    return p ? elem_read_f32(tensor->type, p) : 0.0f;
}

void ggml_set_f32_1d(const struct ggml_tensor * tensor, int i, float value) {
    char * p = elem_ptr_1d(tensor, i, "ggml_set_f32_1d");
    if (p) {
        elem_write_f32(tensor->type, p, value);
    }
}

float ggml_get_f32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3) {
    const char * p = elem_ptr_nd(tensor, i0, i1, i2, i3, "ggml_get_f32_nd");
    return p ? elem_read_f32(tensor->type, p) : 0.0f;
}

void ggml_set_f32_nd(const struct ggml_tensor * tensor, int i0, int i1, int i2, int i3, float value) {
    char * p = elem_ptr_nd(tensor, i0, i1, i2, i3, "ggml_set_f32_nd");
    if (p) {
        elem_write_f32(tensor->type, p, value);
    }
}
