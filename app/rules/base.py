"""What every rule is made of: its settings model, the findings it yields, the context it may read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from app.netpol import NetworkPolicy
from app.patterns import Pattern, compile_globs


class Action(StrEnum):
    """What a violation does: deny the write, warn the author, only record it, or nothing."""

    DENY = "deny"
    WARN = "warn"
    AUDIT = "audit"
    OFF = "off"


Scope = Literal["both", "admission", "check"]
"""Where a rule runs: everywhere, only at admission (it needs the request), or only in `check`."""


class RuleSettings(BaseModel):
    """Settings every rule accepts; each rule subclasses this with its own parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    action: Action = Field(default=Action.DENY, description="deny | warn | audit | off")
    namespaces: list[StrictStr] = Field(
        default=["*"], description="Glob patterns of namespaces the rule applies to."
    )
    exclude_namespaces: list[StrictStr] = Field(
        default=[], alias="excludeNamespaces", description="Glob patterns of namespaces the rule skips."
    )

    @field_validator("action", mode="before")
    @classmethod
    def _bare_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `action: off` as false; that is what people write, so it means off.
        return Action.OFF if value is False else value

    @cached_property
    def _namespace_patterns(self) -> tuple[Pattern | None, Pattern | None]:
        # Compiled once per loaded rules file, never per request.
        return compile_globs(self.namespaces), compile_globs(self.exclude_namespaces)

    def applies_to(self, namespace: str) -> bool:
        """True when the rule is on and the namespace is included and not excluded."""
        if self.action is Action.OFF:
            return False
        include, exclude = self._namespace_patterns
        return (
            include is not None
            and include.matches(namespace)
            and not (exclude and exclude.matches(namespace))
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a rule found: where (a Kubernetes field path), what is wrong, and how to fix it.

    ``advisory`` findings never deny, whatever the rule's action (e.g. values only a strict-CIDR API
    server rejects).
    """

    path: str
    problem: str
    fix: str
    advisory: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    """What the engine knows about the write besides the object itself."""

    source: Literal["manifest", "admission"] = "manifest"
    namespace: str = ""
    operation: Literal["CREATE", "UPDATE", "DELETE", "CONNECT"] = "CREATE"
    old_object: NetworkPolicy | None = None
    username: str = ""
    groups: tuple[str, ...] = field(default_factory=tuple)
    # Field paths a manifest sets twice in one mapping: the object keeps the last value, so only the
    # reader can see them (strict decoding refuses them).
    duplicate_fields: tuple[str, ...] = ()


SettingsT = TypeVar("SettingsT", bound=RuleSettings)


class Rule(Generic[SettingsT]):
    """A rule: an id, a settings model, a rationale (the docstring's first line) and `check`.

    Subclasses set the class attributes and implement `check`; the registry instantiates each once.
    """

    id: ClassVar[str]
    settings_model: ClassVar[type[RuleSettings]]
    scope: ClassVar[Scope] = "both"
    operations: ClassVar[frozenset[str]] = frozenset({"CREATE", "UPDATE"})

    @property
    def rationale(self) -> str:
        """One line on why the rule exists, taken from the class docstring."""
        return (self.__doc__ or "").strip().splitlines()[0]

    def runs_in(self, context: Context) -> bool:
        """True when the rule applies to this kind of input and operation."""
        wanted = "check" if context.source == "manifest" else "admission"
        return self.scope in ("both", wanted) and context.operation in self.operations

    def check(self, policy: NetworkPolicy, settings: SettingsT, context: Context) -> Iterable[Finding]:
        """Yield every finding for ``policy``. Must not raise for any decodable policy."""
        raise NotImplementedError
