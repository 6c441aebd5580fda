// Host memory buffer types: ggml's CPU buffer type, host types with any device's alignment and
// max buffer size (so a plan for a device can be made and checked on any machine), and a type
// whose allocations fail past a byte budget (for the failure tests).
//
// Every host buffer is one aligned allocation: from the C library, or, from HOST_MAP_MIN bytes up,
// a mapping of its own (mmap, where the system has it). The C library maps such sizes too, but
// writes its bookkeeping into the mapping's first page, and that page fault alone cost tens of
// microseconds here: a fresh allocator's first reserve of GPT-2's 104 MB prefill buffer took
// 100-120 us with posix_memalign and about 40 with a mapping that no one touches until the
// tensors are written. Smaller buffers stay with the C library, which hands freed memory out again
// with its pages already in place. A buffer of size 0 is valid: it still gets
// `alignment` bytes of memory, so its base is a real, aligned, non-NULL pointer and a zero-sized
// tensor placed in it has data != NULL like any other allocated tensor.
//
// Host buffer types are interned: ggalloc_host_buffer_type returns the same object for the same
// (alignment, max_size), found in a short list under a mutex. They live for the process, like
// ggml's CPU buffer type, so buffers and allocators may keep pointers to them forever.

#include "buffer-host.h"
#include "log.h"
#include "ggalloc-buffer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#include <unistd.h>
#define HOST_HAVE_MMAP 1
#endif

// Requests above this are refused before they reach the system allocator: no host has that much
// memory, and the planner's last chunk can ask for absurd sizes that must fail cleanly.
#define HOST_MAX_ALLOC ((size_t) 1 << 46)
// From this size up a buffer is a mapping of its own (glibc maps anything past 32 MiB anyway)
#define HOST_MAP_MIN ((size_t) 32 << 20)

struct host_buft_ctx {
    size_t alignment;
    size_t max_size;
    char   name[80];

    // types the caller owns (ggalloc_host_buffer_type_new, failing types): live buffers keep
    // the type alive, so it may be freed before them
    bool            caller_owned;
    size_t          n_buffers;
    bool            released;  // its _free was called
    pthread_mutex_t lock;

    // failing buffer types only
    bool            failing;
    size_t          budget;
    size_t          outstanding;

    struct host_buft_ctx * next;          // interning list
    struct ggml_backend_buffer_type buft; // the object handed out
};

struct host_buffer_ctx {
    void * base;
    bool   owned;     // false for memory the caller provides
    size_t mapped;    // owned and mapped: the mapping's length (0: from the C library)
    size_t accounted; // bytes charged to a failing type's budget
};

//
// Buffers
//

static bool host_buft_is_ours(ggml_backend_buffer_type_t buft);

// bytes of memory aligned to align: a mapping of its own from HOST_MAP_MIN bytes up (*mapped: its
// length), else from the C library (*mapped 0); NULL when there is none.
static void * host_memory_alloc(size_t bytes, size_t align, size_t * mapped) {
    *mapped = 0;
#ifdef HOST_HAVE_MMAP
    const long page = bytes >= HOST_MAP_MIN ? sysconf(_SC_PAGESIZE) : 0; // (asked only where it matters)
    if (page > 0 && align <= (size_t) page) {
        void * p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            *mapped = bytes;
            return p;
        }
        // no mapping (a limit on them, say): the C library may still find the memory
    }
#endif
    void * p = NULL;
    return posix_memalign(&p, align, bytes) == 0 ? p : NULL;
}

// Frees what host_memory_alloc returned, with its *mapped.
static void host_memory_free(void * p, size_t mapped) {
#ifdef HOST_HAVE_MMAP
    if (mapped > 0) {
        munmap(p, mapped);
        return;
    }
#endif
    free(p);
}

static void host_buffer_free(ggml_backend_buffer_t buffer) {
    struct host_buffer_ctx * ctx = buffer->context;
    struct host_buft_ctx * tctx = buffer->buft->context;
    bool release_type = false;
    if (tctx->caller_owned) {
        pthread_mutex_lock(&tctx->lock);
        tctx->outstanding -= ctx->accounted;
        tctx->n_buffers--;
        release_type = tctx->released && tctx->n_buffers == 0;
        pthread_mutex_unlock(&tctx->lock);
    }
    if (ctx->owned) {
        host_memory_free(ctx->base, ctx->mapped);
    }
    free(ctx);
    if (release_type) {
        pthread_mutex_destroy(&tctx->lock);
        free(tctx);
    }
}

