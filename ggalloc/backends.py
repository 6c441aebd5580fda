"""Backends that run graphs: the CPU (always) and Vulkan (when the package was built with it).

    >>> cpu = gg.CPUBackend(n_threads=2)
    >>> galloc = gg.GraphAllocator(cpu.buffer_type)
    >>> galloc.alloc_graph(g)
    >>> cpu.compute(g)                 # ComputeError (naming the node) if it cannot run
    >>> y.numpy()

``gg.HAS_VULKAN`` says whether Vulkan was compiled in; ``gg.vulkan_devices()`` lists its
devices (empty without it).

Threads. In Python, any object may be used from several threads:

- computes on one backend run one at a time (``compute`` of a second thread waits for the
  first); a Scheduler's compute also holds each of its backends;
- ``close()`` of anything a running compute uses (the backend or scheduler, the graph, the
  contexts of its tensors, a Buffer or GraphAllocator holding their memory) waits until that
  compute returns, and so do ``alloc_graph``/``reserve`` on that allocator or graph; afterwards
  the computing thread's next use raises ClosedError. Called from the computing thread itself
  (a log handler), such a close raises ClosedError instead of waiting for itself;
- computes on different backends run in parallel, also on one graph (the results are then
  the last writer's: give each thread its own graph and allocator).

In C, as in ggml, a backend, a graph allocator, a scheduler and a graph are used by one
thread at a time (the caller serialises); different objects may be used from different
threads at once, and the log callback may be called from a backend's worker threads.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from . import _lib, _memory
from ._lib import HAS_VULKAN, Closable, ffi, lib
from .alloc import Buffer, BufferType
from .core import Graph, Tensor
from .errors import BadInputError, ClosedError, ComputeError, DeviceError

__all__ = ["Backend", "CPUBackend", "VulkanBackend", "vulkan_devices", "vulkan_buffer_type", "devices",
           "cpu_isa", "set_cpu_isa", "HAS_VULKAN"]


class Backend(Closable):
    """A backend: runs graphs whose tensors live in memory it can read. Subclasses make it."""

    _h: Any = None
    _closed: bool = False

    def _live(self) -> Any:
        if self._closed or self._h is None:
            raise ClosedError(f"the {type(self).__name__} was closed")
        return self._h

    def close(self) -> None:
        """Frees the backend (its threads, its device queue). Idempotent. Waits for a compute
        running on it in another thread to return."""
        if self._closed:
            return
        with _memory.hold(exclusive=[self]):
            self._closed = True
            self._h = None

    @property
    def name(self) -> str:
        """The backend's name ("CPU", "Vulkan0", ...)."""
        return _lib.string(lib.ggml_backend_name(self._live()))

    @property
    def buffer_type(self) -> BufferType:
        """The backend's default buffer type."""
        return BufferType(lib.ggml_backend_get_default_buffer_type(self._live()), keep=self)

    @property
    def alignment(self) -> int:
        """Alignment of the default buffer type, in bytes."""
        return int(lib.ggml_backend_get_alignment(self._live()))

    @property
    def max_size(self) -> Optional[int]:
        """Largest buffer of the default buffer type (None: no limit)."""
        v = int(lib.ggml_backend_get_max_size(self._live()))
        return None if v == int(ffi.cast("size_t", -1)) else v

    def alloc_buffer(self, size: int) -> Buffer:
        """A new buffer of the backend's default type."""
        return self.buffer_type.alloc_buffer(size)

    def supports_op(self, t: Tensor) -> bool:
        """Whether the backend can compute node t."""
        _lib.expect(t, Tensor, "supports_op()'s argument")
        return bool(lib.ggml_backend_supports_op(self._live(), t._live()))

    def supports_buffer_type(self, buft: BufferType) -> bool:
        """Whether the backend can compute on tensors in buffers of buft."""
        _lib.expect(buft, BufferType, "supports_buffer_type()'s argument")
        return bool(lib.ggml_backend_supports_buft(self._live(), buft._live()))

    def compute(self, g: Graph) -> None:
        """Runs the graph; returns when it is done. Raises ComputeError (naming the node) if the
        graph cannot run, ClosedError if memory of one of its tensors is gone.

        Threads: computes on one backend run one at a time (a second waits for the first);
        closing the backend, the graph, its contexts, or what holds its memory (a Buffer, a
        GraphAllocator) from another thread waits until the compute returns, and re-planning
        the graph or that allocator does too."""
        _lib.expect(g, Graph, "compute()'s argument")
        self._live()
        with _memory.computing(g, [self]):
            _lib.status(lib.ggml_backend_graph_compute, self._live(), g._live(), exc=ComputeError,
                        what=f"{self.name} cannot compute {g!r}")

    def synchronize(self) -> None:
        """Waits until queued work is done."""
        lib.ggml_backend_synchronize(self._live())

    def __repr__(self) -> str:
        if self._closed:
            return f"{type(self).__name__}(<closed>)"
        return f"{type(self).__name__}(name={self.name!r})"


