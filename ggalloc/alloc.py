"""Buffer types, buffers and allocators: the Python face of ggml-alloc.h and the plan as data.

    >>> galloc = gg.GraphAllocator(gg.host_buffer_type(alignment=64, max_size=1 << 20))
    >>> galloc.alloc_graph(g)                      # plan (planner="best") and place every tensor
    >>> plan = galloc.plan()
    >>> plan.peak, plan.lower_bound, plan.verify()  # bytes, least possible bytes, 0 = valid

Weights live in buffers of their own, as in ggml programs:

    >>> buf = gg.alloc_ctx_tensors(weights_ctx, gg.cpu_buffer_type())   # a Buffer
    >>> w.set(np.ones(w.shape, np.float32))

A Buffer keeps its memory alive (numpy views from ``t.array()`` keep it alive too, even after
close()); a GraphAllocator owns its buffers. Tensors placed by either raise ClosedError once
that memory is gone.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib, _memory
from ._lib import Closable, ffi, lib
from .core import _SIZE_MAX, Context, Graph, Tensor, _describe, _Keep
from .errors import (AllocationError, ArgumentTypeError, BadInputError, ClosedError, GgallocError, GraphError, OutOfRangeError)

__all__ = [
    "BufferType", "Buffer", "TensorAllocator", "GraphAllocator", "Plan", "PlanEntry",
    "host_buffer_type", "cpu_buffer_type", "failing_buffer_type", "alloc_ctx_tensors",
    "plan_intervals", "plan_intervals_bound", "intervals_lower_bound",
]


# ---------------------------------------------------------------------------------------------
# buffer types and buffers

class BufferType:
    """A kind of memory (host, CPU, a Vulkan device) with its alignment and max buffer size.

    Made by host_buffer_type(), cpu_buffer_type(), vulkan_buffer_type() or a backend's
    ``.buffer_type``. ``gg.cpu_buffer_type().alignment``
    """

    def __init__(self, ptr: Any, keep: Any = None) -> None:
        self._buft = ptr
        self._keep = keep  # whatever must outlive the type (an owned type's handle, a backend)

    def _live(self) -> Any:
        if self._keep is not None and getattr(self._keep, "closed", False):
            raise ClosedError("the backend of this buffer type was closed")
        return self._buft

    @property
    def name(self) -> str:
        """The type's name, e.g. "CPU" or "Host(align=32)"."""
        return _lib.string(lib.ggml_backend_buft_name(self._live()))

    @property
    def alignment(self) -> int:
        """Alignment of every allocation, in bytes."""
        return int(lib.ggml_backend_buft_get_alignment(self._live()))

    @property
    def max_size(self) -> Optional[int]:
        """The largest buffer the type allocates (None: no limit)."""
        v = int(lib.ggml_backend_buft_get_max_size(self._live()))
        return None if v == _SIZE_MAX else v

    @property
    def is_host(self) -> bool:
        """True when buffers of this type are in host memory."""
        return bool(lib.ggml_backend_buft_is_host(self._live()))

    def alloc_size(self, t: Tensor) -> int:
        """Bytes the type needs for tensor t."""
        _lib.expect(t, Tensor, "alloc_size()'s argument")
        return int(lib.ggml_backend_buft_get_alloc_size(self._live(), t._live()))

    def alloc_buffer(self, size: int) -> "Buffer":
        """A new buffer of size bytes. ``gg.cpu_buffer_type().alloc_buffer(1 << 20)``"""
        size = _lib.as_int(size, "buffer size", 0, _lib.SIZE_MAX)
        ptr = _lib.new(lib.ggml_backend_buft_alloc_buffer, self._live(), int(size), exc=AllocationError,
                       what=f"cannot allocate a {self.name} buffer of {size} bytes")
        return Buffer._adopt(ptr, self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BufferType) and self._buft == other._buft

    def __hash__(self) -> int:
        return hash(int(ffi.cast("uintptr_t", self._buft)))

    def __repr__(self) -> str:
        try:
            return f"BufferType({self.name!r}, alignment={self.alignment}, max_size={self.max_size}, host={self.is_host})"
        except GgallocError:
            return "BufferType(<closed>)"


def host_buffer_type(alignment: int = 32, max_size: Optional[int] = None, distinct: bool = False) -> BufferType:
    """Host memory with any alignment (a power of two) and max buffer size (None: no limit), to
    plan for a device's limits on any machine. The same arguments give the same type, unless
    ``distinct``: then a type of its own (one per buffer of a ``reserve_n`` plan), freed with
    the last object that uses it. ``gg.host_buffer_type(256, 1 << 30)``"""
    ms = _SIZE_MAX if max_size is None else int(max_size)
    if int(alignment) <= 0 or ms <= 0:
        raise BadInputError(f"host_buffer_type needs alignment > 0 and max_size > 0, got {alignment}, {max_size}")
    what = f"cannot make a host buffer type with alignment {alignment} and max_size {max_size}"
    if distinct:
        ptr = _lib.new(lib.ggalloc_host_buffer_type_new, int(alignment), ms, exc=BadInputError, what=what)
        handle = ffi.gc(ptr, lib.ggalloc_host_buffer_type_free)
        return BufferType(handle, keep=_Owned(handle))
    return BufferType(_lib.new(lib.ggalloc_host_buffer_type, int(alignment), ms, exc=BadInputError, what=what))


