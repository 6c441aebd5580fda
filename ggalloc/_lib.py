"""The one module that owns the cffi ``ffi`` and ``lib`` of the extension ``ggalloc._ggalloc``.

Every C call that can fail goes through one of the helpers here, which collect what the C
library logs during the call (its log callback is routed here) and turn a failure into an
exception carrying that text:

    ptr = new(lib.ggml_new_tensor_1d, ctx, t, n, exc=BadInputError, what="cannot create tensor")
    ok(lib.ggml_gallocr_reserve, galloc, graph, exc=AllocationError, what="reserve failed")
    _check(lib.ggml_backend_graph_compute(backend, graph), "compute failed")

Messages logged at ERROR or WARN during a call are collected for that call; when the call fails
they become the exception's text, when it succeeds they go to ``logging.getLogger("ggalloc")``.
Every other message (INFO, DEBUG) goes to that logger directly.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, List, Optional, Tuple, Type, TypeVar

from .errors import (AllocationError, ArgumentTypeError, BadInputError, ComputeError, GgallocError, OutOfRangeError,
                     ValueOverflowError)

try:
    from ._ggalloc import ffi, lib  # type: ignore[import-not-found]
except ImportError as _e:  # pragma: no cover - depends on the build
    raise ImportError(
        "the ggalloc C extension (ggalloc._ggalloc) is missing or cannot be loaded (" + str(_e) + "); "
        "build it with `make python` (python3 setup.py build_ext --inplace) or `pip install .`") from _e

__all__ = ["ffi", "lib", "logger", "HAS_VULKAN", "new", "ok", "void", "status", "_check", "capture"]

logger = logging.getLogger("ggalloc")

HAS_VULKAN: bool = bool(lib.GGALLOC_PY_VULKAN)

_LEVELS = {
    int(lib.GGML_LOG_LEVEL_DEBUG): logging.DEBUG,
    int(lib.GGML_LOG_LEVEL_INFO): logging.INFO,
    int(lib.GGML_LOG_LEVEL_WARN): logging.WARNING,
    int(lib.GGML_LOG_LEVEL_ERROR): logging.ERROR,
}
_ERROR = int(lib.GGML_LOG_LEVEL_ERROR)
_WARN = int(lib.GGML_LOG_LEVEL_WARN)
_CONT = int(lib.GGML_LOG_LEVEL_CONT)


class _Capture:
    """The ERROR/WARN messages logged during one C call: [level, text] pairs."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: List[List[Any]] = []

    def add(self, level: int, text: str) -> None:
        if level == _CONT:
            if self.records:
                self.records[-1][1] += text
            return
        self.records.append([level, text])

    @property
    def has_error(self) -> bool:
        return any(r[0] == _ERROR for r in self.records)

    def texts(self) -> List[str]:
        return [r[1].strip() for r in self.records if r[1].strip()]

    def flush(self) -> None:
        for level, text in self.records:
            if text.strip():
                logger.log(_LEVELS.get(level, logging.INFO), "%s", text.rstrip())
        self.records.clear()


_tls = threading.local()
# Captures of every Python thread that is inside a C call, newest last: messages logged by the
# library's own threads (compute workers) go to the newest.
_active: List[_Capture] = []
# The level of the last message routed to logging directly, so that CONT lines keep it, and
# the capture the last message went to (None: logging).
_last_direct_level = [logging.INFO]
_last_sink: List[Optional[_Capture]] = [None]
# A message without its line end, logged once it is complete.
_partial: List[Optional[Tuple[int, str]]] = [None]


def _log_direct(py_level: int, text: str) -> None:
    if text.strip() and logger.isEnabledFor(py_level):
        logger.log(py_level, "%s", text.rstrip())


