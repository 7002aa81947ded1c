"""DenseNet in Flax NNX (batch norm in inference mode unless ``train=True``;
``model.train()``/``model.eval()`` switch it). The configs and the algebra are in
:mod:`symconv.algebra.nets.densenet`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from symconv.algebra.nets.densenet import DenseNetConfig


class _DenseLayer(nnx.Module):
    def __init__(self, c: int, cfg: DenseNetConfig, train: bool, rngs: nnx.Rngs):
        k, b = cfg.growth_rate, cfg.bn_size
        self.bottleneck = cfg.bottleneck
        self.norm1 = nnx.BatchNorm(c, use_running_average=not train, rngs=rngs)
        if cfg.bottleneck:
            self.conv1 = nnx.Conv(c, b * k, (1, 1), use_bias=False, rngs=rngs)
            self.norm2 = nnx.BatchNorm(b * k, use_running_average=not train, rngs=rngs)
            self.conv2 = nnx.Conv(b * k, k, (3, 3), padding="SAME", use_bias=False, rngs=rngs)
        else:
            self.conv1 = nnx.Conv(c, k, (3, 3), padding="SAME", use_bias=False, rngs=rngs)

    def __call__(self, x):
        y = self.conv1(jax.nn.relu(self.norm1(x)))
        if self.bottleneck:
            y = self.conv2(jax.nn.relu(self.norm2(y)))
        return y


class DenseBlockModule(nnx.Module):
    """A dense block on ``c`` channels: ``n`` layers, each adding ``k`` maps concatenated to
    everything before it."""

    def __init__(self, c: int, n: int, cfg: DenseNetConfig, train: bool, rngs: nnx.Rngs):
        self.layers = nnx.List([_DenseLayer(c + i * cfg.growth_rate, cfg, train, rngs)
                                for i in range(n)])

    def __call__(self, x):
        for layer in self.layers:
            x = jnp.concatenate([x, layer(x)], axis=-1)  # every earlier map, reused
        return x


class _Transition(nnx.Module):
    def __init__(self, c: int, n: int, train: bool, rngs: nnx.Rngs):
        self.norm = nnx.BatchNorm(c, use_running_average=not train, rngs=rngs)
        self.conv = nnx.Conv(c, n, (1, 1), use_bias=False, rngs=rngs)

    def __call__(self, x):
        return nnx.avg_pool(self.conv(jax.nn.relu(self.norm(x))), (2, 2), (2, 2))


class DenseNet(nnx.Module):
    """DenseNet in Flax NNX (NHWC). Returns class probabilities."""

    def __init__(self, cfg: DenseNetConfig = DenseNetConfig(), *, train: bool = False,
                 rngs: nnx.Rngs):
        self.cfg = cfg
        chans = cfg.channels()
        c0 = cfg.num_init_features
        if cfg.stem == "imagenet":
            self.conv0 = nnx.Conv(3, c0, (7, 7), 2, padding=((3, 3), (3, 3)), use_bias=False,
                                  rngs=rngs)
            self.norm0 = nnx.BatchNorm(c0, use_running_average=not train, rngs=rngs)
        else:
            self.conv0 = nnx.Conv(3, c0, (3, 3), 1, padding=((1, 1), (1, 1)), use_bias=False,
                                  rngs=rngs)
        blocks, transitions = [], []
        for i, n in enumerate(cfg.block_config):
            blocks.append(DenseBlockModule(chans[i], n, cfg, train, rngs))
            if i < len(cfg.block_config) - 1:
                transitions.append(_Transition(chans[i] + n * cfg.growth_rate, chans[i + 1],
                                               train, rngs))
        self.blocks = nnx.List(blocks)
        self.transitions = nnx.List(transitions)
        self.norm5 = nnx.BatchNorm(chans[-1], use_running_average=not train, rngs=rngs)
        self.classifier = nnx.Linear(chans[-1], cfg.classes, rngs=rngs)

    def features(self, x):
        x = self.conv0(x)
        if self.cfg.stem == "imagenet":
            x = nnx.max_pool(jax.nn.relu(self.norm0(x)), (3, 3), (2, 2), ((1, 1), (1, 1)))
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i < len(self.transitions):
                x = self.transitions[i](x)
        return jax.nn.relu(self.norm5(x))

    def __call__(self, x):
        return jax.nn.softmax(self.classifier(jnp.mean(self.features(x), axis=(1, 2))))
