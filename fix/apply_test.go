package fix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as the crash-test child: with SSHDOCTOR_TEST_PLAN set it
// applies that plan and exits (the fault injection may kill it first).
func TestMain(m *testing.M) {
	if planFile := os.Getenv("SSHDOCTOR_TEST_PLAN"); planFile != "" {
		os.Exit(childApply(planFile, os.Getenv("SSHDOCTOR_TEST_STATE")))
	}
	os.Exit(m.Run())
}

type testStep struct {
	Step
	Content string
}

func childApply(planFile, state string) int {
	b, err := os.ReadFile(planFile)
	if err != nil {
		return 3
	}
	var steps []testStep
	if err := json.Unmarshal(b, &steps); err != nil {
		return 3
	}
	p := &Plan{}
	for _, s := range steps {
		s.Step.Content = []byte(s.Content)
		p.Steps = append(p.Steps, s.Step)
	}
	if _, err := Apply(context.Background(), p, Options{StateDir: state}); err != nil {
		return 1
	}
	return 0
}

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func meta(t *testing.T, path string) (os.FileMode, int, int) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	return st.Mode().Perm(), int(sys.Uid), int(sys.Gid)
}

func TestWriteFileKeepsOwnerAndMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "authorized_keys")
	write(t, p, "old\n", 0o640)
	if os.Geteuid() == 0 {
		if err := os.Chown(p, 1234, 2345); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFile(p, []byte("new\n"), FileMeta{Mode: 0o600, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new\n" {
		t.Errorf("content = %q", got)
	}
	mode, uid, gid := meta(t, p)
	if mode != 0o640 {
		t.Errorf("mode = %o, want the old 640", mode)
	}
	if os.Geteuid() == 0 && (uid != 1234 || gid != 2345) {
		t.Errorf("owner = %d:%d, want the old 1234:2345", uid, gid)
	}
	// Through a symlink, the target is replaced and the link stays.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("via link\n"), FileMeta{}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if got := read(t, p); got != "via link\n" {
		t.Errorf("target content = %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func samplePlan(dir string) *Plan {
	return &Plan{Steps: []Step{
		{Finding: "x", Summary: "rewrite a", Kind: KindWrite, Path: filepath.Join(dir, "a"), Content: []byte("A2\n"), UID: -1, GID: -1},
		{Finding: "x", Summary: "create b", Kind: KindWrite, Path: filepath.Join(dir, "b"), Content: []byte("B\n"), Mode: 0o600, UID: -1, GID: -1},
		{Finding: "x", Summary: "chmod c", Kind: KindChmod, Path: filepath.Join(dir, "c"), Mode: 0o600},
		{Finding: "x", Summary: "remove d", Kind: KindRemove, Path: filepath.Join(dir, "d")},
		{Finding: "x", Summary: "mkdir e", Kind: KindMkdir, Path: filepath.Join(dir, "e"), Mode: 0o700, UID: -1, GID: -1},
	}}
}

func setupFiles(t *testing.T, dir string) {
	write(t, filepath.Join(dir, "a"), "A1\n", 0o644)
	write(t, filepath.Join(dir, "c"), "C\n", 0o666)
	write(t, filepath.Join(dir, "d"), "D\n", 0o640)
}

func assertOriginal(t *testing.T, dir string) {
	t.Helper()
	if got := read(t, filepath.Join(dir, "a")); got != "A1\n" {
		t.Errorf("a = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("b should not exist: %v", err)
	}
	if m, _, _ := meta(t, filepath.Join(dir, "c")); m != 0o666 {
		t.Errorf("c mode = %o", m)
	}
	if got := read(t, filepath.Join(dir, "d")); got != "D\n" {
		t.Errorf("d = %q", got)
	}
	if m, _, _ := meta(t, filepath.Join(dir, "d")); m != 0o640 {
		t.Errorf("d mode = %o", m)
	}
	if _, err := os.Stat(filepath.Join(dir, "e")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("e should not exist: %v", err)
	}
}

func TestApplyThenUndo(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	setupFiles(t, dir)
	out, err := Apply(context.Background(), samplePlan(dir), Options{StateDir: state})
	if err != nil || out.Status != StatusApplied {
		t.Fatalf("apply: %v, %+v", err, out)
	}
	if read(t, filepath.Join(dir, "a")) != "A2\n" || read(t, filepath.Join(dir, "b")) != "B\n" {
		t.Fatal("the plan was not applied")
	}
	if m, _, _ := meta(t, filepath.Join(dir, "b")); m != 0o600 {
		t.Errorf("new file mode = %o", m)
	}
	j, err := Undo(context.Background(), Options{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	if j.M.Status != StatusUndone {
		t.Errorf("status = %s", j.M.Status)
	}
	assertOriginal(t, dir)
	if _, err := Undo(context.Background(), Options{StateDir: state}); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("second undo: %v, want ErrNothingToUndo", err)
	}
}

type failingExec struct{ ran []string }

func (f *failingExec) Run(_ context.Context, argv []string, _ []byte) ([]byte, error) {
	f.ran = append(f.ran, strings.Join(argv, " "))
	if argv[0] == "fail" {
		return nil, errors.New("boom")
	}
	return nil, nil
}

func TestFailedStepUndoesTheRest(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	setupFiles(t, dir)
	p := samplePlan(dir)
	p.Steps = append(p.Steps[:2], append([]Step{
		{Summary: "start", Kind: KindExec, Command: []string{"start"}, Undo: []string{"stop"}},
		{Summary: "fails", Kind: KindExec, Command: []string{"fail"}},
	}, p.Steps[2:]...)...)
	ex := &failingExec{}
	out, err := Apply(context.Background(), p, Options{StateDir: state, Exec: ex})
	if err == nil || out.Status != StatusFailed {
		t.Fatalf("apply: %v, status %s", err, out.Status)
	}
	assertOriginal(t, dir)
	if strings.Join(ex.ran, ";") != "start;fail;stop" {
		t.Errorf("commands = %v, want start, fail, then the undo of start", ex.ran)
	}
}

func TestValidationFailureChangesNothing(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	setupFiles(t, dir)
	p := samplePlan(dir)
	p.Steps[0].ValidateSSHD = true
	_, err := Apply(context.Background(), p, Options{StateDir: state, Validate: func(context.Context, map[string][]byte) error {
		return errors.New("line 1: Bad configuration option: PermitRootLogn")
	}})
	if !errors.Is(err, ErrValidation) {
		t.Fatalf("err = %v", err)
	}
	assertOriginal(t, dir)
}

func guardedPlan(dir string) *Plan {
	p := samplePlan(dir)
	p.Steps[0].Guarded = true
	p.SSHPorts = []int{22}
	return p
}

func TestGuardRollsBackWhenNotConfirmed(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	setupFiles(t, dir)
	watched := make(chan error, 1)
	o := Options{StateDir: state, ConfirmTimeout: 300 * time.Millisecond,
		SpawnWatcher: func(jdir string) error {
			// The real watcher is a detached process; here a goroutine runs
			// the same code.
			go func() { watched <- Watch(context.Background(), jdir, Options{}) }()
			return nil
		}}
	out, err := Apply(context.Background(), guardedPlan(dir), o)
	if err == nil || out.Status != StatusRolled {
		t.Fatalf("apply: %v, status %s", err, out.Status)
	}
	if err := <-watched; err != nil && !strings.Contains(err.Error(), "rolled back") {
		t.Errorf("watcher: %v", err)
	}
	assertOriginal(t, dir)
}

func TestGuardKeptWhenConfirmedFromAnotherSession(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	setupFiles(t, dir)
	o := Options{StateDir: state, ConfirmTimeout: 5 * time.Second, SpawnWatcher: func(jdir string) error {
		go func() { _ = Watch(context.Background(), jdir, Options{}) }()
		return nil
	}, Log: testLog{t}}
	go func() {
		// Another session confirms once the change waits for it.
		for range 100 {
			if Confirm(state, "") == nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	out, err := Apply(context.Background(), guardedPlan(dir), o)
	if err != nil || out.Status != StatusConfirmed {
		t.Fatalf("apply: %v, status %s", err, out.Status)
	}
	if read(t, filepath.Join(dir, "a")) != "A2\n" {
		t.Error("a confirmed change must stay")
	}
	if err := Confirm(state, ""); !errors.Is(err, ErrNothingToConfirm) {
		t.Errorf("confirm with nothing waiting: %v", err)
	}
}

func TestGuardRollsBackAtOnceWhenVerificationFails(t *testing.T) {
	dir, state := t.TempDir(), t.TempDir()
	setupFiles(t, dir)
	o := Options{StateDir: state, ConfirmTimeout: time.Hour,
		Verify: func(context.Context, []int) error { return errors.New("127.0.0.1:22: TCP connect: Connection refused") }}
	out, err := Apply(context.Background(), guardedPlan(dir), o)
	if err == nil || out.Status != StatusRolled || !strings.Contains(out.Reason, "Connection refused") {
		t.Fatalf("apply: %v, %+v", err, out)
	}
	assertOriginal(t, dir)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestKillAtEveryStep kills the applying process with SIGKILL at every
// fault point of every step, then checks that each file is whole (old or
// new, never a mix) and that an undo restores the original state.
func TestKillAtEveryStep(t *testing.T) {
	points := []string{"after-backup", "before-rename", "after-step"}
	for _, point := range points {
		for n := 1; n <= 5; n++ {
			t.Run(fmt.Sprintf("%s-%d", point, n), func(t *testing.T) {
				dir, state := t.TempDir(), t.TempDir()
				setupFiles(t, dir)
				var steps []testStep
				for _, s := range samplePlan(dir).Steps {
					steps = append(steps, testStep{Step: s, Content: string(s.Content)})
				}
				b, _ := json.Marshal(steps)
				planFile := filepath.Join(t.TempDir(), "plan.json")
				write(t, planFile, string(b), 0o600)
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "SSHDOCTOR_TEST_PLAN="+planFile, "SSHDOCTOR_TEST_STATE="+state, "SSHDOCTOR_FAULT="+point+":"+fmt.Sprint(n))
				err := cmd.Run()
				var ee *exec.ExitError
				killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled()
				// Every file is whole: old or new content.
				if a := read(t, filepath.Join(dir, "a")); a != "A1\n" && a != "A2\n" {
					t.Errorf("a is torn: %q", a)
				}
				if b, err := os.ReadFile(filepath.Join(dir, "b")); err == nil && string(b) != "B\n" {
					t.Errorf("b is torn: %q", b)
				}
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					if strings.HasPrefix(e.Name(), ".") {
						t.Logf("a temporary file survived the kill: %s (harmless: never read)", e.Name())
					}
				}
				if _, err := Undo(context.Background(), Options{StateDir: state}); err != nil && !errors.Is(err, ErrNothingToUndo) {
					t.Fatalf("undo after the crash: %v", err)
				}
				assertOriginal(t, dir)
				if !killed && err != nil {
					t.Errorf("child failed without being killed: %v", err)
				}
			})
		}
	}
}
