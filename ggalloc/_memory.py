"""Who owns the memory of a tensor, whether it is still there, and who may free it now: the one
module that decides.

    >>> _memory.register(t, p, _BufferMem(buf))    # after placing p (or a view of it) in buf
    >>> _memory.owner_of(t, p, arena)               # that record (None: no data; FOREIGN: not ours)
    >>> unplaced = _memory.forget_stale(g)          # before planning g again
    >>> _memory.register_placed(g, unplaced, _memory.PlanMem(state))   # after placing it
    >>> with _memory.computing(g, [backend]):       # marks in use; ClosedError if memory is gone
    ...     lib.ggml_backend_graph_compute(...)
    >>> with _memory.hold(exclusive=[self]):        # in close(): waits for those computes

Imports point one way: _lib <- _memory <- core, alloc, sched, backends, gguf. The objects
that keep records (Tensor, Graph, Context) implement the protocols `Holder` and `GraphLike`
below, so this module never needs theirs.

Owners. A tensor's data is placed by an *owner*: a Buffer (TensorAllocator, alloc_ctx_tensors),
a GraphAllocator's or Scheduler's plan, an allocating Context's arena, a mapped GGUF file, or
something outside the package. The package keeps one *record* per placed root tensor (a view
shares its root's memory, so views are looked up through their root), implementing the small
protocol `Owner`: whether the memory is still there and why not, what a numpy view must keep
alive, what `Tensor.buffer` shows, whether planning a graph places the tensor again, and which
objects a compute must hold so that the memory stays. Records live in the `Table` of the
context that holds the root tensor, under the root's address: they die with the context, and a
tensor address re-used by a new context never meets an old record.

Records never reference an allocator, only its PlanState (epoch, closed flag, the holder of
its buffers). A reference to the allocator would close a loop (context -> record -> allocator
-> graph -> context) that only Python's cycle collector frees: each context (3 MB by default)
then waits for a collection of an older generation, and the heap grows with every
create/plan/free cycle left to the collector. Without the loop, dropping the last name frees
at once, as close() does.

Threads. Closing or re-planning an object while another thread computes with it would free
memory under the running compute. `hold()` marks objects in use for the duration of a block:
*shared* (a compute reads a context, a graph, a buffer, an allocator's plan) or *exclusive*
(a backend runs one graph at a time; close() and re-planning need the object to themselves).
One condition variable guards every object's marks, and a block takes all its marks at once,
so two blocks never wait on each other in a circle: an exclusive block waits until no other
thread uses the object, a shared block waits while another thread holds it exclusively. A
thread that would wait on itself (closing, from a log handler, what its own compute uses) gets
ClosedError instead of a deadlock. Waiters are served first come first served per object, so
a loop of computes cannot starve a close(). A compute takes its marks in two steps (first the
graph and its contexts, whose tensors it must read to find the owners of their memory, then
those owners); the second step skips the queue and waits only on running closes and
re-plans, which take their marks at once and wait for nothing while holding them, so it
cannot close a circle either. Tensor.numpy() and set() do the same with the tensor's context. C calls release the GIL, so the waiting
thread's wait is real time the computing thread gets.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional, Protocol, Sequence, Set, Tuple

from ._lib import Closable, ffi
from .errors import ClosedError, GgallocError

__all__ = ["Owner", "Table", "FOREIGN", "PlanState", "PlanMem", "root", "register", "register_placed", "owner_of",
           "forget_stale", "check_graph", "hold", "computing"]


# ---------------------------------------------------------------------------------------------
# the protocol of owner records


class Owner:
    """An owner record: the base of every kind (each overrides what differs)."""

    __slots__ = ()

    def alive(self) -> bool:
        """True while the memory is there."""
        return True

    def why(self) -> str:
        """Why the memory is gone (when alive() is False)."""
        return ""

    def label(self) -> str:
        """A short name of where the memory is, for repr."""
        return "external"

    def keepalive(self) -> Any:
        """What a numpy view of the memory holds to keep it (None: the tensor's context)."""
        return None

    def public(self) -> Any:
        """What Tensor.buffer shows (None: nothing the package made)."""
        return None

    def track_view(self, view: Any) -> None:
        """Notes a numpy view of the memory (an allocator refuses to re-plan while views live)."""

    def replanned(self) -> bool:
        """True when planning a graph places the tensor anew (the record is forgotten first)."""
        return not self.alive()

    def users(self) -> Tuple[Any, ...]:
        """The objects a compute holds (shared) so that the memory stays while it runs."""
        return ()


class _Foreign(Owner):
    """Data that something outside the package placed; assumed alive."""

    __slots__ = ()


FOREIGN: Owner = _Foreign()


class PlanState:
    """What a GraphAllocator or Scheduler shares with the records of the tensors it placed:
    its epoch (bumped at each re-plan), whether it was closed, the holder of its C handle
    (what keeps its buffers) and the numpy views of them. The records hold this, not the
    allocator (see the module's text)."""

    __slots__ = ("epoch", "closed", "holder", "views", "kind", "_ref")

    def __init__(self, planner: Any, holder: Any) -> None:
        self.epoch = 0
        self.closed = False
        self.holder = holder
        self.views: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self.kind = type(planner).__name__
        self._ref: "weakref.ReferenceType[Any]" = weakref.ref(planner)

    def planner(self) -> Any:
        """The GraphAllocator or Scheduler (None once collected)."""
        return self._ref()

    def close(self) -> None:
        self.closed = True
        self.holder = None


class PlanMem(Owner):
    """The record of tensors a GraphAllocator or Scheduler placed: valid while it is open and
    has not re-planned its buffers since; the memory stays while tensors of the plan do, even
    when the allocator itself was dropped."""

    __slots__ = ("state", "epoch")

    def __init__(self, state: PlanState) -> None:
        self.state = state
        self.epoch = state.epoch

    def alive(self) -> bool:
        return not self.state.closed and self.state.epoch == self.epoch

    def why(self) -> str:
        if self.state.closed:
            return f"its {self.state.kind} was closed"
        return f"its {self.state.kind} re-planned for another graph; call alloc_graph again"

    def label(self) -> str:
        return self.state.kind

    def keepalive(self) -> Any:
        return self.state.holder

    def public(self) -> Any:
        return self.state.planner()

    def track_view(self, view: Any) -> None:
        self.state.views.add(view)

    def replanned(self) -> bool:
        return True

    def users(self) -> Tuple[Any, ...]:
        p = self.state.planner()
        return () if p is None else (p,)


class Placer(Closable):
    """What a GraphAllocator and a Scheduler share as owners of the memory they place: the
    PlanState (``_mem``) the records of their tensors hold, and close(), which waits for a
    compute using that memory and leaves every record of it invalid."""

    _mem: PlanState
    _closed: bool
    _graph: Any
    _allocated: Any

    def close(self) -> None:
        """Frees it and its buffers (once no numpy view of them is left). Idempotent. Waits for
        a compute using its memory in another thread to return."""
        if self._closed:
            return
        with hold(exclusive=[self]):
            self._closed = True
            self._mem.close()
            self._graph = self._allocated = None

    @property
    def _epoch(self) -> int:
        return self._mem.epoch

    @_epoch.setter
    def _epoch(self, v: int) -> None:
        self._mem.epoch = v

    @property
    def _holder(self) -> Any:
        return self._mem.holder

    @_holder.setter
    def _holder(self, v: Any) -> None:
        self._mem.holder = v

    @property
    def _views(self) -> "weakref.WeakSet[Any]":
        return self._mem.views

    def _live(self) -> Any:
        raise NotImplementedError

    def _prepare(self, g: Any, replan: bool = True) -> Tuple[Any, Any, List[Any]]:
        """Checks the graph before planning or placing it and forgets placements that planning
        replaces or that are gone (forget_stale). Returns the handles and the unplaced roots."""
        h = self._live()
        gp = g._live()
        if replan and len(self._views):
            raise GgallocError(f"numpy views from Tensor.array() of tensors this {type(self).__name__} placed are "
                               "still alive; delete them before planning another graph (re-planning may free that "
                               "memory)")
        return h, gp, forget_stale(g)


# ---------------------------------------------------------------------------------------------
# the records of one context


class Table:
    """The owner records of the root tensors of one context, by tensor address."""

    __slots__ = ("base", "size", "owners")

    def __init__(self, base: int, size: int) -> None:
        self.base = base
        self.size = size
        self.owners: Dict[int, Owner] = {}

    def contains(self, addr: int) -> bool:
        """True when addr lies in the context's arena."""
        return self.base <= addr < self.base + self.size


class Holder(Protocol):
    """What the operations below need of a Tensor or Graph: the tables of the contexts its
    tensors may live in (its own first)."""

    def _mem_tables(self) -> Sequence[Table]: ...


class GraphLike(Holder, Protocol):
    def _mem_ptrs(self) -> List[Any]: ...


def _addr(p: Any) -> int:
    return int(ffi.cast("uintptr_t", p))


def root(p: Any) -> Any:
    """The tensor whose memory p views (p itself when p is no view)."""
    NULL = ffi.NULL
    while p.view_src != NULL:
        p = p.view_src
    return p


def register(h: Holder, p: Any, owner: Owner) -> None:
    """Notes owner as the owner of the memory of p (and of every view of p's root)."""
    addr = _addr(root(p))
    tables = h._mem_tables()
    for t in tables:
        if t.contains(addr):
            t.owners[addr] = owner
            return
    tables[0].owners[addr] = owner


def _find(tables: Sequence[Table], addr: int) -> Optional[Owner]:
    for t in tables:
        rec = t.owners.get(addr)
        if rec is not None:
            return rec
    return None


def owner_of(h: Holder, p: Any, arena: Owner) -> Optional[Owner]:
    """The record of p's memory: the one registered for its root, else arena when the data lies
    in the holder's own context's arena, FOREIGN when it lies elsewhere, None without data."""
    tables = h._mem_tables()
    rec = _find(tables, _addr(root(p)))
    if rec is not None:
        return rec
    if p.data == ffi.NULL:
        return None
    if tables[0].contains(_addr(p.data)):
        return arena
    return FOREIGN


def forget_stale(g: GraphLike) -> List[Any]:
    """Before planning g: unplaces every root tensor whose memory an allocator placed (it is
    placed again) or is gone (a closed buffer), and the views of those, so that the C allocator
    never keeps a stale pointer. Returns the root tensors without memory (placed by the plan)."""
    NULL = ffi.NULL
    tables = g._mem_tables()
    ptrs = g._mem_ptrs()
    unplaced: List[Any] = []
    reset: Set[int] = set()
    views: List[Any] = []
    for p in ptrs:
        if p.view_src != NULL:
            views.append(p)
            continue
        if p.data == NULL:
            unplaced.append(p)
            continue
        addr = _addr(p)
        rec = _find(tables, addr)
        if rec is not None and rec.replanned():
            p.data = NULL
            p.buffer = NULL
            p.extra = NULL
            for t in tables:
                t.owners.pop(addr, None)
            reset.add(addr)
            unplaced.append(p)
    if reset:
        for p in views:
            if p.data != NULL and _addr(root(p)) in reset:
                p.data = NULL
                p.buffer = NULL
                p.extra = NULL
    return unplaced


def register_placed(g: Holder, unplaced: Iterable[Any], owner: Owner) -> None:
    """After planning: owner owns the memory of the tensors of unplaced that now have some."""
    NULL = ffi.NULL
    tables = g._mem_tables()
    for p in unplaced:
        if p.data != NULL:
            addr = _addr(p)
            for t in tables:
                if t.contains(addr):
                    t.owners[addr] = owner
                    break
            else:
                tables[0].owners[addr] = owner


def check_graph(g: GraphLike) -> List[Owner]:
    """Before a compute: raises ClosedError if the memory of a tensor of g is gone; returns the
    records of its memory (each once)."""
    NULL = ffi.NULL
    cast = ffi.cast
    maps = [t.owners for t in g._mem_tables()]
    seen: Set[int] = set()
    records: List[Owner] = []
    # runs before every compute: the walk is inlined
    for p in g._mem_ptrs():
        if p.data == NULL:
            continue
        while p.view_src != NULL:
            p = p.view_src
        addr = int(cast("uintptr_t", p))
        rec = None
        for m in maps:
            rec = m.get(addr)
            if rec is not None:
                break
        if rec is None or id(rec) in seen:
            continue
        if not rec.alive():
            raise ClosedError(f"the memory of tensor {ffi.string(p.name).decode('utf-8', 'replace')!r} was freed "
                              f"or re-planned ({rec.why()})")
        seen.add(id(rec))
        records.append(rec)
    return records


# ---------------------------------------------------------------------------------------------
# threads: objects in use


class _Use:
    __slots__ = ("obj", "shared", "owner", "depth")

    def __init__(self, obj: Any) -> None:
        self.obj = obj                      # kept alive while marked
        self.shared: Dict[int, int] = {}    # thread id -> depth
        self.owner: Optional[int] = None    # the thread holding it exclusively
        self.depth = 0


_cond = threading.Condition(threading.Lock())
_uses: Dict[int, _Use] = {}
# requests waiting for their marks: ticket -> (thread, ids of the objects)
_queue: Dict[int, Tuple[int, Set[int]]] = {}
_tickets = itertools.count()


def _name(obj: Any) -> str:
    return type(obj).__name__


def _blocked(me: int, shared: Sequence[Any], exclusive: Sequence[Any]) -> bool:
    """True when the marks cannot be taken now; ClosedError when they never could (the
    calling thread itself holds what it waits for)."""
    for o in exclusive:
        u = _uses.get(id(o))
        if u is None or u.owner == me:
            continue
        if me in u.shared:
            raise ClosedError(f"the {_name(o)} is in use by a compute in this thread; it cannot be closed or "
                              "re-planned until that compute returns")
        if u.shared or u.owner is not None:
            return True
    for o in shared:
        u = _uses.get(id(o))
        if u is not None and u.owner is not None and u.owner != me:
            return True
    return False


def _unique(objs: Iterable[Any], skip: Sequence[Any] = ()) -> List[Any]:
    out: List[Any] = []
    for o in objs:
        if o is not None and all(o is not x for x in out) and all(o is not x for x in skip):
            out.append(o)
    return out


def _holds_any(me: int) -> bool:
    return any(u.owner == me or me in u.shared for u in _uses.values())


def _queued_before(me: int, ticket: int, ids: Set[int]) -> bool:
    return any(t < ticket and th != me and not ids.isdisjoint(oids) for t, (th, oids) in _queue.items())


@contextmanager
def hold(shared: Iterable[Any] = (), exclusive: Iterable[Any] = ()) -> Iterator[None]:
    """Marks objects in use by the calling thread for the block: exclusive ones wait until no
    other thread uses them, shared ones until no other thread holds them exclusively. Taken
    all at once (no circular wait), first come first served among waiters on one object (a
    close() is not starved by a loop of computes), re-entrant within a thread."""
    me = threading.get_ident()
    ex = _unique(exclusive)
    sh = _unique(shared, ex)
    with _cond:
        ticket = next(_tickets)
        ids = {id(o) for o in (*ex, *sh)}
        # a thread that holds marks already is never queued behind others: they may wait for it
        nested = _holds_any(me)
        _queue[ticket] = (me, ids)
        waited = False
        try:
            while _blocked(me, sh, ex) or (not nested and _queued_before(me, ticket, ids)):
                waited = True
                _cond.wait()
        finally:
            del _queue[ticket]
            if waited:
                _cond.notify_all()
        for o in ex:
            u = _uses.get(id(o))
            if u is None:
                u = _uses[id(o)] = _Use(o)
            u.owner = me
            u.depth += 1
        for o in sh:
            u = _uses.get(id(o))
            if u is None:
                u = _uses[id(o)] = _Use(o)
            u.shared[me] = u.shared.get(me, 0) + 1
    try:
        yield
    finally:
        with _cond:
            for o in ex:
                u = _uses[id(o)]
                u.depth -= 1
                if u.depth == 0:
                    u.owner = None
            for o in sh:
                u = _uses[id(o)]
                n = u.shared[me] - 1
                if n:
                    u.shared[me] = n
                else:
                    del u.shared[me]
            for o in (*ex, *sh):
                u = _uses[id(o)]
                if u.owner is None and not u.shared:
                    del _uses[id(o)]
            _cond.notify_all()


@contextmanager
def computing(g: Any, runners: Sequence[Any]) -> Iterator[None]:
    """The marks of one compute of g by runners (a backend, or a scheduler and its backends):
    runners exclusive, g and its contexts shared (taken at once; only then are its tensors
    read), then what holds its memory shared. Inside the block every tensor's memory is
    checked alive (ClosedError otherwise)."""
    with hold(shared=[g, *g._contexts()], exclusive=runners):
        g._live()
        records = check_graph(g)
        users = [u for rec in records for u in rec.users() if all(u is not r for r in runners)]
        # nested: waits only while a close() of one of them is running, never behind queued ones
        with hold(shared=users):
            for rec in records:     # a close() that ran between the check and the marks
                if not rec.alive():
                    raise ClosedError(f"the memory of a tensor of the graph was freed or re-planned ({rec.why()})")
            yield
