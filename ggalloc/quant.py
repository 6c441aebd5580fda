"""Quantized types: ggml's table of types, and numpy arrays quantized to and from their blocks.

    >>> gg.type_info("q4_K")
    TypeInfo(name='q4_K', id=12, block_size=256, type_size=144, bits_per_weight=4.5, ...)
    >>> q = gg.quantize(np.random.rand(4, 512).astype(np.float32), "q4_0")   # (4, 288) uint8
    >>> y = gg.dequantize(q, "q4_0")                                           # (4, 512) float32

The bytes are ggml's (the library's reference quantizers, ``ggml_quantize_chunk``), so blocks
written here load in ggml and the other way round. Quantized tensors take float32 in
``Tensor.set`` (quantized on the way in) and give float32 from ``Tensor.numpy()``
(dequantized); ``raw=True`` reads and writes the blocks themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Union

import numpy as np

from . import _lib
from ._lib import ffi, lib
from .core import DTypeLike, type_name, type_of
from .errors import BadInputError

__all__ = ["TypeInfo", "type_info", "type_infos", "quantize", "dequantize"]


@dataclass(frozen=True)
class TypeInfo:
    """One ggml type: its name and id, a block of ``block_size`` elements takes ``type_size``
    bytes; ``can_quantize`` / ``can_dequantize`` tell whether this library has the type's
    reference quantizer / dequantizer (the others are known by layout only)."""

    name: str
    id: int
    block_size: int
    type_size: int
    bits_per_weight: float
    is_quantized: bool
    can_quantize: bool
    can_dequantize: bool
    needs_imatrix: bool


def _traits(tid: int) -> Any:
    return lib.ggml_get_type_traits(tid)


def type_info(dtype: Union[DTypeLike, int]) -> TypeInfo:
    """The block layout of a type, by name (``"q4_k"``, any case), numpy dtype or id."""
    tid = type_of(dtype)
    tt = _traits(tid)
    blck, size = int(tt.blck_size), int(tt.type_size)
    can_q = tt.from_float_ref != ffi.NULL or tid in (int(lib.GGML_TYPE_F32),)
    return TypeInfo(name=type_name(tid), id=tid, block_size=blck, type_size=size,
                    bits_per_weight=8.0 * size / blck, is_quantized=bool(tt.is_quantized),
                    can_quantize=bool(can_q) and bool(tt.is_quantized),
                    can_dequantize=tt.to_float != ffi.NULL and bool(tt.is_quantized),
                    needs_imatrix=bool(lib.ggml_quantize_requires_imatrix(tid)))


def type_infos() -> List[TypeInfo]:
    """Every type of ggml's enum, in id order."""
    out = []
    for tid in range(int(lib.GGML_TYPE_COUNT)):
        if lib.ggml_type_name(tid) != ffi.NULL:
            out.append(type_info(tid))
    return out


def _quantized_info(dtype: Union[DTypeLike, int], what: str) -> TypeInfo:
    info = type_info(dtype)
    if not info.is_quantized:
        raise BadInputError(f"{what}: {info.name} is not a quantized type")
    return info


