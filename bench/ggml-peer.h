// bench/ggml-peer.h — ggml itself, in the same process as ggalloc, so that a benchmark can time
// both libraries running the same program on identical graphs, interleaved, in one run.
//
// No ggml library is installed where this runs; what exists is ggml's RPC server (../shared/peers), an
// executable with all of ggml linked in statically and its symbol table kept. Its ggml functions
// are not exported, but they are in the file, and once the executable is loaded each one is at
// the load base plus the address its symbol records. So:
//
// 1. The executable is copied into a private temporary directory with the PIE bit of its
//    DT_FLAGS_1 cleared (glibc's dlopen refuses an object that says it is a position-independent
//    executable, though such an object loads like any shared library), loaded with
//    dlopen(RTLD_NOW | RTLD_LOCAL), and the copy is removed. dlinfo gives the load base. The
//    object stays loaded for the life of the process (ggml keeps global state; unloading it is
//    not worth the risk for a benchmark).
// 2. The file's .symtab is read here, in C, every offset and size checked against the file's
//    length (it is input), and each function the benchmark needs is the base plus the value of
//    its STT_FUNC symbol, typed with __typeof__ of our own prototype: the API is the same.
// 3. ggml's op enum is matched to ours by name (ggml_op_name on both sides; ggml's op count is
//    the size of its GGML_OP_NAME table, as ggml_op_name does not check its argument); an op
//    ggml lacks makes the graphs that use it uncomparable, and the copy says so.
// 4. peer_graph_copy builds a copy of one of our graphs in either library through the same
//    struct of function pointers (ours direct, ggml's resolved), so both run one program: one new
//    context, each leaf and node made again with ggml_new_tensor and its fields copied, the
//    graph built with ggml_build_forward_expand in our node order, and that order checked.
//
// Both libraries share struct ggml_tensor's layout (checked on a tensor at load), so the copy
// reads and writes tensor fields directly; ggml's struct ggml_cgraph is opaque here and only
// reached through its functions. Every failure of the loader or the copy (a missing file, not
// ELF64 x86-64, no symbol table, a missing symbol, dlopen refusing it, an op ggml lacks) is a
// message for the caller to print, never an abort.
//
// Needs _GNU_SOURCE (for dlinfo) defined before the first system header.

#pragma once

#ifndef _GNU_SOURCE
#error "bench/ggml-peer.h needs _GNU_SOURCE defined before the first system header (dlinfo)"
#endif

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggalloc.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"

// The ggml functions a graph benchmark calls, each as our header declares it.
#define PEER_FUNCS(X)                \
    X(ggml_init)                     \
    X(ggml_free)                     \
    X(ggml_new_tensor)               \
    X(ggml_new_graph_custom)         \
    X(ggml_build_forward_expand)     \
    X(ggml_graph_n_nodes)            \
    X(ggml_graph_node)               \
    X(ggml_op_name)                  \
    X(ggml_tensor_overhead)          \
    X(ggml_graph_overhead_custom)    \
    X(ggml_backend_cpu_buffer_type)  \
    X(ggml_gallocr_new)              \
    X(ggml_gallocr_free)             \
    X(ggml_gallocr_reserve)          \
    X(ggml_gallocr_reserve_n_size)   \
    X(ggml_gallocr_alloc_graph)      \
    X(ggml_gallocr_get_buffer_size)

// One library's implementation of those functions, and its op enum seen from ours.
struct peer_lib {
    const char * name;
#define PEER_MEMBER(f) __typeof__(f) * f;
    PEER_FUNCS(PEER_MEMBER)
#undef PEER_MEMBER
    int op_map[GGML_OP_COUNT]; // our op -> the library's; -1: it has none of that name
};

// A failure's message into err (err_size bytes; NULL and 0: none).
static void peer_err(char * err, size_t err_size, const char * fmt, ...) __attribute__((format(printf, 3, 4)));
static void peer_err(char * err, size_t err_size, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap); // (NULL, 0) writes nothing
    va_end(ap);
}

// This library, linked in.
static void peer_lib_ours(struct peer_lib * lib) {
    memset(lib, 0, sizeof(*lib));
    lib->name = "ggalloc";
#define PEER_OURS(f) lib->f = f;
    PEER_FUNCS(PEER_OURS)
#undef PEER_OURS
    for (int op = 0; op < GGML_OP_COUNT; op++) {
        lib->op_map[op] = op;
    }
}

//
// The ELF file
//

