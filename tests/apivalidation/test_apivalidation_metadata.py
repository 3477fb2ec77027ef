"""Section 4: ObjectMeta - name / generateName, namespace, labels, annotations."""

from __future__ import annotations

from typing import Any

import pytest
from apivalidation_cases import LABEL_MSG, LABEL_VALUE_MSG, NAME_PART_MSG, SUBDOMAIN_MSG, manifest, rendered


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        pytest.param({"name": "web-allow.v2"}, [], id="dotted-name-is-valid"),
        pytest.param({"name": "a" * 253}, [], id="253-characters-is-valid"),
        pytest.param(
            {"name": "a" * 254},
            [("metadata.name", f'Invalid value: "{"a" * 254}": must be no more than 253 characters')],
            id="254-characters",
        ),
        pytest.param(
            {"name": "TEMP_NAME"},
            [("metadata.name", f'Invalid value: "TEMP_NAME": {SUBDOMAIN_MSG}')],
            id="template-placeholder-with-capitals-and-underscore",
        ),
        pytest.param(
            {"name": "use_common_labels_same_values"},
            [("metadata.name", f'Invalid value: "use_common_labels_same_values": {SUBDOMAIN_MSG}')],
            id="underscores",
        ),
        pytest.param(
            {"name": "-web"},
            [("metadata.name", f'Invalid value: "-web": {SUBDOMAIN_MSG}')],
            id="leading-dash",
        ),
        pytest.param(
            {"name": "web..x"},
            [("metadata.name", f'Invalid value: "web..x": {SUBDOMAIN_MSG}')],
            id="empty-part",
        ),
        pytest.param(
            {"name": None, "generateName": None},
            [("metadata.name", "Required value: name or generateName is required")],
            id="no-name-at-all",
        ),
        pytest.param(
            {"name": ""},
            [("metadata.name", "Required value: name or generateName is required")],
            id="empty-name",
        ),
        pytest.param({"name": None, "generateName": "web-"}, [], id="generate-name-with-trailing-dash"),
        pytest.param({"name": None, "generateName": "web"}, [], id="generate-name-without-dash"),
        pytest.param(
            {"name": None, "generateName": "Web-"},
            [("metadata.generateName", f'Invalid value: "Web-": {SUBDOMAIN_MSG}')],
            id="generate-name-with-capital",
        ),
        pytest.param(
            {"name": None, "generateName": "-"},
            [("metadata.generateName", f'Invalid value: "-": {SUBDOMAIN_MSG}')],
            id="generate-name-only-a-dash",
        ),
        pytest.param({"name": "np", "generateName": "web-"}, [], id="name-and-generate-name"),
        pytest.param({"namespace": None}, [], id="namespace-absent-in-a-manifest-is-fine"),
        pytest.param({"namespace": "a" * 63}, [], id="63-character-namespace"),
        pytest.param(
            {"namespace": "a" * 64},
            [("metadata.namespace", f'Invalid value: "{"a" * 64}": must be no more than 63 characters')],
            id="64-character-namespace",
        ),
        pytest.param(
            {"namespace": "team.a"},
            [("metadata.namespace", f'Invalid value: "team.a": {LABEL_MSG}')],
            id="namespace-with-dot",
        ),
        pytest.param(
            {"namespace": "Team"},
            [("metadata.namespace", f'Invalid value: "Team": {LABEL_MSG}')],
            id="upper-case",
        ),
    ],
)
def test_names_and_namespaces_follow_the_api_servers_dns_rules(
    metadata: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert rendered(manifest(None, **metadata)) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param({"app": "web", "app.kubernetes.io/name": "web", "tier": ""}, [], id="common-labels"),
        pytest.param({"TEMP_LABEL_NAME": "x"}, [], id="upper-case-and-underscore-key-is-valid"),
        pytest.param({"example.com/" + "a" * 63: "v"}, [], id="63-character-name-part"),
        pytest.param(
            {"app@b": "x"},
            [("metadata.labels", f'Invalid value: "app@b": {NAME_PART_MSG}')],
            id="at-sign-in-key",
        ),
        pytest.param(
            {"a" * 64: "x"},
            [
                (
                    "metadata.labels",
                    f'Invalid value: "{"a" * 64}": name part must be no more than 63 characters',
                )
            ],
            id="64-character-name-part",
        ),
        pytest.param(
            {"Example.com/app": "x"},
            [("metadata.labels", f'Invalid value: "Example.com/app": prefix part {SUBDOMAIN_MSG}')],
            id="upper-case-prefix",
        ),
        pytest.param(
            {"/app": "x"},
            [("metadata.labels", 'Invalid value: "/app": prefix part must be non-empty')],
            id="empty-prefix",
        ),
        pytest.param(
            {"example.com/": "x"},
            [
                ("metadata.labels", 'Invalid value: "example.com/": name part must be non-empty'),
                ("metadata.labels", f'Invalid value: "example.com/": {NAME_PART_MSG}'),
            ],
            id="empty-name-part-is-two-errors",
        ),
        pytest.param(
            {"a/b/c": "x"},
            [
                (
                    "metadata.labels",
                    'Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '
                    "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
                    "or 'my.name',  or '123-abc', regex used for validation is "
                    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and "
                    "'/' (e.g. 'example.com/MyName')",
                )
            ],
            id="two-slashes",
        ),
        pytest.param(
            {"app": "web server"},
            [("metadata.labels", f'Invalid value: "web server": {LABEL_VALUE_MSG}')],
            id="space-in-value",
        ),
        pytest.param(
            {"app": "v" * 64},
            [
                ("metadata.labels", f'Invalid value: "{"v" * 64}": must be no more than 63 characters'),
            ],
            id="64-character-value",
        ),
        pytest.param(
            {"app": "-web"},
            [("metadata.labels", f'Invalid value: "-web": {LABEL_VALUE_MSG}')],
            id="value-starting-with-dash",
        ),
    ],
)
def test_label_keys_are_qualified_names_and_values_label_values(
    labels: dict[str, str], expected: list[tuple[str, str]]
) -> None:
    assert rendered(manifest(None, labels=labels)) == expected


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        pytest.param(
            {"Example.com/Owner": "x", "Description": "any text at all"}, [], id="keys-are-case-insensitive"
        ),
        pytest.param(
            {"owner team": "x"},
            [("metadata.annotations", f'Invalid value: "owner team": {NAME_PART_MSG}')],
            id="space-in-key",
        ),
        pytest.param({"k": "v" * (256 * 1024 - 1)}, [], id="exactly-256-KiB"),
        pytest.param(
            {"k": "v" * (256 * 1024)},
            [("metadata.annotations", "Too long: may not be more than 262144 bytes")],
            id="one-byte-over-256-KiB",
        ),
        pytest.param(
            {"k": "é" * (128 * 1024)},
            [("metadata.annotations", "Too long: may not be more than 262144 bytes")],
            id="size-counts-utf8-bytes",
        ),
    ],
)
def test_annotation_keys_and_total_size(annotations: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert rendered(manifest(None, annotations=annotations)) == expected


def test_an_invalid_name_suggests_a_valid_one() -> None:
    from apivalidation_cases import api_errors

    (error,) = api_errors(manifest(None, name="TEMP_NAME"))
    assert "'temp-name'" in error.fix


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("my app", '"my app"', id="plain"),
        pytest.param('say "hi"\\', '"say \\"hi\\"\\\\"', id="quote-and-backslash"),
        pytest.param("a\tb\n", '"a\\tb\\n"', id="named-escapes"),
        pytest.param("a\x01b\x7f", '"a\\x01b\\x7f"', id="other-ascii-controls-as-hex"),
        pytest.param("café", '"café"', id="printable-unicode-kept"),
        pytest.param("a\u200bb", '"a\\u200bb"', id="invisible-unicode-escaped"),
        pytest.param("a\U000e0001", '"a\\U000e0001"', id="invisible-beyond-the-bmp"),
    ],
)
def test_bad_values_are_quoted_the_way_kubectl_shows_them(value: str, shown: str) -> None:
    # The API server formats string values with Go's %q; the message must read the same here.
    ((path, body),) = rendered(manifest(None, labels={"app": value}))
    assert (path, body.removesuffix(f": {LABEL_VALUE_MSG}")) == ("metadata.labels", f"Invalid value: {shown}")
