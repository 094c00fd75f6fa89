package fix

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSSHDValidator runs the real sshd -t on candidates placed, in a private
// mount namespace, where they would live; the files on disk never change.
func TestSSHDValidator(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for the private mount namespace")
	}
	if _, err := exec.LookPath("/usr/sbin/sshd"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sshd is not installed")
		}
		t.Skip("sshd is not installed")
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "hostkey")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	dropins := filepath.Join(dir, "sshd_config.d")
	if err := os.Mkdir(dropins, 0o755); err != nil {
		t.Fatal(err)
	}
	main := filepath.Join(dir, "sshd_config")
	write(t, main, "Include "+dropins+"/*.conf\nHostKey "+key+"\nPidFile "+dir+"/pid\n", 0o644)
	v := SSHDValidator{Config: main}
	good := filepath.Join(dropins, "50-sshdoctor.conf")
	if err := v.Validate(context.Background(), map[string][]byte{good: []byte("PasswordAuthentication no\n")}); err != nil {
		t.Errorf("a valid new drop-in: %v", err)
	}
	err := v.Validate(context.Background(), map[string][]byte{good: []byte("PermitRootLogn no\n")})
	if err == nil || !strings.Contains(err.Error(), "Bad configuration option: PermitRootLogn") || !strings.Contains(err.Error(), good) {
		t.Errorf("a bad drop-in: %v (want sshd's message naming the real path)", err)
	}
	if _, err := os.Stat(good); !os.IsNotExist(err) {
		t.Errorf("validation must not create the file: %v", err)
	}
	// A bad main file, with the drop-in directory untouched.
	if err := v.Validate(context.Background(), map[string][]byte{main: []byte("Port 99999\nHostKey " + key + "\n")}); err == nil {
		t.Error("Port 99999 must not validate")
	}
	if got := read(t, main); !strings.HasPrefix(got, "Include") {
		t.Errorf("the main file changed on disk: %q", got)
	}
}
