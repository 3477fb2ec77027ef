"""Regenerate what is derived from the chart and the rules loader (`make manifests`).

1. ``charts/netpol-guard/values.schema.json``: the ``rules`` value and the capitalised ``$defs`` are
   generated from the rules loader's pydantic models (`app.ruleset.RuleSet`), so the chart rejects exactly
   what the server would reject (unknown rule ids, unknown parameters, wrong types) at `helm install`;
   ``charts/netpol-guard/files/rules.schema.json``, the same models' schema of the whole rules file, which
   the chart's templates check ``rulesFile`` (and ``rules``) against when they render.
2. ``deploy/manifests/netpol-guard.yaml``: the chart rendered with default values for `kubectl apply`
   users, in namespace ``netpol-guard``, for the oldest supported Kubernetes (1.29), without what only
   Helm understands (the ``helm.sh/*`` labels and hook annotations, ``managed-by: Helm``).

``--check`` writes nothing and exits 1 when either file is stale. Tests call the same functions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "netpol-guard"
SCHEMA = CHART / "values.schema.json"
RULES_SCHEMA = CHART / "files" / "rules.schema.json"
MANIFESTS = ROOT / "deploy" / "manifests" / "netpol-guard.yaml"
NAMESPACE = "netpol-guard"
RELEASE = "netpol-guard"
# The oldest Kubernetes the chart supports: static manifests must work everywhere.
MANIFEST_KUBE_VERSION = "1.29.0"

_NAMESPACE_DOC = f"""\
apiVersion: v1
kind: Namespace
metadata:
  name: {NAMESPACE}
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
"""


class HelmError(Exception):
    """Helm does not run here or `helm template` failed; the message says what to do."""


def find_helm() -> str | None:
    """.tools/helm (from `make tools`) or helm on PATH."""
    local = ROOT / ".tools" / "helm"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("helm")


def _strip_titles(node: Any) -> Any:
    # pydantic's titles repeat the property names; descriptions and defaults are kept.
    if isinstance(node, dict):
        return {
            key: _strip_titles(value)
            for key, value in node.items()
            if not (key == "title" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [_strip_titles(item) for item in node]
    return node


def rules_file_schema() -> dict[str, Any]:
    """The whole rules file's JSON schema, from `RuleSet` (``$defs`` included)."""
    sys.path.insert(0, str(ROOT))
    from app.ruleset import RuleSet

    schema: dict[str, Any] = _strip_titles(RuleSet.model_json_schema(by_alias=True))
    return schema


