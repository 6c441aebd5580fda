"""Devices of other machines through ggml's RPC protocol: a machine runs an RPC server (ggml's
own ``rpc-server``, or ggalloc's: ``python3 -m ggalloc rpc-server HOST:PORT`` or
:class:`RPCServer`), and a client uses its device as a backend whose memory lives there.

    >>> srv = gg.RPCServer("127.0.0.1:0")              # ggalloc's server, serving the CPU
    >>> rpc = gg.RPCBackend(srv.endpoint)               # or "192.168.1.7:50052"
    >>> galloc = gg.GraphAllocator(rpc.buffer_type)     # planned with the server's alignment and max size
    >>> galloc.alloc_graph(g); x.set(data); rpc.compute(g); y.numpy()

A server that cannot be reached, that speaks another protocol version, or that goes away
raises :class:`DeviceError` (naming the endpoint and the request) within the timeouts set by
:func:`set_rpc_timeouts`, never a hang.
"""

from __future__ import annotations

import time
from typing import Any, List, Optional, Sequence, Tuple

from . import _lib
from ._lib import Closable, ffi, lib
from .alloc import BufferType
from .backends import Backend, CPUBackend
from .errors import BadInputError, ClosedError, DeviceError

__all__ = ["RPCBackend", "RPCServer", "rpc_buffer_type", "rpc_device_memory", "set_rpc_timeouts", "serve"]


def _endpoint(endpoint: str) -> bytes:
    if not isinstance(endpoint, str) or ":" not in endpoint:
        raise BadInputError(f"an RPC endpoint is \"host:port\", not {endpoint!r}")
    return endpoint.encode()


def _device(device: int) -> int:
    device = int(device)
    if device < 0 or device > 0xFFFFFFFF:
        raise BadInputError(f"device must be in [0, 2**32), got {device}")
    return device


def rpc_buffer_type(endpoint: str, device: int = 0) -> BufferType:
    """The buffer type of a remote device: its alignment, max size and allocation sizes are the
    server's. Raises DeviceError if the server cannot be asked."""
    p = _lib.new(lib.ggml_backend_rpc_buffer_type, _endpoint(endpoint), _device(device), exc=DeviceError,
                 what=f"no RPC device {device} at {endpoint}")
    return BufferType(p)  # lives as long as the process


def rpc_device_memory(endpoint: str, device: int = 0) -> Tuple[int, int]:
    """(free, total) bytes of the remote device. Raises DeviceError if the server cannot be asked."""
    free = ffi.new("size_t *")
    total = ffi.new("size_t *")
    _lib.new(lib.ggml_backend_rpc_add_server, _endpoint(endpoint), exc=DeviceError,
             what=f"cannot reach the RPC server at {endpoint}")
    lib.ggml_backend_rpc_get_device_memory(_endpoint(endpoint), _device(device), free, total)
    if int(total[0]) == 0:
        raise DeviceError(f"the RPC server at {endpoint} did not report device {device}'s memory")
    return int(free[0]), int(total[0])


def set_rpc_timeouts(connect_ms: Optional[int] = None, io_ms: Optional[int] = None) -> None:
    """The client's timeouts in milliseconds: for connecting, and for each wait for the server
    (a graph computation included). None keeps the current value (defaults 5000 and 120000)."""
    c = 0 if connect_ms is None else int(connect_ms)
    i = 0 if io_ms is None else int(io_ms)
    if c < 0 or i < 0:
        raise BadInputError("timeouts must be positive")
    lib.ggalloc_rpc_set_timeouts(c, i)


class RPCBackend(Backend):
    """A backend on device ``device`` of the RPC server at ``endpoint`` ("host:port").

    ``gg.RPCBackend("127.0.0.1:50052")``; usable wherever a backend is (a GraphAllocator over
    its ``buffer_type``, ``compute``). Raises DeviceError if the server cannot be reached.
    """

    def __init__(self, endpoint: str, device: int = 0) -> None:
        ptr = _lib.new(lib.ggml_backend_rpc_init, _endpoint(endpoint), _device(device), exc=DeviceError,
                       what=f"cannot use RPC device {device} at {endpoint}")
        self._h = ffi.gc(ptr, lib.ggml_backend_free)
        self._closed = False
        self._endpoint = endpoint
        self._device = int(device)

    @property
    def endpoint(self) -> str:
        """The server's "host:port"."""
        return self._endpoint

    @property
    def device(self) -> int:
        """The device's index on its server."""
        return self._device

    @property
    def buffer_type(self) -> BufferType:
        """The remote device's buffer type (the server's alignment and max size)."""
        self._live()
        return rpc_buffer_type(self._endpoint, self._device)

    def memory(self) -> Tuple[int, int]:
        """(free, total) bytes of the remote device."""
        self._live()
        return rpc_device_memory(self._endpoint, self._device)

    def __repr__(self) -> str:
        if self._closed:
            return "RPCBackend(<closed>)"
        return f"RPCBackend({self._endpoint!r}, device={self._device})"


class RPCServer(Closable):
    """ggalloc's RPC server on a thread of its own, serving backends to any client of ggml's
    RPC protocol (ggml programs, llama.cpp's ``--rpc``, :class:`RPCBackend`).

    endpoint: "host:port" to listen at (port 0: one the system chooses, see ``.port``).
    backends: the backends served as devices 0, 1, ... (default: a new CPUBackend); the server
    keeps them alive. memory_limit: the most bytes one client may hold (default: no limit).
    ``close()`` (or the end of a ``with`` block) stops it within about 100 ms.
    """

    def __init__(self, endpoint: str = "127.0.0.1:0", backends: Optional[Sequence[Backend]] = None,
                 memory_limit: Optional[int] = None) -> None:
        self._closed = True
        bes: List[Backend] = list(backends) if backends is not None else [CPUBackend()]
        if not bes:
            raise BadInputError("an RPC server needs at least one backend")
        arr = ffi.new("ggml_backend_t[]", [b._live() for b in bes])
        ptr = _lib.new(lib.ggalloc_rpc_server_start, _endpoint(endpoint), arr, len(bes), exc=DeviceError,
                       what=f"cannot serve at {endpoint}")
        self._h: Any = ffi.gc(ptr, lib.ggalloc_rpc_server_free)
        self._backends = bes
        self._host = endpoint.rsplit(":", 1)[0]
        self._closed = False
        if memory_limit is not None:
            if int(memory_limit) < 0:
                raise BadInputError(f"memory_limit must be >= 0, got {memory_limit}")
            lib.ggalloc_rpc_server_set_memory_limit(self._h, int(memory_limit))

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the RPCServer was closed")
        return self._h

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(lib.ggalloc_rpc_server_port(self._live()))

    @property
    def endpoint(self) -> str:
        """"host:port" for clients."""
        return f"{self._host}:{self.port}"

    def close(self) -> None:
        """Stops serving and frees what clients left. Idempotent."""
        if not self._closed:
            self._closed = True
            ffi.release(self._h)  # runs ggalloc_rpc_server_free now
            self._h = None

    def __repr__(self) -> str:
        if self._closed:
            return "RPCServer(<closed>)"
        return f"RPCServer({self.endpoint!r}, devices={[b.name for b in self._backends]})"


def serve(endpoint: str, n_threads: Optional[int] = None) -> None:
    """Serves the CPU at endpoint until interrupted (Ctrl-C): what ``python3 -m ggalloc
    rpc-server HOST:PORT`` runs."""
    with RPCServer(endpoint, [CPUBackend(n_threads=n_threads)]) as srv:
        print(f"ggalloc RPC server: serving the CPU at {srv.endpoint} (protocol 5.1.0)", flush=True)
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