class CPUBackend(Backend):
    """The CPU backend with its thread pool. ``gg.CPUBackend(n_threads=2)``

    n_threads: threads per compute (default: the machine's cores, at most 8).
    """

    def __init__(self, n_threads: Optional[int] = None) -> None:
        ptr = _lib.new(lib.ggml_backend_cpu_init, exc=DeviceError, what="cannot start the CPU backend")
        self._h = ffi.gc(ptr, lib.ggml_backend_free)
        self._closed = False
        self._n_threads = 0
        self.n_threads = n_threads if n_threads is not None else max(1, min(os.cpu_count() or 1, 8))

    @property
    def n_threads(self) -> int:
        """Threads used per compute (settable, >= 1)."""
        self._live()
        return self._n_threads

    @n_threads.setter
    def n_threads(self, n: int) -> None:
        n = _lib.as_int(n, "n_threads", 1, _lib.INT_MAX)
        lib.ggml_backend_cpu_set_n_threads(self._live(), n)
        self._n_threads = n

    def __repr__(self) -> str:
        if self._closed:
            return "CPUBackend(<closed>)"
        return f"CPUBackend(n_threads={self._n_threads})"


def cpu_isa() -> str:
    """The CPU kernel set in use: "scalar", "avx2", "avx512" or "neon"."""
    v = int(lib.ggalloc_cpu_get_isa())
    return {int(lib.GGALLOC_CPU_ISA_SCALAR): "scalar", int(lib.GGALLOC_CPU_ISA_AVX2): "avx2",
            int(lib.GGALLOC_CPU_ISA_AVX512): "avx512", int(lib.GGALLOC_CPU_ISA_NEON): "neon"}.get(v, "auto")


def set_cpu_isa(isa: str) -> None:
    """Forces a CPU kernel set ("auto", "scalar", "avx2", "avx512", "neon") for every CPU backend.

    DeviceError if this CPU cannot run it (neon exists only on arm64, the avx sets only on x86)."""
    keys = {"auto": "AUTO", "scalar": "SCALAR", "avx2": "AVX2", "avx512": "AVX512", "neon": "NEON"}
    key = keys.get(str(isa).lower())
    if key is None:
        raise BadInputError(f"unknown ISA {isa!r}: expected auto, scalar, avx2, avx512 or neon")
    _lib.ok(lib.ggalloc_cpu_set_isa, getattr(lib, "GGALLOC_CPU_ISA_" + key), exc=DeviceError,
            what=f"this CPU cannot run the {isa} kernels")


def devices() -> List[Dict[str, Any]]:
    """The devices of every built-in backend: name, description, type, memory."""
    out = []
    for i in range(int(lib.ggml_backend_dev_count())):
        d = lib.ggml_backend_dev_get(i)
        if d == ffi.NULL:
            continue
        free = ffi.new("size_t *")
        total = ffi.new("size_t *")
        lib.ggml_backend_dev_memory(d, free, total)
        t = int(lib.ggml_backend_dev_type(d))
        out.append({
            "index": i,
            "name": _lib.string(lib.ggml_backend_dev_name(d)),
            "description": _lib.string(lib.ggml_backend_dev_description(d)),
            "type": {int(lib.GGML_BACKEND_DEVICE_TYPE_CPU): "cpu", int(lib.GGML_BACKEND_DEVICE_TYPE_GPU): "gpu",
                     int(lib.GGML_BACKEND_DEVICE_TYPE_IGPU): "igpu"}.get(t, "accel"),
            "memory_free": int(free[0]),
            "memory_total": int(total[0]),
        })
    return out


def vulkan_devices() -> List[Dict[str, Any]]:
    """The Vulkan devices: index, description, memory_free, memory_total ([] without Vulkan)."""
    if not HAS_VULKAN:
        return []
    out = []
    with _lib.capture() as cap:
        n = int(lib.ggml_backend_vk_get_device_count())
    cap.flush()
    for i in range(n):
        desc = ffi.new("char[256]")
        lib.ggml_backend_vk_get_device_description(i, desc, 256)
        free = ffi.new("size_t *")
        total = ffi.new("size_t *")
        lib.ggml_backend_vk_get_device_memory(i, free, total)
        out.append({"index": i, "description": ffi.string(desc).decode("utf-8", "replace"),
                    "memory_free": int(free[0]), "memory_total": int(total[0])})
    return out


def _need_vulkan(device: int) -> None:
    if not HAS_VULKAN:
        raise DeviceError("ggalloc was built without Vulkan (it needs the Vulkan headers, libvulkan and glslc "
                          "at build time)")
    n = int(lib.ggml_backend_vk_get_device_count())
    if not 0 <= int(device) < n:
        raise DeviceError(f"no Vulkan device {device} ({n} found)")


def vulkan_buffer_type(device: int = 0) -> BufferType:
    """The buffer type of a Vulkan device (its real alignment and max allocation size)."""
    _need_vulkan(device)
    ptr = _lib.new(lib.ggml_backend_vk_buffer_type, int(device), exc=DeviceError,
                   what=f"no buffer type for Vulkan device {device}")
    return BufferType(ptr)


class VulkanBackend(Backend):
    """A Vulkan device. ``gg.VulkanBackend(0)``; DeviceError when Vulkan was not built or the
    device does not exist."""

    def __init__(self, device: int = 0) -> None:
        _need_vulkan(device)
        ptr = _lib.new(lib.ggml_backend_vk_init, int(device), exc=DeviceError,
                       what=f"cannot start Vulkan device {device}")
        self._h = ffi.gc(ptr, lib.ggml_backend_free)
        self._closed = False
        self._device = int(device)

    @property
    def device(self) -> int:
        """The Vulkan device index."""
        return self._device

    def __repr__(self) -> str:
        if self._closed:
            return "VulkanBackend(<closed>)"
        return f"VulkanBackend(device={self._device}, name={self.name!r})"

