"""The model and compiler sides of the verification triangle: ``jax.eval_shape`` and ``nnx.state``
(``xla``), lowered-HLO cost analysis (``xla``), the jaxpr tracer (``trace``), the triangle for one
layer (``triangle``), independent measurements (``measure``) and the XLA self-check
(``selfcheck``)."""
