package keys

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func mustKey(t *testing.T) *Pair {
	t.Helper()
	p, err := Generate(NewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRemoveKeyKeepsEverythingElse(t *testing.T) {
	old, other := mustKey(t), mustKey(t)
	oldBlob := strings.Fields(AuthorizedLine(old.Public, ""))[1]
	content := "# managed by hand\r\n" +
		AuthorizedLine(other.Public, "other") + "\n" +
		"\n" +
		AuthorizedLine(old.Public, "old key") + "\n" +
		`from="10.0.0.0/8",command="echo hi there" ` + AuthorizedLine(old.Public, "") + "\n" +
		"# " + AuthorizedLine(old.Public, "commented out: authorizes nothing") + "\n" +
		"garbage line with " + oldBlob + " inside\n" +
		"   " + AuthorizedLine(other.Public, "indented, no final newline")
	got, removed := RemoveKey([]byte(content), old.Public)
	want := "# managed by hand\r\n" +
		AuthorizedLine(other.Public, "other") + "\n" +
		"\n" +
		"# " + AuthorizedLine(old.Public, "commented out: authorizes nothing") + "\n" +
		"garbage line with " + oldBlob + " inside\n" +
		"   " + AuthorizedLine(other.Public, "indented, no final newline")
	if string(got) != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
	if len(removed) != 2 || removed[0].Line != 4 || removed[1].Line != 5 {
		t.Fatalf("removed = %+v, want lines 4 and 5", removed)
	}
	if !HasOption(removed[1].Options, "from") || !HasOption(removed[1].Options, "command") {
		t.Errorf("options of line 5 = %v", removed[1].Options)
	}
	if f := FindKey(got, old.Public); len(f) != 0 {
		t.Errorf("still found: %+v", f)
	}
	if f := FindKey(got, other.Public); len(f) != 2 {
		t.Errorf("the other key should be found twice: %+v", f)
	}
	// The last line removed, without a final newline: the rest is intact.
	got, _ = RemoveKey([]byte("a\n"+AuthorizedLine(old.Public, "")), old.Public)
	if string(got) != "a\n" {
		t.Errorf("got %q", got)
	}
}

func TestCksumMatchesPOSIXCksum(t *testing.T) {
	bin, err := exec.LookPath("cksum")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cksum is missing (CI=true, so this is a failure)")
		}
		t.Skip("no cksum (coreutils)")
	}
	for _, data := range []string{"", "a", "hello world\n", strings.Repeat("x", 70000)} {
		cmd := exec.Command(bin)
		cmd.Stdin = strings.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := Cksum([]byte(data)), strings.TrimSpace(string(out)); got != want {
			t.Errorf("Cksum(%d bytes) = %q, cksum says %q", len(data), got, want)
		}
	}
}

func TestExpandAuthorizedKeysFile(t *testing.T) {
	a := Account{Home: "/home/al", User: "al", UID: "1001"}
	for in, want := range map[string]string{
		".ssh/authorized_keys":          "/home/al/.ssh/authorized_keys",
		"%h/.ssh/ak":                    "/home/al/.ssh/ak",
		"/etc/ssh/keys/%u":              "/etc/ssh/keys/al",
		"/etc/ssh/keys/%U.%%":           "/etc/ssh/keys/1001.%",
		"~/k":                           "/home/al/k",
		"/run/lab/x/../authorized_keys": "/run/lab/authorized_keys",
	} {
		got, err := ExpandAuthorizedKeysFile(in, a)
		if err != nil || got != want {
			t.Errorf("%q -> %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"%d/x", "x%"} {
		if _, err := ExpandAuthorizedKeysFile(bad, a); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// runScript runs a remote script the way the server does (exec sh -c
// '...') on this machine, in a temporary directory.
func runScript(t *testing.T, script string, stdin []byte) (string, int) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exec sh -c '"+script+"'")
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestAppendScript(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "home", ".ssh", "authorized_keys")
	line := AuthorizedLine(mustKey(t).Public, `odd "comment" $HOME \n`)
	// A new file and directory: created 0700 and 0600 whatever the umask.
	if out, code := runScript(t, appendScript, []byte(f+"\n"+line+"\n")); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	b, _ := os.ReadFile(f)
	if string(b) != line+"\n" {
		t.Errorf("file = %q", b)
	}
	for p, mode := range map[string]os.FileMode{f: 0o600, filepath.Dir(f): 0o700} {
		if st, _ := os.Stat(p); st.Mode().Perm() != mode {
			t.Errorf("%s mode %04o, want %04o", p, st.Mode().Perm(), mode)
		}
	}
	// A file without a final newline and group-writable: the line starts on
	// a line of its own, and go-w is removed.
	os.WriteFile(f, []byte("first"), 0o660)
	os.Chmod(f, 0o660)
	if out, code := runScript(t, appendScript, []byte(f+"\n"+line+"\n")); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	b, _ = os.ReadFile(f)
	if string(b) != "first\n"+line+"\n" {
		t.Errorf("file = %q", b)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %04o, want 0640", st.Mode().Perm())
	}
}

func TestReplaceScript(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "authorized_keys")
	old := []byte("a\nb\n")
	os.WriteFile(f, old, 0o640)
	os.Chmod(f, 0o640)
	// The checksum guard: a file that changed since it was read is left alone.
	if _, code := runScript(t, replaceScript, append([]byte(f+"\n"+Cksum([]byte("other"))+"\n"), "new\n"...)); code != 21 {
		t.Errorf("exit %d, want 21 (changed)", code)
	}
	if b, _ := os.ReadFile(f); string(b) != string(old) {
		t.Errorf("file changed to %q", b)
	}
	if out, code := runScript(t, replaceScript, append([]byte(f+"\n"+Cksum(old)+"\n"), "a\n"...)); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if b, _ := os.ReadFile(f); string(b) != "a\n" {
		t.Errorf("file = %q", b)
	}
	if st, _ := os.Stat(f); st.Mode().Perm() != 0o640 {
		t.Errorf("mode %04o, want 0640 kept", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	// A symlink stays a symlink; its target is written.
	link := filepath.Join(dir, "link")
	os.Symlink(f, link)
	if out, code := runScript(t, replaceScript, append([]byte(link+"\n"+Cksum([]byte("a\n"))+"\n"), "c\n"...)); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if st, _ := os.Lstat(link); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if b, _ := os.ReadFile(f); string(b) != "c\n" {
		t.Errorf("target = %q", b)
	}
}

func TestReadAndInfoScripts(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ak")
	if out, code := runScript(t, readScript, []byte(f+"\n")); code != 0 || out != "n\n" {
		t.Errorf("missing file: %q %d", out, code)
	}
	os.WriteFile(f, []byte("x\ny"), 0o600)
	if out, code := runScript(t, readScript, []byte(f+"\n")); code != 0 || out != "y\nx\ny" {
		t.Errorf("file: %q %d", out, code)
	}
	out, code := runScript(t, infoScript, nil)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "/") {
		t.Errorf("info: %q %d", out, code)
	}
}

func TestScriptsHaveNoSingleQuote(t *testing.T) {
	for _, s := range []string{infoScript, readScript, appendScript, replaceScript} {
		if strings.Contains(s, "'") {
			t.Errorf("script holds a single quote:\n%s", s)
		}
	}
}

// Conn.run refuses a script it could not quote, rather than run something
// else.
func TestRunRefusesQuote(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	(&Conn{}).run(context.Background(), "echo 'x'", nil)
}
