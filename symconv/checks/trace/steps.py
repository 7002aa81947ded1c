"""The training step :func:`~.training.train_cost` prices, built as ``symconv bench --train``
builds it: the optimizers and losses by name, the step of an NNX model (``nnx.value_and_grad``,
``nnx.Optimizer.update``, training mode) or of a plain loss function of parameters and a batch,
on abstract arguments (nothing allocated)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.checks import xla
from symconv.checks.trace.scopes import module_scopes
from symconv.errors import SymconvError

OPTIMIZERS = ("sgd", "adam", "adamw")
LOSSES = ("auto", "cross_entropy", "softmax_cross_entropy", "mse")
SHARED = "(optimizer)"  #: the row of optimizer work shared by every parameter


def optimizer(kind: str, learning_rate: float = 1e-3) -> Any:
    """``optax.sgd(lr, momentum=0.9)`` (``symconv bench --train``'s default), ``optax.adam(lr)``
    or ``optax.adamw(lr)``."""
    import optax

    makers = {"sgd": lambda: optax.sgd(learning_rate, momentum=0.9),
              "adam": lambda: optax.adam(learning_rate),
              "adamw": lambda: optax.adamw(learning_rate)}
    if kind not in makers:
        raise SymconvError(f"unknown optimizer {kind!r}: choose one of {OPTIMIZERS}")
    return makers[kind]()


def classification_loss(probs: jax.Array, labels: jax.Array) -> jax.Array:
    r"""Cross-entropy of a softmax output: $-\frac1B\sum_b \log \max(p_{b,y_b}, \text{tiny})$
    (float32). For the built-in classifiers, whose last layer is the softmax, this is the softmax
    cross-entropy of their logits."""
    p = jnp.take_along_axis(probs.astype(jnp.float32), labels[:, None], axis=-1)
    return -jnp.mean(jnp.log(jnp.maximum(p, jnp.finfo(jnp.float32).tiny)))


def logits_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Softmax cross-entropy of logits (``optax.softmax_cross_entropy_with_integer_labels``),
    averaged over the batch."""
    import optax

    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(
        logits.astype(jnp.float32), labels))


def squared_loss(outputs: Any) -> jax.Array:
    """Mean squared output (MSE against a zero target), averaged over every output array."""
    leaves = jax.tree.leaves(outputs)
    return sum(jnp.mean(jnp.square(y.astype(jnp.float32))) for y in leaves) / len(leaves)


