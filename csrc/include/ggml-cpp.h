#pragma once

//
// ggml-cpp.h — C++ smart pointers over ggml's objects, with ggml's names (C++11 and later).
//
// Example:
//
//   ggml_backend_ptr backend(ggml_backend_cpu_init());
//   ggml_context_ptr ctx(ggml_init(params));
//   gguf_context_ptr gctx(gguf_init_from_file("model.gguf", { /*no_alloc =*/ true, nullptr }));
//   ggml_backend_sched_ptr sched(ggml_backend_sched_new(backends, nullptr, 2, GGML_DEFAULT_GRAPH_SIZE, false, true));
//   // each object is freed with its *_free when the pointer goes out of scope
//

#ifndef __cplusplus
#error "ggml-cpp.h is for C++ programs"
#endif

#include "ggml.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml-cpu.h"
#include "gguf.h"

#include <memory>

struct ggml_context_deleter        { void operator()(ggml_context * ctx)               { ggml_free(ctx); } };
struct ggml_gallocr_deleter        { void operator()(ggml_gallocr_t galloc)            { ggml_gallocr_free(galloc); } };
struct ggml_backend_deleter        { void operator()(ggml_backend_t backend)           { ggml_backend_free(backend); } };
struct ggml_backend_buffer_deleter { void operator()(ggml_backend_buffer_t buffer)     { ggml_backend_buffer_free(buffer); } };
struct ggml_backend_event_deleter  { void operator()(ggml_backend_event_t event)       { ggml_backend_event_free(event); } };
struct ggml_backend_sched_deleter  { void operator()(ggml_backend_sched_t sched)       { ggml_backend_sched_free(sched); } };
struct ggml_threadpool_deleter     { void operator()(ggml_threadpool_t threadpool)     { ggml_threadpool_free(threadpool); } };
struct gguf_context_deleter        { void operator()(gguf_context * ctx)               { gguf_free(ctx); } };

typedef std::unique_ptr<ggml_context, ggml_context_deleter>                                   ggml_context_ptr;
typedef std::unique_ptr<ggml_gallocr, ggml_gallocr_deleter>                                   ggml_gallocr_ptr;
typedef std::unique_ptr<ggml_backend, ggml_backend_deleter>                                   ggml_backend_ptr;
typedef std::unique_ptr<ggml_backend_buffer, ggml_backend_buffer_deleter>                     ggml_backend_buffer_ptr;
typedef std::unique_ptr<ggml_backend_event, ggml_backend_event_deleter>                       ggml_backend_event_ptr;
typedef std::unique_ptr<ggml_backend_sched, ggml_backend_sched_deleter>                       ggml_backend_sched_ptr;
typedef std::unique_ptr<ggml_threadpool, ggml_threadpool_deleter>                             ggml_threadpool_ptr;
typedef std::unique_ptr<gguf_context, gguf_context_deleter>                                   gguf_context_ptr;
