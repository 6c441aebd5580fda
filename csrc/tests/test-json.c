// Tests of the JSON reader (json.c) and of graph documents (graph-json.c): the shared graphs
// load with the fields their files give (and plan to the buffer sizes ggml measured on them),
// survive a save/load round trip field for field and byte for byte, every kind of bad document
// is refused with one message naming the place, and nine thousand mutated documents either load
// into a sound graph or are refused cleanly with exactly one message.

#include "ggalloc.h"
#include "json.h"
#include "check.h"

#include <inttypes.h>
#include <stdint.h>
#include <unistd.h>

#define SHARED_GRAPHS GGALLOC_DATA_DIR "/graphs/"

static void tmp_path(char * buf, size_t size, const char * what) {
    const char * dir = getenv("TMPDIR");
    snprintf(buf, size, "%s/ggalloc-test-json-%ld-%s", dir != NULL ? dir : "/tmp", (long) getpid(), what);
}

// Replaces the first occurrence of `from` (which must occur) in text by `to`; a new string.
static char * replace(const char * text, const char * from, const char * to) {
    const char * at = strstr(text, from);
    if (at == NULL) {
        fprintf(stderr, "replace: \"%s\" not found\n", from);
        return NULL;
    }
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char * out = malloc(n + 1);
    size_t pre = (size_t) (at - text);
    memcpy(out, text, pre);
    memcpy(out + pre, to, strlen(to));
    strcpy(out + pre + strlen(to), at + strlen(from));
    return out;
}

//
// The JSON reader
//