def rules_value_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema of the chart's ``rules`` value, the ``$defs`` it refers to): the rules file, with
    apiVersion and kind optional (the chart adds them)."""
    schema = rules_file_schema()
    defs = schema.pop("$defs", {})
    schema["required"] = [key for key in schema.get("required", []) if key not in ("apiVersion", "kind")]
    if not schema["required"]:
        del schema["required"]
    schema["description"] = (
        "The rules file (generated from app.ruleset); apiVersion and kind may be left out. "
        "rulesFile, when set, replaces it."
    )
    return schema, defs


def render_rules_schema() -> str:
    """files/rules.schema.json: what templates/_rulesfile.tpl checks the rules against at render time."""
    return json.dumps(rules_file_schema(), indent=1, ensure_ascii=False) + "\n"


def render_values_schema() -> str:
    """values.schema.json with its generated part refreshed (hand-written $defs start lower-case)."""
    current = json.loads(SCHEMA.read_text(encoding="utf-8"))
    rules, generated = rules_value_schema()
    current["properties"]["rules"] = rules
    kept = {key: value for key, value in current.get("$defs", {}).items() if not key[:1].isupper()}
    current["$defs"] = {**kept, **dict(sorted(generated.items()))}
    return json.dumps(current, indent=2, ensure_ascii=False) + "\n"


# Labels and annotations that mean something to Helm only; in static manifests they would claim a release
# that does not exist (and `helm install` over them would refuse to adopt the objects).
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")
HELM_ONLY_ANNOTATIONS = ("helm.sh/hook", "helm.sh/hook-weight", "helm.sh/hook-delete-policy")
_HELM_ONLY_LINE = re.compile(
    r"^\s*(" + "|".join(re.escape(key) for key in (*HELM_ONLY_LABELS, *HELM_ONLY_ANNOTATIONS)) + r"):"
)
_ANNOTATIONS_LINE = re.compile(r"^(\s*)annotations:\s*$")


def _without_helm_keys(doc: Any) -> Any:
    metadata = doc.get("metadata", {}) if isinstance(doc, dict) else {}
    for field, keys in (("labels", HELM_ONLY_LABELS), ("annotations", HELM_ONLY_ANNOTATIONS)):
        values = metadata.get(field)
        if isinstance(values, dict):
            for key in keys:
                values.pop(key, None)
            if not values:
                del metadata[field]
    return doc


def strip_helm_only(text: str) -> str:
    """``text`` without Helm-only labels and annotations, comments kept (line by line: the templates'
    comments explain the objects). An ``annotations:`` left with only comments goes with them. Checked
    against the same edit on the parsed documents, so a template change cannot make it cut wrongly."""
    kept = [line for line in text.splitlines() if not _HELM_ONLY_LINE.match(line)]
    out: list[str] = []
    index = 0
    while index < len(kept):
        match = _ANNOTATIONS_LINE.match(kept[index])
        if match:
            following = index + 1
            while following < len(kept) and kept[following].lstrip().startswith("#"):
                following += 1
            nxt = kept[following] if following < len(kept) else ""
            if not nxt.strip() or len(nxt) - len(nxt.lstrip()) <= len(match.group(1)):
                index = following  # nothing but comments left under it
                continue
        out.append(kept[index])
        index += 1
    stripped = "\n".join(out) + "\n"
    expected = [_without_helm_keys(doc) for doc in yaml.safe_load_all(text) if doc]
    if [doc for doc in yaml.safe_load_all(stripped) if doc] != expected:
        raise HelmError(
            "removing the Helm-only labels and annotations changed other fields: fix strip_helm_only"
        )
    return stripped


def render_manifests(helm: str) -> str:
    """The chart rendered with default values, preceded by its namespace (Pod Security: restricted)."""
    command = [
        helm,
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        NAMESPACE,
        "--kube-version",
        MANIFEST_KUBE_VERSION,
        "--skip-tests",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HelmError(
            f"{helm} does not run on this machine ({exc}): run `make tools` (it replaces a .tools/helm "
            "that does not run) or put Helm 3 (3.8+) or Helm 4 on PATH"
        ) from None
    if result.returncode != 0:
        raise HelmError(f"helm template {CHART.relative_to(ROOT)} failed:\n{result.stderr.strip()}")
    header = (
        "# Generated by `make manifests` from charts/netpol-guard with default values; do not edit.\n"
        f"# kubectl apply -f this file (namespace {NAMESPACE}); apply a newer release's file to upgrade.\n"
        "# The certs Job runs after apply (it follows the webhook configuration in this file) and the\n"
        "# CronJob renews daily.\n"
    )
    return f"{header}---\n{_NAMESPACE_DOC}{strip_helm_only(result.stdout)}"


def main(argv: list[str]) -> int:
    check = "--check" in argv[1:]
    helm = find_helm()
    if helm is None:
        print("render_manifests: no helm binary; run `make tools` first", file=sys.stderr)
        return 2
    stale = []
    for path, text in ((SCHEMA, render_values_schema()), (RULES_SCHEMA, render_rules_schema())):
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not check:
                path.write_text(text, encoding="utf-8")
    try:
        manifests = render_manifests(helm)
    except HelmError as exc:
        print(f"render_manifests: {exc}", file=sys.stderr)
        return 2
    if not MANIFESTS.is_file() or MANIFESTS.read_text(encoding="utf-8") != manifests:
        stale.append(MANIFESTS)
        if not check:
            MANIFESTS.parent.mkdir(parents=True, exist_ok=True)
            MANIFESTS.write_text(manifests, encoding="utf-8")
    for path in stale:
        print(f"render_manifests: {path.relative_to(ROOT)} {'is stale' if check else 'updated'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
