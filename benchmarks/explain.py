"""`make bench-engine` (second part): what `explain` costs, offline and at admission.

Offline: reading and explaining the whole shared corpus (text rendering included), and a diff of the
corpus against itself. At admission: the handler's median microseconds per review over the corpus, with
``explain.admission: off`` (the handler as it was before explain) and with the default ``changes``, for
CREATE (one summary line per direction) and for UPDATE (the old object with its first port changed, so
the diff has work to do). Target: ``changes`` within 10 % of ``off``. The cyclic GC is paused, as serve
pauses it; times are CPU time of the process, the best of 7 interleaved runs.
"""

from __future__ import annotations

import copy
import gc
import time
from pathlib import Path
from typing import Any

import orjson

from app.admission.handler import AdmissionHandler
from app.explain.diff import diff_explanations
from app.explain.document import explain_document
from app.explain.inputs import explain_paths
from app.explain.text import render_explain_text
from app.manifests import read_manifests
from app.ruleset import load_ruleset, parse_ruleset
from benchmarks.engine import typical_policy

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "real"
TARGET_OVERHEAD = 0.10


def _review(operation: str, obj: dict[str, Any], old: dict[str, Any] | None, uid: str) -> bytes:
    meta = obj.get("metadata") or {}
    request = {
        "uid": uid,
        "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
        "resource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
        "namespace": meta.get("namespace") or "default",
        "name": meta.get("name") or "x",
        "operation": operation,
        "userInfo": {"username": "bench"},
        "object": obj,
        "oldObject": old,
    }
    return orjson.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})


def _changed(obj: dict[str, Any]) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    spec = new.get("spec")
    if isinstance(spec, dict):
        for rule in spec.get("ingress") or spec.get("egress") or ():
            if isinstance(rule, dict) and isinstance(rule.get("ports"), list) and rule["ports"]:
                rule["ports"] = [*rule["ports"], {"port": 9999}]
                return new
        spec["policyTypes"] = ["Ingress", "Egress"]
    return new


def _objects() -> list[dict[str, Any]]:
    if not CORPUS.is_dir():
        return [typical_policy()]
    return [document.obj for manifest in read_manifests([str(CORPUS)]) for document in manifest.policies]


def _per_review_us(handler: AdmissionHandler, bodies: list[bytes]) -> float:
    # CPU time of this process, not wall time: on a shared machine other processes only add wall time.
    start = time.process_time()
    for body in bodies:
        handler.handle(body, "application/json")
    return (time.process_time() - start) * 1e6 / len(bodies)


def _handler(mode: str) -> AdmissionHandler:
    document = load_ruleset().model_dump(by_alias=True, mode="json")
    document["explain"] = {"admission": mode}
    return AdmissionHandler(parse_ruleset(document, f"<default rules, explain {mode}>"))


def main() -> None:
    gc.disable()
    if CORPUS.is_dir():
        start = time.perf_counter()
        explained = explain_paths([str(CORPUS)])
        text = render_explain_text(explain_document(explained.policies, explained.errors, by_subject=True))
        seconds = time.perf_counter() - start
        print(
            f"corpus explain: {len(explained.policies)} policies in {explained.files} files, "
            f"{len(text.splitlines())} lines of text, {seconds * 1000:.0f} ms (read + explain + render)"
        )
        start = time.perf_counter()
        diff_explanations(explained.policies, explained.policies)
        print(f"corpus diff against itself: {(time.perf_counter() - start) * 1000:.0f} ms")
    objects = _objects()
    creates = [_review("CREATE", obj, None, f"c{n}") for n, obj in enumerate(objects)]
    updates = [_review("UPDATE", _changed(obj), obj, f"u{n}") for n, obj in enumerate(objects)]
    worst = 0.0
    for name, bodies in (("CREATE", creates), ("UPDATE", updates)):
        # Interleaved, and the best of several runs: the machine is shared, noise only ever adds time.
        handlers = {mode: _handler(mode) for mode in ("off", "changes")}
        runs: dict[str, list[float]] = {"off": [], "changes": []}
        for _ in range(7):
            for mode, handler in handlers.items():
                runs[mode].append(_per_review_us(handler, bodies))
        off, on = min(runs["off"]), min(runs["changes"])
        overhead = on / off - 1
        worst = max(worst, overhead)
        print(
            f"admission {name}: {off:.1f} us/review with explain off, {on:.1f} us with changes "
            f"({overhead:+.1%}; {len(bodies)} corpus reviews)"
        )
    verdict = "ok" if worst <= TARGET_OVERHEAD else "OVER TARGET"
    print(f"explain at admission: worst overhead {worst:+.1%} (target <= {TARGET_OVERHEAD:.0%}): {verdict}")


if __name__ == "__main__":
    main()
