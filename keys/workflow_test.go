package keys

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return c
}

func TestInstallWithIdentityFileThenNoDuplicate(t *testing.T) {
	s := startServer(t, "", "")
	dir := t.TempDir()
	old, oldPath := keyFile(t, dir, "id_old", "")
	_, newPath := keyFile(t, dir, "id_new", "")
	s.authorize(t, "# keep this comment\n"+old.AuthorizedLine()) // no final newline
	pub, err := LoadPublicKey(newPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	o := InstallOptions{Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{s.knownHosts(t)}}, Key: pub}
	r := Install(ctx(t), o)
	if !r.OK {
		t.Fatalf("install failed: %+v", r.Error)
	}
	want := "# keep this comment\n" + old.AuthorizedLine() + "\n" + pub.Line() + "\n"
	if got := s.authorized(t); got != want {
		t.Errorf("authorized_keys:\n%q\nwant\n%q", got, want)
	}
	if r.Verified != "login" || r.AlreadyInstalled || r.Login.Method != "publickey" || r.Login.Key.Fingerprint != ssh.FingerprintSHA256(old.Public) {
		t.Errorf("result: verified %q already %v login %+v", r.Verified, r.AlreadyInstalled, r.Login)
	}
	if r.AuthorizedKeys != filepath.Join(s.home, ".ssh", "authorized_keys") {
		t.Errorf("authorized_keys = %q", r.AuthorizedKeys)
	}
	// Again: nothing written, still verified.
	r = Install(ctx(t), o)
	if !r.OK || !r.AlreadyInstalled || r.Verified != "login" {
		t.Fatalf("second install: ok %v already %v %+v", r.OK, r.AlreadyInstalled, r.Error)
	}
	if got := s.authorized(t); got != want {
		t.Errorf("second install changed the file:\n%q", got)
	}
}

func TestInstallWithPasswordTyped(t *testing.T) {
	s := startServer(t, "", "s3cret-pw")
	dir := t.TempDir()
	_, newPath := keyFile(t, dir, "id_new", "")
	pub, _ := LoadPublicKey(newPath)
	p := &fakePrompt{answers: []string{"wrong", "s3cret-pw"}}
	r := Install(ctx(t), InstallOptions{Connect: ConnectOptions{Target: s.target(), KnownHosts: []string{s.knownHosts(t)}, Prompt: p}, Key: pub})
	if !r.OK {
		t.Fatalf("install failed: %+v", r.Error)
	}
	if r.Login.Method != "password" || r.Verified != "login" {
		t.Errorf("login %+v verified %q", r.Login, r.Verified)
	}
	if len(p.asked) != 2 || p.asked[0] != "tester@127.0.0.1's password: " {
		t.Errorf("prompts: %q", p.asked)
	}
	// The new directory and file have the modes StrictModes wants.
	for f, mode := range map[string]os.FileMode{s.authFile: 0o600, filepath.Dir(s.authFile): 0o700} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v %v, want %04o", f, st.Mode(), err, mode)
		}
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "s3cret") || strings.Contains(string(b), "wrong") {
		t.Errorf("the password is in the result: %s", b)
	}
}

func TestInstallWithoutTerminalCannotUsePassword(t *testing.T) {
	s := startServer(t, "", "s3cret-pw")
	_, newPath := keyFile(t, t.TempDir(), "id_new", "")
	pub, _ := LoadPublicKey(newPath)
	r := Install(ctx(t), InstallOptions{Connect: ConnectOptions{Target: s.target(), KnownHosts: []string{s.knownHosts(t)}}, Key: pub})
	if r.OK || r.Error.Reason != ReasonAuth || !strings.Contains(r.Error.Hint, "terminal") {
		t.Fatalf("want auth-failed with a hint about the terminal: %+v", r.Error)
	}
	if s.authorized(t) != "" {
		t.Error("something was written")
	}
}

func TestInstallRefusesChangedHostKey(t *testing.T) {
	s := startServer(t, "", "")
	dir := t.TempDir()
	old, oldPath := keyFile(t, dir, "id_old", "")
	_, newPath := keyFile(t, dir, "id_new", "")
	s.authorize(t, old.AuthorizedLine()+"\n")
	impostor := mustKey(t)
	kh := filepath.Join(dir, "known_hosts")
	os.WriteFile(kh, []byte("[127.0.0.1]:"+itoa(s.port)+" "+impostor.AuthorizedLine()+"\n"), 0o600)
	pub, _ := LoadPublicKey(newPath)
	p := &fakePrompt{answers: []string{"yes"}} // must not even be asked
	r := Install(ctx(t), InstallOptions{Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{kh}, Prompt: p}, Key: pub})
	if r.OK || r.Error.Reason != ReasonHostKey || len(r.Findings) == 0 || r.Findings[0].Code != "hostkey.changed" {
		t.Fatalf("want hostkey-refused with hostkey.changed: %+v %+v", r.Error, r.Findings)
	}
	if n := s.authAttempts(); n != 0 {
		t.Errorf("%d authentication attempts reached a server with a changed key", n)
	}
	if len(p.asked) != 0 {
		t.Errorf("asked %q", p.asked)
	}
	if s.authorized(t) != old.AuthorizedLine()+"\n" {
		t.Error("authorized_keys changed")
	}
}

