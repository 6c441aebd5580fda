// GGUF files: ggml's files load with their keys, arrays and tensors; what we write reads back
// identically (and a file read and written again is the same bytes); the mapped reader points
// into the file; every kind of malformed file gives NULL and one log line naming the problem.

#include "ggalloc.h"
#include "gguf.h"
#include "check.h"

#include <inttypes.h>
#include <stdint.h>
#include <unistd.h>

#define GGUF_DIR GGALLOC_DATA_DIR "/gguf/"

static char tmp_path[256];

static const char * tmp_file(const char * tag) {
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/ggalloc-test-gguf-%d-%s.gguf", (int) getpid(), tag);
    return tmp_path;
}

static bool files_equal(const char * a, const char * b) {
    size_t na = 0, nb = 0;
    char * x = check_read_file(a, &na);
    char * y = check_read_file(b, &nb);
    bool eq = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

static int64_t key(const struct gguf_context * g, const char * k) {
    int64_t id = gguf_find_key(g, k);
    CHECK(id >= 0);
    return id;
}

static void check_shape(const struct gguf_context * g, const char * name, enum ggml_type type, int64_t ne0, int64_t ne1) {
    int64_t id = gguf_find_tensor(g, name);
    CHECK(id >= 0);
    if (id < 0) {
        fprintf(stderr, "  no tensor %s\n", name);
        return;
    }
    int64_t ne[GGML_MAX_DIMS];
    int nd = 0;
    CHECK(ggalloc_gguf_get_tensor_shape(g, id, ne, &nd));
    CHECK_EQ_INT(gguf_get_tensor_type(g, id), type);
    CHECK_EQ_INT(ne[0], ne0);
    CHECK_EQ_INT(ne[1], ne1);
    CHECK_EQ_INT(nd, ne1 == 1 ? 1 : 2);
    CHECK_EQ_INT(gguf_get_tensor_size(g, id), ggml_row_size(type, ne0) * ne1);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, id) % gguf_get_alignment(g), 0);
}

static void check_tokenizer(const struct gguf_context * g, size_t n_vocab) {
    int64_t tok = key(g, "tokenizer.ggml.tokens");
    CHECK_EQ_INT(gguf_get_kv_type(g, tok), GGUF_TYPE_ARRAY);
    CHECK_EQ_INT(gguf_get_arr_type(g, tok), GGUF_TYPE_STRING);
    CHECK_EQ_INT(gguf_get_arr_n(g, tok), n_vocab);
    CHECK(strcmp(gguf_get_arr_str(g, tok, 0), "<unk>") == 0);
    CHECK(strcmp(gguf_get_arr_str(g, tok, 1), "<s>") == 0);
    CHECK(strcmp(gguf_get_arr_str(g, tok, 3), "<0x00>") == 0);
    CHECK(strcmp(gguf_get_arr_str(g, tok, 258), "<0xFF>") == 0);
    CHECK(gguf_get_arr_str(g, tok, n_vocab) == NULL); // out of range: NULL, not a crash
    int64_t sc = key(g, "tokenizer.ggml.scores");
    CHECK_EQ_INT(gguf_get_arr_type(g, sc), GGUF_TYPE_FLOAT32);
    CHECK_EQ_INT(gguf_get_arr_n(g, sc), n_vocab);
    CHECK(gguf_get_arr_data(g, sc) != NULL);
    int64_t tt = key(g, "tokenizer.ggml.token_type");
    CHECK_EQ_INT(gguf_get_arr_type(g, tt), GGUF_TYPE_INT32);
    CHECK_EQ_INT(gguf_get_arr_n(g, tt), n_vocab);
    CHECK(gguf_get_arr_data(g, tok) == NULL); // strings have no packed data
}

