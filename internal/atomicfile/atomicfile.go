// Package atomicfile replaces a file so that a crash leaves the old one or
// the new one, never part of either: the new content goes to a temporary
// file in the same directory, is synced, optionally checked, renamed over
// the old, and the directory is synced. The gateway's config (enrolment,
// the setup page) and its setup password are written this way; SyncDir is
// the directory sync the spool, the OTA slots and release extraction use.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Write replaces path with data, with mode. A file already at path keeps
// its owner and group when the caller may set them (root enrolling a box
// leaves the service's config readable by the service). check, when not
// nil, is given the temporary file's path before the rename; its error
// is returned as it is and path is left untouched.
func Write(path string, data []byte, mode os.FileMode, check func(tmp string) error) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after the rename there is nothing to remove
	if err := fill(f, path, data, mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes a directory's entries durable: after a rename or a
// create, so a crash cannot lose the new name.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// fill sets the temporary file's mode and owner and writes data, synced.
func fill(f *os.File, path string, data []byte, mode os.FileMode) error {
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if old, err := os.Stat(path); err == nil {
		if st, ok := old.Sys().(*syscall.Stat_t); ok && (int(st.Uid) != os.Getuid() || int(st.Gid) != os.Getgid()) {
			if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("keep the owner of %s: %w", path, err)
			}
		}
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}
