// test-gguf-cxx: gguf.h and ggml-cpp.h compile as C++; gguf_context_ptr and ggml_context_ptr
// own what they hold (ASan's leak check fails this test otherwise), a file written from C++
// reads back.

#include "ggml-cpp.h"
#include "ggml-cpu.h"
#include "gguf.h"

#include "check.h"

#include <cstdio>
#include <string>
#include <unistd.h>

int main() {
    const std::string path = "/tmp/ggalloc-test-gguf-cxx-" + std::to_string(getpid()) + ".gguf";
    {
        ggml_context_ptr ctx(ggml_init({ 1 << 16, nullptr, false }));
        CHECK(ctx != nullptr);
        ggml_tensor * t = ggml_set_name(ggml_new_tensor_1d(ctx.get(), GGML_TYPE_F32, 8), "x");
        for (int i = 0; i < 8; i++) {
            ggml_set_f32_1d(t, i, (float) i);
        }
        gguf_context_ptr out(gguf_init_empty());
        gguf_set_val_str(out.get(), "general.architecture", "test");
        gguf_add_tensor(out.get(), t);
        CHECK(gguf_write_to_file(out.get(), path.c_str(), false));
    }
    {
        ggml_context * raw = nullptr;
        gguf_context_ptr in(gguf_init_from_file(path.c_str(), { false, &raw }));
        ggml_context_ptr ctx(raw);
        CHECK(in != nullptr && ctx != nullptr);
        CHECK(std::string(gguf_get_val_str(in.get(), gguf_find_key(in.get(), "general.architecture"))) == "test");
        ggml_tensor * x = ggml_get_tensor(ctx.get(), "x");
        CHECK(x != nullptr && ggml_get_f32_1d(x, 5) == 5.0f);
    }
    {
        ggml_backend_ptr cpu(ggml_backend_cpu_init());
        CHECK(cpu != nullptr);
        ggml_backend_buffer_ptr buf(ggml_backend_buft_alloc_buffer(ggml_backend_get_default_buffer_type(cpu.get()), 1024));
        CHECK(buf != nullptr);
        ggml_gallocr_ptr galloc(ggml_gallocr_new(ggml_backend_get_default_buffer_type(cpu.get())));
        CHECK(galloc != nullptr);
    }
    std::remove(path.c_str());
    return check_report("test-gguf-cxx");
}