def cpu_buffer_type() -> BufferType:
    """The CPU backend's buffer type (host memory). ``gg.cpu_buffer_type()``"""
    return BufferType(lib.ggml_backend_cpu_buffer_type())


def failing_buffer_type(budget: int, alignment: int = 32, max_size: Optional[int] = None) -> BufferType:
    """A host buffer type whose allocations fail once more than budget bytes are outstanding
    (for testing failure paths). ``gg.failing_buffer_type(0)`` fails every allocation."""
    ms = _SIZE_MAX if max_size is None else _lib.as_int(max_size, "max_size", 1, _SIZE_MAX)
    alignment = _lib.as_int(alignment, "alignment", 1, _SIZE_MAX)
    budget = _lib.as_int(budget, "budget", 0, _SIZE_MAX)
    ptr = _lib.new(lib.ggalloc_failing_buffer_type_new, alignment, ms, budget, exc=AllocationError,
                   what="cannot make a failing buffer type")
    handle = ffi.gc(ptr, lib.ggalloc_failing_buffer_type_free)
    return BufferType(handle, keep=_Owned(handle))


class _Owned:
    __slots__ = ("handle", "closed")

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.closed = False


class Buffer(Closable):
    """Memory of one buffer type. Made by ``buffer_type.alloc_buffer(size)``,
    ``gg.alloc_ctx_tensors(ctx, ...)`` or a backend's ``alloc_buffer``.

    ``close()`` (or ``with``) frees it now; tensors placed in it then raise ClosedError.
    """

    _h: Any
    _size: int
    _buft: BufferType
    _closed: bool

    def __init__(self, buffer_type: BufferType, size: int) -> None:
        _lib.expect(buffer_type, BufferType, "buffer_type")
        other = buffer_type.alloc_buffer(size)
        self.__dict__.update(other.__dict__)

    @classmethod
    def _adopt(cls, ptr: Any, buft: Optional[BufferType]) -> "Buffer":
        self = cls.__new__(cls)
        size = int(lib.ggml_backend_buffer_get_size(ptr))
        self._h = ffi.gc(ptr, lib.ggml_backend_buffer_free, size=size)
        self._size = size
        self._buft = buft if buft is not None else BufferType(lib.ggml_backend_buffer_get_type(ptr))
        self._closed = False
        return self

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the Buffer was closed")
        return self._h

    def close(self) -> None:
        """Frees the buffer (once no numpy view of it is left). Idempotent. Waits for a compute
        using it in another thread to return."""
        if self._closed:
            return
        with _memory.hold(exclusive=[self]):
            self._closed = True
            self._h = None

    def __del__(self) -> None:
        self._h = None      # the buffer before its buffer type

    @property
    def name(self) -> str:
        """The name of the buffer's type."""
        return _lib.string(lib.ggml_backend_buffer_name(self._live()))

    @property
    def size(self) -> int:
        """Bytes of the buffer."""
        return int(lib.ggml_backend_buffer_get_size(self._live()))

    @property
    def base(self) -> int:
        """Address of the buffer's first byte (an opaque handle for device buffers)."""
        return int(ffi.cast("uintptr_t", lib.ggml_backend_buffer_get_base(self._live())))

    @property
    def alignment(self) -> int:
        """Alignment of the buffer's allocations, in bytes."""
        return int(lib.ggml_backend_buffer_get_alignment(self._live()))

    @property
    def is_host(self) -> bool:
        """True when the buffer is in host memory (array() works)."""
        return bool(lib.ggml_backend_buffer_is_host(self._live()))

    @property
    def buffer_type(self) -> BufferType:
        """The BufferType the buffer was allocated from."""
        self._live()
        return self._buft

    @property
    def usage(self) -> str:
        """"any", "weights" or "compute" (settable)."""
        u = int(lib.ggml_backend_buffer_get_usage(self._live()))
        return {int(lib.GGML_BACKEND_BUFFER_USAGE_WEIGHTS): "weights",
                int(lib.GGML_BACKEND_BUFFER_USAGE_COMPUTE): "compute"}.get(u, "any")

    @usage.setter
    def usage(self, value: str) -> None:
        _lib.as_str(value, "usage")
        u = {"any": lib.GGML_BACKEND_BUFFER_USAGE_ANY, "weights": lib.GGML_BACKEND_BUFFER_USAGE_WEIGHTS,
             "compute": lib.GGML_BACKEND_BUFFER_USAGE_COMPUTE}.get(value)
        if u is None:
            raise BadInputError(f"usage must be 'any', 'weights' or 'compute', got {value!r}")
        lib.ggml_backend_buffer_set_usage(self._live(), u)

    def clear(self, value: int = 0) -> None:
        """Sets every byte to value."""
        lib.ggml_backend_buffer_clear(self._live(), _lib.as_int(value, "byte value", 0, 255))

    def array(self) -> "np.ndarray[Any, Any]":
        """The bytes of a host buffer as a zero-copy uint8 view (keeps the memory alive)."""
        from .core import _host_array
        h = self._live()
        if not self.is_host:
            raise GgallocError(f"buffer {self.name!r} is not in host memory")
        return _host_array(self.base, (self.size,), (1,), np.uint8, _Keep(h, self._buft))

    def __repr__(self) -> str:
        if self._closed:
            return "Buffer(<closed>)"
        return f"Buffer({self.name!r}, size={self.size}, host={self.is_host})"


