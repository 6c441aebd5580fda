// gguf.c — GGUF files: reading (from a file, a mapping or a buffer) and writing.
//
// Reading treats the file as hostile. Every file is parsed from memory (a private mapping of
// the file, or the caller's buffer) by a cursor that knows how many bytes remain, so:
//   - no read ever goes past the end: each length is compared with what remains before use;
//   - no allocation is larger than the file justifies: a count of n items is accepted only if
//     the bytes left could hold n of the smallest such item (a key-value pair takes at least 13
//     bytes, a tensor record 24, a string 8, an array element its size), so a count near 2^64
//     costs one comparison, not a huge malloc;
//   - sizes are multiplied with overflow checks (element counts within int64, bytes within
//     size_t), and offsets are checked against the layout every GGUF writer produces: tensors
//     follow one another in record order, each at a multiple of the alignment;
//   - duplicate keys and tensor names are found with a hash set (a quadratic scan would let a
//     file of many keys hang the reader);
//   - keys and tensor names must be UTF-8 without NUL bytes (a key that is not text cannot be
//     looked up, and a NUL would make two different keys compare equal).
// The first problem found is logged as one line naming it and the byte where it was found, and
// the reader returns NULL having freed everything it made.
//
// A context keeps what it read exactly (string lengths, bool bytes, the number of dimensions of
// each tensor record), so writing a file that was read gives the same bytes. Offsets are never
// taken from the caller: they are recomputed from the records (in order, each padded to the
// alignment) whenever a record, a type or the alignment changes.

#include "ggalloc-gguf.h"
#include "grow.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gguf.c reads and writes little-endian files on a little-endian host"
#endif

struct gguf_str {
    uint64_t n;  // bytes, without the NUL added after them
    char *   s;
};

struct gguf_kv {
    char *         key;
    bool           is_array;
    enum gguf_type type;   // the element type for arrays
    uint64_t       n;      // elements (1 for a scalar)
    void *         data;   // n values packed, or n struct gguf_str for strings
};

struct gguf_tensor_info {
    char           name[GGML_MAX_NAME];
    uint32_t       n_dims;               // as the record gives it (trailing 1s may be counted)
    int64_t        ne[GGML_MAX_DIMS];
    enum ggml_type type;
    size_t         size;                 // bytes of the data, unpadded
    uint64_t       offset;               // from the start of the data section
    const void *   data;                 // NULL: none known
};

struct gguf_context {
    uint32_t version;
    size_t   alignment;

    int64_t          n_kv;
    int64_t          cap_kv;
    struct gguf_kv * kv;

    int64_t                   n_info;
    int64_t                   cap_info;
    struct gguf_tensor_info * info;

    size_t data_offset; // set when read; recomputed from the metadata size otherwise
};

//
// Value types
//

static const struct {
    const char * name;
    size_t       size; // 0: not a fixed-size value
} type_table[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8]   = { "u8",   1 },
    [GGUF_TYPE_INT8]    = { "i8",   1 },
    [GGUF_TYPE_UINT16]  = { "u16",  2 },
    [GGUF_TYPE_INT16]   = { "i16",  2 },
    [GGUF_TYPE_UINT32]  = { "u32",  4 },
    [GGUF_TYPE_INT32]   = { "i32",  4 },
    [GGUF_TYPE_FLOAT32] = { "f32",  4 },
    [GGUF_TYPE_BOOL]    = { "bool", 1 },
    [GGUF_TYPE_STRING]  = { "str",  0 },
    [GGUF_TYPE_ARRAY]   = { "arr",  0 },
    [GGUF_TYPE_UINT64]  = { "u64",  8 },
    [GGUF_TYPE_INT64]   = { "i64",  8 },
    [GGUF_TYPE_FLOAT64] = { "f64",  8 },
};

static bool type_valid(int64_t t) {
    return t >= 0 && t < GGUF_TYPE_COUNT;
}

const char * gguf_type_name(enum gguf_type type) {
    return type_valid(type) ? type_table[type].name : NULL;
}

static bool is_pow2(uint64_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

// Bytes of a tensor of that type and shape stored contiguously; false if the shape does not fit
// the type or the count overflows.
static bool tensor_nbytes(enum ggml_type type, const int64_t ne[GGML_MAX_DIMS], size_t * out) {
    const size_t  ts = ggml_type_size(type);
    const int64_t bs = ggml_blck_size(type);
    if (ts == 0 || bs <= 0 || ne[0] % bs != 0) {
        return false;
    }
    const uint64_t blocks = (uint64_t) (ne[0] / bs);
    // ggml_nbytes computes a row as ne[0] * type size / block size: that product must fit too
    if (ne[0] != 0 && ts > SIZE_MAX / (uint64_t) ne[0]) {
        return false;
    }
    size_t n = ts * (size_t) blocks;
    for (int i = 1; i < GGML_MAX_DIMS; i++) {
        if (ne[i] != 0 && n > SIZE_MAX / (uint64_t) ne[i]) {
            return false;
        }
        n *= (size_t) ne[i];
    }
    *out = n;
    return true;
}

//
// Strings: UTF-8 validation and a hash set to find duplicates
//

static bool utf8_valid(const char * s, size_t n) {
    const unsigned char * p = (const unsigned char *) s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c == 0) {
            return false;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        int len;
        unsigned cp;
        if ((c & 0xE0) == 0xC0) {
            len = 2; cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3; cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4; cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < (size_t) len) {
            return false;
        }
        for (int k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        // overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return false;
        }
        i += (size_t) len;
    }
    return true;
}

static uint64_t str_hash(const char * s) {
    uint64_t h = 1469598103934665603ull; // FNV-1a
    for (; *s; s++) {
        h = (h ^ (unsigned char) *s) * 1099511628211ull;
    }
    return h;
}