// [off, off + size) lies within a file of total bytes (without overflowing).
static bool peer_in_file(uint64_t off, uint64_t size, uint64_t total) {
    return off <= total && size <= total - off;
}

struct peer_elf {
    unsigned char    * data;
    size_t             size;
    const Elf64_Ehdr * eh;
    const Elf64_Phdr * ph; // e_phnum of them, all within the file
    int                n_ph;
};

// Reads the whole file (it is patched and written out again) and checks the headers: ELF64,
// little-endian x86-64, a shared object (ET_DYN: a PIE or a library), program headers in the file.
static bool peer_elf_read(const char * path, struct peer_elf * elf, char * err, size_t err_size) {
    memset(elf, 0, sizeof(*elf));
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        peer_err(err, err_size, errno == ENOENT ? "%s not found" : "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        peer_err(err, err_size, "%s: not a regular file", path);
        close(fd);
        return false;
    }
    // an executable with all of ggml is a few MiB; anything past 1 GiB is not one
    if (st.st_size < (off_t) sizeof(Elf64_Ehdr) || st.st_size > ((off_t) 1 << 30)) {
        peer_err(err, err_size, "%s: not an ELF64 file (%lld bytes)", path, (long long) st.st_size);
        close(fd);
        return false;
    }
    elf->size = (size_t) st.st_size;
    elf->data = malloc(elf->size);
    if (elf->data == NULL) {
        peer_err(err, err_size, "%s: out of memory reading it", path);
        close(fd);
        return false;
    }
    size_t got = 0;
    while (got < elf->size) {
        const ssize_t n = read(fd, elf->data + got, elf->size - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            peer_err(err, err_size, "%s: read failed: %s", path, n < 0 ? strerror(errno) : "file shrank");
            close(fd);
            free(elf->data);
            elf->data = NULL;
            return false;
        }
        got += (size_t) n;
    }
    close(fd);

    const Elf64_Ehdr * eh = (const Elf64_Ehdr *) elf->data;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_ident[EI_DATA] != ELFDATA2LSB || eh->e_machine != EM_X86_64) {
        peer_err(err, err_size, "%s: not an ELF64 x86-64 file", path);
        goto fail;
    }
    if (eh->e_type != ET_DYN) {
        peer_err(err, err_size, "%s: not position-independent (ELF type %u), so it cannot be loaded", path,
                 (unsigned) eh->e_type);
        goto fail;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
        !peer_in_file(eh->e_phoff, (uint64_t) eh->e_phnum * sizeof(Elf64_Phdr), elf->size)) {
        peer_err(err, err_size, "%s: bad program headers", path);
        goto fail;
    }
    if (eh->e_phoff % _Alignof(Elf64_Phdr) != 0) {
        peer_err(err, err_size, "%s: misaligned program headers", path);
        goto fail;
    }
    elf->eh = eh;
    elf->ph = (const Elf64_Phdr *) (elf->data + eh->e_phoff);
    elf->n_ph = eh->e_phnum;
    return true;
fail:
    free(elf->data);
    elf->data = NULL;
    return false;
}

// Clears DF_1_PIE in the DT_FLAGS_1 entry of the dynamic segment, in memory.
static bool peer_elf_clear_pie(struct peer_elf * elf, const char * path, char * err, size_t err_size) {
    for (int i = 0; i < elf->n_ph; i++) {
        const Elf64_Phdr * p = &elf->ph[i];
        if (p->p_type != PT_DYNAMIC) {
            continue;
        }
        if (!peer_in_file(p->p_offset, p->p_filesz, elf->size) || p->p_offset % _Alignof(Elf64_Dyn) != 0) {
            peer_err(err, err_size, "%s: bad dynamic segment", path);
            return false;
        }
        Elf64_Dyn * d = (Elf64_Dyn *) (elf->data + p->p_offset);
        const uint64_t n = p->p_filesz / sizeof(Elf64_Dyn);
        for (uint64_t k = 0; k < n && d[k].d_tag != DT_NULL; k++) {
            if (d[k].d_tag == DT_FLAGS_1) {
                d[k].d_un.d_val &= ~(Elf64_Xword) DF_1_PIE;
            }
        }
        return true;
    }
    peer_err(err, err_size, "%s: no dynamic segment, so it cannot be loaded", path);
    return false;
}

