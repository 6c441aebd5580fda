// json.c — a strict JSON reader and a small writer helper.
//
// Reading is recursive descent over the bytes, one pass, no lookahead beyond a character. The
// recursion only goes as deep as the nesting, which is capped (max_depth), so a hostile
// document of a million '[' costs one error message, not the stack.
//
// Memory: every node of the tree, string and member array is carved from one arena (a list of
// large chunks), so a document is freed with one call and a failed parse frees everything by
// dropping the arena. The elements of an array (members of an object) are not known in number
// until its closing bracket, so they are pushed on a parser-wide stack first and copied into an
// array of the exact size when the bracket closes; nested containers are complete by then, so
// one stack serves all levels. A parse therefore costs O(text) time and about two pointers per
// value beyond the values themselves.
//
// Duplicate keys are an error (a reader that silently keeps the first or last of two "nbytes"
// would check the wrong one); they are found by comparing all pairs in a small object and by
// sorting the keys of a larger one, O(k log k).
//
// Strings are decoded into fresh copies: escapes including \uXXXX and surrogate pairs become
// UTF-8; raw bytes must be valid UTF-8 (no overlong forms, no surrogates, nothing past
// U+10FFFF) and control characters must be escaped, as RFC 8259 requires.
//
// Numbers without fraction or exponent that fit in int64 are kept exactly; any other number is
// converted with strtod (whatever the locale's decimal point) and must be finite.

#include "align.h"
#include "json.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//
// Arena
//

#define JSON_ARENA_CHUNK (64 * 1024)
#define JSON_ARENA_ALIGN 16

struct json_chunk {
    struct json_chunk * next;
    size_t              size;
    size_t              used;
    // the bytes follow, aligned to JSON_ARENA_ALIGN
};

struct json_doc {
    struct json_chunk * chunks;
    struct json_value * root;
    const char *        text;   // the caller's text, for positions
    size_t              len;
};

static size_t json_chunk_header(void) {
    return gga_align_up(sizeof(struct json_chunk), JSON_ARENA_ALIGN);
}

static void * json_arena_alloc(struct json_doc * doc, size_t size) {
    size = gga_align_up(size, JSON_ARENA_ALIGN);
    struct json_chunk * c = doc->chunks;
    if (c == NULL || c->size - c->used < size) {
        size_t want = size > JSON_ARENA_CHUNK ? size : JSON_ARENA_CHUNK;
        if (want > SIZE_MAX - json_chunk_header()) {
            return NULL;
        }
        c = malloc(json_chunk_header() + want);
        if (c == NULL) {
            return NULL;
        }
        c->size = want;
        c->used = 0;
        // a large one-off block goes behind the current chunk so its free space stays usable
        if (doc->chunks != NULL && want > JSON_ARENA_CHUNK) {
            c->next = doc->chunks->next;
            doc->chunks->next = c;
        } else {
            c->next = doc->chunks;
            doc->chunks = c;
        }
    }
    void * p = (char *) c + json_chunk_header() + c->used;
    c->used += size;
    return p;
}

void ggalloc_json_doc_free(struct json_doc * doc) {
    if (doc == NULL) {
        return;
    }
    struct json_chunk * c = doc->chunks;
    while (c != NULL) {
        struct json_chunk * next = c->next;
        free(c);
        c = next;
    }
    free(doc);
}

const struct json_value * ggalloc_json_doc_root(const struct json_doc * doc) {
    return doc != NULL ? doc->root : NULL;
}

static void json_position(const char * text, size_t len, size_t pos, int * line, int * column) {
    if (pos > len) {
        pos = len;
    }
    int l = 1;
    int c = 1;
    for (size_t i = 0; i < pos; i++) {
        unsigned char ch = (unsigned char) text[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) { // continuation bytes do not start a character
            c++;
        }
    }
    if (line)   *line   = l;
    if (column) *column = c;
}

void ggalloc_json_doc_position(const struct json_doc * doc, size_t pos, int * line, int * column) {
    if (doc == NULL) {
        if (line)   *line   = 0;
        if (column) *column = 0;
        return;
    }
    json_position(doc->text, doc->len, pos, line, column);
}