// The index of the first name equal to an earlier one, -1 if all differ, -2 if out of memory.
static int64_t first_duplicate(const char * const * names, int64_t n) {
    size_t cap = 16;
    while (cap < (size_t) n * 2) {
        cap *= 2;
    }
    int64_t * slots = malloc(cap * sizeof(int64_t));
    if (slots == NULL) {
        return -2;
    }
    for (size_t i = 0; i < cap; i++) {
        slots[i] = -1;
    }
    int64_t dup = -1;
    for (int64_t i = 0; i < n && dup < 0; i++) {
        size_t h = (size_t) str_hash(names[i]) & (cap - 1);
        while (slots[h] >= 0) {
            if (strcmp(names[slots[h]], names[i]) == 0) {
                dup = i;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
        if (dup < 0) {
            slots[h] = i;
        }
    }
    free(slots);
    return dup;
}

//
// Contexts
//

static void kv_clear(struct gguf_kv * kv) {
    if (kv->data != NULL && kv->type == GGUF_TYPE_STRING) {
        struct gguf_str * strs = kv->data;
        for (uint64_t i = 0; i < kv->n; i++) {
            free(strs[i].s);
        }
    }
    free(kv->data);
    free(kv->key);
    memset(kv, 0, sizeof(*kv));
}

struct gguf_context * gguf_init_empty(void) {
    struct gguf_context * ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        GGML_LOG_ERROR("gguf_init_empty: out of memory\n");
        return NULL;
    }
    ctx->version   = GGUF_VERSION;
    ctx->alignment = GGUF_DEFAULT_ALIGNMENT;
    return ctx;
}

void gguf_free(struct gguf_context * ctx) {
    if (ctx == NULL) {
        return;
    }
    for (int64_t i = 0; i < ctx->n_kv; i++) {
        kv_clear(&ctx->kv[i]);
    }
    free(ctx->kv);
    free(ctx->info);
    free(ctx);
}

// The alignment the key gives (when valid), else the default.
static size_t alignment_of(const struct gguf_context * ctx) {
    int64_t id = gguf_find_key(ctx, GGUF_KEY_GENERAL_ALIGNMENT);
    if (id >= 0 && !ctx->kv[id].is_array && ctx->kv[id].type == GGUF_TYPE_UINT32) {
        uint32_t a;
        memcpy(&a, ctx->kv[id].data, sizeof(a));
        if (is_pow2(a)) {
            return a;
        }
    }
    return GGUF_DEFAULT_ALIGNMENT;
}

// Offsets from the records, in order, each padded to the alignment.
static void relayout(struct gguf_context * ctx) {
    ctx->alignment = alignment_of(ctx);
    uint64_t off = 0;
    for (int64_t i = 0; i < ctx->n_info; i++) {
        ctx->info[i].offset = off;
        off += GGML_PAD((uint64_t) ctx->info[i].size, (uint64_t) ctx->alignment);
    }
}

//
// Reading
//

struct reader {
    const uint8_t * p;
    size_t          size;
    size_t          pos;
    const char *    src;  // for the log: the file name
};

GGML_ATTRIBUTE_FORMAT(2, 3)
static void read_error(const struct reader * r, const char * fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    GGML_LOG_ERROR("gguf: %s: %s", r->src, msg);
}

#define READ_FAIL(r, ...) do { read_error((r), __VA_ARGS__); return false; } while (0)

static bool rd(struct reader * r, void * out, size_t n, const char * what) {
    if (r->size - r->pos < n) {
        READ_FAIL(r, "truncated: %s needs %zu bytes at byte %zu, the file has %zu\n", what, n, r->pos, r->size);
    }
    memcpy(out, r->p + r->pos, n);
    r->pos += n;
    return true;
}

// A string into a new NUL-terminated copy.
static bool rd_str(struct reader * r, struct gguf_str * out, const char * what) {
    uint64_t n;
    if (!rd(r, &n, sizeof(n), what)) {
        return false;
    }
    if (n > r->size - r->pos) {
        READ_FAIL(r, "%s: string length %" PRIu64 " at byte %zu runs past the end of the file (%zu bytes)\n",
                  what, n, r->pos - sizeof(n), r->size);
    }
    char * s = malloc((size_t) n + 1);
    if (s == NULL) {
        READ_FAIL(r, "%s: out of memory for a string of %" PRIu64 " bytes\n", what, n);
    }
    memcpy(s, r->p + r->pos, (size_t) n);
    s[n] = '\0';
    r->pos += (size_t) n;
    out->n = n;
    out->s = s;
    return true;
}

static bool rd_kv(struct reader * r, struct gguf_kv * kv, int64_t i) {
    char what[64];
    snprintf(what, sizeof(what), "the key of key-value pair %" PRId64, i);
    struct gguf_str key;
    const size_t at = r->pos;
    if (!rd_str(r, &key, what)) {
        return false;
    }
    kv->key = key.s;
    if (!utf8_valid(key.s, (size_t) key.n)) {
        READ_FAIL(r, "the key of key-value pair %" PRId64 " at byte %zu is not UTF-8 text without NUL bytes\n", i, at);
    }
    int32_t t;
    if (!rd(r, &t, sizeof(t), "a value type")) {
        return false;
    }
    if (!type_valid(t)) {
        READ_FAIL(r, "key '%s' has unknown value type %" PRId32 "\n", kv->key, t);
    }
    uint64_t n = 1;
    if (t == GGUF_TYPE_ARRAY) {
        kv->is_array = true;
        if (!rd(r, &t, sizeof(t), "an array's element type")) {
            return false;
        }
        if (!type_valid(t) || t == GGUF_TYPE_ARRAY) {
            READ_FAIL(r, "array '%s' has %s element type %" PRId32 "\n", kv->key,
                      t == GGUF_TYPE_ARRAY ? "the unsupported (nested array)" : "unknown", t);
        }
        if (!rd(r, &n, sizeof(n), "an array's length")) {
            return false;
        }
    }
    kv->type = (enum gguf_type) t;
    const size_t left = r->size - r->pos;
    const size_t min  = t == GGUF_TYPE_STRING ? sizeof(uint64_t) : type_table[t].size;
    if (n > left / min) {
        READ_FAIL(r, "'%s' has %" PRIu64 " values of type %s, more than the %zu bytes left in the file can hold\n",
                  kv->key, n, type_table[t].name, left);
    }
    if (t == GGUF_TYPE_STRING) {
        struct gguf_str * strs = calloc(n ? (size_t) n : 1, sizeof(struct gguf_str));
        if (strs == NULL) {
            READ_FAIL(r, "'%s': out of memory for %" PRIu64 " strings\n", kv->key, n);
        }
        kv->data = strs;
        for (uint64_t k = 0; k < n; k++) {
            snprintf(what, sizeof(what), "string %" PRIu64 " of '%.24s'", k, kv->key);
            if (!rd_str(r, &strs[k], what)) {
                return false;
            }
            kv->n = k + 1; // what kv_clear frees
        }
        kv->n = n;
    } else {
        const size_t bytes = (size_t) n * type_table[t].size;
        kv->data = malloc(bytes ? bytes : 1);
        if (kv->data == NULL) {
            READ_FAIL(r, "'%s': out of memory for %zu bytes\n", kv->key, bytes);
        }
        memcpy(kv->data, r->p + r->pos, bytes);
        r->pos += bytes;
        kv->n = n;
    }
    return true;
}

static bool rd_info(struct reader * r, struct gguf_tensor_info * ti, int64_t i) {
    char what[64];
    snprintf(what, sizeof(what), "the name of tensor record %" PRId64, i);
    struct gguf_str name;
    const size_t at = r->pos;
    if (!rd_str(r, &name, what)) {
        return false;
    }
    if (name.n >= GGML_MAX_NAME) {
        free(name.s);
        READ_FAIL(r, "the name of tensor record %" PRId64 " at byte %zu has %" PRIu64 " bytes, more than %d\n",
                  i, at, name.n, GGML_MAX_NAME - 1);
    }
    memcpy(ti->name, name.s, (size_t) name.n + 1);
    free(name.s);
    if (!utf8_valid(ti->name, (size_t) name.n)) {
        READ_FAIL(r, "the name of tensor record %" PRId64 " at byte %zu is not UTF-8 text without NUL bytes\n", i, at);
    }
    if (!rd(r, &ti->n_dims, sizeof(ti->n_dims), "a tensor's number of dimensions")) {
        return false;
    }
    if (ti->n_dims > GGML_MAX_DIMS) {
        READ_FAIL(r, "tensor '%s' has %" PRIu32 " dimensions, more than %d\n", ti->name, ti->n_dims, GGML_MAX_DIMS);
    }
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        ti->ne[d] = 1;
    }
    for (uint32_t d = 0; d < ti->n_dims; d++) {
        if (!rd(r, &ti->ne[d], sizeof(int64_t), "a tensor extent")) {
            return false;
        }
        if (ti->ne[d] < 0) {
            READ_FAIL(r, "tensor '%s' has a negative extent ne[%" PRIu32 "] = %" PRId64 "\n", ti->name, d, ti->ne[d]);
        }
    }
    int64_t nel = 1;
    for (int d = 0; d < GGML_MAX_DIMS; d++) {
        if (ti->ne[d] != 0 && nel > INT64_MAX / ti->ne[d]) {
            READ_FAIL(r, "tensor '%s' [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 "]: its number of elements overflows\n",
                      ti->name, ti->ne[0], ti->ne[1], ti->ne[2], ti->ne[3]);
        }
        nel *= ti->ne[d];
    }
    int32_t type;
    if (!rd(r, &type, sizeof(type), "a tensor type")) {
        return false;
    }
    if (type < 0 || type >= GGML_TYPE_COUNT || ggml_type_size((enum ggml_type) type) == 0) {
        READ_FAIL(r, "tensor '%s' has unknown type %" PRId32 "\n", ti->name, type);
    }
    ti->type = (enum ggml_type) type;
    if (ti->ne[0] % ggml_blck_size(ti->type) != 0) {
        READ_FAIL(r, "tensor '%s': ne[0] = %" PRId64 " is not a multiple of the block size %" PRId64 " of type %s\n",
                  ti->name, ti->ne[0], ggml_blck_size(ti->type), ggml_type_name(ti->type));
    }
    if (!tensor_nbytes(ti->type, ti->ne, &ti->size)) {
        READ_FAIL(r, "tensor '%s': its size in bytes overflows\n", ti->name);
    }
    if (!rd(r, &ti->offset, sizeof(ti->offset), "a tensor offset")) {
        return false;
    }
    return true;
}