def loss_of(loss: str | Callable, labelled: bool) -> Callable:
    """``loss(outputs, labels) -> scalar`` for a loss name (``"auto"``: cross-entropy of the
    softmax output when there are labels, MSE otherwise) or a callable."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise SymconvError(f"unknown loss {loss!r}: choose one of {LOSSES} or pass a function "
                           f"loss(outputs, labels) -> scalar")
    if loss == "auto":
        loss = "cross_entropy" if labelled else "mse"
    if loss != "mse" and not labelled:
        raise SymconvError(f"the {loss} loss needs labels: pass labels=True (one int32 label "
                           f"per example) or a labels shape")
    return {"cross_entropy": classification_loss, "softmax_cross_entropy": logits_loss,
            "mse": lambda y, *_: squared_loss(y)}[loss]


def step_fn(graphdef: Any, loss: Callable, *, scoped: bool = False, parts: bool = False
            ) -> Callable:
    """``step(state, x[, labels]) -> (state, loss)`` for the split ``(model, nnx.Optimizer)``:
    ``nnx.value_and_grad`` of ``loss(model(x), labels)``, then ``optimizer.update``. ``scoped``
    names each module's scope (:mod:`.scopes`) and the loss's (``loss``); ``parts`` also returns
    the gradients, the parameters and the model's other state (for :func:`train_cost`'s split;
    the same equations, so the same cost)."""

    def step(state, x, *labels):
        model, opt = nnx.merge(graphdef, state)

        def loss_fn(model):
            with module_scopes(model) if scoped else _null():
                y = model(x)
            with jax.named_scope("loss") if scoped else _null():
                return loss(y, *labels)

        value, grads = nnx.value_and_grad(loss_fn)(model)
        opt.update(model, grads)
        new = nnx.state((model, opt))
        if not parts:
            return new, value
        return new, value, grads, nnx.state(model, nnx.Param), nnx.state(model, nnx.Not(nnx.Param))

    return step


def function_step(fn: Callable, tx: Any, *, parts: bool = False) -> Callable:
    """``step(params, opt_state, x[, labels])`` of a plain loss function ``fn(params, x[, labels])``
    with optax transformation ``tx``."""
    import optax

    def step(params, opt_state, x, *labels):
        value, grads = jax.value_and_grad(fn)(params, x, *labels)
        updates, opt_state = tx.update(grads, opt_state, params)
        new = optax.apply_updates(params, updates)
        return ((new, opt_state), value, grads, new, ()) if parts else ((new, opt_state), value)

    return step


@dataclasses.dataclass(frozen=True)
class Setup:
    """A training step ready to trace or lower: ``fn(*args)``, its parameters per module path."""

    fn: Callable
    args: tuple
    params: dict[str, list[tuple]]
    modules: frozenset[str] | None = None  #: the model's module paths and ``loss`` (NNX)


def setup(model: Any, x: Any, labels: Any, *, loss: str | Callable = "auto",
          optimizer_kind: str = "sgd", learning_rate: float = 1e-3, params: Any = None,
          scoped: bool = True, parts: bool = True) -> Setup:
    """The step of ``model`` (an ``nnx.Module``, or a loss function with ``params``) on the
    abstract batch ``x`` (and ``labels``, or None)."""
    tx = optimizer(optimizer_kind, learning_rate)
    labelled = labels is not None
    extra = (labels,) if labelled else ()
    if isinstance(model, nnx.Module):
        loss_fn = loss_of(loss, labelled)
        graphdef, state = nnx.split(model)
        abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), state)

        def make():
            m = nnx.merge(graphdef, abstract)
            m.train()
            return m, nnx.Optimizer(m, tx, wrt=nnx.Param)

        built = xla.abstract(make)
        if not jax.tree.leaves(nnx.state(built[0], nnx.Param)):
            raise SymconvError(f"{type(model).__name__} has no parameters (nnx.Param): there is "
                               f"nothing to train")
        g, st = nnx.split(built)
        st = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), st)
        modules = frozenset(".".join(str(p) for p in path)
                            for path, node in nnx.iter_graph(built[0])
                            if path and isinstance(node, nnx.Module)) | {"loss"}
        return Setup(step_fn(g, loss_fn, scoped=scoped, parts=parts), (st, x, *extra),
                     _param_shapes(nnx.state(built[0], nnx.Param)), modules)
    if isinstance(model, type) or not callable(model):
        raise SymconvError(f"got {type(model).__name__}: pass an nnx.Module, or a loss function "
                           f"fn(params, batch[, labels]) with params=")
    if params is None:
        raise SymconvError("a loss function needs its parameters: train_cost(fn, shape, "
                           "params={...}) (arrays or jax.ShapeDtypeStruct)")
    abstract = jax.tree.map(lambda a: jax.ShapeDtypeStruct(jnp.shape(a), a.dtype), params)
    if not jax.tree.leaves(abstract):
        raise SymconvError("params holds no arrays: there is nothing to train")
    opt_state = jax.eval_shape(tx.init, abstract)
    return Setup(function_step(model, tx, parts=parts), (abstract, opt_state, x, *extra),
                 _param_shapes(abstract))


def _param_shapes(tree: Any) -> dict[str, list[tuple]]:
    shapes: dict[str, list[tuple]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        shapes.setdefault(_module_of(path), []).append(tuple(leaf.shape))
    return shapes


def _module_of(path: Sequence) -> str:
    """The module path of a parameter leaf's tree path (without the leaf's own name)."""
    keys = [str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path
            if not isinstance(k, jax.tree_util.GetAttrKey)]  # a Variable's ``.value``
    return ".".join(keys[:-1]) if len(keys) > 1 else (keys[0] if keys else "")


def _null():
    import contextlib

    return contextlib.nullcontext()


def concrete_step(model: Any, batch_shape: Sequence[int], *, labels: bool = False,
                  loss: str | Callable = "auto", optimizer_kind: str = "sgd",
                  params: Any = None) -> Setup:
    """The step on a batch of ints (float32 inputs, int32 labels when ``labels``), as jit sees
    it: no scopes, no extra outputs."""
    x = jax.ShapeDtypeStruct(tuple(batch_shape), jnp.float32)
    y = jax.ShapeDtypeStruct((batch_shape[0],), jnp.int32) if labels else None
    return setup(model, x, y, loss=loss, optimizer_kind=optimizer_kind, params=params,
                 scoped=False, parts=False)


def step_jaxpr(model: Any, batch_shape: Sequence[int], **kwargs: Any) -> Any:
    """``jax.make_jaxpr`` of :func:`concrete_step` (e.g. for the exact per-equation reference,
    ``symconv.checks.reference.reference_jaxpr``)."""
    step = concrete_step(model, batch_shape, **kwargs)
    with xla.cheap_tracer_errors():
        return jax.make_jaxpr(step.fn)(*step.args)


def lowered_flops(model: Any, batch_shape: Sequence[int], *, labels: bool = False,
                  loss: str | Callable = "auto", optimizer_kind: str = "sgd",
                  params: Any = None) -> tuple[int, int]:
    """XLA's side: ``(flops, ops)`` of ``cost_analysis()`` of the jitted step (lowered, never
    compiled; no scopes, no extra outputs) on a batch of ints, and the number of HLO ops (which
    bounds XLA's float32 rounding, :func:`symconv.checks.xla.flops_agree`)."""
    step = concrete_step(model, batch_shape, labels=labels, loss=loss,
                         optimizer_kind=optimizer_kind, params=params)
    with xla.cheap_tracer_errors():
        lowered = jax.jit(step.fn).lower(*step.args)
    analysis = lowered.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else {}
    ops = sum(1 for line in lowered.as_text().splitlines() if " = " in line)
    return int((analysis or {}).get("flops", 0.0)), ops