static void test_json_values(void) {
    const char * text =
        "{\"i\": 9223372036854775807, \"m\": -9223372036854775808, \"big\": 9223372036854775808,\n"
        " \"d\": -1.5e3, \"z\": -0, \"f\": 0.25, \"t\": true, \"n\": null, \"a\": [1, [2, []], {}],\n"
        " \"s\": \"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\\u0000x\", \"u\": \"h\xc3\xa9\"}";
    struct json_error err;
    struct json_doc * doc = ggalloc_json_parse(text, strlen(text), JSON_MAX_DEPTH, &err);
    CHECK(doc != NULL);
    if (doc == NULL) {
        fprintf(stderr, "%d:%d: %s\n", err.line, err.column, err.message);
        return;
    }
    const struct json_value * root = ggalloc_json_doc_root(doc);
    CHECK(root->type == JSON_OBJECT && root->u.obj.n == 11);
    const struct json_value * v = ggalloc_json_object_get(root, "i");
    CHECK(v->type == JSON_INT && v->u.i == INT64_MAX);
    v = ggalloc_json_object_get(root, "m");
    CHECK(v->type == JSON_INT && v->u.i == INT64_MIN);
    v = ggalloc_json_object_get(root, "big");
    CHECK(v->type == JSON_DOUBLE && v->u.d == 9223372036854775808.0);
    v = ggalloc_json_object_get(root, "d");
    CHECK(v->type == JSON_DOUBLE && v->u.d == -1500.0);
    v = ggalloc_json_object_get(root, "z");
    CHECK(v->type == JSON_INT && v->u.i == 0);
    v = ggalloc_json_object_get(root, "f");
    CHECK(v->type == JSON_DOUBLE && v->u.d == 0.25);
    CHECK(ggalloc_json_object_get(root, "t")->type == JSON_BOOL && ggalloc_json_object_get(root, "t")->u.b);
    CHECK(ggalloc_json_object_get(root, "n")->type == JSON_NULL);
    v = ggalloc_json_object_get(root, "a");
    CHECK(v->type == JSON_ARRAY && v->u.arr.n == 3);
    CHECK(v->u.arr.items[1]->type == JSON_ARRAY && v->u.arr.items[1]->u.arr.n == 2);
    CHECK(v->u.arr.items[1]->u.arr.items[1]->u.arr.n == 0);
    CHECK(v->u.arr.items[2]->type == JSON_OBJECT && v->u.arr.items[2]->u.obj.n == 0);
    v = ggalloc_json_object_get(root, "s");
    const char expect[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0x";
    CHECK(v->type == JSON_STRING && v->u.str.len == sizeof(expect) - 1 && memcmp(v->u.str.s, expect, sizeof(expect) - 1) == 0);
    v = ggalloc_json_object_get(root, "u");
    CHECK(v->type == JSON_STRING && strcmp(v->u.str.s, "h\xc3\xa9") == 0);
    CHECK(ggalloc_json_object_get(root, "missing") == NULL);
    // positions: "d" is on line 2, its value at column 7
    int line, col;
    ggalloc_json_doc_position(doc, ggalloc_json_object_get(root, "d")->pos, &line, &col);
    CHECK_EQ_INT(line, 2);
    CHECK_EQ_INT(col, 7);
    ggalloc_json_doc_free(doc);
    ggalloc_json_doc_free(NULL);
}

// Each malformed text is refused at the given line:column with a message containing `what`.
static void test_json_errors(void) {
    static const struct { const char * text; int line, col; const char * what; } cases[] = {
        { "",                          1, 1, "empty document" },
        { "  \n ",                     2, 2, "empty document" },
        { "{\"a\": 1,, }",             1, 9, "expected a string key" },
        { "[1, 2,\n 3,]",              2, 4, "expected a value" },
        { "{\"a\" 1}",                 1, 6, "expected ':'" },
        { "{\"a\": 1 \"b\": 2}",       1, 9, "expected ',' or '}'" },
        { "[1 2]",                     1, 4, "expected ',' or ']'" },
        { "[01]",                      1, 2, "leading zero" },
        { "[1.]",                      1, 4, "after '.'" },
        { "[1e]",                      1, 4, "exponent" },
        { "[-]",                       1, 3, "expected a digit" },
        { "[1e999]",                   1, 2, "out of range" },
        { "[tru]",                     1, 2, "invalid literal" },
        { "[nul",                      1, 2, "invalid literal" },
        { "\"abc",                     1, 1, "unterminated string" },
        { "[\"a\\qb\"]",               1, 4, "invalid escape" },
        { "[\"\\u12G4\"]",             1, 7, "hex digits" },
        { "[\"\\udc00\"]",             1, 3, "unpaired low surrogate" },
        { "[\"\\ud800x\"]",            1, 3, "not followed by a low surrogate" },
        { "[\"\\ud800\\u0041\"]",      1, 3, "not a low surrogate" },
        { "[\"a\tb\"]",                1, 4, "control character" },
        { "[\"\xc3\x28\"]",            1, 3, "invalid UTF-8" },
        { "[\"\xe0\x80\x80\"]",        1, 3, "invalid UTF-8" },   // overlong
        { "[\"\xed\xa0\x80\"]",        1, 3, "invalid UTF-8" },   // an encoded surrogate
        { "[\"\xf4\x90\x80\x80\"]",    1, 3, "invalid UTF-8" },   // past U+10FFFF
        { "{\"a\": 1, \"a\": 2}",      1, 10, "duplicate key \"a\"" },
        { "[1] [2]",                   1, 5, "after the document's value" },
        { "\xef\xbb\xbf[1]",           1, 1, "expected a value" },
        { "{\"k\": \"v\"}\n\n  }",     3, 3, "after the document's value" },
        { "[\"\xc3\xa9\xc3\xa9\", ?]", 1, 8, "found '?'" },        // columns count characters
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_error err;
        memset(&err, 0, sizeof(err));
        struct json_doc * doc = ggalloc_json_parse(cases[i].text, strlen(cases[i].text), JSON_MAX_DEPTH, &err);
        CHECK(doc == NULL);
        ggalloc_json_doc_free(doc);
        if (err.line != cases[i].line || err.column != cases[i].col || strstr(err.message, cases[i].what) == NULL) {
            fprintf(stderr, "case %zu (%s): got %d:%d: %s\n", i, cases[i].text, err.line, err.column, err.message);
        }
        CHECK_EQ_INT(err.line, cases[i].line);
        CHECK_EQ_INT(err.column, cases[i].col);
        CHECK(strstr(err.message, cases[i].what) != NULL);
    }

    // a duplicate among many keys (the sorted check) is found at its second occurrence
    struct json_buf b;
    ggalloc_json_buf_init(&b);
    ggalloc_json_buf_puts(&b, "{");
    for (int k = 0; k < 100; k++) {
        ggalloc_json_buf_printf(&b, "\"k%d\": %d, ", k, k);
    }
    ggalloc_json_buf_puts(&b, "\"k42\": 0}");
    struct json_error err;
    CHECK(ggalloc_json_parse(b.data, b.len, JSON_MAX_DEPTH, &err) == NULL);
    CHECK(strstr(err.message, "duplicate key \"k42\"") != NULL);
    CHECK_EQ_INT(err.column, (int) b.len - 8);
    ggalloc_json_buf_free(&b);

    // nesting: max_depth levels pass, one more is refused, a million do not reach the stack
    char deep[2 * JSON_MAX_DEPTH + 2];
    for (int k = 0; k < JSON_MAX_DEPTH; k++) {
        deep[k] = '[';
        deep[2 * JSON_MAX_DEPTH - 1 - k] = ']';
    }
    struct json_doc * doc = ggalloc_json_parse(deep, 2 * JSON_MAX_DEPTH, JSON_MAX_DEPTH, &err);
    CHECK(doc != NULL);
    ggalloc_json_doc_free(doc);
    CHECK(ggalloc_json_parse(deep, 2 * JSON_MAX_DEPTH, JSON_MAX_DEPTH - 1, &err) == NULL);
    CHECK(strstr(err.message, "nesting deeper than") != NULL);
    // objects and arrays in turn: {"a":[{"a":[... (two levels per 6 bytes)
    const size_t n_garbage = 6 * 200000;
    char * garbage = malloc(n_garbage);
    for (size_t k = 0; k < n_garbage; k += 6) {
        memcpy(garbage + k, "{\"a\":[", 6);
    }
    CHECK(ggalloc_json_parse(garbage, n_garbage, JSON_MAX_DEPTH, &err) == NULL);
    CHECK(strstr(err.message, "nesting deeper than 64") != NULL);
    CHECK_EQ_INT(err.line, 1);
    CHECK_EQ_INT(err.column, 6 * (JSON_MAX_DEPTH / 2) + 1);
    free(garbage);
}

static void test_json_writer(void) {
    struct json_buf b;
    ggalloc_json_buf_init(&b);
    // control characters are escaped, UTF-8 kept, a byte that is not UTF-8 left out
    const char s[] = "q\"b\\n\n\t\x01\xc3\xa9\xff!";
    ggalloc_json_buf_string(&b, s, sizeof(s) - 1);
    CHECK(b.ok);
    CHECK(strcmp(b.data, "\"q\\\"b\\\\n\\n\\t\\u0001\xc3\xa9!\"") == 0);
    // and it reads back as the same text minus the dropped byte
    struct json_doc * doc = ggalloc_json_parse(b.data, b.len, JSON_MAX_DEPTH, NULL);
    CHECK(doc != NULL);
    if (doc != NULL) {
        CHECK(strcmp(ggalloc_json_doc_root(doc)->u.str.s, "q\"b\\n\n\t\x01\xc3\xa9!") == 0);
    }
    ggalloc_json_doc_free(doc);
    // strings shown in messages: control characters and stray bytes masked, long ones cut
    // at a character boundary
    char shown[8];
    CHECK(strcmp(ggalloc_json_show("a\nb\xff", shown, sizeof(shown)), "a?b?") == 0);
    CHECK(strcmp(ggalloc_json_show("abcdefg", shown, sizeof(shown)), "abcdefg") == 0);
    CHECK(strcmp(ggalloc_json_show("abcdefgh", shown, sizeof(shown)), "abcd...") == 0);
    CHECK(strcmp(ggalloc_json_show("ab\xe2\x82\xac\xe2\x82\xac", shown, sizeof(shown)), "ab...") == 0);
    CHECK(strcmp(ggalloc_json_show("\xe2\x82\xac\xe2\x82\xac", shown, sizeof(shown)), "\xe2\x82\xac\xe2\x82\xac") == 0);
    // a long formatted piece goes past the small stack buffer
    ggalloc_json_buf_free(&b);
    ggalloc_json_buf_printf(&b, "%0600d|", 7);
    CHECK(b.len == 601 && b.data[599] == '7' && b.data[600] == '|');
    ggalloc_json_buf_free(&b);
}

//
// Graph documents
//

// Every field the format carries, compared between two tensors (src / view_src by the index
// of the tensor in its graph's node or leaf list).
static int graph_slot(struct ggml_cgraph * g, const struct ggml_tensor * t) {
    if (t == NULL) return -1000000;
    for (int i = 0; i < ggml_graph_n_nodes(g); i++) if (ggml_graph_node(g, i) == t) return i;
    for (int i = 0; i < ggalloc_graph_n_leafs(g); i++) if (ggalloc_graph_leaf(g, i) == t) return -1 - i;
    return -2000000;
}

static bool same_tensor(struct ggml_cgraph * ga, const struct ggml_tensor * a, struct ggml_cgraph * gb, const struct ggml_tensor * b) {
    bool same = a->type == b->type && a->op == b->op && a->flags == b->flags &&
                memcmp(a->ne, b->ne, sizeof(a->ne)) == 0 && memcmp(a->nb, b->nb, sizeof(a->nb)) == 0 &&
                memcmp(a->op_params, b->op_params, sizeof(a->op_params)) == 0 &&
                strcmp(a->name, b->name) == 0 && a->view_offs == b->view_offs &&
                graph_slot(ga, a->view_src) == graph_slot(gb, b->view_src) && ggml_nbytes(a) == ggml_nbytes(b);
    for (int k = 0; k < GGML_MAX_SRC && same; k++) {
        same = graph_slot(ga, a->src[k]) == graph_slot(gb, b->src[k]);
    }
    if (!same) {
        fprintf(stderr, "tensors differ: \"%s\" / \"%s\"\n", a->name, b->name);
    }
    return same;
}

static bool same_graph(struct ggml_cgraph * a, struct ggml_cgraph * b) {
    if (ggml_graph_n_nodes(a) != ggml_graph_n_nodes(b) || ggalloc_graph_n_leafs(a) != ggalloc_graph_n_leafs(b)) {
        return false;
    }
    for (int i = 0; i < ggml_graph_n_nodes(a); i++) {
        if (!same_tensor(a, ggml_graph_node(a, i), b, ggml_graph_node(b, i))) return false;
    }
    for (int i = 0; i < ggalloc_graph_n_leafs(a); i++) {
        if (!same_tensor(a, ggalloc_graph_leaf(a, i), b, ggalloc_graph_leaf(b, i))) return false;
    }
    return true;
}

// The tensor a document calls `id`, found through the nodes/leafs lists of the document.
static struct ggml_tensor * tensor_by_id(struct ggml_cgraph * g, const struct json_value * root, int64_t id) {
    const struct json_value * nodes = ggalloc_json_object_get(root, "nodes");
    const struct json_value * leafs = ggalloc_json_object_get(root, "leafs");
    for (size_t i = 0; i < nodes->u.arr.n; i++) if (nodes->u.arr.items[i]->u.i == id) return ggml_graph_node(g, (int) i);
    for (size_t i = 0; i < leafs->u.arr.n; i++) if (leafs->u.arr.items[i]->u.i == id) return ggalloc_graph_leaf(g, (int) i);
    return NULL;
}

// Compares every tensor of the loaded graph with its JSON object, read independently here.
static int check_against_document(struct ggml_cgraph * g, const char * text, size_t len) {
    struct json_doc * doc = ggalloc_json_parse(text, len, JSON_MAX_DEPTH, NULL);
    if (doc == NULL) return -1;
    const struct json_value * root = ggalloc_json_doc_root(doc);
    const struct json_value * tensors = ggalloc_json_object_get(root, "tensors");
    int mismatches = 0;
    for (size_t i = 0; i < tensors->u.arr.n; i++) {
        const struct json_value * o = tensors->u.arr.items[i];
        struct ggml_tensor * t = tensor_by_id(g, root, (int64_t) i);
        bool ok = t != NULL;
        ok = ok && strcmp(t->name, ggalloc_json_object_get(o, "name")->u.str.s) == 0;
        ok = ok && strcmp(ggml_type_name(t->type), ggalloc_json_object_get(o, "type")->u.str.s) == 0;
        ok = ok && strcmp(ggml_op_name(t->op), ggalloc_json_object_get(o, "op")->u.str.s) == 0;
        for (int d = 0; d < 4 && ok; d++) {
            ok = t->ne[d] == ggalloc_json_object_get(o, "ne")->u.arr.items[d]->u.i &&
                 (int64_t) t->nb[d] == ggalloc_json_object_get(o, "nb")->u.arr.items[d]->u.i;
        }
        const struct json_value * p = ggalloc_json_object_get(o, "op_params");
        for (int k = 0; k < (int) (GGML_MAX_OP_PARAMS / sizeof(int32_t)) && ok; k++) {
            ok = t->op_params[k] == (k < (int) p->u.arr.n ? p->u.arr.items[k]->u.i : 0);
        }
        const struct json_value * s = ggalloc_json_object_get(o, "src");
        for (int k = 0; k < GGML_MAX_SRC && ok; k++) {
            const struct json_value * e = k < (int) s->u.arr.n ? s->u.arr.items[k] : NULL;
            ok = t->src[k] == (e == NULL || e->type == JSON_NULL ? NULL : tensor_by_id(g, root, e->u.i));
        }
        const struct json_value * vs = ggalloc_json_object_get(o, "view_src");
        ok = ok && t->view_src == (vs->type == JSON_NULL ? NULL : tensor_by_id(g, root, vs->u.i));
        ok = ok && (int64_t) t->view_offs == ggalloc_json_object_get(o, "view_offs")->u.i;
        ok = ok && (int64_t) ggml_nbytes(t) == ggalloc_json_object_get(o, "nbytes")->u.i;
        ok = ok && ((t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) != 0) == ggalloc_json_object_get(o, "external")->u.b;
        ok = ok && t->data == NULL && t->buffer == NULL;
        int32_t flags = 0;
        const struct json_value * f = ggalloc_json_object_get(o, "flags");
        for (size_t k = 0; k < f->u.arr.n; k++) {
            const char * fs = f->u.arr.items[k]->u.str.s;
            flags |= strcmp(fs, "input") == 0 ? GGML_TENSOR_FLAG_INPUT : strcmp(fs, "output") == 0 ? GGML_TENSOR_FLAG_OUTPUT :
                     strcmp(fs, "param") == 0 ? GGML_TENSOR_FLAG_PARAM : GGML_TENSOR_FLAG_LOSS;
        }
        ok = ok && (t->flags & ~GGALLOC_TENSOR_FLAG_EXTERNAL) == flags;
        if (t != NULL && t->op == GGML_OP_UNARY) {
            ok = ok && strcmp(ggml_unary_op_name(ggml_get_unary_op(t)), ggalloc_json_object_get(o, "unary")->u.str.s) == 0;
        }
        if (!ok) {
            fprintf(stderr, "tensor %zu differs from its document\n", i);
            mismatches++;
        }
    }
    ggalloc_json_doc_free(doc);
    return mismatches;
}

static void test_shared_graphs(void) {
    static const struct { const char * file; int n_nodes, n_leafs; } graphs[] = {
        { "mlp-4x1024-b256.json",        12,   9 },
        { "gpt2-small-prefill-512.json", 487, 153 },
        { "gpt2-small-decode-1.json",    487, 153 },
    };
    for (size_t i = 0; i < sizeof(graphs) / sizeof(graphs[0]); i++) {
        char path[1024];
        snprintf(path, sizeof(path), SHARED_GRAPHS "%s", graphs[i].file);
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = ggalloc_graph_load_json(path, &ctx);
        CHECK(g != NULL && ctx != NULL);
        if (g == NULL) continue;
        CHECK_EQ_INT(ggml_graph_n_nodes(g), graphs[i].n_nodes);
        CHECK_EQ_INT(ggalloc_graph_n_leafs(g), graphs[i].n_leafs);
        CHECK(ggml_get_no_alloc(ctx));

        size_t len = 0;
        char * text = check_read_file(path, &len);
        CHECK(text != NULL);
        if (text != NULL) {
            CHECK_EQ_INT(check_against_document(g, text, len), 0);
        }

        // round trip: the saved document equals the original except for its "source" line,
        // loads into the same graph, and saving that again gives the same bytes
        char out1[512], out2[512];
        tmp_path(out1, sizeof(out1), "round1.json");
        tmp_path(out2, sizeof(out2), "round2.json");
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int) (strlen(graphs[i].file) - 5), graphs[i].file);
        CHECK(ggalloc_graph_save_json(g, out1, name));
        struct ggml_context * ctx2 = NULL;
        struct ggml_cgraph * g2 = ggalloc_graph_load_json(out1, &ctx2);
        CHECK(g2 != NULL);
        if (g2 != NULL) {
            CHECK(same_graph(g, g2));
            CHECK(ggalloc_graph_save_json(g2, out2, name));
        }
        size_t len1 = 0, len2 = 0;
        char * t1 = check_read_file(out1, &len1);
        char * t2 = check_read_file(out2, &len2);
        CHECK(t1 != NULL && t2 != NULL && len1 == len2 && memcmp(t1, t2, len1) == 0);
        if (t1 != NULL && text != NULL) {
            char * a = strstr(text, "\"source\"");
            char * b = strstr(t1, "\"source\"");
            CHECK(a != NULL && b != NULL);
            if (a != NULL && b != NULL) {
                CHECK(a - text == b - t1 && memcmp(text, t1, (size_t) (a - text)) == 0);
                a = strchr(a, '\n');
                b = strchr(b, '\n');
                CHECK(a != NULL && b != NULL && strcmp(a, b) == 0);
            }
        }
        free(t1);
        free(t2);
        free(text);
        remove(out1);
        remove(out2);
        ggml_free(ctx2);
        ggml_free(ctx);
    }

    // spot checks against what the files say
    struct ggml_context * ctx = NULL;
    struct ggml_cgraph * g = ggalloc_graph_load_json(SHARED_GRAPHS "mlp-4x1024-b256.json", &ctx);
    if (g != NULL) {
        struct ggml_tensor * mm0 = ggml_graph_node(g, 0);          // id 9
        CHECK(strcmp(mm0->name, "mm-0") == 0 && mm0->op == GGML_OP_MUL_MAT);
        CHECK(mm0->ne[0] == 1024 && mm0->ne[1] == 256 && mm0->nb[1] == 4096 && mm0->nb[3] == 1048576);
        CHECK(mm0->src[0] == ggalloc_graph_leaf(g, 3) && mm0->src[1] == ggalloc_graph_leaf(g, 4) && mm0->src[2] == NULL);
        CHECK(strcmp(ggalloc_graph_leaf(g, 3)->name, "mlp.0.weight") == 0);
        CHECK(ggalloc_graph_leaf(g, 3)->flags == GGALLOC_TENSOR_FLAG_EXTERNAL);
        CHECK(ggalloc_graph_leaf(g, 4)->flags == GGML_TENSOR_FLAG_INPUT);        // inp_x
        struct ggml_tensor * out = ggml_graph_node(g, 11);          // id 20
        CHECK(strcmp(out->name, "out") == 0 && out->op == GGML_OP_UNARY);
        CHECK(ggml_get_unary_op(out) == GGML_UNARY_OP_GELU && out->op_params[0] == 8 && out->op_params[1] == 0);
        CHECK(out->flags == GGML_TENSOR_FLAG_OUTPUT);
        CHECK(ggml_nbytes(out) == 1048576);
    }
    ggml_free(ctx);
    ctx = NULL;
    g = ggalloc_graph_load_json(SHARED_GRAPHS "gpt2-small-decode-1.json", &ctx);
    if (g != NULL) {
        struct ggml_tensor * t = ggml_graph_node(g, 162 - 153);    // id 162 "memory_k (view)"
        CHECK(strcmp(t->name, "memory_k (view)") == 0 && t->op == GGML_OP_VIEW);
        CHECK(t->view_src == ggalloc_graph_leaf(g, 8) && t->view_offs == 1569792 && t->op_params[0] == 1569792);
        CHECK((t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) != 0);
        struct ggml_tensor * p = ggml_graph_node(g, 169 - 153);    // a permute of the KV cache
        CHECK(p->op == GGML_OP_PERMUTE && p->op_params[0] == 1 && p->op_params[1] == 2 && p->op_params[2] == 0 && p->op_params[3] == 3);
        CHECK(p->nb[0] == 3072 && p->nb[1] == 4 && p->ne[0] == 512);
        CHECK(ggalloc_graph_leaf(g, 0)->type == GGML_TYPE_F16 && ggalloc_graph_leaf(g, 2)->type == GGML_TYPE_I32);
        CHECK(strcmp(ggml_graph_node(g, 486)->name, "logits") == 0 && ggml_nbytes(ggml_graph_node(g, 486)) == 201028);
    }
    ggml_free(ctx);
}

