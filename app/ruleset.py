"""The organisational rules file: pydantic models, loading with precise errors, the embedded default.

An unknown key, unknown rule id, wrong type or bad regex is a `RulesFileError` naming the file and the
key path (``rules.require-labels.labels[0].pattern: ...``).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    create_model,
    field_validator,
)

from app.errors import RulesFileError
from app.manifests import UnreadableManifest, YamlLoader, decode_text
from app.netpol import format_path
from app.patterns import Pattern, compile_globs
from app.rules import REGISTRY
from app.rules.base import Action, Context, Rule, RuleSettings
from app.yamlerrors import describe_yaml_error

DEFAULT_RULES_RESOURCE = "default-rules.yaml"
_MAX_PLANS = 4096


class Mode(StrEnum):
    """enforce: as configured; warn: every deny becomes a warning; audit: nothing shown, only logged."""

    ENFORCE = "enforce"
    WARN = "warn"
    AUDIT = "audit"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AnnotationExemption(_Strict):
    enabled: StrictBool = Field(
        default=False,
        description="Per-object opt-out by annotation; off so authors cannot exempt themselves.",
    )
    key: StrictStr = Field(
        default="netpol-guard.io/exempt", min_length=1, description="Annotation listing rule ids to skip."
    )
    reason_key: StrictStr = Field(
        default="netpol-guard.io/exempt-reason",
        alias="reasonKey",
        min_length=1,
        description="Annotation that must give a non-empty reason for the opt-out to count.",
    )


class Exemptions(_Strict):
    namespaces: list[StrictStr] = Field(
        default=["kube-system", "kube-public", "kube-node-lease"], description="Namespace globs never judged."
    )
    users: list[StrictStr] = Field(default=[], description="Usernames (exact) whose writes are never judged.")
    groups: list[StrictStr] = Field(default=[], description="Groups whose members' writes are never judged.")
    annotation: AnnotationExemption = Field(
        default_factory=AnnotationExemption, description="Per-object opt-out by annotation."
    )

    @cached_property
    def _namespace_pattern(self) -> Pattern | None:
        return compile_globs(self.namespaces)

    def exempts_namespace(self, namespace: str) -> bool:
        pattern = self._namespace_pattern
        return pattern is not None and pattern.matches(namespace)


class ExplainSettings(_Strict):
    admission: Literal["off", "changes", "summary"] = Field(
        default="changes",
        description=(
            "What admission warnings say about what a write allows: off; changes (UPDATE: what it opens "
            "and closes, CREATE: a line per isolated direction, DELETE: one conditional line); summary "
            "(UPDATE: one line counting the changes)."
        ),
    )

    @field_validator("admission", mode="before")
    @classmethod
    def _bare_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `admission: off` as false; that is what people write, so it means off.
        return "off" if value is False else value


# One field per rule id, so that an unknown id is an "extra" error at `rules.<id>` and each rule's
# parameters are validated by its own model, with the rule's defaults when the file omits it.
RulesConfig: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "RulesConfig",
    __config__=ConfigDict(extra="forbid", frozen=True, populate_by_name=True),
    **{
        rule_id.replace("-", "_"): (
            rule.settings_model,
            Field(default_factory=rule.settings_model, alias=rule_id),
        )
        for rule_id, rule in REGISTRY.items()
    },
)


class RuleSet(_Strict):
    """A validated rules file."""

    api_version: Literal["netpol-guard.io/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["RuleSet"]
    mode: Mode = Field(
        default=Mode.ENFORCE,
        description="enforce | warn (every deny becomes a warning) | audit (nothing shown, only logged).",
    )
    grandfather_existing: StrictBool = Field(
        default=True,
        alias="grandfatherExisting",
        description="On UPDATE, a violation the old object already had is only a warning.",
    )
    exemptions: Exemptions = Field(default_factory=Exemptions, description="Writes that are never judged.")
    rules: RulesConfig = Field(
        default_factory=RulesConfig, description="Per-rule settings; a rule left out keeps its defaults."
    )
    explain: ExplainSettings = Field(
        default_factory=ExplainSettings, description="What admission warnings say about what a write allows."
    )

    @cached_property
    def active_rules(self) -> tuple[tuple[Rule[Any], RuleSettings], ...]:
        """Every rule that is not off, with its settings, in catalog order (computed once per file)."""
        pairs = ((rule, self.settings_for(rule_id)) for rule_id, rule in REGISTRY.items())
        return tuple((rule, settings) for rule, settings in pairs if settings.action is not Action.OFF)

    def plan(self, namespace: str, context: Context) -> tuple[tuple[Rule[Any], RuleSettings], ...]:
        """The rules that run for this namespace, input kind and operation.

        Memoised per rule set: namespaces and operations are few, so the namespace globs are matched
        once per namespace, not once per request.
        """
        key = (namespace, context.source, context.operation)
        plans = self._plans
        found = plans.get(key)
        if found is None:
            found = tuple(
                (rule, settings)
                for rule, settings in self.active_rules
                if rule.runs_in(context) and settings.applies_to(namespace)
            )
            if len(plans) < _MAX_PLANS:  # bounded: namespaces come from requests
                plans[key] = found
        return found

    @cached_property
    def _plans(self) -> dict[tuple[str, str, str], tuple[tuple[Rule[Any], RuleSettings], ...]]:
        return {}

    def settings_for(self, rule_id: str) -> RuleSettings:
        """The validated settings of one rule (its defaults when the file does not mention it)."""
        settings: RuleSettings = getattr(self.rules, rule_id.replace("-", "_"))
        return settings


def _describe(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        loc = error["loc"]
        if len(loc) == 2 and loc[0] == "rules":
            return f"unknown rule id {loc[1]!r}; known ids: {', '.join(REGISTRY)}"
        return "unknown key"
    if error["type"] == "missing":
        return "required key is missing"
    if error["type"] in ("model_type", "dict_type"):
        # pydantic's own text names our model classes, which mean nothing to the file's author.
        return "must be a mapping of keys to values"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


_RULES_FILE_START: Final = "apiVersion: netpol-guard.io/v1alpha1 and kind: RuleSet"


def _shape_hint(data: dict[str, Any]) -> str | None:
    """One line naming the right shape when ``data`` is a rules file in another shape, else None."""
    if "apiVersion" in data or "kind" in data:
        return None
    top_level = {info.alias or name for name, info in RuleSet.model_fields.items()} - {"apiVersion", "kind"}
    nested = data.get("rules")
    if isinstance(nested, dict) and set(nested) & (top_level - {"rules"}):
        return (
            "this is a Helm values file, not a rules file: a rules file is what its `rules:` value holds, "
            f"starting with {_RULES_FILE_START} (`netpol-guard rules init` prints one; the chart takes that "
            "file as --set-file rulesFile=FILE)"
        )
    if set(data) <= top_level:
        return (
            f"a rules file starts with {_RULES_FILE_START}: add those two lines at the top (this looks like "
            "the chart's `rules:` value; the chart accepts the full file too)"
        )
    return None


def parse_ruleset(data: Any, source: str) -> RuleSet:
    """Validate an already-parsed rules document; ``source`` names it in errors.

    A document in another known shape (the chart's values, or the rules without apiVersion and kind) is
    one line naming the right shape instead of one error per key.
    """
    if not isinstance(data, dict):
        raise RulesFileError(f"{source}: a rules file must be a YAML mapping with apiVersion, kind and rules")
    hint = _shape_hint(data)
    if hint is not None:
        raise RulesFileError(f"{source}: {hint}")
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: {format_path(e['loc']) or '(top level)'}: {_describe(e)}" for e in exc.errors()]
        raise RulesFileError("\n".join(lines)) from None


def parse_ruleset_text(text: str, source: str) -> RuleSet:
    """Parse and validate rules-file YAML text."""
    try:
        # The manifests' loader: a number too long to convert is a located YAML error, not a ValueError.
        data = yaml.load(text, Loader=YamlLoader)
    except yaml.YAMLError as exc:
        problem, line, column = describe_yaml_error(exc, text)
        where = f":{line}:{column}" if line else ""
        raise RulesFileError(f"{source}{where}: {problem}") from None
    except RecursionError:
        raise RulesFileError(f"{source}: not valid YAML: nested too deeply") from None
    return parse_ruleset(data, source)


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """Load the rules file at ``path``, or the embedded default rules when ``path`` is None."""
    if path is None:
        text = resources.files("app.data").joinpath(DEFAULT_RULES_RESOURCE).read_text(encoding="utf-8")
        return parse_ruleset_text(text, f"<embedded {DEFAULT_RULES_RESOURCE}>")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RulesFileError(f"{path}: cannot read the rules file: {exc.strerror or exc}") from None
    decoded = decode_text(data, str(path))
    if isinstance(decoded, UnreadableManifest):
        raise RulesFileError(str(decoded))
    return parse_ruleset_text(decoded, str(path))
