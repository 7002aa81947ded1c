"""What the tracer calls: an NNX module, a Flax Linen module or a plain JAX function, made one
pure function of abstract arguments (:func:`prepare`), and the clear errors when that fails.

- NNX: ``nnx.split`` into graph and abstract state; the call runs on the private copy
  ``nnx.merge`` rebuilds, each module scoped by its path (:mod:`.scopes`).
- Linen: variables are the user's (any arrays or ``ShapeDtypeStruct``) or ``jax.eval_shape`` of
  ``init`` on the (symbolic) inputs, so no weight is ever allocated; the call is ``apply``, each
  module method run under ``jax.named_scope`` of its Linen path (``nn.intercept_methods``), so
  paths read ``block.Dense_0``: no class names, no bridge wrapper.
- a factory with ``factory_args`` is built abstractly first (``nnx.eval_shape``); arguments that
  are :class:`~.inputs.Dim` receive JAX's symbolic dimension, so parameters whose shapes follow
  the input (a ViT's position embedding) are counted symbolically.

A call whose signature has a ``rngs`` parameter not given gets ``nnx.Rngs(0)``; a Linen call gets
a ``dropout`` stream.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from flax import linen as nn
from flax import nnx

from symconv.checks import xla
from symconv.checks.dims import dim_to_sympy
from symconv.checks.trace import inputs as inp
from symconv.checks.trace.scopes import module_scopes
from symconv.errors import SymconvError

TOP = "symconv.top"  #: the Linen root module's scope name, reported as the top ("")


@dataclass(frozen=True)
class Prepared:
    """``fn(*args)`` is the model's call; ``params`` maps module paths to parameter leaves'
    shapes; ``kind`` is ``"nnx"``, ``"linen"`` or ``"function"``."""

    fn: Callable
    args: tuple
    params: dict[str, list[tuple]]
    kind: str
    model: Any


class NotArrays(Exception):
    """The call returned something that is not a pytree of JAX arrays."""

    def __init__(self, value: Any):
        super().__init__(type(value).__name__)
        self.value = value


def build(factory: Callable, factory_args: Mapping[str, Any], where: Any) -> Any:
    """``factory(**factory_args)`` built abstractly; :class:`~.inputs.Dim` values become JAX's
    symbolic dims of ``where`` (or ints when ``where`` is a mapping of values)."""
    kwargs = dict(inp.resolve(factory_args, where) if not isinstance(where, Mapping)
                  else _concrete(factory_args, where))
    rngs = _takes(factory, "rngs") and "rngs" not in kwargs
    name = getattr(factory, "__qualname__", type(factory).__name__)
    _bind(factory, (), {**kwargs, **({"rngs": 0} if rngs else {})}, f"the factory {name}")
    box: dict[str, Any] = {}

    def make():  # the Rngs are made inside the abstract build, as NNX requires
        got = factory(**kwargs, **({"rngs": nnx.Rngs(0)} if rngs else {}))
        if isinstance(got, nnx.Module):
            return got
        if isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], nn.Module):
            box["module"] = got[0]  # Linen (module, variables): the variables come out abstract
            return got[1]
        box["other"] = got  # a Linen module, a function, or what prepare() will reject
        return None

    try:
        built = xla.abstract(make)
        return (box["module"], built) if "module" in box else box.get("other", built)
    except SymconvError:
        raise
    except Exception as e:
        if type(e).__name__ == "InconclusiveDimensionOperation":
            raise SymconvError(f"building {name} with symbolic sizes: {inp.constraint_hint(e)}; "
                               f"or pass it numbers") from None
        raise SymconvError(f"{name}({_kw_text(factory_args)}) failed: {type(e).__name__}: "
                           f"{inp.first_line(e)}") from None


def prepare(model: Any, positional: Sequence[Any], named: Mapping[str, Any],
            kwargs: Mapping[str, Any], variables: Any = None) -> Prepared:
    """The model's call as one pure function of abstract arguments (see the module doc)."""
    if isinstance(model, tuple) and len(model) == 2 and isinstance(model[0], nn.Module):
        model, variables = model  # a factory's (module, variables)
    if isinstance(model, type):
        raise SymconvError(
            f"got the class {model.__name__}, not a model: build it first "
            f"({model.__name__}(...)), pass factory_args= to trace() to build it abstractly, "
            f"or use `symconv cost package.module:factory`")
    kwargs = dict(kwargs)
    if isinstance(model, nnx.Module):
        return _nnx(model, positional, named, kwargs)
    if isinstance(model, nn.Module):
        return _linen(model, positional, named, kwargs, variables)
    if not callable(model):
        raise SymconvError(f"got {type(model).__name__}, not a model: pass an nnx.Module, a "
                           f"flax.linen.Module or a JAX function")
    if _takes(model, "rngs") and "rngs" not in kwargs:
        kwargs["rngs"] = None  # placeholder: made inside the trace
    try:
        _bind(model, positional, {**named, **kwargs}, "the function")
    except SymconvError as e:
        if "rngs" in str(e):
            raise SymconvError(
                f"{e}: a function taking rngs looks like a factory, not a model; pass the model "
                f"it builds, or trace(factory, ..., factory_args={{...}})") from None
        raise

    def fn(*args):
        call = dict(kwargs)
        if "rngs" in call and call["rngs"] is None:
            call["rngs"] = nnx.Rngs(0)
        return _arrays(model(*args[:len(positional)],
                             **dict(zip(named, args[len(positional):])), **call))

    return Prepared(fn, (*positional, *named.values()), {}, "function", model)


