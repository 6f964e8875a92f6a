package logging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// File is a log file bounded in size: when a write would take it past Max
// bytes it is renamed Path+".1" (replacing the older one) and a new one
// begun, so at most about twice Max is on disk. It is safe for concurrent
// use. A failing write never fails the logger: Write reports success, the
// bytes are lost and counted (Lost), and the next write tries again.
type File struct {
	path string
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64
	lost int64
}

// OpenFile opens (appending) or creates the log file at path, mode 0640,
// rotated at max bytes (at least 4 KiB).
func OpenFile(path string, max int64) (*File, error) {
	if max < 4<<10 {
		return nil, fmt.Errorf("log file %s: size %d: want at least 4096", path, max)
	}
	l := &File{path: path, max: max}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Write appends p, rotating first when p would take the file past its
// size. It always reports len(p), nil (see File).
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil && l.size > 0 && l.size+int64(len(p)) > l.max {
		l.f.Close()
		l.f = nil
		_ = os.Rename(l.path, l.path+".1")
	}
	if l.f == nil {
		if err := l.open(); err != nil {
			l.lost += int64(len(p))
			return len(p), nil
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	if err != nil {
		l.lost += int64(len(p) - n)
	}
	return len(p), nil
}

// Lost is how many bytes could not be written.
func (l *File) Lost() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Close closes the file; later writes open it again.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Tail returns at most the newest n bytes of the log file at path, taking
// from its rotated part (path.1) first when the current one is shorter;
// when it had to cut, it starts after the first newline, at a whole line.
// A missing file is empty; both missing is an error wrapping
// os.ErrNotExist.
func Tail(path string, n int64) ([]byte, error) {
	if n <= 0 {
		return nil, nil
	}
	cur, curErr := tailOf(path, n)
	if curErr != nil && !errors.Is(curErr, os.ErrNotExist) {
		return nil, curErr
	}
	out := cur
	if rest := n - int64(len(cur)); rest > 0 {
		old, err := tailOf(path+".1", rest)
		switch {
		case err == nil:
			out = append(old, cur...)
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		case curErr != nil:
			return nil, fmt.Errorf("log file: %w", os.ErrNotExist)
		}
	}
	return out, nil
}

// tailOf reads the newest n bytes of one file, cut to a whole line when it
// did not read the file from its start.
func tailOf(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	off := max(0, size-n)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return buf, nil
}
