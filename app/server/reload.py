"""Hot reload of the rules file, the TLS pair and the client CA bundle: poll content hashes.

Kubernetes updates mounted ConfigMaps and Secrets by swapping a symlink, which file-event watchers miss;
hashing what the paths resolve to now catches every update. A file that changed but does not load keeps
the last good version in use, logs an error and counts ``result="error"``; it is retried when it changes
again.

Nothing a file contains may stop the loop: `read_rules` and `read_pair` turn any exception (a 5,000-digit
number, a bug in a parser) into the one-line error of that file, both at start and on reload, and `run`
catches whatever is left at its boundary, counts it and goes on. Should the loop end anyway, the runner
sees its task end and /readyz turns unready, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from app.admission.handler import AdmissionHandler
from app.errors import CertificateError, NetpolGuardError, RulesFileError
from app.logs import FIELDS
from app.ruleset import RuleSet, load_ruleset
from app.server import metrics as metric_results
from app.server.metrics import Metrics
from app.server.tls import ClientCAs, ServingPair, ServingTLS, check_client_cas, check_pair

logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def read_rules(path: Path | None) -> RuleSet:
    """`load_ruleset`, with any failure (not only the expected ones) as a `RulesFileError` naming ``path``."""
    return _one_error(RulesFileError, f"{path}: the rules file does not load", lambda: load_ruleset(path))


def read_pair(cert_file: Path, key_file: Path) -> ServingPair:
    """`check_pair`, with any failure as a `CertificateError` naming both files."""
    where = f"{cert_file} / {key_file}: the TLS pair does not load"
    return _one_error(CertificateError, where, lambda: check_pair(cert_file, key_file))


def read_client_cas(ca_file: Path) -> ClientCAs:
    """`check_client_cas`, with any failure as a `CertificateError` naming the file."""
    where = f"{ca_file}: the client CA bundle does not load"
    return _one_error(CertificateError, where, lambda: check_client_cas(ca_file))


def _one_error(error: type[NetpolGuardError], where: str, load: Callable[[], _T]) -> _T:
    try:
        return load()
    except error:
        raise
    except Exception as exc:  # whatever a file holds, one line naming it
        raise error(f"{where}: {describe(exc)}") from None


def _error_text(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, CertificateError | RulesFileError) else describe(exc)


def describe(exc: BaseException) -> str:
    # One line: the exception's first line, capped, prefixed with its class for the unexpected ones.
    text = str(exc).splitlines()[0] if str(exc) else ""
    if len(text) > 300:
        text = text[:300] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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
        self._now = asyncio.Event()

    async def run(self) -> None:
        """Poll until cancelled; a poll that fails is logged and counted, and the loop goes on.

        What could still end it (a BaseException) is logged here; the runner shows it in /readyz.
        """
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._now.wait(), self.interval)
                forced = self._now.is_set()
                self._now.clear()
                self._poll_guarded(force=forced)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            logger.critical(
                "the reload loop stopped; rules and TLS changes are no longer applied",
                extra={FIELDS: {"error": describe(exc)}},
            )
            raise

    def reload_now(self) -> None:
        """Re-read every file at the next turn of the loop, changed or not (what SIGHUP does)."""
        self._now.set()

    def _poll_guarded(self, *, force: bool = False) -> None:
        try:
            self.poll(force=force)
        except Exception as exc:  # a reload must never end the loop
            # `poll` handles each file's errors itself; this is the net under it (e.g. a digest that fails).
            self.metrics.config_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "checking the rules and TLS files failed; still using the previous ones",
                extra={FIELDS: {"file": str(self.rules_file), "error": describe(exc)}},
            )

    def poll(self, *, force: bool = False) -> None:
        """Check every watch once and reload what changed (everything when ``force``)."""
        if self.rules_watch is not None and (self.rules_watch.changed() or force):
            self.reload_rules()
        if self.tls_watch.changed() or force:
            self.reload_tls()
        if self.ca_watch is not None and (self.ca_watch.changed() or force):
            self.reload_client_cas()

    def reload_rules(self) -> None:
        """Load the rules file; keep the current rules when it is broken."""
        assert self.rules_file is not None
        try:
            ruleset = read_rules(self.rules_file)
        except Exception as exc:  # RulesFileError, or anything else: keep the last good rules
            self.metrics.config_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "the changed rules file does not load; still using the previous rules",
                extra={FIELDS: {"file": str(self.rules_file), "error": _error_text(exc)}},
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
            pair = read_pair(self.cert_file, self.key_file)
            self.tls.replace_pair(pair)
        except Exception as exc:  # CertificateError, or anything the TLS library raised
            self.metrics.tls_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "the changed TLS certificate or key does not load; still serving the previous pair",
                extra={FIELDS: {"cert_file": str(self.cert_file), "error": _error_text(exc)}},
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
            client_cas = read_client_cas(self.client_ca_file)
            self.tls.replace_client_cas(client_cas)
        except Exception as exc:
            self.metrics.tls_reloads.labels(result=metric_results.FAILURE).inc()
            logger.error(
                "the changed client CA bundle does not load; still trusting the previous client CAs",
                extra={FIELDS: {"client_ca_file": str(self.client_ca_file), "error": _error_text(exc)}},
            )
            return
        self.metrics.tls_reloads.labels(result=metric_results.SUCCESS).inc()
        logger.info(
            "client CA bundle reloaded; new connections must present a certificate from one of these CAs",
            extra={
                FIELDS: {"client_ca_file": str(self.client_ca_file), "client_cas": list(client_cas.subjects)}
            },
        )