enum data_mode {
    DATA_COPY,   // tensor data copied into *params.ctx (gguf_init_from_file)
    DATA_MAPPED, // tensor data pointing into the caller's memory
};

static struct gguf_context * read_fail(struct gguf_context * ctx) {
    gguf_free(ctx);
    return NULL;
}

static struct gguf_context * gguf_read(const uint8_t * data, size_t size, const char * src,
        enum data_mode mode, struct gguf_init_params params) {
    struct reader rr = { data, size, 0, src };
    struct reader * r = &rr;

    char magic[4];
    if (size < 4) {
        GGML_LOG_ERROR("gguf: %s: not a GGUF file: %zu bytes, too short for the magic\n", src, size);
        return NULL;
    }
    memcpy(magic, data, 4);
    if (memcmp(magic, GGUF_MAGIC, 4) != 0) {
        GGML_LOG_ERROR("gguf: %s: not a GGUF file: magic %02x %02x %02x %02x, expected \"GGUF\"\n", src,
                       (unsigned char) magic[0], (unsigned char) magic[1], (unsigned char) magic[2], (unsigned char) magic[3]);
        return NULL;
    }
    r->pos = 4;

    struct gguf_context * ctx = gguf_init_empty();
    if (ctx == NULL) {
        return NULL;
    }
    if (!rd(r, &ctx->version, sizeof(ctx->version), "the version")) {
        return read_fail(ctx);
    }
    if ((ctx->version & 0xFFFFu) == 0) {
        GGML_LOG_ERROR("gguf: %s: version 0x%08" PRIx32 " looks byte-swapped: big-endian files are not supported\n", src, ctx->version);
        return read_fail(ctx);
    }
    if (ctx->version == 1 || ctx->version > GGUF_VERSION) {
        GGML_LOG_ERROR("gguf: %s: version %" PRIu32 " is not supported (2 and 3 are)\n", src, ctx->version);
        return read_fail(ctx);
    }
    int64_t n_tensors, n_kv;
    if (!rd(r, &n_tensors, sizeof(n_tensors), "the tensor count") || !rd(r, &n_kv, sizeof(n_kv), "the key-value count")) {
        return read_fail(ctx);
    }
    // each pair takes at least a key length, a type and one byte of value; each record a name
    // length, n_dims, a type and an offset
    const size_t left = size - r->pos;
    if (n_kv < 0 || (uint64_t) n_kv > left / 13) {
        GGML_LOG_ERROR("gguf: %s: key-value count %" PRId64 " is negative or more than the %zu bytes left can hold\n", src, n_kv, left);
        return read_fail(ctx);
    }
    if (n_tensors < 0 || (uint64_t) n_tensors > left / 24) {
        GGML_LOG_ERROR("gguf: %s: tensor count %" PRId64 " is negative or more than the %zu bytes left can hold\n", src, n_tensors, left);
        return read_fail(ctx);
    }

    // key-value pairs
    if (!gga_grow((void **) &ctx->kv, &ctx->cap_kv, n_kv, sizeof(struct gguf_kv))) {
        GGML_LOG_ERROR("gguf: %s: out of memory for %" PRId64 " key-value pairs\n", src, n_kv);
        return read_fail(ctx);
    }
    for (int64_t i = 0; i < n_kv; i++) {
        memset(&ctx->kv[i], 0, sizeof(ctx->kv[i]));
        ctx->n_kv = i + 1;
        if (!rd_kv(r, &ctx->kv[i], i)) {
            return read_fail(ctx);
        }
    }
    {
        const char ** keys = malloc((size_t) (n_kv ? n_kv : 1) * sizeof(char *));
        if (keys == NULL) {
            GGML_LOG_ERROR("gguf: %s: out of memory\n", src);
            return read_fail(ctx);
        }
        for (int64_t i = 0; i < n_kv; i++) {
            keys[i] = ctx->kv[i].key;
        }
        const int64_t dup = first_duplicate(keys, n_kv);
        free(keys);
        if (dup != -1) {
            if (dup == -2) {
                GGML_LOG_ERROR("gguf: %s: out of memory\n", src);
            } else {
                GGML_LOG_ERROR("gguf: %s: duplicate key '%s' (key-value pair %" PRId64 ")\n", src, ctx->kv[dup].key, dup);
            }
            return read_fail(ctx);
        }
    }
    {
        const int64_t id = gguf_find_key(ctx, GGUF_KEY_GENERAL_ALIGNMENT);
        if (id >= 0) {
            const struct gguf_kv * kv = &ctx->kv[id];
            uint32_t a = 0;
            if (!kv->is_array && kv->type == GGUF_TYPE_UINT32) {
                memcpy(&a, kv->data, sizeof(a));
            }
            if (!is_pow2(a)) {
                GGML_LOG_ERROR("gguf: %s: " GGUF_KEY_GENERAL_ALIGNMENT " must be a u32 power of two (it is %s%s, value %" PRIu32 ")\n",
                               src, kv->is_array ? "an array of " : "", type_table[kv->type].name, a);
                return read_fail(ctx);
            }
        }
        ctx->alignment = alignment_of(ctx);
    }

    // tensor records
    if ((uint64_t) n_tensors > (size - r->pos) / 24) {
        GGML_LOG_ERROR("gguf: %s: tensor count %" PRId64 " is more than the %zu bytes left can hold\n", src, n_tensors, size - r->pos);
        return read_fail(ctx);
    }
    if (!gga_grow((void **) &ctx->info, &ctx->cap_info, n_tensors, sizeof(struct gguf_tensor_info))) {
        GGML_LOG_ERROR("gguf: %s: out of memory for %" PRId64 " tensor records\n", src, n_tensors);
        return read_fail(ctx);
    }
    for (int64_t i = 0; i < n_tensors; i++) {
        memset(&ctx->info[i], 0, sizeof(ctx->info[i]));
        ctx->n_info = i + 1;
        if (!rd_info(r, &ctx->info[i], i)) {
            return read_fail(ctx);
        }
    }
    {
        const char ** names = malloc((size_t) (n_tensors ? n_tensors : 1) * sizeof(char *));
        if (names == NULL) {
            GGML_LOG_ERROR("gguf: %s: out of memory\n", src);
            return read_fail(ctx);
        }
        for (int64_t i = 0; i < n_tensors; i++) {
            names[i] = ctx->info[i].name;
        }
        const int64_t dup = first_duplicate(names, n_tensors);
        free(names);
        if (dup != -1) {
            if (dup == -2) {
                GGML_LOG_ERROR("gguf: %s: out of memory\n", src);
            } else {
                GGML_LOG_ERROR("gguf: %s: duplicate tensor name '%s' (tensor record %" PRId64 ")\n", src, ctx->info[dup].name, dup);
            }
            return read_fail(ctx);
        }
    }

    // the data section: tensors one after the other, each at a multiple of the alignment
    if (r->pos > SIZE_MAX - ctx->alignment) {
        GGML_LOG_ERROR("gguf: %s: data offset overflows\n", src);
        return read_fail(ctx);
    }
    ctx->data_offset = GGML_PAD(r->pos, ctx->alignment);
    uint64_t expect = 0;
    for (int64_t i = 0; i < n_tensors; i++) {
        const struct gguf_tensor_info * ti = &ctx->info[i];
        if (ti->offset % ctx->alignment != 0) {
            GGML_LOG_ERROR("gguf: %s: tensor '%s' has offset %" PRIu64 ", not a multiple of the alignment %zu\n",
                           src, ti->name, ti->offset, ctx->alignment);
            return read_fail(ctx);
        }
        if (ti->offset != expect) {
            GGML_LOG_ERROR("gguf: %s: tensor '%s' has offset %" PRIu64 ", expected %" PRIu64 " (tensor data must follow the records' order, each padded to the alignment)\n",
                           src, ti->name, ti->offset, expect);
            return read_fail(ctx);
        }
        const uint64_t padded = GGML_PAD((uint64_t) ti->size, (uint64_t) ctx->alignment);
        if (padded < ti->size || expect > SIZE_MAX - ctx->data_offset - padded) {
            GGML_LOG_ERROR("gguf: %s: tensor '%s': the data section's size overflows\n", src, ti->name);
            return read_fail(ctx);
        }
        expect += padded;
    }
    const size_t data_size = (size_t) expect;
    // the last tensor's padding may be missing from a file
    const size_t data_end = n_tensors ? (size_t) (ctx->info[n_tensors - 1].offset + ctx->info[n_tensors - 1].size) : 0;

    const bool want_data = !params.no_alloc && (mode == DATA_MAPPED || params.ctx != NULL);
    bool have_data = false;
    if (want_data && data_end > 0) {
        if (mode == DATA_MAPPED && size <= ctx->data_offset) {
            // written with only_meta: the records describe data this file does not hold
        } else if (ctx->data_offset > size || data_end > size - ctx->data_offset) {
            GGML_LOG_ERROR("gguf: %s: tensor data ends at byte %zu, past the end of the file (%zu bytes)\n",
                           src, ctx->data_offset + data_end, size);
            return read_fail(ctx);
        } else {
            have_data = true;
        }
    }

    if (params.ctx != NULL) {
        // as in ggml, the data section (even an empty one) is the context's first tensor
        const bool copy = want_data && mode == DATA_COPY;
        const size_t overhead = ggml_tensor_overhead();
        size_t mem = (size_t) (n_tensors + 1) * overhead;
        if (copy) {
            mem += data_size;
        }
        struct ggml_init_params ip = { mem, NULL, !copy };
        struct ggml_context * gctx = ggml_init(ip);
        if (gctx == NULL) {
            GGML_LOG_ERROR("gguf: %s: cannot create a context of %zu bytes for the tensors\n", src, mem);
            return read_fail(ctx);
        }
        uint8_t * base = NULL;
        if (copy) {
            struct ggml_tensor * blob = ggml_new_tensor_1d(gctx, GGML_TYPE_I8, (int64_t) data_size);
            if (blob == NULL) {
                GGML_LOG_ERROR("gguf: %s: cannot allocate %zu bytes of tensor data\n", src, data_size);
                ggml_free(gctx);
                return read_fail(ctx);
            }
            base = blob->data;
            const size_t avail = size > ctx->data_offset ? size - ctx->data_offset : 0;
            const size_t n = avail < data_size ? avail : data_size;
            if (n > 0) {
                memcpy(base, data + ctx->data_offset, n);
            }
            if (data_size > n) {
                memset(base + n, 0, data_size - n);
            }
        } else if (have_data) {
            base = (uint8_t *) (uintptr_t) (data + ctx->data_offset);
        }
        ggml_set_no_alloc(gctx, true);
        for (int64_t i = 0; i < n_tensors; i++) {
            struct gguf_tensor_info * ti = &ctx->info[i];
            struct ggml_tensor * t = ggml_new_tensor(gctx, ti->type, GGML_MAX_DIMS, ti->ne);
            if (t == NULL) {
                GGML_LOG_ERROR("gguf: %s: cannot create tensor '%s'\n", src, ti->name);
                ggml_free(gctx);
                return read_fail(ctx);
            }
            ggml_set_name(t, ti->name);
            if (base != NULL) {
                t->data = base + ti->offset;
                ti->data = t->data;
            }
        }
        ggml_set_no_alloc(gctx, params.no_alloc);
        *params.ctx = gctx;
    } else if (have_data) {
        for (int64_t i = 0; i < n_tensors; i++) {
            ctx->info[i].data = data + ctx->data_offset + ctx->info[i].offset;
        }
    }
    return ctx;
}

