"""Contexts, tensors, operations and graphs: the Python face of ggml.h.

    >>> ctx = gg.Context()
    >>> x = ctx.tensor(np.float32, (3, 4), name="x")      # numpy order: 3 rows of 4
    >>> y = gg.relu(x * 2.0 + x)                          # ops build nodes; nothing runs yet
    >>> g = gg.Graph(y)                                   # ggml_build_forward_expand over y

Ownership. A Context owns the metadata of its tensors; a Tensor keeps its Context alive, and a
Graph keeps the contexts of its tensors alive. ``close()`` (or leaving a ``with`` block) frees a
context at once; afterwards every use of it, of its tensors, and of graphs and tensors built on
them raises ClosedError instead of touching freed memory. A tensor's data belongs to whatever
placed it (a Buffer, a GraphAllocator, or an allocating Context); reading a tensor whose memory
was freed or re-planned raises ClosedError as well.

dtypes. ``np.float32`` <-> ``"f32"``, ``np.float16`` <-> ``"f16"``, ``np.int32`` <-> ``"i32"``
(also ``np.int8``/``"i8"``, ``np.int16``/``"i16"``, ``np.int64``/``"i64"``, ``np.float64``/``"f64"``).
``"bf16"`` has no numpy dtype: ``t.numpy()`` returns float32 for a bf16 tensor and ``t.set()``
takes float32 and rounds to nearest even; ``raw=True`` on either reads/writes the uint16 bits
unchanged. Quantized types (``"q4_0"``, ``"q8_0"``, ``"q4_k"``, ...; gg.type_info lists them)
take float32 in ``t.set()`` (quantized with ggml's reference quantizer) and give float32 from
``t.numpy()`` (dequantized); ``raw=True`` reads/writes their blocks (uint8, shape
``shape[:-1] + (row bytes,)``).

Contexts of ops. ggml's ops take the context of their result explicitly; here every op takes
it as the keyword ``ctx`` and defaults to the context of its first tensor argument. Programs that
keep weights apart from the graph build each node in the compute context, so that placing the
weights' context (``gg.alloc_ctx_tensors``) places nothing else:

    >>> wctx, cctx = gg.Context(), gg.Context()
    >>> w = wctx.tensor(np.float32, (16, 8), name="w")
    >>> x = cctx.tensor(np.float32, (4, 8), name="x")
    >>> y = gg.mul_mat(w, x, ctx=cctx)                    # y's metadata is in cctx, not in wctx

Shapes are numpy order (last axis fastest): ``t.shape == tuple(reversed(t.ne[:t.ndim]))`` and
numpy strides are the reversed ``nb``.
"""

from __future__ import annotations

import functools
import os
import weakref
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, TypeVar, Union

import numpy as np

from . import _lib, _memory
from ._lib import Closable, ffi, lib
from .errors import (AllocationError, BadInputError, ClosedError, GgallocError, GraphError,
                     ArgumentTypeError, OutOfRangeError, UnsupportedOperationError, ValueOverflowError)

DTypeLike = Union[str, "np.dtype[Any]", type]
ShapeLike = Union[int, Sequence[int]]

MAX_DIMS = int(lib.GGML_MAX_DIMS)
_SIZE_MAX = int(ffi.cast("size_t", -1))

# ---------------------------------------------------------------------------------------------
# types

_TYPE_NAMES: Dict[int, str] = {}
for _i in range(int(lib.GGML_TYPE_COUNT)):
    _p = lib.ggml_type_name(_i)
    if _p != ffi.NULL:
        _TYPE_NAMES[_i] = ffi.string(_p).decode()
_TYPE_IDS: Dict[str, int] = {v.lower(): k for k, v in _TYPE_NAMES.items()}

_NUMPY_OF: Dict[int, Any] = {
    int(lib.GGML_TYPE_F32): np.dtype(np.float32),
    int(lib.GGML_TYPE_F16): np.dtype(np.float16),
    int(lib.GGML_TYPE_I32): np.dtype(np.int32),
    int(lib.GGML_TYPE_I8): np.dtype(np.int8),
    int(lib.GGML_TYPE_I16): np.dtype(np.int16),
    int(lib.GGML_TYPE_I64): np.dtype(np.int64),
    int(lib.GGML_TYPE_F64): np.dtype(np.float64),
}
_TYPE_OF_NUMPY: Dict[Any, int] = {v: k for k, v in _NUMPY_OF.items()}
_BF16 = int(lib.GGML_TYPE_BF16)


def type_id(dtype: DTypeLike) -> int:
    """The ggml type id of a numpy dtype or a ggml type name: ``type_id("f16") == 1``."""
    if dtype is None:
        # np.dtype(None) would be float64: say what is missing instead
        raise ArgumentTypeError("a dtype is needed: a numpy dtype or a ggml type name such as \"f32\"")
    if isinstance(dtype, str) and dtype.lower() in _TYPE_IDS:
        return _TYPE_IDS[dtype.lower()]
    dt: Optional["np.dtype[Any]"]
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is not None and dt in _TYPE_OF_NUMPY:
        return _TYPE_OF_NUMPY[dt]
    known = ", ".join(sorted(_TYPE_IDS))
    raise BadInputError(f"unknown dtype {dtype!r}: expected a numpy dtype among float32, float16, int32, "
                        f"int8, int16, int64, float64 or a ggml type name ({known})")


def type_of(t: Any) -> int:
    """The ggml type id of a type id (checked), a numpy dtype or a ggml type name."""
    if isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_)):
        return type_id(type_name(int(t)))
    return type_id(t)  # type: ignore[arg-type]  # type_id says what it does not take


def type_name(t: Any) -> str:
    """The ggml name of a type id: ``type_name(0) == "f32"``; OutOfRangeError for an id ggml
    does not use."""
    tid = _lib.as_int(t, "type id")
    name = _TYPE_NAMES.get(tid)
    if name is None:
        raise OutOfRangeError(f"unknown type id {tid}: ggml's ids are 0..{int(lib.GGML_TYPE_COUNT) - 1}, "
                              "some of them unused")
    return name


def _dequantizable(tid: int) -> bool:
    return bool(lib.ggml_is_quantized(tid)) and lib.ggml_get_type_traits(tid).to_float != ffi.NULL


def numpy_dtype(t: Union[DTypeLike, int]) -> Optional["np.dtype[Any]"]:
    """The numpy dtype numpy() returns for a ggml type (float32 for bf16 and for the quantized
    types that can be dequantized here; None for the others)."""
    tid = type_of(t)
    if tid == _BF16 or _dequantizable(int(tid)):
        return np.dtype(np.float32)
    return _NUMPY_OF.get(int(tid))


def _bf16_to_f32(bits: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    return (bits.astype(np.uint32) << np.uint32(16)).view(np.float32)


def _f32_to_bf16(x: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x0040)).astype(np.uint16)
    return rounded


def _padded(shape: Sequence[int]) -> Tuple[int, ...]:
    """A shape with leading 1s up to 4 axes: the shapes ggml cannot tell apart."""
    shape = tuple(int(s) for s in shape)
    while len(shape) > 1 and shape[0] == 1:
        shape = shape[1:]
    return shape


