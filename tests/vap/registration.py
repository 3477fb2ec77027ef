"""Putting each enforcement point on a real API server: the chart's webhook configuration, the exported
policies, and waiting until the API server's informers have them (or no longer have them).

The webhook configuration is the chart's own (rendered with Helm), pointed at a local server through
``clientConfig.url`` so that the API server only ever dials 127.0.0.1.
"""

from __future__ import annotations

import copy
import json
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "netpol-guard"
WEBHOOK_TEMPLATE = "templates/validatingwebhookconfiguration.yaml"


def chart_webhook_configuration(
    helm: str, url: str, ca_bundle: str, match_labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The chart's ValidatingWebhookConfiguration with ``clientConfig`` set to ``url`` (loopback only)."""
    if not url.startswith("https://127.0.0.1:"):
        raise ValueError(f"refusing a webhook that is not on loopback: {url}")
    rendered = subprocess.run(
        [helm, "template", "netpol-guard", str(CHART), "-n", "netpol-guard", "--show-only", WEBHOOK_TEMPLATE],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    config: dict[str, Any] = yaml.safe_load(rendered)
    for webhook in config["webhooks"]:
        webhook["clientConfig"] = {"url": url, "caBundle": ca_bundle}
        if match_labels:
            webhook["namespaceSelector"]["matchLabels"] = dict(match_labels)
    return config


def scoped_to_namespaces(
    documents: Sequence[dict[str, Any]], match_labels: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The exported documents with every binding limited to namespaces carrying ``match_labels``."""
    scoped = copy.deepcopy(list(documents))
    for doc in scoped:
        if doc["kind"] == "ValidatingAdmissionPolicyBinding":
            resources = doc["spec"].setdefault("matchResources", {})
            resources.setdefault("namespaceSelector", {})["matchLabels"] = dict(match_labels)
    return scoped


def kubectl(kubectl_args: Sequence[str], verb: Sequence[str], documents: Sequence[Any]) -> None:
    """``kubectl <verb> -f -`` of ``documents``; raises with kubectl's error text."""
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(documents)})
    done = subprocess.run(
        [*kubectl_args, *verb, "-f", "-"], input=body, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(verb)} failed: {done.stderr.strip()}")


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` (the API server reads admission configuration through informers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