//
// Mapped files
//

struct ggalloc_mapped_file {
    void * addr;
    size_t size;
    char * name; // for the log
};

struct ggalloc_mapped_file * ggalloc_mapped_file_new(const char * fname) {
    if (fname == NULL) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: NULL file name\n");
        return NULL;
    }
    int fd = open(fname, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: cannot open %s: %s\n", fname, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: %s is not a regular file\n", fname);
        close(fd);
        return NULL;
    }
    if (st.st_size <= 0) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: %s is empty\n", fname);
        close(fd);
        return NULL;
    }
    if ((uint64_t) st.st_size > SIZE_MAX) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: %s is too large to map\n", fname);
        close(fd);
        return NULL;
    }
    struct ggalloc_mapped_file * mf = calloc(1, sizeof(*mf));
    if (mf == NULL) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: out of memory\n");
        close(fd);
        return NULL;
    }
    mf->size = (size_t) st.st_size;
    mf->name = strdup(fname);
    // private and writable: pages stay shared with the page cache until written, and a write
    // (a kernel that uses a weight as scratch, a user's numpy array) can never reach the file
    mf->addr = mmap(NULL, mf->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    const int err = errno;
    close(fd);
    if (mf->addr == MAP_FAILED) {
        GGML_LOG_ERROR("ggalloc_mapped_file_new: cannot map %s (%zu bytes): %s\n", fname, mf->size, strerror(err));
        free(mf->name);
        free(mf);
        return NULL;
    }
    return mf;
}

