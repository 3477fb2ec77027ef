"""Comparing the webhook's answers with the exported ValidatingAdmissionPolicies', policy by policy.

The API server reports only the first policy denial of a request, so the policies are asked twice: as
exported (which write is refused, and every warning), and with every binding set to Warn (every check that
fails, whatever its action). The webhook lists all of its denials and warnings in one answer.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dryrun import Answer

from app.export.vap import RULE_LABEL


def binding_actions(documents: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Rule id -> the validation action of its (not grandfathered) binding."""
    return {
        doc["metadata"]["labels"][RULE_LABEL]: doc["spec"]["validationActions"][0]
        for doc in documents
        if doc["kind"] == "ValidatingAdmissionPolicyBinding"
        and not doc["metadata"]["name"].endswith("-grandfathered")
    }


def warn_only(documents: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same documents with every binding's action set to Warn, so that every failing check shows."""
    changed = copy.deepcopy(list(documents))
    for doc in changed:
        if doc["kind"] == "ValidatingAdmissionPolicyBinding":
            doc["spec"]["validationActions"] = ["Warn"]
    return changed


@dataclass(frozen=True)
class Comparison:
    """One policy's three answers, reduced to the exported rules."""

    name: str
    webhook: Answer
    vap: Answer
    vap_all: Answer

    def problems(self, actions: dict[str, str]) -> list[str]:
        exported = set(actions)
        deny_rules = {rule for rule, action in actions.items() if action == "Deny"}
        webhook_denied = self.webhook.denied_ids & exported
        webhook_warned = self.webhook.warned_ids & exported
        fired = self.vap_all.warned_ids
        vap_denied = fired & deny_rules
        vap_warned = self.vap.warned_ids
        found = []
        if webhook_denied != vap_denied:
            found.append(f"denied: webhook {sorted(webhook_denied)}, policies {sorted(vap_denied)}")
        if webhook_warned != vap_warned:
            found.append(f"warned: webhook {sorted(webhook_warned)}, policies {sorted(vap_warned)}")
        refused = self.vap.status == 403
        if refused != bool(vap_denied) or not self.vap.denied_ids <= vap_denied:
            found.append(f"as exported the policies answered {self.vap.status}: {self.vap.message[:300]}")
        if self.webhook.status not in (201, 403) and self.webhook.status != self.vap.status:
            found.append(f"status: webhook {self.webhook.status}, policies {self.vap.status}")
        return found
