# inferencepool-operator: kubebuilder-style targets. `make help` lists them.

IMG ?= ghcr.io/inferencepool-operator/inferencepool-operator:latest
VERSION ?= 0.1.0

# Tools are built from the Go module proxy into bin/<tool>-<version>/ on first use (see
# hack/build-tool.sh); versions are pinned by the modules under hack/tools/.
BUILD_TOOL = hack/build-tool.sh
CONTROLLER_GEN = $(shell $(BUILD_TOOL) controller-gen)/controller-gen
KUSTOMIZE = $(shell $(BUILD_TOOL) kustomize)/kustomize

GO_TEST_FLAGS ?=

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRD and RBAC manifests from the markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." paths="./cmd/..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: ## Generate deepcopy code from the markers.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt (test/conformance/gatewayapi too: a module of its own).
	go fmt ./...
	cd test/conformance/gatewayapi && go fmt ./...

.PHONY: vet
vet: ## go vet (the system tests' files too: they build only with their tags).
	go vet ./...
	go vet -tags e2e,conformance ./test/...
	go vet -tags bench ./test/bench/...
	go vet -tags benche2e ./test/benche2e/...
	go vet -tags resilience ./test/resilience/...
	cd test/conformance/gatewayapi && go vet -tags conformance ./...

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for envtest (first run only) and print their directory.
	@$(BUILD_TOOL) envtest

# SKIP_E2E=1 leaves the system tests, the end-to-end benchmark and the conformance runs (all need
# root) out of make test.
SKIP_E2E ?=

# TEST_FUZZTIME is how long make test runs each fuzz target (after the unit tests, which run
# their seed corpus); TEST_FUZZTIME=0 leaves that out.
TEST_FUZZTIME ?= 20s

.PHONY: test
test: manifests generate helm fmt vet ## Run all tests: unit, golden, envtest integration, the benchmark at 20 pools, each fuzz target for TEST_FUZZTIME, the failure-mode tests, then test-e2e, the end-to-end benchmark at 10 pools, conformance and conformance-gateway-api (SKIP_E2E=1 skips those four).
	KUBEBUILDER_ASSETS="$$($(BUILD_TOOL) envtest)" go test ./... $(GO_TEST_FLAGS)
	KUBEBUILDER_ASSETS="$$($(BUILD_TOOL) envtest)" go test -tags bench -run '^TestBenchSmall$$' -count=1 ./test/bench/
	$(MAKE) fuzz FUZZTIME=$(TEST_FUZZTIME)
	$(MAKE) test-resilience
ifneq ($(SKIP_E2E),1)
	$(MAKE) test-e2e
	$(MAKE) test-bench-e2e
	$(MAKE) conformance CONFORMANCE_REPORT=$(CURDIR)/tmp/conformance/report.yaml
	$(MAKE) conformance-gateway-api GATEWAY_API_CONFORMANCE_REPORT=$(CURDIR)/tmp/conformance-gateway-api/report.yaml
endif

# The scale benchmark (docs/performance.md): BENCH_N pools, BENCH_STEADY of steady state watched
# for writes; BENCH_PROFILE=1 saves CPU (the first BENCH_PROFILE_SECONDS of the cold start) and
# heap profiles of the operator to BENCH_DIR, with its log, the audit logs and report.md.
BENCH_N ?= 1000
BENCH_STEADY ?= 30s
BENCH_PROFILE ?= 0
BENCH_PROFILE_SECONDS ?= 30
BENCH_DIR ?= $(CURDIR)/tmp/bench
# BENCH_GO_MEMORY_LIMIT is the operator's --go-memory-limit. The default, 115Mi, is what auto gives
# under the manifests' 256Mi container limit (45%); a test machine has no container limit, so
# auto would give none. Empty: the flag's default.
BENCH_GO_MEMORY_LIMIT ?= 115Mi

.PHONY: bench
bench: ## Scale benchmark on a local API server: BENCH_N pools (default 1000); prints the table row of docs/performance.md.
	KUBEBUILDER_ASSETS="$$($(BUILD_TOOL) envtest)" BENCH_N=$(BENCH_N) BENCH_STEADY=$(BENCH_STEADY) \
		BENCH_PROFILE=$(BENCH_PROFILE) BENCH_PROFILE_SECONDS=$(BENCH_PROFILE_SECONDS) BENCH_DIR=$(BENCH_DIR) \
		BENCH_GO_MEMORY_LIMIT=$(BENCH_GO_MEMORY_LIMIT) \
		go test -tags bench -run '^TestBench$$' -count=1 -v -timeout 0 ./test/bench/