def _nnx(model, positional, named, kwargs) -> Prepared:
    call = type(model).__call__ if "__call__" in dir(type(model)) else None
    if call is None:
        raise SymconvError(f"{type(model).__name__} has no __call__ to trace")
    need_rngs = _takes(call, "rngs") and "rngs" not in kwargs
    _bind(call, (model, *positional), {**named, **kwargs, **({"rngs": 0} if need_rngs else {})},
          type(model).__name__)
    graphdef, state = nnx.split(model)
    abstract_state = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)

    def fn(s, *args):
        merged = nnx.merge(graphdef, s)
        extra = {"rngs": nnx.Rngs(0)} if need_rngs else {}
        with module_scopes(merged):
            return _arrays(merged(*args[:len(positional)],
                                  **dict(zip(named, args[len(positional):])), **kwargs, **extra))

    params: dict[str, list[tuple]] = {}
    leaves = jax.tree_util.tree_flatten_with_path(nnx.state(model, nnx.Param))[0]
    for path, leaf in leaves:
        keys = [str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path
                if not isinstance(k, jax.tree_util.GetAttrKey)]  # a Variable's ``.value``
        params.setdefault(".".join(keys[:-1]), []).append(tuple(leaf.shape))
    return Prepared(fn, (abstract_state, *positional, *named.values()), params, "nnx", model)


def _linen(model, positional, named, kwargs, variables) -> Prepared:
    _bind(model.__call__, positional, {**named, **kwargs}, type(model).__name__)
    if variables is None:
        rngs = {"params": jax.random.key(0), "dropout": jax.random.key(1)}
        try:
            variables = jax.eval_shape(lambda r, *a: model.init(
                r, *a[:len(positional)], **dict(zip(named, a[len(positional):])), **kwargs),
                rngs, *positional, *named.values())
        except Exception as e:
            raise _init_error(model, e) from None
    variables = jax.tree.map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), variables)

    def fn(v, *args):
        with nn.intercept_methods(_linen_scope):
            return _arrays(model.apply(v, *args[:len(positional)],
                                       **dict(zip(named, args[len(positional):])), **kwargs,
                                       rngs={"dropout": jax.random.key(0)}))

    params: dict[str, list[tuple]] = {}
    tree = variables.get("params", {}) if isinstance(variables, Mapping) else {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        keys = [str(getattr(k, "key", k)) for k in path]
        params.setdefault(".".join(keys[:-1]), []).append(tuple(leaf.shape))
    return Prepared(fn, (variables, *positional, *named.values()), params, "linen", model)


def _linen_scope(next_fun, args, kwargs, context):
    """Run each Linen method under the scope of its module path (``TOP`` for the root)."""
    path = ".".join(str(p) for p in context.module.path) or TOP
    with jax.named_scope(path) if context.method_name == "__call__" \
            else contextlib.nullcontext():
        return next_fun(*args, **kwargs)


def _init_error(model, e: Exception) -> SymconvError:
    if type(e).__name__ == "InconclusiveDimensionOperation":
        return SymconvError(f"initialising {type(model).__name__} on symbolic shapes: "
                            f"{inp.constraint_hint(e)}")
    return SymconvError(f"{type(model).__name__}.init rejects the input: {type(e).__name__}: "
                        f"{inp.first_line(e)}")


def _arrays(y: Any) -> Any:
    modules = jax.tree.leaves(y, is_leaf=lambda v: isinstance(v, (nnx.Module, nn.Module)))
    module = next((v for v in modules if isinstance(v, (nnx.Module, nn.Module))), None)
    if module is not None:  # NNX modules are pytrees of arrays: still not a result
        raise NotArrays(module)
    leaves = jax.tree.leaves(y)
    if not leaves or not all(isinstance(v, jax.Array) or hasattr(v, "aval") for v in leaves):
        bad = next((v for v in leaves if not (isinstance(v, jax.Array) or hasattr(v, "aval"))),
                   y)
        raise NotArrays(bad)
    return y


def _takes(f: Callable, name: str) -> bool:
    if isinstance(f, type):  # a class: its __init__ (Flax's metaclass hides the signature)
        f = f.__init__
    try:
        return name in inspect.signature(f).parameters
    except (TypeError, ValueError):
        return False


def _bind(f: Callable, args: Sequence[Any], kwargs: Mapping[str, Any], what: str) -> None:
    """Check the call against ``f``'s signature first: a missing or unexpected argument gets
    its own message, not a shape error."""
    if isinstance(f, type):
        f, args = f.__init__, (None, *args)
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):  # a builtin or C function: let the call speak
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as e:
        missing = [p.name for p in sig.parameters.values()
                   if p.default is inspect.Parameter.empty
                   and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                   and p.name not in kwargs][len(args):]
        hint = (f"; give {', '.join(missing)} as a named input (--input {missing[0]}=SHAPE, "
                f"trace(..., inputs=['{missing[0]}=SHAPE'])) or a keyword argument (--call / "
                f"--args {missing[0]}=VALUE, kwargs=)") if missing else \
            "; check the inputs and keyword arguments given"
        raise SymconvError(f"cannot call {what}: {e}{hint}") from None


def _concrete(factory_args: Mapping[str, Any], values: Mapping[str, int]) -> dict:
    """Factory arguments with every :class:`~.inputs.Dim` evaluated at ``values``."""
    def one(v):
        if isinstance(v, inp.Dim):
            d = inp.dim_of(v, jax.export.SymbolicScope())
            e = dim_to_sympy(d)
            if isinstance(e, int):
                return e
            return int(e.subs({s: values[str(s)] for s in e.free_symbols}))
        if isinstance(v, (tuple, list)):
            return type(v)(one(x) for x in v)
        return v

    return {k: one(v) for k, v in factory_args.items()}


def _kw_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v.expr}" if isinstance(v, inp.Dim) else f"{k}={v!r}"
                     for k, v in kwargs.items())
