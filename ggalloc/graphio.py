"""Graphs as ggalloc.graph/1 JSON documents (graph-format.md).

    >>> g = gg.load_graph("../shared/graphs/mlp-4x1024-b256.json")   # keeps its context alive
    >>> g.save("copy.json")

Every bad document (wrong format string, ids out of range, a cycle, an unknown type or op,
nbytes that disagree with ne/nb/type, malformed JSON) raises BadGraphError with the reader's
reason, which names the tensor and the field.
"""

from __future__ import annotations

import os
from typing import Optional, Union

from . import _lib
from ._lib import ffi, lib
from .core import Context, Graph
from .errors import BadGraphError, GgallocError

__all__ = ["load_graph", "loads_graph", "save_graph"]

PathLike = Union[str, "os.PathLike[str]"]


def load_graph(path: PathLike) -> Graph:
    """Reads a graph file into a new Graph (with its own no_alloc Context, ``g.context``).
    Tensors marked external get no memory and are left alone by allocators."""
    fspath = os.fspath(path)
    if not isinstance(fspath, str):
        fspath = os.fsdecode(fspath)
    ctxp = ffi.new("struct ggml_context **")
    g = _lib.new(lib.ggalloc_graph_load_json, os.fsencode(fspath), ctxp, exc=BadGraphError,
                 what=f"cannot load graph {fspath!r}")
    return Graph._adopt(g, Context._adopt(ctxp[0]), fspath)


def loads_graph(text: Union[str, bytes]) -> Graph:
    """Reads a graph from a JSON string. ``gg.loads_graph(open(p).read())``"""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    ctxp = ffi.new("struct ggml_context **")
    buf = ffi.from_buffer(data) if data else ffi.new("char[1]")
    g = _lib.new(lib.ggalloc_graph_load_json_string, buf, len(data), ctxp, exc=BadGraphError,
                 what="cannot load the graph document")
    return Graph._adopt(g, Context._adopt(ctxp[0]))


def save_graph(g: Graph, path: PathLike, name: Optional[str] = None) -> None:
    """Writes g as a ggalloc.graph/1 document; name defaults to the file's stem."""
    fspath = os.fspath(path)
    if not isinstance(fspath, str):
        fspath = os.fsdecode(fspath)
    if name is None:
        name = os.path.splitext(os.path.basename(fspath))[0]
    _lib.ok(lib.ggalloc_graph_save_json, g._live(), os.fsencode(fspath), name.encode("utf-8"), exc=GgallocError,
            what=f"cannot write graph {fspath!r}")