// Whether a PT_LOAD segment (an executable one if exec) holds [value, value + size) once loaded.
static bool peer_elf_in_segment(const struct peer_elf * elf, uint64_t value, uint64_t size, bool exec) {
    for (int i = 0; i < elf->n_ph; i++) {
        const Elf64_Phdr * p = &elf->ph[i];
        if (p->p_type == PT_LOAD && (!exec || (p->p_flags & PF_X)) && value >= p->p_vaddr &&
            peer_in_file(value - p->p_vaddr, size, p->p_memsz)) {
            return true;
        }
    }
    return false;
}

// Looks up n names in .symtab: value[i] and size[i] of the symbol of type type[i] named name[i],
// a global one rather than a local one of the same name; value[i] = 0 where there is none.
static bool peer_elf_lookup(const struct peer_elf * elf, const char * path, int n, const char * const * name,
        const unsigned char * type, uint64_t * value, uint64_t * size, char * err, size_t err_size) {
    const Elf64_Ehdr * eh = elf->eh;
    if (eh->e_shnum == 0 || eh->e_shoff == 0) {
        peer_err(err, err_size, "%s: no section headers, so no symbol table", path);
        return false;
    }
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff % _Alignof(Elf64_Shdr) != 0 ||
        !peer_in_file(eh->e_shoff, (uint64_t) eh->e_shnum * sizeof(Elf64_Shdr), elf->size)) {
        peer_err(err, err_size, "%s: section headers outside the file (truncated?)", path);
        return false;
    }
    const Elf64_Shdr * sh = (const Elf64_Shdr *) (elf->data + eh->e_shoff);
    const Elf64_Shdr * symtab = NULL;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_SYMTAB) {
            symtab = &sh[i];
            break;
        }
    }
    if (symtab == NULL) {
        peer_err(err, err_size, "%s: no .symtab (stripped), so ggml's functions cannot be found", path);
        return false;
    }
    if (symtab->sh_entsize != sizeof(Elf64_Sym) || !peer_in_file(symtab->sh_offset, symtab->sh_size, elf->size) ||
        symtab->sh_offset % _Alignof(Elf64_Sym) != 0 || symtab->sh_link == 0 || symtab->sh_link >= eh->e_shnum) {
        peer_err(err, err_size, "%s: bad .symtab section", path);
        return false;
    }
    const Elf64_Shdr * strtab = &sh[symtab->sh_link];
    if (strtab->sh_type != SHT_STRTAB || !peer_in_file(strtab->sh_offset, strtab->sh_size, elf->size)) {
        peer_err(err, err_size, "%s: bad string table of .symtab", path);
        return false;
    }
    const char * str = (const char *) elf->data + strtab->sh_offset;
    const uint64_t str_size = strtab->sh_size;
    const Elf64_Sym * sym = (const Elf64_Sym *) (elf->data + symtab->sh_offset);
    const uint64_t n_sym = symtab->sh_size / sizeof(Elf64_Sym);

    bool * global = calloc((size_t) n, sizeof(bool));
    if (global == NULL) {
        peer_err(err, err_size, "out of memory");
        return false;
    }
    for (int i = 0; i < n; i++) {
        value[i] = 0;
        size[i] = 0;
    }
    for (uint64_t k = 0; k < n_sym; k++) {
        const Elf64_Sym * s = &sym[k];
        if (s->st_name == 0 || s->st_name >= str_size || s->st_shndx == SHN_UNDEF || s->st_value == 0) {
            continue;
        }
        const char * sname = str + s->st_name;
        if (memchr(sname, '\0', str_size - s->st_name) == NULL) {
            continue; // a name running off the table
        }
        for (int i = 0; i < n; i++) {
            if (ELF64_ST_TYPE(s->st_info) != type[i] || strcmp(sname, name[i]) != 0) {
                continue;
            }
            const bool is_global = ELF64_ST_BIND(s->st_info) != STB_LOCAL;
            if (value[i] == 0 || (is_global && !global[i])) {
                value[i] = s->st_value;
                size[i] = s->st_size;
                global[i] = is_global;
            }
        }
    }
    free(global);
    return true;
}

//
// Loading ggml
//

