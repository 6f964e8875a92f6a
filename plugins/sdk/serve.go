package sdk

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/brightkitchen/brightkitchen/plugins/sdk/pluginpb"
)

// Serve runs d as a plugin: it checks the handshake, serves
// bk.plugin.v1.Detector over gRPC with 32 MiB message limits, and returns
// when the gateway shuts it down. Frames that fail ValidateFrame are refused
// with codes.InvalidArgument before d sees them; a panic in d is answered
// with codes.Internal, and the plugin keeps serving. Run by hand (without
// BK_PLUGIN=detector) it prints what it is and exits 1.
func Serve(d Detector) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSet(d),
		GRPCServer:       newGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name: "plugin", Output: os.Stderr, Level: hclog.Warn, JSONFormat: true,
		}),
	})
}

func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	return grpc.NewServer(append(opts,
		grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))...)
}

func pluginSet(d Detector) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{ProtocolVersion: {PluginName: &grpcPlugin{impl: d}}}
}

// grpcPlugin is the go-plugin adapter: a server around a Detector in the
// plugin, a pluginpb client in the host.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Detector
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pluginpb.RegisterDetectorServer(s, &server{impl: p.impl})
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return pluginpb.NewDetectorClient(cc), nil
}

type server struct {
	pluginpb.UnimplementedDetectorServer
	impl Detector
}

func (s *server) Describe(ctx context.Context, _ *pluginpb.DescribeRequest) (info *pluginpb.Info, err error) {
	defer recoverAsStatus(&err)
	in, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return infoToPB(in), nil
}

func (s *server) Detect(ctx context.Context, pf *pluginpb.Frame) (out *pluginpb.Detections, err error) {
	defer recoverAsStatus(&err)
	f := frameFromPB(pf)
	if err := ValidateFrame(f); err != nil {
		return nil, status.Error(codes.InvalidArgument, "frame: "+err.Error())
	}
	ds, err := s.impl.Detect(ctx, f)
	if err != nil {
		return nil, toStatus(err)
	}
	return detectionsToPB(ds), nil
}

// toStatus keeps a status error as it is and makes anything else Unknown.
func toStatus(err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(codes.Unknown, err.Error())
}

func recoverAsStatus(err *error) {
	if r := recover(); r != nil {
		*err = status.Error(codes.Internal, fmt.Sprintf("plugin panicked: %v", r))
	}
}
