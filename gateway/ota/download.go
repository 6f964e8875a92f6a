package ota

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// ErrChecksum: the downloaded bundle is not the one asked for.
var ErrChecksum = errors.New("checksum mismatch")

var sumRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Download fetches url into dir as {sha256}.bundle and returns its path.
// A {sha256}.part left by an interrupted download is resumed with a Range
// request (a server that answers 200 instead starts it again). Never more
// than size bytes are written; the whole file's sha256 must be sum, or it
// is deleted. progress, when set, is called as bytes arrive.
func Download(ctx context.Context, client *http.Client, url, sum string, size int64, dir string, progress func(done, total int64)) (string, error) {
	if !sumRe.MatchString(sum) {
		return "", errors.New("sha256: want 64 lowercase hex digits")
	}
	if size <= 0 {
		return "", errors.New("size: want the bundle's size in bytes")
	}
	final := filepath.Join(dir, sum+".bundle")
	part := filepath.Join(dir, sum+".part")
	if info, err := os.Stat(final); err == nil && info.Size() == size {
		if err := checkSum(final, sum); err == nil {
			return final, nil
		}
		os.Remove(final)
	}
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return "", err
	}
	if have > size {
		if err := f.Truncate(0); err != nil {
			return "", err
		}
		have = 0
	}
	if have < size {
		if err := fetch(ctx, client, url, f, have, size, progress); err != nil {
			return "", err
		}
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := checkSum(part, sum); err != nil {
		os.Remove(part)
		return "", err
	}
	if err := os.Rename(part, final); err != nil {
		return "", err
	}
	return final, nil
}

// fetch appends url's bytes from offset have to f, up to size.
func fetch(ctx context.Context, client *http.Client, url string, f *os.File, have, size int64, progress func(done, total int64)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, ok := rangeStart(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("download: Content-Range %q does not start at %d", resp.Header.Get("Content-Range"), have)
		}
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			if err := f.Truncate(0); err != nil {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			have = 0
		}
		if resp.ContentLength > size {
			return fmt.Errorf("download: the server sends %d bytes, the bundle has %d", resp.ContentLength, size)
		}
	default:
		return fmt.Errorf("download: %s", resp.Status)
	}
	w := &progressWriter{f: f, done: have, total: size, progress: progress}
	n, err := io.Copy(w, io.LimitReader(resp.Body, size-have+1))
	have += n
	if err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if have > size {
		return fmt.Errorf("download: more than the %d bytes asked for", size)
	}
	if have < size {
		return fmt.Errorf("download: the server sent %d of %d bytes", have, size)
	}
	return nil
}

// rangeStart is the first byte of a "bytes a-b/n" Content-Range.
func rangeStart(cr string) (int64, bool) {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(a, 10, 64)
	return n, err == nil
}

type progressWriter struct {
	f           *os.File
	done, total int64
	progress    func(done, total int64)
}

func (w *progressWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.done += int64(n)
	if w.progress != nil {
		w.progress(w.done, w.total)
	}
	return n, err
}

func checkSum(p, want string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("%w: the download has sha256 %s, not %s", ErrChecksum, got, want)
	}
	return nil
}
