"""Regularizer terms and RegularizedLoss (values, gradients, metrics), and the offline half of
forward_backward_custom (the loss function's checks and the surrogate weights). No server."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tinker_api_client.models import ForwardBackwardOutput, LossFnOutput, Metrics, TensorData

from tinker_hl import types
from tinker_hl._custom_loss import forward_backward_custom, gradients_for_custom_loss
from tinker_hl._exceptions import ValidationError
from tinker_hl.regularizers import (
    RegularizedLoss,
    RegularizerTerm,
    TermFn,
    cross_entropy,
    elastic_net,
    entropy,
    kl_to_reference,
    l1,
    l2,
    token_weights,
)

LENGTHS = (5, 3, 7)


def make_batch(seed: int = 0) -> tuple[list[types.Datum], list[torch.Tensor], list[torch.Tensor]]:
    """Datums (the second without weights), leaf logprob tensors, and the weights to expect."""
    gen = torch.Generator().manual_seed(seed)
    data: list[types.Datum] = []
    logprobs: list[torch.Tensor] = []
    weights: list[torch.Tensor] = []
    for i, n in enumerate(LENGTHS):
        tokens = torch.randint(0, 259, (n + 1,), generator=gen).tolist()
        inputs: dict[str, Any] = {"target_tokens": tokens[1:]}
        w = torch.rand(n, generator=gen)
        w[0] = 0.0  # a prompt token
        if i == 1:
            w = torch.ones(n)
        else:
            inputs["weights"] = w.tolist()
        data.append(
            types.Datum(model_input=types.ModelInput.from_ints(tokens[:-1]), loss_fn_inputs=inputs)
        )
        weights.append(w)
        lp = -torch.rand(n, generator=gen, dtype=torch.float32) * 4 - 0.01
        logprobs.append(lp.requires_grad_(True))
    return data, logprobs, weights


def grads_of(value: torch.Tensor, logprobs: list[torch.Tensor]) -> list[torch.Tensor]:
    return list(torch.autograd.grad(value, logprobs, retain_graph=True))


def check(
    term: TermFn,
    data: list[types.Datum],
    logprobs: list[torch.Tensor],
    expected_value: float | torch.Tensor,
    expected_grads: list[torch.Tensor],
) -> None:
    value = term(data, logprobs)
    assert value.shape == ()
    torch.testing.assert_close(value.detach(), torch.as_tensor(expected_value, dtype=value.dtype))
    for got, want in zip(grads_of(value, logprobs), expected_grads, strict=True):
        torch.testing.assert_close(got, want.to(got.dtype))


def weighted_sum(per_token: list[torch.Tensor], weights: list[torch.Tensor]) -> torch.Tensor:
    return sum(((x * w).sum() for x, w in zip(per_token, weights, strict=True)), torch.tensor(0.0))


# ----- the terms ---------------------------------------------------------------------------------
def test_token_weights_use_datum_weights_or_ones() -> None:
    data, logprobs, weights = make_batch()
    got = token_weights(data, logprobs)
    for g, w in zip(got, weights, strict=True):
        torch.testing.assert_close(g, w)
    assert all(torch.equal(g, torch.ones_like(g)) for g in token_weights(data, logprobs, False))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_cross_entropy(reduction: str) -> None:
    data, logprobs, weights = make_batch()
    lps = [lp.detach() for lp in logprobs]
    value = weighted_sum([-lp for lp in lps], weights)
    grads = [-w for w in weights]
    if reduction == "mean":
        total = sum(float(w.sum()) for w in weights)
        value, grads = value / total, [g / total for g in grads]
    check(cross_entropy(reduction=reduction), data, logprobs, value, grads)  # type: ignore[arg-type]


@pytest.mark.parametrize("center", [0.0, -2.0])
def test_l1(center: float) -> None:
    data, logprobs, weights = make_batch(1)
    lps = [lp.detach() for lp in logprobs]
    value = weighted_sum([(lp - center).abs() for lp in lps], weights)
    grads = [torch.sign(lp - center) * w for lp, w in zip(lps, weights, strict=True)]
    check(l1(center), data, logprobs, value, grads)


@pytest.mark.parametrize("center", [0.0, -1.5])
def test_l2(center: float) -> None:
    data, logprobs, weights = make_batch(2)
    lps = [lp.detach() for lp in logprobs]
    value = weighted_sum([(lp - center) ** 2 for lp in lps], weights)
    grads = [2 * (lp - center) * w for lp, w in zip(lps, weights, strict=True)]
    check(l2(center), data, logprobs, value, grads)


def test_l2_without_weights_and_mean() -> None:
    data, logprobs, _ = make_batch(3)
    lps = [lp.detach() for lp in logprobs]
    count = sum(LENGTHS)
    value = sum(float((lp**2).sum()) for lp in lps) / count
    grads = [2 * lp / count for lp in lps]
    check(l2(use_weights=False, reduction="mean"), data, logprobs, value, grads)


@pytest.mark.parametrize(("alpha", "ratio"), [(1.0, 0.5), (0.3, 0.0), (2.0, 1.0), (0.7, 0.25)])
def test_elastic_net(alpha: float, ratio: float) -> None:
    data, logprobs, weights = make_batch(4)
    lps = [lp.detach() for lp in logprobs]
    per_token = [alpha * (ratio * lp.abs() + (1 - ratio) / 2 * lp**2) for lp in lps]
    grads = [
        alpha * (ratio * torch.sign(lp) + (1 - ratio) * lp) * w
        for lp, w in zip(lps, weights, strict=True)
    ]
    check(elastic_net(alpha, ratio), data, logprobs, weighted_sum(per_token, weights), grads)
    # The documented identity with l1 and l2.
    combined = alpha * ratio * l1()(data, logprobs) + alpha * (1 - ratio) / 2 * l2()(data, logprobs)
    torch.testing.assert_close(elastic_net(alpha, ratio)(data, logprobs), combined)


def test_elastic_net_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="l1_ratio"):
        elastic_net(1.0, 1.5)
    with pytest.raises(ValueError, match="alpha"):
        elastic_net(-1.0)


def test_entropy_score_function_gradient() -> None:
    data, logprobs, weights = make_batch(5)
    lps = [lp.detach() for lp in logprobs]
    value = weighted_sum([-lp for lp in lps], weights)  # MC entropy estimate
    grads = [-lp * w for lp, w in zip(lps, weights, strict=True)]  # -log p * d log p
    check(entropy(), data, logprobs, value, grads)


def test_entropy_pathwise_gradient_and_mean() -> None:
    data, logprobs, weights = make_batch(6)
    lps = [lp.detach() for lp in logprobs]
    total = sum(float(w.sum()) for w in weights)
    value = weighted_sum([-lp for lp in lps], weights) / total
    grads = [-w / total for w in weights]
    check(entropy(gradient="pathwise", reduction="mean"), data, logprobs, value, grads)


def test_entropy_score_function_is_unbiased_for_a_categorical() -> None:
    # E_x~p[-log p(x) * d log p(x)] = dH: check it by exact expectation on a small softmax.
    theta = torch.tensor([0.3, -1.2, 0.8, 0.1], requires_grad=True)
    logp = torch.log_softmax(theta, 0)
    exact = torch.autograd.grad(-(logp.exp() * logp).sum(), theta)[0]
    term = entropy(use_weights=False)
    expected = torch.zeros(4)
    for x in range(4):
        lp = torch.log_softmax(theta, 0)[x].reshape(1)
        g = torch.autograd.grad(term([], [lp]), theta)[0]
        expected += float(logp[x].detach().exp()) * g
    torch.testing.assert_close(expected, exact)


@pytest.mark.parametrize("estimator", ["k1", "k2", "k3"])
def test_kl_to_reference(estimator: str) -> None:
    data, logprobs, weights = make_batch(7)
    gen = torch.Generator().manual_seed(11)
    refs = [-torch.rand(n, generator=gen) * 4 for n in LENGTHS]
    # References as a list, a TensorData and a tensor.
    given: list[Any] = [
        refs[0].tolist(),
        TensorData(data=refs[1].tolist(), dtype="float32"),
        refs[2],
    ]
    lps = [lp.detach() for lp in logprobs]
    rs = [lp - ref for lp, ref in zip(lps, refs, strict=True)]
    if estimator == "k1":
        per_token, dvalue = rs, [torch.ones_like(r) for r in rs]
    elif estimator == "k2":
        per_token, dvalue = [r**2 / 2 for r in rs], rs
    else:
        per_token = [torch.exp(-r) - 1 + r for r in rs]
        dvalue = [1 - torch.exp(-r) for r in rs]
    grads = [d * w for d, w in zip(dvalue, weights, strict=True)]
    term = kl_to_reference(given, estimator=estimator)  # type: ignore[arg-type]
    check(term, data, logprobs, weighted_sum(per_token, weights), grads)


def test_kl_k3_is_an_unbiased_nonnegative_kl_estimate() -> None:
    p = torch.tensor([0.5, 0.3, 0.2])
    q = torch.tensor([0.2, 0.5, 0.3])
    exact = float((p * (p / q).log()).sum())
    per_token = [
        float(kl_to_reference([q.log()[x : x + 1]], use_weights=False)([], [p.log()[x : x + 1]]))
        for x in range(3)
    ]
    assert all(v >= 0 for v in per_token)
    assert sum(float(p[x]) * per_token[x] for x in range(3)) == pytest.approx(exact, rel=1e-5)


def test_kl_checks_the_reference_shapes() -> None:
    data, logprobs, _ = make_batch()
    with pytest.raises(ValueError, match="3 datums"):
        kl_to_reference([[0.0] * 5])(data, logprobs)
    with pytest.raises(ValueError, match="datum 1"):
        kl_to_reference([[0.0] * 5, [0.0] * 2, [0.0] * 7])(data, logprobs)


# ----- RegularizedLoss ---------------------------------------------------------------------------
def make_loss(**kwargs: Any) -> tuple[RegularizedLoss, list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(3)
    refs = [-torch.rand(n, generator=gen) * 3 for n in LENGTHS]
    loss = RegularizedLoss(
        base=cross_entropy(),
        terms=[
            RegularizerTerm("l2", l2(center=-1.0), 0.1),
            RegularizerTerm("entropy", entropy(), -0.01),
            RegularizerTerm("kl", kl_to_reference(refs), 0.05),
        ],
        **kwargs,
    )
    return loss, refs


def test_regularized_loss_value_metrics_and_gradient() -> None:
    data, logprobs, _ = make_batch(8)
    loss, refs = make_loss()
    total, metrics = loss(data, logprobs)

    base = cross_entropy()(data, logprobs)
    parts = {
        "l2": (0.1, l2(center=-1.0)(data, logprobs)),
        "entropy": (-0.01, entropy()(data, logprobs)),
        "kl": (0.05, kl_to_reference(refs)(data, logprobs)),
    }
    expected = base + sum(w * v for w, v in parts.values())
    torch.testing.assert_close(total, expected)
    assert metrics["base/value"] == pytest.approx(float(base.detach()))
    for name, (weight, value) in parts.items():
        assert metrics[f"{name}/value"] == pytest.approx(float(value.detach()))
        assert metrics[f"{name}/contribution"] == pytest.approx(weight * float(value.detach()))
        direct = torch.cat([g.reshape(-1) for g in grads_of(weight * value, logprobs)])
        assert metrics[f"{name}/grad_norm"] == pytest.approx(float(direct.norm()), rel=1e-5)
    base_grad = torch.cat([g.reshape(-1) for g in grads_of(base, logprobs)])
    assert metrics["base/grad_norm"] == pytest.approx(float(base_grad.norm()), rel=1e-5)
    # The graph survives the grad-norm computations: the total's gradient is the sum's.
    for got, want in zip(grads_of(total, logprobs), grads_of(expected, logprobs), strict=True):
        torch.testing.assert_close(got, want)


def test_parallel_terms_give_the_same_result() -> None:
    data, logprobs, _ = make_batch(9)
    sequential, _ = make_loss()
    parallel, _ = make_loss(max_workers=4)
    total_a, metrics_a = sequential(data, logprobs)
    total_b, metrics_b = parallel(data, logprobs)
    torch.testing.assert_close(total_a, total_b)
    assert metrics_a.keys() == metrics_b.keys()
    for key, value in metrics_a.items():
        assert metrics_b[key] == pytest.approx(value, rel=1e-6), key
    for a, b in zip(grads_of(total_a, logprobs), grads_of(total_b, logprobs), strict=True):
        torch.testing.assert_close(a, b)


def test_without_grad_norms_and_with_a_base_returning_metrics() -> None:
    data, logprobs, _ = make_batch(10)

    def base(d: list[types.Datum], lps: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, Any]]:
        value = torch.stack([(lp**2).mean() for lp in lps]).mean()
        return value, {"msq": value.item(), "as_tensor": value.detach()}

    loss = RegularizedLoss(
        base=base, terms=[RegularizerTerm("l1", l1(), 0.5)], track_grad_norms=False
    )
    total, metrics = loss(data, logprobs)
    assert not any(key.endswith("/grad_norm") for key in metrics)
    assert metrics["msq"] == pytest.approx(metrics["base/value"])
    assert metrics["as_tensor"] == pytest.approx(metrics["base/value"])
    assert total.item() == pytest.approx(metrics["base/value"] + metrics["l1/contribution"])


def test_terms_only() -> None:
    data, logprobs, _ = make_batch(11)
    loss = RegularizedLoss(terms=[RegularizerTerm("l2", l2(), 2.0)])
    total, metrics = loss(data, logprobs)
    assert "base/value" not in metrics
    assert total.item() == pytest.approx(2.0 * metrics["l2/value"])


def test_regularized_loss_validation() -> None:
    with pytest.raises(ValueError, match="unique"):
        RegularizedLoss(terms=[RegularizerTerm("a", l1()), RegularizerTerm("a", l2())])
    with pytest.raises(ValueError, match="name"):
        RegularizerTerm("base", l1())
    with pytest.raises(ValueError, match="finite"):
        RegularizerTerm("a", l1(), float("inf"))
    with pytest.raises(TypeError, match="weight"):
        RegularizerTerm("a", l1(), "1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="base loss or at least one term"):
        RegularizedLoss()
    with pytest.raises(ValueError, match="max_workers"):
        RegularizedLoss(base=l1(), max_workers=0)
    data, logprobs, _ = make_batch()
    bad = RegularizedLoss(terms=[RegularizerTerm("vec", lambda d, lps: lps[0])])
    with pytest.raises(TypeError, match="vec: expected a scalar tensor"):
        bad(data, logprobs)


# ----- the offline half of forward_backward_custom ----------------------------------------------
def forward_output(logprobs: list[torch.Tensor]) -> ForwardBackwardOutput:
    outputs = []
    for lp in logprobs:
        out = LossFnOutput()
        out["logprobs"] = TensorData(data=lp.detach().tolist(), dtype="float32", shape=[lp.numel()])
        outputs.append(out)
    return ForwardBackwardOutput(
        loss_fn_output_type="cross_entropy",
        loss_fn_outputs=outputs,
        metrics=Metrics.from_dict({"loss:sum": 1.0}),
    )


def test_surrogate_weights_are_minus_the_loss_gradient() -> None:
    data, logprobs, _ = make_batch(12)
    loss, _ = make_loss()
    weights, value, metrics = gradients_for_custom_loss(data, forward_output(logprobs), loss)
    total, expected_metrics = loss(data, logprobs)
    assert value == pytest.approx(total.item(), rel=1e-6)
    assert metrics == pytest.approx(expected_metrics, rel=1e-5)
    for td, grad in zip(weights, grads_of(total, logprobs), strict=True):
        assert td.dtype == "float32" and td.shape == [grad.numel()]
        torch.testing.assert_close(torch.tensor(td.data), -grad)


def test_cross_entropy_as_a_custom_loss_gives_the_datum_weights() -> None:
    data, logprobs, weights = make_batch(13)

    def ce(d: list[types.Datum], lps: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return cross_entropy()(d, lps), {}

    surrogate, _, _ = gradients_for_custom_loss(data, forward_output(logprobs), ce)
    for td, w in zip(surrogate, weights, strict=True):
        torch.testing.assert_close(torch.tensor(td.data), w)


def test_unused_logprobs_get_zero_weights() -> None:
    data, logprobs, _ = make_batch(14)

    def first_only(d: Any, lps: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        return -lps[0].sum(), {"n": 1}

    weights, _, metrics = gradients_for_custom_loss(data, forward_output(logprobs), first_only)
    assert weights[1].data == [0.0] * LENGTHS[1] and metrics == {"n": 1.0}


def _returns(value: Any) -> Any:
    return lambda d, lps: value(lps) if callable(value) else value


@pytest.mark.parametrize(
    ("loss_fn", "error", "match"),
    [
        (_returns(lambda lps: lps[0].sum()), ValidationError, "tuple"),
        (_returns(lambda lps: (lps[0], {})), ValidationError, "scalar"),
        (_returns(lambda lps: (1.0, {})), ValidationError, "torch.Tensor"),
        (_returns(lambda lps: (lps[0].sum().detach(), {})), ValidationError, "does not depend"),
        (_returns(lambda lps: (lps[0].sum(), [1.0])), ValidationError, "dict of floats"),
        (_returns(lambda lps: (lps[0].sum(), {"m": "x"})), ValidationError, "metrics.m"),
        (_returns(lambda lps: (lps[0].sum(), {"m": lps[0]})), ValidationError, "metrics.m"),
        (_returns(lambda lps: (lps[0].sum() * float("nan"), {})), ValueError, "not finite"),
        (
            _returns(lambda lps: ((lps[0] - lps[0].detach()).abs().sqrt().sum(), {})),
            ValueError,
            "non-finite",
        ),
    ],
)
def test_bad_loss_functions_get_clear_errors(loss_fn: Any, error: type, match: str) -> None:
    data, logprobs, _ = make_batch(15)
    with pytest.raises(error, match=match):
        gradients_for_custom_loss(data, forward_output(logprobs), loss_fn)


def test_custom_loss_data_needs_target_tokens() -> None:
    datum = types.Datum(
        model_input=types.ModelInput.from_ints([1, 2, 3]), loss_fn_inputs={"weights": [1.0] * 3}
    )
    with pytest.raises(ValidationError, match="forward_backward_custom needs target_tokens"):
        forward_backward_custom(object(), [datum], lambda d, lps: (lps[0].sum(), {}))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="loss_fn"):
        forward_backward_custom(object(), [datum], "cross_entropy")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="non-empty list"):
        forward_backward_custom(object(), [], lambda d, lps: (lps[0].sum(), {}))  # type: ignore[arg-type]