static void * host_buffer_get_base(ggml_backend_buffer_t buffer) {
    return ((struct host_buffer_ctx *) buffer->context)->base;
}

static enum ggml_status host_buffer_memset_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor,
        uint8_t value, size_t offset, size_t size) {
    (void) buffer;
    memset((char *) tensor->data + offset, value, size);
    return GGML_STATUS_SUCCESS;
}

static enum ggml_status host_buffer_set_tensor(ggml_backend_buffer_t buffer, struct ggml_tensor * tensor,
        const void * data, size_t offset, size_t size) {
    (void) buffer;
    if (size > 0) {
        memmove((char *) tensor->data + offset, data, size);
    }
    return GGML_STATUS_SUCCESS;
}

static enum ggml_status host_buffer_get_tensor(ggml_backend_buffer_t buffer, const struct ggml_tensor * tensor,
        void * data, size_t offset, size_t size) {
    (void) buffer;
    if (size > 0) {
        memmove(data, (const char *) tensor->data + offset, size);
    }
    return GGML_STATUS_SUCCESS;
}

static bool host_buffer_cpy_tensor(ggml_backend_buffer_t buffer, const struct ggml_tensor * src, struct ggml_tensor * dst) {
    (void) buffer;
    if (src->buffer == NULL || !ggml_backend_buffer_is_host(src->buffer)) {
        return false; // the caller goes through the host
    }
    size_t n = ggml_nbytes(src);
    if (n > 0) {
        memmove(dst->data, src->data, n);
    }
    return true;
}

static enum ggml_status host_buffer_clear(ggml_backend_buffer_t buffer, uint8_t value) {
    memset(host_buffer_get_base(buffer), value, buffer->size);
    return GGML_STATUS_SUCCESS;
}

static const struct ggml_backend_buffer_i host_buffer_i = {
    .free_buffer   = host_buffer_free,
    .get_base      = host_buffer_get_base,
    .init_tensor   = NULL,
    .memset_tensor = host_buffer_memset_tensor,
    .set_tensor    = host_buffer_set_tensor,
    .get_tensor    = host_buffer_get_tensor,
    .cpy_tensor    = host_buffer_cpy_tensor,
    .clear         = host_buffer_clear,
    .reset         = NULL,
};

static ggml_backend_buffer_t host_buffer_wrap(ggml_backend_buffer_type_t buft, void * base, bool owned, size_t mapped,
        size_t size, size_t accounted) {
    struct host_buffer_ctx * ctx = malloc(sizeof(*ctx));
    if (ctx == NULL) {
        GGML_LOG_ERROR("%s: out of memory for a %s buffer of %zu bytes\n", __func__, ggml_backend_buft_name(buft), size);
        return NULL;
    }
    ctx->base = base;
    ctx->owned = owned;
    ctx->mapped = mapped;
    ctx->accounted = accounted;
    ggml_backend_buffer_t buffer = ggml_backend_buffer_init(buft, host_buffer_i, ctx, size);
    if (buffer == NULL) {
        free(ctx);
        return NULL;
    }
    struct host_buft_ctx * tctx = buft->context;
    if (tctx->caller_owned) {
        pthread_mutex_lock(&tctx->lock);
        tctx->n_buffers++;
        pthread_mutex_unlock(&tctx->lock);
    }
    return buffer;
}

//
// Buffer types
//

static const char * host_buft_get_name(ggml_backend_buffer_type_t buft) {
    return ((struct host_buft_ctx *) buft->context)->name;
}

static size_t host_buft_get_alignment(ggml_backend_buffer_type_t buft) {
    return ((struct host_buft_ctx *) buft->context)->alignment;
}

static size_t host_buft_get_max_size(ggml_backend_buffer_type_t buft) {
    return ((struct host_buft_ctx *) buft->context)->max_size;
}

static bool host_buft_is_host(ggml_backend_buffer_type_t buft) {
    (void) buft;
    return true;
}