// Loads ggml from the executable at path into lib. false, with the reason in err, if it cannot.
static bool peer_lib_load_ggml(struct peer_lib * lib, const char * path, char * err, size_t err_size) {
    memset(lib, 0, sizeof(*lib));
    lib->name = "ggml";

    struct peer_elf elf;
    if (!peer_elf_read(path, &elf, err, err_size)) {
        return false;
    }

    // what to resolve: the functions, then ggml's table of op names, whose size gives the number of
    // ops (ggml_op_name does not check its argument, so it must not be asked past the end)
#define PEER_NAME(f) #f,
    static const char * const names[] = { PEER_FUNCS(PEER_NAME) "GGML_OP_NAME" };
#undef PEER_NAME
    enum { N_NAMES = (int) (sizeof(names) / sizeof(names[0])), N_FUNCS = N_NAMES - 1 };
    unsigned char types[N_NAMES];
    uint64_t values[N_NAMES], sizes[N_NAMES];
    for (int i = 0; i < N_NAMES; i++) {
        types[i] = i < N_FUNCS ? STT_FUNC : STT_OBJECT;
    }
    if (!peer_elf_lookup(&elf, path, N_NAMES, names, types, values, sizes, err, err_size)) {
        free(elf.data);
        return false;
    }
    for (int i = 0; i < N_NAMES; i++) {
        if (values[i] == 0) {
            peer_err(err, err_size, "%s: no %s %s in its symbol table", path, i < N_FUNCS ? "function" : "object", names[i]);
            free(elf.data);
            return false;
        }
        const bool ok = i < N_FUNCS ? peer_elf_in_segment(&elf, values[i], 1, true)
                                    : sizes[i] % sizeof(char *) == 0 && sizes[i] > 0 && sizes[i] <= 4096 * sizeof(char *) &&
                                      peer_elf_in_segment(&elf, values[i], sizes[i], false);
        if (!ok) {
            peer_err(err, err_size, "%s: symbol %s points outside the loaded segments", path, names[i]);
            free(elf.data);
            return false;
        }
    }
    const int n_ggml_ops = (int) (sizes[N_FUNCS] / sizeof(char *));

    if (!peer_elf_clear_pie(&elf, path, err, err_size)) {
        free(elf.data);
        return false;
    }

    // the patched copy, in a directory only we can write to, removed once loaded
    const char * tmp = getenv("TMPDIR");
    char dir[4096], file[4096 + 32];
    snprintf(dir, sizeof(dir), "%s/ggml-peer-XXXXXX", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        peer_err(err, err_size, "cannot make a temporary directory in %s: %s", tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp",
                 strerror(errno));
        free(elf.data);
        return false;
    }
    snprintf(file, sizeof(file), "%s/ggml.so", dir);
    const int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    bool written = fd >= 0;
    for (size_t done = 0; written && done < elf.size;) {
        const ssize_t n = write(fd, elf.data + done, elf.size - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        written = n > 0;
        done += written ? (size_t) n : 0;
    }
    const int write_errno = errno;
    if (fd >= 0 && close(fd) != 0) {
        written = false;
    }
    free(elf.data);
    void * handle = NULL;
    if (!written) {
        peer_err(err, err_size, "cannot write %s: %s", file, strerror(write_errno));
    } else {
        handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) {
            const char * why = dlerror();
            peer_err(err, err_size, "%s: dlopen failed: %s", path, why != NULL ? why : "(no reason given)");
        }
    }
    unlink(file);
    rmdir(dir);
    if (handle == NULL) {
        return false;
    }

    struct link_map * lm = NULL;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL) {
        const char * why = dlerror();
        peer_err(err, err_size, "%s: dlinfo failed: %s", path, why != NULL ? why : "(no reason given)");
        dlclose(handle);
        return false;
    }
    const uintptr_t base = (uintptr_t) lm->l_addr;
    int k = 0;
#define PEER_SET(f) lib->f = (__typeof__(f) *) (base + (uintptr_t) values[k++]);
    PEER_FUNCS(PEER_SET)
#undef PEER_SET

    // the tensor layout: a tensor ggml makes must read back as ours would
    {
        struct ggml_init_params ip = { 16 * lib->ggml_tensor_overhead(), NULL, true };
        struct ggml_context * ctx = lib->ggml_init(ip);
        const int64_t ne[4] = { 2, 3, 5, 7 };
        struct ggml_tensor * t = ctx != NULL ? lib->ggml_new_tensor(ctx, GGML_TYPE_F32, 4, ne) : NULL;
        const bool same = t != NULL && t->type == GGML_TYPE_F32 && t->ne[0] == 2 && t->ne[3] == 7 && t->nb[0] == 4 &&
                          t->nb[1] == 8 && t->nb[3] == 4 * 2 * 3 * 5 && t->op == GGML_OP_NONE && t->data == NULL &&
                          t->view_src == NULL && t->src[0] == NULL;
        if (ctx != NULL) {
            lib->ggml_free(ctx);
        }
        if (!same) {
            peer_err(err, err_size, "%s: ggml's struct ggml_tensor does not read as ours (another ggml version?)", path);
            // ggml's code has run; it stays loaded
            return false;
        }
    }

    // ops by name
    for (int op = 0; op < GGML_OP_COUNT; op++) {
        const char * ours = ggml_op_name((enum ggml_op) op);
        lib->op_map[op] = -1;
        for (int j = 0; j < n_ggml_ops; j++) {
            const char * theirs = lib->ggml_op_name((enum ggml_op) j);
            if (theirs != NULL && strcmp(theirs, ours) == 0) {
                lib->op_map[op] = j;
                break;
            }
        }
    }
    return true;
}

