#pragma once

// A small strict JSON reader (RFC 8259) and a writer helper. Internal to the library; the
// functions carry the ggalloc_ prefix so that a program linking the static library next to
// another JSON library meets no clash.
//
// ggalloc_json_parse reads a whole document into a tree whose every node lives in one arena
// owned by the returned json_doc; ggalloc_json_doc_free releases it at once. Integers (numbers
// without fraction or exponent that fit in int64) keep their exact value; other numbers are
// doubles. Each value remembers its byte offset, and ggalloc_json_doc_position turns an offset
// into line:column, so that callers can point at the value they reject.
//
// json_buf is a growable byte buffer with helpers to write JSON text (escaped strings).

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_INT,     // an integer that fits in int64 (exact)
    JSON_DOUBLE,  // any other number
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
};

struct json_value;

struct json_member {
    const char *        key;      // NUL-terminated copy (key_len is the truth if it holds a NUL)
    size_t              key_len;
    struct json_value * value;
};

struct json_value {
    enum json_type type;
    size_t         pos;           // byte offset of its first character in the text
    union {
        bool    b;
        int64_t i;
        double  d;
        struct { const char * s; size_t len; } str;                 // NUL-terminated copy
        struct { struct json_value ** items; size_t n; } arr;
        struct { struct json_member * members; size_t n; } obj;      // keys are unique
    } u;
};

struct json_doc;

// Why a parse failed, where: 1-based line and column (columns count characters, not bytes).
struct json_error {
    int  line;
    int  column;
    char message[160];
};

// The nesting of arrays/objects the library's readers accept.
#define JSON_MAX_DEPTH 64

// Parses text[0..len) (no NUL needed). Returns NULL and fills *err (if not NULL) on malformed
// input: bad syntax, an empty document, invalid UTF-8, control characters in strings, unpaired
// surrogates, duplicate keys, numbers beyond double range, nesting deeper than max_depth,
// bytes after the value, or out of memory.
struct json_doc *         ggalloc_json_parse(const char * text, size_t len, int max_depth, struct json_error * err);
void                      ggalloc_json_doc_free(struct json_doc * doc); // NULL: no-op
const struct json_value * ggalloc_json_doc_root(const struct json_doc * doc);
// Line and column (1-based, columns in characters) of a byte offset of the parsed text.
void                      ggalloc_json_doc_position(const struct json_doc * doc, size_t pos, int * line, int * column);

// The member of an object with that key, or NULL (also when v is not an object).
const struct json_value * ggalloc_json_object_get(const struct json_value * v, const char * key);
// "null", "boolean", "integer", "number", "string", "array", "object".
const char *              ggalloc_json_type_name(enum json_type type);

// Length of the valid UTF-8 sequence at s[0..n), or 0 if there is none (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF).
size_t       ggalloc_json_utf8_len(const char * s, size_t n);
// s made fit for a log line in buf: control characters and bytes that are not UTF-8 become '?',
// and a string too long for buf is cut at a character boundary and ends in "...". Returns buf.
const char * ggalloc_json_show(const char * s, char * buf, size_t size);

//
// Writing
//

struct json_buf {
    char * data;    // NUL-terminated once anything was written
    size_t len;
    size_t cap;
    bool   ok;      // false once an allocation failed; later appends are dropped
};

void ggalloc_json_buf_init  (struct json_buf * b);
void ggalloc_json_buf_free  (struct json_buf * b);
void ggalloc_json_buf_append(struct json_buf * b, const char * s, size_t n);
void ggalloc_json_buf_puts  (struct json_buf * b, const char * s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void ggalloc_json_buf_printf(struct json_buf * b, const char * fmt, ...);
// Writes s[0..n) as a quoted JSON string. Bytes that are not valid UTF-8 are left out (a name
// cut inside a character by a fixed-size buffer), so the output is always valid JSON text.
void ggalloc_json_buf_string(struct json_buf * b, const char * s, size_t n);

#ifdef __cplusplus
}
#endif
