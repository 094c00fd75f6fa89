// Package fix plans repairs for findings and carries them out safely: a
// plan is shown before anything changes, every change is journalled with a
// backup first, files are replaced atomically, sshd configurations are
// validated before they take effect, and changes that can cut the
// connection are rolled back by themselves unless confirmed.
package fix

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/google/renameio/v2"
)

// FileMeta is the owner and mode of a file, kept so a rewrite or a restore
// leaves them as they were.
type FileMeta struct {
	Mode os.FileMode `json:"mode"`
	UID  int         `json:"uid"`
	GID  int         `json:"gid"`
}

// statMeta returns the mode and owner of path (following symlinks, as the
// changes do); ok is false when it does not exist.
func statMeta(path string) (FileMeta, bool, error) {
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return FileMeta{}, false, nil
	}
	if err != nil {
		return FileMeta{}, false, err
	}
	m := FileMeta{Mode: st.Mode().Perm() | st.Mode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky), UID: -1, GID: -1}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		m.UID, m.GID = int(sys.Uid), int(sys.Gid)
	}
	return m, true, nil
}

// WriteFile replaces path with data atomically: a temporary file in the same
// directory is written, given the owner and mode (those of the file it
// replaces, or meta for a new file), fsynced, and renamed over path; then
// the directory is fsynced. A crash at any moment leaves either the old file
// or the new one, never a mix. A symlink at path is followed, so the file it
// points to is what gets replaced.
func WriteFile(path string, data []byte, meta FileMeta) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	if old, ok, err := statMeta(path); err != nil {
		return fmt.Errorf("fix: %w", err)
	} else if ok {
		meta = old
	}
	if meta.Mode == 0 {
		meta.Mode = 0o644
	}
	pf, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(meta.Mode.Perm()))
	if err != nil {
		return fmt.Errorf("fix: writing %s: %w", path, err)
	}
	defer pf.Cleanup()
	if _, err := pf.Write(data); err != nil {
		return fmt.Errorf("fix: writing %s: %w", path, err)
	}
	if meta.UID >= 0 || meta.GID >= 0 {
		if err := pf.Chown(meta.UID, meta.GID); err != nil {
			return fmt.Errorf("fix: chown %s: %w", path, err)
		}
	}
	// Chmod after chown: chown clears setuid/setgid bits.
	if err := pf.Chmod(meta.Mode); err != nil {
		return fmt.Errorf("fix: chmod %s: %w", path, err)
	}
	beforeRename(path)
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("fix: replacing %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory so a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fix: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("fix: fsync %s: %w", dir, err)
	}
	return nil
}

// beforeRename is a fault-injection point for the crash tests: it does
// nothing unless SSHDOCTOR_FAULT names it (see fault.go).
var beforeRename = func(path string) { fault("before-rename") }