# The end-to-end benchmark (docs/performance.md#end-to-end), root needed like test-e2e:
# BENCH_E2E_N pools (a comma-separated list) served by hand and through the operator, each on a
# fresh system-test cluster with the real Envoy Gateway; report.md and the logs in BENCH_E2E_DIR.
BENCH_E2E_N ?= 100,300,1000
BENCH_E2E_DIR ?= $(CURDIR)/tmp/bench-e2e
BENCH_E2E_PROFILE ?= 0
BENCH_E2E_OPERATOR_ARGS ?=
BENCH_E2E_MATCHED ?= 0
BENCH_E2E_FLOOR_EG_WRITERS ?= 4

.PHONY: test-bench-e2e
test-bench-e2e: ## The end-to-end benchmark at 10 pools (root needed; ~95 s): asserts that every phase completes, never a time.
	go test -tags benche2e -run '^TestBenchE2ESmall$$' -count=1 -v -timeout 10m ./test/benche2e/

.PHONY: bench-e2e
bench-e2e: ## End-to-end benchmark (root needed): BENCH_E2E_N pools by hand, through the operator and by a raw writer with Envoy Gateway, to routes in Envoy Gateway's xDS; prints the table of docs/performance.md.
	BENCH_E2E_N=$(BENCH_E2E_N) BENCH_E2E_DIR=$(BENCH_E2E_DIR) BENCH_E2E_PROFILE=$(BENCH_E2E_PROFILE) \
		BENCH_E2E_OPERATOR_ARGS="$(BENCH_E2E_OPERATOR_ARGS)" BENCH_E2E_MATCHED=$(BENCH_E2E_MATCHED) BENCH_E2E_FLOOR_EG_WRITERS=$(BENCH_E2E_FLOOR_EG_WRITERS) go test -tags benche2e -run '^TestBenchE2E$$' -count=1 -v -timeout 0 ./test/benche2e/

# The translation's fuzz targets (controllers/translate/fuzz_test.go); go test runs their seeds
# and saved inputs (testdata/fuzz/) as ordinary tests. A failing input is written to
# controllers/translate/testdata/fuzz/<target>/: fix the bug and commit the input with the fix.
# No minimizing (-fuzzminimizetime 0x): nearly every mutated YAML input reaches new parser code,
# and minimizing each one would take most of a short run.
FUZZTIME ?= 30s
FUZZ_TARGETS = FuzzTranslate FuzzTranslateYAML

.PHONY: fuzz
fuzz: ## Run each fuzz target of the translation for FUZZTIME (default 30s; 0 skips).
ifneq ($(FUZZTIME),0)
	@for target in $(FUZZ_TARGETS); do \
		echo "go test -fuzz $$target -fuzztime $(FUZZTIME)"; \
		go test ./controllers/translate/ -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 0x || exit 1; \
	done
endif

.PHONY: golden
golden: ## Rewrite the translation golden files (testdata/out) from the current code.
	go test ./controllers/translate/... -run TestGolden -update

.PHONY: eg-manifests
eg-manifests: ## Render Envoy Gateway's install objects for the system tests (test/envoygateway/manifests) from its chart in the module go.mod requires.
	go run ./hack/egmanifests

##@ System tests

RESILIENCE_TEST_FLAGS ?=

.PHONY: test-resilience
test-resilience: ## Failure-mode tests (no root, no Envoy Gateway; ~4 min): API server outage, kill -9, leader failover, while the operator's binary converges 300 pools.
	go test -tags resilience -count=1 -v -timeout 20m ./test/resilience/ $(RESILIENCE_TEST_FLAGS)

CLUSTER_DIR ?= $(CURDIR)/tmp/cluster
E2E_TEST_FLAGS ?=

.PHONY: test-e2e
test-e2e: ## System tests (root needed): cluster from source + kwok, the real Envoy Gateway, its xDS read back.
	go test -tags e2e -p 1 -count=1 -timeout 60m ./test/cluster/... ./test/e2e/... $(E2E_TEST_FLAGS)
	go test -tags e2e -count=1 -timeout 15m -run TestDemoWithEnvoyGateway ./hack/demo/ $(E2E_TEST_FLAGS)

# The committed report of the GIE conformance suite; make test writes its run under tmp/ instead.
CONFORMANCE_REPORT ?= $(CURDIR)/conformance/reports/v1.6.2/inferencepool-operator/local-report.yaml
CONFORMANCE_TEST_FLAGS ?=

.PHONY: conformance
conformance: ## GIE conformance (the v1.6.0 suite, GIE v1.6.2 CRDs) (root needed): the status-only tests and a report, and the other tests' status assertions.
	CONFORMANCE_REPORT=$(CONFORMANCE_REPORT) CONFORMANCE_IMPLEMENTATION_VERSION=v$(VERSION) \
		go test -tags conformance -count=1 -timeout 30m ./test/conformance/... $(CONFORMANCE_TEST_FLAGS)

