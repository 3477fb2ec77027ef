"""Large reviews are judged off the event loop, and a body with too many JSON values is not parsed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx
from server_harness import Running, example, review_bytes

from app.admission.handler import Decision
from app.server.webhook import MAX_JSON_VALUES, count_json_values

Start = Callable[..., Running]


def _review_with_labels(count: int, uid: str, value: str = "") -> bytes:
    review = example("good")
    review["request"]["uid"] = uid
    review["request"]["object"]["metadata"]["labels"] = {f"k{i}": value for i in range(count)}
    return json.dumps(review, separators=(",", ":")).encode()


def test_probes_answer_while_a_large_review_is_judged(start_server: Start) -> None:
    running = start_server()
    handler = running.server.handler
    judge = handler.handle

    def slow_judge(body: bytes, content_type: str | None) -> Decision:
        time.sleep(3)  # stands in for a judge that takes long, without holding the GIL
        return judge(body, content_type)

    handler.handle = slow_judge  # type: ignore[method-assign]
    body = _review_with_labels(20_000, "big", "v" * 40)  # ~1 MiB
    answer: list[httpx.Response] = []
    reviewer = threading.Thread(target=lambda: answer.append(running.post(body)))
    reviewer.start()
    time.sleep(0.5)  # the body is in and being judged
    started = time.monotonic()
    probe = httpx.get(f"{running.probe_url}/healthz", timeout=10)
    probe_seconds = time.monotonic() - started
    small = running.post(review_bytes(uid="small"))  # small reviews are not queued behind it either
    reviewer.join(timeout=30)

    assert probe.status_code == 200
    assert probe_seconds < 1.5  # a blocked event loop would answer only after the 3 s judge
    assert small.json()["response"]["uid"] == "small"
    assert reviewer.is_alive() is False and answer[0].json()["response"]["uid"] == "big"


def test_a_body_with_more_json_values_than_the_limit_is_refused_unparsed_naming_the_count(
    start_server: Start,
) -> None:
    running = start_server()
    body = _review_with_labels(MAX_JSON_VALUES, "too-many")
    values = count_json_values(body)

    response = running.post(body).json()["response"]

    assert values > MAX_JSON_VALUES
    assert response["uid"] == "too-many"
    assert response["allowed"] is False
    assert response["status"]["code"] == 413
    assert f"{values} JSON values" in response["status"]["message"]
    assert str(MAX_JSON_VALUES) in response["status"]["message"]


def test_a_body_just_under_the_json_value_limit_is_judged(start_server: Start) -> None:
    running = start_server()
    count = MAX_JSON_VALUES - 200
    body = _review_with_labels(count, "many")
    assert count_json_values(body) <= MAX_JSON_VALUES

    response = running.post(body).json()["response"]

    assert response["uid"] == "many"
    assert response["status"]["code"] != 413  # judged: the engine's own limits decide from here
