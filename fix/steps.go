package fix

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// do carries out entry i: back up, journal the intent, act, journal done.
func (j *Journal) do(ctx context.Context, i int, o Options) error {
	e := &j.M.Entries[i]
	s := e.Step
	switch s.Kind {
	case KindWrite, KindRemove, KindChmod, KindChown, KindMkdir:
		if err := j.backupFile(i, s.Path); err != nil {
			return fmt.Errorf("backing up %s: %w", s.Path, err)
		}
	case KindExec:
		if len(s.Snapshot) > 0 {
			snap, err := o.exec().Run(ctx, s.Snapshot, nil)
			if err != nil {
				return fmt.Errorf("saving the state before the change: %w", err)
			}
			e.Snapshot = fmt.Sprintf("snapshot-%d", i)
			if err := WriteFile(filepath.Join(j.Dir, e.Snapshot), snap, FileMeta{Mode: 0o600, UID: -1, GID: -1}); err != nil {
				return err
			}
		}
	case KindManual, KindNote:
		e.State = EntryDone
		return j.save()
	}
	e.State = EntryPending
	if err := j.save(); err != nil {
		return err
	}
	fault("after-backup")
	// chmod and chown never follow a link; other file steps only when the
	// planner allowed it (sshd_config may be a link an admin made).
	if s.NoFollow || s.Kind == KindChmod || s.Kind == KindChown {
		if st, err := os.Lstat(s.Path); err == nil && st.Mode()&os.ModeSymlink != 0 {
			e.State, e.Error = EntryFailed, "refusing to follow the symbolic link at "+s.Path
			_ = j.save()
			return errors.New(e.Error)
		}
	}
	var err error
	switch s.Kind {
	case KindWrite:
		meta := FileMeta{Mode: s.Mode, UID: s.UID, GID: s.GID}
		if s.Mode == 0 {
			meta.Mode = 0o644
		}
		err = WriteFile(s.Path, s.Content, meta)
	case KindRemove:
		err = os.Remove(s.Path)
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
	case KindChmod:
		err = os.Chmod(s.Path, s.Mode)
	case KindChown:
		err = os.Lchown(s.Path, s.UID, s.GID)
	case KindMkdir:
		if _, serr := os.Lstat(s.Path); serr == nil {
			break
		}
		if err = os.Mkdir(s.Path, s.Mode.Perm()); err == nil {
			e.Created = true
			if s.UID >= 0 || s.GID >= 0 {
				err = os.Lchown(s.Path, s.UID, s.GID)
			}
			if err == nil {
				err = os.Chmod(s.Path, s.Mode.Perm())
			}
		}
	case KindExec:
		_, err = o.exec().Run(ctx, s.Command, nil)
	}
	fault("after-step")
	if err != nil {
		e.State, e.Error = EntryFailed, err.Error()
		_ = j.save()
		return err
	}
	e.State = EntryDone
	return j.save()
}

// undo reverts every entry that is done or may have been (pending), newest
// first. It carries on past errors and returns them all.
func (j *Journal) undo(ctx context.Context, o Options) error {
	var errs []error
	for i := len(j.M.Entries) - 1; i >= 0; i-- {
		e := &j.M.Entries[i]
		if e.State != EntryDone && e.State != EntryPending && e.State != EntryFailed {
			continue
		}
		if err := j.undoEntry(ctx, e, o); err != nil {
			if e.State != EntryPending && e.State != EntryFailed {
				errs = append(errs, fmt.Errorf("undoing %q: %w", e.Step.Summary, err))
			}
			continue
		}
		e.State = EntryUndone
		if err := j.save(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (j *Journal) undoEntry(ctx context.Context, e *Entry, o Options) error {
	s := e.Step
	switch s.Kind {
	case KindWrite, KindRemove:
		if !e.Existed {
			err := os.Remove(s.Path)
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.Backup == "" {
			return nil
		}
		data, err := os.ReadFile(filepath.Join(j.Dir, e.Backup))
		if err != nil {
			return err
		}
		return restoreFile(s.Path, data, e.Meta)
	case KindChmod:
		if e.Existed {
			return os.Chmod(s.Path, e.Meta.Mode)
		}
	case KindChown:
		if e.Existed {
			return os.Chown(s.Path, e.Meta.UID, e.Meta.GID)
		}
	case KindMkdir:
		// Not there before: remove it (a crash may have come between the
		// mkdir and the journal noting it). os.Remove leaves a directory
		// that has since filled up.
		if e.Created || !e.Existed {
			err := os.Remove(s.Path)
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.Existed {
			if err := os.Lchown(s.Path, e.Meta.UID, e.Meta.GID); err != nil {
				return err
			}
			return os.Chmod(s.Path, e.Meta.Mode)
		}
	case KindExec:
		if e.Snapshot != "" {
			snap, err := os.ReadFile(filepath.Join(j.Dir, e.Snapshot))
			if err != nil {
				return err
			}
			_, err = o.exec().Run(ctx, s.Restore, append([]byte(s.RestorePrefix), snap...))
			return err
		}
		if len(s.Undo) > 0 {
			_, err := o.exec().Run(ctx, s.Undo, nil)
			return err
		}
	}
	return nil
}

// restoreFile puts back a file's content with its original owner and mode.
func restoreFile(path string, data []byte, meta FileMeta) error {
	if err := WriteFile(path, data, meta); err != nil {
		return err
	}
	// WriteFile kept the current mode if the file existed; force the old one.
	if err := os.Chown(path, meta.UID, meta.GID); err != nil {
		return err
	}
	return os.Chmod(path, meta.Mode)
}