//
// Parser
//

struct json_pending_member {
    struct json_member m;
    size_t             key_pos;
};

struct json_parser {
    const char *        s;
    size_t              len;
    size_t              i;
    int                 max_depth;
    struct json_doc *   doc;

    // elements of the arrays being read, innermost last
    struct json_value ** vstack;
    size_t               vlen;
    size_t               vcap;
    // members of the objects being read, innermost last
    struct json_pending_member * mstack;
    size_t                       mlen;
    size_t                       mcap;

    bool   failed;
    size_t err_pos;
    char   err_msg[160];
};

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void json_fail(struct json_parser * p, size_t pos, const char * fmt, ...) {
    if (p->failed) {
        return; // the first error is the one that explains
    }
    p->failed = true;
    p->err_pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err_msg, sizeof(p->err_msg), fmt, ap);
    va_end(ap);
}

static void json_fail_oom(struct json_parser * p) {
    json_fail(p, p->i, "out of memory");
}

static void * json_alloc(struct json_parser * p, size_t size) {
    void * ptr = json_arena_alloc(p->doc, size);
    if (ptr == NULL) {
        json_fail_oom(p);
    }
    return ptr;
}

static void json_skip_ws(struct json_parser * p) {
    while (p->i < p->len) {
        char c = p->s[p->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            break;
        }
        p->i++;
    }
}

// Describes the byte at i for a message: 'x', "end of input" or 0xNN.
static const char * json_describe(const struct json_parser * p, size_t i, char * buf, size_t size) {
    if (i >= p->len) {
        snprintf(buf, size, "end of input");
    } else {
        unsigned char c = (unsigned char) p->s[i];
        if (c >= 0x21 && c < 0x7F) {
            snprintf(buf, size, "'%c'", c);
        } else {
            snprintf(buf, size, "byte 0x%02X", c);
        }
    }
    return buf;
}

static struct json_value * json_new_value(struct json_parser * p, enum json_type type, size_t pos) {
    struct json_value * v = json_alloc(p, sizeof(*v));
    if (v != NULL) {
        memset(v, 0, sizeof(*v));
        v->type = type;
        v->pos  = pos;
    }
    return v;
}

static struct json_value * json_parse_value(struct json_parser * p, int depth);

static int json_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Reads 4 hex digits at p->i; -1 (and an error) if they are not there.
static long json_hex4(struct json_parser * p) {
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = p->i + k < p->len ? json_hex(p->s[p->i + k]) : -1;
        if (h < 0) {
            char d[32];
            json_fail(p, p->i + k, "expected 4 hex digits after \\u, found %s", json_describe(p, p->i + k, d, sizeof(d)));
            return -1;
        }
        v = v * 16 + h;
    }
    p->i += 4;
    return v;
}

static size_t json_put_utf8(char * out, unsigned long cp) {
    if (cp < 0x80) {
        out[0] = (char) cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char) (0xC0 | (cp >> 6));
        out[1] = (char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char) (0xE0 | (cp >> 12));
        out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char) (0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char) (0xF0 | (cp >> 18));
    out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char) (0x80 | (cp & 0x3F));
    return 4;
}