// The loaded graphs carry everything a planner needs: ggml's own placement (GGALLOC_PLANNER_GGML)
// on them gives the buffer sizes ggml measured on the original graphs (ggml-sizes.json), so
// no flag, view or external mark was lost on the way.
static void test_shared_graph_sizes(void) {
    size_t len = 0;
    char * text = check_read_file(SHARED_GRAPHS "ggml-sizes.json", &len);
    CHECK(text != NULL);
    struct json_doc * doc = text != NULL ? ggalloc_json_parse(text, len, JSON_MAX_DEPTH, NULL) : NULL;
    CHECK(doc != NULL);
    const struct json_value * graphs = ggalloc_json_object_get(ggalloc_json_doc_root(doc), "graphs");
    CHECK(graphs != NULL && graphs->type == JSON_OBJECT && graphs->u.obj.n == 3);
    for (size_t i = 0; graphs != NULL && i < graphs->u.obj.n; i++) {
        const struct json_member * m = &graphs->u.obj.members[i];
        const struct json_value * want = ggalloc_json_object_get(m->value, "ggml_buffer_bytes");
        const struct json_value * n_nodes = ggalloc_json_object_get(m->value, "n_nodes");
        char path[1024];
        snprintf(path, sizeof(path), SHARED_GRAPHS "%s.json", m->key);
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = ggalloc_graph_load_json(path, &ctx);
        CHECK(g != NULL && want != NULL && n_nodes != NULL);
        if (g == NULL || want == NULL || n_nodes == NULL) continue;
        CHECK_EQ_INT(ggml_graph_n_nodes(g), n_nodes->u.i);
        ggml_gallocr_t galloc = ggml_gallocr_new(ggalloc_host_buffer_type(32, SIZE_MAX));
        ggalloc_gallocr_set_planner(galloc, GGALLOC_PLANNER_GGML);
        CHECK(ggml_gallocr_reserve(galloc, g));
        CHECK_EQ_INT(ggml_gallocr_get_buffer_size(galloc, 0), want->u.i);
        // once placed, the graph still saves as the same document: tensors in the compute
        // buffer are not external, the ones marked external stay so
        char out[512];
        tmp_path(out, sizeof(out), "placed.json");
        CHECK(ggml_gallocr_alloc_graph(galloc, g));
        CHECK(ggml_graph_node(g, 0)->data != NULL && ggml_graph_node(g, 0)->buffer != NULL);
        CHECK(ggalloc_graph_save_json(g, out, m->key));
        size_t len_orig = 0, len_out = 0;
        char * orig = check_read_file(path, &len_orig);
        char * saved = check_read_file(out, &len_out);
        CHECK(orig != NULL && saved != NULL);
        if (orig != NULL && saved != NULL) {
            // equal but for the "source" line
            const char * a = strstr(orig, "\"source\"");
            const char * b = strstr(saved, "\"source\"");
            CHECK(a != NULL && b != NULL && a - orig == b - saved && memcmp(orig, saved, (size_t) (a - orig)) == 0);
            CHECK(a != NULL && b != NULL && strcmp(strchr(a, '\n'), strchr(b, '\n')) == 0);
        }
        free(orig);
        free(saved);
        remove(out);
        ggml_gallocr_free(galloc);
        ggml_free(ctx);
    }
    ggalloc_json_doc_free(doc);
    free(text);
}

