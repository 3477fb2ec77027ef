"""Build kube-apiserver, kube-controller-manager, kubectl and etcd from the Go modules pinned in go.mod.

The versions come from tests/controlplane/go.mod (the ``k8s.io/kubernetes`` and ``go.etcd.io/etcd/server/v3``
requirements), so bumping Kubernetes is: ``python -m controlplane.kubetools sync-replaces v1.36.4`` (rewrites
the staging ``replace`` list from the served k8s.io/kubernetes go.mod and tidies), then ``make kube-tools``.

Usage (from the repository root, with ``tests`` on ``PYTHONPATH``)::

    python -m controlplane.kubetools build            # `make kube-tools`: no-op when already built
    python -m controlplane.kubetools sync-replaces [VERSION]
    python -m controlplane.kubetools check-replaces   # exit 1 when go.mod's list differs from the served one

Standard library only: it runs before the virtual environment exists.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
MODULE_DIR: Final = Path(__file__).resolve().parent
GO_MOD: Final = MODULE_DIR / "go.mod"
KUBE_DIR: Final = ROOT / ".tools" / "kube"
BIN_DIR: Final = KUBE_DIR / "bin"

KUBERNETES: Final = "k8s.io/kubernetes"
ETCD_SERVER: Final = "go.etcd.io/etcd/server/v3"
# binary name -> package built; etcd's module root is its `main` package and would be named `server`.
PROGRAMS: Final[Mapping[str, str]] = {
    "kube-apiserver": f"{KUBERNETES}/cmd/kube-apiserver",
    "kube-controller-manager": f"{KUBERNETES}/cmd/kube-controller-manager",
    "kubectl": f"{KUBERNETES}/cmd/kubectl",
    "etcd": ETCD_SERVER,
}
# Set by CI: the control-plane tests must run, so tools that cannot be built are an error, not a skip.
REQUIRED: Final = "CONTROLPLANE_REQUIRED"
_GO_OUTPUT_NAME: Final = {ETCD_SERVER: "server"}
# A fixed date keeps the binaries reproducible; `kubectl version` prints only gitVersion.
_BUILD_DATE: Final = "1970-01-01T00:00:00Z"
_STAGING_REPLACE: Final = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", re.MULTILINE)


class KubeToolsError(Exception):
    """The tools cannot be built here; the message says why and what to do."""


class NoGo(KubeToolsError):
    """No Go toolchain new enough for go.mod."""


@dataclass(frozen=True)
class Pins:
    """What go.mod pins: the Kubernetes release (v1.36.3) and the etcd server (v3.6.8)."""

    kubernetes: str
    etcd: str

    @property
    def staging(self) -> str:
        """Staging modules are tagged v0.MINOR.PATCH for release v1.MINOR.PATCH."""
        return "v0." + self.kubernetes.removeprefix("v1.")


def _required_version(text: str, module: str) -> str:
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.MULTILINE)
    if match is None:
        raise KubeToolsError(f"{GO_MOD}: no requirement on {module}")
    return match.group(1)


def read_pins(go_mod: Path = GO_MOD) -> Pins:
    text = go_mod.read_text()
    return Pins(_required_version(text, KUBERNETES), _required_version(text, ETCD_SERVER))


def ldflags(pins: Pins) -> str:
    """-X flags that stamp the release into both version packages (else `kubectl version` says v0.0.0)."""
    major, minor, *_ = pins.kubernetes.removeprefix("v").split(".")
    values = {
        "gitVersion": pins.kubernetes,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": _BUILD_DATE,
    }
    flags = ["-s", "-w"]  # no symbol tables: a third of the disk, and nobody debugs these binaries
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{name}={value}" for name, value in values.items()]
    return " ".join(flags)


def _output(command: list[str]) -> str | None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def reported_version(name: str, bin_dir: Path = BIN_DIR) -> str | None:
    """The version a built binary reports (``v1.36.3``, or ``3.6.8`` for etcd), None if it does not run."""
    binary = str(bin_dir / name)
    if name == "etcd":
        out = _output([binary, "--version"])
        match = re.search(r"etcd Version:\s*(\S+)", out or "")
    elif name == "kubectl":
        out = _output([binary, "version", "--client"])
        match = re.search(r"Client Version:\s*(\S+)", out or "")
    else:
        out = _output([binary, "--version"])
        match = re.search(r"Kubernetes\s+(\S+)", out or "")
    return match.group(1) if match else None


def stale(pins: Pins, bin_dir: Path = BIN_DIR) -> list[str]:
    """The programs missing from ``bin_dir`` or reporting another version than go.mod pins."""
    wanted = {name: pins.kubernetes for name in PROGRAMS} | {"etcd": pins.etcd.removeprefix("v")}
    return [name for name, version in wanted.items() if reported_version(name, bin_dir) != version]


def _go_environment() -> dict[str, str]:
    env = dict(os.environ)
    # Static binaries; go.sum is the truth (never edited by a build); the installed Go, never a download.
    env.update(CGO_ENABLED="0", GOFLAGS="-mod=readonly", GOTOOLCHAIN="local", GOWORK="off")
    return env


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise NoGo("go is not installed: install Go 1.26+ (https://go.dev/doc/install)")
    wanted = re.search(r"^go\s+(\d+\.\d+)", GO_MOD.read_text(), re.MULTILINE)
    have = _output([go, "env", "GOVERSION"]) or ""
    found = re.match(r"go(\d+)\.(\d+)", have.strip())
    if wanted and found:
        need = tuple(int(part) for part in wanted.group(1).split("."))
        if (int(found.group(1)), int(found.group(2))) < need:
            raise NoGo(f"{go} is {have.strip()}; {GO_MOD} needs Go {wanted.group(1)} or newer")
    return go


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One build at a time per checkout (two `make test` runs would otherwise race on the binaries)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(bin_dir: Path = BIN_DIR, log: bool = True) -> list[str]:
    """Build whatever is missing or stale into ``bin_dir``; return the names built ([] when up to date)."""
    pins = read_pins()
    with _locked(KUBE_DIR / ".build.lock"):
        todo = stale(pins, bin_dir)
        if not todo:
            return []
        go = _go()
        bin_dir.mkdir(parents=True, exist_ok=True)
        packages = [PROGRAMS[name] for name in todo]
        if log:
            print(f"kube-tools: building {', '.join(todo)} {pins.kubernetes} (etcd {pins.etcd})", flush=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=KUBE_DIR, prefix=".build-") as out:
            command = [go, "build", "-pgo=off", "-trimpath", "-ldflags", ldflags(pins), "-o", out + "/"]
            result = subprocess.run(
                [*command, *packages], cwd=MODULE_DIR, env=_go_environment(), check=False, text=True
            )
            if result.returncode != 0:
                raise KubeToolsError(f"go build in {MODULE_DIR} failed (exit {result.returncode}), see above")
            for name in todo:
                package = PROGRAMS[name]
                built = Path(out) / _GO_OUTPUT_NAME.get(package, package.rsplit("/", 1)[-1])
                os.replace(built, bin_dir / name)  # atomic: a running test never sees half a binary
        left = stale(pins, bin_dir)
        if left:
            raise KubeToolsError(f"built, but {', '.join(left)} do not report the pinned version")
        if log:
            print(f"kube-tools: built in {time.monotonic() - started:.0f} s into {bin_dir}", flush=True)
        return todo


def served_staging_modules(version: str) -> list[str]:
    """The staging modules that k8s.io/kubernetes@version's own go.mod replaces with ./staging/..."""
    go = _go()
    result = subprocess.run(
        [go, "mod", "download", "-json", f"{KUBERNETES}@{version}"],
        cwd=MODULE_DIR,
        env=_go_environment() | {"GOFLAGS": "-mod=mod"},
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        info = json.loads(result.stdout)
    except ValueError:
        info = {}
    if result.returncode != 0 or "GoMod" not in info:
        detail = info.get("Error") or result.stderr.strip()
        raise KubeToolsError(f"go mod download {KUBERNETES}@{version} failed: {detail}")
    names = _STAGING_REPLACE.findall(Path(info["GoMod"]).read_text())
    if not names:
        raise KubeToolsError(f"{info['GoMod']}: no `=> ./staging/` replace directives found")
    return sorted(names)


def replaced_modules(go_mod: Path = GO_MOD) -> dict[str, str]:
    """``module -> version`` of go.mod's replace directives."""
    pattern = re.compile(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+(\S+)\s+(v\S+)", re.MULTILINE)
    return {match[0]: match[2] for match in pattern.findall(go_mod.read_text()) if match[0] == match[1]}


def sync_replaces(version: str | None = None) -> list[str]:
    """Point go.mod at k8s.io/kubernetes ``version`` (default: the pinned one) with one replace per staging
    module its served go.mod lists, drop replaces it no longer lists, then `go mod tidy`."""
    go = _go()
    version = version or read_pins().kubernetes
    staging_version = "v0." + version.removeprefix("v1.")
    names = served_staging_modules(version)
    edits = [f"-require={KUBERNETES}@{version}"]
    edits += [f"-dropreplace={name}" for name in replaced_modules() if name not in names]
    edits += [f"-replace={name}={name}@{staging_version}" for name in names]
    env = _go_environment() | {"GOFLAGS": "-mod=mod"}
    for command in ([go, "mod", "edit", *edits], [go, "mod", "tidy"]):
        result = subprocess.run(command, cwd=MODULE_DIR, env=env, check=False, text=True)
        if result.returncode != 0:
            raise KubeToolsError(f"{' '.join(command[:3])} failed (exit {result.returncode}), see above")
    return names


def replace_problems(go_mod: Path = GO_MOD) -> list[str]:
    """How go.mod's replace list differs from the served k8s.io/kubernetes go.mod ([] when it matches)."""
    pins = read_pins(go_mod)
    served = served_staging_modules(pins.kubernetes)
    have = replaced_modules(go_mod)
    problems = [f"{name} is not replaced" for name in served if name not in have]
    problems += [
        f"{name} => {have[name]}, want {pins.staging}"
        for name in served
        if have.get(name, pins.staging) != pins.staging
    ]
    problems += [f"{name} is replaced but not a staging module" for name in have if name not in served]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kubetools", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser(
        "build", help="build the four programs into .tools/kube/bin if needed"
    )
    build_command.add_argument(
        "--best-effort",
        action="store_true",
        help="when the build is impossible here, say why and exit 0 (`make test`: the control-plane tests "
        f"then skip, or fail with {REQUIRED}=1 as in CI)",
    )
    sync = commands.add_parser(
        "sync-replaces", help="rewrite go.mod's staging replaces from the served go.mod"
    )
    sync.add_argument("version", nargs="?", help="k8s.io/kubernetes version (default: the pinned one)")
    commands.add_parser("check-replaces", help="exit 1 when go.mod's replaces differ from the served go.mod")
    args = parser.parse_args(argv)
    try:
        if args.command == "build" and args.best_effort:
            try:
                build()
            except KubeToolsError as exc:
                if os.environ.get(REQUIRED) == "1":
                    raise
                print(f"kube-tools: not built ({exc}); the control-plane tests will skip", file=sys.stderr)
        elif args.command == "build":
            if not build():
                print(f"kube-tools: {BIN_DIR} already holds {read_pins().kubernetes}, nothing to do")
        elif args.command == "sync-replaces":
            names = sync_replaces(args.version)
            print(f"kube-tools: {len(names)} staging modules replaced in {GO_MOD}")
        else:
            problems = replace_problems()
            for problem in problems:
                print(f"{GO_MOD}: {problem}", file=sys.stderr)
            return 1 if problems else 0
    except KubeToolsError as exc:
        print(f"kube-tools: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