# Gateway API's own conformance suite (test/conformance/gatewayapi, a module of its own: see its
# package doc) at the version of the Gateway API module the operator is built with; the committed
# report, which make test writes under tmp/ instead.
GATEWAY_API_CONFORMANCE_VERSION = $(shell cd test/conformance/gatewayapi && go list -m -f '{{.Version}}' sigs.k8s.io/gateway-api/conformance)
GATEWAY_API_CONFORMANCE_REPORT ?= $(CURDIR)/conformance/reports/$(GATEWAY_API_CONFORMANCE_VERSION)/inferencepool-operator/gateway-api-report.yaml
GATEWAY_API_CONFORMANCE_TEST_FLAGS ?=

.PHONY: conformance-gateway-api
conformance-gateway-api: ## Gateway API conformance (its own suite, the features our class claims) (root needed): the status-only tests and a report, and the other tests up to their first request.
	cd test/conformance/gatewayapi && GATEWAY_API_CONFORMANCE_REPORT=$(GATEWAY_API_CONFORMANCE_REPORT) CONFORMANCE_IMPLEMENTATION_VERSION=v$(VERSION) \
		go test -tags conformance -count=1 -timeout 40m . $(GATEWAY_API_CONFORMANCE_TEST_FLAGS)

.PHONY: cluster-up
cluster-up: ## Start a local cluster from source in the background (EG=1 adds Envoy Gateway); print its kubeconfig path.
	@go build -o bin/cluster ./test/cluster/cmd
	@bin/cluster up --dir $(CLUSTER_DIR) $(if $(EG),--envoy-gateway)

.PHONY: cluster-down
cluster-down: ## Stop the local cluster started by cluster-up and remove its state; no process is left behind.
	@go build -o bin/cluster ./test/cluster/cmd
	@bin/cluster down --dir $(CLUSTER_DIR)

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary.
	go build -o bin/manager ./cmd

.PHONY: plugin
plugin: ## Build the kubectl plugin into bin/kubectl-inferencepool (kubectl finds it on PATH as `kubectl inferencepool`).
	go build -ldflags "-X main.version=v$(VERSION)" -o bin/kubectl-inferencepool ./cmd/kubectl-inferencepool

.PHONY: run
run: manifests generate ## Run the operator against the current kubeconfig.
	go run ./cmd --leader-elect=false

# DEMO_FLAGS are passed to the demo, e.g. make demo DEMO_FLAGS=--once
DEMO_FLAGS ?=

.PHONY: demo
demo: ## Start a local control plane from source, run the operator on it with config/samples, show the results (DEMO_FLAGS=--envoy-gateway adds the real Envoy Gateway; root).
	go build -o bin/demo ./hack/demo
	KUBEBUILDER_ASSETS="$$($(BUILD_TOOL) envtest)" bin/demo $(DEMO_FLAGS)

.PHONY: docker-build
docker-build: ## Build the operator image (needs a container runtime).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install our CRD into the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl apply --server-side -f -

.PHONY: deploy
deploy: manifests ## Deploy the operator into the current cluster with image IMG.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator from the current cluster.
	$(KUSTOMIZE) build config/default | kubectl delete --ignore-not-found -f -

##@ Helm chart

# The chart (charts/inferencepool-operator); make helm-package writes it to dist/ for VERSION.
CHART_DIST ?= dist

.PHONY: helm
helm: manifests ## Regenerate the chart's CRD (crds/), RBAC (templates/rbac/) and PrometheusRule from config/; commit the result.
	go run ./hack/helmchart generate

.PHONY: helm-package
helm-package: helm ## Package the chart at VERSION (appVersion vVERSION) into dist/ (CHART_DIST); same bytes every run (mtimes: SOURCE_DATE_EPOCH, else 0).
	go run ./hack/helmchart package --version $(VERSION) --out $(CHART_DIST)

##@ OLM bundle

# The bundle's channels; its CSV deploys config/manager's image repository tagged v$(VERSION).
CHANNELS ?= alpha
DEFAULT_CHANNEL ?= alpha
BUNDLE_IMG ?= ghcr.io/inferencepool-operator/inferencepool-operator-bundle:v$(VERSION)

.PHONY: bundle
bundle: manifests ## Write the OLM bundle (bundle/, bundle.Dockerfile) for VERSION from config/; commit the result.
	go run ./hack/bundle --version $(VERSION) --channels $(CHANNELS) --default-channel $(DEFAULT_CHANNEL)

.PHONY: bundle-validate
bundle-validate: ## Check the committed bundle is up to date, passes operator-framework's validators and matches config/rbac.
	go test ./test/bundle -run 'TestBundle|TestScorecard|TestCSV|TestRBAC' -v

.PHONY: bundle-build
bundle-build: ## Build the bundle image BUNDLE_IMG (needs a container runtime).
	docker build -f bundle.Dockerfile -t $(BUNDLE_IMG) .