// A hand-sized graph: two leafs, their sum, and a view of the sum.
static const char * small_doc =
    "{\n"
    "  \"format\": \"ggalloc.graph/1\",\n"
    "  \"name\": \"small\",\n"
    "  \"source\": \"test-json.c\",\n"
    "  \"tensors\": [\n"
    "    {\"id\": 0, \"name\": \"a\", \"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"NONE\", \"op_params\": [], \"src\": [], \"view_src\": null, \"view_offs\": 0, \"flags\": [\"input\"], \"external\": false, \"nbytes\": 32},\n"
    "    {\"id\": 1, \"name\": \"w\", \"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"NONE\", \"op_params\": [], \"src\": [], \"view_src\": null, \"view_offs\": 0, \"flags\": [], \"external\": true, \"nbytes\": 32},\n"
    "    {\"id\": 2, \"name\": \"sum\", \"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\", \"op_params\": [], \"src\": [0, 1], \"view_src\": null, \"view_offs\": 0, \"flags\": [], \"external\": false, \"nbytes\": 32},\n"
    "    {\"id\": 3, \"name\": \"row1\", \"type\": \"f32\", \"ne\": [4, 1, 1, 1], \"nb\": [4, 16, 16, 16], \"op\": \"VIEW\", \"op_params\": [16], \"src\": [2], \"view_src\": 2, \"view_offs\": 16, \"flags\": [], \"external\": false, \"nbytes\": 16},\n"
    "    {\"id\": 4, \"name\": \"act\", \"type\": \"f32\", \"ne\": [4, 1, 1, 1], \"nb\": [4, 16, 16, 16], \"op\": \"UNARY\", \"unary\": \"RELU\", \"op_params\": [6], \"src\": [3], \"view_src\": null, \"view_offs\": 0, \"flags\": [\"output\"], \"external\": false, \"nbytes\": 16}\n"
    "  ],\n"
    "  \"nodes\": [2, 3, 4],\n"
    "  \"leafs\": [0, 1],\n"
    "  \"node_buffer_ids\": [0, 0, 1],\n"
    "  \"leaf_buffer_ids\": null\n"
    "}\n";

// Loads text that must be refused: NULL, *ctx untouched, exactly one error, and the message
// holds every one of the given pieces (the tensor, the field, the numbers).
static void expect_reject(const char * label, const char * text, size_t len, const char * const * pieces) {
    int sentinel = 0;
    struct ggml_context * ctx = (struct ggml_context *) &sentinel;
    log_capture_begin();
    struct ggml_cgraph * g = ggalloc_graph_load_json_string(text, len, &ctx);
    const char * log = log_capture_end();
    CHECK(g == NULL);
    CHECK(ctx == (struct ggml_context *) &sentinel);
    CHECK_EQ_INT(log_capture_errors, 1);
    bool all = true;
    for (int k = 0; pieces[k] != NULL; k++) {
        if (!log_captured(pieces[k])) {
            all = false;
        }
    }
    CHECK(all);
    if (g != NULL || !all || log_capture_errors != 1) {
        fprintf(stderr, "case \"%s\": log was: %s\n", label, log);
    }
}

static void reject_mutation(const char * label, const char * from, const char * to, const char * const * pieces) {
    char * text = replace(small_doc, from, to);
    CHECK(text != NULL);
    if (text != NULL) {
        expect_reject(label, text, strlen(text), pieces);
        free(text);
    }
}

#define PIECES(...) ((const char * const []) { __VA_ARGS__, NULL })

static void test_small_document(void) {
    struct ggml_context * ctx = NULL;
    int * node_ids = NULL;
    int * leaf_ids = (int *) &ctx; // must be reset to NULL: the document has null
    struct ggml_cgraph * g = ggalloc_graph_load_json_string_ex(small_doc, strlen(small_doc), &ctx, &node_ids, &leaf_ids, NULL);
    CHECK(g != NULL);
    if (g == NULL) return;
    CHECK_EQ_INT(ggml_graph_n_nodes(g), 3);
    CHECK_EQ_INT(ggalloc_graph_n_leafs(g), 2);
    CHECK(node_ids != NULL && node_ids[0] == 0 && node_ids[1] == 0 && node_ids[2] == 1);
    CHECK(leaf_ids == NULL);
    struct ggml_tensor * row1 = ggml_graph_node(g, 1);
    CHECK(row1->view_src == ggml_graph_node(g, 0) && row1->view_offs == 16 && ggml_nbytes(row1) == 16);
    CHECK(ggml_get_unary_op(ggml_graph_node(g, 2)) == GGML_UNARY_OP_RELU);
    CHECK(ggalloc_graph_leaf(g, 1)->flags == GGALLOC_TENSOR_FLAG_EXTERNAL);

    // the ids survive a save / load
    char path[512];
    tmp_path(path, sizeof(path), "small.json");
    const int leaf_in[2] = { 1, 0 };
    // and so do the ranks given for some tensors (a leading axis of 1 is still an axis)
    const struct ggml_tensor * ranked[2] = { ggml_graph_node(g, 2), ggalloc_graph_leaf(g, 0) };
    const int ranks[2] = { 3, 4 };
    CHECK(ggalloc_graph_save_json_ex(g, path, "small", node_ids, leaf_in, ranked, ranks, 2));
    struct ggml_context * ctx2 = NULL;
    int * node_ids2 = NULL, * leaf_ids2 = NULL, * ndims2 = NULL;
    struct ggml_cgraph * g2 = ggalloc_graph_load_json_ex(path, &ctx2, &node_ids2, &leaf_ids2, &ndims2);
    CHECK(g2 != NULL && same_graph(g, g2));
    CHECK(node_ids2 != NULL && memcmp(node_ids2, node_ids, 3 * sizeof(int)) == 0);
    CHECK(leaf_ids2 != NULL && leaf_ids2[0] == 1 && leaf_ids2[1] == 0);
    if (g2 != NULL && ndims2 != NULL) {
        int k = 0, seen = 0;
        for (struct ggml_tensor * t = ggml_get_first_tensor(ctx2); t != NULL; t = ggml_get_next_tensor(ctx2, t), k++) {
            const int want = t == ggml_graph_node(g2, 2) ? 3 : t == ggalloc_graph_leaf(g2, 0) ? 4 : -1;
            CHECK_EQ_INT(ndims2[k], want);
            seen += want >= 0;
        }
        CHECK_EQ_INT(seen, 2);
    }
    free(ndims2);
    log_capture_begin();
    const int bad_rank[1] = { 5 };
    CHECK(!ggalloc_graph_save_json_ex(g, path, "small", NULL, NULL, ranked, bad_rank, 1));
    log_capture_end();
    CHECK(log_captured("not 0..4"));
    // the plain loader ignores them
    struct ggml_context * ctx3 = NULL;
    struct ggml_cgraph * g3 = ggalloc_graph_load_json(path, &ctx3);
    CHECK(g3 != NULL && same_graph(g, g3));
    ggml_free(ctx3);
    free(node_ids2);
    free(leaf_ids2);
    ggml_free(ctx2);
    remove(path);

    // a graph the format cannot describe is refused before the file is touched
    struct ggml_tensor * act = ggml_graph_node(g, 2);
    act->op_params[0] = 99;
    log_capture_begin();
    CHECK(!ggalloc_graph_save_json(g, path, "small"));
    log_capture_end();
    CHECK(log_captured("tensor \"act\": unknown unary op 99"));
    act->op_params[0] = GGML_UNARY_OP_RELU;
    act->type = (enum ggml_type) 5; // a hole in ggml's type ids
    log_capture_begin();
    CHECK(!ggalloc_graph_save_json(g, path, "small"));
    log_capture_end();
    CHECK(log_captured("tensor \"act\": unknown type 5"));
    act->type = GGML_TYPE_F32;
    FILE * f = fopen(path, "rb");
    CHECK(f == NULL);
    if (f != NULL) fclose(f);
    free(node_ids);
    ggml_free(ctx);

    // a document whose tensors are all in place of nothing: empty lists are fine
    const char * empty = "{\"format\": \"ggalloc.graph/1\", \"tensors\": [], \"nodes\": [], \"leafs\": []}";
    ctx = NULL;
    g = ggalloc_graph_load_json_string(empty, strlen(empty), &ctx);
    CHECK(g != NULL && ggml_graph_n_nodes(g) == 0 && ggalloc_graph_n_leafs(g) == 0);
    ggml_free(ctx);
}

