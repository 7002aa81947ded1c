"""Module paths: which NNX module issued each equation, and the parameters each module holds."""

from __future__ import annotations

import collections
import contextlib

import jax
import numpy as np
from flax import nnx


@contextlib.contextmanager
def module_scopes(root: nnx.Module):
    """While active, each NNX module's ``__call__`` runs inside ``jax.named_scope(<its path>)``."""
    paths = {}
    for path, node in nnx.iter_graph(root):
        if isinstance(node, nnx.Module) and path:
            paths.setdefault(id(node), ".".join(str(p) for p in path))
    classes = {type(node) for _, node in nnx.iter_graph(root) if isinstance(node, nnx.Module)}
    patched = []
    for cls in classes:
        if not callable(getattr(cls, "__call__", None)):
            continue
        original = cls.__call__
        own = "__call__" in cls.__dict__

        def wrapper(self, *args, __original=original, **kwargs):
            name = paths.get(id(self))
            scope = jax.named_scope(name) if name else contextlib.nullcontext()
            with scope:
                return __original(self, *args, **kwargs)

        cls.__call__ = wrapper
        patched.append((cls, original, own))
    try:
        yield
    finally:
        for cls, original, own in patched:
            if own:
                cls.__call__ = original
            else:
                del cls.__call__


def param_paths(model: nnx.Module) -> dict[str, int]:
    """Scalars of ``nnx.Param`` state per module path (the path of the leaf's owner)."""
    counts: dict[str, int] = collections.Counter()
    leaves = jax.tree_util.tree_flatten_with_path(nnx.state(model, nnx.Param))[0]
    for path, leaf in leaves:
        keys = [str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path]
        keys = [k for k in keys if k != "value"]
        counts[".".join(keys[:-1])] += int(np.prod(leaf.shape))
    return dict(counts)