void ggalloc_mapped_file_free(struct ggalloc_mapped_file * file) {
    if (file == NULL) {
        return;
    }
    munmap(file->addr, file->size);
    free(file->name);
    free(file);
}

void * ggalloc_mapped_file_data(const struct ggalloc_mapped_file * file) {
    return file ? file->addr : NULL;
}

size_t ggalloc_mapped_file_size(const struct ggalloc_mapped_file * file) {
    return file ? file->size : 0;
}

struct gguf_context * ggalloc_gguf_init_from_mapped_file(const struct ggalloc_mapped_file * file,
        struct gguf_init_params params) {
    if (file == NULL) {
        GGML_LOG_ERROR("ggalloc_gguf_init_from_mapped_file: NULL file\n");
        return NULL;
    }
    return gguf_read(file->addr, file->size, file->name ? file->name : "mapped file", DATA_MAPPED, params);
}

struct gguf_context * ggalloc_gguf_init_from_buffer(const void * data, size_t size, struct gguf_init_params params) {
    if (data == NULL && size > 0) {
        GGML_LOG_ERROR("ggalloc_gguf_init_from_buffer: NULL data of %zu bytes\n", size);
        return NULL;
    }
    return gguf_read(data, size, "buffer", DATA_COPY, params);
}

struct gguf_context * gguf_init_from_file(const char * fname, struct gguf_init_params params) {
    struct ggalloc_mapped_file * mf = ggalloc_mapped_file_new(fname);
    if (mf == NULL) {
        return NULL;
    }
    // data is only ever copied out of the mapping (into *params.ctx), so it can go now
    struct gguf_context * ctx = gguf_read(mf->addr, mf->size, fname, DATA_COPY, params);
    ggalloc_mapped_file_free(mf);
    return ctx;
}

//
// Getters
//

static bool kv_ok(const struct gguf_context * ctx, int64_t id, const char * fn) {
    if (ctx == NULL || id < 0 || id >= ctx->n_kv) {
        GGML_LOG_ERROR("%s: key id %" PRId64 " out of range (%" PRId64 " keys)\n", fn, id, ctx ? ctx->n_kv : 0);
        return false;
    }
    return true;
}

static bool tensor_ok(const struct gguf_context * ctx, int64_t id, const char * fn) {
    if (ctx == NULL || id < 0 || id >= ctx->n_info) {
        GGML_LOG_ERROR("%s: tensor id %" PRId64 " out of range (%" PRId64 " tensors)\n", fn, id, ctx ? ctx->n_info : 0);
        return false;
    }
    return true;
}

uint32_t gguf_get_version(const struct gguf_context * ctx) {
    return ctx ? ctx->version : 0;
}

size_t gguf_get_alignment(const struct gguf_context * ctx) {
    return ctx ? ctx->alignment : 0;
}

size_t gguf_get_data_offset(const struct gguf_context * ctx) {
    return ctx ? ctx->data_offset : 0;
}

int64_t gguf_get_n_kv(const struct gguf_context * ctx) {
    return ctx ? ctx->n_kv : 0;
}

int64_t gguf_find_key(const struct gguf_context * ctx, const char * key) {
    if (ctx == NULL || key == NULL) {
        return -1;
    }
    for (int64_t i = 0; i < ctx->n_kv; i++) {
        if (strcmp(ctx->kv[i].key, key) == 0) {
            return i;
        }
    }
    return -1;
}

const char * gguf_get_key(const struct gguf_context * ctx, int64_t key_id) {
    return kv_ok(ctx, key_id, "gguf_get_key") ? ctx->kv[key_id].key : NULL;
}

enum gguf_type gguf_get_kv_type(const struct gguf_context * ctx, int64_t key_id) {
    if (!kv_ok(ctx, key_id, "gguf_get_kv_type")) {
        return GGUF_TYPE_COUNT;
    }
    return ctx->kv[key_id].is_array ? GGUF_TYPE_ARRAY : ctx->kv[key_id].type;
}

enum gguf_type gguf_get_arr_type(const struct gguf_context * ctx, int64_t key_id) {
    if (!kv_ok(ctx, key_id, "gguf_get_arr_type")) {
        return GGUF_TYPE_COUNT;
    }
    if (!ctx->kv[key_id].is_array) {
        GGML_LOG_ERROR("gguf_get_arr_type: '%s' is not an array\n", ctx->kv[key_id].key);
        return GGUF_TYPE_COUNT;
    }
    return ctx->kv[key_id].type;
}

// The value of a scalar of that type, or NULL and a log line.
static const void * scalar(const struct gguf_context * ctx, int64_t id, enum gguf_type type, const char * fn) {
    if (!kv_ok(ctx, id, fn)) {
        return NULL;
    }
    const struct gguf_kv * kv = &ctx->kv[id];
    if (kv->is_array || kv->type != type) {
        GGML_LOG_ERROR("%s: '%s' is %s%s, not %s\n", fn, kv->key, kv->is_array ? "an array of " : "",
                       type_table[kv->type].name, type_table[type].name);
        return NULL;
    }
    return kv->data;
}

#define GETTER(NAME, CTYPE, TYPE) \
    CTYPE gguf_get_val_##NAME(const struct gguf_context * ctx, int64_t key_id) { \
        const void * p = scalar(ctx, key_id, TYPE, "gguf_get_val_" #NAME); \
        CTYPE v = 0; \
        if (p != NULL) { \
            memcpy(&v, p, sizeof(v)); \
        } \
        return v; \
    }

GETTER(u8,  uint8_t,  GGUF_TYPE_UINT8)
GETTER(i8,  int8_t,   GGUF_TYPE_INT8)
GETTER(u16, uint16_t, GGUF_TYPE_UINT16)
GETTER(i16, int16_t,  GGUF_TYPE_INT16)
GETTER(u32, uint32_t, GGUF_TYPE_UINT32)
GETTER(i32, int32_t,  GGUF_TYPE_INT32)
GETTER(f32, float,    GGUF_TYPE_FLOAT32)
GETTER(u64, uint64_t, GGUF_TYPE_UINT64)
GETTER(i64, int64_t,  GGUF_TYPE_INT64)
GETTER(f64, double,   GGUF_TYPE_FLOAT64)

bool gguf_get_val_bool(const struct gguf_context * ctx, int64_t key_id) {
    const uint8_t * p = scalar(ctx, key_id, GGUF_TYPE_BOOL, "gguf_get_val_bool");
    return p != NULL && *p != 0;
}

