"""GGUF files, ggml's model format: read (mapped, without copying the weights) and write.

    >>> f = gg.GGUF("model.gguf")
    >>> f.metadata["llama.block_count"]                  # Python values; numeric arrays as numpy
    >>> [(t.name, t.type, t.shape) for t in f.tensors]   # numpy-order shapes
    >>> w = f.tensor("output_norm.weight").numpy()       # a read-only view of the mapped file
    >>> f.tensor("output.weight").tensor                 # the same as a gg.Tensor, for graphs

    >>> w = gg.GGUFWriter()
    >>> w["general.architecture"] = "llama"              # str, bool, int (u32 / i64), float (f32)
    >>> w.set("llama.rope.freq_base", 10000.0, "f32")    # or an explicit GGUF type
    >>> w.add_tensor("token_embd.weight", np.zeros((32000, 4096), np.float16))
    >>> w.write("out.gguf")

The file is mapped privately: the weights of a large model cost no memory until they are read,
and nothing written through a tensor reaches the file. A file the reader rejects raises
:class:`ggalloc.BadFileError` with the reader's one-line reason; a file that cannot be opened,
:class:`ggalloc.FileError`.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib, _memory
from ._lib import Closable, ffi, lib
from .core import Context, Tensor, _HostView, numpy_dtype, type_id, type_name
from .errors import ArgumentTypeError, BadFileError, BadInputError, ClosedError, FileError, GgallocError, NotFoundError

__all__ = ["GGUF", "GGUFTensor", "GGUFWriter", "gguf_type_names"]

PathLike = Union[str, "os.PathLike[str]"]

# GGUF value types by the C library's names ("u8", ..., "str", "arr")
_GGUF_TYPES: Dict[str, int] = {}
for _i in range(int(lib.GGUF_TYPE_COUNT)):
    _p = lib.gguf_type_name(_i)
    if _p != ffi.NULL:
        _GGUF_TYPES[ffi.string(_p).decode()] = _i
_STR = int(lib.GGUF_TYPE_STRING)
_ARR = int(lib.GGUF_TYPE_ARRAY)
_BOOL = int(lib.GGUF_TYPE_BOOL)

# how numpy holds each fixed-size value type (bools are one byte in the file)
_NUMPY_OF_GGUF = {
    "u8": np.uint8, "i8": np.int8, "u16": np.uint16, "i16": np.int16, "u32": np.uint32, "i32": np.int32,
    "f32": np.float32, "bool": np.uint8, "u64": np.uint64, "i64": np.int64, "f64": np.float64,
}
_NUMPY_OF: Dict[int, Any] = {_GGUF_TYPES[k]: np.dtype(v) for k, v in _NUMPY_OF_GGUF.items()}
_GGUF_OF_NUMPY = {np.dtype(v): k for k, v in _NUMPY_OF_GGUF.items() if k != "bool"}


def gguf_type_names() -> List[str]:
    """The GGUF value type names: "u8", "i8", ..., "str", "arr"."""
    return list(_GGUF_TYPES)


def _fspath(path: PathLike) -> str:
    try:
        p = os.fspath(path)
    except TypeError:
        raise ArgumentTypeError(f"a path must be a str, bytes or os.PathLike, got {type(path).__name__}") from None
    return p if isinstance(p, str) else os.fsdecode(p)


class _Mapping(_memory.Owner):
    """The mapped file as the owner of the tensors' data: tensors of the file keep it mapped,
    numpy views of them too."""

    __slots__ = ("h", "path", "__weakref__")

    def __init__(self, h: Any, path: str) -> None:
        self.h = h
        self.path = path

    def alive(self) -> bool:
        return self.h is not None

    def why(self) -> str:
        return f"the GGUF file {self.path!r} was closed"

    def keepalive(self) -> Any:
        return self


class GGUFTensor:
    """One tensor record of a GGUF file: ``name``, ``type`` (ggml type name), ``dtype`` (the
    numpy dtype of its values), ``shape`` (numpy order), ``offset`` (bytes from the start of the
    data section), ``nbytes``."""

    __slots__ = ("_file", "_id", "name", "type", "shape", "offset", "nbytes")

    def __init__(self, file: "GGUF", tid: int, name: str, type: str, shape: Tuple[int, ...], offset: int,
                 nbytes: int) -> None:
        self._file = file
        self._id = tid
        self.name = name
        self.type = type
        self.shape = shape
        self.offset = offset
        self.nbytes = nbytes

    def __repr__(self) -> str:
        return f"GGUFTensor({self.name!r}, {self.type}, shape={self.shape}, offset={self.offset})"

    @property
    def dtype(self) -> "np.dtype[Any]":
        """The numpy dtype :meth:`numpy` gives (float32 for bf16 and quantized types)."""
        dt = numpy_dtype(type_id(self.type))
        return dt if dt is not None else np.dtype(np.float32)

    def _ptr(self) -> Any:
        g = self._file._check()
        p = lib.ggalloc_gguf_get_tensor_data(g, self._id)
        if p == ffi.NULL and self.nbytes > 0:
            raise GgallocError(f"tensor {self.name!r}: the file {self._file.path!r} holds no tensor data "
                               "(it was written with only the metadata)")
        return p

    @property
    def tensor(self) -> Tensor:
        """The tensor as a :class:`ggalloc.Tensor` of :attr:`GGUF.context` (its data in the
        mapped file, or none for a file of metadata only), to use in graphs."""
        t = self._file.context.get_tensor(self.name)
        if t is None:  # pragma: no cover - the context has every record
            raise GgallocError(f"tensor {self.name!r} is missing from the file's context")
        return t

    def numpy(self) -> "np.ndarray[Any, Any]":
        """The values: a read-only view of the mapped file for types numpy has (f32, f16,
        integers, f64), a float32 copy for bf16, and a dequantized float32 copy for quantized
        types (where the library has the type's dequantizer)."""
        p = self._ptr()
        tid = type_id(self.type)
        dt = numpy_dtype(tid)
        if dt is None or dt.itemsize != int(lib.ggml_type_size(tid)) or int(lib.ggml_blck_size(tid)) != 1:
            return self.tensor.numpy()   # bf16 and quantized types: a float32 copy
        strides = []
        step = dt.itemsize
        for s in reversed(self.shape):
            strides.append(step)
            step *= s
        view = _HostView(int(ffi.cast("uintptr_t", p)), self.shape, tuple(reversed(strides)), dt,
                         self._file._mapping.keepalive(), readonly=True)
        return np.asarray(view)

    def raw(self) -> "np.ndarray[Any, Any]":
        """The bytes of the tensor as stored (for any type), a read-only uint8 view."""
        p = self._ptr()
        view = _HostView(int(ffi.cast("uintptr_t", p)), (self.nbytes,), (1,), np.dtype(np.uint8),
                         self._file._mapping.keepalive(), readonly=True)
        return np.asarray(view)


class GGUF(Closable):
    """A GGUF file, mapped. ``gg.GGUF(path)``; ``close()`` (or ``with``) unmaps it once
    nothing uses its tensors.

    Attributes:
        path, version, alignment, data_offset (bytes before the data section),
        data_size (bytes of the data section the records describe),
        has_data (False for a file written with only the metadata),
        metadata (dict key -> value), tensors (list of :class:`GGUFTensor`),
        context (the :class:`ggalloc.Context` of the tensors).
    """

    def __init__(self, path: PathLike) -> None:
        self.path = _fspath(path)
        self._closed = True
        if not os.path.exists(self.path):
            raise FileError(f"cannot open GGUF file {self.path!r}: no such file")
        bpath = os.fsencode(self.path)
        mf = _lib.new(lib.ggalloc_mapped_file_new, bpath, exc=FileError, what=f"cannot map {self.path!r}")
        self._mapping = _Mapping(ffi.gc(mf, lib.ggalloc_mapped_file_free), self.path)
        ctxp = ffi.new("struct ggml_context **")
        params = ffi.new("struct gguf_init_params *")
        params.no_alloc = False
        params.ctx = ctxp
        g = _lib.new(lib.ggalloc_gguf_init_from_mapped_file, mf, params[0], exc=BadFileError,
                     what=f"{self.path!r} is not a GGUF file ggalloc can read")
        self._h = ffi.gc(g, lib.gguf_free)
        self.context = Context._adopt(ctxp[0])
        self._closed = False
        self.version = int(lib.gguf_get_version(g))
        self.alignment = int(lib.gguf_get_alignment(g))
        self.data_offset = int(lib.gguf_get_data_offset(g))
        self.data_size = int(lib.ggalloc_gguf_get_data_size(g))
        self.metadata: Dict[str, Any] = {}
        for i in range(int(lib.gguf_get_n_kv(g))):
            key = ffi.string(lib.gguf_get_key(g, i)).decode("utf-8")
            self.metadata[key] = self._value(g, i)
        self.tensors: List[GGUFTensor] = []
        ne = ffi.new("int64_t[4]")
        nd = ffi.new("int *")
        for i in range(int(lib.gguf_get_n_tensors(g))):
            lib.ggalloc_gguf_get_tensor_shape(g, i, ne, nd)
            shape = tuple(int(ne[d]) for d in reversed(range(int(nd[0]))))
            self.tensors.append(GGUFTensor(self, i, ffi.string(lib.gguf_get_tensor_name(g, i)).decode("utf-8"),
                                           type_name(int(lib.gguf_get_tensor_type(g, i))), shape,
                                           int(lib.gguf_get_tensor_offset(g, i)), int(lib.gguf_get_tensor_size(g, i))))
        self._by_name = {t.name: t for t in self.tensors}
        self.has_data = all(lib.ggalloc_gguf_get_tensor_data(g, t._id) != ffi.NULL for t in self.tensors
                            if t.nbytes > 0)
        # the tensors' data is the mapping's: they (and numpy views of them) keep it mapped
        for t in self.context.tensors():
            if t._ptr.data != ffi.NULL:
                _memory.register(t, t._ptr, self._mapping)

    @staticmethod
    def _value(g: Any, i: int) -> Any:
        t = int(lib.gguf_get_kv_type(g, i))
        if t == _STR:
            return ffi.string(lib.gguf_get_val_str(g, i)).decode("utf-8", "replace")
        if t == _ARR:
            at = int(lib.gguf_get_arr_type(g, i))
            n = int(lib.gguf_get_arr_n(g, i))
            if at == _STR:
                return [ffi.string(lib.gguf_get_arr_str(g, i, k)).decode("utf-8", "replace") for k in range(n)]
            dt = _NUMPY_OF[at]
            arr = np.frombuffer(ffi.buffer(lib.gguf_get_arr_data(g, i), n * dt.itemsize), dtype=dt).copy()
            return arr.astype(bool) if at == _BOOL else arr
        dt = _NUMPY_OF[t]
        v = np.frombuffer(ffi.buffer(lib.gguf_get_val_data(g, i), dt.itemsize), dtype=dt)[0].item()
        return bool(v) if t == _BOOL else v

    def value_type(self, key: str) -> str:
        """The GGUF type name of a key's value ("u32", "str", ...; "arr[f32]" for arrays)."""
        g = self._check()
        i = int(lib.gguf_find_key(g, _lib.as_str(key, "a key").encode("utf-8")))
        if i < 0:
            raise NotFoundError(f"no key {key!r} in {self.path!r}")
        t = int(lib.gguf_get_kv_type(g, i))
        name = ffi.string(lib.gguf_type_name(t)).decode()
        if t == _ARR:
            name += "[" + ffi.string(lib.gguf_type_name(lib.gguf_get_arr_type(g, i))).decode() + "]"
        return name

    def _check(self) -> Any:
        if self._closed:
            raise ClosedError(f"the GGUF file {self.path!r} was closed")
        return self._h

    def tensor(self, name: str) -> GGUFTensor:
        """The tensor record of that name (KeyError if there is none)."""
        self._check()
        try:
            return self._by_name[_lib.as_str(name, "a tensor name")]
        except KeyError:
            raise NotFoundError(f"no tensor {name!r} in {self.path!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[GGUFTensor]:
        return iter(self.tensors)

    @property
    def architecture(self) -> Optional[str]:
        """``general.architecture`` (None if the file does not say)."""
        v = self.metadata.get("general.architecture")
        return v if isinstance(v, str) else None

    def weight_bytes(self) -> Dict[str, Tuple[int, int]]:
        """Per ggml type: (number of tensors, bytes) of the tensor data the file describes."""
        out: Dict[str, Tuple[int, int]] = {}
        for t in self.tensors:
            n, b = out.get(t.type, (0, 0))
            out[t.type] = (n + 1, b + t.nbytes)
        return out

    def save(self, path: PathLike, only_meta: bool = False) -> None:
        """Writes the file again (the same bytes, for a file this library or ggml wrote)."""
        fpath = _fspath(path)
        _lib.ok(lib.gguf_write_to_file, self._check(), os.fsencode(fpath), bool(only_meta), exc=FileError,
                what=f"cannot write {fpath!r}")

    def close(self) -> None:
        """Releases the file; the mapping stays until the tensors and views that use it are gone.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._h = None
        self.context.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self.metadata)} keys, {len(self.tensors)} tensors"
        return f"GGUF({self.path!r}, {self.architecture or '?'}: {state})"


class GGUFWriter(Closable):
    """Builds a GGUF file: key-value pairs and tensors, then :meth:`write`.

    Values: ``w[key] = value`` infers the type (bool -> bool, int -> u32 when it fits else i64,
    float -> f32, str -> str, a list of str -> an array of str, a numpy array -> an array of its
    dtype); ``w.set(key, value, type)`` names it ("u8" ... "f64", "bool", "str", or "arr[f32]").
    Tensors: ``add_tensor(name, array)`` with a numpy array (f32, f16, i8/i16/i32/i64, f64),
    or ``add_tensor(name, raw_bytes, type="q8_0", shape=(rows, cols))`` for any ggml type.
    The data is copied when added."""

    def __init__(self) -> None:
        self._h = ffi.gc(_lib.new(lib.gguf_init_empty, exc=GgallocError), lib.gguf_free)
        self._ctx = Context()
        self._keep: List[Any] = []
        self._closed = False

    def _check(self) -> Any:
        if self._closed:
            raise ClosedError("the GGUFWriter was closed")
        return self._h

    def __setitem__(self, key: str, value: Any) -> None:
        self.set(key, value)

    def set(self, key: str, value: Any, type: Optional[str] = None) -> "GGUFWriter":
        """Sets a key (replacing its value; the key then comes last). Returns self."""
        g = self._check()
        k = _lib.as_str(key, "a key").encode("utf-8")
        if type is None:
            type = self._infer(key, value)
        if type.startswith("arr[") and type.endswith("]"):
            et = type[4:-1]
            if et == "str":
                items = [ffi.new("char[]", str(s).encode("utf-8")) for s in value]
                arr = ffi.new("const char *[]", items) if items else ffi.NULL
                _lib.void(lib.gguf_set_arr_str, g, k, arr, len(items), exc=BadInputError, what=f"cannot set {key!r}")
                return self
            if et not in _NUMPY_OF_GGUF:
                raise BadInputError(f"{key!r}: unknown GGUF array element type {et!r}; "
                                    f"types: {', '.join(_NUMPY_OF_GGUF)}, str")
            a = np.ascontiguousarray(np.asarray(value), dtype=_NUMPY_OF_GGUF[et])
            _lib.void(lib.gguf_set_arr_data, g, k, _GGUF_TYPES[et], ffi.from_buffer(a) if a.size else ffi.NULL,
                      a.size, exc=BadInputError, what=f"cannot set {key!r}")
            return self
        if type == "str":
            _lib.void(lib.gguf_set_val_str, g, k, str(value).encode("utf-8"), exc=BadInputError,
                      what=f"cannot set {key!r}")
            return self
        setter = getattr(lib, f"gguf_set_val_{type}", None) if type in _NUMPY_OF_GGUF else None
        if setter is None:
            raise BadInputError(f"{key!r}: unknown GGUF type {type!r}; types: {', '.join(_NUMPY_OF_GGUF)}, str, "
                                "arr[<type>]")
        try:
            v = bool(value) if type == "bool" else (float(value) if type in ("f32", "f64") else int(value))
            if type not in ("bool", "f32", "f64"):
                info = np.iinfo(np.dtype(_NUMPY_OF_GGUF[type]).type)  # type: ignore[type-var]
                if not info.min <= v <= info.max:
                    raise OverflowError
        except (TypeError, ValueError, OverflowError):
            raise BadInputError(f"{key!r}: {value!r} is not a {type} value") from None
        _lib.void(setter, g, k, v, exc=BadInputError, what=f"cannot set {key!r}")
        return self

    @staticmethod
    def _infer(key: str, value: Any) -> str:
        if isinstance(value, (bool, np.bool_)):
            return "bool"
        if isinstance(value, (int, np.integer)):
            return "u32" if 0 <= int(value) < 2 ** 32 else "i64"
        if isinstance(value, (float, np.floating)):
            return "f32"
        if isinstance(value, str):
            return "str"
        if isinstance(value, np.ndarray):
            if value.dtype == np.bool_:
                return "arr[bool]"
            if value.dtype not in _GGUF_OF_NUMPY:
                raise BadInputError(f"{key!r}: numpy dtype {value.dtype} has no GGUF array type")
            return f"arr[{_GGUF_OF_NUMPY[value.dtype]}]"
        if isinstance(value, (list, tuple)):
            if all(isinstance(v, str) for v in value):
                return "arr[str]"
            if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
                return "arr[i32]"
            if all(isinstance(v, (int, float, np.integer, np.floating)) for v in value):
                return "arr[f32]"
        raise BadInputError(f"{key!r}: cannot tell the GGUF type of {type(value).__name__} {value!r}: "
                            "use set(key, value, type)")

    def remove(self, key: str) -> bool:
        """Removes a key; True if it was there."""
        return int(lib.gguf_remove_key(self._check(), _lib.as_str(key, "a key").encode("utf-8"))) >= 0

    def add_tensor(self, name: str, data: Any, type: Optional[str] = None,
                   shape: Optional[Sequence[int]] = None) -> "GGUFWriter":
        """Adds a tensor record and its data (copied). ``data`` is a numpy array whose dtype
        gives the type, or (with ``type`` and ``shape``) the raw bytes of any ggml type."""
        g = self._check()
        if type is None:
            arr = np.ascontiguousarray(data)
            type = type_name(type_id(arr.dtype))
            shape = arr.shape
            raw = arr.reshape(-1).view(np.uint8)
        else:
            if shape is None:
                raise BadInputError(f"tensor {name!r}: raw data of type {type} needs its shape")
            raw = np.frombuffer(bytes(data) if not isinstance(data, np.ndarray) else
                                np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
        t = self._ctx.tensor(type, tuple(shape), name=name)
        if raw.size != t.nbytes:
            raise BadInputError(f"tensor {name!r}: {raw.size} bytes of data for a {type} tensor of shape "
                                f"{tuple(shape)}, which takes {t.nbytes}")
        if int(lib.gguf_find_tensor(g, name.encode("utf-8"))) >= 0:
            raise BadInputError(f"tensor {name!r} was already added")
        raw = raw.copy()
        self._keep.append(raw)
        _lib.void(lib.gguf_add_tensor, g, t._live(), exc=BadInputError, what=f"cannot add tensor {name!r}")
        _lib.void(lib.gguf_set_tensor_data, g, name.encode("utf-8"), ffi.from_buffer(raw) if raw.size else ffi.NULL,
                  exc=BadInputError, what=f"cannot set the data of {name!r}")
        return self

    @property
    def meta_size(self) -> int:
        """Bytes of the metadata as written (padded to the alignment)."""
        return int(lib.gguf_get_meta_size(self._check()))

    def write(self, path: PathLike, only_meta: bool = False) -> None:
        """Writes the file (only_meta: without the tensor data)."""
        fpath = _fspath(path)
        _lib.ok(lib.gguf_write_to_file, self._check(), os.fsencode(fpath), bool(only_meta), exc=FileError,
                what=f"cannot write {fpath!r}")

    def close(self) -> None:
        """Frees the writer. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._h = None
        self._keep = []
        self._ctx.close()
