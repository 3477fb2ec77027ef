"""Server-side dry-run creates of NetworkPolicies, and the rule ids the API server's answer names.

What `kubectl create --dry-run=server` sends (POST with ``dryRun=All``), sent straight over HTTP with the
admin client certificate: hundreds of policies take seconds instead of one kubectl process each, and the
answer's Warning headers stay attached to the policy that caused them.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx

from app.rules import REGISTRY

# Only the registry's ids: messages also quote patterns such as [a-z].
RULE_ID: Final = re.compile(r"\[(" + "|".join(map(re.escape, REGISTRY)) + r")\]")
_WARNING: Final = re.compile(r'^\d{3} \S+ "(.*)"$', re.DOTALL)


@dataclass(frozen=True)
class Answer:
    """The API server's answer to one dry-run create."""

    status: int
    message: str
    warnings: tuple[str, ...]

    @property
    def denied_ids(self) -> frozenset[str]:
        """Rule ids in the denial (a webhook lists all of its denials; a policy denial names one)."""
        return frozenset(RULE_ID.findall(self.message)) if self.status == 403 else frozenset()

    @property
    def warned_ids(self) -> frozenset[str]:
        return frozenset(rule for line in self.warnings for rule in RULE_ID.findall(line))


@dataclass(frozen=True)
class ApiServer:
    """Where the API server is and the admin client certificate to reach it with."""

    url: str
    ca_file: Path
    cert_file: Path
    key_file: Path

    def client(self, timeout: float = 30.0) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return httpx.Client(
            base_url=self.url,
            verify=context,
            timeout=timeout,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
        )


def _unquote(header: str) -> str:
    match = _WARNING.match(header)
    text = match.group(1) if match else header
    return text.replace('\\"', '"').replace("\\\\", "\\")


def dry_run_create(client: httpx.Client, policy: dict[str, Any]) -> Answer:
    namespace = (policy.get("metadata") or {}).get("namespace") or "default"
    response = client.post(
        f"/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies",
        params={"dryRun": "All", "fieldManager": "netpol-guard-vap-test"},
        json=policy,
    )
    message = ""
    if response.status_code >= 300:
        try:
            message = str(response.json().get("message", ""))
        except ValueError:
            message = response.text
    warnings = tuple(_unquote(value) for value in response.headers.get_list("warning"))
    return Answer(response.status_code, message, warnings)


def dry_run_all(server: ApiServer, policies: Sequence[dict[str, Any]], workers: int = 4) -> list[Answer]:
    """Every policy dry-run created, in order, ``workers`` at a time (bounded: 2 cores are shared)."""
    with server.client() as client, ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda policy: dry_run_create(client, policy), policies))


def ensure_namespaces(server: ApiServer, names: Iterable[str]) -> None:
    """Create the namespaces the policies name (a dry-run create still needs its namespace)."""
    with server.client() as client:
        for name in sorted(set(names)):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            response = client.post("/api/v1/namespaces", json=body)
            if response.status_code not in (201, 409):
                raise RuntimeError(f"cannot create namespace {name}: {response.status_code} {response.text}")