// Length of the valid UTF-8 sequence at s[0..n), or 0 if it is not one (RFC 3629: no overlong
// forms, no surrogates, nothing past U+10FFFF).
size_t ggalloc_json_utf8_len(const char * str, size_t n) {
    const unsigned char * s = (const unsigned char *) str;
    if (n == 0) {
        return 0;
    }
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; // allowed range of the second byte
    if (c < 0x80) {
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t k = 2; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return len;
}

// Reads a string whose opening quote is at p->i into a fresh NUL-terminated copy.
static bool json_parse_string(struct json_parser * p, const char ** out, size_t * out_len) {
    const size_t start = p->i;
    // find the closing quote first: the decoded text is never longer than the raw one
    size_t end = start + 1;
    while (end < p->len && p->s[end] != '"') {
        end += p->s[end] == '\\' ? 2 : 1;
    }
    if (end >= p->len) {
        json_fail(p, start, "unterminated string");
        return false;
    }
    char * buf = json_alloc(p, end - start);
    if (buf == NULL) {
        return false;
    }
    size_t n = 0;
    p->i = start + 1;
    while (p->i < end) {
        unsigned char c = (unsigned char) p->s[p->i];
        if (c == '\\') {
            const size_t esc = p->i;
            char e = p->s[p->i + 1];
            p->i += 2;
            switch (e) {
                case '"':  buf[n++] = '"';  break;
                case '\\': buf[n++] = '\\'; break;
                case '/':  buf[n++] = '/';  break;
                case 'b':  buf[n++] = '\b'; break;
                case 'f':  buf[n++] = '\f'; break;
                case 'n':  buf[n++] = '\n'; break;
                case 'r':  buf[n++] = '\r'; break;
                case 't':  buf[n++] = '\t'; break;
                case 'u': {
                    long cp = json_hex4(p);
                    if (cp < 0) {
                        return false;
                    }
                    if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        json_fail(p, esc, "unpaired low surrogate \\u%04lX in a string", cp);
                        return false;
                    }
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (p->i + 1 >= end || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u') {
                            json_fail(p, esc, "high surrogate \\u%04lX is not followed by a low surrogate", cp);
                            return false;
                        }
                        p->i += 2;
                        long lo = json_hex4(p);
                        if (lo < 0) {
                            return false;
                        }
                        if (lo < 0xDC00 || lo > 0xDFFF) {
                            json_fail(p, esc, "high surrogate \\u%04lX is followed by \\u%04lX, not a low surrogate", cp, lo);
                            return false;
                        }
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    }
                    n += json_put_utf8(buf + n, (unsigned long) cp);
                    break;
                }
                default: {
                    char d[32];
                    json_fail(p, esc, "invalid escape \\%s in a string", json_describe(p, esc + 1, d, sizeof(d)));
                    return false;
                }
            }
        } else if (c < 0x20) {
            json_fail(p, p->i, "control character U+%04X in a string (it must be escaped)", c);
            return false;
        } else {
            size_t k = ggalloc_json_utf8_len(p->s + p->i, end - p->i);
            if (k == 0) {
                json_fail(p, p->i, "invalid UTF-8 byte 0x%02X in a string", c);
                return false;
            }
            memcpy(buf + n, p->s + p->i, k);
            n += k;
            p->i += k;
        }
    }
    buf[n] = 0;
    p->i = end + 1;
    *out = buf;
    *out_len = n;
    return true;
}

static bool json_is_digit(char c) {
    return c >= '0' && c <= '9';
}

