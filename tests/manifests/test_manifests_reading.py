"""Reading manifests: documents, lists, directories, stdin, errors, and the position of every field."""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from app.manifests import STDIN_NAME, PolicyDocument, parse_manifest, read_manifests

POLICY = textwrap.dedent(
    """\
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: web
      namespace: shop
    spec:
      podSelector:
        matchLabels:
          app: web
      ingress:
        - from:
            - podSelector: {matchLabels: {app: lb}}
            - ipBlock:
                cidr: 10.0.0.0/8
      policyTypes: [Ingress]
    """
)


def _one(text: str, path: str = "p.yaml") -> PolicyDocument:
    manifest = parse_manifest(text.encode(), path)
    assert manifest.error is None, manifest.error
    (policy,) = manifest.policies
    return policy


def where(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the n-th occurrence of ``needle`` in ``text``."""
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("spec.ingress[0].from[1].ipBlock.cidr", "10.0.0.0/8"),  # a scalar field points at its value
        ("spec.ingress[0].from[1].ipBlock", "ipBlock"),  # a mapping points at its key
        ("spec.ingress[0].from[0].podSelector.matchLabels.app", "lb}"),  # flow style
        ("spec.ingress[0]", "from"),  # a list item points at its first key
        ("spec.policyTypes[0]", "Ingress]"),
        ("metadata.labels", "metadata"),  # missing field: nearest existing ancestor (metadata)
        ("spec.egress[0].to[2]", "spec"),  # missing subtree: the spec key
        ("spec.ingress[0].from[7].ipBlock", "from"),  # index out of range: the peer list
        ("", "apiVersion"),  # the whole object: its first key
    ],
    ids=[
        "scalar-value",
        "mapping-key",
        "flow-mapping",
        "list-item",
        "flow-list-item",
        "missing-label",
        "missing-subtree",
        "missing-index",
        "document",
    ],
)
def test_each_field_path_points_at_its_line_and_column(path: str, needle: str) -> None:
    policy = _one(POLICY)
    assert policy.locate(path) == where(POLICY, needle)


def test_plain_object_is_what_the_yaml_says() -> None:
    policy = _one(POLICY)
    assert policy.obj["spec"]["ingress"][0]["from"][1] == {"ipBlock": {"cidr": "10.0.0.0/8"}}


def test_multi_document_stream_keeps_policies_and_counts_other_kinds() -> None:
    other = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    calico = POLICY.replace("networking.k8s.io/v1", "projectcalico.org/v3")
    text = f"{POLICY}---\n{other}---\n{POLICY}---\n{calico}---\n# only a comment\n---\n"
    manifest = parse_manifest(text.encode(), "stream.yaml")
    assert manifest.error is None
    assert len(manifest.policies) == 2
    # The ConfigMap and Calico's own NetworkPolicy kind; empty documents are not counted.
    assert manifest.skipped == 2
    assert manifest.policies[0].locate("spec.ingress[0].from[1].ipBlock.cidr") == where(text, "10.0.0.0/8")
    assert manifest.policies[1].locate("spec.ingress[0].from[1].ipBlock.cidr") == where(text, "10.0.0.0/8", 2)
    assert manifest.policies[1].start == where(text, "apiVersion: networking", 2)


def test_list_items_are_policies_with_paths_relative_to_the_item() -> None:
    items = textwrap.indent(POLICY, "    ").replace("    apiVersion", "  - apiVersion", 1)
    text = f"apiVersion: v1\nkind: List\nitems:\n{items}  - apiVersion: v1\n    kind: Service\n"
    manifest = parse_manifest(text.encode(), "list.yaml")
    assert manifest.error is None
    (policy,) = manifest.policies
    assert manifest.skipped == 1
    assert policy.obj["metadata"]["name"] == "web"
    assert policy.locate("spec.ingress[0].from[1].ipBlock.cidr") == where(text, "10.0.0.0/8")
    assert policy.start == where(text, "apiVersion: networking")


def test_json_file_is_read_with_positions() -> None:
    text = (
        '{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",\n'
        ' "metadata": {"name": "j"},\n'
        ' "spec": {"ingress": [{"ports": [{"port": 1e3}]}]}}\n'
    )
    policy = _one(text, "p.json")
    assert policy.obj["spec"]["ingress"][0]["ports"][0]["port"] == 1000.0
    assert policy.locate("spec.ingress[0].ports[0].port") == where(text, "1e3")


def test_json_list_items_get_their_own_positions() -> None:
    text = (
        '{"apiVersion": "v1", "kind": "List", "items": [\n'
        ' {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "a"}},\n'
        ' {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "b"}}]}\n'
    )
    manifest = parse_manifest(text.encode(), "l.json")
    assert [p.locate("metadata.name") for p in manifest.policies] == [where(text, '"a"'), where(text, '"b"')]


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        (b"kind: NetworkPolicy\nspec: [1,\n  podSelector: {}\n", "bad.yaml", "bad.yaml:4:1: not valid YAML"),
        (b"kind: NetworkPolicy\nmetadata:\n\tname: x\n", "tab.yaml", "tab.yaml:3:1: not valid YAML"),
        (b'{"kind": "NetworkPolicy",\n "spec": }', "bad.json", "bad.json:2:10: not valid JSON"),
        (b"kind: NetworkPolicy\nmetadata: {name: caf\xe9}\n", "latin1.yaml", "latin1.yaml:2:21: not UTF-8"),
        (b"kind: !vault |\n  xyz\n", "tag.yaml", "tag.yaml:1:7: not valid YAML"),
        (
            'kind: NetworkPolicy\nmetadata: {name: "\u00e9\x07"}\n'.encode(),
            "control.yaml",
            "control.yaml:2:20: not valid YAML: control characters are not allowed (U+0007)",
        ),
    ],
    ids=["yaml-syntax", "tab-indent", "json-syntax", "not-utf8", "unknown-tag", "control-character"],
)
def test_broken_file_is_an_error_with_its_line(data: bytes, path: str, expected: str) -> None:
    manifest = parse_manifest(data, path)
    assert manifest.policies == ()
    assert manifest.error is not None
    assert str(manifest.error).startswith(expected), str(manifest.error)


def test_timestamps_stay_strings_as_the_api_server_sees_them() -> None:
    text = POLICY.replace("  namespace: shop\n", "  namespace: shop\n  annotations: {reviewed: 2024-05-01}\n")
    assert _one(text).obj["metadata"]["annotations"] == {"reviewed": "2024-05-01"}


def test_recursive_alias_does_not_hang_position_lookup() -> None:
    text = POLICY + "extra: &loop [*loop]\n"
    policy = _one(text)
    assert policy.locate("spec.nothing.here") == (6, 1)


def test_aliased_fields_point_at_the_anchor_or_the_alias_and_an_alias_bomb_is_read() -> None:
    # Nine levels of ten aliases each: walking every path through them would take 10^9 steps.
    bomb = "".join(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]\n" for level in range(1, 10))
    text = (
        textwrap.dedent(
            """\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: web}
        spec:
          ingress:
            - from: &peers
                - ipBlock: {cidr: 10.0.0.0/8}
            - from: *peers
        l0: &l0 [1]
        """
        )
        + bomb
    )
    policy = _one(text)
    # Plain tuples only in the asserts: a failure message must not try to print the expanded bomb.
    anchored = policy.locate("spec.ingress[0].from[0].ipBlock.cidr")
    through_alias = policy.locate("spec.ingress[1].from[0].ipBlock.cidr")
    deep_in_bomb = policy.locate("l9[9][9][9][9][9][9][9][9][0]")
    assert anchored == where(text, "10.0.0.0/8")
    assert through_alias == where(text, "from", 2)  # the alias's own key
    assert deep_in_bomb == where(text, "&l8")


def test_directories_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("b/z.yaml", "b/a.yml", "a/deep/p.json", "a/x.yaml", "a/notes.txt", "c.YAML"):
        (tmp_path / name).write_text(POLICY if not name.endswith(".json") else '{"kind": "Secret"}')
    paths = [Path(m.path).relative_to(tmp_path).as_posix() for m in read_manifests([str(tmp_path)])]
    assert paths == ["c.YAML", "a/x.yaml", "a/deep/p.json", "b/a.yml", "b/z.yaml"]


def test_file_named_twice_is_read_once(tmp_path: Path) -> None:
    file = tmp_path / "p.yaml"
    file.write_text(POLICY)
    assert len(list(read_manifests([str(file), str(tmp_path)]))) == 1


def test_stdin_is_read_for_a_dash() -> None:
    (manifest,) = read_manifests(["-"], stdin=io.BytesIO(POLICY.encode()))
    assert manifest.path == STDIN_NAME
    assert manifest.policies[0].locate("spec.ingress[0].from[1].ipBlock.cidr") == where(POLICY, "10.0.0.0/8")


def test_json_on_stdin_is_read_as_json() -> None:
    (manifest,) = read_manifests(
        ["-"],
        stdin=io.BytesIO(
            b'{"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1", "spec": {"x": 1e3}}'
        ),
    )
    assert manifest.policies[0].obj["spec"]["x"] == 1000.0


def test_missing_and_unreadable_files_are_errors_and_the_rest_is_still_read(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(POLICY)
    locked = tmp_path / "locked.yaml"
    locked.write_text(POLICY)
    locked.chmod(0)
    try:
        results = list(read_manifests([str(tmp_path / "missing.yaml"), str(locked), str(good)]))
    finally:
        locked.chmod(0o644)
    assert "no such file" in str(results[0].error)
    if results[1].error is None:  # root can read a mode-000 file
        assert len(results[1].policies) == 1
    else:
        assert "cannot read the file" in str(results[1].error)
    assert results[2].error is None and len(results[2].policies) == 1


def test_a_file_the_os_refuses_to_read_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text(POLICY)

    def refuse(self: Path, *_: object) -> bytes:  # root ignores mode bits, so refuse as the OS would
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    (result,) = read_manifests([str(locked)])

    assert str(result.error) == f"{locked}: cannot read the file: Permission denied"


def test_a_directory_that_cannot_be_listed_is_an_error_not_silently_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "p.yaml").write_text(POLICY)
    (tmp_path / "open.yaml").write_text(POLICY)
    scandir = os.scandir

    def refuse_locked(path: str) -> Any:  # root ignores mode bits, so refuse as the OS would
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    results = list(read_manifests([str(tmp_path)]))

    assert [Path(m.path).name for m in results] == ["open.yaml", "locked"]
    assert str(results[1].error) == f"{tmp_path / 'locked'}: cannot read the directory: Permission denied"


def _alias_bomb(width: int) -> str:
    # Four levels of `width` aliases each under spec: width**4 peers' worth of paths for the decoder.
    values = ", ".join(["a"] * width)
    expressions = ", ".join(["{key: k, operator: In, values: *v}"] * width)
    peers = ", ".join(["{podSelector: {matchExpressions: *m}}"] * width)
    rules = ", ".join(["{from: *f}"] * width)
    return textwrap.dedent(
        f"""\
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {{name: bomb, namespace: shop}}
        x-values: &v [{values}]
        x-expressions: &m [{expressions}]
        x-peers: &f [{peers}]
        spec:
          podSelector: {{}}
          ingress: [{rules}]
        """
    )


@pytest.mark.timeout(60)  # without the guard, decoding walks the expansion for hours: fail, do not hang
def test_an_alias_bomb_under_spec_is_an_error_at_the_spec_instead_of_a_hang() -> None:
    text = _alias_bomb(40)  # 2.6 million expanded nodes from a 6 KB file

    manifest = parse_manifest(text.encode(), "bomb.yaml")

    assert manifest.policies == ()
    assert manifest.error is not None
    assert str(manifest.error).startswith("bomb.yaml:8:3: YAML aliases expand")  # where spec's value starts
    assert "alias bomb" in str(manifest.error)


def test_aliases_under_spec_that_expand_modestly_are_read() -> None:
    text = _alias_bomb(8)  # 4,096 peers: large, but what a generated policy might hold

    policy = _one(text)

    assert len(policy.obj["spec"]["ingress"]) == 8
    assert len(policy.obj["spec"]["ingress"][7]["from"]) == 8


def test_a_spec_that_contains_itself_is_an_error() -> None:
    text = POLICY.replace("spec:\n", "spec: &self\n  loop: *self\n", 1)

    manifest = parse_manifest(text.encode(), "loop.yaml")

    assert manifest.error is not None and "contains itself" in str(manifest.error)
