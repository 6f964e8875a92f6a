package pluginpb

//go:generate bash ../../../scripts/gen-proto.sh
