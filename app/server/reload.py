"""Hot reload of the rules file, the TLS pair and the client CA bundle: poll content hashes.

Kubernetes updates mounted ConfigMaps and Secrets by swapping a symlink, which file-event watchers miss;
hashing what the paths resolve to now catches every update. A file that changed but does not load keeps
the last good version in use, logs an error and counts ``result="error"``; it is retried when it changes
again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

from app.admission.handler import AdmissionHandler
from app.errors import CertificateError, RulesFileError
from app.logs import FIELDS
from app.ruleset import load_ruleset
from app.server import metrics as metric_results
from app.server.metrics import Metrics
from app.server.tls import ServingTLS, check_client_cas, check_pair

logger = logging.getLogger(__name__)


class ContentWatch:
    """Remembers a digest of some files' contents and tells when it changes."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(paths)
        self.digest = self.current()

    def current(self) -> bytes:
        """A digest of every file's bytes (an unreadable file hashes as its error)."""
        digest = hashlib.sha256()
        for path in self.paths:
            try:
                digest.update(path.read_bytes())
            except OSError as exc:
                digest.update(f"unreadable: {exc}".encode())
            digest.update(b"\0")
        return digest.digest()

    def changed(self) -> bool:
        """True once per change (the new digest becomes the remembered one)."""
        now = self.current()
        if now == self.digest:
            return False
        self.digest = now
        return True


class Reloader:
    """Polls the rules file, the TLS pair and the client CA bundle (when configured); applies good changes."""

    def __init__(
        self,
        *,
        handler: AdmissionHandler,
        metrics: Metrics,
        rules_file: Path | None,
        tls: ServingTLS,
        cert_file: Path,
        key_file: Path,
        client_ca_file: Path | None = None,
        interval: float,
    ) -> None:
        self.handler = handler
        self.metrics = metrics
        self.rules_file = rules_file
        self.tls = tls
        self.cert_file = cert_file
        self.key_file = key_file
        self.client_ca_file = client_ca_file
        self.interval = interval
        self.rules_watch = ContentWatch([rules_file]) if rules_file is not None else None
        self.tls_watch = ContentWatch([cert_file, key_file])
        self.ca_watch = ContentWatch([client_ca_file]) if client_ca_file is not None else None

    async def run(self) -> None:
        """Poll forever (cancel the task to stop)."""
        while True:
            await asyncio.sleep(self.interval)
            self.poll()

    def poll(self) -> None:
        """Check every watch once and reload what changed."""
        if self.rules_watch is not None and self.rules_watch.changed():
            self.reload_rules()
        if self.tls_watch.changed():
            self.reload_tls()
        if self.ca_watch is not None and self.ca_watch.changed():
            self.reload_client_cas()

    def reload_rules(self) -> None:
        """Load the rules file; keep the current rules when it is broken."""
        assert self.rules_file is not None
        try:
            ruleset = load_ruleset(self.rules_file)
        except RulesFileError as exc:
            self.metrics.config_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "the changed rules file does not load; still using the previous rules",
                extra={FIELDS: {"file": str(self.rules_file), "error": str(exc)}},
            )
            return
        self.handler.ruleset = ruleset
        self.metrics.config_reloads.labels(result=metric_results.SUCCESS).inc()
        logger.info(
            "rules reloaded",
            extra={
                FIELDS: {
                    "file": str(self.rules_file),
                    "mode": ruleset.mode.value,
                    "active_rules": [rule.id for rule, _ in ruleset.active_rules],
                }
            },
        )

    def reload_tls(self) -> None:
        """Serve the new pair to new handshakes; keep the current pair when the new one is broken."""
        try:
            pair = check_pair(self.cert_file, self.key_file)
            self.tls.replace_pair(pair)
        except CertificateError as exc:
            self.metrics.tls_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "the changed TLS certificate or key does not load; still serving the previous pair",
                extra={FIELDS: {"cert_file": str(self.cert_file), "error": str(exc)}},
            )
            return
        self.metrics.tls_reloads.labels(result=metric_results.SUCCESS).inc()
        self.metrics.tls_expiry.set(pair.not_after)
        logger.info(
            "TLS certificate reloaded",
            extra={FIELDS: {"cert_file": str(self.cert_file), "not_after": pair.not_after}},
        )

    def reload_client_cas(self) -> None:
        """Trust exactly the new client CA bundle; keep the current CAs when the new bundle is broken."""
        assert self.client_ca_file is not None
        try:
            client_cas = check_client_cas(self.client_ca_file)
            self.tls.replace_client_cas(client_cas)
        except CertificateError as exc:
            self.metrics.tls_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "the changed client CA bundle does not load; still trusting the previous client CAs",
                extra={FIELDS: {"client_ca_file": str(self.client_ca_file), "error": str(exc)}},
            )
            return
        self.metrics.tls_reloads.labels(result=metric_results.SUCCESS).inc()
        logger.info(
            "client CA bundle reloaded; new connections must present a certificate from one of these CAs",
            extra={
                FIELDS: {"client_ca_file": str(self.client_ca_file), "client_cas": list(client_cas.subjects)}
            },
        )
