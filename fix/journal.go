package fix

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// Journal statuses.
const (
	StatusApplying  = "applying"              // steps are being carried out
	StatusApplied   = "applied"               // done; nothing guarded
	StatusAwaiting  = "awaiting-confirmation" // guarded steps done, waiting for `sshdoctor confirm`
	StatusConfirmed = "confirmed"             // guarded steps kept
	StatusRolled    = "rolled-back"           // undone by the guard (timeout or failed verification)
	StatusFailed    = "failed"                // a step failed and the rest was undone
	StatusUndone    = "undone"                // undone by `fix --undo`
)

// Entry states.
const (
	EntryPending = "pending" // backup taken, step not known to be done
	EntryDone    = "done"
	EntryFailed  = "failed"
	EntryUndone  = "undone"
)

// Manifest is the journal of one apply, kept on disk so that an undo, the
// rollback watcher, or a later `fix --undo` can restore exactly what was
// there before, even after a crash.
type Manifest struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Status  string    `json:"status"`
	// Deadline is when an unconfirmed guarded apply is rolled back; zero
	// when there is no guard.
	Deadline time.Time `json:"deadline,omitzero"`
	// Reason says why the journal was rolled back or failed.
	Reason  string  `json:"reason,omitempty"`
	Entries []Entry `json:"entries"`
}

// Entry is one step and what is needed to undo it.
type Entry struct {
	Step  Step   `json:"step"`
	State string `json:"state"`
	// Existed, Meta and Backup describe the file before the step: whether it
	// existed, its owner and mode, and the journal file holding its content.
	Existed bool     `json:"existed"`
	Meta    FileMeta `json:"meta"`
	Backup  string   `json:"backup,omitempty"`
	// Created is true when a mkdir step made the directory.
	Created bool `json:"created,omitempty"`
	// Snapshot is the journal file holding the Snapshot command's output.
	Snapshot string `json:"snapshot,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Journal is an open journal directory.
type Journal struct {
	Dir string
	M   Manifest
}

func journalsDir(stateDir string) string { return filepath.Join(stateDir, "journal") }

// newJournal creates a fresh journal directory under stateDir.
func newJournal(stateDir string, steps []Step) (*Journal, error) {
	now := time.Now().UTC()
	id := now.Format("20060102T150405.000000000Z")
	dir := filepath.Join(journalsDir(stateDir), id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("fix: creating the journal: %w", err)
	}
	j := &Journal{Dir: dir, M: Manifest{ID: id, Created: now, Status: StatusApplying}}
	for _, s := range steps {
		j.M.Entries = append(j.M.Entries, Entry{Step: s})
	}
	return j, j.save()
}

// save writes the manifest atomically.
func (j *Journal) save() error {
	b, err := json.MarshalIndent(j.M, "", "  ")
	if err != nil {
		return err
	}
	// Step.Content is not in JSON; keep new contents beside the manifest so
	// a watcher process could redo nothing but can always undo.
	return WriteFile(filepath.Join(j.Dir, "manifest.json"), b, FileMeta{Mode: 0o600, UID: -1, GID: -1})
}

// OpenJournal reads a journal directory.
func OpenJournal(dir string) (*Journal, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("fix: reading the journal: %w", err)
	}
	j := &Journal{Dir: dir}
	if err := json.Unmarshal(b, &j.M); err != nil {
		return nil, fmt.Errorf("fix: the journal %s is damaged: %w", dir, err)
	}
	return j, nil
}

// Journals lists the journals under stateDir, newest first.
func Journals(stateDir string) ([]*Journal, error) {
	ents, err := os.ReadDir(journalsDir(stateDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fix: %w", err)
	}
	var out []*Journal
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		j, err := OpenJournal(filepath.Join(journalsDir(stateDir), e.Name()))
		if err != nil {
			continue
		}
		out = append(out, j)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].M.ID > out[b].M.ID })
	return out, nil
}

// backupFile copies the current state of path into the journal.
func (j *Journal) backupFile(i int, path string) error {
	e := &j.M.Entries[i]
	meta, ok, err := statMeta(path)
	if err != nil {
		return err
	}
	e.Existed, e.Meta = ok, meta
	if !ok {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return nil // directories: mode and owner are enough
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	e.Backup = "backup-" + strconv.Itoa(i)
	return WriteFile(filepath.Join(j.Dir, e.Backup), data, FileMeta{Mode: 0o600, UID: -1, GID: -1})
}

// lock takes the state directory's lock, so an apply, an undo, a confirm
// and the rollback watcher never act on a journal at the same time.
func lock(stateDir string) (func(), error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("fix: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(stateDir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("fix: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("fix: locking %s: %w", stateDir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
