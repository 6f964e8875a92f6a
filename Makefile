# BrightKitchen. `make help` lists the targets.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
# The approved Go: a machine starts on its own Go and ignores go.mod's
# toolchain line, so every entry point sets it (scripts, .ci/run, README).
export GOTOOLCHAIN := go1.27.3

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/brightkitchen/brightkitchen/internal/version.Version=$(VERSION)
BIN := bin
CMDS := gateway/cmd/bk-gateway fleet/cmd/bk-fleet hw/cmd/bk-camsim \
	plugins/tamper/cmd/bk-plugin-tamper plugins/motion/cmd/bk-plugin-motion \
	plugins/onnx/cmd/bk-plugin-onnx
TEST_TIMEOUT ?= 30m

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help deps build test demo cross deb debroot bench fuzz lint vuln clips clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

deps: ## install what the build and tests need (idempotent; Debian)
	@bash scripts/deps.sh

build: ## build bk-gateway, bk-fleet, bk-camsim and the detector plugins into bin/
	@mkdir -p $(BIN)
	@for c in $(CMDS); do go build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./$$c || exit 1; done

test: deps debroot ## lint, vuln and the whole test suite with -race, side by side (what CI runs)
	@TEST_TIMEOUT=$(TEST_TIMEOUT) bash scripts/test.sh

demo: deps build ## run camsim, fleet and a gateway on loopback; Ctrl-C stops all
	@bash scripts/demo.sh

cross: deps ## bk-gateway, bk-decodecheck for linux/arm64 (cgo) and arm/v7 into bin/
	CROSS_OUT='$(BIN)' LDFLAGS='$(LDFLAGS)' bash scripts/cross.sh

deb: deps ## Debian packages of bk-gateway (amd64, arm64, armhf) and bk-fleet (amd64, arm64) into dist/
	VERSION='$(VERSION)' bash scripts/deb.sh

debroot: ## the arm64 Debian root the package test installs into, made once and cached (root only)
	@if [ "$$(id -u)" -ne 0 ]; then echo "debroot: not root: the package test skips its install into the arm64 root"; \
	elif ! go run ./scripts/packaging/cmd/in-qemu-ns aarch64 bash scripts/debroot.sh arm64 >/dev/null; then \
	  echo "debroot: WARNING: the arm64 root could not be made (above); the package test says why"; fi

bench: deps build ## benchmarks; results go into docs/benchmarks.md
	@bash scripts/bench.sh

fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@bash scripts/fuzz.sh $${FUZZTIME:-20s}

lint: ## gofmt, go vet, staticcheck, go mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...
	bash scripts/gotool.sh $(STATICCHECK) ./...
	go mod tidy -diff

vuln: ## govulncheck with the offline database built from golang.org/x/vulndb
	@bash scripts/vuln.sh

clips: ## regenerate the camera simulator's clips with ffmpeg
	@bash scripts/make-clips.sh

clean: ## remove build output
	rm -rf $(BIN) dist
