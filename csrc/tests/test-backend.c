// The backend layer: buffer types (CPU, interned host types), buffers (size 0, usage, clear,
// memory of the caller's), the multi-buffer, tensor transfers with their bounds checks, tensor
// and view placement, devices and the registry, and a graph run end to end on the CPU backend.

#define _GNU_SOURCE  // dl_iterate_phdr
#include "check.h"
#include "oracles.h"
#include "backend-impl.h"
#include "ggml-cpu.h"

#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct ggml_context * new_ctx(void) {
    struct ggml_init_params ip = { 1024 * 1024, NULL, true };
    return ggml_init(ip);
}

// Host types of the caller's own: distinct objects with the same limits, freed before or after
// their buffers in any order.
static void test_distinct_host_types(void) {
    ggml_backend_buffer_type_t a = ggalloc_host_buffer_type_new(64, 1 << 20);
    ggml_backend_buffer_type_t b = ggalloc_host_buffer_type_new(64, 1 << 20);
    CHECK(a != NULL && b != NULL && a != b && a != ggalloc_host_buffer_type(64, 1 << 20));
    CHECK(strcmp(ggml_backend_buft_name(a), ggml_backend_buft_name(b)) != 0);
    CHECK_EQ_INT(ggml_backend_buft_get_alignment(a), 64);
    CHECK_EQ_INT(ggml_backend_buft_get_max_size(b), 1 << 20);
    CHECK(ggml_backend_buft_is_host(a));
    ggml_backend_buffer_t ba = ggml_backend_buft_alloc_buffer(a, 1000);
    ggml_backend_buffer_t bb = ggml_backend_buft_alloc_buffer(b, 1000);
    CHECK(ba != NULL && bb != NULL);
    CHECK(((uintptr_t) ggml_backend_buffer_get_base(ba)) % 64 == 0);
    ggalloc_host_buffer_type_free(a);          // its buffer keeps it alive
    memset(ggml_backend_buffer_get_base(ba), 1, 1000);
    CHECK(ggml_backend_buffer_get_type(ba) == a);
    ggml_backend_buffer_free(ba);              // ... and takes it along
    ggml_backend_buffer_free(bb);
    ggalloc_host_buffer_type_free(b);
    ggalloc_host_buffer_type_free(NULL);
    log_capture_begin();
    ggalloc_host_buffer_type_free(ggalloc_host_buffer_type(64, 1 << 20));   // interned: not the caller's
    log_capture_end();
    CHECK(log_captured("not a host buffer type of the caller's"));
    log_capture_begin();
    CHECK(ggalloc_host_buffer_type_new(3, 100) == NULL);
    CHECK(ggalloc_host_buffer_type_new(32, 0) == NULL);
    log_capture_end();
    CHECK(log_captured("must be a power of two"));
}

static void test_buffer_types(void) {
    ggml_backend_buffer_type_t cpu = ggml_backend_cpu_buffer_type();
    CHECK(cpu != NULL);
    CHECK(cpu == ggml_backend_cpu_buffer_type());
    CHECK(strcmp(ggml_backend_buft_name(cpu), "CPU") == 0);
    CHECK_EQ_INT(ggml_backend_buft_get_alignment(cpu), 32);
    CHECK(ggml_backend_buft_get_max_size(cpu) == SIZE_MAX);
    CHECK(ggml_backend_buft_is_host(cpu));
    ggml_backend_dev_t dev = ggml_backend_buft_get_device(cpu);
    CHECK(dev != NULL && ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU);

    ggml_backend_buffer_type_t h1 = ggalloc_host_buffer_type(64, 4096);
    ggml_backend_buffer_type_t h2 = ggalloc_host_buffer_type(64, 4096);
    ggml_backend_buffer_type_t h3 = ggalloc_host_buffer_type(64, SIZE_MAX);
    ggml_backend_buffer_type_t h4 = ggalloc_host_buffer_type(1, 16);
    CHECK(h1 != NULL && h1 == h2);
    CHECK(h3 != NULL && h3 != h1);
    CHECK(h4 != NULL && h4 != h1);
    CHECK_EQ_INT(ggml_backend_buft_get_alignment(h1), 64);
    CHECK_EQ_INT(ggml_backend_buft_get_max_size(h1), 4096);
    CHECK_EQ_INT(ggml_backend_buft_get_alignment(h4), 1);
    CHECK(strcmp(ggml_backend_buft_name(h1), ggml_backend_buft_name(h3)) != 0);
    CHECK(ggml_backend_buft_is_host(h1));

    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * t = ggml_new_tensor_2d(ctx, GGML_TYPE_F16, 7, 3);
    CHECK_EQ_INT(ggml_backend_buft_get_alloc_size(h1, t), ggml_nbytes(t));
    ggml_free(ctx);

    // NULL is answered, not crashed on
    CHECK(strcmp(ggml_backend_buft_name(NULL), "NULL") == 0);
    CHECK(ggml_backend_buft_get_max_size(NULL) == SIZE_MAX);
    CHECK(!ggml_backend_buft_is_host(NULL));
    log_capture_begin();
    CHECK(ggml_backend_buft_alloc_buffer(NULL, 16) == NULL);
    log_capture_end();
    CHECK(log_captured("NULL"));
}

