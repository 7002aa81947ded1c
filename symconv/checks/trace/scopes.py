"""Module paths: which NNX module issued each equation (parameters per path: :mod:`.models`).

Flax has no hook for module paths, so :func:`module_scopes` intercepts ``__call__`` on the
tracer's *own private copy* of the model (the graph ``nnx.merge`` rebuilt inside the trace): each
module instance of that copy is switched to a private subclass of its class, made once per class
and cached, whose ``__call__`` opens ``jax.named_scope(<module path>)``. The user's classes, their
instances and every other model are never modified; the paths of the trace in progress live in a
:class:`contextvars.ContextVar`, so traces in several threads do not see each other's paths.
Inside the traced call ``type(module)`` is the private subclass (``isinstance`` still holds).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import types
from collections.abc import Iterator, Mapping

import jax
from flax import nnx

_PATHS: contextvars.ContextVar[Mapping[int, str]] = contextvars.ContextVar(
    "symconv_trace_module_paths", default=types.MappingProxyType({}))
_SCOPED: dict[type, type | None] = {}  # a user's class -> its private scoped subclass
_SCOPED_LOCK = threading.Lock()


def _defines_call(cls: type) -> bool:
    return any("__call__" in vars(k) for k in cls.__mro__ if k is not object)


def scoped_class(cls: type) -> type | None:
    """The private subclass of ``cls`` whose ``__call__`` runs in the scope of the instance's path
    (None when ``cls`` has no ``__call__`` or cannot be subclassed). Made once per class."""
    with _SCOPED_LOCK:
        if cls in _SCOPED:
            return _SCOPED[cls]

        def __call__(self, *args, **kwargs):
            name = _PATHS.get().get(id(self))
            with jax.named_scope(name) if name else contextlib.nullcontext():
                return cls.__call__(self, *args, **kwargs)

        sub = None
        if _defines_call(cls):
            namespace = {"__call__": __call__, "__slots__": (), "__module__": cls.__module__,
                         "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
            kwargs = {}
            if hasattr(cls, "_pytree__is_pytree"):  # keep the class's choice, not the default
                kwargs["pytree"] = bool(cls._pytree__is_pytree)
            try:
                sub = type(cls)(cls.__name__, (cls,), namespace, **kwargs)
            except Exception:  # a class Flax cannot subclass: trace it unscoped
                sub = None
        _SCOPED[cls] = sub
        return sub


@contextlib.contextmanager
def module_scopes(root: nnx.Module) -> Iterator[None]:
    """Scope every module of ``root`` — a private copy, e.g. from ``nnx.merge`` — by its path.

    Each module instance of ``root`` is switched to :func:`scoped_class` of its class for the
    duration and switched back after; a module reachable by several paths takes the first.
    """
    paths: dict[int, str] = {}
    modules: dict[int, tuple[nnx.Module, type]] = {}
    for path, node in nnx.iter_graph(root):
        if isinstance(node, nnx.Module):
            modules.setdefault(id(node), (node, type(node)))
            if path:
                paths.setdefault(id(node), ".".join(str(p) for p in path))
    swapped = []
    token = _PATHS.set(paths)
    try:
        for node, cls in modules.values():
            sub = scoped_class(cls)
            if sub is not None:
                object.__setattr__(node, "__class__", sub)
                swapped.append((node, cls))
        yield
    finally:
        for node, cls in swapped:
            object.__setattr__(node, "__class__", cls)
        _PATHS.reset(token)
