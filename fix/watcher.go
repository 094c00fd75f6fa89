package fix

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// SpawnWatcher starts `sshdoctor fix --watch DIR` so that it outlives this
// process and the ssh session it runs in: as a transient systemd unit where
// systemd runs the machine (logind may kill a session's processes, a unit
// escapes that), otherwise as a process in a session of its own with no
// terminal. self is the sshdoctor binary.
func SpawnWatcher(self, dir string) error {
	args := []string{"fix", "--watch", dir}
	if systemdRunning() {
		if run, err := exec.LookPath("systemd-run"); err == nil {
			unit := "sshdoctor-rollback-" + filepath.Base(dir)
			unit = sanitizeUnit(unit)
			cmd := exec.Command(run, append([]string{"--unit", unit, "--collect", "--quiet", "--", self}, args...)...)
			if err := cmd.Run(); err == nil {
				return nil
			}
			// Otherwise fall through to a detached process, which works
			// where systemd-run cannot (no D-Bus in a container).
		}
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer devnull.Close()
	logf, err := os.OpenFile(filepath.Join(dir, "watcher.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("fix: starting the rollback watcher: %w", err)
	}
	return cmd.Process.Release()
}

func systemdRunning() bool {
	st, err := os.Stat("/run/systemd/system")
	return err == nil && st.IsDir()
}

func sanitizeUnit(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	return string(b)
}