class _BufferMem(_memory.Owner):
    """The record of tensors placed in a Buffer: alive until it is closed."""

    __slots__ = ("buf",)

    def __init__(self, buf: Buffer) -> None:
        self.buf = buf

    def alive(self) -> bool:
        return not self.buf._closed

    def why(self) -> str:
        return "its Buffer was closed"

    def label(self) -> str:
        return self.buf.name if not self.buf._closed else "<closed buffer>"

    def keepalive(self) -> Any:
        return _Keep(self.buf._h, self.buf._buft)

    def public(self) -> Any:
        return self.buf

    def users(self) -> Tuple[Any, ...]:
        return (self.buf,)


class TensorAllocator:
    """Places tensors one after another in a buffer (ggml_tallocr).

        >>> talloc = gg.TensorAllocator(buf)
        >>> talloc.alloc(w)          # AllocationError when the buffer is full
    """

    def __init__(self, buffer: Buffer) -> None:
        _lib.expect(buffer, Buffer, "TensorAllocator's buffer")
        self._buffer = buffer
        self._t = ffi.new("struct ggml_tallocr *")
        self._t[0] = lib.ggml_tallocr_new(buffer._live())

    @property
    def buffer(self) -> Buffer:
        """The Buffer tensors are placed in."""
        return self._buffer

    @property
    def offset(self) -> int:
        """Bytes used so far."""
        self._buffer._live()
        return int(self._t.offset)

    def alloc(self, t: Tensor) -> Tensor:
        """Places t at the next aligned offset; returns t."""
        _lib.expect(t, Tensor, "alloc()'s argument")
        self._buffer._live()
        p = t._live()
        _lib.status(lib.ggml_tallocr_alloc, self._t, p, exc=AllocationError,
                    what=f"cannot place {_describe(t)} in {self._buffer!r}")
        _memory.register(t, p, _BufferMem(self._buffer))
        return t

    def __repr__(self) -> str:
        return f"TensorAllocator({self._buffer!r}, offset={self._t.offset})"


def alloc_ctx_tensors(ctx: Context, backend_or_buffer_type: Any) -> Optional[Buffer]:
    """Places every tensor of ctx that has no data yet in a new buffer (of a backend's default
    buffer type, or of the given type); None when nothing needed memory.

        >>> buf = gg.alloc_ctx_tensors(weights_ctx, gg.CPUBackend())
    """
    buft = backend_or_buffer_type
    if not isinstance(buft, BufferType):
        buft = getattr(backend_or_buffer_type, "buffer_type", None)
    if not isinstance(buft, BufferType):
        raise BadInputError(f"alloc_ctx_tensors needs a backend or a BufferType, got {type(backend_or_buffer_type).__name__}")
    h = ctx._check()
    before = [t for t in ctx.tensors() if t._ptr.data == ffi.NULL]
    with _lib.capture() as cap:
        ptr = lib.ggml_backend_alloc_ctx_tensors_from_buft(h, buft._live())
    if ptr == ffi.NULL:
        if cap.has_error or any(t._ptr.data == ffi.NULL and t._ptr.view_src == ffi.NULL for t in before):
            texts = cap.texts()
            raise AllocationError(f"cannot place the tensors of {ctx!r} in a {buft.name} buffer", texts)
        cap.flush()
        return None
    cap.flush()
    buf = Buffer._adopt(ptr, buft)
    rec = _BufferMem(buf)
    for t in before:
        if t._ptr.data != ffi.NULL:
            _memory.register(t, t._ptr, rec)
    return buf


