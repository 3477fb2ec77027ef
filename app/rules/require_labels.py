"""`require-labels` and `require-annotations`: required metadata keys, with allowed values."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.netpol import NetworkPolicy
from app.patterns import Pattern, PatternError, compile_pattern
from app.rules.base import Action, Context, Finding, Rule, RuleSettings


class MetadataRequirement(BaseModel):
    """One required key, optionally constrained by a regex (full match) or a list of allowed values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(min_length=1, description="The label or annotation key that must be present.")
    # `format: regex` in the JSON schema: the chart checks the pattern with Helm's regexMatch (Go regexp,
    # RE2's syntax) when it renders.
    pattern: Annotated[str, Field(json_schema_extra={"format": "regex"})] | None = Field(
        default=None,
        description="RE2 regular expression (Go regexp syntax) the whole value must match.",
    )
    values: list[str] | None = Field(default=None, description="Allowed values.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                compile_pattern(pattern)
            except PatternError as exc:
                raise ValueError(str(exc)) from None
        return pattern

    @cached_property
    def compiled(self) -> Pattern | None:
        return compile_pattern(self.pattern) if self.pattern is not None else None

    def problem_with(self, found: dict[str, str], noun: str) -> tuple[str, str] | None:
        """(problem, fix) when ``found`` does not satisfy this requirement, else None."""
        if self.key not in found:
            return f"{noun} {self.key!r} is missing", f"add {noun} {self.key!r}{self._hint()}"
        value = found[self.key]
        if self.compiled is not None and not self.compiled.matches(value):
            return (
                f"{noun} {self.key}={value!r} does not match the pattern {self.pattern!r}",
                f"set {noun} {self.key!r} to a value matching {self.pattern!r}",
            )
        if self.values is not None and value not in self.values:
            return (
                f"{noun} {self.key}={value!r} is not one of the allowed values",
                f"set {noun} {self.key!r} to one of: {', '.join(self.values)}",
            )
        return None

    def _hint(self) -> str:
        if self.values:
            return f" with one of: {', '.join(self.values)}"
        if self.pattern is not None:
            return f" with a value matching {self.pattern!r}"
        return ""


# For the chart's render-time check (templates/_rulesfile.tpl), which mirrors `_unique_keys` below.
_UNIQUE_KEYS: dict[str, Any] = {"x-unique-by": "key"}


class _MetadataSettings(RuleSettings):
    @model_validator(mode="after")
    def _unique_keys(self) -> _MetadataSettings:
        keys = [item.key for item in self._requirements()]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"keys listed more than once: {', '.join(duplicates)}")
        return self

    def _requirements(self) -> list[MetadataRequirement]:
        raise NotImplementedError


class RequireLabelsSettings(_MetadataSettings):
    action: Action = Field(default=Action.DENY, description="deny | warn | audit | off")
    labels: list[MetadataRequirement] = Field(
        default=[], description="Labels every policy must carry.", json_schema_extra=_UNIQUE_KEYS
    )

    def _requirements(self) -> list[MetadataRequirement]:
        return self.labels


class RequireAnnotationsSettings(_MetadataSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")
    annotations: list[MetadataRequirement] = Field(
        default=[],
        description="Annotations every policy must carry (e.g. a description of its intent).",
        json_schema_extra=_UNIQUE_KEYS,
    )

    def _requirements(self) -> list[MetadataRequirement]:
        return self.annotations


class RequireLabels(Rule[RequireLabelsSettings]):
    """Policies carry the labels the organisation relies on (owner, team, tier...)."""

    id = "require-labels"
    settings_model = RequireLabelsSettings

    def check(
        self, policy: NetworkPolicy, settings: RequireLabelsSettings, context: Context
    ) -> Iterable[Finding]:
        labels = policy.metadata.get("labels") or {}
        for requirement in settings.labels:
            problem = requirement.problem_with(labels, "label")
            if problem is not None:
                yield Finding("metadata.labels", *problem)


class RequireAnnotations(Rule[RequireAnnotationsSettings]):
    """Policies carry the annotations the organisation relies on (e.g. why the policy exists)."""

    id = "require-annotations"
    settings_model = RequireAnnotationsSettings

    def check(
        self, policy: NetworkPolicy, settings: RequireAnnotationsSettings, context: Context
    ) -> Iterable[Finding]:
        annotations = policy.metadata.get("annotations") or {}
        for requirement in settings.annotations:
            problem = requirement.problem_with(annotations, "annotation")
            if problem is not None:
                yield Finding("metadata.annotations", *problem)