static void test_llama_7b_meta(void) {
    struct gguf_init_params p = { true, NULL };
    struct gguf_context * g = gguf_init_from_file(GGUF_DIR "llama-7b-meta.gguf", p);
    CHECK(g != NULL);
    if (!g) return;
    CHECK_EQ_INT(gguf_get_version(g), 3);
    CHECK_EQ_INT(gguf_get_alignment(g), 32);
    CHECK_EQ_INT(gguf_get_n_kv(g), 19);
    CHECK(strcmp(gguf_get_val_str(g, key(g, "general.architecture")), "llama") == 0);
    CHECK_EQ_INT(gguf_get_val_u32(g, key(g, "llama.block_count")), 32);
    CHECK_EQ_INT(gguf_get_val_u32(g, key(g, "llama.embedding_length")), 4096);
    CHECK_EQ_INT(gguf_get_val_u32(g, key(g, "llama.feed_forward_length")), 11008);
    CHECK_EQ_INT(gguf_get_val_u32(g, key(g, "llama.attention.head_count")), 32);
    CHECK(gguf_get_val_f32(g, key(g, "llama.attention.layer_norm_rms_epsilon")) == 1e-5f);
    check_tokenizer(g, 32000);
    CHECK_EQ_INT(gguf_get_n_tensors(g), 291);
    check_shape(g, "token_embd.weight", GGML_TYPE_F16, 4096, 32000);
    check_shape(g, "blk.0.attn_norm.weight", GGML_TYPE_F32, 4096, 1);
    check_shape(g, "blk.31.ffn_down.weight", GGML_TYPE_F16, 11008, 4096);
    check_shape(g, "output.weight", GGML_TYPE_F16, 4096, 32000);
    // written with only_meta: the file ends where the data would start
    CHECK_EQ_INT(gguf_get_data_offset(g), 870336);
    CHECK_EQ_INT(gguf_get_meta_size(g), 870336);
    size_t total = 0;
    for (int64_t i = 0; i < gguf_get_n_tensors(g); i++) {
        total += GGML_PAD(gguf_get_tensor_size(g, i), 32);
    }
    CHECK_EQ_INT(ggalloc_gguf_get_data_size(g), total);
    // LLaMA-7B in f16 with f32 norms: embeddings and output, per layer 4 attention and 3 FFN
    // matrices and 2 norms, and the output norm
    const size_t e = 4096, f = 11008, v = 32000;
    CHECK_EQ_INT(total, 2 * (2 * v * e) + 32 * (2 * (4 * e * e + 3 * e * f) + 4 * 2 * e) + 4 * e);

    // written back: the same bytes
    const char * out = tmp_file("7b");
    CHECK(gguf_write_to_file(g, out, true));
    CHECK(files_equal(out, GGUF_DIR "llama-7b-meta.gguf"));
    // without only_meta there is no data to write: an error, not a crash
    log_capture_begin();
    CHECK(!gguf_write_to_file(g, out, false));
    log_capture_end();
    CHECK(log_captured("has no data"));
    remove(out);
    gguf_free(g);

    // with a context: the tensors without data; asking for the data fails (the file has none)
    struct ggml_context * meta = NULL;
    struct gguf_init_params p2 = { true, &meta };
    g = gguf_init_from_file(GGUF_DIR "llama-7b-meta.gguf", p2);
    CHECK(g && meta);
    struct ggml_tensor * t = meta ? ggml_get_tensor(meta, "blk.7.attn_k.weight") : NULL;
    CHECK(t && t->data == NULL && t->ne[0] == 4096 && t->ne[1] == 4096 && t->type == GGML_TYPE_F16);
    gguf_free(g);
    ggml_free(meta);
    meta = NULL;
    struct gguf_init_params p3 = { false, &meta };
    log_capture_begin();
    g = gguf_init_from_file(GGUF_DIR "llama-7b-meta.gguf", p3);
    log_capture_end();
    CHECK(g == NULL && meta == NULL);
    CHECK(log_captured("past the end of the file"));
}

