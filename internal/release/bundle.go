package release

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/brightkitchen/brightkitchen/internal/atomicfile"
)

// Build writes a signed bundle to w holding every regular file under dir.
// m gives the product, version, arch and min_version; Build fills in the
// files (sorted by path) and, when zero, the creation time, and returns
// the manifest it signed. Links and other special files under dir are
// refused: a bundle holds regular files only.
func Build(w io.Writer, m Manifest, dir string, priv ed25519.PrivateKey, compress bool) (*Manifest, error) {
	m.Format = Format
	if m.Created.IsZero() {
		m.Created = time.Now().UTC().Truncate(time.Second)
	}
	m.Files = nil
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file (a bundle holds no links or special files)", p)
		}
		f := File{Path: filepath.ToSlash(rel)}
		if err := CheckPath(f.Path); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f.Mode = fmt.Sprintf("%04o", info.Mode().Perm())
		if f.SHA256, f.Size, err = hashFile(p); err != nil {
			return err
		}
		m.Files = append(m.Files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(m.Files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	mb, err := m.Encode()
	if err != nil {
		return nil, err
	}
	out := w
	var zw *gzip.Writer
	if compress {
		zw = gzip.NewWriter(w)
		out = zw
	}
	tw := tar.NewWriter(out)
	add := func(name string, size int64, mode int64, body io.Reader) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: mode, ModTime: m.Created, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, body)
		return err
	}
	sig := Sign(priv, mb)
	if err := add(ManifestName, int64(len(mb)), 0o644, strings.NewReader(string(mb))); err != nil {
		return nil, err
	}
	if err := add(SignatureName, int64(len(sig)), 0o644, strings.NewReader(string(sig))); err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		fh, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, err
		}
		err = add(f.Path, f.Size, int64(f.Perm()), io.LimitReader(fh, f.Size))
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

func hashFile(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Options say whom a bundle must be signed by and what it may hold.
type Options struct {
	// Keys are the trusted public keys; the signature must be one of theirs.
	Keys []ed25519.PublicKey
	// Limits bound the files' sizes.
	Limits Limits
	// Check, when set, is called with the signed manifest before any file
	// is read, so a caller can refuse a bundle (product, arch, version)
	// before anything is written.
	Check func(*Manifest) error
	// Signed, when set, is told which of Keys made the signature, once it
	// has been checked (the fleet records which key signed a release).
	Signed func(ed25519.PublicKey)
}

// Verify reads a whole bundle and checks its signature, its manifest and
// every file's checksum, writing nothing.
func Verify(r io.Reader, opt Options) (*Manifest, error) {
	return walk(r, opt, func(*Manifest, []byte, []byte) error { return nil },
		func(_ File, body io.Reader) error {
			_, err := io.Copy(io.Discard, body)
			return err
		})
}

// Extract unpacks a bundle into dir, which must not exist yet. The files
// (and manifest.json and manifest.sig) are written into a staging
// directory beside dir, each synced, and the staging directory is renamed
// to dir only when every file has been checked; on any failure it is
// removed and dir does not appear.
func Extract(r io.Reader, dir string, opt Options) (_ *Manifest, err error) {
	dir = filepath.Clean(dir)
	if _, err := os.Lstat(dir); err == nil {
		return nil, fmt.Errorf("extract: %s already exists", dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("extract: %w", err)
	}
	parent := filepath.Dir(dir)
	staging, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+StagingMark)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	dirs := []string{staging}
	m, err := walk(r, opt,
		func(_ *Manifest, mb, sig []byte) error {
			if err := writeFile(filepath.Join(staging, ManifestName), 0o644, strings.NewReader(string(mb))); err != nil {
				return err
			}
			return writeFile(filepath.Join(staging, SignatureName), 0o644, strings.NewReader(string(sig)))
		},
		func(f File, body io.Reader) error {
			p := filepath.Join(staging, filepath.FromSlash(f.Path))
			if d := path.Dir(f.Path); d != "." {
				full := filepath.Join(staging, filepath.FromSlash(d))
				if err := os.MkdirAll(full, 0o755); err != nil {
					return err
				}
				for ; full != staging && !slices.Contains(dirs, full); full = filepath.Dir(full) {
					dirs = append(dirs, full)
				}
			}
			if err := writeFile(p, f.Perm(), body); err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	for _, d := range dirs {
		if err := atomicfile.SyncDir(d); err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
	}
	if err := os.Rename(staging, dir); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	if err := atomicfile.SyncDir(parent); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	return m, nil
}

// StagingMark is in the name of Extract's staging directories
// (".{name}.staging-{random}"); RemoveStaging deletes those a crash left.
const StagingMark = ".staging-"

// RemoveStaging removes the staging directories an interrupted Extract
// left in parent.
func RemoveStaging(parent string) error {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), StagingMark) {
			errs = append(errs, os.RemoveAll(filepath.Join(parent, e.Name())))
		}
	}
	return errors.Join(errs...)
}