static void * intern_worker(void * arg) {
    size_t max = (size_t) (uintptr_t) arg;
    ggml_backend_buffer_type_t first = ggalloc_host_buffer_type(128, max);
    for (int i = 0; i < 1000; i++) {
        if (ggalloc_host_buffer_type(128, max) != first) {
            return NULL;
        }
    }
    return first;
}

static void test_interning_threads(void) {
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        pthread_create(&th[i], NULL, intern_worker, (void *) (uintptr_t) (777 + i % 2));
    }
    void * res[4];
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], &res[i]);
    }
    CHECK(res[0] != NULL && res[1] != NULL);
    CHECK(res[0] == res[2] && res[1] == res[3]);
    CHECK(res[0] != res[1]);
    CHECK(res[0] == ggalloc_host_buffer_type(128, 777));
}

static void test_buffers(void) {
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(64, SIZE_MAX);
    ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(buft, 100);
    CHECK(buf != NULL);
    CHECK(ggml_backend_buffer_get_base(buf) != NULL);
    CHECK((uintptr_t) ggml_backend_buffer_get_base(buf) % 64 == 0);
    CHECK_EQ_INT(ggml_backend_buffer_get_size(buf), 100);
    CHECK_EQ_INT(ggml_backend_buffer_get_alignment(buf), 64);
    CHECK(ggml_backend_buffer_get_max_size(buf) == SIZE_MAX);
    CHECK(ggml_backend_buffer_get_type(buf) == buft);
    CHECK(strcmp(ggml_backend_buffer_name(buf), ggml_backend_buft_name(buft)) == 0);
    CHECK(ggml_backend_buffer_is_host(buf));
    CHECK(ggml_backend_buffer_get_usage(buf) == GGML_BACKEND_BUFFER_USAGE_ANY);
    ggml_backend_buffer_set_usage(buf, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    CHECK(ggml_backend_buffer_get_usage(buf) == GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    ggml_backend_buffer_clear(buf, 0xAB);
    const unsigned char * bytes = ggml_backend_buffer_get_base(buf);
    int all = 1;
    for (int i = 0; i < 100; i++) all &= bytes[i] == 0xAB;
    CHECK(all);
    ggml_backend_buffer_reset(buf);
    ggml_backend_buffer_free(buf);

    // a buffer of size 0 is valid, with a real aligned base
    ggml_backend_buffer_t empty = ggml_backend_buft_alloc_buffer(buft, 0);
    CHECK(empty != NULL);
    CHECK_EQ_INT(ggml_backend_buffer_get_size(empty), 0);
    CHECK(ggml_backend_buffer_get_base(empty) != NULL);
    CHECK((uintptr_t) ggml_backend_buffer_get_base(empty) % 64 == 0);
    ggml_backend_buffer_clear(empty, 1);
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * zero = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 0);
    struct ggml_tensor * one = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 1);
    struct ggml_tallocr ta = ggml_tallocr_new(empty);
    CHECK(ggml_tallocr_alloc(&ta, zero) == GGML_STATUS_SUCCESS);
    CHECK(zero->data != NULL && zero->buffer == empty);
    log_capture_begin();
    CHECK(ggml_tallocr_alloc(&ta, one) == GGML_STATUS_ALLOC_FAILED);
    log_capture_end();
    ggml_backend_buffer_free(empty);
    ggml_free(ctx);

    // memory of the caller's: used in place, never freed by the buffer
    void * mem = aligned_alloc(64, 256);
    CHECK(mem != NULL);
    ggml_backend_buffer_t wrap = ggml_backend_cpu_buffer_from_ptr(mem, 256);
    CHECK(wrap != NULL);
    CHECK(ggml_backend_buffer_get_base(wrap) == mem);
    CHECK_EQ_INT(ggml_backend_buffer_get_size(wrap), 256);
    CHECK(ggml_backend_buffer_get_type(wrap) == ggml_backend_cpu_buffer_type());
    ggml_backend_buffer_free(wrap);
    log_capture_begin();
    CHECK(ggml_backend_cpu_buffer_from_ptr((char *) mem + 4, 16) == NULL);
    CHECK(ggml_backend_cpu_buffer_from_ptr(NULL, 16) == NULL);
    log_capture_end();
    CHECK(log_captured("not aligned"));
    free(mem);

    // large buffers (a mapping of their own where the system has one, up to a page's alignment):
    // aligned, every byte writable, cleared through the buffer like any other
    const size_t big = ((size_t) 48 << 20) + 100;
    const size_t aligns[] = { 32, 4096, (size_t) 1 << 16 };
    for (size_t k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++) {
        ggml_backend_buffer_type_t bt = ggalloc_host_buffer_type(aligns[k], SIZE_MAX);
        ggml_backend_buffer_t large = ggml_backend_buft_alloc_buffer(bt, big);
        CHECK(large != NULL);
        unsigned char * base = ggml_backend_buffer_get_base(large);
        CHECK((uintptr_t) base % aligns[k] == 0);
        CHECK_EQ_INT(ggml_backend_buffer_get_size(large), big);
        base[0] = 1;
        base[big / 2] = 2;
        base[big - 1] = 3;
        CHECK(base[0] + base[big / 2] + base[big - 1] == 6);
        ggml_backend_buffer_clear(large, 0x5A);
        CHECK(base[0] == 0x5A && base[big - 1] == 0x5A);
        ggml_backend_buffer_free(large);
    }

    ggml_backend_buffer_free(NULL);
    CHECK(ggml_backend_buffer_get_base(NULL) == NULL);
    CHECK_EQ_INT(ggml_backend_buffer_get_size(NULL), 0);
}