// A file with data: loaded with a context, its tensors hold the file's bytes, and written back
// it is the same file; the mapped reader gives the same bytes without copying.
static void test_file_with_data(const char * name, const char * arch, int n_tensors) {
    char path[512];
    snprintf(path, sizeof(path), GGUF_DIR "%s", name);
    struct ggml_context * meta = NULL;
    struct gguf_init_params p = { false, &meta };
    struct gguf_context * g = gguf_init_from_file(path, p);
    CHECK(g && meta);
    if (!g || !meta) return;
    CHECK(strcmp(gguf_get_val_str(g, key(g, "general.architecture")), arch) == 0);
    CHECK_EQ_INT(gguf_get_n_tensors(g), n_tensors);
    check_tokenizer(g, 1024);
    // ggml puts the data section in the context as its first tensor, then one per record
    struct ggml_tensor * blob = ggml_get_first_tensor(meta);
    CHECK(blob && (size_t) ggml_nbytes(blob) == ggalloc_gguf_get_data_size(g));
    int n = 0;
    for (struct ggml_tensor * t = blob ? ggml_get_next_tensor(meta, blob) : NULL; t; t = ggml_get_next_tensor(meta, t)) {
        int64_t id = gguf_find_tensor(g, t->name);
        CHECK_EQ_INT(id, n);
        CHECK((char *) t->data == (char *) blob->data + gguf_get_tensor_offset(g, id));
        CHECK_EQ_INT(ggml_nbytes(t), gguf_get_tensor_size(g, id));
        n++;
    }
    CHECK_EQ_INT(n, n_tensors);

    const char * out = tmp_file("rt");
    CHECK(gguf_write_to_file(g, out, false));
    CHECK(files_equal(out, path));

    // the metadata alone is the file's prefix
    size_t len = 0;
    char * bytes = check_read_file(path, &len);
    size_t ms = gguf_get_meta_size(g);
    CHECK_EQ_INT(ms, gguf_get_data_offset(g));
    char * md = malloc(ms);
    gguf_get_meta_data(g, md);
    CHECK(bytes && memcmp(md, bytes, ms) == 0);
    free(md);

    // mapped: tensors point into the mapping, at the same bytes
    struct ggalloc_mapped_file * mf = ggalloc_mapped_file_new(path);
    CHECK(mf && ggalloc_mapped_file_size(mf) == len);
    struct ggml_context * mctx = NULL;
    struct gguf_init_params pm = { false, &mctx };
    struct gguf_context * gm = ggalloc_gguf_init_from_mapped_file(mf, pm);
    CHECK(gm && mctx);
    const char * base = ggalloc_mapped_file_data(mf);
    n = 0;
    for (struct ggml_tensor * t = mctx ? ggml_get_first_tensor(mctx) : NULL; t; t = ggml_get_next_tensor(mctx, t)) {
        struct ggml_tensor * c = ggml_get_tensor(meta, t->name);
        CHECK(c != NULL);
        CHECK((const char *) t->data == base + gguf_get_data_offset(gm) + gguf_get_tensor_offset(gm, n));
        CHECK(c && memcmp(t->data, c->data, ggml_nbytes(t)) == 0);
        CHECK(ggalloc_gguf_get_tensor_data(gm, n) == t->data);
        n++;
    }
    CHECK_EQ_INT(n, n_tensors);
    // the mapped context writes back the same file too
    CHECK(gguf_write_to_file(gm, out, false));
    CHECK(files_equal(out, path));
    // a write through the mapping is private: the file is unchanged
    if (mctx) {
        struct ggml_tensor * t = ggml_get_first_tensor(mctx);
        ((char *) t->data)[0] ^= 0x5a;
        char * again = check_read_file(path, NULL);
        CHECK(again && bytes && memcmp(again, bytes, len) == 0);
        free(again);
    }
    gguf_free(gm);
    ggml_free(mctx);
    ggalloc_mapped_file_free(mf);

    // from a buffer, copying
    struct ggml_context * bctx = NULL;
    struct gguf_init_params pb = { false, &bctx };
    struct gguf_context * gb = ggalloc_gguf_init_from_buffer(bytes, len, pb);
    CHECK(gb && bctx);
    CHECK(gb && gguf_write_to_file(gb, out, false) && files_equal(out, path));
    gguf_free(gb);
    ggml_free(bctx);

    free(bytes);
    remove(out);
    gguf_free(g);
    ggml_free(meta);
}

static void test_tiny_models(void) {
    test_file_with_data("tiny-llama-q8_0.gguf", "llama", 21);
    test_file_with_data("tiny-gpt2-f16.gguf", "gpt2", 29);

    struct gguf_init_params p = { true, NULL };
    struct gguf_context * g = gguf_init_from_file(GGUF_DIR "tiny-llama-q8_0.gguf", p);
    CHECK(g != NULL);
    if (g) {
        CHECK_EQ_INT(gguf_get_val_u32(g, key(g, "llama.attention.head_count_kv")), 4);
        check_shape(g, "token_embd.weight", GGML_TYPE_Q8_0, 256, 1024);
        check_shape(g, "blk.1.attn_k.weight", GGML_TYPE_Q8_0, 256, 128);
        check_shape(g, "blk.1.ffn_down.weight", GGML_TYPE_Q8_0, 704, 256);
        check_shape(g, "output_norm.weight", GGML_TYPE_F32, 256, 1);
        gguf_free(g);
    }
    g = gguf_init_from_file(GGUF_DIR "tiny-gpt2-f16.gguf", p);
    CHECK(g != NULL);
    if (g) {
        CHECK(gguf_get_val_f32(g, key(g, "gpt2.attention.layer_norm_epsilon")) == 1e-5f);
        check_shape(g, "position_embd.weight", GGML_TYPE_F32, 128, 1024);
        check_shape(g, "blk.1.attn_qkv.weight", GGML_TYPE_F16, 128, 384);
        check_shape(g, "blk.1.attn_qkv.bias", GGML_TYPE_F32, 384, 1);
        gguf_free(g);
    }
}

