"""The connection to a cluster's API, for the only commands that have one (`certs ensure`, `selftest`).

The kubernetes client is imported inside the functions: `serve` and `check` never load it.
"""

from __future__ import annotations

import json
from typing import Any


def connect() -> Any:
    """An ``ApiClient`` with in-cluster ServiceAccount credentials, or the local kubeconfig outside a
    cluster. Typed as Any: the client's generated signatures differ between releases."""
    from kubernetes import client, config

    loader: Any = config
    try:
        loader.load_incluster_config()
    except loader.ConfigException:
        loader.load_kube_config()
    return client.ApiClient()


def status_message(body: Any) -> str:
    """The ``message`` of a Kubernetes ``Status`` error body, or "" when the body is not one."""
    try:
        message = json.loads(body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        return ""
    return str(message)