def _shape_ne(shape: ShapeLike) -> List[int]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ArgumentTypeError(f"a shape is a tuple of ints, got {type(shape).__name__}") from None
    for s in dims:
        if not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)):
            raise ArgumentTypeError(f"shape {dims!r}: extents must be ints, got {type(s).__name__}")
    dims = tuple(int(s) for s in dims)
    if len(dims) > MAX_DIMS:
        raise BadInputError(f"shape {dims} has {len(dims)} dimensions; at most {MAX_DIMS} are supported")
    if any(s < 0 for s in dims):
        raise BadInputError(f"shape {dims} has a negative extent")
    if any(s >= 1 << 63 for s in dims):
        raise ValueOverflowError(f"shape {dims} has an extent that does not fit int64")
    return list(reversed(dims)) or [1]


# ---------------------------------------------------------------------------------------------
# memory owners: who placed a tensor's data, and whether that memory is still there


class _HostView:
    """Exposes host memory to numpy through __array_interface__ and keeps its owner alive."""

    __slots__ = ("__array_interface__", "_keep", "__weakref__")

    def __init__(self, ptr: int, shape: Tuple[int, ...], strides: Tuple[int, ...], dtype: "np.dtype[Any]",
                 keep: Any, readonly: bool = False) -> None:
        self.__array_interface__ = {
            "version": 3,
            "shape": shape,
            "typestr": dtype.str,
            "data": (ptr, readonly),
            "strides": strides,
        }
        self._keep = keep


class _Keep:
    """Keeps a C object alive and, after it, what it needs to be freed (its buffer type): the
    object is released first, whatever order Python tears the rest down in."""

    __slots__ = ("h", "after")

    def __init__(self, h: Any, after: Any = None) -> None:
        self.h = h
        self.after = after

    def __del__(self) -> None:
        self.h = None
        self.after = None


def _host_array(ptr: int, shape: Tuple[int, ...], strides: Tuple[int, ...], dtype: Any, keep: Any) -> "np.ndarray[Any, Any]":
    return np.asarray(_HostView(ptr, shape, strides, np.dtype(dtype), keep))


# ---------------------------------------------------------------------------------------------
# contexts

_DEFAULT_MAX_TENSORS = 8192


class Context(Closable):
    """Owns tensor metadata (and, with ``no_alloc=False``, tensor data in its own arena).

    ``Context()`` holds up to 8192 tensors' metadata; data comes later from an allocator
    (GraphAllocator, alloc_ctx_tensors). ``Context(mem_size=1 << 20, no_alloc=False)`` gives
    tensors data at once, as ggml_init does.

        >>> with gg.Context() as ctx:
        ...     x = ctx.tensor("f32", (2, 3), name="x")
    """

    def __init__(self, mem_size: Optional[int] = None, *, no_alloc: bool = True,
                 max_tensors: int = _DEFAULT_MAX_TENSORS) -> None:
        max_tensors = _lib.as_int(max_tensors, "max_tensors", 1, _lib.INT_MAX)
        overhead = int(lib.ggml_tensor_overhead()) * max_tensors + int(lib.ggml_graph_overhead())
        if mem_size is None:
            mem_size = overhead if no_alloc else overhead + (16 << 20)
        mem_size = _lib.as_int(mem_size, "mem_size", 1, _lib.SIZE_MAX)
        params = ffi.new("struct ggml_init_params *")
        params.mem_size = mem_size
        params.mem_buffer = ffi.NULL
        params.no_alloc = bool(no_alloc)
        ptr = _lib.new(lib.ggml_init, params[0], exc=AllocationError,
                       what=f"cannot create a context of {mem_size} bytes")
        self._init(ffi.gc(ptr, lib.ggml_free, size=mem_size), mem_size)

    def _init(self, handle: Any, mem_size: int) -> None:
        self._h: Any = handle
        self._mem_size = mem_size
        self._closed = False
        self._base = int(ffi.cast("uintptr_t", lib.ggml_get_mem_buffer(handle)))
        self._cache: "weakref.WeakValueDictionary[int, Tensor]" = weakref.WeakValueDictionary()
        # numpy ranks by tensor address: ggml records four extents, not how many axes a shape had
        self._ranks: Dict[int, int] = {}
        # owner records of the memory of this context's tensors (ggalloc/_memory.py)
        self._table = _memory.Table(self._base, mem_size)
        # other contexts whose tensors this context's tensors use as sources
        self._uses: Set["Context"] = set()

    @classmethod
    def _adopt(cls, ptr: Any) -> "Context":
        """Wraps a context created by C (ggalloc_graph_load_json); it is freed with ggml_free."""
        self = cls.__new__(cls)
        size = int(lib.ggml_get_mem_size(ptr))
        self._init(ffi.gc(ptr, lib.ggml_free, size=size), size)
        return self

    # lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the context and every tensor in it now (an allocating context's arena stays
        until the last numpy view of it is gone). Idempotent."""
        if self._closed:
            return
        with _memory.hold(exclusive=[self]):   # waits for computes using the context
            self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._table.owners.clear()
        self._cache.clear()
        self._ranks.clear()
        self._h = None

    def _check(self) -> Any:
        if self._closed:
            raise ClosedError("the Context was closed")
        for other in self._uses:
            if other._closed:
                raise ClosedError("a Context whose tensors this one's tensors use was closed")
        return self._h

    def _contains(self, addr: int) -> bool:
        return self._table.contains(addr)

    def _mem_tables(self) -> List[_memory.Table]:
        """The owner tables of this context and of the contexts it uses (_memory.Holder)."""
        return [self._table, *(c._table for c in self._uses)]

    # facts --------------------------------------------------------------------------------

    @property
    def no_alloc(self) -> bool:
        """True when tensors get metadata only (their data comes from an allocator)."""
        return bool(lib.ggml_get_no_alloc(self._check()))

    @property
    def mem_size(self) -> int:
        """Bytes of the context's arena."""
        self._check()
        return self._mem_size

    @property
    def used_mem(self) -> int:
        """Bytes of the arena in use."""
        return int(lib.ggml_used_mem(self._check()))

    def tensors(self) -> Iterator["Tensor"]:
        """Every tensor of the context, in creation order."""
        h = self._check()
        p = lib.ggml_get_first_tensor(h)
        while p != ffi.NULL:
            yield self._wrap(p)
            p = lib.ggml_get_next_tensor(self._check(), p)

    def __len__(self) -> int:
        return sum(1 for _ in self.tensors())

    def __repr__(self) -> str:
        if self._closed:
            return "Context(<closed>)"
        return (f"Context(mem_size={self._mem_size}, no_alloc={self.no_alloc}, "
                f"n_tensors={len(self)}, used_mem={self.used_mem})")

    # tensors ------------------------------------------------------------------------------

    def _wrap(self, ptr: Any) -> "Tensor":
        addr = int(ffi.cast("uintptr_t", ptr))
        t = self._cache.get(addr)
        if t is None:
            t = Tensor.__new__(Tensor)
            t._ptr = ffi.cast("struct ggml_tensor *", ptr)
            t._ctx = self
            self._cache[addr] = t
        return t

    def _wrap_any(self, ptr: Any) -> "Tensor":
        """Wraps a tensor pointer of this context or of a context it uses."""
        addr = int(ffi.cast("uintptr_t", ptr))
        if not self._contains(addr):
            for other in self._uses:
                if other._contains(addr):
                    return other._wrap(ptr)
        return self._wrap(ptr)

    def tensor(self, dtype: DTypeLike, shape: ShapeLike, name: Optional[str] = None) -> "Tensor":
        """A new tensor; shape in numpy order (up to 4 axes).

            >>> w = ctx.tensor(np.float16, (1024, 768), name="w")   # ne = [768, 1024, 1, 1]
        """
        h = self._check()
        tid = type_id(dtype)
        ne = _shape_ne(shape)
        arr = ffi.new("int64_t[]", ne)
        p = _lib.new(lib.ggml_new_tensor, h, tid, len(ne), arr, exc=BadInputError,
                     what=f"cannot create a {type_name(tid)} tensor of shape {tuple(reversed(ne))}")
        t = self._wrap(p)
        self._set_rank(t, 1 if isinstance(shape, (int, np.integer)) else len(tuple(shape)))
        if name is not None:
            t.name = name
        return t

    new_tensor = tensor

    def dup_tensor(self, src: "Tensor") -> "Tensor":
        """A new tensor with src's type and shape (no data copied)."""
        _lib.expect(src, Tensor, "src")
        h = self._check()
        p = _lib.new(lib.ggml_dup_tensor, h, src._live(), exc=BadInputError, what=f"cannot duplicate {src!r}")
        self._link(src)
        return self._set_rank(self._wrap(p), src.ndim)

    def view_tensor(self, src: "Tensor") -> "Tensor":
        """A view of all of src."""
        _lib.expect(src, Tensor, "src")
        h = self._check()
        p = _lib.new(lib.ggml_view_tensor, h, src._live(), exc=BadInputError, what=f"cannot view {src!r}")
        self._link(src)
        return self._set_rank(self._wrap(p), src.ndim)

    def get_tensor(self, name: str) -> Optional["Tensor"]:
        """The first tensor with that name, or None."""
        p = lib.ggml_get_tensor(self._check(), _lib.as_str(name, "a tensor name").encode("utf-8", "replace"))
        return None if p == ffi.NULL else self._wrap(p)

    def new_f32(self, value: float) -> "Tensor":
        """A one-element f32 tensor holding value (needs an allocating context)."""
        p = _lib.new(lib.ggml_new_f32, self._check(), _lib.as_float(value, "new_f32's value"), exc=BadInputError,
                     what="cannot create an f32 scalar (the context must allocate: no_alloc=False)")
        return self._set_rank(self._wrap(p), 0)

    def new_i32(self, value: int) -> "Tensor":
        """A one-element i32 tensor holding value (needs an allocating context)."""
        p = _lib.new(lib.ggml_new_i32, self._check(), _lib.as_int(value, "new_i32's value", -2**31, 2**31 - 1),
                     exc=BadInputError,
                     what="cannot create an i32 scalar (the context must allocate: no_alloc=False)")
        return self._set_rank(self._wrap(p), 0)

    def _set_rank(self, t: "Tensor", rank: int) -> "Tensor":
        t._ctx._ranks[t._addr] = rank
        return t

    def _link(self, *tensors: Any) -> None:
        for t in tensors:
            if isinstance(t, Tensor) and t._ctx is not self:
                self._uses.add(t._ctx)
                self._uses |= t._ctx._uses
                self._uses.discard(self)