static void test_multi_buffer(void) {
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(32, SIZE_MAX);
    ggml_backend_buffer_t parts[2] = { ggml_backend_buft_alloc_buffer(buft, 64), ggml_backend_buft_alloc_buffer(buft, 96) };
    ggml_backend_buffer_t multi = ggml_backend_multi_buffer_alloc_buffer(parts, 2);
    CHECK(multi != NULL);
    CHECK(ggml_backend_buffer_is_multi_buffer(multi));
    CHECK(!ggml_backend_buffer_is_multi_buffer(parts[0]));
    CHECK_EQ_INT(ggml_backend_buffer_get_size(multi), 160);
    ggml_backend_buffer_set_usage(multi, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    CHECK(ggml_backend_buffer_get_usage(parts[0]) == GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    CHECK(ggml_backend_buffer_get_usage(parts[1]) == GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    ggml_backend_buffer_clear(multi, 7);
    CHECK(((unsigned char *) ggml_backend_buffer_get_base(parts[1]))[95] == 7);
    ggml_backend_buffer_free(multi); // frees the parts
}

static void test_transfers(void) {
    ggml_backend_buffer_type_t buft = ggalloc_host_buffer_type(16, SIZE_MAX);
    ggml_backend_buffer_t buf = ggml_backend_buft_alloc_buffer(buft, 1024);
    struct ggml_tallocr ta = ggml_tallocr_new(buf);
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * a = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 4);
    struct ggml_tensor * b = ggml_new_tensor_2d(ctx, GGML_TYPE_F32, 4, 4);
    struct ggml_tensor * c = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    struct ggml_tensor * un = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    ggml_set_name(a, "a");
    ggml_set_name(un, "un");
    CHECK(ggml_tallocr_alloc(&ta, a) == GGML_STATUS_SUCCESS);
    CHECK(ggml_tallocr_alloc(&ta, b) == GGML_STATUS_SUCCESS);
    CHECK(ggml_tallocr_alloc(&ta, c) == GGML_STATUS_SUCCESS);
    CHECK(((uintptr_t) b->data - (uintptr_t) a->data) == 64);
    {
        // the status variants: success, and a refused range or tensor without memory
        float v[16] = { 0 }, w[16];
        CHECK(ggalloc_backend_tensor_set(a, v, 0, sizeof v) == GGML_STATUS_SUCCESS);
        CHECK(ggalloc_backend_tensor_get(a, w, 0, sizeof w) == GGML_STATUS_SUCCESS);
        CHECK(ggalloc_backend_tensor_memset(a, 0, 0, 16) == GGML_STATUS_SUCCESS);
        log_capture_begin();
        CHECK(ggalloc_backend_tensor_set(a, v, 8, sizeof v) == GGML_STATUS_FAILED);
        CHECK(ggalloc_backend_tensor_get(a, NULL, 0, 4) == GGML_STATUS_FAILED);
        CHECK(ggalloc_backend_tensor_memset(un, 0, 0, 4) == GGML_STATUS_FAILED);
        log_capture_end();
        CHECK(log_captured("ggalloc_backend_tensor_set"));
    }

    float src[16], dst[16];
    for (int i = 0; i < 16; i++) src[i] = (float) i;
    ggml_backend_tensor_set(a, src, 0, sizeof(src));
    memset(dst, 0, sizeof(dst));
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(memcmp(src, dst, sizeof(src)) == 0);

    // out of range: logged, nothing copied
    float junk[4] = { -1, -1, -1, -1 };
    log_capture_begin();
    ggml_backend_tensor_set(a, junk, 56, 16);
    log_capture_end();
    CHECK(log_captured("[56, 56 + 16)"));
    CHECK(log_captured("64 bytes"));
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(memcmp(src, dst, sizeof(src)) == 0);
    float keep[4] = { 9, 9, 9, 9 };
    log_capture_begin();
    ggml_backend_tensor_get(a, keep, SIZE_MAX - 2, 8);
    ggml_backend_tensor_memset(a, 0, 60, 5);
    ggml_backend_tensor_set(un, src, 0, 4);
    log_capture_end();
    CHECK(keep[0] == 9 && keep[3] == 9);
    CHECK(log_captured("not allocated"));
    CHECK_EQ_INT(log_capture_errors, 3);
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(memcmp(src, dst, sizeof(src)) == 0);

    // memset inside the range
    ggml_backend_tensor_memset(a, 0, 4, 8);
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(dst[0] == 0.0f && dst[1] == 0.0f && dst[2] == 0.0f && dst[3] == 3.0f);

    // 2D: column 1 of each row (rows are 16 bytes apart)
    float col[4] = { 10, 11, 12, 13 };
    ggml_backend_tensor_set_2d(a, col, 4, 4, 4, 16, 4);
    float back[4] = { 0 };
    ggml_backend_tensor_get_2d(a, back, 4, 4, 4, 16, 4);
    CHECK(memcmp(col, back, sizeof(col)) == 0);
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(dst[5] == 11.0f && dst[4] == 4.0f);
    // a 2D transfer whose last row falls outside copies no row at all
    float rows[5] = { 50, 51, 52, 53, 54 };
    log_capture_begin();
    ggml_backend_tensor_set_2d(a, rows, 0, 4, 5, 16, 4);
    log_capture_end();
    CHECK(log_captured("out of tensor"));
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(dst[0] == 0.0f);

    // copy between tensors of the same layout, refused otherwise
    ggml_backend_tensor_copy(a, b);
    float bb[16];
    ggml_backend_tensor_get(b, bb, 0, sizeof(bb));
    ggml_backend_tensor_get(a, dst, 0, sizeof(dst));
    CHECK(memcmp(bb, dst, sizeof(bb)) == 0);
    log_capture_begin();
    ggml_backend_tensor_copy(a, c);
    log_capture_end();
    CHECK(log_captured("different layouts"));

    // tensor and view placement
    struct ggml_tensor * d = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 64);
    char * base = ggml_backend_buffer_get_base(buf);
    log_capture_begin();
    CHECK(ggml_backend_tensor_alloc(buf, d, base + 900) == GGML_STATUS_FAILED); // 256 B from 900 of 1024
    CHECK(ggml_backend_tensor_alloc(buf, a, base) == GGML_STATUS_FAILED);       // already placed
    log_capture_end();
    CHECK(log_captured("does not fit"));
    CHECK(d->data == NULL && d->buffer == NULL);
    CHECK(ggml_backend_tensor_alloc(buf, d, base + 768) == GGML_STATUS_SUCCESS);
    CHECK(d->data == base + 768 && d->buffer == buf);

    struct ggml_tensor * v = ggml_view_1d(ctx, a, 4, 32);
    CHECK(ggml_backend_view_init(v) == GGML_STATUS_SUCCESS);
    CHECK(v->data == (char *) a->data + 32 && v->buffer == buf);
    float vv[4];
    ggml_backend_tensor_get(v, vv, 0, sizeof(vv));
    CHECK(vv[0] == dst[8]);
    struct ggml_tensor * vu = ggml_view_1d(ctx, un, 4, 0);
    log_capture_begin();
    CHECK(ggml_backend_view_init(vu) == GGML_STATUS_FAILED);
    CHECK(ggml_backend_view_init(un) == GGML_STATUS_FAILED);
    log_capture_end();

    ggml_backend_buffer_free(buf);
    ggml_free(ctx);
}

static int count_vulkan_drivers(struct dl_phdr_info * info, size_t size, void * data) {
    (void) size;
    if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libvulkan_") != NULL) {
        (*(int *) data)++;
    }
    return 0;
}

