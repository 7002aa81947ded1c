"""What the proofs read from a traced Flax model (``jax.make_jaxpr``): the fewest and the most
convolutions on a path from its input to one of its outputs. A private module (leading ``_``):
the runner never runs it as a proof.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


def conv_path_lengths(model: nnx.Module, input_shape: tuple[int, ...], output: int = 0
                      ) -> tuple[int, int]:
    """Fewest and most convolutions between the input and output number ``output`` of
    ``model``, walking the data flow of its traced program (parameters are on no path; works
    on abstract models: nothing is compiled or allocated)."""
    graphdef, state = nnx.split(model)
    jaxpr = jax.make_jaxpr(lambda s, x: nnx.merge(graphdef, s)(x))(
        state, jax.ShapeDtypeStruct(input_shape, jnp.float32)).jaxpr
    reach = {jaxpr.invars[-1]: (0, 0)}
    for e in jaxpr.eqns:
        ins = [reach[v] for v in e.invars if not hasattr(v, "val") and v in reach]
        if not ins:
            continue
        add = int(e.primitive.name == "conv_general_dilated")
        for v in e.outvars:
            reach[v] = (min(a for a, _ in ins) + add, max(b for _, b in ins) + add)
    return reach[jaxpr.outvars[output]]
