#pragma once

//
// ggalloc-ops.h — what ggalloc says about ops beyond ggml.h: the layout of a custom op's
// op_params, which a backend reads to call the program's function.
//
//   struct ggml_tensor * t = ggml_map_custom1(ctx, a, my_fun, 2, NULL);
//   struct ggalloc_custom_params p;
//   memcpy(&p, t->op_params, sizeof(p));   // p.fun == (void (*)(void)) my_fun, p.n_tasks == 2
//

#ifdef __cplusplus
extern "C" {
#endif

// op_params of MAP_CUSTOM1/2/3 and CUSTOM nodes: the function (cast to its ggml_custom*_op_t
// type by the op), how many threads call it (GGML_N_TASKS_MAX: all), and the caller's pointer.
struct ggalloc_custom_params {
    void (*fun)(void);
    int    n_tasks;
    void * userdata;
};

#ifdef __cplusplus
}
#endif
