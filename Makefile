# kubeproxyc — see README.md. `make` alone prints the targets.
GO       ?= go
BIN      ?= bin/kubeproxyc
STATICCHECK_VERSION ?= v0.8.2

# What `make test` runs (CI runs `make test` through .ci/run). Each part of
# the suite adds itself on its own line.
TEST_TARGETS := lint unit
TEST_TARGETS += e2e
TEST_TARGETS += conformance-ci
TEST_TARGETS += fuzz-short

.PHONY: help build demo test lint unit golden-update e2e
help:
	@echo "make build          build $(BIN)"
	@echo "make demo           render the shipped example (examples/shop.yaml)"
	@echo "make test           everything CI runs: $(TEST_TARGETS)"
	@echo "make unit           go test ./... (golden cases, unit tests, namespace load test)"
	@echo "make lint           gofmt, go vet, staticcheck, dependency rule"
	@echo "make golden-update  rewrite golden files from the current code (check them against the oracle!)"
	@echo "make fuzz-short     every fuzz target for FUZZTIME each (default $(FUZZTIME); docs/errors.md)"
	@echo "make e2e            traffic through the rendered rules in network namespaces (root; docs/verification.md)"
	@echo "make conformance    kubeproxyc against kube-proxy itself on SEEDS random snapshots (default $(SEEDS); docs/testing.md)"
	@echo "make bench          kubeproxyc vs kube-proxy (the oracle) at BENCH_SIZES services x 10 endpoints (docs/performance.md)"
	@echo "make bench-dataplane  load time and ClusterIP connection latency of the compiled rulesets in network namespaces (root)"

build:
	$(GO) build -o $(BIN) ./cmd/kubeproxyc

demo: build
	$(BIN) render -f examples/shop.yaml

unit:
	$(GO) test -count=1 ./...

e2e:
	$(GO) vet -tags e2e ./e2e
	$(GO) test -count=1 -tags e2e -timeout 10m ./e2e

golden-update:
	$(GO) test ./cmd/kubeproxyc/cli -run 'TestGolden|TestToolsGolden|TestToolsDoc|TestCLIDocs' -update

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if ! command -v staticcheck >/dev/null; then $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); fi
	staticcheck ./...
	@# render and the IR stay free of Kubernetes packages.
	@if $(GO) list -deps ./render/... ./compiler/ir/... | grep -q '^k8s.io/'; then echo "render or compiler/ir imports k8s.io"; exit 1; fi
	@# the main module never links kube-proxy itself.
	@if $(GO) list -deps ./... | grep -q '^k8s.io/kubernetes'; then echo "main module imports k8s.io/kubernetes"; exit 1; fi

test: $(TEST_TARGETS)

# conformance: kubeproxyc against kube-proxy itself, in the separate module
# conformance/ (docs/testing.md). -mod=mod lets its go.sum follow new
# dependencies of the main module. CI runs a bounded number of seeds.
SEEDS ?= 2000
CONFORMANCE_CI_SEEDS ?= 1000
CONFORMANCE_GO = cd conformance && GOFLAGS=-mod=mod $(GO)
.PHONY: conformance conformance-ci
conformance:
	$(CONFORMANCE_GO) vet ./...
	$(CONFORMANCE_GO) test -count=1 ./gen ./kubeproxy
	$(CONFORMANCE_GO) test -count=1 -run 'TestGolden|TestKubeProxyConfigurationSchema' .
	$(CONFORMANCE_GO) test -count=1 -timeout 60m -v -run 'TestDifferential' . -seeds $(SEEDS)

conformance-ci:
	$(MAKE) conformance SEEDS=$(CONFORMANCE_CI_SEEDS)

# fuzz-short: each fuzz target of the loader, the model and the modes for
# a short while (go test fuzzes one target per run). Findings are written
# to compiler/testdata/fuzz, where they stay as regression inputs.
FUZZTIME ?= 20s
FUZZ_TARGETS := FuzzLoad FuzzLoadStream FuzzFastPath FuzzModel FuzzIPTables FuzzNFT FuzzIPVS
.PHONY: fuzz-short
fuzz-short:
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test ./compiler -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s -parallel 1 || exit 1; \
	done

# bench: kubeproxyc against kube-proxy's own generation time (the oracle's
# -bench) on the same synthetic clusters, one table of ratios from one run
# (docs/performance.md). Not part of `make test`. The oracle is taken from
# PATH, or built from ../shared/oracle.
BENCH_SIZES ?= 1000,10000,100000
BENCH_RUNS ?= 3
ORACLE ?= $(shell command -v oracle 2>/dev/null || echo bin/oracle)
.PHONY: bench
bench: build
	@if [ ! -x "$(ORACLE)" ]; then echo "building the oracle from ../shared/oracle"; (cd ../shared/oracle && $(GO) build -o $(CURDIR)/bin/oracle .); fi
	$(GO) test -run '^$$' -bench . -benchtime 3x ./compiler
	$(GO) run ./hack/bench -oracle $(ORACLE) -kubeproxyc $(BIN) -sizes $(BENCH_SIZES) -runs $(BENCH_RUNS) $(BENCH_FLAGS)

# bench-dataplane: the compiled iptables and nftables rulesets in a real
# kernel (network namespaces it creates and deletes): load time and TCP
# connection-setup latency to a ClusterIP at DATAPLANE_SIZES services
# (docs/performance.md). Needs root; not part of `make test`.
DATAPLANE_SIZES ?= 1,1000,5000,10000
.PHONY: bench-dataplane
bench-dataplane:
	$(GO) build -o bin/dataplane ./hack/dataplane
	bin/dataplane -sizes $(DATAPLANE_SIZES) $(DATAPLANE_FLAGS)
