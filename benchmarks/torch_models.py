"""The symconv networks again, in PyTorch (NCHW), for ``benchmarks/torch_compare.py``.

Written from the same papers and the same hyper-parameters as ``symconv/models/`` (torchvision
is not used); each returns what the Flax model returns (class probabilities after softmax, or
U-Net's per-pixel scores), and ``build(name, hw)`` checks that its parameter count equals the
Flax model's ``nnx.state`` count. Not imported by the package; needs ``pip install -e .[bench]``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class AssignmentCNN(nn.Module):
    """Q1(B): three 5x5/2 convs (64, 128, 256, padding 2) + ReLU, flatten, FC(200), softmax."""

    def __init__(self, hw: tuple[int, int], in_features: int = 3,
                 filters: tuple[int, ...] = (64, 128, 256), classes: int = 200):
        super().__init__()
        convs, m = [], in_features
        for n in filters:
            convs.append(nn.Conv2d(m, n, 5, stride=2, padding=2))
            m = n
        self.convs = nn.ModuleList(convs)
        h, w = hw
        for _ in filters:
            h, w = (h + 4 - 5) // 2 + 1, (w + 4 - 5) // 2 + 1
        self.fc = nn.Linear(m * h * w, classes)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x))
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=-1)


class _DenseLayer(nn.Module):
    def __init__(self, c: int, growth: int, bn_size: int):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(c)
        self.conv1 = nn.Conv2d(c, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        y = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(y)))


class _Transition(nn.Module):
    def __init__(self, c: int, n: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(c)
        self.conv = nn.Conv2d(c, n, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), 2, 2)


class DenseNet(nn.Module):
    """DenseNet-BC for ImageNet (Huang et al. 2017, Table 1): 7x7/2 stem, BN-ReLU, 3x3/2 max pool,
    dense blocks of bottleneck layers (each concatenates its k new maps to its input, as the Flax
    model does), transitions with compression 0.5, BN-ReLU, global average pooling, FC,
    softmax."""

    def __init__(self, block_config=(6, 12, 24, 16), growth: int = 32, init: int = 64,
                 bn_size: int = 4, classes: int = 1000):
        super().__init__()
        self.conv0 = nn.Conv2d(3, init, 7, stride=2, padding=3, bias=False)
        self.norm0 = nn.BatchNorm2d(init)
        blocks, transitions, c = [], [], init
        for i, n in enumerate(block_config):
            blocks.append(nn.ModuleList([_DenseLayer(c + j * growth, growth, bn_size)
                                         for j in range(n)]))
            c += n * growth
            if i < len(block_config) - 1:
                transitions.append(_Transition(c, c // 2))
                c //= 2
        self.blocks = nn.ModuleList(blocks)
        self.transitions = nn.ModuleList(transitions)
        self.norm5 = nn.BatchNorm2d(c)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.norm0(self.conv0(x))), 3, 2, 1)
        for i, block in enumerate(self.blocks):
            for layer in block:
                x = torch.cat([x, layer(x)], 1)
            if i < len(self.transitions):
                x = self.transitions[i](x)
        x = F.relu(self.norm5(x)).mean(dim=(2, 3))
        return torch.softmax(self.classifier(x), dim=-1)


class _Double(nn.Module):
    def __init__(self, cin: int, cout: int, padding: int):
        super().__init__()
        self.a = nn.Conv2d(cin, cout, 3, padding=padding)
        self.b = nn.Conv2d(cout, cout, 3, padding=padding)

    def forward(self, x):
        return F.relu(self.b(F.relu(self.a(x))))


def _center_crop(x, h: int, w: int):
    top, left = (x.shape[2] - h) // 2, (x.shape[3] - w) // 2
    return x[:, :, top:top + h, left:left + w]


class UNet(nn.Module):
    """U-Net (Ronneberger et al. 2015, Fig. 1): unpadded 3x3 convs, 2x2 max pooling, 2x2/2
    up-convolutions halving the channels, cropped skips concatenated [skip, up], 1x1 head."""

    def __init__(self, in_features: int = 1, classes: int = 2, base: int = 64, depth: int = 4,
                 padded: bool = False):
        super().__init__()
        pad = 1 if padded else 0
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.depth = depth
        self.down = nn.ModuleList([_Double(in_features if i == 0 else widths[i - 1], w, pad)
                                   for i, w in enumerate(widths)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(depth))])
        self.merge = nn.ModuleList([_Double(2 * widths[i], widths[i], pad)
                                    for i in reversed(range(depth))])
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, block in enumerate(self.down):
            x = block(x)
            if i < self.depth:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for up, merge, skip in zip(self.up, self.merge, reversed(skips)):
            x = up(x)
            x = merge(torch.cat([_center_crop(skip, x.shape[2], x.shape[3]), x], 1))
        return self.head(x)


def param_count(model: nn.Module) -> int:
    """Trainable parameters (batch-norm running statistics are buffers, as in ``nnx.Param``)."""
    return sum(p.numel() for p in model.parameters())


def make(name: str, hw: tuple[int, int]) -> nn.Module:
    if name == "assignment":
        return AssignmentCNN(hw)
    if name == "densenet121":
        return DenseNet((6, 12, 24, 16))
    if name == "unet":
        return UNet()
    if name == "unet-padded":
        return UNet(padded=True)
    raise KeyError(f"no PyTorch version of {name!r}; have: {', '.join(NAMES)}")


NAMES = ("assignment", "densenet121", "unet", "unet-padded")


def build(name: str, hw: tuple[int, int]) -> nn.Module:
    """The PyTorch model, its parameter count asserted equal to the Flax model's."""
    from flax import nnx

    from symconv.checks import xla
    from symconv.models.registry import MODELS

    model = make(name, hw)
    flax_params = xla.param_count(nnx.eval_shape(lambda: MODELS[name].build(hw)))
    torch_params = param_count(model)
    assert torch_params == flax_params, (name, torch_params, flax_params)
    return model


if __name__ == "__main__":
    for n, size in (("assignment", (128, 128)), ("densenet121", (224, 224)),
                    ("unet", (572, 572)), ("unet-padded", (512, 512))):
        print(f"{n}: {param_count(build(n, size)):,} parameters in both frameworks")
