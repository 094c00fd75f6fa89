package keys

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/crypto/ssh"
)

// sshKeygen runs the real ssh-keygen, or skips when it is not installed
// (it fails in CI, where openssh-client is part of the lab packages).
func sshKeygen(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ssh-keygen is missing (CI=true, so this is a failure)")
		}
		t.Skip("ssh-keygen is not installed (openssh-client)")
	}
	out, err := exec.Command("ssh-keygen", args...).CombinedOutput()
	return string(out), err
}

func TestNewKeyFilesModesAndFormat(t *testing.T) {
	// A umask that would leave the public key unreadable and the private
	// key group-readable must not change the modes.
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	for _, c := range []struct {
		typ  string
		bits int
		want string
	}{
		{"", 0, "ssh-ed25519"},
		{"ecdsa", 384, "ecdsa-sha2-nistp384"},
		{"rsa", 2048, "ssh-rsa"},
	} {
		t.Run(c.want, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "new", ".ssh")
			path := filepath.Join(dir, "id_test")
			p, err := Generate(NewOptions{Type: c.typ, Bits: c.bits, Comment: "alice@laptop"})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.WriteFiles(path); err != nil {
				t.Fatal(err)
			}
			for f, mode := range map[string]os.FileMode{path: 0o600, path + ".pub": 0o644, dir: 0o700} {
				st, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != mode {
					t.Errorf("%s: mode %04o, want %04o", f, st.Mode().Perm(), mode)
				}
			}
			pub, _ := os.ReadFile(path + ".pub")
			if !strings.HasPrefix(string(pub), c.want+" ") || !strings.HasSuffix(string(pub), " alice@laptop\n") {
				t.Errorf(".pub = %q", pub)
			}
			// The real ssh-keygen reads the private key and derives the same
			// public key from it.
			out, err := sshKeygen(t, "-y", "-f", path)
			if err != nil {
				t.Fatalf("ssh-keygen -y: %v\n%s", err, out)
			}
			k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(out))
			if err != nil || string(k.Marshal()) != string(p.Public.Marshal()) {
				t.Errorf("ssh-keygen -y gives %q (%v), want the generated key", out, err)
			}
		})
	}
}

func TestNewKeyWithPassphrase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id_ed25519")
	p, err := Generate(NewOptions{Comment: "c", Passphrase: []byte("correct horse")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFiles(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !isEncrypted(data) {
		t.Error("the file is not encrypted")
	}
	if strings.Contains(string(data), "correct horse") {
		t.Fatal("the passphrase is in the file")
	}
	if out, err := sshKeygen(t, "-y", "-P", "wrong", "-f", path); err == nil {
		t.Errorf("ssh-keygen accepted a wrong passphrase: %s", out)
	}
	out, err := sshKeygen(t, "-y", "-P", "correct horse", "-f", path)
	if err != nil {
		t.Fatalf("ssh-keygen -y -P: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, AuthorizedLine(p.Public, "")) {
		t.Errorf("ssh-keygen -y -P gives %q", out)
	}
	// And sshdoctor's own reading of it: a passphrase is needed.
	if _, err := ssh.ParsePrivateKey(data); err == nil {
		t.Error("parsed without a passphrase")
	}
	if _, err := ssh.ParsePrivateKeyWithPassphrase(data, []byte("correct horse")); err != nil {
		t.Error(err)
	}
}

func TestNewKeyNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id_ed25519")
	// Only the .pub exists: still refused, and nothing written.
	if err := os.WriteFile(path+".pub", []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, _ := Generate(NewOptions{})
	err := p.WriteFiles(path)
	var ee *ExistsError
	if !errors.As(err, &ee) || ee.Path != path+".pub" {
		t.Fatalf("err = %v, want ExistsError for the .pub", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("the private key was written although the .pub exists")
	}
	// A dangling symlink at the private path is not followed.
	os.Remove(path + ".pub")
	target := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if err := p.WriteFiles(path); !errors.As(err, &ee) {
		t.Fatalf("err = %v, want ExistsError for the symlink", err)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Error("the symlink was followed")
	}
}

func TestNewKeyRefusesBadInput(t *testing.T) {
	for _, o := range []NewOptions{
		{Type: "dsa"},
		{Type: "ed25519", Bits: 256},
		{Type: "ecdsa", Bits: 255},
		{Type: "rsa", Bits: 1024},
		{Comment: "ok\nssh-ed25519 AAAA attacker"},
	} {
		if _, err := Generate(o); err == nil {
			t.Errorf("Generate(%+v) succeeded", o)
		}
	}
}

func TestLoadPublicKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id_ed25519")
	p, _ := Generate(NewOptions{Comment: "me", Passphrase: []byte("pw")})
	if err := p.WriteFiles(path); err != nil {
		t.Fatal(err)
	}
	for _, spec := range []string{path, path + ".pub"} {
		k, err := LoadPublicKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		if k.Fingerprint() != ssh.FingerprintSHA256(p.Public) || k.PrivateFile != path || !k.Encrypted || k.Comment != "me" {
			t.Errorf("%s: %+v", spec, k)
		}
	}
	// Without the .pub, the clear-text public part of the private key.
	os.Remove(path + ".pub")
	k, err := LoadPublicKey(path)
	if err != nil || k.Fingerprint() != ssh.FingerprintSHA256(p.Public) {
		t.Errorf("from the private key alone: %v %v", k, err)
	}
	// A key line given as a string.
	k, err = LoadPublicKey(p.AuthorizedLine())
	if err != nil || k.PrivateFile != "" || k.Comment != "me" {
		t.Errorf("from a string: %+v %v", k, err)
	}
	// A .pub that belongs to another key is refused.
	other, _ := Generate(NewOptions{})
	os.WriteFile(path+".pub", []byte(other.AuthorizedLine()+"\n"), 0o644)
	if _, err := LoadPublicKey(path); err == nil {
		t.Error("a mismatched .pub was accepted")
	}
}

func TestPairNeverPrintsThePrivateKey(t *testing.T) {
	p, _ := Generate(NewOptions{})
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, p)
		if strings.Contains(out, "PRIVATE") || strings.Contains(out, string(p.privatePEM[40:80])) || !strings.Contains(out, "SHA256:") {
			t.Errorf("%s prints %q", verb, out)
		}
	}
}
