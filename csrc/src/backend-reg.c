// backend-reg.c — the registry of the backends built into the library: the CPU first, then
// Vulkan in builds that have it, then RPC (whose devices are its servers', added by name). It
// sits above the backends (it is the one file that knows them); the interface layer
// (backend.c) and the backends know nothing of it.
//
// Nothing is opened until someone asks for it. The registries themselves are static objects,
// so listing them costs nothing; a backend's devices are enumerated (for Vulkan: an instance
// created, drivers loaded) only when a question needs that backend's devices. Lookups walk
// the backends in order and stop at the first match, so `ggml_backend_init_by_type(CPU)` or
// `ggml_backend_dev_by_name("CPU")` never start Vulkan; `ggml_backend_dev_count()` and
// `ggml_backend_dev_get()` past the CPU's devices do, since they ask about every device.

#include "backend-impl.h"
#include "ggml-cpu.h"
#include "ggml-rpc.h"
#include "ggml-vulkan.h"
#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

const char * ggml_backend_reg_name(ggml_backend_reg_t reg) {
    return reg ? reg->iface.get_name(reg) : "NULL";
}

size_t ggml_backend_reg_dev_count(ggml_backend_reg_t reg) {
    return reg ? reg->iface.get_device_count(reg) : 0;
}

ggml_backend_dev_t ggml_backend_reg_dev_get(ggml_backend_reg_t reg, size_t index) {
    if (reg == NULL || index >= ggml_backend_reg_dev_count(reg)) {
        return NULL;
    }
    return reg->iface.get_device(reg, index);
}

void * ggml_backend_reg_get_proc_address(ggml_backend_reg_t reg, const char * name) {
    if (reg == NULL || name == NULL || reg->iface.get_proc_address == NULL) {
        return NULL;
    }
    return reg->iface.get_proc_address(reg, name);
}

// The built-in registries in priority order; NULL past the end.
static ggml_backend_reg_t registry_at(size_t index) {
    switch (index) {
        case 0: return ggml_backend_cpu_reg();
#ifdef GGALLOC_USE_VULKAN
        case 1: return ggml_backend_vk_reg();
        case 2: return ggml_backend_rpc_reg(); // no devices of its own: servers are added by name
#else
        case 1: return ggml_backend_rpc_reg();
#endif
        default: return NULL;
    }
}

size_t ggml_backend_reg_count(void) {
    size_t n = 0;
    while (registry_at(n) != NULL) {
        n++;
    }
    return n;
}

ggml_backend_reg_t ggml_backend_reg_get(size_t index) {
    return registry_at(index);
}

ggml_backend_reg_t ggml_backend_reg_by_name(const char * name) {
    if (name == NULL) {
        return NULL;
    }
    ggml_backend_reg_t reg;
    for (size_t i = 0; (reg = registry_at(i)) != NULL; i++) {
        if (strcasecmp(ggml_backend_reg_name(reg), name) == 0) {
            return reg;
        }
    }
    return NULL;
}

size_t ggml_backend_dev_count(void) {
    size_t n = 0;
    ggml_backend_reg_t reg;
    for (size_t i = 0; (reg = registry_at(i)) != NULL; i++) {
        n += ggml_backend_reg_dev_count(reg);
    }
    return n;
}

ggml_backend_dev_t ggml_backend_dev_get(size_t index) {
    ggml_backend_reg_t reg;
    for (size_t i = 0; (reg = registry_at(i)) != NULL; i++) {
        size_t n = ggml_backend_reg_dev_count(reg);
        if (index < n) {
            return ggml_backend_reg_dev_get(reg, index);
        }
        index -= n;
    }
    return NULL;
}

// The first device, in registry order, that match() accepts; a backend's devices are listed
// only when every device before them was rejected.
static ggml_backend_dev_t dev_find(bool (*match)(ggml_backend_dev_t, const void *), const void * arg) {
    ggml_backend_reg_t reg;
    for (size_t i = 0; (reg = registry_at(i)) != NULL; i++) {
        size_t n = ggml_backend_reg_dev_count(reg);
        for (size_t j = 0; j < n; j++) {
            ggml_backend_dev_t dev = ggml_backend_reg_dev_get(reg, j);
            if (dev != NULL && match(dev, arg)) {
                return dev;
            }
        }
    }
    return NULL;
}

static bool dev_has_name(ggml_backend_dev_t dev, const void * name) {
    return strcasecmp(ggml_backend_dev_name(dev), (const char *) name) == 0;
}

static bool dev_has_type(ggml_backend_dev_t dev, const void * type) {
    return ggml_backend_dev_type(dev) == *(const enum ggml_backend_dev_type *) type;
}

ggml_backend_dev_t ggml_backend_dev_by_name(const char * name) {
    return name == NULL ? NULL : dev_find(dev_has_name, name);
}

ggml_backend_dev_t ggml_backend_dev_by_type(enum ggml_backend_dev_type type) {
    return dev_find(dev_has_type, &type);
}

ggml_backend_t ggml_backend_init_by_name(const char * name, const char * params) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_name(name);
    if (dev == NULL) {
        GGML_LOG_ERROR("%s: no device named %s\n", __func__, name ? name : "NULL");
        return NULL;
    }
    return ggml_backend_dev_init(dev, params);
}

ggml_backend_t ggml_backend_init_by_type(enum ggml_backend_dev_type type, const char * params) {
    ggml_backend_dev_t dev = ggml_backend_dev_by_type(type);
    if (dev == NULL) {
        GGML_LOG_ERROR("%s: no device of type %d\n", __func__, (int) type);
        return NULL;
    }
    return ggml_backend_dev_init(dev, params);
}

ggml_backend_t ggml_backend_init_best(void) {
    static const enum ggml_backend_dev_type order[] = {
        GGML_BACKEND_DEVICE_TYPE_GPU, GGML_BACKEND_DEVICE_TYPE_IGPU, GGML_BACKEND_DEVICE_TYPE_CPU,
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_by_type(order[i]);
        if (dev != NULL) {
            ggml_backend_t backend = ggml_backend_dev_init(dev, NULL);
            if (backend != NULL) {
                return backend;
            }
        }
    }
    GGML_LOG_ERROR("%s: no device could start a backend\n", __func__);
    return NULL;
}

// Every backend is built into the library: there is nothing to load.
void ggml_backend_load_all(void) {
}

void ggml_backend_load_all_from_path(const char * dir_path) {
    (void) dir_path;
}