//
// Graphs
//

// A copy of one of our graphs, made in one library.
struct peer_graph {
    const struct peer_lib * lib;
    struct ggml_context   * ctx;
    struct ggml_cgraph    * graph;
    struct ggml_tensor   ** placed; // the tensors the allocator gives memory: all but the external ones
    int                     n_placed;
};

// Data of the tensors whose memory lives elsewhere (weights): only its address is ever used, as
// a ggml program's weights in another buffer have one.
static char peer_external_data[64] __attribute__((aligned(64)));

struct peer_index {
    const struct ggml_tensor * t;
    int                        i;
};

static int peer_index_cmp(const void * a, const void * b) {
    const uintptr_t x = (uintptr_t) ((const struct peer_index *) a)->t;
    const uintptr_t y = (uintptr_t) ((const struct peer_index *) b)->t;
    return x < y ? -1 : x > y;
}

// The copy of t (NULL for NULL); false if t is not one of the graph's tensors or has no copy yet
// (the graph's order is not one where each tensor comes after what it reads).
static bool peer_map(const struct peer_index * index, int n, struct ggml_tensor * const * to,
        const struct ggml_tensor * t, struct ggml_tensor ** out) {
    *out = NULL;
    if (t == NULL) {
        return true;
    }
    const struct peer_index key = { t, 0 };
    const struct peer_index * hit = bsearch(&key, index, (size_t) n, sizeof(*index), peer_index_cmp);
    if (hit == NULL) {
        return false;
    }
    *out = to[hit->i];
    return *out != NULL;
}

