"""The chart against the real API server: every rendering validated, its RBAC enforced, its hooks run.

Nothing here has nodes, so what the chart's pods would run (the certs Job, `helm test`'s selftest) runs as
a local process with the same arguments, authenticated by a token of the pod's own ServiceAccount from the
TokenRequest API: the API server then allows exactly what the chart's Roles grant, and a missing verb or
resourceName fails the command and the test.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import yaml
from controlplane.webhook import find_helm, install_chart, wait_until_answering
from cryptography import x509
from guard import DENIED, EXAMPLES, ROOT, WEBHOOK, Guard, wait_for

pytestmark = [pytest.mark.controlplane, pytest.mark.timeout(300)]

CHART: Final = ROOT / "charts" / "netpol-guard"
CI_VALUES: Final = sorted((CHART / "ci").glob("*-values.yaml"))
RELEASE: Final = "netpol-guard"
NAMESPACE: Final = "netpol-guard"
# Kinds from operators the chart's optional modes render (prometheus-operator, cert-manager) are not served
# here. Their real CRDs are not at hand: the fixture registers CRDs that accept any content, so the API
# server checks those objects' kind, version and metadata, not their specs.


def helm(guard: Guard, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    command = [find_helm(), "--kubeconfig", str(guard.plane.kubeconfig), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]


def rendered_objects(dry_run_output: str) -> list[dict[str, Any]]:
    """The hooks and the manifest `helm install --dry-run` printed (everything before NOTES)."""
    body = dry_run_output.split("\nNOTES:", 1)[0]
    start = min(i for i in (body.find("\nHOOKS:"), body.find("\nMANIFEST:")) if i >= 0)
    lines = [line for line in body[start:].splitlines() if line not in ("HOOKS:", "MANIFEST:")]
    return documents("\n".join(lines))


def crd(api_version: str, kind: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    plural = f"{kind.lower()}s"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower(), "listKind": f"{kind}List"},
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def unserved_kinds(guard: Guard) -> set[tuple[str, str]]:
    """(apiVersion, kind) of what any rendering holds that this API server does not serve."""
    served = set(guard.kubectl("api-versions").stdout.split())
    found = set()
    for values in [None, *CI_VALUES]:
        args = ["template", RELEASE, str(CHART), "-n", NAMESPACE, *(["-f", str(values)] if values else [])]
        rendered = helm(guard, *args)
        assert rendered.returncode == 0, rendered.stderr
        found |= {(o["apiVersion"], o["kind"]) for o in documents(rendered.stdout)}
    return {(api_version, kind) for api_version, kind in found if api_version not in served}


@pytest.fixture(scope="module")
def third_party_kinds(guard: Guard) -> Iterator[None]:
    crds = [crd(*kind) for kind in sorted(unserved_kinds(guard))]
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": crds})
    assert guard.kubectl("apply", "-f", "-", input=manifest).rc == 0
    for definition in crds:
        name = definition["metadata"]["name"]
        assert guard.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=60s").rc == 0
    try:
        yield
    finally:
        guard.kubectl("delete", "-f", "-", "--ignore-not-found", input=manifest)


def test_the_installed_release_sends_reviews_to_the_local_server(guard: Guard) -> None:
    status = json.loads(helm(guard, "status", RELEASE, "-n", NAMESPACE, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    config = json.loads(guard.kubectl("get", "validatingwebhookconfiguration", WEBHOOK, "-o", "json").stdout)
    assert config["webhooks"][0]["clientConfig"]["url"] == guard.webhook.url
    refused = guard.kubectl("apply", "-f", str(EXAMPLES / "bad" / "forbid-allow-all.yaml"))
    assert refused.rc != 0 and DENIED in refused.stderr, refused.output


# -- the chart's pods, run here as their ServiceAccounts ----------------------------------------------


def as_service_account(guard: Guard, account: str, directory: Path) -> dict[str, str]:
    """Environment for a local process that authenticates as ``account`` (a TokenRequest token)."""
    kubeconfig = guard.plane.service_account_kubeconfig(
        NAMESPACE, account, directory / f"{account}.kubeconfig"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    return {**env, "KUBECONFIG": str(kubeconfig), "PYTHONPATH": str(ROOT)}


def container_args(obj: dict[str, Any]) -> list[str]:
    spec = obj["spec"]
    pod = spec["jobTemplate"]["spec"]["template"]["spec"] if obj["kind"] == "CronJob" else spec
    pod = pod["template"]["spec"] if obj["kind"] == "Job" else pod
    args: list[str] = pod["containers"][0]["args"]
    return args


def run_netpol_guard(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The image's entrypoint is `netpol-guard`; here it is this checkout's.
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def kubelet_volume(directory: Path, files: dict[str, str]) -> Path:
    """Files laid out as the kubelet lays out a ConfigMap volume: ``..data`` -> a timestamped folder."""
    directory.mkdir(parents=True)
    data = directory / "..2026_01_01_00_00_00.000000000"
    data.mkdir()
    for name, content in files.items():
        (data / name).write_text(content, encoding="utf-8")
        (directory / name).symlink_to(Path("..data") / name)
    (directory / "..data").symlink_to(data.name)
    return directory


@pytest.fixture
def self_managed_rbac(guard: Guard) -> Iterator[list[dict[str, Any]]]:
    """The RBAC of tls.mode=selfManaged (hook Job and CronJob identities), created as Helm would."""
    result = helm(
        guard, "template", RELEASE, str(CHART), "-n", NAMESPACE,
        "--set", "tls.mode=selfManaged", "--set", f"webhook.url={guard.webhook.url}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = documents(result.stdout)
    rbac = [
        o
        for o in objects
        if o["kind"] in ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
    ]
    rbac = [o for o in rbac if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "certs"]
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": rbac})
    before = guard.kubectl("get", "validatingwebhookconfiguration", WEBHOOK, "-o", "json").stdout
    assert guard.kubectl("apply", "-f", "-", input=manifest).rc == 0
    try:
        yield objects
    finally:
        guard.kubectl("delete", "-f", "-", "--ignore-not-found", input=manifest)
        guard.kubectl("delete", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "--ignore-not-found")
        # Back to the local server's CA alone, as the release set it.
        bundle = json.loads(before)["webhooks"][0]["clientConfig"]["caBundle"]
        patch = [{"op": "replace", "path": "/webhooks/0/clientConfig/caBundle", "value": bundle}]
        guard.kubectl(
            "patch", "validatingwebhookconfiguration", WEBHOOK, "--type=json", "-p", json.dumps(patch)
        )


def test_certs_ensure_runs_as_the_hook_jobs_and_the_cronjobs_service_accounts(
    guard: Guard, self_managed_rbac: list[dict[str, Any]], tmp_path: Path
) -> None:
    job = next(o for o in self_managed_rbac if o["kind"] == "Job")
    cronjob = next(o for o in self_managed_rbac if o["kind"] == "CronJob")
    hook_account = job["spec"]["template"]["spec"]["serviceAccountName"]
    hook = as_service_account(guard, hook_account, tmp_path)
    # The token really is the ServiceAccount's: nothing beyond the chart's Role, e.g. no listing Secrets.
    denied = guard.kubectl("get", "secrets", "-n", NAMESPACE, f"--kubeconfig={hook['KUBECONFIG']}")
    assert denied.rc != 0 and "Forbidden" in denied.stderr, denied.output

    first = run_netpol_guard(container_args(job), hook)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "new CA and serving certificate" in first.stdout, first.stdout
    secret = json.loads(
        guard.kubectl("get", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "-o", "json").stdout
    )
    served = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )
    assert f"{RELEASE}.{NAMESPACE}.svc" in names, names
    config = json.loads(guard.kubectl("get", "validatingwebhookconfiguration", WEBHOOK, "-o", "json").stdout)
    bundle = base64.b64decode(config["webhooks"][0]["clientConfig"]["caBundle"])
    assert base64.b64decode(secret["data"]["ca.crt"]) in bundle
    assert guard.webhook.ca.cert_pem in bundle  # widened, never replaced: the serving CA stays trusted
    refused = guard.kubectl("apply", "-f", str(EXAMPLES / "bad" / "forbid-allow-all.yaml"))
    assert refused.rc != 0 and DENIED in refused.stderr, refused.output

    # The daily CronJob, as its own ServiceAccount: certificates still valid, so nothing changes.
    cron = as_service_account(
        guard, cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"], tmp_path
    )
    again = run_netpol_guard(container_args(cronjob), cron)
    assert again.returncode == 0, again.stdout + again.stderr
    after = json.loads(guard.kubectl("get", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "-o", "json").stdout)
    assert after["data"] == secret["data"]


@pytest.fixture
def release_with_example_rules(guard: Guard) -> Iterator[None]:
    """The release's rules value set to the rules the local server serves (so `helm test` expects what
    the webhook does), and the team label its test policies need."""
    rules = yaml.safe_load(guard.rules_file.read_text(encoding="utf-8"))
    rules.pop("apiVersion", None)
    rules.pop("kind", None)
    values = guard.rules_file.with_name("release-rules-values.yaml")
    values.write_text(yaml.safe_dump({"rules": rules, "tests": {"labels": {"team": "platform"}}}))
    args = [
        "upgrade",
        RELEASE,
        str(CHART),
        "-n",
        NAMESPACE,
        "--reuse-values",
        "--no-hooks",
        "-f",
        str(values),
    ]
    result = helm(guard, *args)
    assert result.returncode == 0, result.stderr
    yield


@pytest.mark.usefixtures("release_with_example_rules")
def test_helm_tests_selftest_passes_as_its_service_account(guard: Guard, tmp_path: Path) -> None:
    hooks = documents(helm(guard, "get", "hooks", RELEASE, "-n", NAMESPACE).stdout)
    tests = [h for h in hooks if h["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
    pod = next(h for h in tests if h["kind"] == "Pod")
    rbac = [h for h in tests if h["kind"] != "Pod"]
    manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": rbac})
    assert guard.kubectl("apply", "-f", "-", input=manifest).rc == 0
    try:
        # The rules ConfigMap as the pod would mount it.
        mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"] if m["name"] == "rules")
        volume = next(v for v in pod["spec"]["volumes"] if v["name"] == "rules")
        configmap = json.loads(
            guard.kubectl(
                "get", "configmap", volume["configMap"]["name"], "-n", NAMESPACE, "-o", "json"
            ).stdout
        )
        assert yaml.safe_load(configmap["data"]["rules.yaml"]) == yaml.safe_load(guard.rules_file.read_text())
        folder = kubelet_volume(tmp_path / "rules", configmap["data"])
        args = [a.replace(mount["mountPath"], str(folder)) for a in pod["spec"]["containers"][0]["args"]]
        env = as_service_account(guard, pod["spec"]["serviceAccountName"], tmp_path)
        result = run_netpol_guard(args, env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "allow-all NetworkPolicy in default is denied" in result.stdout, result.stdout
        assert "well-formed NetworkPolicy in default is admitted" in result.stdout, result.stdout
    finally:
        guard.kubectl("delete", "-f", "-", "--ignore-not-found", input=manifest)


@pytest.fixture(scope="module")
def without_release(guard: Guard) -> Iterator[None]:
    """The release uninstalled for the rest of the module, installed again afterwards."""
    uninstalled = helm(guard, "uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "2m")
    assert uninstalled.returncode == 0, uninstalled.stderr
    try:
        yield
    finally:
        install_chart(guard.plane, guard.webhook)
        wait_until_answering(guard.plane, guard.webhook)


@pytest.mark.usefixtures("without_release")
def test_helm_uninstall_leaves_nothing_that_blocks_writes(guard: Guard) -> None:
    allow_all = EXAMPLES / "bad" / "forbid-allow-all.yaml"
    configs = guard.kubectl("get", "validatingwebhookconfigurations", "-o", "name")
    assert "netpol-guard" not in configs.stdout, configs.stdout
    kinds = "all,configmaps,secrets,roles,rolebindings,serviceaccounts,poddisruptionbudgets"
    left = guard.kubectl(
        "get", kinds, "-n", NAMESPACE, "-l", f"app.kubernetes.io/instance={RELEASE}", "-o", "name"
    )
    assert left.rc == 0 and left.stdout.strip() == "", left.output
    outputs: list[str] = []

    def admitted() -> bool:
        result = guard.kubectl("apply", "-f", str(allow_all))
        outputs.append(result.output)
        return result.rc == 0

    try:
        # The API server's informer drops the deleted configuration a moment later, not at once.
        wait_for(admitted, lambda: f"the allow-all policy to be admitted (last: {outputs[-1:]})", timeout=30)
    finally:
        guard.kubectl("delete", "-f", str(allow_all), "--ignore-not-found")


@pytest.mark.usefixtures("without_release", "third_party_kinds")
@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=["defaults", *(p.stem for p in CI_VALUES)])
def test_every_rendering_of_the_chart_is_accepted_by_the_api_server(
    guard: Guard, values: Path | None
) -> None:
    args = ["install", RELEASE, str(CHART), "-n", NAMESPACE, "--dry-run=server"]
    result = helm(guard, *args, *(["-f", str(values)] if values else []))
    assert result.returncode == 0, result.stderr
    objects = rendered_objects(result.stdout)
    assert any(obj["kind"] == "ValidatingWebhookConfiguration" for obj in objects), result.stdout[:2000]
    # A dry run registers nothing, so a rendering whose webhook is the in-cluster Service (the defaults)
    # is judged without the API server ever dialling its ClusterIP.
    # Helm's server dry run only reads; the API server itself judges each object as a create (strict
    # field validation). Pods name ServiceAccounts that must exist, so those are created for real, and
    # so are the namespaces the values name (tests.namespace is the user's, not the chart's).
    namespaces = sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")})
    for namespace in namespaces:
        guard.kubectl("create", "namespace", namespace)  # already there is fine
    accounts = [obj for obj in objects if obj["kind"] == "ServiceAccount"]
    others = [obj for obj in objects if obj["kind"] != "ServiceAccount"]
    accounts_manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": accounts})
    assert guard.kubectl("create", "-f", "-", input=accounts_manifest).rc == 0
    try:
        manifest = json.dumps({"apiVersion": "v1", "kind": "List", "items": others})
        created = guard.kubectl("create", "--dry-run=server", "--validate=strict", "-f", "-", input=manifest)
        assert created.rc == 0, created.output
        assert "Warning:" not in created.stderr, created.stderr
        assert created.stdout.count("(server dry run)") == len(others), created.stdout
    finally:
        guard.kubectl("delete", "-f", "-", "--ignore-not-found", input=accounts_manifest)
