//go:build linux

package tcpwrappers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sshdoctor/sshdoctor/check"
	"github.com/sshdoctor/sshdoctor/host"
	"github.com/sshdoctor/sshdoctor/host/tcpwrappers"
	"github.com/sshdoctor/sshdoctor/internal/lab"
)

// TestLiveTCPWrappers runs Debian's real sshd (linked with libwrap) in a
// lab namespace whose private mount namespace has hosts.allow and
// hosts.deny bind-mounted from the test's own files, so the machine's files
// are never touched. hosts.deny refuses the client's address: the real ssh
// client sees its connection closed before the banner, another address
// gets the banner, and sshdoctor, reading the same files through the sshd
// process's root, reports tcpwrappers.denied for the one and nothing for
// the other. The line the fix proposes then lets the client through.
func TestLiveTCPWrappers(t *testing.T) {
	lab.Require(t, lab.SSHDPath, "ssh", "unshare", "mount")
	sshdPath := lab.SSHDPath
	if w := tcpwrappers.Gather(host.LiveSystem(), sshdPath); !w.Libwrap {
		labUnavailable(t, fmt.Sprintf("%s is not linked with libwrap (%s); Debian's is", sshdPath, w.LibwrapErr))
	}
	for _, f := range []string{tcpwrappers.AllowFile, tcpwrappers.DenyFile} {
		// A bind mount needs a file to mount over; the test never
		// creates one on this machine.
		if _, err := os.Stat(f); err != nil {
			labUnavailable(t, fmt.Sprintf("%s is missing here, so the lab cannot mount its own over it: %v", f, err))
		}
	}

	p := lab.NewPair(t)
	denied := p.Client.Addr4
	other := netip.AddrFrom4([4]byte{denied.As4()[0], denied.As4()[1], denied.As4()[2], 3})
	p.Client.AddAddr(t, netip.PrefixFrom(other, 24).String())

	dir := t.TempDir()
	allow := filepath.Join(dir, "hosts.allow")
	deny := filepath.Join(dir, "hosts.deny")
	write(t, allow, "# hosts.allow of sshdoctor's lab\n")
	write(t, deny, "# hosts.deny of sshdoctor's lab\nsshd: "+denied.String()+"\n")
	// sshd runs through a wrapper that gives it a private mount
	// namespace with the two files mounted over /etc/hosts.allow and
	// /etc/hosts.deny. unshare and sh exec in place, so the lab's process
	// is sshd itself; sshd re-executes itself by its absolute path.
	wrapper := filepath.Join(dir, "sshd-with-wrappers")
	write(t, wrapper, fmt.Sprintf("#!/bin/sh\nexec unshare --mount --propagation private -- /bin/sh -c "+
		`'mount --bind "$1" /etc/hosts.allow && mount --bind "$2" /etc/hosts.deny && shift 2 && exec %s "$@"'`+
		" sh %s %s \"$@\"\n", sshdPath, allow, deny))
	if err := os.Chmod(wrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	lab.SSHDPath = wrapper
	t.Cleanup(func() { lab.SSHDPath = sshdPath })
	s := p.Server.StartSSHD(t, lab.SSHDOptions{})

	// What a user notices: ssh from the refused address fails before the
	// key exchange.
	err := s.Login(t, nil)
	var sshErr *lab.SSHError
	if !errors.As(err, &sshErr) || !strings.Contains(sshErr.Output, "kex_exchange_identification") {
		t.Fatalf("ssh from %s: %v, want the connection closed before the banner\nsshd log:\n%s", denied, err, s.Log())
	}
	t.Logf("ssh from %s: %s", denied, strings.TrimSpace(sshErr.Output))
	// Another address of the same client gets sshd's banner.
	if banner := readBanner(t, p.Client, other, netip.AddrPortFrom(p.Server.Addr4, 22)); !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("from %s: got %q, want sshd's banner", other, banner)
	}

	// sshdoctor reads the files sshd reads: through sshd's own root.
	sys := host.System{Root: fmt.Sprintf("/proc/%d/root", s.Proc.Cmd.Process.Pid), Live: true}
	facts := tcpwrappers.Gather(sys, sshdPath)
	if !facts.Libwrap || facts.Deny == nil || len(facts.Deny.Rules) != 1 {
		t.Fatalf("facts through sshd's mount namespace: %+v", facts)
	}
	fs := check.ServerBans(&check.ServerBansFacts{Wrappers: facts, From: denied, Ports: []uint16{22}})
	if len(fs) != 1 || fs[0].Code != "tcpwrappers.denied" || fs[0].Severity != check.SeverityError {
		t.Fatalf("findings for %s: %+v", denied, fs)
	}
	f := fs[0]
	if f.Evidence.Get("file") != tcpwrappers.DenyFile || f.Evidence.Get("line") != 2 || f.Evidence.Get("address") != denied.String() {
		t.Errorf("evidence %v", f.Evidence)
	}
	if fs := check.ServerBans(&check.ServerBansFacts{Wrappers: facts, From: other, Ports: []uint16{22}}); len(fs) != 0 {
		t.Errorf("findings for %s, which sshd lets in: %+v", other, fs)
	}

	// Apply what the fix says: the allow line at the top of hosts.allow
	// (written in place: sed -i would replace the bind-mounted file).
	line, _ := f.Evidence.Get("allow_line").(string)
	if line == "" || f.Fix == nil || len(f.Fix.Commands) != 1 || !strings.Contains(f.Fix.Commands[0], line) {
		t.Fatalf("fix %+v", f.Fix)
	}
	old, err := os.ReadFile(allow)
	if err != nil {
		t.Fatal(err)
	}
	write(t, allow, line+"\n"+string(old))
	err = s.Login(t, nil)
	if !errors.As(err, &sshErr) || !strings.Contains(sshErr.Output, "Permission denied") {
		t.Errorf("ssh from %s after the fix: %v, want to reach authentication (Permission denied without a key)", denied, err)
	} else {
		t.Logf("ssh from %s after the fix: %s", denied, strings.TrimSpace(sshErr.Output))
	}
	if fs := check.ServerBans(&check.ServerBansFacts{Wrappers: tcpwrappers.Gather(sys, sshdPath), From: denied}); len(fs) != 0 {
		t.Errorf("findings after the fix: %+v", fs)
	}
}

// readBanner connects from a given source address of the host and returns
// the first line the server sends.
func readBanner(t *testing.T, h *lab.Host, src netip.Addr, dst netip.AddrPort) string {
	t.Helper()
	var c net.Conn
	err := h.Do(func() error {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
		var err error
		c, err = d.DialContext(context.Background(), "tcp", dst.String())
		return err
	})
	if err != nil {
		t.Fatalf("connect from %s to %s: %v", src, dst, err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, 8)
	if err != nil && n == 0 {
		return "(" + err.Error() + ")"
	}
	return string(buf[:n])
}

func write(t *testing.T, p, s string) {
	t.Helper()
	// Truncate and write in place: a bind mount follows the inode.
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// labUnavailable skips, or fails under CI=true where the lab must run.
func labUnavailable(t *testing.T, why string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s (CI=true, so this is a failure, not a skip)", why)
	}
	t.Skip(why)
}