func TestUnknownHostKeyNeedsTheTerminal(t *testing.T) {
	s := startServer(t, "", "")
	dir := t.TempDir()
	old, oldPath := keyFile(t, dir, "id_old", "")
	_, newPath := keyFile(t, dir, "id_new", "")
	s.authorize(t, old.AuthorizedLine()+"\n")
	pub, _ := LoadPublicKey(newPath)
	kh := filepath.Join(dir, "kh", "known_hosts") // does not exist yet
	o := InstallOptions{Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{kh}}, Key: pub}

	r := Install(ctx(t), o)
	if r.OK || r.Error.Reason != ReasonHostKeyUnknown || s.authAttempts() != 0 {
		t.Fatalf("no terminal: %+v, %d attempts", r.Error, s.authAttempts())
	}

	p := &fakePrompt{answers: []string{"no"}}
	o.Connect.Prompt = p
	if r = Install(ctx(t), o); r.OK || r.Error.Reason != ReasonHostKeyUnknown {
		t.Fatalf("answered no: %+v", r.Error)
	}

	fp := ssh.FingerprintSHA256(s.hostKey.PublicKey())
	p = &fakePrompt{answers: []string{"maybe", fp}}
	o.Connect.Prompt = p
	r = Install(ctx(t), o)
	if !r.OK {
		t.Fatalf("accepted by fingerprint: %+v", r.Error)
	}
	if len(p.said) == 0 || !strings.Contains(p.said[0], fp) {
		t.Errorf("the fingerprint was not shown: %q", p.said)
	}
	b, _ := os.ReadFile(kh)
	if want := "[127.0.0.1]:" + itoa(s.port) + " " + AuthorizedLine(s.hostKey.PublicKey(), "") + "\n"; string(b) != want {
		t.Errorf("known_hosts = %q, want %q", b, want)
	}
	// Now known: no question asked.
	o.Connect.Prompt = &fakePrompt{}
	if r = Install(ctx(t), o); !r.OK || !strings.Contains(r.Login.HostKeyFrom, kh+":1") {
		t.Fatalf("known now: %+v %+v", r.Error, r.Login)
	}
}

func TestInstallWithEncryptedIdentity(t *testing.T) {
	s := startServer(t, "", "")
	dir := t.TempDir()
	old, oldPath := keyFile(t, dir, "id_old", "pass phrase")
	_, newPath := keyFile(t, dir, "id_new", "")
	s.authorize(t, old.AuthorizedLine()+"\n")
	pub, _ := LoadPublicKey(newPath)
	o := InstallOptions{Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{s.knownHosts(t)}}, Key: pub}

	// No terminal: the key is skipped, and the note says why.
	r := Install(ctx(t), o)
	if r.OK || r.Error.Reason != ReasonAuth {
		t.Fatalf("no terminal: %+v", r.Error)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "passphrase") && strings.Contains(n, oldPath) }) {
		t.Errorf("notes %q should explain the passphrase", r.Notes)
	}

	p := &fakePrompt{answers: []string{"bad", "pass phrase"}}
	o.Connect.Prompt = p
	if r = Install(ctx(t), o); !r.OK {
		t.Fatalf("with the passphrase typed: %+v", r.Error)
	}
	if len(p.asked) != 2 || !strings.Contains(p.asked[0], oldPath) || len(p.said) != 1 {
		t.Errorf("asked %q said %q", p.asked, p.said)
	}
}

func TestInstallViaAgentNeverForwardsIt(t *testing.T) {
	s := startServer(t, "", "")
	old := mustKey(t)
	_, newPath := keyFile(t, t.TempDir(), "id_new", "")
	s.authorize(t, old.AuthorizedLine()+"\n")
	sock := serveAgent(t, old)
	pub, _ := LoadPublicKey(newPath)
	r := Install(ctx(t), InstallOptions{Connect: ConnectOptions{Target: s.target(), KnownHosts: []string{s.knownHosts(t)}, AgentSocket: sock}, Key: pub})
	if !r.OK {
		t.Fatalf("%+v", r.Error)
	}
	if r.Login.Key == nil || r.Login.Key.Source != "agent" || r.Login.Key.Fingerprint != ssh.FingerprintSHA256(old.Public) {
		t.Errorf("login %+v", r.Login.Key)
	}
}

func TestInstallPublicKeyOnlyIsCheckedByQuery(t *testing.T) {
	s := startServer(t, "", "")
	dir := t.TempDir()
	old, oldPath := keyFile(t, dir, "id_old", "")
	s.authorize(t, old.AuthorizedLine()+"\n")
	other := mustKey(t)
	pub, err := LoadPublicKey(other.AuthorizedLine())
	if err != nil {
		t.Fatal(err)
	}
	r := Install(ctx(t), InstallOptions{Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{s.knownHosts(t)}}, Key: pub})
	if !r.OK || r.Verified != "query" || r.Key.Source != "string" {
		t.Fatalf("ok %v verified %q key %+v err %+v", r.OK, r.Verified, r.Key, r.Error)
	}
}