# ---------------------------------------------------------------------------------------------
# graph allocator and plans

_PLANNERS = {"ggml": "GGALLOC_PLANNER_GGML", "best": "GGALLOC_PLANNER_BEST"}


class _Holder:
    """Holds the allocator's C handle (and the buffer types its buffers need); numpy views of
    its buffers hold this too."""

    __slots__ = ("h", "keep", "__weakref__")

    def __init__(self, h: Any, keep: Any) -> None:
        self.h = h
        self.keep = keep

    def __del__(self) -> None:
        self.h = None       # the allocator (and its buffers) before the buffer types
        self.keep = None


class PlanEntry(NamedTuple):
    """One placed tensor: its name, which buffer and chunk, the byte offset in the chunk, the
    bytes reserved, and the first and last node step at which it is live."""

    tensor: str
    buffer_id: int
    chunk: int
    offset: int
    size: int
    first: int
    last: int


class Plan:
    """The last plan of a GraphAllocator, as data.

        >>> plan = galloc.plan()
        >>> plan.entries[0]            # PlanEntry(tensor='x', buffer_id=0, chunk=0, offset=0, ...)
        >>> plan.peak >= plan.lower_bound
    """

    def __init__(self, galloc: "GraphAllocator", graph: Graph, entries: List[PlanEntry], tensor_ptrs: List[Any],
                 buffer_sizes: List[int], lower_bounds: List[int], planner: str, epoch: int) -> None:
        if not isinstance(galloc, Closable) or not isinstance(graph, Graph):
            raise ArgumentTypeError("plans are made by GraphAllocator.plan() and Scheduler.plan()")
        self._galloc = galloc
        self._graph = graph
        self.entries: List[PlanEntry] = entries
        self._tensor_ptrs = tensor_ptrs
        self._tensors: Optional[List[Tensor]] = None
        self.buffer_sizes: List[int] = buffer_sizes
        self.lower_bounds: List[int] = lower_bounds
        self.planner: str = planner
        self._epoch = epoch
        self.n_nodes: int = graph.n_nodes
        self.alignments: List[int] = [b.alignment for b in galloc._bufts]
        self.max_sizes: List[Optional[int]] = [b.max_size for b in galloc._bufts]

    @property
    def graph(self) -> Graph:
        """The Graph this plan is for."""
        return self._graph

    @property
    def tensors(self) -> List[Tensor]:
        """The placed Tensors, parallel to entries (wrapped when first asked for)."""
        if self._tensors is None:
            self._graph._live()
            self._tensors = [self._graph._wrap(p) for p in self._tensor_ptrs]
        return self._tensors

    @property
    def peak(self) -> int:
        """Bytes of all the allocator's buffers for this plan."""
        return sum(self.buffer_sizes)

    @property
    def lower_bound(self) -> int:
        """The liveness lower bound: no plan of this graph (node order, in-place decisions) can
        use fewer bytes."""
        return sum(self.lower_bounds)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[PlanEntry]:
        return iter(self.entries)

    def verify(self) -> int:
        """The number of pairs of tensors that share bytes while both are live, counted by the
        library's independent verifier on the allocated graph (0 = a valid plan)."""
        if self._galloc._closed:
            raise ClosedError("the GraphAllocator of this plan was closed")
        if self._galloc._epoch != self._epoch or self._galloc._allocated is not self._graph:
            raise GraphError("this plan's graph is not allocated by its GraphAllocator now: call alloc_graph first")
        with _lib.capture() as cap:
            n = int(lib.ggalloc_graph_verify(self._graph._live()))
        if n < 0:
            raise GraphError("cannot verify the plan", cap.texts())
        cap.flush()
        return n

    def plot(self, *args: Any, **kwargs: Any) -> Any:
        """Draws the plan (tensors as boxes over steps x bytes); see ggalloc.plot.plot_plan."""
        from .plot import plot_plan  # matplotlib is optional
        return plot_plan(self, *args, **kwargs)

    def to_dict(self) -> Dict[str, Any]:
        """The plan as JSON-ready data."""
        return {
            "planner": self.planner,
            "n_nodes": self.n_nodes,
            "peak": self.peak,
            "lower_bound": self.lower_bound,
            "buffer_sizes": list(self.buffer_sizes),
            "lower_bounds": list(self.lower_bounds),
            "entries": [e._asdict() for e in self.entries],
        }

    def __repr__(self) -> str:
        return (f"Plan(planner={self.planner!r}, n_entries={len(self.entries)}, peak={self.peak}, "
                f"lower_bound={self.lower_bound})")


