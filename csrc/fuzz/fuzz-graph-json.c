// libFuzzer target of the graph-document reader (`make fuzz`): any input either loads into a
// graph that holds together (every node's sources are tensors of the context, the buffer id
// lists have one entry per node and leaf, each below GGALLOC_GRAPH_MAX_BUFFERS) or is refused
// with NULL; anything else aborts, so libFuzzer records it as a finding.

#include "ggml.h"
#include "ggalloc-graph.h"

#include <stdio.h>
#include <stdlib.h>

static void quiet(enum ggml_log_level level, const char * text, void * user_data) {
    (void) level; (void) text; (void) user_data;
}

static void check(int ok, const char * what) {
    if (!ok) {
        fprintf(stderr, "fuzz-graph-json: an accepted document %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    ggml_log_set(quiet, NULL);
    struct ggml_context * ctx = NULL;
    int * nids = NULL;
    int * lids = NULL;
    int * ndims = NULL;
    struct ggml_cgraph * g = ggalloc_graph_load_json_string_ex((const char *) data, size, &ctx, &nids, &lids, &ndims);
    if (g == NULL) {
        check(ctx == NULL && nids == NULL && lids == NULL && ndims == NULL, "was refused but left results behind");
        return 0;
    }
    const int n_nodes = ggml_graph_n_nodes(g);
    const int n_leafs = ggalloc_graph_n_leafs(g);
    for (int i = 0; i < n_nodes; i++) {
        struct ggml_tensor * t = ggml_graph_node(g, i);
        check(t != NULL && ggml_nbytes(t) < ((size_t) 1 << 62), "has a node without a sane size");
        for (int j = 0; j < GGML_MAX_SRC; j++) {
            check(t->src[j] == NULL || ggml_nbytes(t->src[j]) < ((size_t) 1 << 62), "has a source without a sane size");
        }
        check(nids == NULL || (nids[i] >= 0 && nids[i] < GGALLOC_GRAPH_MAX_BUFFERS), "has a node buffer id out of range");
    }
    for (int i = 0; i < n_leafs; i++) {
        check(ggalloc_graph_leaf(g, i) != NULL, "has a missing leaf");
        check(lids == NULL || (lids[i] >= 0 && lids[i] < GGALLOC_GRAPH_MAX_BUFFERS), "has a leaf buffer id out of range");
    }
    int k = 0;
    for (struct ggml_tensor * t = ggml_get_first_tensor(ctx); t != NULL; t = ggml_get_next_tensor(ctx, t), k++) {
        check(ndims[k] >= -1 && ndims[k] <= GGML_MAX_DIMS && (ndims[k] < 0 || ggml_n_dims(t) <= (ndims[k] ? ndims[k] : 1)),
              "has a rank that does not fit its extents");
    }
    free(nids);
    free(lids);
    free(ndims);
    ggml_free(ctx);
    return 0;
}