const char * gguf_get_val_str(const struct gguf_context * ctx, int64_t key_id) {
    const struct gguf_str * p = scalar(ctx, key_id, GGUF_TYPE_STRING, "gguf_get_val_str");
    return p ? p->s : NULL;
}

const void * gguf_get_val_data(const struct gguf_context * ctx, int64_t key_id) {
    if (!kv_ok(ctx, key_id, "gguf_get_val_data")) {
        return NULL;
    }
    const struct gguf_kv * kv = &ctx->kv[key_id];
    if (kv->is_array || kv->type == GGUF_TYPE_STRING) {
        GGML_LOG_ERROR("gguf_get_val_data: '%s' is not a scalar of fixed size\n", kv->key);
        return NULL;
    }
    return kv->data;
}

size_t gguf_get_arr_n(const struct gguf_context * ctx, int64_t key_id) {
    return kv_ok(ctx, key_id, "gguf_get_arr_n") ? (size_t) ctx->kv[key_id].n : 0;
}

const void * gguf_get_arr_data(const struct gguf_context * ctx, int64_t key_id) {
    if (!kv_ok(ctx, key_id, "gguf_get_arr_data")) {
        return NULL;
    }
    if (ctx->kv[key_id].type == GGUF_TYPE_STRING) {
        GGML_LOG_ERROR("gguf_get_arr_data: '%s' holds strings: use gguf_get_arr_str\n", ctx->kv[key_id].key);
        return NULL;
    }
    return ctx->kv[key_id].data;
}

const char * gguf_get_arr_str(const struct gguf_context * ctx, int64_t key_id, size_t i) {
    if (!kv_ok(ctx, key_id, "gguf_get_arr_str")) {
        return NULL;
    }
    const struct gguf_kv * kv = &ctx->kv[key_id];
    if (kv->type != GGUF_TYPE_STRING) {
        GGML_LOG_ERROR("gguf_get_arr_str: '%s' does not hold strings\n", kv->key);
        return NULL;
    }
    if (i >= kv->n) {
        GGML_LOG_ERROR("gguf_get_arr_str: index %zu out of range for '%s' (%" PRIu64 " strings)\n", i, kv->key, kv->n);
        return NULL;
    }
    return ((const struct gguf_str *) kv->data)[i].s;
}

int64_t gguf_get_n_tensors(const struct gguf_context * ctx) {
    return ctx ? ctx->n_info : 0;
}