static struct json_value * json_parse_number(struct json_parser * p) {
    const size_t start = p->i;
    size_t i = start;
    bool neg = false;
    if (i < p->len && p->s[i] == '-') {
        neg = true;
        i++;
    }
    if (i >= p->len || !json_is_digit(p->s[i])) {
        char d[32];
        json_fail(p, i, "expected a digit in a number, found %s", json_describe(p, i, d, sizeof(d)));
        return NULL;
    }
    // integer part: magnitude in uint64, noting overflow
    uint64_t mag = 0;
    bool overflow = false;
    if (p->s[i] == '0') {
        i++;
        if (i < p->len && json_is_digit(p->s[i])) {
            json_fail(p, start, "number with a leading zero");
            return NULL;
        }
    } else {
        while (i < p->len && json_is_digit(p->s[i])) {
            unsigned d = (unsigned) (p->s[i] - '0');
            if (mag > (UINT64_MAX - d) / 10) {
                overflow = true;
            } else {
                mag = mag * 10 + d;
            }
            i++;
        }
    }
    bool is_int = true;
    if (i < p->len && p->s[i] == '.') {
        is_int = false;
        i++;
        if (i >= p->len || !json_is_digit(p->s[i])) {
            char d[32];
            json_fail(p, i, "expected a digit after '.' in a number, found %s", json_describe(p, i, d, sizeof(d)));
            return NULL;
        }
        while (i < p->len && json_is_digit(p->s[i])) i++;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        is_int = false;
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->len || !json_is_digit(p->s[i])) {
            char d[32];
            json_fail(p, i, "expected a digit in the exponent of a number, found %s", json_describe(p, i, d, sizeof(d)));
            return NULL;
        }
        while (i < p->len && json_is_digit(p->s[i])) i++;
    }

    struct json_value * v = json_new_value(p, JSON_INT, start);
    if (v == NULL) {
        return NULL;
    }
    p->i = i;
    if (is_int && !overflow && (neg ? mag <= (uint64_t) INT64_MAX + 1 : mag <= (uint64_t) INT64_MAX)) {
        v->u.i = neg ? (mag == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) mag) : (int64_t) mag;
        return v;
    }
    // strtod needs a NUL-terminated copy; the text may not have one
    const size_t n = i - start;
    char small[64];
    char * tmp = n < sizeof(small) ? small : malloc(n + 1);
    if (tmp == NULL) {
        json_fail_oom(p);
        return NULL;
    }
    memcpy(tmp, p->s + start, n);
    tmp[n] = 0;
    char * end = NULL;
    double d = strtod(tmp, &end);
    if (end != tmp + n) {
        // strtod reads the decimal point of the current locale, which a host program may have
        // set to something other than '.'; JSON's is always '.'
        const char * point = localeconv()->decimal_point;
        char * dot = strchr(tmp, '.');
        if (dot != NULL && point != NULL && point[0] != 0 && point[1] == 0) {
            *dot = point[0];
            d = strtod(tmp, NULL);
        }
    }
    if (tmp != small) {
        free(tmp);
    }
    if (!isfinite(d)) {
        json_fail(p, start, "number out of range");
        return NULL;
    }
    v->type = JSON_DOUBLE;
    v->u.d  = d;
    return v;
}

static bool json_vpush(struct json_parser * p, struct json_value * v) {
    if (p->vlen == p->vcap) {
        size_t cap = p->vcap ? p->vcap * 2 : 64;
        struct json_value ** s = realloc(p->vstack, cap * sizeof(*s));
        if (s == NULL) {
            json_fail_oom(p);
            return false;
        }
        p->vstack = s;
        p->vcap = cap;
    }
    p->vstack[p->vlen++] = v;
    return true;
}

static bool json_mpush(struct json_parser * p, const struct json_pending_member * m) {
    if (p->mlen == p->mcap) {
        size_t cap = p->mcap ? p->mcap * 2 : 64;
        struct json_pending_member * s = realloc(p->mstack, cap * sizeof(*s));
        if (s == NULL) {
            json_fail_oom(p);
            return false;
        }
        p->mstack = s;
        p->mcap = cap;
    }
    p->mstack[p->mlen++] = *m;
    return true;
}

static struct json_value * json_parse_array(struct json_parser * p, int depth) {
    const size_t start = p->i;
    if (depth >= p->max_depth) {
        json_fail(p, start, "nesting deeper than %d levels", p->max_depth);
        return NULL;
    }
    p->i++;
    const size_t base = p->vlen;
    json_skip_ws(p);
    if (p->i < p->len && p->s[p->i] == ']') {
        p->i++;
    } else {
        for (;;) {
            struct json_value * item = json_parse_value(p, depth + 1);
            if (item == NULL || !json_vpush(p, item)) {
                return NULL;
            }
            json_skip_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->len && p->s[p->i] == ']') {
                p->i++;
                break;
            }
            char d[32];
            json_fail(p, p->i, "expected ',' or ']' after an array element, found %s", json_describe(p, p->i, d, sizeof(d)));
            return NULL;
        }
    }
    struct json_value * v = json_new_value(p, JSON_ARRAY, start);
    if (v == NULL) {
        return NULL;
    }
    const size_t n = p->vlen - base;
    if (n > 0) {
        v->u.arr.items = json_alloc(p, n * sizeof(struct json_value *));
        if (v->u.arr.items == NULL) {
            return NULL;
        }
        memcpy(v->u.arr.items, p->vstack + base, n * sizeof(struct json_value *));
    }
    v->u.arr.n = n;
    p->vlen = base;
    return v;
}

