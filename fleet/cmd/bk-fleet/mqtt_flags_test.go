package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestServeMQTTFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--mqtt-tls-listen", "127.0.0.1:0"}, "--mqtt-tls-listen needs --mqtt-tls-cert and --mqtt-tls-key"},
		{[]string{"--mqtt-tls-cert", "c.pem", "--mqtt-tls-key", "k.pem"}, "need --mqtt-tls-listen"},
		{[]string{"--mqtt-tls-listen", "127.0.0.1:0", "--mqtt-tls-cert", "c", "--mqtt-tls-key", "k", "--broker", "tcp://127.0.0.1:1"},
			"nothing is embedded with --broker"},
		{[]string{"--mqtt-connect-timeout", "0s"}, "--mqtt-connect-timeout"},
		{[]string{"--mqtt-max-pending-per-ip", "none"}, "--mqtt-max-pending-per-ip"},
		{[]string{"--mqtt-gateway-rate", "-1"}, "--mqtt-gateway-rate"},
		{[]string{"--mqtt-gateway-rate", "fast"}, "--mqtt-gateway-rate"},
		{[]string{"--live-max-viewers-per-camera", "-1"}, "--live-max-viewers-per-camera"},
		{[]string{"--live-max-viewers-per-canteen", "many"}, "--live-max-viewers-per-canteen"},
	} {
		var stderr bytes.Buffer
		code := run(append([]string{"serve", "--data", t.TempDir()}, c.args...), &bytes.Buffer{}, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
}
