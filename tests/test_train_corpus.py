"""Training steps of public models written by others (the corpus of ``tests/corpus``): the
closed form of ``train_cost`` equals XLA's count of the same jitted step (lowered, never
compiled) at every corpus size, with SGD (momentum) and Adam — exactly below 2**24, within
XLA's float32 accumulation above (``flops_agree``). Mean squared output as the loss (the corpus
models' own losses are not vendored)."""

import pytest
from corpus.catalog import CASES, model

from symconv.checks.trace import train_cost
from symconv.checks.trace.steps import lowered_flops
from symconv.checks.xla import FLOAT32_EXACT, flops_agree

MODELS = ("flax_ppo_cnn", "flax_resnet18", "vit_jax_mixer", "big_vision_mixer", "bonsai_unet",
          "bonsai_vgg19")


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("name", MODELS)
def test_corpus_training_step_equals_xla(name, optimizer):
    case = CASES[name]
    net = model(case)
    cost = train_cost(net, case.spec, optimizer=optimizer)
    assert cost.result.complete, cost.result.unknown
    for values in case.sizes:
        xla, ops = lowered_flops(net, case.shape(values), labels=False, optimizer_kind=optimizer)
        exact = cost.at(values, figure="xla")
        if exact < FLOAT32_EXACT:
            assert exact == xla, (values, exact, xla)
        else:
            assert flops_agree(exact, xla, ops), (values, exact, xla)