// Every setter and getter; a written file reads back with the same values.
static void test_write_read(void) {
    struct gguf_context * g = gguf_init_empty();
    gguf_set_val_u8(g, "t.u8", 200);
    gguf_set_val_i8(g, "t.i8", -100);
    gguf_set_val_u16(g, "t.u16", 60000);
    gguf_set_val_i16(g, "t.i16", -30000);
    gguf_set_val_u32(g, "t.u32", 4000000000u);
    gguf_set_val_i32(g, "t.i32", -2000000000);
    gguf_set_val_f32(g, "t.f32", 1.5f);
    gguf_set_val_u64(g, "t.u64", UINT64_C(18000000000000000000));
    gguf_set_val_i64(g, "t.i64", INT64_C(-9000000000000000000));
    gguf_set_val_f64(g, "t.f64", -2.25);
    gguf_set_val_bool(g, "t.bool", true);
    gguf_set_val_str(g, "t.str", "h\xc3\xa9llo");
    const int32_t ints[3] = { 7, -8, 9 };
    gguf_set_arr_data(g, "t.arr_i32", GGUF_TYPE_INT32, ints, 3);
    const char * strs[3] = { "a", "", "ccc" };
    gguf_set_arr_str(g, "t.arr_str", strs, 3);
    gguf_set_arr_data(g, "t.empty", GGUF_TYPE_FLOAT64, NULL, 0);
    gguf_set_val_u32(g, "t.u32", 5);                   // replaced: now the last key
    CHECK_EQ_INT(gguf_get_n_kv(g), 15);
    CHECK(strcmp(gguf_get_key(g, 14), "t.u32") == 0);
    CHECK_EQ_INT(gguf_remove_key(g, "t.u16"), 2);
    CHECK_EQ_INT(gguf_remove_key(g, "t.u16"), -1);
    CHECK_EQ_INT(gguf_get_n_kv(g), 14);

    // wrong types and bad calls are logged and answered with 0 / NULL, never an abort
    log_capture_begin();
    CHECK_EQ_INT(gguf_get_val_i32(g, gguf_find_key(g, "t.u8")), 0);
    CHECK(gguf_get_val_str(g, gguf_find_key(g, "t.arr_str")) == NULL);
    CHECK(gguf_get_val_data(g, gguf_find_key(g, "t.str")) == NULL);
    CHECK(gguf_get_key(g, 99) == NULL);
    CHECK_EQ_INT(gguf_get_kv_type(g, -1), GGUF_TYPE_COUNT);
    CHECK_EQ_INT(gguf_get_arr_type(g, gguf_find_key(g, "t.u8")), GGUF_TYPE_COUNT);
    CHECK(gguf_get_tensor_name(g, 0) == NULL);
    gguf_set_val_i32(g, GGUF_KEY_GENERAL_ALIGNMENT, 64);  // not u32: ignored
    gguf_set_val_u32(g, GGUF_KEY_GENERAL_ALIGNMENT, 48);  // not a power of two: ignored
    gguf_set_arr_data(g, "t.bad", GGUF_TYPE_STRING, ints, 1);
    log_capture_end();
    CHECK(log_captured("'t.u8' is u8, not i32"));
    CHECK(log_captured("power of two"));
    CHECK_EQ_INT(log_capture_errors, 10);
    CHECK_EQ_INT(gguf_find_key(g, GGUF_KEY_GENERAL_ALIGNMENT), -1);

    // tensors: offsets follow the alignment; a type change moves the later ones
    struct ggml_init_params ip = { 1 << 20, NULL, false };
    struct ggml_context * ctx = ggml_init(ip);
    struct ggml_tensor * a = ggml_set_name(ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 64, 3), "a");
    struct ggml_tensor * b = ggml_set_name(ggml_new_tensor_1d(ctx, GGML_TYPE_F16, 5), "b");
    struct ggml_tensor * c = ggml_set_name(ggml_new_tensor_3d(ctx, GGML_TYPE_I32, 2, 3, 4), "c");
    for (int64_t i = 0; i < ggml_nelements(a); i++) ((float *) a->data)[i] = (float) i * 0.5f;
    for (int64_t i = 0; i < ggml_nelements(b); i++) ((ggml_fp16_t *) b->data)[i] = ggml_fp32_to_fp16((float) i);
    for (int64_t i = 0; i < ggml_nelements(c); i++) ((int32_t *) c->data)[i] = (int32_t) (i * 7);
    gguf_add_tensor(g, a);
    gguf_add_tensor(g, b);
    gguf_add_tensor(g, c);
    log_capture_begin();
    gguf_add_tensor(g, a);                             // duplicate: ignored
    log_capture_end();
    CHECK(log_captured("duplicate tensor name 'a'"));
    CHECK_EQ_INT(gguf_get_n_tensors(g), 3);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, 0), 0);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, 1), 768);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, 2), 800);   // 10 bytes of b padded to 32
    gguf_set_val_u32(g, GGUF_KEY_GENERAL_ALIGNMENT, 64);
    CHECK_EQ_INT(gguf_get_alignment(g), 64);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, 2), 832);
    gguf_set_tensor_type(g, "a", GGML_TYPE_F16);
    CHECK_EQ_INT(gguf_get_tensor_size(g, 0), 384);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, 1), 384);
    gguf_set_tensor_type(g, "a", GGML_TYPE_F32);
    CHECK_EQ_INT(gguf_get_tensor_offset(g, 1), 768);

    const char * out = tmp_file("rw");
    CHECK(gguf_write_to_file(g, out, false));
    struct ggml_context * rctx = NULL;
    struct gguf_init_params p = { false, &rctx };
    struct gguf_context * r = gguf_init_from_file(out, p);
    CHECK(r && rctx);
    if (r && rctx) {
        CHECK_EQ_INT(gguf_get_n_kv(r), gguf_get_n_kv(g));
        for (int64_t i = 0; i < gguf_get_n_kv(g); i++) {
            CHECK(strcmp(gguf_get_key(r, i), gguf_get_key(g, i)) == 0);
            CHECK_EQ_INT(gguf_get_kv_type(r, i), gguf_get_kv_type(g, i));
        }
        CHECK_EQ_INT(gguf_get_val_u8(r, key(r, "t.u8")), 200);
        CHECK_EQ_INT(gguf_get_val_i8(r, key(r, "t.i8")), -100);
        CHECK_EQ_INT(gguf_get_val_i16(r, key(r, "t.i16")), -30000);
        CHECK_EQ_INT(gguf_get_val_u32(r, key(r, "t.u32")), 5);
        CHECK_EQ_INT(gguf_get_val_i32(r, key(r, "t.i32")), -2000000000);
        CHECK(gguf_get_val_f32(r, key(r, "t.f32")) == 1.5f);
        CHECK(gguf_get_val_u64(r, key(r, "t.u64")) == UINT64_C(18000000000000000000));
        CHECK(gguf_get_val_i64(r, key(r, "t.i64")) == INT64_C(-9000000000000000000));
        CHECK(gguf_get_val_f64(r, key(r, "t.f64")) == -2.25);
        CHECK(gguf_get_val_bool(r, key(r, "t.bool")));
        CHECK(strcmp(gguf_get_val_str(r, key(r, "t.str")), "h\xc3\xa9llo") == 0);
        CHECK(memcmp(gguf_get_arr_data(r, key(r, "t.arr_i32")), ints, sizeof(ints)) == 0);
        CHECK(*(const int32_t *) gguf_get_val_data(r, key(r, "t.i32")) == -2000000000);
        CHECK_EQ_INT(gguf_get_arr_n(r, key(r, "t.arr_str")), 3);
        CHECK(strcmp(gguf_get_arr_str(r, key(r, "t.arr_str"), 1), "") == 0);
        CHECK(strcmp(gguf_get_arr_str(r, key(r, "t.arr_str"), 2), "ccc") == 0);
        CHECK_EQ_INT(gguf_get_arr_n(r, key(r, "t.empty")), 0);
        CHECK_EQ_INT(gguf_get_alignment(r), 64);
        CHECK_EQ_INT(gguf_get_data_offset(r) % 64, 0);
        struct ggml_tensor * rc = ggml_get_tensor(rctx, "c");
        CHECK(rc && rc->type == GGML_TYPE_I32 && rc->ne[0] == 2 && rc->ne[1] == 3 && rc->ne[2] == 4);
        CHECK(rc && memcmp(rc->data, c->data, ggml_nbytes(c)) == 0);
        struct ggml_tensor * ra = ggml_get_tensor(rctx, "a");
        CHECK(ra && memcmp(ra->data, a->data, ggml_nbytes(a)) == 0);
        struct ggml_tensor * rb = ggml_get_tensor(rctx, "b");
        CHECK(rb && memcmp(rb->data, b->data, ggml_nbytes(b)) == 0);

        // and once more: the file we wrote, read and written, is the same bytes
        const char * out2 = "/tmp/ggalloc-test-gguf-rw2.gguf";
        CHECK(gguf_write_to_file(r, out2, false));
        CHECK(files_equal(out2, tmp_file("rw")));
        remove(out2);

        // gguf_set_kv copies every pair
        struct gguf_context * k = gguf_init_empty();
        gguf_set_val_str(k, "t.str", "old");
        gguf_set_kv(k, r);
        CHECK_EQ_INT(gguf_get_n_kv(k), gguf_get_n_kv(r));
        CHECK(strcmp(gguf_get_val_str(k, key(k, "t.str")), "h\xc3\xa9llo") == 0);
        CHECK(strcmp(gguf_get_arr_str(k, key(k, "t.arr_str"), 2), "ccc") == 0);
        CHECK_EQ_INT(gguf_get_alignment(k), 64);
        gguf_free(k);
    }
    gguf_free(r);
    ggml_free(rctx);

    // tensor data given later
    struct gguf_context * d = gguf_init_empty();
    struct ggml_tensor meta = *c;
    meta.data = NULL;
    gguf_add_tensor(d, &meta);
    log_capture_begin();
    CHECK(!gguf_write_to_file(d, tmp_file("nodata"), false));
    log_capture_end();
    CHECK(log_captured("'c' has no data"));
    CHECK(access(tmp_file("nodata"), F_OK) != 0);      // nothing half-written left behind
    gguf_set_tensor_data(d, "c", c->data);
    CHECK(gguf_write_to_file(d, tmp_file("nodata"), false));
    remove(tmp_file("nodata"));
    gguf_free(d);

    remove(tmp_file("rw"));
    gguf_free(g);
    ggml_free(ctx);
    gguf_free(NULL);
    CHECK(strcmp(gguf_type_name(GGUF_TYPE_STRING), "str") == 0);
    CHECK(strcmp(gguf_type_name(GGUF_TYPE_ARRAY), "arr") == 0);
    CHECK(gguf_type_name((enum gguf_type) 77) == NULL);
}

