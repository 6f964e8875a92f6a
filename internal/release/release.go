// Package release is the format of a BrightKitchen release bundle and the
// code that makes, signs, checks and unpacks one. The fleet's admin tool
// signs bundles and the gateway's installer unpacks them, so it lives
// outside both sides and imports nothing of the project.
//
// A bundle is a tar archive, optionally gzip-compressed, whose first entry
// is manifest.json, whose second is manifest.sig (the base64 of an ed25519
// signature over the manifest's exact bytes), followed by the files the
// manifest lists, regular files only. The manifest names each file's
// sha256, size and mode, so the one signature covers every byte installed.
//
// Everything read from a bundle is outside input: sizes are checked against
// Limits before anything is allocated or written, a name must be one the
// manifest lists (a clean relative path: no "..", no absolute path), links,
// devices and other special entries are refused, and Extract writes into a
// staging directory that becomes the destination by one rename only when
// every file has arrived with its checksum.
package release

import "errors"

// Entry names inside a bundle.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// Sentinel errors; the errors returned wrap them and say more.
var (
	// ErrUnsigned: no signature, or one no trusted key made.
	ErrUnsigned = errors.New("bundle not signed by a trusted key")
	// ErrTooLarge: a size over the Limits.
	ErrTooLarge = errors.New("too large")
	// ErrBadManifest: a manifest that breaks the format.
	ErrBadManifest = errors.New("bad manifest")
	// ErrBadBundle: an archive that breaks the format (an unlisted, unsafe,
	// repeated or missing entry, a checksum that differs).
	ErrBadBundle = errors.New("bad bundle")
)

// Limits bound what a bundle may hold. A zero field means its default.
type Limits struct {
	// MaxFile is the largest file (default 256 MiB).
	MaxFile int64
	// MaxTotal is the most the files may hold together, uncompressed
	// (default 512 MiB).
	MaxTotal int64
}

// Defaults and fixed bounds.
const (
	DefaultMaxFile  = 256 << 20
	DefaultMaxTotal = 512 << 20
	// MaxManifest is the largest manifest.json accepted.
	MaxManifest = 64 << 10
	// MaxFiles is the most files one manifest may list.
	MaxFiles = 256
	// maxSignature bounds manifest.sig (base64 of 64 bytes, a newline).
	maxSignature = 256
	// MaxKeys is the most trusted keys Verify tries.
	MaxKeys = 16
)

func (l Limits) maxFile() int64 {
	if l.MaxFile > 0 {
		return l.MaxFile
	}
	return DefaultMaxFile
}

func (l Limits) maxTotal() int64 {
	if l.MaxTotal > 0 {
		return l.MaxTotal
	}
	return DefaultMaxTotal
}
