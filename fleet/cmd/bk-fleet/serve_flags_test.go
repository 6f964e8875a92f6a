package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestServeFlagErrors: each bad serve flag (and BK_* variable) stops
// bk-fleet serve with exit 2 before anything starts, naming the flag and
// what it wants.
func TestServeFlagErrors(t *testing.T) {
	for _, c := range []struct {
		env  string // NAME=value, or ""
		args []string
		want string
	}{
		{"", []string{"--port", "80"}, "flag provided but not defined: -port"},
		{"", []string{"--tls-cert", "c.pem"}, "--tls-cert and --tls-key: set both or neither"},
		{"", []string{"--tls-key", "k.pem"}, "--tls-cert and --tls-key: set both or neither"},
		{"", []string{"--live-linger", "0s"}, `--live-linger "0s": want a positive duration`},
		{"", []string{"--live-linger", "soon"}, `--live-linger "soon"`},
		{"", []string{"--live-recheck", "500ms"}, `--live-recheck "500ms": want a duration of at least 1s such as 30s`},
		{"BK_LIVE_RECHECK=often", nil, `--live-recheck "often"`},
		{"", []string{"--review-deadline", "-1h"}, `--review-deadline "-1h": want a positive duration such as 24h`},
		{"", []string{"--rectify-deadline", "3d"}, `--rectify-deadline "3d": want a positive duration such as 72h`},
		{"", []string{"--complaint-accept-workdays", "0"}, `--complaint-accept-workdays "0": want 1 to 30`},
		{"", []string{"--complaint-reply-deadline", "7d"}, `--complaint-reply-deadline "7d": want a positive duration such as 168h`},
		{"", []string{"--complaint-per-address", "-1"}, `--complaint-per-address "-1": want a positive number`},
		{"", []string{"--complaint-pow-bits", "40"}, `--complaint-pow-bits "40": want 1 to 28`},
		{"", []string{"--max-parent-viewers", "0"}, `--max-parent-viewers "0": want a positive number`},
		{"", []string{"--max-views-per-parent", "two"}, `--max-views-per-parent "two": want a positive number`},
		{"", []string{"--joins-per-addr", "0"}, `--joins-per-addr "0": want a positive number`},
		{"", []string{"--warm-rates-every", "-1m"}, `--warm-rates-every "-1m": want a duration such as 10m, or 0 for never`},
		{"", []string{"--retain-photos", "forever"}, "--retain-photos"},
		{"", []string{"--log-format", "xml"}, `bk-fleet: log format "xml": want text or json`},
		{"", []string{"--log-level", "loud"}, `bk-fleet: log level "loud": want debug, info, warn or error`},
		{"", []string{"--secure-cookies=maybe"}, `invalid boolean value "maybe" for -secure-cookies: want true or false`},
		{"", []string{"--secure-cookies", "false"}, `bk-fleet serve: unexpected argument "false" (a switch takes no value: --name alone, or --name=false)`},
		{"BK_WEBRTC_LOOPBACK=yes", nil, `BK_WEBRTC_LOOPBACK="yes": want true or false`},
		{"BK_LIVE_LINGER=never", nil, `--live-linger "never"`},
		{"", []string{"--release-keys", "bm90IGEga2V5"}, `--release-keys[0]: public key: want a PEM "PUBLIC KEY" block or the base64 of 32 bytes`},
		{"", []string{"--release-max", "0"}, `--release-max "0": want MiB, 1 to 4096`},
		{"BK_ROLLOUT_TICK=often", nil, `--rollout-tick "often": want a duration such as 2s, or 0 for never`},
		{"", []string{"--rollout-stall-after", "30s"}, `--rollout-stall-after "30s": want a duration of at least 1m`},
		{"", []string{"--live-max-public-viewers-per-canteen", "0"}, `--live-max-public-viewers-per-canteen "0": want a positive number`},
		{"BK_LIVE_PUBLIC_VIEWS_PER_MINUTE=lots", nil, `--live-public-views-per-minute "lots": want a positive number`},
	} {
		t.Run(strings.Join(append([]string{c.env}, c.args...), " "), func(t *testing.T) {
			if name, value, ok := strings.Cut(c.env, "="); ok {
				t.Setenv(name, value)
			}
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"serve", "--data", t.TempDir()}, c.args...), &stdout, &stderr)
			if code != 2 || !strings.Contains(stderr.String(), c.want) || stdout.Len() != 0 {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr.String(), c.want)
			}
		})
	}
}