class GraphAllocator(_memory.Placer):
    """Plans where every tensor of a graph lives and places it (ggml_gallocr).

        >>> galloc = gg.GraphAllocator(gg.cpu_buffer_type(), planner="ggml")
        >>> galloc.alloc_graph(g)       # True, or an exception saying why
        >>> galloc.buffer_size(), galloc.lower_bound()

    buffer_types: one BufferType (or backend) or a list of them (a type given twice shares one
    buffer); planner: "best" (the default, offline) or "ggml" (ggml's placement); time_budget:
    seconds "best" may search for smaller buffers at each plan (see the property).
    """

    def __init__(self, buffer_types: Union[BufferType, Any, Sequence[Any]], planner: str = "best",
                 time_budget: float = 0.0) -> None:
        if isinstance(buffer_types, (list, tuple)):
            items = list(buffer_types)
        else:
            items = [buffer_types]
        bufts: List[BufferType] = []
        for b in items:
            if not isinstance(b, BufferType):
                b = getattr(b, "buffer_type", None)
            if not isinstance(b, BufferType):
                raise BadInputError("GraphAllocator takes BufferTypes or backends")
            bufts.append(b)
        if not bufts:
            raise BadInputError("GraphAllocator needs at least one buffer type")
        arr = ffi.new("ggml_backend_buffer_type_t[]", [b._live() for b in bufts])
        ptr = _lib.new(lib.ggml_gallocr_new_n, arr, len(bufts), exc=AllocationError,
                       what="cannot create a graph allocator")
        self._bufts = bufts
        self._mem = _memory.PlanState(self, _Holder(ffi.gc(ptr, lib.ggml_gallocr_free), tuple(bufts)))
        self._closed = False
        self._graph: Optional[Graph] = None      # the graph of the last plan
        self._allocated: Optional[Graph] = None  # the graph last placed by alloc_graph
        self._registered_size = 0
        self.planner = planner
        self.time_budget = time_budget

    # lifetime -----------------------------------------------------------------------------

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the GraphAllocator was closed")
        return self._holder.h

    # settings -----------------------------------------------------------------------------

    @property
    def n_buffers(self) -> int:
        """Number of buffer types (and buffers)."""
        return len(self._bufts)

    @property
    def buffer_types(self) -> List[BufferType]:
        """The buffer types, by buffer id."""
        return list(self._bufts)

    @property
    def planner(self) -> str:
        """"best" or "ggml"; takes effect at the next reserve / alloc_graph."""
        v = int(lib.ggalloc_gallocr_get_planner(self._live()))
        return "ggml" if v == int(lib.GGALLOC_PLANNER_GGML) else "best"

    @planner.setter
    def planner(self, value: str) -> None:
        key = _PLANNERS.get(str(value).lower())
        if key is None:
            raise BadInputError(f"unknown planner {value!r}: expected 'ggml' or 'best'")
        lib.ggalloc_gallocr_set_planner(self._live(), getattr(lib, key))
        self._allocated = None    # the next alloc_graph re-plans (and may move memory)

    @property
    def time_budget(self) -> float:
        """Seconds the "best" planner may search at each plan for a smaller plan of a buffer whose
        first greedy pass is above its lower bound (several orders, then a search, as
        plan_intervals does); it stops at once on meeting the bound. 0 (the default): that pass
        alone, a reserve as fast as ggml's. Takes effect at the next reserve / alloc_graph."""
        return float(lib.ggalloc_gallocr_get_time_budget(self._live()))

    @time_budget.setter
    def time_budget(self, value: float) -> None:
        seconds = _lib.as_float(value, "time_budget")
        _lib.ok(lib.ggalloc_gallocr_set_time_budget, self._live(), seconds, exc=BadInputError,
                what=f"bad time_budget {value!r}")
        self._allocated = None    # the next alloc_graph re-plans (and may move memory)

    def set_node_order(self, order: Optional[Sequence[int]]) -> None:
        """Visits the nodes in this order (a dependency-respecting permutation) at the next
        reserve; None restores graph order."""
        h = self._live()
        if order is not None and not isinstance(order, (list, tuple, range, np.ndarray)):
            raise ArgumentTypeError(f"a node order is a list of node indices, got {type(order).__name__}")
        self._allocated = None
        if order is None or len(order) == 0:
            _lib.ok(lib.ggalloc_gallocr_set_node_order, h, ffi.NULL, 0, exc=BadInputError, what="cannot reset the order")
            return
        arr = ffi.new("int[]", [_lib.as_int(i, "node index", 0, _lib.INT_MAX) for i in order])
        _lib.ok(lib.ggalloc_gallocr_set_node_order, h, arr, len(order), exc=BadInputError,
                what=f"node order of length {len(order)} is not a permutation")

    # planning -----------------------------------------------------------------------------

    def _sizes(self) -> List[int]:
        h = self._holder.h
        return [int(lib.ggml_gallocr_get_buffer_size(h, i)) for i in range(len(self._bufts))]

    def _after_plan(self, g: Graph, bump: bool) -> None:
        if bump:
            self._epoch += 1
        self._graph = g
        total = sum(self._sizes())
        if total != self._registered_size:
            # tell the garbage collector how much memory the handle now holds
            raw = self._holder.h
            ffi.gc(raw, None)
            self._holder.h = ffi.gc(raw, lib.ggml_gallocr_free, size=max(total, 1))
            self._registered_size = total

    def reserve(self, g: Graph) -> "GraphAllocator":
        """Plans g and allocates buffers that fit it (tensors are not placed)."""
        _lib.expect(g, Graph, "reserve()'s argument")
        with _memory.hold(exclusive=[self, g]):
            return self._reserve(g)

    def _reserve(self, g: Graph) -> "GraphAllocator":
        h, gp, _ = self._prepare(g, True)
        _lib.ok(lib.ggml_gallocr_reserve, h, gp, exc=AllocationError, what=f"cannot reserve for {g!r}")
        self._allocated = None
        self._after_plan(g, True)
        return self

    def _ids(self, ids: Optional[Sequence[int]], n: int, what: str) -> Any:
        if ids is None:
            return ffi.NULL
        if not isinstance(ids, (list, tuple, range, np.ndarray)):
            raise ArgumentTypeError(f"{what} must be a list of buffer ids, got {type(ids).__name__}")
        ids = [_lib.as_int(i, f"an entry of {what}") for i in ids]
        if len(ids) != n:
            raise BadInputError(f"{what} has {len(ids)} entries; the graph has {n}")
        for i, b in enumerate(ids):
            if not 0 <= b < len(self._bufts):
                raise BadInputError(f"{what}[{i}] = {b} is not a buffer id (0..{len(self._bufts) - 1})")
        return ffi.new("int[]", ids or [0])

    def reserve_n(self, g: Graph, node_ids: Optional[Sequence[int]], leaf_ids: Optional[Sequence[int]]) -> "GraphAllocator":
        """Plans g with node i in buffer node_ids[i] and leaf j in buffer leaf_ids[j]."""
        _lib.expect(g, Graph, "reserve_n()'s graph")
        with _memory.hold(exclusive=[self, g]):
            return self._reserve_n(g, node_ids, leaf_ids)

    def _reserve_n(self, g: Graph, node_ids: Optional[Sequence[int]],
                   leaf_ids: Optional[Sequence[int]]) -> "GraphAllocator":
        h, gp, _ = self._prepare(g, True)
        nid = self._ids(node_ids, g.n_nodes, "node_ids")
        lid = self._ids(leaf_ids, g.n_leafs, "leaf_ids")
        _lib.ok(lib.ggml_gallocr_reserve_n, h, gp, nid, lid, exc=AllocationError, what=f"cannot reserve for {g!r}")
        self._allocated = None
        self._after_plan(g, True)
        return self

    def reserve_n_size(self, g: Graph, node_ids: Optional[Sequence[int]] = None,
                       leaf_ids: Optional[Sequence[int]] = None) -> List[int]:
        """Plans g without allocating: the size each buffer would have."""
        _lib.expect(g, Graph, "reserve_n_size()'s graph")
        h = self._live()
        gp = g._live()
        nid = self._ids(node_ids, g.n_nodes, "node_ids")
        lid = self._ids(leaf_ids, g.n_leafs, "leaf_ids")
        sizes = ffi.new("size_t[]", len(self._bufts))
        _lib.void(lib.ggml_gallocr_reserve_n_size, h, gp, nid, lid, sizes, exc=GraphError,
                  what=f"cannot plan {g!r}")
        return [int(sizes[i]) for i in range(len(self._bufts))]

    def alloc_graph(self, g: Graph) -> bool:
        """Places every tensor of g (re-using the reserved plan when g fits it). Returns True;
        raises AllocationError when memory cannot be had, GraphError when an allocator of
        several buffers needs reserve_n first. Waits for a compute using this allocator's memory
        or g in another thread to return."""
        _lib.expect(g, Graph, "alloc_graph()'s argument")
        with _memory.hold(exclusive=[self, g]):
            return self._alloc_graph(g)

    def _alloc_graph(self, g: Graph) -> bool:
        same = self._allocated is g
        h, gp, unplaced = self._prepare(g, not same)
        before = self._sizes()
        with _lib.capture() as cap:
            st = int(lib.ggalloc_gallocr_alloc_graph_ex(h, gp))
        if st != int(lib.GGALLOC_ALLOC_OK):
            # a multi-buffer allocator cannot re-plan by itself: that is a usage error
            cls = GraphError if st == int(lib.GGALLOC_ALLOC_NEEDS_RESERVE) else AllocationError
            raise cls(f"cannot allocate {g!r} with planner {self.planner!r}", cap.texts())
        cap.flush()
        self._after_plan(g, (not same) or self._sizes() != before)
        self._allocated = g
        g._placed_by = weakref.ref(self)  # the last to place g (a Scheduler computes only what it placed)
        _memory.register_placed(g, unplaced, _memory.PlanMem(self._mem))
        return True

    def buffer_size(self, i: int = 0) -> int:
        """Bytes of buffer i."""
        h = self._live()
        i = _lib.as_int(i, "buffer id")
        if not 0 <= i < len(self._bufts):
            raise OutOfRangeError(f"buffer {i} out of range ({len(self._bufts)} buffers)")
        return int(lib.ggml_gallocr_get_buffer_size(h, i))

    def lower_bound(self, i: int = 0) -> int:
        """The liveness lower bound of the last planned graph for buffer i."""
        h = self._live()
        i = _lib.as_int(i, "buffer id")
        if not 0 <= i < len(self._bufts):
            raise OutOfRangeError(f"buffer {i} out of range ({len(self._bufts)} buffers)")
        return int(lib.ggalloc_gallocr_lower_bound(h, i))

    def plan(self) -> Plan:
        """The last plan as data (after reserve or alloc_graph)."""
        h = self._live()
        g = self._graph
        if g is None:
            raise GraphError("no plan yet: call reserve or alloc_graph first")
        g._live()
        n = int(lib.ggalloc_gallocr_n_placements(h))
        pl = ffi.new("struct ggalloc_placement *")
        get = lib.ggalloc_gallocr_get_placement
        string = ffi.string
        entries: List[PlanEntry] = []
        ptrs: List[Any] = []
        # cdata-level: the Tensor objects are made only if Plan.tensors is asked for
        for i in range(n):
            if not get(h, i, pl):
                raise GraphError(f"placement {i} of {n} cannot be read")
            t = pl.tensor
            ptrs.append(t)
            entries.append(PlanEntry(string(t.name).decode("utf-8", "replace"), pl.buffer_id, pl.chunk, pl.offset,
                                     pl.size, pl.first, pl.last))
        k = len(self._bufts)
        return Plan(self, g, entries, ptrs, [self.buffer_size(i) for i in range(k)],
                    [self.lower_bound(i) for i in range(k)], self.planner, self._epoch)

    def __repr__(self) -> str:
        if self._closed:
            return "GraphAllocator(<closed>)"
        try:
            types = [b.name for b in self._bufts]
        except GgallocError:
            return "GraphAllocator(<a backend of its buffer types was closed>)"
        return (f"GraphAllocator({types[0] if len(types) == 1 else types!r}, planner={self.planner!r}, "
                f"buffer_sizes={self._sizes()})")



