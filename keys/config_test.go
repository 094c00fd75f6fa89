package keys

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetIdentityFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	oldKey, newKey := filepath.Join(dir, "id_old"), filepath.Join(dir, "id_new")
	before := "# my hosts\n" +
		"Host web1 web1.example.com\n" +
		"    HostName 10.0.0.5\n" +
		"    IdentityFile " + oldKey + "\n" +
		"    User deploy\n" +
		"\n" +
		"Host db\n" +
		"    IdentityFile " + oldKey + "\n" +
		"\n" +
		"Host *\n" +
		"    ServerAliveInterval 30\n"
	if err := os.WriteFile(cfg, []byte(before), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(cfg, 0o640)
	ch, err := SetIdentityFile(cfg, "web1", newKey, oldKey, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "# my hosts\n" +
		"Host web1 web1.example.com\n" +
		"    IdentityFile " + newKey + "\n" +
		"    HostName 10.0.0.5\n" +
		"    User deploy\n" +
		"\n" +
		"Host db\n" +
		"    IdentityFile " + oldKey + "\n" + // another host: untouched
		"\n" +
		"Host *\n" +
		"    ServerAliveInterval 30\n"
	got, _ := os.ReadFile(cfg)
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if !ch.Changed || len(ch.Dropped) != 1 || ch.IdentityFile != newKey {
		t.Errorf("change = %+v", ch)
	}
	if st, _ := os.Stat(cfg); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %04o, want 0640 kept", st.Mode().Perm())
	}
	// Idempotent.
	ch, err = SetIdentityFile(cfg, "web1", newKey, oldKey, dir)
	if err != nil || ch.Changed {
		t.Errorf("second run: %+v %v", ch, err)
	}
	// A host with no block gets one before Host *, where ssh reads it.
	if _, err := SetIdentityFile(cfg, "new.example", newKey, "", dir); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(cfg)
	if i, j := strings.Index(string(got), "Host new.example\n    IdentityFile "+newKey), strings.Index(string(got), "Host *"); i < 0 || i > j {
		t.Errorf("new block missing or after Host *:\n%s", got)
	}
}

func TestSetIdentityFileCreatesConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "home", ".ssh", "config")
	key := filepath.Join(dir, "my key")
	ch, err := SetIdentityFile(cfg, "web1", key, "", dir)
	if err != nil || !ch.Changed {
		t.Fatalf("%+v %v", ch, err)
	}
	got, _ := os.ReadFile(cfg)
	if string(got) != "Host web1\n    IdentityFile \""+key+"\"\n" {
		t.Errorf("got %q", got)
	}
	for p, mode := range map[string]os.FileMode{cfg: 0o600, filepath.Dir(cfg): 0o700} {
		if st, _ := os.Stat(p); st.Mode().Perm() != mode {
			t.Errorf("%s mode %04o, want %04o", p, st.Mode().Perm(), mode)
		}
	}
	// The quoted path is recognised on a second run.
	if ch, _ := SetIdentityFile(cfg, "web1", key, "", dir); ch.Changed {
		t.Error("not idempotent with a quoted path")
	}
}

func TestSetIdentityFileGlobalConflict(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "config")
	before := "IdentityFile ~/.ssh/id_work\nHost web1\n    User x\n"
	os.WriteFile(cfg, []byte(before), 0o600)
	ch, err := SetIdentityFile(cfg, "web1", "/k/new", "", "/home/x")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Manual == "" || ch.Changed {
		t.Errorf("a global IdentityFile should leave the edit to the user: %+v", ch)
	}
	if got, _ := os.ReadFile(cfg); string(got) != before {
		t.Errorf("file changed: %q", got)
	}
}

func TestNamesPathWithHome(t *testing.T) {
	if !namesPath("~/.ssh/id_x", "/tmp/h/.ssh/id_x", "/tmp/h") {
		t.Error("~/ with $HOME not recognised")
	}
	if namesPath("~/.ssh/id_x", "/tmp/h/.ssh/id_y", "/tmp/h") {
		t.Error("another file matched")
	}
}
