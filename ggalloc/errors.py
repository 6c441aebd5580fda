"""Exceptions of the ggalloc package. Every exception it raises derives from GgallocError, and
also from the built-in exception a Python user would expect there (ValueError, TypeError,
IndexError, OverflowError, FileNotFoundError, MemoryError), so either can be caught.

The C library reports errors as values (NULL, false, a status) and logs a message naming the
tensor and the numbers; the package turns each failure into one of these exceptions, with the
logged messages in its text and in ``.log``.

    >>> try:
    ...     gg.load_graph("missing.json")
    ... except gg.GgallocError as e:
    ...     print(e.log)
"""

from __future__ import annotations

from typing import List, Optional, Sequence

__all__ = [
    "GgallocError",
    "ClosedError",
    "BadInputError",
    "AllocationError",
    "GraphError",
    "BadGraphError",
    "ComputeError",
    "DeviceError",
    "ArgumentTypeError",
    "ValueOverflowError",
    "UnsupportedOperationError",
    "OutOfRangeError",
    "MissingFileError",
    "FileError",
    "BadFileError",
    "NotFoundError",
]


class GgallocError(Exception):
    """Base of every exception the package raises.

    ``log`` holds the messages the C library logged (errors and warnings) during the failing
    call, in order; they are also part of ``str(e)``.
    """

    def __init__(self, message: str, log: Optional[Sequence[str]] = None) -> None:
        self.log: List[str] = list(log or [])
        text = message
        if self.log:
            text += ": " + "; ".join(m.strip() for m in self.log if m.strip())
        super().__init__(text)


class ClosedError(GgallocError):
    """An object (or one it depends on) was used after close(): a Context, Buffer, allocator,
    backend, or a tensor whose memory was freed or re-planned."""


class BadInputError(GgallocError, ValueError):
    """Arguments the library rejects: a dtype, shape or layout that does not fit, an unknown
    type name, an array of the wrong shape."""


class AllocationError(GgallocError, MemoryError):
    """Memory could not be had: a buffer over the device's limit, a full buffer, a full context."""


class GraphError(GgallocError):
    """A graph could not be built, planned or reordered."""


class BadGraphError(GraphError, ValueError):
    """A graph document (graph-format.md) that the reader rejects, or a graph that is invalid."""


class ComputeError(GgallocError):
    """A backend could not run a graph (an unsupported op, a tensor without data)."""


class DeviceError(GgallocError):
    """A device or backend is not available (Vulkan not built, no such device)."""


class FileError(GgallocError, OSError):
    """A file could not be opened, mapped or written."""


class BadFileError(GgallocError, ValueError):
    """A file the reader rejects (a GGUF file that is truncated or malformed), with the reader's
    one-line reason."""


class ArgumentTypeError(GgallocError, TypeError):
    """An argument of the wrong Python type (a float where an int is needed, a number where a
    Tensor is needed, a name that is not a str)."""


class ValueOverflowError(BadInputError, OverflowError):
    """A number that does not fit the C type it goes to (a shape of 2**64, a negative offset)."""


class UnsupportedOperationError(GgallocError, TypeError):
    """An operator or operand combination that tensors do not support; the message lists
    what does work."""


class OutOfRangeError(BadInputError, IndexError):
    """An index past the end: a buffer id, a node or placement number."""


class MissingFileError(FileError, FileNotFoundError):
    """A file that does not exist (a graph document, a trace, a model)."""


class NotFoundError(GgallocError, KeyError):
    """A name that is not there: a key or tensor of a GGUF file."""

    def __str__(self) -> str:  # KeyError's str() would quote the message
        return Exception.__str__(self)
