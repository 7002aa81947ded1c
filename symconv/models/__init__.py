"""Flax NNX networks (NHWC); each matches an algebra description in :mod:`symconv.algebra`."""

from symconv.models.layers import flax_layer as flax_layer