// Copies src (a graph of ours) into lib: a new no_alloc context, each leaf then each node made
// with ggml_new_tensor(ctx, type, 4, ne), strides, op (mapped), op_params, ggml's four flag bits,
// sources, view source and offset and name copied; tensors whose memory lives elsewhere (marked
// GGALLOC_TENSOR_FLAG_EXTERNAL, or with data already) get a dummy data pointer instead; then the
// graph built with ggml_build_forward_expand on each node in src's node order, which must give
// back that order. The sub-op enums in op_params (unary, glu) are copied as they are: planning
// does not read them. false, with the reason in err, if the copy cannot be made or differs.
static bool peer_graph_copy(const struct peer_lib * lib, struct ggml_cgraph * src, struct peer_graph * out,
        char * err, size_t err_size) {
    memset(out, 0, sizeof(*out));
    out->lib = lib;
    const int n_nodes = ggml_graph_n_nodes(src);
    const int n_leafs = ggalloc_graph_n_leafs(src);
    if (n_nodes <= 0 || n_leafs < 0 || n_leafs > (1 << 28) || n_nodes > (1 << 28)) {
        peer_err(err, err_size, "a graph of %d nodes and %d leafs", n_nodes, n_leafs);
        return false;
    }
    const int n = n_nodes + n_leafs;
    for (int i = 0; i < n; i++) {
        const struct ggml_tensor * s = i < n_leafs ? ggalloc_graph_leaf(src, i) : ggml_graph_node(src, i - n_leafs);
        if (s == NULL || (int) s->op < 0 || s->op >= GGML_OP_COUNT) {
            peer_err(err, err_size, "tensor %d of the graph is missing or has no valid op", i);
            return false;
        }
        if (lib->op_map[s->op] < 0) {
            peer_err(err, err_size, "op %s (of %s) has no match in %s", ggml_op_name(s->op), s->name, lib->name);
            return false;
        }
    }

    struct ggml_tensor ** to = calloc((size_t) n, sizeof(*to));
    struct peer_index * index = malloc((size_t) n * sizeof(*index));
    out->placed = malloc((size_t) n * sizeof(*out->placed));
    bool ok = to != NULL && index != NULL && out->placed != NULL;
    if (!ok) {
        peer_err(err, err_size, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        index[i] = (struct peer_index) { i < n_leafs ? ggalloc_graph_leaf(src, i) : ggml_graph_node(src, i - n_leafs), i };
    }
    qsort(index, (size_t) n, sizeof(*index), peer_index_cmp);

    const size_t graph_size = (size_t) n + 16;
    struct ggml_init_params ip = {
        lib->ggml_tensor_overhead() * (size_t) n + lib->ggml_graph_overhead_custom(graph_size, false) + 4096, NULL, true };
    out->ctx = lib->ggml_init(ip);
    if (out->ctx == NULL) {
        peer_err(err, err_size, "%s: ggml_init failed", lib->name);
        ok = false;
        goto done;
    }
    for (int i = 0; i < n && ok; i++) {
        const struct ggml_tensor * s = i < n_leafs ? ggalloc_graph_leaf(src, i) : ggml_graph_node(src, i - n_leafs);
        struct ggml_tensor * t = lib->ggml_new_tensor(out->ctx, s->type, GGML_MAX_DIMS, s->ne);
        if (t == NULL) {
            peer_err(err, err_size, "%s: ggml_new_tensor failed for %s", lib->name, s->name);
            ok = false;
            break;
        }
        memcpy(t->nb, s->nb, sizeof(t->nb));
        t->op = (enum ggml_op) lib->op_map[s->op];
        memcpy(t->op_params, s->op_params, sizeof(t->op_params));
        t->flags = s->flags & (GGML_TENSOR_FLAG_INPUT | GGML_TENSOR_FLAG_OUTPUT | GGML_TENSOR_FLAG_PARAM | GGML_TENSOR_FLAG_LOSS);
        for (int k = 0; k < GGML_MAX_SRC && ok; k++) {
            ok = peer_map(index, n, to, s->src[k], &t->src[k]);
        }
        ok = ok && peer_map(index, n, to, s->view_src, &t->view_src);
        if (!ok) {
            peer_err(err, err_size, "%s reads a tensor that is not a leaf or an earlier node of the graph", s->name);
            break;
        }
        t->view_offs = s->view_offs;
        memcpy(t->name, s->name, sizeof(t->name));
        if ((s->flags & GGALLOC_TENSOR_FLAG_EXTERNAL) || s->data != NULL) {
            t->data = peer_external_data;
        } else {
            out->placed[out->n_placed++] = t;
        }
        to[i] = t;
    }
    if (!ok) {
        goto done;
    }
    out->graph = lib->ggml_new_graph_custom(out->ctx, graph_size, false);
    if (out->graph == NULL) {
        peer_err(err, err_size, "%s: ggml_new_graph_custom failed", lib->name);
        ok = false;
        goto done;
    }
    for (int i = n_leafs; i < n; i++) {
        lib->ggml_build_forward_expand(out->graph, to[i]);
    }
    if (lib->ggml_graph_n_nodes(out->graph) != n_nodes) {
        peer_err(err, err_size, "%s built %d nodes from the graph's %d", lib->name, lib->ggml_graph_n_nodes(out->graph), n_nodes);
        ok = false;
        goto done;
    }
    for (int i = 0; i < n_nodes; i++) {
        if (lib->ggml_graph_node(out->graph, i) != to[n_leafs + i]) {
            peer_err(err, err_size, "%s put the nodes in another order (from node %d, %s)", lib->name, i,
                     to[n_leafs + i]->name);
            ok = false;
            goto done;
        }
    }
done:
    free(to);
    free(index);
    if (!ok) {
        if (out->ctx != NULL) {
            lib->ggml_free(out->ctx);
        }
        free(out->placed);
        memset(out, 0, sizeof(*out));
    }
    return ok;
}

// Forgets where an allocator put the copy's tensors, as a graph built again for the next step
// (or one whose allocator is gone) has no memory yet.
static void peer_graph_clear(struct peer_graph * pg) {
    for (int i = 0; i < pg->n_placed; i++) {
        pg->placed[i]->data = NULL;
        pg->placed[i]->buffer = NULL;
    }
}

static void peer_graph_free(struct peer_graph * pg) {
    if (pg->ctx != NULL) {
        pg->lib->ggml_free(pg->ctx);
    }
    free(pg->placed);
    memset(pg, 0, sizeof(*pg));
}
