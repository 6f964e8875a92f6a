package wire

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseTopic(t *testing.T) {
	cases := []struct {
		topic string
		want  ParsedTopic
		err   string
	}{
		{"bk/v1/gw/gw-1/state", ParsedTopic{GatewayID: "gw-1", Kind: KindState}, ""},
		{"bk/v1/gw/gw-1/cmd/ack", ParsedTopic{GatewayID: "gw-1", Kind: KindCmdAck}, ""},
		{"bk/v1/gw/gw-1/config/desired", ParsedTopic{GatewayID: "gw-1", Kind: KindConfigDesired}, ""},
		{"bk/v1/gw/gw-1/snapshot/01HZX", ParsedTopic{GatewayID: "gw-1", Kind: KindSnapshot, EventID: "01HZX"}, ""},
		{"bk/v1/gw/gw-1/snapshot", ParsedTopic{}, "unknown kind"},
		{"bk/v1/gw/+/state", ParsedTopic{}, "bad gateway id"},
		{"bk/v1/gw/gw-1/nope", ParsedTopic{}, "unknown kind"},
		{"other/gw-1/state", ParsedTopic{}, "not under"},
		{"bk/v1/gw/gw-1/snapshot/a/b", ParsedTopic{}, "bad event id"},
	}
	for _, c := range cases {
		got, err := ParseTopic(c.topic)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.topic, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.topic, got, err, c.want)
		}
		if c.want.Kind == KindSnapshot {
			if SnapshotTopic(got.GatewayID, got.EventID) != c.topic {
				t.Errorf("SnapshotTopic round trip of %s", c.topic)
			}
		} else if Topic(got.GatewayID, got.Kind) != c.topic {
			t.Errorf("Topic round trip of %s", c.topic)
		}
	}
}

func TestDecodeEvent(t *testing.T) {
	good := Event{V: 1, EventID: "01J0000000000000000000000A", Seq: 7, CameraID: "cam-1", Type: "no_mask",
		Score: 0.9, Boxes: []Box{{X: 0.1, Y: 0.1, W: 0.5, H: 0.5}}, StartedAt: time.Unix(1700000000, 0).UTC()}
	b, _ := Marshal(good)
	got, err := DecodeEvent(b)
	if err != nil || got.Seq != 7 || got.Type != "no_mask" {
		t.Fatalf("good event: %+v, %v", got, err)
	}
	bad := map[string]string{
		"empty":        ``,
		"not json":     `{"v":1,`,
		"wrong v":      `{"v":2,"event_id":"a","seq":1,"type":"no_mask","started_at":"2024-01-01T00:00:00Z"}`,
		"no seq":       `{"v":1,"event_id":"a","type":"no_mask","started_at":"2024-01-01T00:00:00Z"}`,
		"unknown type": `{"v":1,"event_id":"a","seq":1,"type":"dancing","started_at":"2024-01-01T00:00:00Z"}`,
		"score":        `{"v":1,"event_id":"a","seq":1,"type":"no_mask","score":3,"started_at":"2024-01-01T00:00:00Z"}`,
		"box":          `{"v":1,"event_id":"a","seq":1,"type":"no_mask","boxes":[{"x":0.9,"y":0,"w":0.5,"h":0.1}],"started_at":"2024-01-01T00:00:00Z"}`,
		"bad id":       `{"v":1,"event_id":"a/b","seq":1,"type":"no_mask","started_at":"2024-01-01T00:00:00Z"}`,
		"trailing":     `{"v":1,"event_id":"a","seq":1,"type":"no_mask","started_at":"2024-01-01T00:00:00Z"} {}`,
		"seq type":     `{"v":1,"event_id":"a","seq":"1","type":"no_mask","started_at":"2024-01-01T00:00:00Z"}`,
		"no start":     `{"v":1,"event_id":"a","seq":1,"type":"no_mask"}`,
		"snapshot ref": `{"v":1,"event_id":"a","seq":1,"type":"no_mask","started_at":"2024-01-01T00:00:00Z","snapshot":{"sha256":"x","bytes":1}}`,
	}
	for name, p := range bad {
		if _, err := DecodeEvent([]byte(p)); err == nil || !errors.Is(err, ErrPayload) {
			t.Errorf("%s: err %v, want ErrPayload", name, err)
		}
	}
}

