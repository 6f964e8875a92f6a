#!/usr/bin/env bash
# Generates the plugin protocol's Go code (plugins/sdk/pluginpb) from
# plugins/sdk/proto with pinned generators: Debian's protoc (scripts/deps.sh
# installs it), protoc-gen-go at the google.golang.org/protobuf version in
# go.mod, protoc-gen-go-grpc at PROTOC_GEN_GO_GRPC. `go generate
# ./plugins/sdk/pluginpb/` runs it; TestGeneratedCurrent in that package
# runs it into a temp dir and fails when the committed code differs.
#
#   bash scripts/gen-proto.sh [OUT_DIR]   # default plugins/sdk/pluginpb
set -euo pipefail
export GOTOOLCHAIN=go1.27.3 # the approved Go (see the Makefile)
PROTOC_GEN_GO_GRPC=${PROTOC_GEN_GO_GRPC:-v1.6.0}
cd "$(dirname "$0")/.."
out=$(realpath -m "${1:-plugins/sdk/pluginpb}")
command -v protoc >/dev/null || { echo "gen-proto: protoc missing: run scripts/deps.sh" >&2; exit 1; }

tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
# protoc-gen-go from the module go.mod already pins; the gRPC generator is
# a module of its own, installed at its pinned version without touching
# go.mod.
go build -o "$tools/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
GOBIN=$tools go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC"

gen=$(mktemp -d -p "$tools")
protoc -I plugins/sdk/proto \
  --plugin=protoc-gen-go="$tools/protoc-gen-go" --plugin=protoc-gen-go-grpc="$tools/protoc-gen-go-grpc" \
  --go_out="$gen" --go_opt=paths=source_relative \
  --go-grpc_out="$gen" --go-grpc_opt=paths=source_relative \
  bk/plugin/v1/detector.proto
mkdir -p "$out"
cp "$gen"/bk/plugin/v1/detector.pb.go "$gen"/bk/plugin/v1/detector_grpc.pb.go "$out"/