static int json_member_cmp(const void * a, const void * b) {
    const struct json_pending_member * x = *(const struct json_pending_member * const *) a;
    const struct json_pending_member * y = *(const struct json_pending_member * const *) b;
    if (x->m.key_len != y->m.key_len) {
        return x->m.key_len < y->m.key_len ? -1 : 1;
    }
    int c = memcmp(x->m.key, y->m.key, x->m.key_len);
    if (c != 0) {
        return c;
    }
    // equal keys: the later one is the duplicate, so order by position
    return x->key_pos < y->key_pos ? -1 : (x->key_pos > y->key_pos ? 1 : 0);
}

// The pending members [base, mlen) must have distinct keys.
static bool json_check_unique(struct json_parser * p, size_t base) {
    const size_t n = p->mlen - base;
    if (n < 2) {
        return true;
    }
    const struct json_pending_member * dup = NULL;
    if (n <= 16) {
        for (size_t a = base; a < p->mlen && dup == NULL; a++) {
            for (size_t b = base; b < a; b++) {
                if (p->mstack[a].m.key_len == p->mstack[b].m.key_len &&
                    memcmp(p->mstack[a].m.key, p->mstack[b].m.key, p->mstack[a].m.key_len) == 0) {
                    dup = &p->mstack[a];
                    break;
                }
            }
        }
    } else {
        const struct json_pending_member ** sorted = malloc(n * sizeof(*sorted));
        if (sorted == NULL) {
            json_fail_oom(p);
            return false;
        }
        for (size_t k = 0; k < n; k++) {
            sorted[k] = &p->mstack[base + k];
        }
        qsort(sorted, n, sizeof(*sorted), json_member_cmp);
        for (size_t k = 1; k < n; k++) {
            if (sorted[k]->m.key_len == sorted[k - 1]->m.key_len &&
                memcmp(sorted[k]->m.key, sorted[k - 1]->m.key, sorted[k]->m.key_len) == 0) {
                if (dup == NULL || sorted[k]->key_pos < dup->key_pos) {
                    dup = sorted[k];
                }
            }
        }
        free(sorted);
    }
    if (dup != NULL) {
        char shown[64];
        json_fail(p, dup->key_pos, "duplicate key \"%s\" in an object", ggalloc_json_show(dup->m.key, shown, sizeof(shown)));
        return false;
    }
    return true;
}

static struct json_value * json_parse_object(struct json_parser * p, int depth) {
    const size_t start = p->i;
    if (depth >= p->max_depth) {
        json_fail(p, start, "nesting deeper than %d levels", p->max_depth);
        return NULL;
    }
    p->i++;
    const size_t base = p->mlen;
    json_skip_ws(p);
    if (p->i < p->len && p->s[p->i] == '}') {
        p->i++;
    } else {
        for (;;) {
            json_skip_ws(p);
            struct json_pending_member m;
            m.key_pos = p->i;
            if (p->i >= p->len || p->s[p->i] != '"') {
                char d[32];
                json_fail(p, p->i, "expected a string key in an object, found %s", json_describe(p, p->i, d, sizeof(d)));
                return NULL;
            }
            if (!json_parse_string(p, &m.m.key, &m.m.key_len)) {
                return NULL;
            }
            json_skip_ws(p);
            if (p->i >= p->len || p->s[p->i] != ':') {
                char d[32];
                json_fail(p, p->i, "expected ':' after an object key, found %s", json_describe(p, p->i, d, sizeof(d)));
                return NULL;
            }
            p->i++;
            m.m.value = json_parse_value(p, depth + 1);
            if (m.m.value == NULL || !json_mpush(p, &m)) {
                return NULL;
            }
            json_skip_ws(p);
            if (p->i < p->len && p->s[p->i] == ',') {
                p->i++;
                continue;
            }
            if (p->i < p->len && p->s[p->i] == '}') {
                p->i++;
                break;
            }
            char d[32];
            json_fail(p, p->i, "expected ',' or '}' after an object member, found %s", json_describe(p, p->i, d, sizeof(d)));
            return NULL;
        }
    }
    if (!json_check_unique(p, base)) {
        return NULL;
    }
    struct json_value * v = json_new_value(p, JSON_OBJECT, start);
    if (v == NULL) {
        return NULL;
    }
    const size_t n = p->mlen - base;
    if (n > 0) {
        v->u.obj.members = json_alloc(p, n * sizeof(struct json_member));
        if (v->u.obj.members == NULL) {
            return NULL;
        }
        for (size_t k = 0; k < n; k++) {
            v->u.obj.members[k] = p->mstack[base + k].m;
        }
    }
    v->u.obj.n = n;
    p->mlen = base;
    return v;
}