def quantize_rows(tid: int, x: "np.ndarray[Any, Any]", imatrix: Any = None) -> "np.ndarray[Any, Any]":
    """Rows of float32 (the last axis, a multiple of the block size) into blocks:
    uint8 of shape ``x.shape[:-1] + (row_bytes,)``; imatrix: None or one weight per column."""
    info = type_info(tid)
    imat = ffi.NULL
    if imatrix is not None:
        im = np.ascontiguousarray(imatrix, dtype=np.float32)
        if im.ndim != 1 or x.ndim == 0 or im.shape[0] != x.shape[-1]:
            raise BadInputError(f"quantize to {info.name}: imatrix must be one weight per column "
                                f"({x.shape[-1] if x.ndim else 0}), got shape {im.shape}")
        if not info.can_dequantize:
            raise BadInputError(f"quantize to {info.name}: an activation format takes no importance matrix")
        imat = ffi.cast("const float *", ffi.from_buffer(im))
    if x.ndim == 0 or x.shape[-1] % info.block_size != 0:
        raise BadInputError(f"quantize to {info.name}: the last axis ({x.shape[-1] if x.ndim else 0}) must be a "
                            f"multiple of the block size {info.block_size}")
    if not info.can_quantize:
        raise BadInputError(f"quantize to {info.name}: no quantizer for this type here"
                            + (" (it needs an importance matrix)" if info.needs_imatrix else ""))
    x = np.ascontiguousarray(x, dtype=np.float32)
    n_per_row = int(x.shape[-1])
    nrows = int(x.size // n_per_row) if n_per_row else 0
    row_bytes = n_per_row // info.block_size * info.type_size
    out = np.zeros(x.shape[:-1] + (row_bytes,), dtype=np.uint8)
    if nrows and n_per_row and not info.can_dequantize:
        # the activation formats (q8_1, q8_K): ggml_quantize_chunk does not take them (nor does
        # ggml's), their traits' reference quantizer does; rows are whole blocks, so one call
        fn = _traits(tid).from_float_ref
        fn(ffi.cast("const float *", ffi.from_buffer(x)), ffi.from_buffer(out), int(x.size))
    elif nrows and n_per_row:
        src = ffi.cast("const float *", ffi.from_buffer(x))
        done = _lib.void(lib.ggml_quantize_chunk, tid, src, ffi.from_buffer(out), 0, nrows, n_per_row, imat,
                         exc=BadInputError, what=f"cannot quantize to {info.name}")
        if int(done) != out.nbytes:
            raise BadInputError(f"cannot quantize to {info.name}")
    return out


def dequantize_rows(tid: int, blocks: "np.ndarray[Any, Any]") -> "np.ndarray[Any, Any]":
    """Rows of blocks (uint8, the last axis a whole number of blocks) into float32 rows."""
    info = type_info(tid)
    if not info.can_dequantize:
        raise BadInputError(f"dequantize from {info.name}: no dequantizer for this type here")
    if blocks.dtype != np.uint8 or blocks.ndim == 0 or blocks.shape[-1] % info.type_size != 0:
        raise BadInputError(f"dequantize from {info.name}: expected uint8 blocks whose last axis is a multiple of "
                            f"{info.type_size} bytes, got {blocks.dtype} of shape {blocks.shape}")
    blocks = np.ascontiguousarray(blocks)
    n_per_row = blocks.shape[-1] // info.type_size * info.block_size
    out = np.empty(blocks.shape[:-1] + (n_per_row,), dtype=np.float32)
    if out.size:
        fn = _traits(tid).to_float
        fn(ffi.from_buffer(blocks), ffi.cast("float *", ffi.from_buffer(out)), int(out.size))
    return out


def quantize(array: Any, dtype: Union[DTypeLike, int], imatrix: Any = None) -> "np.ndarray[Any, Any]":
    """Quantizes a float array along its last axis with ggml's reference quantizer: uint8 blocks of
    shape ``array.shape[:-1] + (row_bytes,)``. ``gg.quantize(w, "q4_0")``

    ``imatrix`` (one weight per column, ggml_quantize_chunk's importance matrix): q4_0, q5_0,
    q4_1 and q5_1 fit each block by weighted least squares under it; types that ignore one in
    ggml (q8_0, ...) ignore it; the others raise."""
    info = _quantized_info(dtype, "quantize")
    x = np.asarray(array)
    if x.dtype.kind != "f":
        raise BadInputError(f"quantize expects a float array, got {x.dtype}")
    return quantize_rows(info.id, x.astype(np.float32, copy=False), imatrix)


def dequantize(blocks: Any, dtype: Union[DTypeLike, int]) -> "np.ndarray[Any, Any]":
    """float32 values of uint8 blocks (what ``quantize`` or ``Tensor.numpy(raw=True)`` give) of a
    quantized type. ``gg.dequantize(q, "q4_0")``"""
    info = _quantized_info(dtype, "dequantize")
    return dequantize_rows(info.id, np.asarray(blocks))
