package config

import (
	"crypto/ed25519"
	"encoding/base64"
	"path/filepath"
	"time"
)

// OTA is how the gateway installs signed releases (package gateway/ota).
// Local only: the fleet's desired config cannot set it (gateway/core
// refuses it), so the fleet can never choose which keys the gateway trusts.
type OTA struct {
	// Dir holds the A/B slots, the current link, the pending marker and
	// downloads. The launcher (bk-gateway launch --ota-dir) passes its own
	// as BK_OTA_DIR, which overrides the file. Loaded with Load, a
	// relative directory is taken from the config file's directory.
	// Default /var/lib/brightkitchen/ota.
	Dir string `yaml:"dir"`
	// TrustedKeys are the ed25519 public keys a release must be signed by,
	// each the base64 line `bk-fleet release keygen` prints; at most 16.
	// Default none: ota.install is refused.
	TrustedKeys []string `yaml:"trusted_keys"`
	// ConfirmTimeout is how long a new version has, from the switch, to
	// come back online with its cameras before it switches back by itself;
	// 30s to 1h. Default 5m.
	ConfirmTimeout time.Duration `yaml:"confirm_timeout"`
	// MaxBundle is the largest bundle the gateway downloads, and the most
	// its files may hold unpacked; 1MiB to 4GiB. Default 512MiB.
	MaxBundle ByteSize `yaml:"max_bundle"`
}

// DefaultOTADir is ota.dir's default, and the launcher's.
const DefaultOTADir = "/var/lib/brightkitchen/ota"

func defaultOTA() OTA {
	return OTA{Dir: DefaultOTADir, ConfirmTimeout: 5 * time.Minute, MaxBundle: 512 * MiB}
}

// Keys are the trusted keys, decoded; Validate has checked them.
func (o OTA) Keys() []ed25519.PublicKey {
	var out []ed25519.PublicKey
	for _, k := range o.TrustedKeys {
		if b, err := base64.StdEncoding.DecodeString(k); err == nil && len(b) == ed25519.PublicKeySize {
			out = append(out, ed25519.PublicKey(b))
		}
	}
	return out
}

// ota checks the ota section.
func (v *validator) ota(o OTA) {
	if o.Dir == "" || filepath.Clean(o.Dir) != o.Dir {
		v.fail("ota.dir", "%q: want a clean directory path", o.Dir)
	}
	if len(o.TrustedKeys) > 16 {
		v.fail("ota.trusted_keys", "%d keys, at most 16", len(o.TrustedKeys))
	}
	for i, k := range o.TrustedKeys {
		if b, err := base64.StdEncoding.DecodeString(k); err != nil || len(b) != ed25519.PublicKeySize {
			v.fail("ota.trusted_keys", "[%d]: want the base64 of a 32-byte ed25519 public key (bk-fleet release keygen prints it)", i)
		}
	}
	v.duration("ota.confirm_timeout", o.ConfirmTimeout, 30*time.Second, time.Hour)
	if o.MaxBundle < MiB || o.MaxBundle > 4*GiB {
		v.fail("ota.max_bundle", "%d bytes: want 1MiB to 4GiB", o.MaxBundle)
	}
}