//
// Hostile files, built byte by byte
//

struct bytes {
    uint8_t p[4096];
    size_t  n;
};

static void put(struct bytes * b, const void * v, size_t n) {
    if (b->n + n <= sizeof(b->p)) {
        memcpy(b->p + b->n, v, n);
        b->n += n;
    }
}
static void put_u32(struct bytes * b, uint32_t v) { put(b, &v, 4); }
static void put_u64(struct bytes * b, uint64_t v) { put(b, &v, 8); }
static void put_str(struct bytes * b, const char * s) { put_u64(b, strlen(s)); put(b, s, strlen(s)); }
static void put_header(struct bytes * b, uint32_t version, int64_t n_tensors, int64_t n_kv) {
    put(b, "GGUF", 4);
    put_u32(b, version);
    put_u64(b, (uint64_t) n_tensors);
    put_u64(b, (uint64_t) n_kv);
}
static void put_kv_u32(struct bytes * b, const char * k, uint32_t v) {
    put_str(b, k);
    put_u32(b, GGUF_TYPE_UINT32);
    put_u32(b, v);
}
static void put_tensor(struct bytes * b, const char * name, uint32_t n_dims, const int64_t * ne, int32_t type, uint64_t offset) {
    put_str(b, name);
    put_u32(b, n_dims);
    put(b, ne, n_dims * sizeof(int64_t));
    put(b, &type, 4);
    put_u64(b, offset);
}
static void put_pad(struct bytes * b, size_t align) {
    while (b->n % align) {
        uint8_t z = 0;
        put(b, &z, 1);
    }
}