static void test_bad_documents(void) {
    // the classes graph-format.md names
    reject_mutation("format", "ggalloc.graph/1", "ggalloc.graph/2", PIECES("graph.json:2:13:", "format \"ggalloc.graph/2\"", "ggalloc.graph/1"));
    reject_mutation("src out of range", "\"src\": [0, 1]", "\"src\": [0, 5]", PIECES("tensor 2 \"sum\"", "src[1] = 5", "out of range", "5 tensors"));
    reject_mutation("negative src", "\"src\": [0, 1]", "\"src\": [-1, 1]", PIECES("tensor 2 \"sum\"", "src[0] = -1", "out of range"));
    reject_mutation("view_src out of range", "\"view_src\": 2", "\"view_src\": 77", PIECES("tensor 3 \"row1\"", "view_src = 77"));
    reject_mutation("node out of range", "\"nodes\": [2, 3, 4]", "\"nodes\": [2, 3, 9]", PIECES("nodes[2] = 9", "out of range"));
    reject_mutation("leaf out of range", "\"leafs\": [0, 1]", "\"leafs\": [0, -1]", PIECES("leafs[1] = -1", "out of range"));
    reject_mutation("cycle through src", "\"src\": [0, 1]", "\"src\": [0, 4]", PIECES("cycle", "src[", "tensor"));
    reject_mutation("self cycle", "\"src\": [3]", "\"src\": [4]", PIECES("tensor 4 \"act\"", "src[0] = 4", "cycle"));
    reject_mutation("cycle through view_src", "\"view_src\": 2, \"view_offs\": 16", "\"view_src\": 3, \"view_offs\": 0",
                    PIECES("tensor 3 \"row1\"", "view_src = 3 refers to the tensor itself (a cycle)"));
    reject_mutation("longer cycle through view_src", "\"view_src\": 2, \"view_offs\": 16", "\"view_src\": 4, \"view_offs\": 0",
                    PIECES("tensor 4 \"act\"", "src[0] = 3 \"row1\" closes a cycle"));
    reject_mutation("unknown type", "\"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    "\"type\": \"f33\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "unknown type \"f33\"", "graph.json:8:"));
    reject_mutation("unknown op", "\"op\": \"ADD\"", "\"op\": \"ADDD\"", PIECES("tensor 2 \"sum\"", "unknown op \"ADDD\""));
    reject_mutation("unknown op shown safely", "\"op\": \"ADD\"", "\"op\": \"A\\nD\\u0007D\"", PIECES("tensor 2 \"sum\"", "unknown op \"A?D?D\""));
    reject_mutation("type with a NUL", "\"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    "\"type\": \"f32\\u0000\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "unknown type \"f32\""));
    reject_mutation("op in lower case", "\"op\": \"ADD\"", "\"op\": \"add\"", PIECES("tensor 2 \"sum\"", "unknown op \"add\""));
    reject_mutation("unknown unary", "\"unary\": \"RELU\"", "\"unary\": \"RELUX\"", PIECES("tensor 4 \"act\"", "unknown unary op \"RELUX\""));
    reject_mutation("unary missing", "\"unary\": \"RELU\", ", "", PIECES("tensor 4 \"act\"", "missing field \"unary\""));
    reject_mutation("unary disagrees", "\"op_params\": [6]", "\"op_params\": [7]", PIECES("tensor 4 \"act\"", "unary RELU (6) disagrees with op_params[0] = 7"));
    reject_mutation("unary on another op", "\"op\": \"ADD\"", "\"op\": \"ADD\", \"unary\": \"RELU\"", PIECES("tensor 2 \"sum\"", "\"unary\" is only for op UNARY"));
    reject_mutation("nbytes", "\"nbytes\": 16}", "\"nbytes\": 20}", PIECES("tensor 3 \"row1\"", "nbytes 20 disagrees with ne/nb/type (16)"));
    reject_mutation("nbytes vs nb", "\"nb\": [4, 16, 16, 16], \"op\": \"VIEW\"", "\"nb\": [5, 16, 16, 16], \"op\": \"VIEW\"",
                    PIECES("tensor 3 \"row1\"", "nbytes 16 disagrees with ne/nb/type (19)"));
    reject_mutation("nbytes vs type", "\"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    "\"type\": \"f16\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "nbytes 32 disagrees with ne/nb/type (30)"));
    reject_mutation("too few sources", "\"src\": [0, 1]", "\"src\": [0]", PIECES("tensor 2 \"sum\"", "src has 1 entry, but ADD needs 2"));
    reject_mutation("too many sources", "\"src\": [0, 1]", "\"src\": [0, 1, 0]", PIECES("tensor 2 \"sum\"", "src has 3 entries, but ADD takes at most 2"));
    reject_mutation("null required source", "\"src\": [0, 1]", "\"src\": [null, 1]", PIECES("tensor 2 \"sum\"", "src[0] is null, but ADD needs 2"));
    reject_mutation("trailing null", "\"src\": [3]", "\"src\": [3, null]", PIECES("tensor 4 \"act\"", "src[1] is null with no source after it"));
    reject_mutation("sources on a leaf", "\"op\": \"NONE\", \"op_params\": [], \"src\": []", "\"op\": \"NONE\", \"op_params\": [], \"src\": [1]",
                    PIECES("tensor 0 \"a\"", "src has 1 entry, but NONE takes at most 0"));
    reject_mutation("view outside", "\"view_offs\": 16", "\"view_offs\": 20", PIECES("tensor 3 \"row1\"", "view_offs 20 + nbytes 16 lies outside view_src 2 \"sum\" (32 bytes)"));
    reject_mutation("view offset without view", "\"view_src\": null, \"view_offs\": 0, \"flags\": [\"output\"]",
                    "\"view_src\": null, \"view_offs\": 4, \"flags\": [\"output\"]", PIECES("tensor 4 \"act\"", "view_offs 4 without a view_src"));

    // the rest of the rules
    reject_mutation("id", "{\"id\": 1,", "{\"id\": 7,", PIECES("tensor 1 \"w\"", "id 7 is not its index 1"));
    reject_mutation("ne length", "\"ne\": [4, 1, 1, 1], \"nb\": [4, 16, 16, 16], \"op\": \"VIEW\"", "\"ne\": [4, 1, 1], \"nb\": [4, 16, 16, 16], \"op\": \"VIEW\"",
                    PIECES("tensor 3 \"row1\"", "ne has 3 entries, expected 4"));
    reject_mutation("nb length", "\"nb\": [4, 16, 32, 32], \"op\": \"ADD\"", "\"nb\": [4, 16, 32, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "nb has 5 entries, expected 4"));
    reject_mutation("negative ne", "\"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"", "\"ne\": [4, -2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "ne[1]: -2 is out of range"));
    reject_mutation("fractional ne", "\"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"", "\"ne\": [4.0, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "ne[0]: expected an integer, found number"));
    reject_mutation("zero stride", "\"nb\": [4, 16, 32, 32], \"op\": \"ADD\"", "\"nb\": [4, 0, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "nb[1] = 0 is smaller than one f32 element (4 bytes) although ne[1] = 2"));
    reject_mutation("stride inside an element", "\"nb\": [4, 16, 32, 32], \"op\": \"ADD\"", "\"nb\": [2, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "nb[0] = 2 is smaller than one f32 element (4 bytes) although ne[0] = 4"));
    reject_mutation("overflowing size", "\"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    "\"ne\": [4, 2, 4611686018427387904, 1], \"nb\": [4, 16, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "too large"));
    reject_mutation("overflowing strides", "\"nb\": [4, 16, 32, 32], \"op\": \"ADD\"", "\"nb\": [4, 9223372036854775807, 32, 32], \"op\": \"ADD\"",
                    PIECES("tensor 2 \"sum\"", "beyond 2^63"));
    reject_mutation("op_params too many", "\"op_params\": [16]", "\"op_params\": [16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
                    PIECES("tensor 3 \"row1\"", "op_params has 17 words, at most 16"));
    reject_mutation("op_params beyond int32", "\"op_params\": [16]", "\"op_params\": [2147483648]", PIECES("tensor 3 \"row1\"", "op_params[0]: 2147483648 is out of range"));
    reject_mutation("unknown flag", "\"flags\": [\"input\"]", "\"flags\": [\"inputs\"]", PIECES("tensor 0 \"a\"", "unknown flag \"inputs\""));
    reject_mutation("flag twice", "\"flags\": [\"input\"]", "\"flags\": [\"input\", \"input\"]", PIECES("tensor 0 \"a\"", "flag \"input\" given twice"));
    reject_mutation("external type", "\"external\": true", "\"external\": 1", PIECES("tensor 1 \"w\"", "external: expected a boolean, found integer"));
    reject_mutation("unknown field", "\"nbytes\": 32}", "\"nbytes\": 32, \"grad\": null}", PIECES("tensor 0 \"a\"", "unknown field \"grad\""));
    reject_mutation("missing field", "\"view_offs\": 16, ", "", PIECES("tensor 3 \"row1\"", "missing field \"view_offs\""));
    reject_mutation("name not a string", "\"name\": \"w\"", "\"name\": 5", PIECES("tensor 1:", "name: expected a string, found integer"));
    reject_mutation("name with NUL", "\"name\": \"w\"", "\"name\": \"w\\u0000x\"", PIECES("tensor 1:", "name contains a NUL"));
    reject_mutation("name too long", "\"name\": \"w\"", "\"name\": \"0123456789012345678901234567890123456789012345678901234567890123\"",
                    PIECES("tensor 1:", "name of 64 bytes is longer than 63"));
    reject_mutation("tensor not an object", "{\"id\": 1,", "[], {\"id\": 1,", PIECES("tensor 1:", "tensors[]: expected an object, found array"));
    reject_mutation("node twice", "\"nodes\": [2, 3, 4]", "\"nodes\": [2, 3, 3]", PIECES("tensor 3 \"row1\"", "listed as nodes[2] but already as nodes[1]"));
    reject_mutation("node and leaf", "\"leafs\": [0, 1]", "\"leafs\": [0, 2]", PIECES("tensor 2 \"sum\"", "listed as leafs[1] but already as nodes[0]"));
    reject_mutation("buffer ids length", "\"node_buffer_ids\": [0, 0, 1]", "\"node_buffer_ids\": [0, 0]", PIECES("\"node_buffer_ids\" has 2 entries, but there are 3 nodes"));
    reject_mutation("buffer id negative", "\"node_buffer_ids\": [0, 0, 1]", "\"node_buffer_ids\": [0, -1, 1]", PIECES("node_buffer_ids[1]: -1 is out of range"));
    reject_mutation("rank too small", "\"nbytes\": 32}", "\"nbytes\": 32, \"ndim\": 0}", PIECES("ndim 0, but ne[0] = "));
    reject_mutation("rank not a number", "\"nbytes\": 32}", "\"nbytes\": 32, \"ndim\": \"2\"}", PIECES("ndim"));
    reject_mutation("buffer id huge", "\"node_buffer_ids\": [0, 0, 1]", "\"node_buffer_ids\": [0, 2147483647, 0]", PIECES("node_buffer_ids[1]: 2147483647 is out of range [0, 255]"));
    reject_mutation("unknown top field", "\"name\": \"small\"", "\"nmae\": \"small\"", PIECES("unknown field \"nmae\""));
    reject_mutation("missing nodes", "\"nodes\": [2, 3, 4],", "", PIECES("missing field \"nodes\""));
    {
        const char * doc = "{\"format\": \"ggalloc.graph/1\", \"tensors\": {}, \"nodes\": [], \"leafs\": []}";
        expect_reject("tensors not an array", doc, strlen(doc), PIECES("graph.json:1:42:", "tensors: expected an array, found object"));
    }
    expect_reject("not an object", "[1, 2]", 6, PIECES("graph.json:1:1:", "the document is an array"));
    expect_reject("no format", "{}", 2, PIECES("missing field \"format\""));

    // malformed JSON: line:column of the fault
    reject_mutation("missing comma", "\"op\": \"NONE\", \"op_params\": [], \"src\": []", "\"op\": \"NONE\" \"op_params\": [], \"src\": []",
                    PIECES("graph.json:6:", "invalid JSON: expected ',' or '}' after an object member, found '\"'"));
    {
        // the exact column: the line of tensor 0 with its comma removed
        char * text = replace(small_doc, "\"type\": \"f32\", \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"NONE\", \"op_params\": [], \"src\": [], \"view_src\": null, \"view_offs\": 0, \"flags\": [\"input\"]",
                                         "\"type\": \"f32\" \"ne\": [4, 2, 1, 1], \"nb\": [4, 16, 32, 32], \"op\": \"NONE\", \"op_params\": [], \"src\": [], \"view_src\": null, \"view_offs\": 0, \"flags\": [\"input\"]");
        const char * line6 = "    {\"id\": 0, \"name\": \"a\", \"type\": \"f32\" ";
        char where[64];
        snprintf(where, sizeof(where), "graph.json:6:%d:", (int) strlen(line6) + 1);
        expect_reject("missing comma column", text, strlen(text), PIECES(where));
        free(text);
    }
    // truncated at every tenth byte: always refused with one message
    const size_t full = strlen(small_doc);
    int refused = 0, total = 0;
    for (size_t cut = 0; cut < full - 1; cut += 10) {
        int sentinel = 0;
        struct ggml_context * ctx = (struct ggml_context *) &sentinel;
        log_capture_begin();
        struct ggml_cgraph * g = ggalloc_graph_load_json_string(small_doc, cut, &ctx);
        log_capture_end();
        total++;
        refused += g == NULL && ctx == (struct ggml_context *) &sentinel && log_capture_errors == 1 && log_captured("invalid JSON");
    }
    CHECK_EQ_INT(refused, total);
    expect_reject("truncated", small_doc, (size_t) (strstr(small_doc, "\"nodes\"") - small_doc),
                  PIECES("graph.json:12:3:", "invalid JSON: expected a string key in an object, found end of input"));
    expect_reject("empty", "", 0, PIECES("graph.json:1:1:", "invalid JSON: empty document"));
    {
        // deeply nested garbage
        const size_t n = 200000;
        char * garbage = malloc(n);
        memset(garbage, '[', n);
        expect_reject("deep", garbage, n, PIECES("graph.json:1:65:", "nesting deeper than 64 levels"));
        free(garbage);
    }

    // files: missing, empty, a directory, a good one
    int sentinel = 0;
    struct ggml_context * ctx = (struct ggml_context *) &sentinel;
    log_capture_begin();
    CHECK(ggalloc_graph_load_json(SHARED_GRAPHS "no-such-graph.json", &ctx) == NULL);
    log_capture_end();
    CHECK(ctx == (struct ggml_context *) &sentinel && log_capture_errors == 1);
    CHECK(log_captured("no-such-graph.json: cannot open: No such file or directory"));

    char path[512];
    tmp_path(path, sizeof(path), "empty.json");
    FILE * f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f != NULL) fclose(f);
    log_capture_begin();
    CHECK(ggalloc_graph_load_json(path, &ctx) == NULL);
    log_capture_end();
    CHECK(ctx == (struct ggml_context *) &sentinel && log_capture_errors == 1);
    CHECK(log_captured("empty.json:1:1: invalid JSON: empty document"));
    remove(path);

    // a shared graph cut short on disk: the message names the file and where it ends
    {
        size_t len = 0;
        char * text = check_read_file(SHARED_GRAPHS "mlp-4x1024-b256.json", &len);
        CHECK(text != NULL);
        tmp_path(path, sizeof(path), "truncated.json");
        f = fopen(path, "wb");
        if (text != NULL && f != NULL) {
            const size_t cut = (size_t) (strstr(text, "\"name\": \"bias-0\"") - text);   // inside tensor 10's line
            fwrite(text, 1, cut, f);
            fclose(f);
            log_capture_begin();
            CHECK(ggalloc_graph_load_json(path, &ctx) == NULL);
            log_capture_end();
            CHECK(ctx == (struct ggml_context *) &sentinel && log_capture_errors == 1);
            CHECK(log_captured("truncated.json:16:"));
            CHECK(log_captured("invalid JSON: expected a string key in an object, found end of input"));
        }
        remove(path);
        free(text);
    }

    log_capture_begin();
    CHECK(ggalloc_graph_load_json(GGALLOC_DATA_DIR, &ctx) == NULL);
    log_capture_end();
    CHECK(ctx == (struct ggml_context *) &sentinel && log_capture_errors == 1);

    log_capture_begin();
    CHECK(ggalloc_graph_load_json(NULL, &ctx) == NULL);
    CHECK(ggalloc_graph_load_json_string(small_doc, full, NULL) == NULL);
    CHECK(ggalloc_graph_load_json_string(NULL, 5, &ctx) == NULL);
    log_capture_end();
    CHECK(ctx == (struct ggml_context *) &sentinel && log_capture_errors == 3);

    // saving: bad arguments and an unwritable path
    struct ggml_context * good_ctx = NULL;
    struct ggml_cgraph * g = ggalloc_graph_load_json_string(small_doc, full, &good_ctx);
    CHECK(g != NULL);
    log_capture_begin();
    CHECK(!ggalloc_graph_save_json(NULL, path, "x"));
    CHECK(!ggalloc_graph_save_json(g, NULL, "x"));
    CHECK(!ggalloc_graph_save_json(g, GGALLOC_DATA_DIR "/no-such-dir/x.json", "x"));
    log_capture_end();
    CHECK_EQ_INT(log_capture_errors, 3);
    CHECK(log_captured("cannot open for writing"));
    ggml_free(good_ctx);
}

// A document of three f32 leafs of 64 floats and one node `op` (256 x 2) over the first n_src of them;
// the node's type is given (its strides follow from ggml_row_size).
static char * one_node_doc(enum ggml_type type, const char * op, const char * unary, int unary_id, int n_src) {
    struct json_buf b;
    ggalloc_json_buf_init(&b);
    ggalloc_json_buf_puts(&b, "{\"format\": \"ggalloc.graph/1\", \"tensors\": [\n");
    for (int i = 0; i < 3; i++) {
        ggalloc_json_buf_printf(&b, "{\"id\": %d, \"name\": \"l%d\", \"type\": \"f32\", \"ne\": [64, 1, 1, 1], \"nb\": [4, 256, 256, 256], "
            "\"op\": \"NONE\", \"op_params\": [], \"src\": [], \"view_src\": null, \"view_offs\": 0, \"flags\": [], "
            "\"external\": true, \"nbytes\": 256},\n", i, i);
    }
    const size_t row = ggml_row_size(type, 256);
    ggalloc_json_buf_printf(&b, "{\"id\": 3, \"name\": \"n\", \"type\": \"%s\", \"ne\": [256, 2, 1, 1], \"nb\": [%zu, %zu, %zu, %zu], "
        "\"op\": \"%s\", ", ggml_type_name(type), ggml_type_size(type), row, 2 * row, 2 * row, op);
    if (unary != NULL) {
        ggalloc_json_buf_printf(&b, "\"unary\": \"%s\", \"op_params\": [%d], ", unary, unary_id);
    } else {
        ggalloc_json_buf_puts(&b, "\"op_params\": [], ");
    }
    ggalloc_json_buf_puts(&b, "\"src\": [");
    for (int k = 0; k < n_src; k++) {
        ggalloc_json_buf_printf(&b, k ? ", %d" : "%d", k);
    }
    ggalloc_json_buf_printf(&b, "], \"view_src\": null, \"view_offs\": 0, \"flags\": [\"output\"], \"external\": false, "
        "\"nbytes\": %zu}\n], \"nodes\": [3], \"leafs\": [0, 1, 2]}", 2 * row);
    return b.data;
}

// Every type, op and unary op of the enums loads under its ggml name.
static void test_every_name(void) {
    int n_types = 0;
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        if (ggml_type_name((enum ggml_type) t) == NULL || ggml_type_size((enum ggml_type) t) == 0) continue;
        n_types++;
        char * doc = one_node_doc((enum ggml_type) t, "DUP", NULL, 0, 1);
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = ggalloc_graph_load_json_string(doc, strlen(doc), &ctx);
        CHECK(g != NULL && ggml_graph_node(g, 0)->type == (enum ggml_type) t);
        if (g == NULL) fprintf(stderr, "type %s does not load\n", ggml_type_name((enum ggml_type) t));
        ggml_free(ctx);
        free(doc);
    }
    CHECK(n_types >= 20); // f32, f16, the q*_0/1 and k-quants, i8..i64, f64, bf16
    // a quantized row must hold whole blocks
    char * doc = one_node_doc(GGML_TYPE_Q4_0, "DUP", NULL, 0, 1);
    char * bad = replace(doc, "\"ne\": [256, 2, 1, 1]", "\"ne\": [48, 2, 1, 1]");
    expect_reject("q4_0 block", bad, strlen(bad), PIECES("tensor 3 \"n\"", "ne[0] = 48 is not a multiple of the block size 32 of type q4_0"));
    free(bad);
    free(doc);

    for (int o = 0; o < GGML_OP_COUNT; o++) {
        if (o == GGML_OP_UNARY) continue;
        int loads = 0;
        for (int n_src = 0; n_src <= 3; n_src++) {
            char * d = one_node_doc(GGML_TYPE_F32, ggml_op_name((enum ggml_op) o), NULL, 0, n_src);
            struct ggml_context * ctx = NULL;
            log_capture_begin();
            struct ggml_cgraph * g = ggalloc_graph_load_json_string(d, strlen(d), &ctx);
            log_capture_end();
            if (g != NULL && ggml_graph_node(g, 0)->op == (enum ggml_op) o) loads++;
            ggml_free(ctx);
            free(d);
        }
        CHECK(loads > 0);
        if (loads == 0) fprintf(stderr, "op %s does not load\n", ggml_op_name((enum ggml_op) o));
    }
    for (int u = 0; u < GGML_UNARY_OP_COUNT; u++) {
        char * d = one_node_doc(GGML_TYPE_F32, "UNARY", ggml_unary_op_name((enum ggml_unary_op) u), u, 1);
        struct ggml_context * ctx = NULL;
        struct ggml_cgraph * g = ggalloc_graph_load_json_string(d, strlen(d), &ctx);
        CHECK(g != NULL && ggml_get_unary_op(ggml_graph_node(g, 0)) == (enum ggml_unary_op) u);
        ggml_free(ctx);
        free(d);
    }
}

// A graph built through the API: weights in an allocating context count as external, and a
// view whose source is not in the graph is written too.
static void test_save_built_graph(void) {
    struct ggml_init_params wp = { 16 * 1024, NULL, false };
    struct ggml_context * wctx = ggml_init(wp);
    struct ggml_init_params cp = { 64 * ggml_tensor_overhead() + ggml_graph_overhead(), NULL, true };
    struct ggml_context * cctx = ggml_init(cp);
    CHECK(wctx != NULL && cctx != NULL);
    if (wctx == NULL || cctx == NULL) {
        ggml_free(wctx);
        ggml_free(cctx);
        return;
    }
    struct ggml_tensor * w = ggml_set_name(ggml_new_tensor_2d(wctx, GGML_TYPE_F32, 8, 4), "w");
    struct ggml_tensor * x = ggml_set_name(ggml_new_tensor_2d(cctx, GGML_TYPE_F32, 8, 3), "x \"quoted\"\n");
    ggml_set_input(x);
    struct ggml_tensor * y = ggml_mul_mat(cctx, w, x);
    struct ggml_tensor * z = ggml_gelu(cctx, y);
    ggml_set_output(z);
    struct ggml_cgraph * g = ggml_new_graph(cctx);
    CHECK(y != NULL && z != NULL && g != NULL);
    if (g == NULL || z == NULL) {
        ggml_free(cctx);
        ggml_free(wctx);
        return;
    }
    ggml_build_forward_expand(g, z);
    char path[512];
    tmp_path(path, sizeof(path), "built.json");
    CHECK(ggalloc_graph_save_json(g, path, "built"));
    struct ggml_context * ctx = NULL;
    struct ggml_cgraph * g2 = ggalloc_graph_load_json(path, &ctx);
    CHECK(g2 != NULL);
    if (g2 != NULL) {
        CHECK_EQ_INT(ggml_graph_n_nodes(g2), ggml_graph_n_nodes(g));
        CHECK_EQ_INT(ggalloc_graph_n_leafs(g2), ggalloc_graph_n_leafs(g));
        int externals = 0;
        for (int i = 0; i < ggalloc_graph_n_leafs(g2); i++) {
            struct ggml_tensor * t = ggalloc_graph_leaf(g2, i);
            if (t->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) {
                externals++;
                CHECK(strcmp(t->name, "w") == 0);
            } else {
                CHECK(strcmp(t->name, "x \"quoted\"\n") == 0 && t->flags == GGML_TENSOR_FLAG_INPUT);
            }
        }
        CHECK_EQ_INT(externals, 1);
        struct ggml_tensor * last = ggml_graph_node(g2, ggml_graph_n_nodes(g2) - 1);
        CHECK(last->op == GGML_OP_UNARY && ggml_get_unary_op(last) == GGML_UNARY_OP_GELU && last->flags == GGML_TENSOR_FLAG_OUTPUT);
        CHECK(last->src[0]->op == GGML_OP_MUL_MAT && last->src[0]->ne[0] == 4 && last->src[0]->ne[1] == 3);
    }
    ggml_free(ctx);

    // a graph that holds only a view: its source is reached through view_src and written too
    struct ggml_cgraph * gv = ggml_new_graph_custom(cctx, 4, false);
    struct ggml_tensor * v = ggml_view_1d(cctx, y, 4, 4 * sizeof(float));
    CHECK(gv != NULL && v != NULL);
    if (gv != NULL && v != NULL) {
        ggml_graph_add_node(gv, v);
        CHECK(ggalloc_graph_save_json(gv, path, "view"));
        ctx = NULL;
        struct ggml_cgraph * g3 = ggalloc_graph_load_json(path, &ctx);
        CHECK(g3 != NULL);
        if (g3 != NULL) {
            struct ggml_tensor * v2 = ggml_graph_node(g3, 0);
            CHECK(v2->view_src != NULL && v2->view_offs == 16 && v2->view_src->op == GGML_OP_MUL_MAT);
            CHECK(strcmp(v2->view_src->src[0]->name, "w") == 0);   // reached through src
        }
        ggml_free(ctx);
        // a tensor listed twice cannot be written as a loadable document
        ggml_graph_add_node(gv, v);
        log_capture_begin();
        CHECK(!ggalloc_graph_save_json(gv, path, "twice"));
        log_capture_end();
        CHECK(log_captured("listed twice"));
    }
    remove(path);
    ggml_free(cctx);
    ggml_free(wctx);
}

//
// Mutation fuzzing: every load either succeeds or returns NULL with exactly one error
//

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static const char * const fuzz_tokens[] = {
    "0", "-1", "1", "2", "3", "7", "16", "99", "2147483648", "-2147483649", "9223372036854775807",
    "18446744073709551616", "1e400", "0.5", "null", "true", "false", "\"\"", "\"f16\"", "\"q4_0\"",
    "\"VIEW\"", "\"UNARY\"", "\"GELU\"", "[]", "{}", "[null]", "[0, 0, 0, 0]", "\"\\ud800\"", ",", ":",
    "[", "]", "{", "}", "\"", "\\", "\xff", "\"external\": true, ", "\"unary\": \"ABS\", ",
};

// Applies 1-4 mutations to text into out (capacity cap); returns the new length.
static size_t mutate(const char * text, size_t len, char * out, size_t cap) {
    memcpy(out, text, len);
    size_t n = len;
    const int n_mut = 1 + (int) (rng() % 4);
    for (int m = 0; m < n_mut; m++) {
        if (n == 0) break;
        const size_t at = (size_t) (rng() % n);
        switch (rng() % 6) {
            case 0: // flip a bit
                out[at] ^= (char) (1u << (rng() % 8));
                break;
            case 1: // a digit for another
                for (size_t k = at; k < n; k++) {
                    if (out[k] >= '0' && out[k] <= '9') {
                        out[k] = (char) ('0' + rng() % 10);
                        break;
                    }
                }
                break;
            case 2: { // delete a range
                size_t del = 1 + (size_t) (rng() % 16);
                if (del > n - at) del = n - at;
                memmove(out + at, out + at + del, n - at - del);
                n -= del;
                break;
            }
            case 3: { // insert a token
                const char * tok = fuzz_tokens[rng() % (sizeof(fuzz_tokens) / sizeof(fuzz_tokens[0]))];
                size_t tl = strlen(tok);
                if (n + tl > cap) break;
                memmove(out + at + tl, out + at, n - at);
                memcpy(out + at, tok, tl);
                n += tl;
                break;
            }
            case 4: { // replace a number with a token
                size_t k = at;
                while (k < n && !(out[k] >= '0' && out[k] <= '9')) k++;
                size_t e = k;
                while (e < n && out[e] >= '0' && out[e] <= '9') e++;
                if (k >= n) break;
                const char * tok = fuzz_tokens[rng() % 13];
                size_t tl = strlen(tok);
                if (n - (e - k) + tl > cap) break;
                memmove(out + k + tl, out + e, n - e);
                memcpy(out + k, tok, tl);
                n = n - (e - k) + tl;
                break;
            }
            case 5: { // duplicate a range
                size_t dl = 1 + (size_t) (rng() % 64);
                if (dl > n - at) dl = n - at;
                if (n + dl > cap) break;
                memmove(out + at + dl, out + at, n - at);
                n += dl;
                break;
            }
        }
    }
    return n;
}

// What a loaded graph must satisfy whatever the document was: views inside their sources,
// and a save / load round trip that gives the same graph.
static bool loaded_graph_ok(struct ggml_cgraph * g, const char * path) {
    for (int pass = 0; pass < 2; pass++) {
        const int n = pass == 0 ? ggml_graph_n_nodes(g) : ggalloc_graph_n_leafs(g);
        for (int i = 0; i < n; i++) {
            const struct ggml_tensor * t = pass == 0 ? ggml_graph_node(g, i) : ggalloc_graph_leaf(g, i);
            if (t->view_src != NULL && t->view_offs + ggml_nbytes(t) > ggml_nbytes(t->view_src)) {
                return false;
            }
        }
    }
    struct ggml_context * ctx = NULL;
    bool ok = ggalloc_graph_save_json(g, path, "fuzz");
    struct ggml_cgraph * g2 = ok ? ggalloc_graph_load_json(path, &ctx) : NULL;
    ok = g2 != NULL && same_graph(g, g2);
    ggml_free(ctx);
    return ok;
}

static void fuzz_text(const char * text, size_t len, int iterations, int * loaded, int * refused, int * bad) {
    const size_t cap = len + 4096;
    char * buf = malloc(cap);
    char path[512];
    tmp_path(path, sizeof(path), "fuzz.json");
    for (int it = 0; it < iterations; it++) {
        const size_t n = mutate(text, len, buf, cap);
        int sentinel = 0;
        struct ggml_context * ctx = (struct ggml_context *) &sentinel;
        log_capture_begin();
        struct ggml_cgraph * g = ggalloc_graph_load_json_string(buf, n, &ctx);
        log_capture_end();
        if (g != NULL) {
            (*loaded)++;
            if (ctx == (struct ggml_context *) &sentinel || log_capture_errors != 0) {
                (*bad)++;
            } else {
                if (!loaded_graph_ok(g, path)) {
                    (*bad)++;
                    fprintf(stderr, "fuzz: a loaded graph fails its checks:\n%.*s\n", (int) n, buf);
                }
                ggml_free(ctx);
            }
        } else {
            (*refused)++;
            if (ctx != (struct ggml_context *) &sentinel || log_capture_errors != 1) {
                (*bad)++;
                fprintf(stderr, "fuzz: %d errors for:\n%.*s\nlog: %s\n", log_capture_errors, (int) n, buf, log_capture_buf);
            }
        }
    }
    remove(path);
    free(buf);
}

static void test_fuzz(void) {
    size_t len = 0, len_gpt2 = 0;
    char * mlp  = check_read_file(SHARED_GRAPHS "mlp-4x1024-b256.json", &len);
    char * gpt2 = check_read_file(SHARED_GRAPHS "gpt2-small-decode-1.json", &len_gpt2);
    CHECK(mlp != NULL && gpt2 != NULL);
    int loaded = 0, refused = 0, bad = 0;
    const int64_t t0 = ggml_time_us();
    fuzz_text(small_doc, strlen(small_doc), 6000, &loaded, &refused, &bad);
    if (mlp != NULL) {
        fuzz_text(mlp, len, 3000, &loaded, &refused, &bad);
    }
    if (gpt2 != NULL) {
        fuzz_text(gpt2, len_gpt2, 100, &loaded, &refused, &bad);
    }
    printf("fuzz: %d mutated documents loaded, %d refused, %d misbehaved (%.2f s)\n",
           loaded, refused, bad, (double) (ggml_time_us() - t0) / 1e6);
    CHECK_EQ_INT(bad, 0);
    CHECK(refused > 0);
    CHECK(loaded > 0); // some mutations (a digit in a name, a flipped name byte) keep a valid graph
    free(mlp);
    free(gpt2);
}

int main(void) {
    ggml_time_init();
    test_json_values();
    test_json_errors();
    test_json_writer();
    test_shared_graphs();
    test_shared_graph_sizes();
    test_small_document();
    test_every_name();
    test_bad_documents();
    test_save_built_graph();
    test_fuzz();
    return check_report("test-json");
}
