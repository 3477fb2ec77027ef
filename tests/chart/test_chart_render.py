"""The chart, rendered by real Helm: lint, Kubernetes schemas 1.29-1.35, and what each object must say."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from chart_rendering import (
    CHART,
    CRD_KINDS,
    NAMESPACE,
    VALUES_CASES,
    VALUES_IDS,
    Render,
    of_kind,
    one,
    pod_specs,
    run_helm,
)

from app.rules.protect_baseline import BASELINE_LABEL, NAMESPACE_LIFECYCLE_USERS
from app.ruleset import Mode, parse_ruleset_text

kubernetes_validate = pytest.importorskip("kubernetes_validate")

KUBE_VERSIONS = ["1.29.0", "1.30.0", "1.31.0", "1.32.0", "1.33.0", "1.34.0", "1.35.0"]
OPTIONS = CHART / "ci" / "options-values.yaml"
WEBHOOK_URL = CHART / "ci" / "webhook-url-values.yaml"
WEBHOOK = "validate.netpol-guard.io"
LIFECYCLE_CONDITIONS = ["netpol-guard-not-namespace-lifecycle", "netpol-guard-delete-only-baselines"]


@pytest.mark.parametrize("values_file", VALUES_CASES, ids=VALUES_IDS)
def test_the_chart_passes_strict_lint(helm: str, values_file: Path | None) -> None:
    args = ["lint", "--strict", str(CHART), "--namespace", NAMESPACE]
    if values_file is not None:
        args += ["-f", str(values_file)]
    result = run_helm(helm, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("values_file", VALUES_CASES, ids=VALUES_IDS)
def test_every_rendered_object_validates_against_the_kubernetes_schema(
    render: Render, values_file: Path | None, kube_version: str
) -> None:
    objects = render(values_file, kube_version=kube_version)
    core = [obj for obj in objects if obj["kind"] not in CRD_KINDS]
    assert len(core) >= 8
    for obj in core:
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} on {kube_version}: {exc.message}")


def test_the_schema_validation_catches_an_unknown_field(render: Render) -> None:
    deployment = copy.deepcopy(one(render(), "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.35.0", strict=True)


@pytest.mark.parametrize("values_file", VALUES_CASES, ids=VALUES_IDS)
def test_the_webhook_is_configured_to_the_letter(render: Render, values_file: Path | None) -> None:
    vwc = one(render(values_file), "ValidatingWebhookConfiguration")
    assert vwc["metadata"]["name"] == WEBHOOK
    [hook] = vwc["webhooks"]
    assert hook["name"] == WEBHOOK
    assert hook["rules"] == [
        {
            "apiGroups": ["networking.k8s.io"],
            "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE", "DELETE"],
            "resources": ["networkpolicies"],
            "scope": "Namespaced",
        }
    ]
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert hook["matchPolicy"] == "Equivalent"
    if values_file == WEBHOOK_URL:
        assert hook["clientConfig"]["url"] == "https://127.0.0.1:8443/validate/networkpolicies"
    else:
        assert hook["clientConfig"]["service"]["path"] == "/validate/networkpolicies"
        assert hook["clientConfig"]["service"]["namespace"] == NAMESPACE
    excluded = [
        expr
        for expr in hook["namespaceSelector"]["matchExpressions"]
        if expr["key"] == "kubernetes.io/metadata.name" and expr["operator"] == "NotIn"
    ]
    assert len(excluded) == 1 and {"kube-system", NAMESPACE} <= set(excluded[0]["values"])


def test_defaults_fail_closed_within_five_seconds(render: Render) -> None:
    [hook] = one(render(), "ValidatingWebhookConfiguration")["webhooks"]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Fail", 5)
    assert "objectSelector" not in hook
    assert [c["name"] for c in hook["matchConditions"]] == LIFECYCLE_CONDITIONS


def test_optional_selectors_and_conditions_reach_the_webhook(render: Render) -> None:
    [hook] = one(render(OPTIONS), "ValidatingWebhookConfiguration")["webhooks"]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Ignore", 10)
    assert hook["objectSelector"]["matchExpressions"][0]["key"] == "netpol-guard.io/skip"
    assert [c["name"] for c in hook["matchConditions"]] == [*LIFECYCLE_CONDITIONS, "not-gitops-controller"]
    assert hook["namespaceSelector"]["matchLabels"] == {"netpol-guard.io/enforced": "true"}
    expressions = hook["namespaceSelector"]["matchExpressions"]
    assert expressions[0]["values"] == ["kube-system", NAMESPACE, "break-glass"]
    assert expressions[1]["key"] == "environment"


def test_the_service_routes_port_443_to_the_servers_tls_port(render: Render) -> None:
    objects = render()
    service = one(objects, "Service")
    https = next(port for port in service["spec"]["ports"] if port["name"] == "https")
    assert (https["port"], https["targetPort"]) == (443, "https")
    pod = one(objects, "Deployment")["spec"]["template"]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    container = pod["spec"]["containers"][0]
    assert {"name": "https", "containerPort": 8443, "protocol": "TCP"} in container["ports"]
    assert "--port=8443" in container["args"] and "--probe-port=9090" in container["args"]


@pytest.mark.parametrize("values_file", VALUES_CASES, ids=VALUES_IDS)
def test_every_pod_meets_the_restricted_pod_security_standard(
    render: Render, values_file: Path | None
) -> None:
    specs = pod_specs(render(values_file))
    assert specs
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 65532, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for container in spec["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False, name
            assert ctx["readOnlyRootFilesystem"] is True, name
            assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 65532, name
            assert ctx["capabilities"] == {"drop": ["ALL"]}, name
            assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert "privileged" not in ctx, name


def test_the_deployment_is_highly_available_and_probed_on_the_plain_port(render: Render) -> None:
    deployment = one(render(), "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    [spread] = pod["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    container = pod["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "probes", probe
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["terminationGracePeriodSeconds"] > 5


@pytest.mark.parametrize(
    ("kube_version", "expected"),
    [("1.29.0", "exec"), ("1.30.0", "sleep"), ("1.35.0", "sleep")],
    ids=["1.29-exec-python", "1.30-sleep-action", "1.35-sleep-action"],
)
def test_prestop_waits_for_endpoints_to_drain_without_a_sleep_binary(
    render: Render, kube_version: str, expected: str
) -> None:
    container = one(render(kube_version=kube_version), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    pre_stop = container["lifecycle"]["preStop"]
    assert list(pre_stop) == [expected]
    if expected == "sleep":
        assert pre_stop["sleep"]["seconds"] == 5
    else:
        assert pre_stop["exec"]["command"][:2] == ["python", "-c"]


def test_a_pod_disruption_budget_guards_multiple_replicas_only(render: Render) -> None:
    objects = render()
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert of_kind(render(CHART / "ci" / "single-replica-values.yaml"), "PodDisruptionBudget") == []


def _rules_by_role(objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    return {
        f"{obj['kind']}/{obj['metadata']['name']}": obj["rules"]
        for obj in objects
        if obj["kind"] in ("Role", "ClusterRole")
    }


def test_rbac_names_exactly_the_secret_and_the_webhook_configuration(render: Render) -> None:
    objects = render()
    roles = _rules_by_role(objects)
    certs_roles = {name: rules for name, rules in roles.items() if "-certs" in name}
    assert len(certs_roles) == 4  # Role and ClusterRole, for the hook Job and for the CronJob
    for name, rules in certs_roles.items():
        for rule in rules:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], name
            if rule["verbs"] == ["create"]:
                # create cannot be limited by name; only Secrets, only in the release namespace.
                assert name.startswith("Role/") and rule["resources"] == ["secrets"], name
                continue
            assert rule["verbs"] == ["get", "patch"], name
            expected = ["netpol-guard-tls"] if rule["resources"] == ["secrets"] else [WEBHOOK]
            assert rule["resourceNames"] == expected, name
    assert any(
        r["resources"] == ["validatingwebhookconfigurations"] for r in roles["ClusterRole/netpol-guard-certs"]
    )
    test_role = one(objects, "Role", "netpol-guard-test")
    assert test_role["metadata"]["namespace"] == "default"
    assert test_role["rules"] == [
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["create"]}
    ]


def test_the_webhook_server_gets_no_api_credentials(render: Render) -> None:
    objects = render()
    account = one(objects, "ServiceAccount", "netpol-guard")
    assert account["automountServiceAccountToken"] is False
    bound = {
        subject["name"]
        for obj in objects
        if obj["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in obj["subjects"]
    }
    assert "netpol-guard" not in bound


def test_certificates_are_ensured_by_hook_job_and_daily_cronjob_with_the_same_arguments(
    render: Render,
) -> None:
    objects = render()
    job = one(objects, "Job")
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert {"pre-install", "pre-upgrade"} <= hooks
    assert "hook-succeeded" in job["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
    job_args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert job_args == [
        "certs",
        "ensure",
        f"--namespace={NAMESPACE}",
        "--secret=netpol-guard-tls",
        f"--webhook={WEBHOOK}",
        "--service=netpol-guard",
        "--validity=365d",
        "--renew-before=30d",
    ]
    cronjob = one(objects, "CronJob")
    assert cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"] == job_args
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    # Hook-only RBAC is deleted after the hook; the CronJob's RBAC lives with the release.
    for obj in objects:
        annotations = obj["metadata"].get("annotations", {})
        if obj["metadata"]["name"] == "netpol-guard-certs-hook":
            assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"], obj["kind"]
    secret_volume = next(
        v for v in one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"] if v["name"] == "tls"
    )
    assert secret_volume["secret"]["secretName"] == "netpol-guard-tls"


def test_self_managed_mode_never_renders_a_ca_bundle_so_upgrades_keep_the_one_set_in_cluster(
    render: Render,
) -> None:
    [hook] = one(render(), "ValidatingWebhookConfiguration")["webhooks"]
    assert "caBundle" not in hook["clientConfig"]
    assert of_kind(render(), "Secret") == []


def test_cert_manager_mode_injects_the_ca_of_the_serving_certificate(render: Render) -> None:
    objects = render(CHART / "ci" / "certmanager-values.yaml")
    vwc = one(objects, "ValidatingWebhookConfiguration")
    assert vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == f"{NAMESPACE}/netpol-guard"
    serving = one(objects, "Certificate", "netpol-guard")
    assert serving["spec"]["secretName"] == "netpol-guard-tls"
    assert f"netpol-guard.{NAMESPACE}.svc" in serving["spec"]["dnsNames"]
    assert serving["spec"]["issuerRef"]["name"] == "netpol-guard-ca"
    assert one(objects, "Certificate", "netpol-guard-ca")["spec"]["isCA"] is True
    assert of_kind(objects, "Job") == [] and of_kind(objects, "CronJob") == []
    with_issuer = render(CHART / "ci" / "certmanager-issuer-values.yaml")
    assert one(with_issuer, "Certificate")["spec"]["issuerRef"]["kind"] == "ClusterIssuer"
    assert of_kind(with_issuer, "Issuer") == []


def test_existing_secret_mode_uses_the_given_secret_and_ca_bundle(render: Render) -> None:
    objects = render(CHART / "ci" / "existingsecret-values.yaml")
    [hook] = one(objects, "ValidatingWebhookConfiguration")["webhooks"]
    assert hook["clientConfig"]["caBundle"].startswith("LS0tLS1CRUdJTi")
    volumes = one(objects, "Deployment")["spec"]["template"]["spec"]["volumes"]
    tls = next(volume for volume in volumes if volume["name"] == "tls")
    assert tls["secret"]["secretName"] == "webhook-serving-cert"
    assert (
        not of_kind(objects, "Job")
        and not of_kind(objects, "CronJob")
        and not of_kind(objects, "Certificate")
    )


def test_webhook_url_replaces_the_service_reference_and_keeps_the_ca_bundle(render: Render) -> None:
    [hook] = one(render(WEBHOOK_URL), "ValidatingWebhookConfiguration")["webhooks"]
    assert "service" not in hook["clientConfig"]
    assert hook["clientConfig"]["url"] == "https://127.0.0.1:8443/validate/networkpolicies"
    assert hook["clientConfig"]["caBundle"].startswith("LS0tLS1CRUdJTi")
    [default] = one(render(), "ValidatingWebhookConfiguration")["webhooks"]
    assert "url" not in default["clientConfig"]


@pytest.mark.parametrize("values_file", VALUES_CASES, ids=VALUES_IDS)
def test_the_rules_configmap_loads_with_the_servers_rules_loader(
    render: Render, values_file: Path | None
) -> None:
    objects = render(values_file)
    configmap = one(objects, "ConfigMap", "netpol-guard-rules")
    ruleset = parse_ruleset_text(configmap["data"]["rules.yaml"], "ConfigMap netpol-guard-rules")
    deployment = one(objects, "Deployment")
    assert (
        "--config=/etc/netpol-guard/rules/rules.yaml"
        in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    assert ruleset.mode in set(Mode)


def test_rules_from_values_reach_the_loaded_rules(render: Render) -> None:
    configmap = one(render(OPTIONS), "ConfigMap", "netpol-guard-rules")
    ruleset = parse_ruleset_text(configmap["data"]["rules.yaml"], "ConfigMap")
    assert ruleset.mode is Mode.WARN
    assert ruleset.grandfather_existing is False
    assert ruleset.exemptions.exempts_namespace("sandbox-1")
    labels = ruleset.settings_for("require-labels")
    assert [requirement.key for requirement in labels.labels] == ["team", "tier"]  # type: ignore[attr-defined]
    assert not labels.applies_to("dev-web")


def test_rules_are_hot_reloaded_from_a_directory_mount_not_by_restarting(render: Render) -> None:
    pod = one(render(), "Deployment")["spec"]["template"]
    mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == "rules")
    assert "subPath" not in mount  # subPath mounts never see the kubelet's symlink swap
    assert not any("checksum" in key for key in pod["metadata"].get("annotations", {}))


def test_optional_objects_render_only_when_enabled(render: Render) -> None:
    defaults = render()
    assert not of_kind(defaults, "ServiceMonitor") and not of_kind(defaults, "NetworkPolicy")
    options = render(OPTIONS)
    monitor = one(options, "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"
    service_labels = one(options, "Service")["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service_labels.items()
    policy = one(options, "NetworkPolicy")
    pod_labels = one(options, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and policy["spec"]["egress"] == []
    assert policy["metadata"]["namespace"] == NAMESPACE  # never judged: the webhook skips its own namespace
    pod = one(options, "Deployment")["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert "--client-ca-file=/etc/netpol-guard/client-ca/ca.crt" in pod["containers"][0]["args"]


def test_the_helm_test_pod_runs_selftest_against_the_served_rules(render: Render) -> None:
    objects = render(OPTIONS)
    pod = one(objects, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    args = pod["spec"]["containers"][0]["args"]
    assert args[0] == "selftest"
    assert "--namespace=netpol-guard-selftest" in args and "--label=team=platform" in args
    assert "--config=/etc/netpol-guard/rules/rules.yaml" in args
    assert of_kind(render(CHART / "ci" / "single-replica-values.yaml"), "Pod") == []


@pytest.mark.parametrize(
    ("set_value", "message"),
    [
        ("timeoutSeconds=31", "at '/timeoutSeconds': maximum: got 31, want 30"),
        ("timeoutSeconds=0", "at '/timeoutSeconds': minimum: got 0, want 1"),
        ("unknownKey=1", "additional properties 'unknownKey' not allowed"),
        ("image.tagg=v1", "additional properties 'tagg' not allowed"),
        ("replicaCount=two", "at '/replicaCount': got string, want integer"),
        ("failurePolicy=Maybe", "at '/failurePolicy'"),
        ("tls.mode=vault", "at '/tls/mode'"),
        ("tls.mode=existingSecret", "at '/tls/existingSecret/name'"),
        ("tls.selfManaged.validity=1y", "at '/tls/selfManaged/validity'"),
        ("webhook.url=http://127.0.0.1:8443/validate", "at '/webhook/url'"),
        ("webhook.url=https://127.0.0.1:8443/validate?x=1", "at '/webhook/url'"),
        ("webhook.url=https://user@example.com/validate", "at '/webhook/url'"),
        ("rules.mode=block", "at '/rules/mode'"),
        ("rules.rules.no-such-rule.action=deny", "additional properties 'no-such-rule' not allowed"),
        ("rules.rules.forbid-allow-all.allowPortScoped=maybe", "allowPortScoped': got string, want boolean"),
        ("rules.rules.require-labels.colour=red", "additional properties 'colour' not allowed"),
    ],
    ids=[
        "timeout-above-30",
        "timeout-zero",
        "unknown-top-level-key",
        "unknown-nested-key",
        "wrong-type",
        "bad-failure-policy",
        "bad-tls-mode",
        "existing-secret-without-name",
        "bad-duration",
        "webhook-url-not-https",
        "webhook-url-with-query",
        "webhook-url-with-user-info",
        "bad-rules-mode",
        "unknown-rule-id",
        "wrong-rule-parameter-type",
        "unknown-rule-parameter",
    ],
)
def test_the_values_schema_rejects_bad_values_with_a_clear_message(
    helm: str, set_value: str, message: str
) -> None:
    result = run_helm(helm, "template", "netpol-guard", str(CHART), "--set", set_value)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("values_file", VALUES_CASES, ids=VALUES_IDS)
def test_namespace_deletion_never_waits_for_the_webhook(render: Render, values_file: Path | None) -> None:
    [hook] = one(render(values_file), "ValidatingWebhookConfiguration")["webhooks"]
    conditions = {c["name"]: c["expression"] for c in hook["matchConditions"]}
    # The same two controllers protect-baseline lets through, so the chart and the rule cannot drift.
    lifecycle = conditions["netpol-guard-not-namespace-lifecycle"]
    assert lifecycle.startswith("!(request.userInfo.username in [")
    assert set(re.findall(r"'([^']+)'", lifecycle)) == NAMESPACE_LIFECYCLE_USERS
    delete = conditions["netpol-guard-delete-only-baselines"]
    assert delete.startswith("request.operation != 'DELETE' || ")
    assert f"oldObject.metadata.labels['{BASELINE_LABEL}'] == 'true'" in delete
    assert "object.metadata" not in delete.replace("oldObject.metadata", "")  # object is null on DELETE


def test_the_chart_s_condition_names_are_reserved(helm: str) -> None:
    result = run_helm(
        helm,
        "template",
        "netpol-guard",
        str(CHART),
        "--set",
        "matchConditions[0].name=netpol-guard-mine,matchConditions[0].expression=true",
    )
    assert result.returncode != 0
    assert "matchConditions/0/name" in result.stderr, result.stderr