def _route(level: int, text: str) -> None:
    cap: Optional[_Capture] = getattr(_tls, "capture", None)
    if cap is None and _active:
        cap = _active[-1]
    if level == _CONT:
        # a continuation goes where the message it continues went
        if cap is not None and _last_sink[0] is cap:
            cap.add(level, text)
            return
        if _partial[0] is not None:
            py_level, head = _partial[0]
            text = head + text
        else:
            py_level = _last_direct_level[0]
    elif cap is not None and level in (_ERROR, _WARN):
        cap.add(level, text)
        _last_sink[0] = cap
        return
    else:
        if _partial[0] is not None:
            _log_direct(*_partial[0])
        py_level = _LEVELS.get(level, logging.INFO)
        _last_direct_level[0] = py_level
    _last_sink[0] = None
    _partial[0] = None
    if text and not text.endswith("\n"):
        _partial[0] = (py_level, text)    # completed by a CONT message or the next message
        return
    _log_direct(py_level, text)


@ffi.def_extern()
def _ggalloc_py_log(level: Any, text: Any, user_data: Any) -> None:
    try:
        msg = ffi.string(text).decode("utf-8", "replace") if text != ffi.NULL else ""
        _route(int(level), msg)
    except BaseException:  # pragma: no cover - nothing may propagate into C
        pass


lib.ggml_log_set(lib._ggalloc_py_log, ffi.NULL)


class capture:
    """Context manager collecting the ERROR/WARN messages of the C calls made inside it.

        with capture() as cap:
            lib.ggml_set_name(t, b"x")
        cap.texts()
    """

    def __enter__(self) -> _Capture:
        self._cap = _Capture()
        self._prev = getattr(_tls, "capture", None)
        _tls.capture = self._cap
        _active.append(self._cap)
        return self._cap

    def __exit__(self, *exc: Any) -> None:
        _tls.capture = self._prev
        try:
            _active.remove(self._cap)
        except ValueError:  # pragma: no cover
            pass


def _call(fn: Callable[..., Any], args: Tuple[Any, ...]) -> Tuple[Any, _Capture]:
    with capture() as cap:
        try:
            result = fn(*args)
        except OverflowError as e:
            raise ValueOverflowError(f"{_fn_name(fn)}: a value does not fit its C type ({e})") from None
        except TypeError as e:
            raise ArgumentTypeError(f"{_fn_name(fn)}: an argument has the wrong type ({e})") from None
    return result, cap


def _fn_name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", "call")


def _fail(cap: _Capture, exc: Type[GgallocError], what: str) -> GgallocError:
    texts = cap.texts()
    cap.records.clear()
    return exc(what, texts)


def new(fn: Callable[..., Any], *args: Any, exc: Type[GgallocError] = GgallocError, what: str = "") -> Any:
    """Calls a C function that returns a pointer; raises exc if it returns NULL."""
    r, cap = _call(fn, args)
    if r == ffi.NULL:
        raise _fail(cap, exc, what or f"{getattr(fn, '__name__', 'call')} failed")
    cap.flush()
    return r


def ok(fn: Callable[..., Any], *args: Any, exc: Type[GgallocError] = GgallocError, what: str = "") -> Any:
    """Calls a C function that returns bool; raises exc if it returns false."""
    r, cap = _call(fn, args)
    if not r:
        raise _fail(cap, exc, what or f"{getattr(fn, '__name__', 'call')} failed")
    cap.flush()
    return r


def void(fn: Callable[..., Any], *args: Any, exc: Type[GgallocError] = GgallocError, what: str = "") -> Any:
    """Calls a C function whose only way to fail is to log an error; raises exc if it did."""
    r, cap = _call(fn, args)
    if cap.has_error:
        raise _fail(cap, exc, what or f"{getattr(fn, '__name__', 'call')} failed")
    cap.flush()
    return r


def _check(st: int, what: str = "the call failed", exc: Type[GgallocError] = ComputeError,
           log: Optional[List[str]] = None) -> None:
    """Raises unless st is GGML_STATUS_SUCCESS: AllocationError for ALLOC_FAILED, else exc."""
    st = int(st)
    if st == int(lib.GGML_STATUS_SUCCESS):
        return
    name = ffi.string(lib.ggml_status_to_string(st)).decode()
    cls: Type[GgallocError] = exc
    if st == int(lib.GGML_STATUS_ALLOC_FAILED):
        cls = AllocationError
    raise cls(f"{what} (status {name})", log)