func writeFile(p string, perm fs.FileMode, body io.Reader) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(p, perm)
	}
	return err
}

// archiveSlack is what a tar archive may hold beyond its files' bytes:
// headers, padding, PAX records and the manifest.
const archiveSlack = 8 << 20

// walk reads a bundle: the manifest and its signature first, checked
// before anything else is read, then each file, whose body goes to file
// through a reader that must yield exactly the manifest's size and sum.
func walk(r io.Reader, opt Options, head func(*Manifest, []byte, []byte) error, file func(File, io.Reader) error) (*Manifest, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrBadBundle, err)
		}
		zr.Multistream(false)
		defer zr.Close()
		src = zr
	}
	budget := &capReader{r: src, left: opt.Limits.maxTotal() + archiveSlack}
	tr := tar.NewReader(budget)
	next := func() (*tar.Header, error) {
		hdr, err := tr.Next()
		if budget.over {
			return nil, fmt.Errorf("%w: archive over %d bytes", ErrTooLarge, opt.Limits.maxTotal()+archiveSlack)
		}
		if err == io.EOF {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadBundle, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %q: type %q (only regular files; no links, directories or devices)", ErrBadBundle, hdr.Name, hdr.Typeflag)
		}
		return hdr, nil
	}
	// small reads the entry that must be name; missing is the error when
	// it is not there.
	small := func(name string, max int64, missing error) ([]byte, error) {
		hdr, err := next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: no %s", missing, name)
		}
		if err != nil {
			return nil, err
		}
		if hdr.Name != name {
			return nil, fmt.Errorf("%w: entry %q where %s must be", missing, hdr.Name, name)
		}
		if hdr.Size < 0 || hdr.Size > max {
			return nil, fmt.Errorf("%w: %s of %d bytes, over %d", ErrTooLarge, name, hdr.Size, max)
		}
		b := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadBundle, name, err)
		}
		return b, nil
	}
	mb, err := small(ManifestName, MaxManifest, ErrBadBundle)
	if err != nil {
		return nil, err
	}
	sig, err := small(SignatureName, maxSignature, ErrUnsigned)
	if err != nil {
		return nil, err
	}
	key, err := VerifySignature(opt.Keys, mb, sig)
	if err != nil {
		return nil, err
	}
	if opt.Signed != nil {
		opt.Signed(key)
	}
	m, err := DecodeManifest(mb)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if f.Size > opt.Limits.maxFile() {
			return nil, fmt.Errorf("%w: %s of %d bytes, over %d", ErrTooLarge, f.Path, f.Size, opt.Limits.maxFile())
		}
	}
	if t := m.Total(); t > opt.Limits.maxTotal() {
		return nil, fmt.Errorf("%w: files of %d bytes together, over %d", ErrTooLarge, t, opt.Limits.maxTotal())
	}
	if opt.Check != nil {
		if err := opt.Check(m); err != nil {
			return nil, err
		}
	}
	if err := head(m, mb, sig); err != nil {
		return nil, err
	}
	byPath := make(map[string]File, len(m.Files))
	for _, f := range m.Files {
		byPath[f.Path] = f
	}
	done := make(map[string]bool, len(m.Files))
	for {
		hdr, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		f, ok := byPath[hdr.Name]
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: entry %q is not in the manifest", ErrBadBundle, hdr.Name)
		case done[f.Path]:
			return nil, fmt.Errorf("%w: entry %q appears twice", ErrBadBundle, hdr.Name)
		case hdr.Size != f.Size:
			return nil, fmt.Errorf("%w: entry %q has %d bytes, the manifest says %d", ErrBadBundle, hdr.Name, hdr.Size, f.Size)
		}
		done[f.Path] = true
		h := sha256.New()
		body := &errReader{r: io.LimitReader(tr, f.Size)}
		if err := file(f, io.TeeReader(body, h)); err != nil {
			switch {
			case budget.over:
				return nil, fmt.Errorf("%w: archive over its size limit", ErrTooLarge)
			case body.err != nil:
				return nil, fmt.Errorf("%w: %s: %v", ErrBadBundle, f.Path, body.err)
			}
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
			return nil, fmt.Errorf("%w: %s has sha256 %s, the manifest says %s", ErrBadBundle, f.Path, sum, f.SHA256)
		}
	}
	for _, f := range m.Files {
		if !done[f.Path] {
			return nil, fmt.Errorf("%w: %s is in the manifest but not in the bundle", ErrBadBundle, f.Path)
		}
	}
	return m, nil
}

// capReader reads at most left bytes of r and then fails, noting it.
type capReader struct {
	r    io.Reader
	left int64
	over bool
}

var errCap = errors.New("size cap reached")

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.over = true
		return 0, errCap
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// errReader notes the error its reader returned (other than io.EOF), so a
// broken archive is told from a failed write.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