# ---------------------------------------------------------------------------------------------
# the planner on bare lifetimes

def _int_array(values: Any, name: str, dtype: Any) -> Any:
    """values as a contiguous 1-D array of dtype; BadInputError for anything but integers in its range."""
    arr = np.asarray(values)
    info = np.iinfo(dtype)
    if arr.size == 0:
        return np.zeros(0, dtype=dtype)
    arr = arr.reshape(-1)
    if arr.dtype.kind == "O":
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr):
            raise BadInputError(f"{name} must be integers")
        lo, hi = min(int(v) for v in arr), max(int(v) for v in arr)
    elif arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
    else:
        raise BadInputError(f"{name} must be integers, got {arr.dtype}")
    if lo < int(info.min) or hi > int(info.max):
        bad = lo if lo < int(info.min) else hi
        raise BadInputError(f"{name} holds {bad}, outside [{int(info.min)}, {int(info.max)}]")
    return np.ascontiguousarray(arr.astype(dtype))


def _interval_arrays(sizes: Any, starts: Any, ends: Any) -> Tuple[Any, Any, Any, int]:
    s = _int_array(sizes, "sizes", np.uint64)
    a = _int_array(starts, "starts", np.int64)
    e = _int_array(ends, "ends", np.int64)
    if not (len(s) == len(a) == len(e)):
        raise BadInputError(f"sizes, starts and ends must have the same length, got {len(s)}, {len(a)}, {len(e)}")
    if len(s) > 2**31 - 1:
        raise BadInputError("too many intervals")
    return s, a, e, len(s)