static ggml_backend_buffer_t host_buft_alloc_buffer(ggml_backend_buffer_type_t buft, size_t size) {
    struct host_buft_ctx * tctx = buft->context;

    if (tctx->failing) {
        pthread_mutex_lock(&tctx->lock);
        bool refuse = tctx->budget == 0 || size > tctx->budget - tctx->outstanding;
        size_t outstanding = tctx->outstanding;
        if (!refuse) {
            tctx->outstanding += size;
        }
        pthread_mutex_unlock(&tctx->lock);
        if (refuse) {
            GGML_LOG_ERROR("%s: %s: cannot allocate a buffer of %zu bytes (%zu of the %zu-byte budget in use)\n",
                    __func__, tctx->name, size, outstanding, tctx->budget);
            return NULL;
        }
    }

    void * base = NULL;
    size_t mapped = 0;
    if (size <= HOST_MAX_ALLOC) {
        size_t align = tctx->alignment < sizeof(void *) ? sizeof(void *) : tctx->alignment;
        size_t bytes = size < tctx->alignment ? tctx->alignment : size;
        base = host_memory_alloc(bytes, align, &mapped);
    }
    ggml_backend_buffer_t buffer = NULL;
    if (base == NULL) {
        GGML_LOG_ERROR("%s: %s: cannot allocate a buffer of %zu bytes\n", __func__, tctx->name, size);
    } else {
        buffer = host_buffer_wrap(buft, base, true, mapped, size, tctx->failing ? size : 0);
        if (buffer == NULL) {
            host_memory_free(base, mapped);
        }
    }
    if (buffer == NULL && tctx->failing) {
        pthread_mutex_lock(&tctx->lock);
        tctx->outstanding -= size;
        pthread_mutex_unlock(&tctx->lock);
    }
    return buffer;
}

static const struct ggml_backend_buffer_type_i host_buft_i = {
    .get_name       = host_buft_get_name,
    .alloc_buffer   = host_buft_alloc_buffer,
    .get_alignment  = host_buft_get_alignment,
    .get_max_size   = host_buft_get_max_size,
    .get_alloc_size = NULL,
    .is_host        = host_buft_is_host,
};

static bool host_buft_is_ours(ggml_backend_buffer_type_t buft) {
    return buft != NULL && buft->iface.alloc_buffer == host_buft_alloc_buffer;
}

static struct host_buft_ctx cpu_buft_ctx = {
    .alignment = 32, // ggml's TENSOR_ALIGNMENT
    .max_size  = SIZE_MAX,
    .name      = "CPU",
    .failing   = false,
    .lock      = PTHREAD_MUTEX_INITIALIZER,
    .buft      = {
        .iface   = {
            .get_name       = host_buft_get_name,
            .alloc_buffer   = host_buft_alloc_buffer,
            .get_alignment  = host_buft_get_alignment,
            .get_max_size   = host_buft_get_max_size,
            .get_alloc_size = NULL,
            .is_host        = host_buft_is_host,
        },
        .device  = NULL,
        .context = &cpu_buft_ctx,
    },
};

ggml_backend_buffer_type_t ggml_backend_cpu_buffer_type(void) {
    return &cpu_buft_ctx.buft;
}

ggml_backend_buffer_t ggml_backend_cpu_buffer_from_ptr(void * ptr, size_t size) {
    if (ptr == NULL) {
        GGML_LOG_ERROR("%s: ptr is NULL\n", __func__);
        return NULL;
    }
    if ((uintptr_t) ptr % cpu_buft_ctx.alignment != 0) {
        GGML_LOG_ERROR("%s: ptr %p is not aligned to %zu bytes\n", __func__, ptr, cpu_buft_ctx.alignment);
        return NULL;
    }
    return host_buffer_wrap(&cpu_buft_ctx.buft, ptr, false, 0, size, 0);
}

ggml_backend_buffer_t ggalloc_host_buffer_from_ptr(ggml_backend_buffer_type_t buft, void * ptr, size_t size) {
    if (!host_buft_is_ours(buft) || ptr == NULL) {
        GGML_LOG_ERROR("%s: needs a host buffer type and a pointer (got %s, %p)\n", __func__,
                buft ? ggml_backend_buft_name(buft) : "NULL", ptr);
        return NULL;
    }
    return host_buffer_wrap(buft, ptr, false, 0, size, 0);
}

static bool is_pow2(size_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

static struct host_buft_ctx * host_buft_ctx_new(size_t alignment, size_t max_size) {
    struct host_buft_ctx * ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL) {
        return NULL;
    }
    ctx->alignment = alignment;
    ctx->max_size = max_size;
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        free(ctx);
        return NULL;
    }
    ctx->buft.iface = host_buft_i;
    ctx->buft.device = NULL;
    ctx->buft.context = ctx;
    return ctx;
}

