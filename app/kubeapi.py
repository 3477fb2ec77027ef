"""The connection to a cluster's API, for the only commands that have one (`certs ensure`, `selftest`).

The kubernetes client is imported inside the functions: `serve` and `check` never load it.
"""

from __future__ import annotations

import json
from typing import Any


class ClusterUnreachable(Exception):
    """No usable cluster configuration, or no answer from the API server; the message says which."""


def connect() -> Any:
    """An ``ApiClient`` with in-cluster ServiceAccount credentials, or the local kubeconfig outside a
    cluster. Typed as Any: the client's generated signatures differ between releases.

    Raises `ClusterUnreachable` naming the kubeconfig when neither can be loaded.
    """
    from kubernetes import client, config

    loader: Any = config
    try:
        loader.load_incluster_config()
    except loader.ConfigException:
        try:
            loader.load_kube_config()
        except Exception as exc:  # a broken kubeconfig raises ConfigException, OSError, YAML or type errors
            where = loader.KUBE_CONFIG_DEFAULT_LOCATION  # $KUBECONFIG or ~/.kube/config, as read
            raise ClusterUnreachable(
                f"not inside a cluster, and the kubeconfig {where} cannot be loaded: {exc}"
            ) from None
    return client.ApiClient()


def transport_errors() -> tuple[type[Exception], ...]:
    """What a client call raises when no HTTP answer came back (refused, TLS failure, timeout)."""
    from urllib3.exceptions import HTTPError

    return (OSError, HTTPError)


def status_message(body: Any) -> str:
    """The ``message`` of a Kubernetes ``Status`` error body, or "" when the body is not one."""
    try:
        message = json.loads(body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        return ""
    return str(message)
