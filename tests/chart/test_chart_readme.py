"""The chart's README: its values table is generated from values.yaml and every value is documented."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from chart_rendering import CHART, ROOT


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_chart_readme", ROOT / "scripts" / "render_chart_readme.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_chart_readme", module)
    spec.loader.exec_module(module)
    return module


readme_script = _script()
VALUES = (CHART / "values.yaml").read_text(encoding="utf-8")


def test_the_values_table_matches_values_yaml() -> None:
    committed = (CHART / "README.md").read_text(encoding="utf-8")
    assert committed == readme_script.render_readme(committed, VALUES), (
        "charts/netpol-guard/README.md is stale: run `make manifests`"
    )


def test_every_value_has_a_description() -> None:
    undocumented = [row.key for row in readme_script.value_rows(VALUES) if not row.description]
    assert undocumented == []


def test_a_description_runs_over_its_comment_lines_and_a_plain_comment_is_not_one() -> None:
    text = (
        "# a section heading, not a description\n"
        "top: 1\n"
        "# -- First line\n"
        "# continues here.\n"
        "group:\n"
        "  # -- Inner | value.\n"
        "  inner: [a]\n"
        "  plain: {x: 1}\n"
        "# -- Whole mapping in one row.\n"
        "resources:\n"
        "  requests: {cpu: 1m}\n"
    )
    rows = {row.key: row for row in readme_script.value_rows(text)}
    assert rows["top"].description == ""
    assert rows["group"].description == "First line continues here."
    assert rows["group.inner"].default == '["a"]' and rows["group.inner"].description == "Inner | value."
    assert rows["group.plain"].default == '{"x": 1}'
    assert rows["resources"].default == '{"requests": {"cpu": "1m"}}' and "resources.requests" not in rows
    assert "Inner \\| value." in readme_script.render_table(list(rows.values()))


def test_the_readme_says_which_helm_and_kubernetes_versions_the_chart_supports() -> None:
    text = " ".join((CHART / "README.md").read_text(encoding="utf-8").split())
    assert "Helm** 3.8 or newer, or Helm 4" in text
    assert "Kubernetes** 1.29 or newer" in text