func TestRotate(t *testing.T) {
	s := startServer(t, "", "")
	home := t.TempDir()
	old, oldPath := keyFile(t, filepath.Join(home, ".ssh"), "id_old", "")
	other := mustKey(t)
	before := "# team keys\n" + AuthorizedLine(other.Public, "colleague") + "\n" +
		`no-pty,from="127.0.0.1" ` + old.AuthorizedLine() + "\n" +
		"\n" + old.AuthorizedLine() + "\n" + AuthorizedLine(other.Public, "last, no newline")
	s.authorize(t, before)
	cfg := filepath.Join(home, ".ssh", "config")
	os.WriteFile(cfg, []byte("Host 127.0.0.1\n    IdentityFile "+oldPath+"\n    User tester\n"), 0o600)

	r := Rotate(ctx(t), RotateOptions{
		Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{s.knownHosts(t)}},
		New:     NewOptions{Comment: "rotated"}, Home: home, ConfigFile: cfg,
	})
	if !r.OK {
		t.Fatalf("rotate failed: %+v\nsteps %+v", r.Error, r.Steps)
	}
	newPath := r.Key.File
	if !strings.HasPrefix(newPath, filepath.Join(home, ".ssh", "id_ed25519_127.0.0.1_")) {
		t.Errorf("new key at %s", newPath)
	}
	nk, err := LoadPublicKey(newPath)
	if err != nil {
		t.Fatal(err)
	}
	want := "# team keys\n" + AuthorizedLine(other.Public, "colleague") + "\n" +
		"\n" + AuthorizedLine(other.Public, "last, no newline") + "\n" + nk.Line() + "\n"
	if got := s.authorized(t); got != want {
		t.Errorf("authorized_keys:\n%q\nwant\n%q", got, want)
	}
	if len(r.Removed) != 2 || r.Removed[0].Line != 3 || r.Removed[1].Line != 5 || !r.OldKeyRefused {
		t.Errorf("removed %+v refused %v", r.Removed, r.OldKeyRefused)
	}
	b, _ := os.ReadFile(cfg)
	if string(b) != "Host 127.0.0.1\n    IdentityFile "+newPath+"\n    User tester\n" {
		t.Errorf("config:\n%s", b)
	}
	if _, err := os.Stat(oldPath); err != nil {
		t.Errorf("the old private key was removed: %v", err)
	}
	if !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, oldPath) }) {
		t.Errorf("notes should say where the old key is: %q", r.Notes)
	}
	// The server: the old key is refused, the new one accepted.
	c, err := Connect(ctx(t), ConnectOptions{Target: s.target(newPath), KnownHosts: []string{s.knownHosts(t)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Accepts(ctx(t), old.Public); ok {
		t.Error("the old key is still accepted")
	}
	if err := c.LoginWith(ctx(t), nk.mustSigner(t)); err != nil {
		t.Error(err)
	}
}

func (k *PublicKey) mustSigner(t *testing.T) ssh.Signer {
	s, err := loadPrivateKey(k.PrivateFile, k.Key, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRotateKeepsOldKeyWhenTheNewOneFails(t *testing.T) {
	// The server reads one file; the key goes to another it does not read.
	s := startServer(t, "", "")
	home := t.TempDir()
	old, oldPath := keyFile(t, home, "id_old", "")
	s.authorize(t, old.AuthorizedLine()+"\n")
	elsewhere := filepath.Join(s.home, "not-read")
	r := Rotate(ctx(t), RotateOptions{
		Connect: ConnectOptions{Target: s.target(oldPath), KnownHosts: []string{s.knownHosts(t)}},
		Home:    home, ConfigFile: "none", AuthorizedKeysFiles: []string{elsewhere, ".ssh/authorized_keys"},
	})
	if r.OK || r.Error.Reason != ReasonVerify {
		t.Fatalf("want verify-failed: %+v", r.Error)
	}
	if s.authorized(t) != old.AuthorizedLine()+"\n" {
		t.Errorf("the old key's file changed: %q", s.authorized(t))
	}
	if len(r.Removed) != 0 {
		t.Errorf("removed %+v", r.Removed)
	}
}

func TestRotateNeedsAKeyLogin(t *testing.T) {
	s := startServer(t, "", "pw")
	home := t.TempDir()
	r := Rotate(ctx(t), RotateOptions{
		Connect: ConnectOptions{Target: s.target(), KnownHosts: []string{s.knownHosts(t)}, Prompt: &fakePrompt{answers: []string{"pw"}}},
		Home:    home,
	})
	if r.OK || r.Error.Reason != ReasonNoOldKey {
		t.Fatalf("%+v", r.Error)
	}
	if entries, _ := os.ReadDir(filepath.Join(home, ".ssh")); len(entries) != 0 {
		t.Errorf("files were made: %v", entries)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