static int vulkan_drivers_mapped(void) {
    int n = 0;
    dl_iterate_phdr(count_vulkan_drivers, &n);
    return n;
}

// Runs first: questions about the CPU never start another backend's device (no Vulkan driver
// gets loaded), so a program that only uses the CPU pays nothing for the others.
static void test_registry_is_lazy(void) {
    CHECK_EQ_INT(vulkan_drivers_mapped(), 0);
    CHECK(ggml_backend_reg_count() >= 1);
    CHECK(ggml_backend_reg_by_name("CPU") != NULL);
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    CHECK(dev != NULL && ggml_backend_dev_by_name("CPU") == dev);
    ggml_backend_t be = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    CHECK(be != NULL);
    ggml_backend_free(be);
    be = ggml_backend_init_by_name("CPU", NULL);
    CHECK(be != NULL);
    ggml_backend_free(be);
    CHECK_EQ_INT(vulkan_drivers_mapped(), 0);
}

static void test_registry(void) {
    ggml_backend_load_all();
    ggml_backend_load_all_from_path("/nonexistent");
    CHECK(ggml_backend_reg_count() >= 1);
    ggml_backend_reg_t cpu = ggml_backend_reg_get(0);
    CHECK(cpu != NULL && strcmp(ggml_backend_reg_name(cpu), "CPU") == 0);
    CHECK(ggml_backend_reg_by_name("cpu") == cpu);
    CHECK(ggml_backend_reg_by_name("no such backend") == NULL);
    CHECK(ggml_backend_reg_get(ggml_backend_reg_count()) == NULL);
    CHECK(ggml_backend_reg_dev_count(cpu) >= 1);
    CHECK(ggml_backend_reg_dev_get(cpu, 1000) == NULL);

    size_t n = ggml_backend_dev_count();
    CHECK(n >= 1);
    CHECK(ggml_backend_dev_get(n) == NULL);
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    CHECK(dev != NULL);
    CHECK(ggml_backend_dev_by_name(ggml_backend_dev_name(dev)) == dev);
    CHECK(ggml_backend_dev_backend_reg(dev) == cpu);
    struct ggml_backend_dev_props props;
    ggml_backend_dev_get_props(dev, &props);
    CHECK(props.name != NULL && props.type == GGML_BACKEND_DEVICE_TYPE_CPU);
    CHECK(ggml_backend_dev_buffer_type(dev) == ggml_backend_cpu_buffer_type());
    CHECK(ggml_backend_dev_supports_buft(dev, ggalloc_host_buffer_type(64, 1024)));

    ggml_backend_t be = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    CHECK(be != NULL);
    CHECK(ggml_backend_get_device(be) == dev);
    CHECK(ggml_backend_get_default_buffer_type(be) == ggml_backend_cpu_buffer_type());
    CHECK_EQ_INT(ggml_backend_get_alignment(be), 32);
    CHECK(ggml_backend_get_max_size(be) == SIZE_MAX);
    CHECK(ggml_backend_supports_buft(be, ggml_backend_cpu_buffer_type()));
    ggml_backend_buffer_t buf = ggml_backend_alloc_buffer(be, 128);
    CHECK(buf != NULL && ggml_backend_buffer_get_size(buf) == 128);
    ggml_backend_buffer_free(buf);
    ggml_backend_synchronize(be);
    ggml_backend_free(be);

    be = ggml_backend_init_by_name("CPU", NULL);
    CHECK(be != NULL);
    ggml_backend_free(be);
    be = ggml_backend_init_best();
    CHECK(be != NULL);
    ggml_backend_free(be);
    log_capture_begin();
    CHECK(ggml_backend_init_by_name("no such device", NULL) == NULL);
    log_capture_end();
    CHECK(log_captured("no such device"));
    ggml_backend_free(NULL);
}

