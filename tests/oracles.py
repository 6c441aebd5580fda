"""An independent checker of graph memory plans, written from the rules alone.

It reads what the allocator left in the C tensors (data pointers, buffers) and the graph's
structure (sources, views, flags), and knows nothing of the planner or of the library's own
verifier. Steps: node i runs at step i. A placed tensor's storage (a tensor that is not a view)
is live from the step that writes it (0 for leafs and inputs) to the last step that reads it or
any view of it; outputs, and tensors placed before the allocator ran (weights), stay live to the
end. Views live inside their root's storage and extend its lifetime.

Rules checked:
  * no two storages share a byte at a step where both are live; the one exception is the
    hand-over ggml makes for in-place ops: node B may take over exactly the bytes of a source A
    (same start) at the step that is A's last read, when B's op can run in place;
  * hence no input is overwritten before its last reader ran, and no output is ever overwritten;
  * every storage starts at a multiple of its buffer's alignment and ends inside its buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from ggalloc._lib import ffi, lib

# ggml's ops that may write over a source (ggml_op_can_inplace)
INPLACE_OPS = {"SCALE", "DIAG_MASK_ZERO", "DIAG_MASK_INF", "ADD", "ADD1", "SUB", "MUL", "DIV", "SQR", "SQRT", "LOG",
               "UNARY", "ROPE", "RMS_NORM", "SOFT_MAX"}

END = 1 << 60


@dataclass
class Storage:
    name: str
    addr: int           # address of the first byte
    nbytes: int
    first: int
    last: int
    buffer: int         # ggml_backend_buffer_t as an int
    base: int
    buf_size: int
    alignment: int
    preplaced: bool = False
    readers: Set[int] = field(default_factory=set)   # steps that read it
    inplace_at: Dict[int, str] = field(default_factory=dict)

    @property
    def end(self) -> int:
        return self.addr + self.nbytes


def _addr(p) -> int:
    return int(ffi.cast("uintptr_t", p))


def _root(p):
    while p.view_src != ffi.NULL:
        p = p.view_src
    return p


def _op_name(p) -> str:
    return ffi.string(lib.ggml_op_name(p.op)).decode()


def storages(graph, preplaced: Iterable[int] = ()) -> Tuple[Dict[int, Storage], List[str]]:
    """The storages of an allocated graph, keyed by the root tensor's address, plus problems
    found while reading them (a tensor without data)."""
    pre = set(preplaced)
    gp = graph._live()
    n_nodes = int(lib.ggml_graph_n_nodes(gp))
    n_leafs = int(lib.ggalloc_graph_n_leafs(gp))
    nodes = [lib.ggml_graph_node(gp, i) for i in range(n_nodes)]
    leafs = [lib.ggalloc_graph_leaf(gp, i) for i in range(n_leafs)]
    problems: List[str] = []
    st: Dict[int, Storage] = {}

    def storage_of(p, step: int) -> Optional[Storage]:
        r = _root(p)
        a = _addr(r)
        if a in st:
            return st[a]
        if r.data == ffi.NULL:
            if not (r.flags & lib.GGALLOC_TENSOR_FLAG_EXTERNAL):
                problems.append(f"tensor {ffi.string(r.name).decode()!r} has no data")
            return None
        if r.buffer == ffi.NULL:
            return None
        buf = r.buffer
        s = Storage(name=ffi.string(r.name).decode(), addr=_addr(r.data), nbytes=int(lib.ggml_nbytes(r)),
                    first=step, last=step, buffer=_addr(buf),
                    base=_addr(lib.ggml_backend_buffer_get_base(buf)), buf_size=int(lib.ggml_backend_buffer_get_size(buf)),
                    alignment=int(lib.ggml_backend_buffer_get_alignment(buf)), preplaced=a in pre)
        st[a] = s
        return s

    for p in leafs:
        s = storage_of(p, 0)
        if s is not None:
            s.first = 0
    for i, p in enumerate(nodes):
        s = storage_of(p, i)
        if s is None:
            continue
        if p.flags & lib.GGML_TENSOR_FLAG_INPUT:
            s.first = 0
        s.first = min(s.first, i)
        s.last = max(s.last, i)
        for j in range(int(lib.GGML_MAX_SRC)):
            q = p.src[j]
            if q == ffi.NULL:
                continue
            sq = storage_of(q, i)
            if sq is None:
                continue
            sq.last = max(sq.last, i)
            sq.readers.add(i)
            if p.view_src == ffi.NULL and _op_name(p) in INPLACE_OPS:
                sq.inplace_at[i] = _op_name(p)
    for p in leafs + nodes:
        r = _root(p)
        s = st.get(_addr(r))
        if s is None:
            continue
        if (p.flags & lib.GGML_TENSOR_FLAG_INPUT) or (r.flags & lib.GGML_TENSOR_FLAG_INPUT):
            s.first = 0
        if (p.flags & lib.GGML_TENSOR_FLAG_OUTPUT) or s.preplaced:
            s.last = END
        if s.preplaced:
            s.first = 0
    return st, problems


def check_plan(graph, preplaced: Iterable[int] = (), alignment: Optional[int] = None) -> List[str]:
    """Every violation of the rules above, as text (empty: a valid plan)."""
    st, problems = storages(graph, preplaced)
    out = list(problems)
    items = sorted(st.values(), key=lambda s: s.addr)
    for s in items:
        al = alignment or s.alignment
        if (s.addr - s.base) % al:
            out.append(f"{s.name!r} at offset {s.addr - s.base} is not a multiple of {al}")
        if s.addr < s.base or s.end > s.base + s.buf_size:
            out.append(f"{s.name!r} [{s.addr - s.base}, {s.end - s.base}) is outside its buffer of {s.buf_size} bytes")
    # sweep by address: only pairs whose bytes intersect are compared
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if b.addr >= a.end:
                break
            if a.nbytes == 0 or b.nbytes == 0:
                continue
            if a.last < b.first or b.last < a.first:
                continue
            if _handover(a, b) or _handover(b, a):
                continue
            out.append(f"{a.name!r} [{a.addr - a.base}, {a.end - a.base}) live {a.first}..{a.last} and "
                       f"{b.name!r} [{b.addr - b.base}, {b.end - b.base}) live {b.first}..{b.last} share bytes")
    return out


def _handover(a: Storage, b: Storage) -> bool:
    """b takes over a's bytes at a's last read, by an in-place op that reads a."""
    return a.last == b.first and b.first in a.inplace_at and a.addr == b.addr


def lifetimes(graph) -> List[Storage]:
    st, _ = storages(graph)
    return list(st.values())


def has_disjoint_pair(graph) -> bool:
    """True when two storages have lifetimes with a step between them."""
    ss = lifetimes(graph)
    if not ss:
        return False
    return min(s.last for s in ss) < max(s.first for s in ss)