// Loads b with data (from a buffer and as a file); expects NULL and exactly one error naming it.
static void expect_bad(const struct bytes * b, const char * needle, const char * what) {
    struct ggml_context * ctx = NULL;
    struct gguf_init_params p = { false, &ctx };
    log_capture_begin();
    struct gguf_context * g = ggalloc_gguf_init_from_buffer(b->p, b->n, p);
    log_capture_end();
    CHECK(g == NULL && ctx == NULL);
    CHECK_EQ_INT(log_capture_errors, 1);
    CHECK(log_captured(needle));
    if (g != NULL || !log_captured(needle) || log_capture_errors != 1) {
        fprintf(stderr, "  case '%s': expected one error with '%s', got: %s", what, needle, log_capture_buf);
    }
    gguf_free(g);
    ggml_free(ctx);

    FILE * f = fopen(tmp_file("bad"), "wb");
    fwrite(b->p, 1, b->n, f);
    fclose(f);
    log_capture_begin();
    g = gguf_init_from_file(tmp_file("bad"), p);
    log_capture_end();
    CHECK(g == NULL && ctx == NULL);
    CHECK(b->n == 0 || log_captured(needle));
    gguf_free(g);
    remove(tmp_file("bad"));
}

// A small valid file: two keys, two f32 tensors with data.
static void good_file(struct bytes * b) {
    b->n = 0;
    put_header(b, 3, 2, 2);
    put_kv_u32(b, "k.one", 1);
    put_str(b, "k.s");
    put_u32(b, GGUF_TYPE_STRING);
    put_str(b, "text");
    const int64_t ne[2] = { 4, 2 };
    put_tensor(b, "w", 2, ne, GGML_TYPE_F32, 0);
    put_tensor(b, "v", 1, ne, GGML_TYPE_F32, 32);
    put_pad(b, 32);
    for (int i = 0; i < 8 + 4; i++) { // w: 8 floats, padded; v: 4 floats
        float x = (float) i;
        put(b, &x, 4);
    }
}

