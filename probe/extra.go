package probe

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Neighbour returns the kernel's ARP state for an IPv4 address from
// /proc/net/arp: "REACHABLE" (complete), "INCOMPLETE" (asked, no answer) or
// "" when there is no entry or the address is not IPv4.
func Neighbour(addr netip.Addr) string {
	if !addr.Is4() {
		return ""
	}
	f, err := os.Open("/proc/net/arp")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[0] != addr.String() {
			continue
		}
		if fields[2] == "0x0" {
			return "INCOMPLETE"
		}
		return "REACHABLE"
	}
	return ""
}

// ProbeTLS tries a TLS handshake on a fresh connection, to recognise a TLS
// service behind a port that stayed silent or closed when spoken SSH to. It
// returns a description ("TLS 1.3") or "" when the peer is not TLS.
func ProbeTLS(ctx context.Context, addr netip.AddrPort, timeout time.Duration) string {
	conn, a := Dialer{Timeout: timeout}.Connect(ctx, addr)
	if conn == nil || a.Outcome != TCPOpen {
		return ""
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, ServerName: "sshdoctor.invalid"}) //nolint:gosec // identification only, nothing is sent over it
	err := tc.HandshakeContext(ctx)
	if err == nil {
		st := tc.ConnectionState()
		desc := "TLS " + strings.TrimPrefix(tls.VersionName(st.Version), "TLS ")
		if len(st.PeerCertificates) > 0 {
			desc += ", certificate for " + st.PeerCertificates[0].Subject.CommonName
		}
		return desc
	}
	var alert tls.AlertError
	if errors.As(err, &alert) {
		return fmt.Sprintf("TLS (the server answered with alert %q)", alert.Error())
	}
	return ""
}

// ClientSupport asks the local ssh which algorithms it implements (ssh -Q).
// It returns nil when ssh is not installed.
func ClientSupport(ctx context.Context, sshBin string) *ClientAlgorithms {
	if sshBin == "" {
		var err error
		if sshBin, err = exec.LookPath("ssh"); err != nil {
			return nil
		}
	}
	q := func(what string) []string {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, sshBin, "-Q", what).Output()
		if err != nil {
			return nil
		}
		return strings.Fields(string(out))
	}
	return &ClientAlgorithms{Kex: q("kex"), HostKey: q("key"), Cipher: q("cipher"), MAC: q("mac")}
}
