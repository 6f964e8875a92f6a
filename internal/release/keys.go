package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
)

// GenerateKey makes a signing key pair from rand (crypto/rand.Reader when
// nil).
func GenerateKey(rand io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand)
}

// MarshalPrivateKey is priv as a PKCS #8 PEM block, the form openssl reads.
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads a PKCS #8 PEM ed25519 private key.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	if len(b) > 16<<10 {
		return nil, errors.New("private key: file too large")
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("private key: not a PEM \"PRIVATE KEY\" block")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key: %T, not ed25519", k)
	}
	return priv, nil
}

// FormatPublicKey is pub as the one line a gateway's config trusts: the
// standard base64 of its 32 bytes.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return base64.StdEncoding.EncodeToString(pub)
}

// MarshalPublicKey is pub as a PKIX PEM block.
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads a public key given as a PKIX PEM block or as the
// base64 of its 32 bytes (FormatPublicKey).
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if len(b) > 16<<10 {
		return nil, errors.New("public key: too large")
	}
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("public key: PEM block %q, want \"PUBLIC KEY\"", blk.Type)
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("public key: %w", err)
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("public key: %T, not ed25519", k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("public key: want a PEM \"PUBLIC KEY\" block or the base64 of 32 bytes")
	}
	return ed25519.PublicKey(raw), nil
}

// Sign signs the manifest's bytes and returns the content of manifest.sig.
func Sign(priv ed25519.PrivateKey, manifest []byte) []byte {
	sig := ed25519.Sign(priv, manifest)
	return []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
}

// VerifySignature checks sig (manifest.sig's content) over manifest against
// each of keys, and returns the key that made it.
func VerifySignature(keys []ed25519.PublicKey, manifest, sig []byte) (ed25519.PublicKey, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no trusted keys configured", ErrUnsigned)
	}
	if len(keys) > MaxKeys {
		return nil, fmt.Errorf("%d trusted keys: at most %d", len(keys), MaxKeys)
	}
	if len(sig) > maxSignature {
		return nil, fmt.Errorf("%w: signature of %d bytes", ErrUnsigned, len(sig))
	}
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sig)))
	if err != nil || len(raw) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature is not the base64 of %d bytes", ErrUnsigned, ed25519.SignatureSize)
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, manifest, raw) {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: the signature matches none of the %d trusted keys", ErrUnsigned, len(keys))
}