// A graph planned by the graph allocator in the CPU backend's buffer type, then computed.
static void test_compute_end_to_end(void) {
    ggml_backend_t be = ggml_backend_init_by_type(GGML_BACKEND_DEVICE_TYPE_CPU, NULL);
    CHECK(be != NULL);
    if (be == NULL) return;
    struct ggml_context * ctx = new_ctx();
    struct ggml_tensor * x = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    struct ggml_tensor * y = ggml_new_tensor_1d(ctx, GGML_TYPE_F32, 8);
    ggml_set_input(x);
    ggml_set_input(y);
    struct ggml_tensor * s = ggml_add(ctx, x, y);
    struct ggml_tensor * t = ggml_scale(ctx, s, 2.0f);           // in place over s
    struct ggml_tensor * u = ggml_add(ctx, ggml_cont(ctx, t), x);
    ggml_set_output(u);
    struct ggml_cgraph * g = ggml_new_graph(ctx);
    ggml_build_forward_expand(g, u);

    ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(be));
    CHECK(ggml_gallocr_alloc_graph(galloc, g));
    oracle_allocated(galloc, g);
    float xv[8], yv[8], uv[8];
    for (int i = 0; i < 8; i++) {
        xv[i] = (float) i;
        yv[i] = 1.0f;
    }
    ggml_backend_tensor_set(x, xv, 0, sizeof(xv));
    ggml_backend_tensor_set(y, yv, 0, sizeof(yv));
    CHECK(ggml_backend_graph_compute(be, g) == GGML_STATUS_SUCCESS);
    ggml_backend_tensor_get(u, uv, 0, sizeof(uv));
    int ok = 1;
    for (int i = 0; i < 8; i++) ok &= uv[i] == 2.0f * (xv[i] + 1.0f) + xv[i];
    CHECK(ok);
    ggml_gallocr_free(galloc);
    ggml_free(ctx);
    ggml_backend_free(be);
}

int main(void) {
    test_registry_is_lazy();
    test_buffer_types();
    test_distinct_host_types();
    test_interning_threads();
    test_buffers();
    test_multi_buffer();
    test_transfers();
    test_registry();
    test_compute_end_to_end();
    return check_report("test-backend");
}