static struct json_value * json_parse_literal(struct json_parser * p, const char * word, enum json_type type, bool b) {
    const size_t n = strlen(word);
    if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0) {
        json_fail(p, p->i, "invalid literal (expected %s)", word);
        return NULL;
    }
    struct json_value * v = json_new_value(p, type, p->i);
    if (v != NULL) {
        v->u.b = b;
        p->i += n;
    }
    return v;
}

static struct json_value * json_parse_value(struct json_parser * p, int depth) {
    json_skip_ws(p);
    if (p->i >= p->len) {
        json_fail(p, p->i, "unexpected end of input (expected a value)");
        return NULL;
    }
    const char c = p->s[p->i];
    switch (c) {
        case '{': return json_parse_object(p, depth);
        case '[': return json_parse_array(p, depth);
        case 't': return json_parse_literal(p, "true",  JSON_BOOL, true);
        case 'f': return json_parse_literal(p, "false", JSON_BOOL, false);
        case 'n': return json_parse_literal(p, "null",  JSON_NULL, false);
        case '"': {
            struct json_value * v = json_new_value(p, JSON_STRING, p->i);
            if (v == NULL || !json_parse_string(p, &v->u.str.s, &v->u.str.len)) {
                return NULL;
            }
            return v;
        }
        default:
            if (c == '-' || json_is_digit(c)) {
                return json_parse_number(p);
            }
            {
                char d[32];
                json_fail(p, p->i, "expected a value, found %s", json_describe(p, p->i, d, sizeof(d)));
            }
            return NULL;
    }
}

struct json_doc * ggalloc_json_parse(const char * text, size_t len, int max_depth, struct json_error * err) {
    struct json_parser p;
    memset(&p, 0, sizeof(p));
    p.s = text;
    p.len = text != NULL ? len : 0;
    p.max_depth = max_depth > 0 ? max_depth : JSON_MAX_DEPTH;

    p.doc = calloc(1, sizeof(struct json_doc));
    if (p.doc == NULL) {
        json_fail_oom(&p);
    } else {
        p.doc->text = p.s;
        p.doc->len  = p.len;
        json_skip_ws(&p);
        if (p.i >= p.len) {
            json_fail(&p, p.i, "empty document");
        } else {
            p.doc->root = json_parse_value(&p, 0);
            if (!p.failed) {
                json_skip_ws(&p);
                if (p.i < p.len) {
                    char d[32];
                    json_fail(&p, p.i, "unexpected %s after the document's value", json_describe(&p, p.i, d, sizeof(d)));
                }
            }
        }
    }
    free(p.vstack);
    free(p.mstack);
    if (p.failed) {
        if (err != NULL) {
            json_position(p.s, p.len, p.err_pos, &err->line, &err->column);
            snprintf(err->message, sizeof(err->message), "%s", p.err_msg);
        }
        ggalloc_json_doc_free(p.doc);
        return NULL;
    }
    return p.doc;
}

const struct json_value * ggalloc_json_object_get(const struct json_value * v, const char * key) {
    if (v == NULL || v->type != JSON_OBJECT || key == NULL) {
        return NULL;
    }
    const size_t n = strlen(key);
    for (size_t k = 0; k < v->u.obj.n; k++) {
        const struct json_member * m = &v->u.obj.members[k];
        if (m->key_len == n && memcmp(m->key, key, n) == 0) {
            return m->value;
        }
    }
    return NULL;
}

const char * ggalloc_json_type_name(enum json_type type) {
    switch (type) {
        case JSON_NULL:   return "null";
        case JSON_BOOL:   return "boolean";
        case JSON_INT:    return "integer";
        case JSON_DOUBLE: return "number";
        case JSON_STRING: return "string";
        case JSON_ARRAY:  return "array";
        case JSON_OBJECT: return "object";
    }
    return "?";
}

