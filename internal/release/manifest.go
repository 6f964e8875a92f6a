package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Format is the manifest's format number.
const Format = 1

// A Manifest says what a bundle is and holds.
type Manifest struct {
	Format int `json:"format"`
	// Product is what the bundle installs, e.g. "bk-gateway".
	Product string `json:"product"`
	// Version is the release's version (see ParseVersion).
	Version string `json:"version"`
	// Arch is the Go architecture the binaries are built for (amd64,
	// arm64, arm).
	Arch string `json:"arch"`
	// MinVersion, when set, is the oldest version that may install this
	// one (a migration the release cannot do from further back).
	MinVersion string    `json:"min_version,omitempty"`
	Created    time.Time `json:"created"`
	Files      []File    `json:"files"`
}

// A File is one file of a bundle.
type File struct {
	// Path is relative, with '/' separators: "bk-gateway",
	// "plugins/bk-plugin-motion", "lib/libonnxruntime.so.1".
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Mode is the permission bits, in octal ("0755"); nothing else.
	Mode string `json:"mode"`
}

// Perm is the file's permission bits.
func (f File) Perm() fs.FileMode {
	m, _ := strconv.ParseUint(f.Mode, 8, 32)
	return fs.FileMode(m) & fs.ModePerm
}

var (
	productRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	archRe    = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)
	sumRe     = regexp.MustCompile(`^[0-9a-f]{64}$`)
	modeRe    = regexp.MustCompile(`^0[0-7]{3}$`)
	elemRe    = regexp.MustCompile(`^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$`)
)

// maxDepth is the most path elements a file's path may have.
const maxDepth = 4

// CheckPath reports why p is not a safe file path for a bundle: it must be
// relative, clean, made of 1 to 4 elements of letters, digits, '.', '_',
// '+' and '-' (no element "." or "..", none starting with '.'), and not
// one of the bundle's own entry names.
func CheckPath(p string) error {
	if p == "" || len(p) > 255 {
		return fmt.Errorf("path %q: empty or longer than 255 bytes", p)
	}
	if p == ManifestName || p == SignatureName {
		return fmt.Errorf("path %q: reserved for the bundle itself", p)
	}
	elems := strings.Split(p, "/")
	if len(elems) > maxDepth {
		return fmt.Errorf("path %q: more than %d levels", p, maxDepth)
	}
	for _, e := range elems {
		if !elemRe.MatchString(e) {
			return fmt.Errorf("path %q: element %q is not a plain name (letters, digits, . _ + -, not starting with .)", p, e)
		}
	}
	return nil
}

// Check reports the first way m breaks the format, naming the field.
func (m *Manifest) Check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadManifest, fmt.Sprintf(format, a...))
	}
	if m.Format != Format {
		return bad("format %d: want %d", m.Format, Format)
	}
	if !productRe.MatchString(m.Product) {
		return bad("product %q: want lowercase letters, digits and '-'", m.Product)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return bad("version: %v", err)
	}
	if m.MinVersion != "" {
		if _, err := ParseVersion(m.MinVersion); err != nil {
			return bad("min_version: %v", err)
		}
	}
	if !archRe.MatchString(m.Arch) {
		return bad("arch %q: want a Go architecture such as amd64 or arm64", m.Arch)
	}
	if m.Created.IsZero() {
		return bad("created: missing")
	}
	if len(m.Files) == 0 || len(m.Files) > MaxFiles {
		return bad("files: %d, want 1 to %d", len(m.Files), MaxFiles)
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if err := CheckPath(f.Path); err != nil {
			return bad("files[%d]: %v", i, err)
		}
		if seen[f.Path] {
			return bad("files[%d]: path %q listed twice", i, f.Path)
		}
		seen[f.Path] = true
		if !sumRe.MatchString(f.SHA256) {
			return bad("files[%d].sha256: want 64 lowercase hex digits", i)
		}
		if f.Size < 0 {
			return bad("files[%d].size: negative", i)
		}
		if !modeRe.MatchString(f.Mode) {
			return bad("files[%d].mode %q: want permission bits in octal, like 0755", i, f.Mode)
		}
	}
	// A file may not also be a directory of another ("a" and "a/b").
	for p := range seen {
		for dir := p; ; {
			i := strings.LastIndexByte(dir, '/')
			if i < 0 {
				break
			}
			dir = dir[:i]
			if seen[dir] {
				return bad("files: %q is both a file and the directory of %q", dir, p)
			}
		}
	}
	return nil
}

// Encode returns the manifest's bytes, indented, after checking it.
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if len(b) > MaxManifest {
		return nil, fmt.Errorf("%w: manifest of %d bytes, over %d", ErrTooLarge, len(b), MaxManifest)
	}
	return b, nil
}

// DecodeManifest reads a manifest strictly: at most MaxManifest bytes, no
// unknown fields, nothing after the object, and Check must pass.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > MaxManifest {
		return nil, fmt.Errorf("%w: manifest of %d bytes, over %d", ErrTooLarge, len(b), MaxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the manifest", ErrBadManifest)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Total is the sum of the files' sizes.
func (m *Manifest) Total() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// A Version is a release version: MAJOR.MINOR.PATCH with an optional
// leading "v" and an optional "-pre" suffix, which sorts before the same
// version without one.
type Version struct {
	Major, Minor, Patch uint32
	Pre                 string
}

var versionRe = regexp.MustCompile(`^v?(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(?:-([0-9A-Za-z.-]{1,32}))?$`)

// ParseVersion parses s as a Version.
func ParseVersion(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(s)
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a version like 1.4.2 or v1.4.2-rc1", s)
	}
	n := func(s string) uint32 { v, _ := strconv.ParseUint(s, 10, 32); return uint32(v) }
	return Version{Major: n(m[1]), Minor: n(m[2]), Patch: n(m[3]), Pre: m[4]}, nil
}

// Compare returns -1, 0 or 1 as v sorts before, with or after w. Pre-release
// suffixes compare as strings.
func (v Version) Compare(w Version) int {
	for _, d := range [][2]uint32{{v.Major, w.Major}, {v.Minor, w.Minor}, {v.Patch, w.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	return strings.Compare(v.Pre, w.Pre)
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	return s
}
