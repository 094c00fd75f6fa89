//go:build linux

package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// TestCaptureFixtures regenerates the recorded outputs the parser tests of
// host/service, host/sockets and host/logs read: it boots the lab's Debian
// container, provokes each scenario for real, and writes what systemctl,
// journalctl and /proc/net/tcp{,6} said into the packages' testdata. It
// only runs when asked:
//
//	SSHDOCTOR_CAPTURE=1 go test ./host/service -run TestCaptureFixtures
func TestCaptureFixtures(t *testing.T) {
	if os.Getenv("SSHDOCTOR_CAPTURE") == "" {
		t.Skip("set SSHDOCTOR_CAPTURE=1 to regenerate the fixtures from a lab container")
	}
	p := lab.NewPair(t)
	c := p.Server.Boot(t, lab.ContainerOptions{})
	key := lab.NewUserKey(t, "ed25519")
	c.AuthorizeKey(t, key)
	ctx := t.Context()

	sh := func(script string) string {
		t.Helper()
		out, err := c.Exec(ctx, "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Logf("%s: %v\n%s", script, err, out)
		}
		return string(out)
	}
	write := func(pkg, name, data string) {
		t.Helper()
		p := filepath.Join("..", pkg, "testdata", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", p, len(data))
	}
	show := func(name string) {
		t.Helper()
		args := append([]string{"show", "--no-pager"}, unitNames...)
		args = append(args, "-p", strings.Join(showProperties, ","))
		out, err := c.Exec(ctx, "systemctl", args...).Output()
		if err != nil {
			t.Fatalf("systemctl show: %v", err)
		}
		write("service", "show/"+name+".txt", string(out))
	}
	procnet := func(name string) {
		t.Helper()
		write("sockets", name+".tcp", sh("cat /proc/net/tcp"))
		write("sockets", name+".tcp6", sh("cat /proc/net/tcp6"))
		write("sockets", name+".ss", sh("ss -ltnp"))
	}
	journal := func(name string) {
		t.Helper()
		script := "journalctl -o json --no-pager -n 2000 --output-fields=MESSAGE,_SYSTEMD_UNIT,UNIT,SYSLOG_IDENTIFIER,_PID,_COMM"
		var m []string
		for _, u := range []string{"ssh.service", "sshd.service", "ssh.socket", "sshd.socket"} {
			m = append(m, "_SYSTEMD_UNIT="+u, "UNIT="+u)
		}
		m = append(m, "SYSLOG_IDENTIFIER=sshd", "SYSLOG_IDENTIFIER=sshd-session", "SYSLOG_IDENTIFIER=sshd-auth")
		out, err := c.Exec(ctx, "sh", "-c", script+" "+strings.Join(m, " + ")).Output()
		if err != nil {
			t.Fatalf("journalctl: %v", err)
		}
		write("logs", name+".json", string(out))
	}
	waitState := func(unit, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, _ := c.Exec(ctx, "systemctl", "show", "-p", "ActiveState", "--value", unit).Output()
			if strings.TrimSpace(string(out)) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not become %s (is %q)", unit, want, strings.TrimSpace(string(out)))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// A healthy server with a login in its journal.
	if err := lab.Login(t, p.Client, p.Server.Addr4, 22, key); err != nil {
		t.Fatalf("login: %v", err)
	}
	show("healthy")
	procnet("debian12-healthy")

	// Loopback only.
	sh("echo 'ListenAddress 127.0.0.1' > /etc/ssh/sshd_config.d/10-lo.conf && systemctl restart ssh")
	procnet("debian12-loopback")
	sh("rm /etc/ssh/sshd_config.d/10-lo.conf && systemctl restart ssh")

	sh("systemctl stop ssh")
	show("stopped")
	sh("systemctl mask ssh")
	show("masked")
	sh("systemctl unmask ssh")

	// A configuration error: ExecStartPre's sshd -t refuses it.
	sh("echo 'Bogus yes' >> /etc/ssh/sshd_config; systemctl start ssh")
	waitState("ssh.service", "failed")
	show("failed-config")
	journal("journal-failed-config")
	sh("sed -i '/^Bogus/d' /etc/ssh/sshd_config; systemctl reset-failed ssh")

	// No host keys: sshd -t fails differently; the journal now holds two
	// failures and the newest must win.
	sh("mkdir -p /root/keys && mv /etc/ssh/ssh_host_* /root/keys/ && systemctl start ssh")
	waitState("ssh.service", "failed")
	journal("journal-failed-hostkeys")
	sh("mv /root/keys/* /etc/ssh/ && systemctl reset-failed ssh")

	// Another program on port 22, IPv4 only: sshd starts on IPv6 alone.
	sh("systemd-run --unit=web22 python3 -m http.server 22; sleep 1")
	sh("systemctl start ssh")
	waitState("ssh.service", "active")
	show("conflict-partial")
	procnet("debian12-conflict-partial")
	journal("journal-conflict-partial")
	sh("systemctl stop ssh web22")

	// Another program on port 22 for IPv4 and IPv6: sshd cannot bind.
	sh("systemd-run --unit=web22b python3 -m http.server --bind :: 22; sleep 1")
	sh("systemctl start ssh")
	waitState("ssh.service", "failed")
	show("conflict")
	procnet("debian12-conflict")
	journal("journal-conflict")
	sh("systemctl stop web22b; systemctl reset-failed ssh")

	// Socket activation with another Port in sshd_config.
	sh("echo 'Port 2222' > /etc/ssh/sshd_config.d/20-port.conf; systemctl disable --now ssh; systemctl enable --now ssh.socket")
	waitState("ssh.socket", "active")
	show("socket")
	procnet("debian12-socket")
	if conn, err := p.Client.DialContext(ctx, "tcp", p.Server.Addr4.String()+":22"); err == nil {
		time.Sleep(2 * time.Second)
		conn.Close()
	}
	show("socket-triggered")
	procnet("debian12-socket-triggered")
	journal("journal-socket")
	sh("rm /etc/ssh/sshd_config.d/20-port.conf; systemctl disable --now ssh.socket; systemctl stop ssh; systemctl enable --now ssh")
	waitState("ssh.service", "active")

	// MaxStartups drops: one unauthenticated connection at a time.
	sh("echo 'MaxStartups 1' > /etc/ssh/sshd_config.d/30-ms.conf && systemctl restart ssh")
	var conns []interface{ Close() error }
	for i := 0; i < 4; i++ {
		conn, err := p.Client.DialContext(ctx, "tcp", p.Server.Addr4.String()+":22")
		if err == nil {
			conns = append(conns, conn)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	for _, conn := range conns {
		conn.Close()
	}
	sh("rm /etc/ssh/sshd_config.d/30-ms.conf && systemctl restart ssh")

	// Access refused by configuration, then by modes.
	sh("echo 'DenyUsers root' > /etc/ssh/sshd_config.d/40-deny.conf && systemctl restart ssh")
	_ = lab.Login(t, p.Client, p.Server.Addr4, 22, key)
	sh("rm /etc/ssh/sshd_config.d/40-deny.conf && systemctl restart ssh && chmod 0777 /root/.ssh")
	_ = lab.Login(t, p.Client, p.Server.Addr4, 22, key)
	sh("chmod 0700 /root/.ssh")
	journal("journal-events")
}