//
// Writer
//

void ggalloc_json_buf_init(struct json_buf * b) {
    b->data = NULL;
    b->len  = 0;
    b->cap  = 0;
    b->ok   = true;
}

void ggalloc_json_buf_free(struct json_buf * b) {
    if (b == NULL) {
        return;
    }
    free(b->data);
    ggalloc_json_buf_init(b);
}

static bool json_buf_reserve(struct json_buf * b, size_t extra) {
    if (!b->ok) {
        return false;
    }
    if (extra > SIZE_MAX / 2 - b->len) {
        b->ok = false;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        cap *= 2;
    }
    char * d = realloc(b->data, cap);
    if (d == NULL) {
        b->ok = false;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void ggalloc_json_buf_append(struct json_buf * b, const char * s, size_t n) {
    if (!json_buf_reserve(b, n)) {
        return;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void ggalloc_json_buf_puts(struct json_buf * b, const char * s) {
    ggalloc_json_buf_append(b, s, strlen(s));
}

void ggalloc_json_buf_printf(struct json_buf * b, const char * fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->ok = false;
        return;
    }
    if ((size_t) n < sizeof(small)) {
        ggalloc_json_buf_append(b, small, (size_t) n);
        return;
    }
    if (!json_buf_reserve(b, (size_t) n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t) n;
}

void ggalloc_json_buf_string(struct json_buf * b, const char * s, size_t n) {
    ggalloc_json_buf_append(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        // copy the longest run that needs no escaping at once
        size_t run = i;
        while (run < n) {
            unsigned char c = (unsigned char) s[run];
            if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
                break;
            }
            run++;
        }
        ggalloc_json_buf_append(b, s + i, run - i);
        i = run;
        if (i >= n) {
            break;
        }
        unsigned char c = (unsigned char) s[i];
        if (c >= 0x80) {
            size_t k = ggalloc_json_utf8_len(s + i, n - i);
            if (k == 0) {
                i++; // not UTF-8: leave the byte out
            } else {
                ggalloc_json_buf_append(b, s + i, k);
                i += k;
            }
            continue;
        }
        switch (c) {
            case '"':  ggalloc_json_buf_append(b, "\\\"", 2); break;
            case '\\': ggalloc_json_buf_append(b, "\\\\", 2); break;
            case '\b': ggalloc_json_buf_append(b, "\\b", 2);  break;
            case '\f': ggalloc_json_buf_append(b, "\\f", 2);  break;
            case '\n': ggalloc_json_buf_append(b, "\\n", 2);  break;
            case '\r': ggalloc_json_buf_append(b, "\\r", 2);  break;
            case '\t': ggalloc_json_buf_append(b, "\\t", 2);  break;
            default:   ggalloc_json_buf_printf(b, "\\u%04X", c); break;
        }
        i++;
    }
    ggalloc_json_buf_append(b, "\"", 1);
}

const char * ggalloc_json_show(const char * s, char * buf, size_t size) {
    if (size < 4) {
        if (size > 0) buf[0] = 0;
        return buf;
    }
    const size_t len = strlen(s);
    // a character is copied whole or masked as one '?'; if everything fits, nothing is cut,
    // otherwise "..." takes the place of what does not
    size_t total = 0;
    for (size_t i = 0; i < len;) {
        size_t k = ggalloc_json_utf8_len(s + i, len - i);
        total += k > 1 ? k : 1;
        i += k ? k : 1;
    }
    const size_t limit = total + 1 <= size ? size - 1 : size - 4;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t k = ggalloc_json_utf8_len(s + i, len - i);
        const bool printable = k > 1 || (k == 1 && (unsigned char) s[i] >= 0x20 && s[i] != 0x7F);
        const size_t out = printable ? k : 1;
        if (n + out > limit) {
            break;
        }
        if (printable) {
            memcpy(buf + n, s + i, k);
        } else {
            buf[n] = '?';
        }
        n += out;
        i += k ? k : 1;
    }
    if (total + 1 > size) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = 0;
    return buf;
}
