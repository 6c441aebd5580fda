"""Graphs as ggalloc.graph/1 JSON documents (graph-format.md).

    >>> g = gg.load_graph("tests/data/graphs/mlp-4x1024-b256.json")   # keeps its context alive
    >>> g.save("copy.json")

Every bad document (wrong format string, ids out of range, a cycle, an unknown type or op,
nbytes that disagree with ne/nb/type, malformed JSON) raises BadGraphError with the reader's
reason, which names the tensor and the field.
"""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence, Union

from . import _lib
from ._lib import ffi, lib
from .core import Context, Graph
from .errors import BadGraphError, BadInputError, GgallocError, MissingFileError

__all__ = ["load_graph", "loads_graph", "save_graph"]

PathLike = Union[str, "os.PathLike[str]"]


def _take_ids(arr: Any, n: int) -> Optional[List[int]]:
    """The C loader's malloc'd id array as a list (None for NULL); frees it."""
    if arr == ffi.NULL:
        return None
    try:
        return [int(arr[i]) for i in range(n)]
    finally:
        lib.free(arr)


def _adopt(g: Any, ctxp: Any, nids: Any, lids: Any, ndims: Any, path: Optional[str]) -> Graph:
    ctx = Context._adopt(ctxp[0])
    graph = Graph._adopt(g, ctx, path)
    graph.node_buffer_ids = _take_ids(nids[0], int(lib.ggml_graph_n_nodes(g)))
    graph.leaf_buffer_ids = _take_ids(lids[0], int(lib.ggalloc_graph_n_leafs(g)))
    # the ranks the document gives, per tensor in the context's order
    ranks = ffi.gc(ndims[0], lib.free)
    for i, t in enumerate(ctx.tensors()):
        if ranks[i] >= 0:
            ctx._set_rank(t, int(ranks[i]))
    return graph


def _fspath(path: Any) -> str:
    """A path argument as str: ArgumentTypeError for anything but a str, bytes or os.PathLike."""
    _lib.expect(path, (str, bytes, os.PathLike), "a path")
    p = os.fspath(path)
    return p if isinstance(p, str) else os.fsdecode(p)


def load_graph(path: PathLike) -> Graph:
    """Reads a graph file into a new Graph (with its own no_alloc Context, ``g.context``).
    Tensors marked external get no memory and are left alone by allocators. The document's
    buffer assignment, if any, is in ``g.node_buffer_ids`` / ``g.leaf_buffer_ids`` (lists of
    buffer ids as ``GraphAllocator.reserve_n`` takes them, or None).

        >>> g = gg.load_graph("split.json"); g.node_buffer_ids     # [0, 0, 1, ...] or None
    """
    fspath = _fspath(path)
    if not os.path.exists(fspath):
        raise MissingFileError(f"cannot load graph {fspath!r}: no such file")
    ctxp = ffi.new("struct ggml_context **")
    nids, lids, ndims = ffi.new("int **"), ffi.new("int **"), ffi.new("int **")
    g = _lib.new(lib.ggalloc_graph_load_json_ex, os.fsencode(fspath), ctxp, nids, lids, ndims, exc=BadGraphError,
                 what=f"cannot load graph {fspath!r}")
    return _adopt(g, ctxp, nids, lids, ndims, fspath)


def loads_graph(text: Union[str, bytes]) -> Graph:
    """Reads a graph from a JSON string (buffer ids as load_graph). ``gg.loads_graph(open(p).read())``"""
    _lib.expect(text, (str, bytes, bytearray, memoryview), "a graph document")
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    ctxp = ffi.new("struct ggml_context **")
    nids, lids, ndims = ffi.new("int **"), ffi.new("int **"), ffi.new("int **")
    buf = ffi.from_buffer(data) if data else ffi.new("char[1]")
    g = _lib.new(lib.ggalloc_graph_load_json_string_ex, buf, len(data), ctxp, nids, lids, ndims, exc=BadGraphError,
                 what="cannot load the graph document")
    return _adopt(g, ctxp, nids, lids, ndims, None)


def _id_array(ids: Optional[Sequence[int]], n: int, what: str) -> Any:
    if ids is None:
        return ffi.NULL
    ids = [int(i) for i in ids]
    if len(ids) != n:
        raise BadInputError(f"{what} has {len(ids)} entries; the graph has {n}")
    bad = [(i, b) for i, b in enumerate(ids) if b < 0]
    if bad:
        raise BadInputError(f"{what}[{bad[0][0]}] = {bad[0][1]} is not a buffer id (ids are >= 0)")
    return ffi.new("int[]", ids or [0])


def save_graph(g: Graph, path: PathLike, name: Optional[str] = None,
               node_buffer_ids: Optional[Sequence[int]] = None,
               leaf_buffer_ids: Optional[Sequence[int]] = None) -> None:
    """Writes g as a ggalloc.graph/1 document; name defaults to the file's stem. The buffer id
    lists (one id per node / leaf, as ``GraphAllocator.reserve_n`` takes them) are written when
    given, else null. Each tensor's numpy rank is written too, so a (1, 256) tensor loads back
    as (1, 256)."""
    _lib.expect(g, Graph, "the graph to save")
    fspath = _fspath(path)
    if name is None:
        name = os.path.splitext(os.path.basename(fspath))[0]
    gp = g._live()
    nid = _id_array(node_buffer_ids, int(lib.ggml_graph_n_nodes(gp)), "node_buffer_ids")
    lid = _id_array(leaf_buffer_ids, int(lib.ggalloc_graph_n_leafs(gp)), "leaf_buffer_ids")
    ranked = [(t._ptr, t.ndim) for c in (g.context, *g.context._uses) for t in c.tensors()]
    tensors = ffi.new("const struct ggml_tensor *[]", [p for p, _ in ranked] or [ffi.NULL])
    ndims = ffi.new("int[]", [r for _, r in ranked] or [0])
    _lib.ok(lib.ggalloc_graph_save_json_ex, gp, os.fsencode(fspath), name.encode("utf-8"), nid, lid,
            tensors, ndims, len(ranked), exc=GgallocError, what=f"cannot write graph {fspath!r}")