# ---------------------------------------------------------------------------------------------
# tensors

_M = TypeVar("_M", bound=Callable[..., Any])


def _using_memory(method: _M) -> _M:
    """A Tensor method that reads or writes the tensor's memory: the memory's owners are marked
    in use meanwhile, so that a close() in another thread waits instead of freeing it."""
    @functools.wraps(method)
    def wrapper(self: "Tensor", *args: Any, **kwargs: Any) -> Any:
        with _memory.hold(shared=[self._ctx, *self._ctx._uses]):
            owner = self._owner()
            with _memory.hold(shared=owner.users() if owner is not None else ()):
                return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]



class Tensor:
    """A tensor of a Context. Made by ``ctx.tensor(...)`` or by an op, never directly.

    ``shape`` is numpy order; ``ne``/``nb`` are ggml's (ne[0] fastest). Two Tensor objects are
    equal when they are the same C tensor.
    """

    __slots__ = ("_ptr", "_ctx", "__weakref__")
    _ptr: Any
    _ctx: Context

    def __init__(self) -> None:
        raise ArgumentTypeError("tensors are made by Context.tensor() or by ops")

    # checks -------------------------------------------------------------------------------

    def _live(self) -> Any:
        self._ctx._check()
        return self._ptr

    @property
    def _addr(self) -> int:
        return int(ffi.cast("uintptr_t", self._ptr))

    def _mem_tables(self) -> List[_memory.Table]:
        return self._ctx._mem_tables()

    def _owner(self) -> Optional[_memory.Owner]:
        """The record of what placed this tensor's data (ggalloc/_memory.py); None when the
        tensor has no data."""
        return _memory.owner_of(self, self._live(), _ArenaMem(self._ctx))

    def _data(self) -> Any:
        """The tensor pointer, after checking that its data exists and is still alive."""
        p = self._live()
        owner = self._owner()
        if owner is None or p.data == ffi.NULL:
            raise GgallocError(f"tensor {self._label()} has no memory yet: place it first "
                               "(GraphAllocator.alloc_graph, gg.alloc_ctx_tensors, TensorAllocator.alloc)")
        if not owner.alive():
            raise ClosedError(f"the memory of tensor {self._label()} was freed or re-planned ({owner.why()})")
        return p

    def _label(self) -> str:
        n = self.name
        return repr(n) if n else f"<{self.op.lower()} {self.shape}>"

    # facts --------------------------------------------------------------------------------

    @property
    def context(self) -> Context:
        """The Context that holds the tensor."""
        self._live()
        return self._ctx

    @property
    def ne(self) -> Tuple[int, int, int, int]:
        """Extents in ggml order (ne[0] fastest), always four."""
        p = self._live()
        return (int(p.ne[0]), int(p.ne[1]), int(p.ne[2]), int(p.ne[3]))

    @property
    def nb(self) -> Tuple[int, int, int, int]:
        """Strides in bytes in ggml order, always four."""
        p = self._live()
        return (int(p.nb[0]), int(p.nb[1]), int(p.nb[2]), int(p.nb[3]))

    @property
    def ndim(self) -> int:
        """Number of numpy axes: the rank the tensor was made with (``(1, 256)`` has 2, ``()``
        has 0), or numpy's rule for an op's result; tensors made in C (graph files) have
        ggml_n_dims axes. Never fewer than the axes whose extent is not 1."""
        p = self._live()
        n = int(lib.ggml_n_dims(p))
        rank = self._ctx._ranks.get(self._addr)
        if rank is None:
            return n
        if rank == 0 and int(lib.ggml_nelements(p)) == 1:
            return 0
        return max(rank, n)

    @property
    def shape(self) -> Tuple[int, ...]:
        """Numpy-order shape: the reversed ne over ``ndim`` axes, leading extents of 1 kept
        (``ctx.tensor(np.float32, (1, 256)).shape == (1, 256)``)."""
        ne = self.ne
        return tuple(reversed(ne[: self.ndim]))

    @property
    def strides(self) -> Tuple[int, ...]:
        """Numpy-order strides in bytes (reversed nb)."""
        nb = self.nb
        return tuple(reversed(nb[: self.ndim]))

    @property
    def type(self) -> str:
        """The ggml type name: "f32", "f16", "bf16", "i32", "q8_0", ..."""
        return type_name(self._live().type)

    @property
    def dtype(self) -> Optional["np.dtype[Any]"]:
        """The numpy dtype that numpy() returns (float32 for bf16; None for quantized types)."""
        return numpy_dtype(int(self._live().type))

    @property
    def nbytes(self) -> int:
        """ggml_nbytes: bytes the tensor spans."""
        return int(lib.ggml_nbytes(self._live()))

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(lib.ggml_nelements(self._live()))

    @property
    def name(self) -> str:
        """The tensor's name ('' if none); settable with a str (cut to 63 bytes at a character
        boundary; ArgumentTypeError for a non-str, BadInputError for a NUL in it)."""
        return ffi.string(self._live().name).decode("utf-8", "replace")

    @name.setter
    def name(self, value: str) -> None:
        lib.ggml_set_name(self._live(), _lib.c_name(value, "a tensor name", int(lib.GGML_MAX_NAME)))

    @property
    def op(self) -> str:
        """The op's name as ggml_op_name prints it: "NONE", "ADD", "MUL_MAT", "UNARY", ..."""
        return _lib.string(lib.ggml_op_name(self._live().op))

    @property
    def unary_op(self) -> Optional[str]:
        """For a UNARY node the unary op's name ("GELU", ...), else None."""
        p = self._live()
        if int(p.op) != int(lib.GGML_OP_UNARY):
            return None
        return _lib.string(lib.ggml_unary_op_name(lib.ggml_get_unary_op(p)))

    @property
    def op_params(self) -> Tuple[int, ...]:
        """The op's 16 parameter words (int32)."""
        p = self._live()
        return tuple(int(p.op_params[i]) for i in range(int(lib.GGML_MAX_OP_PARAMS) // 4))

    @property
    def src(self) -> List["Tensor"]:
        """The sources, in order (empty slots before a used one are None)."""
        p = self._live()
        out: List[Any] = [None if p.src[i] == ffi.NULL else self._ctx._wrap_any(p.src[i])
                          for i in range(int(lib.GGML_MAX_SRC))]
        while out and out[-1] is None:
            out.pop()
        return out

    @property
    def view_src(self) -> Optional["Tensor"]:
        """The tensor this one is a view of, or None."""
        p = self._live()
        return None if p.view_src == ffi.NULL else self._ctx._wrap_any(p.view_src)

    @property
    def view_offs(self) -> int:
        """Byte offset into view_src."""
        return int(self._live().view_offs)

    @property
    def flags(self) -> int:
        """The flag bits (GGML_TENSOR_FLAG_*)."""
        return int(self._live().flags)

    @property
    def is_input(self) -> bool:
        """True when flagged an input (set_input)."""
        return bool(self.flags & int(lib.GGML_TENSOR_FLAG_INPUT))

    @property
    def is_output(self) -> bool:
        """True when flagged an output (set_output)."""
        return bool(self.flags & int(lib.GGML_TENSOR_FLAG_OUTPUT))

    @property
    def is_external(self) -> bool:
        """True when the tensor's memory is provided outside the graph allocator."""
        return bool(self.flags & int(lib.GGALLOC_TENSOR_FLAG_EXTERNAL))

    @property
    def is_view(self) -> bool:
        """True when the tensor is a view of another (view_src)."""
        return self._live().view_src != ffi.NULL

    @property
    def is_contiguous(self) -> bool:
        """ggml_is_contiguous (axes of extent 1 do not count)."""
        return bool(lib.ggml_is_contiguous(self._live()))

    @property
    def is_transposed(self) -> bool:
        """ggml_is_transposed: nb[0] > nb[1]."""
        return bool(lib.ggml_is_transposed(self._live()))

    @property
    def is_permuted(self) -> bool:
        """ggml_is_permuted: the strides are not in ggml order."""
        return bool(lib.ggml_is_permuted(self._live()))

    def set_input(self) -> "Tensor":
        """Marks the tensor an input of its graphs (placed first, never overwritten before use)."""
        lib.ggml_set_input(self._live())
        return self

    def set_output(self) -> "Tensor":
        """Marks the tensor an output (never freed or overwritten by the allocator)."""
        lib.ggml_set_output(self._live())
        return self

    def set_param(self) -> "Tensor":
        """Marks the tensor a trainable parameter."""
        lib.ggml_set_param(self._live())
        return self

    @property
    def external(self) -> bool:
        """True when the tensor's memory is provided outside the graph allocator
        (GGALLOC_TENSOR_FLAG_EXTERNAL; see set_external). Read-only."""
        return bool(int(self._live().flags) & int(lib.GGALLOC_TENSOR_FLAG_EXTERNAL))

    def set_external(self, on: bool = True) -> "Tensor":
        """Marks (or, with on=False, unmarks) the tensor's memory as provided outside the graph
        allocator, like weights kept in a buffer of their own: allocators leave it alone even
        while it has no data, and compute refuses it until it has some. Returns self.

            >>> w = wctx.tensor("f16", (768, 768), name="w").set_external()   # plan without weights
        """
        p = self._live()
        flag = int(lib.GGALLOC_TENSOR_FLAG_EXTERNAL)
        p.flags = (int(p.flags) | flag) if on else (int(p.flags) & ~flag)
        return self

    # placement ----------------------------------------------------------------------------

    @property
    def is_allocated(self) -> bool:
        """True when the tensor has live memory."""
        p = self._live()
        if p.data == ffi.NULL:
            return False
        owner = self._owner()
        return owner is not None and owner.alive()

    @property
    def buffer(self) -> Optional[Any]:
        """What holds the tensor's data: a Buffer, a GraphAllocator or the (allocating) Context;
        None when unplaced or placed by something outside the package."""
        owner = self._owner()
        if owner is None or not owner.alive():
            return None
        return owner.public()

    @property
    def offset(self) -> Optional[int]:
        """Bytes from the start of its backend buffer to the tensor's data (None if unplaced)."""
        p = self._live()
        if p.data == ffi.NULL or p.buffer == ffi.NULL or not self.is_allocated:
            return None
        base = int(ffi.cast("uintptr_t", lib.ggml_backend_buffer_get_base(p.buffer)))
        return int(ffi.cast("uintptr_t", p.data)) - base

    @property
    def is_host(self) -> bool:
        """True when the tensor's data is in host memory (array() works)."""
        p = self._data()
        return p.buffer == ffi.NULL or bool(lib.ggml_backend_buffer_is_host(p.buffer))

    # data ---------------------------------------------------------------------------------

    def _np_layout(self, raw: bool) -> Tuple[Any, bool]:
        tid = int(self._ptr.type)
        if tid == _BF16:
            return np.dtype(np.uint16), not raw
        dt = _NUMPY_OF.get(tid)
        if dt is None:
            if raw:
                return np.dtype(np.uint8), False
            raise BadInputError(f"tensor {self._label()} has type {type_name(tid)}, which has no numpy "
                                "dtype and no dequantizer here: use raw=True for its bytes")
        return dt, False

    def _quantized(self, raw: bool, write: bool = False) -> bool:
        """True when numpy() (write=False) / set() (write=True) go through the dequantizer /
        quantizer (a quantized type, raw=False). The activation formats (q8_1, q8_K) have a
        quantizer and, as in ggml, no dequantizer."""
        tid = int(self._ptr.type)
        if raw or not lib.ggml_is_quantized(tid):
            return False
        tt = lib.ggml_get_type_traits(tid)
        if (tt.from_float_ref if write else tt.to_float) == ffi.NULL:
            raise BadInputError(f"tensor {self._label()} has type {type_name(tid)}, which cannot be "
                                f"{'quantized' if write else 'dequantized'} here: use raw=True for its bytes")
        return True

    def _block_shape(self) -> Tuple[int, ...]:
        """The shape of a quantized tensor's blocks as uint8 rows: shape[:-1] + (row bytes,)."""
        shape = self.shape
        last = shape[-1] if shape else 1
        return tuple(shape[:-1]) + (int(lib.ggml_row_size(self._ptr.type, last)),)

    def _read_bytes(self, p: Any, nbytes: int) -> "np.ndarray[Any, Any]":
        tmp = np.empty(nbytes, dtype=np.uint8)
        if nbytes:
            if p.buffer != ffi.NULL:
                _lib.status(lib.ggalloc_backend_tensor_get, p, ffi.from_buffer(tmp), 0, nbytes,
                            what=f"cannot read tensor {self._label()}")
            else:
                ffi.memmove(ffi.from_buffer(tmp), p.data, nbytes)
        return tmp

    @_using_memory
    def numpy(self, raw: bool = False) -> "np.ndarray[Any, Any]":
        """A copy of the tensor's data as a numpy array of shape ``self.shape``.

        bf16 tensors give float32 (raw=True: the uint16 bits); quantized tensors give their
        values dequantized to float32 (raw=True: their blocks, uint8 of shape
        ``shape[:-1] + (row bytes,)``).  ``y.numpy()``
        """
        p = self._data()
        if lib.ggml_is_quantized(p.type):
            if not lib.ggml_is_contiguous(p):
                raise BadInputError(f"numpy() of the non-contiguous quantized tensor {self._label()}: use gg.cont first")
            blocks = self._read_bytes(p, int(lib.ggml_nbytes(p))).reshape(self._block_shape())
            if self._quantized(raw):
                from .quant import dequantize_rows
                return dequantize_rows(int(p.type), blocks).reshape(self.shape)
            return blocks
        dt, to_f32 = self._np_layout(raw)
        nbytes = int(lib.ggml_nbytes(p))
        tmp = self._read_bytes(p, nbytes)
        if dt == np.uint8 and int(p.type) not in _NUMPY_OF and int(p.type) != _BF16:
            return tmp
        arr = np.ndarray(self.shape, dtype=dt, buffer=tmp, strides=self.strides).copy() if nbytes else \
            np.zeros(self.shape, dtype=dt)
        return _bf16_to_f32(arr) if to_f32 else arr

    def array(self, raw: bool = False) -> "np.ndarray[Any, Any]":
        """A zero-copy numpy view of the tensor's data in host memory, with the tensor's strides.

        The view keeps the memory alive. For a tensor placed by a GraphAllocator it is valid
        until that allocator re-plans for another graph (which raises while views exist).
        bf16 tensors need raw=True (uint16 bits). ``y.array()[0, :4]``
        """
        p = self._data()
        if p.buffer != ffi.NULL and not lib.ggml_backend_buffer_is_host(p.buffer):
            raise GgallocError(f"tensor {self._label()} is in device memory: use numpy() for a copy")
        if lib.ggml_is_quantized(p.type) and not raw:
            raise BadInputError(f"tensor {self._label()} is quantized ({self.type}), which numpy cannot view: use "
                                "array(raw=True) for its blocks or numpy() for a float32 copy")
        dt, to_f32 = self._np_layout(raw)
        if to_f32:
            raise BadInputError(f"tensor {self._label()} is bf16, which numpy cannot view: use array(raw=True) "
                                "for the uint16 bits or numpy() for a float32 copy")
        owner = self._owner()
        keep = owner.keepalive() if owner is not None else None
        if keep is None:
            keep = self._ctx._h
        shape, strides = self.shape, self.strides
        if lib.ggml_is_quantized(p.type):
            # the blocks of each row as bytes
            shape, strides = self._block_shape(), tuple(strides[:-1]) + (1,)
        view = _HostView(int(ffi.cast("uintptr_t", p.data)), shape, strides, dt, keep)
        if owner is not None:
            owner.track_view(view)
        return np.asarray(view)

    @_using_memory
    def set(self, arr: Any, raw: bool = False) -> "Tensor":
        """Copies a numpy array into the tensor. The array must have the tensor's numpy dtype and
        shape (up to leading 1s) and be C-contiguous (bf16: float32, rounded to nearest even; raw=True: uint16 bits).

            >>> x.set(np.ones((3, 4), np.float32))
        """
        p = self._data()
        if lib.ggml_is_quantized(p.type):
            return self._set_quantized(p, arr, raw)
        dt, to_bf16 = self._np_layout(raw)
        shape = self.shape
        if not isinstance(arr, np.ndarray):
            raise BadInputError(f"set() of tensor {self._label()} expects a numpy array of dtype "
                                f"{np.dtype(np.float32) if to_bf16 else dt} and shape {shape}, got {type(arr).__name__}")
        want = np.dtype(np.float32) if to_bf16 else dt
        if arr.dtype != want:
            raise BadInputError(f"set() of tensor {self._label()} ({self.type}) expects dtype {want}, got {arr.dtype} "
                                f"(convert with arr.astype(np.{want.name}))")
        if _padded(arr.shape) != _padded(shape) and not (dt == np.uint8 and arr.ndim == 1 and arr.size == self.nbytes):
            raise BadInputError(f"set() of tensor {self._label()} expects shape {shape}, got {tuple(arr.shape)}")
        if not arr.flags.c_contiguous:
            raise BadInputError(f"set() of tensor {self._label()} expects a C-contiguous array "
                                "(use np.ascontiguousarray(arr))")
        if to_bf16:
            arr = _f32_to_bf16(arr)
        arr = arr.reshape(shape) if arr.ndim <= MAX_DIMS and dt != np.uint8 else arr
        if lib.ggml_is_contiguous(p):
            n = arr.nbytes
            if p.buffer != ffi.NULL:
                _lib.status(lib.ggalloc_backend_tensor_set, p, ffi.from_buffer(arr), 0, n,
                          what=f"cannot write tensor {self._label()}")
            else:
                ffi.memmove(p.data, ffi.from_buffer(arr), n)
        elif self.is_host:
            self.array(raw=True if int(p.type) == _BF16 else raw)[...] = arr
        else:
            raise BadInputError(f"set() of the non-contiguous tensor {self._label()} needs host memory")
        return self

    def _set_quantized(self, p: Any, arr: Any, raw: bool) -> "Tensor":
        """set() of a quantized tensor: float32 values quantized with the type's reference
        quantizer, or (raw=True) its blocks as uint8 (block shape, or flat of nbytes)."""
        shape = self.shape
        if not lib.ggml_is_contiguous(p):
            raise BadInputError(f"set() of the non-contiguous quantized tensor {self._label()}")
        if not isinstance(arr, np.ndarray):
            raise BadInputError(f"set() of tensor {self._label()} expects a numpy array, got {type(arr).__name__}")
        if self._quantized(raw, write=True):
            if arr.dtype != np.float32:
                raise BadInputError(f"set() of tensor {self._label()} ({self.type}) expects float32 values to quantize, "
                                    f"got {arr.dtype} (raw=True takes its uint8 blocks)")
            if _padded(arr.shape) != _padded(shape):
                raise BadInputError(f"set() of tensor {self._label()} expects shape {shape}, got {tuple(arr.shape)}")
            from .quant import quantize_rows
            data = quantize_rows(int(p.type), arr.reshape(shape))
        else:
            if arr.dtype != np.uint8:
                raise BadInputError(f"set(raw=True) of tensor {self._label()} ({self.type}) expects uint8 blocks, got {arr.dtype}")
            if _padded(arr.shape) != _padded(self._block_shape()) and not (arr.ndim == 1 and arr.size == self.nbytes):
                raise BadInputError(f"set(raw=True) of tensor {self._label()} expects blocks of shape {self._block_shape()} "
                                    f"(or {self.nbytes} bytes), got {tuple(arr.shape)}")
            data = np.ascontiguousarray(arr)
        n = int(lib.ggml_nbytes(p))
        if data.nbytes != n:
            raise BadInputError(f"set() of tensor {self._label()}: {data.nbytes} bytes for a tensor of {n}")
        if p.buffer != ffi.NULL:
            _lib.status(lib.ggalloc_backend_tensor_set, p, ffi.from_buffer(data), 0, n, what=f"cannot write tensor {self._label()}")
        else:
            ffi.memmove(p.data, ffi.from_buffer(data), n)
        return self

    # python protocol ----------------------------------------------------------------------

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> "np.ndarray[Any, Any]":
        """numpy's array protocol: ``np.asarray(t)`` is a zero-copy view of a host tensor's data
        (as :meth:`array`), and a copy (as :meth:`numpy`) for device memory, bf16 or when
        ``copy=True``; ``dtype`` converts."""
        p = self._data()
        view = (copy is not True and int(p.type) in _NUMPY_OF and
                (p.buffer == ffi.NULL or bool(lib.ggml_backend_buffer_is_host(p.buffer))))
        arr = self.array() if view else self.numpy()
        if dtype is not None and np.dtype(dtype) != arr.dtype:
            if copy is False:
                raise BadInputError(f"tensor {self._label()} ({self.type}) cannot become {np.dtype(dtype)} "
                                    "without a copy (copy=False)")
            arr = arr.astype(dtype)
        return arr

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return isinstance(other, Tensor) and self._addr == other._addr

    def __hash__(self) -> int:
        return hash(self._addr)

    def __repr__(self) -> str:
        if self._ctx._closed:
            return "Tensor(<closed context>)"
        parts = [repr(self.type), repr(self.shape)]
        if self.name:
            parts.append(f"name={self.name!r}")
        op = self.op
        if op != "NONE":
            parts.append(f"op={(self.unary_op or op)!r}")
        if self.is_view:
            parts.append(f"view_of={self.view_src.name or '?'!r}")  # type: ignore[union-attr]
        flags = [f for f, bit in (("input", 1), ("output", 2), ("param", 4)) if self.flags & bit]
        if self.is_external:
            flags.append("external")
        if flags:
            parts.append(f"flags={flags!r}")
        try:
            placed = self.is_allocated
        except GgallocError:
            placed = False
        if placed:
            owner = self._owner()
            where = owner.label() if owner is not None else "host"
            off = self.offset
            parts.append(f"buffer={where!r}" + (f", offset={off}" if off is not None else ""))
        return f"Tensor({', '.join(parts)})"

    # numpy's operators over ggml's ops: a Tensor or a Python/numpy scalar on either side
    # where ggml has the op; anything else raises UnsupportedOperationError saying what works.

    def __add__(self, other: Any) -> "Tensor":
        if _is_scalar(other):
            return _op(lib.ggml_scale_bias, "add", self, 1.0, float(other))
        return _broadcast(lib.ggml_add, "add", self, other, commutes=True)

    __radd__ = __add__

    def __sub__(self, other: Any) -> "Tensor":
        if _is_scalar(other):
            return _op(lib.ggml_scale_bias, "sub", self, 1.0, -float(other))
        return _broadcast(lib.ggml_sub, "sub", self, other, commutes=False)

    def __rsub__(self, other: Any) -> "Tensor":
        if _is_scalar(other):
            return _op(lib.ggml_scale_bias, "sub", self, -1.0, float(other))
        return _unsupported("-", other, self)

    def __mul__(self, other: Any) -> "Tensor":
        if _is_scalar(other):
            return _op(lib.ggml_scale, "mul", self, float(other))
        return _broadcast(lib.ggml_mul, "mul", self, other, commutes=True)

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "Tensor":
        if _is_scalar(other):
            if float(other) == 0.0:
                raise BadInputError("division of a tensor by zero")
            return _op(lib.ggml_scale, "div", self, 1.0 / float(other))
        return _broadcast(lib.ggml_div, "div", self, other, commutes=False)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return _unsupported("/", other, self)

    def __matmul__(self, other: Any) -> "Tensor":
        if not isinstance(other, Tensor):
            return _unsupported("@", self, other)
        return _matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        return _unsupported("@", other, self)

    def __neg__(self) -> "Tensor":
        return _op(lib.ggml_neg, "neg", self)

    @property
    def T(self) -> "Tensor":
        """transpose(self): numpy's .T for 2-D tensors (a view)."""
        return _op(lib.ggml_transpose, "transpose", self)


class _ArenaMem(_memory.Owner):
    """The record of data in an allocating Context's own arena: alive while the context is."""

    __slots__ = ("ctx",)

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def alive(self) -> bool:
        return not self.ctx._closed

    def why(self) -> str:
        return "its Context was closed"

    def label(self) -> str:
        return "host"

    def keepalive(self) -> Any:
        return self.ctx._h

    def public(self) -> Any:
        return self.ctx

    def users(self) -> Tuple[Any, ...]:
        return (self.ctx,)


# ---------------------------------------------------------------------------------------------
# ops
#
# Every op takes a keyword ``ctx``: the Context that receives the new node's metadata, as
# ggml's ops take theirs explicitly. By default it is the context of the first tensor argument.


def _describe(x: Any) -> str:
    if isinstance(x, Tensor):
        try:
            return f"{x.type}{list(x.shape)}" + (f" {x.name!r}" if x.name else "")
        except GgallocError:
            return "<closed tensor>"
    return repr(x)


_TENSOR_PARAMS: Dict[str, Tuple[bool, ...]] = {}


def _tensor_params(fn: Any) -> Tuple[bool, ...]:
    """For each parameter of the C op after its context: whether it takes a tensor."""
    key = getattr(fn, "__name__", "")
    kinds = _TENSOR_PARAMS.get(key)
    if kinds is None:
        try:
            ctype = ffi.typeof(ffi.addressof(lib, key))
            kinds = tuple(a.cname == "struct ggml_tensor *" for a in ctype.args[1:])
        except (AttributeError, TypeError, ffi.error):
            kinds = ()
        _TENSOR_PARAMS[key] = kinds
    return kinds


def _op(fn: Any, name: str, *args: Any, ctx: Optional[Context] = None,
        rank: Union[int, Callable[[], int], None] = None) -> Tensor:
    """Builds one node: args are Tensors, None (an empty optional source) or scalars; the
    node's metadata goes into ctx, by default the context of the first tensor argument.

    The result's numpy rank is ``rank`` when the op decides it (a reshape to N axes, a full
    reduction); otherwise numpy's broadcasting rule: the largest rank among the tensor
    arguments, or more where ggml's result has more axes."""
    first: Optional[Context] = None
    cargs: List[Any] = []
    in_rank = 0
    kinds = _tensor_params(fn)
    for i, a in enumerate(args):
        if i < len(kinds) and kinds[i] != (isinstance(a, Tensor) or a is None):
            want = "a Tensor" if kinds[i] else "a number"
            raise ArgumentTypeError(f"{name}(): argument {i + 1} must be {want}, got {type(a).__name__} {_describe(a)}")
        if isinstance(a, Tensor):
            a._live()
            if first is None:
                first = a._ctx
            cargs.append(a._ptr)
            in_rank = max(in_rank, a.ndim)
        elif a is None:
            cargs.append(ffi.NULL)
        else:
            cargs.append(a)
    if first is None:
        raise BadInputError(f"{name}() needs at least one Tensor")
    if ctx is None:
        ctx = first
    elif not isinstance(ctx, Context):
        raise BadInputError(f"{name}(): ctx must be a Context, got {type(ctx).__name__}")
    h = ctx._check()
    what = f"cannot build {name}({', '.join(_describe(a) for a in args)})"
    p = _lib.new(fn, h, *cargs, exc=BadInputError, what=what)
    ctx._link(*args)
    t = ctx._wrap(p)
    ctx._set_rank(t, in_rank if rank is None else rank if isinstance(rank, int) else rank())
    return t


def _is_scalar(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _unsupported(symbol: str, a: Any, b: Any) -> Tensor:
    raise UnsupportedOperationError(
        f"unsupported operand types for {symbol}: {_describe(a)} and {_describe(b)}; tensors support "
        "t + x, t - x, t * x, t / x with x a tensor that broadcasts or a number, x + t, x - t, x * t, "
        "-t and t @ u")


def _broadcast(fn: Any, name: str, a: Tensor, b: Any, commutes: bool) -> Tensor:
    """a (op) b with numpy's broadcasting, where ggml broadcasts its second operand only."""
    if not isinstance(b, Tensor):
        return _unsupported({"add": "+", "sub": "-", "mul": "*", "div": "/"}[name], a, b)
    if lib.ggml_can_repeat(b._live(), a._live()):
        return _op(fn, name, a, b)
    if lib.ggml_can_repeat(a._ptr, b._ptr):
        if commutes:
            return _op(fn, name, b, a)
        if name == "sub":
            return _op(lib.ggml_neg, "neg", _op(fn, name, b, a))
    raise BadInputError(f"{name}: shapes {a.shape} and {b.shape} do not broadcast (ggml broadcasts a "
                        "tensor whose extents divide the other's)")


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """numpy's a @ b: ggml's mul_mat(x, y) is y @ x.T, so a @ b = mul_mat(b.T, a), with a 1-D
    operand promoted and its axis removed from the result as numpy does."""
    if a.ndim == 0 or b.ndim == 0:
        raise BadInputError("matmul: operands must have at least one axis (use * for scalars)")
    if b.ndim == 1:
        bt = _op(lib.ggml_reshape_2d, "reshape_2d", b, int(b.ne[0]), 1, rank=2)
    else:
        bt = _op(lib.ggml_cont, "cont", _op(lib.ggml_transpose, "transpose", b))
    y = _op(lib.ggml_mul_mat, "mul_mat", bt, a, rank=max(a.ndim, b.ndim, 2))
    if b.ndim == 1:
        y = _drop_axis(y, -1)
    if a.ndim == 1:
        y = _drop_axis(y, -2 if b.ndim > 1 else -1)
    return y


def _drop_axis(t: Tensor, axis: int) -> Tensor:
    """t with one numpy axis of extent 1 removed (a reshape, no copy)."""
    shape = list(t.shape)
    del shape[axis]
    fn = (lib.ggml_reshape_1d, lib.ggml_reshape_1d, lib.ggml_reshape_2d, lib.ggml_reshape_3d)[len(shape)]
    dims = list(reversed(shape)) or [1]
    return _op(fn, "reshape", t, *dims, rank=len(shape))


# ---------------------------------------------------------------------------------------------
# graphs


def _reach(outputs: Sequence[Tensor]) -> int:
    """Number of distinct tensors reachable from outputs through src and view_src."""
    seen: Set[int] = set()
    stack = [t._live() for t in outputs]
    while stack:
        p = stack.pop()
        a = int(ffi.cast("uintptr_t", p))
        if a in seen:
            continue
        seen.add(a)
        for i in range(int(lib.GGML_MAX_SRC)):
            if p.src[i] != ffi.NULL:
                stack.append(p.src[i])
        if p.view_src != ffi.NULL:
            stack.append(p.view_src)
    return len(seen)


class Graph(Closable):
    """A computation graph: ``ggml_build_forward_expand`` over the outputs, in order.

        >>> g = gg.Graph(y)          # g.nodes: the ops, in execution order; g.leafs: the rest

    ``node_buffer_ids`` / ``leaf_buffer_ids``: the buffer of each node / leaf as a graph file
    assigns them (``gg.load_graph``), for ``GraphAllocator.reserve_n``; None when it does not.
    The graph keeps the contexts of its tensors alive; closing one of them makes the graph
    unusable (ClosedError).
    """

    # the allocator or scheduler that placed the graph last (a Scheduler computes only what it placed)
    _placed_by: Optional["weakref.ReferenceType[Any]"] = None

    def __init__(self, *outputs: Tensor, size: Optional[int] = None) -> None:
        if len(outputs) == 1 and isinstance(outputs[0], (list, tuple)):
            outputs = tuple(outputs[0])
        for t in outputs:
            if not isinstance(t, Tensor):
                raise BadInputError(f"Graph() takes Tensors, got {type(t).__name__}")
        ctxs: List[Context] = []
        for t in outputs:
            t._live()
            for c in (t._ctx, *t._ctx._uses):
                if c not in ctxs:
                    ctxs.append(c)
        n = _reach(outputs)
        if size is not None:
            size = _lib.as_int(size, "graph size", 0, _lib.INT_MAX)
        if size is None:
            size = max(int(lib.GGML_DEFAULT_GRAPH_SIZE), n + 16)
        if size < n:
            raise BadInputError(f"a graph of size {size} cannot hold the {n} tensors these outputs reach")
        mem = int(lib.ggml_graph_overhead_custom(size, False)) + 1024
        params = ffi.new("struct ggml_init_params *")
        params.mem_size = mem
        params.no_alloc = True
        gctx = _lib.new(lib.ggml_init, params[0], exc=AllocationError, what="cannot create the graph's context")
        self._gctx: Any = ffi.gc(gctx, lib.ggml_free, size=mem)
        self._g: Any = _lib.new(lib.ggml_new_graph_custom, self._gctx, size, False, exc=AllocationError,
                                what=f"cannot create a graph of size {size}")
        self._ctxs: List[Context] = ctxs
        self._closed = False
        self._path: Optional[str] = None
        self.node_buffer_ids: Optional[List[int]] = None
        self.leaf_buffer_ids: Optional[List[int]] = None
        for t in outputs:
            self.expand(t)

    @classmethod
    def _adopt(cls, g: Any, ctx: Context, path: Optional[str] = None) -> "Graph":
        self = cls.__new__(cls)
        self._gctx = None
        self._g = g
        self._ctxs = [ctx]
        self._closed = False
        self._path = path
        self.node_buffer_ids = None
        self.leaf_buffer_ids = None
        return self

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the Graph was closed")
        for c in self._ctxs:
            if c._closed:
                raise ClosedError("a Context holding tensors of this Graph was closed")
            c._check()
        return self._g

    def close(self) -> None:
        """Frees the graph's own memory (not its tensors). Idempotent. Waits for a compute of the
        graph in another thread to return."""
        if self._closed:
            return
        with _memory.hold(exclusive=[self]):
            self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._gctx is not None:
            ffi.release(self._gctx)
            self._gctx = None
        self._g = None

    @property
    def context(self) -> Context:
        """The context of the graph's tensors (the first, when there are several)."""
        self._live()
        return self._ctxs[0]

    def _ptrs(self) -> List[Any]:
        """The leaf and node pointers, leafs first (no Python wrappers: for per-call checks)."""
        g = self._live()
        nodes = lib.ggml_graph_nodes(g)
        return ([lib.ggalloc_graph_leaf(g, i) for i in range(int(lib.ggalloc_graph_n_leafs(g)))] +
                [nodes[i] for i in range(int(lib.ggml_graph_n_nodes(g)))])

    _mem_ptrs = _ptrs

    def _mem_tables(self) -> List[_memory.Table]:
        """The owner tables of the graph's contexts (_memory.Holder)."""
        return [c._table for c in self._ctxs]

    def _contexts(self) -> List[Context]:
        return list(self._ctxs)

    def _wrap(self, p: Any) -> Tensor:
        addr = int(ffi.cast("uintptr_t", p))
        for c in self._ctxs:
            if c._contains(addr):
                return c._wrap(p)
        return self._ctxs[0]._wrap_any(p)

    def expand(self, t: Tensor) -> "Graph":
        """Adds t and everything it depends on (ggml_build_forward_expand)."""
        _lib.expect(t, Tensor, "expand()'s argument")
        g = self._live()
        t._live()
        for c in (t._ctx, *t._ctx._uses):
            if c not in self._ctxs:
                self._ctxs.append(c)
        _lib.void(lib.ggml_build_forward_expand, g, t._ptr, exc=GraphError,
                  what=f"cannot add {_describe(t)} to the graph")
        return self

    @property
    def n_nodes(self) -> int:
        """Number of nodes (ops)."""
        return int(lib.ggml_graph_n_nodes(self._live()))

    @property
    def n_leafs(self) -> int:
        """Number of leafs."""
        return int(lib.ggalloc_graph_n_leafs(self._live()))

    def __len__(self) -> int:
        return self.n_nodes

    @property
    def size(self) -> int:
        """How many nodes (and leafs) the graph can hold."""
        return int(lib.ggml_graph_size(self._live()))

    def node(self, i: int) -> Tensor:
        """Node i (negative counts from the end)."""
        i = _lib.as_index(i, self.n_nodes, "node")
        p = lib.ggml_graph_node(self._live(), i)
        if p == ffi.NULL:
            raise OutOfRangeError(f"node {i} out of range ({self.n_nodes} nodes)")
        return self._wrap(p)

    def leaf(self, i: int) -> Tensor:
        """Leaf i (negative counts from the end)."""
        i = _lib.as_index(i, self.n_leafs, "leaf")
        p = lib.ggalloc_graph_leaf(self._live(), i)
        if p == ffi.NULL:
            raise OutOfRangeError(f"leaf {i} out of range ({self.n_leafs} leafs)")
        return self._wrap(p)

    @property
    def nodes(self) -> List[Tensor]:
        """The nodes (ops), in execution order."""
        g = self._live()
        arr = lib.ggml_graph_nodes(g)
        return [self._wrap(arr[i]) for i in range(int(lib.ggml_graph_n_nodes(g)))]

    @property
    def leafs(self) -> List[Tensor]:
        """The leafs (tensors no op of the graph computes: inputs, weights, constants)."""
        g = self._live()
        return [self._wrap(lib.ggalloc_graph_leaf(g, i)) for i in range(int(lib.ggalloc_graph_n_leafs(g)))]

    def tensors(self) -> List[Tensor]:
        """Leafs, then nodes."""
        return self.leafs + self.nodes

    def _output_ptrs(self, limit: Optional[int] = None) -> List[Any]:
        """The pointers of the nodes flagged output (the first limit of them), found without
        wrapping every node."""
        g = self._live()
        arr = lib.ggml_graph_nodes(g)
        flag = int(lib.GGML_TENSOR_FLAG_OUTPUT)
        out = []
        for i in range(int(lib.ggml_graph_n_nodes(g))):
            p = arr[i]
            if p.flags & flag:
                out.append(p)
                if limit is not None and len(out) >= limit:
                    break
        return out

    @property
    def outputs(self) -> List[Tensor]:
        """Nodes flagged output."""
        return [self._wrap(p) for p in self._output_ptrs()]

    def get_tensor(self, name: str) -> Optional[Tensor]:
        """The node or leaf with that name, or None."""
        p = lib.ggml_graph_get_tensor(self._live(), _lib.as_str(name, "a tensor name").encode("utf-8", "replace"))
        return None if p == ffi.NULL else self._wrap(p)

    __getitem__ = node

    def reorder(self) -> "Graph":
        """Reorders the nodes, respecting dependencies, to lower the peak of live bytes."""
        _lib.ok(lib.ggalloc_graph_reorder, self._live(), exc=GraphError, what="cannot reorder the graph")
        return self

    def peak_bytes(self, alignment: int = 32) -> int:
        """The most bytes live at any step in the current node order (each tensor rounded up)."""
        return int(_lib.void(lib.ggalloc_graph_peak_bytes, self._live(), int(alignment), exc=GraphError,
                             what="cannot compute the graph's peak"))

    def save(self, path: Any, name: Optional[str] = None, node_buffer_ids: Optional[Sequence[int]] = None,
             leaf_buffer_ids: Optional[Sequence[int]] = None) -> None:
        """Writes the graph as a ggalloc.graph/1 JSON document, with the buffer of each node and
        leaf when given (as reserve_n takes them; else null). ``g.save("g.json")``"""
        from .graphio import save_graph
        if not isinstance(path, (str, bytes, os.PathLike)):
            raise ArgumentTypeError(f"save() takes a path (str, bytes or os.PathLike), got {type(path).__name__}")
        if name is not None:
            _lib.as_str(name, "the graph's name")
        target: Any = path
        save_graph(self, target, name, node_buffer_ids, leaf_buffer_ids)

    def print(self) -> None:
        """Logs the nodes and leafs (logger "ggalloc", level INFO)."""
        lib.ggml_graph_print(self._live())

    def __repr__(self) -> str:
        if self._closed or any(c._closed for c in self._ctxs):
            return "Graph(<closed>)"
        # repr goes into the text of every call's error message: it wraps no more than it shows
        outs = [_lib.string(p.name) or _lib.string(lib.ggml_op_name(p.op)) for p in self._output_ptrs(4)]
        src = f", path={self._path!r}" if self._path else ""
        return f"Graph(n_nodes={self.n_nodes}, n_leafs={self.n_leafs}, outputs={outs!r}{src})"


def ggml_type_names() -> List[str]:
    """Every ggml type name the library knows."""
    return sorted(_TYPE_IDS)