def _alignment(alignment: Any) -> int:
    if isinstance(alignment, bool) or not isinstance(alignment, (int, np.integer)) or not 0 < int(alignment) < 2**64:
        raise BadInputError(f"alignment must be a positive integer, got {alignment!r}")
    return int(alignment)


def _ptr(arr: Any, ctype: str) -> Any:
    if len(arr) == 0:
        return ffi.new(ctype + "[1]")
    return ffi.from_buffer(ctype + "[]", arr)


def plan_intervals(sizes: Sequence[int], starts: Sequence[int], ends: Sequence[int],
                   alignment: int = 1, *, planner: str = "best", time_budget: Optional[float] = None,
                   seed: int = 0) -> Tuple["np.ndarray[Any, Any]", int]:
    """The planner on bare lifetimes: block i of sizes[i] bytes is live over [starts[i], ends[i]).
    Returns (offsets as a uint64 array, peak bytes).

    ``planner`` is ``"best"`` (offline, searched) or ``"ggml"`` (ggml's online best fit).
    ``time_budget``: seconds the best planner may search while its plan is above the lower bound
    (above 2048 blocks: improve time windows around the peak; past 2^26 pairs of blocks live at
    once, a plan by decomposition in time); it stops at once on meeting the bound. None or 0: a fixed amount of work, the same plan on every run. ``seed`` varies the
    search.

        >>> offs, peak = gg.plan_intervals([64, 64, 64], [0, 1, 2], [1, 2, 3])   # peak == 64
        >>> offs, peak = gg.plan_intervals(sizes, starts, ends, time_budget=2.0)
    """
    offsets, peak, _ = _plan_intervals(sizes, starts, ends, alignment, planner, time_budget, seed, False)
    return offsets, peak


