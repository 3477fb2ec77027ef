"""Hot reload of the rules file and the TLS pair: poll content hashes a few seconds apart.

Kubernetes updates mounted ConfigMaps and Secrets by swapping a symlink, which file-event watchers miss;
hashing what the paths resolve to now catches every update. A file that changed but does not load keeps
the last good version in use, logs an error and counts ``result="error"``; it is retried when it changes
again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from collections.abc import Sequence
from pathlib import Path

from app.admission.handler import AdmissionHandler
from app.errors import CertificateError, RulesFileError
from app.logs import FIELDS
from app.ruleset import load_ruleset
from app.server import metrics as metric_results
from app.server.metrics import Metrics
from app.server.tls import reload_pair

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
    """Polls the rules file (when one is configured) and the TLS pair, applying good changes."""

    def __init__(
        self,
        *,
        handler: AdmissionHandler,
        metrics: Metrics,
        rules_file: Path | None,
        tls_context: ssl.SSLContext,
        cert_file: Path,
        key_file: Path,
        interval: float,
    ) -> None:
        self.handler = handler
        self.metrics = metrics
        self.rules_file = rules_file
        self.tls_context = tls_context
        self.cert_file = cert_file
        self.key_file = key_file
        self.interval = interval
        self.rules_watch = ContentWatch([rules_file]) if rules_file is not None else None
        self.tls_watch = ContentWatch([cert_file, key_file])

    async def run(self) -> None:
        """Poll forever (cancel the task to stop)."""
        while True:
            await asyncio.sleep(self.interval)
            self.poll()

    def poll(self) -> None:
        """Check both watches once and reload what changed."""
        if self.rules_watch is not None and self.rules_watch.changed():
            self.reload_rules()
        if self.tls_watch.changed():
            self.reload_tls()

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
        """Load the new pair into the live context; keep the current pair when the new one is broken."""
        try:
            pair = reload_pair(self.tls_context, self.cert_file, self.key_file)
        except (CertificateError, ssl.SSLError, OSError) as exc:
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
