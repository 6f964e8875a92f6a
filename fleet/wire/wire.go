// Package wire is the device contract between a gateway and the fleet: the
// MQTT topics under bk/v1/gw/{gateway_id}/ and the JSON payloads carried on
// them (SPEC.md §2), and the one exchange before MQTT, enrolment over HTTP
// (enrol.go, SPEC.md §4 POST /api/v1/enrol). It holds names, types and their
// validation, nothing else, so that the gateway can import it without
// importing the fleet.
package wire

import (
	"fmt"
	"regexp"
	"strings"
)

// Version is the payload version every message carries in "v".
const Version = 1

// TopicPrefix is the root of every device topic.
const TopicPrefix = "bk/v1/gw/"

// Topic kinds: the part of a topic after bk/v1/gw/{gateway_id}/.
const (
	KindState          = "state"
	KindHeartbeat      = "heartbeat"
	KindCameraStatus   = "camera-status"
	KindEvent          = "event"
	KindSnapshot       = "snapshot" // snapshot/{event_id}
	KindAck            = "ack"
	KindCmd            = "cmd"
	KindCmdAck         = "cmd/ack"
	KindConfigDesired  = "config/desired"
	KindConfigReported = "config/reported"
)

// GatewayKinds are the kinds a gateway publishes; FleetKinds the kinds the
// fleet publishes to a gateway. KindSnapshot is followed by /{event_id}.
var (
	GatewayKinds = []string{KindState, KindHeartbeat, KindCameraStatus, KindEvent, KindSnapshot, KindCmdAck, KindConfigReported}
	FleetKinds   = []string{KindAck, KindCmd, KindConfigDesired}
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidID reports whether s may be used as a gateway, camera or canteen id:
// 1 to 64 characters of letters, digits, '.', '_' and '-', starting with a
// letter or digit. Such an id never contains an MQTT wildcard or separator.
func ValidID(s string) bool { return idRe.MatchString(s) }

// Root is the topic root of one gateway, with a trailing slash.
func Root(gatewayID string) string { return TopicPrefix + gatewayID + "/" }

// Topic is the full topic of kind for a gateway.
func Topic(gatewayID, kind string) string { return Root(gatewayID) + kind }

// SnapshotTopic is the topic that carries the JPEG of one event.
func SnapshotTopic(gatewayID, eventID string) string {
	return Root(gatewayID) + KindSnapshot + "/" + eventID
}

// Filter is the filter for one kind from every gateway.
func Filter(kind string) string { return TopicPrefix + "+/" + kind }

// SharedFilter is the filter the fleet subscribes to for one kind from every
// gateway, shared among fleet replicas ($share/fleet/...).
func SharedFilter(kind string) string { return "$share/fleet/" + Filter(kind) }

// ParsedTopic is a device topic taken apart.
type ParsedTopic struct {
	GatewayID string
	Kind      string // one of the Kind constants
	EventID   string // only for KindSnapshot
}

// ParseTopic takes a device topic apart; it fails with a message naming what
// is wrong for anything outside the contract.
func ParseTopic(topic string) (ParsedTopic, error) {
	rest, ok := strings.CutPrefix(topic, TopicPrefix)
	if !ok {
		return ParsedTopic{}, fmt.Errorf("topic %q: not under %s", topic, TopicPrefix)
	}
	gw, kind, ok := strings.Cut(rest, "/")
	if !ok || !ValidID(gw) {
		return ParsedTopic{}, fmt.Errorf("topic %q: bad gateway id", topic)
	}
	p := ParsedTopic{GatewayID: gw, Kind: kind}
	if ev, ok := strings.CutPrefix(kind, KindSnapshot+"/"); ok {
		if !ValidID(ev) {
			return ParsedTopic{}, fmt.Errorf("topic %q: bad event id", topic)
		}
		p.Kind, p.EventID = KindSnapshot, ev
		return p, nil
	}
	for _, k := range append(append([]string{}, GatewayKinds...), FleetKinds...) {
		if k == kind && k != KindSnapshot {
			return p, nil
		}
	}
	return ParsedTopic{}, fmt.Errorf("topic %q: unknown kind %q", topic, kind)
}