static pthread_mutex_t         host_bufts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct host_buft_ctx  * host_bufts      = NULL; // interned, never freed

ggml_backend_buffer_type_t ggalloc_host_buffer_type(size_t alignment, size_t max_size) {
    if (!is_pow2(alignment) || max_size == 0) {
        GGML_LOG_ERROR("%s: alignment %zu must be a power of two and max_size %zu positive\n", __func__, alignment, max_size);
        return NULL;
    }
    pthread_mutex_lock(&host_bufts_lock);
    struct host_buft_ctx * ctx = host_bufts;
    while (ctx != NULL && (ctx->alignment != alignment || ctx->max_size != max_size)) {
        ctx = ctx->next;
    }
    if (ctx == NULL) {
        ctx = host_buft_ctx_new(alignment, max_size);
        if (ctx != NULL) {
            if (max_size == SIZE_MAX) {
                snprintf(ctx->name, sizeof(ctx->name), "Host(align=%zu)", alignment);
            } else {
                snprintf(ctx->name, sizeof(ctx->name), "Host(align=%zu,max=%zu)", alignment, max_size);
            }
            ctx->next = host_bufts;
            host_bufts = ctx;
        }
    }
    pthread_mutex_unlock(&host_bufts_lock);
    if (ctx == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", __func__);
        return NULL;
    }
    return &ctx->buft;
}

static ggml_backend_buffer_type_t host_buft_new_owned(const char * fn, size_t alignment, size_t max_size) {
    if (!is_pow2(alignment) || max_size == 0) {
        GGML_LOG_ERROR("%s: alignment %zu must be a power of two and max_size %zu positive\n", fn, alignment, max_size);
        return NULL;
    }
    struct host_buft_ctx * ctx = host_buft_ctx_new(alignment, max_size);
    if (ctx == NULL) {
        GGML_LOG_ERROR("%s: out of memory\n", fn);
        return NULL;
    }
    ctx->caller_owned = true;
    return &ctx->buft;
}

// Frees a type the caller owns: now, or with the last of its buffers.
static void host_buft_release(const char * fn, ggml_backend_buffer_type_t buft, bool failing) {
    if (buft == NULL) {
        return;
    }
    struct host_buft_ctx * ctx = host_buft_is_ours(buft) ? buft->context : NULL;
    if (ctx == NULL || !ctx->caller_owned || ctx->failing != failing || ctx->released) {
        GGML_LOG_ERROR("%s: %s is not a %s buffer type of the caller's (or was freed already)\n", fn,
                ggml_backend_buft_name(buft), failing ? "failing" : "host");
        return;
    }
    pthread_mutex_lock(&ctx->lock);
    ctx->released = true;
    bool now = ctx->n_buffers == 0;
    pthread_mutex_unlock(&ctx->lock);
    if (now) {
        pthread_mutex_destroy(&ctx->lock);
        free(ctx);
    }
}

ggml_backend_buffer_type_t ggalloc_host_buffer_type_new(size_t alignment, size_t max_size) {
    static atomic_uint serial;
    ggml_backend_buffer_type_t buft = host_buft_new_owned(__func__, alignment, max_size);
    if (buft != NULL) {
        struct host_buft_ctx * ctx = buft->context;
        unsigned id = atomic_fetch_add(&serial, 1) + 1;
        if (max_size == SIZE_MAX) {
            snprintf(ctx->name, sizeof(ctx->name), "Host%u(align=%zu)", id, alignment);
        } else {
            snprintf(ctx->name, sizeof(ctx->name), "Host%u(align=%zu,max=%zu)", id, alignment, max_size);
        }
    }
    return buft;
}

void ggalloc_host_buffer_type_free(ggml_backend_buffer_type_t buft) {
    host_buft_release(__func__, buft, false);
}

ggml_backend_buffer_type_t ggalloc_failing_buffer_type_new(size_t alignment, size_t max_size, size_t budget) {
    ggml_backend_buffer_type_t buft = host_buft_new_owned(__func__, alignment, max_size);
    if (buft != NULL) {
        struct host_buft_ctx * ctx = buft->context;
        ctx->failing = true;
        ctx->budget = budget;
        snprintf(ctx->name, sizeof(ctx->name), "Failing(align=%zu,budget=%zu)", alignment, budget);
    }
    return buft;
}

void ggalloc_failing_buffer_type_free(ggml_backend_buffer_type_t buft) {
    host_buft_release(__func__, buft, true);
}