def plan_intervals_bound(sizes: Sequence[int], starts: Sequence[int], ends: Sequence[int],
                         alignment: int = 1, *, planner: str = "best", time_budget: Optional[float] = None,
                         seed: int = 0) -> Tuple["np.ndarray[Any, Any]", int, int]:
    """:func:`plan_intervals` that also returns a bound no plan of these blocks can beat:
    (offsets, peak, bound). The bound is :func:`intervals_lower_bound`'s, or more where the best
    planner's exact search proved within the budget that nothing smaller fits; ``peak == bound``
    means the plan is optimal.

        >>> offs, peak, bound = gg.plan_intervals_bound(sizes, starts, ends, time_budget=1.0)
    """
    return _plan_intervals(sizes, starts, ends, alignment, planner, time_budget, seed, True)


def _plan_intervals(sizes: Sequence[int], starts: Sequence[int], ends: Sequence[int], alignment: int,
                    planner: str, time_budget: Optional[float], seed: int,
                    want_bound: bool) -> Tuple["np.ndarray[Any, Any]", int, int]:
    s, a, e, n = _interval_arrays(sizes, starts, ends)
    alignment = _alignment(alignment)
    if planner not in _PLANNERS:
        raise BadInputError(f"unknown planner {planner!r} (expected one of {sorted(_PLANNERS)})")
    # (the C library checks the budget's range)
    if time_budget is not None and (isinstance(time_budget, bool) or not isinstance(time_budget, (int, float))):
        raise BadInputError(f"time_budget must be a number of seconds, got {time_budget!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**64:
        raise BadInputError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    out = np.zeros(n, dtype=np.uint64)
    peak = ffi.new("size_t *")
    bound = ffi.new("size_t *")
    what = f"cannot plan {n} intervals with alignment {alignment}"
    args = (n, _ptr(s, "size_t"), _ptr(a, "int64_t"), _ptr(e, "int64_t"), int(alignment))
    if planner == "best" and time_budget is None and int(seed) == 0 and not want_bound:
        _lib.ok(lib.ggalloc_plan_intervals, *args, _ptr(out, "size_t"), peak, exc=BadInputError, what=what)
        return out, int(peak[0]), 0
    opt = ffi.new("struct ggalloc_plan_options *", lib.ggalloc_plan_options_default())
    opt.planner = getattr(lib, _PLANNERS[planner])
    opt.time_budget = 0.0 if time_budget is None else float(time_budget)
    opt.seed = int(seed)
    if want_bound:
        _lib.ok(lib.ggalloc_plan_intervals_bound, *args, opt, _ptr(out, "size_t"), peak, bound,
                exc=BadInputError, what=what)
    else:
        _lib.ok(lib.ggalloc_plan_intervals_ex, *args, opt, _ptr(out, "size_t"), peak, exc=BadInputError, what=what)
    return out, int(peak[0]), int(bound[0])


def intervals_lower_bound(sizes: Sequence[int], starts: Sequence[int], ends: Sequence[int], alignment: int = 1) -> int:
    """The most bytes (each size rounded up to alignment) live at any step."""
    s, a, e, n = _interval_arrays(sizes, starts, ends)
    alignment = _alignment(alignment)
    with _lib.capture() as cap:
        v = int(lib.ggalloc_intervals_lower_bound(n, _ptr(s, "size_t"), _ptr(a, "int64_t"), _ptr(e, "int64_t"),
                                                  int(alignment)))
    if cap.has_error:
        raise BadInputError(f"cannot bound {n} intervals", cap.texts())
    cap.flush()
    return v
