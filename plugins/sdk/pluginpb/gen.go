// Package pluginpb is the Go code generated from the detector plugin
// protocol (plugins/sdk/proto/bk/plugin/v1/detector.proto): its messages
// and the gRPC client and server of the Detector service. Plugins use it
// through package sdk; `go generate` remakes it with pinned generators
// (scripts/gen-proto.sh), and TestGeneratedCurrent checks that it is.
package pluginpb

//go:generate bash ../../../scripts/gen-proto.sh
