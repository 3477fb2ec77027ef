"""The rule registry: one module per rule id; the catalog (`netpol-guard rules`) is built from it."""

from __future__ import annotations

from typing import Any

from app.rules.api_validation import ApiValidation
from app.rules.base import Rule
from app.rules.forbid_allow_all import ForbidAllowAll
from app.rules.forbid_broad_cidr import ForbidBroadCidr
from app.rules.forbid_empty_pod_selector import ForbidEmptyPodSelector
from app.rules.limit_complexity import LimitComplexity
from app.rules.limit_port_range import LimitPortRange
from app.rules.protect_baseline import ProtectBaseline
from app.rules.require_dns_egress import RequireDnsEgress
from app.rules.require_labels import RequireAnnotations, RequireLabels
from app.rules.require_policy_types import RequirePolicyTypes
from app.rules.require_ports import RequirePorts

# Catalog order. Each module defines one Rule subclass (require_labels defines the labels/annotations
# pair, which share their parameter shape).
_RULES: tuple[type[Rule[Any]], ...] = (
    RequirePolicyTypes,
    ForbidAllowAll,
    RequireLabels,
    RequireAnnotations,
    ForbidBroadCidr,
    ForbidEmptyPodSelector,
    RequirePorts,
    LimitPortRange,
    RequireDnsEgress,
    LimitComplexity,
    ProtectBaseline,
    ApiValidation,
)

REGISTRY: dict[str, Rule[Any]] = {rule.id: rule() for rule in _RULES}