int64_t gguf_find_tensor(const struct gguf_context * ctx, const char * name) {
    if (ctx == NULL || name == NULL) {
        return -1;
    }
    for (int64_t i = 0; i < ctx->n_info; i++) {
        if (strcmp(ctx->info[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

size_t gguf_get_tensor_offset(const struct gguf_context * ctx, int64_t tensor_id) {
    return tensor_ok(ctx, tensor_id, "gguf_get_tensor_offset") ? (size_t) ctx->info[tensor_id].offset : 0;
}

const char * gguf_get_tensor_name(const struct gguf_context * ctx, int64_t tensor_id) {
    return tensor_ok(ctx, tensor_id, "gguf_get_tensor_name") ? ctx->info[tensor_id].name : NULL;
}

enum ggml_type gguf_get_tensor_type(const struct gguf_context * ctx, int64_t tensor_id) {
    return tensor_ok(ctx, tensor_id, "gguf_get_tensor_type") ? ctx->info[tensor_id].type : GGML_TYPE_COUNT;
}

size_t gguf_get_tensor_size(const struct gguf_context * ctx, int64_t tensor_id) {
    return tensor_ok(ctx, tensor_id, "gguf_get_tensor_size") ? ctx->info[tensor_id].size : 0;
}

size_t ggalloc_gguf_get_data_size(const struct gguf_context * ctx) {
    if (ctx == NULL || ctx->n_info == 0) {
        return 0;
    }
    const struct gguf_tensor_info * last = &ctx->info[ctx->n_info - 1];
    return (size_t) last->offset + GGML_PAD(last->size, ctx->alignment);
}

bool ggalloc_gguf_get_tensor_shape(const struct gguf_context * ctx, int64_t tensor_id,
        int64_t ne[GGML_MAX_DIMS], int * n_dims) {
    if (!tensor_ok(ctx, tensor_id, "ggalloc_gguf_get_tensor_shape")) {
        return false;
    }
    if (ne == NULL) {
        GGML_LOG_ERROR("ggalloc_gguf_get_tensor_shape: NULL ne\n");
        return false;
    }
    memcpy(ne, ctx->info[tensor_id].ne, sizeof(ctx->info[tensor_id].ne));
    if (n_dims != NULL) {
        *n_dims = (int) ctx->info[tensor_id].n_dims;
    }
    return true;
}

const void * ggalloc_gguf_get_tensor_data(const struct gguf_context * ctx, int64_t tensor_id) {
    if (ctx == NULL || tensor_id < 0 || tensor_id >= ctx->n_info) {
        return NULL;
    }
    return ctx->info[tensor_id].data;
}

//
// Setters
//

int64_t gguf_remove_key(struct gguf_context * ctx, const char * key) {
    const int64_t id = gguf_find_key(ctx, key);
    if (id < 0) {
        return -1;
    }
    // key may be the stored key itself (gguf_get_key): compare before it is freed
    const bool alignment = strcmp(key, GGUF_KEY_GENERAL_ALIGNMENT) == 0;
    kv_clear(&ctx->kv[id]);
    memmove(&ctx->kv[id], &ctx->kv[id + 1], (size_t) (ctx->n_kv - id - 1) * sizeof(struct gguf_kv));
    ctx->n_kv--;
    if (alignment) {
        relayout(ctx);
    }
    return id;
}

// Appends a key-value pair that takes ownership of data (freed here on failure).
static void kv_put(struct gguf_context * ctx, const char * key, bool is_array, enum gguf_type type,
        uint64_t n, void * data, const char * fn) {
    if (ctx == NULL || key == NULL) {
        GGML_LOG_ERROR("%s: NULL context or key\n", fn);
        goto fail;
    }
    if (strcmp(key, GGUF_KEY_GENERAL_ALIGNMENT) == 0) {
        uint32_t a = 0;
        if (!is_array && type == GGUF_TYPE_UINT32) {
            memcpy(&a, data, sizeof(a));
        }
        if (!is_pow2(a)) {
            GGML_LOG_ERROR("%s: " GGUF_KEY_GENERAL_ALIGNMENT " must be a u32 power of two; ignored\n", fn);
            goto fail;
        }
    }
    char * k = strdup(key);
    if (k == NULL || !gga_grow((void **) &ctx->kv, &ctx->cap_kv, ctx->n_kv + 1, sizeof(struct gguf_kv))) {
        GGML_LOG_ERROR("%s: out of memory for key '%s'\n", fn, key);
        free(k);
        goto fail;
    }
    // from here on only the copy: key may be the stored key that is about to be replaced
    gguf_remove_key(ctx, k);
    struct gguf_kv * kv = &ctx->kv[ctx->n_kv++];
    kv->key = k;
    kv->is_array = is_array;
    kv->type = type;
    kv->n = n;
    kv->data = data;
    if (strcmp(k, GGUF_KEY_GENERAL_ALIGNMENT) == 0) {
        relayout(ctx);
    }
    return;
fail:
    if (data != NULL && type == GGUF_TYPE_STRING) {
        struct gguf_str * strs = data;
        for (uint64_t i = 0; i < n; i++) {
            free(strs[i].s);
        }
    }
    free(data);
}

static void set_scalar(struct gguf_context * ctx, const char * key, enum gguf_type type, const void * val, const char * fn) {
    const size_t n = type_table[type].size;
    void * data = malloc(n);
    if (data == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", fn);
        return;
    }
    memcpy(data, val, n);
    kv_put(ctx, key, false, type, 1, data, fn);
}

#define SETTER(NAME, CTYPE, TYPE) \
    void gguf_set_val_##NAME(struct gguf_context * ctx, const char * key, CTYPE val) { \
        set_scalar(ctx, key, TYPE, &val, "gguf_set_val_" #NAME); \
    }

SETTER(u8,  uint8_t,  GGUF_TYPE_UINT8)
SETTER(i8,  int8_t,   GGUF_TYPE_INT8)
SETTER(u16, uint16_t, GGUF_TYPE_UINT16)
SETTER(i16, int16_t,  GGUF_TYPE_INT16)
SETTER(u32, uint32_t, GGUF_TYPE_UINT32)
SETTER(i32, int32_t,  GGUF_TYPE_INT32)
SETTER(f32, float,    GGUF_TYPE_FLOAT32)
SETTER(u64, uint64_t, GGUF_TYPE_UINT64)
SETTER(i64, int64_t,  GGUF_TYPE_INT64)
SETTER(f64, double,   GGUF_TYPE_FLOAT64)

void gguf_set_val_bool(struct gguf_context * ctx, const char * key, bool val) {
    const uint8_t b = val ? 1 : 0;
    set_scalar(ctx, key, GGUF_TYPE_BOOL, &b, "gguf_set_val_bool");
}

// n strings (with their lengths; lens NULL: strlen) copied into a new array.
static struct gguf_str * strs_copy(const char * const * data, const uint64_t * lens, size_t n) {
    struct gguf_str * strs = calloc(n ? n : 1, sizeof(struct gguf_str));
    if (strs == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char * s = data[i] ? data[i] : "";
        const size_t len = lens ? (size_t) lens[i] : strlen(s);
        strs[i].s = malloc(len + 1);
        if (strs[i].s == NULL) {
            for (size_t k = 0; k < i; k++) {
                free(strs[k].s);
            }
            free(strs);
            return NULL;
        }
        memcpy(strs[i].s, s, len);
        strs[i].s[len] = '\0';
        strs[i].n = len;
    }
    return strs;
}

void gguf_set_val_str(struct gguf_context * ctx, const char * key, const char * val) {
    if (val == NULL) {
        GGML_LOG_ERROR("gguf_set_val_str: NULL value for '%s'\n", key ? key : "(null)");
        return;
    }
    struct gguf_str * s = strs_copy(&val, NULL, 1);
    if (s == NULL) {
        GGML_LOG_ERROR("gguf_set_val_str: out of memory\n");
        return;
    }
    kv_put(ctx, key, false, GGUF_TYPE_STRING, 1, s, "gguf_set_val_str");
}

void gguf_set_arr_data(struct gguf_context * ctx, const char * key, enum gguf_type type, const void * data, size_t n) {
    if (!type_valid(type) || type == GGUF_TYPE_STRING || type == GGUF_TYPE_ARRAY) {
        GGML_LOG_ERROR("gguf_set_arr_data: '%s': element type %d is not a fixed-size type\n", key ? key : "(null)", (int) type);
        return;
    }
    const size_t es = type_table[type].size;
    if (n > SIZE_MAX / es || (data == NULL && n > 0)) {
        GGML_LOG_ERROR("gguf_set_arr_data: '%s': %zu elements of NULL data or too many\n", key ? key : "(null)", n);
        return;
    }
    void * copy = malloc(n > 0 ? n * es : 1);
    if (copy == NULL) {
        GGML_LOG_ERROR("gguf_set_arr_data: out of memory for %zu bytes\n", n * es);
        return;
    }
    if (n) {
        memcpy(copy, data, n * es);
    }
    kv_put(ctx, key, true, type, n, copy, "gguf_set_arr_data");
}

void gguf_set_arr_str(struct gguf_context * ctx, const char * key, const char ** data, size_t n) {
    if (data == NULL && n > 0) {
        GGML_LOG_ERROR("gguf_set_arr_str: '%s': NULL data\n", key ? key : "(null)");
        return;
    }
    struct gguf_str * strs = strs_copy(data, NULL, n);
    if (strs == NULL) {
        GGML_LOG_ERROR("gguf_set_arr_str: out of memory\n");
        return;
    }
    kv_put(ctx, key, true, GGUF_TYPE_STRING, n, strs, "gguf_set_arr_str");
}

void gguf_set_kv(struct gguf_context * ctx, const struct gguf_context * src) {
    if (ctx == NULL || src == NULL || ctx == src) {
        return;
    }
    for (int64_t i = 0; i < src->n_kv; i++) {
        const struct gguf_kv * kv = &src->kv[i];
        void * copy;
        if (kv->type == GGUF_TYPE_STRING) {
            const struct gguf_str * strs = kv->data;
            const char ** ptrs = malloc((size_t) (kv->n ? kv->n : 1) * sizeof(char *));
            uint64_t * lens = malloc((size_t) (kv->n ? kv->n : 1) * sizeof(uint64_t));
            copy = NULL;
            if (ptrs != NULL && lens != NULL) {
                for (uint64_t k = 0; k < kv->n; k++) {
                    ptrs[k] = strs[k].s;
                    lens[k] = strs[k].n;
                }
                copy = strs_copy(ptrs, lens, (size_t) kv->n);
            }
            free(ptrs);
            free(lens);
        } else {
            const size_t bytes = (size_t) kv->n * type_table[kv->type].size;
            copy = malloc(bytes ? bytes : 1);
            if (copy != NULL) {
                memcpy(copy, kv->data, bytes);
            }
        }
        if (copy == NULL) {
            GGML_LOG_ERROR("gguf_set_kv: out of memory copying '%s'\n", kv->key);
            return;
        }
        kv_put(ctx, kv->key, kv->is_array, kv->type, kv->n, copy, "gguf_set_kv");
    }
}

void gguf_add_tensor(struct gguf_context * ctx, const struct ggml_tensor * tensor) {
    if (ctx == NULL || tensor == NULL) {
        GGML_LOG_ERROR("gguf_add_tensor: NULL context or tensor\n");
        return;
    }
    if (gguf_find_tensor(ctx, tensor->name) >= 0) {
        GGML_LOG_ERROR("gguf_add_tensor: duplicate tensor name '%s'; ignored\n", tensor->name);
        return;
    }
    struct gguf_tensor_info ti;
    memset(&ti, 0, sizeof(ti));
    memcpy(ti.name, tensor->name, sizeof(ti.name));
    ti.name[GGML_MAX_NAME - 1] = '\0';
    ti.n_dims = (uint32_t) ggml_n_dims(tensor);
    memcpy(ti.ne, tensor->ne, sizeof(ti.ne));
    ti.type = tensor->type;
    ti.data = tensor->data;
    if (!tensor_nbytes(ti.type, ti.ne, &ti.size)) {
        GGML_LOG_ERROR("gguf_add_tensor: '%s': unknown type or a size that overflows; ignored\n", tensor->name);
        return;
    }
    if (!gga_grow((void **) &ctx->info, &ctx->cap_info, ctx->n_info + 1, sizeof(struct gguf_tensor_info))) {
        GGML_LOG_ERROR("gguf_add_tensor: out of memory\n");
        return;
    }
    ctx->info[ctx->n_info++] = ti;
    relayout(ctx);
}

void gguf_set_tensor_type(struct gguf_context * ctx, const char * name, enum ggml_type type) {
    const int64_t id = gguf_find_tensor(ctx, name);
    if (id < 0) {
        GGML_LOG_ERROR("gguf_set_tensor_type: no tensor '%s'\n", name ? name : "(null)");
        return;
    }
    struct gguf_tensor_info * ti = &ctx->info[id];
    size_t size;
    if ((int) type < 0 || type >= GGML_TYPE_COUNT || !tensor_nbytes(type, ti->ne, &size)) {
        GGML_LOG_ERROR("gguf_set_tensor_type: '%s' [%" PRId64 ", ...] cannot have type %d\n", name, ti->ne[0], (int) type);
        return;
    }
    ti->type = type;
    ti->size = size;
    relayout(ctx);
}

void gguf_set_tensor_data(struct gguf_context * ctx, const char * name, const void * data) {
    const int64_t id = gguf_find_tensor(ctx, name);
    if (id < 0) {
        GGML_LOG_ERROR("gguf_set_tensor_data: no tensor '%s'\n", name ? name : "(null)");
        return;
    }
    ctx->info[id].data = data;
}

//
// Writing
//

struct writer {
    uint8_t * out;  // NULL: only count
    size_t    pos;
};

static void wr(struct writer * w, const void * p, size_t n) {
    if (w->out != NULL) {
        memcpy(w->out + w->pos, p, n);
    }
    w->pos += n;
}

static void wr_str(struct writer * w, const struct gguf_str * s) {
    wr(w, &s->n, sizeof(s->n));
    wr(w, s->s, (size_t) s->n);
}

// The metadata, padded; returns its size.
static size_t write_meta(const struct gguf_context * ctx, uint8_t * out) {
    struct writer w = { out, 0 };
    wr(&w, GGUF_MAGIC, 4);
    wr(&w, &ctx->version, sizeof(ctx->version));
    const int64_t n_tensors = ctx->n_info, n_kv = ctx->n_kv;
    wr(&w, &n_tensors, sizeof(n_tensors));
    wr(&w, &n_kv, sizeof(n_kv));
    for (int64_t i = 0; i < ctx->n_kv; i++) {
        const struct gguf_kv * kv = &ctx->kv[i];
        const struct gguf_str key = { strlen(kv->key), kv->key };
        wr_str(&w, &key);
        const int32_t t = kv->is_array ? GGUF_TYPE_ARRAY : (int32_t) kv->type;
        wr(&w, &t, sizeof(t));
        if (kv->is_array) {
            const int32_t et = (int32_t) kv->type;
            wr(&w, &et, sizeof(et));
            wr(&w, &kv->n, sizeof(kv->n));
        }
        if (kv->type == GGUF_TYPE_STRING) {
            const struct gguf_str * strs = kv->data;
            for (uint64_t k = 0; k < kv->n; k++) {
                wr_str(&w, &strs[k]);
            }
        } else {
            wr(&w, kv->data, (size_t) kv->n * type_table[kv->type].size);
        }
    }
    for (int64_t i = 0; i < ctx->n_info; i++) {
        const struct gguf_tensor_info * ti = &ctx->info[i];
        const struct gguf_str name = { strlen(ti->name), (char *) ti->name };
        wr_str(&w, &name);
        wr(&w, &ti->n_dims, sizeof(ti->n_dims));
        wr(&w, ti->ne, ti->n_dims * sizeof(int64_t));
        const int32_t t = (int32_t) ti->type;
        wr(&w, &t, sizeof(t));
        wr(&w, &ti->offset, sizeof(ti->offset));
    }
    const size_t padded = GGML_PAD(w.pos, ctx->alignment);
    if (out != NULL) {
        memset(out + w.pos, 0, padded - w.pos);
    }
    return padded;
}

size_t gguf_get_meta_size(const struct gguf_context * ctx) {
    return ctx ? write_meta(ctx, NULL) : 0;
}

void gguf_get_meta_data(const struct gguf_context * ctx, void * data) {
    if (ctx == NULL || data == NULL) {
        GGML_LOG_ERROR("gguf_get_meta_data: NULL context or data\n");
        return;
    }
    write_meta(ctx, data);
}

bool gguf_write_to_file(const struct gguf_context * ctx, const char * fname, bool only_meta) {
    if (ctx == NULL || fname == NULL) {
        GGML_LOG_ERROR("gguf_write_to_file: NULL context or file name\n");
        return false;
    }
    if (!only_meta) {
        for (int64_t i = 0; i < ctx->n_info; i++) {
            if (ctx->info[i].data == NULL && ctx->info[i].size > 0) {
                GGML_LOG_ERROR("gguf_write_to_file: %s: tensor '%s' has no data (gguf_set_tensor_data)\n", fname, ctx->info[i].name);
                return false;
            }
        }
    }
    const size_t meta_size = write_meta(ctx, NULL);
    uint8_t * meta = malloc(meta_size);
    if (meta == NULL) {
        GGML_LOG_ERROR("gguf_write_to_file: out of memory for %zu bytes of metadata\n", meta_size);
        return false;
    }
    write_meta(ctx, meta);
    FILE * f = fopen(fname, "wb");
    if (f == NULL) {
        GGML_LOG_ERROR("gguf_write_to_file: cannot open %s for writing: %s\n", fname, strerror(errno));
        free(meta);
        return false;
    }
    bool ok = fwrite(meta, 1, meta_size, f) == meta_size;
    free(meta);
    static const uint8_t zeros[256] = { 0 };
    for (int64_t i = 0; ok && !only_meta && i < ctx->n_info; i++) {
        const struct gguf_tensor_info * ti = &ctx->info[i];
        if (ti->size > 0) {
            ok = fwrite(ti->data, 1, ti->size, f) == ti->size;
        }
        size_t pad = GGML_PAD(ti->size, ctx->alignment) - ti->size;
        while (ok && pad > 0) {
            const size_t n = pad < sizeof(zeros) ? pad : sizeof(zeros);
            ok = fwrite(zeros, 1, n, f) == n;
            pad -= n;
        }
    }
    if (fclose(f) != 0) {
        ok = false;
    }
    if (!ok) {
        GGML_LOG_ERROR("gguf_write_to_file: writing %s failed: %s\n", fname, strerror(errno));
        remove(fname);
    }
    return ok;
}
