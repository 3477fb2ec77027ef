"""The rule catalog, read from the registry: what `netpol-guard rules` prints and SARIF describes.

Everything comes from the rule classes (id, scope, docstring) and their settings models (defaults,
field descriptions, camelCase aliases), so the catalog cannot drift from the code.
"""

from __future__ import annotations

import enum
import types
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from app.rules import REGISTRY
from app.rules.base import Rule, RuleSettings

SCOPE_NAMES: Final = {
    "both": "check and admission",
    "check": "check only",
    "admission": "admission only",
}


@dataclass(frozen=True, slots=True)
class Parameter:
    """One rule parameter: its rules-file key, type, default and description."""

    key: str
    type: str
    default: Any
    description: str
    item_fields: tuple[Parameter, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleEntry:
    """One rule as the catalog shows it."""

    id: str
    default_action: str
    scope: str
    rationale: str
    details: str
    parameters: tuple[Parameter, ...]


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args if a is not type(None)) + " (optional)"
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "mapping"
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return " | ".join(str(member.value) for member in annotation)
        if issubclass(annotation, BaseModel):
            return "object"
        return {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (directly or as list items), to describe its fields too."""
    if get_origin(annotation) is Annotated:
        return _model_of(get_args(annotation)[0])
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return _model_of(args[0]) if args else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _parameter(name: str, info: FieldInfo, default: Any) -> Parameter:
    nested = _model_of(info.annotation)
    item_fields: tuple[Parameter, ...] = ()
    if nested is not None:
        item_fields = tuple(
            _parameter(
                sub_name,
                sub_info,
                None if sub_info.is_required() else sub_info.get_default(call_default_factory=True),
            )
            for sub_name, sub_info in nested.model_fields.items()
        )
    return Parameter(
        key=info.alias or name,
        type=_type_name(info.annotation),
        default=default,
        description=(info.description or "").strip(),
        item_fields=item_fields,
    )


def _details(rule: Rule[Any]) -> str:
    lines = (type(rule).__doc__ or "").strip().splitlines()[1:]
    return " ".join(line.strip() for line in lines if line.strip())


def catalog() -> list[RuleEntry]:
    """Every registered rule, in catalog order."""
    common = set(RuleSettings.model_fields)
    entries = []
    for rule_id, rule in REGISTRY.items():
        model = rule.settings_model
        defaults = model().model_dump(mode="json", by_alias=False)
        parameters = tuple(
            _parameter(name, info, defaults[name])
            for name, info in model.model_fields.items()
            if name not in common
        )
        entries.append(
            RuleEntry(
                id=rule_id,
                default_action=model().action.value,
                scope=rule.scope,
                rationale=rule.rationale,
                details=_details(rule),
                parameters=parameters,
            )
        )
    return entries


def common_parameters() -> tuple[Parameter, ...]:
    """The settings every rule accepts (action, namespaces, excludeNamespaces)."""
    defaults = RuleSettings().model_dump(mode="json")
    return tuple(_parameter(name, info, defaults[name]) for name, info in RuleSettings.model_fields.items())


def _value(value: Any) -> str:
    return orjson.dumps(value).decode()


def render_catalog_text(entries: list[RuleEntry]) -> str:
    """The catalog for a terminal."""
    out = []
    for entry in entries:
        out.append(f"{entry.id}  [default: {entry.default_action}; runs in: {SCOPE_NAMES[entry.scope]}]")
        out.append(f"    {entry.rationale}")
        for parameter in entry.parameters:
            out.append(f"    {parameter.key}: {parameter.type} = {_value(parameter.default)}")
            if parameter.description:
                out.append(f"        {parameter.description}")
            for sub in parameter.item_fields:
                required = " (required)" if sub.default is None and "optional" not in sub.type else ""
                out.append(f"        - {sub.key}: {sub.type}{required}  {sub.description}".rstrip())
        out.append("")
    keys = ", ".join(p.key for p in common_parameters())
    out.append(f"Every rule also accepts: {keys} (see the rules file reference).")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_catalog_markdown(entries: list[RuleEntry]) -> str:
    """The catalog as Markdown (the README's "Rule catalog" section is this output)."""
    out = [
        "| Rule | Default | Runs in | Why |",
        "|---|---|---|---|",
    ]
    for entry in entries:
        out.append(
            f"| [`{entry.id}`](#{entry.id}) | {entry.default_action} | {SCOPE_NAMES[entry.scope]} "
            f"| {_cell(entry.rationale)} |"
        )
    for entry in entries:
        out += [
            "",
            f"### {entry.id}",
            "",
            f"Default action: **{entry.default_action}**. Runs in: {SCOPE_NAMES[entry.scope]}.",
            "",
            entry.rationale,
        ]
        if entry.details:
            out += ["", entry.details]
        if entry.parameters:
            out += ["", "| Parameter | Type | Default | Description |", "|---|---|---|---|"]
            for parameter in entry.parameters:
                description = parameter.description
                if parameter.item_fields:
                    fields = "; ".join(
                        f"`{sub.key}` ({sub.type}): {sub.description}".rstrip(": ")
                        for sub in parameter.item_fields
                    )
                    description = f"{description} Each item: {fields}."
                out.append(
                    f"| `{parameter.key}` | {_cell(parameter.type)} | `{_value(parameter.default)}` "
                    f"| {_cell(description)} |"
                )
        else:
            out += ["", "No parameters besides the common ones."]
    keys = ", ".join(f"`{p.key}`" for p in common_parameters())
    out += ["", f"Every rule also accepts {keys} (see [the rules file](#the-rules-file))."]
    return "\n".join(out) + "\n"


def render_catalog_json(entries: list[RuleEntry]) -> str:
    """The catalog as JSON, for tools."""

    def parameter(p: Parameter) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": p.key,
            "type": p.type,
            "default": p.default,
            "description": p.description,
        }
        if p.item_fields:
            data["itemFields"] = [parameter(sub) for sub in p.item_fields]
        return data

    document = {
        "commonParameters": [parameter(p) for p in common_parameters()],
        "rules": [
            {
                "id": e.id,
                "defaultAction": e.default_action,
                "scope": e.scope,
                "rationale": e.rationale,
                "details": e.details,
                "parameters": [parameter(p) for p in e.parameters],
            }
            for e in entries
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
