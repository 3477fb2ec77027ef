"""Decoding and evaluating pause the cyclic garbage collector and always leave it as they found it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.engine import evaluate, evaluate_document
from app.netpol import PolicyShapeError, decode_policy
from app.ruleset import load_ruleset

RULES = load_ruleset(None)


def build_policy(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": spec if spec is not None else {"podSelector": {"matchLabels": {"app": "web"}}},
    }


BROKEN = build_policy({"ingress": [{"from": {}}]})


def _decode_broken() -> object:
    with pytest.raises(PolicyShapeError):
        decode_policy(BROKEN)
    return None


CALLS: list[Any] = [
    pytest.param(lambda: decode_policy(build_policy()), id="decode"),
    pytest.param(_decode_broken, id="decode-error"),
    pytest.param(lambda: evaluate(decode_policy(build_policy()), RULES), id="evaluate"),
    pytest.param(lambda: evaluate_document(build_policy(), RULES), id="evaluate-document"),
    pytest.param(lambda: evaluate_document(BROKEN, RULES), id="evaluate-undecodable"),
]


@pytest.fixture
def restore_collector() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("restore_collector")
@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("enabled", [True, False], ids=["collector-on", "collector-off"])
def test_the_collector_is_left_as_it_was_found(call: Callable[[], object], enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    call()
    assert gc.isenabled() is enabled


@pytest.mark.usefixtures("restore_collector")
def test_the_collector_runs_again_after_a_rule_raised() -> None:
    gc.enable()

    class Boom(Exception):
        pass

    def exploding_check(*_: object) -> Iterator[object]:
        raise Boom
        yield  # pragma: no cover

    rule = RULES.active_rules[0][0]
    original = rule.check
    rule.check = exploding_check  # type: ignore[method-assign]
    try:
        with pytest.raises(Boom):
            evaluate(decode_policy(build_policy()), RULES)
    finally:
        rule.check = original  # type: ignore[method-assign]
    assert gc.isenabled()
