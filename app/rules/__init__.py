"""The rule registry: one module per rule id; the catalog (`netpol-guard rules`) is built from it."""

from __future__ import annotations

from typing import Any

from app.rules.base import Rule
from app.rules.require_labels import RequireAnnotations, RequireLabels

# Catalog order. Each module defines one Rule subclass (require_labels defines the labels/annotations
# pair, which share their parameter shape).
_RULES: tuple[type[Rule[Any]], ...] = (
    RequireLabels,
    RequireAnnotations,
)

REGISTRY: dict[str, Rule[Any]] = {rule.id: rule() for rule in _RULES}
