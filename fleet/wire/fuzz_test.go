package wire

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecode feeds arbitrary bytes to every decoder of the device contract:
// none may panic, and each failure must be an ErrPayload with a message.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"event_id":"01J0000000000000000000000A","seq":1,"camera_id":"c","type":"no_mask","score":0.5,"boxes":[{"x":0,"y":0,"w":1,"h":1}],"started_at":"2024-01-01T00:00:00Z","snapshot":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000","bytes":10}}`,
		`{"v":1,"online":true,"session":3,"version":"x","started_at":"2024-01-01T00:00:00Z"}`,
		`{"v":1,"at":"2024-01-01T00:00:00Z","cameras":[{"camera_id":"c1","online":true,"fps":10,"picture":"ok"}]}`,
		`{"v":1,"seq":4,"camera_id":"c1","at":"2024-01-01T00:00:00Z","online":false,"picture":"dark"}`,
		`{"v":1,"seqs":[1,2,3]}`, `{"v":1,"upto":9}`,
		`{"v":1,"cmd_id":"c","name":"live.start","args":{"camera_id":"c1"},"expires_at":"2024-01-01T00:00:00Z"}`,
		`{"v":1,"cmd_id":"c","status":"ok","detail":"done"}`,
		`{"v":1,"version":2,"config":{"cameras":[]}}`,
		`{"v":1,"score":1e400}`, `null`, `{"v":1,"boxes":[null]}`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	decoders := []func([]byte) error{
		func(b []byte) error { _, err := DecodeState(b); return err },
		func(b []byte) error { _, err := DecodeHeartbeat(b); return err },
		func(b []byte) error { _, err := DecodeCameraStatus(b); return err },
		func(b []byte) error { _, err := DecodeEvent(b); return err },
		func(b []byte) error { _, err := DecodeAck(b); return err },
		func(b []byte) error { _, err := DecodeCmd(b); return err },
		func(b []byte) error { _, err := DecodeCmdAck(b); return err },
		func(b []byte) error { _, err := DecodeConfigDesired(b); return err },
		func(b []byte) error { _, err := DecodeConfigReported(b); return err },
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i, d := range decoders {
			if err := d(b); err != nil && (!errors.Is(err, ErrPayload) || err.Error() == "") {
				t.Fatalf("decoder %d: error %v is not ErrPayload", i, err)
			}
		}
	})
}

// FuzzParseTopic checks that topic parsing never panics and that what it
// accepts builds back into the same topic.
func FuzzParseTopic(f *testing.F) {
	for _, s := range []string{"bk/v1/gw/g/state", "bk/v1/gw/g/snapshot/e", "bk/v1/gw/g/cmd/ack", "bk/v1/gw//x", "#", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseTopic(s)
		if err != nil {
			return
		}
		back := Topic(p.GatewayID, p.Kind)
		if p.Kind == KindSnapshot {
			back = SnapshotTopic(p.GatewayID, p.EventID)
		}
		if back != s {
			t.Fatalf("%q parsed to %+v, builds %q", s, p, back)
		}
	})
}

// FuzzDecodeEnrolRequest feeds arbitrary bodies to the enrolment
// request's decoder, as POST /api/v1/enrol does: no panic, every failure
// an ErrPayload, and what it accepts is within the limits it promises.
func FuzzDecodeEnrolRequest(f *testing.F) {
	for _, s := range []string{
		`{"code":"K7QM-2XJD-94RT-HVNA"}`,
		`{"v":1,"code":"k7qm 2xjd 94rt hvna","name":"gw-01","hardware":{"model":"RK3568","arch":"arm64","os":"Debian 13","serial":"A1","version":"1.2.0"}}`,
		`{"v":2,"code":"x"}`, `{"code":""}`, `{"code":"  "}`, `{"code":"x","name":"../etc"}`,
		`{"code":"x","hardware":{"model":"\u0000"}}`, `{"code":"x","hardware":null}`, `{"code":1}`,
		`{"code":"x"} {}`, `[]`, `null`, "\xff", `{"code":"` + strings.Repeat("A", 70) + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeEnrolRequest(b)
		if err != nil {
			if !errors.Is(err, ErrPayload) || err.Error() == "" {
				t.Fatalf("error %v is not ErrPayload", err)
			}
			return
		}
		if len(b) > MaxEnrolRequest || r.V != Version || len(r.Code) > MaxEnrolCode || strings.TrimSpace(r.Code) == "" ||
			(r.Name != "" && !ValidID(r.Name)) {
			t.Fatalf("accepted %q as %+v", b, r)
		}
		if h := r.Hardware; h != nil {
			for _, v := range []string{h.Model, h.Arch, h.OS, h.Serial, h.Version} {
				if len(v) > MaxHardwareField || !utf8.ValidString(v) {
					t.Fatalf("accepted hardware %+v", h)
				}
			}
		}
	})
}

// FuzzDecodeOps feeds arbitrary bytes to the remote operations' argument
// decoders: none may panic, a failure is an ErrPayload, and what they
// accept is within the limits.
func FuzzDecodeOps(f *testing.F) {
	for _, s := range []string{
		`{"url":"https://fleet.example/api/v1/gateways/gw-1/logs/u1","token":"abc","max_bytes":1048576}`,
		`{"url":"http://127.0.0.1:8080/x","token":"t"}`,
		`{"url":"file:///etc/passwd","token":"t"}`, `{"url":"http://u:p@h/","token":"t"}`,
		`{"url":"http://h/","token":"t","max_bytes":-1}`, `{"camera_id":"cam-1"}`, `{"camera_id":"../x"}`,
		`[]`, `null`, "\x00",
		`{"camera_id":"cam-1","area":"cooking","public":true}`, `{"camera_id":"cam-1","url":"rtsp://10.0.0.2/s1","transport":"tcp"}`,
		`{"camera_id":"cam-1","url":"http://x/"}`, `{"camera_id":"cam-1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, err := DecodeLogsUpload(b); err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("logs.upload: %v is not ErrPayload", err)
			}
		} else if a.MaxBytes <= 0 || a.MaxBytes > MaxLogUpload || a.Token == "" || len(a.URL) > MaxUploadURL {
			t.Fatalf("logs.upload accepted %+v", a)
		}
		if a, err := DecodeSnapshotArgs(b); err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("snapshot: %v is not ErrPayload", err)
			}
		} else if !ValidID(a.CameraID) {
			t.Fatalf("snapshot accepted %+v", a)
		}
		if a, err := DecodeCameraEdit(b); err != nil {
			if !errors.Is(err, ErrPayload) {
				t.Fatalf("camera.config: %v is not ErrPayload", err)
			}
		} else if !ValidID(a.CameraID) || (a.Area != nil && len(*a.Area) > MaxCameraField) {
			t.Fatalf("camera.config accepted %+v", a)
		}
	})
}