static void test_hostile(void) {
    struct bytes b;
    good_file(&b);
    {
        struct ggml_context * ctx = NULL;
        struct gguf_init_params p = { false, &ctx };
        struct gguf_context * g = ggalloc_gguf_init_from_buffer(b.p, b.n, p);
        CHECK(g && ctx);
        CHECK(ctx && ((float *) ggml_get_tensor(ctx, "v")->data)[3] == 11.0f && ((float *) ggml_get_tensor(ctx, "w")->data)[7] == 7.0f);
        gguf_free(g);
        ggml_free(ctx);
    }
    // truncated anywhere
    const size_t full = b.n;
    int truncated_ok = 1;
    for (size_t n = 0; n < full; n++) {
        struct ggml_context * ctx = NULL;
        struct gguf_init_params p = { false, &ctx };
        log_capture_begin();
        struct gguf_context * g = ggalloc_gguf_init_from_buffer(b.p, n, p);
        log_capture_end();
        if (g != NULL || ctx != NULL || log_capture_errors != 1) {
            truncated_ok = 0;
            fprintf(stderr, "  truncated at %zu: loaded or not one error: %s", n, log_capture_buf);
        }
        gguf_free(g);
        ggml_free(ctx);
    }
    CHECK(truncated_ok);
    b.n = 3;
    expect_bad(&b, "too short for the magic", "3 bytes");
    b.n = 0;
    put(&b, "GGML", 4); put_u32(&b, 3);
    expect_bad(&b, "expected \"GGUF\"", "magic");
    b.n = 0; put_header(&b, 1, 0, 0);
    expect_bad(&b, "version 1 is not supported", "v1");
    b.n = 0; put_header(&b, 0x03000000, 0, 0);
    expect_bad(&b, "big-endian", "byte-swapped");
    b.n = 0; put_header(&b, 3, 0, INT64_MAX);
    expect_bad(&b, "key-value count", "n_kv huge");
    b.n = 0; put_header(&b, 3, 0, -1);
    expect_bad(&b, "key-value count", "n_kv 2^64-1");
    b.n = 0; put_header(&b, 3, INT64_MAX / 2, 0);
    expect_bad(&b, "tensor count", "n_tensors huge");
    // a key length near 2^64
    b.n = 0; put_header(&b, 3, 0, 1); put_u64(&b, UINT64_MAX - 3); put(&b, "abcdefghijklmnopq", 17);
    expect_bad(&b, "runs past the end", "key length");
    // an array length near 2^64
    b.n = 0; put_header(&b, 3, 0, 1); put_str(&b, "arr"); put_u32(&b, GGUF_TYPE_ARRAY);
    put_u32(&b, GGUF_TYPE_UINT64); put_u64(&b, UINT64_MAX / 4); put_u64(&b, 1);
    expect_bad(&b, "more than the", "array length");
    b.n = 0; put_header(&b, 3, 0, 1); put_str(&b, "arr"); put_u32(&b, GGUF_TYPE_ARRAY);
    put_u32(&b, GGUF_TYPE_STRING); put_u64(&b, UINT64_MAX); put_u64(&b, 1);
    expect_bad(&b, "more than the", "string array length");
    b.n = 0; put_header(&b, 3, 0, 1); put_str(&b, "arr"); put_u32(&b, GGUF_TYPE_ARRAY);
    put_u32(&b, GGUF_TYPE_ARRAY); put_u64(&b, 1);
    expect_bad(&b, "nested array", "nested");
    // unknown value type
    b.n = 0; put_header(&b, 3, 0, 1); put_str(&b, "k"); put_u32(&b, 13); put_u32(&b, 0);
    expect_bad(&b, "unknown value type 13", "value type");
    // duplicate key
    b.n = 0; put_header(&b, 3, 0, 3); put_kv_u32(&b, "a", 1); put_kv_u32(&b, "b", 1); put_kv_u32(&b, "a", 2);
    expect_bad(&b, "duplicate key 'a'", "dup key");
    // keys that are not UTF-8
    b.n = 0; put_header(&b, 3, 0, 1); put_kv_u32(&b, "bad\xff", 1);
    expect_bad(&b, "not UTF-8", "key 0xff");
    b.n = 0; put_header(&b, 3, 0, 1); put_kv_u32(&b, "\xc0\xaf", 1);
    expect_bad(&b, "not UTF-8", "overlong");
    b.n = 0; put_header(&b, 3, 0, 1); put_u64(&b, 3); put(&b, "a\0b", 3); put_u32(&b, GGUF_TYPE_UINT8); put(&b, "x", 1);
    expect_bad(&b, "not UTF-8", "NUL in key");
    // alignment
    b.n = 0; put_header(&b, 3, 0, 1); put_kv_u32(&b, GGUF_KEY_GENERAL_ALIGNMENT, 24);
    expect_bad(&b, "power of two", "alignment 24");
    b.n = 0; put_header(&b, 3, 0, 1); put_str(&b, GGUF_KEY_GENERAL_ALIGNMENT); put_u32(&b, GGUF_TYPE_INT32); put_u32(&b, 32);
    expect_bad(&b, "power of two", "alignment i32");
    // tensor records
    const int64_t ne_ok[2] = { 4, 2 };
    const int64_t ne_5d[5] = { 1, 1, 1, 1, 1 };
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 5, ne_5d, GGML_TYPE_F32, 0);
    expect_bad(&b, "5 dimensions", "n_dims");
    const int64_t ne_neg[2] = { 4, -2 };
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 2, ne_neg, GGML_TYPE_F32, 0);
    expect_bad(&b, "negative extent", "ne < 0");
    const int64_t ne_ovf[3] = { INT64_C(1) << 32, INT64_C(1) << 32, INT64_C(1) << 32 };
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 3, ne_ovf, GGML_TYPE_F32, 0);
    expect_bad(&b, "number of elements overflows", "nelements");
    const int64_t ne_big[1] = { INT64_C(1) << 62 };
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 1, ne_big, GGML_TYPE_F32, 0);
    expect_bad(&b, "size in bytes overflows", "nbytes");
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 2, ne_ok, 4, 0);   // 4: a retired type number
    expect_bad(&b, "unknown type 4", "type 4");
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 2, ne_ok, 1000, 0);
    expect_bad(&b, "unknown type 1000", "type 1000");
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 2, ne_ok, GGML_TYPE_Q8_0, 0);
    expect_bad(&b, "block size", "q8_0 ne0 4");
    b.n = 0; put_header(&b, 3, 2, 0); put_tensor(&b, "t", 2, ne_ok, GGML_TYPE_F32, 0); put_tensor(&b, "t", 2, ne_ok, GGML_TYPE_F32, 32);
    expect_bad(&b, "duplicate tensor name 't'", "dup tensor");
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t\xed\xa0\x80", 2, ne_ok, GGML_TYPE_F32, 0);
    expect_bad(&b, "not UTF-8", "surrogate in name");
    char longname[80];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[79] = 0;
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, longname, 2, ne_ok, GGML_TYPE_F32, 0);
    expect_bad(&b, "more than 63", "long name");
    // offsets
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 2, ne_ok, GGML_TYPE_F32, 8);
    expect_bad(&b, "not a multiple of the alignment", "misaligned");
    b.n = 0; put_header(&b, 3, 2, 0); put_tensor(&b, "t", 2, ne_ok, GGML_TYPE_F32, 0); put_tensor(&b, "u", 2, ne_ok, GGML_TYPE_F32, 0);
    expect_bad(&b, "expected 32", "overlapping");
    b.n = 0; put_header(&b, 3, 1, 0); put_tensor(&b, "t", 2, ne_ok, GGML_TYPE_F32, UINT64_MAX - 31);
    expect_bad(&b, "expected 0", "offset near 2^64");
    // data past the end of the file
    good_file(&b);
    b.n -= 4;
    expect_bad(&b, "past the end of the file", "data cut");

    // the mapped reader: a file with only metadata loads without data, one cut short does not
    struct bytes meta;
    good_file(&meta);
    {
        struct gguf_init_params p = { true, NULL };
        struct gguf_context * g = ggalloc_gguf_init_from_buffer(meta.p, meta.n, p);
        meta.n = gguf_get_data_offset(g);
        gguf_free(g);
    }
    for (int cut = 0; cut < 2; cut++) {
        FILE * f = fopen(tmp_file("map"), "wb");
        fwrite(meta.p, 1, meta.n + (size_t) cut * 20, f);
        fclose(f);
        struct ggalloc_mapped_file * mf = ggalloc_mapped_file_new(tmp_file("map"));
        CHECK(mf != NULL);
        struct ggml_context * ctx = NULL;
        struct gguf_init_params p = { false, &ctx };
        log_capture_begin();
        struct gguf_context * g = ggalloc_gguf_init_from_mapped_file(mf, p);
        log_capture_end();
        if (cut == 0) {
            CHECK(g && ctx && ggml_get_tensor(ctx, "w")->data == NULL);
        } else {
            CHECK(g == NULL && ctx == NULL && log_captured("past the end of the file"));
        }
        gguf_free(g);
        ggml_free(ctx);
        ggalloc_mapped_file_free(mf);
    }
    remove(tmp_file("map"));
    log_capture_begin();
    CHECK(ggalloc_mapped_file_new("/nonexistent/x.gguf") == NULL);
    CHECK(ggalloc_mapped_file_new("/tmp") == NULL);
    CHECK(gguf_init_from_file("/nonexistent/x.gguf", (struct gguf_init_params) { true, NULL }) == NULL);
    log_capture_end();
    CHECK(log_captured("cannot open /nonexistent/x.gguf"));
    CHECK(log_captured("not a regular file"));
    ggalloc_mapped_file_free(NULL);
}

int main(void) {
    test_llama_7b_meta();
    test_tiny_models();
    test_write_read();
    test_hostile();
    return check_report("test-gguf");
}
