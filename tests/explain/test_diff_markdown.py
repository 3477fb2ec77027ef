"""The pull-request comment: marker, summary, one table widest first with links, details per policy,
never over GitHub's 65,536 characters."""

from __future__ import annotations

from typing import Any

import yaml
from explain_cases import manifest

from app.explain.diff import diff_explanations
from app.explain.document import diff_document
from app.explain.markdown import COMMENT_LIMIT, MARKER, render_diff_markdown
from app.explain.model import explain_policy
from app.manifests import parse_manifest
from app.netpol import decode_policy


def policy(name: str, spec: dict[str, Any], file: str) -> Any:
    text = yaml.safe_dump(manifest(spec, name), sort_keys=False)
    [document] = parse_manifest(text.encode(), file).policies
    return explain_policy(decode_policy(document.obj), file=file, locate=document.locate)


def spec(peers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "podSelector": {"matchLabels": {"app": "api"}},
        "ingress": [{"from": peers, "ports": [{"port": 80}]}],
    }


WEB = {"podSelector": {"matchLabels": {"app": "web"}}}


def comment(old: list[Any], new: list[Any], **options: Any) -> str:
    return render_diff_markdown(diff_document(diff_explanations(old, new)), **options)


def test_comment_starts_with_the_marker_and_a_summary_then_one_table_widest_first() -> None:
    old = [policy("api", spec([WEB]), "p/api.yaml")]
    new = [policy("api", spec([WEB, {"ipBlock": {"cidr": "0.0.0.0/0"}}, {"podSelector": {}}]), "p/api.yaml")]
    text = comment(old, new, link_base="https://github.com/o/r/blob/abc")
    lines = text.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "**netpol-guard diff:** 2 opens in 1 policy"
    rows = [line for line in lines if line.startswith("| **")]
    assert [row.split(" | ")[4] for row in rows] == [
        "every IPv4 address (0.0.0.0/0)",
        "every pod in namespace shop (this policy's namespace)",
    ]
    assert "[p/api.yaml#L" in rows[0] and "](https://github.com/o/r/blob/abc/p/api.yaml#L" in rows[0]
    assert text.count("| Change | Policy | Direction | Pods selected | Peer | Ports | Where |") == 1
    assert "<details><summary>shop/api: 2 changes</summary>" in text
    assert text.rstrip().endswith("</details>")


def test_without_link_base_the_place_is_code() -> None:
    old = [policy("api", spec([WEB]), "p/api.yaml")]
    new = [policy("api", spec([WEB, {"namespaceSelector": {}}]), "p/api.yaml")]
    assert "`p/api.yaml#L" in comment(old, new)


def test_no_change_is_said_with_no_table() -> None:
    same = [policy("api", spec([WEB]), "p/api.yaml")]
    text = comment(same, same)
    assert text == f"{MARKER}\n**netpol-guard diff:** no change in what is allowed\n"


def test_pipes_in_values_do_not_break_the_table() -> None:
    odd = {"podSelector": {"matchLabels": {"app": "a|b"}}}
    text = comment([], [policy("api", spec([odd]), "p/api.yaml")])
    row = next(line for line in text.splitlines() if line.startswith("| **opens"))
    assert "a\\|b" in row


def test_a_500_policy_diff_stays_within_the_comment_limit_and_says_what_was_left_out() -> None:
    old = [policy(f"p{i}", spec([WEB]), f"p/p{i}.yaml") for i in range(500)]
    new = [
        policy(
            f"p{i}", spec([WEB, {"namespaceSelector": {"matchLabels": {"team": f"t{i}"}}}]), f"p/p{i}.yaml"
        )
        for i in range(500)
    ]
    text = comment(old, new, link_base="https://github.com/o/r/blob/abc")
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith(MARKER + "\n**netpol-guard diff:** 500 opens in 500 policies")
    last = text.rstrip().splitlines()[-1]
    assert last.startswith("_Left out to stay within 65,536 characters:")
    # Details are cut first (all of them here), then the rows that do not fit; the line counts both.
    rows = len([line for line in text.splitlines() if line.startswith("| **opens")])
    assert 0 < rows < 500
    assert f"{500 - rows} of 500 table rows and 500 of 500 policy details" in last
    assert "<details>" not in text


def test_details_are_cut_before_rows() -> None:
    old = [policy(f"p{i}", spec([WEB]), f"p/p{i}.yaml") for i in range(100)]
    new = [
        policy(
            f"p{i}", spec([WEB, {"namespaceSelector": {"matchLabels": {"team": f"t{i}"}}}]), f"p/p{i}.yaml"
        )
        for i in range(100)
    ]
    text = comment(old, new, limit=40_000)
    assert len(text) <= 40_000
    assert len([line for line in text.splitlines() if line.startswith("| **opens")]) == 100
    kept = text.count("<details>")
    assert 0 < kept < 100
    assert (
        text.rstrip()
        .splitlines()[-1]
        .endswith(f"{100 - kept} of 100 policy details; run `netpol-guard diff` to see everything._")
    )


def test_rows_are_cut_too_when_the_table_alone_is_too_long() -> None:
    old: list[Any] = []
    new = [policy(f"p{i}", spec([WEB]), f"p/p{i}.yaml") for i in range(300)]
    text = comment(old, new, limit=8000)
    assert len(text) <= 8000
    assert "table rows" in text.rstrip().splitlines()[-1]