def status(fn: Callable[..., Any], *args: Any, exc: Type[GgallocError] = ComputeError, what: str = "") -> None:
    """Calls a C function that returns enum ggml_status; raises unless it succeeded."""
    r, cap = _call(fn, args)
    if int(r) != int(lib.GGML_STATUS_SUCCESS):
        texts = cap.texts()
        cap.records.clear()
        _check(r, what or f"{getattr(fn, '__name__', 'call')} failed", exc, texts)
    cap.flush()


def string(p: Any) -> str:
    """A C string as str ('' for NULL)."""
    if p == ffi.NULL:
        return ""
    return ffi.string(p).decode("utf-8", "replace")


_C = TypeVar("_C", bound="Closable")


class Closable:
    """What every object over a C handle shares: ``close()`` frees it early (each class says
    what), ``with`` closes it at the end of the block, ``closed`` tells whether it was."""

    _closed: bool

    def close(self) -> None:
        raise NotImplementedError

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._closed

    def __enter__(self: _C) -> _C:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# arguments: Python values checked before they reach a C type

def as_int(value: Any, what: str, lo: Optional[int] = None, hi: Optional[int] = None) -> int:
    """value as an int in [lo, hi]: ArgumentTypeError for anything but an integer (a float, a
    bool, a str), BadInputError below lo, ValueOverflowError above hi (the C type's limit)."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{what} must be an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if lo is not None and v < lo:
        raise BadInputError(f"{what} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueOverflowError(f"{what} = {v} does not fit (at most {hi})")
    return v


def as_float(value: Any, what: str) -> float:
    """value as a float: ArgumentTypeError for anything but a real number (a bool, a str)."""
    import numbers
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{what} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def as_index(value: Any, n: int, what: str) -> int:
    """value as an index in [-n, n) (negative counts from the end): OutOfRangeError outside."""
    i = as_int(value, what)
    if not -n <= i < n:
        raise OutOfRangeError(f"{what} {i} out of range ({n})")
    return i + n if i < 0 else i


def as_str(value: Any, what: str) -> str:
    """value as a str: ArgumentTypeError for anything else."""
    if not isinstance(value, str):
        raise ArgumentTypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


def c_name(value: Any, what: str, limit: int) -> bytes:
    """A name for a C char[limit] field: UTF-8, no NUL, cut at a character boundary to fit
    limit - 1 bytes."""
    s = as_str(value, what)
    if "\0" in s:
        raise BadInputError(f"{what} {s!r} contains a NUL character")
    try:
        b = s.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInputError(f"{what} {s!r} cannot be encoded as UTF-8") from None
    if len(b) >= limit:
        b = b[:limit - 1].decode("utf-8", "ignore").encode("utf-8")
    return b


INT_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
SIZE_MAX = 2**64 - 1


def expect(value: Any, cls: Any, what: str) -> Any:
    """value when it is an instance of cls (a class or a tuple of them); ArgumentTypeError
    naming what was expected otherwise."""
    if not isinstance(value, cls):
        names = " or ".join(c.__name__ for c in (cls if isinstance(cls, tuple) else (cls,)))
        raise ArgumentTypeError(f"{what} must be a {names}, got {type(value).__name__}")
    return value


_F = TypeVar("_F", bound=Callable[..., Any])


def checked_arguments(fn: _F) -> _F:
    """fn, with the errors Python's own conversions raise on a bad argument (int(None),
    float("x"), a missing attribute of a non-Tensor, a value over a C type) turned into the
    package's: ArgumentTypeError, BadInputError, ValueOverflowError. GgallocErrors pass."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = getattr(fn, "__name__", "call")
        try:
            return fn(*args, **kwargs)
        except GgallocError:
            raise
        except OverflowError as e:
            raise ValueOverflowError(f"{name}(): a value does not fit its C type ({e})") from None
        except (TypeError, AttributeError) as e:
            raise ArgumentTypeError(f"{name}(): an argument has the wrong type ({e})") from None
        except ValueError as e:
            raise BadInputError(f"{name}(): an argument has a wrong value ({e})") from None
    return wrapper  # type: ignore[return-value]