func TestDecodeOthers(t *testing.T) {
	ok := map[string]func([]byte) error{
		`{"v":1,"online":true,"session":3,"version":"x","started_at":"2024-01-01T00:00:00Z"}`:             func(b []byte) error { _, err := DecodeState(b); return err },
		`{"v":1,"at":"2024-01-01T00:00:00Z","cameras":[{"camera_id":"c1","online":true,"picture":"ok"}]}`: func(b []byte) error { _, err := DecodeHeartbeat(b); return err },
		`{"v":1,"seq":4,"camera_id":"c1","at":"2024-01-01T00:00:00Z","online":false}`:                     func(b []byte) error { _, err := DecodeCameraStatus(b); return err },
		`{"v":1,"upto":9}`: func(b []byte) error { _, err := DecodeAck(b); return err },
		`{"v":1,"cmd_id":"c","name":"ping","expires_at":"2024-01-01T00:00:00Z"}`: func(b []byte) error { _, err := DecodeCmd(b); return err },
		`{"v":1,"cmd_id":"c","status":"ok"}`:                                     func(b []byte) error { _, err := DecodeCmdAck(b); return err },
		`{"v":1,"version":2,"config":{"cameras":[]}}`:                            func(b []byte) error { _, err := DecodeConfigDesired(b); return err },
		`{"v":1,"version":2,"applied":true}`:                                     func(b []byte) error { _, err := DecodeConfigReported(b); return err },
	}
	for p, f := range ok {
		if err := f([]byte(p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	bad := map[string]func([]byte) error{
		`{"v":1,"online":true}`:                                func(b []byte) error { _, err := DecodeState(b); return err },
		`{"v":1,"cameras":[{"camera_id":"c1","picture":"x"}]}`: func(b []byte) error { _, err := DecodeHeartbeat(b); return err },
		`{"v":1,"seq":4,"camera_id":"c1"}`:                     func(b []byte) error { _, err := DecodeCameraStatus(b); return err },
		`{"v":1}`:                                              func(b []byte) error { _, err := DecodeAck(b); return err },
		`{"v":1,"cmd_id":"","name":"ping"}`:                    func(b []byte) error { _, err := DecodeCmd(b); return err },
		`{"v":1,"cmd_id":"c","status":"meh"}`:                  func(b []byte) error { _, err := DecodeCmdAck(b); return err },
		`{"v":1,"version":2,"config":[1]}`:                     func(b []byte) error { _, err := DecodeConfigDesired(b); return err },
		`[]`:                                                   func(b []byte) error { _, err := DecodeConfigReported(b); return err },
	}
	for p, f := range bad {
		if err := f([]byte(p)); err == nil {
			t.Errorf("%s: accepted", p)
		}
	}
}

func TestEpochValidated(t *testing.T) {
	for _, c := range []struct {
		payload string
		ok      bool
	}{
		{`{"v":1,"online":true,"session":1}`, true},
		{`{"v":1,"online":true,"session":1,"epoch":"ABCDEFGH234567"}`, true},
		{`{"v":1,"online":true,"session":1,"epoch":"a/b"}`, false},
		{`{"v":1,"online":true,"session":1,"epoch":"` + strings.Repeat("a", MaxEpoch+1) + `"}`, false},
	} {
		if _, err := DecodeState([]byte(c.payload)); (err == nil) != c.ok {
			t.Errorf("%s: err %v", c.payload, err)
		}
	}
	if _, err := DecodeAck([]byte(`{"v":1,"seqs":[1],"epoch":"+"}`)); err == nil {
		t.Error("ack with a wildcard epoch accepted")
	}
}

// TestStateArch: the arch a gateway reports (a rollout picks its bundle
// by it) is a short lowercase word, or absent.
func TestStateArch(t *testing.T) {
	for _, c := range []struct {
		arch string
		ok   bool
	}{{"", true}, {"arm64", true}, {"amd64", true}, {"arm", true}, {"ARM64", false}, {"arm/64", false},
		{"../x", false}, {strings.Repeat("a", MaxArch+1), false}} {
		s, err := DecodeState([]byte(`{"v":1,"online":true,"session":1,"arch":"` + c.arch + `"}`))
		if (err == nil) != c.ok || (c.ok && s.Arch != c.arch) {
			t.Errorf("arch %q: %+v, %v", c.arch, s, err)
		}
	}
}

// TestHeartbeatPluginErrors: a plugin's error travels in the heartbeat,
// named and bounded.
func TestHeartbeatPluginErrors(t *testing.T) {
	const head = `{"v":1,"at":"2024-01-01T00:00:00Z","cameras":[],"plugin_errors":`
	h, err := DecodeHeartbeat([]byte(head + `[{"name":"onnx","error":"model x.onnx: sha256 ab does not match the desired cd"}]}`))
	if err != nil || len(h.PluginErrors) != 1 || h.PluginErrors[0].Name != "onnx" {
		t.Fatalf("%+v %v", h.PluginErrors, err)
	}
	for _, p := range []string{
		`[{"name":"a/b","error":"x"}]`,
		`[{"name":"","error":"x"}]`,
		`[{"name":"onnx","error":"` + strings.Repeat("e", MaxPluginError+1) + `"}]`,
	} {
		if _, err := DecodeHeartbeat([]byte(head + p + `}`)); err == nil {
			t.Errorf("%.80s: accepted", p)
		}
	}
}
